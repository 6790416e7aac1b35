//! `.depriv.toml`: suppressions, excluded paths and the environment answers (runner hosts,
//! sysbox, registry) that shape recommendations. Missing file = defaults.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

/// Errors reading `.depriv.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("invalid configuration: {message} ({path}:{line}:{column})")]
    Parse {
        /// Path.
        path: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// Where the runners of the repository's pipelines run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RunnerHosts {
    /// Hosts the team installs and manages (sysbox can be installed).
    #[default]
    SelfManaged,
    /// SaaS runners nobody here can change (GitLab.com shared, GitHub-hosted).
    Managed,
    /// Runners in a Kubernetes cluster.
    Kubernetes,
}

/// Answers about the environment that decide which targets can work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Environment {
    /// Where runners run.
    #[serde(default)]
    pub runner_hosts: RunnerHosts,
    /// Whether sysbox is installed (or may be installed) on the runner hosts.
    #[serde(default)]
    pub sysbox: Option<bool>,
    /// The registry images are pushed to.
    #[serde(default)]
    pub registry: Option<String>,
    /// Whether a registry build cache should be configured.
    #[serde(default)]
    pub build_cache: Option<bool>,
    /// The runner tag that sends GitLab jobs to sysbox runners (`sysbox` when not given).
    #[serde(default)]
    pub sysbox_tag: Option<String>,
}

/// The sysbox runner tag when none is given.
pub const DEFAULT_SYSBOX_TAG: &str = "sysbox";

impl Environment {
    /// The runner tag GitLab jobs moved to sysbox carry: the answer, else `sysbox`.
    pub fn sysbox_tag(&self) -> &str {
        self.sysbox_tag
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_SYSBOX_TAG)
    }
}

/// The parsed `.depriv.toml`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Glob → rule ids (`"*"` for all) to suppress.
    #[serde(default)]
    pub ignore: BTreeMap<String, Vec<String>>,
    /// Globs of paths not to scan at all.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Environment answers.
    #[serde(default)]
    pub environment: Environment,
    /// Which test fixtures and vendored examples a migration rewrites (none by default).
    #[serde(default, rename = "include-fixtures")]
    pub include_fixtures: IncludeFixtures,
}

/// `include-fixtures`: `true` for every fixture, or globs of the fixtures to migrate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IncludeFixtures {
    /// All (`true`) or none (`false`).
    All(bool),
    /// Only the fixtures matching one of these globs.
    Globs(Vec<String>),
}

impl Default for IncludeFixtures {
    fn default() -> IncludeFixtures {
        IncludeFixtures::All(false)
    }
}

impl IncludeFixtures {
    /// Whether the fixture at `path` is migrated.
    pub fn includes(&self, path: &str) -> bool {
        match self {
            IncludeFixtures::All(b) => *b,
            IncludeFixtures::Globs(globs) => globs
                .iter()
                .filter_map(|g| Glob::new(g).ok())
                .any(|g| g.compile_matcher().is_match(path)),
        }
    }
}

impl Config {
    /// Read `<root>/.depriv.toml` if it exists.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let path = root.join(".depriv.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: ".depriv.toml".into(),
                    source,
                });
            }
        };
        Config::parse(&text)
    }

    /// Parse the text of a `.depriv.toml`.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml_edit::de::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| {
                    let before = text.get(..s.start).unwrap_or("");
                    let line = before.matches('\n').count() + 1;
                    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                    (line, col)
                })
                .unwrap_or((0, 0));
            ConfigError::Parse {
                path: ".depriv.toml".into(),
                line,
                column,
                message: e.message().to_string(),
            }
        })
    }

    /// Compiled matchers for `[ignore]`.
    pub fn ignore_matchers(&self) -> Vec<(GlobSet, Vec<String>)> {
        self.ignore
            .iter()
            .filter_map(|(pat, rules)| {
                let g = Glob::new(pat).ok()?;
                let mut b = GlobSetBuilder::new();
                b.add(g);
                Some((b.build().ok()?, rules.clone()))
            })
            .collect()
    }

    /// Compiled matcher for `exclude`.
    pub fn exclude_set(&self) -> GlobSet {
        let mut b = GlobSetBuilder::new();
        for p in &self.exclude {
            if let Ok(g) = Glob::new(p) {
                b.add(g);
            }
        }
        b.build().unwrap_or_else(|_| GlobSet::empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_fixtures_takes_a_flag_or_globs() {
        let none = Config::parse("").unwrap();
        assert!(!none.include_fixtures.includes("src/test/Jenkinsfile"));
        let all = Config::parse("include-fixtures = true\n").unwrap();
        assert!(all.include_fixtures.includes("src/test/Jenkinsfile"));
        let some = Config::parse("include-fixtures = [\"tests/e2e/**\"]\n").unwrap();
        assert!(
            some.include_fixtures
                .includes("tests/e2e/ci/.gitlab-ci.yml")
        );
        assert!(!some.include_fixtures.includes("src/test/Jenkinsfile"));
        let bad = Config::parse("include-fixtures = 3\n").unwrap_err();
        assert!(bad.to_string().contains(":1:"), "{bad}");
    }

    #[test]
    fn parses_ignore_and_environment() {
        let c = Config::parse(
            "exclude = [\"vendor/**\"]\n[ignore]\n\"ci/**\" = [\"privileged-dind\"]\n[environment]\nrunner-hosts = \"kubernetes\"\nsysbox = false\n",
        )
        .unwrap_or_default();
        assert_eq!(c.environment.runner_hosts, RunnerHosts::Kubernetes);
        assert_eq!(c.environment.sysbox, Some(false));
        assert_eq!(c.ignore.get("ci/**").map(|v| v.len()), Some(1));
        assert!(c.exclude_set().is_match("vendor/a/b.yml"));
        assert_eq!(c.environment.sysbox_tag(), "sysbox");
        let t =
            Config::parse("[environment]\nsysbox-tag = \"nested-docker\"\n").unwrap_or_default();
        assert_eq!(t.environment.sysbox_tag(), "nested-docker");
    }

    #[test]
    fn reports_position_of_errors() {
        match Config::parse("[environment]\nrunner-hosts = \"moon\"\n") {
            Err(ConfigError::Parse { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
