//! OSV reader: lenient serde structs, validation, and loading from a file, a directory or a zip dump.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Advisory, Affected, Event, FeedError, LoadReport, Range, RangeKind, Severity};

/// Largest advisory accepted, in bytes: a single `.json` file, a directory entry or the
/// uncompressed bytes of a zip entry (counted as read, not trusted from the zip header).
pub const MAX_ADVISORY_BYTES: u64 = 16 * 1024 * 1024;

/// Most records one load looks at: zip entries in an archive, or `.json` files in a directory tree.
/// A zip with more entries is refused as a whole; a directory walk stops there and reports it.
pub const MAX_RECORDS: usize = 2_000_000;

/// Deepest directory nesting followed when walking a feed directory.
pub const MAX_DIR_DEPTH: usize = 32;

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
/// more than one) of `introduced`/`fixed`/`last_affected`/`limit`, an unparseable timestamp.
pub fn parse_osv(bytes: &[u8], location: &str) -> Result<Advisory, FeedError> {
    let err = |id: Option<String>, message: String| FeedError {
        location: location.to_string(),
        id,
        message,
    };
    if bytes.len() as u64 > MAX_ADVISORY_BYTES {
        return Err(err(
            None,
            format!(
                "advisory is {} bytes, more than the {MAX_ADVISORY_BYTES}-byte limit",
                bytes.len()
            ),
        ));
    }
    let raw: RawAdvisory = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => return Err(err(salvage_id(bytes), format!("invalid OSV JSON: {e}"))),
    };
    let id = raw.id.clone().unwrap_or_default();
    let id_opt = if id.is_empty() {
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
        return (!id.is_empty()).then(|| id.to_string());
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
        return (!id.is_empty() && id.len() <= 256).then(|| id.to_string());
    }
    None
}

fn convert(raw: RawAdvisory) -> Result<Advisory, String> {
    let id = raw.id.unwrap_or_default();
    if id.trim().is_empty() {
        return Err("missing or empty \"id\"".to_string());
    }
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
    let mut ranges = Vec::new();
    for (j, r) in a.ranges.unwrap_or_default().into_iter().enumerate() {
        let kind = r
            .kind
            .ok_or_else(|| format!("affected[{i}].ranges[{j}] has no \"type\""))?;
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
                1 => events.extend(found),
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
            kind: RangeKind::parse(&kind),
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

// ---------------------------------------------------------------------------------------------
// Loading.

/// Loads OSV advisories from `path`: a single `.json` file, a directory (walked recursively for
/// `*.json`, in path order, symlinks to directories not followed) or a zip dump such as OSV's
/// `all.zip` (recognised by its magic bytes, whatever its name; entries not ending in `.json`
/// are skipped).
///
/// Bad records do not stop the load: each one becomes a [`FeedError`] in the report. `Err` is
/// returned only when `path` itself cannot be read, or a zip's central directory is unreadable
/// or lists more than [`MAX_RECORDS`] entries. `progress` is called with the number of records
/// looked at so far after each record.
pub fn load_osv_path(path: &Path, progress: &mut dyn FnMut(usize)) -> io::Result<LoadReport> {
    let meta = fs::metadata(path)?;
    if meta.is_dir() {
        return load_dir(path, progress);
    }
    let mut file = File::open(path)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic)?;
    file.rewind()?;
    if n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
        return load_zip(file, path, progress);
    }
    let mut report = LoadReport::default();
    let location = path.display().to_string();
    match read_bounded(&mut file) {
        Ok(Ok(bytes)) => push_parsed(&mut report, parse_osv(&bytes, &location)),
        Ok(Err(message)) => report.errors.push(FeedError {
            location,
            id: None,
            message,
        }),
        Err(e) => return Err(e),
    }
    progress(1);
    Ok(report)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads at most [`MAX_ADVISORY_BYTES`]; the inner `Err` says the source was larger.
fn read_bounded(r: &mut impl Read) -> io::Result<Result<Vec<u8>, String>> {
    let mut buf = Vec::new();
    r.take(MAX_ADVISORY_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_ADVISORY_BYTES {
        return Ok(Err(format!(
            "larger than the {MAX_ADVISORY_BYTES}-byte advisory limit"
        )));
    }
    Ok(Ok(buf))
}

fn push_parsed(report: &mut LoadReport, r: Result<Advisory, FeedError>) {
    match r {
        Ok(a) => report.advisories.push(a),
        Err(e) => report.errors.push(e),
    }
}

fn load_dir(root: &Path, progress: &mut dyn FnMut(usize)) -> io::Result<LoadReport> {
    let mut report = LoadReport::default();
    let mut files = Vec::new();
    // The root must be listable; errors below it are reported per directory.
    fs::read_dir(root)?;
    collect_json(root, 0, &mut files, &mut report.errors);
    files.sort();
    if files.len() > MAX_RECORDS {
        report.errors.push(FeedError {
            location: root.display().to_string(),
            id: None,
            message: format!(
                "more than {MAX_RECORDS} .json files; only the first {MAX_RECORDS} were loaded"
            ),
        });
        files.truncate(MAX_RECORDS);
    }
    for (i, file) in files.iter().enumerate() {
        let location = file.display().to_string();
        let bytes = File::open(file).and_then(|mut f| read_bounded(&mut f));
        match bytes {
            Ok(Ok(bytes)) => push_parsed(&mut report, parse_osv(&bytes, &location)),
            Ok(Err(message)) => report.errors.push(FeedError {
                location,
                id: None,
                message,
            }),
            Err(e) => report.errors.push(FeedError {
                location,
                id: None,
                message: format!("cannot read: {e}"),
            }),
        }
        progress(i + 1);
    }
    Ok(report)
}

fn collect_json(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, errors: &mut Vec<FeedError>) {
    let location = || dir.display().to_string();
    if depth > MAX_DIR_DEPTH {
        errors.push(FeedError {
            location: location(),
            id: None,
            message: format!("nested deeper than {MAX_DIR_DEPTH} directories; not walked"),
        });
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(FeedError {
                location: location(),
                id: None,
                message: format!("cannot list: {e}"),
            });
            return;
        }
    };
    for entry in entries {
        if out.len() > MAX_RECORDS {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(FeedError {
                    location: location(),
                    id: None,
                    message: format!("cannot list: {e}"),
                });
                continue;
            }
        };
        let path = entry.path();
        // file_type() does not follow symlinks: a symlinked directory is not walked (no cycles);
        // a symlinked file is read if it ends in .json.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            collect_json(&path, depth + 1, out, errors);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.push(path);
        }
    }
}

fn load_zip(file: File, path: &Path, progress: &mut dyn FnMut(usize)) -> io::Result<LoadReport> {
    let invalid = |m: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| invalid(format!("not a readable zip archive: {e}")))?;
    if archive.len() > MAX_RECORDS {
        return Err(invalid(format!(
            "zip lists {} entries, more than the {MAX_RECORDS} limit",
            archive.len()
        )));
    }
    let mut report = LoadReport::default();
    let base = path.display().to_string();
    for i in 0..archive.len() {
        let r = read_zip_entry(&mut archive, i, &base);
        match r {
            Ok(None) => {}
            Ok(Some((bytes, location))) => push_parsed(&mut report, parse_osv(&bytes, &location)),
            Err(e) => report.errors.push(e),
        }
        progress(i + 1);
    }
    Ok(report)
}

/// One zip entry's bytes and location; `None` for directories and non-`.json` entries.
fn read_zip_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    i: usize,
    base: &str,
) -> Result<Option<(Vec<u8>, String)>, FeedError> {
    let fail = |location: String, message: String| FeedError {
        location,
        id: None,
        message,
    };
    let mut entry = archive
        .by_index(i)
        .map_err(|e| fail(format!("{base}!#{i}"), format!("unreadable zip entry: {e}")))?;
    let name = match entry.name() {
        Ok(n) => n.into_owned(),
        Err(e) => return Err(fail(format!("{base}!#{i}"), format!("bad entry name: {e}"))),
    };
    let location = format!("{base}!{name}");
    if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
        return Ok(None);
    }
    if entry.size() > MAX_ADVISORY_BYTES {
        return Err(fail(
            location,
            format!(
                "zip entry declares {} uncompressed bytes, more than the {MAX_ADVISORY_BYTES}-byte limit",
                entry.size()
            ),
        ));
    }
    match read_bounded(&mut entry) {
        Ok(Ok(bytes)) => Ok(Some((bytes, location))),
        Ok(Err(m)) => Err(fail(location, format!("uncompressed entry {m}"))),
        Err(e) => Err(fail(location, format!("cannot decompress: {e}"))),
    }
}
