//! The HTML migration report: one self-contained page (inline CSS, no scripts, no external
//! assets) with a summary table, a collapsible section per pipeline, manual tasks with their
//! snippets, troubleshooting, the mitigation strategies, the files manifest and the diffs.

use std::fmt::Write as _;

use super::migration::{FindingReport, Mode, PipelineReport, Report, Risk};
use super::strategies::Coverage;

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root { --fg:#1f2328; --muted:#59636e; --border:#d1d9e0; --bg:#ffffff; --soft:#f6f8fa;
  --crit:#82071e; --high:#bc4c00; --med:#9a6700; --low:#0969da; --ok:#1a7f37; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif;
  color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 1.8em; margin: 0 0 4px; } h2 { border-bottom: 1px solid var(--border); padding-bottom: 4px; margin-top: 2em; }
h3 { margin: 1.2em 0 .4em; } .muted { color: var(--muted); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--soft); padding: 1px 4px; border-radius: 4px; }
pre { background: var(--soft); border: 1px solid var(--border); border-radius: 6px; padding: 10px; overflow-x: auto; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid var(--border); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); } td.num, td.nowrap { text-align: right; white-space: nowrap; }
td.nowrap { text-align: left; } td code { overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--border); border-radius: 8px; padding: 8px 14px; min-width: 150px; }
.card b { display: block; font-size: 1.5em; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600;
  color: #fff; background: var(--muted); white-space: nowrap; }
.s-migrated, .c-implemented { background: var(--ok); } .s-partial, .c-partial { background: var(--med); }
.s-manual, .c-missing { background: var(--high); } .s-unsupported { background: var(--crit); }
.s-skipped, .c-not-used { background: var(--muted); }
.v-critical { background: var(--crit); } .v-high { background: var(--high); } .v-medium { background: var(--med); }
.v-low { background: var(--low); } .v-info, .v-none { background: var(--ok); }
details { border: 1px solid var(--border); border-radius: 6px; margin: 8px 0; padding: 0 12px; }
details[open] { padding-bottom: 8px; }
summary { cursor: pointer; padding: 8px 0; font-weight: 600; }
.diff .add { color: #116329; background: #dafbe1; display: block; }
.diff .del { color: #82071e; background: #ffebe9; display: block; }
.diff .hunk { color: #0550ae; display: block; }
.diff .ctx { display: block; }
ul { padding-left: 1.4em; }
";

/// Escape text and turn `backtick spans` into `<code>` (plain escaping when unbalanced).
pub fn rich(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

fn badge(class: &str, text: &str) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        escape(class),
        escape(text)
    )
}

fn risk(r: &Risk) -> String {
    match r.level {
        Some(l) => badge(&format!("v-{}", l.as_str()), l.as_str()),
        None => badge("v-none", "none"),
    }
}

fn code(s: &str) -> String {
    format!("<code>{}</code>", escape(s))
}

fn diff_html(diff: &str) -> String {
    let mut s = String::from("<pre class=\"diff\"><code>");
    for line in diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with("@@") {
            "hunk"
        } else {
            "ctx"
        };
        let _ = write!(s, "<span class=\"{class}\">{}</span>", escape(line));
    }
    s.push_str("</code></pre>\n");
    s
}

fn findings_table(fs: &[FindingReport], with_addressed: bool) -> String {
    let mut s = String::from(
        "<table><thead><tr><th>rule</th><th>severity</th><th>location</th><th>message</th>",
    );
    if with_addressed {
        s.push_str("<th>addressed</th>");
    }
    s.push_str("</tr></thead><tbody>\n");
    for f in fs {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            code(f.rule),
            badge(&format!("v-{}", f.severity.as_str()), f.severity.as_str()),
            code(&format!("{}:{}:{}", f.path, f.line, f.column)),
            rich(&f.message)
        );
        if with_addressed {
            let _ = write!(s, "<td>{}</td>", if f.addressed { "yes" } else { "no" });
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

fn pipeline_section(r: &Report, p: &PipelineReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<details id=\"pipeline-{}\"><summary>{} {} <span class=\"muted\">({})</span></summary>",
        p.id,
        badge(&format!("s-{}", p.status.as_str()), p.status.as_str()),
        escape(&p.name),
        escape(&p.path)
    );
    let usage: Vec<&str> = p.docker_usage.iter().map(|u| u.as_str()).collect();
    let _ = writeln!(
        s,
        "<p>{} · declared at {} · Docker usage: {} · target: <b>{}</b> ({})</p>",
        escape(p.surface.as_str()),
        code(&format!("{}:{}", p.path, p.line)),
        if usage.is_empty() {
            "unknown".to_string()
        } else {
            escape(&usage.join(", "))
        },
        escape(p.target),
        if p.why == "recommended" {
            "recommended".to_string()
        } else {
            format!("recommended: {}; {}", escape(p.recommended), escape(&p.why))
        }
    );
    let _ = writeln!(
        s,
        "<p>Risk before: {} {} — after: {} {}</p>",
        risk(&p.risk_before),
        escape(&p.risk_before.text),
        risk(&p.risk_after),
        escape(&p.risk_after.text)
    );
    let _ = writeln!(
        s,
        "<h4>Findings ({} of {} addressed)</h4>",
        p.findings_addressed,
        p.findings.len()
    );
    s.push_str(&findings_table(&p.findings, true));
    if !p.files.is_empty() {
        s.push_str("<h4>Files changed</h4><ul>\n");
        for f in &p.files {
            let _ = writeln!(
                s,
                "<li><a href=\"#file-{}\">{}</a> +{} −{}</li>",
                escape(&anchor(&f.path)),
                code(&f.path),
                f.added,
                f.removed
            );
        }
        s.push_str("</ul>\n");
    }
    if !p.manual_tasks.is_empty() {
        s.push_str("<h4>Manual tasks</h4><ul>\n");
        for id in &p.manual_tasks {
            if let Some(t) = r.manual_tasks.iter().find(|t| t.id == *id) {
                let _ = writeln!(
                    s,
                    "<li><a href=\"#task-{}\">Task {}</a>: {}</li>",
                    t.id,
                    t.id,
                    rich(&t.title)
                );
            }
        }
        s.push_str("</ul>\n");
    }
    if !p.notes.is_empty() {
        s.push_str("<h4>Notes</h4><ul>\n");
        for n in &p.notes {
            let _ = writeln!(s, "<li>{}</li>", rich(n));
        }
        s.push_str("</ul>\n");
    }
    if !p.shared_with.is_empty() {
        let _ = writeln!(
            s,
            "<p>Shares a construct with: {}</p>",
            escape(&p.shared_with.join(", "))
        );
    }
    if !p.options.is_empty() {
        s.push_str("<h4>Targets considered</h4><table><thead><tr><th>target</th><th>feasible</th><th>trade-off</th><th>residual risk</th></tr></thead><tbody>\n");
        for o in &p.options {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(o.target.as_str()),
                match &o.infeasible {
                    None => "yes".to_string(),
                    Some(w) => format!("no: {}", escape(w)),
                },
                escape(o.trade_off),
                escape(o.residual_risk)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</details>\n");
    s
}

/// A stable anchor for a path.
fn anchor(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Render the report as one self-contained HTML page.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let title = match r.mode {
        Mode::Assessment => "depriv assessment",
        Mode::Migration => "depriv migration report",
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        title,
        escape(&r.repository)
    );
    let _ = writeln!(
        s,
        "<h1>{title}</h1>\n<p class=\"muted\">Repository {} · {} · depriv {}</p>",
        code(&r.repository),
        if r.written {
            "changes written"
        } else {
            "preview: nothing written"
        },
        escape(r.tool.version)
    );
    let sm = &r.summary;
    let sev = |l: Option<crate::finding::Severity>| l.map_or("none", |l| l.as_str());
    let _ = writeln!(
        s,
        "<div class=\"cards\">\
<div class=\"card\"><b>{}</b>pipelines</div>\
<div class=\"card\"><b>{} → {}</b>findings before → after</div>\
<div class=\"card\"><b>{}</b>files {}</div>\
<div class=\"card\"><b>{}</b>manual tasks</div>\
<div class=\"card\"><b>{} → {}</b>highest severity</div></div>",
        sm.pipelines,
        sm.findings_before,
        sm.findings_remaining,
        sm.files_changed,
        if r.written { "changed" } else { "would change" },
        sm.manual_tasks,
        sev(sm.risk_before),
        sev(sm.risk_after)
    );
    if sm.files_not_scanned > 0 {
        let _ = writeln!(
            s,
            "<p><b>{} file{} could not be scanned</b>, so nothing in {} is migrated: see <a href=\"#notes\">Notes</a>.</p>",
            sm.files_not_scanned,
            if sm.files_not_scanned == 1 { "" } else { "s" },
            if sm.files_not_scanned == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    if r.pipelines.is_empty() {
        s.push_str("<p>Nothing to migrate: no active findings.</p>\n");
    } else {
        s.push_str("<h2 id=\"summary\">Summary</h2>\n<table><thead><tr><th>pipeline</th><th>file</th><th>Docker usage</th><th>target</th><th>status</th><th class=\"num\">addressed</th><th class=\"num\">files changed</th><th>risk before → after</th></tr></thead><tbody>\n");
        for p in &r.pipelines {
            let usage: Vec<&str> = p.docker_usage.iter().map(|u| u.as_str()).collect();
            let _ = writeln!(
                s,
                "<tr><td><a href=\"#pipeline-{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{} → {}</td></tr>",
                p.id,
                escape(&p.name),
                code(&p.path),
                if usage.is_empty() {
                    "unknown".to_string()
                } else {
                    escape(&usage.join(", "))
                },
                escape(p.target),
                badge(&format!("s-{}", p.status.as_str()), p.status.as_str()),
                p.findings_addressed,
                p.findings.len(),
                p.files.len(),
                risk(&p.risk_before),
                risk(&p.risk_after)
            );
        }
        s.push_str("</tbody></table>\n<h2 id=\"pipelines\">Pipelines</h2>\n");
        for p in &r.pipelines {
            s.push_str(&pipeline_section(r, p));
        }
    }
    if !r.manual_tasks.is_empty() {
        s.push_str("<h2 id=\"manual-tasks\">Manual tasks</h2>\n");
        for t in &r.manual_tasks {
            let _ = writeln!(
                s,
                "<h3 id=\"task-{}\">Task {}: {}</h3>\n<p class=\"muted\">Where: {} · for {}</p>",
                t.id,
                t.id,
                rich(&t.title),
                rich(&t.location),
                escape(&t.pipelines.join(", "))
            );
            if !t.snippet.is_empty() {
                let _ = writeln!(
                    s,
                    "<pre><code class=\"language-{}\">{}</code></pre>",
                    escape(&t.lang),
                    escape(&t.snippet)
                );
            }
        }
    }
    if !r.troubleshooting.is_empty() {
        s.push_str("<h2 id=\"troubleshooting\">Troubleshooting</h2>\n");
        for t in &r.troubleshooting {
            let _ = writeln!(
                s,
                "<details><summary>{} ({})</summary><ul>",
                escape(t.title),
                escape(t.target.as_str())
            );
            for i in &t.items {
                let _ = writeln!(s, "<li><b>{}</b> — {}</li>", rich(i.title), rich(i.text));
            }
            s.push_str("</ul></details>\n");
        }
    }
    s.push_str("<h2 id=\"strategies\">Mitigation strategies</h2>\n<table><thead><tr><th>strategy</th><th>coverage</th><th>currently implemented</th><th>missing implementation</th></tr></thead><tbody>\n");
    for st in &r.strategies {
        let list = |items: &[super::strategies::Item], empty: &str| -> String {
            if items.is_empty() {
                return format!("<span class=\"muted\">{}</span>", escape(empty));
            }
            let mut l = String::from("<ul>");
            for i in items {
                let at = if i.line == 0 {
                    i.path.clone()
                } else {
                    format!("{}:{}", i.path, i.line)
                };
                let _ = write!(
                    l,
                    "<li>{} ({}) — {}</li>",
                    code(&at),
                    escape(&i.aspect),
                    rich(&i.detail)
                );
            }
            l.push_str("</ul>");
            l
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(st.title),
            badge(&format!("c-{}", st.coverage.as_str()), st.coverage.as_str()),
            list(&st.implemented, "not implemented"),
            list(
                &st.missing,
                if st.coverage == Coverage::NotUsed {
                    "not needed"
                } else {
                    "nothing missing"
                }
            )
        );
    }
    s.push_str("</tbody></table>\n");
    if !r.files.is_empty() {
        let _ = writeln!(
            s,
            "<h2 id=\"files\">Files {}</h2>\n<table><thead><tr><th>file</th><th class=\"num\">lines</th><th>SHA-256 before</th><th>SHA-256 after</th><th>state</th></tr></thead><tbody>",
            if r.written {
                "written"
            } else {
                "that would be written"
            }
        );
        for f in &r.files {
            let state = match (f.written, f.edited_since) {
                (true, true) => "written, edited since",
                (true, false) => "written",
                (false, _) => "preview",
            };
            let _ = writeln!(
                s,
                "<tr><td><a href=\"#file-{}\">{}</a></td><td class=\"num\">+{} −{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&anchor(&f.path)),
                code(&f.path),
                f.added,
                f.removed,
                code(&f.sha256_before),
                code(&f.sha256_after),
                state
            );
        }
        s.push_str("</tbody></table>\n<h3>Diffs</h3>\n");
        for f in &r.files {
            let _ = writeln!(
                s,
                "<details id=\"file-{}\" open><summary>{} +{} −{}</summary>",
                escape(&anchor(&f.path)),
                escape(&f.path),
                f.added,
                f.removed
            );
            s.push_str(&diff_html(&f.diff));
            s.push_str("</details>\n");
        }
    }
    if !r.remaining.is_empty() {
        let _ = writeln!(
            s,
            "<h2 id=\"remaining\">Findings {}</h2>",
            if r.written {
                "remaining"
            } else {
                "that would remain"
            }
        );
        s.push_str(&findings_table(&r.remaining, false));
    }
    if !r.notes.is_empty() {
        s.push_str("<h2 id=\"notes\">Notes</h2>\n<ul>\n");
        for n in &r.notes {
            let _ = writeln!(s, "<li>{}</li>", rich(n));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtick_spans_become_code() {
        assert_eq!(rich("a `b<` c"), "a <code>b&lt;</code> c");
        assert_eq!(rich("odd ` tick"), "odd ` tick");
        assert_eq!(rich("``"), "<code></code>");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\"\0"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\u{fffd}"
        );
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut r = super::super::migration::tests::sample_report(false);
        r.pipelines[0].name = "<img src=x onerror=alert(1)>".into();
        r.notes.push("a </details> b".into());
        let h = render(&r);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(!h.contains("<img"), "unescaped name");
        assert!(!h.contains("<script"));
        assert!(!h.contains("src=\"http") && !h.contains("href=\"http") && !h.contains("@import"));
        assert!(h.contains("<details id=\"pipeline-1\">"));
        assert_eq!(
            h.matches("<details").count(),
            h.matches("</details>").count()
        );
        assert!(h.trim_end().ends_with("</html>"));
    }

    #[test]
    fn diff_lines_are_classed() {
        let d = diff_html("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n ctx <b>\n");
        assert!(d.contains("<span class=\"del\">-old</span>"));
        assert!(d.contains("<span class=\"add\">+new</span>"));
        assert!(d.contains("ctx &lt;b&gt;"));
    }
}
