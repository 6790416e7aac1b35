//! The migration plan: a target per pipeline with every option, the reason for the choice and
//! the pipelines that share a definition, as the migration engine (`migrate::plan`) builds it
//! and the terminal UI and the reports show it; saved as a plan file and checked against one.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::Environment;
use crate::finding::Finding;
use crate::plan::{Choice, Decision, PlanFile, Target, TargetOption};
use crate::scan::PipelineSummary;

/// The plan for one pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct PipelinePlan {
    /// The pipeline.
    pub pipeline: PipelineSummary,
    /// Its active findings.
    pub findings: Vec<Finding>,
    /// Every target with feasibility, trade-off and residual risk.
    pub options: Vec<TargetOption>,
    /// The recommended target.
    pub recommended: Target,
    /// The decision.
    pub choice: Choice,
    /// Why this choice (recommended, forced, from a plan file, or why a forced one was refused).
    pub why: String,
    /// Other pipelines that share a construct this one's findings sit in.
    pub shared_with: Vec<String>,
    /// Its group: pipelines sharing a definition have the same group (a plan index).
    pub group: usize,
    /// What depriv advises when its containers are privileged for their workload (KVM,
    /// FUSE, systemd, …) rather than a Docker daemon, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<(Choice, String)>,
}

impl PipelinePlan {
    /// Stable key: (declaring path, name).
    pub fn key(&self) -> (&str, &str) {
        (&self.pipeline.path, &self.pipeline.name)
    }
}

/// The whole plan.
#[derive(Clone, Debug, Serialize)]
pub struct MigrationPlan {
    /// Environment answers used.
    pub environment: Environment,
    /// One entry per pipeline with active findings, sorted by (path, name).
    pub pipelines: Vec<PipelinePlan>,
}

/// A plan file that no longer matches the repository.
#[derive(Debug, thiserror::Error)]
#[error("the plan does not match this repository: {}", .mismatches.join("; "))]
pub struct PlanMismatch {
    /// What differs.
    pub mismatches: Vec<String>,
}

impl MigrationPlan {
    /// The decisions as a plan file.
    pub fn to_file(&self) -> PlanFile {
        PlanFile {
            version: 1,
            environment: self.environment.clone(),
            decisions: self
                .pipelines
                .iter()
                .map(|p| Decision {
                    path: p.pipeline.path.clone(),
                    pipeline: p.pipeline.name.clone(),
                    choice: p.choice,
                    fingerprints: p.findings.iter().map(|f| f.fingerprint.clone()).collect(),
                })
                .collect(),
        }
    }

    /// Take the decisions of a saved plan; refuse when its findings no longer match.
    pub fn apply_file(&mut self, file: &PlanFile) -> Result<(), PlanMismatch> {
        let mut mismatches = Vec::new();
        if file.version != 1 {
            mismatches.push(format!("unsupported plan version {}", file.version));
        }
        for d in &file.decisions {
            match self
                .pipelines
                .iter_mut()
                .find(|p| p.pipeline.path == d.path && p.pipeline.name == d.pipeline)
            {
                None => mismatches.push(format!(
                    "pipeline `{}` in {} has no findings any more",
                    d.pipeline, d.path
                )),
                Some(p) => {
                    let now: BTreeSet<&str> =
                        p.findings.iter().map(|f| f.fingerprint.as_str()).collect();
                    let then: BTreeSet<&str> = d.fingerprints.iter().map(String::as_str).collect();
                    if now != then {
                        let changed: Vec<String> = p
                            .findings
                            .iter()
                            .filter(|f| !then.contains(f.fingerprint.as_str()))
                            .map(|f| format!("{}@{}:{}", f.rule, f.path, f.line))
                            .collect();
                        mismatches.push(format!(
                            "pipeline `{}` in {}: findings changed{}",
                            d.pipeline,
                            d.path,
                            if changed.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", changed.join(", "))
                            }
                        ));
                        continue;
                    }
                    if let Some(t) = d.choice.target()
                        && let Some(reason) = p
                            .options
                            .iter()
                            .find(|o| o.target == t)
                            .and_then(|o| o.infeasible.clone())
                    {
                        mismatches.push(format!(
                            "pipeline `{}`: {} is not feasible ({reason})",
                            d.pipeline,
                            t.as_str()
                        ));
                        continue;
                    }
                    p.choice = d.choice;
                    p.why = "plan file".into();
                }
            }
        }
        for p in &self.pipelines {
            if !file
                .decisions
                .iter()
                .any(|d| d.path == p.pipeline.path && d.pipeline == p.pipeline.name)
            {
                mismatches.push(format!(
                    "pipeline `{}` in {} is not in the plan",
                    p.pipeline.name, p.pipeline.path
                ));
            }
        }
        if mismatches.is_empty() {
            Ok(())
        } else {
            Err(PlanMismatch { mismatches })
        }
    }
}
