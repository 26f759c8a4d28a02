//! The API surface a build exposes, read from OpenAPI 3 documents.
//!
//! Security teams ask "which images expose a beta API?". The answer comes
//! from the OpenAPI document a service ships: every operation (method and
//! path) becomes an [`ApiEntry`] with a version and a stability.
//!
//! Where the stability comes from, most specific first:
//! 1. `x-stability` on the operation, then on the path item, then on the
//!    document's `info` or root (values: alpha, beta, stable/ga, deprecated);
//! 2. `deprecated: true` on the operation → deprecated;
//! 3. the version segment of the path (`/v1beta1/…` → beta, `/v2/…` →
//!    stable, `/apis/group/v1alpha1/…` → alpha);
//! 4. otherwise the document's `info.version` if it reads like `v1beta2`;
//! 5. otherwise stable (an operation nobody marked is taken at its word).
//!
//! The version recorded is the path's version segment when there is one,
//! else `info.version`. Documents may be JSON or YAML (OpenAPI 3.0 and 3.1;
//! Swagger 2.0 has the same `paths` shape and is read the same way).

use buildledger_model::{ApiEntry, ApiKind, Stability};
use serde_json::Value;

/// Refuse documents larger than this.
pub const MAX_DOCUMENT_SIZE: usize = 32 * 1024 * 1024;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ApiSurfaceError {
    /// Neither JSON nor YAML.
    #[error("{location}: not a JSON or YAML document: {message}")]
    Syntax {
        /// File name.
        location: String,
        /// Parser message.
        message: String,
    },
    /// Parsed, but not an OpenAPI document.
    #[error("{location}: {message}")]
    NotOpenApi {
        /// File name.
        location: String,
        /// What is missing or wrong.
        message: String,
    },
    /// Larger than [`MAX_DOCUMENT_SIZE`].
    #[error("{location}: document is {size} bytes, over the {MAX_DOCUMENT_SIZE}-byte limit")]
    TooLarge {
        /// File name.
        location: String,
        /// Its size.
        size: usize,
    },
}

/// Deepest `[`/`{` nesting accepted in a YAML document (serde_json's own
/// recursion limit for JSON is the same).
pub const MAX_YAML_DEPTH: usize = 128;

/// Read the API surface of one OpenAPI document. `location` names the file in errors.
pub fn from_openapi(bytes: &[u8], location: &str) -> Result<Vec<ApiEntry>, ApiSurfaceError> {
    if bytes.len() > MAX_DOCUMENT_SIZE {
        return Err(ApiSurfaceError::TooLarge {
            location: location.into(),
            size: bytes.len(),
        });
    }
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(json_err) => {
            let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
            if matches!(first, Some(b'{') | Some(b'[')) {
                return Err(ApiSurfaceError::Syntax {
                    location: location.into(),
                    message: json_err.to_string(),
                });
            }
            // YAML parsing is quadratic in flow nesting: refuse absurd depth first.
            if buildledger_input::flow_depth_exceeds(bytes, MAX_YAML_DEPTH) {
                return Err(ApiSurfaceError::Syntax {
                    location: location.into(),
                    message: format!("nested deeper than {MAX_YAML_DEPTH} levels"),
                });
            }
            serde_yaml_ng::from_slice(bytes).map_err(|e| ApiSurfaceError::Syntax {
                location: location.into(),
                message: e.to_string(),
            })?
        }
    };
    let not = |m: &str| ApiSurfaceError::NotOpenApi {
        location: location.into(),
        message: m.into(),
    };
    let obj = doc
        .as_object()
        .ok_or_else(|| not("the document is not an object"))?;
    let spec = obj
        .get("openapi")
        .or_else(|| obj.get("swagger"))
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_f64().map(|f| f.to_string()))
        })
        .ok_or_else(|| not("no `openapi` (or `swagger`) version field: not an OpenAPI document"))?;
    if !(spec.starts_with("3.") || spec.starts_with("2.")) {
        return Err(not(&format!(
            "unsupported OpenAPI version {spec:?} (2.x and 3.x are read)"
        )));
    }
    let info = obj.get("info");
    let doc_version = info.and_then(|i| i.get("version")).and_then(Value::as_str);
    let doc_stability = stability_field(info).or(stability_field(Some(&doc)));
    let paths = match obj.get("paths") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(not("`paths` is not an object")),
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            return Err(not(&format!("paths.{path} is not an object")));
        };
        let path_stability = stability_field(Some(&Value::Object(item.clone())));
        let path_version = version_segment(path);
        for (method, op) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let deprecated = op
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let version = path_version.clone().or_else(|| {
                doc_version
                    .filter(|v| Stability::from_version(v).is_some())
                    .map(String::from)
            });
            let stability = stability_field(Some(op))
                .or(path_stability)
                .or(if deprecated {
                    Some(Stability::Deprecated)
                } else {
                    None
                })
                .or(doc_stability)
                .or_else(|| path_version.as_deref().and_then(Stability::from_version))
                .or_else(|| doc_version.and_then(Stability::from_version))
                .unwrap_or(Stability::Stable);
            let stability = if deprecated {
                Stability::Deprecated
            } else {
                stability
            };
            out.push(ApiEntry {
                kind: ApiKind::Http,
                name: format!("{} {path}", method.to_ascii_uppercase()),
                version,
                stability,
            });
        }
    }
    out.sort();
    Ok(out)
}

fn stability_field(v: Option<&Value>) -> Option<Stability> {
    v?.get("x-stability")
        .or_else(|| v?.get("x-stability-level"))
        .and_then(Value::as_str)
        .and_then(|s| Stability::parse(s).ok())
}

/// The first path segment that reads like an API version (`v1`, `v1beta2`).
fn version_segment(path: &str) -> Option<String> {
    path.split('/')
        .find(|seg| Stability::from_version(seg).is_some())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_paths() {
        assert_eq!(
            version_segment("/apis/apps/v1beta2/deployments"),
            Some("v1beta2".into())
        );
        assert_eq!(version_segment("/v2/pets/{id}"), Some("v2".into()));
        assert_eq!(version_segment("/pets/vip"), None);
    }
}
