//! `seccomp-unconfined`: seccomp or AppArmor set to unconfined.

use super::{Hit, Rule, facts_where, is_unconfined_opt};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "seccomp-unconfined",
    severity: Severity::Medium,
    summary: "seccomp or AppArmor is switched off for a container",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/seccomp-unconfined.md"),
    check,
};

fn msg(what: &str) -> String {
    let what = what.trim();
    let what = if what.contains("unconfined") {
        what.to_string()
    } else {
        format!("{what}=unconfined")
    };
    format!("`{what}` removes a kernel confinement layer from the container")
}

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for c in &p.containers {
        for o in &c.security_opt {
            if is_unconfined_opt(&o.v) {
                out.push(Hit {
                    loc: o.loc,
                    message: msg(&o.v),
                });
            }
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::Unconfined { .. })) {
        if let FactKind::Unconfined { what } = &f.fact.kind {
            out.push(Hit {
                loc: f.loc,
                message: msg(what),
            });
        }
    }
    for s in &p.signals {
        if let Signal::Unconfined(v) = s {
            out.push(Hit {
                loc: v.loc,
                message: msg(&v.v),
            });
        }
    }
}
