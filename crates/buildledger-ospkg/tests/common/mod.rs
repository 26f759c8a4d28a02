//! Helpers shared by the integration tests: locating `../shared` data (`buildledger-testkit`) and
//! oracle tools, with "skip with a message" locally and "fail" under CI=true.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Either panic (CI) or print a skip message; returns false so callers can `return`.
pub fn missing(what: &str) -> bool {
    buildledger_testkit::ci::skip_or_fail(what)
}

/// Path of a file under `<shared>/data` (`$BUILDLEDGER_SHARED`, else `<repo>/../shared`), or None
/// (after skip/panic handling).
pub fn require_data(rel: &str) -> Option<PathBuf> {
    buildledger_testkit::shared::require_data(rel)
}

/// Is `name` runnable from PATH?
pub fn require_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()));
    found || missing(&format!("tool `{name}`"))
}

/// Directory of the pip package rpm-inspector-rpm's `bin/` (rpm 4.16 with NDB support).
pub fn require_rpm416() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u; s=u.find_spec('rpm_inspector_rpm'); print(list(s.submodule_search_locations)[0] if s else '')",
        ])
        .output()
        .ok();
    let dir = out
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| PathBuf::from(s).join("bin"));
    match dir {
        Some(d) if d.join("rpm").is_file() && d.join("rpmrc").is_file() => Some(d),
        _ => {
            missing("pip package rpm-inspector-rpm (pip install rpm-inspector-rpm)");
            None
        }
    }
}

/// Run a command, panic with its stderr on failure, return stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh temporary directory that is removed on drop.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "buildledger-ospkg-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copy a file into `dir` (writable), returning the new path.
pub fn copy_into(src: &Path, dir: &Path) -> PathBuf {
    let dst = dir.join(src.file_name().expect("file name"));
    let bytes = std::fs::read(src).expect("read source");
    std::fs::write(&dst, bytes).expect("write copy");
    dst
}
