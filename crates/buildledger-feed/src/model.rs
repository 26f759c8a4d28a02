//! The plain data model every feed reader produces.
//!
//! The shape follows OSV (<https://ossf.github.io/osv-schema/>) closely, but it is tolerant: strings
//! that OSV restricts to a fixed set (ecosystems, range types, severity types) stay strings here, so
//! a record from a new ecosystem or a newer schema version still loads.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One vulnerability advisory, whatever feed it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The advisory id, e.g. `GO-2020-0001`, `RUSTSEC-2016-0001`, `ALPINE-CVE-2019-14697`. Never empty.
    pub id: String,
    /// Last modification time. `None` when absent or when the feed uses the year-1 placeholder
    /// (`0001-01-01T00:00:00Z`, as in golang/vulndb's `data/osv`).
    pub modified: Option<DateTime<Utc>>,
    /// Publication time, `None` when absent or year-1.
    pub published: Option<DateTime<Utc>>,
    /// Withdrawal time; `Some` means the advisory was retracted and should not alert.
    pub withdrawn: Option<DateTime<Utc>>,
    /// Other ids for the same vulnerability (CVE, GHSA, ...).
    pub aliases: Vec<String>,
    /// Ids of related but distinct vulnerabilities.
    pub related: Vec<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Long description (often Markdown).
    pub details: Option<String>,
    /// Advisory-level severities.
    pub severity: Vec<Severity>,
    /// Affected packages.
    pub affected: Vec<Affected>,
    /// Reference URLs, in feed order (their OSV `type` is dropped).
    pub references: Vec<String>,
    /// Which reader produced this advisory: `"osv"` or `"alpine-secdb"`.
    pub source: String,
    /// The feed's free-form top-level `database_specific` object, kept verbatim (RustSec puts
    /// `informational` here in some versions, Go puts `url` and `review_status`).
    pub database_specific: Option<serde_json::Value>,
    /// Lower-case hex SHA-256 of the canonical JSON of this advisory (every field except
    /// `content_hash`, object keys sorted, no whitespace). Equal hashes mean equal parsed content,
    /// so a re-import can skip unchanged advisories. See [`crate::content_hash`].
    pub content_hash: String,
}

impl Advisory {
    /// True when the advisory carries a RustSec `informational` marker (e.g. `"unmaintained"`),
    /// at the top level or in any affected package's `database_specific`.
    pub fn informational(&self) -> Option<&str> {
        fn pick(v: &Option<serde_json::Value>) -> Option<&str> {
            v.as_ref()?.get("informational")?.as_str()
        }
        pick(&self.database_specific).or_else(|| {
            self.affected
                .iter()
                .find_map(|a| pick(&a.database_specific))
        })
    }
}

/// A severity rating as given by the feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// The OSV severity type verbatim: `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
    pub kind: String,
    /// The vector or rating string as given (OSV calls it `score`).
    pub vector: String,
    /// Base score computed from `vector` for CVSS v2, v3.0, v3.1 and v4.0 kinds; `None` for other
    /// kinds or for a vector that does not parse.
    pub score: Option<f64>,
}

/// One affected package of an advisory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The ecosystem string verbatim: `Go`, `crates.io`, `Alpine:v3.10`, or anything else.
    pub ecosystem: String,
    /// Package name in that ecosystem (Go module path, crate name, Alpine origin package, ...).
    pub name: String,
    /// Package URL, when the feed gives one.
    pub purl: Option<String>,
    /// Affected version ranges.
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions (matched exactly).
    pub versions: Vec<String>,
    /// Package-level severities (OSV 1.5+ `affected[].severity`).
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// The feed's `ecosystem_specific` object verbatim (Go: `imports` with symbols).
    pub ecosystem_specific: Option<serde_json::Value>,
    /// The feed's `database_specific` object verbatim. The Alpine reader records its secfix
    /// version here, see [`crate::alpine`].
    pub database_specific: Option<serde_json::Value>,
}

/// The kind of a version range; decides how its event versions are compared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// `SEMVER`: SemVer 2.0 precedence.
    Semver,
    /// `ECOSYSTEM`: the ecosystem's own version order.
    Ecosystem,
    /// `GIT`: commit hashes; needs the repository's graph and is never evaluated here.
    Git,
    /// Any other type string, kept verbatim.
    Other(String),
}

impl RangeKind {
    /// The OSV spelling of this kind.
    pub fn as_str(&self) -> &str {
        match self {
            RangeKind::Semver => "SEMVER",
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Git => "GIT",
            RangeKind::Other(s) => s,
        }
    }

    /// Parses an OSV range type; unknown strings become [`RangeKind::Other`].
    pub fn parse(s: &str) -> RangeKind {
        match s {
            "SEMVER" => RangeKind::Semver,
            "ECOSYSTEM" => RangeKind::Ecosystem,
            "GIT" => RangeKind::Git,
            other => RangeKind::Other(other.to_string()),
        }
    }
}

impl fmt::Display for RangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RangeKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RangeKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(RangeKind::parse(&s))
    }
}

/// One affected version range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// How versions in `events` are ordered.
    pub kind: RangeKind,
    /// Repository URL (GIT ranges).
    pub repo: Option<String>,
    /// The range's events in feed order (evaluation sorts them).
    pub events: Vec<Event>,
}

/// A status change in a range's timeline. Serialized like OSV: `{"introduced": "1.0.0"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Versions from here on are affected; `"0"` means "from the beginning".
    Introduced(String),
    /// Versions from here on are not affected.
    Fixed(String),
    /// Versions after this one are not affected.
    LastAffected(String),
    /// Upper limit of the range; `"*"` means no limit.
    Limit(String),
}

impl Event {
    /// The event's version string.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// One record that could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{location}{}: {message}", id.as_ref().map(|i| format!(" ({i})")).unwrap_or_default())]
pub struct FeedError {
    /// Where: a file path, or `archive.zip!entry/name.json` for a zip entry.
    pub location: String,
    /// The advisory id, when it could be read before the error.
    pub id: Option<String>,
    /// What was wrong.
    pub message: String,
}

/// The result of loading a feed: every good record, and one error per bad record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Advisories that loaded, sorted by id, one per id.
    pub advisories: Vec<Advisory>,
    /// Records (or files where a record belonged) that did not load: unparseable, over a limit,
    /// not a regular file, or one of several records with the same id and `modified` but
    /// different content.
    pub errors: Vec<FeedError>,
    /// Advisories that loaded but carry something this reader cannot act on (an ecosystem or a
    /// range type OSV does not define): kept, and reported.
    #[serde(default)]
    pub warnings: Vec<FeedError>,
    /// Files not read because they are not feed files for the chosen format (a `README.md`, a
    /// zip found in a directory, a symbolic link to a directory), each with the reason.
    #[serde(default)]
    pub skipped: Vec<FeedError>,
    /// The parts of a feed this load covers completely, for feeds that arrive in parts: one
    /// `Alpine:<release>/<repo>` per secdb file read (see [`crate::alpine::scope_of`]). An
    /// importer replaces what it knows of these parts and keeps every other part. Empty for OSV,
    /// whose records are each complete.
    #[serde(default)]
    pub scopes: Vec<String>,
}
