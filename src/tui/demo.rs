//! `depriv demo`: write the embedded demo repository ([`super::demo_files`]) into a new
//! directory, make it a git repository with one commit (so the write step's version-control
//! guard passes and `depriv undo` has a clean base), and return its path. The checkout of
//! depriv itself is never touched.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::demo_files::FILES;

/// Errors creating the demo repository.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// git is missing or failed.
    #[error("git {step} failed in {dir}: {message} (depriv demo needs git installed)")]
    Git {
        /// Which step.
        step: &'static str,
        /// Directory.
        dir: String,
        /// git's error output.
        message: String,
    },
    /// An embedded path is not a plain relative path (a bug in the embedded list).
    #[error("invalid embedded path {0}")]
    BadPath(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A new, empty directory `depriv-demo-<pid>-<n>` under `parent`.
fn fresh_dir(parent: &Path) -> Result<PathBuf, DemoError> {
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let pid = std::process::id();
    let mut last = None;
    for n in 0..1000u32 {
        let dir = parent.join(format!("depriv-demo-{pid}-{n}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io(&dir)(e)),
        }
    }
    Err(DemoError::Io {
        path: parent.display().to_string(),
        source: last.unwrap_or_else(|| std::io::Error::other("no free name")),
    })
}

fn git(dir: &Path, step: &'static str, args: &[&str]) -> Result<(), DemoError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=depriv demo",
            "-c",
            "user.email=demo@depriv.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .output()
        .map_err(|e| DemoError::Git {
            step,
            dir: dir.display().to_string(),
            message: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DemoError::Git {
            step,
            dir: dir.display().to_string(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Write the demo files into `dir` (which must exist).
pub fn write_files(dir: &Path) -> Result<(), DemoError> {
    for f in FILES {
        let rel = Path::new(f.path);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(DemoError::BadPath(f.path.to_string()));
        }
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, f.bytes).map_err(io(&path))?;
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io(&path))?;
        }
    }
    Ok(())
}

/// Create the demo repository under `parent` (usually the temporary directory) and return
/// its path.
pub fn create(parent: &Path) -> Result<PathBuf, DemoError> {
    let dir = fresh_dir(parent)?;
    let r = (|| {
        write_files(&dir)?;
        git(&dir, "init", &["init", "-q"])?;
        git(&dir, "add", &["add", "-A"])?;
        git(
            &dir,
            "commit",
            &["commit", "-q", "-m", "depriv demo repository"],
        )
    })();
    match r {
        Ok(()) => Ok(dir),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn walk(root: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if p.file_name().is_some_and(|n| n == ".git") {
                        continue;
                    }
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(root) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    out.insert(rel, std::fs::read(&p).unwrap_or_default());
                }
            }
        }
        out
    }

    #[test]
    fn embedded_list_matches_assets_demo() {
        let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
        let on_disk = walk(&assets);
        let embedded: BTreeMap<String, Vec<u8>> = FILES
            .iter()
            .map(|f| (f.path.to_string(), f.bytes.to_vec()))
            .collect();
        assert_eq!(
            on_disk.keys().collect::<Vec<_>>(),
            embedded.keys().collect::<Vec<_>>(),
            "src/tui/demo_files.rs must list every file of assets/demo"
        );
        assert_eq!(on_disk, embedded);
        let paths: Vec<&str> = FILES.iter().map(|f| f.path).collect();
        let mut sorted = paths.clone();
        sorted.sort_unstable();
        assert_eq!(paths, sorted);
    }

    #[test]
    fn creates_a_committed_git_repository() {
        let parent = std::env::temp_dir().join(format!("depriv-demo-test-{}", std::process::id()));
        let dir = match create(&parent) {
            Ok(d) => d,
            Err(DemoError::Git { message, .. }) if message.contains("No such file") => {
                eprintln!("git not installed; skipping");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(walk(&dir).len(), FILES.len());
        assert!(dir.join(".git").is_dir());
        // Clean: the write step's guard accepts it.
        assert!(crate::write::vcs_guard(&dir, false, false).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let exe = FILES
                .iter()
                .find(|f| f.executable)
                .map(|f| dir.join(f.path));
            if let Some(p) = exe {
                let mode = std::fs::metadata(&p)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                assert_eq!(mode & 0o111, 0o111, "{}", p.display());
            }
        }
        // A second demo gets its own directory.
        let again = create(&parent).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(again, dir);
        let _ = std::fs::remove_dir_all(&parent);
    }

    #[test]
    fn unusable_parent_is_an_error_not_a_panic() {
        let file = std::env::temp_dir().join(format!("depriv-demo-file-{}", std::process::id()));
        let _ = std::fs::write(&file, "x");
        assert!(matches!(create(&file), Err(DemoError::Io { .. })));
        let _ = std::fs::remove_file(&file);
    }
}
