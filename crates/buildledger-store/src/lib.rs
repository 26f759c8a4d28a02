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
//!
//! One module per concern, each adding its part of `impl Store`: `open`
//! (targets, read-write or read-only), `migrate` (versioned migrations),
//! `tx` (transactions), `write` (records, images, components), `read`
//! (counts, records, one digest's view), `query`, `table` (the mapping
//! table), `conflicts` (and which digests have claims and observations),
//! [`advisories`] (advisories and findings), [`lineage`], [`postings`],
//! [`audit`] and `seal` (the audit log and record seals), `error`, and
//! [`backend`] (the two engines; `backend::target` parses and redacts
//! targets). `raw` holds the raw SQL access kept for the store's own tests.

pub mod advisories;
mod alerts;
pub mod audit;
pub mod backend;
mod conflicts;
mod error;
mod gosym;
mod inventory;
mod jobs;
pub mod lineage;
mod migrate;
mod open;
pub mod postings;
mod posture;
mod query;
mod raw;
mod read;
mod seal;
mod table;
mod tokens;
mod tx;
mod vex;
mod waivers;
mod write;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};

pub use advisories::{
    AdvisoryCounts, AdvisoryInput, AffectedPage, ChangesCursor, ChangesPage, ComponentRow,
    DIGESTS_PER_CHANGE, FindingChange, FindingDelta, ImageFinding, NewFinding, Upsert,
};
pub use alerts::{AlertRow, NewAlert, RESEND_BATCH};
pub use audit::{AuditEntry, AuditReport};
use backend::Backend;
pub use backend::{Access, BackendKind, Val, redact_url};
pub use conflicts::{Claim, Conflict, find_conflicts, normalize_repo};
pub(crate) use error::Result;
pub use error::StoreError;
pub use gosym::{GoBinaryRow, NewGoBinary, PackageSymbols, Reachability};
pub use inventory::{InventoryDelta, InventoryRow};
pub use jobs::{FeedSourceState, Job, Synced};
pub use lineage::Ancestor;
pub use open::default_db_path;
pub use posture::{CachedDecision, PostureState};
pub use query::{Hit, Query, QueryCursor, QueryPage};
pub use read::{ImageView, Link, Stats, StoredRecord, UsedBy};
pub use table::TableRow;
pub use tokens::TokenRow;
pub use vex::{NewVexDocument, NewVexStatement, VexDocument, VexInsert, VexStatement};
pub use waivers::{NewWaiver, Waiver};

/// Id of a stored record.
pub type RecordId = i64;

/// A predicate over version strings (e.g. "is < 1.14 in Go's order").
pub type VersionFilter<'a> = &'a dyn Fn(&str) -> bool;

/// The persistent ledger.
pub struct Store {
    pub(crate) db: Box<dyn Backend>,
    target: String,
    component_ids: HashMap<String, i64>,
    image_ids: HashMap<String, i64>,
    /// Committed components' purls by id (`purls_of`).
    pub(crate) purl_cache: HashMap<i64, String>,
    /// (name, version) pairs known to be in `toolchain_versions`.
    toolchain_versions_seen: HashSet<(String, String)>,
    /// The schema has `toolchain_versions` (v17; false only for a test's
    /// store migrated to an older version).
    has_toolchain_versions: bool,
    /// Most image and component ids kept between writes (see
    /// [`Store::limit_id_caches`]).
    id_cache_limits: (usize, usize),
    /// Images known to have a media type (so a record naming one needs no update).
    image_typed: HashSet<i64>,
    in_tx: bool,
    pub(crate) tx_new_components: Vec<String>,
    tx_new_images: Vec<String>,
    /// Audit entries of this transaction, appended at commit.
    tx_audit: Vec<AuditEntry>,
    /// Stored columns of components, by id, for sealing (see `seal`).
    pub(crate) seal_components: seal::ComponentCache,
    /// A fold in the open transaction emptied `postings_pending`: vacuum it
    /// once that commits (PostgreSQL).
    pub(crate) vacuum_pending: bool,
    /// Records inserted since the pending-postings count was last checked.
    pub(crate) inserts_since_check: u32,
    /// Pending records as last counted plus those this store added since.
    pub(crate) pending_known: Option<i64>,
    /// The open transaction inserted or changed an advisory: the
    /// advisories' generation moves at its commit.
    pub(crate) tx_advisories_changed: bool,
    /// The open transaction added, changed or removed a finding: the
    /// findings' generation moves at its commit.
    pub(crate) tx_findings_changed: bool,
    /// Advisories' aliases and borrowed severities, kept for one generation.
    pub(crate) advisory_cache: AdvisoryCache,
    /// Findings by component, kept for one pair of generations.
    pub(crate) findings_cache: FindingsCache,
    /// Every finding by component, read once by
    /// [`Store::preload_findings`] for the open transaction.
    pub(crate) findings_snapshot: Option<HashMap<i64, Vec<advisories::FindingRow>>>,
}

/// What a store keeps of the advisories between reads: for each advisory
/// row, its aliases and the (advisory, severity, score) it borrows from an
/// alias; valid for one value of the advisories' generation (schema v16).
#[derive(Default)]
pub(crate) struct AdvisoryCache {
    pub(crate) generation: Option<i64>,
    #[allow(clippy::type_complexity)]
    pub(crate) facts: HashMap<
        i64,
        (
            Vec<String>,
            Option<(String, Option<String>, Option<String>)>,
        ),
    >,
}

impl AdvisoryCache {
    /// Most advisories kept (more: start over).
    pub(crate) const MAX_ADVISORIES: usize = 250_000;
}

/// What a store keeps of the findings between reads: each component's
/// findings (most components have none, and that is kept too), valid for
/// one pair of the advisories' and the findings' generations (schema v16).
#[derive(Default)]
pub(crate) struct FindingsCache {
    pub(crate) generation: Option<(i64, i64)>,
    pub(crate) by_component: HashMap<i64, Vec<advisories::FindingRow>>,
}

impl FindingsCache {
    /// Most components kept (more: start over).
    pub(crate) const MAX_COMPONENTS: usize = 1_000_000;
}

/// Moves the advisories' generation (schema v16).
pub(crate) const BUMP_ADVISORIES: &str =
    "UPDATE ledger_generation SET advisories = advisories + 1 WHERE id = 1";

/// Moves the findings' generation (schema v16).
pub(crate) const BUMP_FINDINGS: &str =
    "UPDATE ledger_generation SET findings = findings + 1 WHERE id = 1";

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
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
