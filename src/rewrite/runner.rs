//! Rewrites for GitLab Runner `config.toml` and the TOML embedded in gitlab-runner Helm values
//! (`runners.config: |`), https://docs.gitlab.com/ci/docker/using_buildkit/; https://docs.gitlab.com/runner/configuration/advanced-configuration/; https://docs.gitlab.com/ci/docker/using_docker_build/; https://docs.gitlab.com/runner/executors/docker/; docs/targets/buildkit.md; docs/targets/sysbox.md; docs/targets/tls.md; docs/targets/rootless.md. Docker executor: sysbox sets
//! `privileged = false` plus `runtime = "sysbox-runc"`; rootless narrows privilege to
//! `docker:dind-rootless` services (`services_privileged`, `allowed_privileged_services`); TLS
//! keeps privileged mode and shares `/certs/client`; the host socket leaves `volumes` and a
//! plaintext `host` moves to 2376 with `tls_verify`. Kubernetes executor: sysbox sets
//! `privileged = false` plus `runtime_class_name`, host-path sockets are replaced by the
//! `/certs/client` emptyDir. Edits are byte ranges found through `toml_edit` spans; text
//! embedded in YAML is mapped back through the block scalar, with its indentation.

use std::ops::Range;

use toml_edit::{Table, Value};

use super::common::{self, Side, json_str, sysbox_cluster_tasks};
use super::yaml_plan::{Hit, hits_of};
use super::{Outcome, Request};
use crate::edit::Edit;
use crate::plan::Target;
use crate::rules::{
    is_dangerous_cap, is_plaintext_tcp, is_socket_path, is_unconfined_opt, volume_source,
};
use crate::source::docker_cmd::is_daemon_image;
use crate::source::yaml::{NodeId, NodeKind, ScalarStyle, Yaml};

/// Templates of this surface: (name under `templates/`, source).
pub use crate::templates::builtin::RUNNER as TEMPLATES;

/// Image patterns GitLab documents for privileged rootless services (https://docs.gitlab.com/runner/executors/docker/; docs/targets/rootless.md).
const ROOTLESS_SERVICES: &str = "[\"docker.io/library/docker:*-dind-rootless\", \"docker.io/library/docker:dind-rootless\", \"docker:*-dind-rootless\", \"docker:dind-rootless\"]";

/// TOML text being edited and how its offsets map into the file.
pub(crate) struct TomlSrc<'a> {
    path: &'a str,
    toml: &'a str,
    map: &'a dyn Fn(usize) -> usize,
    /// Prefix of every line in the file (the block scalar's indentation).
    indent: String,
    nl: &'static str,
}

impl TomlSrc<'_> {
    fn fo(&self, o: usize) -> usize {
        (self.map)(o.min(self.toml.len()))
    }

    /// Newlines of inserted text in the file's style, followed by the block indentation.
    fn lines(&self, t: &str) -> String {
        t.replace('\n', &format!("{}{}", self.nl, self.indent))
    }

    fn replace(&self, r: Range<usize>, t: &str) -> Edit {
        let s = self.fo(r.start);
        let e = self.fo(r.end).max(s);
        Edit::replace(self.path, s, e, self.lines(t))
    }

    fn line_start(&self, o: usize) -> usize {
        let o = o.min(self.toml.len());
        self.toml
            .get(..o)
            .and_then(|s| s.rfind('\n'))
            .map(|i| i + 1)
            .unwrap_or(0)
    }

    fn line_end_incl(&self, o: usize) -> usize {
        let o = o.min(self.toml.len());
        self.toml
            .get(o..)
            .and_then(|s| s.find('\n'))
            .map(|i| o + i + 1)
            .unwrap_or(self.toml.len())
    }

    fn indent_of(&self, o: usize) -> String {
        let ls = self.line_start(o);
        let line = self.toml.get(ls..).unwrap_or("");
        line.chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect()
    }

    /// Start of the line break at the end of the text (`\r\n` or `\n`), if it ends with one.
    fn final_break(&self) -> Option<usize> {
        if self.toml.ends_with("\r\n") {
            Some(self.toml.len() - 2)
        } else if self.toml.ends_with('\n') {
            Some(self.toml.len() - 1)
        } else {
            None
        }
    }

    /// A new line (`line`, no break) after the line holding `o`.
    fn insert_line_after(&self, o: usize, line: &str) -> Edit {
        let q = self.line_end_incl(o);
        if q < self.toml.len() {
            let at = self.fo(q);
            return Edit::insert(
                self.path,
                at,
                format!("{}{}", self.lines(line), self.lines("\n")),
            );
        }
        let at = match self.final_break() {
            Some(b)
                if q == self.toml.len()
                    && self.toml.get(..q).is_some_and(|t| t.ends_with('\n')) =>
            {
                self.fo(b)
            }
            _ => self.fo(self.toml.len()),
        };
        Edit::insert(self.path, at, self.lines(&format!("\n{line}")))
    }

    /// Delete whole lines `[start, end)` (`start` a line start, `end` a line start or the end).
    fn delete_lines(&self, start: usize, end: usize) -> Edit {
        if end >= self.toml.len() && start > 0 {
            // The last lines: take the break before them instead of leaving an empty line.
            let s = start
                - 1
                - usize::from(self.toml.get(..start).is_some_and(|t| t.ends_with("\r\n")));
            return Edit::delete(self.path, self.fo(s), self.fo(self.toml.len()));
        }
        Edit::delete(self.path, self.fo(start), self.fo(end))
    }
}

/// `(key..value span, value span, value)` of a key in a table.
fn kv<'t>(t: &'t Table, key: &str) -> Option<(Range<usize>, Range<usize>, &'t Value)> {
    let v = t.get(key)?.as_value()?;
    let vs = v.span()?;
    let ks = t.key(key).and_then(|k| k.span()).unwrap_or(vs.clone());
    Some((ks.start..vs.end, vs, v))
}

/// End of the last key/value of a table (its header when it has none).
fn table_last(t: &Table) -> Option<usize> {
    t.iter()
        .filter(|(_, i)| i.is_value())
        .filter_map(|(_, i)| i.span().map(|s| s.end))
        .max()
        .or_else(|| t.span().map(|s| s.end))
}

/// Element spans of a string array.
fn elements(v: &Value) -> Vec<(String, Range<usize>)> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|e| Some((e.as_str()?.to_string(), e.span()?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Edits on one runner's tables.
struct Runner<'s, 'a> {
    src: &'s TomlSrc<'a>,
    edits: Vec<Edit>,
    /// Toml ranges whose findings are addressed although no edit covers them.
    claims: Vec<(&'static str, Range<usize>)>,
}

impl Runner<'_, '_> {
    fn push(&mut self, e: Edit) {
        self.edits.push(e);
    }

    /// `key = value` holds in table `t` (replace, or add after `after` / the last key).
    fn ensure(&mut self, t: &Table, key: &str, value: &str, after: Option<&str>) {
        match kv(t, key) {
            Some((_, vs, v)) => {
                if v.to_string().trim() != value {
                    let e = self.src.replace(vs, value);
                    self.push(e);
                }
            }
            None => {
                let anchor = after
                    .and_then(|a| kv(t, a).map(|(r, _, _)| r.end))
                    .or_else(|| table_last(t));
                let Some(at) = anchor else { return };
                let indent = match after.and_then(|a| kv(t, a)) {
                    Some((r, _, _)) => self.src.indent_of(r.start),
                    None => match t.iter().find(|(_, i)| i.is_value()) {
                        Some((k, _)) => t
                            .key(k)
                            .and_then(|k| k.span())
                            .map(|s| self.src.indent_of(s.start))
                            .unwrap_or_default(),
                        None => format!(
                            "{}  ",
                            t.span()
                                .map(|s| self.src.indent_of(s.start))
                                .unwrap_or_default()
                        ),
                    },
                };
                let e = self
                    .src
                    .insert_line_after(at.saturating_sub(1), &format!("{indent}{key} = {value}"));
                self.push(e);
            }
        }
    }

    /// Edit a string array: `change` decides per element (index, value), then `append` adds
    /// elements. A one-line array is rewritten whole; a multi-line one element by element,
    /// keeping its layout. Returns whether any element changed.
    fn edit_array(
        &mut self,
        v: &Value,
        change: &dyn Fn(usize, &str) -> Change,
        append: &[String],
    ) -> bool {
        let Value::Array(a) = v else { return false };
        let Some(span) = a.span() else { return false };
        let t = self.src.toml;
        let els: Vec<(Change, Range<usize>)> = a
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let c = e.as_str().map(|s| change(i, s)).unwrap_or(Change::Keep);
                Some((c, e.span()?))
            })
            .collect();
        let changed = els.iter().any(|(c, _)| *c != Change::Keep);
        if !changed && append.is_empty() {
            return false;
        }
        let one_line = !t.get(span.clone()).unwrap_or("").contains('\n');
        if one_line {
            let mut parts: Vec<String> = Vec::new();
            for (c, r) in &els {
                match c {
                    Change::Keep => parts.push(t.get(r.clone()).unwrap_or("").to_string()),
                    Change::Drop => {}
                    Change::Replace(x) => parts.push(json_str(x)),
                }
            }
            for x in append {
                parts.push(json_str(x));
            }
            let e = self.src.replace(span, &format!("[{}]", parts.join(", ")));
            self.push(e);
            return changed;
        }
        for (c, r) in &els {
            match c {
                Change::Keep => {}
                Change::Drop => {
                    let e = self.remove_element(r.clone());
                    self.push(e);
                }
                Change::Replace(x) => {
                    let e = self.src.replace(r.clone(), &json_str(x));
                    self.push(e);
                }
            }
        }
        if let Some((_, last)) = els.last()
            && !append.is_empty()
        {
            let rest = t.get(last.end..span.end).unwrap_or("");
            let trailing_comma = rest.trim_start().starts_with(',');
            let ind = self.src.indent_of(last.start);
            let e = if trailing_comma {
                let comma = last.end + rest.find(',').unwrap_or(0);
                let lines: Vec<String> = append
                    .iter()
                    .map(|x| format!("{ind}{},", json_str(x)))
                    .collect();
                self.src.insert_line_after(comma, &lines.join("\n"))
            } else {
                let mut add = String::new();
                for x in append {
                    add.push_str(&format!(",\n{ind}{}", json_str(x)));
                }
                self.src.replace(last.end..last.end, &add)
            };
            self.push(e);
        }
        changed
    }

    /// Remove one element of a multi-line array with its separator (its whole line when alone
    /// on it).
    fn remove_element(&self, r: Range<usize>) -> Edit {
        let t = self.src.toml;
        let ls = self.src.line_start(r.start);
        let le = self.src.line_end_incl(r.start);
        let before = t.get(ls..r.start).unwrap_or("");
        let after = t.get(r.end..le).unwrap_or("");
        let after_t = after.trim_end_matches(['\n', '\r']).trim();
        if before.trim().is_empty() && (after_t.is_empty() || after_t == ",") {
            return self.src.delete_lines(ls, le);
        }
        let bytes = t.as_bytes();
        let mut end = r.end;
        while matches!(bytes.get(end), Some(b' ' | b'\t')) {
            end += 1;
        }
        if bytes.get(end) == Some(&b',') {
            end += 1;
            while matches!(bytes.get(end), Some(b' ' | b'\t')) {
                end += 1;
            }
            return self.src.replace(r.start..end, "");
        }
        let mut start = r.start;
        while start > 0 && matches!(bytes.get(start - 1), Some(b' ' | b'\t')) {
            start -= 1;
        }
        if start > 0 && bytes.get(start - 1) == Some(&b',') {
            start -= 1;
        }
        self.src.replace(start..r.end, "")
    }
}

/// What happens to one array element.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Change {
    /// Stays.
    Keep,
    /// Goes.
    Drop,
    /// Becomes this string.
    Replace(String),
}

/// Which runner of the document a pipeline names.
fn runner_index(runners: &toml_edit::ArrayOfTables, name: &str) -> Option<usize> {
    runners
        .iter()
        .position(|t| t.get("name").and_then(|i| i.as_str()) == Some(name))
        .or_else(|| {
            name.strip_prefix("runner #")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
        })
}

/// Rewrite one TOML text (whole config.toml or Helm-embedded); `runner` picks the runner, or
/// every runner holding a hit when `None`.
fn rewrite_toml(
    req: &Request<'_>,
    src: &TomlSrc<'_>,
    runner: Option<&str>,
    hits: &[Hit<'_>],
    side: &mut Side,
) -> Vec<Edit> {
    let Ok(doc) = crate::source::toml::parse(src.toml) else {
        for h in hits {
            side.task(
                "the runner configuration is not valid TOML: fix it first",
                &common::loc(h.f),
                String::new(),
                "",
            );
        }
        return Vec::new();
    };
    let Some(runners) = doc.get("runners").and_then(|i| i.as_array_of_tables()) else {
        return Vec::new();
    };
    let starts: Vec<usize> = runners
        .iter()
        .filter_map(|t| t.span().map(|s| s.start))
        .collect();
    let mut out = Vec::new();
    let mut claims: Vec<(&'static str, Range<usize>)> = Vec::new();
    for (i, t) in runners.iter().enumerate() {
        let Some(start) = t.span().map(|s| s.start) else {
            continue;
        };
        let end = starts
            .iter()
            .copied()
            .filter(|s| *s > start)
            .min()
            .unwrap_or(src.toml.len());
        let mine: Vec<Hit<'_>> = hits
            .iter()
            .filter(|h| h.at >= start && h.at < end)
            .copied()
            .collect();
        let chosen = match runner {
            Some(name) => runner_index(runners, name) == Some(i),
            None => !mine.is_empty(),
        };
        if !chosen {
            continue;
        }
        let name = t
            .get("name")
            .and_then(|i| i.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("runner #{}", i + 1));
        let mut r = Runner {
            src,
            edits: Vec::new(),
            claims: Vec::new(),
        };
        one_runner(req, &mut r, t, start..end, &name, &mine, side);
        claims.extend(r.claims.iter().cloned());
        out.extend(r.edits);
    }
    for h in hits {
        if claims
            .iter()
            .any(|(rule, range)| *rule == h.f.rule && range.contains(&h.at))
        {
            side.claimed.push(h.f.fingerprint.clone());
        }
    }
    out
}

fn one_runner(
    req: &Request<'_>,
    r: &mut Runner<'_, '_>,
    t: &Table,
    region: Range<usize>,
    name: &str,
    hits: &[Hit<'_>],
    side: &mut Side,
) {
    let target = req.target;
    let has = |rule: &str| hits.iter().any(|h| h.f.rule == rule);
    let loc0 = hits.first().map(|h| common::loc(h.f)).unwrap_or_default();
    let where_ = format!("GitLab Runner host of runner `{name}`");
    // runners.environment: DOCKER_TLS_CERTDIR= and plaintext DOCKER_HOST.
    if let Some((_, _, env)) = kv(t, "environment") {
        let els = elements(env);
        let build_only = matches!(target, Target::Buildkit | Target::Kaniko);
        let mut add: Vec<String> = Vec::new();
        if els.iter().any(|(s, _)| {
            s.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "DOCKER_HOST" && is_plaintext_tcp(v))
        }) {
            for (var, val) in [
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs/client"),
            ] {
                if !els.iter().any(|(x, _)| x.split('=').next() == Some(var)) {
                    add.push(format!("{var}={val}"));
                }
            }
        }
        r.edit_array(
            env,
            &|_, s| {
                let (k, v) = s.split_once('=').unwrap_or((s, ""));
                match k.trim() {
                    "DOCKER_TLS_CERTDIR" if v.trim().is_empty() && !build_only => {
                        Change::Replace("DOCKER_TLS_CERTDIR=/certs".into())
                    }
                    "DOCKER_HOST" if is_plaintext_tcp(v) => {
                        let base = v.trim().trim_end_matches('/');
                        let cut = base.get(..base.len().saturating_sub(4)).unwrap_or("");
                        Change::Replace(format!("DOCKER_HOST={cut}2376"))
                    }
                    _ => Change::Keep,
                }
            },
            &add,
        );
    }
    let docker = t.get("docker").and_then(|i| i.as_table());
    let kube = t.get("kubernetes").and_then(|i| i.as_table());
    if let Some(d) = docker {
        docker_executor(req, r, d, hits, side, &where_, &loc0);
    }
    if let Some(k) = kube {
        kube_executor(req, r, t, k, region, hits, side, &loc0);
    }
    if docker.is_none() && kube.is_none() && !hits.is_empty() && has("privileged-runner") {
        side.task(
            "the runner has no [runners.docker] or [runners.kubernetes] table to edit",
            &loc0,
            String::new(),
            "",
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn docker_executor(
    req: &Request<'_>,
    r: &mut Runner<'_, '_>,
    d: &Table,
    hits: &[Hit<'_>],
    side: &mut Side,
    where_: &str,
    loc0: &str,
) {
    let target = req.target;
    let has = |rule: &str| hits.iter().any(|h| h.f.rule == rule);
    let privileged = kv(d, "privileged");
    let is_priv = privileged
        .as_ref()
        .is_some_and(|(_, _, v)| v.as_bool() == Some(true));
    let default_dind = kv(d, "image").filter(|(_, _, v)| {
        v.as_str()
            .is_some_and(|s| s.to_ascii_lowercase().contains("dind"))
    });
    let dind_related = has("privileged-runner")
        || has("docker-socket-mount")
        || has("privileged-dind")
        || has("dind-tls-disabled");
    // A plaintext remote daemon: TLS on 2376 for every target.
    if let Some((_, vs, v)) = kv(d, "host")
        && let Some(h) = v.as_str()
        && is_plaintext_tcp(h)
    {
        let base = h.trim().trim_end_matches('/');
        let moved = format!(
            "{}2376",
            base.get(..base.len().saturating_sub(4)).unwrap_or("")
        );
        let e = r.src.replace(vs, &json_str(&moved));
        r.push(e);
        let host = base
            .trim_start_matches("tcp://")
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_default();
        let cert_path = format!("/etc/gitlab-runner/certs/{host}");
        r.ensure(d, "tls_verify", "true", Some("host"));
        if kv(d, "tls_cert_path").is_none() {
            r.ensure(d, "tls_cert_path", &json_str(&cert_path), Some("host"));
        }
        common::tls_certs_task(req, &host, &format!("Docker daemon at {host}"), side);
        let snippet = common::render(
            req,
            "runner/docker-tls-host.toml",
            &serde_json::json!({ "host": host, "cert_path": cert_path }),
            side,
        );
        side.task(
            format!("enable TLS on the Docker daemon at {host} and copy the client certificates to {cert_path}"),
            where_,
            snippet,
            "toml",
        );
    }
    match target {
        Target::Sysbox => {
            let rt = json_str(&common::ver(req, "sysbox_runtime"));
            if let Some((range, vs, v)) = &privileged
                && v.as_bool() == Some(true)
            {
                let e = r.src.replace(vs.clone(), "false");
                r.push(e);
                r.claims.push(("privileged-runner", range.clone()));
            }
            let after = if privileged.is_some() {
                Some("privileged")
            } else {
                None
            };
            let needs_runtime =
                dind_related || has("cap-sys-admin") || has("seccomp-unconfined") || is_priv;
            if needs_runtime {
                r.ensure(d, "runtime", &rt, after);
            }
            if let Some((_, vs, v)) = kv(d, "services_privileged")
                && v.as_bool() == Some(true)
            {
                let e = r.src.replace(vs, "false");
                r.push(e);
            }
            // Services no longer run privileged: their dind findings go with it.
            if let Some(arr) = d.get("services").and_then(|i| i.as_array_of_tables()) {
                for s in arr.iter() {
                    if let Some((range, _, _)) = kv(s, "name") {
                        r.claims.push(("privileged-dind", range));
                    }
                }
            }
            // A dind default image runs under the sysbox runtime with `privileged = false`:
            // the re-scan no longer reports it, no comment needed.
            if let Some((range, _, _)) = &default_dind
                && needs_runtime
            {
                r.claims.push(("privileged-dind", range.clone()));
            }
            socket_and_certs(r, d, dind_related, true);
            if let Some((_, _, v)) = kv(d, "cap_add") {
                r.edit_array(
                    v,
                    &|_, s| {
                        if is_dangerous_cap(s) {
                            Change::Drop
                        } else {
                            Change::Keep
                        }
                    },
                    &[],
                );
            }
            for key in ["security_opt", "services_security_opt"] {
                if let Some((_, _, v)) = kv(d, key) {
                    r.edit_array(
                        v,
                        &|_, s| {
                            if is_unconfined_opt(s) {
                                Change::Drop
                            } else {
                                Change::Keep
                            }
                        },
                        &[],
                    );
                }
            }
            if needs_runtime && kv(d, "devices").is_some() {
                side.note("the runner passes host devices: inside sysbox they show as nobody:nogroup and mknod (/dev/fuse, /dev/tun) is not available (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md)");
            }
            if needs_runtime {
                common::sysbox_host_task(req, where_, side);
                common::sysbox_tag_task(req, loc0, side);
                side.note("keep runc as the Docker default runtime on the runner host; the per-runner `runtime` key selects sysbox (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md; https://github.com/nestybox/sysbox/issues/122; docs/targets/sysbox.md)");
                side.note(format!("jobs keep the standard TLS dind service ({} with DOCKER_TLS_CERTDIR=/certs); it runs unprivileged under sysbox (https://docs.gitlab.com/runner/configuration/advanced-configuration/; docs/targets/sysbox.md)", common::ver(req, "dind")));
            }
        }
        Target::Rootless => {
            if default_dind.is_some() {
                side.task(
                    "the runner's default image is a dind image: jobs start their own daemon, which rootless services cannot replace; choose sysbox for this runner",
                    loc0,
                    String::new(),
                    "",
                );
                return;
            }
            if let Some((range, vs, v)) = &privileged
                && v.as_bool() == Some(true)
            {
                let e = r.src.replace(vs.clone(), "false");
                r.push(e);
                r.claims.push(("privileged-runner", range.clone()));
            }
            if dind_related {
                let after = if privileged.is_some() {
                    Some("privileged")
                } else {
                    None
                };
                r.ensure(d, "services_privileged", "true", after);
                match kv(d, "allowed_privileged_services") {
                    Some((_, vs, v)) => {
                        if v.to_string().trim() != ROOTLESS_SERVICES {
                            let e = r.src.replace(vs, ROOTLESS_SERVICES);
                            r.push(e);
                        }
                    }
                    None => {
                        let anchor = if kv(d, "services_privileged").is_some() {
                            Some("services_privileged")
                        } else {
                            after
                        };
                        r.ensure(d, "allowed_privileged_services", ROOTLESS_SERVICES, anchor);
                    }
                }
                if let Some(arr) = d.get("services").and_then(|i| i.as_array_of_tables()) {
                    for s in arr.iter() {
                        if let Some((_, vs, v)) = kv(s, "name")
                            && let Some(img) = v.as_str()
                            && is_daemon_image(img)
                            && !img.contains("rootless")
                        {
                            let e = r
                                .src
                                .replace(vs, &json_str(&common::ver(req, "dind_rootless")));
                            r.push(e);
                            for h in hits.iter().filter(|h| h.f.rule == "privileged-dind") {
                                side.kept.push(h.f.fingerprint.clone());
                            }
                        }
                    }
                }
                socket_and_certs(r, d, true, true);
                side.note(format!("jobs must use the {} service with DOCKER_TLS_CERTDIR=/certs; only that service runs privileged (https://docs.gitlab.com/runner/executors/docker/; docs/targets/rootless.md)", common::ver(req, "dind_rootless")));
            }
        }
        Target::Tls => {
            for h in hits
                .iter()
                .filter(|h| matches!(h.f.rule, "privileged-runner" | "privileged-dind"))
            {
                side.kept.push(h.f.fingerprint.clone());
            }
            if dind_related {
                let can_dind = is_priv
                    || kv(d, "services_privileged")
                        .is_some_and(|(_, _, v)| v.as_bool() == Some(true));
                if can_dind {
                    socket_and_certs(r, d, true, true);
                }
                if !can_dind {
                    for h in hits.iter().filter(|h| h.f.rule == "docker-socket-mount") {
                        side.task(
                            "the host socket would have to be replaced by a privileged dind service, and this runner is not privileged: choose sysbox, or keep the socket and suppress the finding with a reason",
                            &common::loc(h.f),
                            String::new(),
                            "",
                        );
                    }
                }
                side.note("jobs use the TLS dind service: DOCKER_TLS_CERTDIR=/certs and DOCKER_HOST=tcp://docker:2376; /certs/client is shared through the runner's volumes (https://docs.gitlab.com/ci/docker/using_docker_build/; docs/targets/tls.md)");
            }
        }
        Target::Buildkit | Target::Kaniko => {
            // Build-only runners: no privilege at all (buildkit needs relaxed profiles).
            if let Some((range, vs, v)) = &privileged
                && v.as_bool() == Some(true)
            {
                let e = r.src.replace(vs.clone(), "false");
                r.push(e);
                r.claims.push(("privileged-runner", range.clone()));
            }
            if target == Target::Buildkit {
                side.task(
                    "rootless BuildKit jobs need relaxed seccomp/AppArmor on this runner",
                    where_,
                    "[runners.docker]\n  privileged = false\n  security_opt = [\"seccomp=unconfined\", \"apparmor=unconfined\"]\n".into(),
                    "toml",
                );
            }
        }
    }
}

/// Remove the host socket from `volumes` (when `drop_socket`) and share `/certs/client` (when
/// `certs`).
/// The compose service (file, name) this runner configuration runs in: a service of a compose
/// file in the repository that bind-mounts the directory holding the configuration and mounts
/// the host's Docker socket.
fn compose_service_of(req: &Request<'_>) -> Option<(String, String)> {
    let config = req.pipeline.path.as_str();
    let mounts = super::memoised(req.files, "compose:socket-services-mounts", || {
        socket_services_mounts(req.files)
    });
    mounts
        .iter()
        .find(|(mounted, _, _)| config == mounted || config.starts_with(&format!("{mounted}/")))
        .map(|(_, file, svc)| (file.clone(), svc.clone()))
}

/// (mounted repository directory, compose file, service) for every compose service of the
/// repository that mounts the host's Docker socket, once per run.
fn socket_services_mounts(files: &dyn super::Files) -> Vec<(String, String, String)> {
    use crate::discover::{Kind, classify, join_path};
    let mut out = Vec::new();
    let mut paths = files.paths();
    paths.sort();
    for path in paths {
        if classify(&path) != Some(Kind::Compose) {
            continue;
        }
        let Some(text) = files.text(&path) else {
            continue;
        };
        let Ok(y) = crate::source::yaml::Yaml::parse(&text) else {
            continue;
        };
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let Some(&doc) = y.documents().first() else {
            continue;
        };
        let Some(services) = y.get(doc, "services") else {
            continue;
        };
        for svc in y.entries(y.resolve(services.value)).unwrap_or_default() {
            let Some(vols) = y
                .get(y.resolve(svc.value), "volumes")
                .and_then(|v| y.seq(y.resolve(v.value)))
            else {
                continue;
            };
            let sources: Vec<String> = vols
                .iter()
                .filter_map(|&v| {
                    let v = y.resolve(v);
                    match y.str(v) {
                        Some(s) => Some(crate::rules::volume_source(s).to_string()),
                        None => y
                            .get(v, "source")
                            .and_then(|e| y.str(y.resolve(e.value)))
                            .map(str::to_string),
                    }
                })
                .collect();
            if !sources.iter().any(|s| crate::rules::is_socket_path(s)) {
                continue;
            }
            for s in &sources {
                let s = s.trim_matches(|c| c == '"' || c == '\'');
                let s = s.strip_prefix("./").unwrap_or(s);
                if let Some(d) = join_path(dir, s).filter(|d| !d.is_empty()) {
                    out.push((d, path.clone(), svc.key.clone()));
                }
            }
        }
    }
    out
}

fn socket_and_certs(r: &mut Runner<'_, '_>, d: &Table, certs: bool, drop_socket: bool) {
    match kv(d, "volumes") {
        Some((_, _, v)) => {
            let has_certs = elements(&v.clone())
                .iter()
                .any(|(s, _)| s.trim_end_matches('/') == "/certs/client");
            let want = certs && !has_certs;
            let sock = |s: &str| is_socket_path(volume_source(s));
            let first_sock = match v {
                Value::Array(a) => a.iter().position(|e| e.as_str().is_some_and(sock)),
                _ => None,
            };
            match first_sock {
                Some(first) if drop_socket => {
                    r.edit_array(
                        v,
                        &|i, s| match (i == first && want, sock(s)) {
                            (true, _) => Change::Replace("/certs/client".into()),
                            (false, true) => Change::Drop,
                            (false, false) => Change::Keep,
                        },
                        &[],
                    );
                }
                _ if want => {
                    r.edit_array(v, &|_, _| Change::Keep, &["/certs/client".to_string()]);
                }
                _ => {}
            }
        }
        None if certs => r.ensure(d, "volumes", "[\"/certs/client\"]", None),
        None => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn kube_executor(
    req: &Request<'_>,
    r: &mut Runner<'_, '_>,
    runner: &Table,
    k: &Table,
    region: Range<usize>,
    hits: &[Hit<'_>],
    side: &mut Side,
    loc0: &str,
) {
    let target = req.target;
    let privileged = kv(k, "privileged");
    let is_priv = privileged
        .as_ref()
        .is_some_and(|(_, _, v)| v.as_bool() == Some(true));
    // [[runners.kubernetes.volumes.host_path]] tables holding the socket.
    let mut socket_tables: Vec<Range<usize>> = Vec::new();
    let mut has_certs_dir = false;
    if let Some(vols) = k.get("volumes").and_then(|i| i.as_table()) {
        if let Some(arr) = vols.get("host_path").and_then(|i| i.as_array_of_tables()) {
            for hp in arr.iter() {
                let sock = ["host_path", "mount_path"].iter().any(|key| {
                    hp.get(key)
                        .and_then(|i| i.as_str())
                        .is_some_and(is_socket_path)
                });
                if sock && let Some(h) = hp.span() {
                    let start = r.src.line_start(h.start);
                    let last = table_last(hp).unwrap_or(h.end);
                    let end = r.src.line_end_incl(last.saturating_sub(1)).min(region.end);
                    socket_tables.push(start..end);
                }
            }
        }
        if let Some(arr) = vols.get("empty_dir").and_then(|i| i.as_array_of_tables()) {
            has_certs_dir = arr.iter().any(|e| {
                e.get("mount_path")
                    .and_then(|i| i.as_str())
                    .is_some_and(|p| p.trim_end_matches('/') == "/certs/client")
            });
        }
    }
    let header_indent = k
        .span()
        .map(|s| r.src.indent_of(s.start))
        .unwrap_or_default();
    let certs_table = format!(
        "{header_indent}[[runners.kubernetes.volumes.empty_dir]]\n{header_indent}  name = \"docker-certs\"\n{header_indent}  mount_path = \"/certs/client\"\n{header_indent}  medium = \"Memory\""
    );
    let replace_sockets = |r: &mut Runner<'_, '_>, add_certs: bool| {
        let mut placed = !add_certs;
        for range in &socket_tables {
            if placed {
                let e = r.src.delete_lines(range.start, range.end);
                r.push(e);
            } else {
                let e = match r.src.final_break() {
                    Some(b) if range.end >= r.src.toml.len() => {
                        r.src.replace(range.start..b, &certs_table)
                    }
                    None if range.end >= r.src.toml.len() => {
                        r.src.replace(range.start..range.end, &certs_table)
                    }
                    _ => r
                        .src
                        .replace(range.start..range.end, &format!("{certs_table}\n")),
                };
                r.push(e);
                placed = true;
            }
        }
        if !placed {
            let last = region.end.min(r.src.toml.len());
            let e = r
                .src
                .insert_line_after(last.saturating_sub(1), &certs_table);
            r.push(e);
        }
    };
    let _ = runner;
    match target {
        Target::Sysbox => {
            if let Some((range, vs, v)) = &privileged
                && v.as_bool() == Some(true)
            {
                let e = r.src.replace(vs.clone(), "false");
                r.push(e);
                r.claims.push(("privileged-runner", range.clone()));
            }
            let after = if privileged.is_some() {
                Some("privileged")
            } else {
                None
            };
            r.ensure(
                k,
                "runtime_class_name",
                &json_str(&common::ver(req, "sysbox_runtime")),
                after,
            );
            replace_sockets(r, !has_certs_dir && (!socket_tables.is_empty() || is_priv));
            let snippet = common::render(
                req,
                "runner/k8s-sysbox-hostusers.toml",
                &serde_json::json!({}),
                side,
            );
            side.task(
                "job pods also need hostUsers: false (pod_spec patch with FF_USE_ADVANCED_POD_SPEC_CONFIGURATION)",
                loc0,
                snippet,
                "toml",
            );
            sysbox_cluster_tasks(req, "the runner's job pods", side);
            common::sysbox_tag_task(req, loc0, side);
            if !socket_tables.is_empty() {
                side.note(format!("jobs that used the node's Docker socket must use a {} service with TLS (DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=/certs/client); it runs unprivileged under sysbox (https://docs.gitlab.com/runner/configuration/advanced-configuration/; docs/targets/sysbox.md)", common::ver(req, "dind")));
            }
        }
        Target::Tls => {
            for h in hits.iter().filter(|h| h.f.rule == "privileged-runner") {
                side.kept.push(h.f.fingerprint.clone());
            }
            if is_priv {
                replace_sockets(r, !has_certs_dir);
                side.note("jobs set DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_CERTDIR=/certs, DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH explicitly: the Kubernetes executor does not run image entrypoints (https://docs.gitlab.com/ci/docker/using_docker_build/; https://hub.docker.com/_/docker; docs/targets/tls.md)");
            } else {
                for h in hits.iter().filter(|h| h.f.rule == "docker-socket-mount") {
                    side.task(
                        "the node socket would have to be replaced by a privileged dind service, and this runner is not privileged: choose sysbox",
                        &common::loc(h.f),
                        String::new(),
                        "",
                    );
                }
            }
        }
        _ => {
            for h in hits {
                side.task(
                    format!(
                        "{}: the Kubernetes executor has no {} form that drops privilege (https://docs.docker.com/engine/security/protect-access/; https://docs.gitlab.com/runner/configuration/advanced-configuration/; docs/targets/tls.md; docs/targets/sysbox.md)",
                        h.f.rule,
                        target.as_str()
                    ),
                    &common::loc(h.f),
                    String::new(),
                    "",
                );
            }
        }
    }
}

/// Rewrite one runner pipeline (a `[[runners]]` entry of config.toml).
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let mut side = Side::default();
    let mut edits = Vec::new();
    // A runner that runs in a compose service of this repository with the host's socket starts
    // its jobs on that service's daemon. The compose migration gives that service a daemon of
    // its own in a container, where the jobs' containers (and a socket they mount) stay: a
    // sysbox `runtime` written here would not exist there, and without privileged mode the
    // jobs' dind services could not start. Nothing is written for it.
    if let Some((file, svc)) = compose_service_of(req) {
        side.task(
            format!(
                "runner `{}` runs in service `{svc}` of {file}, which mounts this configuration and the host's Docker socket: migrate that service (its jobs then start on its own daemon, in a container), and leave this file as it is, or run the runner on a host of its own with sysbox (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/dind.md)",
                req.pipeline.name
            ),
            &format!("{}:{}", req.pipeline.path, req.pipeline.line),
            String::new(),
            "",
        );
        let mut o = common::finish(req, Vec::new(), side);
        o.status = Some(super::Status::Manual);
        return o;
    }
    for (path, findings) in common::by_path(&req.findings) {
        let Some(text) = req.files.text(&path) else {
            side.task("cannot read the file", &path, String::new(), "");
            continue;
        };
        let identity = |o: usize| o;
        let src = TomlSrc {
            path: &path,
            toml: &text,
            map: &identity,
            indent: String::new(),
            nl: common::nl_of(&text),
        };
        let hits = hits_of(&findings);
        edits.extend(rewrite_toml(
            req,
            &src,
            Some(&req.pipeline.name),
            &hits,
            &mut side,
        ));
    }
    common::finish(req, edits, side)
}

/// Rewrite the TOML held by a Helm `runners.config` block scalar (`value`, resolved) of `text`.
/// `hits` carry file offsets.
pub(crate) fn rewrite_helm_config(
    req: &Request<'_>,
    path: &str,
    text: &str,
    y: &Yaml,
    value: NodeId,
    hits: &[Hit<'_>],
    side: &mut Side,
) -> Vec<Edit> {
    let literal =
        matches!(&y.node(value).kind, NodeKind::Scalar(s) if s.style == ScalarStyle::Literal);
    let Some(toml) = y.str(value).filter(|_| literal) else {
        for h in hits {
            side.task(
                "runners.config is not a literal block scalar (`|`): edit its TOML by hand",
                &common::loc(h.f),
                String::new(),
                "",
            );
        }
        return Vec::new();
    };
    let map = |o: usize| y.scalar_src_offset(value, o);
    let first = map(0);
    let line_start = text
        .get(..first)
        .and_then(|s| s.rfind('\n'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let lead = toml.len() - toml.trim_start_matches(' ').len();
    let col = first.saturating_sub(line_start).saturating_sub(lead);
    let src = TomlSrc {
        path,
        toml,
        map: &map,
        indent: " ".repeat(col),
        nl: common::nl_of(text),
    };
    // File offsets back to TOML offsets.
    let local: Vec<Hit<'_>> = hits
        .iter()
        .map(|h| Hit {
            f: h.f,
            at: common::lower_bound(toml.len(), h.at, &map),
        })
        .collect();
    rewrite_toml(req, &src, None, &local, side)
}

#[cfg(test)]
mod tests {
    use crate::migrate::Strategy;
    use crate::rewrite::common::testkit;

    const DEMO: &str = "concurrent = 4\n\n[[runners]]\n  name = \"r\"\n  url = \"https://gitlab.example.com/\"\n  executor = \"docker\"\n  [runners.docker]\n    image = \"docker:29-cli\"\n    privileged = true\n    tls_verify = false\n    volumes = [\"/var/run/docker.sock:/var/run/docker.sock\", \"/cache\"]\n    shm_size = 0\n";

    #[test]
    fn a_runner_inside_a_compose_service_with_the_socket_is_left_to_that_service() {
        let compose = "services:\n  runner:\n    image: gitlab/gitlab-runner:alpine\n    volumes:\n      - ./gitlab-runner/config:/etc/gitlab-runner\n      - /var/run/docker.sock:/var/run/docker.sock\n";
        let run = testkit::migrate(
            &[
                ("ci/docker-compose.yml", compose),
                ("ci/gitlab-runner/config/config.toml", DEMO),
            ],
            Strategy::Sysbox,
        );
        let runner = run
            .preview
            .results
            .iter()
            .find(|r| r.path.ends_with("config.toml"))
            .expect("runner");
        assert_eq!(runner.status.as_str(), "manual");
        assert!(
            runner.manual.iter().any(|t| t
                .title
                .contains("runs in service `runner` of ci/docker-compose.yml")),
            "{:#?}",
            runner.manual
        );
        // Nothing is written to it; the compose service is migrated.
        assert_eq!(run.files["ci/gitlab-runner/config/config.toml"], DEMO);
        assert!(!run.files["ci/docker-compose.yml"].contains("docker.sock"));
        // A runner mounted from elsewhere is migrated as before.
        let elsewhere = compose.replace("./gitlab-runner/config", "/srv/gitlab-runner");
        let run = testkit::migrate(
            &[
                ("ci/docker-compose.yml", &elsewhere),
                ("ci/gitlab-runner/config/config.toml", DEMO),
            ],
            Strategy::Sysbox,
        );
        assert!(
            run.files["ci/gitlab-runner/config/config.toml"].contains("runtime = \"sysbox-runc\"")
        );
    }

    #[test]
    fn sysbox_docker_executor() {
        let run = testkit::check(&[("config.toml", DEMO)], Strategy::Sysbox);
        assert_eq!(
            run.files["config.toml"],
            "concurrent = 4\n\n[[runners]]\n  name = \"r\"\n  url = \"https://gitlab.example.com/\"\n  executor = \"docker\"\n  [runners.docker]\n    image = \"docker:29-cli\"\n    privileged = false\n    runtime = \"sysbox-runc\"\n    tls_verify = false\n    volumes = [\"/certs/client\", \"/cache\"]\n    shm_size = 0\n"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
        let crlf = DEMO.replace('\n', "\r\n");
        let run2 = testkit::check(&[("config.toml", &crlf)], Strategy::Sysbox);
        assert_eq!(
            run2.files["config.toml"],
            run.files["config.toml"].replace('\n', "\r\n")
        );
    }

    #[test]
    fn rootless_and_tls_docker_executor() {
        let run = testkit::check(&[("config.toml", DEMO)], Strategy::Rootless);
        let out = &run.files["config.toml"];
        assert!(out.contains("    privileged = false\n    services_privileged = true\n    allowed_privileged_services = [\"docker.io/library/docker:*-dind-rootless\""), "{out}");
        assert!(out.contains("volumes = [\"/certs/client\", \"/cache\"]"));
        let run = testkit::check(&[("config.toml", DEMO)], Strategy::Tls);
        let out = &run.files["config.toml"];
        assert!(out.contains("privileged = true"));
        assert!(out.contains("volumes = [\"/certs/client\", \"/cache\"]"));
        assert_eq!(run.statuses(), vec!["partial"]);
    }

    #[test]
    fn multi_line_arrays_default_dind_image_and_services() {
        let src = "[[runners]]\n  name = \"a\"\n  environment = [\"DOCKER_TLS_CERTDIR=\", \"X=1\"]\n  [runners.docker]\n    image = \"docker:29-dind\"\n    privileged = true\n    volumes = [\n      \"/cache\",\n      \"/var/run/docker.sock:/var/run/docker.sock\",\n    ]\n    cap_add = [\"SYS_ADMIN\", \"NET_ADMIN\"]\n";
        let run = testkit::check(&[("config.toml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["config.toml"],
            "[[runners]]\n  name = \"a\"\n  environment = [\"DOCKER_TLS_CERTDIR=/certs\", \"X=1\"]\n  [runners.docker]\n    image = \"docker:29-dind\"\n    privileged = false\n    runtime = \"sysbox-runc\"\n    volumes = [\n      \"/cache\",\n      \"/certs/client\",\n    ]\n    cap_add = [\"NET_ADMIN\"]\n"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
    }

    #[test]
    fn plaintext_remote_host_moves_to_tls() {
        let src = "[[runners]]\n  name = \"remote\"\n  executor = \"docker\"\n  [runners.docker]\n    host = \"tcp://docker-host.internal:2375\"\n    image = \"alpine:3.21\"\n";
        let run = testkit::check(&[("config.toml", src)], Strategy::Tls);
        assert_eq!(
            run.files["config.toml"],
            "[[runners]]\n  name = \"remote\"\n  executor = \"docker\"\n  [runners.docker]\n    host = \"tcp://docker-host.internal:2376\"\n    tls_verify = true\n    tls_cert_path = \"/etc/gitlab-runner/certs/docker-host.internal\"\n    image = \"alpine:3.21\"\n"
        );
        assert!(run.snippets().iter().any(|s| s.contains("openssl")));
    }

    #[test]
    fn kubernetes_executor_sysbox_replaces_the_socket_table() {
        let src = "[[runners]]\n  name = \"k\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"ci\"\n    privileged = true\n  [[runners.kubernetes.volumes.host_path]]\n    name = \"docker-sock\"\n    mount_path = \"/var/run/docker.sock\"\n    host_path = \"/var/run/docker.sock\"\n";
        let run = testkit::check(&[("config.toml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["config.toml"],
            "[[runners]]\n  name = \"k\"\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"ci\"\n    privileged = false\n    runtime_class_name = \"sysbox-runc\"\n  [[runners.kubernetes.volumes.empty_dir]]\n    name = \"docker-certs\"\n    mount_path = \"/certs/client\"\n    medium = \"Memory\"\n"
        );
    }

    #[test]
    fn helm_embedded_config_is_edited_in_place() {
        let src = "gitlabUrl: https://gitlab.example.com/\nrunners:\n  config: |\n    [[runners]]\n      [runners.docker]\n        image = \"alpine:3.21\"\n        privileged = true\n        volumes = [\"/cache\", \"/var/run/docker.sock:/var/run/docker.sock\"]\n";
        let run = testkit::check(&[("values.yaml", src)], Strategy::Sysbox);
        assert_eq!(
            run.files["values.yaml"],
            "gitlabUrl: https://gitlab.example.com/\nrunners:\n  config: |\n    [[runners]]\n      [runners.docker]\n        image = \"alpine:3.21\"\n        privileged = false\n        runtime = \"sysbox-runc\"\n        volumes = [\"/cache\", \"/certs/client\"]\n"
        );
        assert_eq!(run.statuses(), vec!["migrated"]);
    }

    #[test]
    fn adversarial_inputs_do_not_panic() {
        for src in [
            "",
            "[[runners]]\nname = \"x\"\n[runners.docker]\nprivileged = true // broken\n",
            "[[runners]]\n  name = \"x\n",
            &"[[runners]]\n[runners.docker]\nprivileged = true\n".repeat(300),
        ] {
            for s in [Strategy::Sysbox, Strategy::Tls, Strategy::Rootless] {
                let _ = testkit::migrate(&[("config.toml", src)], s);
            }
        }
    }
}
