//! Docker command analysis over lexed shell: finds insecure Docker usage (privileged containers,
//! Docker socket mounts, dangerous capabilities and security options, plaintext daemon endpoints,
//! disabled dind TLS, privileged GitLab Runner registration) with the span of the offending word,
//! and classifies what a script uses Docker for (build, push, login, multi-arch, run), parsing
//! `docker build/buildx build/login/push/tag` invocations into structured records.
//!
//! Only real commands are analysed: mentions in `echo`, comments, heredoc bodies or arguments of
//! other programs never produce facts.

use std::ops::Range;

use super::shell::{self, Command, Word};

/// What a script uses Docker for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DockerUse {
    /// Builds images (`docker build`, `buildx build`, `compose build`, …).
    Build,
    /// Pushes images or manifests to a registry.
    Push,
    /// Logs in to a registry.
    Login,
    /// Builds or assembles images for more than one platform.
    MultiArch,
    /// Runs containers (`docker run/create/exec/start`, `compose up/run/exec`, kind, …).
    Run,
}

/// Kind of an insecure-usage fact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FactKind {
    /// `--privileged` on `docker run/create`; `daemon` when the container is a Docker daemon.
    Privileged {
        /// The image is a Docker daemon image or the container command is `dockerd`.
        daemon: bool,
    },
    /// Host Docker socket (or its parent directory) mounted into a container.
    SocketMount,
    /// `--cap-add SYS_ADMIN` or `--cap-add ALL`.
    CapAdd {
        /// Normalised capability: `SYS_ADMIN` or `ALL`.
        cap: String,
    },
    /// `--security-opt seccomp=unconfined` / `apparmor=unconfined`.
    Unconfined {
        /// `seccomp` or `apparmor`.
        what: String,
    },
    /// A Docker daemon endpoint over plain TCP (no TLS).
    PlaintextDaemon,
    /// dind TLS disabled (`DOCKER_TLS_CERTDIR` empty, `--tls=false`).
    TlsDisabled,
    /// `gitlab-runner register --docker-privileged` (or equivalent).
    RunnerPrivileged,
}

/// One finding: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// What was found.
    pub kind: FactKind,
    /// Byte span of the offending word (for a flag with a separate value: flag start to value end).
    pub span: Range<usize>,
}

/// A parsed `docker build` / `docker buildx build` invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerBuild {
    /// Span of the whole command.
    pub span: Range<usize>,
    /// Invoked through `docker buildx`.
    pub buildx: bool,
    /// Build context (first positional).
    pub context: Option<String>,
    /// `-f` / `--file`.
    pub file: Option<String>,
    /// `-t` / `--tag`, in order.
    pub tags: Vec<String>,
    /// `--build-arg` values (`KEY=value` or `KEY`).
    pub build_args: Vec<String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--platform` values split on commas.
    pub platforms: Vec<String>,
    /// `--push` or an `--output` that pushes.
    pub push: bool,
    /// `--load` or `--output type=docker`.
    pub load: bool,
    /// `--label` values.
    pub labels: Vec<String>,
    /// `--cache-from` values.
    pub cache_from: Vec<String>,
    /// `--cache-to` values.
    pub cache_to: Vec<String>,
    /// `--secret` values.
    pub secrets: Vec<String>,
    /// `--ssh` values.
    pub ssh: Vec<String>,
    /// `--network`.
    pub network: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// Flags not understood, as written (with `=value` when attached).
    pub unknown_flags: Vec<String>,
}

/// A parsed `docker login`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerLogin {
    /// Span of the whole command.
    pub span: Range<usize>,
    /// Registry positional, if any.
    pub registry: Option<String>,
    /// `-u` / `--username`.
    pub username: Option<String>,
    /// `-p` / `--password`.
    pub password: Option<String>,
    /// `--password-stdin`.
    pub password_stdin: bool,
}

/// A parsed `docker push`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerPush {
    /// Span of the whole command.
    pub span: Range<usize>,
    /// Image reference pushed.
    pub image: String,
}

/// A parsed `docker tag`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerTag {
    /// Span of the whole command.
    pub span: Range<usize>,
    /// Source image.
    pub source: String,
    /// Target image.
    pub target: String,
}

/// Everything found in one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptAnalysis {
    /// Insecure-usage facts, sorted by span start.
    pub facts: Vec<Fact>,
    /// Each Docker usage with the span of the command, sorted by span start.
    pub usage: Vec<(DockerUse, Range<usize>)>,
    /// Parsed builds.
    pub builds: Vec<DockerBuild>,
    /// Parsed logins.
    pub logins: Vec<DockerLogin>,
    /// Parsed pushes.
    pub pushes: Vec<DockerPush>,
    /// Parsed tags.
    pub tags: Vec<DockerTag>,
    /// True when the script explicitly runs containers.
    pub runs_containers: bool,
}

/// Analyses shell script text.
pub fn analyze_script(src: &str) -> ScriptAnalysis {
    analyze_commands(&shell::commands(src))
}

/// Analyses a Makefile: every recipe line and every variable value (which often holds a whole
/// `docker run …` command expanded by recipes). Spans are offsets into `src`.
pub fn analyze_makefile(src: &str) -> ScriptAnalysis {
    let mut ranges = shell::makefile_recipes(src);
    ranges.extend(shell::makefile_variable_values(src));
    let cmds: Vec<Command> = ranges
        .into_iter()
        .flat_map(|r| shell::commands_in(src, r))
        .collect();
    analyze_commands(&cmds)
}

/// Facts from bare `docker run` options (Jenkins `args '…'`, `.inside('…')`, GitHub `options:`).
/// `image` is the container image when known. Spans are offsets into `src`.
pub fn analyze_run_args(src: &str, image: Option<&str>) -> Vec<Fact> {
    let words = shell::split_words(src);
    let parsed = parse_opts(&words, &RUN_SPEC, false);
    let mut facts = Vec::new();
    run_facts(&parsed.opts, image, &[], &mut facts);
    facts.sort_by_key(|f| f.span.start);
    facts
}

/// True when `image` is a Docker daemon image: `docker:*dind*`, `docker:<version>` (not `-cli`),
/// untagged `docker`, or an image whose name or tag has a `dind` component (`*/dind`,
/// `*docker-dind*`, `*dind-rootless*`).
pub fn is_daemon_image(image: &str) -> bool {
    let (name, tag) = image_name_tag(image);
    let (name, tag) = (name.as_str(), tag.as_deref());
    let has_token = |s: &str, tok: &str| {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|t| t == tok)
    };
    if has_token(name, "dind") || tag.is_some_and(|t| has_token(t, "dind")) {
        return true;
    }
    if name != "docker" {
        return false;
    }
    match tag {
        None => true,
        Some(t) => {
            !(t.is_empty()
                || t.contains('$')
                || ["cli", "git", "windowsservercore", "nanoserver"]
                    .iter()
                    .any(|k| has_token(t, k)))
        }
    }
}

/// Lower-cased last path component of an image reference and its tag (digest dropped).
fn image_name_tag(image: &str) -> (String, Option<String>) {
    let img = image
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase();
    let img = img.split('@').next().unwrap_or("");
    let (repo, tag) = match img.rfind(':') {
        Some(p) if !img.get(p + 1..).unwrap_or("").contains('/') => {
            (img.get(..p).unwrap_or(""), img.get(p + 1..))
        }
        _ => (img, None),
    };
    let name = repo.rsplit('/').next().unwrap_or("");
    (name.to_string(), tag.map(str::to_string))
}

// ---------------------------------------------------------------------------------------------
// Option parsing

/// Which options a (sub)command knows.
struct Spec {
    /// Short option letter → canonical long name.
    short: &'static [(char, &'static str)],
    /// Canonical long names that take a value.
    values: &'static [&'static str],
    /// Canonical long names known to be boolean.
    bools: &'static [&'static str],
    /// Alternative long names → canonical.
    aliases: &'static [(&'static str, &'static str)],
}

impl Spec {
    fn takes_value(&self, name: &str) -> bool {
        self.values.contains(&name)
    }
    fn known(&self, name: &str) -> bool {
        self.values.contains(&name) || self.bools.contains(&name)
    }
    fn canonical(&self, long: &str) -> String {
        self.aliases
            .iter()
            .find(|(a, _)| *a == long)
            .map_or(long, |(_, c)| c)
            .to_string()
    }
}

/// Value-taking long flags of `docker build` / `docker buildx build`.
pub fn build_value_flags() -> &'static [&'static str] {
    BUILD_SPEC.values
}

/// Short flags of `docker build` with their long names.
pub fn build_short_flags() -> &'static [(char, &'static str)] {
    BUILD_SPEC.short
}

/// Short options read from one `-abc` cluster; beyond this the word is one unknown option.
pub const MAX_SHORT_CLUSTER: usize = 32;

const RUN_SPEC: Spec = Spec {
    short: &[
        ('a', "--attach"),
        ('c', "--cpu-shares"),
        ('d', "--detach"),
        ('e', "--env"),
        ('h', "--hostname"),
        ('i', "--interactive"),
        ('l', "--label"),
        ('m', "--memory"),
        ('p', "--publish"),
        ('P', "--publish-all"),
        ('q', "--quiet"),
        ('t', "--tty"),
        ('u', "--user"),
        ('v', "--volume"),
        ('w', "--workdir"),
    ],
    values: &[
        "--add-host",
        "--annotation",
        "--attach",
        "--blkio-weight",
        "--blkio-weight-device",
        "--cap-add",
        "--cap-drop",
        "--cgroup-parent",
        "--cgroupns",
        "--cidfile",
        "--cpu-count",
        "--cpu-percent",
        "--cpu-period",
        "--cpu-quota",
        "--cpu-rt-period",
        "--cpu-rt-runtime",
        "--cpu-shares",
        "--cpus",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--detach-keys",
        "--device",
        "--device-cgroup-rule",
        "--device-read-bps",
        "--device-read-iops",
        "--device-write-bps",
        "--device-write-iops",
        "--dns",
        "--dns-option",
        "--dns-search",
        "--domainname",
        "--entrypoint",
        "--env",
        "--env-file",
        "--expose",
        "--gpus",
        "--group-add",
        "--health-cmd",
        "--health-interval",
        "--health-retries",
        "--health-start-interval",
        "--health-start-period",
        "--health-timeout",
        "--hostname",
        "--io-maxbandwidth",
        "--io-maxiops",
        "--ip",
        "--ip6",
        "--ipc",
        "--isolation",
        "--kernel-memory",
        "--label",
        "--label-file",
        "--link",
        "--link-local-ip",
        "--log-driver",
        "--log-opt",
        "--mac-address",
        "--memory",
        "--memory-reservation",
        "--memory-swap",
        "--memory-swappiness",
        "--mount",
        "--name",
        "--network",
        "--network-alias",
        "--oom-score-adj",
        "--pid",
        "--pids-limit",
        "--platform",
        "--publish",
        "--pull",
        "--restart",
        "--runtime",
        "--security-opt",
        "--shm-size",
        "--stop-signal",
        "--stop-timeout",
        "--storage-opt",
        "--sysctl",
        "--tmpfs",
        "--ulimit",
        "--user",
        "--userns",
        "--uts",
        "--volume",
        "--volume-driver",
        "--volumes-from",
        "--workdir",
    ],
    bools: &[
        "--detach",
        "--disable-content-trust",
        "--init",
        "--interactive",
        "--no-healthcheck",
        "--oom-kill-disable",
        "--privileged",
        "--publish-all",
        "--quiet",
        "--read-only",
        "--rm",
        "--sig-proxy",
        "--tty",
        "--use-api-socket",
    ],
    aliases: &[
        ("--net", "--network"),
        ("--net-alias", "--network-alias"),
        ("--dns-opt", "--dns-option"),
    ],
};

const BUILD_SPEC: Spec = Spec {
    short: &[
        ('f', "--file"),
        ('t', "--tag"),
        ('q', "--quiet"),
        ('m', "--memory"),
        ('c', "--cpu-shares"),
        ('o', "--output"),
    ],
    values: &[
        "--file",
        "--tag",
        "--build-arg",
        "--target",
        "--platform",
        "--label",
        "--cache-from",
        "--cache-to",
        "--secret",
        "--ssh",
        "--network",
        "--add-host",
        "--iidfile",
        "--isolation",
        "--memory",
        "--memory-swap",
        "--cgroup-parent",
        "--cpu-period",
        "--cpu-quota",
        "--cpu-shares",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--shm-size",
        "--ulimit",
        "--output",
        "--progress",
        "--builder",
        "--metadata-file",
        "--attest",
        "--annotation",
        "--allow",
        "--build-context",
        "--call",
        "--no-cache-filter",
        "--security-opt",
    ],
    bools: &[
        "--push",
        "--load",
        "--no-cache",
        "--pull",
        "--quiet",
        "--rm",
        "--force-rm",
        "--squash",
        "--compress",
        "--check",
        "--disable-content-trust",
        "--sbom",
        "--provenance",
        "--stream",
        "--debug",
    ],
    aliases: &[],
};

const GLOBAL_SPEC: Spec = Spec {
    short: &[
        ('c', "--context"),
        ('D', "--debug"),
        ('H', "--host"),
        ('l', "--log-level"),
        ('v', "--version"),
    ],
    values: &[
        "--config",
        "--context",
        "--host",
        "--log-level",
        "--tlscacert",
        "--tlscert",
        "--tlskey",
    ],
    bools: &["--debug", "--tls", "--tlsverify", "--version"],
    aliases: &[],
};

const LOGIN_SPEC: Spec = Spec {
    short: &[('u', "--username"), ('p', "--password")],
    values: &["--username", "--password"],
    bools: &["--password-stdin"],
    aliases: &[],
};

const PUSH_SPEC: Spec = Spec {
    short: &[('a', "--all-tags"), ('q', "--quiet")],
    values: &["--platform"],
    bools: &["--all-tags", "--quiet", "--disable-content-trust"],
    aliases: &[],
};

const COMPOSE_SPEC: Spec = Spec {
    short: &[('f', "--file"), ('p', "--project-name")],
    values: &[
        "--file",
        "--project-name",
        "--profile",
        "--env-file",
        "--project-directory",
        "--ansi",
        "--progress",
        "--parallel",
        "--host",
    ],
    bools: &[
        "--compatibility",
        "--dry-run",
        "--all-resources",
        "--verbose",
    ],
    aliases: &[],
};

const BUILDX_SPEC: Spec = Spec {
    short: &[],
    values: &["--builder"],
    bools: &["--debug"],
    aliases: &[],
};

const BAKE_SPEC: Spec = Spec {
    short: &[('f', "--file")],
    values: &[
        "--file",
        "--set",
        "--progress",
        "--builder",
        "--metadata-file",
        "--allow",
        "--call",
    ],
    bools: &[
        "--push",
        "--load",
        "--no-cache",
        "--pull",
        "--print",
        "--list",
    ],
    aliases: &[],
};

/// One parsed option.
#[derive(Debug, Clone)]
struct Opt {
    /// Canonical name (`--volume`), or the written flag when unknown (`-x`, `--foo`).
    name: String,
    /// Value when the option took one (attached or separate).
    value: Option<String>,
    /// Flag start to value end.
    span: Range<usize>,
    /// The flag was not known to the spec.
    unknown: bool,
    /// The flag word as written.
    raw: String,
}

struct Parsed {
    opts: Vec<Opt>,
    /// Indices of positional words.
    positionals: Vec<usize>,
    /// With `stop`: index after the first positional (the start of the remaining arguments).
    rest: usize,
}

/// True for an unquoted word made only of one expansion (`$X`, `${X}`, `${{ x }}`, `$(x)`).
fn is_pure_expansion(w: &Word) -> bool {
    let t = w.text.as_str();
    if w.quoted || !t.starts_with('$') {
        return false;
    }
    if t.starts_with("${") {
        return t.ends_with('}');
    }
    if t.starts_with("$(") {
        return t.ends_with(')');
    }
    t.get(1..)
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Parses options of `words`. With `stop`, parsing ends at the first positional.
fn parse_opts(words: &[Word], spec: &Spec, stop: bool) -> Parsed {
    let mut opts = Vec::new();
    let mut positionals = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        if t == "--" {
            i += 1;
            if stop {
                if words.get(i).is_some() {
                    positionals.push(i);
                    i += 1;
                }
                return Parsed {
                    opts,
                    positionals,
                    rest: i,
                };
            }
            positionals.extend(i..words.len());
            i = words.len();
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (flag, attached) = match long.split_once('=') {
                Some((f, v)) => (format!("--{f}"), Some(v.to_string())),
                None => (t.to_string(), None),
            };
            let name = spec.canonical(&flag);
            let known = spec.known(&name);
            let (value, end, next) = if attached.is_some() {
                (attached, w.span.end, i + 1)
            } else if spec.takes_value(&name) {
                match words.get(i + 1) {
                    Some(v) => (Some(v.text.clone()), v.span.end, i + 2),
                    None => (None, w.span.end, i + 1),
                }
            } else {
                (None, w.span.end, i + 1)
            };
            opts.push(Opt {
                name,
                value,
                span: w.span.start..end,
                unknown: !known,
                raw: t.to_string(),
            });
            i = next;
            continue;
        }
        if t.len() > 1 && t.starts_with('-') {
            let mut next = i + 1;
            let body = t.get(1..).unwrap_or("");
            for (ci, ch) in body.char_indices() {
                if ci >= MAX_SHORT_CLUSTER {
                    // No real cluster is this long: one unknown option for the rest, not one per
                    // character (each copies the word: quadratic in its length).
                    opts.push(Opt {
                        name: t.to_string(),
                        value: None,
                        span: w.span.clone(),
                        unknown: true,
                        raw: t.to_string(),
                    });
                    break;
                }
                let name = spec
                    .short
                    .iter()
                    .find(|(c, _)| *c == ch)
                    .map_or_else(|| format!("-{ch}"), |(_, l)| (*l).to_string());
                let known = spec.known(&name);
                if spec.takes_value(&name) {
                    let rest = body.get(ci + ch.len_utf8()..).unwrap_or("");
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    let (value, end) = if !rest.is_empty() {
                        (Some(rest.to_string()), w.span.end)
                    } else if let Some(v) = words.get(i + 1) {
                        next = i + 2;
                        (Some(v.text.clone()), v.span.end)
                    } else {
                        (None, w.span.end)
                    };
                    opts.push(Opt {
                        name,
                        value,
                        span: w.span.start..end,
                        unknown: !known,
                        raw: t.to_string(),
                    });
                    break;
                }
                opts.push(Opt {
                    name,
                    value: None,
                    span: w.span.clone(),
                    unknown: !known,
                    raw: t.to_string(),
                });
            }
            i = next;
            continue;
        }
        if stop {
            // `docker run $OPTS --rm img`: an opaque expansion followed by options.
            let next_is_opt = words
                .get(i + 1)
                .is_some_and(|n| n.text.starts_with('-') && n.text.len() > 1);
            if is_pure_expansion(w) && next_is_opt {
                i += 1;
                continue;
            }
            positionals.push(i);
            return Parsed {
                opts,
                positionals,
                rest: i + 1,
            };
        }
        positionals.push(i);
        i += 1;
    }
    Parsed {
        opts,
        positionals,
        rest: i.min(words.len()),
    }
}

/// `true`/`1`/absent → true; `false`/`0` → false.
fn bool_value(v: Option<&str>) -> bool {
    !matches!(
        v.map(|s| s.trim().to_ascii_lowercase()).as_deref(),
        Some("false" | "0" | "no" | "off")
    )
}

// ---------------------------------------------------------------------------------------------
// Fact helpers

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Port of a `tcp://host:port/…` address.
fn tcp_port(v: &str) -> Option<&str> {
    let rest = v
        .get(6..)
        .filter(|_| v.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("tcp://")))?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.starts_with('[') {
        return authority.split_once("]:").map(|(_, p)| p);
    }
    authority.rsplit_once(':').map(|(_, p)| p)
}

fn is_tcp(v: &str) -> bool {
    v.trim()
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("tcp://"))
}

/// `tcp://…:2375` as a DOCKER_HOST value.
fn is_plaintext_docker_host(v: &str) -> bool {
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    is_tcp(v) && tcp_port(v).map(str::trim) == Some("2375")
}

fn is_empty_value(v: &str) -> bool {
    matches!(v.trim(), "" | "\"\"" | "''")
}

/// Fact for an environment assignment `NAME=value`.
fn env_fact(kv: &str) -> Option<FactKind> {
    let (name, value) = kv.split_once('=')?;
    match name.trim() {
        "DOCKER_HOST" if is_plaintext_docker_host(value) => Some(FactKind::PlaintextDaemon),
        "DOCKER_TLS_CERTDIR" if is_empty_value(value) => Some(FactKind::TlsDisabled),
        _ => None,
    }
}

/// Splits a volume spec at the first `:` outside `${…}`; returns the source.
fn volume_source(v: &str) -> Option<&str> {
    let mut depth = 0usize;
    let bytes = v.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes.get(i - 1) == Some(&b'$') => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => return v.get(..i),
            _ => {}
        }
    }
    None
}

/// True for a host path that is the Docker socket or a directory holding it.
fn is_socket_path(p: &str) -> bool {
    let p = p.trim().trim_matches(|c| c == '"' || c == '\'');
    let mut p = p;
    while p.starts_with("//") {
        p = p.get(1..).unwrap_or("");
    }
    let p = if p.len() > 1 {
        p.trim_end_matches('/')
    } else {
        p
    };
    matches!(p, "/var/run" | "/run")
        || p.ends_with("/docker.sock")
        || p.ends_with("/docker.sock.raw")
        || (p.contains("docker.sock") && p.ends_with('}'))
}

fn mount_is_socket(v: &str) -> bool {
    let mut ty = None;
    let mut source = None;
    for part in v.split(',') {
        let (k, val) = part.split_once('=').unwrap_or((part, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "type" => ty = Some(val.trim().to_ascii_lowercase()),
            "source" | "src" => source = Some(val),
            _ => {}
        }
    }
    ty.as_deref().is_none_or(|t| t == "bind") && source.is_some_and(is_socket_path)
}

fn cap_facts(v: &str) -> Vec<FactKind> {
    v.split(',')
        .filter_map(|c| {
            let c = c.trim().to_ascii_uppercase();
            let c = c.strip_prefix("CAP_").unwrap_or(&c).to_string();
            matches!(c.as_str(), "SYS_ADMIN" | "ALL").then_some(FactKind::CapAdd { cap: c })
        })
        .collect()
}

fn unconfined_fact(v: &str) -> Option<FactKind> {
    let v = v.trim().to_ascii_lowercase();
    for what in ["seccomp", "apparmor"] {
        if v == format!("{what}=unconfined") || v == format!("{what}:unconfined") {
            return Some(FactKind::Unconfined {
                what: what.to_string(),
            });
        }
    }
    None
}

/// Container port of a `-p` spec.
fn published_container_port(v: &str) -> &str {
    let last = v.rsplit(':').next().unwrap_or(v);
    last.split('/').next().unwrap_or(last).trim()
}

fn is_daemon_command(word: &str) -> bool {
    matches!(
        basename(word),
        "dockerd" | "dockerd-entrypoint.sh" | "dockerd-rootless.sh" | "dind"
    )
}

/// Facts from `docker run` options; `rest` are the container's arguments after the image.
fn run_facts(opts: &[Opt], image: Option<&str>, rest: &[Word], facts: &mut Vec<Fact>) {
    let entry_daemon = opts
        .iter()
        .any(|o| o.name == "--entrypoint" && o.value.as_deref().is_some_and(is_daemon_command));
    let cmd_daemon = rest.first().is_some_and(|w| is_daemon_command(&w.text));
    let image_daemon = image.is_some_and(is_daemon_image);
    let daemon = image_daemon || entry_daemon || cmd_daemon;
    let mut tls_env_disabled = false;
    for o in opts {
        let v = o.value.as_deref();
        let mut push = |kind| {
            facts.push(Fact {
                kind,
                span: o.span.clone(),
            })
        };
        match o.name.as_str() {
            "--privileged" if bool_value(v) => push(FactKind::Privileged { daemon }),
            "--volume" if v.and_then(volume_source).is_some_and(is_socket_path) => {
                push(FactKind::SocketMount)
            }
            "--mount" if v.is_some_and(mount_is_socket) => push(FactKind::SocketMount),
            "--use-api-socket" if bool_value(v) => push(FactKind::SocketMount),
            "--cap-add" => cap_facts(v.unwrap_or("")).into_iter().for_each(push),
            "--security-opt" => {
                if let Some(k) = v.and_then(unconfined_fact) {
                    push(k)
                }
            }
            "--env" => {
                if let Some(k) = v.and_then(env_fact) {
                    if k == FactKind::TlsDisabled {
                        tls_env_disabled = true;
                    }
                    push(k)
                }
            }
            "--publish" if v.is_some_and(|p| published_container_port(p) == "2375") => {
                push(FactKind::PlaintextDaemon)
            }
            _ => {}
        }
    }
    if daemon {
        let skip = rest
            .iter()
            .take_while(|w| is_daemon_command(&w.text))
            .count();
        let args = rest.get(skip..).unwrap_or(&[]);
        dockerd_facts(
            args,
            !image_daemon && (entry_daemon || cmd_daemon),
            tls_env_disabled,
            facts,
        );
    }
}

/// Facts from `dockerd` arguments. `strict`: any TCP host without TLS flags is plaintext
/// (a direct `dockerd`); otherwise (a dind image's arguments) port 2376 is assumed to get TLS
/// from the image's entrypoint unless TLS was disabled.
fn dockerd_facts(words: &[Word], strict: bool, tls_env_disabled: bool, facts: &mut Vec<Fact>) {
    let mut hosts: Vec<(String, Range<usize>)> = Vec::new();
    let mut tls_on = false;
    let mut tls_off = false;
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        let (flag, attached) = match t.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (t, None),
        };
        match flag {
            "-H" | "--host" => match attached {
                Some(v) => hosts.push((v.to_string(), w.span.clone())),
                None => {
                    if let Some(v) = words.get(i + 1) {
                        hosts.push((v.text.clone(), w.span.start..v.span.end));
                        i += 1;
                    }
                }
            },
            "--tls" => {
                if bool_value(attached) {
                    tls_on = true;
                } else {
                    tls_off = true;
                    facts.push(Fact {
                        kind: FactKind::TlsDisabled,
                        span: w.span.clone(),
                    });
                }
            }
            "--tlsverify" => {
                if bool_value(attached) {
                    tls_on = true;
                }
            }
            _ => {
                if let Some(v) = t.strip_prefix("-H").filter(|v| is_tcp(v)) {
                    hosts.push((v.to_string(), w.span.clone()));
                }
            }
        }
        i += 1;
    }
    if tls_on && !tls_off {
        return;
    }
    for (h, span) in hosts {
        if !is_tcp(&h) {
            continue;
        }
        let plaintext =
            strict || tls_env_disabled || tls_off || tcp_port(&h).map(str::trim) != Some("2376");
        if plaintext {
            facts.push(Fact {
                kind: FactKind::PlaintextDaemon,
                span,
            });
        }
    }
}

/// Index after `register` when `words` are `gitlab-runner … register` (directly or through
/// `docker exec`, `kubectl exec`, …).
fn find_register(words: &[Word]) -> Option<usize> {
    let first = words.first().map_or("", |w| basename(&w.text));
    if !matches!(
        first,
        "gitlab-runner" | "gitlab-ci-multi-runner" | "docker" | "podman" | "kubectl" | "oc"
    ) {
        return None;
    }
    for (i, w) in words.iter().enumerate() {
        if !matches!(
            basename(&w.text),
            "gitlab-runner" | "gitlab-ci-multi-runner"
        ) {
            continue;
        }
        for (j, n) in words.iter().enumerate().skip(i + 1).take(4) {
            if n.text == "register" {
                return Some(j + 1);
            }
            if !n.text.starts_with('-') {
                break;
            }
        }
    }
    None
}

/// Facts from `gitlab-runner register` flags.
fn register_facts(words: &[Word], facts: &mut Vec<Fact>) {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        let (flag, attached) = match t.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (t, None),
        };
        let value_opt = matches!(
            flag,
            "--docker-volumes" | "--docker-cap-add" | "--docker-security-opt"
        );
        let (value, span) = if value_opt && attached.is_none() {
            match words.get(i + 1) {
                Some(v) => {
                    i += 1;
                    (Some(v.text.clone()), w.span.start..v.span.end)
                }
                None => (None, w.span.clone()),
            }
        } else {
            (attached, w.span.clone())
        };
        let mut push = |kind| {
            facts.push(Fact {
                kind,
                span: span.clone(),
            })
        };
        match flag {
            "--docker-privileged" | "--kubernetes-privileged" if bool_value(value.as_deref()) => {
                push(FactKind::RunnerPrivileged)
            }
            "--docker-volumes"
                if value
                    .as_deref()
                    .and_then(|v| volume_source(v).or(Some(v)))
                    .is_some_and(|s| {
                        is_socket_path(s) && value.as_deref().is_some_and(|v| v.contains(':'))
                    }) =>
            {
                push(FactKind::SocketMount)
            }
            "--docker-cap-add" => cap_facts(value.as_deref().unwrap_or(""))
                .into_iter()
                .for_each(push),
            "--docker-security-opt" => {
                if let Some(k) = value.as_deref().and_then(unconfined_fact) {
                    push(k)
                }
            }
            _ => {}
        }
        i += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Command analysis

#[derive(Default)]
struct Ctx {
    a: ScriptAnalysis,
    saw_register: bool,
    runner_env: Vec<Fact>,
}

impl Ctx {
    fn usage(&mut self, u: DockerUse, span: &Range<usize>) {
        self.a.usage.push((u, span.clone()));
    }

    fn fact(&mut self, kind: FactKind, span: Range<usize>) {
        self.a.facts.push(Fact { kind, span });
    }

    /// An environment assignment (prefix, `export`, `-e` of a runner registration container).
    fn assignment(&mut self, w: &Word) {
        if let Some(k) = env_fact(&w.text) {
            self.fact(k, w.span.clone());
        }
        let (name, value) = w.text.split_once('=').unwrap_or((&w.text, ""));
        if name.starts_with("TESTCONTAINERS_") {
            self.usage(DockerUse::Run, &w.span);
        }
        if matches!(name, "DOCKER_PRIVILEGED" | "KUBERNETES_PRIVILEGED")
            && value.trim().eq_ignore_ascii_case("true")
        {
            self.runner_env.push(Fact {
                kind: FactKind::RunnerPrivileged,
                span: w.span.clone(),
            });
        }
    }
}

fn analyze_commands(cmds: &[Command]) -> ScriptAnalysis {
    let mut ctx = Ctx::default();
    for c in cmds {
        analyze_command(c, &mut ctx);
    }
    let mut a = ctx.a;
    if ctx.saw_register {
        a.facts.extend(ctx.runner_env);
    }
    a.facts.sort_by(|x, y| {
        (x.span.start, x.span.end, &x.kind).cmp(&(y.span.start, y.span.end, &y.kind))
    });
    a.facts.dedup();
    a.usage.sort_by_key(|(u, s)| (s.start, *u));
    a.usage.dedup();
    a.runs_containers = a.usage.iter().any(|(u, _)| *u == DockerUse::Run);
    a
}

fn analyze_command(c: &Command, ctx: &mut Ctx) {
    for w in &c.assignments {
        ctx.assignment(w);
    }
    if let Some(j) = find_register(&c.words) {
        ctx.saw_register = true;
        register_facts(c.words.get(j..).unwrap_or(&[]), &mut ctx.a.facts);
    }
    let Some(first) = c.words.first() else { return };
    let args = c.words.get(1..).unwrap_or(&[]);
    match basename(&first.text) {
        "export" | "declare" | "typeset" | "local" | "readonly" => {
            for w in args.iter().filter(|w| !w.text.starts_with('-')) {
                ctx.assignment(w);
            }
        }
        "docker" | "docker.exe" => docker(args, &c.span, ctx),
        "docker-compose" => compose(args, &c.span, ctx),
        "dockerd" | "dockerd-entrypoint.sh" | "dockerd-rootless.sh" => {
            dockerd_facts(args, true, false, &mut ctx.a.facts)
        }
        "kind" if args.first().is_some_and(|w| w.text == "create") => {
            ctx.usage(DockerUse::Run, &c.span)
        }
        "k3d" if args.iter().take(2).any(|w| w.text == "create") => {
            ctx.usage(DockerUse::Run, &c.span)
        }
        _ => {}
    }
}

fn text_at(words: &[Word], i: usize) -> &str {
    words.get(i).map_or("", |w| w.text.as_str())
}

fn docker(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    let g = parse_opts(args, &GLOBAL_SPEC, true);
    let tls = g.opts.iter().any(|o| {
        matches!(o.name.as_str(), "--tls" | "--tlsverify") && bool_value(o.value.as_deref())
    });
    for o in &g.opts {
        if o.name == "--host" && !tls && o.value.as_deref().is_some_and(is_plaintext_docker_host) {
            ctx.fact(FactKind::PlaintextDaemon, o.span.clone());
        }
    }
    let Some(&sub_idx) = g.positionals.first() else {
        return;
    };
    let sub = text_at(args, sub_idx);
    let rest = args.get(g.rest..).unwrap_or(&[]);
    let sub2 = text_at(rest, 0);
    let rest2 = rest.get(1..).unwrap_or(&[]);
    match sub {
        "run" | "create" => run(rest, span, ctx),
        "exec" | "start" => ctx.usage(DockerUse::Run, span),
        "container" => match sub2 {
            "run" | "create" => run(rest2, span, ctx),
            "exec" | "start" => ctx.usage(DockerUse::Run, span),
            _ => {}
        },
        "build" => build(rest, false, span, ctx),
        "builder" if sub2 == "build" => build(rest2, false, span, ctx),
        "image" => match sub2 {
            "build" => build(rest2, false, span, ctx),
            "push" => push(rest2, span, ctx),
            "tag" => tag(rest2, span, ctx),
            _ => {}
        },
        "buildx" => buildx(rest, span, ctx),
        "push" => push(rest, span, ctx),
        "login" => login(rest, span, ctx),
        "tag" => tag(rest, span, ctx),
        "manifest" => {
            if !matches!(sub2, "inspect" | "") {
                ctx.usage(DockerUse::MultiArch, span);
            }
            if sub2 == "push" {
                ctx.usage(DockerUse::Push, span);
            }
        }
        "compose" => compose(rest, span, ctx),
        "daemon" => dockerd_facts(rest, true, false, &mut ctx.a.facts),
        _ => {}
    }
}

fn run(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    let p = parse_opts(args, &RUN_SPEC, true);
    let image = p.positionals.first().map(|&i| text_at(args, i));
    let rest = args.get(p.rest..).unwrap_or(&[]);
    run_facts(&p.opts, image, rest, &mut ctx.a.facts);
    if image.is_none() {
        ctx.usage(DockerUse::Run, span);
    }
    if let Some(img) = image {
        let (name, _) = image_name_tag(img);
        if matches!(name.as_str(), "qemu-user-static" | "binfmt") {
            // Registering emulators prepares a multi-arch build; it is not "running containers".
            ctx.usage(DockerUse::MultiArch, span);
        } else {
            ctx.usage(DockerUse::Run, span);
        }
        if name.contains("gitlab-runner") && text_at(rest, 0) == "register" {
            ctx.saw_register = true;
            register_facts(rest.get(1..).unwrap_or(&[]), &mut ctx.a.facts);
            for o in &p.opts {
                if o.name == "--env"
                    && let Some(v) = &o.value
                {
                    let w = Word {
                        text: v.clone(),
                        span: o.span.clone(),
                        quoted: false,
                    };
                    ctx.assignment(&w);
                }
            }
        }
    }
}

fn split_platforms(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn build(args: &[Word], buildx: bool, span: &Range<usize>, ctx: &mut Ctx) {
    let p = parse_opts(args, &BUILD_SPEC, false);
    let mut b = DockerBuild {
        span: span.clone(),
        buildx,
        context: p.positionals.first().map(|&i| text_at(args, i).to_string()),
        ..DockerBuild::default()
    };
    for o in p.opts {
        let v = o.value.clone();
        match (o.name.as_str(), v) {
            ("--file", Some(v)) => b.file = Some(v),
            ("--tag", Some(v)) => b.tags.push(v),
            ("--build-arg", Some(v)) => b.build_args.push(v),
            ("--target", Some(v)) => b.target = Some(v),
            ("--platform", Some(v)) => b.platforms.extend(split_platforms(&v)),
            ("--label", Some(v)) => b.labels.push(v),
            ("--cache-from", Some(v)) => b.cache_from.push(v),
            ("--cache-to", Some(v)) => b.cache_to.push(v),
            ("--secret", Some(v)) => b.secrets.push(v),
            ("--ssh", Some(v)) => b.ssh.push(v),
            ("--network", Some(v)) => b.network = Some(v),
            ("--output", Some(v)) => {
                let lv = v.to_ascii_lowercase();
                let parts: Vec<&str> = lv.split(',').map(str::trim).collect();
                if parts.contains(&"type=registry") || parts.contains(&"push=true") {
                    b.push = true;
                }
                if parts.contains(&"type=docker") {
                    b.load = true;
                }
            }
            ("--push", v) => b.push = bool_value(v.as_deref()),
            ("--load", v) => b.load = bool_value(v.as_deref()),
            ("--no-cache", v) => b.no_cache = bool_value(v.as_deref()),
            ("--pull", v) => b.pull = bool_value(v.as_deref()),
            _ => {
                if o.unknown {
                    b.unknown_flags.push(o.raw.clone());
                }
            }
        }
    }
    ctx.usage(DockerUse::Build, span);
    if b.push {
        ctx.usage(DockerUse::Push, span);
    }
    if b.platforms.len() > 1 {
        ctx.usage(DockerUse::MultiArch, span);
    }
    ctx.a.builds.push(b);
}

fn buildx(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    let g = parse_opts(args, &BUILDX_SPEC, true);
    let Some(&sub_idx) = g.positionals.first() else {
        return;
    };
    let rest = args.get(g.rest..).unwrap_or(&[]);
    match text_at(args, sub_idx) {
        "build" | "b" => build(rest, true, span, ctx),
        "bake" => {
            ctx.usage(DockerUse::Build, span);
            let p = parse_opts(rest, &BAKE_SPEC, false);
            for o in &p.opts {
                let v = o.value.as_deref();
                match o.name.as_str() {
                    "--push" if bool_value(v) => ctx.usage(DockerUse::Push, span),
                    "--set" => {
                        let v = v.unwrap_or("");
                        if let Some((k, val)) = v.split_once('=') {
                            if k.ends_with(".platform") && split_platforms(val).count() > 1 {
                                ctx.usage(DockerUse::MultiArch, span);
                            }
                            if k.ends_with(".output")
                                && (val.contains("type=registry") || val.contains("push=true"))
                            {
                                ctx.usage(DockerUse::Push, span);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        "imagetools" => {
            if !matches!(text_at(rest, 0), "inspect" | "") {
                ctx.usage(DockerUse::MultiArch, span);
            }
        }
        _ => {
            let multi = rest.iter().enumerate().any(|(i, w)| {
                let v = if w.text == "--platform" {
                    text_at(rest, i + 1)
                } else {
                    w.text.strip_prefix("--platform=").unwrap_or("")
                };
                split_platforms(v).count() > 1
            });
            if multi {
                ctx.usage(DockerUse::MultiArch, span);
            }
        }
    }
}

fn push(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    ctx.usage(DockerUse::Push, span);
    let p = parse_opts(args, &PUSH_SPEC, false);
    if let Some(&i) = p.positionals.first() {
        ctx.a.pushes.push(DockerPush {
            span: span.clone(),
            image: text_at(args, i).to_string(),
        });
    }
}

fn tag(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    let p = parse_opts(args, &PUSH_SPEC, false);
    if let [s, t, ..] = p.positionals.as_slice() {
        ctx.a.tags.push(DockerTag {
            span: span.clone(),
            source: text_at(args, *s).to_string(),
            target: text_at(args, *t).to_string(),
        });
    }
}

fn login(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    ctx.usage(DockerUse::Login, span);
    let p = parse_opts(args, &LOGIN_SPEC, false);
    let mut l = DockerLogin {
        span: span.clone(),
        registry: p.positionals.first().map(|&i| text_at(args, i).to_string()),
        ..DockerLogin::default()
    };
    for o in p.opts {
        match o.name.as_str() {
            "--username" => l.username = o.value,
            "--password" => l.password = o.value,
            "--password-stdin" => l.password_stdin = bool_value(o.value.as_deref()),
            _ => {}
        }
    }
    ctx.a.logins.push(l);
}

fn compose(args: &[Word], span: &Range<usize>, ctx: &mut Ctx) {
    let g = parse_opts(args, &COMPOSE_SPEC, true);
    let Some(&sub_idx) = g.positionals.first() else {
        return;
    };
    let rest = args.get(g.rest..).unwrap_or(&[]);
    match text_at(args, sub_idx) {
        "up" | "run" | "exec" => ctx.usage(DockerUse::Run, span),
        "build" => {
            ctx.usage(DockerUse::Build, span);
            if rest.iter().any(|w| w.text == "--push") {
                ctx.usage(DockerUse::Push, span);
            }
        }
        "push" => ctx.usage(DockerUse::Push, span),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_overlong_short_option_cluster_is_one_unknown_option() {
        // Found by the mutation test: a 50,000-character `-xxx…` word became 50,000 options,
        // each holding a copy of the word (gigabytes, seconds).
        let word = format!("-{}", "x".repeat(50_000));
        let a = super::analyze_script(&format!("docker build {word} .\n"));
        let b = a.builds.first().expect("one build");
        assert_eq!(b.unknown_flags.len(), super::MAX_SHORT_CLUSTER + 1);
        assert_eq!(b.context.as_deref(), Some("."));
    }

    use super::*;

    fn line_of(src: &str, off: usize) -> usize {
        src[..off].matches('\n').count() + 1
    }

    /// (kind, line) pairs of the facts in `src`.
    fn facts(src: &str) -> Vec<(FactKind, usize)> {
        analyze_script(src)
            .facts
            .iter()
            .map(|f| (f.kind.clone(), line_of(src, f.span.start)))
            .collect()
    }

    fn uses(src: &str) -> Vec<DockerUse> {
        let mut u: Vec<DockerUse> = analyze_script(src).usage.iter().map(|(u, _)| *u).collect();
        u.sort();
        u.dedup();
        u
    }

    const PRIV: FactKind = FactKind::Privileged { daemon: false };
    const PRIV_D: FactKind = FactKind::Privileged { daemon: true };

    #[test]
    fn privileged_bad_and_ok() {
        assert_eq!(facts("docker run --privileged alpine"), [(PRIV, 1)]);
        assert_eq!(
            facts("docker run --privileged=true -d docker:dind"),
            [(PRIV_D, 1)]
        );
        assert_eq!(
            facts("docker create --rm --privileged docker:27-dind-rootless"),
            [(PRIV_D, 1)]
        );
        assert_eq!(
            facts("docker run --privileged img dockerd -H unix:///x"),
            [(PRIV_D, 1)]
        );
        assert!(facts("docker run --privileged=false alpine").is_empty());
        assert!(facts("docker run --rm alpine --privileged").is_empty());
        assert!(facts("docker exec --privileged c sh").is_empty());
        assert!(facts("docker build --privileged .").is_empty());
    }

    #[test]
    fn privileged_span_is_the_flag_word() {
        let src = "docker run -d \\\n  --name x \\\n  --privileged \\\n  docker:dind";
        let a = analyze_script(src);
        assert_eq!(a.facts.len(), 1);
        assert_eq!(&src[a.facts[0].span.clone()], "--privileged");
        assert_eq!(line_of(src, a.facts[0].span.start), 3);
    }

    #[test]
    fn socket_mount_bad_and_ok() {
        let src = "docker run -d \\\n-p 9000:9000 \\\n-v /var/run/docker.sock:/var/run/docker.sock:ro \\\nportainer/portainer-ce";
        assert_eq!(facts(src), [(FactKind::SocketMount, 3)]);
        for bad in [
            "docker run -v=/run/docker.sock:/x img",
            "docker run --volume /var/run:/var/run img",
            "docker run -v \"$XDG_RUNTIME_DIR/docker.sock:/var/run/docker.sock\" img",
            "docker run -v ${XDG_RUNTIME_DIR}/docker.sock:/s img",
            "docker run --mount type=bind,source=/var/run/docker.sock,target=/s img",
            "docker run --mount=src=/var/run/docker.sock,dst=/s img",
            "docker run -itv /var/run/docker.sock:/s img",
            "docker run --use-api-socket img",
        ] {
            assert_eq!(facts(bad), [(FactKind::SocketMount, 1)], "{bad}");
        }
        for ok in [
            "docker run -v $PWD/data:/data -v /var/run/docker.sock img",
            "docker run --mount type=volume,source=docker.sock,target=/s img",
            "docker run img -v /var/run/docker.sock:/s",
            "echo docker run -v /var/run/docker.sock:/s img",
            "grep /var/run/docker.sock:/s f",
        ] {
            assert!(facts(ok).is_empty(), "{ok}");
        }
    }

    #[test]
    fn cap_add_bad_and_ok() {
        assert_eq!(
            facts("docker run --cap-add=SYS_ADMIN img"),
            [(
                FactKind::CapAdd {
                    cap: "SYS_ADMIN".into()
                },
                1
            )]
        );
        assert_eq!(
            facts("docker run --cap-add cap_sys_admin img"),
            [(
                FactKind::CapAdd {
                    cap: "SYS_ADMIN".into()
                },
                1
            )]
        );
        assert_eq!(
            facts("docker run --cap-add all img"),
            [(FactKind::CapAdd { cap: "ALL".into() }, 1)]
        );
        assert!(facts("docker run --cap-add NET_ADMIN --cap-drop SYS_ADMIN img").is_empty());
    }

    #[test]
    fn unconfined_bad_and_ok() {
        for (src, what) in [
            (
                "docker run --security-opt seccomp=unconfined img",
                "seccomp",
            ),
            (
                "docker run --security-opt=seccomp:unconfined img",
                "seccomp",
            ),
            (
                "docker run --security-opt apparmor=unconfined img",
                "apparmor",
            ),
            (
                "docker run --security-opt apparmor:unconfined img",
                "apparmor",
            ),
        ] {
            assert_eq!(
                facts(src),
                [(FactKind::Unconfined { what: what.into() }, 1)],
                "{src}"
            );
        }
        assert!(facts("docker run --security-opt apparmor=my-profile img").is_empty());
        assert!(facts("docker run --security-opt no-new-privileges img").is_empty());
    }

    #[test]
    fn plaintext_daemon_bad_and_ok() {
        let p = FactKind::PlaintextDaemon;
        assert_eq!(
            facts("export DOCKER_HOST=tcp://docker:2375"),
            [(p.clone(), 1)]
        );
        assert_eq!(
            facts("DOCKER_HOST=tcp://docker:2375/ docker ps"),
            [(p.clone(), 1)]
        );
        assert_eq!(
            facts("docker run -e DOCKER_HOST=tcp://d:2375 img"),
            [(p.clone(), 1)]
        );
        assert_eq!(
            facts("docker run --env \"DOCKER_HOST=tcp://d:2375\" img"),
            [(p.clone(), 1)]
        );
        assert_eq!(facts("docker -H tcp://host:2375 ps"), [(p.clone(), 1)]);
        assert_eq!(facts("docker run -p 2375:2375 img"), [(p.clone(), 1)]);
        assert_eq!(
            facts("docker run -p 127.0.0.1:2375:2375/tcp img"),
            [(p.clone(), 1)]
        );
        assert_eq!(facts("dockerd -H tcp://0.0.0.0:2376"), [(p.clone(), 1)]);
        assert_eq!(
            facts("sudo dockerd --host=tcp://0.0.0.0:2375 &"),
            [(p.clone(), 1)]
        );
        assert_eq!(facts("dockerd -Htcp://0.0.0.0:2375"), [(p.clone(), 1)]);
        for ok in [
            "export DOCKER_HOST=tcp://docker:2376",
            "export DOCKER_HOST=unix:///var/run/docker.sock",
            "docker --tlsverify -H tcp://host:2375 ps",
            "dockerd -H tcp://0.0.0.0:2376 --tlsverify --tlscacert ca.pem",
            "dockerd -H unix:///var/run/docker.sock",
            "docker run -p 1234:1234 moby/buildkit --addr tcp://0.0.0.0:1234",
            "docker run -p 2376:2376 docker:dind",
            "echo DOCKER_HOST=tcp://docker:2375",
            "docker run --privileged docker:dind --host=tcp://0.0.0.0:2376",
        ] {
            assert!(
                facts(ok)
                    .iter()
                    .all(|(k, _)| *k != FactKind::PlaintextDaemon),
                "{ok}"
            );
        }
    }

    #[test]
    fn tls_disabled_bad_and_ok() {
        let t = FactKind::TlsDisabled;
        assert_eq!(facts("export DOCKER_TLS_CERTDIR=\"\""), [(t.clone(), 1)]);
        assert_eq!(facts("DOCKER_TLS_CERTDIR= docker info"), [(t.clone(), 1)]);
        assert_eq!(
            facts("docker run -e DOCKER_TLS_CERTDIR= img"),
            [(t.clone(), 1)]
        );
        assert_eq!(facts("dockerd --tls=false"), [(t.clone(), 1)]);
        assert!(facts("export DOCKER_TLS_CERTDIR=/certs").is_empty());
        assert!(facts("docker run -e DOCKER_TLS_CERTDIR img").is_empty());
    }

    #[test]
    fn dind_run_script_all_facts_on_their_lines() {
        let src = "docker run -d \\\n  --name docker \\\n  --restart=on-failure \\\n  --privileged \\\n  --network jenkins \\\n  -p 2375:2375 \\\n  -e DOCKER_TLS_VERIFY=\"\" \\\n  -e DOCKER_CERT_PATH=\"\" \\\n  -e DOCKER_TLS_CERTDIR=\"\" \\\n  docker:dind \\\n  --host=\"tcp://0.0.0.0:2375\"";
        assert_eq!(
            facts(src),
            [
                (PRIV_D, 4),
                (FactKind::PlaintextDaemon, 6),
                (FactKind::TlsDisabled, 9),
                (FactKind::PlaintextDaemon, 11)
            ]
        );
    }

    #[test]
    fn runner_privileged_bad_and_ok() {
        let src = "until false\ndo\n  docker exec -t r gitlab-runner register \\\n    --non-interactive \\\n    --docker-privileged=true \\\n    --docker-volumes /var/run/docker.sock:/var/run/docker.sock \\\n    --tag-list x && break\ndone";
        assert_eq!(
            facts(src),
            [(FactKind::RunnerPrivileged, 5), (FactKind::SocketMount, 6)]
        );
        assert_eq!(
            facts("gitlab-runner register --docker-privileged --executor docker"),
            [(FactKind::RunnerPrivileged, 1)]
        );
        assert_eq!(
            facts("docker run --rm gitlab/gitlab-runner register \\\n --docker-privileged"),
            [(FactKind::RunnerPrivileged, 2)]
        );
        assert_eq!(
            facts("export DOCKER_PRIVILEGED=true\ngitlab-runner register -n"),
            [(FactKind::RunnerPrivileged, 1)]
        );
        assert!(facts("gitlab-runner register --docker-privileged=false").is_empty());
        assert!(facts("export DOCKER_PRIVILEGED=true").is_empty());
        assert!(facts("echo gitlab-runner register --docker-privileged").is_empty());
        assert!(facts("gitlab-runner register --docker-volumes /cache").is_empty());
    }

    #[test]
    fn sudo_and_sh_c_and_substitution() {
        assert_eq!(facts("sudo -E docker run --privileged img"), [(PRIV, 1)]);
        let src = "ssh-agent; sh -c 'docker run \\\n --privileged img'";
        let a = analyze_script(src);
        assert_eq!(a.facts.len(), 1);
        assert_eq!(&src[a.facts[0].span.clone()], "--privileged");
        let src = "ID=$(docker run -d --privileged img)";
        let a = analyze_script(src);
        assert_eq!(&src[a.facts[0].span.clone()], "--privileged");
        assert!(a.runs_containers);
    }

    #[test]
    fn heredoc_and_echo_mentions_are_not_facts() {
        let src = "cat <<EOF\ndocker run --privileged -v /var/run/docker.sock:/s img\nEOF\necho \"docker run --privileged\"\nprintf '%s' --privileged\n# docker run --privileged img\n";
        assert!(analyze_script(src).facts.is_empty());
        assert!(analyze_script(src).usage.is_empty());
    }

    #[test]
    fn makefile_recipe_and_variable() {
        let src = "DOCKER = docker run --rm -v /var/run/docker.sock:/var/run/docker.sock\n\ntest:\n\t@docker run --privileged img\n\techo --privileged\n";
        let a = analyze_makefile(src);
        let got: Vec<(FactKind, usize)> = a
            .facts
            .iter()
            .map(|f| (f.kind.clone(), line_of(src, f.span.start)))
            .collect();
        assert_eq!(got, [(FactKind::SocketMount, 1), (PRIV, 4)]);
        assert!(a.runs_containers);
    }

    #[test]
    fn build_flag_parsing() {
        let src = "docker build -f docker/Dockerfile --file=x.Dockerfile -t a:1 -t b:2 --tag=c \\\n  --build-arg A=1 --build-arg B --target prod --pull --no-cache --network host \\\n  --label l=1 --cache-from type=registry,ref=x --secret id=s --ssh default --frobnicate ctx";
        let a = analyze_script(src);
        assert_eq!(a.builds.len(), 1);
        let b = &a.builds[0];
        assert!(!b.buildx);
        assert_eq!(b.file.as_deref(), Some("x.Dockerfile"));
        assert_eq!(b.tags, ["a:1", "b:2", "c"]);
        assert_eq!(b.build_args, ["A=1", "B"]);
        assert_eq!(b.target.as_deref(), Some("prod"));
        assert!(b.pull && b.no_cache && !b.push && !b.load);
        assert_eq!(b.network.as_deref(), Some("host"));
        assert_eq!(b.labels, ["l=1"]);
        assert_eq!(b.cache_from, ["type=registry,ref=x"]);
        assert_eq!(b.secrets, ["id=s"]);
        assert_eq!(b.ssh, ["default"]);
        assert_eq!(b.unknown_flags, ["--frobnicate"]);
        assert_eq!(b.context.as_deref(), Some("ctx"));
        assert_eq!(uses(src), [DockerUse::Build]);
    }

    #[test]
    fn build_context_before_flags_and_image_build() {
        let a = analyze_script("docker image build . -t supermeisi/hpdirc");
        assert_eq!(a.builds[0].context.as_deref(), Some("."));
        assert_eq!(a.builds[0].tags, ["supermeisi/hpdirc"]);
    }

    #[test]
    fn buildx_multi_platform_push() {
        let src = "docker buildx build --platform linux/amd64,linux/arm64 -t x/y --push .";
        let a = analyze_script(src);
        let b = &a.builds[0];
        assert!(b.buildx && b.push);
        assert_eq!(b.platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(
            uses(src),
            [DockerUse::Build, DockerUse::Push, DockerUse::MultiArch]
        );
        let one = "docker buildx build --platform linux/amd64 --load -o type=docker .";
        assert_eq!(uses(one), [DockerUse::Build]);
        assert!(analyze_script(one).builds[0].load);
        let out = "docker buildx build --output type=image,name=x,push=true .";
        assert!(analyze_script(out).builds[0].push);
    }

    #[test]
    fn login_with_password_stdin() {
        let src = "echo \"$CI_REGISTRY_PASSWORD\" | docker login -u \"$CI_REGISTRY_USER\" --password-stdin $CI_REGISTRY";
        let a = analyze_script(src);
        assert_eq!(a.logins.len(), 1);
        let l = &a.logins[0];
        assert!(l.password_stdin);
        assert_eq!(l.username.as_deref(), Some("$CI_REGISTRY_USER"));
        assert_eq!(l.registry.as_deref(), Some("$CI_REGISTRY"));
        assert_eq!(l.password, None);
        let a = analyze_script("docker login -u=me -p secret reg.example");
        assert_eq!(a.logins[0].password.as_deref(), Some("secret"));
        assert_eq!(a.logins[0].username.as_deref(), Some("me"));
        assert_eq!(uses("docker login"), [DockerUse::Login]);
    }

    #[test]
    fn push_tag_and_usage_classification() {
        let a =
            analyze_script("docker tag a:1 b:2\ndocker push b:2\ndocker image push --all-tags c");
        assert_eq!(a.tags[0].source, "a:1");
        assert_eq!(a.tags[0].target, "b:2");
        assert_eq!(a.pushes.len(), 2);
        assert_eq!(a.pushes[1].image, "c");
        assert_eq!(uses("docker compose -f x.yml up -d"), [DockerUse::Run]);
        assert_eq!(uses("docker-compose -p p run --rm t"), [DockerUse::Run]);
        assert_eq!(
            uses("docker compose build --push"),
            [DockerUse::Build, DockerUse::Push]
        );
        assert_eq!(uses("docker manifest create a b c"), [DockerUse::MultiArch]);
        assert_eq!(
            uses("docker buildx imagetools create -t a b c"),
            [DockerUse::MultiArch]
        );
        assert_eq!(
            uses("docker buildx create --platform linux/amd64,linux/arm64"),
            [DockerUse::MultiArch]
        );
        assert_eq!(
            uses("docker run --rm --privileged multiarch/qemu-user-static --reset -p yes"),
            [DockerUse::MultiArch]
        );
        assert!(
            !analyze_script("docker run --privileged tonistiigi/binfmt --install all")
                .runs_containers
        );
        assert_eq!(uses("docker exec c ls\ndocker start c"), [DockerUse::Run]);
        assert_eq!(
            uses("docker --context remote container run img"),
            [DockerUse::Run]
        );
        assert_eq!(uses("kind create cluster"), [DockerUse::Run]);
        for neutral in [
            "docker info",
            "docker version",
            "docker ps -a",
            "docker images",
            "docker pull x",
            "docker save x | docker load",
            "docker inspect x",
            "docker manifest inspect x",
            "docker buildx create --use",
        ] {
            assert!(uses(neutral).is_empty(), "{neutral}");
        }
        assert!(!analyze_script("docker build .").runs_containers);
        assert!(analyze_script("docker compose up").runs_containers);
    }

    #[test]
    fn run_image_detection_with_value_options() {
        // -w, -u, --name, --network, --entrypoint take values; -itd is a cluster.
        let src = "docker run -itd -w /w -u 1000 --name n --network=net --entrypoint sh -e A=b docker:dind --privileged";
        assert!(analyze_script(src).facts.is_empty());
        let src = "docker run $DOCKER_ARGS --privileged img";
        assert_eq!(facts(src), [(PRIV, 1)]);
    }

    #[test]
    fn runner_register_through_registry_mirror_image() {
        assert_eq!(
            facts("docker run --rm reg:5000/gitlab/gitlab-runner:v17 register --docker-privileged"),
            [(FactKind::RunnerPrivileged, 1)]
        );
        assert!(facts("docker run --rm reg:5000/gitlab/gitlab-runner:v17 run").is_empty());
    }

    #[test]
    fn run_args_bare() {
        let src = "-u 0:0 -v /var/run/docker.sock:/var/run/docker.sock -v /x:/y";
        let f = analyze_run_args(src, None);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FactKind::SocketMount);
        assert_eq!(
            &src[f[0].span.clone()],
            "-v /var/run/docker.sock:/var/run/docker.sock"
        );
        let f = analyze_run_args("--privileged --cap-add=SYS_ADMIN", Some("fedora:43"));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].kind, PRIV);
        let f = analyze_run_args("--privileged", Some("docker:24-dind"));
        assert_eq!(f[0].kind, PRIV_D);
        assert!(analyze_run_args("", None).is_empty());
        assert!(analyze_run_args("--rm -v /cache:/cache", None).is_empty());
    }

    #[test]
    fn daemon_image_names() {
        for yes in [
            "docker:dind",
            "docker:24-dind",
            "docker:29.6.2",
            "docker",
            "docker:latest",
            "docker:stable-dind",
            "docker:dind-rootless",
            "docker:28.2.2-dind-alpine3.21",
            "registry.local:5000/docker/docker:dind",
            "docker.io/library/docker:27-dind@sha256:abc",
            "xkand/dind:latest",
            "${{ env.REG }}/dind",
            "\"docker:${DOCKER_VERSION}-dind\"",
            "my/docker-dind:1",
            "registry:5000/docker",
        ] {
            assert!(is_daemon_image(yes), "{yes}");
        }
        for no in [
            "docker:cli",
            "docker:27-cli",
            "docker:${DOCKER_IMAGE_TAG}",
            "docker:git",
            "alpine",
            "moby/buildkit:latest",
            "tonistiigi/binfmt",
            "gitlab/gitlab-runner:latest",
            "",
        ] {
            assert!(!is_daemon_image(no), "{no}");
        }
    }

    #[test]
    fn adversarial_inputs() {
        for src in [
            "",
            "docker",
            "docker run",
            "docker run -v",
            "docker run --privileged",
            "docker -H",
            "docker buildx",
            "docker build -t",
            "docker login -u",
            "dockerd -H",
            "docker run -e",
            "gitlab-runner register --docker-volumes",
            "docker run 'unterminated --privileged",
            "docker compose",
            "docker container",
            "docker run -p",
            "docker run --mount",
            "docker run --cap-add",
            "export",
            "DOCKER_HOST=",
            "docker run -vé:/x é",
            "docker tag a",
            "docker push",
            "docker image",
        ] {
            let a = analyze_script(src);
            let m = analyze_makefile(src);
            let r = analyze_run_args(src, Some(src));
            for f in a.facts.iter().chain(&m.facts).chain(&r) {
                assert!(src.get(f.span.clone()).is_some(), "{src:?} {f:?}");
            }
            assert!(a.usage.iter().all(|(_, s)| s.end <= src.len()), "{src:?}");
        }
        let huge = "docker run --privileged -v /var/run/docker.sock:/s img\n".repeat(5_000);
        assert_eq!(analyze_script(&huge).facts.len(), 10_000);
        let deep = "docker run $(".repeat(3_000);
        assert!(analyze_script(&deep).facts.is_empty());
    }
}
