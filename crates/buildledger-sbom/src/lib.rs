//! SBOM import and export for buildledger.
//!
//! This crate owns buildledger's view of Software Bills of Materials: it reads
//! [CycloneDX] 1.4, 1.5 and 1.6 JSON documents and [SPDX] 2.2/2.3 JSON
//! documents into one flat list of [`SbomComponent`]s (name, version, package
//! URL, hashes, scope, kind, licences, location), and it writes such a list
//! back out as a CycloneDX 1.6 or SPDX 2.3 JSON document describing one image.
//!
//! Reading is lenient about what does not matter and strict about what does:
//!
//! * unknown fields are ignored, so a document from a newer tool still reads;
//! * a field of the wrong type, truncated JSON, a missing version marker or an
//!   unsupported spec version is an [`SbomError`] naming the location of the
//!   document and the JSON path of the problem;
//! * nested CycloneDX `components` are flattened;
//! * nothing is dropped or rewritten silently: a component without a package
//!   URL is kept (and counted in [`Sbom::warnings`]), a component with an
//!   invalid package URL is kept with its purl string unchanged (and named in a
//!   warning).
//!
//! The only conversions are documented ones: hash algorithm names are mapped
//! to a lowercase form (`SHA-256`/`SHA256` → `sha256`, see
//! [`normalize_hash_alg`]), SPDX `primaryPackagePurpose` is lowercased into
//! [`SbomComponent::kind`], and SPDX dependency relationships become a
//! `build`/`runtime` [`SbomComponent::scope`].
//!
//! Untrusted input never panics. Inputs are bounded by [`MAX_SBOM_SIZE`] bytes
//! and [`MAX_COMPONENTS`] components; JSON nesting is bounded by serde_json's
//! recursion limit (128).
//!
//! [CycloneDX]: https://cyclonedx.org/specification/overview/
//! [SPDX]: https://spdx.github.io/spdx-spec/v2.3/

#![deny(missing_docs)]

mod cyclonedx;
mod spdx_doc;

use std::fmt;

use chrono::{DateTime, Utc};

pub use cyclonedx::{parse_cyclonedx, to_cyclonedx_1_6};
pub use spdx_doc::{INVALID_PURL_REF_TYPE, parse_spdx, to_spdx_2_3};

/// Largest SBOM document accepted, in bytes (256 MiB).
pub const MAX_SBOM_SIZE: usize = 256 * 1024 * 1024;

/// Largest number of components (after flattening) accepted in one document.
pub const MAX_COMPONENTS: usize = 1_000_000;

/// Largest number of individual warnings kept in [`Sbom::warnings`]; further
/// warnings are summarised in one final line.
pub const MAX_WARNINGS: usize = 1_000;

/// CycloneDX spec versions this crate reads.
pub const SUPPORTED_CYCLONEDX_VERSIONS: &[&str] = &["1.4", "1.5", "1.6"];

/// SPDX spec versions (the `spdxVersion` value) this crate reads.
pub const SUPPORTED_SPDX_VERSIONS: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

/// The document format of an SBOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// CycloneDX JSON.
    CycloneDx,
    /// SPDX JSON.
    Spdx,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::CycloneDx => f.write_str("CycloneDX"),
            Format::Spdx => f.write_str("SPDX"),
        }
    }
}

/// One component (package) listed by an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SbomComponent {
    /// Component name as the document gives it.
    pub name: String,
    /// Version string as the document gives it.
    pub version: Option<String>,
    /// Package URL exactly as the document gives it (even when invalid; see
    /// [`Sbom::warnings`]).
    pub purl: Option<String>,
    /// Hashes as (algorithm, value). The algorithm is lowercase, see
    /// [`normalize_hash_alg`]; the value is kept as given.
    pub hashes: Vec<(String, String)>,
    /// CycloneDX `required`/`optional`/`excluded`, or `build`/`runtime`
    /// derived from SPDX dependency relationships.
    pub scope: Option<String>,
    /// Component type: `library`, `application`, `operating-system`, … (the
    /// CycloneDX type, or the lowercased SPDX `primaryPackagePurpose`).
    pub kind: Option<String>,
    /// Licences: CycloneDX licence ids, names or expressions; the SPDX declared
    /// (or else concluded) licence expression.
    pub licenses: Vec<String>,
    /// Path of the component inside the image, if the document records one.
    pub location: Option<String>,
    /// Other package URLs for the same installed files: the language package
    /// an OS package installed (Debian's `python3-requests` is also
    /// `pkg:pypi/requests@2.28.1`). Informational; the ledger matches the
    /// component by its own purl. CycloneDX keeps them in
    /// `buildledger:alias-purl` properties, SPDX in `externalRefs` of type
    /// [`ALIAS_PURL_REF_TYPE`].
    pub aliases: Vec<String>,
}

/// A parsed SBOM document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sbom {
    /// Which format the document was in.
    pub format: Format,
    /// `specVersion` (CycloneDX, e.g. `1.6`) or `spdxVersion` (e.g. `SPDX-2.3`).
    pub spec_version: String,
    /// Name of the thing the SBOM describes (CycloneDX `metadata.component`,
    /// SPDX described package).
    pub subject_name: Option<String>,
    /// `sha256:<hex>` digest of the subject, if the document names one.
    pub subject_digest: Option<String>,
    /// All components, nested ones flattened, in document order.
    pub components: Vec<SbomComponent>,
    /// Human-readable notes about things that were kept but look wrong.
    pub warnings: Vec<String>,
}

/// What the exporters need to know about the subject (the image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSubject {
    /// Image name, e.g. `registry.example/app:1.2`.
    pub name: String,
    /// Image digest, `sha256:<hex>`.
    pub digest: Option<String>,
    /// buildledger's version, recorded as the producing tool.
    pub tool_version: String,
    /// Creation time recorded in the document.
    pub created: DateTime<Utc>,
}

/// Errors from reading an SBOM document.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// The document is larger than [`MAX_SBOM_SIZE`].
    #[error("{location}: SBOM is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge {
        /// Where the document came from.
        location: String,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The document is not valid JSON or a field has the wrong type.
    #[error("{location}: malformed {what} document at JSON path `{path}`: {source}")]
    Json {
        /// Where the document came from.
        location: String,
        /// What was being read: `CycloneDX`, `SPDX` or `SBOM` (format detection).
        what: &'static str,
        /// JSON path of the problem (`.` for the root).
        path: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Neither a CycloneDX `bomFormat` nor an SPDX `spdxVersion` was found.
    #[error(
        "{location}: not a recognised SBOM: no top-level `bomFormat: \"CycloneDX\"` or `spdxVersion`"
    )]
    UnknownFormat {
        /// Where the document came from.
        location: String,
    },
    /// A required marker field is missing or has an unexpected value.
    #[error("{location}: not a {format} document: {detail}")]
    NotThisFormat {
        /// Where the document came from.
        location: String,
        /// Format that was being read.
        format: Format,
        /// What was wrong.
        detail: String,
    },
    /// The spec version is not one this crate reads.
    #[error(
        "{location}: unsupported {format} version `{version}` at JSON path `{path}` (supported: {supported})"
    )]
    UnsupportedVersion {
        /// Where the document came from.
        location: String,
        /// Format of the document.
        format: Format,
        /// The version found.
        version: String,
        /// JSON path of the version field.
        path: String,
        /// Comma-separated supported versions.
        supported: String,
    },
    /// More components than [`MAX_COMPONENTS`].
    #[error("{location}: more than {limit} components")]
    TooManyComponents {
        /// Where the document came from.
        location: String,
        /// The limit.
        limit: usize,
    },
}

/// Parses a CycloneDX or SPDX JSON document, choosing the format by its
/// top-level `bomFormat` (`"CycloneDX"`) or `spdxVersion` field.
///
/// `location` names the document (a file path, a registry reference) and is
/// repeated in errors and warnings.
pub fn detect_and_parse(bytes: &[u8], location: &str) -> Result<Sbom, SbomError> {
    let header = Header::read(bytes, location)?;
    match header.format(location)? {
        Format::CycloneDx => cyclonedx::parse_with_header(bytes, location, &header),
        Format::Spdx => spdx_doc::parse_with_header(bytes, location, &header),
    }
}

/// Finds the format of a document (by its top-level `bomFormat` or
/// `spdxVersion` field) without reading its components.
pub fn detect(bytes: &[u8], location: &str) -> Result<Format, SbomError> {
    Header::read(bytes, location)?.format(location)
}

/// The top-level marker fields of a document; everything else is skipped.
#[derive(serde::Deserialize)]
pub(crate) struct Header {
    #[serde(rename = "bomFormat")]
    pub(crate) bom_format: Option<serde_json::Value>,
    #[serde(rename = "specVersion")]
    pub(crate) spec_version: Option<serde_json::Value>,
    #[serde(rename = "spdxVersion")]
    pub(crate) spdx_version: Option<serde_json::Value>,
}

impl Header {
    pub(crate) fn read(bytes: &[u8], location: &str) -> Result<Header, SbomError> {
        check_size(bytes, location)?;
        from_slice(bytes, location, "SBOM")
    }

    fn format(&self, location: &str) -> Result<Format, SbomError> {
        if self.bom_format.is_some() {
            Ok(Format::CycloneDx)
        } else if self.spdx_version.is_some() {
            Ok(Format::Spdx)
        } else {
            Err(SbomError::UnknownFormat {
                location: location.to_string(),
            })
        }
    }
}

/// Maps a CycloneDX or SPDX hash algorithm name to buildledger's lowercase
/// form: `SHA-1`/`SHA1` → `sha1`, `SHA-256`/`SHA256` → `sha256` (likewise
/// 224/384/512); every other name is only lowercased (`SHA3-256` →
/// `sha3-256`, `BLAKE2b-256` → `blake2b-256`, `MD5` → `md5`).
pub fn normalize_hash_alg(alg: &str) -> String {
    let lower = alg.to_ascii_lowercase();
    match lower.as_str() {
        "sha-1" => "sha1".to_string(),
        "sha-224" => "sha224".to_string(),
        "sha-256" => "sha256".to_string(),
        "sha-384" => "sha384".to_string(),
        "sha-512" => "sha512".to_string(),
        _ => lower,
    }
}

pub(crate) fn check_size(bytes: &[u8], location: &str) -> Result<(), SbomError> {
    if bytes.len() > MAX_SBOM_SIZE {
        return Err(SbomError::TooLarge {
            location: location.to_string(),
            size: bytes.len(),
            limit: MAX_SBOM_SIZE,
        });
    }
    Ok(())
}

/// A [`SbomError::Json`] for a top-level marker field that is not a string.
pub(crate) fn not_a_string(
    location: &str,
    what: &'static str,
    field: &str,
    found: &serde_json::Value,
) -> SbomError {
    use serde::de::Error as _;
    SbomError::Json {
        location: location.to_string(),
        what,
        path: field.to_string(),
        source: serde_json::Error::custom(format!("expected a string, found {found}")),
    }
}

pub(crate) fn from_slice<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    location: &str,
    what: &'static str,
) -> Result<T, SbomError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        SbomError::Json {
            location: location.to_string(),
            what,
            path,
            source: e.into_inner(),
        }
    })?;
    de.end().map_err(|e| SbomError::Json {
        location: location.to_string(),
        what,
        path: ".".to_string(),
        source: e,
    })?;
    Ok(value)
}

/// Collects warnings, bounded by [`MAX_WARNINGS`].
#[derive(Default)]
pub(crate) struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    pub(crate) fn push(&mut self, w: String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(w);
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("{} further warnings not shown", self.dropped));
        }
        self.list
    }
}

/// Adds the common per-component checks: invalid purls and a count of
/// components without a purl.
pub(crate) fn check_components(comps: &[SbomComponent], location: &str, warnings: &mut Warnings) {
    let mut missing = 0usize;
    for c in comps {
        match &c.purl {
            None => missing += 1,
            Some(p) => {
                if let Err(e) = p.parse::<packageurl::PackageUrl<'static>>() {
                    warnings.push(format!(
                        "{location}: component `{}`{}: invalid package URL `{p}` kept as is: {e}",
                        c.name,
                        c.version
                            .as_deref()
                            .map(|v| format!(" version `{v}`"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    if missing > 0 {
        warnings.push(format!(
            "{location}: {missing} of {} components have no package URL (kept with name/version only)",
            comps.len()
        ));
    }
}

/// Returns `Some("sha256:<hex>")` if `s` is exactly such a digest (lowercase hex).
pub(crate) fn as_sha256_digest(s: &str) -> Option<String> {
    let hex = s.strip_prefix("sha256:")?;
    if is_hex_len(hex, 64) {
        Some(s.to_string())
    } else {
        None
    }
}

/// Digest from a `pkg:oci/...@sha256%3A<hex>` or `pkg:docker/...@sha256:<hex>` purl.
pub(crate) fn digest_from_purl(purl: &str) -> Option<String> {
    let p: packageurl::PackageUrl<'static> = purl.parse().ok()?;
    if p.ty() != "oci" && p.ty() != "docker" {
        return None;
    }
    as_sha256_digest(p.version()?)
}

pub(crate) fn is_hex_len(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Expected hex length of a digest for a normalised algorithm name, if known.
pub(crate) fn hex_len_for(alg: &str) -> Option<usize> {
    Some(match alg {
        "md5" => 32,
        "sha1" => 40,
        "sha224" => 56,
        "sha256" | "sha3-256" | "blake2b-256" | "blake3" => 64,
        "sha384" | "sha3-384" | "blake2b-384" => 96,
        "sha512" | "sha3-512" | "blake2b-512" => 128,
        _ => return None,
    })
}

/// RFC 3339 creation time in whole seconds, UTC (`2024-01-02T03:04:05Z`).
pub(crate) fn timestamp(subject: &ExportSubject) -> String {
    subject
        .created
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A name-based (v5) UUID over everything that goes into an exported
/// document, so equal inputs give equal documents and different inputs
/// different serial numbers / namespaces.
pub(crate) fn document_uuid(
    subject: &ExportSubject,
    comps: &[SbomComponent],
    kind: &str,
) -> uuid::Uuid {
    // A buildledger-specific namespace: the v5 UUID of this URL.
    let ns = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"https://buildledger.invalid/sbom",
    );
    let mut name = Vec::new();
    let mut add = |s: &str| {
        name.extend_from_slice(&(s.len() as u64).to_le_bytes());
        name.extend_from_slice(s.as_bytes());
    };
    add(kind);
    add(&subject.name);
    add(subject.digest.as_deref().unwrap_or(""));
    add(&subject.tool_version);
    add(&timestamp(subject));
    for c in comps {
        add(&format!("{c:?}"));
    }
    uuid::Uuid::new_v5(&ns, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_alg_names_from_both_specs_meet() {
        // CycloneDX spelling vs SPDX spelling of the same algorithms.
        for (cdx, spdx, ours) in [
            ("SHA-1", "SHA1", "sha1"),
            ("SHA-256", "SHA256", "sha256"),
            ("SHA-384", "SHA384", "sha384"),
            ("SHA-512", "SHA512", "sha512"),
            ("SHA3-256", "SHA3-256", "sha3-256"),
            ("BLAKE2b-512", "BLAKE2b-512", "blake2b-512"),
            ("MD5", "MD5", "md5"),
        ] {
            assert_eq!(normalize_hash_alg(cdx), ours);
            assert_eq!(normalize_hash_alg(spdx), ours);
        }
    }

    #[test]
    fn digests_from_purls() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_from_purl(&format!(
                "pkg:oci/app@sha256%3A{hex}?repository_url=r.example/app"
            )),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_from_purl(&format!("pkg:npm/app@sha256%3A{hex}")),
            None
        );
        assert_eq!(digest_from_purl("pkg:oci/app@sha256%3Aabc"), None);
    }
}
