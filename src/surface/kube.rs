//! Kubernetes manifests (every document with a pod spec: Pod, Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, Job, CronJob, ARC RunnerDeployment/AutoscalingRunnerSet, Tekton
//! steps/sidecars, any custom resource's pod template) and Helm values (actions-runner-controller
//! `containerMode.type`, the gitlab-runner chart's `runners.privileged`, any chart's own keys).
//!
//! A pod spec is found wherever a mapping holds `containers:`. Outside pod specs, the settings
//! that matter are read wherever they sit, because charts, Flux `HelmRelease` `spec.values`,
//! Argo CD `Application` `helm.values`/`valuesObject` and Kustomize patches put them under
//! their own key paths: a `securityContext` (privileged, `capabilities.add`, seccomp/AppArmor
//! profiles), a chart's own capability list (`capabilities: [SYS_ADMIN]`), a `hostPath` to the
//! Docker socket, a GitLab Runner `config.toml` in any string (ConfigMap `data`, Secret
//! `stringData`, chart values), and the environment-variable forms of runner settings
//! (`DOCKER_PRIVILEGED`, `KUBERNETES_PRIVILEGED`, … in ConfigMaps, container `env` and chart
//! `envVars`). YAML held in strings (Argo CD `helm.values`, Kustomize `patch`,
//! `patchesStrategicMerge`) is parsed and read the same way; JSON 6902 operations are read by
//! their `path`.

use super::yamlx::Doc;
use crate::finding::{Diagnostic, Surface};
use crate::model::{Container, Hosting, Pipeline, Role, Signal, Val};
use crate::source::yaml::{NodeId, Yaml};
use crate::source::{FileId, Loc, SourceFile, Span};

/// How deep embedded YAML strings are followed (values inside an Application inside …).
const MAX_EMBED_DEPTH: usize = 2;

/// Lower a Kubernetes/Helm-values YAML file.
pub fn lower(
    y: &Yaml,
    file: FileId,
    sf: &SourceFile,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Pipeline> {
    lower_at(y, file, sf, diags, 0)
}

fn lower_at(
    y: &Yaml,
    file: FileId,
    sf: &SourceFile,
    diags: &mut Vec<Diagnostic>,
    embed_depth: usize,
) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let runner_ctx = runner_context(y.source());
    let mut out = Vec::new();
    for (i, &root) in y.documents().iter().enumerate() {
        if !d.is_map(root) && y.seq(y.resolve(root)).is_none() {
            continue;
        }
        let kind = if d.is_map(root) {
            d.sget(root, "kind").map(|v| v.v)
        } else {
            None
        };
        let meta_name = if d.is_map(root) {
            d.get(root, "metadata")
                .and_then(|m| d.sget(m, "name"))
                .map(|v| original_text(y, sf, v))
        } else {
            None
        };
        let name = match (&kind, &meta_name) {
            (Some(k), Some(n)) => format!("{k}/{n}"),
            (Some(k), None) => k.clone(),
            (None, _) => {
                // A list at the top is a JSON 6902 patch file; a mapping, chart values.
                let what = if d.is_map(root) { "values" } else { "patch" };
                if y.documents().len() > 1 {
                    format!("{what}#{}", i + 1)
                } else {
                    what.to_string()
                }
            }
        };
        let mut p = Pipeline::new(name, Surface::Kubernetes, d.loc(root));
        p.hosting = Hosting::Kubernetes;
        if kind.is_none() && d.is_map(root) {
            helm_values(&d, root, &mut p);
        }
        if kind.as_deref() == Some("ConfigMap")
            && runner_ctx
            && let Some(data) = d.get(root, "data")
        {
            super::runner::env_signals(&d.env(data), &mut p.signals);
        }
        let mut w = Walk {
            d: &d,
            sf,
            diags,
            p: &mut p,
            task: kind.as_deref().is_some_and(|k| k.contains("Task")),
            runner_ctx,
            embed_depth,
            visited: vec![false; y.node_count()],
            budget: 200_000,
        };
        w.run(root);
        if !p.containers.is_empty() || !p.signals.is_empty() {
            out.push(p);
        }
    }
    out
}

/// A scalar as written in the file: a Go-templated file is parsed with its actions blanked out
/// (`parse_templated`), so a name is taken from the original text (`{{ .Release.Name }}-x`).
fn original_text(y: &Yaml, sf: &SourceFile, v: Val<String>) -> String {
    if y.source().len() == sf.text.len()
        && y.source() != &*sf.text
        && let Some(raw) = sf.text.get(v.loc.span.start..v.loc.span.end)
    {
        return raw
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
    }
    v.v
}

/// Whether a text is about a GitLab Runner, so that `DOCKER_PRIVILEGED`-style variables are its
/// settings and not some other program's.
fn runner_context(text: &str) -> bool {
    [
        "gitlab-runner",
        "gitlabUrl",
        "CI_SERVER_URL",
        "REGISTRATION_TOKEN",
        "RUNNER_TOKEN",
        "RUNNER_EXECUTOR",
        "[[runners]]",
    ]
    .iter()
    .any(|k| text.contains(k))
}

fn helm_values(d: &Doc<'_>, root: NodeId, p: &mut Pipeline) {
    // actions-runner-controller gha-runner-scale-set
    if let Some(cm) = d.get(root, "containerMode")
        && let Some(t) = d.sget(cm, "type")
        && t.v.trim() == "dind"
    {
        p.signals.push(Signal::RunnerPrivileged(t.loc));
    }
    // gitlab-runner chart (`runners.config` is read with every other embedded runner TOML).
    if let Some(runners) = d.get(root, "runners")
        && d.is_map(runners)
        && let Some(pv) = d.get(runners, "privileged").and_then(|v| d.bool_val(v))
        && pv.v
    {
        p.signals.push(Signal::RunnerPrivileged(pv.loc));
    }
}

/// The walk over one document.
struct Walk<'a, 'b> {
    d: &'a Doc<'a>,
    sf: &'a SourceFile,
    diags: &'b mut Vec<Diagnostic>,
    p: &'b mut Pipeline,
    /// A Tekton Task: `steps` are containers.
    task: bool,
    runner_ctx: bool,
    embed_depth: usize,
    /// Nodes already read (an alias is read once, at its anchor: no alias bomb).
    visited: Vec<bool>,
    /// Nodes left to visit in this document.
    budget: usize,
}

/// Keys a pod spec reads itself; the generic walk does not enter them again.
const POD_KEYS: &[&str] = &[
    "containers",
    "initContainers",
    "ephemeralContainers",
    "sidecars",
    "steps",
    "securityContext",
    "volumes",
];

impl Walk<'_, '_> {
    fn run(&mut self, root: NodeId) {
        let d = self.d;
        let y = d.y;
        // (node, depth, key of the entry holding it)
        let mut stack: Vec<(NodeId, usize, Option<String>)> = vec![(root, 0, None)];
        while let Some((n, depth, parent)) = stack.pop() {
            if depth > 40 || self.budget == 0 {
                break;
            }
            self.budget -= 1;
            match self.visited.get_mut(y.resolve(n) as usize) {
                Some(v) if !*v => *v = true,
                _ => continue,
            }
            if d.is_map(n) {
                let is_pod =
                    d.get(n, "containers").is_some() || self.task && d.get(n, "steps").is_some();
                if is_pod {
                    pod_spec(d, n, self.p, self.runner_ctx);
                }
                self.annotations(n);
                let mut patch_op = false;
                if let (Some(op), Some(path), Some(value)) =
                    (d.sget(n, "op"), d.sget(n, "path"), d.get(n, "value"))
                    && path.v.starts_with('/')
                    && matches!(op.v.trim(), "add" | "replace")
                {
                    self.json_patch(&path.v, value);
                    patch_op = true;
                }
                for (k, _, v) in d.entries(n) {
                    if k == "annotations"
                        || is_pod && POD_KEYS.contains(&k.as_str())
                        || patch_op && k == "value"
                    {
                        continue;
                    }
                    if self.entry(n, parent.as_deref(), &k, v) {
                        continue;
                    }
                    stack.push((v, depth + 1, Some(k)));
                }
            } else if let Some(items) = y.seq(y.resolve(n)) {
                for it in items {
                    stack.push((*it, depth + 1, parent.clone()));
                }
            } else if let Some(text) = y.str(y.resolve(n)) {
                self.string(n, parent.as_deref(), text);
            }
        }
    }

    /// Seccomp/AppArmor annotations of a metadata block.
    fn annotations(&mut self, n: NodeId) {
        let d = self.d;
        let Some(ann) = d.get(n, "annotations") else {
            return;
        };
        for (k, _, v) in d.entries(ann) {
            if (k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                || k.starts_with("seccomp.security.alpha.kubernetes.io/")
                || k.starts_with("container.seccomp.security.alpha.kubernetes.io/"))
                && let Some(val) = d.sval(v)
                && val.v.trim() == "unconfined"
            {
                self.p.signals.push(Signal::Unconfined(Val::new(
                    format!("{k}: unconfined"),
                    val.loc,
                )));
            }
        }
    }

    /// One entry `key: v` of mapping `owner` outside a pod spec. Returns true when the value
    /// was read completely (the walk does not enter it).
    fn entry(&mut self, owner: NodeId, parent: Option<&str>, key: &str, v: NodeId) -> bool {
        let d = self.d;
        match key {
            // Chart values inlined in a Flux `HelmRelease` or an Argo CD `Application`: the
            // runner charts' own switches apply there too.
            "values" | "valuesObject" if d.is_map(v) => {
                helm_values(d, v, self.p);
                false
            }
            "securityContext" | "containerSecurityContext" if d.is_map(v) => {
                let mut c = owner_container(d, owner, parent);
                security_context(d, v, &mut c);
                self.push_container(c);
                true
            }
            "capabilities" | "capAdd" | "cap_add" | "addCapabilities" | "extraCapabilities" => {
                let add = if d.is_map(v) {
                    d.get(v, "add")
                } else {
                    Some(v)
                };
                if let Some(add) = add {
                    for cap in d.str_list(add) {
                        self.p.signals.push(Signal::CapAdd(cap));
                    }
                }
                true
            }
            "seccompProfile" | "appArmorProfile" => {
                let mut opts = Vec::new();
                profile(d, key, v, &mut |o| opts.push(o));
                for o in opts {
                    self.p.signals.push(Signal::Unconfined(o));
                }
                true
            }
            "hostPath" | "hostPathVolume" => {
                let path = if d.is_map(v) {
                    d.sget(v, "path")
                } else {
                    d.sval(v)
                };
                if let Some(path) = path
                    && crate::rules::is_socket_path(&path.v)
                {
                    self.p.signals.push(Signal::SocketMount(path.loc));
                }
                true
            }
            "env" | "envs" | "envVars" | "extraEnv" | "extraEnvVars" | "environment"
                if self.runner_ctx =>
            {
                let vars = env_entries(d, v);
                super::runner::env_signals(&vars, &mut self.p.signals);
                false
            }
            _ => false,
        }
    }

    /// A JSON 6902 `add`/`replace` operation: read `value` as if it sat at `path`.
    fn json_patch(&mut self, path: &str, value: NodeId) {
        let d = self.d;
        let segs: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != "-" && s.parse::<usize>().is_err())
            .collect();
        let Some((&last, rest)) = segs.split_last() else {
            return;
        };
        let parent = rest.last().copied();
        match (parent, last) {
            (Some("securityContext"), "privileged") => {
                if let Some(b) = d.bool_val(value)
                    && b.v
                {
                    let mut c = Container::new(Role::Workload);
                    // Named by the patched path (`/spec/template/spec/containers/0`).
                    c.name = path
                        .strip_suffix("/securityContext/privileged")
                        .map(String::from);
                    c.privileged = Some(b);
                    self.push_container(c);
                }
            }
            (Some("capabilities"), "add") => {
                for cap in d.str_list(value) {
                    self.p.signals.push(Signal::CapAdd(cap));
                }
            }
            (Some("seccompProfile" | "appArmorProfile"), "type") => {
                if let Some(t) = d.sval(value)
                    && t.v.trim() == "Unconfined"
                {
                    let what = if parent == Some("seccompProfile") {
                        "seccomp"
                    } else {
                        "apparmor"
                    };
                    self.p.signals.push(Signal::Unconfined(Val::new(
                        format!("{what}=unconfined"),
                        t.loc,
                    )));
                }
            }
            (Some("hostPath"), "path") => {
                if let Some(pth) = d.sval(value)
                    && crate::rules::is_socket_path(&pth.v)
                {
                    self.p.signals.push(Signal::SocketMount(pth.loc));
                }
            }
            (_, "containers" | "initContainers") => {
                // One container (`…/containers/-`) or a list of them.
                for c in d.items(value) {
                    if d.is_map(c)
                        && let Some(sc) = d.get(c, "securityContext")
                        && d.is_map(sc)
                    {
                        let mut ct = owner_container(d, c, None);
                        security_context(d, sc, &mut ct);
                        self.push_container(ct);
                    }
                }
            }
            (_, key) if d.is_map(value) => {
                // The value is a subtree (`…/spec`, `…/securityContext`): read it as one.
                let mut wrapper_done = false;
                if matches!(
                    key,
                    "securityContext" | "capabilities" | "seccompProfile" | "hostPath"
                ) {
                    // Entries need an owner mapping; the value itself stands in for it.
                    wrapper_done = self.entry(value, parent, key, value);
                }
                if !wrapper_done {
                    self.run(value);
                }
            }
            _ => {}
        }
    }

    /// A string scalar: an embedded runner `config.toml`, or embedded YAML (Argo CD
    /// `helm.values`, Kustomize `patch`, `patchesStrategicMerge` items).
    fn string(&mut self, n: NodeId, parent: Option<&str>, text: &str) {
        let d = self.d;
        let r = d.y.resolve(n);
        if text.contains("[[runners]]") {
            let map = |off: usize| d.y.scalar_src_offset(r, off);
            let inner = super::runner::lower_text(text, 0, self.sf, d.file, self.diags, Some(&map));
            for ip in inner {
                self.p.signals.extend(ip.signals);
            }
            return;
        }
        if self.embed_depth >= MAX_EMBED_DEPTH
            || !matches!(
                parent,
                Some("values" | "patch" | "patchesStrategicMerge" | "patches")
            )
            || !text.contains('\n')
            || !text.contains(':')
        {
            return;
        }
        let Ok(inner_y) = Yaml::parse(text) else {
            return;
        };
        let inner_sf = SourceFile::new(self.sf.path.clone(), text.to_string());
        let mut inner_diags = Vec::new();
        let inner = lower_at(
            &inner_y,
            d.file,
            &inner_sf,
            &mut inner_diags,
            self.embed_depth + 1,
        );
        let map = |l: Loc| {
            let s = d.y.scalar_src_offset(r, l.span.start);
            let e =
                d.y.scalar_src_offset(r, l.span.end.max(l.span.start + 1) - 1) + 1;
            Loc::new(l.file, Span::new(s, e.max(s)))
        };
        for ip in inner {
            super::yamlx::absorb(ip, &map, self.p);
        }
    }

    fn push_container(&mut self, c: Container) {
        if c.privileged.is_some() || !c.cap_add.is_empty() || !c.security_opt.is_empty() {
            self.p.containers.push(c);
        }
    }
}

/// A container standing for the mapping that holds a `securityContext` outside a pod spec (a
/// chart's `dind:` block, an `extraContainers` item): its name and image, when it has them.
fn owner_container(d: &Doc<'_>, owner: NodeId, parent: Option<&str>) -> Container {
    let mut c = Container::new(Role::Workload);
    c.name = d
        .sget(owner, "name")
        .map(|v| v.v)
        .or(parent.map(String::from))
        .or_else(|| Some("(chart values)".into()));
    c.image = image_of(d, owner);
    if c.image.is_none()
        && let Some(name) = &c.name
        && name.to_ascii_lowercase().contains("dind")
        && let Some(loc) = d.get(owner, "securityContext").map(|n| d.loc(n))
    {
        // A chart's `dind:` block without an image of its own is still the daemon.
        c.image = Some(Val::new(format!("{name} (docker:dind)"), loc));
    }
    c
}

/// `image:` as a string, or a chart's `image: {repository, tag}` mapping.
fn image_of(d: &Doc<'_>, owner: NodeId) -> Option<Val<String>> {
    let img = d.get(owner, "image")?;
    if d.is_map(img) {
        let repo = d.sget(img, "repository").or_else(|| d.sget(img, "name"))?;
        let tag = d.sget(img, "tag").map(|t| t.v).unwrap_or_default();
        let v = if tag.is_empty() {
            repo.v
        } else {
            format!("{}:{tag}", repo.v)
        };
        return Some(Val::new(v, repo.loc));
    }
    d.sval(img)
}

/// `env:` as a list of `{name, value}` or a mapping.
fn env_entries(d: &Doc<'_>, v: NodeId) -> Vec<(String, Val<String>)> {
    if d.is_map(v) {
        return d.env(v);
    }
    let mut out = Vec::new();
    for e in d.items(v) {
        if let (Some(n), Some(val)) = (d.sget(e, "name"), d.get(e, "value").and_then(|v| d.sval(v)))
        {
            out.push((n.v, val));
        }
    }
    out
}

/// Read a `securityContext` mapping into a container.
fn security_context(d: &Doc<'_>, sc: NodeId, ct: &mut Container) {
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

fn pod_spec(d: &Doc<'_>, spec: NodeId, p: &mut Pipeline, runner_ctx: bool) {
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
                security_context(d, sc, &mut ct);
            }
            if let Some(env) = d.get(c, "env") {
                ct.env = env_entries(d, env);
                let runner = runner_ctx
                    || ct
                        .image
                        .as_ref()
                        .is_some_and(|i| i.v.contains("gitlab-runner"));
                if runner {
                    super::runner::env_signals(&ct.env, &mut p.signals);
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

fn profile(d: &Doc<'_>, key: &str, prof: NodeId, push: &mut dyn FnMut(Val<String>)) {
    let what = if key == "seccompProfile" {
        "seccomp"
    } else {
        "apparmor"
    };
    if let Some(t) = d.sget(prof, "type")
        && t.v.trim() == "Unconfined"
    {
        push(Val::new(format!("{what}=unconfined"), t.loc));
    }
}

fn unconfined_profiles(d: &Doc<'_>, sc: NodeId, push: &mut dyn FnMut(Val<String>)) {
    for key in ["seccompProfile", "appArmorProfile"] {
        if let Some(prof) = d.get(sc, key) {
            profile(d, key, prof, push);
        }
    }
}
