//! `depriv templates list|export DIR`.

use std::path::PathBuf;

use clap::Subcommand;
use depriv::templates::Templates;

#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// List the built-in templates.
    List,
    /// Write the built-in templates to DIR (to edit and pass with --templates DIR).
    Export {
        /// Target directory.
        dir: PathBuf,
    },
}

pub fn run(cmd: TemplatesCmd) -> anyhow::Result<u8> {
    match cmd {
        TemplatesCmd::List => {
            for n in Templates::names() {
                println!("{n}");
            }
        }
        TemplatesCmd::Export { dir } => {
            let n = Templates::builtin().export(&dir)?;
            println!("wrote {n} templates to {}", dir.display());
        }
    }
    Ok(0)
}
