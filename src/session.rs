//! The one API the CLI (and later the TUI) drives: open a repository, scan it, and render the
//! results. Neither face parses a file or renders a template itself.

use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::scan::{self, ScanResult};

/// Errors opening a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The path does not exist or is not a directory.
    #[error("{0}: no such directory")]
    NotADirectory(String),
    /// `.depriv.toml` is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A repository opened for scanning (and, later, migration).
pub struct Session {
    root: PathBuf,
    display_root: String,
    config: Config,
}

impl Session {
    /// Open `root` and read its `.depriv.toml`.
    pub fn open(root: &Path) -> Result<Session, SessionError> {
        let display_root = root.to_string_lossy().to_string();
        if !root.is_dir() {
            return Err(SessionError::NotADirectory(display_root));
        }
        let config = Config::load(root)?;
        Ok(Session {
            root: root.to_path_buf(),
            display_root,
            config,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Scan the repository.
    pub fn scan(&self) -> ScanResult {
        scan::scan_dir(&self.root, &self.display_root, &self.config)
    }
}
