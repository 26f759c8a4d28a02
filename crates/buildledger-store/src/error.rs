//! The store's error type.

use buildledger_model::ModelError;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open database {target}: {message}")]
    Open {
        /// Path or redacted URL.
        target: String,
        /// Why.
        message: String,
    },
    /// A statement failed.
    #[error("database error: {message} (in `{statement} …`)")]
    Database {
        /// The engine's message.
        message: String,
        /// The first words of the statement.
        statement: String,
    },
    /// A record or argument is invalid; nothing was stored.
    #[error("invalid input: {0}")]
    Invalid(#[from] ModelError),
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database was written by a newer buildledger.
    #[error(
        "database schema version {found} is newer than this buildledger supports ({supported}); upgrade buildledger"
    )]
    TooNew {
        /// Version in the database.
        found: i64,
        /// Newest known here.
        supported: i64,
    },
    /// A read found no ledger: no such file, or no buildledger schema in
    /// the database (reads never create one).
    #[error("no ledger at {target}")]
    NoLedger {
        /// Path or redacted URL.
        target: String,
    },
    /// A read found a ledger written by an older buildledger; reads never
    /// migrate.
    #[error(
        "ledger schema version {found} is older than this buildledger's ({supported}); reads do not upgrade it: run `buildledger migrate` (or any write command) first"
    )]
    Outdated {
        /// Version in the database.
        found: i64,
        /// Newest known here.
        supported: i64,
    },
    /// The database target itself is unusable (empty, or in-memory).
    #[error("database target: {0}")]
    BadTarget(String),
    /// A write was attempted on a store opened read-only.
    #[error("the ledger is open read-only: {0}")]
    ReadOnly(String),
}

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;
