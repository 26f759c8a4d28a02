//! The Go function table (`pclntab`): which functions a Go executable holds,
//! including the ones the compiler inlined into others.
//!
//! Go keeps this table in every executable, stripped or not, because the
//! runtime needs it for stack traces and garbage collection. Four layouts
//! exist, told apart by the header's magic: Go 1.2–1.15, 1.16–1.17,
//! 1.18–1.19 and 1.20 and later. No maintained Rust crate decodes them, so
//! this module does, from the layout the Go runtime documents in
//! `runtime/symtab.go` and `cmd/link/internal/ld/pcln.go`.
//!
//! Where the table is: the `.gopclntab` (ELF) or `__gopclntab` (Mach-O)
//! section; else the `runtime.pclntab` symbol; else (a stripped PE file) a
//! search of the read-only data for a header that parses.
//!
//! Inlined functions have no entry of their own: they are listed in the
//! *inline tree* of each function they were inlined into, which lives in
//! `go:func.*` data (Go ≥ 1.18) or at an absolute address (older). That
//! base is found through the `go:func.*`/`go.func.*` symbol, or, in a
//! stripped binary, through the runtime's module data (the one data word
//! that points at the table's header; where in it the base is depends on
//! the release, so each possible word is tried and kept only when every
//! inline tree reads under it). When it cannot be found,
//! [`GoFunctions::inline_trees`] is false and only out-of-line functions
//! are known.
//!
//! Every offset and count comes from untrusted input: each read is checked
//! against the table's bounds, the number of functions and of inlined calls
//! is capped ([`MAX_GO_FUNCS`], [`MAX_INLINED_CALLS`]), each name and
//! inline index table is read once however many functions share it (and
//! offsets that point into one another are refused), and a table that
//! does not hold together is a [`BinaryError::GoSymbols`], never a panic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use object::{Object, ObjectSection, ObjectSymbol};

use crate::BinaryError;
use crate::image::Image;

/// Most functions accepted in one table (the largest real binaries hold a
/// few hundred thousand).
pub const MAX_GO_FUNCS: usize = 4_000_000;
/// Most inlined calls read over all inline trees of one table.
pub const MAX_INLINED_CALLS: usize = 16_000_000;
/// Most bytes of a data region searched for the table header or the module
/// data that points at it.
pub const MAX_PCLNTAB_SCAN: usize = 256 << 20;

/// Most work (functions checked plus name bytes read) spent on header
/// candidates when the table is searched for: a crafted file can hold many
/// headers that all name one large table broken only at its end.
const MAX_SEARCH_WORK: usize = 1 << 22;

/// `FUNCDATA_InlTree` in `runtime/funcdata.h`.
const FUNCDATA_INL_TREE: usize = 3;
/// `PCDATA_InlTreeIndex` in `runtime/funcdata.h`.
const PCDATA_INL_TREE_INDEX: usize = 2;

/// The layout of a `pclntab`, by the Go release that introduced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PclntabFormat {
    /// Go 1.2 – 1.15 (magic `0xfffffffb`).
    Go12,
    /// Go 1.16 – 1.17 (magic `0xfffffffa`).
    Go116,
    /// Go 1.18 – 1.19 (magic `0xfffffff0`).
    Go118,
    /// Go 1.20 and later (magic `0xfffffff1`).
    Go120,
}

impl PclntabFormat {
    fn from_magic(m: u32) -> Option<Self> {
        match m {
            0xffff_fffb => Some(Self::Go12),
            0xffff_fffa => Some(Self::Go116),
            0xffff_fff0 => Some(Self::Go118),
            0xffff_fff1 => Some(Self::Go120),
            _ => None,
        }
    }

    /// The layout's stored name, after the release that introduced it
    /// (`go1.2`, `go1.16`, `go1.18`, `go1.20`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Go12 => "go1.2",
            Self::Go116 => "go1.16",
            Self::Go118 => "go1.18",
            Self::Go120 => "go1.20",
        }
    }

    /// The releases that write this layout, for messages (`"1.18–1.19"`).
    pub fn releases(self) -> &'static str {
        match self {
            Self::Go12 => "1.2–1.15",
            Self::Go116 => "1.16–1.17",
            Self::Go118 => "1.18–1.19",
            Self::Go120 => "1.20+",
        }
    }

    /// Number of 32-bit fields after the entry in the runtime's `_func`
    /// (the last one packs `funcID`, `flag`, padding and `nfuncdata`).
    fn func_fields(self) -> usize {
        match self {
            // nameoff, args, deferreturn, pcsp, pcfile, pcln, npcdata, (…, nfuncdata)
            Self::Go12 => 8,
            // … npcdata, cuOffset, (…, nfuncdata)
            Self::Go116 | Self::Go118 => 9,
            // … npcdata, cuOffset, startLine, (…, nfuncdata)
            Self::Go120 => 10,
        }
    }
}

/// Every function name of one Go executable's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFunctions {
    /// The table's layout.
    pub format: PclntabFormat,
    /// Names of the functions with an entry in the table, in table order
    /// (`net/http.(*Server).Serve`, `main.main.func1`).
    pub functions: Vec<String>,
    /// Names of functions inlined somewhere, each once, sorted.
    pub inlined: Vec<String>,
    /// Whether the inline trees were read (false when their base address
    /// could not be found; `inlined` is then empty).
    pub inline_trees: bool,
}

/// What the ledger keeps of one executable's table: package path →
/// symbols, in the form Go advisories name them (`Parse`, `Server.Serve`,
/// `Tokenizer.Next`), functions and inlined functions alike.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoSymbols {
    /// The table's layout.
    pub format: Option<PclntabFormat>,
    /// Whether inlined functions are included (see [`GoFunctions::inline_trees`]).
    pub inline_trees: bool,
    /// Package path → symbols.
    pub packages: BTreeMap<String, BTreeSet<String>>,
}

impl GoSymbols {
    /// Is `symbol` of package `path` in the executable?
    pub fn has(&self, path: &str, symbol: &str) -> bool {
        self.packages.get(path).is_some_and(|s| s.contains(symbol))
    }

    /// Does the executable hold any function of package `path`?
    pub fn has_package(&self, path: &str) -> bool {
        self.packages.get(path).is_some_and(|s| !s.is_empty())
    }

    /// Number of (package, symbol) pairs.
    pub fn len(&self) -> usize {
        self.packages.values().map(BTreeSet::len).sum()
    }

    /// True when no symbol is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl GoFunctions {
    /// The functions and inlined functions as (package, symbol) pairs.
    pub fn symbols(&self) -> GoSymbols {
        let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let names = self.functions.iter().map(|n| (n, true));
        let inl = self.inlined.iter().map(|n| (n, false));
        for (name, table) in names.chain(inl) {
            // Inlined calls carry no release; the oracle reads them with the
            // pre-1.20 prefixes, as does this.
            let format = if table {
                self.format
            } else {
                PclntabFormat::Go118
            };
            if let Some((pkg, sym)) = split_symbol(name, format) {
                packages.entry(pkg).or_default().insert(sym);
            }
        }
        GoSymbols {
            format: Some(self.format),
            inline_trees: self.inline_trees,
            packages,
        }
    }
}

/// Removes every bracketed instantiation (`[go.shape.int]`) from a name.
fn without_instantiation(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Percent-decodes a package path as the Go linker escapes it (`%2e` for a
/// dot in the last element). None when an escape is malformed.
fn path_unescape(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Splits a function name into its package path and the symbol as Go
/// advisories write it: `golang.org/x/net/html.(*Tokenizer).Next` →
/// (`golang.org/x/net/html`, `Tokenizer.Next`); a closure keeps its suffix
/// (`F.func1`), a generic instantiation loses its type arguments
/// (`pkg.Map[go.shape.int]` → `Map`). Compiler-generated names (`go:`,
/// `type:` and, before Go 1.20, `go.`, `type.`) have no package: None.
///
/// This follows govulncheck's reading of Go symbol names (the package ends
/// at the first dot after the last slash; a pointer receiver loses its
/// `(*…)`), except that type arguments are dropped everywhere.
pub fn split_symbol(name: &str, format: PclntabFormat) -> Option<(String, String)> {
    let plain = without_instantiation(name);
    let reserved: &[&str] = if format >= PclntabFormat::Go120 {
        &["go:", "type:"]
    } else {
        &["go.", "type."]
    };
    if reserved.iter().any(|p| plain.starts_with(p)) {
        return None;
    }
    let pathend = plain.rfind('/').unwrap_or(0);
    let first = pathend + plain[pathend..].find('.')?;
    let last = pathend + plain[pathend..].rfind('.')?;
    let pkg = path_unescape(&plain[..first])?;
    if pkg.is_empty() {
        return None;
    }
    let base = &plain[last + 1..];
    let sym = if first == last {
        base.to_string()
    } else {
        let mut recv = &plain[first + 1..last];
        if recv.starts_with("(*") {
            recv = recv.trim_matches(|c| c == '(' || c == '*' || c == ')');
        }
        format!("{recv}.{base}")
    };
    Some((pkg, sym))
}

fn corrupt(what: impl Into<String>) -> BinaryError {
    BinaryError::GoSymbols { what: what.into() }
}

/// Byte order and word size of the table.
#[derive(Debug, Clone, Copy)]
struct Words {
    le: bool,
    ptr: usize,
}

impl Words {
    fn u32(self, b: &[u8], off: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    fn uptr(self, b: &[u8], off: usize) -> Option<u64> {
        if self.ptr == 4 {
            return self.u32(b, off).map(u64::from);
        }
        let s: [u8; 8] = b.get(off..off.checked_add(8)?)?.try_into().ok()?;
        Some(if self.le {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    }

    fn usize_ptr(self, b: &[u8], off: usize) -> Option<usize> {
        usize::try_from(self.uptr(b, off)?).ok()
    }
}

/// A decoded table header with the slices it names.
struct Table<'a> {
    format: PclntabFormat,
    w: Words,
    quantum: u32,
    nfunc: usize,
    /// Names are offsets into this.
    funcnames: &'a [u8],
    /// pc-value tables are offsets into this.
    pctab: &'a [u8],
    /// The function table: pairs of (entry, offset of `_func` in `funcdata`).
    functab: &'a [u8],
    /// `_func` offsets are relative to this.
    funcdata: &'a [u8],
    /// Virtual address of the header, when known (for the module data search).
    addr: Option<u64>,
    /// Offset of the name table from the header (for the module data check).
    funcname_off: usize,
}

impl<'a> Table<'a> {
    fn parse(data: &'a [u8], le: bool, addr: Option<u64>) -> Result<Self, BinaryError> {
        let short = || corrupt("the table header is truncated");
        if data.len() < 8 {
            return Err(short());
        }
        let magic = if le {
            u32::from_le_bytes([data[0], data[1], data[2], data[3]])
        } else {
            u32::from_be_bytes([data[0], data[1], data[2], data[3]])
        };
        let format = PclntabFormat::from_magic(magic)
            .ok_or_else(|| corrupt(format!("unknown table magic {magic:#010x}")))?;
        if data[4] != 0 || data[5] != 0 {
            return Err(corrupt("the header's padding bytes are not zero"));
        }
        let quantum = u32::from(data[6]);
        let ptr = usize::from(data[7]);
        if !matches!(quantum, 1 | 2 | 4) || !matches!(ptr, 4 | 8) {
            return Err(corrupt(format!(
                "implausible instruction quantum {quantum} or pointer size {ptr}"
            )));
        }
        let w = Words { le, ptr };
        let word = |i: usize| w.usize_ptr(data, 8 + i * ptr).ok_or_else(short);
        let nfunc = word(0)?;
        if nfunc > MAX_GO_FUNCS {
            return Err(corrupt(format!(
                "{nfunc} functions, more than the limit of {MAX_GO_FUNCS}"
            )));
        }
        let from = |off: usize, what: &str| {
            data.get(off..)
                .ok_or_else(|| corrupt(format!("the {what} offset {off:#x} is past the table")))
        };
        let (funcnames, pctab, functab, funcname_off, entry) = match format {
            PclntabFormat::Go12 => {
                let ft = from(8 + ptr, "function table")?;
                (data, data, ft, 0, 2 * ptr)
            }
            PclntabFormat::Go116 => {
                let (names, pc, ln) = (word(2)?, word(5)?, word(6)?);
                let names_s = from(names, "name table")?;
                (
                    names_s,
                    from(pc, "pc table")?,
                    from(ln, "function table")?,
                    names,
                    2 * ptr,
                )
            }
            PclntabFormat::Go118 | PclntabFormat::Go120 => {
                let (names, pc, ln) = (word(3)?, word(6)?, word(7)?);
                let names_s = from(names, "name table")?;
                (
                    names_s,
                    from(pc, "pc table")?,
                    from(ln, "function table")?,
                    names,
                    8,
                )
            }
        };
        let need = nfunc
            .checked_add(1)
            .and_then(|n| n.checked_mul(entry))
            .ok_or_else(short)?;
        if functab.len() < need {
            return Err(corrupt(format!(
                "the function table holds {} bytes, {nfunc} functions need {need}",
                functab.len()
            )));
        }
        let funcdata = match format {
            PclntabFormat::Go12 => data,
            _ => functab,
        };
        Ok(Table {
            format,
            w,
            quantum,
            nfunc,
            funcnames,
            pctab,
            functab,
            funcdata,
            addr,
            funcname_off,
        })
    }

    /// Offset of function `i`'s `_func` in `funcdata`.
    fn func_off(&self, i: usize) -> Option<usize> {
        match self.format {
            PclntabFormat::Go12 | PclntabFormat::Go116 => {
                self.w.usize_ptr(self.functab, (2 * i + 1) * self.w.ptr)
            }
            _ => self
                .w
                .u32(self.functab, (2 * i + 1) * 4)
                .and_then(|v| usize::try_from(v).ok()),
        }
    }

    /// Size of the `_func` entry field.
    fn entry_size(&self) -> usize {
        if self.format >= PclntabFormat::Go118 {
            4
        } else {
            self.w.ptr
        }
    }

    /// The NUL-terminated name at `off` in the name table.
    fn name(&self, off: u32) -> Option<&'a str> {
        let rest = self.funcnames.get(usize::try_from(off).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }

    fn varint(p: &mut &[u8]) -> Option<u32> {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            let (&b, rest) = p.split_first()?;
            *p = rest;
            v |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The largest value of the pc-value table at `off` (-1 if empty), and
    /// the bytes the table takes.
    fn max_pcvalue(&self, off: u32) -> Option<(i32, usize)> {
        let start = self.pctab.get(usize::try_from(off).ok()?..)?;
        let mut p = start;
        let mut val: i32 = -1;
        let mut max: i32 = -1;
        let mut first = true;
        loop {
            let uv = Self::varint(&mut p)?;
            if uv == 0 && !first {
                return Some((max, start.len() - p.len()));
            }
            first = false;
            let delta = if uv & 1 != 0 {
                !(uv >> 1) as i32
            } else {
                (uv >> 1) as i32
            };
            let _pc = Self::varint(&mut p)?.checked_mul(self.quantum)?;
            val = val.wrapping_add(delta);
            max = max.max(val);
        }
    }
}

/// One function's inline tree: where it is and how many calls it holds.
struct InlineTree {
    /// `go:func.*`-relative offset (Go ≥ 1.18) or absolute address.
    at: u64,
    count: usize,
}

/// Names and pc-value tables looked up by offset, each read once. Distinct
/// names (and distinct tables) of a real binary never overlap, so the bytes
/// read over all distinct offsets stay within the table that holds them;
/// more means offsets that point into one another, which only a crafted
/// file has, and is an error. Without this, many functions naming one long
/// name or one long table would cost time quadratic in the file's size.
struct Lookups<'a> {
    names: HashMap<u32, &'a str>,
    name_bytes: usize,
    /// Index table offset → number of inlined calls.
    counts: HashMap<u32, usize>,
    pcvalue_bytes: usize,
}

impl<'a> Lookups<'a> {
    fn new() -> Self {
        Lookups {
            names: HashMap::new(),
            name_bytes: 0,
            counts: HashMap::new(),
            pcvalue_bytes: 0,
        }
    }

    /// The name at `off`, or None when it is bad or overlaps others.
    fn name(&mut self, t: &Table<'a>, off: u32) -> Option<&'a str> {
        if let Some(&n) = self.names.get(&off) {
            return Some(n);
        }
        let n = t.name(off)?;
        self.name_bytes = self.name_bytes.saturating_add(n.len() + 1);
        if self.name_bytes > t.funcnames.len() {
            return None;
        }
        self.names.insert(off, n);
        Some(n)
    }

    /// Number of calls in the inline tree whose index table is at `off`.
    fn inlined_count(&mut self, t: &Table<'a>, off: u32) -> Option<usize> {
        if let Some(&c) = self.counts.get(&off) {
            return Some(c);
        }
        let (max, len) = t.max_pcvalue(off)?;
        self.pcvalue_bytes = self.pcvalue_bytes.saturating_add(len);
        if self.pcvalue_bytes > t.pctab.len() {
            return None;
        }
        let count = usize::try_from(max.saturating_add(1)).unwrap_or(0);
        self.counts.insert(off, count);
        Some(count)
    }
}

impl Table<'_> {
    /// Name offset of function `i`, and where its inline tree is with the
    /// offset of its inline index table.
    fn func(&self, i: usize) -> Result<(u32, Option<(u64, u32)>), BinaryError> {
        let bad = |what: &str| corrupt(format!("function {i}: {what}"));
        let off = self.func_off(i).ok_or_else(|| bad("entry out of bounds"))?;
        let f = self
            .funcdata
            .get(off..)
            .ok_or_else(|| bad("its record is past the table"))?;
        let sz0 = self.entry_size();
        let field = |n: usize| self.w.u32(f, sz0 + (n - 1) * 4);
        let name = field(1).ok_or_else(|| bad("truncated record"))?;
        let nfields = self.format.func_fields();
        let npcdata = field(7).ok_or_else(|| bad("truncated record"))? as usize;
        let nfuncdata = *f
            .get(sz0 + (nfields - 1) * 4 + 3)
            .ok_or_else(|| bad("truncated record"))? as usize;
        let pcdata_at = sz0 + nfields * 4;
        if npcdata <= PCDATA_INL_TREE_INDEX || nfuncdata <= FUNCDATA_INL_TREE {
            return Ok((name, None));
        }
        let index_table = self
            .w
            .u32(f, pcdata_at + PCDATA_INL_TREE_INDEX * 4)
            .ok_or_else(|| bad("truncated pcdata"))?;
        let funcdata_at = pcdata_at
            .checked_add(npcdata.checked_mul(4).ok_or_else(|| bad("pcdata"))?)
            .ok_or_else(|| bad("pcdata"))?;
        let at = if self.format >= PclntabFormat::Go118 {
            match self.w.u32(f, funcdata_at + FUNCDATA_INL_TREE * 4) {
                Some(u32::MAX) => return Ok((name, None)),
                Some(v) => u64::from(v),
                None => return Err(bad("truncated funcdata")),
            }
        } else {
            // Older funcdata are pointers, aligned as the runtime aligns them.
            let mut at = funcdata_at;
            if self.w.ptr == 8 && (off + at) % 8 != 0 {
                at += 4;
            }
            match self.w.uptr(f, at + FUNCDATA_INL_TREE * self.w.ptr) {
                Some(0) => return Ok((name, None)),
                Some(v) => v,
                None => return Err(bad("truncated funcdata")),
            }
        };
        Ok((name, (index_table != 0).then_some((at, index_table))))
    }

    fn inlined_size(&self) -> usize {
        if self.format >= PclntabFormat::Go120 {
            16
        } else {
            20
        }
    }

    fn inlined_name_off(&self, entry: &[u8]) -> Option<u32> {
        let at = if self.format >= PclntabFormat::Go120 {
            4
        } else {
            12
        };
        self.w.u32(entry, at)
    }
}

/// Where the inline trees are.
enum TreeBase {
    /// `go:func.*` from the symbol table (Go ≥ 1.18), or zero for older
    /// tables, whose trees are at absolute addresses: a tree that does not
    /// read there is corrupt.
    Known(u64),
    /// `go:func.*` candidates read from the runtime's module data, whose
    /// layout changed between releases: the first under which every tree
    /// reads is taken; when none does, the base is unknown.
    Candidates(Vec<u64>),
}

/// Where the inline trees are (None: unknown).
fn gofunc_base(file: &object::File<'_>, img: &Image<'_>, t: &Table<'_>) -> Option<TreeBase> {
    if t.format < PclntabFormat::Go118 {
        return Some(TreeBase::Known(0));
    }
    for name in ["go:func.*", "go.func.*", "_go:func.*", "_go.func.*"] {
        if let Some(s) = file.symbol_by_name(name) {
            return Some(TreeBase::Known(s.address()));
        }
    }
    // Stripped: the runtime's first module data starts with a pointer to
    // the header, then the name table as a slice (pointer, length, cap);
    // `gofunc` is the 39th word in Go 1.18–1.19, the 41st in Go 1.20–1.26
    // (`covctrs`, `ecovctrs` added) and the 44th in Go 1.27 (`typedesclen`,
    // `itaboffset`, `itabsize` added). Both 1.20+ positions are tried.
    let addr = t.addr?;
    let w = t.w;
    let gofunc_words: &[usize] = if t.format >= PclntabFormat::Go120 {
        &[40, 43]
    } else {
        &[38]
    };
    let last = *gofunc_words.iter().max()?;
    let names_addr = addr.checked_add(t.funcname_off as u64)?;
    for r in &img.regions {
        let data = &r.data[..r.data.len().min(MAX_PCLNTAB_SCAN)];
        let mut off = 0usize;
        while off + (last + 1) * w.ptr <= data.len() {
            if w.uptr(data, off) == Some(addr) && w.uptr(data, off + w.ptr) == Some(names_addr) {
                let bases = gofunc_words
                    .iter()
                    .filter_map(|&i| w.uptr(data, off + i * w.ptr))
                    .filter(|&b| b != 0)
                    .collect();
                return Some(TreeBase::Candidates(bases));
            }
            off += w.ptr;
        }
    }
    None
}

/// Locates the table: section, symbol, or a header found in read-only data.
fn locate<'a>(file: &object::File<'a>, img: &Image<'a>) -> Result<Option<Table<'a>>, BinaryError> {
    let le = file.is_little_endian();
    for name in [".gopclntab", "__gopclntab"] {
        if let Some(sec) = file.section_by_name(name) {
            let data = sec
                .data()
                .map_err(|e| corrupt(format!("section {name} is not in the file: {e}")))?;
            return Table::parse(data, le, Some(sec.address())).map(Some);
        }
    }
    if let Some(start) = file.symbol_by_name("runtime.pclntab") {
        let end = file
            .symbol_by_name("runtime.epclntab")
            .map(|s| s.address())
            .filter(|&e| e > start.address());
        let len = end.map_or(u64::MAX, |e| e - start.address());
        let data = img.read(start.address(), len).ok_or_else(|| {
            corrupt("the runtime.pclntab symbol points outside the file's memory")
        })?;
        return Table::parse(data, le, Some(start.address())).map(Some);
    }
    // Stripped PE (and anything else): try every aligned header candidate.
    let mut work = 0usize;
    for r in &img.regions {
        let data = &r.data[..r.data.len().min(MAX_PCLNTAB_SCAN)];
        let mut off = 0usize;
        while off + 16 <= data.len() {
            let m = if le {
                u32::from_le_bytes([data[off], data[off + 1], data[off + 2], data[off + 3]])
            } else {
                u32::from_be_bytes([data[off], data[off + 1], data[off + 2], data[off + 3]])
            };
            if PclntabFormat::from_magic(m).is_some()
                && data[off + 4] == 0
                && data[off + 5] == 0
                && matches!(data[off + 6], 1 | 2 | 4)
                && matches!(data[off + 7], 4 | 8)
            {
                // A region may claim an address near the top of the space:
                // a header whose address does not fit is not a table.
                let Some(at) = r.addr.checked_add(off as u64) else {
                    break;
                };
                if let Ok(t) = Table::parse(&data[off..], le, Some(at)) {
                    // A false positive rarely survives reading every name.
                    let mut names = Lookups::new();
                    let mut ok = true;
                    for i in 0..t.nfunc {
                        work += 1;
                        if !t.func(i).is_ok_and(|(n, _)| names.name(&t, n).is_some()) {
                            ok = false;
                            break;
                        }
                    }
                    if ok {
                        return Ok(Some(t));
                    }
                    work = work.saturating_add(names.name_bytes);
                    if work > MAX_SEARCH_WORK {
                        return Err(corrupt(
                            "too many false table headers: gave up searching for the table",
                        ));
                    }
                }
            }
            off += 4;
        }
    }
    Ok(None)
}

/// Reads the function table of a Go executable already parsed by `object`.
pub(crate) fn read_functions(
    file: &object::File<'_>,
    img: &Image<'_>,
) -> Result<Option<GoFunctions>, BinaryError> {
    let Some(t) = locate(file, img)? else {
        return Ok(None);
    };
    let mut functions = Vec::with_capacity(t.nfunc);
    // (index in `functions`, its inline tree)
    let mut trees = Vec::new();
    let mut calls = 0usize;
    let mut lookups = Lookups::new();
    // Functions may share a name (an assembly function and its wrapper,
    // instantiations of a generic one in Go 1.18–1.19), but the names
    // returned stay near the size of the name table.
    let mut name_bytes_left = t
        .funcnames
        .len()
        .saturating_add(t.nfunc.saturating_mul(256));
    for i in 0..t.nfunc {
        let (name_off, tree) = t.func(i)?;
        let name = lookups
            .name(&t, name_off)
            .ok_or_else(|| corrupt(format!("function {i}: name offset {name_off:#x} is bad")))?;
        name_bytes_left = name_bytes_left
            .checked_sub(name.len())
            .ok_or_else(|| corrupt("the function names are much larger than the name table"))?;
        functions.push(name.to_string());
        if let Some((at, index_table)) = tree {
            let count = lookups
                .inlined_count(&t, index_table)
                .ok_or_else(|| corrupt(format!("function {name}: bad inline index table")))?;
            if count == 0 {
                continue;
            }
            let tree = InlineTree { at, count };
            calls = calls.saturating_add(tree.count);
            if calls > MAX_INLINED_CALLS {
                return Err(corrupt(format!(
                    "more than {MAX_INLINED_CALLS} inlined calls"
                )));
            }
            trees.push((i, tree));
        }
    }
    let inlined = match gofunc_base(file, img, &t) {
        None => None,
        Some(TreeBase::Known(base)) => Some(read_inlined(&t, img, base, &functions, &trees)?),
        Some(TreeBase::Candidates(bases)) => bases
            .into_iter()
            .find_map(|base| read_inlined(&t, img, base, &functions, &trees).ok()),
    };
    Ok(Some(GoFunctions {
        format: t.format,
        functions,
        inline_trees: inlined.is_some(),
        inlined: inlined.unwrap_or_default().into_iter().collect(),
    }))
}

/// The names of every inlined call of `trees`, read with `go:func.*` at `base`.
fn read_inlined(
    t: &Table<'_>,
    img: &Image<'_>,
    base: u64,
    functions: &[String],
    trees: &[(usize, InlineTree)],
) -> Result<BTreeSet<String>, BinaryError> {
    let size = t.inlined_size();
    let mut inlined = BTreeSet::new();
    let mut names = Lookups::new();
    let mut seen = HashSet::new();
    for (i, tree) in trees {
        let name = &functions[*i];
        let addr = base
            .checked_add(tree.at)
            .ok_or_else(|| corrupt(format!("function {name}: inline tree address overflows")))?;
        let len = tree.count * size;
        let bytes = img
            .read(addr, len as u64)
            .filter(|b| b.len() == len)
            .ok_or_else(|| {
                corrupt(format!(
                    "function {name}: inline tree of {} calls at {addr:#x} is not in the file",
                    tree.count
                ))
            })?;
        for e in bytes.chunks_exact(size) {
            let off = t
                .inlined_name_off(e)
                .ok_or_else(|| corrupt("truncated inline tree"))?;
            if !seen.insert(off) {
                continue;
            }
            let n = names.name(t, off).ok_or_else(|| {
                corrupt(format!(
                    "function {name}: inlined call name offset {off:#x} is bad"
                ))
            })?;
            inlined.insert(n.to_string());
        }
    }
    Ok(inlined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(n: &str) -> Option<(String, String)> {
        split_symbol(n, PclntabFormat::Go118)
    }

    fn pair(p: &str, s: &str) -> Option<(String, String)> {
        Some((p.to_string(), s.to_string()))
    }

    #[test]
    fn names_split_as_advisories_write_them() {
        assert_eq!(
            split("golang.org/x/net/html.Parse"),
            pair("golang.org/x/net/html", "Parse")
        );
        assert_eq!(
            split("golang.org/x/net/html.(*Tokenizer).Next"),
            pair("golang.org/x/net/html", "Tokenizer.Next")
        );
        assert_eq!(split("net/http.Header.Get"), pair("net/http", "Header.Get"));
        assert_eq!(split("main.main.func1"), pair("main", "main.func1"));
        assert_eq!(split("fmt.Println"), pair("fmt", "Println"));
        assert_eq!(
            split("gopkg.in/yaml%2ev2.Unmarshal"),
            pair("gopkg.in/yaml.v2", "Unmarshal")
        );
        assert_eq!(
            split("example.com/m/p.Map[go.shape.int,go.shape.string]"),
            pair("example.com/m/p", "Map")
        );
        assert_eq!(
            split("example.com/m/p.(*List[go.shape.int]).Push"),
            pair("example.com/m/p", "List.Push")
        );
        assert_eq!(split("go.buildid"), None);
        assert_eq!(split("type..eq.[2]interface {}"), None);
        assert_eq!(split_symbol("go:buildid", PclntabFormat::Go120), None);
        assert_eq!(split_symbol("type:.eq.x", PclntabFormat::Go120), None);
        assert_eq!(split("nodot"), None);
        assert_eq!(split("bad%zz.F"), None);
    }

    #[test]
    fn varints_and_pcvalues_are_bounded() {
        let mut p: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(Table::varint(&mut p), None);
        let mut p: &[u8] = &[0x96, 0x01];
        assert_eq!(Table::varint(&mut p), Some(150));
    }

    #[test]
    fn truncated_and_odd_headers_are_errors() {
        assert!(Table::parse(&[], true, None).is_err());
        assert!(Table::parse(&[0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8], true, None).is_err());
        // unknown magic
        assert!(
            Table::parse(
                &[1, 2, 3, 4, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0],
                true,
                None
            )
            .is_err()
        );
        // huge function count
        let mut h = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
        h.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(Table::parse(&h, true, None).is_err());
        // a plausible header whose tables are missing
        let mut h = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
        for v in [3u64, 1, 0x1000, 0x48, 0x50, 0x58, 0x60, 0x68] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        assert!(Table::parse(&h, true, None).is_err());
    }
}
