//! The bundled demo repository (`assets/demo`), embedded in the binary so `depriv demo`
//! works from an installed copy too. One entry per file; a test checks this list against
//! `assets/demo` so it cannot drift.

/// One file of the demo repository.
#[derive(Clone, Copy, Debug)]
pub struct DemoFile {
    /// Path inside the repository, `/`-separated.
    pub path: &'static str,
    /// Contents.
    pub bytes: &'static [u8],
    /// Whether the file is executable.
    pub executable: bool,
}

const fn file(path: &'static str, bytes: &'static [u8], executable: bool) -> DemoFile {
    DemoFile {
        path,
        bytes,
        executable,
    }
}

/// Every file of `assets/demo`, sorted by path.
pub static FILES: &[DemoFile] = &[
    file(
        ".drone.yml",
        include_bytes!("../../assets/demo/.drone.yml"),
        false,
    ),
    file(
        ".github/workflows/ci.yml",
        include_bytes!("../../assets/demo/.github/workflows/ci.yml"),
        false,
    ),
    file(
        ".github/workflows/lint.yml",
        include_bytes!("../../assets/demo/.github/workflows/lint.yml"),
        false,
    ),
    file(
        ".gitlab-ci.yml",
        include_bytes!("../../assets/demo/.gitlab-ci.yml"),
        false,
    ),
    file(
        "Dockerfile",
        include_bytes!("../../assets/demo/Dockerfile"),
        false,
    ),
    file(
        "Jenkinsfile",
        include_bytes!("../../assets/demo/Jenkinsfile"),
        false,
    ),
    file(
        "Makefile",
        include_bytes!("../../assets/demo/Makefile"),
        false,
    ),
    file(
        "README.md",
        include_bytes!("../../assets/demo/README.md"),
        false,
    ),
    file(
        "ci/docker.gitlab-ci.yml",
        include_bytes!("../../assets/demo/ci/docker.gitlab-ci.yml"),
        false,
    ),
    file(
        "compose.dev.yml",
        include_bytes!("../../assets/demo/compose.dev.yml"),
        false,
    ),
    file(
        "deploy/helm/arc-values.yaml",
        include_bytes!("../../assets/demo/deploy/helm/arc-values.yaml"),
        false,
    ),
    file(
        "deploy/k8s/build-pod.yaml",
        include_bytes!("../../assets/demo/deploy/k8s/build-pod.yaml"),
        false,
    ),
    file(
        "deploy/k8s/shop-deployment.yaml",
        include_bytes!("../../assets/demo/deploy/k8s/shop-deployment.yaml"),
        false,
    ),
    file(
        "docker-compose.yml",
        include_bytes!("../../assets/demo/docker-compose.yml"),
        false,
    ),
    file(
        "etc/docker/daemon.json",
        include_bytes!("../../assets/demo/etc/docker/daemon.json"),
        false,
    ),
    file(
        "gitlab-runner/config.toml",
        include_bytes!("../../assets/demo/gitlab-runner/config.toml"),
        false,
    ),
    file(
        "jenkins/Dockerfile",
        include_bytes!("../../assets/demo/jenkins/Dockerfile"),
        false,
    ),
    file(
        "jobs/seed.groovy",
        include_bytes!("../../assets/demo/jobs/seed.groovy"),
        false,
    ),
    file(
        "scripts/integration.sh",
        include_bytes!("../../assets/demo/scripts/integration.sh"),
        true,
    ),
    file(
        "scripts/smoke.sh",
        include_bytes!("../../assets/demo/scripts/smoke.sh"),
        true,
    ),
    file(
        "src/__init__.py",
        include_bytes!("../../assets/demo/src/__init__.py"),
        false,
    ),
    file(
        "src/shop.py",
        include_bytes!("../../assets/demo/src/shop.py"),
        false,
    ),
    file(
        "src/test_shop.py",
        include_bytes!("../../assets/demo/src/test_shop.py"),
        false,
    ),
];
