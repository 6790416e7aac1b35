//! YAML span tree: owns parsing a YAML stream (all documents) into an arena of nodes whose spans
//! are exact byte ranges into the original source, plus merge-key (`<<`) resolution under a
//! budget, scalar helpers (null/bool), duplicate-key detection and the mapping from offsets in a
//! cooked scalar value back to source offsets.
//!
//! All calls into `granit-parser` live in this file. Aliases are kept as pointers to the anchored
//! node and never expanded, so alias bombs cost nothing to parse. The tree is built with an
//! explicit stack; nesting is bounded by the parser's limits.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use granit_parser::{Event, Options, Parser, ScanError, StructureStyle};

/// Index of a node in the [`Yaml`] arena.
pub type NodeId = u32;

/// Maximum number of nodes in one parsed stream; more is reported as an error.
pub const MAX_NODES: usize = 2_000_000;
/// Maximum nesting of block and of flow collections accepted by the parser.
pub const NESTING_LIMIT: usize = 256;
/// Maximum number of nodes visited by one merge resolution ([`Yaml::entries`]).
pub const MERGE_NODE_BUDGET: usize = 100_000;
/// Maximum depth of merge-key chains followed by one merge resolution.
pub const MERGE_DEPTH_LIMIT: usize = 64;
/// Maximum number of alias hops followed by [`Yaml::resolve`].
const ALIAS_CHAIN_LIMIT: usize = 16;

/// A parse or resolution error with a byte offset into the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Human-readable description.
    pub message: String,
    /// Byte offset into the source where the problem was found.
    pub offset: usize,
}

impl YamlError {
    fn new(message: impl Into<String>, offset: usize) -> Self {
        Self {
            message: message.into(),
            offset,
        }
    }
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarStyle {
    /// Unquoted.
    Plain,
    /// `'single quoted'`.
    SingleQuoted,
    /// `"double quoted"`.
    DoubleQuoted,
    /// `|` block scalar.
    Literal,
    /// `>` block scalar.
    Folded,
}

impl ScalarStyle {
    fn from_granit(style: granit_parser::ScalarStyle) -> Self {
        match style {
            granit_parser::ScalarStyle::Plain => Self::Plain,
            granit_parser::ScalarStyle::SingleQuoted => Self::SingleQuoted,
            granit_parser::ScalarStyle::DoubleQuoted => Self::DoubleQuoted,
            granit_parser::ScalarStyle::Literal => Self::Literal,
            granit_parser::ScalarStyle::Folded => Self::Folded,
        }
    }

    /// Whether this is a block scalar style (`|` or `>`).
    pub fn is_block(self) -> bool {
        matches!(self, Self::Literal | Self::Folded)
    }
}

/// A scalar node's cooked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value after unquoting, escapes, folding and chomping. Empty for an implicit null.
    pub value: String,
    /// How the scalar was written.
    pub style: ScalarStyle,
    /// The bytes holding the value: the token for plain scalars, inside the quotes for quoted
    /// scalars, and for block scalars from the start of the line after the header to the end of
    /// the node span (empty, at the span end, for an empty block scalar).
    pub content_span: Range<usize>,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A scalar.
    Scalar(Scalar),
    /// A mapping with its (key, value) pairs as written, including `<<` merge keys.
    Map {
        /// Raw entries in source order.
        entries: Vec<(NodeId, NodeId)>,
        /// `{...}` rather than block style.
        flow: bool,
    },
    /// A sequence.
    Seq {
        /// Items in source order.
        items: Vec<NodeId>,
        /// `[...]` rather than block style.
        flow: bool,
    },
    /// An alias `*name`, pointing at the anchored node.
    Alias {
        /// The alias name without `*`.
        name: String,
        /// The anchored node (`None` only if the anchor could not be found).
        target: Option<NodeId>,
    },
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Byte range of the node, without its anchor and tag. Scalars: the token as written (quotes
    /// included; block scalars from the `|`/`>` indicator to the last content char). Flow
    /// collections: bracket to bracket. Block collections: first key or `-` to the end of the
    /// last child. Implicit nulls are empty ranges where the value would go.
    pub span: Range<usize>,
    /// Tag as written (handle and suffix), e.g. `!reference` or `!!str`.
    pub tag: Option<String>,
    /// Byte range of the tag token.
    pub tag_span: Option<Range<usize>>,
    /// Anchor name without `&`.
    pub anchor: Option<String>,
    /// Byte range of the `&name` token.
    pub anchor_span: Option<Range<usize>>,
    /// The containing collection, `None` for document roots.
    pub parent: Option<NodeId>,
}

/// One effective mapping entry, as returned by [`Yaml::entries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key's cooked scalar value.
    pub key: String,
    /// The key node.
    pub key_id: NodeId,
    /// The value node (not resolved: may be an alias).
    pub value: NodeId,
    /// Whether the entry comes from a merge key rather than from the mapping itself.
    pub merged: bool,
}

/// A parsed YAML stream: an arena holding the nodes of all documents.
#[derive(Debug, Clone, Default)]
pub struct Yaml {
    src: String,
    nodes: Vec<Node>,
    docs: Vec<NodeId>,
    dups: Vec<Range<usize>>,
}

/// Returned by [`Yaml::node`] for ids that do not exist.
static MISSING: Node = Node {
    kind: NodeKind::Scalar(Scalar {
        value: String::new(),
        style: ScalarStyle::Plain,
        content_span: 0..0,
    }),
    span: 0..0,
    tag: None,
    tag_span: None,
    anchor: None,
    anchor_span: None,
    parent: None,
};

impl Yaml {
    /// Parse a whole YAML stream. A leading BOM is kept in the offsets.
    ///
    /// # Errors
    /// Syntax errors, undefined aliases, nesting deeper than [`NESTING_LIMIT`] and more than
    /// [`MAX_NODES`] nodes.
    pub fn parse(src: &str) -> Result<Yaml, YamlError> {
        let mut opts = Options::default();
        opts.emit_anchor_events = true;
        opts.emit_unresolved_aliases = true;
        opts.block_nesting_limit = NESTING_LIMIT;
        opts.flow_nesting_limit = NESTING_LIMIT;
        opts.set_emit_comments(false);
        let mut builder = Builder::new(src);
        for item in Parser::new_from_str_with_options(src, opts) {
            let (event, span) = item.map_err(scan_error)?;
            let range = span
                .byte_range()
                .ok_or_else(|| YamlError::new("internal error: missing byte offset", 0))?;
            let tag_range = span.tag_span().and_then(|t| t.byte_range());
            builder.event(event, range, tag_range)?;
        }
        Ok(builder.finish())
    }

    /// The source text the tree was parsed from.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Root node of each non-empty document, in order.
    pub fn documents(&self) -> &[NodeId] {
        &self.docs
    }

    /// Number of nodes in the arena.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node with this id, or `None` if there is none.
    pub fn try_node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(usize::try_from(id).ok()?)
    }

    /// The node with this id. Unknown ids yield an empty plain scalar at offset 0.
    pub fn node(&self, id: NodeId) -> &Node {
        self.try_node(id).unwrap_or(&MISSING)
    }

    /// Follow alias chains (bounded) to the anchored node.
    pub fn resolve(&self, id: NodeId) -> NodeId {
        resolve_in(&self.nodes, id)
    }

    /// The cooked scalar value after [`Self::resolve`]; `None` for collections and unknown ids.
    pub fn str(&self, id: NodeId) -> Option<&str> {
        match &self.try_node(self.resolve(id))?.kind {
            NodeKind::Scalar(s) => Some(&s.value),
            _ => None,
        }
    }

    /// Whether the node (after resolve) is a null: plain `~`, `null`, `Null`, `NULL` or an empty
    /// value, or anything tagged `!!null`.
    pub fn is_null(&self, id: NodeId) -> bool {
        let Some(node) = self.try_node(self.resolve(id)) else {
            return false;
        };
        let NodeKind::Scalar(s) = &node.kind else {
            return false;
        };
        match node.tag.as_deref() {
            Some(tag) => is_core_tag(tag, "null"),
            None => {
                s.style == ScalarStyle::Plain
                    && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
        }
    }

    /// A plain boolean (after resolve): `true`/`True`/`TRUE`/`false`/..., and the YAML 1.1
    /// forms `yes`/`no`/`on`/`off` in the same three casings. `None` otherwise.
    pub fn as_bool(&self, id: NodeId) -> Option<bool> {
        let node = self.try_node(self.resolve(id))?;
        let NodeKind::Scalar(s) = &node.kind else {
            return None;
        };
        match node.tag.as_deref() {
            Some(tag) if !is_core_tag(tag, "bool") => return None,
            None if s.style != ScalarStyle::Plain => return None,
            _ => {}
        }
        match s.value.as_str() {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        }
    }

    /// Items of a sequence (after resolve).
    pub fn seq(&self, id: NodeId) -> Option<&[NodeId]> {
        match &self.node(self.resolve(id)).kind {
            NodeKind::Seq { items, .. } => Some(items),
            _ => None,
        }
    }

    /// Raw (key, value) pairs of a mapping (after resolve) as written, including `<<`.
    pub fn own_entries(&self, id: NodeId) -> Option<&[(NodeId, NodeId)]> {
        match &self.node(self.resolve(id)).kind {
            NodeKind::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// Whether `key` is a merge key: a plain `<<`, untagged or tagged `!!merge`.
    pub fn is_merge_key(&self, key: NodeId) -> bool {
        is_merge_key_in(&self.nodes, key)
    }

    /// Effective entries of a mapping: own keys plus merge keys (`<<: *a`, `<<: [*a, *b]`)
    /// resolved recursively; own keys override merged ones and earlier merge sources win over
    /// later ones (YAML merge spec). Order: own entries as written, then merged entries in merge
    /// order. A key repeated in one mapping keeps its first position and its last value.
    /// Entries with non-scalar keys are left out. A `<<` whose value is not a mapping or a
    /// sequence of mappings is kept as an ordinary `<<` entry. Non-mappings yield no entries.
    ///
    /// # Errors
    /// "too complex" when more than [`MERGE_NODE_BUDGET`] merged nodes would be visited or
    /// merges nest deeper than [`MERGE_DEPTH_LIMIT`].
    pub fn entries(&self, id: NodeId) -> Result<Vec<Entry>, YamlError> {
        let root = self.resolve(id);
        if self.own_entries(root).is_none() {
            return Ok(Vec::new());
        }
        let mut out: Vec<Entry> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut visited: HashSet<NodeId> = HashSet::new();
        let mut stack: Vec<(NodeId, usize)> = vec![(root, 0)];
        let mut sources: Vec<NodeId> = Vec::new();
        let mut budget = 0usize;
        while let Some((map, depth)) = stack.pop() {
            let at = self.node(map).span.start;
            if depth > MERGE_DEPTH_LIMIT {
                return Err(YamlError::new(
                    format!("too complex: merge keys nest deeper than {MERGE_DEPTH_LIMIT} levels"),
                    at,
                ));
            }
            if !visited.insert(map) {
                continue;
            }
            let Some(own) = self.own_entries(map) else {
                continue;
            };
            if depth > 0 {
                budget = budget.saturating_add(own.len()).saturating_add(1);
            }
            if budget > MERGE_NODE_BUDGET {
                return Err(too_many_nodes(at));
            }
            let merged = depth > 0;
            let first_new = out.len();
            sources.clear();
            for &(k, v) in own {
                if self.is_merge_key(k) {
                    let target = self.resolve(v);
                    match &self.node(target).kind {
                        NodeKind::Map { .. } => {
                            sources.push(target);
                            continue;
                        }
                        NodeKind::Seq { items, .. } => {
                            budget = budget.saturating_add(items.len());
                            if budget > MERGE_NODE_BUDGET {
                                return Err(too_many_nodes(at));
                            }
                            let all_maps = items
                                .iter()
                                .all(|&i| self.own_entries(self.resolve(i)).is_some());
                            if all_maps {
                                sources.extend(items.iter().map(|&i| self.resolve(i)));
                                continue;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(key) = self.str(k) else {
                    continue;
                };
                match index.get(key) {
                    Some(&pos) if pos >= first_new => {
                        if let Some(e) = out.get_mut(pos) {
                            e.key_id = k;
                            e.value = v;
                        }
                    }
                    Some(_) => {}
                    None => {
                        index.insert(key, out.len());
                        out.push(Entry {
                            key: key.to_owned(),
                            key_id: k,
                            value: v,
                            merged,
                        });
                    }
                }
            }
            stack.extend(sources.iter().rev().map(|&s| (s, depth + 1)));
        }
        Ok(out)
    }

    /// Effective (merge-aware) lookup of `key` in a mapping. `None` if absent, if `map` is not
    /// a mapping, or if merge resolution goes over budget.
    pub fn get(&self, map: NodeId, key: &str) -> Option<Entry> {
        let own = self.own_entries(map)?;
        let mut has_merge = false;
        for &(k, v) in own.iter().rev() {
            if self.is_merge_key(k) {
                has_merge = true;
                continue;
            }
            if self.str(k) == Some(key) {
                return Some(Entry {
                    key: key.to_owned(),
                    key_id: k,
                    value: v,
                    merged: false,
                });
            }
        }
        if !has_merge {
            return None;
        }
        self.entries(map).ok()?.into_iter().find(|e| e.key == key)
    }

    /// The node's span (see [`Node::span`]).
    pub fn span(&self, id: NodeId) -> Range<usize> {
        self.node(id).span.clone()
    }

    /// Map a byte offset inside a scalar's cooked value (after resolve) to a byte offset in the
    /// source. Handles quotes, escapes, folding and block-scalar indentation. Offsets at or past
    /// the end of the value map to the end of the content; non-scalars map to their span start.
    /// If the value cannot be re-derived from the source, falls back to `content start + offset`.
    pub fn scalar_src_offset(&self, id: NodeId, value_offset: usize) -> usize {
        let node = self.node(self.resolve(id));
        let NodeKind::Scalar(s) = &node.kind else {
            return node.span.start;
        };
        let content = s.content_span.clone();
        let vo = floor_boundary(&s.value, value_offset);
        if vo >= s.value.len() {
            return content.end;
        }
        if self.src.get(content.clone()) == Some(s.value.as_str()) {
            return content.start.saturating_add(vo);
        }
        if let Some(map) = map_scalar(&self.src, s) {
            let idx = map.partition_point(|&(v, _)| v <= vo);
            if let Some(&(v, at)) = idx.checked_sub(1).and_then(|i| map.get(i)) {
                let guess = at.saturating_add(vo - v);
                let at = if vo == v { at } else { guess.min(content.end) };
                return floor_boundary(&self.src, at);
            }
        }
        floor_boundary(&self.src, content.start.saturating_add(vo).min(content.end))
    }

    /// Spans of keys repeated in the same mapping (every occurrence after the first), in source
    /// order. Merge keys (`<<`) are not counted.
    pub fn duplicate_keys(&self) -> &[Range<usize>] {
        &self.dups
    }
}

fn too_many_nodes(at: usize) -> YamlError {
    YamlError::new(
        format!("too complex: merge resolution visits more than {MERGE_NODE_BUDGET} nodes"),
        at,
    )
}

fn scan_error(e: ScanError) -> YamlError {
    let info = e.info();
    let message = if info.is_empty() {
        "invalid YAML".to_owned()
    } else {
        info
    };
    YamlError::new(message, e.marker().byte_offset().unwrap_or(0))
}

fn get_node(nodes: &[Node], id: NodeId) -> Option<&Node> {
    nodes.get(usize::try_from(id).ok()?)
}

fn resolve_in(nodes: &[Node], mut id: NodeId) -> NodeId {
    for _ in 0..ALIAS_CHAIN_LIMIT {
        match get_node(nodes, id).map(|n| &n.kind) {
            Some(NodeKind::Alias {
                target: Some(t), ..
            }) => id = *t,
            _ => break,
        }
    }
    id
}

fn scalar_value_in(nodes: &[Node], id: NodeId) -> Option<&str> {
    match &get_node(nodes, resolve_in(nodes, id))?.kind {
        NodeKind::Scalar(s) => Some(&s.value),
        _ => None,
    }
}

fn is_merge_key_in(nodes: &[Node], id: NodeId) -> bool {
    let Some(node) = get_node(nodes, id) else {
        return false;
    };
    let NodeKind::Scalar(s) = &node.kind else {
        return false;
    };
    s.style == ScalarStyle::Plain
        && s.value == "<<"
        && node.tag.as_deref().is_none_or(|t| is_core_tag(t, "merge"))
}

/// Whether `tag` spells the YAML core tag with this suffix.
fn is_core_tag(tag: &str, suffix: &str) -> bool {
    let long = |t: &str| t.strip_prefix("tag:yaml.org,2002:") == Some(suffix);
    tag.strip_prefix("!!") == Some(suffix)
        || long(tag)
        || tag
            .strip_prefix("!<")
            .and_then(|t| t.strip_suffix('>'))
            .is_some_and(long)
}

/// Largest char boundary of `s` that is `<= i` (clamped to the length).
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

struct Frame {
    id: NodeId,
    pending_key: Option<NodeId>,
}

struct Builder<'s> {
    src: &'s str,
    nodes: Vec<Node>,
    docs: Vec<NodeId>,
    dups: Vec<Range<usize>>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, NodeId>,
    /// End of the last real token seen (zero-width events excluded).
    last_tok_end: usize,
    doc_root: Option<NodeId>,
}

impl<'s> Builder<'s> {
    fn new(src: &'s str) -> Self {
        Self {
            src,
            nodes: Vec::new(),
            docs: Vec::new(),
            dups: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            last_tok_end: 0,
            doc_root: None,
        }
    }

    fn finish(mut self) -> Yaml {
        self.dups.sort_by_key(|r| (r.start, r.end));
        Yaml {
            src: self.src.to_owned(),
            nodes: self.nodes,
            docs: self.docs,
            dups: self.dups,
        }
    }

    fn bump(&mut self, end: usize) {
        self.last_tok_end = self.last_tok_end.max(end);
    }

    fn event(
        &mut self,
        event: Event<'_>,
        range: Range<usize>,
        tag_range: Option<Range<usize>>,
    ) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(explicit, _) => {
                if explicit {
                    self.bump(range.end);
                }
                self.doc_root = None;
                self.stack.clear();
            }
            Event::DocumentEnd => {
                if let Some(root) = self.doc_root.take()
                    && !self.is_empty_root(root)
                {
                    self.docs.push(root);
                }
                if !range.is_empty() {
                    self.bump(range.end);
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = ScalarStyle::from_granit(style);
                let tag_end = tag_range.as_ref().map_or(0, |t| t.end);
                let lower = self.last_tok_end.max(tag_end);
                let (span, content_span, value) = match style {
                    ScalarStyle::Plain if range.is_empty() => {
                        let p = self.place_empty(range.start, lower).max(tag_end);
                        (p..p, p..p, String::new())
                    }
                    ScalarStyle::Plain => (range.clone(), range.clone(), value.into_owned()),
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        let inner = if range.end.saturating_sub(range.start) >= 2 {
                            range.start + 1..range.end - 1
                        } else {
                            range.clone()
                        };
                        (range.clone(), inner, value.into_owned())
                    }
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        let value = value.into_owned();
                        let (span, content) =
                            block_scalar_spans(self.src, &range, lower, &value, style);
                        (span, content, value)
                    }
                };
                self.bump(span.end.max(tag_end));
                let node = Node {
                    kind: NodeKind::Scalar(Scalar {
                        value,
                        style,
                        content_span,
                    }),
                    span,
                    tag: tag.map(|t| t.original()),
                    tag_span: tag_range,
                    anchor: None,
                    anchor_span: None,
                    parent: None,
                };
                self.add(node, anchor)?;
            }
            Event::SequenceStart(style, anchor, tag) => {
                let kind = NodeKind::Seq {
                    items: Vec::new(),
                    flow: style == StructureStyle::Flow,
                };
                self.start_collection(kind, range, tag.map(|t| t.original()), tag_range, anchor)?;
            }
            Event::MappingStart(style, anchor, tag) => {
                let kind = NodeKind::Map {
                    entries: Vec::new(),
                    flow: style == StructureStyle::Flow,
                };
                self.start_collection(kind, range, tag.map(|t| t.original()), tag_range, anchor)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection(range),
            Event::Alias(anchor_id) => {
                let name = self
                    .src
                    .get(range.clone())
                    .map(|t| t.strip_prefix('*').unwrap_or(t).to_owned())
                    .unwrap_or_default();
                self.bump(range.end);
                let node = Node {
                    kind: NodeKind::Alias {
                        name,
                        target: self.anchors.get(&anchor_id).copied(),
                    },
                    span: range,
                    tag: None,
                    tag_span: None,
                    anchor: None,
                    anchor_span: None,
                    parent: None,
                };
                self.add(node, 0)?;
            }
            Event::UnresolvedAlias(name) => {
                return Err(YamlError::new(
                    format!("found undefined alias `{name}`"),
                    range.start,
                ));
            }
            Event::Anchor(anchor_id, name) => {
                self.bump(range.end);
                if let Some(&id) = self.anchors.get(&anchor_id)
                    && let Some(node) = usize::try_from(id).ok().and_then(|i| self.nodes.get_mut(i))
                {
                    node.anchor = Some(name.into_owned());
                    // An implicit null goes after its properties.
                    if let NodeKind::Scalar(s) = &mut node.kind
                        && node.span.is_empty()
                        && node.span.start < range.end
                    {
                        node.span = range.end..range.end;
                        s.content_span = range.end..range.end;
                    }
                    node.anchor_span = Some(range);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn is_empty_root(&self, id: NodeId) -> bool {
        get_node(&self.nodes, id).is_some_and(|n| {
            n.tag.is_none()
                && n.anchor.is_none()
                && n.span.is_empty()
                && matches!(&n.kind, NodeKind::Scalar(s) if s.style == ScalarStyle::Plain && s.value.is_empty())
        })
    }

    /// Whether the next node fills the value slot of a mapping.
    fn in_value_position(&self) -> bool {
        self.stack.last().is_some_and(|f| f.pending_key.is_some())
    }

    /// Position of an implicit null reported by the parser at `g`.
    fn place_empty(&self, g: usize, lower: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut p = g.min(bytes.len());
        // The parser may report it at the next token on a later line; pull it back to the end
        // of the previous token.
        if lower < p {
            let between = bytes.get(lower..p).unwrap_or_default();
            let line_start = bytes
                .get(..p)
                .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
                .map_or(0, |i| i + 1);
            let only_ws_before = bytes
                .get(line_start..p)
                .is_some_and(|b| b.iter().all(|&c| c == b' ' || c == b'\t'));
            if between.contains(&b'\n') && only_ws_before {
                p = lower;
            }
        }
        if self.in_value_position() {
            let mut q = p;
            while matches!(bytes.get(q), Some(b' ' | b'\t')) {
                q += 1;
            }
            if bytes.get(q) == Some(&b':')
                && matches!(
                    bytes.get(q + 1),
                    None | Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}')
                )
            {
                p = q + 1;
            }
        }
        p
    }

    fn add(&mut self, mut node: Node, anchor: usize) -> Result<NodeId, YamlError> {
        let at = node.span.start;
        if self.nodes.len() >= MAX_NODES {
            return Err(YamlError::new(
                format!("document too large: more than {MAX_NODES} nodes"),
                at,
            ));
        }
        let id = NodeId::try_from(self.nodes.len())
            .map_err(|_| YamlError::new("document too large", at))?;
        match self.stack.last_mut() {
            None => {
                if self.doc_root.is_none() {
                    self.doc_root = Some(id);
                }
            }
            Some(frame) => {
                node.parent = Some(frame.id);
                let parent = usize::try_from(frame.id)
                    .ok()
                    .and_then(|i| self.nodes.get_mut(i));
                match parent.map(|p| &mut p.kind) {
                    Some(NodeKind::Seq { items, .. }) => items.push(id),
                    Some(NodeKind::Map { entries, .. }) => match frame.pending_key.take() {
                        Some(key) => entries.push((key, id)),
                        None => frame.pending_key = Some(id),
                    },
                    _ => {}
                }
            }
        }
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        self.nodes.push(node);
        Ok(id)
    }

    fn start_collection(
        &mut self,
        kind: NodeKind,
        range: Range<usize>,
        tag: Option<String>,
        tag_span: Option<Range<usize>>,
        anchor: usize,
    ) -> Result<(), YamlError> {
        if !range.is_empty() {
            self.bump(range.end);
        }
        if let Some(t) = &tag_span {
            self.bump(t.end);
        }
        let node = Node {
            kind,
            span: range,
            tag,
            tag_span,
            anchor: None,
            anchor_span: None,
            parent: None,
        };
        let id = self.add(node, anchor)?;
        self.stack.push(Frame {
            id,
            pending_key: None,
        });
        Ok(())
    }

    fn end_collection(&mut self, range: Range<usize>) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if !range.is_empty() {
            self.bump(range.end);
        }
        let nodes = &self.nodes;
        let end_of = |id: NodeId| get_node(nodes, id).map_or(0, |n| n.span.end);
        let Some(node) = get_node(nodes, frame.id) else {
            return;
        };
        let start = node.span.start;
        let mut dups = Vec::new();
        if let NodeKind::Map { entries, .. } = &node.kind {
            let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
            for &(k, _) in entries {
                if is_merge_key_in(nodes, k) {
                    continue;
                }
                if let Some(key) = scalar_value_in(nodes, k)
                    && !seen.insert(key)
                    && let Some(kn) = get_node(nodes, k)
                {
                    dups.push(kn.span.clone());
                }
            }
        }
        let end = match &node.kind {
            NodeKind::Seq { flow: true, .. } | NodeKind::Map { flow: true, .. } => range.end,
            NodeKind::Seq { items, .. } => items.last().map_or(start, |&i| end_of(i)),
            NodeKind::Map { entries, .. } => {
                let last = entries
                    .last()
                    .map_or(start, |&(k, v)| end_of(k).max(end_of(v)));
                last.max(frame.pending_key.map_or(0, end_of))
            }
            NodeKind::Scalar(_) | NodeKind::Alias { .. } => start,
        };
        self.dups.extend(dups);
        if let Some(node) = usize::try_from(frame.id)
            .ok()
            .and_then(|i| self.nodes.get_mut(i))
        {
            node.span = start..end.max(start);
        }
    }
}

/// Spans of a block scalar from the parser's range `g` (which starts at the first content char
/// and includes trailing line breaks). Returns (node span, content span).
fn block_scalar_spans(
    src: &str,
    g: &Range<usize>,
    lower: usize,
    value: &str,
    style: ScalarStyle,
) -> (Range<usize>, Range<usize>) {
    let bytes = src.as_bytes();
    let is_ws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let Some(ind) = find_block_indicator(src, lower.min(g.start), g.start) else {
        let mut e = g.end.min(bytes.len());
        while e > g.start && bytes.get(e - 1).is_some_and(|&b| is_ws(b)) {
            e -= 1;
        }
        return (g.start..e, g.start..e);
    };
    let mut header_end = ind + 1;
    while header_end < ind + 3 && matches!(bytes.get(header_end), Some(b'1'..=b'9' | b'+' | b'-')) {
        header_end += 1;
    }
    let header_line_end = bytes
        .get(header_end..)
        .and_then(|b| b.iter().position(|&c| c == b'\n'))
        .map_or(bytes.len(), |i| header_end + i);
    let content_start = header_line_end.saturating_add(1).min(bytes.len());
    let mut e = g.end.min(bytes.len());
    while e > content_start && bytes.get(e - 1).is_some_and(|&b| is_ws(b)) {
        e -= 1;
    }
    if e <= content_start {
        return (ind..header_end, header_end..header_end);
    }
    // Trailing blanks of the last content line are content.
    while matches!(bytes.get(e), Some(b' ' | b'\t')) {
        e += 1;
    }
    // A literal whose last content line is only blanks: find it through the line mapping.
    let last_is_blank = value.trim_end_matches('\n').ends_with([' ', '\t']);
    if style == ScalarStyle::Literal
        && last_is_blank
        && let Some(map) = map_literal(src, content_start, value)
    {
        let last = value.trim_end_matches('\n').len().saturating_sub(1);
        if let Some(&(_, at)) = map.iter().find(|&&(v, _)| v == last) {
            e = e.max(at + 1);
        }
    }
    (ind..e, content_start..e)
}

/// Find the `|`/`>` indicator of a block scalar between `from` and `limit` (inclusive),
/// skipping whitespace, comments, `-`/`?`/`:` indicators, anchors and tags.
fn find_block_indicator(src: &str, from: usize, limit: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    while i <= limit {
        match *bytes.get(i)? {
            b'|' | b'>' => return Some(i),
            b' ' | b'\t' | b'\r' | b'\n' | b'-' | b'?' | b':' => i += 1,
            b'#' => {
                while !matches!(bytes.get(i), None | Some(b'\n')) {
                    i += 1;
                }
            }
            b'&' | b'!' => {
                while !matches!(bytes.get(i), None | Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    i += 1;
                }
            }
            0xEF if src.get(i..).is_some_and(|s| s.starts_with('\u{feff}')) => i += 3,
            _ => return None,
        }
    }
    None
}

/// Per-char mapping (value offset, source offset) for a scalar, or `None` if the value cannot
/// be re-derived from the source.
fn map_scalar(src: &str, s: &Scalar) -> Option<Vec<(usize, usize)>> {
    match s.style {
        ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let text = src.get(s.content_span.clone())?;
            let (cooked, map) = cook_flow(text, s.content_span.start, s.style)?;
            (cooked == s.value).then_some(map)
        }
        ScalarStyle::Literal => map_literal(src, s.content_span.start, &s.value),
        ScalarStyle::Folded => map_folded(src, &s.content_span, &s.value),
    }
}

/// Consume line breaks starting at `i` (a break), with the blanks after each. Returns the
/// offsets of the breaks and the index of the next char.
fn take_breaks(chars: &[(usize, char)], mut i: usize) -> (Vec<usize>, usize) {
    let mut breaks = Vec::new();
    while let Some(&(off, c)) = chars.get(i) {
        match c {
            '\r' => {
                breaks.push(off);
                i += 1;
                if matches!(chars.get(i), Some((_, '\n'))) {
                    i += 1;
                }
            }
            '\n' => {
                breaks.push(off);
                i += 1;
            }
            _ => break,
        }
        while matches!(chars.get(i), Some((_, ' ' | '\t'))) {
            i += 1;
        }
    }
    (breaks, i)
}

/// Decode the double-quoted escape whose letter is at `j`. Returns the char and how many chars
/// after the backslash it used.
fn decode_escape(chars: &[(usize, char)], j: usize) -> Option<(char, usize)> {
    let (_, e) = *chars.get(j)?;
    let simple = match e {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, 1));
    }
    let digits = match e {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let mut code: u32 = 0;
    for k in 1..=digits {
        let (_, d) = *chars.get(j + k)?;
        code = code.checked_mul(16)?.checked_add(d.to_digit(16)?)?;
    }
    Some((char::from_u32(code)?, 1 + digits))
}

/// Re-cook a flow scalar's content (plain token or text inside the quotes), recording the
/// source offset of every produced char.
fn cook_flow(text: &str, base: usize, style: ScalarStyle) -> Option<(String, Vec<(usize, usize)>)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::with_capacity(text.len());
    let mut map: Vec<(usize, usize)> = Vec::with_capacity(text.len());
    let mut pending: Vec<(usize, char)> = Vec::new();
    let mut emit = |out: &mut String, c: char, at: usize| {
        map.push((out.len(), base + at));
        out.push(c);
    };
    let mut i = 0;
    while let Some(&(off, c)) = chars.get(i) {
        match c {
            '\r' | '\n' => {
                pending.clear();
                let (breaks, next) = take_breaks(&chars, i);
                match breaks.as_slice() {
                    [only] => emit(&mut out, ' ', *only),
                    [_, rest @ ..] => rest.iter().for_each(|&b| emit(&mut out, '\n', b)),
                    [] => return None,
                }
                i = next;
            }
            ' ' | '\t' => {
                pending.push((off, c));
                i += 1;
            }
            _ => {
                for (at, w) in pending.drain(..) {
                    emit(&mut out, w, at);
                }
                let next = chars.get(i + 1).map(|&(_, n)| n);
                if style == ScalarStyle::SingleQuoted && c == '\'' && next == Some('\'') {
                    emit(&mut out, '\'', off);
                    i += 2;
                } else if style == ScalarStyle::DoubleQuoted && c == '\\' {
                    if matches!(next, Some('\r' | '\n')) {
                        let (breaks, after) = take_breaks(&chars, i + 1);
                        for &b in breaks.get(1..).unwrap_or_default() {
                            emit(&mut out, '\n', b);
                        }
                        i = after;
                    } else {
                        let (decoded, used) = decode_escape(&chars, i + 1)?;
                        emit(&mut out, decoded, off);
                        i += 1 + used;
                    }
                } else {
                    emit(&mut out, c, off);
                    i += 1;
                }
            }
        }
    }
    for (at, w) in pending {
        emit(&mut out, w, at);
    }
    Some((out, map))
}

/// Map a literal block scalar: value line `n` is a suffix of source content line `n`.
fn map_literal(src: &str, start: usize, value: &str) -> Option<Vec<(usize, usize)>> {
    let mut map = Vec::with_capacity(value.len());
    let pieces = value.split('\n').count();
    let mut pos = start;
    let mut voff = 0usize;
    for (idx, piece) in value.split('\n').enumerate() {
        let last = idx + 1 == pieces;
        if last && piece.is_empty() {
            break;
        }
        let rest = src.get(pos..)?;
        let line_end = pos + rest.find('\n').unwrap_or(rest.len());
        let line = src.get(pos..line_end)?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.ends_with(piece) {
            return None;
        }
        let text_end = pos + line.len();
        let s0 = text_end - piece.len();
        map.extend(piece.char_indices().map(|(j, _)| (voff + j, s0 + j)));
        voff += piece.len();
        if !last {
            map.push((voff, text_end));
            voff += 1;
        }
        pos = line_end + 1;
    }
    Some(map)
}

/// Map a folded block scalar: each non-blank source line's text appears in the value in order,
/// separated only by spaces and line feeds.
fn map_folded(src: &str, content: &Range<usize>, value: &str) -> Option<Vec<(usize, usize)>> {
    let vb = value.as_bytes();
    let is_sep = |b: &u8| matches!(b, b' ' | b'\n' | b'\t');
    let mut map = Vec::with_capacity(value.len());
    let mut p = 0usize;
    let mut pos = content.start;
    while pos < content.end {
        let rest = src.get(pos..content.end)?;
        let line_len = rest.find('\n').unwrap_or(rest.len());
        let line = rest.get(..line_len)?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let t = line.trim_start_matches([' ', '\t']);
        let t_src = pos + (line.len() - t.len());
        if !t.is_empty() {
            let mut q = p;
            while !value.get(q..)?.starts_with(t) {
                if !vb.get(q).is_some_and(is_sep) {
                    return None;
                }
                q += 1;
            }
            map.extend((p..q).map(|k| (k, t_src.saturating_sub(q - k).max(pos))));
            map.extend(t.char_indices().map(|(j, _)| (q + j, t_src + j)));
            p = q + t.len();
        }
        pos += line_len + 1;
    }
    if !vb.get(p..)?.iter().all(is_sep) {
        return None;
    }
    map.extend((p..value.len()).map(|k| (k, content.end)));
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn parse(src: &str) -> Yaml {
        match Yaml::parse(src) {
            Ok(y) => y,
            Err(e) => panic!("parse failed: {} at {}", e.message, e.offset),
        }
    }

    fn root(y: &Yaml) -> NodeId {
        *y.documents().first().expect("a document")
    }

    fn text(y: &Yaml, id: NodeId) -> &str {
        &y.source()[y.span(id)]
    }

    fn val(y: &Yaml, map: NodeId, key: &str) -> NodeId {
        y.get(map, key).expect("key present").value
    }

    fn pos(src: &str, needle: &str) -> usize {
        src.find(needle).expect("needle in source")
    }

    fn value_pos(y: &Yaml, id: NodeId, needle: &str) -> usize {
        y.str(id)
            .and_then(|s| s.find(needle))
            .expect("needle in value")
    }

    /// Check structural invariants on every node of a successfully parsed input.
    fn check_invariants(y: &Yaml) {
        let src = y.source();
        let len = NodeId::try_from(y.node_count()).expect("fits");
        for id in 0..len {
            let n = y.node(id);
            assert!(src.get(n.span.clone()).is_some(), "span {:?}", n.span);
            for r in [&n.tag_span, &n.anchor_span].into_iter().flatten() {
                assert!(src.get(r.clone()).is_some(), "property span {r:?}");
                assert!(r.end <= n.span.start || r.start >= n.span.end || n.span.is_empty());
            }
            if let NodeKind::Scalar(s) = &n.kind {
                assert!(src.get(s.content_span.clone()).is_some());
                for vo in 0..=s.value.len() + 2 {
                    let at = y.scalar_src_offset(id, vo);
                    assert!(src.is_char_boundary(at), "offset {at} for {vo}");
                }
            }
            let _ = y.entries(id);
            let _ = y.is_null(id);
            let _ = y.as_bool(id);
        }
        for d in y.duplicate_keys() {
            assert!(src.get(d.clone()).is_some());
        }
    }

    #[test]
    fn multibyte_utf8_before_nodes_spans_are_bytes() {
        let src = "# — ü 日本語 comment\nschlüssel: wert ✓ ü\nlist: [日本, 'ä']\n";
        let y = parse(src);
        let r = root(&y);
        let e = y.get(r, "schlüssel").expect("key");
        assert_eq!(text(&y, e.key_id), "schlüssel");
        assert_eq!(text(&y, e.value), "wert ✓ ü");
        assert_eq!(y.span(e.key_id).start, pos(src, "schlüssel"));
        let list = val(&y, r, "list");
        assert_eq!(text(&y, list), "[日本, 'ä']");
        let items = y.seq(list).expect("seq");
        assert_eq!(text(&y, items[0]), "日本");
        assert_eq!(text(&y, items[1]), "'ä'");
        assert_eq!(y.str(items[1]), Some("ä"));
        assert_eq!(text(&y, r), &src[pos(src, "schlüssel")..src.len() - 1]);
        check_invariants(&y);
    }

    #[test]
    fn crlf_input() {
        let src = "a: 1\r\nb:\r\n  - x\r\n  - y z\r\nc: \"q\"\r\n";
        let y = parse(src);
        let r = root(&y);
        assert_eq!(y.str(val(&y, r, "a")), Some("1"));
        let b = val(&y, r, "b");
        assert_eq!(text(&y, b), "- x\r\n  - y z");
        assert_eq!(y.str(y.seq(b).expect("seq")[1]), Some("y z"));
        assert_eq!(text(&y, val(&y, r, "c")), "\"q\"");
        assert_eq!(text(&y, r), &src[..src.len() - 2]);
        check_invariants(&y);
    }

    #[test]
    fn bom_prefixed_offsets_include_bom() {
        let src = "\u{feff}image: docker:dind\nservices: [docker]\n";
        let y = parse(src);
        let r = root(&y);
        let e = y.get(r, "image").expect("image");
        assert_eq!(y.span(e.key_id), 3..8);
        assert_eq!(text(&y, e.value), "docker:dind");
        assert_eq!(y.span(e.value).start, pos(src, "docker:dind"));
        assert_eq!(y.span(r).start, 3);
        let bom_block = "\u{feff}|\n  x\n";
        let y = parse(bom_block);
        assert_eq!(y.span(root(&y)), 3..8);
        check_invariants(&y);
    }

    #[test]
    fn merge_single_and_override_order() {
        let src = "\
.defaults: &defaults
  image: alpine
  tags: [a]
  retry: 1
job:
  retry: 2
  <<: *defaults
  script: echo
";
        let y = parse(src);
        let job = val(&y, root(&y), "job");
        let entries = y.entries(job).expect("entries");
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["retry", "script", "image", "tags"]);
        let retry = y.get(job, "retry").expect("retry");
        assert_eq!(y.str(retry.value), Some("2"));
        assert!(!retry.merged);
        let image = y.get(job, "image").expect("image");
        assert!(image.merged);
        assert_eq!(y.str(image.value), Some("alpine"));
        // Spans of merged entries point into the anchored mapping.
        assert!(y.span(image.key_id).start < pos(src, "job:"));
        assert!(y.get(job, "missing").is_none());
        let merge_key = y.own_entries(job).expect("map")[1].0;
        assert!(y.is_merge_key(merge_key));
        check_invariants(&y);
    }

    #[test]
    fn merge_list_earlier_source_wins_and_recurses() {
        let src = "\
base: &base {a: base, z: base}
one: &one {a: one, b: one, <<: *base}
two: &two {b: two, c: two}
job:
  <<: [*one, *two]
  c: own
";
        let y = parse(src);
        let job = val(&y, root(&y), "job");
        let got: Vec<(String, String)> = y
            .entries(job)
            .expect("entries")
            .into_iter()
            .map(|e| (e.key, y.str(e.value).unwrap_or("?").to_owned()))
            .collect();
        let want: Vec<(String, String)> = [("c", "own"), ("a", "one"), ("b", "one"), ("z", "base")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(y.get(job, "z").map(|e| e.merged), Some(true));
    }

    #[test]
    fn two_merge_keys_accepted_and_not_duplicates() {
        let src = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: *a\n  <<: *b\n";
        let y = parse(src);
        let c = val(&y, root(&y), "c");
        assert_eq!(y.str(val(&y, c, "x")), Some("1"));
        assert_eq!(y.str(val(&y, c, "y")), Some("2"));
        assert!(y.duplicate_keys().is_empty());
    }

    #[test]
    fn quoted_merge_key_is_ordinary_and_scalar_merge_kept() {
        let src = "a: &a {x: 1}\nb:\n  \"<<\": *a\nc:\n  <<: plain\n";
        let y = parse(src);
        let r = root(&y);
        let b = val(&y, r, "b");
        assert!(y.get(b, "x").is_none());
        assert!(y.get(b, "<<").is_some());
        let c = val(&y, r, "c");
        assert_eq!(y.str(val(&y, c, "<<")), Some("plain"));
    }

    #[test]
    fn merge_cycle_terminates() {
        let src = "a: &a\n  x: 1\n  <<: *a\n";
        let y = parse(src);
        let a = val(&y, root(&y), "a");
        let e = y.entries(a).expect("entries");
        assert_eq!(e.len(), 1);
        let self_ref = parse("s: &s [1, *s]\n");
        let s = val(&self_ref, root(&self_ref), "s");
        let items = self_ref.seq(s).expect("seq");
        assert_eq!(self_ref.resolve(items[1]), s);
        check_invariants(&self_ref);
    }

    #[test]
    fn merge_depth_over_budget_is_too_complex() {
        let mut src = String::from("m0: &m0 {k0: 0}\n");
        for i in 1..=70 {
            src.push_str(&format!("m{i}: &m{i} {{k{i}: {i}, <<: *m{}}}\n", i - 1));
        }
        let y = parse(&src);
        let r = root(&y);
        let shallow = val(&y, r, "m10");
        assert_eq!(y.entries(shallow).expect("ok").len(), 11);
        let deep = val(&y, r, "m70");
        let err = y.entries(deep).expect_err("too deep");
        assert!(err.message.starts_with("too complex"), "{}", err.message);
        assert!(y.get(deep, "k0").is_none());
        // Own keys are still found without resolving merges.
        assert!(y.get(deep, "k70").is_some());
    }

    #[test]
    fn merge_node_budget_is_too_complex() {
        let mut src = String::new();
        for m in 0..2 {
            src.push_str(&format!("m{m}: &m{m} {{"));
            for k in 0..60_000 {
                src.push_str(&format!("k{k}: 0, "));
            }
            src.push_str("}\n");
        }
        src.push_str("j:\n  <<: [*m0, *m1]\n  own: 1\n");
        let y = parse(&src);
        let j = val(&y, root(&y), "j");
        let err = y.entries(j).expect_err("over budget");
        assert!(err.message.starts_with("too complex"), "{}", err.message);
        assert!(y.get(j, "own").is_some());
        let m0 = val(&y, root(&y), "m0");
        assert_eq!(y.entries(m0).expect("own only").len(), 60_000);
    }

    #[test]
    fn reference_tag_and_span() {
        let src = "job:\n  script:\n    - !reference [.setup, script]\n    - echo hi\n";
        let y = parse(src);
        let script = val(&y, val(&y, root(&y), "job"), "script");
        let first = y.seq(script).expect("seq")[0];
        let n = y.node(first);
        assert_eq!(n.tag.as_deref(), Some("!reference"));
        assert_eq!(text(&y, first), "[.setup, script]");
        let tag_span = n.tag_span.clone().expect("tag span");
        assert_eq!(&src[tag_span], "!reference");
        let parts: Vec<&str> = y
            .seq(first)
            .expect("seq")
            .iter()
            .filter_map(|&i| y.str(i))
            .collect();
        assert_eq!(parts, [".setup", "script"]);
        assert_eq!(
            text(&y, script),
            "- !reference [.setup, script]\n    - echo hi"
        );
    }

    #[test]
    fn quoted_keys() {
        let src = "\"double key\": 1\n'single ''key''': 2\n\"esc\\tkey\": 3\n";
        let y = parse(src);
        let r = root(&y);
        let d = y.get(r, "double key").expect("double");
        assert_eq!(text(&y, d.key_id), "\"double key\"");
        let s = y.get(r, "single 'key'").expect("single");
        assert_eq!(text(&y, s.key_id), "'single ''key'''");
        assert_eq!(y.str(val(&y, r, "esc\tkey")), Some("3"));
        match &y.node(d.key_id).kind {
            NodeKind::Scalar(sc) => {
                assert_eq!(sc.style, ScalarStyle::DoubleQuoted);
                assert_eq!(&src[sc.content_span.clone()], "double key");
            }
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn literal_block_span_and_src_offset_lf_and_crlf() {
        for nl in ["\n", "\r\n"] {
            let src = [
                "job:",
                "  script: |",
                "    echo one",
                "    docker run --privileged x",
                "",
                "  after: 1",
                "",
            ]
            .join(nl);
            let y = parse(&src);
            let job = val(&y, root(&y), "job");
            let script = val(&y, job, "script");
            assert_eq!(
                text(&y, script),
                format!("|{nl}    echo one{nl}    docker run --privileged x")
            );
            assert_eq!(y.str(script), Some("echo one\ndocker run --privileged x\n"));
            let vo = value_pos(&y, script, "--privileged");
            assert_eq!(y.scalar_src_offset(script, vo), pos(&src, "--privileged"));
            assert_eq!(y.scalar_src_offset(script, 0), pos(&src, "echo"));
            assert_eq!(
                text(&y, job),
                &src[pos(&src, "script")..pos(&src, "after: 1") + 8]
            );
            check_invariants(&y);
        }
    }

    #[test]
    fn block_scalar_headers_and_edges() {
        let src = "a: &x !!str |+2 # c | >\n    x\n\nb: >-\n  y  \nc: |\nd:\n  # note\n  |\n   z\n";
        let y = parse(src);
        let r = root(&y);
        let a = val(&y, r, "a");
        assert_eq!(text(&y, a), "|+2 # c | >\n    x");
        assert_eq!(y.str(a), Some("  x\n\n"));
        assert_eq!(y.node(a).anchor.as_deref(), Some("x"));
        assert_eq!(y.scalar_src_offset(a, 2), pos(src, "x\n"));
        let b = val(&y, r, "b");
        assert_eq!(text(&y, b), ">-\n  y  ");
        let c = val(&y, r, "c");
        assert_eq!(text(&y, c), "|");
        assert_eq!(y.str(c), Some(""));
        let d = val(&y, r, "d");
        assert_eq!(text(&y, d), "|\n   z");
        check_invariants(&y);
    }

    #[test]
    fn folded_block_src_offset() {
        let src = "k: >\n  alpha\n  beta gamma\n\n  delta\nz: 1\n";
        let y = parse(src);
        let k = val(&y, root(&y), "k");
        assert_eq!(y.str(k), Some("alpha beta gamma\ndelta\n"));
        assert_eq!(text(&y, k), ">\n  alpha\n  beta gamma\n\n  delta");
        for word in ["gamma", "delta", "beta"] {
            let vo = value_pos(&y, k, word);
            assert_eq!(y.scalar_src_offset(k, vo), pos(src, word), "{word}");
        }
    }

    #[test]
    fn double_quoted_escapes_mapping() {
        let src = "k: \"a\\tb \\u00e9 \\\"q\\\" docker \\\n    run\"\n";
        let y = parse(src);
        let k = val(&y, root(&y), "k");
        assert_eq!(y.str(k), Some("a\tb é \"q\" docker run"));
        let vo = value_pos(&y, k, "docker");
        assert_eq!(y.scalar_src_offset(k, vo), pos(src, "docker"));
        let vo = value_pos(&y, k, "run");
        assert_eq!(y.scalar_src_offset(k, vo), pos(src, "run"));
        let vo = value_pos(&y, k, "é");
        assert_eq!(y.scalar_src_offset(k, vo), pos(src, "\\u00e9"));
        // Inside a multi-byte char: floored to its start.
        assert_eq!(y.scalar_src_offset(k, vo + 1), pos(src, "\\u00e9"));
        assert_eq!(
            y.scalar_src_offset(k, 10_000),
            src.rfind('"').expect("quote")
        );
    }

    #[test]
    fn single_quoted_and_multiline_plain_mapping() {
        let src = "p: one\n  two three\n\n  four\ns: 'it''s\n   there'\n";
        let y = parse(src);
        let r = root(&y);
        let p = val(&y, r, "p");
        assert_eq!(y.str(p), Some("one two three\nfour"));
        assert_eq!(text(&y, p), "one\n  two three\n\n  four");
        for word in ["two", "three", "four"] {
            let vo = value_pos(&y, p, word);
            assert_eq!(y.scalar_src_offset(p, vo), pos(src, word), "{word}");
        }
        let s = val(&y, r, "s");
        assert_eq!(y.str(s), Some("it's there"));
        let vo = value_pos(&y, s, "there");
        assert_eq!(y.scalar_src_offset(s, vo), pos(src, "there"));
        assert_eq!(y.scalar_src_offset(s, 3), pos(src, "s\n"));
    }

    #[test]
    fn multiple_documents_and_empty_ones_skipped() {
        let src = "a: 1\n---\n---\nb: 2\n...\n--- |\n  text\n";
        let y = parse(src);
        let docs = y.documents();
        assert_eq!(docs.len(), 3);
        assert_eq!(y.str(val(&y, docs[0], "a")), Some("1"));
        assert_eq!(y.str(val(&y, docs[1], "b")), Some("2"));
        assert_eq!(text(&y, docs[2]), "|\n  text");
        assert_eq!(y.node(docs[1]).parent, None);
    }

    #[test]
    fn alias_bomb_costs_nothing() {
        let mut src = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            src.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        // A merge bomb too: each level merges the previous one nine times.
        src.push_str("m0: &m0 {x: 1}\n");
        for i in 1..9 {
            let refs = vec![format!("*m{}", i - 1); 9].join(",");
            src.push_str(&format!("m{i}: &m{i} {{<<: [{refs}], y{i}: 1}}\n"));
        }
        let start = Instant::now();
        let y = parse(&src);
        let r = root(&y);
        assert!(y.node_count() < 400);
        let i = val(&y, r, "i");
        assert_eq!(y.seq(i).map(<[NodeId]>::len), Some(9));
        let m8 = val(&y, r, "m8");
        assert_eq!(y.entries(m8).expect("entries").len(), 9);
        assert!(y.entries(r).is_ok());
        assert!(start.elapsed() < Duration::from_secs(2));
        check_invariants(&y);
    }

    #[test]
    fn deep_nesting_is_a_clean_error() {
        let flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let flow_map = format!("{}{}", "{a: ".repeat(10_000), "}".repeat(10_000));
        let block_seq = format!("{}x\n", "- ".repeat(10_000));
        let mut block_map = String::new();
        for depth in 0..300 {
            block_map.push_str(&" ".repeat(depth));
            block_map.push_str("k:\n");
        }
        for src in [flow, flow_map, block_seq, block_map] {
            let err = Yaml::parse(&src).expect_err("too deep");
            assert!(!err.message.is_empty());
            assert!(err.offset <= src.len());
        }
        let ok = format!("{}x{}", "[".repeat(200), "]".repeat(200));
        let y = parse(&ok);
        assert_eq!(y.span(root(&y)), 0..ok.len());
    }

    #[test]
    fn undefined_alias_is_an_error() {
        let src = "a: 1\nb: *nope\n";
        let err = Yaml::parse(src).expect_err("undefined");
        assert_eq!(err.message, "found undefined alias `nope`");
        assert_eq!(err.offset, pos(src, "*nope"));
        // An anchor from another document is not visible.
        assert!(Yaml::parse("a: &x 1\n---\nb: *x\n").is_err());
    }

    #[test]
    fn truncated_and_broken_inputs() {
        let cases = [
            "a: [1, 2\n",
            "a: \"abc\n",
            "a: 'abc",
            "a: {b: 1",
            "a:\n  - b\n c\n",
            "\"unterminated",
            "[",
            "a: b: c\n",
            "- a\nb: 1\n",
        ];
        for src in cases {
            let err = Yaml::parse(src).expect_err(src);
            assert!(!err.message.is_empty(), "{src}");
            assert!(err.offset <= src.len(), "{src}");
        }
        let err = Yaml::parse("a:\n  - b\n c\n").expect_err("bad");
        assert!(
            err.message.contains("did not find expected key"),
            "{}",
            err.message
        );
        assert_eq!(err.offset, 10);
        let err = Yaml::parse("x: ü\ny: [1, 2\n").expect_err("bad");
        assert_eq!(err.offset, pos("x: ü\ny: [1, 2\n", "["));
        // Every prefix of a rich document parses or fails cleanly.
        let full = "# ü\na: &a {k: \"v\\tw\"}\nb:\n  <<: *a\n  s: |\n    x\n  f: >-\n    y\n  l: ['q', z]\n";
        for end in (0..=full.len()).filter(|&e| full.is_char_boundary(e)) {
            if let Ok(y) = Yaml::parse(&full[..end]) {
                check_invariants(&y);
            }
        }
    }

    #[test]
    fn duplicate_keys_reported() {
        let src = "a: 1\nb: 2\na: 3\n\"b\": 4\nm: {x: 1, x: 2}\n";
        let y = parse(src);
        let d = y.duplicate_keys();
        assert_eq!(d.len(), 3);
        assert_eq!(&src[d[0].clone()], "a");
        assert_eq!(d[0].start, 10);
        assert_eq!(&src[d[1].clone()], "\"b\"");
        assert_eq!(d[2].start, src.rfind("x:").expect("x"));
        // Last occurrence wins, first position is kept.
        let r = root(&y);
        assert_eq!(y.str(val(&y, r, "a")), Some("3"));
        let e = y.entries(r).expect("entries");
        assert_eq!(e[0].key, "a");
        assert_eq!(y.str(e[0].value), Some("3"));
    }

    #[test]
    fn empty_and_comment_only_inputs() {
        for src in [
            "",
            "# only\n# comments\n",
            "   \n\n",
            "---\n",
            "---\n...\n",
            "\u{feff}",
        ] {
            let y = parse(src);
            assert!(y.documents().is_empty(), "{src:?}");
            assert!(y.duplicate_keys().is_empty());
        }
        let y = parse("~\n");
        assert_eq!(y.documents().len(), 1);
        assert!(y.is_null(root(&y)));
    }

    #[test]
    fn null_and_bool_helpers() {
        let src = "a:\nb: ~\nc: null\nd: NULL\ne: 'null'\nf: true\ng: \"true\"\nh: off\ni: Yes\nj: tRue\nk: !!bool false\nl: !!str true\nm: !!null x\nn: *x\nx: &x FALSE\n";
        let src = src.replace("n: *x\nx: &x FALSE\n", "x: &x FALSE\nn: *x\n");
        let y = parse(&src);
        let r = root(&y);
        let v = |k: &str| val(&y, r, k);
        for k in ["a", "b", "c", "d", "m"] {
            assert!(y.is_null(v(k)), "{k}");
        }
        for k in ["e", "f", "g", "x"] {
            assert!(!y.is_null(v(k)), "{k}");
        }
        assert_eq!(y.as_bool(v("f")), Some(true));
        assert_eq!(y.as_bool(v("g")), None);
        assert_eq!(y.as_bool(v("h")), Some(false));
        assert_eq!(y.as_bool(v("i")), Some(true));
        assert_eq!(y.as_bool(v("j")), None);
        assert_eq!(y.as_bool(v("k")), Some(false));
        assert_eq!(y.as_bool(v("l")), None);
        assert_eq!(y.as_bool(v("n")), Some(false));
        assert_eq!(y.str(v("n")), Some("FALSE"));
        assert_eq!(y.as_bool(r), None);
    }

    #[test]
    fn implicit_null_and_collection_spans() {
        let src = "a:\nb:   # c\n  - \n  -\nc: &x\n? d\n\ne: !!null\nf: [1, {g: h}]\n";
        let y = parse(src);
        let r = root(&y);
        assert_eq!(y.span(val(&y, r, "a")), 2..2);
        let b = val(&y, r, "b");
        assert_eq!(text(&y, b), "- \n  -");
        let c = val(&y, r, "c");
        let n = y.node(c);
        assert_eq!(&src[n.anchor_span.clone().expect("anchor")], "&x");
        assert_eq!(y.span(c).start, pos(src, "&x") + 2);
        let d = val(&y, r, "d");
        assert_eq!(y.span(d), pos(src, "d\n") + 1..pos(src, "d\n") + 1);
        let e = val(&y, r, "e");
        assert_eq!(y.span(e).start, pos(src, "!!null") + 6);
        let f = val(&y, r, "f");
        assert_eq!(text(&y, f), "[1, {g: h}]");
        assert_eq!(text(&y, y.seq(f).expect("seq")[1]), "{g: h}");
        assert_eq!(y.node(f).parent, Some(r));
        assert_eq!(text(&y, r), &src[..src.len() - 1]);
    }

    #[test]
    fn anchors_outside_collection_spans() {
        let src = "x: &m\n  k: v\ny: &s !t\n  - 1\n";
        let y = parse(src);
        let r = root(&y);
        let m = val(&y, r, "x");
        assert_eq!(text(&y, m), "k: v");
        assert_eq!(y.node(m).anchor.as_deref(), Some("m"));
        let s = val(&y, r, "y");
        assert_eq!(text(&y, s), "- 1");
        assert_eq!(y.node(s).tag.as_deref(), Some("!t"));
        assert_eq!(&src[y.node(s).tag_span.clone().expect("tag")], "!t");
    }

    #[test]
    fn invalid_ids_and_non_scalars_do_not_panic() {
        let y = parse("a: [1]\n");
        assert_eq!(y.span(9_999), 0..0);
        assert!(y.try_node(9_999).is_none());
        assert_eq!(y.str(9_999), None);
        assert!(!y.is_null(9_999));
        assert_eq!(y.as_bool(9_999), None);
        assert_eq!(y.scalar_src_offset(9_999, 5), 0);
        assert!(y.entries(9_999).expect("empty").is_empty());
        assert!(y.get(9_999, "a").is_none());
        let list = val(&y, root(&y), "a");
        assert_eq!(y.scalar_src_offset(list, 3), 3);
        assert!(y.get(list, "a").is_none());
    }

    #[test]
    fn huge_inputs() {
        let long = "x".repeat(1 << 20);
        let src = format!("k: {long}\nl: [{}]\n", vec!["a"; 20_000].join(", "));
        let y = parse(&src);
        let r = root(&y);
        let k = val(&y, r, "k");
        assert_eq!(y.span(k), 3..3 + (1 << 20));
        assert_eq!(y.scalar_src_offset(k, 500_000), 500_003);
        assert_eq!(y.seq(val(&y, r, "l")).map(<[NodeId]>::len), Some(20_000));
        let big_block = format!("s: |\n{}", "  docker run x\n".repeat(20_000));
        let y = parse(&big_block);
        let s = val(&y, root(&y), "s");
        let last = y.str(s).map_or(0, |v| v.len()) - 2;
        assert_eq!(y.scalar_src_offset(s, last), big_block.len() - 2);
    }

    #[test]
    fn mutated_inputs_never_panic() {
        let base = "# ü\n.a: &a\n  image: docker:dind\n  k: \"v\\tw \\u00e9\"\njob:\n  <<: *a\n  script: |\n    docker run --privileged\n  f: >-\n    y\n    z\n  l: ['q''r', {m: n}, !reference [.a, k]]\n--- x\n";
        let bytes = base.as_bytes();
        let alphabet = b" \n\t:-?|>&*!#'\"[]{},\\%@`";
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut parsed = 0;
        for _ in 0..1_500 {
            let mut m = bytes.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = usize::try_from(next() % m.len() as u64).unwrap_or(0);
                let c = alphabet[usize::try_from(next() % alphabet.len() as u64).unwrap_or(0)];
                match next() % 3 {
                    0 => m[at] = c,
                    1 => m.insert(at, c),
                    _ => {
                        m.remove(at);
                    }
                }
            }
            let Ok(src) = String::from_utf8(m) else {
                continue;
            };
            if let Ok(y) = Yaml::parse(&src) {
                parsed += 1;
                check_invariants(&y);
            }
        }
        assert!(parsed > 100, "only {parsed} mutants parsed");
    }
}
