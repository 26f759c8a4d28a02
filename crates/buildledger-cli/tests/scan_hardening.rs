//! `scan` on hostile and broken images, end to end through the binary:
//! every bad-image case exits 2 naming the file or blob, nothing is stored
//! by a failed `scan --record`, limits end the scan with a message naming
//! the limit and how to raise it, and memory stays bounded (the child's
//! peak RSS from `/usr/bin/time -v`). Images are real OCI layouts and
//! docker-archives built here with umoci and skopeo from this machine's own
//! `/etc/os-release` and `/var/lib/dpkg/status`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{Ledger, each, have, in_ci};

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn work() -> &'static Path {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| {
        let w = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("scan-hardening-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&w);
        std::fs::create_dir_all(&w).unwrap();
        w
    })
}

/// An OCI layout `DIR` with tag `t`: one layer per (host source, image path).
fn layout(name: &str, layers: &[(&Path, &str)]) -> PathBuf {
    let dir = work().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let img = format!("{}:t", dir.display());
    run(Command::new("umoci").args(["init", "--layout"]).arg(&dir));
    run(Command::new("umoci").args(["new", "--image", &img]));
    for (src, dst) in layers {
        run(Command::new("umoci")
            .args(["insert", "--image", &img])
            .arg(src)
            .arg(dst));
    }
    dir
}

/// The good image: this machine's os-release and dpkg status, two layers.
fn good() -> Option<&'static PathBuf> {
    static G: OnceLock<Option<PathBuf>> = OnceLock::new();
    G.get_or_init(|| {
        if !have("umoci") {
            return None;
        }
        Some(layout(
            "good",
            &[
                (Path::new("/etc/os-release"), "/etc/os-release"),
                (Path::new("/var/lib/dpkg/status"), "/var/lib/dpkg/status"),
            ],
        ))
    })
    .as_ref()
}

fn copy(src: &Path, name: &str) -> PathBuf {
    let dst = work().join(name);
    let _ = std::fs::remove_dir_all(&dst);
    run(Command::new("cp").arg("-a").arg(src).arg(&dst));
    dst
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn manifest(dir: &Path) -> serde_json::Value {
    let idx = json(&dir.join("index.json"));
    let d = idx["manifests"][0]["digest"].as_str().unwrap();
    json(&dir.join("blobs/sha256").join(&d[7..]))
}

/// (digest, path) of layer `i`.
fn layer(dir: &Path, i: usize) -> (String, PathBuf) {
    let d = manifest(dir)["layers"][i]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let p = dir.join("blobs/sha256").join(&d[7..]);
    (d, p)
}

/// Records in the ledger; 0 when the scan never created it.
fn records(l: &Ledger) -> u64 {
    let o = l.run(&["--json", "info"]);
    if !o.status.success() && stderr(&o).contains("no ledger") {
        return 0;
    }
    assert!(o.status.success(), "info: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["stats"]["records"].as_u64().unwrap()
}

/// Creates the ledger with one unrelated record, so that "nothing stored"
/// is checked against a live database.
fn seed(l: &Ledger) {
    l.ok(&[
        "record",
        "--digest",
        "sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e",
        "--component",
        "pkg:golang/golang.org/x/net@v0.17.0",
    ]);
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `scan SPEC --record` and checks: exit 2, stderr names `needle`,
/// and the ledger is still empty.
fn refused(l: &Ledger, spec: &str, extra: &[&str], needle: &str) -> String {
    let before = records(l);
    let mut args = vec!["scan", spec, "--record"];
    args.extend_from_slice(extra);
    let o = l.run(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "[{}] {args:?}: {err}", l.engine());
    assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
    assert_eq!(records(l), before, "{args:?} stored a record: {err}");
    err
}

#[test]
fn a_good_image_is_recorded() {
    let Some(g) = good() else { return };
    let l = Ledger::sqlite();
    let o = l.run(&["scan", &format!("oci:{}", g.display()), "--record"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(records(&l), 1);
}

/// Issue 9 (2): altered layer blob, missing blob, diff-ID mismatch.
#[test]
fn images_failing_verification_are_never_recorded() {
    let Some(g) = good() else { return };
    // One byte appended to a layer blob.
    let appended = copy(g, "appended");
    let (d1, p1) = layer(&appended, 1);
    let mut b = std::fs::read(&p1).unwrap();
    b.push(b'\n');
    std::fs::write(&p1, b).unwrap();
    // A layer blob missing.
    let missing = copy(g, "missing");
    let (d0, p0) = layer(&missing, 0);
    std::fs::remove_file(p0).unwrap();
    // The config's diff ID of the top layer changed (config and manifest
    // rewritten so their own digests still hold).
    let diffid = copy(g, "diffid");
    let mut m = manifest(&diffid);
    let cd = m["config"]["digest"].as_str().unwrap().to_string();
    let mut cfg = json(&diffid.join("blobs/sha256").join(&cd[7..]));
    let wrong = format!("sha256:{}", "0f".repeat(32));
    cfg["rootfs"]["diff_ids"][1] = wrong.clone().into();
    let put = |b: &[u8]| {
        let h = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b));
        std::fs::write(diffid.join("blobs/sha256").join(&h), b).unwrap();
        h
    };
    let cb = serde_json::to_vec(&cfg).unwrap();
    m["config"]["digest"] = format!("sha256:{}", put(&cb)).into();
    m["config"]["size"] = cb.len().into();
    let mb = serde_json::to_vec(&m).unwrap();
    let mut idx = json(&diffid.join("index.json"));
    idx["manifests"][0]["digest"] = format!("sha256:{}", put(&mb)).into();
    idx["manifests"][0]["size"] = mb.len().into();
    std::fs::write(diffid.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();

    each(|l| {
        seed(l);
        assert_eq!(records(l), 1);
        refused(l, &format!("oci:{}", appended.display()), &[], &d1);
        refused(l, &format!("oci:{}", missing.display()), &[], &d0);
        refused(l, &format!("oci:{}", diffid.display()), &[], &wrong);
        // Without --record the verdict is the same: not a warning and exit 0.
        let o = l.run(&["scan", &format!("oci:{}", appended.display())]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    });
}

/// Issue 9 (13): the same bad input exits 2 from every transport.
#[test]
fn bad_image_input_exits_2_for_every_transport() {
    let l = Ledger::sqlite();
    let e = refused(&l, "file:/dev/zero", &[], "/dev/zero");
    assert!(e.contains("not a regular file"), "{e}");
    refused(&l, "foo:bar", &[], "foo:bar");
    refused(
        &l,
        "dir:/nonexistent/buildledger",
        &[],
        "/nonexistent/buildledger",
    );
    refused(
        &l,
        "file:/nonexistent/buildledger",
        &[],
        "/nonexistent/buildledger",
    );
    refused(
        &l,
        "oci:/nonexistent/buildledger",
        &[],
        "/nonexistent/buildledger",
    );
    refused(
        &l,
        "docker-archive:/nonexistent/buildledger.tar",
        &[],
        "/nonexistent/buildledger.tar",
    );
    // A FIFO is refused without waiting for a writer.
    let fifo = work().join("image.tar");
    let _ = std::fs::remove_file(&fifo);
    run(Command::new("mkfifo").arg(&fifo));
    refused(
        &l,
        &format!("docker-archive:{}", fifo.display()),
        &[],
        "not a regular file",
    );
    // An unreachable registry is a runtime failure: exit 1.
    let o = l.run(&[
        "scan",
        "registry:127.0.0.1:1/buildledger/none:latest",
        "--insecure",
        "--record",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(records(&l), 0);

    let Some(g) = good() else { return };
    if !have("skopeo") || !have("tar") {
        return;
    }
    // A docker-archive whose layer file is gone.
    let ar = work().join("legacy.tar");
    let _ = std::fs::remove_file(&ar);
    run(Command::new("skopeo")
        .args(["copy", "-q", &format!("oci:{}:t", g.display())])
        .arg(format!("docker-archive:{}:x/y:z", ar.display())));
    let unpacked = work().join("legacy");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&unpacked)
        .arg("-xf")
        .arg(&ar));
    let mj = json(&unpacked.join("manifest.json"));
    let victim = mj[0]["Layers"][0].as_str().unwrap().to_string();
    std::fs::remove_file(unpacked.join(&victim)).unwrap();
    std::fs::remove_file(&ar).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&unpacked)
        .arg("-cf")
        .arg(&ar)
        .arg("."));
    refused(
        &l,
        &format!("docker-archive:{}", ar.display()),
        &[],
        &victim,
    );
    // The Docker >= 25 shape (an OCI layout in a tar) without a blob.
    let missing = copy(g, "missing25");
    let (d, p) = layer(&missing, 1);
    std::fs::remove_file(p).unwrap();
    let ar25 = work().join("d25.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&missing)
        .arg("-cf")
        .arg(&ar25)
        .args(["oci-layout", "index.json", "blobs"]));
    refused(
        &l,
        &format!("docker-archive:{}", ar25.display()),
        &[],
        &d[7..],
    );
}

/// A scan that skipped something (here: the dpkg database, over
/// --max-file-bytes) is shown but never recorded.
#[test]
fn an_incomplete_scan_is_not_recorded() {
    let Some(g) = good() else { return };
    let l = Ledger::sqlite();
    seed(&l);
    let spec = format!("oci:{}", g.display());
    let o = l.run(&["scan", &spec, "--max-file-bytes", "1K"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("max_file_bytes"), "{}", stderr(&o));
    let e = refused(&l, &spec, &["--max-file-bytes", "1K"], "--max-file-bytes");
    assert!(e.contains("var/lib/dpkg/status"), "{e}");
}

/// Peak RSS (kB) and output of `buildledger ARGS` run under `/usr/bin/time -v`.
fn rss_kb(l: &Ledger, args: &[&str], env: &[(&str, &str)]) -> (u64, Output) {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v")
        .arg(env!("CARGO_BIN_EXE_buildledger"))
        .args(args)
        .env("BUILDLEDGER_DB", &l.db);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let err = stderr(&o);
    let kb = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS in {err}"));
    (kb, o)
}

/// Issue 9 (6): six 200 MiB `status.d` files (zeros: the layer is tiny).
#[test]
fn buffered_bytes_are_capped() {
    if !have("umoci") || !Path::new("/usr/bin/time").is_file() {
        assert!(!in_ci(), "CI=true but /usr/bin/time is missing");
        return;
    }
    let src = work().join("statusd-src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..6 {
        let f = std::fs::File::create(src.join(format!("pkg{i}"))).unwrap();
        f.set_len(200 << 20).unwrap();
    }
    let dir = layout("statusd", &[(&src, "/var/lib/dpkg/status.d")]);
    let (_, blob) = layer(&dir, 0);
    let size = std::fs::metadata(&blob).unwrap().len();
    assert!(size < 8 << 20, "layer of {size} bytes");
    let l = Ledger::sqlite();
    let spec = format!("oci:{}", dir.display());
    let (kb, o) = rss_kb(
        &l,
        &["scan", &spec, "--record"],
        &[("BUILDLEDGER_SCAN_MAX_BUFFERED_BYTES", "64M")],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("max_buffered_bytes")
            && err.contains("--max-buffered-bytes")
            && err.contains("BUILDLEDGER_SCAN_MAX_BUFFERED_BYTES"),
        "{err}"
    );
    assert!(err.contains("var/lib/dpkg/status.d/pkg"), "{err}");
    // Not one 200 MiB file was read into memory.
    assert!(kb < 150 * 1024, "peak RSS {kb} kB");
    eprintln!("status.d x6 with max_buffered_bytes=64M: peak RSS {kb} kB");
    assert_eq!(records(&l), 0);
    // With the default limits the files are read one at a time: the peak
    // stays near one file, not the 1.2 GB of all six.
    let (kb, o) = rss_kb(&l, &["scan", &spec], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    eprintln!("status.d x6 with default limits: peak RSS {kb} kB");
    assert!(kb < 450 * 1024, "peak RSS {kb} kB");
}

/// Issue 9 (6): a layout of a few MB inflating to 1 GiB fails once it has
/// decompressed max_image_bytes, with exit 2; flag and variable both work.
#[test]
fn decompression_bomb_fails_with_exit_2() {
    if !have("umoci") {
        return;
    }
    let src = work().join("bomb.bin");
    std::fs::File::create(&src)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let dir = layout("bomb", &[(&src, "/bomb.bin")]);
    let total: u64 = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total < 8 << 20, "layout of {total} bytes");
    let l = Ledger::sqlite();
    let spec = format!("oci:{}", dir.display());
    let e = refused(
        &l,
        &spec,
        &["--max-image-bytes", "100M", "--max-ratio", "1000000"],
        "max_image_bytes",
    );
    assert!(
        e.contains("--max-image-bytes") && e.contains("BUILDLEDGER_SCAN_MAX_IMAGE_BYTES"),
        "{e}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .args(["scan", &spec])
        .env("BUILDLEDGER_DB", &l.db)
        .env("BUILDLEDGER_SCAN_MAX_IMAGE_BYTES", "100M")
        .env("BUILDLEDGER_SCAN_MAX_RATIO", "1000000")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("max_image_bytes"), "{}", stderr(&o));
    // 1 GiB is within the defaults (16 GiB, ratio 1024): no false alarm.
    let o = l.run(&["scan", &spec]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The ratio limit alone stops it too.
    let e = refused(&l, &spec, &["--max-ratio", "10"], "max_ratio");
    assert!(e.contains("--max-ratio"), "{e}");
    // A bad limit value is bad input too.
    let o = l.run(&["scan", &spec, "--max-image-bytes", "lots"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn time_limit_is_exit_2_naming_the_limit() {
    let Some(g) = good() else { return };
    let l = Ledger::sqlite();
    let e = refused(
        &l,
        &format!("oci:{}", g.display()),
        &["--max-time", "0"],
        "max_time",
    );
    assert!(e.contains("--max-time"), "{e}");
}

/// `sbom import` reads through the bounded reader: devices and FIFOs are
/// refused at once, oversized files at the limit.
#[test]
fn sbom_import_is_bounded() {
    let l = Ledger::sqlite();
    let o = l.run(&["sbom", "import", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/zero"), "{}", stderr(&o));
    let big = work().join("big.json");
    std::fs::write(&big, vec![b' '; 4096]).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .args(["sbom", "import"])
        .arg(&big)
        .env("BUILDLEDGER_DB", &l.db)
        .env("BUILDLEDGER_MAX_SBOM_BYTES", "1K")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("BUILDLEDGER_MAX_SBOM_BYTES"),
        "{}",
        stderr(&o)
    );
    assert_eq!(records(&l), 0);
}
