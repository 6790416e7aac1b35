//! Shared vocabulary: the small enums that findings, the model, plans and reports all speak
//! (which platform a file belongs to, what a pipeline uses Docker for). A leaf: it imports
//! nothing else of the crate, so every module can use it without depending on the others.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The platform a file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Surface {
    /// `.gitlab-ci.yml` and what it includes.
    GitlabCi,
    /// `.github/workflows/*.yml`, `action.yml`.
    GithubActions,
    /// Jenkinsfile, Job DSL.
    Jenkins,
    /// docker-compose files.
    Compose,
    /// Kubernetes manifests and Helm values.
    Kubernetes,
    /// GitLab Runner `config.toml`.
    RunnerToml,
    /// Docker `daemon.json`.
    DaemonJson,
    /// Shell scripts and Makefiles.
    Shell,
    /// Other CI systems (detect only).
    Other,
}

impl Surface {
    /// The stable name used in JSON and the corpus.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::GitlabCi => "gitlab-ci",
            Surface::GithubActions => "github-actions",
            Surface::Jenkins => "jenkins",
            Surface::Compose => "compose",
            Surface::Kubernetes => "kubernetes",
            Surface::RunnerToml => "runner-toml",
            Surface::DaemonJson => "daemon-json",
            Surface::Shell => "shell",
            Surface::Other => "other",
        }
    }
    /// Every surface.
    pub const ALL: [Surface; 9] = [
        Surface::GitlabCi,
        Surface::GithubActions,
        Surface::Jenkins,
        Surface::Compose,
        Surface::Kubernetes,
        Surface::RunnerToml,
        Surface::DaemonJson,
        Surface::Shell,
        Surface::Other,
    ];
    /// Parse a surface name.
    pub fn parse(s: &str) -> Option<Surface> {
        Surface::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a pipeline uses Docker for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DockerUse {
    /// `docker build`, `buildx build`.
    Build,
    /// `docker push`.
    Push,
    /// `docker login`.
    Login,
    /// More than one platform, manifests.
    MultiArch,
    /// Runs containers: `docker run/exec`, compose up, Testcontainers, service containers.
    Run,
}

impl DockerUse {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DockerUse::Build => "build",
            DockerUse::Push => "push",
            DockerUse::Login => "login",
            DockerUse::MultiArch => "multi-arch",
            DockerUse::Run => "run",
        }
    }
}
