//! Maven versions, ordered as Maven 3.8's `ComparableVersion` orders them.
//!
//! The version is lower-cased and split into items: numbers and qualifiers
//! separated by `.`, with `-` and every switch between digits and letters
//! opening a nested list. Trailing "null" items (`0`, empty and release
//! qualifiers such as `ga` or `final`) are dropped from each list. Known
//! qualifiers sort `alpha < beta < milestone < rc = cr < snapshot < "" = ga =
//! final = release < sp`; unknown ones after all of them, alphabetically. A
//! single `a`, `b` or `m` directly followed by a digit means alpha, beta or
//! milestone. Numbers are unbounded and sort above any qualifier.
//!
//! There is no Rust crate for this, so it is written here and checked against
//! the `ComparableVersion` class from Debian's `maven-artifact` jar. Only
//! printable-ASCII versions are accepted: Java lower-cases and classifies digits over
//! all of Unicode, which is not worth reproducing for Maven coordinates.

use std::cmp::Ordering;

use crate::{Scheme, VersionError, cmp_digits};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A number, leading zeros stripped (`""` is zero).
    Int(String),
    /// A qualifier after alias expansion.
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// Index of the release qualifier `""` in [`QUALIFIERS`], as Maven spells it.
const RELEASE_INDEX: &str = "5";

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn string_item(value: &str, followed_by_digit: bool) -> Item {
    let mut v = value;
    if followed_by_digit && v.len() == 1 {
        v = match v {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        };
    }
    let v = match v {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(v.to_string())
}

fn parse_item(is_digit: bool, buf: &str) -> Item {
    if is_digit {
        Item::Int(buf.trim_start_matches('0').to_string())
    } else {
        string_item(buf, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(v) => v.is_empty(),
            Item::Str(v) => v.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// `this.compareTo(other)` with `None` standing for Java's `null`.
    fn cmp_to(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(v), None) => {
                if v.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(v), Some(Item::Int(w))) => cmp_digits(v, w),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(q), None) => comparable_qualifier(q).as_str().cmp(RELEASE_INDEX),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(q), Some(Item::Str(r))) => {
                comparable_qualifier(q).cmp(&comparable_qualifier(r))
            }
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(items), None) => {
                for i in items {
                    let c = i.cmp_to(None);
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                Ordering::Equal
            }
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(l), Some(Item::List(r))) => {
                let n = l.len().max(r.len());
                for k in 0..n {
                    let c = match (l.get(k), r.get(k)) {
                        (None, None) => Ordering::Equal,
                        (None, Some(ri)) => ri.cmp_to(None).reverse(),
                        (Some(li), ri) => li.cmp_to(ri),
                    };
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

/// Remove trailing null items, stopping at the first non-null non-list item.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Build the item tree. Lists are kept on an explicit stack (innermost last)
/// and attached to their parents when closed, so nesting depth is bounded by
/// the input length, which is bounded by [`crate::MAX_VERSION_LEN`].
fn parse(version: &str) -> Item {
    let v = version.to_ascii_lowercase();
    let b = v.as_bytes();
    // stack[k] is a list that will become the last element of stack[k - 1].
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0usize;
    let top = |stack: &mut Vec<Vec<Item>>| -> usize { stack.len() - 1 };
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' || c == b'-' {
            let item = if i == start {
                Item::Int(String::new())
            } else {
                parse_item(is_digit, &v[start..i])
            };
            let t = top(&mut stack);
            stack[t].push(item);
            start = i + 1;
            if c == b'-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // A qualifier after `.` opens its own list, as after `-`.
                if stack.last().is_some_and(|l| !l.is_empty()) {
                    stack.push(Vec::new());
                }
                let t = top(&mut stack);
                stack[t].push(string_item(&v[start..i], true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                let t = top(&mut stack);
                stack[t].push(parse_item(true, &v[start..i]));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if b.len() > start {
        // A trailing qualifier after `.` is treated as if after `-`
        // (`1.0.0.X1` < `1.0.0-X2`): it opens its own list.
        if !is_digit && stack.last().is_some_and(|l| !l.is_empty()) {
            stack.push(Vec::new());
        }
        let t = top(&mut stack);
        stack[t].push(parse_item(is_digit, &v[start..]));
    }
    // Close lists innermost first: normalise, then append to the parent.
    while stack.len() > 1 {
        let mut inner = stack.pop().unwrap_or_default();
        normalize(&mut inner);
        let t = top(&mut stack);
        stack[t].push(Item::List(inner));
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    Item::List(root)
}

pub(crate) fn validate(v: &str) -> Result<(), VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::Maven, v, reason);
    // Maven accepts every string, the empty one included (it equals `0`).
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("version has a character outside printable ASCII"));
    }
    Ok(())
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    validate(a)?;
    validate(b)?;
    Ok(parse(a).cmp_to(Some(&parse(b))))
}
