//! Go executables seen by the indexer and their symbol sets, and the Go
//! symbols each advisory names: what symbol-level reachability is computed
//! from (by the rules engine; the store only keeps the facts).
//!
//! A symbol set is stored once however many images hold the same binary
//! (keyed by the SHA-256 of its canonical listing), one row per package so
//! that a check reads only the packages an advisory names.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Result, Store, StoreError, Val, now_ms, placeholders};

/// Whether the vulnerable code of a finding is in the image's Go binaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reachability {
    /// `present` (a symbol the advisory names is in a binary that carries
    /// the module), `absent` (the module is linked, none of the symbols is)
    /// or `unknown` (see `reason`).
    pub state: String,
    /// The symbols found, as `package.Symbol`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    /// The binaries examined (paths in the image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binaries: Vec<String>,
    /// Why the state is `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Trust of the scan that read the binaries: `observed` (the image's
    /// own verified digest) or `unverified` (a file or directory scanned
    /// under a digest its caller named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
}

/// A symbol set to store: package path → symbols.
pub type PackageSymbols = BTreeMap<String, BTreeSet<String>>;

/// One Go executable of a scan, to store.
#[derive(Debug, Clone)]
pub struct NewGoBinary<'a> {
    /// Path in the image.
    pub path: &'a str,
    /// `GOOS` it was built for, when known.
    pub goos: Option<&'a str>,
    /// `GOARCH` it was built for, when known.
    pub goarch: Option<&'a str>,
    /// Purls of the modules (and `stdlib`) it carries.
    pub modules: Vec<String>,
    /// Its symbol set: table layout, whether inlined functions are
    /// included, package → symbols. None when the table could not be read.
    pub symbols: Option<(&'a str, bool, &'a PackageSymbols)>,
    /// Why the table could not be read.
    pub error: Option<&'a str>,
}

/// One Go executable as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoBinaryRow {
    /// Path in the image.
    pub path: String,
    /// `GOOS`, when known.
    pub goos: Option<String>,
    /// `GOARCH`, when known.
    pub goarch: Option<String>,
    /// Purls of the modules it carries.
    pub modules: Vec<String>,
    /// Symbol set id, when the table was read.
    pub set_id: Option<i64>,
    /// Whether the set includes inlined functions.
    pub inline_trees: bool,
    /// Why the table could not be read.
    pub error: Option<String>,
    /// Trust of the scan that read it.
    pub trust: String,
}

fn fingerprint(
    format: &str,
    inline: bool,
    packages: &BTreeMap<String, BTreeSet<String>>,
) -> String {
    let mut h = Sha256::new();
    h.update(format.as_bytes());
    h.update(if inline { b"\x01" } else { b"\x00" });
    for (p, syms) in packages {
        h.update(p.as_bytes());
        h.update(b"\t");
        for s in syms {
            h.update(s.as_bytes());
            h.update(b" ");
        }
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

impl Store {
    /// Replace the Go executables recorded for `digest` (inside a
    /// transaction). `trust` is the scan's: `observed` or `unverified`.
    pub fn set_go_binaries(
        &mut self,
        digest: &str,
        trust: &str,
        binaries: &[NewGoBinary<'_>],
    ) -> Result<()> {
        let iid = self.image_id(digest, None)?;
        self.db.exec(
            "DELETE FROM go_binaries WHERE image_id = ?",
            &[Val::Int(iid)],
        )?;
        let now = now_ms();
        let mut rows: Vec<Val> = Vec::new();
        for b in binaries {
            let set = match b.symbols {
                Some((format, inline, packages)) => {
                    Some(self.go_symbol_set(format, inline, packages)?)
                }
                None => None,
            };
            rows.extend([
                Val::Int(iid),
                b.path.into(),
                b.goos.map(str::to_string).into(),
                b.goarch.map(str::to_string).into(),
                b.modules.join("\n").into(),
                set.into(),
                b.error.map(str::to_string).into(),
                trust.into(),
                Val::Int(now),
            ]);
        }
        self.insert_rows(
            "go_binaries (image_id, path, goos, goarch, modules, set_id, error, trust, scanned_at)",
            9,
            rows,
            "",
        )
    }

    /// The id of the stored set with these symbols, storing it first if new.
    fn go_symbol_set(
        &mut self,
        format: &str,
        inline: bool,
        packages: &BTreeMap<String, BTreeSet<String>>,
    ) -> Result<i64> {
        let fp = fingerprint(format, inline, packages);
        if let Some(id) = self
            .db
            .query(
                "SELECT id FROM go_symbol_sets WHERE fingerprint = ?",
                &[fp.as_str().into()],
            )?
            .first()
            .and_then(|r| r[0].int())
        {
            return Ok(id);
        }
        let total: usize = packages.values().map(BTreeSet::len).sum();
        let id = self
            .db
            .query(
                "INSERT INTO go_symbol_sets (fingerprint, format, inline_trees, symbols)
                 VALUES (?, ?, ?, ?) RETURNING id",
                &[
                    fp.as_str().into(),
                    format.into(),
                    Val::Int(i64::from(inline)),
                    Val::Int(total as i64),
                ],
            )?
            .first()
            .and_then(|r| r[0].int())
            .ok_or_else(|| StoreError::Corrupt("symbol set insert gave no id".into()))?;
        let rows: Vec<Val> = packages
            .iter()
            .flat_map(|(p, syms)| {
                let joined = syms
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" ");
                [Val::Int(id), p.as_str().into(), joined.into()]
            })
            .collect();
        self.insert_rows("go_symbols (set_id, package, symbols)", 3, rows, "")?;
        Ok(id)
    }

    /// The Go executables recorded for `digest`, by path.
    pub fn go_binaries(&mut self, digest: &str) -> Result<Vec<GoBinaryRow>> {
        let rows = self.db.query(
            "SELECT b.path, b.goos, b.goarch, b.modules, b.set_id, s.inline_trees, b.error, b.trust
             FROM go_binaries b
             JOIN images i ON i.id = b.image_id
             LEFT JOIN go_symbol_sets s ON s.id = b.set_id
             WHERE i.digest = ? ORDER BY b.path",
            &[digest.into()],
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                GoBinaryRow {
                    path: next().into_text().unwrap_or_default(),
                    goos: next().into_text(),
                    goarch: next().into_text(),
                    modules: next()
                        .into_text()
                        .unwrap_or_default()
                        .split('\n')
                        .filter(|m| !m.is_empty())
                        .map(String::from)
                        .collect(),
                    set_id: next().int(),
                    inline_trees: next().int() == Some(1),
                    error: next().into_text(),
                    trust: next().into_text().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// The symbols of `packages` in set `set_id` (packages the set does not
    /// hold are absent from the map).
    pub fn go_symbols(
        &mut self,
        set_id: i64,
        packages: &[&str],
    ) -> Result<HashMap<String, BTreeSet<String>>> {
        let mut out = HashMap::new();
        for chunk in packages.chunks(crate::postings::CHUNK) {
            let mut p = vec![Val::Int(set_id)];
            p.extend(chunk.iter().map(|s| Val::from(*s)));
            let sql = format!(
                "SELECT package, symbols FROM go_symbols WHERE set_id = ? AND package IN ({})",
                placeholders(chunk.len())
            );
            for r in self.db.query(&sql, &p)? {
                let mut it = r.into_iter();
                let pkg = it.next().and_then(Val::into_text).unwrap_or_default();
                let syms = it.next().and_then(Val::into_text).unwrap_or_default();
                out.insert(
                    pkg,
                    syms.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                );
            }
        }
        Ok(out)
    }

    /// For each advisory id in `ids`: its row id and its stored Go imports
    /// (None when stored before they were kept).
    pub fn go_imports(&mut self, ids: &[&str]) -> Result<HashMap<String, (i64, Option<String>)>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(crate::postings::CHUNK) {
            let p: Vec<Val> = chunk.iter().map(|s| Val::from(*s)).collect();
            let sql = format!(
                "SELECT advisory_id, id, go_imports FROM advisories WHERE advisory_id IN ({})",
                placeholders(chunk.len())
            );
            for r in self.db.query(&sql, &p)? {
                let mut it = r.into_iter();
                let mut next = || it.next().unwrap_or(Val::Null);
                let aid = next().into_text().unwrap_or_default();
                let id = next().int().unwrap_or_default();
                out.insert(aid, (id, next().into_text()));
            }
        }
        Ok(out)
    }
}
