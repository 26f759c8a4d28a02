//! The policy engine: Rust gathers everything the ledger knows about one
//! image in one deployment into a small, versioned input document (see
//! `docs/policy.md`), and a Rego (v1) policy evaluated in-process by
//! `regorus` decides `allow`, `warn` or `deny` with reasons, each naming its
//! rule. The built-in policy (`policy/default.rego`) is replaced or extended
//! by operators' `.rego` files, which must define
//! `data.buildledger.result`.
//!
//! Posture is the decision for every container of the runtime inventory.

use std::path::{Path, PathBuf};

use buildledger_model::{Digest, Origin, TrustState};
use buildledger_store::{ImageFinding, Store};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Version of the input document.
pub const INPUT_VERSION: u32 = 1;

/// The built-in policy.
pub const DEFAULT_POLICY: &str = include_str!("../policy/default.rego");

/// Setting (`1`) that makes `regorus` evaluate the built-in policy too,
/// instead of its Rust twin ([`crate::native`]).
pub const REGO_ONLY: &str = "BUILDLEDGER_POLICY_REGO_ONLY";

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
    /// The advisory severity and score were taken from when this one gives
    /// none: another advisory sharing an alias (a CVE or GHSA record).
    pub severity_from: Option<String>,
    /// When the advisory was published (RFC 3339), if it says.
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// Whole days since then (at evaluation), if known.
    pub days_since_published: Option<i64>,
    /// Whether a waiver in force covers it in this deployment's environment.
    pub waived: bool,
    /// The VEX statement in force for it (`status`, `justification`,
    /// `trusted`: signed by a key pinned to its `author`), if any.
    pub vex: Option<buildledger_store::VexStatement>,
    /// For Go module and standard-library findings: whether the vulnerable
    /// symbols are in the image's binaries (`state`: present, absent,
    /// unknown; `trust` of the scan that read them). Null otherwise.
    #[serde(default)]
    pub reachability: Option<buildledger_store::Reachability>,
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
    /// The advisory it is about, when it is about one (alerts are one per
    /// workload, digest, rule and advisory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
}

/// A decision: the JSON of `policy eval` (with the input).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decision {
    /// `allow`, `warn` or `deny`.
    pub decision: String,
    /// Why, each naming its rule.
    pub reasons: Vec<Reason>,
    /// Rank among decisions alike (higher first): the policy's
    /// `result.priority`, 0 when it gives none.
    #[serde(default)]
    pub priority: i64,
    /// The input the policy saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<PolicyInput>,
}

fn severity_of(f: &ImageFinding) -> (String, String, Option<f64>) {
    let (level, source, score) = severity_level(f.severity.as_deref(), f.score.as_deref());
    (level.into(), source.into(), score)
}

/// A feed's severity label and score as one level — `critical`, `high`,
/// `medium`, `low` or `unknown` — with where it came from (`feed`: the
/// label; `cvss`: the score; `none`) and the score as a number. What the
/// policy input and the console's severity counts both use.
pub fn severity_level(
    severity: Option<&str>,
    score: Option<&str>,
) -> (&'static str, &'static str, Option<f64>) {
    let score = score.and_then(|s| s.trim().parse::<f64>().ok());
    if let Some(s) = severity {
        let level = match s.to_ascii_lowercase().as_str() {
            "critical" => Some("critical"),
            "high" | "important" => Some("high"),
            "moderate" | "medium" => Some("medium"),
            "low" | "negligible" => Some("low"),
            _ => None,
        };
        if let Some(l) = level {
            return (l, "feed", score);
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
        return (l, "cvss", Some(sc));
    }
    ("unknown", "none", None)
}

/// What the ledger knows about one image, whatever its deployment: all of
/// the input document but the deployment and what depends on it (which
/// waivers apply in its environment). A posture refresh reads it once per
/// image, for many images at a time ([`facts_many`]).
#[derive(Clone)]
pub(crate) struct ImageFacts {
    view: buildledger_store::ImageView,
    /// Annotated with waivers (every environment's), VEX and reachability.
    findings: Vec<ImageFinding>,
    mismatches: Vec<serde_json::Value>,
    lineage: Vec<String>,
}

/// The facts of `digest` (`NotFound` when the ledger does not know it).
fn facts(
    store: &mut Store,
    digest: &Digest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ImageFacts> {
    // One read of the image's records (without their components) serves
    // trust, records and APIs; findings are read without re-reading the
    // records.
    let view = crate::reads::show_summary(store, digest)?;
    let mut findings = store.vulns(digest.as_str())?;
    annotate(store, &mut findings, now)?;
    finish_facts(store, view, findings)
}

fn annotate(
    store: &mut Store,
    findings: &mut [ImageFinding],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    crate::reads::finding_states(store, findings, now)?;
    Ok(())
}

fn finish_facts(
    store: &mut Store,
    view: buildledger_store::ImageView,
    findings: Vec<ImageFinding>,
) -> Result<ImageFacts> {
    // The cross-check compares components only when the image has both an
    // index by this ledger and a claim: only then are the records read
    // again, whole.
    let both = view
        .records
        .iter()
        .any(|r| r.record.origin == Origin::Indexer)
        && view
            .records
            .iter()
            .any(|r| r.record.origin != Origin::Indexer);
    let whole;
    let for_crosscheck = if both {
        let ids: Vec<_> = view.records.iter().map(|r| r.id).collect();
        whole = store.records_by_id(&ids)?;
        &whole
    } else {
        &view.records
    };
    let mismatches = {
        let mut seen = std::collections::BTreeSet::new();
        buildledger_rules::crosscheck::compare(view.digest.as_str(), for_crosscheck)
            .into_iter()
            .filter(|m| seen.insert(format!("{m:?}")))
            .map(|m| serde_json::to_value(m).unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let lineage = store
        .lineage(view.digest.as_str())?
        .into_iter()
        .map(|a| a.digest)
        .collect();
    Ok(ImageFacts {
        view,
        findings,
        mismatches,
        lineage,
    })
}

/// The facts of each of `digests` (None: not in the ledger), reading the
/// findings of all of them at once: images share most of their
/// components, so the findings of each component are read once.
pub(crate) fn facts_many(
    store: &mut Store,
    digests: &[Digest],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Option<ImageFacts>>> {
    // A digest may be asked for more than once (one group per environment):
    // each distinct digest is read once, and its later askers get a copy.
    let mut distinct: Vec<&Digest> = Vec::with_capacity(digests.len());
    let mut slot: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let at: Vec<usize> = digests
        .iter()
        .map(|d| {
            *slot.entry(d.as_str()).or_insert_with(|| {
                distinct.push(d);
                distinct.len() - 1
            })
        })
        .collect();
    let mut read = facts_of_distinct(store, &distinct, now)?;
    let mut out = Vec::with_capacity(digests.len());
    for (k, &i) in at.iter().enumerate() {
        let last = !at[k + 1..].contains(&i);
        out.push(if last {
            read[i].take()
        } else {
            read[i].clone()
        });
    }
    Ok(out)
}

/// [`facts_many`] of digests that are all different.
fn facts_of_distinct(
    store: &mut Store,
    digests: &[&Digest],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Option<ImageFacts>>> {
    let mut views = Vec::with_capacity(digests.len());
    for d in digests {
        views.push(match crate::reads::show_summary(store, d) {
            Ok(v) => Some(v),
            Err(e) if e.kind == crate::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        });
    }
    let known: Vec<&str> = digests
        .iter()
        .zip(&views)
        .filter(|(_, v)| v.is_some())
        .map(|(d, _)| d.as_str())
        .collect();
    let mut all = store.vulns_many(&known)?;
    annotate(store, &mut all, now)?;
    // `vulns_many` lists the findings by digest: cut the list into each
    // digest's run, from the end, so each finding is moved once.
    if !all.is_sorted_by(|a, b| a.digest <= b.digest) {
        all.sort_by(|a, b| a.digest.cmp(&b.digest));
    }
    let mut by_digest: std::collections::HashMap<String, Vec<ImageFinding>> =
        std::collections::HashMap::new();
    while let Some(last) = all.last() {
        let d = last.digest.clone();
        let start = all.partition_point(|f| f.digest < d);
        by_digest.insert(d, all.split_off(start));
    }
    let mut out = Vec::with_capacity(digests.len());
    for (d, view) in digests.iter().zip(views) {
        out.push(match view {
            None => None,
            Some(view) => {
                let findings = by_digest.remove(d.as_str()).unwrap_or_default();
                Some(finish_facts(store, view, findings)?)
            }
        });
    }
    Ok(out)
}

/// The input document for `digest` deployed as `deployment`.
pub fn input(store: &mut Store, digest: &Digest, deployment: Deployment) -> Result<PolicyInput> {
    let now = chrono::Utc::now();
    Ok(input_from(facts(store, digest, now)?, deployment, now))
}

/// The input document for an image whose `facts` were read, deployed as
/// `deployment` (the facts' strings move into it).
pub(crate) fn input_from(
    facts: ImageFacts,
    deployment: Deployment,
    now: chrono::DateTime<chrono::Utc>,
) -> PolicyInput {
    let view = &facts.view;
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
    let findings = facts
        .findings
        .into_iter()
        .map(|f| {
            let (severity, source, score) = severity_of(&f);
            let waived = f
                .waivers
                .iter()
                .any(|w| w.environment.is_none() || w.environment.as_deref() == env.as_deref());
            PolicyFinding {
                fix_available: f.fixed.is_some(),
                advisory: f.advisory,
                aliases: f.aliases,
                kind: f.kind,
                purl: f.purl,
                installed: f.installed,
                fixed: f.fixed,
                severity,
                severity_source: source,
                score,
                severity_from: f.severity_from,
                published: f.published,
                days_since_published: f.published.map(|p| (now - p).num_days()),
                waived,
                vex: f.vex,
                reachability: f.reachability,
            }
        })
        .collect();
    PolicyInput {
        version: INPUT_VERSION,
        image: serde_json::json!({
            "known": true,
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
        mismatches: facts.mismatches,
        lineage: facts.lineage,
        apis,
        deployment,
    }
}

/// The input document for an image the ledger does not know: `reference`
/// as the pod spec names it, resolved to `digest` or to none (a tag the
/// ledger has never recorded). `image.known` is false; there are no
/// records, findings or APIs, and no trust.
pub fn unknown_input(reference: &str, digest: Option<&str>, deployment: Deployment) -> PolicyInput {
    PolicyInput {
        version: INPUT_VERSION,
        image: serde_json::json!({
            "known": false,
            "reference": reference,
            "digest": digest,
            "references": [reference],
            "indexes": [],
            "platforms": [],
        }),
        trust: serde_json::json!({"trusted": false, "verified_by": [], "observed": false}),
        records: vec![],
        findings: vec![],
        mismatches: vec![],
        lineage: vec![],
        apis: vec![],
        deployment,
    }
}

/// A compiled policy: the built-in one, or operators' files.
#[derive(Clone)]
pub struct Policy {
    engine: regorus::Engine,
    hash: String,
    /// Admission's recent decisions under this policy (shared by clones).
    memo: std::sync::Arc<crate::memo::DecisionMemo>,
    /// The built-in policy runs alone: its Rust twin ([`crate::native`])
    /// evaluates the inputs the ledger builds.
    native: bool,
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
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        if !replace || files.is_empty() {
            engine
                .add_policy("buildledger/default.rego".into(), DEFAULT_POLICY.into())
                .map_err(|e| Error::internal(format!("the built-in policy: {e}")))?;
            hash.update(DEFAULT_POLICY.as_bytes());
        }
        for f in files {
            let bytes = settings.read(f, crate::limits::POLICY)?;
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::bad_field(f.display().to_string(), "not UTF-8"))?;
            engine
                .add_policy(f.display().to_string(), text)
                .map_err(|e| Error::bad_field(f.display().to_string(), e.to_string()))?;
        }
        hash.update(INPUT_VERSION.to_le_bytes());
        // Prepare once (rule analysis, scheduling, loop hoisting) so every
        // evaluation clones a prepared engine instead of redoing that work;
        // the outcome on an empty input does not matter here, errors show
        // at the first real evaluation.
        engine.set_input(regorus::Value::new_object());
        let _ = engine.eval_rule("data.buildledger.result".into());
        Ok(Policy {
            engine,
            hash: hex::encode(hash.finalize()),
            memo: Default::default(),
            native: files.is_empty() && settings.get(REGO_ONLY).is_none_or(|v| v != "1"),
        })
    }

    /// SHA-256 of the policy's sources: decisions made under another hash
    /// are recomputed.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The recent decisions kept under this policy (see [`crate::memo`]).
    pub fn memo(&self) -> &crate::memo::DecisionMemo {
        &self.memo
    }

    /// Whether the built-in policy's Rust twin evaluates this policy's
    /// inputs (the built-in policy alone, `BUILDLEDGER_POLICY_REGO_ONLY`
    /// unset).
    pub fn is_native(&self) -> bool {
        self.native
    }

    /// Evaluate every input in `regorus`, even the built-in policy's.
    pub fn force_rego(&mut self) {
        self.native = false;
    }

    /// Evaluate `input`: the built-in policy alone by its Rust twin where it
    /// covers the input, otherwise on a clone of the compiled engine.
    pub fn evaluate(&self, input: &PolicyInput) -> Result<Decision> {
        if self.native
            && let Some(d) = crate::native::evaluate(input)
        {
            return Ok(d);
        }
        let mut engine = self.engine.clone();
        let json = serde_json::to_string(input).map_err(|e| Error::internal(e.to_string()))?;
        engine
            .set_input_json(&json)
            .map_err(|e| Error::internal(format!("policy input: {e}")))?;
        self.finish(engine)
    }

    fn finish(&self, mut engine: regorus::Engine) -> Result<Decision> {
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
        let reasons: Vec<Reason> = match &out["reasons"] {
            serde_json::Value::Null => Vec::new(),
            r => serde_json::from_value(r.clone()).map_err(|e| {
                Error::bad_input(format!(
                    "the policy's data.buildledger.result.reasons is not a list of {{rule, message}}: {e}"
                ))
            })?,
        };
        let priority = out["priority"].as_f64().unwrap_or(0.0) as i64;
        Ok(Decision {
            decision,
            reasons,
            priority,
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

/// The built-in policy's own fixtures (`policy/tests/*.json`).
pub const DEFAULT_FIXTURES: &[(&str, &str)] = &[
    (
        "allow-go-symbols-absent.json",
        include_str!("../policy/tests/allow-go-symbols-absent.json"),
    ),
    (
        "deny-go-symbols-present.json",
        include_str!("../policy/tests/deny-go-symbols-present.json"),
    ),
    (
        "deny-go-symbols-absent-unverified.json",
        include_str!("../policy/tests/deny-go-symbols-absent-unverified.json"),
    ),
    (
        "deny-go-symbols-unknown.json",
        include_str!("../policy/tests/deny-go-symbols-unknown.json"),
    ),
    (
        "allow-alpha-api-staging.json",
        include_str!("../policy/tests/allow-alpha-api-staging.json"),
    ),
    (
        "allow-clean.json",
        include_str!("../policy/tests/allow-clean.json"),
    ),
    (
        "allow-medium.json",
        include_str!("../policy/tests/allow-medium.json"),
    ),
    (
        "allow-no-fix.json",
        include_str!("../policy/tests/allow-no-fix.json"),
    ),
    (
        "allow-toolchain-finding.json",
        include_str!("../policy/tests/allow-toolchain-finding.json"),
    ),
    (
        "allow-vex-trusted-fixed.json",
        include_str!("../policy/tests/allow-vex-trusted-fixed.json"),
    ),
    (
        "allow-vex-trusted-not-affected.json",
        include_str!("../policy/tests/allow-vex-trusted-not-affected.json"),
    ),
    (
        "allow-waived.json",
        include_str!("../policy/tests/allow-waived.json"),
    ),
    (
        "deny-fixable-critical.json",
        include_str!("../policy/tests/deny-fixable-critical.json"),
    ),
    (
        "deny-provenance-mismatch.json",
        include_str!("../policy/tests/deny-provenance-mismatch.json"),
    ),
    (
        "deny-unknown-severity.json",
        include_str!("../policy/tests/deny-unknown-severity.json"),
    ),
    (
        "deny-unknown-image.json",
        include_str!("../policy/tests/deny-unknown-image.json"),
    ),
    (
        "deny-untrusted-build.json",
        include_str!("../policy/tests/deny-untrusted-build.json"),
    ),
    (
        "deny-vex-affected.json",
        include_str!("../policy/tests/deny-vex-affected.json"),
    ),
    (
        "deny-vex-unsigned.json",
        include_str!("../policy/tests/deny-vex-unsigned.json"),
    ),
    (
        "rank-critical-non-stable-api.json",
        include_str!("../policy/tests/rank-critical-non-stable-api.json"),
    ),
    (
        "warn-alpha-api-production.json",
        include_str!("../policy/tests/warn-alpha-api-production.json"),
    ),
    (
        "warn-fixable-critical-production.json",
        include_str!("../policy/tests/warn-fixable-critical-production.json"),
    ),
    (
        "warn-unknown-image-production.json",
        include_str!("../policy/tests/warn-unknown-image-production.json"),
    ),
    (
        "warn-untrusted-build-production.json",
        include_str!("../policy/tests/warn-untrusted-build-production.json"),
    ),
];

/// One fixture: an input document and the decision expected for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[serde(default)]
    description: String,
    input: serde_json::Value,
    expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: String,
    /// Exactly these rules (any order), when given.
    #[serde(default)]
    rules: Option<Vec<String>>,
    /// Exactly this priority, when given.
    #[serde(default)]
    priority: Option<i64>,
}

/// The outcome of one fixture.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FixtureResult {
    /// The fixture file.
    pub fixture: String,
    /// What it says it checks.
    pub description: String,
    /// Whether the decision met every expectation.
    pub passed: bool,
    /// What differed (empty when it passed).
    pub failures: Vec<String>,
    /// The decision the policy gave.
    pub decision: String,
    /// The rules it named.
    pub rules: Vec<String>,
    /// Its priority.
    pub priority: i64,
}

impl Policy {
    /// Evaluate a raw input document (a fixture's).
    pub fn evaluate_json(&self, input: &serde_json::Value) -> Result<Decision> {
        let mut engine = self.engine.clone();
        engine
            .set_input_json(&input.to_string())
            .map_err(|e| Error::bad_input(format!("policy input: {e}")))?;
        self.finish(engine)
    }
}

fn run_fixture(policy: &Policy, name: &str, text: &str) -> Result<FixtureResult> {
    let f: Fixture = serde_json::from_str(text)
        .map_err(|e| Error::bad_field(name.to_string(), format!("not a policy fixture: {e}")))?;
    let d = policy
        .evaluate_json(&f.input)
        .map_err(|e| e.prefixed(&format!("{name}: ")))?;
    let mut rules: Vec<String> = d.reasons.iter().map(|r| r.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    let mut failures = Vec::new();
    if d.decision != f.expect.decision {
        failures.push(format!(
            "decision is {}, expected {}",
            d.decision, f.expect.decision
        ));
    }
    if let Some(mut want) = f.expect.rules {
        want.sort();
        want.dedup();
        if want != rules {
            failures.push(format!("rules are {rules:?}, expected {want:?}"));
        }
    }
    if let Some(p) = f.expect.priority
        && p != d.priority
    {
        failures.push(format!("priority is {}, expected {p}", d.priority));
    }
    Ok(FixtureResult {
        fixture: name.to_string(),
        description: f.description,
        passed: failures.is_empty(),
        failures,
        decision: d.decision,
        rules,
        priority: d.priority,
    })
}

/// Run `policy` against the built-in fixtures, or every `*.json` fixture in
/// `dir` (each `{"description", "input", "expect": {"decision", "rules"?,
/// "priority"?}}`), in name order.
pub fn test(
    policy: &Policy,
    dir: Option<&Path>,
    settings: &crate::Settings,
) -> Result<Vec<FixtureResult>> {
    let Some(dir) = dir else {
        return DEFAULT_FIXTURES
            .iter()
            .map(|(n, t)| run_fixture(policy, n, t))
            .collect();
    };
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::bad_field(shown.clone(), format!("cannot read the directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::bad_field(shown, "holds no *.json fixtures"));
    }
    if files.len() > 10_000 {
        return Err(Error::bad_field(shown, "holds more than 10000 fixtures"));
    }
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let bytes = settings.read(&f, crate::limits::POLICY)?;
        let name = f.display().to_string();
        let text =
            String::from_utf8(bytes).map_err(|_| Error::bad_field(name.clone(), "not UTF-8"))?;
        out.push(run_fixture(policy, &name, &text)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_passes_its_own_fixtures() {
        let p = Policy::load(&[], false, &crate::Settings::new(|_| None)).unwrap();
        let results = test(&p, None, &crate::Settings::new(|_| None)).unwrap();
        let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        // Every fixture file ships (none is left out of the list).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy/tests");
        let on_disk = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(on_disk, DEFAULT_FIXTURES.len());
        assert!(results.len() >= 18);
    }

    #[test]
    fn a_present_go_finding_names_its_symbols() {
        let p = Policy::load(&[], false, &crate::Settings::new(|_| None)).unwrap();
        let (_, text) = DEFAULT_FIXTURES
            .iter()
            .find(|(n, _)| *n == "deny-go-symbols-present.json")
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let d = p.evaluate_json(&doc["input"]).unwrap();
        assert!(
            d.reasons[0]
                .message
                .ends_with("; in the binary: golang.org/x/net/http2.Server.ServeConn"),
            "{:?}",
            d.reasons
        );
        // an unknown verdict adds nothing to the message
        let (_, text) = DEFAULT_FIXTURES
            .iter()
            .find(|(n, _)| *n == "deny-go-symbols-unknown.json")
            .unwrap();
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let d = p.evaluate_json(&doc["input"]).unwrap();
        assert!(
            !d.reasons[0].message.contains("in the binary"),
            "{:?}",
            d.reasons
        );
    }

    #[test]
    fn a_fixture_that_expects_otherwise_fails() {
        let p = Policy::load(&[], false, &crate::Settings::new(|_| None)).unwrap();
        let (name, text) = DEFAULT_FIXTURES
            .iter()
            .find(|(n, _)| *n == "deny-fixable-critical.json")
            .unwrap();
        for (from, to) in [
            ("\"decision\": \"deny\"", "\"decision\": \"allow\""),
            ("\"priority\": 40", "\"priority\": 41"),
            ("\"fixable-severe-finding\"\n", "\"untrusted-build\"\n"),
        ] {
            let changed = text.replacen(from, to, 1);
            assert_ne!(&changed, text, "{from}");
            let r = run_fixture(&p, name, &changed).unwrap();
            assert!(!r.passed && r.failures.len() == 1, "{from}: {r:?}");
        }
    }
}
