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
