//! Index an image: walk the file system the container sees and run every
//! cataloger over it, in one streaming pass.
//!
//! This crate owns the choice of *which* files matter (os-release, the apk,
//! dpkg and RPM databases, executables) and the turning of what the
//! catalogers find into ledger components and a [`BuildRecord`] of origin
//! `indexer` / trust `observed`. Reading images is `buildledger-image`'s job;
//! parsing databases `buildledger-ospkg`'s; parsing binaries
//! `buildledger-binary`'s.
//!
//! Memory stays bounded: every byte a cataloger keeps (package databases
//! until they are parsed, the one executable being inspected) is charged to
//! the image's [`Budget`](buildledger_image::Budget) *before* it is read, so
//! the scan fails with [`ScanError::Image`] /
//! [`ImageError::Limit`](buildledger_image::ImageError::Limit) (naming
//! `max_buffered_bytes`) instead of growing. All budgets are the
//! [`Limits`](buildledger_image::Limits) of the [`OpenOptions`].
//!
//! A scan is either complete or not recordable: any layer or blob that fails
//! verification fails the scan; anything skipped (a wanted file over
//! `max_file_bytes`, a package database or executable that could not be
//! parsed, an over-long path) is listed by [`ScanResult::skipped`], and
//! [`ScanResult::to_record`] refuses such a result.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use buildledger_binary::{AuditableInfo, GoBuildInfo, GoSymbols, PclntabFormat};
use buildledger_image::{
    Budget, EntryKind, FileEntry, Image, OpenOptions, SourceSpec, Visitor, Warning,
};
use buildledger_langpkg::LangPackage;
use buildledger_model::{
    BuildRecord, Component, Digest, Origin, PlatformManifest, Purl, Scope, Source, Subject,
    Toolchain, Trust, TrustState,
};
use buildledger_ospkg::{OsPackage, OsRelease};
use serde_json::json;

pub use buildledger_image::Progress;

/// Bytes charged per parsed OS package on top of its strings' lengths.
const PACKAGE_OVERHEAD_BYTES: u64 = 256;

/// Errors that stop a scan (a bad file inside an image is a warning instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The image could not be opened or read, failed verification, or
    /// exceeded one of its limits.
    #[error(transparent)]
    Image(#[from] buildledger_image::ImageError),
}

/// Why a [`ScanResult`] cannot become a ledger record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Part of the image was not examined; the first reasons are given.
    #[error(
        "the scan is incomplete, so it is not recorded as the image: {count} part(s) not examined, e.g. {first}"
    )]
    Incomplete {
        /// How many parts were skipped.
        count: usize,
        /// The first skip, as text.
        first: String,
    },
    /// A `dir:`/`file:` source has no digest of its own and none was given.
    #[error("no image digest to record under")]
    NoDigest,
    /// A digest was named for an image that has one of its own, and they
    /// differ: what was observed is not the image named.
    #[error(
        "--digest {given} is not this image: its manifest digest is {own}; an observation is recorded only under the digest the image itself has"
    )]
    DigestMismatch {
        /// The digest named by the caller.
        given: String,
        /// The manifest digest the image has.
        own: String,
    },
}

/// One executable with build information.
#[derive(Debug, Clone)]
pub struct BinaryReport {
    /// Path in the image.
    pub path: String,
    /// Go build information.
    pub go: Option<GoBuildInfo>,
    /// cargo-auditable dependency data.
    pub rust: Option<AuditableInfo>,
    /// A Go executable's function table as (package, symbol) pairs.
    pub go_symbols: Option<GoSymbols>,
    /// Why a Go executable's function table could not be read.
    pub go_symbols_error: Option<String>,
}

/// One Go executable of a scan, as the ledger keeps it for symbol-level
/// reachability.
#[derive(Debug, Clone)]
pub struct GoBinary<'a> {
    /// Path in the image.
    pub path: &'a str,
    /// `GOOS` from the build settings, or from the executable's format.
    pub goos: Option<&'a str>,
    /// `GOARCH` from the build settings.
    pub goarch: Option<&'a str>,
    /// Purls of the modules (and `stdlib`) it carries, as in the record.
    pub modules: Vec<String>,
    /// Its function table, when read.
    pub symbols: Option<&'a GoSymbols>,
    /// The table's layout (`go1.2`, `go1.16`, `go1.18`, `go1.20`).
    pub format: Option<&'static str>,
    /// Why the table could not be read.
    pub error: Option<&'a str>,
}

/// A language package an OS package installed (Debian's
/// `python3-requests` is PyPI's `requests`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnedLanguagePackage {
    /// The language package, as its metadata says.
    pub package: LangPackage,
    /// The OS package that installed it (its name in the package database).
    pub owner: String,
}

/// Everything a scan found.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// Image metadata (digests, layers, config).
    pub image: buildledger_image::ImageMeta,
    /// Distribution, from os-release.
    pub os: Option<OsRelease>,
    /// OS packages.
    pub packages: Vec<OsPackage>,
    /// Language packages (Python, Node.js) that no OS package installed.
    pub languages: Vec<LangPackage>,
    /// Language packages whose metadata an OS package's file list names:
    /// reported as that OS package (which carries the language purl as an
    /// alias in the scan's SBOMs), listed here for the record.
    pub os_owned_languages: Vec<OwnedLanguagePackage>,
    /// Executables with build information.
    pub binaries: Vec<BinaryReport>,
    /// Problems that did not stop the scan.
    pub warnings: Vec<Warning>,
    /// Entries seen and bytes decompressed.
    pub entries: u64,
    /// Bytes decompressed.
    pub bytes: u64,
    /// The most bytes held against `max_buffered_bytes` at one time.
    pub peak_buffered: u64,
}

/// Where language package metadata can be: what is kept of dpkg's file
/// lists (the rest of a list is not needed).
fn may_hold_language_metadata(path: &str) -> bool {
    path.contains(".dist-info")
        || path.contains(".egg-info")
        || buildledger_langpkg::is_egg_archive(path)
        || path.contains(".egg/EGG-INFO/")
        || path.contains("node_modules/")
        || buildledger_langpkg::is_java_archive(path)
        || path.contains("/specifications/")
        || buildledger_langpkg::runtime_for(path).is_some()
        || buildledger_langpkg::runtime_binary_for(path).is_some()
        || buildledger_langpkg::is_deps_json(path)
        || buildledger_langpkg::is_composer_installed(path)
        || buildledger_langpkg::node_lockfile_kind(path).is_some()
}

fn is_pkg_db(path: &str) -> bool {
    matches!(
        path,
        "etc/os-release"
            | "usr/lib/os-release"
            | "lib/apk/db/installed"
            | "var/lib/dpkg/status"
            | "var/lib/rpm/rpmdb.sqlite"
            | "var/lib/rpm/Packages.db"
            | "var/lib/rpm/Packages"
            | "usr/lib/sysimage/rpm/rpmdb.sqlite"
            | "usr/lib/sysimage/rpm/Packages.db"
            | "usr/lib/sysimage/rpm/Packages"
    ) || (path.starts_with("var/lib/dpkg/status.d/") && !path.ends_with(".md5sums"))
}

struct Collector {
    budget: Budget,
    os_release: Option<(String, Vec<u8>)>,
    packages: Vec<OsPackage>,
    /// Language packages, before OS-owned ones are set aside.
    languages: Vec<LangPackage>,
    /// Paths OS packages' file lists name where language metadata can live
    /// → the OS package (its name) that installed each.
    owned: HashMap<String, String>,
    binaries: Vec<BinaryReport>,
    warnings: Vec<Warning>,
}

fn skipped(layer: Option<usize>, path: &str, message: String) -> Warning {
    Warning {
        layer: layer.map(|l| l.to_string()),
        path: Some(path.to_string()),
        message,
        skipped: true,
    }
}

/// Reads all of an entry into memory, `size` bytes charged to the budget
/// beforehand (and released by the caller).
fn read_charged(
    budget: &Budget,
    e: &FileEntry,
    prefix: &[u8],
    content: &mut dyn Read,
) -> std::io::Result<Vec<u8>> {
    budget.charge(e.size, &e.path)?;
    let mut buf = Vec::with_capacity(e.size as usize);
    buf.extend_from_slice(prefix);
    let rest = e.size.saturating_sub(prefix.len() as u64);
    if let Err(err) = content.take(rest).read_to_end(&mut buf) {
        budget.release(e.size);
        return Err(err);
    }
    Ok(buf)
}

fn parse_db(path: &str, bytes: &[u8]) -> Result<Vec<OsPackage>, buildledger_ospkg::OsPkgError> {
    if path.ends_with("lib/apk/db/installed") {
        buildledger_ospkg::parse_apk_installed(bytes, path)
    } else if path.contains("dpkg/status") {
        buildledger_ospkg::parse_dpkg_status(bytes, path)
    } else if path.ends_with("rpmdb.sqlite") {
        buildledger_ospkg::parse_rpmdb_sqlite(bytes, path)
    } else if path.ends_with("Packages.db") {
        buildledger_ospkg::parse_rpmdb_ndb(bytes, path)
    } else {
        buildledger_ospkg::parse_rpmdb_bdb(bytes, path)
    }
}

fn package_bytes(p: &OsPackage) -> u64 {
    let s = |o: &Option<String>| o.as_ref().map_or(0, |x| x.len() as u64);
    PACKAGE_OVERHEAD_BYTES
        + (p.name.len() + p.version.len() + p.db_path.len()) as u64
        + s(&p.source_name)
        + s(&p.source_version)
}

impl Visitor for Collector {
    fn wants(&mut self, e: &FileEntry) -> bool {
        if e.kind != EntryKind::File {
            return false;
        }
        // Size limits are the image reader's (max_file_bytes, reported as a
        // skipped file) and the budget's (max_buffered_bytes, an error).
        is_pkg_db(&e.path)
            || LangPackage::cataloger_for(&e.path).is_some()
            || buildledger_langpkg::is_dpkg_file_list(&e.path)
            || (e.mode & 0o111 != 0 && e.size >= 64)
            || buildledger_langpkg::runtime_binary_for(&e.path).is_some()
    }

    fn visit(&mut self, e: &FileEntry, content: &mut dyn Read) -> std::io::Result<()> {
        if buildledger_langpkg::is_dpkg_file_list(&e.path) {
            let buf = read_charged(&self.budget, e, &[], content)?;
            let paths = buildledger_langpkg::owned_paths(&buf, &may_hold_language_metadata);
            drop(buf);
            self.budget.release(e.size);
            // `info/NAME[:ARCH].list`, `status.d/NAME.md5sums`.
            let file = e.path.rsplit('/').next().unwrap_or(&e.path);
            let owner = file
                .rsplit_once('.')
                .map_or(file, |(stem, _)| stem)
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string();
            let kept: u64 = paths
                .iter()
                .map(|p| (p.len() + owner.len()) as u64 + 48)
                .sum();
            self.budget
                .charge(kept, &format!("{}: {} owned paths", e.path, paths.len()))?;
            self.owned
                .extend(paths.into_iter().map(|p| (p, owner.clone())));
            return Ok(());
        }
        if let Some(eco) = LangPackage::cataloger_for(&e.path) {
            // A Java archive is buffered whole (within max_file_bytes and
            // the budget): zip is read from its end.
            let buf = read_charged(&self.budget, e, &[], content)?;
            let found = LangPackage::parse(eco, &e.path, &buf);
            drop(buf);
            self.budget.release(e.size);
            match found {
                Ok(found) => {
                    let kept: u64 = found
                        .iter()
                        .map(|p| {
                            PACKAGE_OVERHEAD_BYTES
                                + (p.name.len() + p.version.len() + p.location.len()) as u64
                        })
                        .sum();
                    self.budget.charge(
                        kept,
                        &format!("{}: {} language package(s)", e.path, found.len()),
                    )?;
                    self.languages.extend(found);
                }
                Err(err) => self.warnings.push(skipped(
                    e.layer,
                    &e.path,
                    format!("archive not read: {err}"),
                )),
            }
            // An executable egg-info file, package.json or JAR is not a binary.
            return Ok(());
        }
        if is_pkg_db(&e.path) {
            let buf = read_charged(&self.budget, e, &[], content)?;
            if e.path.ends_with("os-release") {
                // /etc/os-release wins over /usr/lib/os-release.
                if self
                    .os_release
                    .as_ref()
                    .is_none_or(|(p, _)| p != "etc/os-release")
                {
                    if let Some((_, old)) = self.os_release.replace((e.path.clone(), buf)) {
                        self.budget.release(old.len() as u64);
                    }
                } else {
                    self.budget.release(e.size);
                }
                return Ok(());
            }
            // Parsed now, one database at a time: the raw bytes are released
            // and what is kept (the packages) is charged instead.
            let parsed = parse_db(&e.path, &buf);
            drop(buf);
            self.budget.release(e.size);
            match parsed {
                Ok(p) => {
                    // apk and rpm databases list each package's files: the ones
                    // where language metadata can live say who installed it.
                    for x in &p {
                        for f in &x.files {
                            let f = f.trim_start_matches('/');
                            if may_hold_language_metadata(f) {
                                self.owned.insert(f.to_string(), x.name.clone());
                            }
                        }
                    }
                    let kept: u64 = p.iter().map(package_bytes).sum();
                    self.budget
                        .charge(kept, &format!("{}: {} packages", e.path, p.len()))?;
                    self.packages.extend(p);
                }
                Err(err) => self.warnings.push(skipped(
                    e.layer,
                    &e.path,
                    format!("package database not read: {err}"),
                )),
            }
            return Ok(());
        }
        if let Some(runtime) = buildledger_langpkg::runtime_binary_for(&e.path) {
            // `node`, `python3.X`, `libpython3.X.so`: searched as they stream
            // past for their version, never buffered (node is ~100 MB).
            if let Some(version) =
                buildledger_langpkg::runtime_binary_version(runtime, &e.path, content)?
            {
                self.budget.charge(
                    PACKAGE_OVERHEAD_BYTES + (version.len() + e.path.len()) as u64,
                    &e.path,
                )?;
                self.languages.push(LangPackage {
                    ecosystem: buildledger_langpkg::Ecosystem::Runtime,
                    name: runtime.to_string(),
                    version,
                    location: e.path.clone(),
                });
            }
            return Ok(());
        }
        let mut head = [0u8; 64];
        let mut n = 0;
        while n < head.len() {
            let k = content.read(&mut head[n..])?;
            if k == 0 {
                break;
            }
            n += k;
        }
        if !buildledger_binary::looks_like_binary(&head[..n]) {
            return Ok(()); // a script or data file: the rest is drained by the walker
        }
        let buf = read_charged(&self.budget, e, &head[..n], content)?;
        let facts = buildledger_binary::inspect(&buf);
        drop(buf);
        self.budget.release(e.size);
        match facts {
            Ok(f) if f.go.is_some() || f.rust.is_some() => self.binaries.push(BinaryReport {
                path: e.path.clone(),
                go: f.go,
                rust: f.rust,
                go_symbols: f.go_symbols,
                go_symbols_error: f.go_symbols_error,
            }),
            Ok(_) => {}
            Err(err) => {
                self.warnings
                    .push(skipped(e.layer, &e.path, format!("binary not read: {err}")))
            }
        }
        Ok(())
    }

    fn warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}

/// Scan one image source.
pub fn scan(
    spec: &SourceSpec,
    opts: &OpenOptions,
    progress: &mut dyn Progress,
) -> Result<ScanResult, ScanError> {
    let mut image: Image = buildledger_image::open(spec, opts)?;
    let mut c = Collector {
        budget: image.budget(),
        os_release: None,
        packages: Vec::new(),
        languages: Vec::new(),
        owned: HashMap::new(),
        binaries: Vec::new(),
        warnings: Vec::new(),
    };
    // Nothing collected is used unless the walk (and with it every digest
    // check) succeeded.
    let stats = image.walk(&mut c, progress)?;
    let mut warnings = std::mem::take(&mut c.warnings);
    let os = match &c.os_release {
        Some((path, bytes)) => match buildledger_ospkg::parse_os_release(bytes) {
            Ok(o) => Some(o),
            Err(e) => {
                warnings.push(skipped(None, path, format!("os-release not read: {e}")));
                None
            }
        },
        None => None,
    };
    let mut binaries = c.binaries;
    binaries.sort_by(|a, b| a.path.cmp(&b.path));
    // A language package an OS package installed is that OS package's.
    let owned = &c.owned;
    let owner_of = |p: &LangPackage| -> Option<String> {
        owned
            .get(p.file())
            .or_else(|| {
                p.file()
                    .rsplit_once('/')
                    .and_then(|(dir, _)| owned.get(dir))
            })
            .cloned()
    };
    let mut os_owned = Vec::new();
    let mut languages = Vec::new();
    for p in c.languages {
        match owner_of(&p) {
            Some(owner) => os_owned.push(OwnedLanguagePackage { package: p, owner }),
            None => languages.push(p),
        }
    }
    // A lock file says what was to be installed; an installed tree beside it
    // (`DIR/node_modules/…` for `DIR/package-lock.json`, or the tree that
    // `DIR/node_modules/.package-lock.json` describes) says what was, so the
    // lock file is used only where no such tree was found.
    let installed_roots: HashSet<String> = languages
        .iter()
        .chain(os_owned.iter().map(|o| &o.package))
        .filter(|p| p.ecosystem == buildledger_langpkg::Ecosystem::Node && !p.from_lockfile())
        .filter_map(|p| {
            p.file()
                .split_once("node_modules/")
                .map(|(root, _)| root.to_string())
        })
        .collect();
    let lock_root = |p: &LangPackage| -> String {
        let file = p.file();
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        let dir = dir.strip_suffix("node_modules").unwrap_or(dir);
        match dir {
            "" => String::new(),
            d if d.ends_with('/') => d.to_string(),
            d => format!("{d}/"),
        }
    };
    let languages: Vec<LangPackage> = {
        let installed = |p: &LangPackage| installed_roots.contains(lock_root(p).as_str());
        languages
            .into_iter()
            .filter(|p| !(p.from_lockfile() && installed(p)))
            .collect()
    };
    let mut languages = languages;
    languages.sort();
    // A runtime found both by a header and by its binary is one runtime.
    languages.dedup_by(|b, a| {
        a.ecosystem == buildledger_langpkg::Ecosystem::Runtime
            && b.ecosystem == a.ecosystem
            && a.name == b.name
            && a.version == b.version
    });
    os_owned.retain(|o| !o.package.from_lockfile());
    os_owned.sort();
    Ok(ScanResult {
        image: image.meta().clone(),
        os,
        packages: c.packages,
        languages,
        os_owned_languages: os_owned,
        binaries,
        warnings,
        entries: stats.entries,
        bytes: stats.bytes_decompressed,
        peak_buffered: image.budget().peak_buffered(),
    })
}

/// A distro package's purl, with the source package as the `upstream`
/// qualifier (advisories for Debian and Alpine name source packages).
pub fn os_package_purl(p: &OsPackage, os: Option<&OsRelease>) -> Option<Purl> {
    let base = p.purl(os);
    let mut purl: packageurl::PackageUrl = base.parse().ok()?;
    if let Some(src) = p
        .source_name
        .as_deref()
        .filter(|s| !s.is_empty() && *s != p.name)
    {
        let has = purl
            .qualifiers()
            .iter()
            .any(|(k, _)| k.as_ref() == "upstream");
        if !has {
            purl.add_qualifier("upstream", src.to_string()).ok()?;
        }
    }
    Purl::parse(&purl.to_string()).ok()
}

fn go_components(b: &BinaryReport, go: &GoBuildInfo, out: &mut Vec<Component>) {
    let loc = Some(b.path.clone());
    let mut push = |path: &str, version: &str, sum: Option<&String>| {
        if version.is_empty() || version == "(devel)" {
            return;
        }
        if let Ok(purl) = Purl::from_parts("golang", None, path, Some(version)) {
            let mut hashes = BTreeMap::new();
            if let Some(s) = sum {
                hashes.insert("h1".to_string(), s.trim_start_matches("h1:").to_string());
            }
            out.push(Component {
                purl,
                hashes,
                scope: Scope::Runtime,
                location: loc.clone(),
            });
        }
    };
    if let Some(m) = &go.main {
        push(&m.path, &m.version, m.sum.as_ref());
    }
    for d in &go.deps {
        // A replacement with a version is what was compiled in; a directory
        // replacement (`=> ./dir`, version empty or `(devel)`) has none, so
        // the required module's path and version stand.
        match &d.replace {
            Some(r) if !r.version.is_empty() && r.version != "(devel)" => {
                push(&r.path, &r.version, r.sum.as_ref())
            }
            _ => push(&d.path, &d.version, d.sum.as_ref()),
        }
    }
    let v = go.go_version.trim_start_matches("go");
    let v = v.split([' ', '+']).next().unwrap_or(v);
    if let Ok(purl) = Purl::from_parts("golang", None, "stdlib", Some(v)) {
        out.push(Component {
            purl,
            hashes: BTreeMap::new(),
            scope: Scope::Runtime,
            location: loc.clone(),
        });
    }
}

impl ScanResult {
    /// A JSON report of the scan (image, distribution, packages, binaries, warnings).
    pub fn to_json(&self) -> serde_json::Value {
        let m = &self.image;
        json!({
            "image": {
                "manifest_digest": m.manifest_digest, "index_digest": m.index_digest, "media_type": m.media_type,
                "config_digest": m.config_digest, "platform": m.platform, "repo_tags": m.repo_tags,
                "layers": m.layers.iter().map(|l| json!({"digest": l.digest, "media_type": l.media_type, "size": l.size, "diff_id": l.diff_id})).collect::<Vec<_>>(),
            },
            "os": self.os.as_ref().map(|o| json!({"id": o.id, "version_id": o.version_id, "version_codename": o.version_codename, "pretty_name": o.pretty_name})),
            "packages": self.packages.iter().map(|p| json!({
                "name": p.name, "version": p.version, "arch": p.arch, "source_name": p.source_name,
                "source_version": p.source_version, "purl": os_package_purl(p, self.os.as_ref()).map(|x| x.to_string()), "db_path": p.db_path,
            })).collect::<Vec<_>>(),
            "language_packages": self.languages.iter().map(|p| json!({
                "purl": p.purl(), "name": p.name, "version": p.version, "location": p.location,
            })).collect::<Vec<_>>(),
            "os_owned_language_packages": self.os_owned_languages.iter().map(|o| json!({
                "purl": o.package.purl(), "location": o.package.location, "owner": o.owner,
                "owner_purl": self.packages.iter().find(|p| p.name == o.owner)
                    .and_then(|p| os_package_purl(p, self.os.as_ref())).map(|x| x.to_string()),
            })).collect::<Vec<_>>(),
            "binaries": self.binaries.iter().map(|b| json!({
                "path": b.path,
                "go": b.go.as_ref().map(|g| json!({
                    "go_version": g.go_version, "path": g.path,
                    "main": g.main.as_ref().map(|m| json!({"path": m.path, "version": m.version})),
                    "deps": g.deps.iter().map(|d| json!({"path": d.path, "version": d.version, "sum": d.sum,
                        "replace": d.replace.as_ref().map(|r| json!({"path": r.path, "version": r.version}))})).collect::<Vec<_>>(),
                    "settings": g.settings.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                })),
                "rust": b.rust.as_ref().map(|r| r.packages.iter().map(|p| json!({"name": p.name, "version": p.version, "source": p.source, "kind": p.kind, "root": p.root})).collect::<Vec<_>>()),
            })).collect::<Vec<_>>(),
            "warnings": self.warnings.iter().map(|w| json!({"layer": w.layer, "path": w.path, "message": w.message, "skipped": w.skipped})).collect::<Vec<_>>(),
            "complete": self.is_complete(),
            "entries": self.entries,
            "bytes": self.bytes,
        })
    }

    /// The language purls of the language packages OS packages installed,
    /// by the owning OS package's purl (`pkg:deb/debian/python3-requests@…`
    /// → `pkg:pypi/requests@2.28.1`): aliases for the SBOMs, never matched.
    pub fn aliases(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for o in &self.os_owned_languages {
            if let Some(purl) = self
                .packages
                .iter()
                .find(|p| p.name == o.owner)
                .and_then(|p| os_package_purl(p, self.os.as_ref()))
            {
                let list = out.entry(purl.to_string()).or_default();
                let alias = o.package.purl();
                if !list.contains(&alias) {
                    list.push(alias);
                }
            }
        }
        out
    }

    /// Every component found, as ledger components, one per purl (the
    /// location kept is the first in path order). See
    /// [`ScanResult::located_components`] for every location.
    pub fn components(&self) -> Vec<Component> {
        let mut out = self.located_components();
        out.dedup_by(|a, b| a.purl == b.purl);
        out
    }

    /// Every component at every location where it was found: a module
    /// compiled into two binaries appears twice, once per binary. Sorted by
    /// purl, then location.
    pub fn located_components(&self) -> Vec<Component> {
        let mut out = Vec::new();
        for p in &self.packages {
            if let Some(purl) = os_package_purl(p, self.os.as_ref()) {
                out.push(Component {
                    purl,
                    hashes: BTreeMap::new(),
                    scope: Scope::Runtime,
                    location: Some(p.db_path.clone()),
                });
            }
        }
        for p in &self.languages {
            if let Ok(purl) = Purl::parse(&p.purl()) {
                out.push(Component {
                    purl,
                    hashes: BTreeMap::new(),
                    scope: Scope::Runtime,
                    location: Some(p.location.clone()),
                });
            }
        }
        for b in &self.binaries {
            if let Some(go) = &b.go {
                go_components(b, go, &mut out);
            }
            if let Some(r) = &b.rust {
                for p in r.packages.iter().filter(|p| !p.root) {
                    if let Ok(purl) = Purl::from_parts("cargo", None, &p.name, Some(&p.version)) {
                        let scope = if p.kind == "build" {
                            Scope::Build
                        } else {
                            Scope::Runtime
                        };
                        out.push(Component {
                            purl,
                            hashes: BTreeMap::new(),
                            scope,
                            location: Some(b.path.clone()),
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.purl.cmp(&b.purl).then(a.location.cmp(&b.location)));
        out.dedup_by(|a, b| a.purl == b.purl && a.location == b.location);
        out
    }

    /// The Go executables found, with the module purls each carries and
    /// its function table, in path order.
    pub fn go_binaries(&self) -> Vec<GoBinary<'_>> {
        self.binaries
            .iter()
            .filter_map(|b| {
                let go = b.go.as_ref()?;
                let mut comps = Vec::new();
                go_components(b, go, &mut comps);
                let mut modules: Vec<String> = comps
                    .into_iter()
                    .map(|c| c.purl.as_str().to_string())
                    .collect();
                modules.sort();
                modules.dedup();
                Some(GoBinary {
                    path: &b.path,
                    goos: go.setting("GOOS"),
                    goarch: go.setting("GOARCH"),
                    modules,
                    symbols: b.go_symbols.as_ref(),
                    format: b
                        .go_symbols
                        .as_ref()
                        .and_then(|s| s.format)
                        .map(PclntabFormat::name),
                    error: b.go_symbols_error.as_deref(),
                })
            })
            .collect()
    }

    /// Go toolchains embedded in binaries (`go@1.19.8`).
    pub fn toolchains(&self) -> Vec<Toolchain> {
        let mut t: Vec<Toolchain> = self
            .binaries
            .iter()
            .filter_map(|b| b.go.as_ref())
            .filter_map(|g| {
                let v = g.go_version.trim_start_matches("go");
                Toolchain::new("go", v.split([' ', '+']).next().unwrap_or(v)).ok()
            })
            .collect();
        t.sort();
        t.dedup();
        t
    }

    /// The VCS facts of the Go binaries, when they agree: (commit, dirty, time).
    pub fn go_vcs(&self) -> Option<(String, Option<bool>, Option<String>)> {
        let mut seen: Vec<(String, Option<bool>, Option<String>)> = self
            .binaries
            .iter()
            .filter_map(|b| b.go.as_ref())
            .filter_map(|g| {
                let rev = g.setting("vcs.revision")?.to_string();
                let dirty = g.setting("vcs.modified").map(|m| m == "true");
                Some((rev, dirty, g.setting("vcs.time").map(String::from)))
            })
            .collect();
        seen.sort();
        seen.dedup_by(|a, b| a.0 == b.0);
        if seen.len() == 1 { seen.pop() } else { None }
    }

    /// The image's own digest: the manifest, or `override_digest` for
    /// sources without one (`dir:`, `file:`).
    pub fn subject_digest(&self, override_digest: Option<&Digest>) -> Option<Digest> {
        override_digest.cloned().or_else(|| {
            self.image
                .manifest_digest
                .as_deref()
                .and_then(|d| Digest::parse(d).ok())
        })
    }

    /// The warnings that mean part of the image was not examined.
    pub fn skipped(&self) -> impl Iterator<Item = &Warning> {
        self.warnings.iter().filter(|w| w.skipped)
    }

    /// True when nothing was skipped: the result accounts for the whole image.
    pub fn is_complete(&self) -> bool {
        self.skipped().next().is_none()
    }

    /// A ledger record of what the image itself shows (origin indexer, trust
    /// observed). Refused when anything was skipped ([`ScanResult::skipped`]):
    /// a partial scan is never recorded as the image. Also refused when the
    /// image has no digest and none was given.
    pub fn to_record(&self, override_digest: Option<&Digest>) -> Result<BuildRecord, RecordError> {
        let mut skipped = self.skipped();
        if let Some(first) = skipped.next() {
            return Err(RecordError::Incomplete {
                count: 1 + skipped.count(),
                first: first.to_string(),
            });
        }
        let own = self
            .image
            .manifest_digest
            .as_deref()
            .and_then(|d| Digest::parse(d).ok());
        // Observed only under a digest the image itself has (checked by the
        // reader against the manifest's bytes). A `dir:`/`file:` tree has no
        // digest: the one the caller names is their claim, so the record is
        // the indexer's but unverified.
        let (digest, trust) = match (own, override_digest) {
            (Some(own), Some(given)) if own != *given => {
                return Err(RecordError::DigestMismatch {
                    given: given.to_string(),
                    own: own.to_string(),
                });
            }
            (Some(own), _) => (own, Trust {
                state: TrustState::Observed,
                key_id: None,
                reason: None,
            }),
            (None, Some(given)) => (given.clone(), Trust {
                state: TrustState::Unverified,
                key_id: None,
                reason: Some(
                    "indexed by buildledger, but the digest was named by the caller (the source has none of its own)"
                        .into(),
                ),
            }),
            (None, None) => return Err(RecordError::NoDigest),
        };
        let mut subjects = vec![Subject {
            digest: digest.clone(),
            media_type: self.image.media_type.clone(),
            platform: self.image.platform.clone(),
            references: self.image.repo_tags.clone(),
            manifests: vec![],
        }];
        if let Some(idx) = self
            .image
            .index_digest
            .as_deref()
            .and_then(|d| Digest::parse(d).ok())
            && idx != digest
        {
            subjects.push(Subject {
                digest: idx,
                media_type: Some("application/vnd.oci.image.index.v1+json".into()),
                platform: None,
                references: vec![],
                manifests: vec![PlatformManifest {
                    digest: digest.clone(),
                    platform: self.image.platform.clone(),
                }],
            });
        }
        let mut r = BuildRecord::new(subjects);
        r.origin = Origin::Indexer;
        r.trust = trust;
        r.components = self.components();
        r.toolchains = self.toolchains();
        if let Some((commit, dirty, time)) = self.go_vcs() {
            r.source = Some(Source {
                repo: None,
                commit: Some(commit),
                tag: None,
                dirty,
            });
            if let Some(t) = time.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()) {
                r.build_time = Some(t.with_timezone(&chrono::Utc));
            }
        }
        let mut langs = Vec::new();
        if self.binaries.iter().any(|b| b.go.is_some()) {
            langs.push("go".to_string());
        }
        if self.binaries.iter().any(|b| b.rust.is_some()) {
            langs.push("rust".to_string());
        }
        r.languages = langs;
        if let Some(os) = &self.os {
            r.labels.insert(
                "os".into(),
                format!("{} {}", os.id, os.version_id.clone().unwrap_or_default()),
            );
        }
        if let Some(labels) = self
            .image
            .config
            .as_ref()
            .and_then(|c| c.pointer("/config/Labels"))
            .and_then(|l| l.as_object())
        {
            for (k, v) in labels {
                if let Some(v) = v.as_str() {
                    r.labels.insert(k.clone(), v.to_string());
                }
            }
            if let Some(src) = labels
                .get("org.opencontainers.image.source")
                .and_then(|v| v.as_str())
            {
                r.source.get_or_insert_with(Source::default).repo = Some(src.to_string());
            }
        }
        // A commit that is not plausible hex (shouldn't happen) is dropped rather than failing validation.
        if r.validate().is_err()
            && let Some(s) = &mut r.source
        {
            s.commit = None;
        }
        Ok(r)
    }
}
