//! Reading one layer blob (tar, tar+gzip, tar+zstd) into the squashed view.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use crate::digest::{Algorithm, HashState, Hasher, HashingReader};
use crate::limits::{Budget, LimitKind, PATH_OVERHEAD_BYTES};
use crate::{EntryKind, FileEntry, Progress, Visitor, WalkStats, Warning};

/// Maximum length in bytes of a normalised path inside a layer; longer
/// entries are skipped with a warning.
pub const MAX_PATH_LEN: usize = 4096;

/// Once a layer has produced this many decompressed bytes, the
/// decompressed/compressed ratio is checked against `OpenOptions::max_ratio`.
pub const RATIO_CHECK_AFTER: u64 = 64 << 20;

/// Most bytes the tar reader may consume between the end of one entry's
/// data and the start of the next one's: its headers, PAX extensions, GNU
/// long names and sparse maps, which the tar reader holds in memory.
pub const MAX_TAR_HEADER_BYTES: u64 = 1 << 20;

/// Largest zstd window accepted (log2): 128 MiB of decoder memory.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// Compression of a layer blob, decided from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn from_magic(m: &[u8]) -> Compression {
        if m.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if m.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn from_media_type(mt: &str) -> Option<Compression> {
        if mt.ends_with("gzip") || mt.ends_with(".tar.gzip") {
            Some(Compression::Gzip)
        } else if mt.ends_with("zstd") {
            Some(Compression::Zstd)
        } else if mt.ends_with(".tar") || mt.ends_with("rootfs.diff.tar") {
            Some(Compression::None)
        } else {
            None
        }
    }
}

/// The whiteout and visibility bookkeeping of a top-down walk.
///
/// Layers are fed last-first. A path is visible if no upper layer has the
/// same path, a whiteout of it or of an ancestor, an opaque ancestor, or a
/// non-directory at an ancestor. Whiteouts of a layer take effect only for
/// the layers below it, so they are collected per layer and committed by
/// [`Squash::finish_layer`].
pub(crate) struct Squash {
    budget: Budget,
    /// Visible paths so far → is it a directory.
    seen: HashMap<String, bool>,
    whiteouts: HashSet<String>,
    opaque: HashSet<String>,
    pending_whiteouts: Vec<String>,
    pending_opaque: Vec<String>,
    /// Ancestors of visible entries that no layer has shown (yet).
    implied: HashSet<String>,
}

impl Squash {
    pub(crate) fn new(budget: Budget) -> Squash {
        Squash {
            budget,
            seen: HashMap::new(),
            whiteouts: HashSet::new(),
            opaque: HashSet::new(),
            pending_whiteouts: Vec::new(),
            pending_opaque: Vec::new(),
            implied: HashSet::new(),
        }
    }

    /// Charges one remembered path to the buffer budget.
    fn charge(&self, path: &str) -> io::Result<()> {
        self.budget.charge(
            path.len() as u64 + PATH_OVERHEAD_BYTES,
            "paths remembered by the squashed walk",
        )
    }

    fn hidden(&self, path: &str) -> bool {
        if self.seen.contains_key(path) || self.whiteouts.contains(path) {
            return true;
        }
        for (i, _) in path.match_indices('/') {
            let anc = &path[..i];
            if self.whiteouts.contains(anc) || self.opaque.contains(anc) {
                return true;
            }
            if let Some(false) = self.seen.get(anc) {
                return true;
            }
        }
        false
    }

    fn mark_visible(&mut self, path: &str, is_dir: bool) -> io::Result<()> {
        self.charge(path)?;
        self.implied.remove(path);
        self.seen.insert(path.to_string(), is_dir);
        let mut p = path;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if self.seen.contains_key(p) || self.implied.contains(p) {
                break;
            }
            self.charge(p)?;
            self.implied.insert(p.to_string());
        }
        Ok(())
    }

    /// Reports directories that exist only implicitly (a visible entry lies
    /// below them but no visible layer entry names them), as a container
    /// runtime would create them. `layer` is `None` for these.
    pub(crate) fn finish(&mut self, visitor: &mut dyn Visitor, stats: &mut WalkStats) {
        let mut dirs: Vec<String> = self
            .implied
            .drain()
            .filter(|p| !self.seen.contains_key(p))
            .collect();
        dirs.sort();
        for path in dirs {
            stats.visible += 1;
            let fe = FileEntry {
                path,
                kind: EntryKind::Dir,
                size: 0,
                mode: 0o755,
                link_target: None,
                layer: None,
            };
            if visitor.wants(&fe) {
                let _ = visitor.visit(&fe, &mut io::empty());
            }
        }
    }

    pub(crate) fn finish_layer(&mut self) {
        self.whiteouts.extend(self.pending_whiteouts.drain(..));
        self.opaque.extend(self.pending_opaque.drain(..));
    }
}

/// Normalises a tar path: drops leading `/` and `./`, empty and `.`
/// components, resolves `..` without ever going above the root. Returns the
/// path and whether it had to be clamped (a `..` at the root).
pub(crate) fn normalise(raw: &[u8]) -> (String, bool) {
    let s = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    let mut escaped = false;
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    escaped = true;
                }
            }
            c => parts.push(c),
        }
    }
    (parts.join("/"), escaped)
}

/// What reading one layer produced.
pub(crate) struct LayerOutcome {
    /// Digest of the raw blob bytes read (`algorithm:hex`).
    pub(crate) blob_digest: String,
    /// Raw blob bytes read.
    pub(crate) blob_bytes: u64,
    /// sha256 of the uncompressed tar, when the whole stream decoded.
    pub(crate) diff_id: Option<String>,
    /// The first failure (decode, tar, limit), if any.
    pub(crate) error: Option<String>,
}

struct DiffState {
    hasher: Hasher,
    bytes: u64,
    /// While the tar reader looks for the next header: the stream position
    /// it may not pass (see [`MAX_TAR_HEADER_BYTES`]).
    header_until: Option<u64>,
}

/// Counts and hashes decompressed bytes, enforcing the image size, ratio,
/// header and time bounds.
struct DiffReader<'b, R> {
    inner: R,
    state: Rc<RefCell<DiffState>>,
    compressed: Rc<RefCell<HashState>>,
    budget: &'b Budget,
    name: &'b str,
    max_ratio: u64,
    check_ratio: bool,
}

impl<R: Read> Read for DiffReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.budget.check_time(&format!("layer {}", self.name))?;
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        st.hasher.update(&buf[..n]);
        st.bytes += n as u64;
        self.budget
            .add_image_bytes(n as u64, &format!("layer {}", self.name))?;
        if let Some(until) = st.header_until
            && st.bytes > until
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "tar headers (PAX extensions, GNU long names, sparse maps) of one entry exceed {MAX_TAR_HEADER_BYTES} bytes"
                ),
            ));
        }
        if self.check_ratio && st.bytes > RATIO_CHECK_AFTER {
            let c = self.compressed.borrow().bytes.max(1);
            if st.bytes / c > self.max_ratio {
                return Err(self.budget.exceed(
                    LimitKind::Ratio,
                    format!(
                        "layer {}: {} bytes decompressed from {c} (compression bomb?)",
                        self.name, st.bytes
                    ),
                ));
            }
        }
        Ok(n)
    }
}

/// The content of one entry as handed to a visitor: the time bound holds
/// while the visitor reads (sparse files can yield zeros without end).
struct ContentReader<'b, R> {
    inner: R,
    budget: &'b Budget,
    path: &'b str,
}

impl<R: Read> Read for ContentReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.budget.check_time(self.path)?;
        self.inner.read(buf)
    }
}

/// Everything `read_layer` needs besides the blob.
pub(crate) struct LayerCtx<'a> {
    pub(crate) index: Option<usize>,
    /// Name used in warnings: the layer digest or archive path.
    pub(crate) name: &'a str,
    pub(crate) media_type: &'a str,
    pub(crate) algorithm: Algorithm,
    pub(crate) budget: &'a Budget,
}

/// Reads one layer blob top to bottom, handing visible entries to the
/// visitor, then drains the rest of the blob so its digest and diff ID are
/// complete. Never panics on bad input; failures end up in
/// [`LayerOutcome::error`].
pub(crate) fn read_layer(
    raw: &mut dyn Read,
    ctx: &LayerCtx<'_>,
    squash: &mut Squash,
    visitor: &mut dyn Visitor,
    progress: &mut dyn Progress,
    stats: &mut WalkStats,
) -> LayerOutcome {
    let blob_state = Rc::new(RefCell::new(HashState {
        hasher: Hasher::new(ctx.algorithm),
        bytes: 0,
    }));
    let diff_state = Rc::new(RefCell::new(DiffState {
        hasher: Hasher::new(Algorithm::Sha256),
        bytes: 0,
        header_until: None,
    }));
    let mut error: Option<String> = None;
    let mut reported = 0u64;
    {
        let mut hashed = HashingReader::new(&mut *raw, blob_state.clone(), ctx.budget, ctx.name);
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < magic.len() {
            match hashed.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(format!("read failed: {e}"));
                    break;
                }
            }
        }
        if error.is_none() {
            let comp = Compression::from_magic(&magic[..got]);
            if let Some(declared) = Compression::from_media_type(ctx.media_type)
                && declared != comp
            {
                visitor.warning(Warning {
                    layer: Some(ctx.name.to_string()),
                    path: None,
                    message: format!(
                        "media type {} says {:?} but content looks {:?}; following the content",
                        ctx.media_type, declared, comp
                    ),
                    skipped: false,
                });
            }
            let chained = Cursor::new(magic[..got].to_vec()).chain(hashed);
            let decoder: Result<Box<dyn Read + '_>, io::Error> = match comp {
                Compression::None => Ok(Box::new(chained)),
                Compression::Gzip => Ok(Box::new(flate2::read::MultiGzDecoder::new(chained))),
                // The window a frame may demand is capped at 2^27 bytes
                // (128 MiB, zstd's own default) so a frame header cannot
                // make the decoder allocate more.
                Compression::Zstd => zstd::stream::read::Decoder::new(chained).and_then(|mut d| {
                    d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                    Ok(Box::new(d) as Box<dyn Read + '_>)
                }),
            };
            match decoder {
                Err(e) => error = Some(format!("cannot start zstd decoder: {e}")),
                Ok(decoder) => {
                    let counted = DiffReader {
                        inner: decoder,
                        state: diff_state.clone(),
                        compressed: blob_state.clone(),
                        budget: ctx.budget,
                        name: ctx.name,
                        max_ratio: ctx.budget.limits().max_ratio.max(1),
                        check_ratio: comp != Compression::None,
                    };
                    let mut archive = tar::Archive::new(counted);
                    error = walk_tar(
                        &mut archive,
                        ctx,
                        squash,
                        visitor,
                        progress,
                        stats,
                        &blob_state,
                        &diff_state,
                        &mut reported,
                    );
                    if error.is_none() {
                        // The diff ID covers the whole tar stream, padding included.
                        let mut rest = archive.into_inner();
                        if let Err(e) = io::copy(&mut rest, &mut io::sink()) {
                            error = Some(format!("reading layer tail: {e}"));
                        }
                    }
                }
            }
        }
    }
    // Drain whatever the decoder left unread so the blob digest is complete.
    let mut tail = HashingReader::new(raw, blob_state.clone(), ctx.budget, ctx.name);
    if let Err(e) = io::copy(&mut tail, &mut io::sink())
        && error.is_none()
    {
        error = Some(format!("reading blob tail: {e}"));
    }
    let bs = blob_state.borrow();
    progress.bytes(bs.bytes.saturating_sub(reported));
    let ds = diff_state.borrow();
    stats.bytes_decompressed += ds.bytes;
    LayerOutcome {
        blob_digest: bs.hasher.finish(),
        blob_bytes: bs.bytes,
        diff_id: if error.is_none() {
            Some(ds.hasher.finish())
        } else {
            None
        },
        error,
    }
}

#[allow(clippy::too_many_arguments)]
fn walk_tar<R: Read>(
    archive: &mut tar::Archive<R>,
    ctx: &LayerCtx<'_>,
    squash: &mut Squash,
    visitor: &mut dyn Visitor,
    progress: &mut dyn Progress,
    stats: &mut WalkStats,
    blob_state: &Rc<RefCell<HashState>>,
    diff_state: &Rc<RefCell<DiffState>>,
    reported: &mut u64,
) -> Option<String> {
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => return Some(format!("tar: {e}")),
    };
    let warn = |visitor: &mut dyn Visitor, path: Option<&str>, message: String, skipped: bool| {
        visitor.warning(Warning {
            layer: Some(ctx.name.to_string()),
            path: path.map(str::to_string),
            message,
            skipped,
        })
    };
    let budget = ctx.budget;
    let limits = *budget.limits();
    // End of the last entry's data in the uncompressed stream: some writers
    // (umoci) end the tar right after it, without block padding or the
    // end-of-archive blocks. That is tolerated; a stream that ends inside
    // entry data is not.
    let mut data_end = 0u64;
    // Where the next header is expected, so the tar reader's look-ahead
    // (headers, PAX extensions, long names, sparse maps: all held in memory
    // by it) can be bounded by MAX_TAR_HEADER_BYTES.
    let mut next_header = 0u64;
    let mut entries = entries;
    loop {
        diff_state.borrow_mut().header_until =
            Some(next_header.saturating_add(MAX_TAR_HEADER_BYTES));
        let item = entries.next();
        diff_state.borrow_mut().header_until = None;
        let Some(item) = item else { break };
        let mut entry = match item {
            Ok(e) => e,
            Err(e) => {
                let total = diff_state.borrow().bytes;
                if total < data_end || !e.to_string().contains("unexpected EOF") {
                    return Some(format!("tar: {e}"));
                }
                return None;
            }
        };
        data_end = entry.raw_file_position().saturating_add(entry.size());
        let header = entry.header();
        let etype = header.entry_type();
        let stored = if etype.is_gnu_sparse() {
            header.entry_size().unwrap_or(0)
        } else {
            entry.size()
        };
        next_header = diff_state
            .borrow()
            .bytes
            .saturating_add(stored.saturating_add(511) & !511);
        stats.entries += 1;
        if let Err(e) = budget.add_entry(&format!("layer {}", ctx.name)) {
            return Some(e.to_string());
        }
        let (path, escaped) = normalise(&entry.path_bytes());
        if path.is_empty() {
            continue; // the root directory itself
        }
        if path.len() > MAX_PATH_LEN {
            warn(
                visitor,
                None,
                format!(
                    "path of {} bytes longer than {MAX_PATH_LEN}; entry skipped",
                    path.len()
                ),
                true,
            );
            continue;
        }
        if escaped {
            warn(
                visitor,
                Some(&path),
                "path climbs above the root with '..'; clamped to the root".into(),
                false,
            );
        }
        let header = entry.header();
        let kind = match etype {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::HardLink,
            _ => EntryKind::Other,
        };
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let size = if kind == EntryKind::File {
            entry.size()
        } else {
            0
        };
        let link_target = match kind {
            EntryKind::Symlink => entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            EntryKind::HardLink => entry.link_name_bytes().map(|b| normalise(&b).0),
            _ => None,
        };

        // Whiteouts: `.wh..wh..opq` marks its directory opaque, `.wh.NAME` deletes NAME.
        let (parent, base) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path.as_str()),
        };
        if base == ".wh..wh..opq" {
            if let Err(e) = squash.charge(parent) {
                return Some(e.to_string());
            }
            squash.pending_opaque.push(parent.to_string());
            continue;
        }
        if let Some(name) = base.strip_prefix(".wh.") {
            if name.is_empty() || name == "." || name == ".." {
                warn(
                    visitor,
                    Some(&path),
                    "malformed whiteout ignored".into(),
                    false,
                );
                continue;
            }
            let target = if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}/{name}")
            };
            if let Err(e) = squash.charge(&target) {
                return Some(e.to_string());
            }
            squash.pending_whiteouts.push(target);
            continue;
        }

        // An upper layer implied this path as a directory: only a directory
        // entry may supply its metadata.
        if squash.hidden(&path) || (kind != EntryKind::Dir && squash.implied.contains(&path)) {
            continue;
        }
        if let Err(e) = squash.mark_visible(&path, kind == EntryKind::Dir) {
            return Some(e.to_string());
        }
        stats.visible += 1;
        let fe = FileEntry {
            path,
            kind,
            size,
            mode,
            link_target,
            layer: ctx.index,
        };
        if visitor.wants(&fe) {
            if fe.size > limits.max_file_bytes {
                warn(
                    visitor,
                    Some(&fe.path),
                    format!(
                        "file of {} bytes exceeds max_file_bytes ({}); content not read",
                        fe.size, limits.max_file_bytes
                    ),
                    true,
                );
            } else {
                let mut content = ContentReader {
                    inner: (&mut entry).take(fe.size),
                    budget,
                    path: &fe.path,
                };
                if let Err(e) = visitor.visit(&fe, &mut content) {
                    return Some(format!("{}: reading content failed: {e}", fe.path));
                }
            }
        }
        let now = blob_state.borrow().bytes;
        progress.bytes(now.saturating_sub(*reported));
        *reported = now;
    }
    None
}
