//! `privileged-dind`: a Docker daemon runs privileged for a job.

use super::{Hit, Rule, facts_where};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "privileged-dind",
    severity: Severity::High,
    summary: "a Docker daemon (docker:dind) runs privileged for a job",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/privileged-dind.md"),
    check,
};

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for c in &p.containers {
        if !c.is_daemon() {
            continue;
        }
        match (&c.privileged, &c.image) {
            (Some(flag), _) if flag.v => out.push(Hit {
                loc: flag.loc,
                message: format!(
                    "Docker-in-Docker daemon `{}` runs privileged: a build step can escape to the host",
                    c.image.as_ref().map(|i| i.v.as_str()).unwrap_or("dockerd")
                ),
            }),
            (Some(_), _) => {}
            (None, Some(image)) if c.implied_privileged => out.push(Hit {
                loc: image.loc,
                message: format!(
                    "Docker-in-Docker `{}` needs a privileged runner: a build step can escape to the host",
                    image.v
                ),
            }),
            _ => {}
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::Privileged { daemon: true })) {
        out.push(Hit {
            loc: f.loc,
            message:
                "a Docker daemon is started with --privileged: a build step can escape to the host"
                    .into(),
        });
    }
    for s in &p.signals {
        if let Signal::PrivilegedDind(loc) = s {
            out.push(Hit {
                loc: *loc,
                message:
                    "a Docker-in-Docker daemon runs privileged: a build step can escape to the host"
                        .into(),
            });
        }
    }
}
