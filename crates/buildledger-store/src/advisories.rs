//! Advisories, findings and the finding-change log.
//!
//! The store keeps what the rules engine decides; it does not evaluate
//! versions itself. Findings are per distinct component (purl), never per
//! image: an advisory that hits `golang.org/x/net@v0.1.0` is one row however
//! many images contain that module, and images are reached through the
//! record→component links at query time.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::{QueryCursor, Result, Store, StoreError, Val, ms_to_time, now_ms, placeholders};

/// One advisory's open findings and its net finding changes per day
/// ([`Store::finding_counts_by_advisory`]).
#[derive(Debug, Clone, Default)]
pub struct AdvisoryCounts {
    /// Primary id.
    pub advisory: String,
    /// Severity label or vector (its own, else borrowed from an alias).
    pub severity: Option<String>,
    /// Numeric score as text (its own, else borrowed from an alias).
    pub score: Option<String>,
    /// Findings open now.
    pub open: u64,
    /// (Unix day, findings added minus removed that day), oldest first;
    /// days without a net change are left out.
    pub daily: Vec<(i64, i64)>,
}

/// An advisory as the store keeps it.
#[derive(Debug, Clone)]
pub struct AdvisoryInput {
    /// Primary id (`GO-2022-0969`, `RUSTSEC-2021-0001`, `ALPINE-CVE-2019-14697`).
    pub advisory_id: String,
    /// Feed it came from (`osv`, `alpine-secdb`).
    pub source: String,
    /// Last modification, Unix ms.
    pub modified: Option<i64>,
    /// Withdrawal time, Unix ms.
    pub withdrawn: Option<i64>,
    /// Hash of the advisory's content: a change means a new revision.
    pub content_hash: String,
    /// One-line summary.
    pub summary: Option<String>,
    /// Severity label or vector.
    pub severity: Option<String>,
    /// Numeric score as text (`7.5`).
    pub score: Option<String>,
    /// Publication time, Unix ms.
    pub published: Option<i64>,
    /// Other ids (CVE, GHSA, …).
    pub aliases: Vec<String>,
    /// Package keys it names (see `Purl::match_key`).
    pub match_keys: Vec<String>,
    /// The advisory as JSON.
    pub body: String,
    /// The Go packages and symbols it names, as JSON (the rules engine's
    /// shape; None for non-Go advisories).
    pub go_imports: Option<String>,
}

/// What storing an advisory did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// New advisory, with its row id.
    New(i64),
    /// Known advisory whose content changed.
    Changed(i64),
    /// Known advisory, same content: nothing to re-evaluate.
    Unchanged(i64),
}

impl Upsert {
    /// The advisory's row id.
    pub fn id(self) -> i64 {
        match self {
            Upsert::New(i) | Upsert::Changed(i) | Upsert::Unchanged(i) => i,
        }
    }
}

/// A component that an advisory may concern.
#[derive(Debug, Clone)]
pub struct ComponentRow {
    /// Row id.
    pub id: i64,
    /// Full purl.
    pub purl: String,
    /// Version.
    pub version: String,
}

/// A finding to store: `component` is affected by `advisory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    /// Component row id.
    pub component_id: i64,
    /// `vuln` (the artifact contains it) or `toolchain` (it concerns how it was built).
    pub kind: String,
    /// Smallest fixed version, when one exists.
    pub fixed: Option<String>,
}

/// How a set of findings changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FindingDelta {
    /// Findings added.
    pub added: u64,
    /// Findings removed.
    pub removed: u64,
}

/// One finding reported for an image.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema, serde::Deserialize)]
pub struct ImageFinding {
    /// Image digest.
    pub digest: String,
    /// Advisory id.
    pub advisory: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// `vuln` or `toolchain`.
    pub kind: String,
    /// Component purl.
    pub purl: String,
    /// Installed version.
    pub installed: String,
    /// Fixed version, if any.
    pub fixed: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Score.
    pub score: Option<String>,
    /// The advisory that `severity` and `score` come from when this
    /// advisory gives neither and another advisory with a shared alias
    /// (a CVE or GHSA record of the same vulnerability) does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_from: Option<String>,
    /// When the advisory was published, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// Summary.
    pub summary: Option<String>,
    /// Trust state of the best record linking the image to the component.
    pub trust: String,
    /// Origin of that record.
    pub origin: String,
    /// Waivers that apply to this finding (set by the application layer; a
    /// waived finding is shown with its waiver, never hidden).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<crate::Waiver>,
    /// The VEX statement in force for this finding (set by the application
    /// layer: the newest from a trusted author, else the newest unsigned
    /// one); a finding with a VEX statement is shown with it, never hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<crate::VexStatement>,
    /// Whether the vulnerable Go symbols are in the image's binaries (set
    /// by the rules engine for Go module and standard-library findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachability: Option<crate::Reachability>,
}

/// A finding as reports need it: its component, its advisory's facts.
/// `findings_into` reads the columns in this order.
const FINDING_ROWS: &str =
    "SELECT f.component_id, a.id, a.advisory_id, f.kind, c.purl, c.version, f.fixed,
        a.severity, a.score, a.summary, a.published
 FROM findings f
 JOIN advisories a ON a.id = f.advisory
 JOIN components c ON c.id = f.component_id";

/// A finding as read for reports (before it is tied to images).
#[derive(Debug)]
pub(crate) struct FindingRow {
    adv: i64,
    advisory: String,
    kind: String,
    purl: String,
    installed: String,
    fixed: Option<String>,
    severity: Option<String>,
    score: Option<String>,
    summary: Option<String>,
    published: Option<i64>,
}

/// What reports need of a record.
#[derive(Debug)]
pub(crate) struct RecordFacts {
    pub(crate) trust: String,
    pub(crate) origin: String,
    pub(crate) digests: Vec<String>,
}

/// One change in the findings log.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema, serde::Deserialize)]
pub struct FindingChange {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `added` or `removed`.
    pub change: String,
    /// Advisory id.
    pub advisory: String,
    /// Component purl.
    pub purl: String,
    /// `vuln` or `toolchain`.
    pub kind: String,
    /// Fixed version.
    pub fixed: Option<String>,
    /// Advisory revision (content hash) that caused it.
    pub revision: String,
    /// Image digests containing the component now: the first 100 in ledger
    /// order (`DIGESTS_PER_CHANGE`), sorted.
    pub digests: Vec<String>,
    /// More images than listed hold the component (`query --package PURL`
    /// lists them all, page by page).
    #[serde(default)]
    pub more_digests: bool,
}

/// Image digests listed per finding change, at most: a change to a
/// component in half the ledger would otherwise carry half the ledger, and
/// a page of changes would cost what the ledger's size costs.
pub const DIGESTS_PER_CHANGE: usize = 100;

/// Where a page of finding changes resumes: after the event `event` at
/// `at` (ms since the epoch). Written `AT.EVENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangesCursor {
    /// Time of the last change shown.
    pub at: i64,
    /// Its event id.
    pub event: i64,
}

impl std::fmt::Display for ChangesCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at, self.event)
    }
}

impl std::str::FromStr for ChangesCursor {
    type Err = buildledger_model::ModelError;
    fn from_str(s: &str) -> std::result::Result<ChangesCursor, Self::Err> {
        let bad = || {
            buildledger_model::ModelError::new(
                "cursor",
                format!("{s:?} is not a changes cursor (AT.EVENT, as a previous page gave it)"),
            )
        };
        let (a, e) = s.split_once('.').ok_or_else(bad)?;
        if a.starts_with('+') || e.starts_with('+') {
            return Err(bad());
        }
        let at: i64 = a.parse().map_err(|_| bad())?;
        let event: i64 = e.parse().map_err(|_| bad())?;
        if event < 1 {
            return Err(bad());
        }
        Ok(ChangesCursor { at, event })
    }
}

/// One page of the images an advisory affects and where the next one starts.
#[derive(Debug, Clone)]
pub struct AffectedPage {
    /// The findings of the page's images, image by image.
    pub findings: Vec<ImageFinding>,
    /// Where the next page starts; `None` on the last page (and always
    /// without a `limit`).
    pub next: Option<QueryCursor>,
}

/// One page of finding changes and where the next one starts.
#[derive(Debug, Clone)]
pub struct ChangesPage {
    /// At most `limit` changes, oldest first.
    pub changes: Vec<FindingChange>,
    /// Where the next page starts; `None` on the last page (and always
    /// without a `limit`).
    pub next: Option<ChangesCursor>,
}

impl Store {
    /// Insert or update an advisory (inside a transaction). Its aliases and
    /// package keys are replaced when the content changed.
    pub fn upsert_advisory(&mut self, a: &AdvisoryInput) -> Result<Upsert> {
        let rows = self.db.query(
            "SELECT id, content_hash FROM advisories WHERE advisory_id = ?",
            &[a.advisory_id.as_str().into()],
        )?;
        let now = now_ms();
        let params = |s: &AdvisoryInput| -> Vec<Val> {
            vec![
                s.source.as_str().into(),
                s.modified.into(),
                s.withdrawn.into(),
                s.content_hash.as_str().into(),
                s.summary.clone().into(),
                s.severity.clone().into(),
                s.score.clone().into(),
                Val::Int(now),
                s.body.as_str().into(),
                s.published.into(),
                s.go_imports.clone().into(),
            ]
        };
        let (id, outcome) = match rows.first() {
            Some(r) if r[1].text() == Some(a.content_hash.as_str()) => {
                return Ok(Upsert::Unchanged(r[0].int().unwrap_or_default()));
            }

            Some(r) => {
                self.tx_advisories_changed |= self.in_tx;
                let id = r[0].int().unwrap_or_default();
                let mut p = params(a);
                p.push(Val::Int(id));
                self.db.exec(
                    "UPDATE advisories SET source = ?, modified = ?, withdrawn = ?, content_hash = ?, summary = ?,
                     severity = ?, score = ?, imported_at = ?, body = ?, published = ?, go_imports = ? WHERE id = ?",
                    &p,
                )?;
                self.db.exec(
                    "DELETE FROM advisory_aliases WHERE advisory = ?",
                    &[Val::Int(id)],
                )?;
                self.db.exec(
                    "DELETE FROM advisory_packages WHERE advisory = ?",
                    &[Val::Int(id)],
                )?;
                (id, Upsert::Changed(id))
            }
            None => {
                self.tx_advisories_changed |= self.in_tx;
                let mut p = vec![Val::from(a.advisory_id.as_str())];
                p.extend(params(a));
                let id = self
                    .db
                    .query(
                        "INSERT INTO advisories (advisory_id, source, modified, withdrawn, content_hash, summary,
                         severity, score, imported_at, body, published, go_imports)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        &p,
                    )?
                    .first()
                    .and_then(|r| r[0].int())
                    .ok_or_else(|| StoreError::Corrupt("advisory insert gave no id".into()))?;
                (id, Upsert::New(id))
            }
        };
        let mut aliases: Vec<&str> = a.aliases.iter().map(String::as_str).collect();
        aliases.push(&a.advisory_id);
        aliases.sort_unstable();
        aliases.dedup();
        let rows: Vec<Val> = aliases
            .iter()
            .flat_map(|al| [Val::from(*al), Val::Int(id)])
            .collect();
        self.insert_rows("advisory_aliases (alias, advisory)", 2, rows, "")?;
        let mut keys: Vec<&str> = a.match_keys.iter().map(String::as_str).collect();
        keys.sort_unstable();
        keys.dedup();
        let rows: Vec<Val> = keys
            .iter()
            .flat_map(|k| [Val::from(*k), Val::Int(id)])
            .collect();
        self.insert_rows("advisory_packages (match_key, advisory)", 2, rows, "")?;
        // The advisories' generation moves when this transaction commits
        // (at once when there is none).
        if !self.in_tx {
            self.db.exec(crate::BUMP_ADVISORIES, &[])?;
        }
        Ok(outcome)
    }

    /// Row id and source of each stored advisory among `ids` (by advisory id).
    pub fn advisory_sources(&mut self, ids: &[&str]) -> Result<HashMap<String, (i64, String)>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(400) {
            let p: Vec<Val> = chunk.iter().map(|s| Val::from(*s)).collect();
            for r in self.db.query(
                &format!(
                    "SELECT advisory_id, id, source FROM advisories WHERE advisory_id IN ({})",
                    placeholders(p.len())
                ),
                &p,
            )? {
                out.insert(
                    r[0].text().unwrap_or("").to_string(),
                    (
                        r[1].int().unwrap_or_default(),
                        r[2].text().unwrap_or("").to_string(),
                    ),
                );
            }
        }
        Ok(out)
    }

    /// Row ids of every stored advisory, in row order.
    pub fn advisory_row_ids(&mut self) -> Result<Vec<i64>> {
        Ok(self
            .db
            .query("SELECT id FROM advisories ORDER BY id", &[])?
            .iter()
            .filter_map(|r| r[0].int())
            .collect())
    }

    /// The JSON body of the advisory in row `id`.
    pub fn advisory_body(&mut self, id: i64) -> Result<Option<String>> {
        Ok(self
            .db
            .query("SELECT body FROM advisories WHERE id = ?", &[Val::Int(id)])?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .and_then(Val::into_text))
    }

    /// Every advisory stored from `source`: (row id, advisory id, JSON body), in row order.
    pub fn advisories_of_source(&mut self, source: &str) -> Result<Vec<(i64, String, String)>> {
        Ok(self
            .db
            .query(
                "SELECT id, advisory_id, body FROM advisories WHERE source = ? ORDER BY id",
                &[source.into()],
            )?
            .into_iter()
            .map(|r| {
                (
                    r[0].int().unwrap_or_default(),
                    r[1].text().unwrap_or("").to_string(),
                    r[2].text().unwrap_or("").to_string(),
                )
            })
            .collect())
    }

    /// Components whose match key is `key`.
    pub fn components_for_key(&mut self, key: &str) -> Result<Vec<ComponentRow>> {
        Ok(self
            .db
            .query(
                "SELECT id, purl, version FROM components WHERE match_key = ?",
                &[key.into()],
            )?
            .into_iter()
            .map(|r| ComponentRow {
                id: r[0].int().unwrap_or_default(),
                purl: r[1].text().unwrap_or("").to_string(),
                version: r[2].text().unwrap_or("").to_string(),
            })
            .collect())
    }

    /// Every component (for a full re-match), in id order, `batch` at a time.
    pub fn components_page(
        &mut self,
        after_id: i64,
        batch: usize,
    ) -> Result<Vec<(ComponentRow, String)>> {
        Ok(self
            .db
            .query(
                &format!("SELECT id, purl, version, match_key FROM components WHERE id > ? ORDER BY id LIMIT {batch}"),
                &[Val::Int(after_id)],
            )?
            .into_iter()
            .map(|r| {
                (
                    ComponentRow {
                        id: r[0].int().unwrap_or_default(),
                        purl: r[1].text().unwrap_or("").to_string(),
                        version: r[2].text().unwrap_or("").to_string(),
                    },
                    r[3].text().unwrap_or("").to_string(),
                )
            })
            .collect())
    }

    /// Advisories (row id, JSON body) naming package key `key`, not withdrawn.
    pub fn advisories_for_key(&mut self, key: &str) -> Result<Vec<(i64, String, String)>> {
        Ok(self
            .db
            .query(
                "SELECT a.id, a.body, a.content_hash FROM advisory_packages p JOIN advisories a ON a.id = p.advisory
                 WHERE p.match_key = ? AND a.withdrawn IS NULL ORDER BY a.id",
                &[key.into()],
            )?
            .into_iter()
            .map(|r| {
                (
                    r[0].int().unwrap_or_default(),
                    r[1].text().unwrap_or("").to_string(),
                    r[2].text().unwrap_or("").to_string(),
                )
            })
            .collect())
    }

    /// Components inserted by the open transaction so far (id, purl, match key):
    /// the only ones a new build can add findings for.
    pub fn new_components_in_tx(&mut self) -> Result<Vec<(ComponentRow, String)>> {
        self.new_components_in_tx_from(0)
    }

    /// How many components the open transaction has inserted so far: a mark
    /// for [`Store::new_components_in_tx_from`].
    pub fn new_components_mark(&self) -> usize {
        self.tx_new_components.len()
    }

    /// Components inserted by the open transaction after `mark` (several
    /// records in one transaction each match only what they added).
    pub fn new_components_in_tx_from(
        &mut self,
        mark: usize,
    ) -> Result<Vec<(ComponentRow, String)>> {
        self.new_components_in_tx_between(mark, self.tx_new_components.len())
    }

    /// Components inserted by the open transaction between two marks.
    pub fn new_components_in_tx_between(
        &mut self,
        from: usize,
        to: usize,
    ) -> Result<Vec<(ComponentRow, String)>> {
        let to = to.min(self.tx_new_components.len());
        let purls = self
            .tx_new_components
            .get(from.min(to)..to)
            .unwrap_or_default()
            .to_vec();
        let mut out = Vec::new();
        for chunk in purls.chunks(400) {
            let p: Vec<Val> = chunk.iter().map(|s| Val::from(s.as_str())).collect();
            for r in self.db.query(
                &format!(
                    "SELECT id, purl, version, match_key FROM components WHERE purl IN ({})",
                    placeholders(p.len())
                ),
                &p,
            )? {
                out.push((
                    ComponentRow {
                        id: r[0].int().unwrap_or_default(),
                        purl: r[1].text().unwrap_or("").to_string(),
                        version: r[2].text().unwrap_or("").to_string(),
                    },
                    r[3].text().unwrap_or("").to_string(),
                ));
            }
        }
        Ok(out)
    }

    /// Replace the findings of advisory `adv` for the components in `scope`
    /// (None: all components) with `findings`, logging every change.
    pub fn replace_findings(
        &mut self,
        adv: i64,
        scope: Option<&[i64]>,
        findings: &[NewFinding],
        revision: &str,
    ) -> Result<FindingDelta> {
        // What a preload read is out of date from here on.
        self.findings_snapshot = None;
        let mut current: HashMap<i64, (String, Option<String>)> = HashMap::new();
        let rows = match scope {
            None => self.db.query(
                "SELECT component_id, kind, fixed FROM findings WHERE advisory = ?",
                &[Val::Int(adv)],
            )?,
            Some(ids) => {
                let mut all = Vec::new();
                for chunk in ids.chunks(400) {
                    let mut p = vec![Val::Int(adv)];
                    p.extend(chunk.iter().map(|i| Val::Int(*i)));
                    all.extend(self.db.query(
                        &format!(
                            "SELECT component_id, kind, fixed FROM findings WHERE advisory = ? AND component_id IN ({})",
                            placeholders(chunk.len())
                        ),
                        &p,
                    )?);
                }
                all
            }
        };
        for r in rows {
            current.insert(
                r[0].int().unwrap_or_default(),
                (
                    r[1].text().unwrap_or("").to_string(),
                    r[2].clone().into_text(),
                ),
            );
        }
        let now = now_ms();
        let mut delta = FindingDelta::default();
        let mut wanted: HashMap<i64, &NewFinding> = HashMap::new();
        for f in findings {
            wanted.insert(f.component_id, f);
        }
        let mut events: Vec<Val> = Vec::new();
        for (cid, (kind, fixed)) in &current {
            let keep = wanted
                .get(cid)
                .is_some_and(|w| &w.kind == kind && &w.fixed == fixed);
            if !keep {
                self.db.exec(
                    "DELETE FROM findings WHERE component_id = ? AND advisory = ?",
                    &[Val::Int(*cid), Val::Int(adv)],
                )?;
                if !wanted.contains_key(cid) {
                    delta.removed += 1;
                    events.extend([
                        Val::Int(now),
                        "removed".into(),
                        Val::Int(*cid),
                        Val::Int(adv),
                        kind.as_str().into(),
                        fixed.clone().into(),
                        revision.into(),
                    ]);
                }
            }
        }
        let mut rows: Vec<Val> = Vec::new();
        for f in findings {
            let same = current
                .get(&f.component_id)
                .is_some_and(|(k, fx)| k == &f.kind && fx == &f.fixed);
            if same {
                continue;
            }
            rows.extend([
                Val::Int(f.component_id),
                Val::Int(adv),
                f.kind.as_str().into(),
                f.fixed.clone().into(),
                revision.into(),
                Val::Int(now),
            ]);
            if !current.contains_key(&f.component_id) {
                delta.added += 1;
            }
            events.extend([
                Val::Int(now),
                "added".into(),
                Val::Int(f.component_id),
                Val::Int(adv),
                f.kind.as_str().into(),
                f.fixed.clone().into(),
                revision.into(),
            ]);
        }
        // Any change is logged: the findings' generation moves with it.
        let changed = !events.is_empty();
        self.insert_rows(
            "findings (component_id, advisory, kind, fixed, revision, found_at)",
            6,
            rows,
            "",
        )?;
        self.insert_rows(
            "finding_events (at, change, component_id, advisory, kind, fixed, revision)",
            7,
            events,
            "",
        )?;
        if changed {
            if self.in_tx {
                self.tx_findings_changed = true;
            } else {
                self.db.exec(crate::BUMP_FINDINGS, &[])?;
            }
        }
        Ok(delta)
    }

    /// Remove every finding of a withdrawn advisory and mark it withdrawn.
    pub fn retract_advisory(&mut self, adv: i64, revision: &str) -> Result<FindingDelta> {
        self.replace_findings(adv, None, &[], revision)
    }

    /// Number of advisories and findings.
    pub fn advisory_stats(&mut self) -> Result<(u64, u64)> {
        let a = self.db.query("SELECT COUNT(*) FROM advisories", &[])?;
        let f = self.db.query("SELECT COUNT(*) FROM findings", &[])?;
        Ok((
            a.first().and_then(|r| r[0].int()).unwrap_or(0) as u64,
            f.first().and_then(|r| r[0].int()).unwrap_or(0) as u64,
        ))
    }

    /// Inside a transaction about to read the findings of `images` images
    /// (a posture refresh): read the whole findings table once, when it
    /// holds at most `images` × 64 rows (fewer than the components those
    /// reads would look up one by one: an image links a hundred or more)
    /// and at most `max_rows`. Until the transaction ends (or writes a
    /// finding), [`Store::vulns_many`] takes findings from what was read.
    /// Returns whether it read them.
    pub fn preload_findings(&mut self, images: usize, max_rows: usize) -> Result<bool> {
        if !self.in_tx {
            return Ok(false);
        }
        let rows = self
            .db
            .query("SELECT COUNT(*) FROM findings", &[])?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0)
            .max(0) as usize;
        if rows > max_rows || rows > images.saturating_mul(64) {
            return Ok(false);
        }
        let mut all = HashMap::new();
        self.findings_into(FINDING_ROWS, &[], &mut all)?;
        self.findings_snapshot = Some(all);
        Ok(true)
    }

    /// The advisories' and the findings' generations (schema v16).
    fn generations(&mut self) -> Result<(i64, i64)> {
        let rows = self.db.query(
            "SELECT advisories, findings FROM ledger_generation WHERE id = 1",
            &[],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("ledger_generation has no row".into()))?;
        Ok((
            row[0].int().unwrap_or_default(),
            row[1].int().unwrap_or_default(),
        ))
    }

    /// Whether what this store kept about advisories and findings may be
    /// used, after dropping whatever an advisory or finding written since
    /// (by any connection: one read of the generations) made stale. Never
    /// inside a transaction that wrote advisories or findings itself: those
    /// writes move the generations only when it commits.
    fn check_caches(&mut self) -> Result<bool> {
        if self.tx_advisories_changed || self.tx_findings_changed {
            return Ok(false);
        }
        let (advisories, findings) = self.generations()?;
        let a = &mut self.advisory_cache;
        if a.generation != Some(advisories) || a.facts.len() > crate::AdvisoryCache::MAX_ADVISORIES
        {
            a.facts.clear();
            a.generation = Some(advisories);
        }
        // A finding row carries its advisory's severity and summary: both
        // generations.
        let f = &mut self.findings_cache;
        if f.generation != Some((advisories, findings))
            || f.by_component.len() > crate::FindingsCache::MAX_COMPONENTS
        {
            f.by_component.clear();
            f.generation = Some((advisories, findings));
        }
        Ok(true)
    }

    /// Reads rows of [`FINDING_ROWS`] into `out`, by component.
    fn findings_into(
        &mut self,
        sql: &str,
        params: &[Val],
        out: &mut HashMap<i64, Vec<FindingRow>>,
    ) -> Result<()> {
        self.db.each(sql, params, &mut |r| {
            let mut it = r.iter().map(|v| v.to_val());
            let mut next = || it.next().unwrap_or(Val::Null);
            let cid = next().int().unwrap_or_default();
            out.entry(cid).or_default().push(FindingRow {
                adv: next().int().unwrap_or_default(),
                advisory: next().into_text().unwrap_or_default(),
                kind: next().into_text().unwrap_or_default(),
                purl: next().into_text().unwrap_or_default(),
                installed: next().into_text().unwrap_or_default(),
                fixed: next().into_text(),
                severity: next().into_text(),
                score: next().into_text(),
                summary: next().into_text(),
                published: next().int(),
            });
            Ok(())
        })
    }

    /// Findings whose `column` (`f.component_id` or `f.advisory`) is in
    /// `ids`, grouped by component id.
    fn findings_where(
        &mut self,
        column: &str,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<FindingRow>>> {
        let mut out: HashMap<i64, Vec<FindingRow>> = HashMap::new();
        for chunk in ids.chunks(crate::postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            let sql = format!(
                "{FINDING_ROWS} WHERE {column} IN ({})",
                placeholders(chunk.len())
            );
            self.findings_into(&sql, &params, &mut out)?;
        }
        Ok(out)
    }

    /// Trust, origin and subject digests of each record in `ids`.
    pub(crate) fn record_facts(&mut self, ids: &[i64]) -> Result<HashMap<i64, RecordFacts>> {
        let mut out: HashMap<i64, RecordFacts> = HashMap::new();
        for chunk in ids.chunks(crate::postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            let sql = format!(
                "SELECT id, trust_state, origin, subjects FROM records WHERE id IN ({})",
                placeholders(chunk.len())
            );
            for r in self.db.query(&sql, &params)? {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                let rid = next().int().unwrap_or_default();
                let trust = next().into_text().unwrap_or_default();
                let origin = next().into_text().unwrap_or_default();
                let digests = next()
                    .into_text()
                    .unwrap_or_default()
                    .split(' ')
                    .filter(|d| !d.is_empty())
                    .map(String::from)
                    .collect();
                out.insert(
                    rid,
                    RecordFacts {
                        trust,
                        origin,
                        digests,
                    },
                );
            }
        }
        for f in out.values_mut() {
            f.digests.sort();
            f.digests.dedup();
        }
        Ok(out)
    }

    /// One finding per (digest, advisory, component), from the findings of
    /// each component and the records that link them; the best-trusted
    /// record speaks for the pair. `only` keeps those digests.
    fn assemble_findings(
        &mut self,
        findings: &HashMap<i64, Vec<FindingRow>>,
        links: &[(i64, i64)],
        only: Option<&HashSet<&str>>,
        caches: bool,
    ) -> Result<Vec<ImageFinding>> {
        let mut rids: Vec<i64> = links
            .iter()
            .filter(|(_, c)| findings.get(c).is_some_and(|f| !f.is_empty()))
            .map(|(r, _)| *r)
            .collect();
        rids.dedup();
        let facts = self.record_facts(&rids)?;
        let rank = |t: &str| match t {
            "verified" => 0,
            "observed" => 1,
            _ => 2,
        };
        // (digest, advisory, purl) → (rank, record id, finding, facts)
        type Key<'a> = (&'a str, &'a str, &'a str);
        let mut best: std::collections::BTreeMap<Key<'_>, (u8, i64, &FindingRow, &RecordFacts)> =
            std::collections::BTreeMap::new();
        for (rid, cid) in links {
            let (Some(rows), Some(f)) = (findings.get(cid), facts.get(rid)) else {
                continue;
            };
            for d in &f.digests {
                if only.is_some_and(|o| !o.contains(d.as_str())) {
                    continue;
                }
                for row in rows {
                    let cand = (rank(&f.trust), *rid, row, f);
                    best.entry((d.as_str(), row.advisory.as_str(), row.purl.as_str()))
                        .and_modify(|e| {
                            if (cand.0, cand.1) < (e.0, e.1) {
                                *e = cand;
                            }
                        })
                        .or_insert(cand);
                }
            }
        }
        let advs: Vec<i64> = {
            let mut v: Vec<i64> = best.values().map(|(_, _, row, _)| row.adv).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (aliases, borrowed) = self.aliases_and_borrowed_severity(&advs, caches)?;
        let mut out = Vec::with_capacity(best.len());
        for ((digest, _, _), (_, _, row, f)) in best {
            // Borrow only when this advisory gives no severity at all.
            let from = if row.severity.is_none() && row.score.is_none() {
                borrowed.get(&row.adv)
            } else {
                None
            };
            out.push(ImageFinding {
                digest: digest.to_string(),
                advisory: row.advisory.clone(),
                aliases: aliases
                    .get(&row.adv)
                    .map(|v| v.iter().filter(|a| **a != row.advisory).cloned().collect())
                    .unwrap_or_default(),
                kind: row.kind.clone(),
                purl: row.purl.clone(),
                installed: row.installed.clone(),
                fixed: row.fixed.clone(),
                severity: row
                    .severity
                    .clone()
                    .or_else(|| from.and_then(|b| b.1.clone())),
                score: row.score.clone().or_else(|| from.and_then(|b| b.2.clone())),
                severity_from: from.map(|b| b.0.clone()),
                published: row
                    .published
                    .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis),
                summary: row.summary.clone(),
                trust: f.trust.clone(),
                origin: f.origin.clone(),
                waivers: Vec::new(),
                vex: None,
                reachability: None,
            });
        }
        Ok(out)
    }

    /// The aliases of each advisory row in `advs` (sorted), and for each
    /// the (advisory id, severity, score) of another stored advisory that
    /// shares an alias and gives a score (the highest score wins).
    ///
    /// Kept between reads while the advisories' generation (schema v16)
    /// stays the same: every policy decision asks for the aliases of a
    /// hundred advisories, and they change only with a feed import.
    #[allow(clippy::type_complexity)]
    fn aliases_and_borrowed_severity(
        &mut self,
        advs: &[i64],
        caches: bool,
    ) -> Result<(
        HashMap<i64, Vec<String>>,
        HashMap<i64, (String, Option<String>, Option<String>)>,
    )> {
        // Not kept (see `check_caches`): read them, keep nothing.
        if !caches {
            return self.aliases_and_borrowed_severity_uncached(advs);
        }
        let cache = &mut self.advisory_cache;
        let missing: Vec<i64> = advs
            .iter()
            .copied()
            .filter(|a| !cache.facts.contains_key(a))
            .collect();
        if !missing.is_empty() {
            let (mut aliases, mut borrowed) =
                self.aliases_and_borrowed_severity_uncached(&missing)?;
            for a in missing {
                self.advisory_cache.facts.insert(
                    a,
                    (aliases.remove(&a).unwrap_or_default(), borrowed.remove(&a)),
                );
            }
        }
        let mut aliases = HashMap::with_capacity(advs.len());
        let mut borrowed = HashMap::new();
        for a in advs {
            if let Some((al, b)) = self.advisory_cache.facts.get(a) {
                if !al.is_empty() {
                    aliases.insert(*a, al.clone());
                }
                if let Some(b) = b {
                    borrowed.insert(*a, b.clone());
                }
            }
        }
        Ok((aliases, borrowed))
    }

    #[allow(clippy::type_complexity)]
    fn aliases_and_borrowed_severity_uncached(
        &mut self,
        advs: &[i64],
    ) -> Result<(
        HashMap<i64, Vec<String>>,
        HashMap<i64, (String, Option<String>, Option<String>)>,
    )> {
        let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
        let mut borrowed: HashMap<i64, (String, Option<String>, Option<String>, f64)> =
            HashMap::new();
        for chunk in advs.chunks(crate::postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            let sql = format!(
                "SELECT advisory, alias FROM advisory_aliases WHERE advisory IN ({}) ORDER BY advisory, alias",
                placeholders(chunk.len())
            );
            for r in self.db.query(&sql, &params)? {
                let mut it = r.into_iter();
                let adv = it.next().and_then(|v| v.int()).unwrap_or_default();
                if let Some(alias) = it.next().and_then(Val::into_text) {
                    aliases.entry(adv).or_default().push(alias);
                }
            }
            let sql = format!(
                "SELECT DISTINCT x.advisory, o.advisory_id, o.severity, o.score
                 FROM advisory_aliases x
                 JOIN advisory_aliases y ON y.alias = x.alias AND y.advisory <> x.advisory
                 JOIN advisories o ON o.id = y.advisory
                 WHERE x.advisory IN ({}) AND o.score IS NOT NULL AND o.withdrawn IS NULL",
                placeholders(chunk.len())
            );
            for r in self.db.query(&sql, &params)? {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                let adv = next().int().unwrap_or_default();
                let id = next().into_text().unwrap_or_default();
                let severity = next().into_text();
                let score = next().into_text();
                let n = score
                    .as_deref()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .unwrap_or(0.0);
                let better = borrowed
                    .get(&adv)
                    .is_none_or(|b| n > b.3 || (n == b.3 && id < b.0));
                if better {
                    borrowed.insert(adv, (id, severity, score, n));
                }
            }
        }
        Ok((
            aliases,
            borrowed
                .into_iter()
                .map(|(k, (id, sev, sc, _))| (k, (id, sev, sc)))
                .collect(),
        ))
    }

    /// Open findings and the net finding changes per day since `since_ms`,
    /// per advisory (only advisories with open findings or changes in the
    /// window), with each advisory's severity and score, or those it borrows
    /// from an alias when it gives neither (as an image's findings do). What
    /// the console's findings-by-severity chart is drawn from: two grouped
    /// reads, the open findings by the findings' advisory index and the
    /// events by their time index.
    pub fn finding_counts_by_advisory(&mut self, since_ms: i64) -> Result<Vec<AdvisoryCounts>> {
        let mut by: HashMap<i64, AdvisoryCounts> = HashMap::new();
        for r in self.db.query(
            "SELECT advisory, COUNT(*) FROM findings GROUP BY advisory",
            &[],
        )? {
            let adv = r[0].int().unwrap_or_default();
            by.entry(adv).or_default().open = r[1].int().unwrap_or_default().max(0) as u64;
        }
        for r in self.db.query(
            "SELECT advisory, at / 86400000,
                    SUM(CASE change WHEN 'added' THEN 1 WHEN 'removed' THEN -1 ELSE 0 END)
             FROM finding_events WHERE at >= ? GROUP BY 1, 2 ORDER BY 1, 2",
            &[Val::Int(since_ms)],
        )? {
            let adv = r[0].int().unwrap_or_default();
            let day = r[1].int().unwrap_or_default();
            let net = r[2].int().unwrap_or_default();
            if net != 0 {
                by.entry(adv).or_default().daily.push((day, net));
            }
        }
        let mut advs: Vec<i64> = by.keys().copied().collect();
        advs.sort_unstable();
        for chunk in advs.chunks(crate::postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            let sql = format!(
                "SELECT id, advisory_id, severity, score FROM advisories WHERE id IN ({})",
                placeholders(chunk.len())
            );
            for r in self.db.query(&sql, &params)? {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                let adv = next().int().unwrap_or_default();
                if let Some(c) = by.get_mut(&adv) {
                    c.advisory = next().into_text().unwrap_or_default();
                    c.severity = next().into_text();
                    c.score = next().into_text();
                }
            }
        }
        let bare: Vec<i64> = advs
            .iter()
            .copied()
            .filter(|a| {
                by.get(a)
                    .is_some_and(|c| c.severity.is_none() && c.score.is_none())
            })
            .collect();
        if !bare.is_empty() {
            let (_, borrowed) = self.aliases_and_borrowed_severity_uncached(&bare)?;
            for (adv, (_, severity, score)) in borrowed {
                if let Some(c) = by.get_mut(&adv) {
                    c.severity = severity;
                    c.score = score;
                }
            }
        }
        let mut out: Vec<AdvisoryCounts> = by.into_values().collect();
        out.sort_by(|a, b| a.advisory.cmp(&b.advisory));
        Ok(out)
    }

    /// Findings for one image digest.
    pub fn vulns(&mut self, digest: &str) -> Result<Vec<ImageFinding>> {
        self.vulns_many(&[digest])
    }

    /// The findings of each image in `digests`, as [`Store::vulns`] gives
    /// them one by one, in one list ordered by digest. Components the
    /// images share are read once: what the posture's refresh reads for
    /// thousands of images at a time.
    pub fn vulns_many(&mut self, digests: &[&str]) -> Result<Vec<ImageFinding>> {
        let mut rids: Vec<i64> = Vec::new();
        for chunk in digests.chunks(crate::postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|d| Val::from(*d)).collect();
            let sql = format!(
                "SELECT rs.record_id FROM record_subjects rs JOIN images i ON i.id = rs.image_id
                 WHERE i.digest IN ({})",
                placeholders(chunk.len())
            );
            self.db.each(&sql, &params, &mut |r| {
                rids.extend(r[0].int());
                Ok(())
            })?;
        }
        rids.sort_unstable();
        rids.dedup();
        let links: Vec<(i64, i64)> = self
            .components_of_records(&rids)?
            .into_iter()
            .map(|(r, c, _)| (r, c))
            .collect();
        let only: HashSet<&str> = digests.iter().copied().collect();
        let caches = self.check_caches()?;
        if let Some(all) = self.findings_snapshot.take() {
            let r = self.assemble_findings(&all, &links, Some(&only), caches);
            self.findings_snapshot = Some(all);
            return r;
        }
        let mut cids: Vec<i64> = links.iter().map(|l| l.1).collect();
        cids.sort_unstable();
        cids.dedup();
        if !caches {
            let findings = self.findings_where("f.component_id", &cids)?;
            return self.assemble_findings(&findings, &links, Some(&only), caches);
        }
        // Components whose findings were read before (none, most of them)
        // are not looked up again while the generations stay the same.
        let missing: Vec<i64> = cids
            .into_iter()
            .filter(|c| !self.findings_cache.by_component.contains_key(c))
            .collect();
        if !missing.is_empty() {
            let mut found = self.findings_where("f.component_id", &missing)?;
            for c in missing {
                let rows = found.remove(&c).unwrap_or_default();
                self.findings_cache.by_component.insert(c, rows);
            }
        }
        let kept = std::mem::take(&mut self.findings_cache.by_component);
        let r = self.assemble_findings(&kept, &links, Some(&only), caches);
        self.findings_cache.by_component = kept;
        r
    }

    /// The findings of the advisory known under `id` (its id or any alias),
    /// by component; None when no advisory has that id or alias.
    fn findings_of_advisory(&mut self, id: &str) -> Result<Option<HashMap<i64, Vec<FindingRow>>>> {
        let advs: Vec<i64> = self
            .db
            .query(
                "SELECT DISTINCT advisory FROM advisory_aliases WHERE alias = ?",
                &[id.into()],
            )?
            .iter()
            .filter_map(|r| r[0].int())
            .collect();
        if advs.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.findings_where("f.advisory", &advs)?))
    }

    /// Every image affected by the advisory known under `id` (its id or any alias).
    /// None when no advisory has that id or alias.
    pub fn affected(&mut self, id: &str) -> Result<Option<Vec<ImageFinding>>> {
        let Some(findings) = self.findings_of_advisory(id)? else {
            return Ok(None);
        };
        let cids: Vec<i64> = findings.keys().copied().collect();
        let links = self.records_with_components(&cids)?;
        let caches = self.check_caches()?;
        Ok(Some(
            self.assemble_findings(&findings, &links, None, caches)?,
        ))
    }

    /// Of `digests`, those with a record that holds a component the
    /// advisory known under `id` (its id or any alias) affects; `None` when
    /// no advisory has that id or alias. The records linking an affected
    /// component come from the components' postings (and the pending
    /// records), as sorted ids; the digests' records are then read through
    /// the subject index (one statement per 400 digests) and looked up in
    /// them. Measured at 100k images and 10,000 running containers, for the
    /// advisory affecting the most images: 34 ms, against 100–130 ms for
    /// reading and decoding every running record's component links.
    pub fn affected_among(
        &mut self,
        id: &str,
        digests: &[&str],
    ) -> Result<Option<HashSet<String>>> {
        let Some(findings) = self.findings_of_advisory(id)? else {
            return Ok(None);
        };
        let cids: Vec<i64> = findings.keys().copied().collect();
        // Sorted by record (then component): the records alone, deduplicated.
        let mut linking: Vec<i64> = self
            .records_with_components(&cids)?
            .into_iter()
            .map(|p| p.0)
            .collect();
        linking.dedup();
        let mut out = HashSet::new();
        if linking.is_empty() {
            return Ok(Some(out));
        }
        for chunk in digests.chunks(400) {
            let params: Vec<Val> = chunk.iter().map(|d| Val::from(*d)).collect();
            let sql = format!(
                "SELECT i.digest, rs.record_id FROM images i
                 JOIN record_subjects rs ON rs.image_id = i.id
                 WHERE i.digest IN ({})",
                placeholders(chunk.len())
            );
            self.db.each(&sql, &params, &mut |r| {
                if let (Some(d), Some(rid)) = (r[0].text(), r[1].int())
                    && linking.binary_search(&rid).is_ok()
                    && !out.contains(d)
                {
                    out.insert(d.to_string());
                }
                Ok(())
            })?;
        }
        Ok(Some(out))
    }

    /// One page of the images affected by the advisory known under `id` (its
    /// id or any alias), from `start` (a previous page's
    /// [`AffectedPage::next`]); `None` when no advisory has that id or alias.
    ///
    /// Images come in ledger order: by the first record that gives the
    /// image a vulnerable component (then by its place among that record's
    /// subjects), read from a position through the components' postings, so
    /// a page costs about the same at any ledger size. Each image carries
    /// the same findings as in [`Store::affected`] (the best-trusted of all
    /// its records speaks for each), and an image's findings are never split
    /// over two pages: a page holds at most `limit` findings unless one
    /// image alone has more.
    pub fn affected_page(
        &mut self,
        id: &str,
        start: Option<QueryCursor>,
        limit: Option<usize>,
    ) -> Result<Option<AffectedPage>> {
        let Some(findings) = self.findings_of_advisory(id)? else {
            return Ok(None);
        };
        let mut cids: Vec<i64> = findings.keys().copied().collect();
        cids.sort_unstable();
        let start = start.unwrap_or(QueryCursor { record: 0, skip: 0 });
        // One image more than the page holds tells whether there is a next
        // page; an image has one finding or more.
        let want = limit.map(|l| l.saturating_add(1));
        // The page's findings, image by image, and where the next page starts.
        let mut out: Vec<ImageFinding> = Vec::new();
        let mut next: Option<QueryCursor> = None;
        let mut pos = start.record;
        let mut batch = want;
        while !cids.is_empty() {
            let (pairs, upto) = self.records_with_components_from(&cids, pos, batch)?;
            let mut rids: Vec<i64> = pairs.iter().map(|p| p.0).collect();
            rids.dedup();
            // A round may cover many more records than a page needs (a
            // postings row spans thousands): take them a page's worth at a
            // time, in order, and stop once the page is full.
            let step = want.map_or(rids.len().max(1), |w| w.max(16));
            for slice in rids.chunks(step) {
                // Each record's subjects, in their stored order.
                let mut subjects: HashMap<i64, Vec<String>> = HashMap::new();
                for chunk in slice.chunks(crate::postings::CHUNK) {
                    let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
                    let sql = format!(
                        "SELECT id, subjects FROM records WHERE id IN ({})",
                        placeholders(chunk.len())
                    );
                    self.db.each(&sql, &params, &mut |r| {
                        let rid = r[0].int().unwrap_or_default();
                        let list = r[1]
                            .text()
                            .unwrap_or("")
                            .split(' ')
                            .filter(|d| !d.is_empty())
                            .map(String::from)
                            .collect();
                        subjects.insert(rid, list);
                        Ok(())
                    })?;
                }
                let mut candidates: Vec<(i64, u32, &str)> = Vec::new();
                for rid in slice {
                    let skip = if *rid == start.record { start.skip } else { 0 };
                    for (i, d) in subjects.get(rid).into_iter().flatten().enumerate() {
                        if i as u32 >= skip {
                            candidates.push((*rid, i as u32, d.as_str()));
                        }
                    }
                }
                // Every record of each candidate image, and which of them give
                // it a vulnerable component: the first such record is where the
                // image is listed, the rest speak for its findings too.
                let mut digests: Vec<&str> = candidates.iter().map(|c| c.2).collect();
                digests.sort_unstable();
                digests.dedup();
                // From the slice's own subject rows (record order) to the
                // images and back to all their records: index ranges near
                // each other, rather than a probe of the digest index per
                // image (random pages once the ledger outgrows the cache).
                let mut records_of: HashMap<String, Vec<i64>> = HashMap::new();
                let wanted: HashSet<&str> = digests.iter().copied().collect();
                for chunk in slice.chunks(crate::postings::CHUNK) {
                    let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
                    let sql = format!(
                        "SELECT i.digest, rs2.record_id FROM record_subjects rs1
                         JOIN record_subjects rs2 ON rs2.image_id = rs1.image_id
                         JOIN images i ON i.id = rs1.image_id
                         WHERE rs1.record_id IN ({})",
                        placeholders(chunk.len())
                    );
                    self.db.each(&sql, &params, &mut |r| {
                        if let (Some(d), Some(rid)) = (r[0].text(), r[1].int())
                            && wanted.contains(d)
                        {
                            records_of.entry(d.to_string()).or_default().push(rid);
                        }
                        Ok(())
                    })?;
                }
                for rs in records_of.values_mut() {
                    rs.sort_unstable();
                    rs.dedup();
                }
                let mut all: Vec<i64> = records_of.values().flatten().copied().collect();
                all.sort_unstable();
                all.dedup();
                let affected: HashSet<i64> = cids.iter().copied().collect();
                let mut links: Vec<(i64, i64)> = self
                    .components_of_records(&all)?
                    .into_iter()
                    .filter(|(_, c, _)| affected.contains(c))
                    .map(|(r, c, _)| (r, c))
                    .collect();
                links.sort_unstable();
                let linking: HashSet<i64> = links.iter().map(|l| l.0).collect();
                let first_of = |d: &str| {
                    records_of
                        .get(d)
                        .and_then(|rs| rs.iter().copied().filter(|r| linking.contains(r)).min())
                };
                let listed: Vec<(i64, u32, &str)> = candidates
                    .iter()
                    .copied()
                    .filter(|(rid, _, d)| first_of(d) == Some(*rid))
                    .collect();
                let keep: HashSet<&str> = listed.iter().map(|c| c.2).collect();
                let mut by_digest: HashMap<String, Vec<ImageFinding>> = HashMap::new();
                let caches = self.check_caches()?;
                for f in self.assemble_findings(&findings, &links, Some(&keep), caches)? {
                    by_digest.entry(f.digest.clone()).or_default().push(f);
                }
                for (rid, i, d) in listed {
                    let fs = by_digest.remove(d).unwrap_or_default();
                    if fs.is_empty() {
                        continue;
                    }
                    if let Some(l) = limit
                        && !out.is_empty()
                        && out.len() + fs.len() > l
                    {
                        next = Some(QueryCursor {
                            record: rid,
                            skip: i,
                        });
                        break;
                    }
                    out.extend(fs);
                }
                if next.is_some() {
                    break;
                }
            }
            match upto {
                Some(u) if next.is_none() => {
                    pos = u.saturating_add(1);
                    // Images listed earlier dropped records: read more at once.
                    batch = batch.map(|b| b.saturating_mul(4).min(100_000));
                }
                _ => break,
            }
        }
        Ok(Some(AffectedPage {
            findings: out,
            next,
        }))
    }

    /// Finding changes at or after `since_ms`, oldest first, with the image
    /// digests that contain each component now: [`Store::changes_page`]
    /// without a limit.
    pub fn changes_since(&mut self, since_ms: i64) -> Result<Vec<FindingChange>> {
        Ok(self.changes_page(since_ms, None, None)?.changes)
    }

    /// One page of the finding changes at or after `since_ms`, in (time,
    /// event id) order, from after `after` (a previous page's
    /// [`ChangesPage::next`]) on: an index range read from a position, so a
    /// page costs the same wherever it is in the list. Each change lists
    /// the first [`DIGESTS_PER_CHANGE`] image digests that hold its component
    /// now (and whether there are more).
    pub fn changes_page(
        &mut self,
        since_ms: i64,
        after: Option<ChangesCursor>,
        limit: Option<usize>,
    ) -> Result<ChangesPage> {
        let mut sql = String::from(
            "SELECT e.at, e.change, a.advisory_id, c.purl, e.kind, e.fixed, e.revision, e.component_id, e.id
             FROM finding_events e JOIN advisories a ON a.id = e.advisory JOIN components c ON c.id = e.component_id
             WHERE e.at >= ?",
        );
        let mut params = vec![Val::Int(since_ms)];
        if let Some(c) = after {
            sql.push_str(" AND (e.at > ? OR (e.at = ? AND e.id > ?))");
            params.extend([Val::Int(c.at), Val::Int(c.at), Val::Int(c.event)]);
        }
        sql.push_str(" ORDER BY e.at, e.id");
        if let Some(n) = limit {
            // One more than the page holds tells whether there is a next page.
            sql.push_str(&format!(" LIMIT {}", n.saturating_add(1)));
        }
        let mut rows = self.db.query(&sql, &params)?;
        let mut next = None;
        if let Some(n) = limit
            && rows.len() > n
        {
            rows.truncate(n);
            next = rows.last().map(|r| ChangesCursor {
                at: r[0].int().unwrap_or_default(),
                event: r[8].int().unwrap_or_default(),
            });
        }
        let mut out = Vec::with_capacity(rows.len());
        // The first images that contain each component now, in ledger order.
        let mut cids: Vec<i64> = rows.iter().filter_map(|r| r[7].int()).collect();
        cids.sort_unstable();
        cids.dedup();
        let mut digest_cache: HashMap<i64, (Vec<String>, bool)> = HashMap::new();
        for cid in cids {
            let (pairs, _) =
                self.records_with_components_from(&[cid], 0, Some(DIGESTS_PER_CHANGE + 1))?;
            let mut rids: Vec<i64> = pairs.iter().map(|p| p.0).collect();
            rids.dedup();
            let mut more = rids.len() > DIGESTS_PER_CHANGE;
            rids.truncate(DIGESTS_PER_CHANGE);
            let facts = self.record_facts(&rids)?;
            let mut digests: Vec<String> = Vec::new();
            let mut seen: HashSet<&str> = HashSet::new();
            for rid in &rids {
                for d in facts
                    .get(rid)
                    .map(|f| f.digests.as_slice())
                    .unwrap_or_default()
                {
                    if seen.insert(d.as_str()) {
                        digests.push(d.clone());
                    }
                }
            }
            if digests.len() > DIGESTS_PER_CHANGE {
                digests.truncate(DIGESTS_PER_CHANGE);
                more = true;
            }
            digests.sort();
            digest_cache.insert(cid, (digests, more));
        }
        for r in rows {
            let cid = r[7].int().unwrap_or_default();
            out.push(FindingChange {
                at: ms_to_time(r[0].int().unwrap_or_default()),
                change: r[1].text().unwrap_or("").to_string(),
                advisory: r[2].text().unwrap_or("").to_string(),
                purl: r[3].text().unwrap_or("").to_string(),
                kind: r[4].text().unwrap_or("").to_string(),
                fixed: r[5].clone().into_text(),
                revision: r[6].text().unwrap_or("").to_string(),
                digests: digest_cache
                    .get(&cid)
                    .map(|d| d.0.clone())
                    .unwrap_or_default(),
                more_digests: digest_cache.get(&cid).is_some_and(|d| d.1),
            });
        }
        Ok(ChangesPage { changes: out, next })
    }
}
