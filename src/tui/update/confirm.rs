//! Confirm and write: the version-control guard and the transaction's result.

use super::*;

pub(super) fn replacements(p: &Preview) -> Vec<Replacement> {
    p.changes
        .iter()
        .map(|c| Replacement {
            path: c.path.clone(),
            before: c.before.as_bytes().to_vec(),
            after: c.after.as_bytes().to_vec(),
        })
        .collect()
}

pub(super) fn start_write(m: &mut Model, allow_dirty: bool, allow_no_vcs: bool) -> Option<Effect> {
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

pub(super) fn confirm(m: &mut Model, a: Action) -> Option<Effect> {
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

pub(super) fn written(m: &mut Model, r: Result<WriteReport, WriteFailure>) {
    m.busy = None;
    match r {
        Ok(rep) => {
            let text = format!(
                "Wrote {}. Undo with: {} undo {}",
                plural(rep.files.len(), "file", "files"),
                m.invocation,
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
