//! The effective-configuration check of the migration harness: after a rewrite, every GitLab
//! job the plan touched is resolved again (through `include:`, `extends:`, anchors and
//! `!reference`, with the scanner's own resolver) and judged as a reviewer would: a job that
//! keeps a daemon reaches it over TLS with complete settings; a job whose daemon went away
//! neither points `DOCKER_HOST` at it nor calls the Docker CLI; a builder job runs the
//! builder's image, or crane when it only copies images (then no `docker` command is left in
//! its script lines); a job moved to sysbox carries the sysbox runner tag in its effective
//! `tags:` (the default answer, `sysbox`), so it can only run on sysbox runners.

use std::collections::BTreeMap;

use depriv::config::DEFAULT_SYSBOX_TAG;
use depriv::migrate::Preview;
use depriv::model::Role;
use depriv::plan::Target;
use depriv::rewrite::Status;
use depriv::scan::resolve_gitlab;

/// Problems of the effective configurations after a migration (empty: all good).
pub fn problems(after: &BTreeMap<String, String>, preview: &Preview, k8s: bool) -> Vec<String> {
    let jobs = resolve_gitlab(after);
    let mut out = Vec::new();
    for r in &preview.results {
        if r.surface != depriv::finding::Surface::GitlabCi
            || !matches!(r.status, Status::Migrated | Status::Partial)
        {
            continue;
        }
        let Some(target) = r.choice.target() else {
            continue;
        };
        let Some(j) = jobs
            .iter()
            .find(|j| j.path == r.path && j.job.name == r.pipeline)
        else {
            out.push(format!(
                "{} {}: job not found after the rewrite",
                r.path, r.pipeline
            ));
            continue;
        };
        let job = &j.job;
        let name = format!("{} {} ({})", r.path, r.pipeline, target.as_str());
        let env: BTreeMap<&str, &str> = job
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.v.as_str()))
            .collect();
        let daemons: Vec<_> = job
            .containers
            .iter()
            .filter(|c| c.role == Role::Service && c.is_daemon())
            .collect();
        let host = env
            .get("DOCKER_HOST")
            .copied()
            .unwrap_or("")
            .trim()
            .trim_end_matches('/');
        match target {
            Target::Buildkit | Target::Kaniko => {
                if !daemons.is_empty() {
                    out.push(format!("{name}: still starts a Docker daemon service"));
                }
                if host.starts_with("tcp://") {
                    out.push(format!(
                        "{name}: DOCKER_HOST={host} aims at a removed daemon"
                    ));
                }
                if !job.usage.is_empty() {
                    out.push(format!(
                        "{name}: still calls the Docker CLI ({:?}) without a daemon",
                        job.usage
                    ));
                }
                let image = job
                    .containers
                    .iter()
                    .find(|c| c.role == Role::JobImage)
                    .and_then(|c| c.image.as_ref())
                    .map(|i| i.v.to_ascii_lowercase())
                    .unwrap_or_default();
                if image.contains("go-containerregistry/crane") {
                    // A job that only copies images runs crane: no Docker command may be
                    // left in what the shell receives, and no daemon beside it.
                    if r.status == Status::Migrated {
                        for line in &job.script_lines {
                            for c in depriv::source::shell::commands(line) {
                                let first = c.words.first().map_or("", |w| w.text.as_str());
                                if matches!(first.rsplit('/').next(), Some("docker" | "dockerd")) {
                                    out.push(format!(
                                        "{name}: runs crane but still calls `{}`",
                                        line.get(c.span.clone()).unwrap_or(line)
                                    ));
                                }
                            }
                        }
                    }
                    if !job.script_lines.iter().any(|l| l.contains("crane ")) {
                        out.push(format!("{name}: runs crane but never calls it"));
                    }
                    continue;
                }
                let want = if target == Target::Buildkit {
                    "buildkit"
                } else {
                    "kaniko"
                };
                if !image.contains(want) {
                    out.push(format!(
                        "{name}: job image `{image}` is not the {want} image"
                    ));
                }
            }
            Target::Sysbox | Target::Rootless | Target::Tls => {
                if target == Target::Sysbox
                    && r.status == Status::Migrated
                    && !job.tags.iter().any(|t| t == DEFAULT_SYSBOX_TAG)
                {
                    out.push(format!(
                        "{name}: its effective tags {:?} lack the sysbox runner tag `{DEFAULT_SYSBOX_TAG}`: it can still land on any runner",
                        job.tags
                    ));
                }
                if daemons.is_empty() {
                    continue; // a job reaching a remote or in-container daemon
                }
                if env
                    .get("DOCKER_TLS_CERTDIR")
                    .is_some_and(|v| v.trim().is_empty())
                {
                    out.push(format!("{name}: DOCKER_TLS_CERTDIR is empty: TLS is off"));
                }
                if depriv::rules::is_plaintext_tcp(host) {
                    out.push(format!("{name}: DOCKER_HOST={host} is plaintext"));
                }
                if host.starts_with("tcp://") && !host.ends_with(":2376") {
                    out.push(format!("{name}: DOCKER_HOST={host} is not the TLS port"));
                }
                if k8s {
                    for v in ["DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_HOST"] {
                        if !env.contains_key(v) {
                            out.push(format!(
                                "{name}: {v} is missing (the Kubernetes executor does not run the image's entrypoint)"
                            ));
                        }
                    }
                }
                let words: Vec<&str> = daemons
                    .iter()
                    .flat_map(|d| d.command.iter().map(|w| w.v.as_str()))
                    .collect();
                if words.contains(&"--tls=false") {
                    out.push(format!("{name}: the daemon runs with --tls=false"));
                }
            }
        }
    }
    out
}

#[test]
fn a_crane_job_left_with_a_docker_command_or_a_daemon_is_caught() {
    use depriv::migrate::Strategy;
    use depriv::session::Session;
    let dir = crate::support::root().join("tests/fixtures/engine/gitlab-retag");
    let s = Session::open(&dir).expect("open");
    let scan = s.scan();
    let plan = s.plan(&scan, Strategy::Buildkit);
    let preview = s.preview(&plan, &scan);
    let path = ".gitlab-ci.yml";
    let after = preview
        .changes
        .iter()
        .find(|c| c.path == path)
        .map(|c| c.after.clone())
        .expect("the fixture is rewritten");
    let judge =
        |text: String| problems(&BTreeMap::from([(path.to_string(), text)]), &preview, false);
    assert_eq!(judge(after.clone()), Vec::<String>::new());
    let copy =
        "    - crane copy \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" \"$CI_REGISTRY_IMAGE:latest\"\n";
    assert!(after.contains(copy), "{after}");
    // A diagnostics command is no Docker usage: only the crane check sees it.
    let left = judge(after.replacen(copy, &format!("{copy}    - docker --version\n"), 1));
    assert!(
        left.iter()
            .any(|p| p.contains("release") && p.contains("still calls `docker --version`")),
        "{left:?}"
    );
    let daemon = judge(after.replacen(
        "  image: {name: gcr.io/go-containerregistry/crane/debug:v0.21.9, entrypoint: [\"\"]}\n  script:\n",
        "  image: {name: gcr.io/go-containerregistry/crane/debug:v0.21.9, entrypoint: [\"\"]}\n  services: [docker:29-dind]\n  script:\n",
        1,
    ));
    assert!(
        daemon
            .iter()
            .any(|p| p.contains("release") && p.contains("Docker daemon service")),
        "{daemon:?}"
    );
}
