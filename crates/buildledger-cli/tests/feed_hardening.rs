//! `feed import` and the feed queries against hostile and partial feeds, with the real
//! `buildledger` binary on both engines: FIFOs and symlink loops in advisory directories,
//! duplicate ids, limits, format recognition, `--strict`, Alpine secdb files imported one
//! release at a time, and `changes --since` spans that overflow.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ledger, each, in_ci};
use serde_json::Value;

fn shared(rel: &str) -> Option<PathBuf> {
    common::shared_data(rel)
}

fn real_json(rel: &str) -> Option<Value> {
    let p = shared(rel)?;
    Some(serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
}

fn write_json(p: &Path, v: &Value) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// `mkfifo PATH`; false (skip) when the tool is missing locally, a failure under CI.
fn mkfifo(p: &Path) -> bool {
    match Command::new("mkfifo").arg(p).status() {
        Ok(s) if s.success() => true,
        Ok(s) => panic!("mkfifo {}: {s}", p.display()),
        Err(e) => {
            assert!(!in_ci(), "CI=true but mkfifo cannot run: {e}");
            eprintln!("SKIP: mkfifo: {e}");
            false
        }
    }
}

/// Runs `buildledger` with a watchdog: a run that has not ended after 60 s is killed and the
/// test fails (no timing is asserted otherwise). (exit code, stdout, stderr).
fn run_watched(l: &Ledger, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildledger"));
    cmd.current_dir(common::root())
        .env("BUILDLEDGER_DB", &l.db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("[{}] {args:?} still running after 60 s: killed", l.engine());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn import_json(l: &Ledger, args: &[&str]) -> Value {
    let mut a = vec!["feed", "import"];
    a.extend_from_slice(args);
    l.json(&a)
}

#[test]
fn fifo_in_advisory_directory_is_named_and_import_returns() {
    let Some(go) = real_json("osv/go/GO-2020-0001.json") else {
        return;
    };
    each(|l| {
        let dir = l.path("feed");
        write_json(&dir.join("GO-2020-0001.json"), &go);
        let fifo = dir.join("evil.json");
        if !mkfifo(&fifo) {
            return;
        }
        // A FIFO inside a directory: never opened, named, the good record imported.
        let fifo_yaml = dir.join("sub/main.yaml");
        std::fs::create_dir_all(fifo_yaml.parent().unwrap()).unwrap();
        assert!(mkfifo(&fifo_yaml));
        // Symlink loops: a link to an ancestor directory and a link to itself.
        std::os::unix::fs::symlink("..", dir.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("self.json", dir.join("self.json")).unwrap();
        let d = dir.display().to_string();
        let (code, out, err) = run_watched(l, &["--json", "feed", "import", &d], &[]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["report"]["new"], 1, "{v}");
        let rejected = v["rejected"].to_string();
        assert!(
            rejected.contains("evil.json") && rejected.contains("fifo"),
            "{v}"
        );
        assert!(rejected.contains("main.yaml"), "{v}");
        assert!(rejected.contains("self.json"), "{v}");
        assert!(v["skipped"].to_string().contains("sub/up"), "{v}");
        assert!(err.contains("evil.json"), "{err}");

        // A FIFO named directly: the whole input is unusable, exit 2, named.
        let f = fifo.display().to_string();
        let (code, _, err) = run_watched(l, &["feed", "import", &f], &[]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("evil.json") && err.contains("fifo"), "{err}");
        let (code, _, err) =
            run_watched(l, &["feed", "import", "--format", "alpine-secdb", &f], &[]);
        assert_eq!(code, 2, "{err}");
    });
}

/// The findings of every digest, as comparable JSON.
fn findings(l: &Ledger, digests: &[&str]) -> Vec<Value> {
    digests
        .iter()
        .map(|d| {
            let mut v = l.json(&["vulns", d]);
            for f in v.as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("found_at");
            }
            v
        })
        .collect()
}

const D_GIN: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D_REVEL: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn record_go_builds(l: &Ledger) {
    l.ok(&[
        "record",
        "--digest",
        D_GIN,
        "--component",
        "pkg:golang/github.com/gin-gonic/gin@v1.5.0",
    ]);
    l.ok(&[
        "record",
        "--digest",
        D_REVEL,
        "--component",
        "pkg:golang/github.com/revel/revel@v0.21.0",
    ]);
}

#[test]
fn duplicate_ids_are_reported_and_the_result_does_not_depend_on_order() {
    let (Some(gin), Some(revel), Some(other)) = (
        real_json("osv/go/GO-2020-0001.json"),
        real_json("osv/go/GO-2020-0003.json"),
        real_json("osv/go/GO-2020-0004.json"),
    ) else {
        return;
    };
    // Two real advisories altered to share an id and `modified`, with different content.
    let when = "2024-05-01T00:00:00Z";
    let mut a = gin.clone();
    a["modified"] = when.into();
    let mut b = revel.clone();
    b["id"] = "GO-2020-0001".into();
    b["modified"] = when.into();
    let runs: std::cell::RefCell<Vec<Vec<Value>>> = Default::default();
    each(|l| {
        let da = l.path("a");
        let db = l.path("b");
        write_json(&da.join("GO-2020-0001.json"), &a);
        write_json(&da.join("GO-2020-0004.json"), &other);
        write_json(&db.join("GO-2020-0001.json"), &b);
        let (pa, pb) = (da.display().to_string(), db.display().to_string());
        for order in [[&pa, &pb], [&pb, &pa]] {
            let fresh = if l.pg_schema.is_some() {
                Ledger::postgres().unwrap()
            } else {
                Ledger::sqlite()
            };
            record_go_builds(&fresh);
            let v = import_json(&fresh, &[order[0].as_str(), order[1].as_str()]);
            // The good record of the partly bad feed is imported; the conflict is reported
            // with both places, and neither version of GO-2020-0001 is stored.
            assert_eq!(v["report"]["new"], 1, "{v}");
            let rej = v["rejected"].as_array().unwrap();
            assert_eq!(rej.len(), 1, "{v}");
            assert_eq!(rej[0]["id"], "GO-2020-0001");
            let loc = rej[0]["location"].as_str().unwrap();
            assert!(loc.contains(&pa) && loc.contains(&pb), "{loc}");
            assert!(rej[0]["message"].as_str().unwrap().contains("differ"));
            let f = findings(&fresh, &[D_GIN, D_REVEL]);
            assert!(f.iter().all(|x| x.as_array().unwrap().is_empty()), "{f:?}");
            runs.borrow_mut().push(f);
        }
        // With different `modified`, the newer wins whatever the order.
        let mut newer = b.clone();
        newer["modified"] = "2024-06-01T00:00:00Z".into();
        write_json(&db.join("GO-2020-0001.json"), &newer);
        let mut both = Vec::new();
        for order in [[&pa, &pb], [&pb, &pa]] {
            let fresh = if l.pg_schema.is_some() {
                Ledger::postgres().unwrap()
            } else {
                Ledger::sqlite()
            };
            record_go_builds(&fresh);
            let v = import_json(&fresh, &[order[0].as_str(), order[1].as_str()]);
            assert_eq!(v["rejected"].as_array().unwrap().len(), 0, "{v}");
            let f = findings(&fresh, &[D_GIN, D_REVEL]);
            // The newer record names revel: that image is affected, gin's is not.
            assert!(f[0].as_array().unwrap().is_empty(), "{f:?}");
            assert_eq!(f[1][0]["advisory"], "GO-2020-0001", "{f:?}");
            both.push(f);
        }
        assert_eq!(both[0], both[1]);
    });
    let runs = runs.into_inner();
    for r in &runs[1..] {
        assert_eq!(&runs[0], r, "findings depend on argument order");
    }
}

#[test]
fn invalid_semver_is_rejected_and_unknown_ecosystems_are_reported() {
    let (Some(gin), Some(revel)) = (
        real_json("osv/go/GO-2020-0001.json"),
        real_json("osv/go/GO-2020-0003.json"),
    ) else {
        return;
    };
    each(|l| {
        let dir = l.path("feed");
        let mut bad = gin.clone();
        bad["affected"][0]["ranges"][0]["events"][1]["fixed"] = "v1.6".into();
        write_json(&dir.join("GO-2020-0001.json"), &bad);
        let mut odd = revel.clone();
        odd["affected"][0]["package"]["ecosystem"] = "Brand-New".into();
        odd["affected"][0]["ranges"][0]["type"] = "FANCY".into();
        write_json(&dir.join("GO-2020-0003.json"), &odd);
        let d = dir.display().to_string();
        let v = import_json(l, &[&d]);
        assert_eq!(v["report"]["new"], 1, "{v}");
        let rej = v["rejected"].to_string();
        assert!(
            rej.contains("GO-2020-0001") && rej.contains("SemVer"),
            "{v}"
        );
        let w = v["warnings"].to_string();
        assert!(w.contains("Brand-New") && w.contains("FANCY"), "{v}");
        // --strict: all or nothing, exit 2, and nothing stored.
        let fresh = l.pg_schema.is_some();
        let s = if fresh {
            Ledger::postgres().unwrap()
        } else {
            Ledger::sqlite()
        };
        let o = s.run(&["feed", "import", "--strict", &d]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("nothing imported"), "{err}");
        let o = s.run(&["affected", "GO-2020-0003"]);
        assert_eq!(o.status.code(), Some(1), "GO-2020-0003 must not be stored");
    });
}

#[test]
fn file_size_limit_is_configurable_and_reported() {
    let Some(go) = real_json("osv/go/GO-2020-0001.json") else {
        return;
    };
    each(|l| {
        let dir = l.path("feed");
        write_json(&dir.join("GO-2020-0001.json"), &go);
        let d = dir.display().to_string();
        let env = [("BUILDLEDGER_MAX_FEED_FILE_BYTES", "100")];
        let (code, out, err) = run_watched(l, &["--json", "feed", "import", &d], &env);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["report"]["advisories"], 0);
        assert!(v["rejected"].to_string().contains("100 bytes"), "{v}");
        let f = dir.join("GO-2020-0001.json").display().to_string();
        let (code, _, err) = run_watched(l, &["feed", "import", &f], &env);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("100-byte limit"), "{err}");
        let (code, _, err) = run_watched(
            l,
            &["feed", "import", &f],
            &[("BUILDLEDGER_MAX_FEED_FILE_BYTES", "lots")],
        );
        assert_eq!(code, 2);
        assert!(err.contains("BUILDLEDGER_MAX_FEED_FILE_BYTES"), "{err}");
    });
}

#[test]
fn secdb_directory_without_format_is_recognised_or_named() {
    let Some(secdb) = shared("alpine-secdb") else {
        return;
    };
    let s = secdb.display().to_string();
    each(|l| {
        let auto = import_json(l, &[&s]);
        assert!(
            auto["report"]["advisories"].as_u64().unwrap() > 1000,
            "{auto}"
        );
        assert_eq!(auto["scopes"].as_array().unwrap().len(), 6, "{auto}");
        // Same result as the explicit format: everything unchanged on a second import.
        let again = import_json(l, &["--format", "alpine-secdb", &s]);
        assert_eq!(again["report"]["changed"], 0, "{again}");
        assert_eq!(again["report"]["new"], 0, "{again}");
        // --format osv over YAML files: no silent "0 advisories"; the files are named.
        let o = l.run(&["feed", "import", "--format", "osv", &s]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("main.yaml") && err.contains("not OSV"),
            "{err}"
        );
    });
}

/// A `dir:` root with an Alpine os-release and one installed package.
fn alpine_root(dir: &Path, release: &str, pkg: &str, version: &str) {
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::create_dir_all(dir.join("lib/apk/db")).unwrap();
    std::fs::write(
        dir.join("etc/os-release"),
        format!("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID={release}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("lib/apk/db/installed"),
        format!("P:{pkg}\nV:{version}\nA:x86_64\no:{pkg}\n\n"),
    )
    .unwrap();
}

fn affected_digests(l: &Ledger, id: &str) -> Vec<String> {
    let v = l.json(&["affected", id]);
    let mut d: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["digest"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d.dedup();
    d
}

#[test]
fn one_secdb_release_file_revises_only_that_release() {
    let Some(secdb) = shared("alpine-secdb") else {
        return;
    };
    each(|l| {
        let roots = [
            ("3.9.4", "1.1.20-r4", "a"),
            ("3.11.3", "1.1.23-r1", "b"),
            ("3.10.2", "1.1.22-r2", "c"),
        ];
        let mut digests = Vec::new();
        for (release, version, seed) in roots {
            let root = l.path(&format!("root-{seed}"));
            alpine_root(&root, release, "musl", version);
            let digest = format!("sha256:{}", seed.repeat(64));
            l.ok(&[
                "scan",
                &format!("dir:{}", root.display()),
                "--digest",
                &digest,
                "--record",
            ]);
            digests.push(digest);
        }
        digests.sort();
        let all = secdb.display().to_string();
        import_json(l, &["--format", "alpine-secdb", &all]);
        assert_eq!(affected_digests(l, "CVE-2019-14697"), digests);

        // One release's file again: nothing changes, nothing is withdrawn elsewhere.
        let one = secdb.join("v3.10/main.yaml").display().to_string();
        let v = import_json(l, &["--format", "alpine-secdb", &one]);
        assert_eq!(v["report"]["changed"], 0, "{v}");
        assert_eq!(v["report"]["findings_removed"], 0, "{v}");
        assert_eq!(affected_digests(l, "CVE-2019-14697"), digests);

        // A revised v3.10/main that no longer lists the CVE for musl: only 3.10 loses it.
        let text = std::fs::read_to_string(secdb.join("v3.10/main.yaml")).unwrap();
        let revised = text.replacen("        1.1.22-r3:\n          - CVE-2019-14697\n", "", 1);
        assert_ne!(text, revised, "the real file lists musl 1.1.22-r3");
        let rdir = l.path("revised/v3.10");
        std::fs::create_dir_all(&rdir).unwrap();
        std::fs::write(rdir.join("main.yaml"), revised).unwrap();
        let r = rdir.join("main.yaml").display().to_string();
        let v = import_json(l, &[&r]);
        assert_eq!(v["report"]["findings_removed"], 1, "{v}");
        let left = affected_digests(l, "CVE-2019-14697");
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(!left.contains(&format!("sha256:{}", "c".repeat(64))));
        // Another release's file leaves 3.10 as revised.
        let other = secdb.join("v3.9/main.yaml").display().to_string();
        import_json(l, &[&other]);
        assert_eq!(affected_digests(l, "CVE-2019-14697").len(), 2);
        // And the original file brings it back.
        let v = import_json(l, &[&one]);
        assert_eq!(v["report"]["findings_added"], 1, "{v}");
        assert_eq!(affected_digests(l, "CVE-2019-14697"), digests);
    });
}

#[test]
fn changes_since_out_of_range_is_bad_input() {
    each(|l| {
        record_go_builds(l);
        for bad in ["9999999999999999d", "99999999999999999999s", "5é", "-5d"] {
            let o = l.run(&["changes", "--since", bad]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
            assert!(err.contains("--since"), "{bad}: {err}");
        }
        l.ok(&["changes", "--since", "7d"]);
    });
}
