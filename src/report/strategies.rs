//! The per-mitigation-strategy section of a report: for sysbox, a restricted TLS daemon,
//! rootless Docker, kaniko and BuildKit, where the repository currently implements it and where
//! it is missing. Implementations are read from the CI files themselves ([`gather`]: a runner
//! with `runtime = "sysbox-runc"`, a `daemon.json` with `tlsverify`, a BuildKit image…); gaps
//! come from the findings, the host configuration files and the migration plan.

use serde::Serialize;

use crate::finding::Finding;
use crate::plan::Target;
use crate::rewrite::Status;
use crate::surface::{daemon, runner};

/// A mitigation strategy of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mitigation {
    /// Sysbox runtime.
    Sysbox,
    /// Restricted TLS daemon: TLS with client certificates, a dedicated daemon, network
    /// isolation, user namespaces.
    TlsDaemon,
    /// Rootless Docker.
    Rootless,
    /// kaniko.
    Kaniko,
    /// Rootless BuildKit.
    Buildkit,
}

impl Mitigation {
    /// Every strategy, in report order.
    pub const ALL: [Mitigation; 5] = [
        Mitigation::Sysbox,
        Mitigation::TlsDaemon,
        Mitigation::Rootless,
        Mitigation::Kaniko,
        Mitigation::Buildkit,
    ];

    /// Stable name (the target's registry entry).
    pub fn as_str(self) -> &'static str {
        crate::targets::spec(self.target()).mitigation.id
    }

    /// Human title (the target's registry entry).
    pub fn title(self) -> &'static str {
        crate::targets::spec(self.target()).mitigation.title
    }

    /// The migration target that implements it.
    pub fn target(self) -> Target {
        match self {
            Mitigation::Sysbox => Target::Sysbox,
            Mitigation::TlsDaemon => Target::Tls,
            Mitigation::Rootless => Target::Rootless,
            Mitigation::Kaniko => Target::Kaniko,
            Mitigation::Buildkit => Target::Buildkit,
        }
    }
}

/// One place that implements, or lacks, part of a strategy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Item {
    /// Root-relative path.
    pub path: String,
    /// 1-based line, 0 for the whole file.
    pub line: usize,
    /// Which part of the strategy (`runtime`, `client certificates`, `pipeline`…).
    pub aspect: String,
    /// What is there, or what is missing.
    pub detail: String,
}

/// What [`gather`] read from the CI files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Where a strategy is implemented.
    pub implemented: Vec<(Mitigation, Item)>,
    /// Host-configuration gaps: (strategy, item, relevant only when a pipeline chose it).
    pub gaps: Vec<(Mitigation, Item, bool)>,
}

fn item(path: &str, line: usize, aspect: &str, detail: impl Into<String>) -> Item {
    Item {
        path: path.to_string(),
        line,
        aspect: aspect.to_string(),
        detail: detail.into(),
    }
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//") || t.starts_with("/*") || t.starts_with('*')
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Line (1-based) of the first non-comment line containing `needle`, or 0.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .enumerate()
        .find(|(_, l)| !is_comment(l) && l.contains(needle))
        .map(|(i, _)| i + 1)
        .unwrap_or(0)
}

/// Read where each strategy is implemented, and the host-configuration gaps, from CI files
/// given as (root-relative path, text). Line-based and comment-aware; never fails.
pub fn gather<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Evidence {
    let mut ev = Evidence::default();
    for (path, text) in files {
        let name = file_name(path).to_ascii_lowercase();
        if name == "daemon.json" {
            daemon_facts(path, text, &mut ev);
        } else if name.ends_with(".toml") && text.contains("[[runners]]") {
            runner_facts(path, text, &mut ev);
        }
        for (i, raw) in text.lines().enumerate() {
            if is_comment(raw) {
                continue;
            }
            let line = i + 1;
            let l = raw.to_ascii_lowercase();
            let is_daemon_json = name == "daemon.json";
            let is_runner = name.ends_with(".toml");
            if l.contains("sysbox-runc") && !is_daemon_json && !is_runner {
                let (aspect, detail) = if l.contains("runtimeclassname") {
                    (
                        "runtime class",
                        "pods run under the sysbox-runc RuntimeClass",
                    )
                } else if l.contains("handler") {
                    ("runtime class", "a sysbox-runc RuntimeClass is defined")
                } else {
                    ("runtime", "containers run under the sysbox-runc runtime")
                };
                ev.implemented
                    .push((Mitigation::Sysbox, item(path, line, aspect, detail)));
            }
            if l.contains("dind-rootless") || l.contains("dockerd-rootless") {
                ev.implemented.push((
                    Mitigation::Rootless,
                    item(path, line, "daemon", "a rootless Docker daemon is used"),
                ));
            } else if l.contains("unix:///run/user/") && l.contains("docker.sock") {
                ev.implemented.push((
                    Mitigation::Rootless,
                    item(path, line, "client", "clients use a rootless Docker socket"),
                ));
            }
            if l.contains("kaniko") && (l.contains("image") || l.contains("/kaniko/executor")) {
                ev.implemented.push((
                    Mitigation::Kaniko,
                    item(path, line, "builder", "images are built with kaniko"),
                ));
            }
            if l.contains("moby/buildkit") || l.contains("buildctl") {
                let detail = if l.contains("rootless") || l.contains("buildctl-daemonless") {
                    "images are built with rootless BuildKit"
                } else {
                    "images are built with BuildKit"
                };
                ev.implemented
                    .push((Mitigation::Buildkit, item(path, line, "builder", detail)));
            } else if l.contains("docker/build-push-action") {
                ev.implemented.push((
                    Mitigation::Buildkit,
                    item(
                        path,
                        line,
                        "builder",
                        "images are built with BuildKit through docker/build-push-action (daemonless only on GitHub-hosted runners)",
                    ),
                ));
            }
            if !is_daemon_json {
                tls_line(path, line, &l, is_runner, &mut ev);
            }
        }
    }
    ev.implemented.sort();
    ev.implemented.dedup();
    ev.gaps.sort();
    ev.gaps.dedup();
    ev
}

fn tls_line(path: &str, line: usize, l: &str, is_runner: bool, ev: &mut Evidence) {
    let value_after = |key: &str| -> Option<String> {
        let rest = l.split_once(key)?.1;
        let rest = rest.trim_start_matches(['"', '\'']).trim_start();
        let rest = rest.strip_prefix([':', '=']).unwrap_or(rest);
        Some(
            rest.trim()
                .trim_matches(|c| c == '"' || c == '\'' || c == ',')
                .to_string(),
        )
    };
    if let Some(v) = value_after("docker_tls_certdir")
        && !v.is_empty()
        && v.starts_with('/')
    {
        ev.implemented.push((
            Mitigation::TlsDaemon,
            item(
                path,
                line,
                "TLS",
                "the dind daemon generates TLS certificates and listens on 2376 with --tlsverify",
            ),
        ));
    }
    if l.contains("docker_cert_path")
        || l.contains("--tlscacert")
        || (l.contains("docker_tls_verify")
            && value_after("docker_tls_verify").is_some_and(|v| v == "1" || v == "true"))
        || (is_runner && l.contains("tls_verify") && l.contains("true"))
    {
        ev.implemented.push((
            Mitigation::TlsDaemon,
            item(
                path,
                line,
                "client certificates",
                "clients verify the daemon and present client certificates",
            ),
        ));
    }
    if l.contains("tcp://") && l.contains(":2376") {
        ev.implemented.push((
            Mitigation::TlsDaemon,
            item(
                path,
                line,
                "TLS",
                "clients reach the daemon on the TLS port 2376",
            ),
        ));
    }
    if (l.contains("2375:2375") || l.contains("2376:2376")) && !l.contains("127.0.0.1") {
        ev.gaps.push((
            Mitigation::TlsDaemon,
            item(
                path,
                line,
                "network isolation",
                "the Docker daemon port is published on every interface",
            ),
            false,
        ));
    }
}

fn daemon_facts(path: &str, text: &str, ev: &mut Evidence) {
    let Some(info) = daemon::info(text) else {
        return;
    };
    if info.tlsverify {
        ev.implemented.push((
            Mitigation::TlsDaemon,
            item(
                path,
                line_of(text, "tlsverify"),
                "client certificates",
                "the daemon requires client certificates (tlsverify)",
            ),
        ));
    }
    if info.userns_remap {
        ev.implemented.push((
            Mitigation::TlsDaemon,
            item(
                path,
                line_of(text, "userns-remap"),
                "user namespaces",
                "container root is remapped to an unprivileged host user (userns-remap)",
            ),
        ));
    } else {
        ev.gaps.push((
            Mitigation::TlsDaemon,
            item(
                path,
                0,
                "user namespaces",
                "no userns-remap: root in a container is root on this host",
            ),
            false,
        ));
    }
    if info.sysbox_runtime {
        ev.implemented.push((
            Mitigation::Sysbox,
            item(
                path,
                line_of(text, "sysbox-runc"),
                "host runtime",
                "the sysbox-runc runtime is registered on this Docker host",
            ),
        ));
    } else {
        ev.gaps.push((
            Mitigation::Sysbox,
            item(
                path,
                0,
                "host runtime",
                "the sysbox-runc runtime is not registered on this Docker host",
            ),
            true,
        ));
    }
    let public_tcp = text.lines().enumerate().find(|(_, l)| {
        !is_comment(l)
            && l.contains("tcp://")
            && !l.contains("127.0.0.1")
            && !l.contains("localhost")
    });
    if let Some((i, _)) = public_tcp {
        ev.gaps.push((
            Mitigation::TlsDaemon,
            item(
                path,
                i + 1,
                "network isolation",
                "the daemon listens on TCP on a non-loopback address: restrict it to the CI network",
            ),
            false,
        ));
    }
}

fn runner_facts(path: &str, text: &str, ev: &mut Evidence) {
    for r in runner::info(text) {
        let line = line_of(text, &format!("\"{}\"", r.name)).max(line_of(text, "[[runners]]"));
        let docker = r
            .executor
            .as_deref()
            .is_none_or(|e| e.starts_with("docker"));
        if r.sysbox {
            ev.implemented.push((
                Mitigation::Sysbox,
                item(
                    path,
                    line,
                    "runner runtime",
                    format!("runner `{}` runs its jobs under sysbox-runc", r.name),
                ),
            ));
        } else if docker {
            ev.gaps.push((
                Mitigation::Sysbox,
                item(
                    path,
                    line,
                    "runner runtime",
                    format!("runner `{}` does not set runtime = \"sysbox-runc\"", r.name),
                ),
                true,
            ));
        }
    }
}

/// Where a pipeline stands, as the strategies section needs it.
#[derive(Clone, Debug)]
pub struct PipelineState {
    /// Name.
    pub name: String,
    /// Declaring path.
    pub path: String,
    /// Declaration line.
    pub line: usize,
    /// Chosen target (none when skipped or left manual).
    pub target: Option<Target>,
    /// Status.
    pub status: Status,
}

/// How far a strategy is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// Implemented, nothing missing.
    Implemented,
    /// Implemented in places, missing in others.
    Partial,
    /// Needed but not implemented anywhere.
    Missing,
    /// Neither used nor needed.
    NotUsed,
}

impl Coverage {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Implemented => "implemented",
            Coverage::Partial => "partial",
            Coverage::Missing => "missing",
            Coverage::NotUsed => "not-used",
        }
    }
}

/// One strategy of the report.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyReport {
    /// The strategy.
    pub strategy: Mitigation,
    /// Human title.
    pub title: &'static str,
    /// How far it is implemented.
    pub coverage: Coverage,
    /// Where it is currently implemented.
    pub implemented: Vec<Item>,
    /// Where it is missing.
    pub missing: Vec<Item>,
}

/// Build the section. `findings` are the active findings of the state described (after the
/// migration when `written`, else before); `written` says whether migrated pipelines are
/// already on disk.
pub fn sections(
    ev: &Evidence,
    findings: &[Finding],
    pipelines: &[PipelineState],
    written: bool,
) -> Vec<StrategyReport> {
    Mitigation::ALL
        .iter()
        .map(|&m| {
            let mut implemented: Vec<Item> = ev
                .implemented
                .iter()
                .filter(|(x, _)| *x == m)
                .map(|(_, i)| i.clone())
                .collect();
            let mut missing: Vec<Item> = Vec::new();
            let chosen: Vec<&PipelineState> = pipelines
                .iter()
                .filter(|p| p.target == Some(m.target()))
                .collect();
            for p in &chosen {
                let done = written && p.status == Status::Migrated;
                let it = |detail: String| item(&p.path, p.line, "pipeline", detail);
                if done {
                    implemented.push(it(format!(
                        "pipeline `{}` was moved to {} by depriv",
                        p.name,
                        m.target().as_str()
                    )));
                } else {
                    let detail = match (written, p.status) {
                        (_, Status::Migrated) => format!(
                            "pipeline `{}` is planned for {}: `depriv migrate` applies it",
                            p.name,
                            m.target().as_str()
                        ),
                        (true, Status::Partial) => format!(
                            "pipeline `{}` was moved to {} in part: see its manual tasks",
                            p.name,
                            m.target().as_str()
                        ),
                        (false, Status::Partial) => format!(
                            "pipeline `{}` is planned for {}: `depriv migrate` applies part of it, the rest are manual tasks",
                            p.name,
                            m.target().as_str()
                        ),
                        (_, s) => format!(
                            "pipeline `{}` is planned for {} ({}): see its manual tasks",
                            p.name,
                            m.target().as_str(),
                            s.as_str()
                        ),
                    };
                    missing.push(it(detail));
                }
            }
            for (x, gap, only_if_chosen) in &ev.gaps {
                if *x == m && (!*only_if_chosen || !chosen.is_empty()) {
                    missing.push(gap.clone());
                }
            }
            if m == Mitigation::TlsDaemon {
                for f in findings.iter().filter(|f| !f.suppressed) {
                    let aspect = match f.rule {
                        "plaintext-docker-daemon" | "dind-tls-disabled" => "TLS",
                        "docker-socket-mount" => "dedicated daemon",
                        _ => continue,
                    };
                    let detail = if aspect == "dedicated daemon" {
                        format!(
                            "{}: the job uses the host's main Docker daemon, not a dedicated one",
                            f.pipeline.as_deref().unwrap_or("a job")
                        )
                    } else {
                        format!("{}: {}", f.pipeline.as_deref().unwrap_or("a job"), f.message)
                    };
                    missing.push(item(&f.path, f.line, aspect, detail));
                }
            }
            implemented.sort();
            implemented.dedup();
            missing.sort();
            missing.dedup();
            let coverage = match (implemented.is_empty(), missing.is_empty()) {
                (false, true) => Coverage::Implemented,
                (false, false) => Coverage::Partial,
                (true, false) => Coverage::Missing,
                (true, true) => Coverage::NotUsed,
            };
            StrategyReport {
                strategy: m,
                title: m.title(),
                coverage,
                implemented,
                missing,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, target: Target, status: Status) -> PipelineState {
        PipelineState {
            name: name.into(),
            path: ".gitlab-ci.yml".into(),
            line: 3,
            target: Some(target),
            status,
        }
    }

    #[test]
    fn runner_with_sysbox_counts_as_implemented() {
        let toml = "[[runners]]\n  name = \"r1\"\n  executor = \"docker\"\n  [runners.docker]\n    runtime = \"sysbox-runc\"\n[[runners]]\n  name = \"r2\"\n  executor = \"docker\"\n  [runners.docker]\n    privileged = true\n";
        let ev = gather([("gitlab-runner/config.toml", toml)]);
        assert!(
            ev.implemented
                .iter()
                .any(|(m, i)| *m == Mitigation::Sysbox && i.detail.contains("`r1`") && i.line == 2),
            "{ev:?}"
        );
        assert!(ev.gaps.iter().any(|(m, i, chosen)| *m == Mitigation::Sysbox
            && i.detail.contains("`r2`")
            && *chosen));
        // r2's gap only shows when a pipeline chose sysbox.
        let s = sections(&ev, &[], &[], false);
        assert_eq!(s[0].strategy, Mitigation::Sysbox);
        assert_eq!(s[0].coverage, Coverage::Implemented);
        let s = sections(
            &ev,
            &[],
            &[state("test", Target::Sysbox, Status::Manual)],
            false,
        );
        assert_eq!(s[0].coverage, Coverage::Partial);
        assert_eq!(s[0].missing.len(), 2, "{:?}", s[0].missing);
    }

    #[test]
    fn daemon_json_facts() {
        let ev = gather([(
            "etc/docker/daemon.json",
            "{\n  \"hosts\": [\"tcp://0.0.0.0:2376\"],\n  \"tlsverify\": true,\n  \"userns-remap\": \"default\"\n}\n",
        )]);
        let tls: Vec<_> = ev
            .implemented
            .iter()
            .filter(|(m, _)| *m == Mitigation::TlsDaemon)
            .map(|(_, i)| (i.aspect.as_str(), i.line))
            .collect();
        assert_eq!(
            tls,
            vec![("client certificates", 3), ("user namespaces", 4)]
        );
        assert!(
            ev.gaps
                .iter()
                .any(|(_, i, _)| i.aspect == "network isolation" && i.line == 2)
        );
        // Broken JSON: no facts, no panic.
        assert_eq!(
            gather([("daemon.json", "{\"tlsverify\": tr")]),
            Evidence::default()
        );
    }

    #[test]
    fn images_and_comments() {
        let yml = "# image: moby/buildkit:rootless is what we want\nbuild:\n  image: moby/buildkit:v0.32.2-rootless\nk:\n  image: ghcr.io/osscontainertools/kaniko:v1.28.3-debug\nt:\n  services: [docker:29-dind-rootless]\n  variables:\n    DOCKER_TLS_CERTDIR: \"/certs\"\n    DOCKER_HOST: tcp://docker:2376\n";
        let ev = gather([(".gitlab-ci.yml", yml)]);
        let found: Vec<(Mitigation, usize)> =
            ev.implemented.iter().map(|(m, i)| (*m, i.line)).collect();
        assert!(found.contains(&(Mitigation::Buildkit, 3)), "{found:?}");
        assert!(
            !found.iter().any(|(_, l)| *l == 1),
            "comment counted: {found:?}"
        );
        assert!(found.contains(&(Mitigation::Kaniko, 5)));
        assert!(found.contains(&(Mitigation::Rootless, 7)));
        assert!(found.contains(&(Mitigation::TlsDaemon, 9)));
        assert!(found.contains(&(Mitigation::TlsDaemon, 10)));
    }

    #[test]
    fn empty_certdir_is_not_tls_and_planned_pipelines_are_missing() {
        let ev = gather([(
            ".gitlab-ci.yml",
            "j:\n  variables:\n    DOCKER_TLS_CERTDIR: \"\"\n",
        )]);
        assert!(ev.implemented.is_empty(), "{ev:?}");
        let s = sections(
            &ev,
            &[],
            &[
                state("a", Target::Buildkit, Status::Migrated),
                state("b", Target::Kaniko, Status::Migrated),
            ],
            true,
        );
        let bk = s
            .iter()
            .find(|x| x.strategy == Mitigation::Buildkit)
            .expect("bk");
        assert_eq!(bk.coverage, Coverage::Implemented);
        assert!(bk.implemented[0].detail.contains("was moved to buildkit"));
        let s = sections(
            &ev,
            &[],
            &[state("a", Target::Buildkit, Status::Migrated)],
            false,
        );
        let bk = s
            .iter()
            .find(|x| x.strategy == Mitigation::Buildkit)
            .expect("bk");
        assert_eq!(bk.coverage, Coverage::Missing);
        assert!(bk.missing[0].detail.contains("depriv migrate"));
        assert!(
            s.iter()
                .all(|x| x.strategy == Mitigation::Buildkit || x.coverage == Coverage::NotUsed)
        );
    }

    #[test]
    fn hostile_text_does_not_panic() {
        let huge = "DOCKER_TLS_CERTDIR=".repeat(10_000);
        let odd =
            "\u{feff}\"\"\"''':=:=docker_tls_verify\u{0}\r\n[[runners]]\n name = \"\u{1F600}\"";
        let ev = gather([
            ("a.sh", huge.as_str()),
            ("config.toml", odd),
            ("daemon.json", ""),
            ("x", ""),
        ]);
        let _ = sections(&ev, &[], &[], true);
    }
}
