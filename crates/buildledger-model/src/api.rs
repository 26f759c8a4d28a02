//! The API surface a build exposes: [`ApiKind`], [`Stability`], [`ApiEntry`].

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ModelError;

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
