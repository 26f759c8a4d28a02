//! Shared state of a running server: a small pool of ledger connections
//! (the store is synchronous: every use case runs on a blocking thread),
//! the settings and policy the use cases need, and the metrics.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, header};
use buildledger_service::tokens::{Principal, Scope};
use buildledger_service::{Access, Settings, Store};

use crate::metrics::Metrics;
use crate::problem::ApiError;

/// The SQLite page cache a server's pooled connections share, in MiB: one
/// process-wide budget rather than 64 MiB per connection (eight connections
/// held half a gigabyte), at least 8 MiB each.
const CACHE_BUDGET_MIB: u32 = 64;

fn cache_mib(pool_size: usize) -> u32 {
    (CACHE_BUDGET_MIB / u32::try_from(pool_size.max(1)).unwrap_or(u32::MAX)).max(8)
}

/// What a server's state is made of, from its configuration.
pub struct AppOptions {
    /// Ledger connections (and use cases running at once).
    pub pool_size: usize,
    /// The trusted-builder policy for attestations.
    pub trust_policy: Option<PathBuf>,
    /// Largest page.
    pub max_page: usize,
    /// Largest request body.
    pub body_limit: usize,
    /// Registries whose pushes are indexed.
    pub registries: Vec<buildledger_service::jobs::RegistryConfig>,
    /// How namespaces map to environments.
    pub environments: buildledger_service::inventory::Environments,
    /// The policy posture is decided by.
    pub policy: Arc<buildledger_service::policy::Policy>,
    /// How the admission webhook decides.
    pub admission: buildledger_service::admission::AdmissionConfig,
    /// Longest one admission decision may take.
    pub admission_deadline: std::time::Duration,
    /// Answer AdmissionReviews without a token (never recorded).
    pub admission_anonymous: bool,
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    target: String,
    pool: Mutex<Vec<Store>>,
    pool_size: usize,
    /// At most `pool_size` use cases run at once: the rest wait here, so
    /// connections, threads and memory stay bounded under any load.
    permits: Arc<tokio::sync::Semaphore>,
    pub(crate) settings: Settings,
    pub(crate) trust_policy: Option<PathBuf>,
    pub(crate) metrics: Metrics,
    pub(crate) max_page: usize,
    pub(crate) body_limit: usize,
    pub(crate) registries: Vec<buildledger_service::jobs::RegistryConfig>,
    pub(crate) environments: buildledger_service::inventory::Environments,
    pub(crate) policy: Arc<buildledger_service::policy::Policy>,
    pub(crate) admission: Arc<buildledger_service::admission::AdmissionConfig>,
    pub(crate) admission_deadline: std::time::Duration,
    pub(crate) admission_anonymous: bool,
    committer: crate::commit::Committer,
}

impl AppState {
    /// State over the ledger at `target` (opened read-write and migrated
    /// once, here, so a replica that starts is a replica that is current).
    pub fn new(
        target: String,
        settings: Settings,
        o: AppOptions,
    ) -> buildledger_service::Result<AppState> {
        let mut first = buildledger_service::open::open(Some(&target), Access::ReadWrite)?;
        first
            .limit_cache(cache_mib(o.pool_size))
            .map_err(buildledger_service::Error::from)?;
        Ok(AppState {
            inner: Arc::new(Inner {
                target,
                pool: Mutex::new(vec![first]),
                pool_size: o.pool_size,
                permits: Arc::new(tokio::sync::Semaphore::new(o.pool_size)),
                settings,
                trust_policy: o.trust_policy,
                metrics: Metrics::new(),
                max_page: o.max_page,
                body_limit: o.body_limit,
                registries: o.registries,
                environments: o.environments,
                policy: o.policy,
                admission: Arc::new(o.admission),
                admission_deadline: o.admission_deadline,
                admission_anonymous: o.admission_anonymous,
                committer: crate::commit::Committer::default(),
            }),
        })
    }

    /// The queue of record submissions waiting for a group commit.
    pub(crate) fn committer(&self) -> &crate::commit::Committer {
        &self.inner.committer
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Settings (input limits).
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The trusted-builder policy file, if configured.
    pub fn trust_policy(&self) -> Option<&std::path::Path> {
        self.inner.trust_policy.as_deref()
    }

    /// Largest request body read.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Registries whose pushes are indexed.
    pub fn registries(&self) -> &[buildledger_service::jobs::RegistryConfig] {
        &self.inner.registries
    }

    /// How namespaces map to environments.
    pub fn environments(&self) -> &buildledger_service::inventory::Environments {
        &self.inner.environments
    }

    /// The policy posture is decided by.
    pub fn policy(&self) -> Arc<buildledger_service::policy::Policy> {
        self.inner.policy.clone()
    }

    /// How the admission webhook decides.
    pub fn admission(&self) -> Arc<buildledger_service::admission::AdmissionConfig> {
        self.inner.admission.clone()
    }

    /// Longest one admission decision may take, and whether tokenless
    /// reviews are answered.
    pub fn admission_limits(&self) -> (std::time::Duration, bool) {
        (
            self.inner.admission_deadline,
            self.inner.admission_anonymous,
        )
    }

    /// Largest page.
    pub fn max_page(&self) -> usize {
        self.inner.max_page
    }

    /// Run `f` with a ledger connection on a blocking thread, once one of
    /// the `pool_size` permits is free (connections are reused; at most
    /// `pool_size` exist). A connection that failed is dropped rather than
    /// returned to the pool.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> buildledger_service::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let me = self.clone();
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "shutting down",
                )
            })?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = me.inner.pool.lock().ok().and_then(|mut p| p.pop());
            let mut store = match taken {
                Some(s) => s,
                None => {
                    let mut s =
                        buildledger_service::open::open(Some(&me.inner.target), Access::ReadWrite)?;
                    s.limit_cache(cache_mib(me.inner.pool_size))
                        .map_err(buildledger_service::Error::from)?;
                    s
                }
            };
            let r = f(&mut store);
            let healthy = !matches!(
                &r,
                Err(e) if e.kind == buildledger_service::ErrorKind::Unavailable
            );
            if healthy
                && let Ok(mut p) = me.inner.pool.lock()
                && p.len() < me.inner.pool_size
            {
                p.push(store);
            }
            r
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("worker failed: {e}"),
            )
        })?
        .map_err(ApiError::from)
    }

    /// The caller, from `Authorization: Bearer …`, with `scope` required.
    /// Missing or bad token: 401; wrong scope: 403.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        scope: Scope,
    ) -> Result<Principal, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "missing Authorization: Bearer token",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| rest.trim().to_string())
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Authorization must be `Bearer TOKEN`",
                )
            })?;
        let p = self
            .with_store(move |s| buildledger_service::tokens::authenticate(s, &token))
            .await?;
        p.require(scope).map_err(ApiError::from)?;
        Ok(p)
    }
}
