//! End-to-end scan tests against real oracles.
//!
//! - Debian: the deb package set of a debootstrap image (OCI layout and
//!   docker-archive) equals `dpkg-query --admindir=ROOTFS/var/lib/dpkg -W`;
//!   whiteouts of the status file and of a binary are honoured.
//! - Go: a scratch image of Go binaries (Debian Go 1.19 and pip Go 1.2x;
//!   vendored, replaced, VCS-stamped, stripped): per binary, the golang purls
//!   equal what `go version -m BIN` prints; toolchains and commit in the record.
//! - Rust: a cargo-auditable binary's cargo purls equal its Cargo.lock.
//! - syft: every difference between our purls and syft's falls into a class
//!   documented in docs/syft-differences.md (encoded below as predicates).
//!
//! Missing tools skip with a message, except under CI=true, where they fail.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use buildledger_image::{NoProgress, OpenOptions, SourceSpec};
use buildledger_scan::{ScanResult, scan};
use common::*;

fn scan_source(spec: SourceSpec) -> ScanResult {
    scan(&spec, &OpenOptions::default(), &mut NoProgress)
        .unwrap_or_else(|e| panic!("scan {spec:?}: {e}"))
}

fn oci(dir: &Path, tag: &str) -> SourceSpec {
    SourceSpec::Oci {
        dir: dir.to_path_buf(),
        reference: Some(tag.to_string()),
    }
}

/// (type, namespace/name, version, qualifiers) of a purl string.
fn split_purl(s: &str) -> (String, String, String, BTreeMap<String, String>) {
    let p: packageurl::PackageUrl = s.parse().unwrap_or_else(|e| panic!("bad purl {s}: {e}"));
    let name = match p.namespace() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{}", p.name()),
        _ => p.name().to_string(),
    };
    let q = p
        .qualifiers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (
        p.ty().to_string(),
        name,
        p.version().unwrap_or("").to_string(),
        q,
    )
}

// ---------------------------------------------------------------------------
// Debian
// ---------------------------------------------------------------------------

/// One row of the dpkg oracle: name, version, arch, source name, source version.
type DebRow = (String, String, String, String, String);

fn dpkg_query(rootfs: &Path) -> BTreeSet<DebRow> {
    let out = run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", rootfs.join("var/lib/dpkg").display()))
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n",
        ]));
    let rows: BTreeSet<DebRow> = out
        .lines()
        .filter(|l| l.starts_with("ii"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "dpkg-query line {l:?}");
            (
                f[1].into(),
                f[2].into(),
                f[3].into(),
                f[4].into(),
                f[5].into(),
            )
        })
        .collect();
    assert!(
        rows.len() > 50,
        "dpkg-query listed only {} installed packages",
        rows.len()
    );
    rows
}

fn check_deb_scan(res: &ScanResult, rootfs: &Path, what: &str) {
    let want = dpkg_query(rootfs);
    let got: BTreeSet<DebRow> = res
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                p.source_name.clone().unwrap_or_default(),
                p.source_version.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got.len(),
        res.packages.len(),
        "{what}: a package reported twice"
    );
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: vs dpkg-query: missing {missing:#?}\nextra {extra:#?}"
    );

    let os = res
        .os
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no os-release"));
    assert_eq!(os.id, "debian", "{what}");
    assert_eq!(os.version_id.as_deref(), Some("12"), "{what}");
    assert_eq!(os.version_codename.as_deref(), Some("bookworm"), "{what}");

    // Components: one deb purl per package, with distro, arch and upstream.
    let comps = res.components();
    let debs: Vec<_> = comps.iter().filter(|c| c.purl.ty() == "deb").collect();
    assert_eq!(debs.len(), want.len(), "{what}: deb components");
    let by_name: BTreeMap<&str, &DebRow> = want.iter().map(|r| (r.0.as_str(), r)).collect();
    let mut with_upstream = 0;
    for c in debs {
        let (_, name, version, q) = split_purl(c.purl.as_str());
        let (ns, n) = name.split_once('/').expect("deb purl has a namespace");
        assert_eq!(ns, "debian", "{}", c.purl);
        let row = by_name
            .get(n)
            .unwrap_or_else(|| panic!("{what}: {} not in dpkg-query", c.purl));
        assert_eq!(version, row.1, "{}", c.purl);
        assert_eq!(
            q.get("distro").map(String::as_str),
            Some("debian-12"),
            "{}",
            c.purl
        );
        assert_eq!(q.get("arch"), Some(&row.2), "{}", c.purl);
        let (src, srcver) = (&row.3, &row.4);
        let up = q.get("upstream");
        if src != n || srcver != &row.1 {
            let up = up.unwrap_or_else(|| {
                panic!("{what}: {} lacks upstream (source {src} {srcver})", c.purl)
            });
            let (up_name, up_ver) = match up.split_once('@') {
                Some((a, b)) => (a, Some(b)),
                None => (up.as_str(), None),
            };
            assert_eq!(up_name, src, "{}", c.purl);
            // A source version is named when (and only when) it differs.
            assert_eq!(
                up_ver,
                (srcver != &row.1).then_some(srcver.as_str()),
                "{}",
                c.purl
            );
            with_upstream += 1;
        } else {
            assert!(
                up.is_none(),
                "{what}: {} has upstream though source = binary",
                c.purl
            );
        }
        assert_eq!(
            c.location.as_deref(),
            Some("var/lib/dpkg/status"),
            "{}",
            c.purl
        );
    }
    assert!(
        with_upstream > 10,
        "{what}: only {with_upstream} packages with a different source"
    );
}

#[test]
fn debian_oci_layout_packages_equal_dpkg_query() {
    let Some(f) = deb_fixtures() else { return };
    let res = scan_source(oci(&f.oci, "deb"));
    check_deb_scan(&res, &f.rootfs, "oci:deb");
    assert!(
        res.binaries.is_empty(),
        "no Go/Rust binaries in a minbase rootfs: {:?}",
        res.binaries.iter().map(|b| &b.path).collect::<Vec<_>>()
    );
    let rec = res
        .to_record(None)
        .expect("record for an image with a digest");
    assert_eq!(rec.labels.get("os").map(String::as_str), Some("debian 12"));
    assert!(rec.toolchains.is_empty() && rec.source.is_none());
}

#[test]
fn debian_docker_archive_packages_equal_dpkg_query() {
    let Some(f) = deb_fixtures() else { return };
    let res = scan_source(SourceSpec::DockerArchive {
        file: f.archive.clone(),
    });
    check_deb_scan(&res, &f.rootfs, "docker-archive");
    // The tag as skopeo wrote it into manifest.json's RepoTags.
    let mj = run(Command::new("tar")
        .arg("-xOf")
        .arg(&f.archive)
        .arg("manifest.json"));
    let mj: serde_json::Value = serde_json::from_str(&mj).unwrap();
    assert_eq!(serde_json::json!(res.image.repo_tags), mj[0]["RepoTags"]);
    assert!(res.image.repo_tags[0].ends_with("buildledger/deb:latest"));
}

#[test]
fn whiteout_of_dpkg_status_leaves_no_packages() {
    let Some(f) = deb_fixtures() else { return };
    // Control: the same layout's base tag has the packages.
    let base = scan_source(oci(&f.variants, "deb"));
    check_deb_scan(&base, &f.rootfs, "variants:deb");
    let res = scan_source(oci(&f.variants, "nostatus"));
    assert!(
        res.packages.is_empty(),
        "status deleted, yet {} packages",
        res.packages.len()
    );
    assert!(res.components().iter().all(|c| c.purl.ty() != "deb"));
    assert_eq!(
        res.os.as_ref().map(|o| o.id.as_str()),
        Some("debian"),
        "os-release is still there"
    );
}

#[test]
fn whiteout_of_a_binary_hides_it() {
    let Some(f) = deb_fixtures() else { return };
    let with = scan_source(oci(&f.variants, "withgo"));
    let paths: Vec<&str> = with.binaries.iter().map(|b| b.path.as_str()).collect();
    assert_eq!(paths, vec![f.hello.in_image.as_str()], "withgo");
    check_deb_scan(&with, &f.rootfs, "withgo");
    assert!(
        with.located_components()
            .iter()
            .any(|c| c.location.as_deref() == Some(&f.hello.in_image))
    );
    let gone = scan_source(oci(&f.variants, "gone"));
    assert!(
        gone.binaries.is_empty(),
        "whited-out binary still found: {:?}",
        gone.binaries.iter().map(|b| &b.path).collect::<Vec<_>>()
    );
    assert!(
        gone.located_components()
            .iter()
            .all(|c| c.location.as_deref() != Some(&f.hello.in_image))
    );
    check_deb_scan(&gone, &f.rootfs, "gone");
}

// ---------------------------------------------------------------------------
// Go and Rust
// ---------------------------------------------------------------------------

/// What `go version -m BIN` says: (go version, module (path, version) set
/// as we should report it, settings).
struct GoOracle {
    go_version: String,
    modules: BTreeSet<(String, String)>,
    settings: BTreeMap<String, String>,
}

fn go_version_m(go: &Path, bin: &Path) -> GoOracle {
    let (go_version, body) = buildledger_testkit::go::version_m(go, bin)
        .unwrap_or_else(|| panic!("go version -m {}: no build info", bin.display()));
    let go_version = go_version.trim().to_string();
    let usable = |v: &str| !v.is_empty() && v != "(devel)";
    let mut modules = BTreeSet::new();
    for m in buildledger_testkit::go::modules(&body) {
        let (p, v) = match m.replace {
            // A dep replaced by another module version is reported as the replacement.
            Some((rp, rv)) if usable(&rv) => (rp, rv),
            _ if m.main && !usable(&m.version) => continue,
            _ => (m.path, m.version),
        };
        modules.insert((p, v));
    }
    let mut settings = BTreeMap::new();
    for l in body.lines() {
        let f: Vec<&str> = l.trim_start_matches('\t').split('\t').collect();
        if f[0] == "build"
            && let Some((k, v)) = f.get(1).and_then(|s| s.split_once('='))
        {
            // Values with spaces are Go-quoted (`"-s -w"`); JSON
            // string syntax covers what these fixtures use.
            let v = if v.starts_with('"') {
                serde_json::from_str::<String>(v).unwrap_or_else(|e| panic!("quoted {v}: {e}"))
            } else {
                v.to_string()
            };
            settings.insert(k.to_string(), v);
        }
    }
    let v = go_version.trim_start_matches("go");
    let v = v.split([' ', '+']).next().unwrap_or(v).to_string();
    modules.insert(("stdlib".to_string(), v));
    GoOracle {
        go_version,
        modules,
        settings,
    }
}

#[test]
fn go_binaries_match_go_version_m() {
    let Some(f) = go_fixtures() else { return };
    let res = scan_source(oci(&f.oci, "go"));
    assert!(
        res.os.is_none() && res.packages.is_empty(),
        "scratch image has no OS"
    );
    let located = res.located_components();
    let mut toolchains = BTreeSet::new();
    let mut vendored_replaced = false;
    for b in &f.go_bins {
        let oracle = go_version_m(b.go.as_deref().unwrap(), &b.host);
        let report = res
            .binaries
            .iter()
            .find(|r| r.path == b.in_image)
            .unwrap_or_else(|| panic!("{} not found by the scan", b.in_image));
        let go = report
            .go
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no Go build info", b.name));
        assert_eq!(go.go_version, oracle.go_version, "{}", b.name);
        for (k, v) in &oracle.settings {
            assert_eq!(
                go.setting(k),
                Some(v.as_str()),
                "{}: build setting {k}",
                b.name
            );
        }
        let ours: BTreeSet<(String, String)> = located
            .iter()
            .filter(|c| c.location.as_deref() == Some(&b.in_image))
            .map(|c| {
                let (ty, name, version, _) = split_purl(c.purl.as_str());
                assert_eq!(ty, "golang", "{}", c.purl);
                (name, version)
            })
            .collect();
        assert_eq!(
            ours, oracle.modules,
            "{}: golang purls vs go version -m",
            b.name
        );
        vendored_replaced |= oracle
            .modules
            .contains(&("golang.org/x/text".into(), "v0.7.0".into()));
        toolchains.insert(oracle.go_version.trim_start_matches("go").to_string());
    }
    assert!(
        vendored_replaced,
        "the vendored fixture should carry the x/text replacement"
    );
    let rec = res.to_record(None).expect("record");
    let got_tc: BTreeSet<String> = rec
        .toolchains
        .iter()
        .inspect(|t| assert_eq!(t.name, "go"))
        .map(|t| t.version.clone())
        .collect();
    assert_eq!(got_tc, toolchains, "record toolchains");
    assert_eq!(toolchains.len(), 2, "two Go toolchains built the fixtures");
    // vcs and stripped agree on the revision; the others carry none.
    let src = rec.source.as_ref().expect("record source");
    assert_eq!(
        src.commit.as_deref(),
        Some(f.commit.as_str()),
        "source.commit = vcs.revision"
    );
    assert_eq!(src.dirty, Some(false));
    assert!(rec.languages.contains(&"go".to_string()));
    assert!(rec.build_time.is_some(), "vcs.time becomes the build time");
    // Every Go component in the record is one the oracle named for some binary.
    rec.validate().expect("record validates");
}

/// Non-root packages of a Cargo.lock: (name, version).
fn non_root_packages(lock: &str, root: &str) -> BTreeSet<(String, String)> {
    let mut all = lock_packages(lock);
    all.retain(|(n, _)| n != root);
    all
}

#[test]
fn cargo_auditable_binary_matches_cargo_lock() {
    let Some(f) = go_fixtures() else { return };
    let Some((bin, lock)) = &f.rust else { return };
    let res = scan_source(oci(&f.oci, "go"));
    let want = non_root_packages(&std::fs::read_to_string(lock).unwrap(), "bl-scan-probe");
    assert!(
        want.contains(&("itoa".into(), "1.0.11".into())),
        "lock {want:?}"
    );
    let comps: Vec<_> = res
        .located_components()
        .into_iter()
        .filter(|c| c.location.as_deref() == Some(&bin.in_image))
        .collect();
    let got: BTreeSet<(String, String)> = comps
        .iter()
        .map(|c| {
            let (ty, name, version, _) = split_purl(c.purl.as_str());
            assert_eq!(ty, "cargo", "{}", c.purl);
            (name, version)
        })
        .collect();
    assert_eq!(got, want, "cargo purls vs Cargo.lock");
    let autocfg = comps
        .iter()
        .find(|c| c.purl.as_str().contains("/autocfg@"))
        .unwrap();
    assert_eq!(autocfg.scope, buildledger_model::Scope::Build);
    let itoa = comps
        .iter()
        .find(|c| c.purl.as_str().contains("/itoa@"))
        .unwrap();
    assert_eq!(itoa.scope, buildledger_model::Scope::Runtime);
    let rec = res.to_record(None).unwrap();
    assert!(rec.languages.contains(&"rust".to_string()));
}

// ---------------------------------------------------------------------------
// syft as a peer
// ---------------------------------------------------------------------------

/// A purl reduced to what both tools must agree on: (type, namespace/name, version).
type Key = (String, String, String);

fn key(purl: &str) -> Key {
    let (ty, name, version, _) = split_purl(purl);
    (ty, name, version)
}

/// `syft scan oci-dir:DIR -o json`: the purls of its artifacts.
fn syft_purls(dir: &Path) -> Option<BTreeSet<Key>> {
    if !require_tool("syft") {
        return None;
    }
    let out = run(Command::new("syft")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .args(["scan", "-q", "-o", "json"])
        .arg(format!("oci-dir:{}", dir.display())));
    let v: serde_json::Value = serde_json::from_str(&out).expect("syft JSON");
    let arts = v["artifacts"].as_array().expect("syft artifacts");
    Some(
        arts.iter()
            .filter_map(|a| a["purl"].as_str())
            .filter(|p| !p.is_empty())
            .map(key)
            .collect(),
    )
}

/// Which side lists a purl the other lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    OnlySyft,
    OnlyOurs,
}

/// The difference classes of docs/syft-differences.md. Each takes the side,
/// the key and our scan (for the facts that make the difference legitimate).
type Class = (&'static str, fn(Side, &Key, &ScanResult) -> bool);

fn go_infos(res: &ScanResult) -> impl Iterator<Item = &buildledger_binary::GoBuildInfo> {
    res.binaries.iter().filter_map(|b| b.go.as_ref())
}

/// A directory path as a purl carries it: `.`, `..` and empty segments are
/// dropped by purl parsing (`pkg:golang/./greet` is `greet`).
fn purl_path(p: &str) -> String {
    p.split('/')
        .filter(|s| !matches!(*s, "" | "." | ".."))
        .collect::<Vec<_>>()
        .join("/")
}

const CLASSES: &[Class] = &[
    // D1: syft lists a Go main module built without a version as `(devel)`; we
    // leave it out (no version, so nothing to match advisories against).
    ("D1 go-main-devel", |side, (ty, name, version), res| {
        side == Side::OnlySyft
            && ty == "golang"
            && version == "(devel)"
            && go_infos(res).any(|g| {
                g.main
                    .as_ref()
                    .is_some_and(|m| &m.path == name && m.version == "(devel)")
            })
    }),
    // D2: a directory replacement (`=> ./dir`): syft lists the directory as a
    // module `pkg:golang/./dir@(devel)`; we keep the required module path and
    // version, as `go version -m` shows on the `dep` line.
    (
        "D2 go-dir-replacement (syft side)",
        |side, (ty, name, version), res| {
            side == Side::OnlySyft
                && ty == "golang"
                && version == "(devel)"
                && go_infos(res).flat_map(|g| &g.deps).any(|d| {
                    d.replace.as_ref().is_some_and(|r| {
                        (r.version.is_empty() || r.version == "(devel)")
                            && &purl_path(&r.path) == name
                    })
                })
        },
    ),
    (
        "D2 go-dir-replacement (our side)",
        |side, (ty, name, version), res| {
            side == Side::OnlyOurs
                && ty == "golang"
                && go_infos(res).flat_map(|g| &g.deps).any(|d| {
                    &d.path == name
                        && &d.version == version
                        && d.replace
                            .as_ref()
                            .is_some_and(|r| r.version.is_empty() || r.version == "(devel)")
                })
        },
    ),
    // D3: syft lists the cargo-auditable root package (the binary's own
    // crate); we list only its dependencies (the binary itself is the subject).
    ("D3 cargo-root", |side, (ty, name, version), res| {
        side == Side::OnlySyft
            && ty == "cargo"
            && res
                .binaries
                .iter()
                .filter_map(|b| b.rust.as_ref())
                .flat_map(|r| &r.packages)
                .any(|p| p.root && &p.name == name && &p.version == version)
    }),
    // D4: syft 1.18 drops cargo-auditable build dependencies; we keep them
    // with scope `build` (a build-script crate can still be vulnerable).
    ("D4 cargo-build-dep", |side, (ty, name, version), res| {
        side == Side::OnlyOurs
            && ty == "cargo"
            && res
                .binaries
                .iter()
                .filter_map(|b| b.rust.as_ref())
                .flat_map(|r| &r.packages)
                .any(|p| p.kind == "build" && !p.root && &p.name == name && &p.version == version)
    }),
];

/// Every difference between our purls and syft's, with its class; panics on
/// a difference no class explains.
fn compare_with_syft(
    res: &ScanResult,
    dir: &Path,
    what: &str,
) -> Option<Vec<(&'static str, Side, Key)>> {
    let theirs = syft_purls(dir)?;
    let ours: BTreeSet<Key> = res
        .components()
        .iter()
        .map(|c| key(c.purl.as_str()))
        .collect();
    let mut classified = Vec::new();
    let mut unexplained = Vec::new();
    let diffs = theirs
        .difference(&ours)
        .map(|k| (Side::OnlySyft, k))
        .chain(ours.difference(&theirs).map(|k| (Side::OnlyOurs, k)));
    for (side, k) in diffs {
        match CLASSES.iter().find(|(_, f)| f(side, k, res)) {
            Some((name, _)) => classified.push((*name, side, k.clone())),
            None => unexplained.push((side, k.clone())),
        }
    }
    for (c, s, k) in &classified {
        eprintln!("{what}: {c}: {s:?} {k:?}");
    }
    assert!(
        unexplained.is_empty(),
        "{what}: differences with syft outside the classes of docs/syft-differences.md: {unexplained:#?}"
    );
    let common = ours.intersection(&theirs).count();
    eprintln!(
        "{what}: {common} purls in common, {} explained differences",
        classified.len()
    );
    assert!(common > 0, "{what}: nothing in common with syft");
    Some(classified)
}

#[test]
fn syft_agrees_on_debian_image() {
    let Some(f) = deb_fixtures() else { return };
    let res = scan_source(oci(&f.oci, "deb"));
    let Some(diffs) = compare_with_syft(&res, &f.oci, "deb") else {
        return;
    };
    assert!(
        diffs.is_empty(),
        "no class of difference is expected on a plain Debian image: {diffs:?}"
    );
}

#[test]
fn syft_differences_on_go_image_are_documented() {
    let Some(f) = go_fixtures() else { return };
    let res = scan_source(oci(&f.oci, "go"));
    let Some(diffs) = compare_with_syft(&res, &f.oci, "go") else {
        return;
    };
    // The fixtures are built to show D1 and D2 (and D3/D4 with cargo-auditable).
    let seen: BTreeSet<&str> = diffs.iter().map(|d| d.0).collect();
    assert!(
        seen.contains("D1 go-main-devel") && seen.contains("D2 go-dir-replacement (syft side)"),
        "{seen:?}"
    );
    if f.rust.is_some() {
        assert!(seen.contains("D3 cargo-root"), "{seen:?}");
    }
}
