//! Typed models per platform. Each module reads one surface's files (already parsed by the
//! readers in [`crate::source`]) and lowers them into [`crate::model::Pipeline`]s with
//! provenance; rules never look at raw YAML/TOML/Groovy.

pub mod compose;
pub mod daemon;
pub mod github;
pub mod gitlab;
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
