//! Waivers on both engines: a waived finding stays listed with its waiver;
//! waivers in every environment lift the `--fail-on-findings` gate, one
//! environment's do not; an expired waiver stops applying by itself (a real
//! clock: waivers that end seconds from now); revocation; bad input; every
//! change in the audit log.

use std::time::{Duration, Instant};

mod common;
use common::{Ledger, each};

const PAYMENTS: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn in_secs(s: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::seconds(s)).to_rfc3339()
}

#[test]
fn waivers_show_lift_the_gate_expire_and_are_audited() {
    each(|l| {
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        l.ok(&["feed", "import", "examples/advisories"]);
        let gate = |l: &Ledger| {
            l.run(&["vulns", PAYMENTS, "--fail-on-findings"])
                .status
                .code()
        };
        assert_eq!(gate(l), Some(3));
        let findings = l.json(&["vulns", PAYMENTS]);
        let n = findings.as_array().unwrap().len();
        let advisories: std::collections::BTreeSet<String> = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "vuln")
            .map(|f| f["advisory"].as_str().unwrap().to_string())
            .collect();

        // One environment only: shown, but the gate (all environments) stays shut.
        l.ok(&[
            "waiver",
            "add",
            "--advisory",
            "CVE-2023-39325",
            "--package",
            "pkg:golang/golang.org/x/net",
            "--env",
            "staging",
            "--owner",
            "alice@example",
            "--reason",
            "rate limit in front",
            "--expires",
            &in_secs(3600),
        ]);
        let text = l.ok(&["vulns", PAYMENTS]);
        assert!(
            text.contains("waived: GO-2023-2102 on pkg:golang/golang.org/x/net@"),
            "{text}"
        );
        assert!(text.contains("in staging only"), "{text}");
        assert_eq!(gate(l), Some(3));
        let v = l.json(&["vulns", PAYMENTS]);
        assert_eq!(v.as_array().unwrap().len(), n, "a waiver hid a finding");
        let waived: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f.get("waivers").is_some())
            .collect();
        assert_eq!(waived.len(), 1, "{v}");
        assert_eq!(waived[0]["advisory"], "GO-2023-2102");

        // Every vulnerability waived on this digest, everywhere, for a few
        // seconds: the gate opens, then closes again by itself.
        let ends = in_secs(4);
        for a in &advisories {
            l.ok(&[
                "waiver",
                "add",
                "--advisory",
                a,
                "--digest",
                PAYMENTS,
                "--owner",
                "bob",
                "--reason",
                "accepted until the rebuild",
                "--expires",
                &ends,
            ]);
        }
        assert_eq!(
            gate(l),
            Some(0),
            "[{}] waived findings still fail the gate",
            l.engine()
        );
        let soon = l.json(&["waiver", "list", "--expiring", "1h"]);
        assert_eq!(soon.as_array().unwrap().len(), advisories.len() + 1);
        let t0 = Instant::now();
        while gate(l) != Some(3) {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "an expired waiver still applies"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(
            l.json(&["waiver", "list"]).as_array().unwrap().len(),
            1,
            "expired ones are listed as live"
        );
        let all = l.json(&["waiver", "list", "--all"]);
        assert_eq!(all.as_array().unwrap().len(), advisories.len() + 1);

        // Revocation, once.
        let id = all
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["environment"] == "staging")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
            .to_string();
        l.ok(&["waiver", "revoke", &id]);
        assert_eq!(l.run(&["waiver", "revoke", &id]).status.code(), Some(1));
        assert!(l.json(&["waiver", "list"]).as_array().unwrap().is_empty());
        let table = l.ok(&["waiver", "list", "--all"]);
        assert!(
            table.contains("revoked") && table.contains("expired"),
            "{table}"
        );

        // Bad input: exit 2, nothing stored.
        for bad in [
            vec!["--digest", PAYMENTS, "--expires", "2001-01-01"],
            vec!["--digest", PAYMENTS, "--expires", "2999-01-01"],
            vec!["--digest", PAYMENTS, "--expires", "tomorrow"],
            vec![
                "--digest",
                PAYMENTS,
                "--package",
                "pkg:golang/x",
                "--expires",
                &ends,
            ],
            vec!["--digest", "sha256:12", "--expires", &ends],
            vec!["--expires", &ends],
        ] {
            let mut args = vec![
                "waiver",
                "add",
                "--advisory",
                "X-1",
                "--owner",
                "o",
                "--reason",
                "r",
            ];
            args.extend(bad.iter().copied());
            let o = l.run(&args);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{bad:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        assert_eq!(
            l.json(&["waiver", "list", "--all"])
                .as_array()
                .unwrap()
                .len(),
            advisories.len() + 1
        );

        // Every add and the revocation are in the audit log, and it verifies.
        let a = l.json(&["audit", "verify"]);
        assert_eq!(a["intact"], true, "{a}");
        assert_eq!(
            a["entries"].as_u64().unwrap(),
            1 + advisories.len() as u64 + 1 + 1,
            "{a}"
        );
    });
}
