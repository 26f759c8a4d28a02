//! DSSE envelopes and the pre-authentication encoding (PAE).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::{Deserialize, Serialize};

use crate::ProvenanceError;

/// Largest envelope (JSON bytes) [`Envelope::from_json`] accepts: 16 MiB.
pub const MAX_ENVELOPE_SIZE: usize = 16 * 1024 * 1024;

/// Most signatures an envelope may carry.
pub const MAX_SIGNATURES: usize = 64;

/// Largest decoded signature accepted, in bytes (Ed25519 is 64, DER ECDSA
/// P-256 at most 72).
pub const MAX_SIGNATURE_LEN: usize = 1024;

/// Longest `keyid` hint accepted, in bytes.
pub const MAX_KEYID_LEN: usize = 1024;

/// A DSSE envelope: a payload, its type, and signatures over
/// [`pae`]`(payload_type, payload)`.
///
/// JSON form (DSSE `envelope.md`):
/// `{"payload": "<base64>", "payloadType": "…", "signatures": [{"keyid": "…", "sig": "<base64>"}]}`.
/// We write standard base64 with padding; we read standard or URL-safe
/// base64, with or without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// How to interpret `payload`, e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// The signed bytes (decoded).
    pub payload: Vec<u8>,
    /// Signatures over the PAE of `payload_type` and `payload`.
    pub signatures: Vec<Signature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Key id hint. Only a hint: verification never trusts it. An empty
    /// `keyid` in JSON reads as `None` (DSSE: unset equals empty).
    pub keyid: Option<String>,
    /// The raw signature bytes (decoded): 64 bytes for Ed25519, ASN.1 DER
    /// for ECDSA P-256.
    pub sig: Vec<u8>,
}

#[derive(Deserialize)]
struct WireEnvelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<WireSignature>,
}

#[derive(Deserialize)]
struct WireSignature {
    #[serde(default)]
    keyid: Option<String>,
    sig: String,
}

#[derive(Serialize)]
struct WireEnvelopeOut<'a> {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: &'a str,
    signatures: Vec<WireSignatureOut<'a>>,
}

#[derive(Serialize)]
struct WireSignatureOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    keyid: Option<&'a str>,
    sig: String,
}

const fn engine(alphabet: &base64::alphabet::Alphabet, padded: bool) -> GeneralPurpose {
    let mode = if padded {
        DecodePaddingMode::RequireCanonical
    } else {
        DecodePaddingMode::RequireNone
    };
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(mode),
    )
}
const STANDARD_PADDED: GeneralPurpose = engine(&base64::alphabet::STANDARD, true);
const STANDARD_UNPADDED: GeneralPurpose = engine(&base64::alphabet::STANDARD, false);
const URL_SAFE_PADDED: GeneralPurpose = engine(&base64::alphabet::URL_SAFE, true);
const URL_SAFE_UNPADDED: GeneralPurpose = engine(&base64::alphabet::URL_SAFE, false);

/// Decode DSSE base64: standard or URL-safe alphabet (not mixed); padding
/// either absent or exactly the canonical `=`s; no stray trailing bits.
pub(crate) fn decode_base64(field: &str, text: &str) -> Result<Vec<u8>, ProvenanceError> {
    let url_safe = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    let engine = match (url_safe, padded) {
        (false, true) => &STANDARD_PADDED,
        (false, false) => &STANDARD_UNPADDED,
        (true, true) => &URL_SAFE_PADDED,
        (true, false) => &URL_SAFE_UNPADDED,
    };
    engine.decode(text).map_err(|e| ProvenanceError::Base64 {
        field: field.to_owned(),
        reason: e.to_string(),
    })
}

/// Encode bytes as DSSE base64 (standard alphabet, padded).
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

impl Envelope {
    /// Parse a JSON envelope.
    ///
    /// Refuses input larger than [`MAX_ENVELOPE_SIZE`], more than
    /// [`MAX_SIGNATURES`] signatures, signatures longer than
    /// [`MAX_SIGNATURE_LEN`] and key ids longer than [`MAX_KEYID_LEN`].
    /// Unknown fields are ignored, as DSSE requires. An envelope with zero
    /// signatures parses (DSSE allows it) but never verifies.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, ProvenanceError> {
        if bytes.len() > MAX_ENVELOPE_SIZE {
            return Err(ProvenanceError::TooLarge {
                what: "DSSE envelope",
                size: bytes.len(),
                limit: MAX_ENVELOPE_SIZE,
            });
        }
        let wire: WireEnvelope =
            serde_json::from_slice(bytes).map_err(|e| ProvenanceError::Envelope(e.to_string()))?;
        if wire.signatures.len() > MAX_SIGNATURES {
            return Err(ProvenanceError::Envelope(format!(
                "{} signatures, more than the limit of {MAX_SIGNATURES}",
                wire.signatures.len()
            )));
        }
        let payload = decode_base64("payload", &wire.payload)?;
        let mut signatures = Vec::with_capacity(wire.signatures.len());
        for (i, s) in wire.signatures.into_iter().enumerate() {
            if s.sig.len() > MAX_SIGNATURE_LEN * 2 {
                return Err(ProvenanceError::Envelope(format!(
                    "signatures[{i}].sig is longer than the limit of {MAX_SIGNATURE_LEN} bytes"
                )));
            }
            let sig = decode_base64(&format!("signatures[{i}].sig"), &s.sig)?;
            if sig.len() > MAX_SIGNATURE_LEN {
                return Err(ProvenanceError::Envelope(format!(
                    "signatures[{i}].sig is {} bytes, more than the limit of {MAX_SIGNATURE_LEN}",
                    sig.len()
                )));
            }
            let keyid = match s.keyid {
                Some(k) if k.len() > MAX_KEYID_LEN => {
                    return Err(ProvenanceError::Envelope(format!(
                        "signatures[{i}].keyid is {} bytes, more than the limit of {MAX_KEYID_LEN}",
                        k.len()
                    )));
                }
                Some(k) if k.is_empty() => None,
                other => other,
            };
            signatures.push(Signature { keyid, sig });
        }
        Ok(Envelope {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }

    /// Serialise to compact JSON (standard padded base64; `keyid` omitted
    /// when `None`).
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireEnvelopeOut {
            payload: encode_base64(&self.payload),
            payload_type: &self.payload_type,
            signatures: self
                .signatures
                .iter()
                .map(|s| WireSignatureOut {
                    keyid: s.keyid.as_deref(),
                    sig: encode_base64(&s.sig),
                })
                .collect(),
        };
        // Serialising plain strings and vectors into a Vec cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// The bytes the signatures cover: [`pae`]`(payload_type, payload)`.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where `LEN` is the
/// byte length in ASCII decimal without leading zeros and `type` is UTF-8.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        10 + type_len.len() + payload_type.len() + body_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}
