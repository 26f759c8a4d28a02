//! The one error type of the application layer: a [`ErrorKind`] every
//! interface maps once (the CLI to exit codes, the server to HTTP statuses),
//! the input at fault, and a message that names it.

use std::fmt;

use buildledger_rules::RulesError;
use buildledger_store::StoreError;

/// What went wrong, as far as the caller is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is malformed, over a limit, or refused; nothing was stored
    /// (CLI exit 2, HTTP 400/413/422).
    BadInput,
    /// What was asked for is not in the ledger (an image, an advisory, a
    /// lineage) (CLI exit 1, HTTP 404).
    NotFound,
    /// The request disagrees with what is stored (CLI exit 2, HTTP 409).
    Conflict,
    /// No credentials, or credentials that are malformed, unknown or
    /// revoked (CLI exit 2, HTTP 401).
    Unauthenticated,
    /// The caller may not do this (CLI exit 2, HTTP 403).
    Forbidden,
    /// The ledger does not verify: the audit log or a record was tampered
    /// with, so nothing is signed on top of it (CLI exit 3, HTTP 409).
    Integrity,
    /// Something the use case needs is not there or not answering: no
    /// ledger, a database that is down or at another schema version, a
    /// registry, the disk (CLI exit 1, HTTP 503).
    Unavailable,
    /// A bug or corrupt stored data (CLI exit 1, HTTP 500).
    Internal,
}

impl ErrorKind {
    /// The kind's name as in JSON (`bad_input`, `not_found`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadInput => "bad_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An error of a use case.
#[derive(Debug, Clone)]
pub struct Error {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// The input at fault: a flag (`--digest`), a file, or a JSON path
    /// within one (`record.json: subjects[0].digest`), when there is one.
    pub field: Option<String>,
    /// The whole message, naming the input at fault; already free of
    /// secrets the layer knows of (database targets are redacted by the store).
    pub message: String,
    /// A structured result that goes with the failure (e.g. what a
    /// `--strict` feed import rejected), for `--json` and problem details.
    pub detail: Option<serde_json::Value>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            field: None,
            message: message.into(),
            detail: None,
        }
    }
    /// Bad input.
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BadInput, message)
    }
    /// Bad input in `field`: the message is `field: message`.
    pub fn bad_field(field: impl Into<String>, message: impl fmt::Display) -> Error {
        let field = field.into();
        Error {
            message: format!("{field}: {message}"),
            field: Some(field),
            ..Error::bad_input("")
        }
    }
    /// Not in the ledger.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }
    /// Not available (the database, a registry, the disk).
    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unavailable, message)
    }
    /// The ledger does not verify.
    pub fn integrity(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Integrity, message)
    }
    /// A bug or corrupt data.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }
    /// Name the field at fault (keeps the message).
    pub fn at(mut self, field: impl Into<String>) -> Error {
        self.field = Some(field.into());
        self
    }
    /// Attach a structured result.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Error {
        self.detail = Some(detail);
        self
    }
    /// The same error with `prefix: ` in front of its message (e.g. the
    /// file a record came from).
    pub fn prefixed(mut self, prefix: &str) -> Error {
        self.message = format!("{prefix}: {}", self.message);
        if self.field.is_none() {
            self.field = Some(prefix.to_string());
        }
        self
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        use StoreError as E;
        let kind = match &e {
            E::Invalid(_) | E::BadTarget(_) => ErrorKind::BadInput,
            E::Corrupt(_) => ErrorKind::Internal,
            // NoLedger, Outdated, TooNew, Open, Database: the ledger, not the input.
            _ => ErrorKind::Unavailable,
        };
        match e {
            E::Invalid(m) => Error {
                field: (!m.field.is_empty()).then(|| m.field.clone()),
                ..Error::new(kind, m.to_string())
            },
            other => Error::new(kind, other.to_string()),
        }
    }
}

impl From<RulesError> for Error {
    fn from(e: RulesError) -> Error {
        match e {
            RulesError::Store(s) => s.into(),
            other => Error::internal(other.to_string()),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::unavailable(e.to_string())
    }
}

/// The result type of every use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;
