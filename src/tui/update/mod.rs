//! `update(&mut Model, Msg) -> Option<Effect>`: every state change of the UI, in memory
//! only. Disk work is returned as an [`Effect`]; its result comes back as a [`Msg`]. Keys
//! pressed while work runs are queued and replayed when it is done (except that nothing
//! typed ahead ever confirms a write). One submodule per screen, as in `view/`.

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
use super::layout;
use super::model::{
    self, DiffFile, DiffMode, ENV_CACHE, ENV_HOSTS, ENV_QUESTIONS, ENV_REGISTRY, ENV_SYSBOX,
    ENV_SYSBOX_TAG, Focus, Level, Model, Overlay, REPORT_ACTIONS, ReportAction, Screen,
    SkippedFile, Status,
};
use super::msg::{Effect, Msg, Output, WriteFailure};
use super::vocab::{Action, Guard, Input};

mod confirm;
mod detail;
mod diff;
mod environment;
mod overview;
mod report;
mod scanning;
mod targets;

use confirm::*;
use detail::*;
use diff::*;
use environment::*;
use overview::*;
use report::*;
use scanning::*;
use targets::*;

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
        Msg::ManualTasks(n) => {
            m.manual_tasks = Some(n);
            None
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
                let answer = (!t.is_empty()).then_some(t);
                if m.env.sel == ENV_SYSBOX_TAG {
                    m.env.env.sysbox_tag = answer;
                } else {
                    m.env.env.registry = answer;
                }
                m.env.editing = None;
                m.changed |= m.env.env != m.env.original;
            }
            Input::Cancel => m.env.editing = None,
        }
    }
}

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

/// What to print after the terminal is restored, and the exit code (the scheme of
/// [`crate::exit`], as `migrate`; 0 when nothing was written, 2 when the scan had errors).
pub fn outcome(m: &Model) -> (u8, Vec<String>) {
    let mut lines = Vec::new();
    let errors = m.scan.as_ref().is_some_and(|s| s.has_errors());
    let code = match &m.written {
        Some(w) => {
            if w.files.is_empty() {
                lines.push("Nothing written: no file needed a change.".to_string());
            } else {
                lines.push(format!(
                    "Wrote {} in {}. Undo with: {} undo {}",
                    plural(w.files.len(), "file", "files"),
                    m.root,
                    m.invocation,
                    m.root
                ));
            }
            match (m.scan.as_deref(), m.preview.as_deref()) {
                (Some(s), Some(p)) => crate::exit::after_migration(s, p),
                _ => crate::exit::OK,
            }
        }
        None => {
            lines.push("Nothing was written.".to_string());
            if errors {
                crate::exit::ERROR
            } else {
                crate::exit::OK
            }
        }
    };
    let at = |p: &str| std::path::Path::new(&m.root).join(p).display().to_string();
    for r in &m.report.reports {
        lines.push(format!("Report: {}", at(r)));
    }
    if let Some(p) = &m.report.plan {
        let p = at(p);
        lines.push(format!(
            "Plan: {p} (replay with: {} migrate --plan {p})",
            m.invocation
        ));
    }
    (code, lines)
}

#[cfg(test)]
mod tests;
