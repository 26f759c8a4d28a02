//! The HTTP API: each route authenticates, parses its parameters, calls one
//! use case of the application layer on a blocking thread and returns its
//! result as JSON (lists as pages), or a problem document.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use buildledger_service::query::QueryRequest;
use buildledger_service::record::Recorded;
use buildledger_service::scan::SbomImported;
use buildledger_service::tokens::Scope;
use buildledger_service::types::{FindingChange, Hit, ImageFinding, ImageView, Mismatch, TableRow};
use buildledger_service::{feeds, provenance, reads, record};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::problem::ApiError;

/// Name the request body in messages.
const BODY: &str = "request body";

/// A page of a list: the items and the cursor of the next page (absent on
/// the last page).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
    /// `query` only, with a next page: about how many hits are left from
    /// this page on (an estimate; counting would read every hit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_rest: Option<u64>,
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    /// At most this many items (capped at the server's `max_page`; default 100).
    pub limit: Option<usize>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageParams {
    fn offset(&self) -> Result<usize, ApiError> {
        let Some(c) = &self.cursor else {
            return Ok(0);
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| {
                ApiError::bad(
                    "cursor",
                    format!("cursor {c:?} is not one this server issued"),
                )
            })
    }

    /// The keyset position in a `cursor::QUERY` cursor (lists read
    /// from a position: `query`).
    fn keyset(&self) -> Result<Option<String>, ApiError> {
        self.keyset_of(buildledger_service::cursor::QUERY)
    }

    /// The keyset position in a cursor of `kind`.
    fn keyset_of(&self, kind: &str) -> Result<Option<String>, ApiError> {
        let Some(c) = &self.cursor else {
            return Ok(None);
        };
        buildledger_service::cursor::decode(kind, c)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad(
                    "cursor",
                    format!("cursor {c:?} is not one this server issued"),
                )
            })
    }

    fn limit(&self, max: usize) -> Result<usize, ApiError> {
        match self.limit {
            Some(0) => Err(ApiError::bad("limit", "limit must be at least 1")),
            Some(n) => Ok(n.min(max)),
            None => Ok(100.min(max)),
        }
    }
}

fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

/// One page of `all` (the whole list, computed by the use case).
fn page<T>(mut all: Vec<T>, p: &PageParams, max: usize) -> Result<Page<T>, ApiError> {
    let offset = p.offset()?;
    let limit = p.limit(max)?;
    let end = offset.saturating_add(limit);
    let next_cursor = (all.len() > end).then(|| cursor(end));
    all.truncate(end);
    let items = all.into_iter().skip(offset).collect();
    Ok(Page {
        items,
        next_cursor,
        estimated_rest: None,
    })
}

/// The request body, read only now (after authentication) and only up to
/// the server's limit: an unauthenticated client cannot make the server
/// buffer anything, and an oversized body is 413 without being held.
async fn body(st: &AppState, b: Body) -> Result<Bytes, ApiError> {
    let limit = st.body_limit();
    axum::body::to_bytes(b, limit).await.map_err(|e| {
        let too_large = e
            .into_inner()
            .downcast::<http_body_util::LengthLimitError>()
            .is_ok();
        let mut a = if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("{BODY}: over the limit of {limit} bytes (max_body_bytes)"),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_input",
                format!("{BODY}: the body could not be read"),
            )
        };
        a.problem.field = Some(BODY.into());
        a
    })
}

fn query_params<T: serde::de::DeserializeOwned + Default>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::bad("query", e.body_text()))
}

/// `POST /api/v1/records`: one build record or an array (builder:write;
/// a builder token only for records naming its builder).
pub async fn post_records(
    State(st): State<AppState>,
    headers: HeaderMap,
    b: Body,
) -> Result<(StatusCode, Json<Vec<Recorded>>), ApiError> {
    let p = st.authorize(&headers, Scope::BuilderWrite).await?;
    let bytes = body(&st, b).await?;
    let recs = record::parse_records(&bytes, BODY)?;
    for r in &recs {
        p.may_submit(r)?;
    }
    let n = recs.len() as u64;
    let labelled: Vec<(String, _)> = recs
        .into_iter()
        .map(|r| (format!("api:{}", p.name), r))
        .collect();
    // Stored in the next group commit with whatever else is arriving.
    let stored = crate::commit::submit(&st, labelled).await?;
    st.metrics().submitted("record", n);
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Parameters of `POST /api/v1/attestations`.
#[derive(Debug, Default, Deserialize)]
pub struct AttestationParams {
    /// A digest the attestation must name.
    pub digest: Option<String>,
    /// Keep an envelope that does not verify, as unverified.
    #[serde(default)]
    pub allow_unverified: bool,
}

/// `POST /api/v1/attestations`: a DSSE envelope, verified against the
/// server's trusted-builder policy (builder:write for that builder).
pub async fn post_attestation(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AttestationParams>, axum::extract::rejection::QueryRejection>,
    b: Body,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let p = st.authorize(&headers, Scope::BuilderWrite).await?;
    let q = query_params(q)?;
    let bytes = body(&st, b).await?;
    let Some(policy) = st.trust_policy().map(std::path::Path::to_path_buf) else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this server has no trust_policy configured: it cannot verify attestations",
        ));
    };
    let expect_digest = match &q.digest {
        Some(d) => Some(reads::parse_digest(d, "digest")?),
        None => None,
    };
    let opts = provenance::AttestationOptions {
        allow_unverified: q.allow_unverified,
        expect_digest,
        submitter: Some(p),
    };
    let r = st
        .with_store(move |s| {
            let policy = provenance::load_policy(&policy)?;
            provenance::record_envelope(s, &bytes, BODY, &policy, &opts)
        })
        .await?;
    st.metrics().submitted("attestation", 1);
    Ok((StatusCode::CREATED, Json(r)))
}

/// Parameters of `POST /api/v1/feeds`.
#[derive(Debug, Default, Deserialize)]
pub struct FeedParams {
    /// `auto` (default), `osv` or `alpine-secdb`.
    pub format: Option<String>,
    /// All or nothing: anything rejected or warned about imports nothing.
    #[serde(default)]
    pub strict: bool,
}

/// `POST /api/v1/feeds`: one feed file (OSV JSON or YAML, an OSV zip dump,
/// an Alpine secdb document), imported as `feed import` would (feed:write).
pub async fn post_feed(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>,
    b: Body,
) -> Result<Json<buildledger_service::feeds::FeedImport>, ApiError> {
    st.authorize(&headers, Scope::FeedWrite).await?;
    let q = query_params(q)?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(kind) = feeds::UploadKind::from_content_type(ct) else {
        let mut a = ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json, application/yaml or application/zip",
        );
        a.problem.field = Some("Content-Type".into());
        return Err(a);
    };
    let bytes = body(&st, b).await?;
    let opts = feeds::ImportOptions {
        format: q.format.unwrap_or_else(|| "auto".into()),
        strict: q.strict,
    };
    let settings = st.settings().clone();
    let r = st
        .with_store(move |s| feeds::import_upload(s, &bytes, kind, BODY, &opts, &settings))
        .await?;
    st.metrics().submitted("feed", 1);
    Ok(Json(r))
}

/// Parameters of `POST /api/v1/sboms`.
#[derive(Debug, Default, Deserialize)]
pub struct SbomParams {
    /// The image digest the SBOM describes (default: the one it names).
    pub digest: Option<String>,
}

/// `POST /api/v1/sboms`: a CycloneDX or SPDX JSON SBOM, recorded as an
/// `sbom`/`unverified` record (builder:write).
pub async fn post_sbom(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SbomParams>, axum::extract::rejection::QueryRejection>,
    b: Body,
) -> Result<(StatusCode, Json<SbomImported>), ApiError> {
    st.authorize(&headers, Scope::BuilderWrite).await?;
    let q = query_params(q)?;
    let bytes = body(&st, b).await?;
    let (rec, skipped, warnings) =
        buildledger_service::scan::sbom_record(&bytes, BODY, q.digest.as_deref())?;
    let r = st
        .with_store(move |s| buildledger_service::scan::import_sbom(s, &rec, skipped, warnings))
        .await?;
    st.metrics().submitted("sbom", 1);
    Ok((StatusCode::CREATED, Json(r)))
}

/// `GET /api/v1/images/{digest}`.
pub async fn get_image(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> Result<Json<ImageView>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let d = reads::parse_digest(&digest, "digest")?;
    Ok(Json(st.with_store(move |s| reads::show(s, &d)).await?))
}

/// `GET /api/v1/images/{digest}/vulns`.
pub async fn get_vulns(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(digest): Path<String>,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<ImageFinding>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let p = query_params(q)?;
    let d = reads::parse_digest(&digest, "digest")?;
    let all = st.with_store(move |s| reads::vulns(s, &d)).await?;
    Ok(Json(page(all, &p, st.max_page())?))
}

/// `GET /api/v1/advisories/{id}/affected` (any id or alias).
pub async fn get_affected(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<ImageFinding>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let p = query_params(q)?;
    let limit = p.limit(st.max_page())?;
    let at = p.keyset_of(buildledger_service::cursor::AFFECTED)?;
    // A keyset page: images in ledger order, read from the cursor's record on.
    let page = st
        .with_store(move |s| reads::affected_page(s, &id, at.as_deref(), limit))
        .await?;
    Ok(Json(Page {
        items: page.findings,
        next_cursor: page.next.map(|c| {
            buildledger_service::cursor::encode(buildledger_service::cursor::AFFECTED, &c)
        }),
        estimated_rest: None,
    }))
}

/// Parameters of `GET /api/v1/query` (as `query`'s flags).
#[derive(Debug, Default, Deserialize)]
pub struct QueryParams {
    toolchain: Option<String>,
    package: Option<String>,
    repo: Option<String>,
    commit: Option<String>,
    tag: Option<String>,
    api_stability: Option<String>,
    trusted_only: Option<bool>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/query?toolchain=…&package=…&repo=…`.
pub async fn get_query(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<QueryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Hit>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let req = QueryRequest {
        toolchain: q.toolchain,
        package: q.package,
        repo: q.repo,
        commit: q.commit,
        tag: q.tag,
        api_stability: q.api_stability,
        trusted_only: q.trusted_only.unwrap_or(false),
        // A keyset page: the store reads from the cursor's record on, so a
        // page costs the same wherever it is in the list.
        limit: Some(p.limit(st.max_page())?),
        cursor: p.keyset()?,
    };
    // Checked before the ledger is touched.
    let prepared = buildledger_service::query::prepare(&req)?;
    let res = st
        .with_store(move |s| buildledger_service::query::run(s, &prepared))
        .await?;
    Ok(Json(Page {
        items: res.hits,
        next_cursor: res
            .next
            .map(|c| buildledger_service::cursor::encode(buildledger_service::cursor::QUERY, &c)),
        estimated_rest: res.estimated_rest,
    }))
}

/// `GET /api/v1/table`.
pub async fn get_table(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<TableRow>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let p = query_params(q)?;
    let limit = p.limit(st.max_page())?;
    let after = match &p.cursor {
        Some(c) => Some(
            buildledger_service::cursor::decode(buildledger_service::cursor::TABLE, c).ok_or_else(
                || {
                    ApiError::bad(
                        "cursor",
                        format!("cursor {c:?} is not one this server issued"),
                    )
                },
            )?,
        ),
        None => None,
    };
    // A keyset page: read from the cursor's digest on.
    let page = st
        .with_store(move |s| reads::table_page(s, after.as_deref(), None, limit))
        .await?;
    let next_cursor = page
        .more_after
        .then(|| {
            page.rows.last().map(|r| {
                buildledger_service::cursor::encode(buildledger_service::cursor::TABLE, &r.digest)
            })
        })
        .flatten();
    Ok(Json(Page {
        items: page.rows,
        next_cursor,
        estimated_rest: None,
    }))
}

/// Parameters of `GET /api/v1/changes`.
#[derive(Debug, Default, Deserialize)]
pub struct ChangesParams {
    since: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/changes?since=24h`.
pub async fn get_changes(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ChangesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<FindingChange>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    let since = q.since.as_deref().ok_or_else(|| {
        ApiError::bad(
            "since",
            "since is required (RFC 3339, YYYY-MM-DD or 15m/24h/7d)",
        )
    })?;
    let t = feeds::parse_since(since).map_err(|e| {
        let mut a = ApiError::from(e);
        a.problem.field = Some("since".into());
        a
    })?;
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = p.limit(st.max_page())?;
    let at = p.keyset_of(buildledger_service::cursor::CHANGES)?;
    // A keyset page: changes from the cursor's (time, event) on.
    let (items, next) = st
        .with_store(move |s| reads::changes_page(s, t, at.as_deref(), limit))
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: next
            .map(|c| buildledger_service::cursor::encode(buildledger_service::cursor::CHANGES, &c)),
        estimated_rest: None,
    }))
}

/// Parameters of `GET /api/v1/mismatches`.
#[derive(Debug, Default, Deserialize)]
pub struct MismatchParams {
    digest: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/mismatches[?digest=…]`.
pub async fn get_mismatches(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<MismatchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Mismatch>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    let d = match &q.digest {
        Some(d) => Some(reads::parse_digest(d, "digest")?),
        None => None,
    };
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let all = st
        .with_store(move |s| reads::mismatches(s, d.as_ref()))
        .await?;
    Ok(Json(page(all, &p, st.max_page())?))
}

/// `POST /api/v1/registry-events`: an OCI registry's notification
/// envelope; each manifest push from a configured registry becomes an
/// index job (registry:notify).
pub async fn post_registry_events(
    State(st): State<AppState>,
    headers: HeaderMap,
    b: Body,
) -> Result<(StatusCode, Json<buildledger_service::jobs::EventsAccepted>), ApiError> {
    st.authorize(&headers, Scope::RegistryNotify).await?;
    let bytes = body(&st, b).await?;
    let regs = st.registries().to_vec();
    let r = st
        .with_store(move |s| buildledger_service::jobs::registry_events(s, &bytes, &regs))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(r)))
}

/// `POST /api/v1/inventory/{cluster}`: a cluster snapshot (a PodList, a
/// NamespaceList, or a `List` of both, as kubectl prints them) replacing
/// that cluster's inventory (inventory:write).
pub async fn post_inventory(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(cluster): Path<String>,
    b: Body,
) -> Result<Json<buildledger_service::inventory::InventoryReport>, ApiError> {
    st.authorize(&headers, Scope::InventoryWrite).await?;
    let bytes = body(&st, b).await?;
    let envs = st.environments().clone();
    let docs = vec![(bytes.to_vec(), BODY.to_string())];
    Ok(Json(
        st.with_store(move |s| buildledger_service::inventory::report(s, &cluster, &docs, &envs))
            .await?,
    ))
}

/// Parameters of `GET /api/v1/inventory`.
#[derive(Debug, Default, Deserialize)]
pub struct InventoryParams {
    cluster: Option<String>,
    digest: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/inventory[?cluster=&digest=]`: which digests run where.
pub async fn get_inventory(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<InventoryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<buildledger_service::types::InventoryRow>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    let d = match &q.digest {
        Some(d) => Some(reads::parse_digest(d, "digest")?),
        None => None,
    };
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let cluster = q.cluster;
    let all = st
        .with_store(move |s| {
            buildledger_service::inventory::list(s, cluster.as_deref(), d.as_ref())
        })
        .await?;
    Ok(Json(page(all, &p, st.max_page())?))
}

/// `POST /api/v1/waivers`: add a waiver (waiver:write); the waiver's
/// fields as `waiver add` takes them.
pub async fn post_waiver(
    State(st): State<AppState>,
    headers: HeaderMap,
    b: Body,
) -> Result<(StatusCode, Json<buildledger_service::types::Waiver>), ApiError> {
    st.authorize(&headers, Scope::WaiverWrite).await?;
    let bytes = body(&st, b).await?;
    let req: buildledger_service::waivers::WaiverRequest =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad(BODY, format!("{BODY}: {e}")))?;
    let w = st
        .with_store(move |s| buildledger_service::waivers::add(s, &req, chrono::Utc::now()))
        .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

/// Parameters of `GET /api/v1/waivers`.
#[derive(Debug, Default, Deserialize)]
pub struct WaiverParams {
    all: Option<bool>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/waivers[?all=true]`: waivers in force (or all).
pub async fn get_waivers(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<WaiverParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<buildledger_service::types::Waiver>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    let all = q.all.unwrap_or(false);
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let rows = st
        .with_store(move |s| buildledger_service::waivers::list(s, all, chrono::Utc::now()))
        .await?;
    Ok(Json(page(rows, &p, st.max_page())?))
}

/// `DELETE /api/v1/waivers/{id}`: revoke a waiver (waiver:write).
pub async fn delete_waiver(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let p = st.authorize(&headers, Scope::WaiverWrite).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad("id", format!("{id:?} is not a waiver id")))?;
    st.with_store(move |s| {
        buildledger_service::waivers::revoke(s, id, &format!("token:{}", p.name))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Parameters of `POST /api/v1/vex`.
#[derive(Debug, Default, Deserialize)]
pub struct VexParams {
    /// Keep an unsigned document, marked untrusted.
    #[serde(default)]
    allow_unsigned: bool,
}

/// `POST /api/v1/vex[?allow_unsigned=true]`: an OpenVEX document or a DSSE
/// envelope of one (vex:write), verified against the VEX authors of the
/// server's trust policy. 201, with `outcome` `added`, `replaced` or
/// `unchanged` (the same bytes were stored already).
pub async fn post_vex(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<VexParams>, axum::extract::rejection::QueryRejection>,
    b: Body,
) -> Result<(StatusCode, Json<buildledger_service::vex::VexImport>), ApiError> {
    st.authorize(&headers, Scope::VexWrite).await?;
    let q = query_params(q)?;
    let bytes = body(&st, b).await?;
    let policy = st.trust_policy().map(std::path::Path::to_path_buf);
    let opts = buildledger_service::vex::VexOptions {
        allow_unsigned: q.allow_unsigned,
    };
    let r = st
        .with_store(move |s| {
            let policy = policy.as_deref().map(provenance::load_policy).transpose()?;
            buildledger_service::vex::import(s, &bytes, BODY, policy.as_ref(), &opts)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// Parameters of `GET /api/v1/vex`.
#[derive(Debug, Default, Deserialize)]
pub struct VexListParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/vex`: stored VEX documents, newest first.
pub async fn get_vex(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<VexListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<buildledger_service::types::VexDocument>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let rows = st.with_store(buildledger_service::vex::list).await?;
    Ok(Json(page(rows, &p, st.max_page())?))
}

/// Parameters of `GET /api/v1/posture`.
#[derive(Debug, Default, Deserialize)]
pub struct PostureParams {
    env: Option<String>,
    decision: Option<String>,
    /// Only the workloads to stop: denied, outside production.
    #[serde(default)]
    stop_list: bool,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/posture[?env=&decision=]`: the decision for every running
/// container under the server's policy (the cached decisions are
/// refreshed first, incrementally).
pub async fn get_posture(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<PostureParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<buildledger_service::posture::PostureEntry>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    if let Some(d) = q.decision.as_deref()
        && !matches!(d, "allow" | "warn" | "deny")
    {
        return Err(ApiError::bad(
            "decision",
            format!("{d:?}: expected allow, warn or deny"),
        ));
    }
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let policy = st.policy();
    let query = buildledger_service::posture::PostureQuery {
        env: q.env,
        decision: q.decision,
        full: false,
        stop_list: q.stop_list,
    };
    let (rows, _) = st
        .with_store(move |s| {
            buildledger_service::posture::posture(s, &policy, &query, chrono::Utc::now())
        })
        .await?;
    Ok(Json(page(rows, &p, st.max_page())?))
}

/// `GET /api/v1/jobs`: the job queue.
pub async fn get_jobs(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<buildledger_service::types::Job>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let p = query_params(q)?;
    let all = st.with_store(buildledger_service::jobs::list).await?;
    Ok(Json(page(all, &p, st.max_page())?))
}

/// `GET /api/v1/feeds`: per-source sync state.
pub async fn get_feeds(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<buildledger_service::types::FeedSourceState>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    Ok(Json(st.with_store(feeds::sources).await?))
}

/// `POST /api/v1/scans`: a scan a client ran (`scan --record --server`),
/// recorded as `indexer`/`unverified` (builder:write).
pub async fn post_scan(
    State(st): State<AppState>,
    headers: HeaderMap,
    b: Body,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    st.authorize(&headers, Scope::BuilderWrite).await?;
    let bytes = body(&st, b).await?;
    let r = st
        .with_store(move |s| buildledger_service::scan::record_client_scan(s, &bytes, BODY))
        .await?;
    st.metrics().submitted("scan", 1);
    Ok((StatusCode::CREATED, Json(r)))
}

/// `GET /api/v1/conflicts`: digests whose records disagree.
pub async fn get_conflicts(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<reads::DigestConflicts>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let p = query_params(q)?;
    let all = st.with_store(reads::conflicts).await?;
    Ok(Json(page(all, &p, st.max_page())?))
}

/// `GET /api/v1/images/{digest}/lineage`: indexed images it was built on.
pub async fn get_lineage(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> Result<Json<reads::Lineage>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let d = reads::parse_digest(&digest, "digest")?;
    Ok(Json(st.with_store(move |s| reads::lineage(s, &d)).await?))
}

/// `GET /api/v1/info`: what the ledger holds and where (admin: it names
/// the database).
pub async fn get_info(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<reads::Info>, ApiError> {
    st.authorize(&headers, Scope::Admin).await?;
    Ok(Json(st.with_store(reads::info).await?))
}

/// `GET /api/v1/audit`: the audit log verified (chain, seals, postings;
/// admin: it reads every record). Tampering is the result's `intact: false`.
pub async fn get_audit(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<buildledger_service::audit::Verification>, ApiError> {
    st.authorize(&headers, Scope::Admin).await?;
    let settings = st.settings().clone();
    Ok(Json(
        st.with_store(move |s| buildledger_service::audit::verify(s, None, &settings))
            .await?,
    ))
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the database answers and its schema is this build's.
pub async fn readyz(State(st): State<AppState>) -> Result<&'static str, ApiError> {
    st.with_store(reads::schema_state).await?;
    Ok("ready\n")
}

/// `GET /metrics`: Prometheus text format: this replica's counters, and
/// the shared state read from the ledger at scrape time (job queue depth
/// per kind and state, feed age and errors per source).
pub async fn metrics(State(st): State<AppState>) -> impl axum::response::IntoResponse {
    let mut text = st.metrics().encode();
    let shared = st
        .with_store(|s| Ok((s.job_counts()?, feeds::sources(s)?, s.advisory_stats()?)))
        .await;
    if let Ok((jobs, sources, (advisories, findings))) = shared {
        let mut extra = String::new();
        extra.push_str("# HELP buildledger_advisories Advisories stored.\n# TYPE buildledger_advisories gauge\n");
        extra.push_str(&format!("buildledger_advisories {advisories}\n"));
        extra.push_str("# HELP buildledger_findings Current findings (advisory x component).\n# TYPE buildledger_findings gauge\n");
        extra.push_str(&format!("buildledger_findings {findings}\n"));
        extra.push_str(
            "# HELP buildledger_jobs_queued Jobs in the shared queue by kind and state.\n",
        );
        extra.push_str("# TYPE buildledger_jobs_queued gauge\n");
        for (kind, state, n) in jobs {
            extra.push_str(&format!(
                "buildledger_jobs_queued{{kind=\"{}\",state=\"{}\"}} {n}\n",
                label(&kind),
                label(&state)
            ));
        }
        let now = chrono::Utc::now();
        extra.push_str("# HELP buildledger_feed_age_seconds Seconds since each feed source last synced successfully.\n");
        extra.push_str("# TYPE buildledger_feed_age_seconds gauge\n");
        for f in &sources {
            if let Some(t) = f.last_success {
                extra.push_str(&format!(
                    "buildledger_feed_age_seconds{{source=\"{}\"}} {}\n",
                    label(&f.name),
                    (now - t).num_milliseconds() as f64 / 1000.0
                ));
            }
        }
        extra.push_str("# HELP buildledger_feed_failing Whether a feed source's last sync failed (1) or not (0).\n");
        extra.push_str("# TYPE buildledger_feed_failing gauge\n");
        for f in &sources {
            extra.push_str(&format!(
                "buildledger_feed_failing{{source=\"{}\"}} {}\n",
                label(&f.name),
                u8::from(f.last_error.is_some())
            ));
        }
        match text.rfind("# EOF") {
            Some(i) => text.insert_str(i, &extra),
            None => text.push_str(&extra),
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// A label value escaped for the exposition format.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Parameters of `POST /admission`.
#[derive(Debug, Default, Deserialize)]
pub struct AdmissionQuery {
    /// The environment this webhook serves.
    environment: Option<String>,
    /// The cluster this webhook serves.
    cluster: Option<String>,
    /// The API server's own deadline for the call (`10s`), which it appends.
    timeout: Option<String>,
}

/// A Go duration as the API server writes `?timeout=` (`10s`, `1m30s`,
/// `500ms`); None when it is not one.
fn go_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() || rest.len() > 32 {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += v * unit;
        rest = &rest[u..];
    }
    (total.is_finite() && (0.0..86_400.0).contains(&total))
        .then(|| std::time::Duration::from_secs_f64(total))
}

/// `POST /admission[?environment=E&cluster=C]`: the validating admission
/// webhook (`admission:review`, unless `admission.allow_anonymous`, and then
/// never recorded). Answers an AdmissionReview decided from the ledger
/// alone within the admission deadline (shortened by the API server's
/// `?timeout=`); a decision that cannot be made fails open, or closed where
/// configured. A body that is not an AdmissionReview is 400.
pub async fn post_admission(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AdmissionQuery>, axum::extract::rejection::QueryRejection>,
    b: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    admission(st, headers, q, (None, None), b).await
}

/// `POST /admission/{environment}[/{cluster}]`: the webhook with its
/// environment (and cluster) in the path, the form a
/// ValidatingWebhookConfiguration can name: the API server refuses a query
/// string in a webhook's URL, and each segment of a service path must be a
/// DNS-1123 subdomain.
pub async fn post_admission_at(
    State(st): State<AppState>,
    Path(p): Path<Vec<(String, String)>>,
    headers: HeaderMap,
    q: Result<Query<AdmissionQuery>, axum::extract::rejection::QueryRejection>,
    b: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    admission(st, headers, q, (get("environment"), get("cluster")), b).await
}

async fn admission(
    st: AppState,
    headers: HeaderMap,
    q: Result<Query<AdmissionQuery>, axum::extract::rejection::QueryRejection>,
    (path_env, path_cluster): (Option<String>, Option<String>),
    b: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let t0 = std::time::Instant::now();
    let (mut budget, anonymous) = st.admission_limits();
    let record = if anonymous && !headers.contains_key(axum::http::header::AUTHORIZATION) {
        false
    } else {
        st.authorize(&headers, Scope::AdmissionReview).await?;
        true
    };
    // The body is read (within the limit) before the parameters are
    // checked: an authenticated caller gets its 400 as a response, not as a
    // reset HTTP/2 stream.
    let bytes = body(&st, b).await?;
    let q = query_params(q)?;
    if let Some(t) = q.timeout.as_deref() {
        let t = go_duration(t).ok_or_else(|| {
            ApiError::bad("timeout", format!("{t:?}: expected a duration, e.g. 10s"))
        })?;
        // Answer before the API server gives up: keep a fifth of its time.
        budget = budget.min(t.mul_f64(0.8));
    }
    let req = std::sync::Arc::new(buildledger_service::admission::parse(&bytes)?);
    let cfg = st.admission();
    let params = buildledger_service::admission::AdmissionParams {
        environment: path_env.or(q.environment),
        cluster: path_cluster.or(q.cluster),
    };
    let until = t0 + budget;
    let policy = st.policy();
    let decided = {
        let (req, cfg, params) = (req.clone(), cfg.clone(), params.clone());
        st.with_store(move |s| {
            buildledger_service::admission::decide(s, &policy, &cfg, &params, &req, record, until)
        })
    };
    let why = match tokio::time::timeout(budget, decided).await {
        Ok(Ok(v)) => {
            st.metrics()
                .admission(&v.decision, t0.elapsed().as_secs_f64());
            st.metrics().admission_memo(v.memo.0, v.memo.1);
            return Ok(Json(v.review));
        }
        Ok(Err(e)) if e.status.is_client_error() && e.status != StatusCode::REQUEST_TIMEOUT => {
            return Err(e);
        }
        Ok(Err(e)) => {
            // The reviewer sees a short reason; the log keeps the error.
            tracing::warn!(target: "buildledger::admission", uid = %req.uid, error = %e.problem.detail, "admission could not decide");
            if e.status == StatusCode::SERVICE_UNAVAILABLE {
                "the ledger is unavailable or the deadline passed"
            } else {
                "an internal error (see the server log)"
            }
        }
        Err(_) => "the admission deadline passed",
    };
    // No decision: the environment as far as it is known without the ledger.
    let env = params.environment.clone().or_else(|| {
        req.namespace
            .as_deref()
            .and_then(|n| cfg.environments.env_map.get(n).cloned())
    });
    let v = buildledger_service::admission::failure(&req, &cfg, env.as_deref(), why)?;
    tracing::warn!(
        target: "buildledger::admission",
        uid = %req.uid,
        environment = env.as_deref().unwrap_or(""),
        decision = %v.decision,
        why,
        "admission failed open or closed"
    );
    st.metrics().admission("failed", t0.elapsed().as_secs_f64());
    Ok(Json(v.review))
}

/// Parameters of `GET /api/v1/alerts`.
#[derive(Debug, Default, Deserialize)]
pub struct AlertParams {
    state: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/alerts[?state=firing|resolved]`: alerts as the server's
/// alert loop last left them (firing first, newest first).
pub async fn get_alerts(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<buildledger_service::types::AlertRow>>, ApiError> {
    st.authorize(&headers, Scope::Read).await?;
    let q = query_params(q)?;
    if let Some(v) = q.state.as_deref()
        && !matches!(v, "firing" | "resolved")
    {
        return Err(ApiError::bad(
            "state",
            format!("{v:?}: expected firing or resolved"),
        ));
    }
    let p = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    };
    let state = q.state;
    let rows = st
        .with_store(move |s| buildledger_service::alerts::list(s, state.as_deref()))
        .await?;
    Ok(Json(page(rows, &p, st.max_page())?))
}
