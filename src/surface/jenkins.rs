//! Jenkins: Jenkinsfiles (declarative and scripted) and Job DSL. The tolerant Groovy reader
//! hands over agents, `docker.image(…).inside(…)`, `withDockerServer`, `sh`/`shell` steps,
//! `containerTemplate`s, `hostPathVolume`s and pod YAML strings; this module turns them into
//! pipelines (one per stage or job, else one per file) with every offset in the Groovy file.

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
    for s in &jf.shell_steps {
        let i = index_of(s.span.start, &jf, &mut pipelines);
        let a = docker_cmd::analyze_script(&s.value);
        let p = &mut pipelines[i];
        map_facts(file, s, a.facts, &mut p.script_facts);
        for (u, _) in a.usage {
            p.usage.insert(u.into());
        }
        super::collect_local_scripts(&s.value, &mut p.runs_scripts);
    }
    for a in &jf.docker_agents {
        let i = index_of(a.span.start, &jf, &mut pipelines);
        let p = &mut pipelines[i];
        let mut c = Container::new(Role::Workload);
        c.image = a
            .image
            .as_ref()
            .map(|s| Val::new(s.value.clone(), lit_loc(file, s)));
        if let Some(args) = &a.args {
            let facts = docker_cmd::analyze_run_args(
                &args.value,
                a.image.as_ref().map(|s| s.value.as_str()),
            );
            map_facts(file, args, facts, &mut c.facts);
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
        if matches!(
            call.method,
            jenkins_groovy::InsideMethod::WithRun | jenkins_groovy::InsideMethod::Run
        ) {
            p.usage.insert(crate::model::DockerUse::Run);
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
    pipelines
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
