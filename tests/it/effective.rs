//! The effective-configuration check of the migration harness: after a rewrite, every GitLab
//! job the plan touched is resolved again (through `include:`, `extends:`, anchors and
//! `!reference`, with the scanner's own resolver) and judged as a reviewer would: a job that
//! keeps a daemon reaches it over TLS with complete settings; a job whose daemon went away
//! neither points `DOCKER_HOST` at it nor calls the Docker CLI; a builder job runs the
//! builder's image; a job moved to sysbox carries the sysbox runner tag in its effective
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
