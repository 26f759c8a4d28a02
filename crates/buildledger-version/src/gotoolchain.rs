//! Go release tags (`go1.21rc2`, `go1.13`, `go1.9.2rc2`).
//!
//! A tag is mapped to the semver form that the Go vulnerability database uses
//! for the `stdlib` and `toolchain` modules, and compared as semver. This is
//! the *release* reading of a tag: before Go 1.21 the first release of a
//! minor version was tagged `go1.N`, so `go1.13` is `1.13.0` and sorts after
//! `go1.13rc2`. (`go/version.Compare` instead reads `go1.21` as the language
//! version, below `go1.21rc1`; the two readings agree on every tag with a
//! patch number or a pre-release, which is what the tests check against.)

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

/// Go toolchain tags: "go1.13.4" / "1.13.4" / "go1.21rc2" / "go1.13" /
/// "go1.21.0" -> the semver form the Go vulnerability database uses for
/// `stdlib`/`toolchain` ("1.13.4", "1.21.0-rc.2", "1.13.0").
///
/// Accepted: an optional `go` prefix, `MAJOR[.MINOR[.PATCH]]` without
/// leading zeros, and an optional `alpha[N]`, `beta[N]` or `rc[N]` suffix.
pub fn go_toolchain_to_semver(tag: &str) -> Result<String, VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::GoToolchain, tag, reason);
    if tag.len() > crate::MAX_VERSION_LEN {
        return Err(VersionError::TooLong {
            scheme: Scheme::GoToolchain,
            len: tag.len(),
            max: crate::MAX_VERSION_LEN,
        });
    }
    let s = tag.strip_prefix("go").unwrap_or(tag);
    let mut nums: Vec<&str> = Vec::with_capacity(3);
    let mut rest = s;
    loop {
        let end = rest
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            return Err(bad("expected a number"));
        }
        let n = &rest[..end];
        if n.len() > 1 && n.starts_with('0') {
            return Err(bad("number with a leading zero"));
        }
        nums.push(n);
        rest = &rest[end..];
        match rest.strip_prefix('.') {
            Some(r) if nums.len() < 3 => rest = r,
            Some(_) => return Err(bad("more than three numbers")),
            None => break,
        }
    }
    let mut out = format!(
        "{}.{}.{}",
        nums[0],
        nums.get(1).copied().unwrap_or("0"),
        nums.get(2).copied().unwrap_or("0")
    );
    if !rest.is_empty() {
        let kind = ["alpha", "beta", "rc"]
            .into_iter()
            .find(|k| rest.starts_with(k))
            .ok_or_else(|| bad("expected alpha, beta or rc after the version numbers"))?;
        let n = &rest[kind.len()..];
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("pre-release kind must be followed by digits only"));
        }
        if n.len() > 1 && n.starts_with('0') {
            return Err(bad("number with a leading zero"));
        }
        out.push('-');
        out.push_str(kind);
        // `go1.21rc` (no number) sorts below `go1.21rc1`, as in go/version.
        if !n.is_empty() {
            out.push('.');
            out.push_str(n);
        }
    }
    Ok(out)
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let sa = go_toolchain_to_semver(a)?;
    let sb = go_toolchain_to_semver(b)?;
    crate::semver::compare(crate::semver::Flavor::SemVer, &sa, &sb)
}
