//! The migration report: one model ([`Report`]) that the Markdown, JSON, SARIF and HTML
//! renderers share. It is built from a scan, a plan and a previewed migration ([`build`]);
//! [`assess`] makes one before any migration (what would change), [`after_migration`] one
//! after it (what changed, read from the journal of the last `migrate`), and [`for_repository`]
//! picks between them. Everything except the `for_*`/`assess`/`after_*` entry points and
//! [`evidence_from_disk`] is pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Config, Environment, RunnerHosts};
use crate::discover;
use crate::edit::Edit;
use crate::finding::{DiagLevel, Finding, Severity, Surface};
use crate::migrate::{
    self, FileChange, MigrationPlan, PipelinePlan, PipelineResult, Preview, Strategy,
};
use crate::model::{DockerUse, Hosting};
use crate::plan::{ALL_TARGETS, PlanFile, Target};
use crate::rewrite::{Files, ManualTask, Status};
use crate::scan::ScanResult;
use crate::session::Session;
use crate::source::LineIndex;
use crate::templates::Templates;
use crate::write::{self, RecordedMigration};

use super::guide::{self, HostContext};
use super::strategies::{self, Evidence, PipelineState, StrategyReport};

/// Version of the report format (JSON `version`); fields may be added, never renamed.
pub const VERSION: u32 = 1;

/// Report formats (`depriv report --format`, `migrate --report FILE` by extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown for GitHub and GitLab.
    Md,
    /// JSON (schema in `assets/schema/report-v1.schema.json`).
    Json,
    /// SARIF 2.1.0 with fixes.
    Sarif,
    /// One self-contained HTML page.
    Html,
}

impl ReportFormat {
    /// The format a file name asks for (`.md`, `.markdown`, `.json`, `.sarif`, `.html`, `.htm`).
    pub fn from_path(path: &Path) -> Option<ReportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(ReportFormat::Md),
            "json" => Some(ReportFormat::Json),
            "sarif" => Some(ReportFormat::Sarif),
            "html" | "htm" => Some(ReportFormat::Html),
            _ => None,
        }
    }

    /// Render a report in this format.
    pub fn render(self, r: &Report) -> String {
        match self {
            ReportFormat::Md => super::markdown::render_report(r),
            ReportFormat::Json => super::json_report::render(r),
            ReportFormat::Sarif => super::sarif_report::render(r),
            ReportFormat::Html => super::html::render(r),
        }
    }
}

/// Before or after a migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Nothing written yet: what a migration would change.
    Assessment,
    /// After `migrate`: what it changed.
    Migration,
}

/// The tool that wrote the report.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    /// `depriv`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

/// A risk level with its explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// Highest severity, `None` when nothing is left.
    pub level: Option<Severity>,
    /// Why.
    pub text: String,
}

/// A finding as reports show it.
#[derive(Clone, Debug, Serialize)]
pub struct FindingReport {
    /// Rule id.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Path.
    pub path: String,
    /// Start line.
    pub line: usize,
    /// Start column.
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column (exclusive).
    pub end_column: usize,
    /// Message.
    pub message: String,
    /// Pipeline.
    pub pipeline: Option<String>,
    /// Line-insensitive fingerprint.
    pub fingerprint: String,
    /// Whether the migration addresses it (would address it, for an assessment).
    pub addressed: bool,
    /// In a test fixture or vendored example (not migrated unless asked).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixture: bool,
}

impl FindingReport {
    fn of(f: &Finding, addressed: bool) -> FindingReport {
        FindingReport {
            rule: f.rule,
            severity: f.severity,
            path: f.path.clone(),
            line: f.line,
            column: f.column,
            end_line: f.end_line,
            end_column: f.end_column,
            message: f.message.clone(),
            pipeline: f.pipeline.clone(),
            fingerprint: f.fingerprint.clone(),
            addressed,
            fixture: f.fixture,
        }
    }
}

/// A target as an option for one pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct OptionReport {
    /// Target.
    pub target: Target,
    /// Why not, when infeasible.
    pub infeasible: Option<String>,
    /// Trade-off.
    pub trade_off: &'static str,
    /// Residual risk.
    pub residual_risk: &'static str,
}

/// A file a pipeline's edits touch, with line counts.
#[derive(Clone, Debug, Serialize)]
pub struct FileLines {
    /// Path.
    pub path: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
}

/// One pipeline of the report.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineReport {
    /// 1-based position (anchors).
    pub id: usize,
    /// Name.
    pub name: String,
    /// Declaring path.
    pub path: String,
    /// Declaration line.
    pub line: usize,
    /// Surface.
    pub surface: Surface,
    /// Where it runs.
    pub hosting: Hosting,
    /// What it uses Docker for.
    pub docker_usage: Vec<DockerUse>,
    /// The chosen target, `skip` or `manual`.
    pub target: &'static str,
    /// The recommended target, or the advice for a container privileged for its workload
    /// (`device`, `manual`).
    pub recommended: &'static str,
    /// Why this target.
    pub why: String,
    /// Outcome.
    pub status: Status,
    /// Its findings before the migration.
    pub findings: Vec<FindingReport>,
    /// How many of them the migration addresses.
    pub findings_addressed: usize,
    /// Files its edits touch.
    pub files: Vec<FileLines>,
    /// Risk before.
    pub risk_before: Risk,
    /// Risk after.
    pub risk_after: Risk,
    /// Notes (pitfalls, dropped edits).
    pub notes: Vec<String>,
    /// Ids of its manual tasks.
    pub manual_tasks: Vec<usize>,
    /// Other pipelines sharing a construct with it.
    pub shared_with: Vec<String>,
    /// Every target with feasibility.
    pub options: Vec<OptionReport>,
    /// Why its file is a test fixture or vendored example, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// Why it is deployed as a Swarm stack service, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<String>,
}

/// Where a manual task comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// A rewriter could not do it in the repository.
    Pipeline,
    /// Host or cluster preparation the chosen target needs.
    Host,
}

/// A manual task with its exact snippet.
#[derive(Clone, Debug, Serialize)]
pub struct TaskReport {
    /// 1-based id.
    pub id: usize,
    /// What to do.
    pub title: String,
    /// Where.
    pub location: String,
    /// Snippet language.
    pub lang: String,
    /// The snippet (may be empty).
    pub snippet: String,
    /// Kind.
    pub kind: TaskKind,
    /// The target it prepares (host tasks).
    pub target: Option<Target>,
    /// Pipelines it concerns.
    pub pipelines: Vec<String>,
}

/// One troubleshooting entry.
#[derive(Clone, Debug, Serialize)]
pub struct TroubleshootingItem {
    /// Symptom.
    pub title: &'static str,
    /// Remedy.
    pub text: &'static str,
}

/// Troubleshooting for one chosen target.
#[derive(Clone, Debug, Serialize)]
pub struct TroubleshootingReport {
    /// Target.
    pub target: Target,
    /// Title.
    pub title: &'static str,
    /// Entries.
    pub items: Vec<TroubleshootingItem>,
}

/// One byte edit with its position in the original text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EditReport {
    /// First byte replaced.
    pub start_byte: usize,
    /// One past the last byte replaced.
    pub end_byte: usize,
    /// 1-based start line.
    pub start_line: usize,
    /// 1-based start column (characters).
    pub start_column: usize,
    /// 1-based end line.
    pub end_line: usize,
    /// 1-based end column (exclusive, characters).
    pub end_column: usize,
    /// Replacement text.
    pub text: String,
}

/// A file the migration writes (or would write).
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// Path.
    pub path: String,
    /// SHA-256 of the original.
    pub sha256_before: String,
    /// SHA-256 of the migrated text.
    pub sha256_after: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// Written to disk (else previewed).
    pub written: bool,
    /// Changed on disk since the migration wrote it.
    pub edited_since: bool,
    /// Unified diff.
    pub diff: String,
    /// The edits, positioned in the original.
    pub edits: Vec<EditReport>,
}

/// Pipelines per status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Statuses {
    /// Every finding addressed.
    pub migrated: usize,
    /// Some findings addressed.
    pub partial: usize,
    /// Left to manual tasks.
    pub manual: usize,
    /// Not rewritable by depriv.
    pub unsupported: usize,
    /// Left alone.
    pub skipped: usize,
}

impl Statuses {
    /// (status, count) in report order.
    pub fn pairs(&self) -> [(Status, usize); 5] {
        [
            (Status::Migrated, self.migrated),
            (Status::Partial, self.partial),
            (Status::Manual, self.manual),
            (Status::Unsupported, self.unsupported),
            (Status::Skipped, self.skipped),
        ]
    }
}

/// Totals.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Pipelines with findings.
    pub pipelines: usize,
    /// Active findings before.
    pub findings_before: usize,
    /// Findings the migration addresses.
    pub findings_addressed: usize,
    /// Active findings left after the migration.
    pub findings_remaining: usize,
    /// Files changed.
    pub files_changed: usize,
    /// Lines added.
    pub lines_added: usize,
    /// Lines removed.
    pub lines_removed: usize,
    /// Pipelines per status.
    pub statuses: Statuses,
    /// Manual tasks.
    pub manual_tasks: usize,
    /// Files that could not be scanned (so were not migrated); listed in the notes.
    pub files_not_scanned: usize,
    /// Highest severity before.
    pub risk_before: Option<Severity>,
    /// Highest severity after.
    pub risk_after: Option<Severity>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Always `depriv-report`.
    pub kind: &'static str,
    /// Producer.
    pub tool: Tool,
    /// Repository root as given.
    pub root: String,
    /// The repository's directory name (the heading names it; `root` may be `.`).
    pub repository: String,
    /// Assessment or migration.
    pub mode: Mode,
    /// Whether the changes are on disk.
    pub written: bool,
    /// Environment answers used.
    pub environment: Environment,
    /// Totals.
    pub summary: Summary,
    /// Per pipeline.
    pub pipelines: Vec<PipelineReport>,
    /// Manual tasks with snippets.
    pub manual_tasks: Vec<TaskReport>,
    /// Troubleshooting per chosen target.
    pub troubleshooting: Vec<TroubleshootingReport>,
    /// Per mitigation strategy: implemented and missing.
    pub strategies: Vec<StrategyReport>,
    /// Files written (or that would be), with hashes.
    pub files: Vec<FileReport>,
    /// Findings left after the migration.
    pub remaining: Vec<FindingReport>,
    /// Report-level notes.
    pub notes: Vec<String>,
    /// Problems with the input, as in `scan --format json`: files that could not be read or
    /// parsed (`error`), files skipped (`warning`), includes not followed (`note`).
    pub diagnostics: Vec<crate::finding::Diagnostic>,
}

/// What [`build`] needs.
pub struct Inputs<'a> {
    /// Root as given.
    pub root: &'a str,
    /// Environment answers.
    pub environment: &'a Environment,
    /// The scan before the migration.
    pub before: &'a ScanResult,
    /// The plan (findings, options, sharing per pipeline).
    pub plan: &'a MigrationPlan,
    /// The migration (choices, statuses, changes, remaining findings).
    pub preview: &'a Preview,
    /// Implementations read from the files as they are now.
    pub evidence: &'a Evidence,
    /// Assessment or migration.
    pub mode: Mode,
    /// Whether the changes are on disk.
    pub written: bool,
}

fn max_severity<'a>(it: impl Iterator<Item = &'a Severity>) -> Option<Severity> {
    it.copied().max()
}

fn same_place(a: &Finding, b: &Finding) -> bool {
    a.rule == b.rule && a.path == b.path && a.pipeline == b.pipeline
}

/// Positions of edits in the original text.
pub fn edit_reports(before: &str, edits: &[Edit]) -> Vec<EditReport> {
    let idx = LineIndex::new(before);
    edits
        .iter()
        .map(|e| {
            let s = idx.line_col(before, e.start);
            let t = idx.line_col(before, e.end.max(e.start));
            EditReport {
                start_byte: e.start,
                end_byte: e.end,
                start_line: s.line,
                start_column: s.column,
                end_line: t.line,
                end_column: t.column,
                text: e.text.clone(),
            }
        })
        .collect()
}

/// A line diff that gives up refining after two seconds (huge files stay bounded).
fn line_diff<'a>(before: &'a str, after: &'a str) -> similar::TextDiff<'a, 'a, 'a, str> {
    crate::migrate::line_diff(before, after)
}

/// Line-level edits turning `before` into `after` (for migrations recorded only as bytes).
pub fn edits_from_diff(path: &str, before: &str, after: &str) -> Vec<Edit> {
    let old_starts: Vec<usize> = std::iter::once(0)
        .chain(before.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let new_lines: Vec<&str> = after.split_inclusive('\n').collect();
    let at = |line: usize| -> usize {
        old_starts
            .get(line)
            .copied()
            .unwrap_or(before.len())
            .min(before.len())
    };
    let diff = line_diff(before, after);
    let mut out = Vec::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let old = op.old_range();
        let new = op.new_range();
        let text: String = new_lines
            .get(new.start..new.end)
            .map(|ls| ls.concat())
            .unwrap_or_default();
        out.push(Edit::replace(path, at(old.start), at(old.end), text));
    }
    out
}

fn file_report(c: &FileChange, written: bool) -> FileReport {
    FileReport {
        path: c.path.clone(),
        sha256_before: write::sha256(c.before.as_bytes()),
        sha256_after: write::sha256(c.after.as_bytes()),
        added: c.added,
        removed: c.removed,
        written,
        edited_since: false,
        diff: c.unified_diff(),
        edits: edit_reports(&c.before, &c.edits),
    }
}

fn risk_before(findings: &[FindingReport]) -> Risk {
    let level = max_severity(findings.iter().map(|f| &f.severity));
    let n = findings.len();
    Risk {
        level,
        text: format!(
            "{n} finding{}{}",
            if n == 1 { "" } else { "s" },
            level.map(|l| format!(", highest {l}")).unwrap_or_default()
        ),
    }
}

fn risk_after(r: &PipelineResult, findings: &[FindingReport], written: bool) -> Risk {
    let left = max_severity(
        findings
            .iter()
            .filter(|f| !f.addressed)
            .map(|f| &f.severity),
    );
    match (r.status, r.choice.target()) {
        (Status::Migrated | Status::Partial, Some(t)) => {
            let lvl = guide::residual_level(t);
            let level = Some(left.map_or(lvl, |l| l.max(lvl)));
            let mut text = r
                .residual_risk
                .map(str::to_string)
                .unwrap_or_else(|| guide::info(t).residual.to_string());
            if r.status == Status::Partial && r.addressed < r.findings {
                text = format!("{text}; findings remain until the manual tasks are done");
            } else if r.status == Status::Partial {
                text = format!(
                    "{text}; the pipeline needs its manual tasks before it works as migrated"
                );
            }
            Risk { level, text }
        }
        (Status::Skipped, _) => Risk {
            level: left,
            text: "unchanged: skipped".into(),
        },
        _ => Risk {
            level: left,
            text: if written {
                "unchanged until the manual tasks are done".into()
            } else {
                "unchanged: nothing to rewrite in the repository; see the manual tasks".into()
            },
        },
    }
}

fn host_context(
    env: &Environment,
    t: Target,
    rows: &[(&PipelineResult, Option<&PipelinePlan>)],
) -> HostContext {
    let mut ctx = HostContext::from_env(env);
    for (r, p) in rows.iter().filter(|(r, _)| r.choice.target() == Some(t)) {
        match r.surface {
            Surface::GitlabCi | Surface::RunnerToml => ctx.gitlab_runner = true,
            Surface::Kubernetes => ctx.kubernetes = true,
            Surface::DaemonJson => ctx.docker_host = true,
            _ => {}
        }
        if let Some(p) = p {
            match p.pipeline.hosting {
                Hosting::Kubernetes => ctx.kubernetes = true,
                Hosting::SelfHosted if r.surface == Surface::GithubActions => {
                    ctx.github_runner = true
                }
                _ => {}
            }
            if p.findings
                .iter()
                .any(|f| f.rule == "docker-socket-mount" || f.rule == "plaintext-docker-daemon")
            {
                ctx.docker_host = true;
            }
        }
    }
    if env.runner_hosts == RunnerHosts::Kubernetes {
        ctx.kubernetes = true;
    }
    ctx
}

/// Build the report (pure).
pub fn build(i: &Inputs<'_>) -> Report {
    let p = i.preview;
    let rows: Vec<(&PipelineResult, Option<&PipelinePlan>)> = p
        .results
        .iter()
        .map(|r| {
            let plan = i
                .plan
                .pipelines
                .iter()
                .find(|x| x.pipeline.path == r.path && x.pipeline.name == r.pipeline);
            (r, plan)
        })
        .collect();
    // Manual tasks: the rewriters' first, then host preparation per chosen target.
    let mut tasks: Vec<TaskReport> = Vec::new();
    let mut task_ids: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    for (n, (r, _)) in rows.iter().enumerate() {
        for m in &r.manual {
            let id = add_task(&mut tasks, m, TaskKind::Pipeline, None, &r.pipeline);
            if let Some(ids) = task_ids.get_mut(n)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
    }
    let chosen: Vec<Target> = ALL_TARGETS
        .iter()
        .copied()
        .filter(|t| {
            rows.iter()
                .any(|(r, _)| r.choice.target() == Some(*t) && r.status != Status::Skipped)
        })
        .collect();
    for &t in &chosen {
        // Host preparation for the pipelines depriv could not rewrite and whose rewriter gave
        // no snippet of its own (the rewriters that handle a target emit their own, more
        // specific host tasks).
        let users: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, (r, _))| {
                r.choice.target() == Some(t)
                    && matches!(r.status, Status::Manual | Status::Unsupported)
                    && r.manual.iter().all(|m| m.snippet.is_empty())
            })
            .map(|(n, _)| n)
            .collect();
        if users.is_empty() {
            continue;
        }
        let user_rows: Vec<(&PipelineResult, Option<&PipelinePlan>)> =
            users.iter().filter_map(|n| rows.get(*n).copied()).collect();
        let ctx = host_context(i.environment, t, &user_rows);
        for m in guide::host_tasks(t, &ctx) {
            if tasks.iter().any(|x| x.title == m.title) {
                continue;
            }
            let mut id = 0;
            for n in &users {
                if let Some((r, _)) = rows.get(*n) {
                    id = add_task(&mut tasks, &m, TaskKind::Host, Some(t), &r.pipeline);
                }
            }
            for n in &users {
                if let Some(ids) = task_ids.get_mut(*n)
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
        }
    }
    let change_of = |path: &str| p.changes.iter().find(|c| c.path == path);
    let mut pipelines = Vec::new();
    for (n, (r, plan)) in rows.iter().enumerate() {
        let kept = matches!(r.status, Status::Migrated | Status::Partial);
        let findings: Vec<FindingReport> = plan
            .map(|pl| {
                pl.findings
                    .iter()
                    .map(|f| {
                        let addressed = kept && !p.remaining.iter().any(|x| same_place(x, f));
                        FindingReport::of(f, addressed)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let files = r
            .files
            .iter()
            .map(|path| FileLines {
                path: path.clone(),
                added: change_of(path).map_or(0, |c| c.added),
                removed: change_of(path).map_or(0, |c| c.removed),
            })
            .collect();
        let rb = risk_before(&findings);
        let ra = risk_after(r, &findings, i.written);
        pipelines.push(PipelineReport {
            id: n + 1,
            name: r.pipeline.clone(),
            path: r.path.clone(),
            line: plan.map_or(1, |pl| pl.pipeline.line),
            surface: r.surface,
            hosting: plan.map_or(Hosting::Unknown, |pl| pl.pipeline.hosting),
            docker_usage: plan
                .map(|pl| pl.pipeline.docker_usage.iter().copied().collect())
                .unwrap_or_default(),
            target: r.choice.as_str(),
            recommended: plan.map_or(Target::Sysbox.as_str(), |pl| {
                pl.advice
                    .as_ref()
                    .map_or(pl.recommended.as_str(), |(a, _)| a.as_str())
            }),
            why: r.why.clone(),
            status: r.status,
            findings_addressed: findings.iter().filter(|f| f.addressed).count(),
            findings,
            files,
            risk_before: rb,
            risk_after: ra,
            notes: r.notes.clone(),
            manual_tasks: {
                let mut ids = task_ids.get(n).cloned().unwrap_or_default();
                ids.sort_unstable();
                ids
            },
            shared_with: plan.map(|pl| pl.shared_with.clone()).unwrap_or_default(),
            options: plan
                .map(|pl| {
                    pl.options
                        .iter()
                        .map(|o| OptionReport {
                            target: o.target,
                            infeasible: o.infeasible.clone(),
                            trade_off: o.trade_off,
                            residual_risk: o.residual_risk,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            fixture: plan.and_then(|pl| pl.pipeline.fixture.clone()),
            swarm: plan.and_then(|pl| pl.pipeline.swarm.clone()),
        });
    }
    let troubleshooting = chosen
        .iter()
        .map(|&t| {
            let info = guide::info(t);
            TroubleshootingReport {
                target: t,
                title: info.title,
                items: info
                    .troubleshooting
                    .iter()
                    .map(|x| TroubleshootingItem {
                        title: x.title,
                        text: x.text,
                    })
                    .collect(),
            }
        })
        .collect();
    let states: Vec<PipelineState> = pipelines
        .iter()
        .map(|x| PipelineState {
            name: x.name.clone(),
            path: x.path.clone(),
            line: x.line,
            target: rows.get(x.id - 1).and_then(|(r, _)| r.choice.target()),
            status: x.status,
        })
        .collect();
    let before_active: Vec<Finding> = i
        .before
        .findings
        .iter()
        .filter(|f| !f.suppressed)
        .cloned()
        .collect();
    let current: &[Finding] = if i.written {
        &p.remaining
    } else {
        &before_active
    };
    let strategies = strategies::sections(i.evidence, current, &states, i.written);
    let files: Vec<FileReport> = p
        .changes
        .iter()
        .map(|c| file_report(c, i.written))
        .collect();
    let remaining: Vec<FindingReport> = p
        .remaining
        .iter()
        .map(|f| FindingReport::of(f, false))
        .collect();
    let mut statuses = Statuses::default();
    for x in &pipelines {
        match x.status {
            Status::Migrated => statuses.migrated += 1,
            Status::Partial => statuses.partial += 1,
            Status::Manual => statuses.manual += 1,
            Status::Unsupported => statuses.unsupported += 1,
            Status::Skipped => statuses.skipped += 1,
        }
    }
    let mut notes = Vec::new();
    for d in i
        .before
        .diagnostics
        .iter()
        .filter(|d| d.level == DiagLevel::Error)
    {
        notes.push(format!(
            "{}:{}:{}: {} (could not be parsed, so depriv does not migrate it)",
            d.path, d.line, d.column, d.message
        ));
    }
    let summary = Summary {
        pipelines: pipelines.len(),
        findings_before: pipelines.iter().map(|x| x.findings.len()).sum(),
        findings_addressed: pipelines.iter().map(|x| x.findings_addressed).sum(),
        findings_remaining: remaining.len(),
        files_changed: files.len(),
        lines_added: files.iter().map(|f| f.added).sum(),
        lines_removed: files.iter().map(|f| f.removed).sum(),
        statuses,
        manual_tasks: tasks.len(),
        files_not_scanned: notes.len(),
        risk_before: max_severity(
            pipelines
                .iter()
                .filter_map(|x| x.risk_before.level.as_ref()),
        ),
        risk_after: max_severity(pipelines.iter().filter_map(|x| x.risk_after.level.as_ref()))
            .max(max_severity(remaining.iter().map(|f| &f.severity))),
    };
    Report {
        version: VERSION,
        kind: "depriv-report",
        tool: Tool {
            name: "depriv",
            version: env!("CARGO_PKG_VERSION"),
        },
        root: i.root.to_string(),
        repository: super::repository_name(i.root),
        mode: i.mode,
        written: i.written,
        environment: i.environment.clone(),
        summary,
        pipelines,
        manual_tasks: tasks,
        troubleshooting,
        strategies,
        files,
        remaining,
        notes,
        diagnostics: i.before.diagnostics.clone(),
    }
}

fn add_task(
    tasks: &mut Vec<TaskReport>,
    m: &ManualTask,
    kind: TaskKind,
    target: Option<Target>,
    pipeline: &str,
) -> usize {
    if let Some(t) = tasks
        .iter_mut()
        .find(|t| t.title == m.title && t.location == m.location && t.snippet == m.snippet)
    {
        if !t.pipelines.iter().any(|p| p == pipeline) {
            t.pipelines.push(pipeline.to_string());
        }
        return t.id;
    }
    let id = tasks.len() + 1;
    tasks.push(TaskReport {
        id,
        title: m.title.clone(),
        location: m.location.clone(),
        lang: m.lang.clone(),
        snippet: m.snippet.clone(),
        kind,
        target,
        pipelines: vec![pipeline.to_string()],
    });
    id
}

/// Errors making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A saved plan does not match the repository.
    #[error(transparent)]
    Plan(#[from] migrate::PlanMismatch),
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] write::WriteError),
}

/// How to make a report from a repository.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// How targets are chosen.
    pub strategy: Strategy,
    /// Decisions of a saved plan.
    pub plan: Option<PlanFile>,
    /// Always assess, even after a migration.
    pub assessment_only: bool,
}

/// Read the CI files of a repository (as the scan finds them) for the strategies section.
pub fn evidence_from_disk(root: &Path, config: &Config) -> Evidence {
    let (cands, _) = discover::walk(root, &config.exclude_set());
    let texts: Vec<(String, String)> = cands
        .iter()
        .filter_map(|c| discover::read_text(&c.abs).ok().map(|t| (c.rel.clone(), t)))
        .collect();
    strategies::gather(texts.iter().map(|(p, t)| (p.as_str(), t.as_str())))
}

fn plan_for(
    session: &Session,
    scan: &ScanResult,
    opts: &Options,
) -> Result<MigrationPlan, ReportError> {
    let mut plan = session.plan(scan, opts.strategy);
    if let Some(f) = &opts.plan {
        plan.apply_file(f)?;
    }
    Ok(plan)
}

/// An assessment: what a migration with `opts` would change (nothing is written).
pub fn assess(session: &Session, opts: &Options) -> Result<Report, ReportError> {
    let scan = session.scan();
    let plan = plan_for(session, &scan, opts)?;
    let preview = session.preview(&plan, &scan);
    let evidence = evidence_from_disk(session.root(), session.config());
    Ok(build(&Inputs {
        root: &scan.root,
        environment: &session.config().environment,
        before: &scan,
        plan: &plan,
        preview: &preview,
        evidence: &evidence,
        mode: Mode::Assessment,
        written: false,
    }))
}

/// The report `migrate --report` writes: `preview` is what it applied (`written`) or would
/// apply. Choices and statuses come from the preview.
pub fn for_migrate(session: &Session, preview: &Preview, written: bool) -> Report {
    let before = if written {
        let overlay: BTreeMap<String, String> = preview
            .changes
            .iter()
            .map(|c| (c.path.clone(), c.before.to_string()))
            .collect();
        session.scan_with(&overlay)
    } else {
        session.scan()
    };
    let plan = session.plan(&before, Strategy::Auto);
    let evidence = evidence_from_disk(session.root(), session.config());
    build(&Inputs {
        root: &before.root,
        environment: &session.config().environment,
        before: &before,
        plan: &plan,
        preview,
        evidence: &evidence,
        mode: if written {
            Mode::Migration
        } else {
            Mode::Assessment
        },
        written,
    })
}

/// Repository files with some replaced (the originals of a recorded migration).
struct OverlayFiles<'a> {
    root: &'a Path,
    rels: BTreeSet<String>,
    overlay: &'a BTreeMap<String, String>,
}

impl Files for OverlayFiles<'_> {
    fn text(&self, path: &str) -> Option<Arc<str>> {
        if let Some(t) = self.overlay.get(path) {
            return Some(Arc::from(t.as_str()));
        }
        if !self.rels.contains(path) {
            return None;
        }
        discover::read_text(&self.root.join(path))
            .ok()
            .map(Arc::from)
    }
    fn yaml_paths(&self) -> Vec<String> {
        self.rels
            .iter()
            .filter(|p| p.ends_with(".yml") || p.ends_with(".yaml"))
            .cloned()
            .collect()
    }
    fn paths(&self) -> Vec<String> {
        self.rels.iter().cloned().collect()
    }
}

/// The report after the recorded migration `rec`: the scan before it (the journal's originals
/// over the current files), a replay of the plan on those originals to recover choices, manual
/// tasks and notes, and the files as they are now. When the replay does not reproduce the
/// recorded bytes (another strategy or plan was used), statuses come from comparing findings
/// before and now, and a note says so.
pub fn after_migration(
    session: &Session,
    templates: &Templates,
    opts: &Options,
    rec: &RecordedMigration,
) -> Result<Report, ReportError> {
    let recorded_files: Vec<&crate::write::RecordedFile> = rec
        .files
        .iter()
        .filter(|f| is_plain_relative(&f.path))
        .collect();
    let originals: BTreeMap<String, String> = recorded_files
        .iter()
        .copied()
        .map(|f| {
            (
                f.path.clone(),
                String::from_utf8_lossy(&f.original).into_owned(),
            )
        })
        .collect();
    let before = session.scan_with(&originals);
    let plan = plan_for(session, &before, opts)?;
    let (cands, _) = discover::walk(session.root(), &session.config().exclude_set());
    let files = OverlayFiles {
        root: session.root(),
        rels: cands.iter().map(|c| c.rel.clone()).collect(),
        overlay: &originals,
    };
    let rescan = |o: &BTreeMap<String, String>| {
        let mut all = originals.clone();
        for (k, v) in o {
            all.insert(k.clone(), v.clone());
        }
        session.scan_with(&all)
    };
    let replay = migrate::preview(&plan, &before, &files, templates, &rescan);
    let now = session.scan();
    let current: Vec<Finding> = now
        .findings
        .iter()
        .filter(|f| !f.suppressed)
        .cloned()
        .collect();
    let recorded: BTreeSet<(&str, &str)> = recorded_files
        .iter()
        .copied()
        .map(|f| (f.path.as_str(), f.after_sha256.as_str()))
        .collect();
    let replayed: Vec<(String, String)> = replay
        .changes
        .iter()
        .map(|c| (c.path.clone(), write::sha256(c.after.as_bytes())))
        .collect();
    let reproduced = replayed.len() == recorded.len()
        && replayed
            .iter()
            .all(|(p, h)| recorded.contains(&(p.as_str(), h.as_str())));
    let mut notes = Vec::new();
    let disk: BTreeMap<&str, Option<String>> = recorded_files
        .iter()
        .copied()
        .map(|f| {
            (
                f.path.as_str(),
                discover::read_text(&session.root().join(&f.path)).ok(),
            )
        })
        .collect();
    let preview = if reproduced {
        Preview {
            changes: replay.changes,
            results: replay.results,
            remaining: current.clone(),
        }
    } else {
        notes.push(
            "the recorded migration differs from a replay of this plan: targets are the plan's, \
             statuses compare the findings before and now (pass --plan FILE with the plan that \
             was used for exact choices)"
                .to_string(),
        );
        let changes: Vec<FileChange> = recorded_files
            .iter()
            .copied()
            .map(|f| {
                let before_text = originals.get(&f.path).cloned().unwrap_or_default();
                let after = disk
                    .get(f.path.as_str())
                    .cloned()
                    .flatten()
                    .unwrap_or_default();
                let edits = edits_from_diff(&f.path, &before_text, &after);
                let (mut added, mut removed) = (0, 0);
                for op in line_diff(&before_text, &after).iter_all_changes() {
                    match op.tag() {
                        similar::ChangeTag::Insert => added += 1,
                        similar::ChangeTag::Delete => removed += 1,
                        similar::ChangeTag::Equal => {}
                    }
                }
                FileChange {
                    path: f.path.clone(),
                    before: Arc::from(before_text.as_str()),
                    after,
                    edits,
                    added,
                    removed,
                }
            })
            .collect();
        let results = replay
            .results
            .into_iter()
            .map(|mut r| {
                let mine: Vec<&Finding> = plan
                    .pipelines
                    .iter()
                    .find(|x| x.pipeline.path == r.path && x.pipeline.name == r.pipeline)
                    .map(|x| x.findings.iter().collect())
                    .unwrap_or_default();
                let left = mine
                    .iter()
                    .filter(|f| current.iter().any(|c| same_place(c, f)))
                    .count();
                r.addressed = mine.len().saturating_sub(left);
                r.files = recorded_files
                    .iter()
                    .copied()
                    .filter(|rf| mine.iter().any(|f| f.path == rf.path) || rf.path == r.path)
                    .map(|rf| rf.path.clone())
                    .collect();
                if r.addressed > 0 && r.addressed == mine.len() {
                    r.status = Status::Migrated;
                } else if r.addressed > 0 {
                    r.status = Status::Partial;
                } else if matches!(r.status, Status::Migrated | Status::Partial) {
                    r.status = Status::Manual;
                }
                r
            })
            .collect();
        Preview {
            changes,
            results,
            remaining: current.clone(),
        }
    };
    let evidence = evidence_from_disk(session.root(), session.config());
    let mut report = build(&Inputs {
        root: &now.root,
        environment: &session.config().environment,
        before: &before,
        plan: &plan,
        preview: &preview,
        evidence: &evidence,
        mode: Mode::Migration,
        written: true,
    });
    for f in &mut report.files {
        if let Some(r) = recorded_files.iter().copied().find(|r| r.path == f.path) {
            f.sha256_before = r.before_sha256.clone();
            f.sha256_after = r.after_sha256.clone();
            let now_sha = disk
                .get(r.path.as_str())
                .cloned()
                .flatten()
                .map(|t| write::sha256(t.as_bytes()));
            f.edited_since = now_sha.as_deref() != Some(r.after_sha256.as_str());
            if f.edited_since {
                report
                    .notes
                    .push(format!("{} changed since the migration wrote it", f.path));
            }
        }
    }
    report.notes.extend(notes);
    Ok(report)
}

fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The report for a repository: after the last recorded migration when its files are still
/// as it wrote them (any of them), else an assessment.
pub fn for_repository(
    session: &Session,
    templates: &Templates,
    opts: &Options,
) -> Result<Report, ReportError> {
    if !opts.assessment_only
        && let Some(mut rec) = write::last_migration(session.root())?
    {
        // Only plain relative paths inside the repository (a damaged journal is ignored).
        rec.files.retain(|f| is_plain_relative(&f.path));
        let still_there = rec.files.iter().any(|f| {
            std::fs::read(session.root().join(&f.path))
                .map(|b| write::sha256(&b) == f.after_sha256)
                .unwrap_or(false)
        });
        if still_there {
            return after_migration(session, templates, opts, &rec);
        }
    }
    assess(session, opts)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rewrite::MemFiles;
    use crate::scan;

    pub(crate) fn sample() -> (ScanResult, MigrationPlan, Preview) {
        let mut files = BTreeMap::new();
        // A detect-only surface: its rewrite is always `unsupported`, whatever the rewriters do.
        files.insert(
            ".drone.yml".to_string(),
            "kind: pipeline\ntype: docker\nname: build\nsteps:\n  - name: daemon\n    image: docker:dind\n    privileged: true\n    detach: true\n  - name: image\n    image: docker:29-cli\n    environment:\n      DOCKER_HOST: tcp://daemon:2375\n    commands:\n      - docker build -t x .\n"
                .to_string(),
        );
        let cfg = Config::default();
        let s = scan::scan_memory(files.clone(), &cfg);
        let plan = migrate::plan(&s, &Environment::default(), Strategy::Auto);
        let mem = MemFiles(
            files
                .iter()
                .map(|(k, v)| (k.clone(), Arc::<str>::from(v.as_str())))
                .collect(),
        );
        let rescan = |o: &BTreeMap<String, String>| {
            let mut all = files.clone();
            all.extend(o.clone());
            scan::scan_memory(all, &cfg)
        };
        let p = migrate::preview(&plan, &s, &mem, &Templates::builtin(), &rescan);
        (s, plan, p)
    }

    pub(crate) fn sample_report(written: bool) -> Report {
        let (s, plan, p) = sample();
        build(&Inputs {
            root: "repo",
            environment: &Environment::default(),
            before: &s,
            plan: &plan,
            preview: &p,
            evidence: &Evidence::default(),
            mode: Mode::Assessment,
            written,
        })
    }

    #[test]
    fn report_has_a_pipeline_with_findings_tasks_and_troubleshooting() {
        let r = sample_report(false);
        assert_eq!(r.summary.pipelines, 1);
        let p = &r.pipelines[0];
        assert_eq!(p.name, "build");
        assert_eq!(p.target, "buildkit");
        assert!(!p.findings.is_empty());
        assert_eq!(p.risk_before.level, Some(Severity::High));
        assert!(
            r.manual_tasks
                .iter()
                .any(|t| t.kind == TaskKind::Host && t.title.contains("registry credentials"))
        );
        assert!(
            p.manual_tasks
                .iter()
                .all(|id| *id >= 1 && *id <= r.manual_tasks.len())
        );
        assert_eq!(r.troubleshooting.len(), 1);
        assert_eq!(r.troubleshooting[0].target, Target::Buildkit);
        assert_eq!(r.strategies.len(), 5);
        let total: usize = r.summary.statuses.pairs().iter().map(|(_, n)| n).sum();
        assert_eq!(total, 1);
    }

    #[test]
    fn edits_from_diff_reproduce_the_after_text() {
        for (a, b) in [
            ("a\nb\nc\n", "a\nB\nc\nd\n"),
            ("", "x\n"),
            ("x\n", ""),
            ("no newline", "no newline\nmore"),
            ("é\r\nü\r\n", "é\r\nü2\r\n"),
        ] {
            let e = edits_from_diff("f", a, b);
            assert_eq!(
                crate::edit::apply(a, &e).ok().as_deref(),
                Some(b),
                "{a:?} → {b:?}"
            );
        }
    }

    #[test]
    fn edit_positions_are_one_based_characters() {
        let text = "é: 1\nkey: val\n";
        let r = edit_reports(
            text,
            &[
                Edit::replace("f", 11, 14, "new"),
                Edit::insert("f", 99, "x"),
            ],
        );
        assert_eq!(
            (r[0].start_line, r[0].start_column, r[0].end_column),
            (2, 6, 9)
        );
        assert_eq!(r[1].start_line, 3);
    }

    #[test]
    fn journal_paths_must_stay_inside() {
        assert!(is_plain_relative("a/b.yml"));
        for bad in ["", "../x", "/etc/passwd", "a/../../b", "./a"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn formats_from_extensions() {
        assert_eq!(
            ReportFormat::from_path(Path::new("r.MD")),
            Some(ReportFormat::Md)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("a/b.sarif")),
            Some(ReportFormat::Sarif)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("x.htm")),
            Some(ReportFormat::Html)
        );
        assert_eq!(ReportFormat::from_path(Path::new("x.txt")), None);
        assert_eq!(ReportFormat::from_path(Path::new("noext")), None);
    }
}
