//! Rewrites for the runner surface.

use super::{Outcome, Request};

/// Templates of this surface: (name under `templates/`, source).
pub static TEMPLATES: &[(&str, &str)] = &[];

/// Rewrite one runner pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    super::unsupported(req)
}
