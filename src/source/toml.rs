//! TOML reading with spans, through `toml_edit`: the document keeps every key and value's
//! byte range so runner findings point at the exact line.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// A TOML parse error with its byte offset.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TomlError {
    /// What is wrong.
    pub message: String,
    /// Byte offset.
    pub offset: usize,
}

/// Parse TOML keeping spans.
pub fn parse(src: &str) -> Result<Document<String>, TomlError> {
    Document::parse(src.to_string()).map_err(|e| TomlError {
        message: e.message().trim().to_string(),
        offset: e.span().map(|s| s.start).unwrap_or(0),
    })
}

/// Span of an item's value.
pub fn item_span(item: &Item) -> Option<Range<usize>> {
    item.span()
}

/// Span of a value.
pub fn value_span(v: &Value) -> Option<Range<usize>> {
    v.span()
}

/// A sub-table by dotted path (`["runners", "docker"]`), through tables and inline tables.
pub fn table_at<'a>(t: &'a Table, path: &[&str]) -> Option<&'a Table> {
    let mut cur = t;
    for p in path {
        cur = cur.get(p)?.as_table()?;
    }
    Some(cur)
}
