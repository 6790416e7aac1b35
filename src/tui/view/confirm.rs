//! Screen 7, confirm and write: what will be written and what each pipeline becomes, the
//! write/back choice, and the engine's error (naming the file and the reason) when the
//! transaction refused or failed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::rewrite::Status;
use crate::tui::model::Model;
use crate::tui::theme::Theme;
use crate::tui::vocab::Guard;

/// Draw the confirmation.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let n = m.pending_files();
    let mut lines = Vec::new();
    if n == 0 {
        lines.push(Line::styled(
            "Nothing to write: the plan changes no file.",
            t.heading(),
        ));
        lines.push(Line::raw(
            "Enter goes on to the report, which lists what is left to do by hand.",
        ));
    } else {
        lines.push(Line::styled(
            format!(
                "Write {n} file{}? They are replaced all or nothing.",
                if n == 1 { "" } else { "s" }
            ),
            t.heading(),
        ));
        lines.push(Line::raw(format!(
            "A journal keeps the originals: `{} undo {}` restores them.",
            m.invocation,
            super::clean(&m.root)
        )));
    }
    lines.push(Line::raw(""));
    if let Some(p) = &m.preview {
        // As many files as the box has room for (the rest of the screen takes about 5 rows,
        // 4 more with an error): cut with "… and N more" only when the room is really used
        // up, never leaving blank rows below.
        let reserve = 5 + if m.confirm.error.is_some() { 4 } else { 0 };
        let room = crate::tui::layout::inner_rows(body)
            .saturating_sub(lines.len() + reserve)
            .max(3);
        let shown = if p.changes.len() <= room {
            p.changes.len()
        } else {
            room - 1
        };
        for c in p.changes.iter().take(shown) {
            lines.push(Line::from(vec![
                Span::raw(format!("  {}", super::clean(&c.path))),
                Span::styled(format!("  +{} -{}", c.added, c.removed), t.dim()),
            ]));
        }
        if p.changes.len() > shown {
            lines.push(Line::styled(
                format!("  … and {} more", p.changes.len() - shown),
                t.dim(),
            ));
        }
        let count = |s: Status| p.results.iter().filter(|r| r.status == s).count();
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "Pipelines: {} migrated, {} partial, {} manual, {} unsupported, {} skipped · {} finding{} would remain",
            count(Status::Migrated),
            count(Status::Partial),
            count(Status::Manual),
            count(Status::Unsupported),
            count(Status::Skipped),
            p.remaining.len(),
            if p.remaining.len() == 1 { "" } else { "s" }
        )));
    }
    lines.push(Line::raw(""));
    let button = |label: String, on: bool| {
        if on {
            Span::styled(format!("[ {label} ]"), t.selected())
        } else {
            Span::raw(format!("  {label}  "))
        }
    };
    let go = if n == 0 {
        "Continue".to_string()
    } else {
        format!("Write {n} file{}", if n == 1 { "" } else { "s" })
    };
    lines.push(Line::from(vec![
        Span::raw("    "),
        button(go, !m.confirm.back),
        Span::raw("    "),
        button("Back to the diff".to_string(), m.confirm.back),
    ]));
    if let Some(e) = &m.confirm.error {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("✗ Nothing was written: {}", super::clean(e)),
            t.error(),
        ));
        match m.confirm.guard {
            Some(Guard::Dirty) => lines.push(Line::raw(
                "Commit or stash your changes first (so undo and review stay simple), or press ! to write anyway.",
            )),
            Some(Guard::NoVcs) => lines.push(Line::raw(
                "Without version control only depriv's journal can undo this; press ! to write anyway.",
            )),
            None => {}
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(super::block("Confirm and write", true, t)),
        body,
    );
}

#[cfg(test)]
mod tests {
    use crate::tui::model::Screen;
    use crate::tui::msg::{Msg, WriteFailure};
    use crate::tui::update::update;
    use crate::tui::view::testing::{previewed_model, render};
    use crate::tui::vocab::Action;
    use crate::tui::vocab::Guard;

    #[test]
    fn snapshot_confirm_and_refusal() {
        let mut m = previewed_model();
        update(&mut m, Msg::Action(Action::Forward));
        assert_eq!(m.screen, Screen::Confirm);
        insta::assert_snapshot!("confirm", render(&m, 100, 30));
        update(
            &mut m,
            Msg::Written(Err(WriteFailure {
                message: "the working tree has uncommitted changes (.gitlab-ci.yml)".into(),
                guard: Some(Guard::Dirty),
            })),
        );
        insta::assert_snapshot!("confirm_refused", render(&m, 100, 30));
    }

    #[test]
    fn a_long_file_list_fills_the_box_before_it_is_cut() {
        let mut m = previewed_model();
        let Some(p) = m.preview.as_mut() else {
            panic!("a preview");
        };
        let p = std::sync::Arc::make_mut(p);
        let Some(first) = p.changes.first().cloned() else {
            panic!("a change");
        };
        p.changes = (0..40)
            .map(|i| {
                let mut c = first.clone();
                c.path = format!("ci/job{i}.yml");
                c
            })
            .collect();
        update(&mut m, Msg::Action(Action::Forward));
        let screen = render(&m, 100, 30);
        let lines: Vec<&str> = screen.lines().collect();
        let more = lines
            .iter()
            .position(|l| l.contains("… and "))
            .unwrap_or_else(|| panic!("cut: {screen}"));
        let shown = lines.iter().filter(|l| l.contains("ci/job")).count();
        assert!(
            lines[more].contains(&format!("… and {} more", 40 - shown)),
            "{screen}"
        );
        // The box is used: at most one blank row between the buttons and the border.
        let buttons = lines
            .iter()
            .position(|l| l.contains("Back to the diff"))
            .unwrap_or_default();
        let border = lines
            .iter()
            .rposition(|l| l.starts_with('└'))
            .unwrap_or_default();
        assert!(border - buttons <= 2, "{screen}");
        // Nine files fit at 80×24: all of them, no "… and 1 more".
        let mut m = previewed_model();
        if let Some(p) = m.preview.as_mut() {
            let p = std::sync::Arc::make_mut(p);
            p.changes = (0..9)
                .map(|i| {
                    let mut c = first.clone();
                    c.path = format!("ci/job{i}.yml");
                    c
                })
                .collect();
        }
        m.size = (80, 24);
        update(&mut m, Msg::Action(Action::Forward));
        let screen = render(&m, 80, 24);
        assert!(!screen.contains("… and"), "{screen}");
        assert_eq!(screen.matches("ci/job").count(), 9, "{screen}");
    }
}
