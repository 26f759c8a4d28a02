//! Shared test setup: real tools, a real Debian rootfs, OCI layouts and
//! archives built from it, and a throw-away registry. The tool, OCI and
//! registry helpers are `buildledger-testkit`'s, re-exported here.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use buildledger_image::{EntryKind, FileEntry, Visitor, Warning};
pub use buildledger_testkit::oci::{
    blob_path, layout_manifest, read_json, sha256_digest, skopeo_copy, start_registry, umoci,
    write_blob,
};
pub use buildledger_testkit::tools::{require_tool, run};

/// All fixtures, built once per test binary.
pub struct Fixtures {
    pub work: PathBuf,
    /// OCI layout with tag `deb`: debootstrap rootfs + whiteout, dir whiteout,
    /// opaque dir and a re-created dir, 5 gzip layers (umoci).
    pub oci: PathBuf,
    /// `umoci unpack` of `oci:deb`: the oracle file system.
    pub unpacked: PathBuf,
    /// `skopeo copy` to a legacy docker-archive.
    pub archive: PathBuf,
    /// Docker >= 25 shape: OCI layout + manifest.json in one tar.
    pub archive25: PathBuf,
    /// `skopeo copy --dest-compress-format zstd`.
    pub zstd: PathBuf,
    /// Same image with uncompressed layers (rewritten by this test setup).
    pub plain: PathBuf,
    /// OCI layout with tag `multi`: an index of linux/amd64 and linux/arm64.
    pub multi: PathBuf,
}

static FIXTURES: OnceLock<Option<Fixtures>> = OnceLock::new();

/// The fixtures, or None (with a printed reason) when tools are missing.
pub fn fixtures() -> Option<&'static Fixtures> {
    FIXTURES.get_or_init(build).as_ref()
}

fn build() -> Option<Fixtures> {
    for t in ["debootstrap", "umoci", "skopeo", "tar", "find", "gzip"] {
        if !require_tool(t) {
            return None;
        }
    }
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("image-fixtures");
    std::fs::create_dir_all(&base).unwrap();
    // The debootstrap rootfs is cached across runs (it is the slow part);
    // BUILDLEDGER_IMAGE_FRESH=1 rebuilds it.
    let rootfs =
        buildledger_testkit::rootfs::debootstrap_minbase(&base, "BUILDLEDGER_IMAGE_FRESH")?;
    let work = base.join(format!("run-{}", std::process::id()));
    if let Ok(rd) = std::fs::read_dir(&base) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("run-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    std::fs::create_dir_all(&work).unwrap();
    let oci = work.join("oci");
    let img = format!("{}:deb", oci.display());
    umoci(&["init", "--layout", oci.to_str().unwrap()]);
    umoci(&["new", "--image", &img]);
    // Layer 0: the whole debootstrap rootfs.
    umoci(&["insert", "--image", &img, rootfs.to_str().unwrap(), "/"]);
    // Layer 1: delete a file. Layer 2: delete a directory.
    umoci(&["insert", "--image", &img, "--whiteout", "/etc/motd"]);
    umoci(&["insert", "--image", &img, "--whiteout", "/usr/share/doc"]);
    // Layer 3: replace /etc/default by an opaque directory with one file.
    let nd = work.join("newdefault");
    std::fs::create_dir_all(&nd).unwrap();
    std::fs::write(nd.join("buildledger"), b"X=1\n").unwrap();
    umoci(&[
        "insert",
        "--image",
        &img,
        "--opaque",
        nd.to_str().unwrap(),
        "/etc/default",
    ]);
    // Layer 4: re-create the deleted directory with one file.
    let news = work.join("NEWS");
    std::fs::write(&news, b"buildledger test layer\n").unwrap();
    umoci(&[
        "insert",
        "--image",
        &img,
        news.to_str().unwrap(),
        "/usr/share/doc/NEWS",
    ]);

    let unpack = work.join("unpacked");
    umoci(&["unpack", "--image", &img, unpack.to_str().unwrap()]);

    let archive = work.join("legacy.tar");
    skopeo_copy(
        &[],
        &format!("oci:{img}"),
        &format!("docker-archive:{}:deb:latest", archive.display()),
    );
    let zstd = work.join("zstd");
    skopeo_copy(
        &["--dest-compress-format", "zstd"],
        &format!("oci:{img}"),
        &format!("oci:{}:deb", zstd.display()),
    );

    let plain = work.join("plain");
    make_uncompressed(&oci, &plain);
    let archive25 = work.join("docker25.tar");
    make_docker25(&oci, &work.join("d25"), &archive25);
    let multi = work.join("multi");
    make_multi(&multi, &work);

    Some(Fixtures {
        work: work.clone(),
        oci,
        unpacked: unpack.join("rootfs"),
        archive,
        archive25,
        zstd,
        plain,
        multi,
    })
}

/// Copies a layout, replacing every gzip layer by its `gzip -dc` output.
fn make_uncompressed(src: &Path, dst: &Path) {
    run(Command::new("cp").arg("-a").arg(src).arg(dst));
    let (_, mut m) = layout_manifest(dst);
    for l in m["layers"].as_array_mut().unwrap() {
        let d = l["digest"].as_str().unwrap().to_string();
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(blob_path(dst, &d))
            .output()
            .unwrap();
        assert!(out.status.success());
        let nd = write_blob(dst, &out.stdout);
        l["digest"] = nd.into();
        l["size"] = (out.stdout.len() as u64).into();
        l["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
    }
    let mb = serde_json::to_vec(&m).unwrap();
    let md = write_blob(dst, &mb);
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mb.len(),
        "annotations": {"org.opencontainers.image.ref.name": "deb"}}]});
    std::fs::write(dst.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
}

/// The Docker >= 25 `docker save` shape: an OCI layout plus a legacy
/// manifest.json whose paths point into blobs/.
fn make_docker25(src: &Path, tmp: &Path, out: &Path) {
    run(Command::new("cp").arg("-a").arg(src).arg(tmp));
    let (_, m) = layout_manifest(tmp);
    let layers: Vec<String> = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("blobs/sha256/{}", &l["digest"].as_str().unwrap()[7..]))
        .collect();
    let mj = serde_json::json!([{"Config": format!("blobs/sha256/{}", &m["config"]["digest"].as_str().unwrap()[7..]),
        "RepoTags": ["buildledger/deb:25"], "Layers": layers}]);
    std::fs::write(tmp.join("manifest.json"), serde_json::to_vec(&mj).unwrap()).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(tmp)
        .arg("-cf")
        .arg(out)
        .args(["oci-layout", "index.json", "manifest.json", "blobs"]));
}

/// Two tiny single-layer images (amd64, arm64) combined in an OCI index
/// tagged `multi`; each holds `arch.txt` naming its architecture.
fn make_multi(layout: &Path, work: &Path) {
    let img = |t: &str| format!("{}:{t}", layout.display());
    umoci(&["init", "--layout", layout.to_str().unwrap()]);
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        umoci(&["new", "--image", &img(arch)]);
        umoci(&[
            "config",
            "--image",
            &img(arch),
            "--architecture",
            arch,
            "--os",
            "linux",
        ]);
        let f = work.join(format!("arch-{arch}.txt"));
        std::fs::write(&f, arch.as_bytes()).unwrap();
        umoci(&[
            "insert",
            "--image",
            &img(arch),
            f.to_str().unwrap(),
            "/arch.txt",
        ]);
    }
    let idx = read_json(&layout.join("index.json"));
    for d in idx["manifests"].as_array().unwrap() {
        let name = d["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .to_string();
        entries.push(serde_json::json!({"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"],
            "platform": {"os": "linux", "architecture": name}}));
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries});
    let ib = serde_json::to_vec(&index).unwrap();
    let id = write_blob(layout, &ib);
    let mut top = idx.clone();
    top["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": id, "size": ib.len(),
        "annotations": {"org.opencontainers.image.ref.name": "multi"}}));
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
}

/// `find DIR -mindepth 1 -printf '%P\t%y\t%s'`: path → (kind, size of files).
pub fn find_listing(dir: &Path) -> BTreeMap<String, (EntryKind, u64)> {
    let out =
        run(Command::new("find")
            .arg(dir)
            .args(["-mindepth", "1", "-printf", "%P\\t%y\\t%s\\n"]));
    out.lines()
        .map(|l| {
            let mut it = l.split('\t');
            let p = it.next().unwrap().to_string();
            let k = match it.next().unwrap() {
                "f" => EntryKind::File,
                "d" => EntryKind::Dir,
                "l" => EntryKind::Symlink,
                _ => EntryKind::Other,
            };
            let s: u64 = it.next().unwrap().parse().unwrap();
            (p, (k, if k == EntryKind::File { s } else { 0 }))
        })
        .collect()
}

/// Collects everything a walk shows.
#[derive(Default)]
pub struct Collect {
    pub entries: Vec<FileEntry>,
    pub warnings: Vec<Warning>,
    /// Paths whose content is wanted → content read.
    pub want: Vec<String>,
    pub contents: BTreeMap<String, Vec<u8>>,
}

impl Visitor for Collect {
    fn wants(&mut self, e: &FileEntry) -> bool {
        self.entries.push(e.clone());
        self.want.contains(&e.path)
    }
    fn visit(&mut self, e: &FileEntry, r: &mut dyn Read) -> std::io::Result<()> {
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        self.contents.insert(e.path.clone(), b);
        Ok(())
    }
    fn warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}

impl Collect {
    /// Visible entries as the oracle sees them: hard links are plain files
    /// once unpacked, so they are compared as files of the target's size.
    pub fn listing(&self) -> BTreeMap<String, (EntryKind, u64)> {
        let sizes: BTreeMap<&str, u64> = self
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| (e.path.as_str(), e.size))
            .collect();
        let mut m = BTreeMap::new();
        for e in &self.entries {
            let v = match e.kind {
                EntryKind::HardLink => (
                    EntryKind::File,
                    e.link_target
                        .as_deref()
                        .and_then(|t| sizes.get(t))
                        .copied()
                        .unwrap_or(0),
                ),
                k => (k, e.size),
            };
            assert!(
                m.insert(e.path.clone(), v).is_none(),
                "path reported twice: {}",
                e.path
            );
        }
        m
    }
}

/// Compares two listings and panics with a readable diff.
pub fn assert_same_listing(
    ours: &BTreeMap<String, (EntryKind, u64)>,
    oracle: &BTreeMap<String, (EntryKind, u64)>,
    what: &str,
) {
    let mut diffs = Vec::new();
    for (p, v) in oracle {
        match ours.get(p) {
            None => diffs.push(format!("missing: {p} {v:?}")),
            Some(o) if o != v => diffs.push(format!("differs: {p} ours {o:?} oracle {v:?}")),
            _ => {}
        }
    }
    for p in ours.keys() {
        if !oracle.contains_key(p) {
            diffs.push(format!("extra: {p} {:?}", ours[p]));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences, first: {:#?}",
        diffs.len(),
        &diffs[..diffs.len().min(20)]
    );
}
