//! Debian package versions, ordered as `dpkg --compare-versions` orders them.
//!
//! `[epoch:]upstream[-revision]`: the epoch is compared as a number, then the
//! upstream version and the revision with dpkg's algorithm, which alternates
//! between non-digit runs (letters sort before non-letters, `~` before
//! everything including the end of the string) and digit runs (compared as
//! numbers).
//!
//! Written here rather than taken from a crate so that what is *rejected*
//! matches dpkg exactly: dpkg refuses some strings outright (empty, embedded
//! spaces, a bad or empty epoch, an empty upstream version or revision) and
//! only warns about others (an upstream version not starting with a digit, odd
//! characters) while still comparing them. [`parse`] errors on the first kind
//! and accepts the second, as `dpkg --compare-versions` does. Bytes outside
//! ASCII are weighed as dpkg weighs them where C's `char` is signed (x86-64);
//! an ARM64 build of dpkg, with unsigned `char`, orders them differently.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

/// A parsed Debian version; strings borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DebVersion<'a> {
    pub epoch: u32,
    pub upstream: &'a str,
    pub revision: &'a str,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parse like dpkg's `parseversion`, returning errors for what dpkg treats as
/// errors (not for what it merely warns about).
pub(crate) fn parse(input: &str) -> Result<DebVersion<'_>, VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::Debian, input, reason);
    let s = input.trim_matches(|c: char| c == ' ' || c == '\t');
    if s.is_empty() {
        return Err(bad("version string is empty"));
    }
    if s.bytes().any(is_blank) {
        return Err(bad("version string has embedded spaces"));
    }
    let (epoch, rest) = match s.find(':') {
        Some(colon) => {
            let e = &s[..colon];
            // dpkg reads the epoch with strtol: an optional sign, then digits.
            let (neg, digits) = match e.as_bytes().first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            let ndigits = digits.bytes().take_while(u8::is_ascii_digit).count();
            if ndigits == 0 {
                return Err(bad("epoch in version is empty"));
            }
            if ndigits != digits.len() {
                return Err(bad("epoch in version is not number"));
            }
            let stripped = digits.trim_start_matches('0');
            let value: u64 = if stripped.len() > 10 {
                u64::MAX
            } else {
                stripped.parse().unwrap_or(0)
            };
            if neg && value != 0 {
                return Err(bad("epoch in version is negative"));
            }
            if value > i32::MAX as u64 {
                return Err(bad("epoch in version is too big"));
            }
            let rest = &s[colon + 1..];
            if rest.is_empty() {
                return Err(bad("nothing after colon in version number"));
            }
            (value as u32, rest)
        }
        None => (0, s),
    };
    let (upstream, revision) = match rest.rfind('-') {
        Some(h) => {
            let rev = &rest[h + 1..];
            if rev.is_empty() {
                return Err(bad("revision number is empty"));
            }
            (&rest[..h], rev)
        }
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err(bad("upstream version is empty"));
    }
    Ok(DebVersion {
        epoch,
        upstream,
        revision,
    })
}

/// dpkg's character weight: digits 0, letters their value, `~` −1, anything
/// else its (signed, as on x86-64) byte value plus 256, end of string 0.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => (c as i8) as i32 + 256,
    }
}

/// dpkg's `verrevcmp` on one part (upstream or revision).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0usize, 0usize);
    let at = |k: usize| a.get(k).copied();
    let bt = |k: usize| b.get(k).copied();
    let nondigit = |c: Option<u8>| matches!(c, Some(c) if !c.is_ascii_digit());
    let digit = |c: Option<u8>| matches!(c, Some(c) if c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while nondigit(at(i)) || nondigit(bt(j)) {
            let ac = order(at(i));
            let bc = order(bt(j));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(i) == Some(b'0') {
            i += 1;
        }
        while bt(j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(at(i)) && digit(bt(j)) {
            if first_diff == Ordering::Equal {
                first_diff = at(i).cmp(&bt(j));
            }
            i += 1;
            j += 1;
        }
        if digit(at(i)) {
            return Ordering::Greater;
        }
        if digit(bt(j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let va = parse(a)?;
    let vb = parse(b)?;
    Ok(va
        .epoch
        .cmp(&vb.epoch)
        .then_with(|| verrevcmp(va.upstream.as_bytes(), vb.upstream.as_bytes()))
        .then_with(|| verrevcmp(va.revision.as_bytes(), vb.revision.as_bytes())))
}
