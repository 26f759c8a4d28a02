//! Test harness: run a closure against a fresh SQLite file and a fresh
//! PostgreSQL schema.
#![allow(dead_code)]

use buildledger_model::Digest;
use buildledger_store::{Store, StoreError};

/// A store under test and how to open it again.
pub struct Db {
    pub store: Store,
    target: String,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<String>,
}

impl Db {
    /// A second connection to the same database.
    pub fn reopen(&self) -> Result<Store, StoreError> {
        Store::open(&self.target)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            if let Ok(mut c) = postgres_admin() {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// A digest made by repeating `seed`'s hex digits.
pub fn digest(seed: &str) -> Digest {
    let hex: String = seed.chars().cycle().take(64).collect();
    Digest::parse(&format!("sha256:{hex}")).expect("test digest")
}

pub fn pg_url() -> String {
    std::env::var("BUILDLEDGER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn postgres_admin() -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(&pg_url(), postgres::NoTls)
}

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
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
        pg_schema: None,
    }
}

/// A fresh PostgreSQL schema, or None (skipped) when no server answers outside CI.
pub fn postgres() -> Option<Db> {
    postgres_at(i64::MAX)
}

/// A fresh PostgreSQL schema migrated only up to schema `version`.
pub fn postgres_at(version: i64) -> Option<Db> {
    let mut admin = match postgres_admin() {
        Ok(c) => c,
        Err(e) => {
            if ci() {
                panic!("CI=true but PostgreSQL at {} is unreachable: {e}", pg_url());
            }
            eprintln!("SKIP PostgreSQL half: {} unreachable: {e}", pg_url());
            return None;
        }
    };
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let schema = format!(
        "bl_t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        chrono::Utc::now().timestamp_subsec_nanos()
    );
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let sep = if pg_url().contains('?') { '&' } else { '?' };
    let target = format!("{}{sep}options=-csearch_path%3D{schema}", pg_url());
    let store = Store::open_migrated_to(&target, version).expect("open postgres");
    Some(Db {
        store,
        target,
        _dir: None,
        pg_schema: Some(schema),
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
