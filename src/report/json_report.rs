//! The JSON migration report, version 1: the [`Report`] model as JSON, described by the JSON
//! Schema in `assets/schema/report-v1.schema.json` (fields may be added, never renamed).

use super::migration::Report;

/// The JSON Schema of the report (draft 2020-12).
pub const SCHEMA: &str = include_str!("../../assets/schema/report-v1.schema.json");

/// Render the report as pretty JSON with a trailing newline.
pub fn render(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r)
        .unwrap_or_else(|e| format!("{{\"error\":{}}}", serde_json::Value::from(e.to_string())));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_json_and_versioned() {
        let v: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema parses");
        assert_eq!(v["properties"]["version"]["const"], 1);
        assert!(v["required"].as_array().is_some_and(|a| a.len() > 5));
    }

    #[test]
    fn report_serialises_with_every_required_field() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema");
        let r = super::super::migration::tests::sample_report(false);
        let v: serde_json::Value = serde_json::from_str(&render(&r)).expect("json");
        for k in schema["required"].as_array().expect("required") {
            let k = k.as_str().expect("str");
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["kind"], "depriv-report");
        assert!(v["pipelines"][0]["findings"][0]["addressed"].is_boolean());
    }
}
