//! Work that must happen once among several server replicas, coordinated
//! through the database alone (no broker): a job queue whose jobs are
//! claimed under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite
//! serialises writers), retried with backoff and claimed again when a
//! worker died holding one; and feed sources, each synced by one replica
//! per interval under a lease.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
use crate::{Result, Store, Val, ms_to_time, now_ms};

/// A queued piece of work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// What kind of work (`index`).
    pub kind: String,
    /// What it is about (one live or finished job per kind and key).
    pub key: String,
    /// Its parameters.
    pub payload: serde_json::Value,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

const JOB_COLUMNS: &str =
    "id, kind, job_key, payload, state, attempts, last_error, created_at, updated_at";

fn job(r: Vec<Val>) -> Job {
    let mut it = r.into_iter();
    let mut next = || it.next().unwrap_or(Val::Null);
    Job {
        id: next().int().unwrap_or_default(),
        kind: next().into_text().unwrap_or_default(),
        key: next().into_text().unwrap_or_default(),
        payload: next()
            .into_text()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        state: next().into_text().unwrap_or_default(),
        attempts: next().int().unwrap_or_default(),
        last_error: next().into_text(),
        created_at: ms_to_time(next().int().unwrap_or_default()),
        updated_at: ms_to_time(next().int().unwrap_or_default()),
    }
}

/// Sync state of one feed source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct FeedSourceState {
    /// The source's name (from the configuration).
    pub name: String,
    /// Its path or URL.
    pub location: String,
    /// The validator of the last download (HTTP `ETag`).
    pub etag: Option<String>,
    /// The `Last-Modified` of the last download.
    pub last_modified: Option<String>,
    /// When a sync last started.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When a sync last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// Why the last sync failed (cleared by a success).
    pub last_error: Option<String>,
    /// Advisories the last successful import read.
    pub advisories: i64,
}

const SOURCE_COLUMNS: &str =
    "name, location, etag, last_modified, last_attempt, last_success, last_error, advisories";

fn source(r: Vec<Val>) -> FeedSourceState {
    let mut it = r.into_iter();
    let mut next = || it.next().unwrap_or(Val::Null);
    FeedSourceState {
        name: next().into_text().unwrap_or_default(),
        location: next().into_text().unwrap_or_default(),
        etag: next().into_text(),
        last_modified: next().into_text(),
        last_attempt: next().int().map(ms_to_time),
        last_success: next().int().map(ms_to_time),
        last_error: next().into_text(),
        advisories: next().int().unwrap_or_default(),
    }
}

/// What a successful feed sync learnt: the download's validators and how
/// many advisories it read (None: unchanged, e.g. HTTP 304).
#[derive(Debug, Clone, Copy, Default)]
pub struct Synced<'a> {
    /// HTTP `ETag`.
    pub etag: Option<&'a str>,
    /// HTTP `Last-Modified`.
    pub last_modified: Option<&'a str>,
    /// Advisories read.
    pub advisories: Option<i64>,
}

fn opt(s: Option<&str>) -> Val {
    s.map(Val::from).unwrap_or(Val::Null)
}

impl Store {
    /// Queue a job unless one of the same kind and key is queued, running or
    /// done; returns its id and whether it is new.
    pub fn enqueue_job(
        &mut self,
        kind: &str,
        key: &str,
        payload: &serde_json::Value,
    ) -> Result<(i64, bool)> {
        let now = now_ms();
        let inserted = self.db.query(
            "INSERT INTO jobs (kind, job_key, payload, state, attempts, run_after, created_at, updated_at)
             VALUES (?, ?, ?, 'queued', 0, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            &[
                kind.into(),
                key.into(),
                payload.to_string().as_str().into(),
                Val::Int(now),
                Val::Int(now),
                Val::Int(now),
            ],
        )?;
        if let Some(id) = inserted.first().and_then(|r| r[0].int()) {
            return Ok((id, true));
        }
        let existing = self.db.query(
            "SELECT id FROM jobs WHERE kind = ? AND job_key = ? AND state <> 'failed'",
            &[kind.into(), key.into()],
        )?;
        Ok((
            existing
                .first()
                .and_then(|r| r[0].int())
                .unwrap_or_default(),
            false,
        ))
    }

    /// Claim the oldest ready job of `kind` for `worker` for `lease_ms`: a
    /// queued job whose time has come, or a running one whose lease ran out
    /// (its worker died). Each job is claimed by one worker at a time.
    pub fn claim_job(&mut self, kind: &str, worker: &str, lease_ms: i64) -> Result<Option<Job>> {
        let now = now_ms();
        let lock = match self.db.kind() {
            BackendKind::Postgres => " FOR UPDATE SKIP LOCKED",
            BackendKind::Sqlite => "",
        };
        let rows = self.db.query(
            &format!(
                "UPDATE jobs SET state = 'running', leased_by = ?, lease_until = ?,
                        attempts = attempts + 1, updated_at = ?
                 WHERE id = (SELECT id FROM jobs WHERE kind = ?
                               AND ((state = 'queued' AND run_after <= ?)
                                    OR (state = 'running' AND lease_until < ?))
                             ORDER BY id LIMIT 1{lock})
                 RETURNING {JOB_COLUMNS}"
            ),
            &[
                worker.into(),
                Val::Int(now + lease_ms),
                Val::Int(now),
                kind.into(),
                Val::Int(now),
                Val::Int(now),
            ],
        )?;
        Ok(rows.into_iter().next().map(job))
    }

    /// Mark a claimed job done; false when `worker` no longer holds it.
    pub fn finish_job(&mut self, id: i64, worker: &str) -> Result<bool> {
        let n = self.db.exec(
            "UPDATE jobs SET state = 'done', leased_by = NULL, lease_until = NULL, last_error = NULL,
                    updated_at = ?
             WHERE id = ? AND leased_by = ? AND state = 'running'",
            &[Val::Int(now_ms()), Val::Int(id), worker.into()],
        )?;
        Ok(n > 0)
    }

    /// A claimed job failed: queue it again at `retry_at` (Unix ms), or,
    /// with none, give it up (`failed`). False when `worker` no longer holds it.
    pub fn fail_job(
        &mut self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool> {
        let (state, run_after) = match retry_at {
            Some(t) => ("queued", t),
            None => ("failed", now_ms()),
        };
        let n = self.db.exec(
            "UPDATE jobs SET state = ?, run_after = ?, last_error = ?, leased_by = NULL,
                    lease_until = NULL, updated_at = ?
             WHERE id = ? AND leased_by = ? AND state = 'running'",
            &[
                state.into(),
                Val::Int(run_after),
                error.into(),
                Val::Int(now_ms()),
                Val::Int(id),
                worker.into(),
            ],
        )?;
        Ok(n > 0)
    }

    /// Jobs of `kind` (all kinds: None), oldest first.
    pub fn jobs(&mut self, kind: Option<&str>) -> Result<Vec<Job>> {
        let rows = match kind {
            Some(k) => self.db.query(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = ? ORDER BY id"),
                &[k.into()],
            )?,
            None => self
                .db
                .query(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id"), &[])?,
        };
        Ok(rows.into_iter().map(job).collect())
    }

    /// Number of jobs per (kind, state).
    pub fn job_counts(&mut self) -> Result<Vec<(String, String, i64)>> {
        Ok(self
            .db
            .query(
                "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
                &[],
            )?
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                (
                    it.next().and_then(Val::into_text).unwrap_or_default(),
                    it.next().and_then(Val::into_text).unwrap_or_default(),
                    it.next().and_then(|v| v.int()).unwrap_or_default(),
                )
            })
            .collect())
    }

    /// Lease feed source `name` (at `location`) for `worker` when it is due:
    /// not synced within `interval_ms` and not leased by another live
    /// worker. None: another replica has it, or it is not due.
    pub fn lease_feed_source(
        &mut self,
        name: &str,
        location: &str,
        worker: &str,
        interval_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<FeedSourceState>> {
        let now = now_ms();
        self.db.exec(
            "INSERT INTO feed_sources (name, location, advisories) VALUES (?, ?, 0)
             ON CONFLICT (name) DO NOTHING",
            &[name.into(), location.into()],
        )?;
        let rows = self.db.query(
            &format!(
                "UPDATE feed_sources SET leased_by = ?, lease_until = ?, location = ?, last_attempt = ?
                 WHERE name = ? AND (lease_until IS NULL OR lease_until < ?)
                   AND (last_attempt IS NULL OR last_attempt <= ?)
                 RETURNING {SOURCE_COLUMNS}"
            ),
            &[
                worker.into(),
                Val::Int(now + lease_ms),
                location.into(),
                Val::Int(now),
                name.into(),
                Val::Int(now),
                Val::Int(now - interval_ms),
            ],
        )?;
        Ok(rows.into_iter().next().map(source))
    }

    /// Record how a leased sync ended and release the lease: on success
    /// the validators and the advisory count (None: unchanged, e.g. HTTP
    /// 304), on failure the error (what the source said before stays).
    pub fn finish_feed_source(
        &mut self,
        name: &str,
        worker: &str,
        outcome: std::result::Result<Synced<'_>, &str>,
    ) -> Result<()> {
        let now = now_ms();
        match outcome {
            Ok(Synced {
                etag,
                last_modified,
                advisories,
            }) => self.db.exec(
                "UPDATE feed_sources SET last_success = ?, last_error = NULL,
                        etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
                        advisories = COALESCE(?, advisories), leased_by = NULL, lease_until = NULL
                 WHERE name = ? AND leased_by = ?",
                &[
                    Val::Int(now),
                    opt(etag),
                    opt(last_modified),
                    advisories.map(Val::Int).unwrap_or(Val::Null),
                    name.into(),
                    worker.into(),
                ],
            )?,
            Err(e) => self.db.exec(
                "UPDATE feed_sources SET last_error = ?, leased_by = NULL, lease_until = NULL
                 WHERE name = ? AND leased_by = ?",
                &[e.into(), name.into(), worker.into()],
            )?,
        };
        Ok(())
    }

    /// The sync state of every feed source.
    pub fn feed_sources(&mut self) -> Result<Vec<FeedSourceState>> {
        Ok(self
            .db
            .query(
                &format!("SELECT {SOURCE_COLUMNS} FROM feed_sources ORDER BY name"),
                &[],
            )?
            .into_iter()
            .map(source)
            .collect())
    }
}
