//! server-bench: `buildledger serve` under load, over TLS, driven by `wrk`.
//! Prints figures; asserts none.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin server-bench -- [N] [sqlite|postgres|both]`
//! (N defaults to 100000). Needs the release `buildledger` binary
//! (`cargo build --release -p buildledger-cli`; `$BUILDLEDGER_BIN` overrides
//! the one next to this bench), `wrk`, `openssl` and `curl` on PATH.
//!
//! For each engine it fills a ledger with N synthetic builds — the builds of
//! `ledger-bench` (the same generator and seeds, copied below because a bin
//! target cannot share its functions), written in batches through the store —
//! then starts `buildledger serve` over TLS on 127.0.0.1 with a self-signed
//! certificate (wrk does not verify certificates), creates a `read` and a
//! `builder:write` token, and runs these phases, each for
//! `$BUILDLEDGER_BENCH_SECS` (default 20) seconds at 100 connections:
//!
//! - `GET /api/v1/query?toolchain=go@1.13.4&limit=100` (~0.8% of the ledger matches),
//! - `GET /api/v1/query?package=pkg:golang/gopkg.in/mod1999&limit=100` (a rare module),
//! - `GET /api/v1/images/{digest}` over 1,000 digests spread across the ledger,
//! - `POST /api/v1/records`, one small record per request, every request a new digest.
//!
//! Then the three reads again, each connection pacing itself so that the
//! 100 together offer `$BUILDLEDGER_BENCH_READ_RATE` (default 1,000)
//! requests/s (wrk's `delay()`, 0.5–1.5 × the mean gap at random): a
//! saturated closed loop measures queueing (p99 ≈ connections ÷ throughput),
//! the paced phases measure the latency at a stated load.
//!
//! The reads run first, on the ledger of N builds; the submissions last. Each
//! wrk script reports its summary and 1,000 latency quantiles from `done()`,
//! so the two replicas' latencies can be pooled. The servers' peak RSS is
//! `VmHWM` from `/proc/PID/status` after the last phase; "srv CPU" is the
//! cores the server processes used during a phase (utime + stime).
//!
//! SQLite: one server on a temporary file, or on `$BUILDLEDGER_BENCH_KEEP`
//! (kept afterwards; a file that already holds N records is reused, such as
//! one `ledger-bench` kept). PostgreSQL (`$BUILDLEDGER_BENCH_PG`, else
//! `$BUILDLEDGER_TEST_PG`, else `postgres://postgres@127.0.0.1:5432/test`):
//! a fresh schema, dropped afterwards (or `$BUILDLEDGER_BENCH_PG_SCHEMA`,
//! kept, and reused when it holds N records), served by two replicas on two ports,
//! each driven by its own wrk with 50 connections; rates are summed and
//! latencies pooled. Load generator and servers share the machine's cores, so
//! on a small machine the figures are a floor. Latencies are wrk's (a closed
//! loop: a slow response delays that connection's next request).
//!
//! Targets reported against: ≥ 1,000 submissions/s, read p99 < 10 ms at 100
//! clients on a 100k-image ledger, server peak RSS < 200 MB.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buildledger_model::*;
use buildledger_store::Store;

/// The allocator the `buildledger` binary uses (the ingest runs in this process).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ---------------------------------------------------------------------------
// The synthetic ledger: ledger-bench's builds (one generator, src/synth.rs).
// ---------------------------------------------------------------------------

#[path = "synth.rs"]
mod synth;
use synth::*;

#[path = "harness.rs"]
#[allow(dead_code)]
mod harness;
use harness::{TempDir, buildledger_bin, self_signed};

/// Fills `store` up to `n` records (ledger-bench's builds 0..n, batches of 500).
fn fill(store: &mut Store, n: u64) -> Duration {
    let pool = pool();
    let mut rng = Rng(42);
    let t0 = Instant::now();
    let mut done = 0;
    while done < n {
        let k = 500.min(n - done);
        let recs: Vec<BuildRecord> = (done..done + k)
            .map(|i| build(&pool, i, &mut rng))
            .collect();
        store.record_many(&recs).expect("record batch");
        done += k;
        if done % 20_000 == 0 {
            eprintln!(
                "  ingest: {done} records, {:.0}/s",
                done as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    t0.elapsed()
}

// ---------------------------------------------------------------------------
// Processes: the servers, wrk, the tokens.
// ---------------------------------------------------------------------------

/// Builder id of the submission token and of every submitted record.
const BUILDER: &str = "https://ci.example/builders/bench";

struct Ctx {
    bin: PathBuf,
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    secs: u64,
    clk_tck: f64,
    /// Offered rate of the paced read phases (requests/s over all connections).
    read_rate: u64,
}

/// A running `buildledger serve`, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(ctx: &Ctx, db: &str, name: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = ctx.dir.join(format!("{name}.log"));
        let child = Command::new(&ctx.bin)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--tls-cert")
            .arg(&ctx.cert)
            .arg("--tls-key")
            .arg(&ctx.key)
            .env("BUILDLEDGER_DB", db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .expect("start buildledger serve");
        let mut s = Server { child, port, log };
        let t0 = Instant::now();
        loop {
            if let Ok(Some(st)) = s.child.try_wait() {
                panic!("server exited ({st}) at start:\n{}", s.log_tail());
            }
            if curl(&["-o", "/dev/null", &s.url("/readyz")]).0 == 200 {
                break;
            }
            if t0.elapsed() > Duration::from_secs(120) {
                panic!("server not ready after 120 s:\n{}", s.log_tail());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of `/proc/PID/status` in KiB (`VmHWM`, `VmRSS`).
    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// CPU seconds used so far (utime + stime of `/proc/PID/stat`).
    fn cpu_secs(&self, clk_tck: f64) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name, which is in parentheses.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        // rest starts at field 3 (state); utime is field 14, stime 15.
        let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (tick(11) + tick(12)) / clk_tck
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Request-log lines with a 4xx and with a 5xx status, and the first of each.
    fn log_errors(&self) -> [(usize, Option<String>); 2] {
        let mut out = [(0, None), (0, None)];
        let Ok(f) = std::fs::File::open(&self.log) else {
            return out;
        };
        for l in BufReader::new(f).lines().map_while(Result::ok) {
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
            slot.1.get_or_insert(l);
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
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

/// `curl -sk` with `args`; the HTTP status (0 when curl failed) and the body size.
fn curl(args: &[&str]) -> (u16, u64) {
    let out = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "30",
            "-w",
            "%{http_code} %{size_download}",
        ])
        .args(args)
        .stderr(Stdio::null())
        .output();
    let Ok(out) = out else { return (0, 0) };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut w = text.rsplit(' ');
    let size = w.next().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let code = w
        .next()
        .and_then(|s| s.trim().rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (code, size)
}

/// `buildledger token create …` on `db`; the secret.
fn token(ctx: &Ctx, db: &str, args: &[&str]) -> String {
    let out = Command::new(&ctx.bin)
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
// wrk scripts and their results.
// ---------------------------------------------------------------------------

/// Reports a machine-readable summary and 1,000 latency quantiles (µs).
const LUA_DONE: &str = r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format("BENCHP %d %d %d\n", latency:percentile(50), latency:percentile(99), latency.max))
  local q = {}
  for k = 0, 999 do q[#q + 1] = string.format("%d", latency:percentile((k + 0.5) / 10)) end
  io.write("BENCHQ " .. table.concat(q, " ") .. "\n")
end
"#;

/// Numbers each thread (`tid`) and takes the replica number from the script's argument.
const LUA_THREADS: &str = r#"
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end
"#;

fn lua_get(token: &str, path: &str) -> String {
    format!(
        "wrk.method = \"GET\"\nwrk.path = \"{path}\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n{LUA_DONE}"
    )
}

/// `script` with every connection pacing itself so that `conns`
/// connections together offer about `rate` requests/s: after each answer a
/// connection waits a uniformly random 0.5–1.5 × `conns / rate` s (the
/// jitter keeps connections from marching in step). wrk measures each
/// request from its send, so the latencies are the server's at that load,
/// not the queueing of a saturated closed loop.
fn paced(script: &str, conns: u64, rate: u64) -> String {
    let mean_ms = (conns * 1000 / rate.max(1)).max(2);
    format!(
        "{script}\nfunction delay()\n  return math.random({}, {})\nend\n",
        mean_ms / 2,
        mean_ms * 3 / 2
    )
}

fn lua_show(token: &str, digests: &[Digest]) -> String {
    let list: Vec<String> = digests.iter().map(|d| format!("\"{d}\"")).collect();
    let body = r#"
local digests = { @LIST@ }
local i = 0
function init(args)
  local replica = tonumber(args[1] or "0")
  i = ((replica * 16 + tid) * 97) % #digests
end
function request()
  i = i % #digests + 1
  return wrk.format(nil, "/api/v1/images/" .. digests[i])
end
"#
    .replace("@LIST@", &list.join(", "));
    format!(
        "wrk.method = \"GET\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n{LUA_THREADS}{body}{LUA_DONE}"
    )
}

/// One small record per request, each with a digest of its own:
/// `sha256:` SALT (48 hex, new every run) + thread (8) + counter (8).
fn lua_submit(token: &str, salt: &str) -> String {
    let body = r#"
local n = 0
local who = 0
function init(args)
  who = tonumber(args[1] or "0") * 256 + tid
end
function request()
  n = n + 1
  local hex = string.format("@SALT@%08x%08x", who, n)
  local rec = '{"subjects":[{"digest":"sha256:' .. hex .. '","references":["registry.example/bench/svc:' .. n .. '"]}],'
    .. '"source":{"repo":"https://git.example/bench/svc","commit":"' .. string.sub(hex, 25, 64) .. '","tag":"v1.0.' .. n .. '"},'
    .. '"builder":{"id":"@BUILDER@"},'
    .. '"toolchains":[{"name":"go","version":"1.21.5"}],"languages":["go"],'
    .. '"components":[{"purl":"pkg:golang/golang.org/x/net@v0.17.0"},{"purl":"pkg:golang/golang.org/x/text@v0.13.0"},'
    .. '{"purl":"pkg:golang/github.com/google/uuid@v1.3.1"}]}'
  return wrk.format(nil, nil, nil, rec)
end
"#
    .replace("@SALT@", salt)
    .replace("@BUILDER@", BUILDER);
    format!(
        "wrk.method = \"POST\"\nwrk.path = \"/api/v1/records\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{LUA_THREADS}{body}{LUA_DONE}"
    )
}

/// What one wrk run reported.
struct WrkOut {
    requests: u64,
    secs: f64,
    socket_errors: u64,
    non2xx: u64,
    timeouts: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    quantiles: Vec<f64>,
}

fn parse_wrk(stdout: &str) -> Option<WrkOut> {
    let nums = |prefix: &str| -> Option<Vec<f64>> {
        let line = stdout.lines().find(|l| l.starts_with(prefix))?;
        Some(
            line[prefix.len()..]
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect(),
        )
    };
    let b = nums("BENCH ")?;
    let p = nums("BENCHP ")?;
    let q = nums("BENCHQ ")?;
    if b.len() < 7 || p.len() < 3 {
        return None;
    }
    Some(WrkOut {
        requests: b[0] as u64,
        secs: b[1] / 1e6,
        socket_errors: (b[2] + b[3] + b[4]) as u64,
        non2xx: b[5] as u64,
        timeouts: b[6] as u64,
        p50_us: p[0],
        p99_us: p[1],
        max_us: p[2],
        quantiles: q,
    })
}

/// The combined figures of one phase over all replicas.
struct Phase {
    engine: String,
    name: String,
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    non2xx: u64,
    socket_errors: u64,
    timeouts: u64,
    server_cores: f64,
}

/// The `q` quantile of several wrk runs' latencies, each run's quantiles
/// weighted by its request count.
fn pooled_quantile(runs: &[WrkOut], q: f64) -> f64 {
    let mut samples: Vec<(f64, f64)> = runs
        .iter()
        .flat_map(|r| {
            let w = r.requests as f64 / r.quantiles.len().max(1) as f64;
            r.quantiles.iter().map(move |&v| (v, w))
        })
        .collect();
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = samples.iter().map(|s| s.1).sum();
    let mut acc = 0.0;
    for (v, w) in &samples {
        acc += w;
        if acc >= q * total {
            return *v;
        }
    }
    samples.last().map(|s| s.0).unwrap_or(0.0)
}

/// Runs one wrk per server at the same time (100 connections and 2 threads in all).
fn phase(ctx: &Ctx, engine: &str, name: &str, servers: &[Server], script: &str) -> Phase {
    let path = ctx
        .dir
        .join(format!("{}.lua", name.replace([' ', '/'], "_")));
    std::fs::write(&path, script).expect("write wrk script");
    let conns = 100 / servers.len();
    let threads = (2 / servers.len()).max(1);
    let cpu0: Vec<f64> = servers.iter().map(|s| s.cpu_secs(ctx.clk_tck)).collect();
    let t0 = Instant::now();
    let children: Vec<Child> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Command::new("wrk")
                .args(["-c", &conns.to_string(), "-t", &threads.to_string()])
                .args([
                    "-d",
                    &format!("{}s", ctx.secs),
                    "--timeout",
                    "30s",
                    "--latency",
                ])
                .arg("-s")
                .arg(&path)
                .arg(s.url(""))
                .args(["--", &i.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run wrk (apt-get install -y wrk)")
        })
        .collect();
    let outs: Vec<WrkOut> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().expect("wrk");
            let text = String::from_utf8_lossy(&o.stdout);
            parse_wrk(&text).unwrap_or_else(|| {
                panic!(
                    "wrk gave no figures ({}):\n{text}\n{}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr)
                )
            })
        })
        .collect();
    let wall = t0.elapsed().as_secs_f64();
    let cpu: f64 = servers
        .iter()
        .zip(&cpu0)
        .map(|(s, c0)| s.cpu_secs(ctx.clk_tck) - c0)
        .sum();
    let (p50, p99, max) = if outs.len() == 1 {
        (outs[0].p50_us, outs[0].p99_us, outs[0].max_us)
    } else {
        (
            pooled_quantile(&outs, 0.50),
            pooled_quantile(&outs, 0.99),
            outs.iter().map(|o| o.max_us).fold(0.0, f64::max),
        )
    };
    let p = Phase {
        engine: engine.to_string(),
        name: name.to_string(),
        requests: outs.iter().map(|o| o.requests).sum(),
        rps: outs.iter().map(|o| o.requests as f64 / o.secs).sum(),
        p50_ms: p50 / 1000.0,
        p99_ms: p99 / 1000.0,
        max_ms: max / 1000.0,
        non2xx: outs.iter().map(|o| o.non2xx).sum(),
        socket_errors: outs.iter().map(|o| o.socket_errors).sum(),
        timeouts: outs.iter().map(|o| o.timeouts).sum(),
        server_cores: cpu / wall,
    };
    println!(
        "  {:<34} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>8.2} ms  max {:>8.1} ms  {} requests, {} non-2xx, {} socket errors, {} timeouts; server {:.2} cores",
        p.name,
        p.rps,
        p.p50_ms,
        p.p99_ms,
        p.max_ms,
        p.requests,
        p.non2xx,
        p.socket_errors,
        p.timeouts,
        p.server_cores
    );
    let rss: Vec<String> = servers
        .iter()
        .map(|s| {
            format!(
                "{:.0}/{:.0} (anon {:.0}, file {:.0}, shmem {:.0})",
                s.status_kib("VmRSS") as f64 / 1024.0,
                s.status_kib("VmHWM") as f64 / 1024.0,
                s.status_kib("RssAnon") as f64 / 1024.0,
                s.status_kib("RssFile") as f64 / 1024.0,
                s.status_kib("RssShmem") as f64 / 1024.0
            )
        })
        .collect();
    println!("    server RSS now/peak (MiB): {}", rss.join(", "));
    p
}

/// Everything measured on one engine.
struct EngineResult {
    label: String,
    replicas: usize,
    images: u64,
    phases: Vec<Phase>,
    /// Peak RSS (VmHWM) per replica, KiB.
    peak_kib: Vec<u64>,
}

/// Tokens, servers, the phases, peak RSS.
fn bench_engine(
    ctx: &Ctx,
    label: &str,
    db: &str,
    replicas: usize,
    n: u64,
    images: u64,
) -> EngineResult {
    let read = token(ctx, db, &["--scope", "read", "--name", "bench-read"]);
    let write = token(
        ctx,
        db,
        &[
            "--scope",
            "builder:write",
            "--builder-id",
            BUILDER,
            "--name",
            "bench-builder",
        ],
    );
    let servers: Vec<Server> = (0..replicas)
        .map(|i| Server::start(ctx, db, &format!("{}-{i}", label.to_lowercase())))
        .collect();
    let ports: Vec<String> = servers.iter().map(|s| s.port.to_string()).collect();
    println!(
        "  {} server(s) on 127.0.0.1:{} (TLS), pids {}",
        servers.len(),
        ports.join(", "),
        servers
            .iter()
            .map(|s| s.pid().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let after_start: Vec<u64> = servers.iter().map(|s| s.status_kib("VmRSS")).collect();

    let q_toolchain = "/api/v1/query?toolchain=go@1.13.4&limit=100";
    let q_package = "/api/v1/query?package=pkg:golang/gopkg.in/mod1999&limit=100";
    let known: Vec<Digest> = (0..1000u64)
        .map(|k| digest_of(k * n / 1000, 0x1a6e))
        .collect();
    // One request of each kind first: a failing route would make the figures meaningless.
    let auth_r = format!("Authorization: Bearer {read}");
    let auth_w = format!("Authorization: Bearer {write}");
    let show_path = format!("/api/v1/images/{}", known[known.len() / 2]);
    for (what, path) in [
        ("query toolchain", q_toolchain),
        ("query package", q_package),
        ("show", show_path.as_str()),
    ] {
        let (code, size) = curl(&["-o", "/dev/null", "-H", &auth_r, &servers[0].url(path)]);
        let flag = if code == 200 { "" } else { "  <- UNEXPECTED" };
        println!("  check {what:<16} GET {path}: {code}, {size} bytes{flag}");
    }
    let probe = format!(
        "{{\"subjects\":[{{\"digest\":\"{}\"}}],\"builder\":{{\"id\":\"{BUILDER}\"}}}}",
        digest_of(std::process::id() as u64, 0xbe4c)
    );
    let (code, size) = curl(&[
        "-o",
        "/dev/null",
        "-H",
        &auth_w,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &probe,
        &servers[0].url("/api/v1/records"),
    ]);
    let flag = if code == 201 { "" } else { "  <- UNEXPECTED" };
    println!(
        "  check {:<16} POST /api/v1/records: {code}, {size} bytes{flag}",
        "submit"
    );

    let salt: String = {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        digest_of(t ^ std::process::id() as u64, 0x5a17).hex()[..48].to_string()
    };
    let mut phases = vec![
        phase(
            ctx,
            label,
            "GET query toolchain=go@1.13.4",
            &servers,
            &lua_get(&read, q_toolchain),
        ),
        phase(
            ctx,
            label,
            "GET query package=(rare module)",
            &servers,
            &lua_get(&read, q_package),
        ),
        phase(
            ctx,
            label,
            "GET images/{digest}",
            &servers,
            &lua_show(&read, &known),
        ),
    ];
    // The same reads again at a fixed offered rate: the latency a client
    // sees when the server is busy but not saturated.
    let rate = ctx.read_rate;
    for (name, script) in [
        ("GET query toolchain", lua_get(&read, q_toolchain)),
        ("GET query package", lua_get(&read, q_package)),
        ("GET images/{digest}", lua_show(&read, &known)),
    ] {
        let per_server = (100 / servers.len()) as u64;
        let script = paced(&script, per_server, rate / servers.len() as u64);
        phases.push(phase(
            ctx,
            label,
            &format!("{name} @{rate}/s"),
            &servers,
            &script,
        ));
    }
    phases.push(phase(
        ctx,
        label,
        "POST records (1 per request)",
        &servers,
        &lua_submit(&write, &salt),
    ));
    let peak_kib: Vec<u64> = servers.iter().map(|s| s.status_kib("VmHWM")).collect();
    for (i, s) in servers.iter().enumerate() {
        let [(e4, f4), (e5, f5)] = s.log_errors();
        println!(
            "  replica {i}: RSS {:.0} MiB after start, peak {:.0} MiB; request log: {e4} 4xx, {e5} 5xx",
            after_start[i] as f64 / 1024.0,
            peak_kib[i] as f64 / 1024.0,
        );
        for l in [f4, f5].into_iter().flatten() {
            println!("    first: {l}");
        }
    }
    drop(servers);
    EngineResult {
        label: label.to_string(),
        replicas,
        images,
        phases,
        peak_kib,
    }
}

// ---------------------------------------------------------------------------
// Engines.
// ---------------------------------------------------------------------------

fn sqlite(ctx: &Ctx, n: u64) -> EngineResult {
    let keep = std::env::var_os("BUILDLEDGER_BENCH_KEEP").map(PathBuf::from);
    let path = keep.clone().unwrap_or_else(|| ctx.dir.join("ledger.db"));
    println!("SQLite ({}), {n} builds:", path.display());
    let mut store = Store::open_sqlite(&path).expect("open sqlite");
    let have = store.stats().expect("stats").records;
    if have >= n {
        println!("  reusing the ledger: {have} records already");
    } else {
        assert!(
            have == 0,
            "{} holds {have} records, fewer than {n}: remove it or pick another path",
            path.display()
        );
        let d = fill(&mut store, n);
        println!(
            "  ingest (in-process, batches of 500): {n} in {:.1} s = {:.0} records/s",
            d.as_secs_f64(),
            n as f64 / d.as_secs_f64()
        );
    }
    let images = store.stats().expect("stats").images;
    drop(store);
    let r = bench_engine(ctx, "SQLite", &path.display().to_string(), 1, n, images);
    if keep.is_none() {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
    r
}

/// A schema of its own, dropped (`CASCADE`) with the guard.
struct PgSchema {
    url: String,
    name: String,
    keep: bool,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn postgres_engine(ctx: &Ctx, n: u64) -> EngineResult {
    let url = std::env::var("BUILDLEDGER_BENCH_PG")
        .or_else(|_| std::env::var("BUILDLEDGER_TEST_PG"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    // BUILDLEDGER_BENCH_PG_SCHEMA=NAME: that schema, kept afterwards (filled
    // when new, reused when it already holds N records).
    let kept = std::env::var("BUILDLEDGER_BENCH_PG_SCHEMA").ok();
    let schema = PgSchema {
        url: url.clone(),
        name: kept
            .clone()
            .unwrap_or_else(|| format!("bl_srvbench_{}", std::process::id())),
        keep: kept.is_some(),
    };
    let mut admin =
        postgres::Client::connect(&url, postgres::NoTls).expect("connect to PostgreSQL");
    let create = if schema.keep {
        format!("CREATE SCHEMA IF NOT EXISTS {0}", schema.name)
    } else {
        format!(
            "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
            schema.name
        )
    };
    admin.batch_execute(&create).expect("create schema");
    drop(admin);
    let sep = if url.contains('?') { '&' } else { '?' };
    let target = format!("{url}{sep}options=-csearch_path%3D{}", schema.name);
    println!(
        "PostgreSQL ({}, schema {}{}), {n} builds, 2 replicas:",
        buildledger_store::redact_url(&url),
        schema.name,
        if schema.keep { ", kept" } else { "" }
    );
    let mut store = Store::open(&target).expect("open postgres");
    let have = store.stats().expect("stats").records;
    if have >= n {
        println!("  reusing the ledger: {have} records already");
    } else if have > 0 {
        panic!(
            "schema {} holds {have} records, fewer than {n}: drop it or pick another",
            schema.name
        );
    } else {
        let d = fill(&mut store, n);
        println!(
            "  ingest (in-process, batches of 500): {n} in {:.1} s = {:.0} records/s",
            d.as_secs_f64(),
            n as f64 / d.as_secs_f64()
        );
    }
    let images = store.stats().expect("stats").images;
    drop(store);
    let r = bench_engine(ctx, "PostgreSQL", &target, 2, n, images);
    drop(schema);
    r
}

// ---------------------------------------------------------------------------

fn report(results: &[EngineResult], secs: u64) {
    println!();
    println!(
        "Figures ({secs} s per phase, 100 connections in all, wrk and server(s) on the same cores):"
    );
    println!(
        "{:<12} {:>3} {:>7}  {:<34} {:>8} {:>8} {:>9} {:>9} {:>7} {:>6} {:>5}",
        "engine",
        "rep",
        "images",
        "phase",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "non2xx",
        "errs",
        "cpu"
    );
    for r in results {
        for p in &r.phases {
            println!(
                "{:<12} {:>3} {:>7}  {:<34} {:>8.0} {:>8.2} {:>9.2} {:>9.1} {:>7} {:>6} {:>5.2}",
                p.engine,
                r.replicas,
                r.images,
                p.name,
                p.rps,
                p.p50_ms,
                p.p99_ms,
                p.max_ms,
                p.non2xx,
                p.socket_errors + p.timeouts,
                p.server_cores
            );
        }
        let peaks: Vec<String> = r
            .peak_kib
            .iter()
            .map(|k| format!("{:.0} MiB", *k as f64 / 1024.0))
            .collect();
        println!("{:<12} peak RSS per replica: {}", r.label, peaks.join(", "));
    }
    println!(
        "Targets (issue): >= 1,000 submissions/s; read p99 < 10 ms at 100 clients on 100k images; peak RSS < 200 MB."
    );
    println!(
        "(errs = socket errors + timeouts; cpu = cores the server process(es) used during the phase)"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let which = args.get(2).cloned().unwrap_or_else(|| "both".into());
    if !["sqlite", "postgres", "both"].contains(&which.as_str()) {
        eprintln!("usage: server-bench [N] [sqlite|postgres|both]");
        std::process::exit(2);
    }
    let bin = buildledger_bin();
    for (tool, pkg) in [("wrk", "wrk"), ("openssl", "openssl"), ("curl", "curl")] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!("{tool} not found (apt-get install -y {pkg})");
            std::process::exit(2);
        }
    }
    let secs: u64 = std::env::var("BUILDLEDGER_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let read_rate: u64 = std::env::var("BUILDLEDGER_BENCH_READ_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|r| *r > 0)
        .unwrap_or(1000);
    let clk_tck: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    let dir = std::env::temp_dir().join(format!("buildledger-server-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = TempDir(dir.clone());
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    self_signed(&cert, &key);
    let ctx = Ctx {
        bin,
        dir,
        cert,
        key,
        secs,
        clk_tck,
        read_rate,
    };
    println!(
        "server-bench: {} ({} cores), wrk {secs} s per phase",
        ctx.bin.display(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let t0 = Instant::now();
    let mut results = Vec::new();
    if which == "sqlite" || which == "both" {
        results.push(sqlite(&ctx, n));
    }
    if which == "postgres" || which == "both" {
        results.push(postgres_engine(&ctx, n));
    }
    report(&results, secs);
    println!("(whole run: {:.0} s)", t0.elapsed().as_secs_f64());
}
