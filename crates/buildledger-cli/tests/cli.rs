//! End-to-end tests of the `buildledger` binary on both engines, with the
//! example data the repository ships.

use std::path::Path;
use std::process::Command;

mod common;
use common::{Ledger, each};

const PAYMENTS_INDEX: &str =
    "sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a";
const PAYMENTS_AMD64: &str =
    "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const WORKER: &str = "sha256:4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";
const CHECKOUT: &str = "sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";

fn load_examples(l: &Ledger) {
    l.ok(&[
        "record",
        "--file",
        "examples/records/payments-api.json",
        "--file",
        "examples/records/ledger-worker.json",
    ]);
    l.ok(&[
        "record",
        "--digest",
        CHECKOUT,
        "--repo",
        "https://github.com/example/checkout",
        "--commit",
        "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
        "--toolchain",
        "go@1.21.5",
        "--component",
        "pkg:golang/golang.org/x/net@v0.17.0",
        "--api",
        "examples/openapi/checkout.yaml",
    ]);
}

fn digests(v: &serde_json::Value) -> Vec<String> {
    let mut d: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["digest"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d.dedup();
    d
}

#[test]
fn record_then_query_the_examples() {
    each(|l| {
        load_examples(l);
        // exact toolchain: the payments index and both its platform manifests
        let v = l.json(&["query", "--toolchain", "go@1.13.4"]);
        assert_eq!(digests(&v).len(), 3, "{v}");
        assert!(digests(&v).contains(&PAYMENTS_AMD64.to_string()));
        // ranges use Go's toolchain order
        assert_eq!(
            digests(&l.json(&["query", "--toolchain", "go@<1.14"])).len(),
            3
        );
        assert_eq!(
            digests(&l.json(&["query", "--toolchain", "go@>=1.14"])),
            vec![CHECKOUT.to_string()]
        );
        assert_eq!(
            digests(&l.json(&["query", "--toolchain", "go@go1.21.5"])),
            vec![CHECKOUT.to_string()]
        );
        // package with a constraint in Go's semver order (pseudo-version < v0.7.0)
        let v = l.json(&["query", "--package", "pkg:golang/golang.org/x/net@<0.7.0"]);
        assert_eq!(digests(&v).len(), 3);
        assert_eq!(v[0]["matched"][0], "v0.0.0-20191109021931-daa7c04131f5");
        assert_eq!(
            digests(&l.json(&["query", "--package", "pkg:golang/golang.org/x/net"])).len(),
            4
        );
        assert_eq!(
            digests(&l.json(&["query", "--package", "pkg:golang/golang.org/x/net@v0.17.0"])),
            vec![CHECKOUT.to_string()]
        );
        // API stability: checkout has /v2beta1, the worker an alpha gRPC method
        assert_eq!(
            digests(&l.json(&["query", "--api-stability", "beta"])),
            vec![CHECKOUT.to_string()]
        );
        let mut alpha = digests(&l.json(&["query", "--api-stability", "alpha"]));
        alpha.sort();
        let mut want = vec![CHECKOUT.to_string(), WORKER.to_string()];
        want.sort();
        assert_eq!(alpha, want);
        // repo, commit prefix, tag
        assert_eq!(
            digests(&l.json(&[
                "query",
                "--repo",
                "https://github.com/example/ledger-worker"
            ])),
            vec![WORKER.to_string()]
        );
        assert_eq!(
            digests(&l.json(&["query", "--commit", "9c1d2e3f4a"])),
            vec![WORKER.to_string()]
        );
        assert_eq!(digests(&l.json(&["query", "--tag", "v1.4.2"])).len(), 3);
        // --fail-on-match gives exit 3 when something matched, 0 when not
        assert_eq!(
            l.run(&["query", "--toolchain", "go@1.13.4", "--fail-on-match"])
                .status
                .code(),
            Some(3)
        );
        assert_eq!(
            l.run(&["query", "--toolchain", "go@1.9", "--fail-on-match"])
                .status
                .code(),
            Some(0)
        );
    });
}

#[test]
fn show_table_and_conflicts() {
    each(|l| {
        load_examples(l);
        let v = l.json(&["show", PAYMENTS_AMD64]);
        assert_eq!(v["indexes"][0]["digest"], PAYMENTS_INDEX);
        assert_eq!(v["records"][0]["source"]["tag"], "v1.4.2");
        assert_eq!(v["records"][0]["toolchains"][0]["version"], "1.13.4");
        let text = l.ok(&["show", PAYMENTS_INDEX]);
        assert!(
            text.contains("manifest:    sha256:1b2c3d4e") && text.contains("linux/arm64"),
            "{text}"
        );
        // a conflicting claim is kept and reported
        l.ok(&[
            "record",
            "--digest",
            PAYMENTS_INDEX,
            "--commit",
            "0000000d2b1e4f5a6b7c8d9e0f1a2b3c4d5e6f70",
        ]);
        let v = l.json(&["show", PAYMENTS_INDEX]);
        assert_eq!(v["records"].as_array().unwrap().len(), 2);
        assert_eq!(v["conflicts"][0]["field"], "source.commit");
        let c = l.json(&["conflicts"]);
        assert_eq!(c[0]["digest"], PAYMENTS_INDEX);
        // the mapping table, as CSV: header + one row per digest with records
        let csv = l.ok(&["table", "--format", "csv"]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "DIGEST,REPO,TAG,COMMIT,TOOLCHAINS,APIS,COMPONENTS,RECORDS,CONFLICT"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(PAYMENTS_INDEX) && l.ends_with(",yes")),
            "{csv}"
        );
        assert_eq!(lines.len(), 1 + 5, "{csv}");
        let checkout = lines.iter().find(|l| l.starts_with(CHECKOUT)).unwrap();
        assert!(
            checkout.contains("go@1.21.5") && checkout.contains("v2beta1 (beta)"),
            "{checkout}"
        );
        let t = l.json(&["table"]);
        let row = t
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["digest"] == PAYMENTS_INDEX)
            .unwrap();
        assert_eq!(row["conflict"], true);
        assert_eq!(row["records"], 2);
    });
}

#[test]
fn bad_input_is_exit_2_names_the_problem_and_stores_nothing() {
    each(|l| {
        let o = l.run(&["record", "--digest", "sha256:1234"]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--digest") && err.contains("64 hex digits"),
            "{err}"
        );

        let o = l.run(&[
            "record",
            "--digest",
            CHECKOUT,
            "--component",
            "pkg:golang/x",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("has no version"));

        let o = l.run(&["record", "--digest", CHECKOUT, "--toolchain", "go"]);
        assert_eq!(o.status.code(), Some(2));

        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, format!(r#"{{"subjects":[{{"digest":"{CHECKOUT}"}}],"components":[{{"purl":"not-a-purl"}}]}}"#)).unwrap();
        let o = l.run(&[
            "record",
            "--file",
            "examples/records/ledger-worker.json",
            "--file",
            bad.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("bad.json") && err.contains("components[0].purl"),
            "{err}"
        );

        let trunc = dir.path().join("trunc.json");
        std::fs::write(&trunc, r#"{"subjects":[{"digest":"#).unwrap();
        let o = l.run(&["record", "--file", trunc.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("trunc.json"));

        let o = l.run(&["query", "--toolchain", "go@<<1"]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = l.run(&["show", "nonsense"]);
        assert_eq!(o.status.code(), Some(2));
        let o = l.run(&["query", "--api-stability", "gold"]);
        assert_eq!(o.status.code(), Some(2));

        // nothing of the above was stored — not even the good file before the bad one
        let info = l.json(&["info"]);
        assert_eq!(info["stats"]["records"], 0, "{info}");
        // an unknown digest is a runtime miss, not bad input
        assert_eq!(l.run(&["show", CHECKOUT]).status.code(), Some(1));
    });
}

#[test]
fn database_errors_do_not_leak_passwords() {
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .args([
            "--db",
            "postgres://admin:s3cr3t-pw@127.0.0.1:1/none",
            "info",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("s3cr3t-pw"), "{err}");
    assert!(err.contains("admin:***@127.0.0.1:1"), "{err}");
}

#[test]
fn scan_exports_an_sbom_that_imports_back() {
    // A real package database: this machine's dpkg status and os-release in a dir: source.
    let status = Path::new("/var/lib/dpkg/status");
    if !status.exists() {
        buildledger_testkit::ci::skip_or_fail(&status.display().to_string());
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::copy(status, root.path().join("var/lib/dpkg/status")).unwrap();
    std::fs::copy("/etc/os-release", root.path().join("etc/os-release")).unwrap();
    let src = format!("dir:{}", root.path().display());
    each(|l| {
        let scan = l.json(&["scan", &src]);
        let comps: Vec<String> = scan["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["purl"].as_str().unwrap().to_string())
            .collect();
        let installed = std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${db:Status-Abbrev}\n"])
            .output()
            .unwrap();
        let n_installed = String::from_utf8_lossy(&installed.stdout)
            .lines()
            .filter(|s| s.starts_with("ii"))
            .count();
        assert_eq!(
            comps.len(),
            n_installed,
            "one component per installed package"
        );
        for (i, format) in ["cyclonedx", "spdx"].iter().enumerate() {
            let out = l.ok(&["scan", &src, "--format", format]);
            let file = root.path().join(format!("sbom-{format}.json"));
            std::fs::write(&file, out).unwrap();
            let digest = format!("sha256:{}", format!("{i}").repeat(64));
            let rec = l.json(&[
                "sbom",
                "import",
                file.to_str().unwrap(),
                "--digest",
                &digest,
            ]);
            assert_eq!(rec["skipped"], 0, "{rec}");
            let show = l.json(&["show", &digest]);
            assert_eq!(show["records"][0]["origin"], "sbom");
            let mut back: Vec<String> = show["records"][0]["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["purl"].as_str().unwrap().to_string())
                .collect();
            back.sort();
            let mut want = comps.clone();
            want.sort();
            assert_eq!(back, want, "{format}: purls survive scan → SBOM → import");
        }
        // A dir: scan has no digest, so its SBOM names none: importing it without --digest is bad input.
        let file = root.path().join("sbom-cyclonedx.json");
        let o = l.run(&["sbom", "import", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("names no image digest"));
    });
}
