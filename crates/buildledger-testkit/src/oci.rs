//! OCI images for fixtures: `umoci` and `skopeo` invocations, sha256 digests, blobs written into
//! and manifests read from an OCI layout, and a throw-away loopback `docker-registry`.
//!
//! Callers check the tools first ([`crate::tools::require_tool`]); the helpers here panic with
//! the tool's output when a command fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::tools::{require_tool, run};

/// `umoci ARGS`, through [`run`]: returns standard output.
pub fn umoci(args: &[&str]) -> String {
    run(Command::new("umoci").args(args))
}

/// `skopeo copy -q EXTRA SRC DST` (transport-prefixed names such as `oci:DIR:TAG`,
/// `docker-archive:FILE:NAME:TAG` or `docker://HOST/REPO:TAG`), through [`run`].
pub fn skopeo_copy(extra: &[&str], src: &str, dst: &str) {
    run(Command::new("skopeo")
        .args(["copy", "-q"])
        .args(extra)
        .arg(src)
        .arg(dst));
}

/// The lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The OCI digest of `bytes`: `sha256:<hex>`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// A JSON file, parsed; panics naming the file when it cannot be read or parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The file of blob `digest` (`sha256:<hex>`) in the OCI layout `layout`.
pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
    layout.join("blobs/sha256").join(hex)
}

/// Writes `bytes` as a blob of the OCI layout `layout` and returns its digest.
pub fn write_blob(layout: &Path, bytes: &[u8]) -> String {
    let d = sha256_digest(bytes);
    std::fs::write(blob_path(layout, &d), bytes).unwrap();
    d
}

/// The first image of an OCI layout: (its manifest digest from `index.json`, the manifest JSON).
pub fn layout_manifest(layout: &Path) -> (String, serde_json::Value) {
    let idx = read_json(&layout.join("index.json"));
    let d = idx["manifests"][0]["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: index.json has no manifest", layout.display()))
        .to_string();
    let m = read_json(&blob_path(layout, &d));
    (d, m)
}

/// A `docker-registry serve` child process on a loopback port, killed when dropped.
pub struct Registry {
    /// The registry process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its directory (configuration, storage, htpasswd).
    pub dir: PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `docker-registry serve` on a free port of 127.0.0.1 with storage in `<work>/<name>`
/// (emptied first), plain HTTP, optionally with htpasswd basic auth (user, password). Returns
/// `None` (a skip locally, a failure under `CI=true`) when `docker-registry`, or `htpasswd` for
/// basic auth, is missing; panics when the registry does not listen within 10 s.
pub fn start_registry(work: &Path, name: &str, basic: Option<(&str, &str)>) -> Option<Registry> {
    start_registry_with(work, name, basic, "")
}

/// [`start_registry`] with more configuration appended (YAML), e.g. a
/// `notifications:` section that posts events to a server.
pub fn start_registry_with(
    work: &Path,
    name: &str,
    basic: Option<(&str, &str)>,
    extra_yaml: &str,
) -> Option<Registry> {
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
    cfg.push_str(extra_yaml);
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
