//! Source text: files as read from disk, byte spans, and the line index that turns a byte
//! offset into the line and column a user sees in an editor (BOM not counted, CRLF as one
//! line break). The format readers (YAML, shell, Groovy, TOML, JSON) live in sub-modules and
//! only ever speak byte offsets into the original text; [`text`] turns those offsets into
//! slices without ever splitting a character.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod docker_cmd;
pub mod jenkins_groovy;
pub mod json;
pub mod shell;
pub mod text;
pub mod toml;
pub mod yaml;

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

/// A half-open byte range into one file's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from a range.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }
    /// The span as a range.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Span {
        Span::new(r.start, r.end)
    }
}

/// Index of line starts for byte offset → (line, column) conversion.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    bom: usize,
}

/// A 1-based line and column (column counted in characters, as editors show it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
}

impl LineIndex {
    /// Build the index of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        LineIndex { starts, bom }
    }

    /// Number of lines (a final line without newline counts).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 0-based line index containing `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte range of 0-based line `line` without its line break.
    pub fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let start = self.starts.get(line).copied().unwrap_or(text.len());
        let mut end = self
            .starts
            .get(line + 1)
            .map(|s| s.saturating_sub(1))
            .unwrap_or(text.len());
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        let start = if line == 0 { start + self.bom } else { start };
        start.min(end)..end
    }

    /// 1-based line and character column of `offset` in `text`.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let mut start = self.starts.get(line).copied().unwrap_or(0);
        if line == 0 {
            start = start.min(offset).max(self.bom.min(offset));
        }
        let column = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start)
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }
}

/// Identifies a file within one scan.
pub type FileId = u32;

/// A location: a span in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// The file.
    pub file: FileId,
    /// Byte span in that file.
    pub span: Span,
}

impl Loc {
    /// A location from a file and a range.
    pub fn new(file: FileId, span: impl Into<Span>) -> Loc {
        Loc {
            file,
            span: span.into(),
        }
    }
}

/// One file read for scanning.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// The full text (BOM kept, so offsets equal file byte offsets).
    pub text: Arc<str>,
    /// Line index of `text`.
    pub lines: LineIndex,
}

impl SourceFile {
    /// Wrap a text read from `path`.
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        let text: Arc<str> = text.into();
        let lines = LineIndex::new(&text);
        SourceFile {
            path: path.into(),
            text,
            lines,
        }
    }

    /// Line/column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        self.lines.line_col(&self.text, offset)
    }

    /// The text of the 1-based line `line` (no line break).
    pub fn line_text(&self, line: usize) -> &str {
        if line == 0 {
            return "";
        }
        let r = self.lines.line_range(&self.text, line - 1);
        self.text.get(r).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_lf_crlf_bom() {
        let f = SourceFile::new("a", "ab\r\ncd\nä x\n");
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(4), LineCol { line: 2, column: 1 });
        assert_eq!(f.line_col(5), LineCol { line: 2, column: 2 });
        // "ä" is two bytes: the space after it is column 2
        assert_eq!(f.line_col(9), LineCol { line: 3, column: 2 });
        assert_eq!(f.line_text(1), "ab");
        assert_eq!(f.line_text(3), "ä x");
        let b = SourceFile::new("b", "\u{feff}key: v\nx: y");
        assert_eq!(b.line_col(3), LineCol { line: 1, column: 1 });
        assert_eq!(b.line_col(8), LineCol { line: 1, column: 6 });
        assert_eq!(b.line_text(1), "key: v");
        assert_eq!(b.line_col(10), LineCol { line: 2, column: 1 });
    }

    #[test]
    fn offset_past_end_is_clamped() {
        let f = SourceFile::new("a", "x\n");
        assert_eq!(f.line_col(99).line, 2);
        assert_eq!(f.line_text(7), "");
    }
}
