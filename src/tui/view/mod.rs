//! `view(&Model, &mut Frame)`: the title bar with the steps, the current screen (one module
//! each), the status line, the help bar drawn from the key table, and the overlays (help,
//! quit). Below 80×24 only a message asking for a larger terminal is drawn.

pub mod confirm;
pub mod detail;
pub mod diff;
pub mod environment;
pub mod overview;
pub mod report;
pub mod scanning;
pub mod targets;

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::keys;
use super::layout::{self, MIN_HEIGHT, MIN_WIDTH};
use super::model::{Level, Model, Overlay, STEPS, Screen};
use super::theme::Theme;

const SPINNER: [&str; 4] = ["-", "\\", "|", "/"];

/// Draw the whole UI.
pub fn view(m: &Model, f: &mut Frame) {
    let area = f.area();
    let t = Theme::new(m.mono);
    if layout::too_small(area) {
        too_small(f, area, t);
        return;
    }
    let a = layout::areas(area);
    title(m, f, a.title, t);
    match m.screen {
        Screen::Scanning => scanning::view(m, f, a.body),
        Screen::Overview => overview::view(m, f, a.body),
        Screen::Detail => detail::view(m, f, a.body),
        Screen::Environment => environment::view(m, f, a.body),
        Screen::Targets => targets::view(m, f, a.body),
        Screen::Diff => diff::view(m, f, a.body),
        Screen::Confirm => confirm::view(m, f, a.body),
        Screen::Report => report::view(m, f, a.body),
    }
    status(m, f, a.status, t);
    bar(m, f, a.bar, t);
    match m.overlay {
        Some(Overlay::Help) => help(m, f, a.body, t),
        Some(Overlay::Quit { quit }) => quit_dialog(f, a.body, t, quit),
        None => {}
    }
}

fn too_small(f: &mut Frame, area: Rect, t: Theme) {
    let text = vec![
        Line::styled("depriv needs a larger terminal", t.heading()),
        Line::raw(format!(
            "This one is {}×{}; at least {MIN_WIDTH}×{MIN_HEIGHT} is needed.",
            area.width, area.height
        )),
        Line::raw("Enlarge the window, or press q to quit."),
    ];
    f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

fn title(m: &Model, f: &mut Frame, area: Rect, t: Theme) {
    let cur = m.screen.step();
    let mut spans = vec![Span::styled(" depriv ", t.heading()), Span::raw(" ")];
    for (i, s) in STEPS.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", t.dim()));
        }
        let style = if i == cur {
            t.selected()
        } else if i < cur {
            t.text()
        } else {
            t.dim()
        };
        spans.push(Span::styled(*s, style));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let room = usize::from(area.width).saturating_sub(used + 3);
    if room > 8 {
        spans.push(Span::styled(
            format!("   {}", ellipsize_left(&m.root, room)),
            t.dim(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn status(m: &Model, f: &mut Frame, area: Rect, t: Theme) {
    let line = if let Some(b) = &m.busy {
        let spin = SPINNER
            .get((m.tick % SPINNER.len() as u64) as usize)
            .copied()
            .unwrap_or("-");
        Line::from(vec![
            Span::styled(format!(" {spin} "), t.warn()),
            Span::raw(format!("{b}…")),
        ])
    } else if let Some(s) = &m.status {
        let (mark, style) = match s.level {
            Level::Info => ("·", t.text()),
            Level::Done => ("✓", t.good()),
            Level::Warn => ("!", t.warn()),
            Level::Error => ("✗", t.error()),
        };
        Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::styled(s.text.clone(), style),
        ])
    } else {
        Line::raw("")
    };
    f.render_widget(Paragraph::new(line), area);
}

fn bar(m: &Model, f: &mut Frame, area: Rect, t: Theme) {
    let entries = keys::bar(m);
    let width = usize::from(area.width);
    // Keep `? help` and `q quit` (the last entries) visible; drop others from the end.
    let mut keep: Vec<bool> = vec![true; entries.len()];
    let len = |e: &(&str, &str)| e.0.chars().count() + e.1.chars().count() + 3;
    let mut total: usize = entries.iter().map(len).sum::<usize>() + 1;
    let mut i = entries.len().saturating_sub(2);
    while total > width && i > 1 {
        i -= 1;
        if let (Some(k), Some(e)) = (keep.get_mut(i), entries.get(i)) {
            *k = false;
            total = total.saturating_sub(len(e));
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (e, k) in entries.iter().zip(keep) {
        if !k {
            continue;
        }
        spans.push(Span::styled(e.0, t.key()));
        spans.push(Span::raw(format!(" {}  ", e.1)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn help(m: &Model, f: &mut Frame, body: Rect, t: Theme) {
    let mut entries: Vec<(String, &str)> = Vec::new();
    for bd in keys::TABLE.iter().filter(|bd| match bd.scope {
        keys::Scope::On(s) => s == m.screen,
        keys::Scope::Global => true,
        keys::Scope::QuitDialog => false,
    }) {
        let names: Vec<String> = bd.keys.iter().map(key_name).collect();
        let names = names.join(" ");
        if !entries.iter().any(|(k, h)| *k == names && *h == bd.help) {
            entries.push((names, bd.help));
        }
    }
    // One column when it fits, else two.
    let rows = usize::from(body.height.saturating_sub(3)).max(1);
    let columns = if entries.len() <= rows { 1 } else { 2 };
    let per = entries.len().div_ceil(columns);
    let col_w = if columns == 1 { 62 } else { 48 };
    let key_w = 16;
    let mut lines = vec![Line::styled(
        "Enter: take the highlighted choice and go on. Esc: go back.",
        t.text(),
    )];
    for i in 0..per {
        let mut spans = Vec::new();
        for c in 0..columns {
            if let Some((k, h)) = entries.get(c * per + i) {
                spans.push(Span::styled(
                    format!("{:<key_w$}", cut(k, 0, key_w - 1)),
                    t.key(),
                ));
                let help_w = col_w - key_w;
                spans.push(Span::raw(format!("{:<help_w$}", cut(h, 0, help_w - 1))));
            }
        }
        lines.push(Line::from(spans));
    }
    let h = (lines.len() as u16 + 2).min(body.height);
    let w = (col_w * columns + 2) as u16;
    let r = layout::centered(body, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys — any key closes ")),
        r,
    );
}

/// How a key is written in the help overlay.
pub fn key_name(k: &keys::Key) -> String {
    use keys::Key as K;
    match k {
        K::Char(' ') => "space".into(),
        K::Char(c) => c.to_string(),
        K::Ctrl(c) => format!("ctrl-{c}"),
        K::Enter => "enter".into(),
        K::Esc => "esc".into(),
        K::Tab => "tab".into(),
        K::BackTab => "shift-tab".into(),
        K::Up => "↑".into(),
        K::Down => "↓".into(),
        K::Left => "←".into(),
        K::Right => "→".into(),
        K::PageUp => "pgup".into(),
        K::PageDown => "pgdn".into(),
        K::Home => "home".into(),
        K::End => "end".into(),
        K::Backspace => "backspace".into(),
    }
}

fn quit_dialog(f: &mut Frame, body: Rect, t: Theme, quit: bool) {
    let r = layout::centered(body, 60, 7);
    let opt = |label: &'static str, on: bool| {
        if on {
            Span::styled(format!("[ {label} ]"), t.selected())
        } else {
            Span::raw(format!("  {label}  "))
        }
    };
    let lines = vec![
        Line::raw("Quit now? The targets and answers you chose are not written"),
        Line::raw("anywhere yet and would be lost."),
        Line::raw(""),
        Line::from(vec![
            Span::raw("        "),
            opt("Stay", !quit),
            Span::raw("      "),
            opt("Quit", quit),
        ]),
    ];
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Quit? ").border_style(t.warn())),
        r,
    );
}

/// Text safe to draw: tabs become spaces, other control characters a middle dot.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\r' | '\n' => {}
            c if c.is_control() => out.push('·'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most `width` characters of `s` starting at character `skip`, with `…` when cut.
pub fn cut(s: &str, skip: usize, width: usize) -> String {
    let mut it = s.chars().skip(skip);
    let mut out: String = it.by_ref().take(width).collect();
    if it.next().is_some() && width > 0 {
        out.pop();
        out.push('…');
    }
    out
}

/// `s` shortened from the left to `width` characters (`…/tail`).
pub fn ellipsize_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n + 1 - width.max(1)).collect();
    format!("…{tail}")
}

/// A bordered block whose border shows whether it has the keys.
pub fn block(title: &str, focused: bool, t: Theme) -> Block<'static> {
    let b = Block::bordered().title(format!(" {title} "));
    if focused {
        b.border_style(t.heading())
    } else {
        b.border_style(t.dim())
    }
}

/// A one-line style for a selected or plain row.
pub fn row_style(selected: bool, t: Theme) -> Style {
    if selected { t.selected() } else { t.text() }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Drawing a model into a test terminal, as text.

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::config::{Config, Environment};
    use crate::migrate::{self, FileChange, PipelineResult, Preview, Strategy};
    use crate::rewrite::{ManualTask, Status};
    use crate::scan::ScanResult;
    use crate::tui::model::Model;
    use crate::tui::msg::Msg;
    use crate::tui::update::update;

    /// A small repository on several surfaces, with an inherited GitLab construct, a
    /// GitHub-hosted job and a suppressed finding.
    pub fn scan() -> ScanResult {
        let files = [
            (
                ".gitlab-ci.yml",
                "include:\n  - local: ci/templates.yml\n\nbuild:\n  extends: .docker\n  script:\n    - docker build -t registry.example/shop .\n    - docker push registry.example/shop\n\ntest:\n  image: docker:29\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_HOST: tcp://docker:2375\n  script:\n    - docker run --rm registry.example/shop pytest\n",
            ),
            (
                "ci/templates.yml",
                ".docker:\n  image: docker:29\n  services:\n    - docker:29-dind\n",
            ),
            (
                ".github/workflows/ci.yml",
                "on: push\njobs:\n  integration:\n    runs-on: ubuntu-latest\n    container:\n      image: node:20\n      options: --privileged\n    steps:\n      - run: docker run --rm alpine true\n",
            ),
            (
                "docker-compose.yml",
                "services:\n  app:\n    image: shop\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n  tools:\n    image: tools\n    # depriv: ignore[privileged-container] reason: vendor appliance\n    privileged: true\n",
            ),
        ];
        let map: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        crate::scan::scan_memory(map, &Config::default())
    }

    /// A model on the overview of [`scan`].
    pub fn scanned_model() -> Model {
        let mut m = Model::new("/work/repos/shop", Environment::default(), true);
        m.size = (100, 30);
        update(&mut m, Msg::Scanned(Arc::new(scan())));
        m
    }

    /// A model on the target picker.
    pub fn planned_model() -> Model {
        let mut m = scanned_model();
        let s = scan();
        let plan = migrate::plan(&s, &Environment::default(), Strategy::Auto);
        update(&mut m, Msg::Planned(Box::new(plan)));
        m
    }

    /// A synthetic preview of the plan: one file with three hunks, one manual task.
    pub fn preview(m: &Model) -> Preview {
        let before: String = (1..=80).map(|i| format!("line {i}\n")).collect();
        let after = before
            .replace("line 5\n", "line five\n")
            .replace("line 30\n", "line 30\nline 30b\n")
            .replace("line 60\n", "");
        let change = FileChange {
            path: ".gitlab-ci.yml".into(),
            before: Arc::from(before.as_str()),
            after,
            edits: Vec::new(),
            added: 2,
            removed: 2,
        };
        let results = m
            .plan
            .as_ref()
            .map(|p| {
                p.pipelines
                    .iter()
                    .enumerate()
                    .map(|(i, p)| PipelineResult {
                        path: p.pipeline.path.clone(),
                        pipeline: p.pipeline.name.clone(),
                        surface: p.pipeline.surface,
                        choice: p.choice,
                        why: p.why.clone(),
                        status: if i == 0 {
                            Status::Migrated
                        } else {
                            Status::Manual
                        },
                        findings: p.findings.len(),
                        addressed: if i == 0 { p.findings.len() } else { 0 },
                        manual: if i == 1 {
                            vec![ManualTask {
                                title: "install sysbox on the runner hosts".into(),
                                location: "runner hosts".into(),
                                snippet: "apt install sysbox".into(),
                                lang: "sh".into(),
                            }]
                        } else {
                            Vec::new()
                        },
                        notes: Vec::new(),
                        residual_risk: None,
                        files: if i == 0 {
                            vec![".gitlab-ci.yml".into()]
                        } else {
                            Vec::new()
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        Preview {
            changes: vec![change],
            results,
            remaining: Vec::new(),
        }
    }

    /// A model on the diff viewer with [`preview`].
    pub fn previewed_model() -> Model {
        let mut m = planned_model();
        let p = preview(&m);
        update(&mut m, Msg::previewed(p));
        m
    }

    /// The screen as lines of text (trailing spaces trimmed).
    pub fn render(m: &Model, w: u16, h: u16) -> String {
        let Ok(mut term) = Terminal::new(TestBackend::new(w, h));
        let _ = term.draw(|f| super::view(m, f));
        let buf = term.backend().buffer();
        let mut out = String::new();
        for y in 0..h {
            let mut line = String::new();
            for x in 0..w {
                if let Some(c) = buf.cell((x, y)) {
                    line.push_str(c.symbol());
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;
    use crate::tui::model::Model;

    #[test]
    fn small_terminals_get_a_clear_message() {
        let m = Model::new("repo", Environment::default(), false);
        let text = testing::render(&m, 60, 20);
        assert!(
            text.contains("This one is 60×20; at least 80×24 is needed."),
            "{text}"
        );
        // Tiny sizes never panic.
        for (w, h) in [(0, 0), (1, 1), (80, 1), (1, 24), (79, 23)] {
            let _ = testing::render(&m, w, h);
        }
    }

    #[test]
    fn text_helpers() {
        assert_eq!(clean("a\tb\u{1b}[31m\r"), "a    b·[31m");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(cut("abcdef", 0, 4), "abc…");
        assert_eq!(cut("abcdef", 2, 10), "cdef");
        assert_eq!(cut("abc", 5, 3), "");
        assert_eq!(cut("abc", 0, 0), "");
        assert_eq!(ellipsize_left("/very/long/path", 6), "…/path");
        assert_eq!(ellipsize_left("short", 10), "short");
        assert_eq!(ellipsize_left("abc", 0), "…");
    }

    /// At 80 columns the bar keeps Enter, help and quit and every key a screen needs most.
    #[test]
    fn the_bar_fits_80_columns() {
        use crate::tui::keys;
        for (screen, must) in [
            (Screen::Overview, &["enter", "/", "?", "q"][..]),
            (Screen::Detail, &["esc", "n", "p", "enter", "?", "q"][..]),
            (
                Screen::Environment,
                &["enter", "←→", "s", "esc", "?", "q"][..],
            ),
            (
                Screen::Targets,
                &["enter", "tab", "a", "s", "m", "?", "q"][..],
            ),
            (
                Screen::Diff,
                &["enter", "tab", "n/p", "v", "x", "?", "q"][..],
            ),
            (Screen::Confirm, &["enter", "←→", "esc", "?", "q"][..]),
            (Screen::Report, &["enter", "↑↓", "?", "q"][..]),
        ] {
            let mut m = Model::new("r", Environment::default(), true);
            m.screen = screen;
            let width: usize = 1 + keys::bar(&m)
                .iter()
                .filter(|(k, _)| must.contains(k))
                .map(|(k, h)| k.chars().count() + h.chars().count() + 3)
                .sum::<usize>();
            assert!(width <= 80, "{screen:?}: {width}");
            let text = testing::render(&m, 80, 24);
            let bar = text.lines().nth(23).unwrap_or("");
            for k in must {
                assert!(
                    bar.contains(&format!("{k} ")),
                    "{screen:?} bar lacks {k}: {bar}"
                );
            }
        }
    }

    #[test]
    fn help_and_quit_overlays_draw() {
        let mut m = Model::new("repo", Environment::default(), true);
        m.screen = Screen::Overview;
        m.busy = None;
        m.overlay = Some(Overlay::Help);
        let text = testing::render(&m, 100, 30);
        assert!(text.contains("Keys — any key closes"), "{text}");
        assert!(text.contains("search"), "{text}");
        assert!(text.contains("any key closes this help"), "{text}");
        // At 80×24 every key of the busiest screen still shows (in two columns).
        let text = testing::render(&m, 80, 24);
        for h in [
            "search",
            "suppressed",
            "pipelines ↔ findings",
            "quit now",
            "bottom",
        ] {
            assert!(text.contains(h), "{h} missing:\n{text}");
        }
        insta::assert_snapshot!("help_overlay_80x24", text);
        m.overlay = Some(Overlay::Quit { quit: true });
        let text = testing::render(&m, 100, 30);
        assert!(text.contains("[ Quit ]"), "{text}");
    }
}
