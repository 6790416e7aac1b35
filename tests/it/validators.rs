//! Output formats checked by the real validators and snapshot-tested on the demo repository:
//! SARIF with Microsoft's SARIF Multitool and GitHub's ingestion rules.

use std::process::Command;

use depriv::config::Config;
use depriv::report;
use depriv::scan;

use crate::support::{root, validators};

fn demo() -> scan::ScanResult {
    scan::scan_dir(
        &root().join("assets/demo"),
        "assets/demo",
        &Config::default(),
    )
}

#[test]
fn demo_outputs_snapshots() {
    let r = demo();
    assert!(!r.has_errors(), "{:?}", r.diagnostics);
    insta::assert_snapshot!("demo_text", report::text::render(&r, false, true));
    insta::assert_snapshot!("demo_json", report::json::render(&r));
    insta::assert_snapshot!("demo_sarif", report::sarif::render(&r));
}

#[test]
fn demo_shows_every_rule_and_surface() {
    let r = demo();
    for rule in depriv::rules::REGISTRY {
        assert!(
            r.findings.iter().any(|f| f.rule == rule.id),
            "demo lacks {}",
            rule.id
        );
    }
    for s in depriv::finding::Surface::ALL {
        assert!(
            r.findings.iter().any(|f| f.surface == s),
            "demo lacks surface {s}"
        );
    }
}

#[test]
fn sarif_passes_the_multitool_with_github_rules() {
    let Some(dir) = validators() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("demo.sarif");
    std::fs::write(&file, report::sarif::render(&demo())).expect("write");
    let out = Command::new("bash")
        .arg(root().join("scripts/validate-sarif.sh"))
        .arg(&file)
        .env("DEPRIV_VALIDATORS", &dir)
        .output()
        .expect("run validate-sarif.sh");
    assert!(
        out.status.success(),
        "SARIF validation failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Under `CI=true` (as `.ci/run` runs) every tool a check needs is installed; elsewhere each
/// missing one is reported with its reason (the `skipped` test binary prints the list).
#[test]
fn external_tools_are_there_under_ci_or_reported() {
    let checks = crate::support::external_checks();
    assert_eq!(checks.len(), 4);
    for (name, r) in &checks {
        match r {
            Ok(with) => assert!(!with.is_empty(), "{name}"),
            Err(why) => {
                assert!(!why.is_empty(), "{name}");
                assert!(
                    !crate::support::ci() || name.starts_with("corpus"),
                    "CI=true but {name} cannot run: {why}"
                );
            }
        }
    }
}
