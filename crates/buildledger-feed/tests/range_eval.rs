//! OSV range evaluation: the spec's examples, real advisories, and a differential check of every
//! SEMVER range in the Go and crates.io feeds against an independent interval-based evaluator
//! over the raw JSON.

mod common;

use std::cmp::Ordering;
use std::fs;
use std::path::Path;

use buildledger_feed::{
    Affected, Event, Range, RangeKind, Verdict, evaluate, load_alpine_secdb, parse_osv,
};
use common::{apk_cmp, semver_cmp};
use serde_json::{Value, json};

fn affected(ranges: Value, versions: Value) -> Affected {
    let doc = json!({
        "id": "TEST-1",
        "affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"}, "ranges": ranges, "versions": versions}]
    });
    parse_osv(&serde_json::to_vec(&doc).unwrap(), "test")
        .unwrap()
        .affected
        .remove(0)
}

fn eval(a: &Affected, v: &str) -> Verdict {
    evaluate(a, v, &semver_cmp).unwrap()
}

fn hit(fixed: Option<&str>) -> Verdict {
    Verdict::Affected {
        fixed: fixed.map(String::from),
    }
}

#[test]
fn spec_examples() {
    // "every possible version is affected"
    let a = affected(
        json!([{"type": "SEMVER", "events": [{"introduced": "0"}]}]),
        json!([]),
    );
    assert_eq!(eval(&a, "0.0.1"), hit(None));
    assert_eq!(eval(&a, "99.0.0"), hit(None));
    // "everything before 1.0.2"
    let a = affected(
        json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.2"}]}]),
        json!([]),
    );
    assert_eq!(eval(&a, "1.0.1"), hit(Some("1.0.2")));
    assert_eq!(eval(&a, "1.0.2"), Verdict::NotAffected);
    assert_eq!(eval(&a, "1.0.2-rc.1"), hit(Some("1.0.2")));
    // Multiple ranges [1.0.0, 1.0.2) and [3.0.0, 3.2.5), events given out of order.
    let a = affected(
        json!([{"type": "SEMVER", "events": [
            {"introduced": "3.0.0"}, {"fixed": "1.0.2"}, {"fixed": "3.2.5"}, {"introduced": "1.0.0"}
        ]}]),
        json!([]),
    );
    for (v, want) in [
        ("0.9.0", Verdict::NotAffected),
        ("1.0.0", hit(Some("1.0.2"))),
        ("1.0.1", hit(Some("1.0.2"))),
        ("1.0.2", Verdict::NotAffected),
        ("2.9.9", Verdict::NotAffected),
        ("3.0.0", hit(Some("3.2.5"))),
        ("3.2.4", hit(Some("3.2.5"))),
        ("3.2.5", Verdict::NotAffected),
    ] {
        assert_eq!(eval(&a, v), want, "{v}");
    }
    // last_affected: 2.1.214 itself is affected, above is not.
    let a = affected(
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2.1.214"}]}]),
        json!([]),
    );
    assert_eq!(eval(&a, "2.1.214"), hit(None));
    assert_eq!(eval(&a, "2.1.215"), Verdict::NotAffected);
    // limit: versions at or above every limit are outside the range; "*" is no limit.
    let a = affected(
        json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "2.0.0"}]}]),
        json!([]),
    );
    assert_eq!(eval(&a, "1.5.0"), hit(None));
    assert_eq!(eval(&a, "2.0.0"), Verdict::NotAffected);
    let a = affected(
        json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "*"}]}]),
        json!([]),
    );
    assert_eq!(eval(&a, "7.0.0"), hit(None));
    // Explicit versions are matched exactly.
    let a = affected(json!([]), json!(["1.2.3", "v1.2.4"]));
    assert_eq!(eval(&a, "1.2.3"), hit(None));
    assert_eq!(eval(&a, "v1.2.4"), hit(None));
    assert_eq!(eval(&a, "1.2.4"), Verdict::NotAffected);
}

#[test]
fn git_ranges_are_not_evaluated() {
    let git = json!({"type": "GIT", "repo": "https://example.com/r.git",
        "events": [{"introduced": "0"}, {"fixed": "9f00c3d1a2b4"}]});
    let a = affected(json!([git]), json!(["v2.0.0"]));
    let never = |_: &str, _: &str| -> Result<Ordering, String> {
        panic!("comparator must not be called for GIT")
    };
    assert_eq!(evaluate(&a, "1.0.0", &never).unwrap(), Verdict::Unevaluated);
    assert_eq!(evaluate(&a, "v2.0.0", &never).unwrap(), hit(None));
    // With a SEMVER range next to it, the answer is definite.
    let a = affected(
        json!([git, {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.1.0"}]}]),
        json!([]),
    );
    assert_eq!(eval(&a, "1.0.0"), hit(Some("1.1.0")));
    assert_eq!(eval(&a, "1.1.0"), Verdict::NotAffected);
}

#[test]
fn comparator_errors_propagate_and_bad_comparators_do_not_panic() {
    let a = affected(
        json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.6.0"}]}]),
        json!([]),
    );
    assert!(evaluate(&a, "not-a-version", &semver_cmp).is_err());
    // An inconsistent comparator (not a total order) on many events must not panic.
    let range = Range {
        kind: RangeKind::Ecosystem,
        repo: None,
        events: (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    Event::Introduced(i.to_string())
                } else {
                    Event::Fixed(i.to_string())
                }
            })
            .collect(),
    };
    let a = Affected {
        ranges: vec![range],
        ..a
    };
    let chaotic = |x: &str, y: &str| -> Result<Ordering, String> {
        Ok(
            if (x.bytes().map(u32::from).sum::<u32>() ^ y.bytes().map(u32::from).sum::<u32>())
                .is_multiple_of(2)
            {
                Ordering::Less
            } else {
                Ordering::Greater
            },
        )
    };
    let _ = evaluate(&a, "5", &chaotic).unwrap();
}

fn shared_json(rel: &str) -> Option<Value> {
    let p = common::shared_data(rel)?;
    Some(serde_json::from_slice(&fs::read(p).unwrap()).unwrap())
}

#[test]
fn go_2020_0001_gin() {
    let Some(raw) = shared_json("osv/go/GO-2020-0001.json") else {
        return;
    };
    let adv = parse_osv(&serde_json::to_vec(&raw).unwrap(), "GO-2020-0001").unwrap();
    let a = &adv.affected[0];
    assert_eq!(a.name, "github.com/gin-gonic/gin");
    assert_eq!(eval(a, "1.5.0"), hit(Some("1.6.0")));
    assert_eq!(eval(a, "0.1.0"), hit(Some("1.6.0")));
    assert_eq!(eval(a, "1.6.0-rc.1"), hit(Some("1.6.0")));
    assert_eq!(eval(a, "1.6.0"), Verdict::NotAffected);
    assert_eq!(eval(a, "1.9.1"), Verdict::NotAffected);
}

/// `go1.21.3` -> `1.21.3`, `go1.20` -> `1.20.0`, `go1.21rc2` -> `1.21.0-rc.2` (vulndb's mapping
/// of Go toolchain versions to SemVer).
fn go_toolchain_to_semver(v: &str) -> String {
    let v = v.strip_prefix("go").unwrap();
    for tag in ["rc", "beta", "alpha"] {
        if let Some((base, n)) = v.split_once(tag) {
            let dots = base.matches('.').count();
            let base = if dots == 1 {
                format!("{base}.0")
            } else {
                base.to_string()
            };
            return format!("{base}-{tag}.{n}");
        }
    }
    if v.matches('.').count() == 1 {
        format!("{v}.0")
    } else {
        v.to_string()
    }
}

/// Independent evaluator: the raw (vulndb/RustSec-sorted) events read as half-open intervals.
/// Returns Some(fixed) when affected (fixed may be None), None when not.
fn interval_eval(events: &[Value], v: &str) -> Option<Option<String>> {
    let lt = |a: &str, b: &str| semver_cmp(a, b).unwrap() == Ordering::Less;
    let mut start: Option<String> = None;
    for e in events {
        let o = e.as_object().unwrap();
        let (k, val) = o.iter().next().unwrap();
        let val = val.as_str().unwrap().to_string();
        match k.as_str() {
            "introduced" => start = Some(val),
            "fixed" | "last_affected" => {
                let s = start.take().expect("fixed without introduced");
                let above_start = s == "0" || !lt(v, &s);
                let below_end = if k == "fixed" {
                    lt(v, &val)
                } else {
                    !lt(&val, v)
                };
                if above_start && below_end {
                    return Some((k == "fixed").then_some(val));
                }
            }
            other => panic!("unexpected event {other}"),
        }
    }
    match start {
        Some(s) if s == "0" || !lt(v, &s) => Some(None),
        _ => None,
    }
}

fn candidate_versions(events: &[Value]) -> Vec<String> {
    let mut out = vec![
        "0.0.0".to_string(),
        "0.0.1".to_string(),
        "999.0.0".to_string(),
    ];
    for e in events {
        let val = e
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        if val == "0" {
            continue;
        }
        out.push(val.to_string());
        if let Ok(mut sv) = semver::Version::parse(val) {
            sv.pre = semver::Prerelease::EMPTY;
            sv.build = semver::BuildMetadata::EMPTY;
            let mut up = sv.clone();
            up.patch += 1;
            out.push(up.to_string());
            out.push(format!("{sv}-0"));
            if sv.patch > 0 {
                let mut down = sv.clone();
                down.patch -= 1;
                out.push(down.to_string());
            }
        }
    }
    out
}

/// Every SEMVER range of every advisory in a feed directory: evaluate() agrees with the interval
/// reading of the raw JSON on versions around each event.
fn differential(dir: &Path) -> usize {
    let mut checked = 0;
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let bytes = fs::read(&f).unwrap();
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let adv = parse_osv(&bytes, &f.display().to_string()).unwrap();
        for (a, ra) in adv.affected.iter().zip(raw["affected"].as_array().unwrap()) {
            let Some(ranges) = ra.get("ranges").and_then(|r| r.as_array()) else {
                continue;
            };
            // One-range entries only, so the independent evaluator needs no merging.
            if ranges.len() != 1 || ranges[0]["type"] != "SEMVER" || !a.versions.is_empty() {
                continue;
            }
            let events = ranges[0]["events"].as_array().unwrap();
            for v in candidate_versions(events) {
                let want = match interval_eval(events, &v) {
                    Some(fixed) => Verdict::Affected { fixed },
                    None => Verdict::NotAffected,
                };
                assert_eq!(eval(a, &v), want, "{} {} @ {v}", adv.id, a.name);
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn go_and_crates_semver_ranges_agree_with_interval_reading() {
    for eco in ["osv/go", "osv/crates.io"] {
        let Some(dir) = common::shared_data(eco) else {
            return;
        };
        let n = differential(&dir);
        eprintln!("{eco}: {n} (range, version) pairs agree");
        assert!(n > 1000);
    }
}

#[test]
fn go_stdlib_advisories_against_toolchain_versions() {
    let Some(dir) = common::shared_data("osv/go") else {
        return;
    };
    let mut toolchains = Vec::new();
    for minor in 12..=27 {
        toolchains.push(format!("go1.{minor}"));
        toolchains.push(format!("go1.{minor}rc1"));
        toolchains.push(format!("go1.{minor}beta1"));
        for patch in 0..=15 {
            toolchains.push(format!("go1.{minor}.{patch}"));
        }
    }
    let (mut affected_pairs, mut total) = (0, 0);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let bytes = fs::read(&f).unwrap();
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let adv = parse_osv(&bytes, "x").unwrap();
        for (a, ra) in adv.affected.iter().zip(raw["affected"].as_array().unwrap()) {
            if a.name != "stdlib" && a.name != "toolchain" {
                continue;
            }
            for tc in &toolchains {
                let v = go_toolchain_to_semver(tc);
                // Union over the raw ranges; smallest fix among the matching ones.
                let mut want: Option<Option<String>> = None;
                for r in ra["ranges"].as_array().unwrap() {
                    if let Some(fixed) = interval_eval(r["events"].as_array().unwrap(), &v) {
                        want = Some(match (want.flatten(), fixed) {
                            (Some(x), Some(y)) => Some(if semver_cmp(&x, &y).unwrap().is_le() {
                                x
                            } else {
                                y
                            }),
                            (x, y) => x.or(y),
                        });
                    }
                }
                let want = match want {
                    Some(fixed) => Verdict::Affected { fixed },
                    None => Verdict::NotAffected,
                };
                let got = eval(a, &v);
                assert_eq!(got, want, "{} {} @ {tc}", adv.id, a.name);
                total += 1;
                affected_pairs += matches!(got, Verdict::Affected { .. }) as usize;
            }
        }
    }
    eprintln!("stdlib/toolchain: {total} pairs, {affected_pairs} affected");
    assert!(affected_pairs > 100 && affected_pairs < total);

    // GO-2026-6218, read from the raw file: fixed in 1.25.13, 1.26.6 and 1.27.0-rc.3.
    let Some(raw) = shared_json("osv/go/GO-2026-6218.json") else {
        return;
    };
    let adv = parse_osv(&serde_json::to_vec(&raw).unwrap(), "x").unwrap();
    let events = raw["affected"][0]["ranges"][0]["events"]
        .as_array()
        .unwrap();
    let fixes: Vec<&str> = events
        .iter()
        .filter_map(|e| e.get("fixed")?.as_str())
        .collect();
    assert_eq!(fixes, ["1.25.13", "1.26.6", "1.27.0-rc.3"]);
    let a = &adv.affected[0];
    assert_eq!(
        eval(a, &go_toolchain_to_semver("go1.25.12")),
        hit(Some("1.25.13"))
    );
    assert_eq!(
        eval(a, &go_toolchain_to_semver("go1.25.13")),
        Verdict::NotAffected
    );
    assert_eq!(
        eval(a, &go_toolchain_to_semver("go1.26.0")),
        hit(Some("1.26.6"))
    );
    assert_eq!(
        eval(a, &go_toolchain_to_semver("go1.27rc2")),
        hit(Some("1.27.0-rc.3"))
    );
    assert_eq!(
        eval(a, &go_toolchain_to_semver("go1.27rc3")),
        Verdict::NotAffected
    );
}

#[test]
fn musl_cve_2019_14697_on_alpine_3_10() {
    let Some(dir) = common::shared_data("alpine-secdb/v3.10") else {
        return;
    };
    let report = load_alpine_secdb(&dir).unwrap();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let adv = report
        .advisories
        .iter()
        .find(|a| a.id == "ALPINE-CVE-2019-14697")
        .expect("musl advisory");
    assert_eq!(adv.aliases, ["CVE-2019-14697"]);
    let a = adv
        .affected
        .iter()
        .find(|a| a.name == "musl" && a.ecosystem == "Alpine:v3.10")
        .unwrap();
    let apk = |x: &str, y: &str| apk_cmp(x, y);
    assert_eq!(
        evaluate(a, "1.1.22-r2", &apk).unwrap(),
        hit(Some("1.1.22-r3"))
    );
    assert_eq!(
        evaluate(a, "1.1.20-r4", &apk).unwrap(),
        hit(Some("1.1.22-r3"))
    );
    assert_eq!(
        evaluate(a, "1.1.22-r3", &apk).unwrap(),
        Verdict::NotAffected
    );
    assert_eq!(
        evaluate(a, "1.1.24-r0", &apk).unwrap(),
        Verdict::NotAffected
    );
}

#[test]
fn apk_test_comparator_agrees_with_dpkg_on_simple_versions() {
    // The test's apk comparator only handles X.Y.Z[letter]-rN; on that subset apk order equals
    // Debian order with "-rN" as the revision, so dpkg is an independent oracle for it.
    if !common::require_tool("dpkg", &["--version"], "present on Debian") {
        return;
    }
    let vs = [
        "1.1.22-r2",
        "1.1.22-r3",
        "1.1.22-r10",
        "1.1.3-r0",
        "1.1.20",
        "1.2-r0",
        "1.1.22a-r0",
        "2.0-r1",
    ];
    for a in vs {
        for b in vs {
            let ours = apk_cmp(a, b).unwrap();
            let lt = std::process::Command::new("dpkg")
                .args(["--compare-versions", a, "lt", b])
                .status()
                .unwrap()
                .success();
            let gt = std::process::Command::new("dpkg")
                .args(["--compare-versions", a, "gt", b])
                .status()
                .unwrap()
                .success();
            let want = if lt {
                Ordering::Less
            } else if gt {
                Ordering::Greater
            } else {
                Ordering::Equal
            };
            assert_eq!(ours, want, "{a} vs {b}");
        }
    }
}
