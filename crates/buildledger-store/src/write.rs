//! Writes: records (validated, batched multi-row inserts), images and
//! components (one row per distinct digest or purl).

use std::collections::{BTreeMap, BTreeSet};

use buildledger_model::BuildRecord;

use crate::backend::BackendKind;
use crate::{
    AuditEntry, RecordId, Result, Store, StoreError, Val, ms_to_time, normalize_repo, now_ms,
    placeholders, postings,
};

/// Rows per multi-row INSERT.
const INSERT_CHUNK: usize = 200;

/// Records per `insert_records` call within `record_many`.
const RECORD_BATCH: usize = 500;

/// Image ids a store keeps between writes (about 100 bytes each); past
/// this the map starts again empty.
pub(crate) const MAX_IMAGE_IDS: usize = 10_000;
/// Component ids a store keeps between writes (purls repeat across builds:
/// worth keeping, but not without bound).
pub(crate) const MAX_COMPONENT_IDS: usize = 100_000;
/// Toolchain versions a store remembers having written.
const MAX_TOOLCHAIN_VERSIONS: usize = 10_000;

impl Store {
    /// Store one record in its own transaction. The record is validated first;
    /// an invalid record stores nothing.
    pub fn record(&mut self, rec: &BuildRecord) -> Result<RecordId> {
        rec.validate()?;
        self.transaction(|s| s.insert_record(rec))
    }

    /// Store many records in one transaction (all or none); returns their ids.
    pub fn record_many(&mut self, recs: &[BuildRecord]) -> Result<Vec<RecordId>> {
        for (i, r) in recs.iter().enumerate() {
            r.validate().map_err(|e| e.within(&format!("[{i}]")))?;
        }
        self.transaction(|s| {
            let mut ids = Vec::with_capacity(recs.len());
            for chunk in recs.chunks(RECORD_BATCH) {
                ids.extend(s.insert_records(chunk)?);
            }
            Ok(ids)
        })
    }

    /// The id of `digest` in `images`, inserting it if new. Call inside a transaction.
    pub fn image_id(&mut self, digest: &str, media_type: Option<&str>) -> Result<i64> {
        let wanted = BTreeMap::from([(digest, media_type)]);
        self.image_ids(&wanted)?;
        self.image_ids
            .get(digest)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("image {digest} has no id")))
    }

    /// Ids of every purl in `purls` this store does not know yet: one
    /// multi-row insert and one select per slice, instead of an insert and
    /// a select per purl (a CLI process, which starts with nothing known,
    /// spent ~30 round trips per record here on PostgreSQL). Inserted in
    /// purl order, so two transactions bringing the same new purls wait
    /// for each other in one order.
    fn resolve_components(&mut self, purls: &[&buildledger_model::Purl]) -> Result<()> {
        if self.component_ids.len() + purls.len() > self.id_cache_limits.1 {
            self.component_ids.clear();
        }
        let todo: BTreeMap<&str, &buildledger_model::Purl> = purls
            .iter()
            .filter(|p| !self.component_ids.contains_key(p.as_str()))
            .map(|p| (p.as_str(), *p))
            .collect();
        let todo: Vec<&buildledger_model::Purl> = todo.into_values().collect();
        for chunk in todo.chunks(INSERT_CHUNK) {
            let mut sql =
                String::from("INSERT INTO components (purl, package, version, match_key) VALUES ");
            let mut params = Vec::with_capacity(chunk.len() * 4);
            for (i, p) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 {
                    "(?, ?, ?, ?)"
                } else {
                    ", (?, ?, ?, ?)"
                });
                params.extend([
                    Val::from(p.as_str()),
                    p.package().into(),
                    p.version().unwrap_or("").into(),
                    p.match_key().into(),
                ]);
            }
            sql.push_str(" ON CONFLICT (purl) DO NOTHING RETURNING id, purl");
            for r in self.db.query(&sql, &params)? {
                if let (Some(id), Some(p)) = (r[0].int(), r[1].text()) {
                    self.tx_new_components.push(p.to_string());
                    self.component_ids.insert(p.to_string(), id);
                }
            }
            // The rest were there already.
            let known: Vec<Val> = chunk
                .iter()
                .filter(|p| !self.component_ids.contains_key(p.as_str()))
                .map(|p| Val::from(p.as_str()))
                .collect();
            if known.is_empty() {
                continue;
            }
            let rows = self.db.query(
                &format!(
                    "SELECT id, purl FROM components WHERE purl IN ({})",
                    placeholders(known.len())
                ),
                &known,
            )?;
            for r in rows {
                if let (Some(id), Some(p)) = (r[0].int(), r[1].text()) {
                    self.component_ids.insert(p.to_string(), id);
                }
            }
            if let Some(p) = chunk
                .iter()
                .find(|p| !self.component_ids.contains_key(p.as_str()))
            {
                return Err(StoreError::Corrupt(format!(
                    "component {p} vanished during insert"
                )));
            }
        }
        Ok(())
    }

    fn component_id(&mut self, purl: &buildledger_model::Purl) -> Result<i64> {
        if let Some(id) = self.component_ids.get(purl.as_str()) {
            return Ok(*id);
        }
        if self.component_ids.len() >= self.id_cache_limits.1 {
            // A long-lived store (a server's pooled connection) would
            // otherwise keep every purl it ever wrote.
            self.component_ids.clear();
        }
        let version = purl.version().unwrap_or("");
        let rows = self.db.query(
            "INSERT INTO components (purl, package, version, match_key) VALUES (?, ?, ?, ?)
             ON CONFLICT (purl) DO NOTHING RETURNING id",
            &[
                purl.as_str().into(),
                purl.package().into(),
                version.into(),
                purl.match_key().into(),
            ],
        )?;
        let id = match rows.first().and_then(|r| r[0].int()) {
            Some(id) => {
                self.tx_new_components.push(purl.as_str().to_string());
                id
            }
            None => self
                .db
                .query(
                    "SELECT id FROM components WHERE purl = ?",
                    &[purl.as_str().into()],
                )?
                .first()
                .and_then(|r| r[0].int())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("component {purl} vanished during insert"))
                })?,
        };
        self.component_ids.insert(purl.as_str().to_string(), id);
        Ok(id)
    }

    pub(crate) fn insert_rows(
        &mut self,
        table_and_cols: &str,
        width: usize,
        rows: Vec<Val>,
        conflict: &str,
    ) -> Result<()> {
        debug_assert_eq!(rows.len() % width, 0);
        let one = format!("({})", placeholders(width));
        for chunk in rows.chunks(width * INSERT_CHUNK) {
            let n = chunk.len() / width;
            let mut sql = format!("INSERT INTO {table_and_cols} VALUES ");
            for i in 0..n {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&one);
            }
            sql.push_str(conflict);
            self.db.exec(&sql, chunk)?;
        }
        Ok(())
    }

    /// Insert a validated record inside the current transaction.
    pub fn insert_record(&mut self, rec: &BuildRecord) -> Result<RecordId> {
        let ids = self.insert_records(std::slice::from_ref(rec))?;
        ids.first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("insert gave no record id".into()))
    }

    /// The largest record id (0 for an empty ledger).
    pub(crate) fn max_record_id(&mut self) -> Result<i64> {
        Ok(self
            .db
            .query("SELECT COALESCE(MAX(id), 0) FROM records", &[])?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0))
    }

    /// Ids for `n` new records. SQLite has one writer (the open transaction
    /// holds the write lock), so the next ids follow the largest; PostgreSQL
    /// draws them from the identity sequence.
    fn allocate_record_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        match self.db.kind() {
            BackendKind::Sqlite => {
                let max = self.max_record_id()?;
                Ok((1..=n as i64).map(|i| max + i).collect())
            }
            BackendKind::Postgres => {
                let mut ids: Vec<i64> = self
                    .db
                    .query(
                        "SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, ?)",
                        &[Val::Int(n as i64)],
                    )?
                    .iter()
                    .filter_map(|r| r[0].int())
                    .collect();
                ids.sort_unstable();
                if ids.len() != n {
                    return Err(StoreError::Corrupt(format!(
                        "asked for {n} record ids, got {}",
                        ids.len()
                    )));
                }
                Ok(ids)
            }
        }
    }

    /// Ids of many image digests, inserting the new ones with one statement
    /// per slice; a known image without a media type takes the one given.
    fn image_ids(&mut self, wanted: &BTreeMap<&str, Option<&str>>) -> Result<()> {
        if self.image_ids.len() + wanted.len() > self.id_cache_limits.0 {
            // Every digest a server's pooled connection ever wrote would
            // stay otherwise; the ids asked for are read again below.
            self.image_ids.clear();
            self.image_typed.clear();
        }
        let mut todo: Vec<(&str, Option<&str>)> = Vec::new();
        for (&d, &m) in wanted {
            match self.image_ids.get(d) {
                None => todo.push((d, m)),
                Some(&id) => {
                    if let Some(m) = m
                        && !self.image_typed.contains(&id)
                    {
                        self.db.exec(
                            "UPDATE images SET media_type = ? WHERE id = ? AND media_type IS NULL",
                            &[m.into(), Val::Int(id)],
                        )?;
                        self.image_typed.insert(id);
                    }
                }
            }
        }
        let now = now_ms();
        for chunk in todo.chunks(INSERT_CHUNK) {
            let mut sql =
                String::from("INSERT INTO images (digest, media_type, first_seen) VALUES ");
            let mut params = Vec::with_capacity(chunk.len() * 3);
            for (i, (d, m)) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
                params.extend([Val::from(*d), Val::from(*m), Val::Int(now)]);
            }
            sql.push_str(" ON CONFLICT (digest) DO NOTHING RETURNING id, digest");
            for r in self.db.query(&sql, &params)? {
                if let (Some(id), Some(d)) = (r[0].int(), r[1].text()) {
                    if wanted.get(d).is_some_and(|m| m.is_some()) {
                        self.image_typed.insert(id);
                    }
                    self.image_ids.insert(d.to_string(), id);
                    self.tx_new_images.push(d.to_string());
                }
            }
            // The rest were there already.
            let known: Vec<(&str, Option<&str>)> = chunk
                .iter()
                .filter(|(d, _)| !self.image_ids.contains_key(*d))
                .copied()
                .collect();
            if known.is_empty() {
                continue;
            }
            let params: Vec<Val> = known.iter().map(|(d, _)| Val::from(*d)).collect();
            let rows = self.db.query(
                &format!(
                    "SELECT id, digest, media_type FROM images WHERE digest IN ({})",
                    placeholders(params.len())
                ),
                &params,
            )?;
            for r in rows {
                let (Some(id), Some(d)) = (r[0].int(), r[1].text()) else {
                    continue;
                };
                if r[2] != Val::Null {
                    self.image_typed.insert(id);
                } else if let Some(Some(m)) = wanted.get(d) {
                    self.db.exec(
                        "UPDATE images SET media_type = ? WHERE id = ? AND media_type IS NULL",
                        &[(*m).into(), Val::Int(id)],
                    )?;
                    self.image_typed.insert(id);
                }
                self.image_ids.insert(d.to_string(), id);
            }
            if let Some((d, _)) = known.iter().find(|(d, _)| !self.image_ids.contains_key(*d)) {
                return Err(StoreError::Corrupt(format!(
                    "image {d} vanished during insert"
                )));
            }
        }
        Ok(())
    }

    /// Insert validated records inside the current transaction, with one
    /// statement per table (per slice of rows) for the whole batch rather
    /// than per record. Returns their ids, in order.
    pub fn insert_records(&mut self, recs: &[BuildRecord]) -> Result<Vec<RecordId>> {
        Ok(self.insert_records_marked(recs)?.0)
    }

    /// [`Store::insert_records`], also returning for each record the
    /// [`Store::new_components_mark`] before its components were inserted,
    /// and the mark after the last: record `k` added the components between
    /// `marks[k]` and `marks[k + 1]` (so each can be matched on its own).
    pub fn insert_records_marked(
        &mut self,
        recs: &[BuildRecord],
    ) -> Result<(Vec<RecordId>, Vec<usize>)> {
        let mut marks = Vec::with_capacity(recs.len() + 1);
        if recs.is_empty() {
            marks.push(self.new_components_mark());
            return Ok((Vec::new(), marks));
        }
        let now = now_ms();

        // Components: one row per distinct purl, linked once per record
        // (runtime wins over build when a purl is listed twice).
        type Links = BTreeMap<i64, (u8, Option<String>)>;
        let mut all_links: Vec<Links> = Vec::with_capacity(recs.len());
        for rec in recs {
            marks.push(self.new_components_mark());
            let purls: Vec<&buildledger_model::Purl> =
                rec.components.iter().map(|c| &c.purl).collect();
            self.resolve_components(&purls)?;
            let mut links: Links = BTreeMap::new();
            for c in &rec.components {
                let cid = self.component_id(&c.purl)?;
                let scope = match c.scope {
                    buildledger_model::Scope::Runtime => 0,
                    buildledger_model::Scope::Build => 1,
                };
                let extra = if c.hashes.is_empty() && c.location.is_none() {
                    None
                } else {
                    Some(
                        serde_json::json!({"hashes": c.hashes, "location": c.location}).to_string(),
                    )
                };
                let e = links.entry(cid).or_insert((scope, extra.clone()));
                if scope < e.0 {
                    *e = (scope, extra);
                }
            }
            all_links.push(links);
        }
        marks.push(self.new_components_mark());

        // Images: subjects, their platform manifests, base and builder images.
        let mut wanted: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for rec in recs {
            for s in &rec.subjects {
                let m = wanted.entry(s.digest.as_str()).or_insert(None);
                if m.is_none() {
                    *m = s.media_type.as_deref();
                }
                for mf in &s.manifests {
                    wanted.entry(mf.digest.as_str()).or_insert(None);
                }
            }
            for u in &rec.images {
                wanted.entry(u.digest.as_str()).or_insert(None);
            }
        }
        self.image_ids(&wanted)?;
        let iid = |s: &Store, d: &str| -> Result<i64> {
            s.image_ids
                .get(d)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("image {d} has no id")))
        };

        let ids = self.allocate_record_ids(recs.len())?;
        let mut records = Vec::with_capacity(recs.len() * 12);
        let mut bodies = Vec::with_capacity(recs.len() * 2);
        let mut link_rows = Vec::with_capacity(recs.len() * 3);
        let mut pending = Vec::with_capacity(recs.len());
        let (mut subjects_rows, mut refs, mut manifests, mut used_rows) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut toolchains, mut apis, mut extras) = (Vec::new(), Vec::new(), Vec::new());
        for ((rec, links), &rid) in recs.iter().zip(all_links).zip(&ids) {
            // The body keeps everything but the components, which live (once)
            // in `components` and on the links; `records_by_id` puts them back.
            let body = {
                let stored = BuildRecord {
                    schema_version: rec.schema_version,
                    subjects: rec.subjects.clone(),
                    source: rec.source.clone(),
                    builder: rec.builder.clone(),
                    images: rec.images.clone(),
                    toolchains: rec.toolchains.clone(),
                    languages: rec.languages.clone(),
                    components: Vec::new(),
                    apis: rec.apis.clone(),
                    labels: rec.labels.clone(),
                    build_time: rec.build_time,
                    record_time: Some(ms_to_time(now)),
                    origin: rec.origin,
                    trust: rec.trust.clone(),
                };
                serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?
            };

            // Subjects (with index → manifest links) in image id order; the
            // record row keeps their digests so hits are read without a join.
            let mut subjects: BTreeMap<i64, &str> = BTreeMap::new();
            for s in &rec.subjects {
                let i = iid(self, s.digest.as_str())?;
                subjects.insert(i, s.digest.as_str());
                for r in &s.references {
                    refs.extend([Val::Int(i), r.as_str().into(), Val::Int(now)]);
                }
                for m in &s.manifests {
                    let mi = iid(self, m.digest.as_str())?;
                    subjects.insert(mi, m.digest.as_str());
                    manifests.extend([Val::Int(i), Val::Int(mi), m.platform.clone().into()]);
                }
            }
            let subject_list = subjects.values().copied().collect::<Vec<_>>().join(" ");
            subjects_rows.extend(subjects.keys().flat_map(|i| [Val::Int(rid), Val::Int(*i)]));

            let src = rec.source.clone().unwrap_or_default();
            records.extend([
                Val::Int(rid),
                Val::Int(now),
                rec.build_time.map(|t| t.timestamp_millis()).into(),
                rec.origin.as_str().into(),
                rec.trust.state.as_str().into(),
                rec.trust.key_id.clone().into(),
                rec.builder.as_ref().map(|b| b.id.clone()).into(),
                src.repo.as_deref().map(normalize_repo).into(),
                src.commit.as_deref().map(|c| c.to_ascii_lowercase()).into(),
                src.tag.clone().into(),
                src.dirty.map(i64::from).into(),
                subject_list.into(),
            ]);
            bodies.extend([Val::Int(rid), body.into()]);

            let packed: Vec<(i64, u8)> = links.iter().map(|(c, (s, _))| (*c, *s)).collect();
            link_rows.extend([
                Val::Int(rid),
                Val::Int(packed.len() as i64),
                Val::Blob(postings::encode_links(&packed)),
            ]);
            for (c, (_, extra)) in links {
                if let Some(x) = extra {
                    extras.extend([Val::Int(rid), Val::Int(c), x.into()]);
                }
            }
            pending.push(Val::Int(rid));

            let mut used = BTreeSet::new();
            for u in &rec.images {
                used.insert((iid(self, u.digest.as_str())?, u.role.as_str()));
            }
            used_rows.extend(
                used.iter()
                    .flat_map(|(i, role)| [Val::Int(rid), Val::Int(*i), (*role).into()]),
            );
            let tcs: BTreeSet<(&str, &str)> = rec
                .toolchains
                .iter()
                .map(|t| (t.name.as_str(), t.version.as_str()))
                .collect();
            toolchains.extend(
                tcs.iter()
                    .flat_map(|(n, v)| [Val::Int(rid), (*n).into(), (*v).into()]),
            );
            apis.extend(rec.apis.iter().flat_map(|a| {
                [
                    Val::Int(rid),
                    a.kind.as_str().into(),
                    a.name.as_str().into(),
                    a.version.clone().into(),
                    a.stability.as_str().into(),
                ]
            }));
        }

        self.insert_rows(
            "records (id, record_time, build_time, origin, trust_state, trust_key, builder_id,
                      source_repo, source_commit, source_tag, source_dirty, subjects)",
            12,
            records,
            "",
        )?;
        self.insert_rows("record_bodies (record_id, body)", 2, bodies, "")?;
        self.insert_link_rows(link_rows, extras)?;
        self.insert_rows(
            "record_subjects (record_id, image_id)",
            2,
            subjects_rows,
            "",
        )?;
        self.insert_rows(
            "image_refs (image_id, reference, first_seen)",
            3,
            refs,
            " ON CONFLICT (image_id, reference) DO NOTHING",
        )?;
        self.insert_rows(
            "image_manifests (index_id, manifest_id, platform)",
            3,
            manifests,
            " ON CONFLICT (index_id, manifest_id) DO NOTHING",
        )?;
        self.insert_rows(
            "record_images (record_id, image_id, role)",
            3,
            used_rows,
            "",
        )?;
        // The versions this connection has not seen yet (almost always
        // none: a build's toolchain is rarely new to the ledger), in key
        // order: two transactions that both bring the same new versions
        // then wait for each other in the same order, never in a cycle.
        let mut new_keys: BTreeSet<(String, String)> = BTreeSet::new();
        if self.toolchain_versions_seen.len() > MAX_TOOLCHAIN_VERSIONS {
            self.toolchain_versions_seen.clear();
        }
        if self.has_toolchain_versions {
            for row in toolchains.chunks(3) {
                if let (Some(n), Some(v)) = (row[1].text(), row[2].text()) {
                    let key = (n.to_string(), v.to_string());
                    if !self.toolchain_versions_seen.contains(&key) {
                        new_keys.insert(key);
                    }
                }
            }
        }
        let mut new_versions: Vec<Val> = Vec::with_capacity(new_keys.len() * 2);
        for (n, v) in new_keys {
            new_versions.extend([n.as_str().into(), v.as_str().into()]);
            self.toolchain_versions_seen.insert((n, v));
        }
        self.insert_rows(
            "record_toolchains (record_id, name, version)",
            3,
            toolchains,
            "",
        )?;
        self.insert_rows(
            "toolchain_versions (name, version)",
            2,
            new_versions,
            " ON CONFLICT (name, version) DO NOTHING",
        )?;
        self.insert_rows(
            "record_apis (record_id, kind, name, version, stability)",
            5,
            apis,
            "",
        )?;
        self.insert_rows("postings_pending (record_id)", 1, pending, "")?;
        self.maybe_compact(recs.len())?;

        // Seal what was written (read back, as `audit verify` will read it)
        // in the audit log: no path stores a record without an entry. The
        // entries are appended when the transaction commits, so the log's
        // lock is held only for the commit, not for the rest of the work.
        let fingerprints = self.seal_inserted(&ids)?;
        let entries: Vec<AuditEntry> = recs
            .iter()
            .zip(&ids)
            .zip(fingerprints)
            .map(|((rec, id), seal)| {
                let subjects: Vec<&str> = rec.subjects.iter().map(|s| s.digest.as_str()).collect();
                AuditEntry {
                    kind: "record.accepted".into(),
                    subject: subjects.first().map(|s| s.to_string()),
                    payload: serde_json::json!({
                        "record_id": id,
                        "origin": rec.origin.as_str(),
                        "trust": rec.trust.state.as_str(),
                        "key_id": rec.trust.key_id,
                        "builder": rec.builder.as_ref().map(|b| b.id.as_str()),
                        "subjects": subjects,
                        "seal": seal,
                    }),
                }
            })
            .collect();
        if self.in_tx {
            self.tx_audit.extend(entries);
        } else {
            self.append_audit(entries)?;
        }
        Ok((ids, marks))
    }
}
