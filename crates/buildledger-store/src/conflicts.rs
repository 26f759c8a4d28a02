//! Conflicts: records that disagree on one field (source commit or
//! repository, a toolchain's version) for the same digest.

use std::collections::{BTreeMap, BTreeSet};

use buildledger_model::Digest;
use serde::Serialize;

use crate::{RecordId, Result, Store, StoredRecord, Val};

/// Two or more records that disagree on one field for the same digest.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema, serde::Deserialize)]
pub struct Conflict {
    /// `source.commit`, `source.repo`, `toolchain go`.
    pub field: String,
    /// Each value with the records that claim it.
    pub claims: Vec<Claim>,
}

/// One side of a conflict.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema, serde::Deserialize)]
pub struct Claim {
    /// The value.
    pub value: String,
    /// Records claiming it.
    pub records: Vec<RecordId>,
    /// Their origins (`ci`, `indexer`, …).
    pub origins: Vec<String>,
}

/// Normalise a repository URL for comparison: trim, drop a trailing `/` and
/// `.git`, lower-case the scheme and host.
pub fn normalize_repo(repo: &str) -> String {
    let mut r = repo.trim().trim_end_matches('/').to_string();
    if let Some(s) = r.strip_suffix(".git") {
        r = s.to_string();
    }
    if let Some((scheme, rest)) = r.split_once("://") {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut out = format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        );
        if !path.is_empty() {
            out.push('/');
            out.push_str(path);
        }
        return out;
    }
    r
}

impl Store {
    /// Digests that have both claims (records of any origin but `indexer`)
    /// and observations (records of origin `indexer`), in digest order: the
    /// digests a cross-check can compare.
    pub fn digests_claimed_and_observed(&mut self) -> Result<Vec<String>> {
        Ok(self
            .db
            .query(
                // From the indexer's records (few) to the other records of
                // their images, not a grouping of every image's records.
                "SELECT DISTINCT i.digest FROM records r
                 JOIN record_subjects rs ON rs.record_id = r.id
                 JOIN images i ON i.id = rs.image_id
                 WHERE r.origin = 'indexer' AND EXISTS (
                     SELECT 1 FROM record_subjects rs2 JOIN records r2 ON r2.id = rs2.record_id
                     WHERE rs2.image_id = rs.image_id AND r2.origin <> 'indexer')
                 ORDER BY i.digest",
                &[],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect())
    }

    /// Digests whose records disagree on the source commit or repository.
    pub fn conflicts(&mut self) -> Result<Vec<(String, Vec<Conflict>)>> {
        let rows = self.db.query(
            "SELECT i.digest FROM images i JOIN record_subjects rs ON rs.image_id = i.id
             JOIN records r ON r.id = rs.record_id
             GROUP BY i.digest
             HAVING COUNT(DISTINCT r.source_commit) > 1 OR COUNT(DISTINCT r.source_repo) > 1
             ORDER BY i.digest",
            &[],
        )?;
        let mut out = Vec::new();
        for r in rows {
            let d = Digest::parse(r[0].text().unwrap_or(""))?;
            if let Some(view) = self.show(&d)? {
                out.push((d.to_string(), view.conflicts));
            }
        }
        Ok(out)
    }
}

/// Fields on which `records` disagree: source commit and repository, and each
/// toolchain's version.
/// field → value → (records claiming it, their origins).
type Claims = BTreeMap<String, BTreeMap<String, (Vec<RecordId>, BTreeSet<String>)>>;

pub fn find_conflicts(records: &[StoredRecord]) -> Vec<Conflict> {
    let mut fields: Claims = BTreeMap::new();
    for r in records {
        let mut add = |field: String, value: String| {
            let e = fields.entry(field).or_default().entry(value).or_default();
            if !e.0.contains(&r.id) {
                e.0.push(r.id);
            }
            e.1.insert(r.record.origin.as_str().to_string());
        };
        if let Some(src) = &r.record.source {
            if let Some(c) = &src.commit {
                add("source.commit".into(), c.to_ascii_lowercase());
            }
            if let Some(repo) = &src.repo {
                add("source.repo".into(), normalize_repo(repo));
            }
        }
        for t in &r.record.toolchains {
            add(format!("toolchain {}", t.name), t.version.clone());
        }
    }
    let mut out = Vec::new();
    for (field, values) in fields {
        if values.len() > 1 {
            // A record listing two versions of one toolchain is not a conflict
            // with itself; only disagreement between records counts.
            let distinct_records: BTreeSet<RecordId> =
                values.values().flat_map(|v| v.0.iter().copied()).collect();
            if distinct_records.len() < 2 {
                continue;
            }
            out.push(Conflict {
                field,
                claims: values
                    .into_iter()
                    .map(|(value, (records, origins))| Claim {
                        value,
                        records,
                        origins: origins.into_iter().collect(),
                    })
                    .collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_normalise() {
        assert_eq!(
            normalize_repo("HTTPS://GitHub.com/Org/Repo.git/"),
            "https://github.com/Org/Repo"
        );
        assert_eq!(
            normalize_repo("https://github.com/org/repo"),
            "https://github.com/org/repo"
        );
        assert_eq!(
            normalize_repo("git@github.com:org/repo.git"),
            "git@github.com:org/repo"
        );
    }
}
