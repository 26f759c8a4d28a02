//! cargo-auditable fixtures: a tiny probe crate (or a crate with the dependencies a test names)
//! built with `cargo auditable build`, and the packages of a `Cargo.lock` to compare its
//! `.dep-v0` data with.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ci;

/// Whether `cargo auditable` runs; a missing one skips locally and fails under `CI=true`.
pub fn require_cargo_auditable() -> bool {
    let has = Command::new("cargo")
        .args(["auditable", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    ci::require(
        has,
        "cargo-auditable (cargo install --locked cargo-auditable)",
    )
}

/// Writes the probe crate `name` at `version` into `dir` (one runtime dependency, `itoa =1.0.11`,
/// one build dependency, `autocfg =1.4.0`) and builds it with `cargo auditable build` into the
/// target directory `target`; returns the binary (`<target>/debug/<name>`) and leaves the
/// crate's `Cargo.lock` in `dir`.
///
/// `None` is a skip: cargo-auditable is missing ([`require_cargo_auditable`]), or crates.io is
/// unreachable outside CI. Any other build failure panics with cargo's output.
pub fn build_probe(dir: &Path, target: &Path, name: &str, version: &str) -> Option<PathBuf> {
    if !require_cargo_auditable() {
        return None;
    }
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [dependencies]\nitoa = \"=1.0.11\"\n\n[build-dependencies]\nautocfg = \"=1.4.0\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { let mut b = itoa::Buffer::new(); println!(\"{}\", b.format(7)); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("build.rs"),
        "fn main() { let _ = autocfg::new(); }\n",
    )
    .unwrap();
    auditable_build(dir, target, name)
}

/// `cargo auditable build` of the crate in `dir` into `target`: its binary
/// `<target>/debug/<name>`, or `None` (a skip) when crates.io is unreachable
/// outside CI; any other failure panics with cargo's output.
fn auditable_build(dir: &Path, target: &Path, name: &str) -> Option<PathBuf> {
    let out = Command::new("cargo")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .args(["auditable", "build", "--quiet"])
        .output()
        .expect("run cargo auditable build");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // crates.io may be unreachable on a developer machine.
        if !ci::in_ci() && (err.contains("failed to download") || err.contains("failed to query")) {
            eprintln!("SKIP: crates.io not reachable: {err}");
            return None;
        }
        panic!("cargo auditable build of {name} failed:\n{err}");
    }
    Some(target.join("debug").join(name))
}

/// Writes the binary crate `name` at `version` into `dir`, with the runtime dependencies `deps`
/// (crates.io name, exact version: `=VERSION` in `Cargo.toml`) and `main_rs` as its
/// `src/main.rs`, and builds it with `cargo auditable build` into the target directory `target`;
/// returns the binary (`<target>/debug/<name>`) and leaves the crate's `Cargo.lock` in `dir`.
///
/// As for [`build_probe`], `None` is a skip: cargo-auditable is missing, or crates.io is
/// unreachable outside CI (a crate already in cargo's cache needs no network). Any other build
/// failure panics with cargo's output.
pub fn build_crate(
    dir: &Path,
    target: &Path,
    name: &str,
    version: &str,
    deps: &[(&str, &str)],
    main_rs: &str,
) -> Option<PathBuf> {
    if !require_cargo_auditable() {
        return None;
    }
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n"
    );
    for (dep, v) in deps {
        toml.push_str(&format!("{dep} = \"={v}\"\n"));
    }
    std::fs::write(dir.join("Cargo.toml"), toml).unwrap();
    std::fs::write(dir.join("src/main.rs"), main_rs).unwrap();
    auditable_build(dir, target, name)
}

/// The (name, version) pairs of every `[[package]]` of a `Cargo.lock`, the root included.
pub fn lock_packages(lock: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|r| r.trim().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(n), Some(v)) = (field("name "), field("version ")) {
            out.insert((n, v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_packages_include_the_root() {
        let lock = "version = 4\n\n[[package]]\nname = \"autocfg\"\nversion = \"1.4.0\"\n\
                    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
                    [[package]]\nname = \"probe\"\nversion = \"0.2.0\"\ndependencies = [\n \"itoa\",\n]\n";
        let want: BTreeSet<(String, String)> = [("autocfg", "1.4.0"), ("probe", "0.2.0")]
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(lock_packages(lock), want);
    }
}
