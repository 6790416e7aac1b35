//! Targets and recommendations: which de-privileged target can work for a pipeline, given
//! what it uses Docker for and where its runners live.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::{Environment, RunnerHosts};
use crate::model::{DockerUse, Hosting};

/// A migration target.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Sysbox runtime: unprivileged system containers that run Docker.
    Sysbox,
    /// `docker:dind-rootless` (still privileged in most setups).
    Rootless,
    /// kaniko executor (build/push only, single arch).
    Kaniko,
    /// Rootless, daemonless BuildKit.
    Buildkit,
    /// Keep dind, with TLS and client certificates.
    Tls,
}

impl Target {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Sysbox => "sysbox",
            Target::Rootless => "rootless",
            Target::Kaniko => "kaniko",
            Target::Buildkit => "buildkit",
            Target::Tls => "tls",
        }
    }
}

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
}

/// Every target, in the order the UI lists them.
pub const ALL_TARGETS: [Target; 5] = [
    Target::Sysbox,
    Target::Rootless,
    Target::Kaniko,
    Target::Buildkit,
    Target::Tls,
];

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
    match t {
        Target::Sysbox => (
            "unprivileged system containers run the same dind image; needs sysbox installed on the runner hosts",
            "host install (systemd services, kernel ≥ 5.12 or shiftfs); sysbox support is best-effort",
        ),
        Target::Rootless => (
            "dind-rootless runs the daemon as an unprivileged user; no host change for GitLab services_privileged",
            "still privileged in most setups (seccomp, AppArmor and mount masks need --privileged)",
        ),
        Target::Kaniko => (
            "daemonless single-platform builds with no privilege and no runner change",
            "upstream kaniko is archived: uses the maintained osscontainertools fork; runs as root in its container",
        ),
        Target::Buildkit => (
            "rootless, daemonless BuildKit (buildctl-daemonless.sh), multi-platform and cache capable",
            "needs seccomp/AppArmor unconfined (or a userns-capable kernel) on self-managed runners",
        ),
        Target::Tls => (
            "keeps dind but with TLS and client certificates on 2376",
            "hardening only: the daemon stays privileged",
        ),
    }
}

/// Why sysbox cannot serve a compose file deployed as a Swarm stack.
pub const SWARM_NO_RUNTIME: &str = "deployed as a Swarm stack: `docker stack deploy` cannot set a per-service `runtime` (Swarm services take the engine's default runtime) and ignores `depends_on` (https://docs.docker.com/reference/cli/docker/stack/deploy/, https://docs.docker.com/reference/compose-file/deploy/); sysbox would have to become the default runtime of every node";

/// Which targets can work for a pipeline, and why the others cannot.
pub fn options(
    usage: &BTreeSet<DockerUse>,
    hosting: Hosting,
    env: &Environment,
) -> Vec<TargetOption> {
    let runs = usage.contains(&DockerUse::Run);
    ALL_TARGETS
        .iter()
        .map(|&t| {
            let infeasible = match t {
                Target::Kaniko if runs => {
                    Some("runs containers: kaniko cannot run them".to_string())
                }
                Target::Kaniko if usage.contains(&DockerUse::MultiArch) => Some(
                    "builds for several platforms: kaniko builds one platform per run".to_string(),
                ),
                Target::Kaniko | Target::Buildkit if usage.is_empty() => {
                    Some("does not only build images (Docker usage unknown)".to_string())
                }
                Target::Buildkit if runs => {
                    Some("runs containers: BuildKit only builds images".to_string())
                }
                // Swarm services: see `SWARM_NO_RUNTIME`.
                Target::Sysbox if hosting == Hosting::Swarm => Some(SWARM_NO_RUNTIME.to_string()),
                Target::Sysbox if hosting == Hosting::GithubHosted => {
                    Some("GitHub-hosted runners cannot install sysbox".to_string())
                }
                Target::Sysbox if env.sysbox == Some(false) => {
                    Some("sysbox cannot be installed on the runner hosts".to_string())
                }
                Target::Sysbox if env.runner_hosts == RunnerHosts::Managed => {
                    Some("managed runners cannot install sysbox".to_string())
                }
                _ => None,
            };
            let (trade_off, residual_risk) = describe(t);
            TargetOption {
                target: t,
                infeasible,
                trade_off,
                residual_risk,
            }
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
            Choice::Skip | Choice::Manual => None,
        }
    }
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self.target() {
            Some(t) => t.as_str(),
            None if self == Choice::Skip => "skip",
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
