//! The runtime inventory from a cluster snapshot: the PodList and
//! NamespaceList that `kubectl get pods -A -o json` and `kubectl get ns -o
//! json` print (or one `List` holding both). Each container, init container
//! and ephemeral container becomes a row naming its workload (the pod's
//! controller; a ReplicaSet of a Deployment is named as the Deployment) and
//! the digest it runs:
//!
//! - from `status.*ContainerStatuses[].imageID` (`…@sha256:…`), else from
//!   an image written by digest in the spec;
//! - an index digest the ledger knows is resolved to its platform manifest
//!   (`linux/amd64` when several, else the only one);
//! - an image written by tag is resolved through the references the ledger
//!   has recorded, and is listed as unresolved otherwise.
//!
//! The environment of a namespace comes from its label (`env_label`, by
//! default `buildledger.dev/environment`), else from `env_map`.

use std::collections::BTreeMap;

use buildledger_model::Digest;
use buildledger_store::{InventoryDelta, InventoryRow, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// The default namespace label that names an environment.
pub const DEFAULT_ENV_LABEL: &str = "buildledger.dev/environment";

/// The platform picked from an index when a pod's node is not known.
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// Most objects read from one snapshot.
const MAX_OBJECTS: usize = 200_000;

/// How namespaces map to environments.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Environments {
    /// The namespace label naming the environment (default [`DEFAULT_ENV_LABEL`]).
    #[serde(default)]
    pub env_label: Option<String>,
    /// Namespace → environment, for namespaces without the label.
    #[serde(default)]
    pub env_map: BTreeMap<String, String>,
}

/// What a snapshot did: the JSON of `inventory report` and `POST /api/v1/inventory/{cluster}`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InventoryReport {
    /// The cluster.
    pub cluster: String,
    /// Pods read.
    pub pods: usize,
    /// Containers (of every kind) recorded.
    pub containers: usize,
    /// Containers whose digest was resolved.
    pub resolved: usize,
    /// Images that could not be resolved to a digest (written by a tag the
    /// ledger has never recorded, and not yet reported by the kubelet).
    pub unresolved: Vec<String>,
    /// Containers new since the previous snapshot, and gone since.
    pub delta: InventoryDelta,
}

pub(crate) fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// Every object of the snapshot documents, by kind.
fn objects(docs: &[(Vec<u8>, String)]) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut pods = Vec::new();
    let mut namespaces = Vec::new();
    for (bytes, name) in docs {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::bad_field(name.clone(), format!("not JSON: {e}")))?;
        let items: Vec<Value> = match (v.get("items").and_then(Value::as_array), s(&v, &["kind"])) {
            (Some(items), _) => items.clone(),
            (None, Some("Pod" | "Namespace")) => vec![v],
            _ => {
                // Not a snapshot: refusing it keeps a typo from emptying a
                // cluster's inventory.
                return Err(Error::bad_field(
                    name.clone(),
                    "not a PodList, NamespaceList, List, Pod or Namespace (kubectl get … -o json)",
                ));
            }
        };
        for item in items {
            match s(&item, &["kind"]) {
                Some("Pod") => pods.push(item),
                Some("Namespace") => namespaces.push(item),
                // A PodList's items may omit their kind.
                None if item
                    .get("spec")
                    .is_some_and(|sp| sp.get("containers").is_some()) =>
                {
                    pods.push(item)
                }
                None if item.get("spec").is_some() || item.get("metadata").is_some() => {
                    namespaces.push(item)
                }
                // Other kinds a `List` may hold (Services, …) say nothing of what runs.
                _ => {}
            }
            if pods.len() + namespaces.len() > MAX_OBJECTS {
                return Err(Error::bad_field(
                    name.clone(),
                    format!("more than {MAX_OBJECTS} objects in one snapshot"),
                ));
            }
        }
    }
    Ok((pods, namespaces))
}

/// A cluster (or environment) name: 1 to 253 letters, digits, '-', '.' or
/// '_'; anything else is bad input naming `field`.
pub fn check_name(field: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || v.len() > 253
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(Error::bad_field(
            field,
            format!("{v:?}: expected 1 to 253 letters, digits, '-', '.' or '_'"),
        ));
    }
    Ok(())
}

/// The `sha256:…` digest in an image reference or kubelet image id.
fn digest_in(s: &str) -> Option<Digest> {
    let at = s.rfind("sha256:")?;
    Digest::parse(&s[at..]).ok()
}

/// The workload that owns a pod: its controller (a Deployment's ReplicaSet
/// named as the Deployment), else the pod itself.
pub(crate) fn workload(pod: &Value) -> (String, String) {
    let name = s(pod, &["metadata", "name"]).unwrap_or("").to_string();
    let owner = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|o| {
            o.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                .or(o.first())
        });
    let Some(owner) = owner else {
        return ("Pod".into(), name);
    };
    let kind = s(owner, &["kind"]).unwrap_or("Pod").to_string();
    let oname = s(owner, &["name"]).unwrap_or(&name).to_string();
    if kind == "ReplicaSet"
        && let Some(hash) = s(pod, &["metadata", "labels", "pod-template-hash"])
        && let Some(deploy) = oname.strip_suffix(&format!("-{hash}"))
    {
        return ("Deployment".into(), deploy.to_string());
    }
    (kind, oname)
}

/// Resolve what a container runs to the platform manifest digest the
/// ledger knows, or the digest as reported when the ledger does not.
pub(crate) fn resolve(
    store: &mut Store,
    image: &str,
    image_id: Option<&str>,
) -> Result<Option<String>> {
    let direct = image_id.and_then(digest_in).or_else(|| digest_in(image));
    let digest = match direct {
        Some(d) => d,
        None => match store.digest_of_reference(image)? {
            Some(d) => match Digest::parse(&d) {
                Ok(d) => d,
                Err(_) => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    let manifests = store.manifests_of(digest.as_str())?;
    if !manifests.is_empty() {
        let pick = manifests
            .iter()
            .find(|m| m.platform.as_deref() == Some(DEFAULT_PLATFORM))
            .or(if manifests.len() == 1 {
                manifests.first()
            } else {
                None
            });
        if let Some(m) = pick {
            return Ok(Some(m.digest.clone()));
        }
    }
    Ok(Some(digest.to_string()))
}

/// Replace `cluster`'s inventory with the snapshot in `docs` (each a JSON
/// document and its name for messages).
pub fn report(
    store: &mut Store,
    cluster: &str,
    docs: &[(Vec<u8>, String)],
    envs: &Environments,
) -> Result<InventoryReport> {
    let cluster = cluster.trim();
    check_name("cluster", cluster)?;
    let (pods, namespaces) = objects(docs)?;
    let label = envs.env_label.as_deref().unwrap_or(DEFAULT_ENV_LABEL);
    let mut env_of: BTreeMap<String, String> = envs.env_map.clone();
    for ns in &namespaces {
        if let (Some(n), Some(e)) = (
            s(ns, &["metadata", "name"]),
            ns.pointer("/metadata/labels")
                .and_then(|l| l.get(label))
                .and_then(Value::as_str),
        ) {
            env_of.insert(n.to_string(), e.to_string());
        }
    }
    let mut rows = Vec::new();
    let mut unresolved = Vec::new();
    let epoch = chrono::DateTime::<chrono::Utc>::default();
    for pod in &pods {
        let namespace = s(pod, &["metadata", "namespace"])
            .unwrap_or("default")
            .to_string();
        let pod_name = s(pod, &["metadata", "name"]).unwrap_or("").to_string();
        let (wkind, wname) = workload(pod);
        for (spec_key, status_key, kind) in [
            ("containers", "containerStatuses", "container"),
            ("initContainers", "initContainerStatuses", "init"),
            (
                "ephemeralContainers",
                "ephemeralContainerStatuses",
                "ephemeral",
            ),
        ] {
            let statuses = pod
                .pointer(&format!("/status/{status_key}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let specs = pod
                .pointer(&format!("/spec/{spec_key}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for c in &specs {
                let name = s(c, &["name"]).unwrap_or("").to_string();
                let image = s(c, &["image"]).unwrap_or("").to_string();
                let image_id = statuses
                    .iter()
                    .find(|st| s(st, &["name"]) == Some(name.as_str()))
                    .and_then(|st| s(st, &["imageID"]))
                    .filter(|i| !i.is_empty())
                    .map(String::from);
                let digest = resolve(store, &image, image_id.as_deref())?;
                if digest.is_none() && !unresolved.contains(&image) {
                    unresolved.push(image.clone());
                }
                rows.push(InventoryRow {
                    cluster: cluster.to_string(),
                    namespace: namespace.clone(),
                    environment: env_of.get(&namespace).cloned(),
                    workload_kind: wkind.clone(),
                    workload_name: wname.clone(),
                    pod: pod_name.clone(),
                    container: name,
                    container_kind: kind.to_string(),
                    image,
                    image_id,
                    digest,
                    first_seen: epoch,
                    last_seen: epoch,
                });
            }
        }
    }
    let delta = store.replace_inventory(cluster, &rows)?;
    Ok(InventoryReport {
        cluster: cluster.to_string(),
        pods: pods.len(),
        containers: rows.len(),
        resolved: rows.iter().filter(|r| r.digest.is_some()).count(),
        unresolved,
        delta,
    })
}

/// The inventory, optionally of one cluster and/or one digest.
pub fn list(
    store: &mut Store,
    cluster: Option<&str>,
    digest: Option<&Digest>,
) -> Result<Vec<InventoryRow>> {
    Ok(store.inventory(cluster, digest.map(Digest::as_str))?)
}

/// The digests running in environment `env` (sorted, each once): what the
/// console's mapping table filters by environment with.
pub fn digests_in(store: &mut Store, env: &str) -> Result<Vec<String>> {
    let mut v: Vec<String> = store
        .inventory(None, None)?
        .into_iter()
        .filter(|r| r.environment.as_deref() == Some(env))
        .filter_map(|r| r.digest)
        .collect();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}
