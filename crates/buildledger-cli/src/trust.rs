//! `keygen`, `mismatches`, `audit verify`, `audit checkpoint`: flags to the
//! application layer's trust use cases, and their results rendered.

use std::path::{Path, PathBuf};

use buildledger_service::audit::{self, CheckpointInput};
use buildledger_service::keys;

use crate::output::{Format, Table, print_json};
use crate::{CliError, Result, open_store, settings};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Algorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, DER signatures.
    EcdsaP256,
}

pub fn keygen(alg: Algorithm, out: &Path, force: bool, json: bool) -> Result<u8> {
    let alg = match alg {
        Algorithm::Ed25519 => keys::Algorithm::Ed25519,
        Algorithm::EcdsaP256 => keys::Algorithm::EcdsaP256,
    };
    let pair = keys::keygen(alg, out, force)?;
    if json {
        print_json(&pair)?;
    } else {
        println!(
            "wrote {} (keep secret) and {}",
            pair.private_key.display(),
            pair.public_key.display()
        );
        println!("key id {}", pair.key_id);
    }
    Ok(0)
}

pub fn mismatches(db: &Option<String>, digest: Option<&str>, json: bool, fail: bool) -> Result<u8> {
    let d = match digest {
        Some(d) => Some(buildledger_service::reads::parse_digest(d, "digest")?),
        None => None,
    };
    let rows = match crate::remote::remote() {
        Some(r) => {
            let q: Vec<(&str, String)> = d.iter().map(|d| ("digest", d.to_string())).collect();
            r.list("/api/v1/mismatches", &q, None)?
        }
        None => buildledger_service::reads::mismatches(&mut open_store(db)?, d.as_ref())?,
    };
    if json {
        print_json(&rows)?;
    } else {
        let mut t = Table::new(&["DIGEST", "FIELD", "CLAIMED", "OBSERVED", "CLAIM"]);
        for m in &rows {
            t.row(vec![
                m.digest.clone(),
                m.field.clone(),
                m.claimed.clone().unwrap_or_else(|| "-".into()),
                m.observed.clone().unwrap_or_else(|| "-".into()),
                m.claim
                    .clone()
                    .map(|c| format!("{c} (record {})", m.claim_record.unwrap_or_default()))
                    .unwrap_or_default(),
            ]);
        }
        t.print(Format::Table)?;
        eprintln!("{} mismatch(es)", rows.len());
    }
    Ok(if fail && !rows.is_empty() { 3 } else { 0 })
}

/// Exit 3 when anything was edited, added or removed.
pub fn audit_verify(
    db: &Option<String>,
    checkpoint: Option<PathBuf>,
    checkpoint_key: Option<PathBuf>,
    json: bool,
) -> Result<u8> {
    let cp = match (checkpoint, checkpoint_key) {
        (None, None) => None,
        (Some(file), Some(key)) => Some(CheckpointInput { file, key }),
        _ => {
            return Err(CliError::input(
                "--checkpoint and --checkpoint-key go together (the signed checkpoint and the public key you pinned for it)",
            ));
        }
    };
    let v = match crate::remote::remote() {
        Some(r) => r.get("/api/v1/audit", &[])?,
        None => audit::verify(&mut open_store(db)?, cp.as_ref(), &settings())?,
    };
    if json {
        print_json(&v)?;
        return Ok(if v.intact { 0 } else { 3 });
    }
    if let Some(c) = &v.checkpoint {
        match &c.problem {
            None => println!(
                "checkpoint {} (key {}): entry {} still has the signed head",
                c.file, c.key_id, c.entries
            ),
            Some(p) => println!("checkpoint {} (key {}): {p}", c.file, c.key_id),
        }
    }
    if v.problem_count == 0 {
        println!(
            "audit log intact: {} entries, {} records match their seals, head {}",
            v.entries, v.records, v.head
        );
    } else {
        println!(
            "audit log TAMPERED: {} problem(s) ({} entries, {} records checked):",
            v.problem_count, v.entries, v.records
        );
        for p in &v.problems {
            println!("  {p}");
        }
        if v.problem_count as usize > v.problems.len() {
            println!(
                "  … and {} more",
                v.problem_count as usize - v.problems.len()
            );
        }
    }
    if v.checkpoint.is_none() {
        eprintln!(
            "note: without --checkpoint, a cut-off tail or a chain rebuilt by someone who can write the database is not detected (see `audit checkpoint`)"
        );
    }
    Ok(if v.intact { 0 } else { 3 })
}

/// Sign a checkpoint of the log's head with the operator's key.
pub fn audit_checkpoint(
    db: &Option<String>,
    key: &Path,
    out: Option<&Path>,
    json: bool,
) -> Result<u8> {
    let mut store = open_store(db)?;
    let cp = audit::checkpoint(&mut store, key, &settings())?;
    match out {
        Some(p) => keys::write_envelope(p, &cp.envelope)?,
        None => crate::output::write_raw(&cp.envelope)?,
    }
    if json && out.is_some() {
        print_json(&cp)?;
    } else {
        eprintln!(
            "checkpoint of {} entries, head {}, signed with key {}",
            cp.entries, cp.head, cp.key_id
        );
    }
    Ok(0)
}
