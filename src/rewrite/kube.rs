//! Rewrites for Kubernetes manifests and Helm values (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-k8s.md; https://github.com/moby/buildkit/tree/master/examples/kubernetes; https://docs.github.com/en/actions/how-tos/manage-runners/use-actions-runner-controller/deploy-runner-scale-sets; https://docs.gitlab.com/runner/configuration/advanced-configuration/; docs/targets/sysbox.md):
//! pod specs move to the `sysbox-runc` RuntimeClass with `hostUsers: false` and lose privileged
//! mode, host namespaces and relaxed profiles; dind sidecars get TLS on a shared `emptyDir`; host
//! Docker sockets are replaced by a dind sidecar for the containers that used them. The TLS and
//! rootless targets keep the daemon privileged on purpose. ARC `containerMode: dind` and the
//! legacy gitlab-runner `runners.privileged` become manual tasks with the exact values; the
//! embedded `runners.config` TOML is edited in place by [`super::runner`]. The edits are
//! planned with [`YamlPlan`], the planner the YAML rewriters share.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Side, sysbox_cluster_tasks, yaml_scalar};
use super::yaml_edit::YamlEditor;
use super::yaml_plan::{Hit, YamlPlan, hits_of};
use super::{Outcome, Request};
use crate::edit::Edit;
use crate::plan::Target;
use crate::source::docker_cmd::is_daemon_image;
use crate::source::yaml::{NodeId, NodeKind, Yaml};

/// Templates of this surface: (name under `templates/`, source).
pub use crate::templates::builtin::KUBE as TEMPLATES;

/// Name of the shared certificate volume depriv adds.
pub(crate) const CERTS_VOLUME: &str = "docker-certs";

// ---------------------------------------------------------------------------------------------
// Pod specs

/// One container of a pod spec.
#[derive(Clone, Debug)]
struct Ctr {
    map: NodeId,
    name: String,
    image: String,
    daemon: bool,
}

/// Every mapping that holds `containers:` (a pod spec), bounded.
pub(crate) fn pod_specs(p: &YamlPlan<'_>) -> Vec<NodeId> {
    let y = p.y();
    let mut out = Vec::new();
    for id in 0..y.node_count() as NodeId {
        if out.len() > 10_000 {
            break;
        }
        if matches!(y.node(id).kind, NodeKind::Map { .. }) && p.entry(id, "containers").is_some() {
            out.push(id);
        }
    }
    out
}

fn containers(p: &YamlPlan<'_>, spec: NodeId) -> Vec<Ctr> {
    let mut out = Vec::new();
    for key in ["initContainers", "containers"] {
        let Some(list) = p.value(spec, key) else {
            continue;
        };
        for it in p.items(list) {
            let m = p.y().resolve(it);
            if !p.is_map(m) {
                continue;
            }
            let image = p.text_of(m, "image").unwrap_or_default();
            let first_word = ["command", "args"]
                .iter()
                .find_map(|k| p.value(m, k))
                .and_then(|v| {
                    p.items(v)
                        .first()
                        .and_then(|i| p.y().str(*i))
                        .map(str::to_string)
                })
                .unwrap_or_default();
            out.push(Ctr {
                map: m,
                name: p.text_of(m, "name").unwrap_or_default(),
                daemon: is_daemon_image(&image)
                    || first_word == "dockerd"
                    || first_word.ends_with("/dockerd"),
                image,
            });
        }
    }
    out
}

/// `(item, name, value node)` of a container's `env` list.
fn env_items(p: &YamlPlan<'_>, ctr: NodeId) -> Vec<(NodeId, String, Option<NodeId>)> {
    let Some(env) = p.value(ctr, "env") else {
        return Vec::new();
    };
    p.items(env)
        .into_iter()
        .filter_map(|it| {
            let m = p.y().resolve(it);
            let name = p.text_of(m, "name")?;
            Some((it, name, p.entry(m, "value").map(|(_, v)| v)))
        })
        .collect()
}

fn env_value(p: &YamlPlan<'_>, ctr: NodeId, name: &str) -> Option<String> {
    env_items(p, ctr)
        .into_iter()
        .find(|(_, n, _)| n == name)
        .map(|(_, _, v)| v.and_then(|v| p.y().str(v)).unwrap_or("").to_string())
}

/// `(item, volume name, mountPath)` of a container's mounts.
fn mounts(p: &YamlPlan<'_>, ctr: NodeId) -> Vec<(NodeId, String, String)> {
    let Some(vm) = p.value(ctr, "volumeMounts") else {
        return Vec::new();
    };
    p.items(vm)
        .into_iter()
        .filter_map(|it| {
            let m = p.y().resolve(it);
            Some((
                it,
                p.text_of(m, "name")?,
                p.text_of(m, "mountPath").unwrap_or_default(),
            ))
        })
        .collect()
}

/// `(item, name, hostPath path)` of a pod's volumes.
fn volumes(p: &YamlPlan<'_>, spec: NodeId) -> Vec<(NodeId, String, Option<String>)> {
    let Some(v) = p.value(spec, "volumes") else {
        return Vec::new();
    };
    p.items(v)
        .into_iter()
        .filter_map(|it| {
            let m = p.y().resolve(it);
            let hp = p.value(m, "hostPath").and_then(|h| p.text_of(h, "path"));
            Some((it, p.text_of(m, "name")?, hp))
        })
        .collect()
}

/// A container that talks to a Docker daemon (a CLI image, `DOCKER_HOST`, or a mounted
/// `docker.sock`).
fn is_docker_client(p: &YamlPlan<'_>, c: &Ctr) -> bool {
    if matches!(
        crate::ciserver::by_image(&c.image),
        Some(crate::ciserver::Role::HostTool(_))
    ) {
        return false;
    }
    is_cli_image(&c.image)
        || env_value(p, c.map, "DOCKER_HOST").is_some()
        || mounts(p, c.map)
            .iter()
            .any(|(_, _, path)| path.trim_end_matches('/').ends_with("docker.sock"))
}

fn is_cli_image(image: &str) -> bool {
    let l = image.to_ascii_lowercase();
    let name = l.split('@').next().unwrap_or("");
    let (repo, tag) = match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (name, ""),
    };
    let last = repo.rsplit('/').next().unwrap_or("");
    (last == "docker" && tag.contains("cli"))
        || last.contains("docker-cli")
        || last.contains("inbound-agent")
        || last == "jnlp-slave"
        || last.contains("actions-runner")
        || last.contains("gitlab-runner")
}

/// A plaintext `DOCKER_HOST` pointing at this pod (loopback).
fn local_plaintext(addr: &str) -> bool {
    crate::rules::is_plaintext_tcp(addr) && {
        let a = addr.trim().trim_start_matches("tcp://");
        let host = a.rsplit_once(':').map(|(h, _)| h).unwrap_or(a);
        matches!(
            host.trim_matches(['[', ']']),
            "localhost" | "127.0.0.1" | "0.0.0.0" | "::1"
        )
    }
}

/// Command words that switch TLS off or open plaintext TCP on a daemon.
fn plaintext_arg(w: &str) -> bool {
    let w = w.trim();
    w == "--tls=false"
        || w == "--tls=0"
        || ["--host=", "-H=", "-H"].iter().any(|p| {
            w.strip_prefix(p)
                .is_some_and(crate::rules::is_plaintext_tcp)
        })
}

/// Rewrite the pod specs and Helm values of one YAML text. `hits` are this pipeline's findings
/// with offsets in `p`'s text. Edits stay planned in `p`.
pub(crate) fn plan_yaml(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    hits: &[Hit<'_>],
    side: &mut Side,
) {
    let specs = pod_specs(p);
    let mut in_pod: BTreeMap<NodeId, Vec<Hit<'_>>> = BTreeMap::new();
    let mut outside: Vec<Hit<'_>> = Vec::new();
    for h in hits {
        let spec = specs
            .iter()
            .filter(|s| {
                let r = p.y().span(**s);
                r.start <= h.at && h.at < r.end
            })
            .max_by_key(|s| p.y().span(**s).start)
            .copied();
        // A hit in a pod's metadata (annotations) belongs to the sibling `spec`.
        let spec = spec.or_else(|| {
            let node = p.ed.node_at(h.at)?;
            let (m, _, _) = p.ed.entry_of(node)?;
            p.ed.ancestor_entry(m, "annotations")?;
            let (owner, _, _) = p.ed.ancestor_entry(m, "metadata")?;
            let s = p.value(owner, "spec")?;
            specs.contains(&s).then_some(s)
        });
        match spec {
            Some(s) => in_pod.entry(s).or_default().push(*h),
            None => outside.push(*h),
        }
    }
    for (spec, hs) in &in_pod {
        pod(req, p, *spec, hs, side);
    }
    for h in &outside {
        outside_hit(req, p, h, side);
    }
}

fn outside_hit(req: &Request<'_>, p: &mut YamlPlan<'_>, h: &Hit<'_>, side: &mut Side) {
    let Some(node) = p.ed.node_at(h.at) else {
        return;
    };
    let at = common::loc(h.f);
    if let Some((map, key, _)) = p.ed.ancestor_entry(node, "containerMode") {
        arc_container_mode(req, p, map, key, h, side);
        return;
    }
    if let Some((m, k, _)) = p.ed.entry_of(node)
        && p.ed.ancestor_entry(m, "annotations").is_some()
    {
        if req.target == Target::Sysbox {
            p.remove(k);
        } else {
            side.task(
                format!(
                    "{}: an unconfined AppArmor/seccomp annotation is not changed by the {} target",
                    h.f.rule,
                    req.target.as_str()
                ),
                &at,
                String::new(),
                "",
            );
        }
        return;
    }
    if let Some((_, k, _)) = p.ed.ancestor_entry(node, "privileged")
        && p.ed.ancestor_entry(k, "runners").is_some()
    {
        gitlab_runner_legacy(req, h, side);
    }
}

/// ARC `containerMode.type: dind`: the injected sidecar is privileged and cannot be
/// overridden; the values must drop containerMode and carry the pod spec themselves.
fn arc_container_mode(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    root: NodeId,
    key: NodeId,
    h: &Hit<'_>,
    side: &mut Side,
) {
    let at = common::loc(h.f);
    match req.target {
        Target::Sysbox if arc_sysbox(req, p, root, key, side) => {
            side.note("ARC with sysbox is a community pattern, UNVERIFIED end to end (https://docs.github.com/en/actions/how-tos/manage-runners/use-actions-runner-controller/deploy-runner-scale-sets; docs/targets/sysbox.md): containerMode is gone and the chart's dind pod spec now lives in `template`, without privileged mode");
            sysbox_cluster_tasks(req, "the runner scale set", side);
        }
        Target::Sysbox => {
            let snippet = common::render(req, "kube/arc-dind-sysbox.yaml", &serde_json::json!({}), side);
            side.task(
                "remove `containerMode` and put this runner pod spec (dind under sysbox, not privileged) into the values",
                &at,
                snippet,
                "yaml",
            );
            side.note("ARC with sysbox is a community pattern, UNVERIFIED end to end (https://docs.github.com/en/actions/how-tos/manage-runners/use-actions-runner-controller/deploy-runner-scale-sets; docs/targets/sysbox.md)");
            sysbox_cluster_tasks(req, "the runner scale set", side);
        }
        Target::Tls => {
            side.kept.push(h.f.fingerprint.clone());
            side.note("ARC's dind sidecar talks to the runner over a Unix socket on a shared emptyDir; there is no TCP daemon to put TLS on (https://docs.github.com/en/actions/how-tos/manage-runners/use-actions-runner-controller/deploy-runner-scale-sets; docs/targets/sysbox.md)");
        }
        Target::Rootless | Target::Buildkit | Target::Kaniko => side.task(
            format!(
                "ARC containerMode dind injects a privileged sidecar that cannot be overridden; the {} target needs the pod spec copied into `template` (https://docs.github.com/en/actions/how-tos/manage-runners/use-actions-runner-controller/deploy-runner-scale-sets; docs/targets/sysbox.md)",
                req.target.as_str()
            ),
            &at,
            String::new(),
            "",
        ),
    }
}

/// Replace ARC's `containerMode: dind` by the chart's dind pod spec in `template.spec`, on
/// sysbox. Only for values whose template holds just the runner container; false otherwise.
fn arc_sysbox(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    root: NodeId,
    key: NodeId,
    side: &mut Side,
) -> bool {
    let Some(template) = p.value(root, "template") else {
        return false;
    };
    let Some(spec) = p.value(template, "spec") else {
        return false;
    };
    if !p.is_map(spec) || !p.is_block(spec) {
        return false;
    }
    if ["initContainers", "volumes", "runtimeClassName"]
        .iter()
        .any(|k| p.entry(spec, k).is_some())
    {
        return false;
    }
    let Some(list) = p.value(spec, "containers") else {
        return false;
    };
    let items = p.items(list);
    let runner = items
        .iter()
        .map(|i| p.y().resolve(*i))
        .find(|m| p.is_map(*m) && p.text_of(*m, "name").as_deref() == Some("runner"));
    let Some(runner) = runner else { return false };
    if items.len() != 1 || p.entry(runner, "volumeMounts").is_some() {
        return false;
    }
    if env_items(p, runner)
        .iter()
        .any(|(_, n, _)| n == "DOCKER_HOST")
    {
        return false;
    }
    let runner_image = p
        .text_of(runner, "image")
        .unwrap_or_else(|| common::ver(req, "arc_runner"));
    let init = common::render(
        req,
        "kube/arc-dind-init.yaml",
        &serde_json::json!({ "runner_image": runner_image }),
        side,
    );
    if init.is_empty() {
        return false;
    }
    p.remove(key);
    // Comment lines right above `containerMode:` describe it: they go with it.
    let text = p.text();
    let key_line = p.ed.line_start(p.y().span(key).start);
    let mut first = key_line;
    for _ in 0..64 {
        if first == 0 {
            break;
        }
        let prev = p.ed.line_start(first - 1);
        if text
            .get(prev..first)
            .is_some_and(|l| l.trim_start().starts_with('#'))
        {
            first = prev;
        } else {
            break;
        }
    }
    if first < key_line {
        p.raw(Edit::delete(p.ed.path, first, key_line));
    }
    let rt = yaml_scalar(&common::ver(req, "sysbox_runtime"));
    p.prepend(spec, format!("runtimeClassName: {rt}\nhostUsers: false"));
    p.append_items(spec, "initContainers", &[init.trim_end().to_string()]);
    p.append_items(
        runner,
        "env",
        &[
            "- name: DOCKER_HOST\n  value: unix:///var/run/docker.sock".into(),
            "- name: RUNNER_WAIT_FOR_DOCKER_IN_SECONDS\n  value: \"120\"".into(),
        ],
    );
    p.append_items(
        runner,
        "volumeMounts",
        &[
            "- name: work\n  mountPath: /home/runner/_work".into(),
            "- name: dind-sock\n  mountPath: /var/run".into(),
        ],
    );
    p.append_items(
        spec,
        "volumes",
        &[
            "- name: work\n  emptyDir: {}".into(),
            "- name: dind-sock\n  emptyDir: {}".into(),
            "- name: dind-externals\n  emptyDir: {}".into(),
        ],
    );
    true
}

fn gitlab_runner_legacy(req: &Request<'_>, h: &Hit<'_>, side: &mut Side) {
    let at = common::loc(h.f);
    match req.target {
        Target::Sysbox => {
            let snippet = common::render(
                req,
                "kube/gitlab-runner-values.yaml",
                &serde_json::json!({
                    "target": "sysbox",
                    "section": "https://docs.gitlab.com/runner/executors/kubernetes/; docs/targets/sysbox.md",
                    "lines": ["privileged = false", format!("runtime_class_name = \"{}\"", common::ver(req, "sysbox_runtime"))],
                }),
                side,
            );
            side.task(
                "replace `runners.privileged: true` by a runners.config with the sysbox RuntimeClass",
                &at,
                snippet,
                "yaml",
            );
            sysbox_cluster_tasks(req, "the runner's job pods", side);
        }
        Target::Tls => side.kept.push(h.f.fingerprint.clone()),
        Target::Rootless | Target::Buildkit | Target::Kaniko => side.task(
            format!(
                "runners.privileged: the {} target has no unprivileged form on the Kubernetes executor",
                req.target.as_str()
            ),
            &at,
            String::new(),
            "",
        ),
    }
}

fn has_certs_mount(p: &YamlPlan<'_>, ctr: NodeId) -> Option<String> {
    mounts(p, ctr)
        .into_iter()
        .find(|(_, _, path)| {
            path.trim_end_matches('/') == "/certs" || path.trim_end_matches('/') == "/certs/client"
        })
        .map(|(_, name, _)| name)
}

fn pod(req: &Request<'_>, p: &mut YamlPlan<'_>, spec: NodeId, hits: &[Hit<'_>], side: &mut Side) {
    let t = req.target;
    let ctrs = containers(p, spec);
    if !p.is_block(spec) {
        side.task(
            "the pod spec is a flow mapping: depriv only edits block YAML",
            &hits.first().map(|h| common::loc(h.f)).unwrap_or_default(),
            String::new(),
            "",
        );
        return;
    }
    if matches!(t, Target::Buildkit | Target::Kaniko) {
        let (tmpl, title) = if t == Target::Buildkit {
            (
                "kube/buildkit-job.yaml",
                "build with rootless BuildKit instead of a Docker daemon",
            )
        } else {
            (
                "kube/kaniko-job.yaml",
                "build with kaniko instead of a Docker daemon",
            )
        };
        let snippet = common::render(req, tmpl, &serde_json::json!({}), side);
        let at = hits.first().map(|h| common::loc(h.f)).unwrap_or_default();
        side.task(title, &at, snippet, "yaml");
        side.covered
            .extend(hits.iter().map(|h| h.f.fingerprint.clone()));
        return;
    }
    // Sysbox: no privileged mode, no host namespaces, no relaxed profiles — for pods that need
    // a system container (a daemon, privileged mode, capabilities, relaxed profiles).
    let wants_sysbox = ctrs.iter().any(|c| c.daemon)
        || hits.iter().any(|h| {
            matches!(
                h.f.rule,
                "privileged-dind" | "privileged-container" | "cap-sys-admin" | "seccomp-unconfined"
            )
        })
        || hits
            .iter()
            .any(|h| matches!(h.f.rule, "docker-socket-mount" | "plaintext-docker-daemon"))
            && ctrs.iter().any(|c| !c.daemon && is_docker_client(p, c));
    // Unconfined annotations in the pod's metadata.
    for h in hits {
        let Some(node) = p.ed.node_at(h.at) else {
            continue;
        };
        let Some((m, k, _)) = p.ed.entry_of(node) else {
            continue;
        };
        if p.ed.ancestor_entry(m, "annotations").is_none() {
            continue;
        }
        if t == Target::Sysbox {
            p.remove(k);
        } else {
            side.task(
                format!(
                    "{}: an unconfined AppArmor/seccomp annotation is not changed by the {} target",
                    h.f.rule,
                    t.as_str()
                ),
                &common::loc(h.f),
                String::new(),
                "",
            );
        }
    }
    if t == Target::Sysbox && wants_sysbox {
        let rt = common::ver(req, "sysbox_runtime");
        p.ensure(spec, "runtimeClassName", &yaml_scalar(&rt), true);
        p.ensure(spec, "hostUsers", "false", true);
        for k in ["hostNetwork", "hostPID", "hostIPC"] {
            if let Some((key, v)) = p.entry(spec, k)
                && p.truthy(v)
            {
                p.remove(key);
            }
        }
        if let Some(sc) = p.value(spec, "securityContext") {
            drop_unconfined(p, sc);
        }
        for c in &ctrs {
            if let Some(sc) = p.value(c.map, "securityContext") {
                if let Some((k, v)) = p.entry(sc, "privileged")
                    && p.truthy(v)
                {
                    p.remove(k);
                }
                if let Some(caps) = p.value(sc, "capabilities")
                    && let Some(add) = p.value(caps, "add")
                {
                    for it in p.items(add) {
                        if p.y().str(it).is_some_and(crate::rules::is_dangerous_cap) {
                            p.remove(it);
                        }
                    }
                }
                drop_unconfined(p, sc);
            }
        }
        sysbox_cluster_tasks(req, "this pod", side);
    }
    // Docker daemons, their clients and the host socket.
    let vols = volumes(p, spec);
    let sock_vols: Vec<(NodeId, String)> = vols
        .iter()
        .filter(|(_, _, hp)| hp.as_deref().is_some_and(crate::rules::is_socket_path))
        .map(|(i, n, _)| (*i, n.clone()))
        .collect();
    let daemons: Vec<&Ctr> = ctrs.iter().filter(|c| c.daemon).collect();
    let mut clients: Vec<&Ctr> = Vec::new();
    let mut sock_users_left: BTreeSet<String> = BTreeSet::new();
    let mut sock_mount_items: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
    for c in &ctrs {
        for (item, name, path) in mounts(p, c.map) {
            if !sock_vols.iter().any(|(_, n)| *n == name) {
                continue;
            }
            // Infrastructure that must see the host's own containers (a log shipper, a
            // monitor) keeps the host's socket: a sidecar daemon would not have them.
            let host_tool = match crate::ciserver::by_image(&c.image) {
                Some(crate::ciserver::Role::HostTool(what)) => Some(what),
                _ => None,
            };
            let client = !c.daemon
                && host_tool.is_none()
                && (path.trim_end_matches('/').ends_with("docker.sock")
                    || env_value(p, c.map, "DOCKER_HOST").is_some()
                    || is_cli_image(&c.image));
            if client {
                sock_mount_items.entry(c.map).or_default().push(item);
                if !clients.iter().any(|x| x.map == c.map) {
                    clients.push(c);
                }
            } else {
                sock_users_left.insert(name.clone());
                for h in hits.iter().filter(|h| h.f.rule == "docker-socket-mount") {
                    side.task(
                        match host_tool {
                            Some(what) => format!(
                                "container `{}` (image `{}`) is {what}: it reads the node's Docker through its socket by design and a sidecar daemon would not have the node's containers; run it on dedicated nodes, or keep it and suppress the finding with a reason",
                                c.name, c.image
                            ),
                            None => format!(
                                "container `{}` mounts the host's Docker socket directory but is not a Docker client depriv can rewire: narrow the hostPath to what it needs",
                                c.name
                            ),
                        },
                        &common::loc(h.f),
                        String::new(),
                        "",
                    );
                }
            }
        }
    }
    for c in &ctrs {
        if c.daemon {
            continue;
        }
        if let Some(h) = env_value(p, c.map, "DOCKER_HOST")
            && crate::rules::is_plaintext_tcp(&h)
        {
            if local_plaintext(&h) {
                if !clients.iter().any(|x| x.map == c.map) {
                    clients.push(c);
                }
            } else {
                for hit in hits
                    .iter()
                    .filter(|x| x.f.rule == "plaintext-docker-daemon")
                {
                    side.task(
                        format!(
                            "container `{}` reaches a Docker daemon outside this pod over plaintext TCP: enable TLS on that daemon (2376, client certificates) and set DOCKER_TLS_VERIFY/DOCKER_CERT_PATH here",
                            c.name
                        ),
                        &common::loc(hit.f),
                        String::new(),
                        "",
                    );
                }
            }
        }
    }
    let mut new_daemon = false;
    if daemons.is_empty() && !clients.is_empty() {
        if t == Target::Sysbox {
            new_daemon = true;
        } else if t == Target::Rootless {
            // The rootless daemon image still needs privileged mode: partial, like every
            // rootless dind.
            new_daemon = true;
            side.partial = true;
            side.note(format!(
                "the new dind sidecar runs {} privileged: the daemon itself runs as an unprivileged user, but the container keeps privileged mode (https://hub.docker.com/_/docker); sysbox removes it",
                common::ver(req, "dind_rootless")
            ));
        } else {
            for h in hits
                .iter()
                .filter(|h| matches!(h.f.rule, "docker-socket-mount" | "plaintext-docker-daemon"))
            {
                side.task(
                    format!(
                        "no Docker daemon in this pod: a dind sidecar under the {} target would run privileged; choose sysbox, or point DOCKER_HOST at a TLS daemon (tcp://HOST:2376 with client certificates)",
                        t.as_str()
                    ),
                    &common::loc(h.f),
                    String::new(),
                    "",
                );
            }
            clients.clear();
        }
    }
    // TLS on every daemon.
    let mut opened_tcp = false;
    for d in &daemons {
        if let Some((item, _, Some(v))) = env_items(p, d.map)
            .into_iter()
            .find(|(_, n, _)| n == "DOCKER_TLS_CERTDIR")
        {
            let _ = item;
            if p.y().str(v).is_some_and(|s| s.trim().is_empty()) {
                p.set_scalar(v, "/certs");
                opened_tcp = true;
            }
        }
        for key in ["command", "args"] {
            if let Some(list) = p.value(d.map, key) {
                for it in p.items(list) {
                    if p.y().str(it).is_some_and(plaintext_arg) {
                        p.remove(it);
                        opened_tcp = true;
                    }
                }
            }
        }
        if t == Target::Rootless
            && d.image.contains("dind")
            && !d.image.contains("rootless")
            && let Some(v) = p.value(d.map, "image")
        {
            p.set_scalar(v, yaml_scalar(&common::ver(req, "dind_rootless")));
            // The rootless daemon keeps its data in /home/rootless/.local/share/docker
            // (docker-library/docker Dockerfile-dind-rootless.template).
            for (it, _, path) in mounts(p, d.map) {
                let m = p.y().resolve(it);
                if path.trim_end_matches('/') == "/var/lib/docker"
                    && let Some(mp) = p.value(m, "mountPath")
                {
                    p.set_scalar(mp, "/home/rootless/.local/share/docker");
                    side.note("the dind storage volume moves from /var/lib/docker to /home/rootless/.local/share/docker, where the rootless daemon keeps its data");
                }
            }
        }
    }
    if matches!(t, Target::Rootless | Target::Tls) {
        for h in hits.iter().filter(|h| h.f.rule == "privileged-dind") {
            side.kept.push(h.f.fingerprint.clone());
        }
    }
    let certs = daemons
        .iter()
        .find_map(|d| has_certs_mount(p, d.map))
        .unwrap_or_else(|| CERTS_VOLUME.to_string());
    let mut need_volume = false;
    if !clients.is_empty() {
        if let Some(d) = daemons.first()
            && has_certs_mount(p, d.map).is_none()
        {
            p.append_items(
                d.map,
                "volumeMounts",
                &[format!("- name: {certs}\n  mountPath: /certs/client")],
            );
            need_volume = true;
        }
        if new_daemon {
            let names: Vec<String> = ctrs.iter().map(|c| c.name.clone()).collect();
            let name = ["dind", "dind-sidecar", "docker-daemon"]
                .into_iter()
                .find(|n| !names.iter().any(|x| x == n))
                .unwrap_or("depriv-dind");
            let frag = common::render(
                req,
                "kube/dind-sidecar.yaml",
                &serde_json::json!({
                    "name": name,
                    "certs_volume": certs,
                    "rootless": t == Target::Rootless,
                }),
                side,
            );
            if !frag.is_empty() {
                p.append_items(spec, "containers", &[frag.trim_end().to_string()]);
                need_volume = true;
            }
        }
        for c in &clients {
            wire_client(
                p,
                c.map,
                &certs,
                sock_mount_items.get(&c.map),
                &mut need_volume,
            );
        }
    } else if opened_tcp {
        let at = hits
            .iter()
            .find(|h| matches!(h.f.rule, "dind-tls-disabled" | "plaintext-docker-daemon"))
            .map(|h| common::loc(h.f))
            .unwrap_or_default();
        side.task(
            "the daemon now serves TLS on 2376: give its clients outside this pod the client certificates from /certs/client and set DOCKER_HOST=tcp://HOST:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH",
            &at,
            String::new(),
            "",
        );
    }
    // Socket volumes no client needs any more; the certificate volume.
    let has_certs_vol = vols.iter().any(|(_, n, _)| *n == certs);
    let mut placed = has_certs_vol || !need_volume;
    for (item, name) in &sock_vols {
        if sock_users_left.contains(name) || clients.is_empty() {
            continue;
        }
        if placed {
            p.remove(*item);
        } else {
            p.replace_item(*item, format!("- name: {certs}\n  emptyDir: {{}}"));
            placed = true;
        }
    }
    if !placed {
        p.append_items(
            spec,
            "volumes",
            &[format!("- name: {certs}\n  emptyDir: {{}}")],
        );
    }
}

fn wire_client(
    p: &mut YamlPlan<'_>,
    ctr: NodeId,
    certs: &str,
    sock_items: Option<&Vec<NodeId>>,
    need_volume: &mut bool,
) {
    let want = [
        ("DOCKER_HOST", "tcp://localhost:2376"),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", "/certs/client"),
    ];
    let items = env_items(p, ctr);
    let mut add = Vec::new();
    for (name, value) in want {
        match items.iter().find(|(_, n, _)| n == name) {
            Some((_, _, Some(v))) => {
                if p.y().str(*v) != Some(value) {
                    p.set_scalar(*v, yaml_scalar(value));
                }
            }
            Some((item, _, None)) => {
                let m = p.y().resolve(*item);
                if p.value(m, "valueFrom").is_none() {
                    p.append(m, format!("value: {}", yaml_scalar(value)));
                }
            }
            None => add.push(format!("- name: {name}\n  value: {}", yaml_scalar(value))),
        }
    }
    p.append_items(ctr, "env", &add);
    let mut sock = sock_items.cloned().unwrap_or_default().into_iter();
    if has_certs_mount(p, ctr).is_none() {
        let frag = format!("- name: {certs}\n  mountPath: /certs/client\n  readOnly: true");
        match sock.next() {
            Some(first) => p.replace_item(first, frag),
            None => p.append_items(ctr, "volumeMounts", &[frag]),
        }
        *need_volume = true;
    }
    for it in sock {
        p.remove(it);
    }
}

fn drop_unconfined(p: &mut YamlPlan<'_>, sc: NodeId) {
    for key in ["seccompProfile", "appArmorProfile"] {
        if let Some((k, v)) = p.entry(sc, key)
            && p.text_of(v, "type")
                .is_some_and(|t| t.trim() == "Unconfined")
        {
            p.remove(k);
        }
    }
}

/// Rewrite one Kubernetes pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let mut side = Side::default();
    let mut edits = Vec::new();
    for (path, findings) in common::by_path(&req.findings) {
        let Some(text) = req.files.text(&path) else {
            side.task("cannot read the file", &path, String::new(), "");
            continue;
        };
        let Ok(y) = Yaml::parse(&text) else {
            side.task("the file does not parse as YAML", &path, String::new(), "");
            continue;
        };
        let hits = hits_of(&findings);
        // Embedded gitlab-runner TOML (`runners.config`) first: its hits are handled there.
        let mut rest = Vec::new();
        let mut toml_hits: BTreeMap<NodeId, Vec<Hit<'_>>> = BTreeMap::new();
        {
            let ed = YamlEditor::new(&path, &text, &y);
            for h in hits {
                let cfg = ed.node_at(h.at).and_then(|n| {
                    let (_, k, v) = ed.ancestor_entry(n, "config")?;
                    ed.ancestor_entry(k, "runners")?;
                    let r = y.resolve(v);
                    y.str(r).map(|_| r)
                });
                match cfg {
                    Some(v) => toml_hits.entry(v).or_default().push(h),
                    None => rest.push(h),
                }
            }
        }
        for (v, hs) in &toml_hits {
            edits.extend(super::runner::rewrite_helm_config(
                req, &path, &text, &y, *v, hs, &mut side,
            ));
        }
        let mut p = YamlPlan::new(&path, &text, &y);
        plan_yaml(req, &mut p, &rest, &mut side);
        edits.extend(p.finish_or_report("this file", &path, &mut side));
    }
    common::finish(req, edits, side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::apply;
    use crate::migrate::Strategy;
    use crate::rewrite::common::testkit;

    fn plan_edit(src: &str, f: impl Fn(&mut YamlPlan<'_>)) -> String {
        let y = Yaml::parse(src).expect("parse");
        let mut p = YamlPlan::new("f", src, &y);
        f(&mut p);
        let e = p.finish();
        assert!(p.failed.is_empty(), "{:?}", p.failed);
        apply(src, &e).expect("apply")
    }

    #[test]
    fn removals_prune_emptied_parents_and_keep_the_rest() {
        let src = "a:\n  sc:\n    privileged: true\n  name: x\nb: [1, 2, 3]\n";
        let out = plan_edit(src, |p| {
            let root = p.y().documents()[0];
            let a = p.value(root, "a").expect("a");
            let sc = p.value(a, "sc").expect("sc");
            p.remove_key(sc, "privileged");
            let b = p.value(root, "b").expect("b");
            let items = p.items(b);
            p.remove(items[1]);
        });
        assert_eq!(out, "a:\n  name: x\nb: [1, 3]\n");
    }

    #[test]
    fn first_entry_of_a_dash_item_is_removed_without_the_dash() {
        let src = "l:\n  - name: a\n    path: b\n  - name: c\n";
        let out = plan_edit(src, |p| {
            let root = p.y().documents()[0];
            let l = p.value(root, "l").expect("l");
            let first = p.items(l)[0];
            p.remove_key(first, "name");
        });
        assert_eq!(out, "l:\n  - path: b\n  - name: c\n");
    }

    #[test]
    fn appends_follow_indentation_and_line_endings() {
        let src = "spec:\r\n  containers:\r\n  - name: a\r\n  volumes:\r\n  - name: v\r\n";
        let out = plan_edit(src, |p| {
            let root = p.y().documents()[0];
            let spec = p.value(root, "spec").expect("spec");
            p.ensure(spec, "hostUsers", "false", true);
            p.append_items(spec, "volumes", &["- name: w\n  emptyDir: {}".into()]);
            let c = p.items(p.value(spec, "containers").expect("c"))[0];
            p.append_items(c, "env", &["- name: X\n  value: \"1\"".into()]);
        });
        assert_eq!(
            out,
            "spec:\r\n  hostUsers: false\r\n  containers:\r\n  - name: a\r\n    env:\r\n    - name: X\r\n      value: \"1\"\r\n  volumes:\r\n  - name: v\r\n  - name: w\r\n    emptyDir: {}\r\n"
        );
    }

    #[test]
    fn overlapping_plans_fail_instead_of_corrupting() {
        let y = Yaml::parse("a: 1\n").expect("parse");
        let mut p = YamlPlan::new("f", "a: 1\n", &y);
        p.raw(Edit::replace("f", 0, 4, "x"));
        p.raw(Edit::replace("f", 2, 5, "y"));
        assert!(p.finish().is_empty());
        assert!(!p.failed.is_empty());
    }

    const DEMO_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec:\n  restartPolicy: Never\n  containers:\n    - name: builder\n      image: docker:29-cli\n      env:\n        - name: DOCKER_HOST\n          value: tcp://localhost:2375\n      volumeMounts:\n        - name: host-docker\n          mountPath: /var/run/docker.sock\n    - name: dind\n      image: docker:29-dind\n      securityContext:\n        privileged: true\n      env:\n        - name: DOCKER_TLS_CERTDIR\n          value: \"\"\n  volumes:\n    - name: host-docker\n      hostPath:\n        path: /var/run/docker.sock\n";

    #[test]
    fn sysbox_pod_gets_runtime_class_tls_and_no_socket() {
        let run = testkit::check(&[("pod.yaml", DEMO_POD)], Strategy::Sysbox);
        assert_eq!(
            run.files["pod.yaml"],
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec:\n  runtimeClassName: sysbox-runc\n  hostUsers: false\n  restartPolicy: Never\n  containers:\n    - name: builder\n      image: docker:29-cli\n      env:\n        - name: DOCKER_HOST\n          value: tcp://localhost:2376\n        - name: DOCKER_TLS_VERIFY\n          value: \"1\"\n        - name: DOCKER_CERT_PATH\n          value: /certs/client\n      volumeMounts:\n        - name: docker-certs\n          mountPath: /certs/client\n          readOnly: true\n    - name: dind\n      image: docker:29-dind\n      env:\n        - name: DOCKER_TLS_CERTDIR\n          value: /certs\n      volumeMounts:\n        - name: docker-certs\n          mountPath: /certs/client\n  volumes:\n    - name: docker-certs\n      emptyDir: {}\n"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
        let crlf = DEMO_POD.replace('\n', "\r\n");
        let run2 = testkit::check(&[("pod.yaml", &crlf)], Strategy::Sysbox);
        assert_eq!(
            run2.files["pod.yaml"],
            run.files["pod.yaml"].replace('\n', "\r\n")
        );
    }

    #[test]
    fn rootless_storage_mount_moves_to_the_rootless_data_dir() {
        let src = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ci\nspec:\n  containers:\n    - name: dind\n      image: docker:29-dind\n      securityContext:\n        privileged: true\n      volumeMounts:\n        - name: data\n          mountPath: /var/lib/docker\n  volumes:\n    - name: data\n      emptyDir: {}\n";
        let run = testkit::check(&[("pod.yaml", src)], Strategy::Rootless);
        let out = &run.files["pod.yaml"];
        assert!(out.contains("image: docker:29-dind-rootless"), "{out}");
        assert!(
            out.contains("mountPath: /home/rootless/.local/share/docker\n"),
            "{out}"
        );
        assert!(!out.contains("/var/lib/docker"), "{out}");
    }

    #[test]
    fn rootless_and_tls_keep_privileged_and_say_so() {
        let run = testkit::check(&[("pod.yaml", DEMO_POD)], Strategy::Rootless);
        let out = &run.files["pod.yaml"];
        assert!(out.contains("image: docker:29-dind-rootless"), "{out}");
        assert!(out.contains("privileged: true"));
        assert!(out.contains("value: tcp://localhost:2376"));
        assert!(!out.contains("docker.sock"));
        assert_eq!(run.statuses(), vec!["partial"]);
        let run = testkit::check(&[("pod.yaml", DEMO_POD)], Strategy::Tls);
        let out = &run.files["pod.yaml"];
        assert!(out.contains("image: docker:29-dind\n"));
        assert!(out.contains("value: /certs\n"));
        assert_eq!(run.statuses(), vec!["partial"]);
    }

    #[test]
    fn socket_client_without_daemon_gets_a_sysbox_or_rootless_sidecar() {
        let src = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: j\nspec:\n  containers:\n  - name: jnlp\n    image: jenkins/inbound-agent:3273.v4cfe589b_fd83-1\n    volumeMounts:\n    - name: sock\n      mountPath: /var/run/docker.sock\n  volumes:\n  - name: sock\n    hostPath:\n      path: /var/run/docker.sock\n      type: Socket\n";
        let run = testkit::check(&[("pod.yaml", src)], Strategy::Sysbox);
        let out = &run.files["pod.yaml"];
        assert!(out.contains("  - name: dind\n    image: docker:29-dind\n    env:\n      - name: DOCKER_TLS_CERTDIR\n        value: /certs\n"), "{out}");
        assert!(
            out.contains("    - name: DOCKER_HOST\n      value: tcp://localhost:2376\n"),
            "{out}"
        );
        assert!(!out.contains("docker.sock"), "{out}");
        assert!(
            out.contains("  volumes:\n  - name: docker-certs\n    emptyDir: {}\n"),
            "{out}"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
        // Rootless: a rootless sidecar that stays privileged, so the pod is partial.
        let run = testkit::check(&[("pod.yaml", src)], Strategy::Rootless);
        let out = &run.files["pod.yaml"];
        assert!(out.contains("  - name: dind\n    image: docker:29-dind-rootless\n    securityContext:\n      # depriv: ignore[privileged-dind] "), "{out}");
        assert!(out.contains("      privileged: true\n    env:\n      - name: DOCKER_TLS_CERTDIR\n        value: /certs\n"), "{out}");
        assert!(out.contains("      value: tcp://localhost:2376\n"), "{out}");
        assert!(
            !out.contains("docker.sock") && !out.contains("sysbox"),
            "{out}"
        );
        assert_eq!(run.statuses(), vec!["partial"]);
        let run = testkit::check(&[("pod.yaml", src)], Strategy::Tls);
        assert!(run.files.get("pod.yaml").is_some_and(|t| t == src));
        assert_eq!(run.statuses(), vec!["manual"]);
    }

    #[test]
    fn host_tools_keep_the_node_socket_and_say_why() {
        let src = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: promtail\nspec:\n  selector:\n    matchLabels: {app: promtail}\n  template:\n    metadata:\n      labels: {app: promtail}\n    spec:\n      containers:\n      - name: promtail\n        image: grafana/promtail:3.0.0\n        volumeMounts:\n        - name: sock\n          mountPath: /var/run/docker.sock\n      volumes:\n      - name: sock\n        hostPath:\n          path: /var/run/docker.sock\n";
        let run = testkit::check(&[("promtail.yaml", src)], Strategy::Sysbox);
        assert_eq!(run.files["promtail.yaml"], src);
        assert_eq!(run.statuses(), vec!["manual"]);
        let titles = run.manual_titles();
        assert!(
            titles
                .iter()
                .any(|t| t.contains("(image `grafana/promtail:3.0.0`) is a log shipper")),
            "{titles:?}"
        );
    }

    #[test]
    fn unconfined_profiles_caps_and_annotations_go_under_sysbox() {
        let src = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/b: unconfined\n    keep: me\nspec:\n  hostNetwork: true\n  containers:\n    - name: b\n      image: moby/buildkit:v0.18.2-rootless\n      securityContext:\n        runAsUser: 1000\n        seccompProfile:\n          type: Unconfined\n        capabilities:\n          add: [NET_ADMIN, SYS_ADMIN]\n";
        let run = testkit::check(&[("pod.yaml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["pod.yaml"],
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  annotations:\n    keep: me\nspec:\n  runtimeClassName: sysbox-runc\n  hostUsers: false\n  containers:\n    - name: b\n      image: moby/buildkit:v0.18.2-rootless\n      securityContext:\n        runAsUser: 1000\n        capabilities:\n          add: [NET_ADMIN]\n"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
    }

    #[test]
    fn plaintext_daemon_args_are_dropped_and_outside_clients_are_a_task() {
        let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dind\nspec:\n  template:\n    spec:\n      containers:\n        - name: dind\n          image: docker:29-dind\n          args: [\"--tls=false\", \"--host=tcp://0.0.0.0:2375\"]\n          securityContext:\n            privileged: true\n";
        let run = testkit::check(&[("d.yaml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["d.yaml"],
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dind\nspec:\n  template:\n    spec:\n      runtimeClassName: sysbox-runc\n      hostUsers: false\n      containers:\n        - name: dind\n          image: docker:29-dind\n"
        );
        assert!(
            run.manual_titles()
                .iter()
                .any(|t| t.contains("clients outside this pod"))
        );
    }

    #[test]
    fn arc_container_mode_is_a_manual_task_with_values() {
        let src = "githubConfigUrl: https://github.com/o\ncontainerMode:\n  type: dind\n";
        let run = testkit::check(&[("values.yaml", src)], Strategy::Sysbox);
        assert!(run.files.get("values.yaml").is_some_and(|t| t == src));
        assert_eq!(run.statuses(), vec!["manual"]);
        assert!(
            run.snippets()
                .iter()
                .any(|s| s.contains("runtimeClassName: sysbox-runc"))
        );
    }

    #[test]
    fn arc_container_mode_becomes_the_pod_spec_on_sysbox() {
        let src = "githubConfigUrl: https://github.com/o\r\n# privileged sidecar\r\ncontainerMode:\r\n  type: dind\r\ntemplate:\r\n  spec:\r\n    containers:\r\n      - name: runner\r\n        image: ghcr.io/actions/actions-runner:latest\r\n";
        let run = testkit::check(&[("values.yaml", src)], Strategy::Sysbox);
        let out = &run.files["values.yaml"];
        assert!(out.starts_with("githubConfigUrl: https://github.com/o\r\ntemplate:\r\n  spec:\r\n    runtimeClassName: sysbox-runc\r\n    hostUsers: false\r\n    containers:\r\n"), "{out}");
        assert!(
            out.contains("    initContainers:\r\n      - name: init-dind-externals\r\n"),
            "{out}"
        );
        assert!(out.contains("        image: docker:29-dind\r\n"), "{out}");
        assert!(
            !out.contains("privileged") && !out.contains("containerMode"),
            "{out}"
        );
        assert!(
            !out.replace("\r\n", "").contains('\n'),
            "mixed line endings: {out}"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
        let run = testkit::check(&[("values.yaml", src)], Strategy::Rootless);
        assert_eq!(run.files["values.yaml"], src);
    }

    #[test]
    fn adversarial_inputs_do_not_panic() {
        for src in [
            "",
            "spec: {containers: [{name: a, securityContext: {privileged: true}}]}\n",
            "kind: Pod\nspec:\n  containers:\n  - name: 'unterminated\n",
            &"a:\n".repeat(2000),
            &format!("{}x: 1\n", "- ".repeat(300)),
        ] {
            for s in [Strategy::Sysbox, Strategy::Tls, Strategy::Rootless] {
                let _ = testkit::migrate(&[("pod.yaml", src)], s);
            }
        }
    }
}
