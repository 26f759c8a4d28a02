//! NuGet versions, ordered as NuGet.Versioning's `NuGetVersion` orders them
//! (`NuGetVersion.TryParse` and `VersionComparer.Default`).
//!
//! A version is `N[.N[.N[.N]]][-LABELS][+METADATA]`:
//!
//! * The input is trimmed first (.NET `String.Trim`: Unicode white space).
//!   There is **no `v` prefix**: `TryParse("v1.0")` fails, and so do we.
//! * One to four numbers; missing ones are 0, so `1`, `1.0`, `1.0.0` and
//!   `1.0.0.0` are equal. The fourth number is the legacy *revision*: it is
//!   compared after the patch number and before the release labels
//!   (`1.0.0.1-alpha` > `1.0.0`). Leading zeros are allowed (`1.01` = `1.1`);
//!   each number is at most `Int32.MaxValue` (larger ones are rejected, as
//!   NuGet rejects them). White space around a number is allowed
//!   (`1 .2` = `1.2`), as NuGet's section parser skips it; a trailing `.` or
//!   an empty number is not.
//! * The part after the first `-` (up to the next `+`) is the release labels,
//!   `.`-separated, each non-empty `[0-9A-Za-z-]`, no leading zero on an
//!   all-digit label. A version with labels sorts before the same version
//!   without. Labels are compared left to right: a label that .NET's
//!   `int.TryParse` reads as a number (digits, or `-` and digits, within
//!   `Int32`) compares numerically and before any other label; other labels
//!   compare ordinally ignoring ASCII case; more labels win when all shared
//!   ones are equal.
//! * The part after the `+` is build metadata: `.`-separated non-empty
//!   `[0-9A-Za-z-]` parts (leading zeros allowed), ignored by the ordering.
//!
//! Written here from NuGet.Versioning's source (`NuGetVersionFactory.cs`,
//! `SemanticVersionFactory.cs`, `VersionComparer.cs`); the tests compare it
//! with Python's `univers` on the inputs where univers agrees with NuGet.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

/// A parsed version; labels borrow from the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parsed<'a> {
    /// Major, minor, patch, revision.
    numbers: [u32; 4],
    /// The release labels without the leading `-`; `None` for a release.
    labels: Option<&'a str>,
}

pub(crate) fn parse(input: &str) -> Result<Parsed<'_>, VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::NuGet, input, reason);
    let s = input.trim();
    let (version, labels, metadata) = sections(s);
    if version.is_empty() {
        return Err(bad("no version number before '-' or '+'"));
    }
    let numbers = numbers(version).ok_or_else(|| {
        bad("expected 1 to 4 '.'-separated numbers of at most 2147483647 (no 'v' prefix)")
    })?;
    if labels.is_some_and(|l| !l.split('.').all(|p| valid_part(p, false))) {
        return Err(bad(
            "release labels must be non-empty [0-9A-Za-z-] without leading zeros on numbers",
        ));
    }
    if metadata.is_some_and(|m| !m.split('.').all(|p| valid_part(p, true))) {
        return Err(bad("build metadata parts must be non-empty [0-9A-Za-z-]"));
    }
    Ok(Parsed { numbers, labels })
}

/// `SemanticVersion.ParseSections` on the trimmed input: the version part up
/// to the first `-` or `+`, the labels up to the next `+`, the metadata
/// after it. As in NuGet, a separator that is the last character stays in
/// the part before it (and so makes that part invalid).
fn sections(s: &str) -> (&str, Option<&str>, Option<&str>) {
    let Some(i) = s.find(['-', '+']) else {
        return (s, None, None);
    };
    if i + 1 == s.len() {
        return (s, None, None);
    }
    let rest = &s[i + 1..];
    if s.as_bytes()[i] == b'+' {
        return (&s[..i], None, Some(rest));
    }
    match rest.find('+') {
        None => (&s[..i], Some(rest), None),
        Some(j) if j + 1 == rest.len() => (&s[..i], Some(rest), None),
        Some(j) => (&s[..i], Some(&rest[..j]), Some(&rest[j + 1..])),
    }
}

/// `NuGetVersion.TryGetNormalizedVersion`: four sections, each a number with
/// optional white space around it, an empty section only at the end.
fn numbers(version: &str) -> Option<[u32; 4]> {
    if version.chars().all(char::is_whitespace) {
        return None;
    }
    let chars: Vec<char> = version.chars().collect();
    let mut out = [0u32; 4];
    let mut pos = 0;
    for n in &mut out {
        let (value, next) = section(&chars, pos)?;
        *n = value;
        pos = next;
    }
    (pos == chars.len()).then_some(out)
}

/// One `ParseSection` step from `start`: the number and where the next
/// section starts.
fn section(s: &[char], start: usize) -> Option<(u32, usize)> {
    if start == s.len() {
        return Some((0, start));
    }
    let mut end = start;
    // Leading white space; then a digit must come.
    while let Some(&c) = s.get(end) {
        if !c.is_whitespace() {
            if c.is_ascii_digit() {
                break;
            }
            return None;
        }
        end += 1;
    }
    let mut done = false;
    let mut digit_found = false;
    let mut value: u64 = 0;
    while let Some(&c) = s.get(end) {
        if let Some(d) = c.to_digit(10) {
            digit_found = true;
            value = value * 10 + u64::from(d);
            if value > i32::MAX as u64 {
                return None;
            }
        } else if c == '.' {
            end += 1;
            if end == s.len() {
                // The version ends with '.'.
                return None;
            }
            done = true;
            break;
        } else if c.is_whitespace() {
            break;
        } else {
            return None;
        }
        end += 1;
    }
    if !digit_found {
        return None;
    }
    if end == s.len() {
        done = true;
    }
    if !done {
        // Trailing white space, then '.' or the end.
        while let Some(&c) = s.get(end) {
            if !c.is_whitespace() {
                if c == '.' {
                    end += 1;
                    if end == s.len() {
                        return None;
                    }
                    break;
                }
                return None;
            }
            end += 1;
        }
    }
    u32::try_from(value).ok().map(|v| (v, end))
}

/// `SemanticVersion.IsValidPart`.
fn valid_part(s: &str, allow_leading_zeros: bool) -> bool {
    if s.is_empty() {
        return false;
    }
    let b = s.as_bytes();
    if !allow_leading_zeros && b.len() > 1 && b[0] == b'0' && b[1..].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

pub(crate) fn validate(v: &str) -> Result<(), VersionError> {
    parse(v).map(|_| ())
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let pa = parse(a)?;
    let pb = parse(b)?;
    Ok(pa
        .numbers
        .cmp(&pb.numbers)
        .then_with(|| match (pa.labels, pb.labels) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => compare_labels(x, y),
        }))
}

/// `VersionComparer.CompareReleaseLabels`.
fn compare_labels(a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let c = compare_label(x, y);
                if c != Ordering::Equal {
                    return c;
                }
            }
        }
    }
}

/// `VersionComparer.CompareRelease`: numbers (as `int.TryParse` reads them)
/// numerically and first, everything else ordinally ignoring case.
fn compare_label(x: &str, y: &str) -> Ordering {
    match (int32(x), int32(y)) {
        (Some(p), Some(q)) => p.cmp(&q),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => x
            .bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(y.bytes().map(|c| c.to_ascii_uppercase())),
    }
}

/// .NET's `int.TryParse` (NumberStyles.Integer) on a label, which only holds
/// `[0-9A-Za-z-]`: an optional `-`, then digits, within `Int32`.
fn int32(s: &str) -> Option<i32> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeros do not count; more than ten significant digits cannot
    // fit.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    let magnitude: i64 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    let value = if s.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    i32::try_from(value).ok()
}
