//! admission-bench: the Kubernetes admission webhook of `buildledger serve`
//! under an open-loop load, over TLS. Prints figures; asserts none.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin admission-bench -- [N] [W]`
//! (N images, default 100000; W running containers, default 10000). Needs
//! the release `buildledger` binary (`cargo build --release -p
//! buildledger-cli` first; `$BUILDLEDGER_BIN` overrides the one next to
//! this bench) and `openssl` on PATH.
//!
//! It builds posture-bench's ledger: N synthetic builds in SQLite
//! (`ledger-bench`'s generator), the real Go advisory database
//! (`$BUILDLEDGER_BENCH_FEED`, default `../shared/data/osv/go`) and an
//! inventory of W containers in cluster `bench` (20 namespaces, half
//! production, half staging). Then:
//!
//! - in-process: `admission::decide` alone (no HTTP, no JSON parsing of the
//!   body; the built-in policy, nothing recorded) on 2,000 parsed
//!   AdmissionReviews, after 200 unmeasured ones: p50/p99/p99.9; then its
//!   parts apart on the same images (parsing the body, resolving the image:
//!   one `show`, the policy input's lookups, the Rego evaluation); then the
//!   same 2,000 again, now answered from the decision memo;
//! - over HTTP: it closes the store, starts `buildledger serve` over TLS on
//!   127.0.0.1 (a self-signed certificate made by openssl, which the client
//!   trusts explicitly and alone) with `[admission] cluster = "bench"`,
//!   creates an `admission:review` token and drives
//!   `POST /admission/{production|staging}/bench?timeout=10s` as the API
//!   server does: AdmissionReviews (admission.k8s.io/v1) of Deployment
//!   CREATEs, each naming `registry.example/svcK@<digest of a random ledger
//!   image>`, half to production, half to staging (4,096 bodies made
//!   beforehand, cycled).
//!
//! The load is open-loop: requests are sent on a fixed schedule (one every
//! 1/rate s, from a dispatcher thread, each on its own task, so any number
//! may be in flight) whatever the server answers, and a request's latency
//! runs from its scheduled send time to the end of its response, so queueing
//! in the client, the network and the server all count. The client is
//! reqwest (HTTP/1.1, a pool of keep-alive connections that grows with the
//! requests in flight) over rustls with the aws-lc-rs provider, on a tokio
//! runtime of 2 threads, sharing the machine's cores with the server.
//!
//! The server keeps recent decisions (the admission decision memo): once the
//! 4,096 bodies have cycled, a phase measures mostly reused decisions. Each
//! phase prints its memo hits and misses (from the server's `/metrics`) and
//! the summary its hit share (`memo%`); the phases before the first 4,096
//! requests are the cold path.
//!
//! Phases, each `$BUILDLEDGER_BENCH_SECS` (default 10) s, after a 3 s
//! warm-up at 100 req/s:
//!
//! - `dryRun: true` (the inventory is not written) at each rate of
//!   `$BUILDLEDGER_BENCH_RATES` (default 50,100,200,400,800,1000,1600 req/s;
//!   with the default list, past 1600 in steps of x1.5 while p99 stays under
//!   10 ms, up to 8000); past a rate where more than half the requests
//!   failed or p50 passed 1 s, the higher rates are skipped but for
//!   1,000 req/s (the target's);
//! - `dryRun: false` at `$BUILDLEDGER_BENCH_RECORD_RATES` (default 200,1000):
//!   every admitted (production) object is recorded in the inventory.
//!
//! Per phase: the achieved rate (200 answers over the time from the first
//! scheduled send to the last answer) and the decided rate (the same for
//! the answers that carry a decision), p50/p99/p99.9/max latency, transport
//! errors and timeouts, non-200 answers, the answers' decisions (allow /
//! warn / deny from `auditAnnotations.decision`; "failed" are the answers
//! made without a decision, fail-open or fail-closed), the dispatcher's p99
//! lateness (the client's own share), the cores the server, this client and
//! every other process on the machine ("others": this machine may be shared)
//! used, and the server's open file descriptors (its connections, roughly).
//! At the end: the highest rate whose p99 stayed under 10 ms and the first
//! where it crossed, whether p99 < 2 ms held at 1,000 req/s, and the
//! server's peak RSS (`VmHWM`).
//!
//! Targets reported against: p99 < 2 ms at 1,000 req/s (`dryRun`, 100k
//! images); the rate at which p99 crosses 10 ms.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buildledger_model::*;
use buildledger_service::Settings;
use buildledger_service::admission::{self, AdmissionConfig, AdmissionParams};
use buildledger_service::policy::Policy;
use buildledger_store::Store;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "synth.rs"]
mod synth;
use synth::*;
#[path = "running.rs"]
mod running;

#[path = "harness.rs"]
#[allow(dead_code)]
mod harness;
use harness::{TempDir, buildledger_bin, self_signed};
use running::{environment, running_ledger};

/// The cluster the webhook serves (the inventory's, and the server's `admission.cluster`).
const CLUSTER: &str = "bench";
/// AdmissionReview bodies made beforehand, per variant (cycled), unless
/// `$BUILDLEDGER_BENCH_BODIES` says otherwise: with more bodies than a run
/// sends, every request names an image not decided before (the cold path).
const BODIES: usize = 4096;

fn bodies() -> usize {
    std::env::var("BUILDLEDGER_BENCH_BODIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(BODIES)
}
/// The API server's deadline, appended to every call as `?timeout=`.
const API_TIMEOUT: Duration = Duration::from_secs(10);
/// Default rates of the `dryRun` sweep, req/s.
const RATES: [f64; 7] = [50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1600.0];
/// Default rates of the `dryRun: false` phases, req/s.
const RECORD_RATES: [f64; 2] = [200.0, 1000.0];
/// The rate of the latency target (p99 < 2 ms), never skipped.
const TARGET_RATE: f64 = 1000.0;
/// The sweep is extended (x1.5) up to this rate while p99 stays under 10 ms.
const MAX_RATE: f64 = 8000.0;

// ---------------------------------------------------------------------------
// Figures.
// ---------------------------------------------------------------------------

fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// A field of `/proc/{pid}/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds a process used so far (utime + stime of `/proc/{pid}/stat`).
fn cpu_secs(pid: &str, clk_tck: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses: field 3 on.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / clk_tck
}

/// CPU seconds the whole machine was busy so far (`/proc/stat`: all but idle and iowait).
fn machine_busy_secs(clk_tck: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    (f.iter().sum::<f64>() - idle) / clk_tck
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The ledger (posture-bench's).
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// AdmissionReviews.
// ---------------------------------------------------------------------------

/// One request body and the webhook it goes to.
struct Review {
    production: bool,
    namespace: String,
    digest: Digest,
    body: &'static [u8],
}

/// An AdmissionReview (admission.k8s.io/v1) of a Deployment CREATE as the
/// API server sends it (the shape of the CLI tests' `review`), the
/// Deployment as `kubectl create deployment` makes it.
fn review_body(uid: &str, ns: &str, name: &str, image: &str, dry_run: bool) -> Vec<u8> {
    use serde_json::json;
    let labels = json!({"app": name});
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "strategy": {},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image, "resources": {}}]}}},
        "status": {}
    });
    let gvk = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
    let gvr = json!({"group": "apps", "version": "v1", "resource": "deployments"});
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "name": name, "namespace": ns, "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:deployment-controller",
                "uid": "6f1c", "groups": ["system:serviceaccounts", "system:authenticated"]},
            "object": deploy,
            "oldObject": null,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        }
    });
    serde_json::to_vec(&review).expect("json")
}

/// BODIES reviews over random ledger images (the same images for both
/// variants), alternately production and staging.
fn reviews(n: u64, dry_run: bool) -> Vec<Review> {
    let mut rng = Rng(0xad31);
    (0..bodies())
        .map(|k| {
            let d = digest_of(rng.below(n as usize) as u64, 0x1a6e);
            let ns = format!("ns{:02}", k % 20);
            let name = format!("svc{k}");
            let image = format!("registry.example/{name}@{d}");
            let uid = format!("{}-{k:08}", if dry_run { "dry" } else { "rec" });
            let body = review_body(&uid, &ns, &name, &image, dry_run);
            Review {
                production: environment(k % 20) == "production",
                namespace: ns,
                digest: d,
                // Kept for the whole run: sent without a copy.
                body: Box::leak(body.into_boxed_slice()),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// In-process: `admission::decide` alone.
// ---------------------------------------------------------------------------

fn in_process(store: &mut Store, settings: &Settings, reviews: &[Review]) {
    let policy = Policy::load(&[], false, settings).expect("the built-in policy");
    let cfg = AdmissionConfig {
        default_cluster: CLUSTER.into(),
        ..Default::default()
    };
    let params = |r: &Review| AdmissionParams {
        environment: Some(
            if r.production {
                "production"
            } else {
                "staging"
            }
            .into(),
        ),
        cluster: Some(CLUSTER.into()),
    };
    let mut parse_times = Vec::with_capacity(2200);
    let parsed: Vec<_> = reviews
        .iter()
        .cycle()
        .take(2200)
        .map(|r| {
            let t0 = Instant::now();
            let req = admission::parse(r.body).expect("parse AdmissionReview");
            parse_times.push(t0.elapsed());
            (params(r), req)
        })
        .collect();
    let mut times = Vec::with_capacity(2000);
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let rs: Vec<&Review> = reviews.iter().cycle().take(2200).collect();
    for (i, (p, req)) in parsed.iter().enumerate() {
        let t0 = Instant::now();
        let v = admission::decide(
            store,
            &policy,
            &cfg,
            p,
            req,
            false,
            t0 + Duration::from_secs(2),
        )
        .expect("decide");
        let d = t0.elapsed();
        // The first 200 warm the caches and are not counted.
        if i >= 200 {
            times.push(d);
            *counts.entry(v.decision).or_default() += 1;
        }
    }
    times.sort();
    parse_times.sort();
    let (hits, misses) = policy.memo().counts();
    // The same 2,000 again: each image's decision is now in the memo.
    let mut again = Vec::with_capacity(2000);
    for (p, req) in &parsed[200..] {
        let t0 = Instant::now();
        admission::decide(
            store,
            &policy,
            &cfg,
            p,
            req,
            false,
            t0 + Duration::from_secs(2),
        )
        .expect("decide");
        again.push(t0.elapsed());
    }
    again.sort();
    let (hits2, misses2) = policy.memo().counts();
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "  decide (in-process):  p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms over 2,000 parsed reviews ({})",
        quantile_ms(&times, 0.5),
        quantile_ms(&times, 0.99),
        quantile_ms(&times, 0.999),
        quantile_ms(&times, 1.0),
        counts.join(", "),
    );
    println!(
        "    memo on that pass: {hits} hit(s), {misses} miss(es); the same 2,000 again (memo): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms ({} hit(s), {} miss(es))",
        quantile_ms(&again, 0.5),
        quantile_ms(&again, 0.99),
        quantile_ms(&again, 0.999),
        hits2 - hits,
        misses2 - misses,
    );

    // Its parts apart, on the same 2,000 (the image's digest is in the
    // ledger and names no index, so resolving it is one `show`).
    let mut parts: [Vec<Duration>; 3] = Default::default();
    for r in &rs[200..] {
        let dep = buildledger_service::policy::Deployment {
            cluster: Some(CLUSTER.into()),
            namespace: Some(r.namespace.clone()),
            workload: Some("Deployment/x".into()),
            environment: Some(
                if r.production {
                    "production"
                } else {
                    "staging"
                }
                .into(),
            ),
        };
        let t0 = Instant::now();
        let _ = store.show(&r.digest).expect("show");
        let t1 = Instant::now();
        let input = buildledger_service::policy::input(store, &r.digest, dep).expect("input");
        let t2 = Instant::now();
        let _ = policy.evaluate(&input).expect("evaluate");
        let t3 = Instant::now();
        for (v, x) in parts.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
            v.push(x);
        }
    }
    for v in &mut parts {
        v.sort();
    }
    println!(
        "    parts (p50 / p99):  parse body {:.3} / {:.3} ms, resolve (show) {:.3} / {:.3} ms, policy input {:.3} / {:.3} ms, Rego {:.3} / {:.3} ms",
        quantile_ms(&parse_times, 0.5),
        quantile_ms(&parse_times, 0.99),
        quantile_ms(&parts[0], 0.5),
        quantile_ms(&parts[0], 0.99),
        quantile_ms(&parts[1], 0.5),
        quantile_ms(&parts[1], 0.99),
        quantile_ms(&parts[2], 0.5),
        quantile_ms(&parts[2], 0.99),
    );
}

// ---------------------------------------------------------------------------
// The server.
// ---------------------------------------------------------------------------

/// A running `buildledger serve`, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Request-log lines with a 4xx and with a 5xx status, and the first of each.
    fn log_errors(&self) -> [(usize, Option<String>); 2] {
        let mut out = [(0, None), (0, None)];
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        for l in text.lines() {
            let class = l
                .split_whitespace()
                .find_map(|w| w.strip_prefix("status="))
                .and_then(|v| v.chars().next());
            let slot = match class {
                Some('4') => &mut out[0],
                Some('5') => &mut out[1],
                _ => continue,
            };
            slot.0 += 1;
            slot.1.get_or_insert_with(|| l.to_string());
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid()]).status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(35) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    bin: &Path,
    db: &str,
    dir: &Path,
    cert: &Path,
    key: &Path,
    config: &Path,
) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let log = dir.join("server.log");
    let child = Command::new(bin)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .arg("--config")
        .arg(config)
        .env("BUILDLEDGER_DB", db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("server log"))
        .spawn()
        .expect("start buildledger serve");
    Server { child, port, log }
}

/// `buildledger token create …` on `db`; the secret.
fn token(bin: &Path, db: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(["token", "create"])
        .args(args)
        .env("BUILDLEDGER_DB", db)
        .stderr(Stdio::piped())
        .output()
        .expect("run buildledger token create");
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ---------------------------------------------------------------------------
// The open-loop client.
// ---------------------------------------------------------------------------

/// What one request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allow,
    Warn,
    Deny,
    /// Answered without a decision (fail-open or fail-closed).
    Failed,
    /// 200 but not an AdmissionReview answer.
    Malformed,
    Status(u16),
    Timeout,
    Error,
}

struct Sample {
    /// From the scheduled send time to the end of the response.
    latency: Duration,
    /// From the scheduled send time to the request's task starting.
    lag: Duration,
    done: Instant,
    outcome: Outcome,
}

/// The answer's decision, from `response.auditAnnotations.decision`.
fn classify(body: &[u8]) -> Outcome {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Outcome::Malformed;
    };
    let r = &v["response"];
    let text = r.to_string();
    if text.contains("could not decide") {
        return Outcome::Failed;
    }
    match (
        r["allowed"].as_bool(),
        r["auditAnnotations"]["decision"].as_str(),
    ) {
        (Some(true), Some("allow")) => Outcome::Allow,
        (Some(true), Some("warn")) => Outcome::Warn,
        (Some(false), Some("deny")) => Outcome::Deny,
        _ => Outcome::Malformed,
    }
}

#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    production: reqwest::Url,
    staging: reqwest::Url,
    auth: HeaderValue,
}

/// Errors seen, by message (the first few kept for the report).
type ErrorLog = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

async fn send(t: Target, r: &'static Review, due: Instant, errors: ErrorLog) -> Sample {
    let lag = Instant::now().saturating_duration_since(due);
    let url = if r.production {
        t.production
    } else {
        t.staging
    };
    let sent = t
        .client
        .post(url)
        .header(AUTHORIZATION, t.auth)
        .header(CONTENT_TYPE, "application/json")
        .body(r.body)
        .send()
        .await;
    let outcome = match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(b) if status == 200 => classify(&b),
                Ok(_) => Outcome::Status(status),
                Err(e) if e.is_timeout() => Outcome::Timeout,
                Err(e) => {
                    note(&errors, &e);
                    Outcome::Error
                }
            }
        }
        Err(e) if e.is_timeout() => Outcome::Timeout,
        Err(e) => {
            note(&errors, &e);
            Outcome::Error
        }
    };
    let done = Instant::now();
    Sample {
        latency: done.saturating_duration_since(due),
        lag,
        done,
        outcome,
    }
}

fn note(errors: &ErrorLog, e: &reqwest::Error) {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    if let Ok(mut v) = errors.lock()
        && v.len() < 3
    {
        v.push(msg);
    }
}

/// One phase's figures.
struct Phase {
    name: String,
    rate: f64,
    sent: usize,
    achieved: f64,
    decided: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    lag_p99: f64,
    allow: usize,
    warn: usize,
    deny: usize,
    failed: usize,
    non200: usize,
    malformed: usize,
    errors: usize,
    timeouts: usize,
    server_cores: f64,
    client_cores: f64,
    /// Cores the rest of the machine used meanwhile (other processes).
    other_cores: f64,
    server_fds: usize,
    /// Images the server answered from its decision memo, and afresh.
    memo: (u64, u64),
}

/// The server's memo counters (hits, misses) from `/metrics`.
fn memo_counts(port: u16) -> (u64, u64) {
    let text = Command::new("curl")
        .args(["-sk", &format!("https://127.0.0.1:{port}/metrics")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let get = |kind: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("buildledger_admission_memo_lookups_total")
                    && l.contains(&format!("kind=\"{kind}\""))
            })
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    (get("hit"), get("miss"))
}

impl Phase {
    fn print(&self) {
        println!(
            "  {:<14} {:>6.0} req/s offered, {:>6.0} achieved, {:>6.0} decided  p50 {:>7.2} ms  p99 {:>8.2} ms  p99.9 {:>8.2} ms  max {:>8.1} ms",
            self.name,
            self.rate,
            self.achieved,
            self.decided,
            self.p50,
            self.p99,
            self.p999,
            self.max
        );
        println!(
            "  {:<14} {} sent: allow {}, warn {}, deny {}, failed {}; non-200 {}, malformed {}, errors {}, timeouts {}; client late p99 {:.2} ms; cores: server {:.2}, client {:.2}, others {:.2}; server fds {}; memo hit {}, miss {}",
            "",
            self.sent,
            self.allow,
            self.warn,
            self.deny,
            self.failed,
            self.non200,
            self.malformed,
            self.errors,
            self.timeouts,
            self.lag_p99,
            self.server_cores,
            self.client_cores,
            self.other_cores,
            self.server_fds,
            self.memo.0,
            self.memo.1
        );
    }

    /// More than half failed, or the median waited over a second: the server is past saturation.
    fn collapsed(&self) -> bool {
        2 * (self.errors + self.timeouts + self.non200) > self.sent || self.p50 > 1000.0
    }
}

struct Load<'a> {
    rt: &'a tokio::runtime::Runtime,
    target: Target,
    server: &'a Server,
    clk_tck: f64,
}

impl Load<'_> {
    /// Sends `rate` req/s for `secs` s on a fixed schedule, cycling `reviews`
    /// from `offset`; waits for every answer.
    fn run(
        &self,
        name: &str,
        reviews: &'static [Review],
        rate: f64,
        secs: f64,
        offset: usize,
    ) -> Phase {
        let total = ((rate * secs).round() as usize).max(1);
        let errors: ErrorLog = Default::default();
        let pid = self.server.pid();
        let memo0 = memo_counts(self.server.port);
        let (srv0, cli0, all0) = (
            cpu_secs(&pid, self.clk_tck),
            cpu_secs("self", self.clk_tck),
            machine_busy_secs(self.clk_tck),
        );
        let start = Instant::now() + Duration::from_millis(20);
        let mut handles = Vec::with_capacity(total);
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let r = &reviews[(offset + i) % reviews.len()];
            handles.push(
                self.rt
                    .spawn(send(self.target.clone(), r, due, errors.clone())),
            );
        }
        let samples: Vec<Sample> = self.rt.block_on(async {
            let mut out = Vec::with_capacity(handles.len());
            for h in handles {
                out.push(h.await.expect("request task"));
            }
            out
        });
        let wall = start.elapsed().as_secs_f64();
        let server_cores = (cpu_secs(&pid, self.clk_tck) - srv0) / wall;
        let client_cores = (cpu_secs("self", self.clk_tck) - cli0) / wall;
        let other_cores =
            ((machine_busy_secs(self.clk_tck) - all0) / wall - server_cores - client_cores)
                .max(0.0);
        let count = |o: Outcome| samples.iter().filter(|s| s.outcome == o).count();
        let answered: Vec<&Sample> = samples
            .iter()
            .filter(|s| {
                !matches!(
                    s.outcome,
                    Outcome::Status(_) | Outcome::Timeout | Outcome::Error
                )
            })
            .collect();
        let per_sec = |v: &[&Sample]| {
            let last = v.iter().map(|s| s.done).max().unwrap_or(start);
            let span = last.saturating_duration_since(start).as_secs_f64();
            if span > 0.0 {
                v.len() as f64 / span
            } else {
                0.0
            }
        };
        let decided: Vec<&Sample> = answered
            .iter()
            .copied()
            .filter(|s| matches!(s.outcome, Outcome::Allow | Outcome::Warn | Outcome::Deny))
            .collect();
        // Every request's latency, failed ones included (a timeout is 10 s late).
        let mut lat: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
        lat.sort();
        let mut lag: Vec<Duration> = samples.iter().map(|s| s.lag).collect();
        lag.sort();
        let memo1 = memo_counts(self.server.port);
        let p = Phase {
            memo: (memo1.0 - memo0.0, memo1.1 - memo0.1),
            name: name.to_string(),
            rate,
            sent: total,
            achieved: per_sec(&answered),
            decided: per_sec(&decided),
            p50: quantile_ms(&lat, 0.5),
            p99: quantile_ms(&lat, 0.99),
            p999: quantile_ms(&lat, 0.999),
            max: quantile_ms(&lat, 1.0),
            lag_p99: quantile_ms(&lag, 0.99),
            allow: count(Outcome::Allow),
            warn: count(Outcome::Warn),
            deny: count(Outcome::Deny),
            failed: count(Outcome::Failed),
            non200: samples
                .iter()
                .filter(|s| matches!(s.outcome, Outcome::Status(_)))
                .count(),
            malformed: count(Outcome::Malformed),
            errors: count(Outcome::Error),
            timeouts: count(Outcome::Timeout),
            server_cores,
            client_cores,
            other_cores,
            server_fds: open_fds(&pid),
        };
        if let Some(code) = samples.iter().find_map(|s| match s.outcome {
            Outcome::Status(c) => Some(c),
            _ => None,
        }) {
            println!("    first non-200: {code}");
        }
        for e in errors.lock().map(|v| v.clone()).unwrap_or_default() {
            println!("    error: {e}");
        }
        p
    }
}

/// A comma-separated list of rates from `var`, else `default`.
fn rates(var: &str, default: &[f64]) -> (Vec<f64>, bool) {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => {
            let r: Vec<f64> = v
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .filter(|x: &f64| *x > 0.0)
                .collect();
            (r, true)
        }
        _ => (default.to_vec(), false),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let w: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    if n == 0 || w == 0 {
        eprintln!("usage: admission-bench [N images] [W containers]");
        std::process::exit(2);
    }
    let bin = buildledger_bin();
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not found (apt-get install -y openssl)");
        std::process::exit(2);
    }
    let feed = std::env::var_os("BUILDLEDGER_BENCH_FEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data/osv/go"));
    let secs: f64 = std::env::var("BUILDLEDGER_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(10.0);
    let (sweep, custom) = rates("BUILDLEDGER_BENCH_RATES", &RATES);
    let (record_rates, _) = rates("BUILDLEDGER_BENCH_RECORD_RATES", &RECORD_RATES);
    let clk_tck: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    // The client's TLS: rustls on aws-lc-rs, never ring.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let settings = Settings::new(|k| std::env::var(k).ok());
    let dir = std::env::temp_dir().join(format!("admission-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = TempDir(dir.clone());
    let db_path = dir.join("ledger.db");
    let db = db_path.display().to_string();
    println!(
        "admission-bench: {n} images, {w} running containers, SQLite; {} ({} cores), {secs} s per phase",
        bin.display(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "  machine load average at start: {} (other processes share the cores: see \"others\")",
        loadavg()
    );
    let t_all = Instant::now();

    // (1) The ledger, and decide() alone.
    let mut store = Store::open_sqlite(&db_path).expect("open sqlite");
    running_ledger(&mut store, n, w, &feed, &settings, CLUSTER);
    let dry: &'static [Review] = Vec::leak(reviews(n, true));
    let record: &'static [Review] = Vec::leak(reviews(n, false));
    in_process(&mut store, &settings, dry);
    drop(store);

    // (2) The server.
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    self_signed(&cert, &key);
    let config = dir.join("server.toml");
    std::fs::write(&config, format!("[admission]\ncluster = \"{CLUSTER}\"\n"))
        .expect("write the server configuration");
    let secret = token(
        &bin,
        &db,
        &["--scope", "admission:review", "--name", "bench-apiserver"],
    );
    let server = start_server(&bin, &db, &dir, &cert, &key, &config);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let pem = std::fs::read(&cert).expect("read the certificate");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("the certificate")])
        .http1_only()
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(API_TIMEOUT)
        .connect_timeout(API_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(600))
        .build()
        .expect("HTTP client");
    let base = format!("https://127.0.0.1:{}", server.port);
    let url = |env: &str| {
        reqwest::Url::parse(&format!(
            "{base}/admission/{env}/{CLUSTER}?timeout={}s",
            API_TIMEOUT.as_secs()
        ))
        .expect("URL")
    };
    let target = Target {
        client: client.clone(),
        production: url("production"),
        staging: url("staging"),
        auth: HeaderValue::from_str(&format!("Bearer {secret}")).expect("token header"),
    };
    let t0 = Instant::now();
    let mut server = server;
    loop {
        if let Ok(Some(st)) = server.child.try_wait() {
            panic!("server exited ({st}) at start:\n{}", server.log_tail());
        }
        let ready = rt.block_on(async {
            client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
        if let Ok(200) = ready {
            break;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            panic!(
                "server not ready after 120 s ({ready:?}):\n{}",
                server.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let server = server;
    let pid = server.pid();
    println!(
        "  server:               127.0.0.1:{} (TLS, pid {pid}) ready in {:.1} s, RSS {:.0} MiB",
        server.port,
        t0.elapsed().as_secs_f64(),
        status_kib(&pid, "VmRSS") as f64 / 1024.0
    );

    // One request of each kind first: a failing route would make the figures meaningless.
    let errors: ErrorLog = Default::default();
    for r in [&dry[0], &dry[1], &record[0]] {
        let s = rt.block_on(send(target.clone(), r, Instant::now(), errors.clone()));
        let flag = if matches!(s.outcome, Outcome::Allow | Outcome::Warn | Outcome::Deny) {
            ""
        } else {
            "  <- UNEXPECTED"
        };
        let body = std::str::from_utf8(r.body).unwrap_or("");
        println!(
            "  check:                {} dryRun={}: {:?} in {:.2} ms{flag}",
            if r.production {
                "production"
            } else {
                "staging   "
            },
            body.contains("\"dryRun\":true"),
            s.outcome,
            s.latency.as_secs_f64() * 1e3
        );
    }
    for e in errors.lock().map(|v| v.clone()).unwrap_or_default() {
        println!("    error: {e}");
    }

    let load = Load {
        rt: &rt,
        target,
        server: &server,
        clk_tck,
    };
    let warm = load.run("warm-up", dry, 100.0, 3.0, 0);
    println!(
        "  warm-up:              {} requests at 100 req/s, p99 {:.2} ms (not reported)",
        warm.sent, warm.p99
    );

    // (4) The sweep, dryRun: true.
    println!("dryRun: true (nothing recorded):");
    let mut phases: Vec<Phase> = Vec::new();
    let mut offset = 0usize;
    let mut queue = sweep.clone();
    let mut i = 0;
    while i < queue.len() {
        let rate = queue[i];
        std::thread::sleep(Duration::from_secs(1));
        let p = load.run(&format!("dry {rate:.0}"), dry, rate, secs, offset);
        offset += p.sent;
        p.print();
        let (collapsed, p99) = (p.collapsed(), p.p99);
        phases.push(p);
        if collapsed && i + 1 < queue.len() {
            // Past saturation: the higher rates are skipped, but for the
            // target's 1,000 req/s.
            let (keep, skip): (Vec<f64>, Vec<f64>) = queue[i + 1..]
                .iter()
                .partition(|r| (**r - TARGET_RATE).abs() < 0.5);
            if !skip.is_empty() {
                let skip: Vec<String> = skip.iter().map(|r| format!("{r:.0}")).collect();
                println!(
                    "  (past saturation: skipped {} req/s{})",
                    skip.join(", "),
                    if keep.is_empty() {
                        ""
                    } else {
                        "; 1000 req/s runs for the target"
                    }
                );
            }
            queue.truncate(i + 1);
            queue.extend(keep);
        }
        if !custom && i + 1 == queue.len() && p99 < 10.0 && rate * 1.5 <= MAX_RATE {
            queue.push(((rate * 1.5) / 100.0).round() * 100.0);
        }
        i += 1;
    }

    // dryRun: false.
    println!("dryRun: false (admitted objects recorded in the inventory):");
    let mut recorded: Vec<Phase> = Vec::new();
    for &rate in &record_rates {
        std::thread::sleep(Duration::from_secs(1));
        let p = load.run(&format!("record {rate:.0}"), record, rate, secs, offset);
        offset += p.sent;
        p.print();
        recorded.push(p);
    }
    // How many answers the server's decision memo gave (the 4,096 bodies are
    // cycled, so requests after the first 4,096 name an image again).
    let (hits, misses) = memo_counts(server.port);
    println!(
        "server decision memo over all phases: {hits} hit(s), {misses} miss(es) (bodies cycle every {} requests; a phase with hits measures reused decisions)",
        bodies()
    );
    let peak = status_kib(&pid, "VmHWM");
    let [(e4, f4), (e5, f5)] = server.log_errors();
    drop(load);
    drop(server);
    rt.shutdown_timeout(Duration::from_secs(1));

    // (5) The summary.
    println!();
    println!(
        "Figures ({secs} s per phase, open loop, latency from the scheduled send; client and server on the same cores):"
    );
    println!(
        "{:<14} {:>7} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>5} {:>6} {:>6}",
        "phase",
        "offered",
        "achieved",
        "decided",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "allow",
        "warn",
        "deny",
        "failed",
        "non200",
        "errs",
        "srv",
        "others",
        "memo%"
    );
    for p in phases.iter().chain(&recorded) {
        println!(
            "{:<14} {:>7.0} {:>9.0} {:>8.0} {:>8.2} {:>8.2} {:>9.2} {:>9.1} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>5.2} {:>6.2} {:>6.0}",
            p.name,
            p.rate,
            p.achieved,
            p.decided,
            p.p50,
            p.p99,
            p.p999,
            p.max,
            p.allow,
            p.warn,
            p.deny,
            p.failed,
            p.non200 + p.malformed,
            p.errors + p.timeouts,
            p.server_cores,
            p.other_cores,
            100.0 * p.memo.0 as f64 / (p.memo.0 + p.memo.1).max(1) as f64
        );
    }
    let ok =
        |p: &Phase| p.p99 < 10.0 && p.errors + p.timeouts + p.non200 + p.malformed + p.failed == 0;
    match phases
        .iter()
        .filter(|p| ok(p))
        .map(|p| p.rate)
        .reduce(f64::max)
    {
        Some(r) => println!("highest rate with p99 < 10 ms (no errors, none failed): {r:.0} req/s"),
        None => println!("highest rate with p99 < 10 ms (no errors, none failed): none"),
    }
    // The crossing: the lowest rate from which every higher rate failed too;
    // a failing rate below a passing one is shown apart (noise).
    let mut sorted: Vec<&Phase> = phases.iter().collect();
    sorted.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let from = sorted.iter().rposition(|p| ok(p)).map_or(0, |i| i + 1);
    match sorted.get(from) {
        Some(p) => println!(
            "p99 crosses 10 ms (or errors start) at:                 {:.0} req/s (p99 {:.2} ms)",
            p.rate, p.p99
        ),
        None => println!(
            "p99 never crossed 10 ms up to {:.0} req/s",
            sorted.last().map(|p| p.rate).unwrap_or(0.0)
        ),
    }
    let below: Vec<String> = sorted[..from.min(sorted.len())]
        .iter()
        .filter(|p| !ok(p))
        .map(|p| format!("{:.0} req/s (p99 {:.2} ms)", p.rate, p.p99))
        .collect();
    if !below.is_empty() {
        println!("  also over 10 ms below that: {}", below.join(", "));
    }
    match phases.iter().find(|p| (p.rate - TARGET_RATE).abs() < 0.5) {
        Some(p) => println!(
            "target p99 < 2 ms at 1,000 req/s (dryRun):              {} (p99 {:.2} ms)",
            if p.p99 < 2.0 && ok(p) {
                "MET"
            } else {
                "NOT MET"
            },
            p.p99
        ),
        None => println!(
            "target p99 < 2 ms at 1,000 req/s (dryRun):              not measured (no 1000 req/s phase ran)"
        ),
    }
    if let Some(p) = recorded.iter().find(|p| (p.rate - TARGET_RATE).abs() < 0.5) {
        println!(
            "  the same with dryRun: false:                          {} (p99 {:.2} ms)",
            if p.p99 < 2.0 && ok(p) {
                "met"
            } else {
                "not met"
            },
            p.p99
        );
    }
    println!(
        "server peak RSS (VmHWM): {:.0} MiB; request log: {e4} 4xx, {e5} 5xx",
        peak as f64 / 1024.0
    );
    for l in [f4, f5].into_iter().flatten() {
        println!("  first: {l}");
    }
    println!(
        "(failed = answered without a decision; errs = transport errors + timeouts; srv = cores the server used; others = cores other processes used meanwhile; load average at the end {}; whole run {:.0} s)",
        loadavg(),
        t_all.elapsed().as_secs_f64()
    );
}
