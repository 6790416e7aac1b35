//! The diff viewer: scrolling, hunks, modes, and skipping or accepting a file.

use super::*;

pub(super) fn previewed(m: &mut Model, p: Arc<Preview>, docs: Vec<DiffDoc>) {
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
    m.preview = Some(p.clone());
    let manual = m.manual_task_count();
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

pub(super) fn selected_path(m: &Model) -> Option<String> {
    let d = &m.diff;
    d.files.get(d.sel).map(|f| f.path.clone()).or_else(|| {
        d.sel
            .checked_sub(d.files.len())
            .and_then(|i| d.skipped.get(i))
            .map(|s| s.path.clone())
    })
}

pub(super) fn diff_rows(m: &Model) -> usize {
    layout::inner_rows(layout::diff(m.frame().body)[1]).max(1)
}

pub(super) fn scroll_diff(m: &mut Model, delta: isize) {
    let rows = diff_rows(m);
    let sbs = m.diff.mode == DiffMode::SideBySide;
    let max = m
        .diff
        .files
        .get(m.diff.sel)
        .map_or(0, |f| f.doc.max_scroll(sbs, rows));
    m.diff.scroll = m.diff.scroll.saturating_add_signed(delta).min(max);
}

pub(super) fn diff(m: &mut Model, a: Action) -> Option<Effect> {
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

pub(super) fn toggle_file(m: &mut Model) -> Option<Effect> {
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
