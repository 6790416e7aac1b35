//! Suppressions: `# depriv: ignore[rule-id] reason` on a finding's line or the line above
//! (`//` comments work too), and `[ignore]` globs in `.depriv.toml`. A suppression without a
//! reason does not suppress and becomes a diagnostic. Suppressed findings stay in the output.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::Config;
use crate::finding::{DiagLevel, Diagnostic, Finding};
use crate::source::SourceFile;

/// A parsed `depriv: ignore[...]` comment.
#[derive(Debug, PartialEq, Eq)]
pub struct Directive {
    /// Rule ids (`*` for all).
    pub rules: Vec<String>,
    /// The reason given (may be empty, which is an error).
    pub reason: String,
    /// 1-based column of the directive.
    pub column: usize,
}

/// Parse the directive in a line, if any.
pub fn parse_directive(line: &str) -> Option<Directive> {
    let idx = line
        .find("depriv: ignore[")
        .or_else(|| line.find("depriv:ignore["))?;
    // Must be inside a comment: `#` or `//` before it on the line.
    let (before, rest) = line.split_at_checked(idx)?;
    if !before.contains('#') && !before.contains("//") && !before.contains("/*") {
        return None;
    }
    let (_, inside) = rest.split_once('[')?;
    let (list, after) = inside.split_once(']')?;
    if rest.find(']')? < rest.find('[')? {
        return None;
    }
    let rules = list
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let reason = after
        .trim()
        .trim_end_matches("*/")
        .trim()
        .trim_start_matches(['-', ':'])
        .trim()
        .to_string();
    Some(Directive {
        rules,
        reason,
        column: before.chars().count() + 1,
    })
}

/// Mark suppressed findings and report reason-less directives. `sources` holds the text of
/// every file with a finding (a scan's `sources`); the diagnostics are appended to
/// `diagnostics`.
pub fn apply(
    findings: &mut [Finding],
    sources: &BTreeMap<String, Arc<str>>,
    diagnostics: &mut Vec<Diagnostic>,
    config: &Config,
) {
    let matchers = config.ignore_matchers();
    let mut files: HashMap<String, SourceFile> = HashMap::new();
    let mut diags = Vec::new();
    for f in findings.iter_mut() {
        for (set, rules) in &matchers {
            if set.is_match(&f.path) && rules.iter().any(|x| x == "*" || x == f.rule) {
                f.suppressed = true;
                f.suppression = Some(".depriv.toml [ignore]".into());
            }
        }
        if f.suppressed {
            continue;
        }
        let Some(text) = sources.get(&f.path) else {
            continue;
        };
        let sf = files
            .entry(f.path.clone())
            .or_insert_with(|| SourceFile::new(f.path.clone(), text.clone()));
        for line in [f.line, f.line.saturating_sub(1)] {
            if line == 0 {
                continue;
            }
            let Some(d) = parse_directive(sf.line_text(line)) else {
                continue;
            };
            if !d.rules.iter().any(|x| x == "*" || x == f.rule) {
                continue;
            }
            if d.reason.is_empty() {
                diags.push(Diagnostic {
                    path: f.path.clone(),
                    line,
                    column: d.column,
                    level: DiagLevel::Warning,
                    message: format!(
                        "`depriv: ignore[{}]` needs a reason after the brackets; the finding is not suppressed",
                        d.rules.join(",")
                    ),
                });
                break;
            }
            f.suppressed = true;
            f.suppression = Some(d.reason);
            break;
        }
    }
    diagnostics.extend(diags);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives() {
        let d = parse_directive(
            "  - docker:dind # depriv: ignore[privileged-dind] legacy runner, tracked in #12",
        );
        assert_eq!(
            d,
            Some(Directive {
                rules: vec!["privileged-dind".into()],
                reason: "legacy runner, tracked in #12".into(),
                column: 19,
            })
        );
        let d = parse_directive("// depriv: ignore[a, b]").map(|d| (d.rules, d.reason));
        assert_eq!(
            d,
            Some((vec!["a".to_string(), "b".to_string()], String::new()))
        );
        assert_eq!(
            parse_directive("echo depriv: ignore[a] not a comment"),
            None
        );
        assert_eq!(parse_directive("image: docker"), None);
    }
}
