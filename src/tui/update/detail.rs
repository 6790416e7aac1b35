//! The finding detail: scrolling and stepping through the group's findings.

use super::*;

pub(super) fn detail(m: &mut Model, a: Action) -> Option<Effect> {
    let rows = layout::inner_rows(layout::detail(m.frame().body)[2]).max(1);
    let max = crate::tui::view::detail::text_lines(m).saturating_sub(rows);
    let d = &mut m.detail;
    match a {
        Action::Back | Action::Left => m.screen = Screen::Overview,
        Action::Forward => return forward_from_overview(m),
        Action::NextItem | Action::PrevItem => {
            let pos = d.siblings.iter().position(|i| *i == d.finding).unwrap_or(0);
            let delta = if a == Action::NextItem { 1 } else { -1 };
            let next = clamp_add(pos, delta, d.siblings.len());
            if let Some(&f) = d.siblings.get(next) {
                d.finding = f;
                d.scroll = 0;
            }
        }
        Action::Up => d.scroll = d.scroll.saturating_sub(1),
        Action::Down => d.scroll = (d.scroll + 1).min(max),
        Action::PageUp => d.scroll = d.scroll.saturating_sub(rows),
        Action::PageDown => d.scroll = (d.scroll + rows).min(max),
        Action::Top => d.scroll = 0,
        Action::Bottom => d.scroll = max,
        _ => {}
    }
    None
}
