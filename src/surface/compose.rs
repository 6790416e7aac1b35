//! docker-compose: every service is a pipeline with one container (`privileged`, `volumes` in
//! short and long syntax, `cap_add`, `security_opt`, `runtime`, `environment` as map or list,
//! `ports`, `command`, `entrypoint`).

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
            p.usage.insert(crate::model::DockerUse::Run);
            p.containers.push(c);
            out.push(p);
        }
    }
    out
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
