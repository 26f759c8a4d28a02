//! End-to-end tests of the chain of trust through the `buildledger` binary,
//! on SQLite and PostgreSQL: keygen → attest → `record --attestation`,
//! every way an envelope is rejected (exit 2, nothing stored, an audit
//! entry), interop with Python securesystemslib, audit-log tampering, and
//! claims cross-checked against real Go binaries built from a git checkout.
//!
//! Oracles: securesystemslib + in-toto-attestation (the provenance crate's
//! `sslib_oracle.py`), the Go toolchain and git (what a binary really was
//! built from), the `sqlite3` CLI / the `postgres` crate (to tamper with the
//! audit log behind the binary's back).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{Ledger, each, pg_url, root};

/// Whether something a test needs is there; skips (prints) or, under
/// `CI=true`, panics when it is not.
fn require(what: &str, available: bool, install: &str) -> bool {
    buildledger_testkit::ci::require(available, &format!("{what} (install with: {install})"))
}

fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------
// Harness: tests/common, plus what only these tests need

impl Ledger {
    fn records(&self) -> u64 {
        // A read never creates the ledger: before the first write there is none.
        let o = self.run(&["--json", "info"]);
        if o.status.code() == Some(1) && String::from_utf8_lossy(&o.stderr).contains("no ledger at")
        {
            return 0;
        }
        let v = self.json(&["info"]);
        v["stats"]["records"]
            .as_u64()
            .unwrap_or_else(|| panic!("info without stats.records: {v}"))
    }

    fn audit(&self) -> (i32, Value) {
        self.json_code(&["audit", "verify"])
    }

    fn audit_entries(&self) -> u64 {
        if self.records() == 0 && !self.run(&["info"]).status.success() {
            return 0; // no ledger yet: reads never create one
        }
        let (code, v) = self.audit();
        assert_eq!(code, 0, "audit log must be intact here: {v}");
        v["entries"].as_u64().unwrap()
    }

    /// Run one SQL statement against the ledger's database behind the
    /// binary's back; returns the first column of the first row, if any.
    fn sql(&self, stmt: &str) -> Option<String> {
        match &self.pg_schema {
            Some(schema) => {
                let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
                c.batch_execute(&format!("SET search_path TO {schema}"))
                    .unwrap();
                let rows = c.query(stmt, &[]).unwrap_or_else(|e| panic!("{stmt}: {e}"));
                rows.first().map(|r| r.get::<_, String>(0))
            }
            None => {
                let o = Command::new("sqlite3")
                    .arg(&self.db)
                    .arg(stmt)
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "sqlite3 {stmt}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                let s = String::from_utf8(o.stdout).unwrap();
                let s = s.strip_suffix('\n').unwrap_or(&s).to_string();
                (!s.is_empty()).then_some(s)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers

/// Checks of behaviour the ledger must have but (at the time of writing)
/// lacks: collected, so every engine and case still runs, and asserted at
/// the end of the test, which then fails with the whole list.
#[derive(Default)]
struct Collected(std::sync::Mutex<Vec<String>>);

impl Collected {
    fn check(&self, ok: bool, msg: impl FnOnce() -> String) {
        if !ok {
            let m = msg();
            eprintln!("FAILED CHECK (collected): {m}");
            self.0.lock().unwrap().push(m);
        }
    }

    fn assert_none(self) {
        let v = self.0.into_inner().unwrap();
        assert!(
            v.is_empty(),
            "{} failed check(s):\n{}",
            v.len(),
            v.join("\n")
        );
    }
}

const BUILDER: &str = "https://ci.example/builders/release@v1";
const OTHER_BUILDER: &str = "https://ci.example/builders/nightly@v1";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// `keygen`; returns the key id it printed.
fn keygen(l: &Ledger, prefix: &str, alg: &str) -> String {
    let v = l.json(&["keygen", "--algorithm", alg, "--out", &l.p(prefix)]);
    assert!(l.path(&format!("{prefix}.key")).exists() && l.path(&format!("{prefix}.pub")).exists());
    let id = v["key_id"]
        .as_str()
        .unwrap_or_else(|| panic!("keygen without key_id: {v}"))
        .to_string();
    assert!(!id.is_empty());
    id
}

/// `attest` a record for `digest` by `builder` with `key`, into `out`.
fn attest(l: &Ledger, key: &str, builder: &str, digest: &str, out: &str) -> Value {
    l.json(&[
        "attest",
        "--key",
        &l.p(&format!("{key}.key")),
        "--out",
        &l.p(out),
        "--digest",
        digest,
        "--repo",
        "https://git.example/team/app",
        "--commit",
        COMMIT,
        "--tag",
        "v1.0.0",
        "--toolchain",
        "go@1.19.8",
        "--builder-id",
        builder,
        "--component",
        "pkg:golang/golang.org/x/net@v0.17.0",
    ])
}

fn write_policy(l: &Ledger, name: &str, builders: &[(&str, &[&str])]) -> String {
    let mut m = serde_json::Map::new();
    for (b, keys) in builders {
        let keys: Vec<Value> = keys
            .iter()
            .map(|k| serde_json::json!({"path": format!("{k}.pub")}))
            .collect();
        m.insert(b.to_string(), Value::Array(keys));
    }
    let path = l.path(name);
    std::fs::write(&path, serde_json::json!({"builders": m}).to_string()).unwrap();
    path.display().to_string()
}

fn show(l: &Ledger, d: &str) -> Value {
    l.json(&["show", d])
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// Base64 (standard alphabet), only to take envelopes apart in tests.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = B64
            .iter()
            .position(|&x| x == c)
            .unwrap_or_else(|| panic!("not base64: {c}")) as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn base64_helper_round_trips() {
    for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
        assert_eq!(b64_decode(&b64_encode(s.as_bytes())), s.as_bytes());
    }
    // RFC 4648 test vectors
    assert_eq!(b64_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(b64_encode(b"fooba"), "Zm9vYmE=");
    assert_eq!(b64_encode(b"foob"), "Zm9vYg==");
}

// ---------------------------------------------------------------------------
// 1. CI flow

#[test]
fn keygen_attest_record_is_verified_and_trusted() {
    each(|l| {
        for (i, alg) in ["ed25519", "ecdsa-p256"].into_iter().enumerate() {
            let d = digest(['a', 'b'][i]);
            let key = format!("ci-{alg}");
            let key_id = keygen(l, &key, alg);
            let env = format!("{key}.dsse.json");
            let a = attest(l, &key, BUILDER, &d, &env);
            assert_eq!(a["key_id"], key_id.as_str(), "{a}");
            let policy = write_policy(
                l,
                &format!("policy-{alg}.json"),
                &[(BUILDER, &[key.as_str()])],
            );
            let before = l.records();
            let r = l.json(&[
                "record",
                "--attestation",
                &l.p(&env),
                "--policy",
                &policy,
                "--digest",
                &d,
            ]);
            assert_eq!(r[0]["subjects"][0], d.as_str(), "{r}");
            assert_eq!(l.records(), before + 1);

            let v = show(l, &d);
            let recs = v["records"].as_array().unwrap();
            assert_eq!(recs.len(), 1, "{v}");
            assert_eq!(recs[0]["origin"], "attestation", "{v}");
            assert_eq!(recs[0]["trust"]["state"], "verified", "{v}");
            assert_eq!(recs[0]["trust"]["key_id"], key_id.as_str(), "{v}");
            // What was attested came through the statement.
            assert_eq!(recs[0]["source"]["commit"], COMMIT, "{v}");
            assert_eq!(recs[0]["source"]["tag"], "v1.0.0", "{v}");
            assert_eq!(recs[0]["toolchains"][0]["version"], "1.19.8", "{v}");

            let hits = l.json(&["query", "--trusted-only", "--commit", COMMIT]);
            let found: Vec<&Value> = hits
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["digest"] == d.as_str())
                .collect();
            assert_eq!(found.len(), 1, "{hits}");
            assert_eq!(found[0]["trust"], "verified");
            assert_eq!(found[0]["origin"], "attestation");
        }
        // A plain CI claim for the same commit is not trusted.
        let plain = digest('c');
        l.ok(&["record", "--digest", &plain, "--commit", COMMIT]);
        let all = l.json(&["query", "--commit", COMMIT]);
        assert!(
            all.as_array()
                .unwrap()
                .iter()
                .any(|h| h["digest"] == plain.as_str()),
            "{all}"
        );
        let trusted = l.json(&["query", "--trusted-only", "--commit", COMMIT]);
        assert!(
            !trusted
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["digest"] == plain.as_str()),
            "{trusted}"
        );
        assert_eq!(trusted.as_array().unwrap().len(), 2, "{trusted}");
        // accepted records are in the audit log, intact
        assert_eq!(l.audit_entries(), 3);
    });
}

// ---------------------------------------------------------------------------
// 2. Rejections

/// `record --attestation FILE` must fail with exit 2, name the file and the
/// reason, store nothing, and add one audit entry.
fn assert_rejected(l: &Ledger, file: &str, policy: &str, extra: &[&str], reason_words: &[&str]) {
    let records = l.records();
    let entries = l.audit_entries();
    let mut args = vec!["record", "--attestation", file, "--policy", policy];
    args.extend_from_slice(extra);
    let o = l.run(&args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        o.status.code(),
        Some(2),
        "[{}] {file}: expected exit 2; stderr: {err}",
        l.engine()
    );
    let base = Path::new(file).file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(base),
        "[{}] message does not name {base}: {err}",
        l.engine()
    );
    assert!(err.contains("rejected"), "{err}");
    let lower = err.to_lowercase();
    assert!(
        reason_words
            .iter()
            .any(|w| lower.contains(&w.to_lowercase())),
        "[{}] {base}: message gives none of {reason_words:?}: {err}",
        l.engine()
    );
    assert_eq!(
        l.records(),
        records,
        "[{}] {base}: something was stored",
        l.engine()
    );
    assert_eq!(
        l.audit_entries(),
        entries + 1,
        "[{}] {base}: no attestation.rejected audit entry",
        l.engine()
    );
    if l.pg_schema.is_none() && !runs("sqlite3", &["-version"]) {
        return;
    }
    let kind = l.sql("SELECT kind FROM audit_log ORDER BY id DESC LIMIT 1");
    assert_eq!(kind.as_deref(), Some("attestation.rejected"));
}

#[test]
fn rejected_envelopes_store_nothing_and_are_audited() {
    each(|l| {
        keygen(l, "ci", "ed25519");
        keygen(l, "nightly", "ecdsa-p256");
        keygen(l, "rogue", "ed25519");
        let policy = write_policy(
            l,
            "policy.json",
            &[(BUILDER, &["ci"]), (OTHER_BUILDER, &["nightly"])],
        );
        let d = digest('d');

        // The genuine envelope is accepted (in a throw-away check at the end):
        // first every mutation of it is refused.
        attest(l, "ci", BUILDER, &d, "good.json");
        let good = read_json(&l.path("good.json"));
        let payload = b64_decode(good["payload"].as_str().unwrap());
        let text = String::from_utf8(payload.clone()).unwrap();

        // (a) payload altered: one byte of the commit, still valid JSON, re-encoded.
        let at = text.find(COMMIT).expect("the payload carries the commit") + 5;
        let mut altered = payload.clone();
        altered[at] = if altered[at] == b'5' { b'6' } else { b'5' };
        assert_ne!(altered, payload);
        serde_json::from_slice::<Value>(&altered).expect("altered payload is still JSON");
        let mut env = good.clone();
        env["payload"] = Value::String(b64_encode(&altered));
        std::fs::write(l.path("altered.json"), env.to_string()).unwrap();
        assert_rejected(
            l,
            &l.p("altered.json"),
            &policy,
            &[],
            &["signature", "verif", "trusted"],
        );

        // (b) signed by a key nobody trusts.
        attest(l, "rogue", BUILDER, &d, "rogue.json");
        assert_rejected(
            l,
            &l.p("rogue.json"),
            &policy,
            &[],
            &["signature", "verif", "trusted"],
        );

        // (c) a key trusted, but for another builder id.
        attest(l, "nightly", BUILDER, &d, "wrong-builder.json");
        assert_rejected(
            l,
            &l.p("wrong-builder.json"),
            &policy,
            &[],
            &["builder", "trusted", "verif"],
        );

        // (d) --digest not among the statement's subjects.
        assert_rejected(
            l,
            &l.p("good.json"),
            &policy,
            &["--digest", &digest('e')],
            &["not a subject"],
        );

        // (e) truncated base64: the payload cut to a length no base64 can have.
        let p64 = good["payload"].as_str().unwrap();
        let mut cut = p64.len() / 2;
        while cut % 4 != 1 {
            cut += 1;
        }
        let mut env = good.clone();
        env["payload"] = Value::String(p64[..cut].to_string());
        std::fs::write(l.path("truncated-b64.json"), env.to_string()).unwrap();
        assert_rejected(l, &l.p("truncated-b64.json"), &policy, &[], &["base64"]);

        // ... and the whole file cut short.
        let raw = std::fs::read(l.path("good.json")).unwrap();
        std::fs::write(l.path("truncated-file.json"), &raw[..raw.len() / 2]).unwrap();
        assert_rejected(
            l,
            &l.p("truncated-file.json"),
            &policy,
            &[],
            &["invalid", "EOF", "json"],
        );

        // (f) an envelope over 16 MiB (valid JSON, padded with whitespace).
        let mut big = raw.clone();
        big.resize(16 * 1024 * 1024 + 1, b' ');
        std::fs::write(l.path("huge.json"), &big).unwrap();
        assert_rejected(l, &l.p("huge.json"), &policy, &[], &["limit"]);

        // (g) zero signatures.
        let mut env = good.clone();
        env["signatures"] = Value::Array(vec![]);
        std::fs::write(l.path("unsigned.json"), env.to_string()).unwrap();
        assert_rejected(l, &l.p("unsigned.json"), &policy, &[], &["signature"]);

        // Nothing of the above reached the ledger.
        assert_eq!(l.records(), 0);
        assert_eq!(l.run(&["show", &d]).status.code(), Some(1));

        // --allow-unverified keeps an untrusted one, as unverified only.
        l.ok(&[
            "record",
            "--attestation",
            &l.p("rogue.json"),
            "--policy",
            &policy,
            "--allow-unverified",
        ]);
        assert_eq!(l.records(), 1);
        let v = show(l, &d);
        let recs = v["records"].as_array().unwrap();
        assert_eq!(recs.len(), 1, "{v}");
        assert_eq!(recs[0]["origin"], "attestation");
        assert_eq!(recs[0]["trust"]["state"], "unverified", "{v}");
        assert!(
            recs[0]["trust"]["key_id"].is_null(),
            "an unverified record names no trusted key: {v}"
        );
        assert!(
            l.json(&["query", "--trusted-only", "--commit", COMMIT])
                .as_array()
                .unwrap()
                .is_empty()
        );
        // the same for a key trusted for another builder
        l.ok(&[
            "record",
            "--attestation",
            &l.p("wrong-builder.json"),
            "--policy",
            &policy,
            "--allow-unverified",
        ]);
        let v = show(l, &d);
        assert!(
            v["records"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["trust"]["state"] == "unverified"),
            "{v}"
        );
        assert!(
            l.json(&["query", "--trusted-only", "--commit", COMMIT])
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Controls: the untouched envelope, and the nightly key for its own builder, verify.
        l.ok(&[
            "record",
            "--attestation",
            &l.p("good.json"),
            "--policy",
            &policy,
            "--digest",
            &d,
        ]);
        attest(l, "nightly", OTHER_BUILDER, &digest('f'), "nightly.json");
        l.ok(&[
            "record",
            "--attestation",
            &l.p("nightly.json"),
            "--policy",
            &policy,
        ]);
        assert_eq!(
            l.json(&["query", "--trusted-only", "--commit", COMMIT])
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // rejections and acceptances alike leave the chain intact
        let (code, rep) = l.audit();
        assert_eq!(code, 0, "{rep}");
        assert_eq!(rep["entries"], 8 + 4, "{rep}");
    });
}

// ---------------------------------------------------------------------------
// 3. Interop with securesystemslib

fn python() -> String {
    std::env::var("BUILDLEDGER_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn require_sslib() -> bool {
    let ok = runs(
        &python(),
        &[
            "-c",
            "import securesystemslib.dsse, securesystemslib.signer, cryptography, \
             in_toto_attestation.v1.statement, \
             in_toto_attestation.predicates.provenance.v1.provenance_pb2",
        ],
    );
    require(
        "python3 with securesystemslib[crypto] and in-toto-attestation",
        ok,
        "pip install 'securesystemslib[crypto]' in-toto-attestation",
    )
}

fn oracle(args: &[&str]) -> Output {
    let script = root().join("crates/buildledger-provenance/tests/interop/sslib_oracle.py");
    assert!(script.exists(), "{} is missing", script.display());
    Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn securesystemslib_envelopes_are_accepted_when_pinned() {
    if !require_sslib() {
        return;
    }
    let bugs = Collected::default();
    each(|l| {
        for alg in ["ed25519", "ecdsa-p256"] {
            let dir = l.path(&format!("sslib-{alg}"));
            let o = oracle(&["sign", alg, dir.to_str().unwrap(), BUILDER]);
            assert!(
                o.status.success(),
                "oracle sign: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let expected = read_json(&dir.join("expected.json"));
            let envelope = dir.join("envelope.json").display().to_string();

            // Not pinned: rejected (the key is trusted for no builder here).
            std::fs::write(
                dir.join("empty-policy.json"),
                format!(r#"{{"builders": {{"{BUILDER}": []}}}}"#),
            )
            .unwrap();
            let o = l.run(&[
                "record",
                "--attestation",
                &envelope,
                "--policy",
                dir.join("empty-policy.json").to_str().unwrap(),
            ]);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );

            // Pinned to that builder: accepted and verified.
            let policy = dir.join("policy.json");
            std::fs::write(
                &policy,
                format!(r#"{{"builders": {{"{BUILDER}": [{{"path": "public.pem"}}]}}}}"#),
            )
            .unwrap();
            let app = format!(
                "sha256:{}",
                expected["subjects"]["registry.example/team/app"]
                    .as_str()
                    .unwrap()
            );
            let debug = format!(
                "sha256:{}",
                expected["subjects"]["registry.example/team/app-debug"]
                    .as_str()
                    .unwrap()
            );
            l.ok(&[
                "record",
                "--attestation",
                &envelope,
                "--policy",
                policy.to_str().unwrap(),
                "--digest",
                &debug,
            ]);
            for d in [&app, &debug] {
                let v = show(l, d);
                let r = &v["records"][0];
                assert_eq!(r["origin"], "attestation", "{v}");
                assert_eq!(r["trust"]["state"], "verified", "{v}");
                assert!(
                    r["trust"]["key_id"].as_str().is_some_and(|k| !k.is_empty()),
                    "{v}"
                );
                assert_eq!(r["builder"]["id"], BUILDER, "{v}");
                assert_eq!(r["build_time"], "2025-01-02T03:04:05Z", "{v}");
                assert!(r["subjects"].as_array().unwrap().len() == 2, "{v}");
                // The git source in SLSA's own convention (resolvedDependencies:
                // uri git+https://…@refs/tags/v1, digest gitCommit).
                let e = l.engine();
                bugs.check(r["source"]["commit"] == expected["commit"], || {
                    format!("[{e}] {alg}: securesystemslib envelope: source.commit not taken from resolvedDependencies[].digest.gitCommit (record source: {})", r["source"])
                });
                bugs.check(r["source"]["repo"] == "https://git.example/team/app", || {
                    format!("[{e}] {alg}: source.repo not taken from the git+https resolvedDependency uri")
                });
                bugs.check(r["source"]["tag"] == "v1", || {
                    format!("[{e}] {alg}: source.tag not taken from @refs/tags/v1")
                });
            }
            let by_commit = l.json(&[
                "query",
                "--trusted-only",
                "--commit",
                expected["commit"].as_str().unwrap(),
            ]);
            bugs.check(by_commit.as_array().unwrap().len() == 2, || {
                format!(
                    "[{}] {alg}: query --trusted-only --commit <their commit> finds {by_commit}",
                    l.engine()
                )
            });
        }
    });
    bugs.assert_none();
}

#[test]
fn our_attestations_verify_with_securesystemslib() {
    if !require_sslib() {
        return;
    }
    let l = Ledger::sqlite();
    for alg in ["ed25519", "ecdsa-p256"] {
        let key = format!("ours-{alg}");
        let key_id = keygen(&l, &key, alg);
        let d = digest('9');
        let env_name = format!("{key}.dsse.json");
        attest(&l, &key, BUILDER, &d, &env_name);
        let env = read_json(&l.path(&env_name));
        let keyid = env["signatures"][0]["keyid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(keyid, key_id, "{env}");
        let pub_pem = l.p(&format!("{key}.pub"));
        let o = oracle(&["verify", &l.p(&env_name), &pub_pem, &keyid]);
        let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "oracle verify output ({e}): {}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
        assert!(
            o.status.success(),
            "securesystemslib rejects our {alg} envelope: {report}"
        );
        assert_eq!(report["verified"], true, "{report}");
        assert_eq!(report["statement_valid"], true, "{report}");
        assert_eq!(report["predicate_valid"], true, "{report}");
        assert_eq!(report["builder_id"], BUILDER, "{report}");
        assert_eq!(
            report["git_commits"],
            serde_json::json!([COMMIT]),
            "{report}"
        );
        let subjects = report["subjects"].as_object().unwrap();
        assert!(
            subjects.values().any(|s| s["sha256"] == "9".repeat(64)),
            "{report}"
        );

        // Control: the oracle does refuse an altered payload of ours.
        let mut bad = env.clone();
        let mut p = b64_decode(env["payload"].as_str().unwrap());
        let at = String::from_utf8(p.clone()).unwrap().find(COMMIT).unwrap();
        p[at] = b'f';
        bad["payload"] = Value::String(b64_encode(&p));
        std::fs::write(l.path("bad.json"), bad.to_string()).unwrap();
        let o = oracle(&["verify", &l.p("bad.json"), &pub_pem, &keyid]);
        assert!(
            !o.status.success(),
            "the oracle accepted an altered payload"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Audit log tampering

#[test]
fn audit_log_edits_and_deletions_are_reported() {
    let have_sqlite3 = require(
        "sqlite3",
        runs("sqlite3", &["-version"]),
        "apt-get install -y sqlite3",
    );
    each(|l| {
        if l.pg_schema.is_none() && !have_sqlite3 {
            return;
        }
        for c in ['1', '2', '3', '4', '5'] {
            l.ok(&[
                "record",
                "--digest",
                &digest(c),
                "--commit",
                COMMIT,
                "--toolchain",
                "go@1.19.8",
            ]);
        }
        let (code, rep) = l.audit();
        assert_eq!((code, rep["entries"].as_u64()), (0, Some(5)), "{rep}");
        assert_eq!(rep["problems"], serde_json::json!([]));

        // Edit entry 2's payload: exit 3, and the report names entry 2.
        let original = l
            .sql("SELECT payload FROM audit_log WHERE id = 2")
            .expect("entry 2 exists");
        assert!(original.contains("\"trust\""), "{original}");
        l.sql("UPDATE audit_log SET payload = replace(payload, 'unverified', 'verified') WHERE id = 2");
        assert_ne!(
            l.sql("SELECT payload FROM audit_log WHERE id = 2").unwrap(),
            original
        );
        let (code, rep) = l.audit();
        assert_eq!(code, 3, "[{}] edited entry not detected: {rep}", l.engine());
        let problems: Vec<String> = rep["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("entry 2") && p.contains("edited")),
            "{problems:?}"
        );
        assert!(
            !problems.iter().any(|p| p.contains("entry 1")),
            "{problems:?}"
        );
        let text = l.run(&["audit", "verify"]);
        assert_eq!(text.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&text.stdout).contains("entry 2"));

        // Put it back: intact again.
        let quoted = original.replace('\'', "''");
        l.sql(&format!(
            "UPDATE audit_log SET payload = '{quoted}' WHERE id = 2"
        ));
        let (code, rep) = l.audit();
        assert_eq!(code, 0, "[{}] restored log not intact: {rep}", l.engine());

        // Delete entry 3: reported as missing.
        l.sql("DELETE FROM audit_log WHERE id = 3");
        let (code, rep) = l.audit();
        assert_eq!(
            code,
            3,
            "[{}] deleted entry not detected: {rep}",
            l.engine()
        );
        let problems: Vec<String> = rep["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("entry 3") && p.contains("missing")),
            "{problems:?}"
        );
        // and the store keeps refusing to call it intact after more appends
        l.ok(&["record", "--digest", &digest('6'), "--commit", COMMIT]);
        assert_eq!(l.audit().0, 3);
    });
}

// ---------------------------------------------------------------------------
// 5. Claims vs real Go binaries

struct GoBuild {
    _dir: tempfile::TempDir,
    clean: PathBuf,
    dirty: PathBuf,
    commit: String,
    /// `go env GOVERSION` without the "go".
    go_version: String,
    /// A second program that depends on a module (`example.com/lib v1.2.3`,
    /// replaced by a directory in its tree, so no network is needed).
    withdep: PathBuf,
}

fn go_command() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/lib/go-1.19/bin/go");
    if debian.exists() {
        return Some(debian);
    }
    runs("go", &["version"]).then(|| PathBuf::from("go"))
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=buildledger test",
            "-c",
            "user.email=test@buildledger.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn go_build() -> Option<GoBuild> {
    let go = go_command();
    let have_go = require("Go toolchain", go.is_some(), "apt-get install -y golang-go");
    let have_git = require("git", runs("git", &["--version"]), "apt-get install -y git");
    if !(have_go && have_git) {
        return None;
    }
    let go = go.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("go.mod"), "module example.com/hello\n\ngo 1.19\n").unwrap();
    std::fs::write(
        src.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
    )
    .unwrap();
    git(&src, &["init", "-q"]);
    git(&src, &["add", "."]);
    git(&src, &["commit", "-q", "-m", "hello"]);
    git(&src, &["tag", "v1.0.0"]);
    let commit = git(&src, &["rev-parse", "HEAD"]);
    let go_in = |cwd: &Path, args: &[&str]| -> String {
        let o = Command::new(&go)
            .current_dir(cwd)
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-buildvcs=true -mod=mod")
            .env("GOPROXY", "off")
            .env(
                "GOCACHE",
                std::env::temp_dir().join("buildledger-trust-gocache"),
            )
            .env("GOPATH", dir.path().join("gopath"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "go {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let go_cmd = |args: &[&str]| go_in(&src, args);
    let go_version = go_cmd(&["env", "GOVERSION"]);
    let go_version = go_version
        .strip_prefix("go")
        .unwrap_or_else(|| panic!("GOVERSION {go_version:?}"))
        .to_string();
    let clean = dir.path().join("hello-clean");
    go_cmd(&["build", "-o", clean.to_str().unwrap(), "."]);
    // a dirty tree: a tracked file modified, not committed
    let mut main = std::fs::read_to_string(src.join("main.go")).unwrap();
    main.push_str("\n// local change\n");
    std::fs::write(src.join("main.go"), main).unwrap();
    let dirty = dir.path().join("hello-dirty");
    go_cmd(&["build", "-o", dirty.to_str().unwrap(), "."]);
    // The Go toolchain itself confirms what it stamped.
    let m = go_cmd(&["version", "-m", dirty.to_str().unwrap()]);
    assert!(
        m.contains(&format!("vcs.revision={commit}")) && m.contains("vcs.modified=true"),
        "{m}"
    );
    let m = go_cmd(&["version", "-m", clean.to_str().unwrap()]);
    assert!(
        m.contains(&format!("vcs.revision={commit}")) && m.contains("vcs.modified=false"),
        "{m}"
    );

    let dep_src = dir.path().join("withdep-src");
    std::fs::create_dir_all(dep_src.join("lib")).unwrap();
    std::fs::write(
        dep_src.join("go.mod"),
        "module example.com/withdep\n\ngo 1.19\n\nrequire example.com/lib v1.2.3\n\nreplace example.com/lib => ./lib\n",
    )
    .unwrap();
    std::fs::write(
        dep_src.join("lib/go.mod"),
        "module example.com/lib\n\ngo 1.19\n",
    )
    .unwrap();
    std::fs::write(
        dep_src.join("lib/lib.go"),
        "package lib\n\nfunc Hello() string { return \"hi\" }\n",
    )
    .unwrap();
    std::fs::write(
        dep_src.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n)\n\nfunc main() { fmt.Println(lib.Hello()) }\n",
    )
    .unwrap();
    git(&dep_src, &["init", "-q"]);
    git(&dep_src, &["add", "."]);
    git(&dep_src, &["commit", "-q", "-m", "withdep"]);
    let withdep = dir.path().join("withdep");
    go_in(&dep_src, &["build", "-o", withdep.to_str().unwrap(), "."]);
    let m = go_in(&dep_src, &["version", "-m", withdep.to_str().unwrap()]);
    assert!(m.contains("example.com/lib\tv1.2.3"), "{m}");
    Some(GoBuild {
        _dir: dir,
        clean,
        dirty,
        commit,
        go_version,
        withdep,
    })
}

fn fields(m: &Value) -> Vec<String> {
    m.as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap().to_string())
        .collect()
}

fn scan_record(l: &Ledger, bin: &Path, d: &str) {
    l.ok(&[
        "scan",
        &format!("file:{}", bin.display()),
        "--record",
        "--digest",
        d,
    ]);
    let v = show(l, d);
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["origin"] == "indexer"),
        "{v}"
    );
}

#[test]
fn claims_are_cross_checked_against_real_go_binaries() {
    let Some(b) = go_build() else { return };
    let clean_bytes = std::fs::read(&b.clean).unwrap();
    let dirty_bytes = std::fs::read(&b.dirty).unwrap();
    let withdep_bytes = std::fs::read(&b.withdep).unwrap();
    let bugs = Collected::default();
    assert_ne!(clean_bytes, dirty_bytes);
    let go_true = format!("go@{}", b.go_version);
    let false_commit = "deadbeef".repeat(5);
    let false_go = if b.go_version == "1.18.1" {
        "go@1.17.13"
    } else {
        "go@1.18.1"
    };
    each(|l| {
        // Synthetic digests: the binaries' own sha256 (+ a second one for the clean binary).
        let clean = sha256_digest(&clean_bytes);
        let clean2 = sha256_digest(&[&clean_bytes[..], b"#2"].concat());
        let clean3 = sha256_digest(&[&clean_bytes[..], b"#3"].concat());
        let dirty = sha256_digest(&dirty_bytes);
        scan_record(l, &b.clean, &clean);
        let obs = show(l, &clean);
        let o = obs["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["origin"] == "indexer")
            .unwrap();
        assert_eq!(o["source"]["commit"], b.commit.as_str(), "{obs}");
        assert_eq!(
            o["toolchains"][0]["version"],
            b.go_version.as_str(),
            "{obs}"
        );

        // (a) the true claim: no mismatch.
        l.ok(&[
            "record",
            "--digest",
            &clean,
            "--repo",
            "https://git.example/hello",
            "--commit",
            &b.commit,
            "--tag",
            "v1.0.0",
            "--toolchain",
            &go_true,
        ]);
        let m = l.json(&["mismatches", &clean]);
        assert_eq!(
            m,
            serde_json::json!([]),
            "[{}] a true claim is reported: {m}",
            l.engine()
        );
        assert_eq!(
            l.run(&["mismatches", &clean, "--fail-on-mismatch"])
                .status
                .code(),
            Some(0)
        );
        // a short commit id that prefixes the real one is the same claim
        l.ok(&[
            "record",
            "--digest",
            &clean,
            "--commit",
            &b.commit[..12],
            "--toolchain",
            &go_true,
        ]);
        assert_eq!(l.json(&["mismatches", &clean]), serde_json::json!([]));

        // (b) a false commit.
        let rec = l.json(&[
            "record",
            "--digest",
            &clean,
            "--commit",
            &false_commit,
            "--toolchain",
            &go_true,
        ]);
        let claim_id = rec[0]["record_id"].clone();
        let m = l.json(&["mismatches", &clean]);
        assert_eq!(fields(&m), vec!["source.commit"], "{m}");
        assert_eq!(m[0]["digest"], clean.as_str());
        assert_eq!(m[0]["claimed"], false_commit.as_str(), "{m}");
        assert_eq!(m[0]["observed"], b.commit.as_str(), "{m}");
        assert_eq!(m[0]["claim_record"], claim_id, "{m}");
        assert_eq!(m[0]["claim"], "ci/unverified", "{m}");
        assert!(m[0]["observed_record"].is_i64(), "{m}");
        let o = l.run(&["--json", "mismatches", &clean, "--fail-on-mismatch"]);
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap(), m);

        // (c) a false toolchain.
        scan_record(l, &b.clean, &clean2);
        l.ok(&[
            "record",
            "--digest",
            &clean2,
            "--commit",
            &b.commit,
            "--toolchain",
            false_go,
        ]);
        let m = l.json(&["mismatches", &clean2]);
        assert_eq!(fields(&m), vec!["toolchain go"], "{m}");
        assert_eq!(m[0]["claimed"], false_go.trim_start_matches("go@"), "{m}");
        assert_eq!(m[0]["observed"], b.go_version.as_str(), "{m}");
        assert_eq!(
            l.run(&["mismatches", &clean2, "--fail-on-mismatch"])
                .status
                .code(),
            Some(3)
        );

        // (d) the dirty binary: a `dirty` finding, even with an otherwise true claim.
        scan_record(l, &b.dirty, &dirty);
        l.ok(&[
            "record",
            "--digest",
            &dirty,
            "--commit",
            &b.commit,
            "--toolchain",
            &go_true,
        ]);
        let m = l.json(&["mismatches", &dirty]);
        assert_eq!(fields(&m), vec!["dirty"], "{m}");
        assert_eq!(m[0]["observed"], "true", "{m}");
        assert_eq!(
            l.run(&["mismatches", &dirty, "--fail-on-mismatch"])
                .status
                .code(),
            Some(3)
        );

        // Without a digest: all three digests, nothing for the others.
        let all = l.json(&["mismatches"]);
        let mut ds: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["digest"].as_str().unwrap())
            .collect();
        ds.dedup();
        assert_eq!(ds.len(), 3, "{all}");

        // (e) a claimed dependency the binary does not contain.
        scan_record(l, &b.clean, &clean3);
        l.ok(&[
            "record",
            "--digest",
            &clean3,
            "--commit",
            &b.commit,
            "--toolchain",
            &go_true,
            "--component",
            "pkg:golang/example.com/notthere@v1.0.0",
        ]);
        let m = l.json(&["mismatches", &clean3]);
        let e = l.engine();
        bugs.check(fields(&m) == ["dependency"], || {
            format!("[{e}] stdlib-only binary: claimed module pkg:golang/example.com/notthere@v1.0.0 is not in the binary, but mismatches reports {m}")
        });
        if fields(&m) == ["dependency"] {
            assert_eq!(m[0]["claimed"], "example.com/notthere@v1.0.0", "{m}");
            assert!(m[0]["observed"].is_null(), "{m}");
        }
        let code = l
            .run(&["mismatches", &clean3, "--fail-on-mismatch"])
            .status
            .code();
        bugs.check(code == Some(3), || format!("[{e}] stdlib-only binary: --fail-on-mismatch exits {code:?} for a claimed module not in it"));

        // The same checks on a binary that has a module dependency.
        let wd = sha256_digest(&withdep_bytes);
        scan_record(l, &b.withdep, &wd);
        l.ok(&[
            "record",
            "--digest",
            &wd,
            "--toolchain",
            &go_true,
            "--component",
            "pkg:golang/example.com/lib@v1.2.3",
            "--component",
            "pkg:golang/example.com/notthere@v1.0.0",
        ]);
        let m = l.json(&["mismatches", &wd]);
        assert_eq!(fields(&m), vec!["dependency"], "{m}");
        assert_eq!(m[0]["claimed"], "example.com/notthere@v1.0.0", "{m}");
        assert!(m[0]["observed"].is_null(), "{m}");
        assert_eq!(
            l.run(&["mismatches", &wd, "--fail-on-mismatch"])
                .status
                .code(),
            Some(3)
        );
        // a claimed version other than the one linked in: both versions
        let wd2 = sha256_digest(&[&withdep_bytes[..], b"#2"].concat());
        scan_record(l, &b.withdep, &wd2);
        l.ok(&[
            "record",
            "--digest",
            &wd2,
            "--component",
            "pkg:golang/example.com/lib@v1.0.0",
        ]);
        let m = l.json(&["mismatches", &wd2]);
        assert_eq!(fields(&m), vec!["dependency"], "{m}");
        assert_eq!(m[0]["claimed"], "example.com/lib@v1.0.0", "{m}");
        assert_eq!(m[0]["observed"], "example.com/lib@v1.2.3", "{m}");
        // the true dependency list: nothing
        let wd3 = sha256_digest(&[&withdep_bytes[..], b"#3"].concat());
        scan_record(l, &b.withdep, &wd3);
        l.ok(&[
            "record",
            "--digest",
            &wd3,
            "--component",
            "pkg:golang/example.com/lib@v1.2.3",
        ]);
        assert_eq!(l.json(&["mismatches", &wd3]), serde_json::json!([]));
    });
    bugs.assert_none();
}
