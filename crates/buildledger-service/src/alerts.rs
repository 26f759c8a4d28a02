//! Alerts: what the posture flags on running workloads, as alerts that
//! fire and resolve. One alert per (cluster, namespace, workload, digest,
//! rule, advisory) of every `warn` or `deny` decision; it fires when the
//! posture starts flagging it (a new advisory, a new deployment, a waiver
//! or VEX statement that ended, a policy change) and resolves when the
//! posture stops (fixed, removed, waived). State lives in the store; every
//! change queues one delivery per sink in the same transaction (the job
//! queue is the outbox), so nothing is lost over a restart and two replicas
//! never send one change twice. Firing alerts are queued again every
//! re-send round, since receivers such as Alertmanager expire alerts that
//! are not repeated.

use std::collections::BTreeMap;

use buildledger_store::{AlertRow, NewAlert, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Result;
use crate::policy::Policy;
use crate::posture::{self, PostureEntry, PostureQuery};

/// What one sync did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertSync {
    /// Alerts firing after it.
    pub firing: usize,
    /// Alerts that started firing.
    pub fired: usize,
    /// Alerts that resolved.
    pub resolved: usize,
}

/// The alerts the posture `entries` call for.
pub fn desired(entries: &[PostureEntry]) -> Vec<NewAlert> {
    let mut out: BTreeMap<String, NewAlert> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.decision != "allow") {
        let digest = e.digest.clone().unwrap_or_default();
        let env = e.environment.clone().unwrap_or_default();
        for r in &e.reasons {
            let advisory = r.advisory.clone().unwrap_or_default();
            let key = key_of(e, &r.rule, &advisory);
            if out.contains_key(&key) {
                continue;
            }
            let mut labels = Map::new();
            labels.insert("alertname".into(), json!("BuildledgerPolicy"));
            labels.insert("decision".into(), json!(e.decision));
            labels.insert("rule".into(), json!(r.rule));
            labels.insert("environment".into(), json!(env));
            labels.insert("cluster".into(), json!(e.cluster));
            labels.insert("namespace".into(), json!(e.namespace));
            labels.insert("workload".into(), json!(e.workload));
            labels.insert("digest".into(), json!(digest));
            if !advisory.is_empty() {
                labels.insert("advisory".into(), json!(advisory));
            }
            let mut annotations = Map::new();
            annotations.insert("summary".into(), json!(r.message));
            annotations.insert(
                "description".into(),
                json!(format!(
                    "{} in {}/{} ({}): {} by rule {}",
                    e.image,
                    e.namespace,
                    e.workload,
                    if env.is_empty() {
                        "no environment"
                    } else {
                        &env
                    },
                    e.decision,
                    r.rule
                )),
            );
            out.insert(
                key.clone(),
                NewAlert {
                    key,
                    labels,
                    annotations,
                },
            );
        }
    }
    out.into_values().collect()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The delivery payload of an alert: `key`, `state`, `labels`,
/// `annotations`, `startsAt`, `endsAt` (resolved only) and `generatorURL`
/// (the posture of its environment on the server at `public_url`).
pub fn payload(a: &AlertRow, public_url: Option<&str>) -> Value {
    let env = a
        .labels
        .get("environment")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut v = json!({
        "key": a.key,
        "state": a.state,
        "labels": a.labels,
        "annotations": a.annotations,
        "startsAt": rfc3339(a.starts_at),
    });
    if let Some(end) = a.ends_at {
        v["endsAt"] = json!(rfc3339(end));
    }
    if let Some(base) = public_url {
        v["generatorURL"] = json!(format!(
            "{}/api/v1/posture?env={env}",
            base.trim_end_matches('/')
        ));
    }
    v
}

/// The body of Alertmanager's `POST /api/v2/alerts` for one delivery: the
/// alert of a change, or all the alerts of a re-send delivery
/// (`{"batch": [...]}`, see [`delivery_payload`]), as one array.
pub fn alertmanager_body(payload: &Value) -> Value {
    match payload.get("batch").and_then(Value::as_array) {
        Some(batch) => Value::Array(batch.iter().map(alertmanager_alert).collect()),
        None => json!([alertmanager_alert(payload)]),
    }
}

/// One alert payload ([`payload`]) as an element of Alertmanager's array.
fn alertmanager_alert(payload: &Value) -> Value {
    let mut a = json!({
        "labels": payload["labels"],
        "annotations": payload["annotations"],
        "startsAt": payload["startsAt"],
    });
    if let Some(end) = payload.get("endsAt") {
        a["endsAt"] = end.clone();
    }
    if let Some(g) = payload.get("generatorURL") {
        a["generatorURL"] = g.clone();
    }
    a
}

/// Refresh the posture, then fire and resolve alerts to match it, queueing
/// a delivery per change for each of `sinks`.
pub fn sync(
    store: &mut Store,
    policy: &Policy,
    sinks: &[String],
    public_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AlertSync> {
    let (entries, _) = posture::posture(store, policy, &PostureQuery::default(), now)?;
    let want = desired(&entries);
    let firing = want.len();
    let (fired, resolved) = store.transaction(|s| {
        // Replicas take turns, so one change is queued once.
        s.lock_posture()?;
        s.apply_alerts(&want, sinks, now.timestamp_millis(), &|a| {
            payload(a, public_url)
        })
    })?;
    Ok(AlertSync {
        firing,
        fired: fired.len(),
        resolved: resolved.len(),
    })
}

/// Queue every firing alert again, in batches, for `sinks` — the targets
/// that forget an alert not repeated (Alertmanager's; the others get each
/// change once) — in round `bucket` (the same on every replica), and
/// forget deliveries done an hour ago.
pub fn resend(
    store: &mut Store,
    sinks: &[String],
    bucket: i64,
    now: DateTime<Utc>,
) -> Result<usize> {
    store.prune_alert_jobs(now.timestamp_millis() - 3_600_000)?;
    Ok(store.resend_firing(sinks, bucket)?)
}

/// What a claimed delivery sends: its payload (a change of one alert), or
/// for a re-send (`{"resend": {"first", "last"}}`) the alerts of its key
/// range that fire now, as `{"batch": [payload, …]}`; `None` when none of
/// them fires any more (nothing to send).
pub fn delivery_payload(
    store: &mut Store,
    job: &buildledger_store::Job,
    public_url: Option<&str>,
) -> Result<Option<Value>> {
    let Some(range) = job.payload.get("resend") else {
        return Ok(Some(job.payload.clone()));
    };
    let (Some(first), Some(last)) = (range["first"].as_str(), range["last"].as_str()) else {
        return Err(crate::Error::internal(format!(
            "re-send delivery {} names no key range",
            job.id
        )));
    };
    let firing = store.firing_between(first, last)?;
    if firing.is_empty() {
        return Ok(None);
    }
    let batch: Vec<Value> = firing.iter().map(|a| payload(a, public_url)).collect();
    Ok(Some(json!({ "batch": batch })))
}

/// The key of the alert about `rule` (and `advisory`, "" for none) on the
/// posture entry `e`: `cluster/namespace/workload/digest/rule/advisory`.
pub fn key_of(e: &PostureEntry, rule: &str, advisory: &str) -> String {
    format!(
        "{}/{}/{}/{}/{rule}/{advisory}",
        e.cluster,
        e.namespace,
        e.workload,
        e.digest.as_deref().unwrap_or_default()
    )
}

/// Firing alerts counted up to [`FIRING_COUNT_CAP`]: the overview says
/// "10000 or more" rather than count a million.
pub const FIRING_COUNT_CAP: usize = 10_000;

/// How many alerts fire (up to [`FIRING_COUNT_CAP`], which means that many
/// or more), and the newest `limit` of them.
pub fn firing_head(store: &mut Store, limit: usize) -> Result<(u64, Vec<AlertRow>)> {
    Ok(store.alerts_head("firing", limit, FIRING_COUNT_CAP)?)
}

/// The firing alerts about `entries` for any advisory `is_this` accepts:
/// looked up by their keys (each entry's reasons name rule and advisory),
/// so the cost follows the entries, not the number of alerts firing.
pub fn firing_for(
    store: &mut Store,
    entries: &[PostureEntry],
    is_this: &dyn Fn(&str) -> bool,
) -> Result<Vec<AlertRow>> {
    let mut keys: Vec<String> = entries
        .iter()
        .filter(|e| e.decision != "allow")
        .flat_map(|e| {
            e.reasons.iter().filter_map(move |r| {
                r.advisory
                    .as_deref()
                    .filter(|a| is_this(a))
                    .map(|a| key_of(e, &r.rule, a))
            })
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    Ok(store.alerts_with_keys("firing", &keys)?)
}

/// Alerts, optionally only `firing` or `resolved` ones.
pub fn list(store: &mut Store, state: Option<&str>) -> Result<Vec<AlertRow>> {
    if let Some(s) = state
        && !matches!(s, "firing" | "resolved")
    {
        return Err(crate::Error::bad_field(
            "--state",
            format!("{s:?}: expected firing or resolved"),
        ));
    }
    Ok(store.alerts(state)?)
}

/// How long one delivery attempt holds its job.
pub const DELIVERY_LEASE_MS: i64 = 30_000;

/// Deliveries given up after this many attempts (stay listed as failed jobs).
pub const MAX_DELIVERY_ATTEMPTS: i64 = 40;

/// Claim the next delivery for `target` (a sink, or one Alertmanager
/// replica of one): each is claimed by one replica at a time.
pub fn claim_delivery(
    store: &mut Store,
    target: &str,
    worker: &str,
) -> Result<Option<buildledger_store::Job>> {
    Ok(store.claim_job(&format!("alert:{target}"), worker, DELIVERY_LEASE_MS)?)
}

/// A delivery went through.
pub fn delivered(store: &mut Store, job: &buildledger_store::Job, worker: &str) -> Result<()> {
    store.finish_job(job.id, worker)?;
    Ok(())
}

/// A delivery failed: try again after an exponential backoff (1 s doubling
/// up to 5 minutes, with ±50% jitter from `jitter` in 0..1), or give up
/// after [`MAX_DELIVERY_ATTEMPTS`].
pub fn delivery_failed(
    store: &mut Store,
    job: &buildledger_store::Job,
    worker: &str,
    error: &str,
    jitter: f64,
) -> Result<()> {
    let at = (job.attempts < MAX_DELIVERY_ATTEMPTS).then(|| {
        let base = 1000f64 * 2f64.powi(job.attempts.clamp(0, 9) as i32);
        let wait = base.min(300_000.0) * (0.5 + jitter.clamp(0.0, 1.0));
        Utc::now().timestamp_millis() + wait as i64
    });
    store.fail_job(job.id, worker, error, at)?;
    Ok(())
}

/// The CloudEvents 1.0 attributes of a delivery: `type`
/// (`dev.buildledger.alert.firing` or `.resolved`), `source` (`public_url`,
/// else `urn:buildledger`) and `time`; `id` is the delivery's job id, so a
/// re-delivery carries the same id and `source`+`id` names one event.
pub fn cloudevent_attributes(
    payload: &Value,
    public_url: Option<&str>,
) -> (String, String, String) {
    let state = payload["state"].as_str().unwrap_or("firing");
    let time = payload
        .get("endsAt")
        .or_else(|| payload.get("startsAt"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    (
        format!("dev.buildledger.alert.{state}"),
        public_url.map_or_else(
            || "urn:buildledger".to_string(),
            |u| u.trim_end_matches('/').to_string(),
        ),
        time,
    )
}

/// A structured-mode CloudEvent (`application/cloudevents+json`) of a delivery.
pub fn cloudevent_structured(payload: &Value, id: &str, public_url: Option<&str>) -> Value {
    let (ty, source, time) = cloudevent_attributes(payload, public_url);
    json!({
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": ty,
        "time": time,
        "subject": payload["key"],
        "datacontenttype": "application/json",
        "data": payload,
    })
}

/// A Slack incoming-webhook message for a delivery.
pub fn slack_body(payload: &Value) -> Value {
    let l = &payload["labels"];
    let s = |k: &str| l[k].as_str().unwrap_or("").to_string();
    let state = if payload["state"] == "resolved" {
        "RESOLVED"
    } else {
        "FIRING"
    };
    json!({
        "text": format!(
            "[{state}] {} in {} {}/{}/{}: {} (rule {}, digest {})",
            s("decision"),
            s("environment"),
            s("cluster"),
            s("namespace"),
            s("workload"),
            payload["annotations"]["summary"].as_str().unwrap_or(""),
            s("rule"),
            s("digest"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One change is a one-alert array; a re-send batch is one array of
    /// all its alerts, each with only the fields Alertmanager takes.
    #[test]
    fn alertmanager_bodies_of_a_change_and_a_batch() {
        let p = |k: &str| {
            json!({"key": k, "state": "firing", "labels": {"alertname": "BuildledgerPolicy", "k": k},
                "annotations": {"summary": "s"}, "startsAt": "2026-12-08T00:00:00Z",
                "generatorURL": "https://ledger.example/api/v1/posture?env=production"})
        };
        let one = alertmanager_body(&p("a"));
        assert_eq!(one.as_array().map(Vec::len), Some(1));
        assert_eq!(one[0]["labels"]["k"], "a");
        assert!(one[0].get("key").is_none() && one[0].get("state").is_none());
        let batch = alertmanager_body(&json!({"batch": [p("a"), p("b"), p("c")]}));
        let keys: Vec<&str> = batch
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["k"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(batch[1]["generatorURL"], p("b")["generatorURL"]);
        assert!(batch[2].get("endsAt").is_none());
    }
}
