//! Container images as a stream of files.
//!
//! This crate reads OCI and Docker images from OCI layout directories
//! (`oci:DIR[:ref]`), `docker save` archives (`docker-archive:FILE`, both the
//! legacy shape and the Docker ≥ 25 shape with an embedded OCI layout),
//! registries speaking the OCI distribution API (`registry:HOST/REPO:TAG` or
//! `@sha256:…`), unpacked root file systems (`dir:PATH`) and single files
//! (`file:PATH`). It gives a *squashed* view of the image: the files the
//! container would see, after whiteouts and opaque directories are applied.
//!
//! The view is produced in one streaming pass: layers are read last-first,
//! each entry is shown to a [`Visitor`] only if no upper layer shadows,
//! deletes or hides it. Nothing is unpacked to disk. Every blob is hashed
//! while it streams: manifests, indexes and configs must match their digests
//! (else [`open`] fails), and each layer's blob digest and diff ID (sha256 of
//! the uncompressed tar) are checked.
//!
//! **Verification failures are errors.** A missing blob, a blob that does not
//! match its digest, a diff ID mismatch or a corrupt layer (truncated
//! gzip/zstd/tar) ends the walk with [`ImageError`]. Because checking a layer
//! needs all of its bytes, a layer whose digest turns out wrong has *already
//! been shown to the visitor* when the error comes: callers must act on what
//! they collected only once [`Image::walk`] returned `Ok`.
//!
//! **Every resource is budgeted per image** by one [`Limits`] value in
//! [`OpenOptions`]: decompressed bytes over all layers, bytes per file handed
//! to a visitor, bytes held in memory (the walk's path set plus whatever the
//! visitor charges to the [`Budget`]), tar entries, the decompression ratio
//! and wall-clock time. Exceeding one ends the walk with [`ImageError::Limit`]
//! naming it. Fixed bounds that are not meant to be tuned: manifests and
//! indexes ([`MAX_MANIFEST_BYTES`]), configs ([`MAX_CONFIG_BYTES`]), index
//! nesting ([`MAX_INDEX_DEPTH`]), docker-archive entries
//! ([`MAX_ARCHIVE_ENTRIES`]), path length ([`MAX_PATH_LEN`]), the tar
//! reader's per-entry header look-ahead ([`MAX_TAR_HEADER_BYTES`]) and the
//! zstd window ([`ZSTD_WINDOW_LOG_MAX`]).
//!
//! Problems that do not stop the walk are [`Warning`]s; those that mean part
//! of the image was not examined (a wanted file over
//! [`Limits::max_file_bytes`], an over-long path) are marked
//! [`Warning::skipped`], so callers can refuse to treat the walk as a
//! complete account of the image.
//!
//! This crate only offers the file view; catalogers that understand package
//! databases or binaries are written against the [`Visitor`] trait elsewhere.
//!
//! ```no_run
//! use buildledger_image::{open, parse_source, OpenOptions, FileEntry, Visitor, Warning, NoProgress};
//!
//! struct OsRelease(Option<String>);
//! impl Visitor for OsRelease {
//!     fn wants(&mut self, e: &FileEntry) -> bool { e.path == "etc/os-release" || e.path == "usr/lib/os-release" }
//!     fn visit(&mut self, _: &FileEntry, r: &mut dyn std::io::Read) -> std::io::Result<()> {
//!         let mut s = String::new();
//!         r.read_to_string(&mut s)?;
//!         self.0 = Some(s);
//!         Ok(())
//!     }
//!     fn warning(&mut self, w: Warning) { eprintln!("warning: {w}") }
//! }
//!
//! let spec = parse_source("oci:/tmp/layout:latest")?;
//! let mut image = open(&spec, &OpenOptions::default())?;
//! let mut v = OsRelease(None);
//! image.walk(&mut v, &mut NoProgress)?;
//! # Ok::<(), buildledger_image::ImageError>(())
//! ```

mod digest;
mod error;
mod fs;
mod layer;
mod layout;
mod limits;
mod registry;

use std::path::PathBuf;

pub use error::ImageError;
pub use layer::{MAX_PATH_LEN, MAX_TAR_HEADER_BYTES, RATIO_CHECK_AFTER, ZSTD_WINDOW_LOG_MAX};
pub use layout::{MAX_ARCHIVE_ENTRIES, MAX_CONFIG_BYTES, MAX_INDEX_DEPTH, MAX_MANIFEST_BYTES};
pub use limits::{
    Budget, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_RATIO, DEFAULT_MAX_TIME, LimitExceeded, LimitKind, Limits,
    PATH_OVERHEAD_BYTES,
};
pub use registry::{ENV_PASSWORD, ENV_TOKEN, ENV_USER};

use layer::{LayerCtx, Squash, read_layer};
use layout::{LayerLoc, Store};

/// Platform chosen from image indexes when none is given.
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// Where an image comes from. See [`parse_source`] for the spellings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// An OCI image layout directory, optionally with a ref name
    /// (annotation `org.opencontainers.image.ref.name`).
    Oci {
        /// The layout directory.
        dir: PathBuf,
        /// The ref name; `None` means "the only image there".
        reference: Option<String>,
    },
    /// A `docker save` / `skopeo copy docker-archive:` tarball.
    DockerArchive {
        /// The archive file.
        file: PathBuf,
    },
    /// An image in a registry: `HOST[:PORT]/REPO[:TAG|@sha256:…]`.
    Registry {
        /// The reference, without the `registry:` prefix.
        reference: String,
    },
    /// An unpacked root file system.
    Dir(PathBuf),
    /// A single file.
    File(PathBuf),
}

/// Parses a source string: `oci:DIR[:ref]`, `docker-archive:FILE`,
/// `registry:HOST[:PORT]/REPO[:tag|@sha256:…]`, `dir:PATH`, `file:PATH`.
///
/// As with skopeo, the `oci:` directory ends at the first `:`.
pub fn parse_source(s: &str) -> Result<SourceSpec, ImageError> {
    let bad = |reason: &str| ImageError::BadSource {
        spec: s.to_string(),
        reason: reason.to_string(),
    };
    let (scheme, rest) = s.split_once(':').ok_or_else(|| {
        bad("expected TRANSPORT:LOCATION (oci:, docker-archive:, registry:, dir:, file:)")
    })?;
    if rest.is_empty() {
        return Err(bad("empty location"));
    }
    Ok(match scheme {
        "oci" => {
            let (dir, reference) = match rest.split_once(':') {
                Some((d, r)) if !r.is_empty() => (d, Some(r.to_string())),
                Some((d, _)) => (d, None),
                None => (rest, None),
            };
            if dir.is_empty() {
                return Err(bad("empty OCI layout directory"));
            }
            SourceSpec::Oci {
                dir: PathBuf::from(dir),
                reference,
            }
        }
        "docker-archive" => SourceSpec::DockerArchive {
            file: PathBuf::from(rest),
        },
        "registry" => {
            let r = rest.trim_start_matches("//");
            if !r.contains('/') {
                return Err(bad(
                    "registry reference must be HOST[:PORT]/REPO[:TAG|@DIGEST]",
                ));
            }
            SourceSpec::Registry {
                reference: r.to_string(),
            }
        }
        "dir" => SourceSpec::Dir(PathBuf::from(rest)),
        "file" => SourceSpec::File(PathBuf::from(rest)),
        _ => {
            return Err(bad(
                "unknown transport (expected oci, docker-archive, registry, dir or file)",
            ));
        }
    })
}

/// How to open and walk an image.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Platform picked from image indexes, `os/arch[/variant]`;
    /// default [`DEFAULT_PLATFORM`].
    pub platform: Option<String>,
    /// Plain HTTP to a loopback registry (refused for other hosts).
    pub insecure: bool,
    /// Registry user; falls back to env [`ENV_USER`].
    pub username: Option<String>,
    /// Registry password; falls back to env [`ENV_PASSWORD`].
    pub password: Option<String>,
    /// A bearer token sent as is; falls back to env [`ENV_TOKEN`]. Without
    /// it, token-server challenges are answered with the user/password (or
    /// anonymously).
    pub bearer_token: Option<String>,
    /// The per-image budgets.
    pub limits: Limits,
}

/// One layer as listed by the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Blob digest (`sha256:…`). For legacy docker-archive layers stored as
    /// `<id>/layer.tar` (uncompressed) this is the diff ID.
    pub digest: String,
    /// Media type from the manifest.
    pub media_type: String,
    /// Blob size from the manifest (or archive).
    pub size: u64,
    /// The config's diff ID for this layer.
    pub diff_id: Option<String>,
}

/// What is known about an image before walking it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageMeta {
    /// `sha256:…` of the platform manifest bytes (none for legacy archives).
    pub manifest_digest: Option<String>,
    /// `sha256:…` of the image index the manifest was picked from.
    pub index_digest: Option<String>,
    /// Media type of the manifest.
    pub media_type: Option<String>,
    /// Digest of the config blob.
    pub config_digest: Option<String>,
    /// `os/arch[/variant]` from the config.
    pub platform: Option<String>,
    /// Layers, bottom first.
    pub layers: Vec<LayerInfo>,
    /// `rootfs.diff_ids` of the config.
    pub diff_ids: Vec<String>,
    /// `RepoTags` of a docker-archive.
    pub repo_tags: Vec<String>,
    /// The image config JSON (labels, env, created, history …).
    pub config: Option<serde_json::Value>,
}

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link (`link_target` as written, relative or absolute).
    Symlink,
    /// Tar hard link (`link_target` is a normalised image path). It carries
    /// no content of its own; its target is reported separately.
    HardLink,
    /// Device, FIFO, socket, or an unknown tar type.
    Other,
}

/// One visible entry of the squashed file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Normalised relative path: no leading `/` or `./`, no `.`/`..`.
    pub path: String,
    /// Entry type.
    pub kind: EntryKind,
    /// Content size (0 for non-files).
    pub size: u64,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    /// Symlink or hard-link target.
    pub link_target: Option<String>,
    /// Index into [`ImageMeta::layers`]; `None` for `dir:`/`file:` and for
    /// directories that exist only implicitly (reported at the end of a walk).
    pub layer: Option<usize>,
}

/// A problem that did not stop the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The layer digest (or archive path) concerned.
    pub layer: Option<String>,
    /// The entry path concerned.
    pub path: Option<String>,
    /// What happened.
    pub message: String,
    /// Part of the image (an entry, a file's content) was not examined
    /// because of it: the walk is not a complete account of the image.
    pub skipped: bool,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.layer {
            write!(f, "layer {l}: ")?;
        }
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Receives the squashed file view.
pub trait Visitor {
    /// Called for each visible entry; return true to receive its content in `visit`.
    fn wants(&mut self, entry: &FileEntry) -> bool;
    /// Reads the entry's content (empty for non-files). An error ends the
    /// walk: as [`ImageError::Limit`] when it came from the [`Budget`]
    /// (however wrapped), else as an error naming the layer and path.
    fn visit(&mut self, entry: &FileEntry, content: &mut dyn std::io::Read) -> std::io::Result<()>;
    /// A non-fatal problem.
    fn warning(&mut self, w: Warning);
}

/// Progress callbacks; all have empty defaults.
pub trait Progress {
    /// A layer starts (`idx` into [`ImageMeta::layers`]; layers run last-first).
    fn layer_started(&mut self, idx: usize, total: usize, digest: &str, size: u64) {
        let _ = (idx, total, digest, size);
    }
    /// `n` more raw blob bytes were read.
    fn bytes(&mut self, n: u64) {
        let _ = n;
    }
    /// A layer is done.
    fn layer_done(&mut self, idx: usize) {
        let _ = idx;
    }
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Counters of a walk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Entries read (tar entries incl. whiteouts and shadowed ones; files in `dir:`).
    pub entries: u64,
    /// Entries shown to the visitor.
    pub visible: u64,
    /// Decompressed layer bytes read.
    pub bytes_decompressed: u64,
    /// Layers read.
    pub layers: usize,
}

enum Backend {
    Store(Box<dyn Store>),
    Dir(PathBuf),
    File(PathBuf),
}

/// An opened image: its metadata and how to stream its layers.
pub struct Image {
    meta: ImageMeta,
    backend: Backend,
    layers: Vec<LayerLoc>,
    budget: Budget,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// Opens a source: reads and verifies index, manifest and config (for
/// image sources), without reading any layer yet. The [`Limits`] of `opts`
/// start to count here (time, for registries).
///
/// Registry sources run a private tokio runtime: do not call this (or
/// [`Image::walk`]) from inside an async context; use `spawn_blocking`.
pub fn open(spec: &SourceSpec, opts: &OpenOptions) -> Result<Image, ImageError> {
    let budget = Budget::new(opts.limits);
    let platform = opts
        .platform
        .clone()
        .unwrap_or_else(|| DEFAULT_PLATFORM.to_string());
    layout::parse_platform(&platform)?;
    let (backend, resolved) = match spec {
        SourceSpec::Oci { dir, reference } => {
            let (s, r) = layout::open_oci_dir(dir, reference.as_deref(), &platform)?;
            (Backend::Store(Box::new(s)), r)
        }
        SourceSpec::DockerArchive { file } => {
            let (s, r) = layout::open_docker_archive(file, &platform, &budget)?;
            (Backend::Store(Box::new(s)), r)
        }
        SourceSpec::Registry { reference } => {
            let (s, r) = registry::open_registry(reference, opts, &platform, &budget)?;
            (Backend::Store(Box::new(s)), r)
        }
        SourceSpec::Dir(p) => {
            return Ok(Image {
                meta: ImageMeta::default(),
                backend: Backend::Dir(p.clone()),
                layers: Vec::new(),
                budget,
            });
        }
        SourceSpec::File(p) => {
            return Ok(Image {
                meta: ImageMeta::default(),
                backend: Backend::File(p.clone()),
                layers: Vec::new(),
                budget,
            });
        }
    };
    Ok(Image {
        meta: resolved.meta,
        backend,
        layers: resolved.layers,
        budget,
    })
}

/// Turns the outcome of reading a layer into the walk's error: an exceeded
/// limit wins over the message it caused.
fn layer_error(budget: &Budget, layer: &str, message: String) -> ImageError {
    match budget.tripped() {
        Some(l) => ImageError::Limit(l),
        None => ImageError::Layer {
            layer: layer.to_string(),
            message,
        },
    }
}

impl Image {
    /// The image metadata (empty for `dir:` and `file:`).
    pub fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    /// The account of this image against its [`Limits`]: visitors that
    /// buffer file contents charge them here (see [`Budget::charge`]).
    pub fn budget(&self) -> Budget {
        self.budget.clone()
    }

    /// Streams the squashed file system to `visitor`, top layer first.
    ///
    /// Any layer problem (missing or unreadable blob, corruption, blob
    /// digest or diff ID mismatch) and any exceeded limit is an error, and
    /// the walk stops there; what the visitor was shown of the image so far
    /// must then be discarded.
    pub fn walk(
        &mut self,
        visitor: &mut dyn Visitor,
        progress: &mut dyn Progress,
    ) -> Result<WalkStats, ImageError> {
        let budget = self.budget.clone();
        let store = match &self.backend {
            Backend::Dir(p) => return fs::walk_dir(p, &budget, visitor),
            Backend::File(p) => return fs::walk_file(p, &budget, visitor),
            Backend::Store(s) => s.as_ref(),
        };
        let mut stats = WalkStats::default();
        let mut squash = Squash::new(budget.clone());
        let total = self.layers.len();
        for idx in (0..total).rev() {
            let info = &self.meta.layers[idx];
            progress.layer_started(idx, total, &info.digest, info.size);
            let (opened, algorithm, name) = match &self.layers[idx] {
                LayerLoc::Blob(d) => (store.open_blob(d, info.size), d.algorithm, d.to_string()),
                LayerLoc::Path(p) => (
                    store.open_path(p),
                    digest::Algorithm::Sha256,
                    info.digest.clone(),
                ),
            };
            let mut raw = opened?;
            let ctx = LayerCtx {
                index: Some(idx),
                name: &name,
                media_type: &info.media_type,
                algorithm,
                budget: &budget,
            };
            let before = stats.visible;
            let out = read_layer(&mut raw, &ctx, &mut squash, visitor, progress, &mut stats);
            stats.layers += 1;
            if let Some(e) = out.error {
                return Err(layer_error(
                    &budget,
                    &name,
                    format!(
                        "layer unreadable: {e} (after {} bytes of the blob; {} entries from it had been visited)",
                        out.blob_bytes,
                        stats.visible - before
                    ),
                ));
            }
            if let LayerLoc::Blob(d) = &self.layers[idx]
                && out.blob_digest != d.to_string()
            {
                return Err(ImageError::DigestMismatch {
                    what: format!("layer blob in {}", store.location()),
                    expected: d.to_string(),
                    actual: format!("{} ({} bytes read)", out.blob_digest, out.blob_bytes),
                });
            }
            if let (Some(actual), Some(expected)) = (&out.diff_id, &info.diff_id)
                && actual != expected
            {
                return Err(ImageError::DigestMismatch {
                    what: format!("diff ID of layer {name} in {}", store.location()),
                    expected: expected.clone(),
                    actual: actual.clone(),
                });
            }
            squash.finish_layer();
            progress.layer_done(idx);
        }
        squash.finish(visitor, &mut stats);
        Ok(stats)
    }
}

/// Reads one layer blob (tar, gzip or zstd, detected by magic bytes) as a
/// one-layer image with default limits and no expected digests: the entry
/// point for fuzzing and for callers holding a layer in memory.
pub fn walk_layer_bytes(bytes: &[u8], visitor: &mut dyn Visitor) -> Result<WalkStats, ImageError> {
    walk_layer_reader(&mut &bytes[..], "", &OpenOptions::default(), visitor).map(|(s, _)| s)
}

/// Like [`walk_layer_bytes`] for any reader, with options (limits) and a
/// media type hint. Returns the stats and the layer's diff ID; a corrupt
/// layer or an exceeded limit is an error.
pub fn walk_layer_reader(
    reader: &mut dyn std::io::Read,
    media_type: &str,
    opts: &OpenOptions,
    visitor: &mut dyn Visitor,
) -> Result<(WalkStats, String), ImageError> {
    let budget = Budget::new(opts.limits);
    let mut stats = WalkStats::default();
    let mut squash = Squash::new(budget.clone());
    let ctx = LayerCtx {
        index: Some(0),
        name: "layer",
        media_type,
        algorithm: digest::Algorithm::Sha256,
        budget: &budget,
    };
    let out = read_layer(
        reader,
        &ctx,
        &mut squash,
        visitor,
        &mut NoProgress,
        &mut stats,
    );
    stats.layers = 1;
    if let Some(e) = out.error {
        return Err(layer_error(
            &budget,
            "layer",
            format!("layer unreadable: {e}"),
        ));
    }
    squash.finish_layer();
    squash.finish(visitor, &mut stats);
    Ok((stats, out.diff_id.unwrap_or_default()))
}
