//! posture-bench: policy decisions and the posture cache at scale. Prints
//! figures; asserts none.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin posture-bench -- [N] [W]`
//! (N images, default 100000; W running containers, default 10000).
//!
//! It fills a SQLite ledger with N synthetic builds (`ledger-bench`'s
//! generator: Go toolchains 1.10–1.24, ~200 components each), imports the
//! real Go advisory database (`$BUILDLEDGER_BENCH_FEED`, default
//! `../shared/data/osv/go`: the stdlib advisories match the toolchains),
//! reports an inventory of W containers over random images in 20
//! namespaces (half production, half staging), then times:
//!
//! - one decision (`policy::eval`: the input document's lookups plus the
//!   Rego evaluation), 2,000 random (image, environment) pairs, p50/p99,
//!   and the two halves apart;
//! - a full posture refresh (every container), an incremental refresh
//!   with nothing changed, one after a new advisory that touches a few
//!   hundred images, one after a waiver on one image.
//!
//! Targets reported against: decision p99 < 200 µs (the admission path),
//! full refresh of 10k containers < 2 s, incremental refresh after an
//! advisory < 100 ms.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use buildledger_service::Settings;
use buildledger_service::policy::{self, Deployment, Policy};
use buildledger_service::posture::{self, PostureQuery};
use buildledger_store::Store;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "running.rs"]
mod running;
#[path = "synth.rs"]
mod synth;
use running::running_ledger;

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A refresh (the update alone, `posture::refresh`), then the listing
/// (`posture::posture`: an idle refresh plus every container's entry):
/// (containers listed, decisions computed, update time, listing time).
fn refresh(store: &mut Store, p: &Policy, full: bool) -> (usize, usize, Duration, Duration) {
    let t0 = Instant::now();
    let r = posture::refresh(store, p, full, chrono::Utc::now()).expect("refresh");
    let update = t0.elapsed();
    let t0 = Instant::now();
    let (rows, _) = posture::posture(
        store,
        p,
        &PostureQuery {
            env: None,
            decision: None,
            full: false,
            stop_list: false,
        },
        chrono::Utc::now(),
    )
    .expect("posture");
    (rows.len(), r.computed, update, t0.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let w: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let feed = std::env::var_os("BUILDLEDGER_BENCH_FEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data/osv/go"));
    let settings = Settings::new(|k| std::env::var(k).ok());
    let dir = std::env::temp_dir().join(format!("posture-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut store = Store::open_sqlite(&dir.join("ledger.db")).expect("open sqlite");
    println!("posture-bench: {n} images, {w} running containers, SQLite");

    let (pool, mut rng, running) = running_ledger(&mut store, n, w, &feed, &settings, "bench");

    let t0 = Instant::now();
    let p = Policy::load(&[], false, &settings).expect("the built-in policy");
    println!(
        "  policy compile:       {:.2} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );

    // One decision at a time, as the admission path asks.
    let (mut all, mut inputs, mut evals) = (Vec::new(), Vec::new(), Vec::new());
    let mut findings = 0usize;
    for k in 0..2000 {
        let (d, ns) = &running[rng.below(running.len())];
        let dep = Deployment {
            cluster: Some("bench".into()),
            namespace: Some(ns.clone()),
            workload: Some("StatefulSet/x".into()),
            environment: Some(if k % 2 == 0 { "production" } else { "staging" }.into()),
        };
        let t0 = Instant::now();
        let input = policy::input(&mut store, d, dep.clone()).expect("input");
        let t1 = Instant::now();
        let _ = p.evaluate(&input).expect("evaluate");
        let t2 = Instant::now();
        findings += input.findings.len();
        inputs.push(t1 - t0);
        evals.push(t2 - t1);
        // The whole decision on another image: one read just before must
        // not have left its components' findings in the store's memory.
        let (d, _) = &running[rng.below(running.len())];
        let t0 = Instant::now();
        let _ = policy::eval(&mut store, &p, d, dep).expect("eval");
        all.push(t0.elapsed());
    }
    // The store keeps each component's findings between reads: the first
    // decisions fill that, the later ones mostly find their components kept.
    let mut filling: Vec<Duration> = all[..200].to_vec();
    filling.sort();
    for v in [&mut all, &mut inputs, &mut evals] {
        v.sort();
    }
    println!(
        "  one decision:         p50 {:.0} µs, p99 {:.0} µs (2,000 random image × environment; {:.1} findings per input on average)",
        quantile(&all, 0.5),
        quantile(&all, 0.99),
        findings as f64 / 2000.0
    );
    println!(
        "    first 200 (a fresh store, its kept findings filling): p50 {:.0} µs, p99 {:.0} µs",
        quantile(&filling, 0.5),
        quantile(&filling, 0.99)
    );
    println!(
        "    input lookups:      p50 {:.0} µs, p99 {:.0} µs",
        quantile(&inputs, 0.5),
        quantile(&inputs, 0.99)
    );
    println!(
        "    Rego evaluation:    p50 {:.0} µs, p99 {:.0} µs",
        quantile(&evals, 0.5),
        quantile(&evals, 0.99)
    );

    // The lookups apart, on 500 of the same pairs.
    let mut parts: [Vec<Duration>; 5] = Default::default();
    for _ in 0..500 {
        let (d, _) = &running[rng.below(running.len())];
        let t0 = Instant::now();
        let _ = store.show(d).expect("show");
        let t1 = Instant::now();
        let mut f = store.vulns(d.as_str()).expect("vulns");
        let t2 = Instant::now();
        buildledger_service::waivers::annotate(&mut store, &mut f, chrono::Utc::now())
            .expect("waivers");
        let t3 = Instant::now();
        buildledger_service::vex::annotate(&mut store, &mut f).expect("vex");
        let t4 = Instant::now();
        let _ = store.lineage(d.as_str()).expect("lineage");
        let t5 = Instant::now();
        for (v, x) in parts
            .iter_mut()
            .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4])
        {
            v.push(x);
        }
    }
    for v in &mut parts {
        v.sort();
    }
    println!(
        "    lookups apart (p50): records {:.0} µs, findings {:.0} µs, waivers {:.0} µs, VEX {:.0} µs, lineage {:.0} µs",
        quantile(&parts[0], 0.5),
        quantile(&parts[1], 0.5),
        quantile(&parts[2], 0.5),
        quantile(&parts[3], 0.5),
        quantile(&parts[4], 0.5)
    );

    let (rows, computed, d, list) = refresh(&mut store, &p, true);
    println!(
        "  full refresh:         {computed} decisions for {rows} containers in {:.2} s (then the listing of all {rows}: {:.1} ms)",
        d.as_secs_f64(),
        list.as_secs_f64() * 1e3
    );
    let (_, computed, d, list) = refresh(&mut store, &p, false);
    println!(
        "  incremental, idle:    {computed} decisions in {:.1} ms (listing {:.1} ms)",
        d.as_secs_f64() * 1e3,
        list.as_secs_f64() * 1e3
    );

    // A new advisory on one module: every image linking it changes.
    let module = &pool.go_modules[7][0];
    let path = module
        .package()
        .strip_prefix("pkg:golang/")
        .expect("a Go module")
        .to_string();
    let adv = dir.join("BENCH-0001.json");
    std::fs::write(
        &adv,
        serde_json::json!({
            "schema_version": "1.6.0", "id": "BENCH-0001", "modified": "2026-12-01T00:00:00Z",
            "published": "2026-12-01T00:00:00Z", "summary": "bench advisory",
            "affected": [{"package": {"ecosystem": "Go", "name": path},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "9.0.0"}]}]}]
        })
        .to_string(),
    )
    .expect("write advisory");
    let t0 = Instant::now();
    buildledger_service::feeds::import(
        &mut store,
        &[adv],
        &buildledger_service::feeds::ImportOptions {
            format: "auto".into(),
            strict: false,
        },
        &settings,
        &mut |_, _| {},
    )
    .expect("import the bench advisory");
    let import = t0.elapsed();
    let (_, computed, d, list) = refresh(&mut store, &p, false);
    println!(
        "  incremental, advisory: {computed} decisions in {:.1} ms (advisory on {path}: import {:.1} ms; listing {:.1} ms)",
        d.as_secs_f64() * 1e3,
        import.as_secs_f64() * 1e3,
        list.as_secs_f64() * 1e3
    );

    // A waiver on one running image.
    let (d0, _) = &running[0];
    let t0 = Instant::now();
    buildledger_service::waivers::add(
        &mut store,
        &buildledger_service::waivers::WaiverRequest {
            advisory: "BENCH-0001".into(),
            digest: Some(d0.to_string()),
            package: None,
            repo: None,
            env: None,
            owner: "bench".into(),
            reason: "bench".into(),
            expires: (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339(),
        },
        chrono::Utc::now(),
    )
    .expect("waiver");
    let add = t0.elapsed();
    let (_, computed, d, list) = refresh(&mut store, &p, false);
    println!(
        "  incremental, waiver:  {computed} decisions in {:.1} ms (add {:.1} ms; listing {:.1} ms)",
        d.as_secs_f64() * 1e3,
        add.as_secs_f64() * 1e3,
        list.as_secs_f64() * 1e3
    );
    println!("  peak RSS:             {:.0} MiB", vm_hwm_mib());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
