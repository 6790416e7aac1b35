//! Text output in the style of cargo and ruff: one block per finding with the source snippet,
//! the offending span underlined, and a help line; then diagnostics and a summary.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use crate::finding::{DiagLevel, Finding, Severity};
use crate::scan::ScanResult;
use crate::source::SourceFile;

fn level(sev: Severity) -> Level<'static> {
    match sev {
        Severity::Critical | Severity::High => Level::ERROR,
        Severity::Medium | Severity::Low => Level::WARNING,
        Severity::Info => Level::INFO,
    }
    .with_name(sev.as_str())
}

/// Render the text report.
pub fn render(r: &ScanResult, color: bool, show_suppressed: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    let mut files: std::collections::HashMap<&str, SourceFile> = std::collections::HashMap::new();
    for f in r
        .findings
        .iter()
        .filter(|f| show_suppressed || !f.suppressed)
    {
        let Some(text) = r.sources.get(&f.path) else {
            let _ = writeln!(
                out,
                "{}:{}:{}: {}[{}] {}",
                f.path, f.line, f.column, f.severity, f.rule, f.message
            );
            continue;
        };
        let sf = files
            .entry(f.path.as_str())
            .or_insert_with(|| SourceFile::new(f.path.clone(), text.clone()));
        out.push_str(&render_one(&renderer, sf, f));
        out.push_str("\n\n");
    }
    for d in &r.diagnostics {
        let lvl = match d.level {
            DiagLevel::Error => "error",
            DiagLevel::Warning => "warning",
            DiagLevel::Note => "note",
        };
        if d.line > 0 {
            let _ = writeln!(
                out,
                "{lvl}: {} ({}:{}:{})",
                d.message, d.path, d.line, d.column
            );
        } else {
            let _ = writeln!(out, "{lvl}: {} ({})", d.message, d.path);
        }
    }
    out.push_str(&summary_with(r, false));
    out
}

fn render_one(renderer: &Renderer, sf: &SourceFile, f: &Finding) -> String {
    // Show the finding's lines plus one line of context either side.
    let first = f.line.saturating_sub(1).max(1);
    let last = (f.end_line + 1).min(sf.lines.line_count());
    let start = sf.lines.line_range(&sf.text, first - 1).start;
    let end = sf
        .lines
        .line_range(&sf.text, last.saturating_sub(1))
        .end
        .max(start);
    let source = sf.text.get(start..end).unwrap_or("");
    let mut span = f.span.start.saturating_sub(start)..f.span.end.saturating_sub(start);
    if span.end > source.len() {
        span.end = source.len();
    }
    if span.start > span.end {
        span.start = span.end;
    }
    // The renderer slices at the span: widen it to whole characters.
    let span =
        crate::source::text::floor(source, span.start)..crate::source::text::ceil(source, span.end);
    let mut help = String::new();
    if let Some(p) = &f.pipeline {
        let _ = write!(help, "pipeline `{p}`");
        if !f.docker_usage.is_empty() {
            let u: Vec<&str> = f.docker_usage.iter().map(|u| u.as_str()).collect();
            let _ = write!(help, " uses Docker for {}", u.join(", "));
        }
        help.push_str("; ");
    }
    if let Some(t) = f.recommended {
        let _ = write!(help, "recommended target: {t}; ");
    }
    let _ = write!(help, "see `depriv explain {}`", f.rule);
    let mut group = level(f.severity)
        .primary_title(f.message.as_str())
        .id(f.rule)
        .element(
            Snippet::source(source)
                .line_start(first)
                .path(f.path.as_str())
                .annotation(AnnotationKind::Primary.span(span).label(f.rule)),
        )
        .element(Level::HELP.message(help));
    if f.suppressed {
        group = group.element(Level::NOTE.message(format!(
            "suppressed: {}",
            f.suppression.as_deref().unwrap_or("")
        )));
    }
    if f.fixture {
        group = group.element(Level::NOTE.message(format!(
            "test fixture ({}): reported, not migrated unless --include-fixtures",
            crate::fixture::classify(f.pipeline_path.as_deref().unwrap_or(&f.path))
                .or_else(|| crate::fixture::classify(&f.path))
                .unwrap_or_default()
        )));
    }
    if f.pipelines.len() > 1 {
        group = group.element(Level::NOTE.message(format!("affects {}", f.pipelines.join(", "))));
    }
    renderer.render(&[group])
}

/// The closing summary: what was found in the files read, then (by name) the files that
/// could not be read or parsed and the files skipped, with the reason. Used where the
/// diagnostics are not printed above it (`depriv [PATH]` without a terminal).
pub fn summary(r: &ScanResult) -> String {
    summary_with(r, true)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The closing summary; `detail` lists the files that failed or were skipped (the text
/// report prints them as diagnostics above and only counts them here).
pub fn summary_with(r: &ScanResult, detail: bool) -> String {
    let active: Vec<&Finding> = r.findings.iter().filter(|f| !f.suppressed).collect();
    let suppressed = r.findings.len() - active.len();
    let failed = r.failed();
    let skipped = r.skipped();
    let files = plural(r.files_scanned, "file", "files");
    let mut out = if active.is_empty() && failed.is_empty() && r.files_scanned == 0 {
        if skipped.is_empty() {
            format!(
                "No CI configuration found {}: depriv reads GitLab CI, GitHub Actions, Jenkins, docker-compose, Kubernetes and Helm values, GitLab Runner config.toml, daemon.json, shell scripts and Makefiles.\n",
                here(&r.root)
            )
        } else {
            format!(
                "No CI configuration read {}: every candidate file was skipped.\n",
                here(&r.root)
            )
        }
    } else if active.is_empty() && !failed.is_empty() {
        format!(
            "Scan incomplete: {} could not be read or parsed; {}{}.\n",
            plural(failed.len(), "file", "files"),
            if r.files_scanned == 0 {
                "no other CI file was found".to_string()
            } else {
                format!("no findings in the {files} read")
            },
            if suppressed > 0 {
                format!(" ({suppressed} suppressed)")
            } else {
                String::new()
            }
        )
    } else if active.is_empty() {
        format!(
            "No insecure Docker patterns found in {files}{}.\n",
            if suppressed > 0 {
                format!(" ({suppressed} suppressed)")
            } else {
                String::new()
            }
        )
    } else {
        let mut by_sev = std::collections::BTreeMap::new();
        for f in &active {
            *by_sev
                .entry(std::cmp::Reverse(f.severity))
                .or_insert(0usize) += 1;
        }
        let parts: Vec<String> = by_sev.iter().map(|(s, n)| format!("{n} {}", s.0)).collect();
        format!(
            "Found {} finding{} ({}) in {files} scanned{}.\n",
            active.len(),
            if active.len() == 1 { "" } else { "s" },
            parts.join(", "),
            if suppressed > 0 {
                format!(", {suppressed} suppressed")
            } else {
                String::new()
            }
        )
    };
    if !failed.is_empty() {
        if active.is_empty() {
            if detail {
                out.push_str("Not scanned:\n");
            }
        } else {
            let _ = writeln!(
                out,
                "Not scanned: {} could not be read or parsed, so the result is incomplete{}",
                plural(failed.len(), "file", "files"),
                if detail { ":" } else { " (errors above)." }
            );
        }
        if detail {
            for d in &failed {
                let _ = writeln!(out, "  {}", located(d));
            }
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "Skipped: {}{}",
            plural(skipped.len(), "file", "files"),
            if detail { ":" } else { " (warnings above)." }
        );
        if detail {
            for d in &skipped {
                let _ = writeln!(out, "  {}", located(d));
            }
        }
    }
    out
}

fn here(root: &str) -> String {
    if matches!(root, "." | "./" | "") {
        "here".to_string()
    } else {
        format!("in {root}")
    }
}

/// `path:line:col: message` (or `path: message` for a whole file).
fn located(d: &crate::finding::Diagnostic) -> String {
    let msg = d
        .message
        .strip_prefix(crate::discover::SKIPPED)
        .unwrap_or(&d.message);
    if d.line > 0 {
        format!("{}:{}:{}: {msg}", d.path, d.line, d.column)
    } else {
        format!("{}: {msg}", d.path)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Config;

    #[test]
    fn a_span_inside_a_character_is_widened_not_a_panic() {
        let text = "services:\n  a:\n    image: x\n    privileged: true # Звук\n";
        let mut r = crate::scan::scan_memory(
            BTreeMap::from([("docker-compose.yml".to_string(), text.to_string())]),
            &Config::default(),
        );
        let inside = text.find('З').expect("З") + 1;
        let f = r.findings.first_mut().expect("a finding");
        f.span.end = inside;
        f.end_line = 4;
        let out = render(&r, false, false);
        assert!(out.contains("privileged: true # Звук"), "{out}");
    }
}
