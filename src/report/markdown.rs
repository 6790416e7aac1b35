//! The Markdown migration report: per pipeline what changed and what is left, manual tasks
//! with their snippets, files written, findings remaining.

use std::fmt::Write as _;

use crate::migrate::Preview;

/// Render a migration report. `written` says whether the changes were written or only
/// previewed.
pub fn render(root: &str, p: &Preview, written: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# depriv migration report\n");
    let _ = writeln!(
        s,
        "Repository: `{root}` · {} · {} pipeline{} · {} file{} {} · {} finding{} remaining\n",
        if written {
            "changes written"
        } else {
            "preview (nothing written)"
        },
        p.results.len(),
        if p.results.len() == 1 { "" } else { "s" },
        p.changes.len(),
        if p.changes.len() == 1 { "" } else { "s" },
        if written { "changed" } else { "would change" },
        p.remaining.len(),
        if p.remaining.len() == 1 { "" } else { "s" },
    );
    if p.results.is_empty() {
        s.push_str("Nothing to migrate: no active findings.\n");
        return s;
    }
    s.push_str("## Pipelines\n\n| pipeline | file | target | status | findings addressed | residual risk |\n|---|---|---|---|---|---|\n");
    for r in &p.results {
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | **{}** | {}/{} | {} |",
            r.pipeline.replace('|', "\\|"),
            r.path,
            r.choice.as_str(),
            r.status.as_str(),
            r.addressed,
            r.findings,
            r.residual_risk.unwrap_or("—")
        );
    }
    if !p.changes.is_empty() {
        s.push_str("\n## Files changed\n\n| file | added | removed |\n|---|---:|---:|\n");
        for c in &p.changes {
            let _ = writeln!(s, "| `{}` | +{} | −{} |", c.path, c.added, c.removed);
        }
    }
    let tasks: Vec<_> = p
        .results
        .iter()
        .flat_map(|r| r.manual.iter().map(move |m| (r, m)))
        .collect();
    if !tasks.is_empty() {
        s.push_str("\n## Manual tasks\n");
        for (r, m) in tasks {
            let _ = writeln!(
                s,
                "\n### {}\n\nFor `{}` ({}) — {}\n",
                m.title, r.pipeline, r.path, m.location
            );
            if !m.snippet.is_empty() {
                let _ = writeln!(s, "```{}\n{}\n```", m.lang, m.snippet.trim_end());
            }
        }
    }
    let notes: Vec<_> = p
        .results
        .iter()
        .flat_map(|r| r.notes.iter().map(move |n| (r, n)))
        .collect();
    if !notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for (r, n) in notes {
            let _ = writeln!(s, "- `{}`: {}", r.pipeline, n);
        }
    }
    if !p.remaining.is_empty() {
        s.push_str("\n## Findings remaining\n\n| rule | severity | location | pipeline |\n|---|---|---|---|\n");
        for f in &p.remaining {
            let _ = writeln!(
                s,
                "| `{}` | {} | `{}:{}` | {} |",
                f.rule,
                f.severity,
                f.path,
                f.line,
                f.pipeline.as_deref().unwrap_or("—")
            );
        }
    }
    s
}
