//! Discovery: a parallel, `.gitignore`-aware walk that picks the files depriv reads by name
//! (never by reading every byte), and reading them with the size/UTF-8 guards. A symbolic
//! link to a file inside the root is read at its target's path (so edits land in the real
//! file), with the kind its own name implies; links that leave the root, dangling links, link
//! loops, FIFOs, sockets and devices are skipped, each with a diagnostic whose message starts
//! with [`SKIPPED`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::finding::{DiagLevel, Diagnostic};

/// Prefix of every diagnostic about a file the walk skipped on purpose.
pub const SKIPPED: &str = "skipped: ";

/// Whether a diagnostic reports a file the walk skipped (see [`SKIPPED`]).
pub fn is_skip(d: &Diagnostic) -> bool {
    d.message.starts_with(SKIPPED)
}

/// Files larger than this are reported, not read.
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// What a file is, judged by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `.gitlab-ci.yml`, `*.gitlab-ci.yml`.
    GitlabCi,
    /// `.github/workflows/*.yml`.
    GithubWorkflow,
    /// `action.yml` of a composite or Docker action.
    GithubAction,
    /// `Jenkinsfile` and friends.
    Jenkinsfile,
    /// Job DSL `*.groovy`.
    Groovy,
    /// docker-compose files.
    Compose,
    /// Some other YAML: Kubernetes manifests or Helm values when the content says so.
    Yaml,
    /// A TOML file that may be a GitLab Runner config.
    Toml,
    /// `daemon.json`.
    DaemonJson,
    /// Shell script.
    Shell,
    /// Makefile.
    Makefile,
    /// Drone, Woodpecker, Azure, Bitbucket, CircleCI, Buildkite.
    OtherCi,
    /// `Dockerfile`, `*.Dockerfile`, `Dockerfile.*`: `RUN`/`CMD`/`ENTRYPOINT`/`ENV` are read.
    Dockerfile,
    /// `.env`, `.env.*`, `*.env`: environment assignments.
    EnvFile,
}

impl Kind {
    /// What the kind is read as, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::GitlabCi => "GitLab CI",
            Kind::GithubWorkflow => "a GitHub Actions workflow",
            Kind::GithubAction => "a GitHub action",
            Kind::Jenkinsfile => "a Jenkinsfile",
            Kind::Groovy => "Job DSL",
            Kind::Compose => "a compose file",
            Kind::Yaml => "YAML (Kubernetes or Helm values)",
            Kind::Toml => "TOML (GitLab Runner config)",
            Kind::DaemonJson => "Docker daemon.json",
            Kind::Shell => "a shell script",
            Kind::Makefile => "a Makefile",
            Kind::OtherCi => "CI configuration (detect only)",
            Kind::Dockerfile => "a Dockerfile",
            Kind::EnvFile => "an environment file",
        }
    }
}

/// A file found by the walk.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    /// Absolute path.
    pub abs: PathBuf,
    /// Kind by name.
    pub kind: Kind,
}

fn ext_of(name: &str) -> &str {
    name.rsplit_once('.').map(|(_, e)| e).unwrap_or("")
}

/// Classify a root-relative path by its name.
pub fn classify(rel: &str) -> Option<Kind> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let lower = name.to_ascii_lowercase();
    if let Some(kind) = classify_template(&lower) {
        return kind;
    }
    let ext = ext_of(&lower);
    let is_yaml = ext == "yml" || ext == "yaml";
    if is_yaml {
        if lower == ".gitlab-ci.yml"
            || lower.ends_with(".gitlab-ci.yml")
            || lower.ends_with(".gitlab-ci.yaml")
        {
            return Some(Kind::GitlabCi);
        }
        if rel.contains(".github/workflows/") {
            return Some(Kind::GithubWorkflow);
        }
        if lower == "action.yml" || lower == "action.yaml" {
            return Some(Kind::GithubAction);
        }
        if lower.starts_with("docker-compose")
            || lower.starts_with("compose.")
            || lower.starts_with("compose-")
            || lower.starts_with("compose_")
        {
            return Some(Kind::Compose);
        }
        if matches!(
            lower.as_str(),
            ".drone.yml"
                | ".drone.yaml"
                | ".woodpecker.yml"
                | ".woodpecker.yaml"
                | "azure-pipelines.yml"
                | "azure-pipelines.yaml"
                | "bitbucket-pipelines.yml"
        ) || rel.contains(".woodpecker/")
            || rel.ends_with(".circleci/config.yml")
            || rel.contains(".buildkite/")
        {
            return Some(Kind::OtherCi);
        }
        return Some(Kind::Yaml);
    }
    if lower == "dockerfile"
        || lower.ends_with(".dockerfile")
        || (lower.starts_with("dockerfile.") && !matches!(ext, "md" | "txt" | "json" | "orig"))
    {
        return Some(Kind::Dockerfile);
    }
    if lower == ".env" || lower.starts_with(".env.") || (lower.ends_with(".env") && lower.len() > 4)
    {
        return Some(Kind::EnvFile);
    }
    if name == "Jenkinsfile"
        || lower.ends_with(".jenkinsfile")
        || name.starts_with("Jenkinsfile.")
        || lower == "jenkinsfile"
    {
        return Some(Kind::Jenkinsfile);
    }
    match ext {
        "groovy" | "gvy" => return Some(Kind::Groovy),
        "sh" | "bash" => return Some(Kind::Shell),
        "mk" => return Some(Kind::Makefile),
        "toml" => {
            return match lower.as_str() {
                "cargo.toml" | "pyproject.toml" | "rustfmt.toml" | "clippy.toml"
                | "netlify.toml" | ".depriv.toml" => None,
                _ => Some(Kind::Toml),
            };
        }
        _ => {}
    }
    if lower == "daemon.json" {
        return Some(Kind::DaemonJson);
    }
    if name == "Makefile" || name == "makefile" || name == "GNUmakefile" {
        return Some(Kind::Makefile);
    }
    None
}

/// Go templates of the files depriv reads: `*.yaml.tpl`, `*.yml.gotmpl`, `*.toml.tmpl` by
/// the name under the template extension, and a bare `*.tmpl`/`*.gotmpl` as generic YAML (its
/// content decides). `Some(None)`: a template extension, but nothing depriv reads
/// (`_helpers.tpl`). `None`: not a template name.
fn classify_template(lower: &str) -> Option<Option<Kind>> {
    let (stem, ext) = lower.rsplit_once('.')?;
    if !matches!(ext, "tpl" | "tmpl" | "gotmpl") {
        return None;
    }
    let inner = ext_of(stem);
    Some(match inner {
        "yml" | "yaml" => Some(Kind::Yaml),
        "toml" => Some(Kind::Toml),
        _ if ext != "tpl" && !stem.contains('.') => Some(Kind::Yaml),
        _ => None,
    })
}

/// Walk `root` and return the candidates, sorted by path, plus diagnostics.
pub fn walk(root: &Path, exclude: &globset::GlobSet) -> (Vec<Candidate>, Vec<Diagnostic>) {
    let found = Mutex::new(Vec::new());
    let diags = Mutex::new(Vec::new());
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_global(false)
        .parents(false)
        .filter_entry(|e| {
            let n = e.file_name();
            !(e.depth() > 0 && (n == ".git" || n == ".depriv" || n == ".hg" || n == ".svn"))
        })
        .build_parallel();
    walker.run(|| {
        let found = &found;
        let diags = &diags;
        let canon_root = &canon_root;
        Box::new(move |entry| {
            let push_diag = |d: Diagnostic| {
                if let Ok(mut v) = diags.lock() {
                    v.push(d);
                }
            };
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    push_diag(Diagnostic {
                        path: err_path(&err, root),
                        line: 0,
                        column: 0,
                        level: DiagLevel::Warning,
                        message: format!("cannot read: {err}"),
                    });
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            if ft.is_dir() {
                return WalkState::Continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else {
                return WalkState::Continue;
            };
            let rel = rel_string(rel);
            if exclude.is_match(&rel) {
                return WalkState::Continue;
            }
            let candidate = if ft.is_symlink() {
                match follow(entry.path(), &rel, canon_root) {
                    Followed::File { target, kind } => {
                        if exclude.is_match(&target) {
                            return WalkState::Continue;
                        }
                        push_diag(Diagnostic {
                            path: rel.clone(),
                            line: 0,
                            column: 0,
                            level: DiagLevel::Note,
                            message: format!(
                                "symbolic link to `{target}`: read there as {}",
                                kind.describe()
                            ),
                        });
                        Candidate {
                            abs: canon_root.join(&target),
                            rel: target,
                            kind,
                        }
                    }
                    Followed::Ignore => return WalkState::Continue,
                    Followed::Skip(why) => {
                        push_diag(skip(&rel, why));
                        return WalkState::Continue;
                    }
                }
            } else {
                let Some(kind) = classify(&rel) else {
                    return WalkState::Continue;
                };
                if !ft.is_file() {
                    push_diag(skip(&rel, format!("not a regular file ({})", special(&ft))));
                    return WalkState::Continue;
                }
                Candidate {
                    rel,
                    abs: entry.path().to_path_buf(),
                    kind,
                }
            };
            if let Ok(mut f) = found.lock() {
                f.push(candidate);
            }
            WalkState::Continue
        })
    });
    let mut found = found.into_inner().unwrap_or_default();
    // A link and its target name the same file: keep the kind the link's name implies when
    // the target's own name says less (`.gitlab-ci.yml` → `ci/main.yml`).
    found.sort_by(|a, b| (&a.rel, a.kind == Kind::Yaml).cmp(&(&b.rel, b.kind == Kind::Yaml)));
    found.dedup_by(|later, first| later.rel == first.rel);
    let mut diags = diags.into_inner().unwrap_or_default();
    diags.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    (found, diags)
}

fn skip(rel: &str, why: String) -> Diagnostic {
    Diagnostic {
        path: rel.to_string(),
        line: 0,
        column: 0,
        level: DiagLevel::Warning,
        message: format!("{SKIPPED}{why}"),
    }
}

#[cfg(unix)]
fn special(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

/// What a symbolic link found by the walk leads to.
enum Followed {
    /// A regular file inside the root: its root-relative path and the kind to read it as.
    File { target: String, kind: Kind },
    /// Nothing depriv would read (a directory inside the root is walked at its real path).
    Ignore,
    /// Skipped, with the reason.
    Skip(String),
}

/// Whether a chain of links leads back to itself.
fn is_loop(link: &Path) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut cur = link.to_path_buf();
    for _ in 0..64 {
        if !seen.insert(cur.clone()) {
            return true;
        }
        let Ok(next) = std::fs::read_link(&cur) else {
            return false;
        };
        cur = match cur.parent() {
            Some(dir) => dir.join(next),
            None => next,
        };
    }
    true
}

fn follow(link: &Path, rel: &str, canon_root: &Path) -> Followed {
    let shown = std::fs::read_link(link)
        .map(|t| t.display().to_string())
        .unwrap_or_default();
    let target = match link.canonicalize() {
        Ok(t) => t,
        Err(_) if is_loop(link) => {
            return Followed::Skip(format!("symbolic link loop (→ {shown})"));
        }
        Err(_) if classify(rel).is_none() => return Followed::Ignore,
        Err(e) => return Followed::Skip(format!("dangling symbolic link (→ {shown}): {e}")),
    };
    let Ok(inside) = target.strip_prefix(canon_root) else {
        return Followed::Skip(format!(
            "symbolic link leaves the repository (→ {shown}); not followed"
        ));
    };
    let meta = match std::fs::metadata(&target) {
        Ok(m) => m,
        Err(e) => return Followed::Skip(format!("cannot read the link's target: {e}")),
    };
    if meta.is_dir() {
        // Its files are walked at their real paths; a link to an enclosing directory would
        // only lead back there.
        if link
            .parent()
            .is_some_and(|p| p.canonicalize().is_ok_and(|p| p.starts_with(&target)))
        {
            return Followed::Skip(format!(
                "symbolic link loop: `{rel}` points to an enclosing directory (→ {shown})"
            ));
        }
        return Followed::Ignore;
    }
    let target_rel = rel_string(inside);
    let Some(kind) = classify(rel).or_else(|| classify(&target_rel)) else {
        return Followed::Ignore;
    };
    if !meta.is_file() {
        return Followed::Skip(format!("not a regular file (→ {shown})"));
    }
    Followed::File {
        target: target_rel,
        kind,
    }
}

fn err_path(err: &ignore::Error, root: &Path) -> String {
    fn find(err: &ignore::Error) -> Option<&Path> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            _ => None,
        }
    }
    find(err)
        .map(|p| rel_string(p.strip_prefix(root).unwrap_or(p)))
        .unwrap_or_else(|| ".".into())
}

/// A relative path as a `/`-separated string.
pub fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Larger than [`MAX_FILE_SIZE`].
    #[error("file is larger than 10 MiB ({0} bytes); skipped")]
    TooLarge(u64),
    /// Not UTF-8.
    #[error("not valid UTF-8 (invalid byte at offset {0}); skipped")]
    NotUtf8(usize),
    /// I/O.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// A symlink (never followed).
    #[error("is a symbolic link; not followed")]
    Symlink,
}

impl ReadError {
    /// 1-based line and column of the error, when it has a position.
    pub fn position(&self, bytes: &[u8]) -> (usize, usize) {
        match self {
            ReadError::NotUtf8(off) => {
                let before = bytes.get(..*off).unwrap_or(bytes);
                let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
                (line, col)
            }
            _ => (0, 0),
        }
    }
}

/// Read a file as UTF-8 text with the size guard. Returns the raw bytes on a UTF-8 error so
/// the caller can report a position.
pub fn read_text(path: &Path) -> Result<String, (ReadError, Vec<u8>)> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| (ReadError::Io(e), Vec::new()))?;
    if meta.file_type().is_symlink() {
        return Err((ReadError::Symlink, Vec::new()));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err((ReadError::TooLarge(meta.len()), Vec::new()));
    }
    let bytes = std::fs::read(path).map_err(|e| (ReadError::Io(e), Vec::new()))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err((ReadError::TooLarge(bytes.len() as u64), Vec::new()));
    }
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        (ReadError::NotUtf8(off), e.into_bytes())
    })
}

/// `a/b` + `../c/./d` → `a/c/d`; `None` when it leaves the repository or is absolute.
pub(crate) fn join_path(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.starts_with('~') || rel.contains('$') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|x| !x.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name() {
        assert_eq!(classify(".gitlab-ci.yml"), Some(Kind::GitlabCi));
        assert_eq!(classify("ci/build.gitlab-ci.yml"), Some(Kind::GitlabCi));
        assert_eq!(
            classify(".github/workflows/ci.yaml"),
            Some(Kind::GithubWorkflow)
        );
        assert_eq!(classify("x/action.yml"), Some(Kind::GithubAction));
        assert_eq!(classify("Jenkinsfile"), Some(Kind::Jenkinsfile));
        assert_eq!(classify("ci/Jenkinsfile.docker"), Some(Kind::Jenkinsfile));
        assert_eq!(classify("ci/build.Jenkinsfile"), Some(Kind::Jenkinsfile));
        assert_eq!(classify("jobs/seed.groovy"), Some(Kind::Groovy));
        assert_eq!(classify("docker-compose.ci.yml"), Some(Kind::Compose));
        assert_eq!(classify("compose.yaml"), Some(Kind::Compose));
        assert_eq!(classify("deploy/pod.yaml"), Some(Kind::Yaml));
        assert_eq!(classify("gitlab-runner/config.toml"), Some(Kind::Toml));
        assert_eq!(classify("Cargo.toml"), None);
        assert_eq!(classify("etc/docker/daemon.json"), Some(Kind::DaemonJson));
        assert_eq!(classify("package.json"), None);
        assert_eq!(classify("scripts/run.sh"), Some(Kind::Shell));
        assert_eq!(classify("Makefile"), Some(Kind::Makefile));
        assert_eq!(classify(".drone.yml"), Some(Kind::OtherCi));
        assert_eq!(classify("Dockerfile"), Some(Kind::Dockerfile));
        assert_eq!(classify("ci/runner.Dockerfile"), Some(Kind::Dockerfile));
        assert_eq!(classify("Dockerfile.dind"), Some(Kind::Dockerfile));
        assert_eq!(classify("docs/Dockerfile.md"), None);
        assert_eq!(classify(".env"), Some(Kind::EnvFile));
        assert_eq!(classify("deploy/.env.example"), Some(Kind::EnvFile));
        assert_eq!(classify("runner.env"), Some(Kind::EnvFile));
        assert_eq!(classify(".envrc"), None);
        assert_eq!(classify("src/main.rs"), None);
        assert_eq!(classify("deploy/runner.yaml.tpl"), Some(Kind::Yaml));
        assert_eq!(classify("helmfile.d/values.yaml.gotmpl"), Some(Kind::Yaml));
        assert_eq!(classify("k8s/deployment.tmpl"), Some(Kind::Yaml));
        assert_eq!(classify("runner/config.toml.tmpl"), Some(Kind::Toml));
        assert_eq!(classify("charts/x/templates/_helpers.tpl"), None);
        assert_eq!(classify("web/index.html.tmpl"), None);
    }
}
