//! Targets and recommendations: which de-privileged target can work for a pipeline, given
//! what it uses Docker for and where its runners live.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::{Environment, RunnerHosts};
use crate::finding::Surface;
use crate::model::{DockerUse, Hosting, PrivilegeReason};

use crate::targets::{self, Context};
pub use crate::targets::{SWARM_NO_RUNTIME, Target};

/// Whether a pipeline only builds images (no containers run).
pub fn build_only(usage: &BTreeSet<DockerUse>) -> bool {
    !usage.is_empty() && !usage.contains(&DockerUse::Run)
}

/// The recommended target for a pipeline.
pub fn recommend(usage: &BTreeSet<DockerUse>, hosting: Hosting, env: &Environment) -> Target {
    if build_only(usage) {
        return Target::Buildkit;
    }
    if matches!(hosting, Hosting::GithubHosted | Hosting::Swarm) {
        return Target::Rootless;
    }
    match (env.runner_hosts, env.sysbox) {
        (_, Some(false)) => Target::Rootless,
        (RunnerHosts::SelfManaged | RunnerHosts::Kubernetes, _) => Target::Sysbox,
        (RunnerHosts::Managed, _) => Target::Rootless,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_only_goes_to_buildkit_runs_go_to_sysbox() {
        let env = Environment::default();
        let build: BTreeSet<_> = [DockerUse::Build, DockerUse::Push].into();
        let run: BTreeSet<_> = [DockerUse::Build, DockerUse::Run].into();
        assert_eq!(recommend(&build, Hosting::Unknown, &env), Target::Buildkit);
        assert_eq!(recommend(&run, Hosting::Unknown, &env), Target::Sysbox);
        let managed = Environment {
            runner_hosts: RunnerHosts::Managed,
            ..Environment::default()
        };
        assert_eq!(
            recommend(&run, Hosting::Unknown, &managed),
            Target::Rootless
        );
        assert_eq!(
            recommend(&BTreeSet::new(), Hosting::Unknown, &env),
            Target::Sysbox
        );
    }

    fn reasons(r: &[PrivilegeReason]) -> BTreeSet<PrivilegeReason> {
        r.iter().copied().collect()
    }

    #[test]
    fn workload_privilege_is_advised_per_reason_never_a_docker_target() {
        let env = Environment::default();
        let run: BTreeSet<_> = [DockerUse::Run].into();
        let host = Hosting::SelfHosted;
        assert_eq!(advise(&BTreeSet::new(), Surface::Compose, host, &env), None);
        let systemd = advise(
            &reasons(&[PrivilegeReason::Systemd]),
            Surface::Compose,
            host,
            &env,
        );
        assert_eq!(systemd.as_ref().map(|a| a.choice), Some(Choice::Sysbox));
        assert!(systemd.is_some_and(|a| a.why.contains("docs/user-guide/systemd.md")));
        // systemd on GitHub-hosted runners: sysbox cannot be installed, so manual.
        let hosted = advise(
            &reasons(&[PrivilegeReason::Systemd]),
            Surface::GithubActions,
            Hosting::GithubHosted,
            &env,
        );
        assert_eq!(hosted.as_ref().map(|a| a.choice), Some(Choice::Manual));
        assert!(hosted.is_some_and(|a| a.why.contains("sysbox is not feasible")));
        let kvm = advise(
            &reasons(&[PrivilegeReason::Kvm]),
            Surface::Compose,
            host,
            &env,
        );
        assert_eq!(kvm.as_ref().map(|a| a.choice), Some(Choice::Device));
        let kvm = kvm.unwrap_or_else(|| unreachable!());
        assert!(kvm.why.contains("/dev/kvm is enough"), "{}", kvm.why);
        assert_eq!(
            kvm.tasks.first().map(|t| t.snippet.as_str()),
            Some("devices:\n  - /dev/kvm\n")
        );
        let kube = advise(
            &reasons(&[PrivilegeReason::Kvm]),
            Surface::Kubernetes,
            Hosting::Kubernetes,
            &env,
        );
        assert_eq!(kube.as_ref().map(|a| a.choice), Some(Choice::Manual));
        assert!(kube.is_some_and(|a| {
            a.why.contains("device plugin")
                && a.tasks
                    .first()
                    .is_some_and(|t| t.snippet.contains("devices.kubevirt.io/kvm"))
        }));
        assert_eq!(
            recommend_name(
                &run,
                Surface::Compose,
                host,
                &env,
                &reasons(&[PrivilegeReason::Kvm])
            ),
            "device"
        );
        assert_eq!(
            recommend_name(
                &run,
                Surface::Kubernetes,
                Hosting::Kubernetes,
                &env,
                &reasons(&[PrivilegeReason::Kvm])
            ),
            "manual"
        );
        for r in [
            PrivilegeReason::Fuse,
            PrivilegeReason::DiskImage,
            PrivilegeReason::Binfmt,
            PrivilegeReason::Bubblewrap,
        ] {
            let a = advise(&reasons(&[r]), Surface::Compose, host, &env);
            assert_eq!(a.as_ref().map(|a| a.choice), Some(Choice::Manual), "{r:?}");
            let why = a.map(|a| a.why).unwrap_or_default();
            assert!(why.contains("https://"), "{r:?}: {why}");
            assert!(!why.contains("SYS_ADMIN`"), "{r:?}: {why}");
            assert_eq!(
                recommend_name(&run, Surface::Compose, host, &env, &reasons(&[r])),
                "manual"
            );
        }
        assert_eq!(
            recommend_name(
                &run,
                Surface::Compose,
                host,
                &env,
                &reasons(&[PrivilegeReason::Systemd])
            ),
            "sysbox"
        );
        assert_eq!(
            recommend_name(&run, Surface::Compose, host, &env, &BTreeSet::new()),
            "sysbox"
        );
        // Every Docker target is infeasible for a workload's privilege.
        for o in options(&run, host, &env, &reasons(&[PrivilegeReason::Bubblewrap])) {
            assert!(o.infeasible.is_some(), "{:?}", o.target);
        }
    }
}

/// Every target, in the order the UI lists them (the registry order).
pub const ALL_TARGETS: [Target; targets::COUNT] = targets::ALL;

/// A target as an option for one pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct TargetOption {
    /// The target.
    pub target: Target,
    /// `None` when it can work, else why not.
    pub infeasible: Option<String>,
    /// One-line trade-off.
    pub trade_off: &'static str,
    /// What stays risky after moving to it.
    pub residual_risk: &'static str,
}

/// Trade-off and residual risk of a target (data shown by the TUI and reports).
pub fn describe(t: Target) -> (&'static str, &'static str) {
    let s = targets::spec(t);
    (s.trade_off, s.residual_risk)
}

/// Which targets can work for a pipeline, and why the others cannot (`privilege`: why its
/// containers are privileged when no Docker daemon is involved).
pub fn options(
    usage: &BTreeSet<DockerUse>,
    hosting: Hosting,
    env: &Environment,
    privilege: &BTreeSet<PrivilegeReason>,
) -> Vec<TargetOption> {
    let cx = Context {
        usage,
        hosting,
        env,
        privilege,
    };
    targets::REGISTRY
        .iter()
        .map(|s| TargetOption {
            target: s.target,
            infeasible: (s.infeasible)(&cx).map(str::to_string),
            trade_off: s.trade_off,
            residual_risk: s.residual_risk,
        })
        .collect()
}

/// What to do with one pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// Move to sysbox.
    Sysbox,
    /// Move to rootless dind.
    Rootless,
    /// Move to kaniko.
    Kaniko,
    /// Move to BuildKit.
    Buildkit,
    /// Harden dind with TLS.
    Tls,
    /// Leave it alone.
    Skip,
    /// Leave it to a person (listed as a manual task).
    Manual,
    /// Replace privileged with the one device the workload needs (`/dev/kvm`): no Docker
    /// target, the container is privileged only for KVM.
    Device,
}

impl Choice {
    /// The target, when the choice is one.
    pub fn target(self) -> Option<Target> {
        match self {
            Choice::Sysbox => Some(Target::Sysbox),
            Choice::Rootless => Some(Target::Rootless),
            Choice::Kaniko => Some(Target::Kaniko),
            Choice::Buildkit => Some(Target::Buildkit),
            Choice::Tls => Some(Target::Tls),
            Choice::Skip | Choice::Manual | Choice::Device => None,
        }
    }
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self.target() {
            Some(t) => t.as_str(),
            None if self == Choice::Skip => "skip",
            None if self == Choice::Device => "device",
            None => "manual",
        }
    }
}

impl From<Target> for Choice {
    fn from(t: Target) -> Choice {
        match t {
            Target::Sysbox => Choice::Sysbox,
            Target::Rootless => Choice::Rootless,
            Target::Kaniko => Choice::Kaniko,
            Target::Buildkit => Choice::Buildkit,
            Target::Tls => Choice::Tls,
        }
    }
}

/// One decision of a saved plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// File declaring the pipeline.
    pub path: String,
    /// Pipeline name.
    pub pipeline: String,
    /// What to do.
    pub choice: Choice,
    /// Fingerprints of the findings the decision was made for.
    pub fingerprints: Vec<String>,
}

/// A saved plan (`--save-plan` / `--plan`), version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Format version.
    pub version: u32,
    /// Environment answers the plan was made with.
    pub environment: Environment,
    /// Decisions, sorted by (path, pipeline).
    pub decisions: Vec<Decision>,
}

/// The recommendation's stable name: the recommended target, or what [`advise`] says for a
/// pipeline privileged for its workload (`sysbox`, `device` or `manual`).
pub fn recommend_name(
    usage: &BTreeSet<DockerUse>,
    surface: Surface,
    hosting: Hosting,
    env: &Environment,
    privilege: &BTreeSet<PrivilegeReason>,
) -> &'static str {
    match advise(privilege, surface, hosting, env) {
        Some(a) => a.choice.as_str(),
        None => recommend(usage, hosting, env).as_str(),
    }
}

/// A manual step with the exact text to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdviceTask {
    /// What to do, one line.
    pub title: String,
    /// The replacement text.
    pub snippet: String,
    /// Its language (`yaml`, `sh`, `groovy`).
    pub lang: &'static str,
}

/// What depriv advises for a pipeline whose containers are privileged for their workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advice {
    /// Sysbox (systemd only, where sysbox is feasible), the device (KVM only, where a flag
    /// can be replaced) or manual.
    pub choice: Choice,
    /// Why, per reason, with the upstream page (shown as the plan's reason).
    pub why: String,
    /// Manual steps with the replacement text.
    pub tasks: Vec<AdviceTask>,
}

/// Why one reason asks for privilege, and what is narrower, if anything.
pub fn reason_text(r: PrivilegeReason, hosting: Hosting) -> &'static str {
    match r {
        PrivilegeReason::Kvm if hosting == Hosting::Kubernetes => {
            "privileged for KVM: /dev/kvm is enough, but a pod gets it only through a device plugin (KubeVirt's, or smarter-device-manager) that the cluster must run (https://kubevirt.io/user-guide/cluster_admin/installation/, https://github.com/smarter-project/smarter-device-manager)"
        }
        PrivilegeReason::Kvm => {
            "privileged for KVM: /dev/kvm is enough, replace privileged with the device (https://docs.docker.com/reference/cli/docker/container/run/#device, https://docs.docker.com/reference/compose-file/services/#devices)"
        }
        PrivilegeReason::Fuse => {
            "privileged for FUSE: /dev/fuse alone does not let a container mount, the mount also needs CAP_SYS_ADMIN, which is no narrower than privileged, so there is no narrower setting (https://github.com/docker/for-linux/issues/321); sysbox cannot create /dev/fuse and its FUSE unmounts fail (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md, https://github.com/nestybox/sysbox/issues/732); mount on the host and bind-mount the directory, or run AppImages extracted instead of mounted (`--appimage-extract-and-run`, https://github.com/AppImage/AppImageKit/issues/912)"
        }
        PrivilegeReason::DiskImage => {
            "privileged for loop devices (losetup, mount -o loop, disk image builders): loop devices are shared by the whole host, there is no narrower setting and sysbox cannot set them up (https://github.com/nestybox/sysbox/issues/729); build the image without mounting it or on a dedicated virtual machine runner"
        }
        PrivilegeReason::Binfmt => {
            "privileged to register QEMU user emulation in binfmt_misc: the registration is host-wide and outlives the job, so do it once on the host as an administrator (a privileged one-off `docker run --privileged --rm tonistiigi/binfmt --install all`, or the distribution's qemu-user-static package) and remove the step from the job; sysbox blocks binfmt_misc (https://github.com/tonistiigi/binfmt, https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md)"
        }
        PrivilegeReason::Bubblewrap => {
            "privileged for flatpak-builder (bubblewrap needs to create user namespaces and mounts): no narrower setting; sysbox does not support nested user namespaces (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md); run the build on a virtual machine runner or a host that allows unprivileged user namespaces (https://github.com/containers/bubblewrap)"
        }
        PrivilegeReason::Systemd => {
            "privileged for systemd as PID 1: sysbox runs systemd in an unprivileged container (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/systemd.md)"
        }
    }
}

/// The advice for a pipeline privileged for its workload; `None` when `privilege` is empty
/// (a Docker pipeline: [`recommend`] applies).
pub fn advise(
    privilege: &BTreeSet<PrivilegeReason>,
    surface: Surface,
    hosting: Hosting,
    env: &Environment,
) -> Option<Advice> {
    if privilege.is_empty() {
        return None;
    }
    let mut why: Vec<String> = privilege
        .iter()
        .map(|r| reason_text(*r, hosting).to_string())
        .collect();
    let no_usage = BTreeSet::new();
    let sysbox_blocked = (targets::spec(Target::Sysbox).infeasible)(&Context {
        usage: &no_usage,
        hosting,
        env,
        privilege,
    });
    let choice = match sysbox_blocked {
        None => Choice::Sysbox,
        Some(w) => {
            if privilege.contains(&PrivilegeReason::Systemd) && !why.iter().any(|x| x.contains(w)) {
                why.push(format!("sysbox is not feasible: {w}"));
            }
            Choice::Manual
        }
    };
    let mut tasks = Vec::new();
    let mut choice = choice;
    if privilege.contains(&PrivilegeReason::Kvm) && privilege.len() == 1 {
        tasks.push(kvm_task(surface, hosting));
        let replaceable = matches!(
            surface,
            Surface::Compose | Surface::GithubActions | Surface::Jenkins | Surface::Shell
        );
        if replaceable && hosting != Hosting::Kubernetes {
            choice = Choice::Device;
        }
    }
    Some(Advice {
        choice,
        why: why.join("; "),
        tasks,
    })
}

/// The exact replacement of privileged by /dev/kvm on a surface.
fn kvm_task(surface: Surface, hosting: Hosting) -> AdviceTask {
    let (title, snippet, lang) = match surface {
        Surface::Compose => (
            "replace `privileged: true` with the /dev/kvm device",
            "devices:\n  - /dev/kvm\n",
            "yaml",
        ),
        Surface::GithubActions => (
            "replace --privileged with --device /dev/kvm (in `container: options:` or the `docker run` step)",
            "options: --device /dev/kvm\n",
            "yaml",
        ),
        Surface::Jenkins => (
            "replace --privileged with --device /dev/kvm in the docker agent's args",
            "args '--device /dev/kvm'\n",
            "groovy",
        ),
        Surface::Kubernetes => (
            "drop `privileged: true` and request /dev/kvm from a KVM device plugin (KubeVirt's shown)",
            "resources:\n  limits:\n    devices.kubevirt.io/kvm: \"1\"\n",
            "yaml",
        ),
        _ if hosting == Hosting::Kubernetes => (
            "drop privileged and request /dev/kvm from a KVM device plugin (KubeVirt's shown)",
            "resources:\n  limits:\n    devices.kubevirt.io/kvm: \"1\"\n",
            "yaml",
        ),
        _ => (
            "replace --privileged with --device /dev/kvm on the docker run command",
            "docker run --device /dev/kvm …\n",
            "sh",
        ),
    };
    AdviceTask {
        title: title.to_string(),
        snippet: snippet.to_string(),
        lang,
    }
}
