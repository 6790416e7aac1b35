//! Screen 8, report: what changed and what is left by hand (per pipeline, manual tasks,
//! remaining findings), then the actions: write the Markdown report, save the plan to replay
//! in CI, quit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::rewrite::Status;
use crate::tui::effects::{PLAN_FILE, report_file};
use crate::tui::layout;
use crate::tui::model::{Model, REPORT_ACTIONS, ReportAction};
use crate::tui::theme::Theme;

fn status_style(s: Status, t: Theme) -> ratatui::style::Style {
    match s {
        Status::Migrated => t.good(),
        Status::Partial | Status::Manual => t.warn(),
        Status::Unsupported => t.error(),
        Status::Skipped => t.dim(),
    }
}

/// The summary lines (also used to bound scrolling).
pub fn summary(m: &Model, t: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    match &m.written {
        Some(w) if !w.files.is_empty() => {
            out.push(Line::styled(
                format!(
                    "Wrote {} file{}; `{} undo {}` restores the originals.",
                    w.files.len(),
                    if w.files.len() == 1 { "" } else { "s" },
                    m.invocation,
                    super::clean(&m.root)
                ),
                t.good(),
            ));
            for (p, _, _) in &w.files {
                out.push(Line::raw(format!("  {}", super::clean(p))));
            }
        }
        Some(_) => out.push(Line::raw("No file needed a change.")),
        None => out.push(Line::styled("Nothing was written.", t.warn())),
    }
    let Some(p) = &m.preview else {
        return out;
    };
    out.push(Line::raw(""));
    out.push(Line::styled("Pipelines", t.heading()));
    for r in &p.results {
        out.push(Line::from(vec![
            Span::styled(
                format!("  {:<11}", r.status.as_str()),
                status_style(r.status, t),
            ),
            Span::raw(format!(
                " {:<9} {} ({}) — {}/{} addressed",
                r.choice.as_str(),
                super::clean(&r.pipeline),
                super::clean(&r.path),
                r.addressed,
                r.findings
            )),
        ]));
    }
    // One line per task, as the report lists them: a task shared by pipelines once.
    let mut tasks: Vec<(&crate::rewrite::ManualTask, Vec<&str>)> = Vec::new();
    for r in &p.results {
        for task in &r.manual {
            match tasks.iter_mut().find(|(x, _)| {
                (&x.title, &x.location, &x.snippet) == (&task.title, &task.location, &task.snippet)
            }) {
                Some((_, names)) => names.push(&r.pipeline),
                None => tasks.push((task, vec![&r.pipeline])),
            }
        }
    }
    let count = m.manual_task_count();
    if count > 0 {
        out.push(Line::raw(""));
        out.push(Line::styled(format!("Left by hand ({count})"), t.heading()));
        for (task, names) in &tasks {
            out.push(Line::raw(format!(
                "  • {} — {} ({})",
                super::clean(&task.title),
                super::clean(&task.location),
                super::clean(&names.join(", "))
            )));
        }
        if count > tasks.len() {
            out.push(Line::raw(format!(
                "  • and {} for the runner hosts (in the report, with snippets)",
                plural_tasks(count - tasks.len())
            )));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::raw(format!(
        "{} finding{} remain; the report has the snippets for every manual task.",
        p.remaining.len(),
        if p.remaining.len() == 1 { "" } else { "s" }
    )));
    out
}

fn plural_tasks(n: usize) -> String {
    format!("{n} task{}", if n == 1 { "" } else { "s" })
}

/// Draw the report screen.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let [top, actions] = layout::report(body);
    let lines = summary(m, t);
    let rows = layout::inner_rows(top);
    let scroll = m.report.scroll.min(lines.len().saturating_sub(rows));
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(rows).collect();
    f.render_widget(
        Paragraph::new(visible).block(super::block("What changed, what is left", false, t)),
        top,
    );
    let mut al = Vec::new();
    for (i, a) in REPORT_ACTIONS.iter().enumerate() {
        let (target, done) = match a {
            ReportAction::Write(f) => {
                let name = report_file(*f);
                let done = m.report.reports.iter().any(|r| r == name);
                (
                    format!(" ({name})"),
                    done.then(|| "  ✓ written".to_string()),
                )
            }
            ReportAction::SavePlan => (
                format!(" ({PLAN_FILE})"),
                m.report.plan.as_ref().map(|_| "  ✓ saved".to_string()),
            ),
            ReportAction::Quit => (String::new(), None),
        };
        let sel = i == m.report.sel;
        al.push(Line::from(vec![
            Span::styled(
                format!("{} {}{target}", if sel { "›" } else { " " }, a.label()),
                super::row_style(sel, t),
            ),
            Span::styled(done.unwrap_or_default(), t.good()),
        ]));
    }
    f.render_widget(
        Paragraph::new(al).block(super::block("Next", true, t)),
        actions,
    );
}

#[cfg(test)]
mod tests {
    use crate::tui::model::Screen;
    use crate::tui::msg::{Msg, Output};
    use crate::tui::update::update;
    use crate::tui::view::testing::{previewed_model, render};
    use crate::tui::vocab::Action;
    use crate::write::WriteReport;

    #[test]
    fn snapshot_report() {
        let mut m = previewed_model();
        update(&mut m, Msg::Action(Action::Forward));
        update(&mut m, Msg::Action(Action::Forward));
        update(
            &mut m,
            Msg::Written(Ok(WriteReport {
                files: vec![(".gitlab-ci.yml".into(), "a".into(), "b".into())],
                journal: ".git/depriv/1".into(),
            })),
        );
        assert_eq!(m.screen, Screen::Report);
        update(
            &mut m,
            Msg::Saved(Output::Report, Ok("depriv-report.md".into())),
        );
        insta::assert_snapshot!(render(&m, 100, 30));
    }
}
