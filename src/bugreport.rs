//! What a panic reports: the file being processed on the panicking thread (set by the scan
//! and the rewriters with [`processing`]) and the one short message the binary's panic hook
//! prints instead of a raw panic dump.

use std::cell::RefCell;

/// Where bugs are reported.
pub const ISSUES_URL: &str = "https://github.com/depriv/depriv/issues";

thread_local! {
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Marks `path` as the file this thread is processing until the guard is dropped (the previous
/// one is restored then, so nested calls work).
pub fn processing(path: &str) -> Processing {
    let previous = CURRENT.with(|c| c.replace(Some(path.to_string())));
    Processing { previous }
}

/// Restores the previous file on drop; see [`processing`].
#[must_use = "the file is only marked while the guard lives"]
pub struct Processing {
    previous: Option<String>,
}

impl Drop for Processing {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// The file this thread is processing, if any.
pub fn current_file() -> Option<String> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The message for a panic: version, file (if known), what and where, and where to report it.
pub fn message(version: &str, file: Option<&str>, what: &str, location: Option<&str>) -> String {
    let file = file.map_or_else(String::new, |f| format!(" while processing {f}"));
    let at = location.map_or_else(String::new, |l| format!(" ({l})"));
    // Panic messages may quote whole inputs: keep the first line, at most 160 characters.
    let mut short: String = what
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect();
    if short.len() < what.trim_end().len() {
        short.push('…');
    }
    let what = short;
    format!(
        "depriv {version} hit a bug{file}: {what}{at}\n\
         Please report it at {ISSUES_URL} with the command you ran and, if you can share it, \
         the file."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_known_while_the_guard_lives() {
        assert_eq!(current_file(), None);
        {
            let _a = processing(".gitlab-ci.yml");
            assert_eq!(current_file().as_deref(), Some(".gitlab-ci.yml"));
            {
                let _b = processing("ci/build.yml");
                assert_eq!(current_file().as_deref(), Some("ci/build.yml"));
            }
            assert_eq!(current_file().as_deref(), Some(".gitlab-ci.yml"));
        }
        assert_eq!(current_file(), None);
    }

    #[test]
    fn message_names_version_file_and_where_to_report() {
        let m = message(
            "1.2.3",
            Some(".gitlab-ci.yml"),
            "byte index 39 is not a char boundary",
            Some("src/x.rs:1:2"),
        );
        assert_eq!(
            m.lines().next(),
            Some(
                "depriv 1.2.3 hit a bug while processing .gitlab-ci.yml: byte index 39 is not a \
                 char boundary (src/x.rs:1:2)"
            )
        );
        assert!(m.contains(ISSUES_URL), "{m}");
        let m = message("1.2.3", None, "boom", None);
        assert!(m.starts_with("depriv 1.2.3 hit a bug: boom\n"), "{m}");
        let long = format!("inside 'З' of `{}`\nmore", "x".repeat(500));
        let m = message("1.2.3", None, &long, None);
        let first = m.lines().next().unwrap_or_default();
        assert!(
            first.ends_with('…') && first.chars().count() < 200,
            "{first}"
        );
        assert_eq!(m.lines().count(), 2, "{m}");
    }
}
