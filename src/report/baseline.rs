//! Baselines for gradual adoption: `scan --write-baseline FILE` records the fingerprints of
//! today's findings; `scan --baseline FILE` then lets only new findings fail the run, and
//! `--new-only` shows only those. Fingerprints ignore line numbers, so moving code does not
//! make a known finding new. Format: JSON, version 1 (`assets/schema/baseline-v1.schema.json`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::scan::ScanResult;

/// Errors reading a baseline.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Not valid JSON or not a baseline.
    #[error("invalid baseline: {message} (line {line}, column {column})")]
    Parse {
        /// What is wrong.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A version this depriv does not read.
    #[error("unsupported baseline version {0} (this depriv reads version 1)")]
    Version(u32),
}

/// One known finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// Path (for people reading the file).
    pub path: String,
    /// Rule id (for people reading the file).
    pub rule: String,
    /// Pipeline (for people reading the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// The line-insensitive fingerprint that is matched.
    pub fingerprint: String,
}

/// A baseline file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version (1).
    pub version: u32,
    /// Known findings, sorted by (path, rule, pipeline, fingerprint): no line numbers, so the
    /// file does not change when code moves.
    pub findings: Vec<Entry>,
}

impl Baseline {
    /// The active (not suppressed) findings of a scan.
    pub fn from_scan(r: &ScanResult) -> Baseline {
        let set: BTreeSet<Entry> = r
            .findings
            .iter()
            .filter(|f| !f.suppressed)
            .map(|f| Entry {
                path: f.path.clone(),
                rule: f.rule.to_string(),
                pipeline: f.pipeline.clone(),
                fingerprint: f.fingerprint.clone(),
            })
            .collect();
        Baseline {
            version: 1,
            findings: set.into_iter().collect(),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Read a baseline.
    pub fn parse(text: &str) -> Result<Baseline, BaselineError> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| BaselineError::Parse {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        if b.version != 1 {
            return Err(BaselineError::Version(b.version));
        }
        Ok(b)
    }

    /// Whether a finding is known.
    pub fn contains(&self, f: &Finding) -> bool {
        self.findings.iter().any(|e| e.fingerprint == f.fingerprint)
    }

    /// Drop the known findings from a scan; returns how many were dropped.
    pub fn retain_new(&self, r: &mut ScanResult) -> usize {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let before = r.findings.len();
        r.findings
            .retain(|f| !known.contains(f.fingerprint.as_str()));
        before - r.findings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::collections::BTreeMap;

    fn scan(text: &str) -> ScanResult {
        let mut m = BTreeMap::new();
        m.insert("docker-compose.yml".to_string(), text.to_string());
        crate::scan::scan_memory(m, &Config::default())
    }

    const BASE: &str = "services:\n  a:\n    image: x\n    privileged: true\n";

    #[test]
    fn moved_lines_stay_known_and_new_ones_are_new() {
        let before = scan(BASE);
        assert!(!before.findings.is_empty());
        let b = Baseline::parse(&Baseline::from_scan(&before).to_json()).expect("round trip");
        assert!(!b.to_json().contains("\"line\""));
        let moved = scan(&format!("# a comment\n\n{BASE}"));
        assert!(moved.findings.iter().all(|f| b.contains(f)));
        let mut grown = scan(&format!(
            "{BASE}  b:\n    image: y\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n"
        ));
        let total = grown.findings.len();
        let dropped = b.retain_new(&mut grown);
        assert_eq!(dropped, before.findings.len());
        assert_eq!(grown.findings.len(), total - dropped);
        assert!(
            grown
                .findings
                .iter()
                .all(|f| f.pipeline.as_deref() == Some("b"))
        );
    }

    #[test]
    fn bad_baselines_are_errors() {
        for bad in [
            "",
            "{",
            "[]",
            "{\"version\":1}",
            "{\"version\":1,\"findings\":[{}]}",
        ] {
            assert!(
                matches!(Baseline::parse(bad), Err(BaselineError::Parse { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            Baseline::parse("{\"version\":2,\"findings\":[]}"),
            Err(BaselineError::Version(2))
        ));
        let ok = Baseline::parse(
            "{\"version\":1,\"findings\":[{\"path\":\"a\",\"rule\":\"r\",\"fingerprint\":\"f\"}],\"extra\":1}",
        );
        assert!(ok.is_ok(), "{ok:?}");
    }
}
