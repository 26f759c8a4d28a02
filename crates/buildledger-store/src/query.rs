//! Queries over records: by source, toolchain and package version ranges,
//! API surface, labels and time, one hit per (digest, record).

use std::collections::HashMap;

use buildledger_model::{ModelError, Stability};
use serde::Serialize;

use crate::backend::{self, BackendKind};
use crate::{
    RecordId, Result, Store, StoreError, Val, VersionFilter, normalize_repo, placeholders, postings,
};

/// A query over records; all given filters must hold.
#[derive(Default)]
pub struct Query<'a> {
    /// Toolchain name and a filter over its versions.
    pub toolchain: Option<(String, VersionFilter<'a>)>,
    /// Package (purl without version) and a filter over versions.
    pub package: Option<(String, VersionFilter<'a>)>,
    /// Source repository (compared after normalisation).
    pub repo: Option<String>,
    /// Commit id or prefix (≥ 7 hex digits).
    pub commit: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Exposes at least one API of this stability.
    pub api_stability: Option<Stability>,
    /// Only records verified by a trusted builder key or observed by the indexer.
    pub trusted_only: bool,
    /// At most this many hits.
    pub limit: Option<usize>,
    /// Start here (a previous page's [`QueryPage::next`]) instead of at the
    /// first hit.
    pub start: Option<QueryCursor>,
}

/// Where a page of a query starts: at record `record`, after its first
/// `skip` subject digests. Written `RECORD.SKIP` (e.g. `48213.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryCursor {
    /// The first record of the page.
    pub record: RecordId,
    /// Subject digests of that record already on an earlier page.
    pub skip: u32,
}

impl std::fmt::Display for QueryCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.record, self.skip)
    }
}

impl std::str::FromStr for QueryCursor {
    type Err = ModelError;
    fn from_str(s: &str) -> std::result::Result<QueryCursor, ModelError> {
        let bad = || {
            ModelError::new(
                "cursor",
                format!("{s:?} is not a query cursor (RECORD.SKIP, as a previous page gave it)"),
            )
        };
        let (r, k) = s.split_once('.').ok_or_else(bad)?;
        let record: RecordId = r.parse().map_err(|_| bad())?;
        let skip: u32 = k.parse().map_err(|_| bad())?;
        if record < 1 || r.starts_with('+') || k.starts_with('+') {
            return Err(bad());
        }
        Ok(QueryCursor { record, skip })
    }
}

/// One page of a query's hits and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    /// At most `limit` hits, in record order.
    pub hits: Vec<Hit>,
    /// Where the next page starts; `None` on the last page (and always
    /// without a `limit`).
    pub next: Option<QueryCursor>,
    /// With a next page: about how many hits there are from this page's
    /// start to the end of the ledger, an estimate (the page's hits scaled
    /// by the share of the ledger's record ids it covered), since counting
    /// them would read every hit. `None` on the last page: the hits are all.
    pub estimated_rest: Option<u64>,
}

/// A stream of matching record ids, read from a position (see
/// [`Store::query_page`]); `label` indexes the query's matched versions.
enum Source {
    /// Records built with `name` at one of `versions` (`labels[i]` is the
    /// label of `versions[i]`).
    Toolchain {
        name: String,
        versions: Vec<String>,
        labels: Vec<u32>,
    },
    /// Records linking one of the components (component id → label).
    Package { label_of: HashMap<i64, u32> },
    /// Records exposing an API of this stability.
    Api(Stability),
}

/// `(record, label)` pairs of a source from a position, and the record up to
/// which they are complete (`None`: to the end).
type SourceRead = (Vec<(i64, u32)>, Option<i64>);

/// No label: the source matches but names no version.
const NO_LABEL: u32 = u32::MAX;

/// The fewest records read per toolchain version in one round.
const PER_VERSION: usize = 16;

/// Versions of one toolchain read per statement (one `UNION ALL` term each).
const TERMS: usize = 100;

/// One image digest that matched a query, with the record that made it match.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema, serde::Deserialize)]
pub struct Hit {
    /// Image digest.
    pub digest: String,
    /// Record id.
    pub record_id: RecordId,
    /// Origin of the record.
    pub origin: buildledger_model::Origin,
    /// Trust state of the record.
    pub trust: buildledger_model::TrustState,
    /// Source repository.
    pub repo: Option<String>,
    /// Commit.
    pub commit: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// The matching versions (toolchain or package), when the query had them.
    pub matched: Vec<String>,
}

impl Store {
    /// Image digests matching every filter in `q`, one hit per (digest,
    /// record), in record order: [`Store::query_page`] without its cursor.
    pub fn query(&mut self, q: &Query<'_>) -> Result<Vec<Hit>> {
        Ok(self.query_page(q)?.hits)
    }

    /// One page of the hits of `q` from `q.start`, and where the next begins.
    ///
    /// A page costs about the same at any ledger size: the toolchain,
    /// package and API filters are *sources* of record ids read in id order
    /// from a position through their indexes (per toolchain version, per
    /// component's postings, per stability), a batch at a time; the sources
    /// are intersected, the remaining filters applied in SQL on that batch,
    /// and reading stops once the page (plus one hit, to know there is a
    /// next page) is full. Without sources, the records table is read in id
    /// order through the filter's index.
    pub fn query_page(&mut self, q: &Query<'_>) -> Result<QueryPage> {
        let mut wheres: Vec<String> = Vec::new();
        let mut params: Vec<Val> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let mut sources: Vec<Source> = Vec::new();

        if let Some(commit) = &q.commit {
            let c = commit.trim().to_ascii_lowercase();
            if c.len() < 7 || !c.chars().all(|ch| ch.is_ascii_hexdigit()) {
                return Err(ModelError::new(
                    "commit",
                    format!("{commit:?} is not a commit id or prefix (7+ hex digits)"),
                )
                .into());
            }
            if c.len() >= 40 {
                wheres.push("r.source_commit = ?".into());
                params.push(c.into());
            } else {
                // Prefix match as a range so the index is used on both engines.
                wheres.push("r.source_commit >= ? AND r.source_commit < ?".into());
                params.push(c.clone().into());
                params.push(format!("{c}g").into());
            }
        }
        if let Some(repo) = &q.repo {
            wheres.push("r.source_repo = ?".into());
            params.push(normalize_repo(repo).into());
        }
        if let Some(tag) = &q.tag {
            wheres.push("r.source_tag = ?".into());
            params.push(tag.as_str().into());
        }
        if q.trusted_only {
            wheres.push("r.trust_state IN ('verified', 'observed')".into());
        }
        if let Some((name, filter)) = &q.toolchain {
            let versions: Vec<String> = self
                .toolchain_versions(name)?
                .into_iter()
                .filter(|v| filter(v))
                .collect();
            let mut ls = Vec::with_capacity(versions.len());
            for v in &versions {
                ls.push(labels.len() as u32);
                labels.push(format!("{name}@{v}"));
            }
            sources.push(Source::Toolchain {
                name: name.clone(),
                versions,
                labels: ls,
            });
        }
        if let Some((package, filter)) = &q.package {
            let mut label_of: HashMap<i64, u32> = HashMap::new();
            for (cid, v) in self.package_versions(package)? {
                if filter(&v) {
                    label_of.insert(cid, labels.len() as u32);
                    labels.push(v);
                }
            }
            sources.push(Source::Package { label_of });
        }
        if let Some(st) = q.api_stability {
            sources.push(Source::Api(st));
        }
        if sources.is_empty() && wheres.iter().all(|w| w.starts_with("r.trust_state")) {
            return Err(ModelError::new("query", "give at least one filter").into());
        }

        let start = q.start.unwrap_or(QueryCursor { record: 0, skip: 0 });
        // One more hit than the page holds tells whether there is a next page.
        let want = q.limit.map(|l| l.saturating_add(1));
        let cap = want.unwrap_or(usize::MAX);
        let select = "SELECT r.id, r.subjects, r.origin, r.trust_state, r.source_repo, r.source_commit, r.source_tag
             FROM records r";
        // Hits and, for each, the index of its digest among the record's subjects.
        let mut hits: Vec<Hit> = Vec::new();
        let mut positions: Vec<u32> = Vec::new();
        let mut push_hits = |hits: &mut Vec<Hit>, r: &[backend::ValRef<'_>]| -> Result<()> {
            let record_id = r[0].int().unwrap_or_default();
            let owned = |v: &backend::ValRef<'_>| v.text().map(String::from);
            let origin = r[2]
                .text()
                .and_then(buildledger_model::Origin::parse)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("record {record_id}: origin {:?}", r[2]))
                })?;
            let trust = r[3]
                .text()
                .and_then(buildledger_model::TrustState::parse)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("record {record_id}: trust state {:?}", r[3]))
                })?;
            let skip = if record_id == start.record {
                start.skip as usize
            } else {
                0
            };
            for (i, digest) in r[1]
                .text()
                .unwrap_or("")
                .split(' ')
                .filter(|d| !d.is_empty())
                .enumerate()
                .skip(skip)
            {
                if hits.len() >= cap {
                    break;
                }
                hits.push(Hit {
                    digest: digest.to_string(),
                    record_id,
                    origin,
                    trust,
                    repo: owned(&r[4]),
                    commit: owned(&r[5]),
                    tag: owned(&r[6]),
                    matched: Vec::new(),
                });
                positions.push(i as u32);
            }
            Ok(())
        };

        if sources.is_empty() {
            // Every record has at least one subject, so `want` records give
            // at least `want` hits.
            let mut w = wheres.clone();
            w.push("r.id >= ?".into());
            let mut p = params.clone();
            p.push(Val::Int(start.record));
            let mut sql = format!("{select} WHERE {} ORDER BY r.id", w.join(" AND "));
            if let Some(n) = want {
                sql.push_str(&format!(" LIMIT {n}"));
            }
            self.db.each(&sql, &p, &mut |r| push_hits(&mut hits, r))?;
        } else {
            // (record, label) of the records read so far, in record order.
            let mut found: Vec<(i64, u32)> = Vec::new();
            let mut pos = start.record;
            let mut batch = want;
            loop {
                let mut upto: Option<i64> = None;
                let mut lists: Vec<Vec<(i64, u32)>> = Vec::with_capacity(sources.len());
                for src in &sources {
                    let (list, bound) = self.source_from(src, pos, batch)?;
                    if let Some(b) = bound {
                        upto = Some(upto.map_or(b, |u| u.min(b)));
                    }
                    lists.push(list);
                }
                let mut round: Vec<(i64, u32)> = Vec::new();
                if let [only] = lists.as_mut_slice() {
                    round = std::mem::take(only);
                } else {
                    // Records in every list (each list is sorted by record).
                    let mut common: Vec<i64> = lists[0].iter().map(|p| p.0).collect();
                    common.dedup();
                    for l in &lists[1..] {
                        let ids: std::collections::HashSet<i64> = l.iter().map(|p| p.0).collect();
                        common.retain(|id| ids.contains(id));
                    }
                    let common: std::collections::HashSet<i64> = common.into_iter().collect();
                    for l in lists {
                        round.extend(l.into_iter().filter(|p| common.contains(&p.0)));
                    }
                    round.sort_unstable();
                }
                if let Some(u) = upto {
                    round.retain(|p| p.0 <= u);
                }
                let mut ids: Vec<i64> = round.iter().map(|p| p.0).collect();
                ids.dedup();
                found.extend(round);
                // Large slices on PostgreSQL (one round trip each); SQLite
                // builds an index for each IN list, so smaller ones there.
                let slice = match (self.db.kind(), want) {
                    (BackendKind::Postgres, None) => 8 * postings::CHUNK,
                    _ => postings::CHUNK,
                };
                // Every record gives at least one hit, so a page never needs
                // more records than the hits it still lacks: read those
                // first (a rare package's versions can name several times
                // the page), more only if the other filters dropped some.
                let mut rest = ids.as_slice();
                while !rest.is_empty() && hits.len() < cap {
                    let n = slice.min(cap - hits.len()).min(rest.len());
                    let (chunk, tail) = rest.split_at(n);
                    rest = tail;
                    let mut w = wheres.clone();
                    w.push(format!("r.id IN ({})", placeholders(chunk.len())));
                    let mut p = params.clone();
                    p.extend(chunk.iter().map(|i| Val::Int(*i)));
                    let sql = format!("{select} WHERE {} ORDER BY r.id", w.join(" AND "));
                    self.db.each(&sql, &p, &mut |r| push_hits(&mut hits, r))?;
                }
                match upto {
                    Some(u) if hits.len() < cap => {
                        pos = u.saturating_add(1);
                        // The other filters dropped records: read more at once.
                        batch = batch.map(|b| b.saturating_mul(4).min(100_000));
                    }
                    _ => break,
                }
            }
            // Hits and matches are both in record order: walk them together.
            let mut at = 0;
            for h in &mut hits {
                while at < found.len() && found[at].0 < h.record_id {
                    at += 1;
                }
                let mut m: Vec<String> = found[at..]
                    .iter()
                    .take_while(|p| p.0 == h.record_id)
                    .filter(|p| p.1 != NO_LABEL)
                    .map(|p| labels[p.1 as usize].clone())
                    .collect();
                if m.len() > 1 {
                    m.sort();
                    m.dedup();
                }
                h.matched = m;
            }
        }
        let mut next = None;
        let mut estimated_rest = None;
        if let Some(limit) = q.limit
            && hits.len() > limit
        {
            let n = QueryCursor {
                record: hits[limit].record_id,
                skip: positions[limit],
            };
            next = Some(n);
            hits.truncate(limit);
            // The page's hits lie in record ids start..next; the ledger's
            // go on to the largest id.
            let last = self.max_record_id()?.max(n.record);
            let span = (n.record - start.record).max(1) as u128;
            let rest = (last - start.record + 1).max(1) as u128;
            estimated_rest = Some(u64::try_from(limit as u128 * rest / span).unwrap_or(u64::MAX));
        }
        Ok(QueryPage {
            hits,
            next,
            estimated_rest,
        })
    }

    /// The records of `src` from record `from` on, as `(record, label)`
    /// sorted, about `batch` records per index range read; and `Some(upto)`
    /// when the list stops short: every match in `from..=upto` is in it.
    fn source_from(&mut self, src: &Source, from: i64, batch: Option<usize>) -> Result<SourceRead> {
        let limit = |n: Option<usize>| n.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        match src {
            Source::Toolchain {
                name,
                versions,
                labels,
            } => {
                let label_of: HashMap<&str, u32> = versions
                    .iter()
                    .map(String::as_str)
                    .zip(labels.iter().copied())
                    .collect();
                let mut out: Vec<(i64, u32)> = Vec::new();
                let mut upto: Option<i64> = None;
                // Per version: its records from `from`, in id order, through
                // the (name, version, record_id) index; one statement for
                // many versions. Each version gives its share of the batch
                // (at least PER_VERSION), not the whole: with many versions
                // that is most of the rows a page reads. A short round is
                // followed by a larger one.
                let per = batch.map(|b| b.div_ceil(versions.len().max(1)).max(PER_VERSION).min(b));
                for chunk in versions.chunks(TERMS) {
                    let term = format!(
                        "SELECT * FROM (SELECT record_id, version FROM record_toolchains
                         WHERE name = ? AND version = ? AND record_id >= ? ORDER BY record_id{})",
                        limit(per)
                    );
                    let sql = (0..chunk.len())
                        .map(|i| format!("{term} AS t{i}"))
                        .collect::<Vec<_>>()
                        .join(" UNION ALL ");
                    let mut p: Vec<Val> = Vec::with_capacity(chunk.len() * 3);
                    for v in chunk {
                        p.extend([name.as_str().into(), v.as_str().into(), Val::Int(from)]);
                    }
                    // (count, last record) per version.
                    let mut seen: HashMap<u32, (usize, i64)> = HashMap::new();
                    self.db.each(&sql, &p, &mut |r| {
                        if let (Some(rid), Some(l)) =
                            (r[0].int(), r[1].text().and_then(|v| label_of.get(v)))
                        {
                            out.push((rid, *l));
                            let e = seen.entry(*l).or_insert((0, rid));
                            e.0 += 1;
                            e.1 = e.1.max(rid);
                        }
                        Ok(())
                    })?;
                    if let Some(b) = per {
                        for (n, last) in seen.values() {
                            if *n >= b {
                                upto = Some(upto.map_or(*last, |u| u.min(*last)));
                            }
                        }
                    }
                }
                if let Some(u) = upto {
                    out.retain(|p| p.0 <= u);
                }
                out.sort_unstable();
                Ok((out, upto))
            }
            Source::Package { label_of } => {
                let ids: Vec<i64> = label_of.keys().copied().collect();
                let (pairs, upto) = self.records_with_components_from(&ids, from, batch)?;
                let out = pairs
                    .into_iter()
                    .filter_map(|(rid, cid)| label_of.get(&cid).map(|l| (rid, *l)))
                    .collect();
                Ok((out, upto))
            }
            Source::Api(st) => {
                let mut out: Vec<(i64, u32)> = Vec::new();
                self.db.each(
                    &format!(
                        "SELECT DISTINCT record_id FROM record_apis
                         WHERE stability = ? AND record_id >= ? ORDER BY record_id{}",
                        limit(batch)
                    ),
                    &[st.as_str().into(), Val::Int(from)],
                    &mut |r| {
                        if let Some(rid) = r[0].int() {
                            out.push((rid, NO_LABEL));
                        }
                        Ok(())
                    },
                )?;
                let upto = match batch {
                    Some(b) if out.len() >= b => out.last().map(|p| p.0),
                    _ => None,
                };
                Ok((out, upto))
            }
        }
    }
}
