//! Kubernetes manifests (every document with a pod spec: Pod, Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, Job, CronJob, ARC RunnerDeployment/AutoscalingRunnerSet, Tekton
//! steps/sidecars) and Helm values of actions-runner-controller (`containerMode.type`,
//! `template.spec`) and the gitlab-runner chart (`runners.config` embedded TOML,
//! `runners.privileged`). A pod spec is found wherever a mapping holds `containers:`.

use super::yamlx::Doc;
use crate::finding::{Diagnostic, Surface};
use crate::model::{Container, Hosting, Pipeline, Role, Signal, Val};
use crate::source::yaml::{NodeId, Yaml};
use crate::source::{FileId, SourceFile};

/// Lower a Kubernetes/Helm-values YAML file.
pub fn lower(
    y: &Yaml,
    file: FileId,
    sf: &SourceFile,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let mut out = Vec::new();
    for (i, &root) in y.documents().iter().enumerate() {
        if !d.is_map(root) {
            continue;
        }
        let kind = d.sget(root, "kind").map(|v| v.v);
        let meta_name = d
            .get(root, "metadata")
            .and_then(|m| d.sget(m, "name"))
            .map(|v| v.v);
        let name = match (&kind, &meta_name) {
            (Some(k), Some(n)) => format!("{k}/{n}"),
            (Some(k), None) => k.clone(),
            (None, _) => {
                if y.documents().len() > 1 {
                    format!("values#{}", i + 1)
                } else {
                    "values".to_string()
                }
            }
        };
        let mut p = Pipeline::new(name, Surface::Kubernetes, d.loc(root));
        p.hosting = Hosting::Kubernetes;
        if kind.is_none() {
            helm_values(&d, root, sf, &mut p, diags);
        }
        // annotations anywhere in metadata blocks
        let mut stack = vec![(root, 0usize)];
        let mut seen = 0usize;
        while let Some((n, depth)) = stack.pop() {
            seen += 1;
            if depth > 40 || seen > 200_000 {
                break;
            }
            if d.is_map(n) {
                if d.get(n, "containers").is_some()
                    || d.get(n, "steps").is_some()
                        && kind.as_deref().is_some_and(|k| k.contains("Task"))
                {
                    pod_spec(&d, n, &mut p);
                }
                if let Some(ann) = d.get(n, "annotations") {
                    for (k, _, v) in d.entries(ann) {
                        if (k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                            || k.starts_with("seccomp.security.alpha.kubernetes.io/")
                            || k.starts_with("container.seccomp.security.alpha.kubernetes.io/"))
                            && let Some(val) = d.sval(v)
                            && val.v.trim() == "unconfined"
                        {
                            p.signals.push(Signal::Unconfined(Val::new(
                                format!("{k}: unconfined"),
                                val.loc,
                            )));
                        }
                    }
                }
                for (k, _, v) in d.entries(n) {
                    if k == "containers" || k == "initContainers" || k == "annotations" {
                        continue;
                    }
                    stack.push((v, depth + 1));
                }
            } else if let Some(items) = y.seq(y.resolve(n)) {
                for it in items {
                    stack.push((*it, depth + 1));
                }
            }
        }
        if !p.containers.is_empty() || !p.signals.is_empty() {
            out.push(p);
        }
    }
    out
}

fn helm_values(
    d: &Doc<'_>,
    root: NodeId,
    sf: &SourceFile,
    p: &mut Pipeline,
    diags: &mut Vec<Diagnostic>,
) {
    // actions-runner-controller gha-runner-scale-set
    if let Some(cm) = d.get(root, "containerMode")
        && let Some(t) = d.sget(cm, "type")
        && t.v.trim() == "dind"
    {
        p.signals.push(Signal::RunnerPrivileged(t.loc));
    }
    // gitlab-runner chart
    if let Some(runners) = d.get(root, "runners")
        && d.is_map(runners)
    {
        if let Some(pv) = d.get(runners, "privileged").and_then(|v| d.bool_val(v))
            && pv.v
        {
            p.signals.push(Signal::RunnerPrivileged(pv.loc));
        }
        if let Some(cfg) = d.get(runners, "config") {
            let r = d.y.resolve(cfg);
            if let Some(text) = d.y.str(r) {
                let map = |off: usize| d.y.scalar_src_offset(r, off);
                let inner = super::runner::lower_text(text, 0, sf, d.file, diags, Some(&map));
                for ip in inner {
                    p.signals.extend(ip.signals);
                }
            }
        }
    }
}

fn pod_spec(d: &Doc<'_>, spec: NodeId, p: &mut Pipeline) {
    // Pod-level security context.
    if let Some(sc) = d.get(spec, "securityContext") {
        unconfined_profiles(d, sc, &mut |v| p.signals.push(Signal::Unconfined(v)));
    }
    // hostPath volumes: the `path:` line.
    if let Some(vols) = d.get(spec, "volumes") {
        for v in d.items(vols) {
            if let Some(hp) = d.get(v, "hostPath")
                && let Some(path) = d.sget(hp, "path")
                && crate::rules::is_socket_path(&path.v)
            {
                p.signals.push(Signal::SocketMount(path.loc));
            }
        }
    }
    let runtime = d.sget(spec, "runtimeClassName");
    for key in [
        "initContainers",
        "containers",
        "sidecars",
        "steps",
        "ephemeralContainers",
    ] {
        let Some(cs) = d.get(spec, key) else { continue };
        for c in d.items(cs) {
            if !d.is_map(c) {
                continue;
            }
            let role = if key == "containers" || key == "steps" {
                Role::Workload
            } else {
                Role::Sidecar
            };
            let mut ct = Container::new(role);
            ct.name = d.sget(c, "name").map(|v| v.v);
            ct.image = d.sget(c, "image");
            ct.runtime = runtime.clone();
            if let Some(sc) = d.get(c, "securityContext") {
                ct.privileged = d.get(sc, "privileged").and_then(|v| d.bool_val(v));
                if let Some(caps) = d.get(sc, "capabilities")
                    && let Some(add) = d.get(caps, "add")
                {
                    ct.cap_add = d.str_list(add);
                }
                let mut opts = Vec::new();
                unconfined_profiles(d, sc, &mut |v| opts.push(v));
                ct.security_opt = opts;
            }
            if let Some(env) = d.get(c, "env") {
                for e in d.items(env) {
                    if let (Some(n), Some(v)) =
                        (d.sget(e, "name"), d.get(e, "value").and_then(|v| d.sval(v)))
                    {
                        ct.env.push((n.v, v));
                    }
                }
            }
            for k in ["command", "args"] {
                if let Some(v) = d.get(c, k) {
                    for w in d.str_list(v) {
                        for part in w.v.split_whitespace() {
                            ct.command.push(Val::new(part.to_string(), w.loc));
                        }
                    }
                }
            }
            if let Some(script) = d.get(c, "script") {
                d.script(script, &mut p.script_facts, &mut p.usage);
            }
            p.containers.push(ct);
        }
    }
}

fn unconfined_profiles(d: &Doc<'_>, sc: NodeId, push: &mut dyn FnMut(Val<String>)) {
    for (key, what) in [
        ("seccompProfile", "seccomp"),
        ("appArmorProfile", "apparmor"),
    ] {
        if let Some(prof) = d.get(sc, key)
            && let Some(t) = d.sget(prof, "type")
            && t.v.trim() == "Unconfined"
        {
            push(Val::new(format!("{what}=unconfined"), t.loc));
        }
    }
}
