//! Differential tests against an independent implementation: Python
//! securesystemslib (DSSE, keys) and in-toto-attestation (Statement v1,
//! SLSA provenance v1 schema). Ours must verify theirs and theirs ours,
//! for Ed25519 and ECDSA P-256; both must agree on the PAE.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use buildledger_provenance::{
    Envelope, KeyAlgorithm, PublicKey, SigningKey, TrustPolicy, Verification, build_statement, pae,
    sign_statement, verify_attestation,
};
use common::*;

const BUILDER: &str = "https://ci.example/builders/release@v1";

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn theirs_verified_by_ours(alg: &str) {
    if !require_python_oracle() {
        return;
    }
    let dir = temp_dir(&format!("theirs-{alg}"));
    let out = run_oracle(&["sign", alg, dir.to_str().unwrap(), BUILDER]);
    assert!(
        out.status.success(),
        "oracle sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("expected.json"))).unwrap();
    let envelope = read(&dir.join("envelope.json"));

    // Policy from a file, key by relative path: exercises TrustPolicy::load.
    let policy_path = dir.join("policy.json");
    std::fs::write(
        &policy_path,
        format!(r#"{{"builders": {{"{BUILDER}": [{{"path": "public.pem"}}]}}}}"#),
    )
    .unwrap();
    let policy = TrustPolicy::load(&policy_path).expect("policy loads");
    let their_pub = PublicKey::from_pem(&String::from_utf8(read(&dir.join("public.pem"))).unwrap())
        .expect("their SPKI PEM parses");
    let want_alg = if alg == "ed25519" {
        KeyAlgorithm::Ed25519
    } else {
        KeyAlgorithm::EcdsaP256
    };
    assert_eq!(their_pub.algorithm(), want_alg);

    let att = verify_attestation(&envelope, &policy).expect("their envelope parses");
    assert_eq!(
        att.verification,
        Verification::Verified {
            builder_id: BUILDER.into(),
            key_id: their_pub.key_id()
        },
        "their {alg} envelope must verify with their key"
    );
    // Their keyid is securesystemslib's own scheme, not ours: it is a hint only.
    let parsed = Envelope::from_json(&envelope).unwrap();
    assert_eq!(
        parsed.signatures[0].keyid.as_deref(),
        expected["sslib_keyid"].as_str()
    );
    assert_ne!(
        parsed.signatures[0].keyid.as_deref(),
        Some(their_pub.key_id().as_str())
    );

    // Statement content as the oracle chose it.
    let subjects: BTreeMap<String, String> = att
        .statement
        .subject
        .iter()
        .map(|s| (s.name.clone(), s.digest["sha256"].clone()))
        .collect();
    let want: BTreeMap<String, String> =
        serde_json::from_value(expected["subjects"].clone()).unwrap();
    assert_eq!(subjects, want);
    let prov = att.provenance.expect("SLSA v1 predicate parsed");
    assert_eq!(prov.builder_id(), BUILDER);
    assert_eq!(prov.source().map(|s| s.1), expected["commit"].as_str());
    let md = prov.run_details.metadata.as_ref().expect("metadata");
    assert_eq!(md.invocation_id.as_deref(), Some("job-42"));
    assert_eq!(
        md.started_on.map(|t| t.to_rfc3339()),
        Some("2025-01-02T03:04:05+00:00".into())
    );

    // The same envelope, but the key is pinned to another builder: not ours to trust.
    let mut other = TrustPolicy::new();
    other.insert("https://ci.example/builders/other@v1", their_pub.clone());
    let att = verify_attestation(&envelope, &other).unwrap();
    assert!(!att.verification.is_verified());

    // Their PKCS#8 private key reads as ours and matches their public key.
    let their_priv =
        SigningKey::from_pem(&String::from_utf8(read(&dir.join("private.pem"))).unwrap())
            .expect("their PKCS#8 private key parses");
    assert_eq!(their_priv.public_key(), their_pub);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ours_verified_by_theirs(alg: KeyAlgorithm) {
    if !require_python_oracle() {
        return;
    }
    let dir = temp_dir(&format!("ours-{alg}"));
    let key = SigningKey::generate(alg);
    let public = key.public_key();
    let commit = random_hex(20);
    let digest = random_hex(32);
    let prov = sample_provenance(BUILDER, &commit);
    let stmt = build_statement(
        &[(
            "registry.example/team/app".into(),
            format!("sha256:{digest}"),
        )],
        &prov,
    );
    let env_json = sign_statement(&key, &stmt);
    std::fs::write(dir.join("envelope.json"), &env_json).unwrap();
    std::fs::write(dir.join("public.pem"), public.to_pem()).unwrap();

    let out = run_oracle(&[
        "verify",
        dir.join("envelope.json").to_str().unwrap(),
        dir.join("public.pem").to_str().unwrap(),
        &public.key_id(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oracle output not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success(),
        "securesystemslib rejected our {alg} envelope: {report}"
    );
    assert_eq!(report["verified"], true);
    assert_eq!(report["statement_valid"], true, "{report}");
    assert_eq!(
        report["predicate_valid"], true,
        "strict SLSA v1 schema: {report}"
    );
    assert_eq!(
        report["subjects"]["registry.example/team/app"]["sha256"],
        digest.as_str()
    );
    assert_eq!(report["builder_id"], BUILDER);
    assert_eq!(report["git_commits"], serde_json::json!([commit]));
    let uris: Vec<&str> = report["resolved_uris"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        uris.contains(&"git+https://git.example/team/app@refs/tags/v1"),
        "{uris:?}"
    );
    assert!(
        uris.contains(&"pkg:golang/golang.org/x/net@v0.25.0"),
        "{uris:?}"
    );
    assert!(
        uris.contains(
            &"pkg:docker/library/alpine@sha256:1e42bbe2508154c9126d48c2b8a75420c3544343bf86fd041fb7527e017a4b4a?repository_url=docker.io"
        ),
        "{uris:?}"
    );
    assert_eq!(
        report["builder_dependency_uris"],
        serde_json::json!(["oci://registry.example/ci/runner"])
    );
    assert_eq!(report["invocation_id"], "https://ci.example/jobs/42");
    assert_eq!(report["started_on"], "2025-03-04T05:06:07Z");

    // And the oracle rejects it once one payload byte changes.
    let mut env = Envelope::from_json(&env_json).unwrap();
    let pos = env
        .payload
        .iter()
        .position(|&b| b == commit.as_bytes()[0])
        .unwrap();
    env.payload[pos] = if env.payload[pos] == b'0' { b'1' } else { b'0' };
    std::fs::write(dir.join("altered.json"), env.to_json()).unwrap();
    let out = run_oracle(&[
        "verify",
        dir.join("altered.json").to_str().unwrap(),
        dir.join("public.pem").to_str().unwrap(),
        &public.key_id(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!out.status.success());
    assert_eq!(report["verified"], false, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ours_verifies_securesystemslib_ed25519() {
    theirs_verified_by_ours("ed25519");
}

#[test]
fn ours_verifies_securesystemslib_ecdsa_p256() {
    theirs_verified_by_ours("ecdsa-p256");
}

#[test]
fn securesystemslib_verifies_ours_ed25519() {
    ours_verified_by_theirs(KeyAlgorithm::Ed25519);
}

#[test]
fn securesystemslib_verifies_ours_ecdsa_p256() {
    ours_verified_by_theirs(KeyAlgorithm::EcdsaP256);
}

#[test]
fn pae_matches_securesystemslib() {
    if !require_python_oracle() {
        return;
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/vnd.in-toto+json", b"{}".to_vec()),
        ("", Vec::new()),
        ("http://example.com/HelloWorld", b"hello world".to_vec()),
        ("t\u{e9}l\u{e9}phone/\u{1F680}", (0u8..=255).collect()),
        ("a b  c", b"DSSEv1 1 x 1 y\n\0".to_vec()),
        ("x", vec![b' '; 1000]),
    ];
    for (ty, body) in cases {
        let out = run_oracle(&["pae", ty, &hex::encode(&body)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            hex::encode(pae(ty, &body)),
            theirs.trim(),
            "PAE of type {ty:?}"
        );
    }
}
