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
    if hosting == Hosting::GithubHosted {
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
