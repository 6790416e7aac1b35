//! The scan pipeline: discover → read → parse → lower to pipelines → rules → findings, with
//! suppressions and fingerprints. GitLab projects are lowered as units (root + includes);
//! every other file is independent and scanned in parallel. Pure in-memory after reading,
//! so tests can scan virtual files.

#![cfg_attr(not(test), deny(clippy::string_slice))]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::discover::{self, Candidate, Kind, ReadError};
use crate::finding::{self, DiagLevel, Diagnostic, Finding, Surface};
use crate::model::{DockerUse, Hosting, Pipeline, PrivilegeReason};
use crate::plan;
use crate::rules::{self, Hit};
use crate::source::yaml::Yaml;
use crate::source::{FileId, SourceFile, Span};
use crate::surface::{self, gitlab};

/// A pipeline as reported to users and planners.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineSummary {
    /// Name.
    pub name: String,
    /// Surface.
    pub surface: Surface,
    /// File that declares it.
    pub path: String,
    /// Line of the declaration.
    pub line: usize,
    /// Docker usage.
    pub docker_usage: BTreeSet<DockerUse>,
    /// Where it runs.
    pub hosting: Hosting,
    /// Recommended target.
    pub recommended: &'static str,
    /// A template rather than a runnable pipeline.
    pub template: bool,
    /// Local scripts it runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs_scripts: Vec<String>,
    /// Why the file is a test fixture or vendored example (see [`crate::fixture`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// A fixture that `include-fixtures` asks to migrate.
    #[serde(skip)]
    pub fixture_included: bool,
    /// Why the compose file is deployed as a Swarm stack (`docker stack deploy`), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<String>,
    /// Why its containers are privileged when no Docker daemon is involved (KVM, FUSE, …).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub privilege: BTreeSet<PrivilegeReason>,
}

/// Everything a scan found.
#[derive(Clone, Debug, Default)]
pub struct ScanResult {
    /// The root as the user gave it.
    pub root: String,
    /// Number of files read and analysed (a file that could not be read or parsed is not
    /// counted: see [`ScanResult::failed`]).
    pub files_scanned: usize,
    /// Findings sorted by (path, line, column, rule).
    pub findings: Vec<Finding>,
    /// Problems with the input.
    pub diagnostics: Vec<Diagnostic>,
    /// Pipelines seen.
    pub pipelines: Vec<PipelineSummary>,
    /// Text of every file with a finding or diagnostic (for snippets).
    pub sources: BTreeMap<String, Arc<str>>,
    /// The files of each GitLab project (root first, then its local includes): what has to be
    /// scanned again when one of them changes.
    pub gitlab_projects: Vec<Vec<String>>,
    /// Text and tree of every file of a GitLab project with findings, as the scan read them: a
    /// migration rewrites from these instead of reading and parsing the files again.
    pub trees: BTreeMap<String, Parsed>,
}

/// A file's text and its parsed tree.
pub type Parsed = (Arc<str>, Arc<Yaml>);

impl ScanResult {
    /// Which files must be scanned again when `changed` change: a GitLab project's files go
    /// together; any other file stands alone.
    pub fn rescan_set(&self, changed: &BTreeSet<String>) -> BTreeSet<String> {
        let mut out = changed.clone();
        for project in &self.gitlab_projects {
            if project.iter().any(|f| changed.contains(f)) {
                out.extend(project.iter().cloned());
            }
        }
        out
    }

    /// This scan with the files of `rescanned` replaced by `partial`, a scan of just those
    /// files (verification of a migration re-scans only what it changed).
    pub fn merge_partial(&self, partial: ScanResult, rescanned: &BTreeSet<String>) -> ScanResult {
        let mut r = ScanResult {
            root: self.root.clone(),
            files_scanned: self.files_scanned,
            gitlab_projects: self.gitlab_projects.clone(),
            ..ScanResult::default()
        };
        r.findings = replaced(&self.findings, partial.findings, rescanned, |f| &f.path);
        r.diagnostics = replaced(&self.diagnostics, partial.diagnostics, rescanned, |d| {
            &d.path
        });
        r.pipelines = replaced(&self.pipelines, partial.pipelines, rescanned, |p| &p.path);
        r.sources = self
            .sources
            .iter()
            .filter(|(p, _)| !rescanned.contains(*p))
            .map(|(p, t)| (p.clone(), t.clone()))
            .chain(partial.sources)
            .collect();
        r.trees = self
            .trees
            .iter()
            .filter(|(p, _)| !rescanned.contains(*p))
            .map(|(p, t)| (p.clone(), t.clone()))
            .chain(partial.trees)
            .collect();
        link_scripts(&mut r);
        r.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        r.pipelines
            .sort_by(|a, b| (&a.path, a.line, &a.name).cmp(&(&b.path, b.line, &b.name)));
        fingerprints(&mut r);
        sort_diags(&mut r.diagnostics);
        r
    }
}

impl ScanResult {
    /// Whether any diagnostic says a file could not be scanned.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == DiagLevel::Error)
    }

    /// Files that could not be read or parsed: the first error of each.
    pub fn failed(&self) -> Vec<&Diagnostic> {
        let mut seen = BTreeSet::new();
        self.diagnostics
            .iter()
            .filter(|d| d.level == DiagLevel::Error && seen.insert(d.path.as_str()))
            .collect()
    }

    /// Files the walk skipped on purpose (links out of the root, loops, FIFOs, …), one
    /// diagnostic each with the reason.
    pub fn skipped(&self) -> Vec<&Diagnostic> {
        let mut seen = BTreeSet::new();
        self.diagnostics
            .iter()
            .filter(|d| discover::is_skip(d) && seen.insert(d.path.as_str()))
            .collect()
    }
}

/// Reads a root-relative path.
pub trait Loader: Sync {
    /// The file's text.
    fn load(&self, rel: &str) -> Result<String, (ReadError, Vec<u8>)>;
    /// Whether the scan keeps the parsed GitLab files with findings ([`ScanResult::trees`])
    /// for a migration that follows. A scan on its own does not need them.
    fn keep_trees(&self) -> bool {
        true
    }
}

/// Loads from a directory.
pub struct DirLoader<'a> {
    /// Root.
    pub root: &'a Path,
}

impl Loader for DirLoader<'_> {
    fn load(&self, rel: &str) -> Result<String, (ReadError, Vec<u8>)> {
        discover::read_text(&self.root.join(rel))
    }
}

/// Loads from memory (tests, corpus check).
pub struct MemLoader(pub BTreeMap<String, String>);

impl Loader for MemLoader {
    fn load(&self, rel: &str) -> Result<String, (ReadError, Vec<u8>)> {
        self.0.get(rel).cloned().ok_or_else(|| {
            (
                ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not found",
                )),
                Vec::new(),
            )
        })
    }
}

/// Scan a directory.
pub fn scan_dir(root: &Path, display_root: &str, config: &Config) -> ScanResult {
    let (cands, diags) = discover::walk(root, &config.exclude_set());
    let mut r = scan_candidates(display_root, &cands, &DirLoader { root }, config);
    r.diagnostics.extend(diags);
    sort_diags(&mut r.diagnostics);
    r
}

/// Scan in-memory files (path → text), kinds taken from names.
pub fn scan_memory(files: BTreeMap<String, String>, config: &Config) -> ScanResult {
    let cands: Vec<Candidate> = files
        .keys()
        .filter_map(|p| {
            Some(Candidate {
                rel: p.clone(),
                abs: p.into(),
                kind: discover::classify(p)?,
            })
        })
        .collect();
    scan_candidates(".", &cands, &MemLoader(files), config)
}

/// `base` without the items of the `rescanned` files, followed by `new`.
fn replaced<T: Clone>(
    base: &[T],
    new: Vec<T>,
    rescanned: &BTreeSet<String>,
    path: impl Fn(&T) -> &String,
) -> Vec<T> {
    base.iter()
        .filter(|x| !rescanned.contains(path(x)))
        .cloned()
        .chain(new)
        .collect()
}

/// A GitLab job as the scanner resolves it (through `include:`, `extends:`, anchors,
/// `!reference` and `default:`), with the path of the file that declares it.
#[derive(Clone, Debug)]
pub struct ResolvedJob {
    /// File declaring the job.
    pub path: String,
    /// The effective job.
    pub job: crate::model::Pipeline,
}

/// Resolve every GitLab job of in-memory files with the same resolver the scan uses. The
/// migration harness judges each affected job's effective configuration after a rewrite
/// with it.
pub fn resolve_gitlab(files: &BTreeMap<String, String>) -> Vec<ResolvedJob> {
    let cands: Vec<Candidate> = files
        .keys()
        .filter_map(|p| {
            Some(Candidate {
                rel: p.clone(),
                abs: p.into(),
                kind: discover::classify(p)?,
            })
        })
        .collect();
    let yaml_paths = yaml_paths(&cands);
    let roots: Vec<&Candidate> = cands.iter().filter(|c| c.kind == Kind::GitlabCi).collect();
    let loader = MemLoader(files.clone());
    let (units, _) = gitlab_units(&roots, &yaml_paths, &loader);
    let mut out = Vec::new();
    for unit in units {
        let texts: Vec<(String, String)> = unit
            .files
            .iter()
            .filter_map(|rel| files.get(rel).map(|t| (rel.clone(), t.clone())))
            .collect();
        let parsed: Vec<Option<Yaml>> = texts.iter().map(|(_, t)| Yaml::parse(t).ok()).collect();
        let gl: Vec<gitlab::GlFile<'_>> = parsed
            .iter()
            .enumerate()
            .filter_map(|(i, y)| y.as_ref().map(|y| gitlab::GlFile { y, id: i as FileId }))
            .collect();
        for p in gitlab::lower(&gl).pipelines {
            if p.name == "(global)" {
                continue;
            }
            if let Some((path, _)) = texts.get(p.file as usize) {
                out.push(ResolvedJob {
                    path: path.clone(),
                    job: p,
                });
            }
        }
    }
    out
}

/// Scan one in-memory file as a given surface (the corpus check, where names are flattened).
pub fn scan_as(path: &str, text: &str, surface: Surface, config: &Config) -> ScanResult {
    let kind = match surface {
        Surface::GitlabCi => Kind::GitlabCi,
        Surface::GithubActions => match discover::classify(path) {
            Some(Kind::GithubAction) => Kind::GithubAction,
            _ => Kind::GithubWorkflow,
        },
        Surface::Jenkins => Kind::Jenkinsfile,
        Surface::Compose => Kind::Compose,
        Surface::Kubernetes => Kind::Yaml,
        Surface::RunnerToml => Kind::Toml,
        Surface::DaemonJson => Kind::DaemonJson,
        Surface::Shell => match discover::classify(path) {
            Some(k @ (Kind::Makefile | Kind::Dockerfile | Kind::EnvFile)) => k,
            _ => Kind::Shell,
        },
        Surface::Other => Kind::OtherCi,
    };
    let mut files = BTreeMap::new();
    files.insert(path.to_string(), text.to_string());
    let cands = vec![Candidate {
        rel: path.to_string(),
        abs: path.into(),
        kind,
    }];
    scan_candidates(".", &cands, &MemLoader(files), config)
}

struct UnitOut {
    findings: Vec<Finding>,
    diagnostics: Vec<Diagnostic>,
    pipelines: Vec<PipelineSummary>,
    sources: Vec<(String, Arc<str>)>,
    /// Parsed GitLab files kept for the migration (see [`ScanResult::trees`]).
    trees: Vec<(String, Parsed)>,
    scanned: usize,
    /// (compose file, file that deploys it) for every `docker stack deploy -c FILE` seen.
    stack_deploys: Vec<(String, String)>,
}

impl UnitOut {
    fn empty() -> UnitOut {
        UnitOut {
            findings: Vec::new(),
            diagnostics: Vec::new(),
            pipelines: Vec::new(),
            sources: Vec::new(),
            trees: Vec::new(),
            scanned: 0,
            stack_deploys: Vec::new(),
        }
    }
}

fn read_diag(rel: &str, err: &ReadError, bytes: &[u8]) -> Diagnostic {
    let (line, column) = err.position(bytes);
    Diagnostic {
        path: rel.to_string(),
        line,
        column,
        level: DiagLevel::Error,
        message: err.to_string(),
    }
}

/// A warning when anchors and merge keys nest beyond what is resolved (the keys merged from
/// deeper levels are not read); one per file.
fn merge_limit(sf: &SourceFile, y: &Yaml, out: &mut Vec<Diagnostic>) {
    for id in 0..y.node_count() {
        let Ok(id) = crate::source::yaml::NodeId::try_from(id) else {
            break;
        };
        let merges = y
            .own_entries(id)
            .is_some_and(|e| e.iter().any(|&(k, _)| y.is_merge_key(k)));
        if merges && let Err(e) = y.entries(id) {
            out.push(surface::diag_at(
                sf,
                e.offset,
                DiagLevel::Warning,
                format!("{}; the keys merged beyond it are not read", e.message),
            ));
            return;
        }
    }
}

fn yaml_diag(sf: &SourceFile, e: &crate::source::yaml::YamlError, level: DiagLevel) -> Diagnostic {
    surface::diag_at(sf, e.offset, level, format!("invalid YAML: {}", e.message))
}

/// Paths a GitLab `include:` may name: every YAML candidate.
fn yaml_paths(cands: &[Candidate]) -> Vec<String> {
    cands
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                Kind::GitlabCi | Kind::Yaml | Kind::Compose | Kind::OtherCi
            )
        })
        .map(|c| c.rel.clone())
        .collect()
}

/// Scan discovered candidates.
pub fn scan_candidates(
    display_root: &str,
    cands: &[Candidate],
    loader: &dyn Loader,
    config: &Config,
) -> ScanResult {
    let env = &config.environment;
    let yaml_paths = yaml_paths(cands);
    // GitLab projects first: they decide which generic YAML files are GitLab includes.
    let gl_roots: Vec<&Candidate> = cands.iter().filter(|c| c.kind == Kind::GitlabCi).collect();
    let (gl_units, included) = gitlab_units(&gl_roots, &yaml_paths, loader);
    let projects: Vec<Vec<String>> = gl_units.iter().map(|u| u.files.clone()).collect();
    let mut outs: Vec<UnitOut> = gl_units
        .into_par_iter()
        .map(|unit| scan_gitlab_unit(unit, loader, env, &yaml_paths, loader.keep_trees()))
        .collect();
    let others: Vec<&Candidate> = cands
        .iter()
        .filter(|c| c.kind != Kind::GitlabCi && !included.contains(&c.rel))
        .collect();
    let mut rest: Vec<UnitOut> = others
        .par_iter()
        .map(|c| match loader.load(&c.rel) {
            Ok(text) => scan_file(c, text, env),
            Err((e, bytes)) => {
                let mut u = UnitOut::empty();
                u.diagnostics.push(read_diag(&c.rel, &e, &bytes));
                u
            }
        })
        .collect();
    outs.append(&mut rest);
    let mut r = assemble(display_root, outs, config);
    r.gitlab_projects = projects;
    r
}

/// A GitLab project to lower: its files (root first, then include order) and include cycles.
struct GlUnit {
    files: Vec<String>,
    cycles: Vec<(String, String)>,
}

/// Local include patterns of a GitLab file (empty when it cannot be read or parsed; the unit
/// scan reports that).
fn include_patterns(loader: &dyn Loader, rel: &str) -> Vec<String> {
    let Ok(text) = loader.load(rel) else {
        return Vec::new();
    };
    // An `include:` key is spelled out somewhere in the file (merged anchors included), so a
    // file without the word has no includes and need not be parsed twice.
    if !text.contains("include") {
        return Vec::new();
    }
    match Yaml::parse(&text) {
        Ok(y) => gitlab::includes(&y, 0)
            .0
            .into_iter()
            .map(|(p, _)| p)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Group GitLab files into projects: each root plus its transitive local includes. Only the
/// include graph is kept here; trees are parsed again per unit so memory stays bounded.
fn gitlab_units(
    roots: &[&Candidate],
    yaml_paths: &[String],
    loader: &dyn Loader,
) -> (Vec<GlUnit>, BTreeSet<String>) {
    let mut patterns: HashMap<String, Vec<String>> = roots
        .par_iter()
        .map(|c| (c.rel.clone(), include_patterns(loader, &c.rel)))
        .collect();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut included: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = roots.iter().map(|c| c.rel.clone()).collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(rel) = queue.pop() {
        if !seen.insert(rel.clone()) || seen.len() > 10_000 {
            continue;
        }
        let pats = match patterns.remove(&rel) {
            Some(p) => p,
            None => include_patterns(loader, &rel),
        };
        let mut targets = Vec::new();
        for pat in pats {
            for m in gitlab::match_includes(&pat, yaml_paths) {
                if m != rel {
                    included.insert(m.clone());
                }
                targets.push(m.clone());
                queue.push(m);
            }
        }
        edges.insert(rel, targets);
    }
    let mut root_list: Vec<&str> = roots
        .iter()
        .map(|c| c.rel.as_str())
        .filter(|r| !included.contains(*r))
        .collect();
    // Files only reachable through a cycle still get scanned once.
    let mut covered = BTreeSet::new();
    for r in &root_list {
        reach(r, &edges, &mut covered);
    }
    for c in roots {
        if !covered.contains(&c.rel) && !root_list.contains(&c.rel.as_str()) {
            reach(&c.rel, &edges, &mut covered);
            root_list.push(c.rel.as_str());
        }
    }
    let units = root_list
        .into_iter()
        .map(|r| {
            let mut order = Vec::new();
            let mut visiting = BTreeSet::new();
            let mut cycles = Vec::new();
            include_order(r, &edges, &mut order, &mut visiting, &mut cycles, 0);
            GlUnit {
                files: order,
                cycles,
            }
        })
        .collect();
    (units, included)
}

fn reach(r: &str, edges: &BTreeMap<String, Vec<String>>, cov: &mut BTreeSet<String>) {
    let mut stack = vec![r.to_string()];
    while let Some(n) = stack.pop() {
        if cov.insert(n.clone())
            && let Some(ts) = edges.get(&n)
        {
            stack.extend(ts.iter().cloned());
        }
    }
}

/// Depth-first include order with the root first; cycles recorded.
fn include_order(
    node: &str,
    edges: &BTreeMap<String, Vec<String>>,
    order: &mut Vec<String>,
    visiting: &mut BTreeSet<String>,
    cycles: &mut Vec<(String, String)>,
    depth: usize,
) {
    if depth > 100 || order.iter().any(|o| o == node) {
        return;
    }
    order.push(node.to_string());
    visiting.insert(node.to_string());
    for t in edges.get(node).into_iter().flatten() {
        if visiting.contains(t) {
            cycles.push((node.to_string(), t.clone()));
            continue;
        }
        include_order(t, edges, order, visiting, cycles, depth + 1);
    }
    visiting.remove(node);
}

fn scan_gitlab_unit(
    unit: GlUnit,
    loader: &dyn Loader,
    env: &crate::config::Environment,
    yaml_paths: &[String],
    keep_trees: bool,
) -> UnitOut {
    let _file = crate::bugreport::processing(unit.files.first().map_or("", String::as_str));
    let mut out = UnitOut::empty();
    let mut sfs: Vec<SourceFile> = Vec::new();
    let mut parsed = Vec::new();
    for rel in &unit.files {
        match loader.load(rel) {
            Ok(text) => {
                let sf = SourceFile::new(rel.clone(), text);
                let y = Yaml::parse(&sf.text);
                if let Ok(y) = &y {
                    merge_limit(&sf, y, &mut out.diagnostics);
                }
                parsed.push(y);
                sfs.push(sf);
            }
            Err((e, bytes)) => {
                out.diagnostics.push(read_diag(rel, &e, &bytes));
                sfs.push(SourceFile::new(rel.clone(), ""));
                parsed.push(Err(crate::source::yaml::YamlError {
                    message: String::new(),
                    offset: 0,
                }));
            }
        }
    }
    {
        for (from, to) in &unit.cycles {
            out.diagnostics.push(Diagnostic {
                path: from.clone(),
                line: 0,
                column: 0,
                level: DiagLevel::Warning,
                message: format!("include cycle: `{from}` includes `{to}`, which is already being included; not followed again"),
            });
        }
    }
    for sf in &sfs {
        stack_deploys(sf, &mut out);
    }
    let mut gl_files = Vec::new();
    for (i, (sf, p)) in sfs.iter().zip(parsed.iter()).enumerate() {
        match p {
            Ok(y) => gl_files.push(gitlab::GlFile { y, id: i as FileId }),
            Err(e) if !e.message.is_empty() => {
                out.diagnostics.push(yaml_diag(sf, e, DiagLevel::Error))
            }
            Err(_) => {}
        }
    }
    out.scanned = gl_files.len();
    let lowered = gitlab::lower(&gl_files);
    for (fid, off, level, msg) in lowered.diagnostics {
        if let Some(sf) = sfs.get(fid as usize) {
            out.diagnostics.push(surface::diag_at(sf, off, level, msg));
        }
    }
    for f in &gl_files {
        let (local, notes) = gitlab::includes(f.y, f.id);
        for (pat, loc) in local {
            if gitlab::match_includes(&pat, yaml_paths).is_empty()
                && let Some(sf) = sfs.get(loc.file as usize)
            {
                out.diagnostics.push(surface::diag_at(
                    sf,
                    loc.span.start,
                    DiagLevel::Warning,
                    format!(
                        "local include `{pat}` matches no file in the repository (missing, ignored or excluded): its jobs are not scanned"
                    ),
                ));
            }
        }
        for (loc, msg) in notes {
            if let Some(sf) = sfs.get(loc.file as usize) {
                out.diagnostics
                    .push(surface::diag_at(sf, loc.span.start, DiagLevel::Note, msg));
            }
        }
    }
    finish(&sfs, lowered.pipelines, env, &mut out);
    if keep_trees && !out.findings.is_empty() {
        for (sf, p) in sfs.iter().zip(parsed) {
            if let Ok(y) = p {
                out.trees
                    .push((sf.path.clone(), (sf.text.clone(), Arc::new(y))));
            }
        }
    }
    out
}

/// Whether a generic YAML text looks like a Kubernetes manifest, a custom resource or Helm
/// values we read (a cheap test before parsing).
fn looks_like_kube(text: &str) -> bool {
    (text.contains("apiVersion") && text.contains("kind"))
        || text.contains("containerMode")
        || (text.contains("runners:") && (text.contains("config:") || text.contains("privileged")))
        || text.contains("gitlabUrl")
        || (text.contains("containers:") && text.contains("template:"))
        // Chart values and custom resources that keep these under their own keys.
        || text.contains("ecurityContext") // securityContext, podSecurityContext
        || text.contains("seccompProfile")
        || text.contains("hostPath")
        || text.contains("capabilities")
        || text.contains("[[runners]]")
        || text.contains("_PRIVILEGED")
}

fn scan_file(c: &Candidate, text: String, env: &crate::config::Environment) -> UnitOut {
    let _file = crate::bugreport::processing(&c.rel);
    let mut out = UnitOut::empty();
    let sf = SourceFile::new(c.rel.clone(), text);
    stack_deploys(&sf, &mut out);
    let mut pipelines: Vec<Pipeline> = match c.kind {
        Kind::GithubWorkflow | Kind::GithubAction | Kind::Compose | Kind::OtherCi | Kind::Yaml => {
            // Generic YAML is read only when a cheap text test says it may be a compose file
            // or a Kubernetes manifest / Helm values file.
            let compose_like = c.kind == Kind::Yaml && surface::compose::may_be_compose(&sf.text);
            let kube_like = c.kind == Kind::Yaml && looks_like_kube(&sf.text);
            if c.kind == Kind::Yaml && !compose_like && !kube_like {
                return out;
            }
            let y = match Yaml::parse(&sf.text) {
                Ok(y) => y,
                // A Go template (Helm chart template, `*.yaml.tpl`, templated values) is not
                // YAML until rendered: read it tolerantly, with a note.
                Err(_)
                    if c.kind == Kind::Yaml
                        && (sf.text.contains("{{") || sf.text.contains("%{")) =>
                {
                    let at = sf
                        .text
                        .find("{{")
                        .or_else(|| sf.text.find("%{"))
                        .unwrap_or(0);
                    match surface::yamlx::parse_templated(&sf.text) {
                        Some((y, dropped)) => {
                            // Reading a template with its actions left out is the normal
                            // case (a chart has dozens): a note only when lines were lost.
                            if let Some(&first) = dropped.first() {
                                out.diagnostics.push(surface::diag_at(
                                    &sf,
                                    first,
                                    DiagLevel::Note,
                                    format!(
                                        "template: {} line(s) did not parse as YAML even with the template actions (`{{{{ … }}}}`, `%{{ … }}`) left out and were skipped (the first here); findings on them may be missed",
                                        dropped.len()
                                    ),
                                ));
                                out.sources.push((sf.path.clone(), sf.text.clone()));
                            }
                            y
                        }
                        None => {
                            out.diagnostics.push(surface::diag_at(
                                &sf,
                                at,
                                DiagLevel::Note,
                                "template skipped: it does not parse as YAML even with its template actions left out",
                            ));
                            out.sources.push((sf.path.clone(), sf.text.clone()));
                            return out;
                        }
                    }
                }
                Err(e) => {
                    let level = if c.kind == Kind::Yaml {
                        DiagLevel::Warning
                    } else {
                        DiagLevel::Error
                    };
                    out.diagnostics.push(yaml_diag(&sf, &e, level));
                    out.sources.push((sf.path.clone(), sf.text.clone()));
                    // A generic YAML file that does not parse is a warning: it was read.
                    out.scanned = usize::from(level != DiagLevel::Error);
                    return out;
                }
            };
            merge_limit(&sf, &y, &mut out.diagnostics);
            match c.kind {
                Kind::GithubWorkflow => surface::github::lower_workflow(&y, 0),
                Kind::GithubAction => surface::github::lower_action(&y, 0),
                Kind::Compose => surface::compose::lower(&y, 0),
                Kind::OtherCi => surface::other::lower(&y, 0, &c.rel),
                _ if compose_like && surface::compose::is_compose(&y) => {
                    surface::compose::lower(&y, 0)
                }
                _ if kube_like => surface::kube::lower(&y, 0, &sf, &mut out.diagnostics),
                _ => return out,
            }
        }
        Kind::Jenkinsfile | Kind::Groovy => surface::jenkins::lower(&sf, 0, &mut out.diagnostics),
        Kind::Toml => {
            if !sf.text.contains("[runners") && !sf.text.contains("[[runners") {
                return out;
            }
            surface::runner::lower(&sf, 0, &mut out.diagnostics)
        }
        Kind::DaemonJson => surface::daemon::lower(&sf, 0, &mut out.diagnostics),
        Kind::Shell => {
            if let Some(off) = surface::shell::unterminated_quote(&sf.text) {
                out.diagnostics.push(surface::diag_at(
                    &sf,
                    off,
                    DiagLevel::Warning,
                    "unterminated quote: the rest of the script is read as one string",
                ));
            }
            surface::shell::lower(&sf, 0, false)
        }
        Kind::Makefile => surface::shell::lower(&sf, 0, true),
        Kind::Dockerfile => surface::shell::lower_dockerfile(&sf, 0),
        Kind::EnvFile => surface::shell::lower_env_file(&sf, 0),
        Kind::GitlabCi => Vec::new(),
    };
    if let Some(why) = surface::compose::swarm_file_name(&c.rel) {
        for p in pipelines
            .iter_mut()
            .filter(|p| p.surface == Surface::Compose && p.swarm.is_none())
        {
            p.swarm = Some(why.clone());
            p.hosting = Hosting::Swarm;
        }
    }
    out.scanned = 1;
    finish(std::slice::from_ref(&sf), pipelines, env, &mut out);
    out
}

/// GitLab jobs whose effective `tags:` hold the sysbox runner tag (`sysbox-tag` in
/// `.depriv.toml`, default `sysbox`) run on sysbox runners, where a dind service or image runs
/// unprivileged (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/dind.md): their
/// daemons are not privileged, so `privileged-dind` does not hold for them, while the jobs that
/// share the same definition without the tag keep the finding.
fn on_sysbox_runners(pipelines: &mut [Pipeline], env: &crate::config::Environment) {
    let tag = env.sysbox_tag();
    let gitlab = |p: &Pipeline| p.surface == Surface::GitlabCi;
    let tagged = |p: &Pipeline| p.tags.iter().any(|t| t == tag);
    // Daemons of runnable jobs, on sysbox runners or not (by where their image is written).
    let mut on_sysbox = BTreeSet::new();
    let mut elsewhere = BTreeSet::new();
    for p in pipelines.iter().filter(|p| gitlab(p) && !p.template) {
        let set = if tagged(p) {
            &mut on_sysbox
        } else {
            &mut elsewhere
        };
        for c in p.containers.iter().filter(|c| c.implied_privileged) {
            if let Some(i) = &c.image {
                set.insert(i.loc);
            }
        }
    }
    for p in pipelines.iter_mut().filter(|p| gitlab(p)) {
        let all = tagged(p);
        let template = p.template;
        for c in &mut p.containers {
            // A template's daemon counts where some job uses it off the sysbox runners, or
            // where no job uses it at all.
            let moved = c
                .image
                .as_ref()
                .is_some_and(|i| on_sysbox.contains(&i.loc) && !elsewhere.contains(&i.loc));
            if all || (template && moved) {
                c.implied_privileged = false;
            }
        }
    }
}

/// Run the rules over a unit's pipelines and turn hits into findings (one per rule and
/// location, naming every pipeline it affects).
fn finish(
    files: &[SourceFile],
    mut pipelines: Vec<Pipeline>,
    env: &crate::config::Environment,
    out: &mut UnitOut,
) {
    on_sysbox_runners(&mut pipelines, env);
    classify_privilege(files, &mut pipelines);
    struct Acc {
        rule: &'static rules::Rule,
        hit: Hit,
        pipelines: Vec<usize>,
    }
    let mut acc: BTreeMap<(&'static str, FileId, Span), Acc> = BTreeMap::new();
    for (pi, p) in pipelines.iter().enumerate() {
        for rule in rules::REGISTRY {
            let mut hits = Vec::new();
            (rule.check)(p, &mut hits);
            for h in hits {
                let key = (rule.id, h.loc.file, h.loc.span);
                acc.entry(key)
                    .or_insert_with(|| Acc {
                        rule,
                        hit: h.clone(),
                        pipelines: Vec::new(),
                    })
                    .pipelines
                    .push(pi);
            }
        }
    }
    let recs: Vec<&'static str> = pipelines
        .iter()
        .map(|p| plan::recommend_name(&p.usage, p.surface, p.hosting, env, &p.privilege))
        .collect();
    let mut with_findings: BTreeSet<FileId> = BTreeSet::new();
    for a in acc.into_values() {
        let Some(sf) = files.get(a.hit.loc.file as usize) else {
            continue;
        };
        // Primary pipeline: the first runnable one, else the first template.
        let primary = a
            .pipelines
            .iter()
            .copied()
            .find(|&i| !pipelines[i].template)
            .or_else(|| {
                a.pipelines
                    .iter()
                    .copied()
                    .find(|&i| pipelines[i].name != "(global)")
            })
            .or_else(|| a.pipelines.first().copied());
        let Some(pi) = primary else {
            continue;
        };
        let p = &pipelines[pi];
        let start = sf.line_col(a.hit.loc.span.start);
        let end = sf.line_col(a.hit.loc.span.end.max(a.hit.loc.span.start));
        let mut names: Vec<String> = a
            .pipelines
            .iter()
            .map(|&i| pipelines[i].name.clone())
            .filter(|n| n != "(global)")
            .collect();
        names.dedup();
        let runnable: Vec<usize> = a
            .pipelines
            .iter()
            .copied()
            .filter(|&i| !pipelines[i].template && pipelines[i].name != "(global)")
            .collect();
        let mut affected: Vec<(String, String)> = if runnable.is_empty() {
            vec![pi]
        } else {
            runnable
        }
        .into_iter()
        .filter(|&i| pipelines[i].name != "(global)")
        .filter_map(|i| {
            files
                .get(pipelines[i].file as usize)
                .map(|f| (f.path.clone(), pipelines[i].name.clone()))
        })
        .collect();
        affected.sort();
        affected.dedup();
        let mut usage = BTreeSet::new();
        for &i in &a.pipelines {
            if !pipelines[i].template || a.pipelines.len() == 1 {
                usage.extend(pipelines[i].usage.iter().copied());
            }
        }
        let rec = if a.pipelines.iter().all(|&i| pipelines[i].template) {
            recs[pi]
        } else {
            plan::recommend_name(&usage, p.surface, p.hosting, env, &p.privilege)
        };
        with_findings.insert(a.hit.loc.file);
        out.findings.push(Finding {
            rule: a.rule.id,
            severity: a.rule.severity,
            path: sf.path.clone(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            surface: p.surface,
            pipeline: if p.name == "(global)" {
                None
            } else {
                Some(p.name.clone())
            },
            pipeline_path: if p.name == "(global)" {
                None
            } else {
                files.get(p.file as usize).map(|f| f.path.clone())
            },
            pipelines: if names.len() > 1 { names } else { Vec::new() },
            affected,
            message: a.hit.message,
            docker_usage: usage,
            recommended: Some(rec),
            fingerprint: String::new(),
            suppressed: false,
            suppression: None,
            fixture: false,
            fixture_included: false,
            span: a.hit.loc.span,
        });
    }
    for (i, p) in pipelines.iter().enumerate() {
        if p.name == "(global)" {
            continue;
        }
        let Some(sf) = files.get(p.file as usize) else {
            continue;
        };
        out.pipelines.push(PipelineSummary {
            name: p.name.clone(),
            surface: p.surface,
            path: sf.path.clone(),
            line: sf.line_col(p.decl.span.start).line,
            docker_usage: p.usage.clone(),
            hosting: p.hosting,
            recommended: recs[i],
            template: p.template,
            runs_scripts: p.runs_scripts.clone(),
            fixture: None,
            fixture_included: false,
            swarm: p.swarm.clone(),
            privilege: p.privilege.clone(),
        });
    }
    for f in with_findings {
        if let Some(sf) = files.get(f as usize) {
            out.sources.push((sf.path.clone(), sf.text.clone()));
        }
    }
    for d in &out.diagnostics {
        if let Some(sf) = files.iter().find(|s| s.path == d.path) {
            out.sources.push((sf.path.clone(), sf.text.clone()));
        }
    }
}

/// Why each daemonless privileged pipeline is privileged: read from its containers, its own
/// text (from its declaration to the next pipeline's in the same file) and the command lines
/// of its privileged `docker run`s.
fn classify_privilege(files: &[SourceFile], pipelines: &mut [Pipeline]) {
    let decls: Vec<(FileId, usize)> = pipelines
        .iter()
        .map(|p| (p.decl.file, p.decl.span.start))
        .collect();
    for p in pipelines.iter_mut() {
        if p.name == "(global)" || !crate::privilege::daemonless_privileged(p) {
            continue;
        }
        let mut texts: Vec<&str> = Vec::new();
        if let Some(sf) = files.get(p.decl.file as usize) {
            let start = (p.decl.span.start).min(sf.text.len());
            let end = decls
                .iter()
                .filter(|(f, s)| *f == p.decl.file && *s > start)
                .map(|(_, s)| *s)
                .min()
                .unwrap_or(sf.text.len());
            if let Some(t) = sf.text.get(start..end) {
                texts.push(t);
            }
        }
        let facts = p
            .script_facts
            .iter()
            .chain(p.containers.iter().flat_map(|c| c.facts.iter()));
        for f in facts {
            if f.loc.file == p.decl.file {
                continue;
            }
            if let Some(sf) = files.get(f.loc.file as usize) {
                texts.push(logical_line(&sf.text, f.loc.span.start));
            }
        }
        p.privilege = crate::privilege::classify(p, &texts);
    }
}

/// The logical line around `at`: continued lines (`\` at the end) are part of it.
fn logical_line(text: &str, at: usize) -> &str {
    let at = at.min(text.len());
    let mut start = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    while start > 1 {
        let prev = text
            .get(..start - 1)
            .map_or(0, |t| t.rfind('\n').map_or(0, |i| i + 1));
        if text
            .get(prev..start - 1)
            .is_some_and(|l| l.trim_end().ends_with('\\'))
        {
            start = prev;
        } else {
            break;
        }
    }
    let mut end = at;
    loop {
        let e = text
            .get(end..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |i| end + i);
        end = e;
        if e < text.len() && text.get(..e).is_some_and(|l| l.trim_end().ends_with('\\')) {
            end = e + 1;
        } else {
            break;
        }
    }
    text.get(start..end).unwrap_or("")
}

pub(crate) fn sort_diags(d: &mut [Diagnostic]) {
    d.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.message).cmp(&(&b.path, b.line, b.column, &b.message))
    });
}

/// Record the compose files a file deploys with `docker stack deploy -c FILE`.
fn stack_deploys(sf: &SourceFile, out: &mut UnitOut) {
    if !sf.text.contains("stack ") {
        return;
    }
    for f in surface::compose::stack_deploy_files(&sf.text) {
        out.stack_deploys.push((f, sf.path.clone()));
    }
}

/// Compose services of a file some pipeline or script deploys with `docker stack deploy` run
/// as Swarm services: their hosting, and the recommendations that depend on it.
fn mark_stack_deploys(r: &mut ScanResult, deploys: &[(String, String)], config: &Config) {
    if deploys.is_empty() {
        return;
    }
    let mut moved: BTreeMap<(String, String), &'static str> = BTreeMap::new();
    for p in r
        .pipelines
        .iter_mut()
        .filter(|p| p.surface == Surface::Compose && p.hosting != Hosting::Swarm)
    {
        let Some((_, by)) = deploys
            .iter()
            .find(|(f, _)| p.path == *f || p.path.ends_with(&format!("/{f}")))
        else {
            continue;
        };
        p.swarm = Some(format!(
            "`{by}` deploys the file with `docker stack deploy`"
        ));
        p.hosting = Hosting::Swarm;
        p.recommended = plan::recommend_name(
            &p.docker_usage,
            p.surface,
            p.hosting,
            &config.environment,
            &p.privilege,
        );
        moved.insert((p.path.clone(), p.name.clone()), p.recommended);
    }
    for f in &mut r.findings {
        let key = (
            f.pipeline_path.clone().unwrap_or_else(|| f.path.clone()),
            f.pipeline.clone().unwrap_or_default(),
        );
        if let Some(rec) = moved.get(&key) {
            f.recommended = Some(rec);
        }
    }
}

fn assemble(display_root: &str, outs: Vec<UnitOut>, config: &Config) -> ScanResult {
    let mut r = ScanResult {
        root: display_root.to_string(),
        ..ScanResult::default()
    };
    let mut seen: BTreeSet<(&'static str, String, Span)> = BTreeSet::new();
    let mut deploys: Vec<(String, String)> = Vec::new();
    for o in outs {
        deploys.extend(o.stack_deploys);
        r.files_scanned += o.scanned;
        for f in o.findings {
            // The same file in two GitLab projects: report once.
            if seen.insert((f.rule, f.path.clone(), f.span)) {
                r.findings.push(f);
            }
        }
        r.diagnostics.extend(o.diagnostics);
        r.pipelines.extend(o.pipelines);
        for (p, t) in o.sources {
            r.sources.insert(p, t);
        }
        r.trees.extend(o.trees);
    }
    link_scripts(&mut r);
    r.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    r.pipelines
        .sort_by(|a, b| (&a.path, a.line, &a.name).cmp(&(&b.path, b.line, &b.name)));
    r.pipelines
        .dedup_by(|a, b| a.path == b.path && a.name == b.name);
    mark_stack_deploys(&mut r, &deploys, config);
    crate::suppress::apply(&mut r.findings, &r.sources, &mut r.diagnostics, config);
    mark_fixtures(&mut r, config);
    fingerprints(&mut r);
    sort_diags(&mut r.diagnostics);
    r.diagnostics
        .dedup_by(|a, b| a.path == b.path && a.line == b.line && a.message == b.message);
    r
}

/// Mark findings and pipelines in test fixtures and vendored examples (reported, not migrated
/// unless `include-fixtures` names them).
fn mark_fixtures(r: &mut ScanResult, config: &Config) {
    for f in &mut r.findings {
        let declared = f.pipeline_path.as_deref().unwrap_or(&f.path);
        if crate::fixture::is_fixture(&f.path) || crate::fixture::is_fixture(declared) {
            f.fixture = true;
            f.fixture_included = config.include_fixtures.includes(declared);
        }
    }
    for p in &mut r.pipelines {
        p.fixture = crate::fixture::classify(&p.path);
        p.fixture_included = p.fixture.is_some() && config.include_fixtures.includes(&p.path);
    }
}

/// Findings in a shell script or a local action (`uses: ./path`) that a CI pipeline runs name
/// that pipeline.
fn link_scripts(r: &mut ScanResult) {
    let mut by_script: BTreeMap<&str, Vec<&PipelineSummary>> = BTreeMap::new();
    for p in &r.pipelines {
        for s in &p.runs_scripts {
            by_script.entry(s.as_str()).or_default().push(p);
        }
    }
    for f in &mut r.findings {
        let local_action = f.surface == Surface::GithubActions
            && (f.path.ends_with("action.yml") || f.path.ends_with("action.yaml"));
        if f.surface != Surface::Shell && !local_action {
            continue;
        }
        let key = match f.path.strip_suffix("action.yaml") {
            Some(dir) if local_action => format!("{dir}action.yml"),
            _ => f.path.clone(),
        };
        if let Some(ps) = by_script.get(key.as_str()) {
            let names: Vec<String> = ps
                .iter()
                .map(|p| format!("{}:{}", p.path, p.name))
                .collect();
            if let Some(first) = ps.first() {
                f.docker_usage.extend(first.docker_usage.iter().copied());
            }
            f.pipelines = names;
        }
    }
}

fn fingerprints(r: &mut ScanResult) {
    let mut counts: HashMap<(String, String, String, String), usize> = HashMap::new();
    let mut files: HashMap<String, SourceFile> = HashMap::new();
    for f in &mut r.findings {
        let line = match r.sources.get(&f.path) {
            Some(t) => files
                .entry(f.path.clone())
                .or_insert_with(|| SourceFile::new(f.path.clone(), t.clone()))
                .line_text(f.line)
                .to_string(),
            None => String::new(),
        };
        let pipeline = f.pipeline.clone().unwrap_or_default();
        let key = (
            f.rule.to_string(),
            f.path.clone(),
            pipeline.clone(),
            line.trim().to_string(),
        );
        let n = counts.entry(key).or_insert(0);
        f.fingerprint = finding::fingerprint(f.rule, &f.path, &pipeline, &line, *n);
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::logical_line;

    #[test]
    fn logical_line_follows_backslash_continuations() {
        let t = "echo a\ndocker run --rm \\\n  --privileged \\\n  img losetup -a\necho b\n";
        let at = t.find("--privileged").unwrap_or(0);
        assert_eq!(
            logical_line(t, at),
            "docker run --rm \\\n  --privileged \\\n  img losetup -a"
        );
        assert_eq!(logical_line(t, 0), "echo a");
        assert_eq!(logical_line(t, t.len()), "");
        assert_eq!(logical_line("x", 99), "x");
    }
}
