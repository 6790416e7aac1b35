//! Deterministic mutation test: every rule fixture and the demo repository, mutated with a
//! seeded generator (byte flips, truncation, duplicated, deleted and shuffled lines, CRLF, a
//! BOM, anchors and aliases, `!reference`, non-ASCII text, deep nesting, alias bombs, overlong
//! lines, stray quotes and brackets), then scanned, planned and previewed (rewrite and
//! verification) in memory. Nothing may panic or take too long; every error diagnostic names
//! its file and a line inside it; a file that does not parse is never rewritten; every
//! rewritten file still parses.
//!
//! A failure prints the seed, the case and the mutated input. Reproduce one case with
//! `DEPRIV_MUTATION_SEED=<seed> DEPRIV_MUTATION_CASE=<case> cargo test --test it mutation`;
//! `DEPRIV_MUTATION_CASES=<n>` runs more (or fewer) cases.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use depriv::config::Config;
use depriv::discover;
use depriv::finding::DiagLevel;
use depriv::migrate::{self, Strategy};
use depriv::rewrite::{self, MemFiles};
use depriv::scan;
use depriv::templates::Templates;

use crate::support::root;

/// Default seed (any value gives a reproducible run).
const SEED: u64 = 0x00de_9a1f_5eed_2026;
/// Cases in the default `cargo test` run.
const CASES: usize = 10_000;
/// A case taking longer than this fails the test (debug build on a shared machine).
const CASE_LIMIT: Duration = Duration::from_secs(10);
/// A case still running after this is a hang: the process aborts, printing the case.
const HANG_LIMIT: Duration = Duration::from_secs(60);
/// Resident memory above this fails the test.
const RSS_LIMIT_KIB: u64 = 2 * 1024 * 1024;
/// Mutated files are cut at this size (overlong lines and bombs included).
const MAX_INPUT: usize = 192 * 1024;

/// xorshift64*: tiny, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so nearby seeds diverge at once (and 0 is fine).
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (`0` when `n == 0`).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// A character boundary of `s` chosen at random.
fn boundary(rng: &mut Rng, s: &str) -> usize {
    s.floor_char_boundary(rng.below(s.len() + 1))
}

/// The byte offsets where lines start.
fn line_starts(s: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(s.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i <= s.len())
        .collect()
}

/// Lines with their breaks (the last may lack one).
fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

const NON_ASCII: &[&str] = &[
    "З",
    "é",
    "ü",
    "日本語",
    "ß",
    "🚀",
    "Ω",
    "\u{200b}",
    "\u{feff}",
    "ñ",
    "Ж",
    "中",
    "\u{0301}",
];

const TOKENS: &[&str] = &[
    "services:\n  - docker:dind\n",
    "  - docker:dind\n",
    "    - echo \"",
    "privileged: true\n",
    "  privileged: true\n",
    "image: docker:dind\n",
    "DOCKER_HOST: tcp://docker:2375\n",
    "DOCKER_TLS_CERTDIR: \"\"\n",
    "  script:\n    - docker build -t x .\n",
    "- /var/run/docker.sock:/var/run/docker.sock\n",
    "volumes:\n  - /var/run/docker.sock:/var/run/docker.sock\n",
    "sh 'docker run --privileged x'\n",
    "docker run --privileged -v /var/run/docker.sock:/x img\n",
    "extends: .base\n",
    "<<: *base\n",
    "include: ci/missing.yml\n",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    "#",
    "\\",
    "\t",
    "${X}",
    "$(",
    "`",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "? ",
    "&",
    "*",
    "!",
    "%",
    "@",
    "\r",
    "\n",
    "\n\n",
    "''",
    "\"\"",
    "'''",
    "\"\"\"",
    "/*",
    "*/",
    "//",
    "<<EOF\n",
    "\nEOF\n",
];

/// Apply one mutation to `s`; returns its name.
fn mutate(rng: &mut Rng, s: &mut String) -> &'static str {
    match rng.below(20) {
        0 => {
            // Byte flip: change one character into a random ASCII byte or a bit-flipped one
            // (kept when it is still UTF-8).
            if s.is_empty() {
                return "flip";
            }
            let mut bytes = std::mem::take(s).into_bytes();
            let i = rng.below(bytes.len());
            let old = bytes[i];
            bytes[i] = if rng.chance(2) {
                old ^ (1 << rng.below(8))
            } else {
                32 + rng.below(95) as u8
            };
            *s = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let mut b = e.into_bytes();
                    b[i] = old;
                    String::from_utf8(b).unwrap_or_default()
                }
            };
            "flip"
        }
        1 => {
            let at = boundary(rng, s);
            s.truncate(at);
            "truncate"
        }
        2 | 3 => {
            let ls = lines(s);
            if ls.is_empty() {
                return "duplicate";
            }
            let a = rng.below(ls.len());
            let b = (a + 1 + rng.below(4)).min(ls.len());
            let mut block: String = ls[a..b].concat();
            if !block.ends_with('\n') {
                block.push('\n');
            }
            let at = *rng.pick(&line_starts(s));
            s.insert_str(at, &block);
            "duplicate lines"
        }
        4 => {
            let mut ls: Vec<String> = lines(s).into_iter().map(str::to_string).collect();
            if ls.len() < 2 {
                return "shuffle";
            }
            if let Some(last) = ls.last_mut()
                && !last.ends_with('\n')
            {
                last.push('\n');
            }
            // Shuffle a window (Fisher-Yates).
            let start = rng.below(ls.len());
            let end = (start + 2 + rng.below(6)).min(ls.len());
            for i in (start + 1..end).rev() {
                let j = start + rng.below(i - start + 1);
                ls.swap(i, j);
            }
            *s = ls.concat();
            "shuffle lines"
        }
        5 => {
            let ls = lines(s);
            if ls.is_empty() {
                return "delete";
            }
            let a = rng.below(ls.len());
            let b = (a + 1 + rng.below(3)).min(ls.len());
            *s = [&ls[..a], &ls[b..]].concat().concat();
            "delete lines"
        }
        6 => {
            if rng.chance(2) {
                *s = s.replace("\r\n", "\n").replace('\n', "\r\n");
                "crlf"
            } else {
                // Mixed line endings: one line only.
                let starts = line_starts(s);
                let at = rng.pick(&starts).saturating_sub(1);
                if s.as_bytes().get(at) == Some(&b'\n') {
                    s.insert(at, '\r');
                }
                "one crlf"
            }
        }
        7 => {
            if !s.starts_with('\u{feff}') {
                s.insert(0, '\u{feff}');
            }
            "bom"
        }
        8 => {
            // An anchor on one value and aliases / merges elsewhere.
            let starts = line_starts(s);
            let ls = lines(s);
            let i = rng.below(ls.len().max(1));
            let line = ls.get(i).copied().unwrap_or_default();
            if let Some(c) = line.find(": ") {
                let at = starts.get(i).copied().unwrap_or(0) + c + 2;
                s.insert_str(at.min(s.len()), "&a ");
            }
            let at = *rng.pick(&line_starts(s));
            let indent = " ".repeat(2 * rng.below(3));
            let alias = match rng.below(3) {
                0 => format!("{indent}<<: *a\n"),
                1 => format!("{indent}x: *a\n"),
                _ => format!("{indent}- *a\n"),
            };
            s.insert_str(at, &alias);
            "anchor and alias"
        }
        9 => {
            let at = *rng.pick(&line_starts(s));
            let indent = " ".repeat(2 * rng.below(3));
            let r = match rng.below(3) {
                0 => format!("{indent}script: !reference [.base, script]\n"),
                1 => format!("{indent}- !reference [.setup, services]\n"),
                _ => format!("{indent}services: !reference [.dind]\n"),
            };
            s.insert_str(at, &r);
            "!reference"
        }
        10..=12 => {
            // Non-ASCII text, often right before a line break or a closing quote, where
            // derived offsets (`end - 1`) land.
            let text = *rng.pick(NON_ASCII);
            let at = if rng.chance(2) {
                let ends: Vec<usize> = s
                    .char_indices()
                    .filter(|(_, c)| matches!(c, '\n' | '"' | '\'' | ']' | '}' | ':'))
                    .map(|(i, _)| i)
                    .collect();
                if ends.is_empty() {
                    boundary(rng, s)
                } else {
                    *rng.pick(&ends)
                }
            } else {
                boundary(rng, s)
            };
            s.insert_str(at, text);
            "non-ascii"
        }
        13 => {
            let depth = 20 + rng.below(400);
            let at = *rng.pick(&line_starts(s));
            let nest = match rng.below(3) {
                0 => format!("x: {}{}\n", "[".repeat(depth), "]".repeat(depth)),
                1 => format!("x: {}{}\n", "{a: ".repeat(depth), "}".repeat(depth)),
                _ => (0..depth)
                    .map(|i| format!("{}k:\n", " ".repeat(i)))
                    .collect(),
            };
            s.insert_str(at, &nest);
            "deep nesting"
        }
        14 => {
            let mut bomb =
                String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
            for (i, c) in "bcdefghi".chars().enumerate() {
                let p = (b'a' + i as u8) as char;
                bomb.push_str(&format!(
                    "{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                ));
            }
            bomb.push_str("bomb:\n  <<: {x: *i}\n  script: *i\n");
            let at = *rng.pick(&line_starts(s));
            s.insert_str(at, &bomb);
            "alias bomb"
        }
        15 => {
            let len = 1_000 + rng.below(60_000);
            let unit = *rng.pick(&["x", "é", "- ", "a: ", "\"", "З"]);
            let long: String = unit.repeat(len / unit.len());
            let at = boundary(rng, s);
            s.insert_str(at, &long);
            "overlong line"
        }
        16 | 17 => {
            let at = boundary(rng, s);
            let token = *rng.pick(TOKENS);
            s.insert_str(at, token);
            "token"
        }
        18 => {
            // Re-indent one line.
            let starts = line_starts(s);
            let at = *rng.pick(&starts);
            if rng.chance(2) {
                s.insert_str(at, &" ".repeat(1 + rng.below(4)));
            } else {
                let spaces = s[at..].bytes().take_while(|b| *b == b' ').count();
                let n = spaces.min(1 + rng.below(4));
                s.replace_range(at..at + n, "");
            }
            "indent"
        }
        _ => {
            // Cut a random range.
            let a = boundary(rng, s);
            let b = s.floor_char_boundary((a + rng.below(64)).min(s.len()));
            s.replace_range(a..b.max(a), "");
            "cut"
        }
    }
}

/// One repository of the fixtures: root-relative path → text.
#[derive(Clone)]
struct Repo {
    name: String,
    files: BTreeMap<String, String>,
}

fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, base, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            let rel = discover::rel_string(p.strip_prefix(base).expect("prefix"));
            if discover::classify(&rel).is_some() {
                out.insert(rel, text);
            }
        }
    }
}

/// Every rule fixture (a directory holding CI files directly or below `.github`, `ci`, …)
/// and the demo, each as its own repository.
fn repos() -> Vec<Repo> {
    let mut out = Vec::new();
    let rules = root().join("tests/fixtures/rules");
    let mut rule_dirs: Vec<PathBuf> = std::fs::read_dir(&rules)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    rule_dirs.sort();
    for rule in rule_dirs {
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&rule)
            .expect("rule fixtures")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        cases.sort();
        for case in cases {
            let mut files = BTreeMap::new();
            walk(&case, &case, &mut files);
            if !files.is_empty() {
                out.push(Repo {
                    name: discover::rel_string(case.strip_prefix(root()).expect("prefix")),
                    files,
                });
            }
        }
    }
    let demo = root().join("assets/demo");
    let mut files = BTreeMap::new();
    walk(&demo, &demo, &mut files);
    out.push(Repo {
        name: "assets/demo".to_string(),
        files,
    });
    out
}

/// The seed of one case.
fn case_seed(seed: u64, case: usize) -> u64 {
    seed ^ (case as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A mutated repository: which file changed, how, and the new text.
struct Case {
    repo: String,
    path: String,
    mutations: Vec<&'static str>,
    files: BTreeMap<String, String>,
    strategy: Strategy,
}

fn make_case(repos: &[Repo], seed: u64, case: usize) -> Case {
    let mut rng = Rng::new(case_seed(seed, case));
    let repo = &repos[case % repos.len()];
    let paths: Vec<&String> = repo.files.keys().collect();
    let path = (*rng.pick(&paths)).clone();
    let mut text = repo.files[&path].clone();
    let mut mutations = Vec::new();
    for _ in 0..1 + rng.below(3) {
        mutations.push(mutate(&mut rng, &mut text));
        if text.len() > MAX_INPUT {
            text.truncate(text.floor_char_boundary(MAX_INPUT));
        }
    }
    let strategy = *rng.pick(&[
        Strategy::Auto,
        Strategy::Auto,
        Strategy::Sysbox,
        Strategy::Rootless,
        Strategy::Kaniko,
        Strategy::Buildkit,
        Strategy::Tls,
    ]);
    let mut files = repo.files.clone();
    files.insert(path.clone(), text);
    Case {
        repo: repo.name.clone(),
        path,
        mutations,
        files,
        strategy,
    }
}

/// Scan, plan and preview one case; `Err` says which invariant broke.
fn check(case: &Case) -> Result<(), String> {
    let config = Config::default();
    let scan = scan::scan_memory(case.files.clone(), &config);
    for d in &scan.diagnostics {
        let Some(text) = case.files.get(&d.path) else {
            return Err(format!("diagnostic for an unknown file: {d:?}"));
        };
        let last_line = text.split('\n').count();
        if d.level == DiagLevel::Error && (d.line == 0 || d.line > last_line) {
            return Err(format!("error without a position in the file: {d:?}"));
        }
        if d.line > last_line {
            return Err(format!("diagnostic past the end of the file: {d:?}"));
        }
    }
    for f in &scan.findings {
        let lines = case.files.get(&f.path).map(|t| t.split('\n').count());
        if lines.is_none_or(|n| f.line == 0 || f.line > n) {
            return Err(format!("finding outside its file: {f:?}"));
        }
    }
    let plan = migrate::plan(&scan, &config.environment, case.strategy);
    let mem = MemFiles(
        case.files
            .iter()
            .map(|(p, t)| (p.clone(), Arc::<str>::from(t.as_str())))
            .collect(),
    );
    let rescan = |overlay: &BTreeMap<String, String>| {
        let mut all = case.files.clone();
        for (p, t) in overlay {
            all.insert(p.clone(), t.clone());
        }
        scan::scan_memory(all, &config)
    };
    let preview = migrate::preview(&plan, &scan, &mem, &Templates::builtin(), &rescan);
    for c in &preview.changes {
        let Some(before) = case.files.get(&c.path) else {
            return Err(format!("a change to an unknown file {}", c.path));
        };
        if let Some((at, msg)) = rewrite::parse_failure(&c.path, before) {
            return Err(format!(
                "{} does not parse (byte {at}: {msg}) but was rewritten",
                c.path
            ));
        }
        if let Some((at, msg)) = rewrite::parse_failure(&c.path, &c.after) {
            return Err(format!(
                "the rewrite of {} does not parse (byte {at}: {msg}):\n{}",
                c.path, c.after
            ));
        }
    }
    Ok(())
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn describe(seed: u64, n: usize, case: &Case) -> String {
    format!(
        "seed {seed:#x} case {n} ({}; file {}; mutations {:?}; strategy {:?})\n\
         reproduce: DEPRIV_MUTATION_SEED={seed:#x} DEPRIV_MUTATION_CASE={n} cargo test --test it \
         mutation\nmutated input ({} bytes):\n{:?}",
        case.repo,
        case.path,
        case.mutations,
        case.strategy,
        case.files[&case.path].len(),
        case.files[&case.path],
    )
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn mutated_fixtures_never_crash_hang_or_lose_positions() {
    let seed = env_number("DEPRIV_MUTATION_SEED").unwrap_or(SEED);
    let only = env_number("DEPRIV_MUTATION_CASE").map(|c| c as usize);
    let cases = env_number("DEPRIV_MUTATION_CASES").map_or(CASES, |c| c as usize);
    let repos = repos();
    assert!(repos.len() > 100, "fixtures not found: {}", repos.len());
    let todo: Vec<usize> = match only {
        Some(c) => vec![c],
        None => (0..cases).collect(),
    };
    // Panics are caught per case and reported with the input; keep the default hook quiet.
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let slowest: Mutex<(Duration, usize)> = Mutex::new((Duration::ZERO, 0));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let done = AtomicBool::new(false);
    // What each worker is doing, for the hang watchdog.
    let running: Vec<Mutex<Option<(Instant, usize)>>> =
        (0..workers).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                for r in &running {
                    let cur = *r.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some((since, n)) = cur
                        && since.elapsed() > HANG_LIMIT
                    {
                        let case = make_case(&repos, seed, n);
                        eprintln!("HANG after {HANG_LIMIT:?}: {}", describe(seed, n, &case));
                        std::process::abort();
                    }
                }
            }
        });
        let handles: Vec<_> =
            running
                .iter()
                .map(|slot| {
                    let (repos, todo, next, failures, slowest) =
                        (&repos, &todo, &next, &failures, &slowest);
                    s.spawn(move || {
                        while let Some(&n) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let case = make_case(repos, seed, n);
                            let t = Instant::now();
                            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((t, n));
                            let result = catch_unwind(AssertUnwindSafe(|| check(&case)));
                            *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
                            let took = t.elapsed();
                            {
                                let mut sl = slowest.lock().unwrap_or_else(|e| e.into_inner());
                                if took > sl.0 {
                                    *sl = (took, n);
                                }
                            }
                            let problem = match result {
                                Ok(Ok(())) if took > CASE_LIMIT => {
                                    Some(format!("took {took:?} (limit {CASE_LIMIT:?})"))
                                }
                                Ok(Ok(())) => None,
                                Ok(Err(e)) => Some(e),
                                Err(p) => Some(format!(
                                    "panic: {}",
                                    p.downcast_ref::<String>()
                                        .cloned()
                                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                        .unwrap_or_default()
                                )),
                            };
                            if n % 256 == 0
                                && let Some(kib) = rss_kib()
                                && kib > RSS_LIMIT_KIB
                            {
                                failures.lock().unwrap_or_else(|e| e.into_inner()).push(format!(
                                "resident memory {kib} KiB over {RSS_LIMIT_KIB} KiB after {}",
                                describe(seed, n, &case)
                            ));
                            }
                            if let Some(p) = problem {
                                let mut f = failures.lock().unwrap_or_else(|e| e.into_inner());
                                f.push(format!("{p}\n{}", describe(seed, n, &case)));
                                if f.len() >= 5 {
                                    return;
                                }
                            }
                        }
                    })
                })
                .collect();
        for h in handles {
            h.join().expect("worker");
        }
        done.store(true, Ordering::Relaxed);
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    let (slow, slow_case) = slowest.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "mutation: {} cases over {} repositories in {:?} with {workers} threads (slowest: case \
         {slow_case}, {slow:?})",
        todo.len().min(next.load(Ordering::Relaxed)),
        repos.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_generator_is_deterministic_and_varied() {
    let repos = repos();
    let a = make_case(&repos, SEED, 7);
    let b = make_case(&repos, SEED, 7);
    assert_eq!(a.files, b.files);
    assert_eq!(a.mutations, b.mutations);
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..2_000 {
        seen.extend(make_case(&repos, SEED, n).mutations);
    }
    // Every kind of mutation is drawn.
    for m in [
        "flip",
        "truncate",
        "duplicate lines",
        "shuffle lines",
        "delete lines",
        "crlf",
        "bom",
        "anchor and alias",
        "!reference",
        "non-ascii",
        "deep nesting",
        "alias bomb",
        "overlong line",
        "token",
        "indent",
        "cut",
    ] {
        assert!(seen.contains(m), "{m} never drawn: {seen:?}");
    }
}

#[test]
fn the_issue_reproducer_previews_without_a_panic() {
    let case = Case {
        repo: "inline".to_string(),
        path: ".gitlab-ci.yml".to_string(),
        mutations: Vec::new(),
        files: BTreeMap::from([(
            ".gitlab-ci.yml".to_string(),
            "services:\n  - docker:dind\n    - echo \"З\n".to_string(),
        )]),
        strategy: Strategy::Auto,
    };
    assert_eq!(check(&case), Ok(()));
}

/// The reported crash, end to end: `migrate --dry-run` on the three-line file prints a diff or
/// a refusal, never a panic.
#[test]
fn the_issue_reproducer_through_the_cli() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join(".gitlab-ci.yml"),
        "services:\n  - docker:dind\n    - echo \"З\n",
    )
    .expect("write");
    let out = assert_cmd::Command::cargo_bin("depriv")
        .expect("binary")
        .args(["migrate", "--dry-run", "--color", "never"])
        .arg(tmp.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("hit a bug"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(".gitlab-ci.yml"), "{stdout}");
}
