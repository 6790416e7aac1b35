//! Rewrites for Jenkinsfiles and Job DSL scripts (https://www.jenkins.io/doc/book/pipeline/docker/). Docker agents and
//! `docker.image(…).inside/withRun/run(…)` arguments: under sysbox `--privileged` becomes
//! `--runtime=sysbox-runc` and host namespaces, SYS_ADMIN, unconfined profiles and (when the
//! stage runs no Docker command) the host socket leave; the rootless target swaps a dind image for
//! `docker:dind-rootless`, still privileged. Kubernetes plugin: `containerTemplate(privileged:
//! true)` becomes `privileged: false` plus a pod-template task, and pod YAML strings get the same
//! rewrite as Kubernetes manifests, edited inside the Groovy string through its offset map.
//! BuildKit/kaniko stages, host-path sockets, Job DSL `shell()` steps and remote daemons become
//! manual tasks with the exact snippet (translated build commands included).

use std::ops::Range;

use super::common::{self, Side};
use super::translate::{self, BuildInput, Builder};
use super::yaml_plan::{Hit, YamlPlan};
use super::{Outcome, Request};
use crate::edit::Edit;
use crate::finding::Finding;
use crate::plan::Target;
use crate::source::docker_cmd::{self, is_daemon_image};
use crate::source::jenkins_groovy::{self, JenkinsFile, StrKind, StrLit};
use crate::source::shell;
use crate::source::yaml::Yaml;

/// Templates of this surface: (name under `templates/`, source).
pub use crate::templates::builtin::JENKINS as TEMPLATES;

/// A Groovy string body safe inside `'…'` and `'''…'''`.
fn groovy_single(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Whether `text` may be inserted verbatim into a literal of this kind.
fn safe_in(kind: StrKind, text: &str) -> bool {
    let one_line = !text.contains('\n') && !text.contains('\r');
    match kind {
        StrKind::Single => one_line && !text.contains(['\'', '\\']),
        StrKind::Double => one_line && !text.contains(['"', '\\', '$']),
        StrKind::TripleSingle => !text.contains('\\') && !text.contains("'''"),
        StrKind::TripleDouble => !text.contains(['\\', '$']) && !text.contains("\"\"\""),
        StrKind::Slashy => !text.contains(['/', '\\', '$']),
        StrKind::DollarSlashy => !text.contains('$') && !text.contains("/$"),
    }
}

/// An edit in a literal's value coordinates mapped to the file, when the range is verbatim
/// source text and the new text is safe in that literal.
fn map_edit(
    path: &str,
    file: &str,
    lit: &StrLit,
    r: Range<usize>,
    text: &str,
    nl: &str,
) -> Option<Edit> {
    let src = lit.src_range(r.clone());
    // Verbatim source only (a CRLF read as LF is the one difference allowed).
    let written = file.get(src.clone())?.replace("\r\n", "\n");
    if Some(written.as_str()) != lit.value.get(r.clone()) {
        return None;
    }
    if r.start == r.end && lit.src_offset(r.start) != src.start {
        return None;
    }
    if !safe_in(lit.kind, text) {
        return None;
    }
    let t = if nl == "\n" {
        text.to_string()
    } else {
        text.replace('\n', nl)
    };
    Some(Edit::replace(path, src.start, src.end, t))
}

/// The value offset of a source offset inside a literal.
fn value_offset(lit: &StrLit, src: usize) -> Option<usize> {
    let v = common::lower_bound(lit.value.len(), src, &|v| lit.src_offset(v));
    lit.value.is_char_boundary(v).then_some(v)
}

fn within(r: &Range<usize>, at: usize) -> bool {
    r.start <= at && at < r.end.max(r.start + 1)
}

/// What a finding sits in.
enum Site<'j> {
    /// `args` of a Docker agent or the arguments of an image call, with the image literal.
    Args(&'j StrLit, Option<&'j StrLit>),
    /// `containerTemplate(…, privileged: true)`.
    Template(usize),
    /// `hostPathVolume(…)`.
    HostPath,
    /// A pod YAML string.
    PodYaml(usize),
    /// An environment assignment (`DOCKER_HOST = …`).
    Env,
    /// A shell step.
    Shell(usize),
    /// Anything else.
    Other,
}

fn site_of<'j>(jf: &'j JenkinsFile, at: usize) -> Site<'j> {
    for a in &jf.docker_agents {
        if let Some(args) = &a.args
            && within(&args.span, at)
        {
            return Site::Args(args, a.image.as_ref());
        }
    }
    for c in &jf.image_calls {
        if let Some(args) = &c.args
            && within(&args.span, at)
        {
            return Site::Args(args, c.image.as_ref());
        }
    }
    for (i, t) in jf.container_templates.iter().enumerate() {
        if t.privileged.as_ref().is_some_and(|(_, r)| within(r, at)) {
            return Site::Template(i);
        }
    }
    if jf.host_path_volumes.iter().any(|v| within(&v.span, at)) {
        return Site::HostPath;
    }
    for (i, y) in jf.pod_yamls.iter().enumerate() {
        if within(&y.span, at) {
            return Site::PodYaml(i);
        }
    }
    if jf.env_assignments.iter().any(|(_, v)| within(&v.span, at)) {
        return Site::Env;
    }
    for (i, s) in jf.shell_steps.iter().enumerate() {
        if within(&s.span, at) {
            return Site::Shell(i);
        }
    }
    Site::Other
}

/// Word-level edits of a `docker run` argument string (value coordinates).
fn plan_args(value: &str, sysbox: bool, drop_socket: bool) -> Vec<(Range<usize>, String)> {
    let words = shell::split_words(value);
    let n = words.len();
    let mut removed = vec![false; n];
    let mut out: Vec<(Range<usize>, String)> = Vec::new();
    let has_runtime = words.iter().any(|w| w.text.starts_with("--runtime"));
    let mut placed = has_runtime;
    let mut system = false;
    let next_is =
        |i: usize, pred: &dyn Fn(&str) -> bool| words.get(i + 1).is_some_and(|w| pred(&w.text));
    let mut i = 0;
    while i < n {
        let Some(w) = words.get(i) else { break };
        let t = w.text.as_str();
        let sock = |s: &str| crate::rules::is_socket_path(crate::rules::volume_source(s));
        let mount_sock = |s: &str| {
            s.split(',').any(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                matches!(k.trim(), "source" | "src") && crate::rules::is_socket_path(v)
            })
        };
        let ns_host = |s: &str| s.trim() == "host";
        let mut drop_pair = false;
        let mut drop_one = false;
        if sysbox && (t == "--privileged" || t == "--privileged=true") {
            system = true;
            if placed {
                drop_one = true;
            } else {
                out.push((w.span.clone(), "--runtime=sysbox-runc".into()));
                placed = true;
            }
        } else if drop_socket && (t == "-v" || t == "--volume") && next_is(i, &sock) {
            drop_pair = true;
        } else if drop_socket
            && (t.strip_prefix("--volume=").is_some_and(sock)
                || (t.starts_with("-v") && t.len() > 2 && sock(t.get(2..).unwrap_or(""))))
        {
            drop_one = true;
        } else if drop_socket && t == "--mount" && next_is(i, &mount_sock) {
            drop_pair = true;
        } else if drop_socket && t.strip_prefix("--mount=").is_some_and(mount_sock) {
            drop_one = true;
        } else if sysbox && t == "--cap-add" && next_is(i, &crate::rules::is_dangerous_cap) {
            drop_pair = true;
            system = true;
        } else if sysbox
            && t.strip_prefix("--cap-add=")
                .is_some_and(crate::rules::is_dangerous_cap)
        {
            drop_one = true;
            system = true;
        } else if sysbox && t == "--security-opt" && next_is(i, &crate::rules::is_unconfined_opt) {
            drop_pair = true;
            system = true;
        } else if sysbox
            && t.strip_prefix("--security-opt=")
                .is_some_and(crate::rules::is_unconfined_opt)
        {
            drop_one = true;
            system = true;
        } else if sysbox
            && matches!(t, "--net" | "--network" | "--pid" | "--userns" | "--ipc")
            && next_is(i, &ns_host)
        {
            drop_pair = true;
        } else if sysbox
            && ["--net=", "--network=", "--pid=", "--userns=", "--ipc="]
                .iter()
                .any(|p| t.strip_prefix(p).is_some_and(ns_host))
        {
            drop_one = true;
        }
        if (drop_pair || drop_one)
            && let Some(r) = removed.get_mut(i)
        {
            *r = true;
        }
        if drop_pair {
            if let Some(r) = removed.get_mut(i + 1) {
                *r = true;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    if sysbox && system && !placed {
        out.push((0..0, "--runtime=sysbox-runc ".into()));
    }
    // Removed runs, with the whitespace that separated them.
    let mut k = 0;
    while k < n {
        if !removed.get(k).copied().unwrap_or(false) {
            k += 1;
            continue;
        }
        let a = k;
        while k < n && removed.get(k).copied().unwrap_or(false) {
            k += 1;
        }
        let b = k - 1;
        let (Some(wa), Some(wb)) = (words.get(a), words.get(b)) else {
            break;
        };
        let range = if a > 0 {
            words
                .get(a - 1)
                .map(|p| p.span.end)
                .unwrap_or(wa.span.start)..wb.span.end
        } else if let Some(next) = words.get(b + 1) {
            wa.span.start..next.span.start
        } else {
            wa.span.start..wb.span.end
        };
        out.push((range, String::new()));
    }
    out
}

/// The stage's (or file-level pipeline's) shell steps.
fn stage_steps<'j>(jf: &'j JenkinsFile, name: &str, file_name: &str) -> Vec<&'j StrLit> {
    jf.shell_steps
        .iter()
        .filter(|s| match jf.enclosing_block(s.span.start) {
            Some(b) => b.name == name,
            None => name == file_name,
        })
        .collect()
}

/// The stage's build commands translated for a builder (or kept as written). Tags and pushes
/// of images built anywhere in the stage fold into the build (https://github.com/moby/buildkit#imageregistry).
fn translated(steps: &[&StrLit], builder: Builder, side: &mut Side) -> Vec<String> {
    let analyses: Vec<docker_cmd::ScriptAnalysis> = steps
        .iter()
        .map(|s| docker_cmd::analyze_script(&s.value))
        .collect();
    let builds: Vec<&docker_cmd::DockerBuild> =
        analyses.iter().flat_map(|a| a.builds.iter()).collect();
    let tags: Vec<&docker_cmd::DockerTag> = analyses.iter().flat_map(|a| a.tags.iter()).collect();
    let pushes: Vec<(&docker_cmd::DockerPush, bool)> = steps
        .iter()
        .zip(&analyses)
        .flat_map(|(s, a)| {
            a.pushes
                .iter()
                .map(|p| (p, translate::push_all_tags(&s.value, p)))
        })
        .collect();
    let folded = translate::fold(&builds, &tags, &pushes);
    let tool = match builder {
        Builder::Buildkit => "buildctl",
        Builder::Kaniko => "kaniko",
    };
    let mut out = Vec::new();
    let mut bi = 0usize;
    let mut ti = 0usize;
    let mut pi = 0usize;
    for (s, a) in steps.iter().zip(&analyses) {
        let mut kept_other = false;
        for b in &a.builds {
            let push = folded.push.get(bi).cloned().unwrap_or_default();
            bi += 1;
            let t = translate::build(
                builder,
                &BuildInput {
                    build: b,
                    script: &s.value,
                    push: &push,
                    workdir: (builder == Builder::Kaniko).then_some("$(pwd)"),
                },
            );
            for u in &t.unmapped {
                side.note(format!("`{u}` has no {tool} equivalent: adapt it by hand"));
            }
            for n in &t.notes {
                side.note(n.clone());
            }
            if t.incomplete {
                side.note("a docker build could not be translated completely: check the command");
            }
            out.push(groovy_single(&t.one_line()));
        }
        for _ in &a.tags {
            kept_other |= !folded.tag_folded.get(ti).copied().unwrap_or(false);
            ti += 1;
        }
        for _ in &a.pushes {
            kept_other |= !folded.push_folded.get(pi).copied().unwrap_or(false);
            pi += 1;
        }
        let docker_free =
            a.builds.is_empty() && a.tags.is_empty() && a.pushes.is_empty() && a.logins.is_empty();
        if docker_free {
            out.push(groovy_single(s.value.trim()));
        } else if kept_other || (!a.logins.is_empty() && a.builds.is_empty()) {
            side.note(format!(
                "`{}` is not folded into the {tool} command: registry credentials come from the mounted config.json; promotions of images built elsewhere need a registry tool (https://github.com/moby/buildkit#imageregistry)",
                s.value.trim()
            ));
        }
    }
    out
}

/// Rewrite one Jenkins pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    let mut side = Side::default();
    let mut edits = Vec::new();
    for (path, findings) in common::by_path(&req.findings) {
        let Some(text) = req.files.text(&path) else {
            side.task("cannot read the file", &path, String::new(), "");
            continue;
        };
        let jf = jenkins_groovy::parse_jenkins(&text);
        let file_name = path.rsplit('/').next().unwrap_or(&path).to_string();
        edits.extend(rewrite_file(
            req, &path, &text, &jf, &file_name, &findings, &mut side,
        ));
    }
    common::finish(req, edits, side)
}

fn rewrite_file(
    req: &Request<'_>,
    path: &str,
    text: &str,
    jf: &JenkinsFile,
    file_name: &str,
    findings: &[&Finding],
    side: &mut Side,
) -> Vec<Edit> {
    let t = req.target;
    let nl = common::nl_of(text);
    let mut edits = Vec::new();
    let where_ = format!("{} `{}`", path, req.pipeline.name);
    // Build-only targets: one task with the pod template and the translated steps.
    if matches!(t, Target::Buildkit | Target::Kaniko) {
        let steps = stage_steps(jf, &req.pipeline.name, file_name);
        let builder = if t == Target::Buildkit {
            Builder::Buildkit
        } else {
            Builder::Kaniko
        };
        let commands = translated(&steps, builder, side);
        let job_dsl = steps.iter().any(|s| {
            text.get(..s.span.start)
                .is_some_and(|b| b.trim_end().ends_with("shell("))
        });
        let at = findings.first().map(|f| common::loc(f)).unwrap_or_default();
        if job_dsl {
            let snippet = common::render(
                req,
                "jenkins/pipelinejob.groovy",
                &serde_json::json!({ "job": req.pipeline.name }),
                side,
            );
            side.task(
                "turn the freestyle job into a pipelineJob: shell() cannot use a builder sidecar",
                &at,
                snippet,
                "groovy",
            );
        }
        let (tmpl, title) = if t == Target::Buildkit {
            (
                "jenkins/buildkit-pod.groovy",
                "build in a rootless BuildKit container instead of Docker-in-Docker",
            )
        } else {
            (
                "jenkins/kaniko-pod.groovy",
                "build with kaniko instead of Docker-in-Docker",
            )
        };
        let snippet = common::render(
            req,
            tmpl,
            &serde_json::json!({ "where": where_, "commands": commands }),
            side,
        );
        side.task(title, &at, snippet, "groovy");
        side.covered
            .extend(findings.iter().map(|f| f.fingerprint.clone()));
        return edits;
    }
    // Group pod-YAML hits per literal; handle the rest one by one.
    let mut pod_hits: Vec<(usize, Vec<&Finding>)> = Vec::new();
    let mut args_done: Vec<Range<usize>> = Vec::new();
    let usage_empty = req.pipeline.docker_usage.is_empty();
    let mut sysbox_agent = false;
    let mut sysbox_pod = false;
    for f in findings {
        let at = f.span.start;
        let loc = common::loc(f);
        match site_of(jf, at) {
            Site::Args(args, image) => {
                if args_done.contains(&args.span) {
                    continue;
                }
                args_done.push(args.span.clone());
                let img = image.map(|i| i.value.as_str()).unwrap_or("");
                let daemon_img = is_daemon_image(img);
                match t {
                    Target::Sysbox => {
                        let has_socket = findings
                            .iter()
                            .any(|g| g.rule == "docker-socket-mount" && within(&args.span, g.span.start));
                        let drop_socket = has_socket && usage_empty;
                        if has_socket && !usage_empty {
                            let commands: Vec<String> = stage_steps(jf, &req.pipeline.name, file_name)
                                .iter()
                                .map(|s| groovy_single(s.value.trim()))
                                .collect();
                            let snippet = common::render(
                                req,
                                "jenkins/sysbox-sidecar.groovy",
                                &serde_json::json!({ "where": where_, "commands": commands }),
                                side,
                            );
                            for g in findings.iter().filter(|g| g.rule == "docker-socket-mount" && within(&args.span, g.span.start)) {
                                side.task(
                                    "the steps run Docker commands through the host socket: give them a dind sidecar under sysbox instead",
                                    &common::loc(g),
                                    snippet.clone(),
                                    "groovy",
                                );
                            }
                        }
                        let planned = plan_args(&args.value, true, drop_socket);
                        let mut mapped = Vec::new();
                        let mut ok = true;
                        for (r, new) in planned {
                            match map_edit(path, text, args, r, &new, nl) {
                                Some(e) => mapped.push(e),
                                None => ok = false,
                            }
                        }
                        if ok {
                            if !mapped.is_empty() {
                                sysbox_agent = true;
                            }
                            edits.extend(mapped);
                        } else {
                            side.task(
                                "the docker run arguments use escapes depriv does not edit: replace --privileged by --runtime=sysbox-runc by hand",
                                &loc,
                                String::new(),
                                "",
                            );
                        }
                        if has_socket && usage_empty {
                            side.note("no Docker command was seen in these steps, so the host socket was removed; if a tool in them talks to Docker (Testcontainers …), give it a dind sidecar under sysbox (https://www.jenkins.io/doc/book/pipeline/docker/; docs/targets/sysbox.md)");
                        }
                    }
                    Target::Rootless if daemon_img => {
                        if let Some(i) = image
                            && !i.value.contains("rootless")
                        {
                            match map_edit(path, text, i, 0..i.value.len(), &common::ver(req, "dind_rootless"), nl) {
                                Some(e) => edits.push(e),
                                None => side.task(format!("replace the dind image by {} by hand", common::ver(req, "dind_rootless")), &loc, String::new(), ""),
                            }
                        }
                        for g in findings.iter().filter(|g| g.rule == "privileged-dind" && within(&args.span, g.span.start)) {
                            side.kept.push(g.fingerprint.clone());
                        }
                    }
                    Target::Tls if daemon_img => {
                        for g in findings.iter().filter(|g| g.rule == "privileged-dind" && within(&args.span, g.span.start)) {
                            side.kept.push(g.fingerprint.clone());
                        }
                    }
                    // Not a daemon image: nothing to swap or keep.
                    Target::Rootless | Target::Tls => {}
                    // Daemonless targets were handled above, before the sites.
                    Target::Buildkit | Target::Kaniko => {}
                }
            }
            Site::Template(i) => {
                let Some(ct) = jf.container_templates.get(i) else {
                    continue;
                };
                let img = ct.image.as_ref().map(|s| s.value.as_str()).unwrap_or("");
                match t {
                    Target::Sysbox => {
                        if let Some((true, r)) = &ct.privileged
                            && let Some(src) = text.get(r.clone())
                        {
                            let new = src.replacen("true", "false", 1);
                            edits.push(Edit::replace(path, r.start, r.end, new));
                            sysbox_pod = true;
                        }
                        let snippet = common::render(
                            req,
                            "jenkins/podtemplate-sysbox.yaml",
                            &serde_json::json!({ "where": where_ }),
                            side,
                        );
                        side.task(
                            "run this pod template with the sysbox RuntimeClass and hostUsers: false",
                            &loc,
                            snippet,
                            "yaml",
                        );
                    }
                    Target::Rootless if is_daemon_image(img) => {
                        if let Some(i) = &ct.image
                            && !i.value.contains("rootless")
                        {
                            match map_edit(path, text, i, 0..i.value.len(), &common::ver(req, "dind_rootless"), nl) {
                                Some(e) => edits.push(e),
                                None => side.task(format!("replace the dind image by {} by hand", common::ver(req, "dind_rootless")), &loc, String::new(), ""),
                            }
                        }
                        side.kept.push(f.fingerprint.clone());
                    }
                    Target::Tls if is_daemon_image(img) => side.kept.push(f.fingerprint.clone()),
                    // Not a daemon image: nothing to swap or keep.
                    Target::Rootless | Target::Tls => {}
                    // Daemonless targets were handled above, before the sites.
                    Target::Buildkit | Target::Kaniko => {}
                }
            }
            Site::PodYaml(i) => match pod_hits.iter_mut().find(|(j, _)| *j == i) {
                Some((_, v)) => v.push(f),
                None => pod_hits.push((i, vec![*f])),
            },
            Site::HostPath => {
                let snippet = if t == Target::Sysbox {
                    common::render(
                        req,
                        "jenkins/podtemplate-sysbox.yaml",
                        &serde_json::json!({ "where": where_ }),
                        side,
                    )
                } else {
                    String::new()
                };
                side.task(
                    format!(
                        "remove the hostPathVolume of the Docker socket and add a `{}` dind containerTemplate with DOCKER_TLS_CERTDIR=/certs shared through an emptyDir{}",
                        common::ver(req, "dind"),
                        if t == Target::Sysbox {
                            " (not privileged: the pod runs on sysbox)"
                        } else {
                            " (it must run privileged: choose sysbox to avoid that)"
                        }
                    ),
                    &loc,
                    snippet,
                    "yaml",
                );
            }
            Site::Env => side.task(
                "this Docker daemon is reached over plaintext TCP: enable TLS on it (2376, client certificates, https://docs.docker.com/engine/security/protect-access/; docs/targets/tls.md) and set DOCKER_HOST=tcp://HOST:2376, DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH from a Jenkins credential",
                &loc,
                String::new(),
                "",
            ),
            Site::Shell(i) => {
                let job_dsl = jf
                    .shell_steps
                    .get(i)
                    .is_some_and(|s| text.get(..s.span.start).is_some_and(|b| b.trim_end().ends_with("shell(")));
                if job_dsl {
                    let snippet = common::render(
                        req,
                        "jenkins/pipelinejob.groovy",
                        &serde_json::json!({ "job": req.pipeline.name }),
                        side,
                    );
                    side.task(
                        format!("{}: a freestyle shell() step; convert the job to a pipelineJob and run the step in a {} setup", f.rule, t.as_str()),
                        &loc,
                        snippet,
                        "groovy",
                    );
                } else {
                    side.task(
                        format!("{}: a shell step runs Docker with this flag; change the command for the {} target by hand", f.rule, t.as_str()),
                        &loc,
                        String::new(),
                        "",
                    );
                }
            }
            Site::Other => {}
        }
    }
    for (i, fs) in &pod_hits {
        let Some(lit) = jf.pod_yamls.get(*i) else {
            continue;
        };
        let before = edits.len();
        edits.extend(pod_yaml(req, path, text, nl, lit, fs, side));
        if edits.len() > before && t == Target::Sysbox {
            sysbox_pod = true;
        }
    }
    if sysbox_agent {
        common::sysbox_host_task(req, &format!("Jenkins agent hosts running {where_}"), side);
    }
    if sysbox_pod {
        common::sysbox_cluster_tasks(req, &where_, side);
    }
    edits
}

/// The Kubernetes rewrite inside a pod YAML string.
fn pod_yaml(
    req: &Request<'_>,
    path: &str,
    file: &str,
    nl: &str,
    lit: &StrLit,
    fs: &[&Finding],
    side: &mut Side,
) -> Vec<Edit> {
    let at = fs.first().map(|f| common::loc(f)).unwrap_or_default();
    let Ok(y) = Yaml::parse(&lit.value) else {
        side.task(
            "the pod template YAML does not parse",
            &at,
            String::new(),
            "",
        );
        return Vec::new();
    };
    let hits: Vec<Hit<'_>> = fs
        .iter()
        .filter_map(|f| {
            Some(Hit {
                f,
                at: value_offset(lit, f.span.start)?,
            })
        })
        .collect();
    let mut p = YamlPlan::new(path, &lit.value, &y);
    super::kube::plan_yaml(req, &mut p, &hits, side);
    let planned = p.finish_or_report("the pod template", &at, side);
    if planned.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for e in planned {
        match map_edit(path, file, lit, e.start..e.end, &e.text, nl) {
            Some(m) => out.push(m),
            None => {
                side.task(
                    "the pod template string uses escapes or quoting depriv does not edit: apply the Kubernetes rewrite by hand",
                    &at,
                    String::new(),
                    "",
                );
                return Vec::new();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::Strategy;
    use crate::rewrite::common::testkit;

    #[test]
    fn args_words_are_replaced_and_removed_with_their_spacing() {
        let apply = |v: &str, sysbox, sock| {
            let mut out = v.to_string();
            let mut es = plan_args(v, sysbox, sock);
            es.sort_by_key(|(r, _)| std::cmp::Reverse((r.start, r.end)));
            for (r, t) in es {
                out.replace_range(r, &t);
            }
            out
        };
        assert_eq!(
            apply(
                "--privileged -v /var/run/docker.sock:/var/run/docker.sock",
                true,
                true
            ),
            "--runtime=sysbox-runc"
        );
        assert_eq!(
            apply(
                "-u 0:0 -v /var/run/docker.sock:/var/run/docker.sock",
                true,
                true
            ),
            "-u 0:0"
        );
        assert_eq!(
            apply(
                "--security-opt apparmor=unconfined --security-opt seccomp=unconfined --entrypoint=",
                true,
                false
            ),
            "--runtime=sysbox-runc --entrypoint="
        );
        assert_eq!(
            apply("--cap-add SYS_ADMIN --device /dev/fuse", true, false),
            "--runtime=sysbox-runc --device /dev/fuse"
        );
        assert_eq!(
            apply("--privileged --net=host -u root", true, false),
            "--runtime=sysbox-runc -u root"
        );
        assert_eq!(apply("-u root", true, true), "-u root");
        assert_eq!(apply("", true, true), "");
    }

    const DEMO: &str = "pipeline {\n  agent none\n  stages {\n    stage('Unit tests') {\n      agent {\n        docker {\n          image 'python:3.13-slim'\n          args '--privileged -v /var/run/docker.sock:/var/run/docker.sock'\n        }\n      }\n      steps {\n        sh 'python -m unittest'\n      }\n    }\n    stage('Image') {\n      agent {\n        kubernetes {\n          yaml '''\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: docker\n    image: docker:29-cli\n    command: [\"sleep\", \"infinity\"]\n    env:\n    - name: DOCKER_HOST\n      value: tcp://localhost:2375\n  - name: dind\n    image: docker:29-dind\n    securityContext:\n      privileged: true\n    env:\n    - name: DOCKER_TLS_CERTDIR\n      value: \"\"\n'''\n        }\n      }\n      steps {\n        container('docker') {\n          sh 'docker build -t r.example/shop:${BUILD_NUMBER} .'\n          sh 'docker push r.example/shop:${BUILD_NUMBER}'\n        }\n      }\n    }\n  }\n}\n";

    #[test]
    fn sysbox_agent_args_and_pod_yaml_inside_the_string() {
        let run = testkit::check(&[("Jenkinsfile", DEMO)], Strategy::Sysbox);
        let out = &run.files["Jenkinsfile"];
        assert!(
            out.contains("          args '--runtime=sysbox-runc'\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "spec:\n  runtimeClassName: sysbox-runc\n  hostUsers: false\n  containers:\n"
            ),
            "{out}"
        );
        assert!(out.contains("    - name: DOCKER_HOST\n      value: tcp://localhost:2376\n    - name: DOCKER_TLS_VERIFY\n      value: \"1\"\n"), "{out}");
        assert!(
            out.contains("    - name: DOCKER_TLS_CERTDIR\n      value: /certs\n"),
            "{out}"
        );
        assert!(!out.contains("privileged"), "{out}");
        assert_eq!(run.statuses(), vec!["migrated", "migrated"]);
        let crlf = DEMO.replace('\n', "\r\n");
        let run2 = testkit::check(&[("Jenkinsfile", &crlf)], Strategy::Sysbox);
        assert_eq!(run2.files["Jenkinsfile"], out.replace('\n', "\r\n"));
    }

    #[test]
    fn buildkit_stage_is_a_manual_task_with_translated_commands() {
        let run = testkit::check(&[("Jenkinsfile", DEMO)], Strategy::Buildkit);
        // The unit-test stage runs no Docker build: it falls back to its recommended target.
        assert!(run.files["Jenkinsfile"].contains("      privileged: true\n"));
        let snippet = run
            .snippets()
            .into_iter()
            .find(|s| s.contains("container('buildkit')"))
            .expect("buildkit snippet");
        assert!(
            snippet.contains("buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=. --output \"type=image,name=r.example/shop:${BUILD_NUMBER},push=true\""),
            "{snippet}"
        );
        assert!(
            snippet.contains("moby/buildkit:v0.32.2-rootless"),
            "{snippet}"
        );
    }

    #[test]
    fn kaniko_snippet_folds_the_push_step() {
        let run = testkit::check(&[("Jenkinsfile", DEMO)], Strategy::Kaniko);
        let snippet = run
            .snippets()
            .into_iter()
            .find(|s| s.contains("/kaniko/executor"))
            .expect("kaniko snippet");
        assert!(
            snippet.contains("--destination \"r.example/shop:${BUILD_NUMBER}\""),
            "{snippet}"
        );
        assert!(
            snippet.contains("ghcr.io/osscontainertools/kaniko:v1.28.3-debug"),
            "{snippet}"
        );
        assert!(!snippet.contains("docker push"), "{snippet}");
    }

    #[test]
    fn container_template_and_rootless_withrun() {
        let src = "podTemplate(containers: [\n    containerTemplate(name: 'dind', image: 'docker:29-dind', privileged: true, ttyEnabled: true),\n]) {\n  node(POD_LABEL) {\n    sh 'make'\n  }\n}\n";
        let run = testkit::check(&[("Jenkinsfile", src)], Strategy::Sysbox);
        assert!(run.files["Jenkinsfile"].contains("privileged: false, ttyEnabled"));
        assert!(
            run.snippets()
                .iter()
                .any(|s| s.contains("hostUsers: false"))
        );
        let src = "node('docker') {\n  docker.image('docker:29-dind').withRun('--privileged -e DOCKER_TLS_CERTDIR=/certs') { c ->\n    sh 'docker version'\n  }\n}\n";
        let run = testkit::check(&[("Jenkinsfile", src)], Strategy::Rootless);
        assert!(
            run.files["Jenkinsfile"]
                .contains("docker.image('docker:29-dind-rootless').withRun('--privileged")
        );
        let run = testkit::check(&[("Jenkinsfile", src)], Strategy::Sysbox);
        assert!(
            run.files["Jenkinsfile"]
                .contains("withRun('--runtime=sysbox-runc -e DOCKER_TLS_CERTDIR=/certs')")
        );
    }

    #[test]
    fn escapes_and_interpolation_are_left_alone() {
        let src = "pipeline {\n  agent { docker { image 'x'\n args \"--privileged \\\\\n -u ${U}\" } }\n  stages { stage('a') { steps { sh 'true' } } }\n}\n";
        let run = testkit::migrate(&[("Jenkinsfile", src)], Strategy::Sysbox);
        for (p, t) in &run.files {
            if p == "Jenkinsfile" {
                assert!(t.contains("-u ${U}"));
            }
        }
    }

    #[test]
    fn adversarial_inputs_do_not_panic() {
        for src in [
            "",
            "pipeline { agent { docker { args '--privileged",
            "podTemplate(yaml: '''\nspec:\n  containers:\n  - name: d\n    image: docker:dind\n    securityContext: {privileged: true}\n''') {}",
            &"docker.image('docker:dind').inside('--privileged') {\n".repeat(200),
        ] {
            for s in [
                Strategy::Sysbox,
                Strategy::Tls,
                Strategy::Rootless,
                Strategy::Buildkit,
            ] {
                let _ = testkit::migrate(&[("Jenkinsfile", src)], s);
            }
        }
    }
}
