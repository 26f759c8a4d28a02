//! The policy engine: Rust gathers everything the ledger knows about one
//! image in one deployment into a small, versioned input document (see
//! `docs/policy.md`), and a Rego (v1) policy evaluated in-process by
//! `regorus` decides `allow`, `warn` or `deny` with reasons, each naming its
//! rule. The built-in policy (`policy/default.rego`) is replaced or extended
//! by operators' `.rego` files, which must define
//! `data.buildledger.result`.
//!
//! Posture is the decision for every container of the runtime inventory.

use std::path::PathBuf;

use buildledger_model::{Digest, Origin, TrustState};
use buildledger_store::{ImageFinding, InventoryRow, Store};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Version of the input document.
pub const INPUT_VERSION: u32 = 1;

/// The built-in policy.
pub const DEFAULT_POLICY: &str = include_str!("../policy/default.rego");

/// Longest one evaluation may run.
pub const DEADLINE_MS: u64 = 250;

/// Where a container runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deployment {
    /// Cluster.
    pub cluster: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// `Kind/name` of the workload.
    pub workload: Option<String>,
    /// Environment (`production`, `staging`, …).
    pub environment: Option<String>,
}

/// One finding as the policy sees it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyFinding {
    /// Advisory id.
    pub advisory: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// `vuln` or `toolchain`.
    pub kind: String,
    /// Component purl.
    pub purl: String,
    /// Installed version.
    pub installed: String,
    /// First fixed version.
    pub fixed: Option<String>,
    /// Whether a fixed version exists.
    pub fix_available: bool,
    /// `critical`, `high`, `medium`, `low` or `unknown`.
    pub severity: String,
    /// Where the severity came from: `feed` (the advisory's own), `cvss`
    /// (from its score), or `none`.
    pub severity_source: String,
    /// CVSS base score, when any feed gives one.
    pub score: Option<f64>,
    /// Whether a waiver in force covers it in this deployment's environment.
    pub waived: bool,
}

/// The input document (version 1).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyInput {
    /// [`INPUT_VERSION`].
    pub version: u32,
    /// The image: `digest`, `references`, `indexes` (that list it) and `platforms`.
    pub image: serde_json::Value,
    /// Trust: `trusted` (a verified record from a pinned builder, or an
    /// index by this ledger), `verified_by` (builder and key of each verified
    /// record), `observed`.
    pub trust: serde_json::Value,
    /// Every record: id, origin, trust, builder, repo, commit.
    pub records: Vec<serde_json::Value>,
    /// Findings of the image.
    pub findings: Vec<PolicyFinding>,
    /// Where claims disagree with the image.
    pub mismatches: Vec<serde_json::Value>,
    /// Indexed base images (nearest first).
    pub lineage: Vec<String>,
    /// API operations with their stability.
    pub apis: Vec<serde_json::Value>,
    /// Where it runs.
    pub deployment: Deployment,
}

/// One reason for a decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Reason {
    /// The rule that gave it.
    pub rule: String,
    /// What it found.
    pub message: String,
}

/// A decision: the JSON of `policy eval` (with the input).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decision {
    /// `allow`, `warn` or `deny`.
    pub decision: String,
    /// Why, each naming its rule.
    pub reasons: Vec<Reason>,
    /// The input the policy saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<PolicyInput>,
}

fn severity_of(f: &ImageFinding) -> (String, String, Option<f64>) {
    let score = f
        .score
        .as_deref()
        .and_then(|s| s.trim().parse::<f64>().ok());
    if let Some(s) = f.severity.as_deref() {
        let s = s.to_ascii_lowercase();
        let level = match s.as_str() {
            "critical" => Some("critical"),
            "high" | "important" => Some("high"),
            "moderate" | "medium" => Some("medium"),
            "low" | "negligible" => Some("low"),
            _ => None,
        };
        if let Some(l) = level {
            return (l.into(), "feed".into(), score);
        }
    }
    if let Some(sc) = score {
        let l = if sc >= 9.0 {
            "critical"
        } else if sc >= 7.0 {
            "high"
        } else if sc >= 4.0 {
            "medium"
        } else {
            "low"
        };
        return (l.into(), "cvss".into(), Some(sc));
    }
    ("unknown".into(), "none".into(), None)
}

/// The input document for `digest` deployed as `deployment`.
pub fn input(store: &mut Store, digest: &Digest, deployment: Deployment) -> Result<PolicyInput> {
    let view = crate::reads::show(store, digest)?;
    let findings = crate::reads::vulns(store, digest)?;
    let mismatches = crate::reads::mismatches(store, Some(digest))?;
    let lineage = store.lineage(digest.as_str())?;
    let env = deployment.environment.clone();
    let records: Vec<serde_json::Value> = view
        .records
        .iter()
        .map(|r| {
            let rec = &r.record;
            serde_json::json!({
                "id": r.id,
                "origin": rec.origin.as_str(),
                "trust": rec.trust.state.as_str(),
                "key_id": rec.trust.key_id,
                "builder": rec.builder.as_ref().map(|b| b.id.clone()),
                "repo": rec.source.as_ref().and_then(|s| s.repo.clone()),
                "commit": rec.source.as_ref().and_then(|s| s.commit.clone()),
            })
        })
        .collect();
    let verified: Vec<serde_json::Value> = view
        .records
        .iter()
        .filter(|r| r.record.trust.state == TrustState::Verified)
        .map(|r| {
            serde_json::json!({
                "builder": r.record.builder.as_ref().map(|b| b.id.clone()),
                "key_id": r.record.trust.key_id,
            })
        })
        .collect();
    let observed = view.records.iter().any(|r| {
        r.record.origin == Origin::Indexer && r.record.trust.state == TrustState::Observed
    });
    let mut apis = Vec::new();
    for r in &view.records {
        for a in &r.record.apis {
            apis.push(serde_json::to_value(a).unwrap_or_default());
        }
    }
    let findings = findings
        .iter()
        .map(|f| {
            let (severity, source, score) = severity_of(f);
            PolicyFinding {
                advisory: f.advisory.clone(),
                aliases: f.aliases.clone(),
                kind: f.kind.clone(),
                purl: f.purl.clone(),
                installed: f.installed.clone(),
                fixed: f.fixed.clone(),
                fix_available: f.fixed.is_some(),
                severity,
                severity_source: source,
                score,
                waived: f
                    .waivers
                    .iter()
                    .any(|w| w.environment.is_none() || w.environment.as_deref() == env.as_deref()),
            }
        })
        .collect();
    Ok(PolicyInput {
        version: INPUT_VERSION,
        image: serde_json::json!({
            "digest": view.digest,
            "references": view.references,
            "indexes": view.indexes.iter().map(|l| l.digest.clone()).collect::<Vec<_>>(),
            "platforms": view.indexes.iter().filter_map(|l| l.platform.clone()).collect::<Vec<_>>(),
        }),
        trust: serde_json::json!({
            "trusted": !verified.is_empty() || observed,
            "verified_by": verified,
            "observed": observed,
        }),
        records,
        findings,
        mismatches: mismatches
            .iter()
            .map(|m| serde_json::to_value(m).unwrap_or_default())
            .collect(),
        lineage: lineage.into_iter().map(|a| a.digest).collect(),
        apis,
        deployment,
    })
}

/// A compiled policy: the built-in one, or operators' files.
#[derive(Clone)]
pub struct Policy {
    engine: regorus::Engine,
}

impl Policy {
    /// The built-in policy plus `files` (with `replace`, the files alone).
    /// A policy that does not compile is bad input naming file and line.
    pub fn load(files: &[PathBuf], replace: bool, settings: &crate::Settings) -> Result<Policy> {
        let mut engine = regorus::Engine::new();
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: std::time::Duration::from_millis(DEADLINE_MS),
            check_interval: std::num::NonZeroU32::new(64).unwrap_or(std::num::NonZeroU32::MIN),
        });
        if !replace || files.is_empty() {
            engine
                .add_policy("buildledger/default.rego".into(), DEFAULT_POLICY.into())
                .map_err(|e| Error::internal(format!("the built-in policy: {e}")))?;
        }
        for f in files {
            let bytes = settings.read(f, crate::limits::POLICY)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::bad_field(f.display().to_string(), "not UTF-8"))?;
            engine
                .add_policy(f.display().to_string(), text)
                .map_err(|e| Error::bad_field(f.display().to_string(), e.to_string()))?;
        }
        Ok(Policy { engine })
    }

    /// Evaluate `input` (on a clone of the compiled engine).
    pub fn evaluate(&self, input: &PolicyInput) -> Result<Decision> {
        let mut engine = self.engine.clone();
        let json = serde_json::to_string(input).map_err(|e| Error::internal(e.to_string()))?;
        engine
            .set_input_json(&json)
            .map_err(|e| Error::internal(format!("policy input: {e}")))?;
        let v = engine
            .eval_rule("data.buildledger.result".into())
            .map_err(|e| Error::bad_input(format!("policy evaluation failed: {e}")))?;
        let out: serde_json::Value = serde_json::from_str(
            &v.to_json_str()
                .map_err(|e| Error::internal(format!("policy result: {e}")))?,
        )
        .map_err(|e| Error::internal(format!("policy result: {e}")))?;
        let decision = out["decision"].as_str().unwrap_or("").to_string();
        if !matches!(decision.as_str(), "allow" | "warn" | "deny") {
            return Err(Error::bad_input(format!(
                "the policy's data.buildledger.result.decision is {:?}; expected allow, warn or deny",
                out["decision"]
            )));
        }
        let reasons: Vec<Reason> =
            serde_json::from_value(out["reasons"].clone()).unwrap_or_default();
        Ok(Decision {
            decision,
            reasons,
            input: None,
        })
    }
}

/// The decision for `digest` deployed as `deployment`, with its input.
pub fn eval(
    store: &mut Store,
    policy: &Policy,
    digest: &Digest,
    deployment: Deployment,
) -> Result<Decision> {
    let input = input(store, digest, deployment)?;
    let mut d = policy.evaluate(&input)?;
    d.input = Some(input);
    Ok(d)
}

/// The posture of one running container: the JSON of `posture`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PostureEntry {
    /// Cluster.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// `Kind/name`.
    pub workload: String,
    /// Container (`name`, or `name (init)`).
    pub container: String,
    /// The digest it runs (None: unresolved).
    pub digest: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// `allow`, `warn` or `deny` (`deny` for an unresolved image: nothing
    /// is known of it outside production; `warn` in production).
    pub decision: String,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// The decision for every container of the inventory (optionally one
/// environment, one decision).
pub fn posture(
    store: &mut Store,
    policy: &Policy,
    env: Option<&str>,
    decision: Option<&str>,
) -> Result<Vec<PostureEntry>> {
    let rows: Vec<InventoryRow> = store.inventory(None, None)?;
    let mut out = Vec::new();
    let mut cache: std::collections::HashMap<(String, Option<String>), Decision> =
        Default::default();
    for r in rows {
        if env.is_some_and(|e| r.environment.as_deref() != Some(e)) {
            continue;
        }
        let deployment = Deployment {
            cluster: Some(r.cluster.clone()),
            namespace: Some(r.namespace.clone()),
            workload: Some(format!("{}/{}", r.workload_kind, r.workload_name)),
            environment: r.environment.clone(),
        };
        let d = match &r.digest {
            None => Decision {
                decision: if r.environment.as_deref() == Some("production") {
                    "warn".into()
                } else {
                    "deny".into()
                },
                reasons: vec![Reason {
                    rule: "unresolved-image".into(),
                    message: format!("{} resolves to no digest the ledger knows", r.image),
                }],
                input: None,
            },
            Some(dg) => {
                let key = (dg.clone(), r.environment.clone());
                match cache.get(&key) {
                    Some(d) => d.clone(),
                    None => {
                        let d = match Digest::parse(dg) {
                            Ok(digest) => match input(store, &digest, deployment.clone()) {
                                Ok(i) => policy.evaluate(&i)?,
                                Err(e) if e.kind == crate::ErrorKind::NotFound => Decision {
                                    decision: if r.environment.as_deref() == Some("production") {
                                        "warn".into()
                                    } else {
                                        "deny".into()
                                    },
                                    reasons: vec![Reason {
                                        rule: "unknown-image".into(),
                                        message: format!("{dg} is not in the ledger"),
                                    }],
                                    input: None,
                                },
                                Err(e) => return Err(e),
                            },
                            // Inventory digests are stored parsed: this is corruption.
                            Err(e) => {
                                return Err(Error::internal(format!(
                                    "inventory row {}/{}: stored digest {dg:?}: {}",
                                    r.namespace, r.pod, e.message
                                )));
                            }
                        };
                        cache.insert(key, d.clone());
                        d
                    }
                }
            }
        };
        if decision.is_some_and(|want| want != d.decision) {
            continue;
        }
        out.push(PostureEntry {
            cluster: r.cluster,
            namespace: r.namespace,
            workload: format!("{}/{}", r.workload_kind, r.workload_name),
            container: if r.container_kind == "container" {
                r.container
            } else {
                format!("{} ({})", r.container, r.container_kind)
            },
            digest: r.digest,
            environment: r.environment,
            decision: d.decision,
            reasons: d.reasons,
        });
    }
    Ok(out)
}
