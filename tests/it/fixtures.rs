//! Rule fixtures: `tests/fixtures/rules/<rule>/<bad|ok>-<case>/` are tiny repositories. Every
//! rule must have documentation and at least one bad and one ok case; every bad case must
//! report its rule, every ok case must not. Each case's text output is snapshot-tested.

use std::path::Path;

use depriv::config::Config;
use depriv::report;
use depriv::rules::REGISTRY;
use depriv::scan;

use crate::support::root;

fn cases(rule: &str) -> Vec<(String, std::path::PathBuf)> {
    let dir = root().join("tests/fixtures/rules").join(rule);
    let mut out: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn registry_is_complete() {
    let mut ids = Vec::new();
    for r in REGISTRY {
        assert!(!ids.contains(&r.id), "duplicate rule id {}", r.id);
        ids.push(r.id);
        for section in ["## What", "## Why", "## Targets", "## Example"] {
            assert!(
                r.doc.contains(section),
                "{}: documentation lacks `{section}`",
                r.id
            );
        }
        assert!(
            r.doc.starts_with(&format!("# {} ({})", r.id, r.severity)),
            "{}: doc title",
            r.id
        );
        let c = cases(r.id);
        assert!(
            c.iter().any(|(n, _)| n.starts_with("bad-")),
            "{}: no bad-* fixture",
            r.id
        );
        assert!(
            c.iter().any(|(n, _)| n.starts_with("ok-")),
            "{}: no ok-* fixture",
            r.id
        );
        assert!(!r.surfaces.is_empty());
    }
    // And no fixture directory for a rule that does not exist.
    let dir = root().join("tests/fixtures/rules");
    for e in std::fs::read_dir(dir).expect("fixtures dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        assert!(
            ids.contains(&name.as_str()),
            "fixtures for unknown rule {name}"
        );
    }
}

fn scan_case(path: &Path) -> scan::ScanResult {
    scan::scan_dir(path, ".", &Config::default())
}

#[test]
fn bad_cases_fire_and_ok_cases_do_not() {
    let mut failures = Vec::new();
    for r in REGISTRY {
        for (name, path) in cases(r.id) {
            let res = scan_case(&path);
            let fired = res.findings.iter().any(|f| f.rule == r.id && !f.suppressed);
            if name.starts_with("bad-") && !fired {
                failures.push(format!("{}/{name}: expected {} to fire", r.id, r.id));
            }
            if name.starts_with("ok-") && fired {
                failures.push(format!("{}/{name}: {} fired on an ok case", r.id, r.id));
            }
            if res.has_errors() {
                failures.push(format!(
                    "{}/{name}: diagnostics {:?}",
                    r.id, res.diagnostics
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixture_text_snapshots() {
    for r in REGISTRY {
        for (name, path) in cases(r.id) {
            let res = scan_case(&path);
            let text = report::text::render(&res, false, true);
            insta::with_settings!({ snapshot_suffix => format!("{}__{name}", r.id), prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!("fixture", text);
            });
        }
    }
}
