//! The UI's whole state: which screen is shown, what the engine returned (scan, plan,
//! preview, write report) and each screen's cursor, filters and scroll positions. Plain data:
//! [`super::update`] changes it, [`super::view`] draws it.

use std::collections::VecDeque;
use std::sync::Arc;

use ratatui::layout::Rect;

use crate::config::Environment;
use crate::migrate::{MigrationPlan, PipelinePlan, Preview};
use crate::plan::Choice;
use crate::report::migration::ReportFormat;
use crate::scan::ScanResult;
use crate::write::WriteReport;

use super::diffdoc::DiffDoc;
use super::index::{Filter, Index};
use super::layout;
use super::vocab::{Action, Guard};

/// The screens, in the order the flow visits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Walking and scanning.
    Scanning,
    /// Pipelines and findings.
    Overview,
    /// One finding.
    Detail,
    /// Environment questions.
    Environment,
    /// Target per pipeline.
    Targets,
    /// The diff.
    Diff,
    /// Confirm and write.
    Confirm,
    /// What changed, report, plan.
    Report,
}

impl Screen {
    /// The step of the flow the screen belongs to (0-based) and the step names.
    pub fn step(self) -> usize {
        match self {
            Screen::Scanning => 0,
            Screen::Overview | Screen::Detail => 1,
            Screen::Environment => 2,
            Screen::Targets => 3,
            Screen::Diff => 4,
            Screen::Confirm => 5,
            Screen::Report => 6,
        }
    }
}

/// Names of the steps, for the title bar.
pub const STEPS: [&str; 7] = [
    "Scan",
    "Overview",
    "Environment",
    "Targets",
    "Diff",
    "Write",
    "Report",
];

/// A dialog drawn over the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Every key of the screen.
    Help,
    /// "Quit and lose the decisions?" — `quit` is the highlighted answer.
    Quit {
        /// Whether "quit" (rather than "stay") is highlighted.
        quit: bool,
    },
}

/// How a status message reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Something done.
    Done,
    /// A warning.
    Warn,
    /// An error.
    Error,
}

/// The status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Level.
    pub level: Level,
    /// Text.
    pub text: String,
}

/// Scanning progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Candidate files found by the walk.
    pub discovered: Option<usize>,
    /// Files read by the scan so far.
    pub read: usize,
}

/// Which overview pane has the keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    /// The pipelines list.
    #[default]
    Pipelines,
    /// The findings of the selected pipeline.
    Findings,
}

/// The overview.
#[derive(Clone, Debug, Default)]
pub struct OverviewState {
    /// Filters.
    pub filter: Filter,
    /// Grouped findings under the filter.
    pub index: Index,
    /// Selected row of `index.rows` (a pipeline row when there is one).
    pub sel: usize,
    /// First visible row.
    pub offset: usize,
    /// Pane with the keys.
    pub focus: Focus,
    /// Selected finding of the selected pipeline.
    pub fsel: usize,
    /// First visible finding.
    pub foffset: usize,
    /// Typing a search.
    pub searching: bool,
    /// Surfaces present in the scan (filter cycle).
    pub surfaces: Vec<crate::finding::Surface>,
    /// Rules present in the scan (filter cycle).
    pub rules: Vec<&'static str>,
}

/// The finding detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailState {
    /// Index into `ScanResult::findings`.
    pub finding: usize,
    /// Findings to step through with n/p (the selected pipeline's).
    pub siblings: Vec<usize>,
    /// First visible line.
    pub scroll: usize,
}

/// Question indices of the environment screen.
pub const ENV_HOSTS: usize = 0;
/// Sysbox question.
pub const ENV_SYSBOX: usize = 1;
/// Registry question.
pub const ENV_REGISTRY: usize = 2;
/// Build cache question.
pub const ENV_CACHE: usize = 3;
/// Sysbox runner tag question.
pub const ENV_SYSBOX_TAG: usize = 4;
/// Number of questions.
pub const ENV_QUESTIONS: usize = 5;

/// The environment questions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvState {
    /// Current answers.
    pub env: Environment,
    /// The answers `.depriv.toml` gave (what `--accept-defaults` uses).
    pub original: Environment,
    /// Highlighted question.
    pub sel: usize,
    /// Text being edited (registry or sysbox runner tag, the highlighted question).
    pub editing: Option<String>,
    /// What the scan suggests, one line per hint.
    pub hints: Vec<String>,
    /// The answers were saved to `.depriv.toml`.
    pub saved: bool,
}

/// The target picker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetsState {
    /// Selected pipeline (index into the plan).
    pub sel: usize,
    /// First visible pipeline.
    pub offset: usize,
    /// Highlighted option (index into [`choices`]).
    pub opt: usize,
}

/// Unified or side-by-side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiffMode {
    /// One column with `+`/`-` lines.
    #[default]
    Unified,
    /// Old and new next to each other.
    SideBySide,
}

/// One changed file in the diff viewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffFile {
    /// Root-relative path.
    pub path: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// The parsed diff.
    pub doc: DiffDoc,
}

/// A file the user skipped: the pipelines whose edits touch it were set to skip, with what
/// they were before (to accept the file again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// Root-relative path.
    pub path: String,
    /// `(declaring path, pipeline, previous choice, previous why)`.
    pub restore: Vec<(String, String, Choice, String)>,
}

/// The diff viewer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffState {
    /// Files the plan changes.
    pub files: Vec<DiffFile>,
    /// Files the user skipped.
    pub skipped: Vec<SkippedFile>,
    /// Selected entry: `files` first, then `skipped`.
    pub sel: usize,
    /// Mode.
    pub mode: DiffMode,
    /// First visible diff row.
    pub scroll: usize,
    /// Columns scrolled to the right.
    pub hscroll: usize,
}

/// Confirm and write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfirmState {
    /// `false` = "write" highlighted, `true` = "back".
    pub back: bool,
    /// The last failure, naming the file and reason.
    pub error: Option<String>,
    /// The guard that refused, when the user may override it.
    pub guard: Option<Guard>,
}

/// An entry of the report screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportAction {
    /// Write the migration report in a format.
    Write(ReportFormat),
    /// Save the plan (`--save-plan` format).
    SavePlan,
    /// Leave.
    Quit,
}

impl ReportAction {
    /// What the entry says.
    pub fn label(self) -> &'static str {
        match self {
            ReportAction::Write(ReportFormat::Md) => "Write the Markdown report",
            ReportAction::Write(ReportFormat::Html) => "Write the HTML report",
            ReportAction::Write(ReportFormat::Json) => "Write the JSON report",
            ReportAction::Write(ReportFormat::Sarif) => "Write the SARIF report",
            ReportAction::SavePlan => "Save the plan to replay in CI",
            ReportAction::Quit => "Quit",
        }
    }
}

/// Entries of the report screen, in order.
pub const REPORT_ACTIONS: [ReportAction; 6] = [
    ReportAction::Write(ReportFormat::Md),
    ReportAction::Write(ReportFormat::Html),
    ReportAction::Write(ReportFormat::Json),
    ReportAction::Write(ReportFormat::Sarif),
    ReportAction::SavePlan,
    ReportAction::Quit,
];

/// The report screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportState {
    /// Highlighted entry of [`REPORT_ACTIONS`].
    pub sel: usize,
    /// Reports written (root-relative paths).
    pub reports: Vec<String>,
    /// Where the plan was saved.
    pub plan: Option<String>,
    /// First visible summary line.
    pub scroll: usize,
}

/// A choice offered for one pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChoiceRow {
    /// The choice.
    pub choice: Choice,
    /// Why it cannot work, when it cannot.
    pub infeasible: Option<String>,
    /// One-line trade-off (targets only).
    pub trade_off: &'static str,
    /// Residual risk (targets only).
    pub residual_risk: &'static str,
    /// The recommended target.
    pub recommended: bool,
}

/// Whether depriv only detects on this pipeline's surface (Drone, Woodpecker, …): a target
/// choice is recorded, but nothing is rewritten.
pub fn detect_only(p: &PipelinePlan) -> bool {
    p.pipeline.surface == crate::finding::Surface::Other
}

/// The choices for a pipeline: every target (feasible or not), then skip and manual.
pub fn choices(p: &PipelinePlan) -> Vec<ChoiceRow> {
    let mut out: Vec<ChoiceRow> = p
        .options
        .iter()
        .map(|o| ChoiceRow {
            choice: Choice::from(o.target),
            infeasible: o.infeasible.clone(),
            trade_off: o.trade_off,
            residual_risk: o.residual_risk,
            // A detect-only surface has no rewriter: no target is applied there, so none is
            // recommended.
            recommended: match &p.advice {
                Some((a, _)) => *a == Choice::from(o.target),
                None => o.target == p.recommended && !detect_only(p),
            },
        })
        .collect();
    if p.advice.as_ref().is_some_and(|(a, _)| *a == Choice::Device) {
        out.push(ChoiceRow {
            choice: Choice::Device,
            infeasible: None,
            trade_off: "replace privileged with /dev/kvm, the one device the container needs",
            residual_risk: "the container keeps access to KVM only",
            recommended: true,
        });
    }
    out.push(ChoiceRow {
        choice: Choice::Skip,
        infeasible: None,
        trade_off: "leave the pipeline as it is; its findings remain",
        residual_risk: "unchanged",
        recommended: false,
    });
    out.push(ChoiceRow {
        choice: Choice::Manual,
        infeasible: None,
        trade_off: "nothing is edited; the report lists it as a task for a person",
        residual_risk: "unchanged until someone does it",
        recommended: p.advice.as_ref().is_some_and(|(a, _)| *a == Choice::Manual),
    });
    out
}

/// The whole state.
#[derive(Clone, Debug)]
pub struct Model {
    /// The repository as the user named it.
    pub root: String,
    /// Current screen.
    pub screen: Screen,
    /// Dialog over it.
    pub overlay: Option<Overlay>,
    /// Terminal size.
    pub size: (u16, u16),
    /// Monochrome theme.
    pub mono: bool,
    /// Ticks seen (spinner).
    pub tick: u64,
    /// Disk work running, with what it is.
    pub busy: Option<String>,
    /// Keys pressed while busy, replayed when the work is done.
    pub queued: VecDeque<Action>,
    /// Status line.
    pub status: Option<Status>,
    /// Leave the loop.
    pub quit: bool,
    /// The user changed an answer or a decision.
    pub changed: bool,
    /// Scanning progress.
    pub progress: ScanProgress,
    /// The scan.
    pub scan: Option<Arc<ScanResult>>,
    /// Overview.
    pub overview: OverviewState,
    /// Finding detail.
    pub detail: DetailState,
    /// Environment questions.
    pub env: EnvState,
    /// The plan.
    pub plan: Option<MigrationPlan>,
    /// Target picker.
    pub targets: TargetsState,
    /// The verified preview of the plan.
    pub preview: Option<Arc<Preview>>,
    /// Diff viewer.
    pub diff: DiffState,
    /// Confirm and write.
    pub confirm: ConfirmState,
    /// What the transaction wrote (`Some` once the write step is done, even when nothing
    /// needed writing).
    pub written: Option<WriteReport>,
    /// Report screen.
    pub report: ReportState,
    /// How the user runs depriv, for suggested commands (`depriv undo …`).
    pub invocation: String,
    /// Manual tasks the report of the current preview lists.
    pub manual_tasks: Option<usize>,
}

impl Model {
    /// A model for `root` with the answers of `.depriv.toml`.
    pub fn new(root: &str, env: Environment, mono: bool) -> Model {
        Model {
            root: root.to_string(),
            screen: Screen::Scanning,
            overlay: None,
            size: (80, 24),
            mono,
            tick: 0,
            busy: Some("Scanning".into()),
            queued: VecDeque::new(),
            status: None,
            quit: false,
            changed: false,
            progress: ScanProgress::default(),
            scan: None,
            overview: OverviewState::default(),
            detail: DetailState::default(),
            env: EnvState {
                env: env.clone(),
                original: env,
                ..EnvState::default()
            },
            plan: None,
            targets: TargetsState::default(),
            preview: None,
            diff: DiffState::default(),
            confirm: ConfirmState::default(),
            written: None,
            report: ReportState::default(),
            invocation: "depriv".to_string(),
            manual_tasks: None,
        }
    }

    /// Whether a text field has the keys.
    pub fn editing(&self) -> bool {
        (self.screen == Screen::Overview && self.overview.searching)
            || (self.screen == Screen::Environment && self.env.editing.is_some())
    }

    /// Whether quitting now would lose work: decisions the user made, or a walk through the
    /// targets, the diff or the confirmation that has not been written yet.
    pub fn decisions_at_risk(&self) -> bool {
        self.written.is_none()
            && (self.changed
                || matches!(
                    self.screen,
                    Screen::Targets | Screen::Diff | Screen::Confirm
                ))
    }

    /// The areas of the current terminal size.
    pub fn frame(&self) -> layout::Areas {
        layout::areas(Rect::new(0, 0, self.size.0, self.size.1))
    }

    /// The selected pipeline of the plan.
    pub fn target_pipeline(&self) -> Option<&PipelinePlan> {
        self.plan
            .as_ref()
            .and_then(|p| p.pipelines.get(self.targets.sel))
    }

    /// Manual tasks of the current preview, as the report counts them (a task shared by
    /// several pipelines once).
    pub fn manual_task_count(&self) -> usize {
        if let Some(n) = self.manual_tasks {
            return n;
        }
        let Some(p) = &self.preview else {
            return 0;
        };
        let mut seen = std::collections::BTreeSet::new();
        for t in p.results.iter().flat_map(|r| r.manual.iter()) {
            seen.insert((&t.title, &t.location, &t.snippet));
        }
        seen.len()
    }

    /// Changes that will be written.
    pub fn pending_files(&self) -> usize {
        self.preview.as_ref().map_or(0, |p| p.changes.len())
    }
}
