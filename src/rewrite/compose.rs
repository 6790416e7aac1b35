//! Rewrites for docker-compose files (https://github.com/compose-spec/compose-spec/blob/main/05-services.md; https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; https://hub.docker.com/_/docker; docs/targets/sysbox.md; docs/targets/tls.md). Sysbox: `privileged: true`
//! becomes `runtime: sysbox-runc` on the same line, host namespaces (`network_mode`, `pid`,
//! `userns_mode: host`), SYS_ADMIN/ALL capabilities and unconfined profiles go. Docker daemons
//! get TLS (`DOCKER_TLS_CERTDIR: /certs`, no plaintext `--host`, no published 2375); a CI client
//! that mounted the host's socket is pointed at a TLS daemon service instead (the file's own dind
//! service, or a new `docker` service under sysbox) through a shared `certs-client` volume. The
//! rootless target swaps the daemon image and the TLS target keeps it: both stay privileged.
//! Edits a daemon needs for its clients are computed from the whole file, so two pipelines
//! that touch the same daemon produce the same bytes.

use super::common::{self, Side, yaml_scalar};
use super::yaml_plan::{Hit, YamlPlan, hits_of};
use super::{Outcome, Request};
use crate::ciserver::{self, Role};
use crate::plan::Target;
use crate::rules::{is_plaintext_port, is_socket_path, is_unconfined_opt, volume_source};
use crate::source::docker_cmd::is_daemon_image;
use crate::source::yaml::{NodeId, Yaml};

/// Templates of this surface: (name under `templates/`, source).
pub use crate::templates::builtin::COMPOSE as TEMPLATES;

/// The certificate volume depriv adds.
const CERTS: &str = "certs-client";

/// One service of the file.
#[derive(Clone, Debug)]
struct Svc {
    name: String,
    map: NodeId,
    image: String,
    daemon: bool,
}

/// The file as far as rewriting needs it.
struct Model {
    root: NodeId,
    services: NodeId,
    svcs: Vec<Svc>,
    /// The daemon service this rewrite adds (name, network), once per file whatever the
    /// number of clients that need it.
    added: std::cell::RefCell<Option<(String, Option<String>)>>,
}

fn model(p: &YamlPlan<'_>) -> Option<Model> {
    let root = *p.y().documents().first()?;
    let services = p.value(root, "services")?;
    if !p.is_map(services) {
        return None;
    }
    let svcs = p
        .entries(services)
        .into_iter()
        .filter(|(_, _, v)| p.is_map(*v))
        .map(|(name, _, v)| {
            let map = p.y().resolve(v);
            let image = p.text_of(map, "image").unwrap_or_default();
            let first_cmd = ["entrypoint", "command"]
                .iter()
                .find_map(|k| p.value(map, k))
                .and_then(|v| match p.y().str(v) {
                    Some(s) => s.split_whitespace().next().map(str::to_string),
                    None => p
                        .items(v)
                        .first()
                        .and_then(|i| p.y().str(*i))
                        .map(str::to_string),
                })
                .unwrap_or_default();
            Svc {
                daemon: is_daemon_image(&image) || first_cmd == "dockerd",
                name,
                map,
                image,
            }
        })
        .collect();
    Some(Model {
        root,
        services,
        svcs,
        added: std::cell::RefCell::new(None),
    })
}

/// `(slot, key, value text)` of an environment variable (map: slot is the key node; list: the
/// `K=V` item).
fn env_get(p: &YamlPlan<'_>, svc: NodeId, name: &str) -> Option<(NodeId, Option<NodeId>, String)> {
    let env = p.value(svc, "environment")?;
    if p.is_map(env) {
        let (k, v) = p.entry(env, name)?;
        let r = p.y().resolve(v);
        let s = if p.y().is_null(r) {
            String::new()
        } else {
            p.y().str(r).unwrap_or("").to_string()
        };
        return Some((k, Some(v), s));
    }
    p.items(env).into_iter().find_map(|it| {
        let s = p.y().str(it)?;
        let (k, v) = s.split_once('=').unwrap_or((s, ""));
        (k.trim() == name).then(|| (it, None, v.to_string()))
    })
}

/// Set environment variables on a service (replacing differing values, adding missing ones).
fn env_set(p: &mut YamlPlan<'_>, svc: NodeId, vars: &[(&str, &str)]) {
    let env = p.value(svc, "environment");
    let list = env.is_some_and(|e| !p.is_map(e) && p.y().seq(e).is_some());
    let mut add: Vec<String> = Vec::new();
    for (name, value) in vars {
        match env_get(p, svc, name) {
            Some((_, Some(v), cur)) => {
                if cur != *value {
                    p.set_scalar(v, yaml_scalar(value));
                }
            }
            Some((item, None, cur)) => {
                if cur != *value {
                    p.set_scalar(item, yaml_scalar(&format!("{name}={value}")));
                }
            }
            None if list => add.push(format!("- {}", yaml_scalar(&format!("{name}={value}")))),
            None => add.push(format!("{name}: {}", yaml_scalar(value))),
        }
    }
    if add.is_empty() {
        return;
    }
    match env {
        Some(e) if list => {
            for a in add {
                p.append(e, a);
            }
        }
        Some(e) if p.is_map(e) => p.append(e, add.join("\n")),
        Some(_) => p
            .failed
            .push("`environment` is neither a map nor a list".into()),
        None => {
            let body = p.ed.indent(&add.join("\n"), 2);
            p.append(svc, format!("environment:\n{}", body.trim_end()));
        }
    }
}

/// `(item, source, target)` of a service's volumes (short and long syntax).
fn volumes(p: &YamlPlan<'_>, svc: NodeId) -> Vec<(NodeId, String, String)> {
    let Some(v) = p.value(svc, "volumes") else {
        return Vec::new();
    };
    p.items(v)
        .into_iter()
        .filter_map(|it| {
            let r = p.y().resolve(it);
            if p.is_map(r) {
                Some((
                    it,
                    p.text_of(r, "source").unwrap_or_default(),
                    p.text_of(r, "target").unwrap_or_default(),
                ))
            } else {
                let s = p.y().str(r)?;
                let src = volume_source(s).to_string();
                let rest = s.get(src.len()..).unwrap_or("").trim_start_matches(':');
                let target = rest.split(':').next().unwrap_or("").to_string();
                Some((it, src, target))
            }
        })
        .collect()
}

/// A Docker CLI image (`docker:29-cli`): a client by nature.
fn docker_cli_image(image: &str) -> bool {
    let l = image.to_ascii_lowercase();
    let repo = l.split('@').next().unwrap_or("");
    let (repo, tag) = match repo.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (repo, ""),
    };
    repo.rsplit('/').next() == Some("docker") && tag.contains("cli")
}

/// The Dockerfile a service builds from (`build: ./jenkins`, `build: {context, dockerfile}`,
/// `dockerfile_inline`): its repository path when it is one, and its text when readable.
struct Build {
    /// Root-relative path of the Dockerfile (`None`: inline, remote or outside the repository).
    path: Option<String>,
    /// The build context as written.
    context: String,
    /// The Dockerfile's text.
    text: Option<std::sync::Arc<str>>,
}

impl Build {
    /// The base image of its last stage.
    fn base(&self) -> Option<String> {
        self.text
            .as_deref()
            .and_then(crate::ciserver::dockerfile_base)
    }
}

fn build_of(req: &Request<'_>, p: &YamlPlan<'_>, s: &Svc) -> Option<Build> {
    let b = p.value(s.map, "build")?;
    let r = p.y().resolve(b);
    let (context, dockerfile, inline) = if p.is_map(r) {
        (
            p.text_of(r, "context").unwrap_or_else(|| ".".to_string()),
            p.text_of(r, "dockerfile")
                .unwrap_or_else(|| "Dockerfile".to_string()),
            p.text_of(r, "dockerfile_inline"),
        )
    } else {
        (
            p.y().str(r).unwrap_or(".").to_string(),
            "Dockerfile".to_string(),
            None,
        )
    };
    if let Some(text) = inline {
        return Some(Build {
            path: None,
            context,
            text: Some(text.into()),
        });
    }
    let remote = context.contains("://") || context.starts_with("git@");
    let dir = p.ed.path.rsplit_once('/').map_or("", |(d, _)| d);
    let path = (!remote)
        .then(|| crate::discover::join_path(dir, &context))
        .flatten()
        .and_then(|c| crate::discover::join_path(&c, &dockerfile));
    let text = path.as_deref().and_then(|x| req.files.text(x));
    Some(Build {
        path: path.filter(|_| text.is_some()),
        context,
        text,
    })
}

/// How a service names its image in messages: the image, or what it builds from.
fn describe_image(s: &Svc, build: Option<&Build>) -> String {
    if !s.image.trim().is_empty() {
        return format!("image `{}`", s.image);
    }
    match build {
        Some(Build {
            path: Some(path), ..
        }) => format!("built from `{path}`"),
        Some(b) => format!("build context `{}`", b.context),
        None => "no image".to_string(),
    }
}

fn depends_on(p: &YamlPlan<'_>, svc: NodeId) -> Vec<String> {
    let Some(d) = p.value(svc, "depends_on") else {
        return Vec::new();
    };
    if p.is_map(d) {
        p.entries(d).into_iter().map(|(k, _, _)| k).collect()
    } else {
        p.items(d)
            .into_iter()
            .filter_map(|i| p.y().str(i).map(str::to_string))
            .collect()
    }
}

/// The host part of `tcp://HOST:PORT`.
fn tcp_host(addr: &str) -> Option<&str> {
    let rest = addr.trim().strip_prefix("tcp://")?;
    let hp = rest.split('/').next().unwrap_or("");
    Some(hp.rsplit_once(':').map(|(h, _)| h).unwrap_or(hp))
}

/// Command words that switch TLS off or open plaintext TCP.
fn plaintext_word(w: &str) -> bool {
    let w = w.trim();
    w == "--tls=false"
        || w == "--tls=0"
        || ["--host=", "-H=", "-H"].iter().any(|p| {
            w.strip_prefix(p)
                .is_some_and(crate::rules::is_plaintext_tcp)
        })
}

/// Published 2375 ports of a service.
fn plaintext_ports(p: &YamlPlan<'_>, svc: NodeId) -> Vec<NodeId> {
    let Some(ports) = p.value(svc, "ports") else {
        return Vec::new();
    };
    p.items(ports)
        .into_iter()
        .filter(|it| {
            let r = p.y().resolve(*it);
            if p.is_map(r) {
                p.text_of(r, "published")
                    .is_some_and(|x| x.trim() == "2375")
            } else {
                p.y().str(r).is_some_and(is_plaintext_port)
            }
        })
        .collect()
}

/// TLS on a daemon service: the same edits whichever pipeline asks for them.
fn daemon_tls(p: &mut YamlPlan<'_>, d: &Svc, side: &mut Side) {
    if let Some((slot, value, cur)) = env_get(p, d.map, "DOCKER_TLS_CERTDIR")
        && cur.trim().is_empty()
    {
        match value {
            Some(v) => p.set_scalar(v, "/certs"),
            None => p.set_scalar(slot, "DOCKER_TLS_CERTDIR=/certs"),
        }
    }
    for key in ["command", "entrypoint"] {
        let Some((k, v)) = p.entry(d.map, key) else {
            continue;
        };
        let r = p.y().resolve(v);
        if p.y().seq(r).is_some() {
            for it in p.items(r) {
                if p.y().str(it).is_some_and(plaintext_word) {
                    p.remove(it);
                }
            }
        } else if let Some(s) = p.y().str(r) {
            let words: Vec<&str> = s.split_whitespace().collect();
            if words.iter().any(|w| plaintext_word(w)) {
                let kept: Vec<&str> = words.into_iter().filter(|w| !plaintext_word(w)).collect();
                if kept.is_empty() {
                    p.remove(k);
                } else {
                    p.set_scalar(r, yaml_scalar(&kept.join(" ")));
                }
            }
        }
    }
    let ports = plaintext_ports(p, d.map);
    if !ports.is_empty() {
        for it in ports {
            p.remove(it);
        }
        side.note(format!(
            "service `{}` no longer publishes the plaintext Docker API on 2375; clients on the host need tcp://HOST:2376 with the client certificates (publish 2376 if they must reach it)",
            d.name
        ));
    }
}

/// The named volume of a daemon mounted at `/certs/client` (or `/certs`), if any.
fn certs_volume_of(p: &YamlPlan<'_>, d: &Svc) -> Option<(String, String)> {
    volumes(p, d.map).into_iter().find_map(|(_, src, target)| {
        let t = target.trim_end_matches('/');
        let named = !src.is_empty() && !src.starts_with(['/', '.', '~', '$']);
        (named && (t == "/certs/client" || t == "/certs")).then(|| {
            let client_dir = if t == "/certs" { "/certs/client" } else { t };
            (src, client_dir.to_string())
        })
    })
}

/// The rootless daemon keeps its data in `/home/rootless/.local/share/docker`, not
/// `/var/lib/docker` (docker-library/docker Dockerfile-dind-rootless.template): a storage
/// volume follows it, or the daemon would write into the container's own layer.
fn rootless_storage(p: &mut YamlPlan<'_>, s: &Svc, side: &mut Side) {
    for (it, _, target) in volumes(p, s.map) {
        if target.trim_end_matches('/') != "/var/lib/docker" {
            continue;
        }
        let r = p.y().resolve(it);
        if p.is_map(r) {
            if let Some(t) = p.value(r, "target") {
                p.set_scalar(t, ROOTLESS_DATA);
            }
        } else if let Some(v) = p.y().str(r) {
            let new = v.replacen(":/var/lib/docker", &format!(":{ROOTLESS_DATA}"), 1);
            p.set_scalar(it, yaml_scalar(&new));
        }
        side.note(format!(
            "service `{}`: its Docker storage volume moves from /var/lib/docker to {ROOTLESS_DATA}, where the rootless daemon keeps its data",
            s.name
        ));
    }
}

/// Data directory of the rootless dind image.
const ROOTLESS_DATA: &str = "/home/rootless/.local/share/docker";

/// What the client service `c` needs to reach daemon `d` (existing or new) over TLS.
struct Wiring<'m> {
    daemon: Option<&'m Svc>,
    daemon_name: String,
    certs: String,
    /// The network a new daemon joins (`None`: the project's default network).
    network: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn wire(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    m: &Model,
    c: &Svc,
    w: &Wiring<'_>,
    socket_items: &[NodeId],
    add_depends: bool,
    already: bool,
    side: &mut Side,
) {
    // Daemon side (shared by every pipeline that wires a client to it).
    match w.daemon {
        Some(d) => {
            daemon_tls(p, d, side);
            if certs_volume_of(p, d).is_none() {
                p.append_items(d.map, "volumes", &[format!("- {}:/certs/client", w.certs)]);
            }
        }
        None if already => {}
        None => {
            let frag = common::render(
                req,
                "compose/dind-service.yml",
                &serde_json::json!({
                    "name": w.daemon_name,
                    "sysbox": req.target == Target::Sysbox,
                    "rootless": req.target == Target::Rootless,
                    "certs_volume": w.certs,
                    "network": w.network.clone().unwrap_or_default(),
                }),
                side,
            );
            if !frag.is_empty() {
                p.append(m.services, frag.trim_end().to_string());
            }
        }
    }
    declare_volume(p, m, &w.certs);
    // Client side.
    let host = format!("tcp://{}:2376", w.daemon_name);
    env_set(
        p,
        c.map,
        &[
            ("DOCKER_HOST", host.as_str()),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/certs/client"),
        ],
    );
    let has_certs = volumes(p, c.map)
        .iter()
        .any(|(_, _, t)| t.trim_end_matches('/') == "/certs/client");
    let mut rest = socket_items.iter();
    if !has_certs {
        let item = format!("- {}:/certs/client:ro", w.certs);
        match rest.next() {
            Some(first) => p.replace_item(*first, item),
            None => p.append_items(c.map, "volumes", &[item]),
        }
    }
    for it in rest {
        p.remove(*it);
    }
    if add_depends && !depends_on(p, c.map).contains(&w.daemon_name) {
        match p.value(c.map, "depends_on") {
            Some(d) if p.is_map(d) => p.append(
                d,
                format!("{}:\n  condition: service_started", w.daemon_name),
            ),
            _ => p.append_items(c.map, "depends_on", &[format!("- {}", w.daemon_name)]),
        }
    }
}

/// Declare a named volume at the top level when it is not.
fn declare_volume(p: &mut YamlPlan<'_>, m: &Model, name: &str) {
    declare_top(p, m, "volumes", name);
}

/// Declare `name` under a top-level mapping (`volumes`, `networks`) when it is not.
fn declare_top(p: &mut YamlPlan<'_>, m: &Model, key: &str, name: &str) {
    match p.entry(m.root, key) {
        Some((k, v)) => {
            let r = p.y().resolve(v);
            if p.is_map(r) {
                if p.entry(r, name).is_none() {
                    p.append(r, format!("{name}: {{}}"));
                }
            } else if p.y().is_null(r) {
                p.replace_entry(k, format!("{key}:{}  {name}: {{}}", p.ed.nl()));
            }
        }
        None => p.append(m.root, format!("{key}:\n  {name}: {{}}")),
    }
}

/// Plan the rewrite of service `name` for the request's target.
fn plan_service(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    m: &Model,
    name: &str,
    hits: &[Hit<'_>],
    extra: &mut Vec<crate::edit::Edit>,
    side: &mut Side,
) {
    let t = req.target;
    let Some(s) = m.svcs.iter().find(|s| s.name == name) else {
        for h in hits {
            side.task(
                format!("{}: the service was not found in the file", h.f.rule),
                &common::loc(h.f),
                String::new(),
                "",
            );
        }
        return;
    };
    if matches!(t, Target::Buildkit | Target::Kaniko) {
        if t == Target::Buildkit {
            let snippet = common::render(
                req,
                "compose/buildkitd-service.yml",
                &serde_json::json!({}),
                side,
            );
            side.task(
                "build with a rootless BuildKit service instead of a Docker daemon",
                &hits.first().map(|h| common::loc(h.f)).unwrap_or_default(),
                snippet,
                "yaml",
            );
            side.covered
                .extend(hits.iter().map(|h| h.f.fingerprint.clone()));
        }
        return;
    }
    let rules = |r: &str| hits.iter().any(|h| h.f.rule == r);
    let system = s.daemon
        || rules("privileged-dind")
        || rules("privileged-container")
        || rules("cap-sys-admin")
        || rules("seccomp-unconfined");
    if t == Target::Sysbox && system {
        sysbox_service(req, p, s, side);
        common::sysbox_host_task(req, &format!("Docker host running {}", p.ed.path), side);
    }
    if s.daemon {
        daemon_tls(p, s, side);
        if t == Target::Rootless
            && s.image.contains("dind")
            && !s.image.contains("rootless")
            && let Some(v) = p.value(s.map, "image")
        {
            p.set_scalar(v, yaml_scalar(&common::ver(req, "dind_rootless")));
            rootless_storage(p, s, side);
        }
        // Clients that reach this daemon over plaintext TCP move with it.
        for c in &m.svcs {
            if c.daemon {
                continue;
            }
            if let Some((_, _, addr)) = env_get(p, c.map, "DOCKER_HOST")
                && crate::rules::is_plaintext_tcp(&addr)
                && tcp_host(&addr) == Some(s.name.as_str())
            {
                let certs = certs_volume_of(p, s)
                    .map(|(n, _)| n)
                    .unwrap_or_else(|| CERTS.to_string());
                let w = Wiring {
                    daemon: Some(s),
                    daemon_name: s.name.clone(),
                    certs,
                    network: None,
                };
                wire(req, p, m, c, &w, &[], false, false, side);
            }
        }
    }
    if matches!(t, Target::Rootless | Target::Tls) {
        for h in hits.iter().filter(|h| h.f.rule == "privileged-dind") {
            side.kept.push(h.f.fingerprint.clone());
        }
    }
    if !s.daemon {
        client(req, p, m, s, hits, extra, side);
    }
}

/// Sysbox on one service: runtime instead of privileged, no host namespaces, no SYS_ADMIN, no
/// unconfined profiles.
fn sysbox_service(req: &Request<'_>, p: &mut YamlPlan<'_>, s: &Svc, side: &mut Side) {
    let rt = yaml_scalar(&common::ver(req, "sysbox_runtime"));
    let runtime = p.entry(s.map, "runtime");
    let privileged = p.entry(s.map, "privileged").filter(|(_, v)| p.truthy(*v));
    match (privileged, runtime) {
        (Some((pk, _)), None) => p.replace_entry(pk, format!("runtime: {rt}")),
        (Some((pk, _)), Some(_)) => {
            p.remove(pk);
            p.ensure(s.map, "runtime", &rt, false);
        }
        (None, Some(_)) => p.ensure(s.map, "runtime", &rt, false),
        (None, None) => match p.entry(s.map, "image") {
            Some((ik, iv)) if p.y().node(ik).parent == Some(s.map) => {
                let e =
                    p.ed.insert_after_entry(s.map, ik, iv, &format!("runtime: {rt}"));
                p.raw(e);
            }
            _ => p.append(s.map, format!("runtime: {rt}")),
        },
    }
    for key in ["network_mode", "pid", "userns_mode"] {
        if let Some((k, v)) = p.entry(s.map, key)
            && p.y().str(v).is_some_and(|x| x.trim() == "host")
        {
            p.remove(k);
            side.note(format!(
                "service `{}` loses `{key}: host`: sysbox rejects host namespaces (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md)",
                s.name
            ));
        }
    }
    if let Some(caps) = p.value(s.map, "cap_add") {
        for it in p.items(caps) {
            if p.y().str(it).is_some_and(crate::rules::is_dangerous_cap) {
                p.remove(it);
            }
        }
    }
    if let Some(opts) = p.value(s.map, "security_opt") {
        for it in p.items(opts) {
            if p.y().str(it).is_some_and(is_unconfined_opt) {
                p.remove(it);
            }
        }
    }
    if p.value(s.map, "devices").is_some() {
        side.note(format!(
            "service `{}` passes host devices: inside sysbox they show as nobody:nogroup and mknod is not available (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md)",
            s.name
        ));
    }
}

/// A service that is not a daemon: socket mounts and plaintext `DOCKER_HOST`. A client that
/// mounted the host's socket — a CI server or runner by its image, the base image of the
/// Dockerfile it builds from or its name, a Docker CLI image, or a service already pointed at
/// a daemon — moves to a TLS daemon of its own; infrastructure that must see the host's own
/// containers (reverse proxies, monitors, updaters) stays, as a manual task saying why.
fn client(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    m: &Model,
    s: &Svc,
    hits: &[Hit<'_>],
    extra: &mut Vec<crate::edit::Edit>,
    side: &mut Side,
) {
    let t = req.target;
    let socket_items: Vec<NodeId> = volumes(p, s.map)
        .into_iter()
        .filter(|(_, src, _)| is_socket_path(src))
        .map(|(i, _, _)| i)
        .collect();
    let socket_targets_sock = volumes(p, s.map)
        .iter()
        .any(|(_, src, t)| is_socket_path(src) && t.trim_end_matches('/').ends_with("docker.sock"));
    let docker_host = env_get(p, s.map, "DOCKER_HOST").map(|(_, _, v)| v);
    let deps = depends_on(p, s.map);
    let daemons: Vec<&Svc> = m.svcs.iter().filter(|x| x.daemon).collect();
    let dep_daemon = daemons.iter().find(|d| deps.contains(&d.name)).copied();
    let plaintext_target = docker_host
        .as_deref()
        .filter(|a| crate::rules::is_plaintext_tcp(a))
        .and_then(tcp_host)
        .map(str::to_string);
    let build = build_of(req, p, s);
    let base = build.as_ref().and_then(Build::base);
    let role = ciserver::classify(&s.image, base.as_deref(), &s.name);
    let host_tool = match role {
        Some(Role::HostTool(what)) => Some(what),
        _ => None,
    };
    let is_client = host_tool.is_none()
        && (matches!(role, Some(Role::Ci(_)))
            || docker_cli_image(&s.image)
            || docker_host.is_some()
            || dep_daemon.is_some());
    let at = |rule: &str| {
        hits.iter()
            .filter(|h| h.f.rule == rule)
            .map(|h| common::loc(h.f))
            .collect::<Vec<_>>()
    };
    // Plaintext DOCKER_HOST to a daemon elsewhere.
    if let Some(host) = &plaintext_target
        && !daemons.iter().any(|d| d.name == *host)
    {
        for a in at("plaintext-docker-daemon") {
            side.task(
                format!(
                    "`{host}` is not a service of this file: enable TLS on that daemon (tcp://{host}:2376, client certificates, https://docs.docker.com/engine/security/protect-access/; docs/targets/tls.md) and set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH here"
                ),
                &a,
                String::new(),
                "",
            );
        }
        if socket_items.is_empty() {
            return;
        }
    }
    if socket_items.is_empty() && plaintext_target.is_none() {
        return;
    }
    if !(socket_items.is_empty() || is_client && socket_targets_sock) {
        let what = describe_image(s, build.as_ref());
        for a in at("docker-socket-mount") {
            let title = match host_tool {
                Some(kind) => format!(
                    "service `{}` ({what}) is {kind}: it manages the host's Docker through its socket by design and a dedicated daemon would not have the host's containers; run it on a dedicated host, put a filtering socket proxy in front of it (https://github.com/Tecnativa/docker-socket-proxy), or keep it and suppress the finding with a reason",
                    s.name
                ),
                None if matches!(role, Some(Role::Ci(_))) => format!(
                    "service `{}` ({what}) mounts the host's Docker socket directory or at a path other than /var/run/docker.sock, which depriv does not rewire: point it at a TLS daemon service (DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=/certs/client; https://hub.docker.com/_/docker) and drop the mount",
                    s.name
                ),
                None => format!(
                    "service `{}` ({what}) is not a known CI server or runner: if it manages the host's containers by design, run it on a dedicated host or keep it and suppress the finding with a reason; if its jobs only need a Docker daemon, point it at a TLS daemon service (DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=/certs/client; https://hub.docker.com/_/docker)",
                    s.name
                ),
            };
            side.task(title, &a, String::new(), "");
        }
        return;
    }
    // Pick the daemon: the one DOCKER_HOST names, the one it depends on, the file's only one.
    let existing = plaintext_target
        .as_deref()
        .and_then(|h| daemons.iter().find(|d| d.name == h).copied())
        .or(dep_daemon)
        .or_else(|| {
            if daemons.len() == 1 {
                daemons.first().copied()
            } else {
                None
            }
        });
    let added = m.added.borrow().clone();
    let (daemon, daemon_name) = match existing {
        Some(d) => (Some(d), d.name.clone()),
        None if added.is_some() => (
            None,
            added.as_ref().map(|a| a.0.clone()).unwrap_or_default(),
        ),
        None if matches!(t, Target::Sysbox | Target::Rootless) => {
            let name = ["docker", "dind", "docker-dind"]
                .into_iter()
                .find(|n| !m.svcs.iter().any(|x| x.name == *n))
                .unwrap_or("depriv-dind");
            if t == Target::Sysbox {
                common::sysbox_host_task(req, &format!("Docker host running {}", p.ed.path), side);
            } else {
                // The new rootless daemon still runs privileged: partial, like every rootless dind.
                side.partial = true;
                side.note(format!(
                    "the new `{name}` service runs {} privileged: the daemon itself runs as an unprivileged user, but the container keeps privileged mode (https://hub.docker.com/_/docker, \"Rootless\"); sysbox removes it",
                    common::ver(req, "dind_rootless")
                ));
                if req.pipeline.hosting == crate::model::Hosting::Swarm {
                    side.task(
                        format!(
                            "run the `{name}` daemon service with `docker compose` on one node, outside the Swarm stack: Swarm services cannot run privileged (https://github.com/moby/moby/issues/24862) and the rootless daemon needs it"
                        ),
                        p.ed.path,
                        String::new(),
                        "",
                    );
                }
            }
            (None, name.to_string())
        }
        None => {
            for a in at("docker-socket-mount") {
                side.task(
                    format!(
                        "service `{}` uses the host's Docker socket and the file has no dind service: a new one would run privileged under the {} target; choose sysbox (or rootless), or point DOCKER_HOST at a TLS daemon",
                        s.name,
                        t.as_str()
                    ),
                    &a,
                    String::new(),
                    "",
                );
            }
            return;
        }
    };
    let certs = daemon
        .and_then(|d| certs_volume_of(p, d))
        .map(|(n, _)| n)
        .unwrap_or_else(|| CERTS.to_string());
    // A new daemon joins the client on a network of its own when the client names networks;
    // otherwise both sit on the project's default network.
    let network = match &added {
        Some((_, net)) => {
            join_network(p, s, net.as_deref());
            net.clone()
        }
        None if daemon.is_none() => private_network(p, m, s, &daemon_name, side),
        None => None,
    };
    if daemon.is_none() && added.is_none() {
        *m.added.borrow_mut() = Some((daemon_name.clone(), network.clone()));
    }
    let w = Wiring {
        daemon,
        daemon_name,
        certs,
        network,
    };
    let add_depends = !socket_items.is_empty();
    wire(
        req,
        p,
        m,
        s,
        &w,
        &socket_items,
        add_depends,
        added.is_some(),
        side,
    );
    if !socket_items.is_empty() {
        side.note(format!(
            "service `{}` now talks to the Docker daemon in service `{}` over TLS instead of the host's daemon: images and containers it creates live there",
            s.name, w.daemon_name
        ));
        if let Some(Role::Ci(what)) = role
            && ciserver::runs_steps_in_place(what)
        {
            let binaries: Vec<String> = volumes(p, s.map)
                .into_iter()
                .filter(|(_, src, _)| ciserver::is_docker_binary(src))
                .map(|(_, _, target)| target)
                .filter(|t| t.starts_with('/'))
                .collect();
            let calls = lost_client_calls(req, &binaries);
            if calls.is_empty() {
                side.note(format!(
                    "service `{}`: jobs that call `sudo docker` lose DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, which sudo resets; call `docker` without sudo (the TLS client needs no access to a socket) or keep them with `sudo --preserve-env=DOCKER_HOST,DOCKER_TLS_VERIFY,DOCKER_CERT_PATH` (https://www.sudo.ws/docs/man/sudoers.man/#Command_environment)",
                    s.name
                ));
            } else {
                // The jobs in the repository would still reach for the host's daemon: the
                // service is only partly migrated until they call the client plainly.
                side.partial = true;
                for c in calls {
                    side.task(
                        format!(
                            "job step `{}` on `{}` {}: call `docker` plainly",
                            c.text, s.name, c.why
                        ),
                        &format!("{}:{}", c.path, c.line),
                        c.fixed,
                        "",
                    );
                }
            }
        }
        docker_binary(req, p, s, build.as_ref(), extra, side);
    }
}

/// A Docker call in a job step that would no longer reach the new daemon.
#[derive(Debug, PartialEq, Eq)]
struct LostCall {
    path: String,
    line: usize,
    /// The step's script (trimmed).
    text: String,
    /// The same script calling the client plainly.
    fixed: String,
    why: &'static str,
}

/// Steps (`sh` / `shell` scripts, read by the Groovy and shell parsers) of the repository's
/// Jenkinsfiles and Job DSL scripts that run the Docker client in a way that loses the new
/// daemon: through `sudo` without keeping the environment (sudo resets `DOCKER_HOST` and the TLS
/// variables: https://www.sudo.ws/docs/man/sudoers.man/#Command_environment), or by the path of
/// the host binary that was mounted (`binaries`) and is gone.
fn lost_client_calls(req: &Request<'_>, binaries: &[String]) -> Vec<LostCall> {
    use crate::discover::{Kind, classify};
    let mut out = Vec::new();
    let mut paths = req.files.paths();
    paths.sort();
    for path in paths {
        if !matches!(classify(&path), Some(Kind::Jenkinsfile | Kind::Groovy)) {
            continue;
        }
        let Some(text) = req.files.text(&path) else {
            continue;
        };
        let src = crate::source::SourceFile::new(&path, text.clone());
        for step in crate::source::jenkins_groovy::parse_jenkins(&text).shell_steps {
            let Some((fixed, why, at)) = lost_call(&step.value, binaries) else {
                continue;
            };
            out.push(LostCall {
                path: path.clone(),
                line: src.line_col(step.src_offset(at)).line,
                text: step.value.trim().to_string(),
                fixed: fixed.trim().to_string(),
                why,
            });
        }
    }
    out.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    out.dedup();
    out
}

/// `script` with its lost Docker calls made plain, why they were lost, and where the first one
/// starts (an offset into `script`).
fn lost_call(script: &str, binaries: &[String]) -> Option<(String, &'static str, usize)> {
    const SUDO: &str =
        "runs under sudo, which resets DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH";
    const BINARY: &str = "calls the host's `docker` binary, which is no longer mounted";
    let mut cuts: Vec<(std::ops::Range<usize>, &'static str)> = Vec::new();
    for cmd in crate::source::shell::commands(script) {
        let Some(first) = cmd.words.first() else {
            continue;
        };
        let prog = first.text.as_str();
        let client = prog == "docker" || (prog.starts_with('/') && prog.ends_with("/docker"));
        if !client {
            continue;
        }
        // What the lexer stripped before the program: `sudo [options]`, `env`, assignments.
        let wrapper = script.get(cmd.span.start..first.span.start).unwrap_or("");
        let words: Vec<&str> = wrapper.split_whitespace().collect();
        let sudo = words.contains(&"sudo");
        let keeps_env = words.iter().any(|w| {
            w.starts_with("--preserve-env")
                || (w.starts_with('-') && !w.starts_with("--") && w.contains('E'))
        });
        let why = if sudo && !keeps_env {
            SUDO
        } else if binaries.iter().any(|b| b == prog) {
            BINARY
        } else {
            continue;
        };
        let start = if why == SUDO {
            cmd.span.start
        } else {
            first.span.start
        };
        cuts.push((start..first.span.end, why));
    }
    let at = cuts.first()?.0.start;
    let why = cuts
        .iter()
        .find(|(_, w)| *w == SUDO)
        .map_or(BINARY, |(_, w)| *w);
    let mut fixed = script.to_string();
    for (r, _) in cuts.iter().rev() {
        fixed.replace_range(r.clone(), "docker");
    }
    Some((fixed, why, at))
}

/// The host's `docker` binary mounted into a client goes; the image gets its own client: a
/// line added to the Dockerfile the service builds from, or a manual task with that line.
fn docker_binary(
    req: &Request<'_>,
    p: &mut YamlPlan<'_>,
    s: &Svc,
    build: Option<&Build>,
    extra: &mut Vec<crate::edit::Edit>,
    side: &mut Side,
) {
    let bins: Vec<(NodeId, String)> = volumes(p, s.map)
        .into_iter()
        .filter(|(_, src, _)| ciserver::is_docker_binary(src))
        .map(|(i, src, _)| (i, src))
        .collect();
    let Some((_, src)) = bins.first().cloned() else {
        return;
    };
    for (it, _) in &bins {
        p.remove(*it);
    }
    let line = ciserver::cli_copy_line(&common::ver(req, "docker_cli"));
    let why = format!(
        "service `{}` no longer mounts the host's `docker` binary (`{src}`): a host binary need not match the image's libraries or exist on a host that runs only the daemon; the static client of the official image lives at /usr/local/bin/docker (https://github.com/docker-library/docker)",
        s.name
    );
    match build {
        Some(Build {
            path: Some(path),
            text: Some(text),
            ..
        }) => {
            if ciserver::installs_docker_cli(text) {
                side.note(format!("{why}; `{path}` already installs a Docker client"));
                return;
            }
            match after_last_from(text) {
                Some(at) => {
                    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
                    let lead = if at == text.len() && !text.ends_with('\n') {
                        nl
                    } else {
                        ""
                    };
                    extra.push(crate::edit::Edit {
                        path: path.clone(),
                        start: at,
                        end: at,
                        text: format!("{lead}{line}{nl}"),
                    });
                    side.note(format!("{why}; `{path}` now copies it into the image"));
                }
                None => side.task(
                    format!("{why}: add this line after the last `FROM` of `{path}`"),
                    path,
                    line,
                    "dockerfile",
                ),
            }
        }
        Some(b) => side.task(
            format!(
                "{why}: add this line after the last `FROM` of the Dockerfile of build context `{}`",
                b.context
            ),
            &format!("{}: service `{}`", p.ed.path, s.name),
            line,
            "dockerfile",
        ),
        None => side.task(
            format!(
                "{why}: build an image FROM `{}` with this line and use it for the service",
                s.image
            ),
            &format!("{}: service `{}`", p.ed.path, s.name),
            format!("FROM {}\n{line}", s.image),
            "dockerfile",
        ),
    }
}

/// The byte offset just after the line of a Dockerfile's last `FROM` instruction (with its
/// continuation lines).
fn after_last_from(text: &str) -> Option<usize> {
    let mut at = None;
    let mut offset = 0;
    let mut in_from = false;
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        let body = line.trim_end();
        let first = body.split_whitespace().next().unwrap_or("");
        if in_from || first.eq_ignore_ascii_case("FROM") {
            at = Some(end);
            in_from = body.ends_with('\\');
        }
        offset = end;
    }
    at
}

/// Put a further client of the added daemon on the daemon's network: `net`, or the
/// project's default network when `None` (a service that names networks leaves the default
/// one unless it lists `default`).
fn join_network(p: &mut YamlPlan<'_>, c: &Svc, net: Option<&str>) {
    let name = net.unwrap_or("default");
    match p.value(c.map, "networks") {
        Some(nets) => {
            let r = p.y().resolve(nets);
            if p.is_map(r) {
                if p.entry(r, name).is_none() {
                    p.append(r, format!("{name}: {{}}"));
                }
            } else if p.y().seq(r).is_some() {
                let has = p
                    .items(r)
                    .into_iter()
                    .any(|i| p.y().str(i).is_some_and(|x| x == name));
                if !has {
                    p.append(r, format!("- {name}"));
                }
            }
        }
        None if net.is_some() => {
            p.append_items(
                c.map,
                "networks",
                &["- default".to_string(), format!("- {name}")],
            );
        }
        None => {}
    }
}

/// The network a new daemon and its client share, when the client already names networks
/// (a new one, declared at the top level, joined by the client); `None` when the client sits
/// on the project's default network, which only this project's services join.
fn private_network(
    p: &mut YamlPlan<'_>,
    m: &Model,
    c: &Svc,
    daemon: &str,
    side: &mut Side,
) -> Option<String> {
    let Some(nets) = p.value(c.map, "networks") else {
        side.note(format!(
            "service `{c}` reaches the new `{daemon}` service on the project's default network, which only this compose project's services join (https://docs.docker.com/compose/how-tos/networking/); the daemon publishes no port",
            c = c.name
        ));
        return None;
    };
    let declared: Vec<String> = p
        .value(m.root, "networks")
        .map(|n| p.entries(n).into_iter().map(|(k, _, _)| k).collect())
        .unwrap_or_default();
    let name = ["docker-tls", "depriv-docker-tls"]
        .into_iter()
        .find(|n| !declared.iter().any(|d| d == n))
        .unwrap_or("depriv-docker-tls")
        .to_string();
    let r = p.y().resolve(nets);
    if p.is_map(r) {
        p.append(r, format!("{name}: {{}}"));
    } else if p.y().seq(r).is_some() {
        p.append(r, format!("- {name}"));
    } else {
        p.failed.push(format!(
            "`networks` of service `{}` is neither a map nor a list",
            c.name
        ));
        return None;
    }
    declare_top(p, m, "networks", &name);
    side.note(format!(
        "service `{}` and the new `{daemon}` service share the network `{name}`, which only they join; the daemon publishes no port",
        c.name
    ));
    Some(name)
}

/// Rewrite one compose pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    rewrite_services(req, &[req.pipeline.name.as_str()])
}

/// Rewrite several services of the same files for one target in one plan per file, so what
/// they share (a new daemon service, the certificates volume) is added once.
pub fn rewrite_services(req: &Request<'_>, names: &[&str]) -> Outcome {
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
        let mut p = YamlPlan::new(&path, &text, &y);
        let Some(m) = model(&p) else {
            side.task(
                "no `services` mapping in the file",
                &path,
                String::new(),
                "",
            );
            continue;
        };
        let hits = hits_of(&findings);
        let mut extra = Vec::new();
        for name in names {
            let mine: Vec<Hit<'_>> = hits
                .iter()
                .filter(|h| {
                    names.len() == 1
                        || h.f.pipeline.as_deref() == Some(*name)
                        || h.f.affected.iter().any(|(_, n)| n == name)
                })
                .cloned()
                .collect();
            plan_service(req, &mut p, &m, name, &mine, &mut extra, &mut side);
        }
        let planned = p.finish_or_report("this file", &path, &mut side);
        if !planned.is_empty() {
            // Dockerfile lines go with the compose edits they complete, never alone.
            edits.extend(extra);
        }
        edits.extend(planned);
    }
    common::finish(req, edits, side)
}

#[cfg(test)]
mod tests {
    use super::lost_call;
    use crate::migrate::Strategy;
    use crate::rewrite::common::testkit;

    const DEMO: &str = "# stack\nservices:\n  jenkins:\n    image: jenkins/jenkins:lts-jdk21\n    volumes:\n      - jenkins_home:/var/jenkins_home\n      - /var/run/docker.sock:/var/run/docker.sock\n    environment:\n      JAVA_OPTS: -Dx=1\n    depends_on:\n      - dind\n\n  dind:\n    image: docker:29-dind\n    privileged: true\n    environment:\n      DOCKER_TLS_CERTDIR: \"\"\n    ports:\n      - \"2375:2375\"\n\nvolumes:\n  jenkins_home:\n";

    #[test]
    fn docker_calls_that_would_miss_the_new_daemon() {
        const SUDO: &str =
            "runs under sudo, which resets DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH";
        let bins = vec!["/usr/bin/docker".to_string()];
        let call = |l: &str| lost_call(l, &bins);
        assert_eq!(
            call("cd app && sudo /usr/bin/docker build -t app ."),
            Some(("cd app && docker build -t app .".to_string(), SUDO, 10))
        );
        assert_eq!(
            call("sudo -n docker ps").map(|c| c.0),
            Some("docker ps".into())
        );
        assert_eq!(
            call("sudo -u jenkins docker ps").map(|c| c.0),
            Some("docker ps".into())
        );
        assert_eq!(
            call("/usr/bin/docker images").map(|c| c.1),
            Some("calls the host's `docker` binary, which is no longer mounted")
        );
        // Both in one script, one inside `$(…)`.
        assert_eq!(
            call("sudo /usr/bin/docker stop $(sudo /usr/bin/docker ps -q)").map(|c| c.0),
            Some("docker stop $(docker ps -q)".into())
        );
        // A kept environment, another program, or a word that only contains the name.
        assert_eq!(call("sudo -E docker ps"), None);
        assert_eq!(call("sudo --preserve-env=DOCKER_HOST docker ps"), None);
        assert_eq!(call("sudo apt-get install -y docker-ce-cli"), None);
        assert_eq!(call("echo sudo docker ps"), None);
        assert_eq!(call("docker build ."), None);
    }

    #[test]
    fn a_jenkins_server_whose_jobs_call_sudo_docker_is_partial_with_each_line() {
        let compose = "services:\n  jenkins:\n    build: ./jenkins\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n      - /usr/bin/docker:/usr/bin/docker\n";
        let dockerfile = "FROM jenkins/jenkins:lts\n";
        let seed = "job('image') {\n  steps {\n    // sudo docker in a comment is not a step\n    shell('sudo /usr/bin/docker build -t app .')\n    shell('/usr/bin/docker push app')\n  }\n}\n";
        let run = testkit::check(
            &[
                ("docker-compose.yml", compose),
                ("jenkins/Dockerfile", dockerfile),
                ("jobs/seed.groovy", seed),
            ],
            Strategy::Sysbox,
        );
        let jenkins = run
            .preview
            .results
            .iter()
            .find(|r| r.pipeline == "jenkins")
            .expect("jenkins");
        assert_eq!(jenkins.status.as_str(), "partial");
        let tasks: Vec<(&str, &str)> = jenkins
            .manual
            .iter()
            .filter(|t| t.title.starts_with("job step"))
            .map(|t| (t.location.as_str(), t.snippet.as_str()))
            .collect();
        assert_eq!(
            tasks,
            vec![
                ("jobs/seed.groovy:4", "docker build -t app ."),
                ("jobs/seed.groovy:5", "docker push app"),
            ]
        );
        // Without such steps it is migrated, with the note on sudo.
        let run = testkit::check(
            &[
                ("docker-compose.yml", compose),
                ("jenkins/Dockerfile", dockerfile),
            ],
            Strategy::Sysbox,
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
        assert!(run.notes().iter().any(|n| n.contains("`sudo docker`")));
    }

    const DEMO_SYSBOX: &str = "# stack\nservices:\n  jenkins:\n    image: jenkins/jenkins:lts-jdk21\n    volumes:\n      - jenkins_home:/var/jenkins_home\n      - certs-client:/certs/client:ro\n    environment:\n      JAVA_OPTS: -Dx=1\n      DOCKER_HOST: tcp://dind:2376\n      DOCKER_TLS_VERIFY: \"1\"\n      DOCKER_CERT_PATH: /certs/client\n    depends_on:\n      - dind\n\n  dind:\n    image: docker:29-dind\n    runtime: sysbox-runc\n    environment:\n      DOCKER_TLS_CERTDIR: /certs\n    volumes:\n      - certs-client:/certs/client\n\nvolumes:\n  jenkins_home:\n  certs-client: {}\n";

    #[test]
    fn sysbox_tool_stack_points_the_client_at_a_tls_dind() {
        let run = testkit::check(&[("docker-compose.yml", DEMO)], Strategy::Sysbox);
        assert_eq!(run.files["docker-compose.yml"], DEMO_SYSBOX);
        assert_eq!(run.statuses(), vec!["migrated", "migrated"]);
        let crlf = DEMO.replace('\n', "\r\n");
        let run = testkit::check(&[("docker-compose.yml", &crlf)], Strategy::Sysbox);
        assert_eq!(
            run.files["docker-compose.yml"],
            DEMO_SYSBOX.replace('\n', "\r\n")
        );
    }

    #[test]
    fn tls_and_rootless_keep_the_daemon_privileged() {
        let run = testkit::check(&[("docker-compose.yml", DEMO)], Strategy::Tls);
        let out = &run.files["docker-compose.yml"];
        assert!(out.contains("    privileged: true\n"), "{out}");
        assert!(out.contains("DOCKER_TLS_CERTDIR: /certs"));
        assert!(!out.contains("2375"));
        assert!(!out.contains("docker.sock"));
        let mut st = run.statuses();
        st.sort();
        assert_eq!(st, vec!["migrated", "partial"]);
        let run = testkit::check(&[("docker-compose.yml", DEMO)], Strategy::Rootless);
        assert!(run.files["docker-compose.yml"].contains("image: docker:29-dind-rootless\n"));
    }

    #[test]
    fn rootless_storage_moves_to_the_rootless_data_dir() {
        let src = "services:\n  docker:\n    image: docker:29-dind\n    privileged: true\n    environment:\n      DOCKER_TLS_CERTDIR: /certs\n    volumes:\n      - docker-data:/var/lib/docker\n      - certs:/certs/client\nvolumes:\n  docker-data: {}\n  certs: {}\n";
        let run = testkit::check(&[("docker-compose.yml", src)], Strategy::Rootless);
        let out = &run.files["docker-compose.yml"];
        assert!(out.contains("image: docker:29-dind-rootless\n"), "{out}");
        assert!(
            out.contains("      - docker-data:/home/rootless/.local/share/docker\n"),
            "{out}"
        );
        assert!(!out.contains("/var/lib/docker"));
    }

    #[test]
    fn socket_client_without_daemon_gets_a_new_sysbox_service() {
        let src = "services:\r\n  ci:\r\n    image: docker:29-cli\r\n    volumes:\r\n      - /var/run/docker.sock:/var/run/docker.sock\r\n";
        let run = testkit::check(&[("docker-compose.yml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["docker-compose.yml"],
            "services:\r\n  ci:\r\n    image: docker:29-cli\r\n    volumes:\r\n      - certs-client:/certs/client:ro\r\n    environment:\r\n      DOCKER_HOST: tcp://docker:2376\r\n      DOCKER_TLS_VERIFY: \"1\"\r\n      DOCKER_CERT_PATH: /certs/client\r\n    depends_on:\r\n      - docker\r\n  docker:\r\n    image: docker:29-dind\r\n    runtime: sysbox-runc\r\n    environment:\r\n      DOCKER_TLS_CERTDIR: /certs\r\n    volumes:\r\n      - certs-client:/certs/client\r\nvolumes:\r\n  certs-client: {}\r\n"
        );
        let run = testkit::check(&[("docker-compose.yml", src)], Strategy::Tls);
        assert_eq!(run.files["docker-compose.yml"], src);
        assert_eq!(run.statuses(), vec!["manual"]);
    }

    #[test]
    fn host_tools_with_the_socket_are_manual() {
        let src = "services:\n  traefik:\n    image: traefik:v3.2\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n";
        let run = testkit::check(&[("compose.yml", src)], Strategy::Sysbox);
        assert_eq!(run.files["compose.yml"], src);
        assert_eq!(run.statuses(), vec!["manual"]);
        assert!(run.manual_titles().iter().any(|t| t.contains("by design")));
    }

    #[test]
    fn sysbox_drops_caps_profiles_and_host_namespaces() {
        let src = "x-p: &p\n  privileged: yes\nservices:\n  vpn:\n    image: z:1\n    network_mode: host\n    cap_add: [NET_ADMIN, SYS_ADMIN]\n    security_opt:\n      - apparmor=unconfined\n      - no-new-privileges:true\n  kind:\n    <<: *p\n    image: kindest/node:v1.32.0\n";
        let run = testkit::check(&[("compose.yml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["compose.yml"],
            "x-p: &p\n  runtime: sysbox-runc\nservices:\n  vpn:\n    image: z:1\n    runtime: sysbox-runc\n    cap_add: [NET_ADMIN]\n    security_opt:\n      - no-new-privileges:true\n  kind:\n    <<: *p\n    image: kindest/node:v1.32.0\n"
        );
    }

    #[test]
    fn plaintext_daemon_flags_and_ports_go() {
        let src = "services:\n  dind:\n    image: docker:29-dind\n    privileged: true\n    command: [\"--host=tcp://0.0.0.0:2375\", \"--tls=false\"]\n    ports:\n      - target: 2375\n        published: 2375\n  jenkins:\n    image: jenkins/jenkins:lts\n    environment:\n      - DOCKER_HOST=tcp://dind:2375\n";
        let run = testkit::check(&[("compose.yml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["compose.yml"],
            "services:\n  dind:\n    image: docker:29-dind\n    runtime: sysbox-runc\n    volumes:\n      - certs-client:/certs/client\n  jenkins:\n    image: jenkins/jenkins:lts\n    environment:\n      - DOCKER_HOST=tcp://dind:2376\n      - DOCKER_TLS_VERIFY=1\n      - DOCKER_CERT_PATH=/certs/client\n    volumes:\n      - certs-client:/certs/client:ro\nvolumes:\n  certs-client: {}\n"
        );
    }

    const TOOL_STACK: &str = "services:\n  jenkins:\n    build: ./jenkins\n    ports:\n      - \"8080:8080\"\n    volumes:\n      - jenkins_home:/var/jenkins_home\n      - /var/run/docker.sock:/var/run/docker.sock\n      - /usr/bin/docker:/usr/bin/docker\n  traefik:\n    image: traefik:v3.2\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\nvolumes:\n  jenkins_home: {}\n";
    const JENKINS_DOCKERFILE: &str =
        "ARG TAG=lts-jdk21\nFROM jenkins/jenkins:${TAG}\nUSER root\nRUN apt-get update\n";

    #[test]
    fn a_ci_server_built_from_a_dockerfile_gets_its_own_sysbox_daemon() {
        let run = testkit::check(
            &[
                ("docker-compose.yml", TOOL_STACK),
                ("jenkins/Dockerfile", JENKINS_DOCKERFILE),
            ],
            Strategy::Sysbox,
        );
        assert_eq!(
            run.files["docker-compose.yml"],
            "services:\n  jenkins:\n    build: ./jenkins\n    ports:\n      - \"8080:8080\"\n    volumes:\n      - jenkins_home:/var/jenkins_home\n      - certs-client:/certs/client:ro\n    environment:\n      DOCKER_HOST: tcp://docker:2376\n      DOCKER_TLS_VERIFY: \"1\"\n      DOCKER_CERT_PATH: /certs/client\n    depends_on:\n      - docker\n  traefik:\n    image: traefik:v3.2\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n  docker:\n    image: docker:29-dind\n    runtime: sysbox-runc\n    environment:\n      DOCKER_TLS_CERTDIR: /certs\n    volumes:\n      - certs-client:/certs/client\nvolumes:\n  jenkins_home: {}\n  certs-client: {}\n"
        );
        assert_eq!(
            run.files["jenkins/Dockerfile"],
            "ARG TAG=lts-jdk21\nFROM jenkins/jenkins:${TAG}\nCOPY --from=docker:29-cli /usr/local/bin/docker /usr/local/bin/docker\nUSER root\nRUN apt-get update\n"
        );
        // Each service its own status and tasks: traefik is not "migrated together".
        let by: Vec<(&str, &str)> = run
            .preview
            .results
            .iter()
            .map(|r| (r.pipeline.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(by, vec![("jenkins", "migrated"), ("traefik", "manual")]);
        let traefik = &run.preview.results[1];
        assert_eq!(traefik.addressed, 0);
        assert!(
            traefik.notes.iter().all(|n| !n.contains("share")),
            "{:?}",
            traefik.notes
        );
        assert_eq!(traefik.manual.len(), 1, "{:?}", traefik.manual);
        assert!(
            traefik.manual[0]
                .title
                .contains("image `traefik:v3.2`) is a reverse proxy")
        );
        let jenkins = &run.preview.results[0];
        assert!(jenkins.manual.iter().all(|t| !t.title.contains("traefik")));
        assert!(
            jenkins
                .manual
                .iter()
                .any(|t| t.title.contains("install sysbox"))
        );
    }

    #[test]
    fn a_ci_server_named_only_by_its_service_name_and_networks() {
        // A runner by name, building from a Dockerfile named in a build mapping, on networks.
        let src = "services:\n  runner:\n    build:\n      context: .\n      dockerfile: ci/runner.Dockerfile\n    networks: [ci]\n    volumes:\n      - type: bind\n        source: /var/run/docker.sock\n        target: /var/run/docker.sock\n      - $(which docker):/usr/local/bin/docker\nnetworks:\n  ci: {}\n";
        let run = testkit::check(
            &[
                ("compose.yml", src),
                (
                    "ci/runner.Dockerfile",
                    "FROM debian:12\nCOPY --from=docker:27-cli /usr/local/bin/docker /usr/local/bin/docker\n",
                ),
            ],
            Strategy::Sysbox,
        );
        assert_eq!(
            run.files["compose.yml"],
            "services:\n  runner:\n    build:\n      context: .\n      dockerfile: ci/runner.Dockerfile\n    networks: [ci, docker-tls]\n    volumes:\n      - certs-client:/certs/client:ro\n    environment:\n      DOCKER_HOST: tcp://docker:2376\n      DOCKER_TLS_VERIFY: \"1\"\n      DOCKER_CERT_PATH: /certs/client\n    depends_on:\n      - docker\n  docker:\n    image: docker:29-dind\n    runtime: sysbox-runc\n    environment:\n      DOCKER_TLS_CERTDIR: /certs\n    volumes:\n      - certs-client:/certs/client\n    networks:\n      - docker-tls\nnetworks:\n  ci: {}\n  docker-tls: {}\nvolumes:\n  certs-client: {}\n"
        );
        // The Dockerfile already installs a client: untouched.
        assert!(!run.files["ci/runner.Dockerfile"].contains("29-cli"));
        assert_eq!(run.statuses(), vec!["migrated"]);
    }

    #[test]
    fn rootless_adds_a_rootless_daemon_and_an_image_needs_a_client() {
        let src = "services:\n  gitlab-runner:\n    image: gitlab/gitlab-runner:v17.5.0\n    volumes:\n      - ./config:/etc/gitlab-runner\n      - /var/run/docker.sock:/var/run/docker.sock\n      - /usr/bin/docker:/usr/bin/docker:ro\n";
        let run = testkit::check(&[("docker-compose.yml", src)], Strategy::Rootless);
        let out = &run.files["docker-compose.yml"];
        assert!(out.contains("  docker:\n    image: docker:29-dind-rootless\n    # depriv: ignore[privileged-dind] "), "{out}");
        assert!(
            out.contains(
                "    privileged: true\n    environment:\n      DOCKER_TLS_CERTDIR: /certs\n"
            ),
            "{out}"
        );
        assert!(
            !out.contains("docker.sock") && !out.contains("/usr/bin/docker"),
            "{out}"
        );
        assert!(
            out.contains("      DOCKER_HOST: tcp://docker:2376\n"),
            "{out}"
        );
        let snippets = run.snippets();
        assert!(
            snippets.contains(&"FROM gitlab/gitlab-runner:v17.5.0\nCOPY --from=docker:29-cli /usr/local/bin/docker /usr/local/bin/docker".to_string()),
            "{snippets:?}"
        );
        assert!(
            run.notes()
                .iter()
                .any(|n| n.contains("docker:29-dind-rootless privileged"))
        );
        // The new daemon keeps privileged mode: partial, never migrated.
        assert_eq!(run.statuses(), vec!["partial"]);
        // TLS keeps the file as it is: a new daemon would be privileged and plain.
        let run = testkit::check(&[("docker-compose.yml", src)], Strategy::Tls);
        assert_eq!(run.files["docker-compose.yml"], src);
    }

    #[test]
    fn only_services_sharing_an_anchor_share_a_definition() {
        let src = "x-priv: &priv\n  privileged: true\nservices:\n  a:\n    <<: *priv\n    image: kindest/node:v1.32.0\n  b:\n    <<: *priv\n    image: kindest/node:v1.32.0\n  proxy:\n    image: traefik:v3.2\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n";
        let run = testkit::check(&[("compose.yml", src)], Strategy::Sysbox);
        let by: Vec<(&str, &str)> = run
            .preview
            .results
            .iter()
            .map(|r| (r.pipeline.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            by,
            vec![("a", "migrated"), ("b", "migrated"), ("proxy", "manual")]
        );
        let notes = |n: &str| {
            run.preview
                .results
                .iter()
                .find(|r| r.pipeline == n)
                .map(|r| r.notes.join("\n"))
                .unwrap_or_default()
        };
        assert!(notes("b").contains("migrated together with `a` (they share a definition)"));
        assert!(notes("a").contains("edits a construct shared with b"));
        assert!(!notes("proxy").contains("share"), "{}", notes("proxy"));
        assert!(!notes("a").contains("proxy"), "{}", notes("a"));
    }

    #[test]
    fn a_swarm_stack_gets_a_rootless_daemon_and_a_task_to_run_it_outside_swarm() {
        let src = "services:\n  jenkins:\n    image: jenkins/jenkins:lts\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n    deploy:\n      placement:\n        constraints: [node.role == manager]\n";
        let run = testkit::check(&[("stack.yml", src)], Strategy::Auto);
        let out = &run.files["stack.yml"];
        assert!(
            out.contains("    image: docker:29-dind-rootless\n"),
            "{out}"
        );
        assert!(!out.contains("sysbox"), "{out}");
        assert_eq!(run.statuses(), vec!["partial"]);
        assert!(
            run.manual_titles()
                .iter()
                .any(|t| t.contains("Swarm services cannot run privileged")),
            "{:?}",
            run.manual_titles()
        );
    }

    #[test]
    fn the_client_line_goes_after_the_last_from() {
        let t = "FROM a AS x\nRUN x\nFROM b \\\n  AS c\nUSER y\n";
        assert_eq!(super::after_last_from(t), t.find("USER"));
        assert_eq!(super::after_last_from("FROM a"), Some(6));
        assert_eq!(super::after_last_from("from a\r\nUSER b\r\n"), Some(8));
        assert_eq!(super::after_last_from("RUN x\n"), None);
        // CRLF and a last line without a line break, through the whole engine.
        let compose = "services:\r\n  jenkins:\r\n    build: .\r\n    volumes:\r\n      - /var/run/docker.sock:/var/run/docker.sock\r\n      - /usr/local/bin/docker:/usr/local/bin/docker\r\n";
        let run = testkit::check(
            &[
                ("compose.yaml", compose),
                ("Dockerfile", "FROM jenkins/jenkins:lts"),
            ],
            Strategy::Sysbox,
        );
        assert_eq!(
            run.files["Dockerfile"],
            "FROM jenkins/jenkins:lts\nCOPY --from=docker:29-cli /usr/local/bin/docker /usr/local/bin/docker\n"
        );
        assert!(!run.files["compose.yaml"].contains("/usr/local/bin/docker"));
        assert_eq!(run.statuses(), vec!["migrated"]);
    }

    #[test]
    fn adversarial_inputs_do_not_panic() {
        for src in [
            "",
            "services: 3\n",
            "services:\n  a: {image: 'docker:dind', privileged: true, volumes: [/var/run/docker.sock:/x]}\n",
            "services:\n  a:\n    image: \"unterminated\n",
            &format!(
                "services:\n  a:\n    image: docker:dind\n    privileged: true\n    command: [{}]\n",
                "\"--tls=false\", ".repeat(500)
            ),
        ] {
            for s in [Strategy::Sysbox, Strategy::Tls, Strategy::Rootless] {
                let _ = testkit::migrate(&[("docker-compose.yml", src)], s);
            }
        }
    }
}
