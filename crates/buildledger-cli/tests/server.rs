//! `buildledger serve` end to end, over real HTTP on loopback, against both
//! engines: tokens made by `buildledger token create`, every auth negative
//! (no token, malformed, unknown, revoked, wrong scope, builder A for
//! builder B), bounded and malformed bodies, problem documents, pages and
//! cursors, attestations against the server's policy, the OpenAPI document
//! (every route documented; every documented response validated against
//! its schema by python `jsonschema`), TLS with a certificate that is
//! replaced while the server runs, plain HTTP refused off loopback, no
//! token in any log line, and a `kill -9` mid-batch that loses no
//! acknowledged record.
//!
//! The client is `curl` (a real, independent HTTP/TLS implementation).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{Ledger, engines, free_port, have, private_ca, root, token};

const PAYMENTS: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const WORKER: &str = "sha256:4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";
const GHA: &str = "https://ci.example/builders/github-actions";
const OTHER: &str = "https://ci.example/builders/other";

/// A running server; killed (SIGKILL) on drop.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    ca: Option<PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(l: &Ledger, extra: &[&str], env: &[(&str, &str)], tls: Option<&Path>) -> Server {
        Server::start_on(l, free_port(), extra, env, tls)
    }

    fn start_on(
        l: &Ledger,
        port: u16,
        extra: &[&str],
        env: &[(&str, &str)],
        tls: Option<&Path>,
    ) -> Server {
        let log = l.path(&format!("server-{port}.log"));
        let mut args = vec![
            "serve".to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
        ];
        let (scheme, ca) = match tls {
            None => {
                args.push("--plaintext".into());
                ("http", None)
            }
            Some(dir) => {
                args.extend([
                    "--tls-cert".into(),
                    dir.join("cert.pem").display().to_string(),
                    "--tls-key".into(),
                    dir.join("key.pem").display().to_string(),
                ]);
                // A private CA when there is one, else the self-signed certificate.
                let ca = Some(dir.join("ca.pem")).filter(|p| p.exists());
                ("https", ca.or(Some(dir.join("cert.pem"))))
            }
        };
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildledger"));
        cmd.current_dir(root())
            .env("BUILDLEDGER_DB", &l.db)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let s = Server {
            child,
            base: format!("{scheme}://localhost:{port}"),
            log,
            ca,
        };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if s.call("GET", "/healthz", None, None).0 == 200 {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "server did not come up: {}",
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
    }

    /// (status, body) of one request through curl.
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Path>,
    ) -> (u16, String) {
        self.call_typed(method, path, token, body, "application/json")
    }

    /// [`Server::call`] with a body of another `Content-Type`.
    fn call_typed(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Path>,
        content_type: &str,
    ) -> (u16, String) {
        let mut c = Command::new("curl");
        c.args(["-s", "-S", "-o", "-", "-w", "\n%{http_code}", "-X", method]);
        if let Some(ca) = &self.ca {
            c.arg("--cacert").arg(ca);
        }
        if let Some(t) = token {
            c.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        if let Some(b) = body {
            c.args([
                "-H",
                &format!("Content-Type: {content_type}"),
                "--data-binary",
            ])
            .arg(format!("@{}", b.display()));
        }
        c.arg(format!("{}{path}", self.base));
        let o = c.output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Path>,
    ) -> (u16, Value) {
        let (code, text) = self.call(method, path, token, body);
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: {code} not JSON ({e}): {text}"));
        (code, v)
    }
}

fn write(l: &Ledger, name: &str, text: &str) -> PathBuf {
    let p = l.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn problem(code: u16, v: &Value, want: u16, kind: &str) {
    assert_eq!(code, want, "{v}");
    assert_eq!(v["status"], want, "{v}");
    assert_eq!(
        v["type"],
        format!("https://buildledger.dev/problems/{kind}"),
        "{v}"
    );
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
}

#[test]
fn tokens_scopes_bodies_and_pages() {
    if !have("curl") {
        return;
    }
    for l in engines() {
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        let read = token(&l, &["--scope", "read", "--name", "dashboards"]);
        let gha = token(
            &l,
            &[
                "--scope",
                "builder:write",
                "--builder-id",
                GHA,
                "--name",
                "gha",
            ],
        );
        let other = token(&l, &["--scope", "builder:write", "--builder-id", OTHER]);
        let revoked = token(&l, &["--scope", "read", "--name", "old"]);
        let list = l.json(&["token", "list"]);
        let old_id = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "old")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        l.ok(&["token", "revoke", &old_id.to_string()]);
        assert!(
            !l.ok(&["token", "list"]).contains("blt_"),
            "a secret was listed"
        );
        // Bad token requests are refused by the CLI (exit 2) and store nothing.
        let o = l.run(&["token", "create", "--scope", "builder:write"]);
        assert_eq!(o.status.code(), Some(2));
        let o = l.run(&["token", "create", "--scope", "root"]);
        assert_eq!(o.status.code(), Some(2));

        let s = Server::start(&l, &[], &[("BUILDLEDGER_MAX_BODY_BYTES", "64K")], None);
        let worker = root().join("examples/records/ledger-worker.json");

        // Authentication: 401 with a problem document, for each way a token is bad.
        let (c, v) = s.json("GET", "/api/v1/table", None, None);
        problem(c, &v, 401, "unauthenticated");
        for bad in [
            "nonsense",
            "blt_0000",
            &format!("blt_{}", "0".repeat(64)),
            &revoked,
        ] {
            let (c, v) = s.json("GET", "/api/v1/table", Some(bad), None);
            problem(c, &v, 401, "unauthenticated");
        }
        // Authorisation: a read token cannot write; a builder token writes
        // only for its builder (the example worker names GHA).
        let (c, v) = s.json("POST", "/api/v1/records", Some(&read), Some(&worker));
        problem(c, &v, 403, "forbidden");
        let (c, v) = s.json("POST", "/api/v1/records", Some(&other), Some(&worker));
        problem(c, &v, 403, "forbidden");
        assert_eq!(v["field"], "builder.id", "{v}");
        let (c, v) = s.json("GET", "/api/v1/table", Some(&gha), None);
        problem(c, &v, 403, "forbidden");
        // Bodies: malformed, forged trust, oversized.
        let bad = write(&l, "bad.json", "{\"subjects\": [");
        let (c, v) = s.json("POST", "/api/v1/records", Some(&gha), Some(&bad));
        problem(c, &v, 400, "bad_input");
        assert!(
            v["field"].as_str().unwrap().starts_with("request body"),
            "{v}"
        );
        let forged = write(
            &l,
            "forged.json",
            &format!(
                r#"{{"subjects":[{{"digest":"{WORKER}"}}],"builder":{{"id":"{GHA}"}},"trust":{{"state":"verified"}}}}"#
            ),
        );
        let (c, v) = s.json("POST", "/api/v1/records", Some(&gha), Some(&forged));
        problem(c, &v, 400, "bad_input");
        assert!(v["field"].as_str().unwrap().ends_with("trust"), "{v}");
        let big = write(&l, "big.json", &format!("[{}]", "1,".repeat(40_000) + "1"));
        let (c, v) = s.json("POST", "/api/v1/records", Some(&gha), Some(&big));
        problem(c, &v, 413, "payload_too_large");
        // Without a token the body is never read: 401, not 413.
        let (c, v) = s.json("POST", "/api/v1/records", None, Some(&big));
        problem(c, &v, 401, "unauthenticated");
        // Nothing of the above was stored.
        let (c, v) = s.json("GET", "/api/v1/table", Some(&read), None);
        assert_eq!(c, 200);
        assert_eq!(
            v["items"].as_array().unwrap().len(),
            3,
            "[{}] {v}",
            l.engine()
        );

        // The builder's own record is accepted.
        let (c, v) = s.json("POST", "/api/v1/records", Some(&gha), Some(&worker));
        assert_eq!(c, 201, "{v}");
        assert_eq!(v[0]["subjects"][0], WORKER);
        assert_eq!(
            (v[0]["origin"].as_str(), v[0]["trust"].as_str()),
            (Some("ci"), Some("unverified"))
        );

        // Reads, pages and cursors.
        let (c, v) = s.json(
            "GET",
            &format!("/api/v1/images/{PAYMENTS}"),
            Some(&read),
            None,
        );
        assert_eq!(c, 200);
        assert_eq!(v["digest"], PAYMENTS);
        let (c, v) = s.json("GET", "/api/v1/images/sha256:1234", Some(&read), None);
        problem(c, &v, 400, "bad_input");
        let (c, v) = s.json(
            "GET",
            &format!("/api/v1/images/sha256:{}", "9".repeat(64)),
            Some(&read),
            None,
        );
        problem(c, &v, 404, "not_found");
        let mut seen = Vec::new();
        let mut path = "/api/v1/table?limit=3".to_string();
        loop {
            let (c, v) = s.json("GET", &path, Some(&read), None);
            assert_eq!(c, 200, "{v}");
            for i in v["items"].as_array().unwrap() {
                seen.push(i["digest"].as_str().unwrap().to_string());
            }
            match v["next_cursor"].as_str() {
                Some(cur) => path = format!("/api/v1/table?limit=3&cursor={cur}"),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!(sorted.len(), 4, "a page repeated a row: {seen:?}");
        let (c, v) = s.json("GET", "/api/v1/table?cursor=zzz", Some(&read), None);
        problem(c, &v, 400, "bad_input");
        let (c, v) = s.json(
            "GET",
            "/api/v1/query?toolchain=go@%3C1.14&limit=2",
            Some(&read),
            None,
        );
        assert_eq!(c, 200, "{v}");
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert!(v["next_cursor"].is_string());
        // A page with more after it says about how many are left.
        assert!(v["estimated_rest"].as_u64().is_some_and(|e| e >= 2), "{v}");
        let (c, v) = s.json(
            "GET",
            "/api/v1/query?toolchain=go@banana",
            Some(&read),
            None,
        );
        problem(c, &v, 400, "bad_input");
        assert_eq!(v["field"], "toolchain");
        assert!(
            v["detail"].as_str().unwrap().starts_with("toolchain: "),
            "the API names parameters, not flags: {v}"
        );
        let (c, v) = s.json("GET", "/api/v1/query?trusted_only=maybe", Some(&read), None);
        problem(c, &v, 400, "bad_input");
        let (c, v) = s.json("GET", "/api/v1/changes", Some(&read), None);
        problem(c, &v, 400, "bad_input");
        let (c, _) = s.json("GET", "/api/v1/changes?since=1h", Some(&read), None);
        assert_eq!(c, 200);
        let (c, v) = s.json("GET", "/api/v1/nothing-here", Some(&read), None);
        problem(c, &v, 404, "not_found");

        // Metrics count what happened; no log line carries a token.
        let (c, m) = s.call("GET", "/metrics", None, None);
        assert_eq!(c, 200);
        assert!(m.contains("buildledger_http_requests_total"), "{m}");
        assert!(m.contains("route=\"/api/v1/records\""), "{m}");
        assert!(
            m.contains("buildledger_submissions_total{kind=\"record\"} 1"),
            "{m}"
        );
        let log = std::fs::read_to_string(&s.log).unwrap();
        for t in [&read, &gha, &other, &revoked] {
            assert!(!log.contains(t.as_str()), "a token reached the log");
        }
        assert!(log.contains("route=/api/v1/records"), "{log}");
    }
}

#[test]
fn attestations_sboms_and_the_openapi_document() {
    if !have("curl") {
        return;
    }
    for l in engines() {
        l.ok(&["keygen", "--out", &l.p("gha")]);
        l.ok(&["keygen", "--out", &l.p("rogue")]);
        let policy = write(
            &l,
            "trusted.json",
            &format!(r#"{{"builders": {{"{GHA}": [{{"path": "gha.pub"}}]}}}}"#),
        );
        let gha = token(&l, &["--scope", "builder:write", "--builder-id", GHA]);
        let other = token(&l, &["--scope", "builder:write", "--builder-id", OTHER]);
        let read = token(&l, &["--scope", "read"]);
        let admin = token(&l, &["--scope", "admin"]);
        let attest = |key: &str, out: &str| {
            l.ok(&[
                "attest",
                "--key",
                &l.p(key),
                "--out",
                &l.p(out),
                "--digest",
                WORKER,
                "--builder-id",
                GHA,
                "--repo",
                "https://github.com/example/worker",
                "--commit",
                "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
                "--component",
                "pkg:golang/golang.org/x/net@v0.17.0",
            ]);
            l.path(out)
        };
        let good = attest("gha.key", "good.json");
        let rogue = attest("rogue.key", "rogue.json");
        let s = Server::start(&l, &["--policy", policy.to_str().unwrap()], &[], None);
        let (c, v) = s.json("POST", "/api/v1/attestations", Some(&other), Some(&good));
        problem(c, &v, 403, "forbidden");
        let (c, v) = s.json("POST", "/api/v1/attestations", Some(&gha), Some(&rogue));
        problem(c, &v, 400, "bad_input");
        assert!(v["detail"].as_str().unwrap().contains("rejected"), "{v}");
        let (c, v) = s.json(
            "POST",
            &format!("/api/v1/attestations?digest={PAYMENTS}"),
            Some(&gha),
            Some(&good),
        );
        problem(c, &v, 400, "bad_input");
        let (c, v) = s.json("POST", "/api/v1/attestations", Some(&gha), Some(&good));
        assert_eq!(c, 201, "{v}");
        assert_eq!(
            (v["origin"].as_str(), v["trust"].as_str()),
            (Some("attestation"), Some("verified"))
        );
        // Each rejection is in the audit log, and the log verifies.
        let audit = l.json(&["audit", "verify"]);
        assert_eq!(audit["intact"], true, "{audit}");
        assert_eq!(audit["records"], 1, "{audit}");
        assert_eq!(audit["entries"].as_u64().unwrap(), 1 + 4 + 3, "{audit}");

        // An SBOM, as the scanner writes it.
        let alpine = common::shared_data("alpine-rootfs-3.14");
        if let Some(alpine) = &alpine {
            let o = l.run(&[
                "scan",
                &format!("dir:{}", alpine.display()),
                "--format",
                "cyclonedx",
            ]);
            let sbom = l.path("alpine.cdx.json");
            std::fs::write(&sbom, o.stdout).unwrap();
            let digest = format!("sha256:{}", "ab".repeat(32));
            let (c, v) = s.json(
                "POST",
                &format!("/api/v1/sboms?digest={digest}"),
                Some(&gha),
                Some(&sbom),
            );
            assert_eq!(c, 201, "{v}");
            assert_eq!(v["components"], 26);
            let (c, v) = s.json("POST", "/api/v1/sboms", Some(&gha), Some(&sbom));
            problem(c, &v, 400, "bad_input");
            assert_eq!(v["field"], "digest");
        }
        l.ok(&["feed", "import", "examples/advisories"]);

        // The OpenAPI document lists every route, and each GET answers with
        // what it documents.
        let (c, doc) = s.json("GET", "/api/v1/openapi.json", None, None);
        assert_eq!(c, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for r in [
            "/api/v1/records",
            "/api/v1/attestations",
            "/api/v1/sboms",
            "/api/v1/images/{digest}",
            "/api/v1/images/{digest}/vulns",
            "/api/v1/advisories/{id}/affected",
            "/api/v1/query",
            "/api/v1/table",
            "/api/v1/changes",
            "/api/v1/mismatches",
            "/api/v1/openapi.json",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(paths.contains_key(r), "{r} is not documented");
        }
        let samples = [
            (
                format!("/api/v1/images/{WORKER}"),
                "/api/v1/images/{digest}",
                200,
            ),
            (
                format!("/api/v1/images/{PAYMENTS}/vulns"),
                "/api/v1/images/{digest}/vulns",
                404,
            ),
            (
                format!("/api/v1/images/{WORKER}/vulns"),
                "/api/v1/images/{digest}/vulns",
                200,
            ),
            (
                "/api/v1/advisories/CVE-2023-39325/affected".into(),
                "/api/v1/advisories/{id}/affected",
                200,
            ),
            (
                "/api/v1/advisories/CVE-0000-1/affected".into(),
                "/api/v1/advisories/{id}/affected",
                404,
            ),
            (
                "/api/v1/query?repo=https://github.com/example/worker".into(),
                "/api/v1/query",
                200,
            ),
            ("/api/v1/table?limit=1".into(), "/api/v1/table", 200),
            ("/api/v1/changes?since=1d".into(), "/api/v1/changes", 200),
            ("/api/v1/mismatches".into(), "/api/v1/mismatches", 200),
            (
                "/api/v1/query?package=nonsense".into(),
                "/api/v1/query",
                400,
            ),
        ];
        let mut cases = Vec::new();
        for (url, template, want) in samples {
            let (c, body) = s.call("GET", &url, Some(&read), None);
            assert_eq!(c, want, "{url}: {body}");
            let media = if c < 300 {
                "application/json"
            } else {
                "application/problem+json"
            };
            let schema = &doc["paths"][template]["get"]["responses"][c.to_string()]["content"]
                [media]["schema"];
            assert!(schema.is_object(), "{url}: status {c} is not documented");
            cases.push(serde_json::json!({"url": url, "schema": schema, "body": serde_json::from_str::<Value>(&body).unwrap()}));
        }
        let (c, _) = s.call("GET", "/api/v1/table", Some(&admin), None);
        assert_eq!(c, 200, "admin has every scope");
        validate(&doc, &cases, &l);
    }
}

/// Every sample body validates against its documented schema (python jsonschema).
fn validate(doc: &Value, cases: &[Value], l: &Ledger) {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !buildledger_testkit::ci::require(ok.is_ok_and(|o| o.status.success()), "python3 jsonschema")
    {
        return;
    }
    let f = l.path("cases.json");
    std::fs::write(
        &f,
        serde_json::to_vec(&serde_json::json!({"doc": doc, "cases": cases})).unwrap(),
    )
    .unwrap();
    let script = r#"
import json, sys, jsonschema
d = json.load(open(sys.argv[1]))
doc, bad = d["doc"], 0
for c in d["cases"]:
    root = dict(doc)
    root.update(c["schema"])
    v = jsonschema.Draft202012Validator(root)
    for e in v.iter_errors(c["body"]):
        bad += 1
        print(c["url"], list(e.absolute_path), e.message)
sys.exit(1 if bad else 0)
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "responses violate the OpenAPI document:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn self_signed(dir: &Path, cn: &str) {
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem.new"))
        .arg("-out")
        .arg(dir.join("cert.pem.new"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Replace both files as a deployment would (rename is atomic).
    std::fs::rename(dir.join("key.pem.new"), dir.join("key.pem")).unwrap();
    std::fs::rename(dir.join("cert.pem.new"), dir.join("cert.pem")).unwrap();
}

fn issuer(s: &Server) -> String {
    let o = Command::new("curl")
        .args(["-s", "-v", "-o", "/dev/null", "--cacert"])
        .arg(s.ca.as_ref().unwrap())
        .arg(format!("{}/healthz", s.base))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .find(|l| l.contains("issuer:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn tls_reloads_and_plaintext_stays_on_loopback() {
    if !have("curl") || !have("openssl") {
        return;
    }
    let l = Ledger::sqlite();
    // Plain HTTP on a routable address is refused before anything listens.
    let o = l.run(&["serve", "--listen", "0.0.0.0:1", "--plaintext"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("loopback"),
        "{o:?}"
    );
    // No TLS and no --plaintext: refused.
    let o = l.run(&["serve", "--listen", "127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("TLS is required"),
        "{o:?}"
    );
    // A config file with an unknown field is bad input naming it.
    let cfg = write(
        &l,
        "server.toml",
        "listen = \"127.0.0.1:1\"\nplaintxt = true\n",
    );
    let o = l.run(&["serve", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("plaintxt"),
        "{o:?}"
    );

    let tls = l.path("tls");
    std::fs::create_dir_all(&tls).unwrap();
    self_signed(&tls, "first");
    let s = Server::start(&l, &[], &[], Some(&tls));
    assert!(issuer(&s).contains("first"), "{}", issuer(&s));
    // Plain HTTP to the TLS port gets no API.
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(s.base.replace("https", "http") + "/healthz")
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&o.stdout), "200");
    // The certificate is replaced on disk: the server picks it up.
    self_signed(&tls, "second");
    let t0 = Instant::now();
    while !issuer(&s).contains("second") {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "certificate not reloaded"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(s.call("GET", "/healthz", None, None).0, 200);
}

#[test]
fn kill_9_mid_batch_loses_no_acknowledged_record() {
    if !have("curl") {
        return;
    }
    for l in engines() {
        let gha = token(&l, &["--scope", "builder:write", "--builder-id", GHA]);
        let read = token(&l, &["--scope", "read"]);
        let s = Server::start(&l, &[], &[], None);
        let files: Vec<(String, PathBuf)> = (0..40u32)
            .map(|i| {
                let d = format!("sha256:{:064x}", 0xbeef_0000u64 + u64::from(i));
                let f = write(
                    &l,
                    &format!("r{i}.json"),
                    &format!(r#"{{"subjects":[{{"digest":"{d}"}}],"builder":{{"id":"{GHA}"}},"components":[{{"purl":"pkg:golang/example.com/m{i}@v1.0.{i}"}}]}}"#),
                );
                (d, f)
            })
            .collect();
        // Submit from four threads at once (so submissions share group
        // commits); kill the server while they run.
        let mut parts: Vec<Vec<(String, PathBuf)>> = vec![Vec::new(); 4];
        for (i, f) in files.into_iter().enumerate() {
            parts[i % 4].push(f);
        }
        let submitters: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let base = s.base.clone();
                let token2 = gha.clone();
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    for (d, f) in part {
                        let o = Command::new("curl")
                            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
                            .args(["-H", &format!("Authorization: Bearer {token2}")])
                            .arg("--data-binary")
                            .arg(format!("@{}", f.display()))
                            .arg(format!("{base}/api/v1/records"))
                            .output()
                            .unwrap();
                        if String::from_utf8_lossy(&o.stdout) == "201" {
                            acked.push(d);
                        }
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut s = s;
        s.child.kill().unwrap();
        let _ = s.child.wait();
        let acked: Vec<String> = submitters
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        drop(s);
        // After a restart every acknowledged record is there, whole.
        let s = Server::start(&l, &[], &[], None);
        for d in &acked {
            let (c, v) = s.json("GET", &format!("/api/v1/images/{d}"), Some(&read), None);
            assert_eq!(c, 200, "[{}] acknowledged {d} lost: {v}", l.engine());
            assert_eq!(v["records"][0]["components"].as_array().unwrap().len(), 1);
        }
        let audit = l.json(&["audit", "verify"]);
        assert_eq!(audit["intact"], true, "[{}] {audit}", l.engine());
        eprintln!(
            "[{}] {} of 40 acknowledged before kill -9; all present",
            l.engine(),
            acked.len()
        );
    }
}

/// The CLI with `--server` gives the same output and exit codes as on a
/// database: the same flow against a local ledger and through a server
/// (TLS, a private CA given with `--ca-cert`) on another ledger.
#[test]
fn the_cli_through_a_server_matches_the_cli_on_a_database() {
    if !have("curl") || !have("openssl") {
        return;
    }
    let times =
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
            .unwrap();
    for remote_ledger in engines() {
        let local = Ledger::sqlite();
        let tls = remote_ledger.path("tls");
        std::fs::create_dir_all(&tls).unwrap();
        private_ca(&tls);
        for l in [&local, &remote_ledger] {
            l.ok(&["keygen", "--out", &l.p("gha")]);
        }
        // Both sides use the same builder key (copied), so envelopes match.
        for ext in ["key", "pub"] {
            std::fs::copy(
                local.path(&format!("gha.{ext}")),
                remote_ledger.path(&format!("gha.{ext}")),
            )
            .unwrap();
        }
        let policy = write(
            &remote_ledger,
            "trusted.json",
            &format!(r#"{{"builders": {{"{GHA}": [{{"path": "gha.pub"}}]}}}}"#),
        );
        std::fs::copy(&policy, local.path("trusted.json")).unwrap();
        let admin = token(&remote_ledger, &["--scope", "admin", "--name", "ci"]);
        let s = Server::start(
            &remote_ledger,
            &["--policy", policy.to_str().unwrap()],
            &[],
            Some(&tls),
        );
        let ca = tls.join("ca.pem").display().to_string();
        let envelope = local.p("checkout.json");
        local.ok(&[
            "attest",
            "--key",
            &local.p("gha.key"),
            "--out",
            &envelope,
            "--digest",
            WORKER,
            "--builder-id",
            GHA,
            "--repo",
            "https://github.com/example/worker",
            "--commit",
            "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
        ]);
        let scan_src = match common::shared_data("alpine-rootfs-3.14") {
            Some(p) => format!("dir:{}", p.display()),
            None => return,
        };
        let flows: Vec<Vec<String>> = [
            vec![
                "record",
                "--file",
                "examples/records/payments-api.json",
                "--file",
                "examples/records/ledger-worker.json",
            ],
            vec![
                "record",
                "--digest",
                "sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e",
                "--repo",
                "https://github.com/example/checkout",
                "--commit",
                "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
                "--builder-id",
                GHA,
                "--toolchain",
                "go@1.21.5",
                "--component",
                "pkg:golang/golang.org/x/net@v0.17.0",
                "--api",
                "examples/openapi/checkout.yaml",
            ],
            vec![
                "record",
                "--digest",
                "sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a",
                "--repo",
                "https://github.com/example/payments",
                "--commit",
                "0000000d2b1e4f5a6b7c8d9e0f1a2b3c4d5e6f70",
                "--toolchain",
                "go@1.13.4",
            ],
            vec!["record", "--attestation", "ENVELOPE"],
            vec!["query", "--toolchain", "go@1.13.4"],
            vec!["query", "--toolchain", "go@<1.20", "--limit", "2"],
            vec![
                "query",
                "--toolchain",
                "go@<1.20",
                "--limit",
                "1",
                "--cursor",
                "2.0",
            ],
            vec!["query", "--toolchain", "go", "--cursor", "2"],
            vec!["query", "--package", "pkg:golang/golang.org/x/net@<0.7.0"],
            vec!["query", "--api-stability", "beta"],
            vec![
                "query",
                "--repo",
                "https://github.com/example/worker",
                "--trusted-only",
            ],
            vec![
                "query",
                "--repo",
                "https://github.com/example/none",
                "--fail-on-match",
            ],
            vec!["--json", "query", "--toolchain", "go@1.13.4"],
            vec!["query", "--toolchain", "go@banana"],
            vec!["show", PAYMENTS],
            vec![
                "show",
                "sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a",
            ],
            vec![
                "show",
                "sha256:9999999999999999999999999999999999999999999999999999999999999999",
            ],
            vec!["show", "sha256:12"],
            vec!["table"],
            vec!["table", "--format", "csv", "--limit", "3"],
            vec!["--json", "table"],
            vec!["FEED"],
            vec!["vulns", PAYMENTS],
            vec!["vulns", PAYMENTS, "--fail-on-findings"],
            vec!["--json", "vulns", PAYMENTS],
            vec!["affected", "CVE-2023-39325"],
            vec!["affected", "GHSA-4374-p667-p6c8"],
            vec!["affected", "CVE-0000-0000"],
            vec!["mismatches"],
            vec!["changes", "--since", "5w"],
            // Keyset pages of affected and changes: the same page, the same
            // next position, whether the CLI reads the ledger or the server.
            vec!["affected", "CVE-2023-39325", "--limit", "1"],
            vec![
                "--json",
                "affected",
                "GO-2023-2102",
                "--limit",
                "1",
                "--cursor",
                "3.0",
            ],
            vec![
                "affected",
                "CVE-2023-39325",
                "--limit",
                "1",
                "--cursor",
                "x",
            ],
            vec!["--json", "changes", "--since", "5w", "--limit", "2"],
            vec!["changes", "--since", "5w", "--limit", "0"],
            vec![
                "changes", "--since", "5w", "--limit", "1", "--cursor", "1.1",
            ],
            vec!["conflicts"],
            vec!["--json", "conflicts"],
            vec!["lineage", PAYMENTS],
            vec!["info"],
            vec!["audit", "verify"],
            vec![
                "scan",
                "SCAN",
                "--record",
                "--digest",
                "sha256:5555555555555555555555555555555555555555555555555555555555555555",
            ],
            vec!["query", "--package", "pkg:apk/alpine/musl"],
        ]
        .iter()
        .map(|v| v.iter().map(|s| s.to_string()).collect())
        .collect();

        let norm = |s: &str| {
            let s = times.replace_all(s, "[TIME]");
            s.lines()
                .map(|l| match l.split_once(" from ") {
                    Some((a, _)) if l.starts_with("recorded ") => a.to_string(),
                    _ => l.to_string(),
                })
                .filter(|l| !l.contains("\"source\""))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for f in &flows {
            if f[0] == "FEED" {
                local.ok(&["feed", "import", "examples/advisories"]);
                remote_ledger.ok(&["feed", "import", "examples/advisories"]);
                continue;
            }
            let args: Vec<String> = f
                .iter()
                .map(|a| {
                    if a == "ENVELOPE" {
                        envelope.clone()
                    } else if a == "SCAN" {
                        scan_src.clone()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            let mut local_args: Vec<&str> = args.iter().map(String::as_str).collect();
            let local_policy = local.p("trusted.json");
            if f.get(1).is_some_and(|a| a == "--attestation") {
                local_args.extend(["--policy", &local_policy]);
            }
            let lo = Command::new(env!("CARGO_BIN_EXE_buildledger"))
                .current_dir(root())
                .env("BUILDLEDGER_DB", &local.db)
                .env("BUILDLEDGER_TRUST_POLICY", local.path("trusted.json"))
                .env_remove("BUILDLEDGER_SERVER")
                .args(&local_args)
                .output()
                .unwrap();
            let ro = Command::new(env!("CARGO_BIN_EXE_buildledger"))
                .current_dir(root())
                .env_remove("BUILDLEDGER_DB")
                .env("BUILDLEDGER_SERVER", &s.base)
                .env("BUILDLEDGER_CA_CERT", &ca)
                .env("BUILDLEDGER_TOKEN", &admin)
                .args(&args)
                .output()
                .unwrap();
            let what = format!("[{}] {}", remote_ledger.engine(), args.join(" "));
            assert_eq!(
                lo.status.code(),
                ro.status.code(),
                "{what}: exit codes differ\nlocal: {}\nremote: {}",
                String::from_utf8_lossy(&lo.stderr),
                String::from_utf8_lossy(&ro.stderr)
            );
            // These name the database or count the audit entries the server
            // made for its tokens, or say who scanned: same exit code, other text.
            if ["info", "audit", "scan"].contains(&f[0].as_str()) {
                continue;
            }
            assert_eq!(
                norm(&String::from_utf8_lossy(&lo.stdout)),
                norm(&String::from_utf8_lossy(&ro.stdout)),
                "{what}: output differs"
            );
        }
        // Database commands are refused through a server (exit 2), and no
        // message carries the token.
        let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .env("BUILDLEDGER_SERVER", &s.base)
            .env("BUILDLEDGER_TOKEN", &admin)
            .args(["feed", "import", "examples/advisories"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("--server"));
        let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .env("BUILDLEDGER_SERVER", &s.base)
            .env("BUILDLEDGER_TOKEN", format!("blt_{}", "1".repeat(64)))
            .env("BUILDLEDGER_CA_CERT", &ca)
            .args(["show", PAYMENTS])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains(&"1".repeat(64)));
        // Without the private CA the server is not trusted.
        let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .env("BUILDLEDGER_SERVER", &s.base)
            .env("BUILDLEDGER_TOKEN", &admin)
            .env_remove("BUILDLEDGER_CA_CERT")
            .args(["show", PAYMENTS])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{o:?}");
    }
}

/// A small OCI image with a real Alpine package database, in a layout.
fn alpine_image(l: &Ledger, tag: &str, alpine: &Path, extra_file: &str) -> PathBuf {
    use buildledger_testkit::oci::umoci;
    let layout = l.path("layout");
    if !layout.exists() {
        umoci(&["init", "--layout", layout.to_str().unwrap()]);
    }
    let image = format!("{}:{tag}", layout.display());
    umoci(&["new", "--image", &image]);
    for (src, dst) in [
        (alpine.join("etc/os-release"), "/etc/os-release"),
        (alpine.join("lib/apk/db/installed"), "/lib/apk/db/installed"),
    ] {
        umoci(&["insert", "--image", &image, src.to_str().unwrap(), dst]);
    }
    let marker = l.path(&format!("marker-{tag}"));
    std::fs::write(&marker, extra_file).unwrap();
    umoci(&[
        "insert",
        "--image",
        &image,
        marker.to_str().unwrap(),
        "/etc/marker",
    ]);
    layout
}

fn push(layout: &Path, tag: &str, port: u16, repo: &str) {
    buildledger_testkit::oci::skopeo_copy(
        &["--dest-tls-verify=false"],
        &format!("oci:{}:{tag}", layout.display()),
        &format!("docker://127.0.0.1:{port}/{repo}:{tag}"),
    );
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A real `docker-registry` on loopback notifies the server of each push;
/// the pushed image is pulled, scanned and recorded as observed. On
/// PostgreSQL two server replicas drain the one queue: every job runs once.
#[test]
fn index_on_push_from_a_real_registry() {
    if !have("curl") || !have("umoci") || !have("skopeo") {
        return;
    }
    let Some(alpine) = common::shared_data("alpine-rootfs-3.14") else {
        return;
    };
    for l in engines() {
        let notify = token(&l, &["--scope", "registry:notify", "--name", "registry"]);
        let read = token(&l, &["--scope", "read"]);
        let port = free_port();
        let yaml = format!(
            "notifications:\n  endpoints:\n    - name: buildledger\n      url: http://127.0.0.1:{port}/api/v1/registry-events\n      headers:\n        Authorization: [Bearer {notify}]\n      timeout: 2s\n      threshold: 3\n      backoff: 1s\n"
        );
        let Some(reg) =
            buildledger_testkit::oci::start_registry_with(l.dir.path(), "registry", None, &yaml)
        else {
            return;
        };
        let cfg = write(
            &l,
            "server.toml",
            &format!(
                "worker_poll_ms = 100\n[[registries]]\nhost = \"127.0.0.1:{}\"\ninsecure = true\n",
                reg.port
            ),
        );
        let cfg = cfg.to_str().unwrap().to_string();
        let s = Server::start_on(&l, port, &["--config", &cfg], &[], None);
        // A second replica on the same database (PostgreSQL: the deployment
        // the queue is for; SQLite: one process is the rule, so only one).
        let second =
            (l.engine() == "postgres").then(|| Server::start(&l, &["--config", &cfg], &[], None));
        let tags = ["v1", "v2", "v3"];
        let mut layout = PathBuf::new();
        for t in tags {
            layout = alpine_image(&l, t, &alpine, t);
            push(&layout, t, reg.port, "shop/app");
        }
        // Push one tag again: the same digest is not indexed twice.
        push(&layout, "v1", reg.port, "shop/app");
        let jobs = wait_for("3 index jobs done", 60, || {
            let (c, v) = s.json("GET", "/api/v1/jobs", Some(&read), None);
            assert_eq!(c, 200, "{v}");
            let items = v["items"].as_array().unwrap().clone();
            (items.len() == 3 && items.iter().all(|j| j["state"] == "done")).then_some(items)
        });
        for j in &jobs {
            assert_eq!(j["attempts"], 1, "[{}] a job ran twice: {j}", l.engine());
            let digest = j["payload"]["digest"].as_str().unwrap();
            let (c, v) = s.json(
                "GET",
                &format!("/api/v1/images/{digest}"),
                Some(&read),
                None,
            );
            assert_eq!(c, 200, "{v}");
            let recs = v["records"].as_array().unwrap();
            assert_eq!(recs.len(), 1, "[{}] indexed twice: {v}", l.engine());
            assert_eq!(
                (
                    recs[0]["origin"].as_str(),
                    recs[0]["trust"]["state"].as_str()
                ),
                (Some("indexer"), Some("observed"))
            );
            assert_eq!(recs[0]["components"].as_array().unwrap().len(), 26, "{v}");
        }
        // The registry's events carried only this registry: a push event
        // naming another host is not pulled from.
        let evil = write(
            &l,
            "evil.json",
            &format!(
                r#"{{"events":[{{"action":"push","target":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{}","repository":"x","url":"http://10.0.0.1:5000/v2/x/manifests/sha256:{}"}},"request":{{"host":"10.0.0.1:5000"}}}}]}}"#,
                "a".repeat(64),
                "a".repeat(64)
            ),
        );
        let (c, v) = s.json(
            "POST",
            "/api/v1/registry-events",
            Some(&notify),
            Some(&evil),
        );
        assert_eq!(c, 202, "{v}");
        assert_eq!(v["queued"].as_array().unwrap().len(), 0, "{v}");
        assert_eq!(v["unknown_registries"][0], "10.0.0.1:5000");
        let (c, v) = s.json("POST", "/api/v1/registry-events", Some(&read), Some(&evil));
        problem(c, &v, 403, "forbidden");
        let (_, m) = s.call("GET", "/metrics", None, None);
        let done: u64 = [Some(&s), second.as_ref()]
            .into_iter()
            .flatten()
            .map(|srv| {
                let (_, m) = srv.call("GET", "/metrics", None, None);
                m.lines()
                    .find(|l| {
                        l.starts_with("buildledger_jobs_total{") && l.contains("outcome=\"done\"")
                    })
                    .and_then(|l| l.rsplit(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(done, 3, "[{}] jobs done across replicas: {m}", l.engine());
        assert!(
            m.contains("buildledger_jobs_queued{kind=\"index\",state=\"done\"} 3"),
            "queue depth is not exported: {m}"
        );
        drop(second);
    }
}

/// Feed sources synced by the server: a local directory, and an HTTP URL
/// fetched again only when it changed (If-Modified-Since → 304). Two
/// replicas on PostgreSQL sync each source once per interval.
/// `POST /api/v1/feeds`: only a feed:write token imports; the body's type
/// must be a feed format; a bad file is a 400 that names the request body
/// and never the server's temporary path; a JSON advisory and an OSV zip
/// dump import as `feed import` would.
#[test]
fn feed_uploads() {
    if !have("curl") || !have("python3") {
        return;
    }
    for l in engines() {
        let feed = token(&l, &["--scope", "feed:write"]);
        let read = token(&l, &["--scope", "read"]);
        let s = Server::start(&l, &[], &[], None);
        let adv = root().join("examples/advisories/GO-2023-2102.json");
        let (c, _) = s.call("POST", "/api/v1/feeds", None, Some(&adv));
        assert_eq!(c, 401, "[{}]", l.engine());
        let (c, v) = s.json("POST", "/api/v1/feeds", Some(&read), Some(&adv));
        problem(c, &v, 403, "forbidden");
        let (c, text) = s.call_typed(
            "POST",
            "/api/v1/feeds",
            Some(&feed),
            Some(&adv),
            "text/plain",
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        problem(c, &v, 415, "unsupported_media_type");
        let bad = write(&l, "bad.json", "{\"id\": 7");
        let (c, v) = s.json("POST", "/api/v1/feeds", Some(&feed), Some(&bad));
        assert_eq!(c, 400, "[{}] {v}", l.engine());
        let detail = v.to_string();
        assert!(detail.contains("request body"), "[{}] {v}", l.engine());
        assert!(!detail.contains("upload.json"), "[{}] {v}", l.engine());
        // Not known before the upload, known after it.
        let (c, _) = s.json(
            "GET",
            "/api/v1/advisories/CVE-2023-39325/affected",
            Some(&read),
            None,
        );
        assert_eq!(c, 404, "[{}]", l.engine());
        let (c, v) = s.json("POST", "/api/v1/feeds", Some(&feed), Some(&adv));
        assert_eq!(c, 200, "[{}] {v}", l.engine());
        assert_eq!(v["imported"], true, "[{}] {v}", l.engine());
        assert_eq!(v["report"]["advisories"], 1, "[{}] {v}", l.engine());
        let (c, _) = s.json(
            "GET",
            "/api/v1/advisories/CVE-2023-39325/affected",
            Some(&read),
            None,
        );
        assert_eq!(c, 200, "[{}]", l.engine());
        // A zip dump of the example advisories.
        let zip = l.path("all.zip");
        let o = Command::new("python3")
            .args(["-c", "import sys, zipfile, pathlib\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    for p in sorted(pathlib.Path(sys.argv[2]).glob('*.json')): z.write(p, p.name)"])
            .arg(&zip)
            .arg(root().join("examples/advisories"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        let (c, text) = s.call_typed(
            "POST",
            "/api/v1/feeds",
            Some(&feed),
            Some(&zip),
            "application/zip",
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(c, 200, "[{}] {v}", l.engine());
        assert_eq!(v["report"]["advisories"], 7, "[{}] {v}", l.engine());
        assert!(
            !std::fs::read_to_string(&s.log).unwrap().contains(&feed),
            "[{}] the token is in the log",
            l.engine()
        );
    }
}

#[test]
fn feed_sync_from_a_directory_and_a_url() {
    if !have("curl") || !have("python3") || !have("zip") {
        return;
    }
    for l in engines() {
        let read = token(&l, &["--scope", "read"]);
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        // An HTTP server on loopback with a zip of the Go advisories.
        let www = l.path("www");
        std::fs::create_dir_all(&www).unwrap();
        let zip = www.join("osv-go.zip");
        let o = Command::new("zip")
            .arg("-jq")
            .arg(&zip)
            .args([
                "examples/advisories/GO-2022-0969.json",
                "examples/advisories/GO-2023-2102.json",
            ])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        let http_port = free_port();
        let mut http = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &http_port.to_string(),
            ])
            .current_dir(&www)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let cfg = write(
            &l,
            "server.toml",
            &format!(
                "[[feeds]]\nname = \"rustsec-local\"\npath = \"{}\"\ninterval_secs = 2\n[[feeds]]\nname = \"go-http\"\nurl = \"http://127.0.0.1:{http_port}/osv-go.zip\"\ninterval_secs = 2\n",
                root()
                    .join("examples/advisories/RUSTSEC-2020-0071.json")
                    .display()
            ),
        );
        let cfg = cfg.to_str().unwrap().to_string();
        let s = Server::start(&l, &["--config", &cfg], &[], None);
        let second =
            (l.engine() == "postgres").then(|| Server::start(&l, &["--config", &cfg], &[], None));
        let feeds = wait_for("both feeds synced twice", 40, || {
            let (c, v) = s.json("GET", "/api/v1/feeds", Some(&read), None);
            assert_eq!(c, 200, "{v}");
            let ok = v.as_array().is_some_and(|a| {
                a.len() == 2
                    && a.iter()
                        .all(|f| f["last_success"].is_string() && f["last_error"].is_null())
            });
            // Wait for a second round, so the 304 path is taken too.
            let (_, m) = s.call("GET", "/metrics", None, None);
            let unchanged = m.contains("source=\"go-http\",outcome=\"unchanged\"")
                || second.as_ref().is_some_and(|r| {
                    r.call("GET", "/metrics", None, None)
                        .1
                        .contains("outcome=\"unchanged\"")
                });
            (ok && unchanged).then_some(v)
        });
        let (_, m) = s.call("GET", "/metrics", None, None);
        assert!(
            m.contains("buildledger_feed_age_seconds{source=\"go-http\"}"),
            "{m}"
        );
        assert!(
            m.contains("buildledger_feed_failing{source=\"go-http\"} 0"),
            "{m}"
        );
        assert!(
            m.lines()
                .any(|l| l.starts_with("buildledger_findings ") && !l.ends_with(" 0")),
            "{m}"
        );
        let go = feeds
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "go-http")
            .unwrap();
        assert_eq!(go["advisories"], 2, "{feeds}");
        assert!(go["last_modified"].is_string(), "{feeds}");
        // Findings exist, each added once (no churn between replicas or rounds).
        let (c, v) = s.json(
            "GET",
            "/api/v1/changes?since=1h&limit=1000",
            Some(&read),
            None,
        );
        assert_eq!(c, 200);
        let items = v["items"].as_array().unwrap();
        assert!(!items.is_empty(), "no findings from the synced feeds");
        assert!(items.iter().all(|i| i["change"] == "added"), "{v}");
        let mut keys: Vec<String> = items
            .iter()
            .map(|i| format!("{}{}", i["advisory"], i["purl"]))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            n,
            "[{}] a finding was added twice: {v}",
            l.engine()
        );
        // The URL goes away: the sync fails, and nothing it said is withdrawn.
        let _ = http.kill();
        let _ = http.wait();
        wait_for("a failed sync recorded", 30, || {
            let (_, v) = s.json("GET", "/api/v1/feeds", Some(&read), None);
            v.as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == "go-http" && f["last_error"].is_string())
                .then_some(())
        });
        let (_, after) = s.json(
            "GET",
            "/api/v1/changes?since=1h&limit=1000",
            Some(&read),
            None,
        );
        assert!(
            after["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["change"] == "added"),
            "{after}"
        );
        assert_eq!(after["items"].as_array().unwrap().len(), n);
        drop(second);
    }
}

/// Schemathesis (property-based, from the served OpenAPI document) finds no
/// server error, no undocumented status or content type, and no response
/// that violates its schema.
#[test]
fn schemathesis_finds_nothing() {
    if !have("schemathesis") {
        return;
    }
    let l = Ledger::sqlite();
    l.ok(&["record", "--file", "examples/records/payments-api.json"]);
    l.ok(&["feed", "import", "examples/advisories"]);
    l.ok(&["keygen", "--out", &l.p("gha")]);
    let policy = write(
        &l,
        "trusted.json",
        &format!(r#"{{"builders": {{"{GHA}": [{{"path": "gha.pub"}}]}}}}"#),
    );
    let admin = token(&l, &["--scope", "admin", "--name", "fuzz"]);
    let s = Server::start(&l, &["--policy", policy.to_str().unwrap()], &[], None);
    let o = Command::new("schemathesis")
        .current_dir(l.dir.path())
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .args(["run", &format!("{}/api/v1/openapi.json", s.base)])
        .args(["-H", &format!("Authorization: Bearer {admin}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",
            "1",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "schemathesis found problems:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let num = |label: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.trim().rsplit('/').next().unwrap_or("").to_string())
    };
    let (selected, tested) = (num("Selected:"), num("Tested:"));
    assert!(
        selected.is_some() && selected == tested,
        "not every operation was tested ({selected:?} selected, {tested:?} tested):\n{out}"
    );
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(!log.contains(&admin), "the token reached the log");
}

/// SIGTERM: the server stops taking connections, finishes what it has
/// (requests, the job or sync in hand) and exits 0, promptly when idle.
#[test]
fn sigterm_shuts_down_cleanly() {
    if !have("curl") || !have("kill") {
        return;
    }
    let l = Ledger::sqlite();
    let read = token(&l, &["--scope", "read"]);
    let cfg = write(
        &l,
        "server.toml",
        &format!(
            "worker_poll_ms = 100\n[[registries]]\nhost = \"127.0.0.1:9\"\ninsecure = true\n[[feeds]]\nname = \"local\"\npath = \"{}\"\ninterval_secs = 3600\n",
            root().join("examples/advisories").display()
        ),
    );
    let mut s = Server::start(&l, &["--config", cfg.to_str().unwrap()], &[], None);
    assert_eq!(s.call("GET", "/api/v1/table", Some(&read), None).0, 200);
    let t0 = Instant::now();
    let o = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&s.log).unwrap()
    );
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "an idle server took {:?} to stop",
        t0.elapsed()
    );
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains("did not finish"), "{log}");
}

/// Waivers over the API: waiver:write adds and revokes, read lists, the
/// finding shows its waiver; a read token cannot add one.
#[test]
fn waivers_over_the_api() {
    if !have("curl") {
        return;
    }
    for l in engines() {
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        l.ok(&["feed", "import", "examples/advisories"]);
        let writer = token(&l, &["--scope", "waiver:write", "--name", "secops"]);
        let read = token(&l, &["--scope", "read"]);
        let s = Server::start(&l, &[], &[], None);
        let expires = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
        let body = write(
            &l,
            "waiver.json",
            &serde_json::json!({"advisory": "GHSA-4374-p667-p6c8", "digest": PAYMENTS, "owner": "alice",
                "reason": "not reachable", "expires": expires}).to_string(),
        );
        let (c, v) = s.json("POST", "/api/v1/waivers", Some(&read), Some(&body));
        problem(c, &v, 403, "forbidden");
        let (c, w) = s.json("POST", "/api/v1/waivers", Some(&writer), Some(&body));
        assert_eq!(c, 201, "{w}");
        let (c, f) = s.json(
            "GET",
            &format!("/api/v1/images/{PAYMENTS}/vulns"),
            Some(&read),
            None,
        );
        assert_eq!(c, 200);
        let waived: Vec<_> = f["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i.get("waivers").is_some())
            .collect();
        assert_eq!(
            waived.len(),
            2,
            "both GO-2023-2102 findings (x/net and stdlib): {f}"
        );
        let (c, list) = s.json("GET", "/api/v1/waivers", Some(&read), None);
        assert_eq!((c, list["items"].as_array().unwrap().len()), (200, 1));
        let id = w["id"].as_i64().unwrap();
        let (c, _) = s.call(
            "DELETE",
            &format!("/api/v1/waivers/{id}"),
            Some(&writer),
            None,
        );
        assert_eq!(c, 204);
        let (c, v) = s.json(
            "DELETE",
            &format!("/api/v1/waivers/{id}"),
            Some(&writer),
            None,
        );
        problem(c, &v, 404, "not_found");
        let (c, v) = s.json("DELETE", "/api/v1/waivers/x", Some(&writer), None);
        problem(c, &v, 400, "bad_input");
        let bad = write(
            &l,
            "bad.json",
            r#"{"advisory": "X", "owner": "o", "reason": "r", "expires": "2001-01-01", "digest": "sha256:1"}"#,
        );
        let (c, v) = s.json("POST", "/api/v1/waivers", Some(&writer), Some(&bad));
        problem(c, &v, 400, "bad_input");
    }
}

#[test]
fn vex_and_posture_over_the_api() {
    if !have("curl") || !have("kubectl") {
        return;
    }
    use serde_json::json;
    const AUTHOR: &str = "Security Team <security@example.com>";
    for l in engines() {
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        l.ok(&["feed", "import", "examples/advisories"]);
        // The payments image runs in a staging namespace.
        let deploy = common::kubectl(&[
            "create",
            "deployment",
            "payments",
            &format!("--image=registry.example/payments/api@{PAYMENTS}"),
            "-n",
            "payments",
        ]);
        let mut pod = common::pod_of(&deploy, "payments-6b7c8d9f5-abcde", Some("6b7c8d9f5"));
        pod["status"] = json!({"phase": "Running", "containerStatuses": [{"name": "api",
            "image": format!("registry.example/payments/api@{PAYMENTS}"),
            "imageID": format!("registry.example/payments/api@{PAYMENTS}"), "ready": true, "restartCount": 0}]});
        let mut ns = common::kubectl(&["create", "namespace", "payments"]);
        ns["metadata"]["labels"] = json!({"buildledger.dev/environment": "staging"});
        let snapshot = write(
            &l,
            "snapshot.json",
            &json!({"apiVersion": "v1", "kind": "List", "items": [ns, pod]}).to_string(),
        );
        l.json(&["keygen", "--algorithm", "ed25519", "--out", &l.p("vex")]);
        l.json(&["keygen", "--algorithm", "ed25519", "--out", &l.p("rogue")]);
        let trust = write(
            &l,
            "trust.json",
            &json!({"vex_authors": {AUTHOR: [{"path": "vex.pub"}]}}).to_string(),
        );
        let vexw = token(&l, &["--scope", "vex:write", "--name", "secops"]);
        let inv = token(&l, &["--scope", "inventory:write"]);
        let read = token(&l, &["--scope", "read"]);
        let s = Server::start(&l, &["--policy", trust.to_str().unwrap()], &[], None);
        let (c, v) = s.json(
            "POST",
            "/api/v1/inventory/eu-1",
            Some(&inv),
            Some(&snapshot),
        );
        assert_eq!(c, 200, "{v}");

        let (c, before) = s.json("GET", "/api/v1/posture", Some(&read), None);
        assert_eq!(c, 200, "{before}");
        let items = before["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{before}");
        assert_eq!(items[0]["decision"], "deny", "{before}");
        assert_eq!(items[0]["environment"], "staging");
        // The API and the CLI give the same posture of the same ledger.
        assert_eq!(l.json(&["posture"]), before["items"]);
        let (c, v) = s.json("GET", "/api/v1/posture?decision=maybe", Some(&read), None);
        problem(c, &v, 400, "bad_input");
        let (c, v) = s.json("GET", "/api/v1/posture?env=production", Some(&read), None);
        assert_eq!((c, v["items"].as_array().unwrap().len()), (200, 0), "{v}");
        let (c, _) = s.call("GET", "/api/v1/posture", None, None);
        assert_eq!(c, 401);

        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://vex.example/payments/1",
            "author": AUTHOR,
            "timestamp": "2026-11-30T10:00:00Z",
            "version": 1,
            "statements": [{
                "vulnerability": {"name": "CVE-2023-39325"},
                "products": [{"@id": format!("pkg:oci/api@sha256%3A{}", &PAYMENTS[7..]),
                    "subcomponents": [{"@id": "pkg:golang/golang.org/x/net"}]}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path"
            }]
        });
        let plain = write(&l, "doc.vex.json", &doc.to_string());
        let (c, v) = s.json("POST", "/api/v1/vex", Some(&read), Some(&plain));
        problem(c, &v, 403, "forbidden");
        let (c, v) = s.json("POST", "/api/v1/vex", Some(&vexw), Some(&plain));
        problem(c, &v, 400, "bad_input");
        let (c, v) = s.json(
            "POST",
            "/api/v1/vex?allow_unsigned=true",
            Some(&vexw),
            Some(&plain),
        );
        assert_eq!((c, v["trusted"].as_bool()), (201, Some(false)), "{v}");
        let sign = |key: &str, out: &str| {
            l.ok(&[
                "vex",
                "sign",
                &l.p("doc.vex.json"),
                "--key",
                &l.p(&format!("{key}.key")),
                "--out",
                &l.p(out),
            ]);
            l.path(out)
        };
        let rogue = sign("rogue", "rogue.dsse.json");
        let (c, v) = s.json("POST", "/api/v1/vex", Some(&vexw), Some(&rogue));
        problem(c, &v, 400, "bad_input");
        let good = sign("vex", "good.dsse.json");
        let (c, v) = s.json("POST", "/api/v1/vex", Some(&vexw), Some(&good));
        assert_eq!(
            (c, v["trusted"].as_bool(), v["outcome"].as_str()),
            (201, Some(true), Some("added")),
            "{v}"
        );
        let (c, v) = s.json("POST", "/api/v1/vex", Some(&vexw), Some(&good));
        assert_eq!((c, v["outcome"].as_str()), (201, Some("unchanged")), "{v}");
        let (c, list) = s.json("GET", "/api/v1/vex?limit=1", Some(&read), None);
        assert_eq!(c, 200);
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        assert!(list["next_cursor"].is_string(), "{list}");
        let (_, f) = s.json(
            "GET",
            &format!("/api/v1/images/{PAYMENTS}/vulns"),
            Some(&read),
            None,
        );
        let xnet: Vec<&Value> = f["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                i["advisory"] == "GO-2023-2102"
                    && i["purl"]
                        .as_str()
                        .is_some_and(|p| p.contains("golang.org/x/net"))
            })
            .collect();
        assert_eq!(xnet.len(), 1, "{f}");
        assert_eq!(xnet[0]["vex"]["trusted"], true, "{f}");
        // The stdlib finding of the same advisory is not covered by it.
        let stdlib = f["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| {
                i["advisory"] == "GO-2023-2102"
                    && i["purl"].as_str().is_some_and(|p| p.contains("stdlib"))
            })
            .unwrap_or_else(|| panic!("{f}"));
        assert!(stdlib["vex"].is_null(), "{f}");
        // Still denied (untrusted build, other findings), now without the
        // x/net finding of GO-2023-2102.
        let (_, after) = s.json("GET", "/api/v1/posture", Some(&read), None);
        let cleared = "GO-2023-2102 (unknown) in pkg:golang/golang.org/x/net";
        assert!(
            before["items"][0]["reasons"].to_string().contains(cleared),
            "{before}"
        );
        assert!(
            !after["items"][0]["reasons"].to_string().contains(cleared),
            "{after}"
        );
        assert_eq!(after["items"][0]["decision"], "deny");
        let log = std::fs::read_to_string(&s.log).unwrap();
        assert!(
            !log.contains(&vexw) && !log.contains(&read),
            "a token in the log"
        );
    }
}

/// (group, version, kind, resource) of an admission request.
type Gvkr = (&'static str, &'static str, &'static str, &'static str);

/// An AdmissionReview (admission.k8s.io/v1) as the API server wraps
/// `object` for `operation` on `resource` (and `sub`resource).
fn review(
    uid: &str,
    operation: &str,
    (group, version, kind, resource): Gvkr,
    sub: Option<&str>,
    object: &Value,
    old: Option<&Value>,
    dry_run: bool,
) -> Value {
    use serde_json::json;
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": resource});
    let mut req = json!({
        "uid": uid,
        "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": object["metadata"]["name"],
        "namespace": object["metadata"]["namespace"],
        "operation": operation,
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
            "uid": "6f1c", "groups": ["system:serviceaccounts", "system:authenticated"]},
        "object": object,
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1",
            "kind": if operation == "CREATE" { "CreateOptions" } else { "UpdateOptions" }},
    });
    if let Some(s) = sub {
        req["subResource"] = json!(s);
        req["requestSubResource"] = json!(s);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
}

/// POST an AdmissionReview as the API server does: TLS checked against the
/// CA bundle, `?timeout=` appended, its own deadline on the call.
fn admit(s: &Server, l: &Ledger, query: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    admit_with(s, l, query, token, body, false)
}

/// `admit`; with `http1`, over HTTP/1.1: a refusal sent before the body is
/// read ends an HTTP/2 stream with RST_STREAM (NO_ERROR), which curl
/// reports as a framing error instead of the response.
fn admit_with(
    s: &Server,
    l: &Ledger,
    query: &str,
    token: Option<&str>,
    body: &Value,
    http1: bool,
) -> (u16, Value) {
    let body_of = body;
    let f = write(l, "review.json", &body.to_string());
    let mut c = Command::new("curl");
    if http1 {
        c.arg("--http1.1");
    }
    c.args([
        "-s",
        "-S",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "--max-time",
        "10",
    ])
    .arg("--cacert")
    .arg(s.ca.as_ref().unwrap())
    .args(["-H", "Content-Type: application/json", "--data-binary"])
    .arg(format!("@{}", f.display()));
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let sep = if query.contains('?') { '&' } else { '?' };
    let timeout = if query.contains("timeout=") {
        ""
    } else {
        "timeout=10s"
    };
    c.arg(format!(
        "{}/admission{query}{}{timeout}",
        s.base,
        if timeout.is_empty() {
            "".to_string()
        } else {
            sep.to_string()
        }
    ));
    let o = c.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
    let v = serde_json::from_str(body).unwrap_or_else(|e| {
        panic!(
            "{query} {}: {code} not JSON ({e}): {body} {}",
            body_of["request"]["uid"],
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (code.trim().parse().unwrap_or(0), v)
}

/// A pod nobody controls, from `deploy`'s template (`kubectl run` needs an
/// API server even for a dry run).
fn bare_pod(deploy: &Value, name: &str) -> Value {
    let mut pod = common::pod_of(deploy, name, None);
    pod["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    pod.as_object_mut().unwrap().remove("status");
    pod
}

/// The workload kinds the webhook decides, each built by `kubectl …
/// --dry-run=client -o json` where kubectl can create it, else from the
/// Deployment's pod template in the documented shape of that kind.
fn workloads(image: &str, ns: &str) -> Vec<(Gvkr, Value)> {
    use serde_json::json;
    let img = format!("--image={image}");
    let deploy = common::kubectl(&["create", "deployment", "web", &img, "-n", ns]);
    let pod = bare_pod(&deploy, "web");
    let job = common::kubectl(&["create", "job", "migrate", &img, "-n", ns]);
    let cron = common::kubectl(&[
        "create",
        "cronjob",
        "nightly",
        &img,
        "--schedule=0 3 * * *",
        "-n",
        ns,
    ]);
    let template = deploy["spec"]["template"].clone();
    let selector = deploy["spec"]["selector"].clone();
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": {"app": "web"}});
    let mut rs_meta = meta("web-7c9d8f6b5");
    rs_meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment",
        "name": "web", "uid": "1d2e", "controller": true, "blockOwnerDeletion": true}]);
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
        "spec": {"replicas": 1, "selector": selector, "template": template}});
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("db"),
        "spec": {"serviceName": "db", "replicas": 1, "selector": selector, "template": template}});
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("agent"),
        "spec": {"selector": selector, "template": template}});
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta("legacy"),
        "spec": {"replicas": 1, "selector": {"app": "web"}, "template": template}});
    vec![
        (("", "v1", "Pod", "pods"), pod),
        (("apps", "v1", "Deployment", "deployments"), deploy),
        (("apps", "v1", "ReplicaSet", "replicasets"), rs),
        (("apps", "v1", "StatefulSet", "statefulsets"), sts),
        (("apps", "v1", "DaemonSet", "daemonsets"), ds),
        (("batch", "v1", "Job", "jobs"), job),
        (("batch", "v1", "CronJob", "cronjobs"), cron),
        (
            ("", "v1", "ReplicationController", "replicationcontrollers"),
            rc,
        ),
    ]
}

#[test]
fn admission_webhook_decides_every_kind_from_the_ledger() {
    if !have("curl") || !have("kubectl") || !have("openssl") {
        return;
    }
    use serde_json::json;
    for l in engines() {
        // An unsigned build with a fixable High finding (CVE-2023-39325).
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        l.ok(&["feed", "import", "examples/advisories"]);
        let image = format!("registry.example/payments/api@{PAYMENTS}");
        let tls = l.path("tls");
        std::fs::create_dir_all(&tls).unwrap();
        private_ca(&tls);
        let config = write(
            &l,
            "server.toml",
            "posture_refresh_secs = 1\n\n[admission]\nfail_closed = [\"staging\"]\ncluster = \"eu-1\"\n\n[env_map]\nshop-prod = \"production\"\n",
        );
        let adm = token(&l, &["--scope", "admission:review", "--name", "apiserver"]);
        let read = token(&l, &["--scope", "read"]);
        let s = Server::start(&l, &["--config", config.to_str().unwrap()], &[], Some(&tls));

        // Every kind, outside production: denied with 403, naming the
        // image, the environment and the rules; the uid and apiVersion echo.
        for (i, (gvkr, obj)) in workloads(&image, "shop-staging").into_iter().enumerate() {
            let uid = format!("0000-{i}");
            let r = review(&uid, "CREATE", gvkr, None, &obj, None, false);
            // The path form a ValidatingWebhookConfiguration names.
            let (c, v) = admit(&s, &l, "/staging/eu-1", Some(&adm), &r);
            assert_eq!(c, 200, "{} {v}", gvkr.2);
            assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
            assert_eq!(v["kind"], "AdmissionReview");
            let resp = &v["response"];
            assert_eq!(resp["uid"], uid.as_str());
            assert_eq!(resp["allowed"], false, "{} {v}", gvkr.2);
            assert_eq!(resp["status"]["code"], 403, "{v}");
            let msg = resp["status"]["message"].as_str().unwrap();
            for want in [
                image.as_str(),
                "staging",
                "untrusted-build",
                "fixable-severe-finding",
            ] {
                assert!(msg.contains(want), "{} message lacks {want}: {msg}", gvkr.2);
            }
        }
        // The decisions above are kept for reuse (memo); a waiver written to
        // the ledger meanwhile (here straight into the database, as another
        // replica would) changes the very next answer, and so does its
        // revocation.
        let (gvkr, obj) = workloads(&image, "shop-staging")
            .into_iter()
            .next()
            .unwrap();
        let staging_message = |uid: &str| -> String {
            let r = review(uid, "CREATE", gvkr, None, &obj, None, true);
            let (c, v) = admit(&s, &l, "/staging/eu-1", Some(&adm), &r);
            assert_eq!(c, 200, "{v}");
            assert_eq!(v["response"]["allowed"], false, "{v}");
            v["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        // CVE-2023-39325 is GO-2023-2102 (one of several fixable findings).
        let before = staging_message("memo-0");
        assert!(before.contains("GO-2023-2102"), "{before}");
        let w = l.json(&[
            "waiver",
            "add",
            "--advisory",
            "CVE-2023-39325",
            "--digest",
            PAYMENTS,
            "--owner",
            "sec@example.com",
            "--reason",
            "memo test",
            "--expires",
            &(chrono::Utc::now() + chrono::Duration::days(30))
                .format("%Y-%m-%d")
                .to_string(),
        ]);
        let wid = w["id"].to_string();
        let msg = staging_message("memo-1");
        assert!(
            !msg.contains("GO-2023-2102") && msg.contains("untrusted-build"),
            "a waiver added after a decision was kept must change the next answer: {msg}"
        );
        l.ok(&["waiver", "revoke", &wid]);
        assert_eq!(
            staging_message("memo-2"),
            before,
            "the revoked waiver no longer counts"
        );

        // In production: allowed, with short warnings (the env from env_map).
        for (gvkr, obj) in workloads(&image, "shop-prod") {
            let r = review("1111", "CREATE", gvkr, None, &obj, None, true);
            let (c, v) = admit(&s, &l, "", Some(&adm), &r);
            assert_eq!(c, 200, "{v}");
            let resp = &v["response"];
            assert_eq!(resp["allowed"], true, "{} {v}", gvkr.2);
            let w = resp["warnings"].as_array().unwrap();
            assert!(
                w.iter()
                    .any(|w| w.as_str().unwrap().contains("untrusted-build")),
                "{v}"
            );
            assert!(
                w.iter().all(|w| w.as_str().unwrap().chars().count() <= 120),
                "{v}"
            );
            assert!(w.iter().map(|w| w.as_str().unwrap().len()).sum::<usize>() < 4096);
            assert_eq!(resp["auditAnnotations"]["environment"], "production", "{v}");
        }
        // Dry runs above recorded nothing.
        assert_eq!(
            l.json(&["inventory", "list", "--cluster", "eu-1"]),
            json!([])
        );

        let deploy = common::kubectl(&[
            "create",
            "deployment",
            "web",
            &format!("--image={image}"),
            "-n",
            "shop-prod",
        ]);
        let dgvkr = ("apps", "v1", "Deployment", "deployments");
        // A real production CREATE is recorded in the inventory, and posture sees it.
        let (c, v) = admit(
            &s,
            &l,
            "",
            Some(&adm),
            &review("2222", "CREATE", dgvkr, None, &deploy, None, false),
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(true)), "{v}");
        let inv = l.json(&["inventory", "list", "--cluster", "eu-1"]);
        assert_eq!(inv.as_array().unwrap().len(), 1, "{inv}");
        assert_eq!(inv[0]["workload_kind"], "Deployment");
        assert_eq!(inv[0]["workload_name"], "web");
        assert_eq!(inv[0]["digest"], PAYMENTS);
        assert_eq!(inv[0]["environment"], "production");
        // The server's own refresh loop decides it without being asked.
        wait_for("the server's posture refresh", 20, || {
            std::fs::read_to_string(&s.log)
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains("posture refreshed") && l.contains("computed=1"))
                .then_some(())
        });
        let posture = l.json(&["posture", "--env", "production"]);
        assert_eq!(posture[0]["decision"], "warn", "{posture}");

        // An UPDATE that changes no image (a scale) is allowed with nothing
        // to say, in staging too; one that brings an unknown tag is denied.
        let staging = common::kubectl(&[
            "create",
            "deployment",
            "web",
            &format!("--image={image}"),
            "-n",
            "shop-staging",
        ]);
        let mut scaled = staging.clone();
        scaled["spec"]["replicas"] = json!(5);
        let (c, v) = admit(
            &s,
            &l,
            "?environment=staging",
            Some(&adm),
            &review(
                "3333",
                "UPDATE",
                dgvkr,
                None,
                &scaled,
                Some(&staging),
                false,
            ),
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(true)), "{v}");
        assert!(v["response"]["warnings"].is_null(), "{v}");
        let mut bumped = staging.clone();
        bumped["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("registry.example/payments/api:never-built");
        let (c, v) = admit(
            &s,
            &l,
            "?environment=staging",
            Some(&adm),
            &review(
                "4444",
                "UPDATE",
                dgvkr,
                None,
                &bumped,
                Some(&staging),
                false,
            ),
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(false)), "{v}");
        let msg = v["response"]["status"]["message"].as_str().unwrap();
        assert!(
            msg.contains("unknown-image") && msg.contains("never-built"),
            "{msg}"
        );
        // The same unknown tag in production: a warning, never a deny.
        let mut prod_bumped = deploy.clone();
        prod_bumped["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("registry.example/payments/api:never-built");
        let (c, v) = admit(
            &s,
            &l,
            "?environment=production",
            Some(&adm),
            &review(
                "5555",
                "UPDATE",
                dgvkr,
                None,
                &prod_bumped,
                Some(&deploy),
                true,
            ),
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(true)), "{v}");
        assert!(
            v["response"]["warnings"]
                .to_string()
                .contains("unknown-image"),
            "{v}"
        );

        // An ephemeral debug container added through the subresource.
        let pod = bare_pod(
            &common::kubectl(&[
                "create",
                "deployment",
                "web",
                "--image=registry.example/payments/api:never-built",
                "-n",
                "shop-staging",
            ]),
            "web",
        );
        let mut debugged = pod.clone();
        debugged["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": image}]);
        let (c, v) = admit(
            &s,
            &l,
            "?environment=staging",
            Some(&adm),
            &review(
                "6666",
                "UPDATE",
                ("", "v1", "Pod", "pods"),
                Some("ephemeralcontainers"),
                &debugged,
                Some(&pod),
                false,
            ),
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(false)), "{v}");
        let msg = v["response"]["status"]["message"].as_str().unwrap();
        assert!(
            msg.contains(&image) && !msg.contains("never-built"),
            "only the new container is decided: {msg}"
        );

        // DELETE is not decided.
        let (c, v) = admit(
            &s,
            &l,
            "?environment=staging",
            Some(&adm),
            &review(
                "7777",
                "DELETE",
                dgvkr,
                None,
                &staging,
                Some(&staging),
                false,
            ),
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(true)), "{v}");

        // v1beta1 is answered in v1beta1.
        let mut beta = review("8888", "CREATE", dgvkr, None, &staging, None, true);
        beta["apiVersion"] = json!("admission.k8s.io/v1beta1");
        let (c, v) = admit(&s, &l, "?environment=staging", Some(&adm), &beta);
        assert_eq!(
            (c, v["apiVersion"].as_str()),
            (200, Some("admission.k8s.io/v1beta1")),
            "{v}"
        );
        assert_eq!(v["response"]["uid"], "8888");

        // No time to decide (the API server's timeout): staging fails
        // closed as configured, production fails open with a warning.
        let r = review("9999", "CREATE", dgvkr, None, &staging, None, true);
        let (c, v) = admit(&s, &l, "?environment=staging&timeout=1us", Some(&adm), &r);
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(false)), "{v}");
        assert!(
            v["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("fails closed"),
            "{v}"
        );
        let (c, v) = admit(
            &s,
            &l,
            "?environment=production&timeout=1us",
            Some(&adm),
            &r,
        );
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(true)), "{v}");
        assert!(
            v["response"]["warnings"]
                .to_string()
                .contains("could not decide"),
            "{v}"
        );

        // Authentication and bad input.
        let (c, v) = admit_with(&s, &l, "?environment=staging", None, &r, true);
        problem(c, &v, 401, "unauthenticated");
        let (c, v) = admit_with(&s, &l, "?environment=staging", Some(&read), &r, true);
        problem(c, &v, 403, "forbidden");
        let (c, v) = admit(
            &s,
            &l,
            "?environment=staging",
            Some(&adm),
            &json!({"apiVersion": "v1", "kind": "Pod"}),
        );
        problem(c, &v, 400, "bad_input");
        assert_eq!(v["field"], "kind", "{v}");
        let mut no_uid = r.clone();
        no_uid["request"]["uid"] = json!("");
        let (c, v) = admit(&s, &l, "?environment=staging", Some(&adm), &no_uid);
        problem(c, &v, 400, "bad_input");
        let (c, v) = admit(&s, &l, "?environment=st%20aging", Some(&adm), &r);
        problem(c, &v, 400, "bad_input");
        let (c, v) = admit(&s, &l, "?timeout=soon", Some(&adm), &r);
        problem(c, &v, 400, "bad_input");
        // What an attacker with the token might send: too many containers, an
        // absurd image name, nesting deeper than the parser allows. Each is
        // a 400 naming the field; nothing is recorded; the server stays up.
        let before = l.json(&["inventory", "list", "--cluster", "eu-1"]);
        let mut many = staging.clone();
        many["spec"]["template"]["spec"]["containers"] = json!(
            (0..1001)
                .map(|i| json!({"name": format!("c{i}"), "image": image}))
                .collect::<Vec<_>>()
        );
        let (c, v) = admit(
            &s,
            &l,
            "/staging",
            Some(&adm),
            &review("a1", "CREATE", dgvkr, None, &many, None, false),
        );
        problem(c, &v, 400, "bad_input");
        assert_eq!(v["field"], "object.spec", "{v}");
        let mut long = staging.clone();
        long["spec"]["template"]["spec"]["containers"][0]["image"] = json!("r/".repeat(3000));
        let (c, v) = admit(
            &s,
            &l,
            "/staging",
            Some(&adm),
            &review("a2", "CREATE", dgvkr, None, &long, None, false),
        );
        problem(c, &v, 400, "bad_input");
        let deep = format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"a3","x":{}1{}}}}}"#,
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let f = write(&l, "deep.json", &deep);
        let (c, v) = s.json("POST", "/admission/staging", Some(&adm), Some(&f));
        problem(c, &v, 400, "bad_input");
        assert_eq!(l.json(&["inventory", "list", "--cluster", "eu-1"]), before);
        assert_eq!(s.call("GET", "/healthz", None, None).0, 200);

        let metrics = s.call("GET", "/metrics", None, None).1;
        assert!(
            metrics.contains("buildledger_admission_reviews_total{kind=\"deny\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("buildledger_admission_reviews_total{kind=\"failed\"}"),
            "{metrics}"
        );
    }
}

#[test]
fn admission_manifest_from_the_cli() {
    if !have("openssl") {
        return;
    }
    let l = Ledger::sqlite();
    let tls = l.path("tls");
    std::fs::create_dir_all(&tls).unwrap();
    private_ca(&tls);
    let ca = tls.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let m = l.json(&[
        "admission",
        "manifest",
        "--service",
        "buildledger",
        "--namespace",
        "security",
        "--ca-bundle",
        ca,
        "--cluster",
        "eu-1",
        "--fail-closed",
        "staging",
    ]);
    assert_eq!(m["kind"], "ValidatingWebhookConfiguration");
    let hooks = m["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2, "production and staging by default");
    assert_eq!(hooks[0]["failurePolicy"], "Ignore");
    assert_eq!(hooks[1]["failurePolicy"], "Fail");
    assert_eq!(
        hooks[1]["clientConfig"]["service"]["path"],
        "/admission/staging/eu-1"
    );
    // The bundle as coreutils' base64 encodes the file.
    let b64 = Command::new("base64")
        .arg("-w0")
        .arg(tls.join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(
        hooks[0]["clientConfig"]["caBundle"].as_str().unwrap(),
        String::from_utf8_lossy(&b64.stdout).trim()
    );
    // What would lock a cluster out, or send nothing, is exit 2 naming the flag.
    for (extra, flag) in [
        (vec!["--fail-closed", "production"], "--fail-closed"),
        (vec!["--env", "Prod"], "--env"),
    ] {
        let mut a = vec![
            "admission",
            "manifest",
            "--service",
            "bl",
            "--namespace",
            "sec",
            "--ca-bundle",
            ca,
        ];
        a.extend(extra);
        let o = l.run(&a);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains(flag));
    }
    let o = l.run(&[
        "admission",
        "manifest",
        "--service",
        "bl",
        "--namespace",
        "sec",
        "--ca-bundle",
        &l.p("tls/key.pem"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--ca-bundle"));
}

/// What a loopback receiver got: (request head, body) per request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>, Instant)>>>;

/// A loopback HTTP receiver: answers 200 to every request and keeps (headers, body).
fn receiver() -> (u16, Received) {
    use std::io::{BufRead, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = std::io::BufReader::new(c.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            g.lock().unwrap().push((head, body, Instant::now()));
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, got)
}

#[test]
fn scenario_advisory_alerts_in_alertmanager_denies_staging_and_a_waiver_resolves() {
    if !have("curl") || !have("kubectl") || !have("prometheus-alertmanager") || !have("openssl") {
        return;
    }
    use serde_json::json;
    for l in engines() {
        // A real Alertmanager on loopback, clustering off.
        let am_port = free_port();
        let am_dir = l.path("am");
        std::fs::create_dir_all(&am_dir).unwrap();
        std::fs::write(
            am_dir.join("am.yml"),
            "route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n",
        )
        .unwrap();
        let mut am = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_dir.join("am.yml").display()))
            .arg(format!("--storage.path={}", am_dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(am_dir.join("log")).unwrap())
            .spawn()
            .unwrap();
        let am_alerts = || -> Vec<Value> {
            let o = Command::new("curl")
                .args(["-s", &format!("http://127.0.0.1:{am_port}/api/v2/alerts")])
                .output()
                .unwrap();
            serde_json::from_slice::<Value>(&o.stdout)
                .ok()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
        };
        wait_for("alertmanager", 20, || {
            Command::new("curl")
                .args(["-sf", &format!("http://127.0.0.1:{am_port}/-/ready")])
                .output()
                .unwrap()
                .status
                .success()
                .then_some(())
        });
        let (hook_port, hook) = receiver();
        let (ceb_port, ceb) = receiver();
        let (ces_port, ces) = receiver();
        let (slack_port, slack) = receiver();
        let closed = free_port();

        // The payments build (a fixable High finding) runs in production and staging.
        l.ok(&["record", "--file", "examples/records/payments-api.json"]);
        let mut items = Vec::new();
        for (ns, env) in [("shop-prod", "production"), ("shop-staging", "staging")] {
            let deploy = common::kubectl(&[
                "create",
                "deployment",
                "payments",
                &format!("--image=registry.example/payments/api@{PAYMENTS}"),
                "-n",
                ns,
            ]);
            let mut pod = common::pod_of(&deploy, "payments-6b7c8d9f5-abcde", Some("6b7c8d9f5"));
            pod["status"] = json!({"phase": "Running", "containerStatuses": [{"name": "api",
                "image": format!("registry.example/payments/api@{PAYMENTS}"),
                "imageID": format!("registry.example/payments/api@{PAYMENTS}"), "ready": true, "restartCount": 0}]});
            let mut n = common::kubectl(&["create", "namespace", ns]);
            n["metadata"]["labels"] = json!({"buildledger.dev/environment": env});
            items.extend([n, pod]);
        }
        let snap = write(
            &l,
            "snapshot.json",
            &json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
        );
        l.ok(&[
            "inventory",
            "report",
            "--cluster",
            "eu-1",
            "--pods",
            snap.to_str().unwrap(),
        ]);

        let config = write(
            &l,
            "alerts.toml",
            &format!(
                "[alerts]\ninterval_secs = 1\nresend_secs = 2\npublic_url = \"https://ledger.example\"\n\n\
                 [[alerts.sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurls = [\"http://127.0.0.1:{am_port}\"]\n\n\
                 [[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{hook_port}/hook\"\nsecret_env = \"BL_HOOK_SECRET\"\n\n\
                 [[alerts.sinks]]\nname = \"ce-binary\"\nkind = \"cloudevents\"\nmode = \"binary\"\nurl = \"http://127.0.0.1:{ceb_port}/ce\"\n\n\
                 [[alerts.sinks]]\nname = \"ce-structured\"\nkind = \"cloudevents\"\nurl = \"http://127.0.0.1:{ces_port}/ce\"\n\n\
                 [[alerts.sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"http://127.0.0.1:{slack_port}/services/T0/B0/x\"\n\n\
                 [[alerts.sinks]]\nname = \"broken\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{closed}/down\"\n"
            ),
        );
        let s = Server::start(
            &l,
            &["--config", config.to_str().unwrap()],
            &[("BL_HOOK_SECRET", "s3cret")],
            None,
        );

        // Before any advisory: only the untrusted build is flagged.
        wait_for("the untrusted-build alerts", 30, || {
            let now = am_alerts();
            (now.iter()
                .filter(|a| a["labels"]["rule"] == "untrusted-build")
                .count()
                == 2)
                .then_some(())
        });
        assert!(
            !am_alerts()
                .iter()
                .any(|a| a["labels"]["rule"] == "fixable-severe-finding")
        );
        // The advisory arrives; Alertmanager gets the production alert,
        // labelled, linking back.
        l.ok(&["feed", "import", "examples/advisories"]);
        let prod = wait_for("the production alert in Alertmanager", 30, || {
            am_alerts().into_iter().find(|a| {
                a["labels"]["environment"] == "production"
                    && a["labels"]["rule"] == "fixable-severe-finding"
            })
        });
        let advisory = prod["labels"]["advisory"].as_str().unwrap().to_string();
        assert_eq!(prod["labels"]["alertname"], "BuildledgerPolicy");
        assert_eq!(prod["labels"]["decision"], "warn");
        assert_eq!(prod["labels"]["digest"], PAYMENTS);
        assert_eq!(prod["labels"]["workload"], "Deployment/payments");
        assert_eq!(prod["status"]["state"], "active", "{prod}");
        assert_eq!(
            prod["generatorURL"],
            "https://ledger.example/api/v1/posture?env=production"
        );
        assert!(
            prod["annotations"]["summary"]
                .as_str()
                .unwrap()
                .contains(&advisory)
        );
        assert!(
            am_alerts()
                .iter()
                .any(|a| a["labels"]["environment"] == "staging"
                    && a["labels"]["decision"] == "deny")
        );

        // The webhook got the same, signed with HMAC-SHA256 over the body.
        let (head, body, _) = wait_for("a signed webhook delivery", 30, || {
            hook.lock().unwrap().first().cloned()
        });
        let sig = head
            .lines()
            .find_map(|h| {
                h.strip_prefix("X-Buildledger-Signature: ")
                    .or_else(|| h.strip_prefix("x-buildledger-signature: "))
            })
            .unwrap()
            .trim()
            .to_string();
        let bodyf = l.path("hook-body");
        std::fs::write(&bodyf, &body).unwrap();
        let o = Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", "s3cret", "-r"])
            .arg(&bodyf)
            .output()
            .unwrap();
        let want = String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(sig, format!("sha256={want}"));
        let first: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(first["state"], "firing", "{first}");

        // CloudEvents 1.0, binary mode: attributes in ce- headers, the alert as the body.
        let (head, body, _) = wait_for("a binary CloudEvent", 30, || {
            ceb.lock().unwrap().first().cloned()
        });
        let h = head.to_ascii_lowercase();
        for want in [
            "ce-specversion: 1.0",
            "ce-type: dev.buildledger.alert.firing",
            "ce-source: https://ledger.example",
            "content-type: application/json",
        ] {
            assert!(h.contains(want), "{want} missing: {head}");
        }
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["state"],
            "firing"
        );
        // Structured mode: one JSON document; each event its own id.
        let events = wait_for("structured CloudEvents", 30, || {
            let got = ces.lock().unwrap().clone();
            (got.len() >= 3).then_some(got)
        });
        assert!(
            events[0]
                .0
                .to_ascii_lowercase()
                .contains("content-type: application/cloudevents+json")
        );
        let ids: std::collections::BTreeSet<String> = events
            .iter()
            .map(|(_, b, _)| {
                let e: Value = serde_json::from_slice(b).unwrap();
                assert_eq!(e["specversion"], "1.0");
                assert_eq!(e["source"], "https://ledger.example");
                assert!(e["data"]["labels"]["rule"].is_string(), "{e}");
                e["id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(ids.len(), events.len(), "source+id names one event");
        // Slack: one message a second at most.
        let msgs = wait_for("two Slack messages", 30, || {
            let got = slack.lock().unwrap().clone();
            (got.len() >= 2).then_some(got)
        });
        let text: Value = serde_json::from_slice(&msgs[0].1).unwrap();
        assert!(
            text["text"].as_str().unwrap().starts_with("[FIRING] "),
            "{text}"
        );
        assert!(msgs[1].2.duration_since(msgs[0].2) >= Duration::from_millis(900));

        // Admission of the same digest in staging is denied, and the staging
        // workload is on the stop list (non-production, deny).
        let adm = token(&l, &["--scope", "admission:review"]);
        let deploy = common::kubectl(&[
            "create",
            "deployment",
            "payments-canary",
            &format!("--image=registry.example/payments/api@{PAYMENTS}"),
            "-n",
            "shop-staging",
        ]);
        let r = write(
            &l,
            "review.json",
            &review(
                "c0ffee",
                "CREATE",
                ("apps", "v1", "Deployment", "deployments"),
                None,
                &deploy,
                None,
                true,
            )
            .to_string(),
        );
        let (c, v) = s.json("POST", "/admission/staging/eu-1", Some(&adm), Some(&r));
        assert_eq!((c, &v["response"]["allowed"]), (200, &json!(false)), "{v}");
        assert!(
            v["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains(&advisory)
        );
        let stop = l.json(&["posture", "--stop-list"]);
        assert_eq!(stop.as_array().unwrap().len(), 1, "{stop}");
        assert_eq!(stop[0]["namespace"], "shop-staging");
        assert_eq!(stop[0]["workload"], "Deployment/payments");
        let read0 = token(&l, &["--scope", "read"]);
        let (c, v) = s.json("GET", "/api/v1/posture?stop_list=true", Some(&read0), None);
        assert_eq!((c, &v["items"]), (200, &stop), "{v}");

        // The CLI and the API list the same firing alerts; one per
        // (workload, digest, rule, advisory), however often they are re-sent.
        let firing = l.json(&["alerts", "--state", "firing"]);
        let n = firing.as_array().unwrap().len();
        assert!(
            n >= 4,
            "fixable finding and untrusted build, in two environments: {firing}"
        );
        let read = token(&l, &["--scope", "read"]);
        let (c, v) = s.json("GET", "/api/v1/alerts?state=firing", Some(&read), None);
        assert_eq!((c, v["items"].as_array().unwrap().len()), (200, n), "{v}");
        let (c, v) = s.json("GET", "/api/v1/alerts?state=sleeping", Some(&read), None);
        problem(c, &v, 400, "bad_input");

        // A waiver on the advisory for that image: the alerts on the finding
        // resolve in Alertmanager and on the webhook; the others keep firing.
        let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1))
            .format("%Y-%m-%d")
            .to_string();
        l.ok(&[
            "waiver",
            "add",
            "--advisory",
            &advisory,
            "--digest",
            PAYMENTS,
            "--owner",
            "secops",
            "--reason",
            "fix ships Friday",
            "--expires",
            &tomorrow,
        ]);
        wait_for(
            "the finding's alerts to resolve in Alertmanager",
            30,
            || {
                let now = am_alerts();
                (!now
                    .iter()
                    .any(|a| a["labels"]["advisory"] == advisory.as_str())
                    && now.iter().any(|a| a["labels"]["rule"] == "untrusted-build"))
                .then_some(())
            },
        );
        wait_for("a resolved delivery on the webhook", 30, || {
            hook.lock().unwrap().iter().find_map(|(_, b, _)| {
                let v: Value = serde_json::from_slice(b).ok()?;
                (v["state"] == "resolved"
                    && v["labels"]["advisory"] == advisory.as_str()
                    && v["endsAt"].is_string())
                .then_some(())
            })
        });
        let resolved = l.json(&["alerts", "--state", "resolved"]);
        assert_eq!(resolved.as_array().unwrap().len(), 2, "{resolved}");
        // Re-sends (every 2 s here) go to Alertmanager alone: the firing
        // alerts of a round in one delivery that names their key range,
        // which the real Alertmanager took; the webhook, CloudEvents and
        // Slack sinks got changes only.
        let jobs = wait_for("a re-send delivered to Alertmanager", 30, || {
            let (c, v) = s.json("GET", "/api/v1/jobs?limit=1000", Some(&read), None);
            assert_eq!(c, 200, "{v}");
            let items = v["items"].as_array().unwrap().clone();
            items
                .iter()
                .any(|j| {
                    let r = &j["payload"]["resend"];
                    j["kind"] == "alert:am-0"
                        && j["state"] == "done"
                        && r["first"].is_string()
                        && r["first"] != r["last"]
                })
                .then_some(items)
        });
        for j in &jobs {
            if j["key"].as_str().unwrap_or("").contains("resend#") {
                assert_eq!(
                    j["kind"], "alert:am-0",
                    "only Alertmanager gets re-sends: {j}"
                );
            }
        }
        // The sink that is down never held up the others, and keeps its backlog.
        let metrics = s.call("GET", "/metrics", None, None).1;
        assert!(
            metrics.contains("source=\"broken\",outcome=\"failed\""),
            "{metrics}"
        );
        assert!(
            metrics.contains("source=\"am-0\",outcome=\"delivered\""),
            "{metrics}"
        );
        let _ = am.kill();
        let _ = am.wait();
    }
}
