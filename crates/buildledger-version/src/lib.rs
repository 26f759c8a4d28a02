//! Version ordering per packaging ecosystem, and version constraints.
//!
//! This crate owns one question: given two version strings from the same
//! ecosystem, which is newer? Every ecosystem answers it differently, and the
//! answer that counts is the one its own tool gives: `dpkg --compare-versions`
//! for Debian and Ubuntu, rpm's `rpmvercmp` for RPM distributions, apk-tools
//! for Alpine, Python's `packaging` for PyPI, node-semver for npm, Maven's
//! `ComparableVersion`, `golang.org/x/mod/semver` for Go modules, `go/version`
//! for Go release tags, `Gem::Version` for RubyGems, NuGet.Versioning's
//! `NuGetVersion` for NuGet and `Composer\Semver` (normalize, then PHP's
//! `version_compare`) for Packagist. Each ecosystem is a small module here,
//! and the tests check each one against that tool on many thousands of
//! generated pairs.
//!
//! The entry points are [`compare`] and [`validate`], which take a [`Scheme`].
//! A scheme is found from an OSV ecosystem name with
//! [`Scheme::for_osv_ecosystem`] or from a package URL type with
//! [`Scheme::for_purl_type`]. [`Constraint`] parses simple range expressions
//! such as `>=1.2, <1.3` and matches versions against them under a scheme.
//! [`go_toolchain_to_semver`] turns Go release tags (`go1.21rc2`) into the
//! semver form the Go vulnerability database uses (`1.21.0-rc.2`).
//!
//! Input is untrusted: nothing here panics on any string, every rejection is a
//! [`VersionError`] naming the scheme and the offending string, and inputs are
//! bounded by [`MAX_VERSION_LEN`] and [`MAX_CONSTRAINT_LEN`].
//!
//! The crate does no I/O.

use std::cmp::Ordering;
use std::fmt;

mod alpine;
mod composer;
mod constraint;
mod debian;
mod generic;
mod gotoolchain;
mod maven;
mod nuget;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

pub use constraint::{Comparator, Constraint, Op};
pub use gotoolchain::go_toolchain_to_semver;

/// Longest version string accepted by any scheme, in bytes.
///
/// Real versions are far shorter; the bound keeps hostile input cheap.
pub const MAX_VERSION_LEN: usize = 512;

/// Longest constraint expression accepted by [`Constraint::parse`], in bytes.
pub const MAX_CONSTRAINT_LEN: usize = 4096;

/// Most comparators accepted in one [`Constraint`] (over all alternatives).
pub const MAX_CONSTRAINT_TERMS: usize = 64;

/// A version ordering: which ecosystem's rules decide what is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scheme {
    /// Semantic Versioning 2.0.0 precedence (build metadata ignored); used by
    /// crates.io.
    SemVer,
    /// Go module versions as ordered by `golang.org/x/mod/semver`, with or
    /// without the leading `v` (the Go vulnerability database omits it).
    Go,
    /// Go release tags such as `go1.21rc2`, `go1.13`, `go1.9.2rc2`.
    GoToolchain,
    /// dpkg version ordering (Debian, Ubuntu).
    Debian,
    /// rpm's `epoch:version-release` ordering (Red Hat, SUSE, Rocky, …).
    Rpm,
    /// apk-tools ordering (Alpine, Wolfi, Chainguard).
    Alpine,
    /// PEP 440 (PyPI).
    Pep440,
    /// node-semver (npm).
    Npm,
    /// Maven's `ComparableVersion`.
    Maven,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// NuGet.Versioning's `NuGetVersion`: one to four numbers (the fourth is
    /// the legacy revision; missing ones are 0), SemVer 2.0 release labels
    /// compared ignoring case, build metadata ignored. No `v` prefix, as in
    /// `NuGetVersion.TryParse`.
    NuGet,
    /// Composer's order for Packagist: `VersionParser::normalize`, then PHP's
    /// `version_compare` (`dev` < `alpha` < `beta` < `RC` < stable <
    /// `patch`). Branch names (`dev-main`) are rejected, not ordered.
    Composer,
    /// Dotted numbers with a string fallback, for everything else.
    Generic,
}

impl Scheme {
    /// Map an OSV `affected[].package.ecosystem` string ("Go", "crates.io",
    /// "PyPI", "npm", "Maven", "RubyGems", "NuGet", "Packagist",
    /// "Alpine:v3.10", "Debian:12", "Ubuntu:22.04", "Red Hat", "Rocky
    /// Linux:9", "AlmaLinux", "openSUSE", "SUSE", "Mageia", "Wolfi",
    /// "Chainguard", …) to a scheme.
    ///
    /// Anything after the first `:` (a release) is ignored. Unknown
    /// ecosystems give `None`.
    pub fn for_osv_ecosystem(eco: &str) -> Option<Scheme> {
        let base = eco.split(':').next().unwrap_or("").trim();
        let scheme = match base {
            "Go" => Scheme::Go,
            "crates.io" => Scheme::SemVer,
            "PyPI" => Scheme::Pep440,
            "npm" => Scheme::Npm,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Composer,
            "Alpine" | "Wolfi" | "Chainguard" | "Alpaquita" | "BellSoft Hardened Containers" => {
                Scheme::Alpine
            }
            "Debian" | "Ubuntu" | "Echo" => Scheme::Debian,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" | "Mageia"
            | "Photon OS" | "Azure Linux" | "openEuler" | "CentOS" | "Fedora" | "Oracle Linux"
            | "Amazon Linux" => Scheme::Rpm,
            _ => return None,
        };
        Some(scheme)
    }

    /// Map a package URL type ("golang", "cargo", "pypi", "npm", "maven",
    /// "gem", "nuget", "composer", "deb", "rpm", "apk", "generic") to a
    /// scheme. Case-insensitive, as purl types are. Unknown types give
    /// `None`.
    pub fn for_purl_type(ty: &str) -> Option<Scheme> {
        let scheme = match ty.to_ascii_lowercase().as_str() {
            "golang" => Scheme::Go,
            "cargo" => Scheme::SemVer,
            "pypi" => Scheme::Pep440,
            "npm" => Scheme::Npm,
            "maven" => Scheme::Maven,
            "gem" => Scheme::RubyGems,
            "nuget" => Scheme::NuGet,
            "composer" => Scheme::Composer,
            "deb" => Scheme::Debian,
            "rpm" => Scheme::Rpm,
            "apk" | "alpine" => Scheme::Alpine,
            "generic" => Scheme::Generic,
            _ => return None,
        };
        Some(scheme)
    }

    /// The scheme's name as used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::SemVer => "SemVer",
            Scheme::Go => "Go",
            Scheme::GoToolchain => "GoToolchain",
            Scheme::Debian => "Debian",
            Scheme::Rpm => "Rpm",
            Scheme::Alpine => "Alpine",
            Scheme::Pep440 => "Pep440",
            Scheme::Npm => "Npm",
            Scheme::Maven => "Maven",
            Scheme::RubyGems => "RubyGems",
            Scheme::NuGet => "NuGet",
            Scheme::Composer => "Composer",
            Scheme::Generic => "Generic",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a version or constraint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The string is not a version under the scheme.
    #[error("invalid {scheme} version {version:?}: {reason}")]
    Invalid {
        /// The scheme whose rules were applied.
        scheme: Scheme,
        /// The rejected string (cut to [`MAX_VERSION_LEN`] bytes).
        version: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The string is longer than [`MAX_VERSION_LEN`].
    #[error("{scheme} version of {len} bytes is longer than the limit of {max}")]
    TooLong {
        /// The scheme whose rules were applied.
        scheme: Scheme,
        /// Length of the rejected string.
        len: usize,
        /// The limit, [`MAX_VERSION_LEN`].
        max: usize,
    },
    /// A constraint expression could not be parsed.
    #[error("invalid version constraint {constraint:?}: {reason}")]
    Constraint {
        /// The rejected expression (cut to [`MAX_CONSTRAINT_LEN`] bytes).
        constraint: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl VersionError {
    pub(crate) fn invalid(scheme: Scheme, version: &str, reason: impl Into<String>) -> Self {
        VersionError::Invalid {
            scheme,
            version: cut(version, MAX_VERSION_LEN).to_string(),
            reason: reason.into(),
        }
    }
}

/// Cut `s` to at most `max` bytes on a char boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn check_len(scheme: Scheme, v: &str) -> Result<(), VersionError> {
    if v.len() > MAX_VERSION_LEN {
        return Err(VersionError::TooLong {
            scheme,
            len: v.len(),
            max: MAX_VERSION_LEN,
        });
    }
    Ok(())
}

/// Compare two versions under `scheme`'s rules.
///
/// Errors if either string is not a valid version under the scheme (see
/// [`validate`]). Versions that the ecosystem treats as equal (`1.0` and
/// `1.0.0` in Maven, `1:1.0` and `1:1.0-0` in Debian, `1.0` and `1.0.0.0` in
/// NuGet, `v1.2` and `1.2.0.0` in Composer) compare `Equal`.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    check_len(scheme, a)?;
    check_len(scheme, b)?;
    match scheme {
        Scheme::SemVer => semver::compare(semver::Flavor::SemVer, a, b),
        Scheme::Go => semver::compare(semver::Flavor::Go, a, b),
        Scheme::Npm => semver::compare(semver::Flavor::Npm, a, b),
        Scheme::GoToolchain => gotoolchain::compare(a, b),
        Scheme::Debian => debian::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Alpine => alpine::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Maven => maven::compare(a, b),
        Scheme::RubyGems => rubygems::compare(a, b),
        Scheme::NuGet => nuget::compare(a, b),
        Scheme::Composer => composer::compare(a, b),
        Scheme::Generic => generic::compare(a, b),
    }
}

/// Check that `v` is a valid version under `scheme`.
///
/// What counts as valid follows the ecosystem's tool: a version is rejected
/// where the tool refuses it (dpkg's "bad syntax" errors, an invalid PEP 440
/// string, `semver.valid()` returning null, …).
pub fn validate(scheme: Scheme, v: &str) -> Result<(), VersionError> {
    check_len(scheme, v)?;
    match scheme {
        Scheme::SemVer => semver::validate(semver::Flavor::SemVer, v),
        Scheme::Go => semver::validate(semver::Flavor::Go, v),
        Scheme::Npm => semver::validate(semver::Flavor::Npm, v),
        Scheme::GoToolchain => go_toolchain_to_semver(v).map(|_| ()),
        Scheme::Debian => debian::parse(v).map(|_| ()),
        Scheme::Rpm => rpm::validate(v),
        Scheme::Alpine => alpine::validate(v),
        Scheme::Pep440 => pep440::parse(v).map(|_| ()),
        Scheme::Maven => maven::validate(v),
        Scheme::RubyGems => rubygems::parse(v).map(|_| ()),
        Scheme::NuGet => nuget::validate(v),
        Scheme::Composer => composer::validate(v),
        Scheme::Generic => generic::validate(v),
    }
}

/// Compare two strings of ASCII digits without leading zeros (or with them
/// already stripped) as unbounded non-negative integers.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Strip leading `'0'`s from a digit string, leaving `""` for zero.
pub(crate) fn strip_zeros(s: &str) -> &str {
    s.trim_start_matches('0')
}
