//! Opening a ledger: targets (SQLite paths, PostgreSQL URLs), read-write
//! (create, migrate) or read-only (check the schema, change nothing).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::backend::{self, Access, Backend, BackendKind, Postgres, Sqlite, redact_url};
use crate::migrate::MIGRATIONS;
use crate::{Result, Store, StoreError};

/// Where the ledger lives when neither `--db` nor `BUILDLEDGER_DB` says.
pub fn default_db_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("buildledger").join("ledger.db")
}

impl Store {
    /// Open (and migrate) a store for writing: `postgres://…` /
    /// `postgresql://…` or a libpq `key=value` string for PostgreSQL,
    /// `sqlite:PATH` or a plain path for SQLite. A missing SQLite file (and
    /// its directory) is created.
    pub fn open(target: &str) -> Result<Store> {
        Store::open_with(target, Access::ReadWrite)
    }

    /// Open an existing ledger for reading: nothing is created, migrated or
    /// written ([`StoreError::NoLedger`] when there is none,
    /// [`StoreError::Outdated`] when its schema is older than this build's).
    pub fn open_read(target: &str) -> Result<Store> {
        Store::open_with(target, Access::ReadOnly)
    }

    /// Open a store with the given access (see [`Store::open`] and
    /// [`Store::open_read`]).
    pub fn open_with(target: &str, access: Access) -> Result<Store> {
        Store::open_at(target, access, i64::MAX)
    }

    /// Open a store, applying migrations only up to schema `version`. For
    /// tests of the migrations themselves; everything else uses [`Store::open`].
    #[doc(hidden)]
    pub fn open_migrated_to(target: &str, version: i64) -> Result<Store> {
        Store::open_at(target, Access::ReadWrite, version)
    }

    fn open_at(target: &str, access: Access, version: i64) -> Result<Store> {
        if target.trim().is_empty() {
            return Err(StoreError::BadTarget(
                "empty (an empty SQLite path would be a temporary database)".into(),
            ));
        }
        if backend::is_postgres_target(target) {
            if let Some(problem) = backend::url_problem(target) {
                return Err(StoreError::BadTarget(format!(
                    "{}: {problem}",
                    redact_url(target)
                )));
            }
            let db = Postgres::connect(target, access)?;
            Store::init(Box::new(db), redact_url(target), access, version)
        } else {
            let path = target
                .strip_prefix("sqlite://")
                .or_else(|| target.strip_prefix("sqlite:"))
                .unwrap_or(target);
            Store::open_sqlite_with(Path::new(path), access, version)
        }
    }

    /// Open an SQLite file for writing, creating it if needed.
    pub fn open_sqlite(path: &Path) -> Result<Store> {
        Store::open_sqlite_with(path, Access::ReadWrite, i64::MAX)
    }

    fn open_sqlite_with(path: &Path, access: Access, version: i64) -> Result<Store> {
        let shown = path.display().to_string();
        if shown.trim().is_empty() || shown == ":memory:" {
            return Err(StoreError::BadTarget(format!(
                "{shown:?} is not a file: the ledger would vanish when the command ends"
            )));
        }
        let db = Sqlite::open(path, access)?;
        Store::init(Box::new(db), shown, access, version)
    }

    /// Connect to PostgreSQL for writing.
    pub fn open_postgres(url: &str) -> Result<Store> {
        let db = Postgres::connect(url, Access::ReadWrite)?;
        Store::init(Box::new(db), redact_url(url), Access::ReadWrite, i64::MAX)
    }

    fn init(db: Box<dyn Backend>, target: String, access: Access, upto: i64) -> Result<Store> {
        let mut s = Store {
            db,
            target,
            component_ids: HashMap::new(),
            image_ids: HashMap::new(),
            toolchain_versions_seen: Default::default(),
            purl_cache: HashMap::new(),
            has_toolchain_versions: true,
            id_cache_limits: (crate::write::MAX_IMAGE_IDS, crate::write::MAX_COMPONENT_IDS),
            image_typed: HashSet::new(),
            in_tx: false,
            tx_audit: Vec::new(),
            seal_components: Default::default(),
            vacuum_pending: false,
            tx_new_components: Vec::new(),
            tx_new_images: Vec::new(),
            inserts_since_check: 0,
            pending_known: None,
            tx_advisories_changed: false,
            tx_findings_changed: false,
            advisory_cache: Default::default(),
            findings_cache: Default::default(),
            findings_snapshot: None,
        };
        match access {
            Access::ReadWrite => s.migrate(upto)?,
            Access::ReadOnly => s.check_readable()?,
        }
        // Only tests stop migrating early (`open_migrated_to`).
        s.has_toolchain_versions = upto >= 17;
        Ok(s)
    }

    /// A read's check of the schema, in place of migrating: there must be
    /// one, and it must be this build's.
    fn check_readable(&mut self) -> Result<()> {
        let exists = match self.db.kind() {
            BackendKind::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master \
                 WHERE type = 'table' AND name = 'schema_migrations'"
            }
            BackendKind::Postgres => {
                "SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) x \
                 WHERE t IS NOT NULL"
            }
        };
        let n = self.db.query(exists, &[])?;
        if n.first().and_then(|r| r[0].int()).unwrap_or(0) == 0 {
            return Err(StoreError::NoLedger {
                target: self.target.clone(),
            });
        }
        let found = self.schema_version()?;
        let newest = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
        if found > newest {
            return Err(StoreError::TooNew {
                found,
                supported: newest,
            });
        }
        if found < newest {
            return Err(StoreError::Outdated {
                found,
                supported: newest,
            });
        }
        Ok(())
    }

    /// Which engine this store runs on.
    pub fn kind(&self) -> BackendKind {
        self.db.kind()
    }

    /// The path or (redacted) URL this store was opened with.
    pub fn target(&self) -> &str {
        &self.target
    }
}
