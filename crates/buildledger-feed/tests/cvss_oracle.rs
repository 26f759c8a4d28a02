//! CVSS base scores of every real vector in the Go and crates.io feeds, checked against the
//! Python `cvss` package (RedHat's reference implementation of the FIRST/NVD formulas).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use buildledger_feed::{cvss::base_score, load_osv_path};

const ORACLE: &str = r#"
import sys
from cvss import CVSS2, CVSS3, CVSS4
for line in sys.stdin:
    kind, vec = line.rstrip("\n").split("\t", 1)
    if vec.startswith("CVSS:4."):
        s = CVSS4(vec).base_score
    elif vec.startswith("CVSS:3."):
        s = CVSS3(vec).base_score
    else:
        s = CVSS2(vec).base_score
    print(f"{float(s):.1f}")
"#;

fn oracle(vectors: &[(String, String)]) -> Vec<f64> {
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for (k, v) in vectors {
        input.push_str(&format!("{k}\t{v}\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn real_feed_vectors_match_python_cvss() {
    if !common::require_tool("python3", &["-c", "import cvss"], "pip install cvss") {
        return;
    }
    let mut vectors: BTreeMap<String, (String, Option<f64>)> = BTreeMap::new();
    for eco in ["osv/go", "osv/crates.io"] {
        let Some(dir) = common::shared_data(eco) else {
            return;
        };
        for adv in load_osv_path(&dir, &mut |_| {}).unwrap().advisories {
            for s in adv
                .severity
                .iter()
                .chain(adv.affected.iter().flat_map(|a| &a.severity))
            {
                vectors.insert(s.vector.clone(), (s.kind.clone(), s.score));
            }
        }
    }
    let list: Vec<(String, String)> = vectors
        .iter()
        .map(|(v, (k, _))| (k.clone(), v.clone()))
        .collect();
    let v3 = list
        .iter()
        .filter(|(_, v)| v.starts_with("CVSS:3."))
        .count();
    let v4 = list
        .iter()
        .filter(|(_, v)| v.starts_with("CVSS:4."))
        .count();
    eprintln!("{} distinct vectors: {v3} v3, {v4} v4", list.len());
    assert!(list.len() >= 100 && v3 > 0 && v4 > 0);
    let want = oracle(&list);
    assert_eq!(want.len(), list.len());
    let mut mismatches = Vec::new();
    for ((kind, vec), w) in list.iter().zip(want) {
        let ours = vectors[vec].1;
        assert_eq!(ours, base_score(kind, vec));
        if ours.map(|o| (o - w).abs() > 1e-9).unwrap_or(true) {
            mismatches.push(format!("{vec}: ours {ours:?}, oracle {w}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn cvss_v2_and_edge_vectors_match_python_cvss() {
    if !common::require_tool("python3", &["-c", "import cvss"], "pip install cvss") {
        return;
    }
    // Hand-picked edge vectors: scope changed, all-none impact, v3.0 vs v3.1 rounding, v2.
    let list: Vec<(String, String)> = [
        ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
        ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"),
        ("CVSS_V3", "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N"),
        ("CVSS_V3", "CVSS:3.1/AV:P/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:L"),
        ("CVSS_V3", "CVSS:3.0/AV:A/AC:L/PR:L/UI:N/S:C/C:H/I:L/A:N"),
        (
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ),
        (
            "CVSS_V4",
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
        ),
        ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"),
        ("CVSS_V2", "AV:L/AC:H/Au:M/C:N/I:N/A:C"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for ((kind, vec), w) in list.iter().zip(oracle(&list)) {
        assert_eq!(base_score(kind, vec), Some(w), "{vec}");
    }
    assert_eq!(base_score("Ubuntu", "high"), None);
    assert_eq!(base_score("CVSS_V3", "CVSS:3.1/AV:X"), None);
    assert_eq!(base_score("CVSS_V3", ""), None);
}
