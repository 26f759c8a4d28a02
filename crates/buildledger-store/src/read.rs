//! Reads: counts, records by id, everything known about one digest,
//! toolchain and package versions.

use std::collections::{BTreeMap, HashMap};

use buildledger_model::{BuildRecord, Digest};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    Conflict, RecordId, Result, Store, StoreError, Val, find_conflicts, ms_to_time, placeholders,
    postings,
};

/// A stored body back into a record. The fields only the ledger sets
/// (origin, trust, record time) are never deserialised from a
/// [`BuildRecord`]'s JSON (so no submitted document can carry them); a body
/// the ledger wrote keeps them, and they are taken from it here.
fn decode_body(body: &str) -> std::result::Result<BuildRecord, serde_json::Error> {
    let mut v: serde_json::Value = serde_json::from_str(body)?;
    let mut take = |k: &str| {
        v.as_object_mut()
            .and_then(|o| o.remove(k))
            .unwrap_or(serde_json::Value::Null)
    };
    let origin = take("origin");
    let trust = take("trust");
    let record_time = take("record_time");
    let mut rec: BuildRecord = serde_json::from_value(v)?;
    if !origin.is_null() {
        rec.origin = serde_json::from_value(origin)?;
    }
    if !trust.is_null() {
        rec.trust = serde_json::from_value(trust)?;
    }
    if !record_time.is_null() {
        rec.record_time = serde_json::from_value(record_time)?;
    }
    Ok(rec)
}

/// Everything the ledger knows about one digest.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct ImageView {
    /// The digest asked about.
    pub digest: Digest,
    /// Media type, when known.
    pub media_type: Option<String>,
    /// When the ledger first saw it.
    pub first_seen: DateTime<Utc>,
    /// References (repo:tag) it was seen under.
    pub references: Vec<String>,
    /// For an index: its per-platform manifests.
    pub manifests: Vec<Link>,
    /// For a platform manifest: the indexes that list it.
    pub indexes: Vec<Link>,
    /// Every record about it, oldest first.
    pub records: Vec<StoredRecord>,
    /// Records that used this image as a base or builder image.
    pub used_by: Vec<UsedBy>,
    /// Fields on which records disagree.
    pub conflicts: Vec<Conflict>,
}

/// An index ↔ manifest link.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct Link {
    /// The other digest.
    pub digest: String,
    /// Its platform.
    pub platform: Option<String>,
}

/// A record that used an image.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct UsedBy {
    /// The record.
    pub record_id: RecordId,
    /// base or builder.
    pub role: String,
    /// The record's subject digests.
    pub subjects: Vec<String>,
}

/// A stored record with its id.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StoredRecord {
    /// Record id.
    pub id: RecordId,
    /// The record as stored (record_time set).
    #[serde(flatten)]
    pub record: BuildRecord,
}

/// A stored record read back from the ledger's own output (`show --json`,
/// `GET /api/v1/images/{digest}`): unlike a submitted [`BuildRecord`], it
/// keeps the fields the ledger set (`origin`, `trust`, `record_time`). Only
/// a client of a ledger it trusts (the CLI talking to its server over TLS)
/// reads this; a submission is never read as a `StoredRecord`.
impl<'de> serde::Deserialize<'de> for StoredRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut v = serde_json::Value::deserialize(d)?;
        let id = v
            .as_object_mut()
            .and_then(|o| o.remove("id"))
            .and_then(|i| i.as_i64())
            .ok_or_else(|| D::Error::missing_field("id"))?;
        let body = serde_json::to_string(&v).map_err(D::Error::custom)?;
        let record = decode_body(&body).map_err(D::Error::custom)?;
        Ok(StoredRecord { id, record })
    }
}

/// Counts of what is stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema, serde::Deserialize)]
pub struct Stats {
    /// Image digests.
    pub images: u64,
    /// Records.
    pub records: u64,
    /// Distinct components.
    pub components: u64,
    /// Record→component links.
    pub component_links: u64,
}

/// Component purls a store keeps (see [`Store::purls_of`]).
const PURL_CACHE_MAX: usize = 100_000;

impl Store {
    /// Hold at most `mib` MiB of database pages in this connection's own
    /// cache (SQLite; the default is 64 MiB, good for one process that
    /// ingests or queries a large ledger). A server that keeps several
    /// connections open shares one budget between them; the operating
    /// system's cache still holds the file. No effect on PostgreSQL, whose
    /// cache is the server's.
    pub fn limit_cache(&mut self, mib: u32) -> Result<()> {
        if self.db.kind() == crate::BackendKind::Sqlite {
            self.db.batch(&format!(
                "PRAGMA cache_size = -{}",
                u64::from(mib.max(1)) * 1024
            ))?;
        }
        Ok(())
    }

    /// Keep at most `images` image ids and `components` component ids
    /// between writes (defaults 10,000 and 100,000): a long-lived store
    /// otherwise keeps every digest it ever wrote. Past a limit the map
    /// starts again empty; ids are read again as needed. Small limits are
    /// for tests.
    pub fn limit_id_caches(&mut self, images: usize, components: usize) {
        self.id_cache_limits = (images.max(1), components.max(1));
    }

    /// Ids the store keeps now: (images, components).
    pub fn id_cache_len(&self) -> (usize, usize) {
        (self.image_ids.len(), self.component_ids.len())
    }

    /// Bytes the ledger takes on disk: the SQLite file after a WAL
    /// checkpoint, or the PostgreSQL schema's tables with their indexes and
    /// TOAST after `ANALYZE`. For benchmarks and `info`; writes nothing a
    /// reader would see.
    pub fn size_on_disk(&mut self) -> Result<u64> {
        match self.db.kind() {
            crate::BackendKind::Sqlite => {
                let _ = self.db.batch("PRAGMA wal_checkpoint(TRUNCATE)");
                Ok(std::fs::metadata(&self.target)
                    .map(|m| m.len())
                    .unwrap_or(0))
            }
            crate::BackendKind::Postgres => {
                let _ = self.db.batch("ANALYZE");
                Ok(self
                    .db
                    .query(
                        "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                        &[],
                    )?
                    .first()
                    .and_then(|r| r[0].int())
                    .unwrap_or(0) as u64)
            }
        }
    }

    /// Counts of stored objects.
    pub fn stats(&mut self) -> Result<Stats> {
        let mut count = |sql: &str| -> Result<u64> {
            Ok(self
                .db
                .query(sql, &[])?
                .first()
                .and_then(|r| r[0].int())
                .unwrap_or(0) as u64)
        };
        Ok(Stats {
            images: count("SELECT COUNT(*) FROM images")?,
            records: count("SELECT COUNT(*) FROM records")?,
            components: count("SELECT COUNT(*) FROM components")?,
            component_links: count(
                "SELECT CAST(COALESCE(SUM(component_count), 0) AS BIGINT) FROM record_links",
            )?,
        })
    }

    /// Load records by id, in id order.
    pub fn records_by_id(&mut self, ids: &[RecordId]) -> Result<Vec<StoredRecord>> {
        self.records_by_id_with(ids, true)
    }

    /// [`Store::records_by_id`]; without `components`, each record's
    /// component list is left as its stored body has it (empty since schema
    /// v4: the links are not read, which is most of the cost).
    pub fn records_by_id_with(
        &mut self,
        ids: &[RecordId],
        components: bool,
    ) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            let sql = format!(
                "SELECT record_id, body FROM record_bodies WHERE record_id IN ({}) ORDER BY record_id",
                placeholders(chunk.len())
            );
            let mut by_id: HashMap<i64, usize> = HashMap::new();
            let first = out.len();
            for row in self.db.query(&sql, &params)? {
                let id = row[0].int().unwrap_or_default();
                let body = row[1].text().unwrap_or("");
                let record = decode_body(body)
                    .map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))?;
                by_id.insert(id, out.len());
                out.push(StoredRecord { id, record });
            }
            if !components {
                continue;
            }
            // Components come back from the links (bodies written before
            // schema v4 still carry their own list and are left as they are).
            let had_own: Vec<bool> = out[first..]
                .iter()
                .map(|r| !r.record.components.is_empty())
                .collect();
            let links = self.components_of_records(chunk)?;
            let mut extras: HashMap<(i64, i64), String> = HashMap::new();
            for row in self.db.query(
                &format!(
                    "SELECT record_id, component_id, extra FROM record_component_extras WHERE record_id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
            )? {
                if let (Some(r), Some(c), Some(x)) = (row[0].int(), row[1].int(), row[2].text()) {
                    extras.insert((r, c), x.to_string());
                }
            }
            let mut cids: Vec<i64> = links.iter().map(|l| l.1).collect();
            cids.sort_unstable();
            cids.dedup();
            let purls = self.purls_of(&cids)?;
            for (id, cid, scope) in links {
                let Some(&i) = by_id.get(&id) else { continue };
                if had_own[i - first] {
                    continue;
                }
                let text = purls.get(&cid).ok_or_else(|| {
                    StoreError::Corrupt(format!("record {id}: component {cid} is missing"))
                })?;
                let purl = buildledger_model::Purl::parse(text)
                    .map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))?;
                let scope = if scope == 1 {
                    buildledger_model::Scope::Build
                } else {
                    buildledger_model::Scope::Runtime
                };
                let (mut hashes, mut location) = (BTreeMap::new(), None);
                if let Some(extra) = extras.get(&(id, cid)) {
                    let v: serde_json::Value = serde_json::from_str(extra).map_err(|e| {
                        StoreError::Corrupt(format!("record {id}: component extra: {e}"))
                    })?;
                    if let Some(h) = v.get("hashes").and_then(|h| h.as_object()) {
                        for (k, val) in h {
                            hashes.insert(k.clone(), val.as_str().unwrap_or_default().to_string());
                        }
                    }
                    location = v.get("location").and_then(|l| l.as_str()).map(String::from);
                }
                out[i].record.components.push(buildledger_model::Component {
                    purl,
                    hashes,
                    scope,
                    location,
                });
            }
            for (r, own) in out[first..].iter_mut().zip(had_own) {
                if !own {
                    r.record
                        .components
                        .sort_by(|a, b| a.purl.as_str().cmp(b.purl.as_str()));
                }
            }
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// The purl of each component id in `ids`. A component's row never
    /// changes once committed, so purls read are kept (up to
    /// `PURL_CACHE_MAX`; dropped on rollback, when an id may be reused):
    /// an image's ~100 components then cost no statement.
    pub(crate) fn purls_of(&mut self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut missing: Vec<i64> = Vec::new();
        for id in ids {
            match self.purl_cache.get(id) {
                Some(p) => {
                    out.insert(*id, p.clone());
                }
                None => missing.push(*id),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        if self.purl_cache.len() + missing.len() > PURL_CACHE_MAX {
            self.purl_cache.clear();
        }
        for chunk in missing.chunks(postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            for row in self.db.query(
                &format!(
                    "SELECT id, purl FROM components WHERE id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
            )? {
                if let (Some(id), Some(p)) = (row[0].int(), row[1].text()) {
                    self.purl_cache.insert(id, p.to_string());
                    out.insert(id, p.to_string());
                }
            }
        }
        Ok(out)
    }

    /// The per-platform manifests of `digest` when it is an index the
    /// ledger knows (empty otherwise): `show`'s `manifests` without the rest.
    pub fn manifests_of(&mut self, digest: &str) -> Result<Vec<Link>> {
        Ok(self
            .db
            .query(
                "SELECT i.digest, m.platform FROM image_manifests m
                 JOIN images x ON x.id = m.index_id JOIN images i ON i.id = m.manifest_id
                 WHERE x.digest = ? ORDER BY m.platform, i.digest",
                &[digest.into()],
            )?
            .into_iter()
            .map(|r| Link {
                digest: r[0].text().unwrap_or("").to_string(),
                platform: r[1].clone().into_text(),
            })
            .collect())
    }

    /// Everything known about `digest`, or None if the ledger never saw it.
    pub fn show(&mut self, digest: &Digest) -> Result<Option<ImageView>> {
        self.show_with(digest, true)
    }

    /// Image digests that start with `prefix` (`sha256:` and hex digits
    /// only, else none), in digest order, at most `limit`.
    pub fn digests_with_prefix(&mut self, prefix: &str, limit: usize) -> Result<Vec<String>> {
        let hex = prefix.strip_prefix("sha256:").unwrap_or("");
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) || limit == 0 {
            return Ok(Vec::new());
        }
        // Only hex digits follow: nothing in the pattern is a wildcard.
        Ok(self
            .db
            .query(
                &format!(
                    "SELECT digest FROM images WHERE digest LIKE ? ORDER BY digest LIMIT {limit}"
                ),
                &[format!("sha256:{hex}%").as_str().into()],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect())
    }

    /// [`Store::show`] without what a policy decision does not read: the
    /// records' components (see [`Store::records_by_id_with`]), the records
    /// that use the image (`used_by` empty) and the conflicts (empty).
    pub fn show_summary(&mut self, digest: &Digest) -> Result<Option<ImageView>> {
        self.show_with(digest, false)
    }

    fn show_with(&mut self, digest: &Digest, full: bool) -> Result<Option<ImageView>> {
        let rows = self.db.query(
            "SELECT id, media_type, first_seen FROM images WHERE digest = ?",
            &[digest.as_str().into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let iid = row[0].int().unwrap_or_default();
        let media_type = row[1].clone().into_text();
        let first_seen = ms_to_time(row[2].int().unwrap_or_default());
        let references = self
            .db
            .query(
                "SELECT reference FROM image_refs WHERE image_id = ? ORDER BY reference",
                &[Val::Int(iid)],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect();
        let link = |rows: Vec<Vec<Val>>| -> Vec<Link> {
            rows.into_iter()
                .map(|r| Link {
                    digest: r[0].text().unwrap_or("").to_string(),
                    platform: r[1].clone().into_text(),
                })
                .collect()
        };
        let manifests = link(self.db.query(
            "SELECT i.digest, m.platform FROM image_manifests m JOIN images i ON i.id = m.manifest_id
             WHERE m.index_id = ? ORDER BY m.platform, i.digest",
            &[Val::Int(iid)],
        )?);
        let indexes = link(self.db.query(
            "SELECT i.digest, m.platform FROM image_manifests m JOIN images i ON i.id = m.index_id
             WHERE m.manifest_id = ? ORDER BY i.digest",
            &[Val::Int(iid)],
        )?);
        let ids: Vec<i64> = self
            .db
            .query(
                "SELECT record_id FROM record_subjects WHERE image_id = ? ORDER BY record_id",
                &[Val::Int(iid)],
            )?
            .iter()
            .filter_map(|r| r[0].int())
            .collect();
        let records = self.records_by_id_with(&ids, full)?;
        let mut used_by = Vec::new();
        let used_by_rows = if full {
            self.db.query(
            "SELECT ri.record_id, ri.role FROM record_images ri WHERE ri.image_id = ? ORDER BY ri.record_id",
            &[Val::Int(iid)],
        )?
        } else {
            Vec::new()
        };
        for r in used_by_rows {
            let rid = r[0].int().unwrap_or_default();
            let subjects = self
                .db
                .query(
                    "SELECT i.digest FROM record_subjects rs JOIN images i ON i.id = rs.image_id
                     WHERE rs.record_id = ? ORDER BY i.digest",
                    &[Val::Int(rid)],
                )?
                .into_iter()
                .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
                .collect();
            used_by.push(UsedBy {
                record_id: rid,
                role: r[1].text().unwrap_or("").to_string(),
                subjects,
            });
        }
        let conflicts = if full {
            find_conflicts(&records)
        } else {
            Vec::new()
        };
        Ok(Some(ImageView {
            digest: digest.clone(),
            media_type,
            first_seen,
            references,
            manifests,
            indexes,
            records,
            used_by,
            conflicts,
        }))
    }

    /// Distinct versions recorded for toolchain `name`, in order (schema
    /// v17's `toolchain_versions`: one index range).
    pub fn toolchain_versions(&mut self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .db
            .query(
                "SELECT version FROM toolchain_versions WHERE name = ? ORDER BY version",
                &[name.into()],
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .collect())
    }

    /// Component ids and versions stored for `package` (a purl without version).
    pub fn package_versions(&mut self, package: &str) -> Result<Vec<(i64, String)>> {
        // Names some ecosystems compare without case are looked up by their
        // match key (the lower-cased package, indexed).
        let ty = package
            .strip_prefix("pkg:")
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let (sql, key) = if buildledger_model::ignores_name_case(ty) {
            (
                "SELECT id, version FROM components WHERE match_key = ? ORDER BY version",
                package.to_ascii_lowercase(),
            )
        } else {
            (
                "SELECT id, version FROM components WHERE package = ? ORDER BY version",
                package.to_string(),
            )
        };
        Ok(self
            .db
            .query(sql, &[key.into()])?
            .into_iter()
            .map(|r| {
                (
                    r[0].int().unwrap_or_default(),
                    r[1].text().unwrap_or("").to_string(),
                )
            })
            .collect())
    }
}
