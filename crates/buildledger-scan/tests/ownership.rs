//! Language packages that an OS package installed are reported once, as the OS package: the real
//! Alpine 3.14 package database from `../shared`, with one entry added in apk's own format (an
//! apk `py3-six` owning a `six-*.dist-info` directory, as Alpine's package does), next to the
//! same kind of metadata that no package owns.

use std::path::Path;

use buildledger_image::{NoProgress, OpenOptions, SourceSpec};
use buildledger_scan::scan;

const METADATA: &str = "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n\n";

#[test]
fn apk_owned_python_metadata_is_the_os_package() {
    let Some(shared) = buildledger_testkit::shared::require_data("alpine-rootfs-3.14") else {
        return;
    };
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ownership");
    let _ = std::fs::remove_dir_all(&root);
    let db = root.join("lib/apk/db");
    std::fs::create_dir_all(&db).unwrap();
    let mut installed = std::fs::read_to_string(shared.join("lib/apk/db/installed")).unwrap();
    installed.push_str(
        "C:Q1xxxxxxxxxxxxxxxxxxxxxxxxxxx=\nP:py3-six\nV:1.15.0-r1\nA:x86_64\no:py3-six\nL:MIT\n\
         F:usr/lib/python3.9/site-packages/six-1.15.0-py3.9.egg-info\nR:PKG-INFO\n\n",
    );
    std::fs::write(db.join("installed"), installed).unwrap();
    std::fs::copy(shared.join("etc/os-release"), {
        std::fs::create_dir_all(root.join("etc")).unwrap();
        root.join("etc/os-release")
    })
    .unwrap();
    let owned = root.join("usr/lib/python3.9/site-packages/six-1.15.0-py3.9.egg-info");
    std::fs::create_dir_all(&owned).unwrap();
    std::fs::write(owned.join("PKG-INFO"), METADATA.replace("1.16.0", "1.15.0")).unwrap();
    let mine = root.join("app/site/six-1.16.0.dist-info");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("METADATA"), METADATA).unwrap();

    let spec = SourceSpec::Dir(root.clone());
    let r = scan(&spec, &OpenOptions::default(), &mut NoProgress).unwrap();
    let purls: Vec<String> = r
        .components()
        .iter()
        .map(|c| c.purl.as_str().to_string())
        .collect();
    assert!(
        purls
            .iter()
            .any(|p| p.starts_with("pkg:apk/alpine/py3-six@1.15.0-r1")),
        "{purls:?}"
    );
    assert!(
        purls.contains(&"pkg:pypi/six@1.16.0".to_string()),
        "{purls:?}"
    );
    assert!(
        !purls.contains(&"pkg:pypi/six@1.15.0".to_string()),
        "{purls:?}"
    );
    assert_eq!(r.os_owned_languages.len(), 1);
    assert_eq!(
        r.os_owned_languages[0].package.location,
        "usr/lib/python3.9/site-packages/six-1.15.0-py3.9.egg-info/PKG-INFO"
    );
    assert_eq!(r.os_owned_languages[0].owner, "py3-six");
    // The OS package carries the language purl as an alias (for the SBOMs only).
    let aliases = r.aliases();
    let (os, alias) = aliases.iter().next().expect("one aliased OS package");
    assert!(
        os.starts_with("pkg:apk/alpine/py3-six@1.15.0-r1"),
        "{aliases:?}"
    );
    assert_eq!(alias, &vec!["pkg:pypi/six@1.15.0".to_string()]);
}
