//! The Markdown migration report, for GitHub and GitLab: summary, per pipeline what changed
//! (or would) and what is left, manual tasks with their snippets, troubleshooting per chosen
//! target, where each mitigation strategy is implemented or missing, the files manifest with
//! SHA-256 before/after, and the diffs in collapsible blocks.

use std::fmt::Write as _;

use super::guide::code_block;
use super::migration::{self, FindingReport, Inputs, Mode, Report, Risk};
use super::strategies::{Coverage, Evidence, Item};
use crate::config::Environment;
use crate::migrate::{MigrationPlan, Preview};
use crate::scan::ScanResult;

/// Render a migration report from a preview alone (no scan at hand: per-pipeline findings are
/// not listed). `written` says whether the changes were written or only previewed. Prefer
/// [`render_report`] on a report built with the scan.
pub fn render(root: &str, p: &Preview, written: bool) -> String {
    let env = Environment::default();
    let plan = MigrationPlan {
        environment: env.clone(),
        pipelines: Vec::new(),
    };
    let report = migration::build(&Inputs {
        root,
        environment: &env,
        before: &ScanResult::default(),
        plan: &plan,
        preview: p,
        evidence: &Evidence::default(),
        mode: if written {
            Mode::Migration
        } else {
            Mode::Assessment
        },
        written,
    });
    render_report(&report)
}

/// Inline code that survives backticks and table pipes.
pub fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let mut longest = 0usize;
    let mut cur = 0usize;
    for c in s.chars() {
        if c == '`' {
            cur += 1;
            longest = longest.max(cur);
        } else {
            cur = 0;
        }
    }
    let ticks = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{}{pad}{ticks}", s.replace('|', "\\|"))
}

/// Plain text for a table cell or a list item: one line, pipes and markup escaped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A `##` heading preceded by exactly one blank line.
fn heading(s: &mut String, title: &str) {
    while s.ends_with("\n\n") {
        s.pop();
    }
    let _ = writeln!(s, "\n## {title}\n");
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn risk(r: &Risk) -> String {
    r.level.map_or("none", |l| l.as_str()).to_string()
}

fn at(path: &str, line: usize) -> String {
    if line == 0 {
        code(path)
    } else {
        code(&format!("{path}:{line}"))
    }
}

fn findings_table(s: &mut String, fs: &[FindingReport], with_addressed: bool) {
    s.push_str("| rule | severity | location | message |");
    s.push_str(if with_addressed {
        " addressed |\n|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|\n"
    });
    for f in fs {
        let _ = write!(
            s,
            "| {} | {} | {} | {} |",
            code(f.rule),
            f.severity,
            at(&f.path, f.line),
            text(&f.message)
        );
        if with_addressed {
            let _ = write!(s, " {} |", if f.addressed { "yes" } else { "no" });
        }
        s.push('\n');
    }
}

fn items(s: &mut String, list: &[Item], empty: &str) {
    if list.is_empty() {
        let _ = writeln!(s, "{empty}\n");
        return;
    }
    for i in list {
        let _ = writeln!(
            s,
            "- {} ({}): {}",
            at(&i.path, i.line),
            text(&i.aspect),
            text(&i.detail)
        );
    }
    s.push('\n');
}

/// Render a report as Markdown.
pub fn render_report(r: &Report) -> String {
    let mut s = String::new();
    let written = r.written;
    let _ = writeln!(
        s,
        "# {}\n",
        match r.mode {
            Mode::Assessment => "depriv assessment",
            Mode::Migration => "depriv migration report",
        }
    );
    let sm = &r.summary;
    let _ = writeln!(
        s,
        "Repository {} · {} · {} · {} {} · {} {}\n",
        code(&r.repository),
        if written {
            "changes written"
        } else {
            "preview (nothing written)"
        },
        plural(sm.pipelines, "pipeline", "pipelines"),
        plural(sm.files_changed, "file", "files"),
        if written { "changed" } else { "would change" },
        plural(sm.findings_remaining, "finding", "findings"),
        if written { "remaining" } else { "would remain" },
    );
    if sm.files_not_scanned > 0 {
        let _ = writeln!(
            s,
            "> **{} could not be scanned**, so nothing in {} is migrated: see [Notes](#notes).\n",
            plural(sm.files_not_scanned, "file", "files"),
            if sm.files_not_scanned == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    if r.pipelines.is_empty() {
        s.push_str("Nothing to migrate: no active findings.\n");
    } else {
        let sev = |l: Option<crate::finding::Severity>| l.map_or("none", |l| l.as_str());
        let _ = writeln!(s, "## Summary\n");
        let _ = writeln!(
            s,
            "| | before | after |\n|---|---:|---:|\n| findings | {} | {} |\n| highest severity | {} | {} |\n| lines | | +{} −{} |\n",
            sm.findings_before,
            sm.findings_remaining,
            sev(sm.risk_before),
            sev(sm.risk_after),
            sm.lines_added,
            sm.lines_removed
        );
        let statuses: Vec<String> = sm
            .statuses
            .pairs()
            .iter()
            .map(|(k, v)| format!("{} {v}", k.as_str()))
            .collect();
        let _ = writeln!(
            s,
            "Pipelines: {} · manual tasks: {}\n",
            statuses.join(" · "),
            sm.manual_tasks
        );
        let _ = writeln!(s, "## Pipelines\n");
        s.push_str("| # | pipeline | file | Docker usage | target | status | addressed | files changed | risk before → after |\n|---:|---|---|---|---|---|---:|---:|---|\n");
        for p in &r.pipelines {
            let usage: Vec<&str> = p.docker_usage.iter().map(|u| u.as_str()).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | **{}** | {}/{} | {} | {} → {} |",
                p.id,
                code(&p.name),
                code(&p.path),
                if usage.is_empty() {
                    "unknown".to_string()
                } else {
                    usage.join(", ")
                },
                p.target,
                p.status.as_str(),
                p.findings_addressed,
                p.findings.len(),
                p.files.len(),
                risk(&p.risk_before),
                risk(&p.risk_after)
            );
        }
        for p in &r.pipelines {
            let _ = writeln!(
                s,
                "\n### {}. {} — {}\n",
                p.id,
                code(&p.name),
                p.status.as_str()
            );
            let usage: Vec<&str> = p.docker_usage.iter().map(|u| u.as_str()).collect();
            let _ = writeln!(
                s,
                "- Declared at {} ({}, {})",
                at(&p.path, p.line),
                p.surface,
                match p.hosting {
                    crate::model::Hosting::Unknown => "runners unknown",
                    crate::model::Hosting::GithubHosted => "GitHub-hosted",
                    crate::model::Hosting::SelfHosted => "self-hosted",
                    crate::model::Hosting::Kubernetes => "Kubernetes",
                    crate::model::Hosting::Swarm => "Swarm stack",
                }
            );
            let _ = writeln!(
                s,
                "- Docker usage: {}",
                if usage.is_empty() {
                    "unknown".to_string()
                } else {
                    usage.join(", ")
                }
            );
            if p.why == "recommended" {
                let _ = writeln!(s, "- Target: **{}** (recommended)", p.target);
            } else {
                let _ = writeln!(
                    s,
                    "- Target: **{}** (recommended: {}; {})",
                    p.target,
                    p.recommended,
                    text(&p.why)
                );
            }
            let _ = writeln!(
                s,
                "- Risk before: **{}** ({})",
                risk(&p.risk_before),
                text(&p.risk_before.text)
            );
            let _ = writeln!(
                s,
                "- Risk after: **{}** ({})",
                risk(&p.risk_after),
                text(&p.risk_after.text)
            );
            if !p.files.is_empty() {
                let files: Vec<String> = p
                    .files
                    .iter()
                    .map(|f| format!("{} +{} −{}", code(&f.path), f.added, f.removed))
                    .collect();
                let _ = writeln!(s, "- Files changed: {}", files.join(", "));
            }
            if !p.manual_tasks.is_empty() {
                let ids: Vec<String> = p
                    .manual_tasks
                    .iter()
                    .map(|id| format!("[{id}](#task-{id})"))
                    .collect();
                let _ = writeln!(s, "- Manual tasks: {}", ids.join(", "));
            }
            if !p.shared_with.is_empty() {
                let _ = writeln!(
                    s,
                    "- Shares a construct with: {}",
                    text(&p.shared_with.join(", "))
                );
            }
            if !p.findings.is_empty() {
                let _ = writeln!(
                    s,
                    "\nFindings ({} of {} addressed):\n",
                    p.findings_addressed,
                    p.findings.len()
                );
                findings_table(&mut s, &p.findings, true);
            }
            if !p.notes.is_empty() {
                s.push_str("\nNotes:\n\n");
                for n in &p.notes {
                    let _ = writeln!(s, "- {}", text(n));
                }
            }
        }
    }
    if !r.manual_tasks.is_empty() {
        heading(&mut s, "Manual tasks");
        for t in &r.manual_tasks {
            let _ = writeln!(
                s,
                "### Task {}: {}\n\n<a id=\"task-{}\"></a>Where: {} · for {}\n",
                t.id,
                text(&t.title),
                t.id,
                text(&t.location),
                t.pipelines
                    .iter()
                    .map(|p| code(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !t.snippet.is_empty() {
                s.push_str(&code_block(&t.lang, &t.snippet));
                s.push('\n');
            }
        }
    }
    if !r.troubleshooting.is_empty() {
        heading(&mut s, "Troubleshooting");
        for t in &r.troubleshooting {
            let _ = writeln!(s, "### {} (`{}`)\n", t.title, t.target.as_str());
            for i in &t.items {
                let _ = writeln!(s, "- **{}** — {}", i.title, i.text);
            }
            s.push('\n');
        }
    }
    heading(&mut s, "Mitigation strategies");
    s.push_str("| strategy | coverage | implemented | missing |\n|---|---|---:|---:|\n");
    for st in &r.strategies {
        let _ = writeln!(
            s,
            "| {} | **{}** | {} | {} |",
            st.title,
            st.coverage.as_str(),
            st.implemented.len(),
            st.missing.len()
        );
    }
    s.push('\n');
    for st in &r.strategies {
        let _ = writeln!(s, "### {} — {}\n", st.title, st.coverage.as_str());
        s.push_str("**Currently implemented:**\n\n");
        items(
            &mut s,
            &st.implemented,
            "Not implemented anywhere in the scanned files.",
        );
        s.push_str("**Missing implementation:**\n\n");
        items(
            &mut s,
            &st.missing,
            if st.coverage == Coverage::NotUsed {
                "Nothing: no pipeline needs it."
            } else {
                "Nothing missing."
            },
        );
    }
    if !r.files.is_empty() {
        heading(
            &mut s,
            if written {
                "Files written"
            } else {
                "Files that would be written"
            },
        );
        s.push_str(
            "| file | lines | SHA-256 before | SHA-256 after | state |\n|---|---:|---|---|---|\n",
        );
        for f in &r.files {
            let _ = writeln!(
                s,
                "| {} | +{} −{} | {} | {} | {} |",
                code(&f.path),
                f.added,
                f.removed,
                code(&f.sha256_before),
                code(&f.sha256_after),
                match (f.written, f.edited_since) {
                    (true, true) => "written, edited since",
                    (true, false) => "written",
                    (false, _) => "preview",
                }
            );
        }
        for f in &r.files {
            let _ = writeln!(
                s,
                "\n<details><summary>Diff of {} (+{} −{})</summary>\n",
                text(&f.path),
                f.added,
                f.removed
            );
            s.push_str(&code_block("diff", &f.diff));
            s.push_str("\n</details>\n");
        }
    }
    if !r.remaining.is_empty() {
        heading(
            &mut s,
            if written {
                "Findings remaining"
            } else {
                "Findings that would remain"
            },
        );
        findings_table(&mut s, &r.remaining, false);
    }
    if !r.notes.is_empty() {
        heading(&mut s, "Notes");
        for n in &r.notes {
            let _ = writeln!(s, "- {}", text(n));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert_eq!(code("l1\nl2"), "`l1 l2`");
        assert_eq!(text("a|b<c>\nd"), "a\\|b&lt;c> d");
    }

    #[test]
    fn report_sections() {
        let r = super::super::migration::tests::sample_report(false);
        let md = render_report(&r);
        for h in [
            "# depriv assessment",
            "## Summary",
            "## Pipelines",
            "### 1. `build` —",
            "## Manual tasks",
            "## Troubleshooting",
            "## Mitigation strategies",
            "### Rootless BuildKit —",
        ] {
            assert!(md.contains(h), "missing {h}:\n{md}");
        }
        // Every table row of the pipelines table has the same number of cells as its header.
        let header = md
            .lines()
            .find(|l| l.starts_with("| # | pipeline"))
            .expect("header");
        let cols = header.matches(" | ").count();
        for l in md.lines().filter(|l| l.starts_with("| 1 |")) {
            assert_eq!(l.replace("\\|", "").matches(" | ").count(), cols, "{l}");
        }
    }

    #[test]
    fn compat_render_from_a_preview() {
        let p = Preview {
            changes: Vec::new(),
            results: Vec::new(),
            remaining: Vec::new(),
        };
        let md = render("r", &p, true);
        assert!(md.starts_with("# depriv migration report"));
        assert!(md.contains("Nothing to migrate"));
    }
}
