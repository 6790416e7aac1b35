//! Accuracy on the labelled corpus of real CI files in `../shared/corpus` (rule@line, line
//! tolerance ±1). Skips with a message when the corpus is absent. Prints recall and precision
//! per rule and per surface; fails below 95% overall or on any surface.
//! `DEPRIV_CORPUS_VERBOSE=1` lists every miss and false positive.

use std::collections::BTreeMap;

use crate::support::corpus_dir;
use depriv::config::Config;
use depriv::finding::Surface;
use depriv::scan;

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
}

#[test]
fn corpus_recall_and_precision() {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        eprintln!(
            "skipped: corpus not found at {}; the accuracy check did not run",
            dir.display()
        );
        return;
    };
    let verbose = std::env::var_os("DEPRIV_CORPUS_VERBOSE").is_some();
    let config = Config::default();
    let mut by_rule: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_surface: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    let mut files = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            continue;
        }
        let (id, file, surface, source_path, expected) =
            (cols[0], cols[1], cols[2], cols[4], cols[6]);
        let Some(surf) = Surface::parse(surface) else {
            panic!("{id}: unknown surface {surface}");
        };
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{id}: {e}"));
        let text = String::from_utf8_lossy(&bytes).to_string();
        files += 1;
        let r = scan::scan_as(source_path, &text, surf, &config);
        let mut got: Vec<(String, usize)> = r
            .findings
            .iter()
            .map(|f| (f.rule.to_string(), f.line))
            .collect();
        let mut want: Vec<(String, usize)> = if expected == "-" {
            Vec::new()
        } else {
            expected
                .split(',')
                .filter_map(|e| {
                    let (rule, l) = e.trim().split_once('@')?;
                    Some((rule.to_string(), l.parse().ok()?))
                })
                .collect()
        };
        // Greedy matching: exact line first, then ±1.
        let mut matched = Vec::new();
        for tol in [0usize, 1] {
            let mut i = 0;
            while i < want.len() {
                let (rule, l) = want[i].clone();
                if let Some(j) = got
                    .iter()
                    .position(|(gr, gl)| *gr == rule && gl.abs_diff(l) <= tol)
                {
                    matched.push(want.remove(i));
                    got.remove(j);
                } else {
                    i += 1;
                }
            }
        }
        let s = by_surface.entry(surface.to_string()).or_default();
        for (rule, _) in &matched {
            by_rule.entry(rule.clone()).or_default().tp += 1;
            s.tp += 1;
            total.tp += 1;
        }
        for (rule, l) in &want {
            by_rule.entry(rule.clone()).or_default().fn_ += 1;
            s.fn_ += 1;
            total.fn_ += 1;
            if verbose {
                eprintln!("MISS {id} {rule}@{l}  ({file})");
            }
        }
        for (rule, l) in &got {
            by_rule.entry(rule.clone()).or_default().fp += 1;
            s.fp += 1;
            total.fp += 1;
            if verbose {
                eprintln!("FP   {id} {rule}@{l}  ({file})");
            }
        }
    }
    eprintln!("corpus: {files} files");
    eprintln!(
        "{:<26} {:>4} {:>4} {:>4} {:>8} {:>9}",
        "", "tp", "fp", "fn", "recall", "precision"
    );
    let row = |name: &str, c: &Counts| {
        eprintln!(
            "{:<26} {:>4} {:>4} {:>4} {:>7.1}% {:>8.1}%",
            name,
            c.tp,
            c.fp,
            c.fn_,
            c.recall() * 100.0,
            c.precision() * 100.0
        )
    };
    for (r, c) in &by_rule {
        row(r, c);
    }
    eprintln!();
    for (s, c) in &by_surface {
        row(s, c);
    }
    eprintln!();
    row("TOTAL", &total);
    assert!(
        total.recall() >= 0.95,
        "overall recall {:.3} < 0.95",
        total.recall()
    );
    assert!(
        total.precision() >= 0.95,
        "overall precision {:.3} < 0.95",
        total.precision()
    );
    for (s, c) in &by_surface {
        assert!(c.recall() >= 0.95, "{s}: recall {:.3} < 0.95", c.recall());
        assert!(
            c.precision() >= 0.95,
            "{s}: precision {:.3} < 0.95",
            c.precision()
        );
    }
}
