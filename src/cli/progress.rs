//! Progress on long work (`scan`, `migrate`): an indicatif bar on stderr when stderr is a
//! terminal, nothing otherwise (pipes, CI logs and files stay clean).

use std::io::IsTerminal;
use std::time::Duration;

use depriv::scan::ScanResult;
use depriv::session::{ScanObserver, Session};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether to draw progress at all.
fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

struct Bar(ProgressBar);

impl ScanObserver for Bar {
    fn discovered(&self, files: usize) {
        self.0.set_length(files as u64);
    }

    fn read(&self, files: usize) {
        let len = self.0.length().unwrap_or(0);
        self.0.set_position((files as u64).min(len));
    }
}

/// Scan with a bar of the files read.
pub fn scan(session: &Session) -> ScanResult {
    if !enabled() {
        return session.scan();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} scanning {bar:30} {pos}/{len} files {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let obs = Bar(bar);
    let r = session.scan_observed(&obs);
    obs.0.finish_and_clear();
    r
}

/// A spinner for work without a count (planning, rewriting and verifying); cleared on drop.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Start one with `message`, when progress is shown.
    pub fn start(message: &str) -> Spinner {
        if !enabled() {
            return Spinner(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner(Some(bar))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
