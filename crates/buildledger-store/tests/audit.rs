//! Issue 9, item 3: the audit log covers every stored record. Each test
//! edits the database behind the ledger's back, as someone with write access
//! to the file or the PostgreSQL schema would, and checks that
//! `verify_audit` names what changed. Both engines.

use buildledger_model::*;
use buildledger_store::{Store, Val};

mod common;
use common::{Db, digest, each_backend, each_backend_at};

fn record(d: &str, commit: &str, purls: &[&str]) -> BuildRecord {
    let mut r = buildledger_testkit::records::record(d)
        .reference("registry.example/app:1")
        .source(
            "https://github.com/acme/app",
            Some(commit),
            Some("v1.0.0"),
            Some(false),
        )
        .toolchains(&["go@1.21.5"])
        .components(purls)
        .build();
    r.images = vec![UsedImage {
        digest: digest("ba5e"),
        role: ImageRole::Base,
        reference: Some("gcr.io/distroless/static".into()),
    }];
    r.apis = vec![ApiEntry {
        kind: ApiKind::Http,
        name: "GET /v1/things".into(),
        version: Some("v1".into()),
        stability: Stability::Stable,
    }];
    r
}

/// Three records sharing components; the ledger verifies clean.
fn seed(s: &mut Store) {
    s.record(&record(
        "a1",
        "1111111",
        &[
            "pkg:golang/golang.org/x/net@v0.7.0",
            "pkg:golang/github.com/pkg/errors@v0.9.1",
        ],
    ))
    .unwrap();
    let mut r2 = record("a2", "2222222", &["pkg:golang/golang.org/x/net@v0.7.0"]);
    r2.components[0]
        .hashes
        .insert("sha256".into(), "ab".repeat(32));
    s.record(&r2).unwrap();
    s.record(&record(
        "a3",
        "3333333",
        &["pkg:golang/golang.org/x/net@v0.6.0"],
    ))
    .unwrap();
    let rep = s.verify_audit().unwrap();
    assert_eq!(rep.problems, Vec::<String>::new());
    assert_eq!(rep.records, 3);
    assert_eq!(rep.entries, 3, "one sealing entry per record");
}

fn problems_after(db: &mut Db, sql: &[&str]) -> Vec<String> {
    for q in sql {
        db.store.raw_exec(q, &[]).unwrap();
    }
    let rep = db.store.verify_audit().unwrap();
    assert_eq!(rep.problem_count as usize, rep.problems.len());
    rep.problems
}

fn assert_found(problems: &[String], want: &str, what: &str) {
    assert!(
        problems.iter().any(|p| p.contains(want)),
        "{what}: expected a problem containing {want:?}, got {problems:?}"
    );
}

#[test]
fn edits_to_any_row_of_a_record_are_detected() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "the issue's reproduction: source repo rewritten",
            &["UPDATE records SET source_repo = 'https://evil' WHERE id = 1"],
            "record 1: stored rows differ",
        ),
        (
            "trust forged in the database",
            &["UPDATE records SET trust_state = 'verified', trust_key = 'x' WHERE id = 2"],
            "record 2: stored rows differ",
        ),
        (
            "body edited",
            &["UPDATE record_bodies SET body = REPLACE(body, 'v1.0.0', 'v6.6.6') WHERE record_id = 3"],
            "record 3: stored rows differ",
        ),
        (
            "subject link removed",
            &["DELETE FROM record_subjects WHERE record_id = 2"],
            "record 2: stored rows differ",
        ),
        (
            "base image swapped",
            &["UPDATE record_images SET role = 'builder' WHERE record_id = 1"],
            "record 1: stored rows differ",
        ),
        (
            "toolchain downgraded",
            &["UPDATE record_toolchains SET version = '1.13.4' WHERE record_id = 3"],
            "record 3: stored rows differ",
        ),
        (
            "API stability changed",
            &["UPDATE record_apis SET stability = 'alpha' WHERE record_id = 1"],
            "record 1: stored rows differ",
        ),
        (
            "component version rewritten (shared by records 1 and 2)",
            &["UPDATE components SET version = 'v9.9.9' WHERE purl = 'pkg:golang/golang.org/x/net@v0.7.0'"],
            "record 2: stored rows differ",
        ),
        (
            "image digest rewritten",
            &["UPDATE images SET digest = 'sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' WHERE digest LIKE 'sha256:a3a3%'"],
            "record 3: stored rows differ",
        ),
        (
            "component links emptied",
            &["UPDATE record_links SET components = (SELECT components FROM record_links WHERE record_id = 3), component_count = 1 WHERE record_id = 1"],
            "record 1: stored rows differ",
        ),
        (
            "per-link hash removed",
            &["DELETE FROM record_component_extras WHERE record_id = 2"],
            "record 2: stored rows differ",
        ),
        (
            "record deleted whole",
            &[
                "DELETE FROM records WHERE id = 3",
                "DELETE FROM record_bodies WHERE record_id = 3",
                "DELETE FROM record_links WHERE record_id = 3",
                "DELETE FROM record_subjects WHERE record_id = 3",
                "DELETE FROM record_images WHERE record_id = 3",
                "DELETE FROM record_toolchains WHERE record_id = 3",
                "DELETE FROM record_apis WHERE record_id = 3",
                "DELETE FROM postings_pending WHERE record_id = 3",
            ],
            "record 3 was deleted",
        ),
        (
            "records row deleted, the rest left",
            &["DELETE FROM records WHERE id = 2"],
            "record 2: rows exist without its records row",
        ),
        (
            "the last audit entry deleted (it sealed record 3)",
            &["DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"],
            "record 3 has no audit entry",
        ),
        (
            "a record inserted behind the ledger's back",
            &[
                "INSERT INTO records (id, record_time, build_time, origin, trust_state, trust_key, builder_id, source_repo, source_commit, source_tag, source_dirty, subjects)
                 SELECT 99, record_time, build_time, 'attestation', 'verified', 'k', builder_id, source_repo, source_commit, source_tag, source_dirty, subjects FROM records WHERE id = 1",
                "INSERT INTO record_bodies (record_id, body) SELECT 99, body FROM record_bodies WHERE record_id = 1",
            ],
            "record 99 has no audit entry",
        ),
    ];
    for (what, sql, want) in cases {
        each_backend(|db| {
            seed(&mut db.store);
            let problems = problems_after(db, sql);
            assert_found(&problems, want, what);
        });
    }
}

#[test]
fn postings_that_disagree_with_the_records_are_detected() {
    each_backend(|db| {
        seed(&mut db.store);
        // Fold the pending records into postings, as a busy ledger does.
        db.store.transaction(|s| s.compact_postings()).unwrap();
        assert!(db.store.verify_audit().unwrap().problems.is_empty());
        // Hide record 1 from package and advisory queries for x/net.
        let problems = problems_after(
            db,
            &[
                "DELETE FROM component_postings WHERE component_id = (SELECT id FROM components WHERE purl = 'pkg:golang/golang.org/x/net@v0.7.0')",
            ],
        );
        assert_found(&problems, "postings of component", "postings row deleted");
    });
    each_backend(|db| {
        seed(&mut db.store);
        // Still pending: dropping a record from the pending list hides it too.
        let problems = problems_after(db, &["DELETE FROM postings_pending WHERE record_id = 2"]);
        assert_found(&problems, "postings of component", "pending row deleted");
    });
}

#[test]
fn truncation_is_visible_against_a_checkpointed_head() {
    each_backend(|db| {
        seed(&mut db.store);
        db.store
            .transaction(|s| {
                s.audit(
                    "attestation.rejected",
                    None,
                    &serde_json::json!({"reason": "test"}),
                )
                .map(|_| ())
            })
            .unwrap();
        let rep = db.store.verify_audit().unwrap();
        assert!(rep.problems.is_empty());
        let (n, head) = (rep.entries, rep.head.clone());
        assert_eq!(
            db.store.audit_entry_hash(n).unwrap(),
            (n, Some(head.clone()))
        );
        // Cutting the tail that sealed no record is invisible to the chain alone …
        db.store
            .raw_exec("DELETE FROM audit_log WHERE id = ?", &[Val::Int(n as i64)])
            .unwrap();
        assert!(db.store.verify_audit().unwrap().problems.is_empty());
        // … and plain against the head kept outside the database.
        assert_eq!(db.store.audit_entry_hash(n).unwrap(), (n - 1, None));
    });
}

#[test]
fn every_write_path_seals_its_records() {
    each_backend(|db| {
        // The batch path (bench, bulk import) seals as the one-by-one path does.
        let recs: Vec<BuildRecord> = (0..5)
            .map(|i| record(&format!("b{i}"), "4444444", &["pkg:cargo/serde@1.0.200"]))
            .collect();
        db.store.record_many(&recs).unwrap();
        let rep = db.store.verify_audit().unwrap();
        assert_eq!(rep.problems, Vec::<String>::new());
        assert_eq!((rep.records, rep.entries), (5, 5));
        let problems = problems_after(db, &["UPDATE records SET source_tag = 'v0' WHERE id = 4"]);
        assert_found(
            &problems,
            "record 4: stored rows differ",
            "batch record edited",
        );
    });
}

#[test]
fn ledgers_from_before_seals_are_sealed_on_upgrade() {
    each_backend_at(5, |db| {
        let s = &mut db.store;
        assert_eq!(s.schema_version().unwrap(), 5);
        s.record(&record("c1", "5555555", &["pkg:pypi/requests@2.31.0"]))
            .unwrap();
        // What a v5 ledger's log held: entries without a seal.
        s.raw_exec("DELETE FROM audit_log", &[]).unwrap();
        s.transaction(|s| {
            s.audit(
                "record.accepted",
                Some("x"),
                &serde_json::json!({"record_id": 1, "record_sha256": "00"}),
            )
            .map(|_| ())
        })
        .unwrap();
        let mut s = db.reopen().unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            buildledger_store::Store::latest_schema_version()
        );
        let rep = s.verify_audit().unwrap();
        assert_eq!(rep.problems, Vec::<String>::new());
        assert_eq!((rep.records, rep.entries), (1, 2));
        s.raw_exec(
            "UPDATE records SET source_commit = 'deadbee' WHERE id = 1",
            &[],
        )
        .unwrap();
        assert_found(
            &s.verify_audit().unwrap().problems,
            "record 1: stored rows differ",
            "edit after upgrade",
        );
    });
}

/// Component ids of a rolled-back transaction are reused (SQLite): what was
/// learnt about them for sealing must be forgotten with the transaction.
#[test]
fn seals_stay_true_when_a_rolled_back_component_id_is_reused() {
    each_backend(|db| {
        let s = &mut db.store;
        s.begin().unwrap();
        s.insert_record(&record("d1", "6666666", &["pkg:npm/left-pad@1.3.0"]))
            .unwrap();
        s.rollback().unwrap();
        s.record(&record("d2", "7777777", &["pkg:npm/right-pad@9.9.9"]))
            .unwrap();
        let rep = s.verify_audit().unwrap();
        assert_eq!(rep.problems, Vec::<String>::new());
        assert_eq!(rep.records, 1);
    });
}
