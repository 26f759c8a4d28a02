//! Shared helpers for buildledger-sbom's integration tests: finding oracle
//! tools, running them, scratch directories and independent JSON readers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// True when running under CI (`CI=true`), where missing tools are failures.
pub fn in_ci() -> bool {
    buildledger_testkit::ci::in_ci()
}

/// Skips (returns false, printing why) or, under `CI=true`, panics.
pub fn missing(what: &str) -> bool {
    buildledger_testkit::ci::skip_or_fail(what)
}

/// Is `name` runnable (found on PATH and `name <probe>` exits 0)?
pub fn require_tool(name: &str, probe: &[&str]) -> bool {
    let ok = Command::new(name)
        .args(probe)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .is_ok_and(|o| o.status.success());
    ok || missing(&format!(
        "tool `{name}` (install: see the crate's test notes)"
    ))
}

/// Can python3 import `module`?
pub fn require_python_module(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    ok || missing(&format!("python module `{module}`"))
}

pub fn require_path(p: &str) -> bool {
    Path::new(p).exists() || missing(&format!("path {p}"))
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "buildledger-sbom-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs a command, panicking with its stderr if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Multiset of strings.
pub fn multiset<I: IntoIterator<Item = String>>(it: I) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in it {
        *m.entry(s).or_insert(0) += 1;
    }
    m
}

/// Independent reading of a CycloneDX document: every `purl` of every
/// component, nested ones included, by walking `serde_json::Value`.
pub fn cdx_purls_by_value(v: &serde_json::Value) -> Vec<String> {
    fn walk(comps: &serde_json::Value, out: &mut Vec<String>) {
        for c in comps.as_array().into_iter().flatten() {
            if let Some(p) = c.get("purl").and_then(|p| p.as_str()) {
                out.push(p.to_string());
            }
            if let Some(children) = c.get("components") {
                walk(children, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&v["components"], &mut out);
    if let Some(children) = v["metadata"]["component"].get("components") {
        walk(children, &mut out);
    }
    out
}

/// Validates a CycloneDX JSON document with cyclonedx-python-lib's strict
/// JSON-schema validator. Returns the validator's message on failure.
pub fn validate_cyclonedx(doc: &serde_json::Value, spec: &str) -> Result<(), String> {
    let dir = scratch(&format!("cdx-validate-{}", rand_suffix()));
    let file = dir.join("bom.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let script = format!(
        "import sys\n\
         from cyclonedx.validation.json import JsonStrictValidator\n\
         from cyclonedx.schema import SchemaVersion\n\
         err = JsonStrictValidator(SchemaVersion.from_version('{spec}')).validate_str(open(sys.argv[1]).read())\n\
         print(err if err is not None else 'OK')\n\
         sys.exit(1 if err is not None else 0)\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script, file.to_str().unwrap()])
        .output()
        .expect("run python3");
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Validates an SPDX JSON document with `pyspdxtools -i`.
pub fn validate_spdx(doc: &serde_json::Value) -> Result<(), String> {
    let dir = scratch(&format!("spdx-validate-{}", rand_suffix()));
    let file = dir.join("doc.spdx.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let out = Command::new("pyspdxtools")
        .args(["-i", file.to_str().unwrap()])
        .output()
        .expect("run pyspdxtools");
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Makes a small project tree with lock files of several ecosystems for syft.
pub fn make_project_tree(dir: &Path) {
    std::fs::write(
        dir.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire (\n\tgithub.com/google/uuid v1.6.0\n\tgolang.org/x/text v0.14.0\n)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("go.sum"),
        "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n\
         github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n\
         golang.org/x/text v0.14.0 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=\n\
         golang.org/x/text v0.14.0/go.mod h1:18ZOQIKpY8NJVqYksKHtTdi31H5itFRjB5/qKTNYzSU=\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"itoa\",\n \"serde\",\n]\n\n\
         [[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
         checksum = \"49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b\"\n\n\
         [[package]]\nname = \"serde\"\nversion = \"1.0.200\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
         checksum = \"ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("package-lock.json"),
        r#"{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "name": "web", "version": "1.0.0", "dependencies": { "left-pad": "^1.3.0", "@types/node": "20.11.0" } },
    "node_modules/left-pad": { "version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQYbMEWAZSa9MVkLqU2rYpwT8K0lnDiGgUzJ2Fbh8FVz3A9w==" },
    "node_modules/@types/node": { "version": "20.11.0", "resolved": "https://registry.npmjs.org/@types/node/-/node-20.11.0.tgz", "integrity": "sha512-o9bjXmDNcF7GbM4CNQpmi+TutCgap/K3w1JyKgxAjqx41zp9qlIAVFi0IhCNsJcXolEqLWhbFbEeL0PvYm4pcQ==" }
  }
}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        "requests==2.31.0\nurllib3==2.2.1\nDjango==4.2.11\n",
    )
    .unwrap();
}
