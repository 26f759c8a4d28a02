//! Malformed and hostile input: every case is an error naming the document
//! and, where it applies, the JSON path; none panics.

mod common;

use buildledger_sbom::{
    ExportSubject, MAX_SBOM_SIZE, SbomComponent, SbomError, detect, detect_and_parse,
    parse_cyclonedx, parse_spdx, to_cyclonedx_1_6, to_spdx_2_3,
};
use chrono::TimeZone;
use serde_json::json;

fn sample_components() -> Vec<SbomComponent> {
    (0..4)
        .map(|i| SbomComponent {
            name: format!("lib{i}"),
            version: Some(format!("1.{i}.0")),
            purl: Some(format!("pkg:cargo/lib{i}@1.{i}.0")),
            licenses: vec!["MIT".into()],
            ..Default::default()
        })
        .collect()
}

fn subject() -> ExportSubject {
    ExportSubject {
        name: "app".into(),
        digest: Some(format!("sha256:{}", "ab".repeat(32))),
        tool_version: "0.1.0".into(),
        created: chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    }
}

/// Documents to corrupt: our own exports, plus syft's real output when syft
/// is installed (not required: the exports alone exercise the readers).
fn documents() -> Vec<(String, Vec<u8>)> {
    let mut docs = vec![
        (
            "export.cdx.json".to_string(),
            serde_json::to_vec_pretty(&to_cyclonedx_1_6(&subject(), &sample_components())).unwrap(),
        ),
        (
            "export.spdx.json".to_string(),
            serde_json::to_vec_pretty(&to_spdx_2_3(&subject(), &sample_components())).unwrap(),
        ),
    ];
    if std::process::Command::new("syft")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dir = common::scratch("bad-syft");
        let src = dir.join("src");
        std::fs::create_dir_all(&src).unwrap();
        common::make_project_tree(&src);
        let out = common::run(std::process::Command::new("syft").args([
            "scan",
            &format!("dir:{}", src.display()),
            "-q",
            "-o",
            &format!("cyclonedx-json={}", dir.join("c.json").display()),
            "-o",
            &format!("spdx-json={}", dir.join("s.json").display()),
        ]));
        drop(out);
        docs.push((
            "syft.cdx.json".into(),
            std::fs::read(dir.join("c.json")).unwrap(),
        ));
        docs.push((
            "syft.spdx.json".into(),
            std::fs::read(dir.join("s.json")).unwrap(),
        ));
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("note: syft not installed; corrupting buildledger's own exports only");
    }
    docs
}

#[test]
fn truncated_documents_are_errors_naming_the_file() {
    for (name, bytes) in documents() {
        assert!(
            detect_and_parse(&bytes, &name).is_ok(),
            "{name} must parse whole"
        );
        let step = (bytes.len() / 97).max(1);
        for cut in (0..bytes.len() - 1).step_by(step) {
            let err = detect_and_parse(&bytes[..cut], &name)
                .expect_err("a truncated document must not parse");
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
            assert!(
                matches!(
                    err,
                    SbomError::Json { .. } | SbomError::UnknownFormat { .. }
                ),
                "{name} cut at {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn wrong_types_name_the_json_path() {
    let mut cdx = to_cyclonedx_1_6(&subject(), &sample_components());
    cdx["components"][2]["version"] = json!(5);
    let err = parse_cyclonedx(&serde_json::to_vec(&cdx).unwrap(), "a.cdx.json").unwrap_err();
    match &err {
        SbomError::Json { location, path, .. } => {
            assert_eq!(location, "a.cdx.json");
            assert_eq!(path, "components[2].version");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("components[2].version"), "{err}");

    let mut cdx = to_cyclonedx_1_6(&subject(), &sample_components());
    cdx["components"][1]["licenses"] = json!({"license": "MIT"});
    let err = detect_and_parse(&serde_json::to_vec(&cdx).unwrap(), "b").unwrap_err();
    assert!(
        matches!(&err, SbomError::Json { path, .. } if path == "components[1].licenses"),
        "{err:?}"
    );

    let mut spdx = to_spdx_2_3(&subject(), &sample_components());
    spdx["packages"][3]["externalRefs"][0]["referenceLocator"] = json!(["pkg:cargo/x@1"]);
    let err = parse_spdx(&serde_json::to_vec(&spdx).unwrap(), "c.spdx.json").unwrap_err();
    assert!(
        matches!(&err, SbomError::Json { path, .. } if path == "packages[3].externalRefs[0].referenceLocator"),
        "{err:?}"
    );

    let mut spdx = to_spdx_2_3(&subject(), &sample_components());
    spdx["packages"] = json!({"not": "a list"});
    let err = detect_and_parse(&serde_json::to_vec(&spdx).unwrap(), "d").unwrap_err();
    assert!(
        matches!(&err, SbomError::Json { path, .. } if path == "packages"),
        "{err:?}"
    );
}

#[test]
fn spdx_without_spdx_version() {
    let mut spdx = to_spdx_2_3(&subject(), &sample_components());
    spdx.as_object_mut().unwrap().remove("spdxVersion");
    let bytes = serde_json::to_vec(&spdx).unwrap();
    assert!(matches!(
        detect(&bytes, "e"),
        Err(SbomError::UnknownFormat { .. })
    ));
    let err = detect_and_parse(&bytes, "e.json").unwrap_err();
    assert!(err.to_string().contains("e.json"), "{err}");
    let err = parse_spdx(&bytes, "e.json").unwrap_err();
    assert!(matches!(err, SbomError::NotThisFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("spdxVersion"), "{err}");
}

#[test]
fn unsupported_versions_and_wrong_markers() {
    let mut cdx = to_cyclonedx_1_6(&subject(), &sample_components());
    for v in ["1.2", "1.3", "2.0", "1.60"] {
        cdx["specVersion"] = json!(v);
        let err = detect_and_parse(&serde_json::to_vec(&cdx).unwrap(), "f.json").unwrap_err();
        assert!(
            matches!(&err, SbomError::UnsupportedVersion { version, path, .. } if version == v && path == "specVersion"),
            "{err:?}"
        );
    }
    cdx["specVersion"] = json!(1.6);
    let err = detect_and_parse(&serde_json::to_vec(&cdx).unwrap(), "f").unwrap_err();
    assert!(
        matches!(&err, SbomError::Json { path, .. } if path == "specVersion"),
        "{err:?}"
    );
    cdx["specVersion"] = json!("1.6");
    cdx["bomFormat"] = json!("SPDX");
    assert!(matches!(
        detect_and_parse(&serde_json::to_vec(&cdx).unwrap(), "f").unwrap_err(),
        SbomError::NotThisFormat { .. }
    ));
    // A CycloneDX document handed to the SPDX reader.
    cdx["bomFormat"] = json!("CycloneDX");
    assert!(matches!(
        parse_spdx(&serde_json::to_vec(&cdx).unwrap(), "f").unwrap_err(),
        SbomError::NotThisFormat { .. }
    ));
    let mut spdx = to_spdx_2_3(&subject(), &sample_components());
    spdx["spdxVersion"] = json!("SPDX-3.0");
    assert!(matches!(
        detect_and_parse(&serde_json::to_vec(&spdx).unwrap(), "g").unwrap_err(),
        SbomError::UnsupportedVersion { .. }
    ));
}

#[test]
fn huge_input_is_refused_before_parsing() {
    // calloc'd zero pages: no real memory is touched.
    let big = vec![0u8; MAX_SBOM_SIZE + 1];
    let err = detect_and_parse(&big, "huge.json").unwrap_err();
    assert!(matches!(err, SbomError::TooLarge { size, .. } if size == MAX_SBOM_SIZE + 1));
    assert!(err.to_string().contains("huge.json"));
    assert!(matches!(
        parse_cyclonedx(&big, "h").unwrap_err(),
        SbomError::TooLarge { .. }
    ));
    assert!(matches!(
        parse_spdx(&big, "h").unwrap_err(),
        SbomError::TooLarge { .. }
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        detect_and_parse(deep.as_bytes(), "deep").unwrap_err(),
        SbomError::Json { .. }
    ));
    // Components nested 300 deep.
    let mut comp = json!({"type": "library", "name": "leaf"});
    for i in 0..300 {
        comp = json!({"type": "library", "name": format!("n{i}"), "components": [comp]});
    }
    let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [comp]});
    // serde_json's own writer refuses nothing, but its reader stops at depth 128.
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert!(matches!(
        detect_and_parse(&bytes, "deep").unwrap_err(),
        SbomError::Json { .. }
    ));
    // 40 deep is fine and flattened.
    let mut comp = json!({"type": "library", "name": "leaf", "purl": "pkg:generic/leaf@1"});
    for i in 0..40 {
        comp = json!({"type": "library", "name": format!("n{i}"), "components": [comp]});
    }
    let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [comp]});
    let sbom = detect_and_parse(&serde_json::to_vec(&doc).unwrap(), "ok").unwrap();
    assert_eq!(sbom.components.len(), 41);
    assert_eq!(
        sbom.components[40].purl.as_deref(),
        Some("pkg:generic/leaf@1")
    );
    assert!(
        sbom.warnings
            .iter()
            .any(|w| w.contains("40 of 41 components have no package URL"))
    );
}

#[test]
fn odd_top_levels() {
    for (bytes, what) in [
        (&b""[..], "empty"),
        (b"null", "null"),
        (b"[]", "array"),
        (b"42", "number"),
        (b"{}", "empty object"),
        (b"\xff\xfe{", "not utf-8"),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\"} trailing",
            "trailing data",
        ),
    ] {
        let err = detect_and_parse(bytes, what).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("{what}: ")),
            "{what}: {err}"
        );
    }
}
