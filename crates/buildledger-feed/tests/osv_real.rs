//! Loads the real Go (golang/vulndb) and crates.io (RustSec) OSV feeds from /work/shared and
//! checks every advisory, field by field, against the raw JSON read independently as
//! `serde_json::Value`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use buildledger_feed::{Advisory, Event, load_osv_path, parse_osv};
use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn raw_time(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    let t = DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("raw time {s}: {e}"))
        .with_timezone(&Utc);
    (t.year() > 1).then_some(t)
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn non_null(v: Option<&Value>) -> Option<Value> {
    v.filter(|v| !v.is_null()).cloned()
}

/// Compares one parsed advisory with its raw JSON, field by field.
fn check_against_raw(adv: &Advisory, raw: &Value) {
    let id = raw["id"].as_str().unwrap();
    assert_eq!(adv.id, id);
    assert_eq!(adv.source, "osv");
    assert_eq!(adv.modified, raw_time(&raw["modified"]), "{id} modified");
    assert_eq!(adv.published, raw_time(&raw["published"]), "{id} published");
    assert_eq!(
        adv.withdrawn,
        raw.get("withdrawn").and_then(raw_time),
        "{id} withdrawn"
    );
    assert_eq!(adv.aliases, strs(raw.get("aliases")), "{id} aliases");
    assert_eq!(adv.related, strs(raw.get("related")), "{id} related");
    assert_eq!(
        adv.summary.as_deref(),
        raw.get("summary").and_then(|s| s.as_str()),
        "{id} summary"
    );
    assert_eq!(
        adv.details.as_deref(),
        raw.get("details").and_then(|s| s.as_str()),
        "{id} details"
    );
    assert_eq!(
        adv.database_specific,
        non_null(raw.get("database_specific")),
        "{id} database_specific"
    );
    let refs: Vec<String> = raw
        .get("references")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .map(|r| r["url"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(adv.references, refs, "{id} references");
    let sev = raw
        .get("severity")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    assert_eq!(adv.severity.len(), sev.len(), "{id} severity count");
    for (s, r) in adv.severity.iter().zip(&sev) {
        assert_eq!(s.kind, r["type"].as_str().unwrap());
        assert_eq!(s.vector, r["score"].as_str().unwrap());
        if s.kind.starts_with("CVSS_V3") || s.kind.starts_with("CVSS_V4") {
            assert!(
                s.score.is_some(),
                "{id}: CVSS vector {} has no computed score",
                s.vector
            );
        }
    }
    let aff = raw["affected"].as_array().cloned().unwrap_or_default();
    assert_eq!(adv.affected.len(), aff.len(), "{id} affected count");
    for (a, r) in adv.affected.iter().zip(&aff) {
        assert_eq!(
            a.ecosystem,
            r["package"]["ecosystem"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(a.name, r["package"]["name"].as_str().unwrap(), "{id}");
        assert_eq!(
            a.purl.as_deref(),
            r["package"].get("purl").and_then(|p| p.as_str()),
            "{id}"
        );
        assert_eq!(a.versions, strs(r.get("versions")), "{id} versions");
        assert_eq!(
            a.ecosystem_specific,
            non_null(r.get("ecosystem_specific")),
            "{id} ecosystem_specific"
        );
        assert_eq!(
            a.database_specific,
            non_null(r.get("database_specific")),
            "{id} affected database_specific"
        );
        let ranges = r
            .get("ranges")
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default();
        assert_eq!(a.ranges.len(), ranges.len(), "{id} range count");
        for (rg, rr) in a.ranges.iter().zip(&ranges) {
            assert_eq!(rg.kind.as_str(), rr["type"].as_str().unwrap(), "{id}");
            assert_eq!(
                rg.repo.as_deref(),
                rr.get("repo").and_then(|x| x.as_str()),
                "{id}"
            );
            let evs = rr["events"].as_array().unwrap();
            assert_eq!(rg.events.len(), evs.len(), "{id} events");
            for (e, re) in rg.events.iter().zip(evs) {
                let obj = re.as_object().unwrap();
                assert_eq!(obj.len(), 1, "{id}: raw event has one key");
                let (k, v) = obj.iter().next().unwrap();
                let want = match k.as_str() {
                    "introduced" => Event::Introduced(v.as_str().unwrap().into()),
                    "fixed" => Event::Fixed(v.as_str().unwrap().into()),
                    "last_affected" => Event::LastAffected(v.as_str().unwrap().into()),
                    "limit" => Event::Limit(v.as_str().unwrap().into()),
                    other => panic!("{id}: unexpected raw event key {other}"),
                };
                assert_eq!(e, &want, "{id}");
            }
        }
    }
}

fn load_and_check(dir: &Path) -> Vec<Advisory> {
    let files = json_files(dir);
    let start = Instant::now();
    let mut last = 0;
    let report = load_osv_path(dir, &mut |n| last = n).unwrap();
    eprintln!(
        "{}: {} advisories in {:?} (debug build)",
        dir.display(),
        report.advisories.len(),
        start.elapsed()
    );
    assert!(
        report.errors.is_empty(),
        "errors on real data: {:#?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert_eq!(
        report.advisories.len(),
        files.len(),
        "one advisory per file"
    );
    assert_eq!(last, files.len(), "progress reached the file count");
    // The loader walks in path order, as does json_files().
    for (adv, file) in report.advisories.iter().zip(&files) {
        let raw: Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        check_against_raw(adv, &raw);
    }
    let hashes: BTreeSet<&str> = report
        .advisories
        .iter()
        .map(|a| a.content_hash.as_str())
        .collect();
    assert_eq!(
        hashes.len(),
        report.advisories.len(),
        "content hashes are distinct"
    );
    report.advisories
}

#[test]
fn go_feed_loads_completely_and_matches_raw_json() {
    let Some(dir) = common::shared_data("osv/go") else {
        return;
    };
    let advs = load_and_check(&dir);
    // Module counts: files whose affected packages include `stdlib` / `toolchain`, counted over
    // the raw JSON.
    for module in ["stdlib", "toolchain"] {
        let raw_count = json_files(&dir)
            .iter()
            .filter(|f| {
                let v: Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
                v["affected"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["package"]["name"] == module))
            })
            .count();
        let ours = advs
            .iter()
            .filter(|a| a.affected.iter().any(|x| x.name == module))
            .count();
        assert!(raw_count > 0);
        assert_eq!(ours, raw_count, "{module} advisory count");
    }
    // vulndb's data/osv uses the year-1 placeholder for `modified`.
    let raw_year1 = json_files(&dir)
        .iter()
        .filter(|f| {
            let v: Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
            v["modified"]
                .as_str()
                .is_some_and(|s| s.starts_with("0001-"))
        })
        .count();
    assert_eq!(
        advs.iter().filter(|a| a.modified.is_none()).count(),
        raw_year1
    );
}

#[test]
fn crates_io_feed_loads_completely_and_matches_raw_json() {
    let Some(dir) = common::shared_data("osv/crates.io") else {
        return;
    };
    let advs = load_and_check(&dir);
    let raw_informational = json_files(&dir)
        .iter()
        .filter(|f| {
            let v: Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
            v.get("database_specific")
                .and_then(|d| d.get("informational"))
                .is_some_and(|i| i.is_string())
                || v["affected"].as_array().is_some_and(|a| {
                    a.iter().any(|x| {
                        x.get("database_specific")
                            .and_then(|d| d.get("informational"))
                            .is_some_and(|i| i.is_string())
                    })
                })
        })
        .count();
    assert!(raw_informational > 0);
    assert_eq!(
        advs.iter().filter(|a| a.informational().is_some()).count(),
        raw_informational
    );
}

/// Writes `v` with object keys in reverse order, to check the content hash ignores key order.
fn write_reversed(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            keys.reverse();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n ");
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(" : ");
                write_reversed(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_reversed(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

#[test]
fn content_hash_ignores_key_order_and_whitespace_but_sees_changes() {
    let Some(dir) = common::shared_data("osv/crates.io") else {
        return;
    };
    for file in json_files(&dir).iter().take(200) {
        let bytes = fs::read(file).unwrap();
        let a = parse_osv(&bytes, "a").unwrap();
        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        let mut reordered = String::new();
        write_reversed(&raw, &mut reordered);
        let b = parse_osv(reordered.as_bytes(), "b").unwrap();
        assert_eq!(a, b, "{}", file.display());
        raw["summary"] = Value::String(format!(
            "{} (edited)",
            raw["summary"].as_str().unwrap_or("")
        ));
        let c = parse_osv(&serde_json::to_vec(&raw).unwrap(), "c").unwrap();
        assert_ne!(a.content_hash, c.content_hash, "{}", file.display());
    }
}

#[test]
fn zip_of_go_feed_gives_the_same_advisories_as_the_directory() {
    let Some(dir) = common::shared_data("osv/go") else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("blfeed-zip-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    // Named without .zip on purpose: the loader must detect zips by content.
    let zip_path = tmp.join("go-all.dump");
    {
        let mut w = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.add_directory("go/", opts).unwrap();
        for f in json_files(&dir) {
            w.start_file(
                format!("go/{}", f.file_name().unwrap().to_str().unwrap()),
                opts,
            )
            .unwrap();
            w.write_all(&fs::read(&f).unwrap()).unwrap();
        }
        w.start_file("go/README.txt", opts).unwrap();
        w.write_all(b"not an advisory, skipped").unwrap();
        w.finish().unwrap();
    }
    let from_dir = load_osv_path(&dir, &mut |_| {}).unwrap();
    let from_zip = load_osv_path(&zip_path, &mut |_| {}).unwrap();
    fs::remove_dir_all(&tmp).unwrap();
    assert!(
        from_zip.errors.is_empty(),
        "{:#?}",
        &from_zip.errors[..from_zip.errors.len().min(5)]
    );
    let a: BTreeMap<&str, &Advisory> = from_dir
        .advisories
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let b: BTreeMap<&str, &Advisory> = from_zip
        .advisories
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    assert_eq!(a.len(), from_dir.advisories.len());
    assert_eq!(a, b);
}

#[test]
fn zip_made_by_python_zipfile_loads_too() {
    let Some(dir) = common::shared_data("osv/crates.io") else {
        return;
    };
    if !common::require_tool(
        "python3",
        &["-c", "import zipfile"],
        "apt-get install -y python3",
    ) {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("blfeed-pyzip-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let zip_path = tmp.join("crates.zip");
    let st = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-c"])
        .arg(&zip_path)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let from_dir = load_osv_path(&dir, &mut |_| {}).unwrap();
    let from_zip = load_osv_path(&zip_path, &mut |_| {}).unwrap();
    fs::remove_dir_all(&tmp).unwrap();
    assert!(from_zip.errors.is_empty());
    let mut z = from_zip.advisories.clone();
    z.sort_by(|x, y| x.id.cmp(&y.id));
    let mut d = from_dir.advisories.clone();
    d.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(d, z);
    let loc_ok = from_zip.advisories.len() == d.len();
    assert!(loc_ok);
}
