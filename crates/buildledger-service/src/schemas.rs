//! The JSON contract of every result: one JSON schema per use case, checked
//! into `schema/results/NAME.v1.json` and regenerated from the types by a
//! test (`BUILDLEDGER_BLESS=1 cargo test -p buildledger-service` rewrites
//! them). Adding an optional field keeps `v1`; removing or retyping one is
//! a new version.

use schemars::JsonSchema;

use buildledger_model::Component;
use buildledger_rules::crosscheck::Mismatch;
use buildledger_store::{FindingChange, Hit, ImageFinding, ImageView, TableRow};

/// Version of the result shapes described here.
pub const RESULTS_VERSION: u32 = 1;

/// The JSON of `scan --format json`: the scan's own report and the
/// components found.
#[derive(serde::Serialize, JsonSchema)]
pub struct ScanJson {
    /// What was scanned and found: image, OS, packages, binaries, warnings.
    pub scan: serde_json::Map<String, serde_json::Value>,
    /// The components, as a record would hold them.
    pub components: Vec<Component>,
}

fn schema_of<T: JsonSchema>(name: &str, title: &str) -> serde_json::Value {
    // Results are written, not read: fields the ledger sets (a record's
    // origin, trust and record time) are part of them.
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut v = serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "$id".into(),
            format!("https://buildledger.dev/schema/results/{name}.v{RESULTS_VERSION}.json").into(),
        );
        o.insert("title".into(), title.into());
    }
    v
}

/// Every result schema: (file stem, schema). The stem is the command (and
/// API operation) whose JSON it describes.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    use crate::*;
    vec![
        (
            "record",
            schema_of::<Vec<record::Recorded>>("record", "Records stored"),
        ),
        (
            "show",
            schema_of::<ImageView>("show", "One image digest and every record about it"),
        ),
        (
            "query",
            schema_of::<Vec<Hit>>("query", "Records matching a query"),
        ),
        (
            "table",
            schema_of::<Vec<TableRow>>("table", "The mapping table, one row per digest"),
        ),
        (
            "conflicts",
            schema_of::<Vec<reads::DigestConflicts>>("conflicts", "Digests whose records disagree"),
        ),
        (
            "info",
            schema_of::<reads::Info>("info", "What the ledger holds"),
        ),
        (
            "migrate",
            schema_of::<reads::SchemaState>("migrate", "The ledger's schema version"),
        ),
        (
            "feed-import",
            schema_of::<feeds::FeedImport>("feed-import", "What a feed import did"),
        ),
        (
            "rematch",
            schema_of::<feeds::Rematch>("rematch", "What a full re-match did"),
        ),
        (
            "vulns",
            schema_of::<Vec<ImageFinding>>("vulns", "Findings for one image"),
        ),
        (
            "affected",
            schema_of::<Vec<ImageFinding>>("affected", "Images affected by one advisory"),
        ),
        (
            "changes",
            schema_of::<Vec<FindingChange>>("changes", "Findings added and removed"),
        ),
        (
            "lineage",
            schema_of::<reads::Lineage>("lineage", "Indexed base images of one image"),
        ),
        (
            "mismatches",
            schema_of::<Vec<Mismatch>>("mismatches", "Claims that disagree with the image"),
        ),
        (
            "audit-verify",
            schema_of::<audit::Verification>("audit-verify", "The audit log checked"),
        ),
        (
            "audit-checkpoint",
            schema_of::<audit::Checkpointed>("audit-checkpoint", "A checkpoint signed"),
        ),
        (
            "keygen",
            schema_of::<keys::KeyPair>("keygen", "A key pair written"),
        ),
        (
            "attest",
            schema_of::<keys::Attested>("attest", "Provenance signed"),
        ),
        ("scan", schema_of::<ScanJson>("scan", "What a scan found")),
        (
            "sbom-import",
            schema_of::<scan::SbomImported>("sbom-import", "An SBOM recorded"),
        ),
        (
            "token-create",
            schema_of::<tokens::NewToken>(
                "token-create",
                "A token created (its secret shown once)",
            ),
        ),
        (
            "token-list",
            schema_of::<Vec<buildledger_store::TokenRow>>(
                "token-list",
                "API tokens (never secrets)",
            ),
        ),
        (
            "registry-events",
            schema_of::<jobs::EventsAccepted>(
                "registry-events",
                "Index jobs queued from registry events",
            ),
        ),
        (
            "jobs",
            schema_of::<Vec<buildledger_store::Job>>("jobs", "The job queue"),
        ),
        (
            "policy-eval",
            schema_of::<policy::Decision>("policy-eval", "A policy decision and its input"),
        ),
        (
            "posture",
            schema_of::<Vec<crate::posture::PostureEntry>>(
                "posture",
                "The decision for every running container",
            ),
        ),
        (
            "policy-test",
            schema_of::<Vec<policy::FixtureResult>>("policy-test", "A policy run against fixtures"),
        ),
        (
            "alerts",
            schema_of::<Vec<buildledger_store::AlertRow>>("alerts", "Alerts, firing and resolved"),
        ),
        (
            "vex-import",
            schema_of::<crate::vex::VexImport>("vex-import", "A VEX document imported"),
        ),
        (
            "vex-list",
            schema_of::<Vec<buildledger_store::VexDocument>>("vex-list", "Stored VEX documents"),
        ),
        (
            "waiver",
            schema_of::<buildledger_store::Waiver>("waiver", "A waiver"),
        ),
        (
            "waivers",
            schema_of::<Vec<buildledger_store::Waiver>>("waivers", "Waivers"),
        ),
        (
            "inventory-report",
            schema_of::<inventory::InventoryReport>(
                "inventory-report",
                "A cluster snapshot recorded",
            ),
        ),
        (
            "inventory",
            schema_of::<Vec<buildledger_store::InventoryRow>>(
                "inventory",
                "Which digests run where",
            ),
        ),
        (
            "feeds",
            schema_of::<Vec<buildledger_store::FeedSourceState>>(
                "feeds",
                "Feed sources and their sync state",
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn checked_in_schemas_match_the_types() {
        let dir = buildledger_testkit::shared::workspace_root().join("schema/results");
        let bless = std::env::var_os("BUILDLEDGER_BLESS").is_some();
        let mut stale = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (name, schema) in super::all() {
            assert!(names.insert(name), "{name} twice");
            let path = dir.join(format!("{name}.v{}.json", super::RESULTS_VERSION));
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "out of date (run `BUILDLEDGER_BLESS=1 cargo test -p buildledger-service`): {stale:?}"
        );
        // Every file there is one of ours: no schema outlives its type.
        for e in std::fs::read_dir(&dir).unwrap() {
            let f = e.unwrap().file_name().to_string_lossy().into_owned();
            let stem = f.split('.').next().unwrap_or_default().to_string();
            assert!(
                names.contains(stem.as_str()),
                "schema/results/{f} has no result type"
            );
        }
    }
}
