//! Shell scripts and Makefiles: one pipeline per file, facts from every command (Makefile
//! recipes and variable definitions are read as shell).

use crate::finding::Surface;
use crate::model::{LocFact, Pipeline};
use crate::source::docker_cmd;
use crate::source::{FileId, Loc, SourceFile, Span};

/// Lower a script or Makefile.
pub fn lower(sf: &SourceFile, file: FileId, makefile: bool) -> Vec<Pipeline> {
    let name = sf.path.rsplit('/').next().unwrap_or(&sf.path).to_string();
    let mut p = Pipeline::new(name, Surface::Shell, Loc::new(file, Span::new(0, 0)));
    let text: &str = &sf.text;
    // A Makefile is scanned as shell as a whole: recipes are commands, and variable
    // definitions (`DOCKER_RUN = docker run -v …`) hold commands too.
    let analysis = if makefile {
        docker_cmd::analyze_script(&makefile_as_shell(text))
    } else {
        docker_cmd::analyze_script(text)
    };
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

/// Same length as the input (so offsets stay valid): recipe prefixes (`\t@-`) blanked, and
/// `VAR = value` / `VAR := value` definitions turned into their value.
fn makefile_as_shell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        if let Some(rest) = body.strip_prefix('\t') {
            let trimmed = rest.trim_start_matches(['@', '-', '+']);
            let pad = body.len() - trimmed.len();
            out.push_str(&" ".repeat(pad));
            out.push_str(trimmed);
        } else if let Some(eq) = find_assignment(body) {
            out.push_str(&" ".repeat(eq));
            out.push_str(&body[eq..]);
        } else if body.trim_end().ends_with(':') || body.contains(": ") && !body.starts_with(' ') {
            // a rule line `target: deps` is not a command
            out.push_str(&" ".repeat(body.len()));
        } else {
            out.push_str(body);
        }
        out.push_str(ending);
    }
    out
}

/// Byte index where the value of a `NAME = value` (`:=`, `?=`, `+=`) definition starts.
fn find_assignment(line: &str) -> Option<usize> {
    let name_end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    if name_end == 0 {
        return None;
    }
    let rest = &line[name_end..];
    let trimmed = rest.trim_start();
    let ws = rest.len() - trimmed.len();
    for op in [":=", "?=", "+=", "::=", "="] {
        if let Some(v) = trimmed.strip_prefix(op) {
            let vstart = name_end + ws + op.len();
            let lead = v.len() - v.trim_start().len();
            return Some(vstart + lead);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makefile_keeps_offsets() {
        let m = "X := docker run -v /var/run/docker.sock:/s img\nall:\n\t@$(X) up\n";
        let s = makefile_as_shell(m);
        assert_eq!(s.len(), m.len());
        assert!(s.starts_with("     docker run"));
        assert!(s.contains("\n    \n"));
    }
}
