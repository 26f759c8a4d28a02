//! Shared test setup: real tools, a real Debian rootfs, OCI layouts and
//! archives built from it, and a throw-away registry.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use buildledger_image::{EntryKind, FileEntry, Visitor, Warning};

/// True when running under CI (missing tools/data are failures there).
pub fn ci() -> bool {
    buildledger_testkit::ci::in_ci()
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// Returns whether `name` is installed; panics under CI=true when not.
pub fn require_tool(name: &str) -> bool {
    let found = on_path(name) || Path::new("/usr/sbin").join(name).is_file();
    buildledger_testkit::ci::require(found, &format!("tool {name}"))
}

/// Runs a command, panicking with its output on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

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
    let umoci = |args: &[&str]| {
        run(Command::new("umoci").args(args));
    };
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
    run(Command::new("skopeo")
        .args(["copy", "-q", &format!("oci:{img}")])
        .arg(format!("docker-archive:{}:deb:latest", archive.display())));
    let zstd = work.join("zstd");
    run(Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--dest-compress-format",
            "zstd",
            &format!("oci:{img}"),
        ])
        .arg(format!("oci:{}:deb", zstd.display())));

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

pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn write_blob(layout: &Path, bytes: &[u8]) -> String {
    let h = sha256_hex(bytes);
    std::fs::write(layout.join("blobs/sha256").join(&h), bytes).unwrap();
    format!("sha256:{h}")
}

/// The manifest JSON of the only/first image of a layout.
pub fn layout_manifest(layout: &Path) -> (String, serde_json::Value) {
    let idx = read_json(&layout.join("index.json"));
    let d = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let m = read_json(&layout.join("blobs/sha256").join(&d[7..]));
    (d, m)
}

/// Copies a layout, replacing every gzip layer by its `gzip -dc` output.
fn make_uncompressed(src: &Path, dst: &Path) {
    run(Command::new("cp").arg("-a").arg(src).arg(dst));
    let (_, mut m) = layout_manifest(dst);
    for l in m["layers"].as_array_mut().unwrap() {
        let d = l["digest"].as_str().unwrap().to_string();
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(dst.join("blobs/sha256").join(&d[7..]))
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
    run(Command::new("umoci").args(["init", "--layout"]).arg(layout));
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        run(Command::new("umoci").args(["new", "--image", &img(arch)]));
        run(Command::new("umoci").args([
            "config",
            "--image",
            &img(arch),
            "--architecture",
            arch,
            "--os",
            "linux",
        ]));
        let f = work.join(format!("arch-{arch}.txt"));
        std::fs::write(&f, arch.as_bytes()).unwrap();
        run(Command::new("umoci")
            .args(["insert", "--image", &img(arch)])
            .arg(&f)
            .arg("/arch.txt"));
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

/// A docker-registry child process, killed on drop.
pub struct Registry {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `docker-registry serve` on a free loopback port, optionally with
/// htpasswd basic auth (user, password).
pub fn start_registry(work: &Path, name: &str, basic: Option<(&str, &str)>) -> Option<Registry> {
    if !require_tool("docker-registry") || (basic.is_some() && !require_tool("htpasswd")) {
        return None;
    }
    let dir = work.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("storage")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.join("storage").display()
    );
    if let Some((u, p)) = basic {
        let hp = dir.join("htpasswd");
        run(Command::new("htpasswd")
            .args(["-Bbc"])
            .arg(&hp)
            .args([u, p]));
        cfg.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: buildledger-test\n    path: {}\n",
            hp.display()
        ));
    }
    let cfg_path = dir.join("config.yml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let reg = Registry { child, port, dir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(reg);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("docker-registry did not start on port {port}");
}
