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

/// Whether this is a CI run (`CI=true`, as `.ci/run` sets it): tools it installs must be
/// there, so a missing one fails instead of skipping.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The validators the tests run, by their name under `DIR/bin`.
pub const VALIDATOR_BINS: &[&str] = &["check-jsonschema", "actionlint", "Sarif.Multitool"];

/// Where the external validators are expected (`DEPRIV_VALIDATORS`, or `target/validators`).
pub fn validators_dir() -> PathBuf {
    std::env::var_os("DEPRIV_VALIDATORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/validators"))
}

/// Whether every validator is installed: `Err` names what is missing.
pub fn validators_status() -> Result<PathBuf, String> {
    let dir = validators_dir();
    let missing: Vec<&str> = VALIDATOR_BINS
        .iter()
        .copied()
        .filter(|b| !dir.join("bin").join(b).exists())
        .collect();
    if missing.is_empty() {
        Ok(dir)
    } else {
        Err(format!(
            "{} not installed under {} (bash scripts/install-validators.sh installs them)",
            missing.join(", "),
            dir.join("bin").display()
        ))
    }
}

/// The directory of external validators, when installed. Under CI a missing validator is a
/// failure, elsewhere a skip (listed by the `skipped` test binary).
pub fn validators() -> Option<PathBuf> {
    match validators_status() {
        Ok(dir) => Some(dir),
        Err(why) if ci() => panic!("CI=true: {why}"),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// The labelled corpus (`DEPRIV_CORPUS`, or `../shared/corpus` beside the checkout).
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("DEPRIV_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"))
}

fn runs(cmd: &str, arg: &str) -> bool {
    std::process::Command::new(cmd)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Chromium to render the HTML report with, when one is installed.
pub fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| runs(c, "--version"))
        .map(str::to_string)
}

/// Whether tmux (for the UI end-to-end tests) is installed.
pub fn tmux() -> bool {
    runs("tmux", "-V")
}

/// Every check that needs something outside cargo, and whether it can run (`Err`: why it is
/// skipped).
pub fn external_checks() -> Vec<(&'static str, Result<String, String>)> {
    let corpus = corpus_dir();
    vec![
        (
            "corpus accuracy (tests/it/corpus.rs)",
            if corpus.join("MANIFEST.tsv").is_file() {
                Ok(corpus.display().to_string())
            } else {
                Err(format!(
                    "no corpus at {} (set DEPRIV_CORPUS)",
                    corpus.display()
                ))
            },
        ),
        (
            "external validators (tests/it/{validators,reports,migrate}.rs)",
            validators_status().map(|d| d.display().to_string()),
        ),
        (
            "HTML rendering in Chromium (tests/it/reports.rs)",
            chromium().ok_or_else(|| "chromium is not installed".to_string()),
        ),
        (
            "terminal UI end to end in tmux (tests/it/tui.rs)",
            if tmux() {
                Ok("tmux".to_string())
            } else {
                Err("tmux is not installed".to_string())
            },
        ),
    ]
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
