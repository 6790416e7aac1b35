//! Rewrites for Docker `daemon.json` (recipes §7.1–§7.3, §3.3): plaintext `tcp://` hosts move
//! to 2376 with `tls`/`tlsverify` and certificate paths, the sysbox target registers the
//! `sysbox-runc` runtime; every edit is a byte range of the original JSON, so formatting and
//! the other keys stay. This module also owns the helpers the infrastructure rewriters share
//! (compose, Kubernetes, runner config.toml, Jenkins): versions, host snippets (sysbox install,
//! TLS certificates), target pitfalls and the bookkeeping of addressed findings.

use serde::Serialize;

use super::{ManualTask, Outcome, Request};
use crate::edit::Edit;
use crate::finding::Finding;
use crate::plan::Target;
use crate::source::json::{self, Object, Value};

/// Templates of this surface: (name under `templates/`, source).
pub static TEMPLATES: &[(&str, &str)] = &[
    (
        "daemon/sysbox-install.sh",
        include_str!("../../templates/daemon/sysbox-install.sh"),
    ),
    (
        "daemon/tls-certs.sh",
        include_str!("../../templates/daemon/tls-certs.sh"),
    ),
];

/// The Sysbox CE release the host snippets name (recipes §1).
pub(crate) const SYSBOX_VERSION: &str = "0.7.0";

/// Server certificate paths written into daemon.json (Docker's protect-access layout).
const TLS_PATHS: [(&str, &str); 3] = [
    ("tlscacert", "/etc/docker/ca.pem"),
    ("tlscert", "/etc/docker/server-cert.pem"),
    ("tlskey", "/etc/docker/server-key.pem"),
];

/// A pinned version from `templates/versions.toml`, with the built-in value as fallback.
pub(crate) fn ver(req: &Request<'_>, key: &str) -> String {
    let fallback = match key {
        "dind" => "docker:29-dind",
        "dind_rootless" => "docker:29-dind-rootless",
        "docker_cli" => "docker:29-cli",
        "buildkit" => "moby/buildkit:v0.32.2-rootless",
        "kaniko" => "ghcr.io/osscontainertools/kaniko:v1.28.3-debug",
        "sysbox_runtime" => "sysbox-runc",
        _ => "",
    };
    req.templates
        .versions()
        .0
        .get(key)
        .cloned()
        .unwrap_or_else(|| fallback.to_string())
}

/// What a rewriter learnt besides its edits.
#[derive(Debug, Default)]
pub(crate) struct Side {
    /// Manual tasks.
    pub manual: Vec<ManualTask>,
    /// Notes.
    pub notes: Vec<String>,
    /// Fingerprints addressed without an edit over their span (suppressions, keys that switch
    /// the finding off elsewhere).
    pub claimed: Vec<String>,
    /// Fingerprints left on purpose (the target keeps them): reported as notes, not tasks.
    pub kept: Vec<String>,
    /// Fingerprints a manual task already covers (no task of their own).
    pub covered: Vec<String>,
}

impl Side {
    /// Add a manual task once.
    pub fn task(&mut self, title: impl Into<String>, location: &str, snippet: String, lang: &str) {
        let t = ManualTask {
            title: title.into(),
            location: location.to_string(),
            snippet,
            lang: lang.to_string(),
        };
        if !self
            .manual
            .iter()
            .any(|m| m.title == t.title && m.location == t.location)
        {
            self.manual.push(t);
        }
    }
    /// Add a note once.
    pub fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }
}

/// `path:line` of a finding.
pub(crate) fn loc(f: &Finding) -> String {
    format!("{}:{}", f.path, f.line)
}

/// Render a template; a failure becomes a note and an empty snippet.
pub(crate) fn render<S: Serialize>(
    req: &Request<'_>,
    name: &str,
    ctx: &S,
    side: &mut Side,
) -> String {
    match req.templates.render(name, ctx) {
        Ok(s) => s,
        Err(e) => {
            side.note(format!("template error: {e}"));
            String::new()
        }
    }
}

/// The manual task that installs sysbox on Docker hosts and registers its runtime.
pub(crate) fn sysbox_host_task(req: &Request<'_>, where_: &str, side: &mut Side) {
    let snippet = render(
        req,
        "daemon/sysbox-install.sh",
        &serde_json::json!({ "sysbox_version": SYSBOX_VERSION, "where": where_ }),
        side,
    );
    side.task(
        "install sysbox and register the sysbox-runc runtime",
        where_,
        snippet,
        "sh",
    );
}

/// The manual task that creates TLS certificates for a Docker daemon.
pub(crate) fn tls_certs_task(req: &Request<'_>, host: &str, where_: &str, side: &mut Side) {
    let snippet = render(
        req,
        "daemon/tls-certs.sh",
        &serde_json::json!({ "host": host }),
        side,
    );
    side.task(
        format!("create a CA, a server certificate for {host} and a client certificate"),
        where_,
        snippet,
        "sh",
    );
}

/// Pitfalls of a target (recipes §11) as notes.
pub(crate) fn target_notes(target: Target, side: &mut Side) {
    let notes: &[&str] = match target {
        Target::Sysbox => &[
            "sysbox must be installed on every host or node that runs these containers (systemd services, .deb packages for Ubuntu/Debian only, kernel ≥ 5.12 or shiftfs); support is best-effort (recipes §3.2, §11.10)",
            "sysbox rejects privileged mode, host namespaces and --userns=host; inside a sysbox container mknod (/dev/fuse, /dev/tun), nested user namespaces and insmod do not work, and buildx+QEMU needs kernel ≥ 6.7 (recipes §3.5, §11.11)",
        ],
        Target::Rootless => &[
            "docker:dind-rootless is still privileged: --privileged is needed for seccomp, AppArmor and mount masks; it only narrows what a daemon escape reaches (recipes §4.1, §11.1)",
            "rootless Docker cannot publish ports below 1024 without net.ipv4.ip_unprivileged_port_start=0 or setcap on rootlesskit (recipes §4.4, §11.19)",
        ],
        Target::Tls => &[
            "TLS is hardening only: the daemon stays privileged (recipes §7)",
            "with TLS, /certs/client must be shared between daemon and clients; plaintext 2375 in a shared network namespace is a host takeover risk (recipes §7.1, §11.16)",
        ],
        Target::Buildkit => &[
            "rootless BuildKit needs seccomp and AppArmor unconfined plus --oci-worker-no-process-sandbox (or systempaths=unconfined); Baseline Pod Security rejects Unconfined seccomp (recipes §6.2, §11.6)",
            "rootless BuildKit needs user namespaces on the host (user.max_user_namespaces > 0; Ubuntu ≥ 24.04: kernel.apparmor_restrict_unprivileged_userns=0) and kernel ≥ 5.11 for overlayfs (recipes §11.7)",
            "the moby/buildkit rootless image's entrypoint is the daemon: script containers must override it or the job hangs (recipes §11.8)",
            "--oci-worker-no-process-sandbox weakens isolation between RUN steps and the daemon (recipes §11.9)",
        ],
        Target::Kaniko => &[
            "upstream kaniko is archived; depriv uses the maintained osscontainertools fork image (recipes §5.1, §11.3)",
            "kaniko runs as root in its own container: it fails where runAsNonRoot or PSS restricted is enforced, and RUN steps can read mounted credentials (recipes §5.3, §11.4)",
            "kaniko has no --ssh, no multi-platform, no local image load; it builds every stage unless --skip-unused-stages (recipes §5.6, §11.5)",
        ],
    };
    for n in notes {
        side.note(*n);
    }
}

/// Fingerprints of the findings an edit replaces or deletes (its range covers the finding's
/// first byte), plus the ones claimed explicitly.
pub(crate) fn addressed(edits: &[Edit], findings: &[&Finding], claimed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        let hit = edits.iter().any(|e| {
            e.path == f.path && e.start < e.end && e.start <= f.span.start && f.span.start < e.end
        });
        if (hit || claimed.contains(&f.fingerprint)) && !out.contains(&f.fingerprint) {
            out.push(f.fingerprint.clone());
        }
    }
    out
}

/// Turn a [`Side`] plus edits into the outcome: addressed findings, a manual task for every
/// finding neither addressed, kept on purpose, nor already named by a task, and the target's
/// pitfalls when anything changed.
pub(crate) fn finish(req: &Request<'_>, edits: Vec<Edit>, mut side: Side) -> Outcome {
    let edits = merge_inserts(edits);
    let addressed: Vec<String> = addressed(&edits, &req.findings, &side.claimed)
        .into_iter()
        .filter(|f| !side.kept.contains(f))
        .collect();
    for f in &req.findings {
        if addressed.contains(&f.fingerprint) {
            continue;
        }
        let at = loc(f);
        if side.kept.contains(&f.fingerprint) {
            if edits.is_empty() {
                side.task(
                    format!(
                        "{}: the {} target keeps it on purpose and the repository already has its other settings; choose sysbox to drop it",
                        f.rule,
                        req.target.as_str()
                    ),
                    &at,
                    String::new(),
                    "",
                );
            } else {
                side.note(format!(
                    "{} at {at} stays: the {} target keeps it on purpose",
                    f.rule,
                    req.target.as_str()
                ));
            }
            continue;
        }
        if side.covered.contains(&f.fingerprint) || side.manual.iter().any(|t| t.location == at) {
            continue;
        }
        side.task(
            format!(
                "{}: not changed by the {} target; {}",
                f.rule,
                req.target.as_str(),
                f.message
            ),
            &at,
            String::new(),
            "",
        );
    }
    if !edits.is_empty() || !side.manual.is_empty() {
        target_notes(req.target, &mut side);
    }
    Outcome {
        edits,
        manual: side.manual,
        notes: side.notes,
        addressed,
        status: None,
    }
}

/// One insertion per offset: several inserts at the same place become one edit (in their
/// order), so two pipelines that plan the same additions emit byte-identical edits, which the
/// engine collapses.
pub(crate) fn merge_inserts(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by(|a, b| (&a.path, a.start, a.end).cmp(&(&b.path, b.start, b.end)));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        if let Some(last) = out.last_mut()
            && last.path == e.path
            && last.start == last.end
            && e.start == e.end
            && last.start == e.start
        {
            if last.text != e.text {
                last.text.push_str(&e.text);
            }
            continue;
        }
        out.push(e);
    }
    out
}

/// Findings of the request grouped by file, in first-seen order.
pub(crate) fn by_path<'f>(findings: &[&'f Finding]) -> Vec<(String, Vec<&'f Finding>)> {
    let mut out: Vec<(String, Vec<&'f Finding>)> = Vec::new();
    for f in findings {
        match out.iter_mut().find(|(p, _)| *p == f.path) {
            Some((_, v)) => v.push(f),
            None => out.push((f.path.clone(), vec![*f])),
        }
    }
    out
}

/// A string as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted.
pub(crate) fn yaml_scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+".contains(c))
        && !s.starts_with(['-', ':', '@', '.'])
        && !s.contains(": ")
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        && s.parse::<f64>().is_err()
        && !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == ':');
    if plain_ok {
        return s.to_string();
    }
    json_str(s)
}

/// A JSON (and YAML double-quoted) string literal.
pub(crate) fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The smallest `v` in `0..=len` with `f(v) >= target`, for a non-decreasing `f` (`len` when
/// none): maps a file offset back into a string whose offsets map forward through `f`.
pub(crate) fn lower_bound(len: usize, target: usize, f: &dyn Fn(usize) -> usize) -> usize {
    let (mut lo, mut hi) = (0usize, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if f(mid) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The line ending of a text.
pub(crate) fn nl_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

// ---------------------------------------------------------------------------------------------
// daemon.json

/// Rewrite one daemon.json pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let mut side = Side::default();
    let mut edits = Vec::new();
    for (path, findings) in by_path(&req.findings) {
        let Some(text) = req.files.text(&path) else {
            side.task("cannot read the file", &path, String::new(), "");
            continue;
        };
        match json::parse(&text) {
            Ok(Some(Value::Object(o))) => {
                edits.extend(rewrite_object(req, &path, &text, &o, &findings, &mut side));
            }
            _ => side.task(
                "daemon.json does not parse as a JSON object; fix it first",
                &path,
                String::new(),
                "",
            ),
        }
    }
    finish(req, edits, side)
}

/// How the properties of an object are laid out.
struct Layout {
    /// Between properties: `\n  ` or ` `.
    sep: String,
}

fn layout(text: &str, o: &Object<'_>) -> Layout {
    let nl = nl_of(text);
    let first = o.properties.first().map(|p| p.range.start);
    let open = o.range.start + 1;
    let gap = first
        .and_then(|f| text.get(open..f))
        .unwrap_or(if o.properties.is_empty() { " " } else { "" });
    match gap.rfind('\n') {
        Some(i) => Layout {
            sep: format!("{nl}{}", gap.get(i + 1..).unwrap_or("")),
        },
        None => Layout { sep: " ".into() },
    }
}

/// Insert `props` (`"k": v` texts) into `o` after the property `after` (or at the end).
fn insert_props(
    path: &str,
    text: &str,
    o: &Object<'_>,
    after: Option<&str>,
    props: &[String],
) -> Option<Edit> {
    if props.is_empty() {
        return None;
    }
    let lay = layout(text, o);
    let anchor = after
        .and_then(|name| json::prop(o, name))
        .or_else(|| o.properties.last());
    let Some(anchor) = anchor else {
        // Empty object: `{}` → `{ "k": v }`.
        let body = props.join(", ");
        return Some(Edit::replace(
            path,
            o.range.start,
            o.range.end,
            format!("{{ {body} }}"),
        ));
    };
    let end = anchor.range.end;
    let rest = text.get(end..o.range.end).unwrap_or("");
    let skip = rest.len() - rest.trim_start().len();
    if rest.trim_start().starts_with(',') {
        // `anchor,` → `anchor,<sep>p1,<sep>p2,` then the original separator and next property.
        let at = end + skip + 1;
        let mut t = String::new();
        for p in props {
            t.push_str(&lay.sep);
            t.push_str(p);
            t.push(',');
        }
        Some(Edit::insert(path, at, t))
    } else {
        let mut t = String::new();
        for p in props {
            t.push(',');
            t.push_str(&lay.sep);
            t.push_str(p);
        }
        Some(Edit::insert(path, end, t))
    }
}

fn bool_prop(o: &Object<'_>, name: &str) -> Option<(bool, std::ops::Range<usize>)> {
    match json::prop(o, name).map(|p| &p.value) {
        Some(Value::BooleanLit(b)) => Some((b.value, b.range.start..b.range.end)),
        _ => None,
    }
}

fn rewrite_object(
    req: &Request<'_>,
    path: &str,
    text: &str,
    o: &Object<'_>,
    findings: &[&Finding],
    side: &mut Side,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut props: Vec<String> = Vec::new();
    let plaintext: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.rule == "plaintext-docker-daemon")
        .collect();
    let mut host_names: Vec<String> = Vec::new();
    if !plaintext.is_empty() {
        // hosts: tcp://…:2375 → tcp://…:2376 (the bind address the user chose stays).
        if let Some(h) = json::prop(o, "hosts")
            && let Value::Array(a) = &h.value
        {
            for el in &a.elements {
                if let Value::StringLit(s) = el {
                    let v = s.value.trim();
                    if let Some(rest) = v.strip_prefix("tcp://") {
                        let host = rest.rsplit_once(':').map(|(h, _)| h).unwrap_or(rest);
                        host_names.push(host.trim_matches(['[', ']']).to_string());
                        if let Some(base) = v.strip_suffix(":2375") {
                            edits.push(Edit::replace(
                                path,
                                s.range.start,
                                s.range.end,
                                json_str(&format!("{base}:2376")),
                            ));
                        }
                    }
                }
            }
        }
        for key in ["tls", "tlsverify"] {
            match bool_prop(o, key) {
                Some((true, _)) => {}
                Some((false, r)) => edits.push(Edit::replace(path, r.start, r.end, "true")),
                None => props.push(format!("{}: true", json_str(key))),
            }
        }
        for (key, value) in TLS_PATHS {
            if json::prop(o, key).is_none() {
                props.push(format!("{}: {}", json_str(key), json_str(value)));
            }
        }
        // `tlsverify: true` switches every tcp host of this file to verified TLS.
        side.claimed
            .extend(plaintext.iter().map(|f| f.fingerprint.clone()));
        let host = host_names
            .iter()
            .find(|h| !matches!(h.as_str(), "0.0.0.0" | "::" | ""))
            .cloned()
            .unwrap_or_else(|| "<this host's DNS name>".into());
        tls_certs_task(
            req,
            &host,
            &format!("Docker host configured by {path}"),
            side,
        );
        side.note(format!(
            "clients of the daemon configured by {path} must now use tcp://HOST:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH pointing at ca.pem, cert.pem and key.pem (recipes §7.3)"
        ));
    }
    if req.target == Target::Sysbox {
        let rt = ver(req, "sysbox_runtime");
        let entry = format!(
            "{}: {{ \"path\": \"/usr/bin/sysbox-runc\" }}",
            json_str(&rt)
        );
        match json::prop(o, "runtimes").map(|p| &p.value) {
            Some(Value::Object(r)) => {
                if json::prop(r, &rt).is_none()
                    && let Some(e) = insert_props(path, text, r, None, &[entry])
                {
                    edits.push(e);
                }
            }
            Some(_) => side.task(
                "`runtimes` is not an object: register sysbox-runc by hand",
                path,
                String::new(),
                "",
            ),
            None => props.push(format!("\"runtimes\": {{ {entry} }}")),
        }
        sysbox_host_task(req, &format!("Docker host configured by {path}"), side);
        side.note(
            "keep runc as the default runtime and select sysbox per container; making sysbox-runc the default has broken GitLab Runner helper containers (recipes §3.3, §11.12)",
        );
    }
    if req.target == Target::Rootless {
        side.note(
            "rootless Docker is a separate per-user daemon (uidmap, ≥ 65,536 subordinate IDs, recipes §4.3–§4.4); this daemon.json only gets TLS",
        );
    }
    if let Some(e) = insert_props(path, text, o, Some("hosts"), &props) {
        edits.push(e);
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::apply;

    #[test]
    fn yaml_scalars_quote_what_would_change_type() {
        assert_eq!(yaml_scalar("/certs"), "/certs");
        assert_eq!(yaml_scalar("tcp://localhost:2376"), "tcp://localhost:2376");
        assert_eq!(yaml_scalar("1"), "\"1\"");
        assert_eq!(yaml_scalar(""), "\"\"");
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("a b"), "\"a b\"");
        assert_eq!(yaml_scalar("-x"), "\"-x\"");
        assert_eq!(yaml_scalar("1:2"), "\"1:2\"");
    }

    #[test]
    fn lower_bound_inverts_a_monotonic_map() {
        let f = |v: usize| v * 2 + 3;
        assert_eq!(lower_bound(10, 3, &f), 0);
        assert_eq!(lower_bound(10, 8, &f), 3);
        assert_eq!(lower_bound(10, 9, &f), 3);
        assert_eq!(lower_bound(10, 1000, &f), 10);
        assert_eq!(lower_bound(0, 5, &f), 0);
    }

    const DAEMON: &str = "{\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2375\"],\n  \"log-driver\": \"json-file\"\n}\n";

    #[test]
    fn daemon_json_gets_tls_and_the_sysbox_runtime() {
        use crate::migrate::Strategy;
        let run = testkit::check(&[("daemon.json", DAEMON)], Strategy::Sysbox);
        let want = "{\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"],\n  \"tls\": true,\n  \"tlsverify\": true,\n  \"tlscacert\": \"/etc/docker/ca.pem\",\n  \"tlscert\": \"/etc/docker/server-cert.pem\",\n  \"tlskey\": \"/etc/docker/server-key.pem\",\n  \"runtimes\": { \"sysbox-runc\": { \"path\": \"/usr/bin/sysbox-runc\" } },\n  \"log-driver\": \"json-file\"\n}\n";
        assert_eq!(run.files["daemon.json"], want);
        assert_eq!(run.statuses(), vec!["migrated"]);
        assert!(run.snippets().iter().any(|s| s.contains("openssl x509")));
        let crlf = DAEMON.replace('\n', "\r\n");
        let run = testkit::check(&[("daemon.json", &crlf)], Strategy::Sysbox);
        assert_eq!(run.files["daemon.json"], want.replace('\n', "\r\n"));
    }

    #[test]
    fn daemon_json_tls_false_and_existing_runtimes() {
        use crate::migrate::Strategy;
        let src = "{\"hosts\": [\"tcp://[::]:2376\"], \"tls\": false, \"runtimes\": {\"x\": {\"path\": \"/x\"}}}";
        let run = testkit::check(&[("daemon.json", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["daemon.json"],
            "{\"hosts\": [\"tcp://[::]:2376\"], \"tlsverify\": true, \"tlscacert\": \"/etc/docker/ca.pem\", \"tlscert\": \"/etc/docker/server-cert.pem\", \"tlskey\": \"/etc/docker/server-key.pem\", \"tls\": true, \"runtimes\": {\"x\": {\"path\": \"/x\"}, \"sysbox-runc\": { \"path\": \"/usr/bin/sysbox-runc\" }}}"
        );
        let run = testkit::check(&[("daemon.json", src)], Strategy::Tls);
        assert!(!run.files["daemon.json"].contains("sysbox"));
    }

    #[test]
    fn daemon_json_adversarial_inputs_do_not_panic() {
        use crate::migrate::Strategy;
        for src in [
            "",
            "{",
            "[1, 2]",
            "{\"hosts\": \"tcp://0.0.0.0:2375\"}",
            "\u{feff}{\"hosts\": [\"tcp://0.0.0.0:2375\"]}",
            &format!(
                "{{\"hosts\": [{}\"tcp://0.0.0.0:2375\"]}}",
                "\"unix:///x\", ".repeat(2000)
            ),
        ] {
            for s in [Strategy::Sysbox, Strategy::Tls, Strategy::Rootless] {
                let _ = testkit::migrate(&[("daemon.json", src)], s);
            }
        }
    }

    #[test]
    fn props_go_after_hosts_in_the_file_layout() {
        let src = "{\r\n  \"hosts\": [\"tcp://0.0.0.0:2375\"],\r\n  \"x\": 1\r\n}\r\n";
        let Ok(Some(Value::Object(o))) = json::parse(src) else {
            panic!("parse")
        };
        let e = insert_props("f", src, &o, Some("hosts"), &["\"a\": true".into()]);
        let out = apply(src, &e.into_iter().collect::<Vec<_>>()).expect("apply");
        assert_eq!(
            out,
            "{\r\n  \"hosts\": [\"tcp://0.0.0.0:2375\"],\r\n  \"a\": true,\r\n  \"x\": 1\r\n}\r\n"
        );
        let src = "{\"hosts\": []}";
        let Ok(Some(Value::Object(o))) = json::parse(src) else {
            panic!("parse")
        };
        let e = insert_props(
            "f",
            src,
            &o,
            Some("hosts"),
            &["\"a\": 1".into(), "\"b\": 2".into()],
        );
        let out = apply(src, &e.into_iter().collect::<Vec<_>>()).expect("apply");
        assert_eq!(out, "{\"hosts\": [], \"a\": 1, \"b\": 2}");
        let src = "{}";
        let Ok(Some(Value::Object(o))) = json::parse(src) else {
            panic!("parse")
        };
        let e = insert_props("f", src, &o, None, &["\"a\": 1".into()]);
        let out = apply(src, &e.into_iter().collect::<Vec<_>>()).expect("apply");
        assert_eq!(out, "{ \"a\": 1 }");
    }
}

/// Helpers for the rewriters' unit tests: run the real plan → rewrite → verify → apply engine on
/// in-memory files and check idempotence.
#[cfg(test)]
pub(crate) mod testkit {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::config::Config;
    use crate::migrate::{self, Preview, Strategy};
    use crate::rewrite::MemFiles;
    use crate::templates::Templates;

    /// The result of one migration.
    pub struct Run {
        /// Every file after the migration.
        pub files: BTreeMap<String, String>,
        /// The engine's preview.
        pub preview: Preview,
    }

    impl Run {
        /// Per-pipeline statuses.
        pub fn statuses(&self) -> Vec<&'static str> {
            self.preview
                .results
                .iter()
                .map(|r| r.status.as_str())
                .collect()
        }
        /// Titles of every manual task.
        pub fn manual_titles(&self) -> Vec<String> {
            self.preview
                .results
                .iter()
                .flat_map(|r| r.manual.iter().map(|t| t.title.clone()))
                .collect()
        }
        /// Snippets of every manual task.
        pub fn snippets(&self) -> Vec<String> {
            self.preview
                .results
                .iter()
                .flat_map(|r| r.manual.iter().map(|t| t.snippet.clone()))
                .collect()
        }
        /// Every note.
        pub fn notes(&self) -> Vec<String> {
            self.preview
                .results
                .iter()
                .flat_map(|r| r.notes.clone())
                .collect()
        }
    }

    /// Plan, rewrite, verify and apply.
    pub fn migrate(files: &[(&str, &str)], strategy: Strategy) -> Run {
        let config = Config::default();
        let map: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let scan = crate::scan::scan_memory(map.clone(), &config);
        let plan = migrate::plan(&scan, &config.environment, strategy);
        let mem = MemFiles(
            map.iter()
                .map(|(k, v)| (k.clone(), Arc::from(v.as_str())))
                .collect(),
        );
        let templates = Templates::builtin();
        let rescan = |overlay: &BTreeMap<String, String>| {
            let mut m = map.clone();
            m.extend(overlay.clone());
            crate::scan::scan_memory(m, &config)
        };
        let preview = migrate::preview(&plan, &scan, &mem, &templates, &rescan);
        let mut out = map.clone();
        for c in &preview.changes {
            out.insert(c.path.clone(), c.after.clone());
        }
        Run {
            files: out,
            preview,
        }
    }

    /// Every pipeline's edits applied without verification (for diagnosing a dropped rewrite).
    pub fn unverified(files: &[(&str, &str)], strategy: Strategy) -> BTreeMap<String, String> {
        let config = Config::default();
        let map: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let scan = crate::scan::scan_memory(map.clone(), &config);
        let plan = migrate::plan(&scan, &config.environment, strategy);
        let mem = MemFiles(
            map.iter()
                .map(|(k, v)| (k.clone(), Arc::from(v.as_str())))
                .collect(),
        );
        let templates = Templates::builtin();
        let mut edits: Vec<crate::edit::Edit> = Vec::new();
        for p in &plan.pipelines {
            let Some(target) = p.choice.target() else {
                continue;
            };
            let req = crate::rewrite::Request {
                pipeline: &p.pipeline,
                target,
                findings: p.findings.iter().collect(),
                env: &plan.environment,
                templates: &templates,
                files: &mem,
            };
            edits.extend(crate::rewrite::rewrite(&req).edits);
        }
        let mut out = map.clone();
        for (path, text) in &map {
            let mine: Vec<_> = edits.iter().filter(|e| e.path == *path).cloned().collect();
            match crate::edit::apply(text, &mine) {
                Ok(t) => {
                    out.insert(path.clone(), t);
                }
                Err(e) => {
                    out.insert(path.clone(), format!("<<{e}>>"));
                }
            }
        }
        out
    }

    /// [`migrate`], then assert no edits were dropped, the result re-scans without errors, and
    /// a second migration changes nothing.
    pub fn check(files: &[(&str, &str)], strategy: Strategy) -> Run {
        let run = migrate(files, strategy);
        for n in run.notes() {
            assert!(
                !n.contains("edits were dropped") && !n.contains("conflict"),
                "dropped: {n}\n{:#?}",
                unverified(files, strategy)
            );
        }
        let after: Vec<(&str, &str)> = run
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let rescan = crate::scan::scan_memory(run.files.clone(), &Config::default());
        assert!(!rescan.has_errors(), "{:?}", rescan.diagnostics);
        let again = migrate(&after, strategy);
        assert!(
            again.preview.changes.is_empty(),
            "second run changes: {:?}",
            again
                .preview
                .changes
                .iter()
                .map(|c| c.unified_diff())
                .collect::<Vec<_>>()
        );
        run
    }
}
