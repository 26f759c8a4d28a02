//! Background work of a replica: the index-job worker and the feed-sync
//! loop. Both coordinate with other replicas through the database only (job
//! leases, feed-source leases); on SQLite the same code runs in one process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use buildledger_service::feeds::FeedSource;
use buildledger_service::jobs::{self, RegistryConfig};

use crate::app::AppState;

/// What the workers need from the configuration.
#[derive(Clone)]
pub struct WorkerConfig {
    /// This replica's name in leases (host, pid and a random part).
    pub worker: String,
    /// Registries index jobs may pull from.
    pub registries: Arc<Vec<RegistryConfig>>,
    /// Feed sources to sync.
    pub feeds: Arc<Vec<FeedSource>>,
    /// Per-image scan budgets.
    pub scan_limits: buildledger_service::types::ScanLimits,
    /// How often an idle worker looks for work.
    pub poll: Duration,
    /// How often the posture is refreshed (None: only when asked).
    pub posture_every: Option<Duration>,
    /// Alerts: sync interval, re-send interval, public URL, sinks.
    pub alerts: Option<Arc<AlertsRuntime>>,
}

/// What the alert loops need.
pub struct AlertsRuntime {
    /// How often the posture is turned into alerts.
    pub every: Duration,
    /// How often firing alerts are sent again.
    pub resend: Duration,
    /// `generatorURL` base.
    pub public_url: Option<String>,
    /// (delivery id, URL, kind, HMAC secret) of every target.
    pub targets: Vec<AlertTarget>,
}

/// One place alerts are delivered to.
#[derive(Clone)]
pub struct AlertTarget {
    /// Its delivery id (`sink`, or `sink-N` for Alertmanager replica N).
    pub id: String,
    /// Where to POST (Alertmanager: its base URL).
    pub url: String,
    /// `alertmanager`, `webhook`, `cloudevents` or `slack`.
    pub kind: String,
    /// CloudEvents: `binary` or `structured`.
    pub mode: String,
    /// The webhook's HMAC secret (never logged).
    pub secret: Option<Vec<u8>>,
}

/// A name for this replica, unique among live ones.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}:{:08x}", std::process::id(), rand_u32())
}

/// Start the workers; each stops taking work when `stop` turns true and
/// returns once the piece in hand is finished.
pub fn spawn(
    st: AppState,
    stop: tokio::sync::watch::Receiver<bool>,
    cfg: WorkerConfig,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    if !cfg.registries.is_empty() {
        handles.push(tokio::spawn(index_loop(
            st.clone(),
            cfg.clone(),
            stop.clone(),
        )));
    }
    for f in cfg.feeds.iter().cloned() {
        handles.push(tokio::spawn(feed_loop(
            st.clone(),
            cfg.clone(),
            f,
            stop.clone(),
        )));
    }
    if let Some(a) = cfg.alerts.clone() {
        handles.push(tokio::spawn(alert_loop(
            st.clone(),
            a.clone(),
            stop.clone(),
        )));
        for t in a.targets.iter().cloned() {
            handles.push(tokio::spawn(delivery_loop(
                st.clone(),
                t,
                a.public_url.clone(),
                cfg.worker.clone(),
                cfg.poll,
                stop.clone(),
            )));
        }
    }
    if let Some(every) = cfg.posture_every {
        handles.push(tokio::spawn(posture_loop(st.clone(), every, stop.clone())));
    }
    handles
}

/// Keep the cached posture current between requests: an incremental
/// refresh every `every` (one replica at a time: the refresh takes the
/// store's posture lock), so `GET /api/v1/posture` and the stop list answer
/// from a cache that a new advisory, snapshot, waiver or VEX document has
/// already reached.
async fn posture_loop(st: AppState, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if pause(every, &mut stop).await {
            return;
        }
        let policy = st.policy();
        let r = st
            .with_store(move |s| {
                buildledger_service::posture::refresh(s, &policy, false, chrono::Utc::now())
            })
            .await;
        match r {
            Ok(r) if r.computed > 0 || r.full => tracing::info!(
                target: "buildledger::posture",
                computed = r.computed,
                invalidated_images = r.invalidated_images,
                full = r.full,
                "posture refreshed"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e.problem.detail, "posture refresh: the ledger failed")
            }
        }
    }
}

/// Turn the posture into alerts every `a.every`, and queue the firing ones
/// again once per re-send round.
async fn alert_loop(
    st: AppState,
    a: Arc<AlertsRuntime>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let ids: Arc<Vec<String>> = Arc::new(a.targets.iter().map(|t| t.id.clone()).collect());
    // Only Alertmanager forgets a firing alert that is not repeated: the
    // other targets get each change once, not the firing set every round.
    let resend_ids: Arc<Vec<String>> = Arc::new(
        a.targets
            .iter()
            .filter(|t| t.kind == "alertmanager")
            .map(|t| t.id.clone())
            .collect(),
    );
    let mut last_round = -1;
    loop {
        let policy = st.policy();
        let (ids2, url) = (ids.clone(), a.public_url.clone());
        let r = st
            .with_store(move |s| {
                buildledger_service::alerts::sync(
                    s,
                    &policy,
                    &ids2,
                    url.as_deref(),
                    chrono::Utc::now(),
                )
            })
            .await;
        match r {
            Ok(r) if r.fired + r.resolved > 0 => tracing::info!(
                target: "buildledger::alerts",
                firing = r.firing,
                fired = r.fired,
                resolved = r.resolved,
                "alerts changed"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.problem.detail, "alerts: the ledger failed"),
        }
        let now = chrono::Utc::now();
        let round = now.timestamp() / a.resend.as_secs().max(1) as i64;
        if round != last_round {
            last_round = round;
            let ids2 = resend_ids.clone();
            if let Err(e) = st
                .with_store(move |s| buildledger_service::alerts::resend(s, &ids2, round, now))
                .await
            {
                tracing::warn!(error = %e.problem.detail, "alerts: re-send failed");
            }
        }
        if pause(a.every, &mut stop).await {
            return;
        }
    }
}

/// Deliver `t`'s queued alerts, one at a time; a failing target retries
/// with backoff and never holds up another target.
async fn delivery_loop(
    st: AppState,
    t: AlertTarget,
    public_url: Option<String>,
    worker: String,
    poll: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, target_id = %t.id, "alerts: no HTTP client");
            return;
        }
    };
    // Slack's incoming webhooks take one message a second.
    let spacing = (t.kind == "slack").then(|| Duration::from_secs(1));
    let mut last_send: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let (id, w) = (t.id.clone(), worker.clone());
        let job = match st
            .with_store(move |s| buildledger_service::alerts::claim_delivery(s, &id, &w))
            .await
        {
            Ok(Some(j)) => j,
            Ok(None) => {
                if pause(poll, &mut stop).await {
                    return;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e.problem.detail, "alerts: the ledger failed");
                if pause(poll, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        // A re-send names a range of alert keys: the alerts firing in it now.
        let (j, url) = (job.clone(), public_url.clone());
        let body = st
            .with_store(move |s| {
                buildledger_service::alerts::delivery_payload(s, &j, url.as_deref())
            })
            .await;
        let sent = match &body {
            Err(e) => Err(format!("reading its alerts: {}", e.problem.detail)),
            Ok(Some(body)) => {
                if let (Some(gap), Some(last)) = (spacing, last_send) {
                    tokio::time::sleep_until(last + gap).await;
                }
                last_send = Some(tokio::time::Instant::now());
                send_alert(&client, &t, body, job.id, public_url.as_deref()).await
            }
            // None of its alerts fires any more: nothing to send.
            Ok(None) => Ok(()),
        };
        let w = worker.clone();
        let r = match sent {
            Ok(()) => {
                st.metrics().alert_delivered(&t.id, "delivered");
                st.with_store(move |s| buildledger_service::alerts::delivered(s, &job, &w))
                    .await
            }
            Err(why) => {
                st.metrics().alert_delivered(&t.id, "failed");
                tracing::warn!(target_id = %t.id, error = %why, "alerts: delivery failed; retrying later");
                let jitter = f64::from(rand_u32()) / f64::from(u32::MAX);
                st.with_store(move |s| {
                    buildledger_service::alerts::delivery_failed(s, &job, &w, &why, jitter)
                })
                .await
            }
        };
        if let Err(e) = r {
            tracing::warn!(error = %e.problem.detail, "alerts: the ledger failed");
        }
    }
}

fn rand_u32() -> u32 {
    let mut r = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut r));
    u32::from_le_bytes(r)
}

/// POST one alert: to Alertmanager's `/api/v2/alerts`, or as JSON to a
/// webhook with `X-Buildledger-Signature: sha256=HMAC(secret, body)`.
async fn send_alert(
    client: &reqwest::Client,
    t: &AlertTarget,
    payload: &serde_json::Value,
    job_id: i64,
    public_url: Option<&str>,
) -> Result<(), String> {
    use buildledger_service::alerts as a;
    let id = job_id.to_string();
    let mut content_type = "application/json";
    let mut ce_headers = Vec::new();
    let (url, body) = match t.kind.as_str() {
        "alertmanager" => (
            format!("{}/api/v2/alerts", t.url),
            a::alertmanager_body(payload).to_string(),
        ),
        "slack" => (t.url.clone(), a::slack_body(payload).to_string()),
        "cloudevents" if t.mode == "binary" => {
            let (ty, source, time) = a::cloudevent_attributes(payload, public_url);
            ce_headers = vec![
                ("ce-specversion", "1.0".to_string()),
                ("ce-id", id.clone()),
                ("ce-source", source),
                ("ce-type", ty),
                ("ce-time", time),
                (
                    "ce-subject",
                    payload["key"].as_str().unwrap_or("").to_string(),
                ),
            ];
            (t.url.clone(), payload.to_string())
        }
        "cloudevents" => {
            content_type = "application/cloudevents+json";
            (
                t.url.clone(),
                a::cloudevent_structured(payload, &id, public_url).to_string(),
            )
        }
        _ => (t.url.clone(), payload.to_string()),
    };
    let mut req = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, content_type);
    for (k, v) in ce_headers {
        req = req.header(k, v);
    }
    if let Some(secret) = &t.secret {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
            .map_err(|e| format!("HMAC key: {e}"))?;
        mac.update(body.as_bytes());
        req = req.header(
            "X-Buildledger-Signature",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        );
    }
    let resp = req
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{}: {}", t.id, e.without_url()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("{}: HTTP {}", t.id, resp.status()))
    }
}

/// Sleep for `d`, or less when asked to stop; true when stopping.
async fn pause(d: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

async fn index_loop(st: AppState, cfg: WorkerConfig, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        match index_once(&st, &cfg).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e.problem.detail, "index worker: the ledger failed"),
        }
        if pause(cfg.poll, &mut stop).await {
            return;
        }
    }
}

/// Claim and run one index job; Ok(false) when there was none.
async fn index_once(st: &AppState, cfg: &WorkerConfig) -> Result<bool, crate::problem::ApiError> {
    let worker = cfg.worker.clone();
    let Some(job) = st
        .with_store(move |s| jobs::claim_index(s, &worker))
        .await?
    else {
        return Ok(false);
    };
    let regs = cfg.registries.clone();
    let limits = cfg.scan_limits;
    let j = job.clone();
    // The pull and scan run on a blocking thread without a ledger connection.
    let scanned = tokio::task::spawn_blocking(move || {
        jobs::run_index(&j, &regs, limits, &|var| std::env::var(var).ok())
    })
    .await
    .map_err(|e| buildledger_service::Error::internal(e.to_string()));
    let worker = cfg.worker.clone();
    let key = job.key.clone();
    let outcome = st
        .with_store(move |s| match scanned.and_then(|r| r) {
            Ok(scanned) => match jobs::finish_index(s, &job, &worker, &scanned) {
                Ok(r) => Ok(Ok(r)),
                Err(e) => {
                    jobs::fail_index(s, &job, &worker, &e)?;
                    Ok(Err(e))
                }
            },
            Err(e) => {
                jobs::fail_index(s, &job, &worker, &e)?;
                Ok(Err(e))
            }
        })
        .await?;
    match outcome {
        Ok(r) => {
            st.metrics().job("index", "done");
            tracing::info!(job = %key, record = r.record_id, "indexed");
        }
        Err(e) => {
            st.metrics().job("index", "failed");
            tracing::warn!(job = %key, error = %e.message, "index job failed");
        }
    }
    Ok(true)
}

async fn feed_loop(
    st: AppState,
    cfg: WorkerConfig,
    source: FeedSource,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Check at most every 30 s whether the source is due; the lease in the
    // database decides which replica syncs it.
    let tick = Duration::from_secs(source.interval_secs.clamp(1, 30));
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(e) = feed_once(&st, &cfg, &source).await {
            tracing::warn!(source = %source.name, error = %e, "feed sync failed");
        }
        if pause(tick, &mut stop).await {
            return;
        }
    }
}

async fn feed_once(st: &AppState, cfg: &WorkerConfig, source: &FeedSource) -> Result<(), String> {
    let worker = cfg.worker.clone();
    let s2 = source.clone();
    let Some(state) = st
        .with_store(move |s| buildledger_service::feeds::lease_source(s, &s2, &worker))
        .await
        .map_err(|e| e.problem.detail.clone())?
    else {
        return Ok(());
    };
    let settings = st.settings().clone();
    let worker = cfg.worker.clone();
    let src = source.clone();
    if let Some(path) = &source.path {
        let files = vec![path.clone()];
        let r = st
            .with_store(move |s| {
                buildledger_service::feeds::sync_files(
                    s,
                    &src,
                    &worker,
                    &files,
                    (None, None),
                    &settings,
                )
            })
            .await;
        return report(st, source, r.map_err(|e| e.problem.detail.clone()));
    }
    let url = source.url.clone().unwrap_or_default();
    let limit = settings
        .feed_limits()
        .map(|l| l.zip_total_bytes)
        .unwrap_or(4 << 30);
    let fetched = fetch(
        &url,
        state.etag.as_deref(),
        state.last_modified.as_deref(),
        limit,
    )
    .await;
    match fetched {
        Ok(Fetched::NotModified) => {
            let r = st
                .with_store(move |s| {
                    buildledger_service::feeds::sync_ended(s, &src, &worker, Ok(()))
                })
                .await;
            st.metrics().feed_synced(&source.name, "unchanged");
            r.map_err(|e| e.problem.detail.clone())
        }
        Ok(Fetched::Body {
            file,
            etag,
            last_modified,
        }) => {
            let files = vec![file.path().to_path_buf()];
            let r = st
                .with_store(move |s| {
                    let out = buildledger_service::feeds::sync_files(
                        s,
                        &src,
                        &worker,
                        &files,
                        (etag.as_deref(), last_modified.as_deref()),
                        &settings,
                    );
                    drop(file);
                    out
                })
                .await;
            report(st, source, r.map_err(|e| e.problem.detail.clone()))
        }
        Err(why) => {
            let why2 = why.clone();
            let _ = st
                .with_store(move |s| {
                    buildledger_service::feeds::sync_ended(s, &src, &worker, Err(&why2))
                })
                .await;
            st.metrics().feed_synced(&source.name, "failed");
            Err(why)
        }
    }
}

fn report(
    st: &AppState,
    source: &FeedSource,
    r: Result<buildledger_service::feeds::FeedImport, String>,
) -> Result<(), String> {
    match r {
        Ok(out) => {
            st.metrics().feed_synced(&source.name, "imported");
            let rep = out.report.unwrap_or_default();
            tracing::info!(
                source = %source.name,
                advisories = rep.advisories,
                new = rep.new,
                changed = rep.changed,
                findings_added = rep.findings_added,
                findings_removed = rep.findings_removed,
                rejected = out.rejected.len(),
                "feed synced"
            );
            Ok(())
        }
        Err(e) => {
            st.metrics().feed_synced(&source.name, "failed");
            Err(e)
        }
    }
}

enum Fetched {
    NotModified,
    Body {
        file: TempFile,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// A downloaded feed, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Fetch `url` unless it is unchanged since `etag`/`last_modified`; the
/// body goes to a temporary file, within `limit` bytes.
async fn fetch(
    url: &str,
    etag: Option<&str>,
    last_modified: Option<&str>,
    limit: u64,
) -> Result<Fetched, String> {
    use reqwest::header;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = client.get(url);
    if let Some(e) = etag {
        req = req.header(header::IF_NONE_MATCH, e);
    }
    if let Some(m) = last_modified {
        req = req.header(header::IF_MODIFIED_SINCE, m);
    }
    let mut resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let header_of = |h: header::HeaderName| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let etag = header_of(header::ETAG);
    let last_modified = header_of(header::LAST_MODIFIED);
    // Keep the file name's extension so the format is recognised (.zip, .json, .yaml).
    let name = url
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && n.len() < 100 && !n.contains(['?', '#']))
        .unwrap_or("feed");
    let dir = std::env::temp_dir().join(format!(
        "buildledger-feed-{}",
        worker_name().replace(':', "-")
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = TempFile(dir.join(name));
    let mut out = std::fs::File::create(file.path()).map_err(|e| e.to_string())?;
    let mut total = 0u64;
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        total += chunk.len() as u64;
        if total > limit {
            return Err(format!(
                "{url}: larger than {limit} bytes (BUILDLEDGER_MAX_FEED_ZIP_BYTES)"
            ));
        }
        std::io::Write::write_all(&mut out, &chunk).map_err(|e| e.to_string())?;
    }
    Ok(Fetched::Body {
        file,
        etag,
        last_modified,
    })
}
