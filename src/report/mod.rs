//! Output formats of a scan: text with source snippets, JSON v1, SARIF 2.1.0. (Migration
//! reports build on these.)

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod baseline;
pub mod guide;
pub mod html;
pub mod json;
pub mod json_report;
pub mod markdown;
pub mod migration;
pub mod sarif;
pub mod sarif_report;
pub mod strategies;
pub mod text;

/// Output format of `depriv scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable with snippets.
    Text,
    /// JSON, version 1.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// The name of the repository directory behind a root as given (`.` becomes the current
/// directory's name), for report headings.
pub fn repository_name(root: &str) -> String {
    let path = std::path::Path::new(root);
    path.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.to_string())
}
