//! OSV range evaluation (the "Evaluation" section of the OSV schema), independent of any
//! particular version syntax: the caller supplies the comparator.

use std::cmp::Ordering;

use crate::model::{Affected, Event, RangeKind};

/// The outcome of evaluating one version against one affected package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The version is affected. `fixed` is the smallest `fixed` event version greater than the
    /// evaluated version among the ranges that matched, if any (what to upgrade to).
    Affected {
        /// Smallest fix above the evaluated version, if one is known.
        fixed: Option<String>,
    },
    /// The version is in no range and not in the explicit `versions` list.
    NotAffected,
    /// The package only has GIT ranges (commit graphs are not evaluated here) and the version is
    /// not in the explicit `versions` list.
    Unevaluated,
}

/// A version comparator: `Ok(a.cmp(b))` in the ecosystem's order, `Err` when a string is not a
/// version it understands.
pub type Comparator<'a> = &'a dyn Fn(&str, &str) -> Result<Ordering, String>;

/// Evaluates `version` against `affected`, following the OSV algorithm:
///
/// * an exact match in `affected.versions` is affected;
/// * each non-GIT range's events are sorted with `cmp` (`introduced: "0"` sorts first and is
///   never passed to `cmp`); walking them, `introduced <= v` sets affected, `fixed <= v` and
///   `last_affected < v` clear it; `limit` events bound the range (`v` must be below at least
///   one of them, `"*"` is unbounded);
/// * any range that leaves the version affected makes it affected.
///
/// The comparator's error for any comparison it is asked to make is returned as `Err`.
/// Ranges of kind [`RangeKind::Other`] are evaluated like ECOSYSTEM ranges with `cmp`.
pub fn evaluate(
    affected: &Affected,
    version: &str,
    cmp: Comparator<'_>,
) -> Result<Verdict, String> {
    let mut hit = false;
    let mut best_fix: Option<&str> = None;
    let mut evaluated_any = false;
    let mut git_only = !affected.ranges.is_empty();
    for range in &affected.ranges {
        if range.kind == RangeKind::Git {
            continue;
        }
        git_only = false;
        evaluated_any = true;
        if !before_limits(version, &range.events, cmp)? {
            continue;
        }
        // Limit events were applied above; only the timeline events are sorted (so a "*" limit
        // never reaches the comparator).
        let timeline: Vec<&Event> = range
            .events
            .iter()
            .filter(|e| !matches!(e, Event::Limit(_)))
            .collect();
        let sorted = sort_events(timeline, cmp)?;
        let mut vulnerable = false;
        for ev in &sorted {
            match ev {
                Event::Introduced(v) => {
                    if is_zero(v) || cmp(version, v)? != Ordering::Less {
                        vulnerable = true;
                    }
                }
                Event::Fixed(v) => {
                    if cmp(version, v)? != Ordering::Less {
                        vulnerable = false;
                    }
                }
                Event::LastAffected(v) => {
                    if cmp(version, v)? == Ordering::Greater {
                        vulnerable = false;
                    }
                }
                Event::Limit(_) => {}
            }
        }
        if vulnerable {
            hit = true;
            for ev in &sorted {
                if let Event::Fixed(f) = ev
                    && cmp(f, version)? == Ordering::Greater
                {
                    let better = match best_fix {
                        None => true,
                        Some(b) => cmp(f, b)? == Ordering::Less,
                    };
                    if better {
                        best_fix = Some(f);
                    }
                }
            }
        }
    }
    if hit {
        return Ok(Verdict::Affected {
            fixed: best_fix.map(str::to_string),
        });
    }
    if affected.versions.iter().any(|v| v == version) {
        return Ok(Verdict::Affected { fixed: None });
    }
    if git_only && !evaluated_any {
        return Ok(Verdict::Unevaluated);
    }
    Ok(Verdict::NotAffected)
}

fn is_zero(v: &str) -> bool {
    v == "0"
}

fn before_limits(version: &str, events: &[Event], cmp: Comparator<'_>) -> Result<bool, String> {
    let mut any_limit = false;
    for ev in events {
        if let Event::Limit(l) = ev {
            any_limit = true;
            if l.contains('*') || cmp(version, l)? == Ordering::Less {
                return Ok(true);
            }
        }
    }
    Ok(!any_limit)
}

/// Compares two events by version; `introduced: "0"` sorts before everything.
fn cmp_events(a: &Event, b: &Event, cmp: Comparator<'_>) -> Result<Ordering, String> {
    let za = matches!(a, Event::Introduced(v) if is_zero(v));
    let zb = matches!(b, Event::Introduced(v) if is_zero(v));
    match (za, zb) {
        (true, true) => Ok(Ordering::Equal),
        (true, false) => Ok(Ordering::Less),
        (false, true) => Ok(Ordering::Greater),
        (false, false) => cmp(a.version(), b.version()),
    }
}

/// Stable merge sort with a fallible comparator. Unlike `slice::sort_by`, an inconsistent
/// comparator (one that is not a total order) cannot make it panic; the result is then merely
/// some permutation.
fn sort_events<'e>(mut v: Vec<&'e Event>, cmp: Comparator<'_>) -> Result<Vec<&'e Event>, String> {
    let n = v.len();
    let mut buf: Vec<&Event> = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            buf.clear();
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                if cmp_events(v[j], v[i], cmp)? == Ordering::Less {
                    buf.push(v[j]);
                    j += 1;
                } else {
                    buf.push(v[i]);
                    i += 1;
                }
            }
            buf.extend_from_slice(&v[i..mid]);
            buf.extend_from_slice(&v[j..end]);
            v[start..end].copy_from_slice(&buf);
            start = end;
        }
        width *= 2;
    }
    Ok(v)
}
