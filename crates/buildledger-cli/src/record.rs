//! `record` and `attest`: flags to the application layer's record use cases,
//! and what they stored, rendered.

use std::path::{Path, PathBuf};

use buildledger_service::provenance::{self, AttestationOptions};
use buildledger_service::record::{self as svc, RecordFlags, Recorded};

use crate::{Result, open_store, settings};

#[derive(clap::Args)]
pub struct RecordArgs {
    /// JSON build-record file(s) ("-" for standard input). Each file is one
    /// record (or an array of records) stored in its own transaction.
    #[arg(long = "file", short = 'f', conflicts_with_all = ["attestation"])]
    pub files: Vec<PathBuf>,
    /// A DSSE envelope (in-toto statement with SLSA v1 provenance) to verify
    /// against the trusted builders in --policy and record.
    #[arg(long)]
    pub attestation: Option<PathBuf>,
    /// Trusted-builder policy file (or BUILDLEDGER_TRUST_POLICY).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Keep an attestation that does not verify, as unverified (never counted as verified).
    #[arg(long)]
    pub allow_unverified: bool,
    /// Image digest the build produced (repeatable). With --attestation: a
    /// digest the attestation must name.
    #[arg(long, required_unless_present_any = ["files", "attestation"])]
    pub digest: Vec<String>,
    /// Media type of the digest(s).
    #[arg(long)]
    pub media_type: Option<String>,
    /// Platform of the digest (linux/amd64).
    #[arg(long)]
    platform: Option<String>,
    /// Reference the image was pushed as (registry/repo:tag; repeatable).
    #[arg(long = "ref")]
    references: Vec<String>,
    /// Source repository URL.
    #[arg(long)]
    repo: Option<String>,
    /// Source commit id.
    #[arg(long)]
    commit: Option<String>,
    /// Tag built.
    #[arg(long)]
    tag: Option<String>,
    /// The work tree had uncommitted changes.
    #[arg(long)]
    dirty: bool,
    /// Builder id (URI).
    #[arg(long)]
    builder_id: Option<String>,
    /// Builder version.
    #[arg(long)]
    builder_version: Option<String>,
    /// Base image of the final stage: DIGEST or DIGEST=REFERENCE (repeatable).
    #[arg(long)]
    base_image: Vec<String>,
    /// Image a build stage ran in: DIGEST or DIGEST=REFERENCE (repeatable).
    #[arg(long)]
    builder_image: Vec<String>,
    /// Toolchain NAME@VERSION, e.g. go@1.13.4 (repeatable).
    #[arg(long)]
    toolchain: Vec<String>,
    /// Language (repeatable).
    #[arg(long)]
    language: Vec<String>,
    /// Runtime component as a package URL with version (repeatable).
    #[arg(long)]
    component: Vec<String>,
    /// Build-time-only component as a package URL with version (repeatable).
    #[arg(long)]
    build_component: Vec<String>,
    /// OpenAPI 3 document(s) giving the exposed API surface (repeatable).
    #[arg(long)]
    api: Vec<PathBuf>,
    /// Label KEY=VALUE (repeatable).
    #[arg(long)]
    label: Vec<String>,
    /// When the build ran (RFC 3339).
    #[arg(long)]
    build_time: Option<String>,
}

impl RecordArgs {
    fn flags(&self) -> RecordFlags {
        RecordFlags {
            digests: self.digest.clone(),
            media_type: self.media_type.clone(),
            platform: self.platform.clone(),
            references: self.references.clone(),
            repo: self.repo.clone(),
            commit: self.commit.clone(),
            tag: self.tag.clone(),
            dirty: self.dirty,
            builder_id: self.builder_id.clone(),
            builder_version: self.builder_version.clone(),
            base_images: self.base_image.clone(),
            builder_images: self.builder_image.clone(),
            toolchains: self.toolchain.clone(),
            languages: self.language.clone(),
            components: self.component.clone(),
            build_components: self.build_component.clone(),
            apis: self.api.clone(),
            labels: self.label.clone(),
            build_time: self.build_time.clone(),
        }
    }
}

pub fn run(db: &Option<String>, a: RecordArgs, json: bool) -> Result<u8> {
    let settings = settings();
    if let Some(r) = crate::remote::remote() {
        let stored = submit(r, &a, &settings)?;
        return print_recorded(&stored, json);
    }
    // The ledger is opened (created, migrated) first, as it always was;
    // nothing is stored unless every input checks out.
    let mut store = open_store(db)?;
    let stored: Vec<Recorded> = if let Some(att) = &a.attestation {
        let expect_digest = match a.digest.first() {
            Some(d) => Some(buildledger_service::reads::parse_digest(d, "--digest")?),
            None => None,
        };
        let policy = a
            .policy
            .clone()
            .or_else(|| std::env::var_os(provenance::TRUST_POLICY_VAR).map(PathBuf::from));
        let opts = AttestationOptions {
            allow_unverified: a.allow_unverified,
            expect_digest,
            submitter: None,
        };
        vec![provenance::record_attestation_file(
            &mut store,
            att,
            policy.as_deref(),
            &opts,
            &settings,
        )?]
    } else if a.files.is_empty() {
        let r = svc::record_from_flags(&a.flags(), &settings)?;
        vec![svc::record(&mut store, &r, "<flags>")?]
    } else {
        // Every file is read and checked before any record is stored.
        let all = svc::read_record_files(&a.files, &settings)?;
        svc::record_all(&mut store, &all)?
    };
    print_recorded(&stored, json)
}

/// `record` through a server: every input is read and checked here first,
/// then sent; the server decides trust exactly as a local ledger would.
fn submit(
    r: &crate::remote::Remote,
    a: &RecordArgs,
    settings: &buildledger_service::Settings,
) -> Result<Vec<Recorded>> {
    if let Some(att) = &a.attestation {
        if a.policy.is_some() {
            return Err(crate::CliError::input(
                "--policy: with --server the server's trusted-builder policy applies; drop --policy",
            ));
        }
        let bytes = settings
            .read(att, buildledger_service::limits::ENVELOPE)
            .map_err(|e| crate::CliError::input(format!("--attestation {}", e.message)))?;
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(d) = a.digest.first() {
            q.push((
                "digest",
                buildledger_service::reads::parse_digest(d, "--digest")?.to_string(),
            ));
        }
        if a.allow_unverified {
            q.push(("allow_unverified", "true".into()));
        }
        let one: Recorded = r.post("/api/v1/attestations", &q, bytes)?;
        return Ok(vec![one]);
    }
    let records = if a.files.is_empty() {
        vec![svc::record_from_flags(&a.flags(), settings)?]
    } else {
        svc::read_record_files(&a.files, settings)?
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    };
    r.submit(&records)
}

fn print_recorded(stored: &[Recorded], json: bool) -> Result<u8> {
    if json {
        crate::output::print_json(&stored)?;
        return Ok(0);
    }
    for r in stored {
        println!(
            "recorded {} as record {} ({}, {}; {} components, {} APIs) from {}{}",
            r.subjects.join(", "),
            r.record_id,
            r.origin,
            r.trust,
            r.components,
            r.apis,
            r.source,
            if r.findings_added > 0 {
                format!("; {} new finding(s)", r.findings_added)
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}

/// `attest`: sign the provenance of the record the flags (or the first
/// record of `--file`) describe.
pub fn attest(a: &RecordArgs, key: &Path, out: Option<&Path>, json: bool) -> Result<u8> {
    let settings = settings();
    let rec = match a.files.first() {
        Some(f) => svc::read_one_record(f, &settings)?,
        None => svc::record_from_flags(&a.flags(), &settings)?,
    };
    let signed = buildledger_service::keys::attest(&rec, key, &settings)?;
    match out {
        Some(p) => {
            buildledger_service::keys::write_envelope(p, &signed.envelope)?;
            if json {
                crate::output::print_json(&buildledger_service::keys::Attested {
                    envelope: p.to_path_buf(),
                    key_id: signed.key_id,
                })?;
            } else {
                eprintln!(
                    "signed provenance for {} subject(s) with key {} → {}",
                    rec.subjects.len(),
                    signed.key_id,
                    p.display()
                );
            }
        }
        None => crate::output::write_raw(&signed.envelope)?,
    }
    Ok(0)
}
