//! Rewrites for the kube surface.

use super::{Outcome, Request};

/// Templates of this surface: (name under `templates/`, source).
pub static TEMPLATES: &[(&str, &str)] = &[];

/// Rewrite one kube pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    super::unsupported(req)
}
