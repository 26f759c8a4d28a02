//! A real Debian root file system (debootstrap), cached across runs, for image fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ci::in_ci;

/// The Debian mirror configured for apt on this machine (else deb.debian.org).
pub fn debian_mirror() -> String {
    let mut text =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    text.push_str(&std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default());
    for line in text.lines() {
        let l = line.trim();
        if let Some(u) = l.strip_prefix("URIs:") {
            let u = u.trim();
            if !u.contains("security") {
                return u.split_whitespace().next().unwrap_or(u).to_string();
            }
        }
        if let Some(rest) = l.strip_prefix("deb ")
            && let Some(u) = rest.split_whitespace().find(|w| w.starts_with("http"))
            && !u.contains("security")
        {
            return u.to_string();
        }
    }
    "http://deb.debian.org/debian".to_string()
}

/// `<base>/rootfs`: a `debootstrap --variant=minbase bookworm` root file system, built once and
/// kept (marker `<base>/rootfs.done`); setting the environment variable `fresh_env` rebuilds it.
/// The caller checks that `debootstrap` is installed. A failed debootstrap is a skip (`None`)
/// locally and a panic under `CI=true`.
pub fn debootstrap_minbase(base: &Path, fresh_env: &str) -> Option<PathBuf> {
    debootstrap(base, "rootfs", fresh_env, &[], "ok")
}

/// `<base>/rootfs-with`: a `debootstrap --variant=minbase --include=<include> bookworm` root file
/// system (the named packages and their dependencies on top of minbase), built once and kept
/// (marker `<base>/rootfs-with.done`, which holds the include list: a different list rebuilds
/// it); setting the environment variable `fresh_env` rebuilds it too. As for
/// [`debootstrap_minbase`], the caller checks that `debootstrap` is installed, and a failed
/// debootstrap is a skip (`None`) locally and a panic under `CI=true`.
pub fn debootstrap_with(base: &Path, fresh_env: &str, include: &[&str]) -> Option<PathBuf> {
    let list = include.join(",");
    debootstrap(base, "rootfs-with", fresh_env, include, &list)
}

/// `<base>/<name>`, built by debootstrap unless `<base>/<name>.done` holds `stamp`.
fn debootstrap(
    base: &Path,
    name: &str,
    fresh_env: &str,
    include: &[&str],
    stamp: &str,
) -> Option<PathBuf> {
    std::fs::create_dir_all(base).unwrap();
    let rootfs = base.join(name);
    let marker = base.join(format!("{name}.done"));
    let cached = std::fs::read_to_string(&marker).is_ok_and(|m| m == stamp);
    if std::env::var(fresh_env).is_ok() || !cached {
        let tmp = base.join(format!("{name}.tmp"));
        let _ = std::fs::remove_file(&marker);
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_dir_all(&rootfs);
        let mirror = debian_mirror();
        let list = include.join(",");
        eprintln!(
            "building Debian rootfs with debootstrap from {mirror}{} (takes a few min)",
            if list.is_empty() {
                String::new()
            } else {
                format!(", including {list}")
            }
        );
        let mut cmd = Command::new("debootstrap");
        cmd.arg("--variant=minbase");
        if !list.is_empty() {
            cmd.arg(format!("--include={list}"));
        }
        let out = cmd
            .arg("bookworm")
            .arg(&tmp)
            .arg(&mirror)
            .output()
            .expect("run debootstrap");
        if !out.status.success() {
            let msg = format!(
                "debootstrap{} failed: {}",
                if list.is_empty() {
                    String::new()
                } else {
                    format!(" --include={list}")
                },
                String::from_utf8_lossy(&out.stderr)
            );
            if in_ci() {
                panic!("{msg}");
            }
            eprintln!("SKIP: {msg}");
            return None;
        }
        std::fs::rename(&tmp, &rootfs).unwrap();
        std::fs::write(&marker, stamp.as_bytes()).unwrap();
    }
    Some(rootfs)
}
