//! cargo-auditable: the zlib-compressed JSON dependency list in `.dep-v0`.

use crate::BinaryError;
use auditable_serde::{DependencyKind, Source, VersionInfo};

/// Largest accepted `.dep-v0` section (compressed).
pub const MAX_AUDITABLE_COMPRESSED: usize = 8 << 20;
/// Largest accepted decompressed `.dep-v0` JSON; bigger output (e.g. a zlib
/// bomb) is refused.
pub const MAX_AUDITABLE_JSON: usize = 8 << 20;

/// One Rust package recorded by cargo-auditable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustPackage {
    /// Crate name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Where it came from: `crates.io`, `git`, `local`, `registry` or another string.
    pub source: String,
    /// `runtime` or `build` (cargo-auditable does not record dev dependencies).
    pub kind: String,
    /// Whether this is the root package (the binary's own crate).
    pub root: bool,
}

/// The dependency list of one Rust binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditableInfo {
    /// All packages, in recorded order.
    pub packages: Vec<RustPackage>,
}

/// Decode the raw bytes of a `.dep-v0` section (zlib-compressed JSON).
pub fn parse_dep_v0(raw: &[u8]) -> Result<AuditableInfo, BinaryError> {
    if raw.len() > MAX_AUDITABLE_COMPRESSED {
        return Err(BinaryError::Auditable {
            what: format!(
                "section is {} bytes, more than the limit of {MAX_AUDITABLE_COMPRESSED}",
                raw.len()
            ),
        });
    }
    let json = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(raw, MAX_AUDITABLE_JSON)
        .map_err(|e| BinaryError::Auditable {
            what: match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    format!("decompressed data exceeds the limit of {MAX_AUDITABLE_JSON} bytes")
                }
                status => format!("zlib decompression failed: {status:?}"),
            },
        })?;
    let info: VersionInfo =
        serde_json::from_slice(&json).map_err(|source| BinaryError::AuditableJson { source })?;
    let packages = info
        .packages
        .into_iter()
        .map(|p| RustPackage {
            name: p.name,
            version: p.version.to_string(),
            source: source_name(p.source),
            kind: match p.kind {
                DependencyKind::Build => "build".to_owned(),
                DependencyKind::Runtime => "runtime".to_owned(),
            },
            root: p.root,
        })
        .collect();
    Ok(AuditableInfo { packages })
}

fn source_name(s: Source) -> String {
    String::from(s)
}
