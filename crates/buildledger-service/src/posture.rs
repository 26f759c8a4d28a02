//! Posture: the policy's decision for every container the runtime
//! inventory runs, kept current incrementally.
//!
//! Decisions are cached per (image digest, environment, cluster,
//! namespace, workload) together with watermarks of the ledger's own logs.
//! A refresh reads what changed since: records after the last record id
//! (new claims, scans, indexes: trust and mismatches), finding events after
//! the last event id (an advisory imported, changed or withdrawn), VEX
//! documents after the last document row, and the set of waivers in force
//! (added, revoked, or expired since — expiry needs no event). It drops the
//! decisions of the images those touch, computes the decisions the
//! inventory needs and the cache lacks, and forgets deployments the
//! inventory no longer runs. A different policy (by hash), or a new UTC
//! day (the input's `days_since_published` moved), recomputes all.
//!
//! One refresh runs at a time (a PostgreSQL advisory lock; SQLite's write
//! lock). Known gaps, closed by a full refresh (`posture --full`): on PostgreSQL a record whose transaction commits
//! after a refresh that already saw a later record id; and a base image
//! indexed after its descendants, which changes their lineage.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use buildledger_model::Digest;
use buildledger_store::{CachedDecision, InventoryRow, PostureState, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::{Decision, Deployment, Policy, PolicyInput, Reason};
use crate::{Error, Result};

/// The posture of one running container: the JSON of `posture`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PostureEntry {
    /// Cluster.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// `Kind/name`.
    pub workload: String,
    /// Container (`name`, or `name (init)`).
    pub container: String,
    /// The image as the pod spec names it.
    pub image: String,
    /// The digest it runs (None: unresolved).
    pub digest: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// `allow`, `warn` or `deny` (`deny` for an unresolved or unknown
    /// image outside production, `warn` in production).
    pub decision: String,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Rank among entries with the same decision (higher first).
    pub priority: i64,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct PostureQuery {
    /// Only this environment.
    pub env: Option<String>,
    /// Only this decision.
    pub decision: Option<String>,
    /// Recompute every decision, not only those that changed.
    pub full: bool,
}

/// What a refresh did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Refresh {
    /// Whether every decision was recomputed (first refresh, new policy, or asked).
    pub full: bool,
    /// Images whose cached decisions were dropped as changed.
    pub invalidated_images: usize,
    /// Decisions computed.
    pub computed: usize,
}

fn fallback(env: Option<&str>, rule: &str, message: String) -> Decision {
    Decision {
        decision: if env == Some("production") {
            "warn".into()
        } else {
            "deny".into()
        },
        reasons: vec![Reason {
            rule: rule.into(),
            message,
            advisory: None,
        }],
        priority: 0,
        input: None,
    }
}

fn deployment_of(r: &InventoryRow) -> Deployment {
    Deployment {
        cluster: Some(r.cluster.clone()),
        namespace: Some(r.namespace.clone()),
        workload: Some(format!("{}/{}", r.workload_kind, r.workload_name)),
        environment: r.environment.clone(),
    }
}

fn cache_key(r: &InventoryRow, digest: &str) -> (String, String, String, String, String) {
    (
        digest.to_string(),
        r.environment.clone().unwrap_or_default(),
        r.cluster.clone(),
        r.namespace.clone(),
        format!("{}/{}", r.workload_kind, r.workload_name),
    )
}

/// Bring the cached decisions up to date with the ledger (see the module docs).
pub fn refresh(
    store: &mut Store,
    policy: &Policy,
    full: bool,
    now: DateTime<Utc>,
) -> Result<Refresh> {
    store.begin()?;
    match refresh_in_tx(store, policy, full, now) {
        Ok(r) => {
            store.commit()?;
            Ok(r)
        }
        Err(e) => {
            let _ = store.rollback();
            Err(e)
        }
    }
}

/// The decision for one inventory row's image, computed now.
fn decide(s: &mut Store, policy: &Policy, r: &InventoryRow, dg: &str) -> Result<Decision> {
    let digest = Digest::parse(dg).map_err(|e| {
        // Inventory digests are stored parsed: this is corruption.
        Error::internal(format!(
            "inventory row {}/{}: stored digest {dg:?}: {}",
            r.namespace, r.pod, e.message
        ))
    })?;
    match crate::policy::input(s, &digest, deployment_of(r)) {
        Ok(i) => policy.evaluate(&i),
        Err(e) if e.kind == crate::ErrorKind::NotFound => Ok(fallback(
            r.environment.as_deref(),
            "unknown-image",
            format!("{dg} is not in the ledger"),
        )),
        Err(e) => Err(e),
    }
}

fn refresh_in_tx(
    s: &mut Store,
    policy: &Policy,
    full: bool,
    now: DateTime<Utc>,
) -> Result<Refresh> {
    s.lock_posture()?;
    let st = s.posture_state()?;
    let (record_seq, event_seq) = s.ledger_seqs()?;
    let all_waivers = s.waivers()?;
    let live: BTreeSet<i64> = all_waivers
        .iter()
        .filter(|w| crate::waivers::active(w, now))
        .map(|w| w.id)
        .collect();
    let prev_vex = st.as_ref().map_or(0, |x| x.vex_seq);
    let (vex_names, vex_seq) = s.vex_names_since(prev_vex)?;
    // The input's days_since_published moves once a day: a new day
    // refreshes everything.
    let day = now.timestamp().div_euclid(86_400);
    let mut out = Refresh::default();
    match &st {
        Some(st) if !full && st.policy_hash == policy.hash() && st.day == day => {
            let mut dirty: BTreeSet<String> = BTreeSet::new();
            if record_seq > st.record_seq {
                dirty.extend(s.digests_of_records_after(st.record_seq)?);
            }
            if event_seq > st.event_seq {
                dirty.extend(s.digests_of_events_after(st.event_seq)?);
            }
            let changed: BTreeSet<i64> = live
                .symmetric_difference(&st.live_waivers)
                .copied()
                .collect();
            let mut advisories: BTreeSet<String> = vex_names.into_iter().collect();
            for w in all_waivers.iter().filter(|w| changed.contains(&w.id)) {
                if w.scope_kind == "digest" {
                    dirty.insert(w.scope_value.clone());
                } else {
                    advisories.insert(w.advisory.clone());
                }
            }
            for a in advisories {
                if let Some(found) = s.affected(&a)? {
                    dirty.extend(found.into_iter().map(|f| f.digest));
                }
            }
            out.invalidated_images = dirty.len();
            if !dirty.is_empty() {
                let dirty: Vec<String> = dirty.into_iter().collect();
                s.clear_posture(Some(&dirty))?;
            }
        }
        _ => {
            out.full = true;
            s.clear_posture(None)?;
        }
    }
    s.prune_posture()?;
    let have: BTreeSet<(String, String, String, String, String)> = s
        .cached_decisions()?
        .into_iter()
        .map(|d| (d.digest, d.environment, d.cluster, d.namespace, d.workload))
        .collect();
    let rows = s.inventory(None, None)?;
    let mut inputs: HashMap<(String, Option<String>), Option<PolicyInput>> = HashMap::new();
    let mut new = Vec::new();
    let mut seen = BTreeSet::new();
    for r in &rows {
        let Some(dg) = &r.digest else { continue };
        let key = cache_key(r, dg);
        if have.contains(&key) || !seen.insert(key.clone()) {
            continue;
        }
        let ikey = (dg.clone(), r.environment.clone());
        if !inputs.contains_key(&ikey) {
            let digest = Digest::parse(dg).map_err(|e| {
                // Inventory digests are stored parsed: this is corruption.
                Error::internal(format!(
                    "inventory row {}/{}: stored digest {dg:?}: {}",
                    r.namespace, r.pod, e.message
                ))
            })?;
            let i = match crate::policy::input(s, &digest, deployment_of(r)) {
                Ok(i) => Some(i),
                Err(e) if e.kind == crate::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            inputs.insert(ikey.clone(), i);
        }
        let d = match &inputs[&ikey] {
            None => fallback(
                r.environment.as_deref(),
                "unknown-image",
                format!("{dg} is not in the ledger"),
            ),
            Some(i) => {
                let mut i = i.clone();
                i.deployment = deployment_of(r);
                policy.evaluate(&i)?
            }
        };
        new.push(CachedDecision {
            digest: key.0,
            environment: key.1,
            cluster: key.2,
            namespace: key.3,
            workload: key.4,
            decision: d.decision,
            reasons: serde_json::to_string(&d.reasons)
                .map_err(|e| Error::internal(e.to_string()))?,
            priority: d.priority,
        });
    }
    out.computed = new.len();
    s.put_decisions(&new)?;
    s.set_posture_state(&PostureState {
        policy_hash: policy.hash().to_string(),
        record_seq,
        event_seq,
        vex_seq,
        live_waivers: live,
        day,
    })?;
    Ok(out)
}

fn rank(decision: &str) -> u8 {
    match decision {
        "deny" => 2,
        "warn" => 1,
        _ => 0,
    }
}

/// Refresh, then the decision for every container of the inventory
/// (optionally one environment, one decision): deny first, then warn, then
/// allow; by priority within each.
pub fn posture(
    store: &mut Store,
    policy: &Policy,
    q: &PostureQuery,
    now: DateTime<Utc>,
) -> Result<(Vec<PostureEntry>, Refresh)> {
    let refreshed = refresh(store, policy, q.full, now)?;
    let cached: BTreeMap<(String, String, String, String, String), CachedDecision> = store
        .cached_decisions()?
        .into_iter()
        .map(|d| {
            (
                (
                    d.digest.clone(),
                    d.environment.clone(),
                    d.cluster.clone(),
                    d.namespace.clone(),
                    d.workload.clone(),
                ),
                d,
            )
        })
        .collect();
    let mut out = Vec::new();
    for r in store.inventory(None, None)? {
        if q.env
            .as_deref()
            .is_some_and(|e| r.environment.as_deref() != Some(e))
        {
            continue;
        }
        let (decision, reasons, priority) = match &r.digest {
            None => {
                let d = fallback(
                    r.environment.as_deref(),
                    "unresolved-image",
                    format!("{} resolves to no digest the ledger knows", r.image),
                );
                (d.decision, d.reasons, 0)
            }
            Some(dg) => match cached.get(&cache_key(&r, dg)) {
                Some(c) => (
                    c.decision.clone(),
                    serde_json::from_str(&c.reasons).map_err(|e| {
                        Error::internal(format!("cached posture reasons of {dg}: {e}"))
                    })?,
                    c.priority,
                ),
                // A snapshot that landed after the refresh: decide now.
                None => {
                    let d = decide(store, policy, &r, dg)?;
                    (d.decision, d.reasons, d.priority)
                }
            },
        };
        if q.decision.as_deref().is_some_and(|want| want != decision) {
            continue;
        }
        out.push(PostureEntry {
            workload: format!("{}/{}", r.workload_kind, r.workload_name),
            container: if r.container_kind == "container" {
                r.container
            } else {
                format!("{} ({})", r.container, r.container_kind)
            },
            cluster: r.cluster,
            namespace: r.namespace,
            image: r.image,
            digest: r.digest,
            environment: r.environment,
            decision,
            reasons,
            priority,
        });
    }
    out.sort_by(|a, b| {
        rank(&b.decision)
            .cmp(&rank(&a.decision))
            .then(b.priority.cmp(&a.priority))
            .then_with(|| {
                (&a.cluster, &a.namespace, &a.workload, &a.container).cmp(&(
                    &b.cluster,
                    &b.namespace,
                    &b.workload,
                    &b.container,
                ))
            })
    });
    Ok((out, refreshed))
}
