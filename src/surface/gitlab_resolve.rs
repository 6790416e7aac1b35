//! The one GitLab CI resolver, shared by the scan (`surface::gitlab::lower`) and the rewriter
//! (`rewrite::gitlab`): a project's top-level keys across its local includes, each job's
//! definition layers through `extends:`, what it inherits from `default:` and the global
//! keys (`inherit:`), `!reference` targets, and the definition every effective value comes
//! from. The scan merges these layers into effective values; the rewriter edits where a value
//! is defined. Neither resolves on its own, so the two cannot read a project differently.
//!
//! Upstream rules: <https://docs.gitlab.com/ci/yaml/#extends>,
//! <https://docs.gitlab.com/ci/yaml/#inherit>,
//! <https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags>.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use crate::source::yaml::{NodeId, NodeKind, Yaml};

/// Top-level keys that are not jobs.
pub const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// Bound on `extends:` and `!reference` chains (GitLab allows eleven levels of `extends:`).
pub const MAX_DEPTH: usize = 11;

/// Keys a job takes from `default:` (and from their deprecated global forms) when it does not
/// set them itself.
pub const DEFAULTABLE: &[&str] = &["image", "services", "before_script", "after_script", "tags"];

/// Where a value is written: one physical mapping entry, by file index in the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Def {
    /// Index of the file in the project.
    pub file: usize,
    /// The mapping the key is written in.
    pub map: NodeId,
    /// The key node.
    pub key: NodeId,
    /// The value node (unresolved: may be an alias or a `!reference`).
    pub value: NodeId,
}

impl Def {
    /// Identity of the definition: its file and key node.
    pub fn id(self) -> (usize, NodeId) {
        (self.file, self.key)
    }
}

/// How a job inherits `default:` or global variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inherit {
    /// Everything (the default).
    All,
    /// Nothing (`inherit: {default: false}`).
    Nothing,
    /// Only the listed keys or variables.
    Only(Vec<String>),
}

impl Inherit {
    /// Whether `key` is inherited.
    pub fn allows(&self, key: &str) -> bool {
        match self {
            Inherit::All => true,
            Inherit::Nothing => false,
            Inherit::Only(l) => l.iter().any(|k| k == key),
        }
    }
}

/// A variable a job sees: the winning definition of one name.
#[derive(Clone, Debug)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// The entry that defines it.
    pub def: Def,
    /// The scalar holding the value (`value:` of the `{value, description}` form).
    pub value_node: NodeId,
    /// The value as written.
    pub value: String,
    /// Whether it comes from the global `variables:`.
    pub global: bool,
}

/// One item of a list value after aliases, `!reference`s and nested lists are flattened.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    /// File of the item.
    pub file: usize,
    /// The sequence it is written in, when it is an item of a sequence written in place
    /// (`None` for an item reached through a `!reference`).
    pub seq: Option<NodeId>,
    /// The item node.
    pub node: NodeId,
    /// The definition that owns the list it sits in.
    pub owner: Def,
}

/// A problem met while resolving: (file index, byte offset, message).
pub type Problem = (usize, usize, String);

/// A GitLab project: its files (root first, then its local includes in include order), and
/// every top-level key with its definitions, highest priority first (the root wins over what
/// it includes, a later include over an earlier one).
pub struct Project<Y> {
    trees: Vec<Y>,
    top: BTreeMap<String, Vec<(usize, NodeId, NodeId)>>,
}

impl<Y: Deref<Target = Yaml>> Project<Y> {
    /// Index the top-level keys of `trees` (the root first).
    pub fn new(trees: Vec<Y>) -> Self {
        let mut top: BTreeMap<String, Vec<(usize, NodeId, NodeId)>> = BTreeMap::new();
        // Included files first, the root last: later definitions win.
        let mut merge_order: Vec<usize> = (1..trees.len()).collect();
        if !trees.is_empty() {
            merge_order.push(0);
        }
        for fi in merge_order {
            let y: &Yaml = &trees[fi];
            let docs = y.documents();
            for &doc in docs {
                let Ok(entries) = y.entries(doc) else {
                    continue;
                };
                if docs.len() > 1 && entries.len() == 1 && entries.iter().any(|e| e.key == "spec") {
                    continue; // header document of a CI/CD component
                }
                for e in entries {
                    top.entry(e.key)
                        .or_default()
                        .insert(0, (fi, e.key_id, e.value));
                }
            }
        }
        Project { trees, top }
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    /// Whether the project has no file.
    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// The tree of file `f`.
    pub fn y(&self, f: usize) -> Option<&Yaml> {
        self.trees.get(f).map(|y| &**y)
    }

    /// The tree of file `f`, or an empty one.
    pub fn yy(&self, f: usize) -> &Yaml {
        static EMPTY: std::sync::OnceLock<Yaml> = std::sync::OnceLock::new();
        self.y(f)
            .unwrap_or_else(|| EMPTY.get_or_init(Yaml::default))
    }

    /// Definitions of a top-level key, highest priority first: (file, key node, value node).
    pub fn top(&self, key: &str) -> &[(usize, NodeId, NodeId)] {
        self.top.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether a top-level key is defined.
    pub fn has_top(&self, key: &str) -> bool {
        self.top.contains_key(key)
    }

    /// Whether node `n` of file `f` is (an alias of) a mapping.
    pub fn is_map(&self, f: usize, n: NodeId) -> bool {
        let y = self.yy(f);
        matches!(y.node(y.resolve(n)).kind, NodeKind::Map { .. })
    }

    /// Top-level keys that are jobs or templates (a mapping, not a reserved key), by name.
    pub fn job_names(&self) -> Vec<String> {
        self.top
            .iter()
            .filter(|(k, defs)| {
                !RESERVED.contains(&k.as_str()) && defs.iter().any(|&(f, _, v)| self.is_map(f, v))
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The mapping definitions of a top-level key, highest priority first.
    fn own_maps(&self, job: &str) -> Vec<(usize, NodeId)> {
        let mut own = Vec::new();
        for &(f, _, v) in self.top(job) {
            let y = self.yy(f);
            let r = y.resolve(v);
            if matches!(y.node(r).kind, NodeKind::Map { .. }) && y.node(r).tag.is_none() {
                own.push((f, r));
            }
        }
        own
    }

    /// The `extends:` parents a job names (from its highest-priority definition that has
    /// the key), with the file and node of each name.
    pub fn parents(&self, job: &str) -> Vec<(String, usize, NodeId)> {
        self.own_maps(job)
            .iter()
            .find_map(|&(f, m)| {
                let y = self.yy(f);
                let e = y.get(m, "extends")?;
                let r = y.resolve(e.value);
                Some(match y.seq(r) {
                    Some(items) => items
                        .iter()
                        .filter_map(|&i| y.str(i).map(|s| (s.to_string(), f, i)))
                        .collect(),
                    None => y
                        .str(r)
                        .map(|s| vec![(s.to_string(), f, r)])
                        .unwrap_or_default(),
                })
            })
            .unwrap_or_default()
    }

    /// The mapping layers of a job, highest priority first: its own definitions, then its
    /// `extends:` parents (later parents first), recursively. Merging them from the last to the
    /// first (deep merge of mappings, anything else replaced) gives the job after `extends:`.
    pub fn layers(&self, job: &str) -> Vec<(usize, NodeId)> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.layers_into(job, 0, &mut seen, &mut out);
        out
    }

    fn layers_into(
        &self,
        job: &str,
        depth: usize,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<(usize, NodeId)>,
    ) {
        if !seen.insert(job.to_string()) || out.len() > 256 {
            return;
        }
        out.extend(self.own_maps(job));
        if depth >= MAX_DEPTH {
            return; // what a job this deep extends is not merged (reported by `problems`)
        }
        for (p, _, _) in self.parents(job).iter().rev() {
            if p != job {
                self.layers_into(p, depth + 1, seen, out);
            }
        }
    }

    /// Problems of the `extends:` graph: unknown parents, cycles, chains deeper than GitLab
    /// merges. Each is reported once, at the name in `extends:`.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out: BTreeSet<Problem> = BTreeSet::new();
        let mut visited: BTreeSet<(String, usize)> = BTreeSet::new();
        for job in self.job_names() {
            let mut path = vec![job.clone()];
            self.problems_from(&job, 0, &mut path, &mut visited, &mut out);
        }
        out.into_iter().collect()
    }

    fn problems_from(
        &self,
        job: &str,
        depth: usize,
        path: &mut Vec<String>,
        visited: &mut BTreeSet<(String, usize)>,
        out: &mut BTreeSet<Problem>,
    ) {
        // A job explored at a depth need not be explored there again (diamonds would make
        // the walk exponential); cycles through it were found the first time.
        if out.len() > 1_000 || !visited.insert((job.to_string(), depth)) {
            return;
        }
        for (parent, f, n) in self.parents(job) {
            if parent == job {
                continue;
            }
            let at = self.yy(f).node(n).span.start;
            if path.contains(&parent) {
                out.insert((f, at, format!("`extends: {parent}` forms a cycle")));
                continue;
            }
            if self.own_maps(&parent).is_empty() {
                out.insert((
                    f,
                    at,
                    format!("`extends: {parent}`: no such job or template in this project"),
                ));
                continue;
            }
            if depth + 1 >= MAX_DEPTH {
                if !self.parents(&parent).is_empty() {
                    out.insert((
                        f,
                        at,
                        format!(
                            "`extends: {parent}` nests deeper than {MAX_DEPTH} levels: what `{parent}` extends is not merged"
                        ),
                    ));
                }
                continue;
            }
            path.push(parent.clone());
            self.problems_from(&parent, depth + 1, path, visited, out);
            path.pop();
        }
    }

    /// What a job inherits: (`default:` keys, global variables), read from its layers.
    pub fn inherit(&self, layers: &[(usize, NodeId)]) -> (Inherit, Inherit) {
        let mut out = (Inherit::All, Inherit::All);
        let Some((f, inh)) = layers.iter().find_map(|&(f, m)| {
            let y = self.yy(f);
            y.get(m, "inherit").map(|e| (f, y.resolve(e.value)))
        }) else {
            return out;
        };
        let y = self.yy(f);
        for (key, slot) in [("default", 0), ("variables", 1)] {
            let Some(e) = y.get(inh, key) else { continue };
            let r = y.resolve(e.value);
            let v = if let Some(items) = y.seq(r) {
                Inherit::Only(
                    items
                        .iter()
                        .filter_map(|&i| y.str(i).map(str::to_string))
                        .collect(),
                )
            } else if y.as_bool(r) == Some(false) || y.str(r) == Some("false") {
                Inherit::Nothing
            } else {
                Inherit::All
            };
            if slot == 0 {
                out.0 = v;
            } else {
                out.1 = v;
            }
        }
        out
    }

    /// The definition of the entry whose key node is `key`.
    pub fn def_of(&self, f: usize, key: NodeId, value: NodeId) -> Def {
        let y = self.yy(f);
        Def {
            file: f,
            map: y.node(key).parent.unwrap_or(0),
            key,
            value,
        }
    }

    /// Every definition of `key` a job sees, highest priority first: its layers, then, when
    /// the key is inherited, `default:` and the deprecated global key. `job` `None` is the
    /// project's top level (what a job with no own value of its own gets).
    pub fn chain(&self, job: Option<&str>, key: &str) -> Vec<Def> {
        let layers = job.map(|j| self.layers(j)).unwrap_or_default();
        self.chain_in(&layers, key)
    }

    /// [`Project::chain`] over layers computed already.
    pub fn chain_in(&self, layers: &[(usize, NodeId)], key: &str) -> Vec<Def> {
        let mut out = Vec::new();
        for &(f, m) in layers {
            if let Some(e) = self.yy(f).get(m, key) {
                out.push(self.def_of(f, e.key_id, e.value));
            }
        }
        let (inh_default, _) = self.inherit(layers);
        if DEFAULTABLE.contains(&key) && inh_default.allows(key) {
            for &(f, _, v) in self.top("default") {
                let y = self.yy(f);
                let r = y.resolve(v);
                if let Some(e) = y.get(r, key) {
                    out.push(self.def_of(f, e.key_id, e.value));
                }
            }
            // `tags` has no top-level form: a top-level `tags:` is a job.
            if key != "tags" {
                for &(f, k, v) in self.top(key) {
                    out.push(self.def_of(f, k, v));
                }
            }
        }
        out
    }

    /// Follow aliases and `!reference [job, key, …]`: the node a value stands for, and the
    /// definition a reference lands on.
    pub fn deref(&self, f: usize, n: NodeId, depth: usize) -> Option<(usize, NodeId, Option<Def>)> {
        let y = self.y(f)?;
        let r = y.resolve(n);
        if y.node(r).tag.as_deref() != Some("!reference") {
            return Some((f, r, None));
        }
        if depth > MAX_DEPTH {
            return None;
        }
        let path: Vec<String> = y
            .seq(r)?
            .iter()
            .filter_map(|&i| y.str(i).map(str::to_string))
            .collect();
        let (job, keys) = path.split_first()?;
        let (first, rest) = keys.split_first()?;
        let mut def = *self.chain(Some(job), first).first()?;
        for k in rest {
            let (tf, tn, _) = self.deref(def.file, def.value, depth + 1)?;
            let ty = self.y(tf)?;
            let e = ty.get(tn, k)?;
            def = self.def_of(tf, e.key_id, e.value);
        }
        let (tf, tn, _) = self.deref(def.file, def.value, depth + 1)?;
        Some((tf, tn, Some(def)))
    }

    /// The variables a job sees (`None`: the top level), the winning definition of each name.
    pub fn vars(&self, job: Option<&str>) -> Vec<Var> {
        let layers = job.map(|j| self.layers(j)).unwrap_or_default();
        self.vars_in(&layers)
    }

    /// [`Project::vars`] over layers computed already.
    pub fn vars_in(&self, layers: &[(usize, NodeId)]) -> Vec<Var> {
        let (_, inh_vars) = self.inherit(layers);
        let mut sources: Vec<(bool, usize, NodeId)> = Vec::new();
        for &(f, m) in layers {
            if let Some(e) = self.yy(f).get(m, "variables") {
                sources.push((false, f, e.value));
            }
        }
        for &(f, _, v) in self.top("variables") {
            sources.push((true, f, v));
        }
        let mut out: Vec<Var> = Vec::new();
        for (is_global, f, v) in sources {
            let Some((tf, tn, _)) = self.deref(f, v, 0) else {
                continue;
            };
            let Some(ty) = self.y(tf) else { continue };
            let Ok(entries) = ty.entries(tn) else {
                continue;
            };
            for e in entries {
                if is_global && !inh_vars.allows(&e.key) {
                    continue;
                }
                if out.iter().any(|x| x.name == e.key) {
                    continue;
                }
                let vr = ty.resolve(e.value);
                let (value_node, value) = if matches!(ty.node(vr).kind, NodeKind::Map { .. }) {
                    match ty.get(vr, "value") {
                        Some(ve) => (ve.value, ty.str(ve.value).unwrap_or("").to_string()),
                        None => continue,
                    }
                } else if ty.is_null(vr) {
                    (e.value, String::new())
                } else {
                    match ty.str(vr) {
                        Some(s) => (e.value, s.to_string()),
                        None => continue,
                    }
                };
                out.push(Var {
                    name: e.key,
                    def: self.def_of(tf, e.key_id, e.value),
                    value_node,
                    value,
                    global: is_global,
                });
            }
        }
        out
    }

    /// Items of a list value (aliases, `!reference` items and nested lists flattened), each
    /// with the definition that owns the list it sits in.
    pub fn list_items(&self, def: Def) -> Vec<Item> {
        let mut out = Vec::new();
        let mut stack = vec![(def.file, def.value, def, 0usize, None::<NodeId>)];
        while let Some((f, n, owner, depth, parent_seq)) = stack.pop() {
            if depth > MAX_DEPTH || out.len() > 10_000 {
                continue;
            }
            let Some((tf, tn, via)) = self.deref(f, n, 0) else {
                continue;
            };
            let owner = via.unwrap_or(owner);
            let Some(y) = self.y(tf) else { continue };
            let parent_seq = if via.is_some() { None } else { parent_seq };
            match y.seq(tn) {
                Some(items) => {
                    for &i in items.iter().rev() {
                        stack.push((tf, i, owner, depth + 1, Some(tn)));
                    }
                }
                None if y.str(tn).is_some() && !y.is_null(tn) => out.push(Item {
                    file: tf,
                    seq: parent_seq,
                    node: if via.is_some() { tn } else { n },
                    owner,
                }),
                None if matches!(y.node(tn).kind, NodeKind::Map { .. }) => out.push(Item {
                    file: tf,
                    seq: parent_seq,
                    node: tn,
                    owner,
                }),
                None => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[&str]) -> Project<Box<Yaml>> {
        Project::new(
            files
                .iter()
                .map(|t| Box::new(Yaml::parse(t).expect("valid YAML")))
                .collect(),
        )
    }

    fn names(p: &Project<Box<Yaml>>, layers: &[(usize, NodeId)], key: &str) -> Vec<String> {
        p.chain_in(layers, key)
            .iter()
            .filter_map(|d| {
                let y = p.yy(d.file);
                y.str(y.resolve(d.value)).map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn layers_follow_extends_later_parents_first_and_the_root_wins_over_includes() {
        let p = project(&[
            "job:\n  extends: [.a, .b]\n  image: own\n",
            ".a:\n  image: a\n.b:\n  extends: .c\n.c:\n  image: c\njob:\n  stage: test\n",
        ]);
        let layers = p.layers("job");
        // own (root), own (include), .b, .c, .a
        assert_eq!(layers.len(), 5);
        assert_eq!(layers[0].0, 0);
        assert_eq!(names(&p, &layers, "image"), ["own", "c", "a"]);
    }

    #[test]
    fn inherit_lists_limit_default_keys_and_global_variables() {
        let p = project(&[
            "variables:\n  A: '1'\n  B: '2'\ndefault:\n  image: d\n  services: [docker:dind]\njob:\n  inherit:\n    default: [image]\n    variables: [B]\n  script: x\n",
        ]);
        let layers = p.layers("job");
        assert_eq!(names(&p, &layers, "image"), ["d"]);
        assert!(p.chain_in(&layers, "services").is_empty());
        let vars: Vec<String> = p.vars_in(&layers).into_iter().map(|v| v.name).collect();
        assert_eq!(vars, ["B"]);
    }

    #[test]
    fn references_land_on_the_definition_they_name() {
        let p = project(&[
            ".t:\n  services: [docker:dind]\njob:\n  services: !reference [.t, services]\n",
        ]);
        let def = p.chain(Some("job"), "services")[0];
        let (_, _, via) = p.deref(def.file, def.value, 0).expect("resolves");
        let via = via.expect("through a reference");
        assert_eq!(p.yy(0).str(via.key), Some("services"));
        assert_ne!(via.key, def.key);
        let items = p.list_items(def);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].owner, via);
    }

    #[test]
    fn problems_name_unknown_parents_cycles_and_deep_chains() {
        let mut text = String::from("a:\n  extends: [missing, b]\nb:\n  extends: a\n");
        for i in 0..14 {
            text.push_str(&format!("l{i}:\n  extends: l{}\n", i + 1));
        }
        text.push_str("l14:\n  script: x\n");
        let p = project(&[&text]);
        let msgs: Vec<String> = p.problems().into_iter().map(|(_, _, m)| m).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("`extends: missing`: no such job"))
        );
        assert!(msgs.iter().any(|m| m.contains("forms a cycle")));
        assert!(
            msgs.iter()
                .any(|m| m.contains("nests deeper than 11 levels"))
        );
        // A chain deeper than GitLab merges stops at the limit.
        assert_eq!(p.layers("l0").len(), MAX_DEPTH + 1);
    }
}
