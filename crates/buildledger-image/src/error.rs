//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while opening or walking an image.
///
/// Corrupt *layers* are not errors: they are reported to the
/// [`Visitor`](crate::Visitor) as [`Warning`](crate::Warning)s and the walk
/// continues (unless [`OpenOptions::strict`](crate::OpenOptions::strict) is
/// set). Corrupt manifests, indexes and configs are errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The source string could not be understood.
    #[error("invalid image source {spec:?}: {reason}")]
    BadSource {
        /// The source string as given.
        spec: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A file could not be read.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("reading", "opening", …).
        what: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document (index, manifest, config) is malformed.
    #[error("malformed {what}: {message}")]
    Malformed {
        /// Which document ("index.json", "manifest sha256:…", …).
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A digest string is not of the form `sha256:<64 hex>` / `sha512:<128 hex>`.
    #[error("invalid digest {0:?} (expected sha256:<64 hex> or sha512:<128 hex>)")]
    InvalidDigest(String),
    /// A blob's content does not match its digest.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which blob.
        what: String,
        /// The digest it was referenced by.
        expected: String,
        /// The digest of the bytes actually read.
        actual: String,
    },
    /// A document or blob exceeds a size bound.
    #[error("{what} exceeds the limit of {limit} {unit}")]
    TooLarge {
        /// What was too large.
        what: String,
        /// The limit.
        limit: u64,
        /// "bytes", "entries", …
        unit: &'static str,
    },
    /// A blob referenced by a manifest is missing from the layout or archive.
    #[error("blob {digest} not found in {location}")]
    BlobNotFound {
        /// The missing digest or path.
        digest: String,
        /// Where it was looked for.
        location: String,
    },
    /// An OCI layout or archive holds several images and none was selected,
    /// or the requested one is not there.
    #[error("{message}; available: [{}]", available.join(", "))]
    NoSuchImage {
        /// What was wanted.
        message: String,
        /// The images that are there (ref names or digests).
        available: Vec<String>,
    },
    /// An image index has no manifest for the requested platform.
    #[error("image index has no manifest for platform {wanted}; available: [{}]", available.join(", "))]
    NoSuchPlatform {
        /// The requested platform, e.g. `linux/arm64`.
        wanted: String,
        /// The platforms listed in the index.
        available: Vec<String>,
    },
    /// A manifest or layer has a media type this crate cannot read.
    #[error("unsupported media type {media_type:?} for {what}")]
    UnsupportedMediaType {
        /// Which document or blob.
        what: String,
        /// Its media type.
        media_type: String,
    },
    /// The registry refused the credentials (or demanded some).
    #[error("registry authentication failed for {registry}: {message}")]
    Auth {
        /// The registry host.
        registry: String,
        /// Details from the registry.
        message: String,
    },
    /// Any other registry failure (network, HTTP status, protocol).
    #[error("registry error for {reference}: {message}")]
    Registry {
        /// The image reference.
        reference: String,
        /// Details.
        message: String,
    },
    /// A layer failed and [`OpenOptions::strict`](crate::OpenOptions::strict) was set.
    #[error("layer {layer}: {message}")]
    Layer {
        /// The layer digest (or archive path).
        layer: String,
        /// What went wrong.
        message: String,
    },
}

impl ImageError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io {
            what,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        ImageError::Malformed {
            what: what.into(),
            message: message.to_string(),
        }
    }
}
