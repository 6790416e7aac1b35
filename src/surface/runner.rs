//! GitLab Runner `config.toml`: one pipeline per `[[runners]]`, named after the runner.
//! `[runners.docker]` privileged, volumes, cap_add, security_opt, image, host, runtime and
//! `[runners.kubernetes]` privileged. Parsed with `toml_edit` for exact spans; a file that is
//! not valid TOML gets a diagnostic and a tolerant line-based reading, so a broken config still
//! shows its findings.

use crate::finding::{DiagLevel, Diagnostic, Surface};
use crate::model::{Pipeline, Signal, Val};
use crate::rules::{is_plaintext_tcp, is_socket_path, volume_source};
use crate::source::{FileId, Loc, SourceFile, Span};

/// GitLab Runner settings as environment variables: `gitlab-runner register` reads every
/// `config.toml` key it offers as a flag from an environment variable too (the `env:` tags in
/// gitlab-runner's `common/config.go`), so a runner container, ConfigMap or chart `envVars`
/// holding them configures the runner. `vars` are (name, located value); what they turn on is
/// pushed to `out`.
pub fn env_signals(vars: &[(String, Val<String>)], out: &mut Vec<Signal>) {
    let truthy = |v: &str| {
        matches!(
            v.trim().trim_matches(|c| c == '"' || c == '\''),
            "true" | "True" | "TRUE" | "1" | "t" | "T"
        )
    };
    let parts = |v: &str| -> Vec<String> {
        v.split([',', ' ', '\n'])
            .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for (name, val) in vars {
        match name.trim() {
            "DOCKER_PRIVILEGED" | "KUBERNETES_PRIVILEGED" | "DOCKER_SERVICES_PRIVILEGED"
                if truthy(&val.v) =>
            {
                out.push(Signal::RunnerPrivileged(val.loc));
            }
            "DOCKER_VOLUMES"
                if parts(&val.v)
                    .iter()
                    .any(|p| is_socket_path(volume_source(p))) =>
            {
                out.push(Signal::SocketMount(val.loc));
            }
            "DOCKER_CAP_ADD" => {
                for cap in parts(&val.v) {
                    out.push(Signal::CapAdd(Val::new(cap, val.loc)));
                }
            }
            "DOCKER_SECURITY_OPT" | "DOCKER_SERVICES_SECURITY_OPT" => {
                for opt in parts(&val.v) {
                    if crate::rules::is_unconfined_opt(&opt) {
                        out.push(Signal::Unconfined(Val::new(opt, val.loc)));
                    }
                }
            }
            "RUNNER_ENV" => {
                // `--env`: variables injected into every job (`runners.environment`).
                for kv in val.v.split([',', ';', '\n']) {
                    let Some((k, v)) = kv.split_once('=') else {
                        continue;
                    };
                    match k.trim() {
                        "DOCKER_TLS_CERTDIR" if v.trim().trim_matches('"').is_empty() => {
                            out.push(Signal::TlsDisabled(val.loc))
                        }
                        "DOCKER_HOST" if is_plaintext_tcp(v) => {
                            out.push(Signal::PlaintextDaemon(val.loc))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// One `key = value` seen in a runner section, with the span of the key..value.
#[derive(Clone, Debug)]
struct Setting {
    section: String,
    key: String,
    /// String values (arrays flattened), each with its span; a bool/number as its text.
    values: Vec<(String, Span)>,
    span: Span,
}

/// Runner configuration facts beyond findings (used by reports and plans).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunnerInfo {
    /// Runner name.
    pub name: String,
    /// Executor.
    pub executor: Option<String>,
    /// `runtime = "sysbox-runc"` set.
    pub sysbox: bool,
    /// `privileged = true` somewhere.
    pub privileged: bool,
}

/// Lower a `config.toml` text; `base` is added to every offset (for TOML embedded in YAML).
pub fn lower(sf: &SourceFile, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Pipeline> {
    lower_text(&sf.text, 0, sf, file, diags, None)
}

/// Lower TOML text found at `base` in `sf` (Helm `runners.config`). `map` translates offsets
/// of `text` into file offsets when the text is not a verbatim slice.
pub fn lower_text(
    text: &str,
    base: usize,
    sf: &SourceFile,
    file: FileId,
    diags: &mut Vec<Diagnostic>,
    map: Option<&dyn Fn(usize) -> usize>,
) -> Vec<Pipeline> {
    let to_file = |off: usize| -> usize {
        match map {
            Some(m) => m(off),
            None => base + off,
        }
    };
    let settings = match crate::source::toml::parse(text) {
        Ok(doc) => from_toml(&doc),
        // A Go-templated config (Helm `runners.config`, `config.toml.tmpl`) is not TOML until
        // rendered: read it line by line with a note, never as an input error.
        Err(e) if text.contains("{{") => {
            diags.push(super::diag_at(
                sf,
                to_file(text.find("{{").unwrap_or(e.offset)),
                DiagLevel::Note,
                "Go template in a GitLab Runner configuration: read line by line, template actions ignored",
            ));
            from_lines(text)
        }
        Err(e) => {
            diags.push(super::diag_at(
                sf,
                to_file(e.offset),
                DiagLevel::Error,
                format!("invalid TOML: {}; read line by line instead", e.message),
            ));
            from_lines(text)
        }
    };
    let mut runners: Vec<(String, Span, Vec<Setting>)> = Vec::new();
    for s in settings {
        if s.section == "runners" && s.key == "\0start" {
            runners.push((format!("runner #{}", runners.len() + 1), s.span, Vec::new()));
            continue;
        }
        if let Some(r) = runners.last_mut() {
            if s.section == "runners"
                && s.key == "name"
                && let Some((v, _)) = s.values.first()
            {
                r.0 = v.clone();
            }
            r.2.push(s);
        }
    }
    let mut out = Vec::new();
    for (name, span, settings) in runners {
        let loc = |sp: Span| Loc::new(file, Span::new(to_file(sp.start), to_file(sp.end)));
        let mut p = Pipeline::new(name, Surface::RunnerToml, loc(span));
        let services_privileged = settings.iter().any(|s| {
            (s.key == "services_privileged" || s.key == "privileged")
                && s.section == "runners.docker"
                && s.values.first().is_some_and(|v| v.0 == "true")
        });
        // The job's own container (the default `image`) is privileged only with `privileged`.
        let jobs_privileged = settings.iter().any(|s| {
            s.key == "privileged"
                && s.section == "runners.docker"
                && s.values.first().is_some_and(|v| v.0 == "true")
        });
        let docker_tls = settings.iter().any(|s| {
            s.section == "runners.docker"
                && (s.key == "tls_verify" && s.values.first().is_some_and(|v| v.0 == "true")
                    || s.key == "tls_cert_path")
        });
        for s in &settings {
            match (s.section.as_str(), s.key.as_str()) {
                ("runners.docker" | "runners.kubernetes", "privileged")
                    if s.values.first().is_some_and(|v| v.0 == "true") =>
                {
                    p.signals.push(Signal::RunnerPrivileged(loc(s.span)));
                }
                ("runners.docker", "volumes") => {
                    for (v, sp) in &s.values {
                        if is_socket_path(volume_source(v)) {
                            p.signals.push(Signal::SocketMount(loc(*sp)));
                        }
                    }
                }
                ("runners.docker", "cap_add") => {
                    for (v, sp) in &s.values {
                        p.signals
                            .push(Signal::CapAdd(Val::new(v.clone(), loc(*sp))));
                    }
                }
                ("runners.docker", "security_opt" | "services_security_opt") => {
                    for (v, sp) in &s.values {
                        if crate::rules::is_unconfined_opt(v) {
                            p.signals
                                .push(Signal::Unconfined(Val::new(v.clone(), loc(*sp))));
                        }
                    }
                }
                ("runners.docker", "image") => {
                    if let Some((v, sp)) = s.values.first()
                        && v.to_ascii_lowercase().contains("dind")
                        && jobs_privileged
                    {
                        p.signals.push(Signal::PrivilegedDind(loc(*sp)));
                    }
                }
                ("runners.docker.services", "name") => {
                    if let Some((v, sp)) = s.values.first()
                        && crate::source::docker_cmd::is_daemon_image(v)
                        && services_privileged
                    {
                        p.signals.push(Signal::PrivilegedDind(loc(*sp)));
                    }
                }
                ("runners.kubernetes.volumes.host_path", "host_path") => {
                    if let Some((v, sp)) = s.values.first()
                        && is_socket_path(v)
                    {
                        p.signals.push(Signal::SocketMount(loc(*sp)));
                    }
                }
                ("runners", "environment") => {
                    for (v, sp) in &s.values {
                        let (name, value) = v.split_once('=').unwrap_or((v.as_str(), ""));
                        if !v.contains('=') {
                            continue;
                        }
                        match name.trim() {
                            "DOCKER_TLS_CERTDIR" if value.trim().is_empty() => {
                                p.signals.push(Signal::TlsDisabled(loc(*sp)))
                            }
                            "DOCKER_HOST" if is_plaintext_tcp(value) => {
                                p.signals.push(Signal::PlaintextDaemon(loc(*sp)))
                            }
                            _ => {}
                        }
                    }
                }
                ("runners.docker", "host") => {
                    if let Some((v, sp)) = s.values.first()
                        && is_plaintext_tcp(v)
                        && !docker_tls
                    {
                        p.signals.push(Signal::PlaintextDaemon(loc(*sp)));
                    }
                }
                _ => {}
            }
        }
        out.push(p);
    }
    out
}

/// Facts per runner (name, executor, sysbox runtime, privileged).
pub fn info(text: &str) -> Vec<RunnerInfo> {
    let settings = match crate::source::toml::parse(text) {
        Ok(doc) => from_toml(&doc),
        Err(_) => from_lines(text),
    };
    let mut out: Vec<RunnerInfo> = Vec::new();
    for s in settings {
        if s.key == "\0start" {
            out.push(RunnerInfo {
                name: format!("runner #{}", out.len() + 1),
                ..RunnerInfo::default()
            });
            continue;
        }
        let Some(r) = out.last_mut() else { continue };
        let first = s.values.first().map(|v| v.0.clone()).unwrap_or_default();
        match (s.section.as_str(), s.key.as_str()) {
            ("runners", "name") => r.name = first,
            ("runners", "executor") => r.executor = Some(first),
            ("runners.docker", "runtime") | ("runners.kubernetes", "runtime_class_name") => {
                r.sysbox |= first.contains("sysbox")
            }
            (_, "privileged") => r.privileged |= first == "true",
            _ => {}
        }
    }
    out
}

fn from_toml(doc: &toml_edit::Document<String>) -> Vec<Setting> {
    let mut out = Vec::new();
    let Some(runners) = doc.get("runners").and_then(|i| i.as_array_of_tables()) else {
        return out;
    };
    for t in runners.iter() {
        let start = t.span().map(|r| r.start).unwrap_or(0);
        out.push(Setting {
            section: "runners".into(),
            key: "\0start".into(),
            values: Vec::new(),
            span: Span::new(start, start),
        });
        walk_table(t, "runners", &mut out, 0);
    }
    out
}

fn walk_table(t: &toml_edit::Table, section: &str, out: &mut Vec<Setting>, depth: usize) {
    if depth > 8 {
        return;
    }
    for (k, item) in t.iter() {
        if let Some(sub) = item.as_table() {
            walk_table(sub, &format!("{section}.{k}"), out, depth + 1);
            continue;
        }
        if let Some(arr) = item.as_array_of_tables() {
            for sub in arr.iter() {
                let start = sub.span().map(|r| r.start).unwrap_or(0);
                out.push(Setting {
                    section: format!("{section}.{k}"),
                    key: "\0item".into(),
                    values: Vec::new(),
                    span: Span::new(start, start),
                });
                walk_table(sub, &format!("{section}.{k}"), out, depth + 1);
            }
            continue;
        }
        if let Some(v) = item.as_value() {
            let key_span = t.key(k).and_then(|key| key.span());
            let vspan = v.span();
            let span = match (key_span, vspan.clone()) {
                (Some(a), Some(b)) => Span::new(a.start, b.end),
                (None, Some(b)) => Span::from(b),
                (Some(a), None) => Span::from(a),
                (None, None) => Span::default(),
            };
            let mut values = Vec::new();
            match v {
                toml_edit::Value::Array(a) => {
                    for el in a.iter() {
                        if let Some(s) = el.as_str() {
                            values.push((s.to_string(), el.span().map(Span::from).unwrap_or(span)));
                        }
                    }
                }
                toml_edit::Value::String(s) => {
                    values.push((s.value().to_string(), vspan.map(Span::from).unwrap_or(span)))
                }
                other => values.push((
                    other.to_string().trim().to_string(),
                    vspan.map(Span::from).unwrap_or(span),
                )),
            }
            out.push(Setting {
                section: section.to_string(),
                key: k.to_string(),
                values,
                span,
            });
        }
    }
}

/// A tolerant reading: `[section]` headers and `key = value` lines, arrays across lines,
/// `#` and `//` comments outside strings.
fn from_lines(text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut offset = 0usize;
    let mut pending: Option<Setting> = None;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = strip_comment(line.trim_end_matches(['\n', '\r']));
        let trimmed = body.trim();
        if trimmed.starts_with("{{") && pending.is_none() {
            // A Go template action line (`{{- if .Values.x }}`).
            continue;
        }
        if let Some(p) = pending.as_mut() {
            collect_strings(body, start, &mut p.values);
            p.span.end = start + body.len();
            if trimmed.contains(']') {
                out.extend(pending.take());
            }
            continue;
        }
        if trimmed.starts_with("[[") {
            section = trimmed.trim_matches(['[', ']', ' ']).to_string();
            let lead = body.len() - body.trim_start().len();
            out.push(Setting {
                section: section.clone(),
                key: if section == "runners" {
                    "\0start"
                } else {
                    "\0item"
                }
                .into(),
                values: Vec::new(),
                span: Span::new(start + lead, start + lead),
            });
            continue;
        }
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(['[', ']', ' ']).to_string();
            continue;
        }
        let Some((k, v)) = body.split_once('=') else {
            continue;
        };
        let key = k.trim().trim_matches('"').to_string();
        let lead = body.len() - body.trim_start().len();
        let vstart = start + k.len() + 1;
        let mut s = Setting {
            section: section.clone(),
            key,
            values: Vec::new(),
            span: Span::new(start + lead, start + body.trim_end().len()),
        };
        let vt = v.trim();
        if vt.starts_with('[') {
            collect_strings(v, vstart, &mut s.values);
            if !vt.contains(']') {
                pending = Some(s);
                continue;
            }
        } else if vt.starts_with('"') || vt.starts_with('\'') {
            collect_strings(v, vstart, &mut s.values);
        } else {
            let vl = v.len() - v.trim_start().len();
            s.values.push((
                vt.to_string(),
                Span::new(vstart + vl, vstart + vl + vt.len()),
            ));
        }
        out.push(s);
    }
    out.extend(pending);
    out
}

fn strip_comment(line: &str) -> &str {
    let mut in_str: Option<char> = None;
    let bytes: Vec<char> = line.chars().collect();
    let mut byte = 0usize;
    for (i, c) in bytes.iter().enumerate() {
        match in_str {
            Some(q) if *c == q => in_str = None,
            Some(_) => {}
            None if *c == '"' || *c == '\'' => in_str = Some(*c),
            None if *c == '#' => return line.get(..byte).unwrap_or(line),
            None if *c == '/' && bytes.get(i + 1) == Some(&'/') => {
                return line.get(..byte).unwrap_or(line);
            }
            None => {}
        }
        byte += c.len_utf8();
    }
    line
}

fn collect_strings(s: &str, base: usize, out: &mut Vec<(String, Span)>) {
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' || c == '\'' {
            let mut end = None;
            for (j, d) in chars.by_ref() {
                if d == c {
                    end = Some(j);
                    break;
                }
            }
            if let Some(j) = end
                && let Some(v) = s.get(i + 1..j)
            {
                out.push((v.to_string(), Span::new(base + i, base + j + 1)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_reading_of_broken_toml() {
        let t = "[[runners]]\n  name = \"x\"\n  url = $url\n  [runners.docker]\n    privileged = true // root\n    volumes = [\"/var/run/docker.sock:/var/run/docker.sock\",\n      \"/cache\"]\n";
        let s = from_lines(t);
        let priv_ = s
            .iter()
            .find(|s| s.key == "privileged")
            .map(|s| s.values[0].0.clone());
        assert_eq!(priv_.as_deref(), Some("true"));
        let vols = s
            .iter()
            .find(|s| s.key == "volumes")
            .map(|s| s.values.len());
        assert_eq!(vols, Some(2));
        assert_eq!(
            s.iter()
                .find(|s| s.key == "privileged")
                .map(|s| s.section.as_str()),
            Some("runners.docker")
        );
    }

    #[test]
    fn info_finds_sysbox() {
        let i = info(
            "[[runners]]\nname = \"a\"\nexecutor = \"docker\"\n[runners.docker]\nruntime = \"sysbox-runc\"\nprivileged = false\n",
        );
        assert_eq!(i.len(), 1);
        assert!(i[0].sysbox);
        assert!(!i[0].privileged);
        assert_eq!(i[0].name, "a");
    }

    #[test]
    fn a_dind_default_image_is_privileged_only_on_a_privileged_runner() {
        let rules = |toml: &str| {
            crate::scan::scan_memory(
                std::collections::BTreeMap::from([("config.toml".to_string(), toml.to_string())]),
                &crate::config::Config::default(),
            )
            .findings
            .iter()
            .map(|f| (f.rule, f.line))
            .collect::<Vec<_>>()
        };
        let t = "[[runners]]\n  name = \"a\"\n  executor = \"docker\"\n  [runners.docker]\n    image = \"docker:29-dind\"\n    privileged = true\n";
        let found = rules(t);
        assert!(found.contains(&("privileged-dind", 5)), "{found:?}");
        // Under sysbox and without privileged mode the daemon runs unprivileged.
        let sysbox = t.replace(
            "privileged = true\n",
            "privileged = false\n    runtime = \"sysbox-runc\"\n",
        );
        assert_eq!(rules(&sysbox), vec![]);
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    fn sigs(vars: &[(&str, &str)]) -> Vec<&'static str> {
        let loc = Loc::new(0, Span::new(0, 1));
        let vars: Vec<(String, Val<String>)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), Val::new(v.to_string(), loc)))
            .collect();
        let mut out = Vec::new();
        env_signals(&vars, &mut out);
        out.iter()
            .map(|s| match s {
                Signal::RunnerPrivileged(_) => "privileged",
                Signal::SocketMount(_) => "socket",
                Signal::CapAdd(_) => "cap",
                Signal::Unconfined(_) => "unconfined",
                Signal::TlsDisabled(_) => "tls-off",
                Signal::PlaintextDaemon(_) => "plaintext",
                _ => "other",
            })
            .collect()
    }

    #[test]
    fn register_environment_variables() {
        assert_eq!(sigs(&[("DOCKER_PRIVILEGED", "true")]), vec!["privileged"]);
        assert_eq!(sigs(&[("KUBERNETES_PRIVILEGED", "1")]), vec!["privileged"]);
        assert!(sigs(&[("DOCKER_PRIVILEGED", "false")]).is_empty());
        assert_eq!(
            sigs(&[(
                "DOCKER_VOLUMES",
                "/cache,/var/run/docker.sock:/var/run/docker.sock"
            )]),
            vec!["socket"]
        );
        assert!(sigs(&[("DOCKER_VOLUMES", "/certs/client")]).is_empty());
        assert_eq!(sigs(&[("DOCKER_CAP_ADD", "SYS_ADMIN")]), vec!["cap"]);
        assert_eq!(
            sigs(&[("DOCKER_SECURITY_OPT", "seccomp=unconfined")]),
            vec!["unconfined"]
        );
        assert_eq!(
            sigs(&[("RUNNER_ENV", "DOCKER_TLS_CERTDIR=")]),
            vec!["tls-off"]
        );
        assert_eq!(
            sigs(&[("RUNNER_ENV", "DOCKER_HOST=tcp://docker:2375")]),
            vec!["plaintext"]
        );
        assert!(sigs(&[("RUNNER_ENV", "DOCKER_TLS_CERTDIR=/certs")]).is_empty());
    }

    #[test]
    fn templated_config_is_a_note_not_an_error() {
        let sf = SourceFile::new(
            "config.toml.tmpl".to_string(),
            "[[runners]]\n  name = {{ .Name | quote }}\n  [runners.docker]\n{{- if .Priv }}\n    privileged = true\n{{- end }}\n".to_string(),
        );
        let mut diags = Vec::new();
        let ps = lower(&sf, 0, &mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].level, DiagLevel::Note);
        assert!(
            ps.iter()
                .flat_map(|p| &p.signals)
                .any(|s| matches!(s, Signal::RunnerPrivileged(_)))
        );
    }
}
