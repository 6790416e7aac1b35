//! Where things go on the screen. Shared by the views (to draw) and by `update` (to know how
//! many rows a page is and keep the selection visible), so both agree on every size.

use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest usable terminal.
pub const MIN_WIDTH: u16 = 80;
/// Smallest usable terminal.
pub const MIN_HEIGHT: u16 = 24;

/// The frame: title bar, body, status line, help bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Title and steps.
    pub title: Rect,
    /// The screen.
    pub body: Rect,
    /// Status message or progress.
    pub status: Rect,
    /// Keys.
    pub bar: Rect,
}

/// Split the terminal.
pub fn areas(r: Rect) -> Areas {
    let [title, body, status, bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(r);
    Areas {
        title,
        body,
        status,
        bar,
    }
}

/// Whether the terminal is below 80×24.
pub fn too_small(r: Rect) -> bool {
    r.width < MIN_WIDTH || r.height < MIN_HEIGHT
}

/// Rows inside a bordered block.
pub fn inner_rows(r: Rect) -> usize {
    usize::from(r.height.saturating_sub(2))
}

/// Columns inside a bordered block.
pub fn inner_cols(r: Rect) -> usize {
    usize::from(r.width.saturating_sub(2))
}

/// Overview: filter line, pipelines (left), findings (right top), selected finding (right
/// bottom).
pub fn overview(body: Rect) -> [Rect; 4] {
    let [filter, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(main);
    let [findings, info] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(7)]).areas(right);
    [filter, left, findings, info]
}

/// Finding detail: heading, source snippet, scrollable explanation.
pub fn detail(body: Rect) -> [Rect; 3] {
    let snippet = body.height.saturating_sub(3) / 2;
    Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(snippet.min(13)),
        Constraint::Min(0),
    ])
    .areas(body)
}

/// Environment: questions, hints.
pub fn environment(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(0), Constraint::Length(6)]).areas(body)
}

/// Targets: pipelines (left), choices (right top), details (right bottom).
pub fn targets(body: Rect) -> [Rect; 3] {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body);
    let [choices, info] =
        Layout::vertical([Constraint::Length(9), Constraint::Min(0)]).areas(right);
    [left, choices, info]
}

/// Diff: files (left), diff (right).
pub fn diff(body: Rect) -> [Rect; 2] {
    let files = (body.width / 4).clamp(24, 40);
    Layout::horizontal([Constraint::Length(files), Constraint::Min(0)]).areas(body)
}

/// Report: summary (top), actions (bottom).
pub fn report(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(0), Constraint::Length(8)]).areas(body)
}

/// A rectangle of at most `w`×`h` centred in `r`.
pub fn centered(r: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(r.width);
    let h = h.min(r.height);
    Rect::new(r.x + (r.width - w) / 2, r.y + (r.height - h) / 2, w, h)
}

/// The first visible row that keeps `sel` on screen, moving as little as possible from
/// `offset`.
pub fn follow(offset: usize, sel: usize, rows: usize) -> usize {
    if rows == 0 {
        return sel;
    }
    if sel < offset {
        sel
    } else if sel >= offset.saturating_add(rows) {
        sel + 1 - rows
    } else {
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_adds_up() {
        let a = areas(Rect::new(0, 0, 80, 24));
        assert_eq!(
            a.title.height + a.body.height + a.status.height + a.bar.height,
            24
        );
        assert_eq!(a.body.height, 21);
        assert!(too_small(Rect::new(0, 0, 79, 24)));
        assert!(too_small(Rect::new(0, 0, 80, 23)));
        assert!(!too_small(Rect::new(0, 0, 80, 24)));
        // Degenerate sizes never panic.
        let z = areas(Rect::new(0, 0, 0, 0));
        let _ = (
            overview(z.body),
            detail(z.body),
            targets(z.body),
            diff(z.body),
        );
        let _ = (
            environment(z.body),
            report(z.body),
            centered(z.body, 10, 10),
        );
    }

    #[test]
    fn follow_scrolls_minimally() {
        assert_eq!(follow(0, 5, 10), 0);
        assert_eq!(follow(0, 10, 10), 1);
        assert_eq!(follow(5, 2, 10), 2);
        assert_eq!(follow(3, 7, 10), 3);
        assert_eq!(follow(0, 3, 0), 3);
        assert_eq!(follow(usize::MAX, 1, 5), 1);
    }

    #[test]
    fn centred_box_fits() {
        let r = centered(Rect::new(0, 0, 80, 24), 200, 10);
        assert_eq!((r.x, r.width, r.height), (0, 80, 10));
        assert_eq!(r.y, 7);
    }
}
