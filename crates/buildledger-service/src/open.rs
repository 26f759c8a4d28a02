//! Which ledger a use case works on, and how it is opened: read-only for
//! reads (nothing created, nothing migrated), read-write (create and
//! migrate) for writes.

use buildledger_store::{Access, Store};

use crate::{Error, Result};

/// The ledger named by `target` (a SQLite path or a PostgreSQL URL or
/// connection string); `None` is the default SQLite file under the user's
/// data directory. An empty or blank target is bad input, never a
/// temporary database.
pub fn resolve_target(target: Option<&str>) -> Result<String> {
    match target {
        Some(d) if d.trim().is_empty() => Err(Error::bad_input(
            "--db / BUILDLEDGER_DB is empty: give a SQLite path or a postgres:// URL (unset it for the default ledger)",
        )
        .at("--db")),
        Some(d) => Ok(d.to_string()),
        None => Ok(buildledger_store::default_db_path().display().to_string()),
    }
}

/// Open the ledger at `target` (see [`resolve_target`]) with `access`.
pub fn open(target: Option<&str>, access: Access) -> Result<Store> {
    let t = resolve_target(target)?;
    Ok(Store::open_with(&t, access)?)
}
