//! Alerts: one row per thing the policy flagged on a running workload
//! (its key names cluster, namespace, workload, digest, rule and advisory),
//! firing or resolved, with labels and annotations as JSON. Every change of
//! state queues one delivery job per sink (kind `alert:SINK`) in the same
//! transaction: the job queue is the outbox, so a change is delivered once
//! per sink, retried until it is, and survives a restart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, Val, ms_to_time};

/// One alert.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct AlertRow {
    /// Stable identity: `cluster/namespace/workload/digest/rule/advisory`.
    pub key: String,
    /// Labels (as Alertmanager takes them).
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// Annotations (summary, description).
    pub annotations: serde_json::Map<String, serde_json::Value>,
    /// `firing` or `resolved`.
    pub state: String,
    /// When it started firing (this time).
    pub starts_at: DateTime<Utc>,
    /// When it resolved.
    pub ends_at: Option<DateTime<Utc>>,
}

/// An alert that should fire.
#[derive(Debug, Clone)]
pub struct NewAlert {
    /// Its key.
    pub key: String,
    /// Labels.
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// Annotations.
    pub annotations: serde_json::Map<String, serde_json::Value>,
}

const COLUMNS: &str = "alert_key, labels, annotations, state, starts_at, ends_at";

/// Alerts in one re-send delivery ([`Store::resend_firing`]).
pub const RESEND_BATCH: usize = 1000;

fn row(r: Vec<Val>) -> AlertRow {
    let mut it = r.into_iter();
    let mut next = || it.next().unwrap_or(Val::Null);
    let obj = |v: Val| {
        v.into_text()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    };
    AlertRow {
        key: next().into_text().unwrap_or_default(),
        labels: obj(next()),
        annotations: obj(next()),
        state: next().into_text().unwrap_or_default(),
        starts_at: ms_to_time(next().int().unwrap_or_default()),
        ends_at: next().int().map(ms_to_time),
    }
}

impl Store {
    /// Alerts, optionally only those in `state`; firing first, newest first.
    pub fn alerts(&mut self, state: Option<&str>) -> Result<Vec<AlertRow>> {
        let rows = match state {
            Some(s) => self.db.query(
                &format!(
                    "SELECT {COLUMNS} FROM alerts WHERE state = ? ORDER BY starts_at DESC, alert_key"
                ),
                &[s.into()],
            )?,
            None => self.db.query(
                &format!(
                    "SELECT {COLUMNS} FROM alerts ORDER BY state, starts_at DESC, alert_key"
                ),
                &[],
            )?,
        };
        Ok(rows.into_iter().map(row).collect())
    }

    /// How many alerts are in `state`, counted up to `cap` (`cap` means
    /// "`cap` or more"), and the newest `limit` of them (in [`Store::alerts`]
    /// order, read from the `alerts_newest` index): both cost the same
    /// however many alerts are in that state beyond `cap`.
    pub fn alerts_head(
        &mut self,
        state: &str,
        limit: usize,
        cap: usize,
    ) -> Result<(u64, Vec<AlertRow>)> {
        let as_int = |n: usize| Val::Int(n.min(i64::MAX as usize) as i64);
        let n = self
            .db
            .query(
                "SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE state = ? LIMIT ?) AS t",
                &[state.into(), as_int(cap)],
            )?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or_default();
        let rows = self.db.query(
            &format!(
                "SELECT {COLUMNS} FROM alerts WHERE state = ?
                 ORDER BY starts_at DESC, alert_key LIMIT ?"
            ),
            &[state.into(), as_int(limit)],
        )?;
        Ok((n.max(0) as u64, rows.into_iter().map(row).collect()))
    }

    /// The alerts in `state` among those whose key is one of `keys`.
    pub fn alerts_with_keys(&mut self, state: &str, keys: &[String]) -> Result<Vec<AlertRow>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(400) {
            let params: Vec<Val> = chunk.iter().map(|k| Val::from(k.as_str())).collect();
            // By key alone, the state checked here: given `state = ?` and a
            // list of 60 keys, SQLite walks the state index (a million
            // firing alerts, 185 ms) instead of probing the keys.
            let sql = format!(
                "SELECT {COLUMNS} FROM alerts WHERE alert_key IN ({})",
                crate::placeholders(chunk.len())
            );
            out.extend(
                self.db
                    .query(&sql, &params)?
                    .into_iter()
                    .map(row)
                    .filter(|a| a.state == state),
            );
        }
        out.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then(a.key.cmp(&b.key)));
        Ok(out)
    }

    /// Make `fire` the firing set (inside a transaction holding the posture
    /// lock): alerts in it and not firing start firing (again), firing ones
    /// not in it resolve; each change queues a delivery job per sink whose
    /// payload is `payload(alert)`. Returns (fired, resolved).
    pub fn apply_alerts(
        &mut self,
        fire: &[NewAlert],
        sinks: &[String],
        now_ms: i64,
        payload: &dyn Fn(&AlertRow) -> serde_json::Value,
    ) -> Result<(Vec<AlertRow>, Vec<AlertRow>)> {
        let current = self.alerts(Some("firing"))?;
        let firing: std::collections::HashSet<&str> =
            current.iter().map(|a| a.key.as_str()).collect();
        let wanted: std::collections::HashSet<&str> = fire.iter().map(|a| a.key.as_str()).collect();
        let mut fired = Vec::new();
        for a in fire.iter().filter(|a| !firing.contains(a.key.as_str())) {
            let labels = serde_json::Value::Object(a.labels.clone()).to_string();
            let annotations = serde_json::Value::Object(a.annotations.clone()).to_string();
            let n = self.db.exec(
                "UPDATE alerts SET state = 'firing', labels = ?, annotations = ?, starts_at = ?,
                        ends_at = NULL, updated_at = ?
                 WHERE alert_key = ?",
                &[
                    labels.as_str().into(),
                    annotations.as_str().into(),
                    Val::Int(now_ms),
                    Val::Int(now_ms),
                    a.key.as_str().into(),
                ],
            )?;
            if n == 0 {
                self.db.exec(
                    "INSERT INTO alerts (alert_key, labels, annotations, state, starts_at, ends_at, updated_at)
                     VALUES (?, ?, ?, 'firing', ?, NULL, ?)",
                    &[
                        a.key.as_str().into(),
                        labels.as_str().into(),
                        annotations.as_str().into(),
                        Val::Int(now_ms),
                        Val::Int(now_ms),
                    ],
                )?;
            }
            fired.push(AlertRow {
                key: a.key.clone(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                state: "firing".into(),
                starts_at: ms_to_time(now_ms),
                ends_at: None,
            });
        }
        let mut resolved = Vec::new();
        for a in current
            .into_iter()
            .filter(|a| !wanted.contains(a.key.as_str()))
        {
            self.db.exec(
                "UPDATE alerts SET state = 'resolved', ends_at = ?, updated_at = ? WHERE alert_key = ?",
                &[Val::Int(now_ms), Val::Int(now_ms), a.key.as_str().into()],
            )?;
            resolved.push(AlertRow {
                state: "resolved".into(),
                ends_at: Some(ms_to_time(now_ms)),
                ..a
            });
        }
        for a in fired.iter().chain(resolved.iter()) {
            let at = a.ends_at.unwrap_or(a.starts_at).timestamp_millis();
            for sink in sinks {
                self.enqueue_job(
                    &format!("alert:{sink}"),
                    &format!("{}#{}#{at}", a.key, a.state),
                    &payload(a),
                )?;
            }
        }
        Ok((fired, resolved))
    }

    /// Queue every firing alert again for `sinks` (receivers such as
    /// Alertmanager forget an alert that is not re-sent), [`RESEND_BATCH`]
    /// alerts to a delivery. A delivery names its alerts by their first and
    /// last key (`{"resend": {"first": K, "last": K}}`) and the sender reads
    /// them when it sends ([`Store::firing_between`]): a round writes a
    /// thousand small jobs for a million firing alerts, not 800 MB of their
    /// JSON, and a re-send carries the alerts as they are then. The keys are
    /// read a page at a time, never all at once; `bucket` and the batch's
    /// first key make the job keys of one round the same on every replica,
    /// so a round is queued once. Returns the number of deliveries queued.
    pub fn resend_firing(&mut self, sinks: &[String], bucket: i64) -> Result<usize> {
        self.drop_older_resends(sinks, bucket)?;
        let mut n = 0;
        let mut after = String::new();
        let mut pending: Vec<String> = Vec::new();
        loop {
            // By key alone, the state checked here: with `state = ?` SQLite
            // takes the state index and sorts every firing alert by key for
            // each page.
            let rows = self.db.query(
                "SELECT alert_key, state FROM alerts WHERE alert_key > ? ORDER BY alert_key LIMIT ?",
                &[after.as_str().into(), Val::Int(RESEND_BATCH as i64)],
            )?;
            let done = rows.len() < RESEND_BATCH;
            if let Some(last) = rows.last().and_then(|r| r.first()).and_then(|v| v.text()) {
                after = last.to_string();
            }
            pending.extend(rows.into_iter().filter_map(|r| {
                let mut it = r.into_iter();
                let key = it.next().and_then(Val::into_text)?;
                (it.next().and_then(Val::into_text).as_deref() == Some("firing")).then_some(key)
            }));
            while pending.len() >= RESEND_BATCH || (done && !pending.is_empty()) {
                let batch: Vec<String> = pending.drain(..RESEND_BATCH.min(pending.len())).collect();
                n += self.queue_resend(sinks, bucket, &batch)?;
            }
            if done {
                return Ok(n);
            }
        }
    }

    /// Forget the re-send deliveries of rounds before `bucket` that still
    /// wait for `sinks` (a target that was down): this round sends what
    /// fires now, so they would only repeat it, a thousand deliveries a
    /// round for each round the target was down. One being sent is left
    /// alone, and so is a newer round (a replica whose clock is behind never
    /// drops what a replica ahead queued). Returns how many were dropped.
    pub fn drop_older_resends(&mut self, sinks: &[String], bucket: i64) -> Result<u64> {
        let mut dropped = 0;
        for sink in sinks {
            let rows = self.db.query(
                "SELECT id, job_key FROM jobs WHERE kind = ? AND state = 'queued'
                 AND job_key LIKE 'resend#%'",
                &[format!("alert:{sink}").into()],
            )?;
            let old: Vec<Val> = rows
                .iter()
                .filter(|r| {
                    r[1].text()
                        .and_then(|k| k.strip_prefix("resend#"))
                        .and_then(|k| k.split('#').next())
                        .and_then(|b| b.parse::<i64>().ok())
                        .is_some_and(|b| b < bucket)
                })
                .filter_map(|r| r[0].int().map(Val::Int))
                .collect();
            for chunk in old.chunks(400) {
                dropped += self.db.exec(
                    &format!(
                        "DELETE FROM jobs WHERE state = 'queued' AND id IN ({})",
                        crate::placeholders(chunk.len())
                    ),
                    chunk,
                )?;
            }
        }
        Ok(dropped)
    }

    /// One re-send delivery of the firing alerts `batch` (keys, in order)
    /// per sink, in one transaction.
    fn queue_resend(&mut self, sinks: &[String], bucket: i64, batch: &[String]) -> Result<usize> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(0);
        };
        let key = format!("resend#{bucket}#{first}");
        let body = serde_json::json!({"resend": {"first": first, "last": last}});
        self.transaction(|s| {
            let mut queued = 0;
            for sink in sinks {
                let (_, new) = s.enqueue_job(&format!("alert:{sink}"), &key, &body)?;
                queued += usize::from(new);
            }
            Ok(queued)
        })
    }

    /// The alerts firing now whose keys are in `first..=last`, in key order
    /// (what a re-send delivery sends).
    pub fn firing_between(&mut self, first: &str, last: &str) -> Result<Vec<AlertRow>> {
        let rows = self.db.query(
            &format!(
                "SELECT {COLUMNS} FROM alerts WHERE alert_key >= ? AND alert_key <= ?
                 ORDER BY alert_key"
            ),
            &[first.into(), last.into()],
        )?;
        Ok(rows
            .into_iter()
            .map(row)
            .filter(|a| a.state == "firing")
            .collect())
    }

    /// Forget delivered alert jobs finished before `before_ms` (their
    /// alerts keep their state; re-sends would otherwise pile up).
    pub fn prune_alert_jobs(&mut self, before_ms: i64) -> Result<u64> {
        self.db.exec(
            "DELETE FROM jobs WHERE kind LIKE 'alert:%' AND state = 'done' AND updated_at < ?",
            &[Val::Int(before_ms)],
        )
    }
}
