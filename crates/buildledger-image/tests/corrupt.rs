//! Hand-made corrupt and hostile layers through the fuzz entry point
//! (`walk_layer_bytes` / `walk_layer_reader`): errors, never panics, every
//! limit enforced while reading, and paths never escape the root. Also
//! `parse_source` spellings.

use std::io::{Read, Write};

use buildledger_image::{
    EntryKind, FileEntry, ImageError, LimitKind, Limits, OpenOptions, SourceSpec, Visitor, Warning,
    parse_source, walk_layer_bytes, walk_layer_reader,
};

fn with(f: impl FnOnce(&mut Limits)) -> OpenOptions {
    let mut o = OpenOptions::default();
    f(&mut o.limits);
    o
}

fn limit_of(r: Result<impl std::fmt::Debug, ImageError>) -> LimitKind {
    match r {
        Err(ImageError::Limit(l)) => l.kind,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[derive(Default)]
struct Collect {
    entries: Vec<FileEntry>,
    warnings: Vec<Warning>,
    bytes: u64,
}

impl Visitor for Collect {
    fn wants(&mut self, e: &FileEntry) -> bool {
        self.entries.push(e.clone());
        true
    }
    fn visit(&mut self, _: &FileEntry, r: &mut dyn Read) -> std::io::Result<()> {
        self.bytes += std::io::copy(r, &mut std::io::sink())?;
        Ok(())
    }
    fn warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}

/// A ustar header block with a raw name (bypassing the tar crate's path
/// checks, as a hostile image would).
fn raw_entry(out: &mut Vec<u8>, name: &[u8], typeflag: u8, data: &[u8], link: &[u8]) {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
        old.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::new(typeflag));
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn hostile_paths_are_normalised_and_never_escape() {
    let mut t = Vec::new();
    raw_entry(&mut t, b"../../etc/passwd", b'0', b"root", b"");
    raw_entry(&mut t, b"/abs/file", b'0', b"abs", b"");
    raw_entry(&mut t, b"./a/./b/../../../c", b'0', b"c", b"");
    raw_entry(&mut t, b"link", b'1', b"", b"../../abs/file");
    raw_entry(&mut t, b"sym", b'2', b"", b"/etc/shadow");
    raw_entry(&mut t, b"dir/.wh...", b'0', b"", b"");
    t.extend_from_slice(&[0u8; 1024]);
    for blob in [t.clone(), gzip(&t), zstd::encode_all(&t[..], 3).unwrap()] {
        let mut c = Collect::default();
        let stats = walk_layer_bytes(&blob, &mut c).unwrap();
        let paths: Vec<&str> = c.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["etc/passwd", "abs/file", "c", "link", "sym", "abs", "etc"]
        );
        assert!(
            c.entries
                .iter()
                .all(|e| !e.path.starts_with('/')
                    && !e.path.split('/').any(|p| p == ".." || p == "."))
        );
        assert_eq!(c.entries[3].kind, EntryKind::HardLink);
        assert_eq!(c.entries[3].link_target.as_deref(), Some("abs/file"));
        assert_eq!(c.entries[4].link_target.as_deref(), Some("/etc/shadow"));
        // Two clamped '..' paths and one malformed whiteout.
        assert_eq!(
            c.warnings
                .iter()
                .filter(|w| w.message.contains("'..'"))
                .count(),
            2,
            "{:?}",
            c.warnings
        );
        assert!(
            c.warnings
                .iter()
                .any(|w| w.message.contains("malformed whiteout"))
        );
        assert_eq!(stats.visible, 7);
        assert_eq!(c.bytes, 4 + 3 + 1);
    }
}

#[test]
fn whiteouts_in_one_layer_do_not_hide_their_own_layer() {
    let mut t = Vec::new();
    raw_entry(&mut t, b"d/.wh..wh..opq", b'0', b"", b"");
    raw_entry(&mut t, b"d/.wh.x", b'0', b"", b"");
    raw_entry(&mut t, b"d/x", b'0', b"x", b"");
    t.extend_from_slice(&[0u8; 1024]);
    let mut c = Collect::default();
    walk_layer_bytes(&t, &mut c).unwrap();
    let paths: Vec<&str> = c.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["d/x", "d"]);
}

#[test]
fn corrupt_blobs_are_errors_not_panics() {
    let mut t = Vec::new();
    raw_entry(&mut t, b"file", b'0', &[7u8; 3000], b"");
    t.extend_from_slice(&[0u8; 1024]);
    let gz = gzip(&t);
    let zs = zstd::encode_all(&t[..], 3).unwrap();
    let mut bad_crc = gz.clone();
    let n = bad_crc.len();
    bad_crc[n - 6] ^= 0xff;
    let mut bad_header = t.clone();
    bad_header[148] = b'x'; // checksum field
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated gzip", gz[..gz.len() / 2].to_vec()),
        ("gzip bad crc", bad_crc),
        ("gzip magic only", vec![0x1f, 0x8b]),
        (
            "zstd magic + junk",
            [&[0x28, 0xb5, 0x2f, 0xfd][..], &[0xff; 64][..]].concat(),
        ),
        ("truncated zstd", zs[..zs.len() / 2].to_vec()),
        ("truncated tar", t[..700].to_vec()),
        ("bad tar checksum", bad_header),
        ("gzip trailing junk", [&gz[..], b"junk"].concat()),
    ];
    for (name, blob) in cases {
        let mut c = Collect::default();
        match walk_layer_bytes(&blob, &mut c) {
            Err(ImageError::Layer { message, .. }) => {
                assert!(message.contains("unreadable"), "{name}: {message}")
            }
            other => panic!("{name}: expected a layer error, got {other:?}"),
        }
    }
    // Garbage that is not a tar at all, and empty input: no panic.
    for blob in [
        vec![],
        vec![0u8; 10],
        b"hello world, not a tar".to_vec(),
        vec![0xffu8; 4096],
    ] {
        let _ = walk_layer_bytes(&blob, &mut Collect::default());
    }
}

#[test]
fn gzip_and_zstd_bombs_stop_at_the_limits() {
    // 256 MiB of zeros in one tar entry, compressed on the fly.
    let size: u64 = 256 << 20;
    let mut h = tar::Header::new_gnu();
    h.set_path("zeros").unwrap();
    h.set_size(size);
    h.set_cksum();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(h.as_bytes()).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..(size >> 20) {
        enc.write_all(&chunk).unwrap();
    }
    enc.write_all(&[0u8; 1024]).unwrap();
    let gz = enc.finish().unwrap();
    assert!(gz.len() < 1 << 20);

    let small = with(|l| l.max_image_bytes = 32 << 20);
    let mut c = Collect::default();
    let r = walk_layer_reader(
        &mut &gz[..],
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &small,
        &mut c,
    );
    assert_eq!(limit_of(r), LimitKind::ImageBytes);
    // Stopped at the limit, not at the end of the 256 MiB.
    assert!(c.bytes <= (32 << 20) + (1 << 20), "{}", c.bytes);

    let ratio = with(|l| l.max_ratio = 100);
    let r = walk_layer_reader(&mut &gz[..], "", &ratio, &mut Collect::default());
    assert_eq!(limit_of(r), LimitKind::Ratio);

    // The same bytes as a zstd bomb: the ratio of zstd on zeros is far
    // above gzip's ~1000:1, so the default ratio limit stops it.
    let mut t = h.as_bytes().to_vec();
    t.resize(512 + (256 << 20), 0);
    let zs = zstd::encode_all(&t[..], 3).unwrap();
    assert!(zs.len() < 64 << 10, "{}", zs.len());
    drop(t);
    let mut c = Collect::default();
    let r = walk_layer_reader(&mut &zs[..], "", &OpenOptions::default(), &mut c);
    assert_eq!(limit_of(r), LimitKind::Ratio);
    assert!(c.bytes < 128 << 20, "{}", c.bytes);
    let tiny = with(|l| l.max_image_bytes = 8 << 20);
    let r = walk_layer_reader(&mut &zs[..], "", &tiny, &mut Collect::default());
    assert_eq!(limit_of(r), LimitKind::ImageBytes);
}

/// GNU long names and PAX headers are held in memory whole by the tar
/// reader: a 64 MiB one (zeros, so a tiny blob) must fail early.
#[test]
fn huge_tar_extension_headers_are_refused_early() {
    for typeflag in [b'L', b'x', b'K'] {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::new(typeflag));
        h.set_size(64 << 20);
        h.set_cksum();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(h.as_bytes()).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&chunk).unwrap();
        }
        let mut f = tar::Header::new_gnu();
        f.set_path("file").unwrap();
        f.set_size(0);
        f.set_cksum();
        enc.write_all(f.as_bytes()).unwrap();
        enc.write_all(&[0u8; 1024]).unwrap();
        let gz = enc.finish().unwrap();
        match walk_layer_reader(
            &mut &gz[..],
            "",
            &OpenOptions::default(),
            &mut Collect::default(),
        ) {
            Err(ImageError::Layer { message, .. }) => {
                assert!(message.contains("tar headers"), "{message}")
            }
            other => panic!(
                "{}: expected a layer error, got {other:?}",
                typeflag as char
            ),
        }
    }
    // A legitimate long name still works.
    let mut t = tar::Builder::new(Vec::new());
    let long = format!("{}/f", "d".repeat(300));
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    t.append_data(&mut h, &long, &b"x"[..]).unwrap();
    let t = t.into_inner().unwrap();
    let mut c = Collect::default();
    walk_layer_bytes(&t, &mut c).unwrap();
    assert!(c.entries.iter().any(|e| e.path == long));
}

#[test]
fn entries_and_buffered_paths_are_bounded() {
    let mut t = tar::Builder::new(Vec::new());
    for i in 0..1000 {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        t.append_data(
            &mut h,
            format!("dir/file-{i:04}-{}", "p".repeat(100)),
            &b""[..],
        )
        .unwrap();
    }
    let t = t.into_inner().unwrap();
    let r = walk_layer_reader(
        &mut &t[..],
        "",
        &with(|l| l.max_entries = 999),
        &mut Collect::default(),
    );
    assert_eq!(limit_of(r), LimitKind::Entries);
    walk_layer_reader(
        &mut &t[..],
        "",
        &with(|l| l.max_entries = 1000),
        &mut Collect::default(),
    )
    .unwrap();
    // 1000 paths of ~113 bytes plus overhead are ~177 kB of path set.
    let r = walk_layer_reader(
        &mut &t[..],
        "",
        &with(|l| l.max_buffered_bytes = 100_000),
        &mut Collect::default(),
    );
    assert_eq!(limit_of(r), LimitKind::BufferedBytes);
}

#[test]
fn time_limit_stops_the_walk() {
    let mut t = Vec::new();
    raw_entry(&mut t, b"file", b'0', b"x", b"");
    t.extend_from_slice(&[0u8; 1024]);
    let r = walk_layer_reader(
        &mut &t[..],
        "",
        &with(|l| l.max_time = std::time::Duration::ZERO),
        &mut Collect::default(),
    );
    assert_eq!(limit_of(r), LimitKind::Time);
}

#[test]
fn big_files_are_listed_but_not_read() {
    let mut t = Vec::new();
    raw_entry(&mut t, b"big", b'0', &[1u8; 5000], b"");
    t.extend_from_slice(&[0u8; 1024]);
    let opts = with(|l| l.max_file_bytes = 4096);
    let mut c = Collect::default();
    let (_, diff) = walk_layer_reader(&mut &t[..], "", &opts, &mut c).unwrap();
    assert_eq!(c.entries.len(), 1);
    assert_eq!(c.bytes, 0);
    assert!(c.warnings.iter().any(|w| w.path.as_deref() == Some("big")
        && w.skipped
        && w.message.contains("max_file_bytes")));
    // The diff ID is the sha256 of the whole tar.
    assert_eq!(diff, buildledger_testkit::oci::sha256_digest(&t));
}

#[test]
fn parse_source_spellings() {
    assert_eq!(
        parse_source("oci:/a/b:latest").unwrap(),
        SourceSpec::Oci {
            dir: "/a/b".into(),
            reference: Some("latest".into())
        }
    );
    assert_eq!(
        parse_source("oci:/a/b").unwrap(),
        SourceSpec::Oci {
            dir: "/a/b".into(),
            reference: None
        }
    );
    assert_eq!(
        parse_source("docker-archive:x.tar").unwrap(),
        SourceSpec::DockerArchive {
            file: "x.tar".into()
        }
    );
    assert_eq!(
        parse_source("registry:127.0.0.1:5000/r/x@sha256:00").unwrap(),
        SourceSpec::Registry {
            reference: "127.0.0.1:5000/r/x@sha256:00".into()
        }
    );
    assert_eq!(
        parse_source("dir:/x").unwrap(),
        SourceSpec::Dir("/x".into())
    );
    assert_eq!(
        parse_source("file:/x/y").unwrap(),
        SourceSpec::File("/x/y".into())
    );
    for bad in [
        "",
        "nothing",
        "oci:",
        "ftp:x",
        "registry:noslash",
        "oci::tag",
    ] {
        assert!(parse_source(bad).is_err(), "{bad}");
    }
}
