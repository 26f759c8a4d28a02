//! Vulnerability feeds: import OSV and Alpine secdb files, directories and
//! zip dumps (recognised per file), and keep findings current.

use std::path::PathBuf;

use buildledger_rules::ImportReport;
use buildledger_store::Store;
use serde::{Deserialize, Serialize};

use crate::limits::{FEED_ENTRIES_VAR, FEED_FILE_VAR, FEED_ZIP_VAR, Settings};
use crate::{Error, Result};

/// One file or record a feed import passed over, rejected or warned about.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeedIssue {
    /// The file (and zip entry) it was found in.
    pub location: String,
    /// The advisory id, when known.
    pub id: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The setting that raises the limit it hit, when it hit one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raise_with: Option<String>,
}

impl FeedIssue {
    fn new(e: &buildledger_feed::FeedError) -> FeedIssue {
        FeedIssue {
            location: e.location.clone(),
            id: e.id.clone(),
            message: e.message.clone(),
            raise_with: limit_hint(&e.message),
        }
    }

    /// `location (id): message (raise it with …)`, as messages show it.
    pub fn line(&self) -> String {
        format!(
            "{}{}: {}{}",
            self.location,
            self.id
                .as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default(),
            self.message,
            hint_text(self.raise_with.as_deref())
        )
    }
}

fn hint_text(raise_with: Option<&str>) -> String {
    raise_with
        .map(|v| format!(" (raise it with {v})"))
        .unwrap_or_default()
}

/// Which setting raises the limit a feed message reports, if any.
fn limit_hint(message: &str) -> Option<String> {
    if message.contains("limit for one feed file")
        || message.contains("byte advisory limit")
        || message.contains("larger than the limit of")
    {
        Some(FEED_FILE_VAR.into())
    } else if message.contains("limit for one zip") || message.contains("zip entry declares") {
        Some(format!("{FEED_ZIP_VAR}, or {FEED_FILE_VAR} for one entry"))
    } else if message.contains("entries, more than the") {
        Some(FEED_ENTRIES_VAR.into())
    } else {
        None
    }
}

/// What a feed import did: the JSON of `feed import --json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FeedImport {
    /// Whether anything was imported (`false`: `--strict` refused the load).
    pub imported: bool,
    /// What the rules engine did (absent when nothing was imported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ImportReport>,
    /// Records rejected (malformed), by file and id.
    pub rejected: Vec<FeedIssue>,
    /// Records imported with a warning (unknown ecosystem or range type).
    pub warnings: Vec<FeedIssue>,
    /// Files not read (not a feed file, not a regular file).
    pub skipped: Vec<FeedIssue>,
    /// The parts of partial sources (Alpine secdb release/repository) the load covered.
    pub scopes: Vec<String>,
    /// Seconds in all.
    pub seconds: f64,
    /// Seconds spent reading.
    pub read_seconds: f64,
}

/// Which phase a progress count belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Files and records read.
    Reading,
    /// Advisories stored and evaluated.
    Importing,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `auto`, `osv` or `alpine-secdb`.
    pub format: String,
    /// All or nothing: anything rejected or warned about imports nothing.
    pub strict: bool,
}

/// Import advisories from files, directories and zip dumps. Only regular
/// files are read, each within the feed limits; bad records are reported
/// and skipped (with `strict`, they refuse the whole load: bad input whose
/// detail is the [`FeedImport`]); when nothing was a feed file the import is
/// bad input naming the files. A source that arrives in parts (Alpine secdb)
/// revises only the parts it covers.
pub fn import(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &ImportOptions,
    settings: &Settings,
    progress: &mut dyn FnMut(Phase, usize),
) -> Result<FeedImport> {
    let format = &opts.format;
    let fmt = buildledger_feed::Format::parse(format).ok_or_else(|| {
        Error::bad_field(
            "--format",
            format!("{format:?}: expected auto, osv or alpine-secdb"),
        )
    })?;
    let limits = settings.feed_limits()?;
    let t0 = std::time::Instant::now();
    let rep =
        buildledger_feed::load_paths(paths, fmt, &limits, &mut |n| progress(Phase::Reading, n))
            .map_err(|e| {
                let m = e.to_string();
                Error::bad_input(format!("{m}{}", hint_text(limit_hint(&m).as_deref())))
            })?;
    let read_seconds = t0.elapsed().as_secs_f64();
    let issues = |v: &[buildledger_feed::FeedError]| v.iter().map(FeedIssue::new).collect();
    let mut out = FeedImport {
        imported: false,
        report: None,
        rejected: issues(&rep.errors),
        warnings: issues(&rep.warnings),
        skipped: issues(&rep.skipped),
        scopes: rep.scopes.clone(),
        seconds: 0.0,
        read_seconds,
    };
    let detail = |out: &FeedImport| serde_json::to_value(out).unwrap_or_default();
    if rep.advisories.is_empty() && rep.errors.is_empty() && rep.skipped.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::bad_input(format!(
            "no advisories read: no feed file found in {}",
            names.join(", ")
        ))
        .with_detail(detail(&out)));
    }
    if rep.advisories.is_empty() && rep.errors.is_empty() {
        // Nothing was a feed file: say which files were passed over, and
        // why, rather than report an empty import.
        let names: Vec<String> = out.skipped.iter().take(5).map(FeedIssue::line).collect();
        let more = out.skipped.len().saturating_sub(5);
        return Err(Error::bad_input(format!(
            "no advisories read (--format {format}); {} file(s) not read: {}{}",
            out.skipped.len(),
            names.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ))
        .with_detail(detail(&out)));
    }
    if opts.strict && !(rep.errors.is_empty() && rep.warnings.is_empty()) {
        let msg = format!(
            "--strict: {} record(s) rejected and {} warning(s); nothing imported",
            rep.errors.len(),
            rep.warnings.len()
        );
        out.seconds = t0.elapsed().as_secs_f64();
        return Err(Error::bad_input(msg)
            .at("--strict")
            .with_detail(detail(&out)));
    }
    let report = buildledger_rules::import_scoped(store, &rep.advisories, &rep.scopes, &mut |n| {
        progress(Phase::Importing, n)
    })?;
    out.imported = true;
    out.report = Some(report);
    out.seconds = t0.elapsed().as_secs_f64();
    Ok(out)
}

/// What an uploaded feed file is (from its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// One OSV advisory, an array of them, or an Alpine secdb document.
    Json,
    /// An OSV advisory in YAML.
    Yaml,
    /// A zip dump of OSV advisories (an ecosystem's `all.zip`).
    Zip,
}

impl UploadKind {
    /// The kind of a `Content-Type` value (parameters ignored); `None` for
    /// any other type.
    pub fn from_content_type(v: &str) -> Option<UploadKind> {
        let t = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match t.as_str() {
            "application/json" => Some(UploadKind::Json),
            "application/yaml" | "application/x-yaml" | "text/yaml" => Some(UploadKind::Yaml),
            "application/zip" | "application/x-zip-compressed" => Some(UploadKind::Zip),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            UploadKind::Json => "json",
            UploadKind::Yaml => "yaml",
            UploadKind::Zip => "zip",
        }
    }
}

/// Import one uploaded feed file as [`import`] would import it from disk.
/// The bytes (already bounded by the caller's body limit) are written to a
/// private temporary directory under a fixed name — never a name the
/// uploader chose — and every message names the upload as `name` instead.
pub fn import_upload(
    store: &mut Store,
    bytes: &[u8],
    kind: UploadKind,
    name: &str,
    opts: &ImportOptions,
    settings: &Settings,
) -> Result<FeedImport> {
    let dir =
        tempfile::tempdir().map_err(|e| Error::internal(format!("temporary directory: {e}")))?;
    let path = dir.path().join(format!("upload.{}", kind.extension()));
    std::fs::write(&path, bytes).map_err(|e| Error::internal(format!("temporary file: {e}")))?;
    let shown = path.display().to_string();
    let rename = |s: &str| s.replace(&shown, name);
    match import(
        store,
        std::slice::from_ref(&path),
        opts,
        settings,
        &mut |_, _| {},
    ) {
        Ok(mut out) => {
            for i in out
                .rejected
                .iter_mut()
                .chain(out.warnings.iter_mut())
                .chain(out.skipped.iter_mut())
            {
                i.location = rename(&i.location);
                i.message = rename(&i.message);
            }
            // An upload of which nothing could be read is bad input (and
            // stored nothing), not an empty import.
            let read = out.report.as_ref().map_or(0, |r| r.advisories);
            if read == 0
                && let Some(first) = out.rejected.first()
            {
                let msg = format!("{name}: no advisory read: {}", first.message);
                let detail = serde_json::to_value(&out).unwrap_or_default();
                return Err(Error::bad_input(msg).at(name).with_detail(detail));
            }
            Ok(out)
        }
        Err(mut e) => {
            e.message = rename(&e.message);
            if let Some(d) = e.detail.take() {
                let text = rename(&d.to_string());
                e.detail = serde_json::from_str(&text).ok().or(Some(d));
            }
            Err(e)
        }
    }
}

/// What `rematch` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Rematch {
    /// What the rules engine did.
    pub report: ImportReport,
    /// Seconds taken.
    pub seconds: f64,
}

/// Re-evaluate every stored advisory over every component.
pub fn rematch(store: &mut Store, progress: &mut dyn FnMut(usize)) -> Result<Rematch> {
    let t0 = std::time::Instant::now();
    let report = buildledger_rules::rematch_all(store, progress)?;
    Ok(Rematch {
        report,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// RFC 3339, a date, or a relative span like `15m`, `24h`, `7d` back from
/// now. Anything else, or a span too large to subtract from now, is bad
/// input naming `--since` (never an overflow).
pub fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    parse_since_at(s, chrono::Utc::now())
}

/// [`parse_since`] relative to `now`.
pub fn parse_since_at(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>> {
    let bad = |why: &str| Error::bad_input(format!("--since {s:?}: {why}")).at("--since");
    let t = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&chrono::Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)
            .ok_or_else(|| bad("not a valid date"))?
            .and_utc()
    } else {
        // The unit is the last character, whatever its width in bytes.
        let Some((at, unit)) = s.char_indices().next_back() else {
            return Err(bad("expected RFC 3339, YYYY-MM-DD, or N[smhd]"));
        };
        let num = &s[..at];
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected RFC 3339, YYYY-MM-DD, or N[smhd]"));
        }
        let per: i64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad("unit must be s, m, h or d")),
        };
        let too_far = || bad("span too large (it reaches past the earliest representable time)");
        let n: i64 = num.parse().map_err(|_| too_far())?;
        let secs = n.checked_mul(per).ok_or_else(too_far)?;
        let span = chrono::TimeDelta::try_seconds(secs).ok_or_else(too_far)?;
        now.checked_sub_signed(span).ok_or_else(too_far)?
    };
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_spans_are_checked() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_since_at("1d", now).unwrap().to_rfc3339(),
            "2025-12-31T00:00:00+00:00"
        );
        assert!(parse_since_at("2026-01-01", now).is_ok());
        for bad in [
            "9999999999999999d",
            "99999999999999999999s",
            "106751991167300d",
            "5é",
            "é",
            "",
            "-5d",
            "+5d",
            "5",
            "d",
            "5w",
        ] {
            let e = parse_since_at(bad, now).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::BadInput, "{bad:?}");
            assert!(e.message.contains("--since"), "{bad:?}: {}", e.message);
        }
    }

    #[test]
    fn limit_messages_name_the_setting() {
        assert_eq!(
            limit_hint("x: 20 bytes is over the 16 byte advisory limit").as_deref(),
            Some(FEED_FILE_VAR)
        );
        assert!(
            limit_hint("zip entry declares 5G")
                .unwrap()
                .contains(FEED_ZIP_VAR)
        );
        assert_eq!(limit_hint("bad JSON"), None);
    }
}

/// A feed source the server syncs on an interval.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSource {
    /// A name for the source (its state is kept under it).
    pub name: String,
    /// A local file, directory or zip dump, read on every sync.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// An HTTP(S) URL of a file or zip dump (e.g. an OSV `all.zip`), fetched
    /// with `If-None-Match`/`If-Modified-Since`.
    #[serde(default)]
    pub url: Option<String>,
    /// Seconds between syncs (default 3600).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// `auto`, `osv` or `alpine-secdb`.
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_interval() -> u64 {
    3600
}

fn default_format() -> String {
    "auto".into()
}

impl FeedSource {
    /// Where it is read from, for state and messages.
    pub fn location(&self) -> String {
        match (&self.path, &self.url) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(u)) => u.clone(),
            (None, None) => String::new(),
        }
    }

    /// A source names exactly one of `path` and `url`, an http(s) URL.
    pub fn check(&self) -> Result<()> {
        match (&self.path, &self.url) {
            (Some(_), None) => Ok(()),
            (None, Some(u)) if u.starts_with("https://") || u.starts_with("http://") => Ok(()),
            (None, Some(u)) => Err(Error::bad_field(
                format!("feeds.{}.url", self.name),
                format!("{u:?} is not an http(s) URL"),
            )),
            _ => Err(Error::bad_field(
                format!("feeds.{}", self.name),
                "give exactly one of path and url",
            )),
        }
    }
}

/// Lease `source` for `worker` when its sync is due and no other replica
/// holds it; None otherwise.
pub fn lease_source(
    store: &mut Store,
    source: &FeedSource,
    worker: &str,
) -> Result<Option<buildledger_store::FeedSourceState>> {
    let interval = i64::try_from(source.interval_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(store.lease_feed_source(
        &source.name,
        &source.location(),
        worker,
        interval,
        // A sync that takes longer than this is presumed dead.
        30 * 60 * 1000,
    )?)
}

/// Import what a leased sync read (files, directories, zips) as one load of
/// `source`, and record the outcome. An import that fails records the error
/// and changes nothing stored; a half-bad one imports the good records.
pub fn sync_files(
    store: &mut Store,
    source: &FeedSource,
    worker: &str,
    files: &[PathBuf],
    validators: (Option<&str>, Option<&str>),
    settings: &Settings,
) -> Result<FeedImport> {
    let opts = ImportOptions {
        format: source.format.clone(),
        strict: false,
    };
    match import(store, files, &opts, settings, &mut |_, _| {}) {
        Ok(out) => {
            let n = out.report.as_ref().map(|r| r.advisories as i64);
            let synced = buildledger_store::Synced {
                etag: validators.0,
                last_modified: validators.1,
                advisories: n,
            };
            store.finish_feed_source(&source.name, worker, Ok(synced))?;
            Ok(out)
        }
        Err(e) => {
            store.finish_feed_source(&source.name, worker, Err(&e.message))?;
            Err(e)
        }
    }
}

/// Record a sync that did not get as far as importing (a fetch that failed,
/// or a 304: `Ok` with nothing changed).
pub fn sync_ended(
    store: &mut Store,
    source: &FeedSource,
    worker: &str,
    outcome: std::result::Result<(), &str>,
) -> Result<()> {
    store.finish_feed_source(
        &source.name,
        worker,
        outcome.map(|()| buildledger_store::Synced::default()),
    )?;
    Ok(())
}

/// The sync state of every source.
pub fn sources(store: &mut Store) -> Result<Vec<buildledger_store::FeedSourceState>> {
    Ok(store.feed_sources()?)
}
