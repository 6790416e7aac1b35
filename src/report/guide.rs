//! What depriv knows about each target beyond the rewrite itself: what it is, host
//! requirements, residual risk, the host preparation tasks (with their exact snippets) and the
//! troubleshooting notes (the known pitfalls, each with its upstream source). Reports draw on it, and [`render`] turns
//! it into the per-target guide behind `depriv explain TARGET` and `docs/targets/*.md`, whose
//! example pipelines come from running the migration engine (and so its templates) on small
//! built-in examples.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::config::{Config, Environment, RunnerHosts};
use crate::finding::Severity;
use crate::migrate::{self, Strategy};
use crate::plan::{ALL_TARGETS, Target};
use crate::rewrite::{ManualTask, MemFiles};
use crate::scan;
use crate::targets::{self, Builder};
use crate::templates::Templates;

pub use crate::targets::Pitfall;

/// The static description of a target.
#[derive(Clone, Copy, Debug)]
pub struct TargetInfo {
    /// The target.
    pub target: Target,
    /// Human title.
    pub title: &'static str,
    /// What it is (Markdown paragraph).
    pub what: &'static str,
    /// Host requirements (Markdown, one item each).
    pub requirements: &'static [&'static str],
    /// Residual risk after moving to it.
    pub residual: &'static str,
    /// Troubleshooting entries.
    pub troubleshooting: &'static [Pitfall],
}

/// Parse a target name as users type it (`sysbox`, `rootless`, `dind-rootless`, `kaniko`,
/// `buildkit`, `tls`, `tls-daemon`), case-insensitively.
pub fn parse_target(name: &str) -> Option<Target> {
    targets::parse(name)
}

/// The `--strategy` value that forces a target.
pub fn strategy_of(t: Target) -> Strategy {
    match t {
        Target::Sysbox => Strategy::Sysbox,
        Target::Rootless => Strategy::Rootless,
        Target::Kaniko => Strategy::Kaniko,
        Target::Buildkit => Strategy::Buildkit,
        Target::Tls => Strategy::Tls,
    }
}

/// How risky a pipeline still is once moved to a target (before anything else remains).
pub fn residual_level(t: Target) -> Severity {
    targets::spec(t).residual_level
}

/// Every setting depriv writes for a target, with the upstream page or repository path it
/// follows (what the guide's "Sources" section lists).
pub fn sources(t: Target) -> &'static [(&'static str, &'static str)] {
    targets::spec(t).guide.sources
}

/// The description of a target.
pub fn info(t: Target) -> TargetInfo {
    let s = targets::spec(t);
    TargetInfo {
        target: t,
        title: s.title,
        what: s.guide.what,
        requirements: s.guide.requirements,
        residual: s.guide.residual,
        troubleshooting: s.guide.troubleshooting,
    }
}

/// What decides which host preparation tasks apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostContext {
    /// GitLab Runner involved (GitLab CI jobs or a runner `config.toml`).
    pub gitlab_runner: bool,
    /// GitHub Actions self-hosted runners involved.
    pub github_runner: bool,
    /// Kubernetes involved (manifests, Helm values, or runner hosts answered as Kubernetes).
    pub kubernetes: bool,
    /// Docker hosts configured by a `daemon.json`, or jobs using a host's daemon.
    pub docker_host: bool,
    /// Runner hosts are managed by someone else (nothing can be installed).
    pub managed: bool,
    /// Registry the images are pushed to.
    pub registry: Option<String>,
}

impl HostContext {
    /// Every variant (for guides).
    pub fn everything() -> HostContext {
        HostContext {
            gitlab_runner: true,
            github_runner: true,
            kubernetes: true,
            docker_host: true,
            managed: false,
            registry: None,
        }
    }

    /// From the environment answers alone.
    pub fn from_env(env: &Environment) -> HostContext {
        HostContext {
            kubernetes: env.runner_hosts == RunnerHosts::Kubernetes,
            managed: env.runner_hosts == RunnerHosts::Managed,
            registry: env.registry.clone(),
            ..HostContext::default()
        }
    }
}

fn task(title: &str, location: &str, lang: &str, snippet: String) -> ManualTask {
    ManualTask {
        title: title.to_string(),
        location: location.to_string(),
        snippet,
        lang: lang.to_string(),
    }
}

fn registry_task(b: Builder, ctx: &HostContext) -> ManualTask {
    let (dir, what) = match b {
        Builder::Kaniko => ("/kaniko/.docker", "kaniko"),
        Builder::Buildkit => ("$HOME/.docker", "BuildKit"),
    };
    let registry = ctx
        .registry
        .as_deref()
        .map(|r| format!("REGISTRY={}\n", shell_quote(r)))
        .unwrap_or_default();
    task(
        &format!("Give {what} registry credentials"),
        "CI variables (masked) and the build job",
        "sh",
        format!(
            "# REGISTRY_USER and REGISTRY_PASSWORD as masked CI variables; for Docker Hub use\n\
             # REGISTRY=https://index.docker.io/v1/ as the key.\n\
             {registry}mkdir -p \"{dir}\"\n\
             AUTH=$(printf '%s:%s' \"$REGISTRY_USER\" \"$REGISTRY_PASSWORD\" | base64 | tr -d '\\n')\n\
             printf '{{\"auths\":{{\"%s\":{{\"auth\":\"%s\"}}}}}}\\n' \"$REGISTRY\" \"$AUTH\" > \"{dir}/config.json\""
        ),
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn userns_task() -> ManualTask {
    task(
        "Enable unprivileged user namespaces on the runner hosts",
        "every runner host (root)",
        "sh",
        "cat > /etc/sysctl.d/90-depriv-userns.conf <<'EOF'\n\
         user.max_user_namespaces = 28633\n\
         # Debian kernels (a leading - ignores keys this kernel does not have):\n\
         -kernel.unprivileged_userns_clone = 1\n\
         # Ubuntu >= 24.04 (or install an AppArmor profile for rootlesskit instead):\n\
         -kernel.apparmor_restrict_unprivileged_userns = 0\n\
         EOF\n\
         sysctl --system"
            .to_string(),
    )
}

fn gitlab_restart() -> &'static str {
    "\n# then, on the runner host:\n# gitlab-runner restart"
}

/// The host preparation tasks for a target (outside the repository), with exact snippets.
pub fn host_tasks(t: Target, ctx: &HostContext) -> Vec<ManualTask> {
    let mut out = Vec::new();
    match t {
        Target::Sysbox => {
            if ctx.managed {
                return out;
            }
            out.push(task(
                "Install sysbox on the runner hosts",
                "every runner host (Ubuntu/Debian, systemd, root)",
                "sh",
                Templates::builtin()
                    .render(
                        "daemon/sysbox-install.sh",
                        &serde_json::json!({ "where": "the runner hosts" }),
                    )
                    .unwrap_or_default()
                    .trim_end()
                    .to_string(),
            ));
            out.push(task(
                "Check the sysbox-runc runtime in daemon.json (do not make it the default)",
                "/etc/docker/daemon.json on every runner host",
                "json",
                "{\n  \"runtimes\": {\n    \"sysbox-runc\": { \"path\": \"/usr/bin/sysbox-runc\" }\n  }\n}"
                    .to_string(),
            ));
            if ctx.gitlab_runner {
                out.push(task(
                    "Run the GitLab runner's jobs under sysbox, unprivileged, and restart it",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    runtime = \"sysbox-runc\"\n    privileged = false{}",
                        gitlab_restart()
                    ),
                ));
            }
            if ctx.github_runner {
                out.push(task(
                    "Restart the GitHub self-hosted runner service after installing sysbox",
                    "every self-hosted runner host (runner directory)",
                    "sh",
                    "sudo ./svc.sh stop && sudo ./svc.sh start".to_string(),
                ));
            }
            if ctx.kubernetes {
                out.push(task(
                    "Install sysbox on the Kubernetes nodes",
                    "the cluster (kubectl, cluster-admin)",
                    "sh",
                    "# Drain the nodes first: the installer may switch them to CRI-O and restart the kubelet.\n\
                     kubectl label nodes <node> sysbox-install=yes\n\
                     kubectl apply -f https://raw.githubusercontent.com/nestybox/sysbox/master/sysbox-k8s-manifests/sysbox-install.yaml"
                        .to_string(),
                ));
                out.push(task(
                    "Create the sysbox-runc RuntimeClass",
                    "the cluster (kubectl apply -f -)",
                    "yaml",
                    "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: sysbox-runc\nhandler: sysbox-runc\nscheduling:\n  nodeSelector:\n    sysbox-runtime: running"
                        .to_string(),
                ));
            }
        }
        Target::Rootless => {
            if ctx.managed {
                return out;
            }
            if ctx.gitlab_runner {
                out.push(task(
                    "Let only the dind-rootless service run privileged, and restart the runner",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    privileged = false\n    services_privileged = true\n    allowed_privileged_services = [\"docker.io/library/docker:*-dind-rootless\", \"docker.io/library/docker:dind-rootless\", \"docker:*-dind-rootless\", \"docker:dind-rootless\"]{}",
                        gitlab_restart()
                    ),
                ));
            }
            out.push(userns_task());
        }
        Target::Kaniko => {
            out.push(registry_task(Builder::Kaniko, ctx));
        }
        Target::Buildkit => {
            out.push(registry_task(Builder::Buildkit, ctx));
            if ctx.managed {
                return out;
            }
            if ctx.gitlab_runner {
                out.push(task(
                    "Allow rootless BuildKit on the GitLab runner (seccomp and AppArmor unconfined), and restart it",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    privileged = false\n    security_opt = [\"seccomp=unconfined\", \"apparmor=unconfined\"]{}",
                        gitlab_restart()
                    ),
                ));
            }
            if ctx.kubernetes {
                out.push(task(
                    "Allow unconfined seccomp in the build namespace (Pod Security level privileged)",
                    "the cluster (kubectl)",
                    "sh",
                    "kubectl label namespace <build-namespace> pod-security.kubernetes.io/enforce=privileged --overwrite"
                        .to_string(),
                ));
            }
            out.push(userns_task());
        }
        Target::Tls => {
            if ctx.gitlab_runner {
                out.push(task(
                    "Share /certs/client between the dind service and the job, and restart the runner",
                    "config.toml of the GitLab runner",
                    "toml",
                    format!(
                        "[[runners]]\n  executor = \"docker\"\n  [runners.docker]\n    tls_verify = false\n    volumes = [\"/certs/client\", \"/cache\"]{}",
                        gitlab_restart()
                    ),
                ));
            }
            if ctx.docker_host && !ctx.managed {
                out.push(task(
                    "Generate a CA, a server certificate and client certificates for the daemon",
                    "the Docker host (root, in a private directory)",
                    "sh",
                    "HOST=docker.ci.example   # the name clients use to reach the daemon\n\
                     openssl genrsa -out ca-key.pem 4096\n\
                     openssl req -new -x509 -days 365 -sha256 -key ca-key.pem -subj \"/CN=CI Docker CA\" -out ca.pem\n\
                     openssl genrsa -out server-key.pem 4096\n\
                     openssl req -new -sha256 -subj \"/CN=$HOST\" -key server-key.pem -out server.csr\n\
                     printf 'subjectAltName = DNS:%s,IP:127.0.0.1\\nextendedKeyUsage = serverAuth\\n' \"$HOST\" > server.cnf\n\
                     openssl x509 -req -days 365 -sha256 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -extfile server.cnf\n\
                     openssl genrsa -out key.pem 4096\n\
                     openssl req -new -subj '/CN=ci-client' -key key.pem -out client.csr\n\
                     echo 'extendedKeyUsage = clientAuth' > client.cnf\n\
                     openssl x509 -req -days 365 -sha256 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -extfile client.cnf\n\
                     install -d -m 0700 /etc/docker/tls\n\
                     install -m 0400 ca.pem server-cert.pem server-key.pem /etc/docker/tls/\n\
                     # Give ca.pem, cert.pem and key.pem to CI as secret files (DOCKER_CERT_PATH);\n\
                     # keep ca-key.pem offline: whoever holds a client key is root on this host."
                        .to_string(),
                ));
                out.push(task(
                    "Require client certificates (and remap users) in daemon.json",
                    "/etc/docker/daemon.json on the Docker host",
                    "json",
                    "{\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"],\n  \"tls\": true,\n  \"tlsverify\": true,\n  \"tlscacert\": \"/etc/docker/tls/ca.pem\",\n  \"tlscert\": \"/etc/docker/tls/server-cert.pem\",\n  \"tlskey\": \"/etc/docker/tls/server-key.pem\",\n  \"userns-remap\": \"default\"\n}"
                        .to_string(),
                ));
                out.push(task(
                    "Let daemon.json decide the listen addresses, and restart Docker",
                    "the Docker host (root)",
                    "sh",
                    "mkdir -p /etc/systemd/system/docker.service.d\n\
                     printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/dockerd\\n' > /etc/systemd/system/docker.service.d/depriv-hosts.conf\n\
                     systemctl daemon-reload && systemctl restart docker"
                        .to_string(),
                ));
                out.push(task(
                    "Accept the daemon port from the CI network only",
                    "the Docker host's firewall (root)",
                    "sh",
                    "# Adjust 10.20.0.0/16 to the CI runners' network.\n\
                     iptables -I INPUT -p tcp --dport 2376 ! -s 10.20.0.0/16 -j DROP\n\
                     iptables -I INPUT -p tcp --dport 2375 -j DROP"
                        .to_string(),
                ));
                out.push(task(
                    "Point the CI clients at the TLS daemon",
                    "CI variables of the jobs that use the daemon",
                    "sh",
                    "export DOCKER_HOST=tcp://docker.ci.example:2376\n\
                     export DOCKER_TLS_VERIFY=1\n\
                     export DOCKER_CERT_PATH=/path/to/ci-client-certs   # ca.pem, cert.pem, key.pem"
                        .to_string(),
                ));
            }
        }
    }
    out
}

/// Built-in example pipelines (before) per platform: (platform, build-only files, files of a
/// job that runs containers).
type Example = (&'static str, &'static str, &'static str);

const GITLAB_BUILD: &str = "build-image:
  image: docker:29-cli
  services:
    - docker:29-dind
  variables:
    DOCKER_HOST: tcp://docker:2376
    DOCKER_TLS_CERTDIR: \"/certs\"
  script:
    - docker build -t \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\" .
    - docker push \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"
";

const GITLAB_RUN: &str = "integration-test:
  image: docker:29-cli
  services:
    - docker:29-dind
  variables:
    DOCKER_HOST: tcp://docker:2375
    DOCKER_TLS_CERTDIR: \"\"
  script:
    - docker compose up -d --build
    - docker compose run --rm tests
";

const GITHUB_BUILD: &str = "name: image
on: push
jobs:
  image:
    runs-on: ubuntu-24.04
    services:
      docker:
        image: docker:29-dind
        options: --privileged
    env:
      DOCKER_HOST: tcp://localhost:2376
    steps:
      - uses: actions/checkout@v4
      - run: docker build -t \"ghcr.io/acme/app:${{ github.sha }}\" .
      - run: docker push \"ghcr.io/acme/app:${{ github.sha }}\"
";

const GITHUB_RUN: &str = "name: e2e
on: push
jobs:
  e2e:
    runs-on: [self-hosted, linux]
    container:
      image: docker:29-cli
      options: --privileged
    steps:
      - uses: actions/checkout@v4
      - run: docker run --rm alpine:3 echo hello
";

const JENKINS_BUILD: &str = "pipeline {
  agent none
  stages {
    stage('Image') {
      agent {
        kubernetes {
          yaml '''
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: docker
    image: docker:29-cli
    command: [\"sleep\", \"infinity\"]
    env:
    - name: DOCKER_HOST
      value: tcp://localhost:2375
  - name: dind
    image: docker:29-dind
    securityContext:
      privileged: true
'''
        }
      }
      steps {
        container('docker') {
          sh 'docker build -t registry.example.com/app:${BUILD_NUMBER} .'
          sh 'docker push registry.example.com/app:${BUILD_NUMBER}'
        }
      }
    }
  }
}
";

const JENKINS_RUN: &str = "pipeline {
  agent none
  stages {
    stage('Test') {
      agent {
        docker {
          image 'docker:29-cli'
          args '--privileged -v /var/run/docker.sock:/var/run/docker.sock'
        }
      }
      steps {
        sh 'docker build -t app:${BUILD_NUMBER} .'
        sh 'docker run --rm app:${BUILD_NUMBER} ./run-tests'
      }
    }
  }
}
";

const EXAMPLES: &[(&str, &str, Example)] = &[
    (
        "GitLab CI",
        "yaml",
        (".gitlab-ci.yml", GITLAB_BUILD, GITLAB_RUN),
    ),
    (
        "GitHub Actions",
        "yaml",
        (".github/workflows/ci.yml", GITHUB_BUILD, GITHUB_RUN),
    ),
    (
        "Jenkins",
        "groovy",
        ("Jenkinsfile", JENKINS_BUILD, JENKINS_RUN),
    ),
];

/// The outcome of migrating one built-in example to a target.
#[derive(Clone, Debug, Default)]
pub struct ExampleRun {
    /// The example before.
    pub before: String,
    /// The unified diff the migration produces (empty when nothing changes).
    pub diff: String,
    /// `(pipeline, status)` per pipeline.
    pub status: Vec<(String, String)>,
    /// Why the target was not used, when it is infeasible for the example.
    pub infeasible: Option<String>,
    /// Manual tasks the rewriter produced.
    pub manual: Vec<ManualTask>,
    /// Notes the rewriter produced.
    pub notes: Vec<String>,
}

/// Migrate one in-memory file to a target with the engine (no disk access).
pub fn run_example(path: &str, text: &str, target: Target, templates: &Templates) -> ExampleRun {
    let config = Config::default();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    files.insert(path.to_string(), text.to_string());
    let scan = scan::scan_memory(files.clone(), &config);
    let env = Environment::default();
    let plan = migrate::plan(&scan, &env, strategy_of(target));
    let mem = MemFiles(
        files
            .iter()
            .map(|(p, t)| (p.clone(), Arc::<str>::from(t.as_str())))
            .collect(),
    );
    let rescan = |overlay: &BTreeMap<String, String>| {
        let mut all = files.clone();
        for (p, t) in overlay {
            all.insert(p.clone(), t.clone());
        }
        scan::scan_memory(all, &config)
    };
    let preview = migrate::preview(&plan, &scan, &mem, templates, &rescan);
    let mut run = ExampleRun {
        before: text.to_string(),
        ..ExampleRun::default()
    };
    for p in &plan.pipelines {
        if p.choice.target() != Some(target) {
            run.infeasible = Some(
                p.options
                    .iter()
                    .find(|o| o.target == target)
                    .and_then(|o| o.infeasible.clone())
                    .unwrap_or_else(|| p.why.clone()),
            );
        }
    }
    for c in &preview.changes {
        run.diff.push_str(&c.unified_diff());
    }
    for r in &preview.results {
        run.status
            .push((r.pipeline.clone(), r.status.as_str().to_string()));
        run.manual.extend(r.manual.iter().cloned());
        run.notes.extend(r.notes.iter().cloned());
    }
    run
}

/// A code fence longer than any run of backticks in `text`.
pub fn fence(text: &str) -> String {
    let mut longest = 0usize;
    let mut cur = 0usize;
    for c in text.chars() {
        if c == '`' {
            cur += 1;
            longest = longest.max(cur);
        } else {
            cur = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// A fenced Markdown code block.
pub fn code_block(lang: &str, text: &str) -> String {
    let f = fence(text);
    format!("{f}{lang}\n{}\n{f}\n", text.trim_end_matches('\n'))
}

/// Template names that belong to a target (by name), as `depriv templates list` shows them.
pub fn templates_of(t: Target) -> Vec<&'static str> {
    let key = targets::spec(t).template_key;
    Templates::names()
        .into_iter()
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == key)
        })
        .collect()
}

/// The guide for a target, in Markdown: what it is, when depriv picks it, host requirements,
/// residual risk, host preparation, example pipelines migrated by the engine, troubleshooting.
pub fn render(t: Target, templates: &Templates) -> String {
    let i = info(t);
    let trade_off = targets::spec(t).trade_off;
    let mut s = String::new();
    let _ = writeln!(s, "# {} (`{}`)\n", i.title, t.as_str());
    let _ = writeln!(
        s,
        "<!-- Generated by `depriv explain {}`; regenerate with `DEPRIV_UPDATE_DOCS=1 cargo test guides`. -->\n",
        t.as_str()
    );
    let _ = writeln!(s, "{}\n", i.what);
    let _ = writeln!(s, "## When depriv picks it\n");
    let _ = writeln!(s, "In one line: {trade_off}.\n");
    let when = targets::spec(t).when;
    let _ = writeln!(s, "{when}\n");
    let _ = writeln!(s, "## Host requirements\n");
    for r in i.requirements {
        let _ = writeln!(s, "- {r}");
    }
    let _ = writeln!(s, "\n## Residual risk\n\n{}\n", i.residual);
    let tasks = host_tasks(t, &HostContext::everything());
    if !tasks.is_empty() {
        let _ = writeln!(s, "## Host preparation\n");
        let _ = writeln!(
            s,
            "Reports list the tasks that apply to the scanned repository; every variant is shown here.\n"
        );
        for m in &tasks {
            let _ = writeln!(s, "### {}\n\nWhere: {}\n", m.title, m.location);
            s.push_str(&code_block(&m.lang, &m.snippet));
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Example pipelines\n");
    let _ = writeln!(
        s,
        "Each example is migrated by depriv's own engine and templates (`depriv migrate --strategy {}`).\n",
        t.as_str()
    );
    for (platform, lang, (path, build, run)) in EXAMPLES {
        let text = if matches!(t, Target::Kaniko | Target::Buildkit) {
            build
        } else {
            run
        };
        let ex = run_example(path, text, t, templates);
        let _ = writeln!(s, "### {platform}\n");
        let _ = writeln!(s, "Before (`{path}`):\n");
        s.push_str(&code_block(lang, &ex.before));
        s.push('\n');
        if let Some(why) = &ex.infeasible {
            let _ = writeln!(s, "depriv does not use {} here: {why}.\n", t.as_str());
        } else if ex.diff.is_empty() {
            let status: Vec<String> = ex
                .status
                .iter()
                .map(|(p, st)| format!("`{p}`: {st}"))
                .collect();
            let _ = writeln!(
                s,
                "depriv does not rewrite this pipeline to {} ({}): the notes and tasks below, the host preparation above and the troubleshooting say what to do by hand.\n",
                t.as_str(),
                status.join(", ")
            );
        } else {
            let _ = writeln!(s, "After (`depriv migrate --strategy {}`):\n", t.as_str());
            s.push_str(&code_block("diff", &ex.diff));
            s.push('\n');
        }
        let pipeline_tasks: Vec<&ManualTask> =
            ex.manual.iter().filter(|m| !m.snippet.is_empty()).collect();
        if !pipeline_tasks.is_empty() {
            let _ = writeln!(s, "Manual tasks for this example:\n");
            for m in pipeline_tasks {
                let _ = writeln!(s, "- {} ({})\n", m.title, m.location);
                for line in code_block(&m.lang, &m.snippet).lines() {
                    let _ = writeln!(s, "  {line}");
                }
                s.push('\n');
            }
        }
        for n in &ex.notes {
            let _ = writeln!(s, "- Note: {n}");
        }
        if !ex.notes.is_empty() {
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Troubleshooting\n");
    for p in i.troubleshooting {
        let _ = writeln!(s, "- **{}** — {}", p.title, p.text);
    }
    let _ = writeln!(s, "\n## Sources\n");
    let _ = writeln!(
        s,
        "Where each setting depriv writes for this target comes from (pinned versions: `depriv templates versions`, sources in `templates/versions.toml`).\n"
    );
    let _ = writeln!(s, "| setting | upstream source |\n|---|---|");
    for (setting, source) in sources(t) {
        let _ = writeln!(s, "| {setting} | {source} |");
    }
    let names = templates_of(t);
    let _ = writeln!(s, "\n## Templates\n");
    if names.is_empty() {
        let _ = writeln!(
            s,
            "No built-in template is named after this target yet; `depriv templates list` shows them all."
        );
    } else {
        let _ = writeln!(
            s,
            "Rendered from these built-in templates (override them with `depriv migrate --templates DIR`):\n"
        );
        for n in names {
            let _ = writeln!(s, "- `templates/{n}`");
        }
    }
    let _ = writeln!(
        s,
        "\nOther targets: {}.",
        ALL_TARGETS
            .iter()
            .filter(|x| **x != t)
            .map(|x| format!("`depriv explain {}`", x.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guide_names_its_sources_and_no_internal_document() {
        for t in ALL_TARGETS {
            let rows = sources(t);
            assert!(rows.len() >= 3, "{}", t.as_str());
            for (setting, source) in rows {
                assert!(
                    source.contains("https://") || source.contains(":"),
                    "{setting}: {source}"
                );
            }
            let g = render(t, &Templates::builtin());
            assert!(g.contains("## Sources"));
            assert!(!g.contains("recipes"), "{}", t.as_str());
        }
    }

    #[test]
    fn target_names_parse() {
        assert_eq!(parse_target("TLS-daemon"), Some(Target::Tls));
        assert_eq!(parse_target(" dind-rootless "), Some(Target::Rootless));
        assert_eq!(parse_target("BuildKit"), Some(Target::Buildkit));
        assert_eq!(parse_target(""), None);
        assert_eq!(parse_target("privileged-dind"), None);
        for t in ALL_TARGETS {
            assert_eq!(parse_target(t.as_str()), Some(t));
            assert_eq!(info(t).target, t);
        }
    }

    #[test]
    fn fences_outgrow_backticks() {
        assert_eq!(fence("a"), "```");
        assert_eq!(fence("x ```` y"), "`````");
        let b = code_block("sh", "echo ```\n");
        assert!(b.starts_with("````sh\necho ```\n````"), "{b}");
    }

    #[test]
    fn host_tasks_follow_the_context() {
        let none = host_tasks(Target::Sysbox, &HostContext::default());
        assert_eq!(none.len(), 2, "{none:?}");
        let all = host_tasks(Target::Sysbox, &HostContext::everything());
        assert!(
            all.iter()
                .any(|m| m.snippet.contains("handler: sysbox-runc"))
        );
        assert!(
            all.iter()
                .any(|m| m.snippet.contains("runtime = \"sysbox-runc\""))
        );
        let managed = HostContext {
            managed: true,
            ..HostContext::everything()
        };
        assert!(host_tasks(Target::Sysbox, &managed).is_empty());
        let kaniko = host_tasks(
            Target::Kaniko,
            &HostContext {
                registry: Some("reg'x".into()),
                ..HostContext::default()
            },
        );
        assert_eq!(kaniko.len(), 1);
        assert!(
            kaniko[0].snippet.contains("REGISTRY='reg'\\''x'"),
            "{}",
            kaniko[0].snippet
        );
        assert!(kaniko[0].snippet.contains("/kaniko/.docker/config.json"));
        let tls = host_tasks(Target::Tls, &HostContext::everything());
        assert!(
            tls.iter()
                .any(|m| m.snippet.contains("extendedKeyUsage = clientAuth"))
        );
        assert!(
            tls.iter()
                .any(|m| m.lang == "json" && m.snippet.contains("tlsverify"))
        );
    }

    #[test]
    fn json_and_toml_snippets_parse() {
        for t in ALL_TARGETS {
            for m in host_tasks(t, &HostContext::everything()) {
                match m.lang.as_str() {
                    "json" => {
                        assert!(
                            serde_json::from_str::<serde_json::Value>(&m.snippet).is_ok(),
                            "{}",
                            m.title
                        );
                    }
                    "toml" => {
                        let body: String = m
                            .snippet
                            .lines()
                            .filter(|l| !l.starts_with('#'))
                            .collect::<Vec<_>>()
                            .join("\n");
                        assert!(
                            body.parse::<toml_edit::DocumentMut>().is_ok(),
                            "{}",
                            m.title
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn guides_cover_every_section_and_are_deterministic() {
        let t = Templates::builtin();
        for target in ALL_TARGETS {
            let g = render(target, &t);
            for h in [
                "## Host requirements",
                "## Residual risk",
                "## Example pipelines",
                "### GitLab CI",
                "### GitHub Actions",
                "### Jenkins",
                "## Troubleshooting",
            ] {
                assert!(g.contains(h), "{} lacks {h}", target.as_str());
            }
            assert_eq!(g, render(target, &t));
        }
    }

    #[test]
    fn examples_have_findings_for_their_targets() {
        for (_, _, (path, build, run)) in EXAMPLES {
            for text in [build, run] {
                let mut m = BTreeMap::new();
                m.insert(path.to_string(), text.to_string());
                let r = scan::scan_memory(m, &Config::default());
                assert!(!r.has_errors(), "{path}: {:?}", r.diagnostics);
                assert!(!r.findings.is_empty(), "{path} has no findings");
            }
        }
        let kaniko_on_run = run_example(
            ".gitlab-ci.yml",
            GITLAB_RUN,
            Target::Kaniko,
            &Templates::builtin(),
        );
        assert!(kaniko_on_run.infeasible.is_some());
    }
}
