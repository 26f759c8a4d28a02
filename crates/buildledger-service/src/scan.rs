//! Indexing images (`scan`, `scan --record`) and recording SBOMs
//! (`sbom import`).

use std::path::Path;

use buildledger_image::{LimitKind, Limits};
use buildledger_model::{BuildRecord, Component, Digest, Origin, Purl, Scope, Subject};
use buildledger_scan::ScanResult;
use buildledger_store::{NewGoBinary, Store};
use serde::Serialize;

use crate::limits::{self, Settings};
use crate::record::Recorded;
use crate::{Error, Result};

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// `oci:DIR[:REF]`, `docker-archive:FILE`, `registry:HOST/REPO[:TAG|@DIGEST]`, `dir:PATH`, `file:PATH`.
    pub source: String,
    /// The digest to record a `dir:`/`file:` source under (the caller's claim).
    pub digest: Option<String>,
    /// Whether the result will be recorded: then a result that cannot be
    /// (something skipped, no digest) fails the scan before anything is shown.
    pub record: bool,
    /// Platform picked from a multi-arch index (`os/arch[/variant]`).
    pub platform: Option<String>,
    /// Plain HTTP to a loopback registry.
    pub insecure: bool,
    /// Registry user.
    pub username: Option<String>,
    /// Registry password.
    pub password: Option<String>,
    /// The per-image budgets.
    pub limits: Limits,
}

/// A finished scan: what was found, and the record to store when asked.
pub struct Scanned {
    /// The scan result.
    pub result: ScanResult,
    /// The source as given.
    pub source: String,
    /// The digest the caller named, if any.
    pub digest: Option<Digest>,
    /// The record to store (with `record`).
    pub record: Option<BuildRecord>,
    /// Seconds the scan took.
    pub seconds: f64,
}

/// The flag and the setting that raise a scan limit.
pub fn limit_knobs(kind: LimitKind) -> (&'static str, &'static str) {
    use LimitKind as K;
    match kind {
        K::ImageBytes => ("--max-image-bytes", "BUILDLEDGER_SCAN_MAX_IMAGE_BYTES"),
        K::FileBytes => ("--max-file-bytes", "BUILDLEDGER_SCAN_MAX_FILE_BYTES"),
        K::BufferedBytes => (
            "--max-buffered-bytes",
            "BUILDLEDGER_SCAN_MAX_BUFFERED_BYTES",
        ),
        K::Entries => ("--max-entries", "BUILDLEDGER_SCAN_MAX_ENTRIES"),
        K::Ratio => ("--max-ratio", "BUILDLEDGER_SCAN_MAX_RATIO"),
        K::Time => ("--max-time", "BUILDLEDGER_SCAN_MAX_TIME"),
        _ => ("", ""),
    }
}

/// A failed scan: environment failures (registry unreachable, disk) are
/// unavailable, everything about the image itself is bad input; an
/// exceeded limit says how to raise it.
fn scan_error(source: &str, e: buildledger_scan::ScanError) -> Error {
    let buildledger_scan::ScanError::Image(e) = e;
    if let Some(l) = e.limit() {
        let (flag, var) = limit_knobs(l.kind);
        return Error::bad_input(format!(
            "{source}: scan limit exceeded: {l}; nothing was recorded. Raise it with {flag} or {var}"
        ))
        .at(flag);
    }
    if e.is_runtime() {
        Error::unavailable(format!("{source}: {e}"))
    } else {
        Error::bad_input(format!("{source}: {e}")).at(source.to_string())
    }
}

/// Check a scan request before anything is read.
pub fn check_request(req: &ScanRequest) -> Result<(buildledger_image::SourceSpec, Option<Digest>)> {
    let spec = buildledger_image::parse_source(&req.source)
        .map_err(|e| Error::bad_input(format!("{}: {e}", req.source)).at(req.source.clone()))?;
    let digest = match &req.digest {
        Some(d) => Some(Digest::parse(d).map_err(|e| Error::bad_field("--digest", e.message))?),
        None => None,
    };
    Ok((spec, digest))
}

/// Scan an image. With `record`, the record is made here, so a result that
/// cannot be recorded fails now and nothing is shown or stored.
pub fn scan(req: &ScanRequest, progress: &mut dyn buildledger_image::Progress) -> Result<Scanned> {
    let (spec, digest) = check_request(req)?;
    let opts = buildledger_image::OpenOptions {
        platform: req.platform.clone(),
        insecure: req.insecure,
        username: req.username.clone(),
        password: req.password.clone(),
        limits: req.limits,
        ..Default::default()
    };
    let t0 = std::time::Instant::now();
    let result =
        buildledger_scan::scan(&spec, &opts, progress).map_err(|e| scan_error(&req.source, e))?;
    let seconds = t0.elapsed().as_secs_f64();
    let record = if req.record {
        Some(to_record(&result, &req.source, digest.as_ref())?)
    } else {
        None
    };
    Ok(Scanned {
        result,
        source: req.source.clone(),
        digest,
        record,
        seconds,
    })
}

fn to_record(res: &ScanResult, source: &str, digest: Option<&Digest>) -> Result<BuildRecord> {
    match res.to_record(digest) {
        Ok(r) => Ok(r),
        Err(buildledger_scan::RecordError::NoDigest) => Err(Error::bad_input(format!(
            "{source}: no image digest to record under; pass --digest"
        ))
        .at("--digest")),
        Err(e) => {
            let hint = if res.skipped().any(|w| w.message.contains("max_file_bytes")) {
                " (a file was larger than max_file_bytes: raise it with --max-file-bytes or BUILDLEDGER_SCAN_MAX_FILE_BYTES)"
            } else {
                ""
            };
            Err(Error::bad_input(format!(
                "{source}: {e}; nothing was recorded{hint}"
            )))
        }
    }
}

impl Scanned {
    /// The components found.
    pub fn components(&self) -> Vec<Component> {
        self.result.components()
    }

    /// The digest the output names: the image's own, or the one given.
    pub fn subject_digest(&self) -> Option<Digest> {
        self.result.subject_digest(self.digest.as_ref())
    }

    /// The scan as JSON: the JSON of `scan --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"scan": self.result.to_json(), "components": self.components()})
    }

    /// The scan as an SBOM document: `cyclonedx` (1.6) or `spdx` (2.3).
    pub fn sbom(&self, format: SbomFormat, tool_version: &str) -> serde_json::Value {
        let subject = buildledger_sbom::ExportSubject {
            name: self
                .result
                .image
                .repo_tags
                .first()
                .cloned()
                .unwrap_or_else(|| self.source.clone()),
            digest: self.subject_digest().map(|d| d.to_string()),
            tool_version: tool_version.to_string(),
            created: chrono::Utc::now(),
        };
        let aliases = self.result.aliases();
        let comps: Vec<buildledger_sbom::SbomComponent> = self
            .components()
            .iter()
            .map(|c| buildledger_sbom::SbomComponent {
                name: c
                    .purl
                    .package()
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                version: c.purl.version().map(String::from),
                purl: Some(c.purl.to_string()),
                hashes: c
                    .hashes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                scope: Some(c.scope.as_str().to_string()),
                kind: Some("library".into()),
                licenses: vec![],
                location: c.location.clone(),
                aliases: aliases.get(c.purl.as_str()).cloned().unwrap_or_default(),
            })
            .collect();
        match format {
            SbomFormat::CycloneDx => buildledger_sbom::to_cyclonedx_1_6(&subject, &comps),
            SbomFormat::Spdx => buildledger_sbom::to_spdx_2_3(&subject, &comps),
        }
    }

    /// Store the scan's record and the image's layer chain in one
    /// transaction. Only for a scan made with `record`.
    pub fn store(&self, store: &mut Store) -> Result<Recorded> {
        let rec = self
            .record
            .as_ref()
            .ok_or_else(|| Error::internal("scan was not made to be recorded"))?;
        let d = rec.subjects[0].digest.to_string();
        let layers = &self.result.image.diff_ids;
        let trust = rec.trust.state.as_str();
        let go = self.result.go_binaries();
        let go: Vec<NewGoBinary<'_>> = go
            .iter()
            .map(|b| NewGoBinary {
                path: b.path,
                goos: b.goos,
                goarch: b.goarch,
                modules: b.modules.clone(),
                symbols: b
                    .symbols
                    .map(|s| (b.format.unwrap_or("unknown"), s.inline_trees, &s.packages)),
                error: b.error,
            })
            .collect();
        let (id, delta) = buildledger_rules::record_with(store, rec, &mut |s, _| {
            if !layers.is_empty() {
                s.set_layers(&d, layers)?;
            }
            // A new scan replaces what an earlier one read of the image's
            // Go executables (and so re-reads binaries indexed before
            // function tables were kept).
            s.set_go_binaries(&d, trust, &go)
        })?;
        Ok(Recorded::new(id, delta.added, self.source.clone(), rec))
    }
}

/// SBOM output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// What `sbom import` recorded: its JSON.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct SbomImported {
    /// Id of the stored record.
    pub record_id: i64,
    /// The image digest it describes.
    pub digest: Digest,
    /// Components recorded.
    pub components: usize,
    /// Components without a versioned purl, not recorded.
    pub skipped: usize,
    /// Findings the new components added.
    pub findings_added: u64,
    /// What the SBOM parser warned about.
    pub warnings: Vec<String>,
}

/// A parsed SBOM as a build record (origin `sbom`, trust `unverified`), and
/// how many components it had to skip.
pub fn sbom_record(
    bytes: &[u8],
    name: &str,
    digest: Option<&str>,
) -> Result<(BuildRecord, usize, Vec<String>)> {
    let sbom = buildledger_sbom::detect_and_parse(bytes, name)
        .map_err(|e| Error::bad_input(e.to_string()).at(name.to_string()))?;
    let digest = match digest.map(String::from).or(sbom.subject_digest.clone()) {
        Some(d) => Digest::parse(&d).map_err(|e| Error::bad_field("--digest", e.message))?,
        None => {
            return Err(Error::bad_input(format!(
                "{name}: the SBOM names no image digest; pass --digest"
            ))
            .at("--digest"));
        }
    };
    let mut skipped = 0;
    let mut comps = Vec::new();
    for c in &sbom.components {
        let Some(purl) = c
            .purl
            .as_deref()
            .and_then(|p| Purl::parse(p).ok())
            .filter(|p| p.version().is_some())
        else {
            skipped += 1;
            continue;
        };
        let scope = match c.scope.as_deref() {
            Some("build") | Some("excluded") => Scope::Build,
            _ => Scope::Runtime,
        };
        comps.push(Component {
            purl,
            hashes: c.hashes.iter().cloned().collect(),
            scope,
            location: c.location.clone(),
        });
    }
    comps.sort_by(|a, b| a.purl.cmp(&b.purl));
    comps.dedup_by(|a, b| a.purl == b.purl);
    let mut rec = BuildRecord::new(vec![Subject {
        digest,
        media_type: None,
        platform: None,
        references: vec![],
        manifests: vec![],
    }]);
    rec.origin = Origin::Sbom;
    rec.components = comps;
    rec.labels.insert(
        "sbom.format".into(),
        format!("{:?} {}", sbom.format, sbom.spec_version).to_lowercase(),
    );
    Ok((rec, skipped, sbom.warnings))
}

/// Read an SBOM file within its limit (the SBOM is parsed before the
/// ledger is touched).
pub fn read_sbom(
    file: &Path,
    digest: Option<&str>,
    settings: &Settings,
) -> Result<(BuildRecord, usize, Vec<String>)> {
    let name = file.display().to_string();
    let bytes = settings.read(file, limits::SBOM)?;
    sbom_record(&bytes, &name, digest)
}

/// Store a record made by [`sbom_record`].
pub fn import_sbom(
    store: &mut Store,
    rec: &BuildRecord,
    skipped: usize,
    warnings: Vec<String>,
) -> Result<SbomImported> {
    let (id, delta) = buildledger_rules::record(store, rec)?;
    Ok(SbomImported {
        record_id: id,
        digest: rec.subjects[0].digest.clone(),
        components: rec.components.len(),
        skipped,
        findings_added: delta.added,
        warnings,
    })
}

/// Why a scan submitted by a client is not `observed`.
pub const CLIENT_SCAN_REASON: &str =
    "scanned by a client and submitted, not indexed by this ledger: a claim, not an observation";

/// Record a scan a client ran and submitted (`POST /api/v1/scans`, `scan
/// --record --server`): the document is a build record as `scan` makes it;
/// the ledger stores it as `indexer`/`unverified`, never `observed`, and
/// does not take its layer chain (lineage stays what this ledger indexed).
pub fn record_client_scan(store: &mut Store, bytes: &[u8], name: &str) -> Result<Recorded> {
    let mut recs = crate::record::parse_records(bytes, name)?;
    if recs.len() != 1 {
        return Err(Error::bad_field(name, "a scan is one record, not an array"));
    }
    let mut rec = recs.remove(0);
    rec.origin = Origin::Indexer;
    rec.trust = buildledger_model::Trust {
        state: buildledger_model::TrustState::Unverified,
        key_id: None,
        reason: Some(CLIENT_SCAN_REASON.into()),
    };
    rec.validate()
        .map_err(|e| Error::bad_input(e.to_string()).at(format!("{name}: {}", e.field)))?;
    crate::record::record(store, &rec, name)
}
