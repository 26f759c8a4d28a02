//! Size limits on the inputs the use cases read, each checked while reading
//! (never after): a file over its limit, a FIFO or a device is bad input and
//! nothing is read past the limit.
//!
//! Each limit has a default and a setting name (the environment variable a
//! person raises it with). The layer never reads the environment itself: an
//! interface hands it a [`Settings`] lookup (the CLI: the process
//! environment; a server: its configuration, then the environment), and a
//! limit is resolved when an input of its kind is read, so a bad value only
//! fails the commands that read such an input.

use std::path::Path;
use std::sync::Arc;

use crate::{Error, Result};

/// One kind of input, its default limit and the setting that raises it.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// What the input is, for messages.
    pub what: &'static str,
    /// The setting (environment variable) with a size: bytes, or K/M/G.
    pub var: &'static str,
    /// Default in bytes.
    pub default: u64,
}

/// Build-record JSON (`record --file`, `attest --file`).
pub const RECORD: Limit = Limit {
    what: "build record",
    var: "BUILDLEDGER_MAX_RECORD_BYTES",
    default: 64 << 20,
};

/// OpenAPI documents (`--api`).
pub const API: Limit = Limit {
    what: "OpenAPI document",
    var: "BUILDLEDGER_MAX_API_BYTES",
    default: 16 << 20,
};

/// DSSE envelopes (attestations, checkpoints): the envelope parser's own limit.
pub const ENVELOPE: Limit = Limit {
    what: "DSSE envelope",
    var: "BUILDLEDGER_MAX_ENVELOPE_BYTES",
    default: buildledger_provenance::MAX_ENVELOPE_SIZE as u64,
};

/// PEM keys (`--key`, `--checkpoint-key`).
pub const KEY: Limit = Limit {
    what: "key",
    var: "BUILDLEDGER_MAX_KEY_BYTES",
    default: buildledger_provenance::MAX_KEY_PEM_SIZE as u64,
};

/// SBOM documents (`sbom import`).
pub const SBOM: Limit = Limit {
    what: "SBOM",
    var: "BUILDLEDGER_MAX_SBOM_BYTES",
    default: 256 << 20,
};

/// Rego policy files (`--policy-file`).
pub const POLICY: Limit = Limit {
    what: "policy file",
    var: "BUILDLEDGER_MAX_POLICY_BYTES",
    default: 4 << 20,
};

/// Cluster snapshots (`inventory report --pods/--namespaces`).
pub const INVENTORY: Limit = Limit {
    what: "cluster snapshot",
    var: "BUILDLEDGER_MAX_INVENTORY_BYTES",
    default: 256 << 20,
};

/// The CA bundle of an admission webhook manifest (`admission manifest --ca-bundle`).
pub const CA_BUNDLE: Limit = Limit {
    what: "CA bundle",
    var: "BUILDLEDGER_MAX_CA_BUNDLE_BYTES",
    default: 1 << 20,
};

/// Feed limits: one file or zip entry, one zip in all, and entries.
pub const FEED_FILE_VAR: &str = "BUILDLEDGER_MAX_FEED_FILE_BYTES";
/// Most uncompressed bytes of one zip dump.
pub const FEED_ZIP_VAR: &str = "BUILDLEDGER_MAX_FEED_ZIP_BYTES";
/// Most entries of one zip dump or directory tree.
pub const FEED_ENTRIES_VAR: &str = "BUILDLEDGER_MAX_FEED_ENTRIES";

/// A lookup of a setting by name.
type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where limits (and other settings) come from: a lookup by setting name.
/// `Settings::default()` knows nothing, so every limit is its default.
#[derive(Clone, Default)]
pub struct Settings {
    lookup: Option<Lookup>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Settings")
    }
}

impl Settings {
    /// Settings looked up by name through `lookup`.
    pub fn new(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Settings {
        Settings {
            lookup: Some(Arc::new(lookup)),
        }
    }

    /// The value of setting `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        self.lookup.as_ref().and_then(|l| l(name))
    }

    /// The limit in effect for `limit` (the setting, else the default); a
    /// value that is not a size is bad input naming the setting.
    pub fn bytes(&self, limit: Limit) -> Result<u64> {
        match self.get(limit.var) {
            None => Ok(limit.default),
            Some(v) => buildledger_input::parse_size(&v).ok_or_else(|| {
                Error::bad_input(format!(
                    "{}={v:?}: expected a size in bytes, e.g. 16777216, 16M or 2G",
                    limit.var
                ))
                .at(limit.var)
            }),
        }
    }

    /// The feed limits in effect.
    pub fn feed_limits(&self) -> Result<buildledger_feed::Limits> {
        let d = buildledger_feed::Limits::default();
        let bytes = |var: &'static str, default: u64| {
            self.bytes(Limit {
                what: "feed",
                var,
                default,
            })
        };
        let entries = match self.get(FEED_ENTRIES_VAR) {
            None => d.entries,
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                Error::bad_input(format!(
                    "{FEED_ENTRIES_VAR}={v:?}: expected a number of entries, e.g. 100000"
                ))
                .at(FEED_ENTRIES_VAR)
            })?,
        };
        Ok(buildledger_feed::Limits {
            file_bytes: bytes(FEED_FILE_VAR, d.file_bytes)?,
            zip_total_bytes: bytes(FEED_ZIP_VAR, d.zip_total_bytes)?,
            entries,
            dir_depth: d.dir_depth,
        })
    }

    /// Read `path` (`-`: standard input) within `limit`; an error names
    /// the file and, for an oversized one, the setting that raises the limit.
    pub fn read(&self, path: &Path, limit: Limit) -> Result<Vec<u8>> {
        let max = self.bytes(limit)?;
        buildledger_input::read_path_or_stdin(path, max).map_err(|e| {
            Error::bad_input(
                e.with_hint(&format!(
                    "{} limit; raise it with {}",
                    limit.what, limit.var
                ))
                .to_string(),
            )
            .at(buildledger_input::display_name(path))
        })
    }
}
