//! Alpine secdb conversion, checked against an independent reading of the same YAML by PyYAML.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use buildledger_feed::{Verdict, evaluate, is_explicitly_not_affected, load_alpine_secdb};

/// PyYAML's view: one line per (id, ecosystem, package, fix version).
const ORACLE: &str = r#"
import sys, yaml, pathlib
root = pathlib.Path(sys.argv[1])
for f in sorted(root.rglob("*.yaml")):
    d = yaml.safe_load(f.read_text())
    eco = "Alpine:" + d["distroversion"]
    for p in d.get("packages") or []:
        pkg = p["pkg"]
        for ver, ids in (pkg.get("secfixes") or {}).items():
            for line in ids or []:
                for i in str(line).split():
                    print(f"{i}\t{eco}\t{pkg['name']}\t{ver}")
"#;

#[test]
fn secdb_matches_pyyaml_reading() {
    let Some(dir) = common::shared_data("alpine-secdb") else {
        return;
    };
    if !common::require_tool("python3", &["-c", "import yaml"], "pip install pyyaml") {
        return;
    }
    let out = Command::new("python3")
        .args(["-c", ORACLE])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let (id, rest) = line.split_once('\t').unwrap();
        want.entry(format!("ALPINE-{id}"))
            .or_default()
            .push(rest.to_string());
    }
    let report = load_alpine_secdb(&dir).unwrap();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for adv in &report.advisories {
        assert_eq!(adv.source, "alpine-secdb");
        assert_eq!(adv.aliases, [adv.id.strip_prefix("ALPINE-").unwrap()]);
        for a in &adv.affected {
            let fix = a.database_specific.as_ref().unwrap()["secfix"]
                .as_str()
                .unwrap()
                .to_string();
            got.entry(adv.id.clone())
                .or_default()
                .push(format!("{}\t{}\t{fix}", a.ecosystem, a.name));
            // Each range is "introduced 0, fixed <secfix>": the fix version itself is not affected.
            let lexical = |x: &str, y: &str| Ok(x.cmp(y));
            if fix != "0" {
                assert_eq!(evaluate(a, &fix, &lexical).unwrap(), Verdict::NotAffected);
                assert_eq!(
                    evaluate(a, "0", &lexical).unwrap(),
                    Verdict::Affected {
                        fixed: Some(fix.clone())
                    }
                );
            }
        }
    }
    for v in want.values_mut().chain(got.values_mut()) {
        v.sort();
    }
    assert_eq!(got.len(), want.len(), "advisory count");
    assert_eq!(got, want);
    eprintln!(
        "{} advisories, {} affected entries",
        got.len(),
        got.values().map(Vec::len).sum::<usize>()
    );
}

#[test]
fn zero_secfix_means_explicitly_not_affected_and_keys_stay_verbatim() {
    let tmp = std::env::temp_dir().join(format!("blfeed-alpine-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    // YAML would type these keys as numbers (0, 1.10): they must come out as written.
    fs::write(
        tmp.join("main.yaml"),
        "distroversion: v3.12\nreponame: main\npackages:\n  - pkg:\n      name: demo\n      secfixes:\n        0:\n          - CVE-2020-0001\n        1.10:\n          - CVE-2020-0002 CVE-2020-0003\n        2.0-r1:\n",
    )
    .unwrap();
    fs::write(
        tmp.join("community.json"),
        r#"{"distroversion": "v3.12", "reponame": "community", "packages": [{"pkg": {"name": "other", "secfixes": {"3.1-r0": ["CVE-2020-0002"]}}}, {"pkg": {}}]}"#,
    )
    .unwrap();
    fs::write(tmp.join("broken.yaml"), "distroversion: [unclosed\n").unwrap();
    let report = load_alpine_secdb(&tmp).unwrap();
    let ids: Vec<&str> = report.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ALPINE-CVE-2020-0001",
            "ALPINE-CVE-2020-0002",
            "ALPINE-CVE-2020-0003"
        ]
    );
    assert_eq!(report.errors.len(), 2, "{:#?}", report.errors);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.location.ends_with("broken.yaml"))
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.location.ends_with("community.json") && e.message.contains("name"))
    );
    let zero = &report.advisories[0].affected[0];
    assert!(zero.ranges.is_empty() && is_explicitly_not_affected(zero));
    let never =
        |_: &str, _: &str| -> Result<std::cmp::Ordering, String> { Err("not called".into()) };
    assert_eq!(
        evaluate(zero, "1.0-r0", &never).unwrap(),
        Verdict::NotAffected
    );
    let two = &report.advisories[1];
    let fixes: Vec<(&str, &str)> = two
        .affected
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.database_specific.as_ref().unwrap()["secfix"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(fixes, [("other", "3.1-r0"), ("demo", "1.10")]);
    assert!(!is_explicitly_not_affected(&two.affected[0]));
    fs::remove_dir_all(&tmp).unwrap();
}
