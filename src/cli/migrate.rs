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
use depriv::write::{self, Replacement};

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
    /// Where the runners run (overrides `.depriv.toml` [environment]).
    #[arg(long, value_enum, value_name = "HOSTS")]
    pub runner_hosts: Option<depriv::config::RunnerHosts>,
    /// Whether sysbox is installed or installable on the runner hosts.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub sysbox: Option<bool>,
    /// The registry images are pushed to.
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// The runner tag of the sysbox runners GitLab jobs move to (default `sysbox`).
    #[arg(long, value_name = "TAG")]
    pub sysbox_tag: Option<String>,
    /// Also write a report (format from the extension: .md, .json, .sarif, .html).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also migrate test fixtures and vendored examples (`src/test/`, `testdata/`,
    /// `vendor/…/examples/`, a chart's `templates/tests/`), which are otherwise reported only.
    #[arg(long)]
    pub include_fixtures: bool,
}

impl MigrateArgs {
    /// `depriv --accept-defaults PATH`: the whole flow with a Markdown report.
    pub fn accept_defaults(path: PathBuf) -> MigrateArgs {
        MigrateArgs {
            path,
            strategy: Strategy::Auto,
            accept_defaults: true,
            dry_run: false,
            plan: None,
            save_plan: None,
            templates: None,
            allow_dirty: false,
            allow_no_vcs: false,
            runner_hosts: None,
            sysbox: None,
            registry: None,
            sysbox_tag: None,
            report: Some(PathBuf::from("depriv-report.md")),
            include_fixtures: false,
        }
    }
}

pub fn run(args: MigrateArgs, color: ColorChoice) -> anyhow::Result<u8> {
    let mut session = Session::open(&args.path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = &args.templates {
        let t = Templates::with_overrides(dir)?;
        t.check().map_err(|e| {
            anyhow::anyhow!("--templates {}: {e}; nothing was planned", dir.display())
        })?;
        session.set_templates(t);
    }
    if args.include_fixtures {
        session.config_mut().include_fixtures = depriv::config::IncludeFixtures::All(true);
    }
    {
        let env = &mut session.config_mut().environment;
        if let Some(h) = args.runner_hosts {
            env.runner_hosts = h;
        }
        if let Some(b) = args.sysbox {
            env.sysbox = Some(b);
        }
        if let Some(r) = &args.registry {
            env.registry = Some(r.clone());
        }
        if let Some(t) = &args.sysbox_tag {
            env.sysbox_tag = Some(t.clone());
        }
    }
    // Refuse a report format we cannot write before anything is written.
    let report_format = match &args.report {
        Some(r) => Some(super::output::report_format(None, Some(r))?),
        None => None,
    };
    if !args.dry_run {
        match write::recover(session.root()) {
            Ok(Some(r)) if r.conflicts.is_empty() => eprintln!(
                "note: an interrupted migration was rolled back ({} file{} restored)",
                r.restored.len(),
                if r.restored.len() == 1 { "" } else { "s" }
            ),
            Ok(Some(r)) => bail!(
                "an interrupted migration left {} changed by hand since; resolve them (the originals are kept in the journal)",
                r.conflicts.join(", ")
            ),
            Ok(None) => {}
            Err(e) => bail!("{e}"),
        }
        write::vcs_guard(session.root(), args.allow_dirty, args.allow_no_vcs)?;
    }
    let scan = super::progress::scan(&session);
    // A file that cannot be parsed blocks only the pipelines that read it: the rest migrate,
    // and the error stays in the output and the exit code.
    for d in scan
        .diagnostics
        .iter()
        .filter(|d| d.level == depriv::finding::DiagLevel::Error)
    {
        eprintln!(
            "error: {} ({}:{}:{}); pipelines that read this file are not migrated",
            d.message, d.path, d.line, d.column
        );
    }
    let spinner = super::progress::Spinner::start("planning, rewriting and verifying");
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
    drop(spinner);
    let color = color.enabled(std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        for c in &preview.changes {
            write_diff(&mut out, &c.unified_diff(), color)?;
        }
        write!(out, "{}", summary(&preview, false))?;
    } else {
        let files: Vec<Replacement> = preview
            .changes
            .iter()
            .map(|c| Replacement {
                path: c.path.clone(),
                before: c.before.as_bytes().to_vec(),
                after: c.after.as_bytes().to_vec(),
            })
            .collect();
        // Write first: the summary then says what happened, not what would.
        if !files.is_empty() {
            write::write_all(session.root(), &files, &write::NoFaults)?;
        }
        write!(out, "{}", summary(&preview, true))?;
        let unparsed = scan
            .diagnostics
            .iter()
            .any(|d| d.level == depriv::finding::DiagLevel::Error);
        if files.is_empty() && unparsed {
            writeln!(
                out,
                "Nothing written; files that could not be parsed (errors above) block the pipelines that read them."
            )?;
        } else if files.is_empty() {
            writeln!(
                out,
                "Nothing written: the repository is already migrated as far as depriv can take it."
            )?;
        } else {
            writeln!(
                out,
                "Wrote {} file{}. Undo with: {} undo {}",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                super::invocation(),
                args.path.display()
            )?;
        }
    }
    if let (Some(r), Some(format)) = (&args.report, report_format) {
        write_report(r, format, &session, &preview, !args.dry_run)?;
        writeln!(out, "Report: {}", r.display())?;
    }
    let code = depriv::exit::after_migration(&scan, &preview);
    if code != depriv::exit::OK {
        let partial = preview
            .results
            .iter()
            .any(|r| r.status == depriv::rewrite::Status::Partial);
        writeln!(out, "{}", exit_line(code, args.dry_run, partial))?;
    }
    Ok(code)
}

/// One line that says what the exit status means.
fn exit_line(code: u8, dry_run: bool, partial: bool) -> &'static str {
    match (code, dry_run) {
        (depriv::exit::MANUAL, _) if partial => {
            "Exit status 3: no finding remains in the repository; the manual tasks above remain, and the partial pipelines need theirs before they work as migrated."
        }
        (depriv::exit::FINDINGS, false) => {
            "Exit status 1: findings remain that depriv could not migrate (listed above)."
        }
        (depriv::exit::FINDINGS, true) => {
            "Exit status 1: findings would remain that depriv cannot migrate (listed above)."
        }
        (depriv::exit::MANUAL, _) => {
            "Exit status 3: no finding remains in the repository; the manual tasks above remain outside it."
        }
        _ => "",
    }
}

fn write_report(
    path: &std::path::Path,
    format: depriv::report::migration::ReportFormat,
    session: &Session,
    preview: &Preview,
    written: bool,
) -> anyhow::Result<()> {
    use depriv::report::migration;
    let report = migration::for_migrate(session, preview, written);
    std::fs::write(path, format.render(&report))
        .with_context(|| format!("cannot write {}", path.display()))
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
            writeln!(out, "{style}{}\x1b[0m", line.trim_end_matches('\n'))?;
        }
    }
    Ok(())
}

/// The per-pipeline summary printed after the diff (`written`: after the files were written).
pub fn summary(p: &Preview, written: bool) -> String {
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
    let findings = format!(
        "{} finding{}",
        p.remaining.len(),
        if p.remaining.len() == 1 { "" } else { "s" }
    );
    if written {
        s.push_str(&format!("\n{findings} remain.\n"));
    } else {
        s.push_str(&format!(
            "\n{} file{} would change; {findings} would remain.\n",
            files,
            if files == 1 { "" } else { "s" },
        ));
    }
    for f in &p.remaining {
        s.push_str(&format!(
            "  {} {} {}:{} ({})\n",
            f.severity,
            f.rule,
            f.path,
            f.line,
            f.pipeline.as_deref().unwrap_or("-")
        ));
    }
    s
}
