//! Ledger benchmark: record N synthetic builds (~200 components each, drawn
//! from a realistic pool: a few thousand distinct packages, a handful of
//! shared base images) and measure ingest rate, database size and query
//! latency at that size, on SQLite and on PostgreSQL.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin ledger-bench -- [N] [sqlite|postgres|both]`
//! (N defaults to 100000). PostgreSQL is taken from `BUILDLEDGER_BENCH_PG`
//! (default `postgres://postgres@127.0.0.1:5432/test`), in a fresh schema
//! that is dropped afterwards. Ingest is measured in this process; the
//! queries run in a child process against the database it left, as a
//! `buildledger query` would. `BUILDLEDGER_BENCH_KEEP=PATH` keeps the SQLite
//! file, and a later run on it measures the queries alone;
//! `BUILDLEDGER_BENCH_PG_KEEP=1` keeps the PostgreSQL schema and prints its
//! name, and `BUILDLEDGER_BENCH_PG_SCHEMA=NAME` re-times the queries on it.
//! Paged queries are timed from the start and from a cursor in the middle.
//! `BUILDLEDGER_BENCH_SERVER=target/release/buildledger` also times the
//! server's first and tenth pages of lists through the HTTP API.
//! `BUILDLEDGER_BENCH_RECORD=1` on a kept ledger (either engine) times the
//! record paths alone at that size (600 more records).

use std::time::{Duration, Instant};

use buildledger_model::*;
use buildledger_store::{Query, Store};

/// The allocator the `buildledger` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "synth.rs"]
mod synth;
use synth::*;

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

/// Timed runs per query (the machine's speed wanders; a median of many is steadier).
const RUNS: usize = 11;

/// Median and fastest of `runs` timings, and what the last run returned.
fn median_ms(mut f: impl FnMut() -> usize, runs: usize) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let (k, d) = time(&mut f);
        n = k;
        times.push(d.as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    (times[times.len() / 2], times[0], n)
}

fn run(store: &mut Store, n: u64, size: &dyn Fn(&mut Store) -> u64) {
    let pool = pool();
    let mut rng = Rng(42);
    let batch = 500u64;
    let t0 = Instant::now();
    let mut done = 0;
    while done < n {
        let k = batch.min(n - done);
        let recs: Vec<BuildRecord> = (done..done + k)
            .map(|i| build(&pool, i, &mut rng))
            .collect();
        store.record_many(&recs).expect("record batch");
        done += k;
        if done % 10_000 == 0 {
            eprintln!(
                "  {done} records, {:.0}/s",
                done as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let stats = store.stats().expect("stats");
    println!(
        "  records:            {n} in {secs:.1} s = {:.0} records/s (batches of {batch}, one transaction each)",
        n as f64 / secs
    );
    record_paths(store, n, &mut rng);
    println!(
        "  stored:             {} images, {} components, {} links",
        stats.images, stats.components, stats.component_links
    );
    println!(
        "  database size:      {:.1} MiB",
        size(store) as f64 / 1048576.0
    );
}

/// The record paths at this ledger's size: single-record transactions,
/// `rules::record`, and the server's group commit of 8 submissions.
fn record_paths(store: &mut Store, n: u64, rng: &mut Rng) {
    let pool = pool();
    // Single-record transactions, as `buildledger record` does them.
    let (_, d) = time(|| {
        for i in 0..200 {
            store.record(&build(&pool, n + i, rng)).expect("record");
        }
    });
    println!(
        "  single-record tx:   {:.0} records/s (200 records, one transaction each)",
        200.0 / d.as_secs_f64()
    );
    // What `buildledger record` does per record: implied stdlib/toolchain
    // components, matching what the record adds, an audit entry.
    let (_, d) = time(|| {
        for i in 0..200 {
            buildledger_rules::record(store, &build(&pool, n + 200 + i, rng))
                .expect("rules::record");
        }
    });
    println!(
        "  via rules::record:  {:.0} records/s (200 records: implied components, matching, audit)",
        200.0 / d.as_secs_f64()
    );
    // The same path with the server's group commit: 8 submissions of one
    // record per commit, as 8 or more clients submitting at once get it.
    let (_, d) = time(|| {
        for g in 0..25 {
            let subs: Vec<Vec<(String, BuildRecord)>> = (0..8)
                .map(|k| vec![("bench".to_string(), build(&pool, n + 400 + g * 8 + k, rng))])
                .collect();
            for r in buildledger_service::record::record_group(store, &subs) {
                r.expect("record_group");
            }
        }
    });
    println!(
        "  group commit of 8:  {:.0} records/s (200 records as 25 rounds of 8 submissions, one commit each)",
        200.0 / d.as_secs_f64()
    );
}
/// Record `k` more builds in batches of 500 on a ledger of any size and
/// print the rate.
fn append(store: &mut Store, k: u64) {
    let pool = pool();
    let have = store.stats().expect("stats").records;
    let mut rng = Rng(have ^ 0x5eed);
    let t0 = Instant::now();
    let mut done = 0;
    while done < k {
        let b = 500.min(k - done);
        let recs: Vec<BuildRecord> = (done..done + b)
            .map(|i| build(&pool, 10_000_000 + have + i, &mut rng))
            .collect();
        store.record_many(&recs).expect("record batch");
        done += b;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "  append at {have} records: {k} in {secs:.1} s = {:.0} records/s",
        k as f64 / secs
    );
}

/// Query latencies, measured in a process of their own (as `buildledger
/// query` runs), on a database that already holds the `n` builds.
fn queries(store: &mut Store, n: u64) {
    let pool = &pool();
    let exact = |v: &str| v == "1.13.4";
    let c = buildledger_version::Constraint::parse("<1.14").expect("constraint");
    let range = move |v: &str| {
        c.matches(buildledger_version::Scheme::GoToolchain, v)
            .unwrap_or(false)
    };
    let any = |_: &str| true;
    let rare = pool.go_modules[1999][0].package().to_string();
    let popular = pool.go_modules[7][0].package().to_string();
    let popular_v = pool.go_modules[7][0].version().unwrap_or("").to_string();
    let popular_exact = move |v: &str| v == popular_v;
    let cases: Vec<(&str, Query)> = vec![
        (
            "query --toolchain go@1.13.4",
            Query {
                toolchain: Some(("go".into(), &exact)),
                ..Default::default()
            },
        ),
        (
            "query --toolchain go@<1.14",
            Query {
                toolchain: Some(("go".into(), &range)),
                ..Default::default()
            },
        ),
        (
            "query --toolchain go@<1.14 --limit 100",
            Query {
                toolchain: Some(("go".into(), &range)),
                limit: Some(100),
                ..Default::default()
            },
        ),
        (
            "query --package (rare module)",
            Query {
                package: Some((rare.clone(), &any)),
                ..Default::default()
            },
        ),
        (
            "query --package (popular module@version)",
            Query {
                package: Some((popular.clone(), &popular_exact)),
                ..Default::default()
            },
        ),
        (
            "query --package (popular, --limit 100)",
            Query {
                package: Some((popular.clone(), &any)),
                limit: Some(100),
                ..Default::default()
            },
        ),
        (
            "query --api-stability beta --limit 100",
            Query {
                api_stability: Some(Stability::Beta),
                limit: Some(100),
                ..Default::default()
            },
        ),
    ];
    for (name, q) in &cases {
        let (ms, min, hits) = median_ms(|| store.query(q).expect("query").len(), RUNS);
        println!("  {name:<42} {ms:>8.2} ms  (fastest {min:.2}; {hits} hits; median of {RUNS})");
    }
    // A page in the middle of each paged list: from a cursor at the middle
    // record, as the API's next-page requests read it.
    let middle = buildledger_store::QueryCursor {
        record: (n / 2) as i64,
        skip: 0,
    };
    for (name, q) in &cases {
        if q.limit.is_none() {
            continue;
        }
        let deep = Query {
            toolchain: q.toolchain.clone(),
            package: q.package.clone(),
            api_stability: q.api_stability,
            limit: q.limit,
            start: Some(middle),
            ..Default::default()
        };
        let (ms, min, hits) = median_ms(|| store.query(&deep).expect("query").len(), RUNS);
        let name = format!("{name} --cursor {middle}");
        println!("  {name:<42} {ms:>8.2} ms  (fastest {min:.2}; {hits} hits; median of {RUNS})");
    }
    advisory_pages(store, n);
    let d = digest_of(n / 2, 0x1a6e);
    let (ms, min, _) = median_ms(
        || {
            store
                .show(&d)
                .expect("show")
                .map(|v| v.records.len())
                .unwrap_or(0)
        },
        RUNS,
    );
    println!(
        "  {:<42} {ms:>8.2} ms  (fastest {min:.2}; median of {RUNS})",
        "show DIGEST"
    );
}

/// `affected` and `changes` of an advisory on every version of the popular
/// module (stored once per ledger, as a feed import would): the whole list,
/// the first page and a page from the middle of the ledger.
fn advisory_pages(store: &mut Store, n: u64) {
    let pool = pool();
    let cids: Vec<i64> = store
        .components_for_key(&pool.go_modules[7][0].match_key())
        .expect("components")
        .iter()
        .map(|c| c.id)
        .collect();
    store
        .transaction(|s| {
            let adv = s
                .upsert_advisory(&buildledger_store::AdvisoryInput {
                    advisory_id: "GO-2099-0007".into(),
                    source: "osv".into(),
                    modified: None,
                    withdrawn: None,
                    content_hash: "bench".into(),
                    summary: Some("every version of the popular module".into()),
                    severity: None,
                    score: None,
                    published: None,
                    aliases: vec!["GO-2099-0007".into(), "CVE-2099-0007".into()],
                    match_keys: vec![],
                    body: "{}".into(),
                    go_imports: None,
                })?
                .id();
            let f: Vec<buildledger_store::NewFinding> = cids
                .iter()
                .map(|c| buildledger_store::NewFinding {
                    component_id: *c,
                    kind: "vuln".into(),
                    fixed: None,
                })
                .collect();
            s.replace_findings(adv, None, &f, "bench")
        })
        .expect("advisory");
    let (ms, min, k) = median_ms(
        || {
            store
                .affected("CVE-2099-0007")
                .expect("affected")
                .map_or(0, |v| v.len())
        },
        3,
    );
    let name = "affected (popular module, whole)";
    println!("  {name:<42} {ms:>8.2} ms  (fastest {min:.2}; {k} findings; median of 3)");
    let middle = buildledger_store::QueryCursor {
        record: (n / 2) as i64,
        skip: 0,
    };
    for (name, start) in [
        ("affected --limit 100", None),
        ("affected --limit 100 --cursor (middle)", Some(middle)),
    ] {
        let (ms, min, k) = median_ms(
            || {
                store
                    .affected_page("CVE-2099-0007", start, Some(100))
                    .expect("affected")
                    .map_or(0, |p| p.findings.len())
            },
            RUNS,
        );
        println!("  {name:<42} {ms:>8.2} ms  (fastest {min:.2}; {k} findings; median of {RUNS})");
    }
    let (ms, min, k) = median_ms(
        || {
            store
                .changes_page(0, None, Some(100))
                .expect("changes")
                .changes
                .len()
        },
        RUNS,
    );
    let name = "changes --limit 100";
    println!("  {name:<42} {ms:>8.2} ms  (fastest {min:.2}; {k} changes; median of {RUNS})");
}

/// The server's first page and a next page of lists through the HTTP API:
/// `buildledger serve --plaintext` (loopback) on the benchmark's ledger,
/// `BUILDLEDGER_BENCH_SERVER` naming the binary. One client, one request at
/// a time: latency, not throughput (`server-bench` measures that).
fn api_pages(bin: &str, db: &str) {
    use std::process::{Command, Stdio};
    let out = Command::new(bin)
        .args(["token", "create", "--scope", "read"])
        .env("BUILDLEDGER_DB", db)
        .output()
        .expect("run buildledger token create");
    assert!(
        out.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--plaintext",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("BUILDLEDGER_DB", db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start buildledger serve");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str| -> (u16, serde_json::Value) {
        rt.block_on(async {
            match client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
            {
                Ok(r) => {
                    let code = r.status().as_u16();
                    let v = match r.bytes().await {
                        Ok(b) => serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
                        Err(_) => serde_json::Value::Null,
                    };
                    (code, v)
                }
                Err(_) => (0, serde_json::Value::Null),
            }
        })
    };
    let t0 = Instant::now();
    while get("/readyz").0 != 200 {
        if t0.elapsed() > Duration::from_secs(120) || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            panic!("the server did not come up");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let pool = pool();
    let popular = pool.go_modules[7][0].package().to_string();
    let lists = [
        (
            "GET /query?toolchain=go@<1.14",
            "/api/v1/query?toolchain=go@%3C1.14&limit=100".to_string(),
        ),
        (
            "GET /query?package=(popular)",
            format!("/api/v1/query?package={popular}&limit=100"),
        ),
        (
            "GET /query?api_stability=beta",
            "/api/v1/query?api_stability=beta&limit=100".to_string(),
        ),
        ("GET /table", "/api/v1/table?limit=100".to_string()),
    ];
    for (name, path) in &lists {
        let (code, first) = get(path);
        assert_eq!(code, 200, "{path}: {first}");
        let (ms, min, _) = median_ms(|| get(path).0 as usize, RUNS);
        println!(
            "  API {name:<38} {ms:>8.2} ms  (fastest {min:.2}; first page of 100; median of {RUNS})"
        );
        if let Some(c) = first["next_cursor"].as_str() {
            // The tenth page: follow the cursors.
            let mut next = c.to_string();
            for _ in 0..8 {
                let (_, v) = get(&format!("{path}&cursor={next}"));
                match v["next_cursor"].as_str() {
                    Some(c) => next = c.to_string(),
                    None => break,
                }
            }
            let deep = format!("{path}&cursor={next}");
            let (ms, min, _) = median_ms(|| get(&deep).0 as usize, RUNS);
            println!(
                "  API {:<38} {ms:>8.2} ms  (fastest {min:.2}; tenth page; median of {RUNS})",
                "  …&cursor="
            );
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Run the query phase in a fresh process (a new connection, a clean heap,
/// the page cache as the OS left it), as a `buildledger query` would.
fn queries_in_child(n: u64, which: &str, env: (&str, &str)) {
    let exe = std::env::current_exe().expect("current exe");
    let status = std::process::Command::new(exe)
        .args([n.to_string(), which.to_string()])
        .env("BUILDLEDGER_BENCH_QUERIES", "1")
        .env(env.0, env.1)
        .status()
        .expect("run query phase");
    assert!(status.success(), "query phase failed: {status}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let which = args.get(2).cloned().unwrap_or_else(|| "both".into());
    let queries_only = std::env::var_os("BUILDLEDGER_BENCH_QUERIES").is_some();
    if which == "sqlite" || which == "both" {
        // BUILDLEDGER_BENCH_KEEP=PATH keeps the database there; a run on a
        // kept database that already holds N builds measures queries only.
        let keep = std::env::var_os("BUILDLEDGER_BENCH_KEEP").map(std::path::PathBuf::from);
        let dir = std::env::temp_dir().join(format!("buildledger-bench-{}", std::process::id()));
        let path = match &keep {
            Some(p) => p.clone(),
            None => {
                let _ = std::fs::remove_dir_all(&dir);
                dir.join("ledger.db")
            }
        };
        let mut store = Store::open_sqlite(&path).expect("open sqlite");
        // BUILDLEDGER_BENCH_APPEND=K on a kept ledger: the ingest rate of K
        // more records at this size (what `records/s` is near the end of a run).
        if let Some(k) = std::env::var("BUILDLEDGER_BENCH_APPEND")
            .ok()
            .and_then(|k| k.parse::<u64>().ok())
        {
            append(&mut store, k);
            return;
        }
        // BUILDLEDGER_BENCH_RECORD=1 on a kept ledger: the record paths at
        // this size (adds 600 records).
        if std::env::var_os("BUILDLEDGER_BENCH_RECORD").is_some() {
            let have = store.stats().expect("stats").records;
            record_paths(&mut store, 20_000_000 + have, &mut Rng(have));
            return;
        }
        if queries_only || store.stats().expect("stats").records >= n {
            queries(&mut store, n);
            drop(store);
            if let Ok(bin) = std::env::var("BUILDLEDGER_BENCH_SERVER") {
                api_pages(&bin, &path.display().to_string());
            }
            return;
        }
        println!("SQLite ({}), {n} builds:", path.display());
        run(&mut store, n, &|s: &mut Store| {
            s.size_on_disk().unwrap_or(0)
        });
        drop(store);
        queries_in_child(
            n,
            "sqlite",
            ("BUILDLEDGER_BENCH_KEEP", &path.display().to_string()),
        );
        if keep.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if which == "postgres" || which == "both" {
        let url = std::env::var("BUILDLEDGER_BENCH_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        // BUILDLEDGER_BENCH_PG_SCHEMA=NAME re-times the queries on a schema a
        // run with BUILDLEDGER_BENCH_PG_KEEP=1 left.
        if queries_only || std::env::var_os("BUILDLEDGER_BENCH_PG_SCHEMA").is_some() {
            let schema = std::env::var("BUILDLEDGER_BENCH_PG_SCHEMA").expect("schema");
            let target = format!("{url}?options=-csearch_path%3D{schema}");
            let mut store = Store::open(&target).expect("open postgres");
            if std::env::var_os("BUILDLEDGER_BENCH_RECORD").is_some() {
                let have = store.stats().expect("stats").records;
                record_paths(&mut store, 20_000_000 + have, &mut Rng(have));
                return;
            }
            queries(&mut store, n);
            drop(store);
            if let Ok(bin) = std::env::var("BUILDLEDGER_BENCH_SERVER") {
                api_pages(&bin, &target);
            }
            return;
        }
        let schema = format!("bl_bench_{}", std::process::id());
        let mut admin =
            postgres::Client::connect(&url, postgres::NoTls).expect("connect to PostgreSQL");
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("schema");
        println!(
            "PostgreSQL ({}), {n} builds:",
            buildledger_store::redact_url(&url)
        );
        let target = format!("{url}?options=-csearch_path%3D{schema}");
        let mut store = Store::open(&target).expect("open postgres");
        run(&mut store, n, &|s: &mut Store| {
            s.size_on_disk().unwrap_or(0)
        });
        drop(store);
        queries_in_child(n, "postgres", ("BUILDLEDGER_BENCH_PG_SCHEMA", &schema));
        if std::env::var_os("BUILDLEDGER_BENCH_PG_KEEP").is_some() {
            println!("  kept: BUILDLEDGER_BENCH_PG_SCHEMA={schema} re-times the queries");
        } else {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}
