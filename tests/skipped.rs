//! Which checks this `cargo test` run could not do, and why. Several integration tests need
//! something outside cargo (the labelled corpus, the external validators, Chromium, tmux);
//! without it they pass without checking anything. This binary (no test harness, so its
//! output always shows) lists them. Under `CI=true` a missing validator, Chromium or tmux is
//! a failure, since `.ci/run` installs them.

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

fn main() {
    let checks = support::external_checks();
    let skipped: Vec<_> = checks.iter().filter(|(_, r)| r.is_err()).collect();
    println!();
    println!("checks that need tools outside cargo:");
    for (name, r) in &checks {
        match r {
            Ok(with) => println!("  ran      {name} ({with})"),
            Err(why) => println!("  SKIPPED  {name}: {why}"),
        }
    }
    if skipped.is_empty() {
        println!("none skipped");
    } else {
        println!(
            "{} skipped: those tests passed without checking; `bash .ci/run` installs the tools",
            skipped.len()
        );
    }
    println!();
    // The corpus sits beside the checkout and is optional; the tools `.ci/run` installs are not.
    let required_missing: Vec<_> = skipped
        .iter()
        .filter(|(name, _)| !name.starts_with("corpus"))
        .collect();
    if support::ci() && !required_missing.is_empty() {
        eprintln!("error: CI=true but tools that .ci/run installs are missing");
        std::process::exit(1);
    }
}
