//! The RPM header blob as stored in an rpmdb: `il` and `dl` (big-endian u32), `il` index entries
//! of 16 bytes (`tag`, `type`, `offset`, `count`, all big-endian), then `dl` bytes of data.

use crate::{OsPackage, OsPkgError, PkgEcosystem};

const FORMAT: &str = "rpm header";

/// Most index entries a header may have (rpm itself rejects more than 0xffff).
pub const MAX_RPM_HEADER_INDEX_ENTRIES: usize = 0xffff;
/// Largest data store a header may have: 256 MiB (rpm's own bound).
pub const MAX_RPM_HEADER_DATA: usize = 256 * 1024 * 1024;
/// Most files one package may list.
pub const MAX_RPM_FILES_PER_PACKAGE: usize = 1_000_000;
/// Most bytes of file paths one package may produce once directory and base names are joined.
pub const MAX_RPM_PATH_BYTES_PER_PACKAGE: usize = 64 * 1024 * 1024;

/// Magic that starts a header in a package file; rpmdbs store headers without it.
const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_OLDFILENAMES: u32 = 1027;
const TAG_SOURCERPM: u32 = 1044;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

#[derive(Clone, Copy)]
struct Entry {
    ty: u32,
    offset: usize,
    count: usize,
}

struct Header<'a> {
    data: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn bad(detail: impl Into<String>) -> OsPkgError {
    OsPkgError::malformed(FORMAT, "<header blob>", detail)
}

impl<'a> Header<'a> {
    fn string(&self, tag: u32, e: Entry) -> Result<String, OsPkgError> {
        if !matches!(e.ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(bad(format!("tag {tag}: type {} is not a string", e.ty)));
        }
        let (s, _) = self.cstr(tag, e.offset)?;
        Ok(s)
    }

    /// NUL-terminated string at `off` in the data store; returns it and the offset after the NUL.
    fn cstr(&self, tag: u32, off: usize) -> Result<(String, usize), OsPkgError> {
        let rest = self
            .data
            .get(off..)
            .ok_or_else(|| bad(format!("tag {tag}: offset {off} past the data store")))?;
        let end = rest.iter().position(|&b| b == 0).ok_or_else(|| {
            bad(format!(
                "tag {tag}: string at offset {off} is not terminated"
            ))
        })?;
        Ok((
            String::from_utf8_lossy(&rest[..end]).into_owned(),
            off + end + 1,
        ))
    }

    fn string_array(&self, tag: u32, e: Entry) -> Result<Vec<String>, OsPkgError> {
        if e.ty != TYPE_STRING_ARRAY {
            return Err(bad(format!(
                "tag {tag}: type {} is not a string array",
                e.ty
            )));
        }
        // Every string takes at least one byte (its NUL).
        if e.count > self.data.len() {
            return Err(bad(format!(
                "tag {tag}: count {} exceeds the data store",
                e.count
            )));
        }
        let mut v = Vec::with_capacity(e.count);
        let mut off = e.offset;
        for _ in 0..e.count {
            let (s, next) = self.cstr(tag, off)?;
            v.push(s);
            off = next;
        }
        Ok(v)
    }

    fn int32s(&self, tag: u32, e: Entry) -> Result<Vec<u32>, OsPkgError> {
        if e.ty != TYPE_INT32 {
            return Err(bad(format!("tag {tag}: type {} is not int32", e.ty)));
        }
        let len = e
            .count
            .checked_mul(4)
            .filter(|&l| {
                e.offset
                    .checked_add(l)
                    .is_some_and(|end| end <= self.data.len())
            })
            .ok_or_else(|| {
                bad(format!(
                    "tag {tag}: {} int32 values at offset {} run past the data store",
                    e.count, e.offset
                ))
            })?;
        let s = &self.data[e.offset..e.offset + len];
        Ok(s.chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

/// Parse one RPM header blob (as stored in an rpmdb: no lead, optional header magic) into an
/// [`OsPackage`] with `db_path` left empty.
///
/// Reads NAME, VERSION, RELEASE, EPOCH, LICENSE, ARCH, SOURCERPM and the file list (DIRINDEXES,
/// BASENAMES, DIRNAMES; OLDFILENAMES for very old headers). `version` is `VERSION-RELEASE`;
/// `source_name`/`source_version` come from SOURCERPM (`name-version-release.src.rpm`). When a
/// tag occurs more than once the last entry wins (installed headers append entries after the
/// immutable region). The entry count is bounded by [`MAX_RPM_HEADER_INDEX_ENTRIES`], the data
/// by [`MAX_RPM_HEADER_DATA`], files by [`MAX_RPM_FILES_PER_PACKAGE`] and
/// [`MAX_RPM_PATH_BYTES_PER_PACKAGE`].
pub fn parse_rpm_header(blob: &[u8]) -> Result<OsPackage, OsPkgError> {
    let blob = blob.strip_prefix(&HEADER_MAGIC[..]).unwrap_or(blob);
    let il = be32(blob, 0).ok_or_else(|| bad("shorter than the 8-byte intro"))? as usize;
    let dl = be32(blob, 4).ok_or_else(|| bad("shorter than the 8-byte intro"))? as usize;
    if il == 0 || il > MAX_RPM_HEADER_INDEX_ENTRIES {
        return Err(bad(format!(
            "index entry count {il} outside 1..={MAX_RPM_HEADER_INDEX_ENTRIES}"
        )));
    }
    if dl > MAX_RPM_HEADER_DATA {
        return Err(bad(format!(
            "data length {dl} exceeds the limit of {MAX_RPM_HEADER_DATA}"
        )));
    }
    let data_start = 8 + il * 16; // il <= 0xffff: no overflow
    let data_end = data_start + dl;
    if data_end > blob.len() {
        return Err(bad(format!(
            "{il} index entries and {dl} data bytes need {data_end} bytes, blob has {}",
            blob.len()
        )));
    }
    let h = Header {
        data: &blob[data_start..data_end],
    };
    let mut wanted: [Option<Entry>; 11] = [None; 11];
    const TAGS: [u32; 11] = [
        TAG_NAME,
        TAG_VERSION,
        TAG_RELEASE,
        TAG_EPOCH,
        TAG_LICENSE,
        TAG_ARCH,
        TAG_OLDFILENAMES,
        TAG_SOURCERPM,
        TAG_DIRINDEXES,
        TAG_BASENAMES,
        TAG_DIRNAMES,
    ];
    for i in 0..il {
        let at = 8 + i * 16;
        // In bounds: at + 16 <= data_start <= blob.len().
        let (Some(tag), Some(ty), Some(offset), Some(count)) = (
            be32(blob, at),
            be32(blob, at + 4),
            be32(blob, at + 8),
            be32(blob, at + 12),
        ) else {
            return Err(bad(format!("index entry {i} truncated")));
        };
        if let Some(slot) = TAGS.iter().position(|&t| t == tag) {
            let offset = offset as usize;
            if offset >= dl {
                return Err(bad(format!(
                    "tag {tag}: offset {offset} past the data store of {dl} bytes"
                )));
            }
            wanted[slot] = Some(Entry {
                ty,
                offset,
                count: count as usize,
            });
        }
    }
    let get = |tag: u32| TAGS.iter().position(|&t| t == tag).and_then(|i| wanted[i]);
    let opt_string = |tag: u32| -> Result<Option<String>, OsPkgError> {
        get(tag).map(|e| h.string(tag, e)).transpose()
    };
    let name = opt_string(TAG_NAME)?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("no NAME tag"))?;
    let version = opt_string(TAG_VERSION)?.unwrap_or_default();
    let release = opt_string(TAG_RELEASE)?.unwrap_or_default();
    let epoch = match get(TAG_EPOCH) {
        Some(e) => h
            .int32s(TAG_EPOCH, Entry { count: 1, ..e })?
            .first()
            .copied(),
        None => None,
    };
    let license = opt_string(TAG_LICENSE)?;
    let arch = opt_string(TAG_ARCH)?;
    let sourcerpm = opt_string(TAG_SOURCERPM)?;
    let files = files(
        &h,
        get(TAG_DIRINDEXES),
        get(TAG_BASENAMES),
        get(TAG_DIRNAMES),
        get(TAG_OLDFILENAMES),
    )?;

    let full_version = if release.is_empty() {
        version
    } else {
        format!("{version}-{release}")
    };
    let (source_name, source_version) = match sourcerpm.as_deref().and_then(split_source_rpm) {
        Some((n, v)) => (Some(n), Some(v)),
        None => (None, Some(full_version.clone())),
    };
    Ok(OsPackage {
        ecosystem: PkgEcosystem::Rpm,
        name,
        version: full_version,
        arch,
        source_name,
        source_version,
        epoch,
        license,
        files,
        db_path: String::new(),
    })
}

fn files(
    h: &Header<'_>,
    dirindexes: Option<Entry>,
    basenames: Option<Entry>,
    dirnames: Option<Entry>,
    oldfilenames: Option<Entry>,
) -> Result<Vec<String>, OsPkgError> {
    let check_count = |n: usize| {
        if n > MAX_RPM_FILES_PER_PACKAGE {
            Err(bad(format!(
                "{n} files exceed the limit of {MAX_RPM_FILES_PER_PACKAGE}"
            )))
        } else {
            Ok(())
        }
    };
    let Some(base_e) = basenames else {
        return match oldfilenames {
            Some(e) => {
                check_count(e.count)?;
                h.string_array(TAG_OLDFILENAMES, e)
            }
            None => Ok(Vec::new()),
        };
    };
    check_count(base_e.count)?;
    let (Some(idx_e), Some(dir_e)) = (dirindexes, dirnames) else {
        return Err(bad("BASENAMES without DIRINDEXES or DIRNAMES"));
    };
    let bases = h.string_array(TAG_BASENAMES, base_e)?;
    let dirs = h.string_array(TAG_DIRNAMES, dir_e)?;
    let idx = h.int32s(TAG_DIRINDEXES, idx_e)?;
    if idx.len() != bases.len() {
        return Err(bad(format!(
            "{} DIRINDEXES for {} BASENAMES",
            idx.len(),
            bases.len()
        )));
    }
    let mut out = Vec::with_capacity(bases.len());
    let mut total = 0usize;
    for (b, &i) in bases.iter().zip(&idx) {
        let d = dirs.get(i as usize).ok_or_else(|| {
            bad(format!(
                "DIRINDEX {i} out of range ({} DIRNAMES)",
                dirs.len()
            ))
        })?;
        total = total.saturating_add(d.len() + b.len());
        if total > MAX_RPM_PATH_BYTES_PER_PACKAGE {
            return Err(bad(format!(
                "file paths exceed {MAX_RPM_PATH_BYTES_PER_PACKAGE} bytes"
            )));
        }
        out.push(format!("{d}{b}"));
    }
    Ok(out)
}

/// `bash-5.1.8-1.cm2.src.rpm` → (`bash`, `5.1.8-1.cm2`).
fn split_source_rpm(s: &str) -> Option<(String, String)> {
    let stem = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_string(), format!("{version}-{release}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_split() {
        assert_eq!(
            split_source_rpm("util-linux-2.32.1-42.el8_8.src.rpm"),
            Some(("util-linux".into(), "2.32.1-42.el8_8".into()))
        );
        assert_eq!(split_source_rpm("(none)"), None);
    }
}
