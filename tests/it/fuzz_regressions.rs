//! Inputs the fuzz targets (`fuzz/`) found crashing, hanging or blowing up, kept as files under
//! `tests/fixtures/fuzz/<target>/`: each is scanned and previewed again (every strategy) in
//! memory and must finish quickly without a panic.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use depriv::config::Config;
use depriv::migrate::{self, Strategy};
use depriv::rewrite::MemFiles;
use depriv::scan;
use depriv::templates::Templates;

use crate::support::root;

/// Generous for a debug build on a busy machine; the inputs took 20 s or more before the fixes.
const LIMIT: Duration = Duration::from_secs(5);

fn cases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let base = root().join("tests/fixtures/fuzz");
    let mut stack: Vec<PathBuf> = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = std::fs::read_to_string(&p).expect("fixture is UTF-8");
                // `timeout-gitlab-….gitlab-ci.yml` is scanned as `.gitlab-ci.yml`, and so on.
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let as_path = match name.split_once('.') {
                    Some((_, rest)) if rest.starts_with("gitlab-ci.yml") => ".gitlab-ci.yml",
                    Some((_, "docker-compose.yml")) => "docker-compose.yml",
                    Some((_, "Jenkinsfile")) => "Jenkinsfile",
                    Some((_, "sh")) => "build.sh",
                    _ => "k8s/pod.yaml",
                };
                out.push((as_path.to_string(), text));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fuzz_findings_stay_fixed() {
    let cases = cases();
    assert!(!cases.is_empty());
    let config = Config::default();
    for (path, text) in cases {
        let files = BTreeMap::from([(path.clone(), text.clone())]);
        let started = Instant::now();
        let scan = scan::scan_memory(files.clone(), &config);
        for strategy in [Strategy::Auto, Strategy::Tls, Strategy::Buildkit] {
            let plan = migrate::plan(&scan, &config.environment, strategy);
            let mem = MemFiles(BTreeMap::from([(
                path.clone(),
                Arc::<str>::from(text.as_str()),
            )]));
            let rescan = |overlay: &BTreeMap<String, String>| {
                let mut all = files.clone();
                all.extend(overlay.clone());
                scan::scan_memory(all, &config)
            };
            let _ = migrate::preview(&plan, &scan, &mem, &Templates::builtin(), &rescan);
        }
        let took = started.elapsed();
        assert!(took < LIMIT, "{path} took {took:?}:\n{text}");
    }
}
