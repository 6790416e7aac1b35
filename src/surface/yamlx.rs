//! Helpers shared by the YAML surfaces: located scalars, string lists, environment maps and
//! embedded shell scripts mapped back to source offsets.

use std::collections::BTreeSet;

use crate::model::{DockerUse, LocFact, Val};
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
