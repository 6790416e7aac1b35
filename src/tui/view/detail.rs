//! Screen 3, finding detail: the source snippet with line numbers and the offending span
//! highlighted, then (scrollable) the pipeline's Docker usage, where an inherited construct is
//! defined, and the rule's explanation (`rules::by_id(id).doc`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::finding::Finding;
use crate::tui::layout;
use crate::tui::model::Model;
use crate::tui::theme::{Theme, badge};

const CONTEXT: usize = 3;

fn finding(m: &Model) -> Option<&Finding> {
    m.scan.as_ref()?.findings.get(m.detail.finding)
}

/// Draw the detail screen.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let [head, snippet, text] = layout::detail(body);
    let Some(fd) = finding(m) else {
        f.render_widget(Paragraph::new("No finding selected (esc goes back)."), body);
        return;
    };
    let pos = m
        .detail
        .siblings
        .iter()
        .position(|i| *i == m.detail.finding)
        .map_or(0, |p| p + 1);
    let pipeline = fd.pipeline.as_deref().unwrap_or("(global)");
    let head_lines = vec![
        Line::from(vec![
            Span::styled(format!(" {} ", badge(fd.severity)), t.severity(fd.severity)),
            Span::styled(fd.rule, t.heading()),
            Span::styled(
                format!(
                    "  finding {pos} of {} in pipeline {}",
                    m.detail.siblings.len(),
                    super::clean(pipeline)
                ),
                t.dim(),
            ),
        ]),
        Line::raw(format!(" {}", super::clean(&fd.message))),
        Line::styled(
            format!(
                " at {}:{}:{}{}",
                super::clean(&fd.path),
                fd.line,
                fd.column,
                if fd.suppressed { " (suppressed)" } else { "" }
            ),
            t.dim(),
        ),
    ];
    f.render_widget(Paragraph::new(head_lines), head);
    let src = m
        .scan
        .as_ref()
        .and_then(|s| s.sources.get(&fd.path))
        .map(|s| &**s);
    f.render_widget(
        Paragraph::new(snippet_lines(fd, src, layout::inner_rows(snippet), t))
            .block(super::block("Source", false, t)),
        snippet,
    );
    let lines = explanation(m, layout::inner_cols(text), t);
    let rows = layout::inner_rows(text);
    let max = lines.len().saturating_sub(rows);
    let scroll = m.detail.scroll.min(max);
    let more = if lines.len() > rows + scroll {
        " Pipeline and rule (↓ for more) "
    } else {
        " Pipeline and rule "
    };
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(rows).collect();
    f.render_widget(
        Paragraph::new(visible).block(
            ratatui::widgets::Block::bordered()
                .title(more)
                .border_style(t.heading()),
        ),
        text,
    );
}

/// The source lines around a finding, numbered, with its span highlighted.
fn snippet_lines(fd: &Finding, src: Option<&str>, rows: usize, t: Theme) -> Vec<Line<'static>> {
    let Some(src) = src else {
        return vec![Line::styled("(the source text is not available)", t.dim())];
    };
    let total = src.lines().count().max(1);
    let first = fd.line.max(1);
    let last = fd.end_line.max(first);
    // Centre the finding when the span is short; otherwise start at it.
    let span_rows = last - first + 1;
    let before = if span_rows + 2 * CONTEXT <= rows {
        CONTEXT
    } else {
        rows.saturating_sub(span_rows) / 2
    };
    let start = first.saturating_sub(before).max(1);
    let end = start.saturating_add(rows.max(1)).min(total + 1);
    let width = end.to_string().len();
    let mut out = Vec::new();
    for (i, text) in src
        .lines()
        .enumerate()
        .skip(start - 1)
        .take(end.saturating_sub(start))
    {
        let n = i + 1;
        let text = super::clean(text).into_owned();
        let inside = n >= first && n <= last;
        let gutter = if inside { '›' } else { '│' };
        let mut spans = vec![Span::styled(format!("{n:>width$} {gutter} "), t.dim())];
        if !inside {
            spans.push(Span::raw(text));
        } else {
            let chars: Vec<char> = text.chars().collect();
            let from = if n == first {
                fd.column.saturating_sub(1)
            } else {
                0
            };
            let to = if n == last {
                fd.end_column.saturating_sub(1)
            } else {
                chars.len()
            };
            let from = from.min(chars.len());
            let to = to.clamp(from, chars.len());
            let to = if to == from && n == first {
                chars.len()
            } else {
                to
            };
            let part = |a: usize, b: usize| chars.get(a..b).map(|c| c.iter().collect::<String>());
            spans.push(Span::raw(part(0, from).unwrap_or_default()));
            spans.push(Span::styled(part(from, to).unwrap_or_default(), t.span()));
            spans.push(Span::raw(part(to, chars.len()).unwrap_or_default()));
        }
        out.push(Line::from(spans));
    }
    out
}

/// Number of lines of the explanation at the current size (for scrolling).
pub fn text_lines(m: &Model) -> usize {
    let [_, _, text] = layout::detail(m.frame().body);
    explanation(m, layout::inner_cols(text), Theme::new(m.mono)).len()
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let need = cur.chars().count() + usize::from(!cur.is_empty()) + word.chars().count();
        if need > width && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    out.push(cur);
    out
}

/// The explanation: Docker usage, pipeline and inheritance, then the rule's documentation.
fn explanation(m: &Model, width: usize, t: Theme) -> Vec<Line<'static>> {
    let Some(fd) = finding(m) else {
        return Vec::new();
    };
    let mut out: Vec<Line<'static>> = Vec::new();
    let para = |out: &mut Vec<Line<'static>>, text: String, style| {
        for l in wrap(&text, width) {
            out.push(Line::styled(l, style));
        }
    };
    let usage: Vec<&str> = fd.docker_usage.iter().map(|u| u.as_str()).collect();
    para(
        &mut out,
        format!(
            "Docker usage: {}{}",
            if usage.is_empty() {
                "unknown (no docker command seen)".to_string()
            } else {
                usage.join(", ")
            },
            fd.recommended
                .map(|r| format!(" · recommended target: {r}"))
                .unwrap_or_default()
        ),
        t.text(),
    );
    let pipeline = super::clean(fd.pipeline.as_deref().unwrap_or("(global)")).into_owned();
    let decl = fd.pipeline_path.as_deref().unwrap_or(&fd.path);
    if decl != fd.path {
        para(
            &mut out,
            format!(
                "Inherited: the construct is defined in {}:{} and reaches pipeline {pipeline} declared in {}; the fix lands where it is defined.",
                super::clean(&fd.path),
                fd.line,
                super::clean(decl)
            ),
            t.warn(),
        );
    } else {
        para(
            &mut out,
            format!("Pipeline: {pipeline}, declared in {}.", super::clean(decl)),
            t.text(),
        );
    }
    if fd.pipelines.len() > 1 {
        para(
            &mut out,
            format!(
                "Shared: it affects {} pipelines: {}.",
                fd.pipelines.len(),
                super::clean(&fd.pipelines.join(", "))
            ),
            t.warn(),
        );
    }
    if let Some(r) = &fd.suppression {
        para(
            &mut out,
            format!("Suppressed: {}", super::clean(r)),
            t.dim(),
        );
    }
    out.push(Line::raw(""));
    let Some(rule) = crate::rules::by_id(fd.rule) else {
        return out;
    };
    let mut code = false;
    for l in rule.doc.lines() {
        if l.starts_with("```") {
            code = !code;
            continue;
        }
        if code {
            out.push(Line::styled(format!("    {}", super::clean(l)), t.dim()));
        } else if let Some(h) = l.strip_prefix("# ").or_else(|| l.strip_prefix("## ")) {
            out.push(Line::styled(h.to_string(), t.heading()));
        } else {
            para(&mut out, super::clean(l).into_owned(), t.text());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::msg::Msg;
    use crate::tui::update::update;
    use crate::tui::view::testing::{render, scanned_model};
    use crate::tui::vocab::Action;

    #[test]
    fn snapshot_detail() {
        let mut m = scanned_model();
        update(&mut m, Msg::Action(Action::Detail));
        insta::assert_snapshot!(render(&m, 100, 30));
        // Scrolling reaches the end of the explanation and stops there.
        for _ in 0..500 {
            update(&mut m, Msg::Action(Action::Down));
        }
        let text = render(&m, 100, 30);
        assert!(!text.contains("↓ for more"), "{text}");
        assert!(m.detail.scroll > 0);
    }

    #[test]
    fn inherited_construct_names_where_it_is_defined() {
        let mut m = scanned_model();
        let Some(i) = m.scan.as_ref().and_then(|s| {
            s.findings
                .iter()
                .position(|f| f.pipeline_path.as_deref().is_some_and(|p| p != f.path))
        }) else {
            panic!("fixture should have an inherited finding");
        };
        m.detail.finding = i;
        m.detail.siblings = vec![i];
        m.screen = crate::tui::model::Screen::Detail;
        let text = render(&m, 100, 40);
        assert!(
            text.contains("Inherited: the construct is defined in"),
            "{text}"
        );
    }

    #[test]
    fn snippet_handles_odd_spans() {
        let t = Theme::new(true);
        let mut fd = scanned_model()
            .scan
            .as_ref()
            .and_then(|s| s.findings.first().cloned())
            .unwrap_or_else(|| panic!("a finding"));
        for (line, col, end_line, end_col) in [
            (1, 1, 1, 1),
            (1, 500, 1, 2),
            (9999, 1, 10_000, 5),
            (0, 0, 0, 0),
            (2, 3, 1, 1),
        ] {
            fd.line = line;
            fd.column = col;
            fd.end_line = end_line;
            fd.end_column = end_col;
            let _ = snippet_lines(&fd, Some("a\tb\nccc\n"), 5, t);
            let _ = snippet_lines(&fd, Some(""), 0, t);
        }
        let lines = snippet_lines(&fd, None, 5, t);
        assert_eq!(lines.len(), 1);
        fd.line = 2;
        fd.column = 2;
        fd.end_line = 2;
        fd.end_column = 3;
        let lines = snippet_lines(&fd, Some("x\nabc\ny\n"), 9, t);
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.to_string()).collect())
            .collect();
        assert_eq!(text, vec!["1 │ x", "2 › abc", "3 │ y"]);
        let hl = lines
            .get(1)
            .and_then(|l| l.spans.iter().find(|s| s.style == t.span()))
            .map(|s| s.content.to_string());
        assert_eq!(hl.as_deref(), Some("b"));
    }

    #[test]
    fn wrap_keeps_words() {
        assert_eq!(wrap("aaaa bbbb cccc", 10), vec!["aaaa bbbb", "cccc"]);
        assert_eq!(wrap("aa bb", 1), vec!["aa bb"], "never narrower than 10");
        assert_eq!(wrap("", 5), vec![""]);
        let long = "x".repeat(50);
        assert_eq!(wrap(&long, 10), vec![long.clone()]);
    }
}
