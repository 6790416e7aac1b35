//! What depriv knows about each target beyond the rewrite itself: what it is, host
//! requirements, residual risk, the host preparation tasks (with their exact snippets) and the
//! troubleshooting notes (the known pitfalls, each with its upstream source). Reports draw on it, and [`render`] turns
//! it into the per-target guide behind `depriv explain TARGET` and `docs/targets/*.md`, whose
//! example pipelines come from running the migration engine (and so its templates) on small
//! built-in examples.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::config::{Config, Environment, RunnerHosts};
use crate::finding::Severity;
use crate::migrate::{self, Strategy};
use crate::plan::{ALL_TARGETS, Target};
use crate::rewrite::{ManualTask, MemFiles};
use crate::scan;
use crate::targets;
use crate::templates::Templates;

/// One troubleshooting entry: a symptom or trap and what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pitfall {
    /// The symptom or trap, one line.
    pub title: &'static str,
    /// What to do.
    pub text: &'static str,
}

/// The static description of a target.
#[derive(Clone, Copy, Debug)]
pub struct TargetInfo {
    /// The target.
    pub target: Target,
    /// Human title.
    pub title: &'static str,
    /// What it is (Markdown paragraph).
    pub what: &'static str,
    /// Host requirements (Markdown, one item each).
    pub requirements: &'static [&'static str],
    /// Residual risk after moving to it.
    pub residual: &'static str,
    /// Troubleshooting entries.
    pub troubleshooting: &'static [Pitfall],
}

/// Parse a target name as users type it (`sysbox`, `rootless`, `dind-rootless`, `kaniko`,
/// `buildkit`, `tls`, `tls-daemon`), case-insensitively.
pub fn parse_target(name: &str) -> Option<Target> {
    targets::parse(name)
}

/// The `--strategy` value that forces a target.
pub fn strategy_of(t: Target) -> Strategy {
    match t {
        Target::Sysbox => Strategy::Sysbox,
        Target::Rootless => Strategy::Rootless,
        Target::Kaniko => Strategy::Kaniko,
        Target::Buildkit => Strategy::Buildkit,
        Target::Tls => Strategy::Tls,
    }
}

/// How risky a pipeline still is once moved to a target (before anything else remains).
pub fn residual_level(t: Target) -> Severity {
    targets::spec(t).residual_level
}

/// Every setting depriv writes for a target, with the upstream page or repository path it
/// follows (what the guide's "Sources" section lists).
pub fn sources(t: Target) -> &'static [(&'static str, &'static str)] {
    match t {
        Target::Sysbox => &[
            (
                "`runtime: sysbox-runc`, `--runtime=sysbox-runc`; `privileged`, host namespaces removed",
                "https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md",
            ),
            (
                "install package (amd64, arm64), `daemon.json` `runtimes` entry",
                "https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md, `nestybox/sysbox:docs/arch-compat.md`",
            ),
            (
                "Kubernetes: `sysbox-deploy-k8s`, RuntimeClass, `hostUsers: false`",
                "https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-k8s.md, `nestybox/sysbox:sysbox-k8s-manifests/sysbox-install.yaml`",
            ),
            (
                "official `docker:dind` without `--privileged`, TLS on 2376",
                "https://github.com/nestybox/sysbox/blob/master/docs/user-guide/dind.md, https://hub.docker.com/_/docker",
            ),
            (
                "GitLab Runner `runtime`, `runtime_class_name`, `pod_spec` patch",
                "https://docs.gitlab.com/runner/configuration/advanced-configuration/, https://docs.gitlab.com/runner/executors/kubernetes/",
            ),
            (
                "per-runner runtime, not Docker's default runtime",
                "https://github.com/nestybox/sysbox/issues/122",
            ),
            (
                "GitHub job containers always get the host's socket",
                "`actions/runner:src/Runner.Worker/Container/ContainerInfo.cs`",
            ),
            (
                "actions-runner-controller runners under sysbox (`template.spec.runtimeClassName`)",
                "`actions/actions-runner-controller:charts/gha-runner-scale-set/values.yaml`, https://docs.github.com/en/actions/how-tos/manage-runners/use-actions-runner-controller/deploy-runner-scale-sets",
            ),
            (
                "no rootless BuildKit on a sysbox runner (nested user namespaces)",
                "https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md",
            ),
            (
                "Jenkins dind sidecar",
                "https://www.jenkins.io/doc/book/pipeline/docker/, `jenkinsci/kubernetes-plugin:examples/dind.groovy`",
            ),
        ],
        Target::Rootless => &[
            (
                "`docker:dind-rootless` still `--privileged`",
                "https://docs.docker.com/engine/security/rootless/tips/, https://hub.docker.com/_/docker",
            ),
            (
                "certificates in a named volume on `/certs/client` (UID 1000 must write `client/key.pem`)",
                "`docker-library/docker:Dockerfile-cli.template` (`/certs/client` mode 1777), `docker-library/docker:dockerd-entrypoint.sh`",
            ),
            (
                "storage at `/home/rootless/.local/share/docker`",
                "`docker-library/docker:Dockerfile-dind-rootless.template`",
            ),
            (
                "GitLab `services_privileged`, `allowed_privileged_services`",
                "https://docs.gitlab.com/runner/executors/docker/",
            ),
            (
                "user namespaces, ports below 1024",
                "https://docs.docker.com/engine/security/rootless/troubleshoot/",
            ),
        ],
        Target::Kaniko => &[
            (
                "image `ghcr.io/osscontainertools/kaniko:*-debug`, no `--skip-unused-stages`",
                "https://github.com/osscontainertools/kaniko",
            ),
            (
                "upstream archived",
                "https://github.com/GoogleContainerTools/kaniko",
            ),
            (
                "`--destination`, `--cache-repo` (a repository, no tag), `--custom-platform`, `--digest-file`, `--compression`",
                "`GoogleContainerTools/kaniko:cmd/executor/cmd/root.go`, https://github.com/osscontainertools/kaniko",
            ),
            (
                "`/kaniko/.docker/config.json`, Docker Hub key `https://index.docker.io/v1/`",
                "https://github.com/osscontainertools/kaniko",
            ),
            (
                "GitHub: only on GitHub-hosted runners (a job container gets the host's socket)",
                "`actions/runner:src/Runner.Worker/Container/ContainerInfo.cs`",
            ),
            (
                "Jenkins pod template",
                "`jenkinsci/kubernetes-plugin:examples/kaniko.groovy`",
            ),
        ],
        Target::Buildkit => &[
            (
                "`moby/buildkit:*-rootless`, seccomp/AppArmor unconfined, `--oci-worker-no-process-sandbox`",
                "https://github.com/moby/buildkit/blob/master/docs/rootless.md",
            ),
            (
                "`buildctl-daemonless.sh`, `BUILDKITD_FLAGS`",
                "`moby/buildkit:examples/buildctl-daemonless/buildctl-daemonless.sh`",
            ),
            (
                "`docker build` flag translation (`--opt`, `--output`, `shm-size` in bytes, joined `ulimit`)",
                "https://docs.docker.com/reference/cli/docker/buildx/build/, `docker/buildx:build/opt.go`, `moby/buildkit:frontend/dockerui/config.go`",
            ),
            (
                "buildkitd over TCP only with mTLS (GitHub self-hosted), a Unix socket otherwise (compose)",
                "https://github.com/moby/buildkit#expose-buildkit-as-a-tcp-service",
            ),
            (
                "setup-buildx `remote` driver with client certificates",
                "https://docs.docker.com/build/builders/drivers/remote/, https://docs.docker.com/build/ci/github-actions/configure-builder/",
            ),
            (
                "GitLab job image with `entrypoint: [\"\"]`, runner-wide `security_opt`",
                "https://docs.gitlab.com/ci/docker/using_buildkit/, https://docs.gitlab.com/runner/configuration/advanced-configuration/",
            ),
            (
                "Kubernetes Job, `DOCKER_CONFIG` from a Secret, `appArmorProfile` (K8s ≥ 1.30)",
                "`moby/buildkit:examples/kubernetes/job.rootless.yaml`, `moby/buildkit:examples/kubernetes/README.md`",
            ),
            (
                "Pod Security level `privileged` for Unconfined seccomp",
                "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
            ),
            (
                "GitHub-hosted: build-push-action with the default driver",
                "https://docs.docker.com/build/ci/github-actions/, `docker/buildx:driver/docker-container/driver.go`",
            ),
        ],
        Target::Tls => &[
            (
                "`DOCKER_TLS_CERTDIR=/certs`, port 2376, shared `/certs/client`",
                "https://hub.docker.com/_/docker, https://docs.gitlab.com/ci/docker/using_docker_build/",
            ),
            (
                "`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH` for the Kubernetes executor",
                "https://docs.gitlab.com/ci/docker/using_docker_build/",
            ),
            (
                "daemon.json `tlsverify` and certificates",
                "https://docs.docker.com/engine/security/protect-access/",
            ),
        ],
    }
}

/// The description of a target.
pub fn info(t: Target) -> TargetInfo {
    let p = match t {
        Target::Sysbox => SYSBOX,
        Target::Rootless => ROOTLESS,
        Target::Kaniko => KANIKO,
        Target::Buildkit => BUILDKIT,
        Target::Tls => TLS,
    };
    TargetInfo {
        target: t,
        title: targets::spec(t).title,
        what: p.what,
        requirements: p.requirements,
        residual: p.residual,
        troubleshooting: p.troubleshooting,
    }
}

/// The long-form guide text of a target.
struct Prose {
    what: &'static str,
    requirements: &'static [&'static str],
    residual: &'static str,
    troubleshooting: &'static [Pitfall],
}

const SYSBOX: Prose = Prose {
    what: "Sysbox (`sysbox-runc`) is an alternative OCI runtime that lets unprivileged containers \
run Docker, systemd or Kubernetes. Jobs keep their `docker:dind` service or Docker-using \
container, but it runs without `--privileged`: root inside the container is an unprivileged \
user on the host (a user namespace), and a privileged container started inside is privileged \
only within it. Originally by Nestybox, now sponsored by Docker; support is community \
best-effort and not covered by Docker subscriptions.",
    requirements: &[
        "Installed on every runner host or Kubernetes node: the `sysbox-runc` runtime and the \
`sysbox-mgr` and `sysbox-fs` systemd services (systemd must be the init).",
        "Packages (`.deb`) exist for Ubuntu and Debian only, amd64 and arm64; other distributions \
build from source.",
        "Kernel ≥ 5.12 (ID-mapped mounts); below that shiftfs is required, which only Ubuntu, \
Debian and Flatcar ship. shiftfs is still recommended below 6.3.",
        "Docker hosts: the runtime registered in `/etc/docker/daemon.json` (the installer does \
it). Select it per container (`--runtime=sysbox-runc`, or `runtime = \"sysbox-runc\"` on a GitLab \
runner) rather than as the default runtime.",
        "Kubernetes v1.32–v1.35: the `sysbox-deploy-k8s` DaemonSet on labelled nodes \
(containerd ≥ 2.0.5 preferred, otherwise it installs CRI-O and restarts the kubelet), a \
`sysbox-runc` RuntimeClass, and pods with `runtimeClassName: sysbox-runc` and \
`hostUsers: false`.",
        "Multi-architecture builds with QEMU inside the job need sysbox ≥ 0.6.7 and kernel ≥ 6.7.",
    ],
    residual: "Low: no container is privileged any more. What remains is the host install \
(a kernel or sysbox bug is a host escape) and sysbox's best-effort support.",
    troubleshooting: &[
        Pitfall {
            title: "`unknown or invalid runtime name: sysbox-runc`",
            text: "The runtime is not registered with this Docker daemon. Install sysbox on the \
host (the installer adds it to `/etc/docker/daemon.json` and reloads dockerd), then check \
`docker info --format '{{json .Runtimes}}'`.",
        },
        Pitfall {
            title: "Containers fail to start with `--privileged` or host namespaces",
            text: "Sysbox rejects `--privileged`, `--userns=host`, `--pid=host` and `--net=host` \
(Kubernetes: `privileged: true`, `hostNetwork`, `hostPID`, `hostIPC`). Remove them from the \
container that runs under sysbox; the Docker daemon inside may still start privileged \
containers, which are privileged only inside the sysbox container.",
        },
        Pitfall {
            title: "GitLab helper containers break after making sysbox the default runtime",
            text: "Do not set `\"default-runtime\": \"sysbox-runc\"` on GitLab runner hosts; set \
`runtime = \"sysbox-runc\"` on the runner in `config.toml` instead.",
        },
        Pitfall {
            title: "No device nodes, FUSE, TUN or nested user namespaces inside",
            text: "Sysbox does not support `mknod` (`/dev/fuse`, `/dev/tun`), `insmod`, an NFS \
server, or an inner dockerd with `userns-remap`. Jobs that need them cannot move to sysbox.",
        },
        Pitfall {
            title: "The install fails or containers cannot write their files",
            text: "Check the kernel against sysbox's distribution matrix: below 5.12 shiftfs is \
required (Ubuntu, Debian and Flatcar only). The package install also refuses while containers \
are running: drain the runner first.",
        },
        Pitfall {
            title: "Pods on a node are recreated during the Kubernetes install",
            text: "Without containerd ≥ 2.0.5 the `sysbox-deploy-k8s` installer switches the node to \
CRI-O and restarts the kubelet. Cordon and drain the nodes first.",
        },
        Pitfall {
            title: "Rootless BuildKit fails to start on a sysbox runner",
            text: "Rootless BuildKit creates a user namespace of its own, and nested user \
namespaces are not supported inside sysbox containers. depriv moves jobs whose runner goes to \
sysbox to sysbox too (their dind runs unprivileged there), or to kaniko; run rootless BuildKit \
jobs on runners without sysbox.",
        },
        Pitfall {
            title: "A GitHub job container still reaches the host's Docker daemon",
            text: "On Linux the runner mounts `/var/run/docker.sock` into every job container, \
whatever `volumes:` says. Removing that volume line changes nothing; run the runners themselves \
under sysbox (actions-runner-controller with `runtimeClassName: sysbox-runc`), or drop the job \
container.",
        },
        Pitfall {
            title: "buildx with QEMU emulation fails inside the job",
            text: "Per-container `binfmt_misc` needs sysbox ≥ 0.6.7 on kernel ≥ 6.7; otherwise build \
multi-platform images with rootless BuildKit.",
        },
    ],
};

const ROOTLESS: Prose = Prose {
    what: "`docker:dind-rootless` runs the Docker daemon as an unprivileged user (UID 1000) in a \
user namespace set up by RootlessKit; jobs talk to it over TLS on port 2376 as they would to \
`docker:dind`. **It is still privileged in most setups**: `--privileged` is required to lift \
seccomp, AppArmor and the mount masks. It shrinks what a compromised daemon controls; it does \
not remove the privilege. On GitLab's Docker executor, `services_privileged` and \
`allowed_privileged_services` narrow the privilege to that one service while job containers \
stay unprivileged.",
    requirements: &[
        "Unprivileged user namespaces on the host: `user.max_user_namespaces` > 0 and, on Debian \
kernels, `kernel.unprivileged_userns_clone = 1`. Ubuntu ≥ 24.04 also needs an AppArmor profile \
for rootlesskit or `kernel.apparmor_restrict_unprivileged_userns = 0`.",
        "overlay2 storage needs kernel ≥ 5.11; older kernels use fuse-overlayfs (needs \
`/dev/fuse`) or the slow `vfs` driver.",
        "Ports below 1024 cannot be published unless `net.ipv4.ip_unprivileged_port_start = 0`.",
        "Resource limits (cgroups) only with cgroup v2 and systemd.",
        "GitLab Docker executor: `services_privileged = true` with `allowed_privileged_services` \
listing only the `dind-rootless` images, and `privileged = false` for job containers.",
    ],
    residual: "High: the daemon's container is still privileged in most setups (reduced-risk, \
still privileged). A daemon escape lands as an unprivileged user instead of root.",
    troubleshooting: &[
        Pitfall {
            title: "It still needs `--privileged`",
            text: "That is expected for `docker:dind-rootless` (Docker's own documentation says so). \
On GitLab restrict privilege to the service with `services_privileged` and \
`allowed_privileged_services`; elsewhere prefer sysbox or, for builds, BuildKit.",
        },
        Pitfall {
            title: "The service exits at start with a user-namespace error",
            text: "The entrypoint aborts when `kernel.unprivileged_userns_clone` is not 1 or \
`user.max_user_namespaces` is 0, or when `HOME`/`XDG_RUNTIME_DIR` are not writable. Set the \
sysctls on the runner hosts (see the host preparation tasks).",
        },
        Pitfall {
            title: "`cannot expose privileged port`",
            text: "Rootless Docker cannot publish ports below 1024. Use ports ≥ 1024, or set \
`net.ipv4.ip_unprivileged_port_start=0` on the host.",
        },
        Pitfall {
            title: "`Cannot connect to the Docker daemon` or TLS errors",
            text: "Jobs must use `DOCKER_HOST=tcp://docker:2376` with `DOCKER_TLS_VERIFY=1` and \
`DOCKER_CERT_PATH=/certs/client`, and `/certs/client` must be shared between the service and \
the job. Remove any leftover `DOCKER_TLS_CERTDIR: \"\"` or `tcp://…:2375`.",
        },
        Pitfall {
            title: "Container IPs are unreachable and source IPs are lost",
            text: "Containers live in RootlessKit's network namespace: reach them through \
published ports, not through `docker inspect` addresses.",
        },
        Pitfall {
            title: "Builds are very slow",
            text: "The daemon fell back to the `vfs` storage driver: use a kernel ≥ 5.11 for \
overlay2 (or provide `/dev/fuse` for fuse-overlayfs).",
        },
    ],
};

const KANIKO: Prose = Prose {
    what: "kaniko builds an image from a Dockerfile inside an ordinary container, without a \
Docker daemon and without privileges, and pushes it to a registry. Upstream \
(GoogleContainerTools/kaniko) was archived on 2025-06-03 after v1.24.0; depriv emits the \
maintained osscontainertools fork (`ghcr.io/osscontainertools/kaniko`). kaniko only builds: \
it cannot run containers, and builds one platform per run.",
    requirements: &[
        "Nothing on the runner hosts: no privileged mode, no seccomp or AppArmor change.",
        "The executor runs as root inside its own container: it fails where `runAsNonRoot`, Pod \
Security `restricted` or OpenShift's restricted SCC is enforced.",
        "It must run in its own image (the `-debug` variant has the shell CI scripts need), not \
be copied into another image.",
        "Registry credentials in `/kaniko/.docker/config.json`.",
    ],
    residual: "Low: nothing is privileged. RUN steps execute as root in the executor's \
filesystem and can read the registry credentials mounted into it, and the tool is a fork of an \
archived project: pin it by digest or mirror it.",
    troubleshooting: &[
        Pitfall {
            title: "The job also runs containers",
            text: "kaniko cannot run `docker run`, `docker compose up`, Testcontainers or kind. \
Split the job (build with kaniko, test elsewhere) or move it to sysbox.",
        },
        Pitfall {
            title: "Image pulls of `gcr.io/kaniko-project/executor` fail",
            text: "Upstream is archived and the availability of its images after the Container \
Registry shutdown is uncertain. Use the maintained fork (`ghcr.io/osscontainertools/kaniko`), \
pinned by digest, or mirror it. Chainguard's fork publishes no public images.",
        },
        Pitfall {
            title: "Fails under `runAsNonRoot` or a restricted policy",
            text: "kaniko needs root inside its container. Use rootless BuildKit where non-root is \
enforced.",
        },
        Pitfall {
            title: "`--secret`, `--ssh`, `RUN --mount=type=secret` or several platforms are needed",
            text: "Upstream kaniko lacks them (the osscontainertools fork adds secret mounts); it \
builds one platform per run. Use BuildKit.",
        },
        Pitfall {
            title: "Every stage is built, or the cache is pushed with `--no-push`",
            text: "Add `--skip-unused-stages`; add `--no-push-cache` next to `--no-push`.",
        },
        Pitfall {
            title: "`UNAUTHORIZED` pushing to Docker Hub",
            text: "The key in `config.json` must be `https://index.docker.io/v1/`, and the base64 \
`auth` value must have no newline.",
        },
        Pitfall {
            title: "Old executor tags copied from examples",
            text: "Third-party examples pin archived tags such as `v1.6.0-debug`: never copy image \
tags from examples; use the version depriv pins.",
        },
    ],
};

const BUILDKIT: Prose = Prose {
    what: "Rootless BuildKit (`moby/buildkit:<version>-rootless`) builds images without a Docker \
daemon: `buildctl-daemonless.sh` starts a short-lived `buildkitd` as an unprivileged user for \
the length of the build. Multi-platform builds, registry caches and secret mounts work. On \
GitHub-hosted runners depriv uses `docker/build-push-action`, which drives BuildKit on the VM \
without any dind service. BuildKit only builds: jobs that run containers need sysbox.",
    requirements: &[
        "The build container needs seccomp and AppArmor unconfined (or `--privileged`, which \
BuildKit calls almost safe in rootless mode) on self-managed runners.",
        "`/proc` unmasked, or `--oci-worker-no-process-sandbox` (GitLab Runner cannot set \
`systempaths=unconfined`, so GitLab jobs always use the flag).",
        "User namespaces on the host: `user.max_user_namespaces` > 0; Ubuntu ≥ 24.04 also \
`kernel.apparmor_restrict_unprivileged_userns = 0`.",
        "Kernel ≥ 5.11 (or an Ubuntu kernel) for overlayfs; older kernels use fuse-overlayfs \
(`/dev/fuse`) or the native snapshotter.",
        "Kubernetes: the namespace at Pod Security level `privileged` (Baseline rejects \
`Unconfined` seccomp) and an `emptyDir` at `/home/user/.local/share/buildkit`.",
        "Registry credentials in `$HOME/.docker/config.json` (`DOCKER_CONFIG`).",
        "Foreign-architecture RUN steps need QEMU registered in the host's `binfmt_misc`.",
    ],
    residual: "Medium: no daemon and no privileged container, but seccomp and AppArmor are off \
for the build container, and `--oci-worker-no-process-sandbox` lets RUN steps see (and signal) \
buildkitd's processes.",
    troubleshooting: &[
        Pitfall {
            title: "The job hangs until its timeout",
            text: "The `moby/buildkit:rootless` entrypoint is the daemon. Script jobs must override \
it (GitLab: `entrypoint: [\"\"]`).",
        },
        Pitfall {
            title: "`could not connect to … after 10 trials` or mount/unshare `operation not permitted`",
            text: "buildkitd could not start: the container needs seccomp and AppArmor \
unconfined, `BUILDKITD_FLAGS=--oci-worker-no-process-sandbox`, and user namespaces on the host. \
The daemon log follows the message.",
        },
        Pitfall {
            title: "Pods are rejected by Pod Security admission",
            text: "Baseline forbids `seccompProfile.type: Unconfined`: label the build namespace \
`pod-security.kubernetes.io/enforce=privileged` or use a custom policy.",
        },
        Pitfall {
            title: "`--oci-worker-no-process-sandbox` weakens isolation",
            text: "RUN steps can kill (and possibly ptrace) buildkitd's processes. It is what \
Kubernetes and GitLab setups need; run untrusted builds in separate jobs.",
        },
        Pitfall {
            title: "`invalid value` for a build argument",
            text: "`buildctl --opt build-arg:NAME` needs `=value`: buildctl never reads build \
arguments from the environment. `--local dockerfile=` takes a directory; `--opt filename=` names \
the file; several image names are CSV-quoted: `--output 'type=image,\"name=a,b\",push=true'`.",
        },
        Pitfall {
            title: "`UNAUTHORIZED` pushing to Docker Hub",
            text: "The key in `config.json` must be `https://index.docker.io/v1/`, and the base64 \
`auth` value must have no newline.",
        },
        Pitfall {
            title: "Foreign-architecture RUN steps fail with `exec format error`",
            text: "Register QEMU in the host's `binfmt_misc` once (`docker run --privileged --rm \
tonistiigi/binfmt --install all`, a privileged one-off on the host).",
        },
        Pitfall {
            title: "setup-buildx-action on a self-hosted Docker host is still privileged",
            text: "buildx's default `docker-container` driver creates a privileged BuildKit \
container. On self-hosted runners use rootless BuildKit (or the `remote` driver with mTLS).",
        },
        Pitfall {
            title: "AppArmor annotations are ignored",
            text: "Since Kubernetes 1.30 use `securityContext.appArmorProfile`; the seccomp \
annotation was removed in 1.27.",
        },
    ],
};

const TLS: Prose = Prose {
    what: "Keeps Docker-in-Docker where it cannot be avoided, but restricts who can reach the \
daemon: it only accepts clients holding a certificate signed by its CA (TCP 2376 with \
`--tlsverify`), runs as a dedicated daemon per job or trust domain rather than the host's main \
daemon, and is reachable only from the CI network. With the `docker:dind` image, \
`DOCKER_TLS_CERTDIR=/certs` makes the entrypoint generate the CA, server and client \
certificates; the job shares `/certs/client`. This is hardening only: the daemon stays \
privileged.",
    requirements: &[
        "dind services: `DOCKER_TLS_CERTDIR=/certs` on the service, `/certs/client` shared with \
the job, and `DOCKER_HOST=tcp://docker:2376`, `DOCKER_TLS_VERIFY=1`, \
`DOCKER_CERT_PATH=/certs/client` in the job (set them explicitly where entrypoints do not run, \
such as GitLab's Kubernetes executor).",
        "Host daemons: a CA, a server certificate and client certificates, `tlsverify` in \
`/etc/docker/daemon.json`, and port 2376 open only to the CI network.",
        "Optionally `userns-remap` on the host daemon: it protects ordinary job containers, not a \
privileged dind container (which must opt out with `--userns=host`).",
    ],
    residual: "High: hardening only. The daemon still runs privileged, and anyone holding the \
client key is root on the daemon's host.",
    troubleshooting: &[
        Pitfall {
            title: "`Cannot connect to the Docker daemon at tcp://docker:2375`",
            text: "A leftover `DOCKER_HOST=tcp://…:2375` or `DOCKER_TLS_CERTDIR: \"\"` switches TLS \
off again. Use 2376 with `DOCKER_TLS_VERIFY=1` and `DOCKER_CERT_PATH=/certs/client`.",
        },
        Pitfall {
            title: "`open /certs/client/ca.pem: no such file or directory`",
            text: "`/certs/client` is not shared between the daemon and the job (GitLab Docker \
executor: add it to the runner's `volumes`), or the job started before the daemon generated \
the certificates: retry `docker info` for a few seconds first.",
        },
        Pitfall {
            title: "`x509: certificate is valid for docker, not …`",
            text: "Clients must use a name in the server certificate. The dind entrypoint includes \
`docker`, `localhost`, the hostname and its IPs; add others with `DOCKER_TLS_SAN`.",
        },
        Pitfall {
            title: "dockerd does not start after adding `hosts` to daemon.json",
            text: "systemd starts dockerd with `-H fd://`, which conflicts with `hosts` in \
daemon.json: add a drop-in that clears `ExecStart` (see the host preparation tasks).",
        },
        Pitfall {
            title: "userns-remap breaks the privileged dind container",
            text: "With `userns-remap`, `--privileged` only works together with `--userns=host` \
(GitLab Runner: `userns_mode = \"host\"`). Remapping protects ordinary job containers, not dind.",
        },
        Pitfall {
            title: "Plaintext 2375 in shared network namespaces",
            text: "In Kubernetes pods and with `--network=host`, a plaintext daemon is reachable \
by everything sharing the namespace: a host takeover. Keep TLS on and never publish 2375.",
        },
        Pitfall {
            title: "Mounting the host's Docker socket instead",
            text: "Never bind-mount `/var/run/docker.sock` as a fix: the job then controls the \
host's daemon and every container on it.",
        },
    ],
};

/// What decides which host preparation tasks apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostContext {
    /// GitLab Runner involved (GitLab CI jobs or a runner `config.toml`).
    pub gitlab_runner: bool,
    /// GitHub Actions self-hosted runners involved.
    pub github_runner: bool,
    /// Kubernetes involved (manifests, Helm values, or runner hosts answered as Kubernetes).
    pub kubernetes: bool,
    /// Docker hosts configured by a `daemon.json`, or jobs using a host's daemon.
    pub docker_host: bool,
    /// Runner hosts are managed by someone else (nothing can be installed).
    pub managed: bool,
    /// Registry the images are pushed to.
    pub registry: Option<String>,
}

impl HostContext {
    /// Every variant (for guides).
    pub fn everything() -> HostContext {
        HostContext {
            gitlab_runner: true,
            github_runner: true,
            kubernetes: true,
            docker_host: true,
            managed: false,
            registry: None,
        }
    }

    /// From the environment answers alone.
    pub fn from_env(env: &Environment) -> HostContext {
        HostContext {
            kubernetes: env.runner_hosts == RunnerHosts::Kubernetes,
            managed: env.runner_hosts == RunnerHosts::Managed,
            registry: env.registry.clone(),
            ..HostContext::default()
        }
    }
}

fn task(title: &str, location: &str, lang: &str, snippet: String) -> ManualTask {
    ManualTask {
        title: title.to_string(),
        location: location.to_string(),
        snippet,
        lang: lang.to_string(),
    }
}

fn registry_task(t: Target, ctx: &HostContext) -> ManualTask {
    let (dir, what) = match t {
        Target::Kaniko => ("/kaniko/.docker", "kaniko"),
        _ => ("$HOME/.docker", "BuildKit"),
    };
    let registry = ctx
        .registry
        .as_deref()
        .map(|r| format!("REGISTRY={}\n", shell_quote(r)))
        .unwrap_or_default();
    task(
        &format!("Give {what} registry credentials"),
        "CI variables (masked) and the build job",
        "sh",
        format!(
            "# REGISTRY_USER and REGISTRY_PASSWORD as masked CI variables; for Docker Hub use\n\
             # REGISTRY=https://index.docker.io/v1/ as the key.\n\
             {registry}mkdir -p \"{dir}\"\n\
             AUTH=$(printf '%s:%s' \"$REGISTRY_USER\" \"$REGISTRY_PASSWORD\" | base64 | tr -d '\\n')\n\
             printf '{{\"auths\":{{\"%s\":{{\"auth\":\"%s\"}}}}}}\\n' \"$REGISTRY\" \"$AUTH\" > \"{dir}/config.json\""
        ),
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn userns_task() -> ManualTask {
    task(
        "Enable unprivileged user namespaces on the runner hosts",
        "every runner host (root)",
        "sh",
        "cat > /etc/sysctl.d/90-depriv-userns.conf <<'EOF'\n\
         user.max_user_namespaces = 28633\n\
         # Debian kernels (a leading - ignores keys this kernel does not have):\n\
         -kernel.unprivileged_userns_clone = 1\n\
         # Ubuntu >= 24.04 (or install an AppArmor profile for rootlesskit instead):\n\
         -kernel.apparmor_restrict_unprivileged_userns = 0\n\
         EOF\n\
         sysctl --system"
            .to_string(),
    )
}

fn gitlab_restart() -> &'static str {
    "\n# then, on the runner host:\n# gitlab-runner restart"
}

/// The host preparation tasks for a target (outside the repository), with exact snippets.
pub fn host_tasks(t: Target, ctx: &HostContext) -> Vec<ManualTask> {
    let mut out = Vec::new();
    match t {
        Target::Sysbox => {
            if ctx.managed {
                return out;
            }
            out.push(task(
                "Install sysbox on the runner hosts",
                "every runner host (Ubuntu/Debian, systemd, root)",
                "sh",
                Templates::builtin()
                    .render(
                        "daemon/sysbox-install.sh",
                        &serde_json::json!({ "where": "the runner hosts" }),
                    )
                    .unwrap_or_default()
                    .trim_end()
                    .to_string(),
            ));
            out.push(task(
                "Check the sysbox-runc runtime in daemon.json (do not make it the default)",
                "/etc/docker/daemon.json on every runner host",
                "json",
                "{\n  \"runtimes\": {\n    \"sysbox-runc\": { \"path\": \"/usr/bin/sysbox-runc\" }\n  }\n}"
                    .to_string(),
            ));
            if ctx.gitlab_runner {
                out.push(task(
                    "Run the GitLab runner's jobs under sysbox, unprivileged, and restart it",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    runtime = \"sysbox-runc\"\n    privileged = false{}",
                        gitlab_restart()
                    ),
                ));
            }
            if ctx.github_runner {
                out.push(task(
                    "Restart the GitHub self-hosted runner service after installing sysbox",
                    "every self-hosted runner host (runner directory)",
                    "sh",
                    "sudo ./svc.sh stop && sudo ./svc.sh start".to_string(),
                ));
            }
            if ctx.kubernetes {
                out.push(task(
                    "Install sysbox on the Kubernetes nodes",
                    "the cluster (kubectl, cluster-admin)",
                    "sh",
                    "# Drain the nodes first: the installer may switch them to CRI-O and restart the kubelet.\n\
                     kubectl label nodes <node> sysbox-install=yes\n\
                     kubectl apply -f https://raw.githubusercontent.com/nestybox/sysbox/master/sysbox-k8s-manifests/sysbox-install.yaml"
                        .to_string(),
                ));
                out.push(task(
                    "Create the sysbox-runc RuntimeClass",
                    "the cluster (kubectl apply -f -)",
                    "yaml",
                    "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: sysbox-runc\nhandler: sysbox-runc\nscheduling:\n  nodeSelector:\n    sysbox-runtime: running"
                        .to_string(),
                ));
            }
        }
        Target::Rootless => {
            if ctx.managed {
                return out;
            }
            if ctx.gitlab_runner {
                out.push(task(
                    "Let only the dind-rootless service run privileged, and restart the runner",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    privileged = false\n    services_privileged = true\n    allowed_privileged_services = [\"docker.io/library/docker:*-dind-rootless\", \"docker.io/library/docker:dind-rootless\", \"docker:*-dind-rootless\", \"docker:dind-rootless\"]{}",
                        gitlab_restart()
                    ),
                ));
            }
            out.push(userns_task());
        }
        Target::Kaniko => {
            out.push(registry_task(t, ctx));
        }
        Target::Buildkit => {
            out.push(registry_task(t, ctx));
            if ctx.managed {
                return out;
            }
            if ctx.gitlab_runner {
                out.push(task(
                    "Allow rootless BuildKit on the GitLab runner (seccomp and AppArmor unconfined), and restart it",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    privileged = false\n    security_opt = [\"seccomp=unconfined\", \"apparmor=unconfined\"]{}",
                        gitlab_restart()
                    ),
                ));
            }
            if ctx.kubernetes {
                out.push(task(
                    "Allow unconfined seccomp in the build namespace (Pod Security level privileged)",
                    "the cluster (kubectl)",
                    "sh",
                    "kubectl label namespace <build-namespace> pod-security.kubernetes.io/enforce=privileged --overwrite"
                        .to_string(),
                ));
            }
            out.push(userns_task());
        }
        Target::Tls => {
            if ctx.gitlab_runner {
                out.push(task(
                    "Share /certs/client between the dind service and the job, and restart the runner",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    tls_verify = false\n    volumes = [\"/certs/client\", \"/cache\"]{}",
                        gitlab_restart()
                    ),
                ));
            }
            if ctx.docker_host && !ctx.managed {
                out.push(task(
                    "Generate a CA, a server certificate and client certificates for the daemon",
                    "the Docker host (root, in a private directory)",
                    "sh",
                    "HOST=docker.ci.example   # the name clients use to reach the daemon\n\
                     openssl genrsa -out ca-key.pem 4096\n\
                     openssl req -new -x509 -days 365 -sha256 -key ca-key.pem -subj \"/CN=CI Docker CA\" -out ca.pem\n\
                     openssl genrsa -out server-key.pem 4096\n\
                     openssl req -new -sha256 -subj \"/CN=$HOST\" -key server-key.pem -out server.csr\n\
                     printf 'subjectAltName = DNS:%s,IP:127.0.0.1\\nextendedKeyUsage = serverAuth\\n' \"$HOST\" > server.cnf\n\
                     openssl x509 -req -days 365 -sha256 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -extfile server.cnf\n\
                     openssl genrsa -out key.pem 4096\n\
                     openssl req -new -subj '/CN=ci-client' -key key.pem -out client.csr\n\
                     echo 'extendedKeyUsage = clientAuth' > client.cnf\n\
                     openssl x509 -req -days 365 -sha256 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -extfile client.cnf\n\
                     install -d -m 0700 /etc/docker/tls\n\
                     install -m 0400 ca.pem server-cert.pem server-key.pem /etc/docker/tls/\n\
                     # Give ca.pem, cert.pem and key.pem to CI as secret files (DOCKER_CERT_PATH);\n\
                     # keep ca-key.pem offline: whoever holds a client key is root on this host."
                        .to_string(),
                ));
                out.push(task(
                    "Require client certificates (and remap users) in daemon.json",
                    "/etc/docker/daemon.json on the Docker host",
                    "json",
                    "{\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"],\n  \"tls\": true,\n  \"tlsverify\": true,\n  \"tlscacert\": \"/etc/docker/tls/ca.pem\",\n  \"tlscert\": \"/etc/docker/tls/server-cert.pem\",\n  \"tlskey\": \"/etc/docker/tls/server-key.pem\",\n  \"userns-remap\": \"default\"\n}"
                        .to_string(),
                ));
                out.push(task(
                    "Let daemon.json decide the listen addresses, and restart Docker",
                    "the Docker host (root)",
                    "sh",
                    "mkdir -p /etc/systemd/system/docker.service.d\n\
                     printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/dockerd\\n' > /etc/systemd/system/docker.service.d/depriv-hosts.conf\n\
                     systemctl daemon-reload && systemctl restart docker"
                        .to_string(),
                ));
                out.push(task(
                    "Accept the daemon port from the CI network only",
                    "the Docker host's firewall (root)",
                    "sh",
                    "# Adjust 10.20.0.0/16 to the CI runners' network.\n\
                     iptables -I INPUT -p tcp --dport 2376 ! -s 10.20.0.0/16 -j DROP\n\
                     iptables -I INPUT -p tcp --dport 2375 -j DROP"
                        .to_string(),
                ));
                out.push(task(
                    "Point the CI clients at the TLS daemon",
                    "CI variables of the jobs that use the daemon",
                    "sh",
                    "export DOCKER_HOST=tcp://docker.ci.example:2376\n\
                     export DOCKER_TLS_VERIFY=1\n\
                     export DOCKER_CERT_PATH=/path/to/ci-client-certs   # ca.pem, cert.pem, key.pem"
                        .to_string(),
                ));
            }
        }
    }
    out
}

/// Built-in example pipelines (before) per platform: (platform, build-only files, files of a
/// job that runs containers).
type Example = (&'static str, &'static str, &'static str);

const GITLAB_BUILD: &str = "build-image:
  image: docker:29-cli
  services:
    - docker:29-dind
  variables:
    DOCKER_HOST: tcp://docker:2376
    DOCKER_TLS_CERTDIR: \"/certs\"
  script:
    - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" .
    - docker push \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"
";

const GITLAB_RUN: &str = "integration-test:
  image: docker:29-cli
  services:
    - docker:29-dind
  variables:
    DOCKER_HOST: tcp://docker:2375
    DOCKER_TLS_CERTDIR: \"\"
  script:
    - docker compose up -d --build
    - docker compose run --rm tests
";

const GITHUB_BUILD: &str = "name: image
on: push
jobs:
  image:
    runs-on: ubuntu-24.04
    services:
      docker:
        image: docker:29-dind
        options: --privileged
    env:
      DOCKER_HOST: tcp://localhost:2376
    steps:
      - uses: actions/checkout@v4
      - run: docker build -t \"ghcr.io/acme/app:${{ github.sha }}\" .
      - run: docker push \"ghcr.io/acme/app:${{ github.sha }}\"
";

const GITHUB_RUN: &str = "name: e2e
on: push
jobs:
  e2e:
    runs-on: [self-hosted, linux]
    container:
      image: docker:29-cli
      options: --privileged
    steps:
      - uses: actions/checkout@v4
      - run: docker run --rm alpine:3 echo hello
";

const JENKINS_BUILD: &str = "pipeline {
  agent none
  stages {
    stage('Image') {
      agent {
        kubernetes {
          yaml '''
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: docker
    image: docker:29-cli
    command: [\"sleep\", \"infinity\"]
    env:
    - name: DOCKER_HOST
      value: tcp://localhost:2375
  - name: dind
    image: docker:29-dind
    securityContext:
      privileged: true
'''
        }
      }
      steps {
        container('docker') {
          sh 'docker build -t registry.example.com/app:${BUILD_NUMBER} .'
          sh 'docker push registry.example.com/app:${BUILD_NUMBER}'
        }
      }
    }
  }
}
";

const JENKINS_RUN: &str = "pipeline {
  agent none
  stages {
    stage('Test') {
      agent {
        docker {
          image 'docker:29-cli'
          args '--privileged -v /var/run/docker.sock:/var/run/docker.sock'
        }
      }
      steps {
        sh 'docker build -t app:${BUILD_NUMBER} .'
        sh 'docker run --rm app:${BUILD_NUMBER} ./run-tests'
      }
    }
  }
}
";

const EXAMPLES: &[(&str, &str, Example)] = &[
    (
        "GitLab CI",
        "yaml",
        (".gitlab-ci.yml", GITLAB_BUILD, GITLAB_RUN),
    ),
    (
        "GitHub Actions",
        "yaml",
        (".github/workflows/ci.yml", GITHUB_BUILD, GITHUB_RUN),
    ),
    (
        "Jenkins",
        "groovy",
        ("Jenkinsfile", JENKINS_BUILD, JENKINS_RUN),
    ),
];

/// The outcome of migrating one built-in example to a target.
#[derive(Clone, Debug, Default)]
pub struct ExampleRun {
    /// The example before.
    pub before: String,
    /// The unified diff the migration produces (empty when nothing changes).
    pub diff: String,
    /// `(pipeline, status)` per pipeline.
    pub status: Vec<(String, String)>,
    /// Why the target was not used, when it is infeasible for the example.
    pub infeasible: Option<String>,
    /// Manual tasks the rewriter produced.
    pub manual: Vec<ManualTask>,
    /// Notes the rewriter produced.
    pub notes: Vec<String>,
}

/// Migrate one in-memory file to a target with the engine (no disk access).
pub fn run_example(path: &str, text: &str, target: Target, templates: &Templates) -> ExampleRun {
    let config = Config::default();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    files.insert(path.to_string(), text.to_string());
    let scan = scan::scan_memory(files.clone(), &config);
    let env = Environment::default();
    let plan = migrate::plan(&scan, &env, strategy_of(target));
    let mem = MemFiles(
        files
            .iter()
            .map(|(p, t)| (p.clone(), Arc::<str>::from(t.as_str())))
            .collect(),
    );
    let rescan = |overlay: &BTreeMap<String, String>| {
        let mut all = files.clone();
        for (p, t) in overlay {
            all.insert(p.clone(), t.clone());
        }
        scan::scan_memory(all, &config)
    };
    let preview = migrate::preview(&plan, &scan, &mem, templates, &rescan);
    let mut run = ExampleRun {
        before: text.to_string(),
        ..ExampleRun::default()
    };
    for p in &plan.pipelines {
        if p.choice.target() != Some(target) {
            run.infeasible = Some(
                p.options
                    .iter()
                    .find(|o| o.target == target)
                    .and_then(|o| o.infeasible.clone())
                    .unwrap_or_else(|| p.why.clone()),
            );
        }
    }
    for c in &preview.changes {
        run.diff.push_str(&c.unified_diff());
    }
    for r in &preview.results {
        run.status
            .push((r.pipeline.clone(), r.status.as_str().to_string()));
        run.manual.extend(r.manual.iter().cloned());
        run.notes.extend(r.notes.iter().cloned());
    }
    run
}

/// A code fence longer than any run of backticks in `text`.
pub fn fence(text: &str) -> String {
    let mut longest = 0usize;
    let mut cur = 0usize;
    for c in text.chars() {
        if c == '`' {
            cur += 1;
            longest = longest.max(cur);
        } else {
            cur = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// A fenced Markdown code block.
pub fn code_block(lang: &str, text: &str) -> String {
    let f = fence(text);
    format!("{f}{lang}\n{}\n{f}\n", text.trim_end_matches('\n'))
}

/// Template names that belong to a target (by name), as `depriv templates list` shows them.
pub fn templates_of(t: Target) -> Vec<&'static str> {
    let key = targets::spec(t).template_key;
    Templates::names()
        .into_iter()
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == key)
        })
        .collect()
}

/// The guide for a target, in Markdown: what it is, when depriv picks it, host requirements,
/// residual risk, host preparation, example pipelines migrated by the engine, troubleshooting.
pub fn render(t: Target, templates: &Templates) -> String {
    let i = info(t);
    let trade_off = targets::spec(t).trade_off;
    let mut s = String::new();
    let _ = writeln!(s, "# {} (`{}`)\n", i.title, t.as_str());
    let _ = writeln!(
        s,
        "<!-- Generated by `depriv explain {}`; regenerate with `DEPRIV_UPDATE_DOCS=1 cargo test guides`. -->\n",
        t.as_str()
    );
    let _ = writeln!(s, "{}\n", i.what);
    let _ = writeln!(s, "## When depriv picks it\n");
    let _ = writeln!(s, "In one line: {trade_off}.\n");
    let when = targets::spec(t).when;
    let _ = writeln!(s, "{when}\n");
    let _ = writeln!(s, "## Host requirements\n");
    for r in i.requirements {
        let _ = writeln!(s, "- {r}");
    }
    let _ = writeln!(s, "\n## Residual risk\n\n{}\n", i.residual);
    let tasks = host_tasks(t, &HostContext::everything());
    if !tasks.is_empty() {
        let _ = writeln!(s, "## Host preparation\n");
        let _ = writeln!(
            s,
            "Reports list the tasks that apply to the scanned repository; every variant is shown here.\n"
        );
        for m in &tasks {
            let _ = writeln!(s, "### {}\n\nWhere: {}\n", m.title, m.location);
            s.push_str(&code_block(&m.lang, &m.snippet));
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Example pipelines\n");
    let _ = writeln!(
        s,
        "Each example is migrated by depriv's own engine and templates (`depriv migrate --strategy {}`).\n",
        t.as_str()
    );
    for (platform, lang, (path, build, run)) in EXAMPLES {
        let text = if matches!(t, Target::Kaniko | Target::Buildkit) {
            build
        } else {
            run
        };
        let ex = run_example(path, text, t, templates);
        let _ = writeln!(s, "### {platform}\n");
        let _ = writeln!(s, "Before (`{path}`):\n");
        s.push_str(&code_block(lang, &ex.before));
        s.push('\n');
        if let Some(why) = &ex.infeasible {
            let _ = writeln!(s, "depriv does not use {} here: {why}.\n", t.as_str());
        } else if ex.diff.is_empty() {
            let status: Vec<String> = ex
                .status
                .iter()
                .map(|(p, st)| format!("`{p}`: {st}"))
                .collect();
            let _ = writeln!(
                s,
                "depriv does not rewrite this pipeline to {} ({}): the notes and tasks below, the host preparation above and the troubleshooting say what to do by hand.\n",
                t.as_str(),
                status.join(", ")
            );
        } else {
            let _ = writeln!(s, "After (`depriv migrate --strategy {}`):\n", t.as_str());
            s.push_str(&code_block("diff", &ex.diff));
            s.push('\n');
        }
        let pipeline_tasks: Vec<&ManualTask> =
            ex.manual.iter().filter(|m| !m.snippet.is_empty()).collect();
        if !pipeline_tasks.is_empty() {
            let _ = writeln!(s, "Manual tasks for this example:\n");
            for m in pipeline_tasks {
                let _ = writeln!(s, "- {} ({})\n", m.title, m.location);
                for line in code_block(&m.lang, &m.snippet).lines() {
                    let _ = writeln!(s, "  {line}");
                }
                s.push('\n');
            }
        }
        for n in &ex.notes {
            let _ = writeln!(s, "- Note: {n}");
        }
        if !ex.notes.is_empty() {
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Troubleshooting\n");
    for p in i.troubleshooting {
        let _ = writeln!(s, "- **{}** — {}", p.title, p.text);
    }
    let _ = writeln!(s, "\n## Sources\n");
    let _ = writeln!(
        s,
        "Where each setting depriv writes for this target comes from (pinned versions: `depriv templates versions`, sources in `templates/versions.toml`).\n"
    );
    let _ = writeln!(s, "| setting | upstream source |\n|---|---|");
    for (setting, source) in sources(t) {
        let _ = writeln!(s, "| {setting} | {source} |");
    }
    let names = templates_of(t);
    let _ = writeln!(s, "\n## Templates\n");
    if names.is_empty() {
        let _ = writeln!(
            s,
            "No built-in template is named after this target yet; `depriv templates list` shows them all."
        );
    } else {
        let _ = writeln!(
            s,
            "Rendered from these built-in templates (override them with `depriv migrate --templates DIR`):\n"
        );
        for n in names {
            let _ = writeln!(s, "- `templates/{n}`");
        }
    }
    let _ = writeln!(
        s,
        "\nOther targets: {}.",
        ALL_TARGETS
            .iter()
            .filter(|x| **x != t)
            .map(|x| format!("`depriv explain {}`", x.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guide_names_its_sources_and_no_internal_document() {
        for t in ALL_TARGETS {
            let rows = sources(t);
            assert!(rows.len() >= 3, "{}", t.as_str());
            for (setting, source) in rows {
                assert!(
                    source.contains("https://") || source.contains(":"),
                    "{setting}: {source}"
                );
            }
            let g = render(t, &Templates::builtin());
            assert!(g.contains("## Sources"));
            assert!(!g.contains("recipes"), "{}", t.as_str());
        }
    }

    #[test]
    fn target_names_parse() {
        assert_eq!(parse_target("TLS-daemon"), Some(Target::Tls));
        assert_eq!(parse_target(" dind-rootless "), Some(Target::Rootless));
        assert_eq!(parse_target("BuildKit"), Some(Target::Buildkit));
        assert_eq!(parse_target(""), None);
        assert_eq!(parse_target("privileged-dind"), None);
        for t in ALL_TARGETS {
            assert_eq!(parse_target(t.as_str()), Some(t));
            assert_eq!(info(t).target, t);
        }
    }

    #[test]
    fn fences_outgrow_backticks() {
        assert_eq!(fence("a"), "```");
        assert_eq!(fence("x ```` y"), "`````");
        let b = code_block("sh", "echo ```\n");
        assert!(b.starts_with("````sh\necho ```\n````"), "{b}");
    }

    #[test]
    fn host_tasks_follow_the_context() {
        let none = host_tasks(Target::Sysbox, &HostContext::default());
        assert_eq!(none.len(), 2, "{none:?}");
        let all = host_tasks(Target::Sysbox, &HostContext::everything());
        assert!(
            all.iter()
                .any(|m| m.snippet.contains("handler: sysbox-runc"))
        );
        assert!(
            all.iter()
                .any(|m| m.snippet.contains("runtime = \"sysbox-runc\""))
        );
        let managed = HostContext {
            managed: true,
            ..HostContext::everything()
        };
        assert!(host_tasks(Target::Sysbox, &managed).is_empty());
        let kaniko = host_tasks(
            Target::Kaniko,
            &HostContext {
                registry: Some("reg'x".into()),
                ..HostContext::default()
            },
        );
        assert_eq!(kaniko.len(), 1);
        assert!(
            kaniko[0].snippet.contains("REGISTRY='reg'\\''x'"),
            "{}",
            kaniko[0].snippet
        );
        assert!(kaniko[0].snippet.contains("/kaniko/.docker/config.json"));
        let tls = host_tasks(Target::Tls, &HostContext::everything());
        assert!(
            tls.iter()
                .any(|m| m.snippet.contains("extendedKeyUsage = clientAuth"))
        );
        assert!(
            tls.iter()
                .any(|m| m.lang == "json" && m.snippet.contains("tlsverify"))
        );
    }

    #[test]
    fn json_and_toml_snippets_parse() {
        for t in ALL_TARGETS {
            for m in host_tasks(t, &HostContext::everything()) {
                match m.lang.as_str() {
                    "json" => {
                        assert!(
                            serde_json::from_str::<serde_json::Value>(&m.snippet).is_ok(),
                            "{}",
                            m.title
                        );
                    }
                    "toml" => {
                        let body: String = m
                            .snippet
                            .lines()
                            .filter(|l| !l.starts_with('#'))
                            .collect::<Vec<_>>()
                            .join("\n");
                        assert!(
                            body.parse::<toml_edit::DocumentMut>().is_ok(),
                            "{}",
                            m.title
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn guides_cover_every_section_and_are_deterministic() {
        let t = Templates::builtin();
        for target in ALL_TARGETS {
            let g = render(target, &t);
            for h in [
                "## Host requirements",
                "## Residual risk",
                "## Example pipelines",
                "### GitLab CI",
                "### GitHub Actions",
                "### Jenkins",
                "## Troubleshooting",
            ] {
                assert!(g.contains(h), "{} lacks {h}", target.as_str());
            }
            assert_eq!(g, render(target, &t));
        }
    }

    #[test]
    fn examples_have_findings_for_their_targets() {
        for (_, _, (path, build, run)) in EXAMPLES {
            for text in [build, run] {
                let mut m = BTreeMap::new();
                m.insert(path.to_string(), text.to_string());
                let r = scan::scan_memory(m, &Config::default());
                assert!(!r.has_errors(), "{path}: {:?}", r.diagnostics);
                assert!(!r.findings.is_empty(), "{path} has no findings");
            }
        }
        let kaniko_on_run = run_example(
            ".gitlab-ci.yml",
            GITLAB_RUN,
            Target::Kaniko,
            &Templates::builtin(),
        );
        assert!(kaniko_on_run.infeasible.is_some());
    }
}
