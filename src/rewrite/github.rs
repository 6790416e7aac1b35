//! Rewrites for the GitHub Actions surface: one job of a workflow (or the steps of a composite
//! `action.yml`) moved to a de-privileged target with byte edits on the original text.
//!
//! - `buildkit`: the dind service or job container goes, with the `DOCKER_*` variables that only
//!   pointed at it; `docker login/build/tag/push` commands of `run:` steps become
//!   `docker/login-action`, `docker/setup-buildx-action` and `docker/build-push-action` steps
//!   (emulator registration becomes `docker/setup-qemu-action`; other commands of a step stay,
//!   split around the new steps). GitHub-hosted jobs use buildx's default driver
//!   (https://docs.docker.com/build/ci/github-actions/); other jobs get a rootless `buildkitd` started on the runner host for the `remote`
//!   driver (https://docs.docker.com/build/builders/drivers/remote/), started by a `run:` step
//!   because `services.*.command` is not accepted by actionlint, listening with mutual TLS on a
//!   random loopback port. A command with no safe mapping leaves the job alone (a manual
//!   task), except on a GitHub-hosted VM, where the commands stay and use the VM's own Docker.
//! - `kaniko` (GitHub-hosted jobs only: a job container gets the host's socket on self-hosted
//!   runners): the job runs in the kaniko image as its `container:` and the docker commands
//!   become executor runs via [`super::translate`] (https://docs.docker.com/reference/cli/docker/buildx/build/; https://github.com/moby/buildkit#imageregistry) — only for jobs without
//!   JavaScript actions, which cannot run in that image.
//! - `sysbox`: `--privileged` in container/service `options` (and in `docker run` steps) becomes
//!   `--runtime=sysbox-runc`, host-namespace options and service socket mounts go. A job
//!   container keeps the host's socket whatever its `volumes:` say (the runner mounts it into
//!   every job container, actions/runner src/Runner.Worker/Container/ContainerInfo.cs), so its
//!   finding stays and a manual task offers runners under sysbox instead.
//! - `rootless`: the dind service image becomes `v.dind_rootless`, with TLS (still privileged,
//!   https://docs.docker.com/engine/security/rootless/tips/; docs/targets/rootless.md).
//! - `tls`: dind keeps running privileged but listens with TLS on 2376; clients get
//!   `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH` and the client certificates through a per-job
//!   volume (https://hub.docker.com/_/docker; docs/targets/tls.md).
//!
//! Which findings are addressed is decided by re-scanning the edited text: a finding counts
//! only when it is gone (or carries a suppression with a reason).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Serialize;

use super::translate;
use super::yaml_edit::YamlEditor;
use super::{ManualTask, Outcome, Request, Status};
use crate::config::Config;
use crate::edit::{self, Edit};
use crate::finding::Surface;
use crate::model::Hosting;
use crate::plan::Target;
use crate::source::docker_cmd::{self, DockerBuild, DockerLogin, DockerPush, DockerTag};
use crate::source::shell::{self, Command};
use crate::source::text;
use crate::source::yaml::{NodeId, NodeKind, ScalarStyle, Yaml};

/// Templates of this surface: (name under `templates/`, source).
pub use crate::templates::builtin::GITHUB as TEMPLATES;

/// Port the rootless buildkitd listens on (https://docs.docker.com/build/builders/drivers/remote/; docs/targets/buildkit.md).
const BUILDKIT_PORT: &str = "1234";
/// A per-job suffix for names on a shared runner host (containers, volumes, paths).
const JOB_SUFFIX: &str =
    "${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}";
/// The same for a composite action's steps (no `strategy` context there).
const ACTION_SUFFIX: &str = "${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}";
/// Environment variables that only make sense next to a dind daemon.
const DIND_VARS: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_TLS_CERTDIR",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_DRIVER",
];
/// Upper bound on steps, commands and lines looked at (hostile inputs stay cheap).
const MAX_ITEMS: usize = 10_000;

/// Rewrite one GitHub Actions pipeline (a workflow job or a composite action).
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let path = req.pipeline.path.as_str();
    let Some(text) = req.files.text(path) else {
        return with_note(req, format!("{path}: cannot read the file"));
    };
    let Ok(y) = Yaml::parse(&text) else {
        return with_note(req, format!("{path}: the file does not parse as YAML"));
    };
    let Some(cx) = Cx::new(req, path, &text, &y) else {
        return with_note(
            req,
            format!(
                "{path}: job `{}` not found as a block mapping",
                req.pipeline.name
            ),
        );
    };
    let mut w = Work::default();
    match req.target {
        Target::Buildkit => buildkit(&cx, &mut w),
        Target::Kaniko => kaniko(&cx, &mut w),
        Target::Sysbox => sysbox(&cx, &mut w),
        Target::Rootless => rootless(&cx, &mut w),
        Target::Tls => tls(&cx, &mut w),
    }
    cx.finish(w)
}

fn with_note(req: &Request<'_>, note: String) -> Outcome {
    let mut o = super::unsupported(req);
    o.notes.push(note);
    o
}

/// Edits and messages collected while rewriting one job.
#[derive(Default)]
struct Work {
    edits: Vec<Edit>,
    manual: Vec<ManualTask>,
    notes: Vec<String>,
    /// Set when the job cannot be rewritten for the target: every edit is dropped.
    abort: Option<String>,
    /// A template failed to render.
    template_error: bool,
}

impl Work {
    fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        if !self.notes.contains(&s) {
            self.notes.push(s);
        }
    }
    fn task(&mut self, title: &str, location: &str, snippet: &str, lang: &str) {
        let t = ManualTask {
            title: title.to_string(),
            location: location.to_string(),
            snippet: snippet.to_string(),
            lang: lang.to_string(),
        };
        if !self.manual.contains(&t) {
            self.manual.push(t);
        }
    }
    fn abort(&mut self, why: impl Into<String>) {
        if self.abort.is_none() {
            self.abort = Some(why.into());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The job and its parts

/// A service or the job container.
struct Ctr {
    /// Service id (`None` for the job container).
    name: Option<String>,
    /// Entry in its parent map: (map, key, value).
    entry: (NodeId, NodeId, NodeId),
    /// The image, as written.
    image: Option<String>,
    /// Whether it runs a Docker daemon.
    daemon: bool,
}

/// One step of the job.
struct Step {
    item: NodeId,
    /// `run:` (key, value) when the step runs a script.
    run: Option<(NodeId, NodeId)>,
    /// `uses:` value.
    uses: Option<String>,
}

/// Everything about the job being rewritten.
struct Cx<'a> {
    req: &'a Request<'a>,
    path: &'a str,
    text: &'a str,
    y: &'a Yaml,
    ed: YamlEditor<'a>,
    root: NodeId,
    /// The job mapping (`runs` for an action).
    job: NodeId,
    action: bool,
    services_entry: Option<(NodeId, NodeId)>,
    services: Vec<Ctr>,
    container: Option<Ctr>,
    steps_seq: Option<NodeId>,
    steps: Vec<Step>,
}

fn is_action_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "action.yml" || name == "action.yaml"
}

/// `(key, value)` of `key` among the own (written) entries of a mapping.
fn own_get(y: &Yaml, map: NodeId, key: &str) -> Option<(NodeId, NodeId)> {
    y.own_entries(map)?
        .iter()
        .find(|(k, _)| y.str(*k) == Some(key))
        .copied()
}

/// Own entries with string keys.
fn own_entries(y: &Yaml, map: NodeId) -> Vec<(String, NodeId, NodeId)> {
    y.own_entries(map)
        .map(|es| {
            es.iter()
                .take(MAX_ITEMS)
                .filter_map(|(k, v)| y.str(*k).map(|s| (s.to_string(), *k, *v)))
                .collect()
        })
        .unwrap_or_default()
}

fn is_map(y: &Yaml, id: NodeId) -> bool {
    matches!(y.node(id).kind, NodeKind::Map { .. })
}

fn is_block_map(y: &Yaml, id: NodeId) -> bool {
    matches!(y.node(id).kind, NodeKind::Map { flow: false, .. })
}

fn is_block_seq(y: &Yaml, id: NodeId) -> bool {
    matches!(y.node(id).kind, NodeKind::Seq { flow: false, .. })
}

/// A scalar's value (not through aliases: edits must land on written nodes).
fn scalar(y: &Yaml, id: NodeId) -> Option<&str> {
    match &y.node(id).kind {
        NodeKind::Scalar(_) => y.str(id),
        _ => None,
    }
}

fn scalar_style(y: &Yaml, id: NodeId) -> Option<ScalarStyle> {
    match &y.node(id).kind {
        NodeKind::Scalar(s) => Some(s.style),
        _ => None,
    }
}

impl<'a> Cx<'a> {
    fn new(req: &'a Request<'a>, path: &'a str, text: &'a str, y: &'a Yaml) -> Option<Cx<'a>> {
        let action = is_action_path(path);
        let mut found = None;
        for &root in y.documents() {
            if !is_map(y, root) {
                continue;
            }
            if action {
                if let Some((_, runs)) = own_get(y, root, "runs")
                    && is_block_map(y, runs)
                {
                    found = Some((root, runs));
                    break;
                }
            } else if let Some((_, jobs)) = own_get(y, root, "jobs")
                && is_map(y, jobs)
                && let Some((_, job)) = own_get(y, jobs, &req.pipeline.name)
                && is_block_map(y, job)
            {
                found = Some((root, job));
                break;
            }
        }
        let (root, job) = found?;
        let ed = YamlEditor::new(path, text, y);
        let mut cx = Cx {
            req,
            path,
            text,
            y,
            ed,
            root,
            job,
            action,
            services_entry: None,
            services: Vec::new(),
            container: None,
            steps_seq: None,
            steps: Vec::new(),
        };
        if let Some((k, v)) = own_get(y, job, "services") {
            cx.services_entry = Some((k, v));
            if is_map(y, v) {
                for (name, sk, sv) in own_entries(y, v) {
                    let image = if is_map(y, sv) {
                        own_get(y, sv, "image").and_then(|(_, i)| scalar(y, i).map(str::to_string))
                    } else {
                        scalar(y, sv).map(str::to_string)
                    };
                    let daemon = image.as_deref().is_some_and(docker_cmd::is_daemon_image);
                    cx.services.push(Ctr {
                        name: Some(name),
                        entry: (v, sk, sv),
                        image,
                        daemon,
                    });
                }
            }
        }
        if let Some((k, v)) = own_get(y, job, "container") {
            let image = if is_map(y, v) {
                own_get(y, v, "image").and_then(|(_, i)| scalar(y, i).map(str::to_string))
            } else {
                scalar(y, v).map(str::to_string)
            };
            let daemon = image
                .as_deref()
                .is_some_and(|i| i.to_ascii_lowercase().contains("dind"));
            cx.container = Some(Ctr {
                name: None,
                entry: (job, k, v),
                image,
                daemon,
            });
        }
        if let Some((_, s)) = own_get(y, job, "steps")
            && let Some(items) = y.seq(s)
        {
            cx.steps_seq = Some(s);
            for &item in items.iter().take(MAX_ITEMS) {
                let (run, uses) = if is_map(y, item) {
                    (
                        own_get(y, item, "run"),
                        own_get(y, item, "uses")
                            .and_then(|(_, u)| scalar(y, u).map(str::to_string)),
                    )
                } else {
                    (None, None)
                };
                cx.steps.push(Step { item, run, uses });
            }
        }
        Some(cx)
    }

    fn suffix(&self) -> &'static str {
        if self.action {
            ACTION_SUFFIX
        } else {
            JOB_SUFFIX
        }
    }

    fn hosted(&self) -> bool {
        self.req.pipeline.hosting == Hosting::GithubHosted
    }

    fn location(&self) -> String {
        if self.action {
            self.path.to_string()
        } else {
            format!("{} (job `{}`)", self.path, self.req.pipeline.name)
        }
    }

    /// Render a template; a failure is recorded and yields `None`.
    fn render<S: Serialize>(&self, name: &str, ctx: &S, w: &mut Work) -> Option<String> {
        match self.req.templates.render(name, ctx) {
            Ok(s) => Some(s),
            Err(e) => {
                w.note(format!("template error: {e}"));
                w.template_error = true;
                None
            }
        }
    }

    /// Column of the `-` of a block sequence item.
    fn dash_col(&self, item: NodeId) -> Option<usize> {
        let start = self.y.span(item).start;
        let ls = self.ed.line_start(start);
        let before = self.text.get(ls..start)?;
        let dash = before.rfind('-')?;
        let (lead, rest) = before.split_at_checked(dash)?;
        let rest = rest.strip_prefix('-')?;
        if !lead.chars().all(|c| c == ' ') || !rest.chars().all(|c| c == ' ') {
            return None;
        }
        Some(dash)
    }

    /// Column of the first key of a mapping that sits on a sequence item line.
    fn key_col(&self, map: NodeId) -> usize {
        self.ed.column(self.y.span(map).start)
    }

    /// Full lines of a block sequence item (its `-` line through its last line).
    fn item_lines(&self, item: NodeId) -> Range<usize> {
        let start = self.ed.line_start(self.y.span(item).start);
        let end = self.node_end(item);
        start..self.ed.line_end_incl(end.saturating_sub(1).max(start))
    }

    /// End of a node without trailing line breaks.
    fn node_end(&self, id: NodeId) -> usize {
        let mut e = self.y.span(id).end.min(self.text.len());
        while e > 0 && matches!(self.text.as_bytes().get(e - 1), Some(b'\n' | b'\r')) {
            e -= 1;
        }
        e
    }

    /// The written text of a one-line scalar value, else the value as a YAML scalar.
    fn raw_scalar(&self, id: NodeId) -> Option<String> {
        let v = scalar(self.y, id)?;
        let r = self.y.span(id);
        let raw = self.text.get(r.start..self.node_end(id).max(r.start))?;
        if !raw.contains('\n') && !matches!(scalar_style(self.y, id), Some(s) if s.is_block()) {
            Some(raw.to_string())
        } else {
            Some(yaml_scalar(v))
        }
    }

    /// Apply the edits, re-scan and build the outcome.
    fn finish(&self, w: Work) -> Outcome {
        let mut o = Outcome {
            manual: w.manual,
            notes: w.notes,
            ..Outcome::default()
        };
        if w.template_error {
            o.status = Some(Status::Unsupported);
            return o;
        }
        if let Some(why) = w.abort {
            o.notes.push(why);
            if o.manual.is_empty() {
                o.manual = super::unsupported(self.req).manual;
            }
            o.status = Some(Status::Manual);
            return o;
        }
        let edits = prune(w.edits);
        if edits.is_empty() {
            if o.manual.is_empty() {
                o.status = Some(Status::Unsupported);
                o.manual = super::unsupported(self.req).manual;
            }
            return o;
        }
        let after = match edit::apply(self.text, &edits) {
            Ok(a) => a,
            Err(e) => {
                o.notes
                    .push(format!("internal: the edits for this job conflict ({e})"));
                o.status = Some(Status::Unsupported);
                return o;
            }
        };
        let scan = crate::scan::scan_as(
            self.path,
            &after,
            Surface::GithubActions,
            &Config::default(),
        );
        if scan.has_errors() {
            o.notes
                .push("internal: the rewritten file does not parse; nothing was changed".into());
            o.status = Some(Status::Unsupported);
            return o;
        }
        let left: BTreeSet<&str> = scan
            .findings
            .iter()
            .filter(|f| !f.suppressed)
            .map(|f| f.fingerprint.as_str())
            .collect();
        for f in &self.req.findings {
            if f.path == self.path && !left.contains(f.fingerprint.as_str()) {
                o.addressed.push(f.fingerprint.clone());
            }
        }
        for f in &self.req.findings {
            if f.path != self.path {
                o.manual.push(ManualTask {
                    title: format!("{}: {}", f.rule, f.message),
                    location: format!("{}:{}", f.path, f.line),
                    snippet: String::new(),
                    lang: String::new(),
                });
            }
        }
        o.edits = edits;
        o
    }
}

// ---------------------------------------------------------------------------------------------
// Generic YAML edit helpers

/// Drop edits that fall inside text another edit replaces or deletes (a step-level `env`
/// entry of a step that is replaced as a whole).
fn prune(edits: Vec<Edit>) -> Vec<Edit> {
    let spans: Vec<(usize, usize)> = edits
        .iter()
        .filter(|e| e.end > e.start)
        .map(|e| (e.start, e.end))
        .collect();
    edits
        .into_iter()
        .filter(|e| {
            !spans.iter().any(|&(a, b)| {
                if e.start == e.end {
                    a < e.start && e.start < b
                } else {
                    a <= e.start && e.end <= b && (a, b) != (e.start, e.end)
                }
            })
        })
        .collect()
}

/// A value as a YAML scalar: plain when that reads back as the same string, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.chars().any(|c| c.is_control())
        && !matches!(
            lower.as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        && s.parse::<f64>().is_err();
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A list item for templates: inline scalar and raw block line.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
struct Item {
    q: String,
    raw: String,
}

fn items(v: &[String]) -> Vec<Item> {
    v.iter()
        .map(|s| Item {
            q: yaml_scalar(s),
            raw: s.clone(),
        })
        .collect()
}

/// Remove one entry of a mapping. An entry written on a sequence item's `- ` line gives that
/// line to the next entry instead of deleting the dash.
fn remove_entry(cx: &Cx<'_>, map: NodeId, key: NodeId, value: NodeId) -> Edit {
    let kstart = cx.y.span(key).start;
    let ls = cx.ed.line_start(kstart);
    let lead = cx.text.get(ls..kstart).unwrap_or("");
    if !cx.ed.is_flow(map) && lead.contains('-') {
        let next = own_entries(cx.y, map)
            .into_iter()
            .map(|(_, k, _)| cx.y.span(k).start)
            .filter(|s| *s > kstart)
            .min();
        if let Some(n) = next {
            return Edit::delete(cx.path, kstart, n);
        }
    }
    cx.ed.remove_entry(map, key, value)
}

/// Remove some entries of a mapping; when that empties it, remove the mapping's own entry
/// `(parent, key, map)` instead.
fn remove_entries(
    cx: &Cx<'_>,
    owner: (NodeId, NodeId, NodeId),
    doomed: &BTreeSet<NodeId>,
    out: &mut Vec<Edit>,
) {
    let (parent, key, map) = owner;
    let all = own_entries(cx.y, map);
    if all.is_empty() || doomed.is_empty() {
        return;
    }
    if all.iter().all(|(_, k, _)| doomed.contains(k)) {
        out.push(remove_entry(cx, parent, key, map));
        return;
    }
    for (_, k, v) in all {
        if doomed.contains(&k) {
            out.push(remove_entry(cx, map, k, v));
        }
    }
}

/// The `env` mapping of a node: (owner map, key, env map), when it is a written mapping.
fn env_of(cx: &Cx<'_>, owner: NodeId) -> Option<(NodeId, NodeId, NodeId)> {
    let (k, v) = own_get(cx.y, owner, "env")?;
    is_map(cx.y, v).then_some((owner, k, v))
}

/// Every `env` mapping that applies to the job's steps: workflow, job, job container, steps.
fn job_envs(cx: &Cx<'_>) -> Vec<(NodeId, NodeId, NodeId)> {
    let mut out = Vec::new();
    if !cx.action
        && let Some(e) = env_of(cx, cx.root)
    {
        out.push(e);
    }
    if let Some(e) = env_of(cx, cx.job) {
        out.push(e);
    }
    for s in &cx.steps {
        if is_map(cx.y, s.item)
            && let Some(e) = env_of(cx, s.item)
        {
            out.push(e);
        }
    }
    out
}

/// Host part of a `tcp://host:port` address.
fn tcp_host(v: &str) -> Option<&str> {
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    let rest = v.strip_prefix("tcp://")?;
    let hp = rest.split('/').next().unwrap_or("");
    Some(hp.rsplit_once(':').map_or(hp, |(h, _)| h))
}

/// Whether a `DOCKER_HOST` value points at this job's dind (a service or localhost).
fn points_at_dind(cx: &Cx<'_>, v: &str) -> bool {
    let Some(h) = tcp_host(v) else {
        return false;
    };
    matches!(h, "localhost" | "127.0.0.1" | "docker" | "[::1]")
        || cx
            .services
            .iter()
            .any(|s| s.daemon && s.name.as_deref() == Some(h))
}

/// Whether any other job of the workflow starts a Docker daemon (workflow env is shared).
fn other_jobs_use_dind(cx: &Cx<'_>) -> bool {
    let Some((_, jobs)) = own_get(cx.y, cx.root, "jobs") else {
        return false;
    };
    for (name, _, job) in own_entries(cx.y, jobs) {
        if name == cx.req.pipeline.name || !is_map(cx.y, job) {
            continue;
        }
        if let Some((_, svcs)) = own_get(cx.y, job, "services") {
            for (_, _, s) in own_entries(cx.y, svcs) {
                let img = if is_map(cx.y, s) {
                    own_get(cx.y, s, "image").and_then(|(_, i)| cx.y.str(cx.y.resolve(i)))
                } else {
                    cx.y.str(cx.y.resolve(s))
                };
                if img.is_some_and(docker_cmd::is_daemon_image) {
                    return true;
                }
            }
        }
        if let Some((_, c)) = own_get(cx.y, job, "container") {
            let img = if is_map(cx.y, c) {
                own_get(cx.y, c, "image").and_then(|(_, i)| cx.y.str(cx.y.resolve(i)))
            } else {
                cx.y.str(cx.y.resolve(c))
            };
            if img.is_some_and(|i| i.to_ascii_lowercase().contains("dind")) {
                return true;
            }
        }
    }
    false
}

/// Remove the dind client variables (`DOCKER_HOST` pointing at the dind, TLS variables) from
/// the workflow, job and step `env` mappings.
fn remove_dind_env(cx: &Cx<'_>, w: &mut Work) {
    let workflow_env = if cx.action { None } else { env_of(cx, cx.root) };
    for owner in job_envs(cx) {
        let is_workflow = workflow_env.is_some_and(|e| e.1 == owner.1);
        let (_, _, map) = owner;
        let mut doomed = BTreeSet::new();
        let entries = own_entries(cx.y, map);
        let host_ok = entries
            .iter()
            .find(|(n, _, _)| n == "DOCKER_HOST")
            .is_none_or(|(_, _, v)| {
                cx.y.str(cx.y.resolve(*v))
                    .is_some_and(|s| points_at_dind(cx, s))
            });
        if !host_ok {
            // DOCKER_HOST names another daemon: its TLS settings belong to it.
            continue;
        }
        for (n, k, _) in &entries {
            if DIND_VARS.contains(&n.as_str()) {
                doomed.insert(*k);
            }
        }
        if doomed.is_empty() {
            continue;
        }
        if is_workflow && other_jobs_use_dind(cx) {
            w.note(format!(
                "{}: the workflow-level DOCKER_* variables stay because other jobs still start a Docker daemon",
                cx.path
            ));
            continue;
        }
        remove_entries(cx, owner, &doomed, &mut w.edits);
    }
}

/// Remove the dind services (all of `services:` when nothing else is left).
fn remove_dind_services(cx: &Cx<'_>, w: &mut Work) {
    let Some((sk, sv)) = cx.services_entry else {
        return;
    };
    let doomed: BTreeSet<NodeId> = cx
        .services
        .iter()
        .filter(|s| s.daemon)
        .map(|s| s.entry.1)
        .collect();
    remove_entries(cx, (cx.job, sk, sv), &doomed, &mut w.edits);
}

// ---------------------------------------------------------------------------------------------
// Script analysis: which docker commands of the job's `run:` steps map to steps

/// Variables a value may reference, and how they read outside the script.
struct Vars {
    /// Names in the env context (workflow, job, written to `$GITHUB_ENV`).
    context: BTreeSet<String>,
    /// Literal values (step env, removed job container env).
    literal: BTreeMap<String, String>,
    /// Names the script assigns itself.
    assigned: BTreeSet<String>,
}

/// `${{ github.* }}` / `${{ runner.* }}` for the default variables of a job.
fn default_var(name: &str) -> Option<&'static str> {
    Some(match name {
        "GITHUB_SHA" => "${{ github.sha }}",
        "GITHUB_REF" => "${{ github.ref }}",
        "GITHUB_REF_NAME" => "${{ github.ref_name }}",
        "GITHUB_HEAD_REF" => "${{ github.head_ref }}",
        "GITHUB_BASE_REF" => "${{ github.base_ref }}",
        "GITHUB_REPOSITORY" => "${{ github.repository }}",
        "GITHUB_REPOSITORY_OWNER" => "${{ github.repository_owner }}",
        "GITHUB_ACTOR" => "${{ github.actor }}",
        "GITHUB_RUN_ID" => "${{ github.run_id }}",
        "GITHUB_RUN_NUMBER" => "${{ github.run_number }}",
        "GITHUB_RUN_ATTEMPT" => "${{ github.run_attempt }}",
        "GITHUB_WORKSPACE" => "${{ github.workspace }}",
        "GITHUB_SERVER_URL" => "${{ github.server_url }}",
        "GITHUB_EVENT_NAME" => "${{ github.event_name }}",
        "GITHUB_JOB" => "${{ github.job }}",
        "GITHUB_WORKFLOW" => "${{ github.workflow }}",
        "RUNNER_TEMP" => "${{ runner.temp }}",
        "RUNNER_OS" => "${{ runner.os }}",
        "RUNNER_ARCH" => "${{ runner.arch }}",
        _ => return None,
    })
}

impl Vars {
    fn resolve(&self, name: &str) -> Result<String, String> {
        if self.assigned.contains(name) {
            return Err(format!("`${name}` is set by the script itself"));
        }
        if let Some(v) = self.literal.get(name) {
            return Ok(v.clone());
        }
        if self.context.contains(name) {
            return Ok(format!("${{{{ env.{name} }}}}"));
        }
        default_var(name)
            .map(str::to_string)
            .ok_or_else(|| format!("`${name}` is not known outside the script"))
    }

    /// A shell word as an action input: `$X`/`${X}` become expressions, `${{ … }}` stays.
    fn expr(&self, text: &str, raw: &str) -> Result<String, String> {
        if raw.contains('\'') && text.contains('$') {
            return Err(format!("`{raw}` mixes single quotes and `$`"));
        }
        let mut out = String::new();
        let mut rest = text;
        let mut guard = 0usize;
        while !rest.is_empty() {
            guard += 1;
            if guard > 4096 {
                return Err(format!("`{raw}` is too complex"));
            }
            if let Some(after) = rest.strip_prefix("${{") {
                let Some((expr, tail)) = after.split_once("}}") else {
                    return Err(format!("`{raw}` has an unterminated expression"));
                };
                out.push_str("${{");
                out.push_str(expr);
                out.push_str("}}");
                rest = tail;
                continue;
            }
            if let Some(after) = rest.strip_prefix("${") {
                let Some((name, tail)) = after.split_once('}') else {
                    return Err(format!("`{raw}` has an unterminated `${{`"));
                };
                if !is_ident(name) {
                    return Err(format!("`${{{name}}}` is a shell expansion"));
                }
                out.push_str(&self.resolve(name)?);
                rest = tail;
                continue;
            }
            if let Some(after) = rest.strip_prefix('$') {
                let n = after
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map_or(after.len(), |(i, _)| i);
                let (name, tail) = text::split_at(after, n);
                if !is_ident(name) {
                    return Err(format!("`{raw}` uses a shell expansion"));
                }
                out.push_str(&self.resolve(name)?);
                rest = tail;
                continue;
            }
            if rest.starts_with('`') {
                return Err(format!("`{raw}` uses a command substitution"));
            }
            let n = rest.find(['$', '`']).unwrap_or(rest.len());
            // `find` stops at a char boundary; `n == 0` only when rest starts with `$`/`` ` ``.
            let n = n.max(rest.chars().next().map_or(1, char::len_utf8));
            let (lit, tail) = text::split_at(rest, n);
            out.push_str(lit);
            rest = tail;
        }
        Ok(out)
    }
}

impl Vars {
    /// Whether a shell word reads the same in another step (kaniko keeps shell text): no
    /// command substitution, no variable the script or the step's own `env` sets.
    fn portable(&self, text: &str) -> Result<(), String> {
        if text.contains("$(") || text.contains('`') {
            return Err(format!("`{text}` uses a command substitution"));
        }
        let mut rest = text;
        let mut guard = 0usize;
        while let Some(i) = rest.find('$') {
            guard += 1;
            if guard > 4096 {
                return Err(format!("`{text}` is too complex"));
            }
            let after = text::after(rest, i + 1);
            if let Some(x) = after.strip_prefix("{{") {
                rest = x.split_once("}}").map_or("", |(_, tail)| tail);
                continue;
            }
            let after_brace = after.strip_prefix('{').unwrap_or(after);
            let n = after_brace
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                .map_or(after_brace.len(), |(i, _)| i);
            let (name, tail) = text::split_at(after_brace, n);
            if self.assigned.contains(name) || self.literal.contains_key(name) {
                return Err(format!(
                    "`${name}` is set by the script or the step itself and would not reach a new step"
                ));
            }
            rest = tail;
        }
        Ok(())
    }
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A docker command of a script and what becomes of it.
#[derive(Clone, Debug)]
enum Op {
    Login {
        login: DockerLogin,
        /// The password word (from `-p` or the `echo … |` piped into `--password-stdin`).
        password: Option<(String, String)>,
        /// Range removed (the login plus its pipe source).
        span: Range<usize>,
    },
    Build(DockerBuild),
    Tag(DockerTag),
    Push(DockerPush),
    Qemu {
        image: Option<String>,
        platforms: Option<String>,
        span: Range<usize>,
    },
    /// Starting the daemon of a dind job container (and waiting for it).
    Daemon {
        span: Range<usize>,
    },
}

impl Op {
    fn span(&self) -> Range<usize> {
        match self {
            Op::Login { span, .. } | Op::Qemu { span, .. } | Op::Daemon { span } => span.clone(),
            Op::Build(b) => b.span.clone(),
            Op::Tag(t) => t.span.clone(),
            Op::Push(p) => p.span.clone(),
        }
    }
}

/// One `run:` step's script.
struct Script {
    step: usize,
    value: NodeId,
    text: String,
    cmds: Vec<Command>,
    ops: Vec<Op>,
}

fn word_text(c: &Command, i: usize) -> &str {
    c.words.get(i).map_or("", |w| w.text.as_str())
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Index of the docker subcommand word (`build`, `login`, …) after global options.
fn docker_sub(c: &Command) -> Option<usize> {
    if !matches!(basename(word_text(c, 0)), "docker" | "docker.exe") {
        return None;
    }
    let mut i = 1;
    while let Some(w) = c.words.get(i) {
        let t = w.text.as_str();
        if !t.starts_with('-') {
            return Some(i);
        }
        let takes = matches!(
            t,
            "-H" | "--host"
                | "-c"
                | "--context"
                | "--config"
                | "-l"
                | "--log-level"
                | "--tlscacert"
                | "--tlscert"
                | "--tlskey"
        );
        i += if takes { 2 } else { 1 };
    }
    None
}

/// Flags of `docker build` that a build-push step covers, or that change nothing there.
fn build_flag_ok(flag: &str) -> bool {
    matches!(
        flag,
        "-t" | "--tag"
            | "-f"
            | "--file"
            | "--build-arg"
            | "--target"
            | "--platform"
            | "--push"
            | "--load"
            | "--label"
            | "--cache-from"
            | "--cache-to"
            | "--no-cache"
            | "--pull"
            | "--rm"
            | "--force-rm"
            | "--progress"
            | "-q"
            | "--quiet"
            | "--builder"
    )
}

/// Value-taking flags of `docker build` (to skip their values).
fn build_flag_takes_value(flag: &str) -> bool {
    matches!(
        flag,
        "-t" | "--tag"
            | "-f"
            | "--file"
            | "--build-arg"
            | "--target"
            | "--platform"
            | "--label"
            | "--cache-from"
            | "--cache-to"
            | "--secret"
            | "--ssh"
            | "--network"
            | "--add-host"
            | "--iidfile"
            | "--isolation"
            | "-m"
            | "--memory"
            | "--memory-swap"
            | "--cgroup-parent"
            | "--cpu-period"
            | "--cpu-quota"
            | "-c"
            | "--cpu-shares"
            | "--cpuset-cpus"
            | "--cpuset-mems"
            | "--shm-size"
            | "--ulimit"
            | "-o"
            | "--output"
            | "--progress"
            | "--builder"
            | "--metadata-file"
            | "--attest"
            | "--annotation"
            | "--allow"
            | "--build-context"
            | "--call"
            | "--no-cache-filter"
            | "--security-opt"
    )
}

/// Flags of a `docker build` command that have no build-push mapping (as written).
fn unmapped_build_flags(c: &Command) -> Vec<String> {
    let mut out = Vec::new();
    let Some(sub) = docker_sub(c) else {
        return out;
    };
    // Global options other than the daemon address are not carried over.
    for w in c.words.iter().take(sub).skip(1) {
        let t = w.text.as_str();
        if t.starts_with('-')
            && !matches!(
                t.split('=').next().unwrap_or(t),
                "-H" | "--host" | "--tls" | "--tlsverify" | "-D" | "--debug" | "-l" | "--log-level"
            )
        {
            out.push(t.to_string());
        }
    }
    let mut i = sub + 1;
    if word_text(c, sub) == "buildx"
        || word_text(c, sub) == "image"
        || word_text(c, sub) == "builder"
    {
        i += 1;
    }
    while let Some(w) = c.words.get(i) {
        let t = w.text.as_str();
        i += 1;
        if !t.starts_with('-') || t == "-" {
            continue;
        }
        let (flag, attached) = match t.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (t, None),
        };
        // Short flags with an attached value (`-tapp`).
        let flag = if !flag.starts_with("--") && flag.len() > 2 {
            flag.get(..2).unwrap_or(flag)
        } else {
            flag
        };
        let value = if attached.is_some() || (!t.starts_with("--") && t.len() > 2) {
            attached.map(str::to_string)
        } else if build_flag_takes_value(flag) {
            i += 1;
            c.words.get(i - 1).map(|w| w.text.clone())
        } else {
            None
        };
        if flag == "-o" || flag == "--output" {
            // Only a plain push or load is what build-push-action's `push`/`load` carry; any
            // other exporter option (compression, oci-mediatypes, a name, …) would be lost.
            let v = value.unwrap_or_default().to_ascii_lowercase();
            let parts: Vec<&str> = v.split(',').map(str::trim).collect();
            let plain = parts
                .iter()
                .all(|p| matches!(*p, "type=registry" | "type=docker" | "push=true"));
            if !(parts.contains(&"type=registry") || parts.contains(&"type=docker")) || !plain {
                out.push(t.to_string());
            }
            continue;
        }
        if !build_flag_ok(flag) {
            out.push(t.to_string());
        }
    }
    out
}

/// The value piped into `docker login --password-stdin` by `echo`/`printf '%s'` right before.
fn piped_password(
    text: &str,
    cmds: &[Command],
    login: &Command,
) -> Option<(String, String, usize)> {
    let src = cmds
        .iter()
        .filter(|c| c.span.end <= login.span.start)
        .max_by_key(|c| c.span.end)?;
    let between = text.get(src.span.end..login.span.start)?;
    if between.trim() != "|" {
        return None;
    }
    let w = match basename(word_text(src, 0)) {
        "echo" => {
            let args: Vec<_> = src.words.iter().skip(1).collect();
            match args.as_slice() {
                [v] => *v,
                [n, v] if n.text == "-n" => *v,
                _ => return None,
            }
        }
        "printf" => match src.words.as_slice() {
            [_, f, v] if matches!(f.text.as_str(), "%s" | "%s\\n") => v,
            _ => return None,
        },
        _ => return None,
    };
    let raw = text.get(w.span.clone())?.to_string();
    Some((w.text.clone(), raw, src.span.start))
}

/// Whether a `docker run` of a build-only job registers emulators; returns (image, platforms).
fn qemu_of(c: &Command) -> Option<(Option<String>, Option<String>)> {
    let sub = docker_sub(c)?;
    let mut i = sub + 1;
    if word_text(c, sub) == "container" {
        i += 1;
    } else if word_text(c, sub) != "run" {
        return None;
    }
    let pos = c.words.iter().enumerate().skip(i).find(|(_, w)| {
        let name = w.text.split(['@']).next().unwrap_or("");
        let name = name
            .rsplit_once(':')
            .map_or(name, |(n, t)| if t.contains('/') { name } else { n });
        matches!(basename(name), "binfmt" | "qemu-user-static")
    })?;
    let (idx, w) = pos;
    let image = w.text.clone();
    let args: Vec<&str> = c
        .words
        .iter()
        .skip(idx + 1)
        .map(|w| w.text.as_str())
        .collect();
    if basename(image.split(':').next().unwrap_or("")) == "qemu-user-static" {
        // `--reset -p yes` registers every emulator.
        return Some((None, None));
    }
    let mut platforms = None;
    let mut k = 0;
    while let Some(a) = args.get(k) {
        match *a {
            "--install" => {
                platforms = args.get(k + 1).map(|s| s.to_string());
                k += 2;
            }
            s if s.starts_with("--install=") => {
                platforms = s.strip_prefix("--install=").map(str::to_string);
                k += 1;
            }
            _ => return None,
        }
    }
    let default_image = image == "tonistiigi/binfmt" || image == "tonistiigi/binfmt:latest";
    Some((
        (!default_image).then_some(image),
        platforms.filter(|p| p != "all"),
    ))
}

impl Cx<'_> {
    /// Analyse every `run:` step: docker commands become [`Op`]s. `daemon_gone`: the job's dind
    /// container goes away, so commands starting its daemon go too.
    fn scripts(&self, daemon_gone: bool, w: &mut Work) -> Vec<Script> {
        let mut out = Vec::new();
        for (si, step) in self.steps.iter().enumerate() {
            let Some((_, value)) = step.run else {
                continue;
            };
            let Some(text) = scalar(self.y, value) else {
                if matches!(self.y.node(value).kind, NodeKind::Alias { .. }) {
                    w.abort(format!(
                        "{}: a `run:` of job `{}` is an alias; it is left alone",
                        self.path, self.req.pipeline.name
                    ));
                }
                continue;
            };
            let text = text.to_string();
            let cmds = shell::commands(&text);
            let a = docker_cmd::analyze_script(&text);
            let mut ops = Vec::new();
            for b in &a.builds {
                ops.push(Op::Build(b.clone()));
            }
            for l in &a.logins {
                let Some(c) = cmds.iter().find(|c| c.span == l.span) else {
                    continue;
                };
                let mut span = l.span.clone();
                let password = if let Some(p) = &l.password {
                    let raw = c
                        .words
                        .iter()
                        .find(|w| w.text == *p || w.text.ends_with(&format!("={p}")))
                        .and_then(|w| text.get(w.span.clone()))
                        .unwrap_or(p)
                        .to_string();
                    Some((p.clone(), raw))
                } else if l.password_stdin {
                    piped_password(&text, &cmds, c).map(|(v, raw, start)| {
                        span.start = start;
                        (v, raw)
                    })
                } else {
                    None
                };
                ops.push(Op::Login {
                    login: l.clone(),
                    password,
                    span,
                });
            }
            for t in &a.tags {
                ops.push(Op::Tag(t.clone()));
            }
            for p in &a.pushes {
                ops.push(Op::Push(p.clone()));
            }
            let mut after_daemon = false;
            for c in cmds.iter().take(MAX_ITEMS) {
                let first = basename(word_text(c, 0));
                if daemon_gone
                    && matches!(
                        first,
                        "dockerd" | "dockerd-entrypoint.sh" | "dockerd-rootless.sh"
                    )
                {
                    ops.push(Op::Daemon {
                        span: c.span.clone(),
                    });
                    after_daemon = true;
                    continue;
                }
                if after_daemon && first == "sleep" {
                    ops.push(Op::Daemon {
                        span: c.span.clone(),
                    });
                }
                after_daemon = false;
                if let Some((image, platforms)) = qemu_of(c) {
                    ops.push(Op::Qemu {
                        image,
                        platforms,
                        span: c.span.clone(),
                    });
                }
            }
            ops.sort_by_key(|o| o.span().start);
            out.push(Script {
                step: si,
                value,
                text,
                cmds,
                ops,
            });
        }
        out
    }

    /// Names in the env context for steps of this job.
    fn context_vars(&self, scripts: &[Script]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut owners = vec![self.job];
        if !self.action {
            owners.push(self.root);
        }
        for o in owners {
            if let Some((_, _, e)) = env_of(self, o) {
                for (n, _, _) in own_entries(self.y, e) {
                    out.insert(n);
                }
            }
        }
        // `echo "NAME=…" >> "$GITHUB_ENV"` in any step.
        for s in scripts {
            if !s.text.contains("GITHUB_ENV") {
                continue;
            }
            for line in s.text.lines().filter(|l| l.contains("GITHUB_ENV")) {
                for word in line.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                    if let Some((n, _)) = word.split_once('=')
                        && is_ident(n)
                    {
                        out.insert(n.to_string());
                    }
                }
            }
        }
        out
    }

    fn step_literals(&self, step: &Step) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(c) = &self.container
            && c.daemon
            && let Some((_, _, e)) = env_of(self, c.entry.2)
        {
            for (n, _, v) in own_entries(self.y, e) {
                if let Some(s) = self.y.str(self.y.resolve(v)) {
                    out.insert(n, s.to_string());
                }
            }
        }
        if let Some((_, _, e)) = env_of(self, step.item) {
            for (n, _, v) in own_entries(self.y, e) {
                if let Some(s) = self.y.str(self.y.resolve(v)) {
                    out.insert(n, s.to_string());
                }
            }
        }
        out
    }

    /// The step's working directory (`working-directory:` or `defaults.run.working-directory`).
    fn working_dir(&self, step: &Step) -> Result<Option<String>, String> {
        let from = |owner: NodeId| -> Option<String> {
            let (_, d) = own_get(self.y, owner, "defaults")?;
            let (_, r) = own_get(self.y, d, "run")?;
            let (_, wd) = own_get(self.y, r, "working-directory")?;
            self.y.str(self.y.resolve(wd)).map(str::to_string)
        };
        let wd = own_get(self.y, step.item, "working-directory")
            .and_then(|(_, v)| self.y.str(self.y.resolve(v)).map(str::to_string))
            .or_else(|| from(self.job))
            .or_else(|| if self.action { None } else { from(self.root) });
        match wd {
            Some(d) if d.contains('$') && !d.contains("${{") => {
                Err(format!("working directory `{d}` uses a shell variable"))
            }
            other => Ok(other.filter(|d| d != "." && d != "./")),
        }
    }
}

/// Prefix a relative path with a working directory.
fn under(dir: Option<&str>, p: &str) -> String {
    match dir {
        Some(d) if !p.starts_with('/') && !p.contains("://") && !p.starts_with("${{") => {
            let d = d.trim_end_matches('/');
            if p == "." || p == "./" {
                d.to_string()
            } else {
                format!("{d}/{}", p.trim_start_matches("./"))
            }
        }
        _ => p.to_string(),
    }
}

/// One step to generate, in job order.
#[derive(Clone, Debug)]
enum Gen {
    Login {
        registry: Option<String>,
        username: String,
        password: String,
    },
    Build(Box<BuildSpec>),
    Qemu {
        image: Option<String>,
        platforms: Option<String>,
    },
    /// A kaniko executor command (from [`translate::build`]).
    Kaniko(String),
    /// Commands writing kaniko's `config.json` with every login of the job.
    KanikoAuth(String),
}

/// The inputs of one build-push step.
#[derive(Clone, Debug, Default, Serialize)]
struct BuildSpec {
    context: String,
    file: Option<String>,
    tags: Vec<String>,
    build_args: Vec<String>,
    target: Option<String>,
    platforms: Vec<String>,
    push: bool,
    load: bool,
    labels: Vec<String>,
    cache_from: Vec<String>,
    cache_to: Vec<String>,
    no_cache: bool,
    pull: bool,
}

/// What one script turns into.
struct ScriptPlan {
    /// Ranges of the script (value offsets) that go.
    removed: Vec<Range<usize>>,
    /// Generated steps, each anchored at the start offset of its command.
    gens: Vec<(usize, Gen)>,
}

/// The docker side of a job, resolved: per script, what goes and what is generated.
struct JobPlan {
    plans: BTreeMap<usize, ScriptPlan>,
    builds: usize,
}

impl Cx<'_> {
    /// Resolve the docker commands of every script into generated steps. `Err` = why the job
    /// cannot be converted.
    fn plan_job(&self, scripts: &[Script]) -> Result<JobPlan, String> {
        let ctx_vars = self.context_vars(scripts);
        let mut plans: BTreeMap<usize, ScriptPlan> = BTreeMap::new();
        // Builds with their tags, and where they came from: (script idx, anchor, spec).
        let mut builds: Vec<(usize, usize, BuildSpec, DockerBuild)> = Vec::new();
        let mut pushes: Vec<(DockerPush, bool)> = Vec::new();
        let mut tags: Vec<DockerTag> = Vec::new();
        let mut all_vars: BTreeMap<usize, Vars> = BTreeMap::new();
        for (i, s) in scripts.iter().enumerate() {
            let Some(step) = self.steps.get(s.step) else {
                continue;
            };
            let assigned = assigned_names(&s.cmds);
            let vars = Vars {
                context: ctx_vars.clone(),
                literal: self.step_literals(step),
                assigned,
            };
            let wd = self.working_dir(step)?;
            let mut plan = ScriptPlan {
                removed: Vec::new(),
                gens: Vec::new(),
            };
            for op in &s.ops {
                let raw_of = |t: &str| -> String {
                    // The written form of a word with this text, if any.
                    s.cmds
                        .iter()
                        .filter(|c| op.span().start <= c.span.start && c.span.end <= op.span().end)
                        .flat_map(|c| c.words.iter())
                        .find(|w| w.text == t)
                        .and_then(|w| s.text.get(w.span.clone()))
                        .unwrap_or(t)
                        .to_string()
                };
                let ex = |t: &str| -> Result<String, String> { vars.expr(t, &raw_of(t)) };
                match op {
                    Op::Login {
                        login,
                        password,
                        span,
                    } => {
                        let user = login
                            .username
                            .as_deref()
                            .ok_or("`docker login` without `-u` cannot become a login step")?;
                        let (pw, pw_raw) = password.clone().ok_or(
                            "`docker login` reads its password from somewhere other than `-p` or `echo … |`",
                        )?;
                        let registry = match login.registry.as_deref() {
                            None
                            | Some("docker.io" | "index.docker.io" | "registry-1.docker.io") => {
                                None
                            }
                            Some(r) => Some(ex(r)?),
                        };
                        let password = vars.expr(&pw, &pw_raw)?;
                        plan.removed.push(span.clone());
                        plan.gens.push((
                            span.start,
                            Gen::Login {
                                registry,
                                username: ex(user)?,
                                password,
                            },
                        ));
                    }
                    Op::Build(b) => {
                        let cmd = s
                            .cmds
                            .iter()
                            .find(|c| c.span == b.span)
                            .ok_or("a docker build command could not be located")?;
                        let bad = unmapped_build_flags(cmd);
                        if !bad.is_empty() {
                            return Err(format!(
                                "`docker build` flags with no safe mapping: {}",
                                bad.join(" ")
                            ));
                        }
                        if !b.secrets.is_empty() || !b.ssh.is_empty() || b.network.is_some() {
                            return Err(
                                "`docker build` uses --secret/--ssh/--network, which need a manual mapping".into(),
                            );
                        }
                        let ctx = b
                            .context
                            .as_deref()
                            .filter(|c| *c != "-")
                            .ok_or("`docker build` without a context directory")?;
                        let spec = BuildSpec {
                            context: under(wd.as_deref(), &ex(ctx)?),
                            file: match b.file.as_deref() {
                                Some(f) => Some(under(wd.as_deref(), &ex(f)?)),
                                None => None,
                            },
                            tags: b.tags.iter().map(|t| ex(t)).collect::<Result<_, _>>()?,
                            build_args: b
                                .build_args
                                .iter()
                                .map(|a| {
                                    if a.contains('=') {
                                        ex(a)
                                    } else {
                                        // `--build-arg K` takes K from the environment.
                                        Ok(format!("{a}={}", vars.resolve(a)?))
                                    }
                                })
                                .collect::<Result<_, _>>()?,
                            target: match b.target.as_deref() {
                                Some(t) => Some(ex(t)?),
                                None => None,
                            },
                            platforms: b
                                .platforms
                                .iter()
                                .map(|p| ex(p))
                                .collect::<Result<_, _>>()?,
                            push: b.push,
                            load: b.load,
                            labels: b.labels.iter().map(|l| ex(l)).collect::<Result<_, _>>()?,
                            cache_from: b
                                .cache_from
                                .iter()
                                .map(|l| ex(l))
                                .collect::<Result<_, _>>()?,
                            cache_to: b.cache_to.iter().map(|l| ex(l)).collect::<Result<_, _>>()?,
                            no_cache: b.no_cache,
                            pull: b.pull,
                        };
                        plan.removed.push(b.span.clone());
                        builds.push((i, b.span.start, spec, b.clone()));
                    }
                    Op::Tag(t) => {
                        tags.push(t.clone());
                        plan.removed.push(t.span.clone());
                    }
                    Op::Push(p) => {
                        let all = translate::push_all_tags(&s.text, p);
                        pushes.push((p.clone(), all));
                        plan.removed.push(p.span.clone());
                    }
                    Op::Qemu {
                        image,
                        platforms,
                        span,
                    } => {
                        plan.removed.push(span.clone());
                        plan.gens.push((
                            span.start,
                            Gen::Qemu {
                                image: image.clone(),
                                platforms: platforms.clone(),
                            },
                        ));
                    }
                    Op::Daemon { span } => plan.removed.push(span.clone()),
                }
            }
            unconverted_docker(s, &plan)?;
            plans.insert(i, plan);
            all_vars.insert(i, vars);
        }
        // `docker tag`/`docker push` of built images fold into those builds (https://github.com/moby/buildkit#imageregistry).
        let brefs: Vec<&DockerBuild> = builds.iter().map(|x| &x.3).collect();
        let trefs: Vec<&DockerTag> = tags.iter().collect();
        let prefs: Vec<(&DockerPush, bool)> = pushes.iter().map(|(p, a)| (p, *a)).collect();
        let folded = translate::fold(&brefs, &trefs, &prefs);
        for (t, ok) in tags.iter().zip(folded.tag_folded.iter()) {
            if !ok {
                return Err(format!(
                    "`docker tag {} {}` retags an image this job does not build (promotion needs a registry tool such as crane)",
                    t.source, t.target
                ));
            }
        }
        for ((p, _), ok) in pushes.iter().zip(folded.push_folded.iter()) {
            if !ok {
                return Err(format!(
                    "`docker push {}` pushes an image this job does not build",
                    p.image
                ));
            }
        }
        for (bi, (i, _, spec, _)) in builds.iter_mut().enumerate() {
            if let (Some(list), Some(vars)) = (folded.push.get(bi), all_vars.get(i))
                && !list.is_empty()
            {
                spec.tags = list
                    .iter()
                    .map(|t| vars.expr(t, t))
                    .collect::<Result<_, _>>()?;
                spec.push = true;
            }
        }
        let n = builds.len();
        for (i, anchor, spec, _) in builds {
            if let Some(p) = plans.get_mut(&i) {
                p.gens.push((anchor, Gen::Build(Box::new(spec))));
            }
        }
        for p in plans.values_mut() {
            p.gens.sort_by_key(|(a, _)| *a);
            p.removed.sort_by_key(|r| (r.start, r.end));
        }
        Ok(JobPlan { plans, builds: n })
    }
}

impl Cx<'_> {
    /// kaniko: the docker commands become executor runs and one step writing `config.json`
    /// with every login, translated by [`translate`] (https://docs.docker.com/reference/cli/docker/buildx/build/; https://github.com/moby/buildkit#imageregistry).
    fn plan_kaniko(&self, scripts: &[Script], notes: &mut Vec<String>) -> Result<JobPlan, String> {
        let ctx_vars = self.context_vars(scripts);
        let mut plans: BTreeMap<usize, ScriptPlan> = BTreeMap::new();
        let mut builds: Vec<(usize, DockerBuild, Option<String>)> = Vec::new();
        let mut tags: Vec<DockerTag> = Vec::new();
        let mut pushes: Vec<(DockerPush, bool)> = Vec::new();
        let mut auths: Vec<translate::Auth> = Vec::new();
        let mut login_at: Option<(usize, usize)> = None;
        for (i, s) in scripts.iter().enumerate() {
            let Some(step) = self.steps.get(s.step) else {
                continue;
            };
            let vars = Vars {
                context: ctx_vars.clone(),
                literal: self.step_literals(step),
                assigned: assigned_names(&s.cmds),
            };
            let wd = self.working_dir(step)?;
            let mut plan = ScriptPlan {
                removed: Vec::new(),
                gens: Vec::new(),
            };
            for op in &s.ops {
                let span = op.span();
                for c in s
                    .cmds
                    .iter()
                    .filter(|c| span.start <= c.span.start && c.span.end <= span.end)
                {
                    for w in &c.words {
                        vars.portable(&w.text)?;
                    }
                }
                match op {
                    Op::Login { login, .. } => {
                        let (r, auth) = translate::login(&s.text, login)?;
                        for v in [&auth.username, &auth.password] {
                            vars.portable(v)?;
                        }
                        if login_at.is_none() {
                            login_at = Some((i, r.start));
                        }
                        plan.removed.push(r);
                        auths.push(auth);
                    }
                    Op::Build(b) => {
                        plan.removed.push(b.span.clone());
                        builds.push((i, b.clone(), wd.clone()));
                    }
                    Op::Tag(t) => {
                        plan.removed.push(t.span.clone());
                        tags.push(t.clone());
                    }
                    Op::Push(p) => {
                        plan.removed.push(p.span.clone());
                        pushes.push((p.clone(), translate::push_all_tags(&s.text, p)));
                    }
                    Op::Qemu { .. } => {
                        return Err(
                            "kaniko builds one platform per run and cannot use emulators".into(),
                        );
                    }
                    Op::Daemon { span } => plan.removed.push(span.clone()),
                }
            }
            unconverted_docker(s, &plan)?;
            plans.insert(i, plan);
        }
        let brefs: Vec<&DockerBuild> = builds.iter().map(|x| &x.1).collect();
        let trefs: Vec<&DockerTag> = tags.iter().collect();
        let prefs: Vec<(&DockerPush, bool)> = pushes.iter().map(|(p, a)| (p, *a)).collect();
        let folded = translate::fold(&brefs, &trefs, &prefs);
        if let Some(t) = tags
            .iter()
            .zip(folded.tag_folded.iter())
            .find(|(_, ok)| !**ok)
        {
            return Err(format!(
                "`docker tag {} {}` retags an image this job does not build",
                t.0.source, t.0.target
            ));
        }
        if let Some(p) = pushes
            .iter()
            .zip(folded.push_folded.iter())
            .find(|(_, ok)| !**ok)
        {
            return Err(format!(
                "`docker push {}` pushes an image this job does not build",
                (p.0).0.image
            ));
        }
        for (bi, (i, b, wd)) in builds.iter().enumerate() {
            let push = folded.push.get(bi).cloned().unwrap_or_default();
            let workdir = match wd {
                Some(d) if !d.starts_with('/') => {
                    format!("${{GITHUB_WORKSPACE}}/{}", d.trim_start_matches("./"))
                }
                Some(d) => d.clone(),
                None => "${GITHUB_WORKSPACE}".to_string(),
            };
            let Some(s) = scripts.get(*i) else {
                continue;
            };
            let t = translate::build(
                translate::Builder::Kaniko,
                &translate::BuildInput {
                    build: b,
                    script: &s.text,
                    push: &push,
                    workdir: Some(&workdir),
                },
            );
            if t.incomplete || !t.unmapped.is_empty() {
                return Err(format!(
                    "`docker build` has no complete kaniko mapping ({})",
                    if t.unmapped.is_empty() {
                        "no usable context".to_string()
                    } else {
                        t.unmapped.join(" ")
                    }
                ));
            }
            notes.extend(t.notes.iter().cloned());
            if let Some(p) = plans.get_mut(i) {
                p.gens.push((b.span.start, Gen::Kaniko(t.multiline())));
            }
        }
        if let Some((i, at)) = login_at
            && let Some(p) = plans.get_mut(&i)
        {
            let cmds = translate::auth_commands(translate::Builder::Kaniko, &auths);
            p.gens.push((at, Gen::KanikoAuth(cmds.join("\n"))));
        }
        for p in plans.values_mut() {
            p.gens.sort_by_key(|(a, _)| *a);
            p.removed.sort_by_key(|r| (r.start, r.end));
        }
        Ok(JobPlan {
            plans,
            builds: builds.len(),
        })
    }
}

/// Docker commands that build, push or log in and are not converted: nothing to become.
fn unconverted_docker(s: &Script, plan: &ScriptPlan) -> Result<(), String> {
    let a = docker_cmd::analyze_script(&s.text);
    for (u, span) in &a.usage {
        let covered = plan
            .removed
            .iter()
            .any(|r| r.start <= span.start && span.end <= r.end);
        if !covered
            && matches!(
                u,
                docker_cmd::DockerUse::Build
                    | docker_cmd::DockerUse::Push
                    | docker_cmd::DockerUse::Login
                    | docker_cmd::DockerUse::MultiArch
            )
        {
            let cmd = s.text.get(span.clone()).unwrap_or("").trim();
            return Err(format!("`{}` has no step equivalent", short(cmd)));
        }
    }
    Ok(())
}

fn short(s: &str) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 80 {
        let mut t: String = one.chars().take(77).collect();
        t.push_str("...");
        t
    } else {
        one
    }
}

/// Names a script assigns (`X=…`, `export X=…`, `read X`).
fn assigned_names(cmds: &[Command]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in cmds.iter().take(MAX_ITEMS) {
        for a in &c.assignments {
            if let Some((n, _)) = a.text.split_once('=') {
                out.insert(n.to_string());
            }
        }
        match basename(word_text(c, 0)) {
            "export" | "declare" | "typeset" | "local" | "readonly" | "read" => {
                for w in c.words.iter().skip(1) {
                    let n = w.text.split('=').next().unwrap_or("");
                    if is_ident(n) {
                        out.insert(n.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Line-level surgery on `run:` scripts

/// What a script line is after the removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineKind {
    /// Only removed commands (and operators) on it.
    Removed,
    /// Blank, a comment, or `set` options: meaningless alone.
    Neutral,
    /// Something that stays.
    Kept,
}

/// Lines of a script: (start, end without the line break) in value offsets.
fn script_lines(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            let mut end = i;
            if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            out.push(start..end);
            start = i + 1;
            if out.len() >= MAX_ITEMS {
                return out;
            }
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// Classify each line; `Err` when a removed command shares a line (or a block) with kept text.
fn classify_lines(s: &Script, removed: &[Range<usize>]) -> Result<Vec<LineKind>, String> {
    let in_removed = |o: usize| removed.iter().any(|r| r.start <= o && o < r.end);
    let kept: Vec<&Command> = s
        .cmds
        .iter()
        .filter(|c| {
            !removed
                .iter()
                .any(|r| r.start <= c.span.start && c.span.end <= r.end)
        })
        .collect();
    // A removed command inside a kept one (`x=$(docker build -q .)`) cannot go alone.
    for r in removed {
        if kept
            .iter()
            .any(|c| c.span.start <= r.start && r.end <= c.span.end)
        {
            return Err(format!(
                "`{}` is part of another command",
                short(s.text.get(r.clone()).unwrap_or(""))
            ));
        }
        if s.text.get(r.clone()).is_some_and(|t| t.contains("<<")) {
            return Err(format!(
                "`{}` reads a here-document",
                short(s.text.get(r.clone()).unwrap_or(""))
            ));
        }
    }
    let in_kept = |o: usize| kept.iter().any(|c| c.span.start <= o && o < c.span.end);
    let mut out = Vec::new();
    let mut depth: i64 = 0;
    for line in script_lines(&s.text) {
        let t = s.text.get(line.clone()).unwrap_or("");
        let first = t.split_whitespace().next().unwrap_or("");
        if matches!(first, "fi" | "done" | "esac" | "}" | "else" | "elif" | ")") {
            depth -= 1;
        }
        let (mut r, mut k, mut other) = (false, false, false);
        let mut comment = false;
        let mut prev_space = true;
        for (i, ch) in t.char_indices() {
            let o = line.start + i;
            if in_removed(o) {
                r = true;
            } else if in_kept(o) {
                k = true;
            } else if comment || ch.is_whitespace() || matches!(ch, '&' | '|' | ';' | '\\') {
            } else if ch == '#' && prev_space {
                comment = true;
            } else {
                other = true;
            }
            prev_space = ch.is_whitespace();
        }
        let kind = if r {
            if k || other {
                return Err(format!(
                    "line `{}` mixes docker commands with other shell",
                    short(t)
                ));
            }
            if depth > 0 {
                return Err(format!("`{}` sits inside a shell block", short(t)));
            }
            LineKind::Removed
        } else if k || other {
            if first == "set" && !other {
                LineKind::Neutral
            } else {
                LineKind::Kept
            }
        } else {
            LineKind::Neutral
        };
        out.push(kind);
        if matches!(
            first,
            "if" | "for" | "while" | "until" | "case" | "{" | "else" | "elif" | "("
        ) || (t.trim_end().ends_with('{') && !t.contains('}'))
        {
            depth += 1;
        }
        if first != "fi"
            && first != "done"
            && first != "esac"
            && (t.trim_end().ends_with("; fi")
                || t.trim_end().ends_with("; done")
                || t.trim_end().ends_with("esac"))
            && matches!(first, "if" | "for" | "while" | "until" | "case")
        {
            // A one-line compound command closes itself.
            depth -= 1;
        }
        if depth < 0 {
            depth = 0;
        }
    }
    Ok(out)
}

/// A step's keys carried onto generated steps: `name`, `id` (first build only), `if`, ….
struct Carry {
    name: Option<String>,
    id: Option<String>,
    cond: Option<String>,
    others: Vec<String>,
}

impl Cx<'_> {
    fn carry(&self, item: NodeId) -> Carry {
        let get = |k: &str| own_get(self.y, item, k).and_then(|(_, v)| self.raw_scalar(v));
        let mut others = Vec::new();
        for k in ["continue-on-error", "timeout-minutes"] {
            if let Some(v) = get(k) {
                others.push(format!("{k}: {v}"));
            }
        }
        Carry {
            name: get("name"),
            id: get("id"),
            cond: get("if"),
            others,
        }
    }
}

/// Renders generated steps (at column 0, one fragment per step).
struct Renderer<'c, 'a> {
    cx: &'c Cx<'a>,
    /// Setup steps emitted once, before the first login/build.
    setup_done: bool,
    /// The remote-driver endpoint, when buildkitd runs on the runner host.
    endpoint: Option<String>,
    kaniko: bool,
    builds_left: usize,
}

impl Renderer<'_, '_> {
    fn head(&self, carry: Option<&Carry>, first: bool, build: bool) -> Vec<String> {
        let mut h = Vec::new();
        if let Some(c) = carry {
            if first && let Some(n) = &c.name {
                h.push(format!("name: {n}"));
            }
            if build && let Some(i) = &c.id {
                h.push(format!("id: {i}"));
            }
            if let Some(i) = &c.cond {
                h.push(format!("if: {i}"));
            }
            h.extend(c.others.iter().cloned());
        }
        h
    }

    fn setup(&mut self, carry: Option<&Carry>, w: &mut Work) -> Option<String> {
        if self.setup_done || self.kaniko {
            return Some(String::new());
        }
        self.setup_done = true;
        let mut out = String::new();
        if let Some(ep) = &self.endpoint {
            let name = format!("buildkitd-{}", self.cx.suffix());
            let shell = if self.cx.action { Some("bash") } else { None };
            out.push_str(&self.cx.render(
                "github/buildkitd-start.yml",
                &serde_json::json!({ "name": name, "port": BUILDKIT_PORT, "shell": shell }),
                w,
            )?);
            let head = self.head(carry, false, false);
            out.push_str(&self.cx.render(
                "github/setup-buildx.yml",
                &serde_json::json!({ "head": head, "endpoint": ep, "certs": "${{ env.BUILDKIT_CERTS }}" }),
                w,
            )?);
        } else if !self.cx.steps.iter().any(|s| {
            s.uses
                .as_deref()
                .is_some_and(|u| u.starts_with("docker/setup-buildx-action@"))
        }) {
            let head = self.head(carry, false, false);
            out.push_str(&self.cx.render(
                "github/setup-buildx.yml",
                &serde_json::json!({ "head": head, "endpoint": null }),
                w,
            )?);
        }
        Some(out)
    }

    /// Render one generated step (plus the setup steps before the first one).
    fn render_gen(
        &mut self,
        g: &Gen,
        carry: Option<&Carry>,
        first: bool,
        w: &mut Work,
    ) -> Option<String> {
        let mut out = String::new();
        match g {
            Gen::Qemu { image, platforms } => {
                let head = self.head(carry, first, false);
                out.push_str(&self.cx.render(
                    "github/setup-qemu.yml",
                    &serde_json::json!({
                        "head": head,
                        "image": image.as_deref().map(yaml_scalar),
                        "platforms": platforms.as_deref().map(yaml_scalar),
                    }),
                    w,
                )?);
            }
            Gen::Login {
                registry,
                username,
                password,
            } => {
                out.push_str(&self.setup(carry, w)?);
                let head = self.head(carry, first, false);
                out.push_str(&self.cx.render(
                    "github/login.yml",
                    &serde_json::json!({
                        "head": head,
                        "registry": registry.as_deref().map(yaml_scalar),
                        "username": yaml_scalar(username),
                        "password": yaml_scalar(password),
                    }),
                    w,
                )?);
            }
            Gen::KanikoAuth(script) => {
                out.push_str(&self.run_step(script, carry, first, false));
            }
            Gen::Kaniko(script) => {
                out.push_str(&self.run_step(script, carry, first, true));
            }
            Gen::Build(b) => {
                out.push_str(&self.setup(carry, w)?);
                {
                    let head = self.head(carry, first, true);
                    out.push_str(&self.cx.render(
                        "github/build-push.yml",
                        &serde_json::json!({
                            "head": head,
                            "context": yaml_scalar(&b.context),
                            "file": b.file.as_deref().map(yaml_scalar),
                            "tags": items(&b.tags),
                            "build_args": items(&b.build_args),
                            "target": b.target.as_deref().map(yaml_scalar),
                            "platforms": (!b.platforms.is_empty()).then(|| yaml_scalar(&b.platforms.join(","))),
                            "labels": items(&b.labels),
                            "cache_from": items(&b.cache_from),
                            "cache_to": items(&b.cache_to),
                            "no_cache": b.no_cache,
                            "pull": b.pull,
                            "load": b.load,
                            "push": b.push,
                        }),
                        w,
                    )?);
                }
                self.builds_left = self.builds_left.saturating_sub(1);
                if self.builds_left == 0 && self.endpoint.is_some() {
                    let shell = if self.cx.action { Some("bash") } else { None };
                    out.push_str(&self.cx.render(
                        "github/buildkitd-stop.yml",
                        &serde_json::json!({ "name": format!("buildkitd-{}", self.cx.suffix()), "shell": shell }),
                        w,
                    )?);
                }
            }
        }
        Some(out)
    }
}

impl Cx<'_> {
    /// Turn the job plan into edits on the steps. Returns false when a script could not be
    /// split (the reason is recorded as an abort).
    fn edit_steps(&self, jp: &JobPlan, scripts: &[Script], r: &mut Renderer<'_, '_>, w: &mut Work) {
        for (i, s) in scripts.iter().enumerate() {
            let Some(plan) = jp.plans.get(&i) else {
                continue;
            };
            if plan.removed.is_empty() {
                continue;
            }
            let Some(step) = self.steps.get(s.step) else {
                continue;
            };
            let Some(seq) = self.steps_seq else {
                continue;
            };
            if !is_block_seq(self.y, seq) || !is_block_map(self.y, step.item) {
                w.abort(format!("{}: steps in flow style are left alone", self.path));
                return;
            }
            let Some(dash) = self.dash_col(step.item) else {
                w.abort(format!("{}: a step's layout is not understood", self.path));
                return;
            };
            let kinds = match classify_lines(s, &plan.removed) {
                Ok(k) => k,
                Err(e) => {
                    w.abort(format!(
                        "{}: step {} of job `{}`: {e}",
                        self.path,
                        s.step + 1,
                        self.req.pipeline.name
                    ));
                    return;
                }
            };
            let lines = script_lines(&s.text);
            let carry = self.carry(step.item);
            let first_removed = kinds.iter().position(|k| *k == LineKind::Removed);
            let pre_kept =
                first_removed.is_some_and(|f| kinds.iter().take(f).any(|k| *k == LineKind::Kept));
            let post_kept = first_removed
                .is_some_and(|f| kinds.iter().skip(f + 1).any(|k| *k == LineKind::Kept));
            // Render the generated steps of this script.
            let mut gen_text = String::new();
            let whole = !pre_kept && !post_kept;
            for (n, (_, g)) in plan.gens.iter().enumerate() {
                let first = whole && n == 0;
                let Some(t) = r.render_gen(g, Some(&carry), first, w) else {
                    return;
                };
                gen_text.push_str(&t);
            }
            let gen_text = if gen_text.is_empty() {
                String::new()
            } else {
                self.ed.indent(&gen_text, dash)
            };
            let item_lines = self.item_lines(step.item);
            if whole {
                w.edits.push(Edit::replace(
                    self.path,
                    item_lines.start,
                    item_lines.end,
                    gen_text,
                ));
                continue;
            }
            let style = scalar_style(self.y, s.value);
            if style != Some(ScalarStyle::Literal) {
                w.abort(format!(
                    "{}: step {} of job `{}` mixes docker commands with other commands in a one-line or folded `run:`",
                    self.path,
                    s.step + 1,
                    self.req.pipeline.name
                ));
                return;
            }
            // Source lines of the block: value line i ↔ source line of its first byte.
            let src_line = |l: &Range<usize>| -> Range<usize> {
                let at = self.y.scalar_src_offset(s.value, l.start);
                let ls = self.ed.line_start(at);
                ls..self.ed.line_end_incl(ls)
            };
            let Some(f) = first_removed else {
                continue;
            };
            if pre_kept {
                // The step keeps its head; removed lines and the tail go; generated steps and
                // a new step with the tail follow it.
                let blank =
                    |l: &Range<usize>| s.text.get(l.clone()).is_none_or(|t| t.trim().is_empty());
                // Blank lines right before the removed part would end the kept head.
                let mut first_gone = f;
                while first_gone > 0 && lines.get(first_gone - 1).is_some_and(blank) {
                    first_gone -= 1;
                }
                let mut tail = String::new();
                for (li, (l, k)) in lines.iter().zip(kinds.iter()).enumerate() {
                    if li < first_gone {
                        continue;
                    }
                    let r = src_line(l);
                    if li > f
                        && *k != LineKind::Removed
                        && !(tail.is_empty() && blank(l))
                        && let Some(t) = self.text.get(r.clone())
                    {
                        tail.push_str(t);
                    }
                    w.edits.push(Edit::delete(self.path, r.start, r.end));
                }
                let mut insert = gen_text;
                if post_kept {
                    match self.tail_step(step, s, &tail, dash) {
                        Some(t) => insert.push_str(&t),
                        None => {
                            w.abort(format!(
                                "{}: step {} of job `{}` cannot be split",
                                self.path,
                                s.step + 1,
                                self.req.pipeline.name
                            ));
                            return;
                        }
                    }
                }
                let mut at = item_lines.end;
                let mut prefix = String::new();
                if at == self.text.len() && !self.text.ends_with('\n') {
                    prefix.push_str(self.ed.nl());
                }
                // Deleting the last lines of the step moves its end: insert after them.
                at = at.max(item_lines.end);
                prefix.push_str(&insert);
                w.edits.push(Edit::insert(self.path, at, prefix));
            } else {
                // Nothing kept before: generated steps go before the step, which keeps the rest.
                for (l, k) in lines.iter().zip(kinds.iter()) {
                    if *k == LineKind::Removed {
                        let r = src_line(l);
                        w.edits.push(Edit::delete(self.path, r.start, r.end));
                    }
                }
                w.edits
                    .push(Edit::insert(self.path, item_lines.start, gen_text));
            }
        }
    }

    /// A new `run:` step holding `tail` (source lines of the original block), with the step's
    /// `if`, `shell`, `working-directory`, `env`, `continue-on-error`, `timeout-minutes`.
    fn tail_step(&self, step: &Step, s: &Script, tail: &str, dash: usize) -> Option<String> {
        let key_col = self.key_col(step.item);
        let header_start = self.y.span(s.value).start;
        let header_line_end = self
            .text
            .get(header_start..)?
            .find(['\n', '\r'])
            .map(|i| header_start + i)?;
        let header = self.text.get(header_start..header_line_end)?;
        let header = header.split('#').next().unwrap_or("").trim();
        if !header.starts_with('|') || header.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let nl = self.ed.nl();
        let mut out = String::new();
        out.push_str(&" ".repeat(dash));
        out.push('-');
        out.push_str(&" ".repeat(key_col.saturating_sub(dash + 1)));
        out.push_str(&format!("run: {header}{nl}"));
        out.push_str(tail);
        if !tail.ends_with('\n') {
            out.push_str(nl);
        }
        for (k, kid, v) in own_entries(self.y, step.item) {
            if matches!(
                k.as_str(),
                "if" | "shell"
                    | "working-directory"
                    | "env"
                    | "continue-on-error"
                    | "timeout-minutes"
            ) {
                let r = self.ed.entry_lines(kid, v);
                if k == "env" && is_block_map(self.y, v) {
                    // The dind client variables stay behind with the dind.
                    let mut body = String::new();
                    for (n, ek, ev) in own_entries(self.y, v) {
                        if DIND_VARS.contains(&n.as_str()) {
                            continue;
                        }
                        body.push_str(self.text.get(self.ed.entry_lines(ek, ev))?);
                        if !body.ends_with('\n') {
                            body.push_str(nl);
                        }
                    }
                    if !body.is_empty() {
                        out.push_str(&format!("{}env:{nl}{body}", " ".repeat(key_col)));
                    }
                    continue;
                }
                // From the key on: the first key of an item shares the `- ` line.
                let from = self.y.span(kid).start.max(r.start);
                let mut t = format!("{}{}", " ".repeat(key_col), self.text.get(from..r.end)?);
                if !t.ends_with('\n') {
                    t.push_str(nl);
                }
                out.push_str(&t);
            }
        }
        Some(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Targets

/// https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; docs/targets/sysbox.md: the runtime entry every sysbox host's daemon.json needs.
const SYSBOX_DAEMON_JSON: &str =
    "{\n  \"runtimes\": {\n    \"sysbox-runc\": { \"path\": \"/usr/bin/sysbox-runc\" }\n  }\n}\n";

/// Whether a script names a daemon itself (`docker -H …`, `DOCKER_HOST=…`): it would not
/// reach the runner's own Docker once the dind service is gone.
fn explicit_daemon(scripts: &[Script]) -> bool {
    scripts.iter().any(|s| {
        s.cmds.iter().take(MAX_ITEMS).any(|c| {
            let global_host = docker_sub(c).is_some_and(|sub| {
                c.words.iter().take(sub).skip(1).any(|w| {
                    let f = w.text.split('=').next().unwrap_or("");
                    matches!(f, "-H" | "--host" | "-c" | "--context") || w.text.starts_with("-H")
                })
            });
            let assigns = c
                .assignments
                .iter()
                .chain(c.words.iter().skip(1))
                .any(|w| w.text.starts_with("DOCKER_HOST="));
            global_host || assigns
        })
    })
}

fn buildkit(cx: &Cx<'_>, w: &mut Work) {
    let hosted = cx.hosted();
    if let Some(c) = &cx.container
        && !c.daemon
    {
        w.abort(format!(
            "{}: job `{}` runs in container `{}`: the build steps would run inside it and need a Docker CLI there; move the build to a job without `container:`",
            cx.path,
            cx.req.pipeline.name,
            c.image.as_deref().unwrap_or("?")
        ));
        return;
    }
    let daemon_gone = cx.container.as_ref().is_some_and(|c| c.daemon);
    let scripts = cx.scripts(daemon_gone, w);
    let endpoint = if hosted {
        None
    } else {
        Some("${{ env.BUILDKIT_ENDPOINT }}".to_string())
    };
    // Convert the steps in a trial run: a refusal can still fall back (below).
    let mut trial = Work::default();
    let planned = match cx.plan_job(&scripts) {
        Ok(jp) => {
            let mut r = Renderer {
                cx,
                setup_done: false,
                endpoint,
                kaniko: false,
                builds_left: jp.builds,
            };
            cx.edit_steps(&jp, &scripts, &mut r, &mut trial);
            match trial.abort.take() {
                None => Ok(jp),
                Some(e) => Err(e),
            }
        }
        Err(e) => Err(format!(
            "{}: job `{}` cannot move to BuildKit automatically: {e}",
            cx.path, cx.req.pipeline.name
        )),
    };
    if trial.template_error {
        w.template_error = true;
        w.notes.append(&mut trial.notes);
        return;
    }
    let jp = match planned {
        Ok(jp) => {
            w.edits.append(&mut trial.edits);
            for n in trial.notes {
                w.note(n);
            }
            jp
        }
        Err(e) if hosted && !daemon_gone && !explicit_daemon(&scripts) => {
            // On a GitHub-hosted VM the commands work against the runner's own Docker once
            // the dind service is gone (https://docs.docker.com/build/ci/github-actions/; docs/targets/buildkit.md).
            w.note(format!(
                "{e}; its docker commands stay and use the hosted runner's own Docker"
            ));
            w.task(
                &format!(
                    "Job `{}`: convert the remaining docker commands to docker/build-push-action steps when convenient",
                    cx.req.pipeline.name
                ),
                &cx.location(),
                "",
                "",
            );
            JobPlan {
                plans: BTreeMap::new(),
                builds: 0,
            }
        }
        Err(e) => {
            w.abort(e.clone());
            w.task(
                &format!(
                    "Convert the docker commands of job `{}` to docker/build-push-action steps by hand ({e})",
                    cx.req.pipeline.name
                ),
                &cx.location(),
                "",
                "",
            );
            return;
        }
    };
    remove_dind_services(cx, w);
    if let Some(c) = &cx.container
        && c.daemon
    {
        let (m, k, v) = c.entry;
        w.edits.push(remove_entry(cx, m, k, v));
    }
    remove_dind_env(cx, w);
    if jp.builds > 0 {
        if hosted {
            w.note("the docker-container buildx driver runs BuildKit privileged on the runner host: harmless on an ephemeral GitHub-hosted VM, not a de-privileging on self-hosted runners (https://github.com/docker/buildx/blob/master/driver/docker-container/driver.go; docs/targets/buildkit.md)");
        } else {
            w.note("rootless BuildKit runs with seccomp, AppArmor and /proc masks unconfined (https://github.com/moby/buildkit/blob/master/docs/rootless.md; https://kubernetes.io/docs/concepts/security/pod-security-standards/; docs/targets/buildkit.md): that residual risk is suppressed in the file with a reason");
            w.note("buildkitd listens on a random loopback port of the runner host and only with mutual TLS, with certificates made for this job (github.com/moby/buildkit#expose-buildkit-as-a-tcp-service)");
            w.note("the runner host needs a Docker daemon to start buildkitd, as it did for the dind service");
            w.task(
                "Enable user namespaces on the self-hosted runner hosts for rootless BuildKit",
                "every self-hosted runner host",
                "# rootless BuildKit needs user namespaces (https://github.com/moby/buildkit/blob/master/docs/rootless.md; docs/targets/buildkit.md)\nsysctl user.max_user_namespaces    # must be greater than 0\n# Ubuntu 24.04 and later also restrict them through AppArmor:\nsudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\n",
                "sh",
            );
        }
    }
    if jp
        .plans
        .values()
        .any(|p| p.gens.iter().any(|(_, g)| matches!(g, Gen::Qemu { .. })))
    {
        w.note("docker/setup-qemu-action registers emulators with a privileged one-off container on the runner host (https://github.com/moby/buildkit/blob/master/docs/multi-platform.md; docs/targets/buildkit.md)");
    }
}

fn kaniko(cx: &Cx<'_>, w: &mut Work) {
    let js: Vec<&str> = cx
        .steps
        .iter()
        .filter_map(|s| s.uses.as_deref())
        .filter(|u| !u.starts_with("docker://"))
        .collect();
    if let Some(u) = js.first() {
        w.abort(format!(
            "{}: job `{}` uses `{u}`: JavaScript actions cannot run inside the kaniko image (it has no C library for the runner's node); choose buildkit for this job",
            cx.path, cx.req.pipeline.name
        ));
        w.task(
            &format!("Job `{}`: move to buildkit, or build with kaniko in a job without JavaScript actions", cx.req.pipeline.name),
            &cx.location(),
            "",
            "",
        );
        return;
    }
    if cx.action {
        w.abort(format!(
            "{}: a composite action cannot choose the container its steps run in",
            cx.path
        ));
        return;
    }
    if !cx.hosted() {
        // kaniko runs as the job container, and the runner mounts the host's Docker socket
        // into every job container: on a self-hosted runner that hands the job the host.
        w.abort(format!(
            "{}: job `{}` runs on a self-hosted runner, which mounts the host's Docker socket into the kaniko job container ({RUNNER_SOCKET_SOURCE}); choose buildkit for this job, or run the runners under sysbox",
            cx.path, cx.req.pipeline.name
        ));
        w.task(
            &format!(
                "Job `{}`: move to buildkit (kaniko would run as a job container, which gets the host's Docker socket on a self-hosted runner)",
                cx.req.pipeline.name
            ),
            &cx.location(),
            "",
            "",
        );
        return;
    }
    if let Some(c) = &cx.container
        && !c.daemon
    {
        w.abort(format!(
            "{}: job `{}` runs in `{}`; its commands would move into the kaniko image",
            cx.path,
            cx.req.pipeline.name,
            c.image.as_deref().unwrap_or("?")
        ));
        return;
    }
    let scripts = cx.scripts(true, w);
    let mut tnotes = Vec::new();
    let jp = match cx.plan_kaniko(&scripts, &mut tnotes) {
        Ok(p) => p,
        Err(e) => {
            w.abort(format!(
                "{}: job `{}` cannot move to kaniko automatically: {e}",
                cx.path, cx.req.pipeline.name
            ));
            return;
        }
    };
    for n in tnotes {
        w.note(n);
    }
    if jp.builds == 0 {
        w.abort(format!(
            "{}: job `{}` has no docker build to move to kaniko",
            cx.path, cx.req.pipeline.name
        ));
        return;
    }
    let mut r = Renderer {
        cx,
        setup_done: true,
        endpoint: None,
        kaniko: true,
        builds_left: jp.builds,
    };
    cx.edit_steps(&jp, &scripts, &mut r, w);
    if w.abort.is_some() {
        return;
    }
    remove_dind_services(cx, w);
    remove_dind_env(cx, w);
    let Some(frag) = cx.render("github/kaniko-container.yml", &serde_json::json!({}), w) else {
        return;
    };
    let text = format!("container:\n{}", indent_plain(&frag, 2));
    match &cx.container {
        Some(c) => {
            // The dind job container is replaced as a whole (its --privileged goes with it).
            let (_, k, v) = c.entry;
            let r = cx.ed.entry_lines(k, v);
            let col = cx.ed.column(cx.y.span(k).start);
            w.edits.push(Edit::replace(
                cx.path,
                r.start,
                r.end,
                cx.ed.indent(&text, col),
            ));
        }
        None => match own_get(cx.y, cx.job, "runs-on") {
            Some((k, v)) => w.edits.push(cx.ed.insert_after_entry(cx.job, k, v, &text)),
            None => w.edits.push(cx.ed.append_to_map(cx.job, &text)),
        },
    }
    w.note("kaniko upstream is archived (2025-06-03); this uses the maintained osscontainertools fork (https://github.com/osscontainertools/kaniko; https://github.com/GoogleContainerTools/kaniko; docs/targets/kaniko.md)");
    w.note("kaniko runs as root inside its container and its RUN steps can read the registry credentials in /kaniko/.docker (https://github.com/GoogleContainerTools/kaniko/issues/105; docs/targets/kaniko.md)");
    w.note("other commands of the job now run in the kaniko debug image, which only has BusyBox");
    w.note(format!("the runner mounts the host's Docker socket into the kaniko job container too ({RUNNER_SOCKET_SOURCE}); on an ephemeral GitHub-hosted VM that reaches only the job's own VM"));
}

fn indent_plain(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Renderer<'_, '_> {
    /// A `run:` step holding `script` (column 0).
    fn run_step(&self, script: &str, carry: Option<&Carry>, first: bool, build: bool) -> String {
        let head = self.head(carry, first, build);
        let mut out = String::new();
        for (n, h) in head.iter().enumerate() {
            out.push_str(if n == 0 { "- " } else { "  " });
            out.push_str(h);
            out.push('\n');
        }
        out.push_str(if head.is_empty() { "- " } else { "  " });
        out.push_str("run: |\n");
        for l in script.lines() {
            if l.trim().is_empty() {
                out.push('\n');
            } else {
                out.push_str("    ");
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

/// Words of an `options:` string with their source ranges.
fn option_words(cx: &Cx<'_>, v: NodeId) -> Vec<(String, Range<usize>)> {
    let Some(s) = scalar(cx.y, v) else {
        return Vec::new();
    };
    shell::split_words(s)
        .into_iter()
        .take(MAX_ITEMS)
        .map(|w| {
            let a = cx.y.scalar_src_offset(v, w.span.start);
            let b =
                cx.y.scalar_src_offset(v, w.span.end.max(w.span.start + 1) - 1) + 1;
            (w.text, a..b.max(a))
        })
        .collect()
}

/// Source range removing one option word: its own line in a block scalar, else the word and
/// the blanks before it.
fn remove_word(cx: &Cx<'_>, r: &Range<usize>) -> Edit {
    let ls = cx.ed.line_start(r.start);
    let le = cx.ed.line_end_incl(r.start);
    let line = cx.text.get(ls..le).unwrap_or("");
    let word = cx.text.get(r.clone()).unwrap_or("");
    if line.trim() == word.trim() && !line.contains(':') {
        return Edit::delete(cx.path, ls, le);
    }
    let mut start = r.start;
    while start > ls && matches!(cx.text.as_bytes().get(start - 1), Some(b' ' | b'\t')) {
        start -= 1;
    }
    if cx.text.as_bytes().get(start.saturating_sub(1)) == Some(&b':') || start == ls {
        // First word of the value: eat the blanks after it instead.
        let mut end = r.end;
        while matches!(cx.text.as_bytes().get(end), Some(b' ' | b'\t')) {
            end += 1;
        }
        return Edit::delete(cx.path, r.start, end);
    }
    Edit::delete(cx.path, start, r.end)
}

fn sysbox(cx: &Cx<'_>, w: &mut Work) {
    if cx.hosted() {
        w.abort(format!(
            "{}: GitHub-hosted runners cannot install sysbox",
            cx.path
        ));
        return;
    }
    let runtime = cx
        .req
        .templates
        .versions()
        .0
        .get("sysbox_runtime")
        .cloned()
        .unwrap_or_else(|| "sysbox-runc".into());
    let mut ctrs: Vec<&Ctr> = cx.services.iter().collect();
    if let Some(c) = &cx.container {
        ctrs.push(c);
    }
    let mut socket_in_job_container = false;
    let mut changed = false;
    for c in &ctrs {
        let (_, _, v) = c.entry;
        if !is_map(cx.y, v) {
            continue;
        }
        if let Some((_, opts)) = own_get(cx.y, v, "options")
            && scalar(cx.y, opts).is_some()
        {
            let words = option_words(cx, opts);
            let has_runtime = words.iter().any(|(t, _)| t.starts_with("--runtime"));
            let mut replaced = has_runtime;
            let mut skip_next = false;
            for (n, (t, r)) in words.iter().enumerate() {
                if skip_next {
                    skip_next = false;
                    continue;
                }
                let written = cx.text.get(r.clone()).unwrap_or("");
                let privileged = t == "--privileged" || t == "--privileged=true";
                let host_ns = matches!(
                    t.as_str(),
                    "--userns=host" | "--pid=host" | "--net=host" | "--network=host" | "--ipc=host"
                );
                let host_ns_split = matches!(
                    t.as_str(),
                    "--userns" | "--pid" | "--net" | "--network" | "--ipc"
                ) && words.get(n + 1).is_some_and(|(nt, _)| nt == "host");
                if privileged && written == t {
                    if replaced {
                        w.edits.push(remove_word(cx, r));
                    } else {
                        w.edits.push(Edit::replace(
                            cx.path,
                            r.start,
                            r.end,
                            format!("--runtime={runtime}"),
                        ));
                        replaced = true;
                    }
                    changed = true;
                } else if host_ns && written == t {
                    w.edits.push(remove_word(cx, r));
                    changed = true;
                } else if host_ns_split && let Some((_, r2)) = words.get(n + 1) {
                    w.edits.push(remove_word(cx, &(r.start..r2.end)));
                    skip_next = true;
                    changed = true;
                }
            }
        }
        if let Some((vk, vols)) = own_get(cx.y, v, "volumes")
            && let Some(list) = cx.y.seq(vols)
        {
            let doomed: Vec<NodeId> = list
                .iter()
                .copied()
                .filter(|i| {
                    scalar(cx.y, *i).is_some_and(|s| {
                        crate::rules::is_socket_path(crate::rules::volume_source(s))
                    })
                })
                .collect();
            if !doomed.is_empty() && c.name.is_none() {
                // The runner mounts the host's socket into every job container on Linux
                // whatever `volumes:` says (actions/runner
                // src/Runner.Worker/Container/ContainerInfo.cs): deleting this line would
                // change nothing, so it stays and the finding stays with it.
                socket_in_job_container = true;
            } else if !doomed.is_empty() {
                changed = true;
                if doomed.len() == list.len() {
                    w.edits.push(remove_entry(cx, v, vk, vols));
                } else {
                    for i in doomed {
                        w.edits.push(cx.ed.remove_item(vols, i));
                    }
                }
            }
        }
    }
    // Run steps: `docker run --privileged …` → `--runtime=sysbox-runc`.
    for f in &cx.req.findings {
        if f.path != cx.path || !matches!(f.rule, "privileged-container" | "privileged-dind") {
            continue;
        }
        let in_step = cx.steps.iter().any(|s| {
            s.run.is_some_and(|(_, v)| {
                let r = cx.y.span(v);
                r.start <= f.span.start && f.span.end <= cx.node_end(v).max(r.end)
            })
        });
        if in_step
            && let Some(t) = cx.text.get(f.span.start..f.span.end)
            && (t == "--privileged" || t == "--privileged=true")
        {
            w.edits.push(Edit::replace(
                cx.path,
                f.span.start,
                f.span.end,
                format!("--runtime={runtime}"),
            ));
            changed = true;
        }
    }
    if cx.container.is_some() && !cx.hosted() {
        job_container_socket_task(cx, socket_in_job_container, w);
    }
    if !changed {
        return;
    }
    let install = cx
        .render(
            "daemon/sysbox-install.sh",
            &serde_json::json!({ "where": "every self-hosted runner host" }),
            w,
        )
        .unwrap_or_default();
    w.task(
        "Install sysbox on the self-hosted runner hosts (systemd, kernel ≥ 5.12 or shiftfs; .deb packages for Ubuntu/Debian, amd64 and arm64)",
        "every self-hosted runner host",
        &install,
        "sh",
    );
    w.task(
        "Register the sysbox runtime with Docker (the installer does this; restart or SIGHUP dockerd otherwise)",
        "/etc/docker/daemon.json on every self-hosted runner host",
        SYSBOX_DAEMON_JSON,
        "json",
    );
    w.note("sysbox needs a host install and is supported best-effort (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; docs/targets/sysbox.md); it rejects privileged and host namespaces, which were removed (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md)");
}

/// Where the runner mounts the host's Docker socket into job containers.
pub(crate) const RUNNER_SOCKET_SOURCE: &str =
    "actions/runner src/Runner.Worker/Container/ContainerInfo.cs";

/// A self-hosted job with a `container:` keeps the host's Docker socket: the runner mounts it
/// into every job container. Say so, and offer what removes the daemon from reach.
fn job_container_socket_task(cx: &Cx<'_>, explicit: bool, w: &mut Work) {
    let job = cx.req.pipeline.name.as_str();
    let arc = cx
        .render("kube/arc-dind-sysbox.yaml", &serde_json::json!({}), w)
        .unwrap_or_default();
    let dind = cx
        .req
        .templates
        .versions()
        .0
        .get("dind")
        .cloned()
        .unwrap_or_default();
    let runtime = cx
        .req
        .templates
        .versions()
        .0
        .get("sysbox_runtime")
        .cloned()
        .unwrap_or_default();
    let snippet = format!(
        "# Option 1 (recommended): run the runners themselves under sysbox, so the Docker daemon a\n\
         # job container reaches is the runner pod's own. actions-runner-controller values\n\
         # (gha-runner-scale-set, charts/gha-runner-scale-set/values.yaml; see docs/targets/sysbox.md\n\
         # \"Install sysbox on the Kubernetes nodes\"):\n{arc}\n\
         # Option 2: drop `container:` from job `{job}` and run what needs containers in a daemon of\n\
         # its own under sysbox (a service `docker` with image {dind}, options --runtime={runtime},\n\
         # DOCKER_TLS_CERTDIR=/certs), started with `docker run --rm -v \"$PWD:/w\" -w /w IMAGE …` from\n\
         # the steps. This only helps when the runner user cannot reach the host's daemon itself.\n"
    );
    let what = if explicit {
        "deleting its `/var/run/docker.sock` volume would not remove the mount"
    } else {
        "every job container gets it"
    };
    w.task(
        &format!(
            "Job `{job}`: its `container:` keeps the host's Docker socket — the runner mounts /var/run/docker.sock into every job container on Linux ({RUNNER_SOCKET_SOURCE}), so {what}; run the runners under sysbox or drop the job container"
        ),
        &cx.location(),
        &snippet,
        "yaml",
    );
    w.note(format!(
        "docker-socket-mount stays for job `{job}`: the runner mounts the host's Docker socket into every job container ({RUNNER_SOCKET_SOURCE})"
    ));
}

/// Add entries to the job's `env` (creating it after `runs-on`), replacing `DOCKER_HOST` and
/// TLS entries that are already there.
fn set_job_env(cx: &Cx<'_>, fragment: &str, w: &mut Work) {
    let names: BTreeSet<String> = fragment
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
        .collect();
    match env_of(cx, cx.job) {
        Some((_, _, env)) if is_block_map(cx.y, env) => {
            let entries = own_entries(cx.y, env);
            for (n, k, v) in &entries {
                if names.contains(n) {
                    w.edits.push(remove_entry(cx, env, *k, *v));
                }
            }
            if entries.iter().all(|(n, _, _)| names.contains(n)) {
                // Everything is replaced: keep the key, rewrite its value.
                if let Some((k, v)) = own_get(cx.y, cx.job, "env") {
                    w.edits.retain(|e| {
                        !(e.start >= cx.y.span(v).start
                            && e.end <= cx.ed.line_end_incl(cx.node_end(v).saturating_sub(1)))
                    });
                    w.edits.push(cx.ed.replace_value(k, v, fragment));
                }
                return;
            }
            w.edits.push(cx.ed.append_to_map(env, fragment));
        }
        Some(_) => w.abort(format!(
            "{}: the `env:` of job `{}` is not a block mapping",
            cx.path, cx.req.pipeline.name
        )),
        None => {
            let text = format!("env:\n{}", indent_plain(fragment, 2));
            match own_get(cx.y, cx.job, "runs-on") {
                Some((k, v)) => w.edits.push(cx.ed.insert_after_entry(cx.job, k, v, &text)),
                None => w.edits.push(cx.ed.append_to_map(cx.job, &text)),
            }
        }
    }
}

fn rootless(cx: &Cx<'_>, w: &mut Work) {
    let daemons: Vec<&Ctr> = cx.services.iter().filter(|s| s.daemon).collect();
    if daemons.is_empty() {
        let what = if cx.container.as_ref().is_some_and(|c| c.daemon) {
            "its Docker daemon runs in the job container, whose steps would need DOCKER_HOST=unix:///run/user/1000/docker.sock"
        } else {
            "it has no docker:dind service"
        };
        w.abort(format!(
            "{}: job `{}` cannot move to rootless dind automatically: {what}",
            cx.path, cx.req.pipeline.name
        ));
        return;
    }
    let Some(img) = cx.req.templates.versions().0.get("dind_rootless").cloned() else {
        w.abort("templates/versions.toml has no `dind_rootless`");
        return;
    };
    for s in &daemons {
        let (_, _, v) = s.entry;
        let image = s.image.as_deref().unwrap_or("");
        if image.contains("rootless") {
            continue;
        }
        let (name, _) = image.rsplit_once(':').unwrap_or((image, ""));
        if basename(name) != "docker" {
            w.task(
                &format!(
                    "Service `{}` runs `{image}`: switch it to a rootless dind image by hand",
                    s.name.as_deref().unwrap_or("?")
                ),
                &cx.location(),
                "",
                "",
            );
            continue;
        }
        let node = if is_map(cx.y, v) {
            own_get(cx.y, v, "image").map(|(_, i)| i)
        } else {
            Some(v)
        };
        if let Some(i) = node
            && scalar(cx.y, i).is_some()
        {
            let r = cx.y.span(i);
            w.edits.push(Edit::replace(
                cx.path,
                r.start,
                cx.node_end(i).max(r.start),
                yaml_scalar(&img),
            ));
        }
        // The rootless daemon keeps its data in /home/rootless/.local/share/docker
        // (docker-library/docker Dockerfile-dind-rootless.template).
        if is_map(cx.y, v)
            && let Some((_, vols)) = own_get(cx.y, v, "volumes")
        {
            for item in cx.y.seq(vols).unwrap_or(&[]).iter().copied() {
                let Some(text) = scalar(cx.y, item) else {
                    continue;
                };
                let target = text.split(':').nth(1).unwrap_or("");
                if target.trim_end_matches('/') != "/var/lib/docker" {
                    continue;
                }
                let new =
                    text.replacen(":/var/lib/docker", ":/home/rootless/.local/share/docker", 1);
                let r = cx.y.span(item);
                w.edits.push(Edit::replace(
                    cx.path,
                    r.start,
                    cx.node_end(item).max(r.start),
                    yaml_scalar(&new),
                ));
                w.note("the dind storage volume moves from /var/lib/docker to /home/rootless/.local/share/docker, where the rootless daemon keeps its data");
            }
        }
    }
    harden_tls(cx, &daemons, w);
    w.note("rootless dind is still privileged: seccomp, AppArmor and mount masks need --privileged, so privileged-dind stays (https://docs.docker.com/engine/security/rootless/tips/; docs/targets/rootless.md)");
    w.note("rootless Docker cannot publish ports below 1024 (https://docs.docker.com/engine/security/rootless/troubleshoot/; docs/targets/rootless.md); the runner host needs user namespaces (https://docs.docker.com/engine/security/rootless/troubleshoot/; docs/targets/rootless.md)");
}

fn tls(cx: &Cx<'_>, w: &mut Work) {
    let daemons: Vec<&Ctr> = cx.services.iter().filter(|s| s.daemon).collect();
    if daemons.is_empty() {
        if cx.container.as_ref().is_some_and(|c| c.daemon) {
            w.note("the job's own dind container talks to its daemon over a local Unix socket: there is no TCP endpoint to protect");
        }
        w.abort(format!(
            "{}: job `{}` has no dind service to harden with TLS",
            cx.path, cx.req.pipeline.name
        ));
        return;
    }
    harden_tls(cx, &daemons, w);
    w.note("TLS hardening only: the dind daemon stays privileged (https://hub.docker.com/_/docker; docs/targets/tls.md)");
}

/// A mapping entry: (mapping, key, value).
type Owned = (NodeId, NodeId, NodeId);

/// Switch dind services and their clients to TLS on 2376 with shared client certificates.
fn harden_tls(cx: &Cx<'_>, daemons: &[&Ctr], w: &mut Work) {
    let mut switched = false;
    for s in daemons {
        let (_, _, v) = s.entry;
        if !is_map(cx.y, v) {
            continue;
        }
        if let Some((_, _, env)) = env_of(cx, v) {
            for (n, _, val) in own_entries(cx.y, env) {
                if n == "DOCKER_TLS_CERTDIR"
                    && (cx.y.is_null(val) || scalar(cx.y, val).is_some_and(|x| x.trim().is_empty()))
                {
                    let r = cx.y.span(val);
                    if r.start == r.end {
                        w.edits.push(Edit::insert(cx.path, r.start, " /certs"));
                    } else {
                        w.edits.push(Edit::replace(
                            cx.path,
                            r.start,
                            cx.node_end(val).max(r.start),
                            "/certs",
                        ));
                    }
                    switched = true;
                }
            }
        }
        if let Some((_, ports)) = own_get(cx.y, v, "ports") {
            for p in
                cx.y.seq(ports)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .chain(scalar(cx.y, ports).map(|_| ports))
            {
                if scalar(cx.y, p).is_some_and(crate::rules::is_plaintext_port) {
                    let r = cx.y.span(p);
                    let raw = cx
                        .text
                        .get(r.start..cx.node_end(p).max(r.start))
                        .unwrap_or("");
                    let new = raw
                        .split(':')
                        .map(|part| {
                            let (num, rest) = part.split_at(
                                part.find(|c: char| !c.is_ascii_digit())
                                    .unwrap_or(part.len()),
                            );
                            let lead = num.is_empty() && part.starts_with(['"', '\'']);
                            if num == "2375" {
                                format!("2376{rest}")
                            } else if lead
                                && let Some((quote, tail)) = part.split_at_checked(1)
                                && let Some(tail) = tail.strip_prefix("2375")
                            {
                                format!("{quote}2376{tail}")
                            } else {
                                part.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(":");
                    w.edits.push(Edit::replace(
                        cx.path,
                        r.start,
                        r.end.max(r.start + raw.len()),
                        new,
                    ));
                    switched = true;
                }
            }
        }
    }
    // Clients: DOCKER_HOST variables and `-H` flags that name the daemon on 2375.
    let mut clients: Vec<(String, Option<Owned>)> = Vec::new();
    for owner in job_envs(cx) {
        let (parent, _, env) = owner;
        if parent == cx.root
            && !cx.action
            && other_jobs_use_dind(cx)
            && own_get(cx.y, env, "DOCKER_HOST").is_some()
        {
            w.abort(format!(
                "{}: job `{}` reaches its dind through the workflow-level DOCKER_HOST, which other jobs with a Docker daemon share; set DOCKER_HOST per job first",
                cx.path, cx.req.pipeline.name
            ));
            return;
        }
        for (n, k, val) in own_entries(cx.y, env) {
            if n != "DOCKER_HOST" {
                continue;
            }
            let Some(s) = scalar(cx.y, val) else {
                continue;
            };
            if !points_at_dind(cx, s) {
                continue;
            }
            if crate::rules::is_plaintext_tcp(s) {
                let r = cx.y.span(val);
                let raw = cx
                    .text
                    .get(r.start..cx.node_end(val).max(r.start))
                    .unwrap_or("");
                if let Some(i) = raw.rfind(":2375") {
                    w.edits.push(Edit::replace(
                        cx.path,
                        r.start + i + 1,
                        r.start + i + 5,
                        "2376",
                    ));
                }
                switched = true;
            }
            clients.push((tcp_host(s).unwrap_or("").to_string(), Some((env, k, val))));
        }
    }
    for f in &cx.req.findings {
        if f.path != cx.path || f.rule != "plaintext-docker-daemon" {
            continue;
        }
        let in_step = cx.steps.iter().any(|s| {
            s.run.is_some_and(|(_, v)| {
                let r = cx.y.span(v);
                r.start <= f.span.start && f.span.end <= r.end.max(cx.node_end(v))
            })
        });
        let Some(t) = cx.text.get(f.span.start..f.span.end) else {
            continue;
        };
        if in_step
            && let Some(i) = t.rfind(":2375")
            && t.contains("tcp://")
        {
            w.edits.push(Edit::replace(
                cx.path,
                f.span.start + i + 1,
                f.span.start + i + 5,
                "2376",
            ));
            let host = t
                .split("tcp://")
                .nth(1)
                .and_then(|h| h.split(':').next())
                .unwrap_or("");
            clients.push((host.to_string(), None));
            switched = true;
        }
    }
    if !switched || clients.is_empty() {
        return;
    }
    // Certificates: a named volume for a job container, a host directory for host steps. The
    // rootless daemon (UID 1000) cannot write a host directory Docker creates as root, so it
    // always gets a named volume, and host steps copy the client certificates out of it.
    let in_container = cx.container.as_ref().is_some_and(|c| !c.daemon);
    let rootless = cx.req.target == Target::Rootless;
    let (source, cert_path) = if in_container {
        (
            format!("dind-certs-{JOB_SUFFIX}"),
            "/certs/client".to_string(),
        )
    } else if rootless {
        (
            format!("dind-certs-{JOB_SUFFIX}"),
            format!("/tmp/dind-certs-{JOB_SUFFIX}"),
        )
    } else {
        let p = format!("/tmp/dind-certs-{JOB_SUFFIX}");
        (p.clone(), p)
    };
    if rootless && !in_container {
        let service = daemons
            .iter()
            .find_map(|d| d.name.clone())
            .unwrap_or_default();
        copy_certs_step(cx, &service, &cert_path, w);
    }
    for s in daemons {
        let (_, _, v) = s.entry;
        if !is_block_map(cx.y, v) {
            continue;
        }
        let vol = format!("{source}:/certs/client");
        add_seq_item(cx, v, "volumes", &vol, w);
        let host = clients.iter().map(|(h, _)| h.as_str()).find(|h| {
            !matches!(*h, "" | "docker" | "localhost" | "127.0.0.1")
                && s.name.as_deref() == Some(*h)
        });
        if let Some(h) = host {
            add_map_entry(cx, v, "env", &format!("DOCKER_TLS_SAN: DNS:{h}"), w);
        }
    }
    if in_container && let Some(c) = &cx.container {
        let (_, _, cv) = c.entry;
        if is_block_map(cx.y, cv) {
            add_seq_item(cx, cv, "volumes", &format!("{source}:/certs/client"), w);
        }
    }
    let Some(tls) = cx.render(
        "github/docker-tls-env.yml",
        &serde_json::json!({ "cert_path": cert_path }),
        w,
    ) else {
        return;
    };
    let mut placed = false;
    for (_, at) in &clients {
        if let Some((env, k, val)) = at {
            let present: BTreeSet<String> = own_entries(cx.y, *env)
                .into_iter()
                .map(|(n, _, _)| n)
                .collect();
            let missing: String = tls
                .lines()
                .filter(|l| {
                    l.split_once(':')
                        .is_some_and(|(n, _)| !present.contains(n.trim()))
                })
                .map(|l| format!("{l}\n"))
                .collect();
            if !missing.is_empty() && is_block_map(cx.y, *env) {
                w.edits
                    .push(cx.ed.insert_after_entry(*env, *k, *val, &missing));
            }
            placed = true;
        }
    }
    if !placed {
        add_env_entries(cx, &tls, w);
    }
    w.note(format!(
        "the dind client certificates are shared through {} (https://hub.docker.com/_/docker; docs/targets/tls.md)",
        if in_container {
            "a per-job named volume mounted at /certs/client"
        } else if rootless {
            "a per-job named volume (the rootless daemon runs as UID 1000 and cannot write a root-owned host directory), copied to a per-job directory under /tmp by the first step"
        } else {
            "a per-job directory under /tmp on the runner host"
        }
    ));
}

/// Insert, as the job's first step, the step that copies the rootless dind's client
/// certificates from its service container to `dir` on the runner host.
fn copy_certs_step(cx: &Cx<'_>, service: &str, dir: &str, w: &mut Work) {
    let Some(step) = cx.render(
        "github/dind-certs-copy.yml",
        &serde_json::json!({ "service": service, "dir": dir }),
        w,
    ) else {
        return;
    };
    let first = cx
        .steps_seq
        .and_then(|s| cx.y.seq(s).and_then(|items| items.first().copied()));
    match first {
        Some(item) => {
            let col = cx.dash_col(item).unwrap_or(0);
            let at = cx.item_lines(item).start;
            w.edits
                .push(Edit::insert(cx.path, at, cx.ed.indent(&step, col)));
        }
        None => w.abort(format!(
            "{}: job `{}` has no block list of steps to copy the dind certificates in",
            cx.path, cx.req.pipeline.name
        )),
    }
}

/// Append `- item` to the sequence `key` of `map` (creating it), unless an equal item is there.
fn add_seq_item(cx: &Cx<'_>, map: NodeId, key: &str, item: &str, w: &mut Work) {
    match own_get(cx.y, map, key) {
        Some((_, seq)) if is_block_seq(cx.y, seq) => {
            let items = cx.y.seq(seq).unwrap_or(&[]);
            if items.iter().any(|i| scalar(cx.y, *i) == Some(item)) {
                return;
            }
            if let Some(last) = items.last() {
                let col = cx.dash_col(*last).unwrap_or(0);
                let r = cx.item_lines(*last);
                w.edits.push(Edit::insert(
                    cx.path,
                    r.end,
                    cx.ed.indent(&format!("- {item}"), col),
                ));
            }
        }
        Some(_) => w.note(format!(
            "{}: `{key}` is not a block list; add `{item}` by hand",
            cx.path
        )),
        None => w
            .edits
            .push(cx.ed.append_to_map(map, &format!("{key}:\n  - {item}"))),
    }
}

/// Add `entry` (one `K: V` line) to the mapping `key` of `map` (creating it).
fn add_map_entry(cx: &Cx<'_>, map: NodeId, key: &str, entry: &str, w: &mut Work) {
    let name = entry.split(':').next().unwrap_or("").trim();
    match own_get(cx.y, map, key) {
        Some((_, m)) if is_block_map(cx.y, m) => {
            if own_get(cx.y, m, name).is_none() {
                w.edits.push(cx.ed.append_to_map(m, entry));
            }
        }
        Some(_) => w.note(format!(
            "{}: `{key}` is not a block mapping; add `{entry}` by hand",
            cx.path
        )),
        None => w
            .edits
            .push(cx.ed.append_to_map(map, &format!("{key}:\n  {entry}"))),
    }
}

/// Add entries to the job's env (created after `runs-on`), skipping names already set.
fn add_env_entries(cx: &Cx<'_>, fragment: &str, w: &mut Work) {
    match env_of(cx, cx.job) {
        Some((_, _, env)) if is_block_map(cx.y, env) => {
            let present: BTreeSet<String> = own_entries(cx.y, env).into_iter().map(|(n, _, _)| n).collect();
            let missing: String = fragment
                .lines()
                .filter(|l| l.split_once(':').is_some_and(|(n, _)| !present.contains(n.trim())))
                .map(|l| format!("{l}\n"))
                .collect();
            if !missing.is_empty() {
                w.edits.push(cx.ed.append_to_map(env, &missing));
            }
        }
        Some(_) => w.note(format!("{}: the job `env:` is not a block mapping; set DOCKER_TLS_VERIFY and DOCKER_CERT_PATH by hand", cx.path)),
        None => set_job_env(cx, fragment, w),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::config::Environment;
    use crate::finding::Finding;
    use crate::rewrite::MemFiles;
    use crate::scan::{self, ScanResult};
    use crate::templates::Templates;

    const WF: &str = ".github/workflows/ci.yml";

    fn scan_one(path: &str, src: &str) -> ScanResult {
        let mut files = BTreeMap::new();
        files.insert(path.to_string(), src.to_string());
        scan::scan_memory(files, &Config::default())
    }

    /// Rewrite `job` of `src` for `target`: (new text, outcome).
    fn run_at(path: &str, src: &str, job: &str, target: Target) -> (String, Outcome) {
        let scan = scan_one(path, src);
        let Some(p) = scan.pipelines.iter().find(|p| p.name == job) else {
            panic!("no pipeline {job}: {:?}", scan.pipelines);
        };
        let findings: Vec<&Finding> = scan
            .findings
            .iter()
            .filter(|f| !f.suppressed && f.pipeline.as_deref() == Some(job))
            .collect();
        let env = Environment::default();
        let templates = Templates::builtin();
        let mut m = BTreeMap::new();
        m.insert(path.to_string(), Arc::<str>::from(src));
        let files = MemFiles(m);
        let req = Request {
            pipeline: p,
            target,
            findings,
            env: &env,
            templates: &templates,
            files: &files,
        };
        let o = rewrite(&req);
        let out = edit::apply(src, &o.edits).expect("edits apply");
        (out, o)
    }

    fn run(src: &str, job: &str, target: Target) -> (String, Outcome) {
        run_at(WF, src, job, target)
    }

    /// Active findings of a job.
    fn active(path: &str, src: &str, job: &str) -> Vec<String> {
        scan_one(path, src)
            .findings
            .iter()
            .filter(|f| !f.suppressed && f.pipeline.as_deref() == Some(job))
            .map(|f| f.rule.to_string())
            .collect()
    }

    /// A second run on the result changes nothing.
    fn idempotent(path: &str, out: &str, job: &str, target: Target) {
        if active(path, out, job).is_empty() {
            return;
        }
        let (again, o) = run_at(path, out, job, target);
        assert!(o.edits.is_empty(), "second run edits: {:?}", o.edits);
        assert_eq!(again, out);
    }

    fn crlf(s: &str) -> String {
        s.replace('\n', "\r\n")
    }

    const HOSTED: &str = "name: ci
on: [push]
env:
  REGISTRY: ghcr.io
jobs:
  image:
    runs-on: ubuntu-24.04 # hosted
    services:
      docker:
        image: docker:dind
        options: --privileged
        env:
          DOCKER_TLS_CERTDIR: \"\"
        ports:
          - 2375:2375
    env:
      DOCKER_HOST: tcp://localhost:2375
      IMAGE: ghcr.io/acme/shop
    steps:
      - uses: actions/checkout@v4
      - name: Log in
        run: echo \"${{ secrets.GITHUB_TOKEN }}\" | docker login $REGISTRY -u \"${{ github.actor }}\" --password-stdin
      - name: Build and push
        if: github.ref == 'refs/heads/main'
        run: |
          set -eu
          docker build -f docker/Dockerfile --build-arg V=1 -t \"$IMAGE:$GITHUB_SHA\" .
          docker tag \"$IMAGE:$GITHUB_SHA\" \"$IMAGE:latest\"
          docker push \"$IMAGE:$GITHUB_SHA\"
          docker push \"$IMAGE:latest\"
      - run: echo done
";

    const SELF_HOSTED: &str = "name: ci
on: [push]
jobs:
  build:
    runs-on: [self-hosted, linux]
    container:
      image: docker:29-dind
      options: --privileged
    steps:
      - uses: actions/checkout@v4
      - name: build
        working-directory: app
        run: |
          make prepare
          dockerd-entrypoint.sh &
          sleep 5
          docker build -t app:1 .
          # report
          ./scripts/report.sh
";

    const SYSBOX: &str = "name: ci
on: [push]
jobs:
  test:
    runs-on: [self-hosted]
    container:
      image: node:22
      options: >-
        --privileged
        --pid=host
        --cpus 2
      volumes:
        - /var/run/docker.sock:/var/run/docker.sock
        - /cache:/cache
    services:
      ui:
        image: joxit/docker-registry-ui:2.5.7
        options: --privileged --userns host
        volumes: [/var/run/docker.sock:/var/run/docker.sock]
    steps:
      - run: npm test
";

    const KANIKO: &str = "name: ci
on: [push]
jobs:
  image:
    runs-on: ubuntu-24.04
    services:
      docker:
        image: docker:29-dind
        options: --privileged
    env:
      DOCKER_HOST: tcp://docker:2376
    steps:
      - run: |
          echo \"$REG_PASSWORD\" | docker login registry.example.com -u ci --password-stdin
          docker build -t registry.example.com/app:${{ github.sha }} .
          docker push registry.example.com/app:${{ github.sha }}
";

    const ACTION: &str = "name: build
description: build for arm64
runs:
  using: composite
  steps:
    - shell: bash
      run: docker run --rm --privileged tonistiigi/binfmt --install arm64
    - shell: bash
      run: docker buildx build --platform linux/arm64 -t app .
";

    const HOSTED_BUILDKIT: &str = "name: ci
on: [push]
env:
  REGISTRY: ghcr.io
jobs:
  image:
    runs-on: ubuntu-24.04 # hosted
    env:
      IMAGE: ghcr.io/acme/shop
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@v4
      - name: Log in
        uses: docker/login-action@v4
        with:
          registry: ${{ env.REGISTRY }}
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - name: Build and push
        if: github.ref == 'refs/heads/main'
        uses: docker/build-push-action@v7
        with:
          context: .
          file: docker/Dockerfile
          tags: |
            ${{ env.IMAGE }}:${{ github.sha }}
            ${{ env.IMAGE }}:latest
          build-args: V=1
          push: true
      - run: echo done
";

    #[test]
    fn hosted_build_job_moves_to_build_push_action() {
        for (src, want) in [
            (HOSTED.to_string(), HOSTED_BUILDKIT.to_string()),
            (crlf(HOSTED), crlf(HOSTED_BUILDKIT)),
        ] {
            let (out, o) = run(&src, "image", Target::Buildkit);
            assert_eq!(out, want);
            assert_eq!(o.addressed.len(), 4, "{:?}", o.notes);
            assert!(o.manual.is_empty());
            assert!(
                o.notes
                    .iter()
                    .any(|n| n.contains("docker-container/driver.go"))
            );
            assert!(active(WF, &out, "image").is_empty());
        }
    }

    const SELF_HOSTED_BUILDKIT: &str = "name: ci
on: [push]
jobs:
  build:
    runs-on: [self-hosted, linux]
    steps:
      - uses: actions/checkout@v4
      - name: build
        working-directory: app
        run: |
          make prepare
      - name: Start rootless BuildKit
        run: |
          # mTLS certificates for this job only (CA, server for 127.0.0.1, client)
          umask 077
          d=\"$RUNNER_TEMP/buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}\"
          mkdir -p \"$d/server\"
          cd \"$d\"
          openssl req -x509 -newkey rsa:3072 -nodes -days 1 -subj /CN=buildkit-ca -keyout ca-key.pem -out ca.pem 2>/dev/null
          openssl req -newkey rsa:3072 -nodes -subj /CN=buildkitd -keyout server/key.pem -out server.csr 2>/dev/null
          printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
          openssl x509 -req -days 1 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -extfile server.ext -out server/cert.pem 2>/dev/null
          openssl req -newkey rsa:3072 -nodes -subj /CN=buildx -keyout client-key.pem -out client.csr 2>/dev/null
          printf 'extendedKeyUsage=clientAuth\\n' > client.ext
          openssl x509 -req -days 1 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -extfile client.ext -out client.pem 2>/dev/null
          # the daemon (UID 1000) reads its files after `docker cp` makes them root-owned
          cp ca.pem server/ca.pem && chmod 0644 server/*.pem && rm -f ca-key.pem ./*.csr ./*.ext ./*.srl
          # depriv: ignore[seccomp-unconfined] rootless BuildKit needs seccomp and AppArmor unconfined (github.com/moby/buildkit/blob/master/docs/rootless.md); see docs/targets/buildkit.md \"Residual risk\"
          docker create --name buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }} --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined -p 127.0.0.1::1234 moby/buildkit:v0.32.2-rootless --addr tcp://0.0.0.0:1234 --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem
          docker cp \"$d/server\" buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}:/certs
          docker start buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}
          echo \"BUILDKIT_ENDPOINT=tcp://$(docker port buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }} 1234/tcp | head -n 1)\" >> \"$GITHUB_ENV\"
          echo \"BUILDKIT_CERTS=$d\" >> \"$GITHUB_ENV\"
      - uses: docker/setup-buildx-action@v4
        with:
          driver: remote
          endpoint: ${{ env.BUILDKIT_ENDPOINT }}
          driver-opts: |
            cacert=${{ env.BUILDKIT_CERTS }}/ca.pem
            cert=${{ env.BUILDKIT_CERTS }}/client.pem
            key=${{ env.BUILDKIT_CERTS }}/client-key.pem
      - uses: docker/build-push-action@v7
        with:
          context: app
          tags: app:1
          push: false
      - name: Stop rootless BuildKit
        if: always()
        run: docker rm -f buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}; rm -rf \"$RUNNER_TEMP/buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}\"
      - run: |
          # report
          ./scripts/report.sh
        working-directory: app
";

    #[test]
    fn self_hosted_build_splits_the_step_around_a_remote_buildkit() {
        for (src, want) in [
            (SELF_HOSTED.to_string(), SELF_HOSTED_BUILDKIT.to_string()),
            (crlf(SELF_HOSTED), crlf(SELF_HOSTED_BUILDKIT)),
        ] {
            let (out, o) = run(&src, "build", Target::Buildkit);
            assert_eq!(out, want);
            // The privileged dind and the socket the runner mounts into a job `container:`:
            // the job no longer runs in a container, so both are gone.
            assert_eq!(o.addressed.len(), 2);
            assert_eq!(o.manual.len(), 1, "user namespaces task");
            // The unconfined profile is suppressed with a reason, not hidden.
            let scan = scan_one(WF, &out);
            assert!(
                scan.findings
                    .iter()
                    .any(|f| f.rule == "seccomp-unconfined" && f.suppressed)
            );
            assert!(active(WF, &out, "build").is_empty());
        }
    }

    #[test]
    fn unmappable_docker_commands_leave_the_job_alone() {
        let cases = [
            (
                "docker build --secret id=npm,src=.npmrc -t app .",
                "--secret",
            ),
            ("docker build --add-host db:10.0.0.1 -t app .", "--add-host"),
            (
                "docker tag upstream/app:1 app:1\n          docker push app:1",
                "promotion",
            ),
            (
                "TAG=$(git rev-parse HEAD)\n          docker build -t app:$TAG .",
                "set by the script",
            ),
            ("docker build -t app . || exit 1", "mixes docker commands"),
            (
                "if true; then\n            docker build -t app .\n          fi",
                "inside a shell block",
            ),
            ("docker login -u me registry.example.com", "password"),
        ];
        for (script, why) in cases {
            let src = format!(
                "jobs:\n  b:\n    runs-on: [self-hosted]\n    services:\n      docker:\n        image: docker:dind\n        options: --privileged\n    steps:\n      - run: |\n          {script}\n"
            );
            // Self-hosted: without the dind the commands would have no daemon; nothing moves.
            let (out, o) = run(&src, "b", Target::Buildkit);
            assert_eq!(out, src, "{script}");
            assert!(o.addressed.is_empty());
            assert_eq!(o.status, Some(Status::Manual));
            assert!(
                o.notes.iter().any(|n| n.contains(why)),
                "{script}: {:?}",
                o.notes
            );
            assert_eq!(o.manual.len(), 1);
            // GitHub-hosted: the dind goes, the commands stay and use the VM's own Docker.
            let hosted = src.replace("[self-hosted]", "ubuntu-24.04");
            let (out, o) = run(&hosted, "b", Target::Buildkit);
            let want = hosted.replace(
                "    services:\n      docker:\n        image: docker:dind\n        options: --privileged\n",
                "",
            );
            assert_eq!(out, want, "{script}");
            assert_eq!(o.addressed.len(), 1);
            assert!(o.notes.iter().any(|n| n.contains(why)), "{:?}", o.notes);
            assert_eq!(o.manual.len(), 1);
        }
        // A command that names the daemon itself cannot fall back to the VM's Docker.
        let src = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      docker:\n        image: docker:dind\n        options: --privileged\n    steps:\n      - run: docker -H tcp://localhost:2375 build --secret id=a,src=b -t app .\n";
        let (out, o) = run(src, "b", Target::Buildkit);
        assert_eq!(out, src);
        assert_eq!(o.status, Some(Status::Manual));
    }

    const SYSBOX_OUT: &str = "name: ci
on: [push]
jobs:
  test:
    runs-on: [self-hosted]
    container:
      image: node:22
      options: >-
        --runtime=sysbox-runc
        --cpus 2
      volumes:
        - /var/run/docker.sock:/var/run/docker.sock
        - /cache:/cache
    services:
      ui:
        image: joxit/docker-registry-ui:2.5.7
        options: --runtime=sysbox-runc
    steps:
      - run: npm test
";

    #[test]
    fn sysbox_swaps_privileged_for_the_runtime_and_drops_the_socket() {
        for (src, want) in [
            (SYSBOX.to_string(), SYSBOX_OUT.to_string()),
            (crlf(SYSBOX), crlf(SYSBOX_OUT)),
        ] {
            let (out, o) = run(&src, "test", Target::Sysbox);
            assert_eq!(out, want);
            assert_eq!(o.addressed.len(), 3);
            assert!(
                o.manual
                    .iter()
                    .any(|m| m.lang == "json" && m.snippet.contains("sysbox-runc"))
            );
            // The runner mounts the host's socket into every job container: deleting the
            // volume line would not remove it, so both findings stay (the explicit volume and
            // the runner's own mount at `container:`), with a task that removes them.
            assert_eq!(
                active(WF, &out, "test"),
                vec!["docker-socket-mount", "docker-socket-mount"]
            );
            let task = o
                .manual
                .iter()
                .find(|m| m.title.contains("keeps the host's Docker socket"))
                .expect("a task for the job container");
            assert!(task.title.contains(RUNNER_SOCKET_SOURCE));
            assert!(task.snippet.contains("runtimeClassName: sysbox-runc"));
            assert!(
                o.notes
                    .iter()
                    .any(|n| n.contains("docker-socket-mount stays"))
            );
            let scan = scan_one(WF, &out);
            assert!(scan.findings.iter().any(|f| f.rule == "docker-socket-mount"
                && !f.suppressed
                && f.message.contains("self-hosted runner")));
        }
        // GitHub-hosted runners cannot install sysbox.
        let (out, o) = run(HOSTED, "image", Target::Sysbox);
        assert_eq!(out, HOSTED);
        assert!(o.edits.is_empty());
    }

    const ROOTLESS_OUT: &str = "name: ci
on: [push]
env:
  REGISTRY: ghcr.io
jobs:
  image:
    runs-on: ubuntu-24.04 # hosted
    services:
      docker:
        image: docker:29-dind-rootless
        options: --privileged
        env:
          DOCKER_TLS_CERTDIR: /certs
        ports:
          - 2376:2376
        volumes:
          - dind-certs-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}:/certs/client
    env:
      DOCKER_HOST: tcp://localhost:2376
      DOCKER_TLS_VERIFY: \"1\"
      DOCKER_CERT_PATH: /tmp/dind-certs-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}-${{ strategy.job-index }}
      IMAGE: ghcr.io/acme/shop
";

    #[test]
    fn rootless_and_tls_keep_dind_privileged_but_speak_tls() {
        let head = |s: &str| s.split("    steps:").next().unwrap_or("").to_string();
        for src in [HOSTED.to_string(), crlf(HOSTED)] {
            let (out, o) = run(&src, "image", Target::Rootless);
            let want = if src.contains('\r') {
                crlf(ROOTLESS_OUT)
            } else {
                ROOTLESS_OUT.to_string()
            };
            assert_eq!(head(&out), want);
            assert!(out.ends_with(src.split("    steps:").nth(1).unwrap_or("x")));
            assert_eq!(o.addressed.len(), 3);
            assert_eq!(active(WF, &out, "image"), vec!["privileged-dind"]);
            idempotent(WF, &out, "image", Target::Rootless);
            let (tls, o) = run(&src, "image", Target::Tls);
            assert_eq!(
                head(&tls),
                want.replace("docker:29-dind-rootless", "docker:dind")
                    .replace(
                        "- dind-certs-${{ github.run_id }}",
                        "- /tmp/dind-certs-${{ github.run_id }}"
                    )
            );
            // The rootless daemon runs as UID 1000: its certificate directory must be a named
            // volume (a host directory is created root-owned), copied out by the first step.
            for line in out.lines().filter(|l| l.ends_with(":/certs/client")) {
                let src = line.trim().trim_start_matches("- ");
                assert!(!src.starts_with(['/', '.', '~', '$']), "{line}");
            }
            let steps = out.split("    steps:").nth(1).unwrap_or("");
            assert!(
                steps
                    .trim_start()
                    .starts_with("# The rootless dind service keeps its certificates"),
                "{steps}"
            );
            assert!(
                steps.contains("docker cp \"${{ job.services['docker'].id }}:/certs/client/.\"")
            );
            assert_eq!(o.addressed.len(), 3);
            idempotent(WF, &tls, "image", Target::Tls);
        }
    }

    #[test]
    fn tls_rewrites_an_inline_host_flag() {
        let src = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      dind:\n        image: docker:29-dind\n        options: --privileged\n        env:\n          DOCKER_TLS_CERTDIR: ''\n        ports: ['2375:2375']\n    steps:\n      - run: docker -H tcp://localhost:2375 build -t app .\n";
        let (out, o) = run(src, "b", Target::Tls);
        let sfx = JOB_SUFFIX;
        assert_eq!(
            out,
            format!(
                "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    env:\n      DOCKER_TLS_VERIFY: \"1\"\n      DOCKER_CERT_PATH: /tmp/dind-certs-{sfx}\n    services:\n      dind:\n        image: docker:29-dind\n        options: --privileged\n        env:\n          DOCKER_TLS_CERTDIR: /certs\n        ports: ['2376:2376']\n        volumes:\n          - /tmp/dind-certs-{sfx}:/certs/client\n    steps:\n      - run: docker -H tcp://localhost:2376 build -t app .\n"
            )
        );
        assert_eq!(o.addressed.len(), 3);
        idempotent(WF, &out, "b", Target::Tls);
    }

    const KANIKO_OUT: &str = "name: ci
on: [push]
jobs:
  image:
    runs-on: ubuntu-24.04
    container:
      image: ghcr.io/osscontainertools/kaniko:v1.28.3-debug
    steps:
      - run: |
          mkdir -p /kaniko/.docker
          echo \"{\\\"auths\\\":{\\\"registry.example.com\\\":{\\\"auth\\\":\\\"$(printf '%s:%s' \"ci\" \"$REG_PASSWORD\" | base64 | tr -d '\\n')\\\"}}}\" > /kaniko/.docker/config.json
      - run: |
          /kaniko/executor \\
            --context \"${GITHUB_WORKSPACE}\" \\
            --dockerfile \"${GITHUB_WORKSPACE}/Dockerfile\" \\
            --destination \"registry.example.com/app:${{ github.sha }}\"
";

    #[test]
    fn kaniko_runs_the_job_in_the_executor_image() {
        for (src, want) in [
            (KANIKO.to_string(), KANIKO_OUT.to_string()),
            (crlf(KANIKO), crlf(KANIKO_OUT)),
        ] {
            let (out, o) = run(&src, "image", Target::Kaniko);
            assert_eq!(out, want);
            assert_eq!(o.addressed.len(), 1);
            assert!(o.notes.iter().any(|n| n.contains("archived")));
            assert!(active(WF, &out, "image").is_empty());
        }
        // JavaScript actions cannot run in the kaniko image: the job is left alone.
        let (out, o) = run(HOSTED, "image", Target::Kaniko);
        assert_eq!(out, HOSTED);
        assert!(o.notes.iter().any(|n| n.contains("JavaScript")));
        assert_eq!(o.status, Some(Status::Manual));
    }

    const ACTION_OUT: &str = "name: build
description: build for arm64
runs:
  using: composite
  steps:
    - uses: docker/setup-qemu-action@v4
      with:
        platforms: arm64
    - name: Start rootless BuildKit
      shell: bash
      run: |
        # mTLS certificates for this job only (CA, server for 127.0.0.1, client)
        umask 077
        d=\"$RUNNER_TEMP/buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}\"
        mkdir -p \"$d/server\"
        cd \"$d\"
        openssl req -x509 -newkey rsa:3072 -nodes -days 1 -subj /CN=buildkit-ca -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -newkey rsa:3072 -nodes -subj /CN=buildkitd -keyout server/key.pem -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
        openssl x509 -req -days 1 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -extfile server.ext -out server/cert.pem 2>/dev/null
        openssl req -newkey rsa:3072 -nodes -subj /CN=buildx -keyout client-key.pem -out client.csr 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\\n' > client.ext
        openssl x509 -req -days 1 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -extfile client.ext -out client.pem 2>/dev/null
        # the daemon (UID 1000) reads its files after `docker cp` makes them root-owned
        cp ca.pem server/ca.pem && chmod 0644 server/*.pem && rm -f ca-key.pem ./*.csr ./*.ext ./*.srl
        # depriv: ignore[seccomp-unconfined] rootless BuildKit needs seccomp and AppArmor unconfined (github.com/moby/buildkit/blob/master/docs/rootless.md); see docs/targets/buildkit.md \"Residual risk\"
        docker create --name buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }} --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined -p 127.0.0.1::1234 moby/buildkit:v0.32.2-rootless --addr tcp://0.0.0.0:1234 --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem
        docker cp \"$d/server\" buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}:/certs
        docker start buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}
        echo \"BUILDKIT_ENDPOINT=tcp://$(docker port buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }} 1234/tcp | head -n 1)\" >> \"$GITHUB_ENV\"
        echo \"BUILDKIT_CERTS=$d\" >> \"$GITHUB_ENV\"
    - uses: docker/setup-buildx-action@v4
      with:
        driver: remote
        endpoint: ${{ env.BUILDKIT_ENDPOINT }}
        driver-opts: |
          cacert=${{ env.BUILDKIT_CERTS }}/ca.pem
          cert=${{ env.BUILDKIT_CERTS }}/client.pem
          key=${{ env.BUILDKIT_CERTS }}/client-key.pem
    - uses: docker/build-push-action@v7
      with:
        context: .
        tags: app
        platforms: linux/arm64
        push: false
    - name: Stop rootless BuildKit
      if: always()
      shell: bash
      run: docker rm -f buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}; rm -rf \"$RUNNER_TEMP/buildkitd-${{ github.run_id }}-${{ github.run_attempt }}-${{ github.job }}\"
";

    #[test]
    fn output_options_are_never_dropped_by_build_push() {
        let src = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      docker:\n        image: docker:29-dind\n        options: --privileged\n    steps:\n      - run: docker buildx build --output type=registry,compression=zstd -t r/app:1 .\n";
        let (out, _) = run(src, "b", Target::Buildkit);
        assert!(
            !out.contains("docker/build-push-action") || out.contains("zstd"),
            "{out}"
        );
        let plain = src.replace(",compression=zstd", "");
        let (out, _) = run(&plain, "b", Target::Buildkit);
        assert!(out.contains("docker/build-push-action"), "{out}");
    }

    #[test]
    fn rootless_storage_volume_follows_the_rootless_data_dir() {
        let src = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      docker:\n        image: docker:29-dind\n        options: --privileged\n        env:\n          DOCKER_TLS_CERTDIR: /certs\n        volumes:\n          - docker-data:/var/lib/docker\n        ports: ['2375:2375']\n    env:\n      DOCKER_HOST: tcp://localhost:2375\n    steps:\n      - run: docker run --rm alpine true\n";
        let (out, _) = run(src, "b", Target::Rootless);
        assert!(
            out.contains("- docker-data:/home/rootless/.local/share/docker\n"),
            "{out}"
        );
        assert!(!out.contains("/var/lib/docker"), "{out}");
    }

    #[test]
    fn kaniko_is_refused_on_self_hosted_runners() {
        // kaniko would run as the job container, which the runner gives the host's socket.
        let src = KANIKO.replace("runs-on: ubuntu-24.04", "runs-on: [self-hosted, linux]");
        let (out, o) = run(&src, "image", Target::Kaniko);
        assert_eq!(out, src);
        assert!(o.edits.is_empty());
        assert!(
            o.notes
                .iter()
                .chain(o.manual.iter().map(|m| &m.title))
                .any(|n| n.contains("host's Docker socket")),
            "{:?} {:?}",
            o.notes,
            o.manual
        );
    }

    #[test]
    fn composite_action_steps_are_rewritten() {
        let path = "ci/build/action.yml";
        let (out, o) = run_at(path, ACTION, "build", Target::Buildkit);
        assert_eq!(out, ACTION_OUT);
        assert_eq!(o.addressed.len(), 1);
        assert!(o.notes.iter().any(|n| n.contains("multi-platform.md")));
        assert!(active(path, &out, "build").is_empty());
        let (out, _) = run_at(path, &crlf(ACTION), "build", Target::Buildkit);
        assert_eq!(out, crlf(ACTION_OUT));
    }

    #[test]
    fn variables_become_expressions_or_are_refused() {
        let vars = Vars {
            context: ["IMAGE".to_string()].into(),
            literal: [("TAG".to_string(), "1.0".to_string())].into(),
            assigned: ["LOCAL".to_string()].into(),
        };
        assert_eq!(
            vars.expr(
                "$IMAGE:${TAG}-${{ github.sha }}",
                "\"$IMAGE:${TAG}-${{ github.sha }}\""
            ),
            Ok("${{ env.IMAGE }}:1.0-${{ github.sha }}".to_string())
        );
        assert_eq!(
            vars.expr("$GITHUB_SHA", "$GITHUB_SHA"),
            Ok("${{ github.sha }}".to_string())
        );
        assert!(vars.expr("$LOCAL", "$LOCAL").is_err());
        assert!(vars.expr("$UNKNOWN", "$UNKNOWN").is_err());
        assert!(vars.expr("${X:-y}", "${X:-y}").is_err());
        assert!(vars.expr("$(date)", "$(date)").is_err());
        assert!(vars.expr("$IMAGE", "'$IMAGE'").is_err());
        assert!(vars.expr("${{ unterminated", "x").is_err());
        assert_eq!(vars.expr("plain-é", "plain-é"), Ok("plain-é".to_string()));
        assert!(vars.portable("$IMAGE:${{ github.sha }}").is_ok());
        assert!(vars.portable("$TAG").is_err());
        assert!(vars.portable("${LOCAL}").is_err());
    }

    #[test]
    fn yaml_scalars_read_back_as_written() {
        assert_eq!(yaml_scalar("ghcr.io/a/b:1"), "ghcr.io/a/b:1");
        assert_eq!(yaml_scalar("${{ env.X }}:1"), "${{ env.X }}:1");
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("1.5"), "\"1.5\"");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("x #y"), "\"x #y\"");
        assert_eq!(yaml_scalar(""), "\"\"");
        assert_eq!(yaml_scalar("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(yaml_scalar("*alias"), "\"*alias\"");
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let deep = format!(
            "jobs:\n  b:\n    runs-on: x\n    steps:\n      - run: {}\n",
            "[".repeat(300)
        );
        let huge = format!(
            "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      d:\n        image: docker:dind\n        options: --privileged\n    steps:\n      - run: |\n{}\n",
            "          docker build -t a . && echo \"unterminated\n".repeat(2000)
        );
        let inputs = [
            String::new(),
            "jobs:".to_string(),
            "jobs: [".to_string(),
            "jobs:\n  b: *nope\n".to_string(),
            "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      d:\n        image: docker:dind\n        options: \"--privileged\n".to_string(),
            "jobs:\n  b:\n    runs-on: [self-hosted]\n    container: {image: docker:dind, options: --privileged, volumes: [/var/run/docker.sock:/var/run/docker.sock]}\n    steps: [{run: docker build -t a .}]\n".to_string(),
            "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      d:\n        image: docker:dind\n        options: --privileged\n    steps:\n      - run: echo 'unterminated | docker login -u x --password-stdin\n".to_string(),
            deep,
            huge,
        ];
        for src in &inputs {
            let scan = scan_one(WF, src);
            for p in &scan.pipelines {
                for t in crate::plan::ALL_TARGETS {
                    let findings: Vec<&Finding> = scan
                        .findings
                        .iter()
                        .filter(|f| f.pipeline.as_deref() == Some(p.name.as_str()))
                        .collect();
                    let env = Environment::default();
                    let templates = Templates::builtin();
                    let mut m = BTreeMap::new();
                    m.insert(WF.to_string(), Arc::<str>::from(src.as_str()));
                    let files = MemFiles(m);
                    let o = rewrite(&Request {
                        pipeline: p,
                        target: t,
                        findings,
                        env: &env,
                        templates: &templates,
                        files: &files,
                    });
                    // Whatever comes back applies cleanly and keeps the file parseable.
                    let out = edit::apply(src, &o.edits).expect("edits apply");
                    if !o.edits.is_empty() {
                        assert!(!scan_one(WF, &out).has_errors(), "{t:?}: {out}");
                    }
                }
            }
        }
        // A file that is gone or unparsable is reported, not a panic.
        let scan = scan_one(WF, HOSTED);
        let p = scan
            .pipelines
            .iter()
            .find(|p| p.name == "image")
            .expect("job");
        let env = Environment::default();
        let templates = Templates::builtin();
        let empty = MemFiles::default();
        let o = rewrite(&Request {
            pipeline: p,
            target: Target::Buildkit,
            findings: Vec::new(),
            env: &env,
            templates: &templates,
            files: &empty,
        });
        assert_eq!(o.status, Some(Status::Unsupported));
        assert!(o.notes.iter().any(|n| n.contains("cannot read")));
    }

    #[test]
    fn blank_lines_around_the_removed_part_are_tidied() {
        let src = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      docker:\n        image: docker:dind\n        options: --privileged\n    steps:\n      - run: |\n          make a\n\n          docker build -t app .\n\n          make b\n\n          make c\n      - run: echo z\n";
        let want = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: |\n          make a\n      - uses: docker/setup-buildx-action@v4\n      - uses: docker/build-push-action@v7\n        with:\n          context: .\n          tags: app\n          push: false\n      - run: |\n          make b\n\n          make c\n      - run: echo z\n";
        let (out, o) = run(src, "b", Target::Buildkit);
        assert_eq!(out, want);
        assert_eq!(o.addressed.len(), 1);
        let (out, _) = run(&crlf(src), "b", Target::Buildkit);
        assert_eq!(out, crlf(want));
    }

    #[test]
    fn step_env_goes_with_the_step_or_loses_only_the_dind_variables() {
        let svc = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    services:\n      docker:\n        image: docker:dind\n        options: --privileged\n    steps:\n";
        let head = "jobs:\n  b:\n    runs-on: ubuntu-24.04\n    steps:\n";
        let bp = "      - uses: docker/setup-buildx-action@v4\n      - uses: docker/build-push-action@v7\n        with:\n          context: .\n";
        // Replaced as a whole: the step's env goes with it, its values are substituted.
        let src = format!(
            "{svc}      - env:\n          DOCKER_HOST: tcp://docker:2375\n          X: 1\n        run: docker build -t app:$X .\n"
        );
        let (out, o) = run(&src, "b", Target::Buildkit);
        assert_eq!(
            out,
            format!("{head}{bp}          tags: app:1\n          push: false\n")
        );
        assert_eq!(o.addressed.len(), 2);
        // Split: the kept head loses DOCKER_HOST (its `env` was the item's first key).
        let src = format!(
            "{svc}      - env:\n          DOCKER_HOST: tcp://docker:2375\n          Y: 2\n        run: |\n          make a\n          docker build -t app .\n          make b\n"
        );
        let (out, _) = run(&src, "b", Target::Buildkit);
        assert_eq!(
            out,
            format!(
                "{head}      - env:\n          Y: 2\n        run: |\n          make a\n{bp}          tags: app\n          push: false\n      - run: |\n          make b\n        env:\n          Y: 2\n"
            )
        );
        let src = format!(
            "{svc}      - env:\n          DOCKER_HOST: tcp://docker:2375\n        run: |\n          make a\n          docker build -t app .\n"
        );
        let (out, _) = run(&src, "b", Target::Buildkit);
        assert_eq!(
            out,
            format!(
                "{head}      - run: |\n          make a\n{bp}          tags: app\n          push: false\n"
            )
        );
    }

    #[test]
    fn a_shared_workflow_docker_host_is_not_switched_for_one_job() {
        let job = |n: &str| {
            format!(
                "  {n}:\n    runs-on: ubuntu-24.04\n    services:\n      docker:\n        image: docker:dind\n        options: --privileged\n        env:\n          DOCKER_TLS_CERTDIR: ''\n    steps:\n      - run: docker version\n"
            )
        };
        let src = format!(
            "env:\n  DOCKER_HOST: tcp://docker:2375\njobs:\n{}{}",
            job("a"),
            job("b")
        );
        for t in [Target::Tls, Target::Rootless] {
            let (out, o) = run(&src, "a", t);
            assert_eq!(out, src);
            assert_eq!(o.status, Some(Status::Manual));
            assert!(
                o.notes
                    .iter()
                    .any(|n| n.contains("workflow-level DOCKER_HOST"))
            );
        }
    }

    #[test]
    fn line_classes_follow_the_removed_commands() {
        let text = "set -e\ndocker build -t a . \\\n  --pull\n# note\nmake test\n";
        let s = Script {
            step: 0,
            value: 0,
            text: text.to_string(),
            cmds: shell::commands(text),
            ops: Vec::new(),
        };
        let b = s
            .cmds
            .iter()
            .find(|c| word_text(c, 0) == "docker")
            .expect("docker");
        let kinds = classify_lines(&s, std::slice::from_ref(&b.span)).expect("classified");
        assert_eq!(
            kinds,
            vec![
                LineKind::Neutral,
                LineKind::Removed,
                LineKind::Removed,
                LineKind::Neutral,
                LineKind::Kept
            ]
        );
    }
}
