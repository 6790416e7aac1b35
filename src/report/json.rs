//! JSON output, version 1 (product contract): fields may be added, never renamed.

use serde::Serialize;

use crate::finding::{Diagnostic, Finding};
use crate::scan::{PipelineSummary, ScanResult};

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    root: &'a str,
    files_scanned: usize,
    /// Files that could not be read or parsed (each has an `error` diagnostic).
    files_failed: usize,
    /// Files skipped on purpose (each has a `warning` diagnostic with the reason).
    files_skipped: usize,
    findings: &'a [Finding],
    diagnostics: &'a [Diagnostic],
    pipelines: &'a [PipelineSummary],
}

/// Render JSON v1.
pub fn render(r: &ScanResult) -> String {
    let doc = Doc {
        version: 1,
        root: &r.root,
        files_scanned: r.files_scanned,
        files_failed: r.failed().len(),
        files_skipped: r.skipped().len(),
        findings: &r.findings,
        diagnostics: &r.diagnostics,
        pipelines: &r.pipelines,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
