//! Waivers: a documented exception for one advisory (by id or any alias) on
//! one image digest, package or source repository, optionally in one
//! environment. Every waiver has an owner, a reason and an end; an expired
//! waiver stops applying by itself, with no action. Waivers show on the
//! findings they cover (`vulns`, `affected`), which are never hidden.

use buildledger_model::{Digest, Purl};
use buildledger_store::{ImageFinding, NewWaiver, Store, Waiver};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Longest a waiver may run: an exception nobody revisits is a hole.
pub const MAX_DAYS: i64 = 366;

/// A waiver to add, as flags or a request body give it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WaiverRequest {
    /// Advisory id or alias (CVE, GHSA, GO-…).
    pub advisory: String,
    /// An image digest it covers.
    pub digest: Option<String>,
    /// A package URL it covers (with a version: that version only).
    pub package: Option<String>,
    /// A source repository URL it covers (every image built from it).
    pub repo: Option<String>,
    /// The environment it applies in (default: every environment).
    pub env: Option<String>,
    /// Who answers for it.
    pub owner: String,
    /// Why.
    pub reason: String,
    /// When it ends: a date (`2027-01-31`, the end of that day UTC) or an RFC 3339 time.
    pub expires: String,
}

fn parse_expiry(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let bad = |why: &str| Error::bad_field("--expires", format!("{s:?}: {why}"));
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(23, 59, 59)
            .ok_or_else(|| bad("not a valid date"))?
            .and_utc()
    } else {
        return Err(bad("expected a date (YYYY-MM-DD) or an RFC 3339 time"));
    };
    if t <= now {
        return Err(bad("is in the past: a waiver must end in the future"));
    }
    if t > now + chrono::TimeDelta::days(MAX_DAYS) {
        return Err(bad(&format!("is more than {MAX_DAYS} days away")));
    }
    Ok(t)
}

/// Add a waiver at `now`; exactly one of digest, package and repo.
pub fn add(store: &mut Store, r: &WaiverRequest, now: DateTime<Utc>) -> Result<Waiver> {
    let text = |field: &str, v: &str, max: usize| -> Result<String> {
        let v = v.trim();
        if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
            return Err(Error::bad_field(
                format!("--{field}"),
                format!("must be 1 to {max} printable characters"),
            ));
        }
        Ok(v.to_string())
    };
    let advisory = text("advisory", &r.advisory, 200)?;
    let owner = text("owner", &r.owner, 200)?;
    let reason = text("reason", &r.reason, 2000)?;
    let (kind, value) = match (&r.digest, &r.package, &r.repo) {
        (Some(d), None, None) => (
            "digest",
            Digest::parse(d)
                .map_err(|e| Error::bad_field("--digest", e.message))?
                .to_string(),
        ),
        (None, Some(p), None) => (
            "package",
            Purl::parse(p)
                .map_err(|e| Error::bad_field("--package", e.message))?
                .to_string(),
        ),
        (None, None, Some(u)) => ("repo", text("repo", u, 2000)?),
        _ => {
            return Err(Error::bad_input(
                "give exactly one of --digest, --package and --repo: what the waiver covers",
            ));
        }
    };
    let env = match &r.env {
        Some(e) => Some(text("env", e, 200)?),
        None => None,
    };
    let expires = parse_expiry(r.expires.trim(), now)?;
    Ok(store.insert_waiver(&NewWaiver {
        advisory: &advisory,
        scope_kind: kind,
        scope_value: &value,
        environment: env.as_deref(),
        owner: &owner,
        reason: &reason,
        expires_at: expires.timestamp_millis(),
    })?)
}

/// Whether `w` is in force at `now`.
pub fn active(w: &Waiver, now: DateTime<Utc>) -> bool {
    w.revoked_at.is_none() && w.expires_at > now
}

/// Waivers, newest first: all, or only those in force at `now`.
pub fn list(store: &mut Store, all: bool, now: DateTime<Utc>) -> Result<Vec<Waiver>> {
    Ok(store
        .waivers()?
        .into_iter()
        .filter(|w| all || active(w, now))
        .collect())
}

/// Waivers in force at `now` that end within `window`: the notices.
pub fn expiring(
    store: &mut Store,
    window: chrono::TimeDelta,
    now: DateTime<Utc>,
) -> Result<Vec<Waiver>> {
    Ok(list(store, false, now)?
        .into_iter()
        .filter(|w| w.expires_at <= now + window)
        .collect())
}

/// Revoke waiver `id`; not found when there is no such live waiver.
pub fn revoke(store: &mut Store, id: i64, by: &str) -> Result<()> {
    if store.revoke_waiver(id, by)? {
        Ok(())
    } else {
        Err(Error::not_found(format!("no live waiver with id {id}")))
    }
}

fn covers(w: &Waiver, f: &ImageFinding, repos: &[String]) -> bool {
    let advisory = w.advisory.eq_ignore_ascii_case(&f.advisory)
        || f.aliases
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&w.advisory));
    advisory
        && match w.scope_kind.as_str() {
            "digest" => w.scope_value == f.digest,
            "package" => match Purl::parse(&w.scope_value) {
                Ok(p) if p.version().is_some() => p.to_string() == f.purl,
                Ok(p) => f.purl.split('@').next() == Some(p.package()),
                Err(_) => false,
            },
            "repo" => repos.iter().any(|r| {
                buildledger_store::normalize_repo(r)
                    == buildledger_store::normalize_repo(&w.scope_value)
            }),
            _ => false,
        }
}

/// Attach to each finding the waivers in force at `now` that cover it.
pub fn annotate(
    store: &mut Store,
    findings: &mut [ImageFinding],
    now: DateTime<Utc>,
) -> Result<()> {
    let live = list(store, false, now)?;
    if live.is_empty() {
        return Ok(());
    }
    let mut repos: std::collections::HashMap<String, Vec<String>> = Default::default();
    let by_repo = live.iter().any(|w| w.scope_kind == "repo");
    for f in findings.iter_mut() {
        if !by_repo {
            f.waivers = live.iter().filter(|w| covers(w, f, &[])).cloned().collect();
            continue;
        }
        if !repos.contains_key(&f.digest) {
            let r = match Digest::parse(&f.digest) {
                Ok(d) => store
                    .show(&d)?
                    .map(|v| {
                        v.records
                            .iter()
                            .filter_map(|r| r.record.source.as_ref().and_then(|s| s.repo.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                Err(_) => vec![],
            };
            repos.insert(f.digest.clone(), r);
        }
        let r = &repos[&f.digest];
        f.waivers = live.iter().filter(|w| covers(w, f, r)).cloned().collect();
    }
    Ok(())
}
