//! The target registry: one [`TargetSpec`] per migration target, holding everything depriv
//! knows about it as data — its id and aliases, the one-line trade-off and residual risk, the
//! pitfalls added as notes to every rewrite, whether it keeps a privileged daemon, where it
//! stands in auto mode's fallback order, when it is feasible, the guide page it points at and
//! the rewrite operations ([`Op`]) a surface must implement to apply it. Planning, rewriting,
//! reports, guides and `explain` read the registry instead of matching on [`Target`].
//!
//! This module is a leaf: it depends only on shared vocabulary (Docker usage, hosting,
//! environment answers, severity), never on the planner, the rewriters or the reports.

mod prose;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::{Environment, RunnerHosts};
use crate::finding::Severity;
use crate::model::{DockerUse, Hosting, PrivilegeReason};

/// A migration target (the typed identity; its data lives in [`REGISTRY`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Sysbox runtime: unprivileged system containers that run Docker.
    Sysbox,
    /// `docker:dind-rootless` (still privileged in most setups).
    Rootless,
    /// kaniko executor (build/push only, single arch).
    Kaniko,
    /// Rootless, daemonless BuildKit.
    Buildkit,
    /// Keep dind, with TLS and client certificates.
    Tls,
}

impl Target {
    /// Stable name (the registry id).
    pub fn as_str(self) -> &'static str {
        spec(self).id
    }

    /// The target's registry entry.
    pub fn spec(self) -> &'static TargetSpec {
        spec(self)
    }
}

impl clap::ValueEnum for Target {
    fn value_variants<'a>() -> &'a [Self] {
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let s = spec(*self);
        Some(
            clap::builder::PossibleValue::new(s.id)
                .aliases(s.aliases.iter().copied())
                .help(s.trade_off),
        )
    }
}

/// The builder a daemonless target translates `docker build`/`push`/`login` for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Builder {
    /// Rootless BuildKit through `buildctl-daemonless.sh`.
    Buildkit,
    /// The kaniko executor.
    Kaniko,
}

impl Builder {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Builder::Buildkit => "buildkit",
            Builder::Kaniko => "kaniko",
        }
    }
}

/// A rewrite operation. Surfaces implement operations, targets list the ones they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Remove the Docker daemon (dind service, sidecar, socket mount, privileged flag).
    DropDaemon,
    /// Translate Docker CLI builds, pushes and logins for a daemonless builder.
    TranslateBuilds(Builder),
    /// Run the daemon's container under another OCI runtime (sysbox-runc), unprivileged.
    SetRuntime,
    /// Keep the daemon and make it listen on TLS with client certificates only.
    EnableDaemonTls,
    /// Replace the daemon image (`docker:dind` → `docker:dind-rootless`).
    SwapDaemonImage,
}

impl Op {
    /// What the operation does, as the user reads it in an "unsupported" message.
    pub fn describe(self) -> String {
        match self {
            Op::DropDaemon => "drop the Docker daemon".to_string(),
            Op::TranslateBuilds(b) => format!("translate Docker builds for {}", b.as_str()),
            Op::SetRuntime => "set the container runtime".to_string(),
            Op::EnableDaemonTls => "enable TLS on the Docker daemon".to_string(),
            Op::SwapDaemonImage => "swap the Docker daemon image".to_string(),
        }
    }
}

/// What decides a target's feasibility for one pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// What the pipeline uses Docker for.
    pub usage: &'a BTreeSet<DockerUse>,
    /// Where its runners live.
    pub hosting: Hosting,
    /// Environment answers.
    pub env: &'a Environment,
    /// Why its containers are privileged when no Docker daemon is involved (empty for a
    /// Docker pipeline).
    pub privilege: &'a BTreeSet<PrivilegeReason>,
}

/// Why sysbox cannot run a workload privileged for `r`, or `None` when it can (systemd).
pub fn sysbox_limit(r: PrivilegeReason) -> Option<&'static str> {
    match r {
        PrivilegeReason::Systemd => None,
        PrivilegeReason::Kvm => Some(
            "sysbox shows host devices as nobody:nogroup and rejects privileged; the narrower fix is the /dev/kvm device (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md)",
        ),
        PrivilegeReason::Fuse => Some(
            "sysbox cannot mknod /dev/fuse and the sysbox rewrite passes no device; FUSE unmounts fail under sysbox (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md, https://github.com/nestybox/sysbox/issues/732)",
        ),
        PrivilegeReason::DiskImage => Some(
            "sysbox containers cannot set up loop devices (https://github.com/nestybox/sysbox/issues/729)",
        ),
        PrivilegeReason::Binfmt => Some(
            "sysbox containers cannot write binfmt_misc (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md)",
        ),
        PrivilegeReason::Bubblewrap => Some(
            "bubblewrap creates user namespaces and sysbox does not support nested user namespaces (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md)",
        ),
    }
}

/// Why a Docker target cannot serve a pipeline privileged for its workload.
const NO_DAEMON: &str =
    "privileged for its workload, not for a Docker daemon: there is no daemon to replace";
/// Why a builder target cannot serve a pipeline privileged for its workload.
const NO_BUILD: &str =
    "privileged for its workload, not for an image build: a builder does not replace it";

/// One troubleshooting entry: a symptom or trap and what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pitfall {
    /// The symptom or trap, one line.
    pub title: &'static str,
    /// What to do.
    pub text: &'static str,
}

/// The long-form guide of a target.
#[derive(Debug)]
pub struct Guide {
    /// What it is (Markdown paragraph).
    pub what: &'static str,
    /// Host requirements (Markdown, one item each).
    pub requirements: &'static [&'static str],
    /// Residual risk after moving to it (Markdown paragraph).
    pub residual: &'static str,
    /// Troubleshooting entries.
    pub troubleshooting: &'static [Pitfall],
    /// Every setting depriv writes, with the upstream page or repository path it follows.
    pub sources: &'static [(&'static str, &'static str)],
}

/// How the report names the mitigation strategy a target implements.
#[derive(Debug)]
pub struct MitigationText {
    /// Stable id (JSON, SARIF).
    pub id: &'static str,
    /// Human title.
    pub title: &'static str,
}

/// Everything depriv knows about one target.
#[derive(Debug)]
pub struct TargetSpec {
    /// The target.
    pub target: Target,
    /// Stable id (CLI value, JSON, plan files, guide file name).
    pub id: &'static str,
    /// Other names users type for it (`depriv explain`), lower case.
    pub aliases: &'static [&'static str],
    /// Human title (guides).
    pub title: &'static str,
    /// What `--strategy <id>` does (its `--help` line).
    pub strategy_help: &'static str,
    /// The report's mitigation strategy it implements.
    pub mitigation: MitigationText,
    /// One-line trade-off.
    pub trade_off: &'static str,
    /// What stays risky after moving to it (one line).
    pub residual_risk: &'static str,
    /// How risky a pipeline still is once moved to it.
    pub residual_level: Severity,
    /// When depriv picks it (guides).
    pub when: &'static str,
    /// Pitfalls added as notes to every rewrite for it, each citing its upstream source.
    pub notes: &'static [&'static str],
    /// Whether the Docker daemon stays privileged after the move.
    pub keeps_privileged_daemon: bool,
    /// Position in auto mode's fallback order (0 first): the ones that remove the most
    /// privilege first.
    pub fallback_rank: u8,
    /// Whether auto mode may fall back to it on its own (else only offered to the user).
    pub auto_fallback: bool,
    /// Why it cannot work for a pipeline, `None` when it can.
    pub infeasible: fn(&Context<'_>) -> Option<&'static str>,
    /// The long-form guide.
    pub guide: &'static Guide,
    /// The guide page, relative to the repository root.
    pub doc: &'static str,
    /// The word that marks its templates under `templates/` (`depriv templates list`).
    pub template_key: &'static str,
    /// The rewrite operations it needs.
    pub ops: &'static [Op],
}

/// How many targets there are.
pub const COUNT: usize = 5;

const SPECS: [TargetSpec; COUNT] = [SYSBOX, ROOTLESS, KANIKO, BUILDKIT, TLS];

/// Every target's entry, in the order the UI lists them.
pub static REGISTRY: [TargetSpec; COUNT] = SPECS;

/// Every target, in the registry order.
pub const ALL: [Target; COUNT] = {
    let mut out = [Target::Sysbox; COUNT];
    let mut i = 0;
    while i < COUNT {
        out[i] = SPECS[i].target;
        i += 1;
    }
    out
};

// The registry lists the targets in declaration order, so a target indexes its own entry.
const _: () = {
    let mut i = 0;
    while i < COUNT {
        assert!(SPECS[i].target as usize == i);
        i += 1;
    }
};

/// The registry entry of a target.
pub fn spec(t: Target) -> &'static TargetSpec {
    &REGISTRY[t as usize]
}

/// Every target in auto mode's fallback order (by [`TargetSpec::fallback_rank`]); the ones
/// that remove the most privilege first.
pub const FALLBACK_ORDER: [Target; COUNT] = {
    let mut out = [Target::Sysbox; COUNT];
    let mut i = 0;
    while i < COUNT {
        let rank = SPECS[i].fallback_rank as usize;
        assert!(rank < COUNT);
        out[rank] = SPECS[i].target;
        i += 1;
    }
    out
};

/// Whether auto mode may fall back to a target on its own.
pub fn auto_fallback(t: Target) -> bool {
    spec(t).auto_fallback
}

/// A target by its id or one of its aliases, case-insensitively.
pub fn parse(name: &str) -> Option<Target> {
    let n = name.trim().to_ascii_lowercase();
    REGISTRY
        .iter()
        .find(|s| s.id == n || s.aliases.contains(&n.as_str()))
        .map(|s| s.target)
}

fn only_builds(cx: &Context<'_>) -> Option<&'static str> {
    if !cx.privilege.is_empty() {
        Some(NO_BUILD)
    } else if cx.usage.is_empty() {
        Some("does not only build images (Docker usage unknown)")
    } else {
        None
    }
}

/// Why sysbox cannot serve a compose file deployed as a Swarm stack.
pub const SWARM_NO_RUNTIME: &str = "deployed as a Swarm stack: `docker stack deploy` cannot set a per-service `runtime` (Swarm services take the engine's default runtime) and ignores `depends_on` (https://docs.docker.com/reference/cli/docker/stack/deploy/, https://docs.docker.com/reference/compose-file/deploy/); sysbox would have to become the default runtime of every node";

fn sysbox_feasible(cx: &Context<'_>) -> Option<&'static str> {
    if let Some(why) = cx.privilege.iter().find_map(|r| sysbox_limit(*r)) {
        Some(why)
    } else if cx.hosting == Hosting::Swarm {
        Some(SWARM_NO_RUNTIME)
    } else if cx.hosting == Hosting::GithubHosted {
        Some("GitHub-hosted runners cannot install sysbox")
    } else if cx.env.sysbox == Some(false) {
        Some("sysbox cannot be installed on the runner hosts")
    } else if cx.env.runner_hosts == RunnerHosts::Managed {
        Some("managed runners cannot install sysbox")
    } else {
        None
    }
}

fn kaniko_feasible(cx: &Context<'_>) -> Option<&'static str> {
    if !cx.privilege.is_empty() {
        Some(NO_BUILD)
    } else if cx.usage.contains(&DockerUse::Run) {
        Some("runs containers: kaniko cannot run them")
    } else if cx.usage.contains(&DockerUse::MultiArch) {
        Some("builds for several platforms: kaniko builds one platform per run")
    } else {
        only_builds(cx)
    }
}

fn buildkit_feasible(cx: &Context<'_>) -> Option<&'static str> {
    only_builds(cx).or_else(|| {
        cx.usage
            .contains(&DockerUse::Run)
            .then_some("runs containers: BuildKit only builds images")
    })
}

/// Feasible wherever a Docker daemon is what runs privileged.
fn has_daemon(cx: &Context<'_>) -> Option<&'static str> {
    (!cx.privilege.is_empty()).then_some(NO_DAEMON)
}

const SYSBOX: TargetSpec = TargetSpec {
    target: Target::Sysbox,
    id: "sysbox",
    aliases: &["sysbox-runc"],
    title: "Sysbox",
    strategy_help: "Sysbox wherever feasible",
    mitigation: MitigationText {
        id: "sysbox",
        title: "Sysbox runtime",
    },
    trade_off: "unprivileged system containers run the same dind image; needs sysbox installed on the runner hosts",
    residual_risk: "host install (systemd services, kernel ≥ 5.12 or shiftfs); sysbox support is best-effort",
    residual_level: Severity::Low,
    when: "Recommended for pipelines that run containers when the runner hosts are self-managed or Kubernetes nodes; not feasible on GitHub-hosted or managed runners.",
    notes: &[
        "sysbox must be installed on every host or node that runs these containers (systemd services, .deb packages for Ubuntu/Debian only, kernel ≥ 5.12 or shiftfs); support is best-effort (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; docs/targets/sysbox.md)",
        "sysbox rejects privileged mode, host namespaces and --userns=host; inside a sysbox container mknod (/dev/fuse, /dev/tun), nested user namespaces and insmod do not work, and buildx+QEMU needs kernel ≥ 6.7 (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md)",
    ],
    keeps_privileged_daemon: false,
    fallback_rank: 2,
    auto_fallback: true,
    infeasible: sysbox_feasible,
    guide: &prose::SYSBOX,
    doc: "docs/targets/sysbox.md",
    template_key: "sysbox",
    ops: &[Op::SetRuntime],
};

const ROOTLESS: TargetSpec = TargetSpec {
    target: Target::Rootless,
    id: "rootless",
    aliases: &["dind-rootless", "rootless-dind"],
    title: "Rootless Docker-in-Docker",
    strategy_help: "Rootless dind wherever feasible",
    mitigation: MitigationText {
        id: "rootless",
        title: "Rootless Docker",
    },
    trade_off: "dind-rootless runs the daemon as an unprivileged user; no host change for GitLab services_privileged",
    residual_risk: "still privileged in most setups (seccomp, AppArmor and mount masks need --privileged)",
    residual_level: Severity::High,
    when: "Recommended for pipelines that run containers when sysbox cannot be installed (managed or GitHub-hosted runners).",
    notes: &[
        "docker:dind-rootless is still privileged: --privileged is needed for seccomp, AppArmor and mount masks; it only narrows what a daemon escape reaches (https://docs.docker.com/engine/security/rootless/tips/; docs/targets/rootless.md)",
        "rootless Docker cannot publish ports below 1024 without net.ipv4.ip_unprivileged_port_start=0 or setcap on rootlesskit (https://docs.docker.com/engine/security/rootless/troubleshoot/; docs/targets/rootless.md)",
    ],
    keeps_privileged_daemon: true,
    fallback_rank: 3,
    auto_fallback: true,
    infeasible: has_daemon,
    guide: &prose::ROOTLESS,
    doc: "docs/targets/rootless.md",
    template_key: "rootless",
    ops: &[Op::SwapDaemonImage],
};

const KANIKO: TargetSpec = TargetSpec {
    target: Target::Kaniko,
    id: "kaniko",
    aliases: &[],
    title: "kaniko",
    strategy_help: "kaniko wherever feasible",
    mitigation: MitigationText {
        id: "kaniko",
        title: "kaniko",
    },
    trade_off: "daemonless single-platform builds with no privilege and no runner change",
    residual_risk: "upstream kaniko is archived: uses the maintained osscontainertools fork; runs as root in its container",
    residual_level: Severity::Low,
    when: "Feasible for pipelines that only build, push and log in, for one platform; never recommended by default because upstream is archived.",
    notes: &[
        "upstream kaniko is archived; depriv uses the maintained osscontainertools fork image (https://github.com/osscontainertools/kaniko; https://github.com/GoogleContainerTools/kaniko; docs/targets/kaniko.md)",
        "kaniko runs as root in its own container: it fails where runAsNonRoot or PSS restricted is enforced, and RUN steps can read mounted credentials (https://github.com/GoogleContainerTools/kaniko/issues/105; docs/targets/kaniko.md)",
        "kaniko has no --ssh, no multi-platform, no local image load; the maintained fork skips unused stages itself (https://github.com/osscontainertools/kaniko; docs/targets/kaniko.md)",
    ],
    keeps_privileged_daemon: false,
    fallback_rank: 1,
    auto_fallback: true,
    infeasible: kaniko_feasible,
    guide: &prose::KANIKO,
    doc: "docs/targets/kaniko.md",
    template_key: "kaniko",
    ops: &[Op::DropDaemon, Op::TranslateBuilds(Builder::Kaniko)],
};

const BUILDKIT: TargetSpec = TargetSpec {
    target: Target::Buildkit,
    id: "buildkit",
    aliases: &["rootless-buildkit"],
    title: "Rootless BuildKit",
    strategy_help: "BuildKit wherever feasible",
    mitigation: MitigationText {
        id: "buildkit",
        title: "Rootless BuildKit",
    },
    trade_off: "rootless, daemonless BuildKit (buildctl-daemonless.sh), multi-platform and cache capable",
    residual_risk: "needs seccomp/AppArmor unconfined (or a userns-capable kernel) on self-managed runners",
    residual_level: Severity::Medium,
    when: "Recommended for pipelines that only build, push and log in (any number of platforms).",
    notes: &[
        "rootless BuildKit needs seccomp and AppArmor unconfined plus --oci-worker-no-process-sandbox (or systempaths=unconfined); Baseline Pod Security rejects Unconfined seccomp (https://github.com/moby/buildkit/blob/master/docs/rootless.md; https://kubernetes.io/docs/concepts/security/pod-security-standards/; docs/targets/buildkit.md)",
        "rootless BuildKit needs user namespaces on the host (user.max_user_namespaces > 0; Ubuntu ≥ 24.04: kernel.apparmor_restrict_unprivileged_userns=0) and kernel ≥ 5.11 for overlayfs (https://github.com/moby/buildkit/blob/master/docs/rootless.md; docs/targets/buildkit.md)",
        "the moby/buildkit rootless image's entrypoint is the daemon: script containers must override it or the job hangs (https://docs.gitlab.com/ci/docker/using_buildkit/; docs/targets/buildkit.md)",
        "--oci-worker-no-process-sandbox weakens isolation between RUN steps and the daemon (https://github.com/moby/buildkit/blob/master/docs/rootless.md; docs/targets/buildkit.md)",
    ],
    keeps_privileged_daemon: false,
    fallback_rank: 0,
    auto_fallback: true,
    infeasible: buildkit_feasible,
    guide: &prose::BUILDKIT,
    doc: "docs/targets/buildkit.md",
    template_key: "buildkit",
    ops: &[Op::DropDaemon, Op::TranslateBuilds(Builder::Buildkit)],
};

const TLS: TargetSpec = TargetSpec {
    target: Target::Tls,
    id: "tls",
    aliases: &["tls-daemon", "tls-dind"],
    title: "Restricted TLS Docker daemon",
    strategy_help: "TLS-hardened dind",
    mitigation: MitigationText {
        id: "tls-daemon",
        title: "Restricted TLS daemon (client certificates, dedicated daemon, network isolation)",
    },
    trade_off: "keeps dind but with TLS and client certificates on 2376",
    residual_risk: "hardening only: the daemon stays privileged",
    residual_level: Severity::High,
    when: "Never recommended: choose it (`--strategy tls`) when Docker-in-Docker must stay as it is.",
    notes: &[
        "TLS is hardening only: the daemon stays privileged (https://hub.docker.com/_/docker; docs/targets/tls.md)",
        "with TLS, /certs/client must be shared between daemon and clients; plaintext 2375 in a shared network namespace is a host takeover risk (https://hub.docker.com/_/docker; docs/targets/tls.md)",
    ],
    keeps_privileged_daemon: true,
    fallback_rank: 4,
    // TLS dind keeps a privileged daemon: offered to the user, never chosen as a fallback.
    auto_fallback: false,
    infeasible: has_daemon,
    guide: &prose::TLS,
    doc: "docs/targets/tls.md",
    template_key: "tls",
    ops: &[Op::EnableDaemonTls],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn spec_finds_each_targets_own_entry() {
        for s in &REGISTRY {
            assert_eq!(spec(s.target).id, s.id);
            assert_eq!(parse(s.id), Some(s.target));
            for a in s.aliases {
                assert_eq!(parse(a), Some(s.target), "alias {a}");
            }
        }
        assert_eq!(parse(" Dind-Rootless "), Some(Target::Rootless));
        assert_eq!(parse("podman"), None);
    }

    #[test]
    fn every_target_is_complete() {
        let mut ranks = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let template_files: Vec<String> = walk(&root().join("templates"));
        for s in &REGISTRY {
            assert!(ids.insert(s.id), "duplicate id {}", s.id);
            assert!(
                ranks.insert(s.fallback_rank),
                "{}: duplicate fallback rank",
                s.id
            );
            assert!(
                usize::from(s.fallback_rank) < REGISTRY.len(),
                "{}: fallback rank out of range",
                s.id
            );
            assert!(!s.notes.is_empty(), "{}: no pitfall notes", s.id);
            for n in s.notes {
                assert!(
                    n.contains(s.doc),
                    "{}: note does not point at {}",
                    s.id,
                    s.doc
                );
            }
            assert!(!s.ops.is_empty(), "{}: needs no operation", s.id);
            let g = s.guide;
            assert!(
                !g.what.is_empty()
                    && !g.requirements.is_empty()
                    && !g.residual.is_empty()
                    && !g.troubleshooting.is_empty()
                    && !g.sources.is_empty(),
                "{}: incomplete guide",
                s.id
            );
            assert!(!s.trade_off.is_empty() && !s.residual_risk.is_empty());
            assert_eq!(s.doc, format!("docs/targets/{}.md", s.id));
            assert!(root().join(s.doc).is_file(), "{}: no {}", s.id, s.doc);
            let key = s.template_key;
            assert!(
                template_files.iter().any(|f| f
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == key)),
                "{}: no template under templates/ named for {key}",
                s.id
            );
            for o in &REGISTRY {
                if s.keeps_privileged_daemon && !o.keeps_privileged_daemon {
                    assert!(
                        s.fallback_rank > o.fallback_rank,
                        "{} keeps a privileged daemon but falls back before {}",
                        s.id,
                        o.id
                    );
                }
            }
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return out;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                out.push(n.to_ascii_lowercase());
            }
        }
        out
    }

    #[test]
    fn fallback_order_removes_most_privilege_first() {
        assert_eq!(
            FALLBACK_ORDER.to_vec(),
            vec![
                Target::Buildkit,
                Target::Kaniko,
                Target::Sysbox,
                Target::Rootless,
                Target::Tls
            ]
        );
        let auto: Vec<Target> = REGISTRY
            .iter()
            .filter(|s| s.auto_fallback)
            .map(|s| s.target)
            .collect();
        assert!(!auto.contains(&Target::Tls));
        assert_eq!(auto.len(), 4);
    }

    #[test]
    fn feasibility_is_read_from_usage_and_hosts() {
        let env = Environment::default();
        let run: BTreeSet<_> = [DockerUse::Build, DockerUse::Run].into();
        let multi: BTreeSet<_> = [DockerUse::Build, DockerUse::MultiArch].into();
        let none = BTreeSet::new();
        let no_reason = BTreeSet::new();
        let cx = |usage, hosting| Context {
            usage,
            hosting,
            env: &env,
            privilege: &no_reason,
        };
        let why = |t: Target, c: &Context<'_>| (spec(t).infeasible)(c);
        assert!(why(Target::Kaniko, &cx(&run, Hosting::Unknown)).is_some());
        assert!(
            why(Target::Kaniko, &cx(&multi, Hosting::Unknown))
                .is_some_and(|w| w.contains("several platforms"))
        );
        assert_eq!(why(Target::Buildkit, &cx(&multi, Hosting::Unknown)), None);
        assert!(
            why(Target::Buildkit, &cx(&none, Hosting::Unknown))
                .is_some_and(|w| w.contains("unknown"))
        );
        assert!(why(Target::Sysbox, &cx(&run, Hosting::GithubHosted)).is_some());
        assert_eq!(why(Target::Sysbox, &cx(&run, Hosting::Unknown)), None);
        assert_eq!(why(Target::Tls, &cx(&none, Hosting::GithubHosted)), None);
    }

    #[test]
    fn workload_privilege_rules_out_docker_targets_and_sysbox_where_it_cannot_run() {
        let env = Environment::default();
        let run: BTreeSet<_> = [DockerUse::Run].into();
        let why = |t: Target, reasons: &[PrivilegeReason]| {
            let privilege: BTreeSet<PrivilegeReason> = reasons.iter().copied().collect();
            (spec(t).infeasible)(&Context {
                usage: &run,
                hosting: Hosting::SelfHosted,
                env: &env,
                privilege: &privilege,
            })
        };
        for t in [Target::Rootless, Target::Tls] {
            assert_eq!(why(t, &[PrivilegeReason::Kvm]), Some(NO_DAEMON));
            assert_eq!(why(t, &[]), None);
        }
        for t in [Target::Buildkit, Target::Kaniko] {
            assert_eq!(why(t, &[PrivilegeReason::Systemd]), Some(NO_BUILD));
        }
        assert_eq!(why(Target::Sysbox, &[PrivilegeReason::Systemd]), None);
        assert!(
            why(Target::Sysbox, &[PrivilegeReason::Bubblewrap])
                .is_some_and(|w| w.contains("nested user namespaces"))
        );
        assert!(
            why(
                Target::Sysbox,
                &[PrivilegeReason::Systemd, PrivilegeReason::DiskImage]
            )
            .is_some_and(|w| w.contains("loop devices"))
        );
    }
}
