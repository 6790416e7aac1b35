//! Rewriters: turn one pipeline's findings into byte edits for a chosen target, rendering the
//! new configuration from `templates/`. One module per surface; each returns an [`Outcome`]
//! (edits, manual tasks for what lies outside the repository, notes, a status) and never
//! touches the disk. The engine in [`crate::migrate`] verifies and diffs the result.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod common;
pub mod compose;
pub mod daemon;
pub mod github;
pub mod gitlab;
pub mod jenkins;
pub mod kube;
pub mod runner;
pub mod translate;
pub mod yaml_edit;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::config::Environment;
use crate::edit::Edit;
use crate::finding::{Finding, Surface};
use crate::plan::Target;
use crate::scan::PipelineSummary;
use crate::templates::Templates;

/// How far a pipeline got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every finding addressed by edits.
    Migrated,
    /// Some findings addressed; the rest are manual tasks.
    Partial,
    /// Nothing to edit in the repository; manual tasks say what to do.
    Manual,
    /// The target cannot be applied to this pipeline by depriv.
    Unsupported,
    /// The user chose to leave it.
    Skipped,
}

impl Status {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Migrated => "migrated",
            Status::Partial => "partial",
            Status::Manual => "manual",
            Status::Unsupported => "unsupported",
            Status::Skipped => "skipped",
        }
    }
}

/// Something a person must do outside the repository (or could not be automated).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ManualTask {
    /// One line: what to do.
    pub title: String,
    /// Where (a runner host, a cluster, a file).
    pub location: String,
    /// The exact snippet to apply.
    pub snippet: String,
    /// Snippet language for rendering (`toml`, `yaml`, `json`, `sh`).
    pub lang: String,
}

/// What a rewriter produced for one pipeline.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Byte edits (any file of the repository).
    pub edits: Vec<Edit>,
    /// Manual tasks.
    pub manual: Vec<ManualTask>,
    /// Notes for the user (warnings, pitfalls).
    pub notes: Vec<String>,
    /// Fingerprints of the findings the edits address.
    pub addressed: Vec<String>,
    /// Set when the rewriter decides the status itself (else derived).
    pub status: Option<Status>,
}

/// Reads repository files for rewriters (root-relative paths).
pub trait Files {
    /// The text of a file, if it exists and is readable.
    fn text(&self, path: &str) -> Option<Arc<str>>;
    /// Every scanned YAML path (for GitLab include resolution).
    fn yaml_paths(&self) -> Vec<String>;
}

/// In-memory files (tests, verification passes).
#[derive(Clone, Debug, Default)]
pub struct MemFiles(pub BTreeMap<String, Arc<str>>);

impl Files for MemFiles {
    fn text(&self, path: &str) -> Option<Arc<str>> {
        self.0.get(path).cloned()
    }
    fn yaml_paths(&self) -> Vec<String> {
        self.0
            .keys()
            .filter(|p| p.ends_with(".yml") || p.ends_with(".yaml"))
            .cloned()
            .collect()
    }
}

/// One pipeline to rewrite.
pub struct Request<'a> {
    /// The pipeline.
    pub pipeline: &'a PipelineSummary,
    /// The chosen target.
    pub target: Target,
    /// Its active findings (in any file).
    pub findings: Vec<&'a Finding>,
    /// Environment answers.
    pub env: &'a Environment,
    /// Templates in force.
    pub templates: &'a Templates,
    /// Repository files.
    pub files: &'a dyn Files,
}

/// Rewrite one pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    match req.pipeline.surface {
        Surface::GitlabCi => gitlab::rewrite(req),
        Surface::GithubActions => github::rewrite(req),
        Surface::Compose => compose::rewrite(req),
        Surface::Kubernetes => kube::rewrite(req),
        Surface::RunnerToml => runner::rewrite(req),
        Surface::DaemonJson => daemon::rewrite(req),
        Surface::Jenkins => jenkins::rewrite(req),
        Surface::Shell | Surface::Other => unsupported(req),
    }
}

/// The outcome for a pipeline depriv cannot rewrite: every finding becomes a manual task.
pub fn unsupported(req: &Request<'_>) -> Outcome {
    let mut o = Outcome {
        status: Some(Status::Unsupported),
        ..Outcome::default()
    };
    for f in &req.findings {
        o.manual.push(ManualTask {
            title: format!(
                "{}: {} (move to {})",
                f.rule,
                f.message,
                req.target.as_str()
            ),
            location: format!("{}:{}", f.path, f.line),
            snippet: String::new(),
            lang: String::new(),
        });
    }
    o
}

/// Render a template or turn the error into a note (never a panic, never a half edit).
pub fn render<S: Serialize>(
    req: &Request<'_>,
    name: &str,
    ctx: &S,
    o: &mut Outcome,
) -> Option<String> {
    match req.templates.render(name, ctx) {
        Ok(s) => Some(s),
        Err(e) => {
            o.notes.push(format!("template error: {e}"));
            o.status = Some(Status::Unsupported);
            None
        }
    }
}
