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
//!
//! # A feed in parts
//!
//! Each file is one part, its *scope* `Alpine:<distroversion>/<reponame>` ([`scope_of`]); a load
//! lists the scopes it read in [`LoadReport::scopes`](crate::LoadReport). Loading one file gives
//! advisories with only that part's entries, so an importer must replace, for each advisory,
//! only the entries of the scopes loaded and keep the rest (see `buildledger_rules::import`).
//! [`canonicalize`] puts entries in one order so that the same content hashes alike however it
//! was assembled.
//!
//! # Limits
//!
//! A file is read only if it is a regular file, up to the loader's byte limit; the YAML parser
//! refuses alias expansion past its repetition limit (an alias "bomb" of a few KiB fails in
//! milliseconds, see the tests) and nesting past its recursion limit; a version longer than [`MAX_VERSION_LEN`](crate::MAX_VERSION_LEN) or an id longer
//! than [`MAX_ID_LEN`](crate::MAX_ID_LEN) is reported and skipped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use crate::model::{Advisory, Affected, Event, FeedError, LoadReport, Range, RangeKind};
use crate::osv::{MAX_ID_LEN, MAX_VERSION_LEN};

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

/// The part of the secdb an `Affected` entry came from: `Alpine:v3.10/main`. `None` for an
/// entry this reader did not produce.
pub fn scope_of(a: &Affected) -> Option<String> {
    if !a.ecosystem.starts_with("Alpine:") {
        return None;
    }
    let repo = a.database_specific.as_ref()?.get("repo")?.as_str()?;
    Some(format!("{}/{repo}", a.ecosystem))
}

/// Put an alpine-secdb advisory's entries in their one canonical order (by scope, package,
/// fix version) and recompute its content hash.
pub fn canonicalize(adv: &mut Advisory) {
    adv.affected.sort_by_cached_key(|a| {
        (
            scope_of(a).unwrap_or_default(),
            a.name.clone(),
            serde_json::to_string(a).unwrap_or_default(),
        )
    });
    adv.content_hash = crate::content_hash(adv);
}

/// Loads an Alpine secdb file, or every `*.yaml`/`*.yml`/`*.json` file under a directory
/// (recursively, in path order), into advisories shaped as described in the [module
/// docs](self), with the default [`Limits`](crate::Limits). A file that does not parse, or lacks
/// `distroversion`, is reported and skipped; a package entry without a name is reported and
/// skipped. `Err` only when `path` cannot be read.
pub fn load_alpine_secdb(path: &Path) -> std::io::Result<LoadReport> {
    crate::load_paths(
        &[path.to_path_buf()],
        crate::Format::AlpineSecdb,
        &crate::Limits::default(),
        &mut |_| {},
    )
}

/// Whether a JSON document looks like a secdb file rather than an OSV record (auto-detection):
/// a top-level `distroversion` and no `id`.
pub(crate) fn looks_like_secdb_json(bytes: &[u8]) -> bool {
    const KEY: &[u8] = b"\"distroversion\"";
    if !bytes.windows(KEY.len()).any(|w| w == KEY) {
        return false;
    }
    #[derive(Deserialize)]
    struct Sniff {
        id: Option<serde::de::IgnoredAny>,
        distroversion: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Sniff>(bytes)
        .is_ok_and(|s| s.id.is_none() && s.distroversion.is_some())
}

/// One secdb file, parsed: its scope and its (vulnerability id, entry) pairs.
pub(crate) struct SecdbFile {
    pub(crate) scope: String,
    pub(crate) entries: Vec<(String, Affected)>,
    pub(crate) errors: Vec<FeedError>,
}

/// Deepest `[`/`{` nesting accepted in a secdb YAML file (real ones nest 4).
const MAX_YAML_DEPTH: usize = 128;

/// Parses one secdb file (YAML, or JSON when `is_json`).
pub(crate) fn parse_secdb(
    bytes: &[u8],
    is_json: bool,
    location: &str,
) -> Result<SecdbFile, FeedError> {
    let fail = |message: String| FeedError {
        location: location.to_string(),
        id: None,
        message,
    };
    let parsed: Result<RawSecdb, String> = if is_json {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    } else if buildledger_input::flow_depth_exceeds(bytes, MAX_YAML_DEPTH) {
        // YAML parsing is quadratic in flow nesting: refuse absurd depth first.
        Err(format!("nested deeper than {MAX_YAML_DEPTH} levels"))
    } else {
        serde_yaml_ng::from_slice(bytes).map_err(|e| e.to_string())
    };
    let db = parsed.map_err(|e| fail(format!("invalid secdb: {e}")))?;
    let Some(release) = db.distroversion.filter(|d| !d.trim().is_empty()) else {
        return Err(fail("missing \"distroversion\"".to_string()));
    };
    let ecosystem = format!("Alpine:{}", release.trim());
    let repo = db.reponame.unwrap_or_default();
    let mut out = SecdbFile {
        scope: format!("{ecosystem}/{repo}"),
        entries: Vec::new(),
        errors: Vec::new(),
    };
    for (i, entry) in db.packages.unwrap_or_default().into_iter().enumerate() {
        let Some(pkg) = entry.pkg else {
            out.errors
                .push(fail(format!("packages[{i}] has no \"pkg\"")));
            continue;
        };
        let Some(name) = pkg.name.filter(|n| !n.trim().is_empty()) else {
            out.errors
                .push(fail(format!("packages[{i}].pkg has no \"name\"")));
            continue;
        };
        if name.len() > MAX_ID_LEN {
            out.errors.push(fail(format!(
                "packages[{i}].pkg.name is {} bytes, more than {MAX_ID_LEN}",
                name.len()
            )));
            continue;
        }
        for (version, ids) in pkg.secfixes.unwrap_or_default() {
            let version = version.trim().to_string();
            if version.len() > MAX_VERSION_LEN {
                out.errors.push(fail(format!(
                    "packages[{i}] ({name}): secfix version of {} bytes, more than {MAX_VERSION_LEN}",
                    version.len()
                )));
                continue;
            }
            for id in ids
                .unwrap_or_default()
                .iter()
                .flat_map(|s| s.split_whitespace())
            {
                if id.len() > MAX_ID_LEN {
                    out.errors.push(fail(format!(
                        "packages[{i}] ({name}) {version}: id of {} bytes, more than {MAX_ID_LEN}",
                        id.len()
                    )));
                    continue;
                }
                out.entries.push((
                    id.to_string(),
                    affected_for(&ecosystem, &name, &repo, &version),
                ));
            }
        }
    }
    Ok(out)
}

/// The advisories of the entries collected from secdb files, by vulnerability id.
pub(crate) fn build_advisories(by_id: BTreeMap<String, Vec<Affected>>) -> Vec<Advisory> {
    by_id
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
            canonicalize(&mut adv);
            adv
        })
        .collect()
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
