//! Loading feeds from files, directory trees and zip dumps, with every read bounded.
//!
//! Every path is untrusted. The rules, in one place:
//!
//! * **Regular files only.** A directory walk looks at each entry's type without opening it and
//!   skips (and reports) FIFOs, sockets, devices and symbolic links to directories (so a link
//!   loop cannot make the walk endless); a file is then opened non-blocking and its type checked
//!   again on the open handle (`buildledger_input::open_regular`), so a FIFO swapped in never
//!   blocks the load.
//! * **Byte limits checked while reading**, never after: one file or zip entry at most
//!   [`Limits::file_bytes`] (a declared size above it is refused before decompressing), all the
//!   uncompressed bytes of one zip at most [`Limits::zip_total_bytes`], and at most
//!   [`Limits::entries`] zip entries (checked on the end-of-central-directory record, before the
//!   central directory is parsed) or files in a walk.
//! * **One record per id.** Several records with the same id: the newest `modified` wins (so the
//!   result does not depend on the order of paths or files); several newest ones with different
//!   content are all refused and reported, since any choice between them would.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use buildledger_input::{InputError, kind_of, open_regular, read_limited, read_open};

use crate::alpine;
use crate::model::{Advisory, Affected, FeedError, LoadReport};
use crate::osv::{MAX_ADVISORY_BYTES, MAX_DIR_DEPTH, MAX_RECORDS};

/// Byte and count limits for one load. Interfaces fill them from their configuration; the
/// defaults are [`MAX_ADVISORY_BYTES`], 4 GiB, [`MAX_RECORDS`] and [`MAX_DIR_DEPTH`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, or uncompressed zip entry, in bytes.
    pub file_bytes: u64,
    /// Most uncompressed bytes read from one zip archive, all entries together.
    pub zip_total_bytes: u64,
    /// Most entries in one zip archive, and most feed files taken from one directory tree.
    pub entries: usize,
    /// Deepest directory nesting walked.
    pub dir_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            file_bytes: MAX_ADVISORY_BYTES,
            zip_total_bytes: 4 << 30,
            entries: MAX_RECORDS,
            dir_depth: MAX_DIR_DEPTH,
        }
    }
}

/// Which reader a file goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Per file: a zip is an OSV dump, `.yaml`/`.yml` is Alpine secdb, a JSON document with a
    /// top-level `distroversion` and no `id` is Alpine secdb, any other JSON is OSV.
    Auto,
    /// OSV only: `.json` files and zip dumps; other files are skipped and reported.
    Osv,
    /// Alpine secdb only: `.yaml`, `.yml` and `.json` files.
    AlpineSecdb,
}

impl Format {
    /// `auto`, `osv` or `alpine-secdb`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "auto" => Some(Format::Auto),
            "osv" => Some(Format::Osv),
            "alpine-secdb" => Some(Format::AlpineSecdb),
            _ => None,
        }
    }
}

/// Loads OSV advisories from `path`: a single `.json` file, a directory (walked recursively for
/// `*.json`, in path order, symlinks to directories not followed) or a zip dump such as OSV's
/// `all.zip` (recognised by its magic bytes, whatever its name; entries not ending in `.json`
/// are skipped), with the default [`Limits`].
///
/// Bad records do not stop the load: each one becomes a [`FeedError`] in the report. `Err` is
/// returned only when `path` itself cannot be read (missing, not a regular file or directory,
/// over the size limit), or a zip's central directory is unreadable or lists more entries than
/// the limit. `progress` is called with the number of records looked at so far after each record.
pub fn load_osv_path(path: &Path, progress: &mut dyn FnMut(usize)) -> io::Result<LoadReport> {
    load_paths(
        &[path.to_path_buf()],
        Format::Osv,
        &Limits::default(),
        progress,
    )
}

/// Loads every path (file, directory or zip dump) in `format` into one report: one advisory per
/// id (see the [module docs](self)), sorted by id; one error per bad record; warnings, skipped
/// files and the secdb scopes read. `Err` when a path as a whole is unusable: missing, neither a
/// regular file nor a directory, larger than the limit, or a zip whose central directory is
/// unreadable or over the entry limit. `progress` gets the number of files and entries looked at.
pub fn load_paths(
    paths: &[PathBuf],
    format: Format,
    limits: &Limits,
    progress: &mut dyn FnMut(usize),
) -> io::Result<LoadReport> {
    let mut l = Loader {
        format,
        limits,
        progress,
        seen: 0,
        osv: Vec::new(),
        secdb: BTreeMap::new(),
        report: LoadReport::default(),
    };
    for p in paths {
        l.load_path(p)?;
    }
    Ok(l.finish())
}

struct Loader<'a> {
    format: Format,
    limits: &'a Limits,
    progress: &'a mut dyn FnMut(usize),
    seen: usize,
    /// OSV advisories with where each came from.
    osv: Vec<(Advisory, String)>,
    /// Secdb entries by vulnerability id.
    secdb: BTreeMap<String, Vec<Affected>>,
    report: LoadReport,
}

fn note(location: impl Into<String>, message: impl Into<String>) -> FeedError {
    FeedError {
        location: location.into(),
        id: None,
        message: message.into(),
    }
}

fn whole(path: &Path, m: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {m}", path.display()),
    )
}

fn input_error(e: InputError, limits: &Limits) -> io::Error {
    match e {
        InputError::Io { source, name } => {
            io::Error::new(source.kind(), format!("{name}: {source}"))
        }
        InputError::TooLarge { name, .. } => io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "{name}: larger than the {}-byte limit for one feed file",
                limits.file_bytes
            ),
        ),
        e => io::Error::new(io::ErrorKind::InvalidInput, e.to_string()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Json,
    Yaml,
}

fn ext_of(p: &Path) -> Option<String> {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

impl Loader<'_> {
    fn tick(&mut self) {
        self.seen += 1;
        (self.progress)(self.seen);
    }

    fn load_path(&mut self, path: &Path) -> io::Result<()> {
        // metadata() follows a symlink without opening anything.
        let meta = fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            // The root must be listable; errors below it are reported per directory.
            fs::read_dir(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            let mut files = Vec::new();
            self.collect(path, 0, &mut files);
            files.sort();
            if files.len() > self.limits.entries {
                self.report.errors.push(note(
                    path.display().to_string(),
                    format!(
                        "more than {} feed files; only the first {} were loaded",
                        self.limits.entries, self.limits.entries
                    ),
                ));
                files.truncate(self.limits.entries);
            }
            for (file, kind) in files {
                let location = file.display().to_string();
                match self.read_one(&file) {
                    Ok(bytes) => self.parse(&bytes, kind, &location),
                    Err(e) => self.report.errors.push(note(location, e.to_string())),
                }
                self.tick();
            }
            return Ok(());
        }
        // A single file named directly: it must be a regular file (a FIFO is refused without
        // blocking), and it may be a zip dump.
        let mut file = open_regular(path).map_err(|e| input_error(e, self.limits))?;
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut file, &mut magic)?;
        file.rewind()?;
        if n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
            if self.format == Format::AlpineSecdb {
                return Err(whole(
                    path,
                    "a zip archive; alpine-secdb is read from .yaml, .yml or .json files",
                ));
            }
            return self.load_zip(file, path);
        }
        let kind = match (ext_of(path).as_deref(), self.format) {
            (Some("yaml" | "yml"), _) => Kind::Yaml,
            _ => Kind::Json,
        };
        let name = path.display().to_string();
        let bytes = read_open(file, self.limits.file_bytes, &name)
            .map_err(|e| input_error(e, self.limits))?;
        self.parse(&bytes, kind, &name);
        self.tick();
        Ok(())
    }

    /// Opens and reads a file found by a walk (re-checking its type on the open handle).
    fn read_one(&self, path: &Path) -> Result<Vec<u8>, InputError> {
        let f = open_regular(path)?;
        read_open(f, self.limits.file_bytes, &path.display().to_string())
    }

    /// Which reader a file of this name goes to in this format; `Err` is the reason to skip it.
    fn kind_for(&self, path: &Path) -> Result<Kind, String> {
        match (ext_of(path).as_deref(), self.format) {
            (Some("json"), _) => Ok(Kind::Json),
            (Some("yaml" | "yml"), _) => Ok(Kind::Yaml),
            (Some("zip"), _) => {
                Err("zip archives are read only when named on the command line".to_string())
            }
            _ => Err("not a feed file (.json, .yaml, .yml); not read".to_string()),
        }
    }

    fn collect(&mut self, dir: &Path, depth: usize, out: &mut Vec<(PathBuf, Kind)>) {
        let location = || dir.display().to_string();
        if depth > self.limits.dir_depth {
            self.report.errors.push(note(
                location(),
                format!(
                    "nested deeper than {} directories; not walked",
                    self.limits.dir_depth
                ),
            ));
            return;
        }
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.report
                    .errors
                    .push(note(location(), format!("cannot list: {e}")));
                return;
            }
        };
        for entry in entries {
            if out.len() > self.limits.entries {
                return;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.report
                        .errors
                        .push(note(location(), format!("cannot list: {e}")));
                    continue;
                }
            };
            let path = entry.path();
            let loc = path.display().to_string();
            // file_type() does not follow symlinks; a symlink's target is looked at with
            // metadata() (which follows it, without opening anything).
            let Ok(mut ft) = entry.file_type() else {
                self.report
                    .skipped
                    .push(note(loc, "file type unreadable; not read"));
                continue;
            };
            if ft.is_symlink() {
                match fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {
                        self.report
                            .skipped
                            .push(note(loc, "symbolic link to a directory; not followed"));
                        continue;
                    }
                    Ok(m) => ft = m.file_type(),
                    Err(e) => {
                        self.report
                            .errors
                            .push(note(loc, format!("symbolic link not followed: {e}")));
                        continue;
                    }
                }
            }
            if ft.is_dir() {
                self.collect(&path, depth + 1, out);
                continue;
            }
            let kind = self.kind_for(&path);
            if !ft.is_file() {
                let what = kind_of(ft);
                let msg = format!("not a regular file ({what}); only regular files are read");
                // Named like a feed file: a record was expected here.
                if kind.is_ok() {
                    self.report.errors.push(note(loc, msg));
                } else {
                    self.report.skipped.push(note(loc, msg));
                }
                continue;
            }
            match kind {
                Ok(k) => out.push((path, k)),
                Err(reason) => self.report.skipped.push(note(loc, reason)),
            }
        }
    }

    fn parse(&mut self, bytes: &[u8], kind: Kind, location: &str) {
        match (kind, self.format) {
            // OSV records may be YAML too (the PyPI advisory database keeps them so): a YAML
            // document with an `id` and `affected` or `modified` is one; other YAML is secdb.
            (Kind::Yaml, Format::Osv) if !crate::osv::looks_like_osv_yaml(bytes) => {
                self.report.skipped.push(note(
                    location.to_string(),
                    "YAML that is not OSV (no top-level id with affected or modified); not read (use --format alpine-secdb or auto)",
                ));
            }
            (Kind::Yaml, Format::Auto | Format::Osv) if crate::osv::looks_like_osv_yaml(bytes) => {
                match crate::osv::osv_yaml_to_json(bytes) {
                    Ok(json) => self.parse(&json, Kind::Json, location),
                    Err(message) => self.report.errors.push(FeedError {
                        location: location.to_string(),
                        id: None,
                        message,
                    }),
                }
            }
            (Kind::Yaml, _) | (Kind::Json, Format::AlpineSecdb) => {
                self.parse_secdb(bytes, kind, location)
            }
            (Kind::Json, format) => match crate::osv::parse_osv_unbounded(bytes, location) {
                Ok(a) => {
                    for w in crate::osv::osv_warnings(&a) {
                        self.report.warnings.push(FeedError {
                            location: location.to_string(),
                            id: Some(a.id.clone()),
                            message: w,
                        });
                    }
                    self.osv.push((a, location.to_string()));
                }
                // Auto: a JSON document without an id may be a secdb file; only then is it
                // looked at again (OSV records cost one parse).
                Err(e)
                    if format == Format::Auto
                        && e.id.is_none()
                        && alpine::looks_like_secdb_json(bytes) =>
                {
                    self.parse_secdb(bytes, kind, location)
                }
                Err(e) => self.report.errors.push(e),
            },
        }
    }

    fn parse_secdb(&mut self, bytes: &[u8], kind: Kind, location: &str) {
        match alpine::parse_secdb(bytes, kind == Kind::Json, location) {
            Ok(f) => {
                self.report.scopes.push(f.scope);
                self.report.errors.extend(f.errors);
                for (id, a) in f.entries {
                    self.secdb.entry(id).or_default().push(a);
                }
            }
            Err(e) => self.report.errors.push(e),
        }
    }

    fn load_zip(&mut self, mut file: File, path: &Path) -> io::Result<()> {
        // Count the entries from the end-of-central-directory record before the zip reader
        // parses (and allocates for) the whole central directory.
        let declared = zip_entry_count(&mut file).map_err(|m| whole(path, m))?;
        if declared > self.limits.entries as u64 {
            return Err(whole(
                path,
                format!(
                    "zip lists {declared} entries, more than the {} limit",
                    self.limits.entries
                ),
            ));
        }
        file.rewind()?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| whole(path, format!("not a readable zip archive: {e}")))?;
        if archive.len() > self.limits.entries {
            return Err(whole(
                path,
                format!(
                    "zip lists {} entries, more than the {} limit",
                    archive.len(),
                    self.limits.entries
                ),
            ));
        }
        let base = path.display().to_string();
        let mut total_left = self.limits.zip_total_bytes;
        for i in 0..archive.len() {
            match self.read_zip_entry(&mut archive, i, &base, &mut total_left) {
                Ok(None) => {}
                Ok(Some((bytes, location))) => {
                    let kind = if location.to_ascii_lowercase().ends_with(".json") {
                        Kind::Json
                    } else {
                        Kind::Yaml
                    };
                    self.parse(&bytes, kind, &location);
                }
                Err(ZipStop::Entry(e)) => self.report.errors.push(e),
                Err(ZipStop::Total(e)) => {
                    self.report.errors.push(e);
                    self.tick();
                    break;
                }
            }
            self.tick();
        }
        Ok(())
    }

    /// One zip entry's bytes and location; `None` for directories and entries that are not feed
    /// files (reported as skipped).
    fn read_zip_entry<R: Read + Seek>(
        &mut self,
        archive: &mut zip::ZipArchive<R>,
        i: usize,
        base: &str,
        total_left: &mut u64,
    ) -> Result<Option<(Vec<u8>, String)>, ZipStop> {
        let fail = |location: String, message: String| ZipStop::Entry(note(location, message));
        let mut entry = archive
            .by_index(i)
            .map_err(|e| fail(format!("{base}!#{i}"), format!("unreadable zip entry: {e}")))?;
        let name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(e) => return Err(fail(format!("{base}!#{i}"), format!("bad entry name: {e}"))),
        };
        let location = format!("{base}!{name}");
        if entry.is_dir() {
            return Ok(None);
        }
        let lower = name.to_ascii_lowercase();
        let wanted = lower.ends_with(".json")
            || (self.format == Format::Auto
                && (lower.ends_with(".yaml") || lower.ends_with(".yml")));
        if !wanted {
            self.report
                .skipped
                .push(note(location, "not a feed file (.json); not read"));
            return Ok(None);
        }
        if entry.size() > self.limits.file_bytes {
            return Err(fail(
                location,
                format!(
                    "zip entry declares {} uncompressed bytes, more than the {}-byte limit",
                    entry.size(),
                    self.limits.file_bytes
                ),
            ));
        }
        if entry.size() > *total_left {
            return Err(ZipStop::Total(note(
                location,
                format!(
                    "the archive's uncompressed bytes pass the {}-byte limit for one zip; this and the remaining entries were not read",
                    self.limits.zip_total_bytes
                ),
            )));
        }
        let budget = self.limits.file_bytes.min(*total_left);
        let r = read_limited(&mut entry, budget, &location);
        match r {
            Ok(bytes) => {
                *total_left -= bytes.len() as u64;
                Ok(Some((bytes, location)))
            }
            Err(InputError::TooLarge { .. }) if budget < self.limits.file_bytes => {
                Err(ZipStop::Total(note(
                    location,
                    format!(
                        "the archive's uncompressed bytes pass the {}-byte limit for one zip; this and the remaining entries were not read",
                        self.limits.zip_total_bytes
                    ),
                )))
            }
            Err(InputError::TooLarge { .. }) => Err(fail(
                location,
                format!(
                    "uncompressed entry larger than the {}-byte advisory limit",
                    self.limits.file_bytes
                ),
            )),
            Err(e) => Err(fail(
                location,
                format!("cannot decompress: {}", io_part(&e)),
            )),
        }
    }

    fn finish(mut self) -> LoadReport {
        let mut all = std::mem::take(&mut self.osv);
        let secdb_files = self.report.scopes.len();
        let locs = if secdb_files == 1 {
            "1 secdb file".to_string()
        } else {
            format!("{secdb_files} secdb files")
        };
        for adv in alpine::build_advisories(std::mem::take(&mut self.secdb)) {
            all.push((adv, locs.clone()));
        }
        // NUL in any string is refused per record: PostgreSQL cannot store it,
        // and both engines must import the same feed alike.
        let (all, with_nul): (Vec<_>, Vec<_>) = all.into_iter().partition(|(a, _)| !has_nul(a));
        for (a, loc) in with_nul {
            self.report.errors.push(FeedError {
                location: loc,
                id: Some(a.id.clone()).filter(|i| !i.contains('\0')),
                message: "contains a NUL character (U+0000) in a string; not imported".into(),
            });
        }
        let (advisories, conflicts) = one_per_id(all);
        self.report.advisories = advisories;
        self.report.errors.extend(conflicts);
        self.report.scopes.sort();
        self.report.scopes.dedup();
        self.report
    }
}

enum ZipStop {
    /// This entry is bad.
    Entry(FeedError),
    /// The archive's total budget is spent: stop reading it.
    Total(FeedError),
}

fn io_part(e: &InputError) -> String {
    match e {
        InputError::Io { source, .. } => source.to_string(),
        e => e.to_string(),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The number of entries a zip's end-of-central-directory record (or its zip64 form) declares.
fn zip_entry_count(f: &mut File) -> Result<u64, String> {
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    // The EOCD is 22 bytes plus a comment of at most 65,535.
    let tail_len = len.min(22 + 65_535);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| e.to_string())?;
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")
    else {
        return Err("not a readable zip archive: no end-of-central-directory record".into());
    };
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
    let entries = u16_at(&tail, at + 10);
    if entries != 0xFFFF {
        return Ok(entries);
    }
    // Zip64: the locator (20 bytes) sits just before the EOCD and points at the zip64 record.
    let eocd_pos = len - tail_len + at as u64;
    if eocd_pos < 20 {
        return Ok(entries);
    }
    let mut loc = [0u8; 20];
    f.seek(SeekFrom::Start(eocd_pos - 20))
        .and_then(|_| f.read_exact(&mut loc))
        .map_err(|e| e.to_string())?;
    if loc[..4] != *b"PK\x06\x07" {
        return Ok(entries);
    }
    let off = u64::from_le_bytes(loc[8..16].try_into().unwrap_or_default());
    let mut rec = [0u8; 56];
    f.seek(SeekFrom::Start(off))
        .and_then(|_| f.read_exact(&mut rec))
        .map_err(|e| format!("zip64 end-of-central-directory record unreadable: {e}"))?;
    if rec[..4] != *b"PK\x06\x06" {
        return Err("zip64 end-of-central-directory record not where its locator says".into());
    }
    Ok(u64::from_le_bytes(
        rec[32..40].try_into().unwrap_or_default(),
    ))
}

/// One advisory per id: the newest `modified` wins (no date is oldest); several newest with
/// different content are refused, each id with one error naming where they came from.
fn one_per_id(all: Vec<(Advisory, String)>) -> (Vec<Advisory>, Vec<FeedError>) {
    let mut by_id: BTreeMap<String, Vec<(Advisory, String)>> = BTreeMap::new();
    for (a, loc) in all {
        by_id.entry(a.id.clone()).or_default().push((a, loc));
    }
    let mut out = Vec::with_capacity(by_id.len());
    let mut errors = Vec::new();
    for (id, mut group) in by_id {
        if group.len() == 1 {
            out.extend(group.pop().map(|(a, _)| a));
            continue;
        }
        let newest = group.iter().map(|(a, _)| a.modified).max().flatten();
        group.retain(|(a, _)| a.modified == newest);
        let first_hash = group[0].0.content_hash.clone();
        if group.iter().all(|(a, _)| a.content_hash == first_hash) {
            out.extend(group.into_iter().next().map(|(a, _)| a));
            continue;
        }
        let mut locs: Vec<String> = group.iter().map(|(_, l)| l.clone()).collect();
        locs.sort();
        locs.dedup();
        let when = newest.map_or("no \"modified\"".to_string(), |t| {
            format!("the same \"modified\" ({})", t.to_rfc3339())
        });
        errors.push(FeedError {
            location: locs.join(", "),
            id: Some(id),
            message: format!(
                "{} records with this id and {when} differ in content; none was imported (which one wins would depend on the order of the input)",
                group.len()
            ),
        });
    }
    (out, errors)
}

/// Whether any string in `a` holds NUL (a cheap look at its JSON first).
fn has_nul(a: &Advisory) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(xs) => xs.iter().any(walk),
            serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || walk(v)),
            _ => false,
        }
    }
    match serde_json::to_string(a) {
        Ok(text) if !text.contains("\\u0000") => false,
        _ => serde_json::to_value(a).map(|v| walk(&v)).unwrap_or(true),
    }
}
