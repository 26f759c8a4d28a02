//! [`BuildRecord`] and its parts (subjects, source, builder, images,
//! toolchains, components), with parsing from JSON and validation.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ApiEntry, Digest, ModelError, Origin, Purl, SCHEMA_VERSION, Trust, TrustState};

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
