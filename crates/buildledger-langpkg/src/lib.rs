//! Language package catalogers: which Python, Node.js, Java, Ruby, .NET and
//! PHP packages an image's file system holds, read from the metadata their
//! installers leave behind, as pure functions over file bytes (the scanner chooses the files and bounds
//! their size; `buildledger-ospkg` does the same for OS package databases).
//!
//! * **Python**: `*.dist-info/METADATA` (wheels, pip), `*.egg-info/PKG-INFO`
//!   and `*.egg-info` files (setuptools, distutils), eggs (`*.egg` zips and
//!   unzipped `*.egg/EGG-INFO/PKG-INFO`). The name is normalised as
//!   PEP 503 says (`Django` → `django`, `zope.interface` → `zope-interface`),
//!   which is also how advisories and purls name it.
//! * **Node.js**: every `package.json` directly inside a `node_modules`
//!   directory (`node_modules/lodash/package.json`,
//!   `node_modules/@babel/parser/package.json`, nested ones included), and
//!   the lock files an image ships (`package-lock.json` v1–v3,
//!   `node_modules/.package-lock.json`, `yarn.lock` v1 and berry,
//!   `pnpm-lock.yaml` v5–v9); the scanner uses a lock file only where no
//!   installed `node_modules` tree beside it says what was installed.
//! * **Java**: JAR, WAR and EAR files and the archives nested in them, by the
//!   `pom.properties` Maven writes into each (see [`java_artifacts`] for the
//!   bounds); the location is the archive chain
//!   (`app.war!/WEB-INF/lib/log4j-1.2.17.jar`).
//! * **Ruby**: the `specifications/NAME-VERSION.gemspec` RubyGems writes for
//!   every installed gem (read as text, never evaluated).
//! * **.NET**: the `*.deps.json` beside every application and shared
//!   framework: its NuGet packages and runtime packs (`pkg:nuget`).
//! * **PHP**: Composer's `vendor/composer/installed.json` (both formats,
//!   `pkg:composer`).
//! * **Runtimes**: a JDK/JRE's `release` file (`JAVA_VERSION`), CPython's
//!   `include/python3.X/patchlevel.h` (`PY_VERSION`) and Node.js's
//!   `include/node/node_version.h`, as `pkg:generic/openjdk`, `python`, `node`.
//! * **Ownership**: dpkg's file lists (`var/lib/dpkg/info/*.list`, and the
//!   `*.md5sums` files that distroless images keep in `status.d/`) say which
//!   files a Debian package installed (apk and rpm databases list their
//!   packages' files themselves; the scanner reads those through
//!   `buildledger-ospkg`). A language package whose metadata an OS
//!   package owns is that OS package's (Debian's `python3-requests` is patched
//!   by Debian and matched against Debian's advisories), so the scanner reports
//!   it once, as the OS package.
//!
//! Everything read is untrusted: header blocks and JSON documents are read
//! within the bytes given (the scanner caps those), malformed ones yield
//! `None`, never a panic.

#![deny(missing_docs)]

mod dotnet;
mod java;
mod node;
mod nodelock;
mod owned;
mod php;
mod python;
mod ruby;
mod runtime;

pub use java::{
    JavaArtifact, JavaError, MAX_DEPTH, MAX_ENTRIES, MAX_INFLATED_BYTES, MAX_NESTED_BYTES,
    is_java_archive, java_artifacts,
};

pub use dotnet::{MAX_DEPS_ENTRIES, is_deps_json, parse_deps_json};
pub use node::{is_node_manifest, parse_package_json};
pub use nodelock::{LockKind, MAX_LOCK_ENTRIES, node_lockfile_kind, parse_node_lockfile};
pub use owned::{is_dpkg_file_list, owned_paths};
pub use php::{MAX_COMPOSER_PACKAGES, is_composer_installed, parse_composer_installed};
pub use python::{
    is_egg_archive, is_python_metadata, normalize_pypi_name, parse_egg, parse_python_metadata,
};
pub use ruby::{is_gemspec, parse_gemspec};
pub use runtime::{
    MAX_RUNTIME_BINARY_BYTES, parse_runtime_version, runtime_binary_for, runtime_binary_version,
    runtime_for,
};

/// The ecosystem a language package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ecosystem {
    /// PyPI (`pkg:pypi`).
    Python,
    /// npm (`pkg:npm`).
    Node,
    /// Maven (`pkg:maven`), from Java archives.
    Java,
    /// RubyGems (`pkg:gem`).
    Ruby,
    /// NuGet (`pkg:nuget`), from .NET `deps.json` files.
    DotNet,
    /// Packagist (`pkg:composer`), from Composer's `installed.json`.
    Php,
    /// A language runtime (`pkg:generic/openjdk`, `python`, `node`).
    Runtime,
}

/// One language package found in an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LangPackage {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// Name: PEP 503 normalised for Python; as published for npm
    /// (`@scope/name`); `group/artifact` for Maven.
    pub name: String,
    /// Version as recorded.
    pub version: String,
    /// The metadata file it was read from (path in the image).
    pub location: String,
}

impl LangPackage {
    /// Its package URL text (`pkg:pypi/requests@2.25.0`,
    /// `pkg:npm/%40babel/parser@7.0.0`).
    pub fn purl(&self) -> String {
        match self.ecosystem {
            Ecosystem::Python => format!("pkg:pypi/{}@{}", self.name, self.version),
            Ecosystem::Java => format!("pkg:maven/{}@{}", self.name, self.version),
            Ecosystem::Ruby => format!("pkg:gem/{}@{}", self.name, self.version),
            Ecosystem::DotNet => format!("pkg:nuget/{}@{}", self.name, self.version),
            Ecosystem::Php => format!("pkg:composer/{}@{}", self.name, self.version),
            Ecosystem::Runtime => format!("pkg:generic/{}@{}", self.name, self.version),
            Ecosystem::Node => match self.name.strip_prefix('@') {
                Some(scoped) => format!("pkg:npm/%40{scoped}@{}", self.version),
                None => format!("pkg:npm/{}@{}", self.name, self.version),
            },
        }
    }

    /// Which metadata file (by path) is the cataloger's for `path`, if any.
    pub fn cataloger_for(path: &str) -> Option<Ecosystem> {
        if is_python_metadata(path) || is_egg_archive(path) {
            Some(Ecosystem::Python)
        } else if is_node_manifest(path) || node_lockfile_kind(path).is_some() {
            Some(Ecosystem::Node)
        } else if is_java_archive(path) {
            Some(Ecosystem::Java)
        } else if is_gemspec(path) {
            Some(Ecosystem::Ruby)
        } else if is_deps_json(path) {
            Some(Ecosystem::DotNet)
        } else if is_composer_installed(path) {
            Some(Ecosystem::Php)
        } else if runtime_for(path).is_some() {
            Some(Ecosystem::Runtime)
        } else {
            None
        }
    }

    /// Reads a file that [`LangPackage::cataloger_for`] chose: the
    /// packages it records (none for an unreadable manifest; an error for
    /// a Java archive that cannot be read within its bounds).
    pub fn parse(
        ecosystem: Ecosystem,
        path: &str,
        bytes: &[u8],
    ) -> Result<Vec<LangPackage>, JavaError> {
        let one = |found: Option<(String, String)>| {
            found
                .map(|(name, version)| LangPackage {
                    ecosystem,
                    name,
                    version,
                    location: path.to_string(),
                })
                .into_iter()
                .collect()
        };
        let many = |found: Vec<(String, String)>| {
            found
                .into_iter()
                .map(|(name, version)| LangPackage {
                    ecosystem,
                    name,
                    version,
                    location: path.to_string(),
                })
                .collect()
        };
        Ok(match ecosystem {
            Ecosystem::DotNet => many(parse_deps_json(bytes)),
            Ecosystem::Php => many(parse_composer_installed(bytes)),
            Ecosystem::Python if is_egg_archive(path) => one(parse_egg(bytes)),
            Ecosystem::Python => one(parse_python_metadata(bytes)),
            Ecosystem::Node => match node_lockfile_kind(path) {
                Some(kind) => many(parse_node_lockfile(kind, bytes)),
                None => one(parse_package_json(bytes)),
            },
            Ecosystem::Ruby => one(parse_gemspec(bytes)),
            Ecosystem::Runtime => one(runtime_for(path)
                .and_then(|r| parse_runtime_version(r, bytes).map(|v| (r.to_string(), v)))),
            Ecosystem::Java => java_artifacts(path, bytes)?
                .into_iter()
                .map(|a| LangPackage {
                    ecosystem,
                    name: format!("{}/{}", a.group, a.artifact),
                    version: a.version,
                    location: a.location,
                })
                .collect(),
        })
    }

    /// Was it read from a lock file (`package-lock.json`, `yarn.lock`,
    /// `pnpm-lock.yaml`) rather than from what an installer left?
    pub fn from_lockfile(&self) -> bool {
        self.ecosystem == Ecosystem::Node && node_lockfile_kind(self.file()).is_some()
    }

    /// The file in the image it came from (for a package inside a nested
    /// archive, the outermost archive).
    pub fn file(&self) -> &str {
        self.location.split("!/").next().unwrap_or(&self.location)
    }
}
