//! `update(&mut Model, Msg) -> Option<Effect>`: every state change of the UI, in memory
//! only. Disk work is returned as an [`Effect`]; its result comes back as a [`Msg`]. Keys
//! pressed while work runs are queued and replayed when it is done (except that nothing
//! typed ahead ever confirms a write).

use std::sync::Arc;

use crate::config::RunnerHosts;
use crate::finding::Surface;
use crate::migrate::{MigrationPlan, Preview};
use crate::model::Hosting;
use crate::plan::Choice;
use crate::scan::ScanResult;
use crate::write::{Replacement, WriteReport};

use super::diffdoc::DiffDoc;
use super::index::{self, Index};
use super::keys::Action;
use super::layout;
use super::model::{
    self, DiffFile, DiffMode, ENV_CACHE, ENV_HOSTS, ENV_QUESTIONS, ENV_REGISTRY, ENV_SYSBOX, Focus,
    Level, Model, Overlay, REPORT_ACTIONS, ReportAction, Screen, SkippedFile, Status,
};
use super::msg::{Effect, Guard, Input, Msg, Output, WriteFailure};

/// Why a choice was made in the UI (shown in reports next to the choice).
pub const WHY_USER: &str = "chosen in the terminal UI";
/// Why a pipeline was skipped from the diff viewer.
pub const WHY_FILE_SKIPPED: &str = "a file it edits was skipped in the diff viewer";

const MAX_QUEUE: usize = 64;
const MAX_TEXT: usize = 256;

/// Busy labels (the status line shows them with a spinner).
pub mod busy {
    /// Scanning.
    pub const SCANNING: &str = "Scanning";
    /// Planning.
    pub const PLANNING: &str = "Planning the migration";
    /// Preview.
    pub const PREVIEWING: &str = "Rewriting, re-scanning and diffing";
    /// Writing.
    pub const WRITING: &str = "Writing";
    /// Saving a file.
    pub const SAVING: &str = "Saving";
}

/// Apply a message.
pub fn update(m: &mut Model, msg: Msg) -> Option<Effect> {
    match msg {
        Msg::Tick => {
            m.tick = m.tick.wrapping_add(1);
            None
        }
        Msg::Resize(w, h) => {
            m.size = (w, h);
            refollow(m);
            None
        }
        Msg::Wheel(d) => {
            wheel(m, d);
            None
        }
        Msg::Discovered(n) => {
            m.progress.discovered = Some(n);
            None
        }
        Msg::Progress(n) => {
            m.progress.read = n;
            None
        }
        Msg::Scanned(s) => {
            scanned(m, s);
            drain(m)
        }
        Msg::Planned(p) => {
            planned(m, *p);
            drain(m)
        }
        Msg::Previewed(p, docs) => {
            previewed(m, p, docs);
            drain(m)
        }
        Msg::Written(r) => {
            written(m, r);
            drain(m)
        }
        Msg::Saved(o, r) => {
            saved(m, o, r);
            drain(m)
        }
        Msg::Input(i) => {
            input(m, i);
            None
        }
        Msg::Action(a) => action(m, a),
    }
}

/// Replay keys queued while busy.
fn drain(m: &mut Model) -> Option<Effect> {
    while m.busy.is_none() && !m.quit {
        let a = m.queued.pop_front()?;
        if let Some(e) = action(m, a) {
            return Some(e);
        }
    }
    None
}

fn status(m: &mut Model, level: Level, text: impl Into<String>) {
    m.status = Some(Status {
        level,
        text: text.into(),
    });
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn writing(m: &Model) -> bool {
    m.busy.as_deref() == Some(busy::WRITING)
}

fn action(m: &mut Model, a: Action) -> Option<Effect> {
    match a {
        Action::ForceQuit if writing(m) => {
            status(m, Level::Warn, "Writing: wait until the files are replaced");
            return None;
        }
        Action::ForceQuit => return quit_now(m),
        Action::Help => {
            m.overlay = Some(Overlay::Help);
            return None;
        }
        Action::CloseOverlay => {
            m.overlay = None;
            return None;
        }
        _ => {}
    }
    if let Some(Overlay::Quit { quit }) = m.overlay {
        return match a {
            Action::QuitYes => quit_now(m),
            Action::Forward if quit => quit_now(m),
            Action::QuitNo | Action::Forward | Action::Back => {
                m.overlay = None;
                None
            }
            Action::NextPane | Action::PrevPane | Action::Left | Action::Right => {
                m.overlay = Some(Overlay::Quit { quit: !quit });
                None
            }
            _ => None,
        };
    }
    if a == Action::Quit {
        if writing(m) {
            status(m, Level::Warn, "Writing: wait until the files are replaced");
            return None;
        }
        if m.decisions_at_risk() {
            m.overlay = Some(Overlay::Quit { quit: false });
            return None;
        }
        return quit_now(m);
    }
    if m.busy.is_some() {
        if m.screen == Screen::Scanning && a == Action::Back {
            return quit_now(m);
        }
        if m.queued.len() < MAX_QUEUE {
            m.queued.push_back(a);
        }
        return None;
    }
    match m.screen {
        Screen::Scanning => None,
        Screen::Overview => overview(m, a),
        Screen::Detail => detail(m, a),
        Screen::Environment => environment(m, a),
        Screen::Targets => targets(m, a),
        Screen::Diff => diff(m, a),
        Screen::Confirm => confirm(m, a),
        Screen::Report => report(m, a),
    }
}

fn quit_now(m: &mut Model) -> Option<Effect> {
    m.quit = true;
    m.overlay = None;
    (m.screen == Screen::Scanning && m.busy.is_some()).then_some(Effect::CancelScan)
}

// ---- scan and overview ------------------------------------------------------------------

fn scanned(m: &mut Model, s: Arc<ScanResult>) {
    m.busy = None;
    m.progress.read = s.files_scanned;
    let mut surfaces: Vec<Surface> = s.findings.iter().map(|f| f.surface).collect();
    surfaces.sort();
    surfaces.dedup();
    let rules: Vec<&'static str> = crate::rules::REGISTRY
        .iter()
        .map(|r| r.id)
        .filter(|id| s.findings.iter().any(|f| f.rule == *id))
        .collect();
    m.overview.surfaces = surfaces;
    m.overview.rules = rules;
    m.env.hints = env_hints(&s, &m.env.original);
    let active = s.findings.iter().filter(|f| !f.suppressed).count();
    let errors = s
        .diagnostics
        .iter()
        .filter(|d| d.level == crate::finding::DiagLevel::Error)
        .count();
    let text = format!(
        "Scanned {}: {} active {}{}",
        plural(s.files_scanned, "file", "files"),
        active,
        if active == 1 { "finding" } else { "findings" },
        if errors > 0 {
            format!(
                "; {} could not be read or parsed",
                plural(errors, "file", "files")
            )
        } else {
            String::new()
        }
    );
    status(m, if errors > 0 { Level::Warn } else { Level::Info }, text);
    m.scan = Some(s);
    rebuild(m);
    if m.screen == Screen::Scanning {
        m.screen = Screen::Overview;
    }
}

fn env_hints(s: &ScanResult, original: &crate::config::Environment) -> Vec<String> {
    let mut hints = Vec::new();
    if *original != crate::config::Environment::default() {
        hints.push("Pre-filled from the [environment] table of .depriv.toml.".to_string());
    } else {
        hints.push("Pre-filled with the defaults (what --accept-defaults uses).".to_string());
    }
    let count = |h: Hosting| s.pipelines.iter().filter(|p| p.hosting == h).count();
    let gh = count(Hosting::GithubHosted);
    if gh > 0 {
        hints.push(format!(
            "The scan saw {} on GitHub-hosted runners: sysbox is never offered there.",
            plural(gh, "job", "jobs")
        ));
    }
    let runner = s
        .pipelines
        .iter()
        .filter(|p| p.surface == Surface::RunnerToml)
        .count();
    if runner > 0 {
        hints.push(format!(
            "The scan saw {} in a GitLab Runner config.toml: those hosts are self-managed.",
            plural(runner, "runner", "runners")
        ));
    }
    let kube = count(Hosting::Kubernetes);
    if kube > 0 {
        hints.push(format!(
            "The scan saw {} running in Kubernetes.",
            plural(kube, "pipeline", "pipelines")
        ));
    }
    hints
}

/// Rebuild the overview index after a filter change, keeping the selection near.
fn rebuild(m: &mut Model) {
    let Some(scan) = m.scan.as_ref() else {
        return;
    };
    let idx = Index::build(scan, &m.overview.filter);
    let o = &mut m.overview;
    o.index = idx;
    o.sel = o
        .index
        .nearest_group_row(o.sel.min(o.index.rows.len().saturating_sub(1)));
    o.fsel = 0;
    o.foffset = 0;
    refollow(m);
}

fn overview_rows(m: &Model) -> (usize, usize) {
    let [_, left, findings, _] = layout::overview(m.frame().body);
    (layout::inner_rows(left), layout::inner_rows(findings))
}

fn group_len(m: &Model) -> usize {
    m.overview
        .index
        .group_at(m.overview.sel)
        .map_or(0, |g| g.findings.len())
}

fn move_overview(m: &mut Model, delta: isize) {
    let (rows, frows) = overview_rows(m);
    let o = &mut m.overview;
    match o.focus {
        Focus::Pipelines => {
            let before = o.sel;
            o.sel = o.index.step(o.sel, delta);
            if o.sel != before {
                o.fsel = 0;
                o.foffset = 0;
            }
            o.offset = layout::follow(o.offset, o.sel, rows);
            // Show the heading above the first pipeline.
            if o.index.step(o.sel, -1) == o.sel {
                o.offset = 0;
            }
        }
        Focus::Findings => {
            let n = o.index.group_at(o.sel).map_or(0, |g| g.findings.len());
            o.fsel = clamp_add(o.fsel, delta, n);
            o.foffset = layout::follow(o.foffset, o.fsel, frows);
        }
    }
}

fn clamp_add(cur: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    cur.saturating_add_signed(delta).min(len - 1)
}

fn forward_from_overview(m: &mut Model) -> Option<Effect> {
    let scan = m.scan.as_ref()?;
    let errors: Vec<&str> = scan
        .diagnostics
        .iter()
        .filter(|d| d.level == crate::finding::DiagLevel::Error)
        .map(|d| d.path.as_str())
        .collect();
    if !errors.is_empty() {
        let text = format!(
            "Cannot migrate: {} could not be parsed ({}); fix them first",
            plural(errors.len(), "file", "files"),
            errors.join(", ")
        );
        status(m, Level::Error, text);
        return None;
    }
    if !scan.findings.iter().any(|f| !f.suppressed) {
        status(m, Level::Done, "Nothing to migrate: no active findings");
        m.quit = true;
        return None;
    }
    m.screen = Screen::Environment;
    m.env.sel = ENV_HOSTS;
    None
}

fn overview(m: &mut Model, a: Action) -> Option<Effect> {
    let page = overview_rows(m).0.max(1) as isize;
    match a {
        Action::Forward => return forward_from_overview(m),
        Action::Up => move_overview(m, -1),
        Action::Down => move_overview(m, 1),
        Action::PageUp => move_overview(m, -page),
        Action::PageDown => move_overview(m, page),
        Action::Top => move_overview(m, isize::MIN / 2),
        Action::Bottom => move_overview(m, isize::MAX / 2),
        Action::NextPane | Action::PrevPane => {
            m.overview.focus = match m.overview.focus {
                Focus::Pipelines if group_len(m) > 0 => Focus::Findings,
                _ => Focus::Pipelines,
            };
        }
        Action::Detail => open_detail(m),
        Action::Search => m.overview.searching = true,
        Action::CycleSeverity => {
            m.overview.filter.min_severity = index::next_severity(m.overview.filter.min_severity);
            rebuild(m);
        }
        Action::CycleSurface => {
            m.overview.filter.surface =
                index::next_in(m.overview.filter.surface, &m.overview.surfaces);
            rebuild(m);
        }
        Action::CycleRule => {
            m.overview.filter.rule = index::next_in(m.overview.filter.rule, &m.overview.rules);
            rebuild(m);
        }
        Action::ToggleSuppressed => {
            m.overview.filter.show_suppressed = !m.overview.filter.show_suppressed;
            rebuild(m);
        }
        Action::ClearFilter => {
            let show = m.overview.filter.show_suppressed;
            m.overview.filter = index::Filter {
                show_suppressed: show,
                ..index::Filter::default()
            };
            rebuild(m);
        }
        _ => {}
    }
    None
}

fn open_detail(m: &mut Model) {
    let o = &m.overview;
    let Some(g) = o.index.group_at(o.sel) else {
        status(m, Level::Warn, "No finding selected");
        return;
    };
    let pick = if o.focus == Focus::Findings {
        o.fsel
    } else {
        0
    };
    let Some(&f) = g.findings.get(pick).or(g.findings.first()) else {
        return;
    };
    m.detail = model::DetailState {
        finding: f,
        siblings: g.findings.clone(),
        scroll: 0,
    };
    m.screen = Screen::Detail;
}

fn input(m: &mut Model, i: Input) {
    if m.screen == Screen::Overview && m.overview.searching {
        match i {
            Input::Char(c) if !c.is_control() && m.overview.filter.search.len() < MAX_TEXT => {
                m.overview.filter.search.push(c)
            }
            Input::Char(_) => return,
            Input::Backspace => {
                m.overview.filter.search.pop();
            }
            Input::Submit => {
                m.overview.searching = false;
                return;
            }
            Input::Cancel => {
                m.overview.searching = false;
                m.overview.filter.search.clear();
            }
        }
        rebuild(m);
    } else if m.screen == Screen::Environment
        && let Some(text) = m.env.editing.as_mut()
    {
        match i {
            Input::Char(c) if !c.is_control() && !c.is_whitespace() && text.len() < MAX_TEXT => {
                text.push(c)
            }
            Input::Char(_) => {}
            Input::Backspace => {
                text.pop();
            }
            Input::Submit => {
                let t = text.trim().to_string();
                m.env.env.registry = (!t.is_empty()).then_some(t);
                m.env.editing = None;
                m.changed |= m.env.env != m.env.original;
            }
            Input::Cancel => m.env.editing = None,
        }
    }
}

// ---- detail -----------------------------------------------------------------------------

fn detail(m: &mut Model, a: Action) -> Option<Effect> {
    let rows = layout::inner_rows(layout::detail(m.frame().body)[2]).max(1);
    let max = super::view::detail::text_lines(m).saturating_sub(rows);
    let d = &mut m.detail;
    match a {
        Action::Back | Action::Left => m.screen = Screen::Overview,
        Action::Forward => return forward_from_overview(m),
        Action::NextItem | Action::PrevItem => {
            let pos = d.siblings.iter().position(|i| *i == d.finding).unwrap_or(0);
            let delta = if a == Action::NextItem { 1 } else { -1 };
            let next = clamp_add(pos, delta, d.siblings.len());
            if let Some(&f) = d.siblings.get(next) {
                d.finding = f;
                d.scroll = 0;
            }
        }
        Action::Up => d.scroll = d.scroll.saturating_sub(1),
        Action::Down => d.scroll = (d.scroll + 1).min(max),
        Action::PageUp => d.scroll = d.scroll.saturating_sub(rows),
        Action::PageDown => d.scroll = (d.scroll + rows).min(max),
        Action::Top => d.scroll = 0,
        Action::Bottom => d.scroll = max,
        _ => {}
    }
    None
}

// ---- environment ------------------------------------------------------------------------

fn cycle_opt(v: Option<bool>, forward: bool) -> Option<bool> {
    match (v, forward) {
        (None, true) => Some(true),
        (Some(true), true) => Some(false),
        (Some(false), true) => None,
        (None, false) => Some(false),
        (Some(false), false) => Some(true),
        (Some(true), false) => None,
    }
}

fn cycle_hosts(h: RunnerHosts, forward: bool) -> RunnerHosts {
    use RunnerHosts::*;
    match (h, forward) {
        (SelfManaged, true) => Managed,
        (Managed, true) => Kubernetes,
        (Kubernetes, true) => SelfManaged,
        (SelfManaged, false) => Kubernetes,
        (Managed, false) => SelfManaged,
        (Kubernetes, false) => Managed,
    }
}

fn environment(m: &mut Model, a: Action) -> Option<Effect> {
    let e = &mut m.env;
    match a {
        Action::Up => e.sel = e.sel.saturating_sub(1),
        Action::Down => e.sel = (e.sel + 1).min(ENV_QUESTIONS - 1),
        Action::Top => e.sel = 0,
        Action::Bottom => e.sel = ENV_QUESTIONS - 1,
        Action::Left | Action::Right => {
            let fwd = a == Action::Right;
            match e.sel {
                ENV_HOSTS => e.env.runner_hosts = cycle_hosts(e.env.runner_hosts, fwd),
                ENV_SYSBOX => e.env.sysbox = cycle_opt(e.env.sysbox, fwd),
                ENV_REGISTRY => e.editing = Some(e.env.registry.clone().unwrap_or_default()),
                ENV_CACHE => e.env.build_cache = cycle_opt(e.env.build_cache, fwd),
                _ => {}
            }
            m.changed |= e.env != e.original;
        }
        Action::Edit if e.sel == ENV_REGISTRY => {
            e.editing = Some(e.env.registry.clone().unwrap_or_default());
        }
        Action::Save => {
            m.busy = Some(busy::SAVING.into());
            return Some(Effect::SaveConfig(e.env.clone()));
        }
        Action::Back => m.screen = Screen::Overview,
        Action::Forward => {
            let scan = m.scan.clone()?;
            let env = e.env.clone();
            m.busy = Some(busy::PLANNING.into());
            return Some(Effect::Plan { env, scan });
        }
        _ => {}
    }
    None
}

// ---- targets ----------------------------------------------------------------------------

fn planned(m: &mut Model, mut plan: MigrationPlan) {
    m.busy = None;
    // Keep what the user chose before going back, where it still can work.
    if let Some(old) = m.plan.take() {
        for p in &mut plan.pipelines {
            let Some(o) = old
                .pipelines
                .iter()
                .find(|o| o.key() == p.key() && o.why != "recommended")
            else {
                continue;
            };
            let ok = match o.choice.target() {
                None => true,
                Some(t) => p
                    .options
                    .iter()
                    .any(|x| x.target == t && x.infeasible.is_none()),
            };
            if ok {
                p.choice = o.choice;
                p.why = o.why.clone();
            }
        }
    }
    let empty = plan.pipelines.is_empty();
    m.plan = Some(plan);
    m.targets = model::TargetsState::default();
    m.targets.opt = current_opt(m);
    m.diff.skipped.clear();
    if empty {
        status(m, Level::Info, "No pipeline needs a decision");
    }
    m.screen = Screen::Targets;
}

/// Index of the selected pipeline's current choice among its choices.
fn current_opt(m: &Model) -> usize {
    m.target_pipeline()
        .map(|p| {
            model::choices(p)
                .iter()
                .position(|c| c.choice == p.choice)
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

fn set_choice(m: &mut Model, i: usize, c: Choice) -> bool {
    let Some(p) = m.plan.as_mut().and_then(|p| p.pipelines.get_mut(i)) else {
        return false;
    };
    if p.choice == c {
        return false;
    }
    p.choice = c;
    p.why = if c == Choice::from(p.recommended) {
        "recommended".to_string()
    } else {
        WHY_USER.to_string()
    };
    m.changed = true;
    true
}

fn select_pipeline(m: &mut Model, i: usize) {
    let n = m.plan.as_ref().map_or(0, |p| p.pipelines.len());
    let rows = layout::inner_rows(layout::targets(m.frame().body)[0]).max(1);
    m.targets.sel = i.min(n.saturating_sub(1));
    m.targets.offset = layout::follow(m.targets.offset, m.targets.sel, rows);
    m.targets.opt = current_opt(m);
}

fn request_preview(m: &mut Model) -> Option<Effect> {
    let plan = m.plan.clone()?;
    let scan = m.scan.clone()?;
    m.busy = Some(busy::PREVIEWING.into());
    Some(Effect::Preview {
        plan: Box::new(plan),
        scan,
    })
}

/// Take `c` for the selected pipeline and move on (to the preview after the last).
fn choose_and_next(m: &mut Model, c: Choice) -> Option<Effect> {
    let sel = m.targets.sel;
    set_choice(m, sel, c);
    let n = m.plan.as_ref().map_or(0, |p| p.pipelines.len());
    if sel + 1 < n {
        select_pipeline(m, sel + 1);
        None
    } else {
        request_preview(m)
    }
}

fn targets(m: &mut Model, a: Action) -> Option<Effect> {
    let Some(p) = m.target_pipeline() else {
        return match a {
            Action::Forward => request_preview(m),
            Action::Back => {
                m.screen = Screen::Environment;
                None
            }
            _ => None,
        };
    };
    let rows = model::choices(p);
    let page = layout::inner_rows(layout::targets(m.frame().body)[0]).max(1);
    let sel = m.targets.sel;
    match a {
        Action::Up => m.targets.opt = m.targets.opt.saturating_sub(1),
        Action::Down => m.targets.opt = clamp_add(m.targets.opt, 1, rows.len()),
        Action::Top => m.targets.opt = 0,
        Action::Bottom => m.targets.opt = rows.len().saturating_sub(1),
        Action::NextPane => select_pipeline(m, sel + 1),
        Action::PrevPane => select_pipeline(m, sel.saturating_sub(1)),
        Action::PageDown => select_pipeline(m, sel.saturating_add(page)),
        Action::PageUp => select_pipeline(m, sel.saturating_sub(page)),
        Action::Forward => {
            let row = rows.get(m.targets.opt)?;
            if let Some(why) = &row.infeasible {
                let text = format!("{} cannot work here: {why}", row.choice.as_str());
                status(m, Level::Warn, text);
                return None;
            }
            return choose_and_next(m, row.choice);
        }
        Action::Skip => return choose_and_next(m, Choice::Skip),
        Action::Manual => return choose_and_next(m, Choice::Manual),
        Action::ApplyAll => apply_all(m),
        Action::Back => m.screen = Screen::Environment,
        _ => {}
    }
    None
}

fn apply_all(m: &mut Model) {
    let Some(p) = m.target_pipeline() else {
        return;
    };
    let rows = model::choices(p);
    let Some(row) = rows.get(m.targets.opt) else {
        return;
    };
    if let Some(why) = &row.infeasible {
        let text = format!("{} cannot work here: {why}", row.choice.as_str());
        status(m, Level::Warn, text);
        return;
    }
    let choice = row.choice;
    let like = (
        p.pipeline.surface,
        p.pipeline.docker_usage.clone(),
        p.pipeline.hosting,
    );
    let targets: Vec<usize> = m
        .plan
        .as_ref()
        .map(|plan| {
            plan.pipelines
                .iter()
                .enumerate()
                .filter(|(_, q)| {
                    (
                        q.pipeline.surface,
                        &q.pipeline.docker_usage,
                        q.pipeline.hosting,
                    ) == (like.0, &like.1, like.2)
                })
                .filter(|(_, q)| match choice.target() {
                    None => true,
                    Some(t) => q
                        .options
                        .iter()
                        .any(|o| o.target == t && o.infeasible.is_none()),
                })
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let n = targets.len();
    for i in targets {
        set_choice(m, i, choice);
    }
    let usage: Vec<&str> = like.1.iter().map(|u| u.as_str()).collect();
    let text = format!(
        "{} for {} like this one ({}, uses Docker for {})",
        choice.as_str(),
        plural(n, "pipeline", "pipelines"),
        index::surface_name(like.0),
        if usage.is_empty() {
            "unknown".to_string()
        } else {
            usage.join(", ")
        }
    );
    status(m, Level::Done, text);
}

// ---- diff -------------------------------------------------------------------------------

fn previewed(m: &mut Model, p: Arc<Preview>, docs: Vec<DiffDoc>) {
    m.busy = None;
    let keep = selected_path(m);
    let mut docs = docs.into_iter();
    m.diff.files = p
        .changes
        .iter()
        .map(|c| DiffFile {
            path: c.path.clone(),
            added: c.added,
            removed: c.removed,
            doc: docs
                .next()
                .unwrap_or_else(|| DiffDoc::parse(&c.unified_diff())),
        })
        .collect();
    let entries = m.diff.files.len() + m.diff.skipped.len();
    m.diff.sel = keep
        .and_then(|k| {
            m.diff
                .files
                .iter()
                .map(|f| &f.path)
                .chain(m.diff.skipped.iter().map(|s| &s.path))
                .position(|p| *p == k)
        })
        .unwrap_or(0)
        .min(entries.saturating_sub(1));
    m.diff.scroll = 0;
    m.diff.hscroll = 0;
    let manual: usize = p.results.iter().map(|r| r.manual.len()).sum();
    let text = format!(
        "{} would change; {}; {} would remain",
        plural(p.changes.len(), "file", "files"),
        plural(manual, "manual task", "manual tasks"),
        plural(p.remaining.len(), "finding", "findings")
    );
    status(m, Level::Info, text);
    m.preview = Some(p);
    m.screen = Screen::Diff;
}

fn selected_path(m: &Model) -> Option<String> {
    let d = &m.diff;
    d.files.get(d.sel).map(|f| f.path.clone()).or_else(|| {
        d.sel
            .checked_sub(d.files.len())
            .and_then(|i| d.skipped.get(i))
            .map(|s| s.path.clone())
    })
}

fn diff_rows(m: &Model) -> usize {
    layout::inner_rows(layout::diff(m.frame().body)[1]).max(1)
}

fn scroll_diff(m: &mut Model, delta: isize) {
    let rows = diff_rows(m);
    let sbs = m.diff.mode == DiffMode::SideBySide;
    let max = m
        .diff
        .files
        .get(m.diff.sel)
        .map_or(0, |f| f.doc.max_scroll(sbs, rows));
    m.diff.scroll = m.diff.scroll.saturating_add_signed(delta).min(max);
}

fn diff(m: &mut Model, a: Action) -> Option<Effect> {
    let rows = diff_rows(m) as isize;
    let sbs = m.diff.mode == DiffMode::SideBySide;
    let entries = m.diff.files.len() + m.diff.skipped.len();
    match a {
        Action::Up => scroll_diff(m, -1),
        Action::Down => scroll_diff(m, 1),
        Action::PageUp => scroll_diff(m, -rows),
        Action::PageDown => scroll_diff(m, rows),
        Action::Top => m.diff.scroll = 0,
        Action::Bottom => scroll_diff(m, isize::MAX / 2),
        Action::Left => m.diff.hscroll = m.diff.hscroll.saturating_sub(8),
        Action::Right => m.diff.hscroll = (m.diff.hscroll + 8).min(4096),
        Action::NextPane | Action::PrevPane => {
            let delta = if a == Action::NextPane { 1 } else { -1 };
            m.diff.sel = clamp_add(m.diff.sel, delta, entries);
            m.diff.scroll = 0;
            m.diff.hscroll = 0;
        }
        Action::NextHunk | Action::PrevHunk => {
            if let Some(f) = m.diff.files.get(m.diff.sel) {
                let s = m.diff.scroll;
                m.diff.scroll = if a == Action::NextHunk {
                    f.doc.next_hunk(s, sbs)
                } else {
                    f.doc.prev_hunk(s, sbs)
                };
                scroll_diff(m, 0);
            }
        }
        Action::ToggleMode => {
            if let Some(f) = m.diff.files.get(m.diff.sel) {
                m.diff.scroll = f.doc.convert(m.diff.scroll, sbs);
            }
            m.diff.mode = if sbs {
                DiffMode::Unified
            } else {
                DiffMode::SideBySide
            };
            scroll_diff(m, 0);
        }
        Action::ToggleFile => return toggle_file(m),
        Action::Forward => {
            m.screen = Screen::Confirm;
            m.confirm = model::ConfirmState::default();
            // Never let typed-ahead keys confirm a write.
            m.queued.clear();
        }
        Action::Back => m.screen = Screen::Targets,
        _ => {}
    }
    None
}

fn toggle_file(m: &mut Model) -> Option<Effect> {
    let nfiles = m.diff.files.len();
    if let Some(f) = m.diff.files.get(m.diff.sel) {
        let path = f.path.clone();
        let preview = m.preview.clone()?;
        let plan = m.plan.as_mut()?;
        let mut restore = Vec::new();
        for r in preview.results.iter().filter(|r| r.files.contains(&path)) {
            if let Some(p) = plan
                .pipelines
                .iter_mut()
                .find(|p| p.pipeline.path == r.path && p.pipeline.name == r.pipeline)
                && p.choice.target().is_some()
            {
                restore.push((r.path.clone(), r.pipeline.clone(), p.choice, p.why.clone()));
                p.choice = Choice::Skip;
                p.why = WHY_FILE_SKIPPED.to_string();
            }
        }
        if restore.is_empty() {
            status(
                m,
                Level::Warn,
                format!("No pipeline's edits found in {path}"),
            );
            return None;
        }
        let names: Vec<&str> = restore.iter().map(|(_, n, _, _)| n.as_str()).collect();
        let text = format!("Skipping {path}: also skips {}", names.join(", "));
        status(m, Level::Info, text);
        m.diff.skipped.push(SkippedFile { path, restore });
        m.changed = true;
        return request_preview(m);
    }
    let i = m.diff.sel.checked_sub(nfiles)?;
    if i >= m.diff.skipped.len() {
        return None;
    }
    let s = m.diff.skipped.remove(i);
    // The entry is gone: keep the cursor on an existing one until the new preview arrives.
    let entries = nfiles + m.diff.skipped.len();
    m.diff.sel = m.diff.sel.min(entries.saturating_sub(1));
    if let Some(plan) = m.plan.as_mut() {
        for (path, name, choice, why) in &s.restore {
            if let Some(p) = plan
                .pipelines
                .iter_mut()
                .find(|p| p.pipeline.path == *path && p.pipeline.name == *name)
                && p.choice == Choice::Skip
            {
                p.choice = *choice;
                p.why = why.clone();
            }
        }
    }
    status(m, Level::Info, format!("Accepting {} again", s.path));
    request_preview(m)
}

// ---- confirm and write ------------------------------------------------------------------

fn replacements(p: &Preview) -> Vec<Replacement> {
    p.changes
        .iter()
        .map(|c| Replacement {
            path: c.path.clone(),
            before: c.before.as_bytes().to_vec(),
            after: c.after.as_bytes().to_vec(),
        })
        .collect()
}

fn start_write(m: &mut Model, allow_dirty: bool, allow_no_vcs: bool) -> Option<Effect> {
    let files = m.preview.as_deref().map(replacements).unwrap_or_default();
    if files.is_empty() {
        m.written = Some(WriteReport::default());
        m.screen = Screen::Report;
        m.report = model::ReportState::default();
        status(m, Level::Info, "Nothing to write: no file changes");
        return None;
    }
    m.confirm.error = None;
    m.confirm.guard = None;
    m.busy = Some(busy::WRITING.into());
    Some(Effect::Write {
        files,
        allow_dirty,
        allow_no_vcs,
    })
}

fn confirm(m: &mut Model, a: Action) -> Option<Effect> {
    match a {
        Action::NextPane | Action::PrevPane => m.confirm.back = !m.confirm.back,
        Action::Forward if m.confirm.back => m.screen = Screen::Diff,
        Action::Forward => return start_write(m, false, false),
        Action::Force => {
            let g = m.confirm.guard?;
            return start_write(m, g == Guard::Dirty, g == Guard::NoVcs);
        }
        Action::Back => m.screen = Screen::Diff,
        _ => {}
    }
    None
}

fn written(m: &mut Model, r: Result<WriteReport, WriteFailure>) {
    m.busy = None;
    match r {
        Ok(rep) => {
            let text = format!(
                "Wrote {}. Undo with: depriv undo {}",
                plural(rep.files.len(), "file", "files"),
                m.root
            );
            status(m, Level::Done, text);
            m.written = Some(rep);
            m.report = model::ReportState::default();
            m.screen = Screen::Report;
        }
        Err(f) => {
            status(m, Level::Error, "Nothing was written (the reason is above)");
            m.confirm.error = Some(f.message);
            m.confirm.guard = f.guard;
        }
    }
}

// ---- report -----------------------------------------------------------------------------

fn report(m: &mut Model, a: Action) -> Option<Effect> {
    let last = REPORT_ACTIONS.len() - 1;
    let current = REPORT_ACTIONS.get(m.report.sel).copied();
    match a {
        Action::Up => m.report.sel = m.report.sel.saturating_sub(1),
        Action::Down => m.report.sel = (m.report.sel + 1).min(last),
        Action::PageUp => m.report.scroll = m.report.scroll.saturating_sub(5),
        Action::PageDown => m.report.scroll = (m.report.scroll + 5).min(10_000),
        Action::Top => m.report.scroll = 0,
        Action::Back => status(m, Level::Info, "The files are written; q quits"),
        Action::Forward => match current {
            Some(ReportAction::Write(format)) => {
                let preview = m.preview.clone()?;
                m.busy = Some(busy::SAVING.into());
                return Some(Effect::WriteReport {
                    preview,
                    written: m.written.is_some(),
                    format,
                });
            }
            Some(ReportAction::SavePlan) => {
                let plan = m.plan.as_ref()?.to_file();
                m.busy = Some(busy::SAVING.into());
                return Some(Effect::SavePlan(plan));
            }
            Some(ReportAction::Quit) | None => m.quit = true,
        },
        _ => {}
    }
    None
}

fn saved(m: &mut Model, o: Output, r: Result<String, String>) {
    m.busy = None;
    match (o, r) {
        (_, Err(e)) => status(m, Level::Error, e),
        (Output::Config, Ok(p)) => {
            m.env.saved = true;
            status(m, Level::Done, format!("Saved the answers to {p}"));
        }
        (Output::Report, Ok(p)) => {
            status(m, Level::Done, format!("Report written to {p}"));
            if !m.report.reports.contains(&p) {
                m.report.reports.push(p);
            }
            m.report.sel = REPORT_ACTIONS.len() - 1;
        }
        (Output::Plan, Ok(p)) => {
            let text = format!("Plan saved to {p}; replay it with: depriv migrate --plan {p}");
            status(m, Level::Done, text);
            m.report.plan = Some(p);
            m.report.sel = REPORT_ACTIONS.len() - 1;
        }
    }
}

// ---- sizes ------------------------------------------------------------------------------

fn wheel(m: &mut Model, d: i16) {
    let d = isize::from(d);
    if m.overlay.is_some() || m.busy.is_some() {
        return;
    }
    match m.screen {
        Screen::Overview => move_overview(m, d),
        Screen::Detail => {
            let a = if d < 0 { Action::Up } else { Action::Down };
            for _ in 0..d.unsigned_abs() {
                detail(m, a);
            }
        }
        Screen::Targets => {
            let n = m.target_pipeline().map_or(0, |p| model::choices(p).len());
            m.targets.opt = clamp_add(m.targets.opt, d.signum(), n);
        }
        Screen::Diff => scroll_diff(m, d),
        Screen::Report => {
            m.report.scroll = m.report.scroll.saturating_add_signed(d).min(10_000);
        }
        _ => {}
    }
}

/// Keep selections visible after a resize or rebuild.
fn refollow(m: &mut Model) {
    let (rows, frows) = overview_rows(m);
    let o = &mut m.overview;
    o.offset = layout::follow(o.offset, o.sel, rows);
    o.foffset = layout::follow(o.foffset, o.fsel, frows);
    let trows = layout::inner_rows(layout::targets(m.frame().body)[0]);
    m.targets.offset = layout::follow(m.targets.offset, m.targets.sel, trows);
    scroll_diff(m, 0);
}

/// What to print after the terminal is restored, and the exit code (as `migrate`: 1 when
/// findings remain after a write, else 0).
pub fn outcome(m: &Model) -> (u8, Vec<String>) {
    let mut lines = Vec::new();
    let remaining = m.preview.as_ref().map_or(0, |p| p.remaining.len());
    let code = match &m.written {
        Some(w) => {
            if w.files.is_empty() {
                lines.push("Nothing written: no file needed a change.".to_string());
            } else {
                lines.push(format!(
                    "Wrote {} in {}. Undo with: depriv undo {}",
                    plural(w.files.len(), "file", "files"),
                    m.root,
                    m.root
                ));
            }
            u8::from(remaining > 0)
        }
        None => {
            lines.push("Nothing was written.".to_string());
            0
        }
    };
    let at = |p: &str| std::path::Path::new(&m.root).join(p).display().to_string();
    for r in &m.report.reports {
        lines.push(format!("Report: {}", at(r)));
    }
    if let Some(p) = &m.report.plan {
        let p = at(p);
        lines.push(format!(
            "Plan: {p} (replay with: depriv migrate --plan {p})"
        ));
    }
    (code, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;
    use crate::tui::view::testing::{self, planned_model, previewed_model, scanned_model};

    fn act(m: &mut Model, a: Action) -> Option<Effect> {
        update(m, Msg::Action(a))
    }

    #[test]
    fn scan_result_opens_the_overview_with_a_pipeline_selected() {
        let mut m = Model::new("r", Environment::default(), false);
        assert_eq!(m.screen, Screen::Scanning);
        assert!(update(&mut m, Msg::Discovered(4)).is_none());
        update(&mut m, Msg::Progress(2));
        assert_eq!(m.progress.read, 2);
        // A key typed during the scan waits for it.
        act(&mut m, Action::Down);
        assert_eq!(m.queued.len(), 1);
        update(&mut m, Msg::Scanned(Arc::new(testing::scan())));
        assert_eq!(m.screen, Screen::Overview);
        assert!(m.busy.is_none() && m.queued.is_empty());
        assert!(m.overview.index.group_at(m.overview.sel).is_some());
        let first = m.overview.index.nearest_group_row(0);
        assert_ne!(m.overview.sel, first, "the queued Down was replayed");
        assert!(m.status.as_ref().is_some_and(|s| s.text.contains("active")));
    }

    /// The path of a user who only presses Enter: the answers of `.depriv.toml`, the
    /// recommended target everywhere, every change written — what `--accept-defaults` does.
    #[test]
    fn enter_only_takes_every_default() {
        let mut m = scanned_model();
        assert!(act(&mut m, Action::Forward).is_none());
        assert_eq!(m.screen, Screen::Environment);
        let Some(Effect::Plan { env, scan }) = act(&mut m, Action::Forward) else {
            panic!("expected a plan effect");
        };
        assert_eq!(env, Environment::default());
        let plan = crate::migrate::plan(&scan, &env, crate::migrate::Strategy::Auto);
        let n = plan.pipelines.len();
        assert!(n >= 3, "fixture has several pipelines");
        update(&mut m, Msg::Planned(Box::new(plan)));
        assert_eq!(m.screen, Screen::Targets);
        let mut effect = None;
        for _ in 0..n {
            assert!(effect.is_none());
            effect = act(&mut m, Action::Forward);
        }
        let Some(Effect::Preview { plan, .. }) = effect else {
            panic!("the last Enter previews");
        };
        assert!(
            plan.pipelines
                .iter()
                .all(|p| p.choice == Choice::from(p.recommended) && p.why == "recommended")
        );
        assert!(!m.changed, "nothing was changed by the user");
        let p = testing::preview(&m);
        update(&mut m, Msg::previewed(p.clone()));
        assert_eq!(m.screen, Screen::Diff);
        act(&mut m, Action::Forward);
        assert_eq!(m.screen, Screen::Confirm);
        let Some(Effect::Write {
            files,
            allow_dirty,
            allow_no_vcs,
        }) = act(&mut m, Action::Forward)
        else {
            panic!("Enter on the confirmation writes");
        };
        assert!(!allow_dirty && !allow_no_vcs);
        assert_eq!(files.len(), p.changes.len());
        for (f, c) in files.iter().zip(&p.changes) {
            assert_eq!(f.path, c.path);
            assert_eq!(f.after, c.after.as_bytes());
            assert_eq!(f.before, c.before.as_bytes());
        }
        update(
            &mut m,
            Msg::Written(Ok(WriteReport {
                files: vec![(".gitlab-ci.yml".into(), "a".into(), "b".into())],
                journal: "j".into(),
            })),
        );
        assert_eq!(m.screen, Screen::Report);
        assert!(matches!(
            act(&mut m, Action::Forward),
            Some(Effect::WriteReport {
                written: true,
                format: crate::report::migration::ReportFormat::Md,
                ..
            })
        ));
        update(
            &mut m,
            Msg::Saved(Output::Report, Ok("depriv-report.md".into())),
        );
        assert_eq!(m.report.sel, REPORT_ACTIONS.len() - 1);
        assert!(act(&mut m, Action::Forward).is_none());
        assert!(m.quit);
        let (code, lines) = outcome(&m);
        assert_eq!(code, 0);
        assert!(lines.iter().any(|l| l.contains("Undo with: depriv undo")));
        assert!(
            lines
                .iter()
                .any(|l| l == "Report: /work/repos/shop/depriv-report.md"),
            "{lines:?}"
        );
    }

    #[test]
    fn infeasible_targets_are_refused_and_skip_manual_advance() {
        let mut m = planned_model();
        let Some(i) = m.target_pipeline().and_then(|p| {
            model::choices(p)
                .iter()
                .position(|c| c.infeasible.is_some())
        }) else {
            panic!("fixture should have an infeasible target");
        };
        m.targets.opt = i;
        assert!(act(&mut m, Action::Forward).is_none());
        assert_eq!(m.targets.sel, 0, "refused: stays on the pipeline");
        assert!(m.status.as_ref().is_some_and(|s| s.level == Level::Warn));
        act(&mut m, Action::Skip);
        assert_eq!(m.targets.sel, 1);
        let first = m.plan.as_ref().and_then(|p| p.pipelines.first());
        assert_eq!(first.map(|p| p.choice), Some(Choice::Skip));
        assert_eq!(first.map(|p| p.why.as_str()), Some(WHY_USER));
        assert!(m.changed);
        act(&mut m, Action::Manual);
        assert_eq!(
            m.plan
                .as_ref()
                .and_then(|p| p.pipelines.get(1))
                .map(|p| p.choice),
            Some(Choice::Manual)
        );
        // Back on the first pipeline the highlight follows its current choice.
        act(&mut m, Action::PrevPane);
        act(&mut m, Action::PrevPane);
        assert_eq!(m.targets.sel, 0);
        let skip_row = m.target_pipeline().map(|p| {
            model::choices(p)
                .iter()
                .position(|c| c.choice == Choice::Skip)
        });
        assert_eq!(Some(Some(m.targets.opt)), skip_row);
        // Choosing the recommended one again restores "recommended".
        let rec = m
            .target_pipeline()
            .and_then(|p| model::choices(p).iter().position(|c| c.recommended));
        m.targets.opt = rec.unwrap_or(0);
        act(&mut m, Action::Forward);
        let first = m.plan.as_ref().and_then(|p| p.pipelines.first());
        assert_eq!(first.map(|p| p.why.as_str()), Some("recommended"));
    }

    #[test]
    fn apply_to_all_like_this_only_where_feasible() {
        let mut m = planned_model();
        let Some(plan) = m.plan.as_mut() else {
            panic!("plan");
        };
        // Make every pipeline look alike, then apply the highlighted choice.
        let like = plan.pipelines.first().map(|p| p.pipeline.clone());
        for p in &mut plan.pipelines {
            if let Some(l) = &like {
                p.pipeline.surface = l.surface;
                p.pipeline.docker_usage = l.docker_usage.clone();
                p.pipeline.hosting = l.hosting;
            }
        }
        let manual = model::choices(m.target_pipeline().unwrap_or_else(|| panic!("p")))
            .iter()
            .position(|c| c.choice == Choice::Manual)
            .unwrap_or(0);
        m.targets.opt = manual;
        assert!(act(&mut m, Action::ApplyAll).is_none());
        let plan = m.plan.as_ref().unwrap_or_else(|| panic!("plan"));
        assert!(plan.pipelines.iter().all(|p| p.choice == Choice::Manual));
        assert!(
            m.status
                .as_ref()
                .is_some_and(|s| s.text.starts_with("manual for"))
        );
    }

    #[test]
    fn quitting_asks_only_when_decisions_would_be_lost() {
        let mut m = scanned_model();
        act(&mut m, Action::Quit);
        assert!(m.quit, "nothing decided yet: quits at once");

        let mut m = planned_model();
        act(&mut m, Action::Skip);
        act(&mut m, Action::Quit);
        assert!(!m.quit);
        assert_eq!(m.overlay, Some(Overlay::Quit { quit: false }));
        // Enter takes the highlighted "stay".
        act(&mut m, Action::Forward);
        assert!(!m.quit && m.overlay.is_none());
        act(&mut m, Action::Quit);
        act(&mut m, Action::NextPane);
        act(&mut m, Action::Forward);
        assert!(m.quit);

        let mut m = Model::new("r", Environment::default(), false);
        assert!(matches!(
            act(&mut m, Action::Back),
            Some(Effect::CancelScan)
        ));
        assert!(m.quit);

        let mut m = previewed_model();
        m.busy = Some(busy::WRITING.into());
        act(&mut m, Action::Quit);
        act(&mut m, Action::ForceQuit);
        assert!(!m.quit, "never quit in the middle of the transaction");
    }

    #[test]
    fn keys_wait_while_busy_and_never_confirm_a_write() {
        let mut m = previewed_model();
        m.busy = Some(busy::PREVIEWING.into());
        for _ in 0..100 {
            act(&mut m, Action::Forward);
        }
        assert_eq!(m.queued.len(), MAX_QUEUE);
        let p = testing::preview(&m);
        // Replaying: the first Enter reaches the confirmation, which drops the rest.
        assert!(update(&mut m, Msg::previewed(p)).is_none());
        assert_eq!(m.screen, Screen::Confirm);
        assert!(m.queued.is_empty());
    }

    #[test]
    fn skipping_a_file_skips_its_pipelines_and_can_be_undone() {
        let mut m = previewed_model();
        let before: Vec<Choice> = m
            .plan
            .as_ref()
            .map(|p| p.pipelines.iter().map(|p| p.choice).collect())
            .unwrap_or_default();
        let Some(Effect::Preview { plan, .. }) = act(&mut m, Action::ToggleFile) else {
            panic!("skipping re-previews");
        };
        assert_eq!(plan.pipelines.first().map(|p| p.choice), Some(Choice::Skip));
        assert_eq!(m.diff.skipped.len(), 1);
        assert!(m.changed);
        // The preview comes back without the file; the skipped entry stays selectable.
        let mut p = testing::preview(&m);
        p.changes.clear();
        update(&mut m, Msg::previewed(p));
        assert_eq!(m.diff.sel, 0);
        let Some(Effect::Preview { plan, .. }) = act(&mut m, Action::ToggleFile) else {
            panic!("accepting re-previews");
        };
        let after: Vec<Choice> = plan.pipelines.iter().map(|p| p.choice).collect();
        assert_eq!(after, before);
        assert!(m.diff.skipped.is_empty());
    }

    #[test]
    fn accepting_a_skipped_file_keeps_the_cursor_on_an_entry() {
        // Found by the random key test: the cursor pointed past the list until the new
        // preview arrived.
        let mut m = previewed_model();
        assert!(act(&mut m, Action::ToggleFile).is_some());
        let mut p = testing::preview(&m);
        if let Some(c) = p.changes.first_mut() {
            c.path = "other.yml".into();
        }
        update(&mut m, Msg::previewed(p));
        assert_eq!(
            (m.diff.files.len(), m.diff.skipped.len(), m.diff.sel),
            (1, 1, 1)
        );
        assert!(act(&mut m, Action::ToggleFile).is_some());
        assert!(m.diff.skipped.is_empty());
        assert_eq!(m.diff.sel, 0);
    }

    #[test]
    fn diff_navigation_clamps() {
        let mut m = previewed_model();
        // A short pane, so the two-hunk diff scrolls.
        m.size = (100, 12);
        let len = m.diff.files.first().map_or(0, |f| f.doc.len(false));
        for _ in 0..1000 {
            act(&mut m, Action::Down);
        }
        assert!(m.diff.scroll < len);
        act(&mut m, Action::Top);
        act(&mut m, Action::NextHunk);
        let h1 = m.diff.scroll;
        assert!(h1 > 0);
        act(&mut m, Action::ToggleMode);
        assert_eq!(m.diff.mode, DiffMode::SideBySide);
        act(&mut m, Action::ToggleMode);
        assert_eq!(m.diff.scroll, h1, "back in unified mode at the same hunk");
        act(&mut m, Action::Right);
        assert_eq!(m.diff.hscroll, 8);
        act(&mut m, Action::Left);
        act(&mut m, Action::Left);
        assert_eq!(m.diff.hscroll, 0);
        act(&mut m, Action::NextPane);
        act(&mut m, Action::NextPane);
        assert_eq!(m.diff.sel, 0, "one file: stays");
        act(&mut m, Action::Back);
        assert_eq!(m.screen, Screen::Targets);
    }

    #[test]
    fn refused_write_can_be_forced_and_back_writes_nothing() {
        let mut m = previewed_model();
        act(&mut m, Action::Forward);
        act(&mut m, Action::NextPane);
        assert!(
            act(&mut m, Action::Forward).is_none(),
            "back: nothing written"
        );
        assert_eq!(m.screen, Screen::Diff);
        act(&mut m, Action::Forward);
        assert!(
            act(&mut m, Action::Force).is_none(),
            "no refusal to override"
        );
        act(&mut m, Action::Forward);
        update(
            &mut m,
            Msg::Written(Err(WriteFailure {
                message: "x".into(),
                guard: Some(Guard::NoVcs),
            })),
        );
        assert_eq!(m.screen, Screen::Confirm);
        assert!(m.written.is_none());
        assert!(matches!(
            act(&mut m, Action::Force),
            Some(Effect::Write {
                allow_dirty: false,
                allow_no_vcs: true,
                ..
            })
        ));
    }

    #[test]
    fn previewed_without_docs_parses_them_itself() {
        let mut m = planned_model();
        let p = testing::preview(&m);
        let expected = DiffDoc::parse(
            &p.changes
                .first()
                .map(|c| c.unified_diff())
                .unwrap_or_default(),
        );
        update(&mut m, Msg::Previewed(Arc::new(p), Vec::new()));
        assert_eq!(m.diff.files.first().map(|f| &f.doc), Some(&expected));
        assert!(!expected.hunks.is_empty());
    }

    #[test]
    fn nothing_to_write_goes_to_the_report() {
        let mut m = previewed_model();
        let mut p = testing::preview(&m);
        p.changes.clear();
        update(&mut m, Msg::previewed(p));
        act(&mut m, Action::Forward);
        assert!(act(&mut m, Action::Forward).is_none());
        assert_eq!(m.screen, Screen::Report);
        assert!(m.written.as_ref().is_some_and(|w| w.files.is_empty()));
    }

    #[test]
    fn environment_answers_edit_save_and_survive_replanning() {
        let mut m = scanned_model();
        act(&mut m, Action::Forward);
        act(&mut m, Action::Right);
        assert_eq!(m.env.env.runner_hosts, RunnerHosts::Managed);
        act(&mut m, Action::Left);
        act(&mut m, Action::Left);
        assert_eq!(m.env.env.runner_hosts, RunnerHosts::Kubernetes);
        act(&mut m, Action::Down);
        act(&mut m, Action::Right);
        assert_eq!(m.env.env.sysbox, Some(true));
        act(&mut m, Action::Down);
        act(&mut m, Action::Edit);
        assert!(m.editing());
        for c in "reg .io\u{7}".chars() {
            update(&mut m, Msg::Input(Input::Char(c)));
        }
        update(&mut m, Msg::Input(Input::Backspace));
        update(&mut m, Msg::Input(Input::Submit));
        assert_eq!(m.env.env.registry.as_deref(), Some("reg.i"));
        act(&mut m, Action::Edit);
        update(&mut m, Msg::Input(Input::Char('x')));
        update(&mut m, Msg::Input(Input::Cancel));
        assert_eq!(m.env.env.registry.as_deref(), Some("reg.i"));
        act(&mut m, Action::Down);
        act(&mut m, Action::Right);
        act(&mut m, Action::Right);
        assert_eq!(m.env.env.build_cache, Some(false));
        assert!(m.changed);
        assert!(matches!(act(&mut m, Action::Save), Some(Effect::SaveConfig(e)) if e == m.env.env));
        update(
            &mut m,
            Msg::Saved(Output::Config, Ok(".depriv.toml".into())),
        );
        assert!(m.env.saved);
        // Plan, choose, go back, re-plan: the user's choice survives.
        let s = testing::scan();
        let plan = crate::migrate::plan(&s, &m.env.env, crate::migrate::Strategy::Auto);
        update(&mut m, Msg::Planned(Box::new(plan.clone())));
        act(&mut m, Action::Manual);
        act(&mut m, Action::Back);
        assert_eq!(m.screen, Screen::Environment);
        update(&mut m, Msg::Planned(Box::new(plan)));
        let first = m.plan.as_ref().and_then(|p| p.pipelines.first());
        assert_eq!(first.map(|p| p.choice), Some(Choice::Manual));
    }

    #[test]
    fn overview_filters_search_and_detail() {
        let mut m = scanned_model();
        let all = m.overview.index.shown;
        act(&mut m, Action::Search);
        assert!(m.editing());
        for c in "compose".chars() {
            update(&mut m, Msg::Input(Input::Char(c)));
        }
        assert!(m.overview.index.shown < all);
        update(&mut m, Msg::Input(Input::Submit));
        assert!(!m.editing());
        act(&mut m, Action::ClearFilter);
        assert_eq!(m.overview.index.shown, all);
        act(&mut m, Action::ToggleSuppressed);
        assert!(m.overview.index.shown > all);
        act(&mut m, Action::CycleRule);
        assert!(m.overview.filter.rule.is_some());
        act(&mut m, Action::CycleSurface);
        assert!(m.overview.filter.surface.is_some());
        act(&mut m, Action::ClearFilter);
        act(&mut m, Action::Search);
        update(&mut m, Msg::Input(Input::Char('z')));
        update(&mut m, Msg::Input(Input::Cancel));
        assert!(m.overview.filter.search.is_empty());
        // Details of the second finding of a pipeline, then next/previous.
        let Some(row) = (0..m.overview.index.rows.len()).find(|r| {
            m.overview
                .index
                .group_at(*r)
                .is_some_and(|g| g.findings.len() > 1)
        }) else {
            panic!("fixture should have a pipeline with several findings");
        };
        m.overview.sel = row;
        act(&mut m, Action::NextPane);
        act(&mut m, Action::Down);
        act(&mut m, Action::Detail);
        assert_eq!(m.screen, Screen::Detail);
        let second = m.detail.finding;
        assert_eq!(m.detail.siblings.get(1), Some(&second));
        act(&mut m, Action::PrevItem);
        act(&mut m, Action::PrevItem);
        assert_eq!(m.detail.siblings.first(), Some(&m.detail.finding));
        act(&mut m, Action::NextItem);
        assert_eq!(m.detail.finding, second);
        act(&mut m, Action::Back);
        assert_eq!(m.screen, Screen::Overview);
    }

    #[test]
    fn parse_errors_block_the_migration() {
        let mut s = testing::scan();
        s.diagnostics.push(crate::finding::Diagnostic {
            path: "broken.yml".into(),
            line: 1,
            column: 1,
            level: crate::finding::DiagLevel::Error,
            message: "invalid YAML".into(),
        });
        let mut m = Model::new("r", Environment::default(), false);
        update(&mut m, Msg::Scanned(Arc::new(s)));
        act(&mut m, Action::Forward);
        assert_eq!(m.screen, Screen::Overview);
        assert!(
            m.status
                .as_ref()
                .is_some_and(|s| s.level == Level::Error && s.text.contains("broken.yml"))
        );
        // And an empty repository has nothing to migrate.
        let mut m = Model::new("r", Environment::default(), false);
        update(&mut m, Msg::Scanned(Arc::new(ScanResult::default())));
        act(&mut m, Action::Forward);
        assert!(m.quit);
        assert_eq!(outcome(&m), (0, vec!["Nothing was written.".to_string()]));
    }

    /// Every action and message in every state, at every size: no panic, selections in range.
    #[test]
    fn random_walk_never_panics() {
        let actions = [
            Action::Forward,
            Action::Back,
            Action::Up,
            Action::Down,
            Action::PageUp,
            Action::PageDown,
            Action::Top,
            Action::Bottom,
            Action::Left,
            Action::Right,
            Action::NextPane,
            Action::PrevPane,
            Action::Detail,
            Action::NextItem,
            Action::PrevItem,
            Action::Search,
            Action::CycleSeverity,
            Action::CycleSurface,
            Action::CycleRule,
            Action::ToggleSuppressed,
            Action::ClearFilter,
            Action::Change,
            Action::Edit,
            Action::ApplyAll,
            Action::Skip,
            Action::Manual,
            Action::ToggleMode,
            Action::NextHunk,
            Action::PrevHunk,
            Action::ToggleFile,
            Action::Force,
            Action::Help,
            Action::CloseOverlay,
            Action::QuitNo,
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for start in 0..3 {
            let mut m = match start {
                0 => scanned_model(),
                1 => planned_model(),
                _ => previewed_model(),
            };
            for _ in 0..3000 {
                let r = next();
                let msg = match r % 10 {
                    0 => Msg::Resize((r >> 8) as u16 % 200, (r >> 24) as u16 % 80),
                    1 => Msg::Wheel(((r >> 8) % 21) as i16 - 10),
                    2 => Msg::Input(Input::Char('a')),
                    3 => Msg::Tick,
                    _ => Msg::Action(
                        actions
                            .get((r >> 8) as usize % actions.len())
                            .copied()
                            .unwrap_or(Action::Down),
                    ),
                };
                // Results come back for the effects, as the loop would deliver them.
                match update(&mut m, msg) {
                    Some(Effect::Preview { .. }) => {
                        let p = testing::preview(&m);
                        update(&mut m, Msg::previewed(p));
                    }
                    Some(Effect::Plan { env, scan }) => {
                        let plan =
                            crate::migrate::plan(&scan, &env, crate::migrate::Strategy::Auto);
                        update(&mut m, Msg::Planned(Box::new(plan)));
                    }
                    Some(Effect::Write { .. }) => {
                        update(&mut m, Msg::Written(Ok(WriteReport::default())));
                    }
                    Some(Effect::SaveConfig(_)) => {
                        update(&mut m, Msg::Saved(Output::Config, Err("no".into())));
                    }
                    Some(Effect::WriteReport { .. } | Effect::SavePlan(_)) => {
                        update(&mut m, Msg::Saved(Output::Plan, Ok("p".into())));
                    }
                    _ => {}
                }
                if m.quit {
                    break;
                }
                let _ = testing::render(&m, m.size.0.min(120), m.size.1.min(50));
                assert!(m.overview.sel < m.overview.index.rows.len().max(1));
                assert!(m.diff.sel < (m.diff.files.len() + m.diff.skipped.len()).max(1));
                if let Some(p) = &m.plan {
                    assert!(m.targets.sel < p.pipelines.len().max(1));
                }
            }
        }
    }
}
