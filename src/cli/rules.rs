//! `depriv rules` and `depriv explain RULE|TARGET` (a rule's documentation, else a target's guide).

use depriv::plan::ALL_TARGETS;
use depriv::report::guide;
use depriv::rules::{self, REGISTRY};
use depriv::templates::Templates;

pub fn list() -> anyhow::Result<u8> {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<26} {:<9} {}\n",
        "RULE", "SEVERITY", "SURFACES"
    ));
    for r in REGISTRY {
        let surfaces: Vec<&str> = r.surfaces.iter().map(|s| s.as_str()).collect();
        out.push_str(&format!(
            "{:<26} {:<9} {}\n",
            r.id,
            r.severity.as_str(),
            surfaces.join(", ")
        ));
        out.push_str(&format!("{:<26} {}\n", "", r.summary));
    }
    print!("{out}");
    Ok(0)
}

pub fn explain(id: &str) -> anyhow::Result<u8> {
    match rules::by_id(id) {
        Some(r) => {
            print!("{}", r.doc);
            Ok(0)
        }
        None => match guide::parse_target(id) {
            Some(t) => {
                print!("{}", guide::render(t, &Templates::builtin()));
                Ok(0)
            }
            None => {
                let ids: Vec<&str> = REGISTRY.iter().map(|r| r.id).collect();
                let targets: Vec<&str> = ALL_TARGETS.iter().map(|t| t.as_str()).collect();
                eprintln!(
                    "error: unknown rule or target `{id}`\n  help: known rules are {}\n  help: known targets are {}",
                    ids.join(", "),
                    targets.join(", ")
                );
                Ok(2)
            }
        },
    }
}
