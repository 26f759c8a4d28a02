//! in-toto Statement v1 and the SLSA provenance v1 predicate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ProvenanceError;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// `predicateType` of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// DSSE `payloadType` of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// `buildType` buildledger writes when the caller does not give one.
pub const BUILDLEDGER_BUILD_TYPE: &str = "https://buildledger.invalid/build-types/container@v1";
/// Annotation key in [`ResourceDescriptor::annotations`] naming what a
/// dependency is to buildledger: one of [`KIND_SOURCE`], [`KIND_BASE_IMAGE`],
/// [`KIND_TOOLCHAIN`], [`KIND_COMPONENT`], [`KIND_BUILDER_IMAGE`].
pub const KIND_ANNOTATION: &str = "buildledger.kind";
/// Kind of the source repository dependency.
pub const KIND_SOURCE: &str = "source";
/// Kind of a base image (`FROM`) dependency.
pub const KIND_BASE_IMAGE: &str = "base-image";
/// Kind of a toolchain (compiler, standard library) dependency.
pub const KIND_TOOLCHAIN: &str = "toolchain";
/// Kind of a library/package linked or installed into the output.
pub const KIND_COMPONENT: &str = "component";
/// Kind of an image the build ran in (in `builderDependencies`).
pub const KIND_BUILDER_IMAGE: &str = "builder-image";

/// An in-toto Statement v1 (`_type` is [`STATEMENT_TYPE`]; it is checked on
/// read and written by [`Statement::to_json`], so it is not a field).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The artifacts the predicate is about.
    pub subject: Vec<Subject>,
    /// URI naming the predicate's schema.
    pub predicate_type: String,
    /// The predicate, kept as JSON.
    pub predicate: Value,
}

/// One subject of a [`Statement`]. Other ResourceDescriptor fields a
/// producer may add (`uri`, `annotations`, …) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Name of the artifact, e.g. an image reference.
    #[serde(default)]
    pub name: String,
    /// Algorithm → lowercase hex digest, e.g. `{"sha256": "…"}`.
    pub digest: BTreeMap<String, String>,
}

#[derive(Deserialize, Serialize)]
struct WireStatement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Value,
}

impl Statement {
    /// Parse and check a statement: `_type` must be [`STATEMENT_TYPE`], at
    /// least one subject, each with a non-empty digest, and a non-empty
    /// `predicateType`. Unknown top-level fields are ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Statement, ProvenanceError> {
        let wire: WireStatement =
            serde_json::from_slice(bytes).map_err(|e| ProvenanceError::Statement(e.to_string()))?;
        if wire.type_ != STATEMENT_TYPE {
            return Err(ProvenanceError::Statement(format!(
                "_type is {:?}, expected {STATEMENT_TYPE:?}",
                wire.type_
            )));
        }
        if wire.subject.is_empty() {
            return Err(ProvenanceError::Statement(
                "subject is empty; at least one is required".into(),
            ));
        }
        for (i, s) in wire.subject.iter().enumerate() {
            if s.digest.is_empty() {
                return Err(ProvenanceError::Statement(format!(
                    "subject[{i}] ({:?}) has no digest",
                    s.name
                )));
            }
        }
        if wire.predicate_type.is_empty() {
            return Err(ProvenanceError::Statement("predicateType is empty".into()));
        }
        Ok(Statement {
            subject: wire.subject,
            predicate_type: wire.predicate_type,
            predicate: wire.predicate,
        })
    }

    /// Serialise to compact JSON with `_type` set.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireStatement {
            type_: STATEMENT_TYPE.to_owned(),
            subject: self.subject.clone(),
            predicate_type: self.predicate_type.clone(),
            predicate: self.predicate.clone(),
        };
        // Strings, maps and JSON values always serialise.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// The predicate as SLSA provenance v1, if `predicate_type` says so.
    ///
    /// `Ok(None)` for other predicate types; an error when the predicate
    /// claims to be SLSA v1 but lacks its required fields.
    pub fn slsa_provenance(&self) -> Result<Option<SlsaProvenance>, ProvenanceError> {
        if self.predicate_type != SLSA_PROVENANCE_V1 {
            return Ok(None);
        }
        SlsaProvenance::from_value(&self.predicate).map(Some)
    }
}

/// Make an in-toto statement about image digests carrying `provenance`.
///
/// Each subject is `(name, sha256 hex)`; a leading `sha256:` on the digest
/// is removed and the hex is lower-cased.
pub fn build_statement(subjects: &[(String, String)], provenance: &SlsaProvenance) -> Statement {
    let subject = subjects
        .iter()
        .map(|(name, digest)| {
            let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
            Subject {
                name: name.clone(),
                digest: BTreeMap::from([("sha256".to_owned(), hex.to_ascii_lowercase())]),
            }
        })
        .collect();
    Statement {
        subject,
        predicate_type: SLSA_PROVENANCE_V1.to_owned(),
        predicate: provenance.to_value(),
    }
}

/// An in-toto ResourceDescriptor. Unknown fields are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// Where the resource is, e.g. `git+https://…@refs/tags/v1`,
    /// `pkg:docker/…@sha256:…`, a purl.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// Algorithm → digest, e.g. `{"gitCommit": "…"}`, `{"sha256": "…"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Human name, e.g. `go` for a toolchain.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Where to download it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub download_location: String,
    /// Its media type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    /// Inline content, base64 in JSON (kept as the JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Free-form annotations; buildledger uses [`KIND_ANNOTATION`] and
    /// `version`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Value>,
    /// Unknown fields, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ResourceDescriptor {
    /// The [`KIND_ANNOTATION`] value, if present.
    pub fn kind(&self) -> Option<&str> {
        self.annotations
            .get(KIND_ANNOTATION)
            .and_then(Value::as_str)
    }
    fn with_kind(mut self, kind: &str) -> Self {
        self.annotations
            .insert(KIND_ANNOTATION.to_owned(), Value::String(kind.to_owned()));
        self
    }
}

/// SLSA provenance v1 predicate (`https://slsa.dev/provenance/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlsaProvenance {
    /// What the build was asked to do and with which inputs.
    pub build_definition: BuildDefinition,
    /// Who ran it and when.
    pub run_details: RunDetails,
    /// Unknown fields, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `buildDefinition` of SLSA provenance v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// URI of the build template.
    pub build_type: String,
    /// Parameters under the caller's control (buildledger: `source`).
    #[serde(default = "empty_object")]
    pub external_parameters: Value,
    /// Parameters set by the build platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<Value>,
    /// Artifacts the build fetched: source, base images, toolchains,
    /// components (see [`KIND_ANNOTATION`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
    /// Unknown fields, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `runDetails` of SLSA provenance v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// The build platform.
    pub builder: Builder,
    /// Invocation id and timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    /// Extra outputs of the build (logs, SBOMs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
    /// Unknown fields, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `runDetails.builder` of SLSA provenance v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Builder {
    /// URI identifying the build platform; the trust policy pins keys to it.
    pub id: String,
    /// Component → version of the build platform.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
    /// What the platform ran the build on (buildledger: builder images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builder_dependencies: Vec<ResourceDescriptor>,
    /// Unknown fields, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `runDetails.metadata` of SLSA provenance v1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// Identifier of this run, e.g. a CI job URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// When the build started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<DateTime<Utc>>,
    /// When the build finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<DateTime<Utc>>,
    /// Unknown fields, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl SlsaProvenance {
    /// A provenance with only `buildType` and `builder.id` set.
    pub fn new(build_type: &str, builder_id: &str) -> Self {
        SlsaProvenance {
            build_definition: BuildDefinition {
                build_type: build_type.to_owned(),
                external_parameters: empty_object(),
                internal_parameters: None,
                resolved_dependencies: Vec::new(),
                extra: BTreeMap::new(),
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder_id.to_owned(),
                    version: BTreeMap::new(),
                    builder_dependencies: Vec::new(),
                    extra: BTreeMap::new(),
                },
                metadata: None,
                byproducts: Vec::new(),
                extra: BTreeMap::new(),
            },
            extra: BTreeMap::new(),
        }
    }

    /// Parse a predicate value.
    pub fn from_value(predicate: &Value) -> Result<Self, ProvenanceError> {
        SlsaProvenance::deserialize(predicate)
            .map_err(|e| ProvenanceError::Provenance(e.to_string()))
    }

    /// The predicate as JSON.
    pub fn to_value(&self) -> Value {
        // Derived Serialize of strings/maps/values into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Record the source: `repo` is a clone URL such as
    /// `https://github.com/acme/app` (a `git+` prefix is added if missing),
    /// `git_ref` e.g. `refs/tags/v1`, `commit` the full commit hash.
    ///
    /// Adds a resolved dependency `{uri: "git+https://…@refs/tags/v1",
    /// digest: {gitCommit: commit}}` of kind [`KIND_SOURCE`] and sets
    /// `externalParameters.source` to the same URI.
    pub fn with_source(mut self, repo: &str, git_ref: Option<&str>, commit: &str) -> Self {
        let base = if repo.starts_with("git+") {
            repo.to_owned()
        } else {
            format!("git+{repo}")
        };
        let uri = match git_ref {
            Some(r) => format!("{base}@{r}"),
            None => base,
        };
        if let Value::Object(m) = &mut self.build_definition.external_parameters {
            m.insert("source".to_owned(), Value::String(uri.clone()));
        }
        self.build_definition.resolved_dependencies.push(
            ResourceDescriptor {
                uri,
                digest: BTreeMap::from([("gitCommit".to_owned(), commit.to_owned())]),
                ..Default::default()
            }
            .with_kind(KIND_SOURCE),
        );
        self
    }

    /// Record a base image (`FROM`) by digest: `reference` is either an
    /// `oci://…` or `pkg:` URI, kept as is, or an image name such as
    /// `docker.io/library/alpine:3.20`, written as the purl
    /// `pkg:docker/library/alpine@sha256:<hex>?repository_url=docker.io`
    /// (tag dropped). The digest goes to `digest.sha256`.
    pub fn with_base_image(mut self, reference: &str, sha256_hex: &str) -> Self {
        let rd = image_descriptor(reference, sha256_hex).with_kind(KIND_BASE_IMAGE);
        self.build_definition.resolved_dependencies.push(rd);
        self
    }

    /// Record an image the build ran in (goes to
    /// `runDetails.builder.builderDependencies`, kind [`KIND_BUILDER_IMAGE`]).
    pub fn with_builder_image(mut self, reference: &str, sha256_hex: &str) -> Self {
        let rd = image_descriptor(reference, sha256_hex).with_kind(KIND_BUILDER_IMAGE);
        self.run_details.builder.builder_dependencies.push(rd);
        self
    }

    /// Record a toolchain (e.g. `go`, `1.22.3`): a resolved dependency with
    /// `name`, `uri` `pkg:generic/<name>@<version>`, annotation `version`
    /// and kind [`KIND_TOOLCHAIN`]; `sha256_hex` is the digest of its
    /// archive or image if known.
    pub fn with_toolchain(mut self, name: &str, version: &str, sha256_hex: Option<&str>) -> Self {
        let mut rd = ResourceDescriptor {
            uri: format!("pkg:generic/{name}@{version}"),
            name: name.to_owned(),
            ..Default::default()
        };
        if let Some(h) = sha256_hex {
            rd.digest.insert("sha256".to_owned(), h.to_owned());
        }
        rd.annotations
            .insert("version".to_owned(), Value::String(version.to_owned()));
        self.build_definition
            .resolved_dependencies
            .push(rd.with_kind(KIND_TOOLCHAIN));
        self
    }

    /// Record components (libraries, packages) by package URL: one
    /// resolved dependency each, `uri` = the purl, kind [`KIND_COMPONENT`].
    pub fn with_components<'a>(mut self, purls: impl IntoIterator<Item = &'a str>) -> Self {
        for purl in purls {
            self.build_definition.resolved_dependencies.push(
                ResourceDescriptor {
                    uri: purl.to_owned(),
                    ..Default::default()
                }
                .with_kind(KIND_COMPONENT),
            );
        }
        self
    }

    /// Set `runDetails.metadata`.
    pub fn with_metadata(
        mut self,
        invocation_id: Option<&str>,
        started_on: Option<DateTime<Utc>>,
        finished_on: Option<DateTime<Utc>>,
    ) -> Self {
        self.run_details.metadata = Some(BuildMetadata {
            invocation_id: invocation_id.map(str::to_owned),
            started_on,
            finished_on,
            extra: BTreeMap::new(),
        });
        self
    }

    /// `runDetails.builder.id`.
    pub fn builder_id(&self) -> &str {
        &self.run_details.builder.id
    }

    /// Resolved dependencies of one buildledger kind, in order.
    pub fn dependencies_of_kind<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a ResourceDescriptor> + 'a {
        self.build_definition
            .resolved_dependencies
            .iter()
            .filter(move |d| d.kind() == Some(kind))
    }

    /// The source `(uri, gitCommit)`: the first resolved dependency of
    /// kind [`KIND_SOURCE`], else the first with a `gitCommit` digest.
    pub fn source(&self) -> Option<(&str, &str)> {
        let deps = &self.build_definition.resolved_dependencies;
        deps.iter()
            .filter(|d| d.kind() == Some(KIND_SOURCE))
            .chain(deps.iter())
            .find_map(|d| {
                d.digest
                    .get("gitCommit")
                    .map(|c| (d.uri.as_str(), c.as_str()))
            })
    }
}

fn image_descriptor(reference: &str, sha256_hex: &str) -> ResourceDescriptor {
    let hex = sha256_hex
        .strip_prefix("sha256:")
        .unwrap_or(sha256_hex)
        .to_ascii_lowercase();
    let uri = if reference.starts_with("oci://") || reference.starts_with("pkg:") {
        reference.to_owned()
    } else {
        docker_purl(reference, &hex)
    };
    ResourceDescriptor {
        uri,
        digest: BTreeMap::from([("sha256".to_owned(), hex)]),
        ..Default::default()
    }
}

/// `registry.example/team/app:tag` → `pkg:docker/team/app@sha256:…?repository_url=registry.example`.
fn docker_purl(reference: &str, hex: &str) -> String {
    // Drop any digest or tag already in the reference.
    let name = reference.split('@').next().unwrap_or(reference);
    let name = match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => &name[..colon],
        _ => name,
    };
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    match registry {
        Some(r) => format!("pkg:docker/{path}@sha256:{hex}?repository_url={r}"),
        None => format!("pkg:docker/{path}@sha256:{hex}"),
    }
}
