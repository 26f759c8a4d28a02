//! Semantic-version orderings: SemVer 2.0.0, Go modules and npm.
//!
//! The three share one grammar (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`) and one
//! precedence rule, and differ only at the edges:
//!
//! * **SemVer** is the 2.0.0 specification as written: no prefix, numbers of
//!   any size, build metadata ignored. The `semver` crate is not used because
//!   it caps numbers at `u64` and its `Ord` also orders build metadata; the
//!   grammar is small enough to own.
//! * **Go** follows `golang.org/x/mod/semver`: a `v` prefix (optional in our
//!   API, as the Go vulnerability database omits it), the shorthands `v1` and
//!   `v1.2` meaning `v1.0.0` and `v1.2.0`, pseudo-versions and
//!   `+incompatible` being ordinary pre-release and build parts.
//! * **Npm** follows node-semver's strict `valid()`/`compare()`: surrounding
//!   whitespace and one leading `v` are allowed, at most 256 bytes, major,
//!   minor and patch at most 2^53 − 1, and numeric pre-release identifiers are
//!   compared the way JavaScript compares them: as doubles.

use std::cmp::Ordering;

use crate::{Scheme, VersionError, cmp_digits};

/// node-semver's `MAX_LENGTH`.
const NPM_MAX_LENGTH: usize = 256;
/// JavaScript's `Number.MAX_SAFE_INTEGER`.
const JS_MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    SemVer,
    Go,
    Npm,
}

impl Flavor {
    fn scheme(self) -> Scheme {
        match self {
            Flavor::SemVer => Scheme::SemVer,
            Flavor::Go => Scheme::Go,
            Flavor::Npm => Scheme::Npm,
        }
    }
}

/// A parsed version; all parts borrow from the input.
#[derive(Debug, Clone, Copy)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// Pre-release without the leading `-`; empty when absent.
    pre: &'a str,
}

fn parse(flavor: Flavor, input: &str) -> Result<Parsed<'_>, VersionError> {
    let scheme = flavor.scheme();
    let bad = |reason: &str| VersionError::invalid(scheme, input, reason);
    let mut s = input;
    match flavor {
        Flavor::SemVer => {}
        Flavor::Go => {
            s = s.strip_prefix('v').unwrap_or(s);
        }
        Flavor::Npm => {
            if input.len() > NPM_MAX_LENGTH {
                return Err(bad("longer than node-semver's 256 characters"));
            }
            s = s.trim_matches(is_js_whitespace);
            s = s.strip_prefix('v').unwrap_or(s);
        }
    }
    let (major, rest) = take_number(s).ok_or_else(|| bad("major version is not a number"))?;
    let short = |minor: &'static str| Parsed {
        major,
        minor,
        patch: "0",
        pre: "",
    };
    if rest.is_empty() && flavor == Flavor::Go {
        return Ok(short("0"));
    }
    let rest = rest
        .strip_prefix('.')
        .ok_or_else(|| bad("expected '.' after major version"))?;
    let (minor, rest) = take_number(rest).ok_or_else(|| bad("minor version is not a number"))?;
    if rest.is_empty() && flavor == Flavor::Go {
        return Ok(Parsed {
            minor,
            ..short("0")
        });
    }
    let rest = rest
        .strip_prefix('.')
        .ok_or_else(|| bad("expected '.' after minor version"))?;
    let (patch, mut rest) =
        take_number(rest).ok_or_else(|| bad("patch version is not a number"))?;
    let mut pre = "";
    if let Some(r) = rest.strip_prefix('-') {
        let end = r.find('+').unwrap_or(r.len());
        pre = &r[..end];
        rest = &r[end..];
        for id in pre.split('.') {
            if id.is_empty() {
                return Err(bad("empty pre-release identifier"));
            }
            if !id.bytes().all(is_ident_byte) {
                return Err(bad(
                    "pre-release identifier has a character outside [0-9A-Za-z-]",
                ));
            }
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("numeric pre-release identifier has a leading zero"));
            }
        }
    }
    if let Some(build) = rest.strip_prefix('+') {
        for id in build.split('.') {
            if id.is_empty() {
                return Err(bad("empty build identifier"));
            }
            if !id.bytes().all(is_ident_byte) {
                return Err(bad("build identifier has a character outside [0-9A-Za-z-]"));
            }
        }
        rest = "";
    }
    if !rest.is_empty() {
        return Err(bad("unexpected characters after the patch version"));
    }
    if flavor == Flavor::Npm {
        for n in [major, minor, patch] {
            if n.len() > 16 || n.parse::<u64>().map_or(true, |v| v > JS_MAX_SAFE_INTEGER) {
                return Err(bad(
                    "number larger than node-semver's Number.MAX_SAFE_INTEGER",
                ));
            }
        }
    }
    Ok(Parsed {
        major,
        minor,
        patch,
        pre,
    })
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// JavaScript's `String.prototype.trim` set: Unicode space separators, the
/// ASCII controls TAB/LF/VT/FF/CR, U+FEFF and U+2028/U+2029 (but not U+0085).
fn is_js_whitespace(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// A number with no leading zero (other than `0` itself) at the start of `s`.
fn take_number(s: &str) -> Option<(&str, &str)> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 || (end > 1 && s.starts_with('0')) {
        return None;
    }
    Some((&s[..end], &s[end..]))
}

pub(crate) fn validate(flavor: Flavor, v: &str) -> Result<(), VersionError> {
    parse(flavor, v).map(|_| ())
}

pub(crate) fn compare(flavor: Flavor, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let pa = parse(flavor, a)?;
    let pb = parse(flavor, b)?;
    Ok(cmp_digits(pa.major, pb.major)
        .then_with(|| cmp_digits(pa.minor, pb.minor))
        .then_with(|| cmp_digits(pa.patch, pb.patch))
        .then_with(|| compare_pre(flavor, pa.pre, pb.pre)))
}

fn compare_pre(flavor: Flavor, a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let c = compare_ident(flavor, x, y);
                if c != Ordering::Equal {
                    return c;
                }
            }
        }
    }
}

fn compare_ident(flavor: Flavor, x: &str, y: &str) -> Ordering {
    let nx = x.bytes().all(|b| b.is_ascii_digit());
    let ny = y.bytes().all(|b| b.is_ascii_digit());
    match (nx, ny) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
        (true, true) => {
            if flavor == Flavor::Npm {
                // JavaScript converts both with unary `+`: correctly rounded
                // doubles, exactly like Rust's `f64::from_str`.
                let fx = x.parse::<f64>().unwrap_or(f64::INFINITY);
                let fy = y.parse::<f64>().unwrap_or(f64::INFINITY);
                fx.partial_cmp(&fy).unwrap_or(Ordering::Equal)
            } else {
                cmp_digits(x, y)
            }
        }
    }
}
