//! Verifying an attestation against a [`TrustPolicy`].

use crate::statement::{IN_TOTO_PAYLOAD_TYPE, SLSA_PROVENANCE_V1, SlsaProvenance, Statement};
use crate::{Envelope, ProvenanceError, TrustPolicy};

/// The outcome of signature checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// A key pinned to `builder_id` in the policy signed the envelope.
    Verified {
        /// `runDetails.builder.id` of the provenance.
        builder_id: String,
        /// [`crate::PublicKey::key_id`] of the key that verified.
        key_id: String,
    },
    /// The envelope is well formed but not signed by a key trusted for its
    /// builder; `reason` says why, for people.
    Unverified {
        /// Why, in one sentence.
        reason: String,
    },
}

impl Verification {
    /// Whether this is [`Verification::Verified`].
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified { .. })
    }
}

/// A parsed statement with its verification outcome.
///
/// The statement is returned even when [`Verification::Unverified`]:
/// callers must not treat its claims as true then.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestation {
    /// The in-toto statement from the payload.
    pub statement: Statement,
    /// Its predicate as SLSA provenance v1, if that is its type.
    pub provenance: Option<SlsaProvenance>,
    /// Whether a trusted key for the provenance's builder signed it.
    pub verification: Verification,
}

/// Parse a DSSE envelope carrying an in-toto statement and verify it.
///
/// Errors (the input is not an attestation we can read): envelope
/// malformed or over [`crate::MAX_ENVELOPE_SIZE`], bad base64, `payloadType`
/// other than `application/vnd.in-toto+json`, statement malformed or of a
/// `_type` other than in-toto Statement v1, predicate typed SLSA v1 but not
/// shaped like it.
///
/// Otherwise the result is [`Verification::Verified`] only if some
/// signature verifies, over the DSSE PAE, with a key the policy pins to the
/// provenance's own `runDetails.builder.id`. `keyid` hints are ignored:
/// every trusted key of that builder is tried against every signature.
/// Everything else is [`Verification::Unverified`] with a reason: no
/// signatures, a predicate that is not SLSA provenance v1, a builder the
/// policy does not know, a key trusted only for other builders, a bad
/// signature.
pub fn verify_attestation(
    envelope_json: &[u8],
    policy: &TrustPolicy,
) -> Result<VerifiedAttestation, ProvenanceError> {
    let envelope = Envelope::from_json(envelope_json)?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(ProvenanceError::PayloadType {
            found: envelope.payload_type,
            expected: IN_TOTO_PAYLOAD_TYPE,
        });
    }
    let statement = Statement::from_json(&envelope.payload)?;
    let provenance = statement.slsa_provenance()?;
    let verification = check(&envelope, provenance.as_ref(), &statement, policy);
    Ok(VerifiedAttestation {
        statement,
        provenance,
        verification,
    })
}

fn check(
    envelope: &Envelope,
    provenance: Option<&SlsaProvenance>,
    statement: &Statement,
    policy: &TrustPolicy,
) -> Verification {
    let unverified = |reason: String| Verification::Unverified { reason };
    let Some(provenance) = provenance else {
        return unverified(format!(
            "predicateType is {:?}, not {SLSA_PROVENANCE_V1:?}: no builder id to check",
            statement.predicate_type
        ));
    };
    let builder_id = provenance.builder_id();
    if envelope.signatures.is_empty() {
        return unverified("the envelope has no signatures".into());
    }
    let pae = envelope.pae();
    let trusted = policy.keys_for(builder_id);
    for sig in &envelope.signatures {
        for key in trusted {
            if key.verify(&pae, &sig.sig) {
                return Verification::Verified {
                    builder_id: builder_id.to_owned(),
                    key_id: key.key_id(),
                };
            }
        }
    }
    // Not verified: find the most useful explanation.
    for sig in &envelope.signatures {
        for (other_builder, key) in policy.all() {
            if other_builder != builder_id && key.verify(&pae, &sig.sig) {
                return unverified(format!(
                    "signed by key {} which is trusted for builder {other_builder:?}, \
                     not for the provenance's builder {builder_id:?}",
                    key.key_id()
                ));
            }
        }
    }
    if trusted.is_empty() {
        return unverified(format!(
            "the trust policy has no keys for builder {builder_id:?}"
        ));
    }
    unverified(format!(
        "none of the {} signature(s) verifies with the {} key(s) trusted for builder {builder_id:?}",
        envelope.signatures.len(),
        trusted.len()
    ))
}
