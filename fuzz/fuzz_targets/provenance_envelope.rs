//! Fuzz buildledger-provenance's untrusted-input entry points: DSSE envelope
//! parsing, statement parsing and attestation verification. None may panic,
//! and an arbitrary input must never verify against a freshly generated key.
//!
//! The same entry sequence is replayed on stable by
//! `crates/buildledger-provenance/tests/fuzz_replay.rs`.
#![no_main]

use std::sync::OnceLock;

use buildledger_provenance::{
    Envelope, KeyAlgorithm, SigningKey, Statement, TrustPolicy, verify_attestation,
};
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static TrustPolicy {
    static POLICY: OnceLock<TrustPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let mut p = TrustPolicy::new();
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            p.insert("https://ci.example/builders/release@v1", SigningKey::generate(alg).public_key());
        }
        p
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::from_json(data) {
        let _ = env.pae();
        let again = Envelope::from_json(&env.to_json()).expect("our own output parses");
        assert_eq!(again, env);
    }
    let _ = Statement::from_json(data);
    if let Ok(att) = verify_attestation(data, policy()) {
        assert!(!att.verification.is_verified(), "random input verified");
    }
});
