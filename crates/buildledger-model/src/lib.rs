//! Plain data types shared by every buildledger crate.
//!
//! This crate owns the *vocabulary* of the ledger and nothing else: an image
//! [`Digest`], a package URL ([`Purl`]), and the [`BuildRecord`] that says what
//! one or more image digests were built from (source, builder, base images,
//! toolchains, components, API surface), together with where that claim came
//! from ([`Origin`]) and whether it was verified ([`Trust`]).
//!
//! It does no I/O. Values are validated when they are constructed or
//! deserialised, so a `BuildRecord` that exists is well formed: digests are
//! `sha256:<64 lowercase hex>`, purls parse per the purl specification, API
//! stabilities are one of a fixed set. [`BuildRecord::validate`] reports the
//! first problem with the JSON path of the offending field.
//!
//! The JSON shape is versioned ([`SCHEMA_VERSION`]) and described by a JSON
//! schema checked into the repository (`schema/build-record.v1.json`), which a
//! test regenerates from these types with [`build_record_schema`].
//!
//! The source is split by concern, in private modules whose items are all
//! re-exported here: `error` ([`ModelError`]), `digest` ([`Digest`]), `purl`
//! ([`Purl`] and its match key), `record` ([`BuildRecord`], its parts and
//! their validation), `api` ([`ApiKind`], [`Stability`], [`ApiEntry`]), `trust`
//! ([`Origin`], [`TrustState`], [`Trust`]) and `schema`
//! ([`build_record_schema`]).

mod api;
mod digest;
mod error;
mod purl;
mod record;
mod schema;
mod trust;

pub use api::{ApiEntry, ApiKind, Stability};
pub use digest::Digest;
pub use error::ModelError;
pub use purl::{Purl, ignores_name_case};
pub use record::{
    BuildRecord, Builder, Component, ImageRole, LEDGER_FIELDS, PlatformManifest, Scope, Source,
    Subject, Toolchain, UsedImage,
};
pub use schema::build_record_schema;
pub use trust::{Origin, Trust, TrustState};

/// Version of the build-record JSON shape written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

#[cfg(test)]
mod tests;
