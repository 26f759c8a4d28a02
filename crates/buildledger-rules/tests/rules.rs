//! The rules engine on real advisories (golang/vulndb, RustSec, Alpine
//! secdb from ../shared/data) and both store engines.

use std::path::{Path, PathBuf};

use buildledger_model::*;
use buildledger_store::Store;
use buildledger_testkit::records::digest;

fn shared() -> Option<PathBuf> {
    buildledger_testkit::shared::require_data("")
}

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
    // Declared after `store`, so the schema is dropped after the connection.
    _pg: Option<buildledger_testkit::pg::Schema>,
}

fn each(f: impl Fn(&mut Store)) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db {
        store: Store::open_sqlite(&dir.path().join("l.db")).unwrap(),
        _dir: dir,
        _pg: None,
    };
    f(&mut db.store);
    let Some(pg) = buildledger_testkit::pg::Schema::fresh("bl_rules") else {
        return;
    };
    let mut db = Db {
        store: Store::open(pg.url()).unwrap(),
        _dir: tempfile::tempdir().unwrap(),
        _pg: Some(pg),
    };
    f(&mut db.store);
}

fn build(seed: &str, toolchains: &[&str], purls: &[&str]) -> BuildRecord {
    buildledger_testkit::records::record(seed)
        .toolchains(toolchains)
        .components(purls)
        .build()
}

fn load(dir: &Path) -> Vec<buildledger_feed::Advisory> {
    let rep = buildledger_feed::load_osv_path(dir, &mut |_| {}).unwrap();
    assert!(rep.errors.is_empty(), "{:?}", rep.errors.first());
    rep.advisories
}

fn ids(rows: &[buildledger_store::ImageFinding]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|f| f.advisory.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// What the OSV data itself says, read independently with serde_json: the
/// ids of advisories naming `module` whose SEMVER ranges contain `version`,
/// using a plain numeric semver compare (adequate for release versions).
fn oracle_ids(dir: &Path, ecosystem: &str, module: &str, version: &str) -> Vec<String> {
    fn parse(v: &str) -> (Vec<u64>, bool) {
        let (core, pre) = match v.split_once('-') {
            Some((c, _)) => (c, true),
            None => (v, false),
        };
        (
            core.trim_start_matches('v')
                .split('.')
                .map(|x| x.parse().unwrap_or(0))
                .collect(),
            pre,
        )
    }
    fn lt(a: &str, b: &str) -> bool {
        let (ca, pa) = parse(a);
        let (cb, pb) = parse(b);
        if ca != cb {
            return ca < cb;
        }
        pa && !pb
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        if v.get("withdrawn").is_some() {
            continue;
        }
        for a in v["affected"].as_array().unwrap() {
            if a["package"]["ecosystem"] != ecosystem || a["package"]["name"] != module {
                continue;
            }
            let mut hit = false;
            for r in a["ranges"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["type"] == "SEMVER")
            {
                let mut affected = false;
                for ev in r["events"].as_array().unwrap() {
                    if let Some(i) = ev["introduced"].as_str() {
                        if i == "0" || !lt(version, i) {
                            affected = true;
                        }
                    } else if let Some(f) = ev["fixed"].as_str()
                        && !lt(version, f)
                    {
                        affected = false;
                    }
                }
                hit |= affected;
            }
            if hit {
                out.push(v["id"].as_str().unwrap().to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn go_and_rustsec_findings_match_the_data() {
    let Some(data) = shared() else { return };
    let go = load(&data.join("osv/go"));
    let rs = load(&data.join("osv/crates.io"));
    each(|s| {
        buildledger_rules::record(
            s,
            &build(
                "a1",
                &["go@1.13.4"],
                &[
                    "pkg:golang/golang.org/x/net@v0.0.0-20191109021931-daa7c04131f5",
                    "pkg:golang/golang.org/x/text@v0.3.2",
                ],
            ),
        )
        .unwrap();
        buildledger_rules::record(
            s,
            &build(
                "b2",
                &[],
                &["pkg:cargo/time@0.3.36", "pkg:cargo/hyper@0.14.28"],
            ),
        )
        .unwrap();
        let mut all = go.clone();
        all.extend(rs.iter().cloned());
        let rep = buildledger_rules::import(s, &all, &mut |_| {}).unwrap();
        assert_eq!(rep.advisories as usize, go.len() + rs.len());
        assert_eq!(rep.new, rep.advisories);

        let found = s.vulns(digest("a1").as_str()).unwrap();
        for (module, version) in [("stdlib", "1.13.4"), ("golang.org/x/text", "0.3.2")] {
            let mut ours: Vec<String> = found
                .iter()
                .filter(|f| f.purl.contains(&format!("/{module}@")) && f.kind == "vuln")
                .map(|f| f.advisory.clone())
                .collect();
            ours.sort();
            ours.dedup();
            let want = oracle_ids(&data.join("osv/go"), "Go", module, version);
            assert!(!want.is_empty());
            assert_eq!(ours, want, "{module}@{version}");
        }
        // The toolchain module's advisories are reported as kind=toolchain.
        let tool: Vec<_> = found.iter().filter(|f| f.kind == "toolchain").collect();
        assert_eq!(
            ids(&tool.iter().map(|f| (*f).clone()).collect::<Vec<_>>()),
            oracle_ids(&data.join("osv/go"), "Go", "toolchain", "1.13.4")
        );
        let cve = found
            .iter()
            .find(|f| f.advisory == "GO-2022-0969" && f.purl.starts_with("pkg:golang/stdlib@"))
            .expect("GO-2022-0969 for stdlib 1.13.4");
        assert_eq!(cve.fixed.as_deref(), Some("1.18.6"));
        assert!(cve.aliases.contains(&"CVE-2022-27664".to_string()));

        let rust = s.vulns(digest("b2").as_str()).unwrap();
        let mut want = oracle_ids(&data.join("osv/crates.io"), "crates.io", "time", "0.3.36");
        want.extend(oracle_ids(
            &data.join("osv/crates.io"),
            "crates.io",
            "hyper",
            "0.14.28",
        ));
        want.sort();
        assert_eq!(ids(&rust), want);
        let t = rust
            .iter()
            .find(|f| f.advisory == "RUSTSEC-2026-0009")
            .unwrap();
        assert_eq!(
            (t.installed.as_str(), t.fixed.as_deref()),
            ("0.3.36", Some("0.3.47"))
        );

        // affected by any alias: CVE-2023-39325 (HTTP/2 rapid reset, GO-2023-2102) hits a1 via x/net and stdlib
        let hit = s.affected("CVE-2023-39325").unwrap().expect("alias known");
        assert!(hit.iter().all(|f| f.digest == digest("a1").to_string()));
        assert!(
            hit.iter()
                .any(|f| f.purl.starts_with("pkg:golang/golang.org/x/net@")
                    && f.fixed.as_deref() == Some("0.17.0"))
        );
        assert!(s.affected("CVE-0000-0000").unwrap().is_none());

        // Re-import: nothing changed, nothing re-evaluated.
        let again = buildledger_rules::import(s, &all, &mut |_| {}).unwrap();
        assert_eq!(
            (
                again.unchanged,
                again.findings_added,
                again.findings_removed
            ),
            (again.advisories, 0, 0)
        );
        // A full re-match agrees with the incremental state.
        let before = s.vulns(digest("a1").as_str()).unwrap();
        let re = buildledger_rules::rematch_all(s, &mut |_| {}).unwrap();
        assert_eq!((re.findings_added, re.findings_removed), (0, 0));
        assert_eq!(s.vulns(digest("a1").as_str()).unwrap(), before);
    });
}

#[test]
fn new_builds_only_evaluate_new_components() {
    let Some(data) = shared() else { return };
    let go = load(&data.join("osv/go"));
    each(|s| {
        buildledger_rules::import(s, &go, &mut |_| {}).unwrap();
        let (_, d1) = buildledger_rules::record(
            s,
            &build(
                "c1",
                &["go@1.19.1"],
                &["pkg:golang/golang.org/x/net@v0.1.0"],
            ),
        )
        .unwrap();
        assert!(d1.added > 0);
        // Same components again: already evaluated, no new findings rows.
        let (_, d2) = buildledger_rules::record(
            s,
            &build(
                "c2",
                &["go@1.19.1"],
                &["pkg:golang/golang.org/x/net@v0.1.0"],
            ),
        )
        .unwrap();
        assert_eq!(d2.added, 0);
        // ...yet the new image is affected, through the shared component rows.
        assert_eq!(
            ids(&s.vulns(digest("c2").as_str()).unwrap()),
            ids(&s.vulns(digest("c1").as_str()).unwrap())
        );
        // A fixed version has no findings.
        let (_, d3) = buildledger_rules::record(
            s,
            &build("c3", &[], &["pkg:golang/golang.org/x/net@v0.99.0"]),
        )
        .unwrap();
        assert_eq!(d3.added, 0);
    });
}

#[test]
fn changed_and_withdrawn_advisories_update_findings() {
    let Some(data) = shared() else { return };
    let src = data.join("osv/go/GO-2023-2102.json");
    each(|s| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("GO-2023-2102.json");
        std::fs::copy(&src, &path).unwrap();
        let t0 = chrono::Utc::now().timestamp_millis();
        buildledger_rules::record(
            s,
            &build("d1", &[], &["pkg:golang/golang.org/x/net@v0.16.0"]),
        )
        .unwrap();
        let rep = buildledger_rules::import(s, &load(dir.path()), &mut |_| {}).unwrap();
        assert_eq!(rep.findings_added, 1);
        let f = s.vulns(digest("d1").as_str()).unwrap();
        assert_eq!(f[0].fixed.as_deref(), Some("0.17.0"));

        // The advisory changes: the fix moves below our version.
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for a in v["affected"].as_array_mut().unwrap() {
            if a["package"]["name"] == "golang.org/x/net" {
                a["ranges"][0]["events"][1]["fixed"] = "0.16.0".into();
            }
        }
        v["modified"] = "2026-11-01T00:00:00Z".into();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let rep = buildledger_rules::import(s, &load(dir.path()), &mut |_| {}).unwrap();
        assert_eq!((rep.changed, rep.findings_removed), (1, 1));
        assert!(s.vulns(digest("d1").as_str()).unwrap().is_empty());

        // Back to affected, then withdrawn: findings retracted.
        for a in v["affected"].as_array_mut().unwrap() {
            if a["package"]["name"] == "golang.org/x/net" {
                a["ranges"][0]["events"][1]["fixed"] = "0.17.0".into();
            }
        }
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(
            buildledger_rules::import(s, &load(dir.path()), &mut |_| {})
                .unwrap()
                .findings_added,
            1
        );
        v["withdrawn"] = "2026-11-02T00:00:00Z".into();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let rep = buildledger_rules::import(s, &load(dir.path()), &mut |_| {}).unwrap();
        assert_eq!((rep.withdrawn, rep.findings_removed), (1, 1));
        assert!(s.vulns(digest("d1").as_str()).unwrap().is_empty());

        // The change log tells the whole story, newest last.
        let log: Vec<String> = s
            .changes_since(t0)
            .unwrap()
            .iter()
            .map(|c| c.change.clone())
            .collect();
        assert_eq!(log, ["added", "removed", "added", "removed"]);
        assert_eq!(
            s.changes_since(t0).unwrap()[0].digests,
            vec![digest("d1").to_string()]
        );
    });
}

#[test]
fn alpine_secdb_matches_source_package_and_release() {
    let Some(data) = shared() else { return };
    let rep = buildledger_feed::load_alpine_secdb(&data.join("alpine-secdb")).unwrap();
    assert!(rep.errors.is_empty(), "{:?}", rep.errors.first());
    each(|s| {
        // musl-utils comes from the musl source package; on 3.10 before r3 it is affected
        buildledger_rules::record(
            s,
            &build(
                "e1",
                &[],
                &["pkg:apk/alpine/musl-utils@1.1.22-r2?arch=x86_64&upstream=musl&distro=3.10.2"],
            ),
        )
        .unwrap();
        buildledger_rules::record(
            s,
            &build(
                "e2",
                &[],
                &["pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=3.10.2"],
            ),
        )
        .unwrap();
        // The same version is judged by each release's own secdb: 3.11 fixed
        // it in 1.1.23-r2 (affected), 3.9 in 1.1.20-r5 (not affected).
        buildledger_rules::record(
            s,
            &build(
                "e3",
                &[],
                &["pkg:apk/alpine/musl@1.1.22-r2?arch=x86_64&distro=3.11.0"],
            ),
        )
        .unwrap();
        buildledger_rules::record(
            s,
            &build(
                "e4",
                &[],
                &["pkg:apk/alpine/musl@1.1.22-r2?arch=x86_64&distro=3.9.4"],
            ),
        )
        .unwrap();
        buildledger_rules::import(s, &rep.advisories, &mut |_| {}).unwrap();
        let hits = s.affected("CVE-2019-14697").unwrap().expect("CVE known");
        let digests: Vec<&str> = hits.iter().map(|f| f.digest.as_str()).collect();
        assert!(digests.contains(&digest("e1").as_str()), "{hits:?}");
        assert!(
            !digests.contains(&digest("e2").as_str()),
            "fixed version is not affected"
        );
        let e1 = hits
            .iter()
            .find(|f| f.digest == digest("e1").as_str())
            .unwrap();
        assert_eq!(e1.fixed.as_deref(), Some("1.1.22-r3"));
        let e3 = hits
            .iter()
            .find(|f| f.digest == digest("e3").as_str())
            .expect("3.11 build affected");
        assert_eq!(e3.fixed.as_deref(), Some("1.1.23-r2"));
        assert!(
            !digests.contains(&digest("e4").as_str()),
            "3.9 fixed it in 1.1.20-r5"
        );
    });
}
