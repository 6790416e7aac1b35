//! `depriv scan` and the non-interactive `depriv [PATH]` summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use depriv::exit;
use depriv::finding::Severity;
use depriv::report::baseline::Baseline;
use depriv::report::{self, Format};
use depriv::scan::ScanResult;
use depriv::session::Session;

use super::ColorChoice;

/// Threshold for exit code 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
    /// Never fail because of findings.
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Repository to scan, or one file of it (scanned in its repository's context).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format [default: from the --output extension (.txt, .json, .sarif), else text].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the output to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Show suppressed findings in text output too.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Compare with a baseline (`--write-baseline`): the findings it lists do not fail the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Report only findings that are not in the baseline.
    #[arg(long, requires = "baseline")]
    pub new_only: bool,
    /// Write today's findings as a baseline (JSON) for later `--baseline` runs.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// Open PATH's repository and scan it; for a file, keep what concerns that file.
pub fn scan_target(path: &Path, progress: bool) -> anyhow::Result<ScanResult> {
    let target = super::output::target(path);
    let mut session = Session::open(&target.root).map_err(|e| anyhow::anyhow!("{e}"))?;
    // No migration follows: parsed files need not outlive the scan.
    session.set_keep_trees(false);
    let mut result = if progress {
        super::progress::scan(&session)
    } else {
        session.scan()
    };
    if let Some(only) = &target.only {
        narrow(&mut result, only, path)?;
    }
    Ok(result)
}

/// Keep the findings, diagnostics and pipelines of one file.
fn narrow(r: &mut ScanResult, only: &str, given: &Path) -> anyhow::Result<()> {
    let known = r.sources.contains_key(only)
        || r.pipelines.iter().any(|p| p.path == only)
        || r.diagnostics.iter().any(|d| d.path == only);
    if !known && depriv::discover::classify(only).is_none() {
        anyhow::bail!(
            "{} is not a file depriv reads (CI configuration, compose, Kubernetes, runner config, daemon.json, shell script or Makefile)",
            given.display()
        );
    }
    r.findings
        .retain(|f| f.path == only || f.pipeline_path.as_deref() == Some(only));
    r.diagnostics.retain(|d| d.path == only);
    r.pipelines.retain(|p| p.path == only);
    r.files_scanned = usize::from(
        !r.diagnostics
            .iter()
            .any(|d| d.level == depriv::finding::DiagLevel::Error || depriv::discover::is_skip(d)),
    );
    Ok(())
}

pub fn run(args: ScanArgs, color: ColorChoice) -> anyhow::Result<u8> {
    let format = super::output::scan_format(args.format, args.output.as_deref())?;
    let mut result = scan_target(&args.path, true)?;
    if let Some(file) = &args.write_baseline {
        let b = Baseline::from_scan(&result);
        std::fs::write(file, b.to_json())
            .with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!(
            "Wrote baseline {}: {}.",
            file.display(),
            plural(b.findings.len(), "finding", "findings")
        );
    }
    let baseline = match &args.baseline {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let b = Baseline::parse(&text).with_context(|| file.display().to_string())?;
            let active: Vec<_> = result.findings.iter().filter(|f| !f.suppressed).collect();
            let known = active.iter().filter(|f| b.contains(f)).count();
            eprintln!(
                "Baseline {}: {}, {} in the baseline, {} new{}.",
                file.display(),
                plural(active.len(), "finding", "findings"),
                known,
                active.len() - known,
                if args.new_only && known > 0 {
                    " (only the new ones are shown)"
                } else {
                    ""
                }
            );
            if args.new_only {
                b.retain_new(&mut result);
            }
            Some(b)
        }
    };
    let to_tty = args.output.is_none() && std::io::stdout().is_terminal();
    let text = match format {
        Format::Text => report::text::render(&result, color.enabled(to_tty), args.show_suppressed),
        Format::Json => report::json::render(&result),
        Format::Sarif => report::sarif::render(&result),
    };
    match &args.output {
        Some(file) => std::fs::write(file, &text)
            .with_context(|| format!("cannot write {}", file.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).ok();
        }
    }
    if args.output.is_some() || format != Format::Text {
        // The document went elsewhere: say on stderr what it holds.
        for d in result
            .diagnostics
            .iter()
            .filter(|d| d.level == depriv::finding::DiagLevel::Error)
        {
            eprintln!("error: {} ({}:{}:{})", d.message, d.path, d.line, d.column);
        }
        eprint!("{}", report::text::summary_with(&result, false));
    }
    let failing = args.fail_on.threshold().is_some_and(|t| {
        result.findings.iter().any(|f| {
            !f.suppressed && f.severity >= t && !baseline.as_ref().is_some_and(|b| b.contains(f))
        })
    });
    Ok(code(&result, failing))
}

/// The scan's exit status (see [`depriv::exit`]): an unreadable or unparsable file wins.
fn code(result: &ScanResult, failing: bool) -> u8 {
    if result.has_errors() {
        exit::ERROR
    } else if failing {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `depriv [PATH]` without a terminal: the summary and the commands to run next. Exit
/// status as `depriv scan PATH` with the default `--fail-on low`.
pub fn summary(path: &Path) -> anyhow::Result<u8> {
    let result = scan_target(path, false)?;
    let mut by_pipeline: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for f in result.findings.iter().filter(|f| !f.suppressed) {
        *by_pipeline
            .entry((
                f.path.clone(),
                f.pipeline.clone().unwrap_or_else(|| "-".into()),
            ))
            .or_default() += 1;
    }
    // A closed pipe (`| head`) ends the output, not the process with a panic.
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", report::text::summary(&result));
    for ((p, name), n) in &by_pipeline {
        let _ = writeln!(out, "  {p}: {name} ({})", plural(*n, "finding", "findings"));
    }
    let failing = FailOn::Low.threshold().is_some_and(|t| {
        result
            .findings
            .iter()
            .any(|f| !f.suppressed && f.severity >= t)
    });
    if !result.findings.is_empty() || !result.diagnostics.is_empty() {
        let shown = path.display();
        let d = super::invocation();
        let _ = writeln!(
            out,
            "\nNext:\n  {d} scan {shown}                 details with source snippets\n  {d} scan {shown} --format sarif   for code scanning\n  {d} migrate {shown} --dry-run     what a migration would change"
        );
    }
    Ok(code(&result, failing))
}
