//! Recording builds: a record from flags or from JSON documents, stored with
//! the findings it adds (one transaction per record).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use buildledger_model::{
    BuildRecord, Builder, Component, Digest, ImageRole, Origin, Purl, Scope, Source, Subject,
    Toolchain, UsedImage,
};
use buildledger_store::Store;
use serde::{Deserialize, Serialize};

use crate::limits::{self, Settings};
use crate::{Error, Result};

/// A build described field by field, as `record`'s flags give it (every
/// value a string as typed; [`record_from_flags`] parses and checks them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecordFlags {
    /// Image digests the build produced (`--digest`).
    pub digests: Vec<String>,
    /// Media type of the digests.
    pub media_type: Option<String>,
    /// Platform of the digests (`linux/amd64`).
    pub platform: Option<String>,
    /// References the image was pushed as (`--ref`).
    pub references: Vec<String>,
    /// Source repository URL.
    pub repo: Option<String>,
    /// Source commit id.
    pub commit: Option<String>,
    /// Tag built.
    pub tag: Option<String>,
    /// The work tree had uncommitted changes.
    pub dirty: bool,
    /// Builder id (URI).
    pub builder_id: Option<String>,
    /// Builder version.
    pub builder_version: Option<String>,
    /// Base images: `DIGEST` or `DIGEST=REFERENCE`.
    pub base_images: Vec<String>,
    /// Images build stages ran in: `DIGEST` or `DIGEST=REFERENCE`.
    pub builder_images: Vec<String>,
    /// Toolchains `NAME@VERSION`.
    pub toolchains: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// Runtime components (versioned purls).
    pub components: Vec<String>,
    /// Build-time-only components (versioned purls).
    pub build_components: Vec<String>,
    /// OpenAPI documents giving the exposed API surface.
    pub apis: Vec<PathBuf>,
    /// Labels `KEY=VALUE`.
    pub labels: Vec<String>,
    /// When the build ran (RFC 3339).
    pub build_time: Option<String>,
}

/// What storing one record did: the JSON of `record` and `POST /records`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct Recorded {
    /// Id of the stored record.
    pub record_id: i64,
    /// Findings the record's new components added.
    pub findings_added: u64,
    /// Where the record came from: a file name, `<flags>`, an envelope, a scan source.
    pub source: String,
    /// The record's subject digests.
    pub subjects: Vec<String>,
    /// Number of components.
    pub components: usize,
    /// Number of API operations.
    pub apis: usize,
    /// Origin set by the ledger (`ci`, `attestation`, `indexer`, `sbom`).
    pub origin: String,
    /// Trust set by the ledger (`verified`, `observed`, `unverified`).
    pub trust: String,
    /// Why the record is not trusted, when the ledger says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_reason: Option<String>,
}

impl Recorded {
    pub(crate) fn new(id: i64, findings_added: u64, source: String, r: &BuildRecord) -> Recorded {
        Recorded {
            record_id: id,
            findings_added,
            source,
            subjects: r.subjects.iter().map(|s| s.digest.to_string()).collect(),
            components: r.components.len(),
            apis: r.apis.len(),
            origin: r.origin.as_str().to_string(),
            trust: r.trust.state.as_str().to_string(),
            trust_reason: r.trust.reason.clone(),
        }
    }
}

fn bad(flag: &str, msg: impl std::fmt::Display) -> Error {
    Error::bad_field(format!("--{flag}"), msg)
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

/// A CI build record from flags (origin `ci`, trust `unverified`); `--api`
/// documents are read within their limit.
pub fn record_from_flags(a: &RecordFlags, settings: &Settings) -> Result<BuildRecord> {
    let mut subjects = Vec::new();
    for d in &a.digests {
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
    for s in &a.base_images {
        r.images.push(used_image(s, ImageRole::Base, "base-image")?);
    }
    for s in &a.builder_images {
        r.images
            .push(used_image(s, ImageRole::Builder, "builder-image")?);
    }
    for t in &a.toolchains {
        r.toolchains
            .push(Toolchain::parse(t).map_err(|e| bad("toolchain", e.message))?);
    }
    r.languages = a.languages.clone();
    for (list, scope, flag) in [
        (&a.components, Scope::Runtime, "component"),
        (&a.build_components, Scope::Build, "build-component"),
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
    for path in &a.apis {
        let bytes = settings
            .read(path, limits::API)
            .map_err(|e| Error::bad_input(format!("--api {}", e.message)).at("--api"))?;
        let apis = buildledger_apisurface::from_openapi(&bytes, &path.display().to_string())
            .map_err(|e| Error::bad_input(format!("--api {e}")).at("--api"))?;
        r.apis.extend(apis);
    }
    for l in &a.labels {
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
    r.validate()
        .map_err(|e| Error::bad_input(e.to_string()).at(e.field))?;
    Ok(r)
}

/// Build records from one JSON document named `name`: a record object or a
/// non-empty array of them. The fields the ledger sets (`origin`, `trust`,
/// `record_time`) are refused; errors name the document and the JSON path.
pub fn parse_records(bytes: &[u8], name: &str) -> Result<Vec<BuildRecord>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<serde_json::Value> = serde_json::from_slice(bytes)
            .map_err(|e| Error::bad_input(format!("{name}: {e}")).at(name))?;
        if items.is_empty() {
            // Nothing to record is not a success: a generator that wrote `[]`
            // would otherwise pass CI silently.
            return Err(
                Error::bad_input(format!("{name}: an empty array holds no build record")).at(name),
            );
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let b = serde_json::to_vec(item).map_err(|e| Error::internal(e.to_string()))?;
            out.push(BuildRecord::from_json(&b).map_err(|e| {
                let field = format!("[{i}].{}", e.field);
                Error::bad_input(format!("{name}: {field}: {}", e.message))
                    .at(format!("{name}: {field}"))
            })?);
        }
        Ok(out)
    } else {
        let r = BuildRecord::from_json(bytes).map_err(|e| {
            if e.field.is_empty() {
                Error::bad_input(format!("{name}: {}", e.message)).at(name)
            } else {
                Error::bad_input(format!("{name}: {}: {}", e.field, e.message))
                    .at(format!("{name}: {}", e.field))
            }
        })?;
        Ok(vec![r])
    }
}

/// [`parse_records`] of a file (`-`: standard input), read within its limit.
pub fn read_records(path: &Path, settings: &Settings) -> Result<Vec<BuildRecord>> {
    let name = buildledger_input::display_name(path);
    let bytes = settings.read(path, limits::RECORD)?;
    parse_records(&bytes, &name)
}

/// The first record of a file, for `attest --file`.
pub fn read_one_record(path: &Path, settings: &Settings) -> Result<BuildRecord> {
    read_records(path, settings)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::bad_input(format!("{}: no record", path.display())))
}

/// Store one record and evaluate what it adds, in one transaction (the
/// store seals it in the audit log in the same transaction).
pub fn record(store: &mut Store, rec: &BuildRecord, source: &str) -> Result<Recorded> {
    let (id, delta) = buildledger_rules::record(store, rec)?;
    Ok(Recorded::new(id, delta.added, source.to_string(), rec))
}

/// Store several records, each in its own transaction, in order; the first
/// failure stops (earlier records stay stored) and names its source.
pub fn record_all(store: &mut Store, records: &[(String, BuildRecord)]) -> Result<Vec<Recorded>> {
    let mut out = Vec::with_capacity(records.len());
    for (source, r) in records {
        out.push(record(store, r, source).map_err(|e| e.prefixed(source))?);
    }
    Ok(out)
}

/// Store the records of several submissions with one commit (group commit:
/// a server that receives many submissions at once pays one durable commit
/// for all of them instead of one each). Each submission gets what
/// [`record_all`] would have given it: when the shared transaction fails,
/// it is rolled back and every submission is stored again on its own, so
/// one bad submission never takes the others with it.
pub fn record_group(
    store: &mut Store,
    submissions: &[Vec<(String, BuildRecord)>],
) -> Vec<Result<Vec<Recorded>>> {
    if submissions.len() <= 1 {
        return submissions.iter().map(|s| record_all(store, s)).collect();
    }
    // Every submission's records in one insert (one statement per table
    // for the whole round), each then matched on its own.
    let together = (|| -> Result<Vec<Vec<Recorded>>> {
        let flat: Vec<BuildRecord> = submissions
            .iter()
            .flat_map(|s| s.iter().map(|(_, r)| r.clone()))
            .collect();
        store.begin()?;
        let stored = match buildledger_rules::record_many_in_tx(store, &flat) {
            Ok(v) => v,
            Err(e) => {
                let _ = store.rollback();
                return Err(e.into());
            }
        };
        store.commit()?;
        let mut it = stored.into_iter();
        let mut out = Vec::with_capacity(submissions.len());
        for sub in submissions {
            let mut rs = Vec::with_capacity(sub.len());
            for (source, r) in sub {
                let (id, delta) = it
                    .next()
                    .ok_or_else(|| Error::internal("a group commit lost a record"))?;
                rs.push(Recorded::new(id, delta.added, source.to_string(), r));
            }
            out.push(rs);
        }
        Ok(out)
    })();
    match together {
        Ok(all) => all.into_iter().map(Ok).collect(),
        Err(_) => submissions.iter().map(|s| record_all(store, s)).collect(),
    }
}

/// Read every file first (so a typo in the third does not leave the first
/// two half-imported), then store each record in its own transaction.
pub fn record_files(
    store: &mut Store,
    files: &[PathBuf],
    settings: &Settings,
) -> Result<Vec<Recorded>> {
    let all = read_record_files(files, settings)?;
    record_all(store, &all)
}

/// Every record of every file, with the file it came from.
pub fn read_record_files(
    files: &[PathBuf],
    settings: &Settings,
) -> Result<Vec<(String, BuildRecord)>> {
    let mut all = Vec::new();
    for f in files {
        for r in read_records(f, settings)? {
            all.push((f.display().to_string(), r));
        }
    }
    Ok(all)
}
