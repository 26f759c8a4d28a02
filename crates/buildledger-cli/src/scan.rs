//! `scan`, `lineage` and `sbom import`: flags to the application layer's
//! indexing use cases, and their results rendered (table, JSON, CycloneDX, SPDX).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use buildledger_service::scan::{self as svc, SbomFormat, ScanRequest};

use crate::output::{Table, print_json};
use crate::{CliError, Result, open_store, settings};

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
    buildledger_service::types::parse_size(s)
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

impl ScanArgs {
    /// Whether the scan is stored (`--record`).
    pub fn records(&self) -> bool {
        self.record
    }

    fn limits(&self) -> buildledger_service::types::ScanLimits {
        let mut l = buildledger_service::types::ScanLimits::default();
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

/// Terminal progress: one line per layer with bytes read.
struct Bar {
    on: bool,
    total: usize,
    idx: usize,
    bytes: u64,
    last: std::time::Instant,
}

impl buildledger_service::types::ScanProgress for Bar {
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
    let format = if json {
        "json".to_string()
    } else {
        a.format.clone()
    };
    let req = ScanRequest {
        source: a.source.clone(),
        digest: a.digest.clone(),
        record: a.record,
        platform: a.platform.clone(),
        insecure: a.insecure,
        username: std::env::var(buildledger_service::types::REGISTRY_USER_VAR).ok(),
        password: std::env::var(buildledger_service::types::REGISTRY_PASSWORD_VAR).ok(),
        limits: a.limits(),
    };
    svc::check_request(&req)?;
    if !matches!(format.as_str(), "json" | "cyclonedx" | "spdx" | "table") {
        return Err(CliError::input(format!(
            "--format {format:?}: expected table, json, cyclonedx or spdx"
        )));
    }
    let mut bar = Bar {
        on: std::io::stderr().is_terminal(),
        total: 0,
        idx: 0,
        bytes: 0,
        last: std::time::Instant::now(),
    };
    let res = svc::scan(&req, &mut bar);
    if bar.on {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    // A result that cannot be recorded (something skipped, no digest) has
    // failed here already, before anything is printed.
    let scanned = res?;
    for w in &scanned.result.warnings {
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
    let version = env!("CARGO_PKG_VERSION");
    match format.as_str() {
        "json" => print_json(&scanned.to_json())?,
        "cyclonedx" => print_json(&scanned.sbom(SbomFormat::CycloneDx, version))?,
        "spdx" => print_json(&scanned.sbom(SbomFormat::Spdx, version))?,
        _ => {
            let comps = scanned.components();
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
            let res = &scanned.result;
            let os = res
                .os
                .as_ref()
                .map(|o| format!("{} {}", o.id, o.version_id.clone().unwrap_or_default()));
            eprintln!(
                "{}: {} components ({} OS packages, {} language packages{}, {} binaries with build info){}; {} entries, {} MB in {:.2}s",
                scanned
                    .subject_digest()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| a.source.clone()),
                comps.len(),
                res.packages.len(),
                res.languages.len(),
                match res.os_owned_languages.len() {
                    0 => String::new(),
                    n => format!(" (+{n} installed by OS packages, counted as those)"),
                },
                res.binaries.len(),
                os.map(|o| format!(", {o}")).unwrap_or_default(),
                res.entries,
                res.bytes / 1_000_000,
                scanned.seconds
            );
        }
    }
    if let Some(rec) = &scanned.record {
        let r = match crate::remote::remote() {
            // Through a server the scan is a client's claim: the server
            // stores it as unverified, without the layer chain.
            Some(remote) => remote.post_record("/api/v1/scans", rec)?,
            // The record and the image's layer chain commit together.
            None => scanned.store(&mut open_store(db)?)?,
        };
        eprintln!(
            "recorded {} as record {} (indexer, {}); {} new finding(s)",
            r.subjects.join(", "),
            r.record_id,
            r.trust,
            r.findings_added
        );
        if let Some(why) = &r.trust_reason {
            eprintln!("note: not counted as observed: {why}");
        }
    }
    Ok(0)
}

pub fn lineage(db: &Option<String>, digest: &str, json: bool) -> Result<u8> {
    let d = buildledger_service::reads::parse_digest(digest, "digest")?;
    let l = match crate::remote::remote() {
        Some(r) => r.get(
            &format!("{}/lineage", crate::remote::Remote::image_path(&d)),
            &[],
        )?,
        None => buildledger_service::reads::lineage(&mut open_store(db)?, &d)?,
    };
    if json {
        print_json(&l)?;
    } else {
        let mut t = Table::new(&["BASE", "SHARED LAYERS", "REFERENCES"]);
        for a in &l.bases {
            t.row(vec![
                a.digest.clone(),
                format!("{}/{}", a.layers, l.layers),
                a.references.join(" "),
            ]);
        }
        t.print(crate::output::Format::Table)?;
        if l.bases.is_empty() {
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

pub fn sbom(db: &Option<String>, cmd: SbomCommand, json: bool) -> Result<u8> {
    let SbomCommand::Import { file, digest } = cmd;
    // Parsed and checked before the ledger (or the server) is touched.
    let (rec, skipped, warnings) = svc::read_sbom(&file, digest.as_deref(), &settings())?;
    let r = match crate::remote::remote() {
        Some(remote) => {
            let bytes = settings().read(&file, buildledger_service::limits::SBOM)?;
            let q = vec![("digest", rec.subjects[0].digest.to_string())];
            remote.post("/api/v1/sboms", &q, bytes)?
        }
        None => svc::import_sbom(&mut open_store(db)?, &rec, skipped, warnings)?,
    };
    if json {
        print_json(&r)?;
    } else {
        println!(
            "recorded {} components from {} for {} as record {}{}",
            r.components,
            file.display(),
            r.digest,
            r.record_id,
            if skipped > 0 {
                format!(" ({skipped} without a versioned purl skipped)")
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}
