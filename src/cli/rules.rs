//! `depriv rules` and `depriv explain RULE`.

use depriv::rules::{self, REGISTRY};

pub fn list(_color: bool) -> anyhow::Result<u8> {
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
        None => {
            let ids: Vec<&str> = REGISTRY.iter().map(|r| r.id).collect();
            eprintln!(
                "error: unknown rule `{id}`\n  help: known rules are {}",
                ids.join(", ")
            );
            Ok(2)
        }
    }
}
