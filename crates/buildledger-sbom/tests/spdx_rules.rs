//! SPDX reading rules (purl categories, several purls, DESCRIBES forms,
//! dependency scopes) on variants of a real syft SPDX document.

mod common;

use std::process::Command;

use buildledger_sbom::parse_spdx;
use common::*;
use serde_json::{Value, json};

fn syft_spdx() -> Option<Value> {
    if !require_tool("syft", &["version"]) {
        return None;
    }
    let dir = scratch("spdx-rules");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    make_project_tree(&src);
    let out = dir.join("s.json");
    run(Command::new("syft").args([
        "scan",
        &format!("dir:{}", src.display()),
        "-q",
        "-o",
        &format!("spdx-json={}", out.display()),
    ]));
    let v = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(v)
}

fn purl_ref_index(pkg: &Value) -> Option<usize> {
    pkg["externalRefs"]
        .as_array()?
        .iter()
        .position(|r| r["referenceType"] == "purl")
}

#[test]
fn spdx_reading_rules_on_syft_output() {
    let Some(doc) = syft_spdx() else { return };
    let base = parse_spdx(&serde_json::to_vec(&doc).unwrap(), "syft.spdx.json").unwrap();
    assert!(base.warnings.is_empty(), "{:?}", base.warnings);
    let (pi, ri) = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find_map(|(i, p)| Some((i, purl_ref_index(p)?)))
        .expect("a package with a purl");
    let name = doc["packages"][pi]["name"].as_str().unwrap().to_string();
    let purl = doc["packages"][pi]["externalRefs"][ri]["referenceLocator"]
        .as_str()
        .unwrap()
        .to_string();
    let id = doc["packages"][pi]["SPDXID"].as_str().unwrap().to_string();
    let comp = |s: &buildledger_sbom::Sbom| {
        s.components
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .clone()
    };

    // PACKAGE_MANAGER (the SPDX 2.2 spelling) is accepted silently.
    let mut v = doc.clone();
    v["packages"][pi]["externalRefs"][ri]["referenceCategory"] = json!("PACKAGE_MANAGER");
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "a").unwrap();
    assert_eq!(comp(&s).purl.as_deref(), Some(purl.as_str()));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // Another category: still the purl, with a warning.
    v["packages"][pi]["externalRefs"][ri]["referenceCategory"] = json!("OTHER");
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "b").unwrap();
    assert_eq!(comp(&s).purl.as_deref(), Some(purl.as_str()));
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);

    // A second purl ref: the first is kept, the second named in a warning.
    let mut v = doc.clone();
    v["packages"][pi]["externalRefs"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": "pkg:generic/second@9"
        }));
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "c").unwrap();
    assert_eq!(comp(&s).purl.as_deref(), Some(purl.as_str()));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("pkg:generic/second@9")),
        "{:?}",
        s.warnings
    );

    // No purl ref at all: kept, counted.
    let mut v = doc.clone();
    v["packages"][pi]["externalRefs"]
        .as_array_mut()
        .unwrap()
        .remove(ri);
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "d").unwrap();
    assert_eq!(s.components.len(), base.components.len());
    assert_eq!(comp(&s).purl, None);
    assert!(
        s.warnings.iter().any(|w| w.contains("1 of")),
        "{:?}",
        s.warnings
    );

    // Dependency relationships give scopes; runtime wins over build.
    let mut v = doc.clone();
    let root = s.subject_name.clone();
    assert!(root.is_some());
    v["relationships"].as_array_mut().unwrap().push(json!({
        "spdxElementId": id, "relationshipType": "BUILD_DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-DOCUMENT"
    }));
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "e").unwrap();
    assert_eq!(comp(&s).scope.as_deref(), Some("build"));
    v["relationships"].as_array_mut().unwrap().push(json!({
        "spdxElementId": id, "relationshipType": "RUNTIME_DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-DOCUMENT"
    }));
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "f").unwrap();
    assert_eq!(comp(&s).scope.as_deref(), Some("runtime"));

    // SPDX 2.2-style documentDescribes instead of a DESCRIBES relationship.
    let mut v = doc.clone();
    let rels: Vec<Value> = v["relationships"].as_array().unwrap().clone();
    let (keep, describes): (Vec<Value>, Vec<Value>) = rels
        .into_iter()
        .partition(|r| r["relationshipType"] != "DESCRIBES");
    assert_eq!(describes.len(), 1, "syft describes one root");
    v["relationships"] = Value::Array(keep);
    v["documentDescribes"] = json!([describes[0]["relatedSpdxElement"]]);
    v["spdxVersion"] = json!("SPDX-2.2");
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "g").unwrap();
    assert_eq!(s.subject_name, base.subject_name);
    assert_eq!(s.components, base.components);
    assert_eq!(s.spec_version, "SPDX-2.2");

    // Two described packages: no subject, both kept, warned.
    let mut v = doc.clone();
    v["relationships"].as_array_mut().unwrap().push(json!({
        "spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": id
    }));
    let s = parse_spdx(&serde_json::to_vec(&v).unwrap(), "h").unwrap();
    assert_eq!(s.subject_name, None);
    assert_eq!(s.components.len(), base.components.len() + 1);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("describes 2 packages"))
    );
}
