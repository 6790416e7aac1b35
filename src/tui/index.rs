//! The overview's index over a scan: findings grouped by pipeline, pipelines grouped by
//! surface and file, under the filters (minimum severity, surface, rule, search text,
//! suppressed shown or not). Built once per scan or filter change, so drawing a frame and
//! moving the selection never walk the findings.

use crate::finding::{Finding, Severity, Surface};
use crate::scan::ScanResult;

/// What the overview shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only findings at or above this severity.
    pub min_severity: Option<Severity>,
    /// Only this surface.
    pub surface: Option<Surface>,
    /// Only this rule.
    pub rule: Option<&'static str>,
    /// Case-insensitive text in the path, pipeline, rule or message.
    pub search: String,
    /// Show suppressed findings too.
    pub show_suppressed: bool,
}

impl Filter {
    /// Whether a finding passes the filter.
    pub fn matches(&self, f: &Finding, needle_lower: &str) -> bool {
        if f.suppressed && !self.show_suppressed {
            return false;
        }
        if self.min_severity.is_some_and(|s| f.severity < s) {
            return false;
        }
        if self.surface.is_some_and(|s| f.surface != s) {
            return false;
        }
        if self.rule.is_some_and(|r| f.rule != r) {
            return false;
        }
        if needle_lower.is_empty() {
            return true;
        }
        let hay = |s: &str| s.to_lowercase().contains(needle_lower);
        hay(&f.path)
            || f.pipeline.as_deref().is_some_and(hay)
            || f.rule.contains(needle_lower)
            || hay(&f.message)
    }

    /// Whether anything is filtered out beyond the default (suppressed hidden).
    pub fn is_active(&self) -> bool {
        self.min_severity.is_some()
            || self.surface.is_some()
            || self.rule.is_some()
            || !self.search.is_empty()
    }

    /// One line describing the filter.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.min_severity {
            parts.push(format!("severity ≥ {s}"));
        }
        if let Some(s) = self.surface {
            parts.push(format!("surface {}", surface_name(s)));
        }
        if let Some(r) = self.rule {
            parts.push(format!("rule {r}"));
        }
        if !self.search.is_empty() {
            parts.push(format!("“{}”", self.search));
        }
        if self.show_suppressed {
            parts.push("suppressed shown".to_string());
        }
        if parts.is_empty() {
            "all active findings".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// A human name of a surface.
pub fn surface_name(s: Surface) -> &'static str {
    match s {
        Surface::GitlabCi => "GitLab CI",
        Surface::GithubActions => "GitHub Actions",
        Surface::Jenkins => "Jenkins",
        Surface::Compose => "Compose",
        Surface::Kubernetes => "Kubernetes",
        Surface::RunnerToml => "GitLab Runner",
        Surface::DaemonJson => "Docker daemon",
        Surface::Shell => "Shell",
        Surface::Other => "Other CI",
    }
}

/// One part of a natural sort key: text, or a number compared by value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Chunk {
    /// Digits, by value (then by length, so `02` sorts after `2`).
    Num(u128, usize),
    /// Anything else, case-insensitively.
    Text(String),
}

/// A natural sort key: `job2` before `job10`.
pub fn natural(s: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        let digit = c.is_ascii_digit();
        let mut part = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() != digit {
                break;
            }
            part.push(d);
            chars.next();
        }
        out.push(if digit {
            Chunk::Num(part.parse().unwrap_or(u128::MAX), part.len())
        } else {
            Chunk::Text(part.to_lowercase())
        });
    }
    out
}

/// The order of pipelines everywhere in the UI (the overview and the target picker): by
/// surface, then file, then name, naturally.
pub fn order<'a>(
    surface: Surface,
    path: &'a str,
    name: &'a str,
) -> (Surface, Vec<Chunk>, Vec<Chunk>, &'a str, &'a str) {
    (surface, natural(path), natural(name), path, name)
}

/// The findings of one pipeline that pass the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Surface.
    pub surface: Surface,
    /// File declaring the pipeline.
    pub path: String,
    /// Pipeline name (`(global)` when the finding has none).
    pub name: String,
    /// Indices into `ScanResult::findings`, in scan order.
    pub findings: Vec<usize>,
    /// Active findings per severity, indexed by [`sev_index`].
    pub counts: [usize; 5],
    /// Suppressed findings among `findings`.
    pub suppressed: usize,
}

impl Group {
    /// The worst active severity, if any.
    pub fn worst(&self) -> Option<Severity> {
        SEVERITIES_DESC
            .iter()
            .copied()
            .find(|s| self.counts.get(sev_index(*s)).is_some_and(|n| *n > 0))
    }
}

/// Severities from the worst down.
pub const SEVERITIES_DESC: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Position of a severity in [`Group::counts`].
pub fn sev_index(s: Severity) -> usize {
    match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Info => 4,
    }
}

/// One row of the pipelines list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// A surface heading with its pipeline and finding counts.
    Surface(Surface, usize, usize),
    /// A file heading.
    File(String),
    /// A pipeline (index into `Index::groups`).
    Group(usize),
}

/// The grouped, filtered view of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// Pipelines with at least one finding passing the filter.
    pub groups: Vec<Group>,
    /// Rows to draw: surface and file headings, pipelines.
    pub rows: Vec<Row>,
    /// Findings passing the filter.
    pub shown: usize,
}

impl Index {
    /// Build the index of a scan under a filter.
    pub fn build(scan: &ScanResult, filter: &Filter) -> Index {
        let needle = filter.search.to_lowercase();
        let mut map: std::collections::BTreeMap<(Surface, &str, &str), Group> =
            std::collections::BTreeMap::new();
        let mut shown = 0;
        for (i, f) in scan.findings.iter().enumerate() {
            if !filter.matches(f, &needle) {
                continue;
            }
            shown += 1;
            let path = f.pipeline_path.as_deref().unwrap_or(&f.path);
            let name = f.pipeline.as_deref().unwrap_or("(global)");
            let g = map.entry((f.surface, path, name)).or_insert_with(|| Group {
                surface: f.surface,
                path: path.to_string(),
                name: name.to_string(),
                findings: Vec::new(),
                counts: [0; 5],
                suppressed: 0,
            });
            g.findings.push(i);
            if f.suppressed {
                g.suppressed += 1;
            } else if let Some(c) = g.counts.get_mut(sev_index(f.severity)) {
                *c += 1;
            }
        }
        let mut groups: Vec<Group> = map.into_values().collect();
        groups.sort_by(|a, b| {
            order(a.surface, &a.path, &a.name).cmp(&order(b.surface, &b.path, &b.name))
        });
        let mut rows = Vec::with_capacity(groups.len() * 2);
        let mut last_surface = None;
        let mut last_path: Option<&str> = None;
        for (gi, g) in groups.iter().enumerate() {
            if last_surface != Some(g.surface) {
                let same = || {
                    groups
                        .iter()
                        .skip(gi)
                        .take_while(|x| x.surface == g.surface)
                };
                let n = same().map(|x| x.findings.len()).sum();
                rows.push(Row::Surface(g.surface, same().count(), n));
                last_surface = Some(g.surface);
                last_path = None;
            }
            if last_path != Some(g.path.as_str()) {
                rows.push(Row::File(g.path.clone()));
                last_path = Some(g.path.as_str());
            }
            rows.push(Row::Group(gi));
        }
        Index {
            groups,
            rows,
            shown,
        }
    }

    /// The group of a row, if it is a pipeline row.
    pub fn group_at(&self, row: usize) -> Option<&Group> {
        match self.rows.get(row) {
            Some(Row::Group(g)) => self.groups.get(*g),
            _ => None,
        }
    }

    /// The first pipeline row at or after `row` (or before it, when none follows).
    pub fn nearest_group_row(&self, row: usize) -> usize {
        let after = self
            .rows
            .iter()
            .enumerate()
            .skip(row)
            .find(|(_, r)| matches!(r, Row::Group(_)))
            .map(|(i, _)| i);
        after
            .or_else(|| {
                self.rows
                    .iter()
                    .enumerate()
                    .take(row.saturating_add(1))
                    .rev()
                    .find(|(_, r)| matches!(r, Row::Group(_)))
                    .map(|(i, _)| i)
            })
            .unwrap_or(0)
    }

    /// The pipeline row `steps` pipelines away from `row` (negative = up), clamped.
    pub fn step(&self, row: usize, steps: isize) -> usize {
        let mut cur = self.nearest_group_row(row);
        let mut left = steps.unsigned_abs();
        while left > 0 {
            let next = if steps > 0 {
                self.rows
                    .iter()
                    .enumerate()
                    .skip(cur + 1)
                    .find(|(_, r)| matches!(r, Row::Group(_)))
                    .map(|(i, _)| i)
            } else {
                self.rows
                    .iter()
                    .enumerate()
                    .take(cur)
                    .rev()
                    .find(|(_, r)| matches!(r, Row::Group(_)))
                    .map(|(i, _)| i)
            };
            match next {
                Some(n) => cur = n,
                None => break,
            }
            left -= 1;
        }
        cur
    }
}

/// The next minimum severity in the filter cycle (all → low → medium → high → critical → all).
pub fn next_severity(s: Option<Severity>) -> Option<Severity> {
    match s {
        None => Some(Severity::Low),
        Some(Severity::Info) => Some(Severity::Low),
        Some(Severity::Low) => Some(Severity::Medium),
        Some(Severity::Medium) => Some(Severity::High),
        Some(Severity::High) => Some(Severity::Critical),
        Some(Severity::Critical) => None,
    }
}

/// The next value in a cycle through `present` (then back to `None`).
pub fn next_in<T: Copy + PartialEq>(cur: Option<T>, present: &[T]) -> Option<T> {
    match cur {
        None => present.first().copied(),
        Some(c) => present
            .iter()
            .position(|x| *x == c)
            .and_then(|i| present.get(i + 1))
            .copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::collections::BTreeMap;

    fn scan() -> ScanResult {
        let mut files = BTreeMap::new();
        files.insert(
            ".gitlab-ci.yml".to_string(),
            "build:\n  image: docker:29\n  services: [docker:29-dind]\n  script: docker build .\n"
                .to_string(),
        );
        files.insert(
            "docker-compose.yml".to_string(),
            "services:\n  app:\n    image: x\n    privileged: true\n    volumes: [/var/run/docker.sock:/var/run/docker.sock]\n  other:\n    image: y\n    # depriv: ignore[privileged-container] reason: test\n    privileged: true\n"
                .to_string(),
        );
        crate::scan::scan_memory(files, &Config::default())
    }

    #[test]
    fn groups_by_surface_file_and_pipeline() {
        let s = scan();
        let idx = Index::build(&s, &Filter::default());
        assert!(idx.shown > 0);
        assert!(matches!(
            idx.rows.first(),
            Some(Row::Surface(Surface::GitlabCi, _, _))
        ));
        assert!(matches!(idx.rows.get(1), Some(Row::File(p)) if p == ".gitlab-ci.yml"));
        let names: Vec<&str> = idx.groups.iter().map(|g| g.name.as_str()).collect();
        assert!(names.contains(&"build"), "{names:?}");
        assert!(names.contains(&"app"), "{names:?}");
        // Headings carry the number of findings below them.
        let total: usize = idx
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Surface(_, _, n) => Some(*n),
                _ => None,
            })
            .sum();
        assert_eq!(total, idx.shown);
        // … and the number of pipelines.
        let pipelines: usize = idx
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Surface(_, p, _) => Some(*p),
                _ => None,
            })
            .sum();
        assert_eq!(pipelines, idx.groups.len());
    }

    #[test]
    fn natural_order_puts_job2_before_job10() {
        let mut names = vec!["job10", "Job3", "job2", "job1", "build"];
        names.sort_by_key(|n| natural(n));
        assert_eq!(names, ["build", "job1", "job2", "Job3", "job10"]);
    }

    #[test]
    fn filters_narrow_and_search_is_case_insensitive() {
        let s = scan();
        let all = Index::build(&s, &Filter::default());
        let f = Filter {
            surface: Some(Surface::Compose),
            ..Filter::default()
        };
        let compose = Index::build(&s, &f);
        assert!(compose.shown < all.shown);
        assert!(compose.groups.iter().all(|g| g.surface == Surface::Compose));
        let f = Filter {
            search: "DOCKER-COMPOSE".into(),
            ..Filter::default()
        };
        assert_eq!(Index::build(&s, &f).shown, compose.shown);
        let f = Filter {
            search: "no such text anywhere".into(),
            ..Filter::default()
        };
        let none = Index::build(&s, &f);
        assert_eq!(none.shown, 0);
        assert!(none.rows.is_empty());
        assert_eq!(none.step(0, 5), 0);
        assert_eq!(none.nearest_group_row(10), 0);
    }

    #[test]
    fn suppressed_toggle_and_counts() {
        let s = scan();
        let hidden = Index::build(&s, &Filter::default());
        let shown = Index::build(
            &s,
            &Filter {
                show_suppressed: true,
                ..Filter::default()
            },
        );
        let n_supp = s.findings.iter().filter(|f| f.suppressed).count();
        assert!(n_supp > 0, "fixture should have a suppressed finding");
        assert_eq!(shown.shown, hidden.shown + n_supp);
        assert_eq!(
            shown.groups.iter().map(|g| g.suppressed).sum::<usize>(),
            n_supp
        );
    }

    #[test]
    fn stepping_skips_headings_and_clamps() {
        let s = scan();
        let idx = Index::build(&s, &Filter::default());
        let first = idx.nearest_group_row(0);
        assert!(idx.group_at(first).is_some());
        let last = idx.step(first, 1000);
        assert!(idx.group_at(last).is_some());
        assert_eq!(idx.step(last, 1), last);
        assert_eq!(idx.step(last, -1000), first);
        assert_eq!(idx.step(first, -1), first);
    }

    #[test]
    fn cycles_end_in_none() {
        let mut s = None;
        for _ in 0..4 {
            s = next_severity(s);
            assert!(s.is_some());
        }
        assert_eq!(next_severity(s), None);
        assert_eq!(next_in(None, &[1, 2]), Some(1));
        assert_eq!(next_in(Some(1), &[1, 2]), Some(2));
        assert_eq!(next_in(Some(2), &[1, 2]), None);
        assert_eq!(next_in(Some(9), &[1, 2]), None);
        assert_eq!(next_in::<u8>(None, &[]), None);
    }
}
