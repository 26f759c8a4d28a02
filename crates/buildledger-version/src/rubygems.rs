//! RubyGems versions, ordered as `Gem::Version#<=>` orders them.
//!
//! A version is digits followed by `.`-separated alphanumeric parts and an
//! optional `-` part (which RubyGems rewrites to `.pre.`). It is cut into
//! segments (runs of digits, runs of letters); trailing zero numbers are
//! dropped from the numeric head and from the part after the first letter
//! run; then segments are compared one by one, a missing segment counting as
//! `0`, a letter segment sorting below a number (a pre-release).
//!
//! Written here (there is no maintained crate) and checked against Ruby's own
//! `Gem::Version`.

use std::cmp::Ordering;

use crate::{Scheme, VersionError, cmp_digits, strip_zeros};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    /// Digits with leading zeros stripped (`""` is zero).
    Num(&'a str),
    Str(&'a str),
}

/// Ruby's `\s`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// Check against `Gem::Version::ANCHORED_VERSION_PATTERN` and return the
/// stripped version text.
fn check(input: &str) -> Result<&str, VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::RubyGems, input, reason);
    let s = input.trim_matches(is_ruby_space);
    if s.is_empty() {
        // Gem::Version treats a blank version as "0".
        return Ok("0");
    }
    let (main, pre) = match s.find('-') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = main.split('.');
    let first = parts.next().unwrap_or("");
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("must start with a number"));
    }
    for p in parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("each '.'-separated part must be non-empty [0-9A-Za-z]"));
        }
    }
    if let Some(pre) = pre {
        for p in pre.split('.') {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(bad("each part after '-' must be non-empty [0-9A-Za-z-]"));
            }
        }
    }
    Ok(s)
}

/// Parsed segments in canonical form.
pub(crate) fn parse(input: &str) -> Result<Vec<Seg<'_>>, VersionError> {
    let s = check(input)?;
    // `-` becomes `.pre.`: the segment scan only sees an extra "pre" letter
    // run where each `-` was.
    let mut segs = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            segs.push(Seg::Str("pre"));
            i += 1;
        } else if b[i].is_ascii_digit() {
            let end = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            segs.push(Seg::Num(strip_zeros(&s[i..end])));
            i = end;
        } else if b[i].is_ascii_alphabetic() {
            let end = i + b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            segs.push(Seg::Str(&s[i..end]));
            i = end;
        } else {
            i += 1;
        }
    }
    // canonical_segments: split at the first string segment, drop trailing
    // zeros from each half, concatenate.
    let split = segs
        .iter()
        .position(|x| matches!(x, Seg::Str(_)))
        .unwrap_or(segs.len());
    let mut tail = segs.split_off(split);
    let is_zero = |x: &Seg<'_>| matches!(x, Seg::Num(""));
    while segs.last().is_some_and(is_zero) {
        segs.pop();
    }
    while tail.last().is_some_and(is_zero) {
        tail.pop();
    }
    segs.extend(tail);
    Ok(segs)
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let sa = parse(a)?;
    let sb = parse(b)?;
    let zero = Seg::Num("");
    for k in 0..sa.len().max(sb.len()) {
        let x = sa.get(k).unwrap_or(&zero);
        let y = sb.get(k).unwrap_or(&zero);
        let c = match (x, y) {
            (Seg::Num(p), Seg::Num(q)) => cmp_digits(p, q),
            (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
            (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
            (Seg::Str(p), Seg::Str(q)) => p.cmp(q),
        };
        if c != Ordering::Equal {
            return Ok(c);
        }
    }
    Ok(Ordering::Equal)
}
