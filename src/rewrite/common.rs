//! Helpers the infrastructure rewriters share (compose, Kubernetes, runner config.toml,
//! daemon.json, Jenkins): pinned versions, host snippets (sysbox install, TLS certificates),
//! target pitfalls, and the bookkeeping of addressed findings and manual tasks.

use serde::Serialize;

use super::{ManualTask, Outcome, Request};
use crate::edit::Edit;
use crate::finding::Finding;
use crate::plan::Target;

/// Server certificate paths written into daemon.json (Docker's protect-access layout).
pub(crate) const TLS_PATHS: [(&str, &str); 3] = [
    ("tlscacert", "/etc/docker/ca.pem"),
    ("tlscert", "/etc/docker/server-cert.pem"),
    ("tlskey", "/etc/docker/server-key.pem"),
];

/// A pinned version from `templates/versions.toml` (an override's keys over the built-in
/// ones, so every key of the built-in file is always there).
pub(crate) fn ver(req: &Request<'_>, key: &str) -> String {
    req.templates
        .versions()
        .0
        .get(key)
        .cloned()
        .unwrap_or_default()
}

/// What a rewriter learnt besides its edits.
#[derive(Debug, Default)]
pub(crate) struct Side {
    /// Manual tasks.
    pub manual: Vec<ManualTask>,
    /// Notes.
    pub notes: Vec<String>,
    /// Fingerprints addressed without an edit over their span (suppressions, keys that switch
    /// the finding off elsewhere).
    pub claimed: Vec<String>,
    /// Fingerprints left on purpose (the target keeps them): reported as notes, not tasks.
    pub kept: Vec<String>,
    /// Fingerprints a manual task already covers (no task of their own).
    pub covered: Vec<String>,
    /// The edits add a container that stays privileged on purpose (a new rootless daemon):
    /// the pipeline is partial however many of its findings they address.
    pub partial: bool,
}

impl Side {
    /// Add a manual task once.
    pub fn task(&mut self, title: impl Into<String>, location: &str, snippet: String, lang: &str) {
        let t = ManualTask {
            title: title.into(),
            location: location.to_string(),
            snippet,
            lang: lang.to_string(),
        };
        if !self
            .manual
            .iter()
            .any(|m| m.title == t.title && m.location == t.location)
        {
            self.manual.push(t);
        }
    }
    /// Add a note once.
    pub fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }
}

/// `path:line` of a finding.
pub(crate) fn loc(f: &Finding) -> String {
    format!("{}:{}", f.path, f.line)
}

/// Render a template; a failure becomes a note and an empty snippet.
pub(crate) fn render<S: Serialize>(
    req: &Request<'_>,
    name: &str,
    ctx: &S,
    side: &mut Side,
) -> String {
    match req.templates.render(name, ctx) {
        Ok(s) => s,
        Err(e) => {
            side.note(format!("template error: {e}"));
            String::new()
        }
    }
}

/// The manual task that installs sysbox on Docker hosts and registers its runtime.
pub(crate) fn sysbox_host_task(req: &Request<'_>, where_: &str, side: &mut Side) {
    let snippet = render(
        req,
        "daemon/sysbox-install.sh",
        &serde_json::json!({ "where": where_ }),
        side,
    );
    side.task(
        "install sysbox and register the sysbox-runc runtime",
        where_,
        snippet,
        "sh",
    );
}

/// The manual task that gives a sysbox runner the tag GitLab jobs moved to sysbox carry:
/// `config.toml` holds no tags, they belong to the runner's registration.
pub(crate) fn sysbox_tag_task(req: &Request<'_>, location: &str, side: &mut Side) {
    let tag = req.env.sysbox_tag();
    side.task(
        format!(
            "give this sysbox runner the tag `{tag}`: the jobs moved to sysbox carry it in their `tags:` and only run on runners that have it (set the tags where the runner is created in GitLab, or `--tag-list` when registering with a registration token; https://docs.gitlab.com/ci/runners/configure_runners/; https://docs.gitlab.com/runner/register/)"
        ),
        location,
        format!("gitlab-runner register --tag-list \"{tag}\"  # with the runner's other options"),
        "sh",
    );
}

/// The manual task that creates TLS certificates for a Docker daemon.
pub(crate) fn tls_certs_task(req: &Request<'_>, host: &str, where_: &str, side: &mut Side) {
    let snippet = render(
        req,
        "daemon/tls-certs.sh",
        &serde_json::json!({ "host": host }),
        side,
    );
    side.task(
        format!("create a CA, a server certificate for {host} and a client certificate"),
        where_,
        snippet,
        "sh",
    );
}

/// Manual tasks for a cluster that must run sysbox.
pub(crate) fn sysbox_cluster_tasks(req: &Request<'_>, what: &str, side: &mut Side) {
    let install = render(
        req,
        "kube/sysbox-install.sh",
        &serde_json::json!({ "what": what }),
        side,
    );
    side.task(
        "install sysbox on the cluster nodes (sysbox-deploy-k8s)",
        "Kubernetes cluster",
        install,
        "sh",
    );
    let rc = render(req, "kube/runtimeclass.yaml", &serde_json::json!({}), side);
    side.task(
        "make sure the sysbox-runc RuntimeClass exists",
        "Kubernetes cluster",
        rc,
        "yaml",
    );
    side.note("hostUsers: false needs user-namespace support (Kubernetes ≥ 1.30 with containerd ≥ 2.0.5); on CRI-O without it use the annotation io.kubernetes.cri-o.userns-mode: \"auto:size=65536\" instead (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-k8s.md; docs/targets/sysbox.md)");
}

/// Pitfalls of a target (from the target registry) as notes.
pub(crate) fn target_notes(target: Target, side: &mut Side) {
    for n in crate::targets::spec(target).notes {
        side.note(*n);
    }
}

/// Fingerprints of the findings an edit replaces or deletes (its range covers the finding's
/// first byte), plus the ones claimed explicitly.
pub(crate) fn addressed(edits: &[Edit], findings: &[&Finding], claimed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        let hit = edits.iter().any(|e| {
            e.path == f.path && e.start < e.end && e.start <= f.span.start && f.span.start < e.end
        });
        if (hit || claimed.contains(&f.fingerprint)) && !out.contains(&f.fingerprint) {
            out.push(f.fingerprint.clone());
        }
    }
    out
}

/// Turn a [`Side`] plus edits into the outcome: addressed findings, a manual task for every
/// finding neither addressed, kept on purpose, nor already named by a task, and the target's
/// pitfalls when anything changed.
pub(crate) fn finish(req: &Request<'_>, edits: Vec<Edit>, mut side: Side) -> Outcome {
    let edits = merge_inserts(edits);
    let addressed: Vec<String> = addressed(&edits, &req.findings, &side.claimed)
        .into_iter()
        .filter(|f| !side.kept.contains(f))
        .collect();
    for f in &req.findings {
        if addressed.contains(&f.fingerprint) {
            continue;
        }
        let at = loc(f);
        if side.kept.contains(&f.fingerprint) {
            if edits.is_empty() {
                side.task(
                    format!(
                        "{}: the {} target keeps it on purpose and the repository already has its other settings; choose sysbox to drop it",
                        f.rule,
                        req.target.as_str()
                    ),
                    &at,
                    String::new(),
                    "",
                );
            } else {
                side.note(format!(
                    "{} at {at} stays: the {} target keeps it on purpose",
                    f.rule,
                    req.target.as_str()
                ));
            }
            continue;
        }
        if side.covered.contains(&f.fingerprint) || side.manual.iter().any(|t| t.location == at) {
            continue;
        }
        side.task(
            format!(
                "{}: not changed by the {} target; {}",
                f.rule,
                req.target.as_str(),
                f.message
            ),
            &at,
            String::new(),
            "",
        );
    }
    if !edits.is_empty() || !side.manual.is_empty() {
        target_notes(req.target, &mut side);
    }
    Outcome {
        edits,
        manual: side.manual,
        notes: side.notes,
        addressed,
        status: side.partial.then_some(super::Status::Partial),
    }
}

/// One insertion per offset: several inserts at the same place become one edit (in their
/// order), so two pipelines that plan the same additions emit byte-identical edits, which the
/// engine collapses.
pub(crate) fn merge_inserts(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by(|a, b| (&a.path, a.start, a.end).cmp(&(&b.path, b.start, b.end)));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        if let Some(last) = out.last_mut()
            && last.path == e.path
            && last.start == last.end
            && e.start == e.end
            && last.start == e.start
        {
            if last.text != e.text {
                last.text.push_str(&e.text);
            }
            continue;
        }
        out.push(e);
    }
    out
}

/// Findings of the request grouped by file, in first-seen order.
pub(crate) fn by_path<'f>(findings: &[&'f Finding]) -> Vec<(String, Vec<&'f Finding>)> {
    let mut out: Vec<(String, Vec<&'f Finding>)> = Vec::new();
    for f in findings {
        match out.iter_mut().find(|(p, _)| *p == f.path) {
            Some((_, v)) => v.push(f),
            None => out.push((f.path.clone(), vec![*f])),
        }
    }
    out
}

/// A string as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted.
pub(crate) fn yaml_scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+".contains(c))
        && !s.starts_with(['-', ':', '@', '.'])
        && !s.contains(": ")
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        && s.parse::<f64>().is_err()
        && !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == ':');
    if plain_ok {
        return s.to_string();
    }
    json_str(s)
}

/// A JSON (and YAML double-quoted) string literal.
pub(crate) fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The smallest `v` in `0..=len` with `f(v) >= target`, for a non-decreasing `f` (`len` when
/// none): maps a file offset back into a string whose offsets map forward through `f`.
pub(crate) fn lower_bound(len: usize, target: usize, f: &dyn Fn(usize) -> usize) -> usize {
    let (mut lo, mut hi) = (0usize, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if f(mid) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The line ending of a text.
pub(crate) fn nl_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Helpers for the rewriters' unit tests: run the real plan → rewrite → verify → apply engine on
/// in-memory files and check idempotence.
#[cfg(test)]
pub(crate) mod testkit {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::config::Config;
    use crate::migrate::{self, Preview, Strategy};
    use crate::rewrite::MemFiles;
    use crate::templates::Templates;

    /// The result of one migration.
    pub struct Run {
        /// Every file after the migration.
        pub files: BTreeMap<String, String>,
        /// The engine's preview.
        pub preview: Preview,
    }

    impl Run {
        /// Per-pipeline statuses.
        pub fn statuses(&self) -> Vec<&'static str> {
            self.preview
                .results
                .iter()
                .map(|r| r.status.as_str())
                .collect()
        }
        /// Titles of every manual task.
        pub fn manual_titles(&self) -> Vec<String> {
            self.preview
                .results
                .iter()
                .flat_map(|r| r.manual.iter().map(|t| t.title.clone()))
                .collect()
        }
        /// Snippets of every manual task.
        pub fn snippets(&self) -> Vec<String> {
            self.preview
                .results
                .iter()
                .flat_map(|r| r.manual.iter().map(|t| t.snippet.clone()))
                .collect()
        }
        /// Every note.
        pub fn notes(&self) -> Vec<String> {
            self.preview
                .results
                .iter()
                .flat_map(|r| r.notes.clone())
                .collect()
        }
    }

    /// Plan, rewrite, verify and apply.
    pub fn migrate(files: &[(&str, &str)], strategy: Strategy) -> Run {
        let config = Config::default();
        let map: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let scan = crate::scan::scan_memory(map.clone(), &config);
        let plan = migrate::plan(&scan, &config.environment, strategy);
        let mem = MemFiles(
            map.iter()
                .map(|(k, v)| (k.clone(), Arc::from(v.as_str())))
                .collect(),
        );
        let templates = Templates::builtin();
        let rescan = |overlay: &BTreeMap<String, String>| {
            let mut m = map.clone();
            m.extend(overlay.clone());
            crate::scan::scan_memory(m, &config)
        };
        let preview = migrate::preview(&plan, &scan, &mem, &templates, &rescan);
        let mut out = map.clone();
        for c in &preview.changes {
            out.insert(c.path.clone(), c.after.clone());
        }
        Run {
            files: out,
            preview,
        }
    }

    /// Every pipeline's edits applied without verification (for diagnosing a dropped rewrite).
    pub fn unverified(files: &[(&str, &str)], strategy: Strategy) -> BTreeMap<String, String> {
        let config = Config::default();
        let map: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let scan = crate::scan::scan_memory(map.clone(), &config);
        let plan = migrate::plan(&scan, &config.environment, strategy);
        let mem = MemFiles(
            map.iter()
                .map(|(k, v)| (k.clone(), Arc::from(v.as_str())))
                .collect(),
        );
        let templates = Templates::builtin();
        let mut edits: Vec<crate::edit::Edit> = Vec::new();
        for p in &plan.pipelines {
            let Some(target) = p.choice.target() else {
                continue;
            };
            let req = crate::rewrite::Request {
                pipeline: &p.pipeline,
                target,
                findings: p.findings.iter().collect(),
                env: &plan.environment,
                templates: &templates,
                files: &mem,
            };
            edits.extend(crate::rewrite::rewrite(&req).edits);
        }
        let mut out = map.clone();
        for (path, text) in &map {
            let mine: Vec<_> = edits.iter().filter(|e| e.path == *path).cloned().collect();
            match crate::edit::apply(text, &mine) {
                Ok(t) => {
                    out.insert(path.clone(), t);
                }
                Err(e) => {
                    out.insert(path.clone(), format!("<<{e}>>"));
                }
            }
        }
        out
    }

    /// [`migrate`], then assert no edits were dropped, the result re-scans without errors, and
    /// a second migration changes nothing.
    pub fn check(files: &[(&str, &str)], strategy: Strategy) -> Run {
        let run = migrate(files, strategy);
        for n in run.notes() {
            assert!(
                !n.contains("edits were dropped") && !n.contains("conflict"),
                "dropped: {n}\n{:#?}",
                unverified(files, strategy)
            );
        }
        let after: Vec<(&str, &str)> = run
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let rescan = crate::scan::scan_memory(run.files.clone(), &Config::default());
        assert!(!rescan.has_errors(), "{:?}", rescan.diagnostics);
        let again = migrate(&after, strategy);
        assert!(
            again.preview.changes.is_empty(),
            "second run changes: {:?}",
            again
                .preview
                .changes
                .iter()
                .map(|c| c.unified_diff())
                .collect::<Vec<_>>()
        );
        run
    }
}
