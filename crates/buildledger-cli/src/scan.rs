//! `scan`, `lineage` and `sbom import`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use buildledger_model::{BuildRecord, Component, Digest, Origin, Purl, Scope, Subject};

use crate::output::{Table, print_json};
use crate::{CliError, Result};

#[derive(clap::Args)]
pub struct ScanArgs {
    /// oci:DIR[:REF], docker-archive:FILE, registry:HOST/REPO[:TAG|@DIGEST], dir:PATH or file:PATH.
    source: String,
    /// Store what was found in the ledger (origin indexer, trust observed).
    #[arg(long)]
    record: bool,
    /// Output: table, json, cyclonedx (1.6 JSON) or spdx (2.3 JSON).
    #[arg(long, default_value = "table")]
    format: String,
    /// Platform to pick from a multi-arch index (os/arch[/variant]).
    #[arg(long)]
    platform: Option<String>,
    /// Plain HTTP to the registry (loopback registries in tests).
    #[arg(long)]
    insecure: bool,
    /// Digest to record a dir: or file: source under (they have none of their own).
    #[arg(long)]
    digest: Option<String>,
    /// Most bytes decompressed from all layers of the image (K/M/G/T suffixes).
    #[arg(long, env = "BUILDLEDGER_SCAN_MAX_IMAGE_BYTES", value_name = "SIZE", value_parser = size_arg)]
    max_image_bytes: Option<u64>,
    /// Largest file whose content is examined; larger wanted files make the scan incomplete.
    #[arg(long, env = "BUILDLEDGER_SCAN_MAX_FILE_BYTES", value_name = "SIZE", value_parser = size_arg)]
    max_file_bytes: Option<u64>,
    /// Most bytes held in memory at once (remembered paths, package databases, the executable being read).
    #[arg(long, env = "BUILDLEDGER_SCAN_MAX_BUFFERED_BYTES", value_name = "SIZE", value_parser = size_arg)]
    max_buffered_bytes: Option<u64>,
    /// Most tar entries over all layers (files of a dir: tree).
    #[arg(long, env = "BUILDLEDGER_SCAN_MAX_ENTRIES", value_name = "N")]
    max_entries: Option<u64>,
    /// Largest decompressed/compressed ratio of a layer (checked after 64 MiB).
    #[arg(long, env = "BUILDLEDGER_SCAN_MAX_RATIO", value_name = "N")]
    max_ratio: Option<u64>,
    /// Longest a scan may take, network included (e.g. 90s, 30m, 2h; plain numbers are seconds).
    #[arg(long, env = "BUILDLEDGER_SCAN_MAX_TIME", value_name = "DURATION", value_parser = duration_arg)]
    max_time: Option<std::time::Duration>,
}

fn size_arg(s: &str) -> std::result::Result<u64, String> {
    buildledger_input::parse_size(s)
        .ok_or_else(|| format!("{s:?}: expected a size in bytes, e.g. 16777216, 512M or 2G"))
}

fn duration_arg(s: &str) -> std::result::Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{s:?}: expected a duration, e.g. 90s, 30m or 2h"))
}

/// The flag and the environment variable that set a limit.
pub fn limit_knobs(kind: buildledger_image::LimitKind) -> (&'static str, &'static str) {
    use buildledger_image::LimitKind as K;
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

impl ScanArgs {
    fn limits(&self) -> buildledger_image::Limits {
        let mut l = buildledger_image::Limits::default();
        if let Some(v) = self.max_image_bytes {
            l.max_image_bytes = v;
        }
        if let Some(v) = self.max_file_bytes {
            l.max_file_bytes = v;
        }
        if let Some(v) = self.max_buffered_bytes {
            l.max_buffered_bytes = v;
        }
        if let Some(v) = self.max_entries {
            l.max_entries = v;
        }
        if let Some(v) = self.max_ratio {
            l.max_ratio = v;
        }
        if let Some(v) = self.max_time {
            l.max_time = v;
        }
        l
    }
}

/// A failed scan as a CLI error: environment failures (registry
/// unreachable, disk) exit 1, everything about the image itself exits 2; an
/// exceeded limit says how to raise it.
fn scan_error(source: &str, e: buildledger_scan::ScanError) -> CliError {
    let buildledger_scan::ScanError::Image(e) = e;
    if let Some(l) = e.limit() {
        let (flag, var) = limit_knobs(l.kind);
        return CliError::input(format!(
            "{source}: scan limit exceeded: {l}; nothing was recorded. Raise it with {flag} or {var}"
        ));
    }
    if e.is_runtime() {
        CliError::runtime(format!("{source}: {e}"))
    } else {
        CliError::input(format!("{source}: {e}"))
    }
}

/// Terminal progress: one line per layer with bytes read.
struct Bar {
    on: bool,
    total: usize,
    idx: usize,
    bytes: u64,
    last: std::time::Instant,
}

impl buildledger_image::Progress for Bar {
    fn layer_started(&mut self, idx: usize, total: usize, digest: &str, size: u64) {
        self.idx = idx;
        self.total = total;
        self.bytes = 0;
        if self.on {
            let short: String = digest.chars().take(19).collect();
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[Klayer {}/{} {short} ({} MB)",
                idx + 1,
                total,
                size / 1_000_000
            );
        }
    }
    fn bytes(&mut self, n: u64) {
        self.bytes += n;
        if self.on && self.last.elapsed().as_millis() > 100 {
            self.last = std::time::Instant::now();
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[Klayer {}/{}: {} MB read",
                self.idx + 1,
                self.total,
                self.bytes / 1_000_000
            );
        }
    }
    fn layer_done(&mut self, _idx: usize) {}
}

pub fn scan(db: &Option<String>, a: ScanArgs, json: bool) -> Result<u8> {
    let spec = buildledger_image::parse_source(&a.source)
        .map_err(|e| CliError::input(format!("{}: {e}", a.source)))?;
    let digest = match &a.digest {
        Some(d) => Some(
            Digest::parse(d).map_err(|e| CliError::input(format!("--digest: {}", e.message)))?,
        ),
        None => None,
    };
    let format = if json {
        "json".to_string()
    } else {
        a.format.clone()
    };
    if !matches!(format.as_str(), "json" | "cyclonedx" | "spdx" | "table") {
        return Err(CliError::input(format!(
            "--format {format:?}: expected table, json, cyclonedx or spdx"
        )));
    }
    let opts = buildledger_image::OpenOptions {
        platform: a.platform.clone(),
        insecure: a.insecure,
        username: std::env::var("BUILDLEDGER_REGISTRY_USER").ok(),
        password: std::env::var("BUILDLEDGER_REGISTRY_PASSWORD").ok(),
        limits: a.limits(),
        ..Default::default()
    };
    let mut bar = Bar {
        on: std::io::stderr().is_terminal(),
        total: 0,
        idx: 0,
        bytes: 0,
        last: std::time::Instant::now(),
    };
    let t0 = std::time::Instant::now();
    let res = buildledger_scan::scan(&spec, &opts, &mut bar);
    if bar.on {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    let res = res.map_err(|e| scan_error(&a.source, e))?;
    for w in &res.warnings {
        eprintln!(
            "warning: {}{}{}{}",
            if w.skipped { "(not examined) " } else { "" },
            w.layer
                .as_deref()
                .map(|l| format!("layer {l}: "))
                .unwrap_or_default(),
            w.path
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default(),
            w.message
        );
    }
    // Decided before anything is printed: a result that cannot be recorded
    // (something skipped, no digest) fails the command and stores nothing.
    let record = if a.record {
        match res.to_record(digest.as_ref()) {
            Ok(r) => Some(r),
            Err(buildledger_scan::RecordError::NoDigest) => {
                return Err(CliError::input(format!(
                    "{}: no image digest to record under; pass --digest",
                    a.source
                )));
            }
            Err(e) => {
                let hint = if res.skipped().any(|w| w.message.contains("max_file_bytes")) {
                    " (a file was larger than max_file_bytes: raise it with --max-file-bytes or BUILDLEDGER_SCAN_MAX_FILE_BYTES)"
                } else {
                    ""
                };
                return Err(CliError::input(format!(
                    "{}: {e}; nothing was recorded{hint}",
                    a.source
                )));
            }
        }
    } else {
        None
    };
    let comps = res.components();
    let subject_name = res
        .image
        .repo_tags
        .first()
        .cloned()
        .unwrap_or_else(|| a.source.clone());
    let subject = buildledger_sbom::ExportSubject {
        name: subject_name,
        digest: res.subject_digest(digest.as_ref()).map(|d| d.to_string()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created: chrono::Utc::now(),
    };
    let sbom_comps: Vec<buildledger_sbom::SbomComponent> = comps
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
        })
        .collect();
    match format.as_str() {
        "json" => print_json(&serde_json::json!({"scan": res.to_json(), "components": comps}))?,
        "cyclonedx" => print_json(&buildledger_sbom::to_cyclonedx_1_6(&subject, &sbom_comps))?,
        "spdx" => print_json(&buildledger_sbom::to_spdx_2_3(&subject, &sbom_comps))?,
        "table" => {
            let mut t = Table::new(&["COMPONENT", "VERSION", "SCOPE", "LOCATION"]);
            for c in &comps {
                t.row(vec![
                    c.purl.package().to_string(),
                    c.purl.version().unwrap_or("").to_string(),
                    c.scope.as_str().to_string(),
                    c.location.clone().unwrap_or_default(),
                ]);
            }
            t.print(crate::output::Format::Table)?;
            let os = res
                .os
                .as_ref()
                .map(|o| format!("{} {}", o.id, o.version_id.clone().unwrap_or_default()));
            eprintln!(
                "{}: {} components ({} OS packages, {} binaries with build info){}; {} entries, {} MB in {:.2}s",
                subject.digest.as_deref().unwrap_or(&a.source),
                comps.len(),
                res.packages.len(),
                res.binaries.len(),
                os.map(|o| format!(", {o}")).unwrap_or_default(),
                res.entries,
                res.bytes / 1_000_000,
                t0.elapsed().as_secs_f64()
            );
        }
        _ => unreachable!("format checked above"),
    }
    if let Some(rec) = record {
        // The record and the image's layer chain commit together.
        let mut store = crate::open_store(db)?;
        let d = rec.subjects[0].digest.to_string();
        let layers = &res.image.diff_ids;
        let (id, delta) = buildledger_rules::record_with(&mut store, &rec, &mut |s, _| {
            if layers.is_empty() {
                Ok(())
            } else {
                s.set_layers(&d, layers)
            }
        })
        .map_err(|e| CliError::runtime(e.to_string()))?;
        eprintln!(
            "recorded {d} as record {id} (indexer, {}); {} new finding(s)",
            rec.trust.state.as_str(),
            delta.added
        );
        if let Some(why) = &rec.trust.reason {
            eprintln!("note: not counted as observed: {why}");
        }
    }
    Ok(0)
}

pub fn lineage(db: &Option<String>, digest: &str, json: bool) -> Result<u8> {
    let d = Digest::parse(digest).map_err(|e| CliError::input(format!("digest: {}", e.message)))?;
    let mut store = crate::open_store(db)?;
    let layers = store.layers(d.as_str())?;
    if layers.is_empty() {
        return Err(CliError::runtime(format!(
            "{d} has no indexed layers (scan it with --record first)"
        )));
    }
    let anc = store.lineage(d.as_str())?;
    if json {
        print_json(&serde_json::json!({"digest": d, "layers": layers.len(), "bases": anc}))?;
    } else {
        let mut t = Table::new(&["BASE", "SHARED LAYERS", "REFERENCES"]);
        for a in &anc {
            t.row(vec![
                a.digest.clone(),
                format!("{}/{}", a.layers, layers.len()),
                a.references.join(" "),
            ]);
        }
        t.print(crate::output::Format::Table)?;
        if anc.is_empty() {
            eprintln!("no indexed image is a base of {d}");
        }
    }
    Ok(0)
}

#[derive(clap::Subcommand)]
pub enum SbomCommand {
    /// Record the components of a CycloneDX (1.4–1.6) or SPDX 2.3 JSON SBOM for an image digest.
    Import {
        /// The SBOM file.
        file: PathBuf,
        /// Image digest it describes (default: the digest the SBOM names).
        #[arg(long)]
        digest: Option<String>,
    },
}

/// Environment variable with the largest SBOM `sbom import` reads.
pub const SBOM_LIMIT_VAR: &str = "BUILDLEDGER_MAX_SBOM_BYTES";
/// Default of [`SBOM_LIMIT_VAR`]: 256 MiB.
pub const DEFAULT_MAX_SBOM_BYTES: u64 = 256 << 20;

pub fn sbom(db: &Option<String>, cmd: SbomCommand, json: bool) -> Result<u8> {
    let SbomCommand::Import { file, digest } = cmd;
    let name = file.display().to_string();
    let max = buildledger_input::limit_from_env(SBOM_LIMIT_VAR, DEFAULT_MAX_SBOM_BYTES)
        .map_err(CliError::input)?;
    let bytes = buildledger_input::read_file(&file, max).map_err(|e| {
        CliError::input(
            e.with_hint(&format!("SBOM limit; raise it with {SBOM_LIMIT_VAR}"))
                .to_string(),
        )
    })?;
    let sbom = buildledger_sbom::detect_and_parse(&bytes, &name)
        .map_err(|e| CliError::input(e.to_string()))?;
    let digest = match digest.or(sbom.subject_digest.clone()) {
        Some(d) => {
            Digest::parse(&d).map_err(|e| CliError::input(format!("--digest: {}", e.message)))?
        }
        None => {
            return Err(CliError::input(format!(
                "{name}: the SBOM names no image digest; pass --digest"
            )));
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
        let hashes = c.hashes.iter().cloned().collect();
        comps.push(Component {
            purl,
            hashes,
            scope,
            location: c.location.clone(),
        });
    }
    comps.sort_by(|a, b| a.purl.cmp(&b.purl));
    comps.dedup_by(|a, b| a.purl == b.purl);
    let mut rec = BuildRecord::new(vec![Subject {
        digest: digest.clone(),
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
    let mut store = crate::open_store(db)?;
    let (id, delta) = buildledger_rules::record(&mut store, &rec)
        .map_err(|e| CliError::runtime(e.to_string()))?;
    if json {
        print_json(
            &serde_json::json!({"record_id": id, "digest": digest, "components": rec.components.len(), "skipped": skipped, "findings_added": delta.added, "warnings": sbom.warnings}),
        )?;
    } else {
        println!(
            "recorded {} components from {name} for {digest} as record {id}{}",
            rec.components.len(),
            if skipped > 0 {
                format!(" ({skipped} without a versioned purl skipped)")
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}
