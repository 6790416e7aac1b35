//! The interactive terminal UI (`depriv [PATH]` on a terminal, `depriv demo`), in the Elm
//! architecture: a [`model::Model`], [`msg::Msg`]s, a pure [`update::update`] that returns
//! [`msg::Effect`]s for disk work, and [`view::view`] with one module per screen. Keys live in
//! one table ([`keys`]) that also draws the help bar. All engine work goes through
//! [`crate::session::Session`] on a worker thread ([`effects`]). The terminal is always
//! restored — on return, on error and on panic.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod demo;
pub mod demo_files;
pub mod diffdoc;
pub mod effects;
pub mod envfile;
pub mod index;
pub mod keys;
pub mod layout;
pub mod model;
pub mod msg;
pub mod theme;
pub mod update;
pub mod view;
pub mod vocab;

use std::io::Stdout;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::session::{Session, SessionError};
use effects::Runtime;
use model::Model;
use msg::{Effect, Msg};

/// Errors of the UI.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// The repository could not be opened.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The terminal failed.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// How to run the UI.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Monochrome theme (`NO_COLOR`, `--color never`).
    pub mono: bool,
    /// How the user runs depriv (`depriv`, `cargo run --release --`), for the commands the
    /// UI suggests; empty means `depriv`.
    pub invocation: String,
}

/// How the UI ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Process exit code (as `migrate`).
    pub code: u8,
    /// Lines to print once the terminal is restored.
    pub lines: Vec<String>,
}

const TICK: Duration = Duration::from_millis(100);

/// Whether raw mode and the alternate screen are on (for the panic hook).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Undo raw mode, mouse capture and the alternate screen, once.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            std::io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
    }
}

/// Restore the terminal before the default panic message is printed.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The terminal in raw mode on the alternate screen; dropping it restores everything.
struct TermGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TermGuard {
    fn enter() -> std::io::Result<TermGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
            .and_then(|()| Terminal::new(CrosstermBackend::new(std::io::stdout())));
        match setup {
            Ok(terminal) => Ok(TermGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TermGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Open `root` and run the UI until the user quits.
pub fn run(root: &Path, opts: &Options) -> Result<Exit, TuiError> {
    let session = Session::open(root)?;
    let env = session.config().environment.clone();
    let mut model = Model::new(&root.display().to_string(), env, opts.mono);
    if !opts.invocation.is_empty() {
        model.invocation = opts.invocation.clone();
    }
    let rt = Runtime::start(session)?;
    let mut screen = TermGuard::enter()?;
    let size = screen.terminal.size()?;
    model.size = (size.width, size.height);
    rt.run(Effect::Scan);
    let result = event_loop(&mut screen.terminal, &mut model, &rt);
    drop(screen);
    result?;
    let (code, lines) = update::outcome(&model);
    Ok(Exit { code, lines })
}

/// Draw, then take the worker's results and one terminal event, until the model quits.
fn event_loop(
    term: &mut Terminal<CrosstermBackend<Stdout>>,
    m: &mut Model,
    rt: &Runtime,
) -> std::io::Result<()> {
    let step = |m: &mut Model, msg: Msg| {
        if let Some(e) = update::update(m, msg) {
            rt.run(e);
        }
    };
    loop {
        term.draw(|f| view::view(m, f))?;
        if m.quit {
            return Ok(());
        }
        let mut results = 0;
        while results < 256 {
            let Some(msg) = rt.try_recv() else { break };
            step(m, msg);
            results += 1;
        }
        let wait = if results > 0 { Duration::ZERO } else { TICK };
        if event::poll(wait)? {
            if let Some(msg) = keys::translate(m, &event::read()?) {
                step(m, msg);
            }
        } else if results == 0 {
            step(m, Msg::Tick);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_restores_the_terminal_first() {
        install_panic_hook();
        install_panic_hook(); // once only
        ACTIVE.store(true, Ordering::SeqCst);
        let r = std::panic::catch_unwind(|| panic!("boom"));
        assert!(r.is_err());
        assert!(
            !ACTIVE.load(Ordering::SeqCst),
            "the hook restored the terminal"
        );
        // Restoring again is a no-op.
        restore();
        assert!(!ACTIVE.load(Ordering::SeqCst));
    }
}
