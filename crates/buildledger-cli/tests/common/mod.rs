//! The harness shared by the CLI's end-to-end tests: run the real
//! `buildledger` binary against a fresh SQLite file and a fresh PostgreSQL
//! schema (`BUILDLEDGER_TEST_PG`, default the local test server; see
//! `buildledger-testkit`). Without a server the PostgreSQL half is skipped
//! with a message, except under `CI=true`, where that is a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// The workspace root (the binary runs there).
pub fn root() -> PathBuf {
    buildledger_testkit::shared::workspace_root()
}

/// Whether `CI=true`: a missing prerequisite is then a failure, not a skip.
pub fn in_ci() -> bool {
    buildledger_testkit::ci::in_ci()
}

/// The shared data and tools directory (`$BUILDLEDGER_SHARED`, else `../shared`).
pub fn shared_dir() -> PathBuf {
    buildledger_testkit::shared::dir()
}

/// `<shared>/data/<rel>`, or None (skip) when missing; a failure under `CI=true`.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    buildledger_testkit::shared::require_data(rel)
}

pub struct Ledger {
    pub db: String,
    /// Scratch directory for keys, envelopes and policies (and the SQLite file).
    pub dir: tempfile::TempDir,
    pub pg_schema: Option<String>,
    /// Drops the PostgreSQL schema with the ledger.
    _pg: Option<buildledger_testkit::pg::Schema>,
}

pub fn pg_url() -> String {
    buildledger_testkit::pg::url()
}

impl Ledger {
    pub fn sqlite() -> Ledger {
        let dir = tempfile::tempdir().unwrap();
        Ledger {
            db: dir.path().join("l.db").display().to_string(),
            dir,
            pg_schema: None,
            _pg: None,
        }
    }

    pub fn postgres() -> Option<Ledger> {
        let pg = buildledger_testkit::pg::Schema::fresh("bl_cli")?;
        Some(Ledger {
            db: pg.url().to_string(),
            dir: tempfile::tempdir().unwrap(),
            pg_schema: Some(pg.name().to_string()),
            _pg: Some(pg),
        })
    }

    pub fn engine(&self) -> &'static str {
        if self.pg_schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .current_dir(root())
            .env("BUILDLEDGER_DB", &self.db)
            .env_remove("BUILDLEDGER_TRUST_POLICY")
            .args(args)
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "[{}] {args:?} failed ({:?}): {}",
            self.engine(),
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
    }

    /// Run with `--json` whatever the exit code; (code, parsed stdout).
    pub fn json_code(&self, args: &[&str]) -> (i32, Value) {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let o = self.run(&a);
        let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
        (o.status.code().unwrap_or(-1), v)
    }
}

pub fn each(f: impl Fn(&Ledger)) {
    f(&Ledger::sqlite());
    if let Some(l) = Ledger::postgres() {
        f(&l);
    }
}

/// Whether `tool` is on PATH; a missing one skips locally and fails under `CI=true`.
pub fn have(tool: &str) -> bool {
    buildledger_testkit::ci::require(
        buildledger_testkit::tools::on_path(tool),
        &format!("tool {tool}"),
    )
}

/// A Kubernetes object as `kubectl ARGS --dry-run=client -o json` makes it.
pub fn kubectl(args: &[&str]) -> Value {
    let o = Command::new("kubectl")
        .args(args)
        .args(["--dry-run=client", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A pod as the controller of `owner` creates it from `owner`'s template
/// (the documented wire format: the template, `pod-template-hash` and a
/// controller `ownerReference`).
pub fn pod_of(owner: &Value, name: &str, hash: Option<&str>) -> Value {
    let t = &owner["spec"]["template"];
    let mut labels = t["metadata"]["labels"].clone();
    if labels.is_null() {
        labels = json!({});
    }
    let (okind, oname) = match hash {
        Some(h) => {
            labels["pod-template-hash"] = json!(h);
            (
                "ReplicaSet".to_string(),
                format!("{}-{h}", owner["metadata"]["name"].as_str().unwrap()),
            )
        }
        None => (
            owner["kind"].as_str().unwrap().to_string(),
            owner["metadata"]["name"].as_str().unwrap().to_string(),
        ),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": okind, "name": oname, "uid": "0", "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": t["spec"],
        "status": {"phase": "Pending"}
    })
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `buildledger token create ARGS`: the new token's secret.
pub fn token(l: &Ledger, args: &[&str]) -> String {
    let mut a = vec!["token", "create"];
    a.extend_from_slice(args);
    l.ok(&a).trim().to_string()
}

/// A fresh ledger on each engine (PostgreSQL when it answers).
pub fn engines() -> Vec<Ledger> {
    let mut v = vec![Ledger::sqlite()];
    v.extend(Ledger::postgres());
    v
}

/// A private CA (`ca.pem`) and a server certificate it signed for
/// localhost (`cert.pem`, `key.pem`), as an operator's PKI would issue.
pub fn private_ca(dir: &Path) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=buildledger test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
}

/// A running pod of Deployment `name` in `ns` (kubectl's object, with the
/// status a kubelet reports) that runs `digest`.
pub fn running(name: &str, ns: &str, digest: &str) -> Value {
    let image = format!("registry.example/shop/{name}@{digest}");
    let deploy = kubectl(&[
        "create",
        "deployment",
        name,
        &format!("--image={image}"),
        "-n",
        ns,
    ]);
    let mut pod = pod_of(
        &deploy,
        &format!("{name}-7c9d8f6b5-q2w3e"),
        Some("7c9d8f6b5"),
    );
    let container = deploy["spec"]["template"]["spec"]["containers"][0]["name"].clone();
    pod["status"] = json!({
        "phase": "Running",
        "containerStatuses": [{"name": container, "image": image, "imageID": format!("docker-pullable://{image}"), "ready": true, "restartCount": 0}]
    });
    pod
}

/// Namespace `name` labelled with environment `env`.
pub fn namespace(name: &str, env: &str) -> Value {
    let mut ns = kubectl(&["create", "namespace", name]);
    ns["metadata"]["labels"] = json!({"buildledger.dev/environment": env});
    ns
}

/// Report `pods` (running pods) in namespaces `namespaces` (environment
/// labelled) as cluster `cluster`'s snapshot, through `inventory report`
/// with the PodList and NamespaceList written as kubectl prints them.
pub fn report_inventory(l: &Ledger, cluster: &str, pods: Vec<Value>, namespaces: Vec<Value>) {
    std::fs::write(
        l.path("pods.json"),
        json!({"apiVersion": "v1", "kind": "PodList", "items": pods}).to_string(),
    )
    .unwrap();
    std::fs::write(
        l.path("ns.json"),
        json!({"apiVersion": "v1", "kind": "NamespaceList", "items": namespaces}).to_string(),
    )
    .unwrap();
    l.ok(&[
        "inventory",
        "report",
        "--cluster",
        cluster,
        "--pods",
        &l.p("pods.json"),
        "--namespaces",
        &l.p("ns.json"),
    ]);
}
