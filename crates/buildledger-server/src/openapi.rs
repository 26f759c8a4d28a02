//! The OpenAPI 3.1 document of the API, generated from the route table here
//! and the result schemas of the application layer (`schemas::all`, the
//! same JSON schemas `--json` is checked against). Hand-assembled rather
//! than derived with a second schema generator: every result type already
//! has a schemars schema, and OpenAPI 3.1 takes JSON Schema 2020-12 as it
//! is. A test checks that every route the router serves is documented and
//! every documented response validates.

use serde_json::{Map, Value, json};

/// What a route returns on success.
#[derive(Debug, Clone, Copy)]
pub enum Returns {
    /// A result schema by name (`show`).
    Result(&'static str),
    /// A page whose items are the elements of an array result schema.
    Page(&'static str),
    /// Plain text.
    Text,
    /// The OpenMetrics text exposition.
    Metrics,
    /// No body.
    Empty,
    /// An AdmissionReview (`admission.k8s.io/v1`) with its response.
    AdmissionReview,
}

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path as axum and OpenAPI write it (`/api/v1/images/{digest}`).
    pub path: &'static str,
    /// operationId.
    pub operation: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The scope it needs (None: no authentication).
    pub scope: Option<&'static str>,
    /// Query and path parameters: (name, in, type, required, description).
    pub params: &'static [(&'static str, &'static str, &'static str, bool, &'static str)],
    /// Request body: (media type, description).
    pub body: Option<(&'static str, &'static str)>,
    /// Success status.
    pub status: u16,
    /// Success body.
    pub returns: Returns,
}

const PAGE: &[(&str, &str, &str, bool, &str)] = &[
    (
        "limit",
        "query",
        "integer",
        false,
        "At most this many items (default 100, capped by the server).",
    ),
    (
        "cursor",
        "query",
        "string",
        false,
        "The `next_cursor` of the previous page.",
    ),
];

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/api/v1/records",
        operation: "postRecords",
        summary: "Record one build record, or an array of them (each in its own transaction). A builder token may submit only records that name its builder id.",
        scope: Some("builder:write"),
        params: &[],
        body: Some((
            "application/json",
            "A build record (schema/build-record.v1.json) or a non-empty array of them.",
        )),
        status: 201,
        returns: Returns::Result("record"),
    },
    Route {
        method: "POST",
        path: "/api/v1/attestations",
        operation: "postAttestation",
        summary: "Verify a DSSE envelope (in-toto Statement v1, SLSA provenance v1) against the server's trusted-builder policy and record it. A builder token may submit only attestations of its own builder.",
        scope: Some("builder:write"),
        params: &[
            (
                "digest",
                "query",
                "string",
                false,
                "A digest the attestation must name as a subject.",
            ),
            (
                "allow_unverified",
                "query",
                "boolean",
                false,
                "Keep an envelope that does not verify, as unverified.",
            ),
        ],
        body: Some(("application/json", "A DSSE envelope.")),
        status: 201,
        returns: Returns::Result("record-one"),
    },
    Route {
        method: "POST",
        path: "/api/v1/sboms",
        operation: "postSbom",
        summary: "Record the components of a CycloneDX (1.4–1.6) or SPDX 2.3 JSON SBOM as an unverified claim.",
        scope: Some("builder:write"),
        params: &[(
            "digest",
            "query",
            "string",
            false,
            "The image digest it describes (default: the one the SBOM names).",
        )],
        body: Some(("application/json", "A CycloneDX or SPDX JSON document.")),
        status: 201,
        returns: Returns::Result("sbom-import"),
    },
    Route {
        method: "POST",
        path: "/api/v1/feeds",
        operation: "postFeed",
        summary: "Import one feed file (OSV JSON or YAML, an OSV zip dump as application/zip, an Alpine secdb document), as `feed import` does.",
        scope: Some("feed:write"),
        params: &[
            (
                "format",
                "query",
                "string",
                false,
                "auto (default), osv or alpine-secdb.",
            ),
            (
                "strict",
                "query",
                "boolean",
                false,
                "All or nothing: anything rejected or warned about imports nothing.",
            ),
        ],
        body: Some((
            "application/json",
            "An OSV advisory (or an array of them) or an Alpine secdb document.",
        )),
        status: 200,
        returns: Returns::Result("feed-import"),
    },
    Route {
        method: "GET",
        path: "/api/v1/images/{digest}",
        operation: "getImage",
        summary: "Everything the ledger knows about one image digest.",
        scope: Some("read"),
        params: &[("digest", "path", "string", true, "sha256:<64 hex>")],
        body: None,
        status: 200,
        returns: Returns::Result("show"),
    },
    Route {
        method: "GET",
        path: "/api/v1/images/{digest}/vulns",
        operation: "getImageVulns",
        summary: "Findings for one image (toolchain advisories have kind `toolchain`).",
        scope: Some("read"),
        params: &[
            ("digest", "path", "string", true, "sha256:<64 hex>"),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("vulns"),
    },
    Route {
        method: "GET",
        path: "/api/v1/advisories/{id}/affected",
        operation: "getAffected",
        summary: "Every image digest affected by an advisory (any id or alias).",
        scope: Some("read"),
        params: &[
            (
                "id",
                "path",
                "string",
                true,
                "Advisory id or alias (CVE, GHSA, GO-…).",
            ),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("affected"),
    },
    Route {
        method: "GET",
        path: "/api/v1/query",
        operation: "query",
        summary: "Records matching a toolchain, package, source or API-stability query (as `buildledger query`).",
        scope: Some("read"),
        params: &[
            (
                "toolchain",
                "query",
                "string",
                false,
                "NAME@VERSION or NAME@RANGE: go@1.13.4, go@<1.14.",
            ),
            (
                "package",
                "query",
                "string",
                false,
                "A purl without version, optionally @VERSION or @RANGE.",
            ),
            ("repo", "query", "string", false, "Source repository URL."),
            (
                "commit",
                "query",
                "string",
                false,
                "Commit id or prefix (7+ hex digits).",
            ),
            ("tag", "query", "string", false, "Tag built."),
            (
                "api_stability",
                "query",
                "string",
                false,
                "alpha, beta, stable or deprecated.",
            ),
            (
                "trusted_only",
                "query",
                "boolean",
                false,
                "Only verified or observed records.",
            ),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("query"),
    },
    Route {
        method: "GET",
        path: "/api/v1/table",
        operation: "getTable",
        summary: "The mapping table, one row per image digest.",
        scope: Some("read"),
        params: PAGE,
        body: None,
        status: 200,
        returns: Returns::Page("table"),
    },
    Route {
        method: "GET",
        path: "/api/v1/changes",
        operation: "getChanges",
        summary: "Findings added and removed since a time.",
        scope: Some("read"),
        params: &[
            (
                "since",
                "query",
                "string",
                true,
                "RFC 3339, YYYY-MM-DD, or 15m/24h/7d.",
            ),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("changes"),
    },
    Route {
        method: "GET",
        path: "/api/v1/mismatches",
        operation: "getMismatches",
        summary: "Where build claims disagree with what the image shows.",
        scope: Some("read"),
        params: &[
            ("digest", "query", "string", false, "Only this digest."),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("mismatches"),
    },
    Route {
        method: "POST",
        path: "/api/v1/registry-events",
        operation: "postRegistryEvents",
        summary: "An OCI registry's notification envelope (application/vnd.docker.distribution.events.v1+json): each manifest push from a configured registry becomes an index job.",
        scope: Some("registry:notify"),
        params: &[],
        body: Some((
            "application/json",
            "A notification envelope: {\"events\": [...]}.",
        )),
        status: 202,
        returns: Returns::Result("registry-events"),
    },
    Route {
        method: "POST",
        path: "/api/v1/scans",
        operation: "postScan",
        summary: "A scan a client ran (the build record `scan` makes), recorded as indexer/unverified: a claim, never an observation.",
        scope: Some("builder:write"),
        params: &[],
        body: Some((
            "application/json",
            "One build record as `scan --format json` describes it (no origin, trust or record_time).",
        )),
        status: 201,
        returns: Returns::Result("record-one"),
    },
    Route {
        method: "GET",
        path: "/api/v1/conflicts",
        operation: "getConflicts",
        summary: "Digests whose records disagree (two commits for one digest).",
        scope: Some("read"),
        params: PAGE,
        body: None,
        status: 200,
        returns: Returns::Page("conflicts"),
    },
    Route {
        method: "GET",
        path: "/api/v1/images/{digest}/lineage",
        operation: "getLineage",
        summary: "Indexed images whose layers this image was built on.",
        scope: Some("read"),
        params: &[("digest", "path", "string", true, "sha256:<64 hex>")],
        body: None,
        status: 200,
        returns: Returns::Result("lineage"),
    },
    Route {
        method: "GET",
        path: "/api/v1/info",
        operation: "getInfo",
        summary: "Counts of what the ledger holds, and where it is.",
        scope: Some("admin"),
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Result("info"),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit",
        operation: "getAudit",
        summary: "The audit log verified: chain, every record against its seal, postings (`intact: false` when tampered with).",
        scope: Some("admin"),
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Result("audit-verify"),
    },
    Route {
        method: "POST",
        path: "/api/v1/inventory/{cluster}",
        operation: "postInventory",
        summary: "A cluster snapshot (PodList, NamespaceList, or a List of both as kubectl prints them) replacing that cluster's runtime inventory.",
        scope: Some("inventory:write"),
        params: &[("cluster", "path", "string", true, "Cluster name.")],
        body: Some((
            "application/json",
            "kubectl get pods -A -o json (and namespaces).",
        )),
        status: 200,
        returns: Returns::Result("inventory-report"),
    },
    Route {
        method: "GET",
        path: "/api/v1/inventory",
        operation: "getInventory",
        summary: "Which image digests run where: cluster, namespace, environment, workload, container.",
        scope: Some("read"),
        params: &[
            ("cluster", "query", "string", false, "Only this cluster."),
            ("digest", "query", "string", false, "Only this digest."),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("inventory"),
    },
    Route {
        method: "POST",
        path: "/api/v1/waivers",
        operation: "postWaiver",
        summary: "Add a waiver: one advisory on a digest, package or repository, optionally in one environment, with an owner, a reason and an end (at most 366 days away).",
        scope: Some("waiver:write"),
        params: &[],
        body: Some((
            "application/json",
            "{advisory, digest|package|repo, env?, owner, reason, expires}",
        )),
        status: 201,
        returns: Returns::Result("waiver"),
    },
    Route {
        method: "GET",
        path: "/api/v1/waivers",
        operation: "getWaivers",
        summary: "Waivers in force (all=true: revoked and expired ones too).",
        scope: Some("read"),
        params: &[
            (
                "all",
                "query",
                "boolean",
                false,
                "Include revoked and expired waivers.",
            ),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("waivers"),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/waivers/{id}",
        operation: "deleteWaiver",
        summary: "Revoke a waiver (it stays in the list, revoked; the audit log says who).",
        scope: Some("waiver:write"),
        params: &[("id", "path", "integer", true, "Waiver id.")],
        body: None,
        status: 204,
        returns: Returns::Empty,
    },
    Route {
        method: "POST",
        path: "/api/v1/vex",
        operation: "postVex",
        summary: "Import an OpenVEX 0.2.0 document: a DSSE envelope signed by a key the server's trust policy pins to the document's author, or (allow_unsigned=true) a plain document, kept untrusted.",
        scope: Some("vex:write"),
        params: &[(
            "allow_unsigned",
            "query",
            "boolean",
            false,
            "Keep an unsigned document, marked untrusted (the built-in policy ignores it).",
        )],
        body: Some((
            "application/json",
            "An OpenVEX document, or a DSSE envelope of one.",
        )),
        status: 201,
        returns: Returns::Result("vex-import"),
    },
    Route {
        method: "GET",
        path: "/api/v1/vex",
        operation: "getVex",
        summary: "Stored VEX documents, newest first (superseded versions included).",
        scope: Some("read"),
        params: PAGE,
        body: None,
        status: 200,
        returns: Returns::Page("vex-list"),
    },
    Route {
        method: "GET",
        path: "/api/v1/posture",
        operation: "getPosture",
        summary: "The policy's decision for every running container (deny, warn, allow; then by priority), refreshed incrementally first.",
        scope: Some("read"),
        params: &[
            ("env", "query", "string", false, "Only this environment."),
            (
                "decision",
                "query",
                "string",
                false,
                "Only this decision: allow, warn or deny.",
            ),
            (
                "stop_list",
                "query",
                "boolean",
                false,
                "Only the workloads to stop: denied, outside production.",
            ),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("posture"),
    },
    Route {
        method: "GET",
        path: "/api/v1/jobs",
        operation: "getJobs",
        summary: "The job queue (index-on-push), oldest first.",
        scope: Some("read"),
        params: PAGE,
        body: None,
        status: 200,
        returns: Returns::Page("jobs"),
    },
    Route {
        method: "GET",
        path: "/api/v1/feeds",
        operation: "getFeeds",
        summary: "Configured feed sources and their sync state (last success, last error, advisories).",
        scope: Some("read"),
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Result("feeds"),
    },
    Route {
        method: "GET",
        path: "/api/v1/openapi.json",
        operation: "getOpenApi",
        summary: "This document.",
        scope: None,
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Result("openapi"),
    },
    Route {
        method: "GET",
        path: "/api/v1/alerts",
        operation: "getAlerts",
        summary: "Alerts from the posture: one per workload, digest, rule and advisory, firing or resolved (firing first, newest first).",
        scope: Some("read"),
        params: &[
            (
                "state",
                "query",
                "string",
                false,
                "Only firing or only resolved alerts.",
            ),
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        status: 200,
        returns: Returns::Page("alerts"),
    },
    Route {
        method: "POST",
        path: "/admission",
        operation: "postAdmission",
        summary: "The validating admission webhook: an AdmissionReview (admission.k8s.io/v1 or v1beta1) decided from the ledger alone, answered in the apiVersion received. Deny: allowed false, status.code 403; warn: warnings. A decision that cannot be made fails open, or closed where configured (never in production).",
        scope: Some("admission:review"),
        params: &[
            (
                "environment",
                "query",
                "string",
                false,
                "The environment this webhook serves (else the namespace's label, else env_map).",
            ),
            (
                "cluster",
                "query",
                "string",
                false,
                "The cluster this webhook serves (else admission.cluster).",
            ),
            (
                "timeout",
                "query",
                "string",
                false,
                "The API server's deadline for the call (10s); the answer comes within four fifths of it.",
            ),
        ],
        body: Some((
            "application/json",
            "An AdmissionReview with its request, as the API server sends it.",
        )),
        status: 200,
        returns: Returns::AdmissionReview,
    },
    Route {
        method: "POST",
        path: "/admission/{environment}",
        operation: "postAdmissionEnvironment",
        summary: "The admission webhook with its environment (and cluster) in the path, the form a ValidatingWebhookConfiguration can name (no query string there): an AdmissionReview (admission.k8s.io/v1 or v1beta1) decided from the ledger alone, answered in the apiVersion received. Deny: allowed false, status.code 403; warn: warnings. A decision that cannot be made fails open, or closed where configured (never in production).",
        scope: Some("admission:review"),
        params: &[
            (
                "environment",
                "path",
                "string",
                true,
                "The environment this webhook serves.",
            ),
            (
                "timeout",
                "query",
                "string",
                false,
                "The API server's deadline for the call (10s); the answer comes within four fifths of it.",
            ),
        ],
        body: Some((
            "application/json",
            "An AdmissionReview with its request, as the API server sends it.",
        )),
        status: 200,
        returns: Returns::AdmissionReview,
    },
    Route {
        method: "POST",
        path: "/admission/{environment}/{cluster}",
        operation: "postAdmissionEnvironmentCluster",
        summary: "The admission webhook with its environment (and cluster) in the path, the form a ValidatingWebhookConfiguration can name (no query string there): an AdmissionReview (admission.k8s.io/v1 or v1beta1) decided from the ledger alone, answered in the apiVersion received. Deny: allowed false, status.code 403; warn: warnings. A decision that cannot be made fails open, or closed where configured (never in production).",
        scope: Some("admission:review"),
        params: &[
            (
                "environment",
                "path",
                "string",
                true,
                "The environment this webhook serves.",
            ),
            (
                "cluster",
                "path",
                "string",
                true,
                "The cluster this webhook serves.",
            ),
            (
                "timeout",
                "query",
                "string",
                false,
                "The API server's deadline for the call (10s); the answer comes within four fifths of it.",
            ),
        ],
        body: Some((
            "application/json",
            "An AdmissionReview with its request, as the API server sends it.",
        )),
        status: 200,
        returns: Returns::AdmissionReview,
    },
    Route {
        method: "GET",
        path: "/healthz",
        operation: "healthz",
        summary: "The process answers.",
        scope: None,
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Text,
    },
    Route {
        method: "GET",
        path: "/readyz",
        operation: "readyz",
        summary: "The database answers and its schema is this build's.",
        scope: None,
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Text,
    },
    Route {
        method: "GET",
        path: "/metrics",
        operation: "metrics",
        summary: "Prometheus metrics (OpenMetrics text exposition).",
        scope: None,
        params: &[],
        body: None,
        status: 200,
        returns: Returns::Metrics,
    },
];

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "field": {"type": "string", "description": "The parameter, header or field at fault."},
            "result": {"description": "A structured result that goes with the failure."}
        }
    })
}

fn ref_to(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut schemas = Map::new();
    for (name, schema) in buildledger_service::schemas::all() {
        let mut s = schema;
        if let Some(o) = s.as_object_mut() {
            if let Some(Value::Object(defs)) = o.remove("$defs") {
                for (k, v) in defs {
                    schemas.insert(k, v);
                }
            }
            o.remove("$schema");
        }
        schemas.insert(format!("{name}.v1"), s);
    }
    // One record (attestations return a single record).
    if let Some(items) = schemas
        .get("record.v1")
        .and_then(|r| r.get("items"))
        .cloned()
    {
        schemas.insert("record-one.v1".into(), items);
    }
    schemas.insert("problem".into(), problem_schema());
    schemas.insert(
        "openapi.v1".into(),
        json!({"type": "object", "description": "An OpenAPI 3.1 document."}),
    );
    let mut paths = Map::new();
    for r in ROUTES {
        let item = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        let content = match r.returns {
            Returns::Text => json!({"text/plain": {"schema": {"type": "string"}}}),
            Returns::Empty => json!(null),
            Returns::AdmissionReview => json!({"application/json": {"schema": {
                "type": "object",
                "required": ["apiVersion", "kind", "response"],
                "properties": {
                    "apiVersion": {"enum": buildledger_service::admission::API_VERSIONS},
                    "kind": {"const": "AdmissionReview"},
                    "response": {
                        "type": "object",
                        "required": ["uid", "allowed"],
                        "properties": {
                            "uid": {"type": "string"},
                            "allowed": {"type": "boolean"},
                            "status": {"type": "object", "properties": {
                                "code": {"type": "integer"},
                                "message": {"type": "string"},
                                "reason": {"type": "string"}
                            }},
                            "warnings": {"type": "array", "items": {"type": "string", "maxLength": buildledger_service::admission::MAX_WARNING_CHARS}},
                            "auditAnnotations": {"type": "object", "additionalProperties": {"type": "string"}}
                        }
                    }
                }
            }}}),
            Returns::Metrics => json!({
                "application/openmetrics-text; version=1.0.0; charset=utf-8": {"schema": {"type": "string"}}
            }),
            Returns::Result(name) => {
                json!({"application/json": {"schema": ref_to(&format!("{name}.v1"))}})
            }
            Returns::Page(name) => json!({"application/json": {"schema": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": ref_to(&format!("{name}.v1")),
                    "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last page."},
                    "estimated_rest": {"type": "integer", "minimum": 0, "description": "query only, with a next page: about how many hits there are from this page on (an estimate: the page's hits scaled by its share of the ledger)."}
                }
            }}}),
        };
        let problem = json!({"application/problem+json": {"schema": ref_to("problem")}});
        let mut responses = Map::new();
        responses.insert(
            r.status.to_string(),
            if content.is_null() {
                json!({"description": "Success (no body)."})
            } else {
                json!({"description": "Success.", "content": content})
            },
        );
        let mut errors = vec![("503", "The database is unavailable.")];
        if r.scope.is_some() {
            errors.extend([
                (
                    "400",
                    "Bad input: the parameter or field at fault is named.",
                ),
                ("401", "Missing, malformed, unknown or revoked token."),
                (
                    "403",
                    "The token lacks the scope, or is bound to another builder.",
                ),
                ("404", "Not in the ledger."),
                ("500", "Internal error."),
            ]);
        }
        if r.body.is_some() {
            errors.extend([
                ("413", "The body is over the server's limit."),
                ("409", "Conflicts with what is stored."),
            ]);
        }
        if r.operation == "postFeed" {
            errors.push(("415", "The Content-Type is not one of the feed formats."));
        }
        for (code, why) in errors {
            responses.insert(
                code.into(),
                json!({"description": why, "content": problem.clone()}),
            );
        }
        let params: Vec<Value> = r
            .params
            .iter()
            .map(|(name, at, ty, required, desc)| {
                json!({"name": name, "in": at, "required": required, "description": desc, "schema": {"type": ty}})
            })
            .collect();
        let mut op = json!({
            "operationId": r.operation,
            "summary": r.summary,
            "parameters": params,
            "responses": responses,
        });
        if let Some(scope) = r.scope {
            op["security"] = json!([{"bearer": [scope]}]);
            op["description"] = json!(format!(
                "Needs a token with the `{scope}` scope (or `admin`)."
            ));
        } else {
            op["security"] = json!([]);
        }
        if let Some((media, desc)) = r.body {
            op["requestBody"] = json!({"required": true, "description": desc, "content": {media: {"schema": {"type": "object"}}}});
        }
        item[r.method.to_ascii_lowercase()] = op;
    }
    let doc = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "buildledger",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The build ledger: what container images were built from, their findings, and where claims disagree. Errors are application/problem+json (RFC 9457); lists are pages with a cursor."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `buildledger token create`."}},
            "schemas": schemas,
        },
        "paths": paths,
    });
    // Result schemas refer to their own `$defs`; here those live in components.
    let text = serde_json::to_string(&doc)
        .unwrap_or_default()
        .replace("\"#/$defs/", "\"#/components/schemas/");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
