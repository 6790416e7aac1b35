//! `depriv report`: a migration report in Markdown, JSON, SARIF or HTML — an assessment of
//! what a migration would change, or, after `migrate`, what it changed (read from its journal).
//! Exit 2 when files could not be scanned (the report is still written), else 0.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use depriv::migrate::Strategy;
use depriv::plan::PlanFile;
use depriv::report::migration::{self, Options, ReportFormat};
use depriv::session::Session;
use depriv::templates::Templates;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Repository to report on.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format [default: from the --output extension (.md, .json, .sarif, .html), else md].
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Take the decisions of a saved plan (`migrate --save-plan`).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// How to choose targets (auto = the recommended one per pipeline).
    #[arg(long, value_enum, default_value_t = Strategy::Auto)]
    pub strategy: Strategy,
    /// Override built-in templates by file name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Assess the repository as it is, even right after a migration.
    #[arg(long)]
    pub assessment: bool,
    /// Plan test fixtures and vendored examples too (reported as skipped otherwise).
    #[arg(long)]
    pub include_fixtures: bool,
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let format = super::output::report_format(args.format, args.output.as_deref())?;
    let mut session = Session::open(&args.path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let templates = match &args.templates {
        Some(dir) => {
            let t = Templates::with_overrides(dir)?;
            t.check()
                .map_err(|e| anyhow::anyhow!("--templates {}: {e}", dir.display()))?;
            t
        }
        None => Templates::builtin(),
    };
    session.set_templates(templates.clone());
    if args.include_fixtures {
        session.config_mut().include_fixtures = depriv::config::IncludeFixtures::All(true);
    }
    let plan = match &args.plan {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let file: PlanFile = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "invalid plan ({}:{}:{}): {e}",
                    p.display(),
                    e.line(),
                    e.column()
                )
            })?;
            Some(file)
        }
    };
    let opts = Options {
        strategy: args.strategy,
        plan,
        assessment_only: args.assessment,
    };
    let report = migration::for_repository(&session, &templates, &opts)?;
    let text = format.render(&report);
    match &args.output {
        Some(file) => std::fs::write(file, &text)
            .with_context(|| format!("cannot write {}", file.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).ok();
        }
    }
    if report.summary.files_not_scanned > 0 {
        for n in report.notes.iter().take(report.summary.files_not_scanned) {
            eprintln!("error: {n}");
        }
        return Ok(2);
    }
    Ok(0)
}
