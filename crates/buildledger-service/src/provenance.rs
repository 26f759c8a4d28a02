//! Signed provenance: the SLSA v1 provenance of a build record (what
//! `attest` signs), the build record of a verified attestation, and
//! recording an envelope against the trusted-builder policy (every
//! rejection logged to the audit trail).

use std::path::Path;

use buildledger_model::{
    BuildRecord, Builder, Component, Digest, ImageRole, Origin, Purl, Scope, Source, Subject,
    Toolchain, Trust, TrustState, UsedImage,
};
use buildledger_provenance as prov;
use buildledger_store::Store;

use crate::limits::{self, Settings};
use crate::record::Recorded;
use crate::{Error, Result};

/// SLSA provenance for a record (see the provenance crate's docs for the field map).
pub fn provenance_for(rec: &BuildRecord) -> Result<prov::Statement> {
    let builder = rec.builder.as_ref().ok_or_else(|| {
        Error::bad_field(
            "--builder-id",
            "attest needs --builder-id (the builder that signs)",
        )
    })?;
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
            Error::bad_input(format!("attestation subject {}: {}", s.name, e.message))
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
        return Err(Error::bad_input("attestation has no sha256 subject digest"));
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
            .map_err(|e| Error::bad_input(format!("attestation: externalParameters.apis: {e}")))?;
    }
    if let Some(labels) = ext.get("labels") {
        r.labels = serde_json::from_value(labels.clone()).map_err(|e| {
            Error::bad_input(format!("attestation: externalParameters.labels: {e}"))
        })?;
    }
    if let Some(l) = ext.get("languages") {
        r.languages = serde_json::from_value(l.clone()).map_err(|e| {
            Error::bad_input(format!("attestation: externalParameters.languages: {e}"))
        })?;
    }
    r.validate()
        .map_err(|e| Error::bad_input(format!("attestation: {e}")))?;
    Ok(r)
}

/// The setting naming the trusted-builder policy when a caller gives none.
pub const TRUST_POLICY_VAR: &str = "BUILDLEDGER_TRUST_POLICY";

/// How to take an attestation.
#[derive(Debug, Clone, Default)]
pub struct AttestationOptions {
    /// Keep an envelope that does not verify, as unverified (never counted
    /// as verified).
    pub allow_unverified: bool,
    /// A digest the attestation must name as a subject.
    pub expect_digest: Option<Digest>,
    /// Who submits it, when it comes through an authenticated interface: a
    /// builder token may submit only attestations of its own builder.
    pub submitter: Option<crate::tokens::Principal>,
}

fn log_rejection(store: &mut Store, payload: serde_json::Value) {
    // Best effort: a read-only or unreachable ledger must not hide the
    // rejection itself.
    let _ = store.transaction(|s| s.audit("attestation.rejected", None, &payload).map(|_| ()));
}

/// Read an envelope file (within its limit) and record it with
/// [`record_envelope`] against the policy at `policy` (none given is bad
/// input); an unreadable or oversized file is rejected and logged without
/// reading on (the log names the file).
pub fn record_attestation_file(
    store: &mut Store,
    file: &Path,
    policy: Option<&Path>,
    opts: &AttestationOptions,
    settings: &Settings,
) -> Result<Recorded> {
    let name = file.display().to_string();
    let bytes = match settings.read(file, limits::ENVELOPE) {
        Ok(b) => b,
        Err(e) => {
            let reason = e
                .message
                .strip_prefix(&format!("{name}: "))
                .unwrap_or(&e.message)
                .to_string();
            log_rejection(store, serde_json::json!({"file": name, "reason": reason}));
            return Err(
                Error::bad_input(format!("--attestation {name}: rejected: {reason}"))
                    .at("--attestation"),
            );
        }
    };
    let policy = policy.ok_or_else(|| {
        Error::bad_input(format!(
            "--attestation needs --policy FILE (or {TRUST_POLICY_VAR}): the trusted builders"
        ))
        .at("--policy")
    })?;
    let policy = load_policy(policy)?;
    record_envelope(store, &bytes, &name, &policy, opts)
}

/// Read the trusted-builder policy at `path`.
pub fn load_policy(path: &Path) -> Result<prov::TrustPolicy> {
    prov::TrustPolicy::load(path).map_err(|e| {
        Error::bad_input(format!("{}: {e}", path.display())).at(path.display().to_string())
    })
}

/// Verify a DSSE envelope named `name` against `policy` and store its
/// record: `verified` only when a key pinned to the attestation's builder
/// signed it. A rejected envelope (bad signature, unknown builder, wrong
/// subject, unverified without `allow_unverified`) is logged to the audit
/// trail with its SHA-256 and stores nothing.
pub fn record_envelope(
    store: &mut Store,
    bytes: &[u8],
    name: &str,
    policy: &prov::TrustPolicy,
    opts: &AttestationOptions,
) -> Result<Recorded> {
    let envelope_hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(bytes))
    };
    let reject = |store: &mut Store, reason: String| -> Error {
        log_rejection(
            store,
            serde_json::json!({"file": name, "envelope_sha256": envelope_hash, "reason": reason}),
        );
        Error::bad_input(format!("{name}: rejected: {reason}")).at(name.to_string())
    };
    let att = match prov::verify_attestation(bytes, policy) {
        Ok(a) => a,
        Err(e) => return Err(reject(store, e.to_string())),
    };
    let rec = match record_from_attestation(&att) {
        Ok(r) => r,
        Err(e) => return Err(reject(store, e.message)),
    };
    if let Some(d) = &opts.expect_digest
        && !rec.all_digests().contains(&d)
    {
        return Err(reject(
            store,
            format!("{d} is not a subject of this attestation"),
        ));
    }
    if let Some(p) = &opts.submitter
        && let Err(e) = p.may_submit(&rec)
    {
        // Logged like any rejection, and still forbidden (not bad input).
        log_rejection(
            store,
            serde_json::json!({"file": name, "envelope_sha256": envelope_hash, "reason": e.message}),
        );
        return Err(e);
    }
    if rec.trust.state != TrustState::Verified && !opts.allow_unverified {
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
    crate::record::record(store, &rec, name)
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
            assert_eq!(e.kind, crate::ErrorKind::BadInput);
            assert!(
                e.message.contains(&format!("externalParameters.{k}")),
                "{}",
                e.message
            );
        }
    }
}
