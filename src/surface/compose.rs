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
