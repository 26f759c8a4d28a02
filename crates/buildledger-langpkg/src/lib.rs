//! Language package catalogers: which Python and Node.js packages an image's
//! file system holds, read from the metadata their installers leave behind, as
//! pure functions over file bytes (the scanner chooses the files and bounds
//! their size; `buildledger-ospkg` does the same for OS package databases).
//!
//! * **Python**: `*.dist-info/METADATA` (wheels, pip), `*.egg-info/PKG-INFO`
//!   and `*.egg-info` files (setuptools, distutils). The name is normalised as
//!   PEP 503 says (`Django` → `django`, `zope.interface` → `zope-interface`),
//!   which is also how advisories and purls name it.
//! * **Node.js**: every `package.json` directly inside a `node_modules`
//!   directory (`node_modules/lodash/package.json`,
//!   `node_modules/@babel/parser/package.json`, nested ones included).
//! * **Ownership**: dpkg's file lists (`var/lib/dpkg/info/*.list`, and the
//!   `*.md5sums` files that distroless images keep in `status.d/`) say which
//!   files a Debian package installed. A language package whose metadata an OS
//!   package owns is that OS package's (Debian's `python3-requests` is patched
//!   by Debian and matched against Debian's advisories), so the scanner reports
//!   it once, as the OS package.
//!
//! Everything read is untrusted: header blocks and JSON documents are read
//! within the bytes given (the scanner caps those), malformed ones yield
//! `None`, never a panic.

#![deny(missing_docs)]

mod node;
mod owned;
mod python;

pub use node::{is_node_manifest, parse_package_json};
pub use owned::{is_dpkg_file_list, owned_paths};
pub use python::{is_python_metadata, normalize_pypi_name, parse_python_metadata};

/// The ecosystem a language package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ecosystem {
    /// PyPI (`pkg:pypi`).
    Python,
    /// npm (`pkg:npm`).
    Node,
}

/// One language package found in an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LangPackage {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// Name: PEP 503 normalised for Python; as published for npm
    /// (`@scope/name`).
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
            Ecosystem::Node => match self.name.strip_prefix('@') {
                Some(scoped) => format!("pkg:npm/%40{scoped}@{}", self.version),
                None => format!("pkg:npm/{}@{}", self.name, self.version),
            },
        }
    }

    /// Which metadata file (by path) is the cataloger's for `path`, if any.
    pub fn cataloger_for(path: &str) -> Option<Ecosystem> {
        if is_python_metadata(path) {
            Some(Ecosystem::Python)
        } else if is_node_manifest(path) {
            Some(Ecosystem::Node)
        } else {
            None
        }
    }

    /// Reads a metadata file that [`LangPackage::cataloger_for`] chose.
    pub fn parse(ecosystem: Ecosystem, path: &str, bytes: &[u8]) -> Option<LangPackage> {
        let (name, version) = match ecosystem {
            Ecosystem::Python => parse_python_metadata(bytes)?,
            Ecosystem::Node => parse_package_json(bytes)?,
        };
        Some(LangPackage {
            ecosystem,
            name,
            version,
            location: path.to_string(),
        })
    }
}
