//! Index on push: registry notifications become index jobs in the ledger's
//! own queue; a worker claims one, pulls the image from that registry,
//! scans it and records it as observed. Jobs survive restarts, are retried
//! with backoff, and run once however many replicas drain the queue.
//!
//! Only registries named in the configuration are pulled from: an event
//! naming any other host is ignored (and reported), so a notification cannot
//! make the server fetch from an address of the sender's choosing.

use buildledger_store::{Job, Store};
use serde::{Deserialize, Serialize};

use crate::record::Recorded;
use crate::scan::{ScanRequest, scan};
use crate::{Error, Result};

/// The job kind of index-on-push.
pub const INDEX: &str = "index";

/// Longest a worker holds a job before another may take it over.
pub const LEASE_MS: i64 = 10 * 60 * 1000;

/// Attempts before a job is given up.
pub const MAX_ATTEMPTS: i64 = 6;

/// A registry the server may pull from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `host[:port]` as the registry names itself in its events.
    pub host: String,
    /// Plain HTTP (loopback registries only; the image crate refuses others).
    #[serde(default)]
    pub insecure: bool,
    /// User for basic or token auth.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password (never the password itself
    /// in a file that may be shared).
    #[serde(default)]
    pub password_env: Option<String>,
}

/// What a notification envelope queued.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventsAccepted {
    /// Index jobs queued (or already known), by `host/repository@digest`.
    pub queued: Vec<QueuedJob>,
    /// Events that are not pushes of a manifest (blob pushes, pulls, deletes).
    pub ignored: usize,
    /// Pushes from registries not in the configuration (not pulled from).
    pub unknown_registries: Vec<String>,
}

/// One queued job.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueuedJob {
    /// Job id.
    pub id: i64,
    /// `host/repository@digest`.
    pub key: String,
    /// False when the same image was queued or indexed before.
    pub new: bool,
}

/// The payload of an index job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexJob {
    /// Registry host.
    pub host: String,
    /// Repository.
    pub repository: String,
    /// Manifest digest pushed.
    pub digest: String,
    /// Tag, when the push named one.
    pub tag: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: Target,
    #[serde(default)]
    request: Request,
}

#[derive(Deserialize, Default)]
struct Target {
    #[serde(default, rename = "mediaType")]
    media_type: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    tag: Option<String>,
}

#[derive(Deserialize, Default)]
struct Request {
    #[serde(default)]
    host: String,
}

/// Media types of what an index job can scan.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Most events read from one envelope.
const MAX_EVENTS: usize = 10_000;

fn host_of_url(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest)).filter(|h| !h.is_empty())
}

/// Queue an index job for every manifest push in a registry notification
/// envelope (`application/vnd.docker.distribution.events.v1+json`) whose
/// registry is configured.
pub fn registry_events(
    store: &mut Store,
    body: &[u8],
    registries: &[RegistryConfig],
) -> Result<EventsAccepted> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        Error::bad_field("request body", format!("not a notification envelope: {e}"))
    })?;
    if env.events.len() > MAX_EVENTS {
        return Err(Error::bad_field(
            "request body: events",
            format!("{} events, more than {MAX_EVENTS}", env.events.len()),
        ));
    }
    let mut out = EventsAccepted {
        queued: vec![],
        ignored: 0,
        unknown_registries: vec![],
    };
    for (i, e) in env.events.iter().enumerate() {
        let t = &e.target;
        if e.action != "push" || !MANIFEST_TYPES.contains(&t.media_type.as_str()) {
            out.ignored += 1;
            continue;
        }
        let field = |f: &str| format!("request body: events[{i}].target.{f}");
        let digest = buildledger_model::Digest::parse(&t.digest)
            .map_err(|m| Error::bad_field(field("digest"), m.message))?;
        if t.repository.is_empty()
            || t.repository.len() > 255
            || !t
                .repository
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
        {
            return Err(Error::bad_field(
                field("repository"),
                format!("{:?} is not a repository name", t.repository),
            ));
        }
        let host = host_of_url(&t.url)
            .map(String::from)
            .unwrap_or_else(|| e.request.host.clone());
        if !registries.iter().any(|r| r.host == host) {
            if !out.unknown_registries.contains(&host) {
                out.unknown_registries.push(host);
            }
            continue;
        }
        let job = IndexJob {
            host: host.clone(),
            repository: t.repository.clone(),
            digest: digest.to_string(),
            tag: t.tag.clone().filter(|t| !t.is_empty()),
        };
        let key = format!("{host}/{}@{digest}", t.repository);
        let payload = serde_json::to_value(&job).map_err(|e| Error::internal(e.to_string()))?;
        let (id, new) = store.enqueue_job(INDEX, &key, &payload)?;
        out.queued.push(QueuedJob { id, key, new });
    }
    Ok(out)
}

/// Claim the next ready index job for `worker`.
pub fn claim_index(store: &mut Store, worker: &str) -> Result<Option<Job>> {
    Ok(store.claim_job(INDEX, worker, LEASE_MS)?)
}

/// Run a claimed index job: pull the image from its (configured) registry,
/// scan it within `limits` and record it as observed, with its layer chain.
pub fn run_index(
    job: &Job,
    registries: &[RegistryConfig],
    limits: buildledger_image::Limits,
    password: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::scan::Scanned> {
    let j: IndexJob = serde_json::from_value(job.payload.clone())
        .map_err(|e| Error::internal(format!("job {}: payload: {e}", job.id)))?;
    let reg = registries
        .iter()
        .find(|r| r.host == j.host)
        .ok_or_else(|| {
            Error::unavailable(format!("registry {} is no longer configured", j.host))
        })?;
    let req = ScanRequest {
        source: format!("registry:{}/{}@{}", j.host, j.repository, j.digest),
        digest: None,
        record: true,
        platform: None,
        insecure: reg.insecure,
        username: reg.username.clone(),
        password: reg.password_env.as_deref().and_then(password),
        limits,
    };
    scan(&req, &mut buildledger_image::NoProgress)
}

/// Store a finished index job's scan and mark the job done (one
/// transaction for the record; the job is marked after it commits).
pub fn finish_index(
    store: &mut Store,
    job: &Job,
    worker: &str,
    scanned: &crate::scan::Scanned,
) -> Result<Recorded> {
    let r = scanned.store(store)?;
    store.finish_job(job.id, worker)?;
    Ok(r)
}

/// A claimed job failed: retry with exponential backoff (2, 4, 8 … s, at
/// most 5 min) until [`MAX_ATTEMPTS`], then give it up. Bad input (a corrupt
/// image) is not retried.
pub fn fail_index(store: &mut Store, job: &Job, worker: &str, e: &Error) -> Result<()> {
    let retry = e.kind != crate::ErrorKind::BadInput && job.attempts < MAX_ATTEMPTS;
    let delay_ms = (1_000i64 << job.attempts.clamp(1, 8)).min(300_000);
    let at = retry.then(|| chrono::Utc::now().timestamp_millis() + delay_ms);
    store.fail_job(job.id, worker, &e.message, at)?;
    Ok(())
}

/// Every job (for operations and tests).
pub fn list(store: &mut Store) -> Result<Vec<Job>> {
    Ok(store.jobs(None)?)
}
