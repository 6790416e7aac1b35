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
    analyze_commands(src, &shell::commands(src), Mode::Script)
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
    analyze_commands(src, &cmds, Mode::Makefile)
}

/// Analyses a `.env` file: `NAME=value` / `export NAME=value` lines (each line on its own, so
/// one stray quote never swallows the rest). `DOCKER_HOST` is judged with the file's
/// `DOCKER_TLS_VERIFY`; runner registration settings (`DOCKER_PRIVILEGED=true`,
/// `DOCKER_VOLUMES=/var/run/docker.sock:…`) count when the file configures a registration.
pub fn analyze_env_file(src: &str) -> ScriptAnalysis {
    let mut cmds = Vec::new();
    let mut off = 0;
    for line in src.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        cmds.extend(shell::commands_in(src, off..off + body.len()));
        off += line.len();
    }
    // Only assignments matter in an env file.
    for c in &mut cmds {
        if c.words.first().is_some_and(|w| w.text != "export") {
            c.words.clear();
        }
    }
    analyze_commands(src, &cmds, Mode::EnvFile)
}

/// Analyses a Dockerfile: `RUN`, `CMD` and `ENTRYPOINT` in shell form (continuation lines,
/// comment lines inside them and `RUN <<EOF` heredocs included) go through the shell reader,
/// their exec form (`["dockerd", "-H", …]`) is read as one command, and `ENV` / `ARG` values are
/// environment assignments. Spans are offsets into `src`.
pub fn analyze_dockerfile(src: &str) -> ScriptAnalysis {
    let view = dockerfile::shell_view(src);
    let cmds = shell::commands(&view.text);
    analyze_with(&view.text, &cmds, &view.extra, Mode::Script)
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

/// Whether a client reaching `v` (a `DOCKER_HOST` / `-H` value) talks plain HTTP. TLS decides,
/// not the port: `tls` is what the same file says about client TLS (`DOCKER_TLS_VERIFY`,
/// `--tlsverify`): `Some(true)` on, `Some(false)` explicitly off, `None` not said. Unsaid, port
/// 2376 is taken to be the TLS port (an image entrypoint usually sets `DOCKER_TLS_VERIFY` for
/// it); any other port, or none (the client's default is 2375 without TLS), is plaintext. A port
/// that is a variable is not judged.
fn is_plaintext_docker_host(v: &str, tls: Option<bool>) -> bool {
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    if !is_tcp(v) || tls == Some(true) {
        return false;
    }
    match tcp_port(v).map(str::trim) {
        Some(p) if p.contains('$') || p.contains('{') => false,
        Some("2376") => tls == Some(false),
        _ => true,
    }
}

/// What a `DOCKER_TLS_VERIFY` / `DOCKER_TLS` value says about client TLS. The Docker CLI reads
/// any non-empty value as "on" (`DOCKER_TLS_VERIFY=0` too) and an empty one as "off".
fn tls_env_value(v: &str) -> Option<bool> {
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    if v.contains('$') {
        return None;
    }
    Some(!v.is_empty())
}

fn is_empty_value(v: &str) -> bool {
    matches!(v.trim(), "" | "\"\"" | "''")
}

/// Fact for an environment assignment `NAME=value`.
fn env_fact(kv: &str) -> Option<FactKind> {
    let (name, value) = kv.split_once('=')?;
    match name.trim() {
        "DOCKER_HOST" if is_plaintext_docker_host(value, None) => Some(FactKind::PlaintextDaemon),
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
    let client_tls = opts
        .iter()
        .filter(|o| o.name == "--env")
        .filter_map(|o| o.value.as_deref()?.split_once('='))
        .filter(|(k, _)| matches!(k.trim(), "DOCKER_TLS_VERIFY" | "DOCKER_TLS"))
        .filter_map(|(_, v)| tls_env_value(v))
        .next_back();
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
                let host = v
                    .and_then(|v| v.split_once('='))
                    .filter(|(k, _)| k.trim() == "DOCKER_HOST");
                if let Some((_, h)) = host {
                    if is_plaintext_docker_host(h, client_tls) {
                        push(FactKind::PlaintextDaemon);
                    }
                } else if let Some(k) = v.and_then(env_fact) {
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

/// What kind of file the commands come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Mode {
    /// A shell script, CI script block or Dockerfile.
    #[default]
    Script,
    /// A Makefile: make variables (`OPTS := --privileged`, `$(OPTS)`) are resolved too.
    Makefile,
    /// A `.env` file: assignments only; runner registration settings count when the file
    /// configures a GitLab Runner registration.
    EnvFile,
}

/// Names of registration settings that say a file configures a GitLab Runner registration.
const RUNNER_CONTEXT_VARS: &[&str] = &[
    "CI_SERVER_URL",
    "CI_SERVER_TOKEN",
    "REGISTRATION_TOKEN",
    "RUNNER_TOKEN",
    "RUNNER_EXECUTOR",
    "RUNNER_NAME",
    "RUNNER_TAG_LIST",
    "REGISTER_NON_INTERACTIVE",
    "REGISTER_RUN_UNTAGGED",
    "REGISTER_LOCKED",
];

#[derive(Default)]
struct Ctx {
    a: ScriptAnalysis,
    saw_register: bool,
    runner_env: Vec<Fact>,
    /// `DOCKER_TLS_VERIFY` / `DOCKER_TLS` as assigned in the file.
    tls_env: Option<bool>,
    /// `DOCKER_HOST` assignments of the script's own environment: (word span, value).
    hosts: Vec<(Range<usize>, String)>,
    /// `docker -H tcp://…` without TLS flags: (span, value).
    cli_hosts: Vec<(Range<usize>, String)>,
    /// The file sets GitLab Runner registration settings (`.env` files).
    runner_context: bool,
}

impl Ctx {
    fn usage(&mut self, u: DockerUse, span: &Range<usize>) {
        self.a.usage.push((u, span.clone()));
    }

    fn fact(&mut self, kind: FactKind, span: Range<usize>) {
        self.a.facts.push(Fact { kind, span });
    }

    /// An environment assignment (prefix, `export`, `-e` of a runner registration container,
    /// a `.env` line, a Dockerfile `ENV`).
    fn assignment(&mut self, w: &Word) {
        let (name, value) = w.text.split_once('=').unwrap_or((&w.text, ""));
        let name = name.trim_end_matches('+');
        match name {
            "DOCKER_HOST" => self.hosts.push((w.span.clone(), value.to_string())),
            "DOCKER_TLS_VERIFY" | "DOCKER_TLS" => {
                if let Some(t) = tls_env_value(value) {
                    // One file saying "on" anywhere wins: it configures the client it runs.
                    self.tls_env = Some(self.tls_env.unwrap_or(false) || t);
                }
            }
            _ => {
                if let Some(k) = env_fact(&w.text) {
                    self.fact(k, w.span.clone());
                }
            }
        }
        if RUNNER_CONTEXT_VARS.contains(&name) {
            self.runner_context = true;
        }
        if name.starts_with("TESTCONTAINERS_") {
            self.usage(DockerUse::Run, &w.span);
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let mut runner = |kind| {
            self.runner_env.push(Fact {
                kind,
                span: w.span.clone(),
            })
        };
        match name {
            "DOCKER_PRIVILEGED" | "KUBERNETES_PRIVILEGED" | "DOCKER_SERVICES_PRIVILEGED"
                if value.eq_ignore_ascii_case("true") =>
            {
                runner(FactKind::RunnerPrivileged)
            }
            "DOCKER_VOLUMES"
                if value
                    .split([',', ' '])
                    .any(|v| v.contains(':') && volume_source(v).is_some_and(is_socket_path)) =>
            {
                runner(FactKind::SocketMount)
            }
            "DOCKER_CAP_ADD" => cap_facts(value).into_iter().for_each(runner),
            "DOCKER_SECURITY_OPT" => {
                for o in value.split([',', ' ']) {
                    if let Some(k) = unconfined_fact(o) {
                        runner(k)
                    }
                }
            }
            _ => {}
        }
    }
}

fn analyze_commands(src: &str, cmds: &[Command], mode: Mode) -> ScriptAnalysis {
    analyze_with(src, cmds, &[], mode)
}

/// Analyses `cmds` (lexed from `src`) plus `extra` commands that are not shell text (Dockerfile
/// exec-form arrays), resolving constant variables, arrays and wrapper functions of `src`.
fn analyze_with(src: &str, cmds: &[Command], extra: &[Command], mode: Mode) -> ScriptAnalysis {
    let mut ctx = Ctx::default();
    let mut vars = Vars::collect(src, cmds);
    if mode == Mode::Makefile {
        vars.add_make_variables(src);
    }
    let funcs = Functions::collect(src, cmds, &vars);
    let aliases = alias_commands(src, cmds);
    for c in cmds.iter().chain(extra).chain(&aliases) {
        // The command as written gives the parsed builds/logins/pushes/tags (the rewriters
        // translate what is written); its expansions and the wrapper calls it makes add facts
        // and usage only.
        analyze_command(c, &mut ctx);
        let e = vars.expand_command(c);
        if e != *c {
            analyze_resolved(&e, &mut ctx);
        }
        for call in funcs.calls(&e, &vars) {
            analyze_resolved(&call, &mut ctx);
        }
    }
    let mut a = std::mem::take(&mut ctx.a);
    for (span, v) in &ctx.hosts {
        if is_plaintext_docker_host(v, ctx.tls_env) {
            a.facts.push(Fact {
                kind: FactKind::PlaintextDaemon,
                span: span.clone(),
            });
        }
    }
    for (span, v) in &ctx.cli_hosts {
        if is_plaintext_docker_host(v, ctx.tls_env) {
            a.facts.push(Fact {
                kind: FactKind::PlaintextDaemon,
                span: span.clone(),
            });
        }
    }
    if ctx.saw_register || (mode == Mode::EnvFile && ctx.runner_context) {
        a.facts.extend(ctx.runner_env);
    }
    a.facts.sort_by(|x, y| {
        (x.span.start, x.span.end, &x.kind).cmp(&(y.span.start, y.span.end, &y.kind))
    });
    a.facts.dedup();
    // A flag seen once through a wrapper whose arguments name a daemon image and once in the
    // wrapper alone is the daemon's.
    let daemon_spans: Vec<Range<usize>> = a
        .facts
        .iter()
        .filter(|f| f.kind == FactKind::Privileged { daemon: true })
        .map(|f| f.span.clone())
        .collect();
    a.facts.retain(|f| {
        !(f.kind == FactKind::Privileged { daemon: false } && daemon_spans.contains(&f.span))
    });
    a.usage.sort_by_key(|(u, s)| (s.start, *u));
    a.usage.dedup();
    a.runs_containers = a.usage.iter().any(|(u, _)| *u == DockerUse::Run);
    a
}

/// Analyses a command rebuilt from variables or a wrapper call: its facts, usage and
/// environment count; its parsed records do not (they would not match the written text).
fn analyze_resolved(c: &Command, ctx: &mut Ctx) {
    let mut tmp = Ctx {
        tls_env: ctx.tls_env,
        ..Ctx::default()
    };
    analyze_command(c, &mut tmp);
    ctx.a.facts.append(&mut tmp.a.facts);
    ctx.a.usage.append(&mut tmp.a.usage);
    ctx.hosts.append(&mut tmp.hosts);
    ctx.cli_hosts.append(&mut tmp.cli_hosts);
    ctx.runner_env.append(&mut tmp.runner_env);
    ctx.saw_register |= tmp.saw_register;
    ctx.runner_context |= tmp.runner_context;
    if tmp.tls_env.is_some() {
        ctx.tls_env = tmp.tls_env;
    }
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
    // `set -- dockerd --host=tcp://…` (entrypoints) builds the command `exec "$@"` runs.
    if first.text == "set" && args.first().is_some_and(|w| w.text == "--") && args.len() > 1 {
        let inner = Command {
            assignments: Vec::new(),
            words: args.get(1..).unwrap_or(&[]).to_vec(),
            span: c.span.clone(),
        };
        analyze_command(&inner, ctx);
        return;
    }
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
        "socat" => socat_facts(args, ctx),
        "kind" if args.first().is_some_and(|w| w.text == "create") => {
            ctx.usage(DockerUse::Run, &c.span)
        }
        "k3d" if args.iter().take(2).any(|w| w.text == "create") => {
            ctx.usage(DockerUse::Run, &c.span)
        }
        _ => {}
    }
}

/// The commands of `alias name="docker run …"` definitions, lexed in place.
fn alias_commands(src: &str, cmds: &[Command]) -> Vec<Command> {
    let mut out = Vec::new();
    for c in cmds {
        if c.words.first().map(|w| w.text.as_str()) != Some("alias") {
            continue;
        }
        for w in c.words.iter().skip(1) {
            let Some(raw) = src.get(w.span.clone()) else {
                continue;
            };
            let Some(eq) = raw.find('=') else { continue };
            let value = raw.get(eq + 1..).unwrap_or("");
            let quoted = value.len() >= 2
                && ((value.starts_with('"') && value.ends_with('"'))
                    || (value.starts_with('\'') && value.ends_with('\'')));
            let (from, to) = if quoted {
                (w.span.start + eq + 2, w.span.end - 1)
            } else {
                (w.span.start + eq + 1, w.span.end)
            };
            if from < to {
                out.extend(shell::commands_in(src, from..to));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Constant variables, arrays and wrapper functions

/// Deepest chain of variables expanded inside variables / wrapper functions calling wrappers.
const MAX_EXPANSION_DEPTH: usize = 4;
/// Most words one expansion may produce (keeps pathological inputs linear).
const MAX_EXPANDED_WORDS: usize = 512;

/// One assignment of a variable: `NAME=…`, `NAME+=…`, `NAME=(…)`, also after `export`/`local`.
struct VarDef {
    /// Offset of the assignment.
    at: usize,
    /// `+=` (appends to the previous value).
    append: bool,
    /// The value's words after field splitting, with spans at the definition.
    words: Vec<Word>,
}

/// Variables assigned constants in one file, by name, in source order.
#[derive(Default)]
struct Vars {
    defs: std::collections::BTreeMap<String, Vec<VarDef>>,
    /// Make variables are known: `$(NAME)` is a variable, not a command substitution.
    make: bool,
}

/// Whether an unknown variable name stands for the Docker CLI (`$DOCKER`, `${DOCKER_CMD}`).
fn is_docker_cli_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n == "DOCKER"
        || n == "DOCKER_CLI"
        || n.strip_prefix("DOCKER_").is_some_and(|rest| {
            matches!(
                rest,
                "CMD" | "BIN" | "EXE" | "COMMAND" | "BINARY" | "CLIENT" | "PATH_BIN"
            )
        })
}

/// The variable named by a word made only of one expansion: `$N`, `${N}`, `${N[@]}`,
/// `${N[*]}`, `${N:-default}` / `${N-default}`. Returns (name, default).
fn whole_expansion(text: &str) -> Option<(&str, Option<&str>)> {
    let rest = text.strip_prefix('$')?;
    if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        let name_end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let name = inner.get(..name_end)?;
        let tail = inner.get(name_end..)?;
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        return match tail {
            "" | "[@]" | "[*]" => Some((name, None)),
            t => t
                .strip_prefix(":-")
                .or_else(|| t.strip_prefix('-'))
                .map(|d| (name, Some(d))),
        };
    }
    let ok = !rest.is_empty()
        && rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some((rest, None))
}

/// Words of an assignment's value, with spans in `src` where the raw text can be found.
fn value_words(src: &str, w: &Word) -> Option<(String, bool, Vec<Word>)> {
    let (lhs, cooked) = w.text.split_once('=')?;
    let append = lhs.ends_with('+');
    let name = lhs.trim_end_matches('+');
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let raw = src.get(w.span.clone()).unwrap_or("");
    let words = match raw.strip_prefix(lhs).and_then(|r| r.strip_prefix('=')) {
        Some(value_raw) => {
            let base = w.span.end - value_raw.len();
            let inner = |open: char, close: char| {
                value_raw
                    .strip_prefix(open)
                    .and_then(|r| r.strip_suffix(close))
                    .filter(|i| !i.contains(close) || open == '(')
            };
            let (text, off) = match inner('"', '"')
                .or_else(|| inner('\'', '\''))
                .or_else(|| inner('(', ')'))
            {
                Some(i) => (i, base + 1),
                None => (value_raw, base),
            };
            shell::split_words(text)
                .into_iter()
                .map(|x| Word {
                    text: x.text,
                    span: x.span.start + off..x.span.end + off,
                    quoted: x.quoted,
                })
                .collect()
        }
        // A re-lexed `sh -c` string: the value's words all point at the assignment.
        None => shell::split_words(cooked)
            .into_iter()
            .map(|x| Word {
                text: x.text,
                span: w.span.clone(),
                quoted: x.quoted,
            })
            .collect(),
    };
    Some((name.to_string(), append, words))
}

impl Vars {
    /// Adds Makefile variable definitions (`NAME = …`, `:=`, `?=`, `+=`, after `export`).
    fn add_make_variables(&mut self, src: &str) {
        self.make = true;
        for r in shell::makefile_variable_values(src) {
            let line_start = src
                .get(..r.start)
                .and_then(|b| b.rfind('\n'))
                .map_or(0, |p| p + 1);
            let prefix = src.get(line_start..r.start).unwrap_or("").trim();
            let mut head = prefix;
            for kw in ["export ", "override ", "private "] {
                head = head.strip_prefix(kw).unwrap_or(head).trim_start();
            }
            let end = head
                .find(|c: char| c.is_whitespace() || matches!(c, ':' | '=' | '?' | '+' | '!'))
                .unwrap_or(head.len());
            let name = head.get(..end).unwrap_or("");
            if name.is_empty() || prefix.ends_with("!=") {
                continue;
            }
            let text = src.get(r.clone()).unwrap_or("");
            let words = shell::split_words(text)
                .into_iter()
                .map(|x| Word {
                    text: x.text,
                    span: x.span.start + r.start..x.span.end + r.start,
                    quoted: x.quoted,
                })
                .collect();
            let defs = self.defs.entry(name.to_string()).or_default();
            defs.push(VarDef {
                at: line_start,
                append: prefix.ends_with("+="),
                words,
            });
            defs.sort_by_key(|d| d.at);
        }
    }

    /// The variable named by a whole-word expansion: shell forms, and `$(NAME)` in Makefiles.
    fn whole<'t>(&self, text: &'t str) -> Option<(&'t str, Option<&'t str>)> {
        if self.make
            && let Some(inner) = text.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
            && !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Some((inner, None));
        }
        whole_expansion(text)
    }

    fn collect(src: &str, cmds: &[Command]) -> Vars {
        let mut v = Vars::default();
        for c in cmds {
            let assigns: Vec<&Word> = if c.words.is_empty() {
                c.assignments.iter().collect()
            } else if matches!(
                c.words.first().map(|w| w.text.as_str()),
                Some("export" | "local" | "declare" | "typeset" | "readonly")
            ) {
                c.words
                    .iter()
                    .skip(1)
                    .filter(|w| !w.text.starts_with('-'))
                    .collect()
            } else {
                Vec::new()
            };
            for w in assigns {
                if let Some((name, append, words)) = value_words(src, w) {
                    v.defs.entry(name).or_default().push(VarDef {
                        at: w.span.start,
                        append,
                        words,
                    });
                }
            }
        }
        for defs in v.defs.values_mut() {
            defs.sort_by_key(|d| d.at);
        }
        v
    }

    /// The words of `name` as seen at offset `at`: the last assignment before it (or, for a
    /// function body that runs later, the first one after it) plus the appends that follow.
    fn value(&self, name: &str, at: usize) -> Option<Vec<Word>> {
        let defs = self.defs.get(name)?;
        let before = defs.partition_point(|d| d.at < at);
        let upto = if before == 0 { defs.len() } else { before };
        let scope = defs.get(..upto)?;
        let base = scope.iter().rposition(|d| !d.append).unwrap_or(0);
        let mut out = Vec::new();
        for d in scope.get(base..).unwrap_or(&[]) {
            out.extend(d.words.iter().cloned());
        }
        Some(out)
    }

    /// Expands the variables of one word.
    fn expand_word(&self, w: &Word, at: usize, depth: usize, out: &mut Vec<Word>) {
        if depth > MAX_EXPANSION_DEPTH || out.len() > MAX_EXPANDED_WORDS || !w.text.contains('$') {
            out.push(w.clone());
            return;
        }
        if let Some((name, default)) = self.whole(&w.text) {
            if let Some(words) = self.value(name, at) {
                for x in &words {
                    self.expand_word(x, at, depth + 1, out);
                }
                return;
            }
            if let Some(d) = default {
                for x in shell::split_words(d) {
                    out.push(Word {
                        text: x.text,
                        span: w.span.clone(),
                        quoted: x.quoted,
                    });
                }
                return;
            }
            out.push(w.clone());
            return;
        }
        // `$NAME` inside a larger word (`-v $SOCK:/var/run/docker.sock`): a one-word constant
        // is substituted in place; the word keeps its own span.
        let mut text = String::new();
        let mut rest = w.text.as_str();
        let mut changed = false;
        while let Some(p) = rest.find('$') {
            text.push_str(rest.get(..p).unwrap_or(""));
            let tail = rest.get(p..).unwrap_or("");
            let len = if tail.starts_with("${") {
                tail.find('}').map_or(0, |e| e + 1)
            } else {
                1 + tail
                    .get(1..)
                    .unwrap_or("")
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len() - 1)
            };
            let piece = tail.get(..len.max(1)).unwrap_or("$");
            let piece = if self.make && tail.starts_with("$(") {
                tail.get(..tail.find(')').map_or(1, |e| e + 1))
                    .unwrap_or("$")
            } else {
                piece
            };
            let sub = self
                .whole(piece)
                .and_then(|(n, _)| self.value(n, at))
                .filter(|ws| ws.len() == 1);
            match sub {
                Some(ws) => {
                    text.push_str(ws.first().map_or("", |x| x.text.as_str()));
                    changed = true;
                }
                None => text.push_str(piece),
            }
            rest = tail.get(piece.len()..).unwrap_or("");
        }
        text.push_str(rest);
        out.push(Word {
            text: if changed { text } else { w.text.clone() },
            span: w.span.clone(),
            quoted: w.quoted,
        });
    }

    /// The command with its words' constant variables expanded; a leading expansion that holds
    /// (or names) the Docker CLI becomes `docker`, wrappers it carries (`sudo`) are dropped.
    fn expand_command(&self, c: &Command) -> Command {
        if !c.words.iter().any(|w| w.text.contains('$')) {
            return c.clone();
        }
        let mut words = Vec::new();
        for w in &c.words {
            self.expand_word(w, c.span.start, 0, &mut words);
        }
        strip_leading_wrappers(&mut words);
        if let (Some(first), Some(orig)) = (words.first_mut(), c.words.first()) {
            let via_var = whole_expansion(&orig.text);
            let names_docker = first.text.starts_with("$(")
                && first.text.contains("docker")
                && !first.text.contains("compose");
            if names_docker
                || via_var.is_some_and(|(n, _)| is_docker_cli_var(n) && first.text == orig.text)
            {
                first.text = "docker".into();
            }
        }
        Command {
            assignments: c.assignments.clone(),
            words,
            span: c.span.clone(),
        }
    }
}

/// Drops `sudo [-flags]` / `command` / `exec` that came out of a variable (`DOCKER="sudo docker"`).
fn strip_leading_wrappers(words: &mut Vec<Word>) {
    let mut k = 0;
    while let Some(w) = words.get(k) {
        match w.text.as_str() {
            "sudo" | "command" | "exec" => {
                k += 1;
                while words.get(k).is_some_and(|w| w.text.starts_with('-')) {
                    k += 1;
                }
            }
            _ => break,
        }
        if k >= 8 {
            break;
        }
    }
    if k > 0 && k < words.len() {
        words.drain(..k);
    }
}

/// Shell functions that pass their arguments to a command (`run() { docker run "$@"; }`).
#[derive(Default)]
struct Functions {
    /// Function name → the commands of its body that use positional parameters.
    bodies: std::collections::BTreeMap<String, Vec<Command>>,
}

/// Whether a word is a positional-parameter expansion: `$@`, `$*`, `${@}`, `$1`, `${2}`.
fn positional(text: &str) -> Option<Positional> {
    let t = text.strip_prefix('$')?;
    let t = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t);
    match t {
        "@" | "*" => Some(Positional::All(0)),
        _ => {
            if let Some(n) = t.strip_prefix("@:") {
                return n
                    .parse::<usize>()
                    .ok()
                    .map(|n| Positional::All(n.saturating_sub(1)));
            }
            t.parse::<usize>()
                .ok()
                .filter(|n| (1..=9).contains(n))
                .map(Positional::One)
        }
    }
}

enum Positional {
    /// All arguments from this index (0-based).
    All(usize),
    /// One argument (1-based).
    One(usize),
}

/// (offset, name) of every function definition: `name() {`, `function name {`.
fn function_defs(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut off = 0;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        let (body, keyword) = match t.strip_prefix("function ") {
            Some(r) => (r.trim_start(), true),
            None => (t, false),
        };
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.')))
            .unwrap_or(body.len());
        let name = body.get(..end).unwrap_or("");
        let after = body.get(end..).unwrap_or("").trim_start();
        let parens = after.starts_with("()") || after.starts_with("( )");
        if !name.is_empty()
            && (parens || (keyword && (after.starts_with('{') || after.trim().is_empty())))
        {
            out.push((off, name.to_string()));
        }
        off += line.len();
    }
    out
}

impl Functions {
    fn collect(src: &str, cmds: &[Command], vars: &Vars) -> Functions {
        let mut f = Functions::default();
        if !cmds
            .iter()
            .any(|c| c.words.iter().any(|w| positional(&w.text).is_some()))
        {
            return f;
        }
        let defs = function_defs(src);
        for c in cmds {
            if !c.words.iter().any(|w| positional(&w.text).is_some()) {
                continue;
            }
            let k = defs.partition_point(|(at, _)| *at <= c.span.start);
            if let Some((_, name)) = k.checked_sub(1).and_then(|k| defs.get(k)) {
                f.bodies
                    .entry(name.clone())
                    .or_default()
                    .push(vars.expand_command(c));
            }
        }
        f
    }

    /// The body commands a call runs, with its arguments in place of the positional
    /// parameters; wrappers calling wrappers are followed a few levels.
    fn calls(&self, c: &Command, vars: &Vars) -> Vec<Command> {
        let mut out = Vec::new();
        if self.bodies.is_empty() {
            return out;
        }
        let mut queue = vec![(c.clone(), 0usize)];
        while let Some((call, depth)) = queue.pop() {
            let Some(name) = call.words.first().map(|w| w.text.clone()) else {
                continue;
            };
            let Some(bodies) = self.bodies.get(&name) else {
                continue;
            };
            let args = call.words.get(1..).unwrap_or(&[]);
            for b in bodies {
                // A call inside the function's own body is not a call site.
                if b.span.contains(&call.span.start) {
                    continue;
                }
                let mut words = Vec::new();
                for w in &b.words {
                    match positional(&w.text) {
                        Some(Positional::All(from)) => {
                            words.extend(args.get(from..).unwrap_or(&[]).iter().cloned())
                        }
                        Some(Positional::One(n)) => words.extend(args.get(n - 1).cloned()),
                        None => words.push(w.clone()),
                    }
                    if words.len() > MAX_EXPANDED_WORDS {
                        break;
                    }
                }
                let synth = vars.expand_command(&Command {
                    assignments: b.assignments.clone(),
                    words,
                    span: b.span.clone(),
                });
                if depth < MAX_EXPANSION_DEPTH {
                    queue.push((synth.clone(), depth + 1));
                }
                out.push(synth);
                if out.len() > MAX_EXPANDED_WORDS {
                    return out;
                }
            }
        }
        out
    }
}

/// `socat TCP-LISTEN:2375,fork UNIX-CONNECT:/var/run/docker.sock` publishes the Docker socket
/// as plain TCP (an `OPENSSL-LISTEN` address would be TLS).
fn socat_facts(args: &[Word], ctx: &mut Ctx) {
    let lower = |w: &Word| w.text.to_ascii_lowercase();
    let to_socket = args.iter().any(|w| {
        let l = lower(w);
        ["unix-connect:", "unix-client:", "unix:", "gopen:"]
            .iter()
            .any(|p| l.starts_with(p))
            && l.split([':', ',']).nth(1).is_some_and(is_socket_path)
    });
    if !to_socket {
        return;
    }
    for w in args {
        let l = lower(w);
        if ["tcp-listen:", "tcp4-listen:", "tcp6-listen:", "tcp-l:"]
            .iter()
            .any(|p| l.starts_with(p))
        {
            ctx.fact(FactKind::PlaintextDaemon, w.span.clone());
        }
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
        if o.name == "--host"
            && !tls
            && let Some(v) = &o.value
        {
            ctx.cli_hosts.push((o.span.clone(), v.clone()));
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
        "context" if matches!(sub2, "create" | "update") => context_facts(rest2, ctx),
        _ => {}
    }
}

/// `docker context create NAME --docker host=tcp://…[,ca=…,cert=…,key=…]`: an endpoint with a
/// TCP host and no TLS material is reached over plain HTTP, whatever its port.
fn context_facts(args: &[Word], ctx: &mut Ctx) {
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let (value, span) = match w.text.strip_prefix("--docker") {
            Some("") => match args.get(i + 1) {
                Some(v) => {
                    i += 1;
                    (v.text.as_str(), w.span.start..v.span.end)
                }
                None => break,
            },
            Some(rest) => match rest.strip_prefix('=') {
                Some(v) => (v, w.span.clone()),
                None => {
                    i += 1;
                    continue;
                }
            },
            None => {
                i += 1;
                continue;
            }
        };
        let mut host = None;
        let mut tls = false;
        for part in value.split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k.trim() {
                "host" => host = Some(v.trim()),
                "ca" | "cert" | "key" | "skip-tls-verify" => tls = true,
                _ => {}
            }
        }
        if let Some(h) = host
            && !tls
            && is_tcp(h)
            && !tcp_port(h).is_some_and(|p| p.contains('$'))
        {
            ctx.fact(FactKind::PlaintextDaemon, span);
        }
        i += 1;
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

/// Dockerfile instructions turned into shell text at the same offsets.
mod dockerfile {
    use super::shell::{Command, Word};

    /// A copy of the Dockerfile where everything but shell-form commands and `ENV`/`ARG`
    /// assignments is blanked (same length, same line breaks), plus exec-form commands.
    pub(super) struct View {
        pub(super) text: String,
        pub(super) extra: Vec<Command>,
    }

    /// Byte ranges of physical lines (without the line break) and their break length.
    fn lines(src: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut off = 0;
        for line in src.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']).len();
            out.push((off, off + body));
            off += line.len();
        }
        out
    }

    fn line_break_len(src: &str, e: usize) -> usize {
        match src.get(e..) {
            Some(r) if r.starts_with("\r\n") => 2,
            Some(r) if r.starts_with('\n') => 1,
            _ => 0,
        }
    }

    /// The escape character from a `# escape=` parser directive (default `\`).
    fn escape_char(src: &str) -> u8 {
        for line in src.lines() {
            let t = line.trim();
            let Some(d) = t.strip_prefix('#') else { break };
            let d = d.trim();
            if let Some(v) = d
                .split_once('=')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("escape"))
            {
                if v.1.trim() == "`" {
                    return b'`';
                }
            } else if !d.contains('=') {
                break;
            }
        }
        b'\\'
    }

    /// Words of a JSON string array starting at `start` (`["a", "b"]`), with the span of each
    /// string literal. `None` when it is not one.
    fn exec_form(src: &str, start: usize, end: usize) -> Option<Vec<Word>> {
        let b = src.as_bytes();
        let mut i = start;
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i += 1;
        let mut words = Vec::new();
        loop {
            while i < end && matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b'\\')) {
                i += 1;
            }
            if i >= end {
                return None;
            }
            match b.get(i) {
                Some(b']') => return Some(words),
                Some(b'"') => {
                    let s = i;
                    i += 1;
                    let mut text = String::new();
                    while i < end {
                        match b.get(i) {
                            Some(b'"') => break,
                            Some(b'\\') => {
                                if let Some(c) = src.get(i + 1..).and_then(|r| r.chars().next()) {
                                    text.push(c);
                                    i += 1 + c.len_utf8();
                                } else {
                                    i += 1;
                                }
                            }
                            _ => match src.get(i..).and_then(|r| r.chars().next()) {
                                Some(c) => {
                                    text.push(c);
                                    i += c.len_utf8();
                                }
                                None => i += 1,
                            },
                        }
                    }
                    if i >= end {
                        return None;
                    }
                    i += 1;
                    words.push(Word {
                        text,
                        span: s..i,
                        quoted: true,
                    });
                }
                _ => return None,
            }
            if words.len() > 4096 {
                return None;
            }
        }
    }

    pub(super) fn shell_view(src: &str) -> View {
        let mut keep = vec![false; src.len()];
        let mut joined = vec![false; src.len()];
        let mut extra = Vec::new();
        let esc = escape_char(src);
        let ls = lines(src);
        let mut k = 0;
        let mut join: Vec<(usize, usize)> = Vec::new();
        while let Some(&(ls0, le0)) = ls.get(k) {
            k += 1;
            let line = src.get(ls0..le0).unwrap_or("");
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            // The instruction's physical lines: continued while a line ends with the escape
            // character; comment and empty lines inside are dropped by Docker.
            let mut parts = vec![(ls0, le0)];
            let mut last = line;
            while last.trim_end().as_bytes().last() == Some(&esc) {
                let Some(&(s, e)) = ls.get(k) else { break };
                k += 1;
                let l = src.get(s..e).unwrap_or("");
                let lt = l.trim_start();
                if lt.starts_with('#') || lt.is_empty() {
                    // Joined away: the line and its break become spaces.
                    join.push((s, e + line_break_len(src, e)));
                    continue;
                }
                parts.push((s, e));
                last = l;
            }
            let indent = line.len() - t.len();
            let kw_end = t.find(char::is_whitespace).unwrap_or(t.len());
            let kw = t.get(..kw_end).unwrap_or("").to_ascii_uppercase();
            let mut body_start = ls0 + indent + kw_end;
            let inst_end = parts.last().map_or(le0, |p| p.1);
            let skip_ws = |mut i: usize| {
                while matches!(src.as_bytes().get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                i
            };
            body_start = skip_ws(body_start);
            match kw.as_str() {
                "RUN" | "CMD" | "ENTRYPOINT" | "ENV" | "ARG" => {}
                _ => continue,
            }
            if esc != b'\\' && kw != "ENV" && kw != "ARG" {
                continue;
            }
            if kw == "RUN" {
                // `RUN --mount=… --network=… cmd`
                while src.get(body_start..).is_some_and(|r| r.starts_with("--")) {
                    let e = src
                        .get(body_start..inst_end)
                        .and_then(|r| r.find(char::is_whitespace))
                        .map_or(inst_end, |p| body_start + p);
                    body_start = skip_ws(e);
                }
            }
            if matches!(kw.as_str(), "RUN" | "CMD" | "ENTRYPOINT")
                && let Some(words) = exec_form(src, body_start, inst_end.max(body_start))
            {
                let span = body_start..inst_end;
                let words = match words.first().map(|w| w.text.as_str()) {
                    // `["sh", "-c", "…"]`: the string is shell.
                    Some("sh" | "/bin/sh" | "bash" | "/bin/bash")
                        if words
                            .get(1)
                            .is_some_and(|w| w.text.starts_with('-') && w.text.contains('c')) =>
                    {
                        if let Some(w) = words.get(2) {
                            let inner = w.span.start + 1..w.span.end.saturating_sub(1);
                            if !w.text.contains('\\') && src.get(inner.clone()).is_some() {
                                for b in keep.iter_mut().take(inner.end).skip(inner.start) {
                                    *b = true;
                                }
                            }
                        }
                        continue;
                    }
                    _ => words,
                };
                extra.push(Command {
                    assignments: Vec::new(),
                    words,
                    span,
                });
                continue;
            }
            if kw == "ENV" && is_legacy_env(src.get(body_start..inst_end).unwrap_or("")) {
                // `ENV NAME value`: one assignment of the rest of the line.
                let body = src.get(body_start..inst_end).unwrap_or("");
                if let Some((n, v)) = body.split_once(char::is_whitespace) {
                    let v = v.trim();
                    let v = v
                        .strip_prefix('"')
                        .and_then(|x| x.strip_suffix('"'))
                        .unwrap_or(v);
                    extra.push(Command {
                        assignments: vec![Word {
                            text: format!("{n}={v}"),
                            span: body_start..inst_end,
                            quoted: false,
                        }],
                        words: Vec::new(),
                        span: body_start..inst_end,
                    });
                }
                continue;
            }
            // Heredoc: `RUN <<EOF` … `EOF` is a script.
            if kw == "RUN"
                && let Some(rest) = src
                    .get(body_start..inst_end)
                    .and_then(|r| r.strip_prefix("<<"))
            {
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                let delim: String = rest
                    .trim_start_matches(['"', '\''])
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !delim.is_empty() {
                    while let Some(&(s, e)) = ls.get(k) {
                        k += 1;
                        let l = src.get(s..e).unwrap_or("");
                        if l.trim() == delim {
                            break;
                        }
                        for b in keep.iter_mut().take(e).skip(s) {
                            *b = true;
                        }
                    }
                    continue;
                }
            }
            for (n, &(s, e)) in parts.iter().enumerate() {
                let from = if n == 0 { body_start } else { s };
                // The line break after a continued line stays (CRLF included).
                let to = if n + 1 < parts.len() {
                    e + line_break_len(src, e)
                } else {
                    e
                };
                for b in keep.iter_mut().take(to).skip(from) {
                    *b = true;
                }
            }
            for &(s, e) in &join {
                for b in joined.iter_mut().take(e).skip(s) {
                    *b = true;
                }
            }
            join.clear();
        }
        let bytes: Vec<u8> = src
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                if keep.get(i).copied().unwrap_or(false) {
                    b
                } else if b == b'\n' && !joined.get(i).copied().unwrap_or(false) {
                    b'\n'
                } else {
                    b' '
                }
            })
            .collect();
        View {
            text: String::from_utf8(bytes).unwrap_or_default(),
            extra,
        }
    }

    fn is_legacy_env(body: &str) -> bool {
        let first = body.split_whitespace().next().unwrap_or("");
        !first.contains('=') && body.split_whitespace().nth(1).is_some()
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
        let src = "RUN_OPTS := --rm \\\n  --privileged\nSOCK ?= /var/run/docker.sock\n\nit:\n\tdocker run $(RUN_OPTS) -v $(SOCK):$(SOCK) img\n\tdocker run $(RUN_OPTS) img2\n";
        let got: Vec<(FactKind, usize)> = analyze_makefile(src)
            .facts
            .iter()
            .map(|f| (f.kind.clone(), line_of(src, f.span.start)))
            .collect();
        assert_eq!(got, [(PRIV, 2), (FactKind::SocketMount, 6)]);
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
    fn variables_hold_flags_reported_once_at_the_definition() {
        let src = "OPTS=\"--rm --privileged -v /var/run/docker.sock:/var/run/docker.sock\"\ndocker run $OPTS alpine true\ndocker run ${OPTS} busybox true\n";
        assert_eq!(
            facts(src),
            [(PRIV, 1), (FactKind::SocketMount, 1)],
            "one fact per flag, at its definition"
        );
        let a = analyze_script(src);
        assert_eq!(src.get(a.facts[0].span.clone()), Some("--privileged"));
        // Multi-line value with continuations, exported.
        let src = "export RUN_FLAGS=\"--rm \\\n  --privileged \\\n  --security-opt seccomp=unconfined\"\ndocker run $RUN_FLAGS img\n";
        assert_eq!(
            facts(src),
            [
                (PRIV, 2),
                (
                    FactKind::Unconfined {
                        what: "seccomp".into()
                    },
                    3
                )
            ]
        );
        // A variable never used by a docker command is not a finding.
        assert!(facts("OPTS=\"--privileged\"\necho $OPTS\n").is_empty());
        // A later reassignment wins for later uses.
        assert!(facts("O=--privileged\nO=--rm\ndocker run $O img\n").is_empty());
    }

    #[test]
    fn arrays_and_appends() {
        let src = "args=(--rm)\nif [ -n \"$CI\" ]; then\n  args+=(--privileged)\n  args+=(\"-v\" \"/var/run/docker.sock:/var/run/docker.sock\")\nfi\ndocker run \"${args[@]}\" docker:dind\n";
        assert_eq!(facts(src), [(PRIV_D, 3), (FactKind::SocketMount, 4)]);
        let src = "declare -a A=(--cap-add SYS_ADMIN)\ndocker run ${A[*]} img\n";
        assert_eq!(
            facts(src),
            [(
                FactKind::CapAdd {
                    cap: "SYS_ADMIN".into()
                },
                1
            )]
        );
        let src = "SOCK=/var/run/docker.sock\ndocker run -v $SOCK:$SOCK img\n";
        assert_eq!(facts(src), [(FactKind::SocketMount, 2)]);
    }

    #[test]
    fn docker_through_a_variable() {
        let src = "DOCKER=\"sudo docker\"\n$DOCKER run --privileged img\n";
        assert_eq!(facts(src), [(PRIV, 2)]);
        assert_eq!(facts("${DOCKER_CMD} run --privileged img\n"), [(PRIV, 1)]);
        assert_eq!(
            facts("${DOCKER:-docker} run -v /var/run/docker.sock:/s img\n"),
            [(FactKind::SocketMount, 1)]
        );
        assert_eq!(
            facts("D=$(command -v docker)\n$D run --privileged img\n"),
            [(PRIV, 2)]
        );
        assert_eq!(
            uses("DOCKER=/usr/bin/docker\n$DOCKER build -t x .\n$DOCKER push x\n"),
            [DockerUse::Build, DockerUse::Push]
        );
        assert!(facts("$TOOL run --privileged img\n").is_empty());
    }

    #[test]
    fn wrapper_functions_take_the_call_site_flags() {
        let src = "run_in_docker() {\n  docker run --rm -w /src \"$@\"\n}\nrun_in_docker --privileged alpine make\nrun_in_docker -v /var/run/docker.sock:/var/run/docker.sock alpine sh\n";
        assert_eq!(facts(src), [(PRIV, 4), (FactKind::SocketMount, 5)]);
        // The flag in the body, the daemon image at the call: privileged-dind, once.
        let src = "function start_daemon {\n  docker run -d --privileged --name dind \"$1\"\n}\nstart_daemon docker:27-dind\nstart_daemon docker:27-dind\n";
        assert_eq!(facts(src), [(PRIV_D, 2)]);
        // A wrapper calling a wrapper.
        let src = "d() { docker run \"$@\"; }\npriv() { d --privileged \"$@\"; }\npriv img\n";
        assert_eq!(facts(src), [(PRIV, 2)]);
        assert!(facts("f() { docker run \"$@\"; }\nf --rm img\n").is_empty());
    }

    #[test]
    fn runner_registration_in_a_container() {
        let src = "docker run --rm -v /srv/gitlab-runner/config:/etc/gitlab-runner \\\n  gitlab/gitlab-runner:alpine register \\\n  --non-interactive \\\n  --executor docker \\\n  --docker-privileged \\\n  --docker-volumes /var/run/docker.sock:/var/run/docker.sock \\\n  --docker-volumes /cache\n";
        assert_eq!(
            facts(src),
            [(FactKind::RunnerPrivileged, 5), (FactKind::SocketMount, 6)]
        );
        let src = "REG=\"--docker-privileged --docker-volumes=/var/run/docker.sock:/var/run/docker.sock\"\ngitlab-runner register --non-interactive $REG\n";
        assert_eq!(
            facts(src),
            [(FactKind::RunnerPrivileged, 1), (FactKind::SocketMount, 1)]
        );
        let src = "docker run -d -e DOCKER_PRIVILEGED=true -e REGISTRATION_TOKEN=x gitlab/gitlab-runner register -n\n";
        assert_eq!(facts(src), [(FactKind::RunnerPrivileged, 1)]);
    }

    #[test]
    fn daemon_in_entrypoints() {
        let src = "#!/bin/sh\nset -e\nif [ \"$1\" = dockerd ]; then\n  exec dockerd \\\n    --host=unix:///var/run/docker.sock \\\n    --host=tcp://0.0.0.0:2375 \\\n    --tls=false \"$@\"\nfi\n";
        assert_eq!(
            facts(src),
            [(FactKind::PlaintextDaemon, 6), (FactKind::TlsDisabled, 7)]
        );
        assert_eq!(
            facts("nohup dockerd -H tcp://0.0.0.0:4243 &\n"),
            [(FactKind::PlaintextDaemon, 1)]
        );
        assert!(
            facts("dockerd -H tcp://0.0.0.0:2376 --tlsverify --tlscacert=/c/ca.pem\n").is_empty()
        );
        let src = "if [ \"${1#-}\" != \"$1\" ]; then\n\tset -- dockerd \\\n\t\t--host=unix:///var/run/docker.sock \\\n\t\t--host=tcp://0.0.0.0:2375 \\\n\t\t\"$@\"\nfi\nexec \"$@\"\n";
        assert_eq!(facts(src), [(FactKind::PlaintextDaemon, 4)]);
        assert_eq!(
            facts("socat -d TCP-LISTEN:2375,fork,reuseaddr UNIX-CONNECT:/var/run/docker.sock &\n"),
            [(FactKind::PlaintextDaemon, 1)]
        );
        assert!(
            facts("socat OPENSSL-LISTEN:2376,cert=s.pem UNIX-CONNECT:/var/run/docker.sock\n")
                .is_empty()
        );
        assert!(facts("socat TCP-LISTEN:8080,fork TCP:app:80\n").is_empty());
        let src = "alias dr=\"docker run -it \\\n  --privileged \\\n  -v ${HOME}:/w\"\n";
        assert_eq!(facts(src), [(PRIV, 2)]);
    }

    #[test]
    fn client_tls_decides_plaintext() {
        let p = FactKind::PlaintextDaemon;
        // TLS on, port 2375: not plaintext.
        assert!(
            facts("export DOCKER_HOST=tcp://build:2375\nexport DOCKER_TLS_VERIFY=1\ndocker ps\n")
                .is_empty()
        );
        assert!(facts("docker --tlsverify -H tcp://build:2375 ps\n").is_empty());
        assert!(
            facts("docker run -e DOCKER_TLS_VERIFY=1 -e DOCKER_HOST=tcp://d:2375 img\n").is_empty()
        );
        // No TLS: any port.
        assert_eq!(
            facts("export DOCKER_HOST=tcp://build:4243\n"),
            [(p.clone(), 1)]
        );
        assert_eq!(facts("export DOCKER_HOST=tcp://build\n"), [(p.clone(), 1)]);
        assert_eq!(facts("docker -H tcp://build:4243 ps\n"), [(p.clone(), 1)]);
        // 2376 with TLS switched off is plaintext; 2376 alone is the TLS port.
        assert_eq!(
            facts("export DOCKER_TLS_VERIFY=\nexport DOCKER_HOST=tcp://d:2376\n"),
            [(p.clone(), 2)]
        );
        assert!(facts("export DOCKER_HOST=tcp://d:2376\n").is_empty());
        // The CLI turns verification on for any non-empty value.
        assert!(facts("export DOCKER_TLS_VERIFY=no\nexport DOCKER_HOST=tcp://d:2376\n").is_empty());
        assert!(facts("export DOCKER_HOST=tcp://d:$PORT\n").is_empty());
        // docker context
        assert_eq!(
            facts("docker context create remote --docker host=tcp://10.0.0.5:2375\n"),
            [(p.clone(), 1)]
        );
        assert_eq!(
            facts("docker context create remote \\\n  --docker \"host=tcp://builder:2376\"\n"),
            [(p.clone(), 2)]
        );
        assert!(facts("docker context create r --docker \"host=tcp://b:2376,ca=/c/ca.pem,cert=/c/cert.pem,key=/c/key.pem\"\n").is_empty());
        assert!(facts("docker context create r --docker host=ssh://me@b\n").is_empty());
    }

    fn env_facts(src: &str) -> Vec<(FactKind, usize)> {
        analyze_env_file(src)
            .facts
            .iter()
            .map(|f| (f.kind.clone(), line_of(src, f.span.start)))
            .collect()
    }

    #[test]
    fn env_files() {
        let p = FactKind::PlaintextDaemon;
        assert_eq!(
            env_facts("# remote builder\nDOCKER_HOST=tcp://10.1.2.3:2375\n"),
            [(p.clone(), 2)]
        );
        assert_eq!(
            env_facts("export DOCKER_HOST=\"tcp://b:2375\"\n"),
            [(p.clone(), 1)]
        );
        assert!(
            env_facts("DOCKER_HOST=tcp://b:2375\nDOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=/certs\n")
                .is_empty()
        );
        assert!(env_facts("PASSWORD=it's\nDOCKER_HOST=unix:///var/run/docker.sock\n").is_empty());
        assert_eq!(
            env_facts("PASSWORD=it's\nDOCKER_HOST=tcp://x:2375\n"),
            [(p, 2)]
        );
        let runner = "CI_SERVER_URL=https://gitlab.example.com\nREGISTRATION_TOKEN=changeme\nRUNNER_EXECUTOR=docker\nDOCKER_IMAGE=alpine:3\nDOCKER_PRIVILEGED=true\nDOCKER_VOLUMES=/var/run/docker.sock:/var/run/docker.sock\n";
        assert_eq!(
            env_facts(runner),
            [(FactKind::RunnerPrivileged, 5), (FactKind::SocketMount, 6)]
        );
        // Not a runner registration: the same names mean nothing.
        assert!(env_facts("APP=web\nDOCKER_PRIVILEGED=true\n").is_empty());
        assert!(env_facts("RUNNER_EXECUTOR=docker\nDOCKER_PRIVILEGED=false\n").is_empty());
    }

    fn df_facts(src: &str) -> Vec<(FactKind, usize)> {
        analyze_dockerfile(src)
            .facts
            .iter()
            .map(|f| (f.kind.clone(), line_of(src, f.span.start)))
            .collect()
    }

    #[test]
    fn dockerfiles() {
        let src = "FROM gitlab/gitlab-runner:alpine\nARG TOKEN\n# register at build time\nRUN gitlab-runner register \\\n    --non-interactive \\\n    # privileged for docker builds\n    --docker-privileged \\\n\n    --docker-volumes /var/run/docker.sock:/var/run/docker.sock \\\n    --url https://gitlab.example.com\nCMD [\"run\"]\n";
        assert_eq!(
            df_facts(src),
            [(FactKind::RunnerPrivileged, 7), (FactKind::SocketMount, 9)]
        );
        let src = "FROM docker:27-dind\r\nENV DOCKER_TLS_CERTDIR=\"\"\r\nENV DOCKER_HOST tcp://localhost:2375\r\nENTRYPOINT [\"dockerd\", \"-H\", \"tcp://0.0.0.0:2375\", \"--tls=false\"]\r\n";
        assert_eq!(
            df_facts(src),
            [
                (FactKind::TlsDisabled, 2),
                (FactKind::PlaintextDaemon, 3),
                (FactKind::PlaintextDaemon, 4),
                (FactKind::TlsDisabled, 4)
            ]
        );
        let src = "FROM alpine\nRUN <<EOF\napk add docker\ndocker run --privileged img\nEOF\nCMD dockerd -H unix:///var/run/docker.sock\nLABEL x=\"docker run --privileged\"\nRUN [\"sh\", \"-c\", \"dockerd -H tcp://0.0.0.0:2375\"]\n";
        assert_eq!(df_facts(src), [(PRIV, 4), (FactKind::PlaintextDaemon, 8)]);
        assert!(df_facts("FROM docker:dind\nRUN echo --privileged\nEXPOSE 2376\n").is_empty());
        for junk in [
            "",
            "RUN",
            "RUN \\",
            "ENV",
            "CMD [\"a",
            "RUN <<",
            "# escape=`\nRUN docker run --privileged x `\n  y",
            "ENV A \"",
            "RUN [\"sh\",\"-c\",\"é\\\"\"]",
        ] {
            let _ = analyze_dockerfile(junk);
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
