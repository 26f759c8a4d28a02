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
}

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
    /// Image digests matching every filter in `q`, one hit per (digest, record),
    /// in record order.
    ///
    /// Toolchain and package filters are resolved first into the set of
    /// matching records (with the versions that matched); the remaining
    /// filters are applied in SQL while the hits are read in record order, a
    /// slice at a time, stopping at `limit`.
    pub fn query(&mut self, q: &Query<'_>) -> Result<Vec<Hit>> {
        let mut wheres: Vec<String> = Vec::new();
        let mut params: Vec<Val> = Vec::new();
        // Records that passed the toolchain / package filters, with what
        // matched: (record id, index into `labels`), sorted.
        let mut candidates: Option<Vec<(i64, u32)>> = None;
        let mut labels: Vec<String> = Vec::new();

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
        if let Some(st) = q.api_stability {
            wheres.push("r.id IN (SELECT record_id FROM record_apis WHERE stability = ?)".into());
            params.push(st.as_str().into());
        }
        if q.toolchain.is_none() && q.package.is_none() && wheres.is_empty() {
            return Err(ModelError::new("query", "give at least one filter").into());
        }

        if let Some((name, filter)) = &q.toolchain {
            let versions: Vec<String> = self
                .toolchain_versions(name)?
                .into_iter()
                .filter(|v| filter(v))
                .collect();
            let mut found: Vec<(i64, u32)> = Vec::new();
            let mut label_of: HashMap<&str, u32> = HashMap::with_capacity(versions.len());
            for v in &versions {
                label_of.insert(v.as_str(), labels.len() as u32);
                labels.push(format!("{name}@{v}"));
            }
            for chunk in versions.chunks(postings::CHUNK) {
                let mut p: Vec<Val> = vec![name.as_str().into()];
                p.extend(chunk.iter().map(|v| Val::from(v.as_str())));
                self.db.each(
                    &format!(
                        "SELECT record_id, version FROM record_toolchains WHERE name = ? AND version IN ({})",
                        placeholders(chunk.len())
                    ),
                    &p,
                    &mut |r| {
                        if let (Some(rid), Some(l)) =
                            (r[0].int(), r[1].text().and_then(|v| label_of.get(v)))
                        {
                            found.push((rid, *l));
                        }
                        Ok(())
                    },
                )?;
            }
            found.sort_unstable();
            candidates = Some(found);
        }
        if let Some((package, filter)) = &q.package {
            let mut label_of: HashMap<i64, u32> = HashMap::new();
            for (cid, v) in self.package_versions(package)? {
                if filter(&v) {
                    label_of.insert(cid, labels.len() as u32);
                    labels.push(v);
                }
            }
            let ids: Vec<i64> = label_of.keys().copied().collect();
            let found: Vec<(i64, u32)> = self
                .records_with_components(&ids)?
                .into_iter()
                .filter_map(|(rid, cid)| label_of.get(&cid).map(|l| (rid, *l)))
                .collect();
            candidates = Some(match candidates {
                None => found,
                Some(tc) => {
                    // Both filters must hold: keep records found by each.
                    let in_pkg: std::collections::HashSet<i64> =
                        found.iter().map(|p| p.0).collect();
                    let in_tc: std::collections::HashSet<i64> = tc.iter().map(|p| p.0).collect();
                    let mut both: Vec<(i64, u32)> = tc
                        .into_iter()
                        .filter(|p| in_pkg.contains(&p.0))
                        .chain(found.into_iter().filter(|p| in_tc.contains(&p.0)))
                        .collect();
                    both.sort_unstable();
                    both
                }
            });
        }
        if q.trusted_only {
            wheres.push("r.trust_state IN ('verified', 'observed')".into());
        }

        let select = "SELECT r.id, r.subjects, r.origin, r.trust_state, r.source_repo, r.source_commit, r.source_tag
             FROM records r";
        let limit = q.limit.unwrap_or(usize::MAX);
        let mut hits: Vec<Hit> = Vec::new();
        // One hit per subject digest of each record row, in image id order.
        let push_hits = |hits: &mut Vec<Hit>, r: &[backend::ValRef<'_>]| -> Result<()> {
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
            for digest in r[1]
                .text()
                .unwrap_or("")
                .split(' ')
                .filter(|d| !d.is_empty())
            {
                if hits.len() >= limit {
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
            }
            Ok(())
        };
        match candidates {
            None => {
                // Every record has at least one subject, so `limit` records
                // give at least `limit` hits.
                let mut sql = format!("{select} WHERE {} ORDER BY r.id", wheres.join(" AND "));
                if let Some(l) = q.limit {
                    sql.push_str(&format!(" LIMIT {l}"));
                }
                self.db
                    .each(&sql, &params, &mut |r| push_hits(&mut hits, r))?;
            }
            Some(found) => {
                let mut ids: Vec<i64> = found.iter().map(|p| p.0).collect();
                ids.dedup();
                hits.reserve(ids.len().min(limit));
                // Large slices on PostgreSQL (one round trip each); SQLite
                // builds an index for each IN list, so smaller ones there.
                let slice = match (self.db.kind(), q.limit) {
                    (BackendKind::Postgres, None) => 8 * postings::CHUNK,
                    _ => postings::CHUNK,
                };
                for chunk in ids.chunks(slice) {
                    if hits.len() >= limit {
                        break;
                    }
                    let mut w = wheres.clone();
                    w.push(format!("r.id IN ({})", placeholders(chunk.len())));
                    let mut p = params.clone();
                    p.extend(chunk.iter().map(|i| Val::Int(*i)));
                    let sql = format!("{select} WHERE {} ORDER BY r.id", w.join(" AND "));
                    self.db.each(&sql, &p, &mut |r| push_hits(&mut hits, r))?;
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
                        .map(|p| labels[p.1 as usize].clone())
                        .collect();
                    if m.len() > 1 {
                        m.sort();
                        m.dedup();
                    }
                    h.matched = m;
                }
            }
        }
        Ok(hits)
    }
}
