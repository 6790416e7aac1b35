//! The report screen: writing reports and the plan, and quitting.

use super::*;

pub(super) fn report(m: &mut Model, a: Action) -> Option<Effect> {
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

pub(super) fn saved(m: &mut Model, o: Output, r: Result<String, String>) {
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
            let text = format!(
                "Plan saved to {p}; replay it with: {} migrate --plan {p}",
                m.invocation
            );
            status(m, Level::Done, text);
            m.report.plan = Some(p);
            m.report.sel = REPORT_ACTIONS.len() - 1;
        }
    }
}
