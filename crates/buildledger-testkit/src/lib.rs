//! Test support for buildledger's integration suites: what every suite used to copy into its own
//! `tests/common/mod.rs`. It is a `[dev-dependencies]` entry only, never a normal dependency of a
//! workspace crate, and is not published.
//!
//! - [`ci`]: the house rule for missing prerequisites (a tool, a server, shared data): a test
//!   skips with a `SKIP:` line locally, but fails when `CI=true`, so CI never passes by skipping.
//! - [`shared`]: the read-only `../shared` directory of data and tools next to the project root
//!   (see its README). `BUILDLEDGER_SHARED` names another place; every suite honours it.
//! - [`pg`]: a fresh PostgreSQL schema per test on the server named by `BUILDLEDGER_TEST_PG`
//!   (default `postgres://postgres@127.0.0.1:5432/test`), dropped again when the guard is dropped;
//!   an unreachable server is a skip locally and a failure under `CI=true`.
//! - [`records`]: small `BuildRecord` fixtures: digests from a seed, subjects, components,
//!   toolchains and a builder for the common shapes.
//! - [`rootfs`]: a real Debian root file system (`debootstrap --variant=minbase bookworm` from
//!   the configured apt mirror), cached across runs, that the image and scan fixtures layer on.
//!
//! What is specific to one suite (the CLI's `Ledger`, the store's `Db`, image and Go fixtures,
//! oracles) stays in that suite's `tests/common`, as thin wrappers over this crate where it can.

pub mod ci;
pub mod pg;
pub mod records;
pub mod rootfs;
pub mod shared;
