//! `privileged-container`: a container that is not a Docker daemon runs privileged.

use super::{Hit, Rule, facts_where};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "privileged-container",
    severity: Severity::High,
    summary: "a container that is not a Docker daemon runs privileged",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/privileged-container.md"),
    check,
};

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for c in &p.containers {
        if c.is_daemon() {
            continue;
        }
        if let Some(flag) = &c.privileged
            && flag.v
        {
            out.push(Hit {
                loc: flag.loc,
                message: format!(
                    "container `{}` runs privileged: it has every capability and all host devices",
                    c.image
                        .as_ref()
                        .map(|i| i.v.as_str())
                        .or(c.name.as_deref())
                        .unwrap_or("?")
                ),
            });
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::Privileged { daemon: false })) {
        out.push(Hit {
            loc: f.loc,
            message: "a container is started with --privileged: it has every capability and all host devices".into(),
        });
    }
    for s in &p.signals {
        if let Signal::PrivilegedContainer(loc) = s {
            out.push(Hit {
                loc: *loc,
                message:
                    "a container runs privileged: it has every capability and all host devices"
                        .into(),
            });
        }
    }
}
