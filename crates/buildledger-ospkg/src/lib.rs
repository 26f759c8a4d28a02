//! Catalogers for the OS package databases found inside container images.
//!
//! This crate owns the step "bytes of a package database → list of installed OS packages". Every
//! entry point is a pure function over the bytes of one file; reading the image (layers, whiteouts,
//! finding `lib/apk/db/installed` and friends) is done elsewhere in buildledger and the path where a
//! file was found is passed in as `db_path` so it can be recorded on each package.
//!
//! Supported databases:
//!
//! * `/etc/os-release` / `/usr/lib/os-release`: [`parse_os_release`].
//! * Alpine `lib/apk/db/installed`: [`parse_apk_installed`].
//! * Debian `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`: [`parse_dpkg_status`].
//! * RPM databases, all built on [`parse_rpm_header`]:
//!   SQLite `rpmdb.sqlite` ([`parse_rpmdb_sqlite`]), NDB `Packages.db` ([`parse_rpmdb_ndb`]) and
//!   BerkeleyDB hash `Packages` ([`parse_rpmdb_bdb`]). The NDB and BerkeleyDB readers are written
//!   here from the on-disk formats; no libdb or librpm is involved.
//!
//! Each package becomes an [`OsPackage`]; [`OsPackage::purl`] renders its package URL, with the
//! distribution taken from a parsed [`OsRelease`].
//!
//! All inputs are untrusted: sizes are bounded ([`MAX_DB_SIZE`], [`MAX_RPM_HEADER_INDEX_ENTRIES`],
//! [`MAX_RPM_HEADER_DATA`], …), every offset is checked, every loop is bounded, and corrupt data
//! yields an [`OsPkgError`] rather than a panic.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apk;
mod dpkg;
mod osrelease;
mod rpm;

pub use apk::parse_apk_installed;
pub use dpkg::parse_dpkg_status;
pub use osrelease::{OsRelease, parse_os_release};
pub use rpm::bdb::parse_rpmdb_bdb;
pub use rpm::header::{
    MAX_RPM_FILES_PER_PACKAGE, MAX_RPM_HEADER_DATA, MAX_RPM_HEADER_INDEX_ENTRIES,
    MAX_RPM_PATH_BYTES_PER_PACKAGE, parse_rpm_header,
};
pub use rpm::ndb::parse_rpmdb_ndb;
pub use rpm::sqlite::{parse_rpmdb_sqlite, parse_rpmdb_sqlite_file};

/// Largest database file (in bytes) any parser in this crate accepts: 512 MiB.
pub const MAX_DB_SIZE: usize = 512 * 1024 * 1024;

/// Largest number of packages any single database may yield.
pub const MAX_PACKAGES: usize = 1_000_000;

/// Largest `os-release` file accepted: 64 KiB (real ones are a few hundred bytes).
pub const MAX_OS_RELEASE_SIZE: usize = 64 * 1024;

/// Errors from the catalogers. Every variant names the file (or format) and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum OsPkgError {
    /// The input is larger than the documented limit.
    #[error("{what} at {db_path}: {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Kind of input (e.g. "dpkg status").
        what: &'static str,
        /// Where the input was found.
        db_path: String,
        /// Actual size.
        size: usize,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The input is not a well-formed database of the expected format.
    #[error("malformed {format} at {db_path}: {detail}")]
    Malformed {
        /// Format being parsed ("apk installed", "rpm header", "ndb", "bdb", …).
        format: &'static str,
        /// Where the input was found.
        db_path: String,
        /// What was wrong and where (line, byte offset, page number, …).
        detail: String,
    },
    /// A count inside the data exceeds one of the crate's limits.
    #[error("{what} in {db_path}: {count} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// Where the input was found.
        db_path: String,
        /// The count seen.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The database uses a feature this crate does not read (e.g. BerkeleyDB encryption).
    #[error("unsupported {format} at {db_path}: {detail}")]
    Unsupported {
        /// Format being parsed.
        format: &'static str,
        /// Where the input was found.
        db_path: String,
        /// What is unsupported.
        detail: String,
    },
    /// SQLite reported an error while reading an rpmdb.sqlite.
    #[error("sqlite rpmdb at {db_path}: {source}")]
    Sqlite {
        /// Where the input was found.
        db_path: String,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// An I/O error (temporary file for SQLite).
    #[error("i/o on {db_path}: {source}")]
    Io {
        /// Where the input was found.
        db_path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl OsPkgError {
    pub(crate) fn malformed(
        format: &'static str,
        db_path: &str,
        detail: impl Into<String>,
    ) -> OsPkgError {
        OsPkgError::Malformed {
            format,
            db_path: db_path.to_string(),
            detail: detail.into(),
        }
    }

    /// Replace the location recorded in the error (used when a header parsed on its own is
    /// found inside a database file).
    pub(crate) fn at(mut self, path: &str, where_: &str) -> OsPkgError {
        let loc = if where_.is_empty() {
            path.to_string()
        } else {
            format!("{path} ({where_})")
        };
        match &mut self {
            OsPkgError::TooLarge { db_path, .. }
            | OsPkgError::Malformed { db_path, .. }
            | OsPkgError::LimitExceeded { db_path, .. }
            | OsPkgError::Unsupported { db_path, .. }
            | OsPkgError::Sqlite { db_path, .. }
            | OsPkgError::Io { db_path, .. } => *db_path = loc,
        }
        self
    }
}

/// Check an input against [`MAX_DB_SIZE`].
pub(crate) fn check_size(what: &'static str, db_path: &str, len: usize) -> Result<(), OsPkgError> {
    if len > MAX_DB_SIZE {
        return Err(OsPkgError::TooLarge {
            what,
            db_path: db_path.to_string(),
            size: len,
            limit: MAX_DB_SIZE,
        });
    }
    Ok(())
}

/// Package ecosystem of an [`OsPackage`] (also its purl type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PkgEcosystem {
    /// Alpine apk (`pkg:apk`).
    Apk,
    /// Debian dpkg (`pkg:deb`).
    Deb,
    /// RPM (`pkg:rpm`).
    Rpm,
}

impl PkgEcosystem {
    /// The purl type: `apk`, `deb` or `rpm`.
    pub fn purl_type(self) -> &'static str {
        match self {
            PkgEcosystem::Apk => "apk",
            PkgEcosystem::Deb => "deb",
            PkgEcosystem::Rpm => "rpm",
        }
    }
}

/// One installed OS package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsPackage {
    /// Which package manager owns it.
    pub ecosystem: PkgEcosystem,
    /// Binary package name.
    pub name: String,
    /// Version as the package manager prints it: apk `V:`, dpkg `Version:` (with any `epoch:`),
    /// rpm `VERSION-RELEASE` (the epoch is in [`OsPackage::epoch`]).
    pub version: String,
    /// Architecture (`x86_64`, `amd64`, `armv7`, `noarch`, `all`, …) when recorded.
    pub arch: Option<String>,
    /// Source package: apk origin (`o:`), dpkg `Source:` without the `(version)` (the binary
    /// name when the field is absent, as dpkg itself does), the name part of rpm's `SOURCERPM`.
    pub source_name: Option<String>,
    /// Source version: dpkg `Source: foo (1.2-3)` version, rpm `VERSION-RELEASE` of `SOURCERPM`;
    /// otherwise the same as [`OsPackage::version`].
    pub source_version: Option<String>,
    /// RPM epoch when the header has one.
    pub epoch: Option<u32>,
    /// Declared licence (apk `L:`, rpm `LICENSE`; dpkg status has none).
    pub license: Option<String>,
    /// Owned files (absolute paths) when the database lists them: apk `F:`/`R:` (directories and
    /// files), rpm `DIRNAMES`+`BASENAMES`. dpkg keeps them in separate `.list` files: empty.
    pub files: Vec<String>,
    /// Where the database was found (as passed in by the caller).
    pub db_path: String,
}

impl OsPackage {
    /// Package URL of this package, e.g.
    /// `pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12`,
    /// `pkg:apk/alpine/musl@1.2.2-r3?arch=x86_64&distro=alpine-3.14.0`,
    /// `pkg:rpm/mariner/bash@5.1.8-1.cm2?arch=x86_64&distro=mariner-2.0&epoch=1`.
    ///
    /// The namespace is the distribution's `ID` (default `debian` for deb, `alpine` for apk, none
    /// for rpm); the `distro` qualifier is `ID-VERSION_ID` (or `ID-VERSION_CODENAME`, or `ID`).
    /// apk and deb packages built from a differently named (or versioned, for deb) source get an
    /// `upstream` qualifier (`upstream=openssl`, `upstream=glibc%402.36-9`), as syft emits.
    /// Qualifiers are sorted, as the purl specification's canonical form requires.
    pub fn purl(&self, distro: Option<&OsRelease>) -> String {
        match self.try_purl(distro) {
            Ok(p) => p,
            // Only reachable with an empty name, which no parser in this crate produces.
            Err(_) => format!("pkg:{}/{}", self.ecosystem.purl_type(), self.name),
        }
    }

    /// `upstream` qualifier for apk and deb (as syft and grype use it): the source package when
    /// it differs from the binary one, with `@source_version` for deb when that differs too.
    fn upstream_qualifier(&self) -> Option<String> {
        let src = self.source_name.as_deref().filter(|s| !s.is_empty())?;
        let other_version = self
            .source_version
            .as_deref()
            .filter(|v| !v.is_empty() && *v != self.version);
        match self.ecosystem {
            PkgEcosystem::Rpm => None,
            PkgEcosystem::Apk if src != self.name => Some(src.to_string()),
            PkgEcosystem::Deb => match other_version {
                Some(v) => Some(format!("{src}@{v}")),
                None if src != self.name => Some(src.to_string()),
                None => None,
            },
            PkgEcosystem::Apk => None,
        }
    }

    fn try_purl(&self, distro: Option<&OsRelease>) -> Result<String, packageurl::Error> {
        let mut p = packageurl::PackageUrl::new(self.ecosystem.purl_type(), self.name.as_str())?;
        let namespace = match (distro, self.ecosystem) {
            (Some(d), _) if !d.id.is_empty() => Some(d.id.to_ascii_lowercase()),
            (_, PkgEcosystem::Deb) => Some("debian".to_string()),
            (_, PkgEcosystem::Apk) => Some("alpine".to_string()),
            (_, PkgEcosystem::Rpm) => None,
        };
        if let Some(ns) = namespace {
            p.with_namespace(ns)?;
        }
        if !self.version.is_empty() {
            p.with_version(self.version.as_str())?;
        }
        if let Some(arch) = &self.arch {
            p.add_qualifier("arch", arch.as_str())?;
        }
        if self.ecosystem == PkgEcosystem::Rpm
            && let Some(e) = self.epoch
        {
            p.add_qualifier("epoch", e.to_string())?;
        }
        if let Some(up) = self.upstream_qualifier() {
            p.add_qualifier("upstream", up)?;
        }
        if let Some(d) = distro
            && let Some(q) = d.distro_qualifier()
        {
            p.add_qualifier("distro", q)?;
        }
        Ok(p.to_string())
    }
}
