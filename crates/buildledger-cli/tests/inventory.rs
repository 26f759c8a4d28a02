//! `inventory report` / `inventory list` on both engines, from objects
//! `kubectl … --dry-run=client -o json` makes on this machine, turned into
//! running pods as the controllers and the kubelet do (per the documented
//! wire format: the pod template plus `pod-template-hash` and a controller
//! `ownerReference`; `status.*ContainerStatuses[].imageID`). Checks: an
//! index digest resolves to its linux/amd64 manifest, a tag resolves
//! through the references the ledger recorded, an unknown tag is listed as
//! unresolved, environments come from namespace labels and `--env`, a new
//! snapshot replaces the old one (and keeps first-seen), bad input is exit 2.

use serde_json::{Value, json};

mod common;
use common::{Ledger, each, have, kubectl, pod_of};

const INDEX: &str = "sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a";
const AMD64: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const WORKER: &str = "sha256:4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";

fn report(l: &Ledger, pods: &[Value], extra: &[&str]) -> (i32, Value, String) {
    let p = l.path("pods.json");
    std::fs::write(
        &p,
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "PodList", "items": pods})).unwrap(),
    )
    .unwrap();
    let mut args = vec![
        "--json",
        "inventory",
        "report",
        "--cluster",
        "prod-eu",
        "--pods",
        p.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = l.run(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn snapshots_resolve_digests_environments_and_replace() {
    if !have("kubectl") {
        return;
    }
    each(|l| {
        l.ok(&[
            "record",
            "--file",
            "examples/records/payments-api.json",
            "--file",
            "examples/records/ledger-worker.json",
        ]);
        // A Deployment's pod: the kubelet reports the index digest it pulled;
        // an init container by digest; an ephemeral debug container by a tag
        // nobody recorded.
        let deploy = kubectl(&[
            "create",
            "deployment",
            "api",
            "--image=registry.example/payments/api:1.4.2",
            "-n",
            "payments",
        ]);
        let mut api = pod_of(&deploy, "api-5d9c8f7b4-x2x9z", Some("5d9c8f7b4"));
        api["spec"]["initContainers"] = json!([{"name": "migrate", "image": format!("registry.example/ledger/worker@{WORKER}")}]);
        api["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox:1.36"}]);
        api["status"] = json!({
            "phase": "Running",
            "containerStatuses": [{"name": "api", "image": "registry.example/payments/api:1.4.2", "imageID": format!("registry.example/payments/api@{INDEX}"), "ready": true, "restartCount": 0}],
            "initContainerStatuses": [{"name": "migrate", "image": format!("registry.example/ledger/worker@{WORKER}"), "imageID": format!("docker-pullable://registry.example/ledger/worker@{WORKER}"), "ready": false, "restartCount": 0}]
        });
        // A Job's pod, pending: only the tag, resolved through the references.
        let job = kubectl(&[
            "create",
            "job",
            "nightly",
            "--image=registry.example/payments/api:1.4.2",
            "-n",
            "staging",
        ]);
        let batch = pod_of(&job, "nightly-8k2lq", None);
        let mut ns = kubectl(&["create", "namespace", "payments"]);
        ns["metadata"]["labels"] = json!({"buildledger.dev/environment": "production"});
        let nsf = l.path("ns.json");
        std::fs::write(
            &nsf,
            serde_json::to_vec(
                &json!({"apiVersion": "v1", "kind": "NamespaceList", "items": [ns]}),
            )
            .unwrap(),
        )
        .unwrap();
        let nsp = nsf.to_str().unwrap().to_string();

        let (code, r, err) = report(
            l,
            &[api.clone(), batch],
            &["--namespaces", &nsp, "--env", "staging=non-production"],
        );
        assert_eq!(code, 0, "[{}] {err}", l.engine());
        assert_eq!(
            (
                r["pods"].as_u64(),
                r["containers"].as_u64(),
                r["resolved"].as_u64()
            ),
            (Some(2), Some(4), Some(3)),
            "{r}"
        );
        assert_eq!(r["unresolved"], json!(["busybox:1.36"]), "{r}");
        assert_eq!(r["delta"], json!({"added": 4, "removed": 0}));

        let rows = l.json(&["inventory", "list", "--digest", AMD64]);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 2, "[{}] {rows:?}", l.engine());
        let api_row = rows.iter().find(|r| r["namespace"] == "payments").unwrap();
        assert_eq!(
            (
                api_row["workload_kind"].as_str(),
                api_row["workload_name"].as_str()
            ),
            (Some("Deployment"), Some("api"))
        );
        assert_eq!(api_row["environment"], "production");
        let job_row = rows.iter().find(|r| r["namespace"] == "staging").unwrap();
        assert_eq!(
            (
                job_row["workload_kind"].as_str(),
                job_row["environment"].as_str()
            ),
            (Some("Job"), Some("non-production"))
        );
        let all = l.json(&["inventory", "list", "--cluster", "prod-eu"]);
        let init = all
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["container_kind"] == "init")
            .unwrap();
        assert_eq!(init["digest"], WORKER);
        let table = l.ok(&["inventory", "list"]);
        assert!(
            table.contains("(unresolved)") && table.contains("Deployment/api"),
            "{table}"
        );

        // The Job finished: the next snapshot replaces the cluster's rows.
        let first = api_row["first_seen"].clone();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (code, r, err) = report(l, &[api], &["--namespaces", &nsp]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(r["delta"], json!({"added": 0, "removed": 1}), "{r}");
        let rows = l.json(&["inventory", "list", "--digest", AMD64]);
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(rows[0]["first_seen"], first, "first_seen was not kept");
        assert_ne!(rows[0]["last_seen"], first);

        // Bad input: named, exit 2, nothing replaced.
        let o = l.run(&[
            "inventory",
            "report",
            "--cluster",
            "bad name",
            "--pods",
            &nsp,
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("cluster"));
        let junk = l.path("junk.json");
        std::fs::write(&junk, "{\"items\": [").unwrap();
        let o = l.run(&[
            "inventory",
            "report",
            "--cluster",
            "prod-eu",
            "--pods",
            junk.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("junk.json"));
        for (name, text) in [
            ("scalar.json", "5".to_string()),
            ("object.json", "{}".to_string()),
            (
                "deep.json",
                format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            ),
        ] {
            let f = l.path(name);
            std::fs::write(&f, text).unwrap();
            let o = l.run(&[
                "inventory",
                "report",
                "--cluster",
                "prod-eu",
                "--pods",
                f.to_str().unwrap(),
            ]);
            assert_eq!(o.status.code(), Some(2), "{name}: {o:?}");
            assert!(String::from_utf8_lossy(&o.stderr).contains(name));
        }
        assert_eq!(l.json(&["inventory", "list"]).as_array().unwrap().len(), 3);
        // The snapshots are in the audit log, and it verifies.
        let a = l.json(&["audit", "verify"]);
        assert_eq!(a["intact"], true, "{a}");
    });
}
