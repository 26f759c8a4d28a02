//! The server's configuration: a TOML file, then environment overrides, then
//! command-line flags (the interface applies those). Every field is
//! documented in `docs/server.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Errors reading or checking the configuration (bad input: exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How the server runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:8443`, `[::]:8443`).
    pub listen: String,
    /// The ledger: a SQLite path or a PostgreSQL URL (`BUILDLEDGER_DB`).
    pub db: Option<String>,
    /// TLS certificate chain (PEM); reloaded when the file changes.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); reloaded with the certificate.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP: refused unless `listen` is a loopback address.
    pub plaintext: bool,
    /// Trust policy: builders for `POST /api/v1/attestations`, VEX
    /// authors for `POST /api/v1/vex`.
    pub trust_policy: Option<PathBuf>,
    /// Rego files added to the built-in policy (posture).
    pub policy_files: Vec<PathBuf>,
    /// Use `policy_files` instead of the built-in policy.
    pub policy_replace: bool,
    /// Largest request body, in bytes (K/M/G suffixes in the file: "16M").
    pub max_body_bytes: String,
    /// Longest a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// Database connections kept open (per replica).
    pub pool_size: usize,
    /// `text` or `json` log lines on standard error.
    pub log_format: String,
    /// Largest page a list returns (`limit` is capped to it).
    pub max_page: usize,
    /// Registries whose push notifications are indexed (`[[registries]]`).
    pub registries: Vec<buildledger_service::jobs::RegistryConfig>,
    /// Feed sources synced on an interval (`[[feeds]]`).
    pub feeds: Vec<buildledger_service::feeds::FeedSource>,
    /// How often an idle worker looks for jobs, in milliseconds.
    pub worker_poll_ms: u64,
    /// How often each replica refreshes the cached posture, in seconds (0, the
    /// default: never; `GET /api/v1/posture` still refreshes first).
    pub posture_refresh_secs: u64,
    /// The namespace label that names an environment (default
    /// `buildledger.dev/environment`).
    pub env_label: Option<String>,
    /// Namespace → environment for namespaces without the label (`[env_map]`).
    pub env_map: std::collections::BTreeMap<String, String>,
    /// The admission webhook (`[admission]`).
    pub admission: AdmissionSection,
    /// Alerts and where they go (`[alerts]`).
    pub alerts: AlertsSection,
}

/// `[alerts]`: alerts from the posture, and their sinks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSection {
    /// How often the posture is turned into alerts, in seconds (0: never).
    pub interval_secs: u64,
    /// How often firing alerts are sent again, in seconds (below
    /// Alertmanager's `resolve_timeout`, 5 minutes by default).
    pub resend_secs: u64,
    /// This server's address as receivers should link to it (`generatorURL`).
    pub public_url: Option<String>,
    /// Where alerts go (`[[alerts.sinks]]`).
    pub sinks: Vec<AlertSink>,
}

impl Default for AlertsSection {
    fn default() -> AlertsSection {
        AlertsSection {
            interval_secs: 30,
            resend_secs: 60,
            public_url: None,
            sinks: vec![],
        }
    }
}

/// One sink: Alertmanager (every replica's URL), or a JSON webhook signed
/// with HMAC-SHA256.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSink {
    /// A name (letters, digits, `-`, `_`), unique among sinks.
    pub name: String,
    /// `alertmanager`, `webhook`, `cloudevents` or `slack`.
    pub kind: String,
    /// Alertmanager: the base URL of every replica (`http://am-0:9093`), each sent every alert.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Webhook: where to POST.
    #[serde(default)]
    pub url: Option<String>,
    /// Webhook: the *name* of the environment variable holding the HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// CloudEvents: `structured` (default) or `binary` content mode.
    #[serde(default)]
    pub mode: Option<String>,
}

impl AlertSink {
    /// (delivery id, URL) of each target: one per Alertmanager replica.
    pub fn targets(&self) -> Vec<(String, String)> {
        match self.kind.as_str() {
            "alertmanager" => self
                .urls
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    (
                        format!("{}-{i}", self.name),
                        u.trim_end_matches('/').to_string(),
                    )
                })
                .collect(),
            _ => self
                .url
                .iter()
                .map(|u| (self.name.clone(), u.clone()))
                .collect(),
        }
    }
}

/// `[admission]`: how `POST /admission` decides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionSection {
    /// Longest one admission decision may take, in milliseconds (keep it
    /// well below the webhook's `timeoutSeconds`); the API server's own
    /// `?timeout=` shortens it further.
    pub deadline_ms: u64,
    /// Environments where a decision that cannot be made (ledger
    /// unavailable, deadline passed) denies; elsewhere it allows with a
    /// warning. Never `production`.
    pub fail_closed: Vec<String>,
    /// Answer AdmissionReviews that carry no token (decided, never recorded
    /// in the inventory); by default a token with `admission:review` is required.
    pub allow_anonymous: bool,
    /// The cluster name when the webhook URL gives none (`?cluster=`).
    pub cluster: String,
}

impl Default for AdmissionSection {
    fn default() -> AdmissionSection {
        AdmissionSection {
            deadline_ms: 2000,
            fail_closed: vec![],
            allow_anonymous: false,
            cluster: "default".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8443".into(),
            db: None,
            tls_cert: None,
            tls_key: None,
            plaintext: false,
            trust_policy: None,
            policy_files: vec![],
            policy_replace: false,
            max_body_bytes: "16M".into(),
            request_timeout_secs: 30,
            pool_size: 8,
            log_format: "text".into(),
            max_page: 1000,
            registries: vec![],
            feeds: vec![],
            worker_poll_ms: 1000,
            posture_refresh_secs: 0,
            env_label: None,
            env_map: Default::default(),
            admission: AdmissionSection::default(),
            alerts: AlertsSection::default(),
        }
    }
}

/// Environment variables that override the file, by field.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("listen", "BUILDLEDGER_LISTEN"),
    ("db", "BUILDLEDGER_DB"),
    ("tls_cert", "BUILDLEDGER_TLS_CERT"),
    ("tls_key", "BUILDLEDGER_TLS_KEY"),
    ("trust_policy", "BUILDLEDGER_TRUST_POLICY"),
    ("max_body_bytes", "BUILDLEDGER_MAX_BODY_BYTES"),
    ("log_format", "BUILDLEDGER_LOG_FORMAT"),
];

/// Longest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl Config {
    /// The file at `path` (or the defaults), then `env` overrides.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut c = match path {
            None => Config::default(),
            Some(p) => {
                let bytes = buildledger_service::types::read_regular_file(p, MAX_CONFIG_BYTES)
                    .map_err(|e| ConfigError(format!("--config {e}")))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| ConfigError(format!("{}: not UTF-8", p.display())))?;
                toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", p.display())))?
            }
        };
        for (field, var) in ENV_OVERRIDES {
            let Some(v) = env(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            match *field {
                "listen" => c.listen = v,
                "db" => c.db = Some(v),
                "tls_cert" => c.tls_cert = Some(v.into()),
                "tls_key" => c.tls_key = Some(v.into()),
                "trust_policy" => c.trust_policy = Some(v.into()),
                "max_body_bytes" => c.max_body_bytes = v,
                "log_format" => c.log_format = v,
                _ => {}
            }
        }
        Ok(c)
    }

    /// The listen address, parsed.
    pub fn addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError(format!(
                "listen {:?}: expected IP:PORT, e.g. 127.0.0.1:8443 or [::]:8443",
                self.listen
            ))
        })
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> Result<usize, ConfigError> {
        buildledger_service::types::parse_size(&self.max_body_bytes)
            .and_then(|b| usize::try_from(b).ok())
            .filter(|b| *b > 0)
            .ok_or_else(|| {
                ConfigError(format!(
                    "max_body_bytes {:?}: expected a size, e.g. 16M",
                    self.max_body_bytes
                ))
            })
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    /// Check what must hold before anything listens: TLS files, or plain
    /// HTTP on a loopback address only; a known log format.
    pub fn check(&self) -> Result<(), ConfigError> {
        let addr = self.addr()?;
        self.body_limit()?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError(format!(
                "log_format {:?}: expected text or json",
                self.log_format
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        for f in &self.feeds {
            f.check().map_err(|e| ConfigError(e.message))?;
            if !names.insert(f.name.as_str()) {
                return Err(ConfigError(format!("feeds: {:?} is named twice", f.name)));
            }
        }
        if self
            .admission
            .fail_closed
            .iter()
            .any(|e| e == buildledger_service::admission::PRODUCTION)
        {
            return Err(ConfigError(
                "admission.fail_closed: production always fails open (buildledger never blocks production on its own failure)".into(),
            ));
        }
        buildledger_service::inventory::check_name("admission.cluster", &self.admission.cluster)
            .map_err(|e| ConfigError(format!("admission.cluster {}", e.message)))?;
        if self.admission.deadline_ms == 0 || self.admission.deadline_ms > 30_000 {
            return Err(ConfigError(format!(
                "admission.deadline_ms {}: expected 1 to 30000 (below the webhook's timeoutSeconds)",
                self.admission.deadline_ms
            )));
        }
        let mut sink_names = std::collections::BTreeSet::new();
        for s in &self.alerts.sinks {
            if s.name.is_empty()
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                || !sink_names.insert(s.name.as_str())
            {
                return Err(ConfigError(format!(
                    "alerts.sinks: {:?}: a sink needs a unique name of letters, digits, '-' or '_'",
                    s.name
                )));
            }
            let urls: Vec<&String> = match s.kind.as_str() {
                "alertmanager" if !s.urls.is_empty() && s.url.is_none() => s.urls.iter().collect(),
                "webhook" | "cloudevents" | "slack" if s.urls.is_empty() && s.url.is_some() => {
                    s.url.iter().collect()
                }
                _ => {
                    return Err(ConfigError(format!(
                        "alerts.sinks {:?}: kind alertmanager takes urls; webhook, cloudevents and slack take url",
                        s.name
                    )));
                }
            };
            if !matches!(s.mode.as_deref(), None | Some("binary" | "structured"))
                || (s.mode.is_some() && s.kind != "cloudevents")
            {
                return Err(ConfigError(format!(
                    "alerts.sinks {:?}: mode is binary or structured, for kind cloudevents only",
                    s.name
                )));
            }
            for u in urls {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(ConfigError(format!(
                        "alerts.sinks {:?}: {u:?} is not an http(s) URL",
                        s.name
                    )));
                }
            }
        }
        if !self.alerts.sinks.is_empty() && self.alerts.resend_secs == 0 {
            return Err(ConfigError("alerts.resend_secs must be at least 1".into()));
        }
        if self.pool_size == 0 || self.max_page == 0 {
            return Err(ConfigError(
                "pool_size and max_page must be at least 1".into(),
            ));
        }
        match (self.plaintext, &self.tls_cert, &self.tls_key) {
            (true, None, None) => {
                if !addr.ip().is_loopback() {
                    return Err(ConfigError(format!(
                        "--plaintext on {addr} refused: plain HTTP is only served on a loopback address (127.0.0.1, ::1); give --tls-cert and --tls-key"
                    )));
                }
                Ok(())
            }
            (true, _, _) => Err(ConfigError(
                "--plaintext and --tls-cert/--tls-key exclude each other".into(),
            )),
            (false, Some(_), Some(_)) => Ok(()),
            (false, _, _) => Err(ConfigError(
                "TLS is required: give --tls-cert and --tls-key (or --plaintext on a loopback address)"
                    .into(),
            )),
        }
    }
}
