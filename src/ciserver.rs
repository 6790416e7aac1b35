//! What a container that mounts the host's Docker socket is for: a CI server or runner that
//! drives Docker for its jobs (Jenkins, GitLab Runner, Drone, Woodpecker, Concourse, Buildkite,
//! TeamCity, GoCD, Gitea/Forgejo runners), which can move to a dedicated daemon of its own, or
//! host infrastructure that must see the host's own containers (reverse proxies, monitoring,
//! log shippers, updaters), which cannot. Read from the image, the `FROM` of the Dockerfile a
//! service builds from, or — conservatively — the service name.

/// What a socket-mounting container is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A CI server or runner (the product's name): its jobs need *a* Docker daemon, not the
    /// host's.
    Ci(&'static str),
    /// Infrastructure that reads or manages the host's own containers (what it is).
    HostTool(&'static str),
}

/// Image repositories (registry host and tag removed, lower case) of CI servers and runners,
/// by prefix: `(prefix, product)`.
const CI_IMAGES: &[(&str, &str)] = &[
    ("jenkins/jenkins", "Jenkins"),
    ("jenkins/inbound-agent", "a Jenkins agent"),
    ("jenkins/ssh-agent", "a Jenkins agent"),
    ("jenkins/agent", "a Jenkins agent"),
    ("jenkins/jnlp-slave", "a Jenkins agent"),
    ("jenkinsci/", "Jenkins"),
    ("library/jenkins", "Jenkins"),
    ("gitlab/gitlab-runner", "GitLab Runner"),
    ("gitlab-org/gitlab-runner", "GitLab Runner"),
    ("drone/drone-runner-docker", "the Drone Docker runner"),
    ("drone/agent", "a Drone agent"),
    ("woodpeckerci/woodpecker-agent", "a Woodpecker agent"),
    ("woodpecker-ci/woodpecker/agent", "a Woodpecker agent"),
    ("concourse/concourse", "Concourse"),
    ("buildkite/agent", "the Buildkite agent"),
    ("jetbrains/teamcity-agent", "a TeamCity agent"),
    ("jetbrains/teamcity-minimal-agent", "a TeamCity agent"),
    ("gocd/gocd-agent-", "a GoCD agent"),
    ("gitea/act_runner", "the Gitea act_runner"),
    ("forgejo/runner", "the Forgejo runner"),
    ("actions/actions-runner", "a GitHub Actions runner"),
    ("myoung34/github-runner", "a GitHub Actions runner"),
    ("summerwind/actions-runner", "a GitHub Actions runner"),
    ("atlassian/bamboo-agent-base", "a Bamboo agent"),
];

/// Parts of an image's last path component that name a CI runner or agent.
const CI_NAMES_IN_IMAGES: &[(&str, &str)] = &[
    ("gitlab-runner", "GitLab Runner"),
    ("actions-runner", "a GitHub Actions runner"),
    ("github-runner", "a GitHub Actions runner"),
    ("buildkite-agent", "the Buildkite agent"),
    ("drone-runner-docker", "the Drone Docker runner"),
    ("woodpecker-agent", "a Woodpecker agent"),
    ("teamcity-agent", "a TeamCity agent"),
    ("bamboo-agent", "a Bamboo agent"),
    ("gocd-agent", "a GoCD agent"),
    ("jenkins-agent", "a Jenkins agent"),
    ("inbound-agent", "a Jenkins agent"),
    ("act_runner", "an act_runner"),
    ("act-runner", "an act_runner"),
    ("forgejo-runner", "the Forgejo runner"),
];

/// Images of infrastructure that must see the host's own containers, by the last path
/// component's prefix: `(prefix, what it is)`.
const HOST_TOOLS: &[(&str, &str)] = &[
    (
        "traefik",
        "a reverse proxy that routes to the host's containers",
    ),
    (
        "nginx-proxy",
        "a reverse proxy that routes to the host's containers",
    ),
    ("docker-gen", "a generator that reads the host's containers"),
    (
        "acme-companion",
        "a certificate companion that reads the host's containers",
    ),
    (
        "caddy-docker-proxy",
        "a reverse proxy that routes to the host's containers",
    ),
    ("portainer", "a management UI for the host's Docker"),
    ("cadvisor", "a monitor of the host's containers"),
    ("promtail", "a log shipper for the host's containers"),
    ("logspout", "a log shipper for the host's containers"),
    ("filebeat", "a log shipper for the host's containers"),
    ("fluent-bit", "a log shipper for the host's containers"),
    ("watchtower", "an updater of the host's containers"),
    ("ouroboros", "an updater of the host's containers"),
    ("docker-gc", "a cleaner of the host's images and containers"),
    ("docker-autoheal", "a restarter of the host's containers"),
    ("autoheal", "a restarter of the host's containers"),
    ("dozzle", "a log viewer for the host's containers"),
    (
        "docker-socket-proxy",
        "a filtering proxy for the host's Docker API",
    ),
    (
        "socket-proxy",
        "a filtering proxy for the host's Docker API",
    ),
    (
        "registrator",
        "a service registrator for the host's containers",
    ),
    ("datadog", "a monitoring agent for the host's containers"),
    ("netdata", "a monitor of the host's containers"),
    ("uptime-kuma", "a monitor of the host's containers"),
    ("diun", "an image update notifier for the host's containers"),
];

/// Service names that, alone, mark a CI server or runner (exact, or as the first word of a
/// `-`/`_`-separated name for the unambiguous ones).
const CI_NAMES: &[(&str, &str, bool)] = &[
    // (name, product, also as a prefix)
    ("jenkins", "Jenkins", true),
    ("gitlab-runner", "GitLab Runner", true),
    ("drone-runner", "a Drone runner", true),
    ("woodpecker-agent", "a Woodpecker agent", true),
    ("act-runner", "an act_runner", true),
    ("act_runner", "an act_runner", true),
    ("forgejo-runner", "the Forgejo runner", true),
    ("buildkite-agent", "the Buildkite agent", true),
    ("teamcity-agent", "a TeamCity agent", true),
    ("gocd-agent", "a GoCD agent", true),
    ("concourse-worker", "a Concourse worker", true),
    ("runner", "a CI runner", false),
    ("agent", "a CI agent", false),
    ("ci", "a CI server", false),
    ("ci-runner", "a CI runner", false),
    ("build-agent", "a CI agent", false),
];

/// The repository of an image reference, lower case, without registry host (for Docker Hub
/// and a few known hosts kept as `owner/name`), tag or digest.
fn repository(image: &str) -> String {
    let l = image.trim().to_ascii_lowercase();
    let no_digest = l.split('@').next().unwrap_or("");
    let repo = match no_digest.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => r,
        _ => no_digest,
    };
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 1
        && parts
            .first()
            .is_some_and(|h| h.contains('.') || h.contains(':') || *h == "localhost")
    {
        parts.remove(0);
    }
    parts.join("/")
}

/// What an image is, if depriv knows it.
pub fn by_image(image: &str) -> Option<Role> {
    let repo = repository(image);
    if repo.is_empty() {
        return None;
    }
    if let Some((_, what)) = CI_IMAGES
        .iter()
        .find(|(p, _)| repo.starts_with(p) || repo.contains(&format!("/{p}")))
    {
        return Some(Role::Ci(what));
    }
    let last = repo.rsplit('/').next().unwrap_or("");
    // Images of their own (`myorg/gitlab-runner-custom`): by the last path component.
    if let Some((_, what)) = CI_NAMES_IN_IMAGES.iter().find(|(n, _)| last.contains(n)) {
        return Some(Role::Ci(what));
    }
    if last == "jenkins" || last.starts_with("jenkins-") {
        return Some(Role::Ci("Jenkins"));
    }
    if repo == "portainer/agent" {
        return Some(Role::HostTool("a management agent for the host's Docker"));
    }
    HOST_TOOLS
        .iter()
        .find(|(p, _)| last.starts_with(p))
        .map(|(_, what)| Role::HostTool(what))
}

/// Whether a service name alone marks a CI server or runner.
pub fn by_name(name: &str) -> Option<Role> {
    let l = name.to_ascii_lowercase();
    CI_NAMES
        .iter()
        .find(|(n, _, prefix)| {
            l == *n
                || (*prefix
                    && l.strip_prefix(n)
                        .is_some_and(|r| r.starts_with(['-', '_']) || r.parse::<u32>().is_ok()))
        })
        .map(|(_, what, _)| Role::Ci(what))
}

/// What a service is: by its image, else by the base image of the Dockerfile it builds from,
/// else by its name.
pub fn classify(image: &str, base: Option<&str>, name: &str) -> Option<Role> {
    by_image(image)
        .or_else(|| base.and_then(by_image))
        .or_else(|| by_name(name))
}

/// The base image of a Dockerfile's last stage: its last `FROM` (flags such as `--platform`
/// skipped), with `${ARG}`/`$ARG` replaced by the default of an `ARG` declared before it.
/// A `FROM` naming an earlier stage resolves to that stage's base.
pub fn dockerfile_base(text: &str) -> Option<String> {
    let mut args: Vec<(String, String)> = Vec::new();
    let mut stages: Vec<(Option<String>, String)> = Vec::new();
    // Join continuation lines.
    let mut logical = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim_end();
        if cur.is_empty() && t.trim_start().starts_with('#') {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                logical.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        logical.push(cur);
    }
    for line in logical {
        let mut words = line.split_whitespace();
        let Some(instr) = words.next() else {
            continue;
        };
        if instr.eq_ignore_ascii_case("ARG") {
            for w in words {
                let (k, v) = w.split_once('=').unwrap_or((w, ""));
                let v = v.trim_matches(|c| c == '"' || c == '\'');
                args.retain(|(n, _)| n != k);
                args.push((k.to_string(), v.to_string()));
            }
        } else if instr.eq_ignore_ascii_case("FROM") {
            let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
            let Some(image) = rest.first() else {
                continue;
            };
            let image = substitute(image, &args);
            let alias = match (rest.get(1), rest.get(2)) {
                (Some(kw), Some(a)) if kw.eq_ignore_ascii_case("as") => {
                    Some(a.to_ascii_lowercase())
                }
                _ => None,
            };
            let resolved = stages
                .iter()
                .rev()
                .find(|(a, _)| a.as_deref() == Some(image.to_ascii_lowercase().as_str()))
                .map(|(_, b)| b.clone())
                .unwrap_or(image);
            stages.push((alias, resolved));
        }
    }
    stages
        .pop()
        .map(|(_, b)| b)
        .filter(|b| !b.contains('$') && !b.is_empty())
}

/// `$NAME`/`${NAME}`/`${NAME:-x}` replaced by the ARG default (unknown ones are kept).
fn substitute(word: &str, args: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(rest.get(..at).unwrap_or(""));
        let after = rest.get(at + 1..).unwrap_or("");
        let (name, default, used) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => {
                    let body = inner.get(..end).unwrap_or("");
                    let (n, d) = match body.split_once(":-") {
                        Some((n, d)) => (n, Some(d)),
                        None => (body, None),
                    };
                    (n.to_string(), d.map(str::to_string), end + 2)
                }
                None => (String::new(), None, 0),
            }
        } else {
            let n: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let len = n.len();
            (n, None, len)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        match args
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .or(default)
        {
            Some(v) => out.push_str(&v),
            None => {
                out.push('$');
                out.push_str(after.get(..used).unwrap_or(""));
            }
        }
        rest = after.get(used..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Whether a CI product (as [`Role::Ci`] names it) runs its jobs' shell steps in its own
/// container, where `sudo docker …` would drop the client's environment; runners that start
/// a container per job (GitLab Runner, Drone, Woodpecker, act_runner, Concourse) do not.
pub fn runs_steps_in_place(what: &str) -> bool {
    ![
        "GitLab",
        "Drone",
        "Woodpecker",
        "act_runner",
        "Forgejo",
        "Concourse",
    ]
    .iter()
    .any(|p| what.contains(p))
}

/// The line that installs the Docker CLI into an image: the static client of the official
/// `docker` image's `-cli` variant lives at `/usr/local/bin/docker`
/// (https://github.com/docker-library/docker, `Dockerfile-cli.template`).
pub fn cli_copy_line(cli_image: &str) -> String {
    format!("COPY --from={cli_image} /usr/local/bin/docker /usr/local/bin/docker")
}

/// Whether a Dockerfile already installs a Docker client (a copy from the `docker` image or a
/// package), so nothing needs adding.
pub fn installs_docker_cli(dockerfile: &str) -> bool {
    let l = dockerfile.to_ascii_lowercase();
    l.contains("docker-ce-cli")
        || l.contains("/usr/local/bin/docker ")
        || l.contains("--from=docker:")
        || l.contains("get.docker.com")
        || l.contains("apk add docker-cli")
        || l.contains("docker.io ")
}

/// Where the Docker client binary sits when a host path mounts it (`/usr/bin/docker`,
/// `/usr/local/bin/docker`, `$(which docker)`).
pub fn is_docker_binary(path: &str) -> bool {
    let p = path.trim().trim_matches(|c| c == '"' || c == '\'');
    let l = p.to_ascii_lowercase();
    l.contains("which docker")
        || l.contains("command -v docker")
        || ["/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"].contains(&l.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_servers_and_runners_by_image() {
        for (image, what) in [
            ("jenkins/jenkins:lts-jdk21", "Jenkins"),
            ("docker.io/jenkins/inbound-agent:latest", "a Jenkins agent"),
            ("jenkins/ssh-agent:jdk21", "a Jenkins agent"),
            ("jenkins", "Jenkins"),
            ("gitlab/gitlab-runner:v17.5.0", "GitLab Runner"),
            (
                "registry.gitlab.com/gitlab-org/gitlab-runner:alpine",
                "GitLab Runner",
            ),
            ("drone/drone-runner-docker:1", "the Drone Docker runner"),
            ("woodpeckerci/woodpecker-agent:v2", "a Woodpecker agent"),
            ("concourse/concourse:7.11", "Concourse"),
            ("buildkite/agent:3", "the Buildkite agent"),
            ("jetbrains/teamcity-agent:2024.07", "a TeamCity agent"),
            ("gocd/gocd-agent-ubuntu-22.04:v24.3.0", "a GoCD agent"),
            ("gitea/act_runner:0.2.11", "the Gitea act_runner"),
            (
                "code.forgejo.org/forgejo/runner:6.0.1",
                "the Forgejo runner",
            ),
            (
                "ghcr.io/actions/actions-runner:2.320.0",
                "a GitHub Actions runner",
            ),
            ("jenkins/jenkins@sha256:abc", "Jenkins"),
            (
                "registry.example.com/ci/gitlab-runner-custom:1",
                "GitLab Runner",
            ),
            ("myorg/jenkins:2.462", "Jenkins"),
            ("myorg/jenkins-controller", "Jenkins"),
        ] {
            assert_eq!(by_image(image), Some(Role::Ci(what)), "{image}");
        }
    }

    #[test]
    fn host_tools_by_image() {
        for image in [
            "traefik:v3.2",
            "portainer/portainer-ce:2.21.0",
            "portainer/agent:2.21.0",
            "gcr.io/cadvisor/cadvisor:v0.49.1",
            "grafana/promtail:3.0.0",
            "containrrr/watchtower",
            "spotify/docker-gc",
            "amir20/dozzle:latest",
            "nginxproxy/nginx-proxy:1.6",
            "tecnativa/docker-socket-proxy",
        ] {
            assert!(
                matches!(by_image(image), Some(Role::HostTool(w)) if !w.is_empty()),
                "{image}"
            );
        }
        for image in [
            "",
            "nginx:1.27",
            "postgres:16",
            "docker:29-dind",
            "myorg/app:1",
        ] {
            assert_eq!(by_image(image), None, "{image}");
        }
    }

    #[test]
    fn names_are_read_conservatively() {
        for n in [
            "jenkins",
            "Jenkins",
            "jenkins-controller",
            "jenkins_agent",
            "gitlab-runner",
            "gitlab-runner-2",
            "runner",
            "agent",
            "ci",
        ] {
            assert!(matches!(by_name(n), Some(Role::Ci(_))), "{n}");
        }
        for n in [
            "web",
            "traefik",
            "jenkinsfile-lint",
            "runner-cache",
            "agents",
            "cicd-db",
            "proxy",
        ] {
            assert_eq!(by_name(n), None, "{n}");
        }
        // The image wins over the name; a build's base image over the name as well.
        assert!(matches!(
            classify("traefik:v3", None, "ci"),
            Some(Role::HostTool(_))
        ));
        assert_eq!(
            classify("", Some("jenkins/jenkins:lts"), "web"),
            Some(Role::Ci("Jenkins"))
        );
        assert_eq!(classify("", None, "web"), None);
    }

    #[test]
    fn dockerfile_base_is_the_last_stage_with_args_resolved() {
        assert_eq!(
            dockerfile_base("FROM jenkins/jenkins:lts\nUSER root\n").as_deref(),
            Some("jenkins/jenkins:lts")
        );
        assert_eq!(
            dockerfile_base(
                "# syntax=docker/dockerfile:1\nARG JENKINS_TAG=lts-jdk21\nFROM maven:3 AS build\nRUN mvn package\nFROM --platform=$BUILDPLATFORM jenkins/jenkins:${JENKINS_TAG}\nCOPY --from=build /x /y\n"
            )
            .as_deref(),
            Some("jenkins/jenkins:lts-jdk21")
        );
        assert_eq!(
            dockerfile_base("FROM gitlab/gitlab-runner:v17 AS base\nFROM base\nRUN true\n")
                .as_deref(),
            Some("gitlab/gitlab-runner:v17")
        );
        assert_eq!(
            dockerfile_base("ARG T\nFROM jenkins/jenkins:${T:-lts}\n").as_deref(),
            Some("jenkins/jenkins:lts")
        );
        assert_eq!(dockerfile_base("ARG IMG\nFROM $IMG\n"), None);
        assert_eq!(
            dockerfile_base("from \\\n  jenkins/jenkins:lts\n").as_deref(),
            Some("jenkins/jenkins:lts")
        );
        assert_eq!(dockerfile_base("RUN true\n"), None);
        assert_eq!(dockerfile_base(""), None);
    }

    #[test]
    fn only_agents_that_run_steps_in_place_hear_about_sudo() {
        let what = |i: &str| match by_image(i) {
            Some(Role::Ci(w)) => w,
            other => panic!("{i}: {other:?}"),
        };
        assert!(runs_steps_in_place(what("jenkins/jenkins:lts")));
        assert!(runs_steps_in_place(what("buildkite/agent:3")));
        assert!(!runs_steps_in_place(what("gitlab/gitlab-runner:v17")));
        assert!(!runs_steps_in_place(what(
            "woodpeckerci/woodpecker-agent:v2"
        )));
        assert!(!runs_steps_in_place(what("drone/drone-runner-docker:1")));
    }

    #[test]
    fn docker_binaries_and_installed_clients() {
        for p in [
            "/usr/bin/docker",
            "/usr/local/bin/docker",
            "$(which docker)",
            "\"$(command -v docker)\"",
        ] {
            assert!(is_docker_binary(p), "{p}");
        }
        for p in [
            "/var/run/docker.sock",
            "/usr/bin/docker-compose",
            "./docker",
        ] {
            assert!(!is_docker_binary(p), "{p}");
        }
        assert!(installs_docker_cli(
            "FROM x\nCOPY --from=docker:29-cli /usr/local/bin/docker /usr/local/bin/docker\n"
        ));
        assert!(installs_docker_cli(
            "FROM x\nRUN apt-get install -y docker-ce-cli\n"
        ));
        assert!(!installs_docker_cli(
            "FROM jenkins/jenkins:lts\nUSER root\n"
        ));
        assert_eq!(
            cli_copy_line("docker:29-cli"),
            "COPY --from=docker:29-cli /usr/local/bin/docker /usr/local/bin/docker"
        );
    }
}
