//! Structural edits on YAML text, located with the span tree and applied as byte ranges:
//! replace a value, remove an entry or a list item, append entries to a mapping. Inserted text
//! takes the indentation of its siblings and the file's line ending; nothing else moves.
//!
//! Offsets here are often derived (`end - 1`, the end of a line), so they may fall inside a
//! multi-byte character: every lookup goes through [`crate::source::text`], and every edit
//! starts and ends on a character boundary.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

use std::ops::Range;

use crate::edit::Edit;
use crate::source::text;
use crate::source::yaml::{NodeId, NodeKind, Yaml};

/// Edits for one YAML file.
pub struct YamlEditor<'a> {
    /// Root-relative path.
    pub path: &'a str,
    /// Original text.
    pub text: &'a str,
    /// Its tree.
    pub y: &'a Yaml,
    nl: &'static str,
}

impl<'a> YamlEditor<'a> {
    /// An editor for `text` parsed as `y`.
    pub fn new(path: &'a str, text: &'a str, y: &'a Yaml) -> YamlEditor<'a> {
        // The first line's ending is the file's (looking further would cost a pass over the
        // whole text for every editor made).
        let nl = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes().get(i - 1) == Some(&b'\r') => "\r\n",
            _ => "\n",
        };
        YamlEditor { path, text, y, nl }
    }

    /// The file's line ending.
    pub fn nl(&self) -> &'static str {
        self.nl
    }

    /// Start of the line containing `off`.
    pub fn line_start(&self, off: usize) -> usize {
        text::before(self.text, off)
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0)
    }

    /// Just past the line break of the line containing `off` (or the end of the text).
    pub fn line_end_incl(&self, off: usize) -> usize {
        let off = text::ceil(self.text, off);
        text::after(self.text, off)
            .find('\n')
            .map(|i| off + i + 1)
            .unwrap_or(self.text.len())
    }

    /// Column (in bytes) of `off` within its line.
    pub fn column(&self, off: usize) -> usize {
        off.saturating_sub(self.line_start(off))
    }

    /// The deepest node whose span contains `offset` (ties: the later, i.e. inner, node).
    pub fn node_at(&self, offset: usize) -> Option<NodeId> {
        let mut best: Option<(NodeId, usize)> = None;
        for id in 0..self.y.node_count() as NodeId {
            let r = self.y.span(id);
            if r.start <= offset && offset < r.end.max(r.start + 1) {
                let len = r.end - r.start;
                if best.is_none_or(|(_, l)| len <= l) {
                    best = Some((id, len));
                }
            }
        }
        best.map(|(id, _)| id)
    }

    /// The mapping entry `(map, key, value)` that holds `node` as its key or value.
    pub fn entry_of(&self, node: NodeId) -> Option<(NodeId, NodeId, NodeId)> {
        let parent = self.y.node(node).parent?;
        let entries = self.y.own_entries(parent)?;
        entries
            .iter()
            .find(|(k, v)| *k == node || *v == node)
            .map(|(k, v)| (parent, *k, *v))
    }

    /// The nearest ancestor mapping entry whose key is `key`, starting at `node`.
    pub fn ancestor_entry(&self, node: NodeId, key: &str) -> Option<(NodeId, NodeId, NodeId)> {
        let mut cur = Some(node);
        let mut steps = 0;
        while let Some(n) = cur {
            steps += 1;
            if steps > 512 {
                return None;
            }
            if let Some((m, k, v)) = self.entry_of(n)
                && self.y.str(k) == Some(key)
            {
                return Some((m, k, v));
            }
            cur = self.y.node(n).parent;
        }
        None
    }

    /// Whether the node is a flow collection.
    pub fn is_flow(&self, id: NodeId) -> bool {
        matches!(
            self.y.node(id).kind,
            NodeKind::Map { flow: true, .. } | NodeKind::Seq { flow: true, .. }
        )
    }

    /// End of a node including a trailing comment on its last line, excluding the line break.
    fn node_end(&self, id: NodeId) -> usize {
        let end = self.y.span(id).end;
        // Block scalars end after their content; step back over trailing line breaks.
        let mut e = text::floor(self.text, end);
        while e > 0 && matches!(self.text.as_bytes().get(e - 1), Some(b'\n' | b'\r')) {
            e -= 1;
        }
        e
    }

    /// Replace a node (usually a scalar value) by `text`.
    pub fn replace_node(&self, id: NodeId, text: &str) -> Edit {
        let r = self.y.span(id);
        Edit::replace(self.path, r.start, self.node_end(id).max(r.start), text)
    }

    /// The full lines an entry of a block mapping occupies (key line through the value's last
    /// line, line break included).
    pub fn entry_lines(&self, key: NodeId, value: NodeId) -> Range<usize> {
        let start = self.line_start(self.y.span(key).start);
        let vend = self.node_end(value).max(self.y.span(key).end);
        start..self.line_end_incl(vend.saturating_sub(1).max(start))
    }

    /// Remove an entry of a mapping.
    pub fn remove_entry(&self, map: NodeId, key: NodeId, value: NodeId) -> Edit {
        if self.is_flow(map) {
            let r = self.y.span(key).start..self.node_end(value);
            return self.remove_flow_element(r);
        }
        let r = self.entry_lines(key, value);
        Edit::delete(self.path, r.start, r.end)
    }

    /// Remove an item of a sequence.
    pub fn remove_item(&self, seq: NodeId, item: NodeId) -> Edit {
        if self.is_flow(seq) {
            let r = self.y.span(item).start..self.node_end(item);
            return self.remove_flow_element(r);
        }
        // Block item: from the line of its `-` through its last line.
        let start = self.line_start(self.y.span(item).start);
        let end = self.line_end_incl(self.node_end(item).saturating_sub(1).max(start));
        Edit::delete(self.path, start, end)
    }

    fn remove_flow_element(&self, r: Range<usize>) -> Edit {
        let bytes = self.text.as_bytes();
        // Prefer eating the following comma and spaces; else the preceding ones.
        let mut end = r.end;
        while matches!(bytes.get(end), Some(b' ' | b'\t')) {
            end += 1;
        }
        if bytes.get(end) == Some(&b',') {
            end += 1;
            while matches!(bytes.get(end), Some(b' ' | b'\t')) {
                end += 1;
            }
            return Edit::delete(self.path, r.start, end);
        }
        let mut start = r.start;
        while start > 0 && matches!(bytes.get(start - 1), Some(b' ' | b'\t')) {
            start -= 1;
        }
        if start > 0 && bytes.get(start - 1) == Some(&b',') {
            start -= 1;
        }
        Edit::delete(self.path, start, r.end)
    }

    /// Indent a YAML fragment (written at column 0) by `cols` spaces, with the file's line
    /// endings; ends with a line break.
    pub fn indent(&self, fragment: &str, cols: usize) -> String {
        let pad = " ".repeat(cols);
        let mut out = String::new();
        for line in fragment.trim_end_matches('\n').split('\n') {
            if line.trim().is_empty() {
                out.push_str(self.nl);
                continue;
            }
            out.push_str(&pad);
            out.push_str(line.trim_end_matches('\r'));
            out.push_str(self.nl);
        }
        out
    }

    /// Key column of a block mapping (the indentation of its keys).
    pub fn map_indent(&self, map: NodeId) -> usize {
        self.column(self.y.span(map).start)
    }

    /// Append entries (a fragment written at column 0) at the end of a block mapping.
    pub fn append_to_map(&self, map: NodeId, fragment: &str) -> Edit {
        let end = self.node_end(map);
        let at = self.line_end_incl(end.saturating_sub(1));
        let mut text = String::new();
        if at == self.text.len() && !self.text.ends_with('\n') {
            text.push_str(self.nl);
        }
        text.push_str(&self.indent(fragment, self.map_indent(map)));
        Edit::insert(self.path, at, text)
    }

    /// Insert entries (fragment at column 0) right after the entry `key: value` of a block
    /// mapping, at the mapping's indentation.
    pub fn insert_after_entry(
        &self,
        map: NodeId,
        key: NodeId,
        value: NodeId,
        fragment: &str,
    ) -> Edit {
        let r = self.entry_lines(key, value);
        let mut text = String::new();
        if r.end == self.text.len() && !self.text.ends_with('\n') {
            text.push_str(self.nl);
        }
        text.push_str(&self.indent(fragment, self.map_indent(map)));
        Edit::insert(self.path, r.end, text)
    }

    /// Replace the value of `key: value` with a fragment: a one-line fragment stays on the key
    /// line, a multi-line one becomes a block below the key, indented two more than the key.
    pub fn replace_value(&self, key: NodeId, value: NodeId, fragment: &str) -> Edit {
        let fragment = fragment.trim_end_matches('\n');
        let key_span = self.y.span(key);
        // Start right after `key:` (skipping the colon and spaces, keeping tags/anchors out).
        let after_key = text::ceil(self.text, key_span.end);
        let after_key = text::after(self.text, after_key)
            .find(':')
            .map(|i| after_key + i + 1)
            .unwrap_or(after_key);
        let vspan = self.y.span(value);
        let node = self.y.node(value);
        let mut start = vspan.start.max(after_key);
        if let Some(a) = &node.anchor_span {
            start = start.min(a.start).max(after_key);
        }
        if let Some(t) = &node.tag_span {
            start = start.min(t.start).max(after_key);
        }
        let end = self.node_end(value).max(start);
        if !fragment.contains('\n') {
            let s = if self.text.as_bytes().get(start.saturating_sub(1)) == Some(&b':') {
                format!(" {fragment}")
            } else {
                fragment.to_string()
            };
            return Edit::replace(self.path, start, end, s);
        }
        let col = self.column(key_span.start) + 2;
        let block = self.indent(fragment, col);
        // Replace from just after the colon to the end of the value's last line (keep its break).
        let line_end = self.line_end_incl(end.saturating_sub(1).max(start));
        Edit::replace(
            self.path,
            after_key,
            line_end,
            format!("{}{}", self.nl, block),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::apply;

    fn edit(src: &str, f: impl Fn(&YamlEditor<'_>) -> Vec<Edit>) -> String {
        let y = Yaml::parse(src).expect("parse");
        let e = YamlEditor::new("f", src, &y);
        apply(src, &f(&e)).expect("apply")
    }

    fn root_get(y: &Yaml, k: &str) -> (NodeId, NodeId, NodeId) {
        let root = y.documents()[0];
        let e = y.get(root, k).expect("key");
        (root, e.key_id, e.value)
    }

    #[test]
    fn remove_entry_and_item_keep_comments() {
        let src = "# head\na: 1 # one\nb:\n  - x\n  - y # why\nc: [p, q, r]\n";
        let out = edit(src, |e| {
            let (root, ka, va) = root_get(e.y, "a");
            let (_, _, vb) = root_get(e.y, "b");
            let (_, _, vc) = root_get(e.y, "c");
            let items = e.y.seq(vb).expect("seq").to_vec();
            let citems = e.y.seq(vc).expect("seq").to_vec();
            vec![
                e.remove_entry(root, ka, va),
                e.remove_item(vb, items[1]),
                e.remove_item(vc, citems[2]),
                e.remove_item(vc, citems[0]),
            ]
        });
        assert_eq!(out, "# head\nb:\n  - x\nc: [q]\n");
    }

    #[test]
    fn replace_value_inline_and_block_with_crlf() {
        let src = "job:\r\n  image: docker:29-cli # pinned\r\n  script:\r\n    - docker build .\r\n  stage: build\r\n";
        let out = edit(src, |e| {
            let (_, _, job) = root_get(e.y, "job");
            let img = e.y.get(job, "image").expect("image");
            let sc = e.y.get(job, "script").expect("script");
            vec![
                e.replace_value(img.key_id, img.value, "moby/buildkit:rootless"),
                e.replace_value(sc.key_id, sc.value, "- buildctl build\n- echo done"),
            ]
        });
        assert_eq!(
            out,
            "job:\r\n  image: moby/buildkit:rootless # pinned\r\n  script:\r\n    - buildctl build\r\n    - echo done\r\n  stage: build\r\n"
        );
    }

    #[test]
    fn offsets_inside_a_multibyte_character_do_not_panic() {
        // A plain scalar ending in a two-byte character right before the last line break: the
        // mapping ends at byte 40, and `end - 1` falls inside 'З'.
        let src = "services:\n  - docker:dind\n    - echo \"З\n";
        let y = Yaml::parse(src).expect("parse");
        let e = YamlEditor::new("f", src, &y);
        let inside = src.find('З').expect("З") + 1;
        assert_eq!(e.line_start(inside), 26);
        assert_eq!(e.line_end_incl(inside), src.len());
        assert_eq!(e.column(inside), 13);
        let out = edit(src, |e| vec![e.append_to_map(e.y.documents()[0], "x: 1")]);
        assert_eq!(out, format!("{src}x: 1\n"));
        let out = edit(src, |e| {
            let (_, k, v) = root_get(e.y, "services");
            vec![e.replace_value(k, v, "- a\n- b")]
        });
        assert_eq!(out, "services:\n  - a\n  - b\n");
    }

    #[test]
    fn append_and_insert_after() {
        let src = "a:\n  x: 1\n  y: 2\nb: 3";
        let out = edit(src, |e| {
            let (_, _, a) = root_get(e.y, "a");
            let x = e.y.get(a, "x").expect("x");
            vec![
                e.append_to_map(a, "z: 3"),
                e.insert_after_entry(a, x.key_id, x.value, "w:\n  - q"),
            ]
        });
        assert_eq!(out, "a:\n  x: 1\n  w:\n    - q\n  y: 2\n  z: 3\nb: 3");
        let out = edit("a: 1", |e| {
            vec![e.append_to_map(e.y.documents()[0], "b: 2")]
        });
        assert_eq!(out, "a: 1\nb: 2\n");
    }
}
