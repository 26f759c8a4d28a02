//! Content digests: parsing, hashing readers.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use sha2::{Digest as _, Sha256, Sha512};

use crate::ImageError;
use crate::limits::Budget;

/// A validated content digest (`algorithm:hex`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Digest {
    pub(crate) algorithm: Algorithm,
    pub(crate) hex: String,
}

/// Digest algorithms this crate verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
}

impl Digest {
    /// Parses and validates `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
    /// Validation matters: the hex part becomes a file name inside `blobs/`.
    pub(crate) fn parse(s: &str) -> Result<Digest, ImageError> {
        let bad = || ImageError::InvalidDigest(s.chars().take(200).collect());
        let (alg, hex) = s.split_once(':').ok_or_else(bad)?;
        let (algorithm, len) = match alg {
            "sha256" => (Algorithm::Sha256, 64),
            "sha512" => (Algorithm::Sha512, 128),
            _ => return Err(bad()),
        };
        if hex.len() != len
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// A running hash of one of the supported algorithms.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub(crate) fn new(alg: Algorithm) -> Hasher {
        match alg {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Returns `algorithm:hex` of everything hashed so far.
    pub(crate) fn finish(&self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.clone().finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.clone().finalize())),
        }
    }
}

/// `sha256:<hex>` of a byte slice.
pub(crate) fn sha256_of(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Hash and byte count shared between a [`HashingReader`] and its owner.
pub(crate) struct HashState {
    pub(crate) hasher: Hasher,
    pub(crate) bytes: u64,
}

/// A reader that hashes and counts the raw bytes of a layer blob, and
/// refuses to read more than [`Limits::max_image_bytes`](crate::Limits::max_image_bytes)
/// of them (an error, not a silent truncation).
pub(crate) struct HashingReader<'b, R> {
    inner: R,
    state: Rc<RefCell<HashState>>,
    budget: &'b Budget,
    name: &'b str,
}

impl<'b, R: Read> HashingReader<'b, R> {
    pub(crate) fn new(
        inner: R,
        state: Rc<RefCell<HashState>>,
        budget: &'b Budget,
        name: &'b str,
    ) -> Self {
        HashingReader {
            inner,
            state,
            budget,
            name,
        }
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.budget.check_time(&format!("layer {}", self.name))?;
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        st.hasher.update(&buf[..n]);
        st.bytes += n as u64;
        if st.bytes > self.budget.limits().max_image_bytes {
            return Err(self.budget.exceed(
                crate::LimitKind::ImageBytes,
                format!("layer {}: blob of more than {} bytes", self.name, st.bytes),
            ));
        }
        Ok(n)
    }
}

/// Reads all of `r` (at most `limit` bytes, more is an error) and checks it
/// against `expected` when given. Used for manifests, indexes and configs.
pub(crate) fn read_verified(
    r: &mut dyn Read,
    limit: u64,
    expected: Option<&Digest>,
    what: &str,
) -> Result<Vec<u8>, ImageError> {
    let mut buf = Vec::new();
    r.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::malformed(what, format!("read failed: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(ImageError::TooLarge {
            what: what.to_string(),
            limit,
            unit: "bytes",
        });
    }
    if let Some(d) = expected {
        let mut h = Hasher::new(d.algorithm);
        h.update(&buf);
        let actual = h.finish();
        if actual != d.to_string() {
            return Err(ImageError::DigestMismatch {
                what: what.to_string(),
                expected: d.to_string(),
                actual,
            });
        }
    }
    Ok(buf)
}
