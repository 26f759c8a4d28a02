//! OSV records in YAML (the form the PyPI advisory database keeps them in): the whole shared PyPI
//! database, written as YAML by Python's own YAML library (PyYAML, `safe_dump`), loads to exactly
//! the advisories its JSON gives, in `auto` and `osv` formats, and Alpine secdb YAML next to it is
//! still read as secdb.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use buildledger_feed::{Format, Limits, load_paths};

fn load(dir: &Path, format: Format) -> buildledger_feed::LoadReport {
    load_paths(
        &[dir.to_path_buf()],
        format,
        &Limits::default(),
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn pypi_database_in_yaml_loads_as_its_json_does() {
    let Some(json_dir) = common::shared_data("osv/PyPI") else {
        return;
    };
    if !common::require_tool(
        "python3",
        &["-c", "import yaml"],
        "python3 with PyYAML (pip install pyyaml)",
    ) {
        return;
    }
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("osv-yaml");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let script = r#"
import json, os, sys, yaml
src, dst = sys.argv[1], sys.argv[2]
n = 0
for name in sorted(os.listdir(src)):
    if name.endswith(".json"):
        with open(os.path.join(src, name)) as f:
            doc = json.load(f)
        with open(os.path.join(dst, name[:-5] + ".yaml"), "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
        n += 1
print(n)
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&json_dir)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    let from_json = load(&json_dir, Format::Osv);
    assert!(from_json.errors.is_empty(), "{:?}", &from_json.errors[..1]);
    for format in [Format::Auto, Format::Osv] {
        let from_yaml = load(&out, format);
        assert!(
            from_yaml.errors.is_empty(),
            "{format:?}: {:?}",
            &from_yaml.errors[..from_yaml.errors.len().min(3)]
        );
        assert!(
            from_yaml.scopes.is_empty(),
            "read as secdb: {:?}",
            from_yaml.scopes
        );
        assert_eq!(from_yaml.advisories.len(), written);
        assert_eq!(from_yaml.advisories.len(), from_json.advisories.len());
        for (y, j) in from_yaml.advisories.iter().zip(&from_json.advisories) {
            // the content hash is of the bytes read; everything else must be equal
            let mut y = y.clone();
            y.content_hash = j.content_hash.clone();
            assert_eq!(&y, j, "{format:?}: {}", j.id);
        }
    }
    eprintln!("{written} PyPI advisories: YAML and JSON load alike");
}

#[test]
fn a_yaml_document_that_is_not_osv_is_still_secdb_and_bad_yaml_is_reported() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("osv-yaml-mixed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.yaml"),
        "distroversion: v3.10\nreponame: main\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.22-r3:\n          - CVE-2019-14697\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("PYSEC-0000-1.yaml"),
        "id: PYSEC-0000-1\nmodified: '2021-01-01T00:00:00Z'\naffected: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
    )
    .unwrap();
    let r = load(&dir, Format::Auto);
    assert_eq!(r.scopes, vec!["Alpine:v3.10/main".to_string()]);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].message.contains("nested deeper"),
        "{:?}",
        r.errors
    );
}
