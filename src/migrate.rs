//! The migration engine: plan (a target per pipeline, feasible ones only), rewrite (templates
//! → byte edits), verify (apply, re-parse, re-scan: addressed findings gone, nothing new, or
//! the file's edits are dropped), and diff. Pure: nothing here writes to disk.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::config::Environment;
use crate::edit::{self, Edit};
use crate::finding::{DiagLevel, Finding, Surface};
use crate::model::Hosting;
use crate::plan::{self, Choice, Decision, PlanFile, Target, TargetOption};
use crate::rewrite::{self, Files, ManualTask, Outcome, Request, Status};
use crate::scan::{PipelineSummary, ScanResult};
use crate::templates::Templates;

/// How targets are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Strategy {
    /// The recommended target per pipeline.
    #[default]
    Auto,
    /// Sysbox wherever feasible.
    Sysbox,
    /// Rootless dind wherever feasible.
    Rootless,
    /// kaniko wherever feasible.
    Kaniko,
    /// BuildKit wherever feasible.
    Buildkit,
    /// TLS-hardened dind.
    Tls,
}

impl Strategy {
    fn target(self) -> Option<Target> {
        match self {
            Strategy::Auto => None,
            Strategy::Sysbox => Some(Target::Sysbox),
            Strategy::Rootless => Some(Target::Rootless),
            Strategy::Kaniko => Some(Target::Kaniko),
            Strategy::Buildkit => Some(Target::Buildkit),
            Strategy::Tls => Some(Target::Tls),
        }
    }
}

/// The plan for one pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct PipelinePlan {
    /// The pipeline.
    pub pipeline: PipelineSummary,
    /// Its active findings.
    pub findings: Vec<Finding>,
    /// Every target with feasibility, trade-off and residual risk.
    pub options: Vec<TargetOption>,
    /// The recommended target.
    pub recommended: Target,
    /// The decision.
    pub choice: Choice,
    /// Why this choice (recommended, forced, from a plan file, or why a forced one was refused).
    pub why: String,
    /// Other pipelines that share a construct this one's findings sit in.
    pub shared_with: Vec<String>,
}

impl PipelinePlan {
    /// Stable key: (declaring path, name).
    pub fn key(&self) -> (&str, &str) {
        (&self.pipeline.path, &self.pipeline.name)
    }
}

/// The whole plan.
#[derive(Clone, Debug, Serialize)]
pub struct MigrationPlan {
    /// Environment answers used.
    pub environment: Environment,
    /// One entry per pipeline with active findings, sorted by (path, name).
    pub pipelines: Vec<PipelinePlan>,
}

/// A plan file that no longer matches the repository.
#[derive(Debug, thiserror::Error)]
#[error("the plan does not match this repository: {}", .mismatches.join("; "))]
pub struct PlanMismatch {
    /// What differs.
    pub mismatches: Vec<String>,
}

/// Build the plan from a scan.
pub fn plan(scan: &ScanResult, env: &Environment, strategy: Strategy) -> MigrationPlan {
    let mut groups: BTreeMap<(String, String), Vec<Finding>> = BTreeMap::new();
    for f in scan.findings.iter().filter(|f| !f.suppressed) {
        let path = f.pipeline_path.clone().unwrap_or_else(|| f.path.clone());
        let name = f.pipeline.clone().unwrap_or_else(|| "(global)".to_string());
        groups.entry((path, name)).or_default().push(f.clone());
    }
    let mut pipelines = Vec::new();
    for ((path, name), findings) in groups {
        let summary = scan
            .pipelines
            .iter()
            .find(|p| p.path == path && p.name == name)
            .cloned()
            .unwrap_or_else(|| synthetic_summary(&path, &name, &findings, env));
        let options = plan::options(&summary.docker_usage, summary.hosting, env);
        let recommended = plan::recommend(&summary.docker_usage, summary.hosting, env);
        let (choice, why) = match strategy.target() {
            None => (Choice::from(recommended), "recommended".to_string()),
            Some(t) => match options
                .iter()
                .find(|o| o.target == t)
                .and_then(|o| o.infeasible.clone())
            {
                None => (Choice::from(t), format!("--strategy {}", t.as_str())),
                Some(reason) => (
                    Choice::from(recommended),
                    format!(
                        "--strategy {} is not feasible ({reason}); using the recommended {}",
                        t.as_str(),
                        recommended.as_str()
                    ),
                ),
            },
        };
        let mut shared: BTreeSet<String> = BTreeSet::new();
        for f in &findings {
            for p in &f.pipelines {
                if *p != name {
                    shared.insert(p.clone());
                }
            }
        }
        pipelines.push(PipelinePlan {
            pipeline: summary,
            findings,
            options,
            recommended,
            choice,
            why,
            shared_with: shared.into_iter().collect(),
        });
    }
    let mut plan = MigrationPlan {
        environment: env.clone(),
        pipelines,
    };
    crate::plan_conflicts::resolve_runner_conflicts(&mut plan);
    plan
}

fn synthetic_summary(
    path: &str,
    name: &str,
    findings: &[Finding],
    env: &Environment,
) -> PipelineSummary {
    let usage: BTreeSet<_> = findings
        .iter()
        .flat_map(|f| f.docker_usage.iter().copied())
        .collect();
    PipelineSummary {
        name: name.to_string(),
        surface: findings
            .first()
            .map(|f| f.surface)
            .unwrap_or(Surface::Other),
        path: path.to_string(),
        line: 1,
        recommended: plan::recommend(&usage, Hosting::Unknown, env).as_str(),
        docker_usage: usage,
        hosting: Hosting::Unknown,
        template: true,
        runs_scripts: Vec::new(),
    }
}

impl MigrationPlan {
    /// The decisions as a plan file.
    pub fn to_file(&self) -> PlanFile {
        PlanFile {
            version: 1,
            environment: self.environment.clone(),
            decisions: self
                .pipelines
                .iter()
                .map(|p| Decision {
                    path: p.pipeline.path.clone(),
                    pipeline: p.pipeline.name.clone(),
                    choice: p.choice,
                    fingerprints: p.findings.iter().map(|f| f.fingerprint.clone()).collect(),
                })
                .collect(),
        }
    }

    /// Take the decisions of a saved plan; refuse when its findings no longer match.
    pub fn apply_file(&mut self, file: &PlanFile) -> Result<(), PlanMismatch> {
        let mut mismatches = Vec::new();
        if file.version != 1 {
            mismatches.push(format!("unsupported plan version {}", file.version));
        }
        for d in &file.decisions {
            match self
                .pipelines
                .iter_mut()
                .find(|p| p.pipeline.path == d.path && p.pipeline.name == d.pipeline)
            {
                None => mismatches.push(format!(
                    "pipeline `{}` in {} has no findings any more",
                    d.pipeline, d.path
                )),
                Some(p) => {
                    let now: BTreeSet<&str> =
                        p.findings.iter().map(|f| f.fingerprint.as_str()).collect();
                    let then: BTreeSet<&str> = d.fingerprints.iter().map(String::as_str).collect();
                    if now != then {
                        let changed: Vec<String> = p
                            .findings
                            .iter()
                            .filter(|f| !then.contains(f.fingerprint.as_str()))
                            .map(|f| format!("{}@{}:{}", f.rule, f.path, f.line))
                            .collect();
                        mismatches.push(format!(
                            "pipeline `{}` in {}: findings changed{}",
                            d.pipeline,
                            d.path,
                            if changed.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", changed.join(", "))
                            }
                        ));
                        continue;
                    }
                    if let Some(t) = d.choice.target()
                        && let Some(reason) = p
                            .options
                            .iter()
                            .find(|o| o.target == t)
                            .and_then(|o| o.infeasible.clone())
                    {
                        mismatches.push(format!(
                            "pipeline `{}`: {} is not feasible ({reason})",
                            d.pipeline,
                            t.as_str()
                        ));
                        continue;
                    }
                    p.choice = d.choice;
                    p.why = "plan file".into();
                }
            }
        }
        for p in &self.pipelines {
            if !file
                .decisions
                .iter()
                .any(|d| d.path == p.pipeline.path && d.pipeline == p.pipeline.name)
            {
                mismatches.push(format!(
                    "pipeline `{}` in {} is not in the plan",
                    p.pipeline.name, p.pipeline.path
                ));
            }
        }
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(PlanMismatch { mismatches })
        }
    }
}

/// One file as the migration would write it.
#[derive(Clone, Debug, Serialize)]
pub struct FileChange {
    /// Root-relative path.
    pub path: String,
    /// Original text.
    #[serde(skip)]
    pub before: Arc<str>,
    /// New text.
    #[serde(skip)]
    pub after: String,
    /// The edits applied.
    pub edits: Vec<Edit>,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
}

impl FileChange {
    /// Unified diff (`a/path`, `b/path`).
    pub fn unified_diff(&self) -> String {
        similar::TextDiff::from_lines(&*self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", self.path), &format!("b/{}", self.path))
            .to_string()
    }
}

/// What happened to one pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineResult {
    /// Declaring path.
    pub path: String,
    /// Name.
    pub pipeline: String,
    /// Surface.
    pub surface: Surface,
    /// Decision.
    pub choice: Choice,
    /// Why.
    pub why: String,
    /// Outcome.
    pub status: Status,
    /// Findings before.
    pub findings: usize,
    /// Findings addressed by kept edits.
    pub addressed: usize,
    /// Manual tasks.
    pub manual: Vec<ManualTask>,
    /// Notes, including why edits were dropped.
    pub notes: Vec<String>,
    /// Residual risk of the chosen target.
    pub residual_risk: Option<&'static str>,
    /// Files the pipeline's edits touch.
    pub files: Vec<String>,
}

/// The verified result of a plan.
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    /// Files that change, sorted by path.
    pub changes: Vec<FileChange>,
    /// Per pipeline, in plan order.
    pub results: Vec<PipelineResult>,
    /// Active findings left after the migration.
    pub remaining: Vec<Finding>,
}

/// Re-scan the repository with some files replaced (path → new text).
pub type Rescan<'a> = dyn Fn(&BTreeMap<String, String>) -> ScanResult + 'a;

/// Rewrite every pipeline of the plan, verify and diff.
pub fn preview(
    plan: &MigrationPlan,
    scan: &ScanResult,
    files: &dyn Files,
    templates: &Templates,
    rescan: &Rescan<'_>,
) -> Preview {
    let mut outcomes: Vec<Outcome> = Vec::new();
    for p in &plan.pipelines {
        let outcome = match p.choice.target() {
            None => Outcome {
                status: Some(if p.choice == Choice::Skip {
                    Status::Skipped
                } else {
                    Status::Manual
                }),
                ..Outcome::default()
            },
            Some(target) => {
                let req = Request {
                    pipeline: &p.pipeline,
                    target,
                    findings: p.findings.iter().collect(),
                    env: &plan.environment,
                    templates,
                    files,
                };
                rewrite::rewrite(&req)
            }
        };
        outcomes.push(outcome);
    }
    // Which pipelines keep their edits; drop reasons per pipeline.
    let mut kept: Vec<bool> = outcomes.iter().map(|o| !o.edits.is_empty()).collect();
    let mut dropped: Vec<Vec<String>> = vec![Vec::new(); outcomes.len()];
    let mut final_changes: Vec<FileChange> = Vec::new();
    let mut after_scan: Option<ScanResult> = None;
    for _round in 0..8 {
        // Group kept edits by file, dropping later pipelines on overlap.
        let mut by_file: BTreeMap<String, Vec<(usize, Edit)>> = BTreeMap::new();
        for (i, o) in outcomes.iter().enumerate() {
            if !kept[i] {
                continue;
            }
            for e in &o.edits {
                by_file
                    .entry(e.path.clone())
                    .or_default()
                    .push((i, e.clone()));
            }
        }
        let mut changes = Vec::new();
        let mut again = false;
        for (path, edits) in &by_file {
            let Some(before) = files.text(path) else {
                for (i, _) in edits {
                    drop_pipeline(
                        &mut kept,
                        &mut dropped,
                        *i,
                        format!("{path}: cannot read the file"),
                    );
                }
                again = true;
                continue;
            };
            let all: Vec<Edit> = edits.iter().map(|(_, e)| e.clone()).collect();
            match edit::apply(&before, &all) {
                Ok(after) => {
                    if after != *before {
                        changes.push(FileChange {
                            path: path.clone(),
                            before: before.clone(),
                            after,
                            edits: edit::normalise(all).unwrap_or_default(),
                            added: 0,
                            removed: 0,
                        });
                    }
                }
                Err(e) => {
                    // Keep the first pipeline's edits of this file, drop the last one's.
                    if let Some((i, _)) = edits
                        .iter()
                        .rev()
                        .find(|(i, _)| edits.iter().any(|(j, _)| j != i))
                    {
                        drop_pipeline(
                            &mut kept,
                            &mut dropped,
                            *i,
                            format!("{path}: edits conflict with another pipeline's ({e})"),
                        );
                    } else if let Some((i, _)) = edits.first() {
                        drop_pipeline(&mut kept, &mut dropped, *i, format!("{path}: {e}"));
                    }
                    again = true;
                }
            }
        }
        if again {
            continue;
        }
        let overlay: BTreeMap<String, String> = changes
            .iter()
            .map(|c| (c.path.clone(), c.after.clone()))
            .collect();
        let after = rescan(&overlay);
        // Verify each changed file.
        let addressed: BTreeSet<&str> = outcomes
            .iter()
            .enumerate()
            .filter(|(i, _)| kept[*i])
            .flat_map(|(_, o)| o.addressed.iter().map(String::as_str))
            .collect();
        for c in &changes {
            let reason = verify_file(&c.path, scan, &after, &addressed);
            if let Some(reason) = reason {
                for (i, o) in outcomes.iter().enumerate() {
                    if kept[i] && o.edits.iter().any(|e| e.path == c.path) {
                        drop_pipeline(
                            &mut kept,
                            &mut dropped,
                            i,
                            format!("{}: {reason}; its edits were dropped", c.path),
                        );
                    }
                }
                again = true;
            }
        }
        if again {
            continue;
        }
        final_changes = changes;
        after_scan = Some(after);
        break;
    }
    for c in &mut final_changes {
        let diff = similar::TextDiff::from_lines(&*c.before, &c.after);
        for op in diff.iter_all_changes() {
            match op.tag() {
                similar::ChangeTag::Insert => c.added += 1,
                similar::ChangeTag::Delete => c.removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
    }
    let remaining: Vec<Finding> = after_scan
        .map(|s| s.findings.into_iter().filter(|f| !f.suppressed).collect())
        .unwrap_or_else(|| {
            scan.findings
                .iter()
                .filter(|f| !f.suppressed)
                .cloned()
                .collect()
        });
    let results = plan
        .pipelines
        .iter()
        .zip(outcomes)
        .enumerate()
        .map(|(i, (p, o))| result_of(p, o, kept[i], std::mem::take(&mut dropped[i]), &remaining))
        .collect();
    Preview {
        changes: final_changes,
        results,
        remaining,
    }
}

fn drop_pipeline(kept: &mut [bool], dropped: &mut [Vec<String>], i: usize, reason: String) {
    if let Some(k) = kept.get_mut(i) {
        *k = false;
    }
    if let Some(d) = dropped.get_mut(i) {
        d.push(reason);
    }
}

/// Why a changed file fails verification, if it does.
fn verify_file(
    path: &str,
    before: &ScanResult,
    after: &ScanResult,
    addressed: &BTreeSet<&str>,
) -> Option<String> {
    if let Some(d) = after
        .diagnostics
        .iter()
        .find(|d| d.path == path && d.level == DiagLevel::Error)
    {
        return Some(format!(
            "the result does not parse ({} at {}:{})",
            d.message, d.line, d.column
        ));
    }
    let count = |fs: &mut dyn Iterator<Item = &Finding>| -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for f in fs {
            *m.entry(f.rule).or_insert(0) += 1;
        }
        m
    };
    let before_left = count(&mut before.findings.iter().filter(|f| {
        f.path == path && !f.suppressed && !addressed.contains(f.fingerprint.as_str())
    }));
    let after_all = count(
        &mut after
            .findings
            .iter()
            .filter(|f| f.path == path && !f.suppressed),
    );
    for (rule, n) in &after_all {
        let allowed = before_left.get(rule).copied().unwrap_or(0);
        if *n > allowed {
            return Some(format!(
                "re-scan still finds {n} × {rule} where at most {allowed} may remain"
            ));
        }
    }
    None
}

fn result_of(
    p: &PipelinePlan,
    o: Outcome,
    kept: bool,
    dropped: Vec<String>,
    remaining: &[Finding],
) -> PipelineResult {
    let mut notes = o.notes;
    notes.extend(dropped.iter().cloned());
    if !p.shared_with.is_empty() && kept {
        notes.push(format!(
            "edits a construct shared with {}",
            p.shared_with.join(", ")
        ));
    }
    let left = p
        .findings
        .iter()
        .filter(|f| {
            remaining
                .iter()
                .any(|r| r.rule == f.rule && r.path == f.path && r.pipeline == f.pipeline)
        })
        .count();
    let addressed = if kept {
        p.findings.len().saturating_sub(left)
    } else {
        0
    };
    let status = if p.choice == Choice::Skip {
        Status::Skipped
    } else if p.choice == Choice::Manual {
        Status::Manual
    } else if let Some(s @ (Status::Unsupported | Status::Manual)) = o.status {
        s
    } else if !kept || addressed == 0 {
        if o.manual.is_empty() && dropped.is_empty() && o.edits.is_empty() {
            Status::Unsupported
        } else {
            Status::Manual
        }
    } else if addressed == p.findings.len() && o.status != Some(Status::Partial) {
        Status::Migrated
    } else {
        Status::Partial
    };
    let files: BTreeSet<String> = if kept {
        o.edits.iter().map(|e| e.path.clone()).collect()
    } else {
        BTreeSet::new()
    };
    PipelineResult {
        path: p.pipeline.path.clone(),
        pipeline: p.pipeline.name.clone(),
        surface: p.pipeline.surface,
        choice: p.choice,
        why: p.why.clone(),
        status,
        findings: p.findings.len(),
        addressed,
        manual: o.manual,
        notes,
        residual_risk: p.choice.target().map(|t| plan::describe(t).1),
        files: files.into_iter().collect(),
    }
}
