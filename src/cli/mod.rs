//! Command-line interface: argument parsing and one small module per subcommand. Thin: all
//! work goes through [`depriv::session::Session`].

mod completions;
mod migrate;
mod output;
mod progress;
mod report;
mod rules;
mod scan;
mod templates;
mod tui;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, is_tty: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Take CI pipelines off privileged Docker-in-Docker.
#[derive(Debug, Parser)]
#[command(
    name = "depriv",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    after_help = depriv::exit::HELP
)]
pub struct Cli {
    /// Repository to open (default: the current directory).
    pub path: Option<PathBuf>,
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Run the whole flow without questions: scan, recommended targets, write, report
    /// (same as `migrate --accept-defaults --report depriv-report.md`).
    #[arg(long)]
    pub accept_defaults: bool,
    /// With --accept-defaults: allow a dirty working tree.
    #[arg(long, requires = "accept_defaults")]
    pub allow_dirty: bool,
    /// With --accept-defaults: allow a directory outside version control.
    #[arg(long, requires = "accept_defaults")]
    pub allow_no_vcs: bool,
    /// With --accept-defaults: the runner tag of the sysbox runners (default `sysbox`).
    #[arg(long, value_name = "TAG", requires = "accept_defaults")]
    pub sysbox_tag: Option<String>,
    /// With --accept-defaults: also migrate test fixtures and vendored examples.
    #[arg(long, requires = "accept_defaults")]
    pub include_fixtures: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find insecure Docker patterns in CI configuration.
    #[command(after_help = depriv::exit::HELP)]
    Scan(scan::ScanArgs),
    /// List the rules with id, severity and surfaces.
    Rules,
    /// Show a rule's documentation, or a target's guide.
    Explain {
        /// Rule id (e.g. privileged-dind) or target (sysbox, rootless, kaniko, buildkit, tls).
        rule: String,
    },
    /// Plan and apply rewrites to de-privileged targets.
    #[command(after_help = depriv::exit::HELP)]
    Migrate(migrate::MigrateArgs),
    /// Restore the bytes the last `migrate` replaced.
    Undo {
        /// Repository.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// The built-in rewrite templates.
    #[command(subcommand)]
    Templates(templates::TemplatesCmd),
    /// Copy the bundled demo repository to a new temporary git repository and open the UI there.
    Demo,
    /// Write a migration report: an assessment before `migrate`, what changed after it.
    Report(report::ReportArgs),
    /// Print a shell completion script.
    Completions {
        /// Shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one per subcommand into DIR.
    Manpage {
        /// Directory for depriv.1 and a page per subcommand.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Some(Command::Scan(args)) => scan::run(args, cli.color),
        Some(Command::Rules) => rules::list(),
        Some(Command::Explain { rule }) => rules::explain(&rule),
        Some(Command::Migrate(args)) => migrate::run(args, cli.color),
        Some(Command::Templates(cmd)) => templates::run(cmd),
        Some(Command::Demo) => tui::demo(cli.color),
        Some(Command::Report(args)) => report::run(args),
        Some(Command::Completions { shell }) => completions::completions(shell),
        Some(Command::Manpage { dir }) => completions::manpage(dir.as_deref()),
        Some(Command::Undo { path }) => undo(&path),
        None if cli.accept_defaults => {
            let path = cli.path.unwrap_or_else(|| PathBuf::from("."));
            let mut args = migrate::MigrateArgs::accept_defaults(path);
            args.allow_dirty = cli.allow_dirty;
            args.allow_no_vcs = cli.allow_no_vcs;
            args.sysbox_tag = cli.sysbox_tag;
            args.include_fixtures = cli.include_fixtures;
            migrate::run(args, cli.color)
        }
        None if tui::interactive() => tui::run(cli.path, cli.color),
        None => {
            let path = cli.path.unwrap_or_else(|| PathBuf::from("."));
            scan::summary(&path)
        }
    }
}

/// `depriv undo PATH`, with the next step when it refuses.
fn undo(path: &std::path::Path) -> anyhow::Result<u8> {
    match depriv::write::undo(path) {
        Ok(r) => {
            for (p, _, _) in &r.files {
                println!("restored {p}");
            }
            Ok(depriv::exit::OK)
        }
        Err(depriv::write::WriteError::UndoConflict(files)) => {
            let cmd = format!("{} undo {}", invocation(), path.display());
            anyhow::bail!(
                "refusing to undo: {} changed since the migration; undo restores every file or none, and would overwrite those edits\n\
                 hint: if the migration is committed, set your edits aside with `git stash`, run `{cmd}`, then `git stash pop`;\n\
                 hint: if it is not committed, `git diff` shows the migration and your edits together, and `git checkout -- <file>` \
                 returns a file to its committed state (before the migration)",
                files.join(", "),
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// How the user runs depriv, for the commands we suggest: `cargo run --release --` when
/// `cargo run` started this process from a checkout, else `depriv`.
pub fn invocation() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile = exe
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match (parent_is_cargo(), profile.as_str()) {
        (true, "release") => "cargo run --release --".to_string(),
        (true, "debug") => "cargo run --".to_string(),
        _ => "depriv".to_string(),
    }
}

/// Whether the parent process is cargo (Linux: `/proc/PPID/comm`; elsewhere unknown, so no).
fn parent_is_cargo() -> bool {
    #[cfg(unix)]
    {
        let ppid = std::os::unix::process::parent_id();
        std::fs::read_to_string(format!("/proc/{ppid}/comm")).is_ok_and(|c| c.trim() == "cargo")
    }
    #[cfg(not(unix))]
    {
        false
    }
}
