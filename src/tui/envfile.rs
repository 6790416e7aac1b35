//! Saving the environment answers into `.depriv.toml`: only the `[environment]` table is
//! edited (with `toml_edit`, so every other table, comment and blank line stays byte for byte),
//! and the result is read back with [`crate::config::Config::parse`] before it is written.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Value};

use crate::config::{Config, Environment, RunnerHosts};

/// Errors saving the answers.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// The existing file is not valid TOML.
    #[error(".depriv.toml is not valid TOML: {0}")]
    Parse(String),
    /// `environment` exists but is not a table.
    #[error(".depriv.toml: `environment` is not a table")]
    NotATable,
    /// The edited file does not read back as the same answers.
    #[error(".depriv.toml would not read back: {0}")]
    Verify(String),
    /// Reading or writing failed.
    #[error(".depriv.toml: {0}")]
    Io(#[from] std::io::Error),
    /// `.depriv.toml` is a symbolic link.
    #[error(".depriv.toml is a symbolic link; not written")]
    Symlink,
}

/// The `.depriv.toml` name of a runner-hosts answer.
pub fn hosts_name(h: RunnerHosts) -> &'static str {
    match h {
        RunnerHosts::SelfManaged => "self-managed",
        RunnerHosts::Managed => "managed",
        RunnerHosts::Kubernetes => "kubernetes",
    }
}

fn set(table: &mut dyn toml_edit::TableLike, key: &str, new: Option<Value>) {
    match new {
        None => {
            table.remove(key);
        }
        Some(mut v) => {
            if let Some(old) = table.get_mut(key).and_then(Item::as_value_mut) {
                *v.decor_mut() = old.decor().clone();
                *old = v;
            } else {
                table.insert(key, Item::Value(v));
            }
        }
    }
}

/// The text of a `.depriv.toml` with its `[environment]` set to `env`.
pub fn with_environment(text: &str, env: &Environment) -> Result<String, EnvFileError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EnvFileError::Parse(e.message().to_string()))?;
    let item = doc
        .as_table_mut()
        .entry("environment")
        .or_insert_with(toml_edit::table);
    let table = item.as_table_like_mut().ok_or(EnvFileError::NotATable)?;
    set(
        table,
        "runner-hosts",
        Some(Value::from(hosts_name(env.runner_hosts))),
    );
    set(table, "sysbox", env.sysbox.map(Value::from));
    set(table, "registry", env.registry.as_deref().map(Value::from));
    set(table, "build-cache", env.build_cache.map(Value::from));
    set(
        table,
        "sysbox-tag",
        env.sysbox_tag.as_deref().map(Value::from),
    );
    let out = doc.to_string();
    let back = Config::parse(&out).map_err(|e| EnvFileError::Verify(e.to_string()))?;
    if back.environment != *env {
        return Err(EnvFileError::Verify(
            "the answers read back differently".into(),
        ));
    }
    Ok(out)
}

/// Write the answers into `<root>/.depriv.toml` (created when missing).
pub fn save(root: &Path, env: &Environment) -> Result<String, EnvFileError> {
    let path = root.join(".depriv.toml");
    let text = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => return Err(EnvFileError::Symlink),
        Ok(_) => std::fs::read_to_string(&path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e.into()),
    };
    let out = with_environment(&text, env)?;
    let tmp = root.join(format!(".depriv.toml.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &out)?;
    if let Err(e) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(".depriv.toml".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(h: RunnerHosts, sysbox: Option<bool>, reg: Option<&str>) -> Environment {
        Environment {
            runner_hosts: h,
            sysbox,
            registry: reg.map(str::to_string),
            build_cache: None,
            sysbox_tag: None,
        }
    }

    #[test]
    fn keeps_everything_outside_environment() {
        let text = "# top comment\nexclude = [\"vendor/**\"]  # keep\n\n[ignore]\n\"ci/**\" = [\"privileged-dind\"]\n\n[environment]\nrunner-hosts = \"managed\"   # where runners live\nsysbox = true\n";
        let out = with_environment(
            text,
            &env(RunnerHosts::Kubernetes, None, Some("registry.example")),
        )
        .unwrap_or_default();
        assert!(out.starts_with(
            "# top comment\nexclude = [\"vendor/**\"]  # keep\n\n[ignore]\n\"ci/**\" = [\"privileged-dind\"]\n\n[environment]\n"
        ), "{out}");
        assert!(
            out.contains("runner-hosts = \"kubernetes\"   # where runners live"),
            "{out}"
        );
        assert!(!out.contains("sysbox"), "{out}");
        assert!(out.contains("registry = \"registry.example\""), "{out}");
        let c = Config::parse(&out).unwrap_or_default();
        assert_eq!(c.exclude, vec!["vendor/**".to_string()]);
        assert_eq!(c.environment.runner_hosts, RunnerHosts::Kubernetes);
    }

    #[test]
    fn creates_the_table_in_an_empty_file() {
        let e = Environment {
            build_cache: Some(true),
            ..env(RunnerHosts::SelfManaged, Some(false), None)
        };
        let out = with_environment("", &e).unwrap_or_default();
        assert_eq!(
            out,
            "[environment]\nrunner-hosts = \"self-managed\"\nsysbox = false\nbuild-cache = true\n"
        );
    }

    #[test]
    fn refuses_invalid_or_odd_files() {
        let e = Environment::default();
        assert!(matches!(
            with_environment("[environment", &e),
            Err(EnvFileError::Parse(_))
        ));
        assert!(matches!(
            with_environment("environment = 3\n", &e),
            Err(EnvFileError::NotATable)
        ));
        // An unknown key in [environment] cannot be read back.
        assert!(matches!(
            with_environment("[environment]\nmoon = 1\n", &e),
            Err(EnvFileError::Verify(_))
        ));
        // Registry text with quotes and newlines is escaped, not injected.
        let tricky = env(RunnerHosts::Managed, None, Some("a\"b\n[ignore]"));
        let out = with_environment("", &tricky).unwrap_or_default();
        assert_eq!(
            Config::parse(&out).map(|c| c.environment).ok(),
            Some(tricky)
        );
    }

    #[test]
    fn inline_environment_table_is_edited_in_place() {
        let out = with_environment(
            "environment = { runner-hosts = \"managed\" }\n",
            &env(RunnerHosts::Kubernetes, None, None),
        )
        .unwrap_or_default();
        assert_eq!(out, "environment = { runner-hosts = \"kubernetes\" }\n");
    }

    #[test]
    fn save_writes_and_refuses_symlinks() {
        let dir = std::env::temp_dir().join(format!("depriv-envfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let e = env(RunnerHosts::Managed, None, None);
        assert_eq!(save(&dir, &e).ok().as_deref(), Some(".depriv.toml"));
        let back = Config::load(&dir).map(|c| c.environment).ok();
        assert_eq!(back, Some(e.clone()));
        #[cfg(unix)]
        {
            let link = dir.join("link");
            std::fs::create_dir_all(&link).unwrap_or_default();
            let _ = std::os::unix::fs::symlink(dir.join(".depriv.toml"), link.join(".depriv.toml"));
            assert!(matches!(save(&link, &e), Err(EnvFileError::Symlink)));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
