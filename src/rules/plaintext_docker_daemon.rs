//! `plaintext-docker-daemon`: a Docker daemon reachable over TCP without TLS.

use super::{Hit, Rule, all_env, command_flags, facts_where, is_plaintext_port, is_plaintext_tcp};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "plaintext-docker-daemon",
    severity: Severity::High,
    summary: "a Docker daemon is reachable over TCP without TLS (port 2375)",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/plaintext-docker-daemon.md"),
    check,
};

const MSG: &str = "the Docker daemon is reached over plaintext TCP (2375): anything on that network is root on the daemon";

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for (name, v) in all_env(p) {
        if name == "DOCKER_HOST" && is_plaintext_tcp(&v.v) {
            out.push(Hit {
                loc: v.loc,
                message: MSG.into(),
            });
        }
    }
    for c in &p.containers {
        for port in &c.ports {
            if is_plaintext_port(&port.v) {
                out.push(Hit {
                    loc: port.loc,
                    message: "port 2375 (plaintext Docker API) is published".into(),
                });
            }
        }
        if c.is_daemon() {
            let tls_on = c
                .command
                .iter()
                .any(|w| w.v.starts_with("--tlsverify") && !w.v.ends_with("=false"));
            if !tls_on {
                for w in command_flags(c, |w| {
                    w.strip_prefix("--host=")
                        .or_else(|| w.strip_prefix("-H="))
                        .or_else(|| w.strip_prefix("-H"))
                        .is_some_and(|a| {
                            a.starts_with("tcp://") && a.trim_end_matches('/').ends_with(":2375")
                        })
                        || (w.starts_with("tcp://") && is_plaintext_tcp(w))
                }) {
                    out.push(Hit {
                        loc: w.loc,
                        message: MSG.into(),
                    });
                }
            }
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::PlaintextDaemon)) {
        out.push(Hit {
            loc: f.loc,
            message: MSG.into(),
        });
    }
    for s in &p.signals {
        if let Signal::PlaintextDaemon(loc) = s {
            out.push(Hit {
                loc: *loc,
                message: MSG.into(),
            });
        }
    }
}
