//! The diff viewer's document: one file's unified diff — exactly the text
//! [`crate::migrate::FileChange::unified_diff`] returns, which is what `migrate --dry-run`
//! prints — split once into numbered lines, its hunk positions, and a side-by-side pairing of
//! the same lines. Drawing then only slices the visible window, so a 5,000-line file scrolls
//! as fast as a 5-line one.

/// What a diff line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--- a/…` or `+++ b/…`.
    Header,
    /// `@@ -a,b +c,d @@`.
    Hunk,
    /// An unchanged line.
    Context,
    /// An added line.
    Added,
    /// A removed line.
    Removed,
    /// `\ No newline at end of file` and anything unrecognised.
    Note,
}

/// One line of the unified diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Kind.
    pub kind: Kind,
    /// Line number in the original file.
    pub old: Option<usize>,
    /// Line number in the new file.
    pub new: Option<usize>,
    /// The line as the unified diff prints it, with its `+`/`-`/` ` prefix, without its line
    /// ending.
    pub text: String,
}

impl Line {
    /// The text without the diff prefix (for side-by-side).
    pub fn body(&self) -> &str {
        match self.kind {
            Kind::Context | Kind::Added | Kind::Removed => self.text.get(1..).unwrap_or(""),
            _ => &self.text,
        }
    }
}

/// One side-by-side row: indices into [`DiffDoc::lines`] for the old and new side. A header,
/// hunk or note spans both sides (same index on each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Old side.
    pub left: Option<usize>,
    /// New side.
    pub right: Option<usize>,
}

/// A parsed unified diff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffDoc {
    /// Unified lines, in order.
    pub lines: Vec<Line>,
    /// Indices of hunk headers in `lines`.
    pub hunks: Vec<usize>,
    /// Side-by-side rows.
    pub rows: Vec<Row>,
    /// Indices of hunk headers in `rows`.
    pub row_hunks: Vec<usize>,
}

/// `@@ -a,b +c,d @@` → (a, c).
fn hunk_starts(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let new = rest.split(' ').next()?;
    let num = |s: &str| s.split(',').next().and_then(|n| n.parse::<usize>().ok());
    Some((num(old)?, num(new)?))
}

impl DiffDoc {
    /// Parse a unified diff.
    pub fn parse(unified: &str) -> DiffDoc {
        let mut doc = DiffDoc::default();
        let (mut old, mut new) = (0usize, 0usize);
        let mut in_hunk = false;
        for raw in unified.split_inclusive('\n') {
            let text = raw
                .strip_suffix('\n')
                .unwrap_or(raw)
                .trim_end_matches('\r')
                .to_string();
            let kind = if !in_hunk && (text.starts_with("--- ") || text.starts_with("+++ ")) {
                Kind::Header
            } else if text.starts_with("@@") {
                match hunk_starts(&text) {
                    Some((o, n)) => {
                        old = o;
                        new = n;
                        in_hunk = true;
                        Kind::Hunk
                    }
                    None => Kind::Note,
                }
            } else if !in_hunk {
                Kind::Note
            } else if text.starts_with('+') {
                Kind::Added
            } else if text.starts_with('-') {
                Kind::Removed
            } else if text.starts_with(' ') || text.is_empty() {
                Kind::Context
            } else {
                Kind::Note
            };
            let (o, n) = match kind {
                Kind::Context => {
                    let r = (Some(old), Some(new));
                    old = old.saturating_add(1);
                    new = new.saturating_add(1);
                    r
                }
                Kind::Added => {
                    let r = (None, Some(new));
                    new = new.saturating_add(1);
                    r
                }
                Kind::Removed => {
                    let r = (Some(old), None);
                    old = old.saturating_add(1);
                    r
                }
                _ => (None, None),
            };
            if kind == Kind::Hunk {
                doc.hunks.push(doc.lines.len());
            }
            doc.lines.push(Line {
                kind,
                old: o,
                new: n,
                text,
            });
        }
        doc.pair();
        doc
    }

    /// Build the side-by-side rows: runs of removed lines face the added lines that follow.
    fn pair(&mut self) {
        let mut i = 0;
        let n = self.lines.len();
        while i < n {
            let kind = self.lines.get(i).map(|l| l.kind);
            match kind {
                Some(Kind::Removed) | Some(Kind::Added) => {
                    let del_start = i;
                    while self.lines.get(i).is_some_and(|l| l.kind == Kind::Removed) {
                        i += 1;
                    }
                    let add_start = i;
                    while self.lines.get(i).is_some_and(|l| l.kind == Kind::Added) {
                        i += 1;
                    }
                    let dels = add_start - del_start;
                    let adds = i - add_start;
                    for k in 0..dels.max(adds) {
                        self.rows.push(Row {
                            left: (k < dels).then_some(del_start + k),
                            right: (k < adds).then_some(add_start + k),
                        });
                    }
                }
                Some(k) => {
                    if k == Kind::Hunk {
                        self.row_hunks.push(self.rows.len());
                    }
                    self.rows.push(Row {
                        left: Some(i),
                        right: Some(i),
                    });
                    i += 1;
                }
                None => break,
            }
        }
    }

    /// Number of rows in a mode.
    pub fn len(&self, side_by_side: bool) -> usize {
        if side_by_side {
            self.rows.len()
        } else {
            self.lines.len()
        }
    }

    /// Whether the diff is empty.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Hunk positions in a mode.
    pub fn hunk_positions(&self, side_by_side: bool) -> &[usize] {
        if side_by_side {
            &self.row_hunks
        } else {
            &self.hunks
        }
    }

    /// The furthest a view of `rows` rows may scroll: to the end, or far enough that the last
    /// hunk can sit at the top.
    pub fn max_scroll(&self, side_by_side: bool, rows: usize) -> usize {
        let last = self
            .hunk_positions(side_by_side)
            .last()
            .copied()
            .unwrap_or(0);
        self.len(side_by_side).saturating_sub(rows).max(last)
    }

    /// The first hunk after `pos` (or `pos` when none).
    pub fn next_hunk(&self, pos: usize, side_by_side: bool) -> usize {
        self.hunk_positions(side_by_side)
            .iter()
            .copied()
            .find(|h| *h > pos)
            .unwrap_or(pos)
    }

    /// The last hunk before `pos` (or the first line when none).
    pub fn prev_hunk(&self, pos: usize, side_by_side: bool) -> usize {
        self.hunk_positions(side_by_side)
            .iter()
            .copied()
            .rev()
            .find(|h| *h < pos)
            .unwrap_or(0)
    }

    /// The hunk number (0-based) a position lies in.
    pub fn hunk_at(&self, pos: usize, side_by_side: bool) -> usize {
        self.hunk_positions(side_by_side)
            .iter()
            .take_while(|h| **h <= pos)
            .count()
            .saturating_sub(1)
    }

    /// The same place in the other mode: the start of the same hunk.
    pub fn convert(&self, pos: usize, from_side_by_side: bool) -> usize {
        let h = self.hunk_at(pos, from_side_by_side);
        if self
            .hunk_positions(from_side_by_side)
            .first()
            .is_some_and(|f| pos < *f)
        {
            return 0;
        }
        self.hunk_positions(!from_side_by_side)
            .get(h)
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::FileChange;
    use std::sync::Arc;

    fn change(before: &str, after: &str) -> FileChange {
        FileChange {
            path: "a.yml".into(),
            before: Arc::from(before),
            after: after.to_string(),
            edits: Vec::new(),
            added: 0,
            removed: 0,
        }
    }

    #[test]
    fn numbers_lines_and_finds_hunks() {
        let before: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let after = before
            .replace("line 5\n", "line five\n")
            .replace("line 30\n", "line 30\nline 30b\n");
        let doc = DiffDoc::parse(&change(&before, &after).unified_diff());
        assert_eq!(doc.hunks.len(), 2);
        assert_eq!(doc.lines.first().map(|l| l.kind), Some(Kind::Header));
        let removed: Vec<_> = doc
            .lines
            .iter()
            .filter(|l| l.kind == Kind::Removed)
            .collect();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed.first().and_then(|l| l.old), Some(5));
        let added: Vec<_> = doc
            .lines
            .iter()
            .filter(|l| l.kind == Kind::Added)
            .map(|l| (l.new, l.body()))
            .collect();
        assert_eq!(added, vec![(Some(5), "line five"), (Some(31), "line 30b")]);
        // Unified text round-trips exactly.
        let text: String = doc.lines.iter().map(|l| format!("{}\n", l.text)).collect();
        assert_eq!(text, change(&before, &after).unified_diff());
    }

    #[test]
    fn side_by_side_pairs_removals_with_additions() {
        let doc = DiffDoc::parse(&change("a\nb\nc\n", "a\nB\nB2\nc\n").unified_diff());
        let pairs: Vec<(Option<&str>, Option<&str>)> = doc
            .rows
            .iter()
            .filter(|r| r.left != r.right)
            .map(|r| {
                (
                    r.left.and_then(|i| doc.lines.get(i)).map(Line::body),
                    r.right.and_then(|i| doc.lines.get(i)).map(Line::body),
                )
            })
            .collect();
        assert_eq!(pairs, vec![(Some("b"), Some("B")), (None, Some("B2"))]);
        assert_eq!(doc.row_hunks.len(), 1);
    }

    #[test]
    fn hunk_navigation_and_mode_conversion() {
        let before: String = (1..=100).map(|i| format!("{i}\n")).collect();
        let after = before
            .replace("\n10\n", "\nten\n")
            .replace("\n50\n", "\nfifty\n")
            .replace("\n90\n", "\nninety\n");
        let doc = DiffDoc::parse(&change(&before, &after).unified_diff());
        assert_eq!(doc.hunks.len(), 3);
        let h1 = doc.next_hunk(0, false);
        let h2 = doc.next_hunk(h1, false);
        let h3 = doc.next_hunk(h2, false);
        assert!(h1 < h2 && h2 < h3);
        assert_eq!(doc.next_hunk(h3, false), h3);
        assert_eq!(doc.prev_hunk(h3, false), h2);
        assert_eq!(doc.prev_hunk(h1, false), 0);
        assert_eq!(doc.hunk_at(h2 + 1, false), 1);
        let s2 = doc.convert(h2 + 2, false);
        assert_eq!(doc.row_hunks.get(1).copied(), Some(s2));
        assert_eq!(doc.convert(s2, true), h2);
        assert_eq!(doc.convert(0, false), 0);
        assert_eq!(doc.max_scroll(false, 1000), h3);
        assert_eq!(doc.max_scroll(false, 1), doc.lines.len() - 1);
        assert_eq!(DiffDoc::default().max_scroll(true, 10), 0);
    }

    #[test]
    fn hostile_input_never_panics() {
        for text in [
            "",
            "@@",
            "@@ -x +y @@\n+a\n",
            "@@ -1 +1 @@\n-\n+\n\\ No newline at end of file\n",
            "+++ b\n--- a\n",
            "garbage\n\n\r\n",
            "@@ -18446744073709551615,1 +18446744073709551615,1 @@\n a\n b\n",
        ] {
            let d = DiffDoc::parse(text);
            // Every line appears on some side-by-side row.
            for i in 0..d.lines.len() {
                assert!(
                    d.rows
                        .iter()
                        .any(|r| r.left == Some(i) || r.right == Some(i)),
                    "line {i} of {text:?} lost"
                );
            }
            let _ = d.next_hunk(usize::MAX, true);
            let _ = d.convert(usize::MAX, false);
        }
        let d = DiffDoc::parse("@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n");
        assert_eq!(d.lines.last().map(|l| l.kind), Some(Kind::Note));
        assert!(!d.is_empty());
        assert!(DiffDoc::parse("").is_empty());
    }

    #[test]
    fn large_file_parses_quickly() {
        let before: String = (0..5000).map(|i| format!("key{i}: value\n")).collect();
        let after = before.replace(": value", ": other");
        let start = std::time::Instant::now();
        let doc = DiffDoc::parse(&change(&before, &after).unified_diff());
        assert_eq!(
            doc.lines.iter().filter(|l| l.kind == Kind::Added).count(),
            5000
        );
        assert_eq!(doc.rows.iter().filter(|r| r.left != r.right).count(), 5000);
        assert!(start.elapsed().as_secs() < 5);
    }
}
