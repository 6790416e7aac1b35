//! Test fixtures and vendored examples are reported but not migrated unless asked, and compose
//! files deployed as Swarm stacks are recognised (sysbox is not feasible there).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::support::{root, write_tree};

fn depriv() -> Command {
    let mut c = Command::cargo_bin("depriv").expect("binary");
    c.env_remove("NO_COLOR").env("CI", "");
    c
}

const JENKINSFILE: &str = "src/test/resources/io/acme/jenkins/dockerstep/BuildStepTest/Jenkinsfile";
const POD: &str = "src/test/resources/io/acme/jenkins/dockerstep/cloud/agent-pod.yaml";

/// A copy of `tests/fixtures/repos/<name>` in a temporary directory.
fn repo(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = root().join("tests/fixtures/repos").join(name);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut stack = vec![from.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&from).expect("prefix");
                files.push((
                    rel.to_string_lossy().replace('\\', "/"),
                    std::fs::read(&p).expect("read"),
                ));
            }
        }
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    write_tree(dir.path(), &refs);
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).expect("read")
}

fn json_of(args: &[&str], dir: &Path) -> Value {
    let out = depriv().args(args).arg(dir).output().expect("run");
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn fixtures_are_marked_in_json_sarif_and_text() {
    let (_t, dir) = repo("jenkins-plugin");
    let v = json_of(&["scan", "--format", "json"], &dir);
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 3);
    for f in findings {
        let path = f["path"].as_str().expect("path");
        let fixture = path.starts_with("src/test/");
        assert_eq!(f.get("fixture") == Some(&Value::Bool(true)), fixture, "{f}");
    }
    let pipelines = v["pipelines"].as_array().expect("pipelines");
    let pod = pipelines
        .iter()
        .find(|p| p["path"] == POD)
        .expect("pod pipeline");
    assert_eq!(pod["fixture"], "test data under `src/test/`");
    let sarif = json_of(&["scan", "--format", "sarif"], &dir);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let marked: Vec<&str> = results
        .iter()
        .filter(|r| r["properties"]["fixture"] == Value::Bool(true))
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(marked, vec![JENKINSFILE, POD]);
    let text = depriv().args(["scan"]).arg(&dir).output().expect("run");
    let text = String::from_utf8_lossy(&text.stdout);
    assert_eq!(
        text.matches("note: test fixture (test data under `src/test/`): reported, not migrated unless --include-fixtures")
            .count(),
        2,
        "{text}"
    );
}

#[test]
fn migrate_rewrites_the_real_pipeline_and_leaves_fixtures_alone() {
    let (_t, dir) = repo("jenkins-plugin");
    let jenkinsfile = read(&dir, JENKINSFILE);
    let pod = read(&dir, POD);
    let gitlab = read(&dir, ".gitlab-ci.yml");
    let out = depriv()
        .args(["migrate", "--allow-no-vcs"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Only manual tasks outside the repository remain: the fixtures do not fail the run.
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(
            "skipped     skip      Pod/privileged-agent (src/test/resources/io/acme/jenkins/dockerstep/cloud/agent-pod.yaml) — 0/1 findings addressed; test fixture (test data under `src/test/`); --include-fixtures migrates it"
        ),
        "{stdout}"
    );
    assert_ne!(read(&dir, ".gitlab-ci.yml"), gitlab);
    assert_eq!(read(&dir, JENKINSFILE), jenkinsfile);
    assert_eq!(read(&dir, POD), pod);
}

#[test]
fn include_fixtures_migrates_them() {
    let (_t, dir) = repo("jenkins-plugin");
    let out = depriv()
        .args(["migrate", "--allow-no-vcs", "--include-fixtures"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(read(&dir, POD).contains("runtimeClassName: sysbox-runc"));
    assert!(read(&dir, JENKINSFILE).contains("--runtime=sysbox-runc"));
    // The migrated fixtures re-scan clean.
    let v = json_of(&["scan", "--format", "json"], &dir);
    let left: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["suppressed"] != Value::Bool(true))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn depriv_toml_includes_fixtures_by_glob() {
    let (_t, dir) = repo("jenkins-plugin");
    std::fs::write(
        dir.join(".depriv.toml"),
        "include-fixtures = [\"**/cloud/*.yaml\"]\n",
    )
    .expect("write");
    let out = depriv()
        .args(["migrate", "--dry-run"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("+++ b/{POD}")), "{stdout}");
    assert!(
        !stdout.contains(&format!("+++ b/{JENKINSFILE}")),
        "{stdout}"
    );
    // `true` takes every fixture.
    std::fs::write(dir.join(".depriv.toml"), "include-fixtures = true\n").expect("write");
    let out = depriv()
        .args(["migrate", "--dry-run"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("+++ b/{JENKINSFILE}")), "{stdout}");
}

#[test]
fn report_lists_fixtures_as_skipped_with_the_reason() {
    let (_t, dir) = repo("jenkins-plugin");
    let v = json_of(&["report", "--format", "json"], &dir);
    let pipelines = v["pipelines"].as_array().expect("pipelines");
    let pod = pipelines
        .iter()
        .find(|p| p["path"] == POD)
        .expect("pod pipeline");
    assert_eq!(pod["status"], "skipped", "{pod}");
    assert_eq!(pod["fixture"], "test data under `src/test/`");
    assert_eq!(pod["findings"][0]["fixture"], Value::Bool(true));
    let gitlab = pipelines
        .iter()
        .find(|p| p["path"] == ".gitlab-ci.yml")
        .expect("gitlab pipeline");
    assert_eq!(gitlab["status"], "migrated", "{gitlab}");
    assert!(gitlab.get("fixture").is_none());
    let v = json_of(&["report", "--format", "json", "--include-fixtures"], &dir);
    let pod = v["pipelines"]
        .as_array()
        .expect("pipelines")
        .iter()
        .find(|p| p["path"] == POD)
        .cloned()
        .expect("pod pipeline");
    assert_eq!(pod["status"], "migrated", "{pod}");
}

#[test]
fn swarm_stacks_are_recognised_and_sysbox_is_not_feasible_there() {
    let (_t, dir) = repo("swarm-stack");
    let v = json_of(&["scan", "--format", "json"], &dir);
    let hosting = |path: &str, name: &str| -> (String, Option<String>) {
        let p = v["pipelines"]
            .as_array()
            .expect("pipelines")
            .iter()
            .find(|p| p["path"] == path && p["name"] == name)
            .cloned()
            .expect("pipeline");
        (
            p["hosting"].as_str().unwrap_or_default().to_string(),
            p["swarm"].as_str().map(str::to_string),
        )
    };
    // Deployed by a script with `docker stack deploy -c`.
    assert_eq!(
        hosting("deploy/runners.yml", "builder"),
        (
            "swarm".into(),
            Some("`ci/release.sh` deploys the file with `docker stack deploy`".into())
        )
    );
    // Swarm-only `deploy:` keys (the file name alone would also say so).
    assert_eq!(
        hosting("docker-stack.yml", "build-daemon"),
        (
            "swarm".into(),
            Some("its `deploy.mode` is read by Docker Swarm (`docker stack deploy`) only".into())
        )
    );
    // A plain compose file stays a compose file.
    assert_eq!(
        hosting("docker-compose.yml", "local-dind"),
        ("unknown".into(), None)
    );
    let report = json_of(&["report", "--format", "json"], &dir);
    for p in report["pipelines"].as_array().expect("pipelines") {
        let sysbox = p["options"]
            .as_array()
            .expect("options")
            .iter()
            .find(|o| o["target"] == "sysbox")
            .cloned()
            .expect("sysbox option");
        if p["hosting"] == "swarm" {
            let why = sysbox["infeasible"].as_str().expect("infeasible");
            assert!(why.contains("cannot set a per-service `runtime`"), "{why}");
            assert!(why.contains("https://docs.docker.com/reference/cli/docker/stack/deploy/"));
            assert_eq!(p["target"], "rootless", "{p}");
        } else {
            assert!(sysbox["infeasible"].is_null(), "{p}");
            assert_eq!(p["target"], "sysbox", "{p}");
        }
    }
    // Forcing sysbox is refused for the stacks, with the reason.
    let out = depriv()
        .args(["migrate", "--dry-run", "--strategy", "sysbox"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout
            .matches("--strategy sysbox is not feasible (deployed as a Swarm stack")
            .count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("+    runtime: sysbox-runc"), "{stdout}");
    insta::assert_snapshot!("swarm_stack_dry_run", stdout);
}

#[test]
fn a_stack_deploy_in_ci_names_the_file_it_deploys() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(
        dir.path(),
        &[
            (
                ".gitlab-ci.yml",
                b"deploy:\n  image: docker:27-cli\n  script:\n    - docker stack deploy -c ops/agents.yml agents\n",
            ),
            (
                "ops/agents.yml",
                b"services:\n  dind:\n    image: docker:27-dind\n    privileged: true\n",
            ),
        ],
    );
    let v = json_of(&["scan", "--format", "json"], dir.path());
    let p = v["pipelines"]
        .as_array()
        .expect("pipelines")
        .iter()
        .find(|p| p["path"] == "ops/agents.yml")
        .cloned()
        .expect("compose pipeline");
    assert_eq!(p["hosting"], "swarm", "{p}");
    assert_eq!(v["findings"][0]["recommended"], "rootless");
}
