//! Fuzz buildledger-sbom's readers: any bytes must give an `Sbom` or an
//! error, never a panic; whatever parses must export to both formats and
//! read back to the same components (CycloneDX) / the same purls (SPDX).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sbom) = buildledger_sbom::detect_and_parse(data, "fuzz-input") else {
        return;
    };
    let subject = buildledger_sbom::ExportSubject {
        name: sbom.subject_name.clone().unwrap_or_default(),
        digest: sbom.subject_digest.clone(),
        tool_version: "fuzz".to_string(),
        created: chrono::DateTime::UNIX_EPOCH,
    };
    let cdx = buildledger_sbom::to_cyclonedx_1_6(&subject, &sbom.components);
    let bytes = serde_json::to_vec(&cdx).expect("serialise export");
    let back = buildledger_sbom::parse_cyclonedx(&bytes, "fuzz-cdx").expect("own CycloneDX export parses");
    assert_eq!(back.components.len(), sbom.components.len());
    for (a, b) in back.components.iter().zip(&sbom.components) {
        assert_eq!(a.purl, b.purl);
        assert_eq!(a.name, b.name);
    }
    let spdx = buildledger_sbom::to_spdx_2_3(&subject, &sbom.components);
    let bytes = serde_json::to_vec(&spdx).expect("serialise export");
    let back = buildledger_sbom::parse_spdx(&bytes, "fuzz-spdx").expect("own SPDX export parses");
    assert_eq!(back.components.len(), sbom.components.len());
    for (a, b) in back.components.iter().zip(&sbom.components) {
        assert_eq!(a.purl, b.purl);
    }
});
