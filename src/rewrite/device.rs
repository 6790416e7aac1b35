//! The narrower device: a container privileged only for KVM gets `/dev/kvm` instead.
//!
//! `--privileged` (a `docker run` flag, GitHub `container: options:`, a Jenkins agent's
//! `args`) becomes `--device /dev/kvm` in place; a compose `privileged: true` line becomes a
//! `devices:` list with `/dev/kvm` (https://docs.docker.com/reference/cli/docker/container/run/#device,
//! https://docs.docker.com/reference/compose-file/services/#devices). Anything else (a flag in
//! a shared anchor, a compose service that already lists devices inline, Kubernetes, which
//! needs a device plugin) is refused, and the plan's manual task gives the replacement.

use crate::edit::Edit;
use crate::finding::{Finding, Surface};

use super::{Files, Outcome, Status};

/// The device that replaces privileged.
pub const KVM: &str = "/dev/kvm";

/// Replace every privileged flag of `findings` (the pipeline's `privileged-container`
/// findings) with the KVM device. Refuses (no edits) unless every one can be replaced.
pub fn kvm(findings: &[&Finding], files: &dyn Files) -> Outcome {
    let mut o = Outcome::default();
    for f in findings {
        if f.rule != "privileged-container" {
            o.notes.push(format!(
                "{}:{}: {} is not about privilege for KVM; it stays",
                f.path, f.line, f.rule
            ));
            continue;
        }
        if f.pipelines.len() > 1 {
            return refuse(format!(
                "{}:{}: the privileged flag is shared with {}: replace it where only the KVM container uses it",
                f.path,
                f.line,
                f.pipelines.join(", ")
            ));
        }
        let Some(text) = files.text(&f.path) else {
            return refuse(format!("{}: cannot be read", f.path));
        };
        if let Some((at, message)) = super::parse_failure(&f.path, &text) {
            return refuse(format!(
                "{} (byte {at}): {message}; a file that does not parse is not rewritten",
                f.path
            ));
        }
        let edit = match flag_edit(&text, &f.path, f.span.start, f.span.end) {
            Some(e) => Some(e),
            None if f.surface == Surface::Compose => compose_edit(&text, &f.path, f.span.start),
            None => None,
        };
        match edit {
            Some(e) => {
                o.edits.push(e);
                o.addressed.push(f.fingerprint.clone());
            }
            None => {
                return refuse(format!(
                    "{}:{}: no privileged flag to replace with {KVM} here",
                    f.path, f.line
                ));
            }
        }
    }
    if !o.edits.is_empty() {
        o.notes.push(
            "only /dev/kvm is passed: a VM with tap or bridged networking also needs --device /dev/net/tun and --cap-add NET_ADMIN, still far narrower than privileged (https://docs.docker.com/reference/cli/docker/container/run/#device)".to_string(),
        );
        // Privileged mode tolerated a host without KVM (QEMU fell back to software
        // emulation); a listed device that does not exist fails the container's start.
        let hosts: std::collections::BTreeSet<&str> =
            findings.iter().map(|f| f.path.as_str()).collect();
        for path in hosts {
            o.manual.push(super::ManualTask {
                title: format!("make sure {KVM} exists on every host that runs these containers (hardware virtualisation enabled; nested virtualisation on cloud VMs): with the device listed, a host without it fails the container's start, where privileged mode let QEMU fall back to software emulation (https://docs.docker.com/reference/cli/docker/container/run/#device)"),
                location: format!("hosts that run {path}"),
                snippet: format!("test -c {KVM} && echo ok"),
                lang: "sh".to_string(),
            });
        }
    }
    o
}

fn refuse(why: String) -> Outcome {
    Outcome {
        notes: vec![why],
        status: Some(Status::Manual),
        ..Outcome::default()
    }
}

/// `--privileged` (or `--privileged=true`) at `start..end` → `--device /dev/kvm`; only the
/// flag when the command already passes the device.
fn flag_edit(text: &str, path: &str, start: usize, end: usize) -> Option<Edit> {
    let word = text.get(start..end)?;
    if !(word == "--privileged" || word.eq_ignore_ascii_case("--privileged=true")) {
        return None;
    }
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text.get(end..)?.find('\n').map_or(text.len(), |i| end + i);
    let line = text.get(line_start..line_end)?;
    if line.contains(KVM) {
        // Drop the flag and the blank before it.
        let before = text.get(..start)?;
        let trimmed = before.trim_end_matches([' ', '\t']);
        let from = if trimmed.len() < start && !trimmed.ends_with('\n') {
            trimmed.len()
        } else {
            start
        };
        return Some(Edit::delete(path, from, end));
    }
    Some(Edit::replace(path, start, end, format!("--device {KVM}")))
}

/// A compose `privileged: true` line → `devices:` with `/dev/kvm` (or, when the service
/// already lists `/dev/kvm` in a block `devices:`, just the line removed).
fn compose_edit(text: &str, path: &str, at: usize) -> Option<Edit> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text
        .get(line_start..)?
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = text.get(line_start..line_end)?.trim_end_matches('\r');
    let indent_len = line.len() - line.trim_start_matches(' ').len();
    let indent = line.get(..indent_len)?;
    let rest = line.get(indent_len..)?;
    let value = rest.strip_prefix("privileged:")?.trim();
    let value = value.split(" #").next().unwrap_or(value).trim();
    if !matches!(value, "true" | "True" | "TRUE" | "yes" | "on") {
        return None;
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // The sibling keys of the same mapping: the contiguous lines around it at the same
    // indentation (deeper lines and blank lines belong to the block).
    let siblings = siblings(text, line_start, indent_len);
    if let Some(devices) = siblings
        .iter()
        .find(|l| l.trim_start().starts_with("devices:"))
    {
        let inline = devices.trim_start().trim_start_matches("devices:").trim();
        if !inline.is_empty() || !block_of(text, devices, indent_len).contains(KVM) {
            return None;
        }
        let end = if line_end < text.len() {
            line_end + 1
        } else {
            line_end
        };
        return Some(Edit::delete(path, line_start, end));
    }
    let eol = line_start + line.len();
    Some(Edit::replace(
        path,
        line_start + indent_len,
        eol,
        format!("devices:{nl}{indent}  - {KVM}"),
    ))
}

/// The lines of the mapping the line at `line_start` belongs to, at indentation `indent`.
fn siblings(text: &str, line_start: usize, indent: usize) -> Vec<&str> {
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0usize, |off, l| {
            let s = *off;
            *off += l.len();
            Some((s, l.trim_end_matches(['\n', '\r'])))
        })
        .collect();
    let Some(me) = lines.iter().position(|(s, _)| *s == line_start) else {
        return Vec::new();
    };
    let ind = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let inside =
        |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#') || ind(l) >= indent;
    let mut first = me;
    while first > 0 && lines.get(first - 1).is_some_and(|(_, l)| inside(l)) {
        first -= 1;
    }
    let mut last = me;
    while lines.get(last + 1).is_some_and(|(_, l)| inside(l)) {
        last += 1;
    }
    lines
        .get(first..=last)
        .unwrap_or_default()
        .iter()
        .map(|(_, l)| *l)
        .filter(|l| !l.trim().is_empty() && ind(l) == indent)
        .collect()
}

/// The text of the block under the key line `key` (its deeper lines).
fn block_of(text: &str, key: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut inside = false;
    for l in text.lines() {
        if inside {
            let ind = l.len() - l.trim_start_matches(' ').len();
            if !l.trim().is_empty() && ind <= indent {
                break;
            }
            out.push_str(l);
            out.push('\n');
        } else if l == key {
            inside = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, e: &Edit) -> String {
        let mut s = text.to_string();
        s.replace_range(e.start..e.end, &e.text);
        s
    }

    #[test]
    fn docker_run_flag_becomes_the_device() {
        let t = "docker run --rm --privileged qemux/qemu\n";
        let at = t.find("--privileged").unwrap_or(0);
        let e = flag_edit(t, "x.sh", at, at + "--privileged".len());
        assert_eq!(
            e.map(|e| apply(t, &e)).as_deref(),
            Some("docker run --rm --device /dev/kvm qemux/qemu\n")
        );
        let t = "docker run --privileged --device /dev/kvm img\n";
        let at = t.find("--privileged").unwrap_or(0);
        let e = flag_edit(t, "x.sh", at, at + "--privileged".len());
        assert_eq!(
            e.map(|e| apply(t, &e)).as_deref(),
            Some("docker run --device /dev/kvm img\n")
        );
        assert_eq!(flag_edit("privileged: true\n", "c.yml", 0, 10), None);
    }

    #[test]
    fn compose_privileged_line_becomes_a_devices_list() {
        let t = "services:\n  vm:\n    image: qemux/qemu\n    privileged: true # VM\n    ports:\n      - \"8006:8006\"\n";
        let at = t.find("privileged").unwrap_or(0);
        let e = compose_edit(t, "c.yml", at);
        assert_eq!(
            e.map(|e| apply(t, &e)).as_deref(),
            Some(
                "services:\n  vm:\n    image: qemux/qemu\n    devices:\n      - /dev/kvm\n    ports:\n      - \"8006:8006\"\n"
            )
        );
        let crlf = "services:\r\n  vm:\r\n    privileged: true\r\n";
        let at = crlf.find("privileged").unwrap_or(0);
        let e = compose_edit(crlf, "c.yml", at);
        assert_eq!(
            e.map(|e| apply(crlf, &e)).as_deref(),
            Some("services:\r\n  vm:\r\n    devices:\r\n      - /dev/kvm\r\n")
        );
        // Already listed: the flag line goes.
        let t = "services:\n  vm:\n    privileged: true\n    devices:\n      - /dev/kvm\n  other:\n    image: x\n";
        let at = t.find("privileged").unwrap_or(0);
        let e = compose_edit(t, "c.yml", at);
        assert_eq!(
            e.map(|e| apply(t, &e)).as_deref(),
            Some("services:\n  vm:\n    devices:\n      - /dev/kvm\n  other:\n    image: x\n")
        );
        // Other devices listed (or inline): refused, the manual task says what to write.
        let t = "services:\n  vm:\n    privileged: true\n    devices: [/dev/net/tun]\n";
        assert_eq!(
            compose_edit(t, "c.yml", t.find("privileged").unwrap_or(0)),
            None
        );
        let t = "services:\n  vm:\n    privileged: false\n";
        assert_eq!(
            compose_edit(t, "c.yml", t.find("privileged").unwrap_or(0)),
            None
        );
    }

    struct One(&'static str, &'static str);

    impl Files for One {
        fn text(&self, path: &str) -> Option<std::sync::Arc<str>> {
            (path == self.0).then(|| std::sync::Arc::from(self.1))
        }
        fn yaml_paths(&self) -> Vec<String> {
            Vec::new()
        }
    }

    fn finding(path: &str, text: &str, word: &str) -> Finding {
        let at = text.find(word).unwrap_or(0);
        Finding {
            rule: "privileged-container",
            severity: crate::finding::Severity::High,
            path: path.to_string(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            surface: Surface::Jenkins,
            pipeline: None,
            pipeline_path: None,
            pipelines: Vec::new(),
            affected: Vec::new(),
            message: String::new(),
            docker_usage: Default::default(),
            recommended: None,
            fingerprint: "f".into(),
            suppressed: false,
            suppression: None,
            fixture: false,
            fixture_included: false,
            span: crate::source::Span::new(at, at + word.len()),
        }
    }

    #[test]
    fn a_file_that_does_not_parse_is_not_rewritten() {
        const OK: &str = "pipeline {\n  agent { docker { image 'q'\n args '--privileged' } }\n}\n";
        let f = finding("Jenkinsfile", OK, "--privileged");
        let o = kvm(&[&f], &One("Jenkinsfile", OK));
        assert_eq!(o.edits.len(), 1);
        assert_eq!(o.addressed, vec!["f".to_string()]);
        // The device must exist on the hosts: a task, not a silent assumption.
        assert!(
            o.manual
                .iter()
                .any(|t| t.title.contains("/dev/kvm exists on every host")
                    && t.location == "hosts that run Jenkinsfile"),
            "{:#?}",
            o.manual
        );
        const BAD: &str = "pipeline {\n  agent { docker { image 'q\n args '--privileged' } }\n}\n";
        let f = finding("Jenkinsfile", BAD, "--privileged");
        let o = kvm(&[&f], &One("Jenkinsfile", BAD));
        assert!(o.edits.is_empty());
        assert_eq!(o.status, Some(Status::Manual));
        assert!(o.notes.iter().any(|n| n.contains("does not parse")));
    }
}
