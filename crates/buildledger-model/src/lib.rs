//! Plain data types shared by every buildledger crate.
//!
//! This crate owns the *vocabulary* of the ledger and nothing else: an image
//! [`Digest`], a package URL ([`Purl`]), and the [`BuildRecord`] that says what
//! one or more image digests were built from (source, builder, base images,
//! toolchains, components, API surface), together with where that claim came
//! from ([`Origin`]) and whether it was verified ([`Trust`]).
//!
//! It does no I/O. Values are validated when they are constructed or
//! deserialised, so a `BuildRecord` that exists is well formed: digests are
//! `sha256:<64 lowercase hex>`, purls parse per the purl specification, API
//! stabilities are one of a fixed set. [`BuildRecord::validate`] reports the
//! first problem with the JSON path of the offending field.
//!
//! The JSON shape is versioned ([`SCHEMA_VERSION`]) and described by a JSON
//! schema checked into the repository (`schema/build-record.v1.json`), which a
//! test regenerates from these types with [`build_record_schema`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the build-record JSON shape written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// A problem with a value, naming the field it was found in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ModelError {
    /// JSON path of the field, e.g. `components[3].purl`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ModelError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `prefix` (`subjects[0]` + `digest`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

// ---------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------

/// A content digest of an OCI object: `sha256:` followed by 64 lowercase hex
/// digits. Upper-case hex is accepted on input and normalised to lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl JsonSchema for Digest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Digest".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^sha256:[0-9a-fA-F]{64}$",
            "description": "OCI content digest: sha256 followed by 64 hex digits"
        })
    }
}

impl Digest {
    /// Parse `sha256:<64 hex>`.
    pub fn parse(s: &str) -> Result<Digest, ModelError> {
        let s = s.trim();
        let Some(hex) = s.strip_prefix("sha256:") else {
            let algo = s.split(':').next().unwrap_or("");
            return Err(if s.contains(':') {
                ModelError::new(
                    "",
                    format!(
                        "unsupported digest algorithm {algo:?} in {s:?} (only sha256 is accepted)"
                    ),
                )
            } else {
                ModelError::new(
                    "",
                    format!("{s:?} is not a digest: expected sha256:<64 hex digits>"),
                )
            });
        };
        if hex.len() != 64 {
            return Err(ModelError::new(
                "",
                format!(
                    "{s:?} is not a digest: sha256 needs 64 hex digits, found {}",
                    hex.len()
                ),
            ));
        }
        if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(ModelError::new(
                "",
                format!("{s:?} is not a digest: {c:?} is not a hex digit"),
            ));
        }
        Ok(Digest(format!("sha256:{}", hex.to_ascii_lowercase())))
    }

    /// A digest from its 64 hex digits.
    pub fn of_hex(hex64: &str) -> Result<Digest, ModelError> {
        Digest::parse(&format!("sha256:{hex64}"))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

// ---------------------------------------------------------------------------
// Purl
// ---------------------------------------------------------------------------

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
    /// otherwise [`Purl::package`]. PyPI names are normalised (PEP 503).
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
        self.package.clone()
    }
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

// ---------------------------------------------------------------------------
// Build record
// ---------------------------------------------------------------------------

/// One image digest a record speaks about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The manifest or index digest.
    pub digest: Digest,
    /// `application/vnd.oci.image.manifest.v1+json`, `…index.v1+json`, Docker's equivalents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// `os/arch[/variant]` for a platform manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// References (`registry/repo:tag`) this digest was seen under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// For an index: its per-platform manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<PlatformManifest>,
}

/// A per-platform manifest listed by an image index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformManifest {
    /// Manifest digest.
    pub digest: Digest,
    /// `os/arch[/variant]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// Where the source came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Repository URL (`https://github.com/org/repo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Full commit id (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Tag built, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// True when the work tree had uncommitted changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
}

/// The build system that produced the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Builder {
    /// Builder id (a URI, as in SLSA `runDetails.builder.id`).
    pub id: String,
    /// Builder version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// How an image was used by the build.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ImageRole {
    /// The final stage's `FROM` image: its layers are in the result.
    Base,
    /// An image a build stage ran in (its contents are not in the result).
    Builder,
}

impl ImageRole {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageRole::Base => "base",
            ImageRole::Builder => "builder",
        }
    }
}

/// An image the build used, by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsedImage {
    /// Digest of the image used.
    pub digest: Digest,
    /// Base (in the result) or builder (a build stage).
    pub role: ImageRole,
    /// Reference it was named by (`golang:1.13-alpine`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A toolchain used by the build: `go 1.13.4`, `rustc 1.95.0`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// Lower-case name: `go`, `rustc`, `gcc`, `node`, `python`, `openjdk`.
    pub name: String,
    /// Version without the name prefix: `1.13.4` (not `go1.13.4`).
    pub version: String,
}

impl Toolchain {
    /// Parse `go@1.13.4`, `go 1.13.4`, `go1.13.4` or `rustc=1.95.0`.
    pub fn parse(s: &str) -> Result<Toolchain, ModelError> {
        let s = s.trim();
        let (name, version) = if let Some((n, v)) = s.split_once(['@', ' ', '=']) {
            (n.trim(), v.trim())
        } else if let Some(v) = s
            .strip_prefix("go")
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            ("go", v)
        } else {
            return Err(ModelError::new(
                "",
                format!("{s:?} is not a toolchain: expected NAME@VERSION (e.g. go@1.13.4)"),
            ));
        };
        Toolchain::new(name, version)
    }

    /// A toolchain from its parts, normalised (`go`, `go1.13.4` → `go`, `1.13.4`).
    pub fn new(name: &str, version: &str) -> Result<Toolchain, ModelError> {
        let name = name.trim().to_ascii_lowercase();
        let mut version = version.trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
        {
            return Err(ModelError::new(
                "name",
                format!("{name:?} is not a toolchain name"),
            ));
        }
        if name == "go"
            && let Some(v) = version.strip_prefix("go")
        {
            version = v.to_string();
        }
        if version.is_empty() || version.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ModelError::new(
                "version",
                format!("{version:?} is not a toolchain version"),
            ));
        }
        Ok(Toolchain { name, version })
    }
}

impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// Whether a component ends up in the image or was only used to build it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Present in the shipped artifact.
    #[default]
    Runtime,
    /// Used at build time only.
    Build,
}

impl Scope {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Runtime => "runtime",
            Scope::Build => "build",
        }
    }

    /// Parse `runtime` / `build`.
    pub fn parse(s: &str) -> Result<Scope, ModelError> {
        match s {
            "runtime" => Ok(Scope::Runtime),
            "build" => Ok(Scope::Build),
            _ => Err(ModelError::new(
                "scope",
                format!("{s:?} is not a scope (runtime or build)"),
            )),
        }
    }
}

/// A library or package the build used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Package URL with version.
    pub purl: Purl,
    /// Hashes by algorithm (`sha256` → hex, `h1` → Go module sum).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
    /// Runtime (default) or build.
    #[serde(default)]
    pub scope: Scope,
    /// Where in the image it was found (`usr/bin/app`, `var/lib/dpkg/status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Kind of API the code exposes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// HTTP/REST.
    Http,
    /// gRPC service or method.
    Grpc,
    /// GraphQL.
    Graphql,
    /// A Kubernetes API group/version served (CRD, aggregated API).
    Kubernetes,
    /// Anything else.
    Other,
}

impl ApiKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Http => "http",
            ApiKind::Grpc => "grpc",
            ApiKind::Graphql => "graphql",
            ApiKind::Kubernetes => "kubernetes",
            ApiKind::Other => "other",
        }
    }
}

/// How stable an exposed API is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Stability {
    /// Alpha: may change or vanish.
    Alpha,
    /// Beta: feature complete, may change.
    Beta,
    /// Stable.
    Stable,
    /// Deprecated: will be removed.
    Deprecated,
}

impl Stability {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::Stable => "stable",
            Stability::Deprecated => "deprecated",
        }
    }

    /// Parse `alpha`, `beta`, `stable` (also `ga`), `deprecated` (any case).
    pub fn parse(s: &str) -> Result<Stability, ModelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "alpha" | "experimental" => Ok(Stability::Alpha),
            "beta" | "preview" => Ok(Stability::Beta),
            "stable" | "ga" => Ok(Stability::Stable),
            "deprecated" => Ok(Stability::Deprecated),
            _ => Err(ModelError::new(
                "stability",
                format!("{s:?} is not a stability (alpha, beta, stable, deprecated)"),
            )),
        }
    }

    /// The stability implied by an API version string: `v1alpha2` → alpha,
    /// `v2beta1` → beta, `v1` → stable; None when the string says nothing.
    pub fn from_version(version: &str) -> Option<Stability> {
        let v = version.trim().to_ascii_lowercase();
        let rest = v.strip_prefix('v')?;
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some(Stability::Stable);
        }
        let is_level = |prefix: &str| {
            tail.strip_prefix(prefix)
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        };
        if is_level("alpha") {
            Some(Stability::Alpha)
        } else if is_level("beta") {
            Some(Stability::Beta)
        } else {
            None
        }
    }
}

impl fmt::Display for Stability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the API surface the code exposes.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ApiEntry {
    /// http, grpc, …
    pub kind: ApiKind,
    /// Path or name: `GET /v1beta1/widgets`, `acme.widgets.v1.Widgets/List`.
    pub name: String,
    /// Version string as written by the API: `v1beta2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// alpha, beta, stable or deprecated.
    pub stability: Stability,
}

/// Where a record's facts came from.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Claimed by a CI pipeline (`buildledger record`).
    #[default]
    Ci,
    /// Imported from an SBOM document.
    Sbom,
    /// Taken from a signed attestation (in-toto/SLSA in DSSE).
    Attestation,
    /// Observed by indexing the image itself.
    Indexer,
}

impl Origin {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Ci => "ci",
            Origin::Sbom => "sbom",
            Origin::Attestation => "attestation",
            Origin::Indexer => "indexer",
        }
    }

    /// The origin named by [`Origin::as_str`]'s output, if any.
    pub fn parse(s: &str) -> Option<Origin> {
        [
            Origin::Ci,
            Origin::Sbom,
            Origin::Attestation,
            Origin::Indexer,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// How far a record can be trusted.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TrustState {
    /// Nobody vouched for it (a plain CI claim, an SBOM).
    #[default]
    Unverified,
    /// Signed by a key pinned to the builder that claims it.
    Verified,
    /// Read from the image itself by the indexer.
    Observed,
}

impl TrustState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustState::Unverified => "unverified",
            TrustState::Verified => "verified",
            TrustState::Observed => "observed",
        }
    }

    /// The state named by [`TrustState::as_str`]'s output, if any.
    pub fn parse(s: &str) -> Option<TrustState> {
        [
            TrustState::Unverified,
            TrustState::Verified,
            TrustState::Observed,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// Trust state of a record and, when verified, by which key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// unverified, verified or observed.
    pub state: TrustState,
    /// Key id (hex SHA-256 of the public key's SPKI DER) that verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Why verification failed, for an unverified attestation kept by choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one or more image digests were built from, as claimed or observed by one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildRecord {
    /// Shape version; [`SCHEMA_VERSION`] when written by this version.
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    /// The image digests this record describes (at least one).
    pub subjects: Vec<Subject>,
    /// Source repository, commit, tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Build system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<Builder>,
    /// Base and builder images by digest (multi-stage builds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<UsedImage>,
    /// Toolchains used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toolchains: Vec<Toolchain>,
    /// Languages (`go`, `rust`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Libraries and packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// API surface exposed by the code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<ApiEntry>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// When the build ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time: Option<DateTime<Utc>>,
    /// When the ledger stored it. Set by the store; never read from input.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub record_time: Option<DateTime<Utc>>,
    /// Where the facts came from. Set by the ledger from how it received
    /// them (flags or file: `ci`; `sbom import`; a DSSE envelope; its own
    /// index of the image); never read from input.
    #[serde(default, skip_deserializing)]
    pub origin: Origin,
    /// Trust state. Established by the ledger (a signature checked against a
    /// pinned key, an index it ran itself); never read from input.
    #[serde(default, skip_deserializing)]
    pub trust: Trust,
}

/// Fields of a [`BuildRecord`] that the ledger establishes itself. No
/// deserialisation of a record sets them (they are `skip_deserializing`);
/// [`BuildRecord::from_json`] rejects a document that carries one, so a
/// submitted record can never claim to be verified, observed or older.
pub const LEDGER_FIELDS: &[&str] = &["origin", "trust", "record_time"];

fn default_schema_version() -> u32 {
    SCHEMA_VERSION
}

impl BuildRecord {
    /// An empty record for `subjects`.
    pub fn new(subjects: Vec<Subject>) -> BuildRecord {
        BuildRecord {
            schema_version: SCHEMA_VERSION,
            subjects,
            source: None,
            builder: None,
            images: Vec::new(),
            toolchains: Vec::new(),
            languages: Vec::new(),
            components: Vec::new(),
            apis: Vec::new(),
            labels: BTreeMap::new(),
            build_time: None,
            record_time: None,
            origin: Origin::Ci,
            trust: Trust::default(),
        }
    }

    /// Parse a record from JSON; errors name the JSON path of the problem.
    pub fn from_json(bytes: &[u8]) -> Result<BuildRecord, ModelError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let rec: BuildRecord = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = e.into_inner().to_string();
            if let Some(f) = LEDGER_FIELDS.iter().find(|f| {
                (path.is_empty() || path == **f)
                    && message.starts_with(&format!("unknown field `{f}`"))
            }) {
                return ModelError::new(
                    *f,
                    "set by the ledger (from a signature it verified or an index it ran), \
                     never accepted from input; remove the field",
                );
            }
            ModelError::new(path, message)
        })?;
        rec.validate()?;
        Ok(rec)
    }

    /// Check what the types cannot: at least one subject, a known schema
    /// version, a plausible commit id, non-empty names.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.schema_version == 0 || self.schema_version > SCHEMA_VERSION {
            return Err(ModelError::new(
                "schema_version",
                format!(
                    "unsupported schema version {} (this build reads 1..={SCHEMA_VERSION})",
                    self.schema_version
                ),
            ));
        }
        if self.subjects.is_empty() {
            return Err(ModelError::new(
                "subjects",
                "a build record needs at least one subject digest",
            ));
        }
        self.check_trust()?;
        self.check_no_nul()?;
        if let Some(src) = &self.source
            && let Some(c) = &src.commit
        {
            let ok = (7..=64).contains(&c.len()) && c.chars().all(|c| c.is_ascii_hexdigit());
            if !ok {
                return Err(ModelError::new(
                    "source.commit",
                    format!("{c:?} is not a commit id (7 to 64 hex digits)"),
                ));
            }
        }
        if let Some(b) = &self.builder
            && b.id.trim().is_empty()
        {
            return Err(ModelError::new("builder.id", "empty builder id"));
        }
        for (i, t) in self.toolchains.iter().enumerate() {
            Toolchain::new(&t.name, &t.version)
                .map_err(|e| e.within(&format!("toolchains[{i}]")))?;
        }
        for (i, c) in self.components.iter().enumerate() {
            if c.purl.version().is_none() {
                return Err(ModelError::new(
                    format!("components[{i}].purl"),
                    format!("{} has no version", c.purl),
                ));
            }
        }
        for (i, a) in self.apis.iter().enumerate() {
            if a.name.trim().is_empty() {
                return Err(ModelError::new(format!("apis[{i}].name"), "empty API name"));
            }
        }
        Ok(())
    }

    /// Origin and trust must agree: only an attestation can be verified (and
    /// then by a named key), only the indexer observes (and is unverified
    /// when the digest was named by the caller), a CI claim or an SBOM is
    /// unverified. A record that breaks this was built by mistake in
    /// code (input cannot set these fields); the store refuses it.
    fn check_trust(&self) -> Result<(), ModelError> {
        let t = &self.trust;
        let ok = match (self.origin, t.state) {
            (Origin::Ci | Origin::Sbom, TrustState::Unverified) => t.key_id.is_none(),
            (Origin::Attestation, TrustState::Verified) => {
                t.key_id.as_deref().is_some_and(|k| !k.is_empty()) && t.reason.is_none()
            }
            (Origin::Attestation, TrustState::Unverified) => t.key_id.is_none(),
            (Origin::Indexer, TrustState::Observed) => t.key_id.is_none(),
            // Indexed by us under a digest the caller named (`dir:`, `file:`).
            (Origin::Indexer, TrustState::Unverified) => t.key_id.is_none(),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(ModelError::new(
                "trust",
                format!(
                    "trust {} (key {}) is not possible for origin {}",
                    t.state.as_str(),
                    t.key_id.as_deref().unwrap_or("none"),
                    self.origin.as_str()
                ),
            ))
        }
    }

    /// No string may hold NUL: engines disagree on it (PostgreSQL refuses it
    /// in text, SQLite stores it), and terminals and C tools cut at it. Found
    /// in input, it is bad input with the field named.
    fn check_no_nul(&self) -> Result<(), ModelError> {
        let mut bad: Option<String> = None;
        let mut check = |path: &dyn Fn() -> String, v: &str| {
            if bad.is_none() && v.contains('\0') {
                bad = Some(path());
            }
        };
        for (i, s) in self.subjects.iter().enumerate() {
            let p = |f: &str| format!("subjects[{i}].{f}");
            check(&|| p("media_type"), s.media_type.as_deref().unwrap_or(""));
            check(&|| p("platform"), s.platform.as_deref().unwrap_or(""));
            for (j, r) in s.references.iter().enumerate() {
                check(&|| format!("subjects[{i}].references[{j}]"), r);
            }
            for (j, m) in s.manifests.iter().enumerate() {
                check(
                    &|| format!("subjects[{i}].manifests[{j}].platform"),
                    m.platform.as_deref().unwrap_or(""),
                );
            }
        }
        if let Some(src) = &self.source {
            for (f, v) in [
                ("repo", &src.repo),
                ("commit", &src.commit),
                ("tag", &src.tag),
            ] {
                check(&|| format!("source.{f}"), v.as_deref().unwrap_or(""));
            }
        }
        if let Some(b) = &self.builder {
            check(&|| "builder.id".into(), &b.id);
            check(
                &|| "builder.version".into(),
                b.version.as_deref().unwrap_or(""),
            );
        }
        for (i, u) in self.images.iter().enumerate() {
            check(
                &|| format!("images[{i}].reference"),
                u.reference.as_deref().unwrap_or(""),
            );
        }
        for (i, t) in self.toolchains.iter().enumerate() {
            check(&|| format!("toolchains[{i}].name"), &t.name);
            check(&|| format!("toolchains[{i}].version"), &t.version);
        }
        for (i, l) in self.languages.iter().enumerate() {
            check(&|| format!("languages[{i}]"), l);
        }
        for (i, c) in self.components.iter().enumerate() {
            check(&|| format!("components[{i}].purl"), c.purl.as_str());
            check(
                &|| format!("components[{i}].location"),
                c.location.as_deref().unwrap_or(""),
            );
            for (k, v) in &c.hashes {
                check(&|| format!("components[{i}].hashes"), k);
                check(&|| format!("components[{i}].hashes.{k}"), v);
            }
        }
        for (i, a) in self.apis.iter().enumerate() {
            check(&|| format!("apis[{i}].name"), &a.name);
            check(
                &|| format!("apis[{i}].version"),
                a.version.as_deref().unwrap_or(""),
            );
        }
        for (k, v) in &self.labels {
            check(&|| "labels".into(), k);
            check(&|| format!("labels.{}", k.escape_debug()), v);
        }
        if let Some(r) = &self.trust.reason {
            check(&|| "trust.reason".into(), r);
        }
        match bad {
            Some(field) => Err(ModelError::new(
                field,
                "contains a NUL character (U+0000), which the ledger does not store",
            )),
            None => Ok(()),
        }
    }

    /// All subject digests, including the per-platform manifests of index subjects.
    pub fn all_digests(&self) -> Vec<&Digest> {
        let mut out = Vec::new();
        for s in &self.subjects {
            out.push(&s.digest);
            for m in &s.manifests {
                out.push(&m.digest);
            }
        }
        out
    }
}

/// The JSON schema of [`BuildRecord`], as checked into `schema/build-record.v1.json`.
pub fn build_record_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(BuildRecord);
    let mut v = serde_json::to_value(schema).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String("https://buildledger.dev/schema/build-record.v1.json".into()),
        );
    }
    v
}

#[cfg(test)]
mod tests;
