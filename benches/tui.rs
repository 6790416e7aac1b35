//! UI speed on a synthetic repository with 10,000 findings: the first frame after the scan
//! (budget 100 ms) and key press → frame rendered, `update` + `view` on a test terminal
//! (budget 16 ms median, 50 ms p99), over the overview, detail, filters and search, the target
//! picker and a 5,000-line diff. Prints the figures; exits 1 when a budget is exceeded.
//! Run with `cargo bench --bench tui`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use depriv::config::{Config, Environment};
use depriv::migrate::{self, FileChange, Preview, Strategy};
use depriv::tui::model::Model;
use depriv::tui::msg::Msg;
use depriv::tui::update::update;
use depriv::tui::view::view;
use depriv::tui::vocab::Action;
use depriv::tui::vocab::Input;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 120;
const H: u16 = 40;

/// 200 compose files × 25 services × 2 findings (privileged, Docker socket) = 10,000.
fn synthetic_scan() -> depriv::scan::ScanResult {
    let mut files = BTreeMap::new();
    for f in 0..200 {
        let mut text = String::from("services:\n");
        for s in 0..25 {
            text.push_str(&format!(
                "  svc{s}:\n    image: registry.example/team{f}/svc{s}:1.0\n    privileged: true\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n"
            ));
        }
        files.insert(format!("stack{f:03}/docker-compose.yml"), text);
    }
    depriv::scan::scan_memory(files, &Config::default())
}

fn frame(term: &mut Terminal<TestBackend>, m: &mut Model, msg: Msg) -> Duration {
    let start = Instant::now();
    let _ = update(m, msg);
    let _ = term.draw(|f| view(m, f));
    start.elapsed()
}

/// A key press: its message, then the frame; the time is recorded.
fn press(term: &mut Terminal<TestBackend>, keys: &mut Vec<Duration>, m: &mut Model, msg: Msg) {
    keys.push(frame(term, m, msg));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    let scan = Arc::new(synthetic_scan());
    let findings = scan.findings.len();
    let Ok(mut term) = Terminal::new(TestBackend::new(W, H));
    let mut m = Model::new("bench", Environment::default(), false);
    m.size = (W, H);
    let _ = term.draw(|f| view(&m, f));

    let first = frame(&mut term, &mut m, Msg::Scanned(Arc::clone(&scan)));

    let mut keys: Vec<Duration> = Vec::new();
    let t = &mut term;
    let k = &mut keys;
    // Overview: moving, paging, the findings pane, details, filters, search.
    for _ in 0..300 {
        press(t, k, &mut m, Msg::Action(Action::Down));
    }
    for _ in 0..20 {
        press(t, k, &mut m, Msg::Action(Action::PageDown));
    }
    press(t, k, &mut m, Msg::Action(Action::Bottom));
    press(t, k, &mut m, Msg::Action(Action::Top));
    press(t, k, &mut m, Msg::Action(Action::NextPane));
    press(t, k, &mut m, Msg::Action(Action::Down));
    for _ in 0..20 {
        press(t, k, &mut m, Msg::Action(Action::Detail));
        press(t, k, &mut m, Msg::Action(Action::Down));
        press(t, k, &mut m, Msg::Action(Action::Back));
    }
    for _ in 0..5 {
        press(t, k, &mut m, Msg::Action(Action::CycleSeverity));
        press(t, k, &mut m, Msg::Action(Action::ToggleSuppressed));
        press(t, k, &mut m, Msg::Action(Action::CycleRule));
    }
    press(t, k, &mut m, Msg::Action(Action::ClearFilter));
    press(t, k, &mut m, Msg::Action(Action::Search));
    for c in "stack1".chars() {
        press(t, k, &mut m, Msg::Input(Input::Char(c)));
    }
    for _ in 0..6 {
        press(t, k, &mut m, Msg::Input(Input::Backspace));
    }
    press(t, k, &mut m, Msg::Input(Input::Submit));
    // Target picker over every pipeline.
    press(t, k, &mut m, Msg::Action(Action::Forward));
    let plan = migrate::plan(&scan, &Environment::default(), Strategy::Auto);
    let pipelines = plan.pipelines.len();
    press(t, k, &mut m, Msg::Planned(Box::new(plan)));
    for _ in 0..200 {
        press(t, k, &mut m, Msg::Action(Action::Down));
        press(t, k, &mut m, Msg::Action(Action::NextPane));
    }
    // A 5,000-line file, every line changed: scrolling, hunks, both modes.
    let before: String = (0..5000).map(|i| format!("key{i}: value {i}\n")).collect();
    let after = before.replace(": value", ": other");
    let change = FileChange {
        path: "big.yml".into(),
        before: Arc::from(before.as_str()),
        after,
        edits: Vec::new(),
        added: 5000,
        removed: 5000,
    };
    let preview = Preview {
        changes: vec![change],
        results: Vec::new(),
        remaining: Vec::new(),
    };
    let start = Instant::now();
    let msg = Msg::previewed(preview);
    let diff_worker = start.elapsed();
    let diff_ready = frame(t, &mut m, msg);
    for _ in 0..300 {
        press(t, k, &mut m, Msg::Action(Action::Down));
    }
    for _ in 0..30 {
        press(t, k, &mut m, Msg::Action(Action::PageDown));
    }
    press(t, k, &mut m, Msg::Action(Action::ToggleMode));
    for _ in 0..200 {
        press(t, k, &mut m, Msg::Action(Action::PageUp));
        press(t, k, &mut m, Msg::Wheel(3));
    }
    press(t, k, &mut m, Msg::Action(Action::Bottom));
    press(t, k, &mut m, Msg::Action(Action::NextHunk));

    keys.sort();
    let median = percentile(&keys, 0.5);
    let p99 = percentile(&keys, 0.99);
    let max = keys.last().copied().unwrap_or_default();
    println!("synthetic repository: {findings} findings, {pipelines} pipelines; terminal {W}x{H}");
    println!(
        "first frame after the scan: {:.2} ms (budget 100 ms)",
        ms(first)
    );
    println!(
        "key press -> frame, {} presses: median {:.3} ms (budget 16), p99 {:.3} ms (budget 50), max {:.3} ms",
        keys.len(),
        ms(median),
        ms(p99),
        ms(max)
    );
    println!(
        "5,000-line file, every line changed: diffed on the worker in {:.2} ms, first diff frame {:.2} ms",
        ms(diff_worker),
        ms(diff_ready)
    );
    let ok = findings >= 10_000
        && first <= Duration::from_millis(100)
        && median <= Duration::from_millis(16)
        && p99 <= Duration::from_millis(50);
    println!("{}", if ok { "within budget" } else { "OVER BUDGET" });
    if !ok {
        std::process::exit(1);
    }
}
