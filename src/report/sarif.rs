//! SARIF 2.1.0 for code scanning: rule metadata with help text and `security-severity`,
//! results with regions, line-insensitive `partialFingerprints`, and suppressions.

use serde_json::{Value, json};

use crate::finding::{DiagLevel, Diagnostic, Severity};
use crate::rules::{self, Rule};
use crate::scan::ScanResult;

/// SARIF `level` of a severity.
pub fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The `reportingDescriptor` of a rule.
pub fn rule_descriptor(r: &Rule) -> Value {
    json!({
        "id": r.id,
        "name": pascal(r.id),
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": first_paragraph(r.doc, "## What") },
        "help": { "text": r.doc, "markdown": r.doc },
        "helpUri": format!("https://github.com/depriv/depriv/blob/main/src/rules/docs/{}.md", r.id),
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "security-severity": r.severity.security_severity(),
            "precision": "high",
            "problem.severity": level(r.severity),
            "tags": ["security", "ci", "docker", "external/cwe/cwe-250"],
        }
    })
}

fn first_paragraph(doc: &str, heading: &str) -> String {
    let rest = doc.split_once(heading).map(|(_, r)| r).unwrap_or(doc);
    rest.trim_start()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .replace('\n', " ")
        .trim()
        .to_string()
}

/// Render SARIF 2.1.0.
pub fn render(r: &ScanResult) -> String {
    let rule_list: Vec<&Rule> = rules::REGISTRY.to_vec();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let idx = rule_list.iter().position(|x| x.id == f.rule).unwrap_or(0);
            let mut res = json!({
                "ruleId": f.rule,
                "ruleIndex": idx,
                "level": level(f.severity),
                "message": { "text": message(f) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.path, "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column.max(if f.end_line == f.line { f.column + 1 } else { 1 }),
                        }
                    }
                }],
                "partialFingerprints": { "deprivFingerprint/v1": f.fingerprint },
                "properties": {
                    "surface": f.surface.as_str(),
                    "pipeline": f.pipeline,
                    "docker_usage": f.docker_usage,
                    "recommended": f.recommended,
                }
            });
            if f.fixture
                && let Some(props) = res.get_mut("properties").and_then(Value::as_object_mut)
            {
                props.insert("fixture".into(), Value::Bool(true));
            }
            if f.suppressed
                && let Some(o) = res.as_object_mut()
            {
                o.insert(
                    "suppressions".into(),
                    json!([{
                        "kind": if f.suppression.as_deref() == Some(".depriv.toml [ignore]") { "external" } else { "inSource" },
                        "justification": f.suppression.clone().unwrap_or_default(),
                    }]),
                );
            }
            res
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "depriv",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/depriv/depriv",
                    "rules": rule_list.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
                }
            },
            "originalUriBaseIds": { "%SRCROOT%": { "uri": "file:///" } },
            "invocations": [invocation(&r.diagnostics)],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The run's `invocation`: it did not succeed when a file could not be read or parsed, and
/// every diagnostic (a parse error, a skipped file, an include not followed) is a
/// `toolExecutionNotification`, so code scanning shows that the result is incomplete.
pub fn invocation(diagnostics: &[Diagnostic]) -> Value {
    let notes: Vec<Value> = diagnostics.iter().map(notification).collect();
    json!({
        "executionSuccessful": !diagnostics.iter().any(|d| d.level == DiagLevel::Error),
        "toolExecutionNotifications": notes,
    })
}

fn notification(d: &Diagnostic) -> Value {
    let level = match d.level {
        DiagLevel::Error => "error",
        DiagLevel::Warning => "warning",
        DiagLevel::Note => "note",
    };
    let mut physical = json!({
        "artifactLocation": { "uri": d.path, "uriBaseId": "%SRCROOT%" },
    });
    if d.line > 0
        && let Some(o) = physical.as_object_mut()
    {
        o.insert(
            "region".into(),
            json!({ "startLine": d.line, "startColumn": d.column.max(1) }),
        );
    }
    json!({
        "level": level,
        "message": { "text": d.message },
        "locations": [{ "physicalLocation": physical }],
    })
}

fn message(f: &crate::finding::Finding) -> String {
    let mut m = f.message.clone();
    if !m.ends_with('.') {
        m.push('.');
    }
    if let Some(p) = &f.pipeline {
        m.push_str(&format!(" Pipeline: {p}."));
    }
    if let Some(t) = f.recommended {
        m.push_str(&format!(" Recommended target: {t}."));
    }
    m
}
