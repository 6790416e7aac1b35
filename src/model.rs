//! The typed model every surface lowers into and every rule reads: pipelines (a GitLab job, a
//! GitHub job, a Jenkins stage, a compose service, a pod, a runner), the containers they start
//! and the shell they run. Every value remembers where it came from ([`Loc`]), including the
//! file an `extends:`/`include:`/anchor pulled it from, so findings and fixes land where the
//! construct is defined.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::source::docker_cmd::{self, Fact};
use crate::source::{FileId, Loc};
pub use crate::vocab::DockerUse;
use crate::vocab::Surface;

impl From<docker_cmd::DockerUse> for DockerUse {
    fn from(u: docker_cmd::DockerUse) -> DockerUse {
        match u {
            docker_cmd::DockerUse::Build => DockerUse::Build,
            docker_cmd::DockerUse::Push => DockerUse::Push,
            docker_cmd::DockerUse::Login => DockerUse::Login,
            docker_cmd::DockerUse::MultiArch => DockerUse::MultiArch,
            docker_cmd::DockerUse::Run => DockerUse::Run,
        }
    }
}

/// Why a container runs privileged when no Docker daemon is involved (see the `privilege`
/// module): the workload, not a daemon, asks for the privilege, so the Docker targets
/// (rootless dind, BuildKit, kaniko, TLS) do not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrivilegeReason {
    /// Hardware virtualisation: QEMU/KVM virtual machines (`/dev/kvm`).
    Kvm,
    /// FUSE mounts: sshfs, s3fs, fuse-overlayfs, AppImage (`/dev/fuse`).
    Fuse,
    /// Loop devices and disk images: `losetup`, `mount -o loop`, debootstrap, mkosi, kiwi.
    DiskImage,
    /// Registers QEMU user emulation with the host kernel's binfmt_misc.
    Binfmt,
    /// flatpak-builder and bubblewrap sandboxes (user namespaces and mounts).
    Bubblewrap,
    /// systemd as PID 1 (system containers, kind nodes).
    Systemd,
}

impl PrivilegeReason {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PrivilegeReason::Kvm => "kvm",
            PrivilegeReason::Fuse => "fuse",
            PrivilegeReason::DiskImage => "disk-image",
            PrivilegeReason::Binfmt => "binfmt",
            PrivilegeReason::Bubblewrap => "bubblewrap",
            PrivilegeReason::Systemd => "systemd",
        }
    }
}

/// A value and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Val<T> {
    /// The value.
    pub v: T,
    /// Where it is written.
    pub loc: Loc,
}

impl<T> Val<T> {
    /// A located value.
    pub fn new(v: T, loc: Loc) -> Val<T> {
        Val { v, loc }
    }
}

/// Where a pipeline's jobs run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hosting {
    /// Not known from the file.
    #[default]
    Unknown,
    /// A GitHub-hosted runner VM (ephemeral, per job).
    GithubHosted,
    /// Runners the user manages.
    SelfHosted,
    /// Kubernetes pods.
    Kubernetes,
    /// Docker Swarm services (a compose file deployed with `docker stack deploy`).
    Swarm,
}

/// What a container is to its pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The image the job's script runs in.
    JobImage,
    /// A service container next to the job (GitLab/GitHub services).
    Service,
    /// A sidecar in a pod.
    Sidecar,
    /// A compose service, a pod container, a Jenkins agent.
    Workload,
}

/// A container a pipeline starts, with the settings the rules read.
#[derive(Clone, Debug)]
pub struct Container {
    /// Role in the pipeline.
    pub role: Role,
    /// Name (service alias, container name).
    pub name: Option<String>,
    /// The image reference.
    pub image: Option<Val<String>>,
    /// An explicit privileged flag (`privileged: true`, `--privileged`).
    pub privileged: Option<Val<bool>>,
    /// Privileged without a flag in this file (a GitLab dind service needs a privileged runner).
    pub implied_privileged: bool,
    /// Volume entries as `source[:target[:mode]]`, or the long syntax's source.
    pub volumes: Vec<Val<String>>,
    /// Host paths mounted (Kubernetes hostPath `path:`).
    pub host_paths: Vec<Val<String>>,
    /// Added capabilities.
    pub cap_add: Vec<Val<String>>,
    /// Security options normalised to `name=value` (`seccomp=unconfined`).
    pub security_opt: Vec<Val<String>>,
    /// Environment variables (name, value).
    pub env: Vec<(String, Val<String>)>,
    /// Published ports.
    pub ports: Vec<Val<String>>,
    /// Command / entrypoint / args words (dockerd flags live here).
    pub command: Vec<Val<String>>,
    /// Container runtime (`sysbox-runc`).
    pub runtime: Option<Val<String>>,
    /// Facts found in option strings (`options: --privileged …`).
    pub facts: Vec<LocFact>,
}

impl Container {
    /// An empty container of a role.
    pub fn new(role: Role) -> Container {
        Container {
            role,
            name: None,
            image: None,
            privileged: None,
            implied_privileged: false,
            volumes: Vec::new(),
            host_paths: Vec::new(),
            cap_add: Vec::new(),
            security_opt: Vec::new(),
            env: Vec::new(),
            ports: Vec::new(),
            command: Vec::new(),
            runtime: None,
            facts: Vec::new(),
        }
    }

    /// Whether the image is a Docker daemon (dind).
    pub fn is_daemon(&self) -> bool {
        self.image.as_ref().is_some_and(|i| {
            if self.role == Role::JobImage {
                // A job image runs the script; only an explicit dind image is a daemon.
                i.v.to_ascii_lowercase().contains("dind")
            } else {
                let l = i.v.to_ascii_lowercase();
                docker_cmd::is_daemon_image(&i.v)
                    || l.contains("drone-docker")
                    || l.starts_with("plugins/docker")
                    || l.contains("plugins/buildx")
            }
        }) || self
            .command
            .first()
            .is_some_and(|c| c.v == "dockerd" || c.v.ends_with("/dockerd"))
    }
}

/// A shell fact at a location.
#[derive(Clone, Debug)]
pub struct LocFact {
    /// The fact.
    pub fact: Fact,
    /// Where its word is written.
    pub loc: Loc,
}

/// Settings outside any container: a runner, a daemon, an orchestrator option.
#[derive(Clone, Debug)]
pub enum Signal {
    /// The runner runs every job container privileged.
    RunnerPrivileged(Loc),
    /// A Docker daemon listens on TCP without TLS.
    PlaintextDaemon(Loc),
    /// Docker's TLS is switched off.
    TlsDisabled(Loc),
    /// The host's Docker socket is mounted.
    SocketMount(Loc),
    /// The runner itself mounts the host's Docker socket into this job's container (a GitHub
    /// job `container:` on a self-hosted Linux runner): no line of the file declares it.
    RunnerSocketMount(Loc),
    /// A capability is added to every job container.
    CapAdd(Val<String>),
    /// seccomp/AppArmor unconfined for every job container.
    Unconfined(Val<String>),
    /// A privileged container that is not a daemon.
    PrivilegedContainer(Loc),
    /// A privileged Docker daemon.
    PrivilegedDind(Loc),
}

/// One pipeline and everything the rules need to know about it.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// Display name (`build-image`, `ci.yml:build`, `stage Build`).
    pub name: String,
    /// Surface.
    pub surface: Surface,
    /// File declaring the pipeline.
    pub file: FileId,
    /// Where it is declared (job key, service key).
    pub decl: Loc,
    /// A template (GitLab hidden job) rather than a runnable pipeline.
    pub template: bool,
    /// Where it runs.
    pub hosting: Hosting,
    /// Containers it starts.
    pub containers: Vec<Container>,
    /// Shell facts of its scripts.
    pub script_facts: Vec<LocFact>,
    /// Other signals.
    pub signals: Vec<Signal>,
    /// What it uses Docker for.
    pub usage: BTreeSet<DockerUse>,
    /// Environment variables of the job (DOCKER_HOST, DOCKER_TLS_CERTDIR).
    pub env: Vec<(String, Val<String>)>,
    /// Local scripts it runs (`./ci/build.sh`), relative to the root.
    pub runs_scripts: Vec<String>,
    /// Its script lines as the shell receives them (GitLab: the effective `before_script`,
    /// `script` and `after_script` items in order; empty for other surfaces).
    pub script_lines: Vec<String>,
    /// Runner tags that pick where it runs (GitLab `tags:`, after `extends:` and `default:`).
    pub tags: Vec<String>,
    /// Why this compose service is deployed as a Swarm stack service, if it is.
    pub swarm: Option<String>,
    /// Why its containers run privileged when no Docker daemon is involved (set by the scan
    /// from `privilege::classify`; empty for Docker pipelines).
    pub privilege: BTreeSet<PrivilegeReason>,
}

impl Pipeline {
    /// A new empty pipeline.
    pub fn new(name: impl Into<String>, surface: Surface, decl: Loc) -> Pipeline {
        Pipeline {
            name: name.into(),
            surface,
            file: decl.file,
            decl,
            template: false,
            hosting: Hosting::Unknown,
            containers: Vec::new(),
            script_facts: Vec::new(),
            signals: Vec::new(),
            usage: BTreeSet::new(),
            env: Vec::new(),
            runs_scripts: Vec::new(),
            script_lines: Vec::new(),
            tags: Vec::new(),
            swarm: None,
            privilege: BTreeSet::new(),
        }
    }

    /// Whether it runs containers (and so cannot move to kaniko/BuildKit).
    pub fn runs_containers(&self) -> bool {
        self.usage.contains(&DockerUse::Run)
    }
}
