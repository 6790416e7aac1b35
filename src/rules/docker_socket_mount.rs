//! `docker-socket-mount`: the host's Docker socket reaches a job or container.

use super::{Hit, Rule, facts_where, is_socket_path, volume_source};
use crate::finding::Severity;
use crate::model::{Pipeline, Signal};
use crate::source::docker_cmd::FactKind;

/// The rule.
pub static RULE: Rule = Rule {
    id: "docker-socket-mount",
    severity: Severity::Critical,
    summary: "the host's Docker socket is mounted into a job or container",
    surfaces: super::ALL_SURFACES,
    doc: include_str!("docs/docker-socket-mount.md"),
    check,
};

const MSG: &str = "the host's Docker socket is mounted: whoever controls this job controls the Docker host (`:ro` protects nothing)";

const RUNNER_MSG: &str = "the self-hosted runner mounts the host's Docker socket into this container: on Linux it mounts `/var/run/docker.sock` into every job `container:` and every Docker container action, whatever the workflow says (actions/runner: src/Runner.Worker/Container/ContainerInfo.cs, src/Runner.Worker/Handlers/ContainerActionHandler.cs), and removing a `volumes:` line does not change that; run the job on runners without a host daemon (actions-runner-controller with the sysbox runtime) or start its containers in a sysbox daemon from its steps";

fn check(p: &Pipeline, out: &mut Vec<Hit>) {
    for c in &p.containers {
        for v in &c.volumes {
            if is_socket_path(volume_source(&v.v)) {
                out.push(Hit {
                    loc: v.loc,
                    message: MSG.into(),
                });
            }
        }
        for v in &c.host_paths {
            if is_socket_path(&v.v) {
                out.push(Hit {
                    loc: v.loc,
                    message: MSG.into(),
                });
            }
        }
    }
    for f in facts_where(p, |k| matches!(k, FactKind::SocketMount)) {
        out.push(Hit {
            loc: f.loc,
            message: MSG.into(),
        });
    }
    for s in &p.signals {
        match s {
            Signal::SocketMount(loc) => out.push(Hit {
                loc: *loc,
                message: MSG.into(),
            }),
            Signal::RunnerSocketMount(loc) => out.push(Hit {
                loc: *loc,
                message: RUNNER_MSG.into(),
            }),
            _ => {}
        }
    }
}
