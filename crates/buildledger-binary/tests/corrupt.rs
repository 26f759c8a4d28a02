//! Hostile input: truncated containers, bad varints, absurd pointers and
//! section sizes, a zlib bomb in `.dep-v0`, random and mutated bytes. Every
//! case must come back as a value or a `BinaryError`, never a panic. These run
//! the same entry point as the fuzz target `binary_inspect`.

mod common;

use buildledger_binary::{BinaryError, BinaryKind, MAX_AUDITABLE_JSON, inspect, looks_like_binary};
use common::*;

fn modinfo() -> Vec<u8> {
    framed_modinfo("path\texample.com/x\nmod\texample.com/x\t(devel)\t\n")
}

fn go_elf(blob: Vec<u8>) -> Vec<u8> {
    elf64(
        &[Sec {
            name: ".go.buildinfo",
            data: blob,
        }],
        true,
    )
}

#[test]
fn valid_synthetic_baseline() {
    let facts = inspect(&go_elf(inline_blob(b"go1.22.0", &modinfo()))).unwrap();
    assert_eq!(facts.kind, BinaryKind::Elf);
    assert_eq!(facts.go.unwrap().path, "example.com/x");
}

#[test]
fn not_binaries_are_not_errors() {
    for data in [
        &b""[..],
        b"hello world",
        b"MZ but not a PE file at all, just text",
        b"\xca\xfe\xba\xbe\x00\x00\x00\x34java",
    ] {
        let f = inspect(data).expect("not a binary is not an error");
        assert_eq!(f.kind, BinaryKind::Unknown);
        assert!(f.go.is_none() && f.rust.is_none());
    }
    assert!(!looks_like_binary(b"\xca\xfe\xba\xbe\x00\x00\x00\x34"));
    assert!(looks_like_binary(b"\xca\xfe\xba\xbe\x00\x00\x00\x02"));
    assert!(looks_like_binary(b"\x7fELF"));
    assert!(looks_like_binary(b"\xcf\xfa\xed\xfe"));
}

#[test]
fn truncated_container_is_an_error() {
    let file = go_elf(inline_blob(b"go1.22.0", &modinfo()));
    let mut errors = 0;
    for cut in 0..file.len() {
        match inspect(&file[..cut]) {
            Err(_) => errors += 1,
            Ok(f) => assert!(f.go.is_none() || cut >= 0x1000 + 32, "cut {cut}"),
        }
    }
    assert!(errors > 0);
    assert!(matches!(
        inspect(&file[..100]),
        Err(BinaryError::Container { .. })
    ));
}

#[test]
fn corrupt_varint_lengths() {
    // 10 continuation bytes: not a varint.
    let mut blob = inline_blob(b"go1.22.0", &modinfo());
    blob.truncate(32);
    blob.extend_from_slice(&[0xff; 10]);
    blob.extend_from_slice(&[0; 16]);
    let err = inspect(&go_elf(blob)).unwrap_err();
    assert!(matches!(err, BinaryError::GoBuildInfo { .. }), "{err}");
    assert!(err.to_string().contains("varint"), "{err}");

    // A length far beyond the section.
    let mut blob = inline_blob(b"go1.22.0", &modinfo());
    blob.truncate(32);
    blob.extend(uvarint(1 << 40));
    blob.extend_from_slice(b"go1.22.0");
    let err = inspect(&go_elf(blob)).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");

    // Modinfo length just past the end of the data.
    let mut blob = inline_blob(b"go1.22.0", b"");
    blob.pop();
    blob.extend(uvarint(500));
    blob.extend_from_slice(b"short");
    let err = inspect(&go_elf(blob)).unwrap_err();
    assert!(err.to_string().contains("runs past the end"), "{err}");
}

#[test]
fn absurd_pointers() {
    let addr = elf64_addr_of(&[]);
    for (vers_ptr, label) in [
        (u64::MAX - 7, "max"),
        (0, "zero"),
        (addr + 0x10_0000, "unmapped"),
    ] {
        let mut blob = pointer_blob(addr, 8, false, b"go1.16", &modinfo());
        blob[16..24].copy_from_slice(&vers_ptr.to_le_bytes());
        let err = inspect(&go_elf(blob)).unwrap_err();
        assert!(
            matches!(err, BinaryError::GoBuildInfo { .. }),
            "{label}: {err}"
        );
    }
    // String header with an absurd length.
    let mut blob = pointer_blob(addr, 8, false, b"go1.16", &modinfo());
    blob[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = inspect(&go_elf(blob)).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    // Bad pointer size.
    let mut blob = pointer_blob(addr, 8, false, b"go1.16", &modinfo());
    blob[14] = 3;
    assert!(inspect(&go_elf(blob)).is_err());
}

#[test]
fn absurd_section_sizes_and_offsets() {
    let base = go_elf(inline_blob(b"go1.22.0", &modinfo()));
    let shoff = u64::from_le_bytes(base[0x28..0x30].try_into().unwrap()) as usize;
    let sh1 = shoff + 64; // .go.buildinfo header
    let edits: &[(usize, u64)] = &[
        (sh1 + 0x20, u64::MAX),        // sh_size
        (sh1 + 0x20, 1 << 40),         // sh_size
        (sh1 + 0x18, u64::MAX - 4),    // sh_offset
        (sh1 + 0x10, u64::MAX - 8),    // sh_addr
        (0x28, u64::MAX),              // e_shoff
        (64 + 0x20, u64::MAX),         // p_filesz
        (64 + 0x08, 1 << 50),          // p_offset
        (64 + 0x10, u64::MAX - 0x100), // p_vaddr
    ];
    for &(at, v) in edits {
        let mut f = base.clone();
        f[at..at + 8].copy_from_slice(&v.to_le_bytes());
        let _ = inspect(&f); // must return, either way
    }
}

/// Segment and section placed at the very top of the address space: address
/// arithmetic must not overflow.
#[test]
fn addresses_at_the_top_of_the_address_space() {
    for top in [u64::MAX - 0x3f, u64::MAX - 0x1f, u64::MAX - 0xf] {
        let mut f = go_elf(inline_blob(b"go1.22.0", &modinfo()));
        let shoff = u64::from_le_bytes(f[0x28..0x30].try_into().unwrap()) as usize;
        f[64 + 0x10..64 + 0x18].copy_from_slice(&top.to_le_bytes()); // p_vaddr
        f[shoff + 64 + 0x10..shoff + 64 + 0x18].copy_from_slice(&top.to_le_bytes()); // sh_addr
        // The blob cannot fit below 2^64: no build info, or an error.
        assert!(
            inspect(&f).map(|f| f.go.is_none()).unwrap_or(true),
            "{top:#x}"
        );
        let mut f = go_elf(pointer_blob(top, 8, false, b"go1.16", &modinfo()));
        f[64 + 0x10..64 + 0x18].copy_from_slice(&top.to_le_bytes());
        f[shoff + 64 + 0x10..shoff + 64 + 0x18].copy_from_slice(&top.to_le_bytes());
        let _ = inspect(&f);
    }
}

#[test]
fn bad_modinfo_text() {
    for text in [
        "dep\tonly-one-column\n",
        "=>\ta\tb\tc\n",
        "build\t=x\n",
        "build\tkey with space=v\n",
        "build\tk=\"unterminated\n",
        "build\tk=a b\n",
    ] {
        let err = inspect(&go_elf(inline_blob(b"go1.22.0", &framed_modinfo(text)))).unwrap_err();
        assert!(
            matches!(err, BinaryError::GoModinfo { line: 1, .. }),
            "{text:?}: {err}"
        );
    }
}

fn dep_elf(section: Vec<u8>) -> Vec<u8> {
    elf64(
        &[Sec {
            name: ".dep-v0",
            data: section,
        }],
        true,
    )
}

#[test]
fn dep_v0_zlib_bomb_is_refused() {
    let zeros = vec![b' '; 64 << 20];
    let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 6);
    assert!(bomb.len() < 1 << 20);
    let err = inspect(&dep_elf(bomb)).unwrap_err();
    assert!(
        err.to_string().contains(&MAX_AUDITABLE_JSON.to_string()),
        "{err}"
    );
}

#[test]
fn dep_v0_garbage() {
    let ok_json =
        br#"{"packages":[{"name":"a","version":"1.0.0","source":"crates.io","root":true}]}"#;
    let good = miniz_oxide::deflate::compress_to_vec_zlib(ok_json, 6);
    let facts = inspect(&dep_elf(good.clone())).unwrap();
    assert_eq!(facts.rust.unwrap().packages[0].name, "a");

    assert!(matches!(
        inspect(&dep_elf(b"not zlib".to_vec())),
        Err(BinaryError::Auditable { .. })
    ));
    assert!(matches!(
        inspect(&dep_elf(good[..good.len() / 2].to_vec())),
        Err(BinaryError::Auditable { .. })
    ));
    let bad_json = miniz_oxide::deflate::compress_to_vec_zlib(b"{\"packages\":[{]}", 6);
    assert!(matches!(
        inspect(&dep_elf(bad_json)),
        Err(BinaryError::AuditableJson { .. })
    ));
    // cargo-auditable's own validation: one root, no dependency cycles.
    let two_roots = miniz_oxide::deflate::compress_to_vec_zlib(
        br#"{"packages":[{"name":"a","version":"1.0.0","source":"local","root":true},{"name":"b","version":"1.0.0","source":"local","root":true}]}"#,
        6,
    );
    assert!(matches!(
        inspect(&dep_elf(two_roots)),
        Err(BinaryError::AuditableJson { .. })
    ));
    let cycle = miniz_oxide::deflate::compress_to_vec_zlib(
        br#"{"packages":[{"name":"a","version":"1.0.0","source":"crates.io","dependencies":[1]},{"name":"b","version":"1.0.0","source":"crates.io","dependencies":[0]}]}"#,
        6,
    );
    assert!(matches!(
        inspect(&dep_elf(cycle)),
        Err(BinaryError::AuditableJson { .. })
    ));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep = miniz_oxide::deflate::compress_to_vec_zlib(deep.as_bytes(), 6);
    assert!(inspect(&dep_elf(deep)).is_err());
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
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

#[test]
fn random_bytes_with_binary_magics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let magics: &[&[u8]] = &[
        b"\x7fELF\x02\x01\x01",
        b"\x7fELF\x01\x02\x01",
        b"MZ",
        b"\xcf\xfa\xed\xfe",
        b"\xfe\xed\xfa\xce",
        b"\xca\xfe\xba\xbe\x00\x00\x00\x01",
        b"\xca\xfe\xba\xbf\x00\x00\x00\x02",
    ];
    for i in 0..20_000 {
        let len = rng.below(if i % 10 == 0 { 8192 } else { 512 });
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let m = magics[i % magics.len()];
        let n = m.len().min(data.len());
        data[..n].copy_from_slice(&m[..n]);
        if i % 3 == 0 && data.len() >= 0x44 {
            data[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
            data[0x40..0x44].copy_from_slice(b"PE\0\0");
        }
        let _ = inspect(&data);
    }
}

#[test]
fn mutated_synthetic_binaries() {
    let mut rng = Rng(42);
    let addr = elf64_addr_of(&[]);
    let seeds = [
        go_elf(inline_blob(b"go1.22.0", &modinfo())),
        go_elf(pointer_blob(addr, 8, false, b"go1.16", &modinfo())),
        go_elf(pointer_blob(addr, 4, true, b"go1.16", &modinfo())),
        dep_elf(miniz_oxide::deflate::compress_to_vec_zlib(
            br#"{"packages":[]}"#,
            6,
        )),
    ];
    for seed in &seeds {
        for _ in 0..3000 {
            let mut d = seed.clone();
            for _ in 0..1 + rng.below(4) {
                let at = if rng.below(2) == 0 {
                    rng.below(0x80)
                } else {
                    0x1000 + rng.below(d.len() - 0x1000)
                };
                d[at] = rng.next() as u8;
            }
            let _ = inspect(&d);
        }
    }
}
