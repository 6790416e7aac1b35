//! `depriv migrate`: plan, rewrite, verify and show the diff (`--dry-run`); save or replay a
//! plan.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use depriv::migrate::{Preview, Strategy};
use depriv::plan::PlanFile;
use depriv::session::Session;
use depriv::templates::Templates;

use super::ColorChoice;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Repository to migrate.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// How to choose targets (auto = the recommended one per pipeline).
    #[arg(long, value_enum, default_value_t = Strategy::Auto)]
    pub strategy: Strategy,
    /// Take every recommended answer; never prompt.
    #[arg(long)]
    pub accept_defaults: bool,
    /// Compute everything, write nothing, print the unified diff.
    #[arg(long)]
    pub dry_run: bool,
    /// Replay the decisions of a saved plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Save the decisions as a plan (JSON).
    #[arg(long, value_name = "FILE")]
    pub save_plan: Option<PathBuf>,
    /// Override built-in templates by file name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Allow a dirty working tree.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Allow a directory outside version control.
    #[arg(long)]
    pub allow_no_vcs: bool,
}

pub fn run(args: MigrateArgs, color: ColorChoice) -> anyhow::Result<u8> {
    let mut session = Session::open(&args.path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = &args.templates {
        session.set_templates(Templates::with_overrides(dir)?);
    }
    let scan = session.scan();
    if scan.has_errors() {
        for d in scan
            .diagnostics
            .iter()
            .filter(|d| d.level == depriv::finding::DiagLevel::Error)
        {
            eprintln!("error: {} ({}:{}:{})", d.message, d.path, d.line, d.column);
        }
        bail!("fix the files above first: depriv migrates only what it can parse");
    }
    let mut plan = session.plan(&scan, args.strategy);
    if let Some(p) = &args.plan {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        let file: PlanFile = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "invalid plan ({}:{}:{}): {e}",
                p.display(),
                e.line(),
                e.column()
            )
        })?;
        plan.apply_file(&file)?;
    }
    if let Some(p) = &args.save_plan {
        let mut text = serde_json::to_string_pretty(&plan.to_file())?;
        text.push('\n');
        std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let preview = session.preview(&plan, &scan);
    let color = color.enabled(std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        for c in &preview.changes {
            write_diff(&mut out, &c.unified_diff(), color)?;
        }
    }
    write!(out, "{}", summary(&preview))?;
    if !args.dry_run {
        bail!("writing changes is not available yet: run with --dry-run to see the diff");
    }
    Ok(if preview.remaining.is_empty() { 0 } else { 1 })
}

fn write_diff(out: &mut impl Write, diff: &str, color: bool) -> std::io::Result<()> {
    for line in diff.split_inclusive('\n') {
        let style = if !color {
            ""
        } else if line.starts_with("+++") || line.starts_with("---") {
            "\x1b[1m"
        } else if line.starts_with('+') {
            "\x1b[32m"
        } else if line.starts_with('-') {
            "\x1b[31m"
        } else if line.starts_with("@@") {
            "\x1b[36m"
        } else {
            ""
        };
        if style.is_empty() {
            out.write_all(line.as_bytes())?;
        } else {
            write!(out, "{style}{}\x1b[0m\n", line.trim_end_matches('\n'))?;
        }
    }
    Ok(())
}

/// The per-pipeline summary printed after the diff.
pub fn summary(p: &Preview) -> String {
    let mut s = String::new();
    if p.results.is_empty() {
        s.push_str("Nothing to migrate: no active findings.\n");
        return s;
    }
    s.push_str("\nPipelines:\n");
    for r in &p.results {
        s.push_str(&format!(
            "  {:<11} {:<9} {} ({}) — {}/{} findings addressed{}\n",
            r.status.as_str(),
            r.choice.as_str(),
            r.pipeline,
            r.path,
            r.addressed,
            r.findings,
            if r.why == "recommended" {
                String::new()
            } else {
                format!("; {}", r.why)
            }
        ));
        for n in &r.notes {
            s.push_str(&format!("      note: {n}\n"));
        }
        for m in &r.manual {
            s.push_str(&format!("      manual: {} ({})\n", m.title, m.location));
        }
    }
    let files: usize = p.changes.len();
    s.push_str(&format!(
        "\n{} file{} would change; {} finding{} would remain.\n",
        files,
        if files == 1 { "" } else { "s" },
        p.remaining.len(),
        if p.remaining.len() == 1 { "" } else { "s" }
    ));
    s
}
