//! What the benches that drive the `buildledger` binary share: finding the
//! binary, a self-signed certificate for a TLS listener on loopback, and a
//! scratch directory removed on drop. Included by each with `#[path]` (a
//! bin target cannot share functions otherwise).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The release `buildledger` binary: `$BUILDLEDGER_BIN`, else the one next
/// to this bench. Exits 2 with how to build it when it is missing.
pub(crate) fn buildledger_bin() -> PathBuf {
    let bin = std::env::var_os("BUILDLEDGER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("buildledger")))
                .unwrap_or_else(|| PathBuf::from("buildledger"))
        });
    if !bin.is_file() {
        eprintln!(
            "buildledger binary not found at {} (build it first: cargo build --release -p buildledger-cli, or set BUILDLEDGER_BIN)",
            bin.display()
        );
        std::process::exit(2);
    }
    bin
}

/// A self-signed P-256 end-entity certificate for localhost and 127.0.0.1
/// (`CA:FALSE`: webpki refuses a CA certificate as a server's).
pub(crate) fn self_signed(cert: &Path, key: &Path) {
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=critical,digitalSignature"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(st.success(), "openssl req failed");
}

/// Removed, with everything in it, when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
