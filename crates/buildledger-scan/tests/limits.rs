//! The scan's memory budget and its refusal to record partial results, on
//! `dir:` trees built here (sparse files: large, but free to make), with
//! this machine's own `/var/lib/dpkg/status` as the real database.

use std::path::Path;

use buildledger_image::{ImageError, LimitKind, NoProgress, OpenOptions, SourceSpec};
use buildledger_model::Digest;
use buildledger_scan::{RecordError, ScanError, scan};

const DIGEST: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn sparse(p: &Path, len: u64) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::File::create(p).unwrap().set_len(len).unwrap();
}

fn opts(f: impl FnOnce(&mut buildledger_image::Limits)) -> OpenOptions {
    let mut o = OpenOptions::default();
    f(&mut o.limits);
    o
}

#[test]
fn package_databases_are_charged_before_they_are_read() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..6 {
        sparse(
            &d.path().join(format!("var/lib/dpkg/status.d/pkg{i}")),
            200 << 20,
        );
    }
    let spec = SourceSpec::Dir(d.path().to_path_buf());
    let err = scan(
        &spec,
        &opts(|l| l.max_buffered_bytes = 64 << 20),
        &mut NoProgress,
    )
    .unwrap_err();
    let ScanError::Image(ImageError::Limit(l)) = &err else {
        panic!("expected a limit error, got {err}")
    };
    assert_eq!(l.kind, LimitKind::BufferedBytes);
    assert_eq!(l.value, 64 << 20);
    assert!(l.what.contains("var/lib/dpkg/status.d/pkg"), "{l}");
}

#[test]
fn databases_are_parsed_one_at_a_time() {
    let Ok(status) = std::fs::read("/var/lib/dpkg/status") else {
        eprintln!("SKIP: no /var/lib/dpkg/status on this machine");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    // Three copies under status.d: the budget holds one raw copy at a time
    // plus the parsed packages, not all three raw copies.
    for i in 0..3 {
        let p = d.path().join(format!("var/lib/dpkg/status.d/copy{i}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &status).unwrap();
    }
    let spec = SourceSpec::Dir(d.path().to_path_buf());
    let res = scan(&spec, &OpenOptions::default(), &mut NoProgress).unwrap();
    assert!(!res.packages.is_empty());
    assert!(
        res.peak_buffered < 2 * status.len() as u64 + res.packages.len() as u64 * 1024,
        "peak {} for 3 x {} bytes",
        res.peak_buffered,
        status.len()
    );
    assert!(res.is_complete(), "{:?}", res.warnings);
    let d: Digest = Digest::parse(DIGEST).unwrap();
    res.to_record(Some(&d)).unwrap();
}

#[test]
fn a_skipped_file_makes_the_result_unrecordable() {
    let Ok(status) = std::fs::read("/var/lib/dpkg/status") else {
        eprintln!("SKIP: no /var/lib/dpkg/status on this machine");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("var/lib/dpkg/status");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, &status).unwrap();
    let spec = SourceSpec::Dir(d.path().to_path_buf());
    let digest = Digest::parse(DIGEST).unwrap();
    let res = scan(&spec, &opts(|l| l.max_file_bytes = 1024), &mut NoProgress).unwrap();
    assert!(res.packages.is_empty());
    assert!(!res.is_complete());
    match res.to_record(Some(&digest)) {
        Err(RecordError::Incomplete { count: 1, first }) => {
            assert!(
                first.contains("var/lib/dpkg/status") && first.contains("max_file_bytes"),
                "{first}"
            )
        }
        other => panic!("expected an incomplete result, got {other:?}"),
    }
    // A database that does not parse is a skip too.
    std::fs::write(&p, b" continuation without a field\n").unwrap();
    let res = scan(&spec, &OpenOptions::default(), &mut NoProgress).unwrap();
    assert!(
        matches!(
            res.to_record(Some(&digest)),
            Err(RecordError::Incomplete { .. })
        ),
        "{:?}",
        res.warnings
    );
    // The whole database: complete, recordable.
    std::fs::write(&p, &status).unwrap();
    let res = scan(&spec, &OpenOptions::default(), &mut NoProgress).unwrap();
    assert!(res.is_complete(), "{:?}", res.warnings);
    assert!(!res.packages.is_empty());
    res.to_record(Some(&digest)).unwrap();
}
