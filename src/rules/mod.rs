//! The rule table. A rule is one file with a [`Rule`] value: id, severity, surfaces, docs,
//! fixtures, and a `check` over one [`Pipeline`]. [`REGISTRY`] lists them, one line each; a
//! test walks it and fails when a rule lacks documentation or fixtures.

#![cfg_attr(not(test), deny(clippy::string_slice))]

mod cap_sys_admin;
mod dind_tls_disabled;
mod docker_socket_mount;
mod plaintext_docker_daemon;
mod privileged_container;
mod privileged_dind;
mod privileged_runner;
mod seccomp_unconfined;

use crate::finding::{Severity, Surface};
use crate::model::{Container, LocFact, Pipeline};
use crate::source::Loc;
use crate::source::docker_cmd::FactKind;

/// One rule hit before it becomes a [`crate::finding::Finding`].
#[derive(Clone, Debug)]
pub struct Hit {
    /// Where.
    pub loc: Loc,
    /// One sentence.
    pub message: String,
}

/// A rule: metadata plus a check over one pipeline.
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// One-line summary.
    pub summary: &'static str,
    /// Surfaces where the rule can fire.
    pub surfaces: &'static [Surface],
    /// Markdown documentation: what, why, targets, example before/after.
    pub doc: &'static str,
    /// The check.
    pub check: fn(&Pipeline, &mut Vec<Hit>),
}

/// Every rule, in table order.
pub static REGISTRY: &[&Rule] = &[
    &docker_socket_mount::RULE,
    &privileged_runner::RULE,
    &privileged_dind::RULE,
    &plaintext_docker_daemon::RULE,
    &dind_tls_disabled::RULE,
    &privileged_container::RULE,
    &cap_sys_admin::RULE,
    &seccomp_unconfined::RULE,
];

/// Find a rule by id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    REGISTRY.iter().copied().find(|r| r.id == id)
}

/// All surfaces.
pub(crate) const ALL_SURFACES: &[Surface] = &Surface::ALL;

/// Every shell fact of a pipeline: its scripts and its containers' option strings.
pub(crate) fn all_facts(p: &Pipeline) -> impl Iterator<Item = &LocFact> {
    p.script_facts
        .iter()
        .chain(p.containers.iter().flat_map(|c| c.facts.iter()))
}

/// Facts of one kind.
pub(crate) fn facts_where<'a>(
    p: &'a Pipeline,
    pred: impl Fn(&FactKind) -> bool + 'a,
) -> impl Iterator<Item = &'a LocFact> + 'a {
    all_facts(p).filter(move |f| pred(&f.fact.kind))
}

/// All environment variables visible to the pipeline and its containers.
pub(crate) fn all_env(p: &Pipeline) -> impl Iterator<Item = (&str, &crate::model::Val<String>)> {
    p.env.iter().map(|(k, v)| (k.as_str(), v)).chain(
        p.containers
            .iter()
            .flat_map(|c| c.env.iter().map(|(k, v)| (k.as_str(), v))),
    )
}

/// Whether a volume/mount source is the Docker socket or the directory holding it.
pub fn is_socket_path(source: &str) -> bool {
    let s = source.trim().trim_matches(|c| c == '"' || c == '\'');
    let s = s.trim_start_matches("unix://");
    let s = s.replace("//", "/");
    let s = s.trim_end_matches('/');
    s.ends_with("/docker.sock")
        || s == "/var/run"
        || s == "/run"
        || s.ends_with("docker_engine")
        || s == "/var/run/docker"
}

/// The source part of a short volume entry `src:dst[:mode]`.
pub fn volume_source(entry: &str) -> &str {
    let e = entry.trim();
    // Windows drive letters (`C:\x`) are not separators.
    let bytes = e.as_bytes();
    let skip = if bytes.len() > 2
        && bytes.get(1) == Some(&b':')
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
    {
        2
    } else {
        0
    };
    match e.get(skip..).and_then(|rest| rest.find(':')) {
        Some(i) => e.get(..skip + i).unwrap_or(e),
        None => e,
    }
}

/// Whether a `DOCKER_HOST`-style address is plaintext TCP to a Docker daemon (port 2375).
pub fn is_plaintext_tcp(addr: &str) -> bool {
    let a = addr.trim().trim_matches(|c| c == '"' || c == '\'');
    let Some(rest) = a.strip_prefix("tcp://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or("");
    host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| port == "2375")
}

/// Whether a published port entry exposes 2375.
pub fn is_plaintext_port(port: &str) -> bool {
    let p = port.trim().trim_matches(|c| c == '"' || c == '\'');
    let p = p.split('/').next().unwrap_or("");
    p.split(':').any(|part| part == "2375")
}

/// Whether a capability is SYS_ADMIN or ALL.
pub fn is_dangerous_cap(cap: &str) -> bool {
    let c = cap
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_uppercase();
    let c = c.strip_prefix("CAP_").unwrap_or(&c);
    c == "SYS_ADMIN" || c == "ALL"
}

/// Whether a security option switches seccomp or AppArmor off.
pub fn is_unconfined_opt(opt: &str) -> bool {
    let o = opt
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase();
    let o = o.replace(' ', "");
    matches!(
        o.as_str(),
        "seccomp=unconfined" | "seccomp:unconfined" | "apparmor=unconfined" | "apparmor:unconfined"
    )
}

/// Whether a container's command words contain `flag` as a word or `flag=...`.
pub(crate) fn command_flags<'a>(
    c: &'a Container,
    pred: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = &'a crate::model::Val<String>> + 'a {
    c.command.iter().filter(move |w| pred(w.v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths() {
        assert!(is_socket_path("/var/run/docker.sock"));
        assert!(is_socket_path("//var/run/docker.sock"));
        assert!(is_socket_path("/run/docker.sock"));
        assert!(is_socket_path("/var/run/"));
        assert!(is_socket_path("unix:///var/run/docker.sock"));
        assert!(!is_socket_path("/var/run/postgresql"));
        assert!(!is_socket_path("/certs/client"));
        assert_eq!(
            volume_source("/var/run/docker.sock:/var/run/docker.sock:ro"),
            "/var/run/docker.sock"
        );
        assert_eq!(volume_source(r"C:\data:/data"), r"C:\data");
    }

    #[test]
    fn tcp_and_ports() {
        assert!(is_plaintext_tcp("tcp://docker:2375"));
        assert!(is_plaintext_tcp("tcp://localhost:2375/"));
        assert!(!is_plaintext_tcp("tcp://docker:2376"));
        assert!(!is_plaintext_tcp("unix:///var/run/docker.sock"));
        assert!(is_plaintext_port("2375:2375"));
        assert!(is_plaintext_port("127.0.0.1:2375:2375/tcp"));
        assert!(!is_plaintext_port("12375:2376"));
    }

    #[test]
    fn caps_and_opts() {
        assert!(is_dangerous_cap("SYS_ADMIN"));
        assert!(is_dangerous_cap("cap_sys_admin"));
        assert!(is_dangerous_cap("ALL"));
        assert!(!is_dangerous_cap("NET_ADMIN"));
        assert!(is_unconfined_opt("seccomp=unconfined"));
        assert!(is_unconfined_opt("apparmor:unconfined"));
        assert!(!is_unconfined_opt("seccomp=/etc/profile.json"));
    }
}
