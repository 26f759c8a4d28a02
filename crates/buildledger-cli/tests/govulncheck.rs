//! Differential test of `buildledger vulns` against Debian's `govulncheck` (2023 release) on real
//! Go binaries built here from the programs in `tests/govulncheck/` (stdlib-only, x/text, x/net;
//! unstripped and `-s -w` stripped), on SQLite and PostgreSQL.
//!
//! Every advisory govulncheck reports for a binary must be among ours. Ours may be a superset
//! (buildledger matches at module level, govulncheck at symbol level), but every finding of ours
//! must be explained: a non-withdrawn advisory whose affected ranges contain the version of a
//! component the binary really carries (as `go version -m` reads it): a module, `stdlib`, or
//! `toolchain` at the Go version that built it. The set must also equal the module-level answer
//! computed here from the OSV JSON alone (serde_json and a semver compare, independent of
//! buildledger's feed code). `affected <CVE>` and `changes --since 1h` are checked on the same data.
//!
//! govulncheck (2023) cannot analyse `-s` binaries ("no symbol go.func.*"); for those, the answer for
//! the unstripped twin (same source, same build info, checked) is the oracle.
//!
//! Needs: `apt-get install -y golang-go govulncheck golang-golang-x-text-dev golang-golang-x-net-dev`,
//! python3, and `../shared` (or `$BUILDLEDGER_SHARED`: OSV data, `tools/govulncheck-legacy-db.py`).
//! Without them the tests skip with a message, except under `CI=true`, where they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use buildledger_testkit::go::{self, GOCODE};
use buildledger_testkit::tools::{on_path, run};

// ---------------------------------------------------------------------------------------------
// harness: tests/common

mod common;
use common::Ledger;

/// Skips (returns false) with a message, or panics under `CI=true`.
fn missing(what: &str) -> bool {
    buildledger_testkit::ci::skip_or_fail(&format!("govulncheck differential test: {what}"))
}

// ---------------------------------------------------------------------------------------------
// tools and data

fn shared() -> PathBuf {
    common::shared_dir()
}

fn osv_dir() -> PathBuf {
    shared().join("data/osv/go")
}

/// Debian's Go 1.19 (govulncheck 2023 reads Go <= 1.20 binaries only).
fn go_bin() -> Option<PathBuf> {
    [
        "/usr/lib/go-1.19/bin/go",
        "/usr/lib/go-1.20/bin/go",
        "/usr/bin/go",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| go::version(p).is_some_and(|v| v.contains("go1.19") || v.contains("go1.20")))
}

/// Checks every prerequisite; false means "skip" (outside CI).
fn require_all() -> bool {
    if go_bin().is_none() {
        return missing("Go 1.19/1.20 is not installed (apt-get install -y golang-go)");
    }
    if !on_path("govulncheck") {
        return missing("govulncheck is not installed (apt-get install -y govulncheck)");
    }
    if !on_path("python3") {
        return missing("python3 is not installed");
    }
    if !osv_dir().is_dir() || !shared().join("tools/govulncheck-legacy-db.py").is_file() {
        return missing(&format!(
            "{} (OSV data and tools) is missing",
            shared().display()
        ));
    }
    for m in ["golang.org/x/text", "golang.org/x/net/html"] {
        if !Path::new(GOCODE).join(m).is_dir() {
            return missing(&format!(
                "{GOCODE}/{m} is missing (apt-get install -y golang-golang-x-text-dev golang-golang-x-net-dev)"
            ));
        }
    }
    true
}

/// Scratch space shared by all tests of this run, under cargo's per-test-target tmp dir (statics
/// are never dropped, so a TempDir would leak): wiped when first used, left for inspection after.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("govulncheck");
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// The legacy govulncheck database built from the shared OSV data, once per run.
fn vulndb() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let out = scratch().join("vulndb");
        run(Command::new("python3")
            .arg(shared().join("tools/govulncheck-legacy-db.py"))
            .arg(osv_dir())
            .arg(&out));
        out
    })
}

// ---------------------------------------------------------------------------------------------
// building the fixture binaries

/// One binary built from a program under `tests/govulncheck/`.
struct Fixture {
    /// Name of the binary (also used in messages).
    name: &'static str,
    /// Program directory under `tests/govulncheck/`.
    program: &'static str,
    /// Directories copied from `/usr/share/gocode/src` into `vendor/`: (module path, package subtree).
    vendor: &'static [(&'static str, &'static str)],
    /// Linked with `-s -w` (no symbol table, no DWARF).
    stripped: bool,
    /// The unstripped twin (same source and build info), used as oracle when govulncheck (2023)
    /// cannot read a stripped binary.
    twin: Option<&'static str>,
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "stdlib",
        program: "stdlib",
        vendor: &[],
        stripped: false,
        twin: None,
    },
    Fixture {
        name: "stdlib-stripped",
        program: "stdlib",
        vendor: &[],
        stripped: true,
        twin: Some("stdlib"),
    },
    Fixture {
        name: "xtext",
        program: "xtext",
        vendor: &[("golang.org/x/text", "golang.org/x/text")],
        stripped: false,
        twin: None,
    },
    Fixture {
        name: "xnet",
        program: "xnet",
        vendor: &[("golang.org/x/net", "golang.org/x/net/html")],
        stripped: false,
        twin: None,
    },
    Fixture {
        name: "xnet-stripped",
        program: "xnet",
        vendor: &[("golang.org/x/net", "golang.org/x/net/html")],
        stripped: true,
        twin: Some("xnet"),
    },
];

/// A built binary and what the oracles say about it.
struct Built {
    name: &'static str,
    path: PathBuf,
    /// Synthetic image digest: sha256 of the binary file.
    digest: String,
    /// Module path -> version from `go version -m` ("stdlib" -> "go1.19.8").
    modules: BTreeMap<String, String>,
    /// govulncheck's advisory ids (from its own run, or from the unstripped twin's).
    theirs: BTreeSet<String>,
    /// How `theirs` was obtained.
    oracle_note: String,
}

/// `go` in `dir`: hermetic, offline, vendored (`buildledger_testkit::go::command`).
fn go_cmd(go: &Path, dir: &Path) -> Command {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-build-cache");
    go::command(go, dir, &cache, &scratch().join("gopath"), "-mod=vendor")
}

fn build(f: &Fixture) -> PathBuf {
    let go = go_bin().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/govulncheck")
        .join(f.program);
    let work = scratch().join("src").join(f.name);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    for file in ["go.mod", "main.go"] {
        std::fs::copy(src.join(file), work.join(file)).unwrap();
    }
    if !f.vendor.is_empty() {
        go::vendor_gocode(&work, f.vendor);
    }
    let bin = scratch().join("bin").join(f.name);
    let mut c = go_cmd(&go, &work);
    c.args(["build", "-trimpath"]);
    if f.stripped {
        c.arg("-ldflags=-s -w");
    }
    c.arg("-o").arg(&bin).arg(".");
    run(&mut c);
    bin
}

/// Module versions from `go version -m BIN` (the Go tool as build-info oracle): every `dep` at
/// its version, and "stdlib" at the Go version that built it ("go1.19.8").
fn go_version_m(bin: &Path) -> BTreeMap<String, String> {
    let go = go_bin().unwrap();
    let (version, body) = go::version_m(&go, bin)
        .unwrap_or_else(|| panic!("go version -m {}: no build info", bin.display()));
    let mut m: BTreeMap<String, String> = go::modules(&body)
        .into_iter()
        .filter(|d| !d.main && !d.version.is_empty())
        .map(|d| (d.path, d.version))
        .collect();
    m.insert("stdlib".to_string(), version.trim().to_string());
    m
}

/// Runs govulncheck; Ok(ids) or Err(stderr) when it cannot analyse the binary.
fn govulncheck(bin: &Path) -> Result<BTreeSet<String>, String> {
    let o = Command::new("govulncheck")
        .env("GOVULNDB", format!("file://{}", vulndb().display()))
        .env("GOFLAGS", "")
        .arg("-json")
        .arg(bin)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    if !o.status.success() && out.trim().is_empty() {
        return Err(String::from_utf8_lossy(&o.stderr).to_string());
    }
    Ok(govulncheck_ids(&out))
}

/// Advisory ids with findings in govulncheck's JSON. The 2023 Debian release prints one object
/// `{"Vulns": [{"OSV": {"id": …}, "Modules": […]}]}` listing only vulnerabilities found in the
/// binary; later releases print a stream of `{"osv": …}` / `{"finding": {"osv": id}}` messages, where
/// only `finding` entries are findings. Both shapes are read.
fn govulncheck_ids(out: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for v in serde_json::Deserializer::from_str(out).into_iter::<serde_json::Value>() {
        let v = v.unwrap_or_else(|e| panic!("govulncheck printed invalid JSON: {e}\n{out}"));
        if let Some(vulns) = v.get("Vulns").and_then(|x| x.as_array()) {
            for x in vulns {
                ids.insert(x["OSV"]["id"].as_str().expect("Vulns[].OSV.id").to_string());
            }
        }
        if let Some(id) = v
            .get("finding")
            .and_then(|f| f.get("osv"))
            .and_then(|x| x.as_str())
        {
            ids.insert(id.to_string());
        }
    }
    ids
}

/// All fixtures built and checked by the oracles, once per run.
fn built() -> &'static [Built] {
    static B: OnceLock<Vec<Built>> = OnceLock::new();
    B.get_or_init(|| {
        let mut res: Vec<Built> = Vec::new();
        for f in FIXTURES {
            let path = build(f);
            let bytes = std::fs::read(&path).unwrap();
            let digest = buildledger_testkit::oci::sha256_digest(&bytes);
            let modules = go_version_m(&path);
            let (theirs, oracle_note) = match govulncheck(&path) {
                Ok(ids) => (ids, "govulncheck on this binary".to_string()),
                Err(e) => {
                    // govulncheck (2023) needs the symbol table and fails on `-s` binaries
                    // ("no symbol go.func.*"); its answer for the unstripped twin (same source,
                    // same build info) is the oracle then.
                    let twin = f
                        .twin
                        .unwrap_or_else(|| panic!("govulncheck failed on {}: {e}", f.name));
                    let t = res
                        .iter()
                        .find(|b| b.name == twin)
                        .expect("twin is built first");
                    assert_eq!(
                        t.modules, modules,
                        "{} and its twin {twin} differ in build info",
                        f.name
                    );
                    (
                        t.theirs.clone(),
                        format!(
                            "govulncheck cannot read it ({}); twin {twin}'s result",
                            e.trim()
                        ),
                    )
                }
            };
            res.push(Built {
                name: f.name,
                path,
                digest,
                modules,
                theirs,
                oracle_note,
            });
        }
        res
    })
}

// ---------------------------------------------------------------------------------------------
// independent OSV range check

/// Semantic Version precedence (semver.org §11), enough for Go module versions and pseudo-versions
/// (`0.0.0-20180724234803-3673e40ba225` is a pre-release of 0.0.0). A leading `v`/`go` is dropped;
/// build metadata is ignored. None when not a semver.
fn semver_cmp(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    fn split(v: &str) -> Option<([u64; 3], Option<Vec<String>>)> {
        let v = v.trim_start_matches("go").trim_start_matches('v');
        let v = v.split('+').next()?;
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p.split('.').map(str::to_string).collect())),
            None => (v, None),
        };
        let mut n = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        for (i, p) in parts.iter().enumerate() {
            n[i] = p.parse().ok()?;
        }
        Some((n, pre))
    }
    let (na, pa) = split(a)?;
    let (nb, pb) = split(b)?;
    Some(na.cmp(&nb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            for (i, j) in x.iter().zip(y.iter()) {
                let o = match (i.parse::<u64>(), j.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => i.cmp(j),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
    }))
}

/// Is `version` inside the SEMVER `events` of one OSV range (introduced/fixed/last_affected)?
fn in_range(events: &[serde_json::Value], version: &str) -> bool {
    use std::cmp::Ordering::*;
    // Events sorted by version; walk them, toggling "affected".
    let mut evs: Vec<(&str, &str)> = Vec::new();
    for e in events {
        for k in ["introduced", "fixed", "last_affected"] {
            if let Some(v) = e.get(k).and_then(|x| x.as_str()) {
                evs.push((k, v));
            }
        }
    }
    let key = |v: &str| {
        if v == "0" {
            "0.0.0-0".to_string()
        } else {
            v.to_string()
        }
    };
    evs.sort_by(|a, b| semver_cmp(&key(a.1), &key(b.1)).unwrap_or(Equal));
    let mut affected = false;
    for (k, v) in evs {
        let c =
            semver_cmp(version, &key(v)).unwrap_or_else(|| panic!("not semver: {version} / {v}"));
        match k {
            "introduced" if c != Less => affected = true,
            "fixed" if c != Less => affected = false,
            "last_affected" if c == Greater => affected = false,
            _ => {}
        }
    }
    affected
}

/// Every OSV file of the shared Go data, parsed once: id -> document.
fn osv_index() -> &'static BTreeMap<String, serde_json::Value> {
    static I: OnceLock<BTreeMap<String, serde_json::Value>> = OnceLock::new();
    I.get_or_init(|| {
        let mut m = BTreeMap::new();
        for e in std::fs::read_dir(osv_dir()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                m.insert(v["id"].as_str().unwrap().to_string(), v);
            }
        }
        m
    })
}

/// Does this (not withdrawn) advisory list package `name` with a SEMVER range containing `version`?
fn affects(osv: &serde_json::Value, name: &str, version: &str) -> bool {
    if osv.get("withdrawn").is_some_and(|w| !w.is_null()) {
        return false;
    }
    osv["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["package"]["name"] == name)
        .any(|a| {
            a["ranges"].as_array().into_iter().flatten().any(|r| {
                r["type"] == "SEMVER"
                    && r["events"]
                        .as_array()
                        .is_some_and(|ev| in_range(ev, version))
            })
        })
}

/// The OSV package names and versions a binary carries: its modules, `stdlib` and `toolchain` at
/// the Go version that built it (Go's advisories for the go command itself use `toolchain`).
fn packages(modules: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = modules
        .iter()
        .map(|(k, v)| (k.clone(), v.trim_start_matches("go").to_string()))
        .collect();
    if let Some(go) = p.get("stdlib").cloned() {
        p.insert("toolchain".into(), go);
    }
    p
}

/// All advisories whose ranges contain one of the binary's packages: the module-level answer,
/// computed from the OSV JSON alone.
fn module_level(modules: &BTreeMap<String, String>) -> BTreeSet<String> {
    let pk = packages(modules);
    osv_index()
        .iter()
        .filter(|(_, v)| pk.iter().any(|(n, ver)| affects(v, n, ver)))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Does the advisory name packages (`ecosystem_specific.imports`) of `module` whose `goos` and
/// `goarch` lists (empty: all) admit the binary's platform? Read from the OSV JSON alone.
fn names_applicable_imports(
    osv: &serde_json::Value,
    module: &str,
    goos: &str,
    goarch: &str,
) -> bool {
    let admits = |list: &serde_json::Value, v: &str| {
        list.as_array()
            .is_none_or(|a| a.is_empty() || a.iter().any(|x| x == v))
    };
    osv["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["package"]["name"] == module)
        .flat_map(|a| {
            a["ecosystem_specific"]["imports"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .any(|i| admits(&i["goos"], goos) && admits(&i["goarch"], goarch))
}

/// `pkg:golang/golang.org/x/text@v0.3.2` -> ("golang.org/x/text", "v0.3.2").
fn golang_purl(purl: &str) -> Option<(String, String)> {
    let rest = purl.strip_prefix("pkg:golang/")?;
    let rest = rest.split(['?', '#']).next()?;
    let (name, version) = rest.rsplit_once('@')?;
    Some((
        name.replace("%2F", "/").replace("%2f", "/"),
        version.to_string(),
    ))
}

#[test]
fn semver_compare_self_check() {
    use std::cmp::Ordering::*;
    assert_eq!(semver_cmp("1.19.8", "1.19.9"), Some(Less));
    assert_eq!(semver_cmp("go1.19.8", "1.19.0-0"), Some(Greater));
    assert_eq!(semver_cmp("v0.3.2", "0.3.10"), Some(Less));
    assert_eq!(
        semver_cmp(
            "v0.0.0-20180724234803-3673e40ba225",
            "0.0.0-20190125091013-d26f9f9a57f3"
        ),
        Some(Less)
    );
    assert_eq!(semver_cmp("1.0.0-alpha", "1.0.0-alpha.1"), Some(Less));
    assert_eq!(semver_cmp("1.0.0-rc.1", "1.0.0"), Some(Less));
    let ev = |s: &str| serde_json::from_str::<Vec<serde_json::Value>>(s).unwrap();
    assert!(in_range(
        &ev(r#"[{"introduced":"0"},{"fixed":"1.19.9"}]"#),
        "1.19.8"
    ));
    assert!(!in_range(
        &ev(r#"[{"introduced":"0"},{"fixed":"1.19.9"}]"#),
        "1.19.9"
    ));
    assert!(in_range(
        &ev(
            r#"[{"introduced":"0"},{"fixed":"1.19.9"},{"introduced":"1.20.0-0"},{"fixed":"1.20.4"}]"#
        ),
        "1.20.1"
    ));
    assert!(!in_range(
        &ev(r#"[{"introduced":"1.20.0-0"},{"fixed":"1.20.4"}]"#),
        "1.19.8"
    ));
    assert!(in_range(
        &ev(r#"[{"introduced":"0"},{"last_affected":"0.3.2"}]"#),
        "0.3.2"
    ));
    assert!(!in_range(
        &ev(r#"[{"introduced":"0"},{"last_affected":"0.3.2"}]"#),
        "0.3.3"
    ));
}

// ---------------------------------------------------------------------------------------------
// the differential test

fn advisories(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("vulns --json is not an array: {v}"))
        .iter()
        .map(|f| {
            f["advisory"]
                .as_str()
                .unwrap_or_else(|| panic!("finding without advisory: {f}"))
                .to_string()
        })
        .collect()
}

fn differential(l: &Ledger) {
    let bins = built();
    l.ok(&["feed", "import", osv_dir().to_str().unwrap()]);
    for b in bins {
        l.ok(&[
            "scan",
            &format!("file:{}", b.path.display()),
            "--record",
            "--digest",
            &b.digest,
        ]);
    }
    let mut extras_total = 0;
    let mut absent_total: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for b in bins {
        let rows = l.json(&["vulns", &b.digest]);
        let ours = advisories(&rows);
        let theirs = &b.theirs;
        let pk = packages(&b.modules);
        assert!(
            !theirs.is_empty(),
            "{}: govulncheck found nothing; the fixture is meant to be vulnerable",
            b.name
        );
        let missed: Vec<&String> = theirs.difference(&ours).collect();
        // ours - theirs, grouped by the component buildledger matched
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows.as_array().unwrap() {
            let id = r["advisory"].as_str().unwrap();
            if !theirs.contains(id) {
                extra
                    .entry(r["purl"].as_str().unwrap_or("?").to_string())
                    .or_default()
                    .push(id.to_string());
            }
        }
        eprintln!(
            "[{}] {} ({}; build info {:?}): govulncheck {} [{}]; buildledger {}; ours - theirs = {}:",
            if l.pg_schema.is_some() {
                "postgres"
            } else {
                "sqlite"
            },
            b.name,
            b.oracle_note,
            b.modules,
            theirs.len(),
            theirs.iter().cloned().collect::<Vec<_>>().join(" "),
            ours.len(),
            ours.difference(theirs).count(),
        );
        for (purl, ids) in &extra {
            eprintln!("    {purl}: {} [{}]", ids.len(), ids.join(" "));
        }
        assert!(
            missed.is_empty(),
            "{}: govulncheck reports {missed:?}, buildledger does not (db {})",
            b.name,
            l.db
        );

        // every finding of ours (and so every extra) is explained: its component is one the binary
        // really carries (version as `go version -m` reads it), and the advisory's affected
        // ranges contain that version
        let mut unexplained = Vec::new();
        for r in rows.as_array().unwrap() {
            let id = r["advisory"].as_str().unwrap();
            let purl = r["purl"].as_str().unwrap_or("");
            let ok = golang_purl(purl).is_some_and(|(name, ver)| {
                pk.get(&name).is_some_and(|real| *real == ver)
                    && osv_index()
                        .get(id)
                        .is_some_and(|osv| affects(osv, &name, &ver))
            });
            if !ok {
                unexplained.push(format!("{id} on {purl}"));
            }
        }
        assert!(
            unexplained.is_empty(),
            "{}: buildledger findings not explained by the binary's build info {:?}: {unexplained:?}",
            b.name,
            b.modules
        );

        // and the module-level answer is complete: it is exactly what the OSV data says for the
        // binary's packages (read independently here)
        let expected = module_level(&b.modules);
        assert_eq!(
            ours,
            expected,
            "{}: buildledger vs module-level OSV reading: missing {:?}, extra {:?}",
            b.name,
            expected.difference(&ours).collect::<Vec<_>>(),
            ours.difference(&expected).collect::<Vec<_>>()
        );
        extras_total += ours.difference(theirs).count();

        // symbol-level reachability: every advisory govulncheck reports is `present`; every other
        // Go finding is `absent` when the advisory names packages that apply to the binary's
        // platform (read here from the OSV JSON), else `unknown`; toolchain findings have none
        let mut verdicts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rows.as_array().unwrap() {
            let id = r["advisory"].as_str().unwrap();
            let purl = r["purl"].as_str().unwrap_or("");
            let reach = &r["reachability"];
            if r["kind"] == "toolchain" {
                assert!(
                    reach.is_null(),
                    "{}: toolchain finding {id} has reachability {reach}",
                    b.name
                );
                continue;
            }
            let state = reach["state"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: {id} on {purl} has no reachability: {r}", b.name));
            *verdicts.entry(state).or_default() += 1;
            let (module, _) = golang_purl(purl).unwrap();
            let expected = if theirs.contains(id) {
                "present"
            } else if names_applicable_imports(&osv_index()[id], &module, "linux", "amd64") {
                "absent"
            } else {
                "unknown"
            };
            assert_eq!(
                state,
                expected,
                "{}: {id} on {purl}: buildledger says {state} ({reach}), expected {expected} (govulncheck {})",
                b.name,
                if theirs.contains(id) {
                    "reports it"
                } else {
                    "does not report it"
                }
            );
            if state == "present" {
                assert!(
                    reach["symbols"].as_array().is_some_and(|s| !s.is_empty()),
                    "{}: {id} present without symbols: {reach}",
                    b.name
                );
            }
            assert_eq!(
                reach["trust"], "unverified",
                "{}: a file: scan under a named digest",
                b.name
            );
        }
        eprintln!("    reachability: {verdicts:?}");
        *absent_total.entry(b.name).or_default() = (
            verdicts.get("absent").copied().unwrap_or(0),
            verdicts.values().sum::<usize>(),
        );
    }
    eprintln!(
        "module-level Go findings that symbol-level reachability marks absent, per binary (absent, of): {absent_total:?}"
    );
    eprintln!(
        "total ours - theirs over all binaries (module- vs symbol-level matching): {extras_total}"
    );

    // stripped and unstripped twins carry the same build info: same answer from buildledger
    for b in bins {
        if let Some(t) = FIXTURES
            .iter()
            .find(|f| f.name == b.name)
            .and_then(|f| f.twin)
        {
            let twin = bins.iter().find(|x| x.name == t).unwrap();
            assert_eq!(
                advisories(&l.json(&["vulns", &b.digest])),
                advisories(&l.json(&["vulns", &twin.digest])),
                "{} vs {t}",
                b.name
            );
            // and the same reachability: the stripped binary's table (inline trees found through
            // the runtime's module data, not a symbol) says what the unstripped one says
            let states = |d: &str| -> BTreeMap<String, String> {
                reachability_rows(l, d)
                    .into_iter()
                    .map(|(advisory, _, state, _)| (advisory, state))
                    .collect()
            };
            assert_eq!(
                states(&b.digest),
                states(&twin.digest),
                "{} vs {t}: reachability",
                b.name
            );
        }
    }

    // `affected <CVE alias>` of a reported advisory lists the digest (both binaries of a twin pair)
    for b in bins {
        let id = b.theirs.iter().next().unwrap();
        let osv: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(osv_dir().join(format!("{id}.json"))).unwrap(),
        )
        .unwrap();
        let Some(cve) = osv["aliases"].as_array().and_then(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .find(|x| x.starts_with("CVE-"))
        }) else {
            continue;
        };
        let v = l.json(&["affected", cve]);
        let rows = v
            .as_array()
            .unwrap_or_else(|| panic!("affected --json is not an array: {v}"));
        assert!(
            rows.iter()
                .any(|r| r["digest"] == b.digest.as_str() && r["advisory"] == id.as_str()),
            "{}: affected {cve} (alias of {id}) does not list {}: {v}",
            b.name,
            b.digest
        );
    }

    // `changes --since 1h` shows the findings added by the scans: every advisory govulncheck
    // reports is an "added" change naming the binary's digest
    let ch = l.json(&["changes", "--since", "1h"]);
    let rows = ch
        .as_array()
        .unwrap_or_else(|| panic!("changes --json is not an array: {ch}"));
    for b in bins {
        for id in &b.theirs {
            assert!(
                rows.iter().any(|r| r["change"] == "added"
                    && r["advisory"] == id.as_str()
                    && r["digests"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|x| x == b.digest.as_str()))),
                "changes --since 1h has no added {id} for {} ({})",
                b.name,
                b.digest
            );
        }
    }
    // and nothing was removed
    assert!(
        !rows.iter().any(|r| r["change"] == "removed"),
        "unexpected removals: {ch}"
    );
}

#[test]
fn govulncheck_findings_are_among_ours_sqlite() {
    if !require_all() {
        return;
    }
    differential(&Ledger::sqlite());
}

#[test]
fn govulncheck_findings_are_among_ours_postgres() {
    if !require_all() {
        return;
    }
    if let Some(l) = Ledger::postgres() {
        differential(&l);
    }
}

/// (advisory, kind, reachability state, reachability trust) of every finding `vulns` lists for
/// `digest`, "-" where a field is absent.
fn reachability_rows(l: &Ledger, digest: &str) -> Vec<(String, String, String, String)> {
    let field = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    l.json(&["vulns", digest])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["advisory"].as_str().unwrap().to_string(),
                field(&r["kind"]),
                field(&r["reachability"]["state"]),
                field(&r["reachability"]["trust"]),
            )
        })
        .collect()
}

fn require_umoci() -> bool {
    buildledger_testkit::tools::on_path("umoci")
        || missing("umoci is not installed (apt-get install -y umoci)")
}

/// The xnet binary in a real OCI image (umoci), scanned under the image's own digest: the verdicts
/// are those of the `file:` scan of the same binary, now `observed`, and the built-in policy counts
/// exactly the findings that are not `absent`.
fn observed_image(l: &Ledger) {
    use buildledger_testkit::oci::umoci;
    let bins = built();
    let xnet = bins.iter().find(|b| b.name == "xnet").unwrap();
    l.ok(&["feed", "import", osv_dir().to_str().unwrap()]);
    l.ok(&[
        "scan",
        &format!("file:{}", xnet.path.display()),
        "--record",
        "--digest",
        &xnet.digest,
    ]);
    let layout = l.path("layout");
    umoci(&["init", "--layout", layout.to_str().unwrap()]);
    let image = format!("{}:xnet", layout.display());
    umoci(&["new", "--image", &image]);
    umoci(&[
        "insert",
        "--image",
        &image,
        xnet.path.to_str().unwrap(),
        "/usr/local/bin/xnet",
    ]);
    let scanned = l.json(&["scan", &format!("oci:{image}"), "--record", "--json"]);
    let digest = scanned["scan"]["image"]["manifest_digest"]
        .as_str()
        .unwrap_or_else(|| panic!("scan --json has no manifest digest: {scanned}"))
        .to_string();
    let states = |d: &str| -> BTreeMap<String, (String, String)> {
        reachability_rows(l, d)
            .into_iter()
            .filter(|(_, kind, _, _)| kind == "vuln")
            .map(|(advisory, _, state, trust)| (advisory, (state, trust)))
            .collect()
    };
    let image_states = states(&digest);
    let file_states = states(&xnet.digest);
    assert!(!image_states.is_empty());
    for (id, (state, trust)) in &image_states {
        assert_eq!(trust, "observed", "{id}: the image's own digest");
        assert_eq!(
            Some(state),
            file_states.get(id).map(|s| &s.0),
            "{id}: image vs file scan"
        );
    }
    let absent: BTreeSet<&String> = image_states
        .iter()
        .filter(|(_, (s, _))| s == "absent")
        .map(|(id, _)| id)
        .collect();
    assert!(
        !absent.is_empty(),
        "the fixture links x/net without calling most of it"
    );
    let eval = l.json(&["policy", "eval", "--digest", &digest, "--env", "staging"]);
    let flagged: BTreeSet<String> = eval["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["advisory"].as_str().map(String::from))
        .collect();
    let expected: BTreeSet<String> = eval["input"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "vuln" && f["fix_available"] == true)
        .filter(|f| f["reachability"]["state"] != "absent")
        .map(|f| f["advisory"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        flagged, expected,
        "policy counts exactly the findings not absent"
    );
    assert!(flagged.iter().all(|id| !absent.contains(id)));
    assert!(!flagged.is_empty() && eval["decision"] == "deny", "{eval}");
    eprintln!(
        "[{}] observed image: {} Go findings, {} absent and set aside by the policy, {} counted",
        l.engine(),
        image_states.len(),
        absent.len(),
        flagged.len()
    );
    // the same binary scanned under a named digest (unverified) changes nothing: every fixable
    // finding counts there
    let eval = l.json(&[
        "policy",
        "eval",
        "--digest",
        &xnet.digest,
        "--env",
        "staging",
    ]);
    let counted = eval["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "fixable-severe-finding")
        .count();
    let fixable = eval["input"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "vuln" && f["fix_available"] == true)
        .count();
    assert_eq!(counted, fixable, "unverified verdicts change nothing");
}

#[test]
fn an_observed_image_sets_absent_findings_aside_sqlite() {
    if !require_all() || !require_umoci() {
        return;
    }
    observed_image(&Ledger::sqlite());
}

#[test]
fn an_observed_image_sets_absent_findings_aside_postgres() {
    if !require_all() || !require_umoci() {
        return;
    }
    if let Some(l) = Ledger::postgres() {
        observed_image(&l);
    }
}
