//! Other CI systems, detect only: Drone, Woodpecker, Azure Pipelines, Bitbucket Pipelines,
//! CircleCI, Buildkite. Any mapping with an `image:` is a container (`privileged: true`, dind
//! images, socket volumes, published ports, `options:` strings read as `docker run` options);
//! `script`/`commands`/`run`/`bash` blocks are read as shell; job-level `environment`/
//! `variables` are the job's environment. Jobs are pipelines of their own: CircleCI
//! `jobs.<name>`, Azure `jobs[]` items (`job:`/`deployment:`), Bitbucket `step:`s; everything
//! else (Drone/Woodpecker documents, Azure `resources`, Bitbucket `definitions`) belongs to the
//! document's pipeline.

use super::yamlx::Doc;
use crate::finding::Surface;
use crate::model::{Container, DockerUse, Pipeline, Role, Val};
use crate::source::FileId;
use crate::source::yaml::{NodeId, Yaml};

/// Which system a file belongs to, by its path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum System {
    CircleCi,
    Azure,
    Bitbucket,
    Other,
}

fn system_of(path: &str) -> System {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    if lower.contains(".circleci/") {
        System::CircleCi
    } else if name.starts_with("azure-pipelines") {
        System::Azure
    } else if name.starts_with("bitbucket-pipelines") {
        System::Bitbucket
    } else {
        System::Other
    }
}

/// Keys whose scalar (or list of scalars) is shell.
fn is_script_key(k: &str) -> bool {
    matches!(
        k,
        "commands" | "command" | "script" | "run" | "bash" | "sh" | "powershell" | "pwsh"
    )
}

/// If `n` starts a job of its own, its display name.
fn job_name(
    d: &Doc<'_>,
    sys: System,
    n: NodeId,
    parent_key: Option<&str>,
    depth: usize,
    circle_jobs: &[NodeId],
) -> Option<String> {
    match sys {
        // `jobs:` → `<name>:` (a mapping at depth 2 under the root).
        System::CircleCi => (depth == 2 && circle_jobs.contains(&n))
            .then(|| parent_key.map(str::to_string))
            .flatten(),
        System::Azure => ["job", "deployment"]
            .iter()
            .find_map(|k| d.sget(n, k))
            .map(|v| v.v),
        System::Bitbucket => {
            let step = d.get(n, "step").filter(|s| d.is_map(*s))?;
            Some(
                d.sget(step, "name")
                    .map(|v| v.v)
                    .unwrap_or_else(|| format!("step at byte {}", d.y.span(step).start)),
            )
        }
        System::Other => None,
    }
}

/// Lower a detect-only CI file.
pub fn lower(y: &Yaml, file: FileId, path: &str) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let sys = system_of(path);
    let mut out = Vec::new();
    let mut job_nodes: Vec<Option<NodeId>> = Vec::new();
    for &root in y.documents() {
        let name = d
            .sget(root, "name")
            .map(|v| v.v)
            .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_string());
        let first = out.len();
        out.push(Pipeline::new(name, Surface::Other, d.loc(root)));
        // The node of each job pipeline (`None` for document pipelines), aligned with `out`.
        job_nodes.resize(out.len(), None);
        let circle_jobs: Vec<NodeId> = if sys == System::CircleCi {
            d.get(root, "jobs")
                .map(|j| d.entries(j).into_iter().map(|(_, _, v)| v).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // (node, depth, pipeline index, key it sits under)
        let mut stack: Vec<(NodeId, usize, usize, Option<String>)> = vec![(root, 0, first, None)];
        let mut visited = 0usize;
        while let Some((n, depth, mut pi, parent_key)) = stack.pop() {
            visited += 1;
            if depth > 24 || visited > 100_000 {
                break;
            }
            if d.is_map(n) {
                if depth > 0
                    && let Some(job) =
                        job_name(&d, sys, n, parent_key.as_deref(), depth, &circle_jobs)
                {
                    out.push(Pipeline::new(job, Surface::Other, d.loc(n)));
                    job_nodes.resize(out.len() - 1, None);
                    job_nodes.push(Some(n));
                    pi = out.len() - 1;
                }
                let Some(p) = out.get_mut(pi) else { continue };
                // A Bitbucket docker service (`definitions.services.docker`, or any service with
                // `type: docker`) is the step's Docker daemon.
                let docker_service = sys == System::Bitbucket
                    && (parent_key.as_deref() == Some("docker")
                        || d.sget(n, "type").is_some_and(|t| t.v == "docker"));
                visit_map(&d, n, p, docker_service);
                for (k, _, v) in d.entries(n) {
                    if is_script_key(&k) && !d.is_map(v) {
                        for s in d.script_items(v) {
                            d.script(s, &mut p.script_facts, &mut p.usage);
                        }
                        continue;
                    }
                    stack.push((v, depth + 1, pi, Some(k)));
                }
            } else if let Some(items) = y.seq(y.resolve(n)) {
                for i in items {
                    stack.push((*i, depth + 1, pi, parent_key.clone()));
                }
            }
        }
        // Shared definitions (Azure `resources.containers`, Bitbucket `definitions.services`)
        // serve the document's jobs: they see what the jobs that use them use Docker for.
        // Azure jobs name their containers (`container: builder`, `services: {db: db}`).
        if out.get(first).is_some_and(|p| !p.containers.is_empty()) {
            let resources: Vec<String> = if sys == System::Azure {
                azure_resource_ids(&d, root)
            } else {
                Vec::new()
            };
            let jobs: Vec<DockerUse> = out
                .iter()
                .zip(job_nodes.iter())
                .skip(first + 1)
                .filter(|(_, node)| {
                    sys != System::Azure
                        || node.is_some_and(|n| {
                            azure_job_refs(&d, n).iter().any(|r| resources.contains(r))
                        })
                })
                .flat_map(|(p, _)| p.usage.iter().copied())
                .collect();
            if let Some(doc) = out.get_mut(first) {
                doc.usage.extend(jobs);
            }
        }
    }
    out
}

/// Reads one mapping: a container when it has an image, Drone/Woodpecker host volumes, the
/// job's environment, and Docker tasks (Azure `Docker@2`, CircleCI `setup_remote_docker`).
fn visit_map(d: &Doc<'_>, n: NodeId, p: &mut Pipeline, docker_service: bool) {
    let image_node = d.get(n, "image");
    // `image: x` or Bitbucket's `image: {name: x}`.
    let image = image_node.and_then(|i| d.sval(i).or_else(|| d.sget(i, "name")));
    let has_image = image.is_some();
    let privileged = d.get(n, "privileged").and_then(|v| d.bool_val(v));
    if image.is_some() || privileged.is_some() {
        let mut c = Container::new(Role::Workload);
        c.image = image;
        c.privileged = privileged;
        if let Some(v) = d.get(n, "volumes") {
            for item in d.items(v) {
                if d.is_map(item) {
                    // Drone/Woodpecker: `host: {path: …}` is the host side.
                    if let Some(s) = d.get(item, "host").and_then(|h| d.sget(h, "path")) {
                        c.volumes.push(s);
                    }
                } else if let Some(s) = d.sval(item) {
                    c.volumes.push(s);
                }
            }
        }
        if let Some(ports) = d.get(n, "ports") {
            c.ports = d.str_list(ports);
        }
        for key in ["environment", "variables", "env"] {
            if let Some(env) = d.get(n, key) {
                c.env.extend(env_of(d, env));
            }
        }
        // Azure container resources and job containers: `options: --privileged …`.
        if let Some(o) = d.get(n, "options")
            && !d.is_map(o)
        {
            let img = c.image.as_ref().map(|i| i.v.clone());
            c.facts = d.run_args(o, img.as_deref());
        }
        c.implied_privileged = c.image.as_ref().is_some_and(|i| {
            i.v.to_ascii_lowercase().contains("dind")
                || (docker_service && crate::source::docker_cmd::is_daemon_image(&i.v))
        });
        p.containers.push(c);
    }
    // Top-level volume definitions with a host path (Drone, Woodpecker).
    if !has_image
        && let Some(host) = d.get(n, "host")
        && let Some(path) = d.sget(host, "path")
        && crate::rules::is_socket_path(&path.v)
    {
        p.signals.push(crate::model::Signal::SocketMount(path.loc));
    }
    // The job's own environment (CircleCI `environment:`, Azure/Bitbucket `variables:`).
    if !has_image {
        for key in ["environment", "variables"] {
            if let Some(env) = d.get(n, key) {
                p.env.extend(env_of(d, env));
            }
        }
    }
    // Azure `- task: Docker@2` with `inputs.command`.
    if let Some(task) = d.sget(n, "task") {
        let t = task.v.to_ascii_lowercase();
        if t.starts_with("docker@") {
            let cmd = d
                .get(n, "inputs")
                .and_then(|i| d.sget(i, "command"))
                .map(|c| c.v.to_ascii_lowercase())
                .unwrap_or_else(|| "buildandpush".into());
            match cmd.as_str() {
                "build" => {
                    p.usage.insert(DockerUse::Build);
                }
                "push" => {
                    p.usage.insert(DockerUse::Push);
                }
                "login" => {
                    p.usage.insert(DockerUse::Login);
                }
                "buildandpush" => {
                    p.usage.insert(DockerUse::Build);
                    p.usage.insert(DockerUse::Push);
                }
                _ => {
                    p.usage.insert(DockerUse::Run);
                }
            }
        } else if t.starts_with("dockercompose@") {
            p.usage.insert(DockerUse::Run);
        }
    }
}

/// Identifiers of Azure `resources.containers[].container`.
fn azure_resource_ids(d: &Doc<'_>, root: NodeId) -> Vec<String> {
    d.get(root, "resources")
        .and_then(|r| d.get(r, "containers"))
        .map(|c| {
            d.items(c)
                .into_iter()
                .filter_map(|i| d.sget(i, "container").map(|v| v.v))
                .collect()
        })
        .unwrap_or_default()
}

/// Container resources an Azure job names: `container: id` and `services: {alias: id}`.
fn azure_job_refs(d: &Doc<'_>, job: NodeId) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = d.get(job, "container")
        && !d.is_map(c)
        && let Some(v) = d.sval(c)
    {
        out.push(v.v);
    }
    if let Some(sv) = d.get(job, "services") {
        for (_, _, v) in d.entries(sv) {
            if let Some(v) = d.sval(v) {
                out.push(v.v);
            }
        }
    }
    out
}

/// Environment as a map, a `K=V` list, or Azure's list of `{name, value}`.
fn env_of(d: &Doc<'_>, id: NodeId) -> Vec<(String, Val<String>)> {
    let mut out = d.env(id);
    for item in d.items(id) {
        if d.is_map(item)
            && let Some(name) = d.sget(item, "name")
            && let Some(value) = d.sget(item, "value")
        {
            out.push((name.v, value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::scan::scan_memory;

    fn hits(path: &str, text: &str) -> Vec<String> {
        let files = [(path.to_string(), text.to_string())].into_iter().collect();
        scan_memory(files, &crate::config::Config::default())
            .findings
            .iter()
            .map(|f| format!("{}@{}", f.rule, f.line))
            .collect()
    }

    #[test]
    fn jobs_are_pipelines_of_their_own() {
        let files = [(
            ".circleci/config.yml".to_string(),
            "version: 2.1\nexecutors:\n  vm:\n    machine: true\njobs:\n  build:\n    executor: vm\n    steps:\n    - run: docker run --privileged img\n  lint:\n    docker:\n    - image: cimg/base:current\n    steps:\n    - setup_remote_docker\n    - run: docker build .\nworkflows:\n  w:\n    jobs: [build, lint]\n"
                .to_string(),
        )]
        .into_iter()
        .collect();
        let r = scan_memory(files, &crate::config::Config::default());
        let f: Vec<(String, &str)> = r
            .findings
            .iter()
            .map(|f| (f.pipeline.clone().unwrap_or_default(), f.rule))
            .collect();
        assert_eq!(f, [("build".to_string(), "privileged-container")]);
    }

    #[test]
    fn scripts_of_other_ci_systems_are_read() {
        assert_eq!(
            hits(
                ".circleci/config.yml",
                "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n      - run:\n          command: docker run --privileged alpine true\n"
            ),
            vec!["privileged-container@7"]
        );
        assert_eq!(
            hits(
                "azure-pipelines.yml",
                "steps:\n  - bash: docker run -v /var/run/docker.sock:/s img\n"
            ),
            vec!["docker-socket-mount@2"]
        );
        assert_eq!(
            hits(
                "azure-pipelines.yml",
                "resources:\n  containers:\n  - container: b\n    image: x\n    options: -u 0 --privileged\n    ports:\n    - 2375:2375\njobs:\n- job: a\n  container: b\n  variables:\n  - name: DOCKER_HOST\n    value: tcp://d:2375\n  steps:\n  - script: make\n"
            ),
            vec![
                "privileged-container@5",
                "plaintext-docker-daemon@7",
                "plaintext-docker-daemon@13"
            ]
        );
        assert_eq!(
            hits(
                "bitbucket-pipelines.yml",
                "definitions:\n  services:\n    docker:\n      memory: 2048\npipelines:\n  default:\n  - step:\n      services: [docker]\n      script:\n      - docker build .\n"
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            hits(
                "bitbucket-pipelines.yml",
                "definitions:\n  services:\n    builder-daemon:\n      type: docker\n      image: docker:27\n    redis:\n      image: redis:7\n"
            ),
            vec!["privileged-dind@5"]
        );
        assert_eq!(
            hits(
                ".buildkite/pipeline.yml",
                "steps:\n  - command: echo docker run --privileged\n"
            ),
            Vec::<String>::new()
        );
    }
}
