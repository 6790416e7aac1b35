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
    let analysis = if makefile {
        docker_cmd::analyze_makefile(&sf.text)
    } else {
        docker_cmd::analyze_script(&sf.text)
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
