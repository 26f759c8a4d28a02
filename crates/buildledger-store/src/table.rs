//! The mapping table: one flattened row per image digest that has records.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::{Result, Store, Val, placeholders};

/// One row of the mapping table: everything known about a digest, flattened.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema, serde::Deserialize)]
pub struct TableRow {
    /// Image digest.
    pub digest: String,
    /// Source repositories.
    pub repos: Vec<String>,
    /// Tags built and references seen.
    pub tags: Vec<String>,
    /// Commits.
    pub commits: Vec<String>,
    /// `go@1.13.4`, …
    pub toolchains: Vec<String>,
    /// `v1beta1 (beta)`, …
    pub apis: Vec<String>,
    /// Distinct components across its records.
    pub components: u64,
    /// Number of records.
    pub records: u64,
    /// True when its records disagree on commit or repo.
    pub conflict: bool,
}

impl Store {
    /// The mapping table, one row per image digest that has records, in digest order.
    pub fn table(&mut self, limit: Option<usize>) -> Result<Vec<TableRow>> {
        self.table_range(None, None, limit)
    }

    /// Rows of the mapping table with digests after `after` (the first
    /// `limit` of them) or before `before` (the last `limit`), in digest
    /// order: a keyset page, read through the digest index from that
    /// position, so it costs the same anywhere in the table.
    pub fn table_range(
        &mut self,
        after: Option<&str>,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<TableRow>> {
        let lim = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        let mut wheres = vec!["EXISTS (SELECT 1 FROM record_subjects rs WHERE rs.image_id = i.id)"];
        let mut params: Vec<Val> = Vec::new();
        if let Some(a) = after {
            wheres.push("i.digest > ?");
            params.push(a.into());
        }
        if let Some(b) = before {
            wheres.push("i.digest < ?");
            params.push(b.into());
        }
        // Backwards from `before`, then turned round.
        let order = if before.is_some() && after.is_none() {
            "DESC"
        } else {
            "ASC"
        };
        let mut images = self.db.query(
            &format!(
                "SELECT i.id, i.digest FROM images i WHERE {}
                 ORDER BY i.digest {order}{lim}",
                wheres.join(" AND ")
            ),
            &params,
        )?;
        if order == "DESC" {
            images.reverse();
        }
        self.table_rows_of(&images)
    }

    /// The mapping-table rows of `digests` that have records, in the order
    /// given (a digest without records, or unknown, has no row).
    pub fn table_rows(&mut self, digests: &[&str]) -> Result<Vec<TableRow>> {
        let mut images = Vec::with_capacity(digests.len());
        for chunk in digests.chunks(400) {
            let params: Vec<Val> = chunk.iter().map(|d| Val::from(*d)).collect();
            images.extend(self.db.query(
                &format!(
                    "SELECT i.id, i.digest FROM images i WHERE i.digest IN ({})
                     AND EXISTS (SELECT 1 FROM record_subjects rs WHERE rs.image_id = i.id)",
                    placeholders(chunk.len())
                ),
                &params,
            )?);
        }
        let at: HashMap<&str, usize> = digests.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        images.sort_by_key(|r| {
            r[1].text()
                .and_then(|d| at.get(d).copied())
                .unwrap_or(usize::MAX)
        });
        self.table_rows_of(&images)
    }

    /// The rows of `images` (`id`, `digest` pairs), in that order.
    fn table_rows_of(&mut self, images: &[Vec<Val>]) -> Result<Vec<TableRow>> {
        let mut rows = Vec::with_capacity(images.len());
        for chunk in images.chunks(400) {
            let ids: Vec<Val> = chunk.iter().map(|r| r[0].clone()).collect();
            let ph = placeholders(ids.len());
            let mut by_image: HashMap<i64, TableRow> = HashMap::new();
            for r in chunk {
                by_image.insert(
                    r[0].int().unwrap_or_default(),
                    TableRow {
                        digest: r[1].text().unwrap_or("").to_string(),
                        repos: vec![],
                        tags: vec![],
                        commits: vec![],
                        toolchains: vec![],
                        apis: vec![],
                        components: 0,
                        records: 0,
                        conflict: false,
                    },
                );
            }
            let push = |v: &mut Vec<String>, s: Option<&str>| {
                if let Some(s) = s
                    && !v.iter().any(|x| x == s)
                {
                    v.push(s.to_string());
                }
            };
            for r in self.db.query(
                &format!(
                    "SELECT rs.image_id, r.source_repo, r.source_tag, r.source_commit FROM record_subjects rs
                     JOIN records r ON r.id = rs.record_id WHERE rs.image_id IN ({ph}) ORDER BY r.id"
                ),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    row.records += 1;
                    push(&mut row.repos, r[1].text());
                    push(&mut row.tags, r[2].text());
                    push(&mut row.commits, r[3].text());
                }
            }
            for r in self.db.query(
                &format!("SELECT image_id, reference FROM image_refs WHERE image_id IN ({ph}) ORDER BY reference"),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    push(&mut row.tags, r[1].text());
                }
            }
            for r in self.db.query(
                &format!(
                    "SELECT DISTINCT rs.image_id, t.name, t.version FROM record_subjects rs
                     JOIN record_toolchains t ON t.record_id = rs.record_id WHERE rs.image_id IN ({ph})
                     ORDER BY t.name, t.version"
                ),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    let s = format!("{}@{}", r[1].text().unwrap_or(""), r[2].text().unwrap_or(""));
                    push(&mut row.toolchains, Some(&s));
                }
            }
            for r in self.db.query(
                &format!(
                    "SELECT DISTINCT rs.image_id, a.version, a.stability FROM record_subjects rs
                     JOIN record_apis a ON a.record_id = rs.record_id WHERE rs.image_id IN ({ph})
                     ORDER BY a.version, a.stability"
                ),
                &ids,
            )? {
                if let Some(row) = by_image.get_mut(&r[0].int().unwrap_or_default()) {
                    let s = match r[1].text() {
                        Some(v) => format!("{v} ({})", r[2].text().unwrap_or("")),
                        None => r[2].text().unwrap_or("").to_string(),
                    };
                    push(&mut row.apis, Some(&s));
                }
            }
            let mut distinct: HashMap<i64, BTreeSet<i64>> = HashMap::new();
            for r in self.db.query(
                &format!(
                    "SELECT rs.image_id, l.record_id, l.components FROM record_subjects rs
                     JOIN record_links l ON l.record_id = rs.record_id WHERE rs.image_id IN ({ph})"
                ),
                &ids,
            )? {
                let links = Store::decode_record_links(r[1].int().unwrap_or_default(), &r[2])?;
                distinct
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .extend(links.into_iter().map(|l| l.0));
            }
            for (image, set) in distinct {
                if let Some(row) = by_image.get_mut(&image) {
                    row.components = set.len() as u64;
                }
            }
            for r in chunk {
                if let Some(mut row) = by_image.remove(&r[0].int().unwrap_or_default()) {
                    row.conflict = row.commits.len() > 1 || row.repos.len() > 1;
                    rows.push(row);
                }
            }
        }
        Ok(rows)
    }
}
