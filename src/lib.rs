//! depriv takes CI pipelines off privileged Docker-in-Docker.
//!
//! The pipeline: [`discover`] walks a repository (respecting `.gitignore`, never following
//! symlinks) and picks CI files by name; the readers in [`source`] parse YAML, TOML, JSON,
//! Groovy and shell keeping exact byte spans; [`surface`] lowers each platform into the typed
//! [`model`] (pipelines, containers, scripts, with provenance); the [`rules`] table turns that
//! into [`finding::Finding`]s; [`plan`] picks a feasible target per pipeline; [`report`]
//! renders text, JSON and SARIF. [`session::Session`] is the one API the CLI uses.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bugreport;
pub mod ciserver;
pub mod config;
pub mod discover;
pub mod edit;
pub mod exit;
pub mod finding;
pub mod fixture;
pub mod migrate;
pub mod migration_plan;
pub mod model;
pub mod plan;
pub mod plan_conflicts;
pub mod privilege;
pub mod report;
pub mod rewrite;
pub mod rules;
pub mod scan;
pub mod session;
pub mod source;
pub mod suppress;
pub mod surface;
pub mod targets;
pub mod templates;
pub mod tui;
pub mod vocab;
pub mod write;
