//! `buildledger record`: build a record from flags or read JSON files, and store it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use buildledger_model::{
    BuildRecord, Builder, Component, Digest, ImageRole, Origin, Purl, Scope, Source, Subject,
    Toolchain, UsedImage,
};
use buildledger_store::Store;

use crate::{CliError, Result};

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
    media_type: Option<String>,
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

fn bad(field: &str, msg: impl std::fmt::Display) -> CliError {
    CliError::input(format!("--{field}: {msg}"))
}

fn used_image(s: &str, role: ImageRole, flag: &str) -> Result<UsedImage> {
    let (d, r) = match s.split_once('=') {
        Some((d, r)) => (d, Some(r.to_string())),
        None => (s, None),
    };
    let digest = Digest::parse(d).map_err(|e| bad(flag, e.message))?;
    Ok(UsedImage {
        digest,
        role,
        reference: r,
    })
}

pub(crate) fn from_flags(a: &RecordArgs) -> Result<BuildRecord> {
    let mut subjects = Vec::new();
    for d in &a.digest {
        subjects.push(Subject {
            digest: Digest::parse(d).map_err(|e| bad("digest", e.message))?,
            media_type: a.media_type.clone(),
            platform: a.platform.clone(),
            references: a.references.clone(),
            manifests: vec![],
        });
    }
    let mut r = BuildRecord::new(subjects);
    if a.repo.is_some() || a.commit.is_some() || a.tag.is_some() || a.dirty {
        r.source = Some(Source {
            repo: a.repo.clone(),
            commit: a.commit.clone(),
            tag: a.tag.clone(),
            dirty: Some(a.dirty),
        });
    }
    if let Some(id) = &a.builder_id {
        r.builder = Some(Builder {
            id: id.clone(),
            version: a.builder_version.clone(),
        });
    } else if a.builder_version.is_some() {
        return Err(bad("builder-version", "needs --builder-id"));
    }
    for s in &a.base_image {
        r.images.push(used_image(s, ImageRole::Base, "base-image")?);
    }
    for s in &a.builder_image {
        r.images
            .push(used_image(s, ImageRole::Builder, "builder-image")?);
    }
    for t in &a.toolchain {
        r.toolchains
            .push(Toolchain::parse(t).map_err(|e| bad("toolchain", e.message))?);
    }
    r.languages = a.language.clone();
    for (list, scope, flag) in [
        (&a.component, Scope::Runtime, "component"),
        (&a.build_component, Scope::Build, "build-component"),
    ] {
        for p in list {
            let purl = Purl::parse(p).map_err(|e| bad(flag, e.message))?;
            if purl.version().is_none() {
                return Err(bad(flag, format!("{purl} has no version")));
            }
            r.components.push(Component {
                purl,
                hashes: BTreeMap::new(),
                scope,
                location: None,
            });
        }
    }
    for path in &a.api {
        let bytes = crate::limits::read_input(path, crate::limits::API)
            .map_err(|e| CliError::input(format!("--api {}", e.message)))?;
        let apis = buildledger_apisurface::from_openapi(&bytes, &path.display().to_string())
            .map_err(|e| CliError::input(format!("--api {e}")))?;
        r.apis.extend(apis);
    }
    for l in &a.label {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| bad("label", format!("{l:?} is not KEY=VALUE")))?;
        r.labels.insert(k.to_string(), v.to_string());
    }
    if let Some(t) = &a.build_time {
        r.build_time = Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| bad("build-time", format!("{t:?}: {e}")))?
                .with_timezone(&chrono::Utc),
        );
    }
    r.origin = Origin::Ci;
    r.validate().map_err(|e| CliError::input(e.to_string()))?;
    Ok(r)
}

/// Read one file: a record object or an array of them.
pub(crate) fn from_file(path: &std::path::Path) -> Result<Vec<BuildRecord>> {
    let name = buildledger_input::display_name(path);
    let bytes = crate::limits::read_input(path, crate::limits::RECORD)?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| CliError::input(format!("{name}: {e}")))?;
        if items.is_empty() {
            // Nothing to record is not a success: a generator that wrote `[]`
            // would otherwise pass CI silently.
            return Err(CliError::input(format!(
                "{name}: an empty array holds no build record"
            )));
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let b = serde_json::to_vec(item).map_err(|e| CliError::runtime(e.to_string()))?;
            out.push(BuildRecord::from_json(&b).map_err(|e| {
                CliError::input(format!("{name}: [{i}].{}: {}", e.field, e.message))
            })?);
        }
        Ok(out)
    } else {
        let r = BuildRecord::from_json(&bytes).map_err(|e| {
            if e.field.is_empty() {
                CliError::input(format!("{name}: {}", e.message))
            } else {
                CliError::input(format!("{name}: {}: {}", e.field, e.message))
            }
        })?;
        Ok(vec![r])
    }
}

fn rules_err(e: buildledger_rules::RulesError) -> CliError {
    match e {
        buildledger_rules::RulesError::Store(buildledger_store::StoreError::Invalid(m)) => {
            CliError::input(m.to_string())
        }
        other => CliError::runtime(other.to_string()),
    }
}

pub fn run(store: &mut Store, a: RecordArgs, json: bool) -> Result<u8> {
    let mut stored = Vec::new();
    if let Some(att) = &a.attestation {
        let expect = match a.digest.first() {
            Some(d) => Some(Digest::parse(d).map_err(|e| bad("digest", e.message))?),
            None => None,
        };
        let (id, r, added) = crate::trust::record_attestation(
            store,
            att,
            a.policy.as_deref(),
            a.allow_unverified,
            expect.as_ref(),
        )?;
        let delta = buildledger_store::FindingDelta { added, removed: 0 };
        stored.push((id, att.display().to_string(), r, delta));
    } else if a.files.is_empty() {
        let r = from_flags(&a)?;
        let (id, delta) = buildledger_rules::record(store, &r).map_err(rules_err)?;
        stored.push((id, "<flags>".to_string(), r, delta));
    } else {
        // Validate every file before storing any, so a typo in the third
        // file does not leave the first two half-imported.
        let mut all = Vec::new();
        for f in &a.files {
            for r in from_file(f)? {
                all.push((f.display().to_string(), r));
            }
        }
        for (f, r) in all {
            let (id, delta) = buildledger_rules::record(store, &r).map_err(|e| {
                let e = rules_err(e);
                CliError {
                    code: e.code,
                    message: format!("{f}: {}", e.message),
                }
            })?;
            stored.push((id, f, r, delta));
        }
    }
    if json {
        let v: Vec<_> = stored
            .iter()
            .map(|(id, f, r, delta)| {
                serde_json::json!({
                    "record_id": id,
                    "findings_added": delta.added,
                    "source": f,
                    "subjects": r.subjects.iter().map(|s| s.digest.to_string()).collect::<Vec<_>>(),
                    "components": r.components.len(),
                })
            })
            .collect();
        crate::output::print_json(&v)?;
    } else {
        for (id, f, r, delta) in &stored {
            let subjects: Vec<String> = r.subjects.iter().map(|s| s.digest.to_string()).collect();
            println!(
                "recorded {} as record {id} ({}, {}; {} components, {} APIs) from {f}{}",
                subjects.join(", "),
                r.origin.as_str(),
                r.trust.state.as_str(),
                r.components.len(),
                r.apis.len(),
                if delta.added > 0 {
                    format!("; {} new finding(s)", delta.added)
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(0)
}
