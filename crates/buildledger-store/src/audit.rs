//! The append-only, hash-chained audit log.
//!
//! Every accepted record and every verification result is appended as an
//! entry whose hash covers its content and the previous entry's hash:
//! `hash = sha256(prev_hash ‖ 0x00 ‖ id ‖ 0x00 ‖ at ‖ 0x00 ‖ kind ‖ 0x00 ‖ subject ‖ 0x00 ‖ payload)`
//! (decimal id and time). Editing, deleting or reordering any entry breaks
//! the chain from that point, which [`Store::verify_audit`] reports.
//!
//! The chain head can be copied elsewhere (`audit verify --json` prints it):
//! truncating the tail is detected only against such a copy.

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::{Result, Store, Val, now_ms};

/// The hash of the empty log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Result of checking the chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// Hash of the last entry (the chain head).
    pub head: String,
    /// Problems found, first one first; empty when the log is intact.
    pub problems: Vec<String>,
}

fn entry_hash(prev: &str, id: i64, at: i64, kind: &str, subject: &str, payload: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &id.to_string(),
        &at.to_string(),
        kind,
        subject,
        payload,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

impl Store {
    /// Append an entry (inside the caller's transaction, so the entry and the
    /// change it records commit together). Returns the entry's hash.
    pub fn audit(
        &mut self,
        kind: &str,
        subject: Option<&str>,
        payload: &serde_json::Value,
    ) -> Result<String> {
        // Serialise appends: on PostgreSQL several replicas may write at once.
        if self.kind() == crate::BackendKind::Postgres {
            self.db
                .query("SELECT pg_advisory_xact_lock(7262035119)", &[])?;
        }
        let last = self.db.query(
            "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
            &[],
        )?;
        let (prev_id, prev) = match last.first() {
            Some(r) => (
                r[0].int().unwrap_or_default(),
                r[1].text().unwrap_or(GENESIS).to_string(),
            ),
            None => (0, GENESIS.to_string()),
        };
        let id = prev_id + 1;
        let at = now_ms();
        let payload = payload.to_string();
        let subject = subject.unwrap_or("");
        let hash = entry_hash(&prev, id, at, kind, subject, &payload);
        self.db.exec(
            "INSERT INTO audit_log (id, at, kind, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[Val::Int(id), Val::Int(at), kind.into(), subject.into(), payload.into(), prev.into(), hash.clone().into()],
        )?;
        Ok(hash)
    }

    /// Walk the whole log and check every link.
    pub fn verify_audit(&mut self) -> Result<AuditReport> {
        let rows = self.db.query(
            "SELECT id, at, kind, subject, payload, prev_hash, hash FROM audit_log ORDER BY id",
            &[],
        )?;
        let mut prev = GENESIS.to_string();
        let mut expected_id = 1;
        let mut problems = Vec::new();
        for r in &rows {
            let id = r[0].int().unwrap_or_default();
            if id != expected_id {
                problems.push(format!(
                    "entry {expected_id} is missing (next entry is {id})"
                ));
                expected_id = id;
            }
            let stored_prev = r[5].text().unwrap_or("");
            if stored_prev != prev {
                problems.push(format!(
                    "entry {id}: previous-hash link broken (entry before it was changed or removed)"
                ));
            }
            let h = entry_hash(
                stored_prev,
                id,
                r[1].int().unwrap_or_default(),
                r[2].text().unwrap_or(""),
                r[3].text().unwrap_or(""),
                r[4].text().unwrap_or(""),
            );
            let stored = r[6].text().unwrap_or("");
            if h != stored {
                problems.push(format!(
                    "entry {id}: content does not match its hash (edited)"
                ));
            }
            prev = stored.to_string();
            expected_id += 1;
        }
        Ok(AuditReport {
            entries: rows.len() as u64,
            head: prev,
            problems,
        })
    }
}
