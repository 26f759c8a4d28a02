//! The web console (issue 15, first slice): server-rendered HTML pages over
//! the same application-layer use cases the JSON API calls, for people who
//! would rather look than type. No JavaScript, no external assets: the
//! little CSS there is sits in a `<style>` block in the binary.
//!
//! Pages: `/login` (a form with one password field taking an API token),
//! `/logout`, `/` (overview counts), `/images/{digest}` (records and
//! findings), `/advisories/{id}` (affected images, by id or any alias),
//! `/table` (the mapping table, paginated), `/search?q=` (digest, advisory
//! id or purl → a redirect or a list).
//!
//! Session: the cookie carries the API token itself (`bl_session`,
//! `HttpOnly; Secure; SameSite=Strict; Path=/`), and every page
//! authenticates it exactly as the API authenticates a bearer token
//! (`tokens::authenticate`, then the `read` scope). So replicas need no
//! shared session secret or session table, and a revoked token stops
//! working at the next page, not at some session expiry. The token is
//! accepted only in the body of `POST /login` (never in a URL: a `token`
//! query parameter is refused), is never rendered, and is never logged: the
//! request log carries the method, route template and status only, and the
//! authentication errors never repeat the token.
//!
//! Escaping: every piece of ledger data is attacker-controlled text. Pages
//! are built with [`Html`], whose only way to add a non-`'static` string is
//! [`Html::text`], which escapes it; links to ledger values percent-encode
//! the path segment first, and a source repository becomes a link only when
//! it is an `https://` URL.

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use buildledger_service::tokens::{self, Principal, Scope};
use buildledger_service::types::{ImageFinding, ImageView};
use buildledger_service::{posture, query, reads};
use serde::Deserialize;

use crate::app::AppState;
use crate::problem::ApiError;

mod overview;
mod table;
mod waivers;
mod workloads;

/// The session cookie's name.
const COOKIE: &str = "bl_session";

/// Rows of the mapping table per page.
const TABLE_PAGE: usize = 50;

/// Running containers listed on an image's or an advisory's page.
const RUNNING_SHOWN: usize = TABLE_PAGE;

/// Components listed per record before the list is cut.
const MAX_COMPONENTS: usize = 500;

/// The console's routes, with their security headers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/", get(overview::overview))
        .route("/workloads", get(workloads::workloads))
        .route("/waivers", get(waivers::list).post(waivers::add))
        .route("/waivers/{id}/revoke", post(waivers::revoke))
        .route("/table.csv", get(table::table_csv))
        .route("/images/{digest}", get(image))
        .route("/advisories/{id}", get(advisory))
        .route("/table", get(table::table))
        .route("/search", get(search))
        .layer(middleware::from_fn(security_headers))
}

/// The headers every console response carries.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// HTML under construction. Markup is added only as `'static` strings
/// ([`Html::raw`]); anything else goes through [`Html::text`], which
/// escapes it, so ledger data cannot become markup.
#[derive(Default)]
pub(crate) struct Html(String);

impl Html {
    /// Literal markup.
    fn raw(&mut self, s: &'static str) -> &mut Html {
        self.0.push_str(s);
        self
    }

    /// Text (or an attribute value), escaped.
    fn text(&mut self, s: &str) -> &mut Html {
        for c in s.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// A link to `prefix` + the percent-encoded `segment`, showing `label`.
    fn link(&mut self, prefix: &'static str, segment: &str, label: &str) -> &mut Html {
        self.raw("<a href=\"")
            .raw(prefix)
            .text(&path_segment(segment))
            .raw("\">")
            .text(label)
            .raw("</a>")
    }

    /// `<code>` text.
    fn code(&mut self, s: &str) -> &mut Html {
        self.raw("<code>").text(s).raw("</code>")
    }

    /// A `<dt>`/`<dd>` pair with escaped text (nothing when `v` is None).
    fn item(&mut self, k: &'static str, v: Option<&str>) -> &mut Html {
        if let Some(v) = v {
            self.raw("<dt>")
                .raw(k)
                .raw("</dt><dd>")
                .text(v)
                .raw("</dd>");
        }
        self
    }
}

/// A query string under construction: `?k=v&…`, every key and value
/// percent-encoded (the result still goes through [`Html::text`] in an
/// attribute).
#[derive(Default)]
struct QueryString(String);

impl QueryString {
    fn push(&mut self, k: &str, v: &str) {
        self.0.push(if self.0.is_empty() { '?' } else { '&' });
        self.0.push_str(&path_segment(k));
        self.0.push('=');
        self.0.push_str(&path_segment(v));
    }

    fn finish(self) -> String {
        self.0
    }
}

/// A link to a workload's page.
fn workload_link(b: &mut Html, cluster: &str, namespace: &str, workload: &str) {
    let mut q = QueryString::default();
    q.push("cluster", cluster);
    q.push("namespace", namespace);
    q.push("workload", workload);
    b.raw("<a href=\"/workloads")
        .text(&q.finish())
        .raw("\">")
        .text(workload)
        .raw("</a>");
}

/// A digest shortened for a table cell (`sha256:` and 12 hex digits); the
/// full digest stays in the link.
fn short(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}…", &hex[..12]),
        _ => d.to_string(),
    }
}

/// `s` percent-encoded as one path segment (only unreserved characters and
/// `:` left as they are).
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const STYLE: &str = "<style>
:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.45}
body{margin:0}header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;border-bottom:1px solid #8886;padding-block:.5rem}
nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:0;padding:0}
a{color:#0645ad}@media (prefers-color-scheme:dark){a{color:#8ab4f8}}
code{font-size:.9em;overflow-wrap:anywhere}
.scroll{overflow-x:auto;position:relative}table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #8884}
main a,td code,td small{overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
input,button{font:inherit;padding:.35rem .6rem}label{display:block;margin-bottom:.25rem}
.counts{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:1rem;padding:0;list-style:none}
.counts li{border:1px solid #8886;border-radius:.4rem;padding:.6rem}.counts strong{display:block;font-size:1.6rem}
.inline{display:inline}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0 1rem}
.filters div{display:flex;flex-direction:column}select{font:inherit;padding:.35rem .6rem}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.chart{width:100%;max-width:40rem;height:auto}figure{margin:0}
.legend{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0}.swatch{display:inline-block;width:1rem;height:.6rem;margin-right:.3rem}
.plain{list-style:none;margin:0;padding:0}.problem{border-left:4px solid #b3261e;padding-left:.5rem}
strong.deny{color:#b3261e}strong.warn{color:#8a4b00}@media (prefers-color-scheme:dark){strong.deny{color:#ff8a80}strong.warn{color:#ffcc80}}
@media (max-width:40rem){dl{grid-template-columns:1fr}}
</style>";

/// A whole page: head, navigation (with search and sign-out when signed
/// in), `body` in `<main>`.
fn page(status: StatusCode, title: &str, who: Option<&Principal>, body: Html) -> Response {
    let mut h = Html::default();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · buildledger</title>")
        .raw(STYLE)
        .raw("</head><body><header><strong>buildledger</strong>");
    if let Some(p) = who {
        h.raw("<nav aria-label=\"Main\"><ul><li><a href=\"/\">Overview</a></li>")
            .raw("<li><a href=\"/workloads\">Workloads</a></li>")
            .raw("<li><a href=\"/table\">Mapping table</a></li>")
            .raw("<li><a href=\"/waivers\">Waivers</a></li></ul></nav>")
            .raw("<form role=\"search\" method=\"get\" action=\"/search\">")
            .raw("<label for=\"q\" class=\"inline\">Search </label>")
            .raw("<input id=\"q\" name=\"q\" type=\"search\" placeholder=\"digest, commit, advisory or purl\"> ")
            .raw("<button type=\"submit\">Search</button></form>")
            .raw("<form method=\"post\" action=\"/logout\" class=\"inline\"><span>Signed in as ")
            .text(&p.name)
            .raw("</span> <button type=\"submit\">Sign out</button></form>");
    }
    h.raw("</header><main>").0.push_str(&body.0);
    h.raw("</main></body></html>");
    let mut r = (status, h.0).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// An error page for a failed use case.
fn error_page(e: ApiError, who: Option<&Principal>) -> Response {
    let mut b = Html::default();
    b.raw("<h1>")
        .text(&e.problem.title)
        .raw("</h1><p>")
        .text(&e.problem.detail)
        .raw("</p>");
    page(e.status, &e.problem.title.clone(), who, b)
}

/// `303 See Other` to `to`.
fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The `Set-Cookie` that removes the session.
fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("bl_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// The session token from the `Cookie` header(s), if any.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The caller, from the session cookie, with the `read` scope; otherwise
/// the response to send instead (to `/login`, or an error page when the
/// ledger could not be asked).
async fn session(st: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    let to_login = |clear: bool| {
        let mut r = see_other("/login");
        if clear {
            r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
        }
        r
    };
    let Some(token) = session_token(headers) else {
        return Err(to_login(false));
    };
    match authenticate(st, token).await {
        Ok(p) => Ok(p),
        Err(e) if matches!(e.status.as_u16(), 401 | 403) => Err(to_login(true)),
        Err(e) => Err(error_page(e, None)),
    }
}

/// The API's bearer-token authentication, then the `read` scope.
async fn authenticate(st: &AppState, token: String) -> Result<Principal, ApiError> {
    let p = st
        .with_store(move |s| tokens::authenticate(s, &token))
        .await?;
    p.require(Scope::Read).map_err(ApiError::from)?;
    Ok(p)
}

/// The signed-in caller and the page's query parameters (`field` names
/// them when they do not parse); otherwise the response to send instead.
async fn signed_in<P>(
    st: &AppState,
    headers: &HeaderMap,
    q: Result<Query<P>, QueryRejection>,
    field: &str,
) -> Result<(Principal, P), Response> {
    let who = session(st, headers).await?;
    match q {
        Ok(Query(p)) => Ok((who, p)),
        Err(e) => Err(error_page(ApiError::bad(field, e.body_text()), Some(&who))),
    }
}

/// Run a use case for a signed-in page; an error becomes an error page.
async fn run<T: Send + 'static>(
    st: &AppState,
    who: &Principal,
    f: impl FnOnce(&mut buildledger_service::Store) -> buildledger_service::Result<T> + Send + 'static,
) -> Result<T, Response> {
    st.with_store(f).await.map_err(|e| error_page(e, Some(who)))
}

/// Whether the request names a token in its query string.
fn token_in_url(q: Option<&str>) -> bool {
    q.is_some_and(|q| {
        q.split('&').any(|kv| {
            kv.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("token"))
        })
    })
}

fn login_page(status: StatusCode, message: Option<&'static str>) -> Response {
    let mut b = Html::default();
    b.raw("<h1>Sign in</h1>");
    if let Some(m) = message {
        b.raw("<p role=\"alert\">").raw(m).raw("</p>");
    }
    b.raw("<form method=\"post\" action=\"/login\">")
        .raw("<label for=\"token\">API token (needs the read scope)</label>")
        .raw("<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required> ")
        .raw("<button type=\"submit\">Sign in</button></form>");
    page(status, "Sign in", None, b)
}

/// `GET /login`: the form. A token in the URL is refused, never used.
async fn login_form(req: Request) -> Response {
    if token_in_url(req.uri().query()) {
        return login_page(
            StatusCode::BAD_REQUEST,
            Some("A token is never accepted in a URL. Paste it into the form."),
        );
    }
    login_page(StatusCode::OK, None)
}

/// The login form's body.
#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

/// `POST /login`: the token from the form body, verified as the API
/// verifies a bearer token, with the `read` scope; then the session
/// cookie and a redirect to `/`.
async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if token_in_url(uri.query()) {
        return login_page(
            StatusCode::BAD_REQUEST,
            Some("A token is never accepted in a URL. Paste it into the form."),
        );
    }
    if !same_origin(&headers, &uri) {
        return login_page(StatusCode::FORBIDDEN, Some("Cross-site sign-in refused."));
    }
    let Ok(Form(f)) = form else {
        return login_page(StatusCode::BAD_REQUEST, Some("Enter a token."));
    };
    let token = f.token.trim().to_string();
    // The cookie value is the token: one that could not be a token (and so
    // could break the header) is refused before it is looked up.
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return login_page(StatusCode::UNAUTHORIZED, Some("That token is not valid."));
    }
    match authenticate(&st, token.clone()).await {
        Ok(_) => {
            let mut r = see_other("/");
            match HeaderValue::from_str(&format!(
                "{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/"
            )) {
                Ok(v) => {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                    r
                }
                Err(_) => login_page(StatusCode::UNAUTHORIZED, Some("That token is not valid.")),
            }
        }
        Err(e) if e.status == StatusCode::FORBIDDEN => login_page(
            StatusCode::FORBIDDEN,
            Some("That token lacks the read scope."),
        ),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            login_page(StatusCode::UNAUTHORIZED, Some("That token is not valid."))
        }
        Err(e) => error_page(e, None),
    }
}

/// A POST from another site is refused: by `Sec-Fetch-Site` where the
/// browser sends it (anything but `same-origin` or `none`), else by an
/// `Origin` naming another host (with `Referrer-Policy: no-referrer` a
/// browser may send `Origin: null`, which says nothing). The
/// `SameSite=Strict` cookie already keeps the session out of such a
/// request; this keeps a forged sign-in out too. The host is the `Host`
/// header (HTTP/1.1) or the URI's authority (HTTP/2).
fn same_origin(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = get("origin").filter(|o| *o != "null") else {
        return true;
    };
    let host = get("host")
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, h)| !host.is_empty() && h.eq_ignore_ascii_case(host))
}

/// `POST /logout`: the cookie is cleared; back to `/login`.
async fn logout(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    if !same_origin(&headers, &uri) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut r = see_other("/login");
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    r
}

/// `GET /images/{digest}`: the image's records and its findings.
async fn image(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> Response {
    let who = match session(&st, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let d = match reads::parse_digest(&digest, "digest") {
        Ok(d) => d,
        Err(e) => return error_page(e.into(), Some(&who)),
    };
    let policy = st.policy();
    let got = run(&st, &who, move |s| {
        let view = reads::show(s, &d)?;
        let findings = reads::vulns(s, &d)?;
        let lineage = match reads::lineage(s, &d) {
            Ok(l) => Some(l),
            Err(e) if e.kind == buildledger_service::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let running = posture::posture_view(
            s,
            &policy,
            &posture::PostureFilter {
                digests: Some(std::iter::once(d.to_string()).collect()),
                ..Default::default()
            },
            0,
            RUNNING_SHOWN,
            chrono::Utc::now(),
        )?;
        Ok((view, findings, lineage, running))
    })
    .await;
    let (view, findings, lineage, running) = match got {
        Ok(v) => v,
        Err(r) => return r,
    };
    let title = view.digest.as_str().to_string();
    let mut b = image_body(&view, &findings);
    image_extras(&mut b, &view, lineage.as_ref(), &running);
    page(StatusCode::OK, &title, Some(&who), b)
}

/// Where an image runs, the API surface its records declare, and the
/// indexed images it was built on.
fn image_extras(
    b: &mut Html,
    view: &ImageView,
    lineage: Option<&reads::Lineage>,
    running: &posture::PostureView,
) {
    b.raw("<h2 id=\"runs\">Where it runs</h2>");
    if running.entries.is_empty() {
        b.raw("<p>No reported cluster runs this image.</p>");
    } else {
        let refs: Vec<&posture::PostureEntry> = running.entries.iter().collect();
        workloads::posture_table(b, &refs, true);
        more_running(
            b,
            running.total,
            &format!("/workloads?digest={}", path_segment(view.digest.as_str())),
        );
    }
    let mut apis: Vec<&buildledger_service::types::ApiEntry> = view
        .records
        .iter()
        .flat_map(|r| r.record.apis.iter())
        .collect();
    apis.sort();
    apis.dedup();
    b.raw("<h2>API surface</h2>");
    if apis.is_empty() {
        b.raw("<p>No record declares the APIs this image exposes.</p>");
    } else {
        b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">API</th>")
            .raw("<th scope=\"col\">Version</th><th scope=\"col\">Stability</th></tr></thead><tbody>");
        for a in apis {
            b.raw("<tr><td>")
                .text(a.kind.as_str())
                .raw("</td><td>")
                .code(&a.name)
                .raw("</td><td>")
                .text(a.version.as_deref().unwrap_or(""))
                .raw("</td><td>")
                .text(a.stability.as_str())
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    b.raw("<h2>Base-image lineage</h2>");
    match lineage {
        None => {
            b.raw("<p>The image's layers were never indexed (<code>scan --record</code>), so its base images are known only from its records.</p>");
        }
        Some(l) if l.bases.is_empty() => {
            b.raw("<p>")
                .text(&l.layers.to_string())
                .raw(" layers; no indexed image shares its first layers.</p>");
        }
        Some(l) => {
            b.raw("<ol>");
            for a in &l.bases {
                b.raw("<li>")
                    .link("/images/", &a.digest, &a.digest)
                    .raw(" (")
                    .text(&a.layers.to_string())
                    .raw(" of ")
                    .text(&l.layers.to_string())
                    .raw(" layers)");
                if !a.references.is_empty() {
                    b.raw(" <small>")
                        .text(&a.references.join(", "))
                        .raw("</small>");
                }
                b.raw("</li>");
            }
            b.raw("</ol>");
        }
    }
}

fn image_body(view: &ImageView, findings: &[ImageFinding]) -> Html {
    let mut b = Html::default();
    b.raw("<h1>Image <code>")
        .text(view.digest.as_str())
        .raw("</code></h1><dl>")
        .item("Media type", view.media_type.as_deref())
        .item("First seen", Some(&view.first_seen.to_rfc3339()));
    if !view.references.is_empty() {
        b.item("References", Some(&view.references.join(", ")));
    }
    b.raw("</dl>");
    if !view.manifests.is_empty() || !view.indexes.is_empty() {
        b.raw("<h2>Related images</h2><ul>");
        for (rel, l) in view
            .manifests
            .iter()
            .map(|l| ("manifest", l))
            .chain(view.indexes.iter().map(|l| ("index", l)))
        {
            b.raw("<li>")
                .text(rel)
                .raw(" ")
                .link("/images/", &l.digest, &l.digest);
            if let Some(p) = &l.platform {
                b.raw(" (").text(p).raw(")");
            }
            b.raw("</li>");
        }
        b.raw("</ul>");
    }
    if !view.conflicts.is_empty() {
        b.raw("<h2>Conflicting claims</h2><ul>");
        for c in &view.conflicts {
            b.raw("<li>")
                .text(&serde_json::to_string(c).unwrap_or_default())
                .raw("</li>");
        }
        b.raw("</ul>");
    }

    b.raw("<h2>Findings</h2>");
    if findings.is_empty() {
        b.raw("<p>No current findings.</p>");
    } else {
        b.raw("<div class=\"scroll\"><table><thead><tr>")
            .raw("<th scope=\"col\">Advisory</th><th scope=\"col\">Severity</th>")
            .raw("<th scope=\"col\">Package</th><th scope=\"col\">Installed</th>")
            .raw("<th scope=\"col\">Fixed in</th><th scope=\"col\">State</th>")
            .raw("</tr></thead><tbody>");
        for f in findings {
            finding_row(&mut b, f, false);
        }
        b.raw("</tbody></table></div>");
    }

    b.raw("<h2>Records</h2>");
    for r in &view.records {
        let rec = &r.record;
        b.raw("<section><h3>Record ")
            .text(&r.id.to_string())
            .raw("</h3><dl>")
            .item("Origin", Some(rec.origin.as_str()))
            .item("Trust", Some(rec.trust.state.as_str()))
            .item("Signing key", rec.trust.key_id.as_deref())
            .item("Trust reason", rec.trust.reason.as_deref());
        if let Some(bld) = &rec.builder {
            let v = match &bld.version {
                Some(v) => format!("{} {v}", bld.id),
                None => bld.id.clone(),
            };
            b.item("Builder", Some(&v));
        }
        if let Some(src) = &rec.source {
            if let Some(repo) = &src.repo {
                b.raw("<dt>Source repository</dt><dd>");
                if repo.starts_with("https://") {
                    b.raw("<a rel=\"noreferrer\" href=\"")
                        .text(repo)
                        .raw("\">")
                        .text(repo)
                        .raw("</a>");
                } else {
                    b.text(repo);
                }
                b.raw("</dd>");
            }
            b.item("Commit", src.commit.as_deref())
                .item("Tag", src.tag.as_deref());
            if let Some(dirty) = src.dirty {
                b.item("Dirty", Some(if dirty { "yes" } else { "no" }));
            }
        }
        if !rec.toolchains.is_empty() {
            let t: Vec<String> = rec.toolchains.iter().map(|t| t.to_string()).collect();
            b.item("Toolchains", Some(&t.join(", ")));
        }
        if let Some(t) = rec.build_time {
            b.item("Built", Some(&t.to_rfc3339()));
        }
        if let Some(t) = rec.record_time {
            b.item("Recorded", Some(&t.to_rfc3339()));
        }
        b.raw("</dl>");
        if !rec.images.is_empty() {
            b.raw("<h4>Base and builder images</h4><ul>");
            for u in &rec.images {
                b.raw("<li>").text(u.role.as_str()).raw(" ").link(
                    "/images/",
                    u.digest.as_str(),
                    u.digest.as_str(),
                );
                if let Some(rf) = &u.reference {
                    b.raw(" (").text(rf).raw(")");
                }
                b.raw("</li>");
            }
            b.raw("</ul>");
        }
        if !rec.components.is_empty() {
            b.raw("<details><summary>Components (")
                .text(&rec.components.len().to_string())
                .raw(")</summary><div class=\"scroll\"><table><thead><tr>")
                .raw("<th scope=\"col\">Package URL</th><th scope=\"col\">Scope</th>")
                .raw("<th scope=\"col\">Location</th></tr></thead><tbody>");
            for c in rec.components.iter().take(MAX_COMPONENTS) {
                b.raw("<tr><td>")
                    .code(c.purl.as_str())
                    .raw("</td><td>")
                    .text(c.scope.as_str())
                    .raw("</td><td>")
                    .text(c.location.as_deref().unwrap_or(""))
                    .raw("</td></tr>");
            }
            b.raw("</tbody></table></div>");
            if rec.components.len() > MAX_COMPONENTS {
                b.raw("<p>Showing the first ")
                    .text(&MAX_COMPONENTS.to_string())
                    .raw(".</p>");
            }
            b.raw("</details>");
        }
        b.raw("</section>");
    }
    b
}

/// One finding as a table row; `with_image` adds the image column first.
fn finding_row(b: &mut Html, f: &ImageFinding, with_image: bool) {
    b.raw("<tr>");
    if with_image {
        b.raw("<td>")
            .link("/images/", &f.digest, &f.digest)
            .raw("</td>");
    }
    b.raw("<td>").link("/advisories/", &f.advisory, &f.advisory);
    if !f.aliases.is_empty() {
        b.raw("<br><small>")
            .text(&f.aliases.join(", "))
            .raw("</small>");
    }
    if f.kind != "vuln" {
        b.raw(" <small>(").text(&f.kind).raw(")</small>");
    }
    b.raw("</td><td>")
        .text(f.severity.as_deref().unwrap_or("unknown"));
    if let Some(s) = &f.score {
        b.raw(" <small>").text(s).raw("</small>");
    }
    b.raw("</td><td>")
        .code(&f.purl)
        .raw("</td><td>")
        .text(&f.installed)
        .raw("</td><td>")
        .text(f.fixed.as_deref().unwrap_or("no fix"))
        .raw("</td><td>");
    let mut states = Vec::new();
    for w in &f.waivers {
        states.push(format!(
            "waived by {} until {}{}",
            w.owner,
            w.expires_at.date_naive(),
            w.environment
                .as_deref()
                .map(|e| format!(" in {e}"))
                .unwrap_or_default()
        ));
    }
    if let Some(v) = &f.vex {
        states.push(format!("VEX {} ({})", v.status, v.author));
    }
    if let Some(r) = &f.reachability {
        states.push(format!("symbols {}", r.state));
    }
    b.text(&states.join("; "));
    let mut q = QueryString::default();
    q.push("advisory", &f.advisory);
    q.push("scope", "digest");
    q.push("value", &f.digest);
    b.raw(" <a href=\"/waivers")
        .text(&q.finish())
        .raw("\">Waive<span class=\"sr-only\"> ")
        .text(&f.advisory)
        .raw(" for this image</span></a></td></tr>");
}

/// `?cursor=` of an advisory's page: where its list of images goes on.
#[derive(Default, Deserialize)]
struct AdvisoryParams {
    cursor: Option<String>,
}

/// "N in all: all of them" link under a list of running containers.
fn more_running(b: &mut Html, total: usize, all: &str) {
    if total > RUNNING_SHOWN {
        b.raw("<p>Showing ")
            .text(&RUNNING_SHOWN.to_string())
            .raw(" of ")
            .text(&total.to_string())
            .raw(". <a href=\"")
            .text(all)
            .raw("\">All of them</a></p>");
    }
}

/// `GET /advisories/{id}[?cursor=]`: the images an advisory (by id or any
/// alias) affects, a page at a time, and the running workloads of all of
/// them.
async fn advisory(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<AdvisoryParams>, QueryRejection>,
) -> Response {
    let (who, p) = match signed_in(&st, &headers, q, "cursor").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let asked = id.clone();
    let policy = st.policy();
    let cursor = p.cursor.clone();
    let got = run(&st, &who, move |s| {
        let page = reads::affected_page(s, &asked, cursor.as_deref(), TABLE_PAGE)?;
        let running = posture::posture_view(
            s,
            &policy,
            &posture::PostureFilter {
                advisory: Some(asked.clone()),
                ..Default::default()
            },
            0,
            RUNNING_SHOWN,
            chrono::Utc::now(),
        )?;
        // The findings of the running images shown, for their waiver and
        // VEX state.
        let mut shown: Vec<&str> = running
            .entries
            .iter()
            .filter_map(|e| e.digest.as_deref())
            .collect();
        shown.sort_unstable();
        shown.dedup();
        let states = reads::vulns_of(s, &shown)?;
        let ids = advisory_ids(&page.findings, &asked);
        let is_this = |a: &str| ids.iter().any(|i| i.eq_ignore_ascii_case(a));
        let firing = buildledger_service::alerts::firing_for(s, &running.entries, &is_this)?;
        Ok((page, running, states, firing))
    })
    .await;
    let (page_of, running, states, firing) = match got {
        Ok(f) => f,
        Err(r) => return r,
    };
    let findings = page_of.findings;
    let mut b = Html::default();
    b.raw("<h1>Advisory ").text(&id).raw("</h1>");
    if let Some(f) = findings.first() {
        b.raw("<dl>")
            .item("Summary", f.summary.as_deref())
            .item("Advisory", Some(&f.advisory));
        if !f.aliases.is_empty() {
            b.item("Aliases", Some(&f.aliases.join(", ")));
        }
        b.raw("</dl>");
    }
    b.raw("<h2>Affected images</h2>");
    if findings.is_empty() {
        b.raw("<p>No image in the ledger is affected.</p>");
    } else {
        b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Image</th>")
            .raw("<th scope=\"col\">Advisory</th><th scope=\"col\">Severity</th>")
            .raw("<th scope=\"col\">Package</th><th scope=\"col\">Installed</th>")
            .raw("<th scope=\"col\">Fixed in</th><th scope=\"col\">State</th>")
            .raw("</tr></thead><tbody>");
        for f in &findings {
            finding_row(&mut b, f, true);
        }
        b.raw("</tbody></table></div>");
    }
    if p.cursor.is_some() || page_of.next.is_some() {
        b.raw("<nav aria-label=\"Pages of affected images\"><ul>");
        if p.cursor.is_some() {
            b.raw("<li><a href=\"/advisories/")
                .text(&path_segment(&id))
                .raw("\">First page</a></li>");
        }
        if let Some(n) = &page_of.next {
            let mut q = QueryString::default();
            q.push("cursor", n);
            b.raw("<li><a rel=\"next\" href=\"/advisories/")
                .text(&path_segment(&id))
                .text(&q.finish())
                .raw("\">Next page</a></li>");
        }
        b.raw("</ul></nav>");
    }
    let ids = advisory_ids(&findings, &id);
    blast_radius(&mut b, &ids, &states, &running, &firing);
    let mut all = QueryString::default();
    all.push("advisory", &id);
    more_running(
        &mut b,
        running.total,
        &format!("/workloads{}", all.finish()),
    );
    page(StatusCode::OK, &id, Some(&who), b)
}

/// The advisory's id and aliases (from its findings), else the id asked for.
fn advisory_ids(findings: &[ImageFinding], asked: &str) -> Vec<String> {
    let mut ids: Vec<String> = findings
        .first()
        .map(|f| {
            std::iter::once(f.advisory.clone())
                .chain(f.aliases.iter().cloned())
                .collect()
        })
        .unwrap_or_else(|| vec![asked.to_string()]);
    ids.sort();
    ids
}

/// The running containers of an advisory's images, per environment, with
/// what the policy did: the decision, whether an alert about this advisory
/// fires for the workload, and whether a waiver or VEX covers the finding.
fn blast_radius(
    b: &mut Html,
    ids: &[String],
    states: &[ImageFinding],
    view: &posture::PostureView,
    firing: &[buildledger_service::types::AlertRow],
) {
    let running = &view.entries;
    b.raw("<h2 id=\"running\">Running workloads (")
        .text(&view.total.to_string())
        .raw(")</h2>");
    if running.is_empty() {
        b.raw("<p>No reported cluster runs an affected image.</p>");
        return;
    }
    let is_this = |a: &str| ids.iter().any(|i| i.eq_ignore_ascii_case(a));
    let findings: Vec<&ImageFinding> = states
        .iter()
        .filter(|f| is_this(&f.advisory) || f.aliases.iter().any(|a| is_this(a)))
        .collect();
    let mut envs: Vec<&str> = running
        .iter()
        .map(|e| e.environment.as_deref().unwrap_or(""))
        .collect();
    envs.sort_unstable();
    envs.dedup();
    for env in envs {
        b.raw("<h3>")
            .text(if env.is_empty() { "(no environment)" } else { env })
            .raw("</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Workload</th>")
            .raw("<th scope=\"col\">Container</th><th scope=\"col\">Image</th><th scope=\"col\">Decision</th>")
            .raw("<th scope=\"col\">Alert</th><th scope=\"col\">Finding state</th></tr></thead><tbody>");
        for e in running
            .iter()
            .filter(|e| e.environment.as_deref().unwrap_or("") == env)
        {
            let digest = e.digest.as_deref().unwrap_or("");
            let label = |a: &buildledger_service::types::AlertRow, k: &str| {
                a.labels
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let alert = firing.iter().any(|a| {
                label(a, "cluster") == e.cluster
                    && label(a, "namespace") == e.namespace
                    && label(a, "workload") == e.workload
                    && label(a, "digest") == digest
                    && is_this(&label(a, "advisory"))
            });
            let mut state: Vec<String> = Vec::new();
            for f in findings.iter().filter(|f| f.digest == digest) {
                for w in &f.waivers {
                    if w.environment.as_deref().is_none_or(|we| we == env) {
                        state.push(format!(
                            "waived by {} until {}",
                            w.owner,
                            w.expires_at.date_naive()
                        ));
                    }
                }
                if let Some(v) = &f.vex {
                    state.push(format!("VEX {}", v.status));
                }
            }
            state.sort();
            state.dedup();
            b.raw("<tr><td>");
            workload_link(b, &e.cluster, &e.namespace, &e.workload);
            b.raw("<br><small>")
                .text(&e.cluster)
                .raw(" / ")
                .text(&e.namespace)
                .raw("</small></td><td>")
                .text(&e.container)
                .raw("</td><td>")
                .link("/images/", digest, &short(digest))
                .raw("</td><td><strong class=\"")
                .text(&e.decision)
                .raw("\">")
                .text(match e.decision.as_str() {
                    "deny" => "denied",
                    "warn" => "warned",
                    _ => "allowed",
                })
                .raw("</strong></td><td>")
                .raw(if alert { "firing" } else { "—" })
                .raw("</td><td>")
                .text(
                    if state.is_empty() {
                        "open".to_string()
                    } else {
                        state.join("; ")
                    }
                    .as_str(),
                )
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
}

/// `?q=` of a search.
#[derive(Default, Deserialize)]
struct SearchParams {
    q: Option<String>,
}

/// `GET /search?q=`: a full digest goes to its image; a digest prefix
/// (`sha256:` optional, 4+ hex digits) goes to the one image it names or
/// lists them, with the records whose commit starts with it (7+ digits); a
/// purl lists the images whose records hold it (the `query` use case);
/// anything else is looked up as an advisory id or alias and goes to the
/// advisory.
async fn search(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let (who, q) = match signed_in(&st, &headers, q, "q").await {
        Ok((who, p)) => (who, p.q.unwrap_or_default().trim().to_string()),
        Err(r) => return r,
    };
    if q.is_empty() {
        let mut b = Html::default();
        b.raw("<h1>Search</h1><p>Enter an image digest or its start, a commit, an advisory id or a package URL.</p>");
        return page(StatusCode::OK, "Search", Some(&who), b);
    }
    if let Ok(d) = reads::parse_digest(&q, "q") {
        return see_other(&format!("/images/{}", path_segment(d.as_str())));
    }
    let lower = q.to_ascii_lowercase();
    let hex = lower.strip_prefix("sha256:").unwrap_or(&lower);
    if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let (asked, commit) = (q.clone(), !lower.starts_with("sha256:") && hex.len() >= 7);
        let prepared = if commit {
            match query::prepare(&query_for(None, Some(hex.to_string()))) {
                Ok(p) => Some(p),
                Err(e) => return error_page(e.into(), Some(&who)),
            }
        } else {
            None
        };
        let got = run(&st, &who, move |s| {
            let digests = reads::digests_with_prefix(s, &asked, TABLE_PAGE + 1, "q")?;
            let hits = match &prepared {
                Some(p) => query::run(s, p)?.hits,
                None => Vec::new(),
            };
            Ok((digests, hits))
        })
        .await;
        let (digests, hits) = match got {
            Ok(v) => v,
            Err(r) => return r,
        };
        if let ([d], []) = (digests.as_slice(), hits.as_slice()) {
            return see_other(&format!("/images/{}", path_segment(d)));
        }
        if digests.is_empty() && hits.is_empty() {
            return nothing_found(&who, &q);
        }
        let mut b = Html::default();
        b.raw("<h1>Search ").code(&q).raw("</h1>");
        if !digests.is_empty() {
            b.raw("<h2>Images whose digest starts so</h2><ul>");
            for d in digests.iter().take(TABLE_PAGE) {
                b.raw("<li>").link("/images/", d, d).raw("</li>");
            }
            b.raw("</ul>");
            more(&mut b, digests.len());
        }
        if !hits.is_empty() {
            b.raw("<h2>Records of that commit</h2>");
            hits_table(&mut b, &hits);
        }
        return page(StatusCode::OK, "Search", Some(&who), b);
    }
    if q.starts_with("pkg:") {
        let prepared = match query::prepare(&query_for(Some(q.clone()), None)) {
            Ok(p) => p,
            Err(e) => return error_page(e.into(), Some(&who)),
        };
        let res = match run(&st, &who, move |s| query::run(s, &prepared)).await {
            Ok(r) => r,
            Err(r) => return r,
        };
        let mut b = Html::default();
        b.raw("<h1>Images with ").code(&q).raw("</h1>");
        if res.hits.is_empty() {
            b.raw("<p>No record holds that package.</p>");
        } else {
            hits_table(&mut b, &res.hits);
        }
        return page(StatusCode::OK, "Search", Some(&who), b);
    }
    let asked = q.clone();
    match st
        .with_store(move |s| reads::affected(s, &asked).map(|_| ()))
        .await
    {
        Ok(()) => see_other(&format!("/advisories/{}", path_segment(&q))),
        Err(e) if e.status == StatusCode::NOT_FOUND => nothing_found(&who, &q),
        Err(e) => error_page(e, Some(&who)),
    }
}

/// The `query` use case's request for a package or a commit, one page.
fn query_for(package: Option<String>, commit: Option<String>) -> query::QueryRequest {
    query::QueryRequest {
        toolchain: None,
        package,
        repo: None,
        commit,
        tag: None,
        api_stability: None,
        trusted_only: false,
        limit: Some(TABLE_PAGE + 1),
        cursor: None,
    }
}

/// "Showing the first …" when a list was cut.
fn more(b: &mut Html, n: usize) {
    if n > TABLE_PAGE {
        b.raw("<p>Showing the first ")
            .text(&TABLE_PAGE.to_string())
            .raw(".</p>");
    }
}

/// Query hits as a table.
fn hits_table(b: &mut Html, hits: &[buildledger_service::types::Hit]) {
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Image</th>")
        .raw("<th scope=\"col\">Repository</th><th scope=\"col\">Commit</th>")
        .raw("<th scope=\"col\">Trust</th><th scope=\"col\">Matched</th></tr></thead><tbody>");
    for h in hits.iter().take(TABLE_PAGE) {
        b.raw("<tr><td>")
            .link("/images/", &h.digest, &h.digest)
            .raw("</td><td>")
            .text(h.repo.as_deref().unwrap_or(""))
            .raw("</td><td>")
            .text(h.commit.as_deref().unwrap_or(""))
            .raw("</td><td>")
            .text(h.trust.as_str())
            .raw("</td><td>")
            .text(&h.matched.join(", "))
            .raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
    more(b, hits.len());
}

/// 404: nothing matches `q`.
fn nothing_found(who: &Principal, q: &str) -> Response {
    let mut b = Html::default();
    b.raw("<h1>Search</h1><p>Nothing matches ")
        .code(q)
        .raw(". Search takes an image digest or its start (4+ hex digits), a commit (7+), an advisory id or alias, or a package URL.</p>");
    page(StatusCode::NOT_FOUND, "Search", Some(who), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_segments_encoded() {
        let mut h = Html::default();
        h.text("<script>alert('x')</script>&\"");
        assert_eq!(
            h.0,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(path_segment("GHSA-a/b?c#d"), "GHSA-a%2Fb%3Fc%23d");
        assert_eq!(path_segment("sha256:ab"), "sha256:ab");
        assert!(token_in_url(Some("a=1&token=blt_x")));
        assert!(!token_in_url(Some("q=token")));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let uri: axum::http::Uri = "/login".parse().unwrap();
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(same_origin(&h(&[]), &uri));
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin")]), &uri));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")]), &uri));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")]), &uri));
        let host = ("host", "ledger.example:8443");
        assert!(same_origin(
            &h(&[("origin", "https://ledger.example:8443"), host]),
            &uri
        ));
        assert!(!same_origin(
            &h(&[("origin", "https://evil.example"), host]),
            &uri
        ));
        assert!(same_origin(&h(&[("origin", "null"), host]), &uri));
    }
}
