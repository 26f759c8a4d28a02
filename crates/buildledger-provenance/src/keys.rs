//! Key generation, PEM encoding, signing and signature verification.

use std::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use rand_core::OsRng;
use sha2::{Digest as _, Sha256};

use crate::ProvenanceError;
use crate::envelope::{Envelope, Signature};

/// Largest PEM text accepted for a key, in bytes.
pub const MAX_KEY_PEM_SIZE: usize = 64 * 1024;

/// A signature algorithm supported by buildledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// Ed25519 (RFC 8032), signing the PAE bytes directly; 64-byte signatures.
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256; signatures are ASN.1 DER encoded.
    EcdsaP256,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256-sha256",
        })
    }
}

#[derive(Clone)]
enum SecretInner {
    Ed25519(ed25519_dalek::SigningKey),
    EcdsaP256(p256::ecdsa::SigningKey),
}

/// A private key that signs DSSE envelopes.
///
/// Stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, unencrypted).
/// `Debug` prints only the algorithm and key id.
#[derive(Clone)]
pub struct SigningKey {
    inner: SecretInner,
}

#[derive(Clone)]
enum PublicInner {
    Ed25519(ed25519_dalek::VerifyingKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

/// A public key that verifies DSSE signatures.
///
/// Stored as SPKI PEM (`-----BEGIN PUBLIC KEY-----`). Its [key
/// id](PublicKey::key_id) is the lowercase hex SHA-256 of its SPKI DER
/// encoding as written by [`PublicKey::to_pem`] (P-256 points uncompressed).
#[derive(Clone)]
pub struct PublicKey {
    inner: PublicInner,
    spki_der: Vec<u8>,
}

fn key_err(what: &str, reason: impl fmt::Display) -> ProvenanceError {
    ProvenanceError::Key {
        what: what.to_owned(),
        reason: reason.to_string(),
    }
}

fn check_pem_size(what: &str, pem: &str) -> Result<(), ProvenanceError> {
    if pem.len() > MAX_KEY_PEM_SIZE {
        return Err(key_err(
            what,
            format!(
                "{} bytes, more than the limit of {MAX_KEY_PEM_SIZE}",
                pem.len()
            ),
        ));
    }
    Ok(())
}

impl SigningKey {
    /// Generate a fresh key from the operating system's random source.
    pub fn generate(alg: KeyAlgorithm) -> Self {
        let inner = match alg {
            KeyAlgorithm::Ed25519 => {
                SecretInner::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
            }
            KeyAlgorithm::EcdsaP256 => {
                SecretInner::EcdsaP256(p256::ecdsa::SigningKey::random(&mut OsRng))
            }
        };
        SigningKey { inner }
    }

    /// Read an unencrypted PKCS#8 PEM private key (Ed25519 or ECDSA P-256).
    ///
    /// SEC1 (`EC PRIVATE KEY`) and encrypted keys are refused; convert them
    /// with `openssl pkcs8 -topk8 -nocrypt`.
    pub fn from_pem(pem: &str) -> Result<Self, ProvenanceError> {
        const WHAT: &str = "PKCS#8 private key PEM";
        check_pem_size(WHAT, pem)?;
        if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
            return Err(key_err(
                WHAT,
                "SEC1 `EC PRIVATE KEY` is not supported; convert with `openssl pkcs8 -topk8 -nocrypt`",
            ));
        }
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(key_err(WHAT, "encrypted PKCS#8 keys are not supported"));
        }
        let ed = match ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            Ok(k) => {
                return Ok(SigningKey {
                    inner: SecretInner::Ed25519(k),
                });
            }
            Err(e) => e,
        };
        match p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            Ok(k) => Ok(SigningKey {
                inner: SecretInner::EcdsaP256(k),
            }),
            Err(ec) => Err(key_err(
                WHAT,
                format!(
                    "not an Ed25519 or ECDSA P-256 private key (as Ed25519: {ed}; as P-256: {ec})"
                ),
            )),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            SecretInner::Ed25519(_) => KeyAlgorithm::Ed25519,
            SecretInner::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// PKCS#8 PEM (`PRIVATE KEY`, LF line endings). Handle with care.
    ///
    /// Ed25519 keys are written as PKCS#8 v1 (RFC 8410, seed only), the
    /// form OpenSSL and Python `cryptography` read; both v1 and v2 are read
    /// by [`SigningKey::from_pem`].
    pub fn to_pkcs8_pem(&self) -> String {
        let pem = match &self.inner {
            // PKCS#8 v1 (no embedded public key): OpenSSL 3.0 and pyca
            // `cryptography` refuse the v2 form `to_pkcs8_pem` would write.
            SecretInner::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF),
            SecretInner::EcdsaP256(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        // Encoding a well-formed in-memory key cannot fail.
        pem.map(|p| p.to_string())
            .expect("encoding a valid private key as PKCS#8 PEM")
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            SecretInner::Ed25519(k) => {
                PublicKey::from_inner(PublicInner::Ed25519(k.verifying_key()))
            }
            SecretInner::EcdsaP256(k) => {
                PublicKey::from_inner(PublicInner::EcdsaP256(*k.verifying_key()))
            }
        }
    }

    /// Sign raw bytes: 64-byte Ed25519 signature, or DER ECDSA P-256/SHA-256
    /// (deterministic nonce, RFC 6979).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match &self.inner {
            SecretInner::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(msg).to_bytes().to_vec()
            }
            SecretInner::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }

    /// Make a DSSE envelope over `payload` with one signature whose `keyid`
    /// hint is this key's [`PublicKey::key_id`].
    pub fn sign_envelope(&self, payload_type: &str, payload: &[u8]) -> Envelope {
        let sig = self.sign(&crate::pae(payload_type, payload));
        Envelope {
            payload_type: payload_type.to_owned(),
            payload: payload.to_vec(),
            signatures: vec![Signature {
                keyid: Some(self.public_key().key_id()),
                sig,
            }],
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    fn from_inner(inner: PublicInner) -> Self {
        let der = match &inner {
            PublicInner::Ed25519(k) => k.to_public_key_der(),
            PublicInner::EcdsaP256(k) => k.to_public_key_der(),
        };
        // Encoding a well-formed in-memory key cannot fail.
        let spki_der = der
            .map(|d| d.as_bytes().to_vec())
            .expect("encoding a valid public key as SPKI DER");
        PublicKey { inner, spki_der }
    }

    /// Read an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`), Ed25519 or
    /// ECDSA P-256.
    pub fn from_pem(pem: &str) -> Result<Self, ProvenanceError> {
        const WHAT: &str = "SPKI public key PEM";
        check_pem_size(WHAT, pem)?;
        let ed = match ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            Ok(k) => return Ok(PublicKey::from_inner(PublicInner::Ed25519(k))),
            Err(e) => e,
        };
        match p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            Ok(k) => Ok(PublicKey::from_inner(PublicInner::EcdsaP256(k))),
            Err(ec) => Err(key_err(
                WHAT,
                format!(
                    "not an Ed25519 or ECDSA P-256 public key (as Ed25519: {ed}; as P-256: {ec})"
                ),
            )),
        }
    }

    /// SPKI PEM (`PUBLIC KEY`, LF line endings).
    pub fn to_pem(&self) -> String {
        let pem = match &self.inner {
            PublicInner::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            PublicInner::EcdsaP256(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.expect("encoding a valid public key as SPKI PEM")
    }

    /// The SPKI DER encoding.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Key id: lowercase hex SHA-256 of the SPKI DER encoding (64 chars).
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(&self.spki_der))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            PublicInner::Ed25519(_) => KeyAlgorithm::Ed25519,
            PublicInner::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// Whether `sig` is a valid signature of `msg` by this key.
    ///
    /// Ed25519 uses strict verification (canonical encodings, no weak
    /// keys). ECDSA P-256 accepts only ASN.1 DER signatures, the encoding
    /// DSSE implementations (securesystemslib, sigstore) produce; a raw
    /// 64-byte `r||s` signature is rejected, so one signature has one
    /// accepted encoding. Never panics on any input.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.inner {
            PublicInner::Ed25519(k) => match ed25519_dalek::Signature::from_slice(sig) {
                Ok(s) => k.verify_strict(msg, &s).is_ok(),
                Err(_) => false,
            },
            PublicInner::EcdsaP256(k) => match p256::ecdsa::Signature::from_der(sig) {
                Ok(s) => k.verify(msg, &s).is_ok(),
                Err(_) => false,
            },
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.key_id())
            .finish()
    }
}
