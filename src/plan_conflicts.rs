//! Target combinations that cannot work together on one runner. Rootless BuildKit starts its
//! daemon in a user namespace of its own (rootlesskit); inside a sysbox container that is a
//! nested user namespace, which sysbox lists as unsupported
//! (github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md). So when a plan puts
//! a runner on `sysbox-runc` and a job that runs on that runner on rootless BuildKit, the job's
//! build would fail at start-up. This pass finds such pairs and moves the job to a target that
//! works under a sysbox runner, saying why in the job's `why` (which the plan, the TUI and the
//! reports show).
//!
//! Which jobs run on which runner is not in the repository (GitLab runner tags and GitHub runner
//! labels are assigned on the server), so a runner is taken to serve every job of its CI system
//! in the same repository: GitLab Runner configurations (a `config.toml`, gitlab-runner Helm
//! values) serve the GitLab CI jobs; actions-runner-controller values serve the GitHub jobs that
//! run on self-hosted runners.

use crate::finding::Surface;
use crate::migration_plan::{MigrationPlan, PipelinePlan};
use crate::model::Hosting;
use crate::plan::{Choice, Target};

/// Which CI system a runner serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ci {
    Gitlab,
    Github,
}

/// The CI system a pipeline is a runner of, if it is one.
fn runner_of(p: &PipelinePlan) -> Option<Ci> {
    let privileged_runner = p.findings.iter().any(|f| f.rule == "privileged-runner");
    match p.pipeline.surface {
        Surface::RunnerToml => Some(Ci::Gitlab),
        Surface::Kubernetes if privileged_runner => {
            let hint = format!("{} {}", p.pipeline.path, p.pipeline.name).to_ascii_lowercase();
            Some(if hint.contains("gitlab") {
                Ci::Gitlab
            } else {
                Ci::Github
            })
        }
        _ => None,
    }
}

/// The CI system whose runners a job runs on, for jobs a repository runner may serve.
fn job_of(p: &PipelinePlan) -> Option<Ci> {
    match p.pipeline.surface {
        Surface::GitlabCi => Some(Ci::Gitlab),
        Surface::GithubActions if p.pipeline.hosting != Hosting::GithubHosted => Some(Ci::Github),
        _ => None,
    }
}

/// Whether `t` is feasible for a pipeline.
fn feasible(p: &PipelinePlan, t: Target) -> bool {
    p.options
        .iter()
        .any(|o| o.target == t && o.infeasible.is_none())
}

/// What a job on a sysbox runner uses instead of rootless BuildKit, and why it works there.
fn replacement(p: &PipelinePlan, ci: Ci) -> Option<(Target, &'static str)> {
    let candidates: &[(Target, &str)] = match ci {
        // A GitLab job keeps its dind service, which runs unprivileged under the runner's
        // sysbox runtime (the runner's `runtime` applies to service containers too).
        Ci::Gitlab => &[
            (
                Target::Sysbox,
                "its dind service runs unprivileged under the runner's sysbox runtime",
            ),
            (Target::Kaniko, "kaniko needs no user namespace of its own"),
        ],
        // A GitHub job on an ARC runner under sysbox talks to the runner pod's Docker daemon;
        // a privileged container started there is privileged only inside the sysbox container
        // (github.com/nestybox/sysbox/blob/master/docs/user-guide/dind.md).
        Ci::Github => &[(
            Target::Tls,
            "its dind service is privileged only inside the runner's sysbox container",
        )],
    };
    candidates.iter().copied().find(|(t, _)| feasible(p, *t))
}

/// Move jobs off rootless BuildKit where a runner of their CI system goes to sysbox. Returns one
/// message per change (also written into the job's `why`).
pub fn resolve_runner_conflicts(plan: &mut MigrationPlan) -> Vec<String> {
    let sysbox_runners: Vec<(Ci, String)> = plan
        .pipelines
        .iter()
        .filter(|p| p.choice == Choice::Sysbox)
        .filter_map(|p| runner_of(p).map(|ci| (ci, p.pipeline.path.clone())))
        .collect();
    let mut out = Vec::new();
    for p in &mut plan.pipelines {
        if p.choice != Choice::Buildkit {
            continue;
        }
        let Some(ci) = job_of(p) else {
            continue;
        };
        let Some((_, runner)) = sysbox_runners.iter().find(|(c, _)| *c == ci) else {
            continue;
        };
        let conflict = format!(
            "the runner configured in {runner} moves to sysbox, and rootless BuildKit cannot start there: it needs a nested user namespace, which sysbox does not support (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/limitations.md; docs/targets/sysbox.md, Troubleshooting)"
        );
        let why = match replacement(p, ci) {
            Some((t, how)) => {
                p.choice = Choice::from(t);
                format!(
                    "{} instead of buildkit, because {conflict}; {how}",
                    t.as_str()
                )
            }
            None => format!(
                "stays on buildkit although {conflict}; run this job on a runner without sysbox"
            ),
        };
        let msg = format!("{}: {why}", p.pipeline.name);
        p.why = if p.why.is_empty() {
            why
        } else {
            format!("{}; {why}", p.why)
        };
        out.push(msg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::migrate::{self, Strategy};

    const RUNNER: &str = "concurrent = 1\n\n[[runners]]\n  name = \"shared\"\n  executor = \"docker\"\n  [runners.docker]\n    image = \"docker:29-cli\"\n    privileged = true\n";
    const JOBS: &str = "build:\n  image: docker:29-cli\n  services:\n    - docker:29-dind\n  script:\n    - docker build -t $CI_REGISTRY_IMAGE .\n    - docker push $CI_REGISTRY_IMAGE\n";

    fn plan(files: &[(&str, &str)]) -> MigrationPlan {
        let config = Config::default();
        let map = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let scan = crate::scan::scan_memory(map, &config);
        migrate::plan(&scan, &config.environment, Strategy::Auto)
    }

    fn choice(p: &MigrationPlan, name: &str) -> Choice {
        p.pipelines
            .iter()
            .find(|x| x.pipeline.name == name)
            .map(|x| x.choice)
            .unwrap_or(Choice::Skip)
    }

    #[test]
    fn a_build_job_on_a_sysbox_runner_keeps_its_dind_under_sysbox() {
        let p = plan(&[("config.toml", RUNNER), (".gitlab-ci.yml", JOBS)]);
        let runner = p
            .pipelines
            .iter()
            .find(|x| x.pipeline.surface == Surface::RunnerToml)
            .expect("runner pipeline");
        assert_eq!(runner.choice, Choice::Sysbox);
        assert_eq!(choice(&p, "build"), Choice::Sysbox);
        let job = p
            .pipelines
            .iter()
            .find(|x| x.pipeline.name == "build")
            .expect("job");
        assert!(job.why.contains("nested user namespace"), "{}", job.why);
        assert!(job.why.contains("config.toml"), "{}", job.why);
    }

    #[test]
    fn without_a_sysbox_runner_the_build_job_stays_on_buildkit() {
        let p = plan(&[(".gitlab-ci.yml", JOBS)]);
        assert_eq!(choice(&p, "build"), Choice::Buildkit);
        let mut p = plan(&[("config.toml", RUNNER), (".gitlab-ci.yml", JOBS)]);
        // A runner the user keeps off sysbox: no conflict, nothing changes.
        for x in &mut p.pipelines {
            if x.pipeline.surface == Surface::RunnerToml {
                x.choice = Choice::Tls;
            }
            if x.pipeline.name == "build" {
                x.choice = Choice::Buildkit;
            }
        }
        assert!(resolve_runner_conflicts(&mut p).is_empty());
        assert_eq!(choice(&p, "build"), Choice::Buildkit);
    }

    #[test]
    fn kaniko_when_sysbox_is_not_feasible_for_the_job() {
        let mut p = plan(&[("config.toml", RUNNER), (".gitlab-ci.yml", JOBS)]);
        for x in &mut p.pipelines {
            if x.pipeline.name == "build" {
                x.choice = Choice::Buildkit;
                for o in &mut x.options {
                    if o.target == Target::Sysbox {
                        o.infeasible = Some("test".into());
                    }
                }
            }
        }
        let msgs = resolve_runner_conflicts(&mut p);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert_eq!(choice(&p, "build"), Choice::Kaniko);
        assert!(msgs[0].contains("kaniko instead of buildkit"));
    }
}
