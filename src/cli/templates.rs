//! `depriv templates list|export DIR|versions`.

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
    /// Print the pinned images and actions (templates/versions.toml, with the overrides of
    /// --templates DIR).
    Versions {
        /// Directory whose versions.toml overrides single pins.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Print a script that pins every image by digest and every action by commit (it needs
        /// network access to the registries and GitHub) into a versions.toml for --templates.
        #[arg(long)]
        pin_digests: bool,
    },
}

pub fn run(cmd: TemplatesCmd) -> anyhow::Result<u8> {
    match cmd {
        TemplatesCmd::List => {
            for n in Templates::names() {
                println!("{n}");
            }
        }
        TemplatesCmd::Versions {
            templates,
            pin_digests,
        } => {
            let t = match templates {
                Some(dir) => Templates::with_overrides(&dir)?,
                None => Templates::builtin(),
            };
            t.check_versions()?;
            if pin_digests {
                print!("{}", t.pin_digests_script());
            } else {
                print!("{}", t.versions_toml());
            }
        }
        TemplatesCmd::Export { dir } => {
            let n = Templates::builtin().export(&dir)?;
            println!("wrote {n} templates to {}", dir.display());
        }
    }
    Ok(0)
}
