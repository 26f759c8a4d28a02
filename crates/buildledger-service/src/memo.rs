//! Recent decisions of one policy, reused while what they read has not changed.
//!
//! An admission request names images the API server asks about again and
//! again: a Deployment, then its ReplicaSet, then each of its Pods, every
//! rollout and every restart. The decision for an image in a deployment
//! depends only on the policy and on what the ledger holds, so it is kept
//! here with the ledger's [`LedgerVersion`] — the watermarks the posture
//! cache uses (see `posture`) — and brought up to date once per request
//! ([`DecisionMemo::sync`]) the way the posture is: new records drop the
//! decisions of the digests they are about (and every image named by tag,
//! whose resolution they may change), new finding events those of the
//! digests whose findings they change; a VEX document, a waiver added,
//! revoked or expired, a new UTC day (`days_since_published`) or a gap of
//! more than [`MAX_SYNC_GAP`] ids drops everything. Every entry is also
//! dropped after [`MEMO_TTL`], which bounds how long a replica can miss a
//! record another replica committed out of id order (and the posture's other
//! known gap, a base image indexed after its descendants). The memo
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

/// Most new record or finding-event ids a sync follows digest by digest;
/// past it, the memo starts over.
pub const MAX_SYNC_GAP: i64 = 10_000;

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
        let vex_seq = store.vex_seq()?;
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
    /// Bring the memo to `version` (read from `store` just before): drop
    /// what changed since the version it holds (see the module docs).
    pub fn sync(&self, store: &mut Store, version: &LedgerVersion) -> Result<()> {
        let old = {
            let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if inner.version.as_ref() == Some(version) {
                return Ok(());
            }
            inner.version.clone()
        };
        // The digests to forget (None: everything), read without the lock.
        let dirty: Option<(BTreeSet<String>, bool)> = match &old {
            Some(o)
                if o.vex_seq == version.vex_seq
                    && o.live_waivers == version.live_waivers
                    && o.day == version.day
                    && version.record_seq >= o.record_seq
                    && version.event_seq >= o.event_seq
                    && version.record_seq - o.record_seq <= MAX_SYNC_GAP
                    && version.event_seq - o.event_seq <= MAX_SYNC_GAP =>
            {
                let d = store.digests_changed_after(
                    (o.record_seq, version.record_seq),
                    (o.event_seq, version.event_seq),
                )?;
                Some((d, version.record_seq > o.record_seq))
            }
            _ => None,
        };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.version != old {
            // Another request synced meanwhile: start over rather than guess.
            inner.entries.clear();
        } else {
            match dirty {
                Some((digests, new_records)) => inner.entries.retain(|k, _| {
                    let pinned = k.image.contains("@sha256:");
                    match &k.digest {
                        Some(d) => !digests.contains(d) && (!new_records || pinned),
                        None => !new_records,
                    }
                }),
                None => inner.entries.clear(),
            }
        }
        inner.version = Some(version.clone());
        Ok(())
    }

    /// The decision kept for `key`, if the memo is at `version` (see
    /// [`DecisionMemo::sync`]) and the entry is younger than [`MEMO_TTL`].
    pub fn get(&self, version: &LedgerVersion, key: &MemoKey) -> Option<(String, Vec<Reason>)> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let found = match inner.entries.get(key) {
            _ if inner.version.as_ref() != Some(version) => None,
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

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn kept_until_what_it_read_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_sqlite(&dir.path().join("l.db")).unwrap();
        let now = chrono::Utc::now();
        let m = DecisionMemo::default();
        let staging = Deployment {
            environment: Some("staging".into()),
            ..Default::default()
        };
        let prod = Deployment {
            environment: Some("production".into()),
            ..Default::default()
        };
        let a = MemoKey::new(&format!("r/a@{A}"), Some(A), &staging);
        let b = MemoKey::new(&format!("r/b@{B}"), Some(B), &staging);
        let tag = MemoKey::new("r/b:1", Some(B), &staging);
        let unknown = MemoKey::new("r/c:1", None, &staging);
        let v1 = LedgerVersion::read(&mut store, now).unwrap();
        m.sync(&mut store, &v1).unwrap();
        assert_eq!(m.get(&v1, &a), None);
        for k in [&a, &b, &tag, &unknown] {
            m.put(&v1, k.clone(), "deny".into(), vec![]);
        }
        assert_eq!(m.get(&v1, &a).map(|x| x.0), Some("deny".into()));
        // Another deployment of the same image is another key.
        assert_eq!(
            m.get(&v1, &MemoKey::new(&format!("r/a@{A}"), Some(A), &prod)),
            None
        );
        // A record about A: A's decisions go, and so do the images named by
        // tag or unresolved (a new record may resolve them); B's stays.
        let rec: buildledger_model::BuildRecord =
            serde_json::from_str(&format!(r#"{{"subjects":[{{"digest":"{A}"}}]}}"#)).unwrap();
        store.record(&rec).unwrap();
        let v2 = LedgerVersion::read(&mut store, now).unwrap();
        assert_ne!(v1, v2);
        assert_eq!(m.get(&v2, &b), None, "not synced yet: nothing is served");
        m.sync(&mut store, &v2).unwrap();
        assert_eq!(m.get(&v2, &a), None);
        assert_eq!(m.get(&v2, &tag), None);
        assert_eq!(m.get(&v2, &unknown), None);
        assert_eq!(m.get(&v2, &b).map(|x| x.0), Some("deny".into()));
        // A decision computed at an older version is not kept.
        m.put(&v1, a.clone(), "allow".into(), vec![]);
        assert_eq!(m.get(&v2, &a), None);
        // A waiver in force (or a VEX document, or a new day) drops everything.
        let mut v3 = v2.clone();
        v3.live_waivers.insert(7);
        m.sync(&mut store, &v3).unwrap();
        assert_eq!(m.get(&v3, &b), None);
        let (hits, misses) = m.counts();
        assert_eq!((hits, misses), (2, 8));
    }
}
