//! The migration harness: for every `bad-*` rule fixture and the demo repository, and for
//! every feasible target, the previewed rewrite must (1) leave every byte outside its edits
//! untouched, (2) re-parse and re-scan without errors, (3) be a fixed point (a second run on
//! the result changes nothing), and (4) pass the platform's real validators. Each diff is
//! snapshot-tested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use depriv::edit;
use depriv::migrate::{Preview, Strategy};
use depriv::plan::Target;
use depriv::session::Session;

use crate::support::{root, validators};

fn copy_dir(from: &Path, to: &Path) {
    for e in walk(from) {
        let rel = e.strip_prefix(from).expect("prefix");
        let dst = to.join(rel);
        if let Some(p) = dst.parent() {
            std::fs::create_dir_all(p).expect("mkdir");
        }
        std::fs::copy(&e, &dst).expect("copy");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn strategy_of(t: Target) -> Strategy {
    match t {
        Target::Sysbox => Strategy::Sysbox,
        Target::Rootless => Strategy::Rootless,
        Target::Kaniko => Strategy::Kaniko,
        Target::Buildkit => Strategy::Buildkit,
        Target::Tls => Strategy::Tls,
    }
}

fn run(dir: &Path, strategy: Strategy) -> Preview {
    let s = Session::open(dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, strategy);
    s.preview(&plan, &scan)
}

/// Targets that are feasible for at least one pipeline of the repository.
fn feasible_targets(dir: &Path) -> Vec<Target> {
    let s = Session::open(dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, Strategy::Auto);
    let mut out: Vec<Target> = Vec::new();
    for p in &plan.pipelines {
        for o in &p.options {
            if o.infeasible.is_none() && !out.contains(&o.target) {
                out.push(o.target);
            }
        }
    }
    out.sort();
    out
}

struct Checked {
    snapshot: String,
    /// (path, original text, new text)
    changed: Vec<(String, String, String)>,
}

/// Check one repository with one strategy; returns the diff text and the changed files.
fn check(dir: &Path, strategy: Strategy, label: &str) -> Checked {
    let preview = run(dir, strategy);
    // Nothing is written for a pipeline reported manual, unsupported or skipped.
    for c in &preview.changes {
        assert!(
            preview.results.iter().any(|r| {
                matches!(
                    r.status,
                    depriv::rewrite::Status::Migrated | depriv::rewrite::Status::Partial
                ) && r.files.contains(&c.path)
            }),
            "{label}: {} is written for no migrated or partial pipeline",
            c.path
        );
    }
    let mut snapshot = String::new();
    let mut changed = Vec::new();
    for c in &preview.changes {
        // (1) byte-exact outside the edits
        for (range, at) in edit::untouched(c.before.len(), &c.edits) {
            assert_eq!(
                &c.before[range.clone()],
                &c.after[at..at + range.len()],
                "{label}: bytes outside the edits changed in {}",
                c.path
            );
        }
        snapshot.push_str(&c.unified_diff());
        changed.push((c.path.clone(), c.before.to_string(), c.after.clone()));
    }
    for r in &preview.results {
        snapshot.push_str(&format!(
            "# {} {} -> {}: {}\n",
            r.path,
            r.pipeline,
            r.choice.as_str(),
            r.status.as_str()
        ));
    }
    // (2) + (3): write the result to a copy, re-scan, re-run.
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(dir, tmp.path());
    for (p, _, t) in &changed {
        std::fs::write(tmp.path().join(p), t).expect("write");
    }
    let s = Session::open(tmp.path()).expect("open");
    // (4) every affected job's effective configuration still works and lost its privilege.
    let k8s = s.config().environment.runner_hosts == depriv::config::RunnerHosts::Kubernetes;
    let texts: BTreeMap<String, String> = walk(tmp.path())
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(tmp.path())
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            let t = std::fs::read_to_string(&p).ok()?;
            Some((rel, t))
        })
        .collect();
    let problems = crate::effective::problems(&texts, &preview, k8s);
    assert!(
        problems.is_empty(),
        "{label}: effective configuration after the rewrite:\n{}",
        problems.join("\n")
    );
    let after = s.scan();
    assert!(
        !after.has_errors(),
        "{label}: the result does not parse: {:?}",
        after.diagnostics
    );
    let again = run(tmp.path(), strategy);
    assert!(
        again.changes.is_empty(),
        "{label}: a second run changes {:?}",
        again
            .changes
            .iter()
            .map(|c| c.unified_diff())
            .collect::<Vec<_>>()
    );
    Checked { snapshot, changed }
}

fn repos() -> Vec<(String, PathBuf)> {
    let mut out = vec![("demo".to_string(), root().join("assets/demo"))];
    let rules = root().join("tests/fixtures/rules");
    let mut dirs: Vec<PathBuf> = Vec::new();
    for r in std::fs::read_dir(&rules).expect("fixtures").flatten() {
        for c in std::fs::read_dir(r.path()).expect("rule dir").flatten() {
            if c.file_name().to_string_lossy().starts_with("bad-") {
                dirs.push(c.path());
            }
        }
    }
    let engine = root().join("tests/fixtures/engine");
    for c in std::fs::read_dir(&engine)
        .expect("engine fixtures")
        .flatten()
    {
        dirs.push(c.path());
    }
    dirs.sort();
    for d in dirs {
        let rel = d
            .strip_prefix(&rules)
            .or_else(|_| d.strip_prefix(root().join("tests/fixtures")))
            .expect("prefix")
            .to_string_lossy()
            .replace('/', "__");
        out.push((rel, d));
    }
    out
}

#[test]
fn every_feasible_target_is_valid_exact_and_idempotent() {
    // kind → (name, original, new)
    let mut to_validate: BTreeMap<&'static str, Vec<(String, String, String)>> = BTreeMap::new();
    for (name, dir) in repos() {
        let mut snap = String::new();
        for t in feasible_targets(&dir) {
            let label = format!("{name} --strategy {}", t.as_str());
            let c = check(&dir, strategy_of(t), &label);
            snap.push_str(&format!("=== --strategy {}\n{}", t.as_str(), c.snapshot));
            for (p, original, text) in c.changed {
                let kind = match depriv::discover::classify(&p) {
                    Some(depriv::discover::Kind::GitlabCi) => "gitlab",
                    Some(depriv::discover::Kind::GithubWorkflow) => "github",
                    Some(depriv::discover::Kind::Compose) => "compose",
                    _ if p.ends_with(".yml")
                        && text.contains("script:")
                        && !text.contains("apiVersion") =>
                    {
                        "gitlab"
                    }
                    _ => "other",
                };
                to_validate.entry(kind).or_default().push((
                    format!("{name}__{}__{}", t.as_str(), p.replace('/', "__")),
                    original,
                    text,
                ));
            }
        }
        insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("migrate", snap);
        });
    }
    // (4) external validators, batched per schema.
    let Some(v) = validators() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let mut failures = Vec::new();
    for (kind, files) in &to_validate {
        let (schema, transform) = match *kind {
            "gitlab" => ("vendor.gitlab-ci", Some("gitlab-ci")),
            "github" => ("vendor.github-workflows", None),
            "compose" => ("vendor.compose-spec", None),
            _ => continue,
        };
        let schema_check = |paths: &[PathBuf]| -> Vec<PathBuf> {
            // Returns the files the schema rejects (one call per file keeps attribution exact).
            paths
                .iter()
                .filter(|p| {
                    let mut cmd = Command::new(v.join("bin/check-jsonschema"));
                    cmd.args(["--builtin-schema", schema]);
                    if let Some(t) = transform {
                        cmd.args(["--data-transform", t]);
                    }
                    !cmd.arg(p)
                        .output()
                        .expect("check-jsonschema")
                        .status
                        .success()
                })
                .cloned()
                .collect()
        };
        let dir = tmp.path().join(kind);
        std::fs::create_dir_all(dir.join("before")).expect("mkdir");
        std::fs::create_dir_all(dir.join("after")).expect("mkdir");
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (n, original, text) in files {
            let b = dir.join("before").join(format!("{n}.yml"));
            let a = dir.join("after").join(format!("{n}.yml"));
            std::fs::write(&b, original).expect("write");
            std::fs::write(&a, text).expect("write");
            before.push(b);
            after.push(a);
        }
        // The output must be valid wherever the input was: an input the vendored schema already
        // rejects (e.g. `variables: !reference`, which GitLab accepts) is reported, not failed.
        let bad_before = schema_check(&before);
        for b in &bad_before {
            eprintln!(
                "{schema}: the original {} is already rejected by the schema; not judged",
                b.display()
            );
        }
        let judged: Vec<PathBuf> = after
            .iter()
            .zip(&before)
            .filter(|(_, b)| !bad_before.contains(b))
            .map(|(a, _)| a.clone())
            .collect();
        let mut cmd = Command::new(v.join("bin/check-jsonschema"));
        cmd.args(["--builtin-schema", schema]);
        if let Some(t) = transform {
            cmd.args(["--data-transform", t]);
        }
        if !judged.is_empty() {
            let out = cmd.args(&judged).output().expect("check-jsonschema");
            if !out.status.success() {
                failures.push(format!(
                    "{schema}:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        if *kind == "github" && !judged.is_empty() {
            // Only complaints the migration introduced count: actionlint runs on the original
            // and on the result, and a complaint (kind and message, per file) that the original
            // already had is not the migration's.
            let judged_before: Vec<PathBuf> = before
                .iter()
                .filter(|b| !bad_before.contains(b))
                .cloned()
                .collect();
            let lint = |paths: &[PathBuf]| -> BTreeMap<String, Vec<String>> {
                let out = Command::new(v.join("bin/actionlint"))
                    .arg("-oneline")
                    .args(paths)
                    .output()
                    .expect("actionlint");
                let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    let Some((file, complaint)) = actionlint_line(line) else {
                        continue;
                    };
                    m.entry(file).or_default().push(complaint);
                }
                m
            };
            let was = lint(&judged_before);
            let now = lint(&judged);
            for (file, complaints) in &now {
                let mut old = was.get(file).cloned().unwrap_or_default();
                for c in complaints {
                    if let Some(i) = old.iter().position(|o| o == c) {
                        old.remove(i);
                    } else {
                        failures.push(format!("actionlint: {file}: {c} (not in the original)"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn plan_round_trips_and_replays() {
    let dir = root().join("assets/demo");
    let s = Session::open(&dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, Strategy::Auto);
    let file = plan.to_file();
    let json = serde_json::to_string_pretty(&file).expect("json");
    let back: depriv::plan::PlanFile = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, file);
    let mut replay = s.plan(&scan, Strategy::Tls);
    replay.apply_file(&back).expect("matches");
    let a = s.preview(&plan, &scan);
    let b = s.preview(&replay, &scan);
    let texts = |p: &Preview| {
        p.changes
            .iter()
            .map(|c| (c.path.clone(), c.after.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&a), texts(&b));
}

#[test]
fn stale_plan_is_refused_naming_the_findings() {
    let tmp = tempfile::tempdir().expect("tmp");
    copy_dir(&root().join("assets/demo"), tmp.path());
    let s = Session::open(tmp.path()).expect("open");
    let scan = s.scan();
    let file = s.plan(&scan, Strategy::Auto).to_file();
    let compose = tmp.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).expect("read");
    std::fs::write(
        &compose,
        text.replace(
            "privileged: true",
            "privileged: true\n    cap_add: [SYS_ADMIN]",
        ),
    )
    .expect("write");
    let s = Session::open(tmp.path()).expect("open");
    let scan = s.scan();
    let mut plan = s.plan(&scan, Strategy::Auto);
    let err = plan
        .apply_file(&file)
        .expect_err("stale plan must be refused");
    assert!(
        err.to_string().contains("cap-sys-admin@docker-compose.yml"),
        "{err}"
    );
}

#[test]
fn infeasible_strategy_falls_back_with_a_reason() {
    let s = Session::open(&root().join("assets/demo")).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, Strategy::Kaniko);
    let runs = plan
        .pipelines
        .iter()
        .find(|p| {
            p.pipeline
                .docker_usage
                .contains(&depriv::model::DockerUse::Run)
        })
        .expect("a pipeline that runs containers");
    assert_ne!(runs.choice, depriv::plan::Choice::Kaniko);
    assert!(
        runs.why.contains("kaniko is not feasible (runs containers"),
        "{}",
        runs.why
    );
}

/// `(file name, "message [kind]")` of one `actionlint -oneline` line (`path:line:col: message
/// [kind]`); the file name drops the before/after directory so both runs compare.
fn actionlint_line(line: &str) -> Option<(String, String)> {
    let mut parts = line.splitn(4, ':');
    let path = parts.next()?;
    let _line: usize = parts.next()?.trim().parse().ok()?;
    let _col: usize = parts.next()?.trim().parse().ok()?;
    let complaint = parts.next()?.trim().to_string();
    let file = Path::new(path).file_name()?.to_string_lossy().to_string();
    Some((file, complaint))
}

/// The file name a manual-task snippet is scanned as (its surface), if it is a config file.
fn snippet_file(lang: &str, snippet: &str) -> Option<&'static str> {
    match lang {
        "yaml" if snippet.contains("apiVersion:") || snippet.contains("template:") => {
            Some("snippet/manifest.yaml")
        }
        "yaml" if snippet.lines().any(|l| l.starts_with("services:")) => Some("docker-compose.yml"),
        "toml" if snippet.contains("[runners") => Some("config.toml"),
        "json" => Some("daemon.json"),
        "groovy" => Some("Jenkinsfile"),
        _ => None,
    }
}

/// A strategy's name for messages.
struct StrategyName(Strategy);

impl StrategyName {
    fn as_str(&self) -> &'static str {
        match self.0 {
            Strategy::Auto => "auto",
            Strategy::Sysbox => "sysbox",
            Strategy::Rootless => "rootless",
            Strategy::Kaniko => "kaniko",
            Strategy::Buildkit => "buildkit",
            Strategy::Tls => "tls",
        }
    }
}

/// Active findings per (path, rule).
fn active_counts(r: &depriv::scan::ScanResult) -> BTreeMap<(String, &'static str), usize> {
    let mut m = BTreeMap::new();
    for f in r.findings.iter().filter(|f| !f.suppressed) {
        *m.entry((f.path.clone(), f.rule)).or_insert(0) += 1;
    }
    m
}

#[test]
fn depriv_never_flags_what_it_writes() {
    // Every target on every fixture and the demo: what depriv writes must not raise a finding
    // the input did not have (the engine would otherwise drop the edits and say so), and the
    // output re-scanned on its own must have no more findings per file and rule than before.
    let mut failures = Vec::new();
    for (name, dir) in repos() {
        let before = Session::open(&dir).expect("open").scan();
        let before_counts = active_counts(&before);
        let strategies = std::iter::once(Strategy::Auto)
            .chain(depriv::plan::ALL_TARGETS.into_iter().map(strategy_of));
        for strategy in strategies {
            let t = StrategyName(strategy);
            let preview = run(&dir, strategy);
            for r in &preview.results {
                for n in &r.notes {
                    if n.contains("re-scan still finds") {
                        failures.push(format!(
                            "{name} --strategy {}: {} {}: {n}",
                            t.as_str(),
                            r.path,
                            r.pipeline
                        ));
                    }
                }
            }
            // Snippets the report asks a person to apply are written by depriv too.
            for r in &preview.results {
                let had: Vec<&str> = before
                    .findings
                    .iter()
                    .filter(|f| !f.suppressed)
                    .filter(|f| {
                        f.pipeline_path.as_deref().unwrap_or(&f.path) == r.path
                            && f.pipeline.as_deref().unwrap_or("(global)") == r.pipeline
                    })
                    .map(|f| f.rule)
                    .collect();
                for m in &r.manual {
                    let Some(file) = snippet_file(&m.lang, &m.snippet) else {
                        continue;
                    };
                    let s = crate::support::scan_files(&[(file, &m.snippet)]);
                    for f in s.findings.iter().filter(|f| !f.suppressed) {
                        if !had.contains(&f.rule) {
                            failures.push(format!(
                                "{name} --strategy {}: {} {}: the snippet of `{}` raises {} at line {}",
                                t.as_str(),
                                r.path,
                                r.pipeline,
                                m.title,
                                f.rule,
                                f.line
                            ));
                        }
                    }
                }
            }
            let tmp = tempfile::tempdir().expect("tmp");
            copy_dir(&dir, tmp.path());
            for c in &preview.changes {
                std::fs::write(tmp.path().join(&c.path), &c.after).expect("write");
            }
            let after = Session::open(tmp.path()).expect("open").scan();
            for ((path, rule), n) in active_counts(&after) {
                let was = before_counts
                    .get(&(path.clone(), rule))
                    .copied()
                    .unwrap_or(0);
                if n > was {
                    failures.push(format!(
                        "{name} --strategy {}: {path}: {n} × {rule} after, {was} before",
                        t.as_str()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn actionlint_complaints_compare_across_before_and_after() {
    let a = actionlint_line("/tmp/x/before/f.yml:4:28: label \"gpu\" is unknown [runner-label]");
    let b = actionlint_line("/tmp/x/after/f.yml:9:2: label \"gpu\" is unknown [runner-label]");
    assert_eq!(a, b);
    assert_eq!(
        a.map(|(f, _)| f).as_deref(),
        Some("f.yml"),
        "the directory is not part of the key"
    );
    assert_eq!(actionlint_line("no colon here"), None);
}

/// Containers privileged for their workload (KVM, FUSE, loop devices, binfmt, bubblewrap,
/// systemd) get advice per reason, never a Docker target: KVM gets `/dev/kvm` instead of
/// privileged, systemd moves to sysbox, both through the harness's checks and the platform's
/// validators; the others stay manual with the reason and its upstream page.
#[test]
fn workload_privilege_gets_advice_not_docker_targets() {
    let dir = root().join("tests/fixtures/rules/privileged-container");
    let cases = [
        (
            "bad-workload-flatpak-github",
            "manual",
            "nested user namespaces",
        ),
        ("bad-workload-kvm-compose", "device", "/dev/kvm is enough"),
        ("bad-workload-kvm-github", "device", "/dev/kvm is enough"),
        ("bad-workload-kvm-jenkins", "device", "/dev/kvm is enough"),
        ("bad-workload-kvm-kubernetes", "manual", "device plugin"),
        ("bad-workload-systemd-compose", "sysbox", "systemd.md"),
        ("bad-workload-fuse-shell", "manual", "CAP_SYS_ADMIN"),
        (
            "bad-workload-disk-image-makefile",
            "manual",
            "sysbox/issues/729",
        ),
        ("bad-workload-binfmt-shell", "manual", "once on the host"),
    ];
    for (case, choice, reason) in cases {
        let path = dir.join(case);
        let c = check(&path, Strategy::Auto, case);
        let preview = run(&path, Strategy::Auto);
        assert!(!preview.results.is_empty(), "{case}: no pipeline");
        let mut snap = c.snapshot.clone();
        for r in &preview.results {
            assert_eq!(r.choice.as_str(), choice, "{case}: {}", r.why);
            assert!(r.why.contains(reason), "{case}: {}", r.why);
            assert!(r.why.contains("https://"), "{case}: {}", r.why);
            for word in ["rootless", "dind", "kaniko", "BuildKit", "TLS"] {
                assert!(!r.why.contains(word), "{case}: {word} in {}", r.why);
            }
            snap.push_str(&format!("why: {}\n", r.why));
            for m in &r.manual {
                snap.push_str(&format!(
                    "manual: {} ({})\n{}",
                    m.title, m.location, m.snippet
                ));
            }
        }
        if choice == "manual" {
            assert!(c.changed.is_empty(), "{case}: a manual pipeline is written");
        } else {
            assert!(!c.changed.is_empty(), "{case}: nothing migrated");
            for (p, _, text) in &c.changed {
                assert!(
                    !text.contains("privileged: true") && !text.contains("--privileged"),
                    "{case}: {p}"
                );
                if choice == "device" {
                    assert!(text.contains("/dev/kvm"), "{case}: {p}");
                }
                validate(case, p, text);
            }
        }
        // Forcing a Docker target is refused with the workload's reason.
        let forced = run(&path, Strategy::Rootless);
        for r in &forced.results {
            assert_ne!(r.choice.as_str(), "rootless", "{case}");
            assert!(
                r.why.contains("--strategy rootless is not feasible"),
                "{case}: {}",
                r.why
            );
        }
        insta::with_settings!({ snapshot_suffix => case, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("workload", snap);
        });
    }
}

/// The platform's validators on one rewritten file (schema; actionlint for workflows).
fn validate(case: &str, path: &str, text: &str) {
    let Some(v) = validators() else { return };
    let schema = match depriv::discover::classify(path) {
        Some(depriv::discover::Kind::GithubWorkflow) => "vendor.github-workflows",
        Some(depriv::discover::Kind::Compose) => "vendor.compose-spec",
        _ => return,
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("after.yml");
    std::fs::write(&file, text).expect("write");
    let out = Command::new(v.join("bin/check-jsonschema"))
        .args(["--builtin-schema", schema])
        .arg(&file)
        .output()
        .expect("check-jsonschema");
    assert!(
        out.status.success(),
        "{case}: {path} fails {schema}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    if schema == "vendor.github-workflows" {
        let out = Command::new(v.join("bin/actionlint"))
            .arg("-oneline")
            .arg(&file)
            .output()
            .expect("actionlint");
        assert!(
            out.status.success(),
            "{case}: actionlint on {path}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
