//! Rewrites for the daemon surface.

use super::{Outcome, Request};

/// Templates of this surface: (name under `templates/`, source).
pub static TEMPLATES: &[(&str, &str)] = &[];

/// Rewrite one daemon pipeline.
pub fn rewrite(req: &Request<'_>) -> Outcome {
    super::unsupported(req)
}
