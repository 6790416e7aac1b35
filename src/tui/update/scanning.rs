//! The scan's result arriving: the overview's filters, the environment hints, the status line.

use super::*;

pub(super) fn scanned(m: &mut Model, s: Arc<ScanResult>) {
    m.busy = None;
    m.progress.read = s.files_scanned;
    let mut surfaces: Vec<Surface> = s.findings.iter().map(|f| f.surface).collect();
    surfaces.sort();
    surfaces.dedup();
    let rules: Vec<&'static str> = crate::rules::REGISTRY
        .iter()
        .map(|r| r.id)
        .filter(|id| s.findings.iter().any(|f| f.rule == *id))
        .collect();
    m.overview.surfaces = surfaces;
    m.overview.rules = rules;
    m.env.hints = env_hints(&s, &m.env.original);
    let active = s.findings.iter().filter(|f| !f.suppressed).count();
    let errors = s
        .diagnostics
        .iter()
        .filter(|d| d.level == crate::finding::DiagLevel::Error)
        .count();
    let text = format!(
        "Scanned {}: {} active {}{}",
        plural(s.files_scanned, "file", "files"),
        active,
        if active == 1 { "finding" } else { "findings" },
        if errors > 0 {
            format!(
                "; {} could not be read or parsed",
                plural(errors, "file", "files")
            )
        } else {
            String::new()
        }
    );
    status(m, if errors > 0 { Level::Warn } else { Level::Info }, text);
    m.scan = Some(s);
    rebuild(m);
    if m.screen == Screen::Scanning {
        m.screen = Screen::Overview;
    }
}

pub(super) fn env_hints(s: &ScanResult, original: &crate::config::Environment) -> Vec<String> {
    let mut hints = Vec::new();
    if *original != crate::config::Environment::default() {
        hints.push("Pre-filled from the [environment] table of .depriv.toml.".to_string());
    } else {
        hints.push("Pre-filled with the defaults (what --accept-defaults uses).".to_string());
    }
    let count = |h: Hosting| s.pipelines.iter().filter(|p| p.hosting == h).count();
    let gh = count(Hosting::GithubHosted);
    if gh > 0 {
        hints.push(format!(
            "The scan saw {} on GitHub-hosted runners: sysbox is never offered there.",
            plural(gh, "job", "jobs")
        ));
    }
    let runner = s
        .pipelines
        .iter()
        .filter(|p| p.surface == Surface::RunnerToml)
        .count();
    if runner > 0 {
        hints.push(format!(
            "The scan saw {} in a GitLab Runner config.toml: those hosts are self-managed.",
            plural(runner, "runner", "runners")
        ));
    }
    let kube = count(Hosting::Kubernetes);
    if kube > 0 {
        hints.push(format!(
            "The scan saw {} running in Kubernetes.",
            plural(kube, "pipeline", "pipelines")
        ));
    }
    hints
}
