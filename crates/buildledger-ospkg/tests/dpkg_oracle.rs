//! dpkg status parsing against dpkg-query on this machine's real status file, a copy edited to
//! hold non-installed states, and a distroless-style status.d split; deb purls against syft.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use buildledger_ospkg::{OsPackage, PkgEcosystem, parse_dpkg_status, parse_os_release};
use common::*;

const STATUS: &str = "/var/lib/dpkg/status";

type Row = (String, String, String); // version, source name, source version

/// dpkg-query's view of the installed packages in an admin dir, keyed by (name, arch).
fn dpkg_query(admindir: &Path) -> BTreeMap<(String, String), Row> {
    let out = run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args([
            "-W",
            "-f=${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${db:Status-Abbrev}\\n",
        ]));
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 6, "dpkg-query line {line:?}");
        // Status-Abbrev: want, state, error; state 'i' = installed.
        if f[5].as_bytes().get(1) != Some(&b'i') {
            continue;
        }
        let key = (f[0].to_string(), f[1].to_string());
        let row = (f[2].to_string(), f[3].to_string(), f[4].to_string());
        assert!(m.insert(key.clone(), row).is_none(), "duplicate {key:?}");
    }
    m
}

fn ours_map(pkgs: &[OsPackage]) -> BTreeMap<(String, String), Row> {
    let mut m = BTreeMap::new();
    for p in pkgs {
        assert_eq!(p.ecosystem, PkgEcosystem::Deb);
        let key = (p.name.clone(), p.arch.clone().unwrap_or_default());
        let row = (
            p.version.clone(),
            p.source_name.clone().unwrap_or_default(),
            p.source_version.clone().unwrap_or_default(),
        );
        assert!(m.insert(key.clone(), row).is_none(), "duplicate {key:?}");
    }
    m
}

fn assert_same(
    ours: &BTreeMap<(String, String), Row>,
    want: &BTreeMap<(String, String), Row>,
    what: &str,
) {
    for (k, w) in want {
        assert_eq!(ours.get(k), Some(w), "{what}: {k:?}");
    }
    let extra: Vec<_> = ours
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        extra.is_empty(),
        "{what}: packages dpkg-query does not list: {extra:?}"
    );
}

fn have_status() -> bool {
    if !require_tool("dpkg-query") {
        return false;
    }
    Path::new(STATUS).is_file() || missing(STATUS)
}

#[test]
fn real_status_matches_dpkg_query() {
    if !have_status() {
        return;
    }
    let pkgs = parse_dpkg_status(&std::fs::read(STATUS).unwrap(), STATUS).expect("parse status");
    let want = dpkg_query(Path::new("/var/lib/dpkg"));
    assert!(
        want.len() > 10,
        "too few installed packages to be meaningful"
    );
    assert_same(&ours_map(&pkgs), &want, "real status");
    assert!(
        pkgs.iter()
            .all(|p| p.db_path == STATUS && p.files.is_empty())
    );
}

/// Paragraphs of a status file (split on blank lines).
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.trim_matches('\n').to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[test]
fn edited_status_only_installed_come_out() {
    if !have_status() {
        return;
    }
    let text = std::fs::read_to_string(STATUS).unwrap();
    let mut paras = paragraphs(&text);
    assert!(paras.len() >= 8);
    // Turn a few installed packages into other states dpkg knows.
    let states = [
        "deinstall ok config-files",
        "install ok half-installed",
        "install reinstreq half-installed",
        "install ok unpacked",
        "deinstall ok half-configured",
        "hold ok installed",
        "deinstall ok installed",
    ];
    let mut edited = 0;
    for (p, st) in paras
        .iter_mut()
        .zip(states.iter().cycle())
        .skip(1)
        .step_by(3)
    {
        if edited == states.len() {
            break;
        }
        if !p.contains("\nStatus: install ok installed") {
            continue;
        }
        *p = p.replace("\nStatus: install ok installed", &format!("\nStatus: {st}"));
        edited += 1;
    }
    assert_eq!(edited, states.len());
    let tmp = TempDir::new("dpkg-edit");
    std::fs::create_dir_all(tmp.path().join("updates")).unwrap();
    std::fs::create_dir_all(tmp.path().join("info")).unwrap();
    let new = paras.join("\n\n") + "\n";
    std::fs::write(tmp.path().join("status"), &new).unwrap();

    let pkgs = parse_dpkg_status(new.as_bytes(), "status").expect("parse edited");
    let want = dpkg_query(tmp.path());
    let all = dpkg_query(Path::new("/var/lib/dpkg"));
    // dpkg-query itself dropped the packages we moved out of "installed" (but kept the
    // "hold"/"deinstall" ones whose state is still installed).
    let gone = states.iter().filter(|s| !s.ends_with(" installed")).count();
    assert_eq!(all.len() - want.len(), gone);
    assert_same(&ours_map(&pkgs), &want, "edited status");
}

#[test]
fn status_d_split_matches_dpkg_query() {
    if !have_status() {
        return;
    }
    let text = std::fs::read_to_string(STATUS).unwrap();
    let want = dpkg_query(Path::new("/var/lib/dpkg"));
    let tmp = TempDir::new("status-d");
    // distroless: one file per installed package, no Status field.
    let mut n = 0;
    for p in paragraphs(&text) {
        if !p.contains("\nStatus: ")
            || !p
                .lines()
                .any(|l| l.starts_with("Status:") && l.ends_with(" installed"))
        {
            continue;
        }
        let body: Vec<&str> = p.lines().filter(|l| !l.starts_with("Status:")).collect();
        let name = body[0].trim_start_matches("Package: ").to_string();
        std::fs::write(
            tmp.path().join(format!("{name}-{n}")),
            body.join("\n") + "\n",
        )
        .unwrap();
        n += 1;
    }
    let mut pkgs = Vec::new();
    for e in std::fs::read_dir(tmp.path()).unwrap() {
        let e = e.unwrap();
        let path = format!("var/lib/dpkg/status.d/{}", e.file_name().to_string_lossy());
        let mut got = parse_dpkg_status(&std::fs::read(e.path()).unwrap(), &path)
            .expect("parse status.d file");
        assert_eq!(got.len(), 1, "{path}");
        assert_eq!(got[0].db_path, path);
        pkgs.append(&mut got);
    }
    assert_eq!(pkgs.len(), want.len());
    assert_same(&ours_map(&pkgs), &want, "status.d");
}

#[test]
fn deb_purls_match_syft() {
    if !have_status() || !require_tool("syft") {
        return;
    }
    let tmp = TempDir::new("syft-deb");
    std::fs::create_dir_all(tmp.path().join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(tmp.path().join("etc")).unwrap();
    std::fs::copy(STATUS, tmp.path().join("var/lib/dpkg/status")).unwrap();
    std::fs::copy("/etc/os-release", tmp.path().join("etc/os-release")).unwrap();
    let out = run(Command::new("syft")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .args(["scan", "-q", "-o", "json"])
        .arg(format!("dir:{}", tmp.path().display())));
    let v: serde_json::Value = serde_json::from_str(&out).expect("syft json");
    let mut want = BTreeMap::new();
    for a in v["artifacts"].as_array().expect("artifacts") {
        if a["type"] == "deb" {
            let arch = a["metadata"]["architecture"]
                .as_str()
                .unwrap_or("")
                .to_string();
            want.insert(
                (a["name"].as_str().unwrap().to_string(), arch),
                a["purl"].as_str().unwrap().to_string(),
            );
        }
    }
    let distro = parse_os_release(&std::fs::read("/etc/os-release").unwrap()).unwrap();
    let pkgs = parse_dpkg_status(&std::fs::read(STATUS).unwrap(), STATUS).unwrap();
    assert_eq!(pkgs.len(), want.len(), "syft deb package count");
    for p in &pkgs {
        let key = (p.name.clone(), p.arch.clone().unwrap_or_default());
        assert_eq!(
            Some(&p.purl(Some(&distro))),
            want.get(&key),
            "purl of {key:?}"
        );
    }
}
