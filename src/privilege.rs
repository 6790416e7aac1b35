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
use crate::vocab::{DockerUse, Surface};

/// Whether the pipeline runs a privileged container that is not a Docker daemon, and no
/// Docker daemon or image builder at all. A pipeline that builds or pushes images is a Docker
/// pipeline; so is a GitHub job's binfmt step, which the BuildKit target swaps for
/// `docker/setup-qemu-action`.
pub fn daemonless_privileged(p: &Pipeline) -> bool {
    let builds = p.usage.contains(&DockerUse::Build) || p.usage.contains(&DockerUse::Push);
    let github_emulation =
        p.surface == Surface::GithubActions && p.usage.contains(&DockerUse::MultiArch);
    if builds || github_emulation {
        return false;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Container, LocFact, Role, Val};
    use crate::source::docker_cmd::Fact;
    use crate::source::{Loc, Span};

    fn loc() -> Loc {
        Loc::new(0, Span::new(0, 0))
    }

    /// A compose-like pipeline with one privileged container.
    fn privileged(image: &str, command: &[&str]) -> Pipeline {
        let mut p = Pipeline::new("svc", Surface::Compose, loc());
        let mut c = Container::new(Role::Workload);
        c.image = Some(Val::new(image.to_string(), loc()));
        c.privileged = Some(Val::new(true, loc()));
        c.command = command
            .iter()
            .map(|w| Val::new(w.to_string(), loc()))
            .collect();
        p.containers.push(c);
        p
    }

    /// A script pipeline with a privileged `docker run`.
    fn script(daemon: bool) -> Pipeline {
        let mut p = Pipeline::new("ci.sh", Surface::Shell, loc());
        p.script_facts.push(LocFact {
            fact: Fact {
                kind: FactKind::Privileged { daemon },
                span: 0..0,
            },
            loc: loc(),
        });
        p
    }

    fn set(r: &[PrivilegeReason]) -> BTreeSet<PrivilegeReason> {
        r.iter().copied().collect()
    }

    #[test]
    fn images_say_why() {
        use PrivilegeReason::*;
        for (image, want) in [
            ("flatpak/flatpak-builder", set(&[Bubblewrap])),
            (
                "ghcr.io/flathub-infra/flatpak-github-actions:gnome-47",
                set(&[Bubblewrap]),
            ),
            ("jrei/systemd-ubuntu:22.04", set(&[Systemd])),
            ("kindest/node:v1.31.0", set(&[Systemd])),
            ("qemux/qemu:7.12", set(&[Kvm])),
            ("multiarch/qemu-user-static", set(&[Binfmt])),
            ("tonistiigi/binfmt:latest", set(&[Binfmt])),
            ("alpine:3.20", set(&[])),
        ] {
            assert_eq!(classify(&privileged(image, &[]), &[]), want, "{image}");
        }
    }

    #[test]
    fn commands_and_devices_say_why() {
        use PrivilegeReason::*;
        let cmd = |words: &[&str]| classify(&privileged("debian:12", words), &[]);
        assert_eq!(cmd(&["/sbin/init"]), set(&[Systemd]));
        assert_eq!(cmd(&["systemd"]), set(&[Systemd]));
        assert_eq!(
            cmd(&["flatpak-builder", "build", "app.yml"]),
            set(&[Bubblewrap])
        );
        assert_eq!(cmd(&["qemu-system-x86_64", "-enable-kvm"]), set(&[Kvm]));
        assert_eq!(cmd(&["sshfs", "u@h:/d", "/mnt"]), set(&[Fuse]));
        assert_eq!(cmd(&["./Tool-x86_64.AppImage"]), set(&[Fuse]));
        assert_eq!(
            cmd(&["mount", "-o", "ro,loop", "disk.img", "/mnt"]),
            set(&[DiskImage])
        );
        assert_eq!(cmd(&["mkosi", "build"]), set(&[DiskImage]));
        // `systemd` is a reason only as the command itself.
        assert_eq!(cmd(&["echo", "systemd"]), set(&[]));
        let mut p = privileged("debian:12", &[]);
        if let Some(c) = p.containers.first_mut() {
            c.volumes.push(Val::new("/dev/kvm:/dev/kvm".into(), loc()));
        }
        assert_eq!(classify(&p, &[]), set(&[Kvm]));
    }

    #[test]
    fn script_text_says_why() {
        use PrivilegeReason::*;
        let p = script(false);
        let t = |s: &str| classify(&p, &[s]);
        assert_eq!(
            t("docker run --rm --privileged -v $PWD:/o debian:12 sh -c 'losetup -fP /o/d.img'"),
            set(&[DiskImage])
        );
        assert_eq!(
            t("docker run --privileged --rm tonistiigi/binfmt --install all"),
            set(&[Binfmt])
        );
        assert_eq!(t("- uses: docker/setup-qemu-action@v3"), set(&[Binfmt]));
        assert_eq!(t("s3fs bucket /mnt/b"), set(&[Fuse]));
        assert_eq!(t("rclone mount remote: /mnt"), set(&[Fuse]));
        assert_eq!(t("virt-install --name vm"), set(&[Kvm]));
        assert_eq!(t("qemu-system-aarch64 -accel kvm"), set(&[Kvm]));
        // A comment or a bare word that is no command says nothing.
        assert_eq!(t("# losetup is not used here\necho qemu"), set(&[]));
        assert_eq!(t("docker run --privileged alpine echo hi"), set(&[]));
    }

    #[test]
    fn a_docker_daemon_or_builder_is_not_a_workload() {
        // A privileged dind next to a qemu step: the Docker targets apply.
        let p = script(true);
        assert!(!daemonless_privileged(&p));
        assert_eq!(classify(&p, &["qemu-system-x86_64 -enable-kvm"]), set(&[]));
        let mut p = privileged("qemux/qemu", &[]);
        let mut dind = Container::new(Role::Service);
        dind.image = Some(Val::new("docker:27-dind".into(), loc()));
        dind.privileged = Some(Val::new(true, loc()));
        p.containers.push(dind);
        assert!(!daemonless_privileged(&p));
        assert!(classify(&p, &[]).is_empty());
        let p = privileged("moby/buildkit:v0.18.2", &["mount", "-o", "loop"]);
        assert!(classify(&p, &[]).is_empty());
        // A binfmt step of an image build belongs to the build.
        let binfmt = ["docker run --privileged tonistiigi/binfmt --install all"];
        let mut p = script(false);
        p.usage.insert(DockerUse::MultiArch);
        assert_eq!(classify(&p, &binfmt), set(&[PrivilegeReason::Binfmt]));
        p.usage.insert(DockerUse::Build);
        assert!(classify(&p, &binfmt).is_empty());
        let mut p = script(false);
        p.surface = Surface::GithubActions;
        p.usage.insert(DockerUse::MultiArch);
        assert!(classify(&p, &binfmt).is_empty());
        // Not privileged at all: nothing to say.
        let mut p = privileged("qemux/qemu", &[]);
        if let Some(c) = p.containers.first_mut() {
            c.privileged = None;
        }
        assert!(classify(&p, &[]).is_empty());
    }
}
