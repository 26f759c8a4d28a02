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
//! file, and a later run on it measures the queries alone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use buildledger_model::*;
use buildledger_store::{Query, Store};

/// The allocator the `buildledger` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deterministic xorshift PRNG: the same builds on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Pool {
    bases: Vec<(Digest, Vec<Purl>)>,
    go_modules: Vec<Vec<Purl>>, // per module: its versions
    toolchains: Vec<String>,
}

fn digest_of(n: u64, salt: u64) -> Digest {
    let mut s = String::with_capacity(64);
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    for _ in 0..4 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!("{x:016x}"));
    }
    Digest::parse(&format!("sha256:{s}")).expect("generated digest")
}

fn pool() -> Pool {
    let mut rng = Rng(0x5eed);
    // 12 base images (debian/alpine/distroless variants), each 60-140 OS packages
    // from a pool of 1,200 package names in 2-3 versions.
    let os_names: Vec<String> = (0..1200).map(|i| format!("lib{i:04}")).collect();
    let mut bases = Vec::new();
    for b in 0..12u64 {
        let n = 60 + rng.below(80);
        let mut purls = Vec::new();
        let distro = if b % 3 == 0 {
            ("apk", "alpine")
        } else {
            ("deb", "debian")
        };
        for _ in 0..n {
            let name = &os_names[rng.below(os_names.len())];
            let ver = format!(
                "{}.{}.{}-{}",
                1 + rng.below(3),
                rng.below(20),
                rng.below(10),
                1 + rng.below(3)
            );
            purls.push(Purl::from_parts(distro.0, Some(distro.1), name, Some(&ver)).expect("purl"));
        }
        purls.sort();
        purls.dedup();
        bases.push((digest_of(b, 0xba5e), purls));
    }
    // 2,000 Go modules, 1-4 versions each.
    let mut go_modules = Vec::new();
    for m in 0..2000 {
        let host = [
            "github.com",
            "golang.org/x",
            "k8s.io",
            "go.uber.org",
            "gopkg.in",
        ][m % 5];
        let path = format!("{host}/mod{m:04}");
        let nv = 1 + rng.below(4);
        let versions = (0..nv)
            .map(|v| {
                Purl::from_parts(
                    "golang",
                    None,
                    &path,
                    Some(&format!("v{}.{}.{v}", rng.below(3), rng.below(30))),
                )
                .expect("purl")
            })
            .collect();
        go_modules.push(versions);
    }
    let toolchains = (10..=24)
        .flat_map(|minor| (0..8).map(move |p| format!("1.{minor}.{p}")))
        .collect();
    Pool {
        bases,
        go_modules,
        toolchains,
    }
}

fn build(pool: &Pool, i: u64, rng: &mut Rng) -> BuildRecord {
    let (base_digest, base_purls) = &pool.bases[rng.below(pool.bases.len())];
    let mut r = BuildRecord::new(vec![Subject {
        digest: digest_of(i, 0x1a6e),
        media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
        platform: Some("linux/amd64".into()),
        references: vec![format!(
            "registry.example/team{}/svc{}:{}",
            i % 50,
            i % 900,
            i
        )],
        manifests: vec![],
    }]);
    r.source = Some(Source {
        repo: Some(format!("https://git.example/team{}/svc{}", i % 50, i % 900)),
        commit: Some(digest_of(i, 0xc0de).hex()[..40].to_string()),
        tag: Some(format!("v1.{}.{}", i % 40, i % 7)),
        dirty: Some(false),
    });
    r.builder = Some(Builder {
        id: "https://ci.example/builders/v2".into(),
        version: None,
    });
    r.images.push(UsedImage {
        digest: base_digest.clone(),
        role: ImageRole::Base,
        reference: None,
    });
    let go = &pool.toolchains[rng.below(pool.toolchains.len())];
    r.toolchains
        .push(Toolchain::new("go", go).expect("toolchain"));
    r.languages.push("go".into());
    for p in base_purls {
        r.components.push(Component {
            purl: p.clone(),
            hashes: BTreeMap::new(),
            scope: Scope::Runtime,
            location: None,
        });
    }
    // Go deps: enough to reach ~200 components in all; popular modules more often.
    let want = 200usize.saturating_sub(r.components.len()).max(40);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < want {
        let m = if rng.below(4) == 0 {
            rng.below(60)
        } else {
            rng.below(pool.go_modules.len())
        };
        if seen.insert(m) {
            let vs = &pool.go_modules[m];
            r.components.push(Component {
                purl: vs[rng.below(vs.len())].clone(),
                hashes: BTreeMap::new(),
                scope: Scope::Runtime,
                location: None,
            });
        }
    }
    r.components.push(Component {
        purl: Purl::from_parts("golang", None, "stdlib", Some(go)).expect("purl"),
        hashes: BTreeMap::new(),
        scope: Scope::Runtime,
        location: None,
    });
    if i.is_multiple_of(10) {
        r.apis.push(ApiEntry {
            kind: ApiKind::Http,
            name: "GET /v1beta1/items".into(),
            version: Some("v1beta1".into()),
            stability: Stability::Beta,
        });
    }
    r.apis.push(ApiEntry {
        kind: ApiKind::Http,
        name: "GET /v1/items".into(),
        version: Some("v1".into()),
        stability: Stability::Stable,
    });
    r
}

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
    // Single-record transactions, as `buildledger record` does them.
    let (_, d) = time(|| {
        for i in 0..200 {
            store
                .record(&build(&pool, n + i, &mut rng))
                .expect("record");
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
            buildledger_rules::record(store, &build(&pool, n + 200 + i, &mut rng))
                .expect("rules::record");
        }
    });
    println!(
        "  via rules::record:  {:.0} records/s (200 records: implied components, matching, audit)",
        200.0 / d.as_secs_f64()
    );
    println!(
        "  stored:             {} images, {} components, {} links",
        stats.images, stats.components, stats.component_links
    );
    println!(
        "  database size:      {:.1} MiB",
        size(store) as f64 / 1048576.0
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
        if queries_only || store.stats().expect("stats").records >= n {
            queries(&mut store, n);
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
        if queries_only {
            let schema = std::env::var("BUILDLEDGER_BENCH_PG_SCHEMA").expect("schema");
            let target = format!("{url}?options=-csearch_path%3D{schema}");
            let mut store = Store::open(&target).expect("open postgres");
            queries(&mut store, n);
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
        let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    }
}
