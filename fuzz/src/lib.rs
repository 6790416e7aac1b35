//! Shared helpers for the fuzz targets: turn fuzzer bytes into a one-file repository and run
//! the in-memory pipeline (scan, plan, preview with verification) over it.

use std::collections::BTreeMap;
use std::sync::Arc;

use depriv::config::Config;
use depriv::migrate::{self, Strategy};
use depriv::rewrite::MemFiles;
use depriv::scan::{self, ScanResult};
use depriv::templates::Templates;

/// File names that select each surface; the first input byte picks one.
pub const NAMES: &[&str] = &[
    ".gitlab-ci.yml",
    ".github/workflows/ci.yml",
    "action.yml",
    "Jenkinsfile",
    "docker-compose.yml",
    "k8s/pod.yaml",
    "config.toml",
    "daemon.json",
    "build.sh",
    "Makefile",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    ".gitlab/ci/build.yml",
];

/// Split fuzzer bytes into (file name, text): the first byte picks the name, the rest must be
/// UTF-8 (the reader rejects anything else before any parser sees it).
pub fn one_file(data: &[u8]) -> Option<(&'static str, &str)> {
    let (&first, rest) = data.split_first()?;
    let name = NAMES.get(usize::from(first) % NAMES.len())?;
    let text = std::str::from_utf8(rest).ok()?;
    Some((name, text))
}

/// Scan one in-memory file.
pub fn scan_one(name: &str, text: &str) -> ScanResult {
    let mut files = BTreeMap::new();
    files.insert(name.to_string(), text.to_string());
    scan::scan_memory(files, &Config::default())
}

/// Scan, plan with `strategy` and preview (rewrite, verify, diff) one in-memory file.
pub fn preview_one(name: &str, text: &str, strategy: Strategy) {
    let config = Config::default();
    let mut files = BTreeMap::new();
    files.insert(name.to_string(), text.to_string());
    let scan = scan::scan_memory(files.clone(), &config);
    let plan = migrate::plan(&scan, &config.environment, strategy);
    let mem = MemFiles(
        files
            .iter()
            .map(|(p, t)| (p.clone(), Arc::<str>::from(t.as_str())))
            .collect(),
    );
    let rescan = |overlay: &BTreeMap<String, String>| {
        let mut all = files.clone();
        for (p, t) in overlay {
            all.insert(p.clone(), t.clone());
        }
        scan::scan_memory(all, &config)
    };
    let preview = migrate::preview(&plan, &scan, &mem, &Templates::builtin(), &rescan);
    for c in &preview.changes {
        let _ = c.unified_diff();
    }
}

/// The strategy a byte selects.
pub fn strategy(b: u8) -> Strategy {
    match b % 6 {
        0 => Strategy::Auto,
        1 => Strategy::Sysbox,
        2 => Strategy::Rootless,
        3 => Strategy::Kaniko,
        4 => Strategy::Buildkit,
        _ => Strategy::Tls,
    }
}
