//! Export → validate with the official tools → parse back.
//!
//! Oracles: cyclonedx-python-lib's strict JSON-schema validator for
//! CycloneDX 1.6, and `pyspdxtools -i` (spdx-tools) for SPDX 2.3.

mod common;

use std::process::Command;

use buildledger_sbom::{
    ExportSubject, Format, SbomComponent, parse_cyclonedx, parse_spdx, to_cyclonedx_1_6,
    to_spdx_2_3,
};
use chrono::TimeZone;
use common::*;
use sha2::Digest;

fn validators_present() -> bool {
    require_python_module("cyclonedx.validation.json")
        & require_python_module("jsonschema")
        & require_tool("pyspdxtools", &["--help"])
}

fn subject(digest_of: &[u8]) -> ExportSubject {
    ExportSubject {
        name: "registry.example/team/app:1.4".to_string(),
        digest: Some(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(digest_of))
        )),
        tool_version: "0.1.0".to_string(),
        created: chrono::Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap(),
    }
}

fn hashes_of(data: &[u8]) -> Vec<(String, String)> {
    vec![
        (
            "sha256".to_string(),
            hex::encode(sha2::Sha256::digest(data)),
        ),
        (
            "sha512".to_string(),
            hex::encode(sha2::Sha512::digest(data)),
        ),
        (
            "sha384".to_string(),
            hex::encode(sha2::Sha384::digest(data)),
        ),
    ]
}

/// Components that both formats can hold exactly.
fn portable_components() -> Vec<SbomComponent> {
    vec![
        SbomComponent {
            name: "serde".into(),
            version: Some("1.0.200".into()),
            purl: Some("pkg:cargo/serde@1.0.200".into()),
            hashes: hashes_of(b"serde-1.0.200.crate"),
            scope: Some("runtime".into()),
            kind: Some("library".into()),
            licenses: vec!["MIT OR Apache-2.0".into()],
            location: Some("/usr/local/bin/app".into()),
            aliases: vec![],
        },
        SbomComponent {
            name: "@types/node".into(),
            version: Some("20.11.0".into()),
            purl: Some("pkg:npm/%40types/node@20.11.0".into()),
            hashes: vec![],
            scope: Some("build".into()),
            kind: Some("library".into()),
            licenses: vec!["MIT".into()],
            location: None,
            aliases: vec![],
        },
        SbomComponent {
            name: "debian".into(),
            version: Some("12".into()),
            purl: Some("pkg:generic/debian@12".into()),
            hashes: vec![],
            scope: None,
            kind: Some("operating-system".into()),
            licenses: vec!["Some Custom Licence, v2 (see COPYING)".into()],
            location: Some("/etc/os-release".into()),
            aliases: vec![],
        },
        SbomComponent {
            name: "python3-requests".into(),
            version: Some("2.28.1+dfsg-1".into()),
            purl: Some(
                "pkg:deb/debian/python3-requests@2.28.1%2Bdfsg-1?arch=all&distro=debian-12".into(),
            ),
            hashes: vec![],
            scope: Some("runtime".into()),
            kind: Some("library".into()),
            licenses: vec![],
            location: Some("/var/lib/dpkg/status".into()),
            aliases: vec!["pkg:pypi/requests@2.28.1".into()],
        },
        SbomComponent {
            name: "no-purl-thing".into(),
            version: Some("0.0.1".into()),
            purl: None,
            hashes: vec![(
                "sha1".into(),
                hex::encode(sha2::Sha256::digest(b"x"))[..40].to_string(),
            )],
            scope: Some("optional".into()),
            kind: Some("application".into()),
            licenses: vec![],
            location: None,
            aliases: vec![],
        },
    ]
}

/// Components with things only CycloneDX (via buildledger properties) keeps.
fn cyclonedx_only_components() -> Vec<SbomComponent> {
    vec![
        SbomComponent {
            name: "odd".into(),
            version: None,
            // Invalid purl: must be kept as is.
            purl: Some("pkg:/missing-type@1".into()),
            hashes: vec![
                ("sha256".into(), hex::encode(sha2::Sha256::digest(b"odd"))),
                ("crc32".into(), "deadbeef".into()),
                ("sha256".into(), "not-hex".into()),
            ],
            scope: Some("required".into()),
            kind: Some("widget".into()),
            licenses: vec![
                "MIT".into(),
                "GPL-2.0-only OR MIT".into(),
                "Free as in beer".into(),
            ],
            location: None,
            aliases: vec![],
        },
        SbomComponent {
            name: "excluded-thing".into(),
            version: Some("2".into()),
            purl: Some("pkg:pypi/excluded-thing@2".into()),
            hashes: vec![],
            scope: Some("excluded".into()),
            kind: None,
            licenses: vec!["LicenseRef-vendor".into()],
            location: None,
            aliases: vec![],
        },
    ]
}

#[test]
fn cyclonedx_export_validates_and_round_trips() {
    if !validators_present() {
        return;
    }
    let subj = subject(b"manifest");
    let mut comps = portable_components();
    comps.extend(cyclonedx_only_components());
    let doc = to_cyclonedx_1_6(&subj, &comps);
    validate_cyclonedx(&doc, "1.6")
        .unwrap_or_else(|e| panic!("export is not valid CycloneDX 1.6: {e}"));

    let bytes = serde_json::to_vec(&doc).unwrap();
    let back = parse_cyclonedx(&bytes, "export.cdx.json").unwrap();
    assert_eq!(back.format, Format::CycloneDx);
    assert_eq!(back.spec_version, "1.6");
    assert_eq!(back.subject_name.as_deref(), Some(subj.name.as_str()));
    assert_eq!(back.subject_digest, subj.digest);
    // kind None is written as the schema's required type and reads back as library.
    let mut expected = comps.clone();
    expected
        .iter_mut()
        .find(|c| c.name == "excluded-thing")
        .unwrap()
        .kind = Some("library".into());
    assert_eq!(back.components, expected);
    // The invalid purl is kept and named in a warning; the purl-less one counted.
    assert!(
        back.warnings
            .iter()
            .any(|w| w.contains("pkg:/missing-type@1")),
        "{:?}",
        back.warnings
    );
    assert!(
        back.warnings
            .iter()
            .any(|w| w.contains("1 of 7 components have no package URL"))
    );
}

#[test]
fn spdx_export_validates_and_round_trips() {
    if !validators_present() {
        return;
    }
    let subj = subject(b"manifest-2");
    let comps = portable_components();
    let doc = to_spdx_2_3(&subj, &comps);
    validate_spdx(&doc).unwrap_or_else(|e| panic!("export is not valid SPDX 2.3: {e}"));
    let back = parse_spdx(&serde_json::to_vec(&doc).unwrap(), "export.spdx.json").unwrap();
    assert_eq!(back.format, Format::Spdx);
    assert_eq!(back.spec_version, "SPDX-2.3");
    assert_eq!(back.subject_name.as_deref(), Some(subj.name.as_str()));
    assert_eq!(back.subject_digest, subj.digest);
    assert_eq!(back.components, comps);
}

#[test]
fn spdx_export_of_non_portable_values_still_validates() {
    if !validators_present() {
        return;
    }
    let subj = subject(b"m3");
    let comps = cyclonedx_only_components();
    let doc = to_spdx_2_3(&subj, &comps);
    validate_spdx(&doc).unwrap_or_else(|e| panic!("export is not valid SPDX 2.3: {e}"));
    let back = parse_spdx(&serde_json::to_vec(&doc).unwrap(), "x").unwrap();
    // Identity and purls (the invalid one too) survive; licences are joined
    // into one expression.
    for (a, b) in back.components.iter().zip(&comps) {
        assert_eq!(
            (&a.name, &a.version, &a.purl),
            (&b.name, &b.version, &b.purl)
        );
    }
    assert_eq!(back.components[0].licenses.len(), 1);
    assert!(back.components[0].licenses[0].contains(" AND "));
    assert_eq!(
        back.components[1].licenses,
        vec!["LicenseRef-vendor".to_string()]
    );
    assert!(
        back.warnings
            .iter()
            .any(|w| w.contains("pkg:/missing-type@1")),
        "{:?}",
        back.warnings
    );
}

/// Real components (syft's reading of Debian's Python packages) survive both
/// exports, and the exports validate.
#[test]
fn syft_components_round_trip_through_both_exports() {
    let src = "/usr/lib/python3/dist-packages";
    if !validators_present() || !require_tool("syft", &["version"]) || !require_path(src) {
        return;
    }
    let dir = scratch("rt-syft");
    let cdx_file = dir.join("cdx.json");
    run(Command::new("syft").args([
        "scan",
        &format!("dir:{src}"),
        "-q",
        "-o",
        &format!("cyclonedx-json={}", cdx_file.display()),
    ]));
    let original = parse_cyclonedx(&std::fs::read(&cdx_file).unwrap(), "syft").unwrap();
    assert!(original.components.len() > 5);
    let subj = subject(b"syft");

    let cdx = to_cyclonedx_1_6(&subj, &original.components);
    validate_cyclonedx(&cdx, "1.6").unwrap_or_else(|e| panic!("{e}"));
    let back = parse_cyclonedx(&serde_json::to_vec(&cdx).unwrap(), "rt").unwrap();
    assert_eq!(back.components, original.components);

    let spdx = to_spdx_2_3(&subj, &original.components);
    validate_spdx(&spdx).unwrap_or_else(|e| panic!("{e}"));
    let back = parse_spdx(&serde_json::to_vec(&spdx).unwrap(), "rt").unwrap();
    // syft gives at most one licence per package here, so SPDX holds them exactly.
    assert!(original.components.iter().all(|c| c.licenses.len() <= 1));
    assert_eq!(back.components, original.components);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The validators are real oracles: they reject broken variants of our exports.
#[test]
fn validators_reject_broken_exports() {
    if !validators_present() {
        return;
    }
    let subj = subject(b"neg");
    let comps = portable_components();
    let mut cdx = to_cyclonedx_1_6(&subj, &comps);
    cdx["components"][0]["hashes"][0]["content"] = serde_json::json!("xyz");
    assert!(validate_cyclonedx(&cdx, "1.6").is_err());
    let mut spdx = to_spdx_2_3(&subj, &comps);
    spdx["packages"][1]["SPDXID"] = serde_json::json!("not an id");
    assert!(validate_spdx(&spdx).is_err());
}

#[test]
fn exports_are_deterministic_and_distinct() {
    let s1 = subject(b"a");
    let s2 = subject(b"b");
    let comps = portable_components();
    assert_eq!(to_cyclonedx_1_6(&s1, &comps), to_cyclonedx_1_6(&s1, &comps));
    assert_eq!(to_spdx_2_3(&s1, &comps), to_spdx_2_3(&s1, &comps));
    assert_ne!(
        to_cyclonedx_1_6(&s1, &comps)["serialNumber"],
        to_cyclonedx_1_6(&s2, &comps)["serialNumber"]
    );
    assert_ne!(
        to_spdx_2_3(&s1, &comps)["documentNamespace"],
        to_spdx_2_3(&s1, &comps[1..])["documentNamespace"]
    );
}
