//! Targets and recommendations: which de-privileged target can work for a pipeline, given
//! what it uses Docker for and where its runners live.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::{Environment, RunnerHosts};
use crate::model::{DockerUse, Hosting};

pub use crate::targets::Target;
use crate::targets::{self, Context};

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

/// Why sysbox cannot serve a compose file deployed as a Swarm stack.
pub const SWARM_NO_RUNTIME: &str = "deployed as a Swarm stack: `docker stack deploy` cannot set a per-service `runtime` (Swarm services take the engine's default runtime) and ignores `depends_on` (https://docs.docker.com/reference/cli/docker/stack/deploy/, https://docs.docker.com/reference/compose-file/deploy/); sysbox would have to become the default runtime of every node";

/// Which targets can work for a pipeline, and why the others cannot.
pub fn options(
    usage: &BTreeSet<DockerUse>,
    hosting: Hosting,
    env: &Environment,
) -> Vec<TargetOption> {
    let cx = Context {
        usage,
        hosting,
        env,
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
