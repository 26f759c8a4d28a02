//! Symbol-level reachability of Go findings: is the vulnerable code in the
//! binary, or only the module that holds it?
//!
//! Go advisories name the vulnerable functions per package
//! (`affected[].ecosystem_specific.imports[]`: `path`, `symbols`, `goos`,
//! `goarch`). The indexer keeps, per Go executable of an image, the
//! (package, symbol) pairs of its function table, inlined functions
//! included. A finding on a Go module or the standard library is then:
//!
//! - `present` when a binary that carries the finding's module version holds
//!   one of the named symbols (or, for an import that lists no symbols, any
//!   function of the named package: the whole package is vulnerable);
//! - `absent` when every such binary was read, inlined functions included,
//!   and holds none of them;
//! - `unknown` when the advisory names no packages, when none of its imports
//!   applies to the binary's GOOS/GOARCH, when the image has no binary
//!   indexed by us that carries the module (a CI claim alone), when a
//!   function table could not be read, or when inlined functions could not
//!   be (an absent symbol might have been inlined).
//!
//! This matches govulncheck's binary mode (symbols named the same way,
//! imports filtered by platform, a symbol-less import meaning the whole
//! package), except that where govulncheck stays silent about imports for
//! other platforms we say `unknown`, and we drop type arguments of generic
//! instantiations before comparing.
//!
//! Toolchain findings (the `go` command's own advisories) concern how a
//! binary was built, not what it contains: they get no reachability.

use std::collections::{BTreeSet, HashMap};

use buildledger_feed::Advisory;
use buildledger_store::{GoBinaryRow, ImageFinding, Reachability, Store};
use serde::{Deserialize, Serialize};

use crate::{Result, RulesError};

/// One package (and its symbols) a Go advisory names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoImport {
    /// The OSV package name: the module path, or `stdlib`.
    pub module: String,
    /// Import path of the package.
    pub path: String,
    /// Vulnerable symbols (`Parse`, `Tokenizer.Next`); empty: all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    /// Operating systems it applies to; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goos: Vec<String>,
    /// Architectures it applies to; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goarch: Vec<String>,
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    v.and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The Go imports an advisory names (empty for other ecosystems and for Go
/// advisories that name no packages).
pub fn go_imports(adv: &Advisory) -> Vec<GoImport> {
    let mut out = Vec::new();
    for a in adv.affected.iter().filter(|a| a.ecosystem == "Go") {
        let Some(imports) = a
            .ecosystem_specific
            .as_ref()
            .and_then(|e| e.get("imports"))
            .and_then(|i| i.as_array())
        else {
            continue;
        };
        for i in imports {
            let Some(path) = i.get("path").and_then(|p| p.as_str()) else {
                continue;
            };
            let imp = GoImport {
                module: a.name.clone(),
                path: path.to_string(),
                symbols: strings(i.get("symbols")),
                goos: strings(i.get("goos")),
                goarch: strings(i.get("goarch")),
            };
            if !out.contains(&imp) {
                out.push(imp);
            }
        }
    }
    out
}

/// The JSON the store keeps in `go_imports`: None for non-Go advisories.
pub(crate) fn go_imports_json(adv: &Advisory) -> Option<String> {
    if !adv.affected.iter().any(|a| a.ecosystem == "Go") {
        return None;
    }
    serde_json::to_string(&go_imports(adv)).ok()
}

/// `pkg:golang/golang.org/x/net@v0.1.0` → `golang.org/x/net`.
fn go_module(purl: &str) -> Option<String> {
    let p = buildledger_model::Purl::parse(purl).ok()?;
    let module = p.package().strip_prefix("pkg:golang/")?;
    (p.ty() == "golang").then(|| module.to_string())
}

fn applies(value: Option<&str>, list: &[String]) -> bool {
    match value {
        None | Some("") => true,
        Some(v) => list.is_empty() || list.iter().any(|x| x == v),
    }
}

fn unknown(
    reason: impl Into<String>,
    binaries: Vec<String>,
    trust: Option<String>,
) -> Reachability {
    Reachability {
        state: "unknown".into(),
        symbols: Vec::new(),
        binaries,
        reason: Some(reason.into()),
        trust,
    }
}

/// Reads the symbols of some packages of one symbol set: (set id, package
/// paths) → package → symbols, for the packages the set holds.
pub type SymbolReader<'a> =
    dyn FnMut(i64, &[&str]) -> Result<HashMap<String, BTreeSet<String>>> + 'a;

/// Reachability of one finding of `module` given the advisory's imports and
/// the image's Go binaries; `symbols(set, packages)` reads a set's symbols.
pub fn decide(
    purl: &str,
    module: &str,
    imports: &[GoImport],
    binaries: &[GoBinaryRow],
    symbols: &mut SymbolReader<'_>,
) -> Result<Reachability> {
    let carrying: Vec<&GoBinaryRow> = binaries
        .iter()
        .filter(|b| b.modules.iter().any(|m| m == purl))
        .collect();
    let paths: Vec<String> = carrying.iter().map(|b| b.path.clone()).collect();
    let trust = carrying
        .iter()
        .map(|b| b.trust.clone())
        .min_by_key(|t| (t != "observed", t.clone()));
    let mine: Vec<&GoImport> = imports.iter().filter(|i| i.module == module).collect();
    if carrying.is_empty() {
        return Ok(unknown(
            "no Go binary indexed by buildledger in this image carries this module",
            paths,
            None,
        ));
    }
    if mine.is_empty() {
        return Ok(unknown(
            "the advisory names no packages or symbols",
            paths,
            trust,
        ));
    }
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut undecided: Option<String> = None;
    let mut absent_somewhere = false;
    for b in &carrying {
        let applicable: Vec<&&GoImport> = mine
            .iter()
            .filter(|i| {
                applies(b.goos.as_deref(), &i.goos) && applies(b.goarch.as_deref(), &i.goarch)
            })
            .collect();
        if applicable.is_empty() {
            undecided.get_or_insert_with(|| {
                format!(
                    "the advisory's symbols are for other platforms than {}/{} ({})",
                    b.goos.as_deref().unwrap_or("?"),
                    b.goarch.as_deref().unwrap_or("?"),
                    b.path
                )
            });
            continue;
        }
        let Some(set) = b.set_id else {
            undecided.get_or_insert_with(|| {
                format!(
                    "the function table of {} could not be read: {}",
                    b.path,
                    b.error.as_deref().unwrap_or("not read")
                )
            });
            continue;
        };
        let mut pkgs: Vec<&str> = applicable.iter().map(|i| i.path.as_str()).collect();
        pkgs.sort_unstable();
        pkgs.dedup();
        let have = symbols(set, &pkgs)?;
        let before = found.len();
        for i in &applicable {
            let Some(syms) = have.get(&i.path) else {
                continue;
            };
            if i.symbols.is_empty() {
                if let Some(s) = syms.iter().next() {
                    found.insert(format!("{}.{s}", i.path));
                }
            } else {
                for s in i.symbols.iter().filter(|s| syms.contains(*s)) {
                    found.insert(format!("{}.{s}", i.path));
                }
            }
        }
        if found.len() == before {
            if b.inline_trees {
                absent_somewhere = true;
            } else {
                undecided.get_or_insert_with(|| {
                    format!(
                        "the inlined functions of {} could not be read; a named symbol may have been inlined",
                        b.path
                    )
                });
            }
        }
    }
    if !found.is_empty() {
        return Ok(Reachability {
            state: "present".into(),
            symbols: found.into_iter().collect(),
            binaries: paths,
            reason: None,
            trust,
        });
    }
    if let Some(r) = undecided {
        return Ok(unknown(r, paths, trust));
    }
    debug_assert!(absent_somewhere);
    Ok(Reachability {
        state: "absent".into(),
        symbols: Vec::new(),
        binaries: paths,
        reason: None,
        trust,
    })
}

/// The verdict of a finding no indexed binary of its image carries (the
/// same as [`decide`] gives, without reading the advisory).
fn findings_unknown_without_binary(f: &mut ImageFinding) {
    f.reachability = Some(unknown(
        "no Go binary indexed by buildledger in this image carries this module",
        Vec::new(),
        None,
    ));
}

/// Sets `reachability` on every Go finding of `findings` (all of one or
/// several images), reading what it needs from the store once per image,
/// advisory and symbol set.
pub fn annotate(store: &mut Store, findings: &mut [ImageFinding]) -> Result<()> {
    let go: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == "vuln" && f.purl.starts_with("pkg:golang/"))
        .map(|(i, _)| i)
        .collect();
    if go.is_empty() {
        return Ok(());
    }
    // The image's binaries first: an image known from CI claims alone (no
    // binary indexed) needs no advisory read at all.
    let mut binaries: HashMap<String, Vec<GoBinaryRow>> = HashMap::new();
    for &i in &go {
        let d = &findings[i].digest;
        if !binaries.contains_key(d) {
            let rows = store.go_binaries(d)?;
            binaries.insert(d.clone(), rows);
        }
    }
    let go: Vec<usize> = go
        .into_iter()
        .filter(|&i| {
            let f = &findings[i];
            if binaries[&f.digest]
                .iter()
                .any(|b| b.modules.contains(&f.purl))
            {
                return true;
            }
            findings_unknown_without_binary(&mut findings[i]);
            false
        })
        .collect();
    if go.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<&str> = go.iter().map(|&i| findings[i].advisory.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let stored = store.go_imports(&ids)?;
    let mut imports: HashMap<String, Vec<GoImport>> = HashMap::new();
    for (aid, (row, json)) in stored {
        let list = match json {
            Some(j) => serde_json::from_str(&j).map_err(|e| RulesError::Corrupt {
                id: aid.clone(),
                message: format!("go_imports: {e}"),
            })?,
            // Stored before imports were kept: read them from the body.
            None => match store.advisory_body(row)? {
                Some(body) => {
                    let adv: Advisory =
                        serde_json::from_str(&body).map_err(|e| RulesError::Corrupt {
                            id: aid.clone(),
                            message: e.to_string(),
                        })?;
                    go_imports(&adv)
                }
                None => Vec::new(),
            },
        };
        imports.insert(aid, list);
    }
    let mut cache: HashMap<(i64, String), Option<BTreeSet<String>>> = HashMap::new();
    for i in go {
        let f = &findings[i];
        let Some(module) = go_module(&f.purl) else {
            continue;
        };
        let empty = Vec::new();
        let imps = imports.get(&f.advisory).unwrap_or(&empty);
        let bins = &binaries[&f.digest];
        let mut read = |set: i64, pkgs: &[&str]| -> Result<HashMap<String, BTreeSet<String>>> {
            let missing: Vec<&str> = pkgs
                .iter()
                .copied()
                .filter(|p| !cache.contains_key(&(set, p.to_string())))
                .collect();
            if !missing.is_empty() {
                let got = store.go_symbols(set, &missing)?;
                for p in missing {
                    cache.insert((set, p.to_string()), got.get(p).cloned());
                }
            }
            Ok(pkgs
                .iter()
                .filter_map(|p| {
                    cache
                        .get(&(set, p.to_string()))
                        .and_then(|s| s.clone())
                        .map(|s| (p.to_string(), s))
                })
                .collect())
        };
        let r = decide(&f.purl, &module, imps, bins, &mut read)?;
        findings[i].reachability = Some(r);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_of_a_purl() {
        assert_eq!(
            go_module("pkg:golang/golang.org/x/net@v0.1.0").as_deref(),
            Some("golang.org/x/net")
        );
        assert_eq!(
            go_module("pkg:golang/stdlib@1.19.8").as_deref(),
            Some("stdlib")
        );
        assert_eq!(go_module("pkg:cargo/serde@1.0.0"), None);
    }

    fn bin(path: &str, modules: &[&str], set: Option<i64>, inline: bool) -> GoBinaryRow {
        GoBinaryRow {
            path: path.into(),
            goos: Some("linux".into()),
            goarch: Some("amd64".into()),
            modules: modules.iter().map(|m| m.to_string()).collect(),
            set_id: set,
            inline_trees: inline,
            error: set.is_none().then(|| "bad table".to_string()),
            trust: "observed".into(),
        }
    }

    fn imp(path: &str, symbols: &[&str], goos: &[&str]) -> GoImport {
        GoImport {
            module: "golang.org/x/net".into(),
            path: path.into(),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            goos: goos.iter().map(|s| s.to_string()).collect(),
            goarch: vec![],
        }
    }

    const NET: &str = "pkg:golang/golang.org/x/net@v0.1.0";

    fn sets(set: i64, pkgs: &[&str]) -> Result<HashMap<String, BTreeSet<String>>> {
        let mut m = HashMap::new();
        // set 1 holds html.Parse and html.Tokenizer.Next; set 2 nothing of html.
        if set == 1 && pkgs.contains(&"golang.org/x/net/html") {
            m.insert(
                "golang.org/x/net/html".to_string(),
                ["Parse", "Tokenizer.Next"].map(String::from).into(),
            );
        }
        Ok(m)
    }

    fn run(imports: &[GoImport], bins: &[GoBinaryRow]) -> Reachability {
        decide(NET, "golang.org/x/net", imports, bins, &mut sets).unwrap()
    }

    #[test]
    fn verdicts() {
        let html = [imp("golang.org/x/net/html", &["Parse"], &[])];
        let r = run(&html, &[bin("app", &[NET], Some(1), true)]);
        assert_eq!(r.state, "present");
        assert_eq!(r.symbols, vec!["golang.org/x/net/html.Parse"]);
        // the symbol is not there, inlined functions were read: absent
        let other = [imp("golang.org/x/net/html", &["Render"], &[])];
        assert_eq!(
            run(&other, &[bin("app", &[NET], Some(1), true)]).state,
            "absent"
        );
        // ... but not read: unknown
        let r = run(&other, &[bin("app", &[NET], Some(1), false)]);
        assert_eq!(r.state, "unknown");
        assert!(r.reason.unwrap().contains("inlined"));
        // no symbols listed: any function of the package counts
        let whole = [imp("golang.org/x/net/html", &[], &[])];
        assert_eq!(
            run(&whole, &[bin("app", &[NET], Some(1), true)]).state,
            "present"
        );
        assert_eq!(
            run(&whole, &[bin("app", &[NET], Some(2), true)]).state,
            "absent"
        );
        // no imports at all, other platforms, unreadable table, no binary
        assert_eq!(
            run(&[], &[bin("app", &[NET], Some(1), true)]).state,
            "unknown"
        );
        let win = [imp("golang.org/x/net/html", &["Parse"], &["windows"])];
        let r = run(&win, &[bin("app", &[NET], Some(1), true)]);
        assert_eq!(r.state, "unknown");
        assert!(r.reason.unwrap().contains("other platforms"));
        assert_eq!(
            run(&html, &[bin("app", &[NET], None, true)]).state,
            "unknown"
        );
        assert_eq!(
            run(
                &html,
                &[bin("app", &["pkg:golang/other@v1"], Some(1), true)]
            )
            .state,
            "unknown"
        );
        // present in one binary wins over absent in another
        let r = run(
            &html,
            &[
                bin("a", &[NET], Some(2), true),
                bin("b", &[NET], Some(1), true),
            ],
        );
        assert_eq!(r.state, "present");
        assert_eq!(r.binaries, vec!["a", "b"]);
        // another module's imports do not count
        let mut foreign = imp("golang.org/x/net/html", &["Parse"], &[]);
        foreign.module = "golang.org/x/text".into();
        assert_eq!(
            run(&[foreign], &[bin("app", &[NET], Some(1), true)]).state,
            "unknown"
        );
    }
}
