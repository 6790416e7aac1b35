//! Tolerant Groovy lexer and Jenkins model for `Jenkinsfile`s (declarative and scripted) and
//! Job DSL scripts.
//!
//! This module owns: lexing Groovy source (comments, the six string kinds with escapes and
//! GString interpolation, bracket balance), and recognising the constructs depriv cares about
//! (stages / Job DSL jobs, `sh` / `shell` steps, Docker agents, `docker.image(..)` calls,
//! `withDockerServer`, Kubernetes `containerTemplate` / `hostPathVolume` / pod YAML strings,
//! environment assignments). It never evaluates Groovy: every string is handed over with exact
//! byte spans and a value→source offset map, and whatever cannot be read becomes a diagnostic.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::docker_cmd::DockerUse;

/// Deepest nesting of strings inside `${ … }` interpolations that is followed.
const MAX_STRING_DEPTH: u32 = 32;
/// Deepest nesting of Job DSL `script('''…''')` pipelines that is parsed recursively.
const MAX_SCRIPT_DEPTH: u32 = 2;
/// Diagnostics kept per parse; one extra entry says when more were dropped.
const MAX_DIAGNOSTICS: usize = 500;
/// Top-level tokens read as the arguments of one command-style call (`name a, b: c`).
const MAX_COMMAND_TOKENS: usize = 256;

/// Kind of a Groovy string literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrKind {
    /// `'…'`
    Single,
    /// `"…"` (GString)
    Double,
    /// `'''…'''`
    TripleSingle,
    /// `"""…"""` (GString)
    TripleDouble,
    /// `/…/` (GString, only `\/` is an escape)
    Slashy,
    /// `$/…/$` (GString, `$$` and `$/` are escapes)
    DollarSlashy,
}

/// A string literal with its cooked value and a map back to the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// Cooked value: escapes processed, CRLF in multi-line strings read as LF, GString
    /// `${…}` / `$x` kept literally as written.
    pub value: String,
    /// Byte span in the source, including the quotes. Literals cut out of a larger one (the
    /// name / value halves of a `withEnv` entry) span just their text.
    pub span: Range<usize>,
    /// How the literal was quoted.
    pub kind: StrKind,
    /// True when a GString kind (double-quoted, triple-double, slashy, dollar-slashy) contains
    /// an unescaped `${` or `$identifier`.
    pub interpolated: bool,
    /// (value offset, source offset) anchor points, sorted by value offset; the last one is
    /// (value.len(), end of the content). A segment between two anchors whose value and source
    /// lengths agree is verbatim text; any other segment is one escape.
    map: Vec<(usize, usize)>,
}

impl StrLit {
    /// Source offset of the byte at `value_offset` of `value`: exact for verbatim text, the
    /// start of the escape for bytes produced by an escape. Offsets past the end clamp to the
    /// end of the content (the closing quote).
    pub fn src_offset(&self, value_offset: usize) -> usize {
        let v = value_offset.min(self.value.len());
        let i = self.map.partition_point(|&(av, _)| av <= v);
        let Some(&(v0, s0)) = i.checked_sub(1).and_then(|k| self.map.get(k)) else {
            return self.span.start;
        };
        match self.map.get(i) {
            Some(&(v1, s1)) if !linear(v0, s0, v1, s1) => s0,
            _ => s0.saturating_add(v - v0),
        }
    }

    /// Source offset just after the byte at `value_offset - 1`: the exclusive end matching
    /// [`StrLit::src_offset`]; for a byte produced by an escape it is the end of the escape.
    pub fn src_offset_end(&self, value_offset: usize) -> usize {
        let v = value_offset.min(self.value.len());
        if v == 0 {
            return self.src_offset(0);
        }
        let i = self.map.partition_point(|&(av, _)| av < v);
        let Some(&(v0, s0)) = i.checked_sub(1).and_then(|k| self.map.get(k)) else {
            return self.span.start;
        };
        match self.map.get(i) {
            Some(&(v1, s1)) if !linear(v0, s0, v1, s1) => s1,
            _ => s0.saturating_add(v - v0),
        }
    }

    /// Source byte range of `value_range` of `value`.
    pub fn src_range(&self, value_range: Range<usize>) -> Range<usize> {
        let start = self.src_offset(value_range.start);
        let end = self.src_offset_end(value_range.end).max(start);
        start..end
    }

    /// A literal standing for a bare identifier (an `environment {}` variable name).
    fn from_ident(name: &str, span: Range<usize>) -> StrLit {
        StrLit {
            value: name.to_string(),
            map: vec![(0, span.start), (name.len(), span.end)],
            span,
            kind: StrKind::Single,
            interpolated: false,
        }
    }

    /// A stand-in for a value that is not a constant (`${expr}`), mapped onto `span`.
    fn placeholder(text: String, span: Range<usize>) -> StrLit {
        StrLit {
            map: vec![(0, span.start), (text.len(), span.end)],
            value: text,
            span,
            kind: StrKind::Double,
            interpolated: true,
        }
    }

    /// Literals joined end to end (string concatenation, GString interpolation of constants).
    /// Each byte keeps its own source offset, so a flag that comes from a variable maps to the
    /// variable's definition; `span` is the use site.
    fn concat(parts: &[StrLit], span: Range<usize>) -> StrLit {
        let mut value = String::new();
        let mut map = Vec::new();
        for p in parts {
            let base = value.len();
            for &(v, s) in &p.map {
                map.push((base + v, s));
            }
            value.push_str(&p.value);
        }
        if map.is_empty() {
            map.push((0, span.start));
        }
        StrLit {
            interpolated: parts.iter().any(|p| p.interpolated) && has_interpolation(&value),
            kind: parts.first().map_or(StrKind::Double, |p| p.kind),
            value,
            span,
            map,
        }
    }

    /// The part `r` of this literal as a literal of its own (same kind, exact map).
    fn slice(&self, r: Range<usize>) -> Option<StrLit> {
        let value = self.value.get(r.clone())?;
        let span = self.src_range(r.clone());
        let mut map = vec![(0, span.start)];
        for &(v, s) in &self.map {
            if v > r.start && v < r.end {
                map.push((v - r.start, s));
            }
        }
        map.push((value.len(), span.end));
        let interpolated = self.interpolated && has_interpolation(value);
        Some(StrLit {
            value: value.to_string(),
            span,
            kind: self.kind,
            interpolated,
            map,
        })
    }

    /// Translates a literal found in a parse of `parent.value` into `parent`'s source.
    fn remap(&self, parent: &StrLit) -> StrLit {
        let mut map = Vec::with_capacity(self.map.len());
        for (k, &(v0, s0)) in self.map.iter().enumerate() {
            map.push((v0, parent.src_offset(s0)));
            if let Some(&(v1, s1)) = self.map.get(k + 1)
                && linear(v0, s0, v1, s1)
            {
                let from = parent.map.partition_point(|&(pv, _)| pv <= s0);
                for &(pv, ps) in parent.map.iter().skip(from) {
                    if pv >= s1 {
                        break;
                    }
                    map.push((v0 + (pv - s0), ps));
                }
            }
        }
        StrLit {
            value: self.value.clone(),
            span: parent.src_range(self.span.clone()),
            kind: self.kind,
            interpolated: self.interpolated,
            map,
        }
    }
}

fn linear(v0: usize, s0: usize, v1: usize, s1: usize) -> bool {
    v1.checked_sub(v0) == s1.checked_sub(s0)
}

/// Whether GString text contains `${` or `$identifier` (used on slices of cooked values).
fn has_interpolation(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'$'
            && b.get(i + 1)
                .is_some_and(|&n| n == b'{' || is_ident_start(n))
    })
}

/// A `stage('…') { … }` or Job DSL `job('…') { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The label (cooked string value, or the argument's source text when not a literal).
    pub name: String,
    /// From the start of the call to the end of its closing brace.
    pub span: Range<usize>,
    /// Span of the label argument (including quotes).
    pub label_span: Range<usize>,
}

/// A declarative Docker agent: `docker { … }`, `docker 'img'`, `docker(image: …)`,
/// `dockerfile { … }` / `dockerfile true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerAgent {
    /// From `docker` / `dockerfile` to the end of its closure or arguments.
    pub span: Range<usize>,
    /// The `image` setting, when a string literal.
    pub image: Option<StrLit>,
    /// The `args` setting (extra `docker run` arguments), when a string literal. When `args`
    /// is written more than once this is the last one, the one Jenkins uses.
    pub args: Option<StrLit>,
    /// Earlier `args` settings that the last one overrides (still reported).
    pub overridden_args: Vec<StrLit>,
    /// True for `dockerfile` agents.
    pub dockerfile: bool,
}

/// Which `Image` method runs the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsideMethod {
    /// `.inside(args)` (also the `withDockerContainer` step).
    Inside,
    /// `.withRun(args)`
    WithRun,
    /// `.run(args)`
    Run,
}

/// A scripted Docker Pipeline call such as `docker.image('x').inside('args')`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageCall {
    /// From `docker` (or the image variable) to the end of the method call's arguments.
    pub span: Range<usize>,
    /// The image (`docker.image` / `docker.build` first argument) when a literal; `None` for
    /// calls through a variable.
    pub image: Option<StrLit>,
    /// The method called.
    pub method: InsideMethod,
    /// The first argument of the method (extra `docker run` arguments), when a literal.
    pub args: Option<StrLit>,
}

/// A Kubernetes plugin `containerTemplate(…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTemplate {
    /// From `containerTemplate` to its closing parenthesis / brace.
    pub span: Range<usize>,
    /// `name:` literal.
    pub name: Option<StrLit>,
    /// `image:` literal.
    pub image: Option<StrLit>,
    /// The `privileged:` boolean and the span of `privileged: true`.
    pub privileged: Option<(bool, Range<usize>)>,
    /// `envVars: [envVar(key: 'K', value: 'V'), containerEnvVar(…)]` entries.
    pub env: Vec<(StrLit, StrLit)>,
    /// `command:` literal.
    pub command: Option<StrLit>,
    /// `args:` literal.
    pub args: Option<StrLit>,
}

/// A Kubernetes plugin `hostPathVolume(hostPath: …, mountPath: …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPathVolume {
    /// From `hostPathVolume` to its closing parenthesis.
    pub span: Range<usize>,
    /// `hostPath:` literal.
    pub host_path: StrLit,
    /// `mountPath:` literal.
    pub mount_path: Option<StrLit>,
}

/// Everything found in one Groovy file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JenkinsFile {
    /// `stage('…') {…}` and Job DSL `job` / `pipelineJob` / `freeStyleJob` / `matrixJob` /
    /// `multibranchPipelineJob` blocks, in source order.
    pub stages: Vec<Block>,
    /// Scripts of `sh` / `shell` steps.
    pub shell_steps: Vec<StrLit>,
    /// Declarative Docker agents.
    pub docker_agents: Vec<DockerAgent>,
    /// `docker.image(…).inside/withRun/run(…)`, calls through image variables and
    /// `withDockerContainer`.
    pub image_calls: Vec<ImageCall>,
    /// `withDockerServer([uri: …])` / `withDockerServer(uri: …)` / `docker.withServer('…')`.
    pub docker_server_uris: Vec<StrLit>,
    /// Kubernetes container templates.
    pub container_templates: Vec<ContainerTemplate>,
    /// Kubernetes host path volumes.
    pub host_path_volumes: Vec<HostPathVolume>,
    /// Pod YAML strings (`yaml:` named arguments, `yaml '…'` calls).
    pub pod_yamls: Vec<StrLit>,
    /// (name as written, value): `environment { K = '…' }`, `withEnv(['K=…'])`,
    /// `env.K = '…'`, Job DSL `env('K', '…')` / `environmentVariables(K: '…')`, pod-level
    /// `envVar(key:, value:)`. A bare identifier name is a `Single` literal spanning it.
    pub env_assignments: Vec<(StrLit, StrLit)>,
    /// Docker Pipeline DSL calls and what they use Docker for: `docker.build` (build),
    /// `image.push()` (push), `docker.withRegistry` / `withDockerRegistry` (login).
    pub docker_usage: Vec<(DockerUse, Range<usize>)>,
    /// Things that could not be read, with their position.
    pub diagnostics: Vec<(Range<usize>, String)>,
}

impl JenkinsFile {
    /// The innermost stage / job block whose span contains `offset`.
    pub fn enclosing_block(&self, offset: usize) -> Option<&Block> {
        self.stages
            .iter()
            .filter(|b| b.span.contains(&offset))
            .max_by_key(|b| (b.span.start, std::cmp::Reverse(b.span.end)))
    }
}

/// Lexes and scans `src`. Never panics; unreadable parts become diagnostics.
pub fn parse_jenkins(src: &str) -> JenkinsFile {
    let mut f = parse_depth(src, 0);
    f.diagnostics.sort_by_key(|d| d.0.start);
    f
}

fn parse_depth(src: &str, depth: u32) -> JenkinsFile {
    let mut lexer = Lexer::new(src);
    lexer.run();
    let Lexer { toks, diags, .. } = lexer;
    let mut p = Parser::new(src, toks, depth);
    p.out.diagnostics = diags;
    p.balance();
    p.compute_statement_ends();
    p.scan();
    p.out
}

fn push_diag(diags: &mut Vec<(Range<usize>, String)>, range: Range<usize>, msg: String) {
    if diags.len() < MAX_DIAGNOSTICS {
        diags.push((range, msg));
    } else if diags.len() == MAX_DIAGNOSTICS {
        diags.push((
            range,
            "too many diagnostics; further ones are not reported".into(),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(StrLit),
    Num,
    Open(u8),
    Close(u8),
    Comma,
    Colon,
    Semi,
    Dot,
    Assign,
    Plus,
    Op,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Range<usize>,
    /// A line break (possibly inside a comment) separates this token from the previous one.
    nl_before: bool,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Esc {
    Full,
    Slashy,
    Dollar,
}

/// Builds a cooked value and its anchor map.
struct Builder {
    value: String,
    map: Vec<(usize, usize)>,
    run: usize,
}

impl Builder {
    fn new(start: usize) -> Self {
        Builder {
            value: String::new(),
            map: Vec::new(),
            run: start,
        }
    }

    /// Copies the verbatim run `run..upto`.
    fn flush(&mut self, src: &str, upto: usize) {
        if upto > self.run {
            if let Some(text) = src.get(self.run..upto) {
                self.map.push((self.value.len(), self.run));
                self.value.push_str(text);
            }
            self.run = upto;
        }
    }

    /// Records `text` produced by the escape `at..at + src_len` (after flushing).
    fn cooked(&mut self, src: &str, at: usize, src_len: usize, text: &str) {
        self.flush(src, at);
        self.map.push((self.value.len(), at));
        self.value.push_str(text);
        self.run = at + src_len;
    }

    fn finish(mut self, src: &str, content_end: usize) -> (String, Vec<(usize, usize)>) {
        self.flush(src, content_end);
        self.map.push((self.value.len(), content_end.max(self.run)));
        (self.value, self.map)
    }
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    toks: Vec<Token>,
    diags: Vec<(Range<usize>, String)>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            toks: Vec::new(),
            diags: Vec::new(),
        }
    }

    fn at(&self, p: usize) -> Option<u8> {
        self.b.get(p).copied()
    }

    fn diag(&mut self, range: Range<usize>, msg: impl Into<String>) {
        push_diag(&mut self.diags, range, msg.into());
    }

    fn line_end(&self, from: usize) -> usize {
        self.b
            .get(from..)
            .and_then(|r| r.iter().position(|&c| c == b'\n'))
            .map_or(self.b.len(), |k| from + k)
    }

    fn regex_allowed(&self) -> bool {
        match self.toks.last().map(|t| &t.tok) {
            None => true,
            Some(Tok::Ident(k)) => matches!(k.as_str(), "return" | "case" | "in" | "assert"),
            Some(
                Tok::Open(_)
                | Tok::Comma
                | Tok::Colon
                | Tok::Semi
                | Tok::Assign
                | Tok::Plus
                | Tok::Op,
            ) => true,
            Some(Tok::Str(_) | Tok::Num | Tok::Close(_) | Tok::Dot) => false,
        }
    }

    fn run(&mut self) {
        let len = self.b.len();
        let mut pos = 0;
        let mut nl = false;
        if self.b.starts_with(b"#!") {
            pos = self.line_end(0);
        }
        while let Some(c) = self.at(pos) {
            let start = pos;
            let next = self.at(pos + 1);
            let tok = match c {
                b'\n' => {
                    nl = true;
                    pos += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {
                    pos += 1;
                    continue;
                }
                b'/' if next == Some(b'/') => {
                    pos = self.line_end(pos);
                    continue;
                }
                b'/' if next == Some(b'*') => {
                    let found = self.src.get(pos + 2..).and_then(|r| r.find("*/"));
                    match found {
                        Some(k) => {
                            let end = pos + 2 + k + 2;
                            if self.b.get(pos..end).is_some_and(|r| r.contains(&b'\n')) {
                                nl = true;
                            }
                            pos = end;
                        }
                        None => {
                            self.diag(pos..len, "unterminated block comment");
                            pos = len;
                        }
                    }
                    continue;
                }
                b'\'' | b'"' => match self.string(pos, 0) {
                    Some((lit, end)) => {
                        pos = end;
                        Tok::Str(lit)
                    }
                    None => {
                        pos += 1;
                        Tok::Op
                    }
                },
                b'$' if next == Some(b'/') => match self.string(pos, 0) {
                    Some((lit, end)) => {
                        pos = end;
                        Tok::Str(lit)
                    }
                    None => {
                        pos += 1;
                        Tok::Ident("$".into())
                    }
                },
                b'/' if self.regex_allowed() => match self.string(pos, 0) {
                    Some((lit, end)) => {
                        pos = end;
                        Tok::Str(lit)
                    }
                    None => {
                        pos += 1;
                        Tok::Op
                    }
                },
                b'(' | b'[' | b'{' => {
                    pos += 1;
                    Tok::Open(c)
                }
                b')' | b']' | b'}' => {
                    pos += 1;
                    Tok::Close(c)
                }
                b',' => {
                    pos += 1;
                    Tok::Comma
                }
                b';' => {
                    pos += 1;
                    Tok::Semi
                }
                b':' if next == Some(b':') => {
                    pos += 2;
                    Tok::Op
                }
                b':' => {
                    pos += 1;
                    Tok::Colon
                }
                b'.' if next == Some(b'.') => {
                    pos += 2;
                    Tok::Op
                }
                b'.' => {
                    pos += 1;
                    Tok::Dot
                }
                b'?' | b'*' if next == Some(b'.') => {
                    pos += 2;
                    Tok::Dot
                }
                b'?' if next == Some(b':') => {
                    pos += 2;
                    Tok::Op
                }
                b'=' if matches!(next, Some(b'=' | b'~')) => {
                    pos += 2;
                    Tok::Op
                }
                b'=' => {
                    pos += 1;
                    Tok::Assign
                }
                b'+' if matches!(next, Some(b'+' | b'=')) => {
                    pos += 2;
                    Tok::Op
                }
                b'+' => {
                    pos += 1;
                    Tok::Plus
                }
                c if is_ident_start(c) => {
                    pos = self.ident_end(pos);
                    Tok::Ident(self.src.get(start..pos).unwrap_or_default().to_string())
                }
                c if c.is_ascii_digit() => {
                    pos += 1;
                    while let Some(d) = self.at(pos) {
                        let dot_digit =
                            d == b'.' && self.at(pos + 1).is_some_and(|n| n.is_ascii_digit());
                        if d.is_ascii_alphanumeric() || d == b'_' || dot_digit {
                            pos += 1;
                        } else {
                            break;
                        }
                    }
                    Tok::Num
                }
                c if c.is_ascii() => {
                    pos += 1;
                    Tok::Op
                }
                _ => {
                    let ch = self.src.get(pos..).and_then(|r| r.chars().next());
                    match ch {
                        Some(ch) if ch.is_alphabetic() => {
                            pos = self.ident_end(pos);
                            Tok::Ident(self.src.get(start..pos).unwrap_or_default().to_string())
                        }
                        Some(ch) => {
                            pos += ch.len_utf8();
                            Tok::Op
                        }
                        None => {
                            pos += 1;
                            Tok::Op
                        }
                    }
                }
            };
            self.toks.push(Token {
                tok,
                span: start..pos,
                nl_before: nl,
            });
            nl = false;
        }
    }

    fn ident_end(&self, mut pos: usize) -> usize {
        while let Some(c) = self.at(pos) {
            if c.is_ascii() {
                if is_ident_char(c) {
                    pos += 1;
                } else {
                    break;
                }
            } else {
                match self.src.get(pos..).and_then(|r| r.chars().next()) {
                    Some(ch) if ch.is_alphanumeric() => pos += ch.len_utf8(),
                    _ => break,
                }
            }
        }
        pos
    }

    /// Lexes the string literal starting at `start`. Returns `None` only for a slashy or
    /// dollar-slashy string without an end (the caller then reads the `/` as an operator).
    fn string(&mut self, start: usize, depth: u32) -> Option<(StrLit, usize)> {
        let rest = self.b.get(start..).unwrap_or_default();
        let (kind, open, close, multiline, gstring, esc): (_, usize, &[u8], _, _, _) =
            if rest.starts_with(b"'''") {
                (StrKind::TripleSingle, 3, b"'''", true, false, Esc::Full)
            } else if rest.starts_with(b"\"\"\"") {
                (StrKind::TripleDouble, 3, b"\"\"\"", true, true, Esc::Full)
            } else if rest.starts_with(b"'") {
                (StrKind::Single, 1, b"'", false, false, Esc::Full)
            } else if rest.starts_with(b"\"") {
                (StrKind::Double, 1, b"\"", false, true, Esc::Full)
            } else if rest.starts_with(b"$/") {
                (StrKind::DollarSlashy, 2, b"/$", true, true, Esc::Dollar)
            } else if rest.starts_with(b"/") {
                (StrKind::Slashy, 1, b"/", true, true, Esc::Slashy)
            } else {
                return None;
            };
        let slashy = matches!(kind, StrKind::Slashy | StrKind::DollarSlashy);
        let content_start = start + open;
        let mut bld = Builder::new(content_start);
        let mut pos = content_start;
        let mut interpolated = false;
        let (content_end, end, terminated) = loop {
            let Some(c) = self.at(pos) else {
                break (pos, pos, false);
            };
            if self.b.get(pos..).is_some_and(|r| r.starts_with(close)) {
                break (pos, pos + close.len(), true);
            }
            match c {
                b'\n' if !multiline => {
                    // a CRLF line end is not part of the unterminated string
                    let cut = if pos > content_start && self.at(pos - 1) == Some(b'\r') {
                        pos - 1
                    } else {
                        pos
                    };
                    break (cut, cut, false);
                }
                b'\r' if multiline && self.at(pos + 1) == Some(b'\n') => {
                    bld.cooked(self.src, pos, 2, "\n");
                    pos += 2;
                }
                b'\\' => pos = self.escape(&mut bld, pos, esc),
                b'$' if esc == Esc::Dollar && matches!(self.at(pos + 1), Some(b'$' | b'/')) => {
                    let text = if self.at(pos + 1) == Some(b'$') {
                        "$"
                    } else {
                        "/"
                    };
                    bld.cooked(self.src, pos, 2, text);
                    pos += 2;
                }
                b'$' if gstring => match self.at(pos + 1) {
                    Some(b'{') => {
                        interpolated = true;
                        pos = match self.skip_embedded(pos + 2, depth, multiline) {
                            Ok(e) | Err(e) => e,
                        };
                    }
                    Some(n) if is_ident_start(n) => {
                        interpolated = true;
                        pos += 1;
                    }
                    _ => pos += 1,
                },
                _ => pos += 1,
            }
        };
        if !terminated {
            if slashy {
                return None;
            }
            let what = match kind {
                StrKind::TripleSingle | StrKind::TripleDouble => "unterminated multi-line string",
                _ => "unterminated string (line ends before the closing quote)",
            };
            self.diag(start..end, what);
        }
        let (value, map) = bld.finish(self.src, content_end);
        Some((
            StrLit {
                value,
                span: start..end,
                kind,
                interpolated,
                map,
            },
            end,
        ))
    }

    /// Handles a backslash at `pos`; returns the position after it.
    fn escape(&mut self, bld: &mut Builder, pos: usize, esc: Esc) -> usize {
        let next = self.at(pos + 1);
        match esc {
            Esc::Dollar => pos + 1,
            Esc::Slashy => {
                if next == Some(b'/') {
                    bld.cooked(self.src, pos, 2, "/");
                    pos + 2
                } else {
                    pos + 1
                }
            }
            Esc::Full => {
                let simple = match next {
                    Some(b'b') => Some("\u{8}"),
                    Some(b't') => Some("\t"),
                    Some(b'n') => Some("\n"),
                    Some(b'f') => Some("\u{c}"),
                    Some(b'r') => Some("\r"),
                    Some(b's') => Some(" "),
                    Some(b'\\') => Some("\\"),
                    Some(b'\'') => Some("'"),
                    Some(b'"') => Some("\""),
                    Some(b'$') => Some("$"),
                    Some(b'\n') => Some(""),
                    _ => None,
                };
                if let Some(text) = simple {
                    bld.cooked(self.src, pos, 2, text);
                    return pos + 2;
                }
                match next {
                    None => pos + 1,
                    Some(b'\r') if self.at(pos + 2) == Some(b'\n') => {
                        bld.cooked(self.src, pos, 3, "");
                        pos + 3
                    }
                    Some(b'u') => match self.unicode_escape(pos) {
                        Some((ch, len)) => {
                            let mut buf = [0u8; 4];
                            bld.cooked(self.src, pos, len, ch.encode_utf8(&mut buf));
                            pos + len
                        }
                        None => {
                            self.diag(pos..pos + 2, "invalid unicode escape");
                            pos + 1
                        }
                    },
                    Some(d @ b'0'..=b'7') => {
                        let max = if d <= b'3' { 3 } else { 2 };
                        let mut value: u32 = 0;
                        let mut len = 1;
                        while len <= max {
                            match self.at(pos + len) {
                                Some(o @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(o - b'0');
                                    len += 1;
                                }
                                _ => break,
                            }
                        }
                        let ch = char::from_u32(value).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        bld.cooked(self.src, pos, len, ch.encode_utf8(&mut buf));
                        pos + len
                    }
                    Some(_) => {
                        self.diag(
                            pos..pos + 1,
                            "unsupported escape sequence (kept as written)",
                        );
                        pos + 1
                    }
                }
            }
        }
    }

    /// `\uXXXX` (any number of `u`s, surrogate pairs combined) at `pos`: (char, source length).
    fn unicode_escape(&self, pos: usize) -> Option<(char, usize)> {
        let unit = |p: usize| -> Option<(u32, usize)> {
            if self.at(p) != Some(b'\\') || self.at(p + 1) != Some(b'u') {
                return None;
            }
            let mut q = p + 1;
            while self.at(q) == Some(b'u') {
                q += 1;
            }
            let hex = self.src.get(q..q + 4)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            Some((u32::from_str_radix(hex, 16).ok()?, q + 4 - p))
        };
        let (hi, len) = unit(pos)?;
        if (0xD800..0xDC00).contains(&hi)
            && let Some((lo, len2)) = unit(pos + len)
            && (0xDC00..0xE000).contains(&lo)
        {
            let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return char::from_u32(cp).map(|c| (c, len + len2));
        }
        char::from_u32(hi).map(|c| (c, len))
    }

    /// Skips the code of a `${ … }` interpolation whose body starts at `pos`. `Ok` is the
    /// position after the closing brace; `Err` where reading stopped (end of input, or a line
    /// break inside a single-line string).
    fn skip_embedded(
        &mut self,
        mut pos: usize,
        depth: u32,
        multiline: bool,
    ) -> Result<usize, usize> {
        let mut braces: usize = 1;
        let mut warned = false;
        loop {
            let Some(c) = self.at(pos) else {
                return Err(pos);
            };
            match c {
                b'{' => braces += 1,
                b'}' => {
                    braces -= 1;
                    if braces == 0 {
                        return Ok(pos + 1);
                    }
                }
                b'\n' if !multiline => return Err(pos),
                b'\'' | b'"' if depth < MAX_STRING_DEPTH => {
                    if let Some((_, end)) = self.string(pos, depth + 1) {
                        pos = end.max(pos + 1);
                        continue;
                    }
                }
                b'\'' | b'"' if !warned => {
                    warned = true;
                    self.diag(pos..pos + 1, "strings nested too deeply inside `${…}`");
                }
                _ => {}
            }
            pos += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// One argument: an optional `key:` and the token range of its value.
#[derive(Debug, Clone)]
struct Arg {
    key: Option<(String, Range<usize>)>,
    start: usize,
    end: usize,
}

/// The shape of a call at an identifier.
#[derive(Debug, Clone)]
struct Call {
    args: Vec<Arg>,
    /// Token index of a trailing (or sole) closure's `{`.
    closure: Option<usize>,
    /// Token index just past the arguments (past `)` for parenthesised calls).
    end: usize,
}

/// A named setting of a call: from `key: value` arguments or `key value` closure statements.
#[derive(Debug, Clone)]
struct Setting {
    key: String,
    key_span: Range<usize>,
    start: usize,
    end: usize,
}

const BLOCK_NAMES: &[&str] = &[
    "stage",
    "job",
    "pipelineJob",
    "freeStyleJob",
    "matrixJob",
    "multibranchPipelineJob",
];

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    /// For an opening token, the index of its matching closing token.
    mate: Vec<Option<usize>>,
    consumed: Vec<bool>,
    /// For each token, the end (exclusive) of the statement / command arguments starting there.
    stmt_end: Vec<usize>,
    image_vars: HashSet<String>,
    /// `name = <expr>` assignments: name → (token index of the value, end), in source order.
    str_vars: HashMap<String, Vec<(usize, usize)>>,
    /// Method definitions (name, parameters, body open), found on first need.
    methods: Option<Vec<(String, Vec<String>, usize)>>,
    /// Call sites of those methods by name.
    method_calls: HashMap<String, Vec<usize>>,
    /// How many more `shell(param)` lookups through method calls this file may do.
    param_budget: usize,
    depth: u32,
    out: JenkinsFile,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, toks: Vec<Token>, depth: u32) -> Self {
        let n = toks.len();
        Parser {
            src,
            toks,
            mate: vec![None; n],
            consumed: vec![false; n],
            stmt_end: Vec::new(),
            image_vars: HashSet::new(),
            str_vars: HashMap::new(),
            methods: None,
            method_calls: HashMap::new(),
            param_budget: 256,
            depth,
            out: JenkinsFile::default(),
        }
    }

    fn diag(&mut self, range: Range<usize>, msg: impl Into<String>) {
        push_diag(&mut self.out.diagnostics, range, msg.into());
    }

    fn t(&self, i: usize) -> Option<&Tok> {
        self.toks.get(i).map(|t| &t.tok)
    }

    fn span(&self, i: usize) -> Range<usize> {
        self.toks
            .get(i)
            .map_or(self.src.len()..self.src.len(), |t| t.span.clone())
    }

    fn nl(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| t.nl_before)
    }

    fn ident(&self, i: usize) -> Option<&str> {
        match self.t(i) {
            Some(Tok::Ident(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    fn is_open(&self, i: usize, c: u8) -> bool {
        self.t(i) == Some(&Tok::Open(c))
    }

    fn prev_is_dot(&self, i: usize) -> bool {
        i.checked_sub(1).and_then(|k| self.t(k)) == Some(&Tok::Dot)
    }

    /// Index just past the group opened at `open` (its closing token), or the end.
    fn after_group(&self, open: usize) -> usize {
        self.mate
            .get(open)
            .copied()
            .flatten()
            .map_or(self.toks.len(), |m| m + 1)
    }

    /// Index of the closing token of the group opened at `open` (the end when unclosed).
    fn close_of(&self, open: usize) -> usize {
        self.mate
            .get(open)
            .copied()
            .flatten()
            .unwrap_or(self.toks.len())
    }

    /// End byte of the group opened at `open` (end of source when unclosed).
    fn group_end_byte(&self, open: usize) -> usize {
        self.span(self.close_of(open)).end
    }

    /// Matches brackets with an explicit stack and reports imbalance.
    fn balance(&mut self) {
        let mut stack: Vec<usize> = Vec::new();
        let mut diags = Vec::new();
        for (i, t) in self.toks.iter().enumerate() {
            match t.tok {
                Tok::Open(_) => stack.push(i),
                Tok::Close(c) => {
                    let want = match c {
                        b')' => b'(',
                        b']' => b'[',
                        _ => b'{',
                    };
                    let found =
                        stack.iter().rev().take(8).position(|&o| {
                            self.toks.get(o).map(|t| &t.tok) == Some(&Tok::Open(want))
                        });
                    match found {
                        Some(k) => {
                            for _ in 0..k {
                                if let Some(o) = stack.pop() {
                                    diags.push((o, None));
                                }
                            }
                            if let Some(o) = stack.pop()
                                && let Some(m) = self.mate.get_mut(o)
                            {
                                *m = Some(i);
                            }
                        }
                        None => diags.push((i, Some(c))),
                    }
                }
                _ => {}
            }
        }
        diags.extend(stack.into_iter().rev().map(|o| (o, None)));
        diags.sort_by_key(|d| d.0);
        for (i, close) in diags {
            let span = self.span(i);
            let msg = match close {
                Some(c) => format!("unmatched closing `{}`", char::from(c)),
                None => {
                    let text = self.src.get(span.clone()).unwrap_or_default();
                    format!("`{text}` is never closed")
                }
            };
            self.diag(span, msg);
        }
    }

    /// Whether `i` can begin the arguments of a command-style call (`name arg`).
    fn starts_expr(&self, i: usize) -> bool {
        match self.t(i) {
            Some(Tok::Str(_) | Tok::Num) => true,
            Some(Tok::Ident(s)) => !matches!(s.as_str(), "in" | "as" | "instanceof"),
            Some(Tok::Open(b'[')) => true,
            _ => false,
        }
    }

    /// Whether a token at `prev` lets the expression continue on the next line.
    fn continues(&self, prev: usize) -> bool {
        matches!(
            self.t(prev),
            Some(Tok::Comma | Tok::Colon | Tok::Plus | Tok::Op | Tok::Dot | Tok::Assign)
        )
    }

    /// End (exclusive) of a command-call argument list or statement beginning at `start`.
    fn statement_end(&self, start: usize) -> usize {
        self.stmt_end.get(start).copied().unwrap_or(self.toks.len())
    }

    /// Fills `stmt_end` in one backward pass (after `balance`): a statement runs to a `;`, an
    /// unmatched closing bracket, or a line break not preceded by a continuation token.
    fn compute_statement_ends(&mut self) {
        let n = self.toks.len();
        let mut ends = vec![n; n];
        for j in (0..n).rev() {
            let Some(t) = self.toks.get(j) else { continue };
            let end = match t.tok {
                Tok::Semi | Tok::Close(_) => j,
                _ => {
                    let next = match t.tok {
                        Tok::Open(_) => self.after_group(j),
                        _ => j + 1,
                    };
                    match self.toks.get(next) {
                        None => n,
                        Some(nt) => {
                            let breaks =
                                nt.nl_before && !self.continues(next - 1) && nt.tok != Tok::Dot;
                            if breaks {
                                next
                            } else {
                                ends.get(next).copied().unwrap_or(n)
                            }
                        }
                    }
                }
            };
            if let Some(e) = ends.get_mut(j) {
                *e = end;
            }
        }
        self.stmt_end = ends;
    }

    /// End of the arguments of a command-style call starting at `start`: the statement end,
    /// or earlier where two operands meet without an operator (a command chain such as
    /// `a b c d`), or after `MAX_COMMAND_TOKENS` top-level tokens (keeps scanning linear).
    fn command_end(&self, start: usize) -> usize {
        let stmt = self.statement_end(start);
        let operand = |t: Option<&Tok>| matches!(t, Some(Tok::Ident(_) | Tok::Str(_) | Tok::Num));
        let mut j = start;
        let mut prev_operand = false;
        let mut steps = 0;
        while j < stmt {
            let t = self.t(j);
            let starts_operand = operand(t) || t == Some(&Tok::Open(b'['));
            if j > start && prev_operand && starts_operand {
                return j;
            }
            steps += 1;
            if steps > MAX_COMMAND_TOKENS {
                return j;
            }
            match t {
                Some(Tok::Open(_)) => {
                    j = self.after_group(j);
                    prev_operand = true;
                }
                _ => {
                    prev_operand = operand(t);
                    j += 1;
                }
            }
        }
        stmt
    }

    /// Splits `start..end` at top-level commas.
    fn split_args(&self, start: usize, end: usize) -> Vec<Arg> {
        let mut args = Vec::new();
        let mut j = start;
        let mut s = start;
        while j < end {
            match self.t(j) {
                Some(Tok::Comma) => {
                    if j > s {
                        args.push(self.make_arg(s, j));
                    }
                    j += 1;
                    s = j;
                }
                Some(Tok::Open(_)) => j = self.after_group(j).min(end),
                Some(_) => j += 1,
                None => break,
            }
        }
        if end > s && s < self.toks.len() {
            args.push(self.make_arg(s, end.min(self.toks.len())));
        }
        args
    }

    fn make_arg(&self, s: usize, e: usize) -> Arg {
        if s + 2 <= e && self.t(s + 1) == Some(&Tok::Colon) {
            let key = match self.t(s) {
                Some(Tok::Ident(k)) => Some(k.clone()),
                Some(Tok::Str(l)) => Some(l.value.clone()),
                _ => None,
            };
            if let Some(k) = key {
                return Arg {
                    key: Some((k, self.span(s))),
                    start: s + 2,
                    end: e,
                };
            }
        }
        Arg {
            key: None,
            start: s,
            end: e,
        }
    }

    /// The call shape at identifier `i`: `name(args) {closure}`, `name {closure}` or
    /// `name arg, key: value` on the same line.
    fn call_at(&self, i: usize, allow_nl_closure: bool) -> Option<Call> {
        let next = i + 1;
        if self.is_open(next, b'(') && !self.nl(next) {
            let close = self.close_of(next);
            let args = self.split_args(next + 1, close);
            let after = close + 1;
            let closure = (self.is_open(after, b'{') && (allow_nl_closure || !self.nl(after)))
                .then_some(after);
            return Some(Call {
                args,
                closure,
                end: after.min(self.toks.len()),
            });
        }
        if self.is_open(next, b'{') && (allow_nl_closure || !self.nl(next)) {
            return Some(Call {
                args: Vec::new(),
                closure: Some(next),
                end: next,
            });
        }
        if !self.nl(next) && self.starts_expr(next) {
            let end = self.command_end(next);
            return Some(Call {
                args: self.split_args(next, end),
                closure: None,
                end,
            });
        }
        None
    }

    /// End byte of a call: closing brace of its closure, else its last argument token.
    fn call_end_byte(&self, i: usize, call: &Call) -> usize {
        match call.closure {
            Some(open) => self.group_end_byte(open),
            None => {
                let last = call.end.checked_sub(1).filter(|&k| k > i).unwrap_or(i);
                self.span(last).end
            }
        }
    }

    /// Named entries of a map literal `[k: v, …]` spanning exactly `arg`.
    fn map_entries(&self, arg: &Arg) -> Vec<Arg> {
        if arg.key.is_none() && self.is_open(arg.start, b'[') {
            let close = self.close_of(arg.start);
            if close + 1 == arg.end {
                return self
                    .split_args(arg.start + 1, close)
                    .into_iter()
                    .filter(|a| a.key.is_some())
                    .collect();
            }
        }
        Vec::new()
    }

    /// Settings of a call: named arguments (also inside a single map-literal argument) and
    /// `key value` / `key(value)` / `key = value` statements of its closure.
    fn settings(&self, call: &Call) -> Vec<Setting> {
        let mut out = Vec::new();
        let mut push_arg = |a: &Arg| {
            if let Some((k, ks)) = &a.key {
                out.push(Setting {
                    key: k.clone(),
                    key_span: ks.clone(),
                    start: a.start,
                    end: a.end,
                });
            }
        };
        for a in &call.args {
            push_arg(a);
        }
        if let [only] = call.args.as_slice() {
            for a in self.map_entries(only) {
                push_arg(&a);
            }
        }
        if let Some(open) = call.closure {
            for j in self.statements(open) {
                let Some(key) = self.ident(j) else { continue };
                let key = key.to_string();
                if self.t(j + 1) == Some(&Tok::Assign) {
                    out.push(Setting {
                        key,
                        key_span: self.span(j),
                        start: j + 2,
                        end: self.statement_end(j + 2),
                    });
                } else if let Some(c) = self.call_at(j, false)
                    && let Some(a) = c.args.first()
                {
                    out.push(Setting {
                        key,
                        key_span: self.span(j),
                        start: a.start,
                        end: a.end,
                    });
                }
            }
        }
        out
    }

    /// Token indices where top-level statements of the closure opened at `open` start.
    fn statements(&self, open: usize) -> Vec<usize> {
        let close = self.close_of(open);
        let mut starts = Vec::new();
        let mut j = open + 1;
        while j < close {
            let Some(t) = self.toks.get(j) else { break };
            let start = j == open + 1
                || self.t(j - 1) == Some(&Tok::Semi)
                || (t.nl_before && !self.continues(j - 1) && t.tok != Tok::Dot);
            if start {
                starts.push(j);
            }
            j = match t.tok {
                Tok::Open(_) => self.after_group(j),
                _ => j + 1,
            };
        }
        starts
    }

    /// The string literal at the start of token range `start..end`.
    fn value_str(&mut self, start: usize, end: usize) -> Option<StrLit> {
        if start >= end {
            return None;
        }
        let Some(Tok::Str(lit)) = self.t(start) else {
            return None;
        };
        let lit = lit.clone();
        if start + 1 < end && self.t(start + 1) == Some(&Tok::Plus) {
            let span = self.span(start + 1);
            self.diag(
                span,
                "string concatenation: only the first literal is reported",
            );
        }
        Some(lit)
    }

    fn setting_str(&mut self, settings: &[Setting], key: &str) -> Option<StrLit> {
        let s = settings.iter().find(|s| s.key == key)?;
        let (start, end) = (s.start, s.end);
        self.value_str(start, end)
    }

    fn first_positional_str(&mut self, call: &Call) -> Option<StrLit> {
        let a = call.args.iter().find(|a| a.key.is_none())?;
        let (start, end) = (a.start, a.end);
        self.value_str(start, end)
    }

    fn scan(&mut self) {
        self.collect_image_vars();
        self.collect_str_vars();
        let mut i = 0;
        while i < self.toks.len() {
            if let Some(name) = self.ident(i)
                && !self.prev_is_dot(i)
                && !self.consumed.get(i).copied().unwrap_or(false)
            {
                let name = name.to_string();
                self.dispatch(i, &name);
            }
            i += 1;
        }
    }

    /// `def NAME = …`, `String NAME = …`, `NAME = …` (not `a.NAME = …`), `environment { NAME = … }`.
    fn collect_str_vars(&mut self) {
        for i in 0..self.toks.len() {
            if let Some(name) = self.ident(i)
                && self.t(i + 1) == Some(&Tok::Assign)
                && !self.prev_is_dot(i)
                && matches!(self.t(i + 2), Some(Tok::Str(_) | Tok::Ident(_)))
            {
                let end = self.statement_end(i + 2);
                self.str_vars
                    .entry(name.to_string())
                    .or_default()
                    .push((i + 2, end));
            }
        }
    }

    /// The definition of `name` in effect at token `at`: the last one before it, else the first.
    fn var_def(&self, name: &str, at: usize) -> Option<(usize, usize)> {
        let defs = self.str_vars.get(name)?;
        defs.iter()
            .rev()
            .find(|(s, _)| *s < at)
            .or_else(|| defs.first())
            .copied()
    }

    /// A string expression over tokens `start..end`: literals, constant variables, `+`
    /// concatenation and GString `${name}` / `$name` of constants are resolved; anything else
    /// stays as a `${…}` placeholder. `None` when nothing in it is a string.
    fn resolve_expr(&self, start: usize, end: usize, depth: u32) -> Option<StrLit> {
        if start >= end || depth > 8 {
            return None;
        }
        let use_span = self.span(start).start..self.span(end - 1).end;
        let mut parts: Vec<StrLit> = Vec::new();
        let mut any = false;
        let mut s = start;
        let mut j = start;
        while s < end {
            // One operand: up to the next top-level `+`.
            while j < end && self.t(j) != Some(&Tok::Plus) {
                j = match self.t(j) {
                    Some(Tok::Open(_)) => self.after_group(j).min(end),
                    _ => j + 1,
                };
            }
            let operand = self.resolve_operand(s, j, depth);
            match operand {
                Some(lit) => {
                    any = true;
                    parts.push(lit);
                }
                None => {
                    let sp = self.span(s).start..self.span(j.saturating_sub(1).max(s)).end;
                    let text = self.src.get(sp.clone()).unwrap_or("").trim().to_string();
                    parts.push(StrLit::placeholder(format!("${{{text}}}"), sp));
                }
            }
            j += 1;
            s = j;
        }
        if !any {
            return None;
        }
        if let [only] = parts.as_slice()
            && only.span == use_span
        {
            return Some(only.clone());
        }
        Some(StrLit::concat(&parts, use_span))
    }

    /// One operand of a string expression: a literal (optionally followed by a no-argument
    /// method such as `.stripIndent()` / `.trim()`), or a constant variable.
    fn resolve_operand(&self, s: usize, e: usize, depth: u32) -> Option<StrLit> {
        match self.t(s)? {
            Tok::Str(lit) => {
                let mut k = s + 1;
                while k < e {
                    let m = self.ident(k + 1);
                    if self.t(k) == Some(&Tok::Dot)
                        && matches!(m, Some("stripIndent" | "stripMargin" | "trim" | "toString"))
                        && self.is_open(k + 2, b'(')
                        && self.close_of(k + 2) == k + 3
                    {
                        k += 4;
                    } else {
                        return None;
                    }
                }
                Some(self.interpolate(lit, s, depth))
            }
            Tok::Ident(name) if e == s + 1 => {
                let (vs, ve) = self.var_def(name, s)?;
                if vs == s {
                    return None;
                }
                self.resolve_expr(vs, ve, depth + 1)
            }
            Tok::Ident(env) if env == "env" && e == s + 3 && self.t(s + 1) == Some(&Tok::Dot) => {
                let name = self.ident(s + 2)?;
                let (vs, ve) = self.var_def(name, s)?;
                self.resolve_expr(vs, ve, depth + 1)
            }
            _ => None,
        }
    }

    /// A GString with `${name}` / `$name` / `${env.name}` of constant variables substituted.
    fn interpolate(&self, lit: &StrLit, at: usize, depth: u32) -> StrLit {
        if !lit.interpolated || depth > 8 {
            return lit.clone();
        }
        let v = lit.value.as_str();
        let b = v.as_bytes();
        let mut parts = Vec::new();
        let mut last = 0;
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            if b.get(i) != Some(&b'$') || (i > 0 && b.get(i - 1) == Some(&b'\\')) {
                i += 1;
                continue;
            }
            let (name, len) = if b.get(i + 1) == Some(&b'{') {
                match v.get(i + 2..).and_then(|r| r.find('}')) {
                    Some(e) => (v.get(i + 2..i + 2 + e).unwrap_or("").trim(), e + 3),
                    None => break,
                }
            } else {
                let e = v
                    .get(i + 1..)
                    .unwrap_or("")
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(b.len() - i - 1, |e| e);
                (v.get(i + 1..i + 1 + e).unwrap_or(""), e + 1)
            };
            let name = name.strip_prefix("env.").unwrap_or(name);
            let resolved = (!name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| self.var_def(name, at))
            .flatten()
            .and_then(|(vs, ve)| self.resolve_expr(vs, ve, depth + 1));
            if let Some(r) = resolved {
                if let Some(before) = lit.slice(last..i) {
                    parts.push(before);
                }
                parts.push(r);
                last = i + len;
                changed = true;
            }
            i += len.max(1);
        }
        if !changed {
            return lit.clone();
        }
        if let Some(rest) = lit.slice(last..lit.value.len()) {
            parts.push(rest);
        }
        StrLit::concat(&parts, lit.span.clone())
    }

    fn collect_image_vars(&mut self) {
        for i in 0..self.toks.len() {
            if let Some(name) = self.ident(i)
                && self.t(i + 1) == Some(&Tok::Assign)
                && self.ident(i + 2) == Some("docker")
                && self.t(i + 3) == Some(&Tok::Dot)
                && matches!(self.ident(i + 4), Some("image" | "build"))
            {
                self.image_vars.insert(name.to_string());
            }
        }
    }

    fn dispatch(&mut self, i: usize, name: &str) {
        match name {
            n if BLOCK_NAMES.contains(&n) => self.block(i),
            "sh" | "shell" => self.shell(i, name),
            "docker" => self.docker(i),
            "dockerfile" => self.dockerfile(i),
            "withDockerServer" => self.with_docker_server(i),
            "withDockerContainer" => self.with_docker_container(i),
            "withDockerRegistry" => {
                let span = self.span(i);
                self.out.docker_usage.push((DockerUse::Login, span));
            }
            "containerTemplate" => self.container_template(i),
            "hostPathVolume" => self.host_path_volume(i),
            "yaml" => self.yaml(i),
            "environment" => self.environment(i),
            "environmentVariables" => self.environment_variables(i),
            "withEnv" => self.with_env(i),
            "env" => self.env(i),
            "envVar" | "containerEnvVar" => self.pod_env_var(i),
            "script" => self.embedded_script(i),
            _ if self.image_vars.contains(name) => self.image_var_call(i),
            _ => {}
        }
    }

    fn block(&mut self, i: usize) {
        if !self.is_open(i + 1, b'(') || self.nl(i + 1) {
            return;
        }
        let close = self.close_of(i + 1);
        let body = close + 1;
        if !self.is_open(body, b'{') {
            return;
        }
        let Some(arg) = self.split_args(i + 2, close).into_iter().next() else {
            return;
        };
        let (name, label_span) = match self.value_str(arg.start, arg.end) {
            Some(lit) => (lit.value, lit.span),
            None => {
                let s = self.span(arg.start).start;
                let e = self.span(arg.end.saturating_sub(1)).end.max(s);
                (self.src.get(s..e).unwrap_or_default().to_string(), s..e)
            }
        };
        let span = self.span(i).start..self.group_end_byte(body);
        self.out.stages.push(Block {
            name,
            span,
            label_span,
        });
    }

    fn shell(&mut self, i: usize, name: &str) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        if call.args.is_empty() {
            return;
        }
        let positional = call
            .args
            .iter()
            .find(|a| a.key.is_none())
            .and_then(|a| self.resolve_expr(a.start, a.end, 0));
        let script = match positional {
            Some(s) => Some(s),
            None => {
                let settings = self.settings(&call);
                settings
                    .iter()
                    .find(|st| st.key == "script")
                    .and_then(|st| self.resolve_expr(st.start, st.end, 0))
            }
        };
        match script {
            Some(s) => self.out.shell_steps.push(s),
            None => {
                let span = self.span(i).start..self.call_end_byte(i, &call);
                // `shell(cmd)` inside `def makeJob(name, cmd) { … }`: the scripts are the
                // arguments of the method's calls.
                let param = call
                    .args
                    .iter()
                    .find(|a| a.key.is_none() && a.end == a.start + 1)
                    .and_then(|a| self.ident(a.start).map(|n| (n.to_string(), a.start)));
                let from_calls = match param {
                    Some((n, at)) if self.param_budget > 0 => {
                        self.param_budget -= 1;
                        self.ensure_methods();
                        self.parameter_values(&n, at, span.clone())
                    }
                    _ => Vec::new(),
                };
                if from_calls.is_empty() {
                    self.diag(span, format!("`{name}` script is not a string literal"));
                } else {
                    self.out.shell_steps.extend(from_calls);
                }
            }
        }
    }

    /// Finds method definitions and call sites once per file.
    fn ensure_methods(&mut self) {
        if self.methods.is_some() {
            return;
        }
        let methods = self.find_methods();
        let mut calls: HashMap<String, Vec<usize>> = HashMap::new();
        if !methods.is_empty() {
            let names: HashSet<&str> = methods.iter().map(|m| m.0.as_str()).collect();
            for j in 0..self.toks.len() {
                if let Some(n) = self.ident(j)
                    && names.contains(n)
                    && !self.prev_is_dot(j)
                    && self.is_open(j + 1, b'(')
                    && !j
                        .checked_sub(1)
                        .and_then(|p| self.ident(p))
                        .is_some_and(|p| matches!(p, "def" | "void" | "String" | "Object"))
                {
                    calls.entry(n.to_string()).or_default().push(j);
                }
            }
        }
        self.methods = Some(methods);
        self.method_calls = calls;
    }

    /// `def name(a, String b, def c = 'x') { … }` definitions: (name, parameters, body open).
    fn find_methods(&self) -> Vec<(String, Vec<String>, usize)> {
        let mut out = Vec::new();
        for i in 0..self.toks.len() {
            if !matches!(self.ident(i), Some("def" | "void" | "String" | "Object"))
                || !self.is_open(i + 2, b'(')
            {
                continue;
            }
            let Some(name) = self.ident(i + 1) else {
                continue;
            };
            let close = self.close_of(i + 2);
            if !self.is_open(close + 1, b'{') {
                continue;
            }
            let params = self
                .split_args(i + 3, close)
                .iter()
                .map(|a| {
                    // The parameter name is the last identifier before any default value.
                    let end = (a.start..a.end)
                        .find(|&k| self.t(k) == Some(&Tok::Assign))
                        .unwrap_or(a.end);
                    (a.start..end)
                        .rev()
                        .find_map(|k| self.ident(k))
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            out.push((name.to_string(), params, close + 1));
        }
        out
    }

    /// The values a method parameter takes at the method's call sites, as scripts located at
    /// `use_span` whose bytes map to the call-site arguments.
    fn parameter_values(&self, param: &str, at: usize, use_span: Range<usize>) -> Vec<StrLit> {
        let Some(methods) = self.methods.as_ref() else {
            return Vec::new();
        };
        let Some((name, params, _)) = methods
            .iter()
            .filter(|(_, _, open)| *open < at && self.close_of(*open) > at)
            .max_by_key(|(_, _, open)| *open)
        else {
            return Vec::new();
        };
        let Some(k) = params.iter().position(|p| p == param) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &j in self
            .method_calls
            .get(name)
            .map_or(&[][..], |v| v.as_slice())
        {
            let close = self.close_of(j + 1);
            let args = self.split_args(j + 2, close);
            if let Some(a) = args.iter().filter(|a| a.key.is_none()).nth(k)
                && let Some(v) = self.resolve_expr(a.start, a.end, 1)
            {
                out.push(StrLit::concat(&[v], use_span.clone()));
            }
            if out.len() >= 200 {
                break;
            }
        }
        out
    }

    fn docker(&mut self, i: usize) {
        if self.t(i + 1) == Some(&Tok::Dot) {
            match self.ident(i + 2) {
                Some("build") => {
                    let end = self.statement_end(i + 2);
                    let span = self.span(i).start..self.span(end.saturating_sub(1).max(i)).end;
                    self.out.docker_usage.push((DockerUse::Build, span));
                    self.image_chain(i);
                }
                Some("withRegistry") => {
                    let span = self.span(i).start..self.span(i + 2).end;
                    self.out.docker_usage.push((DockerUse::Login, span));
                }
                Some("image") => self.image_chain(i),
                Some("withServer") => {
                    if let Some(call) = self.call_at(i + 2, false)
                        && let Some(uri) = self.first_positional_str(&call)
                    {
                        self.out.docker_server_uris.push(uri);
                    }
                }
                _ => {}
            }
            return;
        }
        let Some(call) = self.call_at(i, true) else {
            return;
        };
        let settings = self.settings(&call);
        let image = match self.setting_str(&settings, "image") {
            Some(img) => Some(img),
            None => self.first_positional_str(&call),
        };
        let (args, overridden_args) = self.args_settings(&settings);
        let span = self.span(i).start..self.call_end_byte(i, &call);
        self.out.docker_agents.push(DockerAgent {
            span,
            image,
            args,
            overridden_args,
            dockerfile: false,
        });
    }

    fn dockerfile(&mut self, i: usize) {
        let Some(call) = self.call_at(i, true) else {
            return;
        };
        if call.closure.is_none() {
            let first = call.args.first().and_then(|a| self.ident(a.start));
            if first != Some("true") {
                return;
            }
        }
        let settings = self.settings(&call);
        let (args, overridden_args) = self.args_settings(&settings);
        let span = self.span(i).start..self.call_end_byte(i, &call);
        self.out.docker_agents.push(DockerAgent {
            span,
            image: None,
            args,
            overridden_args,
            dockerfile: true,
        });
    }

    /// Every `args` setting of an agent: the last (effective) one and the ones it overrides.
    fn args_settings(&mut self, settings: &[Setting]) -> (Option<StrLit>, Vec<StrLit>) {
        let mut all: Vec<StrLit> = Vec::new();
        for st in settings.iter().filter(|st| st.key == "args") {
            let (start, end) = (st.start, st.end);
            if let Some(l) = self.resolve_expr(start, end, 0) {
                all.push(l);
            }
        }
        let last = all.pop();
        (last, all)
    }

    /// `docker.image(…)` / `docker.build(…)` followed by `.inside` / `.withRun` / `.run`.
    fn image_chain(&mut self, i: usize) {
        let open = i + 3;
        if !self.is_open(open, b'(') {
            return;
        }
        let close = self.close_of(open);
        let image = self
            .split_args(open + 1, close)
            .into_iter()
            .find(|a| a.key.is_none())
            .and_then(|a| self.value_str(a.start, a.end));
        if self.t(close + 1) == Some(&Tok::Dot) {
            self.method_call(i, close + 2, image);
        }
    }

    /// `img.inside(…)` where `img` was assigned from `docker.image(…)` / `docker.build(…)`.
    fn image_var_call(&mut self, i: usize) {
        if self.t(i + 1) == Some(&Tok::Dot) {
            self.method_call(i, i + 2, None);
        }
    }

    fn method_call(&mut self, start: usize, m: usize, image: Option<StrLit>) {
        let method = match self.ident(m) {
            Some("push") => {
                let span = self.span(start).start..self.span(m).end;
                self.out.docker_usage.push((DockerUse::Push, span));
                return;
            }
            Some("inside") => InsideMethod::Inside,
            Some("withRun") => InsideMethod::WithRun,
            Some("run") => InsideMethod::Run,
            _ => return,
        };
        let (args, end) = match self.call_at(m, false) {
            Some(call) => {
                let end = if call.args.is_empty() && call.closure.is_some() {
                    self.span(m).end
                } else {
                    self.span(call.end.saturating_sub(1).max(m)).end
                };
                let args = call
                    .args
                    .iter()
                    .find(|a| a.key.is_none())
                    .and_then(|a| self.resolve_expr(a.start, a.end, 0));
                (args, end)
            }
            None => (None, self.span(m).end),
        };
        self.out.image_calls.push(ImageCall {
            span: self.span(start).start..end,
            image,
            method,
            args,
        });
    }

    fn with_docker_server(&mut self, i: usize) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        let settings = self.settings(&call);
        let uri = match self.setting_str(&settings, "uri") {
            Some(u) => Some(u),
            None => self.first_positional_str(&call),
        };
        match uri {
            Some(u) => self.out.docker_server_uris.push(u),
            None => {
                let span = self.span(i).start..self.call_end_byte(i, &call);
                self.diag(span, "`withDockerServer` uri is not a string literal");
            }
        }
    }

    fn with_docker_container(&mut self, i: usize) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        let settings = self.settings(&call);
        let image = match self.setting_str(&settings, "image") {
            Some(img) => Some(img),
            None => self.first_positional_str(&call),
        };
        let args = settings
            .iter()
            .find(|st| st.key == "args")
            .and_then(|st| self.resolve_expr(st.start, st.end, 0));
        let last = call.end.saturating_sub(1).max(i);
        self.out.image_calls.push(ImageCall {
            span: self.span(i).start..self.span(last).end,
            image,
            method: InsideMethod::Inside,
            args,
        });
    }

    fn container_template(&mut self, i: usize) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        let settings = self.settings(&call);
        let name = self.setting_str(&settings, "name");
        let image = self.setting_str(&settings, "image");
        let command = self.setting_str(&settings, "command");
        let args = self.setting_str(&settings, "args");
        let mut privileged = None;
        if let Some(s) = settings.iter().find(|s| s.key == "privileged") {
            let value = match self.ident(s.start) {
                Some("true") if s.end == s.start + 1 => Some(true),
                Some("false") if s.end == s.start + 1 => Some(false),
                _ => None,
            };
            let span = s.key_span.start..self.span(s.end.saturating_sub(1).max(s.start)).end;
            match value {
                Some(v) => privileged = Some((v, span)),
                None => self.diag(span, "`privileged` value is not a boolean literal"),
            }
        }
        let mut env = Vec::new();
        if let Some(s) = settings.iter().find(|s| s.key == "envVars")
            && self.is_open(s.start, b'[')
        {
            let close = self.close_of(s.start);
            for a in self.split_args(s.start + 1, close) {
                if matches!(self.ident(a.start), Some("envVar" | "containerEnvVar"))
                    && let Some(pair) = self.env_var_pair(a.start)
                {
                    if let Some(c) = self.consumed.get_mut(a.start) {
                        *c = true;
                    }
                    env.push(pair);
                }
            }
        }
        let span = self.span(i).start..self.call_end_byte(i, &call);
        self.out.container_templates.push(ContainerTemplate {
            span,
            name,
            image,
            privileged,
            env,
            command,
            args,
        });
    }

    /// `envVar(key: 'K', value: 'V')` at `i` as (key, value) literals.
    fn env_var_pair(&mut self, i: usize) -> Option<(StrLit, StrLit)> {
        let call = self.call_at(i, false)?;
        let settings = self.settings(&call);
        let key = self.setting_str(&settings, "key")?;
        let value = self.setting_str(&settings, "value")?;
        Some((key, value))
    }

    fn pod_env_var(&mut self, i: usize) {
        if let Some(pair) = self.env_var_pair(i) {
            self.out.env_assignments.push(pair);
        }
    }

    fn host_path_volume(&mut self, i: usize) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        let settings = self.settings(&call);
        let host = self.setting_str(&settings, "hostPath");
        let mount_path = self.setting_str(&settings, "mountPath");
        let span = self.span(i).start..self.call_end_byte(i, &call);
        match host {
            Some(host_path) => self.out.host_path_volumes.push(HostPathVolume {
                span,
                host_path,
                mount_path,
            }),
            None => self.diag(span, "`hostPathVolume` hostPath is not a string literal"),
        }
    }

    fn yaml(&mut self, i: usize) {
        let (lit, span) = if self.t(i + 1) == Some(&Tok::Colon) {
            let end = self.statement_end(i + 2);
            (
                self.value_str(i + 2, end),
                self.span(i).start..self.span(i + 2).end,
            )
        } else if let Some(call) = self.call_at(i, false) {
            let span = self.span(i).start..self.call_end_byte(i, &call);
            (self.first_positional_str(&call), span)
        } else {
            return;
        };
        match lit {
            Some(l) => self.out.pod_yamls.push(l),
            None => self.diag(span, "pod `yaml` is not a string literal"),
        }
    }

    fn environment(&mut self, i: usize) {
        if !self.is_open(i + 1, b'{') {
            return;
        }
        for j in self.statements(i + 1) {
            if let Some(name) = self.ident(j)
                && self.t(j + 1) == Some(&Tok::Assign)
            {
                let name = StrLit::from_ident(name, self.span(j));
                let end = self.statement_end(j + 2);
                if let Some(value) = self.value_str(j + 2, end) {
                    self.out.env_assignments.push((name, value));
                }
            }
        }
    }

    /// Job DSL `environmentVariables(K: 'v')` / `environmentVariables { env('K', 'v') }`.
    fn environment_variables(&mut self, i: usize) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        for a in call.args {
            if let Some((k, ks)) = a.key
                && let Some(value) = self.value_str(a.start, a.end)
            {
                self.out
                    .env_assignments
                    .push((StrLit::from_ident(&k, ks), value));
            }
        }
    }

    fn with_env(&mut self, i: usize) {
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        let Some(list) = call.args.first() else {
            return;
        };
        if !self.is_open(list.start, b'[') {
            return;
        }
        let close = self.close_of(list.start);
        for a in self.split_args(list.start + 1, close) {
            let Some(lit) = self.value_str(a.start, a.end) else {
                continue;
            };
            match lit.value.find('=') {
                Some(eq) => {
                    if let (Some(k), Some(v)) =
                        (lit.slice(0..eq), lit.slice(eq + 1..lit.value.len()))
                    {
                        self.out.env_assignments.push((k, v));
                    }
                }
                None => self.diag(lit.span.clone(), "`withEnv` entry without `=`"),
            }
        }
    }

    /// `env.NAME = '…'` and Job DSL `env('NAME', '…')`.
    fn env(&mut self, i: usize) {
        if self.t(i + 1) == Some(&Tok::Dot)
            && let Some(name) = self.ident(i + 2)
            && self.t(i + 3) == Some(&Tok::Assign)
        {
            let name = StrLit::from_ident(name, self.span(i + 2));
            let end = self.statement_end(i + 4);
            if let Some(value) = self.value_str(i + 4, end) {
                self.out.env_assignments.push((name, value));
            }
            return;
        }
        if self.is_open(i + 1, b'(') {
            let close = self.close_of(i + 1);
            let args = self.split_args(i + 2, close);
            if let [k, v] = args.as_slice()
                && k.key.is_none()
                && v.key.is_none()
            {
                let (k, v) = (k.clone(), v.clone());
                if let Some(key) = self.value_str(k.start, k.end)
                    && let Some(value) = self.value_str(v.start, v.end)
                {
                    self.out.env_assignments.push((key, value));
                }
            }
        }
    }

    /// Job DSL `cps { script('''…pipeline…''') }`: parses the embedded pipeline and maps
    /// everything found back into this file.
    fn embedded_script(&mut self, i: usize) {
        if self.depth >= MAX_SCRIPT_DEPTH {
            return;
        }
        let Some(call) = self.call_at(i, false) else {
            return;
        };
        let Some(first) = call.args.first() else {
            return;
        };
        if first.key.is_some() {
            return;
        }
        let (start, end) = (first.start, first.end);
        let Some(parent) = self.value_str(start, end) else {
            return;
        };
        let inner = parse_depth(&parent.value, self.depth + 1);
        self.merge(inner, &parent);
    }

    fn merge(&mut self, inner: JenkinsFile, parent: &StrLit) {
        let lit = |l: &StrLit| l.remap(parent);
        let opt = |l: &Option<StrLit>| l.as_ref().map(|l| l.remap(parent));
        let range = |r: &Range<usize>| parent.src_range(r.clone());
        let out = &mut self.out;
        out.stages.extend(inner.stages.iter().map(|b| Block {
            name: b.name.clone(),
            span: range(&b.span),
            label_span: range(&b.label_span),
        }));
        out.shell_steps.extend(inner.shell_steps.iter().map(lit));
        out.docker_agents
            .extend(inner.docker_agents.iter().map(|a| DockerAgent {
                span: range(&a.span),
                image: opt(&a.image),
                args: opt(&a.args),
                overridden_args: a.overridden_args.iter().map(lit).collect(),
                dockerfile: a.dockerfile,
            }));
        out.image_calls
            .extend(inner.image_calls.iter().map(|c| ImageCall {
                span: range(&c.span),
                image: opt(&c.image),
                method: c.method,
                args: opt(&c.args),
            }));
        out.docker_server_uris
            .extend(inner.docker_server_uris.iter().map(lit));
        out.container_templates
            .extend(inner.container_templates.iter().map(|c| ContainerTemplate {
                span: range(&c.span),
                name: opt(&c.name),
                image: opt(&c.image),
                privileged: c.privileged.as_ref().map(|(v, r)| (*v, range(r))),
                env: c.env.iter().map(|(k, v)| (lit(k), lit(v))).collect(),
                command: opt(&c.command),
                args: opt(&c.args),
            }));
        out.host_path_volumes
            .extend(inner.host_path_volumes.iter().map(|h| HostPathVolume {
                span: range(&h.span),
                host_path: lit(&h.host_path),
                mount_path: opt(&h.mount_path),
            }));
        out.pod_yamls.extend(inner.pod_yamls.iter().map(lit));
        out.docker_usage
            .extend(inner.docker_usage.iter().map(|(u, r)| (*u, range(r))));
        out.env_assignments
            .extend(inner.env_assignments.iter().map(|(k, v)| (lit(k), lit(v))));
        for (r, msg) in &inner.diagnostics {
            push_diag(
                &mut out.diagnostics,
                range(r),
                format!("in embedded script: {msg}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(src: &str, off: usize) -> usize {
        src[..off].matches('\n').count() + 1
    }

    fn text<'s>(src: &'s str, r: &Range<usize>) -> &'s str {
        &src[r.clone()]
    }

    /// Every literal's mapped verbatim text must equal the value text.
    fn assert_exact(src: &str, lit: &StrLit, needle: &str) {
        let v = lit.value.find(needle).expect("needle in value");
        let r = lit.src_range(v..v + needle.len());
        assert_eq!(&src[r], needle);
    }

    #[test]
    fn empty_file() {
        let f = parse_jenkins("");
        assert_eq!(f, JenkinsFile::default());
    }

    #[test]
    fn whitespace_and_comments_only() {
        let f = parse_jenkins("  \n// c\n/* x */\n#!not shebang here\n");
        assert!(f.stages.is_empty() && f.shell_steps.is_empty());
    }

    #[test]
    fn declarative_docker_agent_and_stages() {
        let src = "pipeline {\n  agent {\n    docker {\n      image 'docker:29-cli'\n      args '--privileged -v /var/run/docker.sock:/var/run/docker.sock'\n    }\n  }\n  stages {\n    stage('Build') {\n      steps {\n        sh 'docker build -t app .'\n      }\n    }\n  }\n}\n";
        let f = parse_jenkins(src);
        assert_eq!(f.docker_agents.len(), 1);
        let a = &f.docker_agents[0];
        assert!(!a.dockerfile);
        assert_eq!(a.image.as_ref().unwrap().value, "docker:29-cli");
        let args = a.args.as_ref().unwrap();
        assert_eq!(args.kind, StrKind::Single);
        assert_eq!(text(src, &args.span).chars().next(), Some('\''));
        let sock = args.value.find("/var/run").unwrap();
        assert_eq!(line_of(src, args.src_offset(sock)), 5);
        assert_exact(src, args, "/var/run/docker.sock:/var/run/docker.sock");
        assert!(text(src, &a.span).starts_with("docker {"));
        assert!(text(src, &a.span).ends_with('}'));
        assert_eq!(f.stages.len(), 1);
        assert_eq!(f.stages[0].name, "Build");
        assert_eq!(text(src, &f.stages[0].label_span), "'Build'");
        assert_eq!(f.shell_steps.len(), 1);
        assert_eq!(f.shell_steps[0].value, "docker build -t app .");
        let sh_off = f.shell_steps[0].span.start;
        assert_eq!(f.enclosing_block(sh_off).unwrap().name, "Build");
        assert!(f.enclosing_block(0).is_none());
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    }

    #[test]
    fn docker_agent_other_forms() {
        let src = "agent { docker 'maven:3' }\nagent { docker image: 'a:1', args: '-u 0' }\nagent { docker(image: 'b:2', args: '--privileged') }\nagent { dockerfile { filename 'Dockerfile.ci'; args '--privileged' } }\nagent { dockerfile true }\nagent { dockerfile false }\n";
        let f = parse_jenkins(src);
        let got: Vec<_> = f
            .docker_agents
            .iter()
            .map(|a| {
                (
                    a.image.as_ref().map(|l| l.value.as_str()),
                    a.args.as_ref().map(|l| l.value.as_str()),
                    a.dockerfile,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("maven:3"), None, false),
                (Some("a:1"), Some("-u 0"), false),
                (Some("b:2"), Some("--privileged"), false),
                (None, Some("--privileged"), true),
                (None, None, true),
            ]
        );
        assert_eq!(text(src, &f.docker_agents[4].span), "dockerfile true");
    }

    #[test]
    fn scripted_image_calls_and_variables() {
        let src = r#"node {
  docker.image('docker:29-dind').withRun('--privileged') { d ->
    docker.image("docker:29-cli").inside("--link ${d.id}:docker") {
      sh 'docker version'
    }
  }
  def img = docker.image('alpine')
  img.inside('-v /var/run/docker.sock:/var/run/docker.sock') { sh 'ls' }
  app = docker.build("me/app")
  app.run()
  docker.build('x').inside { }
  docker.image('y').pull()
  withDockerContainer(image: 'z', args: '--privileged') { sh 'id' }
}"#;
        let f = parse_jenkins(src);
        let calls: Vec<_> = f
            .image_calls
            .iter()
            .map(|c| {
                (
                    c.image.as_ref().map(|l| l.value.clone()),
                    c.method,
                    c.args.as_ref().map(|l| l.value.clone()),
                )
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                (
                    Some("docker:29-dind".into()),
                    InsideMethod::WithRun,
                    Some("--privileged".into())
                ),
                (
                    Some("docker:29-cli".into()),
                    InsideMethod::Inside,
                    Some("--link ${d.id}:docker".into())
                ),
                (
                    None,
                    InsideMethod::Inside,
                    Some("-v /var/run/docker.sock:/var/run/docker.sock".into())
                ),
                (None, InsideMethod::Run, None),
                (Some("x".into()), InsideMethod::Inside, None),
                (
                    Some("z".into()),
                    InsideMethod::Inside,
                    Some("--privileged".into())
                ),
            ]
        );
        assert!(f.image_calls[1].args.as_ref().unwrap().interpolated);
        assert_eq!(
            text(src, &f.image_calls[0].span),
            "docker.image('docker:29-dind').withRun('--privileged')"
        );
        assert_eq!(text(src, &f.image_calls[3].span), "app.run()");
        assert_eq!(f.shell_steps.len(), 3);
    }

    #[test]
    fn docker_server_uris() {
        let src = "withDockerServer([uri: 'tcp://d:2375', credentialsId: 'c']) { sh 'x' }\nwithDockerServer(uri: \"tcp://${h}:2375\") {}\ndocker.withServer('tcp://e:2375') {}\nwithDockerServer(server) {}\n";
        let f = parse_jenkins(src);
        let v: Vec<_> = f
            .docker_server_uris
            .iter()
            .map(|l| l.value.as_str())
            .collect();
        assert_eq!(v, vec!["tcp://d:2375", "tcp://${h}:2375", "tcp://e:2375"]);
        assert!(f.docker_server_uris[1].interpolated);
        assert_eq!(f.diagnostics.len(), 1);
        assert!(f.diagnostics[0].1.contains("withDockerServer"));
    }

    #[test]
    fn shell_step_forms() {
        let src = "sh 'a'\nsh \"b $X\"\nsh '''c\nd'''\nsh(\"e\")\nsh(script: 'f', returnStdout: true).trim()\nsh script: 'g', label: 'l'\nsh([script: 'h'])\nshell('i')\nsh label: 'x', script: 'j'\nfoo.sh 'nope'\n[sh: 'nope']\ndef sh = 1\nsh cmd\n";
        let f = parse_jenkins(src);
        let v: Vec<_> = f.shell_steps.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(v, vec!["a", "b $X", "c\nd", "e", "f", "g", "h", "i", "j"]);
        assert!(f.shell_steps[1].interpolated);
        assert!(!f.shell_steps[0].interpolated);
        assert_eq!(f.shell_steps[2].kind, StrKind::TripleSingle);
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        assert!(text(src, &f.diagnostics[0].0).starts_with("sh cmd"));
    }

    #[test]
    fn container_templates_and_volumes() {
        let src = "podTemplate(containers: [\n  containerTemplate(name: 'dind', image: 'docker:dind',\n    privileged: true, command: 'dockerd', args: '--tls=false',\n    envVars: [envVar(key: 'DOCKER_TLS_CERTDIR', value: ''), containerEnvVar(key: 'A', value: 'b')]),\n  containerTemplate(name: 'x', image: 'y', privileged: flag)\n], envVars: [envVar(key: 'DOCKER_HOST', value: 'tcp://localhost:2375')],\nvolumes: [\n\thostPathVolume(mountPath: '/var/run/docker.sock', hostPath: '/var/run/docker.sock'),\n\thostPathVolume(mountPath: '/m', hostPath: path)\n]) { node(POD_LABEL) { } }\n";
        let f = parse_jenkins(src);
        assert_eq!(f.container_templates.len(), 2);
        let c = &f.container_templates[0];
        assert_eq!(c.name.as_ref().unwrap().value, "dind");
        assert_eq!(c.image.as_ref().unwrap().value, "docker:dind");
        let (p, ps) = c.privileged.clone().unwrap();
        assert!(p);
        assert_eq!(text(src, &ps), "privileged: true");
        assert_eq!(line_of(src, ps.start), 3);
        assert_eq!(c.command.as_ref().unwrap().value, "dockerd");
        assert_eq!(c.args.as_ref().unwrap().value, "--tls=false");
        let env: Vec<_> = c
            .env
            .iter()
            .map(|(k, v)| (k.value.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(env, vec![("DOCKER_TLS_CERTDIR", ""), ("A", "b")]);
        assert!(text(src, &c.span).starts_with("containerTemplate("));
        assert!(text(src, &c.span).ends_with("')])"));
        assert!(f.container_templates[1].privileged.is_none());
        // pod-level envVar goes to env_assignments, container ones do not
        assert_eq!(f.env_assignments.len(), 1);
        assert_eq!(f.env_assignments[0].1.value, "tcp://localhost:2375");
        assert_eq!(f.host_path_volumes.len(), 1);
        let h = &f.host_path_volumes[0];
        assert_eq!(h.host_path.value, "/var/run/docker.sock");
        assert_eq!(h.mount_path.as_ref().unwrap().value, "/var/run/docker.sock");
        assert_eq!(line_of(src, h.span.start), 8);
        let msgs: Vec<_> = f.diagnostics.iter().map(|d| d.1.as_str()).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("privileged"));
        assert!(msgs[1].contains("hostPath"));
    }

    #[test]
    fn container_template_closure_form() {
        let src =
            "containerTemplate {\n  name 'dind'\n  image 'docker:dind'\n  privileged true\n}\n";
        let f = parse_jenkins(src);
        let c = &f.container_templates[0];
        assert_eq!(c.image.as_ref().unwrap().value, "docker:dind");
        let (p, ps) = c.privileged.clone().unwrap();
        assert!(p);
        assert_eq!(text(src, &ps), "privileged true");
    }

    #[test]
    fn pod_yaml_triple_single_maps_lines() {
        let src = "podTemplate(yaml: '''\n    apiVersion: v1\n    kind: Pod\n    spec:\n      containers:\n      - name: dind\n        image: docker:dind\n        securityContext:\n          privileged: true\n''') {\n  node(POD_LABEL) { sh 'docker ps' }\n}\n";
        let f = parse_jenkins(src);
        assert_eq!(f.pod_yamls.len(), 1);
        let y = &f.pod_yamls[0];
        assert_eq!(y.kind, StrKind::TripleSingle);
        let v = y.value.find("privileged: true").unwrap();
        assert_eq!(line_of(src, y.src_offset(v)), 9);
        assert_exact(src, y, "privileged: true");
        assert_eq!(&src[y.span.clone()][..3], "'''");
    }

    #[test]
    fn pod_yaml_crlf_escapes_and_kubernetes_agent() {
        let src = "pipeline {\r\n  agent {\r\n    kubernetes {\r\n      yaml \"\"\"\r\nspec:\r\n  containers:\r\n  - name: d\r\n    image: \\\"docker:dind\\\"\r\n    env:\r\n    - {name: X, value: \\u0041}\r\n    securityContext:\r\n      privileged: true\r\n\"\"\"\r\n    }\r\n  }\r\n}\r\n";
        let f = parse_jenkins(src);
        assert_eq!(f.pod_yamls.len(), 1, "{:?}", f.diagnostics);
        let y = &f.pod_yamls[0];
        assert!(!y.value.contains('\r'));
        assert!(y.value.contains("image: \"docker:dind\""));
        assert!(y.value.contains("value: A"));
        let v = y.value.find("privileged: true").unwrap();
        assert_eq!(line_of(src, y.src_offset(v)), 12);
        assert_exact(src, y, "privileged: true");
        // an escape maps to its start, a CRLF to its CR
        let q = y.value.find('"').unwrap();
        assert_eq!(&src[y.src_range(q..q + 1)], "\\\"");
        let nl = y.value.find('\n').unwrap();
        assert_eq!(&src[y.src_range(nl..nl + 1)], "\r\n");
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    }

    #[test]
    fn pod_yaml_non_literal_is_diagnostic() {
        let f = parse_jenkins("podTemplate(yaml: readTrusted('pod.yaml')) {}\n");
        assert!(f.pod_yamls.is_empty());
        assert_eq!(f.diagnostics.len(), 1);
    }

    #[test]
    fn environment_and_with_env() {
        let src = "environment {\n  DOCKER_HOST = 'tcp://docker:2375'\n  CREDS = credentials('x')\n  B = \"${A}\"\n}\nwithEnv(['DOCKER_HOST=tcp://d:2375', \"X=${y}\"]) { }\nenv.DOCKER_HOST = \"tcp://e:2375\"\nenvironmentVariables(DOCKER_HOST: 'tcp://f:2375')\nenvironmentVariables { env('DOCKER_HOST', 'tcp://g:2375') }\n";
        let f = parse_jenkins(src);
        let v: Vec<_> = f
            .env_assignments
            .iter()
            .map(|(k, v)| (k.value.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            v,
            vec![
                ("DOCKER_HOST", "tcp://docker:2375"),
                ("B", "${A}"),
                ("DOCKER_HOST", "tcp://d:2375"),
                ("X", "${y}"),
                ("DOCKER_HOST", "tcp://e:2375"),
                ("DOCKER_HOST", "tcp://f:2375"),
                ("DOCKER_HOST", "tcp://g:2375"),
            ]
        );
        for (k, val) in &f.env_assignments {
            assert_eq!(text(src, &k.span).trim_matches('\''), k.value);
            assert!(text(src, &val.span).contains(val.value.as_str()));
        }
        let (k, val) = &f.env_assignments[2];
        assert_eq!(text(src, &k.span), "DOCKER_HOST");
        assert_eq!(text(src, &val.span), "tcp://d:2375");
        assert!(!k.interpolated);
        assert!(f.env_assignments[3].1.interpolated);
        assert!(!f.env_assignments[3].0.interpolated);
    }

    #[test]
    fn job_dsl_blocks_and_shell() {
        let src = "job('build-image') {\n  steps {\n    shell('docker run --privileged docker:dind')\n  }\n}\npipelineJob(\"p-${x}\") { }\nfreeStyleJob('f') {}\nmatrixJob('m') {}\nmultibranchPipelineJob('mb') {}\nbuild job: 'other'\n";
        let f = parse_jenkins(src);
        let names: Vec<_> = f.stages.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, vec!["build-image", "p-${x}", "f", "m", "mb"]);
        assert_eq!(
            f.shell_steps[0].value,
            "docker run --privileged docker:dind"
        );
        let b = f.enclosing_block(f.shell_steps[0].span.start).unwrap();
        assert_eq!(b.name, "build-image");
        assert!(text(src, &b.span).starts_with("job('build-image') {"));
        assert!(text(src, &b.span).ends_with("}\n}"));
    }

    #[test]
    fn job_dsl_embedded_pipeline_maps_back() {
        let src = "pipelineJob('p') {\n  definition {\n    cps {\n      script('''\n        pipeline {\n          agent { docker { image 'x'; args '--privileged' } }\n          stages { stage('S') { steps { sh 'echo \\\\'hi\\\\'' } } }\n        }\n      ''')\n    }\n  }\n}\n";
        let f = parse_jenkins(src);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        assert_eq!(f.docker_agents.len(), 1);
        let args = f.docker_agents[0].args.as_ref().unwrap();
        assert_eq!(text(src, &args.span), "'--privileged'");
        assert_exact(src, args, "--privileged");
        let names: Vec<_> = f.stages.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, vec!["p", "S"]);
        let sh = &f.shell_steps[0];
        assert_eq!(sh.value, "echo 'hi'");
        assert_eq!(text(src, &sh.span), "'echo \\\\'hi\\\\''");
        let h = sh.value.find("hi").unwrap();
        assert_eq!(&src[sh.src_range(h..h + 2)], "hi");
        assert_eq!(f.enclosing_block(sh.span.start).unwrap().name, "S");
        assert_eq!(line_of(src, sh.span.start), 7);
    }

    #[test]
    fn comments_hide_constructs() {
        let src = "// sh 'docker run --privileged x'\n/* agent { docker { args '--privileged' } }\n   stage('x') { } */\npipeline { agent any } // containerTemplate(privileged: true)\n/*\nhostPathVolume(hostPath: '/var/run/docker.sock')\n*/";
        let f = parse_jenkins(src);
        assert!(f.shell_steps.is_empty());
        assert!(f.docker_agents.is_empty());
        assert!(f.stages.is_empty());
        assert!(f.container_templates.is_empty());
        assert!(f.host_path_volumes.is_empty());
        assert!(f.diagnostics.is_empty());
    }

    #[test]
    fn comment_markers_inside_strings_are_text() {
        let f = parse_jenkins("sh 'curl http://x/*y' // c\nsh \"a */ b\"\n");
        let v: Vec<_> = f.shell_steps.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(v, vec!["curl http://x/*y", "a */ b"]);
    }

    #[test]
    fn gstring_interpolation_nested_braces_and_quotes() {
        let src = r#"sh "docker run ${params.PRIV ? '--privileged' : ''} ${m.collect { "${it}" }.join(' ')} $IMG"
sh "literal \${NOT} \$X"
sh 'single ${kept}'
"#;
        let f = parse_jenkins(src);
        assert_eq!(f.shell_steps.len(), 3, "{:?}", f.diagnostics);
        let a = &f.shell_steps[0];
        assert_eq!(
            a.value,
            r#"docker run ${params.PRIV ? '--privileged' : ''} ${m.collect { "${it}" }.join(' ')} $IMG"#
        );
        assert!(a.interpolated);
        assert_exact(src, a, "${m.collect { \"${it}\" }.join(' ')}");
        let b = &f.shell_steps[1];
        assert_eq!(b.value, "literal ${NOT} $X");
        assert!(!b.interpolated);
        assert!(!f.shell_steps[2].interpolated);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    }

    #[test]
    fn escapes_are_cooked_and_mapped() {
        let src = "sh 'a\\tb\\\\c\\'d\\u00e9\\uD83D\\uDE00\\101\\s\\\ne'\n";
        let f = parse_jenkins(src);
        let s = &f.shell_steps[0];
        assert_eq!(s.value, "a\tb\\c'd\u{e9}\u{1F600}A e");
        // each cooked char maps to its escape
        let e_acute = s.value.find('\u{e9}').unwrap();
        assert_eq!(&src[s.src_range(e_acute..e_acute + 2)], "\\u00e9");
        let emoji = s.value.find('\u{1F600}').unwrap();
        assert_eq!(&src[s.src_range(emoji..emoji + 4)], "\\uD83D\\uDE00");
        let last = s.value.len() - 1;
        assert_eq!(&src[s.src_range(last..last + 1)], "e");
        assert_eq!(s.src_offset(s.value.len()), src.rfind('\'').unwrap());
        assert_eq!(s.src_offset(usize::MAX), src.rfind('\'').unwrap());
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    }

    #[test]
    fn unknown_and_bad_escapes_are_kept_with_diagnostic() {
        let f = parse_jenkins("sh \"a\\.b \\uZZ\"\n");
        assert_eq!(f.shell_steps[0].value, "a\\.b \\uZZ");
        assert_eq!(f.diagnostics.len(), 2);
        assert_eq!(f.diagnostics[0].0, 5..6);
    }

    #[test]
    fn slashy_and_dollar_slashy() {
        let src = "def r = /a\\/b $x c/\nsh $/x $$y $/ z \\n/$\ndef q = 4 / 2 / 1\nsh(/p\\d/)\n";
        let f = parse_jenkins(src);
        let v: Vec<_> = f
            .shell_steps
            .iter()
            .map(|l| (l.value.as_str(), l.kind))
            .collect();
        assert_eq!(
            v,
            vec![
                ("x $y / z \\n", StrKind::DollarSlashy),
                ("p\\d", StrKind::Slashy)
            ]
        );
        assert!(!f.shell_steps[0].interpolated);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    }

    #[test]
    fn division_is_not_a_slashy_string() {
        let f = parse_jenkins("x = a / b\nsh 'y'\nz = (c) / 2; sh 'w'\n");
        let v: Vec<_> = f.shell_steps.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(v, vec!["y", "w"]);
    }

    #[test]
    fn unterminated_slashy_falls_back_to_operator() {
        let f = parse_jenkins("x = / 2\nsh 'ok'\n");
        assert_eq!(f.shell_steps[0].value, "ok");
    }

    #[test]
    fn crlf_everywhere() {
        let src = "pipeline {\r\n  stages {\r\n    stage('A') {\r\n      steps {\r\n        sh '''\r\ndocker run \\\r\n  --privileged x\r\n'''\r\n      }\r\n    }\r\n  }\r\n}\r\n";
        let f = parse_jenkins(src);
        let s = &f.shell_steps[0];
        assert_eq!(s.value, "\ndocker run   --privileged x\n");
        let p = s.value.find("--privileged").unwrap();
        assert_eq!(line_of(src, s.src_offset(p)), 7);
        assert_exact(src, s, "--privileged x");
        assert_eq!(f.stages[0].name, "A");
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    }

    #[test]
    fn unterminated_single_line_string_reports_position_and_recovers() {
        let src = "sh 'docker run\r\nsh 'ok'\n";
        let f = parse_jenkins(src);
        assert_eq!(f.diagnostics.len(), 1);
        let (r, msg) = &f.diagnostics[0];
        assert_eq!(r.start, 3);
        assert_eq!(r.end, 14);
        assert!(msg.contains("unterminated"));
        let v: Vec<_> = f.shell_steps.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(v, vec!["docker run", "ok"]);
    }

    #[test]
    fn unterminated_triple_string_and_comment() {
        let f = parse_jenkins("stage('a') {\n sh '''abc\n");
        assert!(
            f.diagnostics
                .iter()
                .any(|(r, m)| *r == (17..24) && m.contains("multi-line"))
        );
        assert!(
            f.diagnostics
                .iter()
                .any(|(_, m)| m.contains("never closed"))
        );
        assert_eq!(f.shell_steps[0].value, "abc\n");
        let g = parse_jenkins("sh 'a'\n/* open");
        assert_eq!(
            g.diagnostics,
            vec![(7..14, "unterminated block comment".into())]
        );
        let h = parse_jenkins("sh \"${a\nsh 'b'\n");
        assert_eq!(h.shell_steps.len(), 2);
        assert_eq!(h.diagnostics[0].0.start, 3);
    }

    #[test]
    fn unbalanced_brackets_are_reported() {
        let f = parse_jenkins("stage('a') { sh 'x' ) }\n}\n");
        let msgs: Vec<_> = f.diagnostics.iter().map(|d| d.1.as_str()).collect();
        assert_eq!(msgs, vec!["unmatched closing `)`", "unmatched closing `}`"]);
        assert_eq!(f.stages.len(), 1);
        let g = parse_jenkins("stage('a') { sh('x' }");
        assert!(g.diagnostics.iter().any(|d| d.1 == "`(` is never closed"));
    }

    #[test]
    fn ten_thousand_nested_braces() {
        let n = 10_000;
        let mut src = String::new();
        for _ in 0..n {
            src.push_str("stage('s') {");
        }
        src.push_str("sh 'deep'");
        for _ in 0..n {
            src.push('}');
        }
        let f = parse_jenkins(&src);
        assert_eq!(f.stages.len(), n);
        assert!(f.diagnostics.is_empty());
        let b = f.enclosing_block(f.shell_steps[0].span.start).unwrap();
        assert_eq!(b.span.start, 12 * (n - 1));
        let open_only = "{".repeat(n) + &"(".repeat(n) + &"[".repeat(n);
        let g = parse_jenkins(&open_only);
        assert_eq!(g.diagnostics.len(), MAX_DIAGNOSTICS + 1);
    }

    #[test]
    fn long_command_chain_on_one_line_is_linear() {
        let n = 100_000;
        let src = "sh ".repeat(n) + "'x'\n";
        let started = std::time::Instant::now();
        let f = parse_jenkins(&src);
        assert!(started.elapsed().as_secs() < 20);
        assert_eq!(f.shell_steps.len(), 1);
        assert_eq!(f.shell_steps[0].span.start, 3 * n);
        assert_eq!(f.diagnostics.len(), MAX_DIAGNOSTICS + 1);
        let g = parse_jenkins(&"sh a, ".repeat(n));
        assert!(started.elapsed().as_secs() < 20);
        assert!(g.shell_steps.is_empty());
    }

    #[test]
    fn random_fragments_never_panic_and_spans_stay_valid() {
        let frags = [
            "sh ",
            "'",
            "\"",
            "'''",
            "\"\"\"",
            "/",
            "$/",
            "/$",
            "${",
            "}",
            "{",
            "(",
            ")",
            "[",
            "]",
            ",",
            ":",
            "=",
            "+",
            ".",
            "\\",
            "\n",
            "\r\n",
            "//",
            "/*",
            "*/",
            "docker",
            "image",
            "inside",
            "stage",
            "yaml",
            "containerTemplate",
            "privileged",
            "true",
            "hostPathVolume",
            "hostPath",
            "env",
            "withEnv",
            "script",
            "é",
            "$x",
            "\\u00",
            "0",
            " ",
            "environment",
            "DOCKER_HOST",
            "envVars",
            "envVar",
            "key",
            "value",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut src = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 59) as usize + 1;
            for _ in 0..len * 3 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                src.push_str(frags[(seed >> 33) as usize % frags.len()]);
            }
            let f = parse_jenkins(&src);
            let ok = |r: &Range<usize>| {
                r.start <= r.end && src.is_char_boundary(r.start) && src.is_char_boundary(r.end)
            };
            for (r, _) in &f.diagnostics {
                assert!(ok(r), "{src:?} {r:?}");
            }
            for b in &f.stages {
                assert!(ok(&b.span) && ok(&b.label_span), "{src:?}");
            }
            let lits = f
                .shell_steps
                .iter()
                .chain(&f.pod_yamls)
                .chain(&f.docker_server_uris)
                .chain(f.env_assignments.iter().flat_map(|(k, v)| [k, v]));
            for l in lits {
                assert!(ok(&l.span), "{src:?} {:?}", l.span);
                for v in 0..=l.value.len() {
                    let o = l.src_offset(v);
                    assert!(o >= l.span.start && o <= l.span.end, "{src:?} {l:?} {v}");
                    assert!(l.src_offset_end(v) <= l.span.end, "{src:?} {l:?} {v}");
                }
            }
        }
    }

    #[test]
    fn deeply_nested_interpolation_is_bounded() {
        let n = 5_000;
        let src = "sh \"".to_string() + &"${\"".repeat(n) + &"\"}".repeat(n) + "\"\n";
        let f = parse_jenkins(&src);
        assert!(
            f.diagnostics
                .iter()
                .any(|d| d.1.contains("nested too deeply"))
        );
    }

    #[test]
    fn huge_input() {
        let line = "sh 'docker run --privileged x' // c\n";
        let src = line.repeat(50_000);
        let f = parse_jenkins(&src);
        assert_eq!(f.shell_steps.len(), 50_000);
        assert_eq!(f.shell_steps[49_999].span.start, line.len() * 49_999 + 3);
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "'",
            "\"",
            "'''",
            "\"\"\"",
            "$/",
            "/",
            "\\",
            "${",
            "\"${",
            "\"$",
            "sh",
            "sh(",
            "sh(script:",
            "docker.image(",
            "docker.image('x').inside(",
            "containerTemplate(privileged:",
            "withEnv([",
            "env.",
            "env.X =",
            "stage(",
            "stage('x')",
            "yaml:",
            "'\\u",
            "'\\u12",
            "\"\\",
            "é'ü\"",
            "\u{0}\u{7f}",
            "a\r",
            "\r\n\r\n'''\r",
            "/* */ /",
            "$/ $",
            "}}}",
            ")))",
            "sh \"${'",
            "sh \"${\"${\"",
            "script('''stage('a') { sh \"",
            "#!",
            "#!/bin/groovy\nsh 'x'",
        ];
        for s in inputs {
            let f = parse_jenkins(s);
            for (r, _) in &f.diagnostics {
                assert!(r.start <= r.end && r.end <= s.len(), "{s:?} {r:?}");
            }
            for l in &f.shell_steps {
                assert!(l.span.end <= s.len());
                for v in 0..=l.value.len() + 1 {
                    assert!(l.src_offset(v) <= s.len());
                }
            }
        }
        // every prefix of a realistic file
        let src = "podTemplate(yaml: \"\"\"\nspec: ${x}\n\"\"\", containers: [containerTemplate(name: 'd', privileged: true, envVars: [envVar(key: 'A', value: \"\\u0041\")])]) { withEnv([\"A=b\"]) { sh \"\"\"\\\ndocker run \\$X\"\"\" } }\n";
        for cut in 0..=src.len() {
            if src.is_char_boundary(cut) {
                let f = parse_jenkins(&src[..cut]);
                for l in f.pod_yamls.iter().chain(&f.shell_steps) {
                    assert!(l.span.end <= cut);
                    assert!(l.src_offset(l.value.len()) <= cut);
                }
            }
        }
    }

    #[test]
    fn shebang_and_unicode_identifiers() {
        let src = "#!groovy\ndef größe = 1\nstage('ü') { sh 'é' }\n";
        let f = parse_jenkins(src);
        assert_eq!(f.stages[0].name, "ü");
        assert_eq!(f.shell_steps[0].value, "é");
        assert_eq!(text(src, &f.shell_steps[0].span), "'é'");
    }

    #[test]
    fn non_literal_stage_label_uses_source_text() {
        let src = "stage(name) { sh 'x' }\nstage 'old'\n";
        let f = parse_jenkins(src);
        assert_eq!(f.stages.len(), 1);
        assert_eq!(f.stages[0].name, "name");
        assert_eq!(text(src, &f.stages[0].label_span), "name");
    }

    #[test]
    fn concatenation_keeps_unknown_operands_as_placeholders() {
        let src = "sh 'docker run --privileged ' + img\n";
        let f = parse_jenkins(src);
        let s = &f.shell_steps[0];
        assert_eq!(s.value, "docker run --privileged ${img}");
        assert!(f.diagnostics.is_empty());
        let p = s.value.find("--privileged").unwrap();
        assert_eq!(text(src, &s.src_range(p..p + 12)), "--privileged");
        assert_eq!(s.span, 3..src.len() - 1);
    }

    #[test]
    fn constant_variables_concatenation_and_gstrings_resolve() {
        let src = "def run = \"sudo docker run --rm\"\nString sock = '-v /var/run/docker.sock:/var/run/docker.sock'\njob('x') {\n  steps {\n    shell(\"${run} --privileged ${sock} img\")\n    shell(run + ' ' + sock + \" $tag\")\n    shell('''\\\n      docker ps\n    '''.stripIndent())\n  }\n}\n";
        let f = parse_jenkins(src);
        assert_eq!(f.shell_steps.len(), 3);
        let a = &f.shell_steps[0];
        assert_eq!(
            a.value,
            "sudo docker run --rm --privileged -v /var/run/docker.sock:/var/run/docker.sock img"
        );
        // Bytes from a variable map to its definition, bytes of the call to the call.
        let sock = a.value.find("-v ").unwrap();
        assert_eq!(line_of(src, a.src_offset(sock)), 2);
        let p = a.value.find("--privileged").unwrap();
        assert_eq!(text(src, &a.src_range(p..p + 12)), "--privileged");
        assert_eq!(line_of(src, a.span.start), 5);
        let b = &f.shell_steps[1];
        assert_eq!(
            b.value,
            "sudo docker run --rm -v /var/run/docker.sock:/var/run/docker.sock $tag"
        );
        assert_eq!(line_of(src, b.span.start), 6);
        assert_eq!(f.shell_steps[2].value.trim(), "docker ps");
        // A reassignment later in the file does not reach back.
        let f = parse_jenkins("def o = '--rm'\nsh \"docker run $o x\"\no = '--privileged'\n");
        assert_eq!(f.shell_steps[0].value, "docker run --rm x");
        // Self-reference terminates.
        let f = parse_jenkins("def a = a + ' x'\nsh a\n");
        assert_eq!(f.shell_steps.len(), 1);
    }

    #[test]
    fn docker_pipeline_dsl_usage_and_repeated_args() {
        let src = "node {\n  def app = docker.build(\"shop:${env.BUILD_NUMBER}\")\n  docker.withRegistry('https://r.example', 'creds') {\n    app.push()\n  }\n  withDockerRegistry([credentialsId: 'c']) { docker.image('a').push('1') }\n  docker.build 'x' + ':1'\n}\npipeline { agent { docker { image 'i'\n args '--privileged'\n args '-u root' } } }\n";
        let f = parse_jenkins(src);
        let uses: Vec<(DockerUse, usize)> = f
            .docker_usage
            .iter()
            .map(|(u, r)| (*u, line_of(src, r.start)))
            .collect();
        assert_eq!(
            uses,
            [
                (DockerUse::Build, 2),
                (DockerUse::Login, 3),
                (DockerUse::Push, 4),
                (DockerUse::Login, 6),
                (DockerUse::Push, 6),
                (DockerUse::Build, 7)
            ]
        );
        let a = &f.docker_agents[0];
        assert_eq!(a.args.as_ref().map(|l| l.value.as_str()), Some("-u root"));
        assert_eq!(a.overridden_args.len(), 1);
        assert_eq!(a.overridden_args[0].value, "--privileged");
    }

    #[test]
    fn method_parameters_take_their_call_site_values() {
        let src = "make('a', \"sudo /usr/bin/docker build -t a .\")\nmake('b', 'sudo docker run --privileged b')\n\ndef make(def name, def cmd) {\n  job(name) {\n    steps {\n      shell(cmd)\n    }\n  }\n}\n";
        let f = parse_jenkins(src);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        let v: Vec<&str> = f.shell_steps.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(
            v,
            [
                "sudo /usr/bin/docker build -t a .",
                "sudo docker run --privileged b"
            ]
        );
        let b = &f.shell_steps[1];
        let p = b.value.find("--privileged").unwrap();
        assert_eq!(line_of(src, b.src_offset(p)), 2);
        assert_eq!(line_of(src, b.span.start), 7);
        // Not a parameter and not a variable: still a diagnostic.
        let f = parse_jenkins("job('x') { steps { shell(cmd) } }\n");
        assert_eq!(f.diagnostics.len(), 1);
    }

    #[test]
    fn post_blocks_are_read() {
        let src = "pipeline {\n  agent any\n  stages { stage('t') { steps { sh 'make' } } }\n  post {\n    always { sh 'docker run --privileged x' }\n    failure {\n      script { docker.image('y').inside('-v /var/run/docker.sock:/var/run/docker.sock') { sh 'ls' } }\n    }\n  }\n}\n";
        let f = parse_jenkins(src);
        assert_eq!(f.shell_steps.len(), 3);
        assert_eq!(line_of(src, f.shell_steps[1].span.start), 5);
        assert!(f.enclosing_block(f.shell_steps[1].span.start).is_none());
        assert_eq!(f.image_calls.len(), 1);
        assert_eq!(line_of(src, f.image_calls[0].span.start), 7);
    }

    #[test]
    fn map_slicing_keeps_exactness() {
        let f = parse_jenkins("withEnv([\"A\\t=x\\ty\"]) {}\n");
        let (k, v) = &f.env_assignments[0];
        assert_eq!(k.value, "A\t");
        assert_eq!(v.value, "x\ty");
        assert_eq!(k.span, 10..13);
        assert_eq!(v.span, 14..18);
        assert_eq!(v.src_offset(2), 17);
        assert_eq!(v.src_range(1..2), 15..17);
    }
}
