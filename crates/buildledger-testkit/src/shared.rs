//! The shared data and tools directory (`../shared` from the project root, see its README).

use std::path::{Path, PathBuf};

use crate::ci::skip_or_fail;

/// The environment variable that names the shared directory instead of `<workspace>/../shared`.
pub const ENV: &str = "BUILDLEDGER_SHARED";

/// The workspace root (the directory of the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared directory: `$BUILDLEDGER_SHARED` if set, else `<workspace>/../shared`. It may not
/// exist; [`require`] and [`require_data`] apply the CI rule.
pub fn dir() -> PathBuf {
    match std::env::var_os(ENV) {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join("../shared"),
    }
}

/// `<shared>/<rel>` if it exists; otherwise skips (`None`) locally and panics under `CI=true`.
pub fn require(rel: &str) -> Option<PathBuf> {
    let p = dir().join(rel);
    if p.exists() {
        return Some(p);
    }
    skip_or_fail(&format!(
        "{} (shared test data; {ENV} names another copy)",
        p.display()
    ));
    None
}

/// `<shared>/data/<rel>` (`rel` may be empty: the data directory itself), as [`require`].
pub fn require_data(rel: &str) -> Option<PathBuf> {
    if rel.is_empty() {
        require("data")
    } else {
        require(&format!("data/{rel}"))
    }
}
