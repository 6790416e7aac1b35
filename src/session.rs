//! The one API the CLI (and the TUI) drives: open a repository, scan it, plan a migration,
//! preview it (rewrite, verify, diff). Neither face parses a file or renders a template itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{Config, ConfigError};
use crate::discover::{self, Candidate};
use crate::migrate::{self, MigrationPlan, Preview, Strategy};
use crate::rewrite::{Files, Memo};
use crate::scan::{self, Loader, ScanResult};
use crate::templates::Templates;

/// Errors opening a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The path does not exist or is not a directory.
    #[error("{0}: no such directory")]
    NotADirectory(String),
    /// The path is a file (only `scan` takes one).
    #[error(
        "{0} is a file: give the repository's directory (`depriv scan` also takes a single file)"
    )]
    IsAFile(String),
    /// `.depriv.toml` is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A repository opened for scanning and migration.
pub struct Session {
    root: PathBuf,
    display_root: String,
    config: Config,
    candidates: Mutex<Option<Vec<Candidate>>>,
    walk_diags: Mutex<Vec<crate::finding::Diagnostic>>,
    templates: Templates,
    keep_trees: bool,
}

impl Session {
    /// Open `root` and read its `.depriv.toml`.
    pub fn open(root: &Path) -> Result<Session, SessionError> {
        let display_root = root.to_string_lossy().to_string();
        if root.is_file() {
            return Err(SessionError::IsAFile(display_root));
        }
        if !root.is_dir() {
            return Err(SessionError::NotADirectory(display_root));
        }
        let config = Config::load(root)?;
        Ok(Session {
            root: root.to_path_buf(),
            display_root,
            config,
            candidates: Mutex::new(None),
            walk_diags: Mutex::new(Vec::new()),
            templates: Templates::builtin(),
            keep_trees: true,
        })
    }

    /// Scans keep the parsed GitLab files with findings for a migration (the default); a
    /// scan that no migration follows (`depriv scan`) sets this to `false` to use less memory.
    pub fn set_keep_trees(&mut self, keep: bool) {
        self.keep_trees = keep;
    }

    /// Use other templates (`--templates DIR`).
    pub fn set_templates(&mut self, t: Templates) {
        self.templates = t;
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Mutable configuration (environment answers from flags or the TUI).
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn candidates(&self) -> Vec<Candidate> {
        let mut guard = self.candidates.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = guard.as_ref() {
            return c.clone();
        }
        let (c, d) = discover::walk(&self.root, &self.config.exclude_set());
        *self.walk_diags.lock().unwrap_or_else(|e| e.into_inner()) = d;
        *guard = Some(c.clone());
        c
    }

    /// Scan the repository.
    pub fn scan(&self) -> ScanResult {
        self.scan_with(&BTreeMap::new())
    }

    /// Scan, reporting progress to `obs` and stopping reads once it says so (the TUI's
    /// scanning screen).
    pub fn scan_observed(&self, obs: &dyn ScanObserver) -> ScanResult {
        self.scan_inner(&BTreeMap::new(), obs)
    }

    /// Scan with some files replaced by new text (verification of a migration).
    pub fn scan_with(&self, overlay: &BTreeMap<String, String>) -> ScanResult {
        self.scan_inner(overlay, &Quiet)
    }

    fn scan_inner(&self, overlay: &BTreeMap<String, String>, obs: &dyn ScanObserver) -> ScanResult {
        let cands = self.candidates();
        obs.discovered(cands.len());
        let loader = Overlay {
            base: scan::DirLoader { root: &self.root },
            overlay,
            obs,
            read: AtomicUsize::new(0),
            // Verification scans are not migrated again.
            keep_trees: self.keep_trees && overlay.is_empty(),
        };
        let mut r = scan::scan_candidates(&self.display_root, &cands, &loader, &self.config);
        r.diagnostics.extend(
            self.walk_diags
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        scan::sort_diags(&mut r.diagnostics);
        r
    }

    /// Plan a migration of a scan.
    pub fn plan(&self, scan: &ScanResult, strategy: Strategy) -> MigrationPlan {
        migrate::plan(scan, &self.config.environment, strategy)
    }

    /// Rewrite, verify and diff a plan; nothing is written.
    pub fn preview(&self, plan: &MigrationPlan, scan: &ScanResult) -> Preview {
        let candidates = self.candidates();
        let files = RepoFiles {
            root: &self.root,
            known: candidates.iter().map(|c| c.rel.clone()).collect(),
            candidates,
            // What the scan read and parsed is not read or parsed again.
            cache: Mutex::new(
                scan.trees
                    .iter()
                    .map(|(p, (text, _))| (p.clone(), Some(text.clone())))
                    .collect(),
            ),
            memo: Memo::default(),
        };
        for (p, (_, tree)) in &scan.trees {
            crate::rewrite::seed_parsed_yaml(&files.memo, p, tree.clone());
        }
        migrate::preview(plan, scan, &files, &self.templates, &|overlay| {
            self.rescan_changed(scan, overlay)
        })
    }

    /// `base` after some files changed: only the changed files (and the GitLab projects they
    /// belong to) are scanned again.
    pub fn rescan_changed(
        &self,
        base: &ScanResult,
        overlay: &BTreeMap<String, String>,
    ) -> ScanResult {
        let changed: std::collections::BTreeSet<String> = overlay.keys().cloned().collect();
        let set = base.rescan_set(&changed);
        let cands: Vec<Candidate> = self
            .candidates()
            .into_iter()
            .filter(|c| set.contains(&c.rel))
            .collect();
        let loader = Overlay {
            base: scan::DirLoader { root: &self.root },
            overlay,
            obs: &Quiet,
            read: AtomicUsize::new(0),
            keep_trees: false,
        };
        let partial = scan::scan_candidates(&self.display_root, &cands, &loader, &self.config);
        base.merge_partial(partial, &set)
    }
}

/// Progress and cancellation of a scan.
pub trait ScanObserver: Sync {
    /// The walk found `files` candidate files.
    fn discovered(&self, _files: usize) {}
    /// `files` files have been read so far.
    fn read(&self, _files: usize) {}
    /// Stop reading (the scan then returns what it has, with read errors for the rest).
    fn cancelled(&self) -> bool {
        false
    }
}

/// Observes nothing.
struct Quiet;

impl ScanObserver for Quiet {}

struct Overlay<'a> {
    base: scan::DirLoader<'a>,
    overlay: &'a BTreeMap<String, String>,
    obs: &'a dyn ScanObserver,
    read: AtomicUsize,
    keep_trees: bool,
}

impl Loader for Overlay<'_> {
    fn load(&self, rel: &str) -> Result<String, (discover::ReadError, Vec<u8>)> {
        if self.obs.cancelled() {
            let e = std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled");
            return Err((discover::ReadError::Io(e), Vec::new()));
        }
        self.obs.read(self.read.fetch_add(1, Ordering::Relaxed) + 1);
        match self.overlay.get(rel) {
            Some(t) => Ok(t.clone()),
            None => self.base.load(rel),
        }
    }
    fn keep_trees(&self) -> bool {
        self.keep_trees
    }
}

struct RepoFiles<'a> {
    root: &'a Path,
    candidates: Vec<Candidate>,
    known: std::collections::HashSet<String>,
    cache: Mutex<BTreeMap<String, Option<Arc<str>>>>,
    memo: Memo,
}

impl Files for RepoFiles<'_> {
    fn text(&self, path: &str) -> Option<Arc<str>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cache.get(path) {
            return t.clone();
        }
        // Only files the walk found (inside the root, not ignored, not symlinks).
        let t = if self.known.contains(path) {
            discover::read_text(&self.root.join(path))
                .ok()
                .map(Arc::from)
        } else {
            None
        };
        cache.insert(path.to_string(), t.clone());
        t
    }

    fn paths(&self) -> Vec<String> {
        self.candidates.iter().map(|c| c.rel.clone()).collect()
    }

    fn memo(&self) -> Option<&Memo> {
        Some(&self.memo)
    }

    fn yaml_paths(&self) -> Vec<String> {
        self.candidates
            .iter()
            .filter(|c| c.rel.ends_with(".yml") || c.rel.ends_with(".yaml"))
            .map(|c| c.rel.clone())
            .collect()
    }
}
