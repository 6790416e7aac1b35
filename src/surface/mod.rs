//! Typed models per platform. Each module reads one surface's files (already parsed by the
//! readers in [`crate::source`]) and lowers them into [`crate::model::Pipeline`]s with
//! provenance; rules never look at raw YAML/TOML/Groovy.

#![cfg_attr(not(test), deny(clippy::string_slice))]

pub mod compose;
pub mod daemon;
pub mod github;
pub mod gitlab;
pub mod gitlab_resolve;
pub mod jenkins;
pub mod kube;
pub mod other;
pub mod runner;
pub mod shell;
pub mod yamlx;

use crate::finding::{DiagLevel, Diagnostic};
use crate::source::SourceFile;

/// A diagnostic at a byte offset of a file.
pub fn diag_at(
    file: &SourceFile,
    offset: usize,
    level: DiagLevel,
    message: impl Into<String>,
) -> Diagnostic {
    let lc = file.line_col(offset);
    Diagnostic {
        path: file.path.clone(),
        line: lc.line,
        column: lc.column,
        level,
        message: message.into(),
    }
}

/// Local scripts a shell snippet runs (`./ci/build.sh`, `bash scripts/x.sh`).
pub fn collect_local_scripts(script: &str, out: &mut Vec<String>) {
    for word in script.split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|') {
        let w = word.trim_matches(|c| c == '"' || c == '\'');
        if w.ends_with(".sh") && !w.contains("://") && !w.contains('$') {
            let w = w.trim_start_matches("./");
            if !w.is_empty() && !out.iter().any(|x| x == w) {
                out.push(w.to_string());
            }
        }
    }
}
