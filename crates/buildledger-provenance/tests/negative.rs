//! Hostile and wrong inputs: every one gives an error or `Unverified` with
//! a reason, never `Verified`, never a panic. Plus the DSSE PAE known answer.

mod common;

use buildledger_provenance::{
    Envelope, IN_TOTO_PAYLOAD_TYPE, KeyAlgorithm, MAX_ENVELOPE_SIZE, ProvenanceError, PublicKey,
    STATEMENT_TYPE, SigningKey, Statement, TrustPolicy, Verification, build_statement, pae,
    sign_statement, verify_attestation,
};
use common::*;

const BUILDER: &str = "https://ci.example/builders/release@v1";
const OTHER: &str = "https://ci.example/builders/nightly@v1";
const ALGS: [KeyAlgorithm; 2] = [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256];

struct Fixture {
    key: SigningKey,
    policy: TrustPolicy,
    statement: Statement,
    envelope: Vec<u8>,
}

fn fixture(alg: KeyAlgorithm) -> Fixture {
    let key = SigningKey::generate(alg);
    let mut policy = TrustPolicy::new();
    policy.insert(BUILDER, key.public_key());
    // An unrelated key for another builder, so the policy is not trivial.
    policy.insert(
        OTHER,
        SigningKey::generate(KeyAlgorithm::Ed25519).public_key(),
    );
    let prov = sample_provenance(BUILDER, &random_hex(20));
    let statement = build_statement(&[("registry.example/app".into(), random_hex(32))], &prov);
    let envelope = sign_statement(&key, &statement);
    Fixture {
        key,
        policy,
        statement,
        envelope,
    }
}

fn reason(v: &Verification) -> &str {
    match v {
        Verification::Unverified { reason } => reason,
        Verification::Verified { .. } => panic!("expected Unverified, got {v:?}"),
    }
}

/// Rewrite the envelope JSON through a closure on its JSON value.
fn edit_json(envelope: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(envelope).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn pae_known_answer_from_dsse_spec() {
    // protocol.md: PAE("http://example.com/HelloWorld", "hello world").
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    // Lengths count bytes, not characters.
    assert_eq!(pae("\u{e9}", b""), "DSSEv1 2 \u{e9} 0 ".as_bytes().to_vec());
}

#[test]
fn valid_envelope_verifies_for_both_algorithms() {
    for alg in ALGS {
        let fx = fixture(alg);
        let att = verify_attestation(&fx.envelope, &fx.policy).unwrap();
        assert_eq!(
            att.verification,
            Verification::Verified {
                builder_id: BUILDER.into(),
                key_id: fx.key.public_key().key_id()
            }
        );
        assert_eq!(att.statement, fx.statement);
    }
}

#[test]
fn one_altered_payload_byte_is_unverified() {
    for alg in ALGS {
        let fx = fixture(alg);
        let mut env = Envelope::from_json(&fx.envelope).unwrap();
        // Change one hex digit of the subject digest: still a valid statement.
        let digest = fx.statement.subject[0].digest["sha256"].clone();
        let at = env
            .payload
            .windows(64)
            .position(|w| w == digest.as_bytes())
            .unwrap();
        env.payload[at] = if env.payload[at] == b'a' { b'b' } else { b'a' };
        let att = verify_attestation(&env.to_json(), &fx.policy).unwrap();
        assert!(
            reason(&att.verification).contains("none of the 1 signature"),
            "{att:?}"
        );
    }
}

#[test]
fn untrusted_key_is_unverified() {
    for alg in ALGS {
        let fx = fixture(alg);
        let stranger = SigningKey::generate(alg);
        let env = sign_statement(&stranger, &fx.statement);
        let att = verify_attestation(&env, &fx.policy).unwrap();
        assert!(reason(&att.verification).contains(BUILDER));
    }
}

#[test]
fn key_trusted_for_another_builder_is_unverified() {
    for alg in ALGS {
        let fx = fixture(alg);
        let mut policy = TrustPolicy::new();
        policy.insert(OTHER, fx.key.public_key());
        let att = verify_attestation(&fx.envelope, &policy).unwrap();
        let r = reason(&att.verification);
        assert!(
            r.contains(OTHER) && r.contains("trusted for builder"),
            "{r}"
        );
        // A policy that does not know the builder at all.
        let att = verify_attestation(&fx.envelope, &TrustPolicy::new()).unwrap();
        assert!(reason(&att.verification).contains("no keys for builder"));
    }
}

#[test]
fn wrong_payload_type_is_an_error() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    // Properly signed, but over another payload type.
    let env = fx
        .key
        .sign_envelope("application/json", &fx.statement.to_json())
        .to_json();
    match verify_attestation(&env, &fx.policy) {
        Err(ProvenanceError::PayloadType { found, .. }) => assert_eq!(found, "application/json"),
        other => panic!("expected PayloadType error, got {other:?}"),
    }
}

#[test]
fn truncated_base64_is_rejected() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    let payload = edit_json(&fx.envelope, |v| {
        let s = v["payload"]
            .as_str()
            .unwrap()
            .trim_end_matches('=')
            .to_owned();
        // Keep a length of 4n+1 characters: never valid base64.
        let keep = (s.len() - 1) / 4 * 4 + 1;
        v["payload"] = s[..keep].into();
    });
    match verify_attestation(&payload, &fx.policy) {
        Err(ProvenanceError::Base64 { field, .. }) => assert_eq!(field, "payload"),
        other => panic!("expected Base64 error, got {other:?}"),
    }
    // Any truncation of the signature is an error or unverified.
    let sig = Envelope::from_json(&fx.envelope).unwrap().signatures[0]
        .sig
        .clone();
    let b64 = base64_of(&sig);
    assert!(
        b64.ends_with("=="),
        "a 64-byte signature has two padding characters"
    );
    for cut in 1..b64.len() {
        let env = edit_json(&fx.envelope, |v| {
            v["signatures"][0]["sig"] = b64[..cut].into()
        });
        if let Ok(att) = verify_attestation(&env, &fx.policy) {
            // Dropping all the padding leaves the same bytes, which DSSE allows.
            let same_bytes = &b64[..cut] == b64.trim_end_matches('=');
            assert_eq!(
                att.verification.is_verified(),
                same_bytes,
                "sig truncated to {cut} chars"
            );
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    let env = Envelope {
        payload_type: String::new(),
        payload: bytes.to_vec(),
        signatures: vec![],
    };
    let v: serde_json::Value = serde_json::from_slice(&env.to_json()).unwrap();
    v["payload"].as_str().unwrap().to_owned()
}

#[test]
fn invalid_base64_is_rejected() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    for bad in [
        "!!!!",
        "ab=c",
        "a===",
        "Zm9vYg=",
        "Zm9vYmE==",
        "Zm9v+_8=",
        "Zm9v\n",
        "Zm9vYh==",
    ] {
        let env = edit_json(&fx.envelope, |v| v["signatures"][0]["sig"] = bad.into());
        match verify_attestation(&env, &fx.policy) {
            Err(ProvenanceError::Base64 { field, .. }) => assert_eq!(field, "signatures[0].sig"),
            other => panic!("{bad:?}: expected Base64 error, got {other:?}"),
        }
    }
}

#[test]
fn url_safe_and_unpadded_base64_are_accepted() {
    // DSSE allows standard or URL-safe base64.
    let fx = fixture(KeyAlgorithm::Ed25519);
    let env = edit_json(&fx.envelope, |v| {
        let p = v["payload"]
            .as_str()
            .unwrap()
            .replace('+', "-")
            .replace('/', "_");
        v["payload"] = p.trim_end_matches('=').into();
    });
    let att = verify_attestation(&env, &fx.policy).unwrap();
    assert!(att.verification.is_verified());
}

#[test]
fn oversized_envelope_is_refused() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    let mut big = fx.envelope.clone();
    big.pop(); // drop the closing brace, pad with an ignored field
    big.extend_from_slice(b",\"pad\":\"");
    big.resize(MAX_ENVELOPE_SIZE, b'x');
    big.extend_from_slice(b"\"}");
    assert!(big.len() > MAX_ENVELOPE_SIZE);
    match verify_attestation(&big, &fx.policy) {
        Err(ProvenanceError::TooLarge { size, limit, .. }) => {
            assert_eq!((size, limit), (big.len(), MAX_ENVELOPE_SIZE))
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // At exactly the limit it is read (and the unknown field ignored).
    let mut fits = fx.envelope.clone();
    fits.pop();
    fits.extend_from_slice(b",\"pad\":\"");
    fits.resize(MAX_ENVELOPE_SIZE - 2, b'x');
    fits.extend_from_slice(b"\"}");
    assert!(
        verify_attestation(&fits, &fx.policy)
            .unwrap()
            .verification
            .is_verified()
    );
}

#[test]
fn zero_signatures_is_unverified() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    let env = edit_json(&fx.envelope, |v| v["signatures"] = serde_json::json!([]));
    let att = verify_attestation(&env, &fx.policy).unwrap();
    assert!(reason(&att.verification).contains("no signatures"));
}

#[test]
fn ecdsa_raw_r_s_signature_is_rejected() {
    // Decision: ECDSA signatures must be ASN.1 DER (securesystemslib and
    // sigstore write DER). The same signature as raw r||s does not verify.
    let fx = fixture(KeyAlgorithm::EcdsaP256);
    let env = Envelope::from_json(&fx.envelope).unwrap();
    let der = p256::ecdsa::Signature::from_der(&env.signatures[0].sig).expect("we write DER");
    let raw = der.to_bytes().to_vec();
    assert_eq!(raw.len(), 64);
    let mut raw_env = env.clone();
    raw_env.signatures[0].sig = raw.clone();
    let att = verify_attestation(&raw_env.to_json(), &fx.policy).unwrap();
    assert!(!att.verification.is_verified());
    assert!(!fx.key.public_key().verify(&env.pae(), &raw));
    assert!(
        fx.key
            .public_key()
            .verify(&env.pae(), &env.signatures[0].sig)
    );
}

#[test]
fn wrong_statement_type_is_an_error() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    for ty in [
        "https://in-toto.io/Statement/v0.1",
        "",
        "https://in-toto.io/Statement/v1/",
    ] {
        let mut v: serde_json::Value = serde_json::from_slice(&fx.statement.to_json()).unwrap();
        assert_eq!(v["_type"], STATEMENT_TYPE);
        v["_type"] = ty.into();
        let env = fx
            .key
            .sign_envelope(IN_TOTO_PAYLOAD_TYPE, &serde_json::to_vec(&v).unwrap());
        match verify_attestation(&env.to_json(), &fx.policy) {
            Err(ProvenanceError::Statement(m)) => assert!(m.contains("_type"), "{m}"),
            other => panic!("expected Statement error, got {other:?}"),
        }
    }
}

#[test]
fn statement_without_subjects_or_digests_is_an_error() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    for edit in [
        serde_json::json!([]),
        serde_json::json!([{"name": "x", "digest": {}}]),
    ] {
        let mut v: serde_json::Value = serde_json::from_slice(&fx.statement.to_json()).unwrap();
        v["subject"] = edit;
        let env = fx
            .key
            .sign_envelope(IN_TOTO_PAYLOAD_TYPE, &serde_json::to_vec(&v).unwrap());
        assert!(matches!(
            verify_attestation(&env.to_json(), &fx.policy),
            Err(ProvenanceError::Statement(_))
        ));
    }
}

#[test]
fn non_slsa_predicate_is_unverified_and_malformed_slsa_is_an_error() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    let mut v: serde_json::Value = serde_json::from_slice(&fx.statement.to_json()).unwrap();
    v["predicateType"] = "https://slsa.dev/provenance/v0.2".into();
    let env = fx
        .key
        .sign_envelope(IN_TOTO_PAYLOAD_TYPE, &serde_json::to_vec(&v).unwrap());
    let att = verify_attestation(&env.to_json(), &fx.policy).unwrap();
    assert!(att.provenance.is_none());
    assert!(reason(&att.verification).contains("v0.2"));

    let mut v: serde_json::Value = serde_json::from_slice(&fx.statement.to_json()).unwrap();
    v["predicate"]["runDetails"]["builder"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    let env = fx
        .key
        .sign_envelope(IN_TOTO_PAYLOAD_TYPE, &serde_json::to_vec(&v).unwrap());
    match verify_attestation(&env.to_json(), &fx.policy) {
        Err(ProvenanceError::Provenance(m)) => assert!(m.contains("id"), "{m}"),
        other => panic!("expected Provenance error, got {other:?}"),
    }
}

#[test]
fn keyid_is_only_a_hint() {
    let fx = fixture(KeyAlgorithm::EcdsaP256);
    for keyid in [
        serde_json::json!("not-the-key"),
        serde_json::json!(""),
        serde_json::Value::Null,
    ] {
        let env = edit_json(&fx.envelope, |v| {
            if keyid.is_null() {
                v["signatures"][0].as_object_mut().unwrap().remove("keyid");
            } else {
                v["signatures"][0]["keyid"] = keyid.clone();
            }
        });
        assert!(
            verify_attestation(&env, &fx.policy)
                .unwrap()
                .verification
                .is_verified()
        );
    }
}

#[test]
fn a_bad_signature_beside_a_good_one_still_verifies() {
    let fx = fixture(KeyAlgorithm::Ed25519);
    let mut env = Envelope::from_json(&fx.envelope).unwrap();
    let good = env.signatures[0].clone();
    let stranger = SigningKey::generate(KeyAlgorithm::EcdsaP256);
    let bad = stranger
        .sign_envelope(&env.payload_type, &env.payload)
        .signatures[0]
        .clone();
    env.signatures = vec![bad, good];
    assert!(
        verify_attestation(&env.to_json(), &fx.policy)
            .unwrap()
            .verification
            .is_verified()
    );
}

#[test]
fn envelope_parsing_rules() {
    // Unknown fields ignored; keyid optional; empty keyid reads as None.
    let env = Envelope::from_json(
        br#"{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"AA=="},{"keyid":"","sig":""}],"x":1}"#,
    )
    .unwrap();
    assert_eq!(env.payload, b"hi");
    assert_eq!(env.signatures[0].keyid, None);
    assert_eq!(env.signatures[1].keyid, None);
    assert_eq!(Envelope::from_json(&env.to_json()).unwrap(), env);
    // Required fields.
    for bad in [
        &br#"{"payloadType":"t","signatures":[]}"#[..],
        br#"{"payload":"","signatures":[]}"#,
        br#"{"payload":"","payloadType":"t"}"#,
        br#"{"payload":"","payloadType":"t","signatures":[{"keyid":"k"}]}"#,
        br#"{"payload":"","payload":"","payloadType":"t","signatures":[]}"#,
    ] {
        assert!(
            matches!(Envelope::from_json(bad), Err(ProvenanceError::Envelope(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Too many signatures.
    let sigs = vec![serde_json::json!({"sig": "AA=="}); buildledger_provenance::MAX_SIGNATURES + 1];
    let many = serde_json::to_vec(
        &serde_json::json!({"payload": "", "payloadType": "t", "signatures": sigs}),
    )
    .unwrap();
    assert!(Envelope::from_json(&many).is_err());
}

#[test]
fn key_pem_round_trip_and_garbage() {
    for alg in ALGS {
        let k = SigningKey::generate(alg);
        let again = SigningKey::from_pem(&k.to_pkcs8_pem()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
        assert_eq!(again.algorithm(), alg);
        let p = PublicKey::from_pem(&k.public_key().to_pem()).unwrap();
        assert_eq!(p.key_id(), k.public_key().key_id());
        assert_eq!(p.key_id().len(), 64);
        // A private key is not a public key and vice versa.
        assert!(PublicKey::from_pem(&k.to_pkcs8_pem()).is_err());
        assert!(SigningKey::from_pem(&p.to_pem()).is_err());
        // Debug never shows the secret.
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(k.to_pkcs8_pem().lines().nth(1).unwrap()));
    }
    for bad in [
        "",
        "garbage",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ] {
        assert!(matches!(
            PublicKey::from_pem(bad),
            Err(ProvenanceError::Key { .. })
        ));
        assert!(matches!(
            SigningKey::from_pem(bad),
            Err(ProvenanceError::Key { .. })
        ));
    }
    // PKCS#8 v2 (with the public key) as other Ed25519 tools write it reads too.
    {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let k = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let v2 = k
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        let ours = SigningKey::from_pem(&v2).unwrap();
        assert_eq!(
            ours.public_key().spki_der()[12..],
            k.verifying_key().to_bytes()
        );
    }
    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
    let e = SigningKey::from_pem(sec1).unwrap_err().to_string();
    assert!(e.contains("SEC1"), "{e}");
    let huge = "A".repeat(buildledger_provenance::MAX_KEY_PEM_SIZE + 1);
    assert!(PublicKey::from_pem(&huge).is_err());
}

#[test]
fn policy_file_rules() {
    let dir = temp_dir("policy");
    let k1 = SigningKey::generate(KeyAlgorithm::Ed25519).public_key();
    let k2 = SigningKey::generate(KeyAlgorithm::EcdsaP256).public_key();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join("keys/k2.pub"), k2.to_pem()).unwrap();
    let text = serde_json::json!({"builders": {
        BUILDER: [{"pem": k1.to_pem()}, {"path": "keys/k2.pub"}],
        OTHER: [{"path": "keys/k2.pub"}],
    }})
    .to_string();
    let p = TrustPolicy::from_str(&text, &dir).unwrap();
    assert_eq!(p.keys_for(BUILDER), &[k1.clone(), k2.clone()]);
    assert_eq!(p.keys_for(OTHER), std::slice::from_ref(&k2));
    assert!(
        p.keys_for("https://ci.example/builders/release@v1/")
            .is_empty()
    );
    assert_eq!(
        p.builders_for_key(&k2.key_id()),
        vec![OTHER, BUILDER], // sorted: "…/nightly@v1" < "…/release@v1"
    );
    assert_eq!(p.builders_for_key(&k1.key_id()), vec![BUILDER]);

    let bad_cases = [
        format!(r#"{{"builders": {{"{BUILDER}": []}}}}"#),
        format!(
            r#"{{"builders": {{"{BUILDER}": [{{"path": "keys/k2.pub"}}], "{BUILDER}": [{{"path": "keys/k2.pub"}}]}}}}"#
        ),
        format!(r#"{{"builders": {{"{BUILDER}": [{{"path": "keys/k2.pub", "pem": "x"}}]}}}}"#),
        format!(r#"{{"builders": {{"{BUILDER}": [{{"pth": "keys/k2.pub"}}]}}}}"#),
        r#"{"builder": {}}"#.to_owned(),
        "{}".to_owned(),
        r#"{"vex_authors": {"Sec": []}}"#.to_owned(),
        r#"{"vex_authors": {"": [{"path": "keys/k2.pub"}]}}"#.to_owned(),
        "not json".to_owned(),
    ];
    for bad in &bad_cases {
        assert!(
            matches!(
                TrustPolicy::from_str(bad, &dir),
                Err(ProvenanceError::Policy { .. })
            ),
            "{bad}"
        );
    }
    // VEX authors alone are a policy.
    let vex = TrustPolicy::from_str(
        r#"{"vex_authors": {"Sec": [{"path": "keys/k2.pub"}]}}"#,
        &dir,
    )
    .unwrap();
    assert_eq!(vex.keys_for_author("Sec").len(), 1);
    assert!(vex.keys_for(BUILDER).is_empty());
    let missing = format!(r#"{{"builders": {{"{BUILDER}": [{{"path": "keys/nope.pub"}}]}}}}"#);
    let e = TrustPolicy::from_str(&missing, &dir)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.pub"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn provenance_keeps_unknown_fields_and_reads_kinds() {
    let commit = random_hex(20);
    let prov = sample_provenance(BUILDER, &commit);
    let mut v = prov.to_value();
    v["buildDefinition"]["resolvedDependencies"][0]["futureField"] = serde_json::json!({"a": 1});
    v["runDetails"]["builder"]["futureField"] = "x".into();
    v["futureTop"] = serde_json::json!([1, 2]);
    let back = buildledger_provenance::SlsaProvenance::from_value(&v).unwrap();
    assert_eq!(back.to_value(), v);
    assert_eq!(
        back.source(),
        Some((
            "git+https://git.example/team/app@refs/tags/v1",
            commit.as_str()
        ))
    );
    let kinds = |k| {
        back.dependencies_of_kind(k)
            .map(|d| d.uri.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(buildledger_provenance::KIND_TOOLCHAIN),
        vec!["pkg:generic/go@1.22.3"]
    );
    assert_eq!(kinds(buildledger_provenance::KIND_COMPONENT).len(), 2);
    assert_eq!(kinds(buildledger_provenance::KIND_BASE_IMAGE).len(), 1);
}
