//! The append-only, hash-chained audit log.
//!
//! Every accepted record and every verification result is appended as an
//! entry whose hash covers its content and the previous entry's hash:
//! `hash = sha256(prev_hash ‖ 0x00 ‖ id ‖ 0x00 ‖ at ‖ 0x00 ‖ kind ‖ 0x00 ‖ subject ‖ 0x00 ‖ payload)`
//! (decimal id and time). Editing, deleting or reordering any entry breaks
//! the chain from that point, which [`Store::verify_audit`] reports.
//!
//! Every stored record is *sealed*: the store appends a `record.accepted`
//! entry carrying the fingerprint of all the record's rows ([`crate::seal`])
//! in the transaction that writes them, whichever path wrote them, so no
//! record exists without an entry. [`Store::verify_audit`] checks the chain,
//! then re-reads every record and compares its rows with its seal (any
//! `UPDATE`, `DELETE` or `INSERT` behind the ledger's back shows), and checks
//! that the component → record postings (what package and advisory queries
//! read) are exactly the inverse of the records' own links.
//!
//! The chain is not keyed: someone who can write the database can rebuild
//! it whole, and can cut entries off its end. Both are detected only against
//! an anchor kept outside the database: a signed checkpoint of the head
//! (`buildledger audit checkpoint`), checked by [`Store::audit_entry_hash`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::seal::ComponentCache;
use crate::{Result, Store, Val, now_ms, postings};

/// Most problems listed in one report (the count is always complete).
pub const MAX_LISTED_PROBLEMS: usize = 1000;

/// Advisory lock class for appends on PostgreSQL (the second key is the
/// schema's hash).
const AUDIT_LOCK: i64 = 726203519;

/// Records read back per step while verifying.
const VERIFY_SLICE: i64 = 1000;

/// The hash of the empty log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Result of checking the chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// Hash of the last entry (the chain head).
    pub head: String,
    /// Records whose rows were compared with their seal.
    pub records: u64,
    /// How many problems were found in all.
    pub problem_count: u64,
    /// Problems found, first one first (at most [`MAX_LISTED_PROBLEMS`]);
    /// empty when the log and the records are intact.
    pub problems: Vec<String>,
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// What happened (`record.accepted`, `attestation.rejected`, …).
    pub kind: String,
    /// The image digest it is about, if any.
    pub subject: Option<String>,
    /// Details.
    pub payload: serde_json::Value,
}

struct Problems {
    count: u64,
    list: Vec<String>,
}

impl Problems {
    fn push(&mut self, p: String) {
        self.count += 1;
        if self.list.len() < MAX_LISTED_PROBLEMS {
            self.list.push(p);
        }
    }
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
        let hashes = self.append_audit(vec![AuditEntry {
            kind: kind.to_string(),
            subject: subject.map(String::from),
            payload: payload.clone(),
        }])?;
        Ok(hashes.into_iter().next().unwrap_or_default())
    }

    /// Append entries in order (inside the caller's transaction), with one
    /// statement per slice of rows. Returns their hashes.
    pub fn append_audit(&mut self, entries: Vec<AuditEntry>) -> Result<Vec<String>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        // Serialise appends: on PostgreSQL several replicas may write at
        // once. The lock is the schema's (ledgers in other schemas of the
        // database append on their own) and is held until commit.
        if self.kind() == crate::BackendKind::Postgres {
            self.db.query(
                "SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(current_schema()))",
                &[Val::Int(AUDIT_LOCK)],
            )?;
        }
        let last = self.db.query(
            "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
            &[],
        )?;
        let (mut id, mut prev) = match last.first() {
            Some(r) => (
                r[0].int().unwrap_or_default(),
                r[1].text().unwrap_or(GENESIS).to_string(),
            ),
            None => (0, GENESIS.to_string()),
        };
        let at = now_ms();
        let mut rows = Vec::with_capacity(entries.len() * 7);
        let mut hashes = Vec::with_capacity(entries.len());
        for e in entries {
            id += 1;
            let payload = e.payload.to_string();
            let subject = e.subject.as_deref().unwrap_or("");
            let hash = entry_hash(&prev, id, at, &e.kind, subject, &payload);
            rows.extend([
                Val::Int(id),
                Val::Int(at),
                e.kind.as_str().into(),
                subject.into(),
                payload.into(),
                prev.clone().into(),
                hash.clone().into(),
            ]);
            prev = hash.clone();
            hashes.push(hash);
        }
        self.insert_rows(
            "audit_log (id, at, kind, subject, payload, prev_hash, hash)",
            7,
            rows,
            "",
        )?;
        Ok(hashes)
    }

    /// The number of entries and the hash of entry `n` (1-based), if the log
    /// has that many: what a checkpoint of `n` entries is compared with.
    pub fn audit_entry_hash(&mut self, n: u64) -> Result<(u64, Option<String>)> {
        let count = self
            .db
            .query("SELECT COUNT(*) FROM audit_log", &[])?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0) as u64;
        let hash = self
            .db
            .query(
                "SELECT hash FROM audit_log WHERE id = ?",
                &[Val::Int(i64::try_from(n).unwrap_or(i64::MAX))],
            )?
            .first()
            .and_then(|r| r[0].text().map(String::from));
        Ok((count, hash))
    }

    /// Walk the whole log and check every link, then every record against
    /// its seal, then the postings against the records' links.
    pub fn verify_audit(&mut self) -> Result<AuditReport> {
        let mut problems = Problems {
            count: 0,
            list: Vec::new(),
        };
        let mut prev = GENESIS.to_string();
        let mut expected_id = 1;
        let mut entries = 0u64;
        // record id → (entry id, seal) for every sealing entry.
        let mut seals: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
        let mut unsealed_entries: HashSet<i64> = HashSet::new();
        let mut chain_problems = Vec::new();
        self.db.each(
            "SELECT id, at, kind, subject, payload, prev_hash, hash FROM audit_log ORDER BY id",
            &[],
            &mut |r| {
                entries += 1;
                let id = r[0].int().unwrap_or_default();
                if id != expected_id {
                    chain_problems.push(format!(
                        "entry {expected_id} is missing (next entry is {id})"
                    ));
                    expected_id = id;
                }
                let stored_prev = r[5].text().unwrap_or("");
                if stored_prev != prev {
                    chain_problems.push(format!(
                        "entry {id}: previous-hash link broken (entry before it was changed or removed)"
                    ));
                }
                let kind = r[2].text().unwrap_or("");
                let payload = r[4].text().unwrap_or("");
                let h = entry_hash(
                    stored_prev,
                    id,
                    r[1].int().unwrap_or_default(),
                    kind,
                    r[3].text().unwrap_or(""),
                    payload,
                );
                let stored = r[6].text().unwrap_or("");
                if h != stored {
                    chain_problems.push(format!(
                        "entry {id}: content does not match its hash (edited)"
                    ));
                }
                if kind == "record.accepted" || kind == "record.sealed" {
                    let v: serde_json::Value =
                        serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
                    match (
                        v.get("record_id").and_then(|x| x.as_i64()),
                        v.get("seal").and_then(|x| x.as_str()),
                    ) {
                        (Some(rid), Some(seal)) => {
                            seals.entry(rid).or_default().push((id, seal.to_string()))
                        }
                        // Entries written before records were sealed: the
                        // v6 migration sealed those records separately.
                        (Some(rid), None) => {
                            unsealed_entries.insert(rid);
                        }
                        _ => chain_problems
                            .push(format!("entry {id}: {kind} names no record")),
                    }
                }
                prev = stored.to_string();
                expected_id += 1;
                Ok(())
            },
        )?;
        for p in chain_problems {
            problems.push(p);
        }
        let records = self.verify_records(&seals, &mut problems)?;
        self.verify_postings(&mut problems)?;
        Ok(AuditReport {
            entries,
            head: prev,
            records,
            problem_count: problems.count,
            problems: problems.list,
        })
    }

    /// Compare every record's rows with its seal.
    fn verify_records(
        &mut self,
        seals: &BTreeMap<i64, Vec<(i64, String)>>,
        problems: &mut Problems,
    ) -> Result<u64> {
        let mut max = seals.keys().next_back().copied().unwrap_or(0);
        for table in ["records", "record_bodies", "record_links"] {
            let col = if table == "records" {
                "id"
            } else {
                "record_id"
            };
            let m = self
                .db
                .query(&format!("SELECT COALESCE(MAX({col}), 0) FROM {table}"), &[])?
                .first()
                .and_then(|r| r[0].int())
                .unwrap_or(0);
            max = max.max(m);
        }
        let mut cache = ComponentCache::new();
        let mut checked = 0u64;
        let mut lo = 1;
        while lo <= max {
            let hi = lo.saturating_add(VERIFY_SLICE - 1).min(max);
            let stored = self.load_seals(lo, hi, &mut cache)?;
            for (rid, sealed) in seals.range(lo..=hi) {
                if !stored.contains_key(rid) {
                    problems.push(format!(
                        "record {rid} was deleted (sealed by audit entry {})",
                        sealed[0].0
                    ));
                }
                if sealed.len() > 1 {
                    problems.push(format!(
                        "record {rid} is sealed by {} audit entries ({}); a record is sealed once",
                        sealed.len(),
                        sealed
                            .iter()
                            .map(|(e, _)| e.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            for (rid, s) in &stored {
                checked += 1;
                for u in &s.unreadable {
                    problems.push(format!("record {rid}: {u}"));
                }
                if s.row.is_empty() {
                    problems.push(format!(
                        "record {rid}: rows exist without its records row (deleted or inserted outside the ledger)"
                    ));
                    continue;
                }
                if s.body.is_none() {
                    problems.push(format!("record {rid}: its body is missing"));
                }
                match seals.get(rid) {
                    None => problems.push(format!(
                        "record {rid} has no audit entry (inserted outside the ledger)"
                    )),
                    Some(sealed) => {
                        let fp = s.fingerprint();
                        if sealed[0].1 != fp {
                            problems.push(format!(
                                "record {rid}: stored rows differ from those sealed by audit entry {} (edited)",
                                sealed[0].0
                            ));
                        }
                    }
                }
            }
            lo = hi.saturating_add(1);
        }
        Ok(checked)
    }

    /// Postings must list exactly the records that link each component
    /// (records still pending are read from their links, not postings).
    /// Compared per component as a keyed sum of record ids: the key is drawn
    /// anew for each run, so no edit can be made to cancel out.
    fn verify_postings(&mut self, problems: &mut Problems) -> Result<()> {
        let key = std::collections::hash_map::RandomState::new();
        let mut pending: HashSet<i64> = HashSet::new();
        self.db
            .each("SELECT record_id FROM postings_pending", &[], &mut |r| {
                pending.insert(r[0].int().unwrap_or_default());
                Ok(())
            })?;
        // component → (count, keyed sum) from the records' links …
        let mut from_links: HashMap<i64, (u64, u64)> = HashMap::new();
        let mut records: HashSet<i64> = HashSet::new();
        self.db.each(
            "SELECT record_id, components FROM record_links",
            &[],
            &mut |r| {
                let rid = r[0].int().unwrap_or_default();
                records.insert(rid);
                if pending.contains(&rid) {
                    return Ok(());
                }
                let h = key.hash_one(rid);
                for (cid, _) in postings::Links::new(r[1].bytes()).flatten() {
                    let e = from_links.entry(cid).or_default();
                    e.0 += 1;
                    e.1 = e.1.wrapping_add(h);
                }
                Ok(())
            },
        )?;
        for p in &pending {
            if !records.contains(p) {
                problems.push(format!("postings: pending record {p} does not exist"));
            }
        }
        // … and from the postings.
        let mut from_postings: HashMap<i64, (u64, u64)> = HashMap::new();
        let mut found = Vec::new();
        self.db.each(
            "SELECT component_id, records FROM component_postings",
            &[],
            &mut |r| {
                let cid = r[0].int().unwrap_or_default();
                match postings::decode_ids(r[1].bytes()) {
                    Ok(ids) => {
                        let e = from_postings.entry(cid).or_default();
                        for rid in ids {
                            if pending.contains(&rid) {
                                found.push(format!(
                                    "postings: record {rid} is both pending and posted under component {cid}"
                                ));
                            }
                            e.0 += 1;
                            e.1 = e.1.wrapping_add(key.hash_one(rid));
                        }
                    }
                    Err(e) => found.push(format!("postings of component {cid} unreadable: {e}")),
                }
                Ok(())
            },
        )?;
        for f in found {
            problems.push(f);
        }
        let mut cids: Vec<i64> = from_links
            .keys()
            .chain(from_postings.keys())
            .copied()
            .collect();
        cids.sort_unstable();
        cids.dedup();
        for cid in cids {
            let a = from_links.get(&cid).copied().unwrap_or_default();
            let b = from_postings.get(&cid).copied().unwrap_or_default();
            if a != b {
                problems.push(format!(
                    "postings of component {cid} do not match the records that link it ({} linked, {} posted): package and advisory queries would be wrong",
                    a.0, b.0
                ));
            }
        }
        Ok(())
    }
}
