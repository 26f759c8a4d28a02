//! `GET /workloads`: the posture — every running container with the
//! policy's decision and its reasons — filtered by environment, decision,
//! cluster, namespace, workload or digest; every filter is in the URL.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use buildledger_service::posture::{self, PostureEntry, PostureFilter};
use serde::Deserialize;

use super::{Html, QueryString, TABLE_PAGE, error_page, page, run, signed_in};
use crate::app::AppState;
use crate::problem::ApiError;

/// Reasons listed per container; the rest are counted (an image with many
/// findings has a hundred reasons or more).
const REASONS_SHOWN: usize = 5;

/// `env=` of the containers whose namespace has no environment (an
/// environment is a label value or a configured name, never this).
pub(super) const NO_ENV: &str = "(none)";

/// The filters of `/workloads`, all optional.
#[derive(Default, Deserialize)]
pub(super) struct WorkloadParams {
    env: Option<String>,
    decision: Option<String>,
    cluster: Option<String>,
    namespace: Option<String>,
    workload: Option<String>,
    digest: Option<String>,
    /// Only the images this advisory (id or alias) affects.
    advisory: Option<String>,
    /// Index of the first entry shown.
    from: Option<usize>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /workloads`.
pub(super) async fn workloads(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<WorkloadParams>, QueryRejection>,
) -> Response {
    let (who, p) = match signed_in(&st, &headers, q, "query").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(d) = nonempty(&p.decision)
        && !matches!(d, "allow" | "warn" | "deny")
    {
        return error_page(
            ApiError::bad("decision", format!("{d:?}: expected allow, warn or deny")),
            Some(&who),
        );
    }
    let policy = st.policy();
    let filter = PostureFilter {
        env: nonempty(&p.env).map(|e| if e == NO_ENV { "" } else { e }.to_string()),
        decision: nonempty(&p.decision).map(str::to_string),
        cluster: nonempty(&p.cluster).map(str::to_string),
        namespace: nonempty(&p.namespace).map(str::to_string),
        workload: nonempty(&p.workload).map(str::to_string),
        digests: nonempty(&p.digest).map(|d| std::iter::once(d.to_string()).collect()),
        advisory: nonempty(&p.advisory).map(str::to_string),
    };
    let from = p.from.unwrap_or(0);
    let got = run(&st, &who, move |s| {
        posture::posture_view(s, &policy, &filter, from, TABLE_PAGE, chrono::Utc::now())
    })
    .await;
    let view = match got {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shown: Vec<&PostureEntry> = view.entries.iter().collect();
    let mut b = Html::default();
    let single = nonempty(&p.workload).is_some();
    if single {
        b.raw("<h1>Workload <code>")
            .text(nonempty(&p.workload).unwrap_or(""))
            .raw("</code></h1><dl>")
            .item("Cluster", nonempty(&p.cluster))
            .item("Namespace", nonempty(&p.namespace))
            .item(
                "Environment",
                view.entries.first().and_then(|e| e.environment.as_deref()),
            )
            .raw("</dl>");
    } else {
        b.raw("<h1>Running containers</h1>");
        if let Some(a) = nonempty(&p.advisory) {
            b.raw("<p>Of the images that ")
                .link("/advisories/", a, a)
                .raw(" affects.</p>");
        }
        if let Some(d) = nonempty(&p.digest) {
            b.raw("<p>Of image ").link("/images/", d, d).raw(".</p>");
        }
    }
    filters(&mut b, &p);
    b.raw("<p>")
        .text(&view.total.to_string())
        .raw(" container(s), worst decision first.</p>");
    if !shown.is_empty() {
        posture_table(&mut b, &shown, !single);
    }
    let (prev, next) = (from > 0, from + TABLE_PAGE < view.total);
    if prev || next {
        b.raw("<nav aria-label=\"Pages\"><ul>");
        if prev {
            nav(
                &mut b,
                &p,
                "Previous page",
                "prev",
                from.saturating_sub(TABLE_PAGE),
            );
        }
        if next {
            nav(&mut b, &p, "Next page", "next", from + TABLE_PAGE);
        }
        b.raw("</ul></nav>");
    }
    let title = if single {
        "Workload"
    } else {
        "Running containers"
    };
    page(StatusCode::OK, title, Some(&who), b)
}

/// A link to another page of the same view.
fn nav(b: &mut Html, p: &WorkloadParams, label: &'static str, rel: &'static str, at: usize) {
    let mut q = QueryString::default();
    for (k, v) in [
        ("env", &p.env),
        ("decision", &p.decision),
        ("cluster", &p.cluster),
        ("namespace", &p.namespace),
        ("workload", &p.workload),
        ("digest", &p.digest),
        ("advisory", &p.advisory),
    ] {
        if let Some(v) = nonempty(v) {
            q.push(k, v);
        }
    }
    q.push("from", &at.to_string());
    b.raw("<li><a rel=\"")
        .raw(rel)
        .raw("\" href=\"/workloads")
        .text(&q.finish())
        .raw("\">")
        .raw(label)
        .raw("</a></li>");
}

/// The filter form (a GET: its URL is the view).
fn filters(b: &mut Html, p: &WorkloadParams) {
    b.raw("<form method=\"get\" action=\"/workloads\" class=\"filters\" aria-label=\"Filter containers\">");
    for (name, label, v) in [
        ("env", "Environment", &p.env),
        ("cluster", "Cluster", &p.cluster),
        ("namespace", "Namespace", &p.namespace),
        ("workload", "Workload (Kind/name)", &p.workload),
    ] {
        b.raw("<div><label for=\"f-")
            .raw(name)
            .raw("\">")
            .raw(label)
            .raw("</label><input id=\"f-")
            .raw(name)
            .raw("\" name=\"")
            .raw(name)
            .raw("\" value=\"")
            .text(nonempty(v).unwrap_or(""))
            .raw("\"></div>");
    }
    b.raw("<div><label for=\"f-decision\">Decision</label><select id=\"f-decision\" name=\"decision\">");
    let cur = nonempty(&p.decision).unwrap_or("");
    for (v, l) in [
        ("", "any"),
        ("deny", "deny"),
        ("warn", "warn"),
        ("allow", "allow"),
    ] {
        b.raw("<option value=\"").raw(v).raw("\"");
        if v == cur {
            b.raw(" selected");
        }
        b.raw(">").raw(l).raw("</option>");
    }
    b.raw("</select></div>");
    for (name, v) in [("digest", &p.digest), ("advisory", &p.advisory)] {
        if let Some(v) = nonempty(v) {
            b.raw("<input type=\"hidden\" name=\"")
                .raw(name)
                .raw("\" value=\"")
                .text(v)
                .raw("\">");
        }
    }
    b.raw("<div><button type=\"submit\">Filter</button></div></form>");
}

/// Posture entries as a table; `with_workload` adds the place columns.
pub(super) fn posture_table(b: &mut Html, entries: &[&PostureEntry], with_workload: bool) {
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Decision</th><th scope=\"col\">Environment</th>");
    if with_workload {
        b.raw("<th scope=\"col\">Workload</th>");
    }
    b.raw("<th scope=\"col\">Container</th><th scope=\"col\">Image</th><th scope=\"col\">Reasons</th></tr></thead><tbody>");
    for e in entries {
        b.raw("<tr><td><strong class=\"")
            .text(&e.decision)
            .raw("\">")
            .text(&e.decision)
            .raw("</strong></td><td>")
            .text(e.environment.as_deref().unwrap_or(NO_ENV))
            .raw("</td>");
        if with_workload {
            b.raw("<td>");
            super::workload_link(b, &e.cluster, &e.namespace, &e.workload);
            b.raw("<br><small>")
                .text(&e.cluster)
                .raw(" / ")
                .text(&e.namespace)
                .raw("</small></td>");
        }
        b.raw("<td>").text(&e.container).raw("</td><td>");
        match &e.digest {
            Some(d) => {
                b.link("/images/", d, &super::short(d));
            }
            None => {
                b.raw("unresolved");
            }
        }
        b.raw("<br><small>")
            .text(&e.image)
            .raw("</small></td><td><ul class=\"plain\">");
        for r in e.reasons.iter().take(REASONS_SHOWN) {
            b.raw("<li><code>")
                .text(&r.rule)
                .raw("</code> ")
                .text(&r.message);
            if let Some(a) = &r.advisory {
                b.raw(" (").link("/advisories/", a, a).raw(")");
            }
            b.raw("</li>");
        }
        if e.reasons.len() > REASONS_SHOWN {
            b.raw("<li>and ")
                .text(&(e.reasons.len() - REASONS_SHOWN).to_string())
                .raw(" more");
            if let Some(d) = &e.digest {
                b.raw(" (")
                    .link("/images/", d, "the image's findings")
                    .raw(")");
            }
            b.raw("</li>");
        }
        b.raw("</ul></td></tr>");
    }
    b.raw("</tbody></table></div>");
}
