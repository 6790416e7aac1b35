//! `dind-tls-disabled`: `DOCKER_TLS_CERTDIR: ""` or `--tls=false` turns dind's TLS off.

use super::{Hit, Rule, all_env, command_flags, facts_where};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "dind-tls-disabled",
    severity: Severity::High,
    summary: "Docker-in-Docker's TLS is switched off",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/dind-tls-disabled.md"),
    check,
};

const MSG: &str = "DOCKER_TLS_CERTDIR is empty: the dind daemon listens on plaintext 2375 without client certificates";

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for (name, v) in all_env(p) {
        if name == "DOCKER_TLS_CERTDIR" && v.v.trim().is_empty() {
            out.push(Hit {
                loc: v.loc,
                message: MSG.into(),
            });
        } else if v.v.split_whitespace().any(|w| w == "--tls=false") {
            // e.g. DOCKER_DAEMON_OPTIONS handed to the dind entrypoint
            out.push(Hit {
                loc: v.loc,
                message: format!("`{name}` passes --tls=false to the dind daemon"),
            });
        }
    }
    for c in &p.containers {
        for w in command_flags(c, |w| w == "--tls=false" || w == "--tls=0") {
            out.push(Hit {
                loc: w.loc,
                message: "the dind daemon is started with --tls=false".into(),
            });
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::TlsDisabled)) {
        out.push(Hit {
            loc: f.loc,
            message: MSG.into(),
        });
    }
    for s in &p.signals {
        if let Signal::TlsDisabled(loc) = s {
            out.push(Hit {
                loc: *loc,
                message: MSG.into(),
            });
        }
    }
}
