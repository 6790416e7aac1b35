//! Messages into [`super::update::update`] (keys already translated by the key table, terminal
//! events, results of disk work) and the effects it asks the loop to run. An effect is the
//! only way the UI touches the disk; its result comes back as a message.

use std::sync::Arc;

use crate::config::Environment;
use crate::migrate::{MigrationPlan, Preview};
use crate::plan::PlanFile;
use crate::report::migration::ReportFormat;
use crate::scan::ScanResult;
use crate::write::{Replacement, WriteReport};

use super::diffdoc::DiffDoc;
use super::vocab::{Action, Guard, Input};

/// A failed write: the engine's message (it names the file and the reason).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteFailure {
    /// What went wrong.
    pub message: String,
    /// Set when the guard refused (nothing was attempted).
    pub guard: Option<Guard>,
}

/// Which file an output effect wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// `.depriv.toml`.
    Config,
    /// The migration report.
    Report,
    /// The saved plan.
    Plan,
}

/// Everything that can change the model.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A key of the key table.
    Action(Action),
    /// Text input while a field is being edited.
    Input(Input),
    /// The terminal was resized.
    Resize(u16, u16),
    /// Mouse wheel: rows to scroll (negative = up).
    Wheel(i16),
    /// Time passed (spinner).
    Tick,
    /// The walk found this many candidate files.
    Discovered(usize),
    /// This many files have been read by the scan so far.
    Progress(usize),
    /// The scan finished.
    Scanned(Arc<ScanResult>),
    /// A plan was made for the environment answers.
    Planned(Box<MigrationPlan>),
    /// The plan was rewritten, verified and diffed; one parsed diff per changed file (built
    /// off the UI thread, see [`Msg::previewed`]).
    Previewed(Arc<Preview>, Vec<DiffDoc>),
    /// The transaction finished.
    Written(Result<WriteReport, WriteFailure>),
    /// An output file was written (its root-relative path) or not (why).
    Saved(Output, Result<String, String>),
    /// How many manual tasks the report of the coming preview lists (sent just before
    /// [`Msg::Previewed`], so the UI counts what the report counts).
    ManualTasks(usize),
}

impl Msg {
    /// The message for a preview, with each changed file's diff parsed for the viewer.
    pub fn previewed(p: Preview) -> Msg {
        let docs = p
            .changes
            .iter()
            .map(|c| DiffDoc::parse(&c.unified_diff()))
            .collect();
        Msg::Previewed(Arc::new(p), docs)
    }
}

/// Disk work for the loop to run; the result comes back as a [`Msg`].
#[derive(Clone, Debug)]
pub enum Effect {
    /// Walk and scan the repository.
    Scan,
    /// Stop a running scan.
    CancelScan,
    /// Use these environment answers and plan the migration of a scan.
    Plan {
        /// The answers.
        env: Environment,
        /// The scan to plan.
        scan: Arc<ScanResult>,
    },
    /// Rewrite, verify and diff a plan.
    Preview {
        /// The decisions.
        plan: Box<MigrationPlan>,
        /// The scan they were made on.
        scan: Arc<ScanResult>,
    },
    /// The engine's transaction.
    Write {
        /// Files to replace.
        files: Vec<Replacement>,
        /// Override a dirty working tree.
        allow_dirty: bool,
        /// Override a directory outside version control.
        allow_no_vcs: bool,
    },
    /// Save the answers into `.depriv.toml`.
    SaveConfig(Environment),
    /// Write the migration report.
    WriteReport {
        /// What the migration did.
        preview: Arc<Preview>,
        /// Whether it was written.
        written: bool,
        /// Format (the file is `depriv-report.<ext>` in the repository).
        format: ReportFormat,
    },
    /// Save the plan (`--save-plan` format).
    SavePlan(PlanFile),
}
