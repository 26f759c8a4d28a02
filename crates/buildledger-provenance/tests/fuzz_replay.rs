//! Replays hand-made corrupt inputs through the entry points of the fuzz
//! target `fuzz/fuzz_targets/provenance_envelope.rs`, on stable: no panic,
//! our own output re-parses, nothing unsigned verifies. Also flips every
//! byte of a real signed envelope: a mutant may only verify if it still
//! carries the same payload type and payload (the signature covers nothing
//! else).

mod common;

use buildledger_provenance::{
    Envelope, KeyAlgorithm, SigningKey, Statement, TrustPolicy, build_statement, sign_statement,
    verify_attestation,
};
use common::*;

const BUILDER: &str = "https://ci.example/builders/release@v1";

fn policy_with(key: &SigningKey) -> TrustPolicy {
    let mut p = TrustPolicy::new();
    p.insert(BUILDER, key.public_key());
    p
}

/// The fuzz target's body; returns whether the input verified.
fn entry(data: &[u8], policy: &TrustPolicy) -> bool {
    if let Ok(env) = Envelope::from_json(data) {
        let _ = env.pae();
        let again = Envelope::from_json(&env.to_json()).expect("our own output parses");
        assert_eq!(again, env);
    }
    let _ = Statement::from_json(data);
    matches!(verify_attestation(data, policy), Ok(att) if att.verification.is_verified())
}

#[test]
fn hand_made_corrupt_inputs() {
    let policy = policy_with(&SigningKey::generate(KeyAlgorithm::Ed25519));
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(50_000);
    let mut cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        b"\xff\xfe\x00".to_vec(),
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        br#"{"payload":1,"payloadType":"t","signatures":[]}"#.to_vec(),
        br#"{"payload":"","payloadType":null,"signatures":[]}"#.to_vec(),
        br#"{"payload":"","payloadType":"t","signatures":{}}"#.to_vec(),
        br#"{"payload":"","payloadType":"t","signatures":[null]}"#.to_vec(),
        br#"{"payload":"","payloadType":"t","signatures":[{"sig":"A"}]}"#.to_vec(),
        br#"{"payload":"====","payloadType":"t","signatures":[]}"#.to_vec(),
        br#"{"payload":"","payloadType":"application/vnd.in-toto+json","signatures":[]}"#.to_vec(),
        // payload "{}" / "null" / "[]" / a statement with a huge number
        br#"{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":""}]}"#.to_vec(),
        br#"{"payload":"bnVsbA==","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":""}]}"#.to_vec(),
        br#"{"payload":"W10=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":""}]}"#.to_vec(),
        br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":1e999}}],"predicateType":"x"}"#.to_vec(),
        br#"{"payload":"","payloadType":"t","signatures":[{"sig":"","keyid":"\ud800"}]}"#.to_vec(),
    ];
    // A statement whose SLSA predicate has every field of the wrong type.
    let stmt = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": "00"}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": 5, "runDetails": {"builder": {"id": []}}},
    });
    let signer = SigningKey::generate(KeyAlgorithm::EcdsaP256);
    cases.push(
        signer
            .sign_envelope("application/vnd.in-toto+json", stmt.to_string().as_bytes())
            .to_json(),
    );
    let bad_time = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": "00"}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "b"}, "runDetails": {"builder": {"id": BUILDER},
            "metadata": {"startedOn": "yesterday"}}},
    });
    cases.push(
        signer
            .sign_envelope(
                "application/vnd.in-toto+json",
                bad_time.to_string().as_bytes(),
            )
            .to_json(),
    );
    for (i, case) in cases.iter().enumerate() {
        assert!(!entry(case, &policy), "case {i} verified");
    }
    // The mis-typed predicates give errors, not panics and not Unverified.
    assert!(verify_attestation(&cases[cases.len() - 1], &policy).is_err());
    assert!(verify_attestation(&cases[cases.len() - 2], &policy).is_err());
}

#[test]
fn every_single_byte_flip_of_a_signed_envelope() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let key = SigningKey::generate(alg);
        let policy = policy_with(&key);
        let prov = buildledger_provenance::SlsaProvenance::new("b", BUILDER);
        let stmt = build_statement(&[("i".into(), random_hex(32))], &prov);
        let good = sign_statement(&key, &stmt);
        let original = Envelope::from_json(&good).unwrap();
        assert!(entry(&good, &policy));
        let mut verified_mutants = 0;
        for i in 0..good.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut m = good.clone();
                m[i] ^= flip;
                if entry(&m, &policy) {
                    let env = Envelope::from_json(&m).unwrap();
                    assert_eq!(
                        (env.payload_type, env.payload),
                        (original.payload_type.clone(), original.payload.clone()),
                        "mutant at byte {i} ^ {flip:#x} verified with other content"
                    );
                    verified_mutants += 1;
                }
            }
        }
        // Flips inside the keyid hint keep the signature valid; that is fine.
        eprintln!("{alg}: {verified_mutants} mutants verified (keyid hint edits)");
    }
}
