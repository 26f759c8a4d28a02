//! The web console (`buildledger serve`, HTML pages) end to end over real
//! HTTPS on loopback, against both engines: sign-in with a read token (the
//! session cookie's attributes), every page with what it shows, no session
//! → `/login`, a token in a URL refused, ledger data rendered inert (a
//! `<script>` in a record's repo, tag, builder and component location), the
//! security headers on every page, search (digest and its prefix, commit
//! prefix, advisory alias, purl), sign-out, and no token in the log.
//!
//! The client is `curl` (a real, independent HTTP/TLS implementation).
//! `console_in_a_browser` then clicks through the console in chromium on a
//! ledger loaded from a real image, real advisories and real deployments.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{
    Ledger, engines, free_port, have, namespace, private_ca, report_inventory, root, running,
    shared_data, token,
};

const PAYMENTS_INDEX: &str =
    "sha256:6f1b1c3b0c2e9e8a4b1f0a3d5e7c9b2a4d6f8e0c1a3b5d7f9e1c3a5b7d9f1e3a";
const PAYMENTS: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const WORKER: &str = "sha256:4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";
const EVIL: &str = "sha256:eeeee0718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";
const GHA: &str = "https://ci.example/builders/github-actions";

/// A running server over TLS; killed (SIGKILL) on drop.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    ca: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One response: status, headers (lower-cased names), body.
struct Resp {
    code: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Server {
    fn start(l: &Ledger, tls: &Path) -> Server {
        let port = free_port();
        let log = l.path(&format!("server-{port}.log"));
        // Alerts every second, to an Alertmanager that is not there (port
        // 9 refuses): the alerts fire in the ledger whatever delivery does.
        let config = l.path("server.toml");
        std::fs::write(
            &config,
            "[alerts]\ninterval_secs = 1\n[[alerts.sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurls = [\"http://127.0.0.1:9\"]\n",
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .current_dir(root())
            .env("BUILDLEDGER_DB", &l.db)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(&config)
            .arg("--tls-cert")
            .arg(tls.join("cert.pem"))
            .arg("--tls-key")
            .arg(tls.join("key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let s = Server {
            child,
            base: format!("https://localhost:{port}"),
            log,
            ca: tls.join("ca.pem"),
        };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if s.req("GET", "/healthz", None, None).code == 200 {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "server did not come up: {}",
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
    }

    /// One request through curl (no redirects followed), with a session
    /// cookie and a form body if given.
    fn req(&self, method: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> Resp {
        let mut c = Command::new("curl");
        c.args(["-s", "-S", "-D", "-", "-o", "-", "-X", method, "--cacert"])
            .arg(&self.ca);
        if let Some(k) = cookie {
            c.args(["-H", &format!("Cookie: bl_session={k}")]);
        }
        if let Some(f) = form {
            c.args(["--data-raw", f]);
        }
        c.arg(format!("{}{path}", self.base));
        let o = c.output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        let mut lines = head.lines();
        let code = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Resp {
            code,
            headers,
            body: body.to_string(),
        }
    }

    /// A signed-in page: 200, HTML, with the security headers.
    fn page(&self, path: &str, session: &str) -> String {
        let r = self.req("GET", path, Some(session), None);
        assert_eq!(r.code, 200, "GET {path}: {}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        security_headers(&r, path);
        assert!(r.body.contains("<main>"), "{path}: {}", r.body);
        r.body
    }
}

fn security_headers(r: &Resp, what: &str) {
    assert_eq!(
        r.header("content-security-policy"),
        Some(
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
        ),
        "{what}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
}

/// The example records, a record with `<script>` in every free-text field,
/// and the example advisories.
fn load(l: &Ledger) {
    for f in ["payments-api.json", "ledger-worker.json"] {
        l.ok(&["record", "--file", &format!("examples/records/{f}")]);
    }
    evil(l);
    l.ok(&["feed", "import", "examples/advisories"]);
    // Where they run: the worker in production and staging, payments in
    // staging (pods as kubectl builds them, with a kubelet's status).
    if have("kubectl") {
        report_inventory(
            l,
            "eu-1",
            vec![
                running("worker", "shop", WORKER),
                running("worker", "shop-staging", WORKER),
                running("payments", "shop-staging", PAYMENTS),
            ],
            vec![
                namespace("shop", "production"),
                namespace("shop-staging", "staging"),
            ],
        );
    }
    // A waiver that ends in three days (so the overview lists it).
    let ends = (chrono::Utc::now() + chrono::TimeDelta::days(3))
        .format("%Y-%m-%d")
        .to_string();
    l.ok(&[
        "waiver",
        "add",
        "--advisory",
        "GO-2022-0969",
        "--digest",
        PAYMENTS,
        "--env",
        "staging",
        "--owner",
        "payments-team",
        "--reason",
        "not reachable: no HTTP/2 server",
        "--expires",
        &ends,
    ]);
}

/// A record with attacker-controlled text (`<script>`) in every free-text
/// field a record has: repository, tag, builder and component location.
fn evil(l: &Ledger) {
    let evil = l.path("evil.json");
    std::fs::write(
        &evil,
        format!(
            r#"{{"subjects":[{{"digest":"{EVIL}"}}],
            "source":{{"repo":"<script>alert(1)</script>","tag":"v1\"><script>alert(3)</script>"}},
            "builder":{{"id":"https://ci.example/<script>alert(4)</script>"}},
            "components":[{{"purl":"pkg:generic/%3Cscript%3Ealert(5)%3C%2Fscript%3E@1.0","location":"<script>alert(6)</script>"}}]}}"#
        ),
    )
    .unwrap();
    l.ok(&["record", "--file", evil.to_str().unwrap()]);
}

/// The `Location` of a 303 to `to`.
fn redirects(r: &Resp, to: &str, what: &str) {
    assert_eq!(r.code, 303, "{what}: {}", r.body);
    assert_eq!(r.header("location"), Some(to), "{what}");
}

#[test]
fn console_pages_sessions_and_escaping() {
    if !have("curl") || !have("openssl") {
        return;
    }
    for l in engines() {
        load(&l);
        let read = token(&l, &["--scope", "read", "--name", "console"]);
        let builder = token(&l, &["--scope", "builder:write", "--builder-id", GHA]);
        let revoked = token(&l, &["--scope", "read", "--name", "old"]);

        let tls = l.path("tls");
        std::fs::create_dir_all(&tls).unwrap();
        private_ca(&tls);
        let s = Server::start(&l, &tls);

        // No session: every page sends the browser to /login.
        for p in [
            "/".to_string(),
            format!("/images/{WORKER}"),
            "/advisories/GO-2022-0969".into(),
            "/table".into(),
            "/search?q=GO-2022-0969".into(),
        ] {
            let r = s.req("GET", &p, None, None);
            redirects(&r, "/login", &p);
            security_headers(&r, &p);
            // A bad cookie is no session either (and is cleared).
            let r = s.req("GET", &p, Some("blt_nonsense"), None);
            redirects(&r, "/login", &p);
            assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
        }

        // The login form: one password field with a label.
        let r = s.req("GET", "/login", None, None);
        assert_eq!(r.code, 200);
        security_headers(&r, "/login");
        assert!(r.body.contains("type=\"password\""), "{}", r.body);
        assert!(r.body.contains("<label for=\"token\""), "{}", r.body);
        assert_eq!(r.body.matches("<input").count(), 1, "{}", r.body);

        // A token in a URL is never accepted: not on the form, not on the
        // POST, not on a page.
        let r = s.req("GET", &format!("/login?token={read}"), None, None);
        assert_eq!(r.code, 400);
        assert!(r.header("set-cookie").is_none());
        let r = s.req("POST", &format!("/login?token={read}"), None, Some(""));
        assert_eq!(r.code, 400);
        assert!(r.header("set-cookie").is_none());
        let r = s.req("GET", &format!("/?token={read}"), None, None);
        redirects(&r, "/login", "/?token=");

        // Bad tokens do not sign in: unknown, revoked, without the read scope.
        let list = l.json(&["token", "list"]);
        let old = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "old")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        l.ok(&["token", "revoke", &old.to_string()]);
        for (bad, want) in [
            (format!("blt_{}", "0".repeat(64)), 401),
            ("not a token".to_string(), 401),
            (revoked.clone(), 401),
            (builder.clone(), 403),
        ] {
            let r = s.req("POST", "/login", None, Some(&format!("token={bad}")));
            assert_eq!(r.code, want, "{bad}: {}", r.body);
            assert!(r.header("set-cookie").is_none(), "{bad}");
        }
        // A revoked token's cookie is no session.
        redirects(
            &s.req("GET", "/", Some(&revoked), None),
            "/login",
            "revoked",
        );

        // Sign in: the cookie with every attribute, and a redirect to /.
        let r = s.req("POST", "/login", None, Some(&format!("token={read}")));
        redirects(&r, "/", "login");
        security_headers(&r, "POST /login");
        let cookie = r.header("set-cookie").unwrap().to_string();
        let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert_eq!(attrs[0], format!("bl_session={read}"), "{cookie}");
        for a in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(attrs.contains(&a), "{a} missing: {cookie}");
        }
        let session = attrs[0].strip_prefix("bl_session=").unwrap().to_string();

        // Overview: counts.
        let b = s.page("/", &session);
        assert!(b.contains("Overview") && b.contains("Images"), "{b}");
        assert!(b.contains("Findings") && b.contains("Advisories"), "{b}");
        assert!(b.contains("Signed in as console"), "{b}");
        assert!(!b.contains(&read), "the token was rendered");

        // Image: records (builder, trust, source, toolchains, components)
        // and findings (advisory, severity, fix).
        let b = s.page(&format!("/images/{WORKER}"), &session);
        for want in [
            WORKER,
            GHA,
            "unverified",
            "https://github.com/example/ledger-worker.git",
            "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
            "rustc@1.95.0",
            "pkg:cargo/tokio@1.38.0",
            "href=\"/advisories/RUSTSEC-2026-0009\"",
            "CVE-2026-25727",
            "0.3.47",
        ] {
            assert!(b.contains(want), "{want} missing on the image page: {b}");
        }
        let b = s.page(&format!("/images/{PAYMENTS}"), &session);
        for want in ["GO-2022-0969", "go@1.13.4", "1.18.6", PAYMENTS_INDEX] {
            assert!(b.contains(want), "{want} missing on the image page: {b}");
        }
        let r = s.req("GET", "/images/sha256:1234", Some(&session), None);
        assert_eq!(r.code, 400, "{}", r.body);
        let r = s.req(
            "GET",
            &format!("/images/sha256:{}", "9".repeat(64)),
            Some(&session),
            None,
        );
        assert_eq!(r.code, 404, "{}", r.body);
        security_headers(&r, "404");

        // Advisory, by id and by alias: the affected images.
        for id in ["GO-2022-0969", "CVE-2022-27664"] {
            let b = s.page(&format!("/advisories/{id}"), &session);
            for want in [
                PAYMENTS,
                PAYMENTS_INDEX,
                "GO-2022-0969",
                "pkg:golang/stdlib",
            ] {
                assert!(b.contains(want), "{want} missing on /advisories/{id}: {b}");
            }
            assert!(!b.contains(WORKER), "{b}");
        }
        let r = s.req("GET", "/advisories/CVE-0000-0000", Some(&session), None);
        assert_eq!(r.code, 404);

        // The mapping table, and its pages.
        let b = s.page("/table", &session);
        for want in [WORKER, PAYMENTS_INDEX, "rustc@1.95.0", "<th scope=\"col\">"] {
            assert!(b.contains(want), "{want} missing on /table: {b}");
        }
        // Keyset pages: after the last digest there is nothing; before the
        // first, nothing either; a position that is no digest is refused.
        let digests: Vec<&str> = b
            .match_indices("<a href=\"/images/")
            .map(|(i, _)| {
                let rest = &b[i + "<a href=\"/images/".len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        assert!(digests.len() >= 2, "{b}");
        assert!(
            digests.windows(2).all(|w| w[0] < w[1]),
            "digest order: {digests:?}"
        );
        let last = digests[digests.len() - 1];
        let b = s.page(&format!("/table?after={last}"), &session);
        assert!(!b.contains(WORKER) && !b.contains(PAYMENTS_INDEX), "{b}");
        assert!(
            b.contains("First page"),
            "a page after the first links back: {b}"
        );
        let b = s.page(&format!("/table?after={}", digests[0]), &session);
        assert!(!b.contains(&format!("/images/{}\"", digests[0])), "{b}");
        assert!(b.contains(&format!("/images/{}\"", digests[1])), "{b}");
        let b = s.page(&format!("/table?before={}", digests[1]), &session);
        assert!(b.contains(&format!("/images/{}\"", digests[0])), "{b}");
        assert!(!b.contains(&format!("/images/{}\"", digests[1])), "{b}");
        assert_eq!(
            s.req(
                "GET",
                &format!("/table?after={}", "a".repeat(300)),
                Some(&session),
                None
            )
            .code,
            400
        );
        assert_eq!(
            s.req(
                "GET",
                &format!("/table?after={last}&before={last}"),
                Some(&session),
                None
            )
            .code,
            400
        );

        // Search: a digest or an advisory redirects; a purl lists images.
        redirects(
            &s.req("GET", &format!("/search?q={WORKER}"), Some(&session), None),
            &format!("/images/{WORKER}"),
            "search digest",
        );
        redirects(
            &s.req("GET", "/search?q=CVE-2026-25727", Some(&session), None),
            "/advisories/CVE-2026-25727",
            "search alias",
        );
        // A digest prefix naming one image goes to it (with or without
        // `sha256:`); a commit prefix lists its records.
        for q in ["sha256:4e5f6071", "4E5F"] {
            redirects(
                &s.req("GET", &format!("/search?q={q}"), Some(&session), None),
                &format!("/images/{WORKER}"),
                q,
            );
        }
        let b = s.page("/search?q=9c1d2e3f", &session);
        assert!(
            b.contains(WORKER) && b.contains("example/ledger-worker"),
            "{b}"
        );
        assert!(!b.contains(PAYMENTS_INDEX), "{b}");
        assert_eq!(
            s.req("GET", "/search?q=sha256:ffff", Some(&session), None)
                .code,
            404
        );
        let b = s.page("/search?q=pkg:cargo/tokio", &session);
        assert!(b.contains(WORKER) && !b.contains(PAYMENTS_INDEX), "{b}");
        let r = s.req("GET", "/search?q=nothing-here", Some(&session), None);
        assert_eq!(r.code, 404);

        // Ledger data is text, never markup.
        let b = s.page(&format!("/images/{EVIL}"), &session);
        assert!(!b.contains("<script"), "markup from the ledger: {b}");
        for want in [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "v1&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;",
            "https://ci.example/&lt;script&gt;alert(4)&lt;/script&gt;",
            "&lt;script&gt;alert(6)&lt;/script&gt;",
        ] {
            assert!(b.contains(want), "{want} missing: {b}");
        }
        let b = s.page("/table", &session);
        assert!(!b.contains("<script"), "markup from the ledger: {b}");
        let r = s.req(
            "GET",
            "/search?q=%3Cscript%3Ealert(7)%3C/script%3E",
            Some(&session),
            None,
        );
        assert_eq!(r.code, 404);
        assert!(
            !r.body.contains("<script"),
            "markup from the query: {}",
            r.body
        );
        assert!(r.body.contains("&lt;script&gt;alert(7)"), "{}", r.body);

        console_views(&s, &l, &session);

        // Sign out clears the cookie.
        let r = s.req("POST", "/logout", Some(&session), Some(""));
        redirects(&r, "/login", "logout");
        assert!(
            r.header("set-cookie")
                .is_some_and(|c| c.starts_with("bl_session=;") && c.contains("Max-Age=0")),
            "{:?}",
            r.header("set-cookie")
        );

        // The JSON API is unchanged beside the console.
        let o = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&s.ca)
            .args(["-H", &format!("Authorization: Bearer {read}")])
            .arg(format!("{}/api/v1/table", s.base))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "200");

        // No token in any log line.
        let log = std::fs::read_to_string(&s.log).unwrap();
        for t in [&read, &builder, &revoked] {
            assert!(!log.contains(t.as_str()), "a token was logged: {log}");
        }
        assert!(log.contains("/images/{digest}"), "{log}");
    }
}

/// The text of the first `<tr>` in `b` that contains `needle`.
fn row_with<'a>(b: &'a str, needle: &str) -> &'a str {
    let at = b
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on the page: {b}"));
    let start = b[..at].rfind("<tr").unwrap_or(0);
    let end = at + b[at..].find("</tr>").unwrap_or(b.len() - at);
    &b[start..end]
}

/// The views over posture, alerts and waivers, the table's filters and
/// CSV, and the waiver forms (`waiver:write` only, same-origin only).
fn console_views(s: &Server, l: &Ledger, session: &str) {
    if !have("kubectl") {
        eprintln!("console views skipped: kubectl is not installed");
        return;
    }
    // The overview: containers by environment and decision, findings by
    // severity (with the chart), the waiver that ends soon, and — once the
    // alert loop has run — firing alerts.
    let t0 = Instant::now();
    let b = loop {
        let b = s.page("/", session);
        if !b.contains("Firing alerts (0)") || t0.elapsed() > Duration::from_secs(20) {
            break b;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(!b.contains("Firing alerts (0)"), "no alert fired: {b}");
    for want in [
        "Running containers",
        "href=\"/workloads?env=production\"",
        "href=\"/workloads?env=staging&amp;decision=deny\"",
        "Findings by severity",
        "<svg",
        "Findings per day",
        "payments-team",
        "Waivers ending within 14 days",
    ] {
        assert!(b.contains(want), "{want} missing on the overview: {b}");
    }
    // Staging: worker and payments denied (no verified build); production:
    // the worker warned, never denied.
    let staging = row_with(&b, ">staging</a>");
    assert!(staging.contains(">2</a>"), "{staging}");
    let prod = row_with(&b, ">production</a>");
    assert!(prod.contains("class=\"deny\">0<"), "{prod}");
    assert!(prod.contains("class=\"warn\"><a"), "{prod}");
    // The severity counts add up to the ledger's findings.
    let findings: u64 = l.json(&["info"])["findings"].as_u64().unwrap();
    let by_level: u64 = ["critical", "high", "medium", "low", "unknown"]
        .iter()
        .map(|lv| {
            let at = b.find(&format!("</strong>{lv}</li>")).unwrap();
            let open = b[..at].rfind("<strong>").unwrap() + "<strong>".len();
            b[open..at].parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(by_level, findings, "{b}");

    // Workloads: filtered by environment and decision; one workload.
    let b = s.page("/workloads?env=staging&decision=deny", session);
    assert!(b.contains("2 container(s)"), "{b}");
    assert!(
        b.contains("Deployment/worker") && b.contains("Deployment/payments"),
        "{b}"
    );
    assert!(
        b.contains("<code>untrusted-build</code>"),
        "a reason names its rule: {b}"
    );
    let b = s.page(
        "/workloads?cluster=eu-1&namespace=shop&workload=Deployment/worker",
        session,
    );
    assert!(b.contains("Workload <code>Deployment/worker</code>"), "{b}");
    assert!(
        b.contains("1 container(s)") && b.contains("production"),
        "{b}"
    );
    assert!(b.contains(&format!("/images/{WORKER}")), "{b}");
    // The page lists what `posture` lists, in its order.
    let b = s.page("/workloads", session);
    let shown: Vec<String> = b
        .match_indices("&amp;workload=")
        .map(|(i, _)| {
            let rest = &b[i + "&amp;workload=".len()..];
            rest[..rest.find('"').unwrap()].replace("%2F", "/")
        })
        .collect();
    let posture = l.json(&["posture"]);
    let listed: Vec<String> = posture
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["workload"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, listed, "{b}");
    assert!(b.contains(&format!("{} container(s)", listed.len())), "{b}");
    let r = s.req("GET", "/workloads?decision=maybe", Some(session), None);
    assert_eq!(r.code, 400, "{}", r.body);

    // The image: where it runs, its API surface, lineage.
    let b = s.page(&format!("/images/{WORKER}"), session);
    let runs = &b[b.find("Where it runs").unwrap()..];
    assert!(
        runs.contains("shop-staging") && runs.contains("production"),
        "{runs}"
    );
    for want in [
        "API surface",
        "example.ledger.v2alpha1.Worker/Replay",
        "alpha",
        "Base-image lineage",
    ] {
        assert!(b.contains(want), "{want} missing on the image page: {b}");
    }

    // The advisory: running workloads per environment, with what the
    // policy did and the waiver.
    let b = s.page("/advisories/GO-2022-0969", session);
    let radius = &b[b.find("Running workloads (1)").expect(&b)..];
    assert!(radius.contains("<h3>staging</h3>"), "{radius}");
    assert!(radius.contains("denied"), "{radius}");
    assert!(radius.contains("waived by payments-team"), "{radius}");

    // The table: filters, environment, sort, CSV.
    let b = s.page("/table?toolchain=rustc%40%3E%3D1.90", session);
    assert!(b.contains(WORKER) && !b.contains(PAYMENTS_INDEX), "{b}");
    let b = s.page("/table?package=pkg%3Acargo%2Ftokio", session);
    assert!(
        b.contains(WORKER) && !b.contains(&format!("/images/{PAYMENTS}\"")),
        "{b}"
    );
    let b = s.page("/table?api=alpha", session);
    assert!(
        b.contains(WORKER) && !b.contains(&format!("/images/{PAYMENTS}\"")),
        "{b}"
    );
    let b = s.page("/table?env=staging", session);
    assert!(
        b.contains(WORKER) && b.contains(&format!("/images/{PAYMENTS}\"")),
        "{b}"
    );
    assert!(!b.contains(&format!("/images/{EVIL}\"")), "{b}");
    let b = s.page("/table?env=production&package=pkg%3Acargo%2Ftokio", session);
    assert!(b.contains(WORKER), "{b}");
    let b = s.page(
        "/table?env=production&package=pkg%3Agolang%2Fstdlib",
        session,
    );
    assert!(b.contains("No image matches"), "{b}");
    let b = s.page("/table?sort=records&order=desc", session);
    assert!(b.contains("<option value=\"desc\" selected>"), "{b}");
    for bad in [
        "/table?sort=size",
        "/table?order=up",
        "/table?toolchain=rustc%40%3C%3Cx",
    ] {
        let r = s.req("GET", bad, Some(session), None);
        assert_eq!(r.code, 400, "{bad}: {}", r.body);
    }
    let r = s.req("GET", "/table.csv?env=staging", Some(session), None);
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(
        r.header("content-type").unwrap().starts_with("text/csv"),
        "{:?}",
        r.headers
    );
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(lines[0].starts_with("digest,repositories,"), "{}", r.body);
    assert_eq!(lines.len(), 3, "header + two images: {}", r.body);
    assert!(
        r.body.contains(WORKER) && r.body.contains(PAYMENTS),
        "{}",
        r.body
    );
    redirects(
        &s.req("GET", "/table.csv", None, None),
        "/login",
        "csv without a session",
    );

    // Waivers: a read token sees them but cannot add or revoke.
    let b = s.page("/waivers", session);
    assert!(
        b.contains("payments-team") && b.contains("needs a token with"),
        "{b}"
    );
    assert!(!b.contains("Add waiver"), "{b}");
    let form = format!(
        "advisory=RUSTSEC-2026-0009&scope=digest&value={WORKER}&env=staging&owner=sec&reason=r&expires=2099-01-01"
    );
    let r = s.req("POST", "/waivers", Some(session), Some(&form));
    assert_eq!(r.code, 403, "{}", r.body);
    let writer = token(
        l,
        &[
            "--scope",
            "read",
            "--scope",
            "waiver:write",
            "--name",
            "sec-lead",
        ],
    );
    let b = s.page("/waivers", &writer);
    assert!(b.contains("Add waiver"), "{b}");
    // From another site: refused, nothing stored.
    let cross = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(&s.ca)
        .args(["-H", &format!("Cookie: bl_session={writer}")])
        .args(["-H", "Origin: https://evil.example"])
        .args(["--data-raw", &form.replace("2099-01-01", &in_days(30))])
        .arg(format!("{}/waivers", s.base))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cross.stdout), "403");
    // A bad expiry names the problem and keeps what was typed.
    let r = s.req(
        "POST",
        "/waivers",
        Some(&writer),
        Some(&form.replace("2099-01-01", "2001-01-01")),
    );
    assert_eq!(r.code, 400, "{}", r.body);
    assert!(
        r.body.contains("in the past") && r.body.contains("value=\"sec\""),
        "{}",
        r.body
    );
    let before = l.json(&["waiver", "list"]).as_array().unwrap().len();
    let audited = l.json(&["audit", "verify"])["entries"].as_u64().unwrap();
    let r = s.req(
        "POST",
        "/waivers",
        Some(&writer),
        Some(&form.replace("2099-01-01", &in_days(30))),
    );
    redirects(&r, "/waivers", "waiver add");
    let list = l.json(&["waiver", "list"]);
    assert_eq!(list.as_array().unwrap().len(), before + 1, "{list}");
    let added = list
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["advisory"] == "RUSTSEC-2026-0009")
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(added["scope_value"], WORKER, "{added}");
    let id = added["id"].as_i64().unwrap();
    let r = s.req(
        "POST",
        &format!("/waivers/{id}/revoke"),
        Some(session),
        Some(""),
    );
    assert_eq!(r.code, 403, "a read token revoked: {}", r.body);
    let r = s.req(
        "POST",
        &format!("/waivers/{id}/revoke"),
        Some(&writer),
        Some(""),
    );
    redirects(&r, "/waivers", "waiver revoke");
    let list = l.json(&["waiver", "list"]);
    assert_eq!(list.as_array().unwrap().len(), before, "{list}");
    // The add and the revocation are in the audit log, which verifies.
    let a = l.json(&["audit", "verify"]);
    assert_eq!(a["intact"], true, "{a}");
    assert_eq!(a["entries"].as_u64().unwrap(), audited + 2, "{a}");

    // A second cluster whose namespace has no environment: the overview's
    // "(none)" row links to exactly its container, not to every one.
    if have("kubectl") {
        report_inventory(
            l,
            "lab",
            vec![running("payments", "scratch", PAYMENTS)],
            vec![],
        );
        let b = s.page("/", session);
        let link = "href=\"/workloads?env=%28none%29\"";
        assert!(b.contains(link), "{b}");
        let none = row_with(&b, ">(none)</a>");
        assert!(none.contains(">1</a>"), "{none}");
        let b = s.page("/workloads?env=%28none%29", session);
        assert!(b.contains("1 container(s)"), "{b}");
        assert!(b.contains("scratch") && !b.contains("shop-staging"), "{b}");
        // Every container still counts when no environment is asked for.
        let b = s.page("/workloads", session);
        assert!(b.contains("4 container(s)"), "{b}");
    }
}

/// The date `n` days from now (`YYYY-MM-DD`).
fn in_days(n: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::days(n))
        .format("%Y-%m-%d")
        .to_string()
}

/// Reasons the workloads page lists per container (the rest are counted).
const REASONS_SHOWN: usize = 5;

/// Firing alerts the overview lists (the newest; the rest are counted).
const ALERTS_SHOWN: usize = 20;

/// The scenario's image as its scan, and the oracles that checked the
/// scan, describe it.
struct Shop {
    /// Its manifest digest, under which `scan --record` recorded it.
    digest: String,
    /// Components of its record.
    components: usize,
    /// libc6 as the scan reports it (purl); name and version are what
    /// dpkg-query reads in the root file system.
    deb: String,
    /// The Go toolchain of its record (`go@1.19.8`), as `go version -m`
    /// reads the Go binary.
    go_toolchain: String,
    /// The Go standard library's purl, at that version.
    stdlib: String,
    /// golang.org/x/net's purl, at the version `go version -m` reads.
    xnet: String,
    /// smallvec's purl, at the version `Cargo.lock` pins.
    rust: String,
}

/// `src/main.rs` of the scenario's Rust service: it calls
/// `SmallVec::insert_many`, the function a RustSec advisory on smallvec
/// 1.6.0 is about.
const QUEUE_MAIN: &str = "fn main() {\n    let mut q: smallvec::SmallVec<[u32; 4]> = smallvec::SmallVec::new();\n    q.insert_many(0, [3, 5, 8]);\n    println!(\"{} queued\", q.len());\n}\n";

/// `%XX` escapes of a purl segment decoded.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The scenario's image, built and scanned into `l`: a Debian bookworm
/// minbase root file system (debootstrap; cached with the scan crate's
/// fixtures, same call and stamp, so the two suites build it once), a static
/// Go binary built offline by Debian's Go 1.19 that links an old
/// golang.org/x/net (the `xnet` program of `tests/govulncheck/`, Debian's
/// sources vendored under the version its `go.mod` requires), and a
/// cargo-auditable binary that links smallvec 1.6.0; one layer each (umoci),
/// scanned with `scan oci:LAYOUT:TAG --record --json`. What the scan
/// reports is checked against dpkg-query, `go version -m` and `Cargo.lock`.
/// `None`: a tool is missing (a skip; a failure under `CI=true`).
fn shop_image(l: &Ledger) -> Option<Shop> {
    use buildledger_testkit::tools::{require_tool, run};
    use buildledger_testkit::{auditable, ci::require, go, oci::umoci, rootfs};
    let go_bin = go::debian_go();
    if !require(
        go_bin.is_some(),
        "Debian's Go 1.19 (apt-get install golang-go)",
    ) || !require(
        Path::new(go::GOCODE).join("golang.org/x/net/html").is_dir(),
        "golang.org/x/net sources (apt-get install golang-golang-x-net-dev)",
    ) || !auditable::require_cargo_auditable()
        || !["umoci", "debootstrap", "dpkg-query"]
            .into_iter()
            .all(require_tool)
    {
        return None;
    }
    let go_bin = go_bin.unwrap();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let rootfs = rootfs::debootstrap_minbase(&tmp.join("scan-fixtures"), "BUILDLEDGER_SCAN_FRESH")?;

    // The Go service: static (CGO_ENABLED=0), offline, vendored.
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/govulncheck/xnet");
    let src = l.path("go-src");
    std::fs::create_dir_all(&src).unwrap();
    for f in ["go.mod", "main.go"] {
        std::fs::copy(program.join(f), src.join(f)).unwrap();
    }
    go::vendor_gocode(&src, &[("golang.org/x/net", "golang.org/x/net/html")]);
    let api = l.path("shop-api");
    run(go::command(
        &go_bin,
        &src,
        &tmp.join("go-build-cache"),
        &l.path("gopath"),
        "-mod=vendor",
    )
    .args(["build", "-trimpath", "-o"])
    .arg(&api)
    .arg("."));
    let (go_version, body) =
        go::version_m(&go_bin, &api).expect("go version -m sees no build info");
    let xnet_version = go::modules(&body)
        .into_iter()
        .find(|m| m.path == "golang.org/x/net")
        .unwrap_or_else(|| panic!("go version -m lists no golang.org/x/net: {body}"))
        .version;
    let go_version = go_version
        .strip_prefix("go")
        .unwrap_or_else(|| panic!("Go version {go_version}"))
        .to_string();

    // The Rust service.
    let queue = auditable::build_crate(
        &l.path("rust-src"),
        &tmp.join("console-rust-target"),
        "shop-queue",
        "0.1.0",
        &[("smallvec", "1.6.0")],
        QUEUE_MAIN,
    )?;
    let lock =
        auditable::lock_packages(&std::fs::read_to_string(l.path("rust-src/Cargo.lock")).unwrap());
    let smallvec = &lock
        .iter()
        .find(|(n, _)| n == "smallvec")
        .unwrap_or_else(|| panic!("no smallvec in Cargo.lock: {lock:?}"))
        .1;

    // The image: the root file system, then a layer per binary, as a
    // multi-stage build leaves them.
    let layout = l.path("layout");
    let image = format!("{}:1.0", layout.display());
    let p = |x: &Path| x.to_str().expect("UTF-8 path").to_string();
    umoci(&["init", "--layout", &p(&layout)]);
    umoci(&["new", "--image", &image]);
    umoci(&["insert", "--image", &image, &p(&rootfs), "/"]);
    umoci(&[
        "insert",
        "--image",
        &image,
        &p(&api),
        "/usr/local/bin/shop-api",
    ]);
    umoci(&[
        "insert",
        "--image",
        &image,
        &p(&queue),
        "/usr/local/bin/shop-queue",
    ]);
    let scanned = l.json(&["scan", &format!("oci:{image}"), "--record"]);
    let scan = &scanned["scan"];
    assert_eq!(scan["complete"], true, "the scan skipped something");
    let digest = scan["image"]["manifest_digest"]
        .as_str()
        .unwrap_or_else(|| panic!("scan --json has no manifest digest: {}", scan["image"]))
        .to_string();

    // The Debian packages are dpkg's.
    let dpkg = run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n"]));
    let installed: std::collections::BTreeSet<(String, String)> = dpkg
        .lines()
        .filter_map(|line| match line.split('\t').collect::<Vec<_>>()[..] {
            [status, name, version] if status.trim() == "ii" => {
                Some((name.to_string(), version.to_string()))
            }
            _ => None,
        })
        .collect();
    let packages = scan["packages"].as_array().expect("scan --json packages");
    let indexed: std::collections::BTreeSet<(String, String)> = packages
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(installed.len() > 50, "{dpkg}");
    assert_eq!(indexed, installed, "the scan's packages vs dpkg-query");
    let libc = installed
        .iter()
        .find(|(n, _)| n == "libc6")
        .expect("dpkg-query lists libc6");
    let deb = packages
        .iter()
        .find(|p| p["name"] == "libc6")
        .and_then(|p| p["purl"].as_str())
        .unwrap()
        .to_string();
    let (_, purl_version) = deb.split_once('@').unwrap();
    assert_eq!(
        percent_decoded(purl_version.split('?').next().unwrap()),
        libc.1,
        "{deb}"
    );

    // The record: every component, the Go toolchain.
    let shown = l.json(&["show", &digest]);
    let records = shown["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{shown}");
    let record = &records[0];
    assert_eq!(
        (&record["origin"], &record["trust"]["state"]),
        (&"indexer".into(), &"observed".into())
    );
    let components: Vec<&str> = record["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    let shop = Shop {
        components: components.len(),
        deb,
        go_toolchain: format!("go@{go_version}"),
        stdlib: format!("pkg:golang/stdlib@{go_version}"),
        xnet: format!("pkg:golang/golang.org/x/net@{xnet_version}"),
        rust: format!("pkg:cargo/smallvec@{smallvec}"),
        digest,
    };
    // One component per Debian package, and what the two binaries carry:
    // the Go module, the standard library and toolchain that built the Go
    // binary, the crate in the Rust one.
    assert!(components.contains(&shop.deb.as_str()), "{components:?}");
    let (debs, mut others): (Vec<&str>, Vec<&str>) =
        components.iter().partition(|p| p.starts_with("pkg:deb/"));
    assert_eq!(debs.len(), installed.len(), "{debs:?}");
    others.sort_unstable();
    let toolchain = format!("pkg:golang/toolchain@{go_version}");
    let mut carried = vec![
        shop.stdlib.as_str(),
        shop.xnet.as_str(),
        shop.rust.as_str(),
        toolchain.as_str(),
    ];
    carried.sort_unstable();
    assert_eq!(others, carried);
    let toolchains: Vec<String> = record["toolchains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}@{}",
                t["name"].as_str().unwrap(),
                t["version"].as_str().unwrap()
            )
        })
        .collect();
    assert!(toolchains.contains(&shop.go_toolchain), "{toolchains:?}");
    Some(shop)
}

/// The console in a real browser: Debian's `chromium` driven by
/// `playwright-core`, `axe-core` in every page (no serious or critical
/// violation), a screenshot of each page under the test's directory
/// (`browser/*.png`; `BUILDLEDGER_CONSOLE_SCREENSHOTS` names another
/// directory to keep them), on a ledger loaded as production would load it:
/// a real image (a Debian root file system, a Go binary linking an old
/// golang.org/x/net, a cargo-auditable binary linking smallvec 1.6.0; see
/// [`shop_image`]) indexed by `scan --record`, the Go and RustSec advisories
/// of `../shared` imported, the image running in production and staging
/// (pods as kubectl builds them), a waiver on one of its Go standard
/// library findings in staging, and the alerts the server's alert loop
/// fired, checked against the posture. The browser clicks overview →
/// advisory (the link of a firing alert about golang.org/x/net) → image →
/// workload, filters the table, adds and revokes a waiver, searches, and
/// opens a record with `<script>` in its fields; every value it looks for
/// comes from the scan, the oracles or the ledger's own answers. Skipped
/// with a message when chromium, the npm modules (`.ci/run` installs them
/// into `.ci/browser`), kubectl, umoci, debootstrap, Debian's Go,
/// cargo-auditable or `../shared` is missing; a failure under `CI=true`.
#[test]
fn console_in_a_browser() {
    let modules = std::env::var_os("BUILDLEDGER_BROWSER_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci/browser/node_modules"));
    let chromium = ["chromium", "chromium-browser"].into_iter().find_map(|c| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(c))
            .find(|p| p.is_file())
    });
    if !buildledger_testkit::ci::require(chromium.is_some(), "chromium (apt install chromium)")
        || !buildledger_testkit::ci::require(
            modules.join("playwright-core").is_dir() && modules.join("axe-core").is_dir(),
            &format!(
                "playwright-core and axe-core in {} (npm install --prefix .ci/browser playwright-core axe-core)",
                modules.display()
            ),
        )
        || !buildledger_testkit::ci::require(
            have("kubectl"),
            "kubectl (builds the scenario's pods)",
        )
        || !have("node")
        || !have("curl")
        || !have("openssl")
    {
        return;
    }
    let (Some(osv_go), Some(osv_crates)) = (shared_data("osv/go"), shared_data("osv/crates.io"))
    else {
        return;
    };
    let started = Instant::now();
    let l = Ledger::sqlite();
    let Some(shop) = shop_image(&l) else {
        return;
    };
    let built = started.elapsed();
    let digest = shop.digest.as_str();
    for d in [&osv_go, &osv_crates] {
        l.ok(&["feed", "import", d.to_str().unwrap()]);
    }
    let vulns = l.json(&["vulns", digest]);
    let findings = vulns.as_array().unwrap();
    let on = |purl: &str| -> Vec<&serde_json::Value> {
        findings.iter().filter(|f| f["purl"] == purl).collect()
    };
    // smallvec's advisory and its CVE alias (what the search step types).
    let rust = on(&shop.rust);
    assert!(!rust.is_empty(), "no advisory on {}: {vulns}", shop.rust);
    let rust_advisory = rust[0]["advisory"].as_str().unwrap().to_string();
    let alias = rust[0]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.starts_with("CVE-"))
        .unwrap_or_else(|| panic!("{rust_advisory} has no CVE alias"))
        .to_string();
    // x/net's advisories whose vulnerable functions the binary calls.
    let xnet_present: Vec<&str> = on(&shop.xnet)
        .into_iter()
        .filter(|f| f["reachability"]["state"] == "present")
        .map(|f| f["advisory"].as_str().unwrap())
        .collect();
    assert!(
        !xnet_present.is_empty(),
        "html.Parse is called, yet no x/net finding is present: {vulns}"
    );
    // The waiver: a standard-library finding the policy counts (its
    // functions are in the binary, or the advisory names none).
    let waived = on(&shop.stdlib)
        .into_iter()
        .find(|f| f["kind"] == "vuln" && f["reachability"]["state"] != "absent")
        .unwrap_or_else(|| panic!("no counted finding on {}: {vulns}", shop.stdlib))["advisory"]
        .as_str()
        .unwrap()
        .to_string();

    // The image runs in production and staging.
    report_inventory(
        &l,
        "eu-1",
        vec![
            running("shop-api", "shop", digest),
            running("shop-api", "shop-staging", digest),
        ],
        vec![
            namespace("shop", "production"),
            namespace("shop-staging", "staging"),
        ],
    );
    // A waiver in staging that ends in three days (so the overview lists it).
    let ends = in_days(3);
    l.ok(&[
        "waiver",
        "add",
        "--advisory",
        &waived,
        "--digest",
        digest,
        "--env",
        "staging",
        "--owner",
        "platform-team",
        "--reason",
        "the Go 1.19 point release is rolled out next week",
        "--expires",
        &ends,
    ]);
    evil(&l);
    let read = token(
        &l,
        &[
            "--scope",
            "read",
            "--scope",
            "waiver:write",
            "--name",
            "browser",
        ],
    );
    let tls = l.path("tls");
    std::fs::create_dir_all(&tls).unwrap();
    private_ca(&tls);
    let s = Server::start(&l, &tls);

    // One alert per flagged (container, rule, advisory) of the posture,
    // fired by the server's alert loop.
    let posture = l.json(&["posture"]);
    let entries = posture.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{posture}");
    let flagged: usize = entries
        .iter()
        .filter(|e| e["decision"] != "allow")
        .map(|e| e["reasons"].as_array().unwrap().len())
        .sum();
    assert!(flagged > 0, "{posture}");
    let t0 = Instant::now();
    let firing = loop {
        let a = l.json(&["alerts", "--state", "firing"]);
        if a.as_array().unwrap().len() == flagged || t0.elapsed() > Duration::from_secs(30) {
            break a;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let firing = firing.as_array().unwrap();
    assert_eq!(
        firing.len(),
        flagged,
        "alerts vs the posture's reasons: {posture}\n{firing:?}"
    );
    let label = |a: &serde_json::Value, k: &str| a["labels"][k].as_str().unwrap_or("").to_string();
    let entry_of = |a: &serde_json::Value| {
        entries
            .iter()
            .find(|e| {
                e["cluster"] == label(a, "cluster").as_str()
                    && e["namespace"] == label(a, "namespace").as_str()
                    && e["workload"] == label(a, "workload").as_str()
            })
            .unwrap_or_else(|| panic!("an alert for no running container: {a}"))
    };
    // The waiver holds in staging only.
    let about = |env: &str, id: &str| {
        firing
            .iter()
            .any(|a| label(a, "environment") == env && label(a, "advisory") == id)
    };
    assert!(!about("staging", &waived), "{waived} waived in staging");
    assert!(about("production", &waived), "{waived} fires in production");
    // The alert the browser follows: the first the overview lists about an
    // x/net advisory whose functions the binary calls, in a container whose
    // first reasons (those the workloads page lists) name it.
    let head = &firing[..firing.len().min(ALERTS_SHOWN)];
    let alert = head
        .iter()
        .map(|a| label(a, "advisory"))
        .filter(|id| xnet_present.contains(&id.as_str()))
        .find_map(|id| {
            let a = head.iter().find(|a| label(a, "advisory") == id)?;
            let reasons = entry_of(a)["reasons"].as_array().unwrap();
            reasons
                .iter()
                .take(REASONS_SHOWN)
                .any(|r| r["advisory"] == id.as_str())
                .then_some(a)
        })
        .unwrap_or_else(|| {
            panic!("no alert the overview lists is about x/net ({xnet_present:?}): {head:?}")
        });
    assert_eq!(label(alert, "digest"), digest, "{alert}");
    let entry = entry_of(alert);
    let reasons = entry["reasons"].as_array().unwrap();
    // Where the image runs: (environment, decision) as its page lists them.
    let mut runs: Vec<[&str; 2]> = entries
        .iter()
        .map(|e| {
            [
                e["environment"].as_str().unwrap(),
                e["decision"].as_str().unwrap(),
            ]
        })
        .collect();
    runs.sort_unstable();
    // An advisory's blast radius as its page lists it: (environment,
    // decision, whether an alert about it fires for the container, the
    // finding's state there).
    let radius = |id: &str| -> Vec<[String; 4]> {
        let mut rows: Vec<[String; 4]> = entries
            .iter()
            .map(|e| {
                let env = e["environment"].as_str().unwrap();
                let fires = firing.iter().any(|a| {
                    ["cluster", "namespace", "workload"]
                        .into_iter()
                        .all(|k| e[k] == label(a, k).as_str())
                        && label(a, "advisory") == id
                });
                [
                    env.to_string(),
                    match e["decision"].as_str() {
                        Some("deny") => "denied",
                        Some("warn") => "warned",
                        _ => "allowed",
                    }
                    .to_string(),
                    (if fires { "firing" } else { "—" }).to_string(),
                    if id == waived && env == "staging" {
                        format!("waived by platform-team until {ends}")
                    } else {
                        "open".to_string()
                    },
                ]
            })
            .collect();
        rows.sort_unstable();
        rows
    };

    // Screenshots go under the test's directory, or where
    // BUILDLEDGER_CONSOLE_SCREENSHOTS says (to keep them).
    let out = std::env::var_os("BUILDLEDGER_CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| l.path("browser"));
    std::fs::create_dir_all(&out).unwrap();
    let want = serde_json::json!({
        "image": digest,
        "components": shop.components,
        "deb": shop.deb,
        "toolchain": shop.go_toolchain,
        "xnet": shop.xnet,
        "rust": shop.rust,
        "advisory": rust_advisory,
        "alias": alias,
        "firing": firing.len(),
        "alertAdvisory": label(alert, "advisory"),
        "alertEnvironment": label(alert, "environment"),
        "alertNamespace": label(alert, "namespace"),
        "alertWorkload": label(alert, "workload"),
        "alertDecision": entry["decision"],
        "running": entries.len(),
        "runs": runs,
        "alertRadius": radius(&label(alert, "advisory")),
        "waivedRadius": radius(&waived),
        "workloadReasons": reasons
            .iter()
            .take(REASONS_SHOWN)
            .filter_map(|r| r["advisory"].as_str())
            .collect::<Vec<_>>(),
        "moreReasons": reasons.len().saturating_sub(REASONS_SHOWN),
        "cluster": "eu-1",
        "waived": waived,
        "waiverOwner": "platform-team",
        "evil": EVIL,
        "expires": in_days(30),
    });
    let browsing = Instant::now();
    let o = Command::new("node")
        .arg(root().join("crates/buildledger-cli/tests/browser/console.cjs"))
        .env("BL_NODE_MODULES", &modules)
        .env("BL_BASE", &s.base)
        .env("BL_TOKEN", &read)
        .env("BL_OUT", &out)
        .env("BL_CHROMIUM", chromium.as_ref().unwrap())
        .env("BL_WANT", want.to_string())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "browser suite failed ({want}):\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for p in [
        "login",
        "overview",
        "advisory",
        "image",
        "workload",
        "waived",
        "table",
        "table-image",
        "table-filtered",
        "waivers",
        "search",
        "escaped",
    ] {
        let f = out.join(format!("{p}.png"));
        assert!(
            std::fs::metadata(&f).is_ok_and(|m| m.len() > 0),
            "no screenshot {}",
            f.display()
        );
    }
    eprintln!(
        "console in a browser: image {digest} ({} components, {} findings, {} alerts firing; followed {} in {}), built and scanned in {:.1?}, browser {:.1?}, all {:.1?}; screenshots: {}",
        shop.components,
        findings.len(),
        firing.len(),
        label(alert, "advisory"),
        label(alert, "environment"),
        built,
        browsing.elapsed(),
        started.elapsed(),
        out.display()
    );
}
