//! cargo-auditable: build a tiny Rust program with `cargo auditable build`
//! (one runtime dependency, one build dependency) and check that what we read
//! from its `.dep-v0` section matches the program's own Cargo.lock.

use buildledger_binary::{BinaryKind, inspect};
use buildledger_testkit::auditable::{build_probe, lock_packages};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

#[test]
fn cargo_auditable_binary_lists_its_dependencies() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("auditable-fixture");
    let _ = fs::remove_dir_all(&dir);
    let Some(bin) = build_probe(&dir, &dir.join("target"), "bl-audit-probe", "0.3.1") else {
        return;
    };
    let lock = fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    let want = lock_packages(&lock);
    let bin = fs::read(bin).unwrap();
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
