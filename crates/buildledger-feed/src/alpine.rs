//! Alpine secdb reader (`secdb.alpinelinux.org` / alpine-secdb `vX.Y/{main,community}.yaml`).
//!
//! A secdb file lists, per Alpine release (`distroversion`) and repository (`reponame`), the
//! packages whose builds fixed vulnerabilities: `packages[].pkg.secfixes` maps a package version
//! (`1.1.22-r3`) to the ids it fixed (`CVE-2019-14697`). Files may be YAML (`.yaml`, `.yml`) or
//! JSON (`.json`).
//!
//! # Shape produced
//!
//! * **One [`Advisory`] per vulnerability id** across everything loaded, with id
//!   `ALPINE-<id>` (the form OSV uses for Alpine records, e.g. `ALPINE-CVE-2019-14697`),
//!   `aliases: [<id>]`, `source: "alpine-secdb"`, no dates. Advisories come out sorted by id.
//! * **One [`Affected`] per (release, package, fix version)** that lists the id: ecosystem
//!   `Alpine:<distroversion>` (e.g. `Alpine:v3.10`), name = the package name, one ECOSYSTEM range
//!   `introduced "0"`, `fixed <version>`. The same id listed under two fix versions of one package
//!   gives two `Affected` entries.
//! * `database_specific` of each `Affected` is `{"secfix": <version>, "repo": <reponame>}`.
//! * **Fix version `"0"`** means "this release's package was never affected". It yields an
//!   `Affected` with **no ranges and no versions** and `database_specific`
//!   `{"secfix": "0", "repo": ..., "not_affected": true}`. [`crate::evaluate`] therefore returns
//!   `NotAffected` for every version of it, and a matcher can tell "explicitly not affected" apart
//!   from "not mentioned" with [`is_explicitly_not_affected`].
//!
//! A secfix entry may hold several whitespace-separated ids on one line; each becomes its own id.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;

use crate::model::{Advisory, Affected, Event, FeedError, LoadReport, Range, RangeKind};
use crate::osv::{MAX_ADVISORY_BYTES, MAX_DIR_DEPTH, MAX_RECORDS};

#[derive(Deserialize)]
struct RawSecdb {
    distroversion: Option<String>,
    reponame: Option<String>,
    packages: Option<Vec<RawPackageEntry>>,
}

#[derive(Deserialize)]
struct RawPackageEntry {
    pkg: Option<RawPkg>,
}

#[derive(Deserialize)]
struct RawPkg {
    name: Option<String>,
    secfixes: Option<BTreeMap<String, Option<Vec<String>>>>,
}

/// True for an `Affected` the Alpine reader emitted for a `"0"` secfix: the package in that
/// release is explicitly not affected by the advisory.
pub fn is_explicitly_not_affected(a: &Affected) -> bool {
    a.database_specific
        .as_ref()
        .and_then(|d| d.get("not_affected"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Loads an Alpine secdb file, or every `*.yaml`/`*.yml`/`*.json` file under a directory
/// (recursively, in path order), into advisories shaped as described in the [module
/// docs](self). A file that does not parse, or lacks `distroversion`, is reported and skipped;
/// a package entry without a name is reported and skipped. `Err` only when `path` cannot be read.
pub fn load_alpine_secdb(path: &Path) -> io::Result<LoadReport> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    if fs::metadata(path)?.is_dir() {
        fs::read_dir(path)?;
        collect(path, 0, &mut files, &mut errors);
        files.sort();
        files.truncate(MAX_RECORDS);
    } else {
        files.push(path.to_path_buf());
    }
    let mut by_id: BTreeMap<String, Vec<Affected>> = BTreeMap::new();
    for file in &files {
        let location = file.display().to_string();
        let fail = |message: String| FeedError {
            location: location.clone(),
            id: None,
            message,
        };
        let mut bytes = Vec::new();
        match File::open(file).and_then(|f| f.take(MAX_ADVISORY_BYTES + 1).read_to_end(&mut bytes))
        {
            Ok(n) if n as u64 > MAX_ADVISORY_BYTES => {
                errors.push(fail(format!(
                    "larger than the {MAX_ADVISORY_BYTES}-byte limit"
                )));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                errors.push(fail(format!("cannot read: {e}")));
                continue;
            }
        }
        let is_json = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed: Result<RawSecdb, String> = if is_json {
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())
        } else {
            serde_yaml_ng::from_slice(&bytes).map_err(|e| e.to_string())
        };
        let db = match parsed {
            Ok(db) => db,
            Err(e) => {
                errors.push(fail(format!("invalid secdb: {e}")));
                continue;
            }
        };
        let Some(release) = db.distroversion.filter(|d| !d.trim().is_empty()) else {
            errors.push(fail("missing \"distroversion\"".to_string()));
            continue;
        };
        let ecosystem = format!("Alpine:{}", release.trim());
        let repo = db.reponame.unwrap_or_default();
        for (i, entry) in db.packages.unwrap_or_default().into_iter().enumerate() {
            let Some(pkg) = entry.pkg else {
                errors.push(fail(format!("packages[{i}] has no \"pkg\"")));
                continue;
            };
            let Some(name) = pkg.name.filter(|n| !n.trim().is_empty()) else {
                errors.push(fail(format!("packages[{i}].pkg has no \"name\"")));
                continue;
            };
            for (version, ids) in pkg.secfixes.unwrap_or_default() {
                let version = version.trim().to_string();
                for id in ids
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|s| s.split_whitespace())
                {
                    by_id
                        .entry(id.to_string())
                        .or_default()
                        .push(affected_for(&ecosystem, &name, &repo, &version));
                }
            }
        }
    }
    let advisories = by_id
        .into_iter()
        .map(|(vuln, affected)| {
            let mut adv = Advisory {
                id: format!("ALPINE-{vuln}"),
                modified: None,
                published: None,
                withdrawn: None,
                aliases: vec![vuln],
                related: Vec::new(),
                summary: None,
                details: None,
                severity: Vec::new(),
                affected,
                references: Vec::new(),
                source: "alpine-secdb".to_string(),
                database_specific: None,
                content_hash: String::new(),
            };
            adv.content_hash = crate::content_hash(&adv);
            adv
        })
        .collect();
    Ok(LoadReport { advisories, errors })
}

fn affected_for(ecosystem: &str, name: &str, repo: &str, version: &str) -> Affected {
    let (ranges, db) = if version == "0" {
        (
            Vec::new(),
            json!({"secfix": version, "repo": repo, "not_affected": true}),
        )
    } else {
        (
            vec![Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events: vec![
                    Event::Introduced("0".to_string()),
                    Event::Fixed(version.to_string()),
                ],
            }],
            json!({"secfix": version, "repo": repo}),
        )
    };
    Affected {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        purl: None,
        ranges,
        versions: Vec::new(),
        severity: Vec::new(),
        ecosystem_specific: None,
        database_specific: Some(db),
    }
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, errors: &mut Vec<FeedError>) {
    if depth > MAX_DIR_DEPTH {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(FeedError {
                location: dir.display().to_string(),
                id: None,
                message: format!("cannot list: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        if out.len() > MAX_RECORDS {
            return;
        }
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            collect(&path, depth + 1, out, errors);
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["yaml", "yml", "json"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        }) {
            out.push(path);
        }
    }
}
