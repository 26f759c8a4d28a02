//! Record ↔ component links, kept compact.
//!
//! A ledger of 100,000 builds of ~200 components holds 20 million links.
//! Stored as one row per link with an index per direction, every record costs
//! ~200 random B-tree inserts into a few thousand hot index pages, and that
//! is what limits ingest. So the links are kept in two compact forms:
//!
//! - **forward** (record → components): one blob per record in
//!   `record_links.components`: the record's component ids in ascending order,
//!   each stored as the LEB128 varint of `(id − previous id) << 1 | scope`
//!   (scope 0 runtime, 1 build). Hashes and locations, which few links have,
//!   live in `record_component_extras`.
//! - **reverse** (component → records): *postings*, rows of
//!   `component_postings (component_id, first_record, records)` where
//!   `records` holds the ascending ids of many records as delta varints. A
//!   new record is listed in `postings_pending`; once [`COMPACT_AT`] records
//!   wait there, the transaction that notices folds them all into postings
//!   (one row per component touched instead of one per link). Lookups
//!   ([`Store::records_with_components`]) read postings *and* the pending
//!   records, so a record is found the moment it is committed.
//!
//! **Invariant**: the postings rows of one component are disjoint and in
//! order: every id in a row is below the next row's `first_record`. A page of
//! a query reads from a position ([`Store::records_with_components_from`]):
//! the row holding that position, then the rows after it, and no others. On
//! SQLite a fold only ever adds ids above every folded one; on PostgreSQL a
//! record whose transaction commits after a fold that took higher ids is
//! *late*, and the next fold merges it into the row where it belongs instead
//! of starting a row that would overlap.
//!
//! On PostgreSQL, several writers may run at once: compaction takes a
//! transaction-scoped advisory lock for the schema (and is skipped, not waited for, when
//! another writer holds it), and removes exactly the pending rows it read, so
//! a record committed meanwhile stays pending until the next compaction.

use std::collections::HashMap;

use crate::backend::{BackendKind, Val};
use crate::{Result, Store, StoreError, placeholders};

/// Compact once this many records are pending. A fold touches one index
/// entry per component it saw (thousands, spread over the postings index),
/// so folding less often is what keeps ingest from slowing as that index
/// outgrows the page cache; the price is the pending list every unpaged
/// lookup reads (8,192 records' link blobs, a few milliseconds).
pub const COMPACT_AT: i64 = 8192;

/// Check the pending count after this many inserts in one process.
pub(crate) const CHECK_EVERY: u32 = 256;

/// Advisory lock class for compaction on PostgreSQL (the second key is the
/// schema's hash).
const COMPACT_LOCK: i64 = 726203511;

/// `(record, component)` pairs read from a position, and the record up to
/// which they are complete (`None`: to the end); see
/// [`Store::records_with_components_from`].
pub type LinksFrom = (Vec<(i64, i64)>, Option<i64>);

/// IN-list size for chunked lookups.
pub(crate) const CHUNK: usize = 500;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let Some(&byte) = b.get(*pos) else {
            return Err(format!("truncated varint at byte {}", *pos));
        };
        *pos += 1;
        let part = u64::from(byte & 0x7f);
        if shift == 63 && part > 1 {
            return Err(format!("varint overflows 64 bits at byte {}", *pos - 1));
        }
        v |= part << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(format!("varint longer than 10 bytes at byte {}", *pos))
}

/// Encode a record's links: `(component id, scope)`, ids ascending and unique.
pub(crate) fn encode_links(links: &[(i64, u8)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(links.len() * 2);
    let mut prev = 0i64;
    for &(id, scope) in links {
        debug_assert!(id > prev, "links must be ascending and unique");
        put_varint(&mut out, (((id - prev) as u64) << 1) | u64::from(scope & 1));
        prev = id;
    }
    out
}

/// Iterator over an [`encode_links`] blob; bad bytes are an error, never a panic.
pub(crate) struct Links<'a> {
    b: &'a [u8],
    pos: usize,
    prev: i64,
}

impl<'a> Links<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Links<'a> {
        Links { b, pos: 0, prev: 0 }
    }
}

impl Iterator for Links<'_> {
    type Item = Result<(i64, u8), String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.b.len() {
            return None;
        }
        let v = match get_varint(self.b, &mut self.pos) {
            Ok(v) => v,
            Err(e) => {
                self.pos = self.b.len();
                return Some(Err(e));
            }
        };
        let delta = v >> 1;
        let id = if delta == 0 {
            None
        } else {
            i64::try_from(delta)
                .ok()
                .and_then(|d| self.prev.checked_add(d))
        };
        match id {
            Some(id) => {
                self.prev = id;
                Some(Ok((id, (v & 1) as u8)))
            }
            None => {
                let at = self.pos;
                self.pos = self.b.len();
                Some(Err(if delta == 0 {
                    format!("component ids not ascending at byte {at}")
                } else {
                    format!("component id overflows at byte {at}")
                }))
            }
        }
    }
}

/// Decode [`encode_links`] whole.
pub(crate) fn decode_links(b: &[u8]) -> Result<Vec<(i64, u8)>, String> {
    Links::new(b).collect()
}

/// The ids of `wanted` (ascending) that the blob links, walking both lists
/// once and stopping past the largest wanted id.
pub(crate) fn intersect_links(b: &[u8], wanted: &[i64], out: &mut Vec<i64>) -> Result<(), String> {
    let Some(&max) = wanted.last() else {
        return Ok(());
    };
    let mut w = 0;
    for link in Links::new(b) {
        let (id, _) = link?;
        if id > max {
            break;
        }
        while wanted[w] < id {
            w += 1;
        }
        if wanted[w] == id {
            out.push(id);
        }
    }
    Ok(())
}

/// Encode ascending, unique, positive record ids.
pub(crate) fn encode_ids(ids: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 2);
    let mut prev = 0i64;
    for &id in ids {
        debug_assert!(id > prev, "ids must be ascending and unique");
        put_varint(&mut out, (id - prev) as u64);
        prev = id;
    }
    out
}

/// Decode [`encode_ids`].
pub(crate) fn decode_ids(b: &[u8]) -> Result<Vec<i64>, String> {
    let mut out = Vec::with_capacity(b.len());
    let (mut pos, mut prev) = (0usize, 0i64);
    while pos < b.len() {
        let delta = get_varint(b, &mut pos)?;
        if delta == 0 {
            return Err(format!("record ids not ascending at byte {pos}"));
        }
        let id = i64::try_from(delta)
            .ok()
            .and_then(|d| prev.checked_add(d))
            .ok_or_else(|| format!("record id overflows at byte {pos}"))?;
        out.push(id);
        prev = id;
    }
    Ok(out)
}

fn corrupt_postings(component: i64, e: String) -> StoreError {
    StoreError::Corrupt(format!("postings of component {component}: {e}"))
}

fn corrupt_links(record: i64, e: String) -> StoreError {
    StoreError::Corrupt(format!("record {record}: component list: {e}"))
}

pub(crate) fn blob_of(v: &Val) -> &[u8] {
    match v {
        Val::Blob(b) => b,
        Val::Text(s) => s.as_bytes(),
        _ => &[],
    }
}

impl Store {
    /// Links of `record` decoded from its blob, as `(component id, scope)`.
    pub(crate) fn decode_record_links(record: i64, blob: &Val) -> Result<Vec<(i64, u8)>> {
        decode_links(blob_of(blob))
            .map_err(|e| StoreError::Corrupt(format!("record {record}: component list: {e}")))
    }

    /// The components of each record in `ids`, as `(record, component, scope)`
    /// sorted by record then component.
    pub fn components_of_records(&mut self, ids: &[i64]) -> Result<Vec<(i64, i64, u8)>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            self.db.each(
                &format!(
                    "SELECT record_id, components FROM record_links WHERE record_id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
                &mut |r| {
                    let rid = r[0].int().unwrap_or_default();
                    for link in Links::new(r[1].bytes()) {
                        let (cid, scope) = link.map_err(|e| corrupt_links(rid, e))?;
                        out.push((rid, cid, scope));
                    }
                    Ok(())
                },
            )?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Every record that links any of `components`, as `(record, component)`
    /// pairs sorted by record then component. Reads postings and the records
    /// still pending, so it sees every committed record (and this
    /// transaction's own).
    pub fn records_with_components(&mut self, components: &[i64]) -> Result<Vec<(i64, i64)>> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        if components.is_empty() {
            return Ok(out);
        }
        let mut cids: Vec<i64> = components.to_vec();
        cids.sort_unstable();
        cids.dedup();
        for chunk in cids.chunks(CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            self.db.each(
                &format!(
                    "SELECT component_id, records FROM component_postings WHERE component_id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
                &mut |r| {
                    let cid = r[0].int().unwrap_or_default();
                    let ids = decode_ids(r[1].bytes()).map_err(|e| corrupt_postings(cid, e))?;
                    out.extend(ids.into_iter().map(|rid| (rid, cid)));
                    Ok(())
                },
            )?;
        }
        self.pending_links(&cids, 0, i64::MAX, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The pending records in `from..=to` that link any of `cids` (sorted),
    /// appended to `out` as `(record, component)`.
    fn pending_links(
        &mut self,
        cids: &[i64],
        from: i64,
        to: i64,
        out: &mut Vec<(i64, i64)>,
    ) -> Result<()> {
        let mut hit = Vec::new();
        // CROSS JOIN: SQLite would otherwise carry the range over to
        // record_links and walk all of it (a million rows) to probe the
        // few thousand pending ones.
        self.db.each(
            "SELECT l.record_id, l.components FROM postings_pending p
             CROSS JOIN record_links l WHERE l.record_id = p.record_id
             AND p.record_id >= ? AND p.record_id <= ?",
            &[Val::Int(from), Val::Int(to)],
            &mut |r| {
                let rid = r[0].int().unwrap_or_default();
                hit.clear();
                intersect_links(r[1].bytes(), cids, &mut hit).map_err(|e| corrupt_links(rid, e))?;
                out.extend(hit.iter().map(|&cid| (rid, cid)));
                Ok(())
            },
        )
    }

    /// Fold pending records into postings when enough wait. Called inside a
    /// write transaction after inserts; cheap when there is nothing to do.
    pub(crate) fn maybe_compact(&mut self, inserted: usize) -> Result<()> {
        self.inserts_since_check = self.inserts_since_check.saturating_add(inserted as u32);
        let known = self.pending_known.map(|p| p + inserted as i64);
        self.pending_known = known;
        // Count when this store's own inserts may have filled the list, and
        // every CHECK_EVERY inserts for what other writers added.
        let due = match known {
            None => true,
            Some(p) => p >= COMPACT_AT || self.inserts_since_check >= CHECK_EVERY,
        };
        if !due {
            return Ok(());
        }
        self.inserts_since_check = 0;
        let n = self
            .db
            .query("SELECT COUNT(*) FROM postings_pending", &[])?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0);
        self.pending_known = Some(n);
        if n >= COMPACT_AT {
            let folded = self.compact_postings()? as i64;
            self.pending_known = Some(n - folded);
        }
        Ok(())
    }

    /// Fold every pending record into postings now, inside the current
    /// transaction. Returns how many records were folded (0 when another
    /// PostgreSQL writer is compacting).
    pub fn compact_postings(&mut self) -> Result<u64> {
        if self.db.kind() == BackendKind::Postgres {
            let got = self
                .db
                // Scoped to the schema: ledgers in other schemas of the same
                // database fold on their own.
                .query(
                    "SELECT pg_try_advisory_xact_lock(CAST(? AS INTEGER), hashtext(current_schema()))",
                    &[Val::Int(COMPACT_LOCK)],
                )?
                .first()
                .and_then(|r| r[0].int())
                .unwrap_or(0);
            if got == 0 {
                return Ok(0);
            }
        }
        // The highest folded record: every record not pending is folded, and
        // the newest of those is a few steps down from the top of `records`.
        let folded_max = self
            .db
            .query(
                "SELECT r.id FROM records r WHERE NOT EXISTS
                 (SELECT 1 FROM postings_pending p WHERE p.record_id = r.id)
                 ORDER BY r.id DESC LIMIT 1",
                &[],
            )?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0);
        let mut by_component: HashMap<i64, Vec<i64>> = HashMap::new();
        // Records below `folded_max` (late commits on PostgreSQL), per component.
        let mut late: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut done = Vec::new();
        self.db.each(
            "SELECT l.record_id, l.components FROM postings_pending p
             JOIN record_links l ON l.record_id = p.record_id ORDER BY l.record_id",
            &[],
            &mut |r| {
                let rid = r[0].int().unwrap_or_default();
                done.push(rid);
                let into = if rid < folded_max {
                    &mut late
                } else {
                    &mut by_component
                };
                for link in Links::new(r[1].bytes()) {
                    let (cid, _) = link.map_err(|e| corrupt_links(rid, e))?;
                    into.entry(cid).or_default().push(rid);
                }
                Ok(())
            },
        )?;
        if done.is_empty() {
            return Ok(0);
        }
        let mut late: Vec<(i64, Vec<i64>)> = late.into_iter().collect();
        late.sort_unstable();
        for (cid, ids) in late {
            self.merge_late(cid, &ids)?;
        }
        let mut cids: Vec<i64> = by_component.keys().copied().collect();
        cids.sort_unstable();
        let mut vals = Vec::with_capacity(cids.len() * 3);
        for cid in cids {
            let ids = &by_component[&cid];
            vals.push(Val::Int(cid));
            vals.push(Val::Int(ids[0]));
            vals.push(Val::Blob(encode_ids(ids)));
        }
        self.insert_rows(
            "component_postings (component_id, first_record, records)",
            3,
            vals,
            "",
        )?;
        for chunk in done.chunks(CHUNK) {
            let params: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
            self.db.exec(
                &format!(
                    "DELETE FROM postings_pending WHERE record_id IN ({})",
                    placeholders(chunk.len())
                ),
                &params,
            )?;
        }
        if !done.is_empty() && self.db.kind() == BackendKind::Postgres {
            self.vacuum_pending = true;
        }
        Ok(done.len() as u64)
    }

    /// Put late records `ids` (ascending) of component `cid` into the rows
    /// where they belong: the row with the greatest `first_record` at or
    /// below each id, else the first row (whose start moves down). Rows stay
    /// disjoint because each id is below the next row's start. Rare: only
    /// PostgreSQL commits out of id order.
    fn merge_late(&mut self, cid: i64, ids: &[i64]) -> Result<()> {
        for &rid in ids {
            let mut row = self.db.query(
                "SELECT id, first_record, records FROM component_postings
                 WHERE component_id = ? AND first_record <= ? ORDER BY first_record DESC LIMIT 1",
                &[Val::Int(cid), Val::Int(rid)],
            )?;
            if row.is_empty() {
                row = self.db.query(
                    "SELECT id, first_record, records FROM component_postings
                     WHERE component_id = ? ORDER BY first_record LIMIT 1",
                    &[Val::Int(cid)],
                )?;
            }
            match row.first() {
                None => self.insert_rows(
                    "component_postings (component_id, first_record, records)",
                    3,
                    vec![Val::Int(cid), Val::Int(rid), Val::Blob(encode_ids(&[rid]))],
                    "",
                )?,
                Some(r) => {
                    let row_id = r[0].int().unwrap_or_default();
                    let mut have =
                        decode_ids(blob_of(&r[2])).map_err(|e| corrupt_postings(cid, e))?;
                    if let Err(at) = have.binary_search(&rid) {
                        have.insert(at, rid);
                        self.db.exec(
                            "UPDATE component_postings SET first_record = ?, records = ? WHERE id = ?",
                            &[Val::Int(have[0]), Val::Blob(encode_ids(&have)), Val::Int(row_id)],
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Records from `from` on that link any of `components`, as `(record,
    /// component)` pairs sorted by record then component, read from a
    /// position rather than whole.
    ///
    /// With `want = Some(n)`, reads about `n` records per component (the row
    /// holding `from`, then the rows after it) and returns `Some(upto)`:
    /// every linking record in `from..=upto` is in the result, none past it.
    /// `None` for `upto` means the result is complete to the end. Pending
    /// records are read only when one of them may fall in that range.
    pub fn records_with_components_from(
        &mut self,
        components: &[i64],
        from: i64,
        want: Option<usize>,
    ) -> Result<LinksFrom> {
        let Some(want) = want else {
            let mut all = self.records_with_components(components)?;
            all.retain(|p| p.0 >= from);
            return Ok((all, None));
        };
        let want = want.max(1);
        let mut cids: Vec<i64> = components.to_vec();
        cids.sort_unstable();
        cids.dedup();
        let mut out: Vec<(i64, i64)> = Vec::new();
        let mut upto: Option<i64> = None;
        // Per component: its ids from `from`, the start of the last row
        // read, how many rows the next read asks for, and whether it has
        // no more rows. Every round reads all components still short of
        // `want` in one statement (a `UNION ALL` term each), so a package
        // with 30 versions costs one round trip, not 30.
        struct Reading {
            cid: i64,
            ids: Vec<i64>,
            last_first: Option<i64>,
            rows: usize,
            exhausted: bool,
        }
        let mut reading: Vec<Reading> = cids
            .iter()
            .map(|&cid| Reading {
                cid,
                ids: Vec::new(),
                last_first: None,
                rows: 1,
                exhausted: false,
            })
            .collect();
        loop {
            let active: Vec<usize> = (0..reading.len())
                .filter(|&i| !reading[i].exhausted && reading[i].ids.len() < want)
                .collect();
            if active.is_empty() {
                break;
            }
            for chunk in active.chunks(100) {
                let mut terms = Vec::with_capacity(chunk.len());
                let mut params = Vec::with_capacity(chunk.len() * 4);
                for (t, &i) in chunk.iter().enumerate() {
                    let r = &reading[i];
                    match r.last_first {
                        // The row holding `from` (the last one starting at
                        // or below it), then the rows after it.
                        None => {
                            terms.push(format!(
                                "SELECT * FROM (SELECT component_id, first_record, records
                                 FROM component_postings WHERE component_id = ? AND first_record >= COALESCE(
                                     (SELECT MAX(first_record) FROM component_postings
                                      WHERE component_id = ? AND first_record <= ?), ?)
                                 ORDER BY first_record LIMIT {}) AS t{t}",
                                r.rows
                            ));
                            params.extend([
                                Val::Int(r.cid),
                                Val::Int(r.cid),
                                Val::Int(from),
                                Val::Int(from),
                            ]);
                        }
                        Some(after) => {
                            terms.push(format!(
                                "SELECT * FROM (SELECT component_id, first_record, records
                                 FROM component_postings WHERE component_id = ? AND first_record > ?
                                 ORDER BY first_record LIMIT {}) AS t{t}",
                                r.rows
                            ));
                            params.extend([Val::Int(r.cid), Val::Int(after)]);
                        }
                    }
                }
                let at: HashMap<i64, usize> = chunk.iter().map(|&i| (reading[i].cid, i)).collect();
                let mut got_rows: HashMap<usize, usize> = HashMap::new();
                self.db
                    .each(&terms.join(" UNION ALL "), &params, &mut |row| {
                        let cid = row[0].int().unwrap_or_default();
                        let Some(&i) = at.get(&cid) else {
                            return Ok(());
                        };
                        *got_rows.entry(i).or_default() += 1;
                        let r = &mut reading[i];
                        // The terms' rows may come in any order: keep the
                        // latest start (the ids are sorted below).
                        r.last_first = r.last_first.max(row[1].int());
                        let got =
                            decode_ids(row[2].bytes()).map_err(|e| corrupt_postings(cid, e))?;
                        r.ids.extend(got.into_iter().filter(|&id| id >= from));
                        Ok(())
                    })?;
                for &i in chunk {
                    let r = &mut reading[i];
                    if got_rows.get(&i).copied().unwrap_or(0) < r.rows {
                        r.exhausted = true;
                    } else {
                        r.rows = (r.rows * 2).min(64);
                    }
                }
            }
        }
        for mut r in reading {
            r.ids.sort_unstable();
            if !r.exhausted
                && let Some(&last) = r.ids.last()
            {
                // Every record of this component up to `last` is in `ids`.
                upto = Some(upto.map_or(last, |u| u.min(last)));
            }
            out.extend(r.ids.into_iter().map(|rid| (rid, r.cid)));
        }
        let first_pending = self
            .db
            .query(
                "SELECT MIN(record_id) FROM postings_pending WHERE record_id >= ?",
                &[Val::Int(from)],
            )?
            .first()
            .and_then(|r| r[0].int());
        if let Some(fp) = first_pending
            && upto.is_none_or(|u| fp <= u)
        {
            self.pending_links(&cids, from, upto.unwrap_or(i64::MAX), &mut out)?;
        }
        if let Some(u) = upto {
            out.retain(|p| p.0 <= u);
        }
        out.sort_unstable();
        out.dedup();
        Ok((out, upto))
    }

    /// Schema v14: make every component's postings rows disjoint and in
    /// order (the invariant keyset reads rely on). Ledgers written by one
    /// SQLite writer already are; PostgreSQL ledgers with concurrent writers
    /// may hold overlapping rows, which are merged and split again here.
    pub(crate) fn disjoint_postings_v14(&mut self) -> Result<()> {
        let mut overlapping: Vec<i64> = Vec::new();
        let mut current: Option<(i64, i64)> = None; // (component, highest id so far)
        self.db.each(
            "SELECT component_id, first_record, records FROM component_postings
             ORDER BY component_id, first_record",
            &[],
            &mut |r| {
                let cid = r[0].int().unwrap_or_default();
                let first = r[1].int().unwrap_or_default();
                let ids = decode_ids(r[2].bytes()).map_err(|e| corrupt_postings(cid, e))?;
                let last = ids.last().copied().unwrap_or(first);
                match current {
                    Some((c, high)) if c == cid => {
                        if first <= high && overlapping.last() != Some(&cid) {
                            overlapping.push(cid);
                        }
                        current = Some((cid, high.max(last)));
                    }
                    _ => current = Some((cid, last)),
                }
                Ok(())
            },
        )?;
        for cid in overlapping {
            let mut ids: Vec<i64> = Vec::new();
            self.db.each(
                "SELECT records FROM component_postings WHERE component_id = ?",
                &[Val::Int(cid)],
                &mut |r| {
                    ids.extend(decode_ids(r[0].bytes()).map_err(|e| corrupt_postings(cid, e))?);
                    Ok(())
                },
            )?;
            ids.sort_unstable();
            ids.dedup();
            self.db.exec(
                "DELETE FROM component_postings WHERE component_id = ?",
                &[Val::Int(cid)],
            )?;
            let mut vals = Vec::new();
            for part in ids.chunks(COMPACT_AT as usize) {
                vals.extend([
                    Val::Int(cid),
                    Val::Int(part[0]),
                    Val::Blob(encode_ids(part)),
                ]);
            }
            self.insert_rows(
                "component_postings (component_id, first_record, records)",
                3,
                vals,
                "",
            )?;
        }
        Ok(())
    }

    /// Write forward links (`record, count, blob` triples) and their extras
    /// (`record, component, extra` triples): the rows every record gets.
    pub(crate) fn insert_link_rows(&mut self, links: Vec<Val>, extras: Vec<Val>) -> Result<()> {
        self.insert_rows(
            "record_links (record_id, component_count, components)",
            3,
            links,
            "",
        )?;
        self.insert_rows(
            "record_component_extras (record_id, component_id, extra)",
            3,
            extras,
            "",
        )
    }

    /// Schema v5: move links from the v4 `record_components` table into
    /// per-record blobs, extras and postings, then drop the table. Works in
    /// slices of records so memory stays bounded on large ledgers.
    pub(crate) fn migrate_links_v5(&mut self) -> Result<()> {
        let bounds = self
            .db
            .query("SELECT MIN(id), MAX(id) FROM records", &[])?
            .into_iter()
            .next();
        let (lo, hi) = match bounds {
            Some(r) => match (r[0].int(), r[1].int()) {
                (Some(a), Some(b)) => (a, b),
                _ => (1, 0),
            },
            None => (1, 0),
        };
        let step = COMPACT_AT;
        let mut start = lo;
        while start <= hi {
            let end = start.saturating_add(step);
            let rows = self.db.query(
                "SELECT record_id, component_id, scope, extra FROM record_components
                 WHERE record_id >= ? AND record_id < ? ORDER BY record_id, component_id",
                &[Val::Int(start), Val::Int(end)],
            )?;
            // Every record in the slice gets a link row, with or without components.
            let mut per_record: std::collections::BTreeMap<i64, Vec<(i64, u8)>> = self
                .db
                .query(
                    "SELECT id FROM records WHERE id >= ? AND id < ?",
                    &[Val::Int(start), Val::Int(end)],
                )?
                .iter()
                .filter_map(|r| r[0].int())
                .map(|id| (id, Vec::new()))
                .collect();
            let mut extras = Vec::new();
            for r in rows {
                let rid = r[0].int().unwrap_or_default();
                let cid = r[1].int().unwrap_or_default();
                let scope = u8::from(r[2].int() == Some(1));
                per_record.entry(rid).or_default().push((cid, scope));
                if let Some(x) = r[3].text() {
                    extras.extend([Val::Int(rid), Val::Int(cid), x.into()]);
                }
            }
            let mut link_rows = Vec::with_capacity(per_record.len() * 3);
            for (rid, links) in &per_record {
                link_rows.extend([
                    Val::Int(*rid),
                    Val::Int(links.len() as i64),
                    Val::Blob(encode_links(links)),
                ]);
            }
            self.insert_link_rows(link_rows, extras)?;
            self.db.exec(
                "INSERT INTO postings_pending (record_id) SELECT id FROM records WHERE id >= ? AND id < ?",
                &[Val::Int(start), Val::Int(end)],
            )?;
            self.compact_postings()?;
            start = end;
        }
        self.db.batch("DROP TABLE record_components")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip() {
        let links = vec![(1, 0), (2, 1), (130, 0), (1 << 40, 1), (i64::MAX, 0)];
        assert_eq!(decode_links(&encode_links(&links)).unwrap(), links);
        assert_eq!(decode_links(&[]).unwrap(), vec![]);
    }

    #[test]
    fn intersection_walks_both_lists() {
        let links: Vec<(i64, u8)> = [3, 7, 8, 20, 400, 9000].iter().map(|&i| (i, 0)).collect();
        let b = encode_links(&links);
        let mut out = Vec::new();
        intersect_links(&b, &[1, 7, 20, 21, 9000, 9001], &mut out).unwrap();
        assert_eq!(out, [7, 20, 9000]);
        out.clear();
        intersect_links(&b, &[2], &mut out).unwrap();
        assert!(out.is_empty());
        intersect_links(&b, &[], &mut out).unwrap();
        intersect_links(&[0x80], &[5], &mut out).unwrap_err();
    }

    #[test]
    fn ids_round_trip() {
        let ids = vec![1, 5, 127, 128, 16_384, 1 << 50, i64::MAX];
        assert_eq!(decode_ids(&encode_ids(&ids)).unwrap(), ids);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        // truncated varint
        assert!(decode_ids(&[0x80]).unwrap_err().contains("truncated"));
        // zero delta: not ascending
        assert!(decode_ids(&[1, 0]).unwrap_err().contains("ascending"));
        assert!(decode_links(&[0]).unwrap_err().contains("ascending"));
        // more than 64 bits
        assert!(decode_ids(&[0xff; 11]).is_err());
        // ids past i64::MAX
        let mut b = encode_ids(&[i64::MAX]);
        b.push(1);
        assert!(decode_ids(&b).unwrap_err().contains("overflows"));
    }
}
