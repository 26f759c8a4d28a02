//! The use cases called as the server and the console will call them: typed
//! inputs, typed results, and the error kind each failure maps to, on both
//! engines (a fresh SQLite file and a fresh PostgreSQL schema).

use std::path::{Path, PathBuf};

use buildledger_service::feeds::{self, ImportOptions};
use buildledger_service::provenance::{self, AttestationOptions};
use buildledger_service::query::{QueryRequest, query};
use buildledger_service::record::{self, RecordFlags};
use buildledger_service::{Access, ErrorKind, Settings, Store, audit, keys, open, reads};

const PAYMENTS: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const CHECKOUT: &str = "sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
const BUILDER: &str = "https://ci.example/builders/gha";

fn root() -> PathBuf {
    buildledger_testkit::shared::workspace_root()
}

/// Each engine: (name, target, scratch dir, guard keeping the PG schema).
fn engines() -> Vec<(
    &'static str,
    String,
    tempfile::TempDir,
    Option<buildledger_testkit::pg::Schema>,
)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("l.db").display().to_string();
    let mut v = vec![("sqlite", sqlite, dir, None)];
    if let Some(pg) = buildledger_testkit::pg::Schema::fresh("bl_svc") {
        v.push((
            "postgres",
            pg.url().to_string(),
            tempfile::tempdir().unwrap(),
            Some(pg),
        ));
    }
    v
}

/// The example payments record, then the advisories at `advisories`
/// (relative to the workspace root) imported.
fn payments_with(s: &mut Store, advisories: &str) {
    let settings = Settings::new(|_| None);
    record::record_files(
        s,
        &[root().join("examples/records/payments-api.json")],
        &settings,
    )
    .unwrap();
    let opts = ImportOptions {
        format: "auto".into(),
        strict: false,
    };
    feeds::import(
        s,
        &[root().join(advisories)],
        &opts,
        &settings,
        &mut |_, _| {},
    )
    .unwrap();
}

fn kind<T>(r: buildledger_service::Result<T>) -> (ErrorKind, String, Option<String>) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.kind, e.message, e.field),
    }
}

#[test]
fn targets_are_checked_and_reads_never_create() {
    assert_eq!(
        kind(open::open(Some("  "), Access::ReadWrite)).0,
        ErrorKind::BadInput
    );
    for (engine, target, _dir, _pg) in engines() {
        let (k, m, _) = kind(open::open(Some(&target), Access::ReadOnly));
        assert_eq!(k, ErrorKind::Unavailable, "[{engine}] {m}");
        assert!(m.contains("no ledger"), "[{engine}] {m}");
    }
}

#[test]
fn record_query_show_and_their_errors() {
    let settings = Settings::default();
    for (engine, target, _dir, _pg) in engines() {
        let mut store = open::open(Some(&target), Access::ReadWrite).unwrap();

        // Flags: bad values are bad input naming the flag; nothing stored.
        let bad = RecordFlags {
            digests: vec!["sha256:abc".into()],
            ..Default::default()
        };
        let (k, m, field) = kind(record::record_from_flags(&bad, &settings));
        assert_eq!(k, ErrorKind::BadInput, "[{engine}]");
        assert_eq!(field.as_deref(), Some("--digest"), "[{engine}] {m}");
        let unversioned = RecordFlags {
            digests: vec![CHECKOUT.into()],
            components: vec!["pkg:golang/golang.org/x/net".into()],
            ..Default::default()
        };
        assert!(
            kind(record::record_from_flags(&unversioned, &settings))
                .1
                .contains("has no version")
        );

        // Documents: a record claiming its own trust is refused, by field.
        let forged =
            format!(r#"{{"subjects":[{{"digest":"{CHECKOUT}"}}],"trust":{{"state":"verified"}}}}"#);
        let (k, m, field) = kind(record::parse_records(forged.as_bytes(), "forged.json"));
        assert_eq!(k, ErrorKind::BadInput);
        assert!(m.starts_with("forged.json: trust"), "{m}");
        assert_eq!(field.as_deref(), Some("forged.json: trust"));
        assert_eq!(
            kind(record::parse_records(b"[]", "empty.json")).0,
            ErrorKind::BadInput
        );

        // The example records, then a flag record.
        let files = [
            root().join("examples/records/payments-api.json"),
            root().join("examples/records/ledger-worker.json"),
        ];
        let stored = record::record_files(&mut store, &files, &settings).unwrap();
        assert_eq!(stored.len(), 2);
        assert!(
            stored
                .iter()
                .all(|r| r.origin == "ci" && r.trust == "unverified")
        );
        let flags = RecordFlags {
            digests: vec![CHECKOUT.into()],
            repo: Some("https://github.com/example/checkout".into()),
            commit: Some("7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b".into()),
            toolchains: vec!["go@1.21.5".into()],
            components: vec!["pkg:golang/golang.org/x/net@v0.17.0".into()],
            apis: vec![root().join("examples/openapi/checkout.yaml")],
            ..Default::default()
        };
        let rec = record::record_from_flags(&flags, &settings).unwrap();
        let r = record::record(&mut store, &rec, "<flags>").unwrap();
        assert!(r.apis > 0 && r.components >= 1, "{r:?}");

        // Queries: ranges in the ecosystem's order; bad ranges are bad input.
        let q = |t: &str| QueryRequest {
            toolchain: Some(t.into()),
            ..Default::default()
        };
        let old_go = query(&mut store, &q("go@<1.14")).unwrap();
        assert!(
            old_go.hits.iter().any(|h| h.digest == PAYMENTS),
            "[{engine}]"
        );
        assert!(old_go.hits.iter().all(|h| h.digest != CHECKOUT));
        let (k, _, field) = kind(query(&mut store, &q("go@banana")));
        assert_eq!(
            (k, field.as_deref()),
            (ErrorKind::BadInput, Some("--toolchain"))
        );

        // show / lineage: a digest the ledger does not know is not found.
        let view = reads::show(
            &mut store,
            &reads::parse_digest(PAYMENTS, "digest").unwrap(),
        )
        .unwrap();
        assert_eq!(view.records.len(), 1);
        let unknown = reads::parse_digest(&format!("sha256:{}", "9".repeat(64)), "digest").unwrap();
        assert_eq!(
            kind(reads::show(&mut store, &unknown)).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(reads::vulns(&mut store, &unknown)).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(reads::lineage(&mut store, &unknown)).0,
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(reads::parse_digest("sha256:1", "--digest"))
                .2
                .as_deref(),
            Some("--digest")
        );

        // Feeds: real advisories; findings; an unknown advisory is not found.
        let imp = feeds::import(
            &mut store,
            &[root().join("examples/advisories")],
            &ImportOptions {
                format: "auto".into(),
                strict: false,
            },
            &settings,
            &mut |_, _| {},
        )
        .unwrap();
        assert!(
            imp.imported && imp.report.as_ref().unwrap().findings_added > 0,
            "{imp:?}"
        );
        let payments = reads::parse_digest(PAYMENTS, "digest").unwrap();
        let findings = reads::vulns(&mut store, &payments).unwrap();
        assert!(
            reads::has_vulnerabilities(&findings),
            "[{engine}] {findings:?}"
        );
        let hit = reads::affected(&mut store, "CVE-2023-39325").unwrap();
        assert!(hit.iter().any(|f| f.digest == PAYMENTS));
        assert_eq!(
            kind(reads::affected(&mut store, "CVE-0000-0000")).0,
            ErrorKind::NotFound
        );
        let bad_format = ImportOptions {
            format: "nvd".into(),
            strict: false,
        };
        let (k, _, field) = kind(feeds::import(
            &mut store,
            &[],
            &bad_format,
            &settings,
            &mut |_, _| {},
        ));
        assert_eq!(
            (k, field.as_deref()),
            (ErrorKind::BadInput, Some("--format"))
        );
        let info = reads::info(&mut store).unwrap();
        assert_eq!(info.stats.records, 3, "[{engine}]");
        assert_eq!(info.engine, engine);
    }
}

fn write_policy(dir: &Path, pubkey: &Path) -> PathBuf {
    let p = dir.join("trusted.json");
    std::fs::write(
        &p,
        serde_json::json!({"builders": {BUILDER: [{"path": pubkey}]}}).to_string(),
    )
    .unwrap();
    p
}

#[test]
fn attestations_and_the_audit_log() {
    let settings = Settings::default();
    for (engine, target, dir, _pg) in engines() {
        let mut store: Store = open::open(Some(&target), Access::ReadWrite).unwrap();
        let pinned = keys::keygen(keys::Algorithm::Ed25519, &dir.path().join("ci"), false).unwrap();
        let other =
            keys::keygen(keys::Algorithm::EcdsaP256, &dir.path().join("other"), false).unwrap();
        // A second keygen at the same place is refused, not overwritten.
        assert_eq!(
            kind(keys::keygen(
                keys::Algorithm::Ed25519,
                &dir.path().join("ci"),
                false
            ))
            .0,
            ErrorKind::BadInput
        );
        let policy = write_policy(dir.path(), &pinned.public_key);
        let flags = RecordFlags {
            digests: vec![CHECKOUT.into()],
            builder_id: Some(BUILDER.into()),
            repo: Some("https://github.com/example/checkout".into()),
            commit: Some("7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b".into()),
            components: vec!["pkg:golang/golang.org/x/net@v0.17.0".into()],
            ..Default::default()
        };
        let rec = record::record_from_flags(&flags, &settings).unwrap();

        // Signed with the pinned key: verified.
        let signed = keys::attest(&rec, &pinned.private_key, &settings).unwrap();
        let good = dir.path().join("good.json");
        keys::write_envelope(&good, &signed.envelope).unwrap();
        let opts = AttestationOptions::default();
        let r =
            provenance::record_attestation_file(&mut store, &good, Some(&policy), &opts, &settings)
                .unwrap();
        assert_eq!(
            (r.origin.as_str(), r.trust.as_str()),
            ("attestation", "verified"),
            "[{engine}]"
        );

        // Signed with another key: rejected, logged, nothing stored.
        let before = audit::verify(&mut store, None, &settings).unwrap();
        let forged = keys::attest(&rec, &other.private_key, &settings).unwrap();
        let (k, m, _) = kind(provenance::record_envelope(
            &mut store,
            &forged.envelope,
            "forged.json",
            &provenance::load_policy(&policy).unwrap(),
            &opts,
        ));
        assert_eq!(k, ErrorKind::BadInput, "[{engine}] {m}");
        assert!(m.contains("rejected"), "{m}");
        // A subject the caller expects but the envelope does not name.
        let expect = AttestationOptions {
            allow_unverified: false,
            expect_digest: Some(reads::parse_digest(PAYMENTS, "--digest").unwrap()),
            submitter: None,
        };
        assert!(
            kind(provenance::record_attestation_file(
                &mut store,
                &good,
                Some(&policy),
                &expect,
                &settings
            ))
            .1
            .contains("is not a subject")
        );
        // No policy at all is bad input naming the flag.
        assert_eq!(
            kind(provenance::record_attestation_file(
                &mut store, &good, None, &opts, &settings
            ))
            .2
            .as_deref(),
            Some("--policy")
        );
        let after = audit::verify(&mut store, None, &settings).unwrap();
        assert!(after.intact, "{after:?}");
        assert_eq!(
            after.records, before.records,
            "[{engine}] a rejection stored a record"
        );
        assert_eq!(
            after.entries,
            before.entries + 2,
            "[{engine}] rejections are logged"
        );

        // Checkpoint, then verify against it.
        let cp = audit::checkpoint(&mut store, &pinned.private_key, &settings).unwrap();
        assert_eq!(cp.entries, after.entries);
        let cp_file = dir.path().join("cp.json");
        keys::write_envelope(&cp_file, &cp.envelope).unwrap();
        let checked = audit::verify(
            &mut store,
            Some(&audit::CheckpointInput {
                file: cp_file.clone(),
                key: pinned.public_key.clone(),
            }),
            &settings,
        )
        .unwrap();
        assert!(checked.intact && checked.checkpoint.as_ref().is_some_and(|c| c.ok));
        // The wrong pinned key is bad input, not a verdict on the log.
        let (k, _, field) = kind(audit::verify(
            &mut store,
            Some(&audit::CheckpointInput {
                file: cp_file,
                key: other.public_key.clone(),
            }),
            &settings,
        ));
        assert_eq!(
            (k, field.as_deref()),
            (ErrorKind::BadInput, Some("--checkpoint"))
        );
    }
}

#[test]
fn limits_come_from_settings_and_name_them() {
    let tiny =
        Settings::new(|name| (name == "BUILDLEDGER_MAX_RECORD_BYTES").then(|| "10".to_string()));
    let f = root().join("examples/records/payments-api.json");
    let (k, m, _) = kind(record::read_records(&f, &tiny));
    assert_eq!(k, ErrorKind::BadInput);
    assert!(m.contains("BUILDLEDGER_MAX_RECORD_BYTES"), "{m}");
    let nonsense =
        Settings::new(|name| (name == "BUILDLEDGER_MAX_RECORD_BYTES").then(|| "lots".to_string()));
    let (k, m, field) = kind(record::read_records(&f, &nonsense));
    assert_eq!(k, ErrorKind::BadInput);
    assert_eq!(
        field.as_deref(),
        Some("BUILDLEDGER_MAX_RECORD_BYTES"),
        "{m}"
    );
    assert!(record::read_records(&f, &Settings::default()).is_ok());
}

/// The policy input reads an image's records without their components, and
/// reads them whole only to cross-check a claim against this ledger's own
/// index: a claim and an index that disagree on a Go module still give
/// the mismatch, and an image with claims alone gives none.
#[test]
fn policy_input_cross_checks_claims_against_the_index() {
    use buildledger_model::{BuildRecord, Origin, TrustState};
    use buildledger_service::policy::{self, Deployment};
    for (engine, target, _dir, _pg) in engines() {
        let mut store = open::open(Some(&target), Access::ReadWrite).unwrap();
        let claim: BuildRecord = serde_json::from_slice(
            &std::fs::read(root().join("examples/records/payments-api.json")).unwrap(),
        )
        .unwrap();
        store.record(&claim).unwrap();
        let digest = buildledger_model::Digest::parse(PAYMENTS).unwrap();
        let input = policy::input(&mut store, &digest, Deployment::default()).unwrap();
        assert!(
            input.mismatches.is_empty(),
            "[{engine}] {:?}",
            input.mismatches
        );
        // Our own index of the image: the same toolchain, another x/net.
        let mut index: BuildRecord = serde_json::from_str(&format!(
            r#"{{"subjects":[{{"digest":"{PAYMENTS}"}}],"toolchains":[{{"name":"go","version":"1.13.4"}}],
                "components":[{{"purl":"pkg:golang/golang.org/x/net@v0.17.0"}},{{"purl":"pkg:golang/golang.org/x/text@v0.3.2"}}]}}"#
        ))
        .unwrap();
        index.origin = Origin::Indexer;
        index.trust.state = TrustState::Observed;
        store.record(&index).unwrap();
        let input = policy::input(&mut store, &digest, Deployment::default()).unwrap();
        let fields: Vec<String> = input
            .mismatches
            .iter()
            .map(|m| format!("{} {}", m["field"], m["observed"]))
            .collect();
        assert!(
            fields
                .iter()
                .any(|f| f.contains("dependency") && f.contains("golang.org/x/net@v0.17.0")),
            "[{engine}] {fields:?}"
        );
        // The records in the input are the image's records all the same.
        assert_eq!(input.records.len(), 2, "[{engine}]");
    }
}

/// Group commit: several submissions in one transaction get what one
/// transaction each would have given them; a failing submission sends the
/// group back to one transaction each, so the others are stored anyway and
/// only it fails. The audit log verifies either way.
#[test]
fn group_commit_answers_each_submission_as_alone() {
    let settings = Settings::default();
    let import = |store: &mut Store| {
        feeds::import(
            store,
            &[root().join("examples/advisories")],
            &ImportOptions {
                format: "auto".into(),
                strict: false,
            },
            &settings,
            &mut |_, _| {},
        )
        .unwrap();
    };
    for (engine, target, dir, _pg) in engines() {
        let mut store = open::open(Some(&target), Access::ReadWrite).unwrap();
        import(&mut store);
        // The oracle: the same submissions one transaction each, on a
        // ledger of their own.
        let oracle_db = dir.path().join("oracle.db").display().to_string();
        let mut oracle = open::open(Some(&oracle_db), Access::ReadWrite).unwrap();
        import(&mut oracle);
        let rec = |seed: &str, purl: &str| {
            buildledger_testkit::records::record(seed)
                .toolchains(&["go@1.13.4"])
                .components(&[purl])
                .build()
        };
        let subs = vec![
            vec![(
                "a".to_string(),
                rec("aa01", "pkg:golang/golang.org/x/net@v0.1.0"),
            )],
            vec![
                (
                    "b".to_string(),
                    rec("bb01", "pkg:golang/golang.org/x/net@v0.1.0"),
                ),
                (
                    "b".to_string(),
                    rec("bb02", "pkg:golang/golang.org/x/text@v0.3.0"),
                ),
            ],
            vec![(
                "c".to_string(),
                rec(
                    "cc01",
                    "pkg:golang/golang.org/x/net@v0.0.0-20191109021931-daa7c04131f5",
                ),
            )],
        ];
        let out = record::record_group(&mut store, &subs);
        assert_eq!(out.len(), 3, "[{engine}]");
        // Each record gets the findings it added, as if recorded alone.
        let added = |rs: &[buildledger_service::Result<Vec<record::Recorded>>]| -> Vec<u64> {
            rs.iter()
                .flat_map(|r| r.as_ref().unwrap().iter().map(|x| x.findings_added))
                .collect()
        };
        let alone: Vec<_> = subs
            .iter()
            .map(|s| record::record_all(&mut oracle, s))
            .collect();
        assert_eq!(added(&out), added(&alone), "[{engine}]");
        assert!(added(&out)[0] > 0, "[{engine}] {:?}", added(&out));
        assert_eq!(added(&out)[1], 0, "[{engine}] nothing new after the first");
        assert!(
            added(&out)[3] > 0,
            "[{engine}] the last adds a vulnerable x/net: {:?}",
            added(&out)
        );
        let ids: Vec<i64> = out
            .iter()
            .flat_map(|r| r.as_ref().unwrap().iter().map(|x| x.record_id))
            .collect();
        assert_eq!(ids.len(), 4, "[{engine}]");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "[{engine}] {ids:?}");
        assert_eq!(out[1].as_ref().unwrap()[1].source, "b", "[{engine}]");

        // The middle submission's second record is invalid: the group falls
        // back, the first and last are stored, the middle one stops at it
        // (its first record stored, as `record_all` does).
        let mut bad = rec("ee02", "pkg:golang/golang.org/x/net@v0.2.0");
        bad.schema_version = 0;
        let subs = vec![
            vec![(
                "d".to_string(),
                rec("dd01", "pkg:golang/golang.org/x/net@v0.2.0"),
            )],
            vec![
                (
                    "e".to_string(),
                    rec("ee01", "pkg:golang/golang.org/x/net@v0.2.0"),
                ),
                ("e".to_string(), bad),
            ],
            vec![(
                "f".to_string(),
                rec("ff01", "pkg:golang/golang.org/x/net@v0.2.0"),
            )],
        ];
        let out = record::record_group(&mut store, &subs);
        assert!(out[0].is_ok() && out[2].is_ok(), "[{engine}] {out:?}");
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadInput, "[{engine}] {e:?}");
        assert!(e.message.starts_with("e"), "[{engine}] {}", e.message);
        let stats = store.stats().unwrap();
        assert_eq!(stats.records, 4 + 3, "[{engine}]");
        let report = store.verify_audit().unwrap();
        assert_eq!(report.problem_count, 0, "[{engine}] {:?}", report.problems);
        assert_eq!(report.records, 7, "[{engine}]");
    }
}

/// A store that stays open (a server's pooled connection) keeps what it
/// read of the advisories (aliases, a severity borrowed from an alias) only
/// while no advisory changes: an import through another connection (another
/// replica) shows in its very next decision.
#[test]
fn a_long_lived_store_sees_advisories_another_imports() {
    use buildledger_service::policy::{self, Deployment};
    let settings = Settings::new(|_| None);
    let opts = ImportOptions {
        format: "auto".into(),
        strict: false,
    };
    for (engine, target, dir, _pg) in engines() {
        let mut reader = open::open(Some(&target), Access::ReadWrite).unwrap();
        let mut writer = open::open(Some(&target), Access::ReadWrite).unwrap();
        payments_with(&mut writer, "examples/advisories/GO-2023-2102.json");
        let digest = buildledger_model::Digest::parse(PAYMENTS).unwrap();
        let finding = |store: &mut Store| {
            let input = policy::input(store, &digest, Deployment::default()).unwrap();
            input
                .findings
                .into_iter()
                .find(|f| f.advisory == "GO-2023-2102" && f.purl.contains("golang.org/x/net"))
                .unwrap_or_else(|| panic!("[{engine}] no GO-2023-2102 finding"))
        };
        let advisories = |store: &mut Store| -> Vec<String> {
            let input = policy::input(store, &digest, Deployment::default()).unwrap();
            let mut v: Vec<String> = input.findings.iter().map(|f| f.advisory.clone()).collect();
            v.sort();
            v.dedup();
            v
        };
        // Read twice: the second answer comes from what the reader kept.
        for _ in 0..2 {
            assert!(
                !advisories(&mut reader).contains(&"GHSA-4374-p667-p6c8".to_string()),
                "[{engine}]"
            );
            let f = finding(&mut reader);
            assert_eq!(
                (f.severity.as_str(), f.severity_from.as_deref()),
                ("unknown", None),
                "[{engine}]"
            );
            assert!(
                f.aliases.contains(&"CVE-2023-39325".to_string()),
                "[{engine}]"
            );
        }
        // GitHub's advisory of the same vulnerability, with a CVSS vector,
        // imported by the other connection.
        let ghsa = dir.path().join("GHSA-4374-p667-p6c8.json");
        std::fs::write(
            &ghsa,
            buildledger_testkit::advisories::ghsa_rapid_reset().to_string(),
        )
        .unwrap();
        feeds::import(
            &mut writer,
            std::slice::from_ref(&ghsa),
            &opts,
            &settings,
            &mut |_, _| {},
        )
        .unwrap();
        // Its own finding (a new finding written by the other connection)
        // is in the reader's next input.
        assert!(
            advisories(&mut reader).contains(&"GHSA-4374-p667-p6c8".to_string()),
            "[{engine}] the reader kept the findings of an older generation"
        );
        let f = finding(&mut reader);
        assert_eq!(
            (f.severity.as_str(), f.severity_from.as_deref()),
            ("high", Some("GHSA-4374-p667-p6c8")),
            "[{engine}] the reader kept the advisories of an older generation"
        );
        // The same advisory changed again (a worse vector): the reader sees
        // what a fresh connection sees.
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&ghsa).unwrap()).unwrap();
        doc["severity"][0]["score"] =
            serde_json::json!("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        doc["modified"] = serde_json::json!("2024-03-01T00:00:00Z");
        std::fs::write(&ghsa, doc.to_string()).unwrap();
        feeds::import(&mut writer, &[ghsa], &opts, &settings, &mut |_, _| {}).unwrap();
        let f = finding(&mut reader);
        let mut fresh = open::open(Some(&target), Access::ReadOnly).unwrap();
        let g = finding(&mut fresh);
        assert_eq!(
            (f.severity.as_str(), f.score, f.severity_from.as_deref()),
            ("critical", Some(9.8), Some("GHSA-4374-p667-p6c8")),
            "[{engine}] the reader kept a changed advisory's old severity"
        );
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::to_value(&g).unwrap(),
            "[{engine}]"
        );
        let whole = |store: &mut Store| {
            serde_json::to_value(
                policy::input(store, &digest, Deployment::default())
                    .unwrap()
                    .findings,
            )
            .unwrap()
        };
        assert_eq!(whole(&mut reader), whole(&mut fresh), "[{engine}]");
    }
}

/// Findings by severity now and per day: the total is the ledger's finding
/// count; an advisory without severity counts as unknown until an alias
/// gives it a score; days before the findings were added count none.
#[test]
fn severity_trend_counts_by_level_and_walks_back_by_day() {
    let settings = Settings::new(|_| None);
    let opts = ImportOptions {
        format: "auto".into(),
        strict: false,
    };
    for (engine, target, dir, _pg) in engines() {
        let mut s = open::open(Some(&target), Access::ReadWrite).unwrap();
        payments_with(&mut s, "examples/advisories/GO-2023-2102.json");
        let at = chrono::Utc::now();
        let t = reads::severity_trend(&mut s, 7, at).unwrap();
        let info = reads::info(&mut s).unwrap();
        let go = s.affected("GO-2023-2102").unwrap().unwrap_or_default();
        let mut components: Vec<&str> = go.iter().map(|f| f.purl.as_str()).collect();
        components.sort_unstable();
        components.dedup();
        assert!(!components.is_empty(), "[{engine}] no GO-2023-2102 finding");
        assert_eq!(t.now.iter().sum::<u64>(), info.findings, "[{engine}] {t:?}");
        // Go's database gives no severity: unknown.
        assert_eq!(t.now[4], components.len() as u64, "[{engine}] {t:?}");
        assert_eq!(t.days.len(), 7, "[{engine}]");
        assert_eq!(t.days.last().unwrap().1, t.now, "[{engine}]");
        assert_eq!(t.days[0].1, [0; 5], "[{engine}] before any finding: {t:?}");
        // Two days on, the days since today hold today's counts and the
        // days before, none.
        let later = reads::severity_trend(&mut s, 4, at + chrono::TimeDelta::days(2)).unwrap();
        let counts: Vec<[u64; 5]> = later.days.iter().map(|d| d.1).collect();
        assert_eq!(counts, vec![[0; 5], t.now, t.now, t.now], "[{engine}]");
        assert_eq!(
            later.days[1].0,
            at.date_naive(),
            "[{engine}] the second day is today"
        );
        // GitHub's advisory of the same vulnerability gives a CVSS score
        // (7.5): the Go findings borrow it and count as high.
        let ghsa = dir.path().join("GHSA-4374-p667-p6c8.json");
        std::fs::write(
            &ghsa,
            buildledger_testkit::advisories::ghsa_rapid_reset().to_string(),
        )
        .unwrap();
        feeds::import(
            &mut s,
            std::slice::from_ref(&ghsa),
            &opts,
            &settings,
            &mut |_, _| {},
        )
        .unwrap();
        let t2 = reads::severity_trend(&mut s, 7, chrono::Utc::now()).unwrap();
        let info = reads::info(&mut s).unwrap();
        assert_eq!(
            t2.now.iter().sum::<u64>(),
            info.findings,
            "[{engine}] {t2:?}"
        );
        assert_eq!(t2.now[4], 0, "[{engine}] still unknown: {t2:?}");
        assert!(t2.now[1] >= components.len() as u64, "[{engine}] {t2:?}");
    }
}

/// A pod of `workload` in `ns` running `digest`, as the API server lists it
/// (owner a ReplicaSet of the Deployment, the kubelet's resolved image id).
fn pod(workload: &str, ns: &str, digest: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{workload}-7d4b9c-x2k8q"), "namespace": ns,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": format!("{workload}-7d4b9c"), "uid": "u", "controller": true}]},
        "spec": {"containers": [{"name": workload, "image": format!("registry.example/{workload}:1")}]},
        "status": {"containerStatuses": [{"name": workload,
            "image": format!("registry.example/{workload}:1"),
            "imageID": format!("registry.example/{workload}@{digest}")}]}
    })
}

/// The posture view's environment filter keeps the containers without an
/// environment when asked for `""` (the console's "(none)" row), and the
/// bounded alert reads — a count with the newest few, and the alerts of
/// given posture entries looked up by key — agree with the full list.
#[test]
fn posture_without_environment_and_bounded_alert_reads() {
    use buildledger_service::alerts;
    use buildledger_service::posture::{self, PostureFilter};
    let settings = Settings::new(|_| None);
    for (engine, target, dir, _pg) in engines() {
        let mut s = open::open(Some(&target), Access::ReadWrite).unwrap();
        payments_with(&mut s, "examples/advisories");
        let pods = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            pod("payments", "shop", PAYMENTS),
            pod("payments", "scratch", PAYMENTS),
            pod("checkout", "shop-staging", PAYMENTS),
        ]});
        let nss = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop",
                "labels": {"buildledger.dev/environment": "production"}}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-staging",
                "labels": {"buildledger.dev/environment": "staging"}}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scratch"}},
        ]});
        buildledger_service::inventory::report(
            &mut s,
            "eu-1",
            &[
                (pods.to_string().into_bytes(), "pods.json".into()),
                (nss.to_string().into_bytes(), "ns.json".into()),
            ],
            &Default::default(),
        )
        .unwrap();
        let policy = buildledger_service::policy::Policy::load(&[], false, &settings).unwrap();
        let now = chrono::Utc::now();
        let view = |s: &mut Store, f: PostureFilter| {
            posture::posture_view(s, &policy, &f, 0, 50, now).unwrap()
        };
        let all = view(&mut s, PostureFilter::default());
        assert_eq!(all.total, 3, "[{engine}] {all:?}");
        let none = view(
            &mut s,
            PostureFilter {
                env: Some(String::new()),
                ..Default::default()
            },
        );
        assert_eq!(none.total, 1, "[{engine}] {none:?}");
        assert_eq!(none.entries[0].namespace, "scratch", "[{engine}]");
        assert_eq!(none.entries[0].environment, None, "[{engine}]");
        assert_eq!(
            none.counts.keys().collect::<Vec<_>>(),
            vec![""],
            "[{engine}]"
        );
        let staging = view(
            &mut s,
            PostureFilter {
                env: Some("staging".into()),
                ..Default::default()
            },
        );
        assert_eq!(staging.total, 1, "[{engine}] {staging:?}");
        assert_eq!(staging.entries[0].namespace, "shop-staging", "[{engine}]");

        // Fire the alerts, then read them back bounded.
        alerts::sync(&mut s, &policy, &["am".to_string()], None, now).unwrap();
        let firing = alerts::list(&mut s, Some("firing")).unwrap();
        assert!(firing.len() > 2, "[{engine}] {firing:?}");
        let (n, head) = alerts::firing_head(&mut s, 2).unwrap();
        assert_eq!(n, firing.len() as u64, "[{engine}]");
        assert_eq!(head, firing[..2].to_vec(), "[{engine}]");
        let id = "GO-2023-2102";
        let of_id = view(
            &mut s,
            PostureFilter {
                advisory: Some(id.into()),
                ..Default::default()
            },
        );
        // Only the staging container is kept: one workload's alerts.
        let one = view(
            &mut s,
            PostureFilter {
                advisory: Some(id.into()),
                env: Some("staging".into()),
                ..Default::default()
            },
        );
        assert_eq!(of_id.total, 3, "[{engine}] {of_id:?}");
        let is_this = |a: &str| a == id;
        for (entries, what) in [(&of_id.entries, "all"), (&one.entries, "staging")] {
            let got = alerts::firing_for(&mut s, entries, &is_this).unwrap();
            let want: Vec<_> = firing
                .iter()
                .filter(|a| {
                    a.labels.get("advisory").and_then(|v| v.as_str()) == Some(id)
                        && entries.iter().any(|e| {
                            a.labels.get("namespace").and_then(|v| v.as_str())
                                == Some(e.namespace.as_str())
                                && a.labels.get("workload").and_then(|v| v.as_str())
                                    == Some(e.workload.as_str())
                        })
                })
                .cloned()
                .collect();
            assert!(!want.is_empty(), "[{engine}] {what}: no {id} alert fires");
            assert_eq!(got, want, "[{engine}] {what}");
        }
        drop(dir);
    }
}
