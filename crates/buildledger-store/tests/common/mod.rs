//! Test harness: run a closure against a fresh SQLite file and a fresh
//! PostgreSQL schema (both from `buildledger-testkit`).
#![allow(dead_code, unused_imports)]

use buildledger_store::{Store, StoreError};

pub use buildledger_testkit::records::digest;

/// A store under test and how to open it again.
pub struct Db {
    pub store: Store,
    target: String,
    _dir: Option<tempfile::TempDir>,
    // Declared after `store`, so the schema is dropped after the connection.
    _pg: Option<buildledger_testkit::pg::Schema>,
}

impl Db {
    /// A second connection to the same database.
    pub fn reopen(&self) -> Result<Store, StoreError> {
        Store::open(&self.target)
    }
}

/// A fresh SQLite store in a temporary directory.
pub fn sqlite() -> Db {
    sqlite_at(i64::MAX)
}

/// A fresh SQLite store migrated only up to schema `version`.
pub fn sqlite_at(version: i64) -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("ledger.db").display().to_string();
    Db {
        store: Store::open_migrated_to(&target, version).expect("open sqlite"),
        target,
        _dir: Some(dir),
        _pg: None,
    }
}

/// A fresh PostgreSQL schema, or None (skipped) when no server answers outside CI.
pub fn postgres() -> Option<Db> {
    postgres_at(i64::MAX)
}

/// A fresh PostgreSQL schema migrated only up to schema `version`.
pub fn postgres_at(version: i64) -> Option<Db> {
    let pg = buildledger_testkit::pg::Schema::fresh("bl_t")?;
    let target = pg.url().to_string();
    let store = Store::open_migrated_to(&target, version).expect("open postgres");
    Some(Db {
        store,
        target,
        _dir: None,
        _pg: Some(pg),
    })
}

/// Run `f` on SQLite, then on PostgreSQL.
pub fn each_backend(f: impl Fn(&mut Db)) {
    let mut db = sqlite();
    f(&mut db);
    if let Some(mut db) = postgres() {
        f(&mut db);
    }
}

/// Run `f` on SQLite, then on PostgreSQL, each migrated only up to `version`.
pub fn each_backend_at(version: i64, f: impl Fn(&mut Db)) {
    let mut db = sqlite_at(version);
    f(&mut db);
    if let Some(mut db) = postgres_at(version) {
        f(&mut db);
    }
}
