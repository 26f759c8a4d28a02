//! API tokens of the server: only a hash of each secret is stored; creation
//! and revocation are written to the audit log in the same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Result, Store, Val, ms_to_time, now_ms};

/// A stored token (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct TokenRow {
    /// Token id.
    pub id: i64,
    /// A name for people (`ci-gha`, `feed-sync`).
    pub name: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The builder id a `builder:write` token is bound to.
    pub builder_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, scopes, builder_id, created_at, revoked_at";

fn row(r: Vec<Val>) -> TokenRow {
    let mut it = r.into_iter();
    let id = it.next().and_then(|v| v.int()).unwrap_or_default();
    let name = it.next().and_then(Val::into_text).unwrap_or_default();
    let scopes = it
        .next()
        .and_then(Val::into_text)
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let builder_id = it.next().and_then(Val::into_text);
    let created_at = ms_to_time(it.next().and_then(|v| v.int()).unwrap_or_default());
    let revoked_at = it.next().and_then(|v| v.int()).map(ms_to_time);
    TokenRow {
        id,
        name,
        scopes,
        builder_id,
        created_at,
        revoked_at,
    }
}

impl Store {
    /// Store a new token by the hash of its secret, and log it.
    pub fn insert_token(
        &mut self,
        name: &str,
        token_hash: &str,
        scopes: &[String],
        builder_id: Option<&str>,
    ) -> Result<TokenRow> {
        self.transaction(|s| {
            let rows = s.db.query(
                &format!(
                    "INSERT INTO api_tokens (name, token_hash, scopes, builder_id, created_at)
                     VALUES (?, ?, ?, ?, ?) RETURNING {COLUMNS}"
                ),
                &[
                    name.into(),
                    token_hash.into(),
                    scopes.join(" ").as_str().into(),
                    builder_id.map(Val::from).unwrap_or(Val::Null),
                    Val::Int(now_ms()),
                ],
            )?;
            let t = row(rows.into_iter().next().unwrap_or_default());
            s.audit(
                "token.created",
                Some(&format!("token:{}", t.id)),
                &serde_json::json!({"name": t.name, "scopes": t.scopes, "builder_id": t.builder_id}),
            )?;
            Ok(t)
        })
    }

    /// The token whose secret hashes to `token_hash`, revoked or not.
    pub fn token_by_hash(&mut self, token_hash: &str) -> Result<Option<TokenRow>> {
        Ok(self
            .db
            .query(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = ?"),
                &[token_hash.into()],
            )?
            .into_iter()
            .next()
            .map(row))
    }

    /// Every token, oldest first.
    pub fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        Ok(self
            .db
            .query(
                &format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id"),
                &[],
            )?
            .into_iter()
            .map(row)
            .collect())
    }

    /// Revoke a token (and log it); false when there is no such token or it
    /// was revoked already.
    pub fn revoke_token(&mut self, id: i64) -> Result<bool> {
        self.transaction(|s| {
            let n = s.db.exec(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                &[Val::Int(now_ms()), Val::Int(id)],
            )?;
            if n > 0 {
                s.audit(
                    "token.revoked",
                    Some(&format!("token:{id}")),
                    &serde_json::json!({}),
                )?;
            }
            Ok(n > 0)
        })
    }
}
