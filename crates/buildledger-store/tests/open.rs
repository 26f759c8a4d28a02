//! Opening a store: read-only opens create, migrate and write nothing;
//! unusable targets are refused; database targets are redacted. Both
//! engines where it applies (PostgreSQL as in `tests/ledger.rs`).

use buildledger_model::BuildRecord;
use buildledger_store::{Access, Store, StoreError, Val, redact_url};

mod common;
use buildledger_testkit::pg::url as pg_url;
use common::digest;

fn record(seed: &str) -> BuildRecord {
    buildledger_testkit::records::record(seed)
        .source(
            "https://github.com/acme/app",
            Some("1111111111111111111111111111111111111111"),
            None,
            None,
        )
        .build()
}

/// A fresh, empty PostgreSQL schema (no tables) and its target; dropped with
/// the guard, together with the read-only role a test may have made for it.
struct PgSchema {
    name: String,
    target: String,
    _schema: buildledger_testkit::pg::Schema,
}

impl PgSchema {
    fn new() -> Option<PgSchema> {
        let schema = buildledger_testkit::pg::Schema::fresh("bl_open")?;
        Some(PgSchema {
            name: schema.name().to_string(),
            target: schema.url().to_string(),
            _schema: schema,
        })
    }

    fn tables(&self) -> i64 {
        let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
        c.query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&self.name],
        )
        .unwrap()
        .get(0)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // The schema itself is dropped by `self.schema` right after this.
        if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE; DROP OWNED BY {r}; DROP ROLE {r}",
                self.name,
                r = format!("{}_ro", self.name)
            ));
        }
    }
}

/// Targets for both engines: (engine, target, cleanup guard).
fn targets() -> Vec<(&'static str, String, Option<PgSchema>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("sub").join("l.db").display().to_string();
    let mut v = vec![("sqlite", sqlite, None, dir)];
    if let Some(pg) = PgSchema::new() {
        v.push((
            "postgres",
            pg.target.clone(),
            Some(pg),
            tempfile::tempdir().unwrap(),
        ));
    }
    v
}

#[test]
fn reading_a_missing_ledger_creates_nothing() {
    for (engine, target, pg, dir) in targets() {
        match Store::open_read(&target) {
            Err(StoreError::NoLedger { target: t }) => {
                assert!(!t.is_empty(), "[{engine}]");
            }
            Err(e) => panic!("[{engine}] {e}"),
            Ok(_) => panic!("[{engine}] opened a ledger that is not there"),
        }
        match &pg {
            Some(pg) => assert_eq!(pg.tables(), 0, "a read created tables"),
            None => assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                0,
                "[{engine}] a read created the file or its directory"
            ),
        }
        // A write creates it; then a read opens it.
        let mut w = Store::open(&target).unwrap();
        w.record(&record("a1")).unwrap();
        drop(w);
        let mut r = Store::open_read(&target).unwrap();
        assert_eq!(r.table(None).unwrap().len(), 1, "[{engine}]");
    }
}

#[test]
fn an_empty_sqlite_file_is_no_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.db");
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(
        Store::open_read(p.to_str().unwrap()),
        Err(StoreError::NoLedger { .. })
    ));
    assert_eq!(
        std::fs::metadata(&p).unwrap().len(),
        0,
        "a read wrote to it"
    );
}

#[test]
fn reads_never_migrate() {
    for (engine, target, _pg, _dir) in targets() {
        drop(Store::open_migrated_to(&target, 4).unwrap());
        match Store::open_read(&target) {
            Err(StoreError::Outdated {
                found: 4,
                supported,
            }) => assert!(supported > 4),
            Err(e) => panic!("[{engine}] {e}"),
            Ok(_) => panic!("[{engine}] read an outdated schema"),
        }
        let e = Store::open_with(&target, Access::ReadOnly).err().unwrap();
        assert!(e.to_string().contains("buildledger migrate"), "{e}");
        let mut s = Store::open_migrated_to(&target, 4).unwrap();
        assert_eq!(s.schema_version().unwrap(), 4, "[{engine}] a read migrated");
        drop(s);
        // A write open upgrades it; then reads work.
        drop(Store::open(&target).unwrap());
        Store::open_read(&target).unwrap();
    }
}

#[test]
fn a_read_only_store_refuses_writes() {
    for (engine, target, _pg, _dir) in targets() {
        Store::open(&target).unwrap().record(&record("b2")).unwrap();
        let mut r = Store::open_read(&target).unwrap();
        let e = r
            .raw_exec(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                &[Val::Int(999), "x".into(), Val::Int(0)],
            )
            .unwrap_err();
        assert!(matches!(e, StoreError::ReadOnly(_)), "[{engine}] {e}");
        assert!(r.record(&record("c3")).is_err(), "[{engine}] recorded");
        drop(r);
        let mut w = Store::open(&target).unwrap();
        assert_eq!(w.table(None).unwrap().len(), 1, "[{engine}]");
    }
}

#[test]
fn a_select_only_postgres_role_can_read() {
    let Some(pg) = PgSchema::new() else { return };
    Store::open(&pg.target)
        .unwrap()
        .record(&record("d4"))
        .unwrap();
    let role = format!("{}_ro", pg.name);
    let mut admin = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN;
             GRANT USAGE ON SCHEMA {s} TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {role};",
            s = pg.name
        ))
        .unwrap();
    let rest = pg.target.strip_prefix("postgres://").unwrap();
    let (_, host) = rest.split_once('@').unwrap();
    let target = format!("postgres://{role}@{host}");
    // The write open fails for this role (it may not create anything)…
    assert!(Store::open(&target).is_err());
    // …the read open works, and so do the reads.
    let mut r = Store::open_read(&target).unwrap();
    assert_eq!(r.table(None).unwrap().len(), 1);
    assert_eq!(r.stats().unwrap().records, 1);
    assert!(r.show(&digest("d4")).unwrap().is_some());
}

#[test]
fn unusable_targets_are_refused() {
    for t in [
        "",
        "  ",
        "sqlite:",
        "sqlite://",
        ":memory:",
        "sqlite::memory:",
    ] {
        for access in [Access::ReadWrite, Access::ReadOnly] {
            match Store::open_with(t, access) {
                Err(StoreError::BadTarget(_)) => {}
                Err(e) => panic!("{t:?}: {e}"),
                Ok(_) => panic!("{t:?}: opened"),
            }
        }
    }
    assert!(matches!(
        Store::open_sqlite(std::path::Path::new(":memory:")),
        Err(StoreError::BadTarget(_))
    ));
}

#[test]
fn database_targets_are_redacted() {
    const S: &str = "S3cr3tQz";
    for (raw, shown) in [
        (
            format!("postgres://u:{S}@h/db"),
            "postgres://u:***@h/db".to_string(),
        ),
        (
            format!("postgres://a@h:1/x?password={S}&sslmode=disable"),
            "postgres://a@h:1/x?password=***&sslmode=disable".to_string(),
        ),
        (
            format!("postgres://u:p@{S}@h/db"),
            "postgres://u:***@h/db".to_string(),
        ),
        (
            format!("postgresql://h/db?sslpassword={S}&passfile=/x/{S}"),
            "postgresql://h/db?sslpassword=***&passfile=***".to_string(),
        ),
        (
            format!("host=h user=u password='{S} {S}' dbname=d"),
            "host=h user=u password=*** dbname=d".to_string(),
        ),
    ] {
        assert_eq!(redact_url(&raw), shown, "{raw}");
    }
    // Errors of an unreachable server name the target redacted, whatever
    // the form.
    for t in [
        format!("postgres://a@127.0.0.1:1/x?password={S}"),
        format!("postgres://u:{S}@127.0.0.1:1/x"),
        format!("host=127.0.0.1 port=1 password={S}"),
        format!("postgres://u:p@{S}@127.0.0.1:1/x"),
    ] {
        for access in [Access::ReadWrite, Access::ReadOnly] {
            let e = Store::open_with(&t, access).err().expect("unreachable");
            let m = format!("{e} {e:?}");
            assert!(!m.contains(S), "{t}: {m}");
        }
    }
    // A raw `@` in the userinfo is refused: the driver would split there.
    assert!(matches!(
        Store::open(&format!("postgres://u:p@{S}@127.0.0.1:1/x")),
        Err(StoreError::BadTarget(_))
    ));
}

#[test]
fn a_working_connection_reports_its_target_redacted() {
    let Some(pg) = PgSchema::new() else { return };
    // Trust authentication: the password is ignored, and must not show.
    let t = format!("{}&password=S3cr3tQz", pg.target);
    let s = Store::open(&t).unwrap();
    assert!(!s.target().contains("S3cr3tQz"), "{}", s.target());
    assert!(s.target().contains("password=***"), "{}", s.target());
    // libpq keyword/value strings name PostgreSQL too.
    let url = pg_url();
    let rest = url.strip_prefix("postgres://").unwrap();
    let (user, hostdb) = rest.split_once('@').unwrap();
    let (hostport, db) = hostdb.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    let kv = format!(
        "host={host} port={port} user={user} dbname={db} password=S3cr3tQz options=-csearch_path={}",
        pg.name
    );
    let mut s = Store::open_read(&kv).unwrap();
    assert_eq!(s.kind(), buildledger_store::BackendKind::Postgres);
    assert!(!s.target().contains("S3cr3tQz"), "{}", s.target());
    assert_eq!(s.stats().unwrap().records, 0);
}
