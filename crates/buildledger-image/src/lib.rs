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
//! deletes or hides it. Nothing is unpacked to disk and memory stays bounded
//! (a set of visible paths plus a decompression buffer), whatever the image
//! size. Every blob is hashed while it streams: manifests, indexes and
//! configs must match their digests (else [`open`] fails), and each layer's
//! blob digest and diff ID (sha256 of the uncompressed tar) are checked.
//!
//! Because checking a layer needs all of its bytes, a layer whose digest
//! turns out wrong has **already been shown to the visitor** by the time the
//! mismatch is known. The mismatch is then reported as a [`Warning`] (or an
//! error with [`OpenOptions::strict`]); callers that must not act on
//! unverified content should buffer their findings until the walk returns.
//! Likewise a corrupt layer (truncated gzip/zstd/tar) becomes a warning naming
//! the layer and the walk goes on with the layers below; entries after the
//! corruption point are lost, so whiteouts they held cannot apply.
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
mod registry;

use std::path::PathBuf;

pub use error::ImageError;
pub use layer::{MAX_PATH_LEN, RATIO_CHECK_AFTER};
pub use layout::{MAX_ARCHIVE_ENTRIES, MAX_CONFIG_BYTES, MAX_INDEX_DEPTH, MAX_MANIFEST_BYTES};
pub use registry::{ENV_PASSWORD, ENV_TOKEN, ENV_USER};

use layer::{LayerCtx, Limits, Squash, read_layer};
use layout::{LayerLoc, Store};

/// Default [`OpenOptions::max_layer_bytes`]: 64 GiB decompressed per layer.
pub const DEFAULT_MAX_LAYER_BYTES: u64 = 64 << 30;
/// Default [`OpenOptions::max_file_bytes`]: 512 MiB handed to a visitor.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 512 << 20;
/// Default [`OpenOptions::max_entries`]: tar entries over all layers.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000_000;
/// Default [`OpenOptions::max_ratio`]: decompressed/compressed bytes.
pub const DEFAULT_MAX_RATIO: u64 = 1024;
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
#[derive(Clone, Debug)]
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
    /// Bound on the decompressed size of one layer (and on its raw size).
    pub max_layer_bytes: u64,
    /// Files larger than this are reported but their content is not handed
    /// to the visitor (a warning says so).
    pub max_file_bytes: u64,
    /// Bound on tar entries over the whole walk.
    pub max_entries: u64,
    /// Compression-bomb guard: after [`RATIO_CHECK_AFTER`] decompressed
    /// bytes, a layer whose decompressed/compressed ratio exceeds this fails.
    pub max_ratio: u64,
    /// Turn layer problems (corruption, digest or diff ID mismatch) into
    /// errors instead of warnings.
    pub strict: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            platform: None,
            insecure: false,
            username: None,
            password: None,
            bearer_token: None,
            max_layer_bytes: DEFAULT_MAX_LAYER_BYTES,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_ratio: DEFAULT_MAX_RATIO,
            strict: false,
        }
    }
}

impl OpenOptions {
    fn limits(&self) -> Limits {
        Limits {
            max_layer_bytes: self.max_layer_bytes,
            max_file_bytes: self.max_file_bytes,
            max_entries: self.max_entries,
            max_ratio: self.max_ratio.max(1),
        }
    }
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
    /// Reads the entry's content (empty for non-files). Errors become warnings.
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
    opts: OpenOptions,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// Opens a source: reads and verifies index, manifest and config (for
/// image sources), without reading any layer yet.
///
/// Registry sources run a private tokio runtime: do not call this (or
/// [`Image::walk`]) from inside an async context; use `spawn_blocking`.
pub fn open(spec: &SourceSpec, opts: &OpenOptions) -> Result<Image, ImageError> {
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
            let (s, r) = layout::open_docker_archive(file, &platform)?;
            (Backend::Store(Box::new(s)), r)
        }
        SourceSpec::Registry { reference } => {
            let (s, r) = registry::open_registry(reference, opts, &platform)?;
            (Backend::Store(Box::new(s)), r)
        }
        SourceSpec::Dir(p) => {
            return Ok(Image {
                meta: ImageMeta::default(),
                backend: Backend::Dir(p.clone()),
                layers: Vec::new(),
                opts: opts.clone(),
            });
        }
        SourceSpec::File(p) => {
            return Ok(Image {
                meta: ImageMeta::default(),
                backend: Backend::File(p.clone()),
                layers: Vec::new(),
                opts: opts.clone(),
            });
        }
    };
    Ok(Image {
        meta: resolved.meta,
        backend,
        layers: resolved.layers,
        opts: opts.clone(),
    })
}

impl Image {
    /// The image metadata (empty for `dir:` and `file:`).
    pub fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    /// Streams the squashed file system to `visitor`, top layer first.
    ///
    /// Layer problems are warnings (see the crate docs) unless
    /// [`OpenOptions::strict`] is set; an error is returned for failures of
    /// the source itself (e.g. the `dir:` root missing) and in strict mode.
    pub fn walk(
        &mut self,
        visitor: &mut dyn Visitor,
        progress: &mut dyn Progress,
    ) -> Result<WalkStats, ImageError> {
        let store = match &self.backend {
            Backend::Dir(p) => return fs::walk_dir(p, &self.opts, visitor),
            Backend::File(p) => return fs::walk_file(p, &self.opts, visitor),
            Backend::Store(s) => s.as_ref(),
        };
        let mut stats = WalkStats::default();
        let mut squash = Squash::default();
        let total = self.layers.len();
        let strict = self.opts.strict;
        for idx in (0..total).rev() {
            let info = &self.meta.layers[idx];
            progress.layer_started(idx, total, &info.digest, info.size);
            let mut problems: Vec<String> = Vec::new();
            let (opened, algorithm, name) = match &self.layers[idx] {
                LayerLoc::Blob(d) => (store.open_blob(d, info.size), d.algorithm, d.to_string()),
                LayerLoc::Path(p) => (
                    store.open_path(p),
                    digest::Algorithm::Sha256,
                    info.digest.clone(),
                ),
            };
            match opened {
                Err(e) => problems.push(format!("cannot open layer: {e}")),
                Ok(mut raw) => {
                    let ctx = LayerCtx {
                        index: Some(idx),
                        name: &name,
                        media_type: &info.media_type,
                        algorithm,
                        limits: self.opts.limits(),
                    };
                    let before = stats.visible;
                    let out =
                        read_layer(&mut raw, &ctx, &mut squash, visitor, progress, &mut stats);
                    stats.layers += 1;
                    if let Some(e) = &out.error {
                        problems.push(format!(
                            "layer unreadable: {e} ({} entries from it were visited before the failure; the rest of the layer is skipped)",
                            stats.visible - before
                        ));
                    }
                    if let LayerLoc::Blob(d) = &self.layers[idx]
                        && out.blob_digest != d.to_string()
                    {
                        problems.push(format!(
                            "blob digest mismatch: expected {d}, actual {} ({} bytes read); files from this layer were already visited",
                            out.blob_digest, out.blob_bytes
                        ));
                    }
                    if let (Some(actual), Some(expected)) = (&out.diff_id, &info.diff_id)
                        && actual != expected
                    {
                        problems.push(format!(
                            "diff ID mismatch: config says {expected}, uncompressed tar is {actual}; files from this layer were already visited"
                        ));
                    }
                }
            }
            squash.finish_layer();
            progress.layer_done(idx);
            for message in problems {
                if strict {
                    return Err(ImageError::Layer {
                        layer: name,
                        message,
                    });
                }
                visitor.warning(Warning {
                    layer: Some(name.clone()),
                    path: None,
                    message,
                });
            }
        }
        squash.finish(visitor, &mut stats);
        Ok(stats)
    }
}

/// Reads one layer blob (tar, gzip or zstd, detected by magic bytes) as a
/// one-layer image with default limits and no expected digests: the entry
/// point for fuzzing and for callers holding a layer in memory. Problems
/// are reported as warnings; the returned stats say how far it got.
pub fn walk_layer_bytes(bytes: &[u8], visitor: &mut dyn Visitor) -> WalkStats {
    walk_layer_reader(&mut &bytes[..], "", &OpenOptions::default(), visitor).0
}

/// Like [`walk_layer_bytes`] for any reader, with options (limits) and a
/// media type hint. Returns the stats and the layer's diff ID when the
/// whole stream decoded.
pub fn walk_layer_reader(
    reader: &mut dyn std::io::Read,
    media_type: &str,
    opts: &OpenOptions,
    visitor: &mut dyn Visitor,
) -> (WalkStats, Option<String>) {
    let mut stats = WalkStats::default();
    let mut squash = Squash::default();
    let ctx = LayerCtx {
        index: Some(0),
        name: "layer",
        media_type,
        algorithm: digest::Algorithm::Sha256,
        limits: opts.limits(),
    };
    let out = read_layer(
        reader,
        &ctx,
        &mut squash,
        visitor,
        &mut NoProgress,
        &mut stats,
    );
    squash.finish_layer();
    squash.finish(visitor, &mut stats);
    stats.layers = 1;
    if let Some(e) = out.error {
        visitor.warning(Warning {
            layer: Some("layer".into()),
            path: None,
            message: format!("layer unreadable: {e}"),
        });
    }
    (stats, out.diff_id)
}
