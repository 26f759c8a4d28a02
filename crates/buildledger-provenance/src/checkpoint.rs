//! Signed checkpoints of the ledger's audit log.
//!
//! The audit log's hash chain proves that entries were not edited in place,
//! but someone who can write the database can cut entries off its end, or
//! rebuild the chain whole. A checkpoint is the operator's anchor outside the
//! database: the number of entries and the hash of the last one, signed as a
//! DSSE envelope (payload type [`CHECKPOINT_PAYLOAD_TYPE`]) with a key the
//! operator keeps. Verifying a ledger against a checkpoint checks the
//! signature with the operator's *pinned* public key (never a key named in
//! the envelope), then that entry `entries` of the log still has hash `head`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Envelope, ProvenanceError, PublicKey, SigningKey};

/// DSSE payload type of a checkpoint.
pub const CHECKPOINT_PAYLOAD_TYPE: &str = "application/vnd.buildledger.audit-checkpoint.v1+json";

/// The audit log as it was when the checkpoint was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Entries in the log (the id of the last one).
    pub entries: u64,
    /// Hash of the last entry (hex SHA-256).
    pub head: String,
    /// When it was signed.
    pub at: DateTime<Utc>,
    /// Which ledger (its path or redacted URL), for people; not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// Sign `cp`: the DSSE envelope as JSON.
pub fn sign_checkpoint(key: &SigningKey, cp: &Checkpoint) -> Vec<u8> {
    let payload = serde_json::to_vec(cp).unwrap_or_default();
    key.sign_envelope(CHECKPOINT_PAYLOAD_TYPE, &payload)
        .to_json()
}

/// Read a checkpoint envelope and check that `key` signed it. Any other
/// signer, payload type or shape is an error.
pub fn verify_checkpoint(
    envelope_json: &[u8],
    key: &PublicKey,
) -> Result<Checkpoint, ProvenanceError> {
    let env = Envelope::from_json(envelope_json)?;
    if env.payload_type != CHECKPOINT_PAYLOAD_TYPE {
        return Err(ProvenanceError::PayloadType {
            found: env.payload_type,
            expected: CHECKPOINT_PAYLOAD_TYPE,
        });
    }
    let pae = env.pae();
    if !env.signatures.iter().any(|s| key.verify(&pae, &s.sig)) {
        return Err(ProvenanceError::Envelope(format!(
            "no signature by key {} (the checkpoint key given)",
            key.key_id()
        )));
    }
    let cp: Checkpoint = serde_json::from_slice(&env.payload)
        .map_err(|e| ProvenanceError::Envelope(format!("checkpoint payload: {e}")))?;
    let hex_ok = cp.head.len() == 64 && cp.head.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_ok || cp.entries == 0 {
        return Err(ProvenanceError::Envelope(
            "checkpoint payload: head must be 64 hex digits and entries at least 1".into(),
        ));
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyAlgorithm;

    fn cp() -> Checkpoint {
        Checkpoint {
            entries: 7,
            head: "ab".repeat(32),
            at: Utc::now(),
            ledger: Some("/tmp/l.db".into()),
        }
    }

    #[test]
    fn round_trip_and_wrong_key() {
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let k = SigningKey::generate(alg);
            let env = sign_checkpoint(&k, &cp());
            assert_eq!(
                verify_checkpoint(&env, &k.public_key()).unwrap(),
                cp_with(&env)
            );
            let other = SigningKey::generate(alg);
            let e = verify_checkpoint(&env, &other.public_key()).unwrap_err();
            assert!(e.to_string().contains("no signature by key"), "{e}");
        }
    }

    fn cp_with(env: &[u8]) -> Checkpoint {
        let e = Envelope::from_json(env).unwrap();
        serde_json::from_slice(&e.payload).unwrap()
    }

    #[test]
    fn payload_edits_and_other_types_fail() {
        let k = SigningKey::generate(KeyAlgorithm::Ed25519);
        let env = Envelope::from_json(&sign_checkpoint(&k, &cp())).unwrap();
        let mut edited = env.clone();
        edited.payload = serde_json::to_vec(&Checkpoint {
            entries: 3,
            ..cp_with(&env.to_json())
        })
        .unwrap();
        assert!(verify_checkpoint(&edited.to_json(), &k.public_key()).is_err());
        let other = k.sign_envelope("application/vnd.in-toto+json", &env.payload);
        let e = verify_checkpoint(&other.to_json(), &k.public_key()).unwrap_err();
        assert!(matches!(e, ProvenanceError::PayloadType { .. }), "{e}");
        let bad = k.sign_envelope(
            CHECKPOINT_PAYLOAD_TYPE,
            br#"{"entries":1,"head":"x","at":"2026-01-01T00:00:00Z"}"#,
        );
        assert!(verify_checkpoint(&bad.to_json(), &k.public_key()).is_err());
    }
}
