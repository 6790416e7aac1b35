//! `depriv scan` and the non-interactive `depriv [PATH]` summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use depriv::finding::Severity;
use depriv::report::baseline::Baseline;
use depriv::report::{self, Format};
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
    /// Repository to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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

fn open(path: &Path) -> anyhow::Result<Session> {
    Session::open(path).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn run(args: ScanArgs, color: ColorChoice) -> anyhow::Result<u8> {
    let session = open(&args.path)?;
    let mut result = session.scan();
    if let Some(file) = &args.write_baseline {
        std::fs::write(file, Baseline::from_scan(&result).to_json())
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let baseline = match &args.baseline {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let b = Baseline::parse(&text).with_context(|| file.display().to_string())?;
            if args.new_only {
                let known = b.retain_new(&mut result);
                if known > 0 {
                    eprintln!(
                        "note: {known} finding{} in the baseline not shown",
                        if known == 1 { "" } else { "s" }
                    );
                }
            }
            Some(b)
        }
    };
    let to_tty = args.output.is_none() && std::io::stdout().is_terminal();
    let text = match args.format {
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
    if args.output.is_some() || args.format != Format::Text {
        for d in result
            .diagnostics
            .iter()
            .filter(|d| d.level == depriv::finding::DiagLevel::Error)
        {
            eprintln!("error: {} ({}:{}:{})", d.message, d.path, d.line, d.column);
        }
    }
    let failing = args.fail_on.threshold().is_some_and(|t| {
        result.findings.iter().any(|f| {
            !f.suppressed && f.severity >= t && !baseline.as_ref().is_some_and(|b| b.contains(f))
        })
    });
    if result.has_errors() {
        return Ok(2);
    }
    Ok(if failing { 1 } else { 0 })
}

pub fn summary(path: &Path) -> anyhow::Result<u8> {
    let session = open(path)?;
    let result = session.scan();
    let mut by_pipeline: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for f in result.findings.iter().filter(|f| !f.suppressed) {
        *by_pipeline
            .entry((
                f.path.clone(),
                f.pipeline.clone().unwrap_or_else(|| "-".into()),
            ))
            .or_default() += 1;
    }
    print!("{}", report::text::summary(&result));
    for ((p, name), n) in &by_pipeline {
        println!(
            "  {p}: {name} ({n} finding{})",
            if *n == 1 { "" } else { "s" }
        );
    }
    let shown = path.display();
    println!(
        "\nNext:\n  depriv scan {shown}                 details with source snippets\n  depriv scan {shown} --format sarif   for code scanning"
    );
    Ok(if result.findings.iter().any(|f| !f.suppressed) {
        1
    } else {
        0
    })
}
