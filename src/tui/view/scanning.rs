//! Screen 1, scanning: files discovered and read so far, with a gauge once the walk is done.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Gauge, Paragraph};

use crate::tui::layout;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

/// Draw the scanning screen.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let r = layout::centered(body, 64, 9);
    let block = super::block("Scanning", true, t);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [text, gauge] =
        Layout::vertical([Constraint::Length(5), Constraint::Length(1)]).areas(inner);
    let discovered = match m.progress.discovered {
        Some(n) => format!("{n} CI files discovered"),
        None => "Looking for CI files…".to_string(),
    };
    let read = match m.progress.discovered {
        Some(n) => format!("{} of {n} read and analysed", m.progress.read.min(n)),
        None => String::new(),
    };
    let lines = vec![
        Line::raw(super::cut(&m.root, 0, usize::from(inner.width))),
        Line::raw(""),
        Line::raw(discovered),
        Line::raw(read),
        Line::styled("Esc cancels.", t.dim()),
    ];
    f.render_widget(Paragraph::new(lines), text);
    if let Some(n) = m.progress.discovered {
        let ratio = if n == 0 {
            1.0
        } else {
            (m.progress.read.min(n) as f64) / (n as f64)
        };
        f.render_widget(
            Gauge::default()
                .gauge_style(t.good())
                .ratio(ratio.clamp(0.0, 1.0))
                .use_unicode(!m.mono),
            gauge,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Environment;
    use crate::tui::model::Model;
    use crate::tui::view::testing::render;

    #[test]
    fn snapshot_scanning() {
        let mut m = Model::new("/work/repos/shop", Environment::default(), true);
        m.progress.discovered = Some(120);
        m.progress.read = 48;
        insta::assert_snapshot!(render(&m, 80, 24));
        m.progress.read = 10_000;
        let text = render(&m, 80, 24);
        assert!(text.contains("120 of 120 read"), "{text}");
        m.progress.discovered = Some(0);
        assert!(render(&m, 80, 24).contains("0 CI files discovered"));
    }
}
