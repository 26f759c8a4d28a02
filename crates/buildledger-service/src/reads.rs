//! The read use cases: one image (`show`), the mapping table, conflicts,
//! counts (`info`), digests by prefix, findings of an image (`vulns`) and of an advisory
//! (`affected`), the change feed, lineage and mismatches. None of them
//! writes; each names what it did not find.

use buildledger_model::Digest;
use buildledger_rules::crosscheck::Mismatch;
use buildledger_store::{
    Ancestor, Conflict, FindingChange, ImageFinding, ImageView, Stats, Store, TableRow,
};
use serde::Serialize;

use crate::{Error, Result};

/// A digest given by `field` (`digest`, `--digest`), parsed.
pub fn parse_digest(s: &str, field: &str) -> Result<Digest> {
    Digest::parse(s).map_err(|e| Error::bad_field(field, e.message))
}

/// Everything the ledger knows about one image; not found when it knows nothing.
pub fn show(store: &mut Store, digest: &Digest) -> Result<ImageView> {
    store
        .show(digest)?
        .ok_or_else(|| not_in_ledger(store, digest))
}

/// [`show`] without components, users and conflicts (what a policy
/// decision reads).
pub fn show_summary(store: &mut Store, digest: &Digest) -> Result<ImageView> {
    store
        .show_summary(digest)?
        .ok_or_else(|| not_in_ledger(store, digest))
}

/// Image digests starting with `prefix` (`sha256:` optional; 4 to 64 hex
/// digits, lower-cased), in digest order, at most `limit`; bad input
/// naming `field` otherwise.
pub fn digests_with_prefix(
    store: &mut Store,
    prefix: &str,
    limit: usize,
    field: &str,
) -> Result<Vec<String>> {
    let p = prefix.trim().to_ascii_lowercase();
    let hex = p.strip_prefix("sha256:").unwrap_or(&p);
    if !(4..=64).contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::bad_field(
            field,
            format!("{prefix:?} is not a digest prefix (sha256: and 4 to 64 hex digits)"),
        ));
    }
    Ok(store.digests_with_prefix(&format!("sha256:{hex}"), limit)?)
}

fn not_in_ledger(store: &Store, digest: &Digest) -> Error {
    Error::not_found(format!(
        "{digest} is not in the ledger ({})",
        store.target()
    ))
}

/// The mapping table, one row per digest, at most `limit` rows.
pub fn table(store: &mut Store, limit: Option<usize>) -> Result<Vec<TableRow>> {
    Ok(store.table(limit)?)
}

/// A page of the mapping table and the digests that bound it.
#[derive(Debug, Clone)]
pub struct TablePage {
    /// At most `limit` rows, in digest order.
    pub rows: Vec<TableRow>,
    /// There are rows after the last one.
    pub more_after: bool,
    /// There are rows before the first one.
    pub more_before: bool,
}

/// The longest position a table cursor may carry (a digest is 71 to 135
/// characters).
const MAX_TABLE_POSITION: usize = 200;

/// A keyset page of the mapping table: the `limit` rows after digest `after`,
/// or the `limit` rows before digest `before` (neither: the first page).
pub fn table_page(
    store: &mut Store,
    after: Option<&str>,
    before: Option<&str>,
    limit: usize,
) -> Result<TablePage> {
    for (what, v) in [("after", after), ("before", before)] {
        if v.is_some_and(|v| v.len() > MAX_TABLE_POSITION) {
            return Err(Error::bad_field(
                what,
                format!("longer than {MAX_TABLE_POSITION} characters: not a digest"),
            ));
        }
    }
    if after.is_some() && before.is_some() {
        return Err(Error::bad_field(
            "before",
            "give `after` or `before`, not both",
        ));
    }
    let limit = limit.max(1);
    let mut rows = store.table_range(after, before, Some(limit.saturating_add(1)))?;
    let over = rows.len() > limit;
    let (more_after, more_before) = if before.is_some() {
        if over {
            rows.remove(0);
        }
        (true, over)
    } else {
        rows.truncate(limit);
        (over, after.is_some())
    };
    Ok(TablePage {
        rows,
        more_after,
        more_before,
    })
}

/// Of `digests`, those the advisory known under `id` (its id or any alias)
/// affects through a component of one of their records: the blast radius
/// over the images that run. Not found when no advisory has that id or alias.
pub fn affected_among(
    store: &mut Store,
    id: &str,
    digests: &[&str],
) -> Result<std::collections::HashSet<String>> {
    store
        .affected_among(id, digests)?
        .ok_or_else(|| Error::not_found(format!("no advisory has id or alias {id:?}")))
}

/// The mapping-table rows of `digests` that have records, in the order given.
pub fn table_rows(store: &mut Store, digests: &[&str]) -> Result<Vec<TableRow>> {
    Ok(store.table_rows(digests)?)
}

/// The conflicting claims about one digest.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct DigestConflicts {
    /// The image digest.
    pub digest: String,
    /// Each field the records disagree on, with the claims.
    pub conflicts: Vec<Conflict>,
}

/// Every digest whose records disagree.
pub fn conflicts(store: &mut Store) -> Result<Vec<DigestConflicts>> {
    Ok(store
        .conflicts()?
        .into_iter()
        .map(|(digest, conflicts)| DigestConflicts { digest, conflicts })
        .collect())
}

/// What the ledger holds and where it is: the JSON of `info`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct Info {
    /// Advisories stored.
    pub advisories: u64,
    /// Findings current.
    pub findings: u64,
    /// The database (passwords redacted).
    pub database: String,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// The ledger's schema version.
    pub schema_version: i64,
    /// Counts of images, records, components and links.
    pub stats: Stats,
}

/// Counts of what the ledger holds.
pub fn info(store: &mut Store) -> Result<Info> {
    let stats = store.stats()?;
    let (advisories, findings) = store.advisory_stats()?;
    Ok(Info {
        advisories,
        findings,
        database: store.target().to_string(),
        engine: format!("{:?}", store.kind()).to_lowercase(),
        schema_version: store.schema_version()?,
        stats,
    })
}

/// The ledger and its schema version (after `migrate`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct SchemaState {
    /// The database (passwords redacted).
    pub database: String,
    /// Its schema version.
    pub schema_version: i64,
}

/// The schema version of an opened (and so migrated) ledger.
pub fn schema_state(store: &mut Store) -> Result<SchemaState> {
    Ok(SchemaState {
        database: store.target().to_string(),
        schema_version: store.schema_version()?,
    })
}

/// Findings for one image, vulnerabilities first; not found when the image
/// is not in the ledger.
pub fn vulns(store: &mut Store, digest: &Digest) -> Result<Vec<ImageFinding>> {
    if store.show(digest)?.is_none() {
        return Err(not_in_ledger(store, digest));
    }
    let mut f = store.vulns(digest.as_str())?;
    finding_states(store, &mut f, chrono::Utc::now())?;
    Ok(f)
}

/// The findings of the images `digests` (read together), with their waiver
/// and VEX state: what a list of running images shows. Unknown digests
/// have none.
pub fn vulns_of(store: &mut Store, digests: &[&str]) -> Result<Vec<ImageFinding>> {
    let mut f = store.vulns_many(digests)?;
    finding_states(store, &mut f, chrono::Utc::now())?;
    Ok(f)
}

/// Give each finding its state at `now`: the waivers in force that cover
/// it, its VEX statement, whether the image's Go binaries reach the
/// vulnerable symbols.
pub(crate) fn finding_states(
    store: &mut Store,
    f: &mut [ImageFinding],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    crate::waivers::annotate(store, f, now)?;
    crate::vex::annotate(store, f)?;
    buildledger_rules::reachability::annotate(store, f)?;
    Ok(())
}

/// Whether findings hold a vulnerability of the image's contents (toolchain
/// advisories say how it was built, and do not count; a finding waived in
/// every environment does not count either): the `--fail-on-findings` gate.
pub fn has_vulnerabilities(findings: &[ImageFinding]) -> bool {
    findings
        .iter()
        .any(|f| f.kind == "vuln" && !f.waivers.iter().any(|w| w.environment.is_none()))
}

/// Every image affected by an advisory, by id or any alias; not found when
/// no advisory has that id or alias.
pub fn affected(store: &mut Store, id: &str) -> Result<Vec<ImageFinding>> {
    let mut f = store
        .affected(id)?
        .ok_or_else(|| Error::not_found(format!("no advisory has id or alias {id:?}")))?;
    finding_states(store, &mut f, chrono::Utc::now())?;
    Ok(f)
}

/// One page of the images an advisory affects (see
/// [`buildledger_store::Store::affected_page`]), with waiver, VEX and
/// reachability states, and the position of the next page.
#[derive(Debug, Clone)]
pub struct AffectedResult {
    /// The page's findings, image by image.
    pub findings: Vec<ImageFinding>,
    /// Where the next page starts (`RECORD.SKIP`); `None` on the last page.
    pub next: Option<String>,
}

/// A page of [`affected`] from `cursor` (a previous page's `next`): images in
/// ledger order, read from a position, so a page costs the same wherever it
/// is in the list. Not found when no advisory has that id or alias.
pub fn affected_page(
    store: &mut Store,
    id: &str,
    cursor: Option<&str>,
    limit: usize,
) -> Result<AffectedResult> {
    let start = match cursor {
        Some(c) => Some(
            c.parse::<buildledger_store::QueryCursor>()
                .map_err(|e| Error::bad_field("cursor", e.message))?,
        ),
        None => None,
    };
    let page = store
        .affected_page(id, start, Some(limit.max(1)))?
        .ok_or_else(|| Error::not_found(format!("no advisory has id or alias {id:?}")))?;
    let mut f = page.findings;
    finding_states(store, &mut f, chrono::Utc::now())?;
    Ok(AffectedResult {
        findings: f,
        next: page.next.map(|n| n.to_string()),
    })
}

/// A page of [`changes`] from `cursor` (a previous page's `next`, `AT.EVENT`),
/// oldest first, and the position of the next page.
pub fn changes_page(
    store: &mut Store,
    since: chrono::DateTime<chrono::Utc>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<FindingChange>, Option<String>)> {
    let after = match cursor {
        Some(c) => Some(
            c.parse::<buildledger_store::ChangesCursor>()
                .map_err(|e| Error::bad_field("cursor", e.message))?,
        ),
        None => None,
    };
    let page = store.changes_page(since.timestamp_millis(), after, Some(limit.max(1)))?;
    Ok((page.changes, page.next.map(|n| n.to_string())))
}

/// Findings added and removed since `since` (see [`crate::feeds::parse_since`]).
pub fn changes(
    store: &mut Store,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<FindingChange>> {
    Ok(store.changes_since(since.timestamp_millis())?)
}

/// The indexed images an image was built on: the JSON of `lineage`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct Lineage {
    /// The image.
    pub digest: Digest,
    /// Its number of layers.
    pub layers: usize,
    /// Indexed images whose layers it starts with, nearest first.
    pub bases: Vec<Ancestor>,
}

/// Lineage of an indexed image; not found when its layers were never indexed.
pub fn lineage(store: &mut Store, digest: &Digest) -> Result<Lineage> {
    let layers = store.layers(digest.as_str())?;
    if layers.is_empty() {
        return Err(Error::not_found(format!(
            "{digest} has no indexed layers (scan it with --record first)"
        )));
    }
    let bases = store.lineage(digest.as_str())?;
    Ok(Lineage {
        digest: digest.clone(),
        layers: layers.len(),
        bases,
    })
}

/// Where claims disagree with what the image shows (one digest, or all).
pub fn mismatches(store: &mut Store, digest: Option<&Digest>) -> Result<Vec<Mismatch>> {
    Ok(buildledger_rules::crosscheck::mismatches(store, digest)?)
}

/// The severity levels of [`SeverityTrend`], most severe first.
pub const SEVERITY_LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// Open findings by severity now and at the end of each of the last days:
/// what the console's overview charts.
#[derive(Debug, Clone, Serialize)]
pub struct SeverityTrend {
    /// Open findings per level of [`SEVERITY_LEVELS`], now.
    pub now: [u64; 5],
    /// (day, open findings per level at the end of that day), oldest first;
    /// the last is today (so far).
    pub days: Vec<(chrono::NaiveDate, [u64; 5])>,
}

/// Open findings by severity (the policy's levels, [`crate::policy::severity_level`])
/// now and at the end of each of the last `days` days before `now`,
/// reconstructed from the finding-change log: a day's count is today's
/// minus what was added since that day plus what was removed since.
pub fn severity_trend(
    store: &mut Store,
    days: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SeverityTrend> {
    const DAY_MS: i64 = 86_400_000;
    let days = days.clamp(1, 366) as i64;
    let today = now.timestamp_millis().div_euclid(DAY_MS);
    let first = today - (days - 1);
    let counts = store.finding_counts_by_advisory((first + 1) * DAY_MS)?;
    let mut now_counts = [0u64; 5];
    // net[i][l]: findings added minus removed at level l on day first+1+i.
    let mut net = vec![[0i64; 5]; days as usize];
    for c in &counts {
        let (level, _, _) =
            crate::policy::severity_level(c.severity.as_deref(), c.score.as_deref());
        let l = SEVERITY_LEVELS
            .iter()
            .position(|x| *x == level)
            .unwrap_or(4);
        now_counts[l] += c.open;
        for (day, n) in &c.daily {
            let i = day - (first + 1);
            if (0..days).contains(&i) {
                net[i as usize][l] += n;
            }
        }
    }
    // Walk back from today: the end of day d holds what today holds minus
    // the net changes of every later day.
    let mut out = Vec::with_capacity(days as usize);
    let mut level = now_counts.map(|n| n as i64);
    for d in (first..=today).rev() {
        let date = chrono::DateTime::from_timestamp_millis(d * DAY_MS)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        out.push((date, level.map(|n| n.max(0) as u64)));
        let i = d - (first + 1);
        if (0..days).contains(&i) {
            for (l, n) in level.iter_mut().zip(net[i as usize]) {
                *l -= n;
            }
        }
    }
    out.reverse();
    Ok(SeverityTrend {
        now: now_counts,
        days: out,
    })
}
