//! A fallback ordering for ecosystems without one of their own.
//!
//! The version is split on `.`, `-`, `_`, `+` and `:` into parts. Parts are
//! compared in turn: two numbers numerically (any size), two words as
//! strings, and a number above a word (so `1.0` > `1.0-rc1`'s `rc1` part).
//! A missing part counts as `0`, so `1.0` = `1.0.0`. There is no authority
//! to match here; the behaviour is fixed by unit tests.

use std::cmp::Ordering;

use crate::{Scheme, VersionError, cmp_digits, strip_zeros};

fn is_sep(c: char) -> bool {
    matches!(c, '.' | '-' | '_' | '+' | ':')
}

pub(crate) fn validate(v: &str) -> Result<(), VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::Generic, v, reason);
    if v.trim().is_empty() {
        return Err(bad("version string is empty"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("version has whitespace or control characters"));
    }
    Ok(())
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    validate(a)?;
    validate(b)?;
    let mut pa = a.split(is_sep).filter(|p| !p.is_empty());
    let mut pb = b.split(is_sep).filter(|p| !p.is_empty());
    loop {
        let (x, y) = match (pa.next(), pb.next()) {
            (None, None) => return Ok(Ordering::Equal),
            (x, y) => (x.unwrap_or("0"), y.unwrap_or("0")),
        };
        let nx = x.bytes().all(|c| c.is_ascii_digit());
        let ny = y.bytes().all(|c| c.is_ascii_digit());
        let c = match (nx, ny) {
            (true, true) => cmp_digits(strip_zeros(x), strip_zeros(y)),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.cmp(y),
        };
        if c != Ordering::Equal {
            return Ok(c);
        }
    }
}
