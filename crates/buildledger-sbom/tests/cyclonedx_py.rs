//! Differential tests against the CycloneDX Python tool (`cyclonedx-py`):
//! the same environment written as CycloneDX 1.4, 1.5 and 1.6 must read to the
//! same components; older spec versions must be refused clearly.

mod common;

use std::process::Command;

use buildledger_sbom::{SbomError, detect_and_parse, parse_cyclonedx};
use common::*;

fn cyclonedx_py(args: &[&str], spec: &str) -> Vec<u8> {
    let out = run(Command::new("cyclonedx-py").args(args).args([
        "--spec-version",
        spec,
        "--output-format",
        "JSON",
        "--output-file",
        "-",
    ]));
    out.into_bytes()
}

/// The interpreter whose installed distributions are described: Debian's
/// system Python (a small, real environment) when present, else `python3`.
fn interpreter() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// `cyclonedx-py environment` output for spec versions 1.2–1.6, made once per
/// test binary, the five runs in parallel (each takes several seconds).
fn environment(spec: &str) -> Vec<u8> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static CACHE: OnceLock<HashMap<&'static str, Vec<u8>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = ["1.2", "1.3", "1.4", "1.5", "1.6"]
                .into_iter()
                .map(|v| s.spawn(move || (v, cyclonedx_py(&["environment", interpreter()], v))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("cyclonedx-py run"))
                .collect()
        })
    });
    cache.get(spec).expect("spec version generated").clone()
}

fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut last_sep = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(ch.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

#[test]
fn environment_1_4_1_5_1_6_read_the_same() {
    if !require_tool("cyclonedx-py", &["--version"]) {
        return;
    }
    let mut readings = Vec::new();
    for spec in ["1.4", "1.5", "1.6"] {
        let bytes = environment(spec);
        let loc = format!("cyclonedx-py-environment-{spec}.json");
        let sbom = detect_and_parse(&bytes, &loc).expect("parse cyclonedx-py output");
        assert_eq!(sbom.spec_version, spec);
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            value["specVersion"], spec,
            "the tool wrote the version we asked for"
        );
        let ours = multiset(sbom.components.iter().filter_map(|c| c.purl.clone()));
        assert!(!ours.is_empty());
        assert_eq!(
            ours,
            multiset(cdx_purls_by_value(&value)),
            "{spec}: purls vs Value walk"
        );
        readings.push((spec, sbom));
    }
    let (_, first) = &readings[0];
    for (spec, s) in &readings[1..] {
        assert_eq!(
            s.components, first.components,
            "CycloneDX {spec} reads differently from 1.4"
        );
    }

    // Oracle: the interpreter's own list of installed distributions
    // (importlib.metadata). Every component cyclonedx-py reports is one of
    // them (a distribution without usable metadata may be skipped by the tool).
    let listing: serde_json::Value = serde_json::from_str(&run(Command::new(interpreter()).args([
        "-c",
        "import importlib.metadata as m, json; print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))",
    ])))
    .unwrap();
    let installed: std::collections::BTreeSet<String> = listing
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some(format!("{}@{}", pep503(p[0].as_str()?), p[1].as_str()?)))
        .collect();
    assert!(
        first.components.len() * 10 >= installed.len() * 9,
        "cyclonedx-py saw too few distributions"
    );
    for c in &first.components {
        let key = format!("{}@{}", pep503(&c.name), c.version.as_deref().unwrap_or(""));
        assert!(
            installed.contains(&key),
            "{key} is not installed according to importlib.metadata"
        );
    }
}

#[test]
fn requirements_unpinned_and_hashed_components() {
    if !require_tool("cyclonedx-py", &["--version"]) {
        return;
    }
    let dir = scratch("cdx-py-req");
    let req = dir.join("requirements.txt");
    std::fs::write(
        &req,
        "requests==2.31.0\nurllib3>=2\nDjango==4.2.11 --hash=sha256:6e6ff3db2d8dd0c986b4eec8554c8e4f919b5c1ff62a5b4390c17aff2ed6e5c4\n",
    )
    .unwrap();
    for spec in ["1.4", "1.5", "1.6"] {
        let bytes = cyclonedx_py(&["requirements", req.to_str().unwrap()], spec);
        let sbom = parse_cyclonedx(&bytes, "requirements").unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let expected = cdx_purls_by_value(&value);
        assert_eq!(expected.len(), 3);
        assert_eq!(
            multiset(sbom.components.iter().filter_map(|c| c.purl.clone())),
            multiset(expected)
        );
        // The unpinned requirement is kept with its version-less purl.
        let urllib3 = sbom
            .components
            .iter()
            .find(|c| c.name == "urllib3")
            .unwrap();
        assert_eq!(urllib3.version, None);
        assert_eq!(urllib3.purl.as_deref(), Some("pkg:pypi/urllib3"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn old_spec_versions_are_refused_with_location_and_path() {
    if !require_tool("cyclonedx-py", &["--version"]) {
        return;
    }
    for spec in ["1.2", "1.3"] {
        let bytes = environment(spec);
        let err = detect_and_parse(&bytes, "old.cdx.json").unwrap_err();
        match &err {
            SbomError::UnsupportedVersion {
                location,
                version,
                path,
                ..
            } => {
                assert_eq!(location, "old.cdx.json");
                assert_eq!(version, spec);
                assert_eq!(path, "specVersion");
            }
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("old.cdx.json") && msg.contains(spec), "{msg}");
    }
}

/// Nested components are flattened: take a real cyclonedx-py document and
/// nest its components into a chain of parents (and under
/// `metadata.component`); the purl multiset must not change.
#[test]
fn nested_components_are_flattened() {
    if !require_tool("cyclonedx-py", &["--version"]) {
        return;
    }
    let bytes = environment("1.6");
    let flat = parse_cyclonedx(&bytes, "flat").unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let comps = value["components"].as_array().unwrap().clone();
    assert!(comps.len() >= 10, "need at least 10 components to nest");
    // Build: first 5 as a chain c0 > c1 > c2 > c3 > c4, next 3 under
    // metadata.component, the rest flat.
    let mut chain = comps[4].clone();
    for c in comps[..4].iter().rev() {
        let mut parent = c.clone();
        parent["components"] = serde_json::json!([chain]);
        chain = parent;
    }
    let mut top = vec![chain];
    top.extend(comps[8..].iter().cloned());
    value["components"] = serde_json::Value::Array(top);
    value["metadata"]["component"] = serde_json::json!({
        "type": "container", "name": "subject", "bom-ref": "subject-x",
        "components": comps[5..8].to_vec()
    });
    let nested_bytes = serde_json::to_vec(&value).unwrap();
    let nested = parse_cyclonedx(&nested_bytes, "nested").unwrap();
    assert_eq!(nested.components.len(), flat.components.len());
    assert_eq!(
        multiset(nested.components.iter().filter_map(|c| c.purl.clone())),
        multiset(cdx_purls_by_value(&value))
    );
    assert_eq!(
        multiset(nested.components.iter().filter_map(|c| c.purl.clone())),
        multiset(flat.components.iter().filter_map(|c| c.purl.clone()))
    );
    // Parents come before their children.
    let names: Vec<&str> = nested.components.iter().map(|c| c.name.as_str()).collect();
    let chain_names: Vec<&str> = comps[..5]
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..5], chain_names.as_slice());
    assert_eq!(nested.subject_name.as_deref(), Some("subject"));
}
