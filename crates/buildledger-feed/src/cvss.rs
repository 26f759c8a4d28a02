//! CVSS base scores for the severity vectors found in feeds.
//!
//! Scoring is delegated to RustSec's `cvss` crate, which implements the CVSS v2.0, v3.0/v3.1 and
//! v4.0 base equations (v4.0 through the specification's macro-vector lookup table).

use std::str::FromStr;

/// Longest vector string looked at; real vectors are under 200 bytes.
pub const MAX_VECTOR_LEN: usize = 1024;

/// Base score of a severity entry, or `None` when `kind` is not a CVSS kind or the vector does
/// not parse.
///
/// `kind` is the OSV severity type. The version is taken from the vector's own prefix when it
/// has one (`CVSS:3.0/`, `CVSS:3.1/`, `CVSS:4.0/`), so a mislabelled entry still scores
/// correctly; a vector without prefix is scored as CVSS v2 only when `kind` is `CVSS_V2`.
pub fn base_score(kind: &str, vector: &str) -> Option<f64> {
    if !kind.to_ascii_uppercase().starts_with("CVSS") || vector.len() > MAX_VECTOR_LEN {
        return None;
    }
    let vector = vector.trim();
    let score = if vector.starts_with("CVSS:3.") {
        cvss::v3::Vector::from_str(vector)
            .ok()?
            .base_score()
            .value()
    } else if vector.starts_with("CVSS:4.") {
        cvss::v4::Vector::from_str(vector).ok()?.score().value()
    } else if kind.eq_ignore_ascii_case("CVSS_V2") {
        let v = vector
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .unwrap_or(vector);
        cvss::v2::Vector::from_str(v).ok()?.score().value()
    } else {
        return None;
    };
    score.is_finite().then_some(score)
}
