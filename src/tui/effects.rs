//! Runs effects: every disk access of the UI. A worker thread owns the [`Session`] and runs
//! one effect at a time, sending the result back as a [`Msg`]; the loop never blocks on it.
//! The scan reports progress (files discovered, files read) and stops early when cancelled.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use crate::migrate::Strategy;
use crate::report::migration::{self, ReportFormat};
use crate::scan;
use crate::session::{ScanObserver, Session};
use crate::write::{self, NoFaults, WriteError};

use super::envfile;
use super::msg::{Effect, Msg, Output, WriteFailure};
use super::vocab::Guard;

/// Where the report is written (root-relative; `depriv-report.md` is the name
/// `--accept-defaults` uses).
pub fn report_file(format: ReportFormat) -> &'static str {
    match format {
        ReportFormat::Md => "depriv-report.md",
        ReportFormat::Html => "depriv-report.html",
        ReportFormat::Json => "depriv-report.json",
        ReportFormat::Sarif => "depriv-report.sarif",
    }
}
/// Where the plan is saved (root-relative).
pub const PLAN_FILE: &str = "depriv-plan.json";

/// The worker and its channels.
pub struct Runtime {
    effects: Sender<Effect>,
    msgs: Receiver<Msg>,
    cancel: Arc<AtomicBool>,
}

impl Runtime {
    /// Start the worker with the session.
    pub fn start(session: Session) -> std::io::Result<Runtime> {
        let (etx, erx) = channel::<Effect>();
        let (mtx, mrx) = channel::<Msg>();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        std::thread::Builder::new()
            .name("depriv-ui-worker".into())
            .spawn(move || {
                let mut session = session;
                let send = |m: Msg| {
                    let _ = mtx.send(m);
                };
                for e in erx {
                    execute(&mut session, e, &send, &flag);
                }
            })?;
        Ok(Runtime {
            effects: etx,
            msgs: mrx,
            cancel,
        })
    }

    /// Run an effect (cancelling happens at once; the rest goes to the worker).
    pub fn run(&self, e: Effect) {
        match e {
            Effect::CancelScan => self.cancel.store(true, Ordering::Relaxed),
            other => {
                let _ = self.effects.send(other);
            }
        }
    }

    /// A result, if one is ready.
    pub fn try_recv(&self) -> Option<Msg> {
        self.msgs.try_recv().ok()
    }
}

/// Forwards scan progress to the UI and reads the cancel flag.
struct Progress<'a> {
    send: Mutex<&'a (dyn Fn(Msg) + Sync)>,
    cancel: &'a AtomicBool,
}

impl ScanObserver for Progress<'_> {
    fn discovered(&self, files: usize) {
        if let Ok(send) = self.send.lock() {
            send(Msg::Discovered(files));
        }
    }
    fn read(&self, files: usize) {
        if files.is_multiple_of(16)
            && let Ok(send) = self.send.lock()
        {
            send(Msg::Progress(files));
        }
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Scan the session's repository with progress and cancellation.
pub fn scan_with_progress(
    session: &Session,
    send: &(dyn Fn(Msg) + Sync),
    cancel: &AtomicBool,
) -> scan::ScanResult {
    session.scan_observed(&Progress {
        send: Mutex::new(send),
        cancel,
    })
}

fn failure(e: WriteError) -> WriteFailure {
    // The guard's own advice names command-line flags; the UI offers `!` instead (the
    // confirmation screen says so), so name only the reason here.
    let (guard, message) = match &e {
        WriteError::Dirty(files) => (
            Some(Guard::Dirty),
            format!(
                "the working tree has uncommitted changes ({})",
                files.join(", ")
            ),
        ),
        WriteError::NoVcs(dir) => (
            Some(Guard::NoVcs),
            format!("{dir} is not under version control"),
        ),
        _ => (None, e.to_string()),
    };
    WriteFailure { message, guard }
}

/// Write a root-relative output file, refusing to follow a symbolic link.
fn write_output(root: &Path, name: &str, text: &str) -> Result<String, String> {
    let path = root.join(name);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!("{name} is a symbolic link; not written"));
    }
    std::fs::write(&path, text)
        .map(|()| name.to_string())
        .map_err(|e| format!("cannot write {name}: {e}"))
}

/// Run one effect against the session; results go to `send`.
pub fn execute(session: &mut Session, e: Effect, send: &(dyn Fn(Msg) + Sync), cancel: &AtomicBool) {
    let root = session.root().to_path_buf();
    match e {
        Effect::Scan => {
            cancel.store(false, Ordering::Relaxed);
            let r = scan_with_progress(session, send, cancel);
            if !cancel.load(Ordering::Relaxed) {
                send(Msg::Scanned(Arc::new(r)));
            }
        }
        Effect::CancelScan => cancel.store(true, Ordering::Relaxed),
        Effect::Plan { env, scan } => {
            session.config_mut().environment = env;
            let plan = session.plan(&scan, Strategy::Auto);
            send(Msg::Planned(Box::new(plan)));
        }
        Effect::Preview { plan, scan } => {
            let p = session.preview(&plan, &scan);
            let tasks = migration::for_migrate(session, &p, false)
                .summary
                .manual_tasks;
            send(Msg::ManualTasks(tasks));
            send(Msg::previewed(p));
        }
        Effect::Write {
            files,
            allow_dirty,
            allow_no_vcs,
        } => {
            let r = (|| {
                if let Some(rec) = write::recover(&root).map_err(failure)?
                    && !rec.conflicts.is_empty()
                {
                    return Err(WriteFailure {
                        message: format!(
                            "an interrupted migration left {} changed by hand since; resolve them (the originals are kept in the journal)",
                            rec.conflicts.join(", ")
                        ),
                        guard: None,
                    });
                }
                write::vcs_guard(&root, allow_dirty, allow_no_vcs).map_err(failure)?;
                write::write_all(&root, &files, &NoFaults).map_err(failure)
            })();
            send(Msg::Written(r));
        }
        Effect::SaveConfig(env) => {
            let r = envfile::save(&root, &env).map_err(|e| e.to_string());
            if r.is_ok() {
                session.config_mut().environment = env;
            }
            send(Msg::Saved(Output::Config, r));
        }
        Effect::WriteReport {
            preview,
            written,
            format,
        } => {
            let report = migration::for_migrate(session, &preview, written);
            let text = format.render(&report);
            send(Msg::Saved(
                Output::Report,
                write_output(&root, report_file(format), &text),
            ));
        }
        Effect::SavePlan(plan) => {
            let r = serde_json::to_string_pretty(&plan)
                .map_err(|e| e.to_string())
                .and_then(|mut t| {
                    t.push('\n');
                    write_output(&root, PLAN_FILE, &t)
                });
            send(Msg::Saved(Output::Plan, r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;

    fn repo(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("depriv-effects-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = [
            (
                ".gitlab-ci.yml",
                "build:\n  image: docker:29\n  services: [docker:29-dind]\n  script: docker build -t x .\n",
            ),
            (
                "docker-compose.yml",
                "services:\n  app:\n    image: x\n    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n",
            ),
            ("scripts/run.sh", "docker run --privileged docker:dind\n"),
        ];
        for (p, t) in files {
            let path = dir.join(p);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(path, t);
        }
        dir
    }

    fn collect(session: &mut Session, e: Effect) -> Vec<Msg> {
        let out = Mutex::new(Vec::new());
        let send = |m: Msg| {
            if let Ok(mut v) = out.lock() {
                v.push(m);
            }
        };
        execute(session, e, &send, &AtomicBool::new(false));
        out.into_inner().unwrap_or_default()
    }

    #[test]
    fn scan_with_progress_equals_session_scan() {
        let dir = repo("scan");
        let Ok(mut s) = Session::open(&dir) else {
            panic!("open");
        };
        let msgs = collect(&mut s, Effect::Scan);
        assert!(matches!(msgs.first(), Some(Msg::Discovered(3))), "{msgs:?}");
        let Some(Msg::Scanned(mine)) = msgs.last() else {
            panic!("no scan result: {msgs:?}");
        };
        let theirs = s.scan();
        let fp = |r: &scan::ScanResult| -> Vec<String> {
            r.findings.iter().map(|f| f.fingerprint.clone()).collect()
        };
        assert!(!mine.findings.is_empty());
        assert_eq!(fp(mine), fp(&theirs));
        assert_eq!(mine.files_scanned, theirs.files_scanned);
        assert_eq!(mine.pipelines.len(), theirs.pipelines.len());
        assert_eq!(mine.root, theirs.root);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cancelled_scan_sends_no_result() {
        let dir = repo("cancel");
        let Ok(mut s) = Session::open(&dir) else {
            panic!("open");
        };
        let out = Mutex::new(Vec::new());
        let send = |m: Msg| {
            if let Ok(mut v) = out.lock() {
                v.push(m);
            }
        };
        let cancel = AtomicBool::new(true);
        let r = scan_with_progress(&s, &send, &cancel);
        assert!(r.findings.is_empty(), "a cancelled scan reads nothing");
        execute(&mut s, Effect::CancelScan, &send, &cancel);
        assert!(cancel.load(Ordering::Relaxed));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn plan_preview_and_outputs() {
        let dir = repo("plan");
        let Ok(mut s) = Session::open(&dir) else {
            panic!("open");
        };
        let scan = Arc::new(s.scan());
        let env = Environment {
            runner_hosts: crate::config::RunnerHosts::Managed,
            ..Environment::default()
        };
        let msgs = collect(
            &mut s,
            Effect::Plan {
                env: env.clone(),
                scan: Arc::clone(&scan),
            },
        );
        let Some(Msg::Planned(plan)) = msgs.into_iter().next() else {
            panic!("no plan");
        };
        assert_eq!(plan.environment, env);
        assert_eq!(s.config().environment, env);
        let msgs = collect(
            &mut s,
            Effect::Preview {
                plan: plan.clone(),
                scan,
            },
        );
        let mut msgs = msgs.into_iter();
        assert!(
            matches!(msgs.next(), Some(Msg::ManualTasks(_))),
            "the report's task count comes first"
        );
        let Some(Msg::Previewed(preview, docs)) = msgs.next() else {
            panic!("no preview");
        };
        assert_eq!(preview.results.len(), plan.pipelines.len());
        assert_eq!(docs.len(), preview.changes.len());
        for format in [
            ReportFormat::Md,
            ReportFormat::Html,
            ReportFormat::Json,
            ReportFormat::Sarif,
        ] {
            let msgs = collect(
                &mut s,
                Effect::WriteReport {
                    preview: Arc::clone(&preview),
                    written: false,
                    format,
                },
            );
            let name = report_file(format);
            assert!(
                matches!(msgs.first(), Some(Msg::Saved(Output::Report, Ok(p))) if p == name),
                "{msgs:?}"
            );
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            assert!(!text.is_empty(), "{name}");
        }
        let md = std::fs::read_to_string(dir.join("depriv-report.md")).unwrap_or_default();
        assert!(md.starts_with("# depriv"), "{md}");
        let msgs = collect(&mut s, Effect::SavePlan(plan.to_file()));
        assert!(matches!(
            msgs.first(),
            Some(Msg::Saved(Output::Plan, Ok(_)))
        ));
        let text = std::fs::read_to_string(dir.join(PLAN_FILE)).unwrap_or_default();
        let back: Result<crate::plan::PlanFile, _> = serde_json::from_str(&text);
        assert_eq!(back.ok(), Some(plan.to_file()));
        let msgs = collect(&mut s, Effect::SaveConfig(env.clone()));
        assert!(matches!(
            msgs.first(),
            Some(Msg::Saved(Output::Config, Ok(_)))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_outside_git_is_refused_by_the_guard_and_can_be_forced() {
        let dir = repo("write");
        let Ok(mut s) = Session::open(&dir) else {
            panic!("open");
        };
        // Outside any git work tree (temp dirs normally are).
        if write::git_dir(&dir).is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let files = vec![write::Replacement {
            path: "scripts/run.sh".into(),
            before: b"docker run --privileged docker:dind\n".to_vec(),
            after: b"echo changed\n".to_vec(),
        }];
        let msgs = collect(
            &mut s,
            Effect::Write {
                files: files.clone(),
                allow_dirty: false,
                allow_no_vcs: false,
            },
        );
        match msgs.first() {
            Some(Msg::Written(Err(f))) => {
                assert_eq!(f.guard, Some(Guard::NoVcs));
                // The UI has no flags: its message names none (the screen offers `!`).
                assert!(!f.message.contains("--allow"), "{}", f.message);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let msgs = collect(
            &mut s,
            Effect::Write {
                files,
                allow_dirty: false,
                allow_no_vcs: true,
            },
        );
        assert!(matches!(msgs.first(), Some(Msg::Written(Ok(r))) if r.files.len() == 1));
        assert_eq!(
            std::fs::read_to_string(dir.join("scripts/run.sh")).unwrap_or_default(),
            "echo changed\n"
        );
        // A stale file names itself.
        let msgs = collect(
            &mut s,
            Effect::Write {
                files: vec![write::Replacement {
                    path: "scripts/run.sh".into(),
                    before: b"something else\n".to_vec(),
                    after: b"x\n".to_vec(),
                }],
                allow_dirty: true,
                allow_no_vcs: true,
            },
        );
        match msgs.first() {
            Some(Msg::Written(Err(f))) => {
                assert!(f.message.contains("scripts/run.sh"), "{}", f.message);
                assert_eq!(f.guard, None);
            }
            other => panic!("expected a stale refusal, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn outputs_refuse_symlinks() {
        let dir = repo("link");
        #[cfg(unix)]
        {
            let name = report_file(ReportFormat::Md);
            let _ = std::os::unix::fs::symlink("/dev/null", dir.join(name));
            assert!(write_output(&dir, name, "x").is_err());
        }
        assert_eq!(
            write_output(&dir, PLAN_FILE, "{}\n").ok().as_deref(),
            Some(PLAN_FILE)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
