//! A partly bad feed: the good records load, every bad one is reported with location and id.
//! Good records are real advisories from /work/shared; bad ones are made from them.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use buildledger_feed::{FeedError, LoadReport, MAX_ADVISORY_BYTES, RangeKind, load_osv_path};
use serde_json::{Value, json};

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("blfeed-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn real(rel: &str) -> Option<Value> {
    let p = common::shared_data(rel)?;
    Some(serde_json::from_slice(&fs::read(p).unwrap()).unwrap())
}

fn error_for<'a>(report: &'a LoadReport, location_part: &str) -> &'a FeedError {
    report
        .errors
        .iter()
        .find(|e| e.location.contains(location_part))
        .unwrap_or_else(|| panic!("no error for {location_part}; errors: {:#?}", report.errors))
}

/// (file name, content, expected id in the error, a word the message must contain)
fn bad_records(base: &Value) -> Vec<(&'static str, Vec<u8>, Option<&'static str>, &'static str)> {
    // The file as vulndb wrote it (id near the top), cut in half.
    let full = fs::read(common::shared_data("osv/go/GO-2020-0001.json").unwrap()).unwrap();
    let mut v = Vec::new();
    v.push((
        "truncated.json",
        full[..full.len() / 2].to_vec(),
        Some("GO-2020-0001"),
        "invalid",
    ));
    let mut t = base.clone();
    t["id"] = json!("BAD-TYPES");
    t["aliases"] = json!(5);
    v.push((
        "wrong_types.json",
        serde_json::to_vec(&t).unwrap(),
        Some("BAD-TYPES"),
        "invalid type",
    ));
    let mut t = base.clone();
    t.as_object_mut().unwrap().remove("id");
    v.push((
        "missing_id.json",
        serde_json::to_vec(&t).unwrap(),
        None,
        "id",
    ));
    let mut t = base.clone();
    t["id"] = json!("");
    v.push(("empty_id.json", serde_json::to_vec(&t).unwrap(), None, "id"));
    let mut t = base.clone();
    t["id"] = json!("BAD-EVENT");
    t["affected"][0]["ranges"][0]["events"][1] = json!({"fixd": "1.6.0"});
    v.push((
        "bad_event.json",
        serde_json::to_vec(&t).unwrap(),
        Some("BAD-EVENT"),
        "events[1]",
    ));
    let mut t = base.clone();
    t["id"] = json!("TWO-KEYS");
    t["affected"][0]["ranges"][0]["events"][1] = json!({"fixed": "1.6.0", "introduced": "1.0.0"});
    v.push((
        "two_keys.json",
        serde_json::to_vec(&t).unwrap(),
        Some("TWO-KEYS"),
        "more than one",
    ));
    let mut t = base.clone();
    t["id"] = json!("NO-NAME");
    t["affected"][0]["package"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    v.push((
        "no_name.json",
        serde_json::to_vec(&t).unwrap(),
        Some("NO-NAME"),
        "name",
    ));
    let mut t = base.clone();
    t["id"] = json!("NO-PACKAGE");
    t["affected"][0].as_object_mut().unwrap().remove("package");
    v.push((
        "no_package.json",
        serde_json::to_vec(&t).unwrap(),
        Some("NO-PACKAGE"),
        "package",
    ));
    let mut t = base.clone();
    t["id"] = json!("BAD-DATE");
    t["published"] = json!("yesterday");
    v.push((
        "bad_date.json",
        serde_json::to_vec(&t).unwrap(),
        Some("BAD-DATE"),
        "published",
    ));
    let mut t = base.clone();
    t["id"] = json!("NO-RANGE-TYPE");
    t["affected"][0]["ranges"][0]
        .as_object_mut()
        .unwrap()
        .remove("type");
    v.push((
        "no_range_type.json",
        serde_json::to_vec(&t).unwrap(),
        Some("NO-RANGE-TYPE"),
        "type",
    ));
    v.push((
        "not_json.json",
        b"\xff\xfe garbage".to_vec(),
        None,
        "invalid",
    ));
    v.push(("array.json", b"[1,2,3]".to_vec(), None, "invalid"));
    // Over the limit: valid JSON padded with whitespace past 16 MiB.
    let mut huge = serde_json::to_vec(base).unwrap();
    huge.resize(MAX_ADVISORY_BYTES as usize + 10, b' ');
    v.push(("huge.json", huge, None, "limit"));
    v
}

/// Tolerated oddities that must load.
fn odd_but_good(base: &Value) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut v = Vec::new();
    let mut t = base.clone();
    t["id"] = json!("ODD-ECOSYSTEM");
    t["affected"][0]["package"]["ecosystem"] = json!("Brand-New-Ecosystem:7");
    t["affected"][0]["ranges"][0]["type"] = json!("FANCY");
    t["severity"] = json!([{"type": "Ubuntu", "score": "medium"}]);
    t["some_future_field"] = json!({"x": [1, 2]});
    t["aliases"] = Value::Null;
    v.push((
        "odd_ecosystem.json",
        serde_json::to_vec(&t).unwrap(),
        "ODD-ECOSYSTEM",
    ));
    v
}

#[test]
fn partly_bad_directory_loads_good_and_reports_bad() {
    let (Some(go), Some(rust)) = (
        real("osv/go/GO-2020-0001.json"),
        real("osv/crates.io/RUSTSEC-2016-0001.json"),
    ) else {
        return;
    };
    let tmp = TempDir::new("bad-dir");
    let sub = tmp.0.join("nested/deeper");
    fs::create_dir_all(&sub).unwrap();
    fs::write(
        tmp.0.join("GO-2020-0001.json"),
        serde_json::to_vec(&go).unwrap(),
    )
    .unwrap();
    fs::write(
        sub.join("RUSTSEC-2016-0001.json"),
        serde_json::to_vec(&rust).unwrap(),
    )
    .unwrap();
    fs::write(tmp.0.join("notes.txt"), b"ignored").unwrap();
    let bad = bad_records(&go);
    for (name, bytes, _, _) in &bad {
        fs::write(tmp.0.join(name), bytes).unwrap();
    }
    for (name, bytes, _) in odd_but_good(&go) {
        fs::write(tmp.0.join(name), bytes).unwrap();
    }
    let mut calls = 0;
    let report = load_osv_path(&tmp.0, &mut |_| calls += 1).unwrap();
    let mut ids: Vec<&str> = report.advisories.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["GO-2020-0001", "ODD-ECOSYSTEM", "RUSTSEC-2016-0001"]);
    assert_eq!(report.errors.len(), bad.len(), "{:#?}", report.errors);
    assert_eq!(calls, 3 + bad.len());
    for (name, _, id, word) in &bad {
        let e = error_for(&report, name);
        assert!(Path::new(&e.location).starts_with(&tmp.0), "{e:?}");
        assert_eq!(e.id.as_deref(), *id, "{name}: {e:?}");
        assert!(
            e.message.contains(word),
            "{name}: message {:?} lacks {word:?}",
            e.message
        );
    }
    let odd = report
        .advisories
        .iter()
        .find(|a| a.id == "ODD-ECOSYSTEM")
        .unwrap();
    assert_eq!(odd.affected[0].ecosystem, "Brand-New-Ecosystem:7");
    assert_eq!(
        odd.affected[0].ranges[0].kind,
        RangeKind::Other("FANCY".into())
    );
    assert_eq!(odd.severity[0].score, None);
    assert!(odd.aliases.is_empty());
}

/// Finds every local (PK\3\4) and central (PK\1\2) header of entry `name` and applies `patch`
/// to (buffer, header offset, is_central).
fn patch_headers(buf: &mut [u8], name: &str, patch: impl Fn(&mut [u8], usize, bool)) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i + 46 < buf.len() {
        let sig = &buf[i..i + 4];
        let (central, name_len_at, name_at) = if sig == b"PK\x03\x04" {
            (false, i + 26, i + 30)
        } else if sig == b"PK\x01\x02" {
            (true, i + 28, i + 46)
        } else {
            i += 1;
            continue;
        };
        let nlen = u16::from_le_bytes([buf[name_len_at], buf[name_len_at + 1]]) as usize;
        if buf.get(name_at..name_at + nlen) == Some(name.as_bytes()) {
            patch(buf, i, central);
            n += 1;
        }
        i += 4;
    }
    n
}

#[test]
fn partly_bad_zip_loads_good_and_reports_bad() {
    let Some(go) = real("osv/go/GO-2020-0001.json") else {
        return;
    };
    let tmp = TempDir::new("bad-zip");
    let path = tmp.0.join("all.zip");
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    {
        let mut w = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        w.start_file("GO-2020-0001.json", opts).unwrap();
        w.write_all(&serde_json::to_vec(&go).unwrap()).unwrap();
        // Zip bomb: 17 MiB of zeros compress to a few KiB; the header tells the truth.
        w.start_file("bomb.json", opts).unwrap();
        w.write_all(&vec![b'0'; MAX_ADVISORY_BYTES as usize + (1 << 20)])
            .unwrap();
        // Same, but the header will be patched to claim 100 bytes.
        w.start_file("liar.json", opts).unwrap();
        w.write_all(&vec![b' '; MAX_ADVISORY_BYTES as usize + (1 << 20)])
            .unwrap();
        // Good JSON whose CRC will be corrupted.
        let mut t = go.clone();
        t["id"] = json!("BAD-CRC");
        w.start_file("badcrc.json", opts).unwrap();
        w.write_all(&serde_json::to_vec(&t).unwrap()).unwrap();
        let mut t = go.clone();
        t["id"] = json!("BAD-EVENT");
        t["affected"][0]["ranges"][0]["events"] = json!([{"introduced": "0"}, {}]);
        w.start_file("sub/bad_event.json", opts).unwrap();
        w.write_all(&serde_json::to_vec(&t).unwrap()).unwrap();
        let mut t = go.clone();
        t["id"] = json!("GOOD-2");
        w.start_file("sub/good2.json", opts).unwrap();
        w.write_all(&serde_json::to_vec(&t).unwrap()).unwrap();
        w.finish().unwrap();
    }
    let mut buf = fs::read(&path).unwrap();
    let liar = patch_headers(&mut buf, "liar.json", |b, at, central| {
        let off = at + if central { 24 } else { 22 };
        b[off..off + 4].copy_from_slice(&100u32.to_le_bytes());
    });
    assert_eq!(liar, 2, "patched local and central header");
    let crc = patch_headers(&mut buf, "badcrc.json", |b, at, central| {
        let off = at + if central { 16 } else { 14 };
        b[off] ^= 0xff;
    });
    assert_eq!(crc, 2);
    fs::write(&path, &buf).unwrap();

    let report = load_osv_path(&path, &mut |_| {}).unwrap();
    for e in &report.errors {
        eprintln!("{e}");
    }
    let ids: Vec<&str> = report.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["GO-2020-0001", "GOOD-2"],
        "errors: {:#?}",
        report.errors
    );
    assert_eq!(report.errors.len(), 4, "{:#?}", report.errors);
    let zip_loc = path.display().to_string();
    let bomb = error_for(&report, "!bomb.json");
    assert!(bomb.location.starts_with(&zip_loc));
    assert!(bomb.message.contains("limit"), "{bomb:?}");
    error_for(&report, "!liar.json");
    error_for(&report, "!badcrc.json");
    let ev = error_for(&report, "!sub/bad_event.json");
    assert_eq!(ev.id.as_deref(), Some("BAD-EVENT"));
    assert!(ev.message.contains("events[1]"), "{ev:?}");
}

#[test]
fn unreadable_sources_are_io_errors() {
    let tmp = TempDir::new("io");
    assert!(load_osv_path(&tmp.0.join("does-not-exist"), &mut |_| {}).is_err());
    // Zip magic, but no central directory.
    let p = tmp.0.join("broken.zip");
    fs::write(&p, b"PK\x03\x04 this is not really a zip").unwrap();
    let e = load_osv_path(&p, &mut |_| {}).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    // An empty directory is a valid, empty feed.
    let empty = tmp.0.join("empty");
    fs::create_dir(&empty).unwrap();
    let r = load_osv_path(&empty, &mut |_| {}).unwrap();
    assert!(r.advisories.is_empty() && r.errors.is_empty());
}
