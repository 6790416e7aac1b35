//! GitLab CI: a project is a root `.gitlab-ci.yml` (or any `*.gitlab-ci.yml` no other file
//! includes) plus every file reached by local `include:` (string, list, `local:`, globs).
//! Jobs are resolved through `extends:` (single, list, multi-level; deep merge of mappings,
//! lists replaced), `default:`, global `image/services/variables`, anchors and merge keys,
//! and `!reference`. Every resolved value remembers its file and node, so a finding inherited
//! through `extends:` or `include:` points at the line that defines it.

use std::collections::BTreeMap;

use super::yamlx::Doc;
use crate::finding::{DiagLevel, Surface};
use crate::model::{Container, DockerUse, Pipeline, Role, Val};
use crate::source::yaml::{NodeId, NodeKind, Yaml};
use crate::source::{FileId, Loc, text};

pub use super::gitlab_resolve::RESERVED;
use super::gitlab_resolve::{Inherit, MAX_DEPTH, Project};

/// A value of a resolved job: a merged mapping, or a node in one of the files.
#[derive(Clone, Debug)]
pub enum RVal {
    /// A mapping after deep merge.
    Map(Vec<(String, RVal)>),
    /// A node, unmerged.
    Leaf(FileId, NodeId),
}

impl RVal {
    /// Look up a key of a merged mapping.
    pub fn get(&self, key: &str) -> Option<&RVal> {
        match self {
            RVal::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            RVal::Leaf(..) => None,
        }
    }

    fn merge(base: &RVal, over: &RVal) -> RVal {
        match (base, over) {
            (RVal::Map(b), RVal::Map(o)) => {
                let mut out: Vec<(String, RVal)> = b.clone();
                for (k, v) in o {
                    if let Some(slot) = out.iter_mut().find(|(bk, _)| bk == k) {
                        slot.1 = RVal::merge(&slot.1, v);
                    } else {
                        out.push((k.clone(), v.clone()));
                    }
                }
                RVal::Map(out)
            }
            (_, o) => o.clone(),
        }
    }
}

/// One file of a project, parsed.
pub struct GlFile<'a> {
    /// Its tree.
    pub y: &'a Yaml,
    /// Its id in the unit.
    pub id: FileId,
}

/// Outcome of lowering a project.
pub struct Lowered {
    /// Pipelines (jobs, templates and a `(global)` pseudo-pipeline).
    pub pipelines: Vec<Pipeline>,
    /// (file, offset, level, message) diagnostics.
    pub diagnostics: Vec<(FileId, usize, DiagLevel, String)>,
}

/// Mapping entries [`to_rval`] expands per value; a merge key that reaches its own mapping
/// (`&a {x: {<<: *a}}`) would otherwise expand the same entries again at every level.
const RVAL_ENTRY_BUDGET: usize = 20_000;

fn to_rval(y: &Yaml, file: FileId, id: NodeId, depth: usize) -> RVal {
    let mut budget = RVAL_ENTRY_BUDGET;
    to_rval_in(y, file, id, depth, &mut budget)
}

fn to_rval_in(y: &Yaml, file: FileId, id: NodeId, depth: usize, budget: &mut usize) -> RVal {
    let r = y.resolve(id);
    if depth < 64
        && *budget > 0
        && matches!(y.node(r).kind, NodeKind::Map { .. })
        && y.node(r).tag.is_none()
    {
        let entries = y.entries(r).unwrap_or_default();
        *budget = budget.saturating_sub(entries.len() + 1);
        return RVal::Map(
            entries
                .into_iter()
                .map(|e| (e.key, to_rval_in(y, file, e.value, depth + 1, budget)))
                .collect(),
        );
    }
    RVal::Leaf(file, id)
}

/// Local include patterns with their location, and notes about includes not followed.
pub type Includes = (Vec<(String, Loc)>, Vec<(Loc, String)>);

/// Include targets of one file: local paths or glob patterns, plus notes for the rest.
pub fn includes(y: &Yaml, file: FileId) -> Includes {
    let d = Doc { y, file };
    let mut local = Vec::new();
    let mut notes = Vec::new();
    for &root in y.documents() {
        let Some(inc) = d.get(root, "include") else {
            continue;
        };
        for item in d.items(inc) {
            if let Some(s) = d.sval(item)
                && !d.is_map(item)
            {
                if s.v.starts_with("http://") || s.v.starts_with("https://") {
                    notes.push((s.loc, format!("remote include `{}` is not followed", s.v)));
                } else {
                    local.push((s.v.clone(), s.loc));
                }
                continue;
            }
            if !d.is_map(item) {
                continue;
            }
            if let Some(l) = d.sget(item, "local") {
                local.push((l.v.clone(), l.loc));
            } else if let Some(p) = d.sget(item, "project") {
                notes.push((p.loc, format!("project include `{}` is not followed", p.v)));
            } else if let Some(r) = d.sget(item, "remote") {
                notes.push((r.loc, format!("remote include `{}` is not followed", r.v)));
            } else if let Some(t) = d.sget(item, "template") {
                notes.push((t.loc, format!("template include `{}` is not followed", t.v)));
            } else if let Some(c) = d.sget(item, "component") {
                notes.push((
                    c.loc,
                    format!("component include `{}` is not followed", c.v),
                ));
            }
        }
    }
    (local, notes)
}

/// Normalise an include path to a root-relative path or pattern.
pub fn normalise_include(p: &str) -> String {
    p.trim()
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

struct Ctx<'a> {
    files: &'a [GlFile<'a>],
    /// The shared resolver over the same files (index = position in `files`).
    project: Project<&'a Yaml>,
    /// Top-level entries in merge order (included files first, then the including file).
    top: BTreeMap<String, RVal>,
    order: Vec<String>,
    resolved: BTreeMap<String, Option<RVal>>,
    diagnostics: Vec<(FileId, usize, DiagLevel, String)>,
}

impl<'a> Ctx<'a> {
    fn yaml(&self, file: FileId) -> Option<&'a Yaml> {
        self.files.iter().find(|f| f.id == file).map(|f| f.y)
    }

    fn doc(&self, file: FileId) -> Option<Doc<'a>> {
        self.yaml(file).map(|y| Doc { y, file })
    }

    /// A job after `extends:`: its definition layers (from the shared resolver) merged from
    /// the lowest priority up.
    fn resolve(&mut self, name: &str) -> Option<RVal> {
        if let Some(r) = self.resolved.get(name) {
            return r.clone();
        }
        let mut out: Option<RVal> = None;
        for &(f, m) in self.project.layers(name).iter().rev() {
            let Some(gf) = self.files.get(f) else {
                continue;
            };
            let v = to_rval(gf.y, gf.id, m, 0);
            out = Some(match out {
                Some(b) => RVal::merge(&b, &v),
                None => v,
            });
        }
        let out = out.or_else(|| self.top.get(name).cloned());
        self.resolved.insert(name.to_string(), out.clone());
        out
    }

    /// Follow `!reference [job, key, …]` (bounded).
    fn deref(&mut self, v: &RVal, depth: usize) -> Option<RVal> {
        let RVal::Leaf(f, n) = v else {
            return Some(v.clone());
        };
        let y = self.yaml(*f)?;
        let node = y.node(*n);
        if node.tag.as_deref() != Some("!reference") {
            return Some(v.clone());
        }
        if depth > MAX_DEPTH {
            return None;
        }
        let d = Doc { y, file: *f };
        let path: Vec<String> = d.str_list(*n).into_iter().map(|v| v.v).collect();
        let (job, keys) = path.split_first()?;
        let mut cur = if self.top.contains_key(job) {
            self.resolve(job)?
        } else {
            let loc = d.loc(*n);
            self.diagnostics.push((
                loc.file,
                loc.span.start,
                DiagLevel::Warning,
                format!("`!reference` to unknown job `{job}`"),
            ));
            return None;
        };
        for k in keys {
            let next = match &cur {
                RVal::Map(_) => cur.get(k).cloned()?,
                RVal::Leaf(lf, ln) => {
                    let ly = self.yaml(*lf)?;
                    let ld = Doc { y: ly, file: *lf };
                    RVal::Leaf(*lf, ld.get(*ln, k)?)
                }
            };
            cur = self.deref(&next, depth + 1)?;
        }
        Some(cur)
    }

    /// Script lines of a value: strings, nested lists, `!reference`s.
    fn script_lines(&mut self, v: &RVal, out: &mut Vec<(FileId, NodeId)>, depth: usize) {
        if depth > MAX_DEPTH || out.len() > 100_000 {
            return;
        }
        let Some(v) = self.deref(v, depth) else {
            return;
        };
        let RVal::Leaf(f, n) = v else {
            return;
        };
        let Some(y) = self.yaml(f) else {
            return;
        };
        let r = y.resolve(n);
        if let Some(items) = y.seq(r) {
            let items = items.to_vec();
            for i in items {
                self.script_lines(&RVal::Leaf(f, i), out, depth + 1);
            }
        } else if y.str(r).is_some() && !y.is_null(r) {
            out.push((f, n));
        }
    }

    fn leaf_doc(&mut self, v: Option<&RVal>) -> Option<(Doc<'a>, NodeId)> {
        let v = self.deref(v?, 0)?;
        match v {
            RVal::Leaf(f, n) => Some((self.doc(f)?, n)),
            RVal::Map(_) => None,
        }
    }
}

fn image_container(d: &Doc<'_>, n: NodeId, role: Role) -> Option<Container> {
    let mut c = Container::new(role);
    if d.is_map(n) {
        c.image = d.sget(n, "name");
        if let Some(e) = d.get(n, "entrypoint") {
            command_words(d, e, &mut c);
        }
        if let Some(cmd) = d.get(n, "command") {
            command_words(d, cmd, &mut c);
        }
        if let Some(vars) = d.get(n, "variables") {
            c.env = d.env(vars);
        }
        if let Some(a) = d.sget(n, "alias") {
            c.name = Some(a.v);
        }
    } else {
        c.image = d.sval(n);
    }
    c.image.as_ref()?;
    Some(c)
}

fn command_words(d: &Doc<'_>, n: NodeId, c: &mut Container) {
    for item in d.str_list(n) {
        for w in item.v.split_whitespace() {
            c.command.push(Val::new(w.to_string(), item.loc));
        }
    }
}

/// Lower the project made of `files` (the first is the root; the others are in include order).
pub fn lower(files: &[GlFile<'_>]) -> Lowered {
    let mut ctx = Ctx {
        files,
        project: Project::new(files.iter().map(|f| f.y).collect()),
        top: BTreeMap::new(),
        order: Vec::new(),
        resolved: BTreeMap::new(),
        diagnostics: Vec::new(),
    };
    // Included files first (in order), then the root, so the root's keys win.
    let mut merge_order: Vec<&GlFile<'_>> = files.iter().skip(1).collect();
    if let Some(root) = files.first() {
        merge_order.push(root);
    }
    for f in merge_order {
        for &doc in f.y.documents() {
            let d = Doc { y: f.y, file: f.id };
            if d.get(doc, "spec").is_some()
                && f.y.documents().len() > 1
                && d.entries(doc).len() == 1
            {
                continue; // header document of a CI/CD component
            }
            for (k, _, v) in d.entries(doc) {
                let rv = to_rval(f.y, f.id, v, 0);
                let merged = match ctx.top.get(&k) {
                    Some(old) => RVal::merge(old, &rv),
                    None => {
                        ctx.order.push(k.clone());
                        rv
                    }
                };
                ctx.top.insert(k, merged);
            }
        }
    }
    let job_keys: BTreeMap<String, Loc> = files
        .iter()
        .flat_map(|f| {
            let d = Doc { y: f.y, file: f.id };
            f.y.documents()
                .iter()
                .flat_map(move |&doc| {
                    d.entries(doc)
                        .into_iter()
                        .map(move |(k, kid, _)| (k, d.loc(kid)))
                })
                .collect::<Vec<_>>()
        })
        .collect();

    for (f, at, msg) in ctx.project.problems() {
        if let Some(gf) = files.get(f) {
            ctx.diagnostics.push((gf.id, at, DiagLevel::Warning, msg));
        }
    }
    let global_vars = ctx.top.get("variables").cloned();
    let default = ctx.top.get("default").cloned();
    let global_image = ctx.top.get("image").cloned();
    let global_services = ctx.top.get("services").cloned();
    let global_before = ctx.top.get("before_script").cloned();
    let global_after = ctx.top.get("after_script").cloned();

    let mut pipelines = Vec::new();
    // The (global) pseudo-pipeline carries top-level and default: settings even when no job uses them.
    {
        let root_loc = files
            .first()
            .map(|f| Loc::new(f.id, crate::source::Span::new(0, 0)))
            .unwrap_or(Loc::new(0, crate::source::Span::new(0, 0)));
        let mut job = RVal::Map(Vec::new());
        if let Some(d) = &default {
            job = RVal::merge(&job, d);
        }
        let mut p = Pipeline::new("(global)", Surface::GitlabCi, root_loc);
        p.template = true;
        fill_job(
            &mut ctx,
            &mut p,
            &job,
            &global_vars,
            None,
            &global_image,
            &global_services,
            &global_before,
            &global_after,
        );
        pipelines.push(p);
    }
    let names: Vec<String> = ctx
        .order
        .iter()
        .filter(|k| !RESERVED.contains(&k.as_str()))
        .cloned()
        .collect();
    for name in names {
        let Some(raw) = ctx.top.get(&name).cloned() else {
            continue;
        };
        if !matches!(raw, RVal::Map(_)) {
            continue;
        }
        let Some(job) = ctx.resolve(&name) else {
            continue;
        };
        let decl = job_keys
            .get(&name)
            .copied()
            .unwrap_or(Loc::new(0, crate::source::Span::new(0, 0)));
        let mut p = Pipeline::new(name.clone(), Surface::GitlabCi, decl);
        p.template = name.starts_with('.');
        let layers = ctx.project.layers(&name);
        let (inherit_default, inherit_vars) = ctx.project.inherit(&layers);
        let def = only(default.as_ref(), &inherit_default);
        let vars = only(global_vars.as_ref(), &inherit_vars);
        let global =
            |key: &str, v: &Option<RVal>| v.clone().filter(|_| inherit_default.allows(key));
        let (gi, gs, gb, ga) = (
            global("image", &global_image),
            global("services", &global_services),
            global("before_script", &global_before),
            global("after_script", &global_after),
        );
        fill_job(
            &mut ctx,
            &mut p,
            &job,
            &vars,
            def.as_ref(),
            &gi,
            &gs,
            &gb,
            &ga,
        );
        pipelines.push(p);
    }
    Lowered {
        pipelines,
        diagnostics: ctx.diagnostics,
    }
}

/// The part of a `default:` or global `variables:` mapping a job inherits
/// (<https://docs.gitlab.com/ci/yaml/#inherit>).
fn only(v: Option<&RVal>, inherit: &Inherit) -> Option<RVal> {
    match (v?, inherit) {
        (_, Inherit::Nothing) => None,
        (RVal::Map(entries), Inherit::Only(_)) => Some(RVal::Map(
            entries
                .iter()
                .filter(|(k, _)| inherit.allows(k))
                .cloned()
                .collect(),
        )),
        (v, _) => Some(v.clone()),
    }
}

#[allow(clippy::too_many_arguments)]
fn fill_job(
    ctx: &mut Ctx<'_>,
    p: &mut Pipeline,
    job: &RVal,
    global_vars: &Option<RVal>,
    default: Option<&RVal>,
    global_image: &Option<RVal>,
    global_services: &Option<RVal>,
    global_before: &Option<RVal>,
    global_after: &Option<RVal>,
) {
    let pick = |key: &str| -> Option<RVal> {
        job.get(key)
            .cloned()
            .or_else(|| default.and_then(|d| d.get(key).cloned()))
    };
    // variables: global first, job overrides
    let mut env: Vec<(String, Val<String>)> = Vec::new();
    for vars in [global_vars.clone(), job.get("variables").cloned()]
        .into_iter()
        .flatten()
    {
        for (k, v) in env_of(ctx, &vars) {
            env.retain(|(ek, _)| ek != &k);
            env.push((k, v));
        }
    }
    if env.iter().any(|(k, _)| k.starts_with("TESTCONTAINERS")) {
        p.usage.insert(DockerUse::Run);
    }
    p.env = env;
    let image = pick("image").or_else(|| global_image.clone());
    let job_image = match image.as_ref().and_then(|v| ctx.deref(v, 0)) {
        // `image: {name: …, entrypoint: […]}` merged through `extends:`.
        Some(RVal::Map(m)) => {
            let mut c = Container::new(Role::JobImage);
            if let Some((d, n)) =
                ctx.leaf_doc(m.iter().rev().find(|(k, _)| k == "name").map(|(_, v)| v))
            {
                c.image = d.sval(n);
            }
            if let Some((d, n)) = ctx.leaf_doc(
                m.iter()
                    .rev()
                    .find(|(k, _)| k == "entrypoint")
                    .map(|(_, v)| v),
            ) {
                command_words(&d, n, &mut c);
            }
            c.image.is_some().then_some(c)
        }
        _ => ctx
            .leaf_doc(image.as_ref())
            .and_then(|(d, n)| image_container(&d, n, Role::JobImage)),
    };
    if let Some(mut c) = job_image {
        expand_image(&mut c, &p.env);
        c.implied_privileged = c.is_daemon();
        p.containers.push(c);
    }
    // tags: arrays are replaced through `extends:`, never merged; `default:` fills in.
    if let Some(tags) = pick("tags") {
        let mut items = Vec::new();
        ctx.script_lines(&tags, &mut items, 0);
        for (f, n) in items {
            if let Some(d) = ctx.doc(f)
                && let Some(t) = d.y.str(d.y.resolve(n))
            {
                p.tags.push(t.to_string());
            }
        }
    }
    let services = pick("services").or_else(|| global_services.clone());
    if let Some((d, n)) = ctx.leaf_doc(services.as_ref()) {
        for item in d.items(n) {
            let item_rv = RVal::Leaf(d.file, item);
            let Some((id, inode)) = ctx.leaf_doc(Some(&item_rv)) else {
                continue;
            };
            if let Some(mut c) = image_container(&id, inode, Role::Service) {
                expand_image(&mut c, &p.env);
                c.implied_privileged = c.is_daemon();
                p.containers.push(c);
            }
        }
    }
    for key in ["before_script", "script", "after_script"] {
        let v = match key {
            "before_script" => pick(key).or_else(|| global_before.clone()),
            "after_script" => pick(key).or_else(|| global_after.clone()),
            _ => job.get(key).cloned(),
        };
        let Some(v) = v else {
            continue;
        };
        let mut lines = Vec::new();
        ctx.script_lines(&v, &mut lines, 0);
        for (f, n) in lines {
            if let Some(d) = ctx.doc(f) {
                d.script(n, &mut p.script_facts, &mut p.usage);
                if let Some(s) = d.y.str(d.y.resolve(n)) {
                    super::collect_local_scripts(s, &mut p.runs_scripts);
                    p.script_lines.push(s.to_string());
                }
            }
        }
    }
}

/// Expand `$VAR` / `${VAR}` in an image name with the job's variables (one level).
fn expand_image(c: &mut Container, env: &[(String, Val<String>)]) {
    let Some(img) = c.image.as_mut() else { return };
    if !img.v.contains('$') {
        return;
    }
    img.v = expand_vars(&img.v, env);
}

/// Expand `$VAR` and `${VAR}` from `env`; unknown variables stay as written.
pub fn expand_vars(s: &str, env: &[(String, Val<String>)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((lit, after)) = rest.split_once('$') {
        out.push_str(lit);
        let (name, consumed) = if let Some(b) = after.strip_prefix('{') {
            match b.split_once('}') {
                Some((name, _)) => (name, name.len() + 2),
                None => ("", 0),
            }
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (text::before(after, n), n)
        };
        let (written, tail) = text::split_at(after, consumed);
        match env.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) if !name.is_empty() => out.push_str(&v.v),
            _ => {
                out.push('$');
                out.push_str(written);
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn env_of(ctx: &mut Ctx<'_>, vars: &RVal) -> Vec<(String, Val<String>)> {
    match vars {
        RVal::Leaf(f, n) => ctx.doc(*f).map(|d| d.env(*n)).unwrap_or_default(),
        RVal::Map(entries) => {
            let mut out = Vec::new();
            for (k, v) in entries {
                let Some((d, n)) = ctx.leaf_doc(Some(v)) else {
                    // `{ value: …, description: … }` merged into a map
                    if let Some(val) = v.get("value")
                        && let Some((d, n)) = ctx.leaf_doc(Some(val))
                        && let Some(s) = d.sval(n)
                    {
                        out.push((k.clone(), s));
                    }
                    continue;
                };
                if d.y.is_null(d.y.resolve(n)) {
                    continue;
                }
                if let Some(s) = d.sval(n) {
                    out.push((k.clone(), s));
                }
            }
            out
        }
    }
}

/// Names of the files a set of include patterns matches among `candidates`.
pub fn match_includes(pattern: &str, candidates: &[String]) -> Vec<String> {
    let pat = normalise_include(pattern);
    if !pat.contains('*') && !pat.contains('?') && !pat.contains('[') {
        return candidates.iter().filter(|c| **c == pat).cloned().collect();
    }
    let Ok(g) = globset::GlobBuilder::new(&pat)
        .literal_separator(true)
        .build()
    else {
        return Vec::new();
    };
    let m = g.compile_matcher();
    let mut out: Vec<String> = candidates
        .iter()
        .filter(|c| m.is_match(c.as_str()))
        .cloned()
        .collect();
    out.sort();
    out
}
