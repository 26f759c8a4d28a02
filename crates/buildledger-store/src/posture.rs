//! The posture cache: the policy's decision for each (image, deployment)
//! the inventory runs, and the watermarks of the ledger's own logs (record
//! ids, finding events, VEX documents, the set of waivers in force) up to
//! which the cache is current. Derived data: dropping it loses nothing.

use std::collections::BTreeSet;

use crate::{Result, Store, Val, now_ms, placeholders};

/// Where the cache is current up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostureState {
    /// Hash of the policy the decisions came from.
    pub policy_hash: String,
    /// Newest record id seen.
    pub record_seq: i64,
    /// Newest finding event id seen.
    pub event_seq: i64,
    /// Newest VEX document row seen.
    pub vex_seq: i64,
    /// Ids of the waivers in force at the last refresh.
    pub live_waivers: BTreeSet<i64>,
    /// UTC day (days since 1970-01-01) of the last refresh.
    pub day: i64,
}

/// One cached decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedDecision {
    /// Image digest.
    pub digest: String,
    /// Environment (`""`: none).
    pub environment: String,
    /// Cluster.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// `Kind/name`.
    pub workload: String,
    /// `allow`, `warn` or `deny`.
    pub decision: String,
    /// The reasons, as JSON.
    pub reasons: String,
    /// Rank within its decision (higher first).
    pub priority: i64,
}

/// A cached decision's key: digest, environment (`""`: none), cluster,
/// namespace, `Kind/name`.
pub type DecisionKey = (String, String, String, String, String);

/// Advisory lock key of the posture refresh (PostgreSQL).
const POSTURE_LOCK: i64 = 0x706f_7374;

impl Store {
    /// Inside a transaction: serialise posture refreshes (PostgreSQL
    /// replicas take turns; SQLite's write lock already does).
    pub fn lock_posture(&mut self) -> Result<()> {
        if self.kind() == crate::BackendKind::Postgres {
            self.db.query(
                "SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(current_schema()))",
                &[Val::Int(POSTURE_LOCK)],
            )?;
        }
        Ok(())
    }

    /// The cache's watermarks (None: never refreshed).
    pub fn posture_state(&mut self) -> Result<Option<PostureState>> {
        let rows = self.db.query(
            "SELECT policy_hash, record_seq, event_seq, vex_seq, live_waivers, day FROM posture_state WHERE id = 1",
            &[],
        )?;
        Ok(rows.into_iter().next().map(|r| {
            let mut it = r.into_iter();
            let mut next = || it.next().unwrap_or(Val::Null);
            PostureState {
                policy_hash: next().into_text().unwrap_or_default(),
                record_seq: next().int().unwrap_or_default(),
                event_seq: next().int().unwrap_or_default(),
                vex_seq: next().int().unwrap_or_default(),
                live_waivers: next()
                    .into_text()
                    .unwrap_or_default()
                    .split(' ')
                    .filter_map(|x| x.parse().ok())
                    .collect(),
                day: next().int().unwrap_or_default(),
            }
        }))
    }

    /// Save the watermarks.
    pub fn set_posture_state(&mut self, st: &PostureState) -> Result<()> {
        let live = st
            .live_waivers
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        self.db.exec(
            "INSERT INTO posture_state (id, policy_hash, record_seq, event_seq, vex_seq, live_waivers, refreshed_at, day)
             VALUES (1, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET policy_hash = excluded.policy_hash,
               record_seq = excluded.record_seq, event_seq = excluded.event_seq,
               vex_seq = excluded.vex_seq, live_waivers = excluded.live_waivers,
               refreshed_at = excluded.refreshed_at, day = excluded.day",
            &[
                st.policy_hash.as_str().into(),
                Val::Int(st.record_seq),
                Val::Int(st.event_seq),
                Val::Int(st.vex_seq),
                live.into(),
                Val::Int(now_ms()),
                Val::Int(st.day),
            ],
        )?;
        Ok(())
    }

    /// The newest record id and finding event id.
    pub fn ledger_seqs(&mut self) -> Result<(i64, i64)> {
        let one = |s: &mut Store, sql: &str| -> Result<i64> {
            Ok(s.db
                .query(sql, &[])?
                .first()
                .and_then(|r| r.first())
                .and_then(Val::int)
                .unwrap_or(0))
        };
        Ok((
            one(self, "SELECT MAX(id) FROM records")?,
            one(self, "SELECT MAX(id) FROM finding_events")?,
        ))
    }

    /// Digests whose decisions records after id `records_after` and
    /// finding events after id `events_after` may change (each read only
    /// when the ledger has moved past it: `record_seq`, `event_seq` are its
    /// newest ids).
    pub fn digests_changed_after(
        &mut self,
        (records_after, record_seq): (i64, i64),
        (events_after, event_seq): (i64, i64),
    ) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        if record_seq > records_after {
            out.extend(self.digests_of_records_after(records_after)?);
        }
        if event_seq > events_after {
            out.extend(self.digests_of_events_after(events_after)?);
        }
        Ok(out)
    }

    /// Digests that records after id `after` are about.
    pub fn digests_of_records_after(&mut self, after: i64) -> Result<Vec<String>> {
        Ok(self
            .db
            .query(
                "SELECT DISTINCT i.digest FROM record_subjects rs JOIN images i ON i.id = rs.image_id
                 WHERE rs.record_id > ?",
                &[Val::Int(after)],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect())
    }

    /// Digests whose findings changed in finding events after id `after`.
    pub fn digests_of_events_after(&mut self, after: i64) -> Result<Vec<String>> {
        let cids: Vec<i64> = self
            .db
            .query(
                "SELECT DISTINCT component_id FROM finding_events WHERE id > ?",
                &[Val::Int(after)],
            )?
            .iter()
            .filter_map(|r| r[0].int())
            .collect();
        if cids.is_empty() {
            return Ok(Vec::new());
        }
        let links = self.records_with_components(&cids)?;
        let mut rids: Vec<i64> = links.iter().map(|l| l.0).collect();
        rids.sort_unstable();
        rids.dedup();
        let facts = self.record_facts(&rids)?;
        let mut out: BTreeSet<String> = BTreeSet::new();
        for f in facts.into_values() {
            out.extend(f.digests);
        }
        Ok(out.into_iter().collect())
    }

    /// Drop every cached decision (a new policy), or those of `digests`.
    pub fn clear_posture(&mut self, digests: Option<&[String]>) -> Result<u64> {
        match digests {
            None => self.db.exec("DELETE FROM posture_decisions", &[]),
            Some(ds) => {
                let mut n = 0;
                for chunk in ds.chunks(crate::postings::CHUNK) {
                    let params: Vec<Val> = chunk.iter().map(|d| Val::from(d.as_str())).collect();
                    n += self.db.exec(
                        &format!(
                            "DELETE FROM posture_decisions WHERE digest IN ({})",
                            placeholders(chunk.len())
                        ),
                        &params,
                    )?;
                }
                Ok(n)
            }
        }
    }

    /// Drop cached decisions of deployments the inventory no longer runs.
    pub fn prune_posture(&mut self) -> Result<u64> {
        self.db.exec(
            "DELETE FROM posture_decisions WHERE NOT EXISTS (
                SELECT 1 FROM inventory i WHERE i.digest = posture_decisions.digest
                  AND COALESCE(i.environment, '') = posture_decisions.environment
                  AND i.cluster = posture_decisions.cluster
                  AND i.namespace = posture_decisions.namespace
                  AND i.workload_kind || '/' || i.workload_name = posture_decisions.workload)",
            &[],
        )
    }

    /// Every cached decision.
    pub fn cached_decisions(&mut self) -> Result<Vec<CachedDecision>> {
        self.cached_decisions_with(true)
    }

    /// Every cached decision without its reasons (`reasons` empty): what a
    /// count or one page of the posture needs (the reasons are most of the
    /// bytes: tens of kilobytes for an image with many findings).
    pub fn cached_decisions_without_reasons(&mut self) -> Result<Vec<CachedDecision>> {
        self.cached_decisions_with(false)
    }

    /// The reasons (JSON) of the cached decisions `keys` (digest,
    /// environment, cluster, namespace, workload); a key without a decision
    /// is left out.
    pub fn cached_reasons(&mut self, keys: &[DecisionKey]) -> Result<Vec<(DecisionKey, String)>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let rows = self.db.query(
                "SELECT reasons FROM posture_decisions WHERE digest = ? AND environment = ?
                 AND cluster = ? AND namespace = ? AND workload = ?",
                &[
                    k.0.as_str().into(),
                    k.1.as_str().into(),
                    k.2.as_str().into(),
                    k.3.as_str().into(),
                    k.4.as_str().into(),
                ],
            )?;
            if let Some(r) = rows.into_iter().next().and_then(|r| r.into_iter().next()) {
                out.push((k.clone(), r.into_text().unwrap_or_default()));
            }
        }
        Ok(out)
    }

    fn cached_decisions_with(&mut self, reasons: bool) -> Result<Vec<CachedDecision>> {
        let sql = if reasons {
            "SELECT digest, environment, cluster, namespace, workload, decision, reasons, priority
             FROM posture_decisions"
        } else {
            "SELECT digest, environment, cluster, namespace, workload, decision, '', priority
             FROM posture_decisions"
        };
        Ok(self
            .db
            .query(sql, &[])?
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                CachedDecision {
                    digest: next().into_text().unwrap_or_default(),
                    environment: next().into_text().unwrap_or_default(),
                    cluster: next().into_text().unwrap_or_default(),
                    namespace: next().into_text().unwrap_or_default(),
                    workload: next().into_text().unwrap_or_default(),
                    decision: next().into_text().unwrap_or_default(),
                    reasons: next().into_text().unwrap_or_default(),
                    priority: next().int().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Store decisions (replacing any for the same image and deployment).
    pub fn put_decisions(&mut self, ds: &[CachedDecision]) -> Result<()> {
        let at = now_ms();
        for d in ds {
            let key = [
                Val::from(d.digest.as_str()),
                d.environment.as_str().into(),
                d.cluster.as_str().into(),
                d.namespace.as_str().into(),
                d.workload.as_str().into(),
            ];
            let mut p = key.to_vec();
            p.extend([
                d.decision.as_str().into(),
                d.reasons.as_str().into(),
                Val::Int(d.priority),
                Val::Int(at),
            ]);
            self.db.exec(
                "INSERT INTO posture_decisions (digest, environment, cluster, namespace, workload,
                    decision, reasons, priority, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (digest, environment, cluster, namespace, workload) DO UPDATE SET
                   decision = excluded.decision, reasons = excluded.reasons,
                   priority = excluded.priority, computed_at = excluded.computed_at",
                &p,
            )?;
        }
        Ok(())
    }
}
