//! Builder and operator keys: generating a key pair, reading keys within
//! their limit (the key's bytes never reach a message), and signing a build
//! record's provenance as a DSSE envelope.

use std::path::{Path, PathBuf};

use buildledger_model::BuildRecord;
use buildledger_provenance as prov;
use serde::Serialize;

use crate::limits::{self, Settings};
use crate::{Error, ErrorKind, Result};

/// Signature algorithm of a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, DER signatures.
    EcdsaP256,
}

/// What `keygen` wrote.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct KeyPair {
    /// The private key (PKCS#8 PEM, mode 0600).
    pub private_key: PathBuf,
    /// The public key (SPKI PEM).
    pub public_key: PathBuf,
    /// The key id (SHA-256 of the public key).
    pub key_id: String,
}

/// Generate a key pair into `PREFIX.key` and `PREFIX.pub`. Existing files
/// are refused unless `force`, and even then only regular files are
/// replaced: a symbolic link (dangling or not) is never followed.
pub fn keygen(alg: Algorithm, out: &Path, force: bool) -> Result<KeyPair> {
    let key = prov::SigningKey::generate(match alg {
        Algorithm::Ed25519 => prov::KeyAlgorithm::Ed25519,
        Algorithm::EcdsaP256 => prov::KeyAlgorithm::EcdsaP256,
    });
    let priv_path = out.with_extension("key");
    let pub_path = out.with_extension("pub");
    for p in [&priv_path, &pub_path] {
        // symlink_metadata: a dangling symbolic link is there too, and
        // following it would write the key wherever it points.
        if let Ok(m) = std::fs::symlink_metadata(p) {
            if !force {
                return Err(Error::bad_input(format!(
                    "{} exists (use --force to overwrite)",
                    p.display()
                )));
            }
            if !m.file_type().is_file() {
                return Err(Error::bad_input(format!(
                    "{} is not a regular file; not overwritten, even with --force",
                    p.display()
                )));
            }
        }
    }
    write_new(&priv_path, key.to_pkcs8_pem().as_bytes(), 0o600, force)?;
    write_new(
        &pub_path,
        key.public_key().to_pem().as_bytes(),
        0o644,
        force,
    )?;
    Ok(KeyPair {
        private_key: priv_path,
        public_key: pub_path,
        key_id: key.public_key().key_id(),
    })
}

/// Write a key file that did not exist (with `force`, a regular file there
/// is replaced): created exclusively, so a symbolic link or anything else
/// planted at `path` between the check and the write is refused, never
/// followed; `mode` applies from creation on.
fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<()> {
    use std::io::Write;
    if force && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        std::fs::remove_file(path)
            .map_err(|e| Error::unavailable(format!("{}: {e}", path.display())))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(path).map_err(|e| {
        let msg = format!("{}: {e}", path.display());
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::bad_input(format!(
                "{msg} (created by someone else meanwhile; not overwritten)"
            ))
        } else {
            Error::unavailable(msg)
        }
    })?;
    f.write_all(bytes)
        .map_err(|e| Error::unavailable(format!("{}: {e}", path.display())))?;
    Ok(())
}

fn read_pem(path: &Path, flag: &str, settings: &Settings) -> Result<String> {
    let bytes = settings
        .read(path, limits::KEY)
        .map_err(|e| Error::bad_input(format!("{flag} {}", e.message)).at(flag))?;
    String::from_utf8(bytes).map_err(|_| {
        Error::bad_input(format!("{flag} {}: not a PEM file", path.display())).at(flag)
    })
}

/// A private key (PKCS#8 PEM) given by `flag`.
pub fn read_signing_key(path: &Path, flag: &str, settings: &Settings) -> Result<prov::SigningKey> {
    prov::SigningKey::from_pem(&read_pem(path, flag, settings)?)
        .map_err(|e| Error::bad_input(format!("{flag} {}: {e}", path.display())).at(flag))
}

/// A public key (SPKI PEM) given by `flag`.
pub fn read_public_key(path: &Path, flag: &str, settings: &Settings) -> Result<prov::PublicKey> {
    prov::PublicKey::from_pem(&read_pem(path, flag, settings)?)
        .map_err(|e| Error::bad_input(format!("{flag} {}: {e}", path.display())).at(flag))
}

/// A signed envelope and the key that signed it.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The DSSE envelope (JSON).
    pub envelope: Vec<u8>,
    /// Id of the signing key.
    pub key_id: String,
}

/// Sign the SLSA v1 provenance of `rec` with the builder's private key.
pub fn attest(rec: &BuildRecord, key: &Path, settings: &Settings) -> Result<Signed> {
    let signing = read_signing_key(key, "--key", settings)?;
    let statement = crate::provenance::provenance_for(rec)?;
    Ok(Signed {
        envelope: prov::sign_statement(&signing, &statement),
        key_id: signing.public_key().key_id(),
    })
}

/// Write an envelope to `path` (a runtime failure when the disk refuses).
pub fn write_envelope(path: &Path, envelope: &[u8]) -> Result<()> {
    std::fs::write(path, envelope)
        .map_err(|e| Error::new(ErrorKind::Unavailable, format!("{}: {e}", path.display())))
}

/// What `attest --out FILE` wrote: its JSON.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Attested {
    /// The envelope file.
    pub envelope: PathBuf,
    /// Id of the signing key.
    pub key_id: String,
}
