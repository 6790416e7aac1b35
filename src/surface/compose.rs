//! docker-compose: every service is a pipeline with one container (`privileged`, `volumes` in
//! short and long syntax, `cap_add`, `security_opt`, `runtime`, `environment` as map or list,
//! `ports`, `command`, `entrypoint`). Files not named like compose files (`jibri.yml`,
//! `deploy/stack.yml`) are recognised by their shape ([`is_compose`]).

use super::yamlx::Doc;
use crate::finding::Surface;
use crate::model::{Container, Pipeline, Role, Val};
use crate::source::FileId;
use crate::source::yaml::{NodeId, Yaml};

/// Lower a compose file.
pub fn lower(y: &Yaml, file: FileId) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let mut out = Vec::new();
    for &root in y.documents() {
        let Some(services) = d.get(root, "services") else {
            continue;
        };
        for (name, key, svc) in d.entries(services) {
            if !d.is_map(svc) {
                continue;
            }
            let mut p = Pipeline::new(name.clone(), Surface::Compose, d.loc(key));
            if let Some(why) = swarm_deploy_keys(&d, svc) {
                p.swarm = Some(why);
                p.hosting = crate::model::Hosting::Swarm;
            }
            let c = container(&d, &name, svc);
            // A GitLab Runner service configured through `register`'s environment variables.
            let runner = c
                .image
                .as_ref()
                .is_some_and(|i| i.v.contains("gitlab-runner"))
                || c.env.iter().any(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "CI_SERVER_URL" | "REGISTRATION_TOKEN" | "RUNNER_TOKEN" | "RUNNER_EXECUTOR"
                    )
                });
            if runner {
                super::runner::env_signals(&c.env, &mut p.signals);
            }
            p.usage.insert(crate::model::DockerUse::Run);
            p.containers.push(c);
            out.push(p);
        }
    }
    out
}

/// `deploy:` keys only Docker Swarm acts on (`docker compose up` ignores them; `replicas` and
/// `resources` are left out because Compose honours them too).
const SWARM_DEPLOY_KEYS: &[&str] = &[
    "mode",
    "placement",
    "update_config",
    "rollback_config",
    "endpoint_mode",
];

/// Why a compose service is a Swarm stack service by its own `deploy:` keys, if it is.
fn swarm_deploy_keys(d: &Doc<'_>, svc: NodeId) -> Option<String> {
    let deploy = d.get(svc, "deploy")?;
    let keys: Vec<String> = d
        .entries(deploy)
        .into_iter()
        .map(|(k, _, _)| k)
        .filter(|k| SWARM_DEPLOY_KEYS.contains(&k.as_str()))
        .collect();
    let first = keys.first()?;
    Some(format!(
        "its `deploy.{first}` is read by Docker Swarm (`docker stack deploy`) only"
    ))
}

/// Why a compose file is a Swarm stack file by its name (`stack.yml`, `stack-prod.yml`,
/// `app-stack.yml`, `docker-stack.yml`, `swarm.yml`), if it is.
pub fn swarm_file_name(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".yml")
        .or_else(|| lower.strip_suffix(".yaml"))?;
    let stem = stem.strip_prefix("docker-").unwrap_or(stem);
    let named = ["stack", "swarm"].iter().any(|w| {
        stem.starts_with(w)
            || stem.ends_with(&format!("-{w}"))
            || stem.ends_with(&format!(".{w}"))
            || stem.ends_with(&format!("_{w}"))
    });
    named.then(|| format!("the file is named as a Swarm stack file (`{name}`)"))
}

/// Compose files a script or pipeline deploys as a Swarm stack: the `-c`/`--compose-file`
/// arguments of `docker stack deploy` (or its alias `docker stack up`), as written (a
/// leading `./` removed).
pub fn stack_deploy_files(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words
            .windows(2)
            .position(|w| w == ["stack", "deploy"] || w == ["stack", "up"])
        else {
            continue;
        };
        let mut rest = words.iter().skip(at + 2);
        while let Some(w) = rest.next() {
            let value = match *w {
                "-c" | "--compose-file" => rest.next().copied(),
                _ => w
                    .strip_prefix("--compose-file=")
                    .or_else(|| w.strip_prefix("-c=")),
            };
            if let Some(v) = value {
                let v = v.trim_matches(|c| c == '"' || c == '\'' || c == ',' || c == ';');
                let v = v.strip_prefix("./").unwrap_or(v);
                if !v.is_empty() && !v.starts_with('$') && v != "-" {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
}

/// Top-level keys of the Compose Specification (plus `x-` extensions).
const TOP_LEVEL: &[&str] = &[
    "version", "name", "services", "volumes", "networks", "configs", "secrets", "include", "models",
];

/// Cheap text test before parsing a generic YAML file as a compose candidate: a `services:`
/// key at the start of a line.
pub fn may_be_compose(text: &str) -> bool {
    text.starts_with("services:") || text.contains("\nservices:")
}

/// Whether a parsed YAML file has the shape of a compose file: every top-level key is one the
/// Compose Specification defines (or `x-…`), and `services` is a mapping whose entries are
/// mappings, at least one of them with an `image` string or a `build`. GitLab CI (`services:`
/// is a list, jobs at the top), GitHub workflows (`jobs`), Kubernetes (`apiVersion`) and Helm
/// values (`image:` is usually a mapping, other top-level keys) do not have this shape.
pub fn is_compose(y: &Yaml) -> bool {
    let d = Doc { y, file: 0 };
    let Some(&root) = y.documents().first() else {
        return false;
    };
    if !d.is_map(root) {
        return false;
    }
    let top = d.entries(root);
    if top
        .iter()
        .any(|(k, _, _)| !TOP_LEVEL.contains(&k.as_str()) && !k.starts_with("x-"))
    {
        return false;
    }
    let Some(services) = d.get(root, "services") else {
        return false;
    };
    let entries = d.entries(services);
    if entries.is_empty() || entries.iter().any(|(_, _, v)| !d.is_map(*v)) {
        return false;
    }
    entries.iter().any(|(_, _, svc)| {
        d.sget(*svc, "image")
            .is_some_and(|i| !i.v.trim().is_empty())
            || d.get(*svc, "build").is_some()
    })
}

/// Read one compose service (also used for `x-` anchors reached through merge keys).
pub fn container(d: &Doc<'_>, name: &str, svc: NodeId) -> Container {
    let mut c = Container::new(Role::Workload);
    c.name = Some(name.to_string());
    c.image = d.sget(svc, "image");
    c.privileged = d.get(svc, "privileged").and_then(|v| d.bool_val(v));
    if let Some(v) = d.get(svc, "volumes") {
        for item in d.items(v) {
            if d.is_map(item) {
                if let Some(src) = d.sget(item, "source") {
                    c.volumes.push(src);
                }
            } else if let Some(s) = d.sval(item) {
                c.volumes.push(s);
            }
        }
    }
    if let Some(v) = d.get(svc, "cap_add") {
        c.cap_add = d.str_list(v);
    }
    if let Some(v) = d.get(svc, "security_opt") {
        c.security_opt = d.str_list(v);
    }
    c.runtime = d.sget(svc, "runtime");
    if let Some(v) = d.get(svc, "environment") {
        c.env = d.env(v);
    }
    if let Some(v) = d.get(svc, "ports") {
        for item in d.items(v) {
            if d.is_map(item) {
                if let Some(p) = d.sget(item, "published")
                    && p.v == "2375"
                {
                    c.ports.push(Val::new("2375".into(), p.loc));
                }
            } else if let Some(s) = d.sval(item) {
                c.ports.push(s);
            }
        }
    }
    for key in ["entrypoint", "command"] {
        if let Some(v) = d.get(svc, key) {
            let r = d.y.resolve(v);
            if d.y.seq(r).is_some() {
                c.command.extend(d.str_list(v));
            } else if let Some(s) = d.sval(v) {
                // A string command: split on whitespace, each word located at the string.
                for w in s.v.split_whitespace() {
                    c.command.push(Val::new(w.to_string(), s.loc));
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(t: &str) -> bool {
        may_be_compose(t) && Yaml::parse(t).is_ok_and(|y| is_compose(&y))
    }

    #[test]
    fn swarm_stacks_are_recognised_by_deploy_keys_name_and_deploy_command() {
        let y = Yaml::parse(
            "services:\n  ci:\n    image: docker:dind\n    deploy:\n      replicas: 1\n      placement:\n        constraints: [node.role == manager]\n  plain:\n    image: docker:dind\n    deploy:\n      replicas: 2\n      resources: {}\n",
        )
        .unwrap();
        let ps = lower(&y, 0);
        assert_eq!(ps.len(), 2);
        assert_eq!(
            ps[0].swarm.as_deref(),
            Some("its `deploy.placement` is read by Docker Swarm (`docker stack deploy`) only")
        );
        assert_eq!(ps[0].hosting, crate::model::Hosting::Swarm);
        assert_eq!(ps[1].swarm, None);
        for n in [
            "stack.yml",
            "deploy/stack-prod.yaml",
            "ci-stack.yml",
            "docker-stack.yml",
            "docker-stack.ci.yml",
            "swarm.yml",
        ] {
            assert!(swarm_file_name(n).is_some(), "{n}");
        }
        for n in [
            "docker-compose.yml",
            "compose.stackless.yml",
            "haystack.yml",
        ] {
            assert_eq!(swarm_file_name(n), None, "{n}");
        }
        assert_eq!(
            stack_deploy_files(
                "docker stack deploy -c ./deploy/ci.yml ci\n  - docker stack deploy --with-registry-auth --compose-file=\"a.yml\" -c b.yml x\ndocker compose -f c.yml up\ndocker stack deploy -c $FILE x\n"
            ),
            vec!["deploy/ci.yml", "a.yml", "b.yml"]
        );
    }

    #[test]
    fn compose_files_are_recognised_by_shape() {
        assert!(shape("services:\n  web:\n    image: nginx:1.27\n"));
        assert!(shape(
            "version: \"3.8\"\nx-common: &c\n  restart: always\nservices:\n  app:\n    build: .\n    <<: *c\nvolumes:\n  data: {}\n"
        ));
        // GitLab CI: `services` is a list and jobs sit at the top.
        assert!(!shape(
            "services:\n  - docker:27-dind\nbuild:\n  script: [make]\n"
        ));
        // A GitHub workflow, a Kubernetes Service, Helm values with image mappings.
        assert!(!shape(
            "on: push\njobs:\n  a:\n    services:\n      db:\n        image: postgres\n"
        ));
        assert!(!shape(
            "apiVersion: v1\nkind: Service\nservices:\n  a:\n    image: x\n"
        ));
        assert!(!shape(
            "services:\n  api:\n    image:\n      repository: x\nreplicaCount: 1\n"
        ));
        // Services without image or build (Azure Pipelines resources are strings).
        assert!(!shape("services:\n  redis: redis\n"));
        assert!(!shape("services:\n  a:\n    ports: [80]\n"));
    }
}
