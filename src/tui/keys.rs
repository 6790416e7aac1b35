//! The one key table. Every binding names its scope (a screen, the quit dialog, or global),
//! its keys, the action it sends and the words the help bar and the `?` overlay show, so what
//! the bar says is by construction what the keys do. [`translate`] turns terminal events into
//! messages with it.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use super::model::{Model, Overlay, Screen};
use super::msg::Msg;
use super::vocab::{Action, Input};

/// A key, independent of the terminal library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Ctrl + a letter.
    Ctrl(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// ↑.
    Up,
    /// ↓.
    Down,
    /// ←.
    Left,
    /// →.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Backspace.
    Backspace,
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every screen.
    Global,
    /// One screen.
    On(Screen),
    /// The "quit?" dialog.
    QuitDialog,
}

/// One row of the key table.
#[derive(Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// The keys.
    pub keys: &'static [Key],
    /// How the keys are written in the help bar.
    pub label: &'static str,
    /// What they do, in a word or two.
    pub help: &'static str,
    /// The action sent.
    pub action: Action,
    /// Shown in the bottom bar (all bindings are in the `?` overlay).
    pub bar: bool,
    /// Only when this holds.
    pub when: Option<fn(&Model) -> bool>,
}

const fn b(
    scope: Scope,
    keys: &'static [Key],
    label: &'static str,
    help: &'static str,
    action: Action,
    bar: bool,
) -> Binding {
    Binding {
        scope,
        keys,
        label,
        help,
        action,
        bar,
        when: None,
    }
}

const fn when(mut x: Binding, f: fn(&Model) -> bool) -> Binding {
    x.when = Some(f);
    x
}

use Key as K;
use Scope::{Global, On, QuitDialog};
use Screen as S;

const UPDOWN: &[Key] = &[K::Up, K::Char('k'), K::Down, K::Char('j')];
const PGUP: &[Key] = &[K::PageUp];
const PGDN: &[Key] = &[K::PageDown, K::Char(' ')];
const HOME: &[Key] = &[K::Home, K::Char('g')];
const END: &[Key] = &[K::End, K::Char('G')];
const ENTER: &[Key] = &[K::Enter];
const ESC: &[Key] = &[K::Esc];

fn filter_active(m: &Model) -> bool {
    m.overview.filter.is_active()
}

fn on_registry(m: &Model) -> bool {
    matches!(
        m.env.sel,
        super::model::ENV_REGISTRY | super::model::ENV_SYSBOX_TAG
    )
}

fn guard_refused(m: &Model) -> bool {
    m.confirm.guard.is_some()
}

/// Every binding. Order matters twice: the first match wins, and the bar lists them in order.
#[rustfmt::skip]
pub static TABLE: &[Binding] = &[
    // Scanning
    b(On(S::Scanning), ESC, "esc", "cancel", Action::Back, true),
    // Overview
    b(On(S::Overview), ENTER, "enter", "continue", Action::Forward, true),
    b(On(S::Overview), UPDOWN, "↑↓", "move", Action::Down, true),
    b(On(S::Overview), &[K::Char('d'), K::Right, K::Char('l')], "d", "details", Action::Detail, true),
    b(On(S::Overview), &[K::Char('/')], "/", "search", Action::Search, true),
    b(On(S::Overview), &[K::Char('s')], "s", "severity", Action::CycleSeverity, true),
    b(On(S::Overview), &[K::Char('f')], "f", "surface", Action::CycleSurface, true),
    b(On(S::Overview), &[K::Char('r')], "r", "rule", Action::CycleRule, false),
    b(On(S::Overview), &[K::Char('u')], "u", "suppressed", Action::ToggleSuppressed, false),
    b(On(S::Overview), &[K::Tab, K::BackTab], "tab", "pipelines ↔ findings", Action::NextPane, false),
    when(b(On(S::Overview), ESC, "esc", "clear filters", Action::ClearFilter, true), filter_active),
    // Finding detail
    b(On(S::Detail), &[K::Esc, K::Left, K::Char('h')], "esc", "back", Action::Back, true),
    b(On(S::Detail), &[K::Char('n'), K::Tab], "n", "next", Action::NextItem, true),
    b(On(S::Detail), &[K::Char('p'), K::BackTab], "p", "previous", Action::PrevItem, true),
    b(On(S::Detail), UPDOWN, "↑↓", "scroll", Action::Down, true),
    b(On(S::Detail), ENTER, "enter", "continue", Action::Forward, true),
    // Environment questions
    b(On(S::Environment), ENTER, "enter", "accept", Action::Forward, true),
    b(On(S::Environment), UPDOWN, "↑↓", "question", Action::Down, true),
    b(On(S::Environment), &[K::Left, K::Right, K::Char('h'), K::Char('l'), K::Char(' ')], "←→", "change", Action::Change, true),
    when(b(On(S::Environment), &[K::Char('e')], "e", "edit", Action::Edit, true), on_registry),
    b(On(S::Environment), &[K::Char('s')], "s", "save", Action::Save, true),
    b(On(S::Environment), ESC, "esc", "back", Action::Back, true),
    // Target picker
    b(On(S::Targets), ENTER, "enter", "take", Action::Forward, true),
    b(On(S::Targets), &[K::Char('r')], "r", "rest ★", Action::AcceptRest, true),
    b(On(S::Targets), UPDOWN, "↑↓", "move", Action::Down, false),
    b(On(S::Targets), &[K::Tab, K::Right, K::BackTab, K::Left], "tab", "next", Action::NextPane, true),
    b(On(S::Targets), &[K::Char('a')], "a", "all alike", Action::ApplyAll, true),
    b(On(S::Targets), &[K::Char('s')], "s", "skip", Action::Skip, true),
    b(On(S::Targets), &[K::Char('m')], "m", "manual", Action::Manual, true),
    b(On(S::Targets), ESC, "esc", "back", Action::Back, false),
    // Diff viewer
    b(On(S::Diff), ENTER, "enter", "continue", Action::Forward, true),
    b(On(S::Diff), UPDOWN, "↑↓", "scroll", Action::Down, false),
    b(On(S::Diff), &[K::Tab, K::BackTab], "tab", "file", Action::NextPane, true),
    b(On(S::Diff), &[K::Char('n'), K::Char('N'), K::Char('p')], "n/p", "hunk", Action::NextHunk, true),
    b(On(S::Diff), &[K::Char('v')], "v", "split", Action::ToggleMode, true),
    b(On(S::Diff), &[K::Char('x')], "x", "skip file", Action::ToggleFile, true),
    b(On(S::Diff), &[K::Left, K::Right, K::Char('h'), K::Char('l')], "←→", "scroll sideways", Action::Right, false),
    b(On(S::Diff), ESC, "esc", "back", Action::Back, false),
    // Confirm and write
    b(On(S::Confirm), ENTER, "enter", "take choice", Action::Forward, true),
    b(On(S::Confirm), &[K::Left, K::Right, K::Tab, K::BackTab, K::Up, K::Down], "←→", "choose", Action::NextPane, true),
    when(b(On(S::Confirm), &[K::Char('!')], "!", "write anyway", Action::Force, true), guard_refused),
    b(On(S::Confirm), ESC, "esc", "back", Action::Back, true),
    // Report
    b(On(S::Report), ENTER, "enter", "do it", Action::Forward, true),
    b(On(S::Report), UPDOWN, "↑↓", "choose", Action::Down, true),
    b(On(S::Report), &[K::PageUp, K::PageDown], "pgup/pgdn", "scroll", Action::PageDown, true),
    // Quit dialog
    b(QuitDialog, &[K::Char('y'), K::Char('q')], "y", "quit", Action::QuitYes, true),
    b(QuitDialog, &[K::Char('n'), K::Esc], "n", "stay", Action::QuitNo, true),
    b(QuitDialog, ENTER, "enter", "take choice", Action::Forward, true),
    b(QuitDialog, &[K::Left, K::Right, K::Tab, K::BackTab], "←→", "choose", Action::NextPane, false),
    // Everywhere
    b(Global, PGUP, "pgup", "page up", Action::PageUp, false),
    b(Global, PGDN, "pgdn", "page down", Action::PageDown, false),
    b(Global, HOME, "home", "top", Action::Top, false),
    b(Global, END, "end", "bottom", Action::Bottom, false),
    b(Global, &[K::Char('?'), K::Char('H')], "?", "help", Action::Help, true),
    b(Global, &[K::Char('q')], "q", "quit", Action::Quit, true),
    b(Global, &[K::Ctrl('c')], "ctrl-c", "quit now", Action::ForceQuit, false),
];

/// Fine-grained actions for keys that share a binding row (↑ vs ↓, Tab vs Shift-Tab, …): the
/// row says what the pair does; the key picks the direction.
fn refine(action: Action, key: Key) -> Action {
    let back = matches!(
        key,
        K::Up | K::Char('k') | K::BackTab | K::Left | K::Char('h') | K::Char('N') | K::Char('p')
    );
    match action {
        Action::Down if back => Action::Up,
        Action::NextPane if back => Action::PrevPane,
        Action::Right if back => Action::Left,
        Action::NextHunk if back => Action::PrevHunk,
        Action::Change if back => Action::Left,
        Action::Change => Action::Right,
        Action::PageDown if key == K::PageUp => Action::PageUp,
        a => a,
    }
}

/// The crossterm key as a [`Key`].
pub fn key_of(ev: &KeyEvent) -> Option<Key> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    Some(match ev.code {
        KeyCode::Char(c) if ctrl => K::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => K::Char(c),
        KeyCode::Enter => K::Enter,
        KeyCode::Esc => K::Esc,
        KeyCode::Tab => K::Tab,
        KeyCode::BackTab => K::BackTab,
        KeyCode::Up => K::Up,
        KeyCode::Down => K::Down,
        KeyCode::Left => K::Left,
        KeyCode::Right => K::Right,
        KeyCode::PageUp => K::PageUp,
        KeyCode::PageDown => K::PageDown,
        KeyCode::Home => K::Home,
        KeyCode::End => K::End,
        KeyCode::Backspace => K::Backspace,
        _ => return None,
    })
}

fn applies(bd: &Binding, scope: Scope, m: &Model) -> bool {
    bd.scope == scope && bd.when.is_none_or(|f| f(m))
}

/// The bindings in force, most specific first.
pub fn active(m: &Model) -> Vec<&'static Binding> {
    let scope = match m.overlay {
        Some(Overlay::Quit { .. }) => QuitDialog,
        _ => On(m.screen),
    };
    let mut out: Vec<&'static Binding> = TABLE.iter().filter(|bd| applies(bd, scope, m)).collect();
    if scope != QuitDialog {
        out.extend(TABLE.iter().filter(|bd| applies(bd, Global, m)));
    }
    out
}

/// The message for a key in the current state.
pub fn lookup(m: &Model, key: Key) -> Option<Msg> {
    if key == K::Ctrl('c') {
        return Some(Msg::Action(Action::ForceQuit));
    }
    if m.overlay == Some(Overlay::Help) {
        return Some(Msg::Action(Action::CloseOverlay));
    }
    if m.overlay.is_none() && m.editing() {
        return match key {
            K::Char(c) => Some(Msg::Input(Input::Char(c))),
            K::Backspace => Some(Msg::Input(Input::Backspace)),
            K::Enter => Some(Msg::Input(Input::Submit)),
            K::Esc => Some(Msg::Input(Input::Cancel)),
            _ => None,
        };
    }
    active(m)
        .into_iter()
        .find(|bd| bd.keys.contains(&key))
        .map(|bd| Msg::Action(refine(bd.action, key)))
}

/// Translate a terminal event.
pub fn translate(m: &Model, ev: &Event) -> Option<Msg> {
    match ev {
        Event::Resize(w, h) => Some(Msg::Resize(*w, *h)),
        Event::Mouse(me) => match me.kind {
            MouseEventKind::ScrollDown => Some(Msg::Wheel(3)),
            MouseEventKind::ScrollUp => Some(Msg::Wheel(-3)),
            _ => None,
        },
        Event::Key(k) if k.kind != KeyEventKind::Release => lookup(m, key_of(k)?),
        _ => None,
    }
}

/// `(keys, what)` pairs for the bottom bar, in table order, screen keys first.
pub fn bar(m: &Model) -> Vec<(&'static str, &'static str)> {
    if m.editing() && m.overlay.is_none() {
        return vec![
            ("enter", "accept"),
            ("esc", "cancel"),
            ("backspace", "delete"),
        ];
    }
    if m.overlay == Some(Overlay::Help) {
        return vec![("any key", "closes this help")];
    }
    active(m)
        .into_iter()
        .filter(|bd| bd.bar)
        .map(|bd| (bd.label, bd.help))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;
    use crate::tui::model::Model;

    fn model(screen: Screen) -> Model {
        let mut m = Model::new(".", Environment::default(), false);
        m.screen = screen;
        m
    }

    fn act(m: &Model, key: Key) -> Option<Action> {
        match lookup(m, key) {
            Some(Msg::Action(a)) => Some(a),
            _ => None,
        }
    }

    #[test]
    fn enter_goes_forward_on_every_screen_but_scanning() {
        for s in [
            Screen::Overview,
            Screen::Detail,
            Screen::Environment,
            Screen::Targets,
            Screen::Diff,
            Screen::Confirm,
            Screen::Report,
        ] {
            assert_eq!(act(&model(s), K::Enter), Some(Action::Forward), "{s:?}");
            assert!(
                bar(&model(s)).iter().any(|(k, _)| *k == "enter"),
                "{s:?} bar lacks enter"
            );
        }
    }

    #[test]
    fn directions_are_refined() {
        let m = model(Screen::Overview);
        assert_eq!(act(&m, K::Up), Some(Action::Up));
        assert_eq!(act(&m, K::Char('j')), Some(Action::Down));
        let m = model(Screen::Targets);
        assert_eq!(act(&m, K::BackTab), Some(Action::PrevPane));
        assert_eq!(act(&m, K::Right), Some(Action::NextPane));
        let m = model(Screen::Diff);
        assert_eq!(act(&m, K::Char('N')), Some(Action::PrevHunk));
        assert_eq!(act(&m, K::Char('n')), Some(Action::NextHunk));
        assert_eq!(act(&m, K::Left), Some(Action::Left));
        let m = model(Screen::Environment);
        assert_eq!(act(&m, K::Left), Some(Action::Left));
        assert_eq!(act(&m, K::Char(' ')), Some(Action::Right));
    }

    #[test]
    fn global_keys_and_overlays() {
        let mut m = model(Screen::Diff);
        assert_eq!(act(&m, K::Char('q')), Some(Action::Quit));
        assert_eq!(act(&m, K::Char('?')), Some(Action::Help));
        assert_eq!(act(&m, K::Ctrl('c')), Some(Action::ForceQuit));
        assert_eq!(act(&m, K::PageDown), Some(Action::PageDown));
        m.overlay = Some(Overlay::Help);
        assert_eq!(act(&m, K::Char('x')), Some(Action::CloseOverlay));
        m.overlay = Some(Overlay::Quit { quit: false });
        assert_eq!(act(&m, K::Char('y')), Some(Action::QuitYes));
        assert_eq!(act(&m, K::Esc), Some(Action::QuitNo));
        assert_eq!(
            act(&m, K::Char('?')),
            None,
            "help is not global in the dialog"
        );
        assert_eq!(bar(&m).len(), 3);
    }

    #[test]
    fn conditional_bindings_follow_state() {
        let mut m = model(Screen::Overview);
        assert_eq!(act(&m, K::Esc), None);
        assert!(!bar(&m).iter().any(|(_, h)| *h == "clear filters"));
        m.overview.filter.search = "x".into();
        assert_eq!(act(&m, K::Esc), Some(Action::ClearFilter));
        assert!(bar(&m).iter().any(|(_, h)| *h == "clear filters"));
        let mut m = model(Screen::Confirm);
        assert_eq!(act(&m, K::Char('!')), None);
        m.confirm.guard = Some(super::super::vocab::Guard::Dirty);
        assert_eq!(act(&m, K::Char('!')), Some(Action::Force));
    }

    #[test]
    fn typing_goes_to_the_field_while_editing() {
        let mut m = model(Screen::Overview);
        m.overview.searching = true;
        assert!(matches!(
            lookup(&m, K::Char('q')),
            Some(Msg::Input(Input::Char('q')))
        ));
        assert!(matches!(
            lookup(&m, K::Enter),
            Some(Msg::Input(Input::Submit))
        ));
        assert!(matches!(
            lookup(&m, K::Esc),
            Some(Msg::Input(Input::Cancel))
        ));
        assert!(matches!(
            lookup(&m, K::Backspace),
            Some(Msg::Input(Input::Backspace))
        ));
        assert!(matches!(
            lookup(&m, K::Ctrl('c')),
            Some(Msg::Action(Action::ForceQuit))
        ));
        assert_eq!(bar(&m).first().map(|(k, _)| *k), Some("enter"));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        let scopes = [
            Global,
            QuitDialog,
            On(S::Scanning),
            On(S::Overview),
            On(S::Detail),
            On(S::Environment),
            On(S::Targets),
            On(S::Diff),
            On(S::Confirm),
            On(S::Report),
        ];
        for sc in scopes {
            let mut seen = Vec::new();
            for bd in TABLE.iter().filter(|bd| bd.scope == sc) {
                for k in bd.keys {
                    assert!(!seen.contains(k), "{k:?} bound twice in {sc:?}");
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn crossterm_events_translate() {
        let m = model(Screen::Overview);
        let ev = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(matches!(
            translate(&m, &ev),
            Some(Msg::Action(Action::ForceQuit))
        ));
        let mut rel = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        rel.kind = KeyEventKind::Release;
        assert!(translate(&m, &Event::Key(rel)).is_none());
        assert!(matches!(
            translate(&m, &Event::Resize(90, 30)),
            Some(Msg::Resize(90, 30))
        ));
        assert!(translate(&m, &Event::FocusGained).is_none());
        assert!(key_of(&KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE)).is_none());
    }
}
