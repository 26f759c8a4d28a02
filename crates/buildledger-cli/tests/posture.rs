//! Posture, VEX and policy fixtures end to end on both engines.
//!
//! A signed build runs in production and in staging (pods made by
//! `kubectl … --dry-run=client -o json`); a real advisory arrives and the
//! cached posture turns to warn in production and deny in staging,
//! recomputing only what changed; a staging waiver that ends in seconds
//! lifts the deny and stops applying by itself; OpenVEX: an unsigned
//! document is refused (or kept untrusted and ignored when asked for), one
//! signed by a key that is not the author's is refused, one signed by the
//! pinned author clears the finding. The OpenVEX specification's own
//! examples import; its fragments are exit 2 naming the file. `policy
//! test` passes the built-in fixtures and fails (exit 3) a wrong one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Ledger, each, have, namespace, report_inventory, running, shared_data};

const BUILDER: &str = "https://ci.example/builders/release@v1";
const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const AUTHOR: &str = "Security Team <security@example.com>";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn keygen(l: &Ledger, prefix: &str) {
    l.json(&["keygen", "--algorithm", "ed25519", "--out", &l.p(prefix)]);
}

/// Attest and record (verified against `policy`) a build of `digest` with
/// golang.org/x/net at `xnet`.
fn signed_build(l: &Ledger, policy: &str, digest: &str, xnet: &str) {
    let env = format!("{}.dsse.json", &digest[7..15]);
    l.json(&[
        "attest",
        "--key",
        &l.p("ci.key"),
        "--out",
        &l.p(&env),
        "--digest",
        digest,
        "--repo",
        "https://git.example/shop/api",
        "--commit",
        COMMIT,
        "--toolchain",
        "go@1.21.5",
        "--builder-id",
        BUILDER,
        "--component",
        &format!("pkg:golang/golang.org/x/net@{xnet}"),
    ]);
    l.ok(&[
        "record",
        "--attestation",
        &l.p(&env),
        "--policy",
        policy,
        "--digest",
        digest,
    ]);
}

/// A trust policy pinning the CI builder's key and `authors`' VEX keys.
fn trust_policy(l: &Ledger, authors: &[(&str, &str)]) -> String {
    let mut a = serde_json::Map::new();
    for (who, key) in authors {
        a.insert(who.to_string(), json!([{"path": format!("{key}.pub")}]));
    }
    let p = l.path("trust.json");
    std::fs::write(
        &p,
        json!({"builders": {BUILDER: [{"path": "ci.pub"}]}, "vex_authors": a}).to_string(),
    )
    .unwrap();
    p.display().to_string()
}

/// A running pod of Deployment `name` in `ns`, running `image@digest`.
/// `posture --json`: decision per `namespace/workload`, and stderr.
fn posture(l: &Ledger, extra: &[&str]) -> (BTreeMap<String, (String, Vec<String>)>, String) {
    let mut args = vec!["--json", "posture"];
    args.extend_from_slice(extra);
    let o = l.run(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "[{}] {err}", l.engine());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut m = BTreeMap::new();
    for e in v.as_array().unwrap() {
        let rules = e["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect();
        m.insert(
            format!(
                "{}/{}",
                e["namespace"].as_str().unwrap(),
                e["workload"].as_str().unwrap()
            ),
            (e["decision"].as_str().unwrap().to_string(), rules),
        );
    }
    (m, err)
}

/// Every decision of the posture (inputs read for many images at once)
/// is the one `policy eval` gives for that image alone: decision, reasons
/// in order, priority.
fn posture_agrees_with_eval(l: &Ledger) -> usize {
    let v = l.json(&["posture"]);
    let mut n = 0;
    for e in v.as_array().unwrap() {
        let Some(digest) = e["digest"].as_str() else {
            continue;
        };
        let d = l.json(&[
            "policy",
            "eval",
            "--digest",
            digest,
            "--env",
            e["environment"].as_str().unwrap(),
            "--namespace",
            e["namespace"].as_str().unwrap(),
            "--cluster",
            e["cluster"].as_str().unwrap(),
        ]);
        for k in ["decision", "reasons", "priority"] {
            assert_eq!(e[k], d[k], "[{}] {k} of {e}", l.engine());
        }
        n += 1;
    }
    n
}

fn decisions(m: &BTreeMap<String, (String, Vec<String>)>) -> Vec<(&str, &str)> {
    m.iter().map(|(k, v)| (k.as_str(), v.0.as_str())).collect()
}

/// Computed-decision count from `posture`'s stderr summary.
fn computed(err: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.contains("decision(s) computed"))
        .unwrap_or_else(|| panic!("no summary in {err:?}"));
    let before = line.split(" decision(s) computed").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

fn in_secs(s: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::seconds(s)).to_rfc3339()
}

fn openvex(id: &str, version: u64, vuln: &str, product: &str, sub: &str, status: &str) -> Value {
    let mut st = json!({
        "vulnerability": {"name": vuln},
        "products": [{"@id": product, "subcomponents": [{"@id": sub}]}],
        "status": status,
    });
    if status == "not_affected" {
        st["justification"] = json!("vulnerable_code_not_in_execute_path");
    }
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": id,
        "author": AUTHOR,
        "timestamp": "2026-11-30T10:00:00Z",
        "version": version,
        "statements": [st]
    })
}

#[test]
fn posture_follows_advisories_waivers_and_vex() {
    if !have("kubectl") {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    each(|l| {
        keygen(l, "ci");
        keygen(l, "vex");
        keygen(l, "rogue");
        let policy = trust_policy(l, &[(AUTHOR, "vex")]);
        let (api, web) = (digest('a'), digest('b'));
        signed_build(l, &policy, &api, "v0.7.0");
        signed_build(l, &policy, &web, "v0.17.0");
        report_inventory(
            l,
            "eu-1",
            vec![
                running("api", "shop", &api),
                running("api", "shop-staging", &api),
                running("web", "shop-staging", &web),
            ],
            vec![
                namespace("shop", "production"),
                namespace("shop-staging", "staging"),
            ],
        );

        // Signed builds, no advisory: everything is allowed.
        let (m, err) = posture(l, &[]);
        assert_eq!(
            decisions(&m),
            [
                ("shop-staging/Deployment/api", "allow"),
                ("shop-staging/Deployment/web", "allow"),
                ("shop/Deployment/api", "allow"),
            ],
            "[{}] {m:?}",
            l.engine()
        );
        assert!(err.contains("full refresh"), "{err}");

        // A real advisory for x/net < 0.17.0: warn in production, deny in
        // staging, the clean image untouched; only changed inputs recomputed.
        l.ok(&["feed", "import", "examples/advisories/GO-2023-2102.json"]);
        let (m, err) = posture(l, &[]);
        assert_eq!(
            decisions(&m),
            [
                ("shop-staging/Deployment/api", "deny"),
                ("shop-staging/Deployment/web", "allow"),
                ("shop/Deployment/api", "warn"),
            ],
            "[{}] {m:?}",
            l.engine()
        );
        assert_eq!(
            m["shop-staging/Deployment/api"].1,
            ["fixable-severe-finding"]
        );
        assert!(err.contains("incremental"), "{err}");
        assert_eq!(
            computed(&err),
            2,
            "one digest changed, running in two places: {err}"
        );
        let (again, err) = posture(l, &[]);
        assert_eq!(again, m);
        assert_eq!(computed(&err), 0, "nothing changed: {err}");
        let (only, _) = posture(l, &["--decision", "deny"]);
        assert_eq!(only.len(), 1);
        let (prod, _) = posture(l, &["--env", "production"]);
        assert_eq!(decisions(&prod), [("shop/Deployment/api", "warn")]);
        let (full, err) = posture(l, &["--full"]);
        assert_eq!(full, m, "an incremental refresh drifted from a full one");
        assert!(err.contains("full refresh"), "{err}");
        assert_eq!(posture_agrees_with_eval(l), 3);

        // A staging waiver that ends in seconds: allow, then deny again.
        l.ok(&[
            "waiver",
            "add",
            "--advisory",
            "CVE-2023-39325",
            "--digest",
            &api,
            "--env",
            "staging",
            "--owner",
            "alice@example.com",
            "--reason",
            "HTTP/2 is off behind the proxy",
            "--expires",
            &in_secs(4),
        ]);
        let (m, _) = posture(l, &[]);
        assert_eq!(m["shop-staging/Deployment/api"].0, "allow", "{m:?}");
        assert_eq!(m["shop/Deployment/api"].0, "warn", "{m:?}");
        let t0 = Instant::now();
        loop {
            let (m, _) = posture(l, &[]);
            if m["shop-staging/Deployment/api"].0 == "deny" {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "[{}] an expired waiver still applies",
                l.engine()
            );
            std::thread::sleep(Duration::from_millis(300));
        }

        // VEX. The product is the image (pkg:oci … sha256%3A…), narrowed to
        // the x/net component; the vulnerability is named by an alias.
        let product = format!("pkg:oci/api@sha256%3A{}", &api[7..]);
        let doc = openvex(
            "https://vex.example/shop/api-1",
            1,
            "CVE-2023-39325",
            &product,
            "pkg:golang/golang.org/x/net@v0.7.0",
            "not_affected",
        );
        let plain = l.path("api.vex.json");
        std::fs::write(&plain, doc.to_string()).unwrap();
        let o = l.run(&["vex", "import", &l.p("api.vex.json"), "--policy", &policy]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("api.vex.json") && err.contains("not signed"),
            "{err}"
        );
        assert!(l.json(&["vex", "list"]).as_array().unwrap().is_empty());

        // Kept when asked for, shown as untrusted, ignored by the policy.
        let v = l.json(&["vex", "import", &l.p("api.vex.json"), "--allow-unsigned"]);
        assert_eq!(
            (
                v["outcome"].as_str(),
                v["trusted"].as_bool(),
                v["rows"].as_u64()
            ),
            (Some("added"), Some(false), Some(1)),
            "{v}"
        );
        let f = l.json(&["vulns", &api]);
        let vex = &f.as_array().unwrap()[0]["vex"];
        assert_eq!(
            (vex["status"].as_str(), vex["trusted"].as_bool()),
            (Some("not_affected"), Some(false)),
            "{f}"
        );
        let (m, _) = posture(l, &[]);
        assert_eq!(m["shop-staging/Deployment/api"].0, "deny", "{m:?}");

        // Signed by a key the policy does not pin to this author: refused.
        let signed = |key: &str, out: &str| {
            l.ok(&[
                "vex",
                "sign",
                &l.p("api.vex.json"),
                "--key",
                &l.p(&format!("{key}.key")),
                "--out",
                &l.p(out),
            ]);
        };
        signed("rogue", "rogue.vex.dsse.json");
        let o = l.run(&[
            "vex",
            "import",
            &l.p("rogue.vex.dsse.json"),
            "--policy",
            &policy,
        ]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("rogue.vex.dsse.json"));
        assert_eq!(l.json(&["vex", "list"]).as_array().unwrap().len(), 1);
        // Without a policy a signed document cannot be verified: refused.
        signed("vex", "api.vex.dsse.json");
        let o = l.run(&["vex", "import", &l.p("api.vex.dsse.json")]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");

        // Signed by the pinned author: trusted, and the finding clears.
        let v = l.json(&[
            "vex",
            "import",
            &l.p("api.vex.dsse.json"),
            "--policy",
            &policy,
        ]);
        assert_eq!(
            (v["outcome"].as_str(), v["trusted"].as_bool()),
            (Some("added"), Some(true)),
            "{v}"
        );
        let again = l.json(&[
            "vex",
            "import",
            &l.p("api.vex.dsse.json"),
            "--policy",
            &policy,
        ]);
        assert_eq!(again["outcome"], "unchanged");
        let f = l.json(&["vulns", &api]);
        let vex = &f.as_array().unwrap()[0]["vex"];
        assert_eq!(
            (vex["status"].as_str(), vex["trusted"].as_bool()),
            (Some("not_affected"), Some(true)),
            "the trusted statement comes first: {f}"
        );
        let (m, _) = posture(l, &[]);
        assert_eq!(
            decisions(&m),
            [
                ("shop-staging/Deployment/api", "allow"),
                ("shop-staging/Deployment/web", "allow"),
                ("shop/Deployment/api", "allow"),
            ],
            "[{}] {m:?}",
            l.engine()
        );

        // Version 2 says affected: the finding is back. An older version
        // afterwards is a conflict (exit 2) and changes nothing.
        let v2 = openvex(
            "https://vex.example/shop/api-1",
            2,
            "CVE-2023-39325",
            &product,
            "pkg:golang/golang.org/x/net@v0.7.0",
            "affected",
        );
        let mut v2 = v2;
        v2["statements"][0]["action_statement"] = json!("upgrade golang.org/x/net");
        std::fs::write(l.path("api.vex.json"), v2.to_string()).unwrap();
        signed("vex", "api-2.vex.dsse.json");
        let v = l.json(&[
            "vex",
            "import",
            &l.p("api-2.vex.dsse.json"),
            "--policy",
            &policy,
        ]);
        assert_eq!(v["outcome"], "replaced", "{v}");
        let (m, _) = posture(l, &[]);
        assert_eq!(m["shop-staging/Deployment/api"].0, "deny", "{m:?}");
        let o = l.run(&[
            "vex",
            "import",
            &l.p("api.vex.dsse.json"),
            "--policy",
            &policy,
        ]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("not newer"),
            "{o:?}"
        );
        let (full, _) = posture(l, &["--full"]);
        assert_eq!(full, m);
        assert_eq!(posture_agrees_with_eval(l), 3);
    });
}

#[test]
fn openvex_specification_examples() {
    let Some(dir) = shared_data("openvex/spec-extracted") else {
        return;
    };
    each(|l| {
        keygen(l, "wolfi");
        let policy = {
            let p = l.path("trust.json");
            std::fs::write(
                &p,
                json!({"vex_authors": {"Wolfi J Inkinson": [{"path": "wolfi.pub"}]}}).to_string(),
            )
            .unwrap();
            p.display().to_string()
        };
        let sign_import = |name: &str| {
            let src = dir.join(name);
            let out = l.p(&format!("{name}.dsse.json"));
            l.ok(&[
                "vex",
                "sign",
                src.to_str().unwrap(),
                "--key",
                &l.p("wolfi.key"),
                "--out",
                &out,
            ]);
            l.run(&["--json", "vex", "import", &out, "--policy", &policy])
        };
        let o = sign_import("OPENVEX-SPEC_block00.json");
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (v["trusted"].as_bool(), v["rows"].as_u64()),
            (Some(true), Some(2)),
            "two products: {v}"
        );
        assert_eq!(v["unmatched"], json!([]));
        // The README's example and block05 reuse block00's @id and version
        // with other content: a version that is not newer replaces nothing.
        for other in ["README_block00.json", "OPENVEX-SPEC_block05.json"] {
            let o = sign_import(other);
            assert_eq!(o.status.code(), Some(2), "{o:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(other) && err.contains("not newer"), "{err}");
        }
        let docs = l.json(&["vex", "list"]);
        assert_eq!(docs.as_array().unwrap().len(), 1, "{docs}");
        assert_eq!(docs[0]["statements"], 2, "{docs}");
        // The fragments (elided documents) are exit 2 naming the file.
        let mut fragments = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if !p.to_string_lossy().ends_with(".fragment.json") {
                continue;
            }
            fragments += 1;
            let o = l.run(&["vex", "import", p.to_str().unwrap(), "--allow-unsigned"]);
            assert_eq!(o.status.code(), Some(2), "{}: {o:?}", p.display());
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(String::from_utf8_lossy(&o.stderr).contains(&name), "{o:?}");
        }
        assert!(fragments >= 4);
        assert_eq!(l.json(&["vex", "list"]).as_array().unwrap().len(), 1);
    });
}

#[test]
fn policy_test_runs_fixtures() {
    let l = Ledger::sqlite();
    let v = l.json(&["policy", "test"]);
    let all = v.as_array().unwrap();
    assert!(all.len() >= 18, "{v}");
    assert!(all.iter().all(|r| r["passed"] == true), "{v}");
    // A fixture that expects the wrong decision fails, naming what differed.
    let dir = l.path("fixtures");
    std::fs::create_dir(&dir).unwrap();
    let src =
        common::root().join("crates/buildledger-service/policy/tests/deny-untrusted-build.json");
    let mut f: Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    f["expect"]["decision"] = json!("allow");
    std::fs::write(dir.join("wrong.json"), f.to_string()).unwrap();
    let o = l.run(&["policy", "test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("FAIL ")
            && out.contains("wrong.json")
            && out.contains("expected allow")
            && out.contains("0 passed, 1 failed"),
        "{out}"
    );
    // A fixture that is not one is exit 2 naming it.
    std::fs::write(dir.join("broken.json"), "{\"input\": {").unwrap();
    let o = l.run(&["policy", "test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken.json"),
        "{o:?}"
    );
}
