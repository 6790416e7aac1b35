//! Other CI systems, detect only: Drone, Woodpecker, Azure Pipelines, Bitbucket Pipelines,
//! CircleCI, Buildkite. Any mapping with an `image:` is a container; `privileged: true`,
//! dind images, socket volumes and `docker: true`-style options are read.

use super::yamlx::Doc;
use crate::finding::Surface;
use crate::model::{Container, Pipeline, Role};
use crate::source::FileId;
use crate::source::yaml::{NodeId, Yaml};

/// Lower a detect-only CI file.
pub fn lower(y: &Yaml, file: FileId, path: &str) -> Vec<Pipeline> {
    let d = Doc { y, file };
    let mut out = Vec::new();
    for &root in y.documents() {
        let name = d
            .sget(root, "name")
            .map(|v| v.v)
            .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_string());
        let mut p = Pipeline::new(name, Surface::Other, d.loc(root));
        let mut stack: Vec<(NodeId, usize)> = vec![(root, 0)];
        let mut visited = 0usize;
        while let Some((n, depth)) = stack.pop() {
            visited += 1;
            if depth > 24 || visited > 100_000 {
                break;
            }
            if d.is_map(n) {
                let image = d.get(n, "image").and_then(|i| d.sval(i));
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
                                if let Some(s) = d.get(item, "host").and_then(|h| d.sget(h, "path"))
                                {
                                    c.volumes.push(s);
                                }
                            } else if let Some(s) = d.sval(item) {
                                c.volumes.push(s);
                            }
                        }
                    }
                    // A step whose image is a daemon or a daemon-running plugin.
                    if let Some(env) = d.get(n, "environment") {
                        c.env = d.env(env);
                    }
                    c.implied_privileged = c
                        .image
                        .as_ref()
                        .is_some_and(|i| i.v.to_ascii_lowercase().contains("dind"));
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
                for (k, _, v) in d.entries(n) {
                    if matches!(
                        k.as_str(),
                        "commands" | "command" | "script" | "run" | "bash" | "sh" | "powershell"
                    ) && !d.is_map(v)
                    {
                        for s in d.script_items(v) {
                            d.script(s, &mut p.script_facts, &mut p.usage);
                        }
                        continue;
                    }
                    stack.push((v, depth + 1));
                }
            } else if let Some(items) = y.seq(y.resolve(n)) {
                for i in items {
                    stack.push((*i, depth + 1));
                }
            }
        }
        out.push(p);
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
                ".buildkite/pipeline.yml",
                "steps:\n  - command: echo docker run --privileged\n"
            ),
            Vec::<String>::new()
        );
    }
}
