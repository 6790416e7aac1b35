//! The interactive UI end to end, in a real terminal: the built binary runs under tmux
//! (`send-keys`, `capture-pane`) on copies of the demo repository made by `depriv demo`. One
//! test chooses targets, views the diff, writes, saves the plan, replays it with
//! `migrate --plan` on another copy and undoes the write; the other presses only Enter and
//! compares the result with `depriv --accept-defaults`. tmux missing: skipped, unless CI=true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_depriv");

fn tmux_available() -> bool {
    let ok = crate::support::tmux();
    if !ok {
        if crate::support::ci() {
            panic!("tmux is required for the UI end-to-end tests under CI (.ci/run installs it)");
        }
        eprintln!("skipped: tmux is not installed; the UI end-to-end test did not run");
    }
    ok
}

/// A new demo repository under `parent` (via `depriv demo` without a terminal).
fn demo_copy(parent: &Path) -> PathBuf {
    let out = Command::new(BIN)
        .arg("demo")
        .env("TMPDIR", parent)
        .env_remove("NO_COLOR")
        .output()
        .expect("run depriv demo");
    let text = String::from_utf8_lossy(&out.stdout);
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("Demo repository: "))
        .unwrap_or_else(|| panic!("no demo path in: {text}"));
    let path = PathBuf::from(path.trim());
    assert!(path.join(".git").is_dir(), "{}", path.display());
    path
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A tmux server of our own running one command; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(tag: &str, cwd: &Path, args: &[&str]) -> Tmux {
        let socket = format!("depriv-test-{tag}-{}", std::process::id());
        let cmd = format!(
            "{} {}; echo EXIT=$?; sleep 600",
            quote(BIN),
            args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "main", "-x", "100", "-y", "30", "-c"])
            .arg(cwd)
            .args(["sh", "-c", &cmd])
            .env_remove("NO_COLOR")
            .status()
            .expect("start tmux");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "main", k])
                .status()
                .expect("send-keys");
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen shows `text`; fail with the screen after 30 s.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if screen.contains(text) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!("timed out waiting for {text:?}; the screen is:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Every file of a tree except `.git` and the named outputs, as path → bytes.
fn tree(root: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            if rel == ".git" || skip.contains(&rel.as_str()) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// `Pipelines k/N` on the target picker.
fn pipelines_pos(screen: &str) -> Option<(usize, usize)> {
    let rest = screen.split("Pipelines ").nth(1)?;
    let (k, rest) = rest.split_once('/')?;
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((k.trim().parse().ok()?, n.parse().ok()?))
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("run depriv")
}

#[test]
fn choose_targets_view_the_diff_write_replay_and_undo() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let a = demo_copy(tmp.path());
    let replay = demo_copy(tmp.path());
    let pristine = tree(&a, &[]);
    let t = Tmux::start("choose", &a, &["."]);

    // Overview; a finding's details; a filter and back.
    t.wait_for("Showing: all active findings");
    t.keys(&["d"]);
    t.wait_for("Pipeline and rule");
    t.keys(&["Escape", "s"]);
    t.wait_for("severity ≥ low");
    t.keys(&["Escape"]);
    t.wait_for("Showing: all active findings");
    // Environment: keep the answers.
    t.keys(&["Enter"]);
    t.wait_for("Where do the runners run?");
    t.keys(&["Enter"]);
    let screen = t.wait_for("Target for");
    let (_, n) = pipelines_pos(&screen).expect("pipeline counter");
    assert!(n >= 3, "the demo has many pipelines:\n{screen}");
    // Skip the first pipeline, leave the second to a person, take the rest as recommended.
    t.keys(&["s"]);
    t.wait_for(&format!("Pipelines 2/{n}"));
    t.keys(&["m"]);
    t.wait_for(&format!("Pipelines 3/{n}"));
    for k in 3..=n {
        t.wait_for(&format!("Pipelines {k}/{n}"));
        t.keys(&["Enter"]);
    }
    // The diff viewer: side by side, next hunk, next file.
    let screen = t.wait_for("would change");
    let changes = !screen.contains("0 files would change");
    if changes {
        t.wait_for("unified");
        t.keys(&["v"]);
        t.wait_for("side by side");
        t.keys(&["n", "Tab", "v"]);
        t.wait_for("unified");
    }
    t.keys(&["Enter"]);
    t.wait_for("Confirm and write");
    t.keys(&["Enter"]);
    t.wait_for("What changed, what is left");
    // Save the plan, then write the Markdown report, then quit.
    t.keys(&["Down", "Down", "Down", "Down", "Enter"]);
    t.wait_for("Plan saved to depriv-plan.json; replay it with: depriv migrate --plan");
    t.keys(&["Home", "Up", "Up", "Up", "Up", "Up", "Enter"]);
    t.wait_for("✓ written");
    t.keys(&["Enter"]);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("Report: "), "{screen}");
    assert!(a.join("depriv-report.md").is_file());
    let plan = a.join("depriv-plan.json");
    let plan_text = std::fs::read_to_string(&plan).expect("plan saved");
    assert!(plan_text.contains("\"skip\""), "{plan_text}");
    assert!(plan_text.contains("\"manual\""), "{plan_text}");

    // What the UI wrote is what `migrate --plan` writes for the same plan.
    let out = run(
        &replay,
        &["migrate", ".", "--plan", &plan.to_string_lossy()],
    );
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs = ["depriv-report.md", "depriv-plan.json"];
    let written = tree(&a, &outputs);
    assert_eq!(written, tree(&replay, &outputs));
    if changes {
        assert_ne!(written, pristine, "the UI wrote the migration");
        let out = run(&a, &["undo", "."]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(tree(&a, &outputs), pristine, "undo restores every byte");
    } else {
        assert_eq!(written, pristine);
    }
}

#[test]
fn pressing_only_enter_equals_accept_defaults() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let ui = demo_copy(tmp.path());
    let cli = demo_copy(tmp.path());
    let t = Tmux::start("enter", &ui, &["."]);
    t.wait_for("Showing: all active findings");
    let start = Instant::now();
    let mut screen = t.capture();
    while !screen.contains("EXIT=") {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "Enter never finished the flow; the screen is:\n{screen}"
        );
        t.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(150));
        screen = t.capture();
    }
    assert!(screen.contains("EXIT="), "{screen}");
    let out = run(&cli, &["--accept-defaults", "."]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Same files, byte for byte; both wrote a report (its text names the directory).
    let report = ["depriv-report.md"];
    assert_eq!(tree(&ui, &report), tree(&cli, &report));
    assert!(ui.join("depriv-report.md").is_file());
    assert!(cli.join("depriv-report.md").is_file());
}

#[test]
fn not_a_terminal_prints_the_summary() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = demo_copy(tmp.path());
    let out = run(&a, &["."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Next:"), "{text}");
}

/// The diff viewer's text, file after file, is exactly what `migrate --dry-run` prints.
#[test]
fn the_diff_viewer_shows_what_dry_run_prints() {
    use depriv::tui::model::Model;
    use depriv::tui::msg::Msg;
    use depriv::tui::update::update;
    use std::sync::Arc;

    let tmp = tempfile::tempdir().expect("tmp");
    let repo = demo_copy(tmp.path());
    let session = depriv::session::Session::open(&repo).expect("open");
    let scan = session.scan();
    let plan = session.plan(&scan, depriv::migrate::Strategy::Auto);
    let preview = session.preview(&plan, &scan);
    let mut m = Model::new(".", session.config().environment.clone(), true);
    update(&mut m, Msg::Scanned(Arc::new(scan)));
    update(&mut m, Msg::Planned(Box::new(plan)));
    update(&mut m, Msg::previewed(preview));
    let shown: String = m
        .diff
        .files
        .iter()
        .flat_map(|f| f.doc.lines.iter().map(|l| format!("{}\n", l.text)))
        .collect();
    let out = run(&repo, &["migrate", ".", "--dry-run", "--color", "never"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.starts_with(&shown),
        "the viewer shows:\n{shown}\n---\ndry-run prints:\n{printed}"
    );
    if !m.diff.files.is_empty() {
        assert!(shown.contains("@@ "), "{shown}");
    }
}

/// `depriv demo` on a terminal with the fast path: Enter, Enter, `r` (the recommended target
/// for every pipeline), Enter to confirm, Enter to write, `q`. The walk-through ends in exit
/// 0 (the demo keeps detect-only findings on purpose) and names the undo command.
#[test]
fn demo_fast_path_ends_in_exit_zero() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = Tmux::start("demo", tmp.path(), &["demo"]);
    t.wait_for("Showing: all active findings");
    t.keys(&["Enter"]);
    t.wait_for("Where do the runners run?");
    t.keys(&["Enter"]);
    let screen = t.wait_for("r rest ★");
    assert!(screen.contains("★ recommended"), "{screen}");
    t.keys(&["r"]);
    t.wait_for("would change");
    t.keys(&["Enter"]);
    t.wait_for("Confirm and write");
    t.keys(&["Enter"]);
    t.wait_for("What changed, what is left");
    t.keys(&["q"]);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("Undo with: depriv undo "), "{screen}");
    // Remove the demo repository it made.
    if let Some(dir) = screen
        .lines()
        .find_map(|l| l.strip_prefix("The demo repository is "))
        .and_then(|l| l.split(" (delete").next())
        && dir.contains("depriv-demo-")
    {
        let _ = std::fs::remove_dir_all(dir.trim());
    }
}
