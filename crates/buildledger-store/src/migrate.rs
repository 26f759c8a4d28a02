//! Versioned migrations (one SQL script per engine and version), applied in
//! order under a lock: an advisory lock on PostgreSQL, the write lock on
//! SQLite.

use crate::backend::BackendKind;
use crate::{Result, Store, StoreError, Val, now_ms};

pub(crate) struct Migration {
    pub(crate) version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// Data conversion that SQL alone can't do, run after the script in the
    /// same transaction.
    after: Option<fn(&mut Store) -> Result<()>>,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sqlite: include_str!("../migrations/sqlite/0001_ledger.sql"),
        postgres: include_str!("../migrations/postgres/0001_ledger.sql"),
        after: None,
    },
    Migration {
        version: 2,
        name: "advisories",
        sqlite: include_str!("../migrations/sqlite/0002_advisories.sql"),
        postgres: include_str!("../migrations/postgres/0002_advisories.sql"),
        after: None,
    },
    Migration {
        version: 3,
        name: "layers and audit log",
        sqlite: include_str!("../migrations/sqlite/0003_layers_audit.sql"),
        postgres: include_str!("../migrations/postgres/0003_layers_audit.sql"),
        after: None,
    },
    Migration {
        version: 4,
        name: "compact records",
        sqlite: include_str!("../migrations/sqlite/0004_compact_records.sql"),
        postgres: include_str!("../migrations/postgres/0004_compact_records.sql"),
        after: None,
    },
    Migration {
        version: 5,
        name: "component postings",
        sqlite: include_str!("../migrations/sqlite/0005_postings.sql"),
        postgres: include_str!("../migrations/postgres/0005_postings.sql"),
        after: Some(Store::migrate_links_v5),
    },
    Migration {
        version: 6,
        name: "record seals",
        sqlite: include_str!("../migrations/sqlite/0006_seals.sql"),
        postgres: include_str!("../migrations/postgres/0006_seals.sql"),
        after: Some(Store::seal_existing_v6),
    },
    Migration {
        version: 7,
        name: "api tokens",
        sqlite: include_str!("../migrations/sqlite/0007_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0007_tokens.sql"),
        after: None,
    },
    Migration {
        version: 8,
        name: "jobs and feed sources",
        sqlite: include_str!("../migrations/sqlite/0008_jobs_feeds.sql"),
        postgres: include_str!("../migrations/postgres/0008_jobs_feeds.sql"),
        after: None,
    },
    Migration {
        version: 9,
        name: "runtime inventory",
        sqlite: include_str!("../migrations/sqlite/0009_inventory.sql"),
        postgres: include_str!("../migrations/postgres/0009_inventory.sql"),
        after: None,
    },
    Migration {
        version: 10,
        name: "waivers",
        sqlite: include_str!("../migrations/sqlite/0010_waivers.sql"),
        postgres: include_str!("../migrations/postgres/0010_waivers.sql"),
        after: None,
    },
    Migration {
        version: 11,
        name: "vex and posture",
        sqlite: include_str!("../migrations/sqlite/0011_vex_posture.sql"),
        postgres: include_str!("../migrations/postgres/0011_vex_posture.sql"),
        after: None,
    },
    Migration {
        version: 12,
        name: "admission and alerts",
        sqlite: include_str!("../migrations/sqlite/0012_admission.sql"),
        postgres: include_str!("../migrations/postgres/0012_admission.sql"),
        after: None,
    },
    Migration {
        version: 13,
        name: "go symbols",
        sqlite: include_str!("../migrations/sqlite/0013_go_symbols.sql"),
        postgres: include_str!("../migrations/postgres/0013_go_symbols.sql"),
        after: None,
    },
    Migration {
        version: 14,
        name: "keyset pagination",
        sqlite: include_str!("../migrations/sqlite/0014_keyset.sql"),
        postgres: include_str!("../migrations/postgres/0014_keyset.sql"),
        after: Some(Store::disjoint_postings_v14),
    },
    Migration {
        version: 15,
        name: "changes keyset",
        sqlite: include_str!("../migrations/sqlite/0015_changes_keyset.sql"),
        postgres: include_str!("../migrations/postgres/0015_changes_keyset.sql"),
        after: None,
    },
    Migration {
        version: 16,
        name: "ledger generations",
        sqlite: include_str!("../migrations/sqlite/0016_ledger_generation.sql"),
        postgres: include_str!("../migrations/postgres/0016_ledger_generation.sql"),
        after: None,
    },
    Migration {
        version: 17,
        name: "toolchain versions",
        sqlite: include_str!("../migrations/sqlite/0017_toolchain_versions.sql"),
        postgres: include_str!("../migrations/postgres/0017_toolchain_versions.sql"),
        after: None,
    },
    Migration {
        version: 18,
        name: "posture decisions without reasons",
        sqlite: include_str!("../migrations/sqlite/0018_posture_light.sql"),
        postgres: include_str!("../migrations/postgres/0018_posture_light.sql"),
        after: None,
    },
    Migration {
        version: 19,
        name: "newest alerts by state",
        sqlite: include_str!("../migrations/sqlite/0019_alerts_newest.sql"),
        postgres: include_str!("../migrations/postgres/0019_alerts_newest.sql"),
        after: None,
    },
];

impl Store {
    /// The schema version this build writes (its newest migration).
    pub fn latest_schema_version() -> i64 {
        MIGRATIONS.last().map_or(0, |m| m.version)
    }

    /// The newest schema version applied.
    pub fn schema_version(&mut self) -> Result<i64> {
        let rows = self
            .db
            .query("SELECT MAX(version) FROM schema_migrations", &[])?;
        Ok(rows.first().and_then(|r| r[0].int()).unwrap_or(0))
    }

    pub(crate) fn migrate(&mut self, upto: i64) -> Result<()> {
        let kind = self.db.kind();
        match kind {
            BackendKind::Sqlite => self.db.batch("BEGIN IMMEDIATE")?,
            BackendKind::Postgres => self
                .db
                .batch("BEGIN; SELECT pg_advisory_xact_lock(7262035118)")?,
        }
        let r = self.migrate_locked(kind, upto);
        match r {
            Ok(()) => self.db.batch("COMMIT"),
            Err(e) => {
                let _ = self.db.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn migrate_locked(&mut self, kind: BackendKind, upto: i64) -> Result<()> {
        self.db.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )?;
        let current = self
            .db
            .query("SELECT MAX(version) FROM schema_migrations", &[])?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0);
        let newest = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
        if current > newest {
            return Err(StoreError::TooNew {
                found: current,
                supported: newest,
            });
        }
        for m in MIGRATIONS
            .iter()
            .filter(|m| m.version > current && m.version <= upto)
        {
            let sql = match kind {
                BackendKind::Sqlite => m.sqlite,
                BackendKind::Postgres => m.postgres,
            };
            self.db.batch(sql)?;
            if let Some(after) = m.after {
                after(self)?;
            }
            self.db.exec(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                &[Val::Int(m.version), m.name.into(), Val::Int(now_ms())],
            )?;
        }
        Ok(())
    }
}
