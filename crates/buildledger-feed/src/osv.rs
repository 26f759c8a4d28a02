//! OSV reader: lenient serde structs and validation of one record. Loading files, directories
//! and zip dumps is in `load`.

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Advisory, Affected, Event, FeedError, Range, RangeKind, Severity};

/// Largest advisory accepted, in bytes: a single `.json` file, a directory entry or the
/// uncompressed bytes of a zip entry (counted as read, not trusted from the zip header).
pub const MAX_ADVISORY_BYTES: u64 = 16 * 1024 * 1024;

/// Most records one load looks at: zip entries in an archive, or `.json` files in a directory tree.
/// A zip with more entries is refused as a whole; a directory walk stops there and reports it.
pub const MAX_RECORDS: usize = 2_000_000;

/// Deepest directory nesting followed when walking a feed directory.
pub const MAX_DIR_DEPTH: usize = 32;

/// Most `affected` entries in one advisory (real feeds: at most a few dozen).
pub const MAX_AFFECTED: usize = 10_000;
/// Most ranges in one `affected` entry.
pub const MAX_RANGES: usize = 1_000;
/// Most events in one range (real feeds: under a hundred). Evaluation sorts them for every
/// component it judges, so this bounds the work an advisory can cause.
pub const MAX_EVENTS: usize = 10_000;
/// Most explicit `versions` in one `affected` entry (real PyPI records: about a thousand).
pub const MAX_VERSIONS: usize = 100_000;
/// Most aliases, related ids, references or severities in one advisory.
pub const MAX_LIST: usize = 10_000;
/// Longest version string, in bytes (real feeds: under 64; a commit hash is 40).
pub const MAX_VERSION_LEN: usize = 1024;
/// Longest advisory id or alias, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Ecosystems the OSV schema defines (the part before any `:`), as of schema 1.7.
pub const KNOWN_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Alpaquita",
    "Android",
    "Azure Linux",
    "BellSoft Hardened Containers",
    "Bioconductor",
    "Bitnami",
    "Chainguard",
    "CleanStart",
    "ConanCenter",
    "CRAN",
    "crates.io",
    "Debian",
    "Docker Hardened Images",
    "Echo",
    "GHC",
    "GIT",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Julia",
    "Kubernetes",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "npm",
    "NuGet",
    "openEuler",
    "openSUSE",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "Ubuntu",
    "VSCode",
    "Wolfi",
];

// ---------------------------------------------------------------------------------------------
// Raw, lenient wire types. Unknown fields are ignored; `null` is accepted wherever a value is
// optional. Only shapes that make the record meaningless are errors.

#[derive(Deserialize)]
struct RawAdvisory {
    id: Option<String>,
    modified: Option<String>,
    published: Option<String>,
    withdrawn: Option<String>,
    aliases: Option<Vec<String>>,
    related: Option<Vec<String>>,
    summary: Option<String>,
    details: Option<String>,
    severity: Option<Vec<RawSeverity>>,
    affected: Option<Vec<RawAffected>>,
    references: Option<Vec<RawReference>>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: Option<String>,
    score: Option<String>,
}

#[derive(Deserialize)]
struct RawReference {
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    severity: Option<Vec<RawSeverity>>,
    ranges: Option<Vec<RawRange>>,
    versions: Option<Vec<String>>,
    ecosystem_specific: Option<Value>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: Option<String>,
    name: Option<String>,
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: Option<String>,
    repo: Option<String>,
    events: Option<Vec<RawEvent>>,
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

// ---------------------------------------------------------------------------------------------

/// Parses one OSV advisory from JSON bytes.
///
/// `location` names where the bytes came from and is copied into the error. Unknown fields,
/// unknown ecosystems, unknown range and severity types are accepted. Errors: more than
/// [`MAX_ADVISORY_BYTES`], invalid JSON or wrong JSON types, an empty or missing `id`, an affected
/// entry without package name or ecosystem, a range without `type`, an event object with none (or
/// more than one) of `introduced`/`fixed`/`last_affected`/`limit`, an unparseable timestamp, a
/// version in a `SEMVER` range that is not SemVer 2.0, more entries than [`MAX_AFFECTED`],
/// [`MAX_RANGES`], [`MAX_EVENTS`], [`MAX_VERSIONS`] or [`MAX_LIST`], a version longer than
/// [`MAX_VERSION_LEN`] or an id longer than [`MAX_ID_LEN`]. What the record names but this
/// reader cannot act on is not an error: see [`osv_warnings`].
pub fn parse_osv(bytes: &[u8], location: &str) -> Result<Advisory, FeedError> {
    if bytes.len() as u64 > MAX_ADVISORY_BYTES {
        return Err(FeedError {
            location: location.to_string(),
            id: None,
            message: format!(
                "advisory is {} bytes, more than the {MAX_ADVISORY_BYTES}-byte limit",
                bytes.len()
            ),
        });
    }
    parse_osv_unbounded(bytes, location)
}

/// [`parse_osv`] without the size check (the loader has applied its own, configurable limit
/// while reading).
pub(crate) fn parse_osv_unbounded(bytes: &[u8], location: &str) -> Result<Advisory, FeedError> {
    let err = |id: Option<String>, message: String| FeedError {
        location: location.to_string(),
        id,
        message,
    };
    let raw: RawAdvisory = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => return Err(err(salvage_id(bytes), format!("invalid OSV JSON: {e}"))),
    };
    let id = raw.id.clone().unwrap_or_default();
    let id_opt = if id.is_empty() || id.len() > MAX_ID_LEN {
        None
    } else {
        Some(id.clone())
    };
    convert(raw).map_err(|m| err(id_opt, m))
}

/// Best effort: the `id` of a document that failed typed parsing, for the error report. Valid
/// JSON: its top-level `id`. Broken JSON (truncated, ...): the first `"id": "<string>"` in the
/// text, which in OSV files is the top-level one in practice.
fn salvage_id(bytes: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        let id = v.get("id")?.as_str()?;
        return (!id.is_empty() && id.len() <= MAX_ID_LEN).then(|| id.to_string());
    }
    let text = String::from_utf8_lossy(bytes);
    let mut rest: &str = &text;
    while let Some(pos) = rest.find("\"id\"") {
        rest = &rest[pos + 4..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('"') else {
            continue;
        };
        let end = after.find(['"', '\\', '\n'])?;
        let id = &after[..end];
        return (!id.is_empty() && id.len() <= MAX_ID_LEN).then(|| id.to_string());
    }
    None
}

fn convert(raw: RawAdvisory) -> Result<Advisory, String> {
    let id = raw.id.unwrap_or_default();
    if id.trim().is_empty() {
        return Err("missing or empty \"id\"".to_string());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "\"id\" is {} bytes, more than {MAX_ID_LEN}",
            id.len()
        ));
    }
    for (field, list) in [
        ("aliases", raw.aliases.as_ref()),
        ("related", raw.related.as_ref()),
    ] {
        let list = list.map(Vec::as_slice).unwrap_or_default();
        check_count(field, list.len(), MAX_LIST)?;
        if let Some(a) = list.iter().find(|a| a.len() > MAX_ID_LEN) {
            return Err(format!(
                "\"{field}\" has an id of {} bytes, more than {MAX_ID_LEN}",
                a.len()
            ));
        }
    }
    check_count(
        "references",
        raw.references.as_ref().map_or(0, Vec::len),
        MAX_LIST,
    )?;
    check_count(
        "severity",
        raw.severity.as_ref().map_or(0, Vec::len),
        MAX_LIST,
    )?;
    check_count(
        "affected",
        raw.affected.as_ref().map_or(0, Vec::len),
        MAX_AFFECTED,
    )?;
    let modified = parse_time("modified", raw.modified.as_deref())?;
    let published = parse_time("published", raw.published.as_deref())?;
    let withdrawn = parse_time("withdrawn", raw.withdrawn.as_deref())?;
    let severity = convert_severities(raw.severity.unwrap_or_default(), "severity")?;

    let mut affected = Vec::new();
    for (i, a) in raw.affected.unwrap_or_default().into_iter().enumerate() {
        affected.push(convert_affected(a, i)?);
    }
    let references = raw
        .references
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.url)
        .collect();
    let mut adv = Advisory {
        id,
        modified,
        published,
        withdrawn,
        aliases: raw.aliases.unwrap_or_default(),
        related: raw.related.unwrap_or_default(),
        summary: raw.summary,
        details: raw.details,
        severity,
        affected,
        references,
        source: "osv".to_string(),
        database_specific: raw.database_specific.filter(|v| !v.is_null()),
        content_hash: String::new(),
    };
    adv.content_hash = crate::content_hash(&adv);
    Ok(adv)
}

fn check_count(field: &str, n: usize, max: usize) -> Result<(), String> {
    if n > max {
        return Err(format!("\"{field}\" has {n} entries, more than {max}"));
    }
    Ok(())
}

fn check_version(at: &str, v: &str) -> Result<(), String> {
    if v.len() > MAX_VERSION_LEN {
        return Err(format!(
            "{at}: version of {} bytes, more than {MAX_VERSION_LEN}",
            v.len()
        ));
    }
    Ok(())
}

/// SemVer 2.0.0 (<https://semver.org>), no leading `v`: `MAJOR.MINOR.PATCH`, numbers without
/// leading zeros, an optional `-pre.release` (numeric identifiers without leading zeros) and
/// `+build` metadata.
pub fn is_semver(s: &str) -> bool {
    let (rest, build) = match s.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (s, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let ident_ok =
        |i: &str| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let numeric_ok = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 || !parts.iter().all(|p| numeric_ok(p)) {
        return false;
    }
    if let Some(pre) = pre
        && !pre
            .split('.')
            .all(|i| ident_ok(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || numeric_ok(i)))
    {
        return false;
    }
    if let Some(b) = build
        && !b.split('.').all(ident_ok)
    {
        return false;
    }
    true
}

/// What a well-formed advisory names that this reader cannot act on: an ecosystem the OSV schema
/// does not define (its entries cannot be matched) or a range type other than `SEMVER`,
/// `ECOSYSTEM` and `GIT`. One message per affected entry or range, with its JSON path.
pub fn osv_warnings(adv: &Advisory) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in adv.affected.iter().enumerate() {
        let base = a.ecosystem.split(':').next().unwrap_or_default();
        if !KNOWN_ECOSYSTEMS.contains(&base) {
            out.push(format!(
                "affected[{i}]: ecosystem {:?} is not one OSV defines; kept, but nothing matches it",
                a.ecosystem
            ));
        }
        for (j, r) in a.ranges.iter().enumerate() {
            if let RangeKind::Other(t) = &r.kind {
                out.push(format!(
                    "affected[{i}].ranges[{j}]: range type {t:?} is not one OSV defines (SEMVER, ECOSYSTEM, GIT); kept, compared in the ecosystem's order"
                ));
            }
        }
    }
    out
}

fn convert_severities(raw: Vec<RawSeverity>, at: &str) -> Result<Vec<Severity>, String> {
    raw.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let kind = s
                .kind
                .filter(|k| !k.is_empty())
                .ok_or_else(|| format!("{at}[{i}] has no \"type\""))?;
            let vector = s
                .score
                .ok_or_else(|| format!("{at}[{i}] has no \"score\""))?;
            let score = crate::cvss::base_score(&kind, &vector);
            Ok(Severity {
                kind,
                vector,
                score,
            })
        })
        .collect()
}

fn convert_affected(a: RawAffected, i: usize) -> Result<Affected, String> {
    let pkg = a
        .package
        .ok_or_else(|| format!("affected[{i}] has no \"package\""))?;
    let ecosystem = pkg
        .ecosystem
        .filter(|e| !e.is_empty())
        .ok_or_else(|| format!("affected[{i}].package has no \"ecosystem\""))?;
    let name = pkg
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("affected[{i}].package has no \"name\""))?;
    check_count(
        &format!("affected[{i}].ranges"),
        a.ranges.as_ref().map_or(0, Vec::len),
        MAX_RANGES,
    )?;
    check_count(
        &format!("affected[{i}].versions"),
        a.versions.as_ref().map_or(0, Vec::len),
        MAX_VERSIONS,
    )?;
    check_count(
        &format!("affected[{i}].severity"),
        a.severity.as_ref().map_or(0, Vec::len),
        MAX_LIST,
    )?;
    for v in a.versions.iter().flatten() {
        check_version(&format!("affected[{i}].versions"), v)?;
    }
    let mut ranges = Vec::new();
    for (j, r) in a.ranges.unwrap_or_default().into_iter().enumerate() {
        let kind = r
            .kind
            .ok_or_else(|| format!("affected[{i}].ranges[{j}] has no \"type\""))?;
        let kind = RangeKind::parse(&kind);
        check_count(
            &format!("affected[{i}].ranges[{j}].events"),
            r.events.as_ref().map_or(0, Vec::len),
            MAX_EVENTS,
        )?;
        let mut events = Vec::new();
        for (k, e) in r.events.unwrap_or_default().into_iter().enumerate() {
            let at = || format!("affected[{i}].ranges[{j}].events[{k}]");
            let mut found = Vec::with_capacity(1);
            if let Some(v) = e.introduced {
                found.push(Event::Introduced(v));
            }
            if let Some(v) = e.fixed {
                found.push(Event::Fixed(v));
            }
            if let Some(v) = e.last_affected {
                found.push(Event::LastAffected(v));
            }
            if let Some(v) = e.limit {
                found.push(Event::Limit(v));
            }
            match found.len() {
                1 => {
                    let ev = &found[0];
                    let v = ev.version();
                    check_version(&at(), v)?;
                    let exempt = matches!(ev, Event::Introduced(x) if x == "0")
                        || matches!(ev, Event::Limit(x) if x == "*");
                    if kind == RangeKind::Semver && !exempt && !is_semver(v) {
                        return Err(format!(
                            "{}: {v:?} is not a SemVer 2.0 version (SEMVER range)",
                            at()
                        ));
                    }
                    events.extend(found)
                }
                0 => {
                    return Err(format!(
                        "{} has none of \"introduced\", \"fixed\", \"last_affected\", \"limit\"",
                        at()
                    ));
                }
                _ => return Err(format!("{} has more than one event key", at())),
            }
        }
        ranges.push(Range {
            kind,
            repo: r.repo,
            events,
        });
    }
    Ok(Affected {
        ecosystem,
        name,
        purl: pkg.purl,
        ranges,
        versions: a.versions.unwrap_or_default(),
        severity: convert_severities(
            a.severity.unwrap_or_default(),
            &format!("affected[{i}].severity"),
        )?,
        ecosystem_specific: a.ecosystem_specific.filter(|v| !v.is_null()),
        database_specific: a.database_specific.filter(|v| !v.is_null()),
    })
}

/// RFC 3339 (`2021-04-14T20:04:52Z`, any offset, fractional seconds); also a timestamp without
/// offset, read as UTC. Year 1 (vulndb's `0001-01-01T00:00:00Z` placeholder) becomes `None`.
fn parse_time(field: &str, s: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(s) = s else { return Ok(None) };
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => match NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
            Ok(n) => n.and_utc(),
            Err(_) => {
                return Err(format!(
                    "\"{field}\": {s:?} is not an RFC 3339 timestamp ({e})"
                ));
            }
        },
    };
    Ok(if t.year() <= 1 { None } else { Some(t) })
}

/// Deepest `[`/`{` nesting accepted in an OSV YAML document.
const MAX_OSV_YAML_DEPTH: usize = 64;

/// Does a YAML document look like an OSV record (top-level `id:` plus
/// `affected:` or `modified:` keys)? A cheap look at unindented keys only.
pub(crate) fn looks_like_osv_yaml(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let top = |k: &str| text.lines().any(|l| l.starts_with(k));
    top("id:") && (top("affected:") || top("modified:"))
}

/// An OSV record in YAML, as the JSON the OSV reader takes (YAML is read
/// with its flow nesting bounded first: the parser is quadratic in it).
pub(crate) fn osv_yaml_to_json(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if buildledger_input::flow_depth_exceeds(bytes, MAX_OSV_YAML_DEPTH) {
        return Err(format!(
            "invalid OSV YAML: nested deeper than {MAX_OSV_YAML_DEPTH} levels"
        ));
    }
    let v: Value =
        serde_yaml_ng::from_slice(bytes).map_err(|e| format!("invalid OSV YAML: {e}"))?;
    serde_json::to_vec(&v).map_err(|e| format!("invalid OSV YAML: {e}"))
}
