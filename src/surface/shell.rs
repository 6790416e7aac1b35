//! Shell scripts, Makefiles, Dockerfiles and `.env` files: one pipeline per file, facts from
//! every command (Makefile recipes and variable definitions, Dockerfile `RUN`/`CMD`/
//! `ENTRYPOINT`, `ENV` and `.env` assignments are read as shell).

use crate::finding::Surface;
use crate::model::{LocFact, Pipeline};
use crate::source::{FileId, Loc, SourceFile, Span};
use crate::source::{docker_cmd, text};

/// Where a quote opened that never closes (shell scripts only): the lexer reads to the end of the
/// file in that case, so the user is told where the script stops making sense.
pub fn unterminated_quote(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut at_word_start = true;
    let mut heredoc: Option<String> = None;
    while i < b.len() {
        if let Some(delim) = &heredoc {
            // Skip the body up to the line equal to the delimiter.
            let line_end = text::after(text, i).find('\n').map_or(b.len(), |p| i + p);
            let line = text::slice(text, i..line_end).trim_end_matches('\r');
            if line.trim_start_matches('\t') == delim {
                heredoc = None;
            }
            i = line_end + 1;
            at_word_start = true;
            continue;
        }
        match b.get(i).copied().unwrap_or_default() {
            b'\\' => i += 2,
            b'#' if at_word_start => {
                i = text::after(text, i).find('\n').map_or(b.len(), |p| i + p);
            }
            q @ (b'\'' | b'"') => {
                let start = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Some(start),
                        Some(b'\\') if q == b'"' => i += 2,
                        Some(c) if *c == q => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                at_word_start = false;
            }
            b'<' if b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                let rest = text::after(text, i + 2);
                let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
                let word: String = rest
                    .chars()
                    .skip_while(|c| *c == '\'' || *c == '"' || *c == '\\')
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !word.is_empty() {
                    // The body starts on the next line.
                    let nl = text::after(text, i).find('\n').map_or(b.len(), |p| i + p);
                    // Quotes on the rest of this line still count.
                    let tail = text::slice(text, i + 2..nl);
                    let quoted = tail.contains('\'') || tail.contains('"');
                    if !quoted || tail.matches(['\'', '"']).count().is_multiple_of(2) {
                        heredoc = Some(word);
                        i = nl + 1;
                        at_word_start = true;
                        continue;
                    }
                }
                i += 2;
            }
            c => {
                at_word_start =
                    c.is_ascii_whitespace() || matches!(c, b';' | b'|' | b'&' | b'(' | b')');
                i += 1;
            }
        }
    }
    None
}

/// Lower a script or Makefile.
pub fn lower(sf: &SourceFile, file: FileId, makefile: bool) -> Vec<Pipeline> {
    let analysis = if makefile {
        docker_cmd::analyze_makefile(&sf.text)
    } else {
        docker_cmd::analyze_script(&sf.text)
    };
    pipeline_of(sf, file, &analysis)
}

/// Lower a Dockerfile (`RUN gitlab-runner register …`, `CMD dockerd -H tcp://…`, `ENV`).
pub fn lower_dockerfile(sf: &SourceFile, file: FileId) -> Vec<Pipeline> {
    let analysis = docker_cmd::analyze_dockerfile(&sf.text);
    if analysis.facts.is_empty() {
        return Vec::new();
    }
    pipeline_of(sf, file, &analysis)
}

/// Lower a `.env` file (`DOCKER_HOST`, runner registration settings).
pub fn lower_env_file(sf: &SourceFile, file: FileId) -> Vec<Pipeline> {
    let analysis = docker_cmd::analyze_env_file(&sf.text);
    if analysis.facts.is_empty() {
        return Vec::new();
    }
    pipeline_of(sf, file, &analysis)
}

fn pipeline_of(
    sf: &SourceFile,
    file: FileId,
    analysis: &docker_cmd::ScriptAnalysis,
) -> Vec<Pipeline> {
    let name = sf.path.rsplit('/').next().unwrap_or(&sf.path).to_string();
    let mut p = Pipeline::new(name, Surface::Shell, Loc::new(file, Span::new(0, 0)));
    for f in &analysis.facts {
        p.script_facts.push(LocFact {
            loc: Loc::new(file, Span::new(f.span.start, f.span.end)),
            fact: f.clone(),
        });
    }
    for (u, _) in &analysis.usage {
        p.usage.insert((*u).into());
    }
    vec![p]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unterminated_quotes_only() {
        assert_eq!(
            unterminated_quote("echo 'ok' \"fine\" # it's a comment\n"),
            None
        );
        assert_eq!(
            unterminated_quote("cat <<EOF\ndon't panic\nEOF\necho done\n"),
            None
        );
        assert_eq!(unterminated_quote("cat <<-'END'\n\tit's\n\tEND\n"), None);
        assert_eq!(unterminated_quote("echo \"a \\\" b\"\n"), None);
        assert_eq!(
            unterminated_quote("docker run --privileged \"img\n"),
            Some(24)
        );
        assert_eq!(unterminated_quote("x=1\necho 'oops\n"), Some(9));
    }
}
