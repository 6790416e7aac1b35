//! The migration engine: plan (a target per pipeline, feasible ones only), rewrite (templates
//! → byte edits), verify (apply, re-parse, re-scan: addressed findings gone, nothing new, or
//! the file's edits are dropped), and diff. Pure: nothing here writes to disk.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::config::Environment;
use crate::edit::{self, Edit};
use crate::finding::{DiagLevel, Finding, Surface};
use crate::model::{DockerUse, Hosting};
use crate::plan::{self, Choice, Target};
use crate::rewrite::{self, Files, ManualTask, Outcome, Request, Status};
use crate::scan::{PipelineSummary, ScanResult};
use crate::templates::Templates;

pub use crate::migration_plan::{MigrationPlan, PipelinePlan, PlanMismatch};

/// How targets are chosen (the CLI names and help of the targets come from the registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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

impl clap::ValueEnum for Strategy {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Strategy::Auto,
            Strategy::Sysbox,
            Strategy::Rootless,
            Strategy::Kaniko,
            Strategy::Buildkit,
            Strategy::Tls,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self.target() {
            None => PossibleValue::new("auto").help("The recommended target per pipeline"),
            Some(t) => PossibleValue::new(t.as_str()).help(t.spec().strategy_help),
        })
    }
}

/// Build the plan from a scan.
///
/// Every pipeline a finding affects gets an entry, also when the finding sits in a shared
/// definition (a GitLab template, an anchor, an included file). Pipelines that share a
/// definition form a group; in `auto` mode a group takes one target, the one recommended for
/// what all its members use Docker for, so the shared definition is rewritten once and stays
/// right for every job that inherits it.
pub fn plan(scan: &ScanResult, env: &Environment, strategy: Strategy) -> MigrationPlan {
    let mut entries: BTreeMap<(String, String), Vec<Finding>> = BTreeMap::new();
    for f in scan.findings.iter().filter(|f| !f.suppressed) {
        let keys: Vec<(String, String)> = if f.affected.is_empty() {
            vec![(
                f.pipeline_path.clone().unwrap_or_else(|| f.path.clone()),
                f.pipeline.clone().unwrap_or_else(|| GLOBAL.to_string()),
            )]
        } else {
            f.affected.clone()
        };
        for k in keys {
            let v = entries.entry(k).or_default();
            if !v.iter().any(|g| g.fingerprint == f.fingerprint) {
                v.push(f.clone());
            }
        }
    }
    let keys: Vec<(String, String)> = entries.keys().cloned().collect();
    let groups = group_by_findings(&entries, &keys, true);
    // Groups of pipelines that really share a definition (not only a compose file).
    let definitions = group_by_findings(&entries, &keys, false);
    let mut pipelines: Vec<PipelinePlan> = Vec::with_capacity(keys.len());
    // First summary of each (path, name), looked up once per planned pipeline.
    let mut summaries: HashMap<(&str, &str), &PipelineSummary> = HashMap::new();
    for p in &scan.pipelines {
        summaries
            .entry((p.path.as_str(), p.name.as_str()))
            .or_insert(p);
    }
    for (i, ((path, name), findings)) in entries.into_iter().enumerate() {
        let summary = summaries
            .get(&(path.as_str(), name.as_str()))
            .map(|p| (*p).clone())
            .unwrap_or_else(|| synthetic_summary(&path, &name, &findings, env));
        let options = plan::options(
            &summary.docker_usage,
            summary.hosting,
            env,
            &summary.privilege,
        );
        let advice = plan::advise(&summary.privilege, summary.surface, summary.hosting, env)
            .map(|a| (a.choice, a.why));
        let recommended = match &advice {
            // A workload's privilege: sysbox where it runs the workload; otherwise the plan
            // records no Docker target (the choice is the device or manual, see below).
            Some((c, _)) => c.target().unwrap_or(Target::Sysbox),
            None => plan::recommend(&summary.docker_usage, summary.hosting, env),
        };
        pipelines.push(PipelinePlan {
            recommended,
            pipeline: summary,
            findings,
            options,
            choice: Choice::Manual,
            why: String::new(),
            shared_with: Vec::new(),
            group: groups.get(i).copied().unwrap_or(i),
            advice,
        });
    }
    // Per group: shared-with lists, the group's recommendation and the choice.
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, p) in pipelines.iter().enumerate() {
        members.entry(p.group).or_default().push(i);
    }
    for idx in members.values() {
        let usage: BTreeSet<DockerUse> = idx
            .iter()
            .filter_map(|&i| pipelines.get(i))
            .filter(|p| p.pipeline.privilege.is_empty())
            .flat_map(|p| p.pipeline.docker_usage.iter().copied())
            .collect();
        let hosting = idx
            .iter()
            .filter_map(|&i| pipelines.get(i))
            .map(|p| p.pipeline.hosting)
            .next()
            .unwrap_or(Hosting::Unknown);
        let names: Vec<(usize, String)> = idx
            .iter()
            .filter_map(|&i| pipelines.get(i).map(|p| (i, p.pipeline.name.clone())))
            .collect();
        let group_rec = if idx.len() > 1 {
            plan::recommend(&usage, hosting, env)
        } else {
            idx.first()
                .and_then(|&i| pipelines.get(i))
                .map_or(Target::Sysbox, |p| p.recommended)
        };
        // A target every member can take (members privileged for their workload are decided
        // by their own advice, below).
        let for_all: Vec<Target> = plan::ALL_TARGETS
            .iter()
            .copied()
            .filter(|&t| {
                idx.iter()
                    .filter_map(|&i| pipelines.get(i))
                    .filter(|p| p.pipeline.privilege.is_empty())
                    .all(|p| {
                        p.options
                            .iter()
                            .any(|o| o.target == t && o.infeasible.is_none())
                    })
            })
            .collect();
        let feasible_for_all = |t: Target| for_all.contains(&t);
        let group_rec = if feasible_for_all(group_rec) {
            group_rec
        } else {
            FALLBACK_ORDER
                .iter()
                .copied()
                .find(|&t| feasible_for_all(t))
                .unwrap_or(group_rec)
        };
        for &i in idx {
            let Some(p) = pipelines.get_mut(i) else {
                continue;
            };
            let my_definition = definitions.get(i).copied().unwrap_or(i);
            p.shared_with = names
                .iter()
                .filter(|(j, n)| {
                    *n != p.pipeline.name && definitions.get(*j).copied() == Some(my_definition)
                })
                .map(|(_, n)| n.clone())
                .collect();
            // Companions planned together only because they sit in one compose file.
            let companions: Vec<String> = names
                .iter()
                .filter(|(_, n)| *n != p.pipeline.name && !p.shared_with.contains(n))
                .map(|(_, n)| n.clone())
                .collect();
            if !p.pipeline.privilege.is_empty() {
                // Decided by its own advice below.
                continue;
            }
            let own = p.recommended;
            p.recommended = group_rec;
            let rec_why = if own != group_rec {
                let (what, with) = if p.shared_with.is_empty() {
                    ("compose file", &companions)
                } else {
                    ("definition", &p.shared_with)
                };
                format!(
                    "recommended for the {what} it shares with {} ({} on its own)",
                    with.join(", "),
                    own.as_str()
                )
            } else {
                "recommended".to_string()
            };
            let (choice, why) = match strategy.target() {
                None => (Choice::from(group_rec), rec_why),
                Some(t) if feasible_for_all(t) => {
                    (Choice::from(t), format!("--strategy {}", t.as_str()))
                }
                Some(t) => {
                    let reason = p
                        .options
                        .iter()
                        .find(|o| o.target == t)
                        .and_then(|o| o.infeasible.clone())
                        .unwrap_or_else(|| {
                            if p.shared_with.is_empty() {
                                format!(
                                    "not feasible for {}, which share its compose file",
                                    companions.join(", ")
                                )
                            } else {
                                format!(
                                    "not feasible for {}, which share its definition",
                                    p.shared_with.join(", ")
                                )
                            }
                        });
                    (
                        Choice::from(group_rec),
                        format!(
                            "--strategy {} is not feasible ({reason}); using the recommended {}",
                            t.as_str(),
                            group_rec.as_str()
                        ),
                    )
                }
            };
            p.choice = choice;
            p.why = why;
        }
    }
    // A pipeline privileged for its workload (KVM, FUSE, systemd, …) takes its advice: sysbox
    // where sysbox runs the workload, else a manual task that says why; a forced Docker target
    // is refused with the same reason.
    for p in &mut pipelines {
        let Some((advised, reason)) = p.advice.clone() else {
            continue;
        };
        let forced = strategy.target().filter(|&t| {
            p.options
                .iter()
                .any(|o| o.target == t && o.infeasible.is_none())
        });
        match forced {
            Some(t) => {
                p.choice = Choice::from(t);
                p.why = format!("--strategy {}", t.as_str());
            }
            None => {
                p.choice = advised;
                p.why = match strategy.target() {
                    Some(t) => format!("--strategy {} is not feasible; {reason}", t.as_str()),
                    None => reason,
                };
            }
        }
    }
    // Test fixtures and vendored examples are reported, not migrated, unless asked.
    for p in &mut pipelines {
        if let Some(reason) = p.pipeline.fixture.as_deref()
            && !p.pipeline.fixture_included
        {
            p.choice = Choice::Skip;
            p.why = format!("test fixture ({reason}); --include-fixtures migrates it");
        }
    }
    let mut plan = MigrationPlan {
        environment: env.clone(),
        pipelines,
    };
    crate::plan_conflicts::resolve_runner_conflicts(&mut plan);
    plan
}

/// Targets in the order auto mode tries them when the recommended one cannot be applied:
/// the ones that remove the most privilege first (each target's registry rank).
pub const FALLBACK_ORDER: [Target; crate::targets::COUNT] = crate::targets::FALLBACK_ORDER;

/// Name of the pseudo-pipeline for settings no pipeline claims.
const GLOBAL: &str = "(global)";

/// Group index per entry: entries that share a finding (a definition) are one group.
fn group_by_findings(
    entries: &BTreeMap<(String, String), Vec<Finding>>,
    keys: &[(String, String)],
    same_compose_file: bool,
) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..keys.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while let Some(&p) = parent.get(i) {
            if p == i {
                break;
            }
            let gp = parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = parent.get_mut(i) {
                *slot = gp;
            }
            i = p;
        }
        i
    }
    let mut first_owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, fs) in entries.values().enumerate() {
        for f in fs {
            match first_owner.get(f.fingerprint.as_str()) {
                None => {
                    first_owner.insert(f.fingerprint.as_str(), i);
                }
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        let (lo, hi) = (a.min(b), a.max(b));
                        if let Some(slot) = parent.get_mut(hi) {
                            *slot = lo;
                        }
                    }
                }
            }
        }
    }
    // Compose services of one file share what a migration adds to it (a daemon service, the
    // certificates volume): they are planned together.
    let mut by_file: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, ((path, _), fs)) in entries.iter().enumerate() {
        if !same_compose_file || !fs.iter().any(|f| f.surface == Surface::Compose) {
            continue;
        }
        match by_file.get(path.as_str()) {
            None => {
                by_file.insert(path.as_str(), i);
            }
            Some(&j) => {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a != b {
                    let (lo, hi) = (a.min(b), a.max(b));
                    if let Some(slot) = parent.get_mut(hi) {
                        *slot = lo;
                    }
                }
            }
        }
    }
    (0..keys.len()).map(|i| find(&mut parent, i)).collect()
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
        fixture: findings
            .iter()
            .any(|f| f.fixture)
            .then(|| crate::fixture::classify(path))
            .flatten(),
        fixture_included: findings.iter().all(|f| f.fixture_included),
        swarm: None,
        privilege: BTreeSet::new(),
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
        line_diff(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", self.path), &format!("b/{}", self.path))
            .to_string()
    }
}

/// The line diff of a migrated file. Patience diff anchors on unique lines, so a file of
/// thousands of near-identical jobs diffs in linear time where Myers' algorithm is quadratic;
/// the timeout bounds pathological inputs.
pub fn line_diff<'a>(before: &'a str, after: &'a str) -> similar::TextDiff<'a, 'a, 'a, str> {
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_secs(2))
        .diff_lines(before, after)
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
///
/// Pipelines of one group (they share a definition) that take the same target are rewritten
/// together, so the shared definition is edited once with every companion change. In `auto`
/// mode a unit whose recommended target cannot be applied (the rewriter refuses it, or its
/// edits fail verification) falls back to the next feasible target in [`FALLBACK_ORDER`].
/// Nothing is written for a pipeline that ends manual.
pub fn preview(
    plan: &MigrationPlan,
    scan: &ScanResult,
    files: &dyn Files,
    templates: &Templates,
    rescan: &Rescan<'_>,
) -> Preview {
    let mut units = units_of(plan);
    let env = &plan.environment;
    let rewrite_unit = |u: &Unit| -> Outcome {
        let Some(target) = u.target else {
            return device_unit(plan, u, files);
        };
        let Some(first) = u.members.first().and_then(|&i| plan.pipelines.get(i)) else {
            return Outcome::default();
        };
        let mut seen = BTreeSet::new();
        let findings: Vec<&Finding> = u
            .members
            .iter()
            .filter_map(|&i| plan.pipelines.get(i))
            .flat_map(|p| p.findings.iter())
            .filter(|f| seen.insert(f.fingerprint.as_str()))
            .collect();
        let group: Vec<&PipelineSummary> = u
            .members
            .iter()
            .filter_map(|&i| plan.pipelines.get(i))
            .map(|p| &p.pipeline)
            .collect();
        let req = Request {
            pipeline: &first.pipeline,
            target,
            findings,
            env,
            templates,
            files,
        };
        let mut o = rewrite::rewrite_group(&req, &group);
        if matches!(o.status, Some(Status::Manual | Status::Unsupported)) || o.addressed_nothing() {
            // A refused or empty fix writes nothing.
            o.edits.clear();
        }
        o
    };
    let mut outcomes: Vec<Outcome> = vec![Outcome::default(); units.len()];
    let mut pending: Vec<usize> = (0..units.len()).collect();
    let mut dropped: Vec<Vec<String>> = vec![Vec::new(); units.len()];
    let mut final_changes: Vec<FileChange> = Vec::new();
    let mut after_scan: Option<ScanResult> = None;
    for _attempt in 0..FALLBACK_ORDER.len() + 1 {
        // Rewrite what needs it (in parallel), falling back on refusal.
        loop {
            let fresh: Vec<(usize, Outcome)> = pending
                .par_iter()
                .filter_map(|&i| units.get(i).map(|u| (i, rewrite_unit(u))))
                .collect();
            pending.clear();
            for (i, o) in fresh {
                let Some(u) = units.get_mut(i) else {
                    continue;
                };
                let failed = o.edits.is_empty() && u.target.is_some();
                if failed {
                    let reason = refusal_reason(&o);
                    if u.first.is_none() {
                        u.first = Some(o.clone());
                    }
                    if u.fall_back(plan, reason) {
                        pending.push(i);
                        continue;
                    }
                    // No target applies: keep what the recommended one said (its manual tasks).
                    if let Some(first) = u.restore() {
                        if let Some(slot) = outcomes.get_mut(i) {
                            *slot = first;
                        }
                        continue;
                    }
                }
                if let Some(slot) = outcomes.get_mut(i) {
                    *slot = o;
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        let mut kept: Vec<bool> = outcomes.iter().map(|o| !o.edits.is_empty()).collect();
        let members: Vec<BTreeSet<(String, String)>> = units
            .iter()
            .map(|u| {
                u.members
                    .iter()
                    .filter_map(|&i| plan.pipelines.get(i))
                    .map(|p| (p.pipeline.path.clone(), p.pipeline.name.clone()))
                    .collect()
            })
            .collect();
        let (changes, after) = verify_rounds(
            &outcomes,
            &members,
            &mut kept,
            &mut dropped,
            scan,
            files,
            rescan,
        );
        // Units whose edits were dropped by verification may still fall back.
        for (i, k) in kept.iter().enumerate() {
            let had_edits = outcomes.get(i).is_some_and(|o| !o.edits.is_empty());
            if had_edits && !*k {
                let reason = dropped
                    .get(i)
                    .and_then(|d| d.last().cloned())
                    .unwrap_or_default();
                if let Some(u) = units.get_mut(i)
                    && u.auto
                    && {
                        if u.first.is_none() {
                            u.first = outcomes.get(i).cloned().map(|mut o| {
                                o.edits.clear();
                                o.notes.push(reason.clone());
                                o
                            });
                        }
                        u.fall_back(plan, reason.clone())
                    }
                {
                    pending.push(i);
                    if let Some(d) = dropped.get_mut(i) {
                        d.clear();
                    }
                }
            }
        }
        if pending.is_empty() {
            for (i, k) in kept.iter().enumerate() {
                if !*k && let Some(o) = outcomes.get_mut(i) {
                    o.edits.clear();
                }
            }
            final_changes = changes;
            after_scan = after;
            break;
        }
    }
    for c in &mut final_changes {
        let diff = line_diff(&c.before, &c.after);
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
    let mut results: Vec<Option<PipelineResult>> = vec![None; plan.pipelines.len()];
    for (ui, (u, o)) in units.iter().zip(outcomes).enumerate() {
        let kept = !o.edits.is_empty();
        let drops = dropped.get(ui).cloned().unwrap_or_default();
        for (k, &i) in u.members.iter().enumerate() {
            let Some(p) = plan.pipelines.get(i) else {
                continue;
            };
            let first = u.members.first().and_then(|&f| plan.pipelines.get(f));
            let (mine, member_kept) = if u.members.len() > 1 && p.shared_with.is_empty() {
                // Planned with the others only because they share a compose file: its own
                // tasks, notes and status.
                let others: Vec<&PipelinePlan> = u
                    .members
                    .iter()
                    .filter(|&&j| j != i)
                    .filter_map(|&j| plan.pipelines.get(j))
                    .collect();
                let (own, edited) = own_part(&o, p, &others);
                (own, kept && edited)
            } else if k == 0 {
                // The unit's manual tasks and notes are listed once, on its first member.
                (o.clone(), kept)
            } else {
                let mut shared = Outcome {
                    edits: o.edits.clone(),
                    addressed: o.addressed.clone(),
                    status: o.status,
                    ..Outcome::default()
                };
                if let Some(first) = first {
                    shared.notes.push(format!(
                        "migrated together with `{}` (they share a definition); its manual tasks apply here too",
                        first.pipeline.name
                    ));
                }
                (shared, kept)
            };
            let mut mine = mine;
            if p.choice == Choice::Manual && mine.manual.is_empty() {
                mine.manual.extend(advice_tasks(p, &plan.environment));
            }
            let mut r = result_of(p, mine, member_kept, drops.clone(), &remaining, u);
            if r.status == Status::Manual || r.status == Status::Unsupported {
                r.files.clear();
            }
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    Preview {
        changes: final_changes,
        results: results.into_iter().flatten().collect(),
        remaining,
    }
}

/// Pipelines rewritten together: the members of one group that take the same target.
#[derive(Clone, Debug)]
struct Unit {
    /// Plan indices, in plan order.
    members: Vec<usize>,
    /// The target in force (after fallbacks); `None` for skip/manual.
    target: Option<Target>,
    /// Whether auto mode chose the target (only then does it fall back).
    auto: bool,
    /// Targets tried before, with why they could not be applied.
    tried: Vec<(Target, String)>,
    /// The chosen target's own outcome, kept while fallbacks are tried.
    first: Option<Outcome>,
}

impl Unit {
    /// Move to the next feasible target; false when none is left.
    fn fall_back(&mut self, plan: &MigrationPlan, reason: String) -> bool {
        let Some(t) = self.target else {
            return false;
        };
        if !self.auto {
            return false;
        }
        self.tried.push((t, reason));
        let origin = self.tried.first().map_or(t, |(o, _)| *o);
        let feasible = |c: Target| {
            self.members
                .iter()
                .filter_map(|&i| plan.pipelines.get(i))
                .all(|p| {
                    p.options
                        .iter()
                        .any(|o| o.target == c && o.infeasible.is_none())
                })
        };
        let next = FALLBACK_ORDER
            .iter()
            .copied()
            .filter(|&c| !self.tried.iter().any(|(x, _)| *x == c))
            .find(|&c| feasible(c) && fallback_allowed(origin, c));
        match next {
            Some(n) => {
                self.target = Some(n);
                true
            }
            None => false,
        }
    }

    /// Give up on fallbacks: back to the chosen target and its own outcome.
    fn restore(&mut self) -> Option<Outcome> {
        let first = self.first.take()?;
        if let Some((origin, _)) = self.tried.first() {
            self.target = Some(*origin);
        }
        self.tried.clear();
        Some(first)
    }
}

/// Auto mode falls back only to targets the registry allows as fallbacks: TLS dind keeps a
/// privileged daemon, so it is offered to the user, never chosen as a fallback.
fn fallback_allowed(_from: Target, to: Target) -> bool {
    crate::targets::auto_fallback(to)
}

/// The first line that says why a rewrite produced no edits.
fn refusal_reason(o: &Outcome) -> String {
    o.manual
        .first()
        .map(|m| m.title.clone())
        .or_else(|| o.notes.first().cloned())
        .unwrap_or_else(|| "nothing in the repository could be changed".to_string())
}

impl Outcome {
    /// Whether the outcome claims no finding and changes nothing.
    fn addressed_nothing(&self) -> bool {
        self.edits.is_empty() && self.addressed.is_empty()
    }
}

fn units_of(plan: &MigrationPlan) -> Vec<Unit> {
    let mut by: BTreeMap<(usize, Option<Target>, bool), Vec<usize>> = BTreeMap::new();
    for (i, p) in plan.pipelines.iter().enumerate() {
        let target = p.choice.target();
        // Taking the recommended target (in auto mode, in the UI or from a plan file, which
        // then replays the same fallbacks) lets the unit fall back; another target does not.
        let auto = target.is_some()
            && p.choice == Choice::from(p.recommended)
            && !p.why.starts_with("--strategy");
        // Skip/manual pipelines are units of their own.
        let g = if target.is_some() {
            p.group
        } else {
            usize::MAX - i
        };
        by.entry((g, target, auto)).or_default().push(i);
    }
    let mut units: Vec<Unit> = by
        .into_iter()
        .map(|((_, target, auto), members)| Unit {
            members,
            target,
            auto,
            tried: Vec::new(),
            first: None,
        })
        .collect();
    units.sort_by_key(|u| u.members.first().copied());
    units
}

type Verified = (Vec<FileChange>, Option<ScanResult>);

/// Merge the kept units' edits per file, apply, re-scan and verify until stable; units whose
/// edits conflict or fail verification are dropped (`kept[i] = false`).
fn verify_rounds(
    outcomes: &[Outcome],
    members: &[BTreeSet<(String, String)>],
    kept: &mut [bool],
    dropped: &mut [Vec<String>],
    scan: &ScanResult,
    files: &dyn Files,
    rescan: &Rescan<'_>,
) -> Verified {
    for _round in 0..8 {
        let mut by_file: BTreeMap<String, Vec<(usize, Edit)>> = BTreeMap::new();
        for (i, o) in outcomes.iter().enumerate() {
            if !kept.get(i).copied().unwrap_or(false) {
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
            if let Some(d) = scan
                .diagnostics
                .iter()
                .find(|d| d.path == *path && d.level == DiagLevel::Error)
            {
                // Never edit a file that did not parse.
                for (i, _) in edits {
                    drop_pipeline(
                        kept,
                        dropped,
                        *i,
                        format!(
                            "{path} could not be parsed ({} at {}:{}); nothing is changed there",
                            d.message, d.line, d.column
                        ),
                    );
                }
                again = true;
                continue;
            }
            let Some(before) = files.text(path) else {
                for (i, _) in edits {
                    drop_pipeline(kept, dropped, *i, format!("{path}: cannot read the file"));
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
                    // Keep the first unit's edits of this file, drop the last one's.
                    if let Some((i, _)) = edits
                        .iter()
                        .rev()
                        .find(|(i, _)| edits.iter().any(|(j, _)| j != i))
                    {
                        drop_pipeline(
                            kept,
                            dropped,
                            *i,
                            format!("{path}: edits conflict with another pipeline's ({e})"),
                        );
                    } else if let Some((i, _)) = edits.first() {
                        drop_pipeline(kept, dropped, *i, format!("{path}: {e}"));
                    }
                    again = true;
                }
            }
        }
        if again {
            continue;
        }
        if changes.is_empty() {
            return (changes, None);
        }
        let overlay: BTreeMap<String, String> = changes
            .iter()
            .map(|c| (c.path.clone(), c.after.clone()))
            .collect();
        let after = rescan(&overlay);
        // A finding a unit addresses is addressed for the unit's pipelines: where it is shared
        // with pipelines of another unit (a definition several jobs inherit, each moving to
        // its own target), it may remain for those.
        let addressed: BTreeSet<(&str, &str, &str)> = outcomes
            .iter()
            .enumerate()
            .filter(|(i, _)| kept.get(*i).copied().unwrap_or(false))
            .flat_map(|(i, o)| {
                let m = members.get(i);
                o.addressed.iter().flat_map(move |fp| {
                    m.into_iter()
                        .flatten()
                        .map(move |(path, name)| (fp.as_str(), path.as_str(), name.as_str()))
                        // A finding that names no affected pipeline is addressed as a whole.
                        .chain(std::iter::once((fp.as_str(), "", "")))
                })
            })
            .collect();
        for c in &changes {
            let reason = verify_file(c, scan, &after, &addressed);
            if let Some(reason) = reason {
                for (i, o) in outcomes.iter().enumerate() {
                    if kept.get(i).copied().unwrap_or(false)
                        && o.edits.iter().any(|e| e.path == c.path)
                    {
                        drop_pipeline(
                            kept,
                            dropped,
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
        return (changes, Some(after));
    }
    for k in kept.iter_mut() {
        *k = false;
    }
    (Vec::new(), None)
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
    change: &FileChange,
    before: &ScanResult,
    after: &ScanResult,
    addressed: &BTreeSet<(&str, &str, &str)>,
) -> Option<String> {
    let path = change.path.as_str();
    if let Some(reason) = yaml_damage(change) {
        return Some(reason);
    }
    // A result the strict reader rejects where the original was accepted (TOML, JSON,
    // Groovy; YAML is judged above).
    if !path.ends_with(".yml")
        && !path.ends_with(".yaml")
        && rewrite::parse_failure(path, &change.before).is_none()
        && let Some((at, message)) = rewrite::parse_failure(path, &change.after)
    {
        return Some(format!(
            "the result does not parse ({message} at byte {at})"
        ));
    }
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
    // Counted per affected pipeline: (rule) → pipelines it still affects.
    let before_left = count_pairs(before, path, |f, (p, n)| {
        !addressed.contains(&(f.fingerprint.as_str(), p, n))
    });
    let after_all = count_pairs(after, path, |_, _| true);
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

/// Per rule, the (finding, affected pipeline) pairs of unsuppressed findings in `path` that
/// `keep` admits. A finding with no affected pipeline counts once, as the pair `("", "")`.
fn count_pairs<'a>(
    scan: &'a ScanResult,
    path: &str,
    keep: impl Fn(&'a Finding, (&'a str, &'a str)) -> bool,
) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for f in scan
        .findings
        .iter()
        .filter(|f| f.path == path && !f.suppressed)
    {
        let pairs: Vec<(&str, &str)> = if f.affected.is_empty() {
            vec![("", "")]
        } else {
            f.affected
                .iter()
                .map(|(p, n)| (p.as_str(), n.as_str()))
                .collect()
        };
        for pair in pairs {
            if keep(f, pair) {
                *m.entry(f.rule).or_insert(0) += 1;
            }
        }
    }
    m
}

/// A YAML file the migration leaves unparsable where it parsed before (the re-scan reads some
/// YAML leniently: templated Helm values skip lines that do not parse, so the strict parse
/// decides here), or with a mapping key repeated that was not repeated before (invalid for
/// GitLab, compose and Kubernetes alike).
fn yaml_damage(change: &FileChange) -> Option<String> {
    let yaml = [".yml", ".yaml"].iter().any(|e| change.path.ends_with(e));
    if !yaml {
        return None;
    }
    let line_of = |at: usize| {
        change
            .after
            .get(..at)
            .map_or(1, |t| t.matches('\n').count() + 1)
    };
    let key_text = |src: &str, r: &std::ops::Range<usize>| -> String {
        src.get(r.clone()).unwrap_or("").trim().to_string()
    };
    let before = crate::source::yaml::Yaml::parse(&change.before);
    let y = match crate::source::yaml::Yaml::parse(&change.after) {
        Ok(y) => y,
        Err(e) if before.is_ok() => {
            return Some(format!(
                "the result does not parse (invalid YAML at line {}: {})",
                line_of(e.offset),
                e.message
            ));
        }
        Err(_) => return None,
    };
    let mut before_keys: BTreeMap<String, usize> = BTreeMap::new();
    if let Ok(b) = &before {
        for r in b.duplicate_keys() {
            *before_keys.entry(key_text(&change.before, r)).or_insert(0) += 1;
        }
    }
    let mut after: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in y.duplicate_keys() {
        let e = after
            .entry(key_text(&change.after, r))
            .or_insert((0, r.start));
        e.0 += 1;
    }
    after.into_iter().find_map(|(k, (n, at))| {
        (n > before_keys.get(&k).copied().unwrap_or(0)).then(|| {
            format!(
                "the result repeats the mapping key `{k}` (line {})",
                line_of(at)
            )
        })
    })
}

/// The part of a unit's outcome that belongs to one of its members when the members were
/// rewritten together only because they sit in one compose file: the manual tasks at its own
/// findings, the notes that name it, and — when edits address any of its findings — the
/// unit's edits and the tasks and notes that name no member (the host tasks, the target's
/// pitfalls). The flag says whether edits address its findings.
fn own_part(o: &Outcome, me: &PipelinePlan, others: &[&PipelinePlan]) -> (Outcome, bool) {
    let at = |p: &PipelinePlan| -> BTreeSet<String> {
        p.findings
            .iter()
            .map(|f| format!("{}:{}", f.path, f.line))
            .collect()
    };
    let mine = at(me);
    let theirs: BTreeSet<String> = others.iter().flat_map(|p| at(p)).collect();
    let names = |p: &PipelinePlan| format!("`{}`", p.pipeline.name);
    let edited = me
        .findings
        .iter()
        .any(|f| o.addressed.contains(&f.fingerprint));
    let manual = o
        .manual
        .iter()
        .filter(|t| {
            mine.contains(&t.location)
                || (edited
                    && !theirs.contains(&t.location)
                    && !others.iter().any(|p| t.title.contains(&names(p))))
        })
        .cloned()
        .collect();
    let notes = o
        .notes
        .iter()
        .filter(|n| {
            let them = others.iter().any(|p| n.contains(&names(p)));
            n.contains(&names(me)) || (edited && !them)
        })
        .cloned()
        .collect();
    let own = Outcome {
        edits: if edited { o.edits.clone() } else { Vec::new() },
        manual,
        notes,
        addressed: o.addressed.clone(),
        status: o.status,
    };
    (own, edited)
}

/// A unit that takes the narrower device (a pipeline privileged only for KVM): its
/// privileged flags become `/dev/kvm`. Skip and manual units write nothing.
fn device_unit(plan: &MigrationPlan, u: &Unit, files: &dyn Files) -> Outcome {
    let members: Vec<&PipelinePlan> = u
        .members
        .iter()
        .filter_map(|&i| plan.pipelines.get(i))
        .filter(|p| p.choice == Choice::Device)
        .collect();
    if members.is_empty() {
        return Outcome::default();
    }
    let findings: Vec<&Finding> = members.iter().flat_map(|p| p.findings.iter()).collect();
    let mut o = rewrite::device::kvm(&findings, files);
    if o.edits.is_empty() {
        o.status = Some(Status::Manual);
        for p in &members {
            o.manual.extend(advice_tasks(p, &plan.environment));
        }
    }
    o
}

/// The manual steps of a pipeline privileged for its workload (the narrower device to write).
fn advice_tasks(p: &PipelinePlan, env: &Environment) -> Vec<ManualTask> {
    let s = &p.pipeline;
    plan::advise(&s.privilege, s.surface, s.hosting, env)
        .map(|a| a.tasks)
        .unwrap_or_default()
        .into_iter()
        .map(|t| ManualTask {
            title: t.title,
            location: format!("{}:{}", s.path, s.line),
            snippet: t.snippet,
            lang: t.lang.to_string(),
        })
        .collect()
}

fn result_of(
    p: &PipelinePlan,
    o: Outcome,
    kept: bool,
    dropped: Vec<String>,
    remaining: &[Finding],
    unit: &Unit,
) -> PipelineResult {
    let mut notes = Vec::new();
    for (t, why) in &unit.tried {
        notes.push(format!(
            "{} could not be applied ({why}); fell back to {}",
            t.as_str(),
            unit.target.map_or("manual", Target::as_str)
        ));
    }
    notes.extend(o.notes);
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
            remaining.iter().any(|r| {
                r.rule == f.rule
                    && r.path == f.path
                    // Still this pipeline's: a finding on a shared definition may remain for
                    // the other pipelines that inherit it only.
                    && if r.affected.is_empty() {
                        r.pipeline == f.pipeline
                    } else {
                        r.affected
                            .iter()
                            .any(|(path, name)| *path == p.pipeline.path && *name == p.pipeline.name)
                    }
            })
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
    } else if kept && addressed == 0 && !o.edits.is_empty() {
        // Edits that harden the pipeline but leave its findings (rootless and TLS dind keep a
        // privileged daemon): written, so never reported as manual.
        Status::Partial
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
    let choice = unit.target.map_or(p.choice, Choice::from);
    PipelineResult {
        path: p.pipeline.path.clone(),
        pipeline: p.pipeline.name.clone(),
        surface: p.pipeline.surface,
        choice,
        why: p.why.clone(),
        status,
        findings: p.findings.len(),
        addressed,
        manual: o.manual,
        notes,
        residual_risk: choice.target().map(|t| plan::describe(t).1),
        files: files.into_iter().collect(),
    }
}
