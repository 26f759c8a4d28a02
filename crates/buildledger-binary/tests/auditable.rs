//! cargo-auditable: build a tiny Rust program with `cargo auditable build`
//! (one runtime dependency, one build dependency) and check that what we read
//! from its `.dep-v0` section matches the program's own Cargo.lock.

mod common;

use buildledger_binary::{BinaryKind, inspect};
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

/// (name, version) pairs from a Cargo.lock.
fn lock_packages(lock: &str) -> BTreeSet<(String, String)> {
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

#[test]
fn cargo_auditable_binary_lists_its_dependencies() {
    let has_tool = Command::new("cargo")
        .args(["auditable", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !require(
        has_tool,
        "cargo-auditable (cargo install --locked cargo-auditable)",
    ) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("auditable-fixture");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bl-audit-probe\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[workspace]\n\n\
         [dependencies]\nitoa = \"=1.0.11\"\n\n[build-dependencies]\nautocfg = \"=1.4.0\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("src/main.rs"),
        "fn main() { let mut b = itoa::Buffer::new(); println!(\"{}\", b.format(42)); }\n",
    )
    .unwrap();
    fs::write(
        dir.join("build.rs"),
        "fn main() { let _ = autocfg::new(); }\n",
    )
    .unwrap();
    let out = Command::new("cargo")
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .args(["auditable", "build", "--quiet"])
        .output()
        .expect("run cargo auditable build");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // crates.io may be unreachable on a developer machine.
        if !ci() && (err.contains("failed to download") || err.contains("failed to query")) {
            eprintln!("SKIP: crates.io not reachable: {err}");
            return;
        }
        panic!("cargo auditable build failed:\n{err}");
    }
    let lock = fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    let want = lock_packages(&lock);
    let bin = fs::read(dir.join("target/debug/bl-audit-probe")).unwrap();
    let facts = inspect(&bin).expect("inspect auditable binary");
    assert_eq!(facts.kind, BinaryKind::Elf);
    assert!(facts.go.is_none());
    let rust = facts.rust.expect(".dep-v0 data");
    let got: BTreeSet<(String, String)> = rust
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, want, "packages in .dep-v0 vs Cargo.lock");
    let itoa = rust.packages.iter().find(|p| p.name == "itoa").unwrap();
    assert_eq!(itoa.version, "1.0.11");
    assert_eq!(itoa.source, "crates.io");
    assert_eq!(itoa.kind, "runtime");
    assert!(!itoa.root);
    let autocfg = rust.packages.iter().find(|p| p.name == "autocfg").unwrap();
    assert_eq!(autocfg.kind, "build");
    let root = rust
        .packages
        .iter()
        .find(|p| p.root)
        .expect("a root package");
    assert_eq!(
        (root.name.as_str(), root.version.as_str()),
        ("bl-audit-probe", "0.3.1")
    );
    assert_eq!(root.source, "local");
}
