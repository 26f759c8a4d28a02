//! Replays the fuzz target's seeds (fuzz/seeds/langpkg_parse), every truncation of them and
//! hand-made hostile archives through the same entry points as fuzz/fuzz_targets/langpkg_parse.rs,
//! on stable: each must give packages, nothing or an error, never a panic.

use std::io::Write;
use std::path::Path;

use buildledger_langpkg::*;

fn all(data: &[u8]) {
    let _ = java_artifacts("app.war", data);
    let _ = parse_python_metadata(data);
    let _ = parse_package_json(data);
    let _ = parse_gemspec(data);
    let _ = owned_paths(data, &|_| true);
    for r in ["openjdk", "python", "node"] {
        let _ = parse_runtime_version(r, data);
    }
    let _ = parse_deps_json(data);
    let _ = parse_composer_installed(data);
    for kind in [LockKind::Npm, LockKind::Yarn, LockKind::Pnpm] {
        let _ = parse_node_lockfile(kind, data);
    }
    for (r, path) in [
        ("node", "usr/local/bin/node"),
        ("python", "usr/lib/libpython3.11.so.1.0"),
    ] {
        let _ = runtime_binary_version(r, path, &mut &data[..]);
    }
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/langpkg_parse");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn seeds_read_as_expected_and_truncations_never_panic() {
    let s = seeds();
    assert!(
        s.len() >= 7,
        "{:?}",
        s.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    let get = |suffix: &str| &s.iter().find(|(n, _)| n.ends_with(suffix)).unwrap().1;
    // the seeds are what they claim to be
    assert_eq!(
        parse_deps_json(get("deps-json")).len(),
        3,
        "runtime pack and two NuGet packages"
    );
    assert_eq!(
        parse_composer_installed(get("composer-installed")),
        vec![
            ("contao/core-bundle".to_string(), "4.4.10".to_string()),
            ("monolog/monolog".to_string(), "2.3.5".to_string()),
        ]
    );
    assert_eq!(
        parse_node_lockfile(LockKind::Npm, get("package-lock")),
        vec![
            ("is-number".to_string(), "7.0.0".to_string()),
            ("left-pad".to_string(), "1.3.0".to_string()),
        ]
    );
    assert_eq!(
        parse_node_lockfile(LockKind::Pnpm, get("pnpm-lock")),
        vec![
            ("@babel/core".to_string(), "7.0.0".to_string()),
            ("lodash".to_string(), "4.17.15".to_string()),
        ]
    );
    assert_eq!(
        parse_node_lockfile(LockKind::Yarn, get("yarn-lock")),
        vec![
            ("@babel/parser".to_string(), "7.0.0".to_string()),
            ("lodash".to_string(), "4.17.15".to_string()),
        ]
    );
    let war = java_artifacts("app.war", get("war-nested-jar")).unwrap();
    assert_eq!(war.len(), 1);
    assert_eq!(war[0].location, "app.war!/WEB-INF/lib/log4j-1.2.17.jar");
    assert_eq!(
        parse_python_metadata(get("python-metadata")),
        Some(("django".into(), "3.2".into()))
    );
    assert_eq!(
        parse_package_json(get("package-json")),
        Some(("@babel/parser".into(), "7.0.0".into()))
    );
    assert_eq!(
        parse_gemspec(get("gemspec")),
        Some(("rack".into(), "2.2.3".into()))
    );
    for (_, data) in &s {
        for cut in 0..=data.len() {
            all(&data[..cut]);
        }
        // and every single-byte flip of the archives
        if data.starts_with(b"PK") {
            for i in 0..data.len() {
                let mut d = data.clone();
                d[i] ^= 0xff;
                all(&d);
            }
        }
    }
}

fn archive(name: &str, content: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(content).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn hostile_archives_are_bounded() {
    // an archive nested deeper than MAX_DEPTH
    let mut a = archive(
        "META-INF/maven/g/a/pom.properties",
        b"groupId=g\nartifactId=a\nversion=1\n",
    );
    for _ in 0..(MAX_DEPTH + 2) {
        a = archive("lib/n.jar", &a);
    }
    assert_eq!(java_artifacts("x.jar", &a).unwrap(), vec![]);
    // a nested entry that inflates past MAX_NESTED_BYTES (zeros deflate well): refused
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("lib/big.jar", zip::write::SimpleFileOptions::default())
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=(MAX_NESTED_BYTES >> 20) {
        w.write_all(&zeros).unwrap();
    }
    let bomb = w.finish().unwrap().into_inner();
    assert!(
        bomb.len() < 1 << 20,
        "the test archive is small: {}",
        bomb.len()
    );
    let e = java_artifacts("x.jar", &bomb).unwrap_err();
    assert!(e.to_string().contains("more than the limit"), "{e}");
}
