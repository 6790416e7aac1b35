//! Helpers shared by the YAML surfaces: located scalars, string lists, environment maps and
//! embedded shell scripts mapped back to source offsets; locations of embedded texts mapped
//! back into their file ([`absorb`]); a tolerant reading of Go-templated YAML
//! ([`parse_templated`]).

use std::collections::BTreeSet;

use crate::model::{DockerUse, LocFact, Pipeline, Signal, Val};
use crate::source::docker_cmd::{self, ScriptAnalysis};
use crate::source::yaml::{NodeId, NodeKind, Yaml};
use crate::source::{FileId, Loc, Span};

/// A YAML document with the file it came from.
#[derive(Clone, Copy)]
pub struct Doc<'a> {
    /// The tree.
    pub y: &'a Yaml,
    /// The file id.
    pub file: FileId,
}

impl<'a> Doc<'a> {
    /// Location of a node.
    pub fn loc(&self, id: NodeId) -> Loc {
        let r = self.y.span(id);
        Loc::new(self.file, Span::new(r.start, r.end))
    }

    /// Effective `key` of a mapping node.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.y.get(map, key).map(|e| e.value)
    }

    /// A scalar value with its location (numbers and booleans as written).
    pub fn sval(&self, id: NodeId) -> Option<Val<String>> {
        let r = self.y.resolve(id);
        let s = self.y.str(r)?;
        Some(Val::new(s.to_string(), self.loc(id)))
    }

    /// A scalar value of `key` in `map`.
    pub fn sget(&self, map: NodeId, key: &str) -> Option<Val<String>> {
        self.get(map, key).and_then(|v| self.sval(v))
    }

    /// Whether the node is a mapping.
    pub fn is_map(&self, id: NodeId) -> bool {
        matches!(self.y.node(self.y.resolve(id)).kind, NodeKind::Map { .. })
    }

    /// Effective entries of a mapping (merge keys resolved); empty for other nodes.
    pub fn entries(&self, id: NodeId) -> Vec<(String, NodeId, NodeId)> {
        let r = self.y.resolve(id);
        if !matches!(self.y.node(r).kind, NodeKind::Map { .. }) {
            return Vec::new();
        }
        self.y
            .entries(r)
            .map(|v| v.into_iter().map(|e| (e.key, e.key_id, e.value)).collect())
            .unwrap_or_default()
    }

    /// Items of a sequence, or the node itself when it is a scalar.
    pub fn items(&self, id: NodeId) -> Vec<NodeId> {
        let r = self.y.resolve(id);
        match self.y.seq(r) {
            Some(items) => items.to_vec(),
            None if self.y.str(r).is_some() && !self.y.is_null(r) => vec![id],
            None => Vec::new(),
        }
    }

    /// Scalars of a sequence (or a single scalar).
    pub fn str_list(&self, id: NodeId) -> Vec<Val<String>> {
        self.items(id)
            .into_iter()
            .filter_map(|i| self.sval(i))
            .collect()
    }

    /// A boolean (`true`, `"true"`).
    pub fn bool_val(&self, id: NodeId) -> Option<Val<bool>> {
        let r = self.y.resolve(id);
        let b = self.y.as_bool(r).or_else(|| match self.y.str(r)?.trim() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        })?;
        Some(Val::new(b, self.loc(id)))
    }

    /// Environment as a map (`K: V`, `K: {value: V}`) or a list (`K=V`).
    pub fn env(&self, id: NodeId) -> Vec<(String, Val<String>)> {
        let r = self.y.resolve(id);
        let mut out = Vec::new();
        if self.is_map(r) {
            for (k, _, v) in self.entries(r) {
                let vr = self.y.resolve(v);
                if self.y.is_null(vr) {
                    continue;
                }
                if self.is_map(vr) {
                    if let Some(val) = self.sget(vr, "value") {
                        out.push((k, val));
                    }
                    continue;
                }
                if let Some(val) = self.sval(v) {
                    out.push((k, val));
                }
            }
        } else {
            for item in self.items(r) {
                if let Some(s) = self.sval(item) {
                    let (k, v) = s.v.split_once('=').unwrap_or((s.v.as_str(), ""));
                    if !s.v.contains('=') {
                        continue;
                    }
                    // Point at the value part when it is on the same line.
                    let loc = s.loc;
                    out.push((k.trim().to_string(), Val::new(v.to_string(), loc)));
                }
            }
        }
        out
    }

    /// Analyse a scalar as shell and map every fact back into the file.
    pub fn script(
        &self,
        id: NodeId,
        facts: &mut Vec<LocFact>,
        usage: &mut BTreeSet<DockerUse>,
    ) -> Option<ScriptAnalysis> {
        let r = self.y.resolve(id);
        let text = self.y.str(r)?;
        let a = docker_cmd::analyze_script(text);
        for f in &a.facts {
            let s = self.y.scalar_src_offset(r, f.span.start);
            let e = self
                .y
                .scalar_src_offset(r, f.span.end.max(f.span.start + 1) - 1)
                + 1;
            facts.push(LocFact {
                fact: f.clone(),
                loc: Loc::new(self.file, Span::new(s, e.max(s))),
            });
        }
        for (u, _) in &a.usage {
            usage.insert((*u).into());
        }
        Some(a)
    }

    /// Analyse a scalar as bare `docker run` options (`options: --privileged`).
    pub fn run_args(&self, id: NodeId, image: Option<&str>) -> Vec<LocFact> {
        let r = self.y.resolve(id);
        let Some(text) = self.y.str(r) else {
            return Vec::new();
        };
        docker_cmd::analyze_run_args(text, image)
            .into_iter()
            .map(|f| {
                let s = self.y.scalar_src_offset(r, f.span.start);
                let e = self
                    .y
                    .scalar_src_offset(r, f.span.end.max(f.span.start + 1) - 1)
                    + 1;
                LocFact {
                    loc: Loc::new(self.file, Span::new(s, e.max(s))),
                    fact: f,
                }
            })
            .collect()
    }

    /// Shell lines of a `script:`-like node: a string, or a (nested) list of strings.
    pub fn script_items(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![(id, 0usize)];
        while let Some((n, depth)) = stack.pop() {
            if depth > 16 || out.len() > 100_000 {
                break;
            }
            let r = self.y.resolve(n);
            match self.y.seq(r) {
                Some(items) => {
                    for i in items.iter().rev() {
                        stack.push((*i, depth + 1));
                    }
                }
                None => {
                    if self.y.str(r).is_some() {
                        out.push(n);
                    }
                }
            }
        }
        out
    }
}

/// Move what was found in an embedded text (a YAML string inside YAML, such as Argo CD
/// `helm.values` or a Kustomize `patch`) into `p`, mapping every location with `map`.
pub fn absorb(inner: Pipeline, map: &dyn Fn(Loc) -> Loc, p: &mut Pipeline) {
    fn val<T>(v: &mut Val<T>, map: &dyn Fn(Loc) -> Loc) {
        v.loc = map(v.loc);
    }
    for mut c in inner.containers {
        for v in [&mut c.image, &mut c.runtime].into_iter().flatten() {
            val(v, map);
        }
        if let Some(v) = c.privileged.as_mut() {
            val(v, map);
        }
        for list in [
            &mut c.volumes,
            &mut c.host_paths,
            &mut c.cap_add,
            &mut c.security_opt,
            &mut c.ports,
            &mut c.command,
        ] {
            for v in list.iter_mut() {
                val(v, map);
            }
        }
        for (_, v) in c.env.iter_mut() {
            val(v, map);
        }
        for f in c.facts.iter_mut() {
            f.loc = map(f.loc);
        }
        p.containers.push(c);
    }
    for s in inner.signals {
        p.signals.push(match s {
            Signal::RunnerPrivileged(l) => Signal::RunnerPrivileged(map(l)),
            Signal::PlaintextDaemon(l) => Signal::PlaintextDaemon(map(l)),
            Signal::TlsDisabled(l) => Signal::TlsDisabled(map(l)),
            Signal::SocketMount(l) => Signal::SocketMount(map(l)),
            Signal::RunnerSocketMount(l) => Signal::RunnerSocketMount(map(l)),
            Signal::PrivilegedContainer(l) => Signal::PrivilegedContainer(map(l)),
            Signal::PrivilegedDind(l) => Signal::PrivilegedDind(map(l)),
            Signal::CapAdd(mut v) => {
                val(&mut v, map);
                Signal::CapAdd(v)
            }
            Signal::Unconfined(mut v) => {
                val(&mut v, map);
                Signal::Unconfined(v)
            }
        });
    }
    for mut f in inner.script_facts {
        f.loc = map(f.loc);
        p.script_facts.push(f);
    }
    for (k, mut v) in inner.env {
        val(&mut v, map);
        p.env.push((k, v));
    }
    p.usage.extend(inner.usage);
}

/// Parse a templated YAML text (Helm templates, `*.yaml.tpl`, `*.yaml.gotmpl`, values files
/// with `{{ … }}`, Terraform `%{ … }` directives) tolerantly: every template action is blanked out (a line holding only
/// actions becomes blank, an action inside a line becomes `_` characters of the same byte
/// length), and lines that still do not parse are blanked one at a time. Byte offsets are
/// those of the original text. Returns the tree and the byte offsets of the lines that were
/// dropped, or `None` when no readable tree is left.
pub fn parse_templated(text: &str) -> Option<(Yaml, Vec<usize>)> {
    const MAX_RETRIES: usize = 64;
    let mut buf = blank_template_actions(text);
    let mut dropped = Vec::new();
    loop {
        let s = std::str::from_utf8(&buf).ok()?;
        match Yaml::parse(s) {
            Ok(y) => {
                dropped.sort_unstable();
                return Some((y, dropped));
            }
            Err(e) => {
                if dropped.len() >= MAX_RETRIES || text.len() > 256 * 1024 {
                    return None;
                }
                dropped.push(blank_line_at(&mut buf, e.offset)?);
            }
        }
    }
}

/// Replace `{{ … }}` actions by same-length filler (see [`parse_templated`]). The result is
/// valid UTF-8 with the same byte length as `text`; newlines stay where they were.
fn blank_template_actions(text: &str) -> Vec<u8> {
    let mut out = text.as_bytes().to_vec();
    let bytes = text.as_bytes();
    let mut i = 0usize;
    while let Some((start, open)) = next_action(text, i) {
        let close = if open == "{{" { "}}" } else { "}" };
        let end = text
            .get(start + open.len()..)
            .and_then(|t| t.find(close))
            .map(|e| start + open.len() + e + close.len())
            .unwrap_or(text.len());
        // Alone on its line(s)? Then blank; inside a line, a placeholder scalar.
        let line_start = text
            .get(..start)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |p| p + 1);
        let line_end = text
            .get(end..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |p| end + p);
        let alone = text
            .get(line_start..start)
            .is_some_and(|b| b.trim().is_empty())
            && text.get(end..line_end).is_some_and(|a| {
                // Further actions on the same line count as "alone" too.
                let mut rest = a.trim();
                while let Some((0, o)) = next_action(rest, 0) {
                    let c = if o == "{{" { "}}" } else { "}" };
                    rest = rest
                        .get(o.len()..)
                        .and_then(|r| r.find(c).and_then(|e| r.get(e + c.len()..)))
                        .unwrap_or("")
                        .trim();
                }
                rest.is_empty()
            });
        let fill = if alone { b' ' } else { b'_' };
        for (k, b) in bytes.iter().enumerate().take(end).skip(start) {
            if let Some(o) = out.get_mut(k) {
                // Newlines stay; continuation bytes of multi-byte characters become filler
                // too, so every byte is ASCII and the length is kept.
                *o = if *b == b'\n' || *b == b'\r' { *b } else { fill };
            }
        }
        i = end.max(start + open.len());
    }
    out
}

/// The next template action at or after `from`: Go `{{ … }}` or a Terraform template
/// directive `%{ … }` (`*.yaml.tpl` rendered by `templatefile`).
fn next_action(text: &str, from: usize) -> Option<(usize, &'static str)> {
    let rest = text.get(from..)?;
    let go = rest.find("{{").map(|p| (from + p, "{{"));
    let tf = rest.find("%{").map(|p| (from + p, "%{"));
    match (go, tf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Blank the line holding byte `offset` (or, when it is blank already, the nearest non-blank
/// line before it). Returns where that line starts, or `None` when nothing was left to blank.
fn blank_line_at(buf: &mut [u8], offset: usize) -> Option<usize> {
    let mut at = offset.min(buf.len().saturating_sub(1));
    loop {
        let start = buf
            .get(..at)
            .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
            .map_or(0, |p| p + 1);
        let end = buf
            .get(at..)
            .and_then(|b| b.iter().position(|&c| c == b'\n'))
            .map_or(buf.len(), |p| at + p);
        let line = buf.get_mut(start..end).unwrap_or_default();
        if line.iter().any(|c| !c.is_ascii_whitespace()) {
            // Keep it valid UTF-8: a multi-byte character becomes spaces byte by byte.
            for c in line.iter_mut() {
                if *c != b'\r' {
                    *c = b' ';
                }
            }
            return Some(start);
        }
        if start == 0 {
            return None;
        }
        at = start - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_actions_keep_byte_offsets() {
        let t = "a: {{ .Values.ü }}\n{{- if .x }}\nb:\n  c: \"{{ .y }}-z\"\n{{- end }}\n";
        let blanked = blank_template_actions(t);
        assert_eq!(blanked.len(), t.len());
        let s = String::from_utf8(blanked).expect("utf-8");
        // `ü` is two bytes: two `_`.
        assert_eq!(
            s,
            "a: ________________\n            \nb:\n  c: \"________-z\"\n          \n"
        );
        let (y, dropped) = parse_templated(t).expect("parses");
        assert!(dropped.is_empty());
        let d = Doc { y: &y, file: 0 };
        let root = y.documents()[0];
        let b = d.get(root, "b").expect("b");
        let c = d.sget(b, "c").expect("c");
        assert_eq!(
            t.get(c.loc.span.start..c.loc.span.end),
            Some("\"{{ .y }}-z\"")
        );
    }

    #[test]
    fn terraform_directives_are_actions_too() {
        let t = "containers:\n%{ for c in names ~}\n  - name: ${c}\n    securityContext:\n      privileged: true\n%{ endfor ~}\n";
        let (y, dropped) = parse_templated(t).expect("parses");
        assert!(dropped.is_empty());
        let d = Doc { y: &y, file: 0 };
        let root = y.documents()[0];
        let items = d.items(d.get(root, "containers").expect("containers"));
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn lines_that_still_break_are_dropped() {
        // `labels:` gets an inline include and then an indented block: not YAML until the
        // line holding the action goes.
        let t = "kind: Pod\nmetadata:\n  labels: {{ include \"x\" . }}\n    app: x\nspec:\n  containers:\n    - name: a\n      securityContext:\n        privileged: true\n";
        let (y, dropped) = parse_templated(t).expect("parses");
        // The parser stops at the indented block after the placeholder: that line goes,
        // nothing else.
        assert_eq!(dropped, vec![t.find("    app").expect("app")]);
        let d = Doc { y: &y, file: 0 };
        let root = y.documents()[0];
        assert!(d.get(root, "spec").is_some());
    }
}
