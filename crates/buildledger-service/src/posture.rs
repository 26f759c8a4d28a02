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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

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
    /// Only the workloads to stop: denied, outside production.
    pub stop_list: bool,
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

fn deployment_of(r: &InventoryRow) -> Deployment {
    Deployment {
        cluster: Some(r.cluster.clone()),
        namespace: Some(r.namespace.clone()),
        workload: Some(format!("{}/{}", r.workload_kind, r.workload_name)),
        environment: r.environment.clone(),
    }
}

/// A decision's key in the cache: digest, environment (`""`: none),
/// cluster, namespace, `Kind/name`.
type Key = (String, String, String, String, String);

fn cache_key(r: &InventoryRow, digest: &str) -> Key {
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
    refresh_snapshot(store, policy, full, now).map(|(r, _)| r)
}

/// A cached decision without its key.
struct Cached {
    decision: String,
    reasons: String,
    priority: i64,
}

fn split(d: CachedDecision) -> (Key, Cached) {
    (
        (d.digest, d.environment, d.cluster, d.namespace, d.workload),
        Cached {
            decision: d.decision,
            reasons: d.reasons,
            priority: d.priority,
        },
    )
}

/// What a refresh read and left: the inventory, and the decision of every
/// deployment of it that runs a digest (by [`cache_key`]).
struct Snapshot {
    rows: Vec<InventoryRow>,
    decisions: HashMap<Key, Cached>,
}

/// [`refresh`], keeping what it read for the listing.
fn refresh_snapshot(
    store: &mut Store,
    policy: &Policy,
    full: bool,
    now: DateTime<Utc>,
) -> Result<(Refresh, Snapshot)> {
    store.begin()?;
    match refresh_in_tx(store, policy, full, now, true) {
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

/// Most policy evaluators a refresh runs at once.
const MAX_EVALUATORS: usize = 8;

/// Inputs waiting for an evaluator, per evaluator.
const QUEUE_PER_EVALUATOR: usize = 2;

/// One input, for every row (deployment) that shares its digest and
/// environment: what was read of the image (the evaluator builds the input
/// document from it, off the reading thread), or a ready input.
struct Job<'a> {
    input: JobInput,
    rows: &'a [usize],
}

enum JobInput {
    Facts(Box<crate::policy::ImageFacts>, DateTime<Utc>),
    Ready(Box<PolicyInput>),
}

/// What an evaluator sends back: a row (index) and its decision, or the
/// error that stopped it (with the row it was for).
type Computed = std::result::Result<(usize, CachedDecision), (usize, Error)>;

/// Row `r`'s stored digest, parsed.
fn parse_stored(r: &InventoryRow, dg: &str) -> Result<Digest> {
    Digest::parse(dg).map_err(|e| {
        // Inventory digests are stored parsed: this is corruption.
        Error::internal(format!(
            "inventory row {}/{}: stored digest {dg:?}: {}",
            r.namespace, r.pod, e.message
        ))
    })
}

/// Most findings a refresh reads into memory at once (about 300 bytes
/// each); a larger table is read component by component.
const PRELOAD_MAX_FINDINGS: usize = 500_000;

/// Images whose inputs a refresh reads together (32 and 256 measured alike
/// in posture-bench; the smaller keeps less in memory).
const FACTS_BATCH: usize = 32;

fn cached_decision(r: &InventoryRow, dg: &str, d: Decision) -> Result<CachedDecision> {
    let (digest, environment, cluster, namespace, workload) = cache_key(r, dg);
    Ok(CachedDecision {
        digest,
        environment,
        cluster,
        namespace,
        workload,
        decision: d.decision,
        reasons: serde_json::to_string(&d.reasons).map_err(|e| Error::internal(e.to_string()))?,
        priority: d.priority,
    })
}

/// An evaluator: takes jobs until there are none and sends each row's
/// decision; at the first error it sends that, tells the producer to stop,
/// and ends.
fn evaluate_jobs(
    policy: &Policy,
    rows: &[InventoryRow],
    jobs: &Mutex<Receiver<Job<'_>>>,
    results: &Sender<Computed>,
    stop: &AtomicBool,
) {
    // Another evaluator failed: the refresh fails, the rest is moot.
    while !stop.load(Ordering::Relaxed) {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                let _ = results.send(Err((
                    0,
                    Error::internal("posture refresh: the queue of policy inputs is poisoned"),
                )));
                return;
            }
        };
        // The producer is done (or gone).
        let Ok(Job { input, rows: of }) = job else {
            return;
        };
        let mut input = match (input, of.first()) {
            (JobInput::Ready(i), _) => *i,
            (JobInput::Facts(f, now), Some(&first)) => {
                crate::policy::input_from(*f, deployment_of(&rows[first]), now)
            }
            (JobInput::Facts(..), None) => continue,
        };
        for &i in of {
            let r = &rows[i];
            let res = match &r.digest {
                Some(dg) => {
                    input.deployment = deployment_of(r);
                    policy
                        .evaluate(&input)
                        .and_then(|d| cached_decision(r, dg, d))
                }
                None => Err(Error::internal(format!(
                    "posture refresh: inventory row {}/{} has no digest",
                    r.namespace, r.pod
                ))),
            };
            let failed = res.is_err();
            if results
                .send(res.map(|c| (i, c)).map_err(|e| (i, e)))
                .is_err()
                || failed
            {
                stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// The decisions of `groups` (indexes into `rows`, one group per digest and
/// environment), in row order. This thread reads what each group's input
/// needs from the store and hands it, through a short queue, to evaluator
/// threads, which build the input document and evaluate it. The error
/// reported is that of the earliest row among those that failed.
fn decide_all(
    s: &mut Store,
    policy: &Policy,
    rows: &[InventoryRow],
    groups: &[Vec<usize>],
    now: DateTime<Utc>,
) -> Result<Vec<CachedDecision>> {
    // This thread keeps a core busy reading inputs: one evaluator fewer
    // than cores (on 2 cores, 2 evaluators were ~12% slower than 1).
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .saturating_sub(1)
        .clamp(1, MAX_EVALUATORS)
        .min(groups.len());
    if workers == 0 {
        return Ok(Vec::new());
    }
    let (job_tx, job_rx) = mpsc::sync_channel::<Job<'_>>(workers * QUEUE_PER_EVALUATOR);
    // Held by the evaluators alone: when the last one ends, the queue
    // closes and a blocked send returns.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (res_tx, res_rx) = mpsc::channel::<Computed>();
    let stop = AtomicBool::new(false);
    let mut done: Vec<(usize, CachedDecision)> = Vec::new();
    let mut first: Option<(usize, Error)> = None;
    let mut fail = |at: usize, e: Error| {
        if first.as_ref().is_none_or(|(j, _)| at < *j) {
            first = Some((at, e));
        }
    };
    let mut panicked = false;
    std::thread::scope(|scope| {
        let stop = &stop;
        let mut handles = Vec::with_capacity(workers);
        for k in 0..workers {
            let jobs = Arc::clone(&job_rx);
            let results = res_tx.clone();
            let started = std::thread::Builder::new()
                .name(format!("posture-eval-{k}"))
                .spawn_scoped(scope, move || {
                    evaluate_jobs(policy, rows, &jobs, &results, stop);
                });
            match started {
                Ok(h) => handles.push(h),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    fail(
                        0,
                        Error::internal(format!("posture refresh: starting an evaluator: {e}")),
                    );
                    break;
                }
            }
        }
        drop(job_rx);
        drop(res_tx);
        // Inputs are read for a batch of groups at a time: the images'
        // findings in one read, each shared component's findings once.
        'batches: for batch in groups.chunks(FACTS_BATCH) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut members: Vec<(&[usize], usize)> = Vec::with_capacity(batch.len());
            let mut digests: Vec<Digest> = Vec::with_capacity(batch.len());
            for g in batch {
                let Some(&i) = g.first() else { continue };
                let Some(dg) = &rows[i].digest else { continue };
                match parse_stored(&rows[i], dg) {
                    Ok(d) => {
                        members.push((g, i));
                        digests.push(d);
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        fail(i, e);
                        break 'batches;
                    }
                }
            }
            let facts = match crate::policy::facts_many(s, &digests, now) {
                Ok(f) => f,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    fail(members.first().map_or(0, |m| m.1), e);
                    break;
                }
            };
            for ((g, i), (facts, dg)) in members.into_iter().zip(facts.into_iter().zip(&digests)) {
                let r = &rows[i];
                let input = match facts {
                    Some(f) => JobInput::Facts(Box::new(f), now),
                    // Not in the ledger: the policy decides on an input
                    // that says so (image.known false).
                    None => JobInput::Ready(Box::new(crate::policy::unknown_input(
                        &r.image,
                        Some(dg.as_str()),
                        deployment_of(r),
                    ))),
                };
                if job_tx.send(Job { input, rows: g }).is_err() {
                    // Every evaluator has ended: their results say why.
                    break 'batches;
                }
            }
        }
        drop(job_tx);
        // Until every evaluator has ended (and dropped its sender).
        for res in res_rx {
            match res {
                Ok(c) => done.push(c),
                Err((at, e)) => fail(at, e),
            }
        }
        for h in handles {
            if h.join().is_err() {
                panicked = true;
            }
        }
    });
    if let Some((_, e)) = first {
        return Err(e);
    }
    if panicked {
        return Err(Error::internal(
            "posture refresh: a policy evaluator panicked",
        ));
    }
    done.sort_unstable_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, c)| c).collect())
}

fn refresh_in_tx(
    s: &mut Store,
    policy: &Policy,
    full: bool,
    now: DateTime<Utc>,
    with_reasons: bool,
) -> Result<(Refresh, Snapshot)> {
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
            let mut dirty =
                s.digests_changed_after((st.record_seq, record_seq), (st.event_seq, event_seq))?;
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
    let rows = s.inventory(None, None)?;
    let cached = if with_reasons {
        s.cached_decisions()?
    } else {
        s.cached_decisions_without_reasons()?
    };
    let mut decisions: HashMap<Key, Cached> = cached.into_iter().map(split).collect();
    // One pass over the inventory: the deployments it runs, and those the
    // cache lacks, grouped by (digest, environment) so that each group needs
    // one input.
    let mut running: HashSet<Key> = HashSet::with_capacity(rows.len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let Some(dg) = &r.digest else { continue };
        let key = cache_key(r, dg);
        let cached = decisions.contains_key(&key);
        if !running.insert(key) || cached {
            continue;
        }
        let n = groups.len();
        let g = *group_of
            .entry((dg.as_str(), r.environment.as_deref()))
            .or_insert(n);
        if g == n {
            groups.push(Vec::new());
        }
        groups[g].push(i);
    }
    drop(group_of);
    // Forget deployments the inventory no longer runs (no statement when
    // there are none).
    let before = decisions.len();
    decisions.retain(|k, _| running.contains(k));
    if decisions.len() < before {
        s.prune_posture()?;
    }
    // Thousands of images to decide: reading the findings table once is
    // cheaper than looking up each image's components in it.
    s.preload_findings(groups.len(), PRELOAD_MAX_FINDINGS)?;
    let new = decide_all(s, policy, &rows, &groups, now)?;
    out.computed = new.len();
    s.put_decisions(&new)?;
    let state = PostureState {
        policy_hash: policy.hash().to_string(),
        record_seq,
        event_seq,
        vex_seq,
        live_waivers: live,
        day,
    };
    // A read that found the cache current writes nothing (no commit to
    // make durable, no lock held longer than the read).
    if st.as_ref() != Some(&state) {
        s.set_posture_state(&state)?;
    }
    decisions.extend(new.into_iter().map(split));
    Ok((out, Snapshot { rows, decisions }))
}

fn rank(decision: &str) -> u8 {
    match decision {
        "deny" => 2,
        "warn" => 1,
        _ => 0,
    }
}

/// The entries of `rows` (in their order) that `q` selects, with their
/// decisions from `decisions`.
fn entries(
    policy: &Policy,
    rows: Vec<InventoryRow>,
    decisions: &HashMap<Key, Cached>,
    q: &PostureQuery,
) -> Result<Vec<PostureEntry>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if q.env
            .as_deref()
            .is_some_and(|e| r.environment.as_deref() != Some(e))
        {
            continue;
        }
        let (decision, reasons, priority) = match &r.digest {
            None => {
                // A tag the ledger never recorded: decided by the policy on
                // an input that says the image is unknown.
                let d = policy.evaluate(&crate::policy::unknown_input(
                    &r.image,
                    None,
                    deployment_of(&r),
                ))?;
                (d.decision, d.reasons, d.priority)
            }
            Some(dg) => {
                let c = decisions.get(&cache_key(&r, dg)).ok_or_else(|| {
                    Error::internal(format!(
                        "posture: no decision for {dg} in {}/{} after the refresh",
                        r.namespace, r.pod
                    ))
                })?;
                if q.decision.as_deref().is_some_and(|want| want != c.decision) {
                    continue;
                }
                (
                    c.decision.clone(),
                    serde_json::from_str(&c.reasons).map_err(|e| {
                        Error::internal(format!("cached posture reasons of {dg}: {e}"))
                    })?,
                    c.priority,
                )
            }
        };
        if q.decision.as_deref().is_some_and(|want| want != decision) {
            continue;
        }
        if q.stop_list
            && (decision != "deny"
                || r.environment.as_deref() == Some(crate::admission::PRODUCTION))
        {
            continue;
        }
        out.push(entry_of(r, decision, reasons, priority));
    }
    Ok(out)
}

/// The posture entry of inventory row `r`.
fn entry_of(
    r: InventoryRow,
    decision: String,
    reasons: Vec<Reason>,
    priority: i64,
) -> PostureEntry {
    PostureEntry {
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
    }
}

/// Fewest inventory rows worth a thread of their own when listing.
const LIST_ROWS_PER_THREAD: usize = 1000;

/// [`entries`] over chunks of `rows` on threads (the cached reasons are
/// parsed there: megabytes of JSON at scale), concatenated in row order.
fn entries_parallel(
    policy: &Policy,
    rows: Vec<InventoryRow>,
    decisions: &HashMap<Key, Cached>,
    q: &PostureQuery,
) -> Result<Vec<PostureEntry>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_EVALUATORS)
        .min(rows.len() / LIST_ROWS_PER_THREAD);
    if threads <= 1 {
        return entries(policy, rows, decisions, q);
    }
    let size = rows.len().div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let mut rest = rows;
    while rest.len() > size {
        let tail = rest.split_off(size);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    std::thread::scope(|scope| {
        let mut first = None;
        let mut handles = Vec::with_capacity(chunks.len());
        for (k, c) in chunks.into_iter().enumerate() {
            let started = std::thread::Builder::new()
                .name(format!("posture-list-{k}"))
                .spawn_scoped(scope, move || entries(policy, c, decisions, q));
            match started {
                Ok(h) => handles.push(h),
                Err(e) => {
                    first = Some(Error::internal(format!(
                        "posture: starting a listing thread: {e}"
                    )));
                    break;
                }
            }
        }
        let mut out = Vec::new();
        for h in handles {
            match h.join() {
                Ok(Ok(e)) => out.extend(e),
                Ok(Err(e)) => {
                    first.get_or_insert(e);
                }
                Err(_) => {
                    first.get_or_insert(Error::internal("posture: a listing thread panicked"));
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
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
    // The listing is of what the refresh read and left: the inventory of
    // its transaction, every deployment of it decided.
    let (refreshed, Snapshot { rows, decisions }) = refresh_snapshot(store, policy, q.full, now)?;
    let mut out = entries_parallel(policy, rows, &decisions, q)?;
    drop(decisions);
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

/// Which running containers a [`posture_view`] keeps (all filters optional).
#[derive(Debug, Clone, Default)]
pub struct PostureFilter {
    /// Only this environment (`""`: only containers without one).
    pub env: Option<String>,
    /// Only this decision.
    pub decision: Option<String>,
    /// Only this cluster.
    pub cluster: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only this workload (`Kind/name`).
    pub workload: Option<String>,
    /// Only containers running one of these digests.
    pub digests: Option<HashSet<String>>,
    /// Only containers whose image the advisory known under this id (or
    /// any alias) affects ([`crate::reads::affected_among`]).
    pub advisory: Option<String>,
}

/// One page of the posture and the counts of all it selects.
#[derive(Debug, Clone, Default)]
pub struct PostureView {
    /// Containers the filter keeps.
    pub total: usize,
    /// Per environment (`""`: none): containers denied, warned, allowed.
    pub counts: std::collections::BTreeMap<String, [usize; 3]>,
    /// Entries `from..from + limit` in [`posture`]'s order, with reasons.
    pub entries: Vec<PostureEntry>,
}

/// Refresh, then one page of the posture that `f` selects, with the counts
/// per environment and decision of all of it: [`posture`] for a screen.
/// Only the page's reasons are read and parsed (they are most of the
/// cache's bytes), so a count or a page costs about the inventory's rows,
/// not the findings behind them.
pub fn posture_view(
    store: &mut Store,
    policy: &Policy,
    f: &PostureFilter,
    from: usize,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<PostureView> {
    store.begin()?;
    match posture_view_in_tx(store, policy, f, from, limit, now) {
        Ok(v) => {
            store.commit()?;
            Ok(v)
        }
        Err(e) => {
            let _ = store.rollback();
            Err(e)
        }
    }
}

fn posture_view_in_tx(
    s: &mut Store,
    policy: &Policy,
    f: &PostureFilter,
    from: usize,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<PostureView> {
    let (_, Snapshot { rows, decisions }) = refresh_in_tx(s, policy, false, now, false)?;
    let affected = match &f.advisory {
        Some(id) => {
            let mut running: Vec<&str> = rows.iter().filter_map(|r| r.digest.as_deref()).collect();
            running.sort_unstable();
            running.dedup();
            Some(crate::reads::affected_among(s, id, &running)?)
        }
        None => None,
    };
    let same = |want: &Option<String>, v: &str| want.as_deref().is_none_or(|w| w == v);
    // A digest set (given, or the advisory's) keeps only the rows that run
    // one of its digests.
    let runs_one_of = |set: &Option<HashSet<String>>, d: Option<&String>| {
        set.as_ref()
            .is_none_or(|set| d.is_some_and(|d| set.contains(d)))
    };
    let mut view = PostureView::default();
    // (decision, priority, row, the reasons of an unresolved image's decision)
    let mut kept: Vec<(String, i64, usize, Option<Vec<Reason>>)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let workload_is = |w: &str| w.split_once('/') == Some((&r.workload_kind, &r.workload_name));
        if f.env
            .as_deref()
            .is_some_and(|e| r.environment.as_deref().unwrap_or_default() != e)
            || !same(&f.cluster, &r.cluster)
            || !same(&f.namespace, &r.namespace)
            || f.workload.as_deref().is_some_and(|w| !workload_is(w))
            || !runs_one_of(&f.digests, r.digest.as_ref())
            || !runs_one_of(&affected, r.digest.as_ref())
        {
            continue;
        }
        let (decision, priority, reasons) = match &r.digest {
            None => {
                let d = policy.evaluate(&crate::policy::unknown_input(
                    &r.image,
                    None,
                    deployment_of(r),
                ))?;
                (d.decision, d.priority, Some(d.reasons))
            }
            Some(dg) => {
                let c = decisions.get(&cache_key(r, dg)).ok_or_else(|| {
                    Error::internal(format!(
                        "posture: no decision for {dg} in {}/{} after the refresh",
                        r.namespace, r.pod
                    ))
                })?;
                (c.decision.clone(), c.priority, None)
            }
        };
        if !same(&f.decision, &decision) {
            continue;
        }
        view.counts
            .entry(r.environment.clone().unwrap_or_default())
            .or_default()[2 - rank(&decision) as usize] += 1;
        kept.push((decision, priority, i, reasons));
    }
    view.total = kept.len();
    kept.sort_by(|a, b| {
        let (ra, rb) = (&rows[a.2], &rows[b.2]);
        rank(&b.0)
            .cmp(&rank(&a.0))
            .then(b.1.cmp(&a.1))
            .then_with(|| {
                (
                    &ra.cluster,
                    &ra.namespace,
                    &ra.workload_kind,
                    &ra.workload_name,
                    &ra.container,
                )
                    .cmp(&(
                        &rb.cluster,
                        &rb.namespace,
                        &rb.workload_kind,
                        &rb.workload_name,
                        &rb.container,
                    ))
            })
    });
    let page: Vec<_> = kept.into_iter().skip(from).take(limit).collect();
    let keys: Vec<Key> = page
        .iter()
        .filter_map(|(_, _, i, _)| rows[*i].digest.as_ref().map(|d| cache_key(&rows[*i], d)))
        .collect();
    let reasons: HashMap<Key, String> = s.cached_reasons(&keys)?.into_iter().collect();
    for (decision, priority, i, unknown) in page {
        let r = &rows[i];
        let reasons = match (unknown, &r.digest) {
            (Some(v), _) => v,
            (None, Some(dg)) => {
                let j = reasons.get(&cache_key(r, dg)).ok_or_else(|| {
                    Error::internal(format!(
                        "posture: no cached reasons for {dg} in {}/{} inside the refresh",
                        r.namespace, r.pod
                    ))
                })?;
                serde_json::from_str(j)
                    .map_err(|e| Error::internal(format!("cached posture reasons of {dg}: {e}")))?
            }
            (None, None) => Vec::new(),
        };
        view.entries
            .push(entry_of(r.clone(), decision, reasons, priority));
    }
    Ok(view)
}
