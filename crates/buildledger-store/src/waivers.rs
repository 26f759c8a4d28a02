//! Waivers: an exception for one advisory, on one digest, package or
//! repository, optionally in one environment, with an owner, a reason and
//! an end. Adding and revoking are logged; nothing is deleted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, Val, ms_to_time, now_ms};

/// A stored waiver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Waiver {
    /// Waiver id.
    pub id: i64,
    /// The advisory id or alias it waives.
    pub advisory: String,
    /// `digest`, `package` or `repo`.
    pub scope_kind: String,
    /// The digest, package URL or repository URL it covers.
    pub scope_value: String,
    /// The environment it applies in (None: every environment).
    pub environment: Option<String>,
    /// Who answers for it.
    pub owner: String,
    /// Why.
    pub reason: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it stops applying by itself.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A waiver to add.
#[derive(Debug, Clone)]
pub struct NewWaiver<'a> {
    /// Advisory id or alias.
    pub advisory: &'a str,
    /// `digest`, `package` or `repo`.
    pub scope_kind: &'a str,
    /// What it covers.
    pub scope_value: &'a str,
    /// Environment, or every one.
    pub environment: Option<&'a str>,
    /// Owner.
    pub owner: &'a str,
    /// Reason.
    pub reason: &'a str,
    /// End (Unix ms).
    pub expires_at: i64,
}

const COLUMNS: &str = "id, advisory, scope_kind, scope_value, environment, owner, reason, created_at, expires_at, revoked_at";

fn row(r: Vec<Val>) -> Waiver {
    let mut it = r.into_iter();
    let mut next = || it.next().unwrap_or(Val::Null);
    Waiver {
        id: next().int().unwrap_or_default(),
        advisory: next().into_text().unwrap_or_default(),
        scope_kind: next().into_text().unwrap_or_default(),
        scope_value: next().into_text().unwrap_or_default(),
        environment: next().into_text(),
        owner: next().into_text().unwrap_or_default(),
        reason: next().into_text().unwrap_or_default(),
        created_at: ms_to_time(next().int().unwrap_or_default()),
        expires_at: ms_to_time(next().int().unwrap_or_default()),
        revoked_at: next().int().map(ms_to_time),
    }
}

impl Store {
    /// Add a waiver (and log it).
    pub fn insert_waiver(&mut self, w: &NewWaiver<'_>) -> Result<Waiver> {
        self.transaction(|s| {
            let rows = s.db.query(
                &format!(
                    "INSERT INTO waivers (advisory, scope_kind, scope_value, environment, owner, reason,
                        created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
                ),
                &[
                    w.advisory.into(),
                    w.scope_kind.into(),
                    w.scope_value.into(),
                    w.environment.map(Val::from).unwrap_or(Val::Null),
                    w.owner.into(),
                    w.reason.into(),
                    Val::Int(now_ms()),
                    Val::Int(w.expires_at),
                ],
            )?;
            let out = row(rows.into_iter().next().unwrap_or_default());
            s.audit(
                "waiver.added",
                Some(&format!("waiver:{}", out.id)),
                &serde_json::to_value(&out).unwrap_or_default(),
            )?;
            Ok(out)
        })
    }

    /// Every waiver, newest first (revoked and expired ones included).
    pub fn waivers(&mut self) -> Result<Vec<Waiver>> {
        Ok(self
            .db
            .query(
                &format!("SELECT {COLUMNS} FROM waivers ORDER BY id DESC"),
                &[],
            )?
            .into_iter()
            .map(row)
            .collect())
    }

    /// Revoke a waiver (and log it); false when there is no such live one.
    pub fn revoke_waiver(&mut self, id: i64, by: &str) -> Result<bool> {
        self.transaction(|s| {
            let n = s.db.exec(
                "UPDATE waivers SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                &[Val::Int(now_ms()), Val::Int(id)],
            )?;
            if n > 0 {
                s.audit(
                    "waiver.revoked",
                    Some(&format!("waiver:{id}")),
                    &serde_json::json!({"by": by}),
                )?;
            }
            Ok(n > 0)
        })
    }
}
