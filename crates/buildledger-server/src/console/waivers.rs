//! `/waivers`: the waivers in force (or all of them), and — for a session
//! whose token has the `waiver:write` scope — a form to add one and a
//! button to revoke each. The writes are same-origin POSTs (the session
//! cookie is `SameSite=Strict`, and a cross-site `Sec-Fetch-Site` or
//! `Origin` is refused) that go through the same use cases as `waiver add`
//! and `DELETE /api/v1/waivers/{id}`, so the same checks and the same audit
//! entries apply.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use buildledger_service::tokens::{Principal, Scope};
use buildledger_service::types::Waiver;
use buildledger_service::waivers::{self, WaiverRequest};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Html, error_page, page, run, same_origin, see_other, session, signed_in};
use crate::app::AppState;
use crate::problem::ApiError;

/// `?all=true`, and values that pre-fill the form (links from an image's
/// or an advisory's page).
#[derive(Default, Deserialize)]
pub(super) struct ListParams {
    all: Option<bool>,
    #[serde(flatten)]
    form: AddForm,
}

/// The add form's fields.
#[derive(Default, Clone, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    advisory: String,
    /// `digest`, `package` or `repo`.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    env: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    expires: String,
}

/// `GET /waivers`.
pub(super) async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Response {
    let (who, p) = match signed_in(&st, &headers, q, "query").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    render(&st, who, p.all.unwrap_or(false), p.form, None).await
}

async fn render(
    st: &AppState,
    who: Principal,
    all: bool,
    form: AddForm,
    problem: Option<ApiError>,
) -> Response {
    let got = run(st, &who, move |s| waivers::list(s, all, Utc::now())).await;
    let rows = match got {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = Utc::now();
    let can_write = who.has(Scope::WaiverWrite);
    let mut b = Html::default();
    b.raw("<h1>Waivers</h1>");
    if let Some(e) = &problem {
        b.raw("<p role=\"alert\" class=\"problem\">")
            .text(&e.problem.detail)
            .raw("</p>");
    }
    if all {
        b.raw("<p>All waivers, newest first. <a href=\"/waivers\">Only those in force</a></p>");
    } else {
        b.raw("<p>Waivers in force, newest first. <a href=\"/waivers?all=true\">All, with expired and revoked</a></p>");
    }
    if rows.is_empty() {
        b.raw("<p>None.</p>");
    } else {
        waiver_table(&mut b, &rows, now, can_write);
    }
    if can_write {
        add_form(&mut b, &form);
    } else {
        b.raw("<p>Adding and revoking waivers needs a token with the <code>waiver:write</code> scope.</p>");
    }
    let status = problem.map(|e| e.status).unwrap_or(StatusCode::OK);
    page(status, "Waivers", Some(&who), b)
}

/// Waivers as a table; `revoke` adds a revoke button to each live one.
pub(super) fn waiver_table(b: &mut Html, rows: &[Waiver], now: DateTime<Utc>, revoke: bool) {
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Advisory</th>")
        .raw("<th scope=\"col\">Covers</th><th scope=\"col\">Environment</th><th scope=\"col\">Owner</th>")
        .raw("<th scope=\"col\">Reason</th><th scope=\"col\">Ends</th><th scope=\"col\">State</th>");
    if revoke {
        b.raw("<th scope=\"col\"><span class=\"sr-only\">Actions</span></th>");
    }
    b.raw("</tr></thead><tbody>");
    for w in rows {
        let live = waivers::active(w, now);
        b.raw("<tr><td>")
            .text(&w.id.to_string())
            .raw("</td><td>")
            .link("/advisories/", &w.advisory, &w.advisory)
            .raw("</td><td>")
            .text(&w.scope_kind)
            .raw(" ");
        if w.scope_kind == "digest" {
            b.link("/images/", &w.scope_value, &super::short(&w.scope_value));
        } else {
            b.code(&w.scope_value);
        }
        b.raw("</td><td>")
            .text(w.environment.as_deref().unwrap_or("every environment"))
            .raw("</td><td>")
            .text(&w.owner)
            .raw("</td><td>")
            .text(&w.reason)
            .raw("</td><td>")
            .text(&w.expires_at.format("%Y-%m-%d %H:%M UTC").to_string())
            .raw("</td><td>");
        if w.revoked_at.is_some() {
            b.raw("revoked");
        } else if !live {
            b.raw("expired");
        } else {
            b.raw("in force");
        }
        b.raw("</td>");
        if revoke {
            b.raw("<td>");
            if live {
                b.raw("<form method=\"post\" action=\"/waivers/")
                    .text(&w.id.to_string())
                    .raw("/revoke\"><button type=\"submit\" aria-label=\"Revoke waiver ")
                    .text(&w.id.to_string())
                    .raw("\">Revoke</button></form>");
            }
            b.raw("</td>");
        }
        b.raw("</tr>");
    }
    b.raw("</tbody></table></div>");
}

fn add_form(b: &mut Html, f: &AddForm) {
    b.raw("<h2>Add a waiver</h2><form method=\"post\" action=\"/waivers\" class=\"filters\">");
    let field = |b: &mut Html,
                 name: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 v: &str,
                 required: bool| {
        b.raw("<div><label for=\"w-")
            .raw(name)
            .raw("\">")
            .raw(label)
            .raw("</label><input id=\"w-")
            .raw(name)
            .raw("\" name=\"")
            .raw(name)
            .raw("\" type=\"")
            .raw(kind)
            .raw("\" value=\"")
            .text(v)
            .raw("\"");
        if required {
            b.raw(" required");
        }
        b.raw("></div>");
    };
    field(
        b,
        "advisory",
        "Advisory (id or alias)",
        "text",
        &f.advisory,
        true,
    );
    b.raw("<div><label for=\"w-scope\">Covers</label><select id=\"w-scope\" name=\"scope\">");
    for (v, l) in [
        ("digest", "an image digest"),
        ("package", "a package (purl)"),
        ("repo", "a source repository"),
    ] {
        b.raw("<option value=\"").raw(v).raw("\"");
        if f.scope == v {
            b.raw(" selected");
        }
        b.raw(">").raw(l).raw("</option>");
    }
    b.raw("</select></div>");
    field(
        b,
        "value",
        "Digest, purl or repository",
        "text",
        &f.value,
        true,
    );
    field(
        b,
        "env",
        "Environment (empty: every one)",
        "text",
        &f.env,
        false,
    );
    field(b, "owner", "Owner", "text", &f.owner, true);
    field(b, "reason", "Reason", "text", &f.reason, true);
    field(
        b,
        "expires",
        "Ends (date or RFC 3339 time)",
        "date",
        &f.expires,
        true,
    );
    b.raw("<div><button type=\"submit\">Add waiver</button></div></form>");
}

/// The caller with `waiver:write`, after the same-origin check; otherwise
/// the response to send.
async fn writer(st: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Principal, Response> {
    if !same_origin(headers, uri) {
        return Err(error_page(
            ApiError::from(buildledger_service::Error::new(
                buildledger_service::ErrorKind::Forbidden,
                "cross-site request refused",
            )),
            None,
        ));
    }
    let who = session(st, headers).await?;
    if let Err(e) = who.require(Scope::WaiverWrite) {
        return Err(error_page(e.into(), Some(&who)));
    }
    Ok(who)
}

/// `POST /waivers`: add one; back to the list, or the form again with the
/// problem named.
pub(super) async fn add(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let who = match writer(&st, &headers, &uri).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return error_page(ApiError::bad("form", e.body_text()), Some(&who)),
    };
    let value = (!f.value.trim().is_empty()).then(|| f.value.trim().to_string());
    let (digest, package, repo) = match f.scope.as_str() {
        "digest" => (value, None, None),
        "package" => (None, value, None),
        "repo" => (None, None, value),
        _ => (None, None, None),
    };
    let req = WaiverRequest {
        advisory: f.advisory.clone(),
        digest,
        package,
        repo,
        env: (!f.env.trim().is_empty()).then(|| f.env.trim().to_string()),
        owner: f.owner.clone(),
        reason: f.reason.clone(),
        expires: f.expires.clone(),
    };
    match st
        .with_store(move |s| waivers::add(s, &req, Utc::now()))
        .await
    {
        Ok(_) => see_other("/waivers"),
        Err(e) if e.status.is_client_error() => render(&st, who, false, f, Some(e)).await,
        Err(e) => error_page(e, Some(&who)),
    }
}

/// `POST /waivers/{id}/revoke`.
pub(super) async fn revoke(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let who = match writer(&st, &headers, &uri).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return error_page(
            ApiError::bad("id", format!("{id:?} is not a waiver id")),
            Some(&who),
        );
    };
    let by = format!("token:{}", who.name);
    match st.with_store(move |s| waivers::revoke(s, id, &by)).await {
        Ok(()) => see_other("/waivers"),
        Err(e) => error_page(e, Some(&who)),
    }
}
