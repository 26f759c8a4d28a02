//! Bad input never panics and never hangs: hand-made corrupt headers and databases, truncations
//! and deterministic random mutations of the real databases, replayed through the same public
//! entry points the fuzz targets (fuzz/fuzz_targets/ospkg_*.rs) use.

mod common;

use std::time::{Duration, Instant};

use buildledger_ospkg::{
    MAX_DB_SIZE, OsPkgError, parse_apk_installed, parse_dpkg_status, parse_os_release,
    parse_rpm_header, parse_rpmdb_bdb, parse_rpmdb_ndb, parse_rpmdb_sqlite,
};
use common::*;

/// A named corruption applied to a copy of a database.
type Patch<'a> = Box<dyn Fn(&mut Vec<u8>) + 'a>;
/// A database parser entry point.
type Parser = fn(&[u8], &str) -> Result<Vec<buildledger_ospkg::OsPackage>, OsPkgError>;

/// Build a header blob: entries (tag, type, offset, count) and a data store.
fn header(entries: &[(u32, u32, u32, u32)], data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    b.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for &(t, ty, o, c) in entries {
        for v in [t, ty, o, c] {
            b.extend_from_slice(&v.to_be_bytes());
        }
    }
    b.extend_from_slice(data);
    b
}

/// A small well-formed header: name "foo", version "1.0", release "2", 2 files.
fn good_header() -> Vec<u8> {
    let mut d = Vec::new();
    let name = d.len() as u32;
    d.extend_from_slice(b"foo\0");
    let ver = d.len() as u32;
    d.extend_from_slice(b"1.0\0");
    let rel = d.len() as u32;
    d.extend_from_slice(b"2\0");
    let dirs = d.len() as u32;
    d.extend_from_slice(b"/usr/bin/\0/etc/\0");
    let bases = d.len() as u32;
    d.extend_from_slice(b"foo\0foo.conf\0\0\0");
    let idx = d.len() as u32;
    d.extend_from_slice(&0u32.to_be_bytes());
    d.extend_from_slice(&1u32.to_be_bytes());
    header(
        &[
            (1000, 6, name, 1),
            (1001, 6, ver, 1),
            (1002, 6, rel, 1),
            (1116, 4, idx, 2),
            (1117, 8, bases, 2),
            (1118, 8, dirs, 2),
        ],
        &d,
    )
}

fn is_malformed(r: Result<impl std::fmt::Debug, OsPkgError>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn rpm_header_hand_made() {
    let p = parse_rpm_header(&good_header()).expect("good header");
    assert_eq!((p.name.as_str(), p.version.as_str()), ("foo", "1.0-2"));
    assert_eq!(p.files, vec!["/usr/bin/foo", "/etc/foo.conf"]);

    // Index count 1e9.
    let mut h = good_header();
    h[0..4].copy_from_slice(&1_000_000_000u32.to_be_bytes());
    assert!(is_malformed(parse_rpm_header(&h)).contains("index entry count"));
    // Data length past the end of the blob.
    let mut h = good_header();
    h[4..8].copy_from_slice(&0x0100_0000u32.to_be_bytes());
    is_malformed(parse_rpm_header(&h));
    // Truncated at every length.
    let g = good_header();
    for n in 0..g.len() {
        assert!(parse_rpm_header(&g[..n]).is_err(), "truncated to {n}");
    }
    // Offset past the data store.
    let bad = header(&[(1000, 6, 4096, 1)], b"foo\0");
    assert!(is_malformed(parse_rpm_header(&bad)).contains("offset"));
    // String not NUL-terminated.
    let bad = header(&[(1000, 6, 0, 1)], b"foo");
    is_malformed(parse_rpm_header(&bad));
    // Huge string array count and int32 count.
    let bad = header(
        &[
            (1000, 6, 0, 1),
            (1117, 8, 0, 0x7fff_ffff),
            (1118, 8, 0, 1),
            (1116, 4, 0, 1),
        ],
        b"foo\0",
    );
    is_malformed(parse_rpm_header(&bad));
    let bad = header(
        &[
            (1000, 6, 0, 1),
            (1117, 8, 0, 1),
            (1118, 8, 0, 1),
            (1116, 4, 0, 0x4000_0000),
        ],
        b"foo\0",
    );
    is_malformed(parse_rpm_header(&bad));
    // DIRINDEX out of range.
    let mut d = b"foo\0/d/\0".to_vec();
    d.extend_from_slice(&7u32.to_be_bytes());
    let bad = header(
        &[
            (1000, 6, 0, 1),
            (1117, 8, 0, 1),
            (1118, 8, 4, 1),
            (1116, 4, 8, 1),
        ],
        &d,
    );
    assert!(is_malformed(parse_rpm_header(&bad)).contains("DIRINDEX"));
    // Wrong types.
    let bad = header(&[(1000, 4, 0, 1)], b"foo\0");
    is_malformed(parse_rpm_header(&bad));
    // No name.
    let bad = header(&[(1001, 6, 0, 1)], b"foo\0");
    is_malformed(parse_rpm_header(&bad));
}

fn read_shared(rel: &str) -> Option<Vec<u8>> {
    require_data(rel).map(|p| std::fs::read(p).expect("read"))
}

fn set_le32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn bdb_page_loops_and_bad_pointers() {
    let Some(orig) = read_shared("rpmdb/libuuid/Packages") else {
        return;
    };
    assert_eq!(parse_rpmdb_bdb(&orig, "x").expect("original").len(), 1);
    let ps = 4096;
    // Overflow chain is pages 3..=22 (checked: page 3 is type 7 and is the first of the chain).
    assert_eq!(orig[3 * ps + 25], 7);
    let cases: Vec<(&str, Patch)> = vec![
        (
            "page points to itself",
            Box::new(|b| set_le32(b, 5 * ps + 16, 5)),
        ),
        (
            "page points back",
            Box::new(|b| set_le32(b, 10 * ps + 16, 3)),
        ),
        (
            "next past the file",
            Box::new(|b| set_le32(b, 10 * ps + 16, 0x00ff_ffff)),
        ),
        (
            "next to the meta page",
            Box::new(|b| set_le32(b, 10 * ps + 16, 0)),
        ),
        (
            "chain into a hash page",
            Box::new(|b| set_le32(b, 10 * ps + 16, 1)),
        ),
        (
            "overflow byte count 0",
            Box::new(|b| b[7 * ps + 22..7 * ps + 24].copy_from_slice(&[0, 0])),
        ),
        (
            "overflow byte count > page",
            Box::new(|b| b[7 * ps + 22..7 * ps + 24].copy_from_slice(&[0xff, 0xff])),
        ),
        ("bad page size", Box::new(|b| set_le32(b, 20, 1000))),
        ("bad magic", Box::new(|b| set_le32(b, 12, 0x1234))),
        ("encrypted", Box::new(|b| b[24] = 1)),
    ];
    for (what, f) in cases {
        let mut b = orig.clone();
        f(&mut b);
        let t = Instant::now();
        let r = parse_rpmdb_bdb(&b, "x");
        assert!(r.is_err(), "{what}: expected an error, got {r:?}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{what}: took {:?}",
            t.elapsed()
        );
    }
    // Hash items: huge total length and item offsets outside the page.
    for pg in 1..3 {
        let base = pg * ps;
        let n = u16::from_le_bytes([orig[base + 20], orig[base + 21]]) as usize;
        for i in (1..n).step_by(2) {
            let off =
                u16::from_le_bytes([orig[base + 26 + 2 * i], orig[base + 27 + 2 * i]]) as usize;
            if orig[base + off] == 3 {
                let mut b = orig.clone();
                set_le32(&mut b, base + off + 8, 0xffff_fff0);
                assert!(parse_rpmdb_bdb(&b, "x").is_err(), "huge tlen");
                let mut b = orig.clone();
                set_le32(&mut b, base + off + 4, 0x7fff_ffff);
                assert!(parse_rpmdb_bdb(&b, "x").is_err(), "first page out of file");
            }
            let mut b = orig.clone();
            b[base + 26 + 2 * i..base + 28 + 2 * i].copy_from_slice(&0xfff0u16.to_le_bytes());
            assert!(
                parse_rpmdb_bdb(&b, "x").is_err(),
                "item offset outside page"
            );
        }
    }
}

#[test]
fn ndb_bad_slots() {
    let Some(orig) = read_shared("rpmdb/sle15-bci/Packages.db") else {
        return;
    };
    assert_eq!(parse_rpmdb_ndb(&orig, "x").expect("original").len(), 35);
    let cases: Vec<(&str, Patch)> = vec![
        (
            "slot outside the file",
            Box::new(|b| set_le32(b, 32 + 8, 0x0fff_ffff)),
        ),
        (
            "slot block count huge",
            Box::new(|b| set_le32(b, 32 + 12, 0xffff_ffff)),
        ),
        (
            "slot into the slot area",
            Box::new(|b| set_le32(b, 32 + 8, 1)),
        ),
        (
            "overlapping slots",
            Box::new(|b| {
                let other = u32::from_le_bytes([b[56], b[57], b[58], b[59]]);
                set_le32(b, 32 + 8, other);
            }),
        ),
        ("slot magic", Box::new(|b| b[48] = b'X')),
        ("blob magic", Box::new(|b| b[4096] = b'X')),
        (
            "blob for another package",
            Box::new(|b| set_le32(b, 4096 + 4, 99)),
        ),
        (
            "blob length huge",
            Box::new(|b| set_le32(b, 4096 + 12, 0x7fff_ffff)),
        ),
        (
            "slot pages huge",
            Box::new(|b| set_le32(b, 12, 0x00ff_ffff)),
        ),
        ("slot pages zero", Box::new(|b| set_le32(b, 12, 0))),
        ("version", Box::new(|b| set_le32(b, 4, 7))),
        ("db magic", Box::new(|b| b[0] = b'X')),
    ];
    for (what, f) in cases {
        let mut b = orig.clone();
        f(&mut b);
        let r = parse_rpmdb_ndb(&b, "x");
        assert!(
            r.is_err(),
            "{what}: expected an error, got {} packages",
            r.map(|v| v.len()).unwrap_or(0)
        );
    }
}

#[test]
fn text_formats_bad_input() {
    assert!(parse_apk_installed(b"P:foo\nV:1\nno colon here\n", "x").is_err());
    assert!(parse_apk_installed(b"V:1\nA:x86_64\n\n", "x").is_err());
    assert!(parse_apk_installed(b"P:a\nV:1\nR:../x\n", "x").is_err());
    assert!(parse_apk_installed(b"\xff\xfe\x00garbage", "x").is_err());
    assert_eq!(parse_apk_installed(b"", "x").unwrap().len(), 0);
    assert!(parse_dpkg_status(b"Package: a\nStatus: install ok installed\n", "x").is_err());
    assert!(parse_dpkg_status(b" leading continuation\n", "x").is_err());
    assert!(parse_dpkg_status(b"\x00\x01\x02 no field", "x").is_err());
    // Not installed and incomplete: ignored, not an error.
    assert_eq!(
        parse_dpkg_status(b"Package: a\nStatus: purge ok not-installed\n", "x")
            .unwrap()
            .len(),
        0
    );
    assert!(parse_os_release(b"ID=\"unterminated\n").is_err());
    // The size bound is checked before reading (calloc'd, never touched).
    let big = vec![0u8; MAX_DB_SIZE + 1];
    assert!(matches!(
        parse_apk_installed(&big, "x"),
        Err(OsPkgError::TooLarge { .. })
    ));
    assert!(matches!(
        parse_rpmdb_ndb(&big, "x"),
        Err(OsPkgError::TooLarge { .. })
    ));
}

/// xorshift64*: deterministic pseudo-random numbers for mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate_and_run(orig: &[u8], rounds: usize, seed: u64, f: &dyn Fn(&[u8]) -> bool) -> usize {
    let mut rng = Rng(seed);
    let mut errors = 0;
    let start = Instant::now();
    // Truncations at pseudo-random points.
    for _ in 0..rounds / 4 {
        let n = rng.below(orig.len());
        if !f(&orig[..n]) {
            errors += 1;
        }
    }
    // Byte mutations: random bytes, or 32-bit fields set to extreme values.
    for _ in 0..rounds {
        let mut b = orig.to_vec();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(b.len());
            match rng.below(3) {
                0 => b[at] = rng.next() as u8,
                1 if at + 4 <= b.len() => b[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]),
                _ if at + 4 <= b.len() => {
                    let v = rng.below(orig.len() / 16 + 1) as u32;
                    b[at..at + 4].copy_from_slice(&v.to_le_bytes())
                }
                _ => {}
            }
        }
        if !f(&b) {
            errors += 1;
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "mutation run too slow: {:?}",
        start.elapsed()
    );
    errors
}

#[test]
fn mutated_real_databases_never_panic() {
    let dbs: [(&str, Parser, usize); 4] = [
        ("rpmdb/libuuid/Packages", parse_rpmdb_bdb, 400),
        ("rpmdb/sle15-bci/Packages.db", parse_rpmdb_ndb, 150),
        (
            "alpine-rootfs-3.14/lib/apk/db/installed",
            parse_apk_installed,
            400,
        ),
        ("rpmdb/cbl-mariner-2.0/rpmdb.sqlite", parse_rpmdb_sqlite, 20),
    ];
    for (i, (rel, f, rounds)) in dbs.into_iter().enumerate() {
        let Some(orig) = read_shared(rel) else { return };
        let errs = mutate_and_run(
            &orig,
            rounds,
            0x9e37_79b9_7f4a_7c15 ^ i as u64,
            &|b| match f(b, rel) {
                Ok(v) => {
                    for p in &v {
                        let _ = p.purl(None);
                    }
                    true
                }
                Err(_) => false,
            },
        );
        eprintln!("{rel}: {errs} of {} mutants rejected", rounds + rounds / 4);
        assert!(errs > 0, "{rel}: no mutant was rejected");
    }
    // The header parser on the hand-made header, mutated.
    let g = good_header();
    let errs = mutate_and_run(&g, 2000, 7, &|b| parse_rpm_header(b).is_ok());
    assert!(errs > 0);
}

#[test]
fn dpkg_status_mutations_never_panic() {
    let path = std::path::Path::new("/var/lib/dpkg/status");
    if !path.is_file() {
        missing("/var/lib/dpkg/status");
        return;
    }
    let orig = std::fs::read(path).unwrap();
    let head = &orig[..orig.len().min(64 * 1024)];
    let errs = mutate_and_run(head, 200, 11, &|b| parse_dpkg_status(b, "x").is_ok());
    eprintln!("dpkg: {errs} mutants rejected");
}
