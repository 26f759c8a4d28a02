//! rpm's SQLite backend (`rpmdb.sqlite`, rpm ≥ 4.16): table `Packages(hnum, blob)`, one RPM
//! header per row.

use std::io::Write;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::push_header;
use crate::{OsPackage, OsPkgError, check_size};

const FORMAT: &str = "rpm sqlite";

/// Parse an `rpmdb.sqlite` given as bytes.
///
/// SQLite needs a file, so the bytes are written to a private temporary file, opened read-only
/// and immutable (no `-wal`/`-shm` files are created or read) and removed afterwards. Changes
/// that only live in a separate `rpmdb.sqlite-wal` file are not seen.
pub fn parse_rpmdb_sqlite(bytes: &[u8], db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    check_size(FORMAT, db_path, bytes.len())?;
    let io = |source| OsPkgError::Io {
        db_path: db_path.to_string(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("buildledger-rpmdb-")
        .suffix(".sqlite")
        .tempfile()
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.flush().map_err(io)?;
    read_db(tmp.path(), db_path)
}

/// Parse an `rpmdb.sqlite` that is already a file on disk, opened read-only and immutable.
pub fn parse_rpmdb_sqlite_file(path: &Path, db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    let len = std::fs::metadata(path)
        .map_err(|source| OsPkgError::Io {
            db_path: db_path.to_string(),
            source,
        })?
        .len();
    check_size(FORMAT, db_path, usize::try_from(len).unwrap_or(usize::MAX))?;
    read_db(path, db_path)
}

fn read_db(path: &Path, db_path: &str) -> Result<Vec<OsPackage>, OsPkgError> {
    let sql = |source| OsPkgError::Sqlite {
        db_path: db_path.to_string(),
        source,
    };
    // A URI lets us pass immutable=1; escape the characters that are special in a URI path.
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    let conn = Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let hnum: i64 = row.get(0).map_err(sql)?;
        let blob = row.get_ref(1).map_err(sql)?;
        let blob = blob.as_blob().map_err(|e| sql(e.into()))?;
        push_header(&mut out, blob, db_path, &format!("hnum {hnum}"))?;
    }
    Ok(out)
}
