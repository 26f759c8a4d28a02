//! The built-in Rego policy on both engines: outside production a fixable
//! finding of unknown severity and an untrusted build deny; in production
//! the same warn; waivers in force take findings out; an operator's
//! policy replaces the built-in one; a policy that does not compile is
//! exit 2 naming its file.

mod common;
use common::each;

const PAYMENTS: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

#[test]
fn default_policy_decides_per_environment() {
    each(|l| {
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        l.ok(&["feed", "import", "examples/advisories"]);
        let eval = |env: &str| l.json(&["policy", "eval", "--digest", PAYMENTS, "--env", env]);
        let rules = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
            v["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["rule"].as_str().unwrap().to_string())
                .collect()
        };
        let staging = eval("staging");
        assert_eq!(staging["decision"], "deny", "[{}] {staging}", l.engine());
        assert_eq!(
            rules(&staging),
            ["fixable-severe-finding", "untrusted-build"]
                .map(String::from)
                .into(),
        );
        assert_eq!(staging["input"]["version"], 1);
        assert!(
            staging["input"]["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["severity"] == "unknown" && f["severity_source"] == "none")
        );
        let prod = eval("production");
        assert_eq!(prod["decision"], "warn", "{prod}");
        // Waive every advisory on this digest in staging: only the untrusted build remains.
        let ends = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
        for a in [
            "GO-2021-0238",
            "GO-2022-0969",
            "GO-2023-1571",
            "GO-2023-2102",
        ] {
            l.ok(&[
                "waiver",
                "add",
                "--advisory",
                a,
                "--digest",
                PAYMENTS,
                "--env",
                "staging",
                "--owner",
                "o",
                "--reason",
                "r",
                "--expires",
                &ends,
            ]);
        }
        let staging = eval("staging");
        assert_eq!(
            rules(&staging),
            ["untrusted-build"].map(String::from).into(),
            "{staging}"
        );
        assert_eq!(
            rules(&eval("qa")).len(),
            2,
            "a staging waiver applied elsewhere"
        );
        // An operator's policy replaces the built-in one.
        let own = l.path("allow.rego");
        std::fs::write(
            &own,
            "package buildledger\n\nresult := {\"decision\": \"allow\", \"reasons\": []}\n",
        )
        .unwrap();
        let v = l.json(&[
            "policy",
            "eval",
            "--digest",
            PAYMENTS,
            "--env",
            "staging",
            "--policy-file",
            own.to_str().unwrap(),
            "--replace",
        ]);
        assert_eq!(v["decision"], "allow");
        let broken = l.path("broken.rego");
        std::fs::write(&broken, "package buildledger\n\nresult := {\n").unwrap();
        let o = l.run(&[
            "policy",
            "eval",
            "--digest",
            PAYMENTS,
            "--env",
            "staging",
            "--policy-file",
            broken.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("broken.rego"),
            "{o:?}"
        );
        // No inventory yet: an empty posture.
        assert!(l.json(&["posture"]).as_array().unwrap().is_empty());
    });
}

/// Go's advisories carry no severity: a finding takes its severity from
/// another stored advisory that shares an alias (the GitHub advisory of the
/// same CVE, with its CVSS vector), says where it came from, and the input
/// says how old the advisory is.
#[test]
fn severity_is_borrowed_from_an_alias_and_age_is_in_the_input() {
    each(|l| {
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        l.ok(&["feed", "import", "examples/advisories/GO-2023-2102.json"]);
        let finding = |l: &common::Ledger| -> serde_json::Value {
            let v = l.json(&["policy", "eval", "--digest", PAYMENTS, "--env", "staging"]);
            v["input"]["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| {
                    f["advisory"] == "GO-2023-2102"
                        && f["purl"]
                            .as_str()
                            .unwrap()
                            .starts_with("pkg:golang/golang.org/x/net")
                })
                .cloned()
                .unwrap_or_else(|| panic!("{v}"))
        };
        let before = finding(l);
        assert_eq!(
            (
                before["severity"].as_str(),
                before["severity_source"].as_str()
            ),
            (Some("unknown"), Some("none")),
            "{before}"
        );
        assert!(before["severity_from"].is_null());
        // GitHub's advisory of the same vulnerability (GHSA-4374-p667-p6c8,
        // as github.com/advisories publishes it in OSV form).
        let ghsa = l.path("GHSA-4374-p667-p6c8.json");
        std::fs::write(
            &ghsa,
            buildledger_testkit::advisories::ghsa_rapid_reset().to_string(),
        )
        .unwrap();
        l.ok(&["feed", "import", ghsa.to_str().unwrap()]);
        let after = finding(l);
        assert_eq!(
            (
                after["severity"].as_str(),
                after["severity_source"].as_str(),
                after["score"].as_f64(),
                after["severity_from"].as_str()
            ),
            (
                Some("high"),
                Some("cvss"),
                Some(7.5),
                Some("GHSA-4374-p667-p6c8")
            ),
            "[{}] {after}",
            l.engine()
        );
        // The GitHub advisory's own finding, with its own age.
        let v = l.json(&["policy", "eval", "--digest", PAYMENTS, "--env", "staging"]);
        let own = v["input"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["advisory"] == "GHSA-4374-p667-p6c8")
            .cloned()
            .unwrap_or_else(|| panic!("{v}"));
        assert!(own["severity_from"].is_null(), "{own}");
        let days = own["days_since_published"].as_i64().unwrap();
        let want = (chrono::Utc::now()
            - chrono::DateTime::parse_from_rfc3339("2023-10-11T22:28:29Z")
                .unwrap()
                .with_timezone(&chrono::Utc))
        .num_days();
        assert!((want - 1..=want).contains(&days), "{days} vs {want}");
    });
}
