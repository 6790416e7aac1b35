//! Shell lexer: splits POSIX/bash script text (`*.sh`, Makefile recipes, CI `script:`/`run:` blocks,
//! Jenkins `sh` steps) into simple commands with exact byte spans into the original text.
//!
//! It owns quoting, comments, line continuations, command and process substitutions (whose inner
//! commands are returned too), compound-command keywords, heredocs (bodies are skipped), wrapper
//! stripping (`sudo`, `env`, `exec`, `time`, `nohup`, `command`, `nice`, `timeout`, `eval`,
//! `sh -c`) and locating Makefile recipe lines and variable values. It never executes or expands
//! anything: `$VAR`, `${VAR}` and `$(…)` are kept literally in a word's text.
//!
//! The lexer is total: any input yields a (possibly empty) result without panicking, nesting is
//! bounded and every loop advances.

use std::collections::VecDeque;
use std::ops::Range;
use std::rc::Rc;

/// Maximum nesting of substitutions / `sh -c` / `eval` strings that are re-lexed.
const MAX_DEPTH: usize = 32;
/// Maximum number of (sub)texts lexed for one input.
const MAX_JOBS: usize = 200_000;
/// Maximum number of wrappers stripped from one command.
const MAX_WRAPPERS: usize = 16;

/// One shell word after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Unquoted value; `$VAR`, `${VAR}`, `$(…)` and backticks are kept literally.
    pub text: String,
    /// Byte range of the raw word (quotes included) in the original text.
    pub span: Range<usize>,
    /// True when any part of the word was quoted or backslash-escaped.
    pub quoted: bool,
}

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Leading `NAME=value` words (also those given to `sudo`/`env`).
    pub assignments: Vec<Word>,
    /// The argv, with wrappers (`sudo`, `env`, `exec`, …) stripped.
    pub words: Vec<Word>,
    /// Byte range from the first to the last token of the command (wrappers included).
    pub span: Range<usize>,
}

/// Splits `src` into simple commands (including the inner commands of substitutions and of
/// `sh -c '…'` / `eval "…"` strings), sorted by start offset.
pub fn commands(src: &str) -> Vec<Command> {
    commands_in(src, 0..src.len())
}

/// Like [`commands`], but lexes only `range` of `src`; spans stay absolute offsets into `src`.
/// Returns nothing when `range` is out of bounds or not on character boundaries.
pub fn commands_in(src: &str, range: Range<usize>) -> Vec<Command> {
    if src.get(range.clone()).is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut jobs = VecDeque::new();
    jobs.push_back(Job {
        text: None,
        range,
        map: None,
        depth: 0,
    });
    let mut done = 0usize;
    while let Some(job) = jobs.pop_front() {
        done += 1;
        if done > MAX_JOBS {
            break;
        }
        let text: &str = match &job.text {
            None => src,
            Some(rc) => rc,
        };
        Lexer {
            text,
            bytes: text.as_bytes(),
            job: &job,
            strip_make_prefix: true,
        }
        .run(&mut out, &mut jobs);
    }
    // Stable: commands starting at the same offset keep their lexing order. A substitution can be
    // reached twice (once from its word, once from a re-lexed `sh -c`/`eval` string).
    out.sort_by_key(|c| c.span.start);
    out.dedup();
    out
}

/// Splits a bare argument string (e.g. Jenkins `args '…'`, `.inside('…')`, GitHub `options:`)
/// into words. Operators and comments separate words; no command structure, keywords,
/// assignments or wrappers are interpreted and substitutions are not lexed.
pub fn split_words(src: &str) -> Vec<Word> {
    let bytes = src.as_bytes();
    let end = bytes.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < end {
        let before = i;
        match bytes.get(i).copied().unwrap_or(b' ') {
            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' => i += 1,
            b'<' | b'>' if bytes.get(i + 1) != Some(&b'(') => i += 1,
            b'\\' if is_line_cont(bytes, i) > 0 => i += is_line_cont(bytes, i),
            b'#' => i = find_byte(bytes, i, end, b'\n').unwrap_or(end),
            _ => {
                let w = scan_word(src, bytes, i, end);
                i = w.span.end;
                out.push(Word {
                    text: w.text,
                    span: w.span,
                    quoted: w.quoted,
                });
            }
        }
        if i <= before {
            i = before + 1;
        }
    }
    out
}

/// Byte ranges of Makefile recipe lines: tab-indented lines following a rule line, without the
/// leading tab and line ending; backslash-continued lines are merged into one range.
pub fn makefile_recipes(src: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut in_rule = false;
    let mut recipe_cont: Option<usize> = None;
    let mut other_cont = false;
    for (start, end) in lines(src) {
        let line = src.get(start..end).unwrap_or("");
        let continues = line.ends_with('\\');
        if let Some(rs) = recipe_cont {
            if !continues {
                out.push(rs..end);
                recipe_cont = None;
            }
            continue;
        }
        if other_cont {
            other_cont = continues;
            continue;
        }
        if in_rule && line.starts_with('\t') {
            let body = line.get(1..).unwrap_or("");
            if body.trim().is_empty() {
                continue;
            }
            if continues {
                recipe_cont = Some(start + 1);
            } else {
                out.push(start + 1..end);
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        in_rule = is_make_rule_line(trimmed);
        other_cont = continues;
    }
    if let Some(rs) = recipe_cont {
        out.push(rs..trim_line_end(src, src.len()));
    }
    out
}

/// Byte ranges of Makefile variable values (`NAME = value`, `:=`, `::=`, `?=`, `+=`, `!=`,
/// optionally after `export`/`override`), continuation lines included. Such values often hold
/// whole commands (`DOCKER_RUN = docker run …`) that recipes expand.
pub fn makefile_variable_values(src: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut in_rule = false;
    let mut cont: Option<usize> = None;
    let mut skip_cont = false;
    for (start, end) in lines(src) {
        let line = src.get(start..end).unwrap_or("");
        let continues = line.ends_with('\\');
        if let Some(vs) = cont {
            if !continues {
                out.push(vs..end);
                cont = None;
            }
            continue;
        }
        if skip_cont {
            skip_cont = continues;
            continue;
        }
        if in_rule && line.starts_with('\t') {
            skip_cont = continues;
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(off) = make_assignment_value(line) {
            let vs = start + off;
            in_rule = false;
            if vs >= end {
                continue;
            }
            if continues {
                cont = Some(vs);
            } else {
                out.push(vs..end);
            }
            continue;
        }
        in_rule = is_make_rule_line(trimmed);
        skip_cont = continues;
    }
    if let Some(vs) = cont {
        let e = trim_line_end(src, src.len());
        if vs < e {
            out.push(vs..e);
        }
    }
    out
}

/// Lines as (start, end) with the `\n` and a trailing `\r` excluded.
fn lines(src: &str) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut start = 0;
    let bytes = src.as_bytes();
    while start <= bytes.len() {
        let nl = find_byte(bytes, start, bytes.len(), b'\n');
        let raw_end = nl.unwrap_or(bytes.len());
        v.push((start, trim_line_end(src, raw_end).max(start)));
        match nl {
            Some(p) => start = p + 1,
            None => break,
        }
    }
    v
}

fn trim_line_end(src: &str, end: usize) -> usize {
    if end > 0 && src.as_bytes().get(end - 1) == Some(&b'\r') {
        end - 1
    } else {
        end
    }
}

/// Offset of the value in a Makefile variable assignment line, if it is one.
fn make_assignment_value(line: &str) -> Option<usize> {
    if line.starts_with('\t') {
        return None;
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while matches!(bytes.get(*i), Some(b' ' | b'\t')) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    for kw in ["export ", "override ", "private "] {
        if line.get(i..).is_some_and(|r| r.starts_with(kw)) {
            i += kw.len();
            skip_ws(&mut i);
        }
    }
    let name_start = i;
    while let Some(&c) = bytes.get(i) {
        if c.is_ascii_whitespace() || matches!(c, b':' | b'=' | b'#' | b'?' | b'+' | b'!') {
            break;
        }
        i += 1;
    }
    if i == name_start {
        return None;
    }
    skip_ws(&mut i);
    let rest = line.get(i..)?;
    let op_len = ["::=", ":::=", ":=", "?=", "+=", "!=", "="]
        .iter()
        .filter(|op| rest.starts_with(**op))
        .map(|op| op.len())
        .max()?;
    i += op_len;
    skip_ws(&mut i);
    Some(i)
}

/// True for a Makefile rule line (`targets: prerequisites`).
fn is_make_rule_line(trimmed: &str) -> bool {
    let first = trimmed.split_whitespace().next().unwrap_or("");
    if matches!(
        first,
        "define"
            | "endef"
            | "ifeq"
            | "ifneq"
            | "ifdef"
            | "ifndef"
            | "else"
            | "endif"
            | "include"
            | "-include"
            | "sinclude"
            | "export"
            | "unexport"
            | "override"
            | "vpath"
    ) {
        return false;
    }
    let bytes = trimmed.as_bytes();
    let mut depth = 0usize;
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'(' | b'{' => depth += 1,
            b')' | b'}' => depth = depth.saturating_sub(1),
            b'=' if depth == 0 => return false,
            b':' if depth == 0 => {
                let next = bytes.get(i + 1).copied();
                let next2 = bytes.get(i + 2).copied();
                return !(next == Some(b'=') || (next == Some(b':') && next2 == Some(b'=')));
            }
            _ => {}
        }
    }
    false
}

/// A text region to lex. `text: None` is the caller's source; detached texts (strings with
/// escapes re-lexed from `sh -c`/`eval`) map every span onto `map`.
struct Job {
    text: Option<Rc<str>>,
    range: Range<usize>,
    map: Option<Range<usize>>,
    depth: usize,
}

/// A word with spans local to the job's text.
#[derive(Debug, Clone)]
struct LWord {
    text: String,
    span: Range<usize>,
    quoted: bool,
    substs: Vec<Range<usize>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Paren,
    Brace,
    DQuote,
    Backtick,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    ForSkip,
    CaseHeader,
    CasePattern,
    FuncName,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Redir {
    None,
    Target,
    Heredoc,
}

#[derive(Default)]
struct CmdBuf {
    assigns: Vec<LWord>,
    words: Vec<LWord>,
    start: Option<usize>,
    end: usize,
}

impl CmdBuf {
    fn touch(&mut self, span: &Range<usize>) {
        if self.start.is_none() {
            self.start = Some(span.start);
        }
        self.end = self.end.max(span.end);
    }
}

fn find_byte(bytes: &[u8], from: usize, end: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..end)
        .and_then(|s| s.iter().position(|&b| b == needle))
        .map(|p| p + from)
}

/// Length of a backslash-newline (also CRLF) continuation at `i`, or 0.
fn is_line_cont(bytes: &[u8], i: usize) -> usize {
    match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
        (Some(b'\\'), Some(b'\n'), _) => 2,
        (Some(b'\\'), Some(b'\r'), Some(b'\n')) => 3,
        _ => 0,
    }
}

/// Scans from `i` (just after an opening token) to the matching close; returns the position after
/// it and whether it was found.
fn skip_nested(bytes: &[u8], mut i: usize, end: usize, first: Vec<Frame>) -> (usize, bool) {
    let mut stack = first;
    // Number of DQuote frames on the stack (avoids scanning the stack).
    let mut dq = stack.iter().filter(|f| **f == Frame::DQuote).count();
    while i < end {
        let Some(&top) = stack.last() else {
            return (i, true);
        };
        let Some(&c) = bytes.get(i) else { break };
        let next = bytes.get(i + 1).copied();
        match top {
            Frame::DQuote => match c {
                b'\\' => i += 2,
                b'"' => {
                    stack.pop();
                    dq = dq.saturating_sub(1);
                    i += 1;
                }
                b'`' => {
                    stack.push(Frame::Backtick);
                    i += 1;
                }
                b'$' if next == Some(b'(') => {
                    stack.push(Frame::Paren);
                    i += 2;
                }
                b'$' if next == Some(b'{') => {
                    stack.push(Frame::Brace);
                    i += 2;
                }
                _ => i += 1,
            },
            Frame::Backtick => match c {
                b'\\' => i += 2,
                b'`' => {
                    stack.pop();
                    i += 1;
                }
                _ => i += 1,
            },
            Frame::Paren | Frame::Brace => match c {
                b'\\' => i += 2,
                b'\'' => {
                    let in_dq = top == Frame::Brace && dq > 0;
                    if in_dq {
                        i += 1;
                    } else {
                        i = find_byte(bytes, i + 1, end, b'\'').map_or(end, |p| p + 1);
                    }
                }
                b'"' => {
                    stack.push(Frame::DQuote);
                    dq += 1;
                    i += 1;
                }
                b'`' => {
                    stack.push(Frame::Backtick);
                    i += 1;
                }
                b'$' if next == Some(b'(') => {
                    stack.push(Frame::Paren);
                    i += 2;
                }
                b'$' if next == Some(b'{') => {
                    stack.push(Frame::Brace);
                    i += 2;
                }
                b'(' if top == Frame::Paren => {
                    stack.push(Frame::Paren);
                    i += 1;
                }
                b'{' if top == Frame::Brace => {
                    stack.push(Frame::Brace);
                    i += 1;
                }
                b')' if top == Frame::Paren => {
                    stack.pop();
                    i += 1;
                }
                b'}' if top == Frame::Brace => {
                    stack.pop();
                    i += 1;
                }
                b'#' if top == Frame::Paren
                    && i > 0
                    && matches!(bytes.get(i - 1), Some(b' ' | b'\t' | b'\n')) =>
                {
                    i = find_byte(bytes, i, end, b'\n').unwrap_or(end);
                }
                _ => i += 1,
            },
        }
    }
    if stack.is_empty() {
        (i.min(end), true)
    } else {
        (end, false)
    }
}

/// Pushes the char starting at `i` onto `out`; returns its byte length (at least 1).
fn push_char(text: &str, i: usize, out: &mut String) -> usize {
    match text.get(i..).and_then(|r| r.chars().next()) {
        Some(ch) => {
            out.push(ch);
            ch.len_utf8()
        }
        None => 1,
    }
}

fn push_raw(text: &str, range: Range<usize>, out: &mut String) {
    if let Some(s) = text.get(range) {
        out.push_str(s);
    }
}

/// Handles `$(`, `$((`, `${`, `` ` `` and `<(`/`>(` at `i`; returns the end and, for command
/// substitutions, the inner range to lex.
fn scan_dollar_like(bytes: &[u8], i: usize, end: usize) -> Option<(usize, Option<Range<usize>>)> {
    let c = bytes.get(i).copied()?;
    let next = bytes.get(i + 1).copied();
    match (c, next) {
        (b'$', Some(b'(')) => {
            if bytes.get(i + 2) == Some(&b'(') {
                let (j, _) = skip_nested(bytes, i + 3, end, vec![Frame::Paren, Frame::Paren]);
                Some((j, None))
            } else {
                let (j, ok) = skip_nested(bytes, i + 2, end, vec![Frame::Paren]);
                let inner_end = if ok { j.saturating_sub(1) } else { j };
                Some((j, Some(i + 2..inner_end.max(i + 2))))
            }
        }
        (b'<' | b'>', Some(b'(')) => {
            let (j, ok) = skip_nested(bytes, i + 2, end, vec![Frame::Paren]);
            let inner_end = if ok { j.saturating_sub(1) } else { j };
            Some((j, Some(i + 2..inner_end.max(i + 2))))
        }
        (b'$', Some(b'{')) => {
            let (j, _) = skip_nested(bytes, i + 2, end, vec![Frame::Brace]);
            Some((j, None))
        }
        (b'`', _) => {
            let (j, ok) = skip_nested(bytes, i + 1, end, vec![Frame::Backtick]);
            let inner_end = if ok { j.saturating_sub(1) } else { j };
            Some((j, Some(i + 1..inner_end.max(i + 1))))
        }
        _ => None,
    }
}

/// True when `text` so far is `NAME=` or `NAME+=` (array assignment may follow).
fn is_assign_prefix(text: &str) -> bool {
    let t = text
        .strip_suffix("+=")
        .or_else(|| text.strip_suffix('='))
        .unwrap_or("");
    is_name(t)
}

fn is_name(t: &str) -> bool {
    let mut chars = t.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Scans one word starting at `i`.
fn scan_word(text: &str, bytes: &[u8], start: usize, end: usize) -> LWord {
    let mut i = start;
    let mut out = String::new();
    let mut quoted = false;
    let mut substs = Vec::new();
    while i < end {
        let Some(&c) = bytes.get(i) else { break };
        let next = bytes.get(i + 1).copied();
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b')' => break,
            b'<' | b'>' => {
                if i == start
                    && next == Some(b'(')
                    && let Some((j, inner)) = scan_dollar_like(bytes, i, end)
                {
                    push_raw(text, i..j, &mut out);
                    substs.extend(inner);
                    i = j;
                    continue;
                }
                break;
            }
            b'(' => {
                if is_assign_prefix(&out) && !quoted {
                    let (j, _) = skip_nested(bytes, i + 1, end, vec![Frame::Paren]);
                    push_raw(text, i..j, &mut out);
                    i = j;
                    continue;
                }
                break;
            }
            b'\\' => {
                let cont = is_line_cont(bytes, i);
                if cont > 0 {
                    i += cont;
                } else if i + 1 >= end {
                    out.push('\\');
                    i += 1;
                } else {
                    quoted = true;
                    i += 1 + push_char(text, i + 1, &mut out);
                }
            }
            b'\'' => {
                quoted = true;
                let close = find_byte(bytes, i + 1, end, b'\'');
                let stop = close.unwrap_or(end);
                push_raw(text, i + 1..stop, &mut out);
                i = close.map_or(end, |p| p + 1);
            }
            b'"' => {
                quoted = true;
                i = scan_dquote(text, bytes, i + 1, end, &mut out, &mut substs);
            }
            b'$' if next == Some(b'\'') => {
                quoted = true;
                let mut j = i + 2;
                while j < end {
                    match bytes.get(j) {
                        Some(b'\\') => j += 2,
                        Some(b'\'') => break,
                        _ => j += 1,
                    }
                }
                let stop = j.min(end);
                push_raw(text, i + 2..stop, &mut out);
                i = (stop + 1).min(end).max(stop);
            }
            b'$' | b'`' => match scan_dollar_like(bytes, i, end) {
                Some((j, inner)) => {
                    push_raw(text, i..j, &mut out);
                    substs.extend(inner);
                    i = j;
                }
                None => {
                    out.push(c as char);
                    i += 1;
                }
            },
            _ => i += push_char(text, i, &mut out),
        }
    }
    LWord {
        text: out,
        span: start..i.min(end).max(start),
        quoted,
        substs,
    }
}

/// Scans the inside of a double-quoted string starting after the opening quote; returns the
/// position after the closing quote (or `end`).
fn scan_dquote(
    text: &str,
    bytes: &[u8],
    mut i: usize,
    end: usize,
    out: &mut String,
    substs: &mut Vec<Range<usize>>,
) -> usize {
    while i < end {
        let Some(&c) = bytes.get(i) else { break };
        match c {
            b'"' => return i + 1,
            b'\\' => {
                let cont = is_line_cont(bytes, i);
                if cont > 0 {
                    i += cont;
                    continue;
                }
                match bytes.get(i + 1) {
                    Some(b'$' | b'`' | b'"' | b'\\') if i + 1 < end => {
                        i += 1 + push_char(text, i + 1, out);
                    }
                    _ => {
                        out.push('\\');
                        i += 1;
                    }
                }
            }
            b'$' | b'`' => match scan_dollar_like(bytes, i, end) {
                Some((j, inner)) => {
                    push_raw(text, i..j, out);
                    substs.extend(inner);
                    i = j;
                }
                None => {
                    out.push(c as char);
                    i += 1;
                }
            },
            _ => i += push_char(text, i, out),
        }
    }
    end
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    job: &'a Job,
    strip_make_prefix: bool,
}

impl Lexer<'_> {
    fn run(&self, out: &mut Vec<Command>, jobs: &mut VecDeque<Job>) {
        let bytes = self.bytes;
        let end = self.job.range.end.min(bytes.len());
        let mut i = self.job.range.start;
        let mut cmd = CmdBuf::default();
        let mut mode = Mode::Normal;
        let mut redir = Redir::None;
        let mut heredocs: Vec<String> = Vec::new();
        let mut case_depth = 0usize;
        while i < end {
            let before = i;
            let c = bytes.get(i).copied().unwrap_or(b' ');
            let n1 = bytes.get(i + 1).copied();
            let n2 = bytes.get(i + 2).copied();
            match c {
                b' ' | b'\t' | b'\r' => i += 1,
                b'\\' if is_line_cont(bytes, i) > 0 => i += is_line_cont(bytes, i),
                b'#' => i = find_byte(bytes, i, end, b'\n').unwrap_or(end),
                b'\n' => {
                    self.finish(&mut cmd, out, jobs);
                    redir = Redir::None;
                    if matches!(mode, Mode::ForSkip | Mode::FuncName) {
                        mode = Mode::Normal;
                    }
                    i += 1;
                    if !heredocs.is_empty() {
                        i = self.skip_heredocs(i, end, &heredocs);
                        heredocs.clear();
                    }
                }
                b';' => {
                    self.finish(&mut cmd, out, jobs);
                    redir = Redir::None;
                    if n1 == Some(b';') || n1 == Some(b'&') {
                        i += if n1 == Some(b';') && n2 == Some(b'&') {
                            3
                        } else {
                            2
                        };
                        if case_depth > 0 {
                            mode = Mode::CasePattern;
                        }
                    } else {
                        i += 1;
                        if matches!(mode, Mode::ForSkip | Mode::FuncName) {
                            mode = Mode::Normal;
                        }
                    }
                }
                b'&' if n1 == Some(b'>') => {
                    i += if n2 == Some(b'>') { 3 } else { 2 };
                    redir = Redir::Target;
                }
                b'&' | b'|' => {
                    self.finish(&mut cmd, out, jobs);
                    redir = Redir::None;
                    i += if n1 == Some(c) || (c == b'|' && n1 == Some(b'&')) {
                        2
                    } else {
                        1
                    };
                }
                b'(' => {
                    redir = Redir::None;
                    if mode == Mode::CasePattern {
                        i += 1;
                    } else if n1 == Some(b'(')
                        && ((cmd.words.is_empty() && cmd.assigns.is_empty())
                            || mode == Mode::ForSkip)
                    {
                        let (j, _) =
                            skip_nested(bytes, i + 2, end, vec![Frame::Paren, Frame::Paren]);
                        i = j;
                    } else if cmd.words.len() == 1
                        && cmd.assigns.is_empty()
                        && self.next_non_blank(i + 1, end) == Some(b')')
                    {
                        // `name() { … }`: a function definition, not a command.
                        cmd = CmdBuf::default();
                        i = find_byte(bytes, i + 1, end, b')').map_or(end, |p| p + 1);
                    } else {
                        self.finish(&mut cmd, out, jobs);
                        i += 1;
                    }
                }
                b')' => {
                    redir = Redir::None;
                    if mode == Mode::CasePattern {
                        mode = Mode::Normal;
                    } else {
                        self.finish(&mut cmd, out, jobs);
                    }
                    i += 1;
                }
                b'<' | b'>' if n1 != Some(b'(') => {
                    // A file-descriptor number directly before the operator is not an argument.
                    if let Some(last) = cmd.words.last()
                        && last.span.end == i
                        && !last.quoted
                        && !last.text.is_empty()
                        && last.text.bytes().all(|b| b.is_ascii_digit())
                    {
                        cmd.words.pop();
                    }
                    let (len, r) = match (c, n1, n2) {
                        (b'<', Some(b'<'), Some(b'<')) => (3, Redir::Target),
                        (b'<', Some(b'<'), Some(b'-')) => (3, Redir::Heredoc),
                        (b'<', Some(b'<'), _) => (2, Redir::Heredoc),
                        (_, Some(b'>' | b'&' | b'|'), _) => (2, Redir::Target),
                        _ => (1, Redir::Target),
                    };
                    i += len;
                    redir = r;
                }
                _ => {
                    let w = scan_word(self.text, bytes, i, end);
                    i = w.span.end;
                    self.queue_substs(&w, jobs);
                    self.place_word(
                        w,
                        &mut cmd,
                        &mut mode,
                        &mut redir,
                        &mut heredocs,
                        &mut case_depth,
                    );
                }
            }
            if i <= before {
                i = before + 1;
            }
        }
        self.finish(&mut cmd, out, jobs);
    }

    fn next_non_blank(&self, mut i: usize, end: usize) -> Option<u8> {
        while i < end {
            match self.bytes.get(i) {
                Some(b' ' | b'\t') => i += 1,
                other => return other.copied(),
            }
        }
        None
    }

    fn skip_heredocs(&self, mut i: usize, end: usize, pending: &[String]) -> usize {
        for delim in pending {
            loop {
                if i >= end {
                    return end;
                }
                let nl = find_byte(self.bytes, i, end, b'\n');
                let line_end = nl.unwrap_or(end);
                let mut line = self.text.get(i..line_end).unwrap_or("");
                line = line.strip_suffix('\r').unwrap_or(line);
                // Leading tabs (`<<-`) and also spaces are accepted because callers pass
                // script text still indented inside YAML block scalars or Groovy strings.
                line = line.trim_start_matches([' ', '\t']);
                i = nl.map_or(end, |p| p + 1);
                if line.trim_end_matches([' ', '\t']) == delim {
                    break;
                }
            }
        }
        i
    }

    fn place_word(
        &self,
        mut w: LWord,
        cmd: &mut CmdBuf,
        mode: &mut Mode,
        redir: &mut Redir,
        heredocs: &mut Vec<String>,
        case_depth: &mut usize,
    ) {
        match *redir {
            Redir::Target => {
                *redir = Redir::None;
                if *mode == Mode::Normal {
                    cmd.touch(&w.span);
                }
                return;
            }
            Redir::Heredoc => {
                *redir = Redir::None;
                heredocs.push(w.text);
                if *mode == Mode::Normal {
                    cmd.touch(&w.span);
                }
                return;
            }
            Redir::None => {}
        }
        let kw = if w.quoted { "" } else { w.text.as_str() };
        match *mode {
            Mode::ForSkip => {
                if kw == "do" {
                    *mode = Mode::Normal;
                }
                return;
            }
            Mode::CaseHeader => {
                if kw == "in" {
                    *mode = Mode::CasePattern;
                }
                return;
            }
            Mode::CasePattern => {
                if kw == "esac" {
                    *case_depth = case_depth.saturating_sub(1);
                    *mode = Mode::Normal;
                }
                return;
            }
            Mode::FuncName => {
                *mode = Mode::Normal;
                return;
            }
            Mode::Normal => {}
        }
        if cmd.words.is_empty() {
            if cmd.assigns.is_empty() {
                match kw {
                    "if" | "then" | "elif" | "else" | "do" | "while" | "until" | "!" | "{"
                    | "}" | "fi" | "done" => return,
                    "esac" => {
                        *case_depth = case_depth.saturating_sub(1);
                        return;
                    }
                    "for" | "select" => {
                        *mode = Mode::ForSkip;
                        return;
                    }
                    "case" => {
                        *case_depth += 1;
                        *mode = Mode::CaseHeader;
                        return;
                    }
                    "function" => {
                        *mode = Mode::FuncName;
                        return;
                    }
                    _ => {}
                }
                if self.strip_make_prefix {
                    self.strip_prefix(&mut w);
                }
            }
            if self.is_assignment(&w) {
                cmd.touch(&w.span);
                cmd.assigns.push(w);
                return;
            }
        }
        cmd.touch(&w.span);
        cmd.words.push(w);
    }

    /// Strips Makefile `@`, `-`, `+` recipe prefixes from a command's first word.
    fn strip_prefix(&self, w: &mut LWord) {
        let raw = self.text.get(w.span.clone()).unwrap_or("");
        let k = raw
            .bytes()
            .take_while(|b| matches!(b, b'@' | b'-' | b'+'))
            .count();
        let has_at = raw.bytes().take(k).any(|b| b == b'@');
        if k == 0 || k >= raw.len() || (k > 1 && !has_at) {
            // Only `@`-containing prefixes or a single `-`/`+` are recipe prefixes.
            return;
        }
        let after = raw.as_bytes().get(k).copied().unwrap_or(b' ');
        if after == b'-' || after.is_ascii_whitespace() {
            return;
        }
        if w.text.get(..k) == raw.get(..k) {
            w.text = w.text.get(k..).unwrap_or("").to_string();
            w.span.start += k;
        }
    }

    fn is_assignment(&self, w: &LWord) -> bool {
        let raw = self.text.get(w.span.clone()).unwrap_or("");
        let name_len = raw
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let Some(name) = raw.get(..name_len) else {
            return false;
        };
        let rest = raw.get(name_len..).unwrap_or("");
        is_name(name) && (rest.starts_with('=') || rest.starts_with("+="))
    }

    fn queue_substs(&self, w: &LWord, jobs: &mut VecDeque<Job>) {
        if self.job.depth >= MAX_DEPTH {
            return;
        }
        for r in &w.substs {
            jobs.push_back(Job {
                text: self.job.text.clone(),
                range: r.clone(),
                map: self.job.map.clone(),
                depth: self.job.depth + 1,
            });
        }
    }

    fn map(&self, r: Range<usize>) -> Range<usize> {
        self.job.map.clone().unwrap_or(r)
    }

    fn out_word(&self, w: LWord) -> Word {
        Word {
            span: self.map(w.span),
            text: w.text,
            quoted: w.quoted,
        }
    }

    /// Queues a re-lex of `words` joined (the string of `sh -c`/`eval`).
    fn queue_string(&self, words: &[LWord], jobs: &mut VecDeque<Job>) {
        if self.job.depth >= MAX_DEPTH || words.is_empty() {
            return;
        }
        let depth = self.job.depth + 1;
        if let [w] = words {
            let raw = self.text.get(w.span.clone()).unwrap_or("");
            if raw == w.text {
                jobs.push_back(Job {
                    text: self.job.text.clone(),
                    range: w.span.clone(),
                    map: self.job.map.clone(),
                    depth,
                });
                return;
            }
            let rb = raw.as_bytes();
            if rb.len() >= 2
                && matches!(rb.first(), Some(b'\'' | b'"'))
                && rb.first() == rb.last()
                && raw.get(1..raw.len() - 1) == Some(w.text.as_str())
            {
                jobs.push_back(Job {
                    text: self.job.text.clone(),
                    range: w.span.start + 1..w.span.end - 1,
                    map: self.job.map.clone(),
                    depth,
                });
                return;
            }
        }
        let joined = words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let first = words.first().map_or(0, |w| w.span.start);
        let last = words.last().map_or(first, |w| w.span.end);
        let len = joined.len();
        jobs.push_back(Job {
            text: Some(Rc::from(joined)),
            range: 0..len,
            map: Some(self.map(first..last)),
            depth,
        });
    }

    fn finish(&self, cmd: &mut CmdBuf, out: &mut Vec<Command>, jobs: &mut VecDeque<Job>) {
        let buf = std::mem::take(cmd);
        let Some(start) = buf.start else { return };
        if buf.words.is_empty() && buf.assigns.is_empty() {
            return;
        }
        let span = self.map(start..buf.end);
        let mut assigns = buf.assigns;
        let mut words = buf.words;
        let mut idx = 0usize;
        let mut replaced = false;
        for _ in 0..MAX_WRAPPERS {
            let Some(w) = words.get(idx) else { break };
            let name = if w.quoted && w.text.contains(char::is_whitespace) {
                ""
            } else {
                basename(&w.text)
            };
            let opt_is = |j: usize, set: &[&str]| {
                words.get(j).is_some_and(|w| set.contains(&w.text.as_str()))
            };
            match name {
                "sudo" | "doas" => {
                    idx = skip_options(
                        &words,
                        idx + 1,
                        &[
                            "-u",
                            "--user",
                            "-g",
                            "--group",
                            "-p",
                            "--prompt",
                            "-C",
                            "--close-from",
                            "-r",
                            "--role",
                            "-t",
                            "--type",
                            "-U",
                            "--other-user",
                            "-D",
                            "--chdir",
                            "-R",
                            "--chroot",
                            "-T",
                            "--command-timeout",
                            "-h",
                            "--host",
                        ],
                    );
                    idx = self.take_assignments(&mut words, idx, &mut assigns);
                }
                "env" => {
                    idx = skip_options(
                        &words,
                        idx + 1,
                        &[
                            "-u",
                            "--unset",
                            "-C",
                            "--chdir",
                            "-S",
                            "--split-string",
                            "-P",
                        ],
                    );
                    idx = self.take_assignments(&mut words, idx, &mut assigns);
                }
                "exec" => idx = skip_options(&words, idx + 1, &["-a"]),
                "time" => {
                    idx = skip_options(&words, idx + 1, &["-f", "--format", "-o", "--output"])
                }
                "nohup" => idx += 1,
                "command" => {
                    if opt_is(idx + 1, &["-v", "-V"]) {
                        break;
                    }
                    idx = skip_options(&words, idx + 1, &[]);
                }
                "nice" => idx = skip_options(&words, idx + 1, &["-n", "--adjustment"]),
                "timeout" => {
                    idx = skip_options(&words, idx + 1, &["-s", "--signal", "-k", "--kill-after"]);
                    idx += 1; // the duration
                }
                "eval" => {
                    let rest = words.get(idx + 1..).unwrap_or(&[]);
                    self.queue_string(rest, jobs);
                    replaced = true;
                    break;
                }
                "sh" | "bash" | "dash" | "zsh" | "ash" | "ksh" | "mksh" => {
                    if let Some(j) = shell_c_string(&words, idx) {
                        if let Some(s) = words.get(j) {
                            self.queue_string(std::slice::from_ref(s), jobs);
                        }
                        replaced = true;
                    }
                    break;
                }
                _ => break,
            }
        }
        let argv: Vec<Word> = if replaced {
            Vec::new()
        } else {
            words
                .into_iter()
                .skip(idx)
                .map(|w| self.out_word(w))
                .collect()
        };
        if argv.is_empty() && assigns.is_empty() {
            return;
        }
        out.push(Command {
            assignments: assigns.into_iter().map(|w| self.out_word(w)).collect(),
            words: argv,
            span,
        });
    }

    /// Moves `NAME=value` words at `idx` into `assigns`; returns the new index.
    fn take_assignments(
        &self,
        words: &mut [LWord],
        mut idx: usize,
        assigns: &mut Vec<LWord>,
    ) -> usize {
        while let Some(w) = words.get(idx) {
            if !self.is_assignment(w) {
                break;
            }
            assigns.push(w.clone());
            idx += 1;
        }
        idx
    }
}

/// Skips options starting at `idx`; `with_arg` lists options taking a separate argument.
fn skip_options(words: &[LWord], mut idx: usize, with_arg: &[&str]) -> usize {
    while let Some(w) = words.get(idx) {
        let t = w.text.as_str();
        if t == "--" {
            return idx + 1;
        }
        if !t.starts_with('-') || t.len() < 2 {
            break;
        }
        idx += if with_arg.contains(&t) { 2 } else { 1 };
    }
    idx
}

/// For `sh [opts] -c STRING …` at `idx`, the index of STRING.
fn shell_c_string(words: &[LWord], idx: usize) -> Option<usize> {
    let mut j = idx + 1;
    let mut has_c = false;
    while let Some(w) = words.get(j) {
        let t = w.text.as_str();
        if t == "--" || t == "-" {
            j += 1;
            break;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                j += 2;
                continue;
            }
            if !t.starts_with("--") && t.starts_with('-') && t.contains('c') {
                has_c = true;
            }
            j += 1;
            continue;
        }
        break;
    }
    if has_c && words.get(j).is_some() {
        Some(j)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(c: &Command) -> Vec<&str> {
        c.words.iter().map(|w| w.text.as_str()).collect()
    }

    fn all(src: &str) -> Vec<Vec<String>> {
        commands(src)
            .iter()
            .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    fn line_of(src: &str, off: usize) -> usize {
        src[..off].matches('\n').count() + 1
    }

    #[test]
    fn simple_words_and_spans() {
        let src = "docker run --rm alpine";
        let cmds = commands(src);
        assert_eq!(cmds.len(), 1);
        assert_eq!(argv(&cmds[0]), ["docker", "run", "--rm", "alpine"]);
        assert_eq!(cmds[0].words[2].span, 11..15);
        assert_eq!(cmds[0].span, 0..src.len());
    }

    #[test]
    fn separators_split_commands() {
        let got = all("a 1; b 2 && c 3 || d | e & f\ng");
        assert_eq!(
            got,
            vec![
                vec!["a", "1"],
                vec!["b", "2"],
                vec!["c", "3"],
                vec!["d"],
                vec!["e"],
                vec!["f"],
                vec!["g"]
            ]
        );
    }

    #[test]
    fn comments_only_at_word_start() {
        let got = all("echo a#b # docker run --privileged x\n# full line\nls");
        assert_eq!(got, vec![vec!["echo", "a#b"], vec!["ls"]]);
    }

    #[test]
    fn quotes_and_escapes() {
        let src = r#"echo 'a b' "c \"d\" \$e $f" g\ h"#;
        let cmds = commands(src);
        assert_eq!(argv(&cmds[0]), ["echo", "a b", "c \"d\" $e $f", "g h"]);
        assert!(cmds[0].words[1].quoted);
        assert!(!cmds[0].words[0].quoted);
        assert_eq!(&src[cmds[0].words[1].span.clone()], "'a b'");
    }

    #[test]
    fn continuation_lines_keep_word_spans() {
        let src = "docker run \\\n  --privileged \\\r\n  -v /a:/b \\\n  img";
        let cmds = commands(src);
        assert_eq!(cmds.len(), 1);
        let w = &cmds[0].words;
        assert_eq!(
            argv(&cmds[0]),
            ["docker", "run", "--privileged", "-v", "/a:/b", "img"]
        );
        assert_eq!(line_of(src, w[2].span.start), 2);
        assert_eq!(line_of(src, w[3].span.start), 3);
        assert_eq!(line_of(src, w[5].span.start), 4);
    }

    #[test]
    fn continuation_inside_word_joins() {
        let got = all("ec\\\nho hi");
        assert_eq!(got, vec![vec!["echo", "hi"]]);
    }

    #[test]
    fn command_substitution_inner_commands() {
        let src = "x=$(docker ps -q) ; echo \"$(id -u)\" `whoami`";
        let cmds = commands(src);
        let names: Vec<Vec<&str>> = cmds.iter().map(argv).collect();
        assert!(names.contains(&vec!["docker", "ps", "-q"]));
        assert!(names.contains(&vec!["id", "-u"]));
        assert!(names.contains(&vec!["whoami"]));
        let assign = cmds.iter().find(|c| !c.assignments.is_empty()).unwrap();
        assert_eq!(assign.assignments[0].text, "x=$(docker ps -q)");
        let dps = cmds
            .iter()
            .find(|c| argv(c).first() == Some(&"docker"))
            .unwrap();
        assert_eq!(&src[dps.words[0].span.clone()], "docker");
    }

    #[test]
    fn nested_substitution_and_arith() {
        let got = all("a $(b $(c d)) $((1+2))");
        assert!(got.contains(&vec!["c".to_string(), "d".to_string()]));
        assert!(got.contains(&vec!["b".to_string(), "$(c d)".to_string()]));
        assert!(
            !got.iter()
                .any(|c| c.first().is_some_and(|w| w.starts_with('1')))
        );
    }

    #[test]
    fn param_expansion_with_braces_and_spaces() {
        let src = "docker run ${{ matrix.args }} \"${x//$'\\r'/}\" img";
        let cmds = commands(src);
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].words[2].text, "${{ matrix.args }}");
        assert_eq!(cmds[0].words.len(), 5);
    }

    #[test]
    fn keywords_and_compound_commands() {
        let src = "if docker info; then docker ps; else echo no; fi\nfor i in 1 2; do docker rm $i; done\nwhile true\ndo\n  sleep 1\ndone\n{ a; b; }\n(c)";
        let got = all(src);
        assert_eq!(
            got,
            vec![
                vec!["docker", "info"],
                vec!["docker", "ps"],
                vec!["echo", "no"],
                vec!["docker", "rm", "$i"],
                vec!["true"],
                vec!["sleep", "1"],
                vec!["a"],
                vec!["b"],
                vec!["c"],
            ]
        );
    }

    #[test]
    fn case_statement() {
        let src = "case \"$1\" in\n  start) docker run x ;;\n  (stop|halt) docker stop x;;\n  *) echo usage ;;\nesac\nls";
        let got = all(src);
        assert_eq!(
            got,
            vec![
                vec!["docker", "run", "x"],
                vec!["docker", "stop", "x"],
                vec!["echo", "usage"],
                vec!["ls"]
            ]
        );
    }

    #[test]
    fn function_definitions() {
        let got = all("f() { docker ps; }\nfunction g { ls; }\nfunction h() {\n pwd\n}");
        assert_eq!(got, vec![vec!["docker", "ps"], vec!["ls"], vec!["pwd"]]);
    }

    #[test]
    fn heredoc_bodies_are_not_commands() {
        let src = "cat <<EOF > f\ndocker run --privileged x\nEOF\nls\ncat <<-'END'\n\tdocker ps\n\tEND\ncat <<\"X\" <<Y\nx\nX\ny\nY\npwd";
        let got = all(src);
        assert_eq!(
            got,
            vec![
                vec!["cat"],
                vec!["ls"],
                vec!["cat"],
                vec!["cat"],
                vec!["pwd"]
            ]
        );
    }

    #[test]
    fn heredoc_unterminated_and_crlf() {
        let got = all("cat <<EOF\r\ndocker ps\r\nEOF\r\nls\r\n");
        assert_eq!(got, vec![vec!["cat"], vec!["ls"]]);
        let got = all("cat <<EOF\ndocker ps\n");
        assert_eq!(got, vec![vec!["cat"]]);
    }

    #[test]
    fn heredoc_terminator_indented_like_yaml_block() {
        let src = "  if true; then\n    cat > f <<EOL\n  docker run --privileged x\n  EOL\n    docker ps\n  fi";
        let got = all(src);
        assert_eq!(got, vec![vec!["true"], vec!["cat"], vec!["docker", "ps"]]);
    }

    #[test]
    fn pseudo_random_inputs_keep_spans_valid() {
        let alphabet: Vec<char> = " \t\n\r\\'\"`$(){}[];&|<>#=-@ab é".chars().collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..3_000 {
            let len = (round % 97) + 1;
            let mut s = String::new();
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let idx = usize::try_from(seed >> 33).unwrap_or(0) % alphabet.len();
                s.push(alphabet[idx]);
            }
            for c in commands(&s) {
                assert!(s.get(c.span.clone()).is_some(), "{s:?} {:?}", c.span);
                for w in c.words.iter().chain(&c.assignments) {
                    assert!(s.get(w.span.clone()).is_some(), "{s:?} {:?}", w.span);
                }
            }
            for w in split_words(&s) {
                assert!(s.get(w.span.clone()).is_some(), "{s:?} {:?}", w.span);
            }
        }
    }

    #[test]
    fn redirections_are_not_argv() {
        let got = all("docker ps 2>&1 >/dev/null < in >> out &> all");
        assert_eq!(got, vec![vec!["docker", "ps"]]);
    }

    #[test]
    fn assignments() {
        let cmds = commands("A=1 B=\"x y\" docker ps\nexport C=2\nD=");
        assert_eq!(cmds[0].assignments.len(), 2);
        assert_eq!(cmds[0].assignments[1].text, "B=x y");
        assert_eq!(argv(&cmds[0]), ["docker", "ps"]);
        assert_eq!(argv(&cmds[1]), ["export", "C=2"]);
        assert!(cmds[2].words.is_empty());
        assert_eq!(cmds[2].assignments[0].text, "D=");
        let arr = commands("a=(1 2 3) b");
        assert_eq!(arr[0].assignments[0].text, "a=(1 2 3)");
        assert_eq!(argv(&arr[0]), ["b"]);
    }

    #[test]
    fn wrappers_are_stripped() {
        let got = all(
            "sudo -E -u root docker ps\nenv -i A=b docker info\nexec nohup time docker run x\ncommand docker ps\ncommand -v docker\nsudo FOO=1 /usr/bin/docker ps\ntimeout -s KILL 30 docker ps\nnice -n 5 docker ps",
        );
        assert_eq!(
            got,
            vec![
                vec!["docker", "ps"],
                vec!["docker", "info"],
                vec!["docker", "run", "x"],
                vec!["docker", "ps"],
                vec!["command", "-v", "docker"],
                vec!["/usr/bin/docker", "ps"],
                vec!["docker", "ps"],
                vec!["docker", "ps"],
            ]
        );
        let cmds = commands("sudo FOO=1 docker ps");
        assert_eq!(cmds[0].assignments[0].text, "FOO=1");
        assert_eq!(cmds[0].span.start, 0);
    }

    #[test]
    fn sh_c_is_relexed_with_exact_spans() {
        let src = "sudo sh -c 'docker run --privileged x && ls'";
        let cmds = commands(src);
        assert_eq!(cmds.len(), 2);
        assert_eq!(argv(&cmds[0]), ["docker", "run", "--privileged", "x"]);
        assert_eq!(&src[cmds[0].words[2].span.clone()], "--privileged");
        assert_eq!(argv(&cmds[1]), ["ls"]);
    }

    #[test]
    fn bash_ec_with_escapes_maps_to_string_word() {
        let src = "bash -ec \"docker run \\\"a b\\\" --privileged\"";
        let cmds = commands(src);
        assert_eq!(cmds.len(), 1);
        assert_eq!(argv(&cmds[0]), ["docker", "run", "a b", "--privileged"]);
        assert_eq!(cmds[0].words[3].span, 9..src.len());
    }

    #[test]
    fn eval_of_substitution_is_not_duplicated() {
        let cmds = commands("eval \"$(ssh-agent -s)\"");
        let agents = cmds
            .iter()
            .filter(|c| argv(c) == ["ssh-agent", "-s"])
            .count();
        assert_eq!(agents, 1);
    }

    #[test]
    fn bash_script_file_is_kept() {
        assert_eq!(all("bash run.sh -c"), vec![vec!["bash", "run.sh", "-c"]]);
    }

    #[test]
    fn eval_is_relexed() {
        let src = "eval \"docker ps; ls\"\neval docker info";
        let got = all(src);
        assert_eq!(
            got,
            vec![vec!["docker", "ps"], vec!["ls"], vec!["docker", "info"]]
        );
    }

    #[test]
    fn make_prefixes() {
        let got = all("@docker ps\n-docker rm x\n@-echo hi\n+make y");
        assert_eq!(
            got,
            vec![
                vec!["docker", "ps"],
                vec!["docker", "rm", "x"],
                vec!["echo", "hi"],
                vec!["make", "y"]
            ]
        );
        let cmds = commands("@docker ps");
        assert_eq!(cmds[0].words[0].span, 1..7);
    }

    #[test]
    fn process_substitution() {
        let got = all("diff <(docker images) >(cat)");
        assert!(got.contains(&vec!["docker".to_string(), "images".to_string()]));
        assert!(got.contains(&vec!["cat".to_string()]));
    }

    #[test]
    fn split_words_bare_args() {
        let ws = split_words("-u 0:0 -v /var/run/docker.sock:/x --name 'a b'");
        let t: Vec<&str> = ws.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            t,
            [
                "-u",
                "0:0",
                "-v",
                "/var/run/docker.sock:/x",
                "--name",
                "a b"
            ]
        );
        assert_eq!(ws[2].span, 7..9);
        assert!(split_words("").is_empty());
    }

    #[test]
    fn adversarial_inputs_do_not_panic() {
        let cases = [
            "",
            "'",
            "\"",
            "`",
            "$(",
            "${",
            "$((",
            "\\",
            "echo 'unterminated",
            "echo \"a $(b",
            "<<",
            "cat <<",
            "((",
            ")",
            "(",
            "}{",
            ";;",
            "case",
            "case x in",
            "for",
            "a=(",
            "é\\é'é\"é$(é",
            "$'\\",
            "\"\\",
            "sh -c",
            "eval",
            "sudo",
            "env A=1",
            "a\\\r",
            "<(",
            "&>",
            "f()",
            "function",
            "\r\n\r\n",
            "#",
            "x=$'",
        ];
        for c in cases {
            for cmd in commands(c) {
                assert!(c.get(cmd.span.clone()).is_some(), "{c:?} {cmd:?}");
            }
            for w in split_words(c) {
                assert!(c.get(w.span.clone()).is_some(), "{c:?} {w:?}");
            }
            for r in makefile_recipes(c)
                .into_iter()
                .chain(makefile_variable_values(c))
            {
                assert!(c.get(r.clone()).is_some(), "{c:?} {r:?}");
            }
        }
    }

    #[test]
    fn deep_and_huge_inputs_terminate() {
        let deep = "$(".repeat(20_000) + &")".repeat(20_000);
        let cmds = commands(&deep);
        assert!(cmds.len() <= MAX_DEPTH + 2);
        let deep_sh = "sh -c \"".repeat(5_000);
        let cmds = commands(&deep_sh);
        assert!(cmds.iter().all(|c| c.span.end <= deep_sh.len()));
        let huge = "docker run -v /a:/b img\n".repeat(20_000);
        assert_eq!(commands(&huge).len(), 20_000);
        let brackets = "( ".repeat(50_000) + "x" + &" )".repeat(50_000);
        assert_eq!(all(&brackets), vec![vec!["x"]]);
        let arith = "((".repeat(50_000) + "x" + &"))".repeat(50_000);
        assert!(all(&arith).is_empty());
    }

    #[test]
    fn commands_in_range_is_absolute() {
        let src = "xx docker ps yy";
        let cmds = commands_in(src, 3..12);
        assert_eq!(argv(&cmds[0]), ["docker", "ps"]);
        assert_eq!(cmds[0].words[0].span, 3..9);
        assert!(commands_in(src, 3..100).is_empty());
        assert!(commands_in("é", 1..2).is_empty());
    }

    #[test]
    fn makefile_recipe_ranges() {
        let src = "VAR = docker run x\n\nall: build\n\t@docker build -t a . \\\n\t  --pull\n\n\techo done\nother:\n# c\n\tls\nX := 1\n\tnot-a-recipe\n";
        let rs = makefile_recipes(src);
        let texts: Vec<&str> = rs.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(
            texts,
            ["@docker build -t a . \\\n\t  --pull", "echo done", "ls"]
        );
        let cmds = commands_in(src, rs[0].clone());
        assert_eq!(
            argv(&cmds[0]),
            ["docker", "build", "-t", "a", ".", "--pull"]
        );
    }

    #[test]
    fn makefile_rule_line_detection() {
        assert!(is_make_rule_line("all: a b"));
        assert!(is_make_rule_line("pull/$(X)/%: y"));
        assert!(!is_make_rule_line("A := b"));
        assert!(!is_make_rule_line("A ::= b"));
        assert!(!is_make_rule_line("A = b:c"));
        assert!(!is_make_rule_line("define x"));
    }

    #[test]
    fn makefile_variable_value_ranges() {
        let src =
            "DOCKER = docker run -v /x:/y\nexport B ?= 1\nall:\n\tC=2 ls\nD := a \\\n  b\nE=\n";
        let vs: Vec<&str> = makefile_variable_values(src)
            .iter()
            .map(|r| &src[r.clone()])
            .collect();
        assert_eq!(vs, ["docker run -v /x:/y", "1", "a \\\n  b"]);
    }
}
