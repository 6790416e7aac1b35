//! JSON output, version 1 (product contract): fields may be added, never renamed.

use serde::Serialize;

use crate::finding::{Diagnostic, Finding};
use crate::scan::{PipelineSummary, ScanResult};

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    root: &'a str,
    files_scanned: usize,
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
        findings: &r.findings,
        diagnostics: &r.diagnostics,
        pipelines: &r.pipelines,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
