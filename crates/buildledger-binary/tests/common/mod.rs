//! Helpers shared by buildledger-binary's integration tests: tool discovery
//! with the CI rule (missing tool = skip locally, failure when `CI=true`) and
//! the Go toolchains and `go version -m`, all from `buildledger-testkit`; the
//! choice of oracle Go; and a hand-built ELF writer for synthetic inputs.
// Each test file uses a part of this module (and of its re-exports).
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

pub use buildledger_testkit::ci::require;
pub use buildledger_testkit::go::{debian_go, pip_go, split_version_m_output};
pub use buildledger_testkit::tools::{require_tool, run};

/// The Go used as the `go version -m` oracle: the newest one available.
pub fn oracle_go() -> Option<PathBuf> {
    pip_go().or_else(debian_go)
}

/// A section for [`elf64`].
pub struct Sec<'a> {
    pub name: &'a str,
    pub data: Vec<u8>,
}

/// Virtual address of file offset 0 in [`elf64`] output.
pub const ELF_BASE: u64 = 0x40_0000;
/// File offset where [`elf64`] places the first section's data.
pub const ELF_DATA_OFF: u64 = 0x1000;

/// Address at which [`elf64`] will place section `index` given the data
/// sizes of the preceding sections (each section is 16-byte aligned).
pub fn elf64_addr_of(sizes_before: &[usize]) -> u64 {
    let mut off = ELF_DATA_OFF;
    for s in sizes_before {
        off = (off + *s as u64 + 15) & !15;
    }
    ELF_BASE + off
}

/// Hand-build a little-endian x86-64 ELF executable: every section's data is
/// laid out from file offset 0x1000 (16-byte aligned, address = ELF_BASE +
/// offset) and covered by one RW `PT_LOAD`; `with_shdrs = false` leaves out
/// the section headers (like a file stripped with `sstrip`).
pub fn elf64(sections: &[Sec<'_>], with_shdrs: bool) -> Vec<u8> {
    let mut file = vec![0u8; ELF_DATA_OFF as usize];
    let mut placed = Vec::new();
    for s in sections {
        while file.len() & 15 != 0 {
            file.push(0);
        }
        placed.push((file.len() as u64, s.data.len() as u64));
        file.extend_from_slice(&s.data);
    }
    let data_end = file.len() as u64;
    // .shstrtab
    let mut shstr = vec![0u8];
    let mut name_off = Vec::new();
    for s in sections {
        name_off.push(shstr.len() as u32);
        shstr.extend_from_slice(s.name.as_bytes());
        shstr.push(0);
    }
    let shstr_name = shstr.len() as u32;
    shstr.extend_from_slice(b".shstrtab\0");
    let shstr_off = file.len() as u64;
    file.extend_from_slice(&shstr);
    while file.len() & 7 != 0 {
        file.push(0);
    }
    let shoff = file.len() as u64;
    let nsec = sections.len() + 2;
    if with_shdrs {
        file.extend_from_slice(&[0u8; 64]); // null section
        for (i, _) in sections.iter().enumerate() {
            let (off, size) = placed[i];
            file.extend_from_slice(&shdr(name_off[i], 1, 3, ELF_BASE + off, off, size, 16));
        }
        file.extend_from_slice(&shdr(shstr_name, 3, 0, 0, shstr_off, shstr.len() as u64, 1));
    }
    // ELF header
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    h.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&(ELF_BASE + ELF_DATA_OFF).to_le_bytes()); // entry
    h.extend_from_slice(&64u64.to_le_bytes()); // phoff
    h.extend_from_slice(&(if with_shdrs { shoff } else { 0 }).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // flags
    h.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    h.extend_from_slice(&56u16.to_le_bytes()); // phentsize
    h.extend_from_slice(&1u16.to_le_bytes()); // phnum
    h.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    h.extend_from_slice(&(if with_shdrs { nsec as u16 } else { 0 }).to_le_bytes());
    h.extend_from_slice(&(if with_shdrs { nsec as u16 - 1 } else { 0 }).to_le_bytes());
    file[..64].copy_from_slice(&h);
    // PT_LOAD, RW
    let mut p = Vec::with_capacity(56);
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(&6u32.to_le_bytes()); // PF_R | PF_W
    p.extend_from_slice(&ELF_DATA_OFF.to_le_bytes());
    p.extend_from_slice(&(ELF_BASE + ELF_DATA_OFF).to_le_bytes());
    p.extend_from_slice(&(ELF_BASE + ELF_DATA_OFF).to_le_bytes());
    p.extend_from_slice(&(data_end - ELF_DATA_OFF).to_le_bytes());
    p.extend_from_slice(&(data_end - ELF_DATA_OFF).to_le_bytes());
    p.extend_from_slice(&0x1000u64.to_le_bytes());
    file[64..120].copy_from_slice(&p);
    file
}

#[allow(clippy::too_many_arguments)]
fn shdr(name: u32, ty: u32, flags: u64, addr: u64, off: u64, size: u64, align: u64) -> Vec<u8> {
    let mut s = Vec::with_capacity(64);
    s.extend_from_slice(&name.to_le_bytes());
    s.extend_from_slice(&ty.to_le_bytes());
    s.extend_from_slice(&flags.to_le_bytes());
    s.extend_from_slice(&addr.to_le_bytes());
    s.extend_from_slice(&off.to_le_bytes());
    s.extend_from_slice(&size.to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    s.extend_from_slice(&align.to_le_bytes());
    s.extend_from_slice(&0u64.to_le_bytes());
    s
}

/// The sentinels Go's linker puts around the module text
/// (cmd/go/internal/modload: infoStart / infoEnd).
pub const INFO_START: &[u8; 16] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
pub const INFO_END: &[u8; 16] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

/// Frame module text with the sentinels.
pub fn framed_modinfo(text: &str) -> Vec<u8> {
    let mut v = INFO_START.to_vec();
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(INFO_END);
    v
}

/// Go's varint encoding.
pub fn uvarint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

/// An inline-format (Go >= 1.18) build info blob.
pub fn inline_blob(version: &[u8], modinfo: &[u8]) -> Vec<u8> {
    let mut b = b"\xff Go buildinf:".to_vec();
    b.push(8);
    b.push(2);
    b.resize(32, 0);
    b.extend(uvarint(version.len() as u64));
    b.extend_from_slice(version);
    b.extend(uvarint(modinfo.len() as u64));
    b.extend_from_slice(modinfo);
    b
}

/// A pointer-format (Go < 1.18) build info section placed at `addr`:
/// header, two string headers, then the string bytes. `ptr` is 4 or 8.
pub fn pointer_blob(
    addr: u64,
    ptr: usize,
    big_endian: bool,
    version: &[u8],
    modinfo: &[u8],
) -> Vec<u8> {
    let put = |v: u64, out: &mut Vec<u8>| {
        let bytes = if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        if big_endian {
            out.extend_from_slice(&bytes[8 - ptr..]);
        } else {
            out.extend_from_slice(&bytes[..ptr]);
        }
    };
    // Wrapping: hostile-input tests place the blob at the top of the address space.
    let vers_hdr = addr.wrapping_add(32);
    let mod_hdr = vers_hdr.wrapping_add(2 * ptr as u64);
    let vers_data = mod_hdr.wrapping_add(2 * ptr as u64);
    let mod_data = vers_data.wrapping_add(version.len() as u64);
    let mut b = b"\xff Go buildinf:".to_vec();
    b.push(ptr as u8);
    b.push(if big_endian { 1 } else { 0 });
    put(vers_hdr, &mut b);
    put(mod_hdr, &mut b);
    b.resize(32, 0);
    put(vers_data, &mut b);
    put(version.len() as u64, &mut b);
    put(mod_data, &mut b);
    put(modinfo.len() as u64, &mut b);
    b.extend_from_slice(version);
    b.extend_from_slice(modinfo);
    b
}
