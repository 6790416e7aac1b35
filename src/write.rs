//! Safe writing: a migration replaces files all-or-nothing. Before anything is replaced, a
//! journal records every original's bytes and the new hashes (in the VCS metadata, or
//! `.depriv/` outside git). Each file is written to a temporary file in its own directory,
//! fsynced and renamed over the original with its permissions kept; a failure at any step
//! restores every file already replaced. `undo` restores the originals exactly and refuses when
//! a file changed since; an interrupted migration is rolled back on the next run.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Errors of the write stage; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Not inside a git work tree.
    #[error("{0} is not under version control; commit it to git first or pass --allow-no-vcs")]
    NoVcs(String),
    /// Uncommitted changes.
    #[error("the working tree has uncommitted changes ({}); commit or stash them, or pass --allow-dirty", .0.join(", "))]
    Dirty(Vec<String>),
    /// Files changed since they were scanned.
    #[error("{} changed since the scan; nothing was written (run depriv again)", .0.join(", "))]
    Stale(Vec<String>),
    /// A path that is a symlink or leaves the root.
    #[error("{0}: refusing to write through a symbolic link or outside the repository")]
    Unsafe(String),
    /// An I/O error, after which every replaced file was restored.
    #[error("{path}: {source}; every file already written was restored")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Restoring after a failure failed too (the journal keeps the originals).
    #[error("{path}: {source}; restoring failed too — the originals are kept in {journal}")]
    RollbackFailed {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
        /// Journal directory.
        journal: String,
    },
    /// Nothing to undo.
    #[error("nothing to undo: no completed migration is recorded")]
    NothingToUndo,
    /// Files edited since the migration.
    #[error("refusing to undo: {} changed since the migration", .0.join(", "))]
    UndoConflict(Vec<String>),
    /// The journal is unreadable.
    #[error("the migration journal {0} is damaged: {1}")]
    Journal(String, String),
}

/// A step of the write, for fault injection in tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Writing the journal.
    Journal,
    /// Writing a temporary file.
    TempWrite,
    /// fsync of the temporary file.
    Fsync,
    /// Renaming the temporary file over the original.
    Rename,
    /// Marking the journal complete.
    Commit,
}

/// Called before every step; an error simulates that step failing.
pub trait Faults {
    /// Fail `step` on `path`?
    fn before(&self, step: Step, path: &str) -> std::io::Result<()>;
}

/// No faults (production).
pub struct NoFaults;

impl Faults for NoFaults {
    fn before(&self, _: Step, _: &str) -> std::io::Result<()> {
        Ok(())
    }
}

/// One file to replace.
#[derive(Clone, Debug)]
pub struct Replacement {
    /// Root-relative path.
    pub path: String,
    /// Bytes the scan saw (must still be on disk).
    pub before: Vec<u8>,
    /// Bytes to write.
    pub after: Vec<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum State {
    Pending,
    Complete,
    Undone,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct JournalFile {
    path: String,
    before_sha256: String,
    after_sha256: String,
    original: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    id: String,
    state: State,
    files: Vec<JournalFile>,
}

/// What a write or undo did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WriteReport {
    /// Files replaced, with SHA-256 before and after.
    pub files: Vec<(String, String, String)>,
    /// The journal directory.
    pub journal: String,
}

/// SHA-256 hex of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The git directory of the work tree containing `root` (worktrees and submodules have a
/// `.git` file pointing at it).
pub fn git_dir(root: &Path) -> Option<PathBuf> {
    let mut cur = Some(root);
    while let Some(dir) = cur {
        let dotgit = dir.join(".git");
        if dotgit.is_dir() {
            return Some(dotgit);
        }
        if dotgit.is_file() {
            let text = std::fs::read_to_string(&dotgit).ok()?;
            let target = text.strip_prefix("gitdir:")?.trim();
            let p = Path::new(target);
            return Some(if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            });
        }
        cur = dir.parent();
    }
    None
}

/// Refuse a directory outside git, or a dirty work tree (as `cargo fix` does).
pub fn vcs_guard(root: &Path, allow_dirty: bool, allow_no_vcs: bool) -> Result<(), WriteError> {
    if git_dir(root).is_none() {
        return if allow_no_vcs {
            Ok(())
        } else {
            Err(WriteError::NoVcs(root.display().to_string()))
        };
    }
    if allow_dirty {
        return Ok(());
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=no", "--", "."])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let dirty: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.get(3..).map(str::to_string))
                .collect();
            if dirty.is_empty() {
                Ok(())
            } else {
                Err(WriteError::Dirty(dirty))
            }
        }
        // git missing or failing: be safe.
        _ => Err(WriteError::Dirty(vec!["(git status failed)".into()])),
    }
}

fn journal_root(root: &Path) -> PathBuf {
    match git_dir(root) {
        Some(g) => g.join("depriv"),
        None => root.join(".depriv"),
    }
}

/// Resolve a root-relative path, refusing `..`, absolute paths and symlinks on the way.
fn resolve(root: &Path, rel: &str) -> Result<PathBuf, WriteError> {
    let p = Path::new(rel);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(WriteError::Unsafe(rel.to_string()));
    }
    let mut cur = root.to_path_buf();
    for c in p.components() {
        cur.push(c);
        if let Ok(m) = std::fs::symlink_metadata(&cur)
            && m.file_type().is_symlink()
        {
            return Err(WriteError::Unsafe(rel.to_string()));
        }
    }
    Ok(cur)
}

fn io(path: &str) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_string(),
        source,
    }
}

fn write_sync(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn save_manifest(dir: &Path, m: &Manifest) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(m).map_err(std::io::Error::other)?;
    let tmp = dir.join("manifest.json.tmp");
    write_sync(&tmp, &text)?;
    std::fs::rename(&tmp, dir.join("manifest.json"))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn load_manifest(dir: &Path) -> Result<Manifest, WriteError> {
    let text = std::fs::read(dir.join("manifest.json"))
        .map_err(|e| WriteError::Journal(dir.display().to_string(), e.to_string()))?;
    serde_json::from_slice(&text)
        .map_err(|e| WriteError::Journal(dir.display().to_string(), e.to_string()))
}

/// Replace one file atomically (temp file in the same directory, fsync, rename), keeping its
/// permissions.
fn replace_file(
    target: &Path,
    rel: &str,
    bytes: &[u8],
    faults: &dyn Faults,
) -> Result<(), WriteError> {
    let dir = target
        .parent()
        .ok_or_else(|| WriteError::Unsafe(rel.to_string()))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.depriv-{}.tmp", std::process::id()));
    let meta = std::fs::metadata(target).ok();
    let perms = meta.as_ref().map(|m| m.permissions());
    let result = (|| {
        faults.before(Step::TempWrite, rel).map_err(io(rel))?;
        let mut f = std::fs::File::create(&tmp).map_err(io(rel))?;
        f.write_all(bytes).map_err(io(rel))?;
        faults.before(Step::Fsync, rel).map_err(io(rel))?;
        f.sync_all().map_err(io(rel))?;
        drop(f);
        if let Some(p) = perms.clone() {
            std::fs::set_permissions(&tmp, p).map_err(io(rel))?;
        }
        // Keep the owner where we may (root can; others keep their own files anyway).
        #[cfg(unix)]
        if let Some(m) = &meta {
            use std::os::unix::fs::MetadataExt;
            let _ = std::os::unix::fs::chown(&tmp, Some(m.uid()), Some(m.gid()));
        }
        faults.before(Step::Rename, rel).map_err(io(rel))?;
        std::fs::rename(&tmp, target).map_err(io(rel))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write every replacement or none. `root` is the repository root.
pub fn write_all(
    root: &Path,
    files: &[Replacement],
    faults: &dyn Faults,
) -> Result<WriteReport, WriteError> {
    // Resolve and stale-check everything before touching anything.
    let mut targets = Vec::new();
    let mut stale = Vec::new();
    for f in files {
        let t = resolve(root, &f.path)?;
        match std::fs::read(&t) {
            Ok(now) if now == f.before => {}
            _ => stale.push(f.path.clone()),
        }
        targets.push(t);
    }
    if !stale.is_empty() {
        return Err(WriteError::Stale(stale));
    }
    if files.is_empty() {
        return Ok(WriteReport::default());
    }
    // Journal.
    let jroot = journal_root(root);
    let id = journal_id();
    let jdir = jroot.join(&id);
    let mut manifest = Manifest {
        version: 1,
        id: id.clone(),
        state: State::Pending,
        files: Vec::new(),
    };
    let journal = (|| -> std::io::Result<()> {
        faults.before(Step::Journal, "")?;
        std::fs::create_dir_all(&jdir)?;
        for (i, f) in files.iter().enumerate() {
            let original = format!("{i}.orig");
            write_sync(&jdir.join(&original), &f.before)?;
            manifest.files.push(JournalFile {
                path: f.path.clone(),
                before_sha256: sha256(&f.before),
                after_sha256: sha256(&f.after),
                original,
            });
        }
        save_manifest(&jdir, &manifest)
    })();
    if let Err(e) = journal {
        let _ = std::fs::remove_dir_all(&jdir);
        return Err(WriteError::Io {
            path: jdir.display().to_string(),
            source: e,
        });
    }
    // Replace.
    let mut done: Vec<usize> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if let Err(e) = replace_file(&targets[i], &f.path, &f.after, faults) {
            return Err(rollback(&targets, files, &done, &jdir, e, faults));
        }
        done.push(i);
    }
    manifest.state = State::Complete;
    let committed = faults
        .before(Step::Commit, "")
        .and_then(|_| save_manifest(&jdir, &manifest));
    if let Err(e) = committed {
        let err = WriteError::Io {
            path: jdir.join("manifest.json").display().to_string(),
            source: e,
        };
        return Err(rollback(&targets, files, &done, &jdir, err, faults));
    }
    Ok(WriteReport {
        files: files
            .iter()
            .map(|f| (f.path.clone(), sha256(&f.before), sha256(&f.after)))
            .collect(),
        journal: jdir.display().to_string(),
    })
}

fn rollback(
    targets: &[PathBuf],
    files: &[Replacement],
    done: &[usize],
    jdir: &Path,
    err: WriteError,
    _faults: &dyn Faults,
) -> WriteError {
    for &i in done.iter().rev() {
        if let Err(e) = replace_file(&targets[i], &files[i].path, &files[i].before, &NoFaults) {
            let source = match e {
                WriteError::Io { source, .. } => source,
                other => std::io::Error::other(other.to_string()),
            };
            return WriteError::RollbackFailed {
                path: files[i].path.clone(),
                source,
                journal: jdir.display().to_string(),
            };
        }
    }
    let _ = std::fs::remove_dir_all(jdir);
    err
}

fn journal_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{now:032}-{}", std::process::id())
}

fn journals(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(journal_root(root))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The newest finished journal (complete or undone): only the last migration can be undone,
/// and once it is, there is nothing left to undo.
fn latest(root: &Path) -> Option<(PathBuf, Manifest)> {
    journals(root)
        .into_iter()
        .rev()
        .filter_map(|d| load_manifest(&d).ok().map(|m| (d, m)))
        .find(|(_, m)| m.state != State::Pending)
}

/// Restore the bytes the last migration replaced; refuse, naming the files, if any changed
/// since.
pub fn undo(root: &Path) -> Result<WriteReport, WriteError> {
    let Some((dir, mut m)) = latest(root).filter(|(_, m)| m.state == State::Complete) else {
        return Err(WriteError::NothingToUndo);
    };
    let mut conflicts = Vec::new();
    let mut current = Vec::new();
    for f in &m.files {
        let now = std::fs::read(resolve(root, &f.path)?).unwrap_or_default();
        if sha256(&now) != f.after_sha256 {
            conflicts.push(f.path.clone());
        }
        current.push(now);
    }
    if !conflicts.is_empty() {
        return Err(WriteError::UndoConflict(conflicts));
    }
    let restore: Vec<Replacement> = originals(&dir, &m)?
        .into_iter()
        .zip(current)
        .map(|(f, now)| Replacement {
            path: f.path,
            before: now,
            after: f.original,
        })
        .collect();
    // The restore is itself a transaction (with its own journal), so undo is all-or-nothing.
    let report = write_all(root, &restore, &NoFaults)?;
    m.state = State::Undone;
    save_manifest(&dir, &m)
        .map_err(|e| WriteError::Journal(dir.display().to_string(), e.to_string()))?;
    // The undo's own journal is not itself undoable.
    let _ = std::fs::remove_dir_all(&report.journal);
    Ok(WriteReport {
        files: report.files,
        journal: dir.display().to_string(),
    })
}

/// The journal's files with their original bytes, each checked against its recorded hash.
fn originals(dir: &Path, m: &Manifest) -> Result<Vec<RecordedFile>, WriteError> {
    let damaged = |msg: String| WriteError::Journal(dir.display().to_string(), msg);
    m.files
        .iter()
        .map(|f| {
            let original =
                std::fs::read(dir.join(&f.original)).map_err(|e| damaged(e.to_string()))?;
            if sha256(&original) != f.before_sha256 {
                return Err(damaged(format!(
                    "{} does not match its recorded hash",
                    f.original
                )));
            }
            Ok(RecordedFile {
                path: f.path.clone(),
                before_sha256: f.before_sha256.clone(),
                after_sha256: f.after_sha256.clone(),
                original,
            })
        })
        .collect()
}

/// One file of a recorded migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedFile {
    /// Root-relative path.
    pub path: String,
    /// SHA-256 of the bytes before the migration.
    pub before_sha256: String,
    /// SHA-256 of the bytes the migration wrote.
    pub after_sha256: String,
    /// The bytes before the migration (from the journal).
    pub original: Vec<u8>,
}

/// The last completed, not undone migration recorded in the journal (what reports read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedMigration {
    /// Journal id (a timestamp and a process id).
    pub id: String,
    /// Files replaced, in the order they were written.
    pub files: Vec<RecordedFile>,
}

/// The last completed migration (the one `undo` would restore), with the original bytes of
/// every file it replaced; `None` when there is none. A damaged original is an error.
pub fn last_migration(root: &Path) -> Result<Option<RecordedMigration>, WriteError> {
    let Some((dir, m)) = latest(root).filter(|(_, m)| m.state == State::Complete) else {
        return Ok(None);
    };
    let files = originals(&dir, &m)?;
    Ok(Some(RecordedMigration { id: m.id, files }))
}

/// What recovery of an interrupted migration did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Files restored to their original bytes.
    pub restored: Vec<String>,
    /// Files that were neither original nor migrated (left alone, originals kept in the journal).
    pub conflicts: Vec<String>,
}

/// Roll back a migration that was interrupted (a pending journal). Returns `None` when there
/// is nothing to recover.
pub fn recover(root: &Path) -> Result<Option<Recovery>, WriteError> {
    let mut result: Option<Recovery> = None;
    for dir in journals(root) {
        let Ok(m) = load_manifest(&dir) else {
            // A journal without a manifest was never started: nothing was replaced.
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        };
        if m.state != State::Pending {
            continue;
        }
        let mut rec = Recovery::default();
        for f in &m.files {
            let t = resolve(root, &f.path)?;
            let now = std::fs::read(&t).unwrap_or_default();
            let sha = sha256(&now);
            if sha == f.before_sha256 {
                continue;
            }
            if sha == f.after_sha256 {
                let orig = std::fs::read(dir.join(&f.original))
                    .map_err(|e| WriteError::Journal(dir.display().to_string(), e.to_string()))?;
                replace_file(&t, &f.path, &orig, &NoFaults)?;
                rec.restored.push(f.path.clone());
            } else {
                rec.conflicts.push(f.path.clone());
            }
        }
        if rec.conflicts.is_empty() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result = Some(rec);
    }
    // Leftover temporary files of an interrupted write.
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(d.path().join(".git")).expect("git dir");
        for (p, t) in files {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, t).expect("write");
        }
        d
    }

    fn rep(path: &str, before: &str, after: &str) -> Replacement {
        Replacement {
            path: path.into(),
            before: before.as_bytes().to_vec(),
            after: after.as_bytes().to_vec(),
        }
    }

    fn read(d: &Path, p: &str) -> String {
        std::fs::read_to_string(d.join(p)).unwrap_or_default()
    }

    struct FailAt {
        step: Step,
        nth: usize,
        seen: Cell<usize>,
    }

    impl Faults for FailAt {
        fn before(&self, step: Step, _path: &str) -> std::io::Result<()> {
            if step != self.step {
                return Ok(());
            }
            let n = self.seen.get();
            self.seen.set(n + 1);
            if n == self.nth {
                Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "No space left on device",
                ))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn every_fault_leaves_all_old_or_all_new() {
        let steps = [
            Step::Journal,
            Step::TempWrite,
            Step::Fsync,
            Step::Rename,
            Step::Commit,
        ];
        for step in steps {
            for nth in 0..3 {
                let d = repo(&[
                    ("a.yml", "a: 1\r\n"),
                    ("b/c.yml", "c: 1\n"),
                    ("d.toml", "x = 1"),
                ]);
                let files = vec![
                    rep("a.yml", "a: 1\r\n", "a: 2\r\n"),
                    rep("b/c.yml", "c: 1\n", "c: 2\n"),
                    rep("d.toml", "x = 1", "x = 2"),
                ];
                let f = FailAt {
                    step,
                    nth,
                    seen: Cell::new(0),
                };
                let r = write_all(d.path(), &files, &f);
                let state: Vec<String> = ["a.yml", "b/c.yml", "d.toml"]
                    .iter()
                    .map(|p| read(d.path(), p))
                    .collect();
                let old = vec!["a: 1\r\n", "c: 1\n", "x = 1"];
                let new = vec!["a: 2\r\n", "c: 2\n", "x = 2"];
                if r.is_ok() {
                    assert_eq!(state, new, "{step:?}#{nth}");
                    undo(d.path()).expect("undo");
                    let back: Vec<String> = ["a.yml", "b/c.yml", "d.toml"]
                        .iter()
                        .map(|p| read(d.path(), p))
                        .collect();
                    assert_eq!(back, old);
                } else {
                    assert_eq!(state, old, "{step:?}#{nth}: {r:?}");
                }
                // No temporary files left behind.
                for e in std::fs::read_dir(d.path()).expect("ls").flatten() {
                    assert!(
                        !e.file_name().to_string_lossy().contains("depriv-"),
                        "{step:?}#{nth} left {:?}",
                        e.file_name()
                    );
                }
            }
        }
    }

    #[test]
    fn stale_symlink_and_missing_parent_are_refused() {
        let d = repo(&[("a.yml", "a: 1\n"), ("b.yml", "b: 1\n")]);
        let err = write_all(
            d.path(),
            &[
                rep("a.yml", "a: 1\n", "a: 2\n"),
                rep("b.yml", "b: 0\n", "b: 2\n"),
            ],
            &NoFaults,
        );
        assert!(
            matches!(err, Err(WriteError::Stale(ref v)) if v == &vec!["b.yml".to_string()]),
            "{err:?}"
        );
        assert_eq!(read(d.path(), "a.yml"), "a: 1\n");
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(outside.path().join("x.yml"), "a: 1\n").expect("write");
        std::fs::remove_file(d.path().join("a.yml")).expect("rm");
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("x.yml"), d.path().join("a.yml"))
            .expect("symlink");
        let err = write_all(d.path(), &[rep("a.yml", "a: 1\n", "a: 2\n")], &NoFaults);
        assert!(matches!(err, Err(WriteError::Unsafe(_))), "{err:?}");
        assert_eq!(read(outside.path(), "x.yml"), "a: 1\n");
        let err = write_all(d.path(), &[rep("gone/x.yml", "a\n", "b\n")], &NoFaults);
        assert!(matches!(err, Err(WriteError::Stale(_))), "{err:?}");
        assert!(matches!(
            write_all(d.path(), &[rep("../x.yml", "", "")], &NoFaults),
            Err(WriteError::Unsafe(_))
        ));
    }

    #[test]
    fn permissions_are_kept_and_undo_refuses_after_edits() {
        let d = repo(&[("run.sh", "docker run --privileged x\n")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                d.path().join("run.sh"),
                std::fs::Permissions::from_mode(0o555),
            )
            .expect("chmod");
        }
        write_all(
            d.path(),
            &[rep(
                "run.sh",
                "docker run --privileged x\n",
                "docker run x\n",
            )],
            &NoFaults,
        )
        .expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("run.sh"))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o555);
            std::fs::set_permissions(
                d.path().join("run.sh"),
                std::fs::Permissions::from_mode(0o755),
            )
            .expect("chmod");
        }
        std::fs::write(d.path().join("run.sh"), "edited\n").expect("edit");
        assert!(
            matches!(undo(d.path()), Err(WriteError::UndoConflict(ref v)) if v == &vec!["run.sh".to_string()])
        );
        assert_eq!(read(d.path(), "run.sh"), "edited\n");
    }

    #[test]
    fn interrupted_migration_is_rolled_back() {
        let d = repo(&[("a.yml", "a: 1\n"), ("b.yml", "b: 1\n")]);
        // Simulate a crash after the first rename: journal pending, a.yml new, b.yml old.
        let jdir = journal_root(d.path()).join("00000000000000000000000000000001-1");
        std::fs::create_dir_all(&jdir).expect("mkdir");
        std::fs::write(jdir.join("0.orig"), "a: 1\n").expect("w");
        std::fs::write(jdir.join("1.orig"), "b: 1\n").expect("w");
        let m = Manifest {
            version: 1,
            id: "x".into(),
            state: State::Pending,
            files: vec![
                JournalFile {
                    path: "a.yml".into(),
                    before_sha256: sha256(b"a: 1\n"),
                    after_sha256: sha256(b"a: 2\n"),
                    original: "0.orig".into(),
                },
                JournalFile {
                    path: "b.yml".into(),
                    before_sha256: sha256(b"b: 1\n"),
                    after_sha256: sha256(b"b: 2\n"),
                    original: "1.orig".into(),
                },
            ],
        };
        save_manifest(&jdir, &m).expect("manifest");
        std::fs::write(d.path().join("a.yml"), "a: 2\n").expect("w");
        let r = recover(d.path()).expect("recover");
        assert_eq!(
            r,
            Some(Recovery {
                restored: vec!["a.yml".into()],
                conflicts: vec![]
            })
        );
        assert_eq!(read(d.path(), "a.yml"), "a: 1\n");
        assert_eq!(recover(d.path()).expect("again"), None);
        assert!(matches!(undo(d.path()), Err(WriteError::NothingToUndo)));
    }

    #[test]
    fn last_migration_reads_the_journal_and_skips_undone() {
        let d = repo(&[("a.yml", "a: 1\n")]);
        assert_eq!(last_migration(d.path()).expect("none"), None);
        write_all(d.path(), &[rep("a.yml", "a: 1\n", "a: 2\n")], &NoFaults).expect("write");
        let m = last_migration(d.path()).expect("read").expect("some");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].original, b"a: 1\n");
        assert_eq!(m.files[0].after_sha256, sha256(b"a: 2\n"));
        undo(d.path()).expect("undo");
        assert_eq!(last_migration(d.path()).expect("after undo"), None);
    }

    #[test]
    fn vcs_guard_detects_git_and_worktrees() {
        let d = tempfile::tempdir().expect("tmp");
        assert!(matches!(
            vcs_guard(d.path(), false, false),
            Err(WriteError::NoVcs(_))
        ));
        assert!(vcs_guard(d.path(), false, true).is_ok());
        std::fs::write(
            d.path().join(".git"),
            "gitdir: ../elsewhere/.git/worktrees/x\n",
        )
        .expect("w");
        assert_eq!(
            git_dir(d.path()),
            Some(d.path().join("../elsewhere/.git/worktrees/x"))
        );
    }
}
