//! The overview: moving through pipelines and findings, filters, search, and going forward.

use super::*;

/// Rebuild the overview index after a filter change, keeping the selection near.
pub(super) fn rebuild(m: &mut Model) {
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

pub(super) fn overview_rows(m: &Model) -> (usize, usize) {
    let [_, left, findings, _] = layout::overview(m.frame().body);
    (layout::inner_rows(left), layout::inner_rows(findings))
}

pub(super) fn group_len(m: &Model) -> usize {
    m.overview
        .index
        .group_at(m.overview.sel)
        .map_or(0, |g| g.findings.len())
}

pub(super) fn move_overview(m: &mut Model, delta: isize) {
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

pub(super) fn clamp_add(cur: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    cur.saturating_add_signed(delta).min(len - 1)
}

pub(super) fn forward_from_overview(m: &mut Model) -> Option<Effect> {
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

pub(super) fn overview(m: &mut Model, a: Action) -> Option<Effect> {
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

pub(super) fn open_detail(m: &mut Model) {
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
