//! Issue 9, items 1, 3 and 5, end to end with the real binary on both
//! engines: trust cannot be claimed by input, the audit log catches edits to
//! stored records (and, against a signed checkpoint, truncation), and every
//! file the record/attest/audit commands read is bounded before it is read.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{Ledger, each, in_ci};

fn hex_digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn records(l: &Ledger) -> u64 {
    l.json(&["info"])["stats"]["records"].as_u64().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run with `stdin` fed from `input` (bytes, or a file when `from` is set).
fn run_stdin(l: &Ledger, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .current_dir(common::root())
        .env("BUILDLEDGER_DB", &l.db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut sin = child.stdin.take().unwrap();
        let _ = sin.write_all(input);
    }
    child.wait_with_output().unwrap()
}

fn assert_bad_input(o: &Output, words: &[&str], what: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{what}: want exit 2; stderr: {e}");
    assert!(!e.contains("panicked"), "{what}: {e}");
    for w in words {
        assert!(e.contains(w), "{what}: stderr should name {w:?}: {e}");
    }
}

#[test]
fn submitted_records_cannot_claim_trust() {
    each(|l| {
        let d = "a".repeat(64);
        let forged = [
            // The issue's reproduction.
            (
                format!(
                    r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"origin":"attestation","trust":{{"state":"verified","key_id":"x"}}}}"#
                ),
                "origin",
            ),
            (
                format!(
                    r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"trust":{{"state":"observed"}}}}"#
                ),
                "trust",
            ),
            (
                format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"origin":"indexer"}}"#),
                "origin",
            ),
            (
                format!(
                    r#"[{{"subjects":[{{"digest":"sha256:{d}"}}]}},{{"subjects":[{{"digest":"sha256:{d}"}}],"trust":{{"state":"verified","key_id":"k"}}}}]"#
                ),
                "[1].trust",
            ),
        ];
        for (doc, field) in &forged {
            let o = run_stdin(l, &["record", "--file", "-"], doc.as_bytes());
            assert_bad_input(&o, &["<stdin>", field, "set by the ledger"], doc);
            let f = l.path("forged.json");
            std::fs::write(&f, doc).unwrap();
            let o = l.run(&["record", "--file", f.to_str().unwrap()]);
            assert_bad_input(&o, &["forged.json", field], doc);
        }
        assert_eq!(records(l), 0, "nothing stored");
        let hits = l.json(&["query", "--trusted-only", "--commit", "1234567"]);
        assert_eq!(hits, Value::Array(vec![]));

        // The same record without the forged fields is a plain CI claim.
        let o = run_stdin(
            l,
            &["--json", "record", "--file", "-"],
            format!(
                r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"source":{{"commit":"1234567"}}}}"#
            )
            .as_bytes(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let v = l.json(&["show", &format!("sha256:{d}")]);
        assert_eq!(v["records"][0]["origin"], "ci", "{v}");
        assert_eq!(v["records"][0]["trust"]["state"], "unverified", "{v}");
        assert_eq!(
            l.json(&["query", "--trusted-only", "--commit", "1234567"]),
            Value::Array(vec![])
        );
        // `show` output fed back is refused, not silently re-trusted.
        let shown = serde_json::to_vec(&v["records"][0]).unwrap();
        let o = run_stdin(l, &["record", "--file", "-"], &shown);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(records(l), 1);
    });
}

#[test]
fn attestation_bodies_and_caller_named_digests_are_not_trusted() {
    each(|l| {
        // An envelope signed by a key that no policy pins, whose parameters
        // claim trust: kept only as unverified, never trusted.
        let k = l.json(&["keygen", "--out", &l.p("rogue")]);
        assert!(k["key_id"].is_string());
        let rec = l.path("rec.json");
        let d = hex_digest('b');
        std::fs::write(
            &rec,
            format!(
                r#"{{"subjects":[{{"digest":"{d}"}}],"builder":{{"id":"https://ci.example/rogue"}},"labels":{{"trust":"verified","origin":"attestation"}}}}"#
            ),
        )
        .unwrap();
        let env = l.p("rogue.dsse.json");
        l.ok(&[
            "attest",
            "--file",
            rec.to_str().unwrap(),
            "--key",
            &l.p("rogue.key"),
            "--out",
            &env,
        ]);
        let policy = l.path("policy.json");
        std::fs::write(&policy, r#"{"builders":{}}"#).unwrap();
        let o = l.run(&[
            "record",
            "--attestation",
            &env,
            "--policy",
            policy.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(records(l), 0);
        l.ok(&[
            "record",
            "--attestation",
            &env,
            "--policy",
            policy.to_str().unwrap(),
            "--allow-unverified",
        ]);
        let v = l.json(&["show", &d]);
        assert_eq!(v["records"][0]["origin"], "attestation");
        assert_eq!(v["records"][0]["trust"]["state"], "unverified", "{v}");

        // A file: scan names its own digest: indexed by us, but unverified.
        let bin = l.path("blob.bin");
        std::fs::write(&bin, b"not an executable").unwrap();
        let d2 = hex_digest('c');
        let o = l.run(&[
            "scan",
            &format!("file:{}", bin.display()),
            "--digest",
            &d2,
            "--record",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v = l.json(&["show", &d2]);
        assert_eq!(v["records"][0]["origin"], "indexer", "{v}");
        assert_eq!(v["records"][0]["trust"]["state"], "unverified", "{v}");
        let trusted = l.json(&["query", "--trusted-only", "--api-stability", "stable"]);
        assert_eq!(trusted, Value::Array(vec![]));
        let table = l.json(&["table"]);
        assert_eq!(table.as_array().unwrap().len(), 2, "{table}");
    });
}

/// Run SQL against the ledger behind buildledger's back.
fn tamper(l: &Ledger, sql: &str) -> bool {
    match &l.pg_schema {
        Some(schema) => {
            let mut c = postgres::Client::connect(&common::pg_url(), postgres::NoTls).unwrap();
            c.batch_execute(&format!("SET search_path TO {schema}; {sql}"))
                .unwrap();
            true
        }
        None => match Command::new("sqlite3").arg(&l.db).arg(sql).output() {
            Ok(o) => {
                assert!(o.status.success(), "sqlite3: {}", stderr(&o));
                true
            }
            Err(e) => {
                assert!(!in_ci(), "CI=true but sqlite3 is missing: {e}");
                eprintln!("SKIP sqlite half: sqlite3 missing: {e}");
                false
            }
        },
    }
}

fn verify(l: &Ledger, extra: &[&str]) -> (i32, Value) {
    let mut a = vec!["audit", "verify"];
    a.extend_from_slice(extra);
    l.json_code(&a)
}

#[test]
fn audit_verify_catches_edits_deletions_and_truncation() {
    each(|l| {
        for c in ['1', '2', '3'] {
            l.ok(&[
                "record",
                "--digest",
                &hex_digest(c),
                "--repo",
                "https://github.com/acme/app",
                "--commit",
                &c.to_string().repeat(40),
                "--component",
                "pkg:golang/golang.org/x/net@v0.17.0",
            ]);
        }
        let (code, v) = verify(l, &[]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["records"], 3, "{v}");

        // The issue's reproduction: a stored record edited in place.
        if !tamper(
            l,
            "UPDATE records SET source_repo = 'https://evil' WHERE id = 1",
        ) {
            return;
        }
        let (code, v) = verify(l, &[]);
        assert_eq!(code, 3, "{v}");
        assert!(
            v["problems"][0].as_str().unwrap().contains("record 1"),
            "{v}"
        );
        tamper(
            l,
            "UPDATE records SET source_repo = 'https://github.com/acme/app' WHERE id = 1",
        );
        assert_eq!(verify(l, &[]).0, 0, "restored");

        // A signed checkpoint of the head, kept outside the database.
        l.ok(&["keygen", "--out", &l.p("op")]);
        let cp = l.p("checkpoint.json");
        l.ok(&["audit", "checkpoint", "--key", &l.p("op.key"), "--out", &cp]);
        let with_cp = [
            "--checkpoint",
            cp.as_str(),
            "--checkpoint-key",
            &l.p("op.pub"),
        ];
        let with_cp: Vec<&str> = with_cp.to_vec();
        let (code, v) = verify(l, &with_cp);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["checkpoint"]["ok"], true, "{v}");

        // A checkpoint checked with another key is refused as bad input.
        l.ok(&["keygen", "--out", &l.p("other")]);
        let o = l.run(&[
            "audit",
            "verify",
            "--checkpoint",
            &cp,
            "--checkpoint-key",
            &l.p("other.pub"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

        // Deleting the last entry un-seals record 3: caught even without a checkpoint.
        tamper(
            l,
            "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)",
        );
        let (code, v) = verify(l, &[]);
        assert_eq!(code, 3, "{v}");
        assert!(v.to_string().contains("record 3 has no audit entry"), "{v}");
        // And the checkpoint says the log was cut.
        let (code, v) = verify(l, &with_cp);
        assert_eq!(code, 3, "{v}");
        assert!(
            v["checkpoint"]["problem"]
                .as_str()
                .unwrap()
                .contains("truncated"),
            "{v}"
        );

        // A whole record deleted with its seal: only the checkpoint tells.
        let l2 = Ledger::sqlite();
        if l.pg_schema.is_none() {
            for c in ['4', '5'] {
                l2.ok(&["record", "--digest", &hex_digest(c)]);
            }
            l2.ok(&["keygen", "--out", &l2.p("op")]);
            let cp2 = l2.p("cp.json");
            l2.ok(&[
                "audit",
                "checkpoint",
                "--key",
                &l2.p("op.key"),
                "--out",
                &cp2,
            ]);
            for t in [
                "records",
                "record_bodies",
                "record_links",
                "record_subjects",
                "postings_pending",
            ] {
                let col = if t == "records" { "id" } else { "record_id" };
                tamper(&l2, &format!("DELETE FROM {t} WHERE {col} = 2"));
            }
            tamper(&l2, "DELETE FROM audit_log WHERE id = 2");
            let (code, v) = verify(&l2, &[]);
            assert_eq!(code, 0, "undetectable without an anchor: {v}");
            let (code, v) = verify(
                &l2,
                &["--checkpoint", &cp2, "--checkpoint-key", &l2.p("op.pub")],
            );
            assert_eq!(code, 3, "{v}");
        }
    });
}

#[test]
fn inputs_are_bounded_before_they_are_read() {
    let l = Ledger::sqlite();
    let dir = l.dir.path();
    let fifo = dir.join("record.json");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let fifo = fifo.display().to_string();
    let big = dir.join("big.json");
    std::fs::write(
        &big,
        format!(
            r#"{{"subjects":[{{"digest":"{}"}}],"labels":{{"pad":"{}"}}}}"#,
            hex_digest('d'),
            "x".repeat(4096)
        ),
    )
    .unwrap();
    let big = big.display().to_string();
    l.ok(&["keygen", "--out", &l.p("k")]);
    let policy = l.path("policy.json");
    std::fs::write(&policy, r#"{"builders":{}}"#).unwrap();
    let policy = policy.display().to_string();
    let d = hex_digest('e');
    let cases: Vec<(Vec<&str>, Vec<&str>, &str)> = vec![
        (
            vec!["record", "--file", "/dev/zero"],
            vec!["/dev/zero", "not a regular file"],
            "device",
        ),
        (
            vec!["record", "--file", &fifo],
            vec!["record.json", "fifo"],
            "fifo",
        ),
        (
            vec!["record", "--attestation", "/dev/zero", "--policy", &policy],
            vec!["/dev/zero"],
            "attestation device",
        ),
        (
            vec!["record", "--attestation", &fifo, "--policy", &policy],
            vec!["fifo"],
            "attestation fifo",
        ),
        (
            vec!["record", "--attestation", &big, "--policy", "/dev/zero"],
            vec!["/dev/zero"],
            "policy device",
        ),
        (
            vec!["record", "--attestation", &big, "--policy", &fifo],
            vec!["record.json"],
            "policy fifo",
        ),
        (
            vec!["record", "--digest", &d, "--api", "/dev/zero"],
            vec!["--api", "/dev/zero"],
            "api device",
        ),
        (
            vec!["record", "--digest", &d, "--api", &fifo],
            vec!["--api", "fifo"],
            "api fifo",
        ),
        (
            vec![
                "attest",
                "--digest",
                &d,
                "--builder-id",
                "b",
                "--key",
                "/dev/zero",
            ],
            vec!["--key", "/dev/zero"],
            "key device",
        ),
        (
            vec!["attest", "--file", &fifo, "--key", "k.key"],
            vec!["fifo"],
            "attest fifo",
        ),
    ];
    for (args, words, what) in &cases {
        let o = l.run(args);
        assert_bad_input(&o, words, what);
    }
    // Over a limit, the message says which variable raises it.
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .env("BUILDLEDGER_DB", &l.db)
        .env("BUILDLEDGER_MAX_RECORD_BYTES", "1K")
        .args(["record", "--file", &big])
        .output()
        .unwrap();
    assert_bad_input(
        &o,
        &["big.json", "1024 bytes", "BUILDLEDGER_MAX_RECORD_BYTES"],
        "limit",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .env("BUILDLEDGER_DB", &l.db)
        .env("BUILDLEDGER_MAX_RECORD_BYTES", "lots")
        .args(["record", "--file", &big])
        .output()
        .unwrap();
    assert_bad_input(&o, &["BUILDLEDGER_MAX_RECORD_BYTES"], "bad limit value");
    // An endless standard input stops at the limit.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .env("BUILDLEDGER_DB", &l.db)
        .args(["record", "--file", "-"])
        .stdin(zero)
        .output()
        .unwrap();
    assert_bad_input(&o, &["<stdin>", "limit"], "endless stdin");
    // Under the limit it is read.
    l.ok(&["record", "--file", &big]);
    assert_eq!(records(&l), 1);
}
