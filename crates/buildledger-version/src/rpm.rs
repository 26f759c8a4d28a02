//! RPM versions, ordered as rpm 4.18's `rpmverCmp` (and so `rpm.vercmp` and
//! `rpmdev-vercmp`) orders `[epoch:]version[-release]` strings.
//!
//! The string is split as rpm splits it: a run of leading digits followed by
//! `:` is the epoch (empty means 0; absent means 0), the part after the last
//! `-` is the release. Epoch, version and release are each compared with
//! `rpmvercmp`: alphanumeric segments, digits as numbers (and newer than
//! letters), `~` sorting before everything (pre-releases) and `^` after the
//! end of the string but before any further segment (post-release
//! snapshots). A version with a release (even an empty one, `1.0-`) is
//! newer than the same version without one.
//!
//! rpm accepts any non-empty string; so does this module (control characters
//! aside), and the tests check it against rpm's own `rpm.vercmp`.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

struct Evr<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

fn parse_evr(s: &str) -> Evr<'_> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let after = &s[digits..];
    let (epoch, version_start) = if after.starts_with(':') {
        let e = &s[..digits];
        (if e.is_empty() { "0" } else { e }, digits + 1)
    } else {
        ("0", 0)
    };
    // rpm searches for the release separator after the epoch digits.
    match after.rfind('-') {
        Some(h) => {
            let h = digits + h;
            Evr {
                epoch,
                version: s.get(version_start..h).unwrap_or(""),
                release: Some(&s[h + 1..]),
            }
        }
        None => Evr {
            epoch,
            version: &s[version_start..],
            release: None,
        },
    }
}

pub(crate) fn validate(v: &str) -> Result<(), VersionError> {
    if v.is_empty() {
        return Err(VersionError::invalid(
            Scheme::Rpm,
            v,
            "version string is empty",
        ));
    }
    if v.bytes().any(|b| b.is_ascii_control()) {
        return Err(VersionError::invalid(
            Scheme::Rpm,
            v,
            "version string contains a control character",
        ));
    }
    Ok(())
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    validate(a)?;
    validate(b)?;
    let ea = parse_evr(a);
    let eb = parse_evr(b);
    let mut c = rpmvercmp(ea.epoch.as_bytes(), eb.epoch.as_bytes());
    if c == Ordering::Equal {
        c = rpmvercmp(ea.version.as_bytes(), eb.version.as_bytes());
    }
    if c == Ordering::Equal {
        c = match (ea.release, eb.release) {
            (Some(ra), Some(rb)) => rpmvercmp(ra.as_bytes(), rb.as_bytes()),
            // A release, even an empty one, is newer than none.
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
    }
    Ok(c)
}

/// rpm's segment comparison of one part (epoch, version or release).
pub(crate) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let ca = a.get(i).copied();
        let cb = b.get(j).copied();
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let numeric = ca.is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let ea = i + a[i..].iter().take_while(|c| class(c)).count();
        let eb = j + b[j..].iter().take_while(|c| class(c)).count();
        if eb == j {
            // The segments are of different kinds: a number is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let mut sa = &a[i..ea];
        let mut sb = &b[j..eb];
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            let c = sa.len().cmp(&sb.len());
            if c != Ordering::Equal {
                return c;
            }
        }
        let c = sa.cmp(sb);
        if c != Ordering::Equal {
            return c;
        }
        i = ea;
        j = eb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}
