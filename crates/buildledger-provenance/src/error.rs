//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, signing or verifying
/// provenance.
///
/// Messages name what was being read and where, so that they can be shown
/// to an operator unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// The input is larger than the limit for its kind.
    #[error("{what} is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The DSSE envelope is not valid JSON of the expected shape.
    #[error("invalid DSSE envelope: {0}")]
    Envelope(String),
    /// A base64 field could not be decoded.
    #[error("invalid base64 in DSSE envelope field `{field}`: {reason}")]
    Base64 {
        /// JSON path of the field, e.g. `signatures[0].sig`.
        field: String,
        /// Why decoding failed.
        reason: String,
    },
    /// The envelope carries a payload type other than the in-toto one.
    #[error("DSSE payloadType is {found:?}, expected {expected:?}")]
    PayloadType {
        /// The payload type found in the envelope.
        found: String,
        /// The payload type required.
        expected: &'static str,
    },
    /// The payload is not a valid in-toto Statement v1.
    #[error("invalid in-toto statement: {0}")]
    Statement(String),
    /// The predicate claims to be SLSA provenance v1 but does not have its shape.
    #[error("invalid SLSA provenance v1 predicate: {0}")]
    Provenance(String),
    /// A key could not be read or has an unsupported algorithm.
    #[error("invalid key ({what}): {reason}")]
    Key {
        /// What key was being read (e.g. a file name or "public key PEM").
        what: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The trust policy is malformed.
    #[error("invalid trust policy {source_name}: {reason}")]
    Policy {
        /// Policy file path, or `<inline>`.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The OpenVEX document is malformed; the message names the field.
    #[error("invalid OpenVEX document: {0}")]
    Vex(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
