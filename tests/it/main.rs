//! The integration test binary: CLI behaviour, rule fixtures, surfaces, hostile input,
//! output formats with external validators, and the corpus accuracy check.

mod adversarial;
mod cli;
mod corpus;
mod effective;
mod engine;
mod fixtures;
mod fixtures_swarm;
mod fuzz_regressions;
mod gitlab;
mod migrate;
mod mutation;
mod reports;
mod support;
mod tui;
mod tui_keys;
mod validators;
mod write;
