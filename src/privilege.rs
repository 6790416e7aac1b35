//! Why a container runs privileged when no Docker daemon is involved.
//!
//! A privileged container that is not a Docker daemon is privileged for its workload: a QEMU
//! virtual machine wants `/dev/kvm`, sshfs wants `/dev/fuse`, `losetup` wants loop devices,
//! flatpak-builder's bubblewrap wants user namespaces and mounts, systemd as PID 1 wants to
//! manage cgroups and mounts, a binfmt registration writes the host kernel's binfmt_misc.
//! The Docker targets (rootless dind, BuildKit, kaniko, TLS) replace a daemon and do not
//! apply; the right advice is a narrower device, sysbox where it runs the workload, or a
//! manual task that says why. [`classify`] reads what the scanner sees: the images, the
//! commands and entrypoints, the devices already listed and the pipeline's own text.

use std::collections::BTreeSet;

use crate::model::{Pipeline, PrivilegeReason, Signal};
use crate::source::docker_cmd::FactKind;

/// Whether the pipeline runs a privileged container that is not a Docker daemon, and no
/// Docker daemon or image builder at all (a binfmt step next to a host-daemon build counts).
pub fn daemonless_privileged(p: &Pipeline) -> bool {
    let facts = || {
        p.script_facts
            .iter()
            .chain(p.containers.iter().flat_map(|c| c.facts.iter()))
    };
    let daemon = p.containers.iter().any(|c| c.is_daemon() || is_builder(c))
        || facts().any(|f| matches!(f.fact.kind, FactKind::Privileged { daemon: true }))
        || p.signals
            .iter()
            .any(|s| matches!(s, Signal::PrivilegedDind(_)));
    let privileged = p
        .containers
        .iter()
        .any(|c| c.privileged.as_ref().is_some_and(|f| f.v))
        || facts().any(|f| matches!(f.fact.kind, FactKind::Privileged { daemon: false }))
        || p.signals
            .iter()
            .any(|s| matches!(s, Signal::PrivilegedContainer(_)));
    privileged && !daemon
}

/// A BuildKit or kaniko container: an image builder, which the Docker targets do serve.
fn is_builder(c: &crate::model::Container) -> bool {
    c.image.as_ref().is_some_and(|i| {
        let l = i.v.to_ascii_lowercase();
        l.contains("buildkit") || l.contains("kaniko")
    })
}

/// Why the pipeline's containers are privileged, from its images, container commands and
/// `texts` (the pipeline's own text and the command lines of its privileged `docker run`s).
/// Empty when the pipeline involves a Docker daemon or nothing says why.
pub fn classify(p: &Pipeline, texts: &[&str]) -> BTreeSet<PrivilegeReason> {
    let mut out = BTreeSet::new();
    if !daemonless_privileged(p) {
        return out;
    }
    for c in &p.containers {
        if let Some(i) = &c.image {
            image_reasons(&i.v, true, &mut out);
        }
        let words: Vec<String> = c.command.iter().map(|w| w.v.to_ascii_lowercase()).collect();
        word_reasons(&words, &mut out);
        for v in c.volumes.iter().chain(c.host_paths.iter()) {
            word_reasons(&[v.v.to_ascii_lowercase()], &mut out);
        }
    }
    for t in texts {
        let words = tokens(t);
        word_reasons(&words, &mut out);
        for w in &words {
            image_reasons(w, false, &mut out);
        }
    }
    out
}

/// Reasons an image name gives (`declared`: an `image:` value, else a word of a script, which
/// must look like a repository path).
fn image_reasons(image: &str, declared: bool, out: &mut BTreeSet<PrivilegeReason>) {
    let l = image.trim().to_ascii_lowercase();
    // Repository path without registry host and tag: `ghcr.io/a/b:tag` → `a/b`.
    let no_tag = l.split('@').next().unwrap_or(&l);
    let repo = match no_tag.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => r,
        _ => no_tag,
    };
    let name = repo.rsplit('/').next().unwrap_or(repo);
    if !declared && !repo.contains('/') {
        // A bare word in a script is not an image name.
        return;
    }
    if repo.contains("binfmt") || name.contains("qemu-user") || name.contains("setup-qemu") {
        out.insert(PrivilegeReason::Binfmt);
    } else if name.contains("qemu") || repo.starts_with("dockur/") {
        out.insert(PrivilegeReason::Kvm);
    }
    if repo.contains("flatpak") {
        out.insert(PrivilegeReason::Bubblewrap);
    }
    if name.contains("systemd") || repo.starts_with("kindest/node") {
        out.insert(PrivilegeReason::Systemd);
    }
}

/// Reasons the words of a command or script give.
fn word_reasons(words: &[String], out: &mut BTreeSet<PrivilegeReason>) {
    for (i, w) in words.iter().enumerate() {
        let base = w.rsplit('/').next().unwrap_or(w);
        let next = words.get(i + 1).map(String::as_str).unwrap_or("");
        if matches!(base, "flatpak-builder" | "bwrap" | "flatpak")
            || w.contains("flatpak-github-actions")
        {
            out.insert(PrivilegeReason::Bubblewrap);
        }
        if base.starts_with("qemu-system-")
            || matches!(base, "qemu-kvm" | "virt-install" | "-enable-kvm" | "virsh")
            || w.contains("/dev/kvm")
            || w.contains("accel=kvm")
            || (w == "-accel" || w == "--accel") && next == "kvm"
        {
            out.insert(PrivilegeReason::Kvm);
        }
        if matches!(
            base,
            "sshfs"
                | "s3fs"
                | "fuse-overlayfs"
                | "guestmount"
                | "goofys"
                | "gcsfuse"
                | "bindfs"
                | "fusermount"
                | "fusermount3"
                | "squashfuse"
                | "blobfuse"
                | "blobfuse2"
                | "mount-s3"
                | "appimagetool"
        ) || w.contains("/dev/fuse")
            || base.ends_with(".appimage")
            || (base == "rclone" && next == "mount")
        {
            out.insert(PrivilegeReason::Fuse);
        }
        let loop_opt = |o: &str| o.split(',').any(|x| x == "loop");
        if matches!(
            base,
            "losetup"
                | "kpartx"
                | "mkosi"
                | "debootstrap"
                | "kiwi-ng"
                | "livecd-creator"
                | "livemedia-creator"
                | "qemu-nbd"
                | "grub-install"
        ) || w.contains("/dev/loop")
            || (w == "-o" || w == "--options") && loop_opt(next)
            || w.strip_prefix("-o").is_some_and(loop_opt)
        {
            out.insert(PrivilegeReason::DiskImage);
        }
        if w.contains("binfmt") || base.starts_with("qemu-user-static") {
            out.insert(PrivilegeReason::Binfmt);
        }
        if matches!(
            w.as_str(),
            "/sbin/init" | "/usr/sbin/init" | "/lib/systemd/systemd" | "/usr/lib/systemd/systemd"
        ) || (i == 0 && base == "systemd")
        {
            out.insert(PrivilegeReason::Systemd);
        }
    }
}

/// Lower-case words of a text: split on blanks, quotes and shell punctuation; `#` comments
/// are dropped.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = match line.trim_start().strip_prefix('#') {
            Some(_) => continue,
            None => line,
        };
        for w in code.split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '`' | ';' | '|' | '&' | '(' | ')' | '[' | ']' | '{' | '}'
                )
        }) {
            let w = w.trim_end_matches([',', ':']);
            if !w.is_empty() {
                out.push(w.to_ascii_lowercase());
            }
        }
    }
    out
}
