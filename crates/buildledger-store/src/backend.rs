//! The two database backends behind one small, synchronous interface.
//!
//! Everything above this module writes SQL once, with `?` placeholders and
//! types both engines share (BIGINT/INTEGER, TEXT). The PostgreSQL backend
//! rewrites `?` into `$1, $2, …`; both backends cache prepared statements.

use std::collections::HashMap;

use crate::StoreError;

mod target;

pub use target::redact_url;
pub(crate) use target::{is_postgres_target, scrub, secrets_of, url_problem};

/// A value passed to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (BLOB on SQLite, BYTEA on PostgreSQL).
    Blob(Vec<u8>),
}

impl Val {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}
impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Val {
        o.map(Into::into).unwrap_or(Val::Null)
    }
}

/// A value borrowed from a result row (see `Backend::each`): no copy for
/// values that are only looked at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValRef<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl<'a> ValRef<'a> {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            ValRef::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub(crate) fn text(&self) -> Option<&'a str> {
        match self {
            ValRef::Text(s) => Some(s),
            _ => None,
        }
    }
    pub(crate) fn to_val(self) -> Val {
        match self {
            ValRef::Null => Val::Null,
            ValRef::Int(i) => Val::Int(i),
            ValRef::Text(t) => Val::Text(t.to_string()),
            ValRef::Blob(b) => Val::Blob(b.to_vec()),
        }
    }
    /// Blob or text bytes; empty for NULL and integers.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        match self {
            ValRef::Blob(b) => b,
            ValRef::Text(s) => s.as_bytes(),
            _ => &[],
        }
    }
}

/// Columns a row may have and still be handed out without allocating.
const STACK_COLS: usize = 12;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

pub(crate) trait Backend: Send {
    fn kind(&self) -> BackendKind;
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError>;
    /// Run a query and return its rows, owned.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |row| {
            out.push(row.iter().map(|v| v.to_val()).collect());
            Ok(())
        })?;
        Ok(out)
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Run a query and hand each row to `f` as borrowed values.
    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&[ValRef<'_>]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------

pub(crate) struct Sqlite {
    conn: rusqlite::Connection,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Create the database (and its directory) when missing and migrate it
    /// to this build's schema: what write commands do.
    ReadWrite,
    /// Open an existing ledger without creating, migrating or writing
    /// anything; works on files and directories the user may only read, and
    /// on PostgreSQL for a role with only `SELECT`.
    ReadOnly,
}

impl Sqlite {
    pub(crate) fn open(path: &std::path::Path, access: Access) -> Result<Sqlite, StoreError> {
        let target = path.display().to_string();
        let open_err = |message: String| StoreError::Open {
            target: target.clone(),
            message,
        };
        let conn = match access {
            Access::ReadWrite => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        open_err(format!("cannot create directory {}: {e}", dir.display()))
                    })?;
                }
                // No SQLITE_OPEN_URI: a path is always a path (`file:…?mode=memory`
                // must not turn into a database that vanishes on exit).
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = rusqlite::Connection::open_with_flags(path, flags)
                    .map_err(|e| open_err(e.to_string()))?;
                // WAL: readers never block the writer; NORMAL sync keeps every
                // commit atomic (a crash loses at most the last commits, never
                // corrupts).
                // A checkpoint every 20,000 pages (80 MiB of log) rather than
                // SQLite's 1,000: index pages dirtied by many commits are
                // written back once, not once per 4 MiB. On a ledger of a
                // million builds that is a fifth of ingest time (ledger-bench).
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                     PRAGMA wal_autocheckpoint = 20000;",
                )
                .map_err(|e| open_err(e.to_string()))?;
                conn
            }
            Access::ReadOnly => Sqlite::open_read_only(path, &target)?,
        };
        conn.set_prepared_statement_cache_capacity(256);
        // busy_timeout lets two CLI processes share one file.
        conn.execute_batch(
            "PRAGMA busy_timeout = 10000;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536;",
        )
        .map_err(|e| open_err(e.to_string()))?;
        Ok(Sqlite { conn })
    }

    /// Open an existing file with `SQLITE_OPEN_READ_ONLY` and `query_only`.
    /// A WAL database normally needs its `-shm` file, which a reader creates
    /// when the directory lets it; when it cannot (a read-only directory or
    /// mount) and there is no write-ahead log to apply, the file is opened
    /// `immutable` (nothing else is writing it: a writer would have left a
    /// log). A log that cannot be read that way is an error, not ignored.
    fn open_read_only(
        path: &std::path::Path,
        target: &str,
    ) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags as F;
        let open_err = |message: String| StoreError::Open {
            target: target.to_string(),
            message,
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoLedger {
                    target: target.to_string(),
                });
            }
            Err(e) => return Err(open_err(e.to_string())),
            Ok(m) if !m.is_file() => return Err(open_err("not a regular file".into())),
            Ok(_) => {}
        }
        let probe = |conn: &rusqlite::Connection| -> rusqlite::Result<()> {
            conn.execute_batch("PRAGMA query_only = 1")?;
            conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))
        };
        let flags = F::SQLITE_OPEN_READ_ONLY | F::SQLITE_OPEN_NO_MUTEX;
        let first = rusqlite::Connection::open_with_flags(path, flags).and_then(|c| {
            probe(&c)?;
            Ok(c)
        });
        let e = match first {
            Ok(c) => return Ok(c),
            Err(e) => e,
        };
        let cannot_share = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
        );
        if !cannot_share {
            return Err(open_err(e.to_string()));
        }
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(open_err(format!(
                "{e}; it has a write-ahead log ({}) that a reader without write access to \
                 the directory cannot apply: run any write command on it once",
                std::path::Path::new(&wal).display()
            )));
        }
        let uri = format!("{}?immutable=1", file_uri(path));
        let conn = rusqlite::Connection::open_with_flags(&uri, flags | F::SQLITE_OPEN_URI)
            .map_err(|e| open_err(e.to_string()))?;
        probe(&conn).map_err(|e| open_err(e.to_string()))?;
        Ok(conn)
    }
}

/// `file:` URI of a path (RFC 3986 percent-encoding of everything but
/// unreserved characters and `/`), for SQLite's URI parameters.
fn file_uri(path: &std::path::Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut s = String::from("file:");
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn sqlite_err(sql: &str, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
        return StoreError::ReadOnly(e.to_string());
    }
    StoreError::Database {
        message: e.to_string(),
        statement: sql.split_whitespace().take(8).collect::<Vec<_>>().join(" "),
    }
}

impl Backend for Sqlite {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sqlite_err(sql, e))?;
        let n = st
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| sqlite_err(sql, e))?;
        Ok(n as u64)
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(|e| sqlite_err(sql, e))
    }
    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&[ValRef<'_>]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use rusqlite::types::ValueRef as V;
        let mut st = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sqlite_err(sql, e))?;
        let ncol = st.column_count();
        let mut rows = st
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| sqlite_err(sql, e))?;
        while let Some(row) = rows.next().map_err(|e| sqlite_err(sql, e))? {
            let mut stack = [ValRef::Null; STACK_COLS];
            let mut heap = Vec::new();
            let vals: &mut [ValRef<'_>] = if ncol <= STACK_COLS {
                &mut stack[..ncol]
            } else {
                heap.resize(ncol, ValRef::Null);
                &mut heap
            };
            for (i, slot) in vals.iter_mut().enumerate() {
                *slot = match row.get_ref(i).map_err(|e| sqlite_err(sql, e))? {
                    V::Null => ValRef::Null,
                    V::Integer(n) => ValRef::Int(n),
                    V::Real(x) => ValRef::Int(x as i64),
                    V::Text(t) => ValRef::Text(std::str::from_utf8(t).map_err(|e| {
                        StoreError::Corrupt(format!("column {i} is not UTF-8: {e}"))
                    })?),
                    V::Blob(b) => ValRef::Blob(b),
                };
            }
            f(vals)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

pub(crate) struct Postgres {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    /// The password and the raw target, scrubbed from every error message.
    secrets: Vec<String>,
}

impl Postgres {
    pub(crate) fn connect(target: &str, access: Access) -> Result<Postgres, StoreError> {
        let secrets = secrets_of(target);
        let open_err = |message: String| StoreError::Open {
            target: redact_url(target),
            message: scrub(&message, &secrets),
        };
        let mut client = postgres::Client::connect(target, postgres::NoTls)
            .map_err(|e| open_err(pg_message(&e)))?;
        if access == Access::ReadOnly {
            // Belt and braces: a read never writes, whatever the role may do.
            client
                .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                .map_err(|e| open_err(pg_message(&e)))?;
        }
        Ok(Postgres {
            client,
            statements: HashMap::new(),
            secrets,
        })
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let rewritten = number_placeholders(sql);
        let st = self
            .client
            .prepare(&rewritten)
            .map_err(|e| pg_err(sql, e, &self.secrets))?;
        if self.statements.len() > 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// `?` → `$1`, `$2`, … (our SQL never has `?` inside literals).
fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// The driver's message with its causes ("error connecting to server:
/// Connection refused"); scrub it before showing it.
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    let mut m = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !m.contains(&c_text) {
            m.push_str(": ");
            m.push_str(&c_text);
        }
        cause = c.source();
    }
    m
}

fn pg_err(sql: &str, e: postgres::Error, secrets: &[String]) -> StoreError {
    let message = scrub(&pg_message(&e), secrets);
    let statement = sql.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
    if e.code() == Some(&postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION) {
        return StoreError::ReadOnly(format!("{message} (in `{statement} …`)"));
    }
    StoreError::Database { message, statement }
}

/// A parameter as PostgreSQL receives it: one value, or the values of an
/// `IN (?, …)` list as one array.
enum PgArg<'a> {
    One(&'a Val),
    Ints(Vec<i64>),
    Texts(Vec<&'a str>),
}

impl std::fmt::Debug for PgArg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PgArg::One(_) => f.write_str("value"),
            PgArg::Ints(v) => write!(f, "{} integers", v.len()),
            PgArg::Texts(v) => write!(f, "{} texts", v.len()),
        }
    }
}

impl postgres::types::ToSql for PgArg<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            PgArg::One(v) => v.to_sql(ty, out),
            PgArg::Ints(v) => v.to_sql(ty, out),
            PgArg::Texts(v) => v.to_sql(ty, out),
        }
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

/// `x IN (?, ?, …)` → `x = ANY(?::bigint[])` (or `text[]`) with the list's
/// values as one array, when they are all integers or all text. The store
/// writes IN lists of every length (a page's record ids, an image's
/// components); PostgreSQL prepared and planned each length as a statement
/// of its own, and planning an IN list of 100–400 values cost more than
/// running it. Collapsed, one statement serves every length and its plan is
/// kept. Returns the rewritten SQL (None when nothing changed) and the
/// parameters to bind. Our SQL never has `?` or `IN (` inside a literal.
fn collapse_in_lists<'a>(sql: &str, params: &'a [Val]) -> (Option<String>, Vec<PgArg<'a>>) {
    let b = sql.as_bytes();
    let mut out = String::new();
    let mut args: Vec<PgArg<'a>> = Vec::with_capacity(params.len());
    let mut copied = 0; // bytes of `sql` already in `out`
    let mut next = 0; // index of the next `?` in `params`
    let mut i = 0;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'?' {
            if let Some(v) = params.get(next) {
                args.push(PgArg::One(v));
            }
            next += 1;
            i += 1;
            continue;
        }
        // A whole-word `IN (` followed by `?`s only.
        let word = b[i..].starts_with(b"IN (") && i > 0 && b[i - 1].is_ascii_whitespace();
        if !word {
            i += 1;
            continue;
        }
        let mut j = i + 4;
        let mut n = 0;
        let list_end = loop {
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if j >= b.len() || b[j] != b'?' {
                break None;
            }
            n += 1;
            j += 1;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            match b.get(j) {
                Some(b',') => j += 1,
                Some(b')') => break Some(j + 1),
                _ => break None,
            }
        };
        let Some(end) = list_end else {
            i += 1;
            continue;
        };
        let vals = params.get(next..next + n).unwrap_or(&[]);
        let arg = if vals.len() == n && vals.iter().all(|v| matches!(v, Val::Int(_))) {
            Some((
                "= ANY(?::bigint[])",
                PgArg::Ints(vals.iter().filter_map(Val::int).collect()),
            ))
        } else if vals.len() == n && vals.iter().all(|v| matches!(v, Val::Text(_))) {
            Some((
                "= ANY(?::text[])",
                PgArg::Texts(vals.iter().filter_map(Val::text).collect()),
            ))
        } else {
            None
        };
        match arg {
            Some((fragment, arg)) => {
                out.push_str(&sql[copied..i]);
                out.push_str(fragment);
                copied = end;
                args.push(arg);
                changed = true;
            }
            None => args.extend(vals.iter().map(PgArg::One)),
        }
        next += n;
        i = end;
    }
    if !changed {
        return (None, params.iter().map(PgArg::One).collect());
    }
    out.push_str(&sql[copied..]);
    (Some(out), args)
}

impl postgres::types::ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Text(s) => s.as_str().to_sql(ty, out),
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

impl Backend for Postgres {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        let (shared, args) = collapse_in_lists(sql, params);
        let st = self.prepare(shared.as_deref().unwrap_or(sql))?;
        let p: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|v| v as _).collect();
        self.client
            .execute(&st, &p)
            .map_err(|e| pg_err(sql, e, &self.secrets))
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| pg_err(sql, e, &self.secrets))
    }
    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&[ValRef<'_>]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::types::Type;
        let (shared, args) = collapse_in_lists(sql, params);
        let st = self.prepare(shared.as_deref().unwrap_or(sql))?;
        let p: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|v| v as _).collect();
        let rows = self
            .client
            .query(&st, &p)
            .map_err(|e| pg_err(sql, e, &self.secrets))?;
        let mut vals: Vec<ValRef<'_>> = Vec::new();
        for row in &rows {
            vals.clear();
            for (i, col) in row.columns().iter().enumerate() {
                let v = match *col.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|o| o.map(ValRef::Int)),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(i)
                        .map(|o| o.map(|x| ValRef::Int(x.into()))),
                    Type::INT2 => row
                        .try_get::<_, Option<i16>>(i)
                        .map(|o| o.map(|x| ValRef::Int(x.into()))),
                    Type::BOOL => row
                        .try_get::<_, Option<bool>>(i)
                        .map(|o| o.map(|x| ValRef::Int(x.into()))),
                    Type::VOID => Ok(None),
                    Type::BYTEA => row
                        .try_get::<_, Option<&[u8]>>(i)
                        .map(|o| o.map(ValRef::Blob)),
                    _ => row
                        .try_get::<_, Option<&str>>(i)
                        .map(|o| o.map(ValRef::Text)),
                }
                .map_err(|e| pg_err(sql, e, &self.secrets))?;
                vals.push(v.unwrap_or(ValRef::Null));
            }
            f(&vals)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_become_one_array_on_postgres() {
        let p = [
            Val::Text("go".into()),
            Val::Int(3),
            Val::Int(4),
            Val::Int(5),
            Val::Text("a".into()),
            Val::Text("b".into()),
            Val::Int(9),
        ];
        let sql = "SELECT x FROM t WHERE name = ? AND id IN (?, ?, ?) AND d IN (?,?) AND k >= ?";
        let (shared, args) = collapse_in_lists(sql, &p);
        assert_eq!(
            shared.as_deref(),
            Some(
                "SELECT x FROM t WHERE name = ? AND id = ANY(?::bigint[]) AND d = ANY(?::text[]) AND k >= ?"
            )
        );
        assert_eq!(format!("{args:?}"), "[value, 3 integers, 2 texts, value]");
        match &args[1] {
            PgArg::Ints(v) => assert_eq!(v, &[3, 4, 5]),
            other => panic!("{other:?}"),
        }
        // Every length gives the same statement.
        let (one, _) = collapse_in_lists("SELECT 1 FROM t WHERE id IN (?)", &p[1..2]);
        assert_eq!(
            one.as_deref(),
            Some("SELECT 1 FROM t WHERE id = ANY(?::bigint[])")
        );
        // Left alone: mixed types, subqueries, JOIN (, no list at all.
        for (sql, params) in [
            ("SELECT 1 FROM t WHERE id IN (?, ?)", &p[0..2]),
            (
                "SELECT 1 FROM t WHERE id IN (SELECT id FROM u WHERE k = ?)",
                &p[1..2],
            ),
            ("SELECT 1 FROM t JOIN (SELECT ? AS k) u ON true", &p[1..2]),
            ("SELECT 1 FROM t WHERE id = ?", &p[1..2]),
        ] {
            let (shared, args) = collapse_in_lists(sql, params);
            assert_eq!(shared, None, "{sql}");
            assert_eq!(args.len(), params.len(), "{sql}");
        }
    }

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(
            number_placeholders("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
    }

    #[test]
    fn urls_are_redacted() {
        let cases = [
            ("postgres://u:pw@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
            // A raw `@` in the password: the userinfo ends at the last one.
            ("postgres://u:p@ss@host/db", "postgres://u:***@host/db"),
            ("postgres://u:p/s?s@host/db", "postgres://u:***@host/db"),
            (
                "postgres://a@127.0.0.1:1/x?password=S3cr3t",
                "postgres://a@127.0.0.1:1/x?password=***",
            ),
            (
                "postgresql://h/x?sslmode=disable&sslpassword=k&passfile=/p&pass%77ord=z",
                "postgresql://h/x?sslmode=disable&sslpassword=***&passfile=***&pass%77ord=***",
            ),
            // `@` only in the query: nothing before it may be shown.
            ("postgres://h/db?password=a@b", "postgres://***@b"),
            ("host=h password=pw user=u", "host=h password=*** user=u"),
            (
                "host=h password = 'p w\\' x' user=u",
                "host=h password=*** user=u",
            ),
            ("host=h password='unterminated", "host=h ***"),
            ("/var/lib/ledger.db", "/var/lib/ledger.db"),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_url(raw), want, "{raw}");
        }
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let target = "postgres://u:p%40ss@h/db?sslpassword=topsecret";
        let secrets = secrets_of(target);
        let m = scrub(&format!("failed for {target}: p@ss topsecret"), &secrets);
        assert!(
            !m.contains("p@ss") && !m.contains("topsecret") && !m.contains("p%40ss"),
            "{m}"
        );
    }

    #[test]
    fn keyword_value_strings_are_postgres() {
        assert!(is_postgres_target("host=db dbname=ledger"));
        assert!(is_postgres_target("postgresql://x"));
        assert!(!is_postgres_target("ledger.db"));
        assert!(!is_postgres_target("a=b"));
        assert!(!is_postgres_target("host=db extra"));
    }
}
