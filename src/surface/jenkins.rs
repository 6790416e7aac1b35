//! Jenkins: Jenkinsfiles (declarative and scripted) and Job DSL. The tolerant Groovy reader
//! hands over agents, `docker.image(…).inside(…)`, `withDockerServer`, `sh`/`shell` steps,
//! `containerTemplate`s, `hostPathVolume`s and pod YAML strings; this module turns them into
//! pipelines (one per stage or job, else one per file) with every offset in the Groovy file.

use std::collections::BTreeSet;

use crate::finding::{DiagLevel, Diagnostic, Surface};
use crate::model::{Container, LocFact, Pipeline, Role, Signal, Val};
use crate::source::docker_cmd;
use crate::source::jenkins_groovy::{self, JenkinsFile, StrLit};
use crate::source::yaml::Yaml;
use crate::source::{FileId, Loc, SourceFile, Span};

fn lit_loc(file: FileId, s: &StrLit) -> Loc {
    Loc::new(file, Span::new(s.span.start, s.span.end))
}

fn map_facts(file: FileId, s: &StrLit, facts: Vec<docker_cmd::Fact>, out: &mut Vec<LocFact>) {
    for f in facts {
        let start = s.src_offset(f.span.start);
        let end = s.src_offset(f.span.end.max(f.span.start + 1) - 1) + 1;
        out.push(LocFact {
            loc: Loc::new(file, Span::new(start, end.max(start))),
            fact: f,
        });
    }
}

/// Lower a Jenkinsfile or Job DSL script.
pub fn lower(sf: &SourceFile, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Pipeline> {
    let jf = jenkins_groovy::parse_jenkins(&sf.text);
    for (r, msg) in &jf.diagnostics {
        diags.push(super::diag_at(sf, r.start, DiagLevel::Warning, msg.clone()));
    }
    let file_name = sf.path.rsplit('/').next().unwrap_or(&sf.path).to_string();
    let mut pipelines: Vec<Pipeline> = Vec::new();
    // One pipeline per innermost block (stage/job); constructs outside any block belong to a
    // file-level pipeline.
    let index_of = |offset: usize, jf: &JenkinsFile, pipelines: &mut Vec<Pipeline>| -> usize {
        let (name, decl) = match jf.enclosing_block(offset) {
            Some(b) => (
                b.name.clone(),
                Span::new(b.label_span.start, b.label_span.end),
            ),
            None => (file_name.clone(), Span::new(0, 0)),
        };
        if let Some(i) = pipelines.iter().position(|p| p.name == name) {
            return i;
        }
        let mut p = Pipeline::new(name, Surface::Jenkins, Loc::new(file, decl));
        p.hosting = crate::model::Hosting::SelfHosted;
        pipelines.push(p);
        pipelines.len() - 1
    };
    // Pipelines whose own steps call Docker (not the agent containers they run in).
    let mut docker_steps: BTreeSet<String> = BTreeSet::new();
    for s in &jf.shell_steps {
        let i = index_of(s.span.start, &jf, &mut pipelines);
        let a = docker_cmd::analyze_script(&s.value);
        let p = &mut pipelines[i];
        if !a.usage.is_empty() {
            docker_steps.insert(p.name.clone());
        }
        map_facts(file, s, a.facts, &mut p.script_facts);
        for (u, _) in a.usage {
            p.usage.insert(u.into());
        }
        super::collect_local_scripts(&s.value, &mut p.runs_scripts);
    }
    for (u, r) in &jf.docker_usage {
        let i = index_of(r.start, &jf, &mut pipelines);
        pipelines[i].usage.insert((*u).into());
        docker_steps.insert(pipelines[i].name.clone());
    }
    for a in &jf.docker_agents {
        let i = index_of(a.span.start, &jf, &mut pipelines);
        let p = &mut pipelines[i];
        if a.dockerfile {
            // The agent's image is built from the repository's Dockerfile, then run.
            p.usage.insert(crate::model::DockerUse::Build);
            p.usage.insert(crate::model::DockerUse::Run);
        }
        let mut c = Container::new(Role::Workload);
        c.image = a
            .image
            .as_ref()
            .map(|s| Val::new(s.value.clone(), lit_loc(file, s)));
        // Jenkins uses the last `args`; every one written is reported.
        for args in a.overridden_args.iter().chain(&a.args) {
            let facts = docker_cmd::analyze_run_args(
                &args.value,
                a.image.as_ref().map(|s| s.value.as_str()),
            );
            map_facts(file, args, facts, &mut c.facts);
            if args.value.contains("DOCKER_HOST") {
                c.env.push((
                    "DOCKER_HOST".into(),
                    Val::new(String::new(), lit_loc(file, args)),
                ));
            }
        }
        p.containers.push(c);
    }
    for call in &jf.image_calls {
        let i = index_of(call.span.start, &jf, &mut pipelines);
        let p = &mut pipelines[i];
        let mut c = Container::new(Role::Workload);
        c.image = call
            .image
            .as_ref()
            .map(|s| Val::new(s.value.clone(), lit_loc(file, s)));
        if let Some(args) = &call.args {
            let facts = docker_cmd::analyze_run_args(
                &args.value,
                call.image.as_ref().map(|s| s.value.as_str()),
            );
            map_facts(file, args, facts, &mut c.facts);
        }
        // `.inside`, `.withRun` and `.run` all start a container on the agent's daemon.
        p.usage.insert(crate::model::DockerUse::Run);
        if let Some(args) = &call.args
            && args.value.contains("DOCKER_HOST")
        {
            c.env.push((
                "DOCKER_HOST".into(),
                Val::new(String::new(), lit_loc(file, args)),
            ));
        }
        p.containers.push(c);
    }
    for uri in &jf.docker_server_uris {
        let i = index_of(uri.span.start, &jf, &mut pipelines);
        if crate::rules::is_plaintext_tcp(&uri.value) {
            pipelines[i]
                .signals
                .push(Signal::PlaintextDaemon(lit_loc(file, uri)));
        }
    }
    for (name, value) in &jf.env_assignments {
        let i = index_of(name.span.start, &jf, &mut pipelines);
        pipelines[i].env.push((
            name.value.clone(),
            Val::new(value.value.clone(), lit_loc(file, value)),
        ));
    }
    for t in &jf.container_templates {
        let i = index_of(t.span.start, &jf, &mut pipelines);
        let p = &mut pipelines[i];
        let mut c = Container::new(Role::Sidecar);
        c.name = t.name.as_ref().map(|s| s.value.clone());
        c.image = t
            .image
            .as_ref()
            .map(|s| Val::new(s.value.clone(), lit_loc(file, s)));
        if let Some((b, r)) = &t.privileged {
            c.privileged = Some(Val::new(*b, Loc::new(file, Span::new(r.start, r.end))));
        }
        for (k, v) in &t.env {
            c.env
                .push((k.value.clone(), Val::new(v.value.clone(), lit_loc(file, v))));
        }
        for s in [&t.command, &t.args].into_iter().flatten() {
            for w in s.value.split_whitespace() {
                c.command.push(Val::new(w.to_string(), lit_loc(file, s)));
            }
        }
        p.containers.push(c);
    }
    for v in &jf.host_path_volumes {
        let i = index_of(v.span.start, &jf, &mut pipelines);
        if crate::rules::is_socket_path(&v.host_path.value) {
            pipelines[i].signals.push(Signal::SocketMount(Loc::new(
                file,
                Span::new(v.span.start, v.span.end),
            )));
        }
    }
    for s in &jf.pod_yamls {
        let i = index_of(s.span.start, &jf, &mut pipelines);
        match Yaml::parse(&s.value) {
            Ok(y) => {
                let inner_sf = SourceFile::new(sf.path.clone(), s.value.clone());
                let mut inner_diags = Vec::new();
                let inner = super::kube::lower(&y, file, &inner_sf, &mut inner_diags);
                let p = &mut pipelines[i];
                for ip in inner {
                    for mut c in ip.containers {
                        remap_container(&mut c, s);
                        p.containers.push(c);
                    }
                    for sig in ip.signals {
                        p.signals.push(remap_signal(sig, s));
                    }
                    for mut f in ip.script_facts {
                        f.loc = remap(f.loc, s);
                        p.script_facts.push(f);
                    }
                }
            }
            Err(e) => diags.push(super::diag_at(
                sf,
                s.src_offset(e.offset),
                DiagLevel::Warning,
                format!("pod template YAML does not parse: {}", e.message),
            )),
        }
    }
    // A file-level agent runs every stage: it sees what all of them use Docker for.
    if let Some(fi) = pipelines
        .iter()
        .position(|p| p.name == file_name && !p.containers.is_empty())
    {
        let all: Vec<crate::model::DockerUse> = pipelines
            .iter()
            .flat_map(|p| p.usage.iter().copied())
            .collect();
        pipelines[fi].usage.extend(all);
    }
    daemon_in_privileged_agent(&mut pipelines, &file_name, &docker_steps);
    pipelines
}

/// A privileged agent container whose steps call `docker`, with no host socket and no
/// `DOCKER_HOST` in sight, can only reach a daemon it runs itself: it is a Docker-in-Docker
/// daemon (`privileged-dind`), not a privileged workload. A file-level agent serves every
/// stage, so the whole file is its scope; a stage's agent serves its stage.
fn daemon_in_privileged_agent(
    pipelines: &mut [Pipeline],
    file_name: &str,
    docker_steps: &BTreeSet<String>,
) {
    struct Scope {
        docker_steps: bool,
        socket_or_host: bool,
    }
    let judge = |ps: &[&Pipeline]| Scope {
        docker_steps: ps.iter().any(|p| docker_steps.contains(&p.name)),
        socket_or_host: ps.iter().any(|p| {
            crate::rules::all_facts(p).any(|f| {
                matches!(
                    f.fact.kind,
                    docker_cmd::FactKind::SocketMount | docker_cmd::FactKind::PlaintextDaemon
                )
            }) || p
                .signals
                .iter()
                .any(|s| matches!(s, Signal::SocketMount(_)))
                || p.env.iter().any(|(k, _)| k == "DOCKER_HOST")
                || p.containers.iter().any(|c| {
                    c.env.iter().any(|(k, _)| k == "DOCKER_HOST")
                        || c.volumes.iter().any(|v| {
                            crate::rules::is_socket_path(crate::rules::volume_source(&v.v))
                        })
                })
        }),
    };
    let file_scope = {
        let all: Vec<&Pipeline> = pipelines.iter().collect();
        judge(&all)
    };
    for p in pipelines.iter_mut() {
        let scope = if p.name == file_name {
            Scope {
                docker_steps: file_scope.docker_steps,
                socket_or_host: file_scope.socket_or_host,
            }
        } else {
            judge(&[&*p])
        };
        if !scope.docker_steps || scope.socket_or_host {
            continue;
        }
        for c in &mut p.containers {
            for f in &mut c.facts {
                if f.fact.kind == (docker_cmd::FactKind::Privileged { daemon: false }) {
                    f.fact.kind = docker_cmd::FactKind::Privileged { daemon: true };
                }
            }
        }
    }
}

fn remap(loc: Loc, s: &StrLit) -> Loc {
    let start = s.src_offset(loc.span.start);
    let end = s.src_offset(loc.span.end.max(loc.span.start + 1) - 1) + 1;
    Loc::new(loc.file, Span::new(start, end.max(start)))
}

fn remap_val<T>(v: &mut Val<T>, s: &StrLit) {
    v.loc = remap(v.loc, s);
}

fn remap_container(c: &mut Container, s: &StrLit) {
    if let Some(i) = c.image.as_mut() {
        remap_val(i, s);
    }
    if let Some(p) = c.privileged.as_mut() {
        remap_val(p, s);
    }
    if let Some(r) = c.runtime.as_mut() {
        remap_val(r, s);
    }
    for list in [
        &mut c.volumes,
        &mut c.host_paths,
        &mut c.cap_add,
        &mut c.security_opt,
        &mut c.ports,
        &mut c.command,
    ] {
        for v in list.iter_mut() {
            remap_val(v, s);
        }
    }
    for (_, v) in c.env.iter_mut() {
        remap_val(v, s);
    }
    for f in c.facts.iter_mut() {
        f.loc = remap(f.loc, s);
    }
}

fn remap_signal(sig: Signal, s: &StrLit) -> Signal {
    match sig {
        Signal::RunnerPrivileged(l) => Signal::RunnerPrivileged(remap(l, s)),
        Signal::PlaintextDaemon(l) => Signal::PlaintextDaemon(remap(l, s)),
        Signal::TlsDisabled(l) => Signal::TlsDisabled(remap(l, s)),
        Signal::SocketMount(l) => Signal::SocketMount(remap(l, s)),
        Signal::RunnerSocketMount(l) => Signal::RunnerSocketMount(remap(l, s)),
        Signal::PrivilegedContainer(l) => Signal::PrivilegedContainer(remap(l, s)),
        Signal::PrivilegedDind(l) => Signal::PrivilegedDind(remap(l, s)),
        Signal::CapAdd(mut v) => {
            remap_val(&mut v, s);
            Signal::CapAdd(v)
        }
        Signal::Unconfined(mut v) => {
            remap_val(&mut v, s);
            Signal::Unconfined(v)
        }
    }
}
