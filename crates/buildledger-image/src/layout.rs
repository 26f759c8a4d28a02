//! OCI image layouts (directories and the copy embedded in docker-archives),
//! legacy `docker save` archives, and the manifest/index/config resolution
//! shared with the registry source.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Deserialize;

use crate::digest::{Digest, read_verified, sha256_of};
use crate::layer::{MAX_TAR_HEADER_BYTES, normalise};
use crate::limits::Budget;
use crate::{ImageError, ImageMeta, LayerInfo};

/// Opens a local file of an image, refusing anything but a regular file
/// without blocking (a FIFO named like a blob must not hang the scan).
pub(crate) fn open_file(path: &Path, what: &'static str) -> Result<File, ImageError> {
    match buildledger_input::open_regular(path) {
        Ok(f) => Ok(f),
        Err(buildledger_input::InputError::Io { source, .. }) => {
            Err(ImageError::io(what, path, source))
        }
        Err(e) => Err(ImageError::io(
            what,
            path,
            io::Error::new(io::ErrorKind::InvalidInput, e.to_string()),
        )),
    }
}

/// Largest manifest, image index or `index.json` accepted, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest image config (or `manifest.json`) accepted, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// Most entries read from a docker-archive's outer tar.
pub const MAX_ARCHIVE_ENTRIES: usize = 1_000_000;
/// Deepest nesting of image indexes followed.
pub const MAX_INDEX_DEPTH: usize = 4;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A content descriptor, read leniently.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub(crate) media_type: String,
    pub(crate) digest: String,
    #[serde(default)]
    pub(crate) size: i64,
    #[serde(default)]
    pub(crate) annotations: Option<HashMap<String, String>>,
    #[serde(default)]
    pub(crate) platform: Option<PlatformJson>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PlatformJson {
    #[serde(default)]
    pub(crate) os: String,
    #[serde(default)]
    pub(crate) architecture: String,
    #[serde(default)]
    pub(crate) variant: Option<String>,
}

impl PlatformJson {
    fn render(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{}", self.os, self.architecture, v),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

#[derive(Debug, Deserialize)]
struct IndexJson {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct ManifestJson {
    #[serde(rename = "schemaVersion", default)]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// Where blobs come from. Implemented by OCI layout directories, archives
/// and registries.
pub(crate) trait Store {
    /// Opens the raw (unverified) bytes of a blob.
    fn open_blob(&self, digest: &Digest, size: u64) -> Result<Box<dyn Read + '_>, ImageError>;
    /// Opens a blob by path (docker-archive only).
    fn open_path(&self, path: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        Err(ImageError::BlobNotFound {
            digest: path.to_string(),
            location: self.location(),
        })
    }
    /// Fetches and verifies a manifest or index.
    fn fetch_manifest(&self, desc: &Descriptor, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        let mut r = self.open_blob(digest, desc.size.max(0) as u64)?;
        read_verified(
            &mut r,
            MAX_MANIFEST_BYTES,
            Some(digest),
            &format!("manifest {digest}"),
        )
    }
    /// Human-readable location for error messages.
    fn location(&self) -> String;
}

/// How to get one layer's bytes.
#[derive(Clone, Debug)]
pub(crate) enum LayerLoc {
    /// A blob addressed by digest (verified while streaming).
    Blob(Digest),
    /// A file inside a legacy docker-archive (checked via the diff ID only).
    Path(String),
}

/// A blob directory: `DIR/blobs/<alg>/<hex>`.
pub(crate) struct OciDir {
    pub(crate) dir: PathBuf,
}

impl Store for OciDir {
    fn open_blob(&self, digest: &Digest, _size: u64) -> Result<Box<dyn Read + '_>, ImageError> {
        let p = self
            .dir
            .join("blobs")
            .join(digest.algorithm.name())
            .join(&digest.hex);
        match open_file(&p, "opening blob") {
            Ok(f) => Ok(Box::new(std::io::BufReader::with_capacity(64 << 10, f))),
            Err(ImageError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Err(ImageError::BlobNotFound {
                    digest: digest.to_string(),
                    location: self.location(),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn location(&self) -> String {
        format!("OCI layout {}", self.dir.display())
    }
}

/// Tracks the position in a tar stream and refuses to let the tar reader's
/// look-ahead for one header (PAX extensions and GNU long names it holds in
/// memory) pass `until`.
struct HeaderGuard<R> {
    inner: R,
    pos: u64,
    until: Rc<Cell<Option<u64>>>,
}

impl<R: Read> Read for HeaderGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        if let Some(u) = self.until.get()
            && self.pos > u
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("tar headers of one entry exceed {MAX_TAR_HEADER_BYTES} bytes"),
            ));
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for HeaderGuard<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// A tar file indexed once (path → data offset and size), read by seeking.
pub(crate) struct TarIndex {
    file: PathBuf,
    entries: HashMap<String, (u64, u64)>,
}

impl TarIndex {
    pub(crate) fn build(file: &Path, budget: &Budget) -> Result<TarIndex, ImageError> {
        let f = open_file(file, "opening")?;
        let until = Rc::new(Cell::new(None));
        let guarded = HeaderGuard {
            inner: std::io::BufReader::new(f),
            pos: 0,
            until: until.clone(),
        };
        let mut ar = tar::Archive::new(guarded);
        let mut entries = HashMap::new();
        let mut links: Vec<(String, String)> = Vec::new();
        let bad = |e: std::io::Error| {
            ImageError::malformed(format!("docker-archive {}", file.display()), e)
        };
        // Entry data is skipped by seeking, not read: indexing costs the
        // headers only.
        let mut iter = ar.entries_with_seek().map_err(bad)?;
        let mut next_header = 0u64;
        loop {
            budget
                .check_time(&format!("indexing docker-archive {}", file.display()))
                .map_err(|_| ImageError::Limit(budget.tripped().expect("time limit recorded")))?;
            until.set(Some(next_header.saturating_add(MAX_TAR_HEADER_BYTES)));
            let item = iter.next();
            until.set(None);
            let Some(item) = item else { break };
            let e = item.map_err(bad)?;
            next_header = e
                .raw_file_position()
                .saturating_add(e.size().saturating_add(511) & !511);
            if entries.len() + links.len() >= MAX_ARCHIVE_ENTRIES {
                return Err(ImageError::TooLarge {
                    what: format!("docker-archive {}", file.display()),
                    limit: MAX_ARCHIVE_ENTRIES as u64,
                    unit: "entries",
                });
            }
            let (p, _) = normalise(&e.path_bytes());
            match e.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    entries.insert(p, (e.raw_file_position(), e.size()));
                }
                // skopeo writes `<id>/layer.tar -> ../<diffid>.tar`.
                tar::EntryType::Symlink => {
                    if let Some(t) = e.link_name_bytes() {
                        let parent = p.rsplit_once('/').map(|x| x.0).unwrap_or("");
                        let joined = format!("{parent}/{}", String::from_utf8_lossy(&t));
                        links.push((p, normalise(joined.as_bytes()).0));
                    }
                }
                _ => {}
            }
        }
        // Resolve symlinks to regular files (a few hops at most, no loops).
        let link_map: HashMap<String, String> = links.iter().cloned().collect();
        for (from, mut to) in links {
            for _ in 0..8 {
                if let Some(&v) = entries.get(&to) {
                    entries.insert(from.clone(), v);
                    break;
                }
                match link_map.get(&to) {
                    Some(next) => to = next.clone(),
                    None => break,
                }
            }
        }
        Ok(TarIndex {
            file: file.to_path_buf(),
            entries,
        })
    }

    fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    fn read_small(&self, path: &str, limit: u64) -> Result<Vec<u8>, ImageError> {
        let mut r = self.open_path(path)?;
        read_verified(
            &mut r,
            limit,
            None,
            &format!("{path} in {}", self.file.display()),
        )
    }
}

impl Store for TarIndex {
    fn open_blob(&self, digest: &Digest, _size: u64) -> Result<Box<dyn Read + '_>, ImageError> {
        self.open_path(&format!("blobs/{}/{}", digest.algorithm.name(), digest.hex))
    }

    fn open_path(&self, path: &str) -> Result<Box<dyn Read + '_>, ImageError> {
        let (p, _) = normalise(path.as_bytes());
        let &(off, size) = self
            .entries
            .get(&p)
            .ok_or_else(|| ImageError::BlobNotFound {
                digest: path.to_string(),
                location: self.location(),
            })?;
        let mut f = open_file(&self.file, "opening")?;
        f.seek(SeekFrom::Start(off))
            .map_err(|e| ImageError::io("seeking in", &self.file, e))?;
        Ok(Box::new(
            std::io::BufReader::with_capacity(64 << 10, f).take(size),
        ))
    }

    fn location(&self) -> String {
        format!("docker-archive {}", self.file.display())
    }
}

fn is_index(media_type: &str, parsed: &IndexJson) -> bool {
    media_type.contains("image.index")
        || media_type.contains("manifest.list")
        || (parsed.manifests.is_some() && parsed.layers.is_none())
}

/// Parses `os/arch[/variant]`.
pub(crate) fn parse_platform(p: &str) -> Result<(String, String, Option<String>), ImageError> {
    let parts: Vec<&str> = p.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => {
            Ok((os.to_string(), arch.to_string(), None))
        }
        [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => {
            Ok((os.to_string(), arch.to_string(), Some(v.to_string())))
        }
        _ => Err(ImageError::BadSource {
            spec: p.to_string(),
            reason: "platform must be os/arch or os/arch/variant".into(),
        }),
    }
}

fn choose_platform<'a>(
    manifests: &'a [Descriptor],
    wanted: &str,
) -> Result<&'a Descriptor, ImageError> {
    let (os, arch, variant) = parse_platform(wanted)?;
    let found = manifests.iter().find(|d| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == os
                && p.architecture == arch
                && variant
                    .as_ref()
                    .is_none_or(|v| p.variant.as_deref() == Some(v))
        })
    });
    found.ok_or_else(|| ImageError::NoSuchPlatform {
        wanted: wanted.to_string(),
        available: manifests
            .iter()
            .filter_map(|d| d.platform.as_ref().map(PlatformJson::render))
            .collect(),
    })
}

/// The outcome of resolving a top descriptor to a platform image.
pub(crate) struct Resolved {
    pub(crate) meta: ImageMeta,
    pub(crate) layers: Vec<LayerLoc>,
}

/// Resolves `desc` (a manifest or an index) to an image manifest for
/// `platform`, fetches and checks the config, and builds the metadata.
pub(crate) fn resolve(
    store: &dyn Store,
    desc: &Descriptor,
    platform: &str,
) -> Result<Resolved, ImageError> {
    let mut desc = desc.clone();
    let mut index_digest = None;
    for _ in 0..=MAX_INDEX_DEPTH {
        let digest = Digest::parse(&desc.digest)?;
        let bytes = store.fetch_manifest(&desc, &digest)?;
        let what = format!("manifest {digest}");
        let parsed: IndexJson =
            serde_json::from_slice(&bytes).map_err(|e| ImageError::malformed(&what, e))?;
        let mt = parsed
            .media_type
            .clone()
            .unwrap_or_else(|| desc.media_type.clone());
        if is_index(&mt, &parsed) {
            let manifests = parsed.manifests.unwrap_or_default();
            let chosen = choose_platform(&manifests, platform)?;
            if index_digest.is_none() {
                index_digest = Some(digest.to_string());
            }
            desc = chosen.clone();
            continue;
        }
        return image_from_manifest(store, &bytes, digest, index_digest);
    }
    Err(ImageError::malformed(
        format!("image index {}", desc.digest),
        format!("indexes nested deeper than {MAX_INDEX_DEPTH}"),
    ))
}

fn image_from_manifest(
    store: &dyn Store,
    bytes: &[u8],
    digest: Digest,
    index_digest: Option<String>,
) -> Result<Resolved, ImageError> {
    let what = format!("manifest {digest}");
    let m: ManifestJson =
        serde_json::from_slice(bytes).map_err(|e| ImageError::malformed(&what, e))?;
    if let Some(v) = m.schema_version
        && v != 2
    {
        return Err(ImageError::malformed(
            &what,
            format!("schemaVersion {v}, expected 2"),
        ));
    }
    let media_type = m
        .media_type
        .clone()
        .or_else(|| Some("application/vnd.oci.image.manifest.v1+json".to_string()));
    let config_digest = Digest::parse(&m.config.digest)?;
    let mut r = store.open_blob(&config_digest, m.config.size.max(0) as u64)?;
    let config_bytes = read_verified(
        &mut r,
        MAX_CONFIG_BYTES,
        Some(&config_digest),
        &format!("config {config_digest}"),
    )?;
    drop(r);
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| ImageError::malformed(format!("config {config_digest}"), e))?;
    let diff_ids = diff_ids_of(&config, &format!("config {config_digest}"))?;
    let mut layers = Vec::new();
    let mut infos = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        let d = Digest::parse(&l.digest)?;
        infos.push(LayerInfo {
            digest: d.to_string(),
            media_type: l.media_type.clone(),
            size: l.size.max(0) as u64,
            diff_id: diff_ids.get(i).cloned(),
        });
        layers.push(LayerLoc::Blob(d));
    }
    if diff_ids.len() != layers.len() {
        return Err(ImageError::malformed(
            format!("config {config_digest}"),
            format!(
                "{} diff_ids for {} layers in manifest {digest}",
                diff_ids.len(),
                layers.len()
            ),
        ));
    }
    Ok(Resolved {
        meta: ImageMeta {
            manifest_digest: Some(digest.to_string()),
            index_digest,
            media_type,
            config_digest: Some(config_digest.to_string()),
            platform: platform_of(&config),
            layers: infos,
            diff_ids,
            repo_tags: Vec::new(),
            config: Some(config),
        },
        layers,
    })
}

fn platform_of(config: &serde_json::Value) -> Option<String> {
    let os = config.get("os")?.as_str()?;
    let arch = config.get("architecture")?.as_str()?;
    Some(match config.get("variant").and_then(|v| v.as_str()) {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    })
}

fn diff_ids_of(config: &serde_json::Value, what: &str) -> Result<Vec<String>, ImageError> {
    let arr = config
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(|d| d.as_array())
        .ok_or_else(|| ImageError::malformed(what, "no rootfs.diff_ids array"))?;
    arr.iter()
        .map(|v| {
            let s = v
                .as_str()
                .ok_or_else(|| ImageError::malformed(what, "diff_id is not a string"))?;
            Ok(Digest::parse(s)?.to_string())
        })
        .collect()
}

/// Picks the top-level descriptor of an `index.json` by ref name (or digest).
pub(crate) fn select_from_index(
    bytes: &[u8],
    reference: Option<&str>,
    what: &str,
) -> Result<Descriptor, ImageError> {
    let parsed: IndexJson =
        serde_json::from_slice(bytes).map_err(|e| ImageError::malformed(what, e))?;
    let manifests = parsed
        .manifests
        .ok_or_else(|| ImageError::malformed(what, "no manifests array"))?;
    let name_of = |d: &Descriptor| {
        d.annotations
            .as_ref()
            .and_then(|a| a.get(REF_NAME))
            .cloned()
    };
    let choices: Vec<String> = manifests
        .iter()
        .map(|d| name_of(d).unwrap_or_else(|| d.digest.clone()))
        .collect();
    match reference {
        Some(r) => {
            let mut hits = manifests
                .iter()
                .filter(|d| name_of(d).as_deref() == Some(r) || d.digest == r);
            match (hits.next(), hits.next()) {
                (Some(d), None) => Ok(d.clone()),
                (Some(_), Some(_)) => Err(ImageError::NoSuchImage {
                    message: format!("{what}: reference {r:?} matches several manifests"),
                    available: choices,
                }),
                (None, _) => Err(ImageError::NoSuchImage {
                    message: format!("{what}: no manifest named {r:?}"),
                    available: choices,
                }),
            }
        }
        None => match manifests.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ImageError::NoSuchImage {
                message: format!("{what} lists no manifests"),
                available: choices,
            }),
            _ => Err(ImageError::NoSuchImage {
                message: format!("{what} lists several images; name one with :REF"),
                available: choices,
            }),
        },
    }
}

/// Opens `oci:DIR[:ref]`.
pub(crate) fn open_oci_dir(
    dir: &Path,
    reference: Option<&str>,
    platform: &str,
) -> Result<(OciDir, Resolved), ImageError> {
    let p = dir.join("index.json");
    let mut f = open_file(&p, "opening")?;
    let bytes = read_verified(&mut f, MAX_MANIFEST_BYTES, None, &p.display().to_string())?;
    let desc = select_from_index(&bytes, reference, &p.display().to_string())?;
    let store = OciDir {
        dir: dir.to_path_buf(),
    };
    let resolved = resolve(&store, &desc, platform)?;
    Ok((store, resolved))
}

#[derive(Debug, Deserialize)]
struct ArchiveManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Opens `docker-archive:FILE`: the embedded OCI layout when there is one
/// (Docker ≥ 25), else the legacy `manifest.json` shape.
pub(crate) fn open_docker_archive(
    file: &Path,
    platform: &str,
    budget: &Budget,
) -> Result<(TarIndex, Resolved), ImageError> {
    let idx = TarIndex::build(file, budget)?;
    let what = format!("manifest.json in {}", file.display());
    let legacy: Option<Vec<ArchiveManifestEntry>> = if idx.contains("manifest.json") {
        let b = idx.read_small("manifest.json", MAX_CONFIG_BYTES)?;
        Some(serde_json::from_slice(&b).map_err(|e| ImageError::malformed(&what, e))?)
    } else {
        None
    };
    if idx.contains("index.json") {
        let b = idx.read_small("index.json", MAX_MANIFEST_BYTES)?;
        let iwhat = format!("index.json in {}", file.display());
        let desc = select_from_index(&b, None, &iwhat)?;
        let mut resolved = resolve(&idx, &desc, platform)?;
        if let (Some(entries), Some(cd)) = (&legacy, &resolved.meta.config_digest) {
            let hex = cd.split_once(':').map(|x| x.1).unwrap_or_default();
            for e in entries {
                if e.config.ends_with(hex) {
                    resolved.meta.repo_tags = e.repo_tags.clone().unwrap_or_default();
                }
            }
        }
        return Ok((idx, resolved));
    }
    let entries = legacy.ok_or_else(|| {
        ImageError::malformed(
            file.display().to_string(),
            "neither manifest.json nor index.json in archive",
        )
    })?;
    let entry = match entries.as_slice() {
        [one] => one,
        _ => {
            return Err(ImageError::NoSuchImage {
                message: format!(
                    "{what} lists {} images; exactly one is supported",
                    entries.len()
                ),
                available: entries
                    .iter()
                    .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
                    .collect(),
            });
        }
    };
    let config_bytes = idx.read_small(&entry.config, MAX_CONFIG_BYTES)?;
    let config_digest = sha256_of(&config_bytes);
    // The config file is usually named after its digest: check when it is.
    let stem = entry
        .config
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".json");
    if stem.len() == 64
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && !config_digest.ends_with(stem)
    {
        return Err(ImageError::DigestMismatch {
            what: format!("config {}", entry.config),
            expected: format!("sha256:{stem}"),
            actual: config_digest,
        });
    }
    let cwhat = format!("config {} in {}", entry.config, file.display());
    let config: serde_json::Value =
        serde_json::from_slice(&config_bytes).map_err(|e| ImageError::malformed(&cwhat, e))?;
    let diff_ids = diff_ids_of(&config, &cwhat)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(ImageError::malformed(
            &cwhat,
            format!(
                "{} diff_ids for {} layers in manifest.json",
                diff_ids.len(),
                entry.layers.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    let mut infos = Vec::new();
    for (i, path) in entry.layers.iter().enumerate() {
        let size = {
            let (p, _) = normalise(path.as_bytes());
            idx.entries
                .get(&p)
                .map(|x| x.1)
                .ok_or_else(|| ImageError::BlobNotFound {
                    digest: path.clone(),
                    location: idx.location(),
                })?
        };
        // `blobs/sha256/<hex>` paths name their digest; legacy `<id>/layer.tar`
        // files are uncompressed, so their digest is the diff ID.
        let by_name = path
            .strip_prefix("blobs/")
            .and_then(|r| r.split_once('/'))
            .and_then(|(a, h)| Digest::parse(&format!("{a}:{h}")).ok());
        let (digest, loc) = match by_name {
            Some(d) => (d.to_string(), LayerLoc::Blob(d)),
            None => (diff_ids[i].clone(), LayerLoc::Path(path.clone())),
        };
        infos.push(LayerInfo {
            digest,
            media_type: "application/vnd.docker.image.rootfs.diff.tar".to_string(),
            size,
            diff_id: Some(diff_ids[i].clone()),
        });
        layers.push(loc);
    }
    Ok((
        idx,
        Resolved {
            meta: ImageMeta {
                manifest_digest: None,
                index_digest: None,
                media_type: None,
                config_digest: Some(config_digest),
                platform: platform_of(&config),
                layers: infos,
                diff_ids,
                repo_tags: entry.repo_tags.clone().unwrap_or_default(),
                config: Some(config),
            },
            layers,
        },
    ))
}
