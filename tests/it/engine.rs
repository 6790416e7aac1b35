//! The migration engine over shared definitions: every pipeline that inherits a definition is
//! planned, pipelines that share one are rewritten together, several pipelines' edits to one
//! file are merged, auto mode falls back to the next feasible target, and a broken file blocks
//! only what reads it. Each case is judged on the effective configuration of every affected
//! job after the rewrite, not on syntax alone.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use depriv::migrate::{Preview, Strategy};
use depriv::plan::Choice;
use depriv::rewrite::Status;
use depriv::session::Session;

use crate::support::{root, write_tree};

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/engine").join(name)
}

fn preview(dir: &Path, strategy: Strategy) -> Preview {
    let s = Session::open(dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, strategy);
    s.preview(&plan, &scan)
}

/// Every file of the repository after the preview's changes (root-relative path → text).
fn after(dir: &Path, p: &Preview) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            if let Ok(t) = std::fs::read_to_string(&path) {
                out.insert(rel, t);
            }
        }
    }
    for c in &p.changes {
        out.insert(c.path.clone(), c.after.clone());
    }
    out
}

fn statuses(p: &Preview) -> Vec<(String, &'static str, &'static str)> {
    p.results
        .iter()
        .map(|r| (r.pipeline.clone(), r.choice.as_str(), r.status.as_str()))
        .collect()
}

#[test]
fn two_jobs_of_one_template_take_buildkit_and_the_template_changes_once() {
    let dir = fixture("gitlab-shared-template-same-target");
    let p = preview(&dir, Strategy::Auto);
    assert_eq!(
        statuses(&p),
        vec![
            ("build-api".to_string(), "buildkit", "migrated"),
            ("build-web".to_string(), "buildkit", "migrated"),
        ]
    );
    let files = after(&dir, &p);
    let ci = &files[".gitlab-ci.yml"];
    assert_eq!(ci.matches("BUILDKITD_FLAGS").count(), 1, "{ci}");
    assert!(!ci.contains("docker:27-dind"), "{ci}");
    assert!(!ci.contains("docker build"), "{ci}");
    let problems = crate::effective::problems(&files, &p, false);
    assert!(problems.is_empty(), "{problems:#?}");
    // The manual task is listed once, on the first job of the group.
    let tasks: usize = p.results.iter().map(|r| r.manual.len()).sum();
    assert_eq!(tasks, 1);
}

#[test]
fn a_template_shared_by_a_build_job_and_a_test_job_moves_as_one() {
    let dir = fixture("gitlab-shared-template-mixed");
    let s = Session::open(&dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, Strategy::Auto);
    // Both jobs are in the plan, although the findings sit in the template.
    let names: Vec<&str> = plan
        .pipelines
        .iter()
        .map(|p| p.pipeline.name.as_str())
        .collect();
    assert_eq!(names, vec!["build-image", "integration"]);
    let image = &plan.pipelines[0];
    assert_eq!(image.choice, Choice::Sysbox);
    assert!(
        image.why.contains("shares with integration") && image.why.contains("buildkit"),
        "{}",
        image.why
    );
    assert_eq!(image.shared_with, vec!["integration".to_string()]);
    let p = s.preview(&plan, &scan);
    assert_eq!(
        statuses(&p),
        vec![
            ("build-image".to_string(), "sysbox", "migrated"),
            ("integration".to_string(), "sysbox", "migrated"),
        ]
    );
    let problems = crate::effective::problems(&after(&dir, &p), &p, false);
    assert!(problems.is_empty(), "{problems:#?}");
    // A strategy one member cannot take is refused for the whole group, with the reason.
    let forced = s.plan(&scan, Strategy::Buildkit);
    assert!(forced.pipelines.iter().all(|p| p.choice == Choice::Sysbox));
    assert!(
        forced.pipelines[0].why.contains("not feasible"),
        "{}",
        forced.pipelines[0].why
    );
}

#[test]
fn twenty_jobs_across_included_files_get_complete_tls_settings() {
    let dir = fixture("gitlab-twenty-jobs-included");
    let p = preview(&dir, Strategy::Auto);
    assert_eq!(p.results.len(), 20, "{:#?}", statuses(&p));
    assert!(
        p.results.iter().all(|r| r.status == Status::Migrated),
        "{:#?}",
        statuses(&p)
    );
    // Kubernetes executor: DOCKER_TLS_VERIFY and DOCKER_CERT_PATH must reach every job.
    let problems = crate::effective::problems(&after(&dir, &p), &p, true);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(p.remaining.is_empty(), "{:#?}", p.remaining);
}

#[test]
fn two_compose_services_share_one_new_daemon() {
    let dir = fixture("compose-two-daemons");
    let p = preview(&dir, Strategy::Auto);
    assert_eq!(
        statuses(&p),
        vec![
            ("builder".to_string(), "sysbox", "migrated"),
            ("e2e".to_string(), "sysbox", "migrated"),
        ]
    );
    let out = &after(&dir, &p)["docker-compose.yml"];
    assert_eq!(out.matches("\n  docker:\n").count(), 1, "{out}");
    assert_eq!(out.matches("certs-client: {}").count(), 1, "{out}");
    assert_eq!(out.matches("DOCKER_HOST: tcp://docker:2376").count(), 2);
    assert!(!out.contains("docker.sock"), "{out}");
}

#[test]
fn auto_mode_falls_back_to_the_next_feasible_target() {
    let dir = fixture("gitlab-fallback");
    let p = preview(&dir, Strategy::Auto);
    let r = p
        .results
        .iter()
        .find(|r| r.pipeline == "package")
        .expect("package");
    assert_eq!(r.choice, Choice::Kaniko);
    assert_eq!(r.status, Status::Migrated);
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("buildkit could not be applied") && n.contains("kaniko")),
        "{:#?}",
        r.notes
    );
    let problems = crate::effective::problems(&after(&dir, &p), &p, false);
    assert!(problems.is_empty(), "{problems:#?}");
    // A target that is not the recommended one, chosen by the user, does not fall back.
    let s = Session::open(&dir).expect("open");
    let scan = s.scan();
    let mut plan = s.plan(&scan, Strategy::Auto);
    for p in &mut plan.pipelines {
        p.choice = Choice::Tls;
    }
    let forced = s.preview(&plan, &scan);
    let r = forced
        .results
        .iter()
        .find(|r| r.pipeline == "package")
        .expect("package");
    assert_eq!(r.choice, Choice::Tls);
    assert!(r.notes.iter().all(|n| !n.contains("could not be applied")));
}

#[test]
fn nothing_is_written_for_a_manual_pipeline() {
    for name in [
        "gitlab-fallback",
        "gitlab-shared-template-mixed",
        "compose-two-daemons",
    ] {
        for strategy in [
            Strategy::Auto,
            Strategy::Buildkit,
            Strategy::Kaniko,
            Strategy::Rootless,
            Strategy::Tls,
        ] {
            let p = preview(&fixture(name), strategy);
            for r in &p.results {
                if matches!(r.status, Status::Manual | Status::Unsupported) {
                    assert!(r.files.is_empty(), "{name} {strategy:?}: {r:#?}");
                }
            }
            // Every changed file belongs to a pipeline reported migrated or partial.
            for c in &p.changes {
                assert!(
                    p.results.iter().any(|r| {
                        matches!(r.status, Status::Migrated | Status::Partial)
                            && r.files.contains(&c.path)
                    }),
                    "{name} {strategy:?}: {} written for no migrated pipeline: {:#?}",
                    c.path,
                    p.results
                );
            }
            let written: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
            let touched = p
                .results
                .iter()
                .filter(|r| matches!(r.status, Status::Migrated | Status::Partial))
                .count();
            assert!(
                touched > 0 || written.is_empty(),
                "{name} {strategy:?}: files written with no pipeline migrated: {written:?}"
            );
        }
    }
}

#[test]
fn an_unrelated_broken_file_blocks_only_what_reads_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_tree(
        tmp.path(),
        &[
            (
                ".gitlab-ci.yml",
                b"build:\n  image: docker:27-cli\n  services:\n    - docker:27-dind\n  script:\n    - docker build -t app .\n",
            ),
            // A fixture of some test suite: invalid on purpose.
            (
                "tests/data/broken/config.toml",
                b"[[runners]]\nname = \"x\"\n[runners.docker\nprivileged = true\n",
            ),
        ],
    );
    let out = Command::cargo_bin("depriv")
        .expect("binary")
        .args(["migrate", "--dry-run", "--allow-no-vcs"])
        .arg(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("tests/data/broken/config.toml"), "{stderr}");
    assert!(stdout.contains("+++ b/.gitlab-ci.yml"), "{stdout}");
    assert!(stdout.contains("migrated"), "{stdout}");
}

#[test]
fn a_file_of_four_thousand_jobs_plans_in_linear_time() {
    // Before the engine kept one rewrite per group, 4,000 identical jobs took minutes; the
    // bound here is loose on purpose (debug build, shared machine): it catches a quadratic
    // engine, not a slow one. Speed proper is measured by scripts/bench-migrate.sh.
    let mut text = String::new();
    for i in 0..4000 {
        text.push_str(&format!(
            "job{i}:\n  image: docker:27-cli\n  services:\n    - docker:27-dind\n  variables:\n    DOCKER_HOST: tcp://docker:2375\n  script:\n    - docker run --rm alpine echo {i}\n\n"
        ));
    }
    let tmp = tempfile::tempdir().expect("tmp");
    write_tree(tmp.path(), &[(".gitlab-ci.yml", text.as_bytes())]);
    let start = std::time::Instant::now();
    let p = preview(tmp.path(), Strategy::Auto);
    let took = start.elapsed();
    assert_eq!(p.results.len(), 4000);
    assert!(p.results.iter().all(|r| r.status == Status::Migrated));
    assert!(took.as_secs() < 120, "took {took:?}");
}

#[test]
fn jobs_of_one_template_that_take_different_targets_get_job_level_overrides() {
    let src = fixture("gitlab-shared-template-different-targets");
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read(src.join(".gitlab-ci.yml")).expect("read");
    write_tree(tmp.path(), &[(".gitlab-ci.yml", &text)]);
    let dir = tmp.path();
    let s = Session::open(dir).expect("open");
    let scan = s.scan();
    let mut plan = s.plan(&scan, Strategy::Auto);
    // Auto mode moves the group together; a user then sends the image build to BuildKit.
    assert!(plan.pipelines.iter().all(|p| p.choice == Choice::Sysbox));
    for p in &mut plan.pipelines {
        if p.pipeline.name == "build-image" {
            p.choice = Choice::Buildkit;
        }
    }
    let p = s.preview(&plan, &scan);
    assert_eq!(
        statuses(&p),
        vec![
            ("build-image".to_string(), "buildkit", "migrated"),
            ("integration".to_string(), "sysbox", "migrated"),
        ]
    );
    assert!(p.remaining.is_empty(), "{:#?}", p.remaining);
    let files = after(dir, &p);
    let ci = &files[".gitlab-ci.yml"];
    // The template keeps its daemon (now with TLS) for `integration`; `build-image` overrides the
    // inherited list, keeping the other service, and clears DOCKER_HOST.
    assert!(ci.contains("    - name: docker:27-dind\n"), "{ci}");
    assert!(ci.contains("    DOCKER_HOST: tcp://docker:2376\n"), "{ci}");
    assert!(ci.contains("  services:\n    - postgres:16\n"), "{ci}");
    assert!(ci.contains("    DOCKER_HOST: \"\"\n"), "{ci}");
    assert!(!ci.contains("depriv: ignore"), "{ci}");
    let problems = crate::effective::problems(&files, &p, false);
    assert!(problems.is_empty(), "{problems:#?}");
    // Written, the repository re-scans clean, and the same choices change nothing more.
    for c in &p.changes {
        std::fs::write(dir.join(&c.path), &c.after).expect("write");
    }
    let s = Session::open(dir).expect("reopen");
    let scan = s.scan();
    assert!(scan.findings.is_empty(), "{:#?}", scan.findings);
    let plan = s.plan(&scan, Strategy::Auto);
    assert!(s.preview(&plan, &scan).changes.is_empty());
}

#[test]
fn a_pipeline_that_runs_containers_never_gets_a_builder_on_any_surface() {
    // `docker run` needs a daemon: kaniko and BuildKit are infeasible for it on GitLab, GitHub
    // and Jenkins alike, a forced builder strategy falls back, and no crane copy job is made.
    let cases: &[(&str, &str, &str)] = &[
        (
            ".gitlab-ci.yml",
            "release:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker pull r.example/app:1\n    - docker run --rm r.example/app:1 --self-test\n    - docker tag r.example/app:1 r.example/app:stable\n    - docker push r.example/app:stable\n",
            "release",
        ),
        (
            ".github/workflows/release.yml",
            "on: push\njobs:\n  release:\n    runs-on: self-hosted\n    container:\n      image: docker:29-cli\n    services:\n      docker:\n        image: docker:29-dind\n        options: --privileged\n    steps:\n      - run: docker build -t r.example/app:1 .\n      - run: docker run --rm r.example/app:1 --self-test\n      - run: docker push r.example/app:1\n",
            "release",
        ),
        (
            "Jenkinsfile",
            "pipeline {\n  agent {\n    docker {\n      image 'docker:29-dind'\n      args '--privileged'\n    }\n  }\n  stages {\n    stage('Release') {\n      steps {\n        sh 'docker build -t r.example/app:1 .'\n        sh 'docker run --rm r.example/app:1 --self-test'\n        sh 'docker push r.example/app:1'\n      }\n    }\n  }\n}\n",
            "",
        ),
    ];
    for (path, text, job) in cases {
        let dir = tempfile::tempdir().expect("tmp");
        write_tree(dir.path(), &[(path, text.as_bytes())]);
        let s = Session::open(dir.path()).expect("open");
        let scan = s.scan();
        for strategy in [Strategy::Auto, Strategy::Buildkit, Strategy::Kaniko] {
            let plan = s.plan(&scan, strategy);
            let p = plan
                .pipelines
                .iter()
                .find(|p| p.pipeline.path == *path && p.pipeline.name.contains(job))
                .unwrap_or_else(|| panic!("{path}: no planned pipeline"));
            assert!(
                p.pipeline
                    .docker_usage
                    .contains(&depriv::model::DockerUse::Run),
                "{path}: {:?}",
                p.pipeline.docker_usage
            );
            for o in &p.options {
                if matches!(
                    o.target,
                    depriv::plan::Target::Buildkit | depriv::plan::Target::Kaniko
                ) {
                    assert!(
                        o.infeasible
                            .as_deref()
                            .is_some_and(|w| w.contains("runs containers")),
                        "{path}: {:?} {:?}",
                        o.target,
                        o.infeasible
                    );
                }
            }
            assert!(
                !matches!(p.choice, Choice::Buildkit | Choice::Kaniko),
                "{path} {strategy:?}: {:?} ({})",
                p.choice,
                p.why
            );
            let pv = s.preview(&plan, &scan);
            assert!(
                pv.changes.iter().all(|c| !c.after.contains("crane ")),
                "{path} {strategy:?}"
            );
        }
    }
}

#[test]
fn nothing_written_because_of_a_broken_file_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_tree(
        tmp.path(),
        &[(
            "gitlab-runner/config.toml",
            b"[[runners]]\nname = \"x\"\nurl = $url\n[runners.docker]\nprivileged = true\n",
        )],
    );
    let out = Command::cargo_bin("depriv")
        .expect("binary")
        .args(["migrate", "--allow-no-vcs"])
        .arg(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("Nothing written; files that could not be parsed"),
        "{stdout}"
    );
    assert!(!stdout.contains("already migrated"), "{stdout}");
}
