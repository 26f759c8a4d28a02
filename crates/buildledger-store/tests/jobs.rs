//! The job queue and feed-source leases that server replicas share, on both
//! engines: each job is claimed by one worker at a time even when workers
//! race on separate connections, a dead worker's lease is taken over, a
//! failure is retried later or given up, one key is queued once, and a
//! feed source is leased by one replica per interval.

mod common;

use std::sync::{Arc, Mutex};

use buildledger_store::Synced;
use common::each_backend;

#[test]
fn each_job_is_claimed_once_across_racing_workers() {
    each_backend(|db| {
        for i in 0..60 {
            let (_, new) = db
                .store
                .enqueue_job("index", &format!("k{i}"), &serde_json::json!({"n": i}))
                .unwrap();
            assert!(new);
        }
        // The same key again: not queued twice.
        let (id, new) = db
            .store
            .enqueue_job("index", "k7", &serde_json::json!({}))
            .unwrap();
        assert!(!new);
        assert!(id > 0);
        let claimed = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|sc| {
            for w in 0..4 {
                let mut s = db.reopen().unwrap();
                let claimed = claimed.clone();
                sc.spawn(move || {
                    let me = format!("w{w}");
                    while let Some(j) = s.claim_job("index", &me, 60_000).unwrap() {
                        assert!(s.finish_job(j.id, &me).unwrap());
                        claimed.lock().unwrap().push(j.key);
                    }
                });
            }
        });
        let mut keys = claimed.lock().unwrap().clone();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!((n, keys.len()), (60, 60), "a job was claimed twice or lost");
        let jobs = db.store.jobs(Some("index")).unwrap();
        assert!(jobs.iter().all(|j| j.state == "done" && j.attempts == 1));
        // A finished key is not queued again either.
        assert!(
            !db.store
                .enqueue_job("index", "k1", &serde_json::json!({}))
                .unwrap()
                .1
        );
    });
}

#[test]
fn leases_expire_failures_retry_and_give_up() {
    each_backend(|db| {
        let s = &mut db.store;
        s.enqueue_job("index", "a", &serde_json::json!({})).unwrap();
        // Worker 1 claims with a lease that has already run out (it "died").
        let j = s.claim_job("index", "w1", -1).unwrap().unwrap();
        // Worker 2 takes it over; worker 1 can no longer finish it.
        let j2 = s.claim_job("index", "w2", 60_000).unwrap().unwrap();
        assert_eq!((j2.id, j2.attempts), (j.id, 2));
        assert!(!s.finish_job(j.id, "w1").unwrap());
        assert!(s.claim_job("index", "w3", 60_000).unwrap().is_none());
        // A failure with a retry time in the future: not claimable yet.
        let later = chrono::Utc::now().timestamp_millis() + 60_000;
        assert!(
            s.fail_job(j.id, "w2", "registry down", Some(later))
                .unwrap()
        );
        assert!(s.claim_job("index", "w3", 60_000).unwrap().is_none());
        let q = s.jobs(None).unwrap();
        assert_eq!(
            (q[0].state.as_str(), q[0].last_error.as_deref()),
            ("queued", Some("registry down"))
        );
        // Due now: claimed, then given up.
        let now = chrono::Utc::now().timestamp_millis() - 1;
        let j3 = s.claim_job("index", "w3", 60_000).unwrap();
        assert!(j3.is_none());
        s.fail_job(j.id, "w2", "x", Some(now)).unwrap_or_default();
        // (w2 no longer holds it: nothing changed)
        assert_eq!(s.jobs(None).unwrap()[0].state, "queued");
        // A failed key may be queued again by a new push.
        s.enqueue_job("index", "b", &serde_json::json!({})).unwrap();
        let b = loop {
            let c = s.claim_job("index", "w4", 60_000).unwrap().unwrap();
            if c.key == "b" {
                break c;
            }
        };
        assert!(s.fail_job(b.id, "w4", "corrupt image", None).unwrap());
        assert_eq!(
            s.jobs(None)
                .unwrap()
                .iter()
                .find(|j| j.key == "b")
                .unwrap()
                .state,
            "failed"
        );
        assert!(
            s.enqueue_job("index", "b", &serde_json::json!({}))
                .unwrap()
                .1
        );
        let counts = s.job_counts().unwrap();
        assert!(
            counts
                .iter()
                .any(|(k, st, n)| k == "index" && st == "failed" && *n == 1),
            "{counts:?}"
        );
    });
}

#[test]
fn a_feed_source_is_leased_by_one_replica_per_interval() {
    each_backend(|db| {
        let mut other = db.reopen().unwrap();
        let s = &mut db.store;
        let a = s
            .lease_feed_source("osv", "/feeds/osv.zip", "r1", 3_600_000, 60_000)
            .unwrap();
        assert!(a.is_some());
        // Held: the other replica does not get it.
        assert!(
            other
                .lease_feed_source("osv", "/feeds/osv.zip", "r2", 3_600_000, 60_000)
                .unwrap()
                .is_none()
        );
        s.finish_feed_source(
            "osv",
            "r1",
            Ok(Synced {
                etag: Some("\"abc\""),
                last_modified: None,
                advisories: Some(42),
            }),
        )
        .unwrap();
        // Released, but synced within the interval: not due.
        assert!(
            other
                .lease_feed_source("osv", "/feeds/osv.zip", "r2", 3_600_000, 60_000)
                .unwrap()
                .is_none()
        );
        // With a short interval it is due again, and the validators are there.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = other
            .lease_feed_source("osv", "/feeds/osv.zip", "r2", 1, 60_000)
            .unwrap()
            .unwrap();
        assert_eq!((b.etag.as_deref(), b.advisories), (Some("\"abc\""), 42));
        // A failure keeps what the last success said, and records why.
        other
            .finish_feed_source("osv", "r2", Err("HTTP 500"))
            .unwrap();
        let st = s.feed_sources().unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(
            (st[0].advisories, st[0].last_error.as_deref()),
            (42, Some("HTTP 500"))
        );
        assert!(st[0].last_success.is_some());
    });
}

/// Re-sends come in batches of `RESEND_BATCH` firing alerts, in key order,
/// each batch one delivery per sink naming its first and last key; the
/// alerts firing in that range are every firing alert once, resolved ones
/// left out; a round is queued once however often it is asked for
/// (replicas share the bucket), and the next round queues again.
#[test]
fn firing_alerts_are_resent_in_batches_once_a_round() {
    use buildledger_store::{NewAlert, RESEND_BATCH};
    each_backend(|db| {
        let engine = format!("{:?}", db.store.kind());
        let s = &mut db.store;
        let n = 2 * RESEND_BATCH + 500;
        let alert = |i: usize| NewAlert {
            key: format!("eu-1/shop/Deployment/w{i:05}/sha256:aa/rule/GO-2099-{i:04}"),
            labels: serde_json::json!({"alertname": "BuildledgerPolicy", "n": i})
                .as_object()
                .unwrap()
                .clone(),
            annotations: Default::default(),
        };
        let all: Vec<NewAlert> = (0..n).map(alert).collect();
        let payload = |a: &buildledger_store::AlertRow| serde_json::json!({"key": a.key});
        s.transaction(|s| s.apply_alerts(&all, &[], 1_000, &payload))
            .unwrap();
        // Every 100th stops firing: resolved alerts sit inside the ranges.
        let fewer: Vec<NewAlert> = (0..n).filter(|i| i % 100 != 0).map(alert).collect();
        s.transaction(|s| s.apply_alerts(&fewer, &[], 2_000, &payload))
            .unwrap();
        let sinks = ["am-0".to_string(), "am-1".to_string()];
        let queued = s.resend_firing(&sinks, 7).unwrap();
        assert_eq!(queued, 3 * sinks.len(), "[{engine}]");
        assert_eq!(s.resend_firing(&sinks, 7).unwrap(), 0, "[{engine}]");
        for sink in &sinks {
            let jobs = s.jobs(Some(&format!("alert:{sink}"))).unwrap();
            let batches: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    let r = &j.payload["resend"];
                    s.firing_between(r["first"].as_str().unwrap(), r["last"].as_str().unwrap())
                        .unwrap()
                        .into_iter()
                        .map(|a| a.key)
                        .collect()
                })
                .collect();
            let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
            assert_eq!(
                sizes,
                vec![RESEND_BATCH, RESEND_BATCH, fewer.len() - 2 * RESEND_BATCH],
                "[{engine}]"
            );
            let keys: Vec<String> = batches.concat();
            let want: Vec<String> = fewer.iter().map(|a| a.key.clone()).collect();
            assert_eq!(
                keys, want,
                "[{engine}] {sink}: every firing alert once, in key order"
            );
        }
        // Targets that were down: round 7 still waits (one of am-1's
        // deliveries being sent). Round 8 drops the rest of round 7, and a
        // replica still in round 6 drops nothing newer.
        let claimed = s.claim_job("alert:am-1", "w1", 30_000).unwrap().unwrap();
        assert!(claimed.key.starts_with("resend#7#"), "{claimed:?}");
        assert_eq!(s.resend_firing(&sinks, 8).unwrap(), 3 * sinks.len());
        let keys = |s: &mut buildledger_store::Store, sink: &str| -> Vec<(String, String)> {
            s.jobs(Some(&format!("alert:{sink}")))
                .unwrap()
                .into_iter()
                .map(|j| {
                    (
                        j.key.split('#').take(2).collect::<Vec<_>>().join("#"),
                        j.state,
                    )
                })
                .collect()
        };
        let am1 = keys(s, "am-1");
        assert_eq!(
            am1.iter().filter(|(k, _)| k == "resend#7").count(),
            1,
            "[{engine}] only the one being sent is left of round 7: {am1:?}"
        );
        assert_eq!(
            am1.iter().filter(|(k, _)| k == "resend#8").count(),
            3,
            "[{engine}]"
        );
        assert_eq!(s.drop_older_resends(&sinks, 6).unwrap(), 0, "[{engine}]");
        assert_eq!(keys(s, "am-1"), am1, "[{engine}]");
    });
}
