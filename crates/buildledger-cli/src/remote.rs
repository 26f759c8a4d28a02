//! `--server URL`: the same commands against a buildledger server instead of
//! a database. The server returns the application layer's own result types
//! (the `--json` contract), so the rendering is the same code and the output
//! and exit codes are the same; a problem document becomes the exit code of
//! its kind. The token comes from `BUILDLEDGER_TOKEN` only (never a flag,
//! so it is not in the process list), and never reaches a message.

use std::path::Path;
use std::sync::OnceLock;

use buildledger_service::ErrorKind;
use buildledger_service::types::{BuildRecord, Digest, LEDGER_FIELDS};
use serde::de::DeserializeOwned;

use crate::{CliError, Result, exit_code};

/// The environment variable with the API token.
pub const TOKEN_VAR: &str = "BUILDLEDGER_TOKEN";

/// The server this process talks to, if any (set once in `main`).
static REMOTE: OnceLock<Option<Remote>> = OnceLock::new();

/// Set the server for this process.
pub fn init(server: Option<&str>, ca_cert: Option<&Path>) -> Result<()> {
    let r = match server.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Remote::new(s, ca_cert)?),
    };
    let _ = REMOTE.set(r);
    Ok(())
}

/// The server, when `--server` was given.
pub fn remote() -> Option<&'static Remote> {
    REMOTE.get().and_then(Option::as_ref)
}

/// A buildledger server.
pub struct Remote {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

fn runtime(m: String) -> CliError {
    CliError {
        code: 1,
        message: m,
        detail: None,
    }
}

impl Remote {
    fn new(server: &str, ca_cert: Option<&Path>) -> Result<Remote> {
        let base = server.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| CliError::input(format!("--server {base:?}: {e}")))?;
        let loopback = matches!(
            url.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
        );
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(CliError::input(format!(
                    "--server {base}: plain http only to a loopback address; use https"
                )));
            }
            other => {
                return Err(CliError::input(format!(
                    "--server {base}: scheme {other:?}; expected https"
                )));
            }
        }
        let token = std::env::var(TOKEN_VAR)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| CliError::input(format!("--server needs a token in {TOKEN_VAR}")))?;
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut b = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .user_agent(concat!("buildledger/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca_cert {
            let pem = buildledger_service::types::read_regular_file(ca, 1 << 20)
                .map_err(|e| CliError::input(format!("--ca-cert {e}")))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CliError::input(format!(
                    "--ca-cert {}: not PEM certificates: {e}",
                    ca.display()
                ))
            })?;
            b = b.tls_certs_merge(certs);
        }
        let http = b
            .build()
            .map_err(|e| runtime(format!("HTTP client: {e}")))?;
        Ok(Remote { base, token, http })
    }

    fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::blocking::RequestBuilder,
        what: &str,
    ) -> Result<T> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| runtime(format!("{}: {}", self.base, without_url(&e))))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .map_err(|e| runtime(format!("{}: {}", self.base, without_url(&e))))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| runtime(format!("{}: {what}: unexpected answer ({e})", self.base)));
        }
        let p: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let kind = p["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("");
        let kind = match kind {
            "bad_input" | "payload_too_large" => ErrorKind::BadInput,
            "not_found" => ErrorKind::NotFound,
            "conflict" => ErrorKind::Conflict,
            "unauthenticated" => ErrorKind::Unauthenticated,
            "forbidden" => ErrorKind::Forbidden,
            "integrity" => ErrorKind::Integrity,
            "internal" => ErrorKind::Internal,
            _ => ErrorKind::Unavailable,
        };
        let detail = p["detail"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(CliError {
            code: exit_code(kind),
            message: format!("{} ({}): {detail}", self.base, status.as_u16()),
            detail: p.get("result").cloned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path?query`.
    pub fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        self.send(self.http.get(self.url(path)).query(query), path)
    }

    /// `POST path?query` with a JSON body.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<T> {
        self.send(
            self.http
                .post(self.url(path))
                .query(query)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
            path,
        )
    }

    /// One page of a list (as the server cuts it: at most `limit` items)
    /// from `cursor`, and the next page's cursor.
    pub fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<T>, Option<String>)> {
        #[derive(serde::Deserialize)]
        struct Page<T> {
            items: Vec<T>,
            next_cursor: Option<String>,
        }
        let mut q = query.to_vec();
        q.push(("limit", limit.to_string()));
        if let Some(c) = cursor {
            q.push(("cursor", c));
        }
        let page: Page<T> = self.get(path, &q)?;
        Ok((page.items, page.next_cursor))
    }

    /// Every item of a list, page by page (at most `limit`).
    pub fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        limit: Option<usize>,
    ) -> Result<Vec<T>> {
        Ok(self.list_from(path, query, limit, None)?.0)
    }

    /// Items of a list from `cursor` on, page by page (at most `limit`), and
    /// the cursor after the last one returned (None at the end of the list).
    pub fn list_from<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        limit: Option<usize>,
        cursor: Option<String>,
    ) -> Result<(Vec<T>, Option<String>)> {
        let mut out = Vec::new();
        let mut cursor = cursor;
        loop {
            let want = limit.map_or(1000, |l| l.saturating_sub(out.len()).clamp(1, 1000));
            let (items, next) = self.page(path, query, want, cursor.take())?;
            out.extend(items);
            // Pages never hold more than asked for, so the list ends here
            // exactly when `limit` is reached.
            if limit.is_some_and(|l| out.len() >= l) {
                out.truncate(limit.unwrap_or(usize::MAX));
                return Ok((out, next));
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok((out, None)),
            }
        }
    }

    /// Submit build records (as documents: the ledger's own fields are not sent).
    pub fn submit(
        &self,
        records: &[BuildRecord],
    ) -> Result<Vec<buildledger_service::record::Recorded>> {
        let docs: Vec<serde_json::Value> = records.iter().map(document).collect();
        self.post(
            "/api/v1/records",
            &[],
            serde_json::to_vec(&docs).unwrap_or_default(),
        )
    }

    /// Submit one record to `path` (a scan: `/api/v1/scans`).
    pub fn post_record(
        &self,
        path: &str,
        rec: &BuildRecord,
    ) -> Result<buildledger_service::record::Recorded> {
        self.post(
            path,
            &[],
            serde_json::to_vec(&document(rec)).unwrap_or_default(),
        )
    }

    /// The path of one image's resource.
    pub fn image_path(d: &Digest) -> String {
        format!("/api/v1/images/{d}")
    }
}

/// A record as a submitted document: without the fields only a ledger sets.
fn document(r: &BuildRecord) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for f in LEDGER_FIELDS {
            o.remove(*f);
        }
    }
    v
}

/// A transport error without its URL's query (which may carry parameters)
/// and never with the token (which is only in a header).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(
            u.as_str(),
            &format!("{}{}", u.origin().ascii_serialization(), u.path()),
        );
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// `s` as one URL path segment (percent-encoded but for unreserved characters).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
