//! The built-in templates, one list per surface: (name relative to `templates/`, source),
//! compiled into the binary. The rewriter of each surface renders the templates of its list.

/// Templates of the GitLab CI rewriter.
pub static GITLAB: &[(&str, &str)] = &[
    (
        "gitlab/buildkit-image.yml",
        include_str!("../../templates/gitlab/buildkit-image.yml"),
    ),
    (
        "gitlab/kaniko-image.yml",
        include_str!("../../templates/gitlab/kaniko-image.yml"),
    ),
    (
        "gitlab/crane-image.yml",
        include_str!("../../templates/gitlab/crane-image.yml"),
    ),
    (
        "gitlab/buildkit-variables.yml",
        include_str!("../../templates/gitlab/buildkit-variables.yml"),
    ),
    (
        "gitlab/tls-variables.yml",
        include_str!("../../templates/gitlab/tls-variables.yml"),
    ),
    (
        "gitlab/runner-buildkit-docker.toml",
        include_str!("../../templates/gitlab/runner-buildkit-docker.toml"),
    ),
    (
        "gitlab/runner-buildkit-kubernetes.toml",
        include_str!("../../templates/gitlab/runner-buildkit-kubernetes.toml"),
    ),
    (
        "gitlab/runner-sysbox-docker.toml",
        include_str!("../../templates/gitlab/runner-sysbox-docker.toml"),
    ),
    (
        "gitlab/runner-sysbox-kubernetes.toml",
        include_str!("../../templates/gitlab/runner-sysbox-kubernetes.toml"),
    ),
    (
        "gitlab/runner-rootless-docker.toml",
        include_str!("../../templates/gitlab/runner-rootless-docker.toml"),
    ),
    (
        "gitlab/runner-rootless-kubernetes.toml",
        include_str!("../../templates/gitlab/runner-rootless-kubernetes.toml"),
    ),
    (
        "gitlab/runner-tls-docker.toml",
        include_str!("../../templates/gitlab/runner-tls-docker.toml"),
    ),
    (
        "gitlab/runner-tls-kubernetes.toml",
        include_str!("../../templates/gitlab/runner-tls-kubernetes.toml"),
    ),
];

/// Templates of the GitHub Actions rewriter.
pub static GITHUB: &[(&str, &str)] = &[
    (
        "github/setup-buildx.yml",
        include_str!("../../templates/github/setup-buildx.yml"),
    ),
    (
        "github/login.yml",
        include_str!("../../templates/github/login.yml"),
    ),
    (
        "github/build-push.yml",
        include_str!("../../templates/github/build-push.yml"),
    ),
    (
        "github/setup-qemu.yml",
        include_str!("../../templates/github/setup-qemu.yml"),
    ),
    (
        "github/buildkitd-start.yml",
        include_str!("../../templates/github/buildkitd-start.yml"),
    ),
    (
        "github/buildkitd-stop.yml",
        include_str!("../../templates/github/buildkitd-stop.yml"),
    ),
    (
        "github/sysbox-dind-service.yml",
        include_str!("../../templates/github/sysbox-dind-service.yml"),
    ),
    (
        "github/docker-tls-env.yml",
        include_str!("../../templates/github/docker-tls-env.yml"),
    ),
    (
        "github/kaniko-container.yml",
        include_str!("../../templates/github/kaniko-container.yml"),
    ),
    (
        "github/dind-certs-copy.yml",
        include_str!("../../templates/github/dind-certs-copy.yml"),
    ),
];

/// Templates of the Docker Compose rewriter.
pub static COMPOSE: &[(&str, &str)] = &[
    (
        "compose/dind-service.yml",
        include_str!("../../templates/compose/dind-service.yml"),
    ),
    (
        "compose/buildkitd-service.yml",
        include_str!("../../templates/compose/buildkitd-service.yml"),
    ),
];

/// Templates of the Kubernetes manifests and Helm values rewriter.
pub static KUBE: &[(&str, &str)] = &[
    (
        "kube/dind-sidecar.yaml",
        include_str!("../../templates/kube/dind-sidecar.yaml"),
    ),
    (
        "kube/sysbox-install.sh",
        include_str!("../../templates/kube/sysbox-install.sh"),
    ),
    (
        "kube/runtimeclass.yaml",
        include_str!("../../templates/kube/runtimeclass.yaml"),
    ),
    (
        "kube/buildkit-job.yaml",
        include_str!("../../templates/kube/buildkit-job.yaml"),
    ),
    (
        "kube/kaniko-job.yaml",
        include_str!("../../templates/kube/kaniko-job.yaml"),
    ),
    (
        "kube/arc-dind-sysbox.yaml",
        include_str!("../../templates/kube/arc-dind-sysbox.yaml"),
    ),
    (
        "kube/arc-dind-init.yaml",
        include_str!("../../templates/kube/arc-dind-init.yaml"),
    ),
    (
        "kube/gitlab-runner-values.yaml",
        include_str!("../../templates/kube/gitlab-runner-values.yaml"),
    ),
];

/// Templates of the GitLab Runner configuration rewriter.
pub static RUNNER: &[(&str, &str)] = &[
    (
        "runner/k8s-sysbox-hostusers.toml",
        include_str!("../../templates/runner/k8s-sysbox-hostusers.toml"),
    ),
    (
        "runner/docker-tls-host.toml",
        include_str!("../../templates/runner/docker-tls-host.toml"),
    ),
];

/// Templates of the Docker daemon.json rewriter.
pub static DAEMON: &[(&str, &str)] = &[
    (
        "daemon/sysbox-install.sh",
        include_str!("../../templates/daemon/sysbox-install.sh"),
    ),
    (
        "daemon/tls-certs.sh",
        include_str!("../../templates/daemon/tls-certs.sh"),
    ),
];

/// Templates of the Jenkins rewriter.
pub static JENKINS: &[(&str, &str)] = &[
    (
        "jenkins/podtemplate-sysbox.yaml",
        include_str!("../../templates/jenkins/podtemplate-sysbox.yaml"),
    ),
    (
        "jenkins/sysbox-sidecar.groovy",
        include_str!("../../templates/jenkins/sysbox-sidecar.groovy"),
    ),
    (
        "jenkins/buildkit-pod.groovy",
        include_str!("../../templates/jenkins/buildkit-pod.groovy"),
    ),
    (
        "jenkins/kaniko-pod.groovy",
        include_str!("../../templates/jenkins/kaniko-pod.groovy"),
    ),
    (
        "jenkins/pipelinejob.groovy",
        include_str!("../../templates/jenkins/pipelinejob.groovy"),
    ),
];
