//! console-bench: the web console's pages timed in a real browser on a big
//! ledger. Prints figures; asserts none.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin console-bench -- [N] [W]`
//! (N images, default 100000; W running containers, default 10000). Needs
//! the release `buildledger` binary (`cargo build --release -p
//! buildledger-cli` first; `$BUILDLEDGER_BIN` overrides), `openssl`,
//! `node`, Debian's `chromium` and the npm module `playwright-core` (in
//! `.ci/browser/node_modules`, as `.ci/run` installs it, or
//! `$BUILDLEDGER_BROWSER_MODULES`).
//!
//! It builds posture-bench's ledger (N synthetic builds in SQLite, the real
//! Go advisory database matched, W containers in 20 namespaces, half
//! production, half staging) — or reuses the one at `$BUILDLEDGER_BENCH_DB`
//! when that file exists (and keeps a new one there) — adds a waiver, fires
//! every alert the posture calls for (a server with an alert sink runs until
//! their count holds still; skipped when alerts fire already), starts
//! `buildledger serve` over TLS and signs a headless chromium in with a read
//! token. Then each page is loaded `$BUILDLEDGER_BENCH_LOADS` (default 10)
//! times after one unmeasured load, and the browser's navigation timing is
//! read: **interactive** is `domInteractive` (from the start of the
//! navigation to the document parsed; the console runs no script, so the
//! page is usable then), **load** is `loadEventEnd`, **server** is
//! `responseStart - requestStart` (the server's time to first byte). Pages
//! are loaded one after another (one user), over a kept-alive connection.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buildledger_service::Settings;
use buildledger_store::Store;

#[path = "synth.rs"]
mod synth;

#[path = "running.rs"]
mod running;

#[path = "harness.rs"]
#[allow(dead_code)]
mod harness;
use harness::{TempDir, buildledger_bin, self_signed};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The server; stopped (SIGTERM, then SIGKILL) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("console-bench: {msg}");
    std::process::exit(2);
}

/// Fire what the posture flags, as the server's alert loop does, unless
/// the ledger has firing alerts already: a server whose alerts go to an
/// Alertmanager that is not there (port 9 refuses) runs until the count of
/// firing alerts holds still, and is stopped before the pages are timed
/// (its re-send rounds would share the machine with them). Returns how many
/// fire.
fn fire_alerts(bin: &Path, db: &str, dir: &Path, cert: &Path, key: &Path) -> usize {
    let count = || {
        // Read-only: the server writes meanwhile.
        let mut s = Store::open_read(db).expect("open sqlite");
        s.alerts_head("firing", 0, usize::MAX)
            .expect("count firing alerts")
            .0 as usize
    };
    let n = count();
    if n > 0 {
        return n;
    }
    let config = dir.join("alerts.toml");
    std::fs::write(
        &config,
        "[alerts]\ninterval_secs = 5\n[[alerts.sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurls = [\"http://127.0.0.1:9\"]\n",
    )
    .expect("alert config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let t0 = Instant::now();
    let server = Server(
        Command::new(bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(&config)
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .env("BUILDLEDGER_DB", db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("alerts.log")).expect("server log"))
            .spawn()
            .expect("start buildledger serve"),
    );
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_secs(10));
        let n = count();
        if n > 0 && n == last {
            break;
        }
        last = n;
        if t0.elapsed() > Duration::from_secs(1200) {
            fail("the alerts did not settle within 20 min");
        }
    }
    drop(server);
    println!(
        "  alert loop:           {last} alerts fired in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    last
}

fn cli(bin: &Path, db: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("BUILDLEDGER_DB", db)
        .output()
        .unwrap_or_else(|e| fail(&format!("run {}: {e}", bin.display())));
    if !out.status.success() {
        fail(&format!(
            "buildledger {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let w: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    if n == 0 || w == 0 {
        fail("usage: console-bench [N images] [W containers]");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = buildledger_bin();
    let modules = std::env::var_os("BUILDLEDGER_BROWSER_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".ci/browser/node_modules"));
    if !modules.join("playwright-core").is_dir() {
        fail(&format!(
            "playwright-core not in {} (npm install --prefix .ci/browser playwright-core)",
            modules.display()
        ));
    }
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or_else(|| fail("chromium not found (apt-get install -y chromium)"));
    let loads: usize = std::env::var("BUILDLEDGER_BENCH_LOADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10);
    let feed = std::env::var_os("BUILDLEDGER_BENCH_FEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data/osv/go"));

    let dir = std::env::temp_dir().join(format!("console-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = TempDir(dir.clone());
    let db_path = std::env::var_os("BUILDLEDGER_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("ledger.db"));
    let db = db_path.display().to_string();
    println!(
        "console-bench: {n} images, {w} running containers, SQLite at {db}; {loads} loads a page"
    );
    if db_path.is_file() {
        println!("  reusing the ledger at {db}");
    } else {
        let settings = Settings::new(|k| std::env::var(k).ok());
        let mut store = Store::open_sqlite(&db_path).expect("open sqlite");
        running::running_ledger(&mut store, n, w, &feed, &settings, "bench");
        drop(store);
        let ends = (chrono::Utc::now() + chrono::TimeDelta::days(5))
            .format("%Y-%m-%d")
            .to_string();
        cli(
            &bin,
            &db,
            &[
                "waiver",
                "add",
                "--advisory",
                "GO-2022-0969",
                "--package",
                "pkg:golang/stdlib",
                "--env",
                "staging",
                "--owner",
                "platform",
                "--reason",
                "bench",
                "--expires",
                &ends,
            ],
        );
    }

    // What the pages show: an image that runs, the advisory with most
    // findings, a digest in the middle of the table.
    let inv: serde_json::Value =
        serde_json::from_str(&cli(&bin, &db, &["--json", "inventory", "list"]))
            .unwrap_or_else(|e| fail(&format!("inventory list: {e}")));
    let image = inv
        .as_array()
        .and_then(|a| a.iter().find_map(|r| r["digest"].as_str()))
        .unwrap_or_else(|| fail("no running image"))
        .to_string();
    let advisory = {
        let mut s = Store::open_sqlite(&db_path).expect("open sqlite");
        let counts = s.finding_counts_by_advisory(0).expect("finding counts");
        counts
            .into_iter()
            .max_by_key(|c| c.open)
            .map(|c| c.advisory)
            .unwrap_or_else(|| fail("no finding"))
    };
    let mid = synth::digest_of(n / 2, 0x1a6e).to_string();
    let hex = image.trim_start_matches("sha256:");

    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    self_signed(&cert, &key);
    let token = cli(
        &bin,
        &db,
        &[
            "token",
            "create",
            "--scope",
            "read",
            "--name",
            "console-bench",
        ],
    );
    let firing = fire_alerts(&bin, &db, &dir, &cert, &key);
    println!("  alerts firing:        {firing}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let log = dir.join("server.log");
    let _server = Server(
        Command::new(&bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env("BUILDLEDGER_DB", &db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .expect("start buildledger serve"),
    );
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t0.elapsed() > Duration::from_secs(60) {
            fail("the server did not listen within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let pages: Vec<(String, String)> = [
        ("overview", "/".to_string()),
        ("workloads", "/workloads".into()),
        (
            "workloads staging deny",
            "/workloads?env=staging&decision=deny".into(),
        ),
        ("image", format!("/images/{image}")),
        (
            "advisory (most findings)",
            format!("/advisories/{advisory}"),
        ),
        ("table, first page", "/table".into()),
        ("table, mid page", format!("/table?after={mid}")),
        (
            "table toolchain go@<1.14",
            "/table?toolchain=go%40%3C1.14".into(),
        ),
        (
            "table package x/net",
            "/table?package=pkg%3Agolang%2Fgolang.org%2Fx%2Fnet".into(),
        ),
        ("table env staging", "/table?env=staging".into()),
        ("search digest prefix", format!("/search?q={}", &hex[..10])),
        ("waivers", "/waivers".into()),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b))
    .collect();
    let o = Command::new("node")
        .arg(root.join("crates/buildledger-bench/console-bench.cjs"))
        .env("BL_NODE_MODULES", &modules)
        .env("BL_BASE", format!("https://localhost:{port}"))
        .env("BL_TOKEN", &token)
        .env("BL_CHROMIUM", chromium)
        .env("BL_LOADS", loads.to_string())
        .env("BL_PAGES", serde_json::to_string(&pages).expect("json"))
        .output()
        .unwrap_or_else(|e| fail(&format!("node: {e}")));
    if !o.status.success() {
        fail(&format!(
            "the browser run failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let res: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| fail(&format!("browser output: {e}")));
    println!(
        "  {:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "page", "int p50", "int max", "load p50", "srv p50", "srv max", "bytes"
    );
    for (name, _) in &pages {
        let r = &res[name];
        let get = |k: &str| -> Vec<f64> {
            let mut v: Vec<f64> = r[k]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default();
            v.sort_by(|a, b| a.total_cmp(b));
            v
        };
        let p50 = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
        let max = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
        let (int, load, srv) = (get("interactive"), get("load"), get("server"));
        println!(
            "  {:<28} {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>9}",
            name,
            p50(&int),
            max(&int),
            p50(&load),
            p50(&srv),
            max(&srv),
            r["bytes"].as_u64().unwrap_or(0)
        );
        if let Some(status) = r["status"].as_u64().filter(|s| *s != 200) {
            println!("    (answered {status})");
        }
    }
}
