//! Screen 6, diff viewer: the files the plan changes with per-file accept/skip (left) and
//! the selected file's diff, unified or side by side, with line numbers and hunk position
//! (right). The unified text is exactly what `migrate --dry-run` prints for the same plan.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::diffdoc::{self, DiffDoc, Kind};
use crate::tui::layout;
use crate::tui::model::{DiffMode, Model};
use crate::tui::theme::Theme;

fn style(kind: Kind, t: Theme) -> Style {
    match kind {
        Kind::Header => t.heading(),
        Kind::Hunk => t.hunk(),
        Kind::Added => t.added(),
        Kind::Removed => t.removed(),
        Kind::Context => t.text(),
        Kind::Note => t.dim(),
    }
}

fn num(n: Option<usize>) -> String {
    n.map_or_else(|| "     ".to_string(), |n| format!("{n:>5}"))
}

/// Draw the diff viewer.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let [files, pane] = layout::diff(body);
    let d = &m.diff;
    let width = layout::inner_cols(files);
    let rows = layout::inner_rows(files);
    let mut lines = Vec::new();
    let entries = d.files.len() + d.skipped.len();
    let offset = layout::follow(0, d.sel, rows);
    for i in (0..entries).skip(offset).take(rows) {
        let sel = i == d.sel;
        let (mark, path, tail, ok) = match d.files.get(i) {
            Some(fl) => (
                "✓",
                &fl.path,
                format!(" +{} -{}", fl.added, fl.removed),
                true,
            ),
            None => match i.checked_sub(d.files.len()).and_then(|k| d.skipped.get(k)) {
                Some(s) => ("✗", &s.path, " skipped".to_string(), false),
                None => continue,
            },
        };
        let name_w = width.saturating_sub(tail.len() + 2);
        let name = super::ellipsize_left(&super::clean(path), name_w);
        let pad = name_w.saturating_sub(name.chars().count());
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), if ok { t.good() } else { t.warn() }),
            Span::styled(
                format!("{name}{}", " ".repeat(pad)),
                if sel {
                    t.selected()
                } else if ok {
                    t.text()
                } else {
                    t.dim()
                },
            ),
            Span::styled(tail, t.dim()),
        ]));
    }
    if entries == 0 {
        lines.push(Line::raw("No file changes."));
    }
    f.render_widget(
        Paragraph::new(lines).block(super::block(&format!("Files {}", d.files.len()), false, t)),
        files,
    );

    let sbs = d.mode == DiffMode::SideBySide;
    let Some(file) = d.files.get(d.sel) else {
        let text = match d
            .sel
            .checked_sub(d.files.len())
            .and_then(|k| d.skipped.get(k))
        {
            Some(s) => {
                let names: Vec<&str> = s.restore.iter().map(|(_, n, _, _)| n.as_str()).collect();
                vec![
                    Line::raw(format!("{} is skipped.", super::clean(&s.path))),
                    Line::raw(format!(
                        "These pipelines are left as they are because their edits touch it: {}. Their edits to other files are dropped too.",
                        super::clean(&names.join(", "))
                    )),
                    Line::styled("x accepts it again.", t.dim()),
                ]
            }
            None => no_changes(m, t),
        };
        f.render_widget(
            Paragraph::new(text)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(super::block("Diff", true, t)),
            pane,
        );
        return;
    };
    let doc = &file.doc;
    let rows = layout::inner_rows(pane);
    let cols = layout::inner_cols(pane);
    let len = doc.len(sbs);
    let scroll = d.scroll.min(doc.max_scroll(sbs, rows));
    let hunks = doc.hunk_positions(sbs).len();
    let title = format!(
        "{} · {} · hunk {}/{} · line {}/{}",
        super::ellipsize_left(&super::clean(&file.path), 40),
        if sbs { "side by side" } else { "unified" },
        if hunks == 0 {
            0
        } else {
            doc.hunk_at(scroll, sbs) + 1
        },
        hunks,
        (scroll + 1).min(len),
        len
    );
    let lines = if sbs {
        side_by_side(doc, scroll, rows, cols, d.hscroll, t)
    } else {
        unified(doc, scroll, rows, cols, d.hscroll, t)
    };
    f.render_widget(
        Paragraph::new(lines).block(super::block(&title, true, t)),
        pane,
    );
}

fn no_changes(m: &Model, t: Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw("The plan changes no file in the repository.")];
    if m.preview.is_some() {
        let manual = m.manual_task_count();
        if manual > 0 {
            out.push(Line::raw(format!(
                "{manual} manual task{} will be listed in the report.",
                if manual == 1 { "" } else { "s" }
            )));
        }
    }
    out.push(Line::styled(
        "Enter continues; esc goes back to the targets.",
        t.dim(),
    ));
    out
}

fn unified(
    doc: &DiffDoc,
    scroll: usize,
    rows: usize,
    cols: usize,
    hscroll: usize,
    t: Theme,
) -> Vec<Line<'static>> {
    doc.lines
        .iter()
        .skip(scroll)
        .take(rows)
        .map(|l| {
            let text = super::cut(&super::clean(&l.text), hscroll, cols.saturating_sub(12));
            Line::from(vec![
                Span::styled(format!("{} {} ", num(l.old), num(l.new)), t.dim()),
                Span::styled(text, style(l.kind, t)),
            ])
        })
        .collect()
}

fn half(
    l: Option<&diffdoc::Line>,
    old: bool,
    width: usize,
    hscroll: usize,
    t: Theme,
) -> Vec<Span<'static>> {
    let Some(l) = l else {
        return vec![Span::raw(" ".repeat(width))];
    };
    let n = if old { l.old } else { l.new };
    let text = super::cut(&super::clean(l.body()), hscroll, width.saturating_sub(7));
    let pad = width.saturating_sub(7).saturating_sub(text.chars().count());
    let mark = match l.kind {
        Kind::Added => "+",
        Kind::Removed => "-",
        _ => " ",
    };
    vec![
        Span::styled(format!("{}{mark}", num(n)), t.dim()),
        Span::styled(format!(" {text}{}", " ".repeat(pad)), style(l.kind, t)),
    ]
}

fn side_by_side(
    doc: &DiffDoc,
    scroll: usize,
    rows: usize,
    cols: usize,
    hscroll: usize,
    t: Theme,
) -> Vec<Line<'static>> {
    let w = cols.saturating_sub(1) / 2;
    doc.rows
        .iter()
        .skip(scroll)
        .take(rows)
        .map(|r| {
            let left = r.left.and_then(|i| doc.lines.get(i));
            let right = r.right.and_then(|i| doc.lines.get(i));
            match (left, r.left == r.right) {
                (Some(l), true) if matches!(l.kind, Kind::Header | Kind::Hunk | Kind::Note) => {
                    Line::styled(
                        super::cut(&super::clean(&l.text), hscroll, cols),
                        style(l.kind, t),
                    )
                }
                _ => {
                    let mut spans = half(left, true, w, hscroll, t);
                    spans.push(Span::styled("│", t.dim()));
                    spans.extend(half(right, false, w, hscroll, t));
                    Line::from(spans)
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::Screen;
    use crate::tui::msg::Msg;
    use crate::tui::update::update;
    use crate::tui::view::testing::{previewed_model, render};
    use crate::tui::vocab::Action;

    #[test]
    fn snapshot_diff_unified_and_side_by_side() {
        let mut m = previewed_model();
        assert_eq!(m.screen, Screen::Diff);
        insta::assert_snapshot!("diff_unified", render(&m, 100, 30));
        update(&mut m, Msg::Action(Action::ToggleMode));
        insta::assert_snapshot!("diff_side_by_side", render(&m, 100, 30));
        update(&mut m, Msg::Action(Action::NextHunk));
        update(&mut m, Msg::Action(Action::NextHunk));
        let text = render(&m, 100, 30);
        assert!(text.contains("hunk 2/3"), "{text}");
    }

    #[test]
    fn no_changes_says_so() {
        let mut m = previewed_model();
        m.diff.files.clear();
        m.diff.sel = 0;
        let text = render(&m, 100, 30);
        assert!(text.contains("The plan changes no file"), "{text}");
    }

    #[test]
    fn large_diff_draws_only_the_window() {
        let mut m = previewed_model();
        let before: String = (0..5000).map(|i| format!("key{i}: value\n")).collect();
        let after = before.replace(": value", ": other");
        let change = crate::migrate::FileChange {
            path: "big.yml".into(),
            before: std::sync::Arc::from(before.as_str()),
            after,
            edits: Vec::new(),
            added: 5000,
            removed: 5000,
        };
        if let Some(f) = m.diff.files.first_mut() {
            f.doc = DiffDoc::parse(&change.unified_diff());
        }
        let start = std::time::Instant::now();
        for _ in 0..200 {
            update(&mut m, Msg::Action(Action::PageDown));
            let _ = render(&m, 120, 40);
        }
        assert!(m.diff.scroll > 0);
        // 200 frames of a 10,000-line diff: far below a second even unoptimised.
        assert!(start.elapsed().as_secs() < 10);
        update(&mut m, Msg::Action(Action::Bottom));
        let text = render(&m, 120, 40);
        assert!(text.contains("key4999: other"), "{text}");
    }
}
