//! [`Purl`]: a package URL in canonical form, with the match key advisories use.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A package URL (<https://github.com/package-url/purl-spec>), kept in its
/// canonical string form. Parsing is done by the `packageurl` crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Purl {
    canonical: String,
    package: String,
    version: Option<String>,
    ty: String,
    qualifiers: Vec<(String, String)>,
}

impl JsonSchema for Purl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Purl".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^pkg:[A-Za-z.+-][A-Za-z0-9.+-]*/.+",
            "description": "package URL (purl specification)"
        })
    }
}

impl Purl {
    /// Parse and canonicalise a purl.
    pub fn parse(s: &str) -> Result<Purl, ModelError> {
        // The purl spec percent-encodes; a `%` not followed by two hex digits
        // is malformed (the parser below would keep it as it is).
        let b = s.as_bytes();
        if let Some(i) = (0..b.len()).find(|&i| {
            b[i] == b'%'
                && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        }) {
            return Err(ModelError::new(
                "",
                format!("{s:?} is not a valid package URL: bad percent-encoding at byte {i}"),
            ));
        }
        let p = packageurl::PackageUrl::from_str(s.trim())
            .map_err(|e| ModelError::new("", format!("{s:?} is not a valid package URL: {e}")))?;
        let ty = p.ty().to_string();
        let name = p.name().to_string();
        if name.is_empty() {
            return Err(ModelError::new(
                "",
                format!("{s:?} is not a valid package URL: empty name"),
            ));
        }
        let version = p.version().map(|v| v.to_string()).filter(|v| !v.is_empty());
        let mut base = packageurl::PackageUrl::new(ty.clone(), name)
            .map_err(|e| ModelError::new("", format!("{s:?} is not a valid package URL: {e}")))?;
        if let Some(ns) = p.namespace() {
            base.with_namespace(ns.to_string())
                .map_err(|e| ModelError::new("", format!("{s:?}: bad namespace: {e}")))?;
        }
        let package = base.to_string();
        let qualifiers = p
            .qualifiers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(Purl {
            canonical: p.to_string(),
            package,
            version,
            ty,
            qualifiers,
        })
    }

    /// Build `pkg:TYPE/NAMESPACE/NAME@VERSION` from parts. A `name` with
    /// slashes and no namespace (a Go module path `golang.org/x/net`, an npm
    /// `@scope/pkg`) is split at its last slash, as the purl spec has it.
    pub fn from_parts(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Purl, ModelError> {
        let (namespace, name) = match (namespace.filter(|n| !n.is_empty()), name.rsplit_once('/')) {
            (None, Some((ns, n))) if !ns.is_empty() && !n.is_empty() => (Some(ns), n),
            (ns, _) => (ns, name),
        };
        let mut p = packageurl::PackageUrl::new(ty.to_string(), name.to_string()).map_err(|e| {
            ModelError::new("", format!("cannot build a package URL for {name:?}: {e}"))
        })?;
        if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
            p.with_namespace(ns.to_string())
                .map_err(|e| ModelError::new("", format!("bad namespace {ns:?}: {e}")))?;
        }
        if let Some(v) = version.filter(|v| !v.is_empty()) {
            p.with_version(v.to_string())
                .map_err(|e| ModelError::new("", format!("bad version {v:?}: {e}")))?;
        }
        Purl::parse(&p.to_string())
    }

    /// The whole canonical purl.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The package without version, qualifiers and subpath: `pkg:golang/golang.org/x/net`.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// The version, if any.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The purl type (`golang`, `cargo`, `deb`, …).
    pub fn ty(&self) -> &str {
        &self.ty
    }

    /// The value of qualifier `key` (`arch`, `distro`, `upstream`, …).
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The package an advisory names for this component: for distro
    /// packages (deb, rpm, apk) the source package from the `upstream`
    /// qualifier when present (`pkg:deb/debian/openssl` for `libssl3`),
    /// otherwise [`Purl::package`]. PyPI names are normalised (PEP 503);
    /// NuGet and Composer names, which those ecosystems compare without
    /// case, are lower-cased.
    pub fn match_key(&self) -> String {
        if matches!(self.ty.as_str(), "deb" | "rpm" | "apk")
            && let Some(up) = self.qualifier("upstream")
        {
            let name = up.split(['@', ' ']).next().unwrap_or(up);
            if !name.is_empty() {
                let ns = self
                    .package
                    .trim_start_matches("pkg:")
                    .split('/')
                    .collect::<Vec<_>>();
                if ns.len() >= 3 {
                    return format!("pkg:{}/{}/{}", ns[0], ns[1], name);
                }
                return format!("pkg:{}/{}", self.ty, name);
            }
        }
        if self.ty == "pypi" {
            return pypi_key(&self.package);
        }
        if ignores_name_case(&self.ty) {
            return self.package.to_ascii_lowercase();
        }
        self.package.clone()
    }
}

/// Whether packages of purl type `ty` are named without regard to case
/// (NuGet ids, Composer names): their [`Purl::match_key`] is the
/// lower-cased package, and lookups by name go through it.
pub fn ignores_name_case(ty: &str) -> bool {
    matches!(ty, "nuget" | "composer")
}

/// PEP 503 normalisation of the name part of a `pkg:pypi/NAME` key.
fn pypi_key(package: &str) -> String {
    let name = package.trim_start_matches("pkg:pypi/");
    let mut out = String::from("pkg:pypi/");
    let mut sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep {
                out.push('-');
                sep = false;
            }
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl FromStr for Purl {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Purl::parse(s)
    }
}

impl TryFrom<String> for Purl {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Purl::parse(&s)
    }
}

impl From<Purl> for String {
    fn from(p: Purl) -> String {
        p.canonical
    }
}
