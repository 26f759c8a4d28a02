//! Feed and rules-engine benchmark.
//!
//! 1. Import the whole Go + RustSec OSV sets (../shared/data/osv) into an
//!    empty SQLite ledger: advisories/s.
//! 2. For N in {10k, 100k} images (synthetic builds whose components are
//!    drawn from the package names and versions the advisories name), import
//!    all advisories but 100, then time the import of the last 100 (the
//!    incremental update: affected list current when it returns).
//! 3. Time a full re-match at the largest N.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin feed-bench -- [DATA_DIR] [N,N,…]`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use buildledger_feed::{Advisory, Event};
use buildledger_model::*;
use buildledger_store::Store;

/// The allocator the `buildledger` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn load(dir: &std::path::Path) -> Vec<Advisory> {
    let rep = buildledger_feed::load_osv_path(dir, &mut |_| {}).expect("load");
    if !rep.errors.is_empty() {
        eprintln!("{} bad advisories in {}", rep.errors.len(), dir.display());
    }
    rep.advisories
}

/// (purl type, name) → versions mentioned by advisories, plus a "fixed" one.
fn pool(advs: &[Advisory]) -> Vec<(String, String, Vec<String>)> {
    let mut m: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for a in advs {
        for af in &a.affected {
            let ty = match af.ecosystem.as_str() {
                "Go" => "golang",
                "crates.io" => "cargo",
                _ => continue,
            };
            let e = m.entry((ty.to_string(), af.name.clone())).or_default();
            for r in &af.ranges {
                for ev in &r.events {
                    let v = match ev {
                        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
                        _ => continue,
                    };
                    if v != "0" && !v.contains('-') {
                        let v = if ty == "golang" && af.name != "stdlib" && af.name != "toolchain" {
                            format!("v{v}")
                        } else {
                            v.clone()
                        };
                        e.push(v);
                    }
                }
            }
        }
    }
    m.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|((t, n), mut v)| {
            v.sort();
            v.dedup();
            (t, n, v)
        })
        .collect()
}

fn digest_of(n: u64) -> Digest {
    let mut s = String::new();
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xfeed;
    for _ in 0..4 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!("{x:016x}"));
    }
    Digest::parse(&format!("sha256:{s}")).expect("digest")
}

fn build(pool: &[(String, String, Vec<String>)], i: u64, rng: &mut Rng) -> BuildRecord {
    let mut r = BuildRecord::new(vec![Subject {
        digest: digest_of(i),
        media_type: None,
        platform: None,
        references: vec![],
        manifests: vec![],
    }]);
    let mut comps = BTreeMap::new();
    while comps.len() < 30 {
        let (ty, name, versions) = &pool[rng.below(pool.len())];
        if name == "toolchain" {
            continue;
        }
        let v = &versions[rng.below(versions.len())];
        if let Ok(p) = Purl::from_parts(ty, None, name, Some(v)) {
            comps.insert(
                p.to_string(),
                Component {
                    purl: p,
                    hashes: BTreeMap::new(),
                    scope: Scope::Runtime,
                    location: None,
                },
            );
        }
    }
    r.components = comps.into_values().collect();
    r
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "../shared/data".into()),
    );
    let sizes: Vec<u64> = args
        .get(2)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let t = Instant::now();
    let mut advs = load(&data.join("osv/go"));
    advs.extend(load(&data.join("osv/crates.io")));
    let parse = t.elapsed().as_secs_f64();
    let dir = std::env::temp_dir().join(format!("buildledger-feed-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut store = Store::open_sqlite(&dir.join("empty.db")).expect("open");
        let t = Instant::now();
        let rep = buildledger_rules::import(&mut store, &advs, &mut |_| {}).expect("import");
        let store_s = t.elapsed().as_secs_f64();
        println!(
            "import Go + RustSec: {} advisories, parse {parse:.2}s + store/evaluate {store_s:.2}s = {:.2}s ({:.0} advisories/s)",
            rep.advisories,
            parse + store_s,
            rep.advisories as f64 / (parse + store_s)
        );
    }
    let pool = pool(&advs);
    println!(
        "component pool: {} packages named by the advisories",
        pool.len()
    );
    let (head, tail) = advs.split_at(advs.len() - 100);
    for &n in &sizes {
        let path = dir.join(format!("ledger-{n}.db"));
        let mut store = Store::open_sqlite(&path).expect("open");
        let mut rng = Rng(7);
        let t = Instant::now();
        let mut i = 0;
        while i < n {
            let k = 1000.min(n - i);
            let recs: Vec<BuildRecord> = (i..i + k).map(|j| build(&pool, j, &mut rng)).collect();
            store.record_many(&recs).expect("record");
            i += k;
        }
        let setup = t.elapsed().as_secs_f64();
        buildledger_rules::import(&mut store, head, &mut |_| {}).expect("import head");
        let t = Instant::now();
        let rep = buildledger_rules::import(&mut store, tail, &mut |_| {}).expect("import tail");
        let inc = t.elapsed().as_secs_f64();
        let affected: usize = tail
            .iter()
            .map(|a| {
                store
                    .affected(&a.id)
                    .ok()
                    .flatten()
                    .map(|v| v.len())
                    .unwrap_or(0)
            })
            .sum();
        let (_, findings) = store.advisory_stats().expect("stats");
        println!(
            "{n} images (setup {setup:.1}s): batch of 100 new advisories → {} findings, {affected} (image, advisory, component) rows affected, in {:.3}s; {findings} findings in all",
            rep.findings_added, inc
        );
        if n == *sizes.iter().max().unwrap_or(&n) {
            let t = Instant::now();
            let re = buildledger_rules::rematch_all(&mut store, &mut |_| {}).expect("rematch");
            println!(
                "full re-match at {n} images: {} advisories in {:.2}s (+{} −{}: incremental state confirmed)",
                re.advisories,
                t.elapsed().as_secs_f64(),
                re.findings_added,
                re.findings_removed
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
