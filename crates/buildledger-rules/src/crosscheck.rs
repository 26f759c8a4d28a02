//! Cross-checking build claims against what the image itself shows.
//!
//! For every digest that has both a claim (a CI record, an attestation, an
//! SBOM) and an observation (the indexer's record), the claim is compared
//! with the observation field by field. Each disagreement is a
//! [`Mismatch`] — a provenance finding, with both values — that the
//! policy engine can act on like a vulnerability:
//!
//! - `source.commit`: claimed commit vs the Go binary's `vcs.revision`
//!   (a claimed short id matches the observed full id it prefixes);
//! - `toolchain go`: claimed Go version vs the embedded one;
//! - `dependency`: a Go module at different versions, a module in the
//!   binary the claim does not list, or a runtime module the claim lists
//!   that the binary does not contain;
//! - `dirty`: the binary was built from a modified work tree
//!   (`vcs.modified=true`) — reported even when no claim speaks of it.

use std::collections::{BTreeMap, BTreeSet};

use buildledger_model::{BuildRecord, Digest, Origin, Scope};
use buildledger_store::{Store, StoredRecord};
use serde::Serialize;

use crate::Result;

/// One disagreement between a claim and the image.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema, serde::Deserialize)]
pub struct Mismatch {
    /// Image digest.
    pub digest: String,
    /// `source.commit`, `toolchain go`, `dependency`, `dirty`.
    pub field: String,
    /// What the claim says (None: the claim does not list it).
    pub claimed: Option<String>,
    /// What the image shows (None: not in the image).
    pub observed: Option<String>,
    /// The claiming record, when there is one.
    pub claim_record: Option<i64>,
    /// Origin and trust of the claim (`ci/unverified`, `attestation/verified`).
    pub claim: Option<String>,
    /// The observing record.
    pub observed_record: i64,
}

fn go_modules(r: &BuildRecord, runtime_only: bool) -> BTreeMap<String, String> {
    r.components
        .iter()
        .filter(|c| c.purl.ty() == "golang")
        .filter(|c| !runtime_only || c.scope == Scope::Runtime)
        .filter(|c| {
            !c.location
                .as_deref()
                .is_some_and(|l| l.starts_with("implied by"))
        })
        .filter_map(|c| {
            let name = c
                .purl
                .package()
                .trim_start_matches("pkg:golang/")
                .to_string();
            if name == "stdlib" || name == "toolchain" {
                return None;
            }
            Some((name, c.purl.version()?.to_string()))
        })
        .collect()
}

/// Compare every claim about one digest with every observation of it.
pub fn compare(digest: &str, records: &[StoredRecord]) -> Vec<Mismatch> {
    let (obs, claims): (Vec<&StoredRecord>, Vec<&StoredRecord>) = records
        .iter()
        .partition(|r| r.record.origin == Origin::Indexer);
    let mut out = Vec::new();
    for o in &obs {
        let or = &o.record;
        let ocommit = or.source.as_ref().and_then(|s| s.commit.clone());
        if or.source.as_ref().and_then(|s| s.dirty) == Some(true) {
            out.push(Mismatch {
                digest: digest.into(),
                field: "dirty".into(),
                claimed: claims
                    .iter()
                    .find_map(|c| c.record.source.as_ref().and_then(|s| s.dirty))
                    .map(|d| d.to_string()),
                observed: Some("true".into()),
                claim_record: None,
                claim: None,
                observed_record: o.id,
            });
        }
        let ogo = or
            .toolchains
            .iter()
            .find(|t| t.name == "go")
            .map(|t| t.version.clone());
        let omods = go_modules(or, false);
        for c in &claims {
            let cr = &c.record;
            let label = Some(format!(
                "{}/{}",
                cr.origin.as_str(),
                cr.trust.state.as_str()
            ));
            let mut push = |field: &str, claimed: Option<String>, observed: Option<String>| {
                out.push(Mismatch {
                    digest: digest.into(),
                    field: field.into(),
                    claimed,
                    observed,
                    claim_record: Some(c.id),
                    claim: label.clone(),
                    observed_record: o.id,
                })
            };
            if let (Some(cc), Some(oc)) =
                (cr.source.as_ref().and_then(|s| s.commit.clone()), &ocommit)
            {
                let (cc_l, oc_l) = (cc.to_ascii_lowercase(), oc.to_ascii_lowercase());
                if !(oc_l.starts_with(&cc_l) || cc_l.starts_with(&oc_l)) {
                    push("source.commit", Some(cc), Some(oc.clone()));
                }
            }
            if let (Some(cg), Some(og)) = (cr.toolchains.iter().find(|t| t.name == "go"), &ogo)
                && &cg.version != og
            {
                push("toolchain go", Some(cg.version.clone()), Some(og.clone()));
            }
            // Dependencies: when the claim lists Go modules and the image
            // holds a Go binary (whose module list may well be empty).
            let cmods = go_modules(cr, false);
            if !cmods.is_empty() && ogo.is_some() {
                for (m, ov) in &omods {
                    match cmods.get(m) {
                        Some(cv) if cv != ov => push(
                            "dependency",
                            Some(format!("{m}@{cv}")),
                            Some(format!("{m}@{ov}")),
                        ),
                        None => push("dependency", None, Some(format!("{m}@{ov}"))),
                        _ => {}
                    }
                }
                for (m, cv) in go_modules(cr, true) {
                    if !omods.contains_key(&m) {
                        push("dependency", Some(format!("{m}@{cv}")), None);
                    }
                }
            }
        }
    }
    out
}

/// Mismatches for every digest that has both claims and observations
/// (or only `digest`, when given).
pub fn mismatches(store: &mut Store, digest: Option<&Digest>) -> Result<Vec<Mismatch>> {
    let digests: Vec<String> = match digest {
        Some(d) => vec![d.to_string()],
        None => store.digests_claimed_and_observed()?,
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for d in digests {
        let Ok(dg) = Digest::parse(&d) else { continue };
        if let Some(view) = store.show(&dg)? {
            for m in compare(&d, &view.records) {
                if seen.insert(format!("{m:?}")) {
                    out.push(m);
                }
            }
        }
    }
    Ok(out)
}
