//! Character-boundary-safe views of source text. Offsets come from parsers, from arithmetic on
//! spans (`end - 1`, `start + 2`) and from other files' texts; any of them may land inside a
//! multi-byte character. These helpers never panic: a start is moved back and an end forward
//! to the nearest character boundary (widening the range to whole characters), and offsets
//! past the end are clamped.

use std::ops::Range;

/// The largest character boundary at or before `i` (the length when `i` is past the end).
pub fn floor(s: &str, i: usize) -> usize {
    s.floor_char_boundary(i)
}

/// The smallest character boundary at or after `i` (the length when `i` is past the end).
pub fn ceil(s: &str, i: usize) -> usize {
    s.ceil_char_boundary(i)
}

/// `s[r]` widened to whole characters and clamped to the text; empty when `r` is reversed.
pub fn slice(s: &str, r: Range<usize>) -> &str {
    let start = floor(s, r.start);
    let end = ceil(s, r.end);
    s.get(start..end.max(start)).unwrap_or_default()
}

/// The text before `end` (moved back to a character boundary).
pub fn before(s: &str, end: usize) -> &str {
    s.get(..floor(s, end)).unwrap_or_default()
}

/// The text from `start` on (moved forward to a character boundary).
pub fn after(s: &str, start: usize) -> &str {
    s.get(ceil(s, start)..).unwrap_or_default()
}

/// Split at `i` moved back to a character boundary.
pub fn split_at(s: &str, i: usize) -> (&str, &str) {
    s.split_at(floor(s, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::reversed_empty_ranges)]
    fn offsets_inside_a_character_widen_or_clamp() {
        let s = "aЗb"; // 'З' is bytes 1..3
        assert_eq!(floor(s, 2), 1);
        assert_eq!(ceil(s, 2), 3);
        assert_eq!(floor(s, 99), 4);
        assert_eq!(ceil(s, 99), 4);
        assert_eq!(slice(s, 2..3), "З");
        assert_eq!(slice(s, 0..2), "aЗ");
        assert_eq!(slice(s, 3..1), "");
        assert_eq!(slice(s, 7..9), "");
        assert_eq!(before(s, 2), "a");
        assert_eq!(after(s, 2), "b");
        assert_eq!(after(s, 9), "");
        assert_eq!(split_at(s, 2), ("a", "Зb"));
        assert_eq!(split_at(s, 40), ("aЗb", ""));
    }
}
