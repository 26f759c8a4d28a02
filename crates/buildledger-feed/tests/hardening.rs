//! The loader against hostile input: FIFOs and symlink loops in directories, zip limits
//! (entries, per-entry and total uncompressed bytes), YAML alias bombs, deep nesting, huge
//! arrays and version strings, duplicate ids in either order, and per-file format recognition.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use buildledger_feed::{
    Format, Limits, LoadReport, MAX_EVENTS, MAX_VERSION_LEN, is_semver, load_paths, parse_osv,
};
use serde_json::{Value, json};

fn real(rel: &str) -> Option<Value> {
    let p = common::shared_data(rel)?;
    Some(serde_json::from_slice(&fs::read(p).unwrap()).unwrap())
}

fn load(paths: &[PathBuf], format: Format, limits: &Limits) -> std::io::Result<LoadReport> {
    load_paths(paths, format, limits, &mut |_| {})
}

#[allow(unsafe_code)] // mkfifo(3): the only way to make a FIFO without a tool
fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn fifo_and_symlink_loops_in_a_directory_are_reported_not_opened() {
    let Some(go) = real("osv/go/GO-2020-0001.json") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("GO-2020-0001.json"), go.to_string()).unwrap();
    // No writer ever opens these: a blocking open would hang the test.
    mkfifo(&d.join("evil.json"));
    mkfifo(&d.join("notes.txt"));
    fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("a.json", d.join("b.json")).unwrap();
    std::os::unix::fs::symlink("b.json", d.join("a.json")).unwrap();
    let r = load(&[d.to_path_buf()], Format::Auto, &Limits::default()).unwrap();
    assert_eq!(r.advisories.len(), 1);
    let err = |name: &str| {
        r.errors
            .iter()
            .find(|e| e.location.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported: {:#?}", r.errors))
            .message
            .clone()
    };
    assert!(err("evil.json").contains("fifo"));
    assert!(err("a.json").contains("symbolic link"));
    assert!(err("b.json").contains("symbolic link"));
    let skipped: Vec<&str> = r.skipped.iter().map(|e| e.location.as_str()).collect();
    assert!(
        skipped.iter().any(|s| s.ends_with("notes.txt")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|s| s.ends_with("sub/loop")),
        "{skipped:?}"
    );
    // Named directly, a FIFO makes the input unusable, without blocking.
    let e = load(&[d.join("evil.json")], Format::Osv, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("fifo"), "{e}");
}

fn zip_of(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut w = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn zip_limits_hold_while_reading() {
    let (Some(a), Some(b), Some(c)) = (
        real("osv/go/GO-2020-0001.json"),
        real("osv/go/GO-2020-0003.json"),
        real("osv/go/GO-2020-0004.json"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let z = tmp.path().join("dump.zip");
    let pad = |v: &Value| {
        let mut s = serde_json::to_vec(v).unwrap();
        s.resize(4000, b' ');
        s
    };
    zip_of(
        &z,
        &[
            ("a.json", pad(&a)),
            ("b.json", pad(&b)),
            ("c.json", pad(&c)),
        ],
    );
    let all = load(std::slice::from_ref(&z), Format::Auto, &Limits::default()).unwrap();
    assert_eq!(all.advisories.len(), 3, "{:#?}", all.errors);

    // Entry count: refused before the central directory is parsed.
    let few = Limits {
        entries: 2,
        ..Limits::default()
    };
    let e = load(std::slice::from_ref(&z), Format::Osv, &few).unwrap_err();
    assert!(e.to_string().contains("3 entries"), "{e}");

    // Total uncompressed bytes: two entries fit, the third passes the budget and is reported;
    // nothing after it is read.
    let total = Limits {
        zip_total_bytes: 9000,
        ..Limits::default()
    };
    let r = load(std::slice::from_ref(&z), Format::Osv, &total).unwrap();
    assert_eq!(r.advisories.len(), 2);
    assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
    assert!(r.errors[0].location.ends_with("!c.json"));
    assert!(r.errors[0].message.contains("9000-byte limit for one zip"));

    // Per entry.
    let small = Limits {
        file_bytes: 3999,
        ..Limits::default()
    };
    let r = load(&[z], Format::Osv, &small).unwrap();
    assert_eq!((r.advisories.len(), r.errors.len()), (0, 3));
    assert!(r.errors[0].message.contains("3999"), "{:#?}", r.errors);
}

#[test]
fn yaml_alias_bomb_fails_fast() {
    let tmp = tempfile::tempdir().unwrap();
    let mut y = String::from("distroversion: v3.10\nreponame: main\n");
    y.push_str("a0: &a0 [\"CVE-1\",\"CVE-2\",\"CVE-3\",\"CVE-4\",\"CVE-5\",\"CVE-6\",\"CVE-7\",\"CVE-8\",\"CVE-9\"]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        y.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    // 9^12 strings if expanded, where a list of ids belongs.
    let typed = format!(
        "{y}packages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.0-r0: *a11\n"
    );
    let p = tmp.path().join("main.yaml");
    fs::write(&p, typed).unwrap();
    let r = load(std::slice::from_ref(&p), Format::Auto, &Limits::default()).unwrap();
    assert!(r.advisories.is_empty());
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].message.contains("invalid secdb"),
        "{:?}",
        r.errors
    );
    // The same bomb in a field the reader ignores, next to a good package: the load
    // returns (the parser does not expand what it skips, or stops at its repetition
    // limit) instead of growing without bound.
    let ignored = format!(
        "{y}extra: *a11\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.22-r3:\n          - CVE-2019-14697\n"
    );
    fs::write(&p, ignored).unwrap();
    let r = load(&[p], Format::Auto, &Limits::default()).unwrap();
    assert_eq!(r.advisories.len() + r.errors.len(), 1, "{r:?}");
}

#[test]
fn deep_nesting_huge_arrays_and_long_versions_are_rejected() {
    let Some(go) = real("osv/go/GO-2020-0001.json") else {
        return;
    };
    // Nesting: where the record keeps a JSON value (ecosystem_specific), serde_json's
    // recursion limit makes it an error; in a field nobody reads it is skipped without
    // recursion. Neither overflows the stack.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut deep = go.clone();
    deep["affected"][0]["ecosystem_specific"] = "DEEP".into();
    let s = deep.to_string().replace("\"DEEP\"", &nested);
    let e = parse_osv(s.as_bytes(), "deep.json").unwrap_err();
    assert!(e.message.contains("recursion limit"), "{e}");
    let mut unread = go.clone();
    unread["x_unread"] = "DEEP".into();
    let s = unread.to_string().replace("\"DEEP\"", &nested);
    assert!(parse_osv(s.as_bytes(), "unread.json").is_ok());
    let mut deep = go.clone();

    // Events past MAX_EVENTS.
    let events: Vec<Value> = std::iter::once(json!({"introduced": "0"}))
        .chain((0..MAX_EVENTS).map(|i| json!({"fixed": format!("1.0.{i}")})))
        .collect();
    deep["affected"][0]["ranges"][0]["events"] = Value::Array(events);
    let e = parse_osv(deep.to_string().as_bytes(), "many.json").unwrap_err();
    assert!(e.message.contains("more than 10000"), "{e}");
    assert_eq!(e.id.as_deref(), Some("GO-2020-0001"));

    // A version longer than MAX_VERSION_LEN.
    let mut long = go.clone();
    long["affected"][0]["ranges"][0]["events"][1]["fixed"] =
        format!("1.0.0-{}", "a".repeat(MAX_VERSION_LEN)).into();
    let e = parse_osv(long.to_string().as_bytes(), "long.json").unwrap_err();
    assert!(e.message.contains("version of"), "{e}");
}

#[test]
fn semver_check_agrees_with_the_semver_crate() {
    let mut cases: Vec<String> = [
        "1.2.3",
        "0.0.0",
        "1.2.3-rc.1",
        "1.2.3-0.a",
        "1.2.3-01",
        "1.2.3+build.5",
        "1.2.3-rc.1+b",
        "01.2.3",
        "1.2",
        "v1.2.3",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-a..b",
        "1.2.3-a_b",
        "1.2.3 ",
        "",
        "1.2.3.4",
        "0.0.0-20160722212129-ac0cc4484ad4",
        "1.2.3-rc.1.-x",
        "18446744073709551616.0.0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every SEMVER event version in the real Go and RustSec data.
    for eco in ["osv/go", "osv/crates.io"] {
        let Some(dir) = common::shared_data(eco) else {
            return;
        };
        let r = load(&[dir], Format::Osv, &Limits::default()).unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors.first());
        for a in &r.advisories {
            for aff in &a.affected {
                for range in &aff.ranges {
                    for ev in &range.events {
                        cases.push(ev.version().to_string());
                    }
                }
            }
        }
    }
    cases.sort();
    cases.dedup();
    let mut n = 0;
    for c in &cases {
        if c == "0" {
            continue;
        }
        // The semver crate bounds numbers to u64; the spec does not, neither does is_semver.
        let oracle = semver::Version::parse(c).is_ok() || c == "18446744073709551616.0.0";
        assert_eq!(is_semver(c), oracle, "{c:?}");
        n += 1;
    }
    assert!(n > 1000, "{n} versions compared");
}

#[test]
fn duplicates_resolve_the_same_in_either_order() {
    let (Some(a), Some(b)) = (
        real("osv/go/GO-2020-0001.json"),
        real("osv/go/GO-2020-0003.json"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    fs::create_dir_all(&da).unwrap();
    fs::create_dir_all(&db).unwrap();
    let mut x = a.clone();
    x["modified"] = "2024-05-01T00:00:00Z".into();
    let mut y = b.clone();
    y["id"] = "GO-2020-0001".into();
    y["modified"] = "2024-05-01T00:00:00Z".into();
    fs::write(da.join("x.json"), x.to_string()).unwrap();
    fs::write(db.join("y.json"), y.to_string()).unwrap();
    let one = load(&[da.clone(), db.clone()], Format::Osv, &Limits::default()).unwrap();
    let two = load(&[db.clone(), da.clone()], Format::Osv, &Limits::default()).unwrap();
    assert_eq!(one, two);
    assert!(one.advisories.is_empty());
    assert_eq!(one.errors.len(), 1);
    assert_eq!(one.errors[0].id.as_deref(), Some("GO-2020-0001"));
    // Identical duplicates are one record, silently.
    fs::write(db.join("y.json"), x.to_string()).unwrap();
    let same = load(&[da.clone(), db.clone()], Format::Osv, &Limits::default()).unwrap();
    assert_eq!((same.advisories.len(), same.errors.len()), (1, 0));
    // A newer `modified` wins in either order.
    y["modified"] = "2024-06-01T00:00:00Z".into();
    fs::write(db.join("y.json"), y.to_string()).unwrap();
    for order in [[&da, &db], [&db, &da]] {
        let r = load(
            &[order[0].clone(), order[1].clone()],
            Format::Osv,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(r.advisories.len(), 1);
        assert_eq!(r.advisories[0].affected[0].name, "github.com/revel/revel");
    }
}

#[test]
fn formats_are_recognised_per_file() {
    let (Some(secdb), Some(go)) = (
        common::shared_data("alpine-secdb"),
        real("osv/go/GO-2020-0001.json"),
    ) else {
        return;
    };
    let explicit = load(
        std::slice::from_ref(&secdb),
        Format::AlpineSecdb,
        &Limits::default(),
    )
    .unwrap();
    assert!(explicit.advisories.len() > 1000);
    assert_eq!(explicit.scopes.len(), 6, "{:?}", explicit.scopes);
    let auto = load(
        std::slice::from_ref(&secdb),
        Format::Auto,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(auto, explicit);
    // OSV over YAML: every file skipped with a reason, nothing silently empty.
    let osv = load(
        std::slice::from_ref(&secdb),
        Format::Osv,
        &Limits::default(),
    )
    .unwrap();
    assert!(osv.advisories.is_empty());
    assert_eq!(osv.skipped.len(), 6);
    assert!(osv.skipped[0].message.contains("not OSV"));
    // A secdb file as JSON and an OSV record side by side, auto-detected.
    let tmp = tempfile::tempdir().unwrap();
    let y: Value =
        serde_yaml_ng::from_slice(&fs::read(secdb.join("v3.10/main.yaml")).unwrap()).unwrap();
    fs::write(tmp.path().join("secdb-main.json"), y.to_string()).unwrap();
    fs::write(tmp.path().join("GO-2020-0001.json"), go.to_string()).unwrap();
    let mixed = load(
        &[tmp.path().to_path_buf()],
        Format::Auto,
        &Limits::default(),
    )
    .unwrap();
    assert!(mixed.errors.is_empty(), "{:?}", mixed.errors.first());
    assert_eq!(mixed.scopes, ["Alpine:v3.10/main"]);
    assert!(mixed.advisories.iter().any(|a| a.id == "GO-2020-0001"));
    assert!(
        mixed
            .advisories
            .iter()
            .any(|a| a.id == "ALPINE-CVE-2019-14697")
    );
}
