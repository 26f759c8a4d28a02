//! Snapshots of what users see: every table, `show`, CSV, the error lines
//! on stderr and every `--json` shape, pinned with `insta` over the README's
//! flow (the example records, flags, a conflicting claim, real advisories,
//! a signed attestation). Volatile parts (temporary paths, times, durations,
//! key ids, the database target) are replaced by placeholders first.
//!
//! Both engines run the flow; the PostgreSQL transcript must equal the
//! SQLite one, which is the snapshot. Each `--json` output is also checked
//! against its schema in `schema/results/` (python3 `jsonschema`, the
//! reference validator; missing, it skips locally and fails in CI).
//!
//! Update after an intended change: `INSTA_UPDATE=always cargo test -p
//! buildledger-cli --test snapshots`, then review the diff of
//! `tests/snapshots/`.

mod common;

use common::{Ledger, root};

const PAYMENTS: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const PAYMENTS_INDEX: &str =
    "sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a";
const CHECKOUT: &str = "sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
const ALPINE: &str = "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const SBOM_DIGEST: &str = "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const BUILDER: &str = "https://ci.example/builders/github-actions";

/// One command's transcript, normalised, and its raw standard output.
fn transcript(l: &Ledger, args: &[&str], subs: &[(String, String)]) -> (i32, String, String) {
    let o = l.run(args);
    let code = o.status.code().unwrap_or(-1);
    let mut text = format!(
        "$ buildledger {}\n--- exit {code}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for (from, to) in subs {
        text = text.replace(from.as_str(), to);
    }
    (
        code,
        normalise(&text),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Times, durations and generated key ids become placeholders.
fn normalise(s: &str) -> String {
    let rules = [
        // RFC 3339 times (record_time, first_seen, changes) and checkpoint times.
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIME]",
        ),
        (r"\d+\.\d+s\b", "[SECS]s"),
        (r#""(seconds|read_seconds)": [0-9.e-]+"#, r#""$1": [SECS]"#),
        // A generated key's id (64 hex digits not preceded by "sha256:").
        (r"key(_id)?(\W+)[0-9a-f]{64}", "key$1$2[KEY-ID]"),
        (r"head(\W+)[0-9a-f]{64}", "head$1[HEAD]"),
        (r#""head": "[0-9a-f]{64}""#, r#""head": "[HEAD]""#),
        // The engine is the one thing both engines may say differently.
        (
            r#""engine": "(sqlite|postgres)""#,
            r#""engine": "[ENGINE]""#,
        ),
    ];
    let mut out = s.to_string();
    for (re, to) in rules {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, to)
            .into_owned();
    }
    out
}

/// The README's flow; every step's transcript, and the JSON outputs with
/// the schema they must follow.
fn flow(l: &Ledger, alpine: &std::path::Path) -> (String, Vec<(String, String)>) {
    let dir = l.dir.path().display().to_string();
    let subs = vec![
        (l.db.clone(), "[DB]".to_string()),
        (dir, "[DIR]".to_string()),
        (alpine.display().to_string(), "[ALPINE]".to_string()),
    ];
    let keys = l.p("ci-builder");
    let policy = l.p("trusted-builders.json");
    let envelope = l.p("checkout.intoto.json");
    let cp = l.p("cp.json");
    let mut json_outputs = Vec::new();
    let mut all = String::new();
    let mut step = |args: &[&str], schema: Option<&str>| {
        let (code, t, stdout) = transcript(l, args, &subs);
        all.push_str(&t);
        all.push('\n');
        if let Some(s) = schema {
            assert_eq!(code, 0, "{t}");
            json_outputs.push((s.to_string(), stdout));
        }
    };
    let checkout_flags = [
        "--digest",
        CHECKOUT,
        "--repo",
        "https://github.com/example/checkout",
        "--commit",
        "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
        "--tag",
        "v3.1.0",
        "--builder-id",
        BUILDER,
        "--toolchain",
        "go@1.21.5",
        "--component",
        "pkg:golang/golang.org/x/net@v0.17.0",
    ];

    // Reads of a ledger that does not exist yet.
    step(&["show", PAYMENTS], None);
    // Writes.
    step(
        &[
            "record",
            "--file",
            "examples/records/payments-api.json",
            "--file",
            "examples/records/ledger-worker.json",
        ],
        None,
    );
    let mut flags = vec!["--json", "record"];
    flags.extend_from_slice(&checkout_flags);
    flags.extend_from_slice(&["--ref", "registry.example/shop/checkout:3.1.0"]);
    flags.extend_from_slice(&["--api", "examples/openapi/checkout.yaml"]);
    step(&flags, Some("record"));
    step(
        &[
            "record",
            "--digest",
            PAYMENTS_INDEX,
            "--repo",
            "https://github.com/example/payments",
            "--commit",
            "0000000d2b1e4f5a6b7c8d9e0f1a2b3c4d5e6f70",
            "--toolchain",
            "go@1.13.4",
        ],
        None,
    );
    // Bad input: each names the flag or file and the field.
    step(&["record", "--digest", "sha256:abc"], None);
    step(
        &[
            "record",
            "--digest",
            CHECKOUT,
            "--component",
            "pkg:golang/x",
        ],
        None,
    );
    step(
        &["record", "--file", "examples/openapi/checkout.yaml"],
        None,
    );
    step(&["query", "--toolchain", "go@banana"], None);
    step(&["changes", "--since", "5w"], None);
    step(&["vulns", "sha256:1234"], None);
    // Reads, as tables and as JSON.
    for q in [
        &["query", "--toolchain", "go@1.13.4"][..],
        &["query", "--toolchain", "go@<1.20"],
        &["query", "--package", "pkg:golang/golang.org/x/net@<0.7.0"],
        &["query", "--api-stability", "beta"],
        &[
            "query",
            "--repo",
            "https://github.com/example/nothing",
            "--fail-on-match",
        ],
    ] {
        step(q, None);
        let mut j = vec!["--json"];
        j.extend_from_slice(q);
        step(&j, Some("query"));
    }
    step(&["show", PAYMENTS], None);
    step(&["--json", "show", PAYMENTS], Some("show"));
    step(&["show", PAYMENTS_INDEX], None);
    step(&["conflicts"], None);
    step(&["--json", "conflicts"], Some("conflicts"));
    step(&["table"], None);
    step(&["table", "--format", "csv"], None);
    step(&["--json", "table"], Some("table"));
    step(&["--json", "info"], Some("info"));
    // Feeds and findings.
    step(&["feed", "import", "examples/advisories"], None);
    step(
        &["--json", "feed", "import", "examples/advisories"],
        Some("feed-import"),
    );
    step(&["feed", "import", "examples/records"], None);
    step(&["vulns", PAYMENTS], None);
    step(&["--json", "vulns", PAYMENTS], Some("vulns"));
    step(&["vulns", PAYMENTS, "--fail-on-findings"], None);
    step(&["affected", "CVE-2023-39325"], None);
    step(&["--json", "affected", "CVE-2023-39325"], Some("affected"));
    step(&["affected", "CVE-0000-0000"], None);
    step(&["--json", "changes", "--since", "1h"], Some("changes"));
    step(&["--json", "rematch"], Some("rematch"));
    step(&["mismatches"], None);
    step(&["--json", "mismatches"], Some("mismatches"));
    step(&["lineage", PAYMENTS], None);
    // Indexing: a real Alpine 3.14 package database, as a table, as JSON,
    // recorded under a named digest; its CycloneDX SBOM imported back.
    let src = format!("dir:{}", alpine.display());
    step(&["scan", &src], None);
    step(&["--json", "scan", &src], Some("scan"));
    step(&["scan", &src, "--record"], None);
    step(&["scan", &src, "--record", "--digest", ALPINE], None);
    step(&["query", "--package", "pkg:apk/alpine/musl@<1.2.3"], None);
    let sbom = l.p("alpine.cdx.json");
    let o = l.run(&["scan", &src, "--format", "cyclonedx"]);
    assert!(o.status.success());
    std::fs::write(&sbom, &o.stdout).unwrap();
    step(
        &["--json", "sbom", "import", &sbom, "--digest", SBOM_DIGEST],
        Some("sbom-import"),
    );
    step(&["sbom", "import", &sbom], None);
    // Chain of trust.
    step(&["--json", "keygen", "--out", &keys], Some("keygen"));
    std::fs::write(
        &policy,
        format!(r#"{{"builders": {{"{BUILDER}": [{{"path": "ci-builder.pub"}}]}}}}"#),
    )
    .unwrap();
    let key = format!("{keys}.key");
    let mut attest = vec!["--json", "attest", "--key", &key, "--out", &envelope];
    attest.extend_from_slice(&checkout_flags);
    step(&attest, Some("attest"));
    step(
        &["record", "--attestation", &envelope, "--policy", &policy],
        None,
    );
    step(&["record", "--attestation", &envelope], None);
    step(
        &["record", "--attestation", &policy, "--policy", &policy],
        None,
    );
    step(
        &[
            "query",
            "--repo",
            "https://github.com/example/checkout",
            "--trusted-only",
        ],
        None,
    );
    step(&["audit", "verify"], None);
    step(&["--json", "audit", "verify"], Some("audit-verify"));
    step(
        &["--json", "audit", "checkpoint", "--key", &key, "--out", &cp],
        Some("audit-checkpoint"),
    );
    let pubkey = format!("{keys}.pub");
    step(
        &[
            "audit",
            "verify",
            "--checkpoint",
            &cp,
            "--checkpoint-key",
            &pubkey,
        ],
        None,
    );
    step(&["--json", "migrate"], Some("migrate"));
    (all, json_outputs)
}

/// Validate each JSON output against its schema with python3 `jsonschema`.
fn check_schemas(outputs: &[(String, String)]) {
    let py = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !py.is_ok_and(|o| o.status.success()) {
        assert!(
            !common::in_ci(),
            "CI=true but python3 jsonschema is missing"
        );
        eprintln!("SKIP: python3 jsonschema not installed; schemas not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (i, (schema, out)) in outputs.iter().enumerate() {
        let f = dir.path().join(format!("{i}.json"));
        std::fs::write(&f, out).unwrap();
        cases.push(serde_json::json!([
            root().join(format!("schema/results/{schema}.v1.json")),
            f
        ]));
    }
    let list = dir.path().join("cases.json");
    std::fs::write(&list, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = r#"
import json, sys, jsonschema
bad = 0
for schema, doc in json.load(open(sys.argv[1])):
    s = json.load(open(schema))
    v = jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())
    for e in v.iter_errors(json.load(open(doc))):
        bad += 1
        print(f"{schema}: {doc}: {list(e.absolute_path)}: {e.message}")
print(f"{bad} schema violations")
sys.exit(1 if bad else 0)
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&list)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "JSON outputs violate their schemas:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        outputs.len() >= 20,
        "only {} JSON outputs checked",
        outputs.len()
    );
}

#[test]
fn what_users_see() {
    let Some(alpine) = common::shared_data("alpine-rootfs-3.14") else {
        return;
    };
    let sqlite = Ledger::sqlite();
    let (text, outputs) = flow(&sqlite, &alpine);
    insta::assert_snapshot!("readme_flow", text);
    check_schemas(&outputs);
    if let Some(pg) = Ledger::postgres() {
        let (pg_text, _) = flow(&pg, &alpine);
        assert_eq!(pg_text, text, "PostgreSQL transcript differs from SQLite's");
    }
}
