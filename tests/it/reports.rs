//! Migration reports: every format snapshot-tested on the demo repository before migration and
//! after one (read back from the journal), JSON checked against its schema, SARIF against the
//! SARIF Multitool's GitHub rules, the HTML page rendered in headless Chromium; the target
//! guides in `docs/targets/` kept equal to what the templates render; `migrate --report`,
//! `depriv report`, baselines, completions, the man page and the CI examples in `docs/ci.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use depriv::migrate::{Preview, Strategy};
use depriv::plan::ALL_TARGETS;
use depriv::report::guide;
use depriv::report::migration::{self, Mode, Options, Report, ReportFormat};
use depriv::session::Session;
use depriv::templates::Templates;
use depriv::write::{self, Replacement};
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;

use crate::support::{chromium, root, validators, write_tree};

fn depriv() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("depriv").expect("binary");
    c.env_remove("NO_COLOR").env("CI", "");
    c
}

/// The demo repository as the tests see it (relative, so reports name `assets/demo`).
fn demo_dir() -> PathBuf {
    let rel = PathBuf::from("assets/demo");
    assert!(
        rel.is_dir(),
        "integration tests run from the crate root ({})",
        root().display()
    );
    rel
}

fn demo_assessment() -> Report {
    let s = Session::open(&demo_dir()).expect("open demo");
    migration::assess(&s, &Options::default()).expect("assess")
}

fn copy_dir(from: &Path, to: &Path) {
    let mut stack = vec![from.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(from).expect("prefix");
            if p.is_dir() {
                std::fs::create_dir_all(to.join(rel)).expect("mkdir");
                stack.push(p);
            } else {
                if let Some(parent) = to.join(rel).parent() {
                    std::fs::create_dir_all(parent).expect("mkdir");
                }
                std::fs::copy(&p, to.join(rel)).expect("copy");
            }
        }
    }
}

/// A copy of the demo repository (with a `.git` directory, so the journal lives there)
/// migrated with `strategy`; returns the temp dir, the repository and what was written.
fn migrated_demo(strategy: Strategy) -> (tempfile::TempDir, PathBuf, Preview) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    copy_dir(&demo_dir(), &dir);
    std::fs::create_dir_all(dir.join(".git")).expect("git dir");
    let s = Session::open(&dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, strategy);
    let preview = s.preview(&plan, &scan);
    let files: Vec<Replacement> = preview
        .changes
        .iter()
        .map(|c| Replacement {
            path: c.path.clone(),
            before: c.before.as_bytes().to_vec(),
            after: c.after.as_bytes().to_vec(),
        })
        .collect();
    write::write_all(&dir, &files, &write::NoFaults).expect("write");
    (tmp, dir, preview)
}

fn report_of(dir: &Path, opts: &Options) -> Report {
    let s = Session::open(dir).expect("open");
    migration::for_repository(&s, &Templates::builtin(), opts).expect("report")
}

/// Replace a temporary root in a rendered report so snapshots are stable.
fn stable(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "<demo>")
}

#[test]
fn demo_reports_before_migration() {
    let r = demo_assessment();
    assert_eq!(r.mode, Mode::Assessment);
    assert!(!r.written);
    assert_eq!(r.root, "assets/demo");
    assert!(r.summary.pipelines > 5);
    assert_eq!(r.strategies.len(), 5);
    assert!(!r.troubleshooting.is_empty());
    insta::assert_snapshot!("report_demo_md", ReportFormat::Md.render(&r));
    insta::assert_snapshot!("report_demo_json", ReportFormat::Json.render(&r));
    insta::assert_snapshot!("report_demo_sarif", ReportFormat::Sarif.render(&r));
    insta::assert_snapshot!("report_demo_html", ReportFormat::Html.render(&r));
}

#[test]
fn report_after_migration_reads_the_journal() {
    let (_tmp, dir, preview) = migrated_demo(Strategy::Auto);
    let r = report_of(&dir, &Options::default());
    if preview.changes.is_empty() {
        // Nothing written, no journal: the report is an assessment.
        assert_eq!(r.mode, Mode::Assessment);
        return;
    }
    assert_eq!(r.mode, Mode::Migration);
    assert!(r.written);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert_eq!(r.files.len(), preview.changes.len());
    for (f, c) in r.files.iter().zip(&preview.changes) {
        assert_eq!(f.path, c.path);
        assert_eq!(f.sha256_before, write::sha256(c.before.as_bytes()));
        assert_eq!(f.sha256_after, write::sha256(c.after.as_bytes()));
        assert!(f.written && !f.edited_since);
        assert_eq!((f.added, f.removed), (c.added, c.removed));
    }
    assert_eq!(r.pipelines.len(), preview.results.len());
    for (p, res) in r.pipelines.iter().zip(&preview.results) {
        assert_eq!(
            (p.name.as_str(), p.status),
            (res.pipeline.as_str(), res.status)
        );
        assert_eq!(p.findings_addressed, res.addressed, "{}", p.name);
    }
    assert_eq!(r.summary.findings_remaining, preview.remaining.len());
    for f in [
        ReportFormat::Md,
        ReportFormat::Json,
        ReportFormat::Sarif,
        ReportFormat::Html,
    ] {
        let name = format!("report_demo_after_{f:?}").to_lowercase();
        insta::assert_snapshot!(name, stable(&f.render(&r), &dir));
    }
    // --assessment looks at the repository as it is now.
    let a = report_of(
        &dir,
        &Options {
            assessment_only: true,
            ..Options::default()
        },
    );
    assert_eq!(a.mode, Mode::Assessment);
    // A file edited since the migration is flagged.
    let first = dir.join(&r.files[0].path);
    let written = std::fs::read(&first).expect("read");
    let mut edited = written.clone();
    edited.extend_from_slice(b"\n");
    std::fs::write(&first, &edited).expect("edit");
    let e = report_of(&dir, &Options::default());
    assert_eq!(e.mode, Mode::Migration);
    assert!(e.files[0].edited_since);
    assert!(
        e.notes.iter().any(|n| n.contains("changed since")),
        "{:?}",
        e.notes
    );
    // After undo the report is an assessment again.
    std::fs::write(&first, &written).expect("restore");
    write::undo(&dir).expect("undo");
    assert_eq!(report_of(&dir, &Options::default()).mode, Mode::Assessment);
}

#[test]
fn report_after_a_forced_strategy_replays_with_that_strategy() {
    let (_tmp, dir, forced) = migrated_demo(Strategy::Rootless);
    if forced.changes.is_empty() {
        return;
    }
    let (_tmp2, _dir2, auto) = migrated_demo(Strategy::Auto);
    let same = auto.changes.len() == forced.changes.len()
        && auto
            .changes
            .iter()
            .zip(&forced.changes)
            .all(|(a, b)| a.path == b.path && a.after == b.after);
    let r = report_of(&dir, &Options::default());
    assert_eq!(r.mode, Mode::Migration);
    if !same {
        assert!(
            r.notes.iter().any(|n| n.contains("differs from a replay")),
            "{:?}",
            r.notes
        );
        // Statuses then come from the findings before and now.
        for p in &r.pipelines {
            let addressed = p.findings.iter().filter(|f| f.addressed).count();
            assert_eq!(addressed, p.findings_addressed, "{}", p.name);
        }
    }
    let exact = report_of(
        &dir,
        &Options {
            strategy: Strategy::Rootless,
            ..Options::default()
        },
    );
    assert!(exact.notes.is_empty(), "{:?}", exact.notes);
    for (p, res) in exact.pipelines.iter().zip(&forced.results) {
        assert_eq!(p.status, res.status, "{}", p.name);
    }
}

fn resolve<'a>(schema: &'a Value, root_schema: &'a Value) -> &'a Value {
    let mut cur = schema;
    for _ in 0..16 {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/$defs/");
                cur = &root_schema["$defs"][name];
            }
            None => break,
        }
    }
    cur
}

/// Keys of `v` that the schema does not declare (the schema allows additions for readers, so
/// this test keeps it complete for writers).
fn undeclared(v: &Value, schema: &Value, root_schema: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(schema, root_schema);
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let mut best: Option<Vec<String>> = None;
        for alt in any {
            let mut o = Vec::new();
            undeclared(v, alt, root_schema, at, &mut o);
            if best.as_ref().is_none_or(|b| o.len() < b.len()) {
                best = Some(o);
            }
        }
        out.extend(best.unwrap_or_default());
        return;
    }
    match v {
        Value::Object(m) => {
            let props = schema.get("properties");
            let extra = schema.get("additionalProperties");
            for (k, val) in m {
                match props.and_then(|p| p.get(k)).or(extra) {
                    Some(s) => undeclared(val, s, root_schema, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, x) in a.iter().enumerate() {
                    undeclared(x, items, root_schema, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn check_jsonschema(dir: &Path, schema: &str, files: &[PathBuf]) {
    let out = Command::new(dir.join("bin/check-jsonschema"))
        .arg("--schemafile")
        .arg(root().join(schema))
        .args(files)
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "check-jsonschema {schema}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_reports_match_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/schema/report-v1.schema.json"))
            .expect("schema"),
    )
    .expect("schema is JSON");
    let empty = tempfile::tempdir().expect("tmp");
    let (_tmp, after_dir, _) = migrated_demo(Strategy::Auto);
    let (_tmp2, forced_dir, _) = migrated_demo(Strategy::Tls);
    let reports = vec![
        ("demo", demo_assessment()),
        ("empty", report_of(empty.path(), &Options::default())),
        ("after", report_of(&after_dir, &Options::default())),
        ("forced", report_of(&forced_dir, &Options::default())),
    ];
    let out = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for (name, r) in &reports {
        let text = ReportFormat::Json.render(r);
        let v: Value = serde_json::from_str(&text).expect("report is JSON");
        let mut missing = Vec::new();
        undeclared(&v, &schema, &schema, "$", &mut missing);
        assert!(missing.is_empty(), "{name}: not in the schema: {missing:?}");
        assert_eq!(v["version"], 1);
        let f = out.path().join(format!("{name}.json"));
        std::fs::write(&f, text).expect("write");
        files.push(f);
    }
    if let Some(dir) = validators() {
        check_jsonschema(&dir, "assets/schema/report-v1.schema.json", &files);
    }
}

fn validate_sarif(dir: &Path, file: &Path) {
    let out = Command::new("bash")
        .arg(root().join("scripts/validate-sarif.sh"))
        .arg(file)
        .env("DEPRIV_VALIDATORS", dir)
        .output()
        .expect("run validate-sarif.sh");
    assert!(
        out.status.success(),
        "SARIF validation of {} failed:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sarif_reports_carry_fixes_and_pass_the_multitool() {
    let before = demo_assessment();
    let (_tmp, after_dir, written) = migrated_demo(Strategy::Auto);
    let after = report_of(&after_dir, &Options::default());
    let out = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for (name, r) in [("before", &before), ("after", &after)] {
        let text = ReportFormat::Sarif.render(r);
        let v: Value = serde_json::from_str(&text).expect("SARIF is JSON");
        let results = v["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), r.summary.findings_before, "{name}");
        for res in results {
            assert!(res["partialFingerprints"]["deprivFingerprint/v1"].is_string());
            let addressed = res["properties"]["addressed"] == true;
            if res.get("fixes").is_some() {
                assert!(addressed, "{name}: a fix on an unaddressed result");
                let change = &res["fixes"][0]["artifactChanges"][0];
                assert!(change["replacements"][0]["deletedRegion"]["startLine"].is_u64());
            }
        }
        if !written.changes.is_empty() {
            assert!(
                results.iter().any(|x| x.get("fixes").is_some()),
                "{name}: the migration changes files but no result has a fix"
            );
        }
        let rules = v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .expect("rules");
        assert!(
            rules.iter().all(|x| x["help"]["text"].is_string()
                && x["properties"]["security-severity"].is_string())
        );
        let f = out.path().join(format!("{name}.sarif"));
        std::fs::write(&f, text).expect("write");
        files.push(f);
    }
    if let Some(dir) = validators() {
        for f in &files {
            validate_sarif(&dir, f);
        }
    }
}

#[test]
fn html_report_is_self_contained_and_renders_in_chromium() {
    let r = demo_assessment();
    let html = ReportFormat::Html.render(&r);
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
    for (i, _) in html.match_indices("href=\"") {
        assert!(
            html[i + 6..].starts_with('#'),
            "external reference at {i}: {}",
            &html[i..(i + 60).min(html.len())]
        );
    }
    assert_eq!(
        html.matches("<details").count(),
        html.matches("</details>").count()
    );
    assert!(html.contains("<details id=\"pipeline-1\">"));
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "chromium is not installed (bash .ci/run installs it)"
        );
        eprintln!("skipped: chromium is not installed; the HTML rendering check did not run");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let page = tmp.path().join("report.html");
    let shot = tmp.path().join("report.png");
    std::fs::write(&page, &html).expect("write");
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2400",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within 120 s");
            }
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    let out = child.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&out.stderr);
    for bad in ["Uncaught", "ERROR:CONSOLE"] {
        assert!(!log.contains(bad), "console error in the page:\n{log}");
    }
    let png = std::fs::read(&shot).unwrap_or_default();
    assert!(
        png.len() > 10_000 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "no screenshot ({} bytes):\n{log}",
        png.len()
    );
}

#[test]
fn guides_in_docs_match_what_the_templates_render() {
    let update = std::env::var_os("DEPRIV_UPDATE_DOCS").is_some_and(|v| v == "1");
    let templates = Templates::builtin();
    let mut stale = Vec::new();
    for t in ALL_TARGETS {
        let path = root().join(format!("docs/targets/{}.md", t.as_str()));
        let want = guide::render(t, &templates);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if update {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, &want).expect("write guide");
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "these guides differ from what the templates render: {stale:?}\n  help: regenerate with `DEPRIV_UPDATE_DOCS=1 cargo test guides` and review the diff"
    );
}

#[test]
fn explain_falls_back_to_target_guides() {
    let out = depriv()
        .args(["explain", "buildkit"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out),
        guide::render(depriv::plan::Target::Buildkit, &Templates::builtin())
    );
    depriv()
        .args(["explain", "TLS-daemon"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("# Restricted TLS Docker daemon"));
    depriv()
        .args(["explain", "privileged-dind"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("privileged"));
    depriv()
        .args(["explain", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("known targets are sysbox"));
}

const BAD_CI: &[u8] = b"build:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  script:\n    - docker build -t app .\n    - docker push app\n";

#[test]
fn migrate_report_writes_every_format() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", BAD_CI)]);
    let out = tempfile::tempdir().expect("tmp");
    for ext in ["md", "json", "sarif", "html"] {
        let file = out.path().join(format!("r.{ext}"));
        let code = depriv()
            .args(["migrate", "--dry-run", "--allow-no-vcs", "--report"])
            .arg(&file)
            .arg(dir.path())
            .output()
            .expect("run")
            .status
            .code();
        // 3: migrated, with the runner change left as a manual task.
        assert!(matches!(code, Some(0 | 1 | 3)), "{ext}: exit {code:?}");
        let text = std::fs::read_to_string(&file).expect("report written");
        match ext {
            "md" => assert!(text.starts_with("# depriv assessment"), "{text}"),
            "json" => {
                let v: Value = serde_json::from_str(&text).expect("json");
                assert_eq!(v["kind"], "depriv-report");
                assert_eq!(v["written"], false);
            }
            "sarif" => {
                let v: Value = serde_json::from_str(&text).expect("sarif");
                assert_eq!(v["version"], "2.1.0");
            }
            _ => assert!(text.starts_with("<!DOCTYPE html>")),
        }
    }
    depriv()
        .args(["migrate", "--dry-run", "--allow-no-vcs", "--report"])
        .arg(out.path().join("r.txt"))
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("r.txt"));
}

#[test]
fn report_command_formats_and_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    write_tree(dir.path(), &[(".gitlab-ci.yml", BAD_CI)]);
    depriv()
        .arg("report")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicates::str::starts_with("# depriv assessment"));
    let out = tempfile::tempdir().expect("tmp");
    let json = out.path().join("r.json");
    depriv()
        .arg("report")
        .arg(dir.path())
        .arg("-o")
        .arg(&json)
        .assert()
        .code(0);
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read")).expect("json");
    assert_eq!(v["mode"], "assessment");
    let sarif = depriv()
        .args(["report", "--format", "sarif"])
        .arg(dir.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&sarif).expect("sarif");
    assert_eq!(v["version"], "2.1.0");
    let bad = out.path().join("bad.json");
    std::fs::write(&bad, "{\"version\":1,").expect("write");
    depriv()
        .arg("report")
        .arg(dir.path())
        .arg("--plan")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid plan"));
    let stale = out.path().join("stale.json");
    std::fs::write(
        &stale,
        "{\"version\":1,\"environment\":{},\"decisions\":[]}",
    )
    .expect("w");
    depriv()
        .arg("report")
        .arg(dir.path())
        .arg("--plan")
        .arg(&stale)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does not match"));
    depriv()
        .args(["report", "--format", "pdf"])
        .arg(dir.path())
        .assert()
        .code(2);
    depriv()
        .arg("report")
        .arg(dir.path().join("missing"))
        .assert()
        .code(2);
    // Unparsable input: the report is still written, the exit code says so.
    let broken = tempfile::tempdir().expect("tmp");
    write_tree(
        broken.path(),
        &[(".gitlab-ci.yml", b"build:\n  image: \"docker:29-cli\n")],
    );
    let md = out.path().join("broken.md");
    depriv()
        .arg("report")
        .arg(broken.path())
        .arg("-o")
        .arg(&md)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(".gitlab-ci.yml"));
    let text = std::fs::read_to_string(&md).expect("report written");
    assert!(text.contains("could not be scanned"), "{text}");
}

#[test]
fn baseline_lets_only_new_findings_fail() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = "services:\n  app:\n    image: alpine:3\n    privileged: true\n";
    write_tree(dir.path(), &[("docker-compose.yml", base.as_bytes())]);
    let out = tempfile::tempdir().expect("tmp");
    let b = out.path().join("baseline.json");
    depriv()
        .args(["scan", "--fail-on", "never", "--write-baseline"])
        .arg(&b)
        .arg(dir.path())
        .assert()
        .code(0);
    let scan = |extra: &[&str]| {
        let mut c = depriv();
        c.arg("scan").arg("--baseline").arg(&b);
        c.args(extra).arg(dir.path());
        c
    };
    // Known findings are shown but do not fail; --new-only hides them.
    scan(&[])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("privileged-container"));
    scan(&["--new-only"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("privileged-container").not());
    // Moving lines keeps them known.
    let moved = format!("# compose file\n\n{base}");
    write_tree(dir.path(), &[("docker-compose.yml", moved.as_bytes())]);
    scan(&[]).assert().code(0);
    // A new finding fails and is the only one --new-only shows.
    let grown = format!(
        "{moved}  ci:\n    image: docker:29-cli\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n"
    );
    write_tree(dir.path(), &[("docker-compose.yml", grown.as_bytes())]);
    scan(&[]).assert().code(1);
    let json = scan(&["--new-only", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&json).expect("json");
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, vec!["docker-socket-mount"]);
    // --new-only needs --baseline; a broken baseline is an input error.
    depriv()
        .args(["scan", "--new-only"])
        .arg(dir.path())
        .assert()
        .code(2);
    let broken = out.path().join("broken.json");
    std::fs::write(&broken, "[").expect("write");
    depriv()
        .arg("scan")
        .arg("--baseline")
        .arg(&broken)
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid baseline"));
    if let Some(v) = validators() {
        check_jsonschema(&v, "assets/schema/baseline-v1.schema.json", &[b]);
    }
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        depriv()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicates::str::contains("report").and(predicates::str::contains("new-only")));
    }
    depriv().args(["completions", "tcsh"]).assert().code(2);
    depriv()
        .arg("manpage")
        .assert()
        .code(0)
        .stdout(predicates::str::starts_with(".ie").or(predicates::str::contains(".TH depriv")));
    let dir = tempfile::tempdir().expect("tmp");
    depriv()
        .args(["manpage", "--dir"])
        .arg(dir.path().join("man1"))
        .assert()
        .code(0);
    for page in [
        "depriv.1",
        "depriv-report.1",
        "depriv-scan.1",
        "depriv-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join("man1").join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or empty");
    }
}

/// The YAML blocks of `docs/ci.md` marked `<!-- validate: KIND -->`.
fn marked_blocks(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(l) = lines.next() {
        let Some(kind) = l
            .trim()
            .strip_prefix("<!-- validate: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut body = String::new();
        let mut inside = false;
        for l in lines.by_ref() {
            if !inside {
                inside = l.starts_with("```");
                continue;
            }
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        out.push((kind.to_string(), body));
    }
    out
}

#[test]
fn ci_examples_and_pre_commit_hooks_validate() {
    let doc = std::fs::read_to_string(root().join("docs/ci.md")).expect("docs/ci.md");
    let blocks = marked_blocks(&doc);
    let kinds: Vec<&str> = blocks.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, vec!["github", "gitlab"]);
    for (_, body) in &blocks {
        assert!(body.contains("depriv scan") && body.contains("--format sarif"));
    }
    let hooks = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks");
    assert!(hooks.contains("- id: depriv\n") && hooks.contains("entry: depriv scan"));
    let Some(dir) = validators() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    for (kind, body) in &blocks {
        match kind.as_str() {
            "github" => {
                let f = tmp.path().join(".github/workflows/depriv.yml");
                std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
                std::fs::write(&f, body).expect("write");
                let out = Command::new(dir.join("bin/actionlint"))
                    .arg(&f)
                    .output()
                    .expect("actionlint");
                assert!(
                    out.status.success(),
                    "actionlint:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            _ => {
                let f = tmp.path().join(".gitlab-ci.yml");
                std::fs::write(&f, body).expect("write");
                let out = Command::new(dir.join("bin/check-jsonschema"))
                    .args(["--builtin-schema", "vendor.gitlab-ci"])
                    .arg(&f)
                    .output()
                    .expect("check-jsonschema");
                assert!(
                    out.status.success(),
                    "gitlab-ci schema:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    // The hooks file is YAML with the fields pre-commit requires and a valid `files` regex.
    let check = "import re, sys\nfrom ruamel.yaml import YAML\nhooks = YAML(typ='safe').load(open(sys.argv[1]))\nassert isinstance(hooks, list) and hooks\nfor h in hooks:\n    for k in ('id', 'name', 'entry', 'language'):\n        assert isinstance(h.get(k), str) and h[k], (h, k)\n    re.compile(h.get('files', ''))\nprint(len(hooks))\n";
    let out = Command::new(dir.join("venv/bin/python"))
        .arg("-c")
        .arg(check)
        .arg(root().join(".pre-commit-hooks.yaml"))
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
