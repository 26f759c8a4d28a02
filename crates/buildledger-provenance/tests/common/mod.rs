//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use buildledger_provenance::{SigningKey, SlsaProvenance};

/// Whether `CI=true`: missing tools are then failures, not skips.
pub fn in_ci() -> bool {
    buildledger_testkit::ci::in_ci()
}

/// Returns whether a required tool is usable; skips (prints) or, under
/// `CI=true`, panics when it is not.
pub fn require(what: &str, available: bool, install: &str) -> bool {
    buildledger_testkit::ci::require(available, &format!("{what} (install with: {install})"))
}

/// The Python interpreter to use (`BUILDLEDGER_PYTHON`, default `python3`).
pub fn python() -> String {
    std::env::var("BUILDLEDGER_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether Python with securesystemslib and in-toto-attestation works.
pub fn require_python_oracle() -> bool {
    let ok = Command::new(python())
        .args([
            "-c",
            "import securesystemslib.dsse, securesystemslib.signer, cryptography, \
             in_toto_attestation.v1.statement, \
             in_toto_attestation.predicates.provenance.v1.provenance_pb2",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        "python3 with securesystemslib[crypto] and in-toto-attestation",
        ok,
        "pip install 'securesystemslib[crypto]' in-toto-attestation",
    )
}

/// Whether an executable runs (`NAME ARG` exits 0).
pub fn require_tool(name: &str, probe_arg: &str, install: &str) -> bool {
    let ok = Command::new(name)
        .arg(probe_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    require(name, ok, install)
}

/// Path of the Python oracle script.
pub fn oracle_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sslib_oracle.py")
}

/// Run the oracle script with arguments.
pub fn run_oracle(args: &[&str]) -> Output {
    Command::new(python())
        .arg(oracle_script())
        .args(args)
        .output()
        .expect("running the python oracle")
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "buildledger-provenance-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("creating temp dir");
    dir
}

/// Random lowercase hex of `n` bytes (from a freshly generated key, so the
/// tests need no RNG crate).
pub fn random_hex(n: usize) -> String {
    let mut out = String::new();
    while out.len() < n * 2 {
        let k = SigningKey::generate(buildledger_provenance::KeyAlgorithm::Ed25519);
        out.push_str(&k.public_key().key_id());
    }
    out.truncate(n * 2);
    out
}

/// A provenance using every buildledger constructor.
pub fn sample_provenance(builder_id: &str, commit: &str) -> SlsaProvenance {
    use chrono::TimeZone;
    SlsaProvenance::new(buildledger_provenance::BUILDLEDGER_BUILD_TYPE, builder_id)
        .with_source("https://git.example/team/app", Some("refs/tags/v1"), commit)
        .with_base_image(
            "docker.io/library/alpine:3.20",
            "sha256:1e42bbe2508154c9126d48c2b8a75420c3544343bf86fd041fb7527e017a4b4a",
        )
        .with_builder_image("oci://registry.example/ci/runner", &random_hex(32))
        .with_toolchain("go", "1.22.3", None)
        .with_components([
            "pkg:golang/golang.org/x/net@v0.25.0",
            "pkg:cargo/serde@1.0.200",
        ])
        .with_metadata(
            Some("https://ci.example/jobs/42"),
            chrono::Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).single(),
            chrono::Utc.with_ymd_and_hms(2025, 3, 4, 5, 16, 7).single(),
        )
}
