//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while opening or walking an image.
///
/// Anything that means the image is not what its digests say, or could not
/// be read whole, is an error: corrupt manifests, indexes, configs *and*
/// layers, blob digest and diff ID mismatches, missing blobs, and exceeded
/// [`Limits`](crate::Limits). [`ImageError::is_runtime`] tells failures of
/// the environment (network, registry, disk) from bad input.
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
    /// A layer is corrupt (truncated or undecodable gzip/zstd/tar), does not
    /// match its blob digest or diff ID, or could not be opened.
    #[error("layer {layer}: {message}")]
    Layer {
        /// The layer digest (or archive path).
        layer: String,
        /// What went wrong.
        message: String,
    },
    /// One of the [`Limits`](crate::Limits) was exceeded.
    #[error("{0}")]
    Limit(#[from] crate::LimitExceeded),
}

impl ImageError {
    /// True for failures of the environment rather than of the input: the
    /// registry unreachable or refusing, a local read failing for a reason
    /// other than the file being absent or not what it should be. Everything
    /// else (bad source string, missing or corrupt blob, digest mismatch,
    /// exceeded limit) is bad input.
    pub fn is_runtime(&self) -> bool {
        match self {
            ImageError::Registry { .. } | ImageError::Auth { .. } => true,
            ImageError::Io { source, .. } => !matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::InvalidInput
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::FileTooLarge
            ),
            _ => false,
        }
    }

    /// The exceeded limit, when that is what this error is.
    pub fn limit(&self) -> Option<&crate::LimitExceeded> {
        match self {
            ImageError::Limit(l) => Some(l),
            _ => None,
        }
    }

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
