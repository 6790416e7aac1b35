//! The edit planner the YAML rewriters share (Kubernetes, compose, runner Helm values,
//! Jenkins pod templates): removals that prune emptied parents, scalar replacements, appends in
//! the file's indentation, all turned into non-overlapping byte edits at the end. Also the
//! findings the planner works on ([`Hit`]), positioned in the text being edited.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{Side, yaml_scalar};
use super::yaml_edit::YamlEditor;
use crate::edit::{self, Edit};
use crate::finding::Finding;
use crate::source::yaml::{NodeId, NodeKind, Yaml};

/// A finding with its offset in the text being edited (the file, or a string inside it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit<'f> {
    /// The finding.
    pub f: &'f Finding,
    /// Its first byte in the edited text.
    pub at: usize,
}

/// Findings of `findings` in `text` as hits (offsets unchanged).
pub(crate) fn hits_of<'f>(findings: &[&'f Finding]) -> Vec<Hit<'f>> {
    findings
        .iter()
        .map(|f| Hit {
            f,
            at: f.span.start,
        })
        .collect()
}

/// Planned structural changes to one YAML text, turned into byte edits by [`YamlPlan::finish`].
pub(crate) struct YamlPlan<'a> {
    /// The editor (path, text, tree).
    pub ed: YamlEditor<'a>,
    remove: BTreeSet<NodeId>,
    replace_item: BTreeMap<NodeId, String>,
    replace_entry: BTreeMap<NodeId, String>,
    set: BTreeMap<NodeId, String>,
    append: BTreeMap<NodeId, Vec<String>>,
    prepend: BTreeMap<NodeId, Vec<String>>,
    raw: Vec<Edit>,
    /// Why some planned change could not be expressed (the caller reports it).
    pub failed: Vec<String>,
    /// Columns between a key and the `-` of its block sequence (0 or 2 in practice).
    pub seq_indent: usize,
}

impl<'a> YamlPlan<'a> {
    /// A planner for `text` parsed as `y`.
    pub fn new(path: &'a str, text: &'a str, y: &'a Yaml) -> YamlPlan<'a> {
        let ed = YamlEditor::new(path, text, y);
        let mut p = YamlPlan {
            ed,
            remove: BTreeSet::new(),
            replace_item: BTreeMap::new(),
            replace_entry: BTreeMap::new(),
            set: BTreeMap::new(),
            append: BTreeMap::new(),
            prepend: BTreeMap::new(),
            raw: Vec::new(),
            failed: Vec::new(),
            seq_indent: 2,
        };
        p.seq_indent = p.detect_seq_indent();
        p
    }

    /// The tree.
    pub fn y(&self) -> &'a Yaml {
        self.ed.y
    }

    /// The text.
    pub fn text(&self) -> &'a str {
        self.ed.text
    }

    fn detect_seq_indent(&self) -> usize {
        let y = self.y();
        for id in 0..y.node_count() as NodeId {
            if let NodeKind::Seq { flow: false, items } = &y.node(id).kind
                && let Some(first) = items.first()
                && let Some(p) = y.node(id).parent
                && let Some((k, _)) = y
                    .own_entries(p)
                    .and_then(|es| es.iter().find(|(_, v)| *v == id).copied())
                && let Some(dash) = self.dash_col(*first)
            {
                let kc = self.ed.column(y.span(k).start);
                return dash.saturating_sub(kc);
            }
        }
        2
    }

    /// Start of a node including its anchor and tag.
    fn start(&self, id: NodeId) -> usize {
        let n = self.y().node(id);
        let mut s = n.span.start;
        if let Some(a) = &n.anchor_span {
            s = s.min(a.start);
        }
        if let Some(t) = &n.tag_span {
            s = s.min(t.start);
        }
        s
    }

    /// End of a node without trailing line breaks.
    fn end(&self, id: NodeId) -> usize {
        let text = self.text();
        let mut e = self.y().span(id).end.min(text.len());
        while e > 0 && matches!(text.as_bytes().get(e - 1), Some(b'\n' | b'\r')) {
            e -= 1;
        }
        e.max(self.y().span(id).start.min(text.len()))
    }

    /// Column of the `-` of a block sequence item, when it starts its line.
    fn dash_col(&self, item: NodeId) -> Option<usize> {
        let s = self.start(item);
        let ls = self.ed.line_start(s);
        let prefix = self.text().get(ls..s)?;
        let t = prefix.trim_end();
        let before = t.strip_suffix('-')?;
        if !before.trim().is_empty() {
            return None;
        }
        Some(before.len())
    }

    /// Whether the node (after aliases) is a mapping.
    pub fn is_map(&self, id: NodeId) -> bool {
        matches!(
            self.y().node(self.y().resolve(id)).kind,
            NodeKind::Map { .. }
        )
    }

    /// Whether the node (after aliases) is a block collection we can edit line-wise.
    pub fn is_block(&self, id: NodeId) -> bool {
        !self.ed.is_flow(self.y().resolve(id))
    }

    /// `(key, value)` of `key` in a mapping (merge-aware).
    pub fn entry(&self, map: NodeId, key: &str) -> Option<(NodeId, NodeId)> {
        let y = self.y();
        y.get(y.resolve(map), key).map(|e| (e.key_id, e.value))
    }

    /// The value node of `key` (aliases resolved).
    pub fn value(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.entry(map, key).map(|(_, v)| self.y().resolve(v))
    }

    /// The scalar text of `key`.
    pub fn text_of(&self, map: NodeId, key: &str) -> Option<String> {
        self.value(map, key)
            .and_then(|v| self.y().str(v))
            .map(str::to_string)
    }

    /// Items of a sequence (aliases resolved for the sequence, not the items).
    pub fn items(&self, id: NodeId) -> Vec<NodeId> {
        let y = self.y();
        y.seq(y.resolve(id))
            .map(<[NodeId]>::to_vec)
            .unwrap_or_default()
    }

    /// Effective entries of a mapping: (key text, key node, value node).
    pub fn entries(&self, id: NodeId) -> Vec<(String, NodeId, NodeId)> {
        let y = self.y();
        y.entries(y.resolve(id))
            .map(|v| v.into_iter().map(|e| (e.key, e.key_id, e.value)).collect())
            .unwrap_or_default()
    }

    /// A boolean-ish true (`true`, `yes`, `"true"`).
    pub fn truthy(&self, id: NodeId) -> bool {
        let y = self.y();
        y.as_bool(id).unwrap_or_else(|| {
            y.str(id)
                .is_some_and(|s| matches!(s.trim(), "true" | "True" | "TRUE"))
        })
    }

    /// Remove a sequence item or a mapping key's entry (`slot` is the item or the key node).
    pub fn remove(&mut self, slot: NodeId) {
        self.remove.insert(slot);
    }

    /// Remove `key` from a mapping, if present; returns whether it was.
    #[cfg(test)]
    pub fn remove_key(&mut self, map: NodeId, key: &str) -> bool {
        match self.entry(map, key) {
            Some((k, _)) => {
                self.remove.insert(k);
                true
            }
            None => false,
        }
    }

    /// Replace a scalar by `text` (written as is).
    pub fn set_scalar(&mut self, value: NodeId, text: impl Into<String>) {
        self.set.insert(value, text.into());
    }

    /// Replace a whole `key: value` entry (one line) by `text`.
    pub fn replace_entry(&mut self, key: NodeId, text: impl Into<String>) {
        self.replace_entry.insert(key, text.into());
    }

    /// Replace a sequence item by a fragment written at column 0 (starting with `- `).
    pub fn replace_item(&mut self, item: NodeId, fragment: impl Into<String>) {
        self.replace_item.insert(item, fragment.into());
    }

    /// Append a fragment (entries, or `- ` items) to a collection.
    pub fn append(&mut self, coll: NodeId, fragment: impl Into<String>) {
        // Several pipelines planned on one file add a shared entry (a daemon service, a
        // volume) once.
        let fragment = fragment.into();
        let list = self.append.entry(coll).or_default();
        if !list.contains(&fragment) {
            list.push(fragment);
        }
    }

    /// Insert entries before the first entry of a block mapping.
    pub fn prepend(&mut self, map: NodeId, fragment: impl Into<String>) {
        self.prepend.entry(map).or_default().push(fragment.into());
    }

    /// A raw edit.
    pub fn raw(&mut self, e: Edit) {
        self.raw.push(e);
    }

    /// Make `key: text` hold in `map`: replace a different scalar, else add it (first when
    /// `first`, else last).
    pub fn ensure(&mut self, map: NodeId, key: &str, text: &str, first: bool) {
        let y = self.y();
        match self.entry(map, key) {
            Some((_, v)) => {
                let r = y.resolve(v);
                let same = y.str(r).is_some_and(|s| {
                    s == text || yaml_scalar(s) == text || (text == "false" && s == "false")
                });
                if !same && matches!(y.node(r).kind, NodeKind::Scalar(_)) {
                    self.set_scalar(v, text);
                }
            }
            None if first => self.prepend(map, format!("{key}: {text}")),
            None => self.append(map, format!("{key}: {text}")),
        }
    }

    /// Append block-sequence items to `key` of `map`, creating the key when absent.
    pub fn append_items(&mut self, map: NodeId, key: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        match self.entry(map, key) {
            Some((k, v)) => {
                let r = self.y().resolve(v);
                if self.y().seq(r).is_some() {
                    for i in items {
                        self.append(r, i.clone());
                    }
                } else if self.y().is_null(r) {
                    let body = self.ed.indent(&items.join("\n"), self.seq_indent + 2);
                    let frag = format!("{key}:{}{}", self.ed.nl(), body.trim_end());
                    self.replace_entry(k, frag);
                } else {
                    self.failed
                        .push(format!("`{key}` is not a list: cannot add to it"));
                }
            }
            None => {
                let body = self.ed.indent(&items.join("\n"), self.seq_indent);
                self.append(map, format!("{key}:\n{}", body.trim_end()));
            }
        }
    }

    fn slots(&self, coll: NodeId) -> Vec<NodeId> {
        match &self.y().node(coll).kind {
            NodeKind::Map { entries, .. } => entries.iter().map(|(k, _)| *k).collect(),
            NodeKind::Seq { items, .. } => items.clone(),
            _ => Vec::new(),
        }
    }

    fn key_of(&self, map: NodeId, value: NodeId) -> Option<NodeId> {
        self.y()
            .own_entries(map)
            .and_then(|es| es.iter().find(|(_, v)| *v == value).map(|(k, _)| *k))
    }

    fn value_of_key(&self, key: NodeId) -> Option<NodeId> {
        let p = self.y().node(key).parent?;
        self.y()
            .own_entries(p)
            .and_then(|es| es.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
    }

    /// Number of ancestors of a node (bounded).
    fn depth(&self, n: NodeId) -> usize {
        let mut d = 0;
        let mut cur = self.y().node(n).parent;
        while let Some(c) = cur {
            d += 1;
            if d > 1024 {
                break;
            }
            cur = self.y().node(c).parent;
        }
        d
    }

    /// Whether `n` sits inside (or is) a removed slot.
    fn dead(&self, gone: &BTreeSet<NodeId>, n: NodeId) -> bool {
        let y = self.y();
        let mut cur = Some(n);
        let mut steps = 0;
        while let Some(c) = cur {
            steps += 1;
            if steps > 1024 {
                return false;
            }
            if gone.contains(&c) {
                return true;
            }
            if let Some(p) = y.node(c).parent
                && self.key_of(p, c).is_some_and(|k| gone.contains(&k))
            {
                return true;
            }
            cur = y.node(c).parent;
        }
        false
    }

    /// The planned edits, or — when some change could not be expressed — none, with one
    /// manual task per reason (`what` names the thing, e.g. "this file", "the pod template").
    pub fn finish_or_report(&mut self, what: &str, location: &str, side: &mut Side) -> Vec<Edit> {
        let planned = self.finish();
        if self.failed.is_empty() {
            return planned;
        }
        for why in &self.failed {
            side.task(
                format!("depriv could not rewrite {what}: {why}"),
                location,
                String::new(),
                "",
            );
        }
        Vec::new()
    }

    /// The byte edits. Overlapping plans are reported in `failed` and yield no edits.
    pub fn finish(&mut self) -> Vec<Edit> {
        let y = self.y();
        let text = self.text();
        // Prune: a collection whose every slot goes (and gets nothing new) goes itself.
        let mut gone = self.remove.clone();
        for _ in 0..64 {
            let parents: BTreeSet<NodeId> = gone.iter().filter_map(|s| y.node(*s).parent).collect();
            let mut add = Vec::new();
            for c in parents {
                if self.append.contains_key(&c)
                    || self.prepend.contains_key(&c)
                    || y.node(c).anchor.is_some()
                {
                    continue;
                }
                let slots = self.slots(c);
                if slots.is_empty() || !slots.iter().all(|s| gone.contains(s)) {
                    continue;
                }
                let Some(p) = y.node(c).parent else { continue };
                let slot = match &y.node(p).kind {
                    NodeKind::Map { .. } => self.key_of(p, c),
                    NodeKind::Seq { .. } => Some(c),
                    _ => None,
                };
                if let Some(s) = slot
                    && !gone.contains(&s)
                {
                    add.push(s);
                }
            }
            if add.is_empty() {
                break;
            }
            gone.extend(add);
        }
        let mut edits: Vec<Edit> = Vec::new();
        let mut flow: BTreeSet<NodeId> = BTreeSet::new();
        let mut covered: BTreeSet<NodeId> = BTreeSet::new();
        // Removals.
        for &s in &gone {
            if covered.contains(&s) {
                continue;
            }
            let Some(p) = y.node(s).parent else { continue };
            if self.dead(&gone, p) {
                continue;
            }
            if self.ed.is_flow(p) {
                flow.insert(p);
                continue;
            }
            match &y.node(p).kind {
                NodeKind::Map { entries, .. } => {
                    let Some(v) = self.value_of_key(s) else {
                        continue;
                    };
                    let ks = self.start(s);
                    let ls = self.ed.line_start(ks);
                    let on_dash = !text.get(ls..ks).unwrap_or("").trim().is_empty();
                    if on_dash {
                        // First entry of a `- key: v` item: delete up to the next kept key.
                        let pos = entries.iter().position(|(k, _)| *k == s).unwrap_or(0);
                        let next = entries
                            .iter()
                            .skip(pos + 1)
                            .find(|(k, _)| !gone.contains(k));
                        for (k, _) in entries.iter().skip(pos + 1) {
                            if Some(k) == next.map(|(k, _)| k) {
                                break;
                            }
                            covered.insert(*k);
                        }
                        match next {
                            Some((nk, _)) => {
                                edits.push(Edit::delete(self.ed.path, ks, self.start(*nk)))
                            }
                            None => {
                                let last = entries.last().map(|(_, v)| *v).unwrap_or(v);
                                edits.push(Edit::replace(self.ed.path, ks, self.end(last), "{}"));
                            }
                        }
                    } else {
                        edits.push(self.ed.remove_entry(p, s, v));
                    }
                }
                NodeKind::Seq { .. } => edits.push(self.ed.remove_item(p, s)),
                _ => {}
            }
        }
        // Item replacements.
        for (item, frag) in &self.replace_item {
            if gone.contains(item) {
                continue;
            }
            let Some(p) = y.node(*item).parent else {
                continue;
            };
            if self.dead(&gone, p) {
                continue;
            }
            if self.ed.is_flow(p) {
                flow.insert(p);
                continue;
            }
            match self.dash_col(*item) {
                Some(col) => {
                    let s = self.ed.line_start(self.start(*item));
                    let e = self
                        .ed
                        .line_end_incl(self.end(*item).saturating_sub(1).max(s));
                    let mut t = self.ed.indent(frag, col);
                    if e == text.len() && !text.ends_with('\n') {
                        t.truncate(t.trim_end_matches(['\r', '\n']).len());
                    }
                    edits.push(Edit::replace(self.ed.path, s, e, t));
                }
                None => self
                    .failed
                    .push("a list item does not start its line".into()),
            }
        }
        // Appends; inner collections first, so an insert into a mapping that ends where its
        // parent list ends lands before the parent's new item.
        let mut order: Vec<(usize, NodeId)> =
            self.append.keys().map(|c| (self.depth(*c), *c)).collect();
        order.sort_by(|a, b| b.cmp(a));
        for (_, coll) in order {
            let Some(frags) = self.append.get(&coll) else {
                continue;
            };
            let coll = &coll;
            if self.dead(&gone, *coll) {
                continue;
            }
            if self.ed.is_flow(*coll) {
                flow.insert(*coll);
                continue;
            }
            let joined = frags.join("\n");
            match &y.node(*coll).kind {
                NodeKind::Map { entries, .. } if !entries.is_empty() => {
                    edits.push(self.ed.append_to_map(*coll, &joined));
                }
                NodeKind::Seq { items, .. } if !items.is_empty() => {
                    let Some(col) = items.first().and_then(|i| self.dash_col(*i)) else {
                        self.failed
                            .push("a list item does not start its line".into());
                        continue;
                    };
                    let end = self.end(*coll);
                    let at = self.ed.line_end_incl(end.saturating_sub(1));
                    let mut t = String::new();
                    if at == text.len() && !text.ends_with('\n') {
                        t.push_str(self.ed.nl());
                    }
                    t.push_str(&self.ed.indent(&joined, col));
                    edits.push(Edit::insert(self.ed.path, at, t));
                }
                _ => self
                    .failed
                    .push("cannot add to an empty or scalar node".into()),
            }
        }
        // Prepends.
        for (map, frags) in &self.prepend {
            if self.dead(&gone, *map) {
                continue;
            }
            let joined = frags.join("\n");
            let first = self.y().own_entries(*map).and_then(|e| e.first().copied());
            match first {
                Some((k, _)) if !self.ed.is_flow(*map) => {
                    let ks = self.start(k);
                    let ls = self.ed.line_start(ks);
                    if text.get(ls..ks).unwrap_or("x").trim().is_empty() {
                        let col = ks - ls;
                        edits.push(Edit::insert(self.ed.path, ls, self.ed.indent(&joined, col)));
                    } else {
                        edits.push(self.ed.append_to_map(*map, &joined));
                    }
                }
                _ => self
                    .failed
                    .push("cannot add to a flow or empty mapping".into()),
            }
        }
        // Whole-entry and scalar replacements.
        for (k, t) in &self.replace_entry {
            if self.dead(&gone, *k) {
                continue;
            }
            let Some(p) = y.node(*k).parent else { continue };
            if self.ed.is_flow(p) {
                flow.insert(p);
                continue;
            }
            let Some(v) = self.value_of_key(*k) else {
                continue;
            };
            let end = self.end(v).max(y.span(*k).end);
            edits.push(Edit::replace(self.ed.path, self.start(*k), end, t.clone()));
        }
        for (v, t) in &self.set {
            if self.dead(&gone, *v) {
                continue;
            }
            let n = y.node(*v);
            edits.push(Edit::replace(
                self.ed.path,
                n.span.start,
                self.end(*v),
                t.clone(),
            ));
        }
        // Flow collections are rebuilt whole.
        let mut rebuilt: Vec<std::ops::Range<usize>> = Vec::new();
        for c in &flow {
            if self.dead(&gone, *c) {
                continue;
            }
            if let Some(e) = self.rebuild_flow(*c, &gone) {
                rebuilt.push(e.start..e.end);
                edits.push(e);
            }
        }
        if !rebuilt.is_empty() {
            let before = edits.len();
            edits.retain(|e| {
                !rebuilt.iter().any(|r| {
                    e.start >= r.start && e.end <= r.end && !(e.start == r.start && e.end == r.end)
                })
            });
            if edits.len() != before {
                self.failed
                    .push("a change inside a flow collection was not expressed".into());
            }
        }
        edits.extend(self.raw.iter().cloned());
        match edit::normalise(edits) {
            Ok(e) => e,
            Err(e) => {
                self.failed.push(format!("planned edits overlap ({e})"));
                Vec::new()
            }
        }
    }

    fn rebuild_flow(&mut self, c: NodeId, gone: &BTreeSet<NodeId>) -> Option<Edit> {
        let y = self.y();
        let text = self.text();
        let mut parts: Vec<String> = Vec::new();
        let seq = match &y.node(c).kind {
            NodeKind::Seq { items, .. } => {
                for it in items {
                    if gone.contains(it) {
                        continue;
                    }
                    if let Some(r) = self.replace_item.get(it) {
                        parts.push(flow_part(r)?);
                    } else if let Some(t) = self.set.get(it) {
                        parts.push(t.clone());
                    } else {
                        parts.push(text.get(self.start(*it)..self.end(*it))?.to_string());
                    }
                }
                true
            }
            NodeKind::Map { entries, .. } => {
                for (k, v) in entries {
                    if gone.contains(k) {
                        continue;
                    }
                    if let Some(r) = self.replace_entry.get(k) {
                        parts.push(r.clone());
                    } else {
                        parts.push(text.get(self.start(*k)..self.end(*v))?.to_string());
                    }
                }
                false
            }
            _ => return None,
        };
        for f in self.append.get(&c).cloned().unwrap_or_default() {
            match flow_part(&f) {
                Some(p) => parts.push(p),
                None => {
                    self.failed
                        .push("cannot add a multi-line value to a flow collection".into());
                    return None;
                }
            }
        }
        let (o, cl) = if seq { ("[", "]") } else { ("{", "}") };
        let span = y.span(c);
        Some(Edit::replace(
            self.ed.path,
            span.start,
            span.end,
            format!("{o}{}{cl}", parts.join(", ")),
        ))
    }
}

/// A one-line fragment as a flow element (`- x` → `x`).
fn flow_part(frag: &str) -> Option<String> {
    let f = frag.trim();
    if f.contains('\n') {
        return None;
    }
    Some(f.strip_prefix("- ").unwrap_or(f).to_string())
}
