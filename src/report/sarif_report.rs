//! The SARIF 2.1.0 migration report: every finding of the migrated pipelines as a result, with
//! the rules' help text and `security-severity`, line-insensitive fingerprints, and — for the
//! findings the migration addresses — `fixes` whose artifact changes are the migration's byte
//! edits, positioned in the original files. After a migration, addressed results are
//! `kind: pass` with `baselineState: absent`; the rest stay `fail`.

use serde_json::{Value, json};

use super::migration::{FindingReport, Mode, PipelineReport, Report};
use super::sarif::{level, rule_descriptor};
use crate::rules;

fn fixes(r: &Report, p: &PipelineReport) -> Vec<Value> {
    let changes: Vec<Value> = p
        .files
        .iter()
        .filter_map(|fl| r.files.iter().find(|f| f.path == fl.path))
        .filter(|f| !f.edits.is_empty())
        .map(|f| {
            json!({
                "artifactLocation": { "uri": f.path, "uriBaseId": "%SRCROOT%" },
                "replacements": f.edits.iter().map(|e| json!({
                    "deletedRegion": {
                        "startLine": e.start_line,
                        "startColumn": e.start_column,
                        "endLine": e.end_line,
                        "endColumn": e.end_column,
                    },
                    "insertedContent": { "text": e.text },
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    if changes.is_empty() {
        return Vec::new();
    }
    let mut others: Vec<&str> = r
        .pipelines
        .iter()
        .filter(|o| {
            o.id != p.id
                && !o.files.is_empty()
                && o.files
                    .iter()
                    .any(|f| p.files.iter().any(|x| x.path == f.path))
        })
        .map(|o| o.name.as_str())
        .collect();
    others.dedup();
    let mut text = format!(
        "depriv migrate: moves pipeline `{}` to {}",
        p.name, p.target
    );
    if !others.is_empty() {
        text.push_str(&format!(
            " (the same files' edits also migrate {})",
            others
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    vec![json!({
        "description": { "text": text },
        "artifactChanges": changes,
    })]
}

fn message(f: &FindingReport, p: &PipelineReport, mode: Mode) -> String {
    let mut m = f.message.clone();
    if !m.ends_with('.') {
        m.push('.');
    }
    m.push_str(&format!(
        " Pipeline: {}. Target: {} ({}).",
        p.name,
        p.target,
        p.status.as_str()
    ));
    if f.addressed {
        m.push_str(match mode {
            Mode::Assessment => " depriv migrate fixes it.",
            Mode::Migration => " Fixed by depriv migrate.",
        });
    }
    m
}

/// Render the report as SARIF 2.1.0.
pub fn render(r: &Report) -> String {
    let rule_list: Vec<&rules::Rule> = rules::REGISTRY.to_vec();
    let mut results = Vec::new();
    for p in &r.pipelines {
        let fix = fixes(r, p);
        for f in &p.findings {
            let idx = rule_list.iter().position(|x| x.id == f.rule).unwrap_or(0);
            let end_column = f.end_column.max(if f.end_line == f.line {
                f.column + 1
            } else {
                1
            });
            let done = r.mode == Mode::Migration && f.addressed;
            let mut res = json!({
                "ruleId": f.rule,
                "ruleIndex": idx,
                "kind": if done { "pass" } else { "fail" },
                "level": if done { "none" } else { level(f.severity) },
                "message": { "text": message(f, p, r.mode) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.path, "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line.max(f.line),
                            "endColumn": end_column,
                        }
                    }
                }],
                "partialFingerprints": { "deprivFingerprint/v1": f.fingerprint },
                "properties": {
                    "pipeline": p.name,
                    "surface": p.surface.as_str(),
                    "target": p.target,
                    "status": p.status.as_str(),
                    "addressed": f.addressed,
                }
            });
            if f.fixture
                && let Some(props) = res.get_mut("properties").and_then(Value::as_object_mut)
            {
                props.insert("fixture".into(), Value::Bool(true));
            }
            if let Some(o) = res.as_object_mut() {
                if r.mode == Mode::Migration {
                    o.insert(
                        "baselineState".into(),
                        json!(if done { "absent" } else { "unchanged" }),
                    );
                }
                if f.addressed && !fix.is_empty() {
                    o.insert("fixes".into(), json!(fix));
                }
            }
            results.push(res);
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "depriv",
                    "semanticVersion": r.tool.version,
                    "informationUri": "https://github.com/depriv/depriv",
                    "rules": rule_list.iter().map(|x| rule_descriptor(x)).collect::<Vec<_>>(),
                }
            },
            "originalUriBaseIds": { "%SRCROOT%": { "uri": "file:///" } },
            "invocations": [super::sarif::invocation(&r.diagnostics)],
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {
                "depriv-report": {
                    "mode": r.mode,
                    "written": r.written,
                    "pipelines": r.summary.pipelines,
                    "files_changed": r.summary.files_changed,
                    "findings_remaining": r.summary.findings_remaining,
                }
            }
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::migration::{EditReport, FileLines, FileReport};
    use crate::rewrite::Status;

    #[test]
    fn addressed_findings_carry_fixes_from_the_edits() {
        let mut r = super::super::migration::tests::sample_report(true);
        r.mode = Mode::Migration;
        let p = &mut r.pipelines[0];
        p.status = Status::Migrated;
        p.files = vec![FileLines {
            path: ".gitlab-ci.yml".into(),
            added: 1,
            removed: 1,
        }];
        for f in &mut p.findings {
            f.addressed = true;
        }
        r.files = vec![FileReport {
            path: ".gitlab-ci.yml".into(),
            sha256_before: "0".repeat(64),
            sha256_after: "1".repeat(64),
            added: 1,
            removed: 1,
            written: true,
            edited_since: false,
            diff: String::new(),
            edits: vec![EditReport {
                start_byte: 0,
                end_byte: 5,
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 6,
                text: "image".into(),
            }],
        }];
        let v: Value = serde_json::from_str(&render(&r)).expect("json");
        let res = &v["runs"][0]["results"][0];
        assert_eq!(res["kind"], "pass");
        assert_eq!(res["level"], "none");
        assert_eq!(res["baselineState"], "absent");
        let rep = &res["fixes"][0]["artifactChanges"][0]["replacements"][0];
        assert_eq!(rep["deletedRegion"]["endColumn"], 6);
        assert_eq!(rep["insertedContent"]["text"], "image");
        assert!(
            v["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"]
                .is_string()
        );
    }

    #[test]
    fn unaddressed_findings_fail_without_fixes() {
        let r = super::super::migration::tests::sample_report(false);
        let v: Value = serde_json::from_str(&render(&r)).expect("json");
        let results = v["runs"][0]["results"].as_array().expect("results");
        assert!(!results.is_empty());
        for res in results {
            assert_eq!(res["kind"], "fail");
            assert!(res.get("baselineState").is_none());
            if res["properties"]["addressed"] == false {
                assert!(res.get("fixes").is_none());
            }
        }
    }
}
