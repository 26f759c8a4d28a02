//! Prometheus metrics (`GET /metrics`, text exposition format): request
//! counts and latency per route, and accepted submissions per kind.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
    outcome: String,
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    submissions: Family<KindLabels, Counter>,
    jobs: Family<OutcomeLabels, Counter>,
    feeds: Family<SourceLabels, Counter>,
    admissions: Family<KindLabels, Counter>,
    admission_latency: Histogram,
    admission_memo: Family<KindLabels, Counter>,
    alert_deliveries: Family<SourceLabels, Counter>,
    group_commit: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("buildledger");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms … ~16 s
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let submissions = Family::<KindLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "submissions",
            "Accepted submissions by kind (record, attestation, sbom)",
            submissions.clone(),
        );
        let jobs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "jobs",
            "Background jobs run by this replica, by kind and outcome (done, failed)",
            jobs.clone(),
        );
        let feeds = Family::<SourceLabels, Counter>::default();
        registry.register(
            "feed_syncs",
            "Feed syncs run by this replica, by source and outcome (imported, unchanged, failed)",
            feeds.clone(),
        );
        // Labelled by decision only: environments come from webhook URLs
        // and would let a caller grow the label set.
        let admissions = Family::<KindLabels, Counter>::default();
        registry.register(
            "admission_reviews",
            "AdmissionReviews answered, by decision (allow, warn, deny, failed: no decision could be made)",
            admissions.clone(),
        );
        // 0.25 ms … ~4 s
        let admission_latency = Histogram::new(exponential_buckets(0.00025, 2.0, 15));
        registry.register(
            "admission_decision_duration_seconds",
            "Time to decide one AdmissionReview, body read to answer",
            admission_latency.clone(),
        );
        let admission_memo = Family::<KindLabels, Counter>::default();
        registry.register(
            "admission_memo_lookups",
            "Images of AdmissionReviews whose decision was reused (hit) or made afresh (miss)",
            admission_memo.clone(),
        );
        let alert_deliveries = Family::<SourceLabels, Counter>::default();
        registry.register(
            "alert_deliveries",
            "Alert deliveries by this replica, by target (sink, or sink-N for Alertmanager replica N) and outcome (delivered, failed)",
            alert_deliveries.clone(),
        );
        // 1 … 512 submissions
        let group_commit = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "record_group_commit_submissions",
            "Record submissions stored per commit (group commit: larger under load)",
            group_commit.clone(),
        );
        Metrics {
            group_commit,
            registry: Arc::new(registry),
            alert_deliveries,
            admissions,
            admission_latency,
            admission_memo,
            requests,
            latency,
            submissions,
            jobs,
            feeds,
        }
    }

    /// Count a finished request.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// Count one group commit of `n` record submissions.
    pub fn group_commit(&self, n: usize) {
        self.group_commit.observe(n as f64);
    }

    /// Count `n` accepted submissions of `kind`.
    pub fn submitted(&self, kind: &str, n: u64) {
        self.submissions
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc_by(n);
    }

    /// Count a finished job.
    pub fn job(&self, kind: &str, outcome: &str) {
        self.jobs
            .get_or_create(&OutcomeLabels {
                kind: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Count a feed sync.
    pub fn feed_synced(&self, source: &str, outcome: &str) {
        self.feeds
            .get_or_create(&SourceLabels {
                source: source.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Count an answered AdmissionReview (`decision`: allow, warn, deny or
    /// failed) and its latency.
    pub fn admission(&self, decision: &str, seconds: f64) {
        self.admissions
            .get_or_create(&KindLabels {
                kind: decision.to_string(),
            })
            .inc();
        self.admission_latency.observe(seconds);
    }

    /// Count an AdmissionReview's memo hits and misses (images).
    pub fn admission_memo(&self, hits: usize, misses: usize) {
        for (kind, n) in [("hit", hits), ("miss", misses)] {
            if n > 0 {
                self.admission_memo
                    .get_or_create(&KindLabels { kind: kind.into() })
                    .inc_by(n as u64);
            }
        }
    }

    /// Count one alert delivery attempt to `target`.
    pub fn alert_delivered(&self, target: &str, outcome: &str) {
        self.alert_deliveries
            .get_or_create(&SourceLabels {
                source: target.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
