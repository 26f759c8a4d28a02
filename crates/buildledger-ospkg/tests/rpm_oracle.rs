//! Differential tests of the three rpmdb readers against rpm itself (rpm 4.18 from apt for
//! SQLite and BerkeleyDB, rpm 4.16 from the pip package rpm-inspector-rpm for NDB). rpm always
//! runs on a copy of the database in a temporary directory.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use buildledger_ospkg::{
    OsPackage, OsRelease, parse_rpmdb_bdb, parse_rpmdb_ndb, parse_rpmdb_sqlite,
};
use common::*;

const QF: &str =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\n";
const QF_FILES: &str = "[%{=NAME}-%{=VERSION}-%{=RELEASE}.%{=ARCH}\\t%{FILENAMES}\\n]";

/// How to invoke the oracle rpm for one backend.
struct Rpm {
    bin: PathBuf,
    pre: Vec<String>,
}

impl Rpm {
    fn system(backend: &str) -> Option<Rpm> {
        if !require_tool("rpm") {
            return None;
        }
        Some(Rpm {
            bin: "rpm".into(),
            pre: vec!["--define".into(), format!("_db_backend {backend}")],
        })
    }
    fn v416() -> Option<Rpm> {
        let dir = require_rpm416()?;
        Some(Rpm {
            bin: dir.join("rpm"),
            pre: vec!["--rcfile".into(), dir.join("rpmrc").display().to_string()],
        })
    }
    fn query(&self, dbdir: &Path, qf: &str) -> String {
        run(Command::new(&self.bin)
            .args(&self.pre)
            .arg("--dbpath")
            .arg(dbdir)
            .args(["-qa", "--qf", qf]))
    }
}

fn nevra(p: &OsPackage) -> String {
    format!(
        "{}-{}.{}",
        p.name,
        p.version,
        p.arch.as_deref().unwrap_or("(none)")
    )
}

fn none_to_opt(s: &str) -> Option<String> {
    (s != "(none)").then(|| s.to_string())
}

/// Compare our packages with rpm's view of the same database, field by field, and all file lists.
fn check_against_rpm(
    rel: &str,
    expected_count: usize,
    rpm: Rpm,
    ours: impl Fn(&[u8], &str) -> Vec<OsPackage>,
) {
    let Some(src) = require_data(rel) else { return };
    let tmp = TempDir::new("rpmdb");
    let _copy = copy_into(&src, tmp.path());
    let bytes = std::fs::read(&src).expect("read db");
    let pkgs = ours(&bytes, rel);
    assert_eq!(pkgs.len(), expected_count, "package count for {rel}");

    let oracle = rpm.query(tmp.path(), QF);
    let mut want = BTreeMap::new();
    for line in oracle.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 7, "oracle line {line:?}");
        let version = format!("{}-{}", f[2], f[3]);
        let key = format!("{}-{}.{}", f[0], version, f[4]);
        let src_rpm = none_to_opt(f[5]);
        // Source name/version from the file name "name-version-release.src.rpm".
        let (sname, sver) = match src_rpm.as_deref().and_then(|s| s.strip_suffix(".src.rpm")) {
            Some(stem) => {
                let mut it = stem.rsplitn(3, '-');
                let (r, v, n) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
                (Some(n.to_string()), Some(format!("{v}-{r}")))
            }
            None => (None, Some(version.clone())),
        };
        let row = (
            f[0].to_string(),
            f[1].parse::<u32>().ok(),
            version,
            none_to_opt(f[4]),
            sname,
            sver,
            none_to_opt(f[6]),
        );
        assert!(want.insert(key.clone(), row).is_none(), "duplicate {key}");
    }
    let mut got = BTreeMap::new();
    for p in &pkgs {
        assert_eq!(p.db_path, rel);
        let row = (
            p.name.clone(),
            p.epoch,
            p.version.clone(),
            p.arch.clone(),
            p.source_name.clone(),
            p.source_version.clone(),
            p.license.clone(),
        );
        assert!(
            got.insert(nevra(p), row).is_none(),
            "duplicate {}",
            nevra(p)
        );
    }
    assert_eq!(want.len(), expected_count, "oracle count for {rel}");
    for (k, w) in &want {
        assert_eq!(got.get(k), Some(w), "{rel}: package {k}");
    }
    assert_eq!(got.len(), want.len());

    // File lists of every package.
    let mut want_files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in rpm.query(tmp.path(), QF_FILES).lines() {
        let (k, f) = line.split_once('\t').expect("files line");
        want_files
            .entry(k.to_string())
            .or_default()
            .insert(f.to_string());
    }
    let mut nfiles = 0;
    for p in &pkgs {
        let ours: BTreeSet<String> = p.files.iter().cloned().collect();
        assert_eq!(ours.len(), p.files.len(), "{}: duplicate files", nevra(p));
        let theirs = want_files.remove(&nevra(p)).unwrap_or_default();
        let extra: Vec<_> = ours.difference(&theirs).take(5).collect();
        let lacking: Vec<_> = theirs.difference(&ours).take(5).collect();
        assert!(
            extra.is_empty() && lacking.is_empty(),
            "{rel}: files of {}: {} ours vs {} rpm; only ours (first 5): {extra:?}; only rpm: {lacking:?}",
            nevra(p),
            ours.len(),
            theirs.len()
        );
        nfiles += ours.len();
    }
    assert!(
        want_files.is_empty(),
        "oracle lists files for unknown packages: {:?}",
        want_files.keys()
    );
    assert!(nfiles > 0, "no files at all in {rel}");
    eprintln!("{rel}: {} packages, {nfiles} files match rpm", pkgs.len());
}

#[test]
fn sqlite_matches_rpm() {
    let Some(rpm) = Rpm::system("sqlite") else {
        return;
    };
    check_against_rpm("rpmdb/cbl-mariner-2.0/rpmdb.sqlite", 129, rpm, |b, p| {
        parse_rpmdb_sqlite(b, p).expect("parse sqlite rpmdb")
    });
}

#[test]
fn ndb_matches_rpm() {
    let Some(rpm) = Rpm::v416() else { return };
    check_against_rpm("rpmdb/sle15-bci/Packages.db", 35, rpm, |b, p| {
        parse_rpmdb_ndb(b, p).expect("parse ndb rpmdb")
    });
}

#[test]
fn bdb_matches_rpm() {
    let Some(rpm) = Rpm::system("bdb_ro") else {
        return;
    };
    check_against_rpm("rpmdb/libuuid/Packages", 1, rpm, |b, p| {
        parse_rpmdb_bdb(b, p).expect("parse bdb rpmdb")
    });
}

#[test]
fn sqlite_file_entry_point_agrees_with_bytes() {
    let Some(src) = require_data("rpmdb/cbl-mariner-2.0/rpmdb.sqlite") else {
        return;
    };
    // Opened in place, read-only and immutable: the shared directory is read-only.
    let side = |ext: &str| {
        let p = src.parent().unwrap().join(format!("rpmdb.sqlite-{ext}"));
        std::fs::metadata(&p)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let before = (side("wal"), side("shm"));
    let a = buildledger_ospkg::parse_rpmdb_sqlite_file(&src, "x").expect("file");
    let b = parse_rpmdb_sqlite(&std::fs::read(&src).unwrap(), "x").expect("bytes");
    assert_eq!(a, b);
    // Immutable open: no -wal/-shm side files appear (or change) next to the
    // database. (Another tool run as root may have left some before.)
    assert_eq!(
        (side("wal"), side("shm")),
        before,
        "side files created or touched"
    );
}

#[test]
fn rpm_purls() {
    let Some(src) = require_data("rpmdb/cbl-mariner-2.0/rpmdb.sqlite") else {
        return;
    };
    let pkgs =
        parse_rpmdb_sqlite(&std::fs::read(&src).unwrap(), "var/lib/rpm/rpmdb.sqlite").unwrap();
    let distro = OsRelease {
        id: "mariner".into(),
        version_id: Some("2.0".into()),
        ..Default::default()
    };
    let ca = pkgs
        .iter()
        .find(|p| p.name == "ca-certificates-base")
        .expect("ca-certificates-base");
    assert_eq!(
        ca.purl(Some(&distro)),
        format!(
            "pkg:rpm/mariner/ca-certificates-base@{}?arch=noarch&distro=mariner-2.0&epoch=1",
            ca.version
        )
    );
    let glibc = pkgs.iter().find(|p| p.name == "glibc").expect("glibc");
    // Round-trip through the purl parser: what we emit is a valid purl with the same parts.
    let purl: packageurl::PackageUrl = glibc.purl(Some(&distro)).parse().expect("valid purl");
    assert_eq!(purl.version(), Some(glibc.version.as_str()));
    assert_eq!(purl.namespace(), Some("mariner"));
    assert_eq!(purl.qualifiers().get("epoch"), None);
}
