//! `keygen`, `attest`, `record --attestation`, `mismatches`, `audit verify`.

use std::path::{Path, PathBuf};

use buildledger_model::{
    BuildRecord, Builder, Component, Digest, ImageRole, Origin, Purl, Scope, Source, Subject,
    Toolchain, Trust, TrustState, UsedImage,
};
use buildledger_provenance as prov;
use buildledger_store::Store;

use crate::output::{Table, print_json};
use crate::{CliError, Result};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Algorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, DER signatures.
    EcdsaP256,
}

pub fn keygen(alg: Algorithm, out: &Path, force: bool, json: bool) -> Result<u8> {
    let key = prov::SigningKey::generate(match alg {
        Algorithm::Ed25519 => prov::KeyAlgorithm::Ed25519,
        Algorithm::EcdsaP256 => prov::KeyAlgorithm::EcdsaP256,
    });
    let priv_path = out.with_extension("key");
    let pub_path = out.with_extension("pub");
    for p in [&priv_path, &pub_path] {
        // symlink_metadata: a dangling symbolic link is there too, and
        // following it would write the key wherever it points.
        if let Ok(m) = std::fs::symlink_metadata(p) {
            if !force {
                return Err(CliError::input(format!(
                    "{} exists (use --force to overwrite)",
                    p.display()
                )));
            }
            if !m.file_type().is_file() {
                return Err(CliError::input(format!(
                    "{} is not a regular file; not overwritten, even with --force",
                    p.display()
                )));
            }
        }
    }
    write_new(&priv_path, key.to_pkcs8_pem().as_bytes(), 0o600, force)?;
    write_new(
        &pub_path,
        key.public_key().to_pem().as_bytes(),
        0o644,
        force,
    )?;
    let id = key.public_key().key_id();
    if json {
        print_json(
            &serde_json::json!({"private_key": priv_path, "public_key": pub_path, "key_id": id}),
        )?;
    } else {
        println!(
            "wrote {} (keep secret) and {}",
            priv_path.display(),
            pub_path.display()
        );
        println!("key id {id}");
    }
    Ok(0)
}

/// Write a key file that did not exist (with `force`, a regular file there
/// is replaced): created exclusively, so a symbolic link or anything else
/// planted at `path` between the check and the write is refused, never
/// followed; `mode` applies from creation on.
fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<()> {
    use std::io::Write;
    if force && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        std::fs::remove_file(path)
            .map_err(|e| CliError::runtime(format!("{}: {e}", path.display())))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(path).map_err(|e| {
        let msg = format!("{}: {e}", path.display());
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::input(format!(
                "{msg} (created by someone else meanwhile; not overwritten)"
            ))
        } else {
            CliError::runtime(msg)
        }
    })?;
    f.write_all(bytes)
        .map_err(|e| CliError::runtime(format!("{}: {e}", path.display())))?;
    Ok(())
}

/// SLSA provenance for a record (see the provenance crate's docs for the field map).
pub fn provenance_for(rec: &BuildRecord) -> Result<prov::Statement> {
    let builder = rec
        .builder
        .as_ref()
        .ok_or_else(|| CliError::input("attest needs --builder-id (the builder that signs)"))?;
    let mut p = prov::SlsaProvenance::new(prov::BUILDLEDGER_BUILD_TYPE, &builder.id);
    if let Some(v) = &builder.version {
        p.run_details
            .builder
            .version
            .insert("version".into(), v.clone());
    }
    if let Some(src) = &rec.source
        && let (Some(repo), Some(commit)) = (&src.repo, &src.commit)
    {
        let r = src.tag.as_ref().map(|t| format!("refs/tags/{t}"));
        p = p.with_source(repo, r.as_deref(), commit);
    }
    for i in &rec.images {
        let reference = i
            .reference
            .clone()
            .unwrap_or_else(|| format!("oci://{}", i.digest));
        p = match i.role {
            ImageRole::Base => p.with_base_image(&reference, i.digest.hex()),
            ImageRole::Builder => p.with_builder_image(&reference, i.digest.hex()),
        };
    }
    for t in &rec.toolchains {
        p = p.with_toolchain(&t.name, &t.version, None);
    }
    let purls: Vec<String> = rec.components.iter().map(|c| c.purl.to_string()).collect();
    p = p.with_components(purls.iter().map(String::as_str));
    p = p.with_metadata(None, rec.build_time, None);
    if let serde_json::Value::Object(m) = &mut p.build_definition.external_parameters {
        if let Some(src) = &rec.source {
            if let Some(t) = &src.tag {
                m.insert("tag".into(), t.clone().into());
            }
            if let Some(c) = &src.commit {
                m.insert("commit".into(), c.clone().into());
            }
            if let Some(d) = src.dirty {
                m.insert("dirty".into(), d.into());
            }
        }
        if !rec.apis.is_empty() {
            m.insert(
                "apis".into(),
                serde_json::to_value(&rec.apis).unwrap_or_default(),
            );
        }
        if !rec.labels.is_empty() {
            m.insert(
                "labels".into(),
                serde_json::to_value(&rec.labels).unwrap_or_default(),
            );
        }
        if !rec.languages.is_empty() {
            m.insert(
                "languages".into(),
                serde_json::to_value(&rec.languages).unwrap_or_default(),
            );
        }
    }
    let subjects: Vec<(String, String)> = rec
        .subjects
        .iter()
        .map(|s| {
            (
                s.references
                    .first()
                    .cloned()
                    .unwrap_or_else(|| s.digest.to_string()),
                s.digest.hex().to_string(),
            )
        })
        .collect();
    Ok(prov::build_statement(&subjects, &p))
}

pub fn attest(rec: &BuildRecord, key: &Path, out: Option<&Path>, json: bool) -> Result<u8> {
    let signing = read_signing_key(key, "--key")?;
    let statement = provenance_for(rec)?;
    let envelope = prov::sign_statement(&signing, &statement);
    match out {
        Some(p) => {
            std::fs::write(p, &envelope)
                .map_err(|e| CliError::runtime(format!("{}: {e}", p.display())))?;
            if json {
                print_json(
                    &serde_json::json!({"envelope": p, "key_id": signing.public_key().key_id()}),
                )?;
            } else {
                eprintln!(
                    "signed provenance for {} subject(s) with key {} → {}",
                    rec.subjects.len(),
                    signing.public_key().key_id(),
                    p.display()
                );
            }
        }
        None => {
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            o.write_all(&envelope)?;
            writeln!(o)?;
        }
    }
    Ok(0)
}

fn str_of(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(String::from)
}

/// A ledger record from a verified (or knowingly unverified) attestation.
pub fn record_from_attestation(att: &prov::VerifiedAttestation) -> Result<BuildRecord> {
    let mut subjects = Vec::new();
    for s in &att.statement.subject {
        let Some(hex) = s.digest.get("sha256") else {
            continue;
        };
        let digest = Digest::of_hex(hex).map_err(|e| {
            CliError::input(format!("attestation subject {}: {}", s.name, e.message))
        })?;
        let references = if s.name.starts_with("sha256:") || s.name.is_empty() {
            vec![]
        } else {
            vec![s.name.clone()]
        };
        subjects.push(Subject {
            digest,
            media_type: None,
            platform: None,
            references,
            manifests: vec![],
        });
    }
    if subjects.is_empty() {
        return Err(CliError::input("attestation has no sha256 subject digest"));
    }
    let mut r = BuildRecord::new(subjects);
    r.origin = Origin::Attestation;
    r.trust = match &att.verification {
        prov::Verification::Verified { key_id, .. } => Trust {
            state: TrustState::Verified,
            key_id: Some(key_id.clone()),
            reason: None,
        },
        prov::Verification::Unverified { reason } => Trust {
            state: TrustState::Unverified,
            key_id: None,
            reason: Some(reason.clone()),
        },
    };
    let Some(p) = &att.provenance else {
        return Ok(r);
    };
    r.builder = Some(Builder {
        id: p.run_details.builder.id.clone(),
        version: p.run_details.builder.version.get("version").cloned(),
    });
    r.build_time = p.run_details.metadata.as_ref().and_then(|m| m.started_on);
    let ext = &p.build_definition.external_parameters;
    let mut source = Source {
        tag: str_of(ext, "tag"),
        commit: str_of(ext, "commit"),
        dirty: ext.get("dirty").and_then(|d| d.as_bool()),
        repo: None,
    };
    let deps = p
        .build_definition
        .resolved_dependencies
        .iter()
        .chain(p.run_details.builder.builder_dependencies.iter());
    for d in deps {
        // Other tools do not annotate kinds: a `git+…` URI with a commit digest is the source.
        let is_git = d.uri.starts_with("git+")
            && (d.digest.contains_key("gitCommit") || d.digest.contains_key("sha1"));
        let kind = d.kind().or(if is_git {
            Some(prov::KIND_SOURCE)
        } else {
            None
        });
        match kind {
            Some(prov::KIND_SOURCE) => {
                let uri = d.uri.trim_start_matches("git+");
                let (repo, git_ref) = match uri.rsplit_once('@') {
                    Some((r, g)) if g.starts_with("refs/") => (r, Some(g)),
                    _ => (uri, None),
                };
                source.repo = Some(repo.to_string());
                if let Some(t) = git_ref.and_then(|g| g.strip_prefix("refs/tags/")) {
                    source.tag.get_or_insert(t.to_string());
                }
                if let Some(c) = d.digest.get("gitCommit").or(d.digest.get("sha1")) {
                    source.commit = Some(c.clone());
                }
            }
            Some(k @ (prov::KIND_BASE_IMAGE | prov::KIND_BUILDER_IMAGE)) => {
                if let Some(hex) = d.digest.get("sha256")
                    && let Ok(digest) = Digest::of_hex(hex)
                {
                    let role = if k == prov::KIND_BASE_IMAGE {
                        ImageRole::Base
                    } else {
                        ImageRole::Builder
                    };
                    r.images.push(UsedImage {
                        digest,
                        role,
                        reference: Some(d.uri.clone()).filter(|u| !u.is_empty()),
                    });
                }
            }
            Some(prov::KIND_TOOLCHAIN) => {
                let version = d
                    .annotations
                    .get("version")
                    .and_then(|v| v.as_str())
                    .map(String::from);
                if let Some(v) = version
                    && let Ok(t) = Toolchain::new(&d.name, &v)
                {
                    r.toolchains.push(t);
                }
            }
            _ => {
                if let Ok(purl) = Purl::parse(&d.uri)
                    && purl.version().is_some()
                    && purl.ty() != "docker"
                    && purl.ty() != "oci"
                {
                    let hashes = d.digest.clone().into_iter().collect();
                    r.components.push(Component {
                        purl,
                        hashes,
                        scope: Scope::Runtime,
                        location: None,
                    });
                }
            }
        }
    }
    if source.repo.is_some() || source.commit.is_some() || source.tag.is_some() {
        r.source = Some(source);
    }
    if let Some(apis) = ext.get("apis") {
        r.apis = serde_json::from_value(apis.clone())
            .map_err(|e| CliError::input(format!("attestation: externalParameters.apis: {e}")))?;
    }
    if let Some(labels) = ext.get("labels") {
        r.labels = serde_json::from_value(labels.clone())
            .map_err(|e| CliError::input(format!("attestation: externalParameters.labels: {e}")))?;
    }
    if let Some(l) = ext.get("languages") {
        r.languages = serde_json::from_value(l.clone()).map_err(|e| {
            CliError::input(format!("attestation: externalParameters.languages: {e}"))
        })?;
    }
    r.validate()
        .map_err(|e| CliError::input(format!("attestation: {e}")))?;
    Ok(r)
}

/// Verify an envelope and store it; rejected envelopes are logged to the audit trail.
pub fn record_attestation(
    store: &mut Store,
    file: &Path,
    policy: Option<&Path>,
    allow_unverified: bool,
    expect_digest: Option<&Digest>,
) -> Result<(i64, BuildRecord, u64)> {
    let name = file.display().to_string();
    let bytes = match crate::limits::read_input(file, crate::limits::ENVELOPE) {
        Ok(b) => b,
        Err(e) => {
            // Unreadable or over the limit: rejected (and logged) without
            // reading on; the log names the file, not a hash of bytes never read.
            let reason = e
                .message
                .strip_prefix(&format!("{name}: "))
                .unwrap_or(&e.message)
                .to_string();
            let _ = store.transaction(|s| {
                s.audit(
                    "attestation.rejected",
                    None,
                    &serde_json::json!({"file": name, "reason": reason}),
                )
                .map(|_| ())
            });
            return Err(CliError::input(format!(
                "--attestation {name}: rejected: {reason}"
            )));
        }
    };
    let policy_path = policy
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("BUILDLEDGER_TRUST_POLICY").map(PathBuf::from))
        .ok_or_else(|| CliError::input("--attestation needs --policy FILE (or BUILDLEDGER_TRUST_POLICY): the trusted builders"))?;
    let pol = prov::TrustPolicy::load(&policy_path)
        .map_err(|e| CliError::input(format!("{}: {e}", policy_path.display())))?;
    let envelope_hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let reject = |store: &mut Store, reason: String| -> CliError {
        let _ = store.transaction(|s| {
            s.audit("attestation.rejected", None, &serde_json::json!({"file": name, "envelope_sha256": envelope_hash, "reason": reason}))
                .map(|_| ())
        });
        CliError::input(format!("{name}: rejected: {reason}"))
    };
    let att = match prov::verify_attestation(&bytes, &pol) {
        Ok(a) => a,
        Err(e) => return Err(reject(store, e.to_string())),
    };
    let rec = match record_from_attestation(&att) {
        Ok(r) => r,
        Err(e) => return Err(reject(store, e.message)),
    };
    if let Some(d) = expect_digest
        && !rec.all_digests().contains(&d)
    {
        return Err(reject(
            store,
            format!("{d} is not a subject of this attestation"),
        ));
    }
    if rec.trust.state != TrustState::Verified && !allow_unverified {
        let why = rec
            .trust
            .reason
            .clone()
            .unwrap_or_else(|| "not verified".into());
        return Err(reject(
            store,
            format!("{why} (use --allow-unverified to keep it as unverified)"),
        ));
    }
    let (id, delta) =
        buildledger_rules::record(store, &rec).map_err(|e| CliError::runtime(e.to_string()))?;
    Ok((id, rec, delta.added))
}

pub fn mismatches(store: &mut Store, digest: Option<&str>, json: bool, fail: bool) -> Result<u8> {
    let d = match digest {
        Some(d) => {
            Some(Digest::parse(d).map_err(|e| CliError::input(format!("digest: {}", e.message)))?)
        }
        None => None,
    };
    let rows = buildledger_rules::crosscheck::mismatches(store, d.as_ref())
        .map_err(|e| CliError::runtime(e.to_string()))?;
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
        t.print(crate::output::Format::Table)?;
        eprintln!("{} mismatch(es)", rows.len());
    }
    Ok(if fail && !rows.is_empty() { 3 } else { 0 })
}

fn read_pem(path: &Path, flag: &str) -> Result<String> {
    let bytes = crate::limits::read_input(path, crate::limits::KEY)
        .map_err(|e| CliError::input(format!("{flag} {}", e.message)))?;
    String::from_utf8(bytes)
        .map_err(|_| CliError::input(format!("{flag} {}: not a PEM file", path.display())))
}

fn read_signing_key(path: &Path, flag: &str) -> Result<prov::SigningKey> {
    // The key's bytes never reach a message: only the file name and why.
    prov::SigningKey::from_pem(&read_pem(path, flag)?)
        .map_err(|e| CliError::input(format!("{flag} {}: {e}", path.display())))
}

/// What `audit verify` found when given a checkpoint.
#[derive(serde::Serialize)]
struct CheckpointCheck {
    file: String,
    key_id: String,
    entries: u64,
    head: String,
    at: chrono::DateTime<chrono::Utc>,
    ok: bool,
    problem: Option<String>,
}

/// Check the chain, every record against its seal and the postings; with a
/// checkpoint, also that the log still holds the signed head (no truncation,
/// no rebuilt chain). Exit 3 when anything is wrong.
pub fn audit_verify(
    store: &mut Store,
    checkpoint: Option<&Path>,
    checkpoint_key: Option<&Path>,
    json: bool,
) -> Result<u8> {
    let check = match (checkpoint, checkpoint_key) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(CliError::input(
                "--checkpoint and --checkpoint-key go together (the signed checkpoint and the public key you pinned for it)",
            ));
        }
        (Some(file), Some(key)) => {
            let pem = read_pem(key, "--checkpoint-key")?;
            let public = prov::PublicKey::from_pem(&pem)
                .map_err(|e| CliError::input(format!("--checkpoint-key {}: {e}", key.display())))?;
            let bytes = crate::limits::read_input(file, crate::limits::ENVELOPE)
                .map_err(|e| CliError::input(format!("--checkpoint {}", e.message)))?;
            let cp = prov::verify_checkpoint(&bytes, &public)
                .map_err(|e| CliError::input(format!("--checkpoint {}: {e}", file.display())))?;
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
            Some(CheckpointCheck {
                file: file.display().to_string(),
                key_id: public.key_id(),
                entries: cp.entries,
                head: cp.head,
                at: cp.at,
                ok: problem.is_none(),
                problem,
            })
        }
    };
    let rep = store.verify_audit()?;
    let bad = rep.problem_count > 0 || check.as_ref().is_some_and(|c| !c.ok);
    if json {
        print_json(&serde_json::json!({
            "entries": rep.entries,
            "head": rep.head,
            "records": rep.records,
            "problem_count": rep.problem_count,
            "problems": rep.problems,
            "checkpoint": check,
            "intact": !bad,
        }))?;
    } else {
        if let Some(c) = &check {
            match &c.problem {
                None => println!(
                    "checkpoint {} (key {}): entry {} still has the signed head",
                    c.file, c.key_id, c.entries
                ),
                Some(p) => println!("checkpoint {} (key {}): {p}", c.file, c.key_id),
            }
        }
        if rep.problem_count == 0 {
            println!(
                "audit log intact: {} entries, {} records match their seals, head {}",
                rep.entries, rep.records, rep.head
            );
        } else {
            println!(
                "audit log TAMPERED: {} problem(s) ({} entries, {} records checked):",
                rep.problem_count, rep.entries, rep.records
            );
            for p in &rep.problems {
                println!("  {p}");
            }
            if rep.problem_count as usize > rep.problems.len() {
                println!(
                    "  … and {} more",
                    rep.problem_count as usize - rep.problems.len()
                );
            }
        }
        if check.is_none() {
            eprintln!(
                "note: without --checkpoint, a cut-off tail or a chain rebuilt by someone who can write the database is not detected (see `audit checkpoint`)"
            );
        }
    }
    Ok(if bad { 3 } else { 0 })
}

/// Sign a checkpoint of the log's head with the operator's key.
pub fn audit_checkpoint(
    store: &mut Store,
    key: &Path,
    out: Option<&Path>,
    json: bool,
) -> Result<u8> {
    let signing = read_signing_key(key, "--key")?;
    let rep = store.verify_audit()?;
    if rep.problem_count > 0 {
        return Err(CliError {
            code: 3,
            message: format!(
                "the audit log does not verify ({} problem(s); first: {}); no checkpoint signed",
                rep.problem_count,
                rep.problems.first().cloned().unwrap_or_default()
            ),
        });
    }
    if rep.entries == 0 {
        return Err(CliError::input(
            "the audit log is empty: nothing to checkpoint",
        ));
    }
    let cp = prov::Checkpoint {
        entries: rep.entries,
        head: rep.head.clone(),
        at: chrono::Utc::now(),
        ledger: Some(store.target().to_string()),
    };
    let envelope = prov::sign_checkpoint(&signing, &cp);
    match out {
        Some(p) => std::fs::write(p, &envelope)
            .map_err(|e| CliError::runtime(format!("{}: {e}", p.display())))?,
        None => {
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            o.write_all(&envelope)?;
            writeln!(o)?;
        }
    }
    if json && out.is_some() {
        print_json(
            &serde_json::json!({"entries": cp.entries, "head": cp.head, "key_id": signing.public_key().key_id()}),
        )?;
    } else {
        eprintln!(
            "checkpoint of {} entries, head {}, signed with key {}",
            cp.entries,
            cp.head,
            signing.public_key().key_id()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attestation(ext: serde_json::Value) -> prov::VerifiedAttestation {
        let mut p = prov::SlsaProvenance::new(prov::BUILDLEDGER_BUILD_TYPE, "https://ci.example/b");
        p.build_definition.external_parameters = ext;
        let statement = prov::build_statement(&[("app".into(), "ab".repeat(32))], &p);
        prov::VerifiedAttestation {
            statement,
            provenance: Some(p),
            verification: prov::Verification::Verified {
                builder_id: "https://ci.example/b".into(),
                key_id: "k".into(),
            },
        }
    }

    #[test]
    fn malformed_external_parameters_are_rejected_not_dropped() {
        let ok =
            record_from_attestation(&attestation(serde_json::json!({"labels": {"team": "x"}})))
                .unwrap();
        assert_eq!(ok.labels.get("team").map(String::as_str), Some("x"));
        for (k, bad) in [
            ("apis", serde_json::json!("nope")),
            ("labels", serde_json::json!([1])),
            ("languages", serde_json::json!({})),
        ] {
            let e =
                record_from_attestation(&attestation(serde_json::json!({ k: bad }))).unwrap_err();
            assert_eq!(e.code, 2);
            assert!(
                e.message.contains(&format!("externalParameters.{k}")),
                "{}",
                e.message
            );
        }
    }
}
