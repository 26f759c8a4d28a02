//! Signed build provenance for buildledger.
//!
//! This crate owns the *attestation* format: how a build system says "image
//! digest D was built from commit C by builder B with toolchains T and
//! components P", signs it, and how buildledger decides whether to believe
//! it. It does no network I/O and knows nothing about the ledger's store.
//!
//! The layers, outermost first:
//!
//! * [`Envelope`]: a [DSSE] envelope. Signatures cover
//!   [`pae`]`(payloadType, payload)` =
//!   `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
//! * [`Statement`]: an in-toto Statement v1 (`_type`
//!   `https://in-toto.io/Statement/v1`), with `payloadType`
//!   `application/vnd.in-toto+json`. Its subjects are image digests.
//! * [`SlsaProvenance`]: the SLSA provenance v1 predicate
//!   (`predicateType` `https://slsa.dev/provenance/v1`).
//!
//! # What buildledger writes where in SLSA provenance v1
//!
//! | buildledger fact | SLSA v1 field |
//! |---|---|
//! | image digest(s) built | statement `subject[].digest.sha256` (`name`: image name) |
//! | build recipe | `buildDefinition.buildType` |
//! | source repo + ref | `buildDefinition.externalParameters.source` = `git+https://…@refs/tags/v1` |
//! | source commit | `buildDefinition.resolvedDependencies[]` `{uri: "git+https://…@ref", digest: {gitCommit}}`, annotation `buildledger.kind: "source"` |
//! | base images (`FROM`) | `resolvedDependencies[]` `{uri: "pkg:docker/…@sha256:…" or "oci://…", digest: {sha256}}`, kind `base-image` |
//! | toolchains (compiler, stdlib) | `resolvedDependencies[]` `{name, uri: "pkg:generic/<name>@<version>", annotations.version, digest?}`, kind `toolchain` |
//! | components (libraries, packages) | `resolvedDependencies[]` `{uri: <purl>}`, kind `component` |
//! | build platform identity | `runDetails.builder.id` (the trust policy pins keys to it) |
//! | build platform version | `runDetails.builder.version` |
//! | images the build ran in | `runDetails.builder.builderDependencies[]`, kind `builder-image` |
//! | CI job, times | `runDetails.metadata.{invocationId, startedOn, finishedOn}` |
//! | logs, SBOMs | `runDetails.byproducts[]` |
//!
//! Unknown fields are kept (`extra` maps), so provenance from other
//! producers reads without loss.
//!
//! # Keys and trust
//!
//! [`SigningKey`] and [`PublicKey`] are Ed25519 or ECDSA P-256/SHA-256.
//! Private keys are PKCS#8 PEM, public keys SPKI PEM. A key id is the
//! lowercase hex SHA-256 of the SPKI DER ([`PublicKey::key_id`]); it is
//! written as the envelope's `keyid`, which is only a hint and never
//! trusted. ECDSA signatures are ASN.1 DER, as securesystemslib and sigstore
//! write them; raw `r||s` is refused.
//!
//! A [`TrustPolicy`] (JSON, see its docs) maps builder ids to keys.
//! [`verify_attestation`] says [`Verification::Verified`] only when a key
//! pinned to the provenance's own `runDetails.builder.id` signed it: a key
//! trusted for another builder does not count.
//!
//! # Limits
//!
//! Input is untrusted and never panics the crate: envelopes are limited to
//! [`MAX_ENVELOPE_SIZE`], [`MAX_SIGNATURES`] signatures of at most
//! [`MAX_SIGNATURE_LEN`] bytes, key PEM to [`MAX_KEY_PEM_SIZE`], policies to
//! [`MAX_POLICY_SIZE`].
//!
//! [DSSE]: https://github.com/secure-systems-lab/dsse

#![deny(missing_docs)]

mod checkpoint;
mod envelope;
mod error;
mod keys;
mod policy;
mod statement;
mod verify;
mod vex;

pub use checkpoint::{CHECKPOINT_PAYLOAD_TYPE, Checkpoint, sign_checkpoint, verify_checkpoint};
pub use envelope::{
    Envelope, MAX_ENVELOPE_SIZE, MAX_KEYID_LEN, MAX_SIGNATURE_LEN, MAX_SIGNATURES, Signature, pae,
};
pub use error::ProvenanceError;
pub use keys::{KeyAlgorithm, MAX_KEY_PEM_SIZE, PublicKey, SigningKey};
pub use policy::{MAX_POLICY_SIZE, TrustPolicy};
pub use statement::{
    BUILDLEDGER_BUILD_TYPE, BuildDefinition, BuildMetadata, Builder, IN_TOTO_PAYLOAD_TYPE,
    KIND_ANNOTATION, KIND_BASE_IMAGE, KIND_BUILDER_IMAGE, KIND_COMPONENT, KIND_SOURCE,
    KIND_TOOLCHAIN, ResourceDescriptor, RunDetails, SLSA_PROVENANCE_V1, STATEMENT_TYPE,
    SlsaProvenance, Statement, Subject, build_statement,
};
pub use verify::{Verification, VerifiedAttestation, verify_attestation};
pub use vex::{
    MAX_VEX_PRODUCTS, MAX_VEX_STATEMENTS, OPENVEX_NAMESPACE, OPENVEX_PAYLOAD_TYPE, ReadVex,
    VexComponent, VexDocument, VexJustification, VexSignature, VexStatement, VexStatus,
    VexVulnerability, read_vex,
};

/// Sign a statement as an in-toto DSSE envelope and return its JSON.
pub fn sign_statement(key: &SigningKey, statement: &Statement) -> Vec<u8> {
    key.sign_envelope(IN_TOTO_PAYLOAD_TYPE, &statement.to_json())
        .to_json()
}
