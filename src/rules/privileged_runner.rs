//! `privileged-runner`: a runner runs every job container privileged.

use super::{Hit, Rule};
use crate::finding::{Severity, Surface};
use crate::model::{Pipeline, Signal};

/// The rule.
pub static RULE: Rule = Rule {
    id: "privileged-runner",
    severity: Severity::Critical,
    summary: "a runner runs every job container privileged",
    surfaces: &[
        Surface::RunnerToml,
        Surface::Kubernetes,
        Surface::Shell,
        Surface::GitlabCi,
        Surface::Compose,
    ],
    doc: include_str!("docs/privileged-runner.md"),
    check,
};

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for s in &p.signals {
        if let Signal::RunnerPrivileged(loc) = s {
            out.push(Hit {
                loc: *loc,
                message: "this runner starts every job container privileged: any job can take over the runner host".into(),
            });
        }
    }
    for f in super::facts_where(p, |k| {
        matches!(k, crate::source::docker_cmd::FactKind::RunnerPrivileged)
    }) {
        out.push(Hit {
            loc: f.loc,
            message: "the runner is registered with privileged job containers: any job can take over the runner host".into(),
        });
    }
}
