//! The `depriv` binary: parse arguments, run, map errors to exit code 2.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A panic is a bug: print one short message (version, the file being processed, where to
/// report it) instead of the default dump. `RUST_BACKTRACE` still gets the full report.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        let file = depriv::bugreport::current_file();
        eprintln!(
            "{}",
            depriv::bugreport::message(
                env!("CARGO_PKG_VERSION"),
                file.as_deref(),
                what,
                location.as_deref()
            )
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default(info);
        }
    }));
}
