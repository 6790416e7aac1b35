//! Rules shared by the subcommands: which format a `--output`/`--report` file gets, and what
//! PATH means (a repository directory, or a file scanned in its repository's context).

use std::path::{Path, PathBuf};

use anyhow::bail;
use depriv::report::Format;
use depriv::report::migration::ReportFormat;

fn ext_of(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn scan_name(f: Format) -> &'static str {
    match f {
        Format::Text => "text",
        Format::Json => "json",
        Format::Sarif => "sarif",
    }
}

fn report_name(f: ReportFormat) -> &'static str {
    match f {
        ReportFormat::Md => "md",
        ReportFormat::Json => "json",
        ReportFormat::Sarif => "sarif",
        ReportFormat::Html => "html",
    }
}

/// The format of `scan`: `--format` when given, else from the `--output` extension (`.txt`,
/// `.json`, `.sarif`), else text. An extension that is unknown or contradicts `--format` is
/// an error, so a file never holds something its name does not promise.
pub fn scan_format(explicit: Option<Format>, output: Option<&Path>) -> anyhow::Result<Format> {
    let Some(ext) = output.and_then(ext_of) else {
        return Ok(explicit.unwrap_or(Format::Text));
    };
    let by_ext = match ext.as_str() {
        "txt" | "text" | "log" => Some(Format::Text),
        "json" => Some(Format::Json),
        "sarif" => Some(Format::Sarif),
        _ => None,
    };
    let shown = output.map(|p| p.display().to_string()).unwrap_or_default();
    match (explicit, by_ext) {
        (None, Some(f)) => Ok(f),
        (Some(f), Some(e)) if f == e || (f == Format::Sarif && e == Format::Json) => Ok(f),
        (Some(f), Some(_)) => bail!(
            "--format {} does not match the extension of {shown}; name the file .{} or drop --format",
            scan_name(f),
            match f {
                Format::Text => "txt",
                Format::Json => "json",
                Format::Sarif => "sarif",
            }
        ),
        (_, None) => bail!(
            "cannot tell the format of {shown} from `.{ext}`: use .txt, .json or .sarif (the format follows the extension)"
        ),
    }
}

/// The format of a report (`report --output`, `migrate --report`, `--accept-defaults`):
/// `--format` when given, else from the extension (`.md`, `.json`, `.sarif`, `.html`), else
/// Markdown. Unknown or contradicting extensions are errors, as for `scan`.
pub fn report_format(
    explicit: Option<ReportFormat>,
    output: Option<&Path>,
) -> anyhow::Result<ReportFormat> {
    let Some(ext) = output.and_then(ext_of) else {
        return Ok(explicit.unwrap_or(ReportFormat::Md));
    };
    let by_ext = output.and_then(ReportFormat::from_path);
    let shown = output.map(|p| p.display().to_string()).unwrap_or_default();
    match (explicit, by_ext) {
        (None, Some(f)) => Ok(f),
        (Some(f), Some(e)) if f == e || (f == ReportFormat::Sarif && e == ReportFormat::Json) => {
            Ok(f)
        }
        (Some(f), Some(_)) => bail!(
            "--format {} does not match the extension of {shown}; name the file .{} or drop --format",
            report_name(f),
            report_name(f)
        ),
        (_, None) => bail!(
            "cannot tell the report format of {shown} from `.{ext}`: use .md, .json, .sarif or .html (the format follows the extension)"
        ),
    }
}

/// What PATH names: the repository to open and, when PATH is a file, that file's path
/// relative to it (the repository is the nearest directory above it with `.git`, else the
/// file's directory).
pub struct Target {
    /// Repository root to open.
    pub root: PathBuf,
    /// The one file to report on, root-relative with `/` separators.
    pub only: Option<String>,
}

/// Resolve PATH (see [`Target`]). Anything that is neither a directory nor a file is left to
/// the session, which reports it.
pub fn target(path: &Path) -> Target {
    if !path.is_file() {
        return Target {
            root: path.to_path_buf(),
            only: None,
        };
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = dir
        .ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.clone());
    // A symbolic link is read at its target (as the walk does), so name the target.
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.clone());
    let rel = abs
        .canonicalize()
        .ok()
        .and_then(|c| {
            c.strip_prefix(&canon_root)
                .ok()
                .map(depriv::discover::rel_string)
        })
        .or_else(|| {
            abs.strip_prefix(&root)
                .ok()
                .map(depriv::discover::rel_string)
        })
        .unwrap_or_default();
    // Show the root the way the user wrote the path (relative stays relative).
    let shown_root = relative_root(path, &abs, &root);
    Target {
        root: shown_root,
        only: Some(rel),
    }
}

fn relative_root(given: &Path, abs: &Path, root: &Path) -> PathBuf {
    if given.is_absolute() {
        return root.to_path_buf();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return root.to_path_buf();
    };
    if let Ok(r) = root.strip_prefix(&cwd) {
        return if r.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            r.to_path_buf()
        };
    }
    let _ = abs;
    root.to_path_buf()
}
