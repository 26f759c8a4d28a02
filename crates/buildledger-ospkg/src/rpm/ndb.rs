//! rpm's NDB backend (`Packages.db`, SUSE and others since rpm 4.16).
//!
//! Layout, all little-endian u32: a 4096-byte slot area made of `slotnpages` pages; its first 32
//! bytes are the database header (`"RpmP"` magic, version 0, generation, `slotnpages`,
//! next package index) and the rest are 16-byte slots (`"Slot"` magic, package index — 0 for a
//! free slot —, block offset, block count; blocks are 16 bytes). A slot points to a blob: a
//! 16-byte blob header (`"BlbS"` magic, package index, generation, length), `length` bytes of RPM
//! header, then a 12-byte trailer.

use super::push_header;
use crate::{OsPackage, OsPkgError, check_size};

const FORMAT: &str = "rpm ndb";
const PAGE_SIZE: usize = 4096;
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLK_SIZE: usize = 16;
const BLOB_HEAD_SIZE: usize = 16;
const BLOB_TAIL_SIZE: usize = 12;
const DB_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parse an NDB `Packages.db` into its packages (in slot order).
///
/// Errors on a bad magic or version, a slot area larger than the file, a slot or blob pointing
/// outside the file, overlapping blobs, a blob whose magic or package index does not match its
/// slot, or any malformed header blob.
pub fn parse_rpmdb_ndb(bytes: &[u8], db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    check_size(FORMAT, db_path, bytes.len())?;
    let bad = |d: String| OsPkgError::malformed(FORMAT, db_path, d);
    if bytes.len() < HEADER_SIZE || &bytes[0..4] != DB_MAGIC {
        return Err(bad("missing \"RpmP\" magic".into()));
    }
    let version = le32(bytes, 4).unwrap_or(u32::MAX);
    if version != 0 {
        return Err(OsPkgError::Unsupported {
            format: FORMAT,
            db_path: db_path.to_string(),
            detail: format!("database version {version}"),
        });
    }
    let slotnpages = le32(bytes, 12).unwrap_or(0) as usize;
    let slot_area = slotnpages
        .checked_mul(PAGE_SIZE)
        .filter(|&n| n >= PAGE_SIZE && n <= bytes.len())
        .ok_or_else(|| {
            bad(format!(
                "{slotnpages} slot pages do not fit a file of {} bytes",
                bytes.len()
            ))
        })?;

    // (blob start, blob block count, package index, slot number)
    let mut slots: Vec<(usize, usize, u32, usize)> = Vec::new();
    let mut off = HEADER_SIZE;
    while off + SLOT_SIZE <= slot_area {
        let slotno = (off - HEADER_SIZE) / SLOT_SIZE;
        let s = &bytes[off..off + SLOT_SIZE];
        off += SLOT_SIZE;
        if &s[0..4] != SLOT_MAGIC {
            return Err(bad(format!("slot {slotno}: missing \"Slot\" magic")));
        }
        let pkgidx = le32(s, 4).unwrap_or(0);
        if pkgidx == 0 {
            continue;
        }
        let blkoff = le32(s, 8).unwrap_or(0) as usize;
        let blkcnt = le32(s, 12).unwrap_or(0) as usize;
        let start = blkoff * BLK_SIZE; // u32 * 16 fits usize on 64-bit and 32-bit checks below
        let len = blkcnt * BLK_SIZE;
        if start < slot_area
            || len < BLOB_HEAD_SIZE + BLOB_TAIL_SIZE
            || start.checked_add(len).is_none_or(|e| e > bytes.len())
        {
            return Err(bad(format!(
                "slot {slotno} (package {pkgidx}): blocks {blkoff}+{blkcnt} outside the blob area of a {}-byte file",
                bytes.len()
            )));
        }
        slots.push((start, len, pkgidx, slotno));
    }
    // Blobs must not overlap (rpm checks the same); this also bounds the total work.
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&i| slots[i].0);
    for w in order.windows(2) {
        let (a, b) = (slots[w[0]], slots[w[1]]);
        if a.0 + a.1 > b.0 {
            return Err(bad(format!(
                "slots {} and {} point to overlapping blobs",
                a.3, b.3
            )));
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for (start, len, pkgidx, slotno) in slots {
        let blob = &bytes[start..start + len];
        if &blob[0..4] != BLOB_MAGIC {
            return Err(bad(format!(
                "slot {slotno}: no \"BlbS\" magic at byte {start}"
            )));
        }
        let blob_pkg = le32(blob, 4).unwrap_or(0);
        if blob_pkg != pkgidx {
            return Err(bad(format!(
                "slot {slotno}: blob at byte {start} is for package {blob_pkg}, slot says {pkgidx}"
            )));
        }
        let bloblen = le32(blob, 12).unwrap_or(u32::MAX) as usize;
        if bloblen > len - BLOB_HEAD_SIZE - BLOB_TAIL_SIZE {
            return Err(bad(format!(
                "slot {slotno}: blob length {bloblen} exceeds its {len}-byte block range"
            )));
        }
        push_header(
            &mut out,
            &blob[BLOB_HEAD_SIZE..BLOB_HEAD_SIZE + bloblen],
            db_path,
            &format!("ndb package {pkgidx}"),
        )?;
    }
    Ok(out)
}
