//! Byte-range edits on original file text. A rewrite never re-serialises a file: it produces
//! [`Edit`]s, which are applied as non-overlapping replacements so every byte outside them
//! stays as it was (comments, anchors, quoting, CRLF, BOM). An edit that would split a
//! character is refused with an error, never applied.

#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

use serde::{Deserialize, Serialize};

/// Replace `start..end` of the file at `path` with `text`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edit {
    /// Root-relative path.
    pub path: String,
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced (`start == end` inserts).
    pub end: usize,
    /// Replacement text.
    pub text: String,
}

impl Edit {
    /// A replacement.
    pub fn replace(path: &str, start: usize, end: usize, text: impl Into<String>) -> Edit {
        Edit {
            path: path.to_string(),
            start,
            end: end.max(start),
            text: text.into(),
        }
    }
    /// An insertion at `at`.
    pub fn insert(path: &str, at: usize, text: impl Into<String>) -> Edit {
        Edit::replace(path, at, at, text)
    }
    /// A deletion.
    pub fn delete(path: &str, start: usize, end: usize) -> Edit {
        Edit::replace(path, start, end, "")
    }
}

/// Why edits could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Two edits touch the same bytes.
    #[error("overlapping edits at bytes {0}..{1} and {2}..{3}")]
    Overlap(usize, usize, usize, usize),
    /// An edit points outside the text or inside a UTF-8 character.
    #[error("edit {0}..{1} is outside the text or splits a character")]
    OutOfRange(usize, usize),
}

/// Sort and de-duplicate edits of one file; identical edits collapse, overlapping ones are an
/// error. Two insertions at the same offset are kept in their given order.
pub fn normalise(mut edits: Vec<Edit>) -> Result<Vec<Edit>, EditError> {
    edits.dedup();
    let mut indexed: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    indexed.sort_by_key(|(i, e)| (e.start, e.end, *i));
    let mut out: Vec<Edit> = Vec::with_capacity(indexed.len());
    for (_, e) in indexed {
        if let Some(last) = out.last() {
            if *last == e {
                continue;
            }
            let last_is_insert = last.start == last.end;
            if e.start < last.end || (e.start == last.start && !last_is_insert && e.start != e.end)
            {
                return Err(EditError::Overlap(last.start, last.end, e.start, e.end));
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// Apply edits to `src` (all for the same file).
pub fn apply(src: &str, edits: &[Edit]) -> Result<String, EditError> {
    let edits = normalise(edits.to_vec())?;
    let mut out = String::with_capacity(src.len() + 256);
    let mut pos = 0;
    for e in &edits {
        // `get` is `None` past the end, inside a character and for a reversed range.
        let kept = src
            .get(pos..e.start)
            .filter(|_| src.is_char_boundary(e.end) && e.end <= src.len())
            .ok_or(EditError::OutOfRange(e.start, e.end))?;
        out.push_str(kept);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(src.get(pos..).unwrap_or_default());
    Ok(out)
}

/// The byte ranges of `old` that no edit touches, paired with where they sit in `new`; used by
/// tests to prove untouched bytes stay untouched.
pub fn untouched(old_len: usize, edits: &[Edit]) -> Vec<(std::ops::Range<usize>, usize)> {
    let Ok(edits) = normalise(edits.to_vec()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut shift: isize = 0;
    for e in &edits {
        if e.start > pos {
            out.push((pos..e.start, (pos as isize + shift) as usize));
        }
        shift += e.text.len() as isize - (e.end - e.start) as isize;
        pos = e.end;
    }
    if pos < old_len {
        out.push((pos..old_len, (pos as isize + shift) as usize));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order_and_keeps_the_rest() {
        let src = "a: 1\nb: 2\nc: 3\n";
        let edits = vec![
            Edit::replace("f", 8, 9, "20"),
            Edit::insert("f", 0, "# top\n"),
            Edit::delete("f", 10, 15),
        ];
        let out = apply(src, &edits).expect("apply");
        assert_eq!(out, "# top\na: 1\nb: 20\n");
        for (r, at) in untouched(src.len(), &edits) {
            assert_eq!(&src[r.clone()], &out[at..at + r.len()]);
        }
    }

    #[test]
    fn overlap_is_an_error_and_duplicates_collapse() {
        let e = Edit::replace("f", 2, 5, "x");
        assert_eq!(
            apply("0123456", &[e.clone(), e.clone()]).as_deref(),
            Ok("01x56")
        );
        assert!(matches!(
            apply("0123456", &[e, Edit::replace("f", 4, 6, "y")]),
            Err(EditError::Overlap(..))
        ));
        assert!(matches!(
            apply("ab", &[Edit::replace("f", 1, 9, "")]),
            Err(EditError::OutOfRange(..))
        ));
        assert!(matches!(
            apply("é", &[Edit::replace("f", 1, 2, "")]),
            Err(EditError::OutOfRange(..))
        ));
    }
}
