//! The harness shared by the CLI's end-to-end tests: run the real
//! `buildledger` binary against a fresh SQLite file and a fresh PostgreSQL
//! schema (`BUILDLEDGER_TEST_PG`, default the local test server). Without a
//! server the PostgreSQL half is skipped with a message, except under
//! `CI=true`, where that is a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

pub struct Ledger {
    pub db: String,
    /// Scratch directory for keys, envelopes and policies (and the SQLite file).
    pub dir: tempfile::TempDir,
    pub pg_schema: Option<String>,
}

pub fn pg_url() -> String {
    std::env::var("BUILDLEDGER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl Ledger {
    pub fn sqlite() -> Ledger {
        let dir = tempfile::tempdir().unwrap();
        Ledger {
            db: dir.path().join("l.db").display().to_string(),
            dir,
            pg_schema: None,
        }
    }

    pub fn postgres() -> Option<Ledger> {
        let mut c = match postgres::Client::connect(&pg_url(), postgres::NoTls) {
            Ok(c) => c,
            Err(e) if in_ci() => panic!("CI=true but PostgreSQL is unreachable: {e}"),
            Err(e) => {
                eprintln!("SKIP PostgreSQL: {e}");
                return None;
            }
        };
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let schema = format!(
            "bl_cli_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
        Some(Ledger {
            db: format!("{}?options=-csearch_path%3D{schema}", pg_url()),
            dir: tempfile::tempdir().unwrap(),
            pg_schema: Some(schema),
        })
    }

    pub fn engine(&self) -> &'static str {
        if self.pg_schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .current_dir(root())
            .env("BUILDLEDGER_DB", &self.db)
            .env_remove("BUILDLEDGER_TRUST_POLICY")
            .args(args)
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "[{}] {args:?} failed ({:?}): {}",
            self.engine(),
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
    }

    /// Run with `--json` whatever the exit code; (code, parsed stdout).
    pub fn json_code(&self, args: &[&str]) -> (i32, Value) {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let o = self.run(&a);
        let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
        (o.status.code().unwrap_or(-1), v)
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Some(s) = &self.pg_schema
            && let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"));
        }
    }
}

pub fn each(f: impl Fn(&Ledger)) {
    f(&Ledger::sqlite());
    if let Some(l) = Ledger::postgres() {
        f(&l);
    }
}
