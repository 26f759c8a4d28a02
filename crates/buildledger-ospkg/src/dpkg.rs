//! Debian `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*` (deb822 paragraphs).

use crate::apk::truncate;
use crate::{MAX_PACKAGES, OsPackage, OsPkgError, PkgEcosystem, check_size};

const FORMAT: &str = "dpkg status";

/// Parse a dpkg status file (or one `status.d/*` file, which has the same syntax).
///
/// Paragraphs are separated by blank lines; fields are `Name: value` with continuation lines
/// starting with a space or tab. Only installed packages are returned: a paragraph whose
/// `Status:` third word is `installed` (`install ok installed`, `hold ok installed`, …); a
/// paragraph without `Status:` (distroless `status.d` files) counts as installed. `Source: foo
/// (1.2-3)` gives `source_name` `foo` and `source_version` `1.2-3`; with no `Source:` the source is
/// the package itself (as `dpkg-query -f '${source:Package}'` reports). `files` stays empty.
///
/// A paragraph of an installed package without `Package:` or `Version:`, or a line that is neither
/// a field nor a continuation, is an error.
pub fn parse_dpkg_status(bytes: &[u8], db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    check_size(FORMAT, db_path, bytes.len())?;
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut para = Paragraph::default();
    let mut last_field: Option<Field> = None;
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            finish(&mut out, std::mem::take(&mut para), db_path)?;
            last_field = None;
            continue;
        }
        if para.first_line == 0 {
            para.first_line = lineno;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            // Continuation of the previous field: only multi-line fields we do not read
            // (Description, Conffiles) have them; a continuation with no field is an error.
            if last_field.is_none() {
                return Err(OsPkgError::malformed(
                    FORMAT,
                    db_path,
                    format!("line {lineno}: continuation line without a field"),
                ));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(OsPkgError::malformed(
                FORMAT,
                db_path,
                format!(
                    "line {lineno}: expected \"Field: value\", got {:?}",
                    truncate(line)
                ),
            ));
        };
        let value = value.trim().to_string();
        let field = match name.to_ascii_lowercase().as_str() {
            "package" => Field::Package,
            "version" => Field::Version,
            "architecture" => Field::Arch,
            "source" => Field::Source,
            "status" => Field::Status,
            "license" => Field::License,
            _ => Field::Other,
        };
        match field {
            Field::Package => para.package = Some(value),
            Field::Version => para.version = Some(value),
            Field::Arch => para.arch = Some(value),
            Field::Source => para.source = Some(value),
            Field::Status => para.status = Some(value),
            Field::License => para.license = Some(value),
            Field::Other => {}
        }
        last_field = Some(field);
    }
    finish(&mut out, para, db_path)?;
    Ok(out)
}

#[derive(Clone, Copy)]
enum Field {
    Package,
    Version,
    Arch,
    Source,
    Status,
    License,
    Other,
}

#[derive(Default)]
struct Paragraph {
    first_line: usize,
    package: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    source: Option<String>,
    status: Option<String>,
    license: Option<String>,
}

fn finish(out: &mut Vec<OsPackage>, p: Paragraph, db_path: &str) -> Result<(), OsPkgError> {
    if p.first_line == 0 {
        return Ok(()); // empty paragraph (consecutive blank lines)
    }
    if let Some(status) = &p.status {
        // "want flag state", e.g. "install ok installed", "deinstall ok config-files".
        if status.split_whitespace().nth(2) != Some("installed") {
            return Ok(());
        }
    }
    let (Some(name), Some(version)) = (p.package, p.version) else {
        return Err(OsPkgError::malformed(
            FORMAT,
            db_path,
            format!(
                "installed package paragraph at line {} lacks Package: or Version:",
                p.first_line
            ),
        ));
    };
    if name.is_empty() || version.is_empty() {
        return Err(OsPkgError::malformed(
            FORMAT,
            db_path,
            format!(
                "paragraph at line {}: empty Package: or Version:",
                p.first_line
            ),
        ));
    }
    let (source_name, source_version) = match p.source.as_deref().map(str::trim) {
        Some(src) if !src.is_empty() => match src.split_once('(') {
            Some((n, rest)) => {
                let v = rest.trim_end().trim_end_matches(')').trim();
                let v = if v.is_empty() {
                    version.clone()
                } else {
                    v.to_string()
                };
                (n.trim().to_string(), v)
            }
            None => (src.to_string(), version.clone()),
        },
        _ => (name.clone(), version.clone()),
    };
    if out.len() >= MAX_PACKAGES {
        return Err(OsPkgError::LimitExceeded {
            what: "dpkg packages",
            db_path: db_path.to_string(),
            count: out.len() + 1,
            limit: MAX_PACKAGES,
        });
    }
    out.push(OsPackage {
        ecosystem: PkgEcosystem::Deb,
        name,
        version,
        arch: p.arch.filter(|a| !a.is_empty()),
        source_name: Some(source_name),
        source_version: Some(source_version),
        epoch: None,
        license: p.license,
        files: Vec::new(),
        db_path: db_path.to_string(),
    });
    Ok(())
}
