//! The binary: exit codes, formats, `--output`, errors on stderr.

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::write_tree;

fn depriv() -> Command {
    let mut c = Command::cargo_bin("depriv").expect("binary");
    c.env_remove("NO_COLOR").env("CI", "");
    c
}

const BAD: &[u8] = b"build:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  script:\n    - docker build -t app .\n";

#[test]
fn exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", BAD)]);
    depriv()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("privileged-dind"));
    depriv()
        .args(["scan", "--fail-on", "critical"])
        .arg(dir.path())
        .assert()
        .code(0);
    depriv()
        .args(["scan", "--fail-on", "never"])
        .arg(dir.path())
        .assert()
        .code(0);
    depriv()
        .args(["scan", "--fail-on", "high"])
        .arg(dir.path())
        .assert()
        .code(1);
}

#[test]
fn clean_repository_exits_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(
        dir.path(),
        &[(
            ".gitlab-ci.yml",
            b"test:\n  image: rust:1\n  script: cargo test\n",
        )],
    );
    depriv()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "No insecure Docker patterns found in 1 file",
        ));
}

#[test]
fn json_and_output_file() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", BAD)]);
    let out = dir.path().join("out.json");
    depriv()
        .args(["scan", "--format", "json", "-o"])
        .arg(&out)
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout("");
    let text = std::fs::read_to_string(&out).expect("output written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["files_scanned"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "privileged-dind");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["path"], ".gitlab-ci.yml");
    assert_eq!(f["line"], 4);
    assert_eq!(f["column"], 7);
    assert_eq!(f["surface"], "gitlab-ci");
    assert_eq!(f["pipeline"], "build");
    assert_eq!(f["docker_usage"], serde_json::json!(["build"]));
    assert_eq!(f["recommended"], "buildkit");
    assert_eq!(f["suppressed"], false);
    assert_eq!(f["fingerprint"].as_str().map(str::len), Some(32));
}

#[test]
fn missing_path_is_a_usage_error() {
    depriv()
        .args(["scan", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: /definitely/not/here: no such directory",
        ));
    depriv()
        .args(["scan", "--format", "yaml", "."])
        .assert()
        .code(2);
}

#[test]
fn invalid_yaml_is_a_diagnostic_with_position_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(
        dir.path(),
        &[
            (".gitlab-ci.yml", b"build:\n  script: [a, b\n"),
            (
                "docker-compose.yml",
                b"services:\n  a:\n    image: x\n    privileged: true\n",
            ),
        ],
    );
    depriv()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("privileged-container"))
        .stdout(predicate::str::contains("invalid YAML"))
        .stdout(predicate::str::contains(".gitlab-ci.yml:"));
}

#[test]
fn rules_and_explain() {
    depriv().arg("rules").assert().code(0).stdout(
        predicate::str::contains("docker-socket-mount").and(predicate::str::contains("critical")),
    );
    depriv()
        .args(["explain", "privileged-dind"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("## Targets"));
    depriv()
        .args(["explain", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule"));
}

#[test]
fn color_is_honoured() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", BAD)]);
    let colored = depriv()
        .args(["scan", "--color", "always"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&colored.stdout).contains('\u{1b}'));
    let plain = depriv()
        .args(["scan", "--color", "never"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'));
    let no_color = depriv()
        .env("NO_COLOR", "1")
        .args(["scan", "--color", "auto"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains('\u{1b}'));
}

#[test]
fn non_tty_default_prints_summary_and_next_commands() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", BAD)]);
    depriv()
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Found 1 finding").and(predicate::str::contains("Next:")));
}

#[test]
fn suppression_needs_a_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(
        dir.path(),
        &[(
            ".gitlab-ci.yml",
            b"a:\n  services:\n    - docker:dind # depriv: ignore[privileged-dind] runner is isolated\n  script: x\nb:\n  services:\n    # depriv: ignore[privileged-dind]\n    - docker:dind\n  script: x\n",
        )],
    );
    let out = depriv()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = v["findings"].as_array().expect("findings");
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["suppressed"], true);
    assert_eq!(f[0]["suppression"], "runner is isolated");
    assert_eq!(f[1]["suppressed"], false);
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    assert!(diags.iter().any(|d| {
        d["line"] == 7
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("needs a reason"))
    }));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn config_ignore_and_exclude() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(
        dir.path(),
        &[
            (".gitlab-ci.yml", BAD),
            ("vendor/docker-compose.yml", b"services:\n  a:\n    privileged: true\n"),
            (".depriv.toml", b"exclude = [\"vendor/**\"]\n[ignore]\n\".gitlab-ci.yml\" = [\"privileged-dind\"]\n"),
        ],
    );
    depriv().arg("scan").arg(dir.path()).assert().code(0);
    write_tree(dir.path(), &[(".depriv.toml", b"[ignore\n")]);
    depriv()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".depriv.toml:1"));
}

#[test]
fn environment_flags_change_the_recommendation() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(
        dir.path(),
        &[(".gitlab-ci.yml", b"test:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script: docker run --rm alpine true\n")],
    );
    depriv()
        .args(["migrate", "--dry-run"])
        .arg(dir.path())
        .assert()
        .stdout(predicate::str::contains("sysbox    test"));
    depriv()
        .args(["migrate", "--dry-run", "--runner-hosts", "managed"])
        .arg(dir.path())
        .assert()
        .stdout(predicate::str::contains("rootless  test"));
    depriv()
        .args(["migrate", "--dry-run", "--sysbox", "false"])
        .arg(dir.path())
        .assert()
        .stdout(predicate::str::contains("rootless  test"));
}

// ---- one honest message per situation ----------------------------------------------------

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
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

/// A committed git repository holding `files`.
fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), files);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "init"]);
    dir
}

const BROKEN: &[u8] = b"build:\n  image: [oops\n";

#[test]
fn a_file_that_does_not_parse_never_reads_as_clean() {
    let dir = repo(&[(".gitlab-ci.yml", BROKEN)]);
    let out = depriv()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("No insecure").not())
        .stdout(predicate::str::contains(
            "Scan incomplete: 1 file could not be read or parsed",
        ))
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stdout).contains(".gitlab-ci.yml:2:"));
    // Bare `depriv` without a terminal: the same message and exit status, with the file named.
    depriv()
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("No insecure").not())
        .stdout(predicate::str::contains("Not scanned:"))
        .stdout(predicate::str::contains(
            ".gitlab-ci.yml:2:10: invalid YAML",
        ));
    // `report` and `migrate` fail the same way.
    depriv()
        .args(["report", "--format", "md"])
        .arg(dir.path())
        .assert()
        .code(2);
    depriv()
        .args(["migrate", "--dry-run"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid YAML"));
    // SARIF: a failed invocation with the parse error as a notification.
    let sarif = depriv()
        .args(["scan", "--format", "sarif"])
        .arg(dir.path())
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&sarif).expect("sarif");
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let n = &inv["toolExecutionNotifications"][0];
    assert_eq!(n["level"], "error");
    assert!(
        n["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("invalid YAML"))
    );
    assert_eq!(
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".gitlab-ci.yml"
    );
    assert_eq!(
        n["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    // JSON: the counts and the diagnostic.
    let json = depriv()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(v["files_failed"], 1);
    assert_eq!(v["files_scanned"], 0);
    assert_eq!(v["diagnostics"][0]["level"], "error");
    // The migration report carries the diagnostics too.
    let report = depriv()
        .args(["report", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&report).expect("report json");
    assert_eq!(v["diagnostics"][0]["path"], ".gitlab-ci.yml");
}

#[test]
fn no_ci_configuration_is_its_own_message() {
    let empty = tempfile::tempdir().expect("tmp");
    depriv()
        .arg("scan")
        .arg(empty.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No CI configuration found in"))
        .stdout(predicate::str::contains("0 files").not());
    let other = tempfile::tempdir().expect("tmp");
    write_tree(
        other.path(),
        &[("README.md", b"# hi\n"), ("src/main.rs", b"fn main() {}\n")],
    );
    depriv()
        .arg(other.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No CI configuration found"))
        .stdout(predicate::str::contains("Next:").not());
    depriv()
        .arg("scan")
        .current_dir(empty.path())
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "No CI configuration found here:",
        ));
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_root_are_followed_the_rest_skipped_with_a_reason() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("tmp");
    write_tree(
        outside.path(),
        &[(
            "docker-compose.yml",
            b"services:\n  a:\n    privileged: true\n",
        )],
    );
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[("ci/main.yml", BAD)]);
    let d = dir.path();
    symlink("ci/main.yml", d.join(".gitlab-ci.yml")).expect("link");
    symlink(
        outside.path().join("docker-compose.yml"),
        d.join("docker-compose.yml"),
    )
    .expect("link");
    symlink("loop-b.yml", d.join("compose-a.yml")).expect("link");
    symlink("compose-a.yml", d.join("loop-b.yml")).expect("link");
    symlink("..", d.join("ci/up")).expect("link");
    let fifo = std::process::Command::new("mkfifo")
        .arg(d.join("build.sh"))
        .status()
        .is_ok_and(|s| s.success());
    let out = depriv()
        .args(["scan", "--format", "json"])
        .arg(d)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    // The link is read at its target, as GitLab CI (the target's own name says only YAML).
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "privileged-dind");
    assert_eq!(f["path"], "ci/main.yml");
    assert_eq!(f["surface"], "gitlab-ci");
    assert_eq!(
        v["findings"].as_array().map(Vec::len),
        Some(1),
        "nothing read outside"
    );
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    let skip = |path: &str, why: &str| {
        assert!(
            diags.iter().any(|d| d["path"] == path
                && d["level"] == "warning"
                && d["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("skipped: ") && m.contains(why))),
            "{path}: {why}: {diags:?}"
        );
    };
    skip("docker-compose.yml", "leaves the repository");
    skip("compose-a.yml", "loop");
    skip("ci/up", "loop");
    if fifo {
        skip("build.sh", "FIFO");
    }
    assert_eq!(v["files_skipped"], if fifo { 5 } else { 4 });
    // The text summary names them with the reason.
    depriv()
        .arg(d)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Skipped:"))
        .stdout(predicate::str::contains(
            "docker-compose.yml: symbolic link leaves the repository",
        ));
}

#[test]
fn includes_of_missing_files_and_deep_extends_are_warned() {
    let mut deep = String::from("build:\n  extends: .t1\n  script: [docker build .]\n");
    for i in 1..=13 {
        deep.push_str(&format!(".t{i}:\n  extends: .t{}\n", i + 1));
    }
    deep.push_str(".t14:\n  image: docker:29-cli\n  services: [docker:29-dind]\n");
    deep.push_str("include:\n  - local: ci/gone.yml\n");
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", deep.as_bytes())]);
    let out = depriv()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let msgs: Vec<&str> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["level"] == "warning")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("local include `ci/gone.yml` matches no file")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("nests deeper than")),
        "{msgs:?}"
    );
}

#[test]
fn merge_keys_nested_beyond_the_limit_are_warned() {
    let mut y = String::from("a0: &a0 {k: v}\n");
    for i in 1..=70 {
        y.push_str(&format!("a{i}: &a{i}\n  <<: *a{}\n  x{i}: y\n", i - 1));
    }
    y.push_str("job:\n  <<: *a70\n  image: docker:29-cli\n  script: [docker build .]\n");
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", y.as_bytes())]);
    let out = depriv()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["level"] == "warning"
                && d["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("merge keys nest deeper")))),
        "{}",
        v["diagnostics"]
    );
}

#[test]
fn a_file_path_is_scanned_in_its_repository() {
    let dir = repo(&[
        (
            ".gitlab-ci.yml",
            b"include:\n  - local: ci/build.gitlab-ci.yml\nlint:\n  script: [true]\n",
        ),
        ("ci/build.gitlab-ci.yml", BAD),
        (
            "docker-compose.yml",
            b"services:\n  a:\n    privileged: true\n",
        ),
    ]);
    // The included file's finding, in the context of the root that includes it; the
    // compose file's finding is not about this file.
    depriv()
        .arg("scan")
        .arg(dir.path().join("ci/build.gitlab-ci.yml"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("privileged-dind"))
        .stdout(predicate::str::contains("privileged-container").not())
        .stdout(predicate::str::contains("no such directory").not());
    depriv()
        .arg("scan")
        .arg("ci/build.gitlab-ci.yml")
        .current_dir(dir.path().join("ci").parent().expect("dir"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ci/build.gitlab-ci.yml:4"));
    depriv()
        .arg("scan")
        .arg(dir.path().join("docker-compose.yml"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("privileged-dind").not());
}

#[test]
fn output_formats_follow_one_rule_everywhere() {
    let dir = repo(&[(".gitlab-ci.yml", BAD)]);
    let out = tempfile::tempdir().expect("tmp");
    // Inferred from the extension.
    depriv()
        .arg("scan")
        .arg(dir.path())
        .arg("-o")
        .arg(out.path().join("r.sarif"))
        .assert()
        .code(1);
    let sarif = std::fs::read_to_string(out.path().join("r.sarif")).expect("written");
    assert!(sarif.contains("\"version\": \"2.1.0\""));
    depriv()
        .arg("report")
        .arg(dir.path())
        .arg("-o")
        .arg(out.path().join("r.html"))
        .assert()
        .code(0);
    assert!(
        std::fs::read_to_string(out.path().join("r.html"))
            .is_ok_and(|h| h.starts_with("<!DOCTYPE html>"))
    );
    // Unknown or contradicting extensions are errors, and nothing is written.
    for args in [
        vec!["scan", "-o"],
        vec!["report", "-o"],
        vec!["report", "--format", "md", "-o"],
        vec!["migrate", "--dry-run", "--report"],
    ] {
        depriv()
            .args(&args)
            .arg(out.path().join("r.pdf"))
            .arg(dir.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("r.pdf"));
        assert!(!out.path().join("r.pdf").exists(), "{args:?}");
    }
    depriv()
        .args(["scan", "--format", "json", "-o"])
        .arg(out.path().join("r.txt"))
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not match"));
    depriv()
        .args(["report", "--format", "json", "-o"])
        .arg(out.path().join("r.html"))
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not match"));
}

#[test]
fn baselines_say_what_they_did() {
    let dir = repo(&[(".gitlab-ci.yml", BAD)]);
    let base = dir.path().join("base.json");
    depriv()
        .args(["scan", "--fail-on", "never", "--write-baseline"])
        .arg(&base)
        .arg(dir.path())
        .assert()
        .code(0)
        .stderr(
            predicate::str::contains("Wrote baseline").and(predicate::str::contains("1 finding")),
        );
    depriv()
        .args(["scan", "--baseline"])
        .arg(&base)
        .arg(dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "1 finding, 1 in the baseline, 0 new.",
        ));
    depriv()
        .args(["scan", "--new-only", "--baseline"])
        .arg(&base)
        .arg(dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "0 new (only the new ones are shown)",
        ));
}

/// A build-only GitLab job: BuildKit migrates it, and the runners need a manual change.
const BUILD_ONLY: &[u8] = b"build:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"\"\n  script:\n    - docker build -t app .\n";
const DRONE: &[u8] =
    b"kind: pipeline\nname: default\nsteps:\n  - name: build\n    image: docker:29-dind\n    privileged: true\n";

#[test]
fn migrate_exit_status_tells_what_is_left() {
    // Manual tasks outside the repository remain, no finding: 3.
    let dir = repo(&[(".gitlab-ci.yml", BUILD_ONLY)]);
    let out = depriv()
        .args(["migrate", "--accept-defaults"])
        .arg(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::contains("Exit status 3"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    // What happened, in order: no "would change" before "Wrote".
    assert!(!text.contains("would change"), "{text}");
    let wrote = text
        .find("Wrote 1 file. Undo with: depriv undo")
        .expect("wrote line");
    assert!(text.find("Pipelines:").is_some_and(|p| p < wrote), "{text}");
    // A second run finds nothing left in the repository: 0 (the first run listed the task).
    depriv()
        .args(["migrate"])
        .arg(dir.path())
        .arg("--allow-dirty")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Nothing to migrate"));
    // Findings depriv cannot migrate (a detect-only surface): 1, dry run or not.
    let other = repo(&[(".drone.yml", DRONE)]);
    depriv()
        .args(["migrate", "--dry-run"])
        .arg(other.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Exit status 1"));
    depriv()
        .arg("--accept-defaults")
        .arg(other.path())
        .current_dir(other.path())
        .assert()
        .code(1);
    // Nothing to do: 0.
    let clean = repo(&[("docker-compose.yml", b"services:\n  a:\n    image: x\n")]);
    depriv()
        .arg("--accept-defaults")
        .arg(clean.path())
        .current_dir(clean.path())
        .assert()
        .code(0);
}

/// A job that only re-tags an image it loaded from a tarball: crane cannot do `docker load`, so
/// the job is migrated partially.
const LOADS_AND_PUSHES: &[u8] = b"ship:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  script:\n    - docker login -u \"$CI_REGISTRY_USER\" -p \"$CI_REGISTRY_PASSWORD\" \"$CI_REGISTRY\"\n    - docker load -i app.tar\n    - docker tag app:1 \"$CI_REGISTRY_IMAGE:1\"\n    - docker push \"$CI_REGISTRY_IMAGE:1\"\n";

#[test]
fn accept_defaults_exits_non_zero_when_a_pipeline_is_partial() {
    let dir = repo(&[(".gitlab-ci.yml", LOADS_AND_PUSHES)]);
    // The dry run says the partial pipeline still needs its tasks, not that they are all
    // outside the repository.
    let dry = depriv()
        .args(["migrate", "--dry-run"])
        .arg(dir.path())
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let dry = String::from_utf8_lossy(&dry);
    assert!(
        dry.contains("the partial pipelines need theirs before they work as migrated"),
        "{dry}"
    );
    let out = depriv()
        .arg("--accept-defaults")
        .arg(dir.path())
        .current_dir(dir.path())
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("partial"), "{text}");
    // Every line left untranslated is named with its location.
    for (cmd, line) in [
        ("`docker load -i app.tar`", 7),
        ("`docker tag app:1 $CI_REGISTRY_IMAGE:1`", 8),
        ("`docker push $CI_REGISTRY_IMAGE:1`", 9),
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(cmd) && l.contains(&format!(".gitlab-ci.yml:{line}"))),
            "{cmd} at line {line}:\n{text}"
        );
    }
    let ci = std::fs::read_to_string(dir.path().join(".gitlab-ci.yml")).expect("read");
    assert!(
        ci.contains("crane auth login") && ci.contains("- docker load -i app.tar"),
        "{ci}"
    );
}

#[test]
fn accept_defaults_takes_the_vcs_flags_its_hints_name() {
    let dir = repo(&[(".gitlab-ci.yml", BUILD_ONLY)]);
    std::fs::write(dir.path().join("notes.txt"), "wip\n").expect("write");
    git(dir.path(), &["add", "notes.txt"]);
    depriv()
        .arg("--accept-defaults")
        .arg(dir.path())
        .current_dir(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-dirty"));
    depriv()
        .args(["--accept-defaults", "--allow-dirty"])
        .arg(dir.path())
        .current_dir(dir.path())
        .assert()
        .code(3);
    let plain = tempfile::tempdir().expect("tmp");
    write_tree(plain.path(), &[(".gitlab-ci.yml", BUILD_ONLY)]);
    depriv()
        .arg("--accept-defaults")
        .arg(plain.path())
        .current_dir(plain.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-no-vcs"));
    depriv()
        .args(["--accept-defaults", "--allow-no-vcs"])
        .arg(plain.path())
        .current_dir(plain.path())
        .assert()
        .code(3);
    // The flags mean nothing without --accept-defaults at the top level.
    depriv()
        .args(["--allow-dirty"])
        .arg(plain.path())
        .assert()
        .code(2);
}

#[test]
fn undo_after_an_edit_explains_the_next_step() {
    let dir = repo(&[(".gitlab-ci.yml", BUILD_ONLY)]);
    depriv().args(["migrate"]).arg(dir.path()).assert().code(3);
    std::fs::write(dir.path().join(".gitlab-ci.yml"), "edited: true\n").expect("edit");
    depriv()
        .arg("undo")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to undo: .gitlab-ci.yml changed"))
        .stderr(predicate::str::contains("hint: if the migration is committed, set your edits aside with `git stash`, run `depriv undo"))
        .stderr(predicate::str::contains("git checkout -- <file>"));
}

#[test]
fn a_broken_template_is_a_template_error() {
    let dir = repo(&[(".gitlab-ci.yml", BUILD_ONLY)]);
    let t = tempfile::tempdir().expect("tmp");
    write_tree(
        t.path(),
        &[("gitlab/buildkit-image.yml", b"image: {{ v.buildkit \n")],
    );
    depriv()
        .args(["migrate", "--dry-run", "--templates"])
        .arg(t.path())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "template `gitlab/buildkit-image.yml`",
        ))
        .stdout(predicate::str::contains("manual").not());
    depriv()
        .args(["report", "--templates"])
        .arg(t.path())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "template `gitlab/buildkit-image.yml`",
        ));
}

#[test]
fn demo_without_a_terminal_exits_zero() {
    let tmp = tempfile::tempdir().expect("tmp");
    depriv()
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Demo repository:"));
}

#[test]
fn help_and_man_page_document_the_exit_status() {
    for args in [
        vec!["--help"],
        vec!["scan", "--help"],
        vec!["migrate", "--help"],
    ] {
        depriv()
            .args(&args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Exit status:"))
            .stdout(predicate::str::contains("3  migrated; no finding remains"));
    }
    depriv()
        .arg("manpage")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".SH \"EXIT STATUS\""))
        .stdout(predicate::str::contains("depriv-help").not())
        .stdout(predicate::str::contains(".SH EXTRA").not());
    let dir = tempfile::tempdir().expect("tmp");
    depriv()
        .args(["manpage", "--dir"])
        .arg(dir.path())
        .assert()
        .code(0);
    let pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("pages")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(pages.iter().any(|p| p == "depriv-scan.1"), "{pages:?}");
    assert!(!pages.iter().any(|p| p.contains("help")), "{pages:?}");
    for p in &pages {
        let text = std::fs::read_to_string(dir.path().join(p)).expect("page");
        assert!(text.contains("EXIT STATUS"), "{p}");
        assert!(
            !text.contains("depriv\\-help(1)") && !text.contains("depriv-help(1)"),
            "{p}"
        );
    }
}

#[test]
fn no_progress_bar_without_a_terminal() {
    let dir = repo(&[(".gitlab-ci.yml", BAD)]);
    depriv()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr("");
    depriv()
        .args(["migrate", "--dry-run"])
        .arg(dir.path())
        .assert()
        .stderr("");
}

#[test]
fn commands_that_take_a_repository_say_so_for_a_file() {
    let dir = repo(&[(".gitlab-ci.yml", BAD)]);
    depriv()
        .args(["migrate", "--dry-run"])
        .arg(dir.path().join(".gitlab-ci.yml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is a file: give the repository's directory",
        ));
}

#[test]
fn templates_versions_prints_the_pins_with_partial_overrides() {
    let out = depriv().args(["templates", "versions"]).assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("buildkit = \"moby/buildkit:v0.32.2-rootless\"\n"),
        "{text}"
    );
    assert!(text.contains("sysbox = \"0.7.0\"\n"), "{text}");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("versions.toml"),
        "dind = \"mirror.example/docker:29-dind\"\n",
    )
    .expect("write");
    let out = depriv()
        .args(["templates", "versions", "--templates"])
        .arg(dir.path())
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("dind = \"mirror.example/docker:29-dind\"\n"),
        "{text}"
    );
    assert!(text.contains("kaniko = \"ghcr.io/osscontainertools/kaniko:v1.28.3-debug\"\n"));
    let out = depriv()
        .args(["templates", "versions", "--pin-digests"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("crane digest docker:29-dind"), "{text}");
}
