//! `buildledger serve`: the application layer (`buildledger-service`) as an
//! authenticated JSON API over HTTPS, for CI pipelines, clusters and
//! dashboards. It re-implements nothing: every route authenticates, parses
//! its parameters, calls one use case on a blocking thread (the store is
//! synchronous) and returns the use case's result, or its error as
//! `application/problem+json` (`problem`: the one mapping of error kinds to
//! HTTP statuses).
//!
//! - [`config`]: the TOML file, environment overrides, and the checks made
//!   before anything listens (TLS, or plain HTTP on loopback only).
//! - `app`: shared state: a pool of ledger connections, settings, the
//!   trusted-builder policy, bearer-token authentication and scopes.
//! - `routes`: the handlers; lists are pages with an opaque cursor.
//! - [`openapi`]: the OpenAPI 3.1 document, from the route table and the
//!   service's result schemas.
//! - `metrics`: Prometheus request counts, latency histograms, submissions.
//! - `console`: the web console's server-rendered HTML pages (`/login`,
//!   `/`, `/images/{digest}`, `/advisories/{id}`, `/table`, `/search`),
//!   signed in with an API token kept in an `HttpOnly` session cookie.
//!
//! Security: TLS (rustls on aws-lc-rs) from PEM files, reloaded when they
//! change; request bodies are bounded before they are read; every request
//! has a deadline; log lines carry the method, route, status, latency and
//! the token's *name*, never a header, a token or a body.

pub mod config;
pub mod openapi;

mod app;
mod commit;
mod console;
mod metrics;
mod problem;
mod routes;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

pub use app::{AppOptions, AppState};
pub use config::{Config, ConfigError};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is wrong (exit 2).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The ledger could not be opened.
    #[error("{0}")]
    Ledger(#[from] buildledger_service::Error),
    /// Listening, TLS or the runtime failed (exit 1).
    #[error("{0}")]
    Io(String),
}

/// The router over `state`, with body limit, deadline, metrics and logs.
pub fn router(state: AppState, body_limit: usize, timeout: Duration) -> Router {
    let api = Router::new()
        .route("/api/v1/records", post(routes::post_records))
        .route("/api/v1/attestations", post(routes::post_attestation))
        .route("/api/v1/sboms", post(routes::post_sbom))
        .route("/api/v1/feeds", post(routes::post_feed))
        .route("/api/v1/images/{digest}", get(routes::get_image))
        .route("/api/v1/images/{digest}/vulns", get(routes::get_vulns))
        .route(
            "/api/v1/advisories/{id}/affected",
            get(routes::get_affected),
        )
        .route("/api/v1/query", get(routes::get_query))
        .route("/api/v1/table", get(routes::get_table))
        .route("/api/v1/changes", get(routes::get_changes))
        .route("/api/v1/mismatches", get(routes::get_mismatches))
        .route(
            "/api/v1/registry-events",
            post(routes::post_registry_events),
        )
        .route("/api/v1/scans", post(routes::post_scan))
        .route("/api/v1/conflicts", get(routes::get_conflicts))
        .route("/api/v1/images/{digest}/lineage", get(routes::get_lineage))
        .route("/api/v1/info", get(routes::get_info))
        .route("/api/v1/audit", get(routes::get_audit))
        .route("/api/v1/jobs", get(routes::get_jobs))
        .route("/api/v1/inventory/{cluster}", post(routes::post_inventory))
        .route("/api/v1/inventory", get(routes::get_inventory))
        .route(
            "/api/v1/waivers",
            post(routes::post_waiver).get(routes::get_waivers),
        )
        .route(
            "/api/v1/waivers/{id}",
            axum::routing::delete(routes::delete_waiver),
        )
        .route("/api/v1/feeds", get(routes::get_feeds))
        .route("/api/v1/vex", post(routes::post_vex).get(routes::get_vex))
        .route("/api/v1/posture", get(routes::get_posture))
        .route("/api/v1/alerts", get(routes::get_alerts))
        .route(
            "/api/v1/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        )
        .route("/admission", post(routes::post_admission))
        .route("/admission/{environment}", post(routes::post_admission_at))
        .route(
            "/admission/{environment}/{cluster}",
            post(routes::post_admission_at),
        )
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        // The web console's HTML pages (not part of the OpenAPI document,
        // which covers the JSON API only).
        .merge(console::routes());
    api.fallback(|| async {
        problem::ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "no such route (see /api/v1/openapi.json)",
        )
    })
    .layer(middleware::from_fn_with_state(state.clone(), observe))
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(DefaultBodyLimit::max(body_limit))
    .with_state(state)
}

/// Count and log every request: method, route template, status, latency.
async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let t0 = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let resp = next.run(req).await;
    let secs = t0.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    st.metrics().request(&route, &method, status, secs);
    tracing::info!(
        target: "buildledger::http",
        method = %method,
        route = %route,
        status,
        ms = secs * 1000.0,
        "request"
    );
    resp
}

fn modified(p: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Run the server until SIGINT/SIGTERM; in-flight requests finish first
/// (up to 30 s). `settings` gives the input limits.
pub fn serve(config: Config, settings: buildledger_service::Settings) -> Result<(), ServeError> {
    config.check()?;
    let addr: SocketAddr = config.addr()?;
    let body_limit = config.body_limit()?;
    let target = buildledger_service::open::resolve_target(config.db.as_deref())?;
    // A policy that does not compile stops the server before it listens.
    let policy = std::sync::Arc::new(buildledger_service::policy::Policy::load(
        &config.policy_files,
        config.policy_replace,
        &settings,
    )?);
    // Alert targets, with each webhook's secret read once, here.
    let alert_targets = if config.alerts.interval_secs > 0 && !config.alerts.sinks.is_empty() {
        let mut targets = Vec::new();
        for sink in &config.alerts.sinks {
            let secret = match &sink.secret_env {
                Some(var) => Some(
                    std::env::var(var)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            ConfigError(format!(
                                "alerts.sinks {:?}: secret_env names {var}, which is not set",
                                sink.name
                            ))
                        })?
                        .into_bytes(),
                ),
                None => None,
            };
            for (id, url) in sink.targets() {
                targets.push(workers::AlertTarget {
                    id,
                    url,
                    kind: sink.kind.clone(),
                    mode: sink.mode.clone().unwrap_or_else(|| "structured".into()),
                    secret: secret.clone(),
                });
            }
        }
        Some(std::sync::Arc::new(workers::AlertsRuntime {
            every: Duration::from_secs(config.alerts.interval_secs),
            resend: Duration::from_secs(config.alerts.resend_secs.max(1)),
            public_url: config.alerts.public_url.clone(),
            targets,
        }))
    } else {
        None
    };
    init_logs(&config.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Ledger work runs on blocking threads, at most `pool_size` at once
        // (the pool's permits); the rest is one index job's pull and scan
        // and file reads. Without a cap, tokio started a new thread whenever
        // a permit came free before its thread was idle again: 40–50
        // threads under 100 clients, each keeping its allocator pages (313
        // MiB; 184 MiB with the cap, and 15% more reads per second).
        .max_blocking_threads(config.pool_size + 4)
        .build()
        .map_err(|e| ServeError::Io(format!("runtime: {e}")))?;
    rt.block_on(async move {
        let state = {
            let target = target.clone();
            let opts = app::AppOptions {
                pool_size: config.pool_size,
                trust_policy: config.trust_policy.clone(),
                max_page: config.max_page,
                body_limit,
                registries: config.registries.clone(),
                environments: buildledger_service::inventory::Environments {
                    env_label: config.env_label.clone(),
                    env_map: config.env_map.clone(),
                },
                policy,
                admission: buildledger_service::admission::AdmissionConfig {
                    environments: buildledger_service::inventory::Environments {
                        env_label: config.env_label.clone(),
                        env_map: config.env_map.clone(),
                    },
                    fail_closed: config.admission.fail_closed.iter().cloned().collect(),
                    default_cluster: config.admission.cluster.clone(),
                },
                admission_deadline: Duration::from_millis(config.admission.deadline_ms),
                admission_anonymous: config.admission.allow_anonymous,
            };
            tokio::task::spawn_blocking(move || AppState::new(target, settings, opts))
                .await
                .map_err(|e| ServeError::Io(e.to_string()))??
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let background = workers::spawn(
            state.clone(),
            stop_rx,
            workers::WorkerConfig {
                worker: workers::worker_name(),
                registries: std::sync::Arc::new(config.registries.clone()),
                feeds: std::sync::Arc::new(config.feeds.clone()),
                scan_limits: buildledger_service::types::ScanLimits::default(),
                poll: Duration::from_millis(config.worker_poll_ms.max(50)),
                posture_every: (config.posture_refresh_secs > 0)
                    .then(|| Duration::from_secs(config.posture_refresh_secs)),
                alerts: alert_targets,
            },
        );
        let app = router(state, body_limit, config.timeout());
        let handle = axum_server::Handle::new();
        {
            let handle = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down: finishing in-flight requests and jobs");
                // Workers take no new job or sync; the one in hand finishes.
                let _ = stop_tx.send(true);
                handle.graceful_shutdown(Some(Duration::from_secs(30)));
            });
        }
        let shown = buildledger_service::types::redact_url(&target);
        let svc = app.into_make_service();
        let served = if config.plaintext {
            tracing::info!(%addr, ledger = %shown, "listening (plain HTTP, loopback only)");
            axum_server::bind(addr)
                .handle(handle)
                .serve(svc)
                .await
                .map_err(|e| ServeError::Io(format!("{addr}: {e}")))
        } else {
            let (cert, key) = match (&config.tls_cert, &config.tls_key) {
                (Some(c), Some(k)) => (c.clone(), k.clone()),
                _ => unreachable!("checked by Config::check"),
            };
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| {
                    ServeError::Config(ConfigError(format!(
                        "--tls-cert {} / --tls-key {}: {e}",
                        cert.display(),
                        key.display()
                    )))
                })?;
            spawn_reloader(tls.clone(), cert, key);
            tracing::info!(%addr, ledger = %shown, "listening (TLS)");
            axum_server::bind_rustls(addr, tls)
                .handle(handle)
                .serve(svc)
                .await
                .map_err(|e| ServeError::Io(format!("{addr}: {e}")))
        };
        // Requests are done; let the job or sync in hand finish (30 s at most).
        let drained = tokio::time::timeout(Duration::from_secs(30), async {
            for h in background {
                let _ = h.await;
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("background work did not finish in 30 s; its lease will be taken over");
        }
        served
    })
}

/// Reload the certificate and key when either file changes (checked every
/// 2 s); a pair that does not load keeps the previous one and is logged.
fn spawn_reloader(tls: axum_server::tls_rustls::RustlsConfig, cert: PathBuf, key: PathBuf) {
    tokio::spawn(async move {
        let mut seen = (modified(&cert), modified(&key));
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = (modified(&cert), modified(&key));
            if now == seen {
                continue;
            }
            match tls.reload_from_pem_file(&cert, &key).await {
                Ok(()) => {
                    tracing::info!(cert = %cert.display(), "TLS certificate reloaded");
                    seen = now;
                }
                Err(e) => tracing::warn!(
                    cert = %cert.display(),
                    error = %e,
                    "TLS certificate changed but does not load; keeping the previous one"
                ),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn init_logs(format: &str) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}
