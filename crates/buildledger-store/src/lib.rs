//! The ledger's persistent store.
//!
//! One [`Store`] type, two engines: an embedded SQLite file (the zero set-up
//! default) and a PostgreSQL server (several stateless replicas on one
//! database). All SQL is written once in this crate with `?` placeholders
//! and types both engines share; [`backend`] adapts it. Both engines run the
//! same integration suite (`tests/ledger.rs`).
//!
//! Invariants the store keeps:
//! - **Append-only history.** Recording the same digest again adds a record;
//!   nothing is overwritten. Conflicting claims (two commits for one digest)
//!   are all kept and reported by [`Store::show`] and [`Store::conflicts`].
//! - **One transaction per record.** A record is stored whole or not at all.
//! - **Components once.** Each distinct purl is stored once in `components`
//!   and linked to records, so images that share a base share its rows. The
//!   links themselves are compact ([`postings`]): one blob per record, and
//!   component→record postings folded in bulk; every lookup sees a record as
//!   soon as it commits.
//! - **Versioned migrations**, applied in order under a lock (an advisory
//!   lock on PostgreSQL, the write lock on SQLite).
//!
//! The store does not interpret versions: range queries take a predicate
//! ([`VersionFilter`]) that the caller builds with `buildledger-version`.

pub mod advisories;
pub mod audit;
pub mod backend;
pub mod lineage;
pub mod postings;
mod seal;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use buildledger_model::{BuildRecord, Digest, ModelError, Stability};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

pub use advisories::{
    AdvisoryInput, ComponentRow, FindingChange, FindingDelta, ImageFinding, NewFinding, Upsert,
};
pub use audit::{AuditEntry, AuditReport};
pub use backend::{Access, BackendKind, Val, redact_url};
use backend::{Backend, Postgres, Sqlite};
pub use lineage::Ancestor;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open database {target}: {message}")]
    Open {
        /// Path or redacted URL.
        target: String,
        /// Why.
        message: String,
    },
    /// A statement failed.
    #[error("database error: {message} (in `{statement} …`)")]
    Database {
        /// The engine's message.
        message: String,
        /// The first words of the statement.
        statement: String,
    },
    /// A record or argument is invalid; nothing was stored.
    #[error("invalid input: {0}")]
    Invalid(#[from] ModelError),
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database was written by a newer buildledger.
    #[error(
        "database schema version {found} is newer than this buildledger supports ({supported}); upgrade buildledger"
    )]
    TooNew {
        /// Version in the database.
        found: i64,
        /// Newest known here.
        supported: i64,
    },
    /// A read found no ledger: no such file, or no buildledger schema in
    /// the database (reads never create one).
    #[error("no ledger at {target}")]
    NoLedger {
        /// Path or redacted URL.
        target: String,
    },
    /// A read found a ledger written by an older buildledger; reads never
    /// migrate.
    #[error(
        "ledger schema version {found} is older than this buildledger's ({supported}); reads do not upgrade it: run `buildledger migrate` (or any write command) first"
    )]
    Outdated {
        /// Version in the database.
        found: i64,
        /// Newest known here.
        supported: i64,
    },
    /// The database target itself is unusable (empty, or in-memory).
    #[error("database target: {0}")]
    BadTarget(String),
    /// A write was attempted on a store opened read-only.
    #[error("the ledger is open read-only: {0}")]
    ReadOnly(String),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Id of a stored record.
pub type RecordId = i64;

/// A predicate over version strings (e.g. "is < 1.14 in Go's order").
pub type VersionFilter<'a> = &'a dyn Fn(&str) -> bool;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// Data conversion that SQL alone can't do, run after the script in the
    /// same transaction.
    after: Option<fn(&mut Store) -> Result<()>>,
}

const MIGRATIONS: &[Migration] = &[
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
];

/// A stored body back into a record. The fields only the ledger sets
/// (origin, trust, record time) are never deserialised from a
/// [`BuildRecord`]'s JSON (so no submitted document can carry them); a body
/// the ledger wrote keeps them, and they are taken from it here.
fn decode_body(body: &str) -> std::result::Result<BuildRecord, serde_json::Error> {
    let mut v: serde_json::Value = serde_json::from_str(body)?;
    let mut take = |k: &str| {
        v.as_object_mut()
            .and_then(|o| o.remove(k))
            .unwrap_or(serde_json::Value::Null)
    };
    let origin = take("origin");
    let trust = take("trust");
    let record_time = take("record_time");
    let mut rec: BuildRecord = serde_json::from_value(v)?;
    if !origin.is_null() {
        rec.origin = serde_json::from_value(origin)?;
    }
    if !trust.is_null() {
        rec.trust = serde_json::from_value(trust)?;
    }
    if !record_time.is_null() {
        rec.record_time = serde_json::from_value(record_time)?;
    }
    Ok(rec)
}

/// Rows per multi-row INSERT.
const INSERT_CHUNK: usize = 200;

/// Records per `insert_records` call within `record_many`.
const RECORD_BATCH: usize = 500;

/// Where the ledger lives when neither `--db` nor `BUILDLEDGER_DB` says.
pub fn default_db_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("buildledger").join("ledger.db")
}

/// The persistent ledger.
pub struct Store {
    pub(crate) db: Box<dyn Backend>,
    target: String,
    component_ids: HashMap<String, i64>,
    image_ids: HashMap<String, i64>,
    /// Images known to have a media type (so a record naming one needs no update).
    image_typed: HashSet<i64>,
    in_tx: bool,
    pub(crate) tx_new_components: Vec<String>,
    tx_new_images: Vec<String>,
    /// Audit entries of this transaction, appended at commit.
    tx_audit: Vec<AuditEntry>,
    /// Records inserted since the pending-postings count was last checked.
    pub(crate) inserts_since_check: u32,
    /// Pending records as last counted plus those this store added since.
    pub(crate) pending_known: Option<i64>,
}

/// Everything the ledger knows about one digest.
#[derive(Debug, Clone, Serialize)]
pub struct ImageView {
    /// The digest asked about.
    pub digest: Digest,
    /// Media type, when known.
    pub media_type: Option<String>,
    /// When the ledger first saw it.
    pub first_seen: DateTime<Utc>,
    /// References (repo:tag) it was seen under.
    pub references: Vec<String>,
    /// For an index: its per-platform manifests.
    pub manifests: Vec<Link>,
    /// For a platform manifest: the indexes that list it.
    pub indexes: Vec<Link>,
    /// Every record about it, oldest first.
    pub records: Vec<StoredRecord>,
    /// Records that used this image as a base or builder image.
    pub used_by: Vec<UsedBy>,
    /// Fields on which records disagree.
    pub conflicts: Vec<Conflict>,
}

/// An index ↔ manifest link.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// The other digest.
    pub digest: String,
    /// Its platform.
    pub platform: Option<String>,
}

/// A record that used an image.
#[derive(Debug, Clone, Serialize)]
pub struct UsedBy {
    /// The record.
    pub record_id: RecordId,
    /// base or builder.
    pub role: String,
    /// The record's subject digests.
    pub subjects: Vec<String>,
}

/// A stored record with its id.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRecord {
    /// Record id.
    pub id: RecordId,
    /// The record as stored (record_time set).
    #[serde(flatten)]
    pub record: BuildRecord,
}

/// Two or more records that disagree on one field for the same digest.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conflict {
    /// `source.commit`, `source.repo`, `toolchain go`.
    pub field: String,
    /// Each value with the records that claim it.
    pub claims: Vec<Claim>,
}

/// One side of a conflict.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Claim {
    /// The value.
    pub value: String,
    /// Records claiming it.
    pub records: Vec<RecordId>,
    /// Their origins (`ci`, `indexer`, …).
    pub origins: Vec<String>,
}

/// A query over records; all given filters must hold.
#[derive(Default)]
pub struct Query<'a> {
    /// Toolchain name and a filter over its versions.
    pub toolchain: Option<(String, VersionFilter<'a>)>,
    /// Package (purl without version) and a filter over versions.
    pub package: Option<(String, VersionFilter<'a>)>,
    /// Source repository (compared after normalisation).
    pub repo: Option<String>,
    /// Commit id or prefix (≥ 7 hex digits).
    pub commit: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Exposes at least one API of this stability.
    pub api_stability: Option<Stability>,
    /// Only records verified by a trusted builder key or observed by the indexer.
    pub trusted_only: bool,
    /// At most this many hits.
    pub limit: Option<usize>,
}

/// One image digest that matched a query, with the record that made it match.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    /// Image digest.
    pub digest: String,
    /// Record id.
    pub record_id: RecordId,
    /// Origin of the record.
    pub origin: buildledger_model::Origin,
    /// Trust state of the record.
    pub trust: buildledger_model::TrustState,
    /// Source repository.
    pub repo: Option<String>,
    /// Commit.
    pub commit: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// The matching versions (toolchain or package), when the query had them.
    pub matched: Vec<String>,
}

/// One row of the mapping table: everything known about a digest, flattened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableRow {
    /// Image digest.
    pub digest: String,
    /// Source repositories.
    pub repos: Vec<String>,
    /// Tags built and references seen.
    pub tags: Vec<String>,
    /// Commits.
    pub commits: Vec<String>,
    /// `go@1.13.4`, …
    pub toolchains: Vec<String>,
    /// `v1beta1 (beta)`, …
    pub apis: Vec<String>,
    /// Distinct components across its records.
    pub components: u64,
    /// Number of records.
    pub records: u64,
    /// True when its records disagree on commit or repo.
    pub conflict: bool,
}

/// Counts of what is stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Image digests.
    pub images: u64,
    /// Records.
    pub records: u64,
    /// Distinct components.
    pub components: u64,
    /// Record→component links.
    pub component_links: u64,
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Normalise a repository URL for comparison: trim, drop a trailing `/` and
/// `.git`, lower-case the scheme and host.
pub fn normalize_repo(repo: &str) -> String {
    let mut r = repo.trim().trim_end_matches('/').to_string();
    if let Some(s) = r.strip_suffix(".git") {
        r = s.to_string();
    }
    if let Some((scheme, rest)) = r.split_once("://") {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut out = format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        );
        if !path.is_empty() {
            out.push('/');
            out.push_str(path);
        }
        return out;
    }
    r
}

pub(crate) fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
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
            image_typed: HashSet::new(),
            in_tx: false,
            tx_audit: Vec::new(),
            tx_new_components: Vec::new(),
            tx_new_images: Vec::new(),
            inserts_since_check: 0,
            pending_known: None,
        };
        match access {
            Access::ReadWrite => s.migrate(upto)?,
            Access::ReadOnly => s.check_readable()?,
        }
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

    /// Run raw SQL statements (no parameters). For tests and maintenance.
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.db.batch(sql)
    }

    /// Run one query with parameters and return its rows.
    pub fn raw_query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        self.db.query(sql, params)
    }

    /// Run one statement with parameters; returns the rows changed.
    pub fn raw_exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        self.db.exec(sql, params)
    }

    /// The newest schema version applied.
    pub fn schema_version(&mut self) -> Result<i64> {
        let rows = self
            .db
            .query("SELECT MAX(version) FROM schema_migrations", &[])?;
        Ok(rows.first().and_then(|r| r[0].int()).unwrap_or(0))
    }

    fn migrate(&mut self, upto: i64) -> Result<()> {
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

    // -- transactions -------------------------------------------------------

    /// Begin a write transaction. Pair with [`Store::commit`] or [`Store::rollback`].
    pub fn begin(&mut self) -> Result<()> {
        match self.db.kind() {
            BackendKind::Sqlite => self.db.batch("BEGIN IMMEDIATE")?,
            BackendKind::Postgres => self.db.batch("BEGIN")?,
        }
        self.in_tx = true;
        self.tx_audit.clear();
        Ok(())
    }

    /// Commit the open transaction.
    pub fn commit(&mut self) -> Result<()> {
        let entries = std::mem::take(&mut self.tx_audit);
        if let Err(e) = self.append_audit(entries) {
            let _ = self.rollback();
            return Err(e);
        }
        let r = self.db.batch("COMMIT");
        self.in_tx = false;
        if r.is_err() {
            self.forget_tx_ids();
        } else {
            self.tx_new_components.clear();
            self.tx_new_images.clear();
        }
        r
    }

    /// Roll back the open transaction.
    pub fn rollback(&mut self) -> Result<()> {
        self.in_tx = false;
        self.tx_audit.clear();
        self.forget_tx_ids();
        self.db.batch("ROLLBACK")
    }

    fn forget_tx_ids(&mut self) {
        for p in self.tx_new_components.drain(..) {
            self.component_ids.remove(&p);
        }
        for d in self.tx_new_images.drain(..) {
            self.image_ids.remove(&d);
        }
        // A rolled-back update may have left an image untyped again.
        self.image_typed.clear();
    }

    /// Run `f` in a transaction: committed when it returns Ok, rolled back otherwise.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.begin()?;
        match f(self) {
            Ok(v) => {
                self.commit()?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.rollback();
                Err(e)
            }
        }
    }

    // -- writes -------------------------------------------------------------

    /// Store one record in its own transaction. The record is validated first;
    /// an invalid record stores nothing.
    pub fn record(&mut self, rec: &BuildRecord) -> Result<RecordId> {
        rec.validate()?;
        self.transaction(|s| s.insert_record(rec))
    }

    /// Store many records in one transaction (all or none); returns their ids.
    pub fn record_many(&mut self, recs: &[BuildRecord]) -> Result<Vec<RecordId>> {
        for (i, r) in recs.iter().enumerate() {
            r.validate().map_err(|e| e.within(&format!("[{i}]")))?;
        }
        self.transaction(|s| {
            let mut ids = Vec::with_capacity(recs.len());
            for chunk in recs.chunks(RECORD_BATCH) {
                ids.extend(s.insert_records(chunk)?);
            }
            Ok(ids)
        })
    }

    /// The id of `digest` in `images`, inserting it if new. Call inside a transaction.
    pub fn image_id(&mut self, digest: &str, media_type: Option<&str>) -> Result<i64> {
        let wanted = BTreeMap::from([(digest, media_type)]);
        self.image_ids(&wanted)?;
        self.image_ids
            .get(digest)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("image {digest} has no id")))
    }

    fn component_id(&mut self, purl: &buildledger_model::Purl) -> Result<i64> {
        if let Some(id) = self.component_ids.get(purl.as_str()) {
            return Ok(*id);
        }
        let version = purl.version().unwrap_or("");
        let rows = self.db.query(
            "INSERT INTO components (purl, package, version, match_key) VALUES (?, ?, ?, ?)
             ON CONFLICT (purl) DO NOTHING RETURNING id",
            &[
                purl.as_str().into(),
                purl.package().into(),
                version.into(),
                purl.match_key().into(),
            ],
        )?;
        let id = match rows.first().and_then(|r| r[0].int()) {
            Some(id) => {
                self.tx_new_components.push(purl.as_str().to_string());
                id
            }
            None => self
                .db
                .query(
                    "SELECT id FROM components WHERE purl = ?",
                    &[purl.as_str().into()],
                )?
                .first()
                .and_then(|r| r[0].int())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("component {purl} vanished during insert"))
                })?,
        };
        self.component_ids.insert(purl.as_str().to_string(), id);
        Ok(id)
    }

    pub(crate) fn insert_rows(
        &mut self,
        table_and_cols: &str,
        width: usize,
        rows: Vec<Val>,
        conflict: &str,
    ) -> Result<()> {
        debug_assert_eq!(rows.len() % width, 0);
        let one = format!("({})", placeholders(width));
        for chunk in rows.chunks(width * INSERT_CHUNK) {
            let n = chunk.len() / width;
            let mut sql = format!("INSERT INTO {table_and_cols} VALUES ");
            for i in 0..n {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&one);
            }
            sql.push_str(conflict);
            self.db.exec(&sql, chunk)?;
        }
        Ok(())
    }

    /// Insert a validated record inside the current transaction.
    pub fn insert_record(&mut self, rec: &BuildRecord) -> Result<RecordId> {
        let ids = self.insert_records(std::slice::from_ref(rec))?;
        ids.first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("insert gave no record id".into()))
    }

    /// Ids for `n` new records. SQLite has one writer (the open transaction
    /// holds the write lock), so the next ids follow the largest; PostgreSQL
    /// draws them from the identity sequence.
    fn allocate_record_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        match self.db.kind() {
            BackendKind::Sqlite => {
                let max = self
                    .db
                    .query("SELECT COALESCE(MAX(id), 0) FROM records", &[])?
                    .first()
                    .and_then(|r| r[0].int())
                    .unwrap_or(0);
                Ok((1..=n as i64).map(|i| max + i).collect())
            }
            BackendKind::Postgres => {
                let mut ids: Vec<i64> = self
                    .db
                    .query(
                        "SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, ?)",
                        &[Val::Int(n as i64)],
                    )?
                    .iter()
                    .filter_map(|r| r[0].int())
                    .collect();
                ids.sort_unstable();
                if ids.len() != n {
                    return Err(StoreError::Corrupt(format!(
                        "asked for {n} record ids, got {}",
                        ids.len()
                    )));
                }
                Ok(ids)
            }
        }
    }

    /// Ids of many image digests, inserting the new ones with one statement
    /// per slice; a known image without a media type takes the one given.
    fn image_ids(&mut self, wanted: &BTreeMap<&str, Option<&str>>) -> Result<()> {
        let mut todo: Vec<(&str, Option<&str>)> = Vec::new();
        for (&d, &m) in wanted {
            match self.image_ids.get(d) {
                None => todo.push((d, m)),
                Some(&id) => {
                    if let Some(m) = m
                        && !self.image_typed.contains(&id)
                    {
                        self.db.exec(
                            "UPDATE images SET media_type = ? WHERE id = ? AND media_type IS NULL",
                            &[m.into(), Val::Int(id)],
                        )?;
                        self.image_typed.insert(id);
                    }
                }
            }
        }
        let now = now_ms();
        for chunk in todo.chunks(INSERT_CHUNK) {
            let mut sql =
                String::from("INSERT INTO images (digest, media_type, first_seen) VALUES ");
            let mut params = Vec::with_capacity(chunk.len() * 3);
            for (i, (d, m)) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
                params.extend([Val::from(*d), Val::from(*m), Val::Int(now)]);
            }
            sql.push_str(" ON CONFLICT (digest) DO NOTHING RETURNING id, digest");
            for r in self.db.query(&sql, &params)? {
                if let (Some(id), Some(d)) = (r[0].int(), r[1].text()) {
                    if wanted.get(d).is_some_and(|m| m.is_some()) {
                        self.image_typed.insert(id);
                    }
                    self.image_ids.insert(d.to_string(), id);
                    self.tx_new_images.push(d.to_string());
                }
            }
            // The rest were there already.
            let known: Vec<(&str, Option<&str>)> = chunk
                .iter()
                .filter(|(d, _)| !self.image_ids.contains_key(*d))
                .copied()
                .collect();
            if known.is_empty() {
                continue;
            }
            let params: Vec<Val> = known.iter().map(|(d, _)| Val::from(*d)).collect();
            let rows = self.db.query(
                &format!(
                    "SELECT id, digest, media_type FROM images WHERE digest IN ({})",
                    placeholders(params.len())
                ),
                &params,
            )?;
            for r in rows {
                let (Some(id), Some(d)) = (r[0].int(), r[1].text()) else {
                    continue;
                };
                if r[2] != Val::Null {
                    self.image_typed.insert(id);
                } else if let Some(Some(m)) = wanted.get(d) {
                    self.db.exec(
                        "UPDATE images SET media_type = ? WHERE id = ? AND media_type IS NULL",
                        &[(*m).into(), Val::Int(id)],
                    )?;
                    self.image_typed.insert(id);
                }
                self.image_ids.insert(d.to_string(), id);
            }
            if let Some((d, _)) = known.iter().find(|(d, _)| !self.image_ids.contains_key(*d)) {
                return Err(StoreError::Corrupt(format!(
                    "image {d} vanished during insert"
                )));
            }
        }
        Ok(())
    }

    /// Insert validated records inside the current transaction, with one
    /// statement per table (per slice of rows) for the whole batch rather
    /// than per record. Returns their ids, in order.
    pub fn insert_records(&mut self, recs: &[BuildRecord]) -> Result<Vec<RecordId>> {
        if recs.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();

        // Components: one row per distinct purl, linked once per record
        // (runtime wins over build when a purl is listed twice).
        type Links = BTreeMap<i64, (u8, Option<String>)>;
        let mut all_links: Vec<Links> = Vec::with_capacity(recs.len());
        for rec in recs {
            let mut links: Links = BTreeMap::new();
            for c in &rec.components {
                let cid = self.component_id(&c.purl)?;
                let scope = match c.scope {
                    buildledger_model::Scope::Runtime => 0,
                    buildledger_model::Scope::Build => 1,
                };
                let extra = if c.hashes.is_empty() && c.location.is_none() {
                    None
                } else {
                    Some(
                        serde_json::json!({"hashes": c.hashes, "location": c.location}).to_string(),
                    )
                };
                let e = links.entry(cid).or_insert((scope, extra.clone()));
                if scope < e.0 {
                    *e = (scope, extra);
                }
            }
            all_links.push(links);
        }

        // Images: subjects, their platform manifests, base and builder images.
        let mut wanted: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for rec in recs {
            for s in &rec.subjects {
                let m = wanted.entry(s.digest.as_str()).or_insert(None);
                if m.is_none() {
                    *m = s.media_type.as_deref();
                }
                for mf in &s.manifests {
                    wanted.entry(mf.digest.as_str()).or_insert(None);
                }
            }
            for u in &rec.images {
                wanted.entry(u.digest.as_str()).or_insert(None);
            }
        }
        self.image_ids(&wanted)?;
        let iid = |s: &Store, d: &str| -> Result<i64> {
            s.image_ids
                .get(d)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("image {d} has no id")))
        };

        let ids = self.allocate_record_ids(recs.len())?;
        let mut records = Vec::with_capacity(recs.len() * 12);
        let mut bodies = Vec::with_capacity(recs.len() * 2);
        let mut link_rows = Vec::with_capacity(recs.len() * 3);
        let mut pending = Vec::with_capacity(recs.len());
        let (mut subjects_rows, mut refs, mut manifests, mut used_rows) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut toolchains, mut apis, mut extras) = (Vec::new(), Vec::new(), Vec::new());
        for ((rec, links), &rid) in recs.iter().zip(all_links).zip(&ids) {
            // The body keeps everything but the components, which live (once)
            // in `components` and on the links; `records_by_id` puts them back.
            let body = {
                let stored = BuildRecord {
                    schema_version: rec.schema_version,
                    subjects: rec.subjects.clone(),
                    source: rec.source.clone(),
                    builder: rec.builder.clone(),
                    images: rec.images.clone(),
                    toolchains: rec.toolchains.clone(),
                    languages: rec.languages.clone(),
                    components: Vec::new(),
                    apis: rec.apis.clone(),
                    labels: rec.labels.clone(),
                    build_time: rec.build_time,
                    record_time: Some(ms_to_time(now)),
                    origin: rec.origin,
                    trust: rec.trust.clone(),
                };
                serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?
            };

            // Subjects (with index → manifest links) in image id order; the
            // record row keeps their digests so hits are read without a join.
            let mut subjects: BTreeMap<i64, &str> = BTreeMap::new();
            for s in &rec.subjects {
                let i = iid(self, s.digest.as_str())?;
                subjects.insert(i, s.digest.as_str());
                for r in &s.references {
                    refs.extend([Val::Int(i), r.as_str().into(), Val::Int(now)]);
                }
                for m in &s.manifests {
                    let mi = iid(self, m.digest.as_str())?;
                    subjects.insert(mi, m.digest.as_str());
                    manifests.extend([Val::Int(i), Val::Int(mi), m.platform.clone().into()]);
                }
            }
            let subject_list = subjects.values().copied().collect::<Vec<_>>().join(" ");
            subjects_rows.extend(subjects.keys().flat_map(|i| [Val::Int(rid), Val::Int(*i)]));

            let src = rec.source.clone().unwrap_or_default();
            records.extend([
                Val::Int(rid),
                Val::Int(now),
                rec.build_time.map(|t| t.timestamp_millis()).into(),
                rec.origin.as_str().into(),
                rec.trust.state.as_str().into(),
                rec.trust.key_id.clone().into(),
                rec.builder.as_ref().map(|b| b.id.clone()).into(),
                src.repo.as_deref().map(normalize_repo).into(),
                src.commit.as_deref().map(|c| c.to_ascii_lowercase()).into(),
                src.tag.clone().into(),
                src.dirty.map(i64::from).into(),
                subject_list.into(),
            ]);
            bodies.extend([Val::Int(rid), body.into()]);

            let packed: Vec<(i64, u8)> = links.iter().map(|(c, (s, _))| (*c, *s)).collect();
            link_rows.extend([
                Val::Int(rid),
                Val::Int(packed.len() as i64),
                Val::Blob(postings::encode_links(&packed)),
            ]);
            for (c, (_, extra)) in links {
                if let Some(x) = extra {
                    extras.extend([Val::Int(rid), Val::Int(c), x.into()]);
                }
            }
            pending.push(Val::Int(rid));

            let mut used = BTreeSet::new();
            for u in &rec.images {
                used.insert((iid(self, u.digest.as_str())?, u.role.as_str()));
            }
            used_rows.extend(
                used.iter()
                    .flat_map(|(i, role)| [Val::Int(rid), Val::Int(*i), (*role).into()]),
            );
            let tcs: BTreeSet<(&str, &str)> = rec
                .toolchains
                .iter()
                .map(|t| (t.name.as_str(), t.version.as_str()))
                .collect();
            toolchains.extend(
                tcs.iter()
                    .flat_map(|(n, v)| [Val::Int(rid), (*n).into(), (*v).into()]),
            );
            apis.extend(rec.apis.iter().flat_map(|a| {
                [
                    Val::Int(rid),
                    a.kind.as_str().into(),
                    a.name.as_str().into(),
                    a.version.clone().into(),
                    a.stability.as_str().into(),
                ]
            }));
        }

        self.insert_rows(
            "records (id, record_time, build_time, origin, trust_state, trust_key, builder_id,
                      source_repo, source_commit, source_tag, source_dirty, subjects)",
            12,
            records,
            "",
        )?;
        self.insert_rows("record_bodies (record_id, body)", 2, bodies, "")?;
        self.insert_link_rows(link_rows, extras)?;
        self.insert_rows(
            "record_subjects (record_id, image_id)",
            2,
            subjects_rows,
            "",
        )?;
        self.insert_rows(
            "image_refs (image_id, reference, first_seen)",
            3,
            refs,
            " ON CONFLICT (image_id, reference) DO NOTHING",
        )?;
        self.insert_rows(
            "image_manifests (index_id, manifest_id, platform)",
            3,
            manifests,
            " ON CONFLICT (index_id, manifest_id) DO NOTHING",
        )?;
        self.insert_rows(
            "record_images (record_id, image_id, role)",
            3,
            used_rows,
            "",
        )?;
        self.insert_rows(
            "record_toolchains (record_id, name, version)",
            3,
            toolchains,
            "",
        )?;
        self.insert_rows(
            "record_apis (record_id, kind, name, version, stability)",
            5,
            apis,
            "",
        )?;
        self.insert_rows("postings_pending (record_id)", 1, pending, "")?;
        self.maybe_compact(recs.len())?;

        // Seal what was written (read back, as `audit verify` will read it)
        // in the audit log: no path stores a record without an entry. The
        // entries are appended when the transaction commits, so the log's
        // lock is held only for the commit, not for the rest of the work.
        let fingerprints = self.seal_inserted(&ids)?;
        let entries: Vec<AuditEntry> = recs
            .iter()
            .zip(&ids)
            .zip(fingerprints)
            .map(|((rec, id), seal)| {
                let subjects: Vec<&str> = rec.subjects.iter().map(|s| s.digest.as_str()).collect();
                AuditEntry {
                    kind: "record.accepted".into(),
                    subject: subjects.first().map(|s| s.to_string()),
                    payload: serde_json::json!({
                        "record_id": id,
                        "origin": rec.origin.as_str(),
                        "trust": rec.trust.state.as_str(),
                        "key_id": rec.trust.key_id,
                        "builder": rec.builder.as_ref().map(|b| b.id.as_str()),
                        "subjects": subjects,
                        "seal": seal,
                    }),
                }
            })
            .collect();
        if self.in_tx {
            self.tx_audit.extend(entries);
        } else {
            self.append_audit(entries)?;
        }
        Ok(ids)
    }

    // -- reads --------------------------------------------------------------

    /// Counts of stored objects.
    pub fn stats(&mut self) -> Result<Stats> {
        let mut count = |sql: &str| -> Result<u64> {
            Ok(self
                .db
                .query(sql, &[])?
                .first()
                .and_then(|r| r[0].int())
                .unwrap_or(0) as u64)
        };
        Ok(Stats {
            images: count("SELECT COUNT(*) FROM images")?,
            records: count("SELECT COUNT(*) FROM records")?,
            components: count("SELECT COUNT(*) FROM components")?,
            component_links: count(
                "SELECT CAST(COALESCE(SUM(component_count), 0) AS BIGINT) FROM record_links",
            )?,
        })
    }

    /// Load records by id, in id order.
    pub fn records_by_id(&mut self, ids: &[RecordId]) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            let sql = format!(
                "SELECT record_id, body FROM record_bodies WHERE record_id IN ({}) ORDER BY record_id",
                placeholders(chunk.len())
            );
            let mut by_id: HashMap<i64, usize> = HashMap::new();
            let first = out.len();
            for row in self.db.query(&sql, &params)? {
                let id = row[0].int().unwrap_or_default();
                let body = row[1].text().unwrap_or("");
                let record = decode_body(body)
                    .map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))?;
                by_id.insert(id, out.len());
                out.push(StoredRecord { id, record });
            }
            // Components come back from the links (bodies written before
            // schema v4 still carry their own list and are left as they are).
            let had_own: Vec<bool> = out[first..]
                .iter()
                .map(|r| !r.record.components.is_empty())
                .collect();
            let links = self.components_of_records(chunk)?;
            let mut extras: HashMap<(i64, i64), String> = HashMap::new();
            for row in self.db.query(
                &format!(
                    "SELECT record_id, component_id, extra FROM record_component_extras WHERE record_id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
            )? {
                if let (Some(r), Some(c), Some(x)) = (row[0].int(), row[1].int(), row[2].text()) {
                    extras.insert((r, c), x.to_string());
                }
            }
            let mut cids: Vec<i64> = links.iter().map(|l| l.1).collect();
            cids.sort_unstable();
            cids.dedup();
            let purls = self.purls_of(&cids)?;
            for (id, cid, scope) in links {
                let Some(&i) = by_id.get(&id) else { continue };
                if had_own[i - first] {
                    continue;
                }
                let text = purls.get(&cid).ok_or_else(|| {
                    StoreError::Corrupt(format!("record {id}: component {cid} is missing"))
                })?;
                let purl = buildledger_model::Purl::parse(text)
                    .map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))?;
                let scope = if scope == 1 {
                    buildledger_model::Scope::Build
                } else {
                    buildledger_model::Scope::Runtime
                };
                let (mut hashes, mut location) = (BTreeMap::new(), None);
                if let Some(extra) = extras.get(&(id, cid)) {
                    let v: serde_json::Value = serde_json::from_str(extra).map_err(|e| {
                        StoreError::Corrupt(format!("record {id}: component extra: {e}"))
                    })?;
                    if let Some(h) = v.get("hashes").and_then(|h| h.as_object()) {
                        for (k, val) in h {
                            hashes.insert(k.clone(), val.as_str().unwrap_or_default().to_string());
                        }
                    }
                    location = v.get("location").and_then(|l| l.as_str()).map(String::from);
                }
                out[i].record.components.push(buildledger_model::Component {
                    purl,
                    hashes,
                    scope,
                    location,
                });
            }
            for (r, own) in out[first..].iter_mut().zip(had_own) {
                if !own {
                    r.record
                        .components
                        .sort_by(|a, b| a.purl.as_str().cmp(b.purl.as_str()));
                }
            }
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// The purl of each component id in `ids`.
    pub(crate) fn purls_of(&mut self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            for row in self.db.query(
                &format!(
                    "SELECT id, purl FROM components WHERE id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
            )? {
                if let (Some(id), Some(p)) = (row[0].int(), row[1].text()) {
                    out.insert(id, p.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Everything known about `digest`, or None if the ledger never saw it.
    pub fn show(&mut self, digest: &Digest) -> Result<Option<ImageView>> {
        let rows = self.db.query(
            "SELECT id, media_type, first_seen FROM images WHERE digest = ?",
            &[digest.as_str().into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let iid = row[0].int().unwrap_or_default();
        let media_type = row[1].clone().into_text();
        let first_seen = ms_to_time(row[2].int().unwrap_or_default());
        let references = self
            .db
            .query(
                "SELECT reference FROM image_refs WHERE image_id = ? ORDER BY reference",
                &[Val::Int(iid)],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect();
        let link = |rows: Vec<Vec<Val>>| -> Vec<Link> {
            rows.into_iter()
                .map(|r| Link {
                    digest: r[0].text().unwrap_or("").to_string(),
                    platform: r[1].clone().into_text(),
                })
                .collect()
        };
        let manifests = link(self.db.query(
            "SELECT i.digest, m.platform FROM image_manifests m JOIN images i ON i.id = m.manifest_id
             WHERE m.index_id = ? ORDER BY m.platform, i.digest",
            &[Val::Int(iid)],
        )?);
        let indexes = link(self.db.query(
            "SELECT i.digest, m.platform FROM image_manifests m JOIN images i ON i.id = m.index_id
             WHERE m.manifest_id = ? ORDER BY i.digest",
            &[Val::Int(iid)],
        )?);
        let ids: Vec<i64> = self
            .db
            .query(
                "SELECT record_id FROM record_subjects WHERE image_id = ? ORDER BY record_id",
                &[Val::Int(iid)],
            )?
            .iter()
            .filter_map(|r| r[0].int())
            .collect();
        let records = self.records_by_id(&ids)?;
        let mut used_by = Vec::new();
        for r in self.db.query(
            "SELECT ri.record_id, ri.role FROM record_images ri WHERE ri.image_id = ? ORDER BY ri.record_id",
            &[Val::Int(iid)],
        )? {
            let rid = r[0].int().unwrap_or_default();
            let subjects = self
                .db
                .query(
                    "SELECT i.digest FROM record_subjects rs JOIN images i ON i.id = rs.image_id
                     WHERE rs.record_id = ? ORDER BY i.digest",
                    &[Val::Int(rid)],
                )?
                .into_iter()
                .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
                .collect();
            used_by.push(UsedBy {
                record_id: rid,
                role: r[1].text().unwrap_or("").to_string(),
                subjects,
            });
        }
        let conflicts = find_conflicts(&records);
        Ok(Some(ImageView {
            digest: digest.clone(),
            media_type,
            first_seen,
            references,
            manifests,
            indexes,
            records,
            used_by,
            conflicts,
        }))
    }

    /// Distinct versions recorded for toolchain `name`.
    pub fn toolchain_versions(&mut self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .db
            .query(
                // A loose index scan: one index seek per distinct version
                // instead of reading every record's row.
                "WITH RECURSIVE v(x) AS (
                     SELECT MIN(version) FROM record_toolchains WHERE name = ?
                     UNION ALL
                     SELECT (SELECT MIN(version) FROM record_toolchains WHERE name = ? AND version > v.x)
                     FROM v WHERE v.x IS NOT NULL)
                 SELECT x FROM v WHERE x IS NOT NULL",
                &[name.into(), name.into()],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect())
    }

    /// Component ids and versions stored for `package` (a purl without version).
    pub fn package_versions(&mut self, package: &str) -> Result<Vec<(i64, String)>> {
        Ok(self
            .db
            .query(
                "SELECT id, version FROM components WHERE package = ? ORDER BY version",
                &[package.into()],
            )?
            .into_iter()
            .map(|r| {
                (
                    r[0].int().unwrap_or_default(),
                    r[1].text().unwrap_or("").to_string(),
                )
            })
            .collect())
    }

    /// Image digests matching every filter in `q`, one hit per (digest, record),
    /// in record order.
    ///
    /// Toolchain and package filters are resolved first into the set of
    /// matching records (with the versions that matched); the remaining
    /// filters are applied in SQL while the hits are read in record order, a
    /// slice at a time, stopping at `limit`.
    pub fn query(&mut self, q: &Query<'_>) -> Result<Vec<Hit>> {
        let mut wheres: Vec<String> = Vec::new();
        let mut params: Vec<Val> = Vec::new();
        // Records that passed the toolchain / package filters, with what
        // matched: (record id, index into `labels`), sorted.
        let mut candidates: Option<Vec<(i64, u32)>> = None;
        let mut labels: Vec<String> = Vec::new();

        if let Some(commit) = &q.commit {
            let c = commit.trim().to_ascii_lowercase();
            if c.len() < 7 || !c.chars().all(|ch| ch.is_ascii_hexdigit()) {
                return Err(ModelError::new(
                    "commit",
                    format!("{commit:?} is not a commit id or prefix (7+ hex digits)"),
                )
                .into());
            }
            if c.len() >= 40 {
                wheres.push("r.source_commit = ?".into());
                params.push(c.into());
            } else {
                // Prefix match as a range so the index is used on both engines.
                wheres.push("r.source_commit >= ? AND r.source_commit < ?".into());
                params.push(c.clone().into());
                params.push(format!("{c}g").into());
            }
        }
        if let Some(repo) = &q.repo {
            wheres.push("r.source_repo = ?".into());
            params.push(normalize_repo(repo).into());
        }
        if let Some(tag) = &q.tag {
            wheres.push("r.source_tag = ?".into());
            params.push(tag.as_str().into());
        }
        if let Some(st) = q.api_stability {
            wheres.push("r.id IN (SELECT record_id FROM record_apis WHERE stability = ?)".into());
            params.push(st.as_str().into());
        }
        if q.toolchain.is_none() && q.package.is_none() && wheres.is_empty() {
            return Err(ModelError::new("query", "give at least one filter").into());
        }

        if let Some((name, filter)) = &q.toolchain {
            let versions: Vec<String> = self
                .toolchain_versions(name)?
                .into_iter()
                .filter(|v| filter(v))
                .collect();
            let mut found: Vec<(i64, u32)> = Vec::new();
            let mut label_of: HashMap<&str, u32> = HashMap::with_capacity(versions.len());
            for v in &versions {
                label_of.insert(v.as_str(), labels.len() as u32);
                labels.push(format!("{name}@{v}"));
            }
            for chunk in versions.chunks(postings::CHUNK) {
                let mut p: Vec<Val> = vec![name.as_str().into()];
                p.extend(chunk.iter().map(|v| Val::from(v.as_str())));
                self.db.each(
                    &format!(
                        "SELECT record_id, version FROM record_toolchains WHERE name = ? AND version IN ({})",
                        placeholders(chunk.len())
                    ),
                    &p,
                    &mut |r| {
                        if let (Some(rid), Some(l)) =
                            (r[0].int(), r[1].text().and_then(|v| label_of.get(v)))
                        {
                            found.push((rid, *l));
                        }
                        Ok(())
                    },
                )?;
            }
            found.sort_unstable();
            candidates = Some(found);
        }
        if let Some((package, filter)) = &q.package {
            let mut label_of: HashMap<i64, u32> = HashMap::new();
            for (cid, v) in self.package_versions(package)? {
                if filter(&v) {
                    label_of.insert(cid, labels.len() as u32);
                    labels.push(v);
                }
            }
            let ids: Vec<i64> = label_of.keys().copied().collect();
            let found: Vec<(i64, u32)> = self
                .records_with_components(&ids)?
                .into_iter()
                .filter_map(|(rid, cid)| label_of.get(&cid).map(|l| (rid, *l)))
                .collect();
            candidates = Some(match candidates {
                None => found,
                Some(tc) => {
                    // Both filters must hold: keep records found by each.
                    let in_pkg: std::collections::HashSet<i64> =
                        found.iter().map(|p| p.0).collect();
                    let in_tc: std::collections::HashSet<i64> = tc.iter().map(|p| p.0).collect();
                    let mut both: Vec<(i64, u32)> = tc
                        .into_iter()
                        .filter(|p| in_pkg.contains(&p.0))
                        .chain(found.into_iter().filter(|p| in_tc.contains(&p.0)))
                        .collect();
                    both.sort_unstable();
                    both
                }
            });
        }
        if q.trusted_only {
            wheres.push("r.trust_state IN ('verified', 'observed')".into());
        }

        let select = "SELECT r.id, r.subjects, r.origin, r.trust_state, r.source_repo, r.source_commit, r.source_tag
             FROM records r";
        let limit = q.limit.unwrap_or(usize::MAX);
        let mut hits: Vec<Hit> = Vec::new();
        // One hit per subject digest of each record row, in image id order.
        let push_hits = |hits: &mut Vec<Hit>, r: &[backend::ValRef<'_>]| -> Result<()> {
            let record_id = r[0].int().unwrap_or_default();
            let owned = |v: &backend::ValRef<'_>| v.text().map(String::from);
            let origin = r[2]
                .text()
                .and_then(buildledger_model::Origin::parse)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("record {record_id}: origin {:?}", r[2]))
                })?;
            let trust = r[3]
                .text()
                .and_then(buildledger_model::TrustState::parse)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("record {record_id}: trust state {:?}", r[3]))
                })?;
            for digest in r[1]
                .text()
                .unwrap_or("")
                .split(' ')
                .filter(|d| !d.is_empty())
            {
                if hits.len() >= limit {
                    break;
                }
                hits.push(Hit {
                    digest: digest.to_string(),
                    record_id,
                    origin,
                    trust,
                    repo: owned(&r[4]),
                    commit: owned(&r[5]),
                    tag: owned(&r[6]),
                    matched: Vec::new(),
                });
            }
            Ok(())
        };
        match candidates {
            None => {
                // Every record has at least one subject, so `limit` records
                // give at least `limit` hits.
                let mut sql = format!("{select} WHERE {} ORDER BY r.id", wheres.join(" AND "));
                if let Some(l) = q.limit {
                    sql.push_str(&format!(" LIMIT {l}"));
                }
                self.db
                    .each(&sql, &params, &mut |r| push_hits(&mut hits, r))?;
            }
            Some(found) => {
                let mut ids: Vec<i64> = found.iter().map(|p| p.0).collect();
                ids.dedup();
                hits.reserve(ids.len().min(limit));
                // Large slices on PostgreSQL (one round trip each); SQLite
                // builds an index for each IN list, so smaller ones there.
                let slice = match (self.db.kind(), q.limit) {
                    (BackendKind::Postgres, None) => 8 * postings::CHUNK,
                    _ => postings::CHUNK,
                };
                for chunk in ids.chunks(slice) {
                    if hits.len() >= limit {
                        break;
                    }
                    let mut w = wheres.clone();
                    w.push(format!("r.id IN ({})", placeholders(chunk.len())));
                    let mut p = params.clone();
                    p.extend(chunk.iter().map(|i| Val::Int(*i)));
                    let sql = format!("{select} WHERE {} ORDER BY r.id", w.join(" AND "));
                    self.db.each(&sql, &p, &mut |r| push_hits(&mut hits, r))?;
                }
                // Hits and matches are both in record order: walk them together.
                let mut at = 0;
                for h in &mut hits {
                    while at < found.len() && found[at].0 < h.record_id {
                        at += 1;
                    }
                    let mut m: Vec<String> = found[at..]
                        .iter()
                        .take_while(|p| p.0 == h.record_id)
                        .map(|p| labels[p.1 as usize].clone())
                        .collect();
                    if m.len() > 1 {
                        m.sort();
                        m.dedup();
                    }
                    h.matched = m;
                }
            }
        }
        Ok(hits)
    }

    /// The mapping table, one row per image digest that has records, in digest order.
    pub fn table(&mut self, limit: Option<usize>) -> Result<Vec<TableRow>> {
        let lim = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        let images = self.db.query(
            &format!(
                "SELECT i.id, i.digest FROM images i
                 WHERE EXISTS (SELECT 1 FROM record_subjects rs WHERE rs.image_id = i.id)
                 ORDER BY i.digest{lim}"
            ),
            &[],
        )?;
        let mut rows = Vec::with_capacity(images.len());
        for chunk in images.chunks(400) {
            let ids: Vec<Val> = chunk.iter().map(|r| r[0].clone()).collect();
            let ph = placeholders(ids.len());
            let mut by_image: HashMap<i64, TableRow> = HashMap::new();
            for r in chunk {
                by_image.insert(
                    r[0].int().unwrap_or_default(),
                    TableRow {
                        digest: r[1].text().unwrap_or("").to_string(),
                        repos: vec![],
                        tags: vec![],
                        commits: vec![],
                        toolchains: vec![],
                        apis: vec![],
                        components: 0,
                        records: 0,
                        conflict: false,
                    },
                );
            }
            let push = |v: &mut Vec<String>, s: Option<&str>| {
                if let Some(s) = s
                    && !v.iter().any(|x| x == s)
                {
                    v.push(s.to_string());
                }
            };
            for r in self.db.query(
                &format!(
                    "SELECT rs.image_id, r.source_repo, r.source_tag, r.source_commit FROM record_subjects rs
                     JOIN records r ON r.id = rs.record_id WHERE rs.image_id IN ({ph}) ORDER BY r.id"
                ),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    row.records += 1;
                    push(&mut row.repos, r[1].text());
                    push(&mut row.tags, r[2].text());
                    push(&mut row.commits, r[3].text());
                }
            }
            for r in self.db.query(
                &format!("SELECT image_id, reference FROM image_refs WHERE image_id IN ({ph}) ORDER BY reference"),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    push(&mut row.tags, r[1].text());
                }
            }
            for r in self.db.query(
                &format!(
                    "SELECT DISTINCT rs.image_id, t.name, t.version FROM record_subjects rs
                     JOIN record_toolchains t ON t.record_id = rs.record_id WHERE rs.image_id IN ({ph})
                     ORDER BY t.name, t.version"
                ),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    let s = format!("{}@{}", r[1].text().unwrap_or(""), r[2].text().unwrap_or(""));
                    push(&mut row.toolchains, Some(&s));
                }
            }
            for r in self.db.query(
                &format!(
                    "SELECT DISTINCT rs.image_id, a.version, a.stability FROM record_subjects rs
                     JOIN record_apis a ON a.record_id = rs.record_id WHERE rs.image_id IN ({ph})
                     ORDER BY a.version, a.stability"
                ),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    let s = match r[1].text() {
                        Some(v) => format!("{v} ({})", r[2].text().unwrap_or("")),
                        None => r[2].text().unwrap_or("").to_string(),
                    };
                    push(&mut row.apis, Some(&s));
                }
            }
            let mut distinct: HashMap<i64, BTreeSet<i64>> = HashMap::new();
            for r in self.db.query(
                &format!(
                    "SELECT rs.image_id, l.record_id, l.components FROM record_subjects rs
                     JOIN record_links l ON l.record_id = rs.record_id WHERE rs.image_id IN ({ph})"
                ),
                &ids,
            )? {
                let links = Store::decode_record_links(r[1].int().unwrap_or_default(), &r[2])?;
                distinct
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .extend(links.into_iter().map(|l| l.0));
            }
            for (image, set) in distinct {
                if let Some(row) = by_image.get_mut(&image) {
                    row.components = set.len() as u64;
                }
            }
            for r in chunk {
                if let Some(mut row) = by_image.remove(&r[0].int().unwrap_or_default()) {
                    row.conflict = row.commits.len() > 1 || row.repos.len() > 1;
                    rows.push(row);
                }
            }
        }
        Ok(rows)
    }

    /// Digests whose records disagree on the source commit or repository.
    pub fn conflicts(&mut self) -> Result<Vec<(String, Vec<Conflict>)>> {
        let rows = self.db.query(
            "SELECT i.digest FROM images i JOIN record_subjects rs ON rs.image_id = i.id
             JOIN records r ON r.id = rs.record_id
             GROUP BY i.digest
             HAVING COUNT(DISTINCT r.source_commit) > 1 OR COUNT(DISTINCT r.source_repo) > 1
             ORDER BY i.digest",
            &[],
        )?;
        let mut out = Vec::new();
        for r in rows {
            let d = Digest::parse(r[0].text().unwrap_or(""))?;
            if let Some(view) = self.show(&d)? {
                out.push((d.to_string(), view.conflicts));
            }
        }
        Ok(out)
    }
}

/// Fields on which `records` disagree: source commit and repository, and each
/// toolchain's version.
pub fn find_conflicts(records: &[StoredRecord]) -> Vec<Conflict> {
    let mut fields: BTreeMap<String, BTreeMap<String, (Vec<RecordId>, BTreeSet<String>)>> =
        BTreeMap::new();
    for r in records {
        let mut add = |field: String, value: String| {
            let e = fields.entry(field).or_default().entry(value).or_default();
            if !e.0.contains(&r.id) {
                e.0.push(r.id);
            }
            e.1.insert(r.record.origin.as_str().to_string());
        };
        if let Some(src) = &r.record.source {
            if let Some(c) = &src.commit {
                add("source.commit".into(), c.to_ascii_lowercase());
            }
            if let Some(repo) = &src.repo {
                add("source.repo".into(), normalize_repo(repo));
            }
        }
        for t in &r.record.toolchains {
            add(format!("toolchain {}", t.name), t.version.clone());
        }
    }
    let mut out = Vec::new();
    for (field, values) in fields {
        if values.len() > 1 {
            // A record listing two versions of one toolchain is not a conflict
            // with itself; only disagreement between records counts.
            let distinct_records: BTreeSet<RecordId> =
                values.values().flat_map(|v| v.0.iter().copied()).collect();
            if distinct_records.len() < 2 {
                continue;
            }
            out.push(Conflict {
                field,
                claims: values
                    .into_iter()
                    .map(|(value, (records, origins))| Claim {
                        value,
                        records,
                        origins: origins.into_iter().collect(),
                    })
                    .collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_normalise() {
        assert_eq!(
            normalize_repo("HTTPS://GitHub.com/Org/Repo.git/"),
            "https://github.com/Org/Repo"
        );
        assert_eq!(
            normalize_repo("https://github.com/org/repo"),
            "https://github.com/org/repo"
        );
        assert_eq!(
            normalize_repo("git@github.com:org/repo.git"),
            "git@github.com:org/repo"
        );
    }
}
