//! `/table`: the mapping table — image → repositories, tags, commits,
//! toolchains, APIs — with filters (toolchain, package, repository, API
//! stability, environment), a sort of the rows shown, keyset pages and a
//! CSV export (`/table.csv`, the same filters). Every view's URL names its
//! filters and position, so it can be shared.
//!
//! Without a filter the table is read in digest order through the digest
//! index (a page costs the same anywhere). The toolchain, package, repo and
//! stability filters are the `query` use case (its cursor is the page
//! position); the environment filter keeps the images that a reported
//! cluster runs there, and alone pages through those digests in order.

use std::collections::HashSet;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use buildledger_service::types::TableRow;
use buildledger_service::{inventory, query, reads};
use serde::Deserialize;

use super::{Html, QueryString, TABLE_PAGE, page, run, signed_in};
use crate::app::AppState;

/// Rows of one CSV export at most (from the position given on).
const CSV_MAX: usize = 5_000;

/// Query pages of the `query` use case read for one page of a table that
/// is also filtered by environment.
const MAX_SCAN_PAGES: usize = 20;

/// Hits asked of each query page when the table is also filtered by
/// environment.
const ENV_SCAN_PAGE: usize = 200;

/// The table's parameters, all optional.
#[derive(Default, Clone, Deserialize)]
pub(super) struct TableParams {
    after: Option<String>,
    before: Option<String>,
    toolchain: Option<String>,
    package: Option<String>,
    repo: Option<String>,
    api: Option<String>,
    env: Option<String>,
    /// The `query` use case's cursor.
    cursor: Option<String>,
    /// `digest`, `repo`, `toolchain`, `components` or `records`.
    sort: Option<String>,
    /// `desc` for descending.
    order: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl TableParams {
    fn query_filtered(&self) -> bool {
        [&self.toolchain, &self.package, &self.repo, &self.api]
            .into_iter()
            .any(|v| nonempty(v).is_some())
    }

    /// The filters (and sort) as a query string, plus `extra`.
    fn url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut q = QueryString::default();
        for (k, v) in [
            ("toolchain", &self.toolchain),
            ("package", &self.package),
            ("repo", &self.repo),
            ("api", &self.api),
            ("env", &self.env),
            ("sort", &self.sort),
            ("order", &self.order),
        ] {
            if let Some(v) = nonempty(v) {
                q.push(k, &v);
            }
        }
        for (k, v) in extra {
            q.push(k, v);
        }
        format!("{path}{}", q.finish())
    }
}

/// Rows of one view and where the next and previous ones start.
struct View {
    rows: Vec<TableRow>,
    /// Parameters of the next page's URL.
    next: Option<(&'static str, String)>,
    /// Parameters of the previous page's URL.
    prev: Option<(&'static str, String)>,
    /// Whether this is not the first page.
    not_first: bool,
}

/// Read `want` rows of the view `p` names.
fn read_view(
    s: &mut buildledger_service::Store,
    p: &TableParams,
    want: usize,
) -> buildledger_service::Result<View> {
    let env = nonempty(&p.env);
    if p.query_filtered() {
        let running: Option<HashSet<String>> = match &env {
            Some(e) => Some(inventory::digests_in(s, e)?.into_iter().collect()),
            None => None,
        };
        let mut cursor = nonempty(&p.cursor);
        let not_first = cursor.is_some();
        let mut digests: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut pages = 0;
        let next = loop {
            let req = query::QueryRequest {
                toolchain: nonempty(&p.toolchain),
                package: nonempty(&p.package),
                repo: nonempty(&p.repo),
                commit: None,
                tag: None,
                api_stability: nonempty(&p.api),
                trusted_only: false,
                // What the page still lacks; filtered by environment, at
                // least a bigger query page, since most hits may not run there.
                limit: Some({
                    let need = want.saturating_sub(digests.len()).max(1);
                    if running.is_some() {
                        need.max(ENV_SCAN_PAGE)
                    } else {
                        need
                    }
                }),
                cursor: cursor.clone(),
            };
            let r = query::query(s, &req)?;
            pages += 1;
            for h in r.hits {
                if running.as_ref().is_none_or(|set| set.contains(&h.digest))
                    && seen.insert(h.digest.clone())
                {
                    digests.push(h.digest);
                }
            }
            // A page ends on a query page boundary: its cursor is where the
            // next page starts, so no hit is skipped or repeated.
            match r.next {
                Some(n) if digests.len() < want && pages < MAX_SCAN_PAGES => cursor = Some(n),
                n => break n,
            }
        };
        let refs: Vec<&str> = digests.iter().map(String::as_str).collect();
        let rows = reads::table_rows(s, &refs)?;
        return Ok(View {
            rows,
            next: next.map(|n| ("cursor", n)),
            prev: None,
            not_first,
        });
    }
    if let Some(e) = env {
        let all = inventory::digests_in(s, &e)?;
        let after = nonempty(&p.after);
        let start = match &after {
            Some(a) => all.partition_point(|d| d.as_str() <= a.as_str()),
            None => 0,
        };
        let end = (start + want).min(all.len());
        let refs: Vec<&str> = all[start..end].iter().map(String::as_str).collect();
        let rows = reads::table_rows(s, &refs)?;
        return Ok(View {
            next: (end < all.len())
                .then(|| refs.last().map(|d| ("after", d.to_string())))
                .flatten(),
            rows,
            prev: None,
            not_first: start > 0,
        });
    }
    let tp = reads::table_page(s, p.after.as_deref(), p.before.as_deref(), want)?;
    Ok(View {
        next: tp
            .more_after
            .then(|| tp.rows.last().map(|r| ("after", r.digest.clone())))
            .flatten(),
        prev: tp
            .more_before
            .then(|| tp.rows.first().map(|r| ("before", r.digest.clone())))
            .flatten(),
        not_first: tp.more_before,
        rows: tp.rows,
    })
}

/// The rows of a view sorted as asked (digest order otherwise).
fn sort(rows: &mut [TableRow], p: &TableParams) -> buildledger_service::Result<()> {
    let key = nonempty(&p.sort).unwrap_or_else(|| "digest".into());
    match key.as_str() {
        "digest" => rows.sort_by(|a, b| a.digest.cmp(&b.digest)),
        "repo" => rows.sort_by(|a, b| a.repos.cmp(&b.repos).then(a.digest.cmp(&b.digest))),
        "toolchain" => rows.sort_by(|a, b| {
            a.toolchains
                .cmp(&b.toolchains)
                .then(a.digest.cmp(&b.digest))
        }),
        "components" => rows.sort_by(|a, b| {
            a.components
                .cmp(&b.components)
                .then(a.digest.cmp(&b.digest))
        }),
        "records" => rows.sort_by(|a, b| a.records.cmp(&b.records).then(a.digest.cmp(&b.digest))),
        other => {
            return Err(buildledger_service::Error::bad_field(
                "sort",
                format!("{other:?}: expected digest, repo, toolchain, components or records"),
            ));
        }
    }
    match nonempty(&p.order).as_deref() {
        None | Some("asc") => {}
        Some("desc") => rows.reverse(),
        Some(o) => {
            return Err(buildledger_service::Error::bad_field(
                "order",
                format!("{o:?}: expected asc or desc"),
            ));
        }
    }
    Ok(())
}

/// `GET /table`.
pub(super) async fn table(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<TableParams>, QueryRejection>,
) -> Response {
    let (who, p) = match signed_in(&st, &headers, q, "query").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let per = TABLE_PAGE.min(st.max_page().max(1));
    let params = p.clone();
    let view = match run(&st, &who, move |s| {
        let mut v = read_view(s, &params, per)?;
        sort(&mut v.rows, &params)?;
        Ok(v)
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut b = Html::default();
    b.raw("<h1>Mapping table</h1>");
    filter_form(&mut b, &p);
    if view.rows.is_empty() {
        b.raw("<p>No image matches.</p>");
    } else {
        rows_table(&mut b, &view.rows);
    }
    b.raw("<nav aria-label=\"Pages\"><ul>");
    if view.not_first {
        b.raw("<li><a href=\"")
            .text(&p.url("/table", &[]))
            .raw("\">First page</a></li>");
    }
    if let Some((k, v)) = &view.prev {
        b.raw("<li><a rel=\"prev\" href=\"")
            .text(&p.url("/table", &[(k, v)]))
            .raw("\">Previous page</a></li>");
    }
    if let Some((k, v)) = &view.next {
        b.raw("<li><a rel=\"next\" href=\"")
            .text(&p.url("/table", &[(k, v)]))
            .raw("\">Next page</a></li>");
    }
    let mut here: Vec<(&str, &str)> = Vec::new();
    for (k, v) in [
        ("after", &p.after),
        ("before", &p.before),
        ("cursor", &p.cursor),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            here.push((k, v));
        }
    }
    b.raw("<li><a href=\"")
        .text(&p.url("/table.csv", &here))
        .raw("\" download>Download CSV</a> <small>(up to ")
        .text(&CSV_MAX.to_string())
        .raw(" rows from this page on)</small></li></ul></nav>");
    page(StatusCode::OK, "Mapping table", Some(&who), b)
}

fn filter_form(b: &mut Html, p: &TableParams) {
    b.raw(
        "<form method=\"get\" action=\"/table\" class=\"filters\" aria-label=\"Filter the table\">",
    );
    for (name, label, hint, v) in [
        ("toolchain", "Toolchain", "go@<1.14", &p.toolchain),
        (
            "package",
            "Package (purl)",
            "pkg:golang/golang.org/x/net",
            &p.package,
        ),
        ("repo", "Repository", "github.com/acme/api", &p.repo),
        ("env", "Environment", "staging", &p.env),
    ] {
        b.raw("<div><label for=\"t-")
            .raw(name)
            .raw("\">")
            .raw(label)
            .raw("</label><input id=\"t-")
            .raw(name)
            .raw("\" name=\"")
            .raw(name)
            .raw("\" placeholder=\"")
            .raw(hint)
            .raw("\" value=\"")
            .text(nonempty(v).as_deref().unwrap_or(""))
            .raw("\"></div>");
    }
    let select = |b: &mut Html,
                  name: &'static str,
                  label: &'static str,
                  opts: &[(&'static str, &'static str)],
                  cur: &str| {
        b.raw("<div><label for=\"t-")
            .raw(name)
            .raw("\">")
            .raw(label)
            .raw("</label><select id=\"t-")
            .raw(name)
            .raw("\" name=\"")
            .raw(name)
            .raw("\">");
        for (v, l) in opts {
            b.raw("<option value=\"").raw(v).raw("\"");
            if *v == cur {
                b.raw(" selected");
            }
            b.raw(">").raw(l).raw("</option>");
        }
        b.raw("</select></div>");
    };
    select(
        b,
        "api",
        "API stability",
        &[
            ("", "any"),
            ("alpha", "alpha"),
            ("beta", "beta"),
            ("stable", "stable"),
            ("deprecated", "deprecated"),
        ],
        nonempty(&p.api).as_deref().unwrap_or(""),
    );
    select(
        b,
        "sort",
        "Sort this page by",
        &[
            ("", "digest"),
            ("repo", "repository"),
            ("toolchain", "toolchain"),
            ("components", "components"),
            ("records", "records"),
        ],
        nonempty(&p.sort).as_deref().unwrap_or(""),
    );
    select(
        b,
        "order",
        "Order",
        &[("", "ascending"), ("desc", "descending")],
        nonempty(&p.order).as_deref().unwrap_or(""),
    );
    b.raw("<div><button type=\"submit\">Apply</button></div></form>");
}

fn rows_table(b: &mut Html, rows: &[TableRow]) {
    b.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Image</th>")
        .raw("<th scope=\"col\">Repositories</th><th scope=\"col\">Tags</th>")
        .raw("<th scope=\"col\">Commits</th><th scope=\"col\">Toolchains</th>")
        .raw("<th scope=\"col\">APIs</th><th scope=\"col\">Components</th>")
        .raw("<th scope=\"col\">Records</th><th scope=\"col\">Conflict</th></tr></thead><tbody>");
    for r in rows {
        b.raw("<tr><td>")
            .link("/images/", &r.digest, &r.digest)
            .raw("</td><td>")
            .text(&r.repos.join(", "))
            .raw("</td><td>")
            .text(&r.tags.join(", "))
            .raw("</td><td>")
            .text(&r.commits.join(", "))
            .raw("</td><td>")
            .text(&r.toolchains.join(", "))
            .raw("</td><td>")
            .text(&r.apis.join(", "))
            .raw("</td><td>")
            .text(&r.components.to_string())
            .raw("</td><td>")
            .text(&r.records.to_string())
            .raw("</td><td>")
            .raw(if r.conflict { "yes" } else { "no" })
            .raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break; a field a spreadsheet would run as a formula (starting with `=`,
/// `+`, `-`, `@`, tab or carriage return) gets a leading `'`, since ledger
/// text is attacker-controlled.
fn csv_cell(out: &mut String, f: &str) {
    let guard = f.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guard || f.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    for c in f.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// The rows as CSV, with a header line.
fn to_csv(rows: &[TableRow]) -> String {
    let mut out = String::from(
        "digest,repositories,tags,commits,toolchains,apis,components,records,conflict\r\n",
    );
    for r in rows {
        let cells = [
            r.digest.clone(),
            r.repos.join(" "),
            r.tags.join(" "),
            r.commits.join(" "),
            r.toolchains.join(" "),
            r.apis.join(" "),
            r.components.to_string(),
            r.records.to_string(),
            r.conflict.to_string(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_cell(&mut out, c);
        }
        out.push_str("\r\n");
    }
    out
}

/// `GET /table.csv`: the view's rows from its position on, up to
/// [`CSV_MAX`], as `text/csv` (an attachment).
pub(super) async fn table_csv(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<TableParams>, QueryRejection>,
) -> Response {
    let (who, p) = match signed_in(&st, &headers, q, "query").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let rows = match run(&st, &who, move |s| {
        let mut rows: Vec<TableRow> = Vec::new();
        let mut at = p.clone();
        while rows.len() < CSV_MAX {
            let v = read_view(s, &at, (CSV_MAX - rows.len()).min(1_000))?;
            rows.extend(v.rows);
            match v.next {
                Some(("cursor", c)) => at.cursor = Some(c),
                Some((_, d)) => {
                    at.after = Some(d);
                    at.before = None;
                }
                None => break,
            }
        }
        rows.truncate(CSV_MAX);
        sort(&mut rows, &p)?;
        Ok(rows)
    })
    .await
    {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut r = (StatusCode::OK, to_csv(&rows)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"buildledger-table.csv\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut s = String::new();
        for (i, f) in [
            "plain",
            "a,b",
            "say \"hi\"",
            "=HYPERLINK(\"x\")",
            "-1",
            "line\nbreak",
        ]
        .iter()
        .enumerate()
        {
            if i > 0 {
                s.push(',');
            }
            csv_cell(&mut s, f);
        }
        assert_eq!(
            s,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",\"'-1\",\"line\nbreak\""
        );
    }
}
