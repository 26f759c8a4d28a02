//! Record seals: one fingerprint over everything the ledger stores for a record.
//!
//! A record lives in a dozen rows: its `records` row (the columns queries
//! filter on), its body, its subject and used-image links, toolchains, APIs,
//! the component link blob with the per-link extras, and the `components`
//! rows those links name (purl, package, version, match key: what package
//! and advisory queries read). A [`Seal`] gathers all of them in a canonical
//! order; its SHA-256 is written to the audit log in the same transaction as
//! the rows ([`crate::audit`]). The seal is computed by *reading the rows
//! back* inside that transaction, with the same loader `audit verify` uses
//! later, so what is sealed is exactly what a later reader sees — never a
//! prediction of it.
//!
//! Rows that belong to an image rather than to a record (references,
//! index → manifest links, layers) are not sealed: several records add to
//! them over time.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::backend::{Val, ValRef};
use crate::{Result, Store, StoreError, placeholders, postings};

/// Domain separation for seal hashes (and their version).
const SEAL_DOMAIN: &[u8] = b"buildledger.record-seal.v1\0";

/// One linked component, as stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SealedComponent {
    pub purl: String,
    pub package: String,
    pub version: String,
    pub match_key: String,
    pub scope: u8,
    pub extra: Option<String>,
}

/// Everything stored for one record, in canonical order.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub(crate) struct Seal {
    pub row: Vec<serde_json::Value>,
    pub body: Option<String>,
    pub subjects: Vec<String>,
    pub images: Vec<(String, String)>,
    pub toolchains: Vec<(String, String)>,
    pub apis: Vec<(String, String, Option<String>, String)>,
    pub components: Vec<SealedComponent>,
    /// Problems met while reading (a corrupt link blob, a missing component).
    #[serde(skip)]
    pub unreadable: Vec<String>,
}

impl Seal {
    fn normalise(&mut self) {
        self.subjects.sort();
        self.images.sort();
        self.toolchains.sort();
        self.apis.sort();
        self.components.sort();
    }

    /// Hex SHA-256 of the canonical JSON form.
    pub(crate) fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(SEAL_DOMAIN);
        h.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(h.finalize())
    }
}

fn json_of(v: ValRef<'_>) -> serde_json::Value {
    match v {
        ValRef::Null => serde_json::Value::Null,
        ValRef::Int(i) => i.into(),
        ValRef::Text(t) => t.into(),
        ValRef::Blob(b) => hex::encode(b).into(),
    }
}

fn text(v: ValRef<'_>) -> String {
    v.text().unwrap_or_default().to_string()
}

/// Stored component columns, by component id.
pub(crate) type ComponentCache = HashMap<i64, (String, String, String, String)>;

/// Components whose columns a store keeps for sealing (about 250 bytes
/// each); past this the cache starts again empty.
const SEAL_CACHE_MAX: usize = 100_000;

impl Store {
    /// Seals of the records with ids in `lo..=hi` (records missing in that
    /// range have none). `cache` keeps component rows between calls.
    pub(crate) fn load_seals(
        &mut self,
        lo: i64,
        hi: i64,
        cache: &mut ComponentCache,
    ) -> Result<BTreeMap<i64, Seal>> {
        let range = [Val::Int(lo), Val::Int(hi)];
        let mut seals: BTreeMap<i64, Seal> = BTreeMap::new();
        self.db.each(
            "SELECT id, record_time, build_time, origin, trust_state, trust_key, builder_id,
                    source_repo, source_commit, source_tag, source_dirty, subjects
             FROM records WHERE id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                let id = r[0].int().unwrap_or_default();
                seals.entry(id).or_default().row = r.iter().map(|v| json_of(*v)).collect();
                Ok(())
            },
        )?;
        // Rows of records that are gone are collected too, under their id:
        // a deleted `records` row must not hide the rest.
        self.db.each(
            "SELECT record_id, body FROM record_bodies WHERE record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                seals
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .body = Some(text(r[1]));
                Ok(())
            },
        )?;
        self.db.each(
            "SELECT rs.record_id, i.digest FROM record_subjects rs JOIN images i ON i.id = rs.image_id
             WHERE rs.record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                seals
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .subjects
                    .push(text(r[1]));
                Ok(())
            },
        )?;
        self.db.each(
            "SELECT ri.record_id, i.digest, ri.role FROM record_images ri JOIN images i ON i.id = ri.image_id
             WHERE ri.record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                seals
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .images
                    .push((text(r[1]), text(r[2])));
                Ok(())
            },
        )?;
        self.db.each(
            "SELECT record_id, name, version FROM record_toolchains WHERE record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                seals
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .toolchains
                    .push((text(r[1]), text(r[2])));
                Ok(())
            },
        )?;
        self.db.each(
            "SELECT record_id, kind, name, version, stability FROM record_apis WHERE record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                seals
                    .entry(r[0].int().unwrap_or_default())
                    .or_default()
                    .apis
                    .push((
                        text(r[1]),
                        text(r[2]),
                        r[3].text().map(String::from),
                        text(r[4]),
                    ));
                Ok(())
            },
        )?;
        let mut extras: HashMap<(i64, i64), String> = HashMap::new();
        self.db.each(
            "SELECT record_id, component_id, extra FROM record_component_extras
             WHERE record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                extras.insert(
                    (
                        r[0].int().unwrap_or_default(),
                        r[1].int().unwrap_or_default(),
                    ),
                    text(r[2]),
                );
                Ok(())
            },
        )?;
        let mut links: Vec<(i64, Vec<(i64, u8)>)> = Vec::new();
        let mut bad_links: Vec<(i64, String)> = Vec::new();
        self.db.each(
            "SELECT record_id, component_count, components FROM record_links WHERE record_id BETWEEN ? AND ?",
            &range,
            &mut |r| {
                let id = r[0].int().unwrap_or_default();
                match postings::decode_links(r[2].bytes()) {
                    Ok(l) => {
                        if r[1].int() != Some(l.len() as i64) {
                            bad_links.push((
                                id,
                                format!(
                                    "component count {} but {} links",
                                    r[1].int().unwrap_or(-1),
                                    l.len()
                                ),
                            ));
                        }
                        links.push((id, l));
                    }
                    Err(e) => bad_links.push((id, format!("link blob unreadable: {e}"))),
                }
                Ok(())
            },
        )?;
        for (id, why) in bad_links {
            seals.entry(id).or_default().unreadable.push(why);
        }
        let mut missing: Vec<i64> = links
            .iter()
            .flat_map(|(_, l)| l.iter().map(|(c, _)| *c))
            .filter(|c| !cache.contains_key(c))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(postings::CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|c| Val::Int(*c)).collect();
            self.db.each(
                &format!(
                    "SELECT id, purl, package, version, match_key FROM components WHERE id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
                &mut |r| {
                    cache.insert(
                        r[0].int().unwrap_or_default(),
                        (text(r[1]), text(r[2]), text(r[3]), text(r[4])),
                    );
                    Ok(())
                },
            )?;
        }
        for (id, l) in links {
            let seal = seals.entry(id).or_default();
            for (cid, scope) in l {
                match cache.get(&cid) {
                    Some((purl, package, version, match_key)) => {
                        seal.components.push(SealedComponent {
                            purl: purl.clone(),
                            package: package.clone(),
                            version: version.clone(),
                            match_key: match_key.clone(),
                            scope,
                            extra: extras.remove(&(id, cid)),
                        })
                    }
                    None => seal
                        .unreadable
                        .push(format!("links to component {cid}, which does not exist")),
                }
            }
        }
        for ((id, cid), _) in extras {
            seals.entry(id).or_default().unreadable.push(format!(
                "extra data for component {cid}, which it does not link"
            ));
        }
        for s in seals.values_mut() {
            s.normalise();
        }
        Ok(seals)
    }

    /// Fingerprints of records just inserted in the open transaction.
    pub(crate) fn seal_inserted(&mut self, ids: &[i64]) -> Result<Vec<String>> {
        let (Some(&lo), Some(&hi)) = (ids.iter().min(), ids.iter().max()) else {
            return Ok(Vec::new());
        };
        // Component rows never change once written, so their columns are
        // kept between transactions (dropped on rollback, when ids may be
        // reused): a record's 200 links then cost no component lookups.
        let mut cache = std::mem::take(&mut self.seal_components);
        if cache.len() > SEAL_CACHE_MAX {
            cache.clear();
        }
        let seals = self.load_seals(lo, hi, &mut cache);
        self.seal_components = cache;
        let seals = seals?;
        ids.iter()
            .map(|id| match seals.get(id) {
                Some(s) if s.unreadable.is_empty() && !s.row.is_empty() => Ok(s.fingerprint()),
                Some(s) => Err(StoreError::Corrupt(format!(
                    "record {id} reads back wrong: {}",
                    s.unreadable.join("; ")
                ))),
                None => Err(StoreError::Corrupt(format!(
                    "record {id} is not readable after insert"
                ))),
            })
            .collect()
    }

    /// Migration v6: seal every record written before records were sealed,
    /// as its rows are at the upgrade (an entry says so), in slices.
    pub(crate) fn seal_existing_v6(&mut self) -> Result<()> {
        let max = self.max_record_id()?;
        let mut cache = ComponentCache::new();
        let mut lo = 1;
        while lo <= max {
            let hi = lo.saturating_add(1999).min(max);
            let seals = self.load_seals(lo, hi, &mut cache)?;
            let entries: Vec<crate::AuditEntry> = seals
                .iter()
                .filter(|(_, s)| !s.row.is_empty())
                .map(|(id, s)| crate::AuditEntry {
                    kind: "record.sealed".into(),
                    subject: None,
                    payload: serde_json::json!({
                        "record_id": id,
                        "seal": s.fingerprint(),
                        "note": "sealed at the upgrade to schema v6, as stored then",
                    }),
                })
                .collect();
            self.append_audit(entries)?;
            lo = hi + 1;
        }
        Ok(())
    }
}
