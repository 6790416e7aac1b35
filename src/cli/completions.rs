//! `depriv completions SHELL` and `depriv manpage`: generated from the clap definition.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

/// Print the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "depriv", &mut std::io::stdout());
    Ok(0)
}

/// Print `depriv(1)`, or write a page per subcommand into `dir`.
pub fn manpage(dir: Option<&Path>) -> anyhow::Result<u8> {
    let cmd = super::Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("cannot write the man page")?;
        }
    }
    Ok(0)
}
