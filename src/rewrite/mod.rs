//! Rewriters: turn one pipeline's findings into byte edits for a chosen target, rendering the
//! new configuration from `templates/`. One module per surface; each returns an [`Outcome`]
//! (edits, manual tasks for what lies outside the repository, notes, a status) and never
//! touches the disk. The migration engine (`migrate`) verifies and diffs the result.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod common;
pub mod compose;
pub mod daemon;
pub mod device;
pub mod github;
pub mod gitlab;
pub mod jenkins;
pub mod kube;
pub mod runner;
pub mod translate;
pub mod yaml_edit;
pub mod yaml_plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::config::Environment;
use crate::edit::Edit;
use crate::finding::{Finding, Surface};
use crate::plan::Target;
use crate::scan::PipelineSummary;
use crate::targets::{self, Builder, Op};
use crate::templates::Templates;

/// How far a pipeline got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every finding addressed by edits.
    Migrated,
    /// Some findings addressed; the rest are manual tasks.
    Partial,
    /// Nothing to edit in the repository; manual tasks say what to do.
    Manual,
    /// The target cannot be applied to this pipeline by depriv.
    Unsupported,
    /// The user chose to leave it.
    Skipped,
}

impl Status {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Migrated => "migrated",
            Status::Partial => "partial",
            Status::Manual => "manual",
            Status::Unsupported => "unsupported",
            Status::Skipped => "skipped",
        }
    }
}

/// Something a person must do outside the repository (or could not be automated).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ManualTask {
    /// One line: what to do.
    pub title: String,
    /// Where (a runner host, a cluster, a file).
    pub location: String,
    /// The exact snippet to apply.
    pub snippet: String,
    /// Snippet language for rendering (`toml`, `yaml`, `json`, `sh`).
    pub lang: String,
}

/// What a rewriter produced for one pipeline.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Byte edits (any file of the repository).
    pub edits: Vec<Edit>,
    /// Manual tasks.
    pub manual: Vec<ManualTask>,
    /// Notes for the user (warnings, pitfalls).
    pub notes: Vec<String>,
    /// Fingerprints of the findings the edits address.
    pub addressed: Vec<String>,
    /// Set when the rewriter decides the status itself (else derived).
    pub status: Option<Status>,
}

/// Reads repository files for rewriters (root-relative paths).
pub trait Files: Sync {
    /// The text of a file, if it exists and is readable.
    fn text(&self, path: &str) -> Option<Arc<str>>;
    /// Every scanned YAML path (for GitLab include resolution).
    fn yaml_paths(&self) -> Vec<String>;
    /// Every scanned path (a rewrite that must look at what other files do with what it
    /// changes). Defaults to the YAML paths.
    fn paths(&self) -> Vec<String> {
        self.yaml_paths()
    }
    /// A cache that lives as long as these files (one migration run), so what several
    /// pipelines share (a parsed GitLab project) is built once. `None`: nothing is cached.
    fn memo(&self) -> Option<&Memo> {
        None
    }
}

/// Values computed once per run and shared by every rewrite of it, by key.
#[derive(Default)]
pub struct Memo {
    map: std::sync::Mutex<BTreeMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").finish_non_exhaustive()
    }
}

impl Memo {
    /// The value under `key`, computing it with `make` the first time. `make` runs without
    /// the lock held, so two threads may both compute it; the first one stored wins.
    pub fn get_or<T: std::any::Any + Send + Sync>(
        &self,
        key: &str,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        let found = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        if let Some(v) = found.and_then(|v| v.downcast::<T>().ok()) {
            return v;
        }
        let made: Arc<T> = Arc::new(make());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(key.to_string())
            .or_insert_with(|| made.clone() as Arc<dyn std::any::Any + Send + Sync>);
        entry.clone().downcast::<T>().unwrap_or(made)
    }
}

/// [`Files::memo`] when there is one, else compute every time.
pub fn memoised<T: std::any::Any + Send + Sync>(
    files: &dyn Files,
    key: &str,
    make: impl FnOnce() -> T,
) -> Arc<T> {
    match files.memo() {
        Some(m) => m.get_or(key, make),
        None => Arc::new(make()),
    }
}

/// In-memory files (tests, verification passes).
#[derive(Clone, Debug, Default)]
pub struct MemFiles(pub BTreeMap<String, Arc<str>>);

impl Files for MemFiles {
    fn text(&self, path: &str) -> Option<Arc<str>> {
        self.0.get(path).cloned()
    }
    fn paths(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn yaml_paths(&self) -> Vec<String> {
        self.0
            .keys()
            .filter(|p| p.ends_with(".yml") || p.ends_with(".yaml"))
            .cloned()
            .collect()
    }
}

/// One pipeline to rewrite.
pub struct Request<'a> {
    /// The pipeline.
    pub pipeline: &'a PipelineSummary,
    /// The chosen target.
    pub target: Target,
    /// Its active findings (in any file).
    pub findings: Vec<&'a Finding>,
    /// Environment answers.
    pub env: &'a Environment,
    /// Templates in force.
    pub templates: &'a Templates,
    /// Repository files.
    pub files: &'a dyn Files,
}

/// How a surface's rewriter stands towards one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The rewriter performs it (edits, or a manual task with the exact snippet).
    Implemented,
    /// Nothing the operation acts on lives in this surface's files (no build commands in a
    /// runner's `config.toml`, no daemon container in a host's `daemon.json`).
    NothingToDo,
    /// The rewriter cannot perform it: pipelines needing it are reported unsupported.
    Missing,
}

/// What each surface's rewriter implements, operation by operation. Every match here is
/// exhaustive on purpose: a new operation or builder must be decided for every surface.
pub fn support(surface: Surface, op: Op) -> Support {
    use Support::{Implemented, Missing, NothingToDo};
    let builds = |b: Builder| match b {
        Builder::Buildkit | Builder::Kaniko => Implemented,
    };
    match surface {
        Surface::GitlabCi | Surface::GithubActions | Surface::Jenkins | Surface::Kubernetes => {
            match op {
                Op::DropDaemon | Op::SetRuntime | Op::EnableDaemonTls | Op::SwapDaemonImage => {
                    Implemented
                }
                Op::TranslateBuilds(b) => builds(b),
            }
        }
        Surface::Compose => match op {
            Op::DropDaemon | Op::SetRuntime | Op::EnableDaemonTls | Op::SwapDaemonImage => {
                Implemented
            }
            Op::TranslateBuilds(b) => match b {
                Builder::Buildkit => Implemented,
                Builder::Kaniko => Missing,
            },
        },
        Surface::RunnerToml => match op {
            Op::DropDaemon | Op::SetRuntime | Op::EnableDaemonTls | Op::SwapDaemonImage => {
                Implemented
            }
            Op::TranslateBuilds(b) => match b {
                Builder::Buildkit | Builder::Kaniko => NothingToDo,
            },
        },
        Surface::DaemonJson => match op {
            Op::SetRuntime | Op::EnableDaemonTls => Implemented,
            Op::DropDaemon | Op::SwapDaemonImage | Op::TranslateBuilds(_) => NothingToDo,
        },
        Surface::Shell | Surface::Other => Missing,
    }
}

/// The first operation a target needs that the surface's rewriter lacks.
pub fn missing_op(surface: Surface, target: Target) -> Option<Op> {
    targets::spec(target)
        .ops
        .iter()
        .copied()
        .find(|&op| support(surface, op) == Support::Missing)
}

/// Rewrite one pipeline. A file that does not parse is never rewritten: when the pipeline's
/// own file or any file its edits touch fails to parse, the outcome has no edits, every finding
/// becomes a manual task and a note names the file and the position of the error.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let _file = crate::bugreport::processing(&req.pipeline.path);
    if let Surface::Shell | Surface::Other = req.pipeline.surface {
        // No rewriter at all: every finding is a manual task.
        return unsupported(req);
    }
    if let Some(op) = missing_op(req.pipeline.surface, req.target) {
        return unsupported_op(req, op);
    }
    if let Some(o) = refuse_unparsed(req, std::iter::once(req.pipeline.path.as_str())) {
        return o;
    }
    let o = rewrite_surface(req);
    let touched: std::collections::BTreeSet<&str> =
        o.edits.iter().map(|e| e.path.as_str()).collect();
    refuse_unparsed(req, touched.into_iter()).unwrap_or(o)
}

/// Where a file fails to parse in its format (YAML, TOML, JSON; for Groovy, where its lexer
/// gives up), as a byte offset and a message. `None` when it parses or the format has no
/// syntax errors (shell, Makefiles).
pub fn parse_failure(path: &str, text: &str) -> Option<(usize, String)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "yml" | "yaml" => crate::source::yaml::Yaml::parse(text)
            .err()
            .map(|e| (e.offset, format!("invalid YAML: {}", e.message))),
        "toml" => crate::source::toml::parse(text)
            .err()
            .map(|e| (e.offset, format!("invalid TOML: {}", e.message))),
        "json" => crate::source::json::parse(text)
            .err()
            .map(|e| (e.offset, format!("invalid JSON: {}", e.message))),
        _ if name.contains("Jenkinsfile") || ext == "groovy" || ext == "jenkinsfile" => {
            crate::source::jenkins_groovy::parse_jenkins(text)
                .diagnostics
                .into_iter()
                .find(|(_, m)| m.starts_with("unterminated"))
                .map(|(r, m)| (r.start, m))
        }
        _ => None,
    }
}

/// A YAML file parsed once per run (per [`Files::memo`]): the tree, or where and why it fails.
/// The unparsed-file guard and the GitLab project loader share it.
/// Give [`parsed_yaml`] a tree parsed already (by the scan) for `path`, so a migration
/// parses each file once.
pub fn seed_parsed_yaml(memo: &Memo, path: &str, tree: Arc<crate::source::yaml::Yaml>) {
    let _ = memo.get_or::<Result<Arc<crate::source::yaml::Yaml>, (usize, String)>>(
        &format!("yaml:{path}"),
        || Ok(tree),
    );
}

pub(crate) fn parsed_yaml(
    files: &dyn Files,
    path: &str,
    text: &str,
) -> Arc<Result<Arc<crate::source::yaml::Yaml>, (usize, String)>> {
    memoised(files, &format!("yaml:{path}"), || {
        crate::source::yaml::Yaml::parse(text)
            .map(Arc::new)
            .map_err(|e| (e.offset, format!("invalid YAML: {}", e.message)))
    })
}

/// The outcome for a pipeline whose files include one that does not parse.
fn refuse_unparsed<'p>(req: &Request<'_>, paths: impl Iterator<Item = &'p str>) -> Option<Outcome> {
    for path in paths {
        let Some(text) = req.files.text(path) else {
            continue;
        };
        // Parsed once per run, whatever the number of pipelines reading the file.
        let failure = if path.ends_with(".yml") || path.ends_with(".yaml") {
            Arc::new(parsed_yaml(req.files, path, &text).as_ref().clone().err())
        } else {
            memoised(req.files, &format!("parse-failure:{path}"), || {
                parse_failure(path, &text)
            })
        };
        if let Some((offset, message)) = failure.as_ref().clone() {
            let at = crate::source::SourceFile::new(path, text).line_col(offset);
            let mut o = unsupported(req);
            o.notes.push(format!(
                "{path}:{}:{}: {message}; a file that does not parse is not rewritten",
                at.line, at.column
            ));
            return Some(o);
        }
    }
    None
}

fn rewrite_surface(req: &Request<'_>) -> Outcome {
    match req.pipeline.surface {
        Surface::GitlabCi => gitlab::rewrite(req),
        Surface::GithubActions => github::rewrite(req),
        Surface::Compose => compose::rewrite(req),
        Surface::Kubernetes => kube::rewrite(req),
        Surface::RunnerToml => runner::rewrite(req),
        Surface::DaemonJson => daemon::rewrite(req),
        Surface::Jenkins => jenkins::rewrite(req),
        Surface::Shell | Surface::Other => unsupported(req),
    }
}

/// The outcome for a pipeline whose target needs an operation its surface lacks: every
/// finding becomes a manual task, and a note names the operation.
pub fn unsupported_op(req: &Request<'_>, op: Op) -> Outcome {
    let mut o = unsupported(req);
    o.notes.push(format!(
        "depriv cannot {} in {} files, which the {} target needs",
        op.describe(),
        req.pipeline.surface.as_str(),
        req.target.as_str()
    ));
    o
}

/// Rewrite pipelines that share a definition and take the same target, together: a shared
/// definition is then edited once, right for every member. `group` holds every member,
/// `req.pipeline` among them; surfaces whose definitions are never shared rewrite each member
/// and merge the results.
pub fn rewrite_group(req: &Request<'_>, group: &[&PipelineSummary]) -> Outcome {
    if group.len() <= 1 {
        return rewrite(req);
    }
    if let Some(op) = missing_op(req.pipeline.surface, req.target) {
        return unsupported_op(req, op);
    }
    let names: Vec<&str> = group.iter().map(|p| p.name.as_str()).collect();
    let together = match req.pipeline.surface {
        Surface::GitlabCi => Some(gitlab::rewrite_jobs as fn(&Request<'_>, &[&str]) -> Outcome),
        Surface::Compose => Some(compose::rewrite_services as fn(&Request<'_>, &[&str]) -> Outcome),
        _ => None,
    };
    if let Some(rewrite_together) = together {
        // Never rewrite a file that does not parse: the members' files, and every file edited.
        if let Some(o) = refuse_unparsed(req, group.iter().map(|p| p.path.as_str())) {
            return o;
        }
        let o = rewrite_together(req, &names);
        let touched: std::collections::BTreeSet<&str> =
            o.edits.iter().map(|e| e.path.as_str()).collect();
        return refuse_unparsed(req, touched.into_iter()).unwrap_or(o);
    }
    let mut all = Outcome::default();
    for p in group {
        let one = Request {
            pipeline: p,
            target: req.target,
            findings: req.findings.clone(),
            env: req.env,
            templates: req.templates,
            files: req.files,
        };
        let o = rewrite(&one);
        all.edits.extend(o.edits);
        for m in o.manual {
            if !all.manual.contains(&m) {
                all.manual.push(m);
            }
        }
        for n in o.notes {
            if !all.notes.contains(&n) {
                all.notes.push(n);
            }
        }
        for a in o.addressed {
            if !all.addressed.contains(&a) {
                all.addressed.push(a);
            }
        }
        all.status = match (all.status, o.status) {
            (None, s) | (s, None) => s,
            (Some(a), Some(b)) => Some(a.max(b)),
        };
    }
    all
}

/// The outcome for a pipeline depriv cannot rewrite: every finding becomes a manual task.
pub fn unsupported(req: &Request<'_>) -> Outcome {
    let mut o = Outcome {
        status: Some(Status::Unsupported),
        ..Outcome::default()
    };
    for f in &req.findings {
        o.manual.push(ManualTask {
            title: format!(
                "{}: {} (move to {})",
                f.rule,
                f.message,
                req.target.as_str()
            ),
            location: format!("{}:{}", f.path, f.line),
            snippet: String::new(),
            lang: String::new(),
        });
    }
    o
}

/// Render a template or turn the error into a note (never a panic, never a half edit).
pub fn render<S: Serialize>(
    req: &Request<'_>,
    name: &str,
    ctx: &S,
    o: &mut Outcome,
) -> Option<String> {
    match req.templates.render(name, ctx) {
        Ok(s) => Some(s),
        Err(e) => {
            o.notes.push(format!("template error: {e}"));
            o.status = Some(Status::Unsupported);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::migrate::{self, Strategy};

    #[test]
    fn a_migration_rewrites_from_the_trees_the_scan_parsed() {
        let ci =
            ".b:\n  services: [docker:dind]\nbuild:\n  extends: .b\n  script: docker build .\n";
        let other = "lint:\n  script: make lint\n";
        let files: BTreeMap<String, String> = [
            (".gitlab-ci.yml".to_string(), ci.to_string()),
            ("other.gitlab-ci.yml".to_string(), other.to_string()),
        ]
        .into_iter()
        .collect();
        let scan = crate::scan::scan_memory(files, &Config::default());
        // Kept for the project with findings only.
        assert_eq!(
            scan.trees.keys().map(String::as_str).collect::<Vec<_>>(),
            [".gitlab-ci.yml"]
        );
        let (text, tree) = scan.trees.get(".gitlab-ci.yml").expect("kept").clone();
        assert_eq!(&*text, ci);
        let mem = MemFiles(BTreeMap::new());
        let memo = Memo::default();
        seed_parsed_yaml(&memo, ".gitlab-ci.yml", tree.clone());
        struct Seeded<'a>(&'a MemFiles, &'a Memo);
        impl Files for Seeded<'_> {
            fn text(&self, p: &str) -> Option<Arc<str>> {
                self.0.text(p)
            }
            fn yaml_paths(&self) -> Vec<String> {
                self.0.yaml_paths()
            }
            fn memo(&self) -> Option<&Memo> {
                Some(self.1)
            }
        }
        let got = parsed_yaml(&Seeded(&mem, &memo), ".gitlab-ci.yml", ci);
        let got = got.as_ref().as_ref().expect("parsed");
        assert!(Arc::ptr_eq(got, &tree), "the scan's tree is not reused");
    }

    #[test]
    fn parse_failures_name_the_position() {
        let y = parse_failure("ci/a.yml", "a: [1,\nb: 2\n").expect("yaml error");
        assert!(y.1.starts_with("invalid YAML"), "{y:?}");
        let t = parse_failure("config.toml", "[runners\n").expect("toml error");
        assert!(t.1.starts_with("invalid TOML"), "{t:?}");
        let j = parse_failure("daemon.json", "{\"a\": }").expect("json error");
        assert!(j.1.starts_with("invalid JSON"), "{j:?}");
        let g = parse_failure("Jenkinsfile", "sh 'x\n").expect("groovy error");
        assert_eq!(g.0, 3);
        assert_eq!(parse_failure("a.yml", "a: 1\n"), None);
        assert_eq!(parse_failure("build.sh", "echo \"x\n"), None);
    }

    #[test]
    fn a_file_that_does_not_parse_is_not_rewritten() {
        let good = "build:\n  services: [docker:dind]\n  script: docker build .\n";
        let config = Config::default();
        let scan = crate::scan::scan_memory(
            BTreeMap::from([(".gitlab-ci.yml".to_string(), good.to_string())]),
            &config,
        );
        let plan = migrate::plan(&scan, &config.environment, Strategy::Auto);
        let p = plan.pipelines.first().expect("one pipeline");
        let target = p.choice.target().expect("a target");
        // The file on disk no longer parses (edited between scan and migrate).
        let broken = "build:\n  services: [docker:dind]\n  script: [docker build .\n";
        let files = MemFiles(BTreeMap::from([(
            ".gitlab-ci.yml".to_string(),
            Arc::<str>::from(broken),
        )]));
        let templates = Templates::builtin();
        let req = Request {
            pipeline: &p.pipeline,
            target,
            findings: p.findings.iter().collect(),
            env: &plan.environment,
            templates: &templates,
            files: &files,
        };
        let o = rewrite(&req);
        assert!(o.edits.is_empty(), "{:?}", o.edits);
        assert_eq!(o.status, Some(Status::Unsupported));
        assert!(
            o.notes
                .iter()
                .any(|n| n.starts_with(".gitlab-ci.yml:3:11: invalid YAML: unclosed bracket")),
            "{:?}",
            o.notes
        );
        // The same request over the text that parses does produce edits.
        let files = MemFiles(BTreeMap::from([(
            ".gitlab-ci.yml".to_string(),
            Arc::<str>::from(good),
        )]));
        let req = Request {
            files: &files,
            ..req
        };
        assert!(!rewrite(&req).edits.is_empty());
    }

    const REWRITTEN: [Surface; 7] = [
        Surface::GitlabCi,
        Surface::GithubActions,
        Surface::Jenkins,
        Surface::Compose,
        Surface::Kubernetes,
        Surface::RunnerToml,
        Surface::DaemonJson,
    ];

    #[test]
    fn only_compose_lacks_an_operation_a_target_needs() {
        for s in REWRITTEN {
            for t in crate::plan::ALL_TARGETS {
                let want = (s == Surface::Compose && t == Target::Kaniko)
                    .then_some(Op::TranslateBuilds(Builder::Kaniko));
                assert_eq!(missing_op(s, t), want, "{} {}", s.as_str(), t.as_str());
            }
        }
        for t in crate::plan::ALL_TARGETS {
            assert!(missing_op(Surface::Shell, t).is_some());
            assert!(missing_op(Surface::Other, t).is_some());
        }
    }

    fn rewrite_compose(target: Target) -> Outcome {
        let src = "services:\n  builder:\n    image: docker:29-cli\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n    command: docker build -t example/app .\n";
        let config = crate::config::Config::default();
        let files: BTreeMap<String, String> =
            [("docker-compose.yml".to_string(), src.to_string())].into();
        let scan = crate::scan::scan_memory(files.clone(), &config);
        let pipeline = scan
            .pipelines
            .iter()
            .find(|p| p.surface == Surface::Compose && p.name == "builder")
            .expect("compose pipeline");
        let mem = MemFiles(
            files
                .into_iter()
                .map(|(k, v)| (k, Arc::from(v.as_str())))
                .collect(),
        );
        let templates = Templates::builtin();
        let req = Request {
            pipeline,
            target,
            findings: scan.findings.iter().collect(),
            env: &config.environment,
            templates: &templates,
            files: &mem,
        };
        assert!(!req.findings.is_empty());
        rewrite(&req)
    }

    #[test]
    fn a_missing_operation_is_unsupported_and_named() {
        let o = rewrite_compose(Target::Kaniko);
        assert_eq!(o.status, Some(Status::Unsupported));
        assert!(o.edits.is_empty());
        assert!(
            o.notes.iter().any(|n| n
                == "depriv cannot translate Docker builds for kaniko in compose files, which the kaniko target needs"),
            "{:?}",
            o.notes
        );
        assert!(
            o.manual
                .iter()
                .any(|m| m.title.contains("(move to kaniko)")),
            "{:?}",
            o.manual
        );
        let o = rewrite_compose(Target::Sysbox);
        assert_ne!(o.status, Some(Status::Unsupported));
        assert!(!o.edits.is_empty());
    }
}
