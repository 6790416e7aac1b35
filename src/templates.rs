//! The rewrite templates: files under `templates/`, compiled into the binary, rendered with
//! minijinja in strict mode (an undefined variable is an error, never an empty string), and
//! overridable by file name with `--templates DIR`. Every render gets `v`, the pinned image
//! and action versions, so one table decides what depriv emits.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

pub mod builtin;

/// The built-in pins.
const BUILTIN_VERSIONS: &str = include_str!("../templates/versions.toml");

/// Templates shared by every surface.
static COMMON: &[(&str, &str)] = &[("versions.toml", BUILTIN_VERSIONS)];

/// Built-in template lists: (name relative to `templates/`, source), one per surface
/// ([`builtin`]).
static BUILTIN: &[&[(&str, &str)]] = &[
    COMMON,
    builtin::GITLAB,
    builtin::GITHUB,
    builtin::COMPOSE,
    builtin::KUBE,
    builtin::RUNNER,
    builtin::DAEMON,
    builtin::JENKINS,
];

fn builtin() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    BUILTIN.iter().flat_map(|l| l.iter())
}

/// Template errors.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No template by that name.
    #[error("no template named `{0}`")]
    Missing(String),
    /// minijinja refused the template or the render.
    #[error("template `{name}`: {message}")]
    Render {
        /// Template name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// An override directory could not be read.
    #[error("cannot read templates from {path}: {message}")]
    Io {
        /// Directory.
        path: String,
        /// Cause.
        message: String,
    },
}

/// Pinned versions every template can use as `v.<name>`.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Versions(pub BTreeMap<String, String>);

/// The template set in force.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    overrides: BTreeMap<String, String>,
    /// Versions and compiled templates, built on first use and shared by clones: a migration
    /// renders templates once per job, so neither `versions.toml` nor a template is parsed
    /// more than once per run.
    cache: Arc<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    versions: OnceLock<Versions>,
    env: OnceLock<Environment<'static>>,
}

impl Templates {
    /// The built-in set.
    pub fn builtin() -> Templates {
        Templates::default()
    }

    /// The built-in set with every file of `dir` (matched by relative path) overriding it.
    pub fn with_overrides(dir: &Path) -> Result<Templates, TemplateError> {
        let mut overrides = BTreeMap::new();
        for (name, _) in builtin() {
            let p = dir.join(name);
            if p.is_file() {
                let text = std::fs::read_to_string(&p).map_err(|e| TemplateError::Io {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                overrides.insert(name.to_string(), text);
            }
        }
        if !dir.is_dir() {
            return Err(TemplateError::Io {
                path: dir.display().to_string(),
                message: "not a directory".into(),
            });
        }
        let t = Templates {
            overrides,
            cache: Arc::default(),
        };
        t.check_versions().map_err(|e| TemplateError::Io {
            path: dir.join("versions.toml").display().to_string(),
            message: e.to_string(),
        })?;
        Ok(t)
    }

    /// Compile every overriding template and parse `versions.toml`, so a broken `--templates`
    /// file is reported as such before anything is planned.
    pub fn check(&self) -> Result<(), TemplateError> {
        for (name, src) in &self.overrides {
            if name == "versions.toml" {
                toml_edit::de::from_str::<BTreeMap<String, String>>(src).map_err(|e| {
                    TemplateError::Render {
                        name: name.clone(),
                        message: e.to_string(),
                    }
                })?;
                continue;
            }
            let mut env = Environment::new();
            env.add_template(name, src)
                .map_err(|e| TemplateError::Render {
                    name: name.clone(),
                    message: format!("{e:#}"),
                })?;
        }
        Ok(())
    }

    /// Names of all templates.
    pub fn names() -> Vec<&'static str> {
        builtin().map(|(n, _)| *n).collect()
    }

    /// Whether `name` is overridden.
    pub fn is_overridden(&self, name: &str) -> bool {
        self.overrides.contains_key(name)
    }

    /// Source of a template.
    pub fn source(&self, name: &str) -> Option<&str> {
        self.overrides
            .get(name)
            .map(String::as_str)
            .or_else(|| builtin().find(|(n, _)| *n == name).map(|(_, s)| *s))
    }

    /// The pinned versions: the built-in `versions.toml`, with every key of an overriding
    /// `versions.toml` replacing the built-in one (a partial override keeps the other pins).
    pub fn versions(&self) -> Versions {
        self.cache
            .versions
            .get_or_init(|| self.parse_versions())
            .clone()
    }

    fn parse_versions(&self) -> Versions {
        let mut v: BTreeMap<String, String> =
            toml_edit::de::from_str(BUILTIN_VERSIONS).unwrap_or_default();
        if let Some(o) = self.overrides.get("versions.toml") {
            let o: BTreeMap<String, String> = toml_edit::de::from_str(o).unwrap_or_default();
            v.extend(o);
        }
        Versions(v)
    }

    /// Check an overriding `versions.toml`: a TOML table of strings whose keys are known.
    pub fn check_versions(&self) -> Result<(), TemplateError> {
        let Some(o) = self.overrides.get("versions.toml") else {
            return Ok(());
        };
        let err = |message: String| TemplateError::Render {
            name: "versions.toml".into(),
            message,
        };
        let o: BTreeMap<String, String> =
            toml_edit::de::from_str(o).map_err(|e| err(e.to_string()))?;
        let known: BTreeMap<String, String> =
            toml_edit::de::from_str(BUILTIN_VERSIONS).unwrap_or_default();
        match o.keys().find(|k| !known.contains_key(*k)) {
            Some(k) => Err(err(format!(
                "unknown key `{k}` (known: {})",
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// Render `name` with `ctx` plus `v` (versions).
    pub fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, TemplateError> {
        let err = |e: minijinja::Error| TemplateError::Render {
            name: name.to_string(),
            message: format!("{e:#}"),
        };
        let v = self.versions();
        let ctx = minijinja::context! { v => v.0, ..minijinja::Value::from_serialize(ctx) };
        if let Ok(tmpl) = self.env().get_template(name) {
            return tmpl.render(ctx).map_err(err);
        }
        // Not in the shared environment: unknown, or an override that does not compile
        // (compiled again here for minijinja's message).
        let src = self
            .source(name)
            .ok_or_else(|| TemplateError::Missing(name.to_string()))?;
        let mut env = Self::new_env();
        env.add_template(name, src).map_err(err)?;
        env.get_template(name)
            .map_err(err)?
            .render(ctx)
            .map_err(err)
    }

    fn new_env() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env
    }

    /// Every template that compiles, in one environment built on first use.
    fn env(&self) -> &Environment<'static> {
        self.cache.env.get_or_init(|| {
            let mut env = Self::new_env();
            for (name, _) in builtin() {
                if *name == "versions.toml" {
                    continue;
                }
                if let Some(src) = self.source(name) {
                    // A template that does not compile is left out; `render` reports it.
                    let _ = env.add_template_owned(name.to_string(), src.to_string());
                }
            }
            env
        })
    }

    /// The pins as `versions.toml` lines, sorted by key.
    pub fn versions_toml(&self) -> String {
        self.versions()
            .0
            .iter()
            .map(|(k, v)| format!("{k} = {}\n", toml_string(v)))
            .collect()
    }

    /// A POSIX shell script that writes `DIR/versions.toml` with every image pinned by digest
    /// and every action pinned to the commit of its tag, for `--templates DIR`. It needs network
    /// access to the registries and GitHub (`crane` from go-containerregistry and `git`), so it is
    /// printed for the user to run rather than run by depriv.
    pub fn pin_digests_script(&self) -> String {
        let mut out = String::from(
            "#!/bin/sh\n# Pin every image depriv writes by digest and every action by commit.\n\
             # Needs: crane (github.com/google/go-containerregistry/tree/main/cmd/crane), git.\n\
             # Then: depriv migrate --templates \"$DIR\" …\nset -eu\nDIR=${1:-depriv-pinned}\nmkdir -p \"$DIR\"\n{\n",
        );
        for (k, v) in &self.versions().0 {
            let line = if let Some((repo, tag)) = v
                .split_once('@')
                .filter(|(r, _)| r.contains('/') && !r.contains(':'))
            {
                // An action: owner/name@tag → owner/name@<commit> # tag
                format!(
                    "  printf '%s = \"%s@%s\" # %s\\n' {k} {repo} \"$(git ls-remote https://github.com/{repo} 'refs/tags/{tag}^{{}}' 'refs/tags/{tag}' | head -n 1 | cut -f1)\" {tag}\n"
                )
            } else if v.contains(':') && !v.contains('@') {
                format!("  printf '%s = \"%s@%s\"\\n' {k} {v} \"$(crane digest {v})\"\n")
            } else {
                format!("  printf '%s = \"%s\"\\n' {k} {v}\n")
            };
            out.push_str(&line);
        }
        out.push_str("} > \"$DIR/versions.toml\"\necho \"wrote $DIR/versions.toml\"\n");
        out
    }

    /// Write every template under `dir`; returns how many.
    pub fn export(&self, dir: &Path) -> std::io::Result<usize> {
        let mut n = 0;
        for (name, _) in builtin() {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, self.source(name).unwrap_or(""))?;
            n += 1;
        }
        Ok(n)
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_pinned() {
        let v = Templates::builtin().versions();
        assert!(v.0.get("buildkit").is_some_and(|s| s.contains("rootless")));
    }

    #[test]
    fn renders_reuse_one_compiled_set_and_a_broken_override_names_its_error() {
        let t = Templates::builtin();
        let a = t.render("compose/buildkitd-service.yml", &serde_json::json!({}));
        let b = t
            .clone()
            .render("compose/buildkitd-service.yml", &serde_json::json!({}));
        assert_eq!(a.as_ref().ok(), b.as_ref().ok());
        assert!(a.is_ok_and(|s| s.contains("buildkit")));
        let mut broken = Templates::builtin();
        broken
            .overrides
            .insert("compose/buildkitd-service.yml".into(), "{% if %}\n".into());
        let e = broken
            .render("compose/buildkitd-service.yml", &serde_json::json!({}))
            .expect_err("does not compile");
        assert!(
            matches!(&e, TemplateError::Render { name, message } if name == "compose/buildkitd-service.yml" && message.contains("syntax")),
            "{e}"
        );
        assert!(matches!(
            broken.render("no/such.yml", &serde_json::json!({})),
            Err(TemplateError::Missing(_))
        ));
    }

    #[test]
    fn a_partial_versions_override_keeps_the_other_pins() {
        let mut t = Templates::builtin();
        t.overrides.insert(
            "versions.toml".into(),
            "buildkit = \"mirror.example/buildkit:v1-rootless\"\n".into(),
        );
        let v = t.versions();
        assert_eq!(v.0["buildkit"], "mirror.example/buildkit:v1-rootless");
        assert_eq!(v.0["dind"], Templates::builtin().versions().0["dind"]);
        assert!(t.check_versions().is_ok());
        let out = t
            .render("compose/buildkitd-service.yml", &serde_json::json!({}))
            .expect("renders with the default pins for the rest");
        assert!(out.contains("mirror.example/buildkit:v1-rootless"));
        t.overrides
            .insert("versions.toml".into(), "buildkitt = \"x\"\n".into());
        assert!(t.check_versions().is_err());
    }

    #[test]
    fn a_broken_versions_override_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("versions.toml"), "dind = [1, 2]\n").expect("write");
        let e = Templates::with_overrides(dir.path()).expect_err("refused");
        assert!(e.to_string().contains("versions.toml"), "{e}");
        std::fs::write(dir.path().join("versions.toml"), "dindd = \"x\"\n").expect("write");
        let e = Templates::with_overrides(dir.path()).expect_err("refused");
        assert!(e.to_string().contains("unknown key `dindd`"), "{e}");
        std::fs::write(dir.path().join("versions.toml"), "dind = \"x\"\n").expect("write");
        assert!(Templates::with_overrides(dir.path()).is_ok());
    }

    #[test]
    fn every_pin_lives_in_versions_toml() {
        let v = Templates::builtin().versions();
        for key in [
            "buildkit",
            "kaniko",
            "docker_cli",
            "dind",
            "dind_rootless",
            "sysbox_runtime",
            "sysbox",
            "setup_buildx",
            "build_push",
            "login",
            "setup_qemu",
            "arc_runner",
        ] {
            assert!(v.0.contains_key(key), "versions.toml lacks {key}");
        }
        // No template writes an image or action pin of its own.
        for name in Templates::names() {
            let src = Templates::builtin().source(name).unwrap_or("").to_string();
            for pin in [
                "docker:29",
                "moby/buildkit:v",
                "kaniko:v",
                "-action@v",
                "actions-runner:",
            ] {
                assert!(
                    name == "versions.toml" || !src.contains(pin),
                    "{name} pins `{pin}` itself"
                );
            }
        }
    }

    #[test]
    fn no_template_writes_a_plaintext_listener() {
        let t = Templates::builtin();
        for name in Templates::names() {
            let src = t.source(name).unwrap_or("");
            assert!(!src.contains("2375"), "{name}: plaintext Docker port");
            assert!(
                !src.contains("DOCKER_TLS_CERTDIR=\"\"")
                    && !src.contains("DOCKER_TLS_CERTDIR= ")
                    && !src.contains("DOCKER_TLS_CERTDIR='"),
                "{name}: TLS turned off"
            );
            for line in src.lines() {
                if line.contains("--addr tcp://") {
                    assert!(
                        line.contains("--tlscacert") && line.contains("--tlscert"),
                        "{name}: buildkitd on TCP without mTLS: {line}"
                    );
                    assert!(
                        !line.contains("-p 127.0.0.1:1") && !line.contains("-p 0.0.0.0:"),
                        "{name}: fixed host port: {line}"
                    );
                }
            }
        }
    }

    #[test]
    fn versions_print_as_toml_and_pin_script_covers_every_pin() {
        let t = Templates::builtin();
        let text = t.versions_toml();
        let back: BTreeMap<String, String> = toml_edit::de::from_str(&text).expect("toml");
        assert_eq!(back, t.versions().0);
        let script = t.pin_digests_script();
        assert!(script.contains("crane digest moby/buildkit:v0.32.2-rootless"));
        assert!(script.contains(
            "git ls-remote https://github.com/docker/build-push-action 'refs/tags/v7^{}'"
        ));
        assert!(script.contains("printf '%s = \"%s\"\\n' sysbox 0.7.0"));
        for k in t.versions().0.keys() {
            assert!(script.contains(&format!(" {k} ")), "{k} missing");
        }
    }

    #[test]
    fn limits_users_must_see_reach_the_rendered_output() {
        // `{# #}` comments vanish when rendered: what users must know is a YAML/TOML comment.
        let t = Templates::builtin();
        let ctx = serde_json::json!({ "where": "x", "commands": [] });
        for (name, needles) in [
            (
                "gitlab/runner-buildkit-kubernetes.toml",
                &["Kubernetes >= 1.30", "Pod Security", "RUNNER-WIDE"][..],
            ),
            ("gitlab/runner-buildkit-docker.toml", &["RUNNER-WIDE"][..]),
            (
                "kube/buildkit-job.yaml",
                &["Kubernetes >= 1.30", "Pod Security", "DOCKER_CONFIG"][..],
            ),
            (
                "jenkins/buildkit-pod.groovy",
                &["Kubernetes >= 1.30", "Pod Security"][..],
            ),
            (
                "gitlab/runner-sysbox-kubernetes.toml",
                &["Kubernetes >= 1.30"][..],
            ),
        ] {
            let out = t.render(name, &ctx).expect(name);
            for n in needles {
                assert!(out.contains(n), "{name} lacks `{n}`:\n{out}");
            }
        }
    }

    #[test]
    fn whole_file_templates_rescan_clean() {
        // What depriv writes as a whole file or snippet must not be flagged by depriv: a
        // relaxation a target needs carries a suppression with its reason.
        let t = Templates::builtin();
        let ctx = serde_json::json!({ "where": "x", "commands": ["buildctl-daemonless.sh build"] });
        for (name, as_file) in [
            ("compose/buildkitd-service.yml", "docker-compose.yml"),
            ("kube/buildkit-job.yaml", "k8s/job.yaml"),
            ("kube/kaniko-job.yaml", "k8s/job.yaml"),
            ("kube/runtimeclass.yaml", "k8s/rc.yaml"),
            ("gitlab/runner-buildkit-docker.toml", "config.toml"),
            ("gitlab/runner-buildkit-kubernetes.toml", "config.toml"),
            ("gitlab/runner-sysbox-docker.toml", "config.toml"),
            ("gitlab/runner-sysbox-kubernetes.toml", "config.toml"),
            ("gitlab/runner-tls-docker.toml", "config.toml"),
            ("gitlab/runner-tls-kubernetes.toml", "config.toml"),
        ] {
            let text = t.render(name, &ctx).expect(name);
            let text = if as_file == "config.toml" && !text.contains("[[runners]]") {
                format!("[[runners]]\n  executor = \"docker\"\n{text}")
            } else {
                text
            };
            let files = BTreeMap::from([(as_file.to_string(), text.clone())]);
            let r = crate::scan::scan_memory(files, &crate::config::Config::default());
            let active: Vec<String> = r
                .findings
                .iter()
                .filter(|f| !f.suppressed)
                .map(|f| format!("{}@{}", f.rule, f.line))
                .collect();
            assert!(active.is_empty(), "{name}: {active:?}\n{text}");
        }
    }

    #[test]
    fn strict_undefined_is_an_error() {
        let mut t = Templates::builtin();
        t.overrides
            .insert("versions.toml".into(), "x = \"{{ nope }}\"".into());
        assert!(t.render("versions.toml", &serde_json::json!({})).is_err());
    }
}
