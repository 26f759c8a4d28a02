//! Alpine `lib/apk/db/installed`: blank-line separated records of `X:value` lines.

use crate::{MAX_PACKAGES, OsPackage, OsPkgError, PkgEcosystem, check_size};

const FORMAT: &str = "apk installed";

/// Parse Alpine's installed database (`lib/apk/db/installed`).
///
/// Each record becomes one [`OsPackage`] with name `P:`, version `V:`, arch `A:`, origin `o:`
/// (as `source_name`; `source_version` is the package version, apk has no separate one), licence
/// `L:` and files: every `F:` directory and every `R:` file (under the preceding `F:`), as
/// absolute paths. A record without `P:` or `V:`, or a line that is not `X:value`, is an error.
pub fn parse_apk_installed(bytes: &[u8], db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    check_size(FORMAT, db_path, bytes.len())?;
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut cur: Option<Record> = None;
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            if let Some(rec) = cur.take() {
                push_record(&mut out, rec, db_path)?;
            }
            continue;
        }
        let b = line.as_bytes();
        if b.len() < 2 || b[1] != b':' || !b[0].is_ascii_alphanumeric() {
            return Err(OsPkgError::malformed(
                FORMAT,
                db_path,
                format!(
                    "line {lineno}: expected \"X:value\", got {:?}",
                    truncate(line)
                ),
            ));
        }
        let key = b[0];
        let value = &line[2..];
        let rec = cur.get_or_insert_with(|| Record {
            first_line: lineno,
            ..Record::default()
        });
        match key {
            b'P' => rec.name = Some(value.to_string()),
            b'V' => rec.version = Some(value.to_string()),
            b'A' => rec.arch = Some(value.to_string()),
            b'o' => rec.origin = Some(value.to_string()),
            b'L' => rec.license = Some(value.to_string()),
            b'F' => {
                let dir = value.trim_matches('/').to_string();
                rec.files.push(format!("/{dir}"));
                rec.dir = dir;
            }
            b'R' => {
                if value.is_empty() || value.contains('/') {
                    return Err(OsPkgError::malformed(
                        FORMAT,
                        db_path,
                        format!("line {lineno}: bad file name {:?}", truncate(value)),
                    ));
                }
                if rec.dir.is_empty() {
                    rec.files.push(format!("/{value}"));
                } else {
                    rec.files.push(format!("/{}/{value}", rec.dir));
                }
            }
            _ => {}
        }
    }
    if let Some(rec) = cur.take() {
        push_record(&mut out, rec, db_path)?;
    }
    Ok(out)
}

#[derive(Default)]
struct Record {
    first_line: usize,
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    dir: String,
    files: Vec<String>,
}

fn push_record(out: &mut Vec<OsPackage>, rec: Record, db_path: &str) -> Result<(), OsPkgError> {
    let (Some(name), Some(version)) = (rec.name, rec.version) else {
        return Err(OsPkgError::malformed(
            FORMAT,
            db_path,
            format!(
                "record starting at line {} has no P: (name) or V: (version)",
                rec.first_line
            ),
        ));
    };
    if name.is_empty() || version.is_empty() {
        return Err(OsPkgError::malformed(
            FORMAT,
            db_path,
            format!("record starting at line {}: empty P: or V:", rec.first_line),
        ));
    }
    if out.len() >= MAX_PACKAGES {
        return Err(OsPkgError::LimitExceeded {
            what: "apk packages",
            db_path: db_path.to_string(),
            count: out.len() + 1,
            limit: MAX_PACKAGES,
        });
    }
    out.push(OsPackage {
        ecosystem: PkgEcosystem::Apk,
        source_version: Some(version.clone()),
        name,
        version,
        arch: rec.arch,
        source_name: rec.origin,
        epoch: None,
        license: rec.license,
        files: rec.files,
        db_path: db_path.to_string(),
    });
    Ok(())
}

pub(crate) fn truncate(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
