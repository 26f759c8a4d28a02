//! Replays hand-made corrupt inputs through the fuzz target's entry point (`parse_osv`, see
//! fuzz/fuzz_targets/feed_osv.rs) and the other untrusted-input paths, on stable: every input
//! must give `Ok` or `Err`, never a panic or a stack overflow.

use std::fs;

use buildledger_feed::{evaluate, load_alpine_secdb, parse_osv};

fn corpus() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b""[..],
        b"{",
        b"null",
        b"[]",
        b"\"id\"",
        b"{\"id\": 5}",
        b"{\"id\": \"X\", \"affected\": null}",
        b"{\"id\": \"X\", \"affected\": [null]}",
        b"{\"id\": \"X\", \"affected\": [{\"package\": null}]}",
        b"{\"id\": \"X\", \"affected\": [{\"package\": {\"name\": \"a\", \"ecosystem\": \"b\"}, \"ranges\": [{\"type\": \"SEMVER\", \"events\": [null]}]}]}",
        b"{\"id\": \"X\", \"affected\": [{\"package\": {\"name\": \"a\", \"ecosystem\": \"b\"}, \"ranges\": [{\"type\": \"SEMVER\", \"events\": [{\"introduced\": 1}]}]}]}",
        b"{\"id\": \"X\", \"modified\": \"99999-99-99T99:99:99Z\"}",
        b"{\"id\": \"X\", \"published\": \"-0001-01-01T00:00:00Z\"}",
        b"{\"id\": \"X\", \"severity\": [{\"type\": \"CVSS_V3\", \"score\": \"CVSS:3.1/AV:N/AV:N/AV:N\"}]}",
        b"{\"id\": \"X\", \"severity\": [{\"type\": \"CVSS_V4\", \"score\": \"CVSS:4.0/\"}]}",
        b"{\"id\": \"X\", \"severity\": [{\"type\": \"CVSS_V2\", \"score\": \"((AV:N\"}]}",
        b"{\"id\": \"X\", \"database_specific\": 1e999999}",
        b"{\"id\": \"X\" \"x\"}",
        b"\xef\xbb\xbf{\"id\": \"BOM\"}",
        b"{\"id\": \"\xff\xfe\"}",
        b"{\"a\":{\"id\": \"nested\"", // truncated; salvage must not panic
        b"{\"id\"",
        b"{\"id\":",
        b"{\"id\": \"",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    // Deep nesting: serde_json's recursion limit must turn this into an error.
    v.push(
        [
            b"{\"id\":\"D\",\"database_specific\":".as_slice(),
            &vec![b'['; 100_000],
            &vec![b']'; 100_000],
            b"}",
        ]
        .concat(),
    );
    v.push(vec![b'{'; 1_000_000]);
    v
}

#[test]
fn corrupt_osv_inputs_never_panic() {
    for (i, input) in corpus().iter().enumerate() {
        let r = parse_osv(input, &format!("corpus#{i}"));
        if let Err(e) = &r {
            assert_eq!(e.location, format!("corpus#{i}"));
            assert!(!e.message.is_empty());
        }
    }
    // Valid documents in the corpus still parse.
    assert!(parse_osv(b"{\"id\": \"X\", \"affected\": null}", "x").is_ok());
    // A year-1 or negative timestamp is "unknown", not an error or a panic.
    assert!(
        parse_osv(
            b"{\"id\": \"X\", \"published\": \"0001-01-01T00:00:00Z\"}",
            "x"
        )
        .unwrap()
        .published
        .is_none()
    );
}

#[test]
fn evaluate_on_fuzzy_records_never_panics() {
    let doc = br#"{"id": "X", "affected": [{"package": {"name": "a", "ecosystem": "b"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1"}, {"last_affected": ""}, {"limit": "*"},
        {"introduced": "0"}, {"limit": ""}, {"introduced": "0"}, {"fixed": "0"}]}], "versions": [""]}]}"#;
    let adv = parse_osv(doc, "x").unwrap();
    let cmp = |a: &str, b: &str| Ok(a.len().cmp(&b.len()).then(a.cmp(b)));
    for v in ["", "0", "1", "zzzz"] {
        let _ = evaluate(&adv.affected[0], v, &cmp).unwrap();
    }
}

#[test]
fn hostile_secdb_yaml_is_an_error_not_a_hang() {
    let tmp = std::env::temp_dir().join(format!("blfeed-yamlbomb-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    // Billion laughs through aliases.
    let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        y.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    y.push_str("distroversion: v3.1\npackages: *a11\n");
    fs::write(tmp.join("bomb.yaml"), y).unwrap();
    fs::write(tmp.join("deep.yaml"), "[".repeat(100_000)).unwrap();
    fs::write(tmp.join("binary.yaml"), [0u8, 159, 146, 150, 255]).unwrap();
    let start = std::time::Instant::now();
    let report = load_alpine_secdb(&tmp).unwrap();
    fs::remove_dir_all(&tmp).unwrap();
    assert!(report.advisories.is_empty());
    assert_eq!(report.errors.len(), 3, "{:#?}", report.errors);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}
