//! The exit status scheme shared by every command, so a CI job or a bot can act on it:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done: nothing at or above `--fail-on`, or a migration left nothing to do (findings in test fixtures it leaves alone by design aside) |
//! | 1 | findings remain: at or above `--fail-on` (`scan`, `depriv [PATH]`), or findings a migration could not handle (`migrate`, `--accept-defaults`) |
//! | 2 | error: usage, input (a file that could not be read or parsed) or I/O |
//! | 3 | migrated; no finding remains in the repository, but manual tasks outside it do (install sysbox on the runner hosts, a RuntimeClass, …) |
//!
//! A file that could not be read or parsed wins over findings: the run exits 2, since a
//! clean result would not be trustworthy.

use crate::migrate::Preview;
use crate::scan::ScanResult;

/// Nothing left to do.
pub const OK: u8 = 0;
/// Findings remain.
pub const FINDINGS: u8 = 1;
/// Usage, input or I/O error.
pub const ERROR: u8 = 2;
/// Migrated; manual tasks outside the repository remain.
pub const MANUAL: u8 = 3;

/// The scheme as printed in `--help` and the man page.
pub const HELP: &str = "Exit status:
  0  done: nothing at or above --fail-on; after a migration, nothing left to do
  1  findings remain: at or above --fail-on (scan, depriv [PATH]), or findings a
     migration could not handle (migrate, --accept-defaults)
  2  error: usage, input (a file that could not be read or parsed) or I/O
  3  migrated; no finding remains, but manual tasks outside the repository do
`depriv demo` exits 0 after a completed walk-through and 2 on errors.";

/// Exit status after a migration (or its dry run) of `scan`.
pub fn after_migration(scan: &ScanResult, preview: &Preview) -> u8 {
    if scan.has_errors() {
        ERROR
    } else if preview
        .remaining
        .iter()
        // Fixtures a migration leaves alone by design are reported, not failed on.
        .any(|f| !f.fixture || f.fixture_included)
    {
        FINDINGS
    } else if preview.results.iter().any(|r| !r.manual.is_empty()) {
        MANUAL
    } else {
        OK
    }
}
