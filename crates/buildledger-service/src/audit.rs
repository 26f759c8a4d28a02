//! The audit log: verify the chain, every record against its seal and the
//! postings (and, with a signed checkpoint, that the log still holds the
//! signed head); sign a checkpoint of a log that verifies.

use std::path::{Path, PathBuf};

use buildledger_provenance as prov;
use buildledger_store::Store;
use serde::Serialize;

use crate::keys::{read_public_key, read_signing_key};
use crate::limits::{self, Settings};
use crate::{Error, Result};

/// What `audit verify` found given a checkpoint.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct CheckpointCheck {
    /// The checkpoint file.
    pub file: String,
    /// Id of the key that signed it (the one pinned).
    pub key_id: String,
    /// Entries the checkpoint covers.
    pub entries: u64,
    /// The signed head hash.
    pub head: String,
    /// When it was signed.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Whether the log still holds that head.
    pub ok: bool,
    /// What is wrong, when not ok.
    pub problem: Option<String>,
}

/// The result of `audit verify`: the JSON of `audit verify --json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct Verification {
    /// Entries in the log.
    pub entries: u64,
    /// Hash of the last entry.
    pub head: String,
    /// Records checked against their seals.
    pub records: u64,
    /// Problems found (may exceed the problems listed).
    pub problem_count: u64,
    /// The first problems found.
    pub problems: Vec<String>,
    /// The checkpoint check, when one was given.
    pub checkpoint: Option<CheckpointCheck>,
    /// Nothing was edited, added or removed (and the checkpoint holds).
    pub intact: bool,
}

/// A signed checkpoint given to `audit verify`.
#[derive(Debug, Clone)]
pub struct CheckpointInput {
    /// The envelope file.
    pub file: PathBuf,
    /// The public key pinned for checkpoints.
    pub key: PathBuf,
}

/// Check the chain, every record against its seal and the postings; with a
/// checkpoint, also that the log still holds the signed head (no
/// truncation, no rebuilt chain). Tampering is a result (`intact: false`),
/// not an error; a checkpoint that does not verify is bad input.
pub fn verify(
    store: &mut Store,
    checkpoint: Option<&CheckpointInput>,
    settings: &Settings,
) -> Result<Verification> {
    let check = match checkpoint {
        None => None,
        Some(c) => Some(check_checkpoint(store, &c.file, &c.key, settings)?),
    };
    let rep = store.verify_audit()?;
    let bad = rep.problem_count > 0 || check.as_ref().is_some_and(|c| !c.ok);
    Ok(Verification {
        entries: rep.entries,
        head: rep.head,
        records: rep.records,
        problem_count: rep.problem_count,
        problems: rep.problems,
        checkpoint: check,
        intact: !bad,
    })
}

fn check_checkpoint(
    store: &mut Store,
    file: &Path,
    key: &Path,
    settings: &Settings,
) -> Result<CheckpointCheck> {
    let public = read_public_key(key, "--checkpoint-key", settings)?;
    let bytes = settings
        .read(file, limits::ENVELOPE)
        .map_err(|e| Error::bad_input(format!("--checkpoint {}", e.message)).at("--checkpoint"))?;
    let cp = prov::verify_checkpoint(&bytes, &public).map_err(|e| {
        Error::bad_input(format!("--checkpoint {}: {e}", file.display())).at("--checkpoint")
    })?;
    let (count, hash) = store.audit_entry_hash(cp.entries)?;
    let problem = match hash {
        None => Some(format!(
            "the log was truncated: the checkpoint of {} holds {} entries (head {}), the log has {count}",
            cp.at.to_rfc3339(),
            cp.entries,
            cp.head
        )),
        Some(h) if h != cp.head => Some(format!(
            "the log was rewritten: entry {} has hash {h}, the checkpoint of {} says {}",
            cp.entries,
            cp.at.to_rfc3339(),
            cp.head
        )),
        Some(_) => None,
    };
    Ok(CheckpointCheck {
        file: file.display().to_string(),
        key_id: public.key_id(),
        entries: cp.entries,
        head: cp.head,
        at: cp.at,
        ok: problem.is_none(),
        problem,
    })
}

/// A signed checkpoint of the log's head.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Checkpointed {
    /// Entries covered.
    pub entries: u64,
    /// Head hash signed.
    pub head: String,
    /// Id of the signing key.
    pub key_id: String,
    /// The DSSE envelope (JSON text).
    #[serde(skip)]
    pub envelope: Vec<u8>,
}

/// Verify the log and sign a checkpoint of its head with the operator's
/// key. A log that does not verify is an [`Integrity`](crate::ErrorKind::Integrity)
/// error (nothing signed on top of tampering); an empty one is bad input.
pub fn checkpoint(store: &mut Store, key: &Path, settings: &Settings) -> Result<Checkpointed> {
    let signing = read_signing_key(key, "--key", settings)?;
    let rep = store.verify_audit()?;
    if rep.problem_count > 0 {
        return Err(Error::integrity(format!(
            "the audit log does not verify ({} problem(s); first: {}); no checkpoint signed",
            rep.problem_count,
            rep.problems.first().cloned().unwrap_or_default()
        )));
    }
    if rep.entries == 0 {
        return Err(Error::bad_input(
            "the audit log is empty: nothing to checkpoint",
        ));
    }
    let cp = prov::Checkpoint {
        entries: rep.entries,
        head: rep.head.clone(),
        at: chrono::Utc::now(),
        ledger: Some(store.target().to_string()),
    };
    Ok(Checkpointed {
        envelope: prov::sign_checkpoint(&signing, &cp),
        entries: cp.entries,
        head: cp.head,
        key_id: signing.public_key().key_id(),
    })
}
