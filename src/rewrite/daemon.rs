//! Rewrites for Docker `daemon.json` (https://hub.docker.com/_/docker; https://docs.docker.com/engine/security/protect-access/; https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; docs/targets/tls.md; docs/targets/sysbox.md): plaintext `tcp://` hosts move
//! to 2376 with `tls`/`tlsverify` and certificate paths, the sysbox target registers the
//! `sysbox-runc` runtime; every edit is a byte range of the original JSON, so formatting and
//! the other keys stay.

use super::common::*;
use super::{Outcome, Request};
use crate::edit::Edit;
use crate::finding::Finding;
use crate::plan::Target;
use crate::source::json::{self, Object, Value};

/// Templates of this surface: (name under `templates/`, source).
pub use crate::templates::builtin::DAEMON as TEMPLATES;

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
            "clients of the daemon configured by {path} must now use tcp://HOST:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH pointing at ca.pem, cert.pem and key.pem (https://docs.docker.com/engine/security/protect-access/; docs/targets/tls.md)"
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
            "keep runc as the default runtime and select sysbox per container; making sysbox-runc the default has broken GitLab Runner helper containers (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; https://github.com/nestybox/sysbox/issues/122; docs/targets/sysbox.md)",
        );
    }
    if req.target == Target::Rootless {
        side.note(
            "rootless Docker is a separate per-user daemon (uidmap, ≥ 65,536 subordinate IDs, https://docs.docker.com/engine/security/rootless/; https://docs.docker.com/engine/security/rootless/troubleshoot/; docs/targets/rootless.md); this daemon.json only gets TLS",
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
