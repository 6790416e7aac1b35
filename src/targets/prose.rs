//! The long-form guide text of every target (what it is, host requirements, residual risk,
//! troubleshooting, and the upstream source of every setting depriv writes), rendered by
//! `depriv explain TARGET` and `docs/targets/*.md`.

use super::{Guide, Pitfall};

pub(super) const SYSBOX: Guide = Guide {
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
            title: "A privileged container that runs no Docker daemon",
            text: "Sysbox runs systemd as PID 1 without privilege (and kind nodes, which boot \
systemd), so depriv moves such containers to sysbox. It does not run what needs devices or \
nested user namespaces: loop devices (`losetup`, `mount -o loop`) fail, `/dev/fuse` cannot be \
created and FUSE unmounts fail, binfmt_misc cannot be written, and bubblewrap (flatpak-builder) \
cannot create its user namespace. depriv leaves those as manual tasks that say why; a QEMU/KVM \
container needs only `--device /dev/kvm`. Sources: \
https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md, \
https://github.com/nestybox/sysbox/issues/729, https://github.com/nestybox/sysbox/issues/732.",
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
    sources: &[
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
};

pub(super) const ROOTLESS: Guide = Guide {
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
    sources: &[
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
};

pub(super) const KANIKO: Guide = Guide {
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
            title: "A job only copies or re-tags images (`docker pull`, `tag`, `push`, no build)",
            text: "On GitLab such a job gets crane's debug image \
(`gcr.io/go-containerregistry/crane/debug`: no daemon, a BusyBox shell) instead of the kaniko \
image; the pipeline's target stays `kaniko`. `docker login` becomes `crane auth login`, \
`docker pull` goes, and `docker tag A B` with `docker push B` becomes `crane copy A B`, which \
serves a re-tag in one repository and a copy to another alike, keeps the digest and copies \
every platform of a multi-platform image unless the pull named one (`--platform`). `docker \
load`, `docker save`, `docker run` and tags of images the job did not pull stay, each with a \
manual task, and the job is partial. GitHub Actions and Jenkins jobs like this stay manual \
(`imjasonh/setup-crane`, or a crane container). See \
https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md.",
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
    sources: &[
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
        (
            "GitLab jobs that only copy images: crane debug image, `crane auth login`, `crane copy`",
            "https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md, https://github.com/google/go-containerregistry/blob/main/cmd/crane/doc/crane_copy.md",
        ),
    ],
};

pub(super) const BUILDKIT: Guide = Guide {
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
        Pitfall {
            title: "A job only copies or re-tags images (`docker pull`, `tag`, `push`, no build)",
            text: "On GitLab such a job gets crane's debug image \
(`gcr.io/go-containerregistry/crane/debug`: no daemon, a BusyBox shell) instead of the BuildKit \
image; the pipeline's target stays `buildkit`. `docker login` becomes `crane auth login`, \
`docker pull` goes, and `docker tag A B` with `docker push B` becomes `crane copy A B`, which \
serves a re-tag in one repository and a copy to another alike, keeps the digest and copies \
every platform of a multi-platform image unless the pull named one (`--platform`). `docker \
load`, `docker save`, `docker run` and tags of images the job did not pull stay, each with a \
manual task, and the job is partial. GitHub Actions and Jenkins jobs like this stay manual \
(`imjasonh/setup-crane`, or a crane container). See \
https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md.",
        },
    ],
    sources: &[
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
        (
            "GitLab jobs that only copy images: crane debug image, `crane auth login`, `crane copy`",
            "https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md, https://github.com/google/go-containerregistry/blob/main/cmd/crane/doc/crane_copy.md",
        ),
    ],
};

pub(super) const TLS: Guide = Guide {
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
    sources: &[
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
};
