//! buildledger's application layer: every use case of the ledger as one
//! typed function over a [`Store`], called by every interface (the CLI
//! today; the HTTP server and the console next), so no rule lives twice.
//!
//! - Inputs are plain values (flags as typed, bytes, paths read within
//!   their limits); results are plain serde types whose JSON is the
//!   contract both `--json` and the HTTP API return. Each result has a JSON
//!   schema under `schema/results/` ([`schemas`]), regenerated and compared
//!   by a test; a breaking change is a new `.vN` file.
//! - Errors are one [`Error`] with an [`ErrorKind`] (bad input, not found,
//!   conflict, forbidden, integrity, unavailable, internal) and the input at
//!   fault; each interface maps kinds once (the CLI to exit codes 0/1/2/3,
//!   the server to HTTP statuses). A check that *matched* (findings,
//!   mismatches, tampering) is a result, not an error: the interface decides
//!   whether that fails its caller (`--fail-on-findings`).
//! - The layer prints nothing and never reads the process environment:
//!   limits and settings come through [`Settings`], progress through
//!   callbacks, registry credentials in the request.
//!
//! Modules, one per group of use cases: [`open`] (which ledger, read-only
//! or read-write), [`record`] (from flags, JSON documents, files),
//! [`provenance`] (SLSA provenance of a record, attestations verified
//! against the trusted-builder policy), [`keys`] (keygen, attest), [`audit`]
//! (verify, checkpoint), [`feeds`] (import, rematch, `--since`), [`query`],
//! [`reads`] (show, table, conflicts, info, vulns, affected, changes,
//! lineage, mismatches), [`scan`] (scan, scan-and-record, SBOM import),
//! [`tokens`] (API tokens, authentication and the authorisation rules),
//! [`jobs`] (index on push: registry events, the job queue, the worker's steps),
//! [`inventory`] (which digests run where, from cluster snapshots),
//! [`waivers`] (exceptions with an owner, a reason and an end),
//! [`policy`] (the Rego policy engine, its input document, posture),
//! [`admission`] (the admission webhook's decisions), [`alerts`] (alerts
//! that fire and resolve with the posture),
//! [`limits`] (input limits and settings), [`schemas`].

pub mod admission;
pub mod alerts;
pub mod audit;
pub mod cursor;
mod error;
pub mod feeds;
pub mod inventory;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod memo;
mod native;
pub mod open;
pub mod policy;
pub mod posture;
pub mod provenance;
pub mod query;
pub mod reads;
pub mod record;
pub mod scan;
pub mod schemas;
pub mod tokens;
pub mod vex;
pub mod waivers;

pub use buildledger_store::{Access, Store};
pub use error::{Error, ErrorKind, Result};
pub use limits::Settings;

/// The types results are made of, and the few lower-level items an
/// interface needs to render them or to describe a request, re-exported so
/// that interfaces depend on this crate alone (their `Cargo.toml` lists no
/// other workspace crate: the build keeps them thin).
pub mod types {
    pub use buildledger_image::{
        ENV_PASSWORD as REGISTRY_PASSWORD_VAR, ENV_TOKEN as REGISTRY_TOKEN_VAR,
        ENV_USER as REGISTRY_USER_VAR, LimitKind as ScanLimitKind, Limits as ScanLimits,
        Progress as ScanProgress,
    };
    pub use buildledger_input::{parse_size, read_file as read_regular_file};
    pub use buildledger_model::{
        ApiEntry, BuildRecord, Component, Digest, LEDGER_FIELDS, Origin, Purl, Scope, Stability,
        TrustState,
    };
    pub use buildledger_rules::{ImportReport, crosscheck::Mismatch};
    pub use buildledger_store::{
        AlertRow, Ancestor, Conflict, FeedSourceState, FindingChange, Hit, ImageFinding, ImageView,
        InventoryRow, Job, Stats, StoredRecord, TableRow, TokenRow, VexDocument, VexStatement,
        Waiver, redact_url,
    };
}
