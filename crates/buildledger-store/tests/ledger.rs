//! The ledger integration suite. Every test runs against both engines: an
//! SQLite file in a temporary directory and the PostgreSQL server named by
//! `BUILDLEDGER_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`),
//! each test in a schema of its own. Without a server the PostgreSQL half is
//! skipped with a message, except under `CI=true`, where that is a failure.

use std::collections::BTreeMap;

use buildledger_model::*;
use buildledger_store::{BackendKind, Query, Store, StoreError};

mod common;
use common::{Db, digest, each_backend, each_backend_at};

fn record(d: &str, commit: Option<&str>, toolchains: &[&str], purls: &[&str]) -> BuildRecord {
    buildledger_testkit::records::record(d)
        .media_type("application/vnd.oci.image.manifest.v1+json")
        .source(
            "https://github.com/acme/app.git",
            commit,
            Some("v1.0.0"),
            Some(false),
        )
        .toolchains(toolchains)
        .components(purls)
        .build()
}

const C1: &str = "1111111111111111111111111111111111111111";
const C2: &str = "2222222222222222222222222222222222222222";

fn lt(limit: &'static str) -> impl Fn(&str) -> bool {
    // A dotted-numeric "<" good enough for these fixtures; real range
    // semantics live in buildledger-version and are tested there.
    move |v: &str| {
        let p = |s: &str| {
            s.split('.')
                .map(|x| x.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        };
        p(v) < p(limit)
    }
}

#[test]
fn record_and_show_round_trip() {
    each_backend(|db: &mut Db| {
        let s = &mut db.store;
        let mut r = record(
            "a1",
            Some(C1),
            &["go@1.13.4"],
            &[
                "pkg:golang/golang.org/x/net@v0.1.0",
                "pkg:cargo/serde@1.0.0",
            ],
        );
        // hashes, location and scope survive the trip through the link table
        r.components[0].hashes.insert("h1".into(), "abc=".into());
        r.components[0].location = Some("usr/bin/app".into());
        r.components[1].scope = Scope::Build;
        r.components.sort_by(|a, b| a.purl.cmp(&b.purl));
        r.subjects[0]
            .references
            .push("registry.example/app:1.0".into());
        r.apis.push(ApiEntry {
            kind: ApiKind::Http,
            name: "GET /v1beta1/widgets".into(),
            version: Some("v1beta1".into()),
            stability: Stability::Beta,
        });
        let id = s.record(&r).unwrap();
        let v = s
            .show(&digest("a1"))
            .unwrap()
            .expect("recorded digest is shown");
        assert_eq!(v.records.len(), 1);
        assert_eq!(v.records[0].id, id);
        assert!(v.records[0].record.record_time.is_some());
        let mut back = v.records[0].record.clone();
        back.record_time = None;
        assert_eq!(back, r);
        assert_eq!(v.references, vec!["registry.example/app:1.0".to_string()]);
        assert!(v.conflicts.is_empty());
        assert!(s.show(&digest("ff")).unwrap().is_none());
    });
}

#[test]
fn history_is_append_only_and_conflicts_are_reported() {
    each_backend(|db| {
        let s = &mut db.store;
        s.record(&record("b1", Some(C1), &["go@1.13.4"], &[]))
            .unwrap();
        s.record(&record("b1", Some(C1), &["go@1.13.4"], &[]))
            .unwrap();
        let mut other = record("b1", Some(C2), &["go@1.14.1"], &[]);
        other.origin = Origin::Indexer;
        other.trust.state = TrustState::Observed;
        s.record(&other).unwrap();
        let v = s.show(&digest("b1")).unwrap().unwrap();
        assert_eq!(v.records.len(), 3, "each record is kept");
        let commit = v
            .conflicts
            .iter()
            .find(|c| c.field == "source.commit")
            .expect("commit conflict");
        assert_eq!(commit.claims.len(), 2);
        let c1 = commit.claims.iter().find(|c| c.value == C1).unwrap();
        assert_eq!(c1.records.len(), 2);
        assert_eq!(c1.origins, vec!["ci".to_string()]);
        let c2 = commit.claims.iter().find(|c| c.value == C2).unwrap();
        assert_eq!(c2.origins, vec!["indexer".to_string()]);
        assert!(v.conflicts.iter().any(|c| c.field == "toolchain go"));
        let all = s.conflicts().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, digest("b1").to_string());
    });
}

#[test]
fn components_are_stored_once() {
    each_backend(|db| {
        let s = &mut db.store;
        let base = [
            "pkg:deb/debian/libc6@2.36-9",
            "pkg:deb/debian/bash@5.2.15-2",
        ];
        for i in 0..5 {
            let app = format!("pkg:golang/example.com/app{i}@v1.0.{i}");
            let mut purls: Vec<&str> = base.to_vec();
            purls.push(&app);
            // a duplicate purl in one record is linked once
            purls.push(base[0]);
            s.record(&record(&format!("c{i}"), Some(C1), &[], &purls))
                .unwrap();
        }
        let st = s.stats().unwrap();
        assert_eq!(st.records, 5);
        assert_eq!(st.components, 2 + 5);
        assert_eq!(st.component_links, 5 * 3);
    });
}

#[test]
fn queries_by_toolchain_package_source_and_api() {
    each_backend(|db| {
        let s = &mut db.store;
        s.record(&record(
            "d1",
            Some(C1),
            &["go@1.13.4"],
            &["pkg:golang/golang.org/x/net@v0.0.1"],
        ))
        .unwrap();
        s.record(&record(
            "d2",
            Some(C2),
            &["go@1.14.1"],
            &["pkg:golang/golang.org/x/net@v0.2.0"],
        ))
        .unwrap();
        let mut r3 = record("d3", None, &["rustc@1.95.0"], &["pkg:cargo/serde@1.0.200"]);
        r3.source.as_mut().unwrap().tag = Some("v2.0.0".into());
        r3.apis.push(ApiEntry {
            kind: ApiKind::Grpc,
            name: "acme.v1alpha1.Widgets/List".into(),
            version: Some("v1alpha1".into()),
            stability: Stability::Alpha,
        });
        r3.origin = Origin::Attestation;
        r3.trust.state = TrustState::Verified;
        r3.trust.key_id = Some("0123abcd".into());
        s.record(&r3).unwrap();

        let exact = |want: &'static str| move |v: &str| v == want;
        let f = exact("1.13.4");
        let hits = s
            .query(&Query {
                toolchain: Some(("go".into(), &f)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            hits.iter().map(|h| h.digest.clone()).collect::<Vec<_>>(),
            vec![digest("d1").to_string()]
        );
        assert_eq!(hits[0].matched, vec!["go@1.13.4".to_string()]);

        let f = lt("1.14");
        let hits = s
            .query(&Query {
                toolchain: Some(("go".into(), &f)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        let f = lt("1.15");
        let hits = s
            .query(&Query {
                toolchain: Some(("go".into(), &f)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 2);

        let any = |_: &str| true;
        let hits = s
            .query(&Query {
                package: Some(("pkg:golang/golang.org/x/net".into(), &any)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 2);
        let f = exact("v0.2.0");
        let hits = s
            .query(&Query {
                package: Some(("pkg:golang/golang.org/x/net".into(), &f)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].digest, digest("d2").to_string());
        assert_eq!(hits[0].matched, vec!["v0.2.0".to_string()]);

        let hits = s
            .query(&Query {
                repo: Some("https://GITHUB.com/acme/app/".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 3, "repo compared after normalisation");
        let hits = s
            .query(&Query {
                commit: Some(C2[..9].into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].commit.as_deref(), Some(C2));
        let hits = s
            .query(&Query {
                tag: Some("v2.0.0".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        let hits = s
            .query(&Query {
                api_stability: Some(Stability::Alpha),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].digest, digest("d3").to_string());
        assert!(
            s.query(&Query {
                api_stability: Some(Stability::Beta),
                ..Default::default()
            })
            .unwrap()
            .is_empty()
        );

        // combined filters are ANDed; trusted_only drops unverified CI claims
        let hits = s
            .query(&Query {
                repo: Some("https://github.com/acme/app".into()),
                trusted_only: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].trust, TrustState::Verified);
        let f = exact("1.13.4");
        let hits = s
            .query(&Query {
                toolchain: Some(("go".into(), &f)),
                tag: Some("v2.0.0".into()),
                ..Default::default()
            })
            .unwrap();
        assert!(hits.is_empty());

        assert!(matches!(
            s.query(&Query::default()),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.query(&Query {
                commit: Some("xyz".into()),
                ..Default::default()
            }),
            Err(StoreError::Invalid(_))
        ));
    });
}

#[test]
fn invalid_records_store_nothing() {
    each_backend(|db| {
        let s = &mut db.store;
        s.record(&record("e0", Some(C1), &[], &[])).unwrap();
        let before = s.stats().unwrap();
        let mut bad = record("e1", Some(C1), &[], &["pkg:cargo/serde@1.0.0"]);
        bad.components.push(Component {
            purl: Purl::parse("pkg:cargo/noversion").unwrap(),
            hashes: BTreeMap::new(),
            scope: Scope::Build,
            location: None,
        });
        let e = s.record(&bad).unwrap_err();
        assert!(e.to_string().contains("components[1].purl"), "{e}");
        // a batch with one bad record stores none of them
        let good = record("e2", Some(C1), &[], &["pkg:cargo/rand@0.8.5"]);
        let e = s.record_many(&[good, bad]).unwrap_err();
        assert!(e.to_string().contains("[1].components[1].purl"), "{e}");
        assert_eq!(s.stats().unwrap(), before);
        assert!(s.show(&digest("e2")).unwrap().is_none());
    });
}

#[test]
fn a_failing_statement_rolls_the_whole_record_back() {
    each_backend(|db| {
        let s = &mut db.store;
        // Make the link insert fail after the record row and the subject were written.
        s.execute_batch("DROP TABLE postings_pending").unwrap();
        let r = record("f1", Some(C1), &["go@1.20.1"], &["pkg:cargo/serde@1.0.0"]);
        let e = s.record(&r).unwrap_err();
        assert!(matches!(e, StoreError::Database { .. }), "{e}");
        let n = s.raw_query("SELECT COUNT(*) FROM records", &[]).unwrap();
        assert_eq!(n[0][0].clone(), buildledger_store::Val::Int(0));
        assert!(s.show(&digest("f1")).unwrap().is_none());
        let n = s.raw_query("SELECT COUNT(*) FROM components", &[]).unwrap();
        assert_eq!(n[0][0].clone(), buildledger_store::Val::Int(0));
    });
}

#[test]
fn index_and_platform_manifests_are_linked() {
    each_backend(|db| {
        let s = &mut db.store;
        let mut r = record("10", Some(C1), &[], &[]);
        r.subjects[0].media_type = Some("application/vnd.oci.image.index.v1+json".into());
        r.subjects[0].manifests = vec![
            PlatformManifest {
                digest: digest("11"),
                platform: Some("linux/amd64".into()),
            },
            PlatformManifest {
                digest: digest("12"),
                platform: Some("linux/arm64".into()),
            },
        ];
        r.images.push(UsedImage {
            digest: digest("99"),
            role: ImageRole::Base,
            reference: Some("debian:12".into()),
        });
        s.record(&r).unwrap();
        let idx = s.show(&digest("10")).unwrap().unwrap();
        assert_eq!(idx.manifests.len(), 2);
        assert_eq!(idx.manifests[1].platform.as_deref(), Some("linux/arm64"));
        let m = s.show(&digest("12")).unwrap().unwrap();
        assert_eq!(m.indexes.len(), 1);
        assert_eq!(m.indexes[0].digest, digest("10").to_string());
        assert_eq!(
            m.records.len(),
            1,
            "a platform manifest inherits the index's record"
        );
        let base = s.show(&digest("99")).unwrap().unwrap();
        assert!(base.records.is_empty());
        assert_eq!(base.used_by.len(), 1);
        assert_eq!(base.used_by[0].role, "base");
        assert_eq!(base.used_by[0].subjects.len(), 3);
    });
}

#[test]
fn mapping_table() {
    each_backend(|db| {
        let s = &mut db.store;
        let mut r = record(
            "20",
            Some(C1),
            &["go@1.13.4"],
            &["pkg:cargo/a@1.0.0", "pkg:cargo/b@1.0.0"],
        );
        r.apis.push(ApiEntry {
            kind: ApiKind::Http,
            name: "GET /v2beta1/x".into(),
            version: Some("v2beta1".into()),
            stability: Stability::Beta,
        });
        r.subjects[0].references.push("reg/app:1".into());
        s.record(&r).unwrap();
        s.record(&record(
            "20",
            Some(C2),
            &["go@1.13.4"],
            &["pkg:cargo/a@1.0.0", "pkg:cargo/c@1.0.0"],
        ))
        .unwrap();
        s.record(&record("21", None, &[], &[])).unwrap();
        let t = s.table(None).unwrap();
        assert_eq!(t.len(), 2);
        let row = &t[0];
        assert_eq!(row.digest, digest("20").to_string());
        assert_eq!(row.records, 2);
        assert_eq!(row.components, 3);
        assert_eq!(row.toolchains, vec!["go@1.13.4".to_string()]);
        assert_eq!(row.apis, vec!["v2beta1 (beta)".to_string()]);
        assert_eq!(row.commits.len(), 2);
        assert!(row.conflict);
        assert!(
            row.tags.contains(&"reg/app:1".to_string()) && row.tags.contains(&"v1.0.0".to_string())
        );
        assert!(!t[1].conflict);
        assert_eq!(s.table(Some(1)).unwrap().len(), 1);
    });
}

#[test]
fn migrations_are_idempotent_and_refuse_newer_schemas() {
    each_backend(|db| {
        assert_eq!(
            db.store.schema_version().unwrap(),
            buildledger_store::Store::latest_schema_version()
        );
        db.store.record(&record("30", Some(C1), &[], &[])).unwrap();
        let again = db.reopen();
        assert_eq!(again.unwrap().stats().unwrap().records, 1);
        db.store
            .raw_exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)", &[])
            .unwrap();
        match db.reopen() {
            Err(StoreError::TooNew { found: 99, .. }) => {}
            Err(e) => panic!("expected TooNew, got {e}"),
            Ok(_) => panic!("expected TooNew, got a store"),
        }
    });
}

#[test]
fn two_writers_share_components() {
    each_backend(|db| {
        let mut other = db.reopen().unwrap();
        let purls = ["pkg:npm/left-pad@1.3.0", "pkg:npm/%40scope/pkg@2.0.0"];
        db.store
            .record(&record("40", Some(C1), &[], &purls))
            .unwrap();
        other.record(&record("41", Some(C1), &[], &purls)).unwrap();
        let st = db.store.stats().unwrap();
        assert_eq!(st.components, 2);
        assert_eq!(st.component_links, 4);
        if db.store.kind() == BackendKind::Sqlite {
            assert!(db.store.target().ends_with("ledger.db"));
        }
    });
}

#[test]
fn lineage_by_layer_chain_prefix() {
    each_backend(|db| {
        let s = &mut db.store;
        let l = |xs: &[&str]| {
            xs.iter()
                .map(|x| format!("sha256:{}", x.repeat(64 / x.len())))
                .collect::<Vec<_>>()
        };
        s.transaction(|s| {
            s.set_layers(digest("a0").as_str(), &l(&["1"]))?; // alpine
            s.set_layers(digest("b0").as_str(), &l(&["1", "2"]))?; // golang:alpine
            s.set_layers(digest("c0").as_str(), &l(&["1", "2", "3"]))?; // app on golang:alpine
            s.set_layers(digest("d0").as_str(), &l(&["1", "4"]))?; // other app on alpine
            s.set_layers(digest("e0").as_str(), &l(&["5", "2"]))?; // unrelated, shares a later layer
            Ok(())
        })
        .unwrap();
        let anc = s.lineage(digest("c0").as_str()).unwrap();
        let names: Vec<&str> = anc.iter().map(|a| a.digest.as_str()).collect();
        assert_eq!(
            names,
            vec![digest("b0").as_str(), digest("a0").as_str()],
            "closest base first"
        );
        assert_eq!(anc[0].layers, 2);
        assert!(s.lineage(digest("a0").as_str()).unwrap().is_empty());
        assert!(s.lineage(digest("e0").as_str()).unwrap().is_empty());
        assert!(s.lineage(digest("ff").as_str()).unwrap().is_empty());
        let mut desc = s.descendants(digest("a0").as_str()).unwrap();
        desc.sort();
        let mut want = vec![
            digest("b0").to_string(),
            digest("c0").to_string(),
            digest("d0").to_string(),
        ];
        want.sort();
        assert_eq!(desc, want);
        assert_eq!(s.layers(digest("b0").as_str()).unwrap(), l(&["1", "2"]));
    });
}

#[test]
fn audit_log_detects_edits_and_deletions() {
    each_backend(|db| {
        let s = &mut db.store;
        s.transaction(|s| {
            for i in 0..4 {
                s.audit(
                    "test.entry",
                    Some(&format!("rec{i}")),
                    &serde_json::json!({"n": i}),
                )?;
            }
            Ok(())
        })
        .unwrap();
        let ok = s.verify_audit().unwrap();
        assert_eq!(ok.entries, 4);
        assert!(ok.problems.is_empty(), "{:?}", ok.problems);
        // a rolled-back append leaves no trace
        s.begin().unwrap();
        s.audit("test.entry", Some("ghost"), &serde_json::json!({}))
            .unwrap();
        s.rollback().unwrap();
        assert_eq!(s.verify_audit().unwrap().entries, 4);

        s.raw_exec(
            "UPDATE audit_log SET payload = '{\"n\":99}' WHERE id = 2",
            &[],
        )
        .unwrap();
        let bad = s.verify_audit().unwrap();
        assert_eq!(bad.problems.len(), 1, "{:?}", bad.problems);
        assert!(bad.problems[0].contains("entry 2") && bad.problems[0].contains("edited"));

        s.raw_exec(
            "UPDATE audit_log SET payload = '{\"n\":1}' WHERE id = 2",
            &[],
        )
        .unwrap();
        assert!(s.verify_audit().unwrap().problems.is_empty());
        s.raw_exec("DELETE FROM audit_log WHERE id = 3", &[])
            .unwrap();
        let bad = s.verify_audit().unwrap();
        assert!(
            bad.problems
                .iter()
                .any(|p| p.contains("entry 3 is missing")),
            "{:?}",
            bad.problems
        );
        assert!(
            bad.problems
                .iter()
                .any(|p| p.contains("entry 4: previous-hash link broken")),
            "{:?}",
            bad.problems
        );
    });
}

#[test]
fn a_batch_is_stored_like_the_same_records_one_by_one() {
    each_backend(|db| {
        // The same digest twice in one batch (with two commits), a digest that
        // is a subject in one record and a base image in the next, a media
        // type learnt late, and a reference repeated.
        let mut a = record("b1", Some(C1), &["go@1.20.1"], &["pkg:cargo/serde@1.0.0"]);
        a.subjects[0].media_type = None;
        a.subjects[0].references = vec!["reg/app:1".into()];
        let mut b = record("b1", Some(C2), &["go@1.20.1"], &["pkg:cargo/serde@1.0.0"]);
        b.subjects[0].references = vec!["reg/app:1".into(), "reg/app:latest".into()];
        let mut c = record("b2", Some(C1), &[], &["pkg:cargo/rand@0.8.5"]);
        c.images.push(UsedImage {
            digest: digest("b1"),
            role: ImageRole::Base,
            reference: None,
        });
        let recs = vec![a, b, c];

        let ids = db.store.record_many(&recs).unwrap();
        assert_eq!(ids.len(), 3);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let mut one_by_one = common::sqlite();
        for r in &recs {
            one_by_one.store.record(r).unwrap();
        }
        for s in [&mut db.store, &mut one_by_one.store] {
            let v = s.show(&digest("b1")).unwrap().unwrap();
            assert_eq!(v.records.len(), 2);
            assert_eq!(
                v.media_type.as_deref(),
                Some("application/vnd.oci.image.manifest.v1+json")
            );
            assert_eq!(v.references, ["reg/app:1", "reg/app:latest"]);
            assert_eq!(v.conflicts.len(), 1, "{:?}", v.conflicts);
            assert_eq!(v.used_by.len(), 1);
            assert_eq!(v.used_by[0].subjects, [digest("b2").to_string()]);
            let st = s.stats().unwrap();
            assert_eq!(
                (st.images, st.records, st.components, st.component_links),
                (2, 3, 2, 3)
            );
        }
        let any = |_: &str| true;
        let q = Query {
            toolchain: Some(("go".into(), &any)),
            ..Default::default()
        };
        let hits = db.store.query(&q).unwrap();
        let ids_hit: Vec<i64> = hits.iter().map(|h| h.record_id).collect();
        assert_eq!(ids_hit, ids[..2]);
        assert!(hits.iter().all(|h| h.matched == ["go@1.20.1"]));
    });
}

#[test]
fn go_symbol_sets_are_shared_and_replaced_by_a_new_scan() {
    use buildledger_store::{NewGoBinary, PackageSymbols};
    each_backend(|db| {
        let s = &mut db.store;
        let (a, b) = (digest("a"), digest("b"));
        let mut syms = PackageSymbols::new();
        syms.entry("golang.org/x/net/html".into())
            .or_default()
            .extend(["Parse".to_string(), "Tokenizer.Next".to_string()]);
        syms.entry("main".into())
            .or_default()
            .insert("main".to_string());
        let net = "pkg:golang/golang.org/x/net@v0.1.0".to_string();
        let bin = |path: &'static str, syms: Option<&'static PackageSymbols>| NewGoBinary {
            path,
            goos: Some("linux"),
            goarch: Some("amd64"),
            modules: vec![net.clone(), "pkg:golang/stdlib@1.19.8".into()],
            symbols: syms.map(|p| ("go1.18", true, p)),
            error: syms.is_none().then_some("no Go function table found"),
        };
        let syms: &'static PackageSymbols = Box::leak(Box::new(syms));
        s.begin().unwrap();
        s.set_go_binaries(a.as_str(), "observed", &[bin("usr/bin/app", Some(syms))])
            .unwrap();
        // the same binary in another image, plus one whose table was unreadable
        s.set_go_binaries(
            b.as_str(),
            "unverified",
            &[bin("app", Some(syms)), bin("broken", None)],
        )
        .unwrap();
        s.commit().unwrap();
        let ra = s.go_binaries(a.as_str()).unwrap();
        let rb = s.go_binaries(b.as_str()).unwrap();
        assert_eq!(ra.len(), 1);
        assert_eq!(rb.len(), 2);
        assert_eq!(ra[0].set_id, rb[0].set_id, "one stored set for one binary");
        assert!(ra[0].inline_trees);
        assert_eq!(ra[0].trust, "observed");
        assert_eq!(
            ra[0].modules,
            vec![net.clone(), "pkg:golang/stdlib@1.19.8".to_string()]
        );
        assert_eq!(rb[1].set_id, None);
        assert_eq!(rb[1].error.as_deref(), Some("no Go function table found"));
        let set = ra[0].set_id.unwrap();
        let got = s
            .go_symbols(set, &["golang.org/x/net/html", "net/http"])
            .unwrap();
        assert_eq!(got.len(), 1, "only packages the set holds");
        assert!(got["golang.org/x/net/html"].contains("Tokenizer.Next"));
        // a new scan of an image replaces what the previous one read
        s.begin().unwrap();
        s.set_go_binaries(a.as_str(), "observed", &[]).unwrap();
        s.commit().unwrap();
        assert!(s.go_binaries(a.as_str()).unwrap().is_empty());
        assert_eq!(s.go_binaries(b.as_str()).unwrap().len(), 2);
    });
}

#[test]
fn id_caches_stay_bounded_and_ids_stay_right() {
    // A server's pooled connection lives for days: the image and component
    // ids it keeps must not grow with everything it ever wrote, and
    // starting again empty must never give a digest or purl a second row or
    // a wrong id.
    let ic = |k: usize| format!("{:x}", 0x100 + k);
    each_backend(|db| {
        let s = &mut db.store;
        s.limit_id_caches(8, 4);
        let purls: Vec<String> = (0..10)
            .map(|i| format!("pkg:golang/example.com/m{i}@v1.0.{i}"))
            .collect();
        let pick = |i: usize| -> Vec<&str> {
            [i % 10, (i * 3 + 1) % 10, (i * 7 + 2) % 10]
                .iter()
                .map(|&k| purls[k].as_str())
                .collect()
        };
        // One by one: 25 digests written twice each, far apart.
        for i in 0..50 {
            let d = ic(i % 25);
            let mut r = record(&d, Some(C1), &[], &pick(i));
            if i % 4 == 0 {
                // the earlier digest as a base image of a new one
                r.images.push(UsedImage {
                    digest: digest(&ic((i + 7) % 25)),
                    role: ImageRole::Base,
                    reference: None,
                });
            }
            s.record(&r).unwrap();
            let (images, components) = s.id_cache_len();
            assert!(images <= 8 && components <= 4, "{images} {components}");
        }
        // A batch larger than the limit, old and new digests mixed.
        let batch: Vec<BuildRecord> = (0..30)
            .map(|i| record(&ic(i + 10), Some(C2), &[], &pick(i + 3)))
            .collect();
        s.record_many(&batch).unwrap();
        // A transaction that fails after inserting new ids rolls them back.
        let bad = s.transaction(|t| {
            t.image_id(&digest("dead").to_string(), None)?;
            Err::<(), _>(StoreError::Corrupt("fail on purpose".into()))
        });
        assert!(bad.is_err());
        s.record(&record("beef", Some(C1), &[], &pick(1))).unwrap();

        let st = s.stats().unwrap();
        // 40 digests and the last one; the rolled-back digest is gone.
        assert_eq!(st.images, 41);
        assert_eq!(st.records, 50 + 30 + 1);
        assert_eq!(st.components, 10);
        assert!(s.show(&digest("dead")).unwrap().is_none());
        for k in 0..25 {
            let v = s.show(&digest(&ic(k))).unwrap().unwrap();
            let expected = if (10..25).contains(&k) { 3 } else { 2 };
            assert_eq!(v.records.len(), expected, "image {k}");
        }
        // A fresh connection with no cache reads the same ledger.
        let mut fresh = db.reopen().unwrap();
        assert_eq!(fresh.stats().unwrap().images, 41);
        let v = fresh.show(&digest(&ic(7))).unwrap().unwrap();
        assert_eq!(v.used_by.len(), 1, "{:?}", v.used_by);
    });
}

#[test]
fn toolchain_versions_are_listed_once_whoever_wrote_them() {
    // Schema v17 keeps each toolchain version once, written with the first
    // record that names it: a version first written in a rolled-back
    // transaction, or by another connection, must still be listed.
    each_backend_at(16, |db| {
        // Records written before the upgrade are listed after it.
        db.store
            .record(&record("a1", Some(C1), &["go@1.13.4", "rustc@1.75.0"], &[]))
            .unwrap();
        db.store
            .record(&record("a2", Some(C1), &["go@1.12.17"], &[]))
            .unwrap();
        let mut s = db.reopen().unwrap();
        assert_eq!(s.schema_version().unwrap(), Store::latest_schema_version());
        assert_eq!(s.toolchain_versions("go").unwrap(), ["1.12.17", "1.13.4"]);
        assert_eq!(s.toolchain_versions("rustc").unwrap(), ["1.75.0"]);

        let rolled_back = s.transaction(|t| {
            t.insert_record(&record("a3", Some(C1), &["go@1.21.5"], &[]))?;
            Err::<(), _>(StoreError::Corrupt("fail on purpose".into()))
        });
        assert!(rolled_back.is_err());
        assert_eq!(s.toolchain_versions("go").unwrap(), ["1.12.17", "1.13.4"]);
        // The same connection writes that version again, for real.
        s.record(&record("a3", Some(C1), &["go@1.21.5"], &[]))
            .unwrap();
        assert_eq!(
            s.toolchain_versions("go").unwrap(),
            ["1.12.17", "1.13.4", "1.21.5"]
        );
        // Another connection writes a version this one has seen and one it
        // has not.
        let mut other = db.reopen().unwrap();
        other
            .record(&record("a4", Some(C2), &["go@1.21.5", "go@1.22.0"], &[]))
            .unwrap();
        assert_eq!(
            s.toolchain_versions("go").unwrap(),
            ["1.12.17", "1.13.4", "1.21.5", "1.22.0"]
        );
        // And a query finds every record through them.
        let any = |_: &str| true;
        let q = Query {
            toolchain: Some(("go".into(), &any)),
            ..Default::default()
        };
        assert_eq!(s.query(&q).unwrap().len(), 4);
    });
}
