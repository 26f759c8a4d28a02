//! Shared test helpers: locating `../shared` data (`buildledger-testkit`, `BUILDLEDGER_SHARED`
//! overrides) and oracle tools, with the house rule that a missing prerequisite skips locally but
//! fails when `CI=true`.
#![allow(dead_code)]

use std::cmp::Ordering;
use std::path::PathBuf;
use std::process::Command;

/// Skips (returns false) or, under CI, panics.
pub fn missing(what: &str) -> bool {
    buildledger_testkit::ci::skip_or_fail(what)
}

/// `<shared>/data/<rel>`: `$BUILDLEDGER_SHARED`, else `../shared` seen from the project root.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    buildledger_testkit::shared::require_data(rel)
}

/// True when `cmd args...` runs and exits 0.
pub fn require_tool(cmd: &str, args: &[&str], hint: &str) -> bool {
    match Command::new(cmd).args(args).output() {
        Ok(o) if o.status.success() => true,
        _ => missing(&format!("tool `{cmd} {}` ({hint})", args.join(" "))),
    }
}

/// SemVer 2.0 precedence via the `semver` crate (SEMVER ranges of Go and crates.io advisories).
pub fn semver_cmp(a: &str, b: &str) -> Result<Ordering, String> {
    let pa = semver::Version::parse(a).map_err(|e| format!("{a}: {e}"))?;
    let pb = semver::Version::parse(b).map_err(|e| format!("{b}: {e}"))?;
    Ok(pa.cmp_precedence(&pb))
}

/// Minimal apk version order for `X.Y.Z[letter]-rN` versions: dotted numeric parts, an optional
/// trailing letter, then the `-rN` release. Errors on anything else (suffixes like `_rc1`).
pub fn apk_cmp(a: &str, b: &str) -> Result<Ordering, String> {
    fn parse(v: &str) -> Result<(Vec<u64>, Option<char>, u64), String> {
        let (main, rel) = match v.rsplit_once("-r") {
            Some((m, r)) => (
                m,
                r.parse::<u64>().map_err(|e| format!("{v}: release {e}"))?,
            ),
            None => (v, 0),
        };
        let (main, letter) = match main.chars().last() {
            Some(c) if c.is_ascii_lowercase() => (&main[..main.len() - 1], Some(c)),
            _ => (main, None),
        };
        let nums = main
            .split('.')
            .map(|p| {
                p.parse::<u64>()
                    .map_err(|e| format!("{v}: part {p:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((nums, letter, rel))
    }
    let (na, la, ra) = parse(a)?;
    let (nb, lb, rb) = parse(b)?;
    Ok(na.cmp(&nb).then(la.cmp(&lb)).then(ra.cmp(&rb)))
}
