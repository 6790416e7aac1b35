//! Rewrites for GitLab CI: one job (a pipeline of the plan) moved to BuildKit, kaniko, sysbox,
//! rootless dind or TLS dind by byte edits on the files that define it.
//!
//! A job is resolved the way GitLab resolves it (https://docs.gitlab.com/ci/docker/using_docker_build/): its own mapping (merge keys
//! included), same-named definitions of included files, `extends:` parents, `default:`, the
//! global keys and `!reference` tags; every value remembers the physical entry that defines it,
//! so an edit lands in that entry (a template of an included file, an anchor, `default:`).
//! Constructs shared with other runnable jobs are edited only when the change is right for all
//! of them (TLS settings, a suppression for sysbox runners); a builder migration that would
//! have to change a shared dind service, image or script is refused with a manual task.
//! BuildKit and kaniko jobs get their `docker login/build/tag/push` lines translated by
//! [`super::translate`]. Nothing is re-serialised: collections are edited entry by entry, and
//! every changed file is re-parsed before the outcome is returned.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

use super::translate::{self, Builder};
use super::yaml_edit::YamlEditor;
use super::{ManualTask, Outcome, Request, Status};
use crate::config::RunnerHosts;
use crate::discover::{self, Kind};
use crate::edit::{self, Edit};
use crate::finding::Finding;
use crate::model::Val;
use crate::plan::Target;
use crate::source::docker_cmd::{self, DockerBuild, DockerLogin, DockerPush, DockerTag};
use crate::source::shell;
use crate::source::yaml::{NodeId, NodeKind, ScalarStyle, Yaml};
use crate::source::{Loc, Span};
use crate::surface::gitlab as gl;
use crate::surface::gitlab_resolve::{Def, MAX_DEPTH, Project, Var};

pub use crate::templates::builtin::GITLAB as TEMPLATES;

/// Rules a TLS change resolves.
const TLS_RULES: &[&str] = &["dind-tls-disabled", "plaintext-docker-daemon"];
/// Variables that only make sense with a Docker daemon (removed when the daemon goes).
const DOCKER_VARS: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_TLS_CERTDIR",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_DRIVER",
];
/// Bound on include closures.
const MAX_FILES: usize = 1_000;

/// Rewrite one gitlab pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let Some(unit) = Unit::load(req) else {
        let mut o = super::unsupported(req);
        o.notes
            .push("the GitLab project of this pipeline could not be read or parsed".into());
        return o;
    };
    let job = req.pipeline.name.as_str();
    if job != GLOBAL && !unit.p.has_top(job) {
        let mut o = super::unsupported(req);
        o.notes
            .push(format!("job `{job}` not found in its project"));
        return o;
    }
    let mut w = Work::new(&unit, req);
    w.apply_target();
    w.finish()
}

/// Rewrite several jobs that share definitions (a template, an anchor, an included file) for
/// one target: shared definitions are edited once, with every companion change where they are
/// defined, because every job that uses them is in the set.
pub fn rewrite_jobs(req: &Request<'_>, jobs: &[&str]) -> Outcome {
    let Some(unit) = Unit::load(req) else {
        let mut o = super::unsupported(req);
        o.notes
            .push("the GitLab project of these pipelines could not be read or parsed".into());
        return o;
    };
    let mut w = Work::new(&unit, req);
    w.group = jobs.iter().map(|j| j.to_string()).collect();
    for &job in jobs {
        if job != GLOBAL && !unit.p.has_top(job) {
            w.note(format!("job `{job}` not found in its project"));
            continue;
        }
        w.job = job;
        w.apply_target();
        if w.refused.is_some() {
            break;
        }
    }
    w.finish()
}

/// Name of the pseudo-pipeline for top-level settings no job claims.
const GLOBAL: &str = "(global)";

// ---------------------------------------------------------------------------------------------
// The project: files, top-level keys, resolution

/// Files of a project read so far: text and tree, `None` when unreadable or invalid.
type Parsed = BTreeMap<String, Option<(Arc<str>, Arc<Yaml>)>>;

struct GFile {
    path: String,
    text: Arc<str>,
    y: Arc<Yaml>,
}

struct Svc {
    file: usize,
    seq: NodeId,
    item: NodeId,
    image_node: NodeId,
    image: String,
    expanded: String,
    alias: Option<String>,
    map: Option<NodeId>,
    owner: Def,
}

struct ScriptItem {
    file: usize,
    seq: Option<NodeId>,
    node: NodeId,
    owner: Def,
    text: String,
}

struct Unit {
    files: Vec<GFile>,
    /// The shared resolver over the same files.
    p: Project<Arc<Yaml>>,
    /// Values `!reference` tags point at (file, resolved node).
    referenced: BTreeSet<(usize, NodeId)>,
    /// Which jobs use each definition, computed once per project.
    users: Arc<std::sync::OnceLock<Users>>,
}

type Users = BTreeMap<(usize, NodeId), BTreeSet<String>>;

impl Unit {
    /// The project of a request, built once per run and shared by every job's rewrite.
    fn load(req: &Request<'_>) -> Option<Arc<Unit>> {
        let yaml_paths = super::memoised(req.files, "gitlab:yaml-paths", || req.files.yaml_paths());
        let mut need: BTreeSet<String> = BTreeSet::new();
        need.insert(req.pipeline.path.clone());
        for f in &req.findings {
            if f.path.ends_with(".yml") || f.path.ends_with(".yaml") {
                need.insert(f.path.clone());
            }
        }
        let roots = super::memoised(req.files, "gitlab:roots", || {
            let mut roots: Vec<String> = yaml_paths
                .iter()
                .filter(|p| discover::classify(p) == Some(Kind::GitlabCi))
                .cloned()
                .collect();
            roots.sort_by_key(|p| {
                (
                    p.as_str() != ".gitlab-ci.yml",
                    p.matches('/').count(),
                    p.clone(),
                )
            });
            roots
        });
        for root in roots.iter() {
            let unit = super::memoised(req.files, &format!("gitlab:unit:{root}"), || {
                Unit::load_root(root, &yaml_paths, req).map(Arc::new)
            });
            let Some(u) = unit.as_ref() else {
                continue;
            };
            if need.iter().all(|n| u.files.iter().any(|f| f.path == *n)) {
                return Some(u.clone());
            }
        }
        None
    }

    fn load_root(root: &str, yaml_paths: &[String], req: &Request<'_>) -> Option<Unit> {
        let mut parsed: Parsed = BTreeMap::new();
        let order = closure(root, yaml_paths, req, &mut parsed);
        let mut files = Vec::new();
        for p in order {
            if let Some(Some((text, y))) = parsed.remove(&p) {
                files.push(GFile { path: p, text, y });
            } else {
                return None;
            }
        }
        let p = Project::new(files.iter().map(|f| f.y.clone()).collect());
        let mut u = Unit {
            files,
            p,
            referenced: BTreeSet::new(),
            users: Arc::new(std::sync::OnceLock::new()),
        };
        u.index_references();
        Some(u)
    }

    /// Values `!reference` tags point at: edited in place they would change every job that
    /// references them.
    fn index_references(&mut self) {
        let mut refs = Vec::new();
        for (fi, f) in self.files.iter().enumerate() {
            for id in 0..f.y.node_count() as NodeId {
                if f.y.node(id).tag.as_deref() == Some("!reference") {
                    refs.push((fi, id));
                }
            }
        }
        for (fi, id) in refs.into_iter().take(10_000) {
            if let Some((tf, tn, _)) = self.deref(fi, id, 0) {
                self.referenced.insert((tf, tn));
            }
        }
    }

    // The resolver is the scan's (`surface::gitlab_resolve`); these name the top level by the
    // `GLOBAL` pseudo-job the way the rest of this module does.

    fn y(&self, f: usize) -> Option<&Yaml> {
        self.p.y(f)
    }

    fn yy(&self, f: usize) -> &Yaml {
        self.p.yy(f)
    }

    fn is_map(&self, f: usize, n: NodeId) -> bool {
        self.p.is_map(f, n)
    }

    fn layers(&self, job: &str) -> Vec<(usize, NodeId)> {
        if job == GLOBAL {
            Vec::new()
        } else {
            self.p.layers(job)
        }
    }

    fn def_of(&self, f: usize, key: NodeId, value: NodeId) -> Def {
        self.p.def_of(f, key, value)
    }

    fn chain(&self, job: &str, key: &str) -> Vec<Def> {
        self.p.chain_in(&self.layers(job), key)
    }

    fn deref(&self, f: usize, n: NodeId, depth: usize) -> Option<(usize, NodeId, Option<Def>)> {
        self.p.deref(f, n, depth)
    }

    fn vars(&self, job: &str) -> Vec<Var> {
        self.p.vars_in(&self.layers(job))
    }

    fn list_items(&self, def: Def) -> Vec<(usize, Option<NodeId>, NodeId, Def)> {
        self.p
            .list_items(def)
            .into_iter()
            .map(|i| (i.file, i.seq, i.node, i.owner))
            .collect()
    }

    fn job_names(&self) -> Vec<String> {
        self.p.job_names()
    }

    fn services(&self, job: &str, vars: &[Var]) -> (Option<Def>, Vec<Svc>) {
        let Some(def) = self.chain(job, "services").first().copied() else {
            return (None, Vec::new());
        };
        let env: Vec<(String, Val<String>)> = vars
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    Val::new(v.value.clone(), Loc::new(0, Span::new(0, 0))),
                )
            })
            .collect();
        let mut out = Vec::new();
        for (f, seq, item, owner) in self.list_items(def) {
            let Some(y) = self.y(f) else { continue };
            let Some(seq) = seq else { continue };
            let r = y.resolve(item);
            let (image_node, map, alias) = if matches!(y.node(r).kind, NodeKind::Map { .. }) {
                let Some(e) = y.get(r, "name") else { continue };
                let alias = y
                    .get(r, "alias")
                    .and_then(|a| y.str(a.value).map(str::to_string));
                (e.value, Some(r), alias)
            } else {
                (item, None, None)
            };
            let Some(image) = y.str(image_node).map(str::to_string) else {
                continue;
            };
            let expanded = gl::expand_vars(&image, &env);
            out.push(Svc {
                file: f,
                seq,
                item,
                image_node,
                image,
                expanded,
                alias,
                map,
                owner,
            });
        }
        (Some(def), out)
    }

    fn script_items(&self, job: &str) -> Vec<(&'static str, ScriptItem)> {
        let mut out = Vec::new();
        for key in ["before_script", "script", "after_script"] {
            // `script` is never taken from `default:` or the top level.
            let chain = self.chain(job, key);
            let Some(def) = chain.first().copied() else {
                continue;
            };
            for (f, seq, node, owner) in self.list_items(def) {
                let Some(y) = self.y(f) else { continue };
                let Some(text) = y.str(node).map(str::to_string) else {
                    continue;
                };
                out.push((
                    key,
                    ScriptItem {
                        file: f,
                        seq,
                        node,
                        owner,
                        text,
                    },
                ));
            }
        }
        out
    }

    /// Which jobs use each construct (keyed by (file, key node)).
    fn users(&self) -> BTreeMap<(usize, NodeId), BTreeSet<String>> {
        let mut m: BTreeMap<(usize, NodeId), BTreeSet<String>> = BTreeMap::new();
        for job in self.job_names() {
            let mut used: Vec<Def> = Vec::new();
            for key in [
                "image",
                "services",
                "before_script",
                "script",
                "after_script",
                "tags",
            ] {
                let chain = self.chain(&job, key);
                if let Some(d) = chain.first().copied() {
                    used.push(d);
                    if let Some((_, _, Some(t))) = self.deref(d.file, d.value, 0) {
                        used.push(t);
                    }
                    if key != "image" {
                        for (_, _, _, owner) in self.list_items(d) {
                            used.push(owner);
                        }
                    }
                }
            }
            let vars = self.vars(&job);
            for v in &vars {
                used.push(v.def);
            }
            if let Some(d) = self.chain(&job, "variables").first().copied()
                && let Some((_, _, Some(t))) = self.deref(d.file, d.value, 0)
            {
                used.push(t);
            }
            for d in used {
                m.entry(d.id()).or_default().insert(job.clone());
            }
        }
        m
    }

    /// Whether a job uses Docker at all (a daemon, a Docker image or `docker` commands).
    fn docker_user(&self, job: &str) -> bool {
        let vars = self.vars(job);
        let (_, svcs) = self.services(job, &vars);
        if svcs
            .iter()
            .any(|s| docker_cmd::is_daemon_image(&s.expanded))
        {
            return true;
        }
        if let Some(d) = self.chain(job, "image").first()
            && let Some(img) = self.image_name(*d)
            && img.to_ascii_lowercase().contains("docker")
        {
            return true;
        }
        self.script_items(job).iter().any(|(_, it)| {
            shell::commands(&it.text).iter().any(|c| {
                c.words.first().is_some_and(|w| {
                    let b = w.text.rsplit('/').next().unwrap_or("");
                    b == "docker" || b == "docker-compose"
                })
            })
        })
    }

    /// Whether a job has a dind service.
    fn has_dind(&self, job: &str) -> bool {
        let vars = self.vars(job);
        self.services(job, &vars)
            .1
            .iter()
            .any(|s| docker_cmd::is_daemon_image(&s.expanded))
    }

    fn image_name(&self, d: Def) -> Option<String> {
        let (f, n, _) = self.deref(d.file, d.value, 0)?;
        let y = self.y(f)?;
        if matches!(y.node(n).kind, NodeKind::Map { .. }) {
            let e = y.get(n, "name")?;
            return y.str(e.value).map(str::to_string);
        }
        y.str(n).map(str::to_string)
    }
}

/// Local include closure of a root, in GitLab's order (root first, then depth-first includes).
fn closure(
    root: &str,
    yaml_paths: &[String],
    req: &Request<'_>,
    parsed: &mut Parsed,
) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut stack = vec![(root.to_string(), 0usize)];
    while let Some((p, depth)) = stack.pop() {
        if order.contains(&p) || order.len() >= MAX_FILES || depth > MAX_DEPTH * 4 {
            continue;
        }
        let entry = parsed.entry(p.clone()).or_insert_with(|| {
            let t = req.files.text(&p)?;
            let y = super::parsed_yaml(req.files, &p, &t)
                .as_ref()
                .clone()
                .ok()?;
            Some((t, y))
        });
        let Some((_, y)) = entry else {
            order.push(p);
            continue;
        };
        let (pats, _) = gl::includes(y, 0);
        order.push(p.clone());
        let mut children = Vec::new();
        for (pat, _) in pats {
            for m in gl::match_includes(&pat, yaml_paths) {
                if m != p && !children.contains(&m) {
                    children.push(m);
                }
            }
        }
        for c in children.into_iter().rev() {
            stack.push((c, depth + 1));
        }
    }
    order
}

// ---------------------------------------------------------------------------------------------
// Edit accumulation

/// Which findings an edit resolves.
#[derive(Clone, Copy, Debug)]
enum Claim {
    /// Every finding inside the range (the construct is gone or replaced).
    All,
    /// Findings of these rules inside the range.
    Rules(&'static [&'static str]),
}

/// Changes to one collection.
#[derive(Default)]
struct CollOps {
    /// Entry keys (mappings) or items (sequences) to remove.
    remove: BTreeSet<NodeId>,
    /// Sequence items replaced by new scalar values (zero values: removed).
    replace: BTreeMap<NodeId, Vec<String>>,
    /// Mapping entries to append, as fragments at column 0.
    add: Vec<String>,
    /// When emptied: write `{}`/`[]` instead of removing the entry that holds it.
    keep_when_empty: bool,
}

struct Work<'a> {
    u: &'a Unit,
    req: &'a Request<'a>,
    job: &'a str,
    /// Every job rewritten in this pass (shared definitions are theirs to change).
    group: BTreeSet<String>,
    users: &'a Users,
    coll: BTreeMap<(usize, NodeId), CollOps>,
    direct: Vec<(usize, Edit)>,
    claims: Vec<(usize, Range<usize>, Claim)>,
    manual: Vec<ManualTask>,
    notes: Vec<String>,
    refused: Option<String>,
    partial: bool,
    /// Findings covered by a manual task already.
    handled: BTreeSet<String>,
    /// `tags:` sequences the sysbox runner tag was added to (jobs rewritten together).
    tagged: BTreeSet<(usize, NodeId)>,
}

impl<'a> Work<'a> {
    fn apply_target(&mut self) {
        match self.req.target {
            Target::Buildkit => self.builder(Builder::Buildkit),
            Target::Kaniko => self.builder(Builder::Kaniko),
            Target::Sysbox | Target::Rootless | Target::Tls => self.dind(),
        }
    }

    fn new(u: &'a Unit, req: &'a Request<'a>) -> Work<'a> {
        Work {
            u,
            req,
            job: req.pipeline.name.as_str(),
            group: BTreeSet::new(),
            users: u.users.get_or_init(|| u.users()),
            coll: BTreeMap::new(),
            direct: Vec::new(),
            claims: Vec::new(),
            manual: Vec::new(),
            notes: Vec::new(),
            refused: None,
            partial: false,
            handled: BTreeSet::new(),
            tagged: BTreeSet::new(),
        }
    }

    fn path(&self, f: usize) -> &str {
        self.u.files.get(f).map_or("", |g| g.path.as_str())
    }

    fn text(&self, f: usize) -> &str {
        self.u.files.get(f).map_or("", |g| &g.text)
    }

    fn ed(&self, f: usize) -> YamlEditor<'_> {
        YamlEditor::new(self.path(f), self.text(f), self.u.yy(f))
    }

    fn line_of(&self, f: usize, off: usize) -> usize {
        let t = self.text(f);
        t.get(..off.min(t.len()))
            .map_or(1, |s| s.matches('\n').count() + 1)
    }

    fn loc(&self, f: usize, n: NodeId) -> String {
        let s = self.u.yy(f).span(n).start;
        format!("{}:{}", self.path(f), self.line_of(f, s))
    }

    fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    fn task(&mut self, title: impl Into<String>, location: String, snippet: String, lang: &str) {
        let t = ManualTask {
            title: title.into(),
            location,
            snippet,
            lang: lang.to_string(),
        };
        if !self.manual.contains(&t) {
            self.manual.push(t);
        }
    }

    fn render(&mut self, name: &str, ctx: &impl Serialize) -> Option<String> {
        match self.req.templates.render(name, ctx) {
            Ok(s) => Some(s.trim_matches(['\n', '\r']).to_string()),
            Err(e) => {
                self.refused = Some(format!("template error: {e}"));
                None
            }
        }
    }

    fn version(&self, key: &str) -> String {
        self.req
            .templates
            .versions()
            .0
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether only this pipeline (and templates) use a construct.
    fn exclusive(&self, d: Def) -> bool {
        self.others(d).is_empty()
    }

    /// Runnable jobs other than this one that use a construct.
    fn others(&self, d: Def) -> Vec<String> {
        self.users
            .get(&d.id())
            .map(|s| {
                s.iter()
                    .filter(|j| {
                        j.as_str() != self.job && !j.starts_with('.') && !self.group.contains(*j)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn claim(&mut self, f: usize, r: Range<usize>, c: Claim) {
        self.claims.push((f, r, c));
    }

    fn node_range(&self, f: usize, n: NodeId) -> Range<usize> {
        let y = self.u.yy(f);
        let node = y.node(n);
        let mut r = node.span.clone();
        for s in [&node.anchor_span, &node.tag_span].into_iter().flatten() {
            r.start = r.start.min(s.start);
        }
        r
    }

    fn entry_range(&self, d: Def) -> Range<usize> {
        let a = self.node_range(d.file, d.key);
        let b = self.node_range(d.file, d.value);
        a.start.min(b.start)..a.end.max(b.end)
    }

    fn ops(&mut self, f: usize, coll: NodeId) -> &mut CollOps {
        self.coll.entry((f, coll)).or_default()
    }

    /// Remove a mapping entry.
    fn remove_entry(&mut self, d: Def, claim: Claim) {
        let r = self.entry_range(d);
        self.claim(d.file, r, claim);
        self.ops(d.file, d.map).remove.insert(d.key);
    }

    fn replace_scalar(&mut self, f: usize, n: NodeId, text: String, claim: Claim) {
        let r = self.u.yy(f).span(n);
        self.claim(f, r.clone(), claim);
        self.direct
            .push((f, Edit::replace(self.path(f), r.start, r.end, text)));
    }

    /// Replace a scalar keeping its quoting style when possible.
    fn replace_scalar_like(&mut self, f: usize, n: NodeId, value: &str, claim: Claim) {
        let y = self.u.yy(f);
        let style = match &y.node(n).kind {
            NodeKind::Scalar(s) => s.style,
            _ => ScalarStyle::Plain,
        };
        let flow = y.node(n).parent.is_some_and(|p| self.ed(f).is_flow(p));
        let text = match style {
            ScalarStyle::DoubleQuoted => dq(value),
            ScalarStyle::SingleQuoted if !value.contains('\n') => sq(value),
            _ => scalar_inline(value, flow),
        };
        self.replace_scalar(f, n, text, claim);
    }

    // -----------------------------------------------------------------------------------------
    // Finishing

    fn finish(mut self) -> Outcome {
        if let Some(reason) = self.refused.take() {
            return self.refusal(reason);
        }
        let edits = self.collect_edits();
        // Group per file, apply and re-parse: never hand back edits that break a file.
        let mut by_file: BTreeMap<usize, Vec<Edit>> = BTreeMap::new();
        for (f, e) in edits {
            by_file.entry(f).or_default().push(e);
        }
        let mut all = Vec::new();
        let mut broken: Option<String> = None;
        for (f, es) in &by_file {
            // Only non-overlapping edits are handed back; whether the result parses, and
            // what it leaves, is verified once by the engine for every rewrite of the run.
            match edit::normalise(es.clone()) {
                Ok(_) => {}
                Err(e) => {
                    broken = Some(format!(
                        "internal error editing {}: {e}; nothing was changed",
                        self.path(*f)
                    ));
                    break;
                }
            }
            all.extend(es.iter().cloned());
        }
        if let Some(reason) = broken {
            return self.refusal(reason);
        }
        let mut addressed = Vec::new();
        let mut left: Vec<&Finding> = Vec::new();
        for f in &self.req.findings {
            let fi = self.u.files.iter().position(|g| g.path == f.path);
            let hit = fi.is_some_and(|fi| {
                self.claims.iter().any(|(cf, r, c)| {
                    *cf == fi
                        && r.start <= f.span.start
                        && f.span.end <= r.end.max(r.start + 1)
                        && match c {
                            Claim::All => true,
                            Claim::Rules(rs) => rs.contains(&f.rule),
                        }
                })
            });
            if hit && !all.is_empty() {
                addressed.push(f.fingerprint.clone());
            } else {
                left.push(f);
            }
        }
        for f in left {
            if self.handled.contains(&f.fingerprint) {
                continue;
            }
            let stays = matches!(self.req.target, Target::Rootless | Target::Tls)
                && f.rule == "privileged-dind";
            if !stays {
                self.partial = true;
            }
            self.manual.push(ManualTask {
                title: if stays {
                    format!(
                        "{}: stays with --strategy {} (the daemon is still privileged)",
                        f.rule,
                        self.req.target.as_str()
                    )
                } else {
                    format!("{}: {}", f.rule, f.message)
                },
                location: format!("{}:{}", f.path, f.line),
                snippet: String::new(),
                lang: String::new(),
            });
        }
        let status = if all.is_empty() {
            Some(if self.manual.is_empty() {
                Status::Unsupported
            } else {
                Status::Manual
            })
        } else if self.partial {
            Some(Status::Partial)
        } else {
            None
        };
        Outcome {
            edits: all,
            manual: self.manual,
            notes: self.notes,
            addressed,
            status,
        }
    }

    fn refusal(mut self, reason: String) -> Outcome {
        self.manual.push(ManualTask {
            title: format!(
                "move `{}` to {} by hand: {reason}",
                self.job,
                self.req.target.as_str()
            ),
            location: format!("{}:{}", self.req.pipeline.path, self.req.pipeline.line),
            snippet: String::new(),
            lang: String::new(),
        });
        for f in &self.req.findings {
            if self.handled.contains(&f.fingerprint) {
                continue;
            }
            self.manual.push(ManualTask {
                title: format!("{}: {}", f.rule, f.message),
                location: format!("{}:{}", f.path, f.line),
                snippet: String::new(),
                lang: String::new(),
            });
        }
        Outcome {
            edits: Vec::new(),
            manual: self.manual,
            notes: self.notes,
            addressed: Vec::new(),
            status: Some(Status::Manual),
        }
    }

    /// Turn collection operations into byte edits.
    fn collect_edits(&mut self) -> Vec<(usize, Edit)> {
        // Emptied collections become an entry removal in their parent, or `{}`/`[]`.
        let mut empty_writes: BTreeMap<(usize, NodeId), &'static str> = BTreeMap::new();
        for _ in 0..4 {
            let keys: Vec<(usize, NodeId)> = self.coll.keys().copied().collect();
            let mut changed = false;
            for (f, c) in keys {
                if empty_writes.contains_key(&(f, c)) || self.removed_by_parent(f, c) {
                    continue;
                }
                let Some(ops) = self.coll.get(&(f, c)) else {
                    continue;
                };
                let y = self.u.yy(f);
                let (total, is_map) = match &y.node(c).kind {
                    NodeKind::Map { entries, .. } => (entries.len(), true),
                    NodeKind::Seq { items, .. } => (items.len(), false),
                    _ => continue,
                };
                let kept = total.saturating_sub(ops.remove.len() + ops.replace.len())
                    + ops.replace.values().map(Vec::len).sum::<usize>()
                    + ops.add.len();
                if kept > 0 {
                    continue;
                }
                let keep = ops.keep_when_empty;
                let node = y.node(c);
                let parent = node.parent;
                let holder = parent.and_then(|p| {
                    y.own_entries(p)?
                        .iter()
                        .find(|(_, v)| *v == c)
                        .map(|(k, v)| (p, *k, *v))
                });
                let parent_is_doc_root = parent
                    .is_some_and(|p| y.node(p).parent.is_none() && y.documents().contains(&p));
                let global_key = holder.is_some_and(|(_, k, _)| {
                    y.str(k)
                        .is_some_and(|k| gl::RESERVED.contains(&k) && k != "default")
                });
                let removable = !keep
                    && node.anchor.is_none()
                    && !self.u.referenced.contains(&(f, c))
                    && holder.is_some()
                    && !parent.is_some_and(|p| self.ed(f).is_flow(p))
                    && (!parent_is_doc_root || global_key);
                match holder {
                    Some((p, k, _)) if removable => {
                        self.ops(f, p).remove.insert(k);
                        changed = true;
                    }
                    _ => {
                        empty_writes.insert((f, c), if is_map { "{}" } else { "[]" });
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut out: Vec<(usize, Edit)> = Vec::new();
        let mut deleted: Vec<(usize, Range<usize>)> = Vec::new();
        let mut direct = std::mem::take(&mut self.direct);
        let colls: Vec<(usize, NodeId)> = self.coll.keys().copied().collect();
        for (f, c) in colls {
            if self.removed_by_parent(f, c) {
                continue;
            }
            if let Some(empty) = empty_writes.get(&(f, c)) {
                if let Some(e) = self.empty_edit(f, c, empty) {
                    deleted.push((f, e.start..e.end));
                    out.push((f, e));
                }
                continue;
            }
            let Some(ops) = self.coll.remove(&(f, c)) else {
                continue;
            };
            let es = self.coll_edits(f, c, &ops, &mut direct);
            for e in &es {
                if e.start < e.end && e.text.is_empty() {
                    deleted.push((f, e.start..e.end));
                }
            }
            out.extend(es.into_iter().map(|e| (f, e)));
            self.coll.insert((f, c), ops);
        }
        out.extend(direct);
        // Drop edits inside ranges that are deleted or rewritten whole.
        let mut kept: Vec<(usize, Edit)> = Vec::new();
        for (f, e) in out {
            let inside = deleted.iter().any(|(df, r)| {
                *df == f
                    && if e.start == e.end {
                        r.start < e.start && e.start < r.end
                    } else {
                        r.start <= e.start
                            && e.end <= r.end
                            && !(r.start == e.start && r.end == e.end)
                    }
            });
            if !inside {
                kept.push((f, e));
            }
        }
        kept.sort_by_key(|a| (a.0, a.1.start, a.1.end));
        kept.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        kept
    }

    /// Whether an ancestor entry or item of `c` is being removed.
    fn removed_by_parent(&self, f: usize, c: NodeId) -> bool {
        let y = self.u.yy(f);
        let mut cur = c;
        for _ in 0..64 {
            let Some(p) = y.node(cur).parent else {
                return false;
            };
            if let Some(ops) = self.coll.get(&(f, p)) {
                let as_key = y
                    .own_entries(p)
                    .and_then(|es| es.iter().find(|(_, v)| *v == cur).map(|(k, _)| *k));
                if ops.remove.contains(&cur)
                    || as_key.is_some_and(|k| ops.remove.contains(&k))
                    || ops.replace.contains_key(&cur)
                {
                    return true;
                }
            }
            cur = p;
        }
        false
    }

    /// Replace a collection's content by `{}`/`[]`, keeping its key, anchor and tag.
    fn empty_edit(&self, f: usize, c: NodeId, empty: &str) -> Option<Edit> {
        let y = self.u.yy(f);
        let ed = self.ed(f);
        let text = self.text(f);
        let node = y.node(c);
        let end = content_end(text, node.span.clone());
        let mut start = node.span.start;
        let holder_key = node.parent.and_then(|p| {
            y.own_entries(p)?
                .iter()
                .find(|(_, v)| *v == c)
                .map(|(k, _)| *k)
        });
        if let Some(k) = holder_key {
            let ks = y.span(k);
            let colon = text.get(ks.end..)?.find(':').map(|i| ks.end + i + 1)?;
            start = colon;
            for s in [&node.anchor_span, &node.tag_span].into_iter().flatten() {
                start = start.max(s.end);
            }
        }
        if ed.is_flow(c) && holder_key.is_none() {
            return Some(Edit::replace(self.path(f), node.span.start, end, empty));
        }
        Some(Edit::replace(
            self.path(f),
            start,
            end.max(start),
            format!(" {empty}"),
        ))
    }

    /// The text of `r` with the direct edits that fall inside it applied (and taken out).
    fn raw_with(&self, f: usize, r: Range<usize>, direct: &mut Vec<(usize, Edit)>) -> String {
        let text = self.text(f);
        let raw = text.get(r.clone()).unwrap_or("");
        let mut inner = Vec::new();
        direct.retain(|(df, e)| {
            let inside = *df == f && r.start <= e.start && e.end <= r.end;
            if inside {
                inner.push(Edit::replace(
                    &e.path,
                    e.start - r.start,
                    e.end - r.start,
                    e.text.clone(),
                ));
            }
            !inside
        });
        edit::apply(raw, &inner).unwrap_or_else(|_| raw.to_string())
    }

    fn coll_edits(
        &self,
        f: usize,
        c: NodeId,
        ops: &CollOps,
        direct: &mut Vec<(usize, Edit)>,
    ) -> Vec<Edit> {
        let y = self.u.yy(f);
        let ed = self.ed(f);
        let text = self.text(f);
        let nl = ed.nl();
        let path = self.path(f);
        if ed.is_flow(c) {
            // Rebuild the flow collection from its remaining elements.
            let mut parts: Vec<String> = Vec::new();
            let is_map = matches!(y.node(c).kind, NodeKind::Map { .. });
            if let Some(es) = y.own_entries(c) {
                for (k, v) in es {
                    if ops.remove.contains(k) {
                        continue;
                    }
                    let r = self.node_range(f, *k).start..self.node_range(f, *v).end;
                    parts.push(self.raw_with(f, r, direct));
                }
            } else if let Some(items) = y.seq(c) {
                for i in items {
                    if ops.remove.contains(i) {
                        continue;
                    }
                    if let Some(vals) = ops.replace.get(i) {
                        parts.extend(vals.iter().map(|v| scalar_inline(v, true)));
                        continue;
                    }
                    let r = self.node_range(f, *i);
                    parts.push(self.raw_with(f, r, direct));
                }
            }
            for a in &ops.add {
                parts.push(a.trim().to_string());
            }
            let (open, close) = if is_map { ("{", "}") } else { ("[", "]") };
            let span = y.span(c);
            return vec![Edit::replace(
                path,
                span.start,
                span.end,
                format!("{open}{}{close}", parts.join(", ")),
            )];
        }
        let mut out = Vec::new();
        if let Some(es) = y.own_entries(c) {
            for (k, v) in es {
                if ops.remove.contains(k) {
                    let start = ed.line_start(y.span(*k).start);
                    let end = content_end(text, self.node_range(f, *v));
                    let end = ed.line_end_incl(end.saturating_sub(1).max(start));
                    out.push(Edit::delete(path, start, end));
                }
            }
            if !ops.add.is_empty() {
                let frag = ops.add.join("\n");
                let span = y.span(c);
                if span.start == span.end {
                    // An empty block mapping cannot be appended to; write it inline.
                    return out;
                }
                out.push(ed.append_to_map(c, &frag));
            }
        } else if let Some(items) = y.seq(c) {
            for i in items {
                let removed = ops.remove.contains(i);
                let replaced = ops.replace.get(i);
                if !removed && replaced.is_none() {
                    continue;
                }
                let r = self.node_range(f, *i);
                let start = ed.line_start(r.start);
                let end =
                    ed.line_end_incl(content_end(text, r.clone()).saturating_sub(1).max(start));
                let dash = text
                    .get(start..r.start)
                    .and_then(|s| s.find('-'))
                    .map_or(ed.column(r.start), |d| d);
                let mut new = String::new();
                if let Some(vals) = replaced.filter(|_| !removed) {
                    for v in vals {
                        new.push_str(&" ".repeat(dash));
                        new.push_str("- ");
                        new.push_str(&scalar_block(v, dash + 2, nl));
                        new.push_str(nl);
                    }
                }
                if end == text.len() && !text.ends_with('\n') && new.ends_with(nl) {
                    new.truncate(new.len() - nl.len());
                }
                out.push(Edit::replace(path, start, end, new));
            }
        }
        out
    }
}

/// End of a node's text with trailing whitespace and line breaks stepped over.
fn content_end(text: &str, r: Range<usize>) -> usize {
    let b = text.as_bytes();
    let mut e = r.end.min(text.len());
    while e > r.start && matches!(b.get(e - 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        e -= 1;
    }
    e
}

// ---------------------------------------------------------------------------------------------
// Scalar rendering

fn dq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether `s` can be written as a plain scalar and read back as the same string.
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s
        || s.contains(['\n', '\r', '\t'])
        || s.chars().any(char::is_control)
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || (flow && s.contains([',', '[', ']', '{', '}']))
    {
        return false;
    }
    let l = s.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) {
        return false;
    }
    !(s.parse::<f64>().is_ok()
        || l.starts_with("0x")
        || l.starts_with("0o")
        || l.starts_with(".inf")
        || l.starts_with(".nan")
        || s.chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == ':'))
}

/// A scalar on one line (plain, else single-quoted, else double-quoted).
fn scalar_inline(s: &str, flow: bool) -> String {
    if plain_ok(s, flow) {
        s.to_string()
    } else if !s.contains(['\n', '\r']) && !s.chars().any(char::is_control) {
        sq(s)
    } else {
        dq(s)
    }
}

/// A scalar in block context: one line when possible, else a literal block indented by
/// `indent` (the text after `- ` or `key: `).
fn scalar_block(s: &str, indent: usize, nl: &str) -> String {
    if !s.contains('\n') {
        return scalar_inline(s, false);
    }
    let first_line = s.lines().next().unwrap_or("");
    if first_line.starts_with([' ', '\t'])
        || s.contains('\r')
        || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return dq(s);
    }
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let header = match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    let body = s.trim_end_matches('\n');
    let pad = " ".repeat(indent);
    let mut out = String::from(header);
    for line in body.split('\n') {
        out.push_str(nl);
        if !line.trim().is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    for _ in 1..trailing {
        out.push_str(nl);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of the targets

/// The host name a dind service is reached at.
fn service_host(s: &Svc) -> String {
    if let Some(a) = &s.alias
        && !a.trim().is_empty()
    {
        return a.split(',').next().unwrap_or(a).trim().to_string();
    }
    let img = s.image.split('@').next().unwrap_or("");
    let last = img.rsplit('/').next().unwrap_or(img);
    let name = last.split(':').next().unwrap_or(last);
    if img.contains('/') {
        let repo = match img.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => img,
        };
        if !repo.contains('$') {
            return repo.replace('/', "__");
        }
    }
    if name.is_empty() || name.contains('$') {
        "docker".to_string()
    } else {
        name.to_string()
    }
}

/// Split `prefix/docker:tag` into (prefix with slash, name, tag).
fn split_image(image: &str) -> (String, String, Option<String>) {
    let (prefix, last) = match image.rsplit_once('/') {
        Some((dir, last)) => (format!("{dir}/"), last),
        None => (String::new(), image),
    };
    match last.split_once(':') {
        Some((n, t)) => (prefix, n.to_string(), Some(t.to_string())),
        None => (prefix, last.to_string(), None),
    }
}

/// The last path component of a pinned image (`docker:29-dind-rootless`).
fn last_component(image: &str) -> String {
    image.rsplit('/').next().unwrap_or(image).to_string()
}

impl Work<'_> {
    /// Where new job variables go: a variables mapping to append to, or a job mapping to add
    /// `variables:` to. `prefer` is a layer to try first (the one the image lives in).
    fn var_target(&self, prefer: Option<(usize, NodeId)>) -> Option<(usize, NodeId, bool)> {
        let layers = if self.job == GLOBAL {
            Vec::new()
        } else {
            self.u.layers(self.job)
        };
        let mut cands: Vec<(usize, NodeId)> = Vec::new();
        if let Some(p) = prefer
            && layers.contains(&p)
        {
            cands.push(p);
        }
        if let Some(first) = layers.first() {
            cands.push(*first);
        }
        for (f, m) in cands {
            let y = self.u.yy(f);
            let own = y
                .own_entries(m)
                .and_then(|es| es.iter().find(|(k, _)| y.str(*k) == Some("variables")));
            match own {
                Some((_, v)) => {
                    let node = y.node(*v);
                    if node.tag.as_deref() == Some("!reference") {
                        if let Some((tf, tn, Some(d))) = self.u.deref(f, *v, 0)
                            && self.exclusive(d)
                            && self.u.is_map(tf, tn)
                        {
                            return Some((tf, tn, true));
                        }
                        continue;
                    }
                    if matches!(node.kind, NodeKind::Map { .. }) {
                        return Some((f, *v, true));
                    }
                    if y.is_null(*v) {
                        continue;
                    }
                }
                None => {
                    if y.get(m, "variables").is_some() {
                        continue; // merged from an anchor: an own key would hide it
                    }
                    return Some((f, m, false));
                }
            }
        }
        if self.job == GLOBAL {
            if let Some(&(f, _, v)) = self.u.p.top("variables").first()
                && self.u.is_map(f, v)
            {
                return Some((f, self.u.yy(f).resolve(v), true));
            }
            let y = self.u.yy(0);
            let root = *y.documents().first()?;
            return Some((0, root, false));
        }
        None
    }

    /// Add `K: V` lines to the job's variables.
    fn add_vars(&mut self, lines: Vec<String>, prefer: Option<(usize, NodeId)>) -> bool {
        if lines.is_empty() {
            return true;
        }
        let Some((f, m, into)) = self.var_target(prefer) else {
            return false;
        };
        let empty_flow_or_block = {
            let y = self.u.yy(f);
            y.own_entries(m).is_some_and(|e| e.is_empty())
        };
        if into {
            if empty_flow_or_block && !self.ed(f).is_flow(m) {
                return false;
            }
            // Jobs rewritten together add to a shared definition once.
            let ops = self.ops(f, m);
            for l in lines {
                if !ops.add.contains(&l) {
                    ops.add.push(l);
                }
            }
        } else {
            let mut frag = String::from("variables:");
            for l in lines {
                frag.push('\n');
                frag.push_str("  ");
                frag.push_str(&l);
            }
            if self.ed(f).is_flow(m) {
                return false;
            }
            let ops = self.ops(f, m);
            if !ops.add.contains(&frag) {
                ops.add.push(frag);
            }
        }
        true
    }

    fn runner_task(&mut self, what: &str, docker: &str, kubernetes: &str) {
        let env = self.req.env.runner_hosts;
        if env == RunnerHosts::Managed {
            return;
        }
        let (name, loc) = if env == RunnerHosts::Kubernetes {
            (
                kubernetes,
                "GitLab Runner config.toml (Kubernetes executor) of the runners these jobs use",
            )
        } else {
            (
                docker,
                "GitLab Runner config.toml (Docker executor) on every runner host these jobs use",
            )
        };
        if let Some(s) = self.render(name, &serde_json::json!({})) {
            self.task(what, loc.to_string(), s, "toml");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sysbox, rootless, tls: keep dind, turn TLS on

impl Work<'_> {
    fn dind(&mut self) {
        let vars = self.u.vars(self.job);
        let (_, svcs) = self.u.services(self.job, &vars);
        let daemons: Vec<&Svc> = svcs
            .iter()
            .filter(|s| docker_cmd::is_daemon_image(&s.expanded))
            .collect();
        let image_def = self.u.chain(self.job, "image").first().copied();
        let image_daemon = image_def
            .and_then(|d| self.u.image_name(d))
            .is_some_and(|i| i.to_ascii_lowercase().contains("dind"));
        if daemons.is_empty() && !image_daemon {
            let dind_jobs: BTreeSet<String> = vars
                .iter()
                .flat_map(|v| self.users.get(&v.def.id()).cloned().unwrap_or_default())
                .filter(|j| j != self.job && !self.group.contains(j) && self.u.has_dind(j))
                .collect();
            if dind_jobs.is_empty() {
                self.remote_daemon(&vars);
            } else {
                self.shared_tls_vars(&dind_jobs);
            }
            return;
        }
        let host = daemons
            .first()
            .map(|s| service_host(s))
            .unwrap_or_else(|| "docker".to_string());
        if host != "docker" {
            self.note(format!(
                "the dind certificate is issued for `docker` and `localhost`; for the service host `{host}` add `DOCKER_TLS_SAN: DNS:{host}` to the service's variables"
            ));
        }
        // Service side: `--tls=false` and plaintext listeners out, TLS certificates in.
        for s in &daemons {
            self.service_tls(s);
        }
        // Client side.
        let mut missing: BTreeMap<&str, bool> = BTreeMap::new();
        let k8s = self.req.env.runner_hosts == RunnerHosts::Kubernetes;
        let find = |n: &str| vars.iter().find(|v| v.name == n);
        match find("DOCKER_TLS_CERTDIR") {
            Some(v) if v.value.trim().is_empty() => self.replace_scalar(
                v.def.file,
                v.value_node,
                "\"/certs\"".into(),
                Claim::Rules(TLS_RULES),
            ),
            Some(_) => {}
            None => {
                missing.insert("certdir", true);
            }
        }
        match find("DOCKER_HOST") {
            Some(v) if crate::rules::is_plaintext_tcp(&v.value) => {
                self.port_2376(v.def.file, v.value_node);
            }
            Some(_) => {}
            None if !daemons.is_empty() => {
                missing.insert("host", true);
            }
            None => {}
        }
        if k8s {
            if find("DOCKER_TLS_VERIFY").is_none() {
                missing.insert("verify", true);
            }
            if find("DOCKER_CERT_PATH").is_none() {
                missing.insert("cert_path", true);
            }
        }
        for v in &vars {
            if v.value.split_whitespace().any(|w| w == "--tls=false") && v.name != "DOCKER_HOST" {
                let rest: Vec<&str> = v
                    .value
                    .split_whitespace()
                    .filter(|w| *w != "--tls=false")
                    .collect();
                if rest.is_empty() {
                    self.remove_entry(v.def, Claim::Rules(TLS_RULES));
                } else {
                    self.replace_scalar_like(
                        v.def.file,
                        v.value_node,
                        &rest.join(" "),
                        Claim::Rules(TLS_RULES),
                    );
                }
            }
        }
        if daemons.is_empty() {
            // The daemon runs in the job container itself and is reached over its socket.
            missing.clear();
        }
        if !missing.is_empty() {
            let ctx = serde_json::json!({
                "host": if missing.contains_key("host") { Some(host.clone()) } else { None },
                "certdir": missing.contains_key("certdir"),
                "verify": missing.contains_key("verify"),
                "cert_path": missing.contains_key("cert_path"),
            });
            if let Some(s) = self.render("gitlab/tls-variables.yml", &ctx) {
                let lines: Vec<String> = s
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect();
                // Companion variables go where the daemon service is defined when every job
                // using that definition is migrated here, so no job that inherits it is left
                // pointing at a TLS port without certificates.
                let prefer = daemons
                    .first()
                    .map(|s| s.owner)
                    .filter(|o| self.exclusive(*o))
                    .map(|o| (o.file, o.map));
                if !self.add_vars(lines.clone(), prefer) {
                    self.partial = true;
                    self.task(
                        format!("add the TLS client variables to `{}`", self.job),
                        format!("{}:{}", self.req.pipeline.path, self.req.pipeline.line),
                        lines.join("\n"),
                        "yaml",
                    );
                }
            }
        }
        self.script_plaintext(&daemons);
        match self.req.target {
            Target::Sysbox => self.sysbox(),
            Target::Rootless => self.rootless(&daemons, image_daemon),
            Target::Tls => self.tls(&daemons),
            // Daemonless targets never reach the daemon path (see `apply_target`).
            Target::Buildkit | Target::Kaniko => {}
        }
        if k8s {
            self.note("Kubernetes executor: the job entrypoint does not run, so DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are set explicitly; the dind and job containers must share /certs/client (https://hub.docker.com/_/docker; docs/targets/tls.md)");
        } else {
            self.note("TLS dind: the runner must share /certs/client between the dind service and the job (`volumes = [\"/certs/client\", \"/cache\"]`, https://hub.docker.com/_/docker; docs/targets/tls.md)");
        }
    }

    /// A template whose variables other jobs' dind services use: those jobs' migrations
    /// change the settings where they are defined (the right change depends on their target).
    fn shared_tls_vars(&mut self, dind_jobs: &BTreeSet<String>) {
        let jobs = dind_jobs.iter().cloned().collect::<Vec<_>>().join(", ");
        let fs: Vec<&Finding> = self.req.findings.clone();
        for f in fs {
            self.task(
                format!("{}: migrate {jobs}, whose dind service uses this setting; that migration changes it here", f.rule),
                format!("{}:{}", f.path, f.line),
                String::new(),
                "",
            );
            self.handled.insert(f.fingerprint.clone());
        }
    }

    /// A plaintext `DOCKER_HOST` that points at a daemon outside the job: only the daemon's
    /// owner can turn TLS on.
    fn remote_daemon(&mut self, vars: &[Var]) {
        let host = vars
            .iter()
            .find(|v| v.name == "DOCKER_HOST")
            .map(|v| v.value.clone());
        let fs: Vec<&Finding> = self.req.findings.clone();
        for f in fs {
            if f.rule != "plaintext-docker-daemon" && f.rule != "dind-tls-disabled" {
                continue;
            }
            let text = self
                .u
                .files
                .iter()
                .find(|g| g.path == f.path)
                .and_then(|g| g.text.get(f.span.start..f.span.end))
                .unwrap_or("")
                .to_string();
            let addr = host.clone().unwrap_or(text);
            self.task(
                format!(
                    "{}: the job talks to a Docker daemon outside the pipeline ({addr}); enable TLS on that daemon (daemon.json `tlsverify`, port 2376) and give the job its client certificates",
                    f.rule
                ),
                format!("{}:{}", f.path, f.line),
                "{\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"],\n  \"tls\": true,\n  \"tlsverify\": true,\n  \"tlscacert\": \"/etc/docker/certs/ca.pem\",\n  \"tlscert\": \"/etc/docker/certs/server-cert.pem\",\n  \"tlskey\": \"/etc/docker/certs/server-key.pem\"\n}".into(),
                "json",
            );
            self.handled.insert(f.fingerprint.clone());
        }
        self.note("no dind service or daemon image in this job: nothing in the repository can turn TLS on for the daemon it uses");
    }

    /// Replace the `2375` port of a scalar with `2376`, keeping every other byte.
    fn port_2376(&mut self, f: usize, n: NodeId) {
        let r = self.u.yy(f).span(n);
        let Some(raw) = self.text(f).get(r.clone()) else {
            return;
        };
        if let Some(i) = raw.rfind(":2375") {
            let at = r.start + i + 1;
            self.claim(f, r.clone(), Claim::Rules(TLS_RULES));
            self.direct
                .push((f, Edit::replace(self.path(f), at, at + 4, "2376")));
        }
    }

    fn service_tls(&mut self, s: &Svc) {
        let Some(map) = s.map else { return };
        let y = self.u.yy(s.file);
        if let Some(cmd) = y.get(map, "command") {
            let r = y.resolve(cmd.value);
            match y.seq(r) {
                Some(items) => {
                    let items = items.to_vec();
                    let mut removed = 0;
                    for i in &items {
                        let w = y.str(*i).unwrap_or("").trim().to_string();
                        let plain_host = w
                            .strip_prefix("--host=")
                            .or_else(|| w.strip_prefix("-H="))
                            .or_else(|| w.strip_prefix("-H"))
                            .is_some_and(crate::rules::is_plaintext_tcp);
                        if matches!(w.as_str(), "--tls=false" | "--tls=0" | "--tlsverify=false")
                            || plain_host
                        {
                            let ir = self.node_range(s.file, *i);
                            self.claim(s.file, ir, Claim::Rules(TLS_RULES));
                            self.ops(s.file, r).remove.insert(*i);
                            removed += 1;
                        }
                    }
                    if removed == items.len() && removed > 0 {
                        let d = self.u.def_of(s.file, cmd.key_id, cmd.value);
                        self.remove_entry(d, Claim::Rules(TLS_RULES));
                    }
                }
                None => {
                    if y.str(r)
                        .is_some_and(|c| c.split_whitespace().any(|w| w == "--tls=false"))
                    {
                        self.partial = true;
                        let loc = self.loc(s.file, cmd.value);
                        self.task(
                            "remove `--tls=false` from the dind service command".to_string(),
                            loc,
                            String::new(),
                            "",
                        );
                    }
                }
            }
        }
        if let Some(ve) = y.get(map, "variables")
            && let Some((tf, tn, _)) = self.u.deref(s.file, ve.value, 0)
        {
            let ty = self.u.yy(tf);
            if let Some(e) = ty.get(tn, "DOCKER_TLS_CERTDIR")
                && ty.str(e.value).is_some_and(|v| v.trim().is_empty())
            {
                self.replace_scalar(tf, e.value, "\"/certs\"".into(), Claim::Rules(TLS_RULES));
            }
        }
    }

    /// `export DOCKER_HOST=tcp://docker:2375` in a script, pointing at the job's dind service.
    fn script_plaintext(&mut self, daemons: &[&Svc]) {
        let hosts: Vec<String> = daemons.iter().map(|s| service_host(s)).collect();
        let fs: Vec<&Finding> = self.req.findings.clone();
        for f in fs {
            if f.rule != "plaintext-docker-daemon" {
                continue;
            }
            let Some(fi) = self.u.files.iter().position(|g| g.path == f.path) else {
                continue;
            };
            let Some(raw) = self
                .text(fi)
                .get(f.span.start..f.span.end)
                .map(str::to_string)
            else {
                continue;
            };
            if !raw.contains("2375")
                || self
                    .claims
                    .iter()
                    .any(|(cf, r, _)| *cf == fi && r.start <= f.span.start && f.span.end <= r.end)
            {
                continue;
            }
            let to_dind = hosts.iter().any(|h| raw.contains(&format!("//{h}:2375")))
                || (hosts.is_empty() && raw.contains("//docker:2375"));
            if to_dind && let Some(i) = raw.rfind(":2375") {
                let at = f.span.start + i + 1;
                self.claim(fi, f.span.start..f.span.end, Claim::Rules(TLS_RULES));
                self.direct
                    .push((fi, Edit::replace(self.path(fi), at, at + 4, "2376")));
            }
        }
    }

    fn sysbox(&mut self) {
        let tag = self.req.env.sysbox_tag().to_string();
        // The job moves to sysbox runners through its tags, where its dind runs unprivileged:
        // that, not a comment, is what clears `privileged-dind` (the scan reads the tags).
        // Without the tag the job would still land on any runner.
        if let Some((location, why)) = self.sysbox_tag(&tag) {
            self.partial = true;
            let job = if self.job == GLOBAL {
                "every job that uses this dind service".to_string()
            } else {
                format!("`{}`", self.job)
            };
            self.task(
                format!(
                    "send {job} to the sysbox runners: add the runner tag `{tag}` to its `tags:` ({why}; https://docs.gitlab.com/ci/yaml/#tags)"
                ),
                location,
                format!("tags: [{}]", scalar_inline(&tag, true)),
                "yaml",
            );
            self.runner_task(
                &format!("run these jobs on sysbox runners (runtime = \"sysbox-runc\", privileged = false) that carry the runner tag `{tag}` (set where the runner is created in GitLab, or `gitlab-runner register --tag-list {tag}`; https://docs.gitlab.com/ci/runners/configure_runners/)"),
                "gitlab/runner-sysbox-docker.toml",
                "gitlab/runner-sysbox-kubernetes.toml",
            );
            return;
        }
        let fs: Vec<&Finding> = self.req.findings.clone();
        for f in fs {
            if f.rule != "privileged-dind" {
                continue;
            }
            let Some(fi) = self.u.files.iter().position(|g| g.path == f.path) else {
                continue;
            };
            let ed = self.ed(fi);
            let ls = ed.line_start(f.span.start);
            let le = ed.line_end_incl(f.span.start);
            self.claim(fi, ls..le, Claim::Rules(&["privileged-dind"]));
        }
        self.runner_task(
            &format!("run these jobs on sysbox runners (runtime = \"sysbox-runc\", privileged = false) that carry the runner tag `{tag}` (set where the runner is created in GitLab, or `gitlab-runner register --tag-list {tag}`; https://docs.gitlab.com/ci/runners/configure_runners/)"),
            "gitlab/runner-sysbox-docker.toml",
            "gitlab/runner-sysbox-kubernetes.toml",
        );
        if self.req.env.runner_hosts == RunnerHosts::Managed {
            self.partial = true;
            self.note("managed runners cannot run sysbox: the suppression only holds on self-managed sysbox runners");
        }
        self.note("sysbox must be installed on the runner hosts (systemd services; .deb packages for Ubuntu/Debian; kernel ≥ 5.12 or shiftfs); support is best-effort (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; docs/targets/sysbox.md)");
        self.note("keep `privileged = false` on sysbox runners: sysbox rejects privileged containers (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md)");
        self.note("set the runtime per runner (`runtime = \"sysbox-runc\"`), not as Docker's default runtime (https://github.com/nestybox/sysbox/issues/122; docs/targets/sysbox.md)");
    }

    /// Add the sysbox runner tag where the job's effective `tags:` are defined. `tags` is an
    /// array, and arrays are replaced through `extends:` and `default:`, never merged
    /// (https://docs.gitlab.com/ci/yaml/#extends): the first definition is the whole list. A
    /// definition only this rewrite's jobs use gets the tag in place; otherwise the job's own
    /// mapping gets the whole list plus the tag. Conflicting tags (GitLab-hosted `saas-*`
    /// runners, privileged runner pools) are dropped. `Some((location, why))` when it cannot
    /// be added.
    fn sysbox_tag(&mut self, tag: &str) -> Option<(String, String)> {
        let here = format!("{}:{}", self.req.pipeline.path, self.req.pipeline.line);
        if self.job == GLOBAL {
            return Some((
                here,
                "a top-level service has no job `tags:` to carry it".into(),
            ));
        }
        let layers = self.u.layers(self.job);
        let Some(&(jf, jm)) = layers.first() else {
            return Some((here, "the job is not a mapping".into()));
        };
        let own_flow = self.ed(jf).is_flow(jm);
        let Some(def) = self.u.chain(self.job, "tags").first().copied() else {
            if own_flow {
                return Some((self.loc(jf, jm), "the job is a flow mapping".into()));
            }
            let frag = format!("tags:\n  - {}", scalar_inline(tag, false));
            let ops = self.ops(jf, jm);
            if !ops.add.contains(&frag) {
                ops.add.push(frag);
            }
            return None;
        };
        let at = self.loc(def.file, def.key);
        let Some((tf, tn, via)) = self.u.deref(def.file, def.value, 0) else {
            return Some((at, "its `tags:` cannot be resolved".into()));
        };
        let ty = self.u.yy(tf);
        let items: Vec<NodeId> = match ty.seq(tn) {
            Some(items) => items.to_vec(),
            None => return Some((at, "its `tags:` is not a list".into())),
        };
        // (item, tag) of every element.
        let mut current: Vec<(NodeId, String)> = Vec::new();
        for &i in &items {
            match ty.str(ty.resolve(i)) {
                Some(s) if ty.node(ty.resolve(i)).tag.is_none() => current.push((i, s.to_string())),
                _ => return Some((at, "its `tags:` holds more than plain tags".into())),
            }
        }
        if current.iter().any(|(_, t)| t == tag) || self.tagged.contains(&(tf, tn)) {
            return None;
        }
        let (conflicts, kept): (Vec<_>, Vec<_>) =
            current.into_iter().partition(|(_, t)| tag_conflicts(t));
        if !conflicts.is_empty() {
            let names: Vec<&str> = conflicts.iter().map(|(_, t)| t.as_str()).collect();
            self.note(format!(
                "dropped the runner tag(s) {} from `{}`: they pick runners that are not sysbox runners (GitLab-hosted or privileged)",
                names.join(", "),
                self.job
            ));
        }
        let kept: Vec<String> = kept
            .into_iter()
            .map(|(_, t)| t)
            .chain(std::iter::once(tag.to_string()))
            .collect();
        let shared_node = ty.node(tn).anchor_span.is_some()
            || self.u.yy(def.file).resolve(def.value) != def.value;
        let in_place = self.exclusive(def) && via.is_none_or(|d| self.exclusive(d)) && !shared_node;
        if in_place {
            self.tagged.insert((tf, tn));
            if self.ed(tf).is_flow(tn) {
                let ops = self.ops(tf, tn);
                for (n, _) in &conflicts {
                    ops.remove.insert(*n);
                }
                ops.add.push(scalar_inline(tag, true));
                return None;
            }
            if let Some(((first, _), rest)) = conflicts.split_first() {
                let ops = self.ops(tf, tn);
                ops.replace.insert(*first, vec![tag.to_string()]);
                for (n, _) in rest {
                    ops.remove.insert(*n);
                }
                return None;
            }
            let Some(&last) = items.last() else {
                return Some((at, "its `tags:` is empty".into()));
            };
            let text = self.text(tf);
            let ed = self.ed(tf);
            let r = self.node_range(tf, last);
            let start = ed.line_start(r.start);
            let end = ed.line_end_incl(content_end(text, r.clone()).saturating_sub(1).max(start));
            let dash = text
                .get(start..r.start)
                .and_then(|s| s.find('-'))
                .unwrap_or_else(|| ed.column(r.start));
            let nl = ed.nl();
            let mut line = String::new();
            let eof = end == text.len() && !text.ends_with('\n');
            if eof {
                line.push_str(nl);
            }
            line.push_str(&" ".repeat(dash));
            line.push_str("- ");
            line.push_str(&scalar_inline(tag, false));
            if !eof {
                line.push_str(nl);
            }
            self.direct
                .push((tf, Edit::insert(self.path(tf), end, line)));
            return None;
        }
        // Shared: the job states its whole list itself (it replaces the inherited one).
        if via.is_some() && def.file == jf && def.map == jm {
            return Some((
                at,
                "its `tags:` is a `!reference` other jobs use too".into(),
            ));
        }
        let list = format!(
            "[{}]",
            kept.iter()
                .map(|t| scalar_inline(t, true))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if def.file == jf && def.map == jm {
            // `tags: *anchor` in the job itself: the alias gives way to the list.
            let r = self.node_range(jf, def.value);
            self.direct
                .push((jf, Edit::replace(self.path(jf), r.start, r.end, list)));
            return None;
        }
        if own_flow {
            return Some((self.loc(jf, jm), "the job is a flow mapping".into()));
        }
        let frag = format!("tags: {list}");
        let ops = self.ops(jf, jm);
        if !ops.add.contains(&frag) {
            ops.add.push(frag);
        }
        None
    }

    fn rootless(&mut self, daemons: &[&Svc], image_daemon: bool) {
        let pinned = last_component(&self.version("dind_rootless"));
        for s in daemons {
            let (prefix, name, tag) = split_image(&s.image);
            let lname = name.to_ascii_lowercase();
            let ltag = tag.clone().unwrap_or_default().to_ascii_lowercase();
            if ltag.contains("rootless") {
                continue;
            }
            let new_last = if lname != "docker" {
                None
            } else if tag.is_none() || matches!(ltag.as_str(), "dind" | "latest") {
                Some(pinned.clone())
            } else if let Some(v) = tag.as_deref().and_then(|t| t.strip_suffix("-dind")) {
                Some(format!("docker:{v}-dind-rootless"))
            } else if tag.as_deref().is_some_and(|t| {
                t.starts_with(|c: char| c.is_ascii_digit() || c == '$') && !t.contains("-")
                    || t.starts_with("${") && !t.contains("-")
            }) {
                Some(format!("docker:{}-dind-rootless", tag.unwrap_or_default()))
            } else {
                None
            };
            match new_last {
                Some(n) => {
                    let new = format!("{prefix}{n}");
                    self.replace_scalar_like(s.file, s.image_node, &new, Claim::Rules(&[]));
                }
                None => {
                    self.partial = true;
                    let loc = self.loc(s.file, s.image_node);
                    self.task(
                        format!(
                            "replace the dind service `{}` by its rootless variant (docker:<version>-dind-rootless)",
                            s.image
                        ),
                        loc,
                        String::new(),
                        "",
                    );
                }
            }
        }
        if image_daemon {
            self.partial = true;
            self.task(
                "the job image itself runs the Docker daemon: move the daemon to a `docker:<version>-dind-rootless` service",
                format!("{}:{}", self.req.pipeline.path, self.req.pipeline.line),
                String::new(),
                "",
            );
        }
        self.runner_task(
            "allow only the rootless dind service to run privileged",
            "gitlab/runner-rootless-docker.toml",
            "gitlab/runner-rootless-kubernetes.toml",
        );
        self.note("rootless dind is still privileged: --privileged is needed for seccomp, AppArmor and mount masks (https://docs.docker.com/engine/security/rootless/tips/; docs/targets/rootless.md); the runner snippet narrows it to the service");
        self.note("rootless dind cannot publish ports below 1024 inside the job without a sysctl or setcap on the daemon (https://docs.docker.com/engine/security/rootless/troubleshoot/; docs/targets/rootless.md)");
    }

    fn tls(&mut self, daemons: &[&Svc]) {
        let pinned = last_component(&self.version("dind"));
        for s in daemons {
            let (prefix, name, tag) = split_image(&s.image);
            let unpinned = name.eq_ignore_ascii_case("docker")
                && matches!(tag.as_deref(), None | Some("dind") | Some("latest"));
            if unpinned {
                let new = format!("{prefix}{pinned}");
                self.replace_scalar_like(s.file, s.image_node, &new, Claim::Rules(&[]));
            }
        }
        self.runner_task(
            "share the dind client certificates with the job",
            "gitlab/runner-tls-docker.toml",
            "gitlab/runner-tls-kubernetes.toml",
        );
        self.note("TLS is hardening only: the dind daemon stays privileged and a build step can still escape to the host");
    }
}

// ---------------------------------------------------------------------------------------------
// BuildKit and kaniko

/// One edit of a script item's cooked text.
enum CmdOp {
    /// Replace the range with these commands.
    Replace(Range<usize>, Vec<String>),
    /// Remove the command at the range.
    Remove(Range<usize>),
}

impl CmdOp {
    fn range(&self) -> &Range<usize> {
        match self {
            CmdOp::Replace(r, _) | CmdOp::Remove(r) => r,
        }
    }
}

/// A runner tag that picks runners a sysbox job must not land on: GitLab-hosted runners
/// (`saas-…`, https://docs.gitlab.com/ci/runners/hosted_runners/linux/) cannot run sysbox, and
/// a privileged runner pool is what the job leaves.
fn tag_conflicts(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    t.starts_with("saas-") || t.contains("privileged")
}

/// Why a Docker command that only waits for the daemon goes.
const WAITS: &str = "waits for the daemon";
/// Why `docker --version` / `docker version` go.
const DIAGNOSTICS: &str = "only prints Docker versions (diagnostics)";

/// Docker commands that only wait for or inspect a daemon, print versions, or set up a
/// builder: why each can go.
fn daemon_only(words: &[&str]) -> Option<&'static str> {
    if matches!(words.get(1).copied(), Some("--version" | "-v")) {
        return Some(DIAGNOSTICS);
    }
    let mut it = words.iter().skip(1).filter(|w| !w.starts_with('-'));
    let sub = it.next().copied().unwrap_or("");
    let sub2 = it.next().copied().unwrap_or("");
    match (sub, sub2) {
        ("version", _) => Some(DIAGNOSTICS),
        ("info", _) | ("system", "info") => Some(WAITS),
        ("buildx", "create" | "use" | "inspect" | "ls" | "version" | "install" | "rm") => {
            Some("sets up a buildx builder")
        }
        ("context", _) => Some("selects a daemon"),
        ("pull", _) => Some("pulls an image into the daemon (the builder pulls what it needs)"),
        ("logout", _) => Some("logs out of a registry"),
        _ => None,
    }
}

/// `docker run … tonistiigi/binfmt` / `multiarch/qemu-user-static`: registering emulators.
fn registers_emulators(words: &[&str]) -> bool {
    let run = matches!(words.get(1).copied(), Some("run"))
        || matches!(
            (words.get(1).copied(), words.get(2).copied()),
            (Some("container"), Some("run"))
        );
    run && words.iter().skip(2).any(|w| {
        let name = w.rsplit('/').next().unwrap_or(w);
        let name = name.split([':', '@']).next().unwrap_or(name);
        !w.starts_with('-') && matches!(name, "binfmt" | "qemu-user-static")
    })
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The text left when the command at `r` is removed from `t`, with one adjacent `&&`/`;`.
fn remove_command(t: &str, r: &Range<usize>) -> String {
    let (Some(before), Some(after)) = (t.get(..r.start), t.get(r.end..)) else {
        return t.to_string();
    };
    let after_trim = after.trim_start_matches([' ', '\t']);
    for sep in ["&&", ";"] {
        if let Some(rest) = after_trim.strip_prefix(sep) {
            return format!("{before}{}", rest.trim_start_matches([' ', '\t']));
        }
    }
    let before_trim = before.trim_end_matches([' ', '\t']);
    for sep in ["&&", ";"] {
        if let Some(b) = before_trim.strip_suffix(sep) {
            return format!("{}{after}", b.trim_end_matches([' ', '\t']));
        }
    }
    if before_trim.is_empty() || before_trim.ends_with('\n') {
        let after = after
            .strip_prefix("\r\n")
            .or_else(|| after.strip_prefix('\n'))
            .unwrap_or(after);
        return format!("{before_trim}{after}");
    }
    format!("{before}true{after}")
}

/// New values of a script item after its command edits.
fn apply_cmd_ops(t: &str, ops: &mut [CmdOp]) -> Vec<String> {
    if let [op] = ops {
        let r = op.range();
        let whole = t.get(..r.start).is_some_and(|s| s.trim().is_empty())
            && t.get(r.end..).is_some_and(|s| s.trim().is_empty());
        if whole {
            return match op {
                CmdOp::Replace(_, cmds) => cmds
                    .iter()
                    .map(|c| {
                        if c.contains('\n') && !c.ends_with('\n') {
                            format!("{c}\n")
                        } else {
                            c.clone()
                        }
                    })
                    .collect(),
                CmdOp::Remove(_) => Vec::new(),
            };
        }
    }
    ops.sort_by_key(|o| std::cmp::Reverse(o.range().start));
    let mut s = t.to_string();
    let mut floor = usize::MAX;
    for op in ops.iter() {
        let r = op.range().clone();
        if r.end > floor || r.end > s.len() {
            continue;
        }
        floor = r.start;
        s = match op {
            CmdOp::Replace(_, cmds) => {
                format!(
                    "{}{}{}",
                    s.get(..r.start).unwrap_or(""),
                    cmds.join(" && "),
                    s.get(r.end..).unwrap_or("")
                )
            }
            CmdOp::Remove(_) => remove_command(&s, &r),
        };
    }
    if s.trim().is_empty() {
        Vec::new()
    } else {
        vec![s]
    }
}

impl Work<'_> {
    fn builder(&mut self, b: Builder) {
        // A job that builds nothing and only copies or re-tags images gets crane instead of
        // the builder: the pipeline's target stays the builder.
        let copy = self.copy_only();
        let image_key = match (copy, b) {
            (true, _) => "crane",
            (false, Builder::Buildkit) => "buildkit",
            (false, Builder::Kaniko) => "kaniko",
        };
        let target_image = self.version(image_key);
        let vars = self.u.vars(self.job);
        let (_, svcs) = self.u.services(self.job, &vars);
        // 1. The job image.
        let image_def = self.u.chain(self.job, "image").first().copied();
        let image_name = image_def
            .and_then(|d| self.u.image_name(d))
            .unwrap_or_default();
        let already = !target_image.is_empty()
            && (image_name == target_image
                || match (copy, b) {
                    (true, _) => image_name.contains("go-containerregistry/crane"),
                    (false, Builder::Buildkit) => image_name.contains("moby/buildkit"),
                    (false, Builder::Kaniko) => image_name.contains("kaniko"),
                });
        let image_tpl = match (copy, b) {
            (true, _) => "gitlab/crane-image.yml",
            (false, Builder::Buildkit) => "gitlab/buildkit-image.yml",
            (false, Builder::Kaniko) => "gitlab/kaniko-image.yml",
        };
        // The copy job's image goes in its own mapping unless defined there: an inherited
        // image may be the one a build job of the same template gets the builder in.
        let own_layer = self.u.layers(self.job).first().copied();
        let mut image_layer: Option<(usize, NodeId)> = None;
        if !already {
            let Some(img) = self.render(image_tpl, &serde_json::json!({})) else {
                return;
            };
            let image_daemon = image_name.to_ascii_lowercase().contains("dind");
            match image_def {
                Some(d)
                    if self.exclusive(d)
                        && !self.is_reference(d)
                        && (!copy || own_layer == Some((d.file, d.map))) =>
                {
                    let r = self.entry_range(d);
                    self.claim(d.file, r, Claim::All);
                    let e = self.ed(d.file).replace_value(d.key, d.value, &img);
                    self.direct.push((d.file, e));
                    image_layer = Some((d.file, d.map));
                }
                Some(d) if image_daemon && !copy => {
                    let others = self.others(d);
                    self.refused = Some(format!(
                        "its Docker-daemon image is defined in {} and shared with {}",
                        self.loc(d.file, d.key),
                        others.join(", ")
                    ));
                    return;
                }
                _ => {
                    // Shared or inherited image: give the job its own.
                    let layers = self.u.layers(self.job);
                    let Some(&(f, m)) = layers.first() else {
                        self.refused = Some("the job has no mapping of its own".into());
                        return;
                    };
                    if self.ed(f).is_flow(m) {
                        self.refused = Some("the job is written as a flow mapping".into());
                        return;
                    }
                    self.ops(f, m).add.push(format!("image: {img}"));
                    image_layer = Some((f, m));
                }
            }
        }
        // 2. dind services.
        let dind: Vec<&Svc> = svcs
            .iter()
            .filter(|s| docker_cmd::is_daemon_image(&s.expanded))
            .collect();
        if let Some(shared) = dind.iter().find(|s| !self.exclusive(s.owner)) {
            // The list is shared with jobs that keep their daemon: this job gets its own
            // `services:`, which replaces the inherited list (arrays are not merged through
            // `extends:`, and an own key wins over a `<<` merge;
            // https://docs.gitlab.com/ci/yaml/yaml_optimization/#merge-details).
            let others = self.others(shared.owner);
            let at = self.loc(shared.file, shared.item);
            let refuse = |why: &str| {
                format!(
                    "its dind service is defined in {at} and shared with {}, which still need it, and {why}",
                    others.join(", ")
                )
            };
            let layers = self.u.layers(self.job);
            let Some(&(f, m)) = layers.first() else {
                self.refused = Some(refuse("the job has no mapping of its own"));
                return;
            };
            if self.ed(f).is_flow(m) {
                self.refused = Some(refuse("the job is written as a flow mapping"));
                return;
            }
            let mut keep: Vec<String> = Vec::new();
            for s in svcs
                .iter()
                .filter(|s| !docker_cmd::is_daemon_image(&s.expanded))
            {
                if s.map.is_some() || s.image.is_empty() {
                    self.refused = Some(refuse(&format!(
                        "its other service `{}` is a mapping the job would have to repeat",
                        s.image
                    )));
                    return;
                }
                keep.push(scalar_inline(&s.image, false));
            }
            let frag = if keep.is_empty() {
                "services: []".to_string()
            } else {
                let mut f = String::from("services:");
                for k in &keep {
                    f.push_str("\n  - ");
                    f.push_str(k);
                }
                f
            };
            let ops = self.ops(f, m);
            if !ops.add.contains(&frag) {
                ops.add.push(frag);
            }
            // For this job the shared daemon is gone, with whatever is found on it.
            let gone: Vec<(usize, Range<usize>)> = dind
                .iter()
                .filter(|s| !self.exclusive(s.owner))
                .map(|s| (s.file, self.node_range(s.file, s.item)))
                .collect();
            for (f, r) in gone {
                self.claims.push((f, r, Claim::All));
            }
            self.note(format!(
                "the dind service at {at} stays for {}: `{}` gets its own `services:` without it (an own list replaces the inherited one; https://docs.gitlab.com/ci/yaml/yaml_optimization/#merge-details)",
                others.join(", "),
                self.job
            ));
        }
        let own: Vec<&Svc> = dind
            .iter()
            .copied()
            .filter(|s| self.exclusive(s.owner))
            .collect();
        for s in own {
            let r = self.node_range(s.file, s.item);
            self.claim(s.file, r, Claim::All);
            let ops = self.ops(s.file, s.seq);
            ops.remove.insert(s.item);
            // A list emptied here must not let the job inherit another one.
            if self.u.chain(self.job, "services").len() > 1 {
                self.ops(s.file, s.seq).keep_when_empty = true;
            }
        }
        // 3. Daemon variables.
        let mut daemon_host_override = false;
        for v in &vars {
            if !DOCKER_VARS.contains(&v.name.as_str()) {
                continue;
            }
            let others = self.others(v.def);
            let docker_others: Vec<String> = others
                .iter()
                .filter(|j| self.u.docker_user(j))
                .cloned()
                .collect();
            if docker_others.is_empty() {
                self.remove_entry(v.def, Claim::All);
            } else {
                self.note(format!(
                    "`{}` ({}) is shared with {}, which still use Docker: left in place",
                    v.name,
                    self.loc(v.def.file, v.def.key),
                    docker_others.join(", ")
                ));
                // This job no longer has the daemon it names: an own empty value wins over
                // the inherited one (variables merge key by key through `extends:`).
                if v.name == "DOCKER_HOST" {
                    daemon_host_override = true;
                }
                // What is found on the shared setting concerns the daemon this job dropped.
                let r = self.entry_range(v.def);
                self.claims.push((v.def.file, r, Claim::All));
            }
        }
        // 4. BUILDKITD_FLAGS, and the DOCKER_HOST override, added together (one `variables:`).
        let mut var_lines: Vec<String> = Vec::new();
        if daemon_host_override {
            var_lines.push("DOCKER_HOST: \"\"".into());
        }
        if b == Builder::Buildkit
            && !copy
            && !vars.iter().any(|v| v.name == "BUILDKITD_FLAGS")
            && let Some(frag) = self.render("gitlab/buildkit-variables.yml", &serde_json::json!({}))
        {
            var_lines.extend(
                frag.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            );
        }
        if !self.add_vars(var_lines, image_layer) {
            self.refused = Some(if daemon_host_override {
                "its DOCKER_HOST is shared with jobs that keep their daemon and its variables come from a shared anchor or `!reference`, so the job cannot clear it".into()
            } else {
                "its variables come from a shared anchor or `!reference`, so BUILDKITD_FLAGS cannot be added".into()
            });
            return;
        }
        // 5. Scripts.
        if copy {
            let (name, doc) = match b {
                Builder::Buildkit => ("BuildKit", "buildkit"),
                Builder::Kaniko => ("kaniko", "kaniko"),
            };
            let job = self.job;
            let target = self.req.target.as_str();
            self.note(format!("`{job}` builds no image, it only copies or re-tags images: it runs crane (go-containerregistry's daemonless registry client; its debug image has a BusyBox shell) instead of the {name} image, while the pipeline's target stays {target} (https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md; docs/targets/{doc}.md)"));
        }
        self.translate_scripts(b, copy);
        if self.refused.is_some() {
            return;
        }
        // 6. Runner tasks and notes.
        if copy {
            return;
        }
        match b {
            Builder::Buildkit => {
                self.runner_task(
                    "allow rootless BuildKit on the runners (seccomp and AppArmor unconfined)",
                    "gitlab/runner-buildkit-docker.toml",
                    "gitlab/runner-buildkit-kubernetes.toml",
                );
                if self.req.env.runner_hosts == RunnerHosts::Managed {
                    self.note("GitLab.com hosted runners run rootless BuildKit as-is; self-managed runners need the seccomp/AppArmor relaxation (https://docs.gitlab.com/ci/docker/using_buildkit/; docs/targets/buildkit.md)");
                }
                self.note("BuildKit runs with --oci-worker-no-process-sandbox: RUN steps are less isolated from the build daemon (https://github.com/moby/buildkit/blob/master/docs/rootless.md; docs/targets/buildkit.md)");
                self.note("rootless BuildKit needs user namespaces on the runner hosts (user.max_user_namespaces > 0; Ubuntu ≥ 24.04: kernel.apparmor_restrict_unprivileged_userns=0) and kernel ≥ 5.11 for overlayfs (https://github.com/moby/buildkit/blob/master/docs/rootless.md; docs/targets/buildkit.md)");
            }
            Builder::Kaniko => {
                self.note("upstream kaniko is archived (2025-06-03); this uses the maintained osscontainertools fork (https://github.com/GoogleContainerTools/kaniko; docs/targets/kaniko.md)");
                self.note("kaniko runs as root in its container: it fails where runAsNonRoot is enforced (https://github.com/GoogleContainerTools/kaniko/issues/105; docs/targets/kaniko.md)");
            }
        }
    }

    /// Docker commands in the local shell scripts the job runs (`./ci/release.sh`): depriv
    /// does not rewrite those files, and without the daemon the commands fail, so each is a
    /// manual task naming its line and the job is partial. `docker --version` is harmless.
    fn local_script_docker(&mut self, items: &[(&'static str, ScriptItem)]) {
        const MAX_PER_SCRIPT: usize = 10;
        let mut scripts = Vec::new();
        for (_, it) in items {
            crate::surface::collect_local_scripts(&it.text, &mut scripts);
        }
        for path in scripts {
            let Some(text) = self.req.files.text(&path) else {
                continue;
            };
            let mut found = 0usize;
            for c in shell::commands(&text) {
                let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
                let first = words.first().map(|w| basename(w)).unwrap_or("");
                if !matches!(first, "docker" | "docker.exe")
                    || daemon_only(&words) == Some(DIAGNOSTICS)
                {
                    continue;
                }
                found += 1;
                if found > MAX_PER_SCRIPT {
                    continue;
                }
                self.partial = true;
                let line = text
                    .get(..c.span.start)
                    .map_or(1, |t| t.matches('\n').count() + 1);
                self.task(
                    format!(
                        "`{}` in `{path}`, which this job runs, needs a Docker daemon, which this job no longer has: translate it by hand",
                        words.join(" ")
                    ),
                    format!("{path}:{line}"),
                    String::new(),
                    "",
                );
            }
            if found > MAX_PER_SCRIPT {
                self.task(
                    format!(
                        "`{path}` runs {} more Docker commands that need a daemon: translate them by hand",
                        found - MAX_PER_SCRIPT
                    ),
                    path.clone(),
                    String::new(),
                    "",
                );
            }
        }
    }

    /// Whether the job builds nothing and moves images between registries: `docker tag` or
    /// `docker push` with no `docker build`/`buildx build` (nor a multi-platform step).
    fn copy_only(&self) -> bool {
        let mut moves = false;
        for (_, it) in self.u.script_items(self.job) {
            let a = docker_cmd::analyze_script(&it.text);
            if !a.builds.is_empty()
                || a.usage.iter().any(|(u, _)| {
                    matches!(
                        u,
                        docker_cmd::DockerUse::Build | docker_cmd::DockerUse::MultiArch
                    )
                })
            {
                return false;
            }
            moves |= !a.tags.is_empty() || !a.pushes.is_empty();
        }
        moves
    }

    /// The registry commands of a job that builds nothing, as crane commands
    /// (https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md):
    /// `docker login` → `crane auth login`; `docker pull X` goes (crane reads X from the
    /// registry) and X is remembered; `docker tag X Y` goes and Y remembers X; `docker push Y`
    /// → `crane copy X Y`, or goes when Y is X itself. A tag or push of an image this job did
    /// not pull (loaded, committed, built elsewhere) stays with a manual task.
    fn copy_commands(
        &mut self,
        items: &[(&'static str, ScriptItem)],
        ops: &mut BTreeMap<usize, Vec<CmdOp>>,
        handled: &mut BTreeSet<(usize, usize)>,
    ) {
        enum Ev<'x> {
            Login(&'x DockerLogin),
            Pull {
                span: Range<usize>,
                image: String,
                platform: Option<String>,
            },
            Tag(&'x DockerTag),
            Push(&'x DockerPush, bool),
        }
        /// An image in the daemon: where it came from (normalised, written) and its platform.
        #[derive(Clone)]
        struct Origin {
            norm: String,
            written: String,
            platform: Option<String>,
        }
        let analyses: Vec<docker_cmd::ScriptAnalysis> = items
            .iter()
            .map(|(_, it)| docker_cmd::analyze_script(&it.text))
            .collect();
        let mut evs: Vec<(usize, usize, Ev<'_>)> = Vec::new();
        for (i, ((_, it), a)) in items.iter().zip(&analyses).enumerate() {
            evs.extend(a.logins.iter().map(|l| (i, l.span.start, Ev::Login(l))));
            evs.extend(a.tags.iter().map(|t| (i, t.span.start, Ev::Tag(t))));
            evs.extend(a.pushes.iter().map(|p| {
                (
                    i,
                    p.span.start,
                    Ev::Push(p, translate::push_all_tags(&it.text, p)),
                )
            }));
            for c in shell::commands(&it.text) {
                let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
                if let Some((image, platform)) = translate::docker_pull(&words) {
                    evs.push((
                        i,
                        c.span.start,
                        Ev::Pull {
                            span: c.span.clone(),
                            image,
                            platform,
                        },
                    ));
                }
            }
        }
        evs.sort_by_key(|(i, start, _)| (*i, *start));
        let written = |text: &str, span: &Range<usize>, cooked: &str| -> Option<String> {
            translate::raw_word(text, span, cooked)
                .map(str::to_string)
                .or_else(|| translate::sh_quote(cooked))
        };
        let mut local: BTreeMap<String, Origin> = BTreeMap::new();
        // Names given by `docker tag` (normalised → written), in order, and those pushed.
        let mut tagged: Vec<(String, String)> = Vec::new();
        let mut pushed: BTreeSet<String> = BTreeSet::new();
        let mut every_platform = false;
        for (i, _, ev) in &evs {
            let i = *i;
            let Some((_, it)) = items.get(i) else {
                continue;
            };
            let loc = self.loc(it.file, it.node);
            match ev {
                Ev::Login(l) => {
                    handled.insert((i, l.span.start));
                    match translate::crane_login(&it.text, l) {
                        Ok((r, cmd)) => {
                            ops.entry(i).or_default().push(CmdOp::Replace(r, vec![cmd]))
                        }
                        Err(reason) => {
                            self.partial = true;
                            self.task(
                                format!("log in with `crane auth login` by hand: {reason}"),
                                loc,
                                String::new(),
                                "",
                            );
                        }
                    }
                }
                Ev::Pull {
                    span,
                    image,
                    platform,
                } => {
                    handled.insert((i, span.start));
                    let Some(w) = written(&it.text, span, image) else {
                        self.partial = true;
                        self.task(
                            format!(
                                "`docker pull {image}`: the reference cannot be re-quoted for crane"
                            ),
                            loc,
                            String::new(),
                            "",
                        );
                        continue;
                    };
                    let norm = translate::normalise_ref(image);
                    local.insert(
                        norm.clone(),
                        Origin {
                            norm,
                            written: w,
                            platform: platform.clone(),
                        },
                    );
                    self.note(format!(
                        "removed `docker pull {image}`: crane reads the image from the registry when it copies it"
                    ));
                    ops.entry(i).or_default().push(CmdOp::Remove(span.clone()));
                }
                Ev::Tag(t) => {
                    handled.insert((i, t.span.start));
                    let origin = local.get(&translate::normalise_ref(&t.source)).cloned();
                    match (origin, written(&it.text, &t.span, &t.target)) {
                        (Some(o), Some(w)) => {
                            let norm = translate::normalise_ref(&t.target);
                            local.insert(norm.clone(), o);
                            tagged.retain(|(n, _)| *n != norm);
                            tagged.push((norm, w));
                            ops.entry(i)
                                .or_default()
                                .push(CmdOp::Remove(t.span.clone()));
                        }
                        _ => {
                            self.partial = true;
                            self.task(
                                format!(
                                    "`docker tag {} {}` re-tags an image this job neither pulls nor builds: copy it from its registry with `crane copy` by hand",
                                    t.source, t.target
                                ),
                                loc,
                                String::new(),
                                "",
                            );
                        }
                    }
                }
                Ev::Push(p, all) => {
                    handled.insert((i, p.span.start));
                    let names: Vec<(String, String)> = if *all {
                        tagged
                            .iter()
                            .filter(|(n, _)| translate::same_repository(n, &p.image))
                            .cloned()
                            .collect()
                    } else {
                        let norm = translate::normalise_ref(&p.image);
                        match written(&it.text, &p.span, &p.image) {
                            Some(w) if local.contains_key(&norm) => vec![(norm, w)],
                            _ => Vec::new(),
                        }
                    };
                    if names.is_empty() {
                        self.partial = true;
                        self.task(
                            format!(
                                "`docker push {}` pushes an image this job neither pulls nor builds: copy it with `crane copy` (or `crane push` for a tarball) by hand",
                                p.image
                            ),
                            loc,
                            String::new(),
                            "",
                        );
                        continue;
                    }
                    let mut cmds = Vec::new();
                    for (norm, w) in names {
                        let Some(o) = local.get(&norm) else { continue };
                        pushed.insert(norm.clone());
                        if o.norm == norm {
                            continue;
                        }
                        every_platform |= o.platform.is_none();
                        cmds.push(translate::crane_copy(&o.written, &w, o.platform.as_deref()));
                    }
                    if cmds.is_empty() {
                        self.note(format!(
                            "removed `docker push {}`: it pushed the pulled image back unchanged",
                            p.image
                        ));
                        ops.entry(i)
                            .or_default()
                            .push(CmdOp::Remove(p.span.clone()));
                    } else {
                        ops.entry(i)
                            .or_default()
                            .push(CmdOp::Replace(p.span.clone(), cmds));
                    }
                }
            }
        }
        for (norm, w) in &tagged {
            if !pushed.contains(norm) {
                self.note(format!(
                    "removed `docker tag … {w}`: that name was never pushed, it only named the image in the daemon"
                ));
            }
        }
        if every_platform {
            self.note("`crane copy` copies every platform of a multi-platform image and keeps its digest, where `docker pull` and `docker push` moved the runner's platform only; add `--platform` to copy one (https://github.com/google/go-containerregistry/blob/main/cmd/crane/doc/crane_copy.md)");
        }
    }

    fn is_reference(&self, d: Def) -> bool {
        self.u.yy(d.file).node(d.value).tag.as_deref() == Some("!reference")
    }

    fn translate_scripts(&mut self, b: Builder, copy: bool) {
        let items = self.u.script_items(self.job);
        struct Rec<'x> {
            item: usize,
            kind: RecKind<'x>,
        }
        enum RecKind<'x> {
            Build(&'x DockerBuild),
            Login(&'x DockerLogin),
            Push(&'x DockerPush, bool),
            Tag(&'x DockerTag),
        }
        let analyses: Vec<docker_cmd::ScriptAnalysis> = items
            .iter()
            .map(|(_, it)| docker_cmd::analyze_script(&it.text))
            .collect();
        let mut recs: Vec<Rec<'_>> = Vec::new();
        for (i, a) in analyses.iter().enumerate() {
            let text = items.get(i).map_or("", |(_, it)| it.text.as_str());
            recs.extend(a.builds.iter().map(|x| Rec {
                item: i,
                kind: RecKind::Build(x),
            }));
            recs.extend(a.logins.iter().map(|x| Rec {
                item: i,
                kind: RecKind::Login(x),
            }));
            recs.extend(a.pushes.iter().map(|x| Rec {
                item: i,
                kind: RecKind::Push(x, translate::push_all_tags(text, x)),
            }));
            recs.extend(a.tags.iter().map(|x| Rec {
                item: i,
                kind: RecKind::Tag(x),
            }));
        }
        let builds: Vec<&DockerBuild> = recs
            .iter()
            .filter_map(|r| match r.kind {
                RecKind::Build(x) => Some(x),
                _ => None,
            })
            .collect();
        let tags: Vec<&DockerTag> = recs
            .iter()
            .filter_map(|r| match r.kind {
                RecKind::Tag(x) => Some(x),
                _ => None,
            })
            .collect();
        let pushes: Vec<(&DockerPush, bool)> = recs
            .iter()
            .filter_map(|r| match r.kind {
                RecKind::Push(x, all) => Some((x, all)),
                _ => None,
            })
            .collect();
        let folded = translate::fold(&builds, &tags, &pushes);
        let mut ops: BTreeMap<usize, Vec<CmdOp>> = BTreeMap::new();
        let mut auths: Vec<translate::Auth> = Vec::new();
        let mut first_login: Option<(usize, Range<usize>)> = None;
        let (mut bi, mut ti, mut pi) = (0usize, 0usize, 0usize);
        let mut hub = false;
        let mut handled_spans: BTreeSet<(usize, usize)> = BTreeSet::new();
        if copy {
            self.copy_commands(&items, &mut ops, &mut handled_spans);
        } else {
            for r in &recs {
                let Some((_, it)) = items.get(r.item) else {
                    continue;
                };
                let loc = self.loc(it.file, it.node);
                match r.kind {
                    RecKind::Build(x) => {
                        let push = folded.push.get(bi).cloned().unwrap_or_default();
                        bi += 1;
                        handled_spans.insert((r.item, x.span.start));
                        let t = translate::build(
                            b,
                            &translate::BuildInput {
                                build: x,
                                script: &it.text,
                                push: &push,
                                workdir: Some("${CI_PROJECT_DIR}"),
                            },
                        );
                        for n in &t.notes {
                            self.note(n.clone());
                        }
                        if t.incomplete {
                            self.partial = true;
                            self.task(
                                format!("translate this build by hand: {}", t.unmapped.join(", ")),
                                loc,
                                t.multiline(),
                                "sh",
                            );
                            continue;
                        }
                        let mut cmd = String::new();
                        if !t.unmapped.is_empty() {
                            self.partial = true;
                            cmd.push_str(&format!(
                                "# depriv: not translated (no {} equivalent): {}\n",
                                match b {
                                    Builder::Buildkit => "buildctl",
                                    Builder::Kaniko => "kaniko",
                                },
                                t.unmapped.join(", ")
                            ));
                            self.task(
                                format!(
                                    "check the translated build: {} could not be carried over",
                                    t.unmapped.join(", ")
                                ),
                                loc,
                                String::new(),
                                "",
                            );
                        }
                        cmd.push_str(&t.multiline());
                        ops.entry(r.item)
                            .or_default()
                            .push(CmdOp::Replace(x.span.clone(), vec![cmd]));
                    }
                    RecKind::Login(x) => {
                        handled_spans.insert((r.item, x.span.start));
                        match translate::login(&it.text, x) {
                            Ok((range, auth)) => {
                                hub |= auth.key == translate::DOCKER_HUB_KEY;
                                auths.retain(|a| a.key != auth.key);
                                auths.push(auth);
                                if first_login.is_none() {
                                    first_login = Some((r.item, range));
                                } else {
                                    ops.entry(r.item).or_default().push(CmdOp::Remove(range));
                                }
                            }
                            Err(reason) => {
                                self.partial = true;
                                self.task(
                                    format!("write the registry credentials by hand: {reason}"),
                                    loc,
                                    String::new(),
                                    "",
                                );
                            }
                        }
                    }
                    RecKind::Push(x, _) => {
                        handled_spans.insert((r.item, x.span.start));
                        let done = folded.push_folded.get(pi).copied().unwrap_or(false);
                        pi += 1;
                        if done {
                            ops.entry(r.item)
                                .or_default()
                                .push(CmdOp::Remove(x.span.clone()));
                        } else {
                            self.partial = true;
                            self.task(
                                format!("`docker push {}` pushes an image this job does not build: copy it with a registry tool (crane, skopeo)", x.image),
                                loc,
                                String::new(),
                                "",
                            );
                        }
                    }
                    RecKind::Tag(x) => {
                        handled_spans.insert((r.item, x.span.start));
                        let done = folded.tag_folded.get(ti).copied().unwrap_or(false);
                        ti += 1;
                        if done {
                            ops.entry(r.item)
                                .or_default()
                                .push(CmdOp::Remove(x.span.clone()));
                        } else {
                            self.partial = true;
                            self.task(
                                format!("`docker tag {} {}` re-tags an image this job does not build: use a registry tool (crane tag, skopeo copy)", x.source, x.target),
                                loc,
                                String::new(),
                                "",
                            );
                        }
                    }
                }
            }
            if let Some((item, range)) = first_login {
                ops.entry(item)
                    .or_default()
                    .push(CmdOp::Replace(range, translate::auth_commands(b, &auths)));
            }
            if hub {
                self.note("Docker Hub credentials are written under `https://index.docker.io/v1/`, the only key both builders read (https://github.com/osscontainertools/kaniko)");
            }
        }
        // Other docker commands: daemon waits and builder set-up go, the rest is manual.
        let mut others: Vec<String> = Vec::new();
        for (i, (_, it)) in items.iter().enumerate() {
            let cmds = shell::commands(&it.text);
            let mut docker_cmds = 0;
            let mut only_wait = true;
            for c in &cmds {
                let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
                let first = words.first().map(|w| basename(w)).unwrap_or("");
                let is_docker = matches!(first, "docker" | "docker.exe");
                let is_daemon = matches!(
                    first,
                    "dockerd" | "dockerd-entrypoint.sh" | "dockerd-rootless.sh"
                );
                if is_docker || is_daemon {
                    docker_cmds += 1;
                    if is_docker && registers_emulators(&words) {
                        only_wait = false;
                        self.note("BuildKit builds foreign platforms with QEMU registered in the runner host's binfmt_misc, which a job cannot do without privilege (https://github.com/moby/buildkit/blob/master/docs/multi-platform.md; docs/targets/buildkit.md)");
                        self.task(
                            "register the QEMU emulators on every runner host once (a privileged one-off on the host, not in the job)",
                            format!("runner hosts (was {})", self.loc(it.file, it.node)),
                            words.join(" "),
                            "sh",
                        );
                        ops.entry(i)
                            .or_default()
                            .push(CmdOp::Remove(c.span.clone()));
                        continue;
                    }
                    let why = if is_daemon {
                        Some("starts a Docker daemon")
                    } else {
                        daemon_only(&words)
                    };
                    if !(matches!(why, Some(WAITS | DIAGNOSTICS)) || is_daemon) {
                        only_wait = false;
                    }
                    if handled_spans.contains(&(i, c.span.start)) {
                        only_wait = false;
                        continue;
                    }
                    match why {
                        Some(w) => {
                            self.note(format!("removed `{}`: it {w}", words.join(" ")));
                            ops.entry(i)
                                .or_default()
                                .push(CmdOp::Remove(c.span.clone()));
                        }
                        None => {
                            self.partial = true;
                            let loc = self.loc(it.file, it.node);
                            self.task(
                                format!(
                                    "`{}` needs a Docker daemon, which this job no longer has",
                                    words.join(" ")
                                ),
                                loc,
                                String::new(),
                                "",
                            );
                        }
                    }
                } else if !matches!(
                    first,
                    "echo"
                        | "printf"
                        | "sleep"
                        | "true"
                        | ":"
                        | "cd"
                        | "export"
                        | "set"
                        | "mkdir"
                        | "ls"
                        | "test"
                        | "["
                        | "env"
                        | "until"
                        | "while"
                        | "do"
                        | "done"
                ) && !first.is_empty()
                {
                    others.push(first.to_string());
                } else if !matches!(first, "sleep" | "true" | ":" | "echo" | "printf" | "") {
                    only_wait = false;
                }
            }
            if docker_cmds > 0 && only_wait && !cmds.is_empty() {
                let all = 0..it.text.len();
                ops.insert(i, vec![CmdOp::Remove(all)]);
            }
        }
        self.local_script_docker(&items);
        others.sort();
        others.dedup();
        if !others.is_empty() {
            let img = match (copy, b) {
                (true, _) => "crane debug image (BusyBox, no Docker CLI)",
                (false, Builder::Buildkit) => "BuildKit image (Alpine, user 1000, no Docker CLI)",
                (false, Builder::Kaniko) => "kaniko debug image (BusyBox, no Docker CLI)",
            };
            self.note(format!(
                "the job's other commands now run in the {img}: check that {} still work there",
                others
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // Apply per item; every edited item must belong to this job alone.
        for (i, mut cops) in ops {
            let Some((_, it)) = items.get(i) else {
                continue;
            };
            if !self.exclusive(it.owner) {
                let others = self.others(it.owner);
                self.refused = Some(format!(
                    "its script lines in {} are shared with {}",
                    self.loc(it.owner.file, it.owner.key),
                    others.join(", ")
                ));
                return;
            }
            let values = apply_cmd_ops(&it.text, &mut cops);
            let r = self.node_range(it.file, it.node);
            self.claim(it.file, r, Claim::All);
            match it.seq {
                Some(seq) => {
                    // A line shared with a job of the same pass that translated it otherwise
                    // (a build job and a copy job of one template) cannot serve both.
                    if self
                        .coll
                        .get(&(it.file, seq))
                        .and_then(|o| o.replace.get(&it.node))
                        .is_some_and(|prev| *prev != values)
                    {
                        self.refused = Some(format!(
                            "its script line at {} is shared with a job that needs another translation of it",
                            self.loc(it.file, it.node)
                        ));
                        return;
                    }
                    self.ops(it.file, seq).replace.insert(it.node, values);
                    let key = items.get(i).map_or("script", |(k, _)| *k);
                    let chain_len = if key == "script" {
                        self.u
                            .layers(self.job)
                            .iter()
                            .filter(|&&(f, m)| self.u.yy(f).get(m, key).is_some())
                            .count()
                    } else {
                        self.u.chain(self.job, key).len()
                    };
                    if it.owner.value != seq || chain_len > 1 {
                        self.ops(it.file, seq).keep_when_empty = true;
                    }
                }
                None => {
                    // A whole script written as one string.
                    let d = it.owner;
                    if values.is_empty() {
                        self.remove_entry(d, Claim::All);
                    } else {
                        let nl = self.ed(d.file).nl();
                        let col = self.ed(d.file).column(self.u.yy(d.file).span(d.key).start) + 2;
                        let frag: Vec<String> = values
                            .iter()
                            .map(|v| {
                                format!("- {}", scalar_block(v, col + 2, nl).replace(nl, "\n"))
                            })
                            .collect();
                        let e = if values.len() == 1 {
                            let text = scalar_block(&values.join(""), col, nl);
                            let r = self.u.yy(d.file).span(d.value);
                            Edit::replace(self.path(d.file), r.start, r.end, text)
                        } else {
                            self.ed(d.file)
                                .replace_value(d.key, d.value, &frag.join("\n"))
                        };
                        self.direct.push((d.file, e));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Environment};
    use crate::migrate::{self, Preview, Strategy};
    use crate::rewrite::MemFiles;
    use crate::scan::scan_memory;
    use crate::templates::Templates;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    fn preview_with(
        fs: &BTreeMap<String, String>,
        strategy: Strategy,
        env: &Environment,
    ) -> Preview {
        let config = Config {
            environment: env.clone(),
            ..Config::default()
        };
        let scan = scan_memory(fs.clone(), &config);
        let plan = migrate::plan(&scan, env, strategy);
        let mem = MemFiles(
            fs.iter()
                .map(|(k, v)| (k.clone(), Arc::from(v.as_str())))
                .collect(),
        );
        let t = Templates::builtin();
        migrate::preview(&plan, &scan, &mem, &t, &|overlay| {
            let mut all = fs.clone();
            for (k, v) in overlay {
                all.insert(k.clone(), v.clone());
            }
            scan_memory(all, &config)
        })
    }

    /// Run a strategy, check idempotence, return the changed files and the preview.
    fn run(list: &[(&str, &str)], strategy: Strategy) -> (BTreeMap<String, String>, Preview) {
        run_env(list, strategy, &Environment::default())
    }

    fn run_env(
        list: &[(&str, &str)],
        strategy: Strategy,
        env: &Environment,
    ) -> (BTreeMap<String, String>, Preview) {
        let fs = files(list);
        let p = preview_with(&fs, strategy, env);
        let mut after = fs.clone();
        for c in &p.changes {
            after.insert(c.path.clone(), c.after.clone());
        }
        let again = preview_with(&after, strategy, env);
        assert!(
            again.changes.is_empty(),
            "second run changes: {:?}",
            again
                .changes
                .iter()
                .map(|c| c.unified_diff())
                .collect::<Vec<_>>()
        );
        let changed = p
            .changes
            .iter()
            .map(|c| (c.path.clone(), c.after.clone()))
            .collect();
        (changed, p)
    }

    fn status(p: &Preview, job: &str) -> Status {
        p.results
            .iter()
            .find(|r| r.pipeline == job)
            .map(|r| r.status)
            .expect("result")
    }

    const BUILD: &str = "build:\n  stage: build\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"\"\n    DOCKER_HOST: tcp://docker:2375\n    IMAGE: app\n  script:\n    - echo \"$CI_REGISTRY_PASSWORD\" | docker login -u \"$CI_REGISTRY_USER\" --password-stdin \"$CI_REGISTRY\"\n    - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" .\n    - docker push \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n";

    const BUILD_BUILDKIT: &str = "build:\n  stage: build\n  image: {name: moby/buildkit:v0.32.2-rootless, entrypoint: [\"\"]}\n  variables:\n    IMAGE: app\n    BUILDKITD_FLAGS: --oci-worker-no-process-sandbox\n  script:\n    - mkdir -p ~/.docker\n    - echo \"{\\\"auths\\\":{\\\"$CI_REGISTRY\\\":{\\\"auth\\\":\\\"$(printf '%s:%s' \"$CI_REGISTRY_USER\" \"$CI_REGISTRY_PASSWORD\" | base64 | tr -d '\\n')\\\"}}}\" > ~/.docker/config.json\n    - |\n      buildctl-daemonless.sh build \\\n        --frontend dockerfile.v0 \\\n        --local context=. \\\n        --local dockerfile=. \\\n        --output \"type=image,name=$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA,push=true\"\n";

    #[test]
    fn buildkit_rewrites_a_build_job_lf_and_crlf() {
        let (out, p) = run(&[(".gitlab-ci.yml", BUILD)], Strategy::Buildkit);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(BUILD_BUILDKIT)
        );
        assert_eq!(status(&p, "build"), Status::Migrated);
        let crlf = BUILD.replace('\n', "\r\n");
        let (out, _) = run(&[(".gitlab-ci.yml", &crlf)], Strategy::Buildkit);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(BUILD_BUILDKIT.replace('\n', "\r\n").as_str())
        );
    }

    #[test]
    fn kaniko_rewrites_a_build_job() {
        let (out, p) = run(&[(".gitlab-ci.yml", BUILD)], Strategy::Kaniko);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert_eq!(
            got,
            "build:\n  stage: build\n  image: {name: ghcr.io/osscontainertools/kaniko:v1.28.3-debug, entrypoint: [\"\"]}\n  variables:\n    IMAGE: app\n  script:\n    - mkdir -p /kaniko/.docker\n    - echo \"{\\\"auths\\\":{\\\"$CI_REGISTRY\\\":{\\\"auth\\\":\\\"$(printf '%s:%s' \"$CI_REGISTRY_USER\" \"$CI_REGISTRY_PASSWORD\" | base64 | tr -d '\\n')\\\"}}}\" > /kaniko/.docker/config.json\n    - |\n      /kaniko/executor \\\n        --context \"${CI_PROJECT_DIR}\" \\\n        --dockerfile \"${CI_PROJECT_DIR}/Dockerfile\" \\\n        --destination \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n"
        );
        assert_eq!(status(&p, "build"), Status::Migrated);
        let r = p.results.iter().find(|r| r.pipeline == "build").expect("r");
        assert!(r.notes.iter().any(|n| n.contains("archived")));
    }

    const RELEASE: &str = "release:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"/certs\"\n  script:\n    - docker --version\n    - docker login -u \"$CI_REGISTRY_USER\" -p \"$CI_REGISTRY_PASSWORD\" $CI_REGISTRY\n    - docker pull \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n    - docker tag \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" \"$CI_REGISTRY_IMAGE:latest\"\n    - docker push \"$CI_REGISTRY_IMAGE:latest\"\n";

    fn result<'p>(p: &'p Preview, job: &str) -> &'p migrate::PipelineResult {
        p.results
            .iter()
            .find(|r| r.pipeline == job)
            .expect("result")
    }

    #[test]
    fn a_retag_job_gets_crane_under_both_builders() {
        for (strategy, target) in [
            (Strategy::Buildkit, "buildkit"),
            (Strategy::Kaniko, "kaniko"),
        ] {
            let (out, p) = run(&[(".gitlab-ci.yml", RELEASE)], strategy);
            assert_eq!(
                out.get(".gitlab-ci.yml").map(String::as_str),
                Some(
                    "release:\n  image: {name: gcr.io/go-containerregistry/crane/debug:v0.21.9, entrypoint: [\"\"]}\n  script:\n    - crane auth login $CI_REGISTRY -u \"$CI_REGISTRY_USER\" -p \"$CI_REGISTRY_PASSWORD\"\n    - crane copy \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" \"$CI_REGISTRY_IMAGE:latest\"\n"
                ),
                "{target}"
            );
            assert_eq!(status(&p, "release"), Status::Migrated, "{target}");
            let r = result(&p, "release");
            assert_eq!(r.choice.as_str(), target);
            assert!(r.manual.is_empty(), "{target}: {:?}", r.manual);
            assert!(
                r.notes.iter().any(|n| n.contains("runs crane")
                    && n.contains(&format!("target stays {target}"))
                    && n.contains("https://github.com/google/go-containerregistry/blob/main/cmd/crane/README.md")),
                "{target}: {:?}",
                r.notes
            );
            assert!(
                r.notes
                    .iter()
                    .any(|n| n.starts_with("removed `docker --version`"))
            );
            assert!(r.notes.iter().any(|n| n.contains("every platform")));
            assert!(
                !r.notes
                    .iter()
                    .any(|n| n.contains("BUILDKITD") || n.contains("archived"))
            );
        }
    }

    #[test]
    fn crane_login_from_stdin_and_docker_hub() {
        let src = "promote:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - echo \"$HUB_TOKEN\" | docker login --username \"$HUB_USER\" --password-stdin\n    - cat /run/secrets/ghcr | docker login ghcr.io -u bot --password-stdin && docker pull ghcr.io/acme/app:1.2\n    - docker tag ghcr.io/acme/app:1.2 acme/app:1.2\n    - docker push acme/app:1.2\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                "promote:\n  image: {name: gcr.io/go-containerregistry/crane/debug:v0.21.9, entrypoint: [\"\"]}\n  script:\n    - echo \"$HUB_TOKEN\" | crane auth login index.docker.io -u \"$HUB_USER\" --password-stdin\n    - cat /run/secrets/ghcr | crane auth login ghcr.io -u bot --password-stdin\n    - crane copy ghcr.io/acme/app:1.2 acme/app:1.2\n"
            )
        );
        assert_eq!(status(&p, "promote"), Status::Migrated);
    }

    #[test]
    fn crane_push_without_tag_platform_and_all_tags() {
        // A pulled image pushed back unchanged goes; a pull for one platform copies that one;
        // `push --all-tags` copies every name given in the repository.
        let src = "mirror:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker pull --platform linux/arm64 r.example/base:3\n    - docker push r.example/base:3\n    - docker tag r.example/base:3 mirror.example/base:3\n    - docker tag r.example/base:3 mirror.example/base:latest\n    - docker tag r.example/base:3 mirror.example/unused:3\n    - docker push --all-tags mirror.example/base\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                "mirror:\n  image: {name: gcr.io/go-containerregistry/crane/debug:v0.21.9, entrypoint: [\"\"]}\n  script:\n    - crane copy --platform linux/arm64 r.example/base:3 mirror.example/base:3\n    - crane copy --platform linux/arm64 r.example/base:3 mirror.example/base:latest\n"
            )
        );
        let r = result(&p, "mirror");
        assert_eq!(r.status, Status::Migrated);
        assert!(
            r.notes
                .iter()
                .any(|n| n.starts_with("removed `docker push r.example/base:3`")),
            "{:?}",
            r.notes
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("mirror.example/unused:3") && n.contains("never pushed")),
            "{:?}",
            r.notes
        );
        // Every copy is for one platform: no note about multi-platform copies.
        assert!(!r.notes.iter().any(|n| n.contains("every platform")));
    }

    #[test]
    fn what_crane_cannot_do_stays_manual_naming_the_line() {
        // `docker load` (no Docker daemon any more) and a push of the loaded image: the job is
        // partial, every untranslated line has a manual task with its location.
        let src = "ship:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker login -u u -p \"$P\" r.example\n    - docker load -i app.tar\n    - docker tag app:1 r.example/app:1\n    - docker push r.example/app:1\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(
            got.contains("- crane auth login r.example -u u -p \"$P\""),
            "{got}"
        );
        for kept in [
            "- docker load -i app.tar",
            "- docker tag app:1 r.example/app:1",
            "- docker push r.example/app:1",
        ] {
            assert!(got.contains(kept), "{got}");
        }
        let r = result(&p, "ship");
        assert_eq!(r.status, Status::Partial);
        let task = |what: &str, line: usize| {
            r.manual
                .iter()
                .any(|m| m.title.contains(what) && m.location == format!(".gitlab-ci.yml:{line}"))
        };
        assert!(
            task("`docker load -i app.tar` needs a Docker daemon", 6),
            "{:?}",
            r.manual
        );
        assert!(
            task("`docker tag app:1 r.example/app:1`", 7),
            "{:?}",
            r.manual
        );
        assert!(task("`docker push r.example/app:1`", 8), "{:?}", r.manual);
    }

    #[test]
    fn a_retag_job_with_docker_run_is_partial_when_forced_onto_a_builder() {
        // The plan never picks a builder for a job that runs containers; a person can
        // still choose one: the copy is translated and `docker run` stays, named.
        let src = "release:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker pull r.example/app:1\n    - docker run --rm r.example/app:1 --self-test\n    - docker tag r.example/app:1 r.example/app:stable\n    - docker push r.example/app:stable\n";
        let fs = files(&[(".gitlab-ci.yml", src)]);
        let env = Environment::default();
        let config = Config::default();
        let scan = scan_memory(fs.clone(), &config);
        let mut plan = migrate::plan(&scan, &env, Strategy::Auto);
        let pp = plan
            .pipelines
            .iter_mut()
            .find(|p| p.pipeline.name == "release")
            .expect("planned");
        assert_ne!(pp.choice, crate::plan::Choice::Buildkit, "{}", pp.why);
        pp.choice = crate::plan::Choice::Buildkit;
        let mem = MemFiles(
            fs.iter()
                .map(|(k, v)| (k.clone(), Arc::from(v.as_str())))
                .collect(),
        );
        let t = Templates::builtin();
        let p = migrate::preview(&plan, &scan, &mem, &t, &|overlay| {
            let mut all = fs.clone();
            all.extend(overlay.iter().map(|(k, v)| (k.clone(), v.clone())));
            scan_memory(all, &config)
        });
        let got = p
            .changes
            .first()
            .map(|c| c.after.clone())
            .unwrap_or_default();
        assert!(
            got.contains("- docker run --rm r.example/app:1 --self-test")
                && got.contains("- crane copy r.example/app:1 r.example/app:stable"),
            "{got}"
        );
        let r = result(&p, "release");
        assert_eq!(r.status, Status::Partial);
        assert!(
            r.manual.iter().any(|m| m
                .title
                .contains("`docker run --rm r.example/app:1 --self-test`")
                && m.location == ".gitlab-ci.yml:6"),
            "{:?}",
            r.manual
        );
    }

    #[test]
    fn a_retag_job_inheriting_a_docker_template_gets_its_own_image() {
        // The template's image becomes the builder for the build job; the copy job is given
        // crane in its own mapping.
        let src = ".docker:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"/certs\"\n\nbuild:\n  extends: .docker\n  script:\n    - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" .\n    - docker push \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n\nrelease:\n  extends: .docker\n  script:\n    - docker pull \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n    - docker tag \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" \"$CI_REGISTRY_IMAGE:latest\"\n    - docker push \"$CI_REGISTRY_IMAGE:latest\"\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Kaniko);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                ".docker:\n  image: {name: ghcr.io/osscontainertools/kaniko:v1.28.3-debug, entrypoint: [\"\"]}\n\nbuild:\n  extends: .docker\n  script:\n    - |\n      /kaniko/executor \\\n        --context \"${CI_PROJECT_DIR}\" \\\n        --dockerfile \"${CI_PROJECT_DIR}/Dockerfile\" \\\n        --destination \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n\nrelease:\n  extends: .docker\n  script:\n    - crane copy \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" \"$CI_REGISTRY_IMAGE:latest\"\n  image: {name: gcr.io/go-containerregistry/crane/debug:v0.21.9, entrypoint: [\"\"]}\n"
            )
        );
        assert_eq!(status(&p, "build"), Status::Migrated);
        assert_eq!(status(&p, "release"), Status::Migrated);
    }

    #[test]
    fn a_login_line_a_build_job_and_a_copy_job_share_is_refused() {
        // The build job would write config.json there, the copy job `crane auth login`: one
        // line cannot be both, so nothing is written and a person decides.
        let src = ".docker:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  before_script:\n    - docker login -u u -p \"$P\" r.example\n\nbuild:\n  extends: .docker\n  script:\n    - docker build -t r.example/app:1 --push .\n\nrelease:\n  extends: .docker\n  script:\n    - docker pull r.example/app:1\n    - docker tag r.example/app:1 r.example/app:stable\n    - docker push r.example/app:stable\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        assert!(out.is_empty(), "{out:?}");
        for job in ["build", "release"] {
            assert_eq!(status(&p, job), Status::Manual, "{job}");
        }
        // The group's task is listed once, with the pipeline that leads it.
        assert!(
            p.results.iter().flat_map(|r| r.manual.iter()).any(|m| m
                .title
                .contains("script line at .gitlab-ci.yml:5 is shared with a job that needs another translation")),
            "{:?}",
            p.results.iter().map(|r| &r.manual).collect::<Vec<_>>()
        );
    }

    #[test]
    fn docker_commands_in_a_local_script_the_job_runs_are_manual() {
        let src = "build:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker build -t r.example/app:1 .\n    - ./ci/publish.sh\n";
        let sh = "#!/bin/sh\nset -eu\ndocker --version\ndocker tag r.example/app:1 r.example/app:latest\necho done && docker push r.example/app:latest\n";
        let (out, p) = run(
            &[(".gitlab-ci.yml", src), ("ci/publish.sh", sh)],
            Strategy::Buildkit,
        );
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(
            got.contains("buildctl-daemonless.sh build") && got.contains("- ./ci/publish.sh"),
            "{got}"
        );
        assert!(!out.contains_key("ci/publish.sh"));
        let r = result(&p, "build");
        assert_eq!(r.status, Status::Partial);
        let tasks: Vec<(&str, &str)> = r
            .manual
            .iter()
            .filter(|m| m.title.contains("ci/publish.sh"))
            .map(|m| (m.title.as_str(), m.location.as_str()))
            .collect();
        assert_eq!(
            tasks,
            [
                (
                    "`docker tag r.example/app:1 r.example/app:latest` in `ci/publish.sh`, which this job runs, needs a Docker daemon, which this job no longer has: translate it by hand",
                    "ci/publish.sh:4"
                ),
                (
                    "`docker push r.example/app:latest` in `ci/publish.sh`, which this job runs, needs a Docker daemon, which this job no longer has: translate it by hand",
                    "ci/publish.sh:5"
                ),
            ]
        );
    }

    #[test]
    fn docker_version_is_diagnostics_in_a_build_job() {
        let src = "build:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker --version\n    - docker version\n    - docker build -t r/app:1 --push .\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(!got.contains("docker "), "{got}");
        assert!(got.contains("buildctl-daemonless.sh build"), "{got}");
        let r = result(&p, "build");
        assert_eq!(r.status, Status::Migrated, "{:?}", r.manual);
        for cmd in ["docker --version", "docker version"] {
            assert!(
                r.notes
                    .iter()
                    .any(|n| *n == format!("removed `{cmd}`: it {DIAGNOSTICS}")),
                "{:?}",
                r.notes
            );
        }
    }

    #[test]
    fn sysbox_keeps_dind_turns_tls_on_and_tags_the_job() {
        let src = "test:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"\"\n    DOCKER_HOST: tcp://docker:2375\n  script:\n    - docker run --rm alpine true\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Sysbox);
        // No suppression comment: the tag is what moves the job, and the re-scan reads it.
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                "test:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"/certs\"\n    DOCKER_HOST: tcp://docker:2376\n  script:\n    - docker run --rm alpine true\n  tags:\n    - sysbox\n"
            )
        );
        assert_eq!(status(&p, "test"), Status::Migrated);
        assert!(p.remaining.is_empty(), "{:#?}", p.remaining);
        let r = p.results.iter().find(|r| r.pipeline == "test").expect("r");
        assert!(
            r.manual
                .iter()
                .any(|m| m.snippet.contains("runtime = \"sysbox-runc\""))
        );
        let crlf = src.replace('\n', "\r\n");
        let (out, _) = run(&[(".gitlab-ci.yml", &crlf)], Strategy::Sysbox);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(got.ends_with("  tags:\r\n    - sysbox\r\n"), "{got}");
        assert!(!got.contains("depriv: ignore"), "{got}");
        assert_eq!(got.matches('\n').count(), got.matches("\r\n").count());
    }

    #[test]
    fn a_job_on_the_sysbox_runners_keeps_its_dind_without_a_finding() {
        let scan = |src: &str, config: &str| {
            let config = crate::config::Config::parse(config).unwrap_or_default();
            crate::scan::scan_memory(
                BTreeMap::from([(".gitlab-ci.yml".to_string(), src.to_string())]),
                &config,
            )
            .findings
            .iter()
            .filter(|f| f.rule == "privileged-dind")
            .map(|f| {
                f.affected
                    .iter()
                    .map(|(_, j)| j.clone())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
        };
        let tagged = format!("test:\n  tags: [sysbox]\n{DIND_JOB}");
        assert!(scan(&tagged, "").is_empty());
        // Another tag is configured: this job is not on the sysbox runners.
        assert_eq!(
            scan(&tagged, "[environment]\nsysbox-tag = \"nested\"\n"),
            vec![vec!["test".to_string()]]
        );
        // A shared template: the finding stays for the job that did not move, and for no
        // other.
        let shared = ".d:\n  image: docker:29-cli\n  services: [docker:29-dind]\n\na:\n  extends: .d\n  tags: [sysbox]\n  script: [docker run --rm x]\n\nb:\n  extends: .d\n  script: [docker run --rm y]\n";
        assert_eq!(scan(shared, ""), vec![vec!["b".to_string()]]);
        let both = shared.replace(
            "  script: [docker run --rm y]",
            "  tags: [sysbox]\n  script: [docker run --rm y]",
        );
        assert!(scan(&both, "").is_empty());
        // A template no job uses is still reported.
        assert_eq!(
            scan(
                ".d:\n  image: docker:29-cli\n  services: [docker:29-dind]\n",
                ""
            )
            .len(),
            1
        );
    }

    /// The sysbox result of one job: its output file, status, manual task titles.
    fn sysbox_of(src: &str, job: &str, env: &Environment) -> (String, Status, Vec<String>) {
        let (out, p) = run_env(&[(".gitlab-ci.yml", src)], Strategy::Sysbox, env);
        let r = p
            .results
            .iter()
            .find(|r| r.pipeline == job)
            .expect("result");
        (
            out.get(".gitlab-ci.yml").cloned().unwrap_or_default(),
            r.status,
            r.manual
                .iter()
                .map(|m| format!("{} @ {}", m.title, m.location))
                .collect(),
        )
    }

    const DIND_JOB: &str = "  image: docker:29-cli\n  services:\n    - docker:29-dind\n  variables:\n    DOCKER_TLS_CERTDIR: \"/certs\"\n  script:\n    - docker run --rm alpine true\n";

    #[test]
    fn sysbox_tag_joins_the_jobs_own_tags_lf_and_crlf() {
        let src = format!("test:\n  tags:\n    - linux   # pool\n    - \"docker\"\n{DIND_JOB}");
        let (out, st, _) = sysbox_of(&src, "test", &Environment::default());
        assert_eq!(st, Status::Migrated);
        assert!(
            out.starts_with(
                "test:\n  tags:\n    - linux   # pool\n    - \"docker\"\n    - sysbox\n  image:"
            ),
            "{out}"
        );
        assert!(!out.contains("depriv: ignore"), "{out}");
        let crlf = src.replace('\n', "\r\n");
        let (out, _, _) = sysbox_of(&crlf, "test", &Environment::default());
        assert!(
            out.contains("    - \"docker\"\r\n    - sysbox\r\n  image:"),
            "{out}"
        );
        assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());
        // The answer names the tag; a flow list gets it inside the brackets.
        let env = Environment {
            sysbox_tag: Some("nested docker".into()),
            ..Environment::default()
        };
        let flow = format!("test:\n  tags: [linux]\n{DIND_JOB}");
        let (out, _, manual) = sysbox_of(&flow, "test", &env);
        assert!(out.contains("  tags: [linux, nested docker]\n"), "{out}");
        assert!(
            manual
                .iter()
                .any(|m| m.contains("runner tag `nested docker`")),
            "{manual:?}"
        );
    }

    #[test]
    fn sysbox_tag_replaces_conflicting_runner_tags() {
        let src = format!(
            "test:\n  tags:\n    - saas-linux-small-amd64\n    - linux\n    - privileged\n{DIND_JOB}"
        );
        let (out, _, _) = sysbox_of(&src, "test", &Environment::default());
        assert!(
            out.starts_with("test:\n  tags:\n    - sysbox\n    - linux\n  image:"),
            "{out}"
        );
    }

    #[test]
    fn sysbox_tag_in_a_template_every_user_of_which_moves() {
        let src = ".dind:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  tags: [docker]\n\nbuild:\n  extends: .dind\n  script:\n    - docker run --rm app ./t\n\ntest:\n  extends: .dind\n  script:\n    - docker run --rm app ./u\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Sysbox);
        let out = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        for job in ["build", "test"] {
            assert_eq!(status(&p, job), Status::Migrated, "{job}");
        }
        assert!(out.contains("  tags: [docker, sysbox]\n"), "{out}");
        assert_eq!(out.matches("tags").count(), 1, "{out}");
    }

    #[test]
    fn sysbox_tag_over_shared_or_default_tags_goes_in_the_job() {
        // `.base` is also used by `lint`, which does not move: arrays are replaced through
        // `extends:`, so the job states the whole list.
        let src = format!(
            ".base:\n  tags: [docker, linux]\n\nlint:\n  extends: .base\n  script: [make lint]\n\ntest:\n  extends: .base\n{DIND_JOB}"
        );
        let (out, st, _) = sysbox_of(&src, "test", &Environment::default());
        assert_eq!(st, Status::Migrated);
        assert!(
            out.starts_with(".base:\n  tags: [docker, linux]\n"),
            "{out}"
        );
        assert!(out.ends_with("  tags: [docker, linux, sysbox]\n"), "{out}");
        let src =
            format!("default:\n  tags: [k8s]\n\nlint:\n  script: [make lint]\n\ntest:\n{DIND_JOB}");
        let (out, _, _) = sysbox_of(&src, "test", &Environment::default());
        assert!(out.starts_with("default:\n  tags: [k8s]\n"), "{out}");
        assert!(out.ends_with("  tags: [k8s, sysbox]\n"), "{out}");
        // An alias in the job itself gives way to the list; the anchor stays.
        let src = format!(
            ".t: &t [docker]\n\nlint:\n  tags: *t\n  script: [make lint]\n\ntest:\n  tags: *t\n{DIND_JOB}"
        );
        let (out, _, _) = sysbox_of(&src, "test", &Environment::default());
        assert!(out.contains("lint:\n  tags: *t\n"), "{out}");
        assert!(out.contains("test:\n  tags: [docker, sysbox]\n"), "{out}");
    }

    #[test]
    fn sysbox_tag_that_cannot_be_added_is_partial_never_a_bare_suppression() {
        let src = format!(
            ".t:\n  tags: [docker]\n\nlint:\n  tags: !reference [.t, tags]\n  script: [make lint]\n\ntest:\n  tags: !reference [.t, tags]\n{DIND_JOB}"
        );
        let (out, st, manual) = sysbox_of(&src, "test", &Environment::default());
        assert_eq!(st, Status::Partial, "{out}");
        assert!(!out.contains("depriv: ignore"), "{out}");
        assert!(
            manual
                .iter()
                .any(|m| m.contains("runner tag `sysbox`") && m.ends_with(".gitlab-ci.yml:9")),
            "{manual:?}"
        );
        // A flow-mapping job has no place for a block `tags:`.
        let src = "lint:\n  script: [make lint]\ntest: {image: docker:29-cli, services: [docker:29-dind], variables: {DOCKER_TLS_CERTDIR: /certs}, script: [docker run --rm alpine true]}\n";
        let (out, st, manual) = sysbox_of(src, "test", &Environment::default());
        assert!(matches!(st, Status::Partial | Status::Manual), "{st:?}");
        assert!(!out.contains("depriv: ignore"), "{out}");
        assert!(
            manual
                .iter()
                .any(|m| m.contains("flow mapping") && m.ends_with(".gitlab-ci.yml:3")),
            "{manual:?}"
        );
    }

    #[test]
    fn rootless_swaps_the_service_and_keeps_the_finding() {
        let src = "variables:\n  DOCKER_VERSION: \"29.1\"\ntest:\n  image: docker:29-cli\n  services:\n    - name: \"docker:${DOCKER_VERSION}-dind\"\n      alias: docker\n      command: [\"--tls=false\"]\n  script:\n    - docker run --rm alpine true\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Rootless);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                "variables:\n  DOCKER_VERSION: \"29.1\"\ntest:\n  image: docker:29-cli\n  services:\n    - name: \"docker:${DOCKER_VERSION}-dind-rootless\"\n      alias: docker\n  script:\n    - docker run --rm alpine true\n  variables:\n    DOCKER_HOST: tcp://docker:2376\n    DOCKER_TLS_CERTDIR: \"/certs\"\n"
            )
        );
        assert_eq!(status(&p, "test"), Status::Partial);
    }

    #[test]
    fn tls_pins_unpinned_dind_and_adds_client_variables() {
        let src = "build:\n  image: docker:cli\n  services: [docker:dind]\n  script:\n    - docker build -t app .\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Tls);
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                "build:\n  image: docker:cli\n  services: [docker:29-dind]\n  script:\n    - docker build -t app .\n  variables:\n    DOCKER_HOST: tcp://docker:2376\n    DOCKER_TLS_CERTDIR: \"/certs\"\n"
            )
        );
        // Written, but the daemon stays privileged: partial, never manual.
        assert_eq!(status(&p, "build"), Status::Partial);
    }

    #[test]
    fn templates_across_includes_and_anchors() {
        let root = "include:\n  - local: ci/docker.yml\n\n.vars: &vars\n  DOCKER_TLS_CERTDIR: \"\"\n  DOCKER_DRIVER: overlay2\n\nbuild:\n  extends: .docker\n  variables:\n    <<: *vars\n    IMAGE: app\n  script:\n    - docker build -t \"$IMAGE\" .\n";
        let inc = ".docker:\n  image: docker:29-cli\n  services:\n    - name: docker:29-dind\n      alias: docker\n  before_script:\n    - until docker info >/dev/null 2>&1; do sleep 1; done\n  tags: [docker]\n";
        let (out, p) = run(
            &[(".gitlab-ci.yml", root), ("ci/docker.yml", inc)],
            Strategy::Buildkit,
        );
        assert_eq!(
            out.get("ci/docker.yml").map(String::as_str),
            Some(
                ".docker:\n  image: {name: moby/buildkit:v0.32.2-rootless, entrypoint: [\"\"]}\n  tags: [docker]\n  variables:\n    BUILDKITD_FLAGS: --oci-worker-no-process-sandbox\n"
            )
        );
        assert_eq!(
            out.get(".gitlab-ci.yml").map(String::as_str),
            Some(
                "include:\n  - local: ci/docker.yml\n\n.vars: &vars {}\n\nbuild:\n  extends: .docker\n  variables:\n    <<: *vars\n    IMAGE: app\n  script:\n    - |\n      buildctl-daemonless.sh build \\\n        --frontend dockerfile.v0 \\\n        --local context=. \\\n        --local dockerfile=.\n"
            )
        );
        assert_eq!(status(&p, "build"), Status::Migrated);
    }

    #[test]
    fn shared_dind_template_moves_with_every_job_that_uses_it() {
        // `test` runs containers, so BuildKit is not feasible for the anchor both jobs merge:
        // the forced strategy is refused for the group, which moves to the recommended sysbox
        // together, the anchor edited once.
        let src = ".dj: &dj\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n\nbuild:\n  <<: *dj\n  script:\n    - docker build -t app .\n\ntest:\n  <<: *dj\n  script:\n    - docker run --rm app ./t\n";
        let fs = files(&[(".gitlab-ci.yml", src)]);
        let p = preview_with(&fs, Strategy::Buildkit, &Environment::default());
        for job in ["build", "test"] {
            let r = p.results.iter().find(|r| r.pipeline == job).expect(job);
            assert_eq!(r.choice.as_str(), "sysbox", "{job}");
            assert_eq!(r.status, Status::Migrated, "{job}");
            assert!(r.why.contains("not feasible"), "{}", r.why);
        }
        // The jobs merge the anchor with `<<`, so each job's own mapping is where its
        // variables live: both get the TLS client settings.
        let out = &p.changes.first().expect("a change").after;
        assert_eq!(out.matches("DOCKER_TLS_CERTDIR").count(), 2, "{out}");
        assert_eq!(out.matches("docker:29-dind").count(), 1, "{out}");
    }

    #[test]
    fn reference_and_default_forms() {
        let src = ".svc:\n  services:\n    - name: docker:29-dind\n      alias: docker\n\nbuild:\n  image: docker:29-cli\n  services: !reference [.svc, services]\n  script:\n    - docker build -t app .\n";
        let (out, _) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(got.starts_with(".svc:\n  services: []\n"), "{got}");
        assert!(got.contains("services: !reference [.svc, services]"));
        let src = "default:\n    image: docker:29-cli\n    services:\n        - docker:29-dind\n    before_script:\n        - docker info\n\nbuild:\n    script:\n        - docker build -t app .\n";
        let (out, _) = run(&[(".gitlab-ci.yml", src)], Strategy::Buildkit);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert_eq!(
            got,
            "default:\n    image: {name: moby/buildkit:v0.32.2-rootless, entrypoint: [\"\"]}\n\nbuild:\n    script:\n        - |\n          buildctl-daemonless.sh build \\\n            --frontend dockerfile.v0 \\\n            --local context=. \\\n            --local dockerfile=.\n    variables:\n      BUILDKITD_FLAGS: --oci-worker-no-process-sandbox\n"
        );
    }

    #[test]
    fn unmapped_commands_leave_manual_tasks() {
        let src = "build:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script:\n    - docker build --ssh default -t r/app:1 .\n    - docker push r/app:1\n    - docker push other/image:2\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Kaniko);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(
            got.contains("# depriv: not translated (no kaniko equivalent): --ssh default"),
            "{got}"
        );
        assert!(got.contains("- docker push other/image:2"));
        let r = p.results.iter().find(|r| r.pipeline == "build").expect("r");
        assert!(r.manual.iter().any(|m| m.title.contains("crane")));
    }

    #[test]
    fn remote_daemon_is_manual() {
        let src = "deploy:\n  image: docker:29-cli\n  script:\n    - export DOCKER_HOST=tcp://build-host.internal:2375\n    - docker compose up -d\n";
        let (out, p) = run(&[(".gitlab-ci.yml", src)], Strategy::Tls);
        assert!(out.is_empty());
        let r = p
            .results
            .iter()
            .find(|r| r.pipeline == "deploy")
            .expect("r");
        assert_eq!(r.status, Status::Manual);
        assert!(
            r.manual
                .iter()
                .any(|m| m.title.contains("build-host.internal"))
        );
    }

    #[test]
    fn crlf_output_matches_lf_for_every_target() {
        let inputs = [
            BUILD,
            "default:\n  image: docker:29-cli\n  services:\n    - name: docker:dind\n      command: [\"--tls=false\"]\n  before_script:\n    - docker info\nvariables:\n  DOCKER_HOST: tcp://docker:2375\nbuild:\n  script:\n    - docker build -f ci/Dockerfile --push -t r/a:1 .\n",
            "t:\n  image: docker:cli\n  services: [docker:dind]\n  variables: {DOCKER_TLS_CERTDIR: ''}\n  script:\n    - docker run --rm alpine\n",
        ];
        for input in inputs {
            for st in [
                Strategy::Buildkit,
                Strategy::Kaniko,
                Strategy::Sysbox,
                Strategy::Rootless,
                Strategy::Tls,
            ] {
                let (lf, _) = run(&[(".gitlab-ci.yml", input)], st);
                let crlf_in = input.replace('\n', "\r\n");
                let (crlf, _) = run(&[(".gitlab-ci.yml", &crlf_in)], st);
                let want: BTreeMap<String, String> = lf
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace('\n', "\r\n")))
                    .collect();
                assert_eq!(crlf, want, "{st:?} on {input}");
                assert!(!lf.is_empty(), "{st:?} changed nothing in {input}");
            }
        }
    }

    #[test]
    fn scalar_rendering() {
        assert_eq!(scalar_inline("docker build .", false), "docker build .");
        assert_eq!(scalar_inline("a: b", false), "'a: b'");
        assert_eq!(scalar_inline("true", false), "'true'");
        assert_eq!(scalar_inline("x, y", true), "'x, y'");
        assert_eq!(scalar_inline("it's # x", false), "'it''s # x'");
        assert_eq!(scalar_block("a\nb", 4, "\n"), "|-\n    a\n    b");
        assert_eq!(scalar_block("a\n\nb\n", 2, "\r\n"), "|\r\n  a\r\n\r\n  b");
        assert_eq!(scalar_block(" a\nb", 2, "\n"), "\" a\\nb\"");
        assert_eq!(
            remove_command("a && docker push x && b", &(5..18)),
            "a && b"
        );
        assert_eq!(remove_command("docker info; echo", &(0..11)), "echo");
        assert_eq!(remove_command("x | docker push y", &(4..17)), "x | true");
        assert_eq!(
            service_host(&Svc {
                file: 0,
                seq: 0,
                item: 0,
                image_node: 0,
                image: "registry.example.com/lib/docker:29-dind".into(),
                expanded: String::new(),
                alias: None,
                map: None,
                owner: Def {
                    file: 0,
                    map: 0,
                    key: 0,
                    value: 0
                },
            }),
            "registry.example.com__lib__docker"
        );
        assert_eq!(
            split_image("${P}/docker:29-dind"),
            ("${P}/".into(), "docker".into(), Some("29-dind".into()))
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let deep = format!(
            "build:\n  extends: .a0\n  script: [docker build .]\n{}",
            (0..40)
                .map(|i| format!(".a{i}:\n  extends: .a{}\n", i + 1))
                .collect::<String>()
        );
        let cyc = "build:\n  extends: .x\n  services: [docker:dind]\n  script: [docker build -t a .]\n.x:\n  extends: build\n";
        let refs = "build:\n  services: !reference [build, services]\n  script: !reference [build, script]\n";
        let odd = "build:\n  services: [docker:dind]\n  script: \"docker build -t a . && docker push a\"\n";
        let unterminated = "build:\n  services: [docker:dind]\n  script:\n    - echo \"unterminated | docker login -u x --password-stdin\n    - docker build -t 'a\n";
        let nested = format!(
            "build:\n  services: [docker:dind]\n  script: {}x{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        let big = format!(
            "build:\n  services: [docker:dind]\n  script:\n{}",
            "    - docker build -t a .\n".repeat(500)
        );
        for src in [
            deep.as_str(),
            cyc,
            refs,
            odd,
            unterminated,
            big.as_str(),
            nested.as_str(),
            "",
            "build: 1\n",
            "[]\n",
        ] {
            for s in [
                Strategy::Buildkit,
                Strategy::Kaniko,
                Strategy::Sysbox,
                Strategy::Rootless,
                Strategy::Tls,
            ] {
                let fs = files(&[(".gitlab-ci.yml", src)]);
                let _ = preview_with(&fs, s, &Environment::default());
            }
        }
        let (out, _) = run(&[(".gitlab-ci.yml", odd)], Strategy::Buildkit);
        let got = out.get(".gitlab-ci.yml").cloned().unwrap_or_default();
        assert!(
            got.contains("script: |-\n    buildctl-daemonless.sh build"),
            "{got}"
        );
    }
}
