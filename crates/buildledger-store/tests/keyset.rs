//! Keyset pages of `query` (schema v14): pages read from a cursor join to
//! exactly the whole list, for every kind of filter and their combinations,
//! over folded and pending records and records with several digests; the
//! whole list equals what the records say (an oracle computed here); the v14
//! migration makes overlapping postings rows disjoint. Every test runs on
//! SQLite and PostgreSQL (see `common`).

use buildledger_model::*;
use buildledger_store::postings::COMPACT_AT;
use buildledger_store::{Hit, Query, QueryCursor, Store, Val};

mod common;
use common::{each_backend, each_backend_at};

/// Deterministic records: toolchains, packages, APIs, repos and a second
/// subject vary with the index.
fn record(i: usize) -> BuildRecord {
    let mut purls = Vec::new();
    if !i.is_multiple_of(10) {
        purls.push(format!("pkg:golang/example.com/popular@v1.{}.0", i % 4));
    }
    if i.is_multiple_of(97) {
        purls.push(format!("pkg:golang/example.com/rare@v0.1.{}", i % 2));
    }
    if i.is_multiple_of(3) {
        purls.push(format!("pkg:golang/example.com/mid@v2.0.{}", i % 5));
    }
    let purls: Vec<&str> = purls.iter().map(String::as_str).collect();
    let mut r = buildledger_testkit::records::record(&format!("{i:08x}"))
        .source(
            &format!("https://github.com/acme/r{}", i % 3),
            None,
            None,
            None,
        )
        .toolchains(&[&format!("go@1.{}.{}", 10 + i % 11, i % 3)])
        .components(&purls)
        .build();
    if i.is_multiple_of(5) {
        r.subjects
            .push(buildledger_testkit::records::subject(&format!("f{i:07x}")));
    }
    for (every, stability) in [(7, Stability::Beta), (11, Stability::Alpha)] {
        if i.is_multiple_of(every) {
            r.apis.push(ApiEntry {
                kind: ApiKind::Http,
                name: format!("GET /v1/things{i}"),
                version: None,
                stability,
            });
        }
    }
    r
}

struct Case {
    name: &'static str,
    toolchain_below: Option<u32>,
    package: Option<(&'static str, Option<&'static str>)>,
    api: Option<Stability>,
    repo: Option<usize>,
}

impl Case {
    fn holds(&self, i: usize) -> bool {
        let minor = 10 + i % 11;
        self.toolchain_below.is_none_or(|b| (minor as u32) < b)
            && self.package.is_none_or(|(p, v)| match p {
                "pkg:golang/example.com/popular" => {
                    !i.is_multiple_of(10) && v.is_none_or(|v| v == format!("v1.{}.0", i % 4))
                }
                "pkg:golang/example.com/rare" => {
                    i.is_multiple_of(97) && v.is_none_or(|v| v == format!("v0.1.{}", i % 2))
                }
                "pkg:golang/example.com/mid" => {
                    i.is_multiple_of(3) && v.is_none_or(|v| v == format!("v2.0.{}", i % 5))
                }
                _ => false,
            })
            && self.api.is_none_or(|s| match s {
                Stability::Beta => i.is_multiple_of(7),
                Stability::Alpha => i.is_multiple_of(11),
                _ => false,
            })
            && self.repo.is_none_or(|r| i % 3 == r)
    }

    fn run(
        &self,
        s: &mut Store,
        limit: Option<usize>,
        start: Option<QueryCursor>,
    ) -> (Vec<Hit>, Option<QueryCursor>) {
        let below = self.toolchain_below;
        let tc = move |v: &str| {
            let minor: u32 = v
                .split('.')
                .nth(1)
                .and_then(|m| m.parse().ok())
                .unwrap_or(99);
            below.is_some_and(|b| minor < b)
        };
        let want = self.package.and_then(|p| p.1);
        let pk = move |v: &str| want.is_none_or(|w| w == v);
        let repo = self.repo.map(|r| format!("https://github.com/acme/r{r}"));
        let page = s
            .query_page(&Query {
                toolchain: self
                    .toolchain_below
                    .map(|_| ("go".to_string(), &tc as &dyn Fn(&str) -> bool)),
                package: self
                    .package
                    .map(|(p, _)| (p.to_string(), &pk as &dyn Fn(&str) -> bool)),
                repo,
                api_stability: self.api,
                limit,
                start,
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        (page.hits, page.next)
    }
}

fn cases() -> Vec<Case> {
    let none = Case {
        name: "",
        toolchain_below: None,
        package: None,
        api: None,
        repo: None,
    };
    vec![
        Case {
            name: "toolchain range",
            toolchain_below: Some(15),
            ..none
        },
        Case {
            name: "popular package",
            package: Some(("pkg:golang/example.com/popular", None)),
            ..none
        },
        Case {
            name: "rare package",
            package: Some(("pkg:golang/example.com/rare", None)),
            ..none
        },
        Case {
            name: "package at one version",
            package: Some(("pkg:golang/example.com/mid", Some("v2.0.3"))),
            ..none
        },
        Case {
            name: "api beta",
            api: Some(Stability::Beta),
            ..none
        },
        Case {
            name: "repo",
            repo: Some(1),
            ..none
        },
        Case {
            name: "toolchain and package",
            toolchain_below: Some(15),
            package: Some(("pkg:golang/example.com/mid", None)),
            ..none
        },
        Case {
            name: "package, api and repo",
            package: Some(("pkg:golang/example.com/popular", None)),
            api: Some(Stability::Alpha),
            repo: Some(2),
            ..none
        },
        Case {
            name: "toolchain and api",
            toolchain_below: Some(30),
            api: Some(Stability::Beta),
            ..none
        },
    ]
}

/// Every page from the start, `limit` hits each (at most `max_pages`).
fn walk(s: &mut Store, c: &Case, limit: usize, max_pages: usize) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut start = None;
    for _ in 0..max_pages {
        let (hits, next) = c.run(s, Some(limit), start);
        assert!(hits.len() <= limit, "{}: page over its limit", c.name);
        match next {
            Some(n) => {
                assert_eq!(
                    hits.len(),
                    limit,
                    "{}: a short page that is not the last",
                    c.name
                );
                // A cursor survives its text form.
                assert_eq!(n.to_string().parse::<QueryCursor>().unwrap(), n);
                start = Some(n);
                out.extend(hits);
            }
            None => {
                out.extend(hits);
                break;
            }
        }
    }
    out
}

#[test]
fn pages_join_to_the_whole_list_and_the_list_is_what_the_records_say() {
    each_backend(|db| {
        let s = &mut db.store;
        let n = COMPACT_AT as usize + 700;
        let recs: Vec<BuildRecord> = (0..n).map(record).collect();
        let mut ids = Vec::new();
        for chunk in recs.chunks(500) {
            ids.extend(s.record_many(chunk).unwrap());
        }
        let pending = match s
            .raw_query("SELECT COUNT(*) FROM postings_pending", &[])
            .unwrap()[0][0]
        {
            Val::Int(k) => k,
            ref v => panic!("{v:?}"),
        };
        assert!(
            pending > 0 && pending < n as i64,
            "both folded and pending records: {pending} pending"
        );
        for c in cases() {
            let (whole, next) = c.run(s, None, None);
            assert_eq!(next, None);
            // The oracle: (record, digest) of every record the case holds for.
            let mut want: Vec<(i64, String)> = Vec::new();
            for (i, r) in recs.iter().enumerate() {
                if c.holds(i) {
                    want.extend(
                        r.subjects
                            .iter()
                            .map(|sub| (ids[i], sub.digest.to_string())),
                    );
                }
            }
            let mut got: Vec<(i64, String)> = whole
                .iter()
                .map(|h| (h.record_id, h.digest.clone()))
                .collect();
            assert!(
                got.windows(2).all(|w| w[0].0 <= w[1].0),
                "{}: not in record order",
                c.name
            );
            got.sort();
            want.sort();
            assert!(!want.is_empty(), "{}: the fixture matches nothing", c.name);
            assert_eq!(got, want, "{}", c.name);
            for (limit, max_pages) in [(13, usize::MAX), (250, usize::MAX), (whole.len(), 2)] {
                let paged = walk(s, &c, limit, max_pages);
                assert_eq!(paged, whole, "{}: pages of {limit}", c.name);
            }
            // Pages of one hit, from the start, cut records with two digests.
            let first = walk(s, &c, 1, 40);
            assert_eq!(first[..], whole[..first.len()], "{}: pages of 1", c.name);
        }
    });
}

#[test]
fn a_cursor_is_a_position_not_an_offset() {
    each_backend(|db| {
        let s = &mut db.store;
        let ids = s
            .record_many(&(0..50).map(record).collect::<Vec<_>>())
            .unwrap();
        let c = &cases()[1];
        let (page, next) = c.run(s, Some(10), None);
        let next = next.expect("a second page");
        // Records written after the first page do not shift the second, nor
        // do records that sort before it (a page is a position, not an offset).
        s.record_many(&(50..80).map(record).collect::<Vec<_>>())
            .unwrap();
        let (second, _) = c.run(s, Some(10), Some(next));
        let (whole, _) = c.run(s, None, None);
        assert_eq!(whole[..10], page[..]);
        assert_eq!(whole[10..20], second[..]);
        assert!(second.iter().all(|h| h.record_id <= ids[49]));
        // Cursors from elsewhere are refused with the field named.
        for bad in [
            "",
            "12",
            "a.b",
            "-1.0",
            "0.0",
            "+3.0",
            "3.+1",
            "3.99999999999",
        ] {
            let e = bad.parse::<QueryCursor>().unwrap_err();
            assert_eq!(e.field, "cursor", "{bad:?}");
        }
    });
}

#[test]
fn late_commits_keep_postings_in_order() {
    each_backend(|db| {
        if db.store.kind() != buildledger_store::BackendKind::Postgres {
            // Only PostgreSQL has two writers at once.
            return;
        }
        let purl = "pkg:golang/example.com/popular@v1.1.0";
        let rec = |seed: &str| {
            buildledger_testkit::records::record(seed)
                .components(&[purl])
                .build()
        };
        db.store.record(&rec("e0")).unwrap();
        db.store.transaction(|s| s.compact_postings()).unwrap();
        let mut a = db.reopen().unwrap();
        let mut b = db.reopen().unwrap();
        // A takes the lower id but commits after B has folded a higher one.
        a.begin().unwrap();
        a.insert_record(&rec("e1")).unwrap();
        b.record(&rec("e2")).unwrap();
        b.record(&rec("e3")).unwrap();
        assert_eq!(b.transaction(|s| s.compact_postings()).unwrap(), 2);
        a.commit().unwrap();
        b.record(&rec("e4")).unwrap();
        // Folds e1 (late: below e2 and e3) and e4.
        assert_eq!(b.transaction(|s| s.compact_postings()).unwrap(), 2);
        let c = Case {
            name: "late",
            toolchain_below: None,
            package: Some(("pkg:golang/example.com/popular", None)),
            api: None,
            repo: None,
        };
        let (whole, _) = c.run(&mut b, None, None);
        assert_eq!(whole.len(), 5);
        assert!(whole.windows(2).all(|w| w[0].record_id < w[1].record_id));
        for limit in 1..=5 {
            assert_eq!(
                walk(&mut b, &c, limit, usize::MAX),
                whole,
                "pages of {limit}"
            );
        }
    });
}

#[test]
fn v14_makes_overlapping_postings_disjoint() {
    each_backend_at(13, |db| {
        let s = &mut db.store;
        let recs: Vec<BuildRecord> = (1..=10)
            .map(|i| {
                buildledger_testkit::records::record(&format!("{i:08x}"))
                    .components(&["pkg:cargo/serde@1.0.0"])
                    .build()
            })
            .collect();
        s.record_many(&recs).unwrap();
        s.transaction(|s| s.compact_postings()).unwrap();
        let row = s
            .raw_query("SELECT component_id, records FROM component_postings", &[])
            .unwrap();
        assert_eq!(row.len(), 1);
        let cid = row[0][0].clone();
        // Two interleaved rows, as concurrent folds before v14 could leave
        // them: odd ids from 1, even ids from 2 (delta varints).
        s.raw_exec("DELETE FROM component_postings", &[]).unwrap();
        for (first, blob) in [(1, vec![1u8, 2, 2, 2, 2]), (2, vec![2u8, 2, 2, 2, 2])] {
            s.raw_exec(
                "INSERT INTO component_postings (component_id, first_record, records) VALUES (?, ?, ?)",
                &[cid.clone(), Val::Int(first), Val::Blob(blob)],
            )
            .unwrap();
        }
        let mut s = db.reopen().unwrap();
        assert_eq!(s.schema_version().unwrap(), Store::latest_schema_version());
        let rows = s
            .raw_query("SELECT first_record FROM component_postings", &[])
            .unwrap();
        assert_eq!(
            rows,
            vec![vec![Val::Int(1)]],
            "merged into one row from record 1"
        );
        let c = Case {
            name: "migrated",
            toolchain_below: None,
            package: Some(("pkg:cargo/serde", None)),
            api: None,
            repo: None,
        };
        let (whole, _) = c.run(&mut s, None, None);
        assert_eq!(
            whole.iter().map(|h| h.record_id).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        assert_eq!(walk(&mut s, &c, 3, usize::MAX), whole);
    });
}

/// Images affected by an advisory and finding changes, page by page: the
/// pages join to the whole list (as the unpaged reads give it), an image's
/// findings are never split, and cursors survive their text form. Records
/// are both folded and pending, some images have two subjects, and some are
/// recorded twice, the second time with the vulnerable component only.
#[test]
fn affected_and_changes_pages_join_to_the_whole_list() {
    each_backend(|db| {
        let s = &mut db.store;
        let first: Vec<BuildRecord> = (0..400).map(record).collect();
        s.record_many(&first).unwrap();
        s.transaction(|s| s.compact_postings()).unwrap();
        let mut later: Vec<BuildRecord> = (400..600).map(record).collect();
        // Images first recorded without a vulnerable component, then again
        // with one: listed at the later record.
        for i in (0..600).filter(|i| i % 10 == 0 && i % 97 != 0).step_by(3) {
            let mut r = record(i);
            r.components =
                buildledger_testkit::records::components(&["pkg:golang/example.com/rare@v0.1.0"]);
            later.push(r);
        }
        // Images already affected, recorded again with another vulnerable
        // component: listed once, at their first record, with both findings.
        for i in [1, 5, 9, 41, 81] {
            let mut r = record(i);
            r.components =
                buildledger_testkit::records::components(&["pkg:golang/example.com/rare@v0.1.0"]);
            later.push(r);
        }
        s.record_many(&later).unwrap();

        let cids: Vec<i64> = s
            .raw_query(
                "SELECT id FROM components WHERE purl IN (?, ?, ?) ORDER BY id",
                &[
                    "pkg:golang/example.com/popular@v1.1.0".into(),
                    "pkg:golang/example.com/rare@v0.1.0".into(),
                    "pkg:golang/example.com/mid@v2.0.3".into(),
                ],
            )
            .unwrap()
            .iter()
            .map(|r| match r[0] {
                Val::Int(k) => k,
                ref v => panic!("{v:?}"),
            })
            .collect();
        assert_eq!(cids.len(), 3);
        s.transaction(|s| {
            let adv = s
                .upsert_advisory(&advisory(
                    "GO-2099-0001",
                    "h1",
                    None,
                    &["GO-2099-0001", "CVE-2099-0001"],
                ))?
                .id();
            let f: Vec<buildledger_store::NewFinding> = cids
                .iter()
                .map(|c| buildledger_store::NewFinding {
                    component_id: *c,
                    kind: "vuln".into(),
                    fixed: Some("9.9.9".into()),
                })
                .collect();
            s.replace_findings(adv, None, &f, "h1")
        })
        .unwrap();

        let key = |f: &buildledger_store::ImageFinding| {
            (f.digest.clone(), f.advisory.clone(), f.purl.clone())
        };
        let whole = s.affected("CVE-2099-0001").unwrap().expect("alias known");
        assert!(whole.len() > 150, "{} findings", whole.len());
        // Among given digests (the running images): exactly the affected
        // ones, whether their linking record is in postings (0..400) or
        // still pending (the later ones); a digest the ledger lacks is not.
        let affected: std::collections::HashSet<String> =
            whole.iter().map(|f| f.digest.clone()).collect();
        let mut asked: Vec<String> = (0..600)
            .step_by(2)
            .map(|i| record(i).subjects[0].digest.to_string())
            .collect();
        asked.push(format!("sha256:{}", "f".repeat(64)));
        let asked_refs: Vec<&str> = asked.iter().map(String::as_str).collect();
        let among = s
            .affected_among("GO-2099-0001", &asked_refs)
            .unwrap()
            .expect("id known");
        let want: std::collections::HashSet<String> = asked
            .iter()
            .filter(|d| affected.contains(*d))
            .cloned()
            .collect();
        assert!(
            want.len() > 20 && want.len() < asked.len() - 1,
            "{}",
            want.len()
        );
        let pending = s
            .raw_query("SELECT COUNT(*) FROM postings_pending", &[])
            .unwrap();
        assert!(
            matches!(pending[0][0], Val::Int(n) if n > 0),
            "the later records are still pending: {pending:?}"
        );
        assert_eq!(among, want);
        assert!(
            s.affected_among("CVE-0000-0000", &asked_refs)
                .unwrap()
                .is_none()
        );
        assert!(
            s.affected_page("CVE-0000-0000", None, Some(5))
                .unwrap()
                .is_none()
        );
        // Unpaged: the same findings, in ledger order.
        let mut all = s
            .affected_page("CVE-2099-0001", None, None)
            .unwrap()
            .unwrap();
        assert_eq!(all.next, None);
        // An image first recorded without the component is listed at its
        // later record: after the images of records 400..600.
        let at = |d: &str| all.findings.iter().position(|f| f.digest == d);
        let relisted = record(10).subjects[0].digest.to_string();
        let late = record(501).subjects[0].digest.to_string();
        assert!(at(&relisted).unwrap() > at(&late).unwrap());
        let twice = record(1).subjects[0].digest.to_string();
        assert!(at(&twice).unwrap() < at(&late).unwrap());
        assert_eq!(whole.iter().filter(|f| f.digest == twice).count(), 2);
        all.findings.sort_by_key(key);
        assert_eq!(all.findings, whole);
        for limit in [1, 2, 3, 7, 64] {
            let mut joined = Vec::new();
            let mut pages: Vec<Vec<String>> = Vec::new();
            let mut start = None;
            loop {
                let p = s
                    .affected_page("GO-2099-0001", start, Some(limit))
                    .unwrap()
                    .unwrap();
                let mut digests: Vec<String> =
                    p.findings.iter().map(|f| f.digest.clone()).collect();
                digests.dedup();
                assert!(
                    p.findings.len() <= limit || digests.len() == 1,
                    "limit {limit}: {} findings over {} images",
                    p.findings.len(),
                    digests.len()
                );
                assert!(!p.findings.is_empty(), "limit {limit}: an empty page");
                pages.push(digests);
                joined.extend(p.findings);
                match p.next {
                    Some(n) => {
                        assert_eq!(n.to_string().parse::<QueryCursor>().unwrap(), n);
                        start = Some(n);
                    }
                    None => break,
                }
            }
            // No image on two pages.
            let mut seen = std::collections::HashSet::new();
            for d in pages.iter().flatten() {
                assert!(seen.insert(d.clone()), "limit {limit}: {d} on two pages");
            }
            joined.sort_by_key(key);
            let a: Vec<_> = joined.iter().map(key).collect();
            let b: Vec<_> = whole.iter().map(key).collect();
            let missing: Vec<_> = b.iter().filter(|k| !a.contains(k)).collect();
            let extra: Vec<_> = a.iter().filter(|k| !b.contains(k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "pages of {limit}: missing {missing:?}, extra {extra:?}, {} pages",
                pages.len()
            );
            assert_eq!(joined, whole, "pages of {limit}");
        }

        // Changes: one event per finding; pages join to the whole list.
        let changes = s.changes_since(0).unwrap();
        assert_eq!(changes.len(), 3);
        // A change lists at most DIGESTS_PER_CHANGE images, the first ones in
        // ledger order, and says when there are more.
        for c in &changes {
            let holding: Vec<String> = whole
                .iter()
                .filter(|f| f.purl == c.purl)
                .map(|f| f.digest.clone())
                .collect();
            let cap = buildledger_store::DIGESTS_PER_CHANGE;
            assert_eq!(c.more_digests, holding.len() > cap, "{}", c.purl);
            assert_eq!(c.digests.len(), holding.len().min(cap), "{}", c.purl);
            assert!(c.digests.iter().all(|d| holding.contains(d)), "{}", c.purl);
            assert!(c.digests.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(changes.iter().any(|c| c.more_digests));
        assert!(changes.iter().any(|c| !c.more_digests));
        for limit in [1, 2, 3, 4] {
            let mut joined = Vec::new();
            let mut after = None;
            loop {
                let p = s.changes_page(0, after, Some(limit)).unwrap();
                assert!(p.changes.len() <= limit);
                joined.extend(p.changes);
                match p.next {
                    Some(n) => {
                        assert_eq!(
                            n.to_string()
                                .parse::<buildledger_store::ChangesCursor>()
                                .unwrap(),
                            n
                        );
                        after = Some(n);
                    }
                    None => break,
                }
            }
            let k = |c: &buildledger_store::FindingChange| {
                (c.at, c.advisory.clone(), c.purl.clone(), c.digests.clone())
            };
            assert_eq!(
                joined.iter().map(k).collect::<Vec<_>>(),
                changes.iter().map(k).collect::<Vec<_>>(),
                "changes in pages of {limit}"
            );
        }
        // Nothing after the last change.
        assert!(s.changes_since(i64::MAX).unwrap().is_empty());
    });
}

/// A page with a next page says about how many hits are left (an
/// estimate, not a count of every hit); on evenly spread data it is near the
/// true count, and the last page carries none.
#[test]
fn a_page_estimates_the_hits_left() {
    each_backend(|db| {
        let s = &mut db.store;
        let recs: Vec<BuildRecord> = (0..600).map(record).collect();
        s.record_many(&recs).unwrap();
        let any = |_: &str| true;
        let q = |limit: Option<usize>, start: Option<QueryCursor>| Query {
            package: Some(("pkg:golang/example.com/popular".into(), &any)),
            limit,
            start,
            ..Default::default()
        };
        let whole = s.query_page(&q(None, None)).unwrap();
        assert_eq!(whole.estimated_rest, None);
        let total = whole.hits.len() as f64;
        let first = s.query_page(&q(Some(50), None)).unwrap();
        let e = first
            .estimated_rest
            .expect("a first page with more after it") as f64;
        assert!(
            e > total * 0.7 && e < total * 1.3,
            "estimate {e} for {total} hits"
        );
        // From the middle: about half are left.
        let mid = s
            .query_page(&q(
                Some(50),
                Some(QueryCursor {
                    record: 300,
                    skip: 0,
                }),
            ))
            .unwrap();
        let left = whole.hits.iter().filter(|h| h.record_id >= 300).count() as f64;
        let e = mid.estimated_rest.unwrap() as f64;
        assert!(
            e > left * 0.7 && e < left * 1.3,
            "estimate {e} for {left} left"
        );
        let last = s.query_page(&q(Some(100_000), None)).unwrap();
        assert_eq!(last.next, None);
        assert_eq!(last.estimated_rest, None);
    });
}

/// A store keeps each component's findings (and advisories' aliases)
/// between reads; another connection's writes show in its next read: a
/// finding written alone (only the findings' generation moves), a finding
/// removed, an advisory's aliases changed (only the advisories' generation
/// moves). Each read is compared with a fresh connection's.
#[test]
fn kept_findings_follow_other_connections_writes() {
    each_backend(|db| {
        let mut writer = db.reopen().unwrap();
        // Connections whose first read comes after a change: nothing kept.
        let (mut fresh_a, mut fresh_b) = (db.reopen().unwrap(), db.reopen().unwrap());
        let reader = &mut db.store;
        let images: Vec<BuildRecord> = (0..20).map(record).collect();
        writer.record_many(&images).unwrap();
        let digest = images[3].subjects[0].digest.as_str().to_string();
        let cid = |s: &mut Store, purl: &str| -> i64 {
            match s
                .raw_query("SELECT id FROM components WHERE purl = ?", &[purl.into()])
                .unwrap()[0][0]
            {
                Val::Int(k) => k,
                ref v => panic!("{v:?}"),
            }
        };
        let purl = images[3].components[0].purl.to_string();
        let c = cid(&mut writer, &purl);
        let adv = writer
            .transaction(|s| {
                Ok(
                    s.upsert_advisory(&advisory("GO-2099-0042", "h1", None, &["CVE-2099-0042"]))?
                        .id(),
                )
            })
            .unwrap();
        let seen = |s: &mut Store| -> Vec<(String, Vec<String>)> {
            s.vulns(&digest)
                .unwrap()
                .into_iter()
                .map(|f| (f.advisory, f.aliases))
                .collect()
        };
        // Read twice: the second from what the reader kept (no finding).
        assert!(seen(reader).is_empty());
        assert!(seen(reader).is_empty());
        // A finding on a component the reader already read: only the
        // findings' generation moves.
        let finding = buildledger_store::NewFinding {
            component_id: c,
            kind: "vuln".into(),
            fixed: Some("9.9.9".into()),
        };
        writer
            .transaction(|s| s.replace_findings(adv, None, std::slice::from_ref(&finding), "h1"))
            .unwrap();
        let got = seen(reader);
        assert_eq!(
            got,
            vec![(
                "GO-2099-0042".to_string(),
                vec!["CVE-2099-0042".to_string()]
            )],
            "a finding written by another connection was not seen"
        );
        assert_eq!(got, seen(&mut fresh_a));
        // The advisory's aliases change: only the advisories' generation.
        writer
            .transaction(|s| {
                s.upsert_advisory(&advisory(
                    "GO-2099-0042",
                    "h2",
                    Some("HIGH"),
                    &["CVE-2099-0043"],
                ))
                .map(|_| ())
            })
            .unwrap();
        let got = seen(reader);
        assert_eq!(
            got,
            vec![(
                "GO-2099-0042".to_string(),
                vec!["CVE-2099-0043".to_string()]
            )],
            "changed aliases were not seen"
        );
        assert_eq!(
            reader.vulns(&digest).unwrap()[0].severity.as_deref(),
            Some("HIGH")
        );
        assert_eq!(got, seen(&mut fresh_b));
        // The finding removed.
        writer
            .transaction(|s| s.replace_findings(adv, None, &[], "h3"))
            .unwrap();
        assert!(seen(reader).is_empty(), "a removed finding was still seen");
        // Inside a transaction that writes findings itself, the reader's own
        // uncommitted finding is seen (and nothing is kept from it).
        reader
            .transaction(|s| {
                s.replace_findings(adv, None, std::slice::from_ref(&finding), "h4")?;
                assert_eq!(s.vulns(&digest)?.len(), 1);
                Err::<(), _>(buildledger_store::StoreError::Corrupt("roll back".into()))
            })
            .unwrap_err();
        assert!(seen(reader).is_empty(), "a rolled-back finding was kept");
    });
}

/// An advisory row with no packages, as the tests here store it by hand.
fn advisory(
    id: &str,
    hash: &str,
    severity: Option<&str>,
    aliases: &[&str],
) -> buildledger_store::AdvisoryInput {
    buildledger_store::AdvisoryInput {
        advisory_id: id.into(),
        source: "osv".into(),
        modified: None,
        withdrawn: None,
        content_hash: hash.into(),
        summary: Some("test".into()),
        severity: severity.map(String::from),
        score: None,
        published: None,
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        match_keys: vec![],
        body: "{}".into(),
        go_imports: None,
    }
}
