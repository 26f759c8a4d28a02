//! Size limits on the files the CLI reads, each checked while reading
//! (never after): a file over its limit, a FIFO or a device is bad input
//! (exit 2) and nothing is read past the limit.

use std::path::Path;

use crate::{CliError, Result};

/// One kind of input file, its default limit and the variable that raises it.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// What the file is, for messages.
    pub what: &'static str,
    /// Environment variable with a size (bytes, or K/M/G).
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

/// DSSE envelopes (`record --attestation`, `audit verify --checkpoint`): the
/// envelope parser's own limit.
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

impl Limit {
    /// The limit in effect (the variable, else the default).
    pub fn bytes(&self) -> Result<u64> {
        buildledger_input::limit_from_env(self.var, self.default).map_err(CliError::input)
    }
}

/// Read `path` (`-`: standard input) within `limit`.
pub fn read_input(path: &Path, limit: Limit) -> Result<Vec<u8>> {
    let max = limit.bytes()?;
    buildledger_input::read_path_or_stdin(path, max).map_err(|e| {
        CliError::input(
            e.with_hint(&format!(
                "{} limit; raise it with {}",
                limit.what, limit.var
            ))
            .to_string(),
        )
    })
}
