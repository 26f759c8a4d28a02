//! rpm's legacy BerkeleyDB backend (`/var/lib/rpm/Packages`), read directly from the pages.
//!
//! Only the hash access method is read, as rpm uses. Page 0 is the metadata page (magic
//! 0x061561 at byte 12, page size at byte 20, encryption algorithm at byte 24, last page number
//! at byte 32). Every other page starts with a 26-byte header: page number (8), previous (12) and
//! next (16) page, entry count (20), `hf_offset` (22: bytes used on an overflow page), level (24)
//! and type (25). Hash pages (type 13, or 2 unsorted) carry a u16 offset per item after the
//! header; items alternate key, data. A data item of type 3 (`H_OFFPAGE`) holds the first page
//! number (+4) and total length (+8) of an overflow chain: pages of type 7 each carrying
//! `hf_offset` bytes after the header and linked by `next`. The record values are RPM headers.
//! The database byte order is that of the creating machine; it is detected from the magic.

use super::push_header;
use crate::{OsPackage, OsPkgError, check_size};

const FORMAT: &str = "rpm bdb";
const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_OFFPAGE: u8 = 3;

struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    npages: usize,
    big_endian: bool,
}

impl Db<'_> {
    fn u32_at(&self, at: usize) -> Option<u32> {
        let s = self.bytes.get(at..at.checked_add(4)?)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
    fn u16_at(&self, at: usize) -> Option<u16> {
        let s = self.bytes.get(at..at.checked_add(2)?)?;
        let a = [s[0], s[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    fn page(&self, pgno: usize) -> Option<&[u8]> {
        let start = pgno.checked_mul(self.page_size)?;
        self.bytes.get(start..start.checked_add(self.page_size)?)
    }
}

/// Parse a BerkeleyDB hash `Packages` file into its packages (in page order).
///
/// Errors on a wrong magic (a B-tree database is reported as unsupported), an encrypted
/// database, a bad page size, item offsets outside their page, overflow chains that leave the
/// file, reach a non-overflow page, loop or are shared between records, a chain whose length
/// differs from the recorded one, or any malformed header blob.
pub fn parse_rpmdb_bdb(bytes: &[u8], db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    check_size(FORMAT, db_path, bytes.len())?;
    let bad = |d: String| OsPkgError::malformed(FORMAT, db_path, d);
    if bytes.len() < 512 {
        return Err(bad(format!(
            "{} bytes is too short for a metadata page",
            bytes.len()
        )));
    }
    let le = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let be = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let big_endian = match (le, be) {
        (HASH_MAGIC, _) => false,
        (_, HASH_MAGIC) => true,
        (BTREE_MAGIC, _) | (_, BTREE_MAGIC) => {
            return Err(OsPkgError::Unsupported {
                format: FORMAT,
                db_path: db_path.to_string(),
                detail: "B-tree database (rpm uses hash)".into(),
            });
        }
        _ => return Err(bad(format!("bad magic 0x{le:08x} at byte 12"))),
    };
    let mut db = Db {
        bytes,
        page_size: 0,
        npages: 0,
        big_endian,
    };
    let page_size = db.u32_at(20).unwrap_or(0) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(bad(format!("bad page size {page_size}")));
    }
    if bytes[24] != 0 {
        return Err(OsPkgError::Unsupported {
            format: FORMAT,
            db_path: db_path.to_string(),
            detail: format!("encrypted database (algorithm {})", bytes[24]),
        });
    }
    db.page_size = page_size;
    db.npages = bytes.len() / page_size;
    // Overflow pages already consumed by a record: a page is never part of two chains.
    let mut used = vec![false; db.npages];
    let mut out = Vec::new();

    for pgno in 1..db.npages {
        let Some(page) = db.page(pgno) else { break };
        let ty = page[25];
        if ty != P_HASH && ty != P_HASH_UNSORTED {
            continue;
        }
        let base = pgno * page_size;
        let entries = db.u16_at(base + 20).unwrap_or(0) as usize;
        if PAGE_HEADER + entries * 2 > page_size {
            return Err(bad(format!(
                "page {pgno}: {entries} entries do not fit the page"
            )));
        }
        // Data items are the odd-numbered ones (key, data, key, data, …).
        for i in (1..entries).step_by(2) {
            let item = db.u16_at(base + PAGE_HEADER + i * 2).unwrap_or(0) as usize;
            if item < PAGE_HEADER || item >= page_size {
                return Err(bad(format!(
                    "page {pgno}: item {i} offset {item} outside the page"
                )));
            }
            if page[item] != H_OFFPAGE {
                continue; // small inline values (e.g. rpm's record 0) are not headers
            }
            if item + 12 > page_size {
                return Err(bad(format!(
                    "page {pgno}: off-page item {i} truncated by the page end"
                )));
            }
            let first = db.u32_at(base + item + 4).unwrap_or(0) as usize;
            let tlen = db.u32_at(base + item + 8).unwrap_or(0) as usize;
            let blob = read_chain(&db, &mut used, first, tlen)
                .map_err(|d| bad(format!("page {pgno} item {i}: {d}")))?;
            push_header(
                &mut out,
                &blob,
                db_path,
                &format!("bdb page {pgno} item {i}"),
            )?;
        }
    }
    Ok(out)
}

/// Collect an overflow chain of `tlen` bytes starting at page `first`.
fn read_chain(
    db: &Db<'_>,
    used: &mut [bool],
    first: usize,
    tlen: usize,
) -> Result<Vec<u8>, String> {
    if tlen > db.bytes.len() {
        return Err(format!("overflow length {tlen} exceeds the file size"));
    }
    let mut blob = Vec::with_capacity(tlen);
    let mut pgno = first;
    loop {
        if pgno == 0 || pgno >= db.npages {
            return Err(format!(
                "overflow page {pgno} outside the file ({} pages)",
                db.npages
            ));
        }
        if used[pgno] {
            return Err(format!(
                "overflow page {pgno} reached twice (loop or shared chain)"
            ));
        }
        used[pgno] = true;
        let base = pgno * db.page_size;
        let page = db
            .page(pgno)
            .ok_or_else(|| format!("overflow page {pgno} truncated"))?;
        if page[25] != P_OVERFLOW {
            return Err(format!(
                "page {pgno} has type {}, expected overflow (7)",
                page[25]
            ));
        }
        let n = db.u16_at(base + 22).unwrap_or(0) as usize;
        if n == 0 || PAGE_HEADER + n > db.page_size {
            return Err(format!("overflow page {pgno}: bad byte count {n}"));
        }
        if blob.len() + n > tlen {
            return Err(format!(
                "overflow chain longer than its recorded length {tlen}"
            ));
        }
        blob.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + n]);
        let next = db.u32_at(base + 16).unwrap_or(0) as usize;
        if next == 0 {
            break;
        }
        pgno = next;
    }
    if blob.len() != tlen {
        return Err(format!(
            "overflow chain holds {} bytes, recorded length is {tlen}",
            blob.len()
        ));
    }
    Ok(blob)
}
