//! Errors as `application/problem+json` (RFC 9457): the one place the
//! server maps the application layer's error kinds to HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use buildledger_service::{Error, ErrorKind};
use serde::Serialize;

/// The HTTP status of each kind of failure.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict | ErrorKind::Integrity => StatusCode::CONFLICT,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A problem details document.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `https://buildledger.dev/problems/KIND`.
    #[serde(rename = "type")]
    pub kind_uri: String,
    /// The kind, for people.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, naming the input at fault.
    pub detail: String,
    /// The field, parameter or header at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A structured result that goes with the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// An error of a request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The document (boxed: errors travel in every handler's `Result`).
    pub problem: Box<Problem>,
}

impl ApiError {
    /// A problem of `status` with `kind` and `detail`.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            problem: Box::new(Problem {
                kind_uri: format!("https://buildledger.dev/problems/{kind}"),
                title: kind.replace('_', " "),
                status: status.as_u16(),
                detail: detail.into(),
                field: None,
                result: None,
            }),
        }
    }

    /// Bad input in `field`.
    pub fn bad(field: &str, detail: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "bad_input", detail);
        e.problem.field = Some(field.to_string());
        e
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        // The use cases name flags (`--toolchain`); here they are parameters,
        // in the field and at the start of the message alike.
        let field = e.field.map(|f| f.trim_start_matches("--").to_string());
        let detail = match &field {
            Some(f) => e
                .message
                .strip_prefix(&format!("--{f}"))
                .map(|rest| format!("{f}{rest}"))
                .unwrap_or(e.message),
            None => e.message,
        };
        let mut a = ApiError::new(status(e.kind), e.kind.as_str(), detail);
        a.problem.field = field;
        a.problem.result = e.detail;
        a
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut r = (self.status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"buildledger\""),
            );
        }
        r
    }
}
