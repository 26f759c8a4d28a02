//! Admission: the decision for an object the Kubernetes API server is about
//! to store, from the ledger alone (no network call), answered as an
//! `AdmissionReview` in the apiVersion it came in (`admission.k8s.io/v1`,
//! or `v1beta1`), with `response.uid` = `request.uid`.
//!
//! - Objects: Pod (and its `ephemeralcontainers` subresource), Deployment,
//!   ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
//!   ReplicationController; every container, init container and ephemeral
//!   container of the pod template. Other kinds and operations (DELETE,
//!   CONNECT) are allowed untouched.
//! - Each container's image is resolved as the inventory resolves it (a
//!   digest; an index to its platform manifest; a tag through the
//!   references the ledger has recorded) and decided by the policy with
//!   the deployment (cluster, namespace, workload, environment). An image
//!   the ledger does not know is decided by the policy too, on an input
//!   whose `image.known` is false ([`crate::policy::unknown_input`]).
//! - An UPDATE decides only the containers whose image it changes: one
//!   that changes no image (a scale, a label) is allowed in every
//!   environment, so an UPDATE never locks a workload that already runs.
//! - The object's decision is the worst of its containers'. `deny` answers
//!   `allowed: false` with `status.code` 403 and a message naming the
//!   image, the environment and the reasons; `warn` answers `allowed:
//!   true` with `warnings` (each at most 120 characters, all together under
//!   [`MAX_WARNING_BYTES`]).
//! - The environment comes from the webhook's URL, else from the
//!   inventory's last snapshot of the namespace (its label), else from the
//!   configuration's namespace mapping.
//! - A decision that cannot be made (the ledger unavailable, the deadline
//!   passed) fails open (allowed, with a warning) unless the environment is
//!   configured to fail closed; production always fails open.
//! - A decision already made for the same image and deployment is reused
//!   while the ledger's watermarks have not moved ([`crate::memo`]).
//! - Unless `dryRun`, an admitted object's containers are recorded in the
//!   inventory ([`Store::record_admitted`]) when the caller may write.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use buildledger_model::Digest;
use buildledger_store::{InventoryRow, Store};
use kube_core::DynamicObject;
use kube_core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::inventory::{Environments, check_name, s};
use crate::policy::{Deployment, Policy, Reason};
use crate::{Error, Result};

/// The apiVersions of AdmissionReview answered.
pub const API_VERSIONS: [&str; 2] = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"];

/// Longest one warning (the API server's advice).
pub const MAX_WARNING_CHARS: usize = 120;

/// Most bytes of all warnings of one answer together.
pub const MAX_WARNING_BYTES: usize = 3072;

/// Longest deny message.
pub const MAX_MESSAGE_CHARS: usize = 2048;

/// Most containers decided in one object.
const MAX_CONTAINERS: usize = 1000;

/// The environment production is called by.
pub const PRODUCTION: &str = "production";

/// How the webhook decides, from the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct AdmissionConfig {
    /// How namespaces map to environments.
    pub environments: Environments,
    /// Environments where a decision that cannot be made denies (never
    /// production).
    pub fail_closed: BTreeSet<String>,
    /// The cluster name when the URL gives none.
    pub default_cluster: String,
}

/// The webhook URL's parameters (`/admission?environment=E&cluster=C`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AdmissionParams {
    /// The environment this webhook serves.
    pub environment: Option<String>,
    /// The cluster this webhook serves.
    pub cluster: Option<String>,
}

/// One container's decision.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContainerVerdict {
    /// Container name.
    pub container: String,
    /// `container`, `init` or `ephemeral`.
    pub container_kind: String,
    /// The image as the object names it.
    pub image: String,
    /// The digest it resolved to, if any.
    pub digest: Option<String>,
    /// `allow`, `warn` or `deny`.
    pub decision: String,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// What the webhook answered, and why.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The AdmissionReview to send back.
    pub review: Value,
    /// `allow`, `warn` or `deny` (the object's).
    pub decision: String,
    /// The environment decided for.
    pub environment: Option<String>,
    /// The containers decided.
    pub containers: Vec<ContainerVerdict>,
    /// Inventory rows written.
    pub recorded: usize,
    /// Whether the decision could not be made (failed open or closed).
    pub failed: bool,
    /// Images whose decision was reused from the memo, and images decided
    /// afresh ([`crate::memo`]).
    pub memo: (usize, usize),
}

/// Parse an AdmissionReview: the envelope must be an AdmissionReview of a
/// known apiVersion with a request and its uid.
pub fn parse(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body)
        .map_err(|e| Error::bad_field("body", format!("not an AdmissionReview: {e}")))?;
    if review.types.kind != "AdmissionReview" {
        return Err(Error::bad_field(
            "kind",
            format!("{:?}: expected AdmissionReview", review.types.kind),
        ));
    }
    if !API_VERSIONS.contains(&review.types.api_version.as_str()) {
        return Err(Error::bad_field(
            "apiVersion",
            format!(
                "{:?}: expected {}",
                review.types.api_version,
                API_VERSIONS.join(" or ")
            ),
        ));
    }
    let req: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| Error::bad_field("request", "missing"))?;
    if req.uid.is_empty() {
        return Err(Error::bad_field("request.uid", "empty"));
    }
    Ok(req)
}

/// The cluster and environment a request is decided for.
pub fn placement(
    store: &mut Store,
    cfg: &AdmissionConfig,
    params: &AdmissionParams,
    namespace: &str,
) -> Result<(String, Option<String>)> {
    let cluster = params
        .cluster
        .clone()
        .unwrap_or_else(|| cfg.default_cluster.clone());
    check_name("cluster", &cluster)?;
    let environment = match &params.environment {
        Some(e) => {
            check_name("environment", e)?;
            Some(e.clone())
        }
        None => match store.environment_of_namespace(&cluster, namespace)? {
            Some(e) => Some(e),
            None => cfg.environments.env_map.get(namespace).cloned(),
        },
    };
    Ok((cluster, environment))
}

/// The pod spec inside an object of `kind` (None: not a kind decided here).
fn pod_spec<'a>(kind: &str, obj: &'a Value) -> Option<&'a Value> {
    match kind {
        "Pod" => obj.get("spec"),
        // The ephemeralcontainers subresource before Kubernetes 1.22.
        "EphemeralContainers" => Some(obj),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => obj.pointer("/spec/template/spec"),
        "CronJob" => obj.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Every container of a pod spec: (name, kind, image).
fn containers(spec: &Value) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for (key, kind) in [
        ("containers", "container"),
        ("initContainers", "init"),
        ("ephemeralContainers", "ephemeral"),
    ] {
        let Some(list) = spec.get(key) else { continue };
        let list = list
            .as_array()
            .ok_or_else(|| Error::bad_field(format!("object.spec.{key}"), "not a list"))?;
        for (i, c) in list.iter().enumerate() {
            let name = s(c, &["name"]).unwrap_or("").to_string();
            let image = s(c, &["image"]).unwrap_or("").to_string();
            if image.len() > 4096 || name.len() > 253 {
                return Err(Error::bad_field(
                    format!("object.spec.{key}[{i}]"),
                    "name or image too long",
                ));
            }
            out.push((name, kind.to_string(), image));
            if out.len() > MAX_CONTAINERS {
                return Err(Error::bad_field(
                    "object.spec",
                    format!("more than {MAX_CONTAINERS} containers"),
                ));
            }
        }
    }
    Ok(out)
}

/// The workload an object belongs to: a Pod's controller (a Deployment's
/// ReplicaSet named as the Deployment); a ReplicaSet's Deployment, a Job's
/// CronJob; else the object itself.
fn workload_of(kind: &str, obj: &Value, name: &str) -> (String, String) {
    if kind == "Pod" || kind == "EphemeralContainers" {
        let (k, n) = crate::inventory::workload(obj);
        return (k, if n.is_empty() { name.to_string() } else { n });
    }
    let owner = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|o| {
            o.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        });
    match owner.and_then(|o| Some((s(o, &["kind"])?, s(o, &["name"])?))) {
        Some((k, n)) => (k.to_string(), n.to_string()),
        None => (kind.to_string(), name.to_string()),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn rank(decision: &str) -> u8 {
    match decision {
        "deny" => 2,
        "warn" => 1,
        _ => 0,
    }
}

/// Warnings for `containers`' reasons, each within [`MAX_WARNING_CHARS`],
/// all within [`MAX_WARNING_BYTES`] (the rest counted in a last line).
fn warnings(containers: &[ContainerVerdict], env: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut bytes = 0;
    let mut left = 0usize;
    for c in containers.iter().filter(|c| c.decision != "allow") {
        for r in &c.reasons {
            let w = truncate(
                &format!("{}: {}: {}", c.image, r.rule, r.message),
                MAX_WARNING_CHARS,
            );
            if bytes + w.len() + 200 > MAX_WARNING_BYTES {
                left += 1;
                continue;
            }
            bytes += w.len();
            out.push(w);
        }
    }
    if left > 0 {
        out.push(truncate(
            &format!(
                "{left} more reason(s): buildledger posture --env {}",
                env.unwrap_or("ENV")
            ),
            MAX_WARNING_CHARS,
        ));
    }
    out
}

fn deny_message(containers: &[ContainerVerdict], env: Option<&str>) -> String {
    let mut parts = Vec::new();
    for c in containers.iter().filter(|c| c.decision == "deny") {
        let reasons: Vec<String> = c
            .reasons
            .iter()
            .map(|r| format!("{}: {}", r.rule, r.message))
            .collect();
        parts.push(format!("{} ({})", c.image, reasons.join("; ")));
    }
    truncate(
        &format!(
            "buildledger denied in environment {}: {}",
            env.unwrap_or("(unknown)"),
            parts.join(", ")
        ),
        MAX_MESSAGE_CHARS,
    )
}

fn answer(
    req: &AdmissionRequest<DynamicObject>,
    decision: &str,
    containers: &[ContainerVerdict],
    env: Option<&str>,
    extra_warning: Option<String>,
    deny_text: Option<String>,
) -> Result<Value> {
    let mut resp = AdmissionResponse::from(req);
    if decision == "deny" {
        resp = resp.deny(deny_text.unwrap_or_else(|| deny_message(containers, env)));
        resp.result.code = 403;
        resp.result.reason = "Forbidden".into();
        resp.result.status = Some(kube_core::response::StatusSummary::Failure);
    }
    let mut w = warnings(containers, env);
    if let Some(x) = extra_warning {
        w.insert(0, truncate(&x, MAX_WARNING_CHARS));
    }
    if !w.is_empty() {
        resp.warnings = Some(w);
    }
    resp.audit_annotations
        .insert("decision".into(), decision.to_string());
    if let Some(e) = env {
        resp.audit_annotations
            .insert("environment".into(), e.to_string());
    }
    serde_json::to_value(resp.into_review()).map_err(|e| Error::internal(e.to_string()))
}

/// The answer when no decision could be made (`why`): allowed with a
/// warning, or denied where the environment fails closed (never production).
pub fn failure(
    req: &AdmissionRequest<DynamicObject>,
    cfg: &AdmissionConfig,
    env: Option<&str>,
    why: &str,
) -> Result<Verdict> {
    let closed = env.is_some_and(|e| e != PRODUCTION && cfg.fail_closed.contains(e));
    let review = if closed {
        answer(
            req,
            "deny",
            &[],
            env,
            None,
            Some(truncate(
                &format!(
                    "buildledger could not decide in environment {} and fails closed there: {why}",
                    env.unwrap_or("(unknown)")
                ),
                MAX_MESSAGE_CHARS,
            )),
        )?
    } else {
        answer(
            req,
            "allow",
            &[],
            env,
            Some(format!("buildledger could not decide ({why}); allowed")),
            None,
        )?
    };
    Ok(Verdict {
        review,
        decision: if closed { "deny" } else { "allow" }.into(),
        environment: env.map(String::from),
        containers: vec![],
        recorded: 0,
        failed: true,
        memo: (0, 0),
    })
}

/// Decide `req` for the webhook called with `params`; record the admitted
/// object in the inventory when `record` (and not a dry run). Past
/// `deadline`, stop with an unavailable error (the caller answers
/// [`failure`]) and record nothing.
pub fn decide(
    store: &mut Store,
    policy: &Policy,
    cfg: &AdmissionConfig,
    params: &AdmissionParams,
    req: &AdmissionRequest<DynamicObject>,
    record: bool,
    deadline: Instant,
) -> Result<Verdict> {
    let namespace = req
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let (cluster, env) = placement(store, cfg, params, &namespace)?;
    let allow = |why: Option<String>| -> Result<Verdict> {
        Ok(Verdict {
            review: answer(req, "allow", &[], env.as_deref(), why, None)?,
            decision: "allow".into(),
            environment: env.clone(),
            containers: vec![],
            recorded: 0,
            failed: false,
            memo: (0, 0),
        })
    };
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return allow(None);
    }
    let kind = req.kind.kind.as_str();
    let Some(obj) = req.object.as_ref() else {
        return Err(Error::bad_field("request.object", "missing"));
    };
    let obj = serde_json::to_value(obj).map_err(|e| Error::internal(e.to_string()))?;
    let Some(spec) = pod_spec(kind, &obj) else {
        return allow(None);
    };
    let all = containers(spec)?;
    let old: BTreeSet<(String, String, String)> = match (&req.operation, &req.old_object) {
        (Operation::Update, Some(o)) => {
            let o = serde_json::to_value(o).map_err(|e| Error::internal(e.to_string()))?;
            match pod_spec(kind, &o) {
                Some(sp) => containers(sp)?.into_iter().collect(),
                None => BTreeSet::new(),
            }
        }
        _ => BTreeSet::new(),
    };
    let name = s(&obj, &["metadata", "name"])
        .filter(|n| !n.is_empty())
        .or_else(|| s(&obj, &["metadata", "generateName"]))
        .unwrap_or(req.name.as_str())
        .to_string();
    let (wkind, wname) = workload_of(kind, &obj, &name);
    let deployment = Deployment {
        cluster: Some(cluster.clone()),
        namespace: Some(namespace.clone()),
        workload: Some(format!("{wkind}/{wname}")),
        environment: env.clone(),
    };
    let mut digests: HashMap<String, Option<String>> = HashMap::new();
    let mut decided: HashMap<String, (String, Vec<Reason>)> = HashMap::new();
    // The ledger's watermarks, read once (when something is to be decided):
    // decisions kept at the same version are reused (crate::memo).
    let mut version: Option<crate::memo::LedgerVersion> = None;
    let mut memo = (0usize, 0usize);
    let mut verdicts = Vec::new();
    for (cname, ckind, image) in &all {
        if Instant::now() > deadline {
            return Err(Error::unavailable("the admission deadline passed"));
        }
        if !digests.contains_key(image) {
            let d = crate::inventory::resolve(store, image, None)?;
            digests.insert(image.clone(), d);
        }
        let digest = digests.get(image).cloned().flatten();
        if old.contains(&(cname.clone(), ckind.clone(), image.clone())) {
            continue;
        }
        if !decided.contains_key(image) {
            if version.is_none() {
                let v = crate::memo::LedgerVersion::read(store, chrono::Utc::now())?;
                policy.memo().sync(store, &v)?;
                version = Some(v);
            }
            let key = crate::memo::MemoKey::new(image, digest.as_deref(), &deployment);
            if let Some(v) = &version
                && let Some(kept) = policy.memo().get(v, &key)
            {
                decided.insert(image.clone(), kept);
                memo.0 += 1;
            } else {
                memo.1 += 1;
            }
        }
        if !decided.contains_key(image) {
            let input = match digest.as_deref().map(Digest::parse) {
                Some(Ok(d)) => match crate::policy::input(store, &d, deployment.clone()) {
                    Ok(i) => i,
                    Err(e) if e.kind == crate::ErrorKind::NotFound => {
                        crate::policy::unknown_input(image, digest.as_deref(), deployment.clone())
                    }
                    Err(e) => return Err(e),
                },
                _ => crate::policy::unknown_input(image, None, deployment.clone()),
            };
            let d = policy.evaluate(&input)?;
            if let Some(v) = &version {
                let key = crate::memo::MemoKey::new(image, digest.as_deref(), &deployment);
                policy
                    .memo()
                    .put(v, key, d.decision.clone(), d.reasons.clone());
            }
            decided.insert(image.clone(), (d.decision, d.reasons));
        }
        let (decision, reasons) = decided.get(image).cloned().unwrap_or_default();
        verdicts.push(ContainerVerdict {
            container: cname.clone(),
            container_kind: ckind.clone(),
            image: image.clone(),
            digest,
            decision,
            reasons,
        });
    }
    let decision = verdicts
        .iter()
        .map(|v| v.decision.as_str())
        .max_by_key(|d| rank(d))
        .unwrap_or("allow")
        .to_string();
    let review = answer(req, &decision, &verdicts, env.as_deref(), None, None)?;
    let mut recorded = 0;
    if record && !req.dry_run && decision != "deny" && !verdicts.is_empty() {
        if Instant::now() > deadline {
            return Err(Error::unavailable("the admission deadline passed"));
        }
        let epoch = chrono::DateTime::<chrono::Utc>::default();
        let pod = if kind == "Pod" || kind == "EphemeralContainers" {
            name.clone()
        } else {
            String::new()
        };
        let rows: Vec<InventoryRow> = all
            .iter()
            .map(|(cname, ckind, image)| InventoryRow {
                cluster: cluster.clone(),
                namespace: namespace.clone(),
                environment: env.clone(),
                workload_kind: wkind.clone(),
                workload_name: wname.clone(),
                pod: pod.clone(),
                container: cname.clone(),
                container_kind: ckind.clone(),
                image: image.clone(),
                image_id: None,
                digest: digests.get(image).cloned().flatten(),
                first_seen: epoch,
                last_seen: epoch,
            })
            .collect();
        store.record_admitted(&rows)?;
        recorded = rows.len();
    }
    Ok(Verdict {
        review,
        decision,
        environment: env,
        containers: verdicts,
        recorded,
        failed: false,
        memo,
    })
}

/// What `admission manifest` prints a ValidatingWebhookConfiguration for.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// The object's name.
    pub name: String,
    /// The Service in front of the server.
    pub service: String,
    /// Its namespace (excluded from the webhooks, so the server can always
    /// be redeployed).
    pub namespace: String,
    /// Its port.
    pub port: u16,
    /// The PEM CA bundle the API server checks the server's certificate against.
    pub ca_bundle: Vec<u8>,
    /// One webhook per environment.
    pub environments: Vec<String>,
    /// The cluster, named in each webhook's path.
    pub cluster: Option<String>,
    /// Environments whose webhook fails closed (`failurePolicy: Fail`);
    /// never production.
    pub fail_closed: Vec<String>,
    /// The API server's deadline for one call.
    pub timeout_seconds: u32,
    /// The namespace label naming an environment.
    pub env_label: String,
}

/// A DNS-1123 label: what a path segment and a label value both accept.
fn dns_label(field: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if !ok {
        return Err(Error::bad_field(
            field,
            format!("{v:?}: expected a DNS-1123 label (1 to 63 lowercase letters, digits or '-')"),
        ));
    }
    Ok(())
}

/// A ValidatingWebhookConfiguration (`admissionregistration.k8s.io/v1`):
/// one webhook per environment, sent to
/// `/admission/{environment}[/{cluster}]` of the Service, chosen by the API
/// server through a `namespaceSelector` on the environment label that
/// leaves out `kube-system` and the server's own namespace; `failurePolicy`
/// `Ignore` (production always) or `Fail`; `sideEffects: NoneOnDryRun`;
/// `matchPolicy: Equivalent`; the rules for every kind decided here.
pub fn manifest(o: &ManifestOptions) -> Result<Value> {
    use base64::Engine as _;
    dns_label("--service", &o.service)?;
    dns_label("--namespace", &o.namespace)?;
    if let Some(c) = &o.cluster {
        dns_label("--cluster", c)?;
    }
    if o.environments.is_empty() {
        return Err(Error::bad_field("--env", "give at least one environment"));
    }
    for e in &o.environments {
        dns_label("--env", e)?;
    }
    for e in &o.fail_closed {
        if e == PRODUCTION {
            return Err(Error::bad_field(
                "--fail-closed",
                "production always fails open: buildledger never blocks production on its own failure",
            ));
        }
        if !o.environments.contains(e) {
            return Err(Error::bad_field(
                "--fail-closed",
                format!("{e:?} is not one of the --env environments"),
            ));
        }
    }
    if !(1..=30).contains(&o.timeout_seconds) {
        return Err(Error::bad_field(
            "--timeout-seconds",
            format!("{}: the API server allows 1 to 30", o.timeout_seconds),
        ));
    }
    let text = std::str::from_utf8(&o.ca_bundle)
        .map_err(|_| Error::bad_field("--ca-bundle", "not UTF-8 PEM"))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(Error::bad_field(
            "--ca-bundle",
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
        ));
    }
    let ca = base64::engine::general_purpose::STANDARD.encode(&o.ca_bundle);
    let rules = serde_json::json!([
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
         "resources": ["pods", "pods/ephemeralcontainers", "replicationcontrollers"], "scope": "Namespaced"},
        {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
         "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"], "scope": "Namespaced"},
        {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
         "resources": ["jobs", "cronjobs"], "scope": "Namespaced"},
    ]);
    let webhooks: Vec<Value> = o
        .environments
        .iter()
        .map(|e| {
            let path = match &o.cluster {
                Some(c) => format!("/admission/{e}/{c}"),
                None => format!("/admission/{e}"),
            };
            let fail = e != PRODUCTION && o.fail_closed.contains(e);
            serde_json::json!({
                "name": format!("{e}.admission.buildledger.dev"),
                "admissionReviewVersions": ["v1"],
                "clientConfig": {
                    "service": {"name": o.service, "namespace": o.namespace, "port": o.port, "path": path},
                    "caBundle": ca,
                },
                "failurePolicy": if fail { "Fail" } else { "Ignore" },
                "matchPolicy": "Equivalent",
                "sideEffects": "NoneOnDryRun",
                "timeoutSeconds": o.timeout_seconds,
                "namespaceSelector": {"matchExpressions": [
                    {"key": o.env_label, "operator": "In", "values": [e]},
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                     "values": ["kube-system", o.namespace]},
                ]},
                "rules": rules,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": o.name, "labels": {"app.kubernetes.io/name": "buildledger"}},
        "webhooks": webhooks,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn options() -> ManifestOptions {
        ManifestOptions {
            name: "buildledger".into(),
            service: "buildledger".into(),
            namespace: "security".into(),
            port: 8443,
            ca_bundle: CA.as_bytes().to_vec(),
            environments: vec!["production".into(), "staging".into()],
            cluster: Some("eu-1".into()),
            fail_closed: vec!["staging".into()],
            timeout_seconds: 5,
            env_label: crate::inventory::DEFAULT_ENV_LABEL.into(),
        }
    }

    #[test]
    fn the_manifest_is_a_valid_webhook_configuration() {
        use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
        let m = manifest(&options()).unwrap();
        // Every field is one the Kubernetes types know: a round trip
        // through them (which drop unknown fields) changes nothing.
        let typed: ValidatingWebhookConfiguration = serde_json::from_value(m.clone()).unwrap();
        let mut back = serde_json::to_value(&typed).unwrap();
        back["apiVersion"] = m["apiVersion"].clone();
        back["kind"] = m["kind"].clone();
        assert_eq!(back, m);
        let hooks = typed.webhooks.unwrap();
        assert_eq!(hooks.len(), 2);
        let prod = &hooks[0];
        assert_eq!(prod.failure_policy.as_deref(), Some("Ignore"));
        assert_eq!(hooks[1].failure_policy.as_deref(), Some("Fail"));
        assert_eq!(prod.side_effects, "NoneOnDryRun");
        let svc = prod.client_config.service.as_ref().unwrap();
        assert_eq!(svc.path.as_deref(), Some("/admission/production/eu-1"));
        // The API server refuses a service path segment that is not a
        // DNS-1123 subdomain, and a query string.
        for seg in svc.path.as_deref().unwrap()[1..].split('/') {
            assert!(dns_label("segment", seg).is_ok(), "{seg}");
        }
        let sel = serde_json::to_string(&prod.namespace_selector).unwrap();
        assert!(
            sel.contains("kube-system") && sel.contains("security"),
            "{sel}"
        );
        let resources: Vec<String> = prod
            .rules
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|r| r.resources.clone().unwrap_or_default())
            .collect();
        for r in [
            "pods",
            "pods/ephemeralcontainers",
            "deployments",
            "replicasets",
            "statefulsets",
            "daemonsets",
            "jobs",
            "cronjobs",
            "replicationcontrollers",
        ] {
            assert!(resources.iter().any(|x| x == r), "{r} missing");
        }
    }

    #[test]
    fn the_manifest_refuses_what_would_break_a_cluster() {
        let bad = |f: &dyn Fn(&mut ManifestOptions), field: &str| {
            let mut o = options();
            f(&mut o);
            let e = manifest(&o).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
        };
        bad(
            &|o| o.fail_closed = vec!["production".into()],
            "--fail-closed",
        );
        bad(&|o| o.fail_closed = vec!["qa".into()], "--fail-closed");
        bad(
            &|o| o.ca_bundle = b"not a certificate".to_vec(),
            "--ca-bundle",
        );
        bad(&|o| o.environments = vec!["Prod?x=1".into()], "--env");
        bad(&|o| o.environments = vec![], "--env");
        bad(&|o| o.timeout_seconds = 31, "--timeout-seconds");
        bad(&|o| o.namespace = "a/b".into(), "--namespace");
    }

    #[test]
    fn warnings_stay_short_and_bounded() {
        let reasons: Vec<Reason> = (0..500)
            .map(|i| Reason {
                rule: "fixable-severe-finding".into(),
                message: format!("GO-2024-{i:04} (high) in pkg:golang/golang.org/x/net@v0.1.0, fixed in 0.23.0 {}", "x".repeat(200)),
                advisory: None,
            })
            .collect();
        let c = ContainerVerdict {
            container: "app".into(),
            container_kind: "container".into(),
            image: "registry.example/app@sha256:abcd".into(),
            digest: None,
            decision: "warn".into(),
            reasons,
        };
        let w = warnings(&[c], Some("production"));
        assert!(w.iter().all(|x| x.chars().count() <= MAX_WARNING_CHARS));
        assert!(w.iter().map(String::len).sum::<usize>() <= MAX_WARNING_BYTES);
        assert!(w.last().unwrap().contains("more reason(s)"), "{w:?}");
        assert_eq!(truncate("héllo wörld", 5), "héll…");
    }
}
