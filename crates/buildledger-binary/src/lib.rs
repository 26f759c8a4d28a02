/*!
This crate reads what a static binary was built from.

It owns two kinds of build metadata that compilers embed in executables:

* **Go build info**: the `\xff Go buildinf:` blob that every Go toolchain
  writes (toolchain version, main package, modules with their versions,
  checksums and replacements, and build settings such as `vcs.revision`).
  Both the inline format (Go ≥ 1.18) and the older pointer format are read.
* **cargo-auditable data**: the zlib-compressed JSON dependency list that
  `cargo auditable build` stores in a `.dep-v0` section.

Executables may be ELF, Mach-O (including fat/universal files, of which the
first architecture is read, as Go does) or PE. Container parsing is done by
the [`object`] crate; the Go format is decoded here.

Everything read from the input is untrusted: sizes are bounded (see
[`MAX_BINARY_SIZE`], [`MAX_MAGIC_SCAN`], [`MAX_MODINFO_LEN`],
[`MAX_AUDITABLE_COMPRESSED`], [`MAX_AUDITABLE_JSON`]) and corrupt input
yields a [`BinaryError`], never a panic.

```no_run
let bytes = std::fs::read("/usr/bin/skopeo")?;
let facts = buildledger_binary::inspect(&bytes)?;
if let Some(go) = &facts.go {
    println!("{} built from {:?}", go.go_version, go.setting("vcs.revision"));
}
# Ok::<(), Box<dyn std::error::Error>>(())
```
*/

#![deny(missing_docs)]

mod auditable;
mod go;
mod gosym;
mod image;
mod quote;

pub use auditable::{
    AuditableInfo, MAX_AUDITABLE_COMPRESSED, MAX_AUDITABLE_JSON, RustPackage, parse_dep_v0,
};
pub use go::{
    BUILDINFO_MAGIC, GoBuildInfo, GoModule, MAX_GO_VERSION_LEN, MAX_MAGIC_SCAN, MAX_MODINFO_LEN,
    parse_modinfo,
};

pub use gosym::{
    GoFunctions, GoSymbols, MAX_GO_FUNCS, MAX_INLINED_CALLS, MAX_PCLNTAB_SCAN, PclntabFormat,
    split_symbol,
};

use image::{Image, Region};
use object::{Object, ObjectSection, ObjectSegment, SectionFlags, SegmentFlags};

/// Inputs larger than this are refused with [`BinaryError::TooLarge`].
pub const MAX_BINARY_SIZE: u64 = 1 << 30;

/// The executable container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// ELF (Linux and most Unix systems).
    Elf,
    /// Mach-O, thin or fat (macOS, iOS).
    MachO,
    /// PE/COFF (Windows).
    Pe,
    /// Not an executable format this crate reads.
    Unknown,
}

/// What one file says about how it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryFacts {
    /// Container format.
    pub kind: BinaryKind,
    /// Go build info, if the file is a Go executable.
    pub go: Option<GoBuildInfo>,
    /// cargo-auditable dependency data, if present.
    pub rust: Option<AuditableInfo>,
    /// The Go function table as (package, symbol) pairs, read when the file
    /// has Go build info and its table could be read.
    pub go_symbols: Option<GoSymbols>,
    /// Why a Go executable's function table could not be read (its build
    /// info still counts; what depends on symbols is then unknown).
    pub go_symbols_error: Option<String>,
}

impl BinaryFacts {
    fn nothing(kind: BinaryKind) -> Self {
        BinaryFacts {
            kind,
            go: None,
            rust: None,
            go_symbols: None,
            go_symbols_error: None,
        }
    }
}

/// Why a file that claims to be an executable could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    /// The input exceeds [`MAX_BINARY_SIZE`].
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Input size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The container headers (ELF/Mach-O/PE) are malformed or truncated.
    #[error("corrupt {format} file: {source}")]
    Container {
        /// `ELF`, `Mach-O` or `PE`.
        format: &'static str,
        /// The parser's complaint.
        #[source]
        source: object::Error,
    },
    /// A fat (universal) Mach-O file lists no architectures.
    #[error("corrupt Mach-O file: fat file lists no architectures")]
    EmptyFat,
    /// The Go build info header or its strings are malformed.
    #[error("corrupt Go build info at address {addr:#x}: {what}")]
    GoBuildInfo {
        /// Virtual address of the build info header (or the string being read).
        addr: u64,
        /// What is wrong.
        what: String,
    },
    /// The Go module text is malformed.
    #[error("corrupt Go build info module text, line {line}: {what}")]
    GoModinfo {
        /// 1-based line number in the module text.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// The Go function table (`pclntab`) is malformed.
    #[error("corrupt Go function table: {what}")]
    GoSymbols {
        /// What is wrong.
        what: String,
    },
    /// The `.dep-v0` section could not be read or decompressed.
    #[error("corrupt cargo-auditable .dep-v0 section: {what}")]
    Auditable {
        /// What is wrong.
        what: String,
    },
    /// The `.dep-v0` JSON is not valid cargo-auditable data.
    #[error("invalid cargo-auditable .dep-v0 JSON: {source}")]
    AuditableJson {
        /// The JSON or validation error.
        #[source]
        source: serde_json::Error,
    },
}

fn fat_arch_count_ok(prefix: &[u8]) -> bool {
    // 0xcafebabe is shared with Java class files, whose bytes 4..8 hold the
    // class file version (major >= 45); fat Mach-O files hold a small arch count.
    match prefix.get(4..8) {
        Some(b) => {
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            (1..45).contains(&n)
        }
        None => true,
    }
}

/// Cheap check on the first bytes: is this an ELF/Mach-O/PE (incl. fat Mach-O) at all?
///
/// Needs at least 4 bytes (2 for `MZ`). A `true` is a claim, not a proof:
/// [`inspect`] still validates the headers.
pub fn looks_like_binary(prefix: &[u8]) -> bool {
    match prefix {
        [0x7f, b'E', b'L', b'F', ..] => true,
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => true,
        [0xca, 0xfe, 0xba, 0xbe | 0xbf, ..] => fat_arch_count_ok(prefix),
        [b'M', b'Z', ..] => true,
        _ => false,
    }
}

/// Does an `MZ` file carry a PE signature where its DOS header points?
fn has_pe_signature(data: &[u8]) -> bool {
    let Some(lfanew) = data.get(0x3c..0x40) else {
        return false;
    };
    let off = u32::from_le_bytes([lfanew[0], lfanew[1], lfanew[2], lfanew[3]]) as usize;
    off.checked_add(4)
        .and_then(|end| data.get(off..end))
        .is_some_and(|sig| sig == b"PE\0\0")
}

fn container_err(format: &'static str) -> impl FnOnce(object::Error) -> BinaryError {
    move |source| BinaryError::Container { format, source }
}

/// Inspect one file's bytes.
///
/// Files that are not executables, and executables without build metadata,
/// give `BinaryFacts` with `go` and `rust` both `None` (an `MZ` file without
/// a PE signature counts as not an executable). Errors are for inputs over
/// [`MAX_BINARY_SIZE`] and for corrupt data in a file that claims to be an
/// executable.
pub fn inspect(data: &[u8]) -> Result<BinaryFacts, BinaryError> {
    let Some((kind, file)) = open(data)? else {
        return Ok(BinaryFacts::nothing(BinaryKind::Unknown));
    };
    let img = build_image(&file, kind);
    let go = match go_search_range(&file, kind) {
        Some(range) => go::read_go(&img, range)?,
        None => None,
    };
    let (go_symbols, go_symbols_error) = if go.is_some() {
        match gosym::read_functions(&file, &img) {
            Ok(Some(f)) => (Some(f.symbols()), None),
            Ok(None) => (None, Some("no Go function table found".to_string())),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let rust = match file.section_by_name(".dep-v0") {
        Some(sec) => {
            let raw = sec.data().map_err(|e| BinaryError::Auditable {
                what: format!("section data is not in the file: {e}"),
            })?;
            Some(parse_dep_v0(raw)?)
        }
        None => None,
    };
    Ok(BinaryFacts {
        kind,
        go,
        rust,
        go_symbols,
        go_symbols_error,
    })
}

/// Every function name in a Go executable's function table (`pclntab`),
/// with the functions inlined into them; `None` when the file is not an
/// executable or holds no table. Errors as for [`inspect`], plus
/// [`BinaryError::GoSymbols`] for a table that does not hold together.
pub fn go_functions(data: &[u8]) -> Result<Option<GoFunctions>, BinaryError> {
    let Some((kind, file)) = open(data)? else {
        return Ok(None);
    };
    let img = build_image(&file, kind);
    gosym::read_functions(&file, &img)
}

/// Checks the size and container of `data`; None when it is not an executable.
fn open(data: &[u8]) -> Result<Option<(BinaryKind, object::File<'_>)>, BinaryError> {
    let size = data.len() as u64;
    if size > MAX_BINARY_SIZE {
        return Err(BinaryError::TooLarge {
            size,
            limit: MAX_BINARY_SIZE,
        });
    }
    if !looks_like_binary(data) {
        return Ok(None);
    }
    let (kind, format) = match data {
        [0x7f, b'E', b'L', b'F', ..] => (BinaryKind::Elf, "ELF"),
        [b'M', b'Z', ..] => {
            if !has_pe_signature(data) {
                return Ok(None);
            }
            (BinaryKind::Pe, "PE")
        }
        _ => (BinaryKind::MachO, "Mach-O"),
    };
    let data = if data.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) {
        first_fat_arch::<object::macho::FatArch32>(data)?
    } else if data.starts_with(&[0xca, 0xfe, 0xba, 0xbf]) {
        first_fat_arch::<object::macho::FatArch64>(data)?
    } else {
        data
    };
    let file = object::File::parse(data).map_err(container_err(format))?;
    Ok(Some((kind, file)))
}

fn first_fat_arch<F: object::read::macho::FatArch>(data: &[u8]) -> Result<&[u8], BinaryError> {
    let fat =
        object::read::macho::MachOFatFile::<F>::parse(data).map_err(container_err("Mach-O"))?;
    let arch = fat.arches().first().ok_or(BinaryError::EmptyFat)?;
    arch.data(data).map_err(container_err("Mach-O"))
}

/// The file-backed memory of the executable, the way Go's reader sees it:
/// ELF `PT_LOAD` segments, Mach-O segments except `__PAGEZERO`, PE sections.
fn build_image<'a>(file: &object::File<'a>, kind: BinaryKind) -> Image<'a> {
    let mut img = Image::default();
    for seg in file.segments() {
        if kind == BinaryKind::MachO && matches!(seg.name(), Ok(Some("__PAGEZERO"))) {
            continue;
        }
        // A segment whose bytes lie outside the file is left unmapped; reads
        // that need it then fail with a clear error.
        if let Ok(data) = seg.data() {
            img.regions.push(Region {
                addr: seg.address(),
                data,
            });
        }
    }
    img
}

/// Where the Go build info should be: its dedicated section, else the first
/// writable data segment/section.
fn go_search_range(file: &object::File<'_>, kind: BinaryKind) -> Option<go::SearchRange> {
    let named = match kind {
        BinaryKind::MachO => "__go_buildinfo",
        _ => ".go.buildinfo",
    };
    if let Some(sec) = file.section_by_name(named) {
        return Some(go::SearchRange {
            addr: sec.address(),
            size: sec.size(),
            dedicated: true,
        });
    }
    match kind {
        BinaryKind::Elf => file.segments().find_map(|seg| match seg.flags() {
            SegmentFlags::Elf { p_flags, .. } if p_flags.0 & 0x3 == 0x2 => Some(go::SearchRange {
                addr: seg.address(),
                size: seg.size(),
                dedicated: false,
            }),
            _ => None,
        }),
        BinaryKind::MachO => file.segments().find_map(|seg| match seg.flags() {
            SegmentFlags::MachO {
                maxprot, initprot, ..
            } if seg.address() != 0
                && seg.file_range().1 != 0
                && maxprot.0 == 3
                && initprot.0 == 3 =>
            {
                Some(go::SearchRange {
                    addr: seg.address(),
                    size: seg.size(),
                    dedicated: false,
                })
            }
            _ => None,
        }),
        BinaryKind::Pe => {
            const DATA_RW: u32 = 0x0000_0040 | 0x4000_0000 | 0x8000_0000;
            const ALIGN_32: u32 = 0x0060_0000;
            file.sections().find_map(|sec| match sec.flags() {
                SectionFlags::Coff { characteristics }
                    if characteristics.0 & !ALIGN_32 == DATA_RW
                        && sec.address() != 0
                        && sec.file_range().is_some() =>
                {
                    Some(go::SearchRange {
                        addr: sec.address(),
                        size: sec.size(),
                        // Go binaries for Windows keep build info at the start of
                        // .data; a magic there with bad contents is corruption.
                        dedicated: true,
                    })
                }
                _ => None,
            })
        }
        BinaryKind::Unknown => None,
    }
}
