//! GitHub Actions: workflows (`jobs.<id>`: `runs-on`, `container`, `services`, `steps[].run`,
//! `steps[].uses`/`with`, `env` at every level, matrix option strings) and composite/Docker
//! actions (`action.yml`). Every job is a pipeline.

use std::collections::BTreeSet;

use super::yamlx::Doc;
use crate::finding::Surface;
use crate::model::{Container, DockerUse, Hosting, LocFact, Pipeline, Role, Signal, Val};
use crate::source::FileId;
use crate::source::yaml::{NodeId, Yaml};

const HOSTED_PREFIXES: &[&str] = &["ubuntu-", "windows-", "macos-"];

fn hosting(d: &Doc<'_>, runs_on: Option<NodeId>) -> Hosting {
    let Some(r) = runs_on else {
        return Hosting::Unknown;
    };
    let mut labels: Vec<String> = d.str_list(r).into_iter().map(|v| v.v).collect();
    if d.is_map(r) {
        if d.get(r, "group").is_some() {
            return Hosting::SelfHosted;
        }
        if let Some(l) = d.get(r, "labels") {
            labels = d.str_list(l).into_iter().map(|v| v.v).collect();
        }
    }
    if labels.is_empty() || labels.iter().any(|l| l.contains("${{")) {
        return Hosting::Unknown;
    }
    if labels.iter().any(|l| l == "self-hosted") {
        return Hosting::SelfHosted;
    }
    if labels
        .iter()
        .all(|l| HOSTED_PREFIXES.iter().any(|p| l.starts_with(p)))
    {
        Hosting::GithubHosted
    } else {
        Hosting::SelfHosted
    }
}

/// Whether a self-hosted runner's labels name Windows or macOS (job containers need Linux).
fn non_linux(d: &Doc<'_>, runs_on: Option<NodeId>) -> bool {
    let Some(r) = runs_on else { return false };
    let node = if d.is_map(r) {
        d.get(r, "labels").unwrap_or(r)
    } else {
        r
    };
    d.str_list(node).iter().any(|l| {
        let l = l.v.to_ascii_lowercase();
        l == "windows" || l == "macos" || l == "osx"
    })
}

fn container_of(d: &Doc<'_>, node: NodeId, role: Role, name: Option<String>) -> Container {
    let mut c = Container::new(role);
    c.name = name;
    if d.is_map(node) {
        c.image = d.sget(node, "image");
        if let Some(v) = d.get(node, "volumes") {
            c.volumes = d.str_list(v);
        }
        if let Some(v) = d.get(node, "env") {
            c.env = d.env(v);
        }
        if let Some(v) = d.get(node, "ports") {
            c.ports = d.str_list(v);
        }
        for key in ["entrypoint", "command"] {
            if let Some(v) = d.sget(node, key) {
                for w in v.v.split_whitespace() {
                    c.command.push(Val::new(w.to_string(), v.loc));
                }
            }
        }
        if let Some(o) = d.get(node, "options") {
            let image = c.image.as_ref().map(|i| i.v.clone());
            c.facts = d.run_args(o, image.as_deref());
        }
    } else {
        c.image = d.sval(node);
    }
    c
}

/// Option strings anywhere below `node` (matrix entries, action inputs) named `options` or
/// `*-options`, analysed as `docker run` options.
fn nested_options(d: &Doc<'_>, node: NodeId, out: &mut Vec<LocFact>) {
    let mut stack = vec![(node, 0usize)];
    let mut seen = 0usize;
    while let Some((n, depth)) = stack.pop() {
        seen += 1;
        if depth > 12 || seen > 50_000 {
            break;
        }
        if d.is_map(n) {
            for (k, _, v) in d.entries(n) {
                let lk = k.to_ascii_lowercase();
                if (lk == "options" || lk.ends_with("-options") || lk.ends_with("_options"))
                    && d.y.str(d.y.resolve(v)).is_some()
                {
                    out.extend(d.run_args(v, None));
                } else {
                    stack.push((v, depth + 1));
                }
            }
        } else if let Some(items) = d.y.seq(d.y.resolve(n)) {
            for i in items {
                stack.push((*i, depth + 1));
            }
        }
    }
}

/// `runner_socket`: the job runs on a self-hosted Linux runner, which mounts its Docker socket
/// into every container action (`uses: docker://…`).
fn steps(d: &Doc<'_>, steps: NodeId, p: &mut Pipeline, runner_socket: bool) {
    for step in d.items(steps) {
        if !d.is_map(step) {
            continue;
        }
        if let Some(run) = d.get(step, "run") {
            d.script(run, &mut p.script_facts, &mut p.usage);
            if let Some(s) = d.y.str(d.y.resolve(run)) {
                super::collect_local_scripts(s, &mut p.runs_scripts);
            }
        }
        if let Some(env) = d.get(step, "env") {
            p.env.extend(d.env(env));
        }
        let uses_val = d.sget(step, "uses");
        if runner_socket
            && let Some(u) = &uses_val
            && u.v.trim().starts_with("docker://")
        {
            // A Docker container action gets the runner host's socket too.
            p.signals.push(Signal::RunnerSocketMount(u.loc));
        }
        let uses = uses_val.map(|v| v.v).unwrap_or_default();
        if let Some(action) = local_action(&uses) {
            // A local action's findings name the jobs that use it (`runs_scripts`; an
            // `action.yaml` is matched under this name too).
            let path = if action.is_empty() {
                "action.yml".to_string()
            } else {
                format!("{action}/action.yml")
            };
            if !p.runs_scripts.contains(&path) {
                p.runs_scripts.push(path);
            }
        }
        let with = d.get(step, "with");
        classify_action(d, &uses, with, &mut p.usage);
        if let Some(w) = with {
            if let Some(run) = d.get(w, "run") {
                d.script(run, &mut p.script_facts, &mut p.usage);
            }
            nested_options(d, w, &mut p.script_facts);
        }
    }
}

/// The repository-relative directory of a local action (`uses: ./ci/actions/build`), or
/// `None` for a remote action, a Docker image or a reusable workflow.
fn local_action(uses: &str) -> Option<String> {
    let rest = uses.trim().strip_prefix("./")?;
    if rest.contains("${{") || rest.ends_with(".yml") || rest.ends_with(".yaml") {
        return None;
    }
    crate::discover::join_path("", rest)
}

fn classify_action(d: &Doc<'_>, uses: &str, with: Option<NodeId>, usage: &mut BTreeSet<DockerUse>) {
    let name = uses.split('@').next().unwrap_or("").to_ascii_lowercase();
    let input = |k: &str| with.and_then(|w| d.sget(w, k)).map(|v| v.v);
    match name.as_str() {
        "docker/build-push-action" => {
            usage.insert(DockerUse::Build);
            if input("push").is_some_and(|v| v.trim() != "false") {
                usage.insert(DockerUse::Push);
            }
            if input("platforms").is_some_and(|v| v.contains(',')) {
                usage.insert(DockerUse::MultiArch);
            }
        }
        "docker/login-action" => {
            usage.insert(DockerUse::Login);
        }
        "docker/setup-qemu-action" => {
            usage.insert(DockerUse::MultiArch);
        }
        "docker/bake-action" => {
            usage.insert(DockerUse::Build);
        }
        _ if name.starts_with("docker://") => {
            usage.insert(DockerUse::Run);
        }
        _ => {}
    }
}

/// Lower a workflow file.
pub fn lower_workflow(y: &Yaml, file: FileId) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let mut out = Vec::new();
    for &root in y.documents() {
        let wf_env = d.get(root, "env").map(|e| d.env(e)).unwrap_or_default();
        let Some(jobs) = d.get(root, "jobs") else {
            continue;
        };
        for (name, key, job) in d.entries(jobs) {
            if !d.is_map(job) {
                continue;
            }
            let mut p = Pipeline::new(name.clone(), Surface::GithubActions, d.loc(key));
            p.hosting = hosting(&d, d.get(job, "runs-on"));
            p.env.extend(wf_env.iter().cloned());
            if let Some(e) = d.get(job, "env") {
                p.env.extend(d.env(e));
            }
            if let Some(c) = d.y.get(job, "container") {
                p.containers
                    .push(container_of(&d, c.value, Role::JobImage, None));
                // On a self-hosted Linux runner the runner mounts the host's Docker socket into
                // the job container. A GitHub-hosted runner is a fresh VM per job whose user
                // already has passwordless sudo: the socket adds nothing there.
                if p.hosting == Hosting::SelfHosted
                    && !d.y.is_null(d.y.resolve(c.value))
                    && !non_linux(&d, d.get(job, "runs-on"))
                {
                    p.signals.push(Signal::RunnerSocketMount(d.loc(c.key_id)));
                }
            }
            if let Some(svcs) = d.get(job, "services") {
                for (sname, _, s) in d.entries(svcs) {
                    // Service containers are started by the runner, not by the job's Docker:
                    // a dind service is the daemon, not a use of it.
                    let c = container_of(&d, s, Role::Service, Some(sname));
                    p.containers.push(c);
                }
            }
            if let Some(strategy) = d.get(job, "strategy") {
                nested_options(&d, strategy, &mut p.script_facts);
            }
            if let Some(s) = d.get(job, "steps") {
                let linux_self_hosted =
                    p.hosting == Hosting::SelfHosted && !non_linux(&d, d.get(job, "runs-on"));
                steps(&d, s, &mut p, linux_self_hosted);
            }
            out.push(p);
        }
    }
    out
}

/// Lower an `action.yml` (composite steps, Docker action args).
pub fn lower_action(y: &Yaml, file: FileId) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let mut out = Vec::new();
    for &root in y.documents() {
        let Some(runs) = d.get(root, "runs") else {
            continue;
        };
        let name = d
            .sget(root, "name")
            .map(|v| v.v)
            .unwrap_or_else(|| "action".into());
        let mut p = Pipeline::new(name, Surface::GithubActions, d.loc(runs));
        if let Some(s) = d.get(runs, "steps") {
            steps(&d, s, &mut p, false);
        }
        if let Some(e) = d.get(runs, "env") {
            p.env.extend(d.env(e));
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_actions() {
        assert_eq!(
            local_action("./.github/actions/build").as_deref(),
            Some(".github/actions/build")
        );
        assert_eq!(local_action("./ci/x/").as_deref(), Some("ci/x"));
        assert_eq!(local_action("./ci/../tools/a").as_deref(), Some("tools/a"));
        assert_eq!(local_action("./").as_deref(), Some(""));
        assert_eq!(local_action("actions/checkout@v4"), None);
        assert_eq!(local_action("docker://alpine:3"), None);
        assert_eq!(local_action("./.github/workflows/reusable.yml"), None);
        assert_eq!(local_action("./../outside"), None);
    }

    #[test]
    fn container_jobs_on_self_hosted_linux_runners_get_the_socket() {
        let wf = "on: push\njobs:\n  a:\n    runs-on: [self-hosted, linux]\n    container: node:22\n    steps: [{run: make}]\n  b:\n    runs-on: ubuntu-24.04\n    container: node:22\n    steps: [{run: make}]\n  c:\n    runs-on: [self-hosted, windows]\n    container: node:22\n    steps: [{run: make}]\n  d:\n    runs-on: [self-hosted]\n    steps: [{run: make}]\n  e:\n    runs-on: [self-hosted, linux]\n    steps: [{uses: 'docker://alpine:3.21'}]\n  f:\n    runs-on: ubuntu-latest\n    steps: [{uses: 'docker://alpine:3.21'}]\n";
        let y = Yaml::parse(wf).expect("yaml");
        let ps = lower_workflow(&y, 0);
        let with_socket: Vec<&str> = ps
            .iter()
            .filter(|p| {
                p.signals
                    .iter()
                    .any(|s| matches!(s, Signal::RunnerSocketMount(_)))
            })
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(with_socket, vec!["a", "e"]);
    }
}
