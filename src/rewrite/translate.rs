//! Command translation: `docker build/login/tag/push` → `buildctl-daemonless.sh build` or
//! `/kaniko/executor`, with every flag mapping of `docker buildx build` (docs.docker.com/reference/cli/docker/buildx/build/); unmappable flags are reported.
//!
//! Pure functions over the records of [`crate::source::docker_cmd`]: a build becomes one
//! builder invocation (https://docs.docker.com/reference/cli/docker/buildx/build/), `docker tag`/`docker push` of a built image fold into that
//! invocation's destinations, and `docker login` becomes a registry `config.json` entry
//! (Docker Hub under `https://index.docker.io/v1/`). Anything without a safe mapping is
//! returned in [`Translation::unmapped`] so the caller can leave a manual task; flags that are
//! dropped on purpose are explained in [`Translation::notes`]. Values are re-quoted for a POSIX
//! shell; a value that cannot be re-quoted faithfully is reported as unmapped, never guessed.

use std::ops::Range;

use crate::source::docker_cmd::{DockerBuild, DockerLogin, DockerPush, DockerTag};
use crate::source::shell;
use crate::source::text;

pub use crate::targets::Builder;

impl Builder {
    /// Directory of the registry `config.json` the builder reads.
    pub fn docker_config_dir(self) -> &'static str {
        match self {
            Builder::Buildkit => "~/.docker",
            Builder::Kaniko => "/kaniko/.docker",
        }
    }
}

/// The key Docker Hub credentials must use in `config.json` (https://github.com/moby/buildkit#imageregistry, pitfall 17).
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A translated command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Translation {
    /// The program and its arguments: the first part is the program (with a sub-command when
    /// there is one), each further part one option with its value, already shell-quoted.
    pub parts: Vec<String>,
    /// Flags or values with no faithful equivalent, as written (the caller adds manual tasks).
    pub unmapped: Vec<String>,
    /// What changed on purpose (flags dropped because the builder has no need for them).
    pub notes: Vec<String>,
    /// The command cannot run as translated (no usable context or Dockerfile): keep the
    /// original and hand it to a person.
    pub incomplete: bool,
}

impl Translation {
    /// The command over several lines joined by ` \` continuations, options indented by two.
    pub fn multiline(&self) -> String {
        self.parts.join(" \\\n  ")
    }

    /// The command on one line.
    pub fn one_line(&self) -> String {
        self.parts.join(" ")
    }
}

/// One `docker build` to translate.
#[derive(Clone, Copy, Debug)]
pub struct BuildInput<'a> {
    /// The parsed build.
    pub build: &'a DockerBuild,
    /// The script text `build.span` points into (flags the parser does not keep are read from it).
    pub script: &'a str,
    /// Image references to push, in order (empty: build only).
    pub push: &'a [String],
    /// Directory relative paths are resolved against for kaniko (e.g. `${CI_PROJECT_DIR}`);
    /// `None` keeps them relative.
    pub workdir: Option<&'a str>,
}

/// Quote a value for a POSIX shell: bare when only safe characters, single quotes when nothing
/// must expand, double quotes when it holds `$` expansions. `None` when it cannot be re-quoted
/// faithfully (a `"` or `\` next to an expansion).
pub fn sh_quote(s: &str) -> Option<String> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c))
    {
        return Some(s.to_string());
    }
    if !s.contains(['$', '`']) {
        if s.contains('\'') {
            if s.contains(['"', '\\']) {
                return None;
            }
            return Some(format!("\"{s}\""));
        }
        return Some(format!("'{s}'"));
    }
    if s.contains(['"', '\\']) {
        return None;
    }
    Some(format!("\"{s}\""))
}

/// Quote a value that contains literal `"` (CSV quoting of `--output`) but whose own parts are
/// safe inside double quotes.
fn sh_quote_csv(s: &str) -> Option<String> {
    if s.contains('\\') {
        return None;
    }
    if !s.contains(['$', '`', '\'']) {
        return Some(format!("'{s}'"));
    }
    Some(format!("\"{}\"", s.replace('"', "\\\"")))
}

/// An image reference in a comparable form: `${X}` → `$X`, no surrounding quotes, `:latest`
/// added when there is no tag or digest.
pub fn normalise_ref(r: &str) -> String {
    let r = r.trim().trim_matches(|c| c == '"' || c == '\'');
    let mut out = String::with_capacity(r.len());
    let mut rest = r;
    while let Some((lit, after)) = rest.split_once("${") {
        out.push_str(lit);
        match after.split_once('}') {
            Some((name, tail))
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push('$');
                out.push_str(name);
                rest = tail;
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let last = out.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !last.contains('@') && !out.is_empty() {
        out.push_str(":latest");
    }
    out
}

/// The repository part of a reference (tag and digest removed).
fn repo_of(r: &str) -> String {
    let n = normalise_ref(r);
    let n = n.split('@').next().unwrap_or("").to_string();
    match n.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
        _ => n,
    }
}

/// The flag words of a `docker build` command, re-read from the script (the parsed record keeps
/// only the flags it knows).
#[derive(Clone, Debug, PartialEq, Eq)]
struct RawFlag {
    name: String,
    value: Option<String>,
    written: String,
}

/// Flags the [`DockerBuild`] record carries; everything else is re-read.
const CARRIED: &[&str] = &[
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
    "--push",
    "--load",
    "--no-cache",
    "--pull",
];

/// Words of the command at `span` in `script`, from just after the `build` sub-command.
fn build_words(script: &str, span: &Range<usize>) -> Vec<shell::Word> {
    let Some(text) = script.get(span.clone()) else {
        return Vec::new();
    };
    let words = shell::split_words(text);
    let mut seen_docker = false;
    let mut prev = "";
    for (i, w) in words.iter().enumerate() {
        let t = w.text.as_str();
        let base = t.rsplit('/').next().unwrap_or(t);
        if base == "docker" || base == "docker.exe" {
            seen_docker = true;
        } else if seen_docker && (t == "build" || (t == "b" && prev == "buildx")) {
            return words.get(i + 1..).map(<[_]>::to_vec).unwrap_or_default();
        }
        prev = t;
    }
    Vec::new()
}

fn raw_flags(script: &str, span: &Range<usize>) -> Vec<RawFlag> {
    let words = build_words(script, span);
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        i += 1;
        if t == "--" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((f, v)) => (format!("--{f}"), Some(v.to_string())),
                None => (t.to_string(), None),
            };
            let value = if attached.is_some() {
                attached
            } else if crate::source::docker_cmd::build_value_flags().contains(&name.as_str()) {
                let v = words.get(i).map(|v| v.text.clone());
                i += 1;
                v
            } else {
                None
            };
            out.push(RawFlag {
                name,
                value,
                written: t.to_string(),
            });
            continue;
        }
        if let Some(body) = t.strip_prefix('-')
            && !body.is_empty()
        {
            for (ci, ch) in body.char_indices() {
                if ci >= crate::source::docker_cmd::MAX_SHORT_CLUSTER {
                    // Not a real cluster: one flag nobody knows, so the translation refuses.
                    out.push(RawFlag {
                        name: t.to_string(),
                        value: None,
                        written: t.to_string(),
                    });
                    break;
                }
                let name = crate::source::docker_cmd::build_short_flags()
                    .iter()
                    .find(|(c, _)| *c == ch)
                    .map_or_else(|| format!("-{ch}"), |(_, l)| (*l).to_string());
                if crate::source::docker_cmd::build_value_flags().contains(&name.as_str()) {
                    let rest = text::after(body, ci + ch.len_utf8());
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    let value = if rest.is_empty() {
                        let v = words.get(i).map(|v| v.text.clone());
                        i += 1;
                        v
                    } else {
                        Some(rest.to_string())
                    };
                    out.push(RawFlag {
                        name,
                        value,
                        written: t.to_string(),
                    });
                    break;
                }
                out.push(RawFlag {
                    name,
                    value: None,
                    written: t.to_string(),
                });
            }
        }
    }
    out
}

fn flag_text(f: &RawFlag) -> String {
    match &f.value {
        Some(v) if !f.written.contains('=') && f.written.starts_with("--") => {
            format!("{} {v}", f.written)
        }
        Some(v) if !f.written.starts_with("--") && f.written.len() == 2 => {
            format!("{} {v}", f.written)
        }
        _ => f.written.clone(),
    }
}

/// Whether a flag value is "false".
fn is_false(v: Option<&str>) -> bool {
    matches!(
        v.map(|s| s.trim().to_ascii_lowercase()).as_deref(),
        Some("false" | "0" | "no" | "off")
    )
}

/// The `key=value` parts of an `--output` value (buildx CSV); a value without `type=` is a
/// local directory (`-o ./out` is `type=local,dest=./out`), and `-` a tar stream on stdout.
fn output_parts(v: &str) -> Vec<(String, String)> {
    let v = v.trim();
    if v == "-" {
        return vec![("type".into(), "tar".into())];
    }
    if !v.contains('=') {
        return vec![("type".into(), "local".into()), ("dest".into(), v.into())];
    }
    v.split(',')
        .map(|kv| match kv.split_once('=') {
            Some((k, x)) => (k.trim().to_ascii_lowercase(), x.trim().to_string()),
            None => (kv.trim().to_ascii_lowercase(), String::new()),
        })
        .collect()
}

/// The value of `key` in parsed output parts.
fn part<'p>(parts: &'p [(String, String)], key: &str) -> Option<&'p str> {
    parts
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Whether an `--output` pushes an image or loads it (the record already has its names and
/// the push/load flag).
fn output_is_image(parts: &[(String, String)]) -> bool {
    matches!(
        part(parts, "type"),
        Some("registry" | "image" | "docker") | None
    ) && part(parts, "dest").is_none()
}

/// Image-output keys buildctl's image exporter takes as they are (moby/buildkit README,
/// "Output" → image/registry).
const IMAGE_OUTPUT_KEYS: &[&str] = &[
    "compression",
    "compression-level",
    "force-compression",
    "oci-mediatypes",
    "oci-artifact",
    "rewrite-timestamp",
    "registry.insecure",
    "push-by-digest",
    "unpack",
    "store",
    "dangling-name-prefix",
    "name-canonical",
    "buildinfo",
    "buildinfo-attrs",
];

/// `--shm-size` in bytes, the way buildx sends it (docker/go-units `RAMInBytes`: binary
/// multiples, an optional `i` and `b`, case-insensitive).
pub fn ram_in_bytes(v: &str) -> Option<u64> {
    let s = v.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let s = s.strip_suffix('i').unwrap_or(s);
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if "kmgtp".contains(c) => {
            let exp = "kmgtp".find(c).unwrap_or(0) as u32 + 1;
            (
                s.get(..i).unwrap_or("").trim_end(),
                1024u64.checked_pow(exp)?,
            )
        }
        _ => (s, 1),
    };
    if num.is_empty()
        || !num.chars().all(|c| c.is_ascii_digit() || c == '.')
        || num.starts_with('.')
        || num.ends_with('.')
    {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return None;
    }
    Some(bytes as u64)
}

/// A kaniko `--cache-repo`: a repository, never a tag or digest (kaniko tags cache layers
/// itself).
pub fn cache_repo(r: &str) -> String {
    let r = r.trim();
    let r = r.split('@').next().unwrap_or(r);
    let slash = r.rfind('/').map_or(0, |i| i + 1);
    match r.get(slash..).and_then(|last| last.rfind(':')) {
        Some(c) if !r.get(slash + c + 1..).unwrap_or("").contains('}') => {
            r.get(..slash + c).unwrap_or(r).to_string()
        }
        _ => r.to_string(),
    }
}

struct Acc {
    parts: Vec<String>,
    unmapped: Vec<String>,
    notes: Vec<String>,
    incomplete: bool,
}

impl Acc {
    /// Push an option whose value must be quoted; unmapped when it cannot be.
    fn opt(&mut self, flag: &str, value: &str, written: &str) {
        match sh_quote(value) {
            Some(q) => self.parts.push(format!("{flag} {q}")),
            None => self.unmapped.push(written.to_string()),
        }
    }
    fn note(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }
    fn unmapped(&mut self, w: String) {
        if !self.unmapped.contains(&w) {
            self.unmapped.push(w);
        }
    }
}

/// A context that is not a local directory (git or HTTP URL, stdin).
fn remote_context(ctx: &str) -> bool {
    ctx == "-"
        || ctx.starts_with("http://")
        || ctx.starts_with("https://")
        || ctx.starts_with("git@")
        || ctx.starts_with("git://")
        || ctx.starts_with("github.com/")
}

/// `dirname` and `basename` of a Dockerfile path without expansions.
fn split_path(f: &str) -> (String, String) {
    let f = f.trim_end_matches('/');
    match f.rsplit_once('/') {
        Some(("", base)) => ("/".to_string(), base.to_string()),
        Some((dir, base)) => (dir.to_string(), base.to_string()),
        None => (".".to_string(), f.to_string()),
    }
}

/// Translate one `docker build` for a builder.
pub fn build(builder: Builder, input: &BuildInput<'_>) -> Translation {
    match builder {
        Builder::Buildkit => buildkit(input),
        Builder::Kaniko => kaniko(input),
    }
}

fn buildkit(input: &BuildInput<'_>) -> Translation {
    let b = input.build;
    let mut a = Acc {
        parts: vec![
            "buildctl-daemonless.sh build".to_string(),
            "--frontend dockerfile.v0".to_string(),
        ],
        unmapped: Vec::new(),
        notes: Vec::new(),
        incomplete: false,
    };
    let ctx = b.context.clone().unwrap_or_default();
    if ctx.is_empty() || remote_context(&ctx) {
        a.incomplete = true;
        a.unmapped(if ctx.is_empty() {
            "a build without a context directory".to_string()
        } else {
            format!("context {ctx}")
        });
    } else {
        a.opt("--local", &format!("context={ctx}"), &ctx);
    }
    match b.file.as_deref() {
        None => a.opt("--local", &format!("dockerfile={ctx}"), &ctx),
        Some("-") => {
            a.incomplete = true;
            a.unmapped("--file - (Dockerfile on stdin)".to_string())
        }
        Some(f) if f.contains(['$', '`']) => match sh_quote(f) {
            Some(q) if q.starts_with('"') => {
                a.parts
                    .push(format!("--local dockerfile=\"$(dirname {q})\""));
                a.parts.push(format!("--opt filename=\"$(basename {q})\""));
            }
            _ => {
                a.incomplete = true;
                a.unmapped(format!("--file {f}"))
            }
        },
        Some(f) => {
            let (dir, name) = split_path(f);
            a.opt("--local", &format!("dockerfile={dir}"), f);
            if name != "Dockerfile" {
                a.opt("--opt", &format!("filename={name}"), f);
            }
        }
    }
    if let Some(t) = &b.target {
        a.opt("--opt", &format!("target={t}"), &format!("--target {t}"));
    }
    let mut inline_cache = false;
    for arg in &b.build_args {
        match arg.split_once('=') {
            Some(("BUILDKIT_INLINE_CACHE", v)) if !is_false(Some(v)) => {
                inline_cache = true;
                a.note(
                    "`--build-arg BUILDKIT_INLINE_CACHE=1` became `--export-cache type=inline` (buildctl ignores the build-arg)".into(),
                );
            }
            Some((k, v)) => a.opt(
                "--opt",
                &format!("build-arg:{k}={v}"),
                &format!("--build-arg {arg}"),
            ),
            None => {
                let valid =
                    !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if valid {
                    a.parts.push(format!("--opt \"build-arg:{arg}=${arg}\""));
                    a.note(format!(
                        "`--build-arg {arg}` takes its value from the environment; buildctl needs it spelled out, so it became `build-arg:{arg}=${arg}`"
                    ));
                } else {
                    a.unmapped(format!("--build-arg {arg}"));
                }
            }
        }
    }
    if !b.platforms.is_empty() {
        let p = b.platforms.join(",");
        a.opt(
            "--opt",
            &format!("platform={p}"),
            &format!("--platform {p}"),
        );
        if b.platforms.len() > 1 {
            a.note("several platforms: foreign-architecture RUN steps need QEMU registered in the runner host's binfmt_misc (a privileged one-off on the host)".into());
        }
    }
    for l in &b.labels {
        a.opt("--opt", &format!("label:{l}"), &format!("--label {l}"));
    }
    if b.no_cache {
        a.parts.push("--no-cache".into());
    }
    if b.pull {
        a.parts.push("--opt image-resolve-mode=pull".into());
    }
    for c in &b.cache_from {
        let v = if c.contains("type=") {
            c.clone()
        } else {
            format!("type=registry,ref={c}")
        };
        a.opt("--import-cache", &v, &format!("--cache-from {c}"));
    }
    let mut exported_inline = false;
    for c in &b.cache_to {
        let v = if c.contains("type=") {
            c.clone()
        } else {
            format!("type=registry,ref={c}")
        };
        exported_inline |= v.contains("type=inline");
        a.opt("--export-cache", &v, &format!("--cache-to {c}"));
    }
    if inline_cache && !exported_inline {
        a.parts.push("--export-cache type=inline".into());
    }
    for s in &b.secrets {
        a.opt("--secret", s, &format!("--secret {s}"));
    }
    for s in &b.ssh {
        a.opt("--ssh", s, &format!("--ssh {s}"));
    }
    match b.network.as_deref() {
        None | Some("default") => {}
        Some("host") => a.note(
            "`--network host` dropped: rootless BuildKit always runs RUN steps in host network mode (inside RootlessKit's namespace)".into(),
        ),
        Some("none") => a.parts.push("--opt force-network-mode=none".into()),
        Some(n) => a.unmapped(format!("--network {n}")),
    }
    let mut add_hosts = Vec::new();
    let mut extra_outputs = Vec::new();
    let mut image_opts: Vec<String> = Vec::new();
    let mut ulimits: Vec<String> = Vec::new();
    for f in raw_flags(input.script, &b.span) {
        if CARRIED.contains(&f.name.as_str()) {
            continue;
        }
        let v = f.value.clone().unwrap_or_default();
        match f.name.as_str() {
            "--output" => {
                let parts = output_parts(&v);
                if output_is_image(&parts) {
                    if part(&parts, "type") == Some("docker") && input.push.is_empty() {
                        // `--load`: the record has it; there is no daemon to load into.
                        continue;
                    }
                    for (k, x) in &parts {
                        match k.as_str() {
                            "name" if input.push.is_empty() => a.unmapped(format!(
                                "{} (name= without a tag to push)",
                                flag_text(&f)
                            )),
                            "type" | "name" | "push" => {}
                            k if IMAGE_OUTPUT_KEYS.contains(&k) || k.starts_with("annotation") => {
                                let kv = format!("{k}={x}");
                                if !image_opts.contains(&kv) {
                                    image_opts.push(kv);
                                }
                            }
                            _ => a.unmapped(format!("{} ({k}=)", flag_text(&f))),
                        }
                    }
                } else {
                    match part(&parts, "type") {
                        Some("local" | "tar" | "oci" | "docker")
                            if part(&parts, "dest").is_some() =>
                        {
                            let csv: Vec<String> =
                                parts.iter().map(|(k, x)| format!("{k}={x}")).collect();
                            extra_outputs.push((csv.join(","), flag_text(&f)));
                        }
                        _ => a.unmapped(flag_text(&f)),
                    }
                }
            }
            "--add-host" => match v.split_once(':') {
                Some((h, ip)) if !h.is_empty() && !ip.is_empty() => {
                    add_hosts.push(format!("{h}={ip}"))
                }
                _ => a.unmapped(flag_text(&f)),
            },
            "--iidfile" => {
                a.opt("--metadata-file", &v, &flag_text(&f));
                a.note(format!(
                    "`--iidfile {v}` became `--metadata-file {v}`: the file is now JSON with the digest under `containerimage.digest`"
                ));
            }
            "--metadata-file" => a.opt("--metadata-file", &v, &flag_text(&f)),
            "--shm-size" => match ram_in_bytes(&v) {
                Some(n) => a.parts.push(format!("--opt shm-size={n}")),
                None => a.unmapped(flag_text(&f)),
            },
            "--ulimit" => {
                if v.is_empty() || v.contains(['$', '`', ',', '"', '\'', ' ']) {
                    a.unmapped(flag_text(&f));
                } else if !ulimits.contains(&v) {
                    ulimits.push(v);
                }
            }
            "--allow" => {
                a.opt("--allow", &v, &flag_text(&f));
                a.note(format!(
                    "`--allow {v}` needs buildkitd started with `--allow-insecure-entitlement {v}` (BUILDKITD_FLAGS)"
                ));
            }
            "--cgroup-parent" => a.opt("--opt", &format!("cgroup-parent={v}"), &flag_text(&f)),
            "--no-cache-filter" => a.opt("--opt", &format!("no-cache={v}"), &flag_text(&f)),
            "--quiet" => {
                a.parts.push("--progress plain".into());
                a.note("`--quiet` has no buildctl equivalent: progress is printed plainly and no image ID is printed".into());
            }
            "--progress" if v == "quiet" => a.parts.push("--progress plain".into()),
            "--progress" => a.opt("--progress", &v, &flag_text(&f)),
            "--rm"
            | "--force-rm"
            | "--builder"
            | "--disable-content-trust"
            | "--compress"
            | "--debug"
            | "--isolation" => a.note(format!(
                "`{}` dropped: it has no meaning for buildctl",
                flag_text(&f)
            )),
            "--provenance" | "--sbom" if is_false(f.value.as_deref()) => a.note(format!(
                "`{}` dropped: buildctl adds no attestations unless asked",
                flag_text(&f)
            )),
            _ => a.unmapped(flag_text(&f)),
        }
    }
    if !ulimits.is_empty() {
        // buildx sends every --ulimit in one `ulimit` attribute, comma-separated.
        a.parts.push(format!("--opt ulimit={}", ulimits.join(",")));
    }
    for u in &b.unknown_flags {
        let base = u.split('=').next().unwrap_or(u);
        if !a
            .unmapped
            .iter()
            .any(|x| x.split([' ', '=']).next() == Some(base))
        {
            a.unmapped(u.clone());
        }
    }
    if !add_hosts.is_empty() {
        let v = format!("add-hosts={}", add_hosts.join(","));
        a.opt("--opt", &v, &v);
    }
    if !input.push.is_empty() {
        let names: Vec<String> = input.push.iter().map(|r| r.trim().to_string()).collect();
        if names.iter().any(|n| n.contains(['"', '\\', ','])) {
            a.unmapped(format!("image names {}", names.join(" ")));
        } else {
            let name = if names.len() == 1 {
                format!("name={}", names.join(","))
            } else {
                format!("\"name={}\"", names.join(","))
            };
            let mut out = format!("type=image,{name},push=true");
            for o in &image_opts {
                out.push(',');
                out.push_str(o);
            }
            match sh_quote_csv(&out) {
                Some(q) if names.len() > 1 => a.parts.push(format!("--output {q}")),
                _ => a.opt("--output", &out, &names.join(" ")),
            }
        }
    } else {
        if b.load {
            a.note("the image is only built (nothing pushes it): `--load` has no daemon to load into, so the result stays in the build cache".into());
        }
        for o in &image_opts {
            a.unmapped(format!("--output {o} (no image is pushed)"));
        }
    }
    for (v, written) in extra_outputs {
        a.opt("--output", &v, &written);
    }
    Translation {
        parts: a.parts,
        unmapped: a.unmapped,
        notes: a.notes,
        incomplete: a.incomplete,
    }
}

/// A path resolved against `workdir` for kaniko (`.` → `workdir`).
fn absolute(path: &str, workdir: Option<&str>) -> String {
    let Some(w) = workdir else {
        return path.to_string();
    };
    if path.starts_with('/') || path.starts_with('$') || path.starts_with('~') {
        return path.to_string();
    }
    let p = path.trim_start_matches("./").trim_end_matches('/');
    if p.is_empty() || p == "." {
        w.to_string()
    } else {
        format!("{w}/{p}")
    }
}

fn kaniko(input: &BuildInput<'_>) -> Translation {
    let b = input.build;
    let mut a = Acc {
        parts: vec!["/kaniko/executor".to_string()],
        unmapped: Vec::new(),
        notes: Vec::new(),
        incomplete: false,
    };
    let ctx = b.context.clone().unwrap_or_default();
    if ctx.is_empty() || ctx == "-" || ctx.starts_with("http") || ctx.starts_with("git@") {
        a.incomplete = true;
        a.unmapped(if ctx.is_empty() {
            "a build without a context directory".to_string()
        } else {
            format!("context {ctx}")
        });
    } else if let Some(g) = ctx.strip_prefix("git://") {
        a.opt("--context", &format!("git://{g}"), &ctx);
    } else {
        let abs = absolute(&ctx, input.workdir);
        a.opt("--context", &abs, &ctx);
    }
    match b.file.as_deref() {
        Some("-") => {
            a.incomplete = true;
            a.unmapped("--file - (Dockerfile on stdin)".to_string())
        }
        Some(f) => a.opt("--dockerfile", &absolute(f, input.workdir), f),
        None if !ctx.is_empty() && !remote_context(&ctx) => {
            let d = absolute(&ctx, input.workdir);
            a.opt("--dockerfile", &format!("{d}/Dockerfile"), &ctx);
        }
        None => {}
    }
    for r in input.push {
        a.opt("--destination", r.trim(), r);
    }
    if input.push.is_empty() {
        a.parts.push("--no-push".into());
    }
    if let Some(t) = &b.target {
        a.opt("--target", t, &format!("--target {t}"));
    }
    for arg in &b.build_args {
        if arg.starts_with("BUILDKIT_INLINE_CACHE=") {
            a.note(
                "`--build-arg BUILDKIT_INLINE_CACHE=1` dropped: kaniko has no inline cache".into(),
            );
            continue;
        }
        a.opt("--build-arg", arg, &format!("--build-arg {arg}"));
    }
    match b.platforms.as_slice() {
        [] => {}
        [p] => {
            a.opt("--custom-platform", p, &format!("--platform {p}"));
            a.note(format!(
                "`--platform {p}` became `--custom-platform {p}`: kaniko only labels the image with that platform and pulls base images for it; it does not emulate, so RUN steps execute on the runner's own architecture"
            ));
        }
        ps => a.unmapped(format!(
            "--platform {} (kaniko builds one platform per run)",
            ps.join(",")
        )),
    }
    for l in &b.labels {
        a.opt("--label", l, &format!("--label {l}"));
    }
    let mut repos: Vec<String> = Vec::new();
    for c in b.cache_from.iter().chain(&b.cache_to) {
        let lc = c.to_ascii_lowercase();
        if lc.contains("type=inline") {
            a.note(
                "inline cache export dropped: kaniko keeps its layer cache in a cache repository"
                    .into(),
            );
            continue;
        }
        let r = if !c.contains("type=") {
            Some(c.clone())
        } else if lc.contains("type=registry") {
            c.split(',')
                .find_map(|kv| kv.trim().strip_prefix("ref="))
                .map(str::to_string)
        } else {
            None
        };
        match r {
            Some(r) if !repos.contains(&r) => repos.push(r),
            Some(_) => {}
            None => a.unmapped(format!("--cache-from/--cache-to {c}")),
        }
    }
    match repos.as_slice() {
        [] => {}
        [r] if !b.no_cache => {
            a.parts.push("--cache=true".into());
            let repo = cache_repo(r);
            if repo != r.trim() {
                a.note(format!(
                    "kaniko's `--cache-repo` is a repository: `{r}` became `{repo}` (kaniko tags its cache layers itself)"
                ));
            }
            a.opt("--cache-repo", &repo, r);
            a.note(
                "kaniko's cache format differs from BuildKit's: the cache repository starts empty"
                    .into(),
            );
            if input.push.is_empty() {
                a.parts.push("--no-push-cache".into());
            }
        }
        [_] => {}
        more => a.unmapped(format!(
            "several cache repositories ({}): kaniko uses one",
            more.join(", ")
        )),
    }
    if b.no_cache {
        a.note("`--no-cache` dropped: kaniko caches only with `--cache=true`".into());
    }
    if b.pull {
        a.note("`--pull` dropped: kaniko always resolves base images from the registry".into());
    }
    for s in &b.secrets {
        a.opt("--secret", s, &format!("--secret {s}"));
        a.note("kaniko (osscontainertools) `--secret` does not keep the secret out of the build container".into());
    }
    for s in &b.ssh {
        a.unmapped(format!("--ssh {s}"));
    }
    match b.network.as_deref() {
        None | Some("default") => {}
        Some("host") => a.note(
            "`--network host` dropped: kaniko runs RUN steps in its own network namespace already"
                .into(),
        ),
        Some(n) => a.unmapped(format!("--network {n}")),
    }
    if b.load && input.push.is_empty() {
        a.note(
            "the image is only built (nothing pushes it): `--load` has no daemon to load into"
                .into(),
        );
    }
    for f in raw_flags(input.script, &b.span) {
        if CARRIED.contains(&f.name.as_str()) {
            continue;
        }
        let v = f.value.clone().unwrap_or_default();
        match f.name.as_str() {
            "--output" => {
                let parts = output_parts(&v);
                let image = output_is_image(&parts);
                let oci = part(&parts, "type") == Some("oci");
                for (k, x) in &parts {
                    match k.as_str() {
                        "type" if image || oci => {}
                        "push" if image => {}
                        "name" if image && !input.push.is_empty() => {}
                        "dest" if oci => a.opt("--oci-layout-path", x, &flag_text(&f)),
                        "compression" if image && matches!(x.as_str(), "gzip" | "zstd") => {
                            a.parts.push(format!("--compression={x}"))
                        }
                        "compression-level" if image && x.chars().all(|c| c.is_ascii_digit()) => {
                            a.parts.push(format!("--compression-level={x}"))
                        }
                        _ => a.unmapped(format!("{} ({k}={x})", flag_text(&f))),
                    }
                }
                if part(&parts, "type") == Some("docker") && input.push.is_empty() {
                    a.unmapped(flag_text(&f));
                }
            }
            "--iidfile" => {
                a.opt("--digest-file", &v, &flag_text(&f));
                a.note(format!(
                    "`--iidfile {v}` became `--digest-file {v}`: kaniko writes the digest of the pushed manifest there, not the image (config) ID that docker build writes"
                ));
            }
            "--quiet" => a.parts.push("--verbosity=error".into()),
            "--progress"
            | "--rm"
            | "--force-rm"
            | "--builder"
            | "--disable-content-trust"
            | "--compress"
            | "--debug"
            | "--isolation" => a.note(format!(
                "`{}` dropped: it has no meaning for kaniko",
                flag_text(&f)
            )),
            "--provenance" | "--sbom" if is_false(f.value.as_deref()) => a.note(format!(
                "`{}` dropped: kaniko adds no attestations",
                flag_text(&f)
            )),
            _ => a.unmapped(flag_text(&f)),
        }
    }
    for u in &b.unknown_flags {
        let base = u.split('=').next().unwrap_or(u);
        if !a
            .unmapped
            .iter()
            .any(|x| x.split([' ', '=']).next() == Some(base))
        {
            a.unmapped(u.clone());
        }
    }
    Translation {
        parts: a.parts,
        unmapped: a.unmapped,
        notes: a.notes,
        incomplete: a.incomplete,
    }
}

/// How `docker tag` and `docker push` fold into the builds of one job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folded {
    /// For each build (same order as given): the references to push, in order.
    pub push: Vec<Vec<String>>,
    /// For each tag: it names an image built here (folded into that build).
    pub tag_folded: Vec<bool>,
    /// For each push: it pushes an image built here (folded into that build).
    pub push_folded: Vec<bool>,
}

/// Fold tags and pushes into builds: a `docker tag A B` where A is built here makes B another
/// name of that build; a `docker push X` of such a name pushes it (`all_tags`: every name of
/// that repository). Tags and pushes of images not built here are left unfolded (promotion or
/// a push of an image from an earlier job: not a build, see https://github.com/moby/buildkit#imageregistry).
pub fn fold(
    builds: &[&DockerBuild],
    tags: &[&DockerTag],
    pushes: &[(&DockerPush, bool)],
) -> Folded {
    // Names per build: the written form first seen, keyed by the normalised form.
    let mut names: Vec<Vec<(String, String)>> = builds
        .iter()
        .map(|b| {
            b.tags
                .iter()
                .map(|t| (normalise_ref(t), t.clone()))
                .collect()
        })
        .collect();
    let mut tag_folded = vec![false; tags.len()];
    // Tags can chain (A → B → C); bounded passes.
    for _ in 0..tags.len().min(64) + 1 {
        let mut changed = false;
        for (ti, t) in tags.iter().enumerate() {
            if tag_folded.get(ti).copied().unwrap_or(true) {
                continue;
            }
            let src = normalise_ref(&t.source);
            if let Some(bi) = names
                .iter()
                .position(|ns| ns.iter().any(|(n, _)| *n == src))
            {
                let dst = normalise_ref(&t.target);
                if let Some(ns) = names.get_mut(bi)
                    && !ns.iter().any(|(n, _)| *n == dst)
                {
                    ns.push((dst, t.target.clone()));
                }
                if let Some(f) = tag_folded.get_mut(ti) {
                    *f = true;
                }
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut push: Vec<Vec<String>> = vec![Vec::new(); builds.len()];
    let mut push_folded = vec![false; pushes.len()];
    for (bi, b) in builds.iter().enumerate() {
        if b.push
            && let (Some(p), Some(ns)) = (push.get_mut(bi), names.get(bi))
        {
            for (_, w) in ns.iter().take(b.tags.len()) {
                p.push(w.clone());
            }
        }
    }
    for (pi, (p, all)) in pushes.iter().enumerate() {
        let want = normalise_ref(&p.image);
        let repo = repo_of(&p.image);
        for (bi, ns) in names.iter().enumerate() {
            let hits: Vec<&String> = ns
                .iter()
                .filter(|(n, _)| if *all { repo_of(n) == repo } else { *n == want })
                .map(|(_, w)| w)
                .collect();
            if hits.is_empty() {
                continue;
            }
            if let Some(out) = push.get_mut(bi) {
                for w in hits {
                    if !out.iter().any(|x| normalise_ref(x) == normalise_ref(w)) {
                        out.push(w.clone());
                    }
                }
            }
            if let Some(f) = push_folded.get_mut(pi) {
                *f = true;
            }
        }
    }
    // Keep a stable order: the build's tags in order, then added names in order.
    for (bi, out) in push.iter_mut().enumerate() {
        if let Some(ns) = names.get(bi) {
            out.sort_by_key(|x| {
                let n = normalise_ref(x);
                ns.iter().position(|(m, _)| *m == n).unwrap_or(usize::MAX)
            });
        }
    }
    Folded {
        push,
        tag_folded,
        push_folded,
    }
}

/// Whether a `docker push` at `push.span` of `script` has `--all-tags`/`-a`.
pub fn push_all_tags(script: &str, push: &DockerPush) -> bool {
    let Some(text) = script.get(push.span.clone()) else {
        return false;
    };
    shell::split_words(text).iter().any(|w| {
        w.text == "--all-tags"
            || w.text == "--all-tags=true"
            || (w.text.starts_with('-')
                && !w.text.starts_with("--")
                && w.text.get(1..).is_some_and(|flags| flags.contains('a')))
    })
}

/// Registry credentials for `config.json`: key, user and password as shell expressions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// The `auths` key (Docker Hub: [`DOCKER_HUB_KEY`]).
    pub key: String,
    /// User name (may hold `$VAR`).
    pub username: String,
    /// Password (may hold `$VAR`).
    pub password: String,
}

/// The `config.json` key for a `docker login` registry argument.
pub fn auth_key(registry: Option<&str>) -> String {
    let r = registry.map(str::trim).unwrap_or("");
    let host = r
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = host.strip_suffix("/v1").unwrap_or(host);
    if r.is_empty()
        || matches!(
            host,
            "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
        )
    {
        DOCKER_HUB_KEY.to_string()
    } else {
        r.to_string()
    }
}

/// The value piped into `docker login --password-stdin` when the pipe source is `echo X` or
/// `printf '%s' X`: the start of that source command and X.
pub fn stdin_password(script: &str, login: &DockerLogin) -> Option<(usize, String)> {
    let before = script.get(..login.span.start)?.trim_end();
    let before = before.strip_suffix('|')?;
    if before.ends_with('|') {
        return None;
    }
    let end = before.trim_end().len();
    let cmds = shell::commands(script.get(..end)?);
    let c = cmds.iter().rev().find(|c| c.span.end <= end)?;
    if script.get(c.span.end..end)?.trim() != "" {
        return None;
    }
    let words: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    let value = match words.as_slice() {
        ["echo", v] | ["echo", "-n", v] | ["echo", "-e", v] => (*v).to_string(),
        ["printf", fmt, v] if matches!(*fmt, "%s" | "%s\\n") => (*v).to_string(),
        _ => return None,
    };
    Some((c.span.start, value))
}

/// Credentials of a `docker login` and the script range it occupies (its pipe source
/// included); `Err` with the reason when the password cannot be found.
pub fn login(script: &str, l: &DockerLogin) -> Result<(Range<usize>, Auth), String> {
    let key = auth_key(l.registry.as_deref());
    let Some(user) = l.username.clone() else {
        return Err("`docker login` without `--username`".into());
    };
    let (start, password) = if let Some(p) = &l.password {
        (l.span.start, p.clone())
    } else if l.password_stdin {
        match stdin_password(script, l) {
            Some((s, p)) => (s, p),
            None => {
                return Err(
                    "`docker login --password-stdin` whose password source is not `echo`/`printf`"
                        .into(),
                );
            }
        }
    } else {
        return Err("`docker login` without a password (interactive)".into());
    };
    for v in [&key, &user, &password] {
        if v.contains(['"', '\\', '`']) {
            return Err(format!("`docker login` value `{v}` cannot be re-quoted"));
        }
    }
    Ok((
        start..l.span.end,
        Auth {
            key,
            username: user,
            password,
        },
    ))
}

/// Commands that write `config.json` with every credential (https://docs.gitlab.com/ci/docker/using_buildkit/; https://github.com/osscontainertools/kaniko; https://github.com/moby/buildkit#imageregistry; docs/targets/buildkit.md; docs/targets/kaniko.md).
pub fn auth_commands(builder: Builder, auths: &[Auth]) -> Vec<String> {
    let dir = builder.docker_config_dir();
    let entries: Vec<String> = auths
        .iter()
        .map(|a| {
            format!(
                "\\\"{}\\\":{{\\\"auth\\\":\\\"$(printf '%s:%s' \"{}\" \"{}\" | base64 | tr -d '\\n')\\\"}}",
                a.key, a.username, a.password
            )
        })
        .collect();
    vec![
        format!("mkdir -p {dir}"),
        format!(
            "echo \"{{\\\"auths\\\":{{{}}}}}\" > {dir}/config.json",
            entries.join(",")
        ),
    ]
}

/// The registry argument `crane auth login` needs for a `docker login` registry (it has no
/// default): Docker Hub is `index.docker.io`, which crane stores under
/// `https://index.docker.io/v1/` as the Docker CLI does
/// (https://github.com/google/go-containerregistry/blob/main/cmd/crane/doc/crane_auth_login.md).
pub fn crane_registry(registry: Option<&str>) -> Option<&str> {
    if auth_key(registry) == DOCKER_HUB_KEY {
        None
    } else {
        registry
    }
}

/// The written form of the argument whose unquoted value is `cooked` in the command at `span`
/// of `script` (quotes and expansions kept as the author wrote them); `None` when it is not a
/// word of its own there (a `--flag=value` form).
pub fn raw_word<'s>(script: &'s str, span: &Range<usize>, cooked: &str) -> Option<&'s str> {
    shell::commands(script)
        .into_iter()
        .filter(|c| span.start <= c.span.start && c.span.end <= span.end)
        .flat_map(|c| c.words.into_iter())
        .skip(1)
        .find(|w| w.text == cooked)
        .and_then(|w| script.get(w.span))
}

/// A value as written when it is a word of its own, else re-quoted; `None` when it cannot be
/// re-quoted faithfully.
fn written(script: &str, span: &Range<usize>, cooked: &str) -> Option<String> {
    match raw_word(script, span, cooked) {
        Some(w) => Some(w.to_string()),
        None => sh_quote(cooked),
    }
}

/// `docker login` → `crane auth login`
/// (https://github.com/google/go-containerregistry/blob/main/cmd/crane/doc/crane_auth_login.md):
/// the range to replace (the `docker login` command alone: a `--password-stdin` pipe source
/// stays, crane reads the password from stdin the same way) and the command. `Err` with the
/// reason when it cannot be carried over (no user name, an interactive password).
pub fn crane_login(script: &str, l: &DockerLogin) -> Result<(Range<usize>, String), String> {
    let Some(user) = l.username.as_deref() else {
        return Err("`docker login` without `--username`".into());
    };
    let registry = match crane_registry(l.registry.as_deref()) {
        None => "index.docker.io".to_string(),
        Some(r) => written(script, &l.span, r)
            .ok_or_else(|| format!("`docker login` registry `{r}` cannot be re-quoted"))?,
    };
    let user = written(script, &l.span, user)
        .ok_or_else(|| format!("`docker login` user `{user}` cannot be re-quoted"))?;
    let password = if let Some(p) = l.password.as_deref() {
        let p = written(script, &l.span, p)
            .ok_or_else(|| "`docker login` password cannot be re-quoted".to_string())?;
        format!("-p {p}")
    } else if l.password_stdin {
        "--password-stdin".to_string()
    } else {
        return Err("`docker login` without a password (interactive)".into());
    };
    Ok((
        l.span.clone(),
        format!("crane auth login {registry} -u {user} {password}"),
    ))
}

/// A `docker pull` (or `docker image pull`): the image and `--platform`, if given. `None` when
/// `words` is not a pull or pulls with `--all-tags`, which has no one-image equivalent.
pub fn docker_pull(words: &[&str]) -> Option<(String, Option<String>)> {
    let first = words.first()?;
    if !matches!(first.rsplit('/').next(), Some("docker" | "docker.exe")) {
        return None;
    }
    let rest = match (words.get(1).copied(), words.get(2).copied()) {
        (Some("pull"), _) => words.get(2..)?,
        (Some("image"), Some("pull")) => words.get(3..)?,
        _ => return None,
    };
    let mut platform = None;
    let mut image = None;
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match *w {
            "--platform" => platform = Some(it.next()?.to_string()),
            "-a" | "--all-tags" => return None,
            w if w.starts_with("--platform=") => {
                platform = w.strip_prefix("--platform=").map(str::to_string);
            }
            w if w.starts_with('-') => {}
            w => {
                if image.is_some() {
                    return None;
                }
                image = Some(w.to_string());
            }
        }
    }
    Some((image?, platform))
}

/// `crane copy SRC DST`, written forms of both references kept
/// (https://github.com/google/go-containerregistry/blob/main/cmd/crane/doc/crane_copy.md):
/// `crane copy` serves a re-tag in the same repository and a copy to another one alike, and
/// keeps the digest. `platform`: copy only that platform, as the `docker pull --platform` it
/// replaces did.
pub fn crane_copy(src: &str, dst: &str, platform: Option<&str>) -> String {
    match platform {
        Some(p) => format!(
            "crane copy --platform {} {src} {dst}",
            sh_quote(p).unwrap_or_else(|| p.to_string())
        ),
        None => format!("crane copy {src} {dst}"),
    }
}

/// Whether two references name the same repository (tags and digests aside).
pub fn same_repository(a: &str, b: &str) -> bool {
    repo_of(a) == repo_of(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::docker_cmd::analyze_script;

    fn tr(builder: Builder, script: &str, push: &[&str]) -> Translation {
        let a = analyze_script(script);
        let b = a.builds.first().expect("a build");
        let push: Vec<String> = push.iter().map(|s| s.to_string()).collect();
        build(
            builder,
            &BuildInput {
                build: b,
                script,
                push: &push,
                workdir: Some("${CI_PROJECT_DIR}"),
            },
        )
    }

    #[test]
    fn an_overlong_short_flag_cluster_is_unmapped_not_thousands_of_flags() {
        let word = format!("-{}", "q".repeat(50_000));
        let t = tr(
            Builder::Buildkit,
            &format!("docker build {word} -t app ."),
            &["app"],
        );
        assert_eq!(t.unmapped, [word]);
    }

    #[test]
    fn buildkit_maps_the_common_flags() {
        let t = tr(
            Builder::Buildkit,
            "docker build -f ci/Dockerfile.prod --build-arg V=1 --build-arg TOKEN --target run --label a=b --pull --no-cache -t \"$IMG:$TAG\" -t \"$IMG:latest\" .",
            &["$IMG:$TAG", "$IMG:latest"],
        );
        assert_eq!(
            t.multiline(),
            "buildctl-daemonless.sh build \\\n  --frontend dockerfile.v0 \\\n  --local context=. \\\n  --local dockerfile=ci \\\n  --opt filename=Dockerfile.prod \\\n  --opt target=run \\\n  --opt build-arg:V=1 \\\n  --opt \"build-arg:TOKEN=$TOKEN\" \\\n  --opt label:a=b \\\n  --no-cache \\\n  --opt image-resolve-mode=pull \\\n  --output \"type=image,\\\"name=$IMG:$TAG,$IMG:latest\\\",push=true\""
        );
        assert!(t.unmapped.is_empty(), "{:?}", t.unmapped);
        assert_eq!(t.notes.len(), 1);
    }

    #[test]
    fn buildkit_single_name_and_build_only() {
        let t = tr(
            Builder::Buildkit,
            "docker build -t app .",
            &["registry.example.com/app:1"],
        );
        assert_eq!(
            t.one_line(),
            "buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=. --output type=image,name=registry.example.com/app:1,push=true"
        );
        let t = tr(Builder::Buildkit, "docker build -t app .", &[]);
        assert_eq!(
            t.one_line(),
            "buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=."
        );
        let t = tr(
            Builder::Buildkit,
            "docker build -t app -t app:2 .",
            &["app", "app:2"],
        );
        assert!(
            t.one_line()
                .ends_with("--output 'type=image,\"name=app,app:2\",push=true'")
        );
    }

    #[test]
    fn buildkit_cache_platform_secret_and_extra_flags() {
        let t = tr(
            Builder::Buildkit,
            "docker buildx build --platform linux/amd64,linux/arm64 --cache-from type=registry,ref=r/c --cache-to type=registry,ref=r/c,mode=max --secret id=npm,src=.npmrc --ssh default --add-host db:10.0.0.1 --shm-size 1g --iidfile id.txt --network host --push -t r/app:1 .",
            &["r/app:1"],
        );
        let s = t.one_line();
        for part in [
            "--opt platform=linux/amd64,linux/arm64",
            "--import-cache type=registry,ref=r/c",
            "--export-cache type=registry,ref=r/c,mode=max",
            "--secret id=npm,src=.npmrc",
            "--ssh default",
            "--opt add-hosts=db=10.0.0.1",
            "--opt shm-size=1073741824",
            "--metadata-file id.txt",
        ] {
            assert!(s.contains(part), "{part} missing in {s}");
        }
        assert!(t.unmapped.is_empty(), "{:?}", t.unmapped);
        assert!(t.notes.iter().any(|n| n.contains("host network")));
        let t = tr(
            Builder::Buildkit,
            "docker build --squash --frobnicate -t a .",
            &[],
        );
        assert_eq!(t.unmapped, ["--squash", "--frobnicate"]);
        let t = tr(
            Builder::Buildkit,
            "docker build --build-arg BUILDKIT_INLINE_CACHE=1 -t a .",
            &[],
        );
        assert!(t.one_line().contains("--export-cache type=inline"));
        assert!(!t.one_line().contains("BUILDKIT_INLINE_CACHE"));
    }

    #[test]
    fn buildkit_dockerfile_from_a_variable_and_remote_context() {
        let t = tr(Builder::Buildkit, "docker build -f \"$DF\" -t a .", &[]);
        assert!(t.one_line().contains(
            "--local dockerfile=\"$(dirname \"$DF\")\" --opt filename=\"$(basename \"$DF\")\""
        ));
        let t = tr(
            Builder::Buildkit,
            "docker build -t a https://github.com/x/y.git",
            &[],
        );
        assert_eq!(t.unmapped, ["context https://github.com/x/y.git"]);
        let t = tr(Builder::Buildkit, "docker build -f - .", &[]);
        assert_eq!(t.unmapped, ["--file - (Dockerfile on stdin)"]);
    }

    #[test]
    fn kaniko_maps_destinations_and_refuses_what_it_cannot() {
        let t = tr(
            Builder::Kaniko,
            "docker build -f Dockerfile --build-arg V=$V --target run -t \"$IMG:$TAG\" .",
            &["$IMG:$TAG", "$IMG:latest"],
        );
        assert_eq!(
            t.multiline(),
            "/kaniko/executor \\\n  --context \"${CI_PROJECT_DIR}\" \\\n  --dockerfile \"${CI_PROJECT_DIR}/Dockerfile\" \\\n  --destination \"$IMG:$TAG\" \\\n  --destination \"$IMG:latest\" \\\n  --target run \\\n  --build-arg \"V=$V\""
        );
        let t = tr(
            Builder::Kaniko,
            "docker buildx build --platform linux/amd64,linux/arm64 --ssh default -t a .",
            &[],
        );
        assert_eq!(t.unmapped.len(), 2, "{:?}", t.unmapped);
        assert!(t.one_line().contains("--no-push"));
        let t = tr(
            Builder::Kaniko,
            "docker build --cache-from r/cache -t a sub",
            &["a"],
        );
        assert!(t.one_line().contains(
            "--context \"${CI_PROJECT_DIR}/sub\" --dockerfile \"${CI_PROJECT_DIR}/sub/Dockerfile\""
        ));
        assert!(t.one_line().contains("--cache=true --cache-repo r/cache"));
        let t = tr(
            Builder::Kaniko,
            "docker build --platform linux/arm64 --iidfile d -q -t a .",
            &["a"],
        );
        assert!(t.one_line().contains("--custom-platform linux/arm64"));
        assert!(t.one_line().contains("--digest-file d"));
        assert!(t.one_line().contains("--verbosity=error"));
    }

    /// What a `docker build` flag becomes.
    #[derive(Clone, Copy, Debug)]
    enum Want {
        /// The translated command contains this.
        Part(&'static str),
        /// Dropped on purpose, with a note naming it.
        Dropped,
        /// Listed as unmapped (the caller makes the pipeline partial).
        Unmapped,
    }
    use Want::{Dropped, Part, Unmapped};

    /// Every flag of `docker build` (= `docker buildx build`, docs.docker.com/reference/cli/
    /// docker/buildx/build/) plus the legacy builder flags it still accepts: an example use,
    /// then what BuildKit and kaniko make of it. Builds push `r/app:1` unless noted.
    const FLAG_TABLE: &[(&str, &str, Want, Want)] = &[
        (
            "--add-host",
            "--add-host db:10.0.0.1",
            Part("--opt add-hosts=db=10.0.0.1"),
            Unmapped,
        ),
        (
            "--allow",
            "--allow network.host",
            Part("--allow network.host"),
            Unmapped,
        ),
        ("--annotation", "--annotation a=b", Unmapped, Unmapped),
        ("--attest", "--attest type=sbom", Unmapped, Unmapped),
        (
            "--build-arg",
            "--build-arg V=1",
            Part("--opt build-arg:V=1"),
            Part("--build-arg V=1"),
        ),
        (
            "--build-context",
            "--build-context x=../x",
            Unmapped,
            Unmapped,
        ),
        ("--builder", "--builder b", Dropped, Dropped),
        (
            "--cache-from",
            "--cache-from type=registry,ref=r/c:cache",
            Part("--import-cache type=registry,ref=r/c:cache"),
            Part("--cache=true --cache-repo r/c"),
        ),
        (
            "--cache-to",
            "--cache-to type=registry,ref=r/c:cache,mode=max",
            Part("--export-cache type=registry,ref=r/c:cache,mode=max"),
            Part("--cache=true --cache-repo r/c"),
        ),
        ("--call", "--call outline", Unmapped, Unmapped),
        (
            "--cgroup-parent",
            "--cgroup-parent p",
            Part("--opt cgroup-parent=p"),
            Unmapped,
        ),
        ("--check", "--check", Unmapped, Unmapped),
        ("--debug", "--debug", Dropped, Dropped),
        (
            "--file",
            "-f ci/App.Dockerfile",
            Part("--local dockerfile=ci --opt filename=App.Dockerfile"),
            Part("--dockerfile ci/App.Dockerfile"),
        ),
        (
            "--iidfile",
            "--iidfile id.txt",
            Part("--metadata-file id.txt"),
            Part("--digest-file id.txt"),
        ),
        (
            "--label",
            "--label a=b",
            Part("--opt label:a=b"),
            Part("--label a=b"),
        ),
        ("--load", "--load", Dropped, Dropped),
        (
            "--metadata-file",
            "--metadata-file m.json",
            Part("--metadata-file m.json"),
            Unmapped,
        ),
        (
            "--network",
            "--network none",
            Part("--opt force-network-mode=none"),
            Unmapped,
        ),
        ("--no-cache", "--no-cache", Part("--no-cache"), Dropped),
        (
            "--no-cache-filter",
            "--no-cache-filter s",
            Part("--opt no-cache=s"),
            Unmapped,
        ),
        (
            "--output",
            "-o type=local,dest=out",
            Part("--output type=local,dest=out"),
            Unmapped,
        ),
        (
            "--output",
            "-o ./out",
            Part("--output type=local,dest=./out"),
            Unmapped,
        ),
        (
            "--output",
            "--output type=oci,dest=img.tar",
            Part("--output type=oci,dest=img.tar"),
            Part("--oci-layout-path img.tar"),
        ),
        (
            "--output",
            "--output type=registry,compression=zstd",
            Part("--output type=image,name=r/app:1,push=true,compression=zstd"),
            Part("--compression=zstd"),
        ),
        (
            "--output",
            "--output type=image,push=true,oci-mediatypes=true",
            Part("--output type=image,name=r/app:1,push=true,oci-mediatypes=true"),
            Unmapped,
        ),
        (
            "--platform",
            "--platform linux/arm64",
            Part("--opt platform=linux/arm64"),
            Part("--custom-platform linux/arm64"),
        ),
        ("--policy", "--policy filename=p.rego", Unmapped, Unmapped),
        (
            "--progress",
            "--progress plain",
            Part("--progress plain"),
            Dropped,
        ),
        ("--provenance", "--provenance=false", Dropped, Dropped),
        ("--provenance", "--provenance=mode=max", Unmapped, Unmapped),
        (
            "--pull",
            "--pull",
            Part("--opt image-resolve-mode=pull"),
            Dropped,
        ),
        (
            "--push",
            "--push",
            Part("push=true"),
            Part("--destination r/app:1"),
        ),
        (
            "--quiet",
            "-q",
            Part("--progress plain"),
            Part("--verbosity=error"),
        ),
        ("--sbom", "--sbom=false", Dropped, Dropped),
        (
            "--secret",
            "--secret id=s,src=f",
            Part("--secret id=s,src=f"),
            Part("--secret id=s,src=f"),
        ),
        (
            "--shm-size",
            "--shm-size 2g",
            Part("--opt shm-size=2147483648"),
            Unmapped,
        ),
        ("--ssh", "--ssh default", Part("--ssh default"), Unmapped),
        (
            "--tag",
            "-t r/app:1",
            Part("name=r/app:1"),
            Part("--destination r/app:1"),
        ),
        (
            "--target",
            "--target t",
            Part("--opt target=t"),
            Part("--target t"),
        ),
        (
            "--ulimit",
            "--ulimit nofile=1024:2048 --ulimit nproc=512",
            Part("--opt ulimit=nofile=1024:2048,nproc=512"),
            Unmapped,
        ),
        // Legacy builder flags `docker build` still accepts.
        ("--compress", "--compress", Dropped, Dropped),
        ("--cpu-period", "--cpu-period 1000", Unmapped, Unmapped),
        ("--cpu-quota", "--cpu-quota 1000", Unmapped, Unmapped),
        ("--cpu-shares", "-c 512", Unmapped, Unmapped),
        ("--cpuset-cpus", "--cpuset-cpus 0-1", Unmapped, Unmapped),
        ("--cpuset-mems", "--cpuset-mems 0", Unmapped, Unmapped),
        (
            "--disable-content-trust",
            "--disable-content-trust",
            Dropped,
            Dropped,
        ),
        ("--force-rm", "--force-rm", Dropped, Dropped),
        ("--isolation", "--isolation default", Dropped, Dropped),
        ("--memory", "-m 1g", Unmapped, Unmapped),
        ("--memory-swap", "--memory-swap 2g", Unmapped, Unmapped),
        ("--rm", "--rm", Dropped, Dropped),
        (
            "--security-opt",
            "--security-opt seccomp=unconfined",
            Unmapped,
            Unmapped,
        ),
        ("--squash", "--squash", Unmapped, Unmapped),
        ("--stream", "--stream", Unmapped, Unmapped),
    ];

    fn check_want(
        builder: Builder,
        usage: &str,
        want: Want,
        t: &Translation,
    ) -> Result<(), String> {
        let line = t.one_line();
        let flag = usage.split([' ', '=']).next().unwrap_or(usage);
        let named = |s: &String| s.contains(flag);
        let ctx = format!(
            "{builder:?} `{usage}` → {line}\n unmapped {:?}\n notes {:?}",
            t.unmapped, t.notes
        );
        match want {
            Part(p) if line.contains(p) && !t.unmapped.iter().any(named) => Ok(()),
            Dropped
                if !t.unmapped.iter().any(named)
                    && t.notes
                        .iter()
                        .any(|n| n.contains(flag) || n.contains(&usage.replace(' ', "` `"))) =>
            {
                Ok(())
            }
            Unmapped if t.unmapped.iter().any(named) => Ok(()),
            _ => Err(format!("want {want:?}: {ctx}")),
        }
    }

    #[test]
    fn every_docker_build_flag_maps_or_is_unmapped() {
        let mut errors = Vec::new();
        for (_, usage, bk, kan) in FLAG_TABLE {
            let script = if usage.starts_with("-t ") {
                format!("docker build {usage} .")
            } else {
                format!("docker build {usage} -t r/app:1 .")
            };
            let push: &[&str] = if *usage == "--load" {
                &[]
            } else {
                &["r/app:1"]
            };
            for (builder, want) in [(Builder::Buildkit, *bk), (Builder::Kaniko, *kan)] {
                let a = analyze_script(&script);
                let b = a.builds.first().expect("a build");
                let pushv: Vec<String> = push.iter().map(|s| s.to_string()).collect();
                let t = build(
                    builder,
                    &BuildInput {
                        build: b,
                        script: &script,
                        push: &pushv,
                        workdir: None,
                    },
                );
                if let Err(e) = check_want(builder, usage, want, &t) {
                    errors.push(e);
                }
            }
        }
        // The table covers every flag the docker command parser knows.
        let known: Vec<&str> = FLAG_TABLE.iter().map(|(f, _, _, _)| *f).collect();
        for f in crate::source::docker_cmd::build_value_flags() {
            if !known.contains(f) {
                errors.push(format!("{f} is missing from the flag table"));
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    #[test]
    fn shm_size_is_in_bytes_like_buildx() {
        assert_eq!(ram_in_bytes("64m"), Some(64 * 1024 * 1024));
        assert_eq!(ram_in_bytes("1g"), Some(1 << 30));
        assert_eq!(ram_in_bytes("1GiB"), Some(1 << 30));
        assert_eq!(ram_in_bytes("512kb"), Some(512 * 1024));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("1048576"), Some(1 << 20));
        assert_eq!(ram_in_bytes("$SHM"), None);
        assert_eq!(ram_in_bytes("g"), None);
        assert_eq!(ram_in_bytes(""), None);
    }

    #[test]
    fn kaniko_cache_repo_has_no_tag() {
        assert_eq!(cache_repo("r/c:buildcache"), "r/c");
        assert_eq!(cache_repo("localhost:5000/c"), "localhost:5000/c");
        assert_eq!(cache_repo("localhost:5000/c:x"), "localhost:5000/c");
        assert_eq!(cache_repo("r/c@sha256:abc"), "r/c");
        assert_eq!(cache_repo("$CI_REGISTRY_IMAGE:cache"), "$CI_REGISTRY_IMAGE");
        assert_eq!(
            cache_repo("${CI_REGISTRY_IMAGE}/cache"),
            "${CI_REGISTRY_IMAGE}/cache"
        );
        let t = tr(
            Builder::Kaniko,
            "docker build --cache-from r/c:cache -t a .",
            &["a"],
        );
        assert!(
            t.one_line().ends_with("--cache-repo r/c"),
            "{}",
            t.one_line()
        );
        assert!(!t.one_line().contains("r/c:cache"));
        assert!(!t.one_line().contains("--skip-unused-stages"));
    }

    #[test]
    fn fold_tags_and_pushes() {
        let s = "docker build -t \"$A:$SHA\" -t \"${A}:latest\" .\ndocker tag \"$A:$SHA\" \"$A:$SLUG\"\ndocker push \"$A:$SHA\"\ndocker push \"$A:$SLUG\"\ndocker push \"$A:latest\"\ndocker push other:1\ndocker tag base:1 base:2";
        let a = analyze_script(s);
        let builds: Vec<&DockerBuild> = a.builds.iter().collect();
        let tags: Vec<&DockerTag> = a.tags.iter().collect();
        let pushes: Vec<(&DockerPush, bool)> =
            a.pushes.iter().map(|p| (p, push_all_tags(s, p))).collect();
        let f = fold(&builds, &tags, &pushes);
        assert_eq!(
            f.push,
            vec![vec![
                "$A:$SHA".to_string(),
                "${A}:latest".into(),
                "$A:$SLUG".into()
            ]]
        );
        assert_eq!(f.tag_folded, [true, false]);
        assert_eq!(f.push_folded, [true, true, true, false]);
        let s = "docker build -t app:1 -t app:2 .\ndocker push --all-tags app";
        let a = analyze_script(s);
        let pushes: Vec<(&DockerPush, bool)> =
            a.pushes.iter().map(|p| (p, push_all_tags(s, p))).collect();
        let f = fold(&a.builds.iter().collect::<Vec<_>>(), &[], &pushes);
        assert_eq!(f.push, vec![vec!["app:1".to_string(), "app:2".into()]]);
        let a = analyze_script("docker buildx build --push -t x:1 .");
        let f = fold(&a.builds.iter().collect::<Vec<_>>(), &[], &[]);
        assert_eq!(f.push, vec![vec!["x:1".to_string()]]);
    }

    #[test]
    fn logins_become_config_json() {
        let s = "echo \"$CI_REGISTRY_PASSWORD\" | docker login -u \"$CI_REGISTRY_USER\" --password-stdin \"$CI_REGISTRY\"";
        let a = analyze_script(s);
        let (r, auth) = login(s, &a.logins[0]).expect("mapped");
        assert_eq!(r, 0..s.len());
        assert_eq!(auth.key, "$CI_REGISTRY");
        assert_eq!(
            auth_commands(Builder::Buildkit, &[auth]),
            [
                "mkdir -p ~/.docker".to_string(),
                "echo \"{\\\"auths\\\":{\\\"$CI_REGISTRY\\\":{\\\"auth\\\":\\\"$(printf '%s:%s' \"$CI_REGISTRY_USER\" \"$CI_REGISTRY_PASSWORD\" | base64 | tr -d '\\n')\\\"}}}\" > ~/.docker/config.json".into()
            ]
        );
        let s = "docker login -u me -p \"$PW\"";
        let a = analyze_script(s);
        let (r, auth) = login(s, &a.logins[0]).expect("mapped");
        assert_eq!((r, auth.key.as_str()), (0..s.len(), DOCKER_HUB_KEY));
        assert_eq!(auth_key(Some("docker.io")), DOCKER_HUB_KEY);
        assert_eq!(
            auth_key(Some("https://index.docker.io/v1/")),
            DOCKER_HUB_KEY
        );
        assert_eq!(auth_key(Some("ghcr.io")), "ghcr.io");
        let s = "cat pw | docker login -u u --password-stdin r";
        let a = analyze_script(s);
        assert!(login(s, &a.logins[0]).is_err());
        let s = "docker login r";
        let a = analyze_script(s);
        assert!(login(s, &a.logins[0]).is_err());
        let s = "printf '%s' \"$P\" | docker login -u u --password-stdin r";
        let a = analyze_script(s);
        assert_eq!(login(s, &a.logins[0]).expect("printf").1.password, "$P");
        let k = auth_commands(Builder::Kaniko, &[]);
        assert_eq!(k[0], "mkdir -p /kaniko/.docker");
    }

    #[test]
    fn quoting_and_refs() {
        assert_eq!(sh_quote("a.b/c:1").as_deref(), Some("a.b/c:1"));
        assert_eq!(sh_quote("a b").as_deref(), Some("'a b'"));
        assert_eq!(sh_quote("$X y").as_deref(), Some("\"$X y\""));
        assert_eq!(sh_quote("it's").as_deref(), Some("\"it's\""));
        assert_eq!(sh_quote("$X\"y"), None);
        assert_eq!(sh_quote(""), Some("''".to_string()));
        assert_eq!(normalise_ref("${A}:1"), "$A:1");
        assert_eq!(normalise_ref("${A}x"), "${A}x:latest");
        assert_eq!(
            normalise_ref("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(normalise_ref("${"), "${:latest");
        assert_eq!(repo_of("r/app:1"), "r/app");
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let long = format!("docker build {} .", "-t x ".repeat(5000));
        let t = tr(Builder::Buildkit, &long, &[]);
        assert!(t.one_line().starts_with("buildctl-daemonless.sh build"));
        for s in [
            "docker build",
            "docker build -t",
            "docker build \"unterminated",
            "docker buildx b -o",
            "docker build -f",
        ] {
            let a = analyze_script(s);
            for b in &a.builds {
                for builder in [Builder::Buildkit, Builder::Kaniko] {
                    let t = build(
                        builder,
                        &BuildInput {
                            build: b,
                            script: s,
                            push: &[],
                            workdir: None,
                        },
                    );
                    assert!(!t.parts.is_empty());
                }
            }
        }
        #[allow(clippy::reversed_empty_ranges)]
        let b = DockerBuild {
            span: 50..10,
            ..DockerBuild::default()
        };
        let t = build(
            Builder::Buildkit,
            &BuildInput {
                build: &b,
                script: "x",
                push: &[],
                workdir: None,
            },
        );
        assert_eq!(t.unmapped, ["a build without a context directory"]);
        assert!(!push_all_tags(
            "",
            &DockerPush {
                span: 3..9,
                image: String::new()
            }
        ));
    }

    #[test]
    fn crane_login_keeps_written_values_and_needs_a_registry() {
        let login = |script: &str| {
            let a = analyze_script(script);
            crane_login(script, a.logins.first().expect("a login"))
                .map(|(r, c)| (script.get(r).unwrap_or("").to_string(), c))
        };
        assert_eq!(
            login("docker login -u \"$U\" -p \"$P\" \"$CI_REGISTRY\""),
            Ok((
                "docker login -u \"$U\" -p \"$P\" \"$CI_REGISTRY\"".into(),
                "crane auth login \"$CI_REGISTRY\" -u \"$U\" -p \"$P\"".into()
            ))
        );
        // The pipe source stays: crane reads stdin as docker did.
        assert_eq!(
            login("printf '%s' \"$T\" | docker login --username=bot --password-stdin docker.io"),
            Ok((
                "docker login --username=bot --password-stdin docker.io".into(),
                "crane auth login index.docker.io -u bot --password-stdin".into()
            ))
        );
        assert!(login("docker login r.example").is_err());
        assert!(login("docker login -u u r.example").is_err());
    }

    #[test]
    fn docker_pull_reads_image_and_platform() {
        assert_eq!(
            docker_pull(&["docker", "pull", "-q", "--platform", "linux/arm64", "a/b:1"]),
            Some(("a/b:1".into(), Some("linux/arm64".into())))
        );
        assert_eq!(
            docker_pull(&[
                "/usr/bin/docker",
                "image",
                "pull",
                "--platform=linux/amd64",
                "x"
            ]),
            Some(("x".into(), Some("linux/amd64".into())))
        );
        assert_eq!(docker_pull(&["docker", "pull", "--all-tags", "x"]), None);
        assert_eq!(docker_pull(&["docker", "push", "x"]), None);
        assert_eq!(docker_pull(&["podman", "pull", "x"]), None);
        assert_eq!(docker_pull(&["docker", "pull"]), None);
    }

    #[test]
    fn crane_copy_and_repositories() {
        assert_eq!(crane_copy("a:1", "\"$B\"", None), "crane copy a:1 \"$B\"");
        assert_eq!(
            crane_copy("a:1", "b:1", Some("linux/arm/v7")),
            "crane copy --platform linux/arm/v7 a:1 b:1"
        );
        assert!(same_repository(
            "r.example:5000/app:1",
            "r.example:5000/app"
        ));
        assert!(!same_repository("r.example/app:1", "r.example/other:1"));
        assert_eq!(crane_registry(None), None);
        assert_eq!(crane_registry(Some("registry-1.docker.io")), None);
        assert_eq!(crane_registry(Some("ghcr.io")), Some("ghcr.io"));
    }
}
