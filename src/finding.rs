//! Findings and diagnostics: what a scan reports, with severities, surfaces and the stable
//! fingerprint that survives unrelated lines moving.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::source::{LineCol, Span};
use crate::vocab::DockerUse;
pub use crate::vocab::Surface;

/// How bad a finding is.
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
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Minor.
    Low,
    /// Weakens isolation.
    Medium,
    /// Escape to the host is likely.
    High,
    /// Host root for anyone who controls the job.
    Critical,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// The CVSS-like score GitHub code scanning reads as `security-severity`.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Info => "0.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reported insecure pattern.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable rule id.
    pub rule: &'static str,
    /// Severity of the rule.
    pub severity: Severity,
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// Start line (1-based).
    pub line: usize,
    /// Start column (1-based, characters).
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column (exclusive, 1-based).
    pub end_column: usize,
    /// Surface of the pipeline the finding belongs to.
    pub surface: Surface,
    /// The pipeline (job, service, pod, runner) the finding belongs to.
    pub pipeline: Option<String>,
    /// File declaring that pipeline (differs from `path` for inherited constructs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_path: Option<String>,
    /// Every pipeline affected (an inherited construct affects several).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pipelines: Vec<String>,
    /// Every runnable pipeline affected, as (declaring path, name); templates only when no
    /// runnable pipeline inherits the construct. The plan makes one entry per pipeline here.
    #[serde(skip)]
    pub affected: Vec<(String, String)>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What the pipeline uses Docker for.
    pub docker_usage: BTreeSet<DockerUse>,
    /// The recommended target for the pipeline.
    pub recommended: Option<&'static str>,
    /// Line-insensitive identity.
    pub fingerprint: String,
    /// Suppressed by a comment or `.depriv.toml`.
    pub suppressed: bool,
    /// Why it is suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
    /// The file is a test fixture or a vendored example (see [`crate::fixture`]): reported,
    /// but not migrated unless asked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixture: bool,
    /// A fixture that `--include-fixtures` / `include-fixtures` asks to migrate.
    #[serde(skip)]
    pub fixture_included: bool,
    /// Byte span in the file.
    #[serde(skip)]
    pub span: Span,
}

impl Finding {
    /// Sort key: (path, line, column, rule).
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.path, self.line, self.column, self.rule)
    }
    /// Start position.
    pub fn start(&self) -> LineCol {
        LineCol {
            line: self.line,
            column: self.column,
        }
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagLevel {
    /// Informational (e.g. a remote include not followed).
    Note,
    /// Something skipped or suspicious (a suppression without reason).
    Warning,
    /// A file that could not be scanned.
    Error,
}

/// A problem with the input rather than an insecure pattern.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    /// Path relative to the root.
    pub path: String,
    /// 1-based line, 0 when the whole file is meant.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Level.
    pub level: DiagLevel,
    /// What happened.
    pub message: String,
}

/// A line-insensitive fingerprint: rule, path, pipeline and the trimmed text of the offending
/// line, plus the occurrence index among identical tuples.
pub fn fingerprint(rule: &str, path: &str, pipeline: &str, line_text: &str, nth: usize) -> String {
    let mut h = Sha256::new();
    for part in [rule, path, pipeline, line_text.trim()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(nth.to_le_bytes());
    let digest = h.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_content_not_position() {
        let a = fingerprint("privileged-dind", "a.yml", "build", "  - docker:dind", 0);
        let b = fingerprint("privileged-dind", "a.yml", "build", "- docker:dind  ", 0);
        let c = fingerprint("privileged-dind", "a.yml", "test", "  - docker:dind", 0);
        let d = fingerprint("privileged-dind", "a.yml", "build", "  - docker:dind", 1);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn severity_order() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!(Surface::parse("runner-toml"), Some(Surface::RunnerToml));
    }
}
