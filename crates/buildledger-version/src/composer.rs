//! Packagist (PHP Composer) versions, ordered as Composer orders them:
//! `Composer\Semver\VersionParser::normalize` on each side, then PHP's
//! `version_compare` on the normalized strings (which is what
//! `Comparator` and constraint matching run).
//!
//! `normalize` is reproduced step by step:
//!
//! * PHP `trim`; an alias (`1.0.x-dev as 1.0.0`) keeps its left side; one
//!   stability flag (`@dev`, `@stable`, …) is dropped; `+build` metadata is
//!   dropped.
//! * *Classical* versions: an optional `v`/`V`, one to four numbers (the
//!   first at most five digits; missing ones become `.0`, so `1.2` is
//!   `1.2.0.0`), then an optional modifier: `[._-]?` and a stability
//!   (`stable`, `beta`/`b`, `RC`, `alpha`/`a`, `patch`/`pl`/`p`, any case)
//!   with optional numbers, and/or `[.-]?dev`. `1.0-b2` becomes
//!   `1.0.0.0-beta2`, `1.0-RC1-dev` `1.0.0.0-RC1-dev`, `1.0-stable` just
//!   `1.0.0.0`.
//! * *Date* versions: four digits and one to six further groups
//!   (`2023.01.31`, `20230131`, `2023-01-31-15:30`), separators becoming
//!   `.`, with the same modifiers.
//! * *Numeric branches*: `1.x-dev`, `2.0.*-dev` and the like become
//!   `1.9999999.9999999.9999999-dev`, `2.0.9999999.9999999-dev`.
//!
//! `version_compare` then orders the normalized strings element by element:
//! numbers numerically (saturating at `i64::MAX`, as `strtol` does), and
//! `dev` < `alpha`/`a` < `beta`/`b` < `RC`/`rc` < a number < `patch`/`pl`/`p`,
//! with any other word below `dev`. So `1.0.0-dev` < `1.0.0-alpha` <
//! `1.0.0-beta` < `1.0.0-RC1` < `1.0.0` < `1.0.0-patch1`.
//!
//! Two deliberate rejections, where Composer would answer something:
//!
//! * **Branch names** — anything that normalizes to `dev-…` (`dev-main`,
//!   `dev-feature/x`, and `master`, `trunk`, `default`, which Composer
//!   rewrites to `dev-master` and so on). Composer never orders a branch
//!   against a version (its constraints simply do not match them), and OSV
//!   Packagist ranges hold tagged versions only, so these are a
//!   [`VersionError`].
//! * A line feed left inside the version after trimming: PCRE's `$` and `.`
//!   treat it specially, no real version has one, and it is not reproduced.
//!
//! Written here (PHP's regular expressions and `version_compare` are small
//! enough to own) and checked against Debian's `php-composer-semver`.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

/// PHP `trim()`'s default set: space, `\t`, `\n`, `\r`, `\0`, `\x0B`.
fn is_php_trim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0b)
}

/// PCRE's `\s` without Unicode: space, `\t`, `\n`, `\x0B`, `\x0C`, `\r`.
fn is_pcre_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn php_trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_php_trim(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_php_trim(b))
        .map_or(start, |i| i + 1);
    &s[start..end]
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn digits_at(s: &[u8], i: usize) -> usize {
    s.get(i..)
        .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
}

fn is_digit_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// `VersionParser::normalize`, for everything but branch names.
pub(crate) fn normalize(input: &str) -> Result<String, VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::Composer, input, reason);
    let mut v = php_trim(input.as_bytes());
    if v.contains(&b'\n') {
        return Err(bad("contains a line feed"));
    }
    if let Some(source) = strip_alias(v) {
        v = source;
    }
    for flag in [&b"@stable"[..], b"@RC", b"@beta", b"@alpha", b"@dev"] {
        if ends_with_ci(v, flag) {
            v = &v[..v.len() - flag.len()];
            break;
        }
    }
    if v == b"master" || v == b"trunk" || v == b"default" || starts_with_ci(v, b"dev-") {
        return Err(bad(
            "is a branch name (dev-...), which Composer does not order against versions",
        ));
    }
    if let Some(version) = strip_build(v) {
        v = version;
    }
    classical(v)
        .or_else(|| date(v))
        .or_else(|| numeric_branch(v))
        .ok_or_else(|| bad("not a Composer version (see VersionParser::normalize)"))
}

/// `^([^,\s]++) ++as ++([^,\s]++)$`: the alias source.
fn strip_alias(v: &[u8]) -> Option<&[u8]> {
    let word = |s: &[u8]| {
        s.iter()
            .take_while(|&&b| b != b',' && !is_pcre_space(b))
            .count()
    };
    let spaces = |s: &[u8]| s.iter().take_while(|&&b| b == b' ').count();
    let a = word(v);
    if a == 0 {
        return None;
    }
    let mut i = a;
    let n = spaces(&v[i..]);
    if n == 0 {
        return None;
    }
    i += n;
    if !v[i..].starts_with(b"as") {
        return None;
    }
    i += 2;
    let n = spaces(&v[i..]);
    if n == 0 {
        return None;
    }
    i += n;
    let b = word(&v[i..]);
    (b > 0 && i + b == v.len()).then_some(&v[..a])
}

/// `^([^,\s+]++)\+[^\s]++$`: the version without build metadata.
fn strip_build(v: &[u8]) -> Option<&[u8]> {
    let a = v
        .iter()
        .take_while(|&&b| b != b',' && b != b'+' && !is_pcre_space(b))
        .count();
    if a == 0 || v.get(a) != Some(&b'+') {
        return None;
    }
    let rest = &v[a + 1..];
    (!rest.is_empty() && !rest.iter().any(|&b| is_pcre_space(b))).then_some(&v[..a])
}

/// What `$modifierRegex` captured.
struct Modifier<'a> {
    /// The stability word as written (group `index`), if any.
    stability: Option<&'a [u8]>,
    /// The numbers after it (group `index + 1`), possibly empty.
    numbers: &'a [u8],
    /// Whether `[.-]?dev` matched (group `index + 2`).
    dev: bool,
}

const STABILITIES: [&[u8]; 9] = [
    b"stable", b"beta", b"b", b"RC", b"alpha", b"a", b"patch", b"pl", b"p",
];

/// `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$`
/// (case-insensitive) on all of `r`. The grammar leaves no real choice, so
/// the first parse found is the one PCRE's backtracking finds.
fn modifier(r: &[u8]) -> Option<Modifier<'_>> {
    let dev_at = |q: usize| -> (bool, usize) {
        let rest = r.get(q..).unwrap_or_default();
        if matches!(rest.first(), Some(b'.' | b'-')) && starts_with_ci(&rest[1..], b"dev") {
            (true, q + 4)
        } else if starts_with_ci(rest, b"dev") {
            (true, q + 3)
        } else {
            (false, q)
        }
    };
    let seps: &[usize] = if matches!(r.first(), Some(b'.' | b'_' | b'-')) {
        &[1, 0]
    } else {
        &[0]
    };
    for &p in seps {
        for word in STABILITIES {
            if !starts_with_ci(&r[p..], word) {
                continue;
            }
            let q0 = p + word.len();
            let mut q = q0;
            // (?:[.-]?\d+)*+ : possessive, so the longest run.
            loop {
                if is_digit_at(r, q) {
                    q += digits_at(r, q);
                } else if matches!(r.get(q), Some(b'.' | b'-')) && is_digit_at(r, q + 1) {
                    q += 1 + digits_at(r, q + 1);
                } else {
                    break;
                }
            }
            let (dev, end) = dev_at(q);
            if end == r.len() {
                return Some(Modifier {
                    stability: Some(&r[p..q0]),
                    numbers: &r[q0..q],
                    dev,
                });
            }
        }
        let (dev, end) = dev_at(p);
        if end == r.len() {
            return Some(Modifier {
                stability: None,
                numbers: b"",
                dev,
            });
        }
    }
    None
}

/// Append what `normalize` appends for a modifier: `-` and the expanded
/// stability with its numbers (nothing at all, not even `-dev`, for a
/// lower-case `stable`), then `-dev`.
fn apply_modifier(mut version: String, m: &Modifier<'_>) -> String {
    if let Some(word) = m.stability {
        if word == b"stable" {
            return version;
        }
        let lower = word.to_ascii_lowercase();
        let expanded: &str = match lower.as_slice() {
            b"a" | b"alpha" => "alpha",
            b"b" | b"beta" => "beta",
            b"p" | b"pl" | b"patch" => "patch",
            b"rc" => "RC",
            // "stable" in another case: expandStability lower-cases it.
            _ => "stable",
        };
        version.push('-');
        version.push_str(expanded);
        let numbers = m
            .numbers
            .iter()
            .position(|&b| b != b'.' && b != b'-')
            .map_or(&b""[..], |i| &m.numbers[i..]);
        version.extend(numbers.iter().map(|&b| char::from(b)));
    }
    if m.dev {
        version.push_str("-dev");
    }
    version
}

fn ascii(s: &[u8]) -> String {
    s.iter().map(|&b| char::from(b)).collect()
}

/// `^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?` + modifier + `$`.
fn classical(v: &[u8]) -> Option<String> {
    let mut i = usize::from(matches!(v.first(), Some(b'v' | b'V')));
    let major = digits_at(v, i);
    // Nothing after the major number may start with a digit, so a longer
    // run cannot match by backtracking either.
    if major == 0 || major > 5 {
        return None;
    }
    let mut version = ascii(&v[i..i + major]);
    i += major;
    let mut parts = 0;
    while parts < 3 && v.get(i) == Some(&b'.') && is_digit_at(v, i + 1) {
        let n = 1 + digits_at(v, i + 1);
        version.push_str(&ascii(&v[i..i + n]));
        i += n;
        parts += 1;
    }
    for _ in parts..3 {
        version.push_str(".0");
    }
    let m = modifier(&v[i..])?;
    Some(apply_modifier(version, &m))
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)` + modifier + `$`.
fn date(v: &[u8]) -> Option<String> {
    let start = usize::from(matches!(v.first(), Some(b'v' | b'V')));
    if digits_at(v, start) < 4 {
        return None;
    }
    let is_sep = |i: usize| matches!(v.get(i), Some(b'.' | b':' | b'-'));
    // Every place the date part can end; at most one is followed by a
    // valid modifier (a modifier cannot start with a digit or with a
    // separator and a digit).
    let mut ends = Vec::new();
    let mut frontier = vec![start + 4];
    for _ in 0..6 {
        let mut next = Vec::new();
        for &p in &frontier {
            if is_digit_at(v, p) && is_digit_at(v, p + 1) {
                next.push(p + 2);
            }
            if is_sep(p) && is_digit_at(v, p + 1) && is_digit_at(v, p + 2) {
                next.push(p + 3);
            }
        }
        next.sort_unstable();
        next.dedup();
        ends.extend_from_slice(&next);
        frontier = next;
    }
    let mut all = ends.clone();
    for &e in &ends {
        for s in [e, e + 1] {
            if s == e + 1 && !is_sep(e) {
                continue;
            }
            for k in 1..=3 {
                if (s..s + k).all(|i| is_digit_at(v, i)) {
                    all.push(s + k);
                }
            }
        }
    }
    all.sort_unstable();
    all.dedup();
    for e in all {
        if let Some(m) = modifier(&v[e..]) {
            let body: String = v[start..e]
                .iter()
                .map(|&b| {
                    if b.is_ascii_digit() {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            return Some(apply_modifier(body, &m));
        }
    }
    None
}

/// `(.*?)[.-]?dev$` then `normalizeBranch` on the part before: only numeric
/// branches (`1.x-dev`) give a version; anything else is invalid.
fn numeric_branch(v: &[u8]) -> Option<String> {
    if !ends_with_ci(v, b"dev") {
        return None;
    }
    let mut name = &v[..v.len() - 3];
    if matches!(name.last(), Some(b'.' | b'-')) {
        name = &name[..name.len() - 1];
    }
    let name = php_trim(name);
    // ^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$
    let mut i = usize::from(matches!(name.first(), Some(b'v' | b'V')));
    let n = digits_at(name, i);
    if n == 0 {
        return None;
    }
    let mut version = ascii(&name[i..i + n]);
    i += n;
    let mut parts = 0;
    while parts < 3 && name.get(i) == Some(&b'.') {
        let d = digits_at(name, i + 1);
        if d > 0 {
            version.push_str(&ascii(&name[i..i + 1 + d]));
            i += 1 + d;
        } else if matches!(name.get(i + 1), Some(b'x' | b'X' | b'*')) {
            version.push_str(".x");
            i += 2;
        } else {
            break;
        }
        parts += 1;
    }
    if i != name.len() {
        return None;
    }
    for _ in parts..3 {
        version.push_str(".x");
    }
    Some(version.replace('x', "9999999") + "-dev")
}

pub(crate) fn validate(v: &str) -> Result<(), VersionError> {
    normalize(v).map(|_| ())
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let na = normalize(a)?;
    let nb = normalize(b)?;
    Ok(php_version_compare(na.as_bytes(), nb.as_bytes()).cmp(&0))
}

// ------------------------------------------------------------ version_compare

/// `php_canonicalize_version` (ext/standard/versioning.c): `-`, `_`, `+` and
/// other non-alphanumerics become `.`, and a `.` goes between a digit and a
/// non-digit, never doubled.
fn canonicalize(v: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = v.split_first() else {
        return Vec::new();
    };
    let is_dig = |c: u8| c.is_ascii_digit();
    let is_ndig = |c: u8| !c.is_ascii_digit() && c != b'.';
    let mut q = Vec::with_capacity(v.len() * 2);
    q.push(first);
    let mut lp = first;
    for &c in rest {
        let lq = q.last().copied().unwrap_or(0);
        if matches!(c, b'-' | b'_' | b'+') {
            if lq != b'.' {
                q.push(b'.');
            }
        } else if (is_ndig(lp) && is_dig(c)) || (is_dig(lp) && is_ndig(c)) {
            if lq != b'.' {
                q.push(b'.');
            }
            q.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if lq != b'.' {
                q.push(b'.');
            }
        } else {
            q.push(c);
        }
        lp = c;
    }
    q
}

/// `compare_special_version_forms`: prefix matches, first match wins.
fn special_form_order(form: &[u8]) -> i32 {
    const FORMS: [(&[u8], i32); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map_or(-1, |&(_, order)| order)
}

fn compare_special(a: &[u8], b: &[u8]) -> i32 {
    (special_form_order(a) - special_form_order(b)).signum()
}

/// `strtol` on an element that starts with a digit: saturates at
/// `LONG_MAX`.
fn strtol(e: &[u8]) -> i64 {
    e.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |acc, &b| {
            acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
        })
}

/// `php_version_compare`, step for step (including its recursion on the
/// remainder of the longer version against the pseudo-element `#N#`).
fn php_version_compare(orig1: &[u8], orig2: &[u8]) -> i32 {
    if orig1.is_empty() || orig2.is_empty() {
        return match (orig1.is_empty(), orig2.is_empty()) {
            (true, true) => 0,
            (false, _) => 1,
            _ => -1,
        };
    }
    let canon = |v: &[u8]| {
        if v.first() == Some(&b'#') {
            v.to_vec()
        } else {
            canonicalize(v)
        }
    };
    let v1 = canon(orig1);
    let v2 = canon(orig2);
    let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
    let (mut p1, mut p2) = (0usize, 0usize);
    // `n1`/`n2`: where the current element's '.' was (NULL when the
    // element runs to the end); "not NULL" before the first step.
    let (mut n1, mut n2) = (Some(0usize), Some(0usize));
    let mut compare = 0;
    while at(&v1, p1) != 0 && at(&v2, p2) != 0 && n1.is_some() && n2.is_some() {
        n1 = v1[p1..].iter().position(|&b| b == b'.').map(|i| p1 + i);
        n2 = v2[p2..].iter().position(|&b| b == b'.').map(|i| p2 + i);
        let e1 = &v1[p1..n1.unwrap_or(v1.len())];
        let e2 = &v2[p2..n2.unwrap_or(v2.len())];
        let d1 = e1.first().is_some_and(u8::is_ascii_digit);
        let d2 = e2.first().is_some_and(u8::is_ascii_digit);
        compare = match (d1, d2) {
            (true, true) => strtol(e1).cmp(&strtol(e2)) as i32,
            (false, false) => compare_special(e1, e2),
            (true, false) => compare_special(b"#N#", e2),
            (false, true) => compare_special(e1, b"#N#"),
        };
        if compare != 0 {
            break;
        }
        if let Some(n) = n1 {
            p1 = n + 1;
        }
        if let Some(n) = n2 {
            p2 = n + 1;
        }
    }
    if compare == 0 {
        if n1.is_some() {
            compare = if at(&v1, p1).is_ascii_digit() {
                1
            } else {
                php_version_compare(&v1[p1..], b"#N#")
            };
        } else if n2.is_some() {
            compare = if at(&v2, p2).is_ascii_digit() {
                -1
            } else {
                php_version_compare(b"#N#", &v2[p2..])
            };
        }
    }
    compare
}
