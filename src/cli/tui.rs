//! `depriv [PATH]` on a terminal and `depriv demo`: open the interactive UI
//! ([`depriv::tui`]). Without a terminal on both stdin and stdout, `depriv [PATH]` keeps
//! printing the scan summary and `depriv demo` prints where the demo repository is.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::ColorChoice;

/// Whether stdin and stdout are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Run the UI on `path` (default: the current directory).
pub fn run(path: Option<PathBuf>, color: ColorChoice) -> anyhow::Result<u8> {
    let path = path.unwrap_or_else(|| PathBuf::from("."));
    let opts = depriv::tui::Options {
        mono: !color.enabled(true),
        invocation: super::invocation(),
    };
    let exit = depriv::tui::run(&path, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    for l in &exit.lines {
        println!("{l}");
    }
    Ok(exit.code)
}

/// `depriv demo`: copy the bundled demo repository into a new temporary git repository and
/// open the UI there. The demo is a walk-through, not a gate: it exits 0 once it ran (the
/// demo repository keeps findings on purpose: detect-only surfaces, scripts), 2 on errors.
pub fn demo(color: ColorChoice) -> anyhow::Result<u8> {
    let dir = depriv::tui::demo::create(&std::env::temp_dir())
        .context("cannot create the demo repository")?;
    let code = if interactive() {
        let code = run(Some(dir.clone()), color)?;
        println!(
            "The demo repository is {} (delete it when done).",
            dir.display()
        );
        code
    } else {
        let _ = writeln!(std::io::stdout(), "Demo repository: {}", dir.display());
        super::scan::summary(&dir)?
    };
    Ok(if code == depriv::exit::ERROR {
        depriv::exit::ERROR
    } else {
        depriv::exit::OK
    })
}
