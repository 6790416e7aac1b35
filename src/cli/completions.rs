//! `depriv completions SHELL` and `depriv manpage`: generated from the clap definition.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

/// Print the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "depriv", &mut std::io::stdout());
    Ok(0)
}

/// Print `depriv(1)`, or write a page per subcommand into `dir`. Every page has an EXIT
/// STATUS section; the `help` subcommand gets no page (and so no reference).
pub fn manpage(dir: Option<&Path>) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            write_pages(&cmd, dir)
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            render(&cmd, &mut out).context("cannot write the man page")?;
        }
    }
    Ok(0)
}

fn write_pages(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut file = std::fs::File::create(dir.join(man.get_filename()))?;
    render(cmd, &mut file)?;
    file.flush()
}

/// The page clap_mangen would render, with EXIT STATUS in place of its EXTRA section.
fn render(cmd: &clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(w)?;
    }
    w.write_all(exit_status_roff().as_bytes())?;
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// [`depriv::exit::HELP`] as a roff section.
fn exit_status_roff() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for line in depriv::exit::HELP.lines().skip(1) {
        let esc = line.trim().replace('\\', "\\\\").replace('-', "\\-");
        let mut chars = esc.chars();
        match (chars.next(), chars.next()) {
            (Some(d), Some(' ')) if d.is_ascii_digit() => {
                s.push_str(&format!(".TP\n\\fB{d}\\fR\n{}\n", chars.as_str().trim()));
            }
            _ if line.starts_with("     ") => s.push_str(&format!("{esc}\n")),
            _ => s.push_str(&format!(".PP\n{esc}\n")),
        }
    }
    s
}
