//! The built-in policy (`policy/default.rego`) evaluated in Rust.
//!
//! The Rego source stays the policy's definition: it is what `policy eval`
//! documents, what operators extend, and what every policy with an
//! operator's file is evaluated by. When the built-in policy runs alone,
//! this twin gives the same result on the input documents the ledger
//! builds (`PolicyInput`), without serialising the input to JSON and
//! interpreting Rego: about 1–3 ms per decision in `regorus` for an image
//! with a hundred findings, tens of microseconds here, which is what the
//! admission path and the posture's refresh need.
//!
//! Sameness is tested, not assumed: the built-in fixtures and thousands of
//! generated inputs (every rule, severity, waiver, VEX, reachability and API
//! case, duplicates included) must give the same decision, the same reasons
//! in the same order and the same priority from both
//! (`tests::the_twin_agrees_with_regorus`). An input outside what the twin
//! covers (a shape `PolicyInput` allows but the ledger never builds, such
//! as a fix flagged without a fixed version) is left to `regorus`:
//! [`evaluate`] returns `None`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::policy::{Decision, PolicyFinding, PolicyInput, Reason};

/// `weight` in the policy.
fn weight(severity: &str) -> Option<i64> {
    Some(match severity {
        "critical" => 40,
        "high" => 30,
        "unknown" => 25,
        "medium" => 20,
        "low" => 10,
        _ => return None,
    })
}

/// `vex_cleared(f)`.
fn vex_cleared(f: &PolicyFinding) -> bool {
    f.vex
        .as_ref()
        .is_some_and(|v| v.trusted && matches!(v.status.as_str(), "not_affected" | "fixed"))
}

/// `unreachable(f)`.
fn unreachable(f: &PolicyFinding) -> bool {
    f.reachability
        .as_ref()
        .is_some_and(|r| r.state == "absent" && r.trust.as_deref() == Some("observed"))
}

/// A reason in the order Rego sorts the objects `{advisory?, message,
/// rule}`: by their entries in key order, so an object with an `advisory`
/// (the first key) sorts before one without, then by advisory, message and
/// rule.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Sorted {
    WithAdvisory(String, String, String),
    Plain(String, String),
}

impl Sorted {
    fn reason(self) -> Reason {
        match self {
            Sorted::WithAdvisory(advisory, message, rule) => Reason {
                rule,
                message,
                advisory: Some(advisory),
            },
            Sorted::Plain(message, rule) => Reason {
                rule,
                message,
                advisory: None,
            },
        }
    }
}

/// A boolean field of a JSON object: `Some(false)` when absent, `None`
/// when it holds anything but a boolean (left to Rego's truthiness).
fn flag(v: &Value, key: &str) -> Option<bool> {
    match v.get(key) {
        None => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => None,
    }
}

/// The built-in policy's result for `input`, or `None` when the input is
/// outside what this twin covers (see the module docs).
pub(crate) fn evaluate(input: &PolicyInput) -> Option<Decision> {
    // Shapes the ledger never builds: left to regorus.
    for f in &input.findings {
        if weight(&f.severity).is_none() || f.fix_available != f.fixed.is_some() {
            return None;
        }
        if let Some(r) = &f.reachability
            && r.state == "present"
            && r.symbols.is_empty()
        {
            return None;
        }
    }
    let production = input.deployment.environment.as_deref() == Some("production");
    let unknown_image = match input.image.get("known") {
        Some(Value::Bool(b)) => !b,
        None => false,
        Some(_) => return None,
    };
    let trusted = flag(&input.trust, "trusted")?;

    let counted = input
        .findings
        .iter()
        .filter(|f| f.kind == "vuln" && !f.waived && !vex_cleared(f) && !unreachable(f));
    let mut violations: BTreeSet<Sorted> = BTreeSet::new();
    let mut priority: Option<i64> = None;
    for f in counted {
        let w = weight(&f.severity)?;
        priority = Some(priority.map_or(w, |p| p.max(w)));
        if f.fix_available && matches!(f.severity.as_str(), "critical" | "high" | "unknown") {
            let note = match &f.reachability {
                Some(r) if r.state == "present" => {
                    format!("; in the binary: {}", r.symbols.join(", "))
                }
                _ => String::new(),
            };
            let message = format!(
                "{} ({}) in {}, fixed in {}{}",
                f.advisory,
                f.severity,
                f.purl,
                f.fixed.as_deref().unwrap_or_default(),
                note
            );
            violations.insert(Sorted::WithAdvisory(
                f.advisory.clone(),
                message,
                "fixable-severe-finding".into(),
            ));
        }
    }
    if unknown_image {
        let reference = match input.image.get("reference") {
            Some(Value::String(s)) => s.clone(),
            _ => return None,
        };
        violations.insert(Sorted::Plain(
            format!("{reference} is not in the ledger"),
            "unknown-image".into(),
        ));
    }
    if !trusted && !unknown_image {
        violations.insert(Sorted::Plain(
            "no verified build record from a trusted builder and no index of the image by this ledger"
                .into(),
            "untrusted-build".into(),
        ));
    }
    if !input.mismatches.is_empty() {
        violations.insert(Sorted::Plain(
            format!(
                "{} provenance mismatch(es) between build claims and the image",
                input.mismatches.len()
            ),
            "provenance-mismatch".into(),
        ));
    }
    let mut warnings: BTreeSet<Sorted> = BTreeSet::new();
    let mut non_stable = false;
    for a in &input.apis {
        let stability = match a.get("stability") {
            Some(Value::String(s)) => s.as_str(),
            None => continue,
            Some(_) => return None,
        };
        non_stable |= matches!(stability, "alpha" | "beta");
        if production && stability == "alpha" {
            let Some(Value::String(name)) = a.get("name") else {
                return None;
            };
            warnings.insert(Sorted::Plain(
                format!("exposes the alpha API {name}"),
                "alpha-api-in-production".into(),
            ));
        }
    }
    let priority = priority.map_or(0, |p| p + if non_stable { 5 } else { 0 });
    let decision = if !production && !violations.is_empty() {
        "deny"
    } else if !violations.is_empty() || !warnings.is_empty() {
        "warn"
    } else {
        "allow"
    };
    Some(Decision {
        decision: decision.into(),
        reasons: violations
            .into_iter()
            .chain(warnings)
            .map(Sorted::reason)
            .collect(),
        priority,
        input: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Deployment, Policy};

    /// A small deterministic generator (xorshift), so a failure names a
    /// seed that reproduces it.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
        fn chance(&mut self, in_: usize) -> bool {
            self.below(in_) == 0
        }
    }

    fn finding(rng: &mut Rng) -> PolicyFinding {
        let advisory = rng.pick(&["GO-2024-0001", "GO-2023-1234", "CVE-2024-9999", "GHSA-xxxx"]);
        let fixed = if rng.chance(3) {
            None
        } else {
            Some(rng.pick(&["1.2.3", "0.9.0", "1.22.1"]).to_string())
        };
        let vex = if rng.chance(3) {
            Some(buildledger_store::VexStatement {
                status: rng
                    .pick(&["not_affected", "fixed", "affected", "under_investigation"])
                    .into(),
                justification: None,
                impact_statement: None,
                action_statement: None,
                author: "sec@example.com".into(),
                trusted: rng.chance(2),
                key_id: None,
                document: "urn:vex:1".into(),
                version: 1,
                vulnerability: advisory.into(),
                product_kind: "digest".into(),
                product: "sha256:ab".into(),
                subcomponent: None,
                stated_at: chrono::DateTime::UNIX_EPOCH,
                name: advisory.into(),
            })
        } else {
            None
        };
        let reachability = if rng.chance(2) {
            let state = rng.pick(&["present", "absent", "unknown"]);
            let symbols = if state == "present" {
                (0..1 + rng.below(3))
                    .map(|i| format!("golang.org/x/net/http2.F{i}"))
                    .collect()
            } else {
                vec![]
            };
            Some(buildledger_store::Reachability {
                state: state.into(),
                symbols,
                binaries: vec!["/app".into()],
                reason: None,
                trust: match rng.below(3) {
                    0 => None,
                    1 => Some("observed".into()),
                    _ => Some("unverified".into()),
                },
            })
        } else {
            None
        };
        PolicyFinding {
            advisory: advisory.into(),
            aliases: vec!["CVE-2024-0001".into()],
            kind: rng.pick(&["vuln", "vuln", "vuln", "toolchain"]).into(),
            purl: rng
                .pick(&[
                    "pkg:golang/stdlib@1.21.0",
                    "pkg:golang/golang.org/x/net@0.1.0",
                ])
                .into(),
            installed: "1.0.0".into(),
            fix_available: fixed.is_some(),
            fixed,
            severity: rng
                .pick(&["critical", "high", "medium", "low", "unknown"])
                .into(),
            severity_source: "feed".into(),
            score: None,
            severity_from: None,
            published: None,
            days_since_published: None,
            waived: rng.chance(4),
            vex,
            reachability,
        }
    }

    fn generated(rng: &mut Rng) -> PolicyInput {
        let known = !rng.chance(8);
        let mut input = if known {
            crate::policy::unknown_input("ignored", None, Deployment::default())
        } else {
            crate::policy::unknown_input(
                rng.pick(&["registry.example/app:1", "busybox"]),
                None,
                Deployment::default(),
            )
        };
        if known {
            input.image =
                serde_json::json!({"known": true, "digest": "sha256:ab", "references": []});
            input.trust =
                serde_json::json!({"trusted": rng.chance(2), "verified_by": [], "observed": false});
            let n = rng.below(12);
            input.findings = (0..n).map(|_| finding(rng)).collect();
            // The same finding twice (two records claim one component).
            if n > 0 && rng.chance(3) {
                let f = input.findings[rng.below(n)].clone();
                input.findings.push(f);
            }
            input.mismatches = (0..rng.below(3))
                .map(|i| serde_json::json!({"field": format!("m{i}")}))
                .collect();
            input.apis = (0..rng.below(4))
                .map(|_| {
                    serde_json::json!({
                        "kind": "http",
                        "name": rng.pick(&["GET /v1alpha1/x", "GET /v1/y", "POST /v2beta/z"]),
                        "stability": rng.pick(&["alpha", "beta", "stable", "deprecated"]),
                    })
                })
                .collect();
        }
        input.deployment = Deployment {
            cluster: Some("c".into()),
            namespace: Some("ns".into()),
            workload: Some("Deployment/x".into()),
            environment: match rng.below(4) {
                0 => None,
                1 => Some("staging".into()),
                2 => Some("prod".into()),
                _ => Some("production".into()),
            },
        };
        input
    }

    fn rego_only() -> Policy {
        let mut p = Policy::load(&[], false, &crate::Settings::new(|_| None)).unwrap();
        p.force_rego();
        p
    }

    fn same(rego: &Decision, twin: &Decision) -> bool {
        rego.decision == twin.decision
            && rego.reasons == twin.reasons
            && rego.priority == twin.priority
    }

    #[test]
    fn the_twin_agrees_with_regorus() {
        let rego = rego_only();
        let (mut compared, mut denied, mut warned, mut reasons) = (0, 0, 0, 0);
        for seed in 1..=3000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let input = generated(&mut rng);
            let twin = evaluate(&input).unwrap_or_else(|| panic!("seed {seed}: not covered"));
            let want = rego.evaluate(&input).unwrap();
            assert!(
                same(&want, &twin),
                "seed {seed}: regorus {want:#?}\ntwin {twin:#?}\ninput {}",
                serde_json::to_string_pretty(&input).unwrap()
            );
            compared += 1;
            denied += usize::from(twin.decision == "deny");
            warned += usize::from(twin.decision == "warn");
            reasons += twin.reasons.len();
        }
        // The generator reaches every outcome, and many reasons.
        assert_eq!(compared, 3000);
        assert!(denied > 300 && warned > 300 && compared - denied - warned > 100);
        assert!(reasons > 3000, "{reasons}");
    }

    #[test]
    fn the_twin_agrees_on_the_builtin_fixtures() {
        let rego = rego_only();
        let mut covered = 0;
        for (name, text) in crate::policy::DEFAULT_FIXTURES {
            let doc: serde_json::Value = serde_json::from_str(text).unwrap();
            // Fixtures are raw documents; those the ledger could have built
            // are compared.
            let Ok(input) = serde_json::from_value::<PolicyInput>(doc["input"].clone()) else {
                continue;
            };
            let Some(twin) = evaluate(&input) else {
                continue;
            };
            let want = rego.evaluate(&input).unwrap();
            assert!(same(&want, &twin), "{name}: {want:#?}\n{twin:#?}");
            covered += 1;
        }
        assert!(covered >= 20, "{covered}");
    }

    #[test]
    fn inputs_the_ledger_never_builds_are_left_to_rego() {
        let mut rng = Rng(7);
        let mut input = generated(&mut rng);
        input.image = serde_json::json!({"known": true});
        input.findings = vec![finding(&mut rng)];
        input.findings[0].fix_available = input.findings[0].fixed.is_none();
        assert!(evaluate(&input).is_none());
        input.findings[0].fix_available = input.findings[0].fixed.is_some();
        input.findings[0].severity = "moderate".into();
        assert!(evaluate(&input).is_none());
        input.findings[0].severity = "high".into();
        assert!(evaluate(&input).is_some());
    }
}
