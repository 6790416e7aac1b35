//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use depriv::config::Config;
use depriv::scan::{self, ScanResult};

/// Scan in-memory files given as (path, text) pairs.
pub fn scan_files(files: &[(&str, &str)]) -> ScanResult {
    let map: BTreeMap<String, String> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    scan::scan_memory(map, &Config::default())
}

/// `rule@line` of the active findings, sorted.
pub fn hits(r: &ScanResult) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| !f.suppressed)
        .map(|f| format!("{}@{}:{}", f.rule, f.path, f.line))
        .collect()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory of external validators, when installed (`DEPRIV_VALIDATORS`, or
/// `target/validators`). Under CI a missing validator is a failure, elsewhere a skip.
pub fn validators() -> Option<PathBuf> {
    let dir = std::env::var_os("DEPRIV_VALIDATORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/validators"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "validators not installed at {} (run scripts/install-validators.sh)",
            dir.display()
        );
    }
    eprintln!("validators not installed at {}; skipping", dir.display());
    None
}

/// Write a tree of files under `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (p, t) in files {
        let path = dir.join(p);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, t).expect("write");
    }
}
