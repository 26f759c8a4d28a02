//! RPM: the header blob format and the three rpmdb backends that store those blobs.

pub(crate) mod bdb;
pub(crate) mod header;
pub(crate) mod ndb;
pub(crate) mod sqlite;

use crate::{MAX_PACKAGES, OsPackage, OsPkgError};

/// Parse one stored header and record where it came from; errors get the location too.
pub(crate) fn push_header(
    out: &mut Vec<OsPackage>,
    blob: &[u8],
    db_path: &str,
    where_: &str,
) -> Result<(), OsPkgError> {
    if out.len() >= MAX_PACKAGES {
        return Err(OsPkgError::LimitExceeded {
            what: "rpm packages",
            db_path: db_path.to_string(),
            count: out.len() + 1,
            limit: MAX_PACKAGES,
        });
    }
    let mut pkg = header::parse_rpm_header(blob).map_err(|e| e.at(db_path, where_))?;
    pkg.db_path = db_path.to_string();
    out.push(pkg);
    Ok(())
}
