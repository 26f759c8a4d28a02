//! Recent decisions of one policy, reused while the ledger has not changed.
//!
//! An admission request names images the API server asks about again and
//! again: a Deployment, then its ReplicaSet, then each of its Pods, every
//! rollout and every restart. The decision for an image in a deployment
//! depends only on the policy and on what the ledger holds, so it is kept
//! here with the ledger's [`LedgerVersion`] and reused until that moves:
//! a record (claim, scan, index, attestation), a finding event (an advisory
//! imported, changed or withdrawn), a VEX document, a waiver added, revoked
//! or expired, or a new UTC day (`days_since_published`). The watermarks
//! are the ones the posture cache uses (see `posture`); every entry is
//! also dropped after [`MEMO_TTL`], which bounds how long a replica can
//! miss a record another replica committed out of id order. The memo
//! belongs to one compiled [`Policy`](crate::policy::Policy): a reloaded
//! policy starts empty.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use buildledger_store::Store;
use chrono::{DateTime, Utc};

use crate::Result;
use crate::policy::{Deployment, Reason};

/// Longest an entry is reused.
pub const MEMO_TTL: Duration = Duration::from_secs(60);

/// Most entries kept; a full memo starts over.
pub const MEMO_CAPACITY: usize = 16_384;

/// What a decision read from the ledger, as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerVersion {
    /// Newest record id.
    pub record_seq: i64,
    /// Newest finding event id.
    pub event_seq: i64,
    /// Newest VEX document row.
    pub vex_seq: i64,
    /// Ids of the waivers in force.
    pub live_waivers: BTreeSet<i64>,
    /// UTC day (days since 1970-01-01).
    pub day: i64,
}

impl LedgerVersion {
    /// Read the ledger's watermarks (four indexed reads).
    pub fn read(store: &mut Store, now: DateTime<Utc>) -> Result<LedgerVersion> {
        let (record_seq, event_seq) = store.ledger_seqs()?;
        let (_, vex_seq) = store.vex_names_since(i64::MAX)?;
        let live_waivers = store
            .waivers()?
            .iter()
            .filter(|w| crate::waivers::active(w, now))
            .map(|w| w.id)
            .collect();
        Ok(LedgerVersion {
            record_seq,
            event_seq,
            vex_seq,
            live_waivers,
            day: now.timestamp().div_euclid(86_400),
        })
    }
}

/// What a memoized decision is for: the image as named, the digest it
/// resolved to (None: unresolved), and the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoKey {
    /// The image as the pod spec names it.
    pub image: String,
    /// The digest it resolved to.
    pub digest: Option<String>,
    /// Environment, cluster, namespace, workload.
    pub deployment: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
}

impl MemoKey {
    /// The key of `image` (resolved to `digest`) deployed as `d`.
    pub fn new(image: &str, digest: Option<&str>, d: &Deployment) -> MemoKey {
        MemoKey {
            image: image.to_string(),
            digest: digest.map(str::to_string),
            deployment: (
                d.environment.clone(),
                d.cluster.clone(),
                d.namespace.clone(),
                d.workload.clone(),
            ),
        }
    }
}

#[derive(Default)]
struct Inner {
    version: Option<LedgerVersion>,
    entries: HashMap<MemoKey, (Instant, String, Vec<Reason>)>,
}

/// The memo (shared by every request under one policy).
#[derive(Default)]
pub struct DecisionMemo {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl DecisionMemo {
    /// The decision kept for `key`, if the ledger is still at `version`
    /// and the entry is younger than [`MEMO_TTL`]. A different version
    /// empties the memo.
    pub fn get(&self, version: &LedgerVersion, key: &MemoKey) -> Option<(String, Vec<Reason>)> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.version.as_ref() != Some(version) {
            inner.entries.clear();
            inner.version = Some(version.clone());
        }
        let found = match inner.entries.get(key) {
            Some((at, d, r)) if at.elapsed() < MEMO_TTL => Some((d.clone(), r.clone())),
            _ => None,
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keep `decision` for `key`, computed at `version` (dropped if the
    /// memo has moved to another version meanwhile).
    pub fn put(
        &self,
        version: &LedgerVersion,
        key: MemoKey,
        decision: String,
        reasons: Vec<Reason>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.version.as_ref() != Some(version) {
            return;
        }
        if inner.entries.len() >= MEMO_CAPACITY {
            inner.entries.clear();
        }
        inner
            .entries
            .insert(key, (Instant::now(), decision, reasons));
    }

    /// (hits, misses) so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(record_seq: i64) -> LedgerVersion {
        LedgerVersion {
            record_seq,
            event_seq: 1,
            vex_seq: 0,
            live_waivers: BTreeSet::new(),
            day: 20_000,
        }
    }

    #[test]
    fn reused_only_at_the_same_version() {
        let m = DecisionMemo::default();
        let d = Deployment {
            environment: Some("staging".into()),
            ..Default::default()
        };
        let k = MemoKey::new("r/x@sha256:1", Some("sha256:1"), &d);
        let v1 = version(1);
        assert_eq!(m.get(&v1, &k), None);
        m.put(&v1, k.clone(), "deny".into(), vec![]);
        assert_eq!(m.get(&v1, &k).map(|x| x.0), Some("deny".into()));
        // Another deployment of the same image is another key.
        let prod = Deployment {
            environment: Some("production".into()),
            ..Default::default()
        };
        assert_eq!(
            m.get(&v1, &MemoKey::new("r/x@sha256:1", Some("sha256:1"), &prod)),
            None
        );
        // A new record: everything is recomputed, and a decision computed
        // at the old version is not kept.
        let v2 = version(2);
        assert_eq!(m.get(&v2, &k), None);
        m.put(&v1, k.clone(), "allow".into(), vec![]);
        assert_eq!(m.get(&v2, &k), None);
        let mut v3 = version(2);
        v3.live_waivers.insert(7);
        m.put(&v2, k.clone(), "deny".into(), vec![]);
        assert_eq!(
            m.get(&v3, &k),
            None,
            "a waiver in force changes the version"
        );
        assert_eq!(m.counts(), (1, 5));
    }
}
