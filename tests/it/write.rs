//! Writing for real: VCS guard, all-or-nothing writes, undo, `--accept-defaults` twice,
//! plan replay on a fresh copy — in temporary git repositories.

use std::path::Path;
use std::process::Command as Proc;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::root;

fn git(dir: &Path, args: &[&str]) {
    let ok = Proc::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git")
        .status
        .success();
    assert!(ok, "git {args:?}");
}

/// A git repository holding a copy of the demo, committed.
fn demo_repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    copy(&root().join("assets/demo"), d.path());
    git(d.path(), &["init", "-q"]);
    git(d.path(), &["add", "-A"]);
    git(d.path(), &["commit", "-qm", "demo"]);
    d
}

fn copy(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("ls").flatten() {
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&dst).expect("mkdir");
            copy(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).expect("copy");
        }
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("ls").flatten() {
            let p = e.path();
            if e.file_name() == ".git" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("rel")
                    .to_string_lossy()
                    .to_string();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

fn depriv(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("depriv").expect("bin");
    c.current_dir(dir).env("NO_COLOR", "1");
    c
}

#[test]
fn refuses_no_vcs_and_dirty_trees() {
    let d = tempfile::tempdir().expect("tmp");
    copy(&root().join("assets/demo"), d.path());
    let before = snapshot(d.path());
    depriv(d.path())
        .args(["migrate", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not under version control"));
    assert_eq!(snapshot(d.path()), before);
    let r = demo_repo();
    std::fs::write(r.path().join("docker-compose.yml"), "services: {}\n").expect("dirty");
    depriv(r.path())
        .args(["migrate", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "uncommitted changes (docker-compose.yml)",
        ));
}

#[test]
fn write_then_undo_restores_every_byte() {
    let r = demo_repo();
    let before = snapshot(r.path());
    let out = depriv(r.path())
        .args(["migrate", "."])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Wrote "),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(snapshot(r.path()), before);
    // A second run changes nothing and says so.
    git(r.path(), &["commit", "-qam", "migrated"]);
    depriv(r.path())
        .args(["migrate", "."])
        .assert()
        .stdout(predicate::str::contains("Nothing written"));
    git(r.path(), &["reset", "-q", "--hard", "HEAD~1"]);
    // Undo after a fresh migration restores the original bytes.
    depriv(r.path())
        .args(["migrate", "."])
        .assert()
        .stdout(predicate::str::contains("Wrote "));
    depriv(r.path())
        .args(["undo", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("restored"));
    assert_eq!(snapshot(r.path()), before);
    depriv(r.path())
        .args(["undo", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to undo"));
}

#[test]
fn accept_defaults_is_deterministic_and_writes_a_report() {
    let a = demo_repo();
    let b = demo_repo();
    for d in [&a, &b] {
        depriv(d.path())
            .args(["--accept-defaults", "."])
            .assert()
            .stdout(predicate::str::contains("Report: depriv-report.md"));
    }
    let strip = |d: &Path| {
        snapshot(d)
            .into_iter()
            .filter(|(p, _)| p != "depriv-report.md")
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a.path()), strip(b.path()));
    let report = std::fs::read_to_string(a.path().join("depriv-report.md")).expect("report");
    assert!(report.starts_with("# depriv migration report"));
    assert!(report.contains("## Pipelines"));
}

#[test]
fn saved_plan_replays_byte_identically_on_a_fresh_copy() {
    let a = demo_repo();
    let plan = a.path().join("plan.json");
    depriv(a.path())
        .args(["migrate", ".", "--allow-dirty", "--save-plan"])
        .arg(&plan)
        .assert()
        .stdout(predicate::str::contains("Wrote "));
    let b = demo_repo();
    depriv(b.path())
        .args(["migrate", ".", "--plan"])
        .arg(&plan)
        .assert()
        .stdout(predicate::str::contains("Wrote "));
    let strip = |d: &Path| {
        snapshot(d)
            .into_iter()
            .filter(|(p, _)| p != "plan.json")
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a.path()), strip(b.path()));
}
