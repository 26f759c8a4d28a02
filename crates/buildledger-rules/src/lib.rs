//! The rules engine: which components — and so which image digests — each
//! advisory affects, kept current incrementally.
//!
//! Findings are computed once per distinct component (purl), never per image:
//! - **new or changed advisories** re-evaluate only the components whose
//!   match key (see `Purl::match_key`) the advisory names;
//! - **a new build** evaluates only the components that build added to the
//!   ledger (components already known have their findings already);
//! - a **withdrawn** advisory retracts its findings;
//! - an unchanged advisory (same content hash) costs one lookup.
//!
//! **Feeds in parts.** An Alpine secdb file covers one release and
//! repository (its *scope*, `Alpine:v3.10/main`), and one vulnerability id
//! spans many files. Importing some files revises only what those scopes say:
//! a stored advisory keeps its entries from every other scope, and loses
//! entries of a loaded scope only when that scope no longer lists them. An
//! advisory id already stored from another source is never replaced; the
//! import reports it as a conflict.
//!
//! Each finding records the advisory revision (content hash) that produced
//! it and when, and the fixed version when one exists. Every change lands in
//! the store's finding-change log, which `buildledger changes --since` reads.
//!
//! Ecosystem mapping (OSV `affected[].package.ecosystem` → purl package key):
//! Go → `pkg:golang/<module>` (`stdlib`, `toolchain` included); crates.io →
//! `pkg:cargo/…`; PyPI → `pkg:pypi/<PEP 503 name>`; npm → `pkg:npm/…`; Maven
//! → `pkg:maven/<group>/<artifact>`; RubyGems → `pkg:gem/…`; NuGet →
//! `pkg:nuget/<id>` and Packagist → `pkg:composer/<vendor>/<name>` (both
//! lower-cased, as those ecosystems compare names); `Alpine:vX.Y`
//! → `pkg:apk/alpine/<source package>`; `Debian:N` → `pkg:deb/debian/<source
//! package>`; `Ubuntu:…` → `pkg:deb/ubuntu/…`. Distro advisories match only
//! components whose `distro` qualifier names the same release. Go
//! `toolchain` advisories concern how a binary was built, not what it
//! contains, and are kept as findings of kind `toolchain`.

pub mod crosscheck;
pub mod reachability;

use std::collections::HashMap;

use buildledger_feed::{Advisory, Affected, Verdict};
use buildledger_model::{BuildRecord, Purl};
use buildledger_store::{
    AdvisoryInput, FindingDelta, NewFinding, RecordId, Store, StoreError, Upsert,
};
use buildledger_version::Scheme;
use serde::Serialize;

/// Errors from the engine.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored advisory could not be read back.
    #[error("stored advisory {id} is unreadable: {message}")]
    Corrupt {
        /// Advisory id or row id.
        id: String,
        /// Parser message.
        message: String,
    },
}

type Result<T, E = RulesError> = std::result::Result<T, E>;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct ImportReport {
    /// Advisories seen.
    pub advisories: u64,
    /// New ones.
    pub new: u64,
    /// Known ones whose content changed.
    pub changed: u64,
    /// Known ones, same content.
    pub unchanged: u64,
    /// Withdrawn ones (their findings retracted).
    pub withdrawn: u64,
    /// Findings added.
    pub findings_added: u64,
    /// Findings removed.
    pub findings_removed: u64,
    /// Affected entries whose ranges are GIT only (stored, not evaluated).
    pub unevaluated_git: u64,
    /// Affected entries in ecosystems we cannot match, by ecosystem.
    pub unsupported_ecosystems: std::collections::BTreeMap<String, u64>,
    /// Component versions the ecosystem's scheme could not read.
    pub unreadable_versions: u64,
    /// Advisories not stored: one message per advisory whose id is already
    /// stored from another source (nothing of the stored one was changed).
    pub conflicts: Vec<String>,
}

/// The purl package key an OSV affected entry names, and the distro release
/// it is limited to (for distro ecosystems).
pub fn match_key(a: &Affected) -> Option<(String, Option<String>)> {
    let eco = a.ecosystem.as_str();
    let (base, release) = match eco.split_once(':') {
        Some((b, r)) => (b, Some(r.to_string())),
        None => (eco, None),
    };
    let name = a.name.trim();
    if name.is_empty() {
        return None;
    }
    let key = match base {
        "Go" => Purl::from_parts("golang", None, name, None)
            .ok()?
            .package()
            .to_string(),
        "crates.io" => Purl::from_parts("cargo", None, name, None)
            .ok()?
            .package()
            .to_string(),
        "PyPI" => Purl::from_parts("pypi", None, name, None).ok()?.match_key(),
        "npm" => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, n)) => Purl::from_parts("npm", Some(&format!("@{scope}")), n, None)
                .ok()?
                .package()
                .to_string(),
            None => Purl::from_parts("npm", None, name, None)
                .ok()?
                .package()
                .to_string(),
        },
        "Maven" => {
            let (g, art) = name.split_once(':')?;
            Purl::from_parts("maven", Some(g), art, None)
                .ok()?
                .package()
                .to_string()
        }
        "RubyGems" => Purl::from_parts("gem", None, name, None)
            .ok()?
            .package()
            .to_string(),
        "NuGet" => Purl::from_parts("nuget", None, name, None)
            .ok()?
            .match_key(),
        "Packagist" => {
            let (vendor, n) = name.split_once('/')?;
            Purl::from_parts("composer", Some(vendor), n, None)
                .ok()?
                .match_key()
        }
        "Alpine" => Purl::from_parts("apk", Some("alpine"), name, None)
            .ok()?
            .package()
            .to_string(),
        "Debian" => Purl::from_parts("deb", Some("debian"), name, None)
            .ok()?
            .package()
            .to_string(),
        "Ubuntu" => Purl::from_parts("deb", Some("ubuntu"), name, None)
            .ok()?
            .package()
            .to_string(),
        _ => match &a.purl {
            Some(p) => Purl::parse(p).ok()?.match_key(),
            None => return None,
        },
    };
    Some((key, release))
}

/// Does a component's `distro` qualifier name `release` (`v3.10` ↔ `3.10.2`,
/// `alpine-3.10`; `12` ↔ `debian-12`, `bookworm` is not resolved)?
fn same_release(purl: &Purl, release: &str) -> bool {
    let Some(d) = purl.qualifier("distro") else {
        return false;
    };
    let want = release.trim_start_matches('v');
    let have = d.rsplit('-').next().unwrap_or(d).trim_start_matches('v');
    have == want || have.starts_with(&format!("{want}."))
}

fn scheme_for(a: &Affected) -> Option<Scheme> {
    if a.ecosystem == "Go" && (a.name == "stdlib" || a.name == "toolchain") {
        // vulndb writes stdlib/toolchain ranges as semver ("1.21.0-rc.2");
        // component versions are converted to that form first.
        return Some(Scheme::Go);
    }
    Scheme::for_osv_ecosystem(&a.ecosystem)
}

/// The version to compare for a component under an affected entry: Go
/// toolchain tags (`go1.21rc2`) become the semver form vulndb uses.
fn comparable_version(a: &Affected, version: &str) -> String {
    if a.ecosystem == "Go"
        && (a.name == "stdlib" || a.name == "toolchain")
        && let Ok(v) = buildledger_version::go_toolchain_to_semver(version)
    {
        return v;
    }
    version.to_string()
}

/// Evaluate one affected entry against one component version.
fn evaluate(a: &Affected, version: &str, report: &mut ImportReport) -> Option<Verdict> {
    let scheme = scheme_for(a)?;
    let v = comparable_version(a, version);
    let cmp =
        |x: &str, y: &str| buildledger_version::compare(scheme, x, y).map_err(|e| e.to_string());
    match buildledger_feed::evaluate(a, &v, &cmp) {
        Ok(Verdict::Unevaluated) => {
            report.unevaluated_git += 1;
            None
        }
        Ok(v) => Some(v),
        Err(_) => {
            report.unreadable_versions += 1;
            None
        }
    }
}

fn kind_of(a: &Affected) -> &'static str {
    if a.ecosystem == "Go" && a.name == "toolchain" {
        "toolchain"
    } else {
        "vuln"
    }
}

fn to_input(adv: &Advisory) -> Result<AdvisoryInput> {
    let body = serde_json::to_string(adv).map_err(|e| RulesError::Corrupt {
        id: adv.id.clone(),
        message: e.to_string(),
    })?;
    let best = adv
        .severity
        .iter()
        .filter(|s| s.score.is_some())
        .max_by(|a, b| {
            a.score
                .partial_cmp(&b.score)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let mut keys: Vec<String> = adv
        .affected
        .iter()
        .filter_map(match_key)
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    keys.dedup();
    Ok(AdvisoryInput {
        advisory_id: adv.id.clone(),
        source: adv.source.clone(),
        modified: adv.modified.map(|t| t.timestamp_millis()),
        withdrawn: adv.withdrawn.map(|t| t.timestamp_millis()),
        content_hash: adv.content_hash.clone(),
        summary: adv.summary.clone(),
        severity: best
            .map(|s| s.vector.clone())
            .or_else(|| adv.severity.first().map(|s| s.vector.clone())),
        score: best.and_then(|s| s.score).map(|s| format!("{s:.1}")),
        published: adv.published.map(|t| t.timestamp_millis()),
        aliases: adv.aliases.clone(),
        match_keys: keys,
        body,
        go_imports: reachability::go_imports_json(adv),
    })
}

/// Findings of `adv` over `components` (id, purl, version).
fn findings_for(
    adv: &Advisory,
    key: &str,
    components: &[(i64, Purl, String)],
    report: &mut ImportReport,
) -> Vec<NewFinding> {
    let mut out: HashMap<i64, NewFinding> = HashMap::new();
    for a in &adv.affected {
        let Some((k, release)) = match_key(a) else {
            *report
                .unsupported_ecosystems
                .entry(a.ecosystem.clone())
                .or_default() += 1;
            continue;
        };
        if k != key {
            continue;
        }
        if scheme_for(a).is_none() {
            *report
                .unsupported_ecosystems
                .entry(a.ecosystem.clone())
                .or_default() += 1;
            continue;
        }
        for (id, purl, version) in components {
            if let Some(r) = &release
                && !same_release(purl, r)
            {
                continue;
            }
            if let Some(Verdict::Affected { fixed }) = evaluate(a, version, report) {
                let f = out.entry(*id).or_insert(NewFinding {
                    component_id: *id,
                    kind: kind_of(a).into(),
                    fixed: fixed.clone(),
                });
                // Keep the smallest fix across affected entries.
                if f.fixed.is_none() {
                    f.fixed = fixed;
                }
            }
        }
    }
    let mut v: Vec<NewFinding> = out.into_values().collect();
    v.sort_by_key(|f| f.component_id);
    v
}

fn parse_components(rows: Vec<buildledger_store::ComponentRow>) -> Vec<(i64, Purl, String)> {
    rows.into_iter()
        .filter_map(|r| Purl::parse(&r.purl).ok().map(|p| (r.id, p, r.version)))
        .collect()
}

/// Re-evaluate one stored advisory over every component it names.
fn evaluate_advisory(
    store: &mut Store,
    adv_row: i64,
    adv: &Advisory,
    report: &mut ImportReport,
) -> Result<FindingDelta> {
    if adv.withdrawn.is_some() {
        return Ok(store.retract_advisory(adv_row, &adv.content_hash)?);
    }
    let mut keys: Vec<String> = adv
        .affected
        .iter()
        .filter_map(match_key)
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    keys.dedup();
    let mut all = Vec::new();
    for key in &keys {
        let comps = parse_components(store.components_for_key(key)?);
        all.extend(findings_for(adv, key, &comps, report));
    }
    all.sort_by_key(|f| f.component_id);
    all.dedup_by_key(|f| f.component_id);
    Ok(store.replace_findings(adv_row, None, &all, &adv.content_hash)?)
}

/// Sources whose advisories arrive in parts (scopes) rather than whole.
fn scope_of(source: &str, a: &Affected) -> Option<String> {
    match source {
        "alpine-secdb" => buildledger_feed::alpine::scope_of(a),
        _ => None,
    }
}

fn is_partial(source: &str) -> bool {
    source == "alpine-secdb"
}

fn parse_body(row: i64, body: &str) -> Result<Advisory> {
    serde_json::from_str(body).map_err(|e| RulesError::Corrupt {
        id: row.to_string(),
        message: e.to_string(),
    })
}

/// The scopes a set of advisories covers, for callers that do not know what
/// their load read: every scope any entry names.
fn scopes_named(advisories: &[Advisory]) -> Vec<String> {
    let mut v: Vec<String> = advisories
        .iter()
        .flat_map(|a| a.affected.iter().filter_map(|e| scope_of(&a.source, e)))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Import advisories: store each, and re-evaluate only the new and changed
/// ones. Runs in transactions of 500 advisories; `progress` gets the number
/// done so far. Advisories of a source that arrives in parts are treated as
/// covering the scopes their entries name (see [`import_scoped`]).
pub fn import(
    store: &mut Store,
    advisories: &[Advisory],
    progress: &mut dyn FnMut(usize),
) -> Result<ImportReport> {
    import_scoped(store, advisories, &scopes_named(advisories), progress)
}

/// [`import`] for a load that read exactly `scopes` of the partial sources
/// (`LoadReport::scopes`). For an advisory of such a source, the stored
/// entries of other scopes are kept and merged with the new ones; a stored
/// advisory of that source the load does not list loses its entries in
/// `scopes` (the load is the whole of those scopes). An advisory whose id is
/// stored from another source is not imported and is reported in
/// `conflicts`. The advisories should carry distinct ids
/// (`buildledger_feed::load_paths` makes them so).
pub fn import_scoped(
    store: &mut Store,
    advisories: &[Advisory],
    scopes: &[String],
    progress: &mut dyn FnMut(usize),
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let covered: std::collections::BTreeSet<&str> = scopes.iter().map(String::as_str).collect();
    let ids: Vec<&str> = advisories.iter().map(|a| a.id.as_str()).collect();
    let stored = store.advisory_sources(&ids)?;

    // Stored advisories of a partial source that this load no longer lists
    // for the scopes it covers: those entries go.
    let mut pruned: Vec<Advisory> = Vec::new();
    if !covered.is_empty() {
        let incoming: std::collections::HashSet<&str> = ids.iter().copied().collect();
        let mut sources: Vec<&str> = advisories
            .iter()
            .map(|a| a.source.as_str())
            .filter(|s| is_partial(s))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        if sources.is_empty() {
            sources.push("alpine-secdb");
        }
        for source in sources {
            for (row, id, body) in store.advisories_of_source(source)? {
                if incoming.contains(id.as_str()) {
                    continue;
                }
                let mut adv = parse_body(row, &body)?;
                let before = adv.affected.len();
                adv.affected
                    .retain(|e| scope_of(source, e).is_none_or(|s| !covered.contains(s.as_str())));
                if adv.affected.len() != before {
                    buildledger_feed::alpine::canonicalize(&mut adv);
                    pruned.push(adv);
                }
            }
        }
    }

    let total = advisories.len() + pruned.len();
    let all: Vec<&Advisory> = advisories.iter().chain(pruned.iter()).collect();
    for (n, chunk) in all.chunks(500).enumerate() {
        store.begin()?;
        let r = (|| -> Result<()> {
            for &adv in chunk {
                report.advisories += 1;
                let merged;
                let adv = match stored.get(&adv.id) {
                    Some((_, source)) if source != &adv.source => {
                        report.conflicts.push(format!(
                            "{}: already stored from source {source:?}; the {:?} advisory of that id was not imported",
                            adv.id, adv.source
                        ));
                        continue;
                    }
                    Some((row, _)) if is_partial(&adv.source) => {
                        match merge_parts(store, *row, adv, &covered)? {
                            Some(m) => {
                                merged = m;
                                &merged
                            }
                            None => adv,
                        }
                    }
                    _ => adv,
                };
                let input = to_input(adv)?;
                let up = store.upsert_advisory(&input)?;
                match up {
                    Upsert::Unchanged(_) => {
                        report.unchanged += 1;
                        continue;
                    }
                    Upsert::New(_) => report.new += 1,
                    Upsert::Changed(_) => report.changed += 1,
                }
                if adv.withdrawn.is_some() {
                    report.withdrawn += 1;
                }
                let d = evaluate_advisory(store, up.id(), adv, &mut report)?;
                report.findings_added += d.added;
                report.findings_removed += d.removed;
            }
            Ok(())
        })();
        match r {
            Ok(()) => store.commit()?,
            Err(e) => {
                let _ = store.rollback();
                return Err(e);
            }
        }
        progress((n * 500 + chunk.len()).min(total));
    }
    Ok(report)
}

/// The stored advisory in `row` with its entries in `covered` scopes
/// replaced by `adv`'s; `None` when nothing stored needs keeping (then `adv`
/// is the whole advisory).
fn merge_parts(
    store: &mut Store,
    row: i64,
    adv: &Advisory,
    covered: &std::collections::BTreeSet<&str>,
) -> Result<Option<Advisory>> {
    let Some(body) = store.advisory_body(row)? else {
        return Ok(None);
    };
    let old = parse_body(row, &body)?;
    // The incoming advisory's own scopes are replaced too, whatever the
    // caller said it covers.
    let own: std::collections::BTreeSet<String> = adv
        .affected
        .iter()
        .filter_map(|e| scope_of(&adv.source, e))
        .collect();
    let kept: Vec<Affected> = old
        .affected
        .into_iter()
        .filter(|e| {
            scope_of(&adv.source, e)
                .is_none_or(|s| !covered.contains(s.as_str()) && !own.contains(&s))
        })
        .collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let mut merged = adv.clone();
    merged.affected.extend(kept);
    for a in old.aliases {
        if !merged.aliases.contains(&a) {
            merged.aliases.push(a);
        }
    }
    merged.aliases.sort();
    buildledger_feed::alpine::canonicalize(&mut merged);
    Ok(Some(merged))
}

/// Evaluate the components the open transaction added against the stored
/// advisories naming them. Call after `Store::insert_record`, before commit.
pub fn match_new_components(store: &mut Store) -> Result<FindingDelta> {
    match_new_components_from(store, 0)
}

/// [`match_new_components`] for the components the open transaction added
/// after `mark` ([`Store::new_components_mark`]).
pub fn match_new_components_from(store: &mut Store, mark: usize) -> Result<FindingDelta> {
    let to = store.new_components_mark();
    match_new_components_between(store, mark, to)
}

/// [`match_new_components`] for the components the open transaction added
/// between two marks (one record's, when several were inserted at once).
pub fn match_new_components_between(
    store: &mut Store,
    from: usize,
    to: usize,
) -> Result<FindingDelta> {
    let mut delta = FindingDelta::default();
    let mut report = ImportReport::default();
    let new = store.new_components_in_tx_between(from, to)?;
    let mut by_key: HashMap<String, Vec<(i64, Purl, String)>> = HashMap::new();
    for (row, key) in new {
        if let Ok(p) = Purl::parse(&row.purl) {
            by_key
                .entry(key)
                .or_default()
                .push((row.id, p, row.version));
        }
    }
    for (key, comps) in by_key {
        let ids: Vec<i64> = comps.iter().map(|c| c.0).collect();
        for (adv_row, body, _) in store.advisories_for_key(&key)? {
            let adv: Advisory = serde_json::from_str(&body).map_err(|e| RulesError::Corrupt {
                id: adv_row.to_string(),
                message: e.to_string(),
            })?;
            let f = findings_for(&adv, &key, &comps, &mut report);
            let d = store.replace_findings(adv_row, Some(&ids), &f, &adv.content_hash)?;
            delta.added += d.added;
            delta.removed += d.removed;
        }
    }
    Ok(delta)
}

/// Components a record implies without listing them: a Go toolchain
/// `go@V` means the binary links the Go standard library at V
/// (`pkg:golang/stdlib@V`, runtime) and was built by the Go toolchain V
/// (`pkg:golang/toolchain@V`, build). They are marked by their location.
pub fn with_implied_components(rec: &BuildRecord) -> BuildRecord {
    let mut out = rec.clone();
    for t in rec.toolchains.iter().filter(|t| t.name == "go") {
        for (name, scope) in [
            ("stdlib", buildledger_model::Scope::Runtime),
            ("toolchain", buildledger_model::Scope::Build),
        ] {
            let Ok(purl) = Purl::from_parts("golang", None, name, Some(&t.version)) else {
                continue;
            };
            if out
                .components
                .iter()
                .any(|c| c.purl.package() == purl.package())
            {
                continue;
            }
            out.components.push(buildledger_model::Component {
                purl,
                hashes: Default::default(),
                scope,
                location: Some(format!("implied by toolchain {t}")),
            });
        }
    }
    out
}

/// Store a build record (with its implied components) and evaluate what it
/// added, in one transaction. The store seals the record in the audit log in
/// that same transaction.
pub fn record(store: &mut Store, rec: &BuildRecord) -> Result<(RecordId, FindingDelta)> {
    record_with(store, rec, &mut |_, _| Ok(()))
}

/// [`record`], then `also` (e.g. the image's layer chain) in the same
/// transaction: both are stored, or neither.
pub fn record_with(
    store: &mut Store,
    rec: &BuildRecord,
    also: &mut dyn FnMut(&mut Store, RecordId) -> Result<(), StoreError>,
) -> Result<(RecordId, FindingDelta)> {
    rec.validate().map_err(StoreError::from)?;
    let rec = &with_implied_components(rec);
    store.begin()?;
    let r = (|| -> Result<(RecordId, FindingDelta)> {
        let id = store.insert_record(rec)?;
        let d = match_new_components(store)?;
        also(store, id)?;
        Ok((id, d))
    })();
    match r {
        Ok(v) => {
            store.commit()?;
            Ok(v)
        }
        Err(e) => {
            let _ = store.rollback();
            Err(e)
        }
    }
}

/// [`record`] inside the caller's open transaction (several records in one
/// commit): store the record with its implied components, then match only
/// the components it added. The caller commits or rolls back.
pub fn record_in_tx(store: &mut Store, rec: &BuildRecord) -> Result<(RecordId, FindingDelta)> {
    rec.validate().map_err(StoreError::from)?;
    let rec = &with_implied_components(rec);
    let mark = store.new_components_mark();
    let id = store.insert_record(rec)?;
    let d = match_new_components_from(store, mark)?;
    Ok((id, d))
}

/// [`record_in_tx`] for several records at once: one multi-row statement per
/// table for all of them (and one read-back for their seals), then each
/// record's new components matched on their own, so each gets the findings
/// it added, as if it had been recorded alone.
pub fn record_many_in_tx(
    store: &mut Store,
    recs: &[BuildRecord],
) -> Result<Vec<(RecordId, FindingDelta)>> {
    let mut implied = Vec::with_capacity(recs.len());
    for r in recs {
        r.validate().map_err(StoreError::from)?;
        implied.push(with_implied_components(r));
    }
    let (ids, marks) = store.insert_records_marked(&implied)?;
    let mut out = Vec::with_capacity(ids.len());
    for (k, id) in ids.into_iter().enumerate() {
        let d = match_new_components_between(store, marks[k], marks[k + 1])?;
        out.push((id, d));
    }
    Ok(out)
}

/// Re-evaluate every stored advisory over every component (after a change
/// in matching logic, or to check the incremental state).
pub fn rematch_all(store: &mut Store, progress: &mut dyn FnMut(usize)) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let ids: Vec<i64> = store.advisory_row_ids()?;
    for (n, chunk) in ids.chunks(500).enumerate() {
        store.begin()?;
        let r = (|| -> Result<()> {
            for id in chunk {
                let Some(body) = store.advisory_body(*id)? else {
                    continue;
                };
                let adv: Advisory =
                    serde_json::from_str(&body).map_err(|e| RulesError::Corrupt {
                        id: id.to_string(),
                        message: e.to_string(),
                    })?;
                report.advisories += 1;
                let d = evaluate_advisory(store, *id, &adv, &mut report)?;
                report.findings_added += d.added;
                report.findings_removed += d.removed;
            }
            Ok(())
        })();
        match r {
            Ok(()) => store.commit()?,
            Err(e) => {
                let _ = store.rollback();
                return Err(e);
            }
        }
        progress(n * 500 + chunk.len());
    }
    Ok(report)
}
