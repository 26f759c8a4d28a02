//! Differential tests against syft: the CycloneDX and SPDX documents syft
//! writes for the same source must read to the same package URLs, and those
//! must equal the purls in syft's own native JSON (read independently here
//! through `serde_json::Value`).

mod common;

use std::path::Path;
use std::process::Command;

use buildledger_sbom::{Format, detect_and_parse, parse_cyclonedx, parse_spdx};
use common::*;

struct SyftOutputs {
    cdx: Vec<u8>,
    spdx: Vec<u8>,
    native: serde_json::Value,
}

fn syft_scan(source: &str, out_dir: &Path) -> SyftOutputs {
    let cdx = out_dir.join("cdx.json");
    let spdx = out_dir.join("spdx.json");
    let native = out_dir.join("syft.json");
    run(Command::new("syft").args([
        "scan",
        source,
        "-q",
        "-o",
        &format!("cyclonedx-json={}", cdx.display()),
        "-o",
        &format!("spdx-json={}", spdx.display()),
        "-o",
        &format!("json={}", native.display()),
    ]));
    SyftOutputs {
        cdx: std::fs::read(&cdx).unwrap(),
        spdx: std::fs::read(&spdx).unwrap(),
        native: serde_json::from_slice(&std::fs::read(&native).unwrap()).unwrap(),
    }
}

/// purls of syft's native `artifacts`, read without this crate.
fn native_purls(native: &serde_json::Value) -> Vec<String> {
    native["artifacts"]
        .as_array()
        .expect("syft json has artifacts")
        .iter()
        .filter_map(|a| a["purl"].as_str())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_three_way(out: &SyftOutputs, what: &str) {
    let cdx = parse_cyclonedx(&out.cdx, &format!("{what}/cdx.json")).expect("parse syft CycloneDX");
    let spdx = parse_spdx(&out.spdx, &format!("{what}/spdx.json")).expect("parse syft SPDX");
    assert_eq!(cdx.format, Format::CycloneDx);
    assert_eq!(spdx.format, Format::Spdx);
    assert_eq!(spdx.spec_version, "SPDX-2.3");

    let native = multiset(native_purls(&out.native));
    assert!(
        !native.is_empty(),
        "{what}: syft found no packages; the test would prove nothing"
    );
    let cdx_purls = multiset(cdx.components.iter().filter_map(|c| c.purl.clone()));
    let spdx_purls = multiset(spdx.components.iter().filter_map(|c| c.purl.clone()));
    assert_eq!(
        cdx_purls, native,
        "{what}: CycloneDX purls differ from syft's native JSON"
    );
    assert_eq!(
        spdx_purls, native,
        "{what}: SPDX purls differ from syft's native JSON"
    );

    // The CycloneDX purls also equal an independent walk of the document.
    let by_value: serde_json::Value = serde_json::from_slice(&out.cdx).unwrap();
    assert_eq!(cdx_purls, multiset(cdx_purls_by_value(&by_value)));

    // Name/version pairs agree between the two formats and with syft's native output.
    let nv = |s: &buildledger_sbom::Sbom| {
        multiset(
            s.components
                .iter()
                .map(|c| format!("{}@{}", c.name, c.version.as_deref().unwrap_or(""))),
        )
    };
    let native_nv = multiset(out.native["artifacts"].as_array().unwrap().iter().map(|a| {
        format!(
            "{}@{}",
            a["name"].as_str().unwrap(),
            a["version"].as_str().unwrap_or("")
        )
    }));
    assert_eq!(nv(&cdx), native_nv, "{what}: CycloneDX name@version");
    assert_eq!(nv(&spdx), native_nv, "{what}: SPDX name@version");

    // Locations: the CycloneDX reading gives syft's first location path.
    let native_locs = multiset(
        out.native["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| {
                a["locations"][0]["path"]
                    .as_str()
                    .map(|p| format!("{}@{p}", a["name"].as_str().unwrap()))
            }),
    );
    let cdx_locs = multiset(
        cdx.components
            .iter()
            .filter_map(|c| c.location.as_ref().map(|l| format!("{}@{l}", c.name))),
    );
    assert_eq!(cdx_locs, native_locs, "{what}: CycloneDX locations");

    // syft's SPDX root package is the subject, not a component.
    assert!(spdx.subject_name.is_some(), "{what}: SPDX subject");
    assert_eq!(cdx.subject_name, spdx.subject_name);

    // detect_and_parse picks the same readings.
    assert_eq!(detect_and_parse(&out.cdx, "cdx").unwrap(), cdx);
    assert_eq!(detect_and_parse(&out.spdx, "spdx").unwrap(), spdx);
}

#[test]
fn syft_project_tree_cdx_spdx_native_agree() {
    if !require_tool("syft", &["version"]) {
        return;
    }
    let dir = scratch("syft-tree");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    make_project_tree(&src);
    let out = syft_scan(&format!("dir:{}", src.display()), &dir);
    check_three_way(&out, "project-tree");
    // Every ecosystem in the tree shows up.
    let cdx = parse_cyclonedx(&out.cdx, "tree").unwrap();
    for ty in ["pkg:golang/", "pkg:cargo/", "pkg:npm/", "pkg:pypi/"] {
        assert!(
            cdx.components
                .iter()
                .any(|c| c.purl.as_deref().is_some_and(|p| p.starts_with(ty))),
            "no {ty} component"
        );
    }
    // The npm scoped name keeps its percent-encoding exactly as syft wrote it.
    assert!(
        cdx.components
            .iter()
            .any(|c| c.purl.as_deref() == Some("pkg:npm/%40types/node@20.11.0"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syft_python_dist_packages_cdx_spdx_native_agree() {
    let src = "/usr/lib/python3/dist-packages";
    if !require_tool("syft", &["version"]) || !require_path(src) {
        return;
    }
    let dir = scratch("syft-dist");
    let out = syft_scan(&format!("dir:{src}"), &dir);
    check_three_way(&out, src);
    let _ = std::fs::remove_dir_all(&dir);
}
