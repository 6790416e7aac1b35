//! `cap-sys-admin`: `SYS_ADMIN` or `ALL` capabilities added.

use super::{Hit, Rule, facts_where, is_dangerous_cap};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "cap-sys-admin",
    severity: Severity::High,
    summary: "the SYS_ADMIN (or ALL) capability is added to a container",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/cap-sys-admin.md"),
    check,
};

fn msg(cap: &str) -> String {
    format!(
        "capability `{}` is added: mount, namespaces and most of root come with it",
        cap.trim()
    )
}

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for c in &p.containers {
        for cap in &c.cap_add {
            if is_dangerous_cap(&cap.v) {
                out.push(Hit {
                    loc: cap.loc,
                    message: msg(&cap.v),
                });
            }
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::CapAdd { .. })) {
        if let FactKind::CapAdd { cap } = &f.fact.kind {
            out.push(Hit {
                loc: f.loc,
                message: msg(cap),
            });
        }
    }
    for s in &p.signals {
        if let Signal::CapAdd(v) = s
            && is_dangerous_cap(&v.v)
        {
            out.push(Hit {
                loc: v.loc,
                message: msg(&v.v),
            });
        }
    }
}
