//! Replays hand-made corrupt inputs through the same entry point and checks as
//! the fuzz target `fuzz/fuzz_targets/sbom_parse.rs`, on stable Rust.

use buildledger_sbom::{
    ExportSubject, detect_and_parse, parse_cyclonedx, parse_spdx, to_cyclonedx_1_6, to_spdx_2_3,
};

/// The fuzz target's body.
fn check(data: &[u8]) -> bool {
    let Ok(sbom) = detect_and_parse(data, "fuzz-input") else {
        return false;
    };
    let subject = ExportSubject {
        name: sbom.subject_name.clone().unwrap_or_default(),
        digest: sbom.subject_digest.clone(),
        tool_version: "fuzz".to_string(),
        created: chrono::DateTime::UNIX_EPOCH,
    };
    let cdx = to_cyclonedx_1_6(&subject, &sbom.components);
    let back = parse_cyclonedx(&serde_json::to_vec(&cdx).unwrap(), "fuzz-cdx")
        .expect("own CycloneDX export parses");
    assert_eq!(back.components.len(), sbom.components.len());
    for (a, b) in back.components.iter().zip(&sbom.components) {
        assert_eq!(a.purl, b.purl);
        assert_eq!(a.name, b.name);
    }
    let spdx = to_spdx_2_3(&subject, &sbom.components);
    let back = parse_spdx(&serde_json::to_vec(&spdx).unwrap(), "fuzz-spdx")
        .expect("own SPDX export parses");
    assert_eq!(back.components.len(), sbom.components.len());
    for (a, b) in back.components.iter().zip(&sbom.components) {
        assert_eq!(a.purl, b.purl);
    }
    true
}

#[test]
fn corrupt_inputs_replay() {
    let cases: &[(&[u8], bool)] = &[
        (b"", false),
        (b"{", false),
        (b"{\"bomFormat\":", false),
        (b"{\"bomFormat\":\"CycloneDX\"}", false),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":null}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{}]}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"name\":\"x\",\"purl\":\"pkg:\"}]}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"name\":\"x\",\"purl\":\"\\u0000\"}]}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.4\",\"components\":[{\"name\":\"x\",\"hashes\":[{\"alg\":\"a:b\",\"content\":\"\"}],\"licenses\":[{}]}]}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"metadata\":{\"component\":{\"name\":\"s\",\"version\":\"sha256:zz\",\"purl\":\"pkg:oci/x@sha256%3A\"}}}", true),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"name\":1}]}", false),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":{}}", false),
        (b"{\"bomFormat\":7,\"specVersion\":\"1.6\"}", false),
        (b"{\"spdxVersion\":\"SPDX-2.3\"}", true),
        (b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{}],\"relationships\":[{}]}", true),
        (b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"SPDXID\":\"a\",\"name\":\"n\"}],\"documentDescribes\":[\"a\",\"a\",\"b\"]}", true),
        (b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"SPDXID\":\"a\"},{\"SPDXID\":\"a\"}],\"relationships\":[{\"spdxElementId\":\"SPDXRef-DOCUMENT\",\"relationshipType\":\"DESCRIBES\",\"relatedSpdxElement\":\"a\"}]}", true),
        (b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"externalRefs\":[{\"referenceType\":\"purl\"},{\"referenceType\":\"PURL\",\"referenceLocator\":\"x y\"}],\"licenseDeclared\":\"LicenseRef-a\"}],\"hasExtractedLicensingInfos\":[{\"licenseId\":\"LicenseRef-a\",\"name\":\"\"}]}", true),
        (b"{\"spdxVersion\":2.3}", false),
        (b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"checksums\":[{\"algorithm\":null}]}]}", true),
        (b"\"bomFormat\"", false),
        (b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}\x00", false),
    ];
    for (i, (input, parses)) in cases.iter().enumerate() {
        assert_eq!(
            check(input),
            *parses,
            "case {i}: {}",
            String::from_utf8_lossy(input)
        );
    }
}
