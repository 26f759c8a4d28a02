//! The ledger posture-bench and admission-bench both measure: N synthetic
//! builds (`synth.rs`), the real Go advisory database matched against them,
//! and an inventory of W running containers over random images in 20
//! namespaces (even ones production, odd ones staging). Included by both
//! binaries with `#[path]`, after `synth.rs`.

use std::path::Path;
use std::time::Instant;

use buildledger_model::{BuildRecord, Digest};
use buildledger_service::Settings;
use buildledger_store::Store;

use crate::synth::{Pool, Rng, build, digest_of, pool};

/// Namespace `ns{k}`'s environment: even production, odd staging.
pub(crate) fn environment(k: usize) -> &'static str {
    if k.is_multiple_of(2) {
        "production"
    } else {
        "staging"
    }
}

/// Fill `store` and report each step; the builds' pool, the generator as
/// it stands after, and each running container's (digest, namespace).
pub(crate) fn running_ledger(
    store: &mut Store,
    n: u64,
    w: usize,
    feed: &Path,
    settings: &Settings,
    cluster: &str,
) -> (Pool, Rng, Vec<(Digest, String)>) {
    let pool = pool();
    let mut rng = Rng(42);
    let t0 = Instant::now();
    let mut done = 0;
    while done < n {
        let k = 500.min(n - done);
        let recs: Vec<BuildRecord> = (done..done + k)
            .map(|i| build(&pool, i, &mut rng))
            .collect();
        store.record_many(&recs).expect("record batch");
        done += k;
    }
    println!(
        "  ledger:               {n} builds in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    let imported = buildledger_service::feeds::import(
        store,
        &[feed.to_path_buf()],
        &buildledger_service::feeds::ImportOptions {
            format: "auto".into(),
            strict: false,
        },
        settings,
        &mut |_, _| {},
    )
    .expect("import the Go advisory database");
    let report = imported.report.unwrap_or_default();
    println!(
        "  advisories:           {} from {} in {:.1} s; {} findings",
        report.advisories,
        feed.display(),
        t0.elapsed().as_secs_f64(),
        report.findings_added
    );

    // W pods, one container each, over random images.
    let mut env_map = std::collections::BTreeMap::new();
    for k in 0..20 {
        env_map.insert(format!("ns{k:02}"), environment(k).to_string());
    }
    let mut pods = Vec::with_capacity(w);
    let mut running = Vec::with_capacity(w);
    for i in 0..w {
        let d = digest_of(rng.below(n as usize) as u64, 0x1a6e);
        let ns = format!("ns{:02}", i % 20);
        let image = format!("registry.example/svc{i}@{d}");
        pods.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("svc{i}-0"), "namespace": ns,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": format!("svc{i}"), "uid": "0", "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "image": image, "imageID": image, "ready": true, "restartCount": 0}]}
        }));
        running.push((d, ns));
    }
    let doc = serde_json::to_vec(
        &serde_json::json!({"apiVersion": "v1", "kind": "PodList", "items": pods}),
    )
    .expect("json");
    let t0 = Instant::now();
    buildledger_service::inventory::report(
        store,
        cluster,
        &[(doc, "pods.json".into())],
        &buildledger_service::inventory::Environments {
            env_label: None,
            env_map,
        },
    )
    .expect("inventory");
    println!(
        "  inventory:            {w} containers reported in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    (pool, rng, running)
}
