//! Randomized key sequences over the demo: 10,000 seeded events (keys from the key table,
//! typed characters, resizes down to 1×1, mouse wheel, ticks) drive `update` through every
//! screen while effects complete late, as on the worker thread. After every event the model's
//! invariants must hold (cursors in range, every screen has the data it shows) and `view` must
//! draw the frame without a panic. Disk effects run for real on a copy of the demo.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use depriv::session::Session;
use depriv::tui::keys::{self, Key};
use depriv::tui::model::{self, Model, Screen};
use depriv::tui::msg::{Effect, Msg};
use depriv::tui::update::update;
use depriv::tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SEED: u64 = 0x7e57_c0de_2026;
const EVENTS: usize = 10_000;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if n == 0 {
            0
        } else {
            (self.0 % n as u64) as usize
        }
    }
}

/// Runs effects against a session on a demo copy; scans, plans and previews are cached per
/// state of the files (a write starts a new state).
struct Engine {
    session: Session,
    generation: u64,
    scans: BTreeMap<u64, Vec<Msg>>,
    plans: BTreeMap<(u64, String), Vec<Msg>>,
    previews: BTreeMap<(u64, String), Vec<Msg>>,
}

impl Engine {
    fn new(root: &Path) -> Engine {
        Engine {
            session: Session::open(root).expect("open the demo"),
            generation: 0,
            scans: BTreeMap::new(),
            plans: BTreeMap::new(),
            previews: BTreeMap::new(),
        }
    }

    fn execute(&mut self, e: Effect) -> Vec<Msg> {
        let run = |session: &mut Session, e: Effect| {
            let out = std::sync::Mutex::new(Vec::new());
            let cancel = AtomicBool::new(false);
            depriv::tui::effects::execute(
                session,
                e,
                &|m| out.lock().unwrap_or_else(|e| e.into_inner()).push(m),
                &cancel,
            );
            out.into_inner().unwrap_or_else(|e| e.into_inner())
        };
        let g = self.generation;
        match e {
            Effect::Scan => {
                if !self.scans.contains_key(&g) {
                    // A fresh session: the walk is cached per session.
                    self.session = Session::open(self.session.root()).expect("reopen");
                    let msgs = run(&mut self.session, Effect::Scan);
                    self.scans.insert(g, msgs);
                }
                self.scans[&g].clone()
            }
            Effect::Plan { env, scan } => {
                let key = (g, format!("{env:?}"));
                if !self.plans.contains_key(&key) {
                    let msgs = run(&mut self.session, Effect::Plan { env, scan });
                    self.plans.insert(key.clone(), msgs);
                }
                self.plans[&key].clone()
            }
            Effect::Preview { plan, scan } => {
                let key = (
                    g,
                    serde_json::to_string(&plan.to_file()).expect("plan json"),
                );
                if !self.previews.contains_key(&key) {
                    let msgs = run(&mut self.session, Effect::Preview { plan, scan });
                    self.previews.insert(key.clone(), msgs);
                }
                self.previews[&key].clone()
            }
            Effect::CancelScan => Vec::new(),
            e @ Effect::Write { .. } => {
                let msgs = run(&mut self.session, e);
                if matches!(msgs.first(), Some(Msg::Written(Ok(_)))) {
                    self.generation += 1;
                }
                msgs
            }
            e => run(&mut self.session, e),
        }
    }
}

/// What must hold after every message.
fn invariants(m: &Model) -> Result<(), String> {
    let need = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{:?} without {what}", m.screen))
        }
    };
    match m.screen {
        Screen::Scanning => {}
        Screen::Overview | Screen::Detail | Screen::Environment => {
            need(m.scan.is_some(), "a scan")?;
        }
        Screen::Targets => need(m.plan.is_some(), "a plan")?,
        Screen::Diff | Screen::Confirm => need(m.preview.is_some(), "a preview")?,
        Screen::Report => need(m.written.is_some(), "a write result")?,
    }
    let in_range = |name: &str, i: usize, len: usize| {
        if i < len || (i == 0 && len == 0) {
            Ok(())
        } else {
            Err(format!("{name} = {i} out of 0..{len} on {:?}", m.screen))
        }
    };
    if let Some(scan) = &m.scan {
        let o = &m.overview;
        in_range("overview.sel", o.sel, o.index.rows.len())?;
        if o.offset > o.sel {
            return Err(format!("overview.offset {} past sel {}", o.offset, o.sel));
        }
        if m.screen == Screen::Detail {
            in_range("detail.finding", m.detail.finding, scan.findings.len())?;
            if let Some(bad) = m
                .detail
                .siblings
                .iter()
                .find(|&&i| i >= scan.findings.len())
            {
                return Err(format!("detail sibling {bad} out of range"));
            }
        }
    }
    in_range("env.sel", m.env.sel, model::ENV_QUESTIONS)?;
    if let Some(plan) = &m.plan {
        in_range("targets.sel", m.targets.sel, plan.pipelines.len())?;
        if let Some(p) = m.target_pipeline() {
            in_range("targets.opt", m.targets.opt, model::choices(p).len())?;
        }
    }
    if m.screen == Screen::Diff {
        let entries = m.diff.files.len() + m.diff.skipped.len();
        in_range("diff.sel", m.diff.sel, entries)?;
        if let Some(f) = m.diff.files.get(m.diff.sel)
            && m.diff.scroll > f.doc.lines.len()
        {
            return Err(format!(
                "diff.scroll {} past {} lines",
                m.diff.scroll,
                f.doc.lines.len()
            ));
        }
    }
    in_range("report.sel", m.report.sel, model::REPORT_ACTIONS.len())?;
    if m.queued.len() > 64 {
        return Err(format!("{} keys queued", m.queued.len()));
    }
    Ok(())
}

/// Every key some binding uses, plus typing and control keys.
fn key_pool() -> Vec<Key> {
    let mut pool: Vec<Key> = Vec::new();
    for b in keys::TABLE {
        for k in b.keys {
            if !pool.contains(k) && *k != Key::Ctrl('c') && *k != Key::Char('q') {
                pool.push(*k);
            }
        }
    }
    // Typing into search and answer fields, including text that is not ASCII.
    for c in ['a', 'z', '0', '/', ' ', '.', 'é', 'З', '日', '🚀', '\t'] {
        pool.push(Key::Char(c));
    }
    pool.extend([Key::Backspace, Key::Enter, Key::Enter, Key::Esc]);
    pool
}

#[test]
fn ten_thousand_random_keys_keep_the_ui_consistent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut repo = depriv::tui::demo::create(tmp.path()).expect("demo");
    let mut engine = Engine::new(&repo);
    let pool = key_pool();
    let mut rng = Rng(SEED);
    let new_model =
        |engine: &Engine| Model::new(".", engine.session.config().environment.clone(), false);
    let mut m = new_model(&engine);
    let mut pending: VecDeque<Effect> = VecDeque::from([Effect::Scan]);
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).expect("terminal");
    let mut log: VecDeque<String> = VecDeque::new();
    let mut screens: BTreeMap<String, usize> = BTreeMap::new();
    let mut restarts = 0;
    // Count the keys, resizes, wheel and tick events `update` received; keys with no binding
    // in the current state and effect results do not count.
    let mut step = 0;
    let mut iterations = 0usize;
    while step < EVENTS {
        iterations += 1;
        // Effects finish late: keys pressed meanwhile are queued by `update`.
        let from_effect = !pending.is_empty() && rng.below(3) == 0;
        let msg = if from_effect {
            let e = pending.pop_front().expect("effect");
            let mut msgs = engine.execute(e);
            let first = msgs.remove(0);
            for later in msgs.into_iter().rev() {
                // Progress messages precede the result; deliver them all now.
                let fx = update(&mut m, later);
                pending.extend(fx);
            }
            first
        } else {
            match rng.below(100) {
                0..=3 => {
                    let w = [1, 10, 40, 79, 80, 100, 120, 200, 300][rng.below(9)];
                    let h = [1, 5, 23, 24, 30, 50, 80][rng.below(7)];
                    Msg::Resize(w, h)
                }
                4..=5 => Msg::Wheel([-3, 3, -30, 30][rng.below(4)]),
                6 => Msg::Tick,
                7 if rng.below(40) == 0 => Msg::Action(depriv::tui::vocab::Action::Quit),
                _ => {
                    let key = pool[rng.below(pool.len())];
                    match keys::lookup(&m, key) {
                        Some(msg) => msg,
                        None => continue,
                    }
                }
            }
        };
        if !from_effect {
            step += 1;
        }
        let what = format!("{step}: {msg:?}");
        log.push_back(what.chars().take(200).collect());
        if log.len() > 30 {
            log.pop_front();
        }
        if let Some(e) = update(&mut m, msg.clone()) {
            pending.push_back(e);
        }
        if let Msg::Resize(w, h) = msg {
            assert_eq!(m.size, (w, h));
            term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        }
        let drawn = term.draw(|f| view(&m, f));
        let checked = invariants(&m);
        if drawn.is_err() || checked.is_err() {
            panic!(
                "seed {SEED:#x}, event {step}: {checked:?} / draw {:?}\nlast events:\n{}",
                drawn.err(),
                log.iter().cloned().collect::<Vec<_>>().join("\n")
            );
        }
        *screens.entry(format!("{:?}", m.screen)).or_default() += 1;
        if m.quit {
            // The loop would end here; start again on a fresh copy of the demo.
            restarts += 1;
            repo = depriv::tui::demo::create(tmp.path()).expect("demo");
            engine = Engine::new(&repo);
            m = new_model(&engine);
            pending = VecDeque::from([Effect::Scan]);
            term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).expect("terminal");
        }
    }
    eprintln!(
        "tui keys: {step} events in {iterations} iterations, screens visited {screens:?}, {restarts} restarts"
    );
    // The walk reached the far end of the flow, not just the first screens.
    for s in ["Overview", "Detail", "Environment", "Targets", "Diff"] {
        assert!(screens.contains_key(s), "{s} never reached: {screens:?}");
    }
}
