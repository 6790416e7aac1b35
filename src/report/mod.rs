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
