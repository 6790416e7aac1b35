//! Styles of the interactive UI: one colour theme and one monochrome theme (`NO_COLOR`,
//! `--color never`). Every meaning carried by a colour is also carried by text or a modifier
//! (badges spell the severity, the selection is reversed, infeasible options are dimmed and
//! say why), so the monochrome theme loses nothing.

use ratatui::style::{Color, Modifier, Style};

use crate::finding::Severity;

/// The styles in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// No colours at all, only modifiers.
    pub mono: bool,
}

impl Theme {
    /// A theme; `mono` for monochrome.
    pub fn new(mono: bool) -> Theme {
        Theme { mono }
    }

    fn fg(self, c: Color) -> Style {
        if self.mono {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    /// Plain text.
    pub fn text(self) -> Style {
        Style::default()
    }

    /// The highlighted row or choice.
    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// Headings and titles.
    pub fn heading(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Secondary text: hints, line numbers, infeasible options.
    pub fn dim(self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default().fg(Color::DarkGray)
        }
    }

    /// A key in the help bar.
    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Something good (migrated, written, recommended).
    pub fn good(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    /// A warning.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// An error.
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// An added diff line.
    pub fn added(self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(Color::Green)
        }
    }

    /// A removed diff line.
    pub fn removed(self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::DIM | Modifier::CROSSED_OUT)
        } else {
            Style::default().fg(Color::Red)
        }
    }

    /// A hunk header.
    pub fn hunk(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::ITALIC)
    }

    /// The offending span of a finding.
    pub fn span(self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::Red)
                .add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }

    /// The badge of a severity.
    pub fn severity(self, s: Severity) -> Style {
        let base = Style::default().add_modifier(Modifier::BOLD);
        if self.mono {
            return base;
        }
        match s {
            Severity::Critical => base.fg(Color::Magenta),
            Severity::High => base.fg(Color::Red),
            Severity::Medium => base.fg(Color::Yellow),
            Severity::Low => base.fg(Color::Blue),
            Severity::Info => base.fg(Color::Gray),
        }
    }
}

/// The four-letter badge of a severity (readable without colour).
pub fn badge(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::High => "HIGH",
        Severity::Medium => "MED ",
        Severity::Low => "LOW ",
        Severity::Info => "INFO",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monochrome_uses_no_colour() {
        let t = Theme::new(true);
        for s in [
            t.heading(),
            t.dim(),
            t.key(),
            t.good(),
            t.warn(),
            t.error(),
            t.added(),
            t.removed(),
            t.hunk(),
            t.span(),
            t.severity(Severity::Critical),
        ] {
            assert_eq!(s.fg, None, "{s:?}");
            assert_eq!(s.bg, None, "{s:?}");
        }
        assert_ne!(Theme::new(false).severity(Severity::High).fg, None);
    }

    #[test]
    fn badges_are_distinct_and_aligned() {
        let all = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ];
        let b: std::collections::BTreeSet<_> = all.iter().map(|s| badge(*s)).collect();
        assert_eq!(b.len(), 5);
        assert!(b.iter().all(|x| x.len() == 4));
    }
}
