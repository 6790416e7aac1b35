//! Screen 2, overview: pipelines grouped by surface and file with severity badges and
//! counts (left), the findings of the selected pipeline (right), the filter line on top. Only
//! the visible rows are built, so 10,000 findings draw as fast as ten.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::finding::Finding;
use crate::tui::index::{Group, Row, SEVERITIES_DESC, sev_index, surface_name};
use crate::tui::layout;
use crate::tui::model::{Focus, Model};
use crate::tui::theme::{Theme, badge};

/// Draw the overview.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let [filter, left, findings, info] = layout::overview(body);
    let o = &m.overview;
    let idx = &o.index;
    let filter_line = if o.searching {
        Line::from(vec![
            Span::styled(" Search: ", t.key()),
            Span::raw(o.filter.search.clone()),
            Span::styled("▏", t.key()),
        ])
    } else {
        Line::from(vec![
            Span::styled(" Showing: ", t.dim()),
            Span::raw(o.filter.describe()),
            Span::styled(
                format!(
                    " · {} in {}",
                    count(idx.shown, "finding"),
                    count(idx.groups.len(), "pipeline")
                ),
                t.dim(),
            ),
        ])
    };
    f.render_widget(Paragraph::new(filter_line), filter);

    // Pipelines.
    let rows = layout::inner_rows(left);
    let width = layout::inner_cols(left);
    let offset = layout::follow(o.offset, o.sel, rows);
    let mut lines = Vec::with_capacity(rows);
    for (i, row) in idx.rows.iter().enumerate().skip(offset).take(rows) {
        lines.push(match row {
            Row::Surface(s, pipelines, n) => Line::styled(
                super::cut(
                    &format!(
                        "{} · {} {} · {n} finding{}",
                        surface_name(*s),
                        pipelines,
                        if *pipelines == 1 {
                            "pipeline"
                        } else {
                            "pipelines"
                        },
                        if *n == 1 { "" } else { "s" }
                    ),
                    0,
                    width,
                ),
                t.heading(),
            ),
            Row::File(p) => Line::styled(
                format!(
                    " {}",
                    super::ellipsize_left(&super::clean(p), width.saturating_sub(1))
                ),
                t.dim(),
            ),
            Row::Group(g) => match idx.groups.get(*g) {
                Some(g) => group_line(g, i == o.sel, width, t),
                None => Line::raw(""),
            },
        });
    }
    if idx.rows.is_empty() {
        let scan_empty = m
            .scan
            .as_ref()
            .is_none_or(|s| !s.findings.iter().any(|f| !f.suppressed));
        lines.push(Line::raw(if scan_empty && !o.filter.is_active() {
            "No active findings: nothing to migrate."
        } else {
            "No finding matches the filter (esc clears it)."
        }));
    }
    f.render_widget(
        Paragraph::new(lines).block(super::block("Pipelines", o.focus == Focus::Pipelines, t)),
        left,
    );

    // Findings of the selected pipeline.
    let group = idx.group_at(o.sel);
    let all = m.scan.as_ref().map(|s| &s.findings);
    let rows = layout::inner_rows(findings);
    let width = layout::inner_cols(findings);
    let foffset = layout::follow(o.foffset, o.fsel, rows);
    let mut lines = Vec::with_capacity(rows);
    if let (Some(g), Some(all)) = (group, all) {
        for (i, fi) in g.findings.iter().enumerate().skip(foffset).take(rows) {
            if let Some(fd) = all.get(*fi) {
                let sel = o.focus == Focus::Findings && i == o.fsel;
                lines.push(finding_line(fd, sel, width, t));
            }
        }
    }
    let title = group.map_or("Findings".to_string(), |g| {
        format!("Findings of {}", super::cut(&super::clean(&g.name), 0, 40))
    });
    f.render_widget(
        Paragraph::new(lines).block(super::block(&title, o.focus == Focus::Findings, t)),
        findings,
    );

    // The selected finding.
    let pick = if o.focus == Focus::Findings {
        o.fsel
    } else {
        0
    };
    let fd = group
        .and_then(|g| g.findings.get(pick))
        .and_then(|i| all.and_then(|a| a.get(*i)));
    let mut lines = Vec::new();
    if let Some(fd) = fd {
        lines.push(Line::from(vec![
            Span::styled(badge(fd.severity), t.severity(fd.severity)),
            Span::raw(" "),
            Span::styled(fd.rule, t.heading()),
            Span::styled(
                format!("  {}:{}:{}", super::clean(&fd.path), fd.line, fd.column),
                t.dim(),
            ),
        ]));
        lines.push(Line::raw(super::clean(&fd.message).into_owned()));
        if let Some(r) = &fd.suppression {
            lines.push(Line::styled(
                format!("suppressed: {}", super::clean(r)),
                t.dim(),
            ));
        }
        lines.push(Line::styled("d: source, rule and Docker usage", t.dim()));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(super::block("Selected finding", false, t)),
        info,
    );
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn group_line(g: &Group, selected: bool, width: usize, t: Theme) -> Line<'static> {
    let mut badges: Vec<Span<'static>> = Vec::new();
    let mut bw = 0;
    for s in SEVERITIES_DESC {
        let n = g.counts.get(sev_index(s)).copied().unwrap_or(0);
        if n > 0 {
            let text = format!(" {} {n}", badge(s).trim_end());
            bw += text.chars().count();
            badges.push(Span::styled(text, t.severity(s)));
        }
    }
    if g.suppressed > 0 {
        let text = format!(" +{} supp", g.suppressed);
        bw += text.chars().count();
        badges.push(Span::styled(text, t.dim()));
    }
    let name_w = width.saturating_sub(bw + 2);
    let name = super::cut(&super::clean(&g.name), 0, name_w);
    let pad = name_w.saturating_sub(name.chars().count());
    let mut spans = vec![Span::styled(
        format!(
            "{} {name}{}",
            if selected { "›" } else { " " },
            " ".repeat(pad)
        ),
        super::row_style(selected, t),
    )];
    spans.extend(badges);
    Line::from(spans)
}

fn finding_line(fd: &Finding, selected: bool, width: usize, t: Theme) -> Line<'static> {
    let (b, bs) = if fd.suppressed {
        ("SUPP", t.dim())
    } else {
        (badge(fd.severity), t.severity(fd.severity))
    };
    let loc = format!(" {}:{} ", super::clean(&fd.path), fd.line);
    let head = format!("{b} {}", fd.rule);
    let rest = width.saturating_sub(head.chars().count() + loc.chars().count() + 1);
    let msg = super::cut(&super::clean(&fd.message), 0, rest);
    let style = super::row_style(selected, t);
    Line::from(vec![
        Span::styled(if selected { "›" } else { " " }, style),
        Span::styled(b, if selected { style } else { bs }),
        Span::styled(format!(" {}", fd.rule), style),
        Span::styled(loc, if selected { style } else { t.dim() }),
        Span::styled(msg, style),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::msg::Msg;
    use crate::tui::update::update;
    use crate::tui::view::testing::{self, render};
    use crate::tui::vocab::Action;

    pub(crate) fn scanned_model() -> Model {
        testing::scanned_model()
    }

    #[test]
    fn snapshot_overview() {
        let m = scanned_model();
        insta::assert_snapshot!(render(&m, 100, 30));
    }

    #[test]
    fn snapshot_overview_findings_focus_and_filter() {
        let mut m = scanned_model();
        update(&mut m, Msg::Action(Action::Down));
        update(&mut m, Msg::Action(Action::NextPane));
        update(&mut m, Msg::Action(Action::Down));
        insta::assert_snapshot!("overview_findings_focus", render(&m, 100, 30));
        update(&mut m, Msg::Action(Action::CycleSeverity));
        update(&mut m, Msg::Action(Action::CycleSeverity));
        update(&mut m, Msg::Action(Action::CycleSeverity));
        update(&mut m, Msg::Action(Action::CycleSeverity));
        let text = render(&m, 100, 30);
        assert!(text.contains("severity ≥ critical"), "{text}");
        assert!(!text.contains("HIGH"), "{text}");
    }

    #[test]
    fn empty_filter_result_says_so() {
        let mut m = scanned_model();
        m.overview.filter.search = "zzzz-nothing".into();
        update(&mut m, Msg::Action(Action::CycleSeverity));
        let text = render(&m, 100, 30);
        assert!(text.contains("No finding matches the filter"), "{text}");
    }
}
