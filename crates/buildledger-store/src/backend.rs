//! The two database backends behind one small, synchronous interface.
//!
//! Everything above this module writes SQL once, with `?` placeholders and
//! types both engines share (BIGINT/INTEGER, TEXT). The PostgreSQL backend
//! rewrites `?` into `$1, $2, …`; both backends cache prepared statements.

use std::collections::HashMap;

use crate::StoreError;

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
    pub(crate) fn to_owned(&self) -> Val {
        match *self {
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
            out.push(row.iter().map(ValRef::to_owned).collect());
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

impl Sqlite {
    pub(crate) fn open(path: &std::path::Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                target: path.display().to_string(),
                message: format!("cannot create directory {}: {e}", dir.display()),
            })?;
        }
        let conn = rusqlite::Connection::open(path).map_err(|e| StoreError::Open {
            target: path.display().to_string(),
            message: e.to_string(),
        })?;
        conn.set_prepared_statement_cache_capacity(256);
        // WAL: readers never block the writer; NORMAL sync keeps every
        // commit atomic (a crash loses at most the last commits, never
        // corrupts); busy_timeout lets two CLI processes share one file.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 10000;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536;",
        )
        .map_err(|e| StoreError::Open {
            target: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Sqlite { conn })
    }
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
}

impl Postgres {
    pub(crate) fn connect(url: &str) -> Result<Postgres, StoreError> {
        let client =
            postgres::Client::connect(url, postgres::NoTls).map_err(|e| StoreError::Open {
                target: redact_url(url),
                message: e.to_string(),
            })?;
        Ok(Postgres {
            client,
            statements: HashMap::new(),
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
            .map_err(|e| pg_err(sql, e))?;
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

/// A connection URL with any password replaced, fit for messages and logs.
pub fn redact_url(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((auth, host)) = rest.split_once('@')
        && let Some((user, _)) = auth.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    // key=value form: password=secret
    url.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***".to_string()
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn pg_err(sql: &str, e: postgres::Error) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    StoreError::Database {
        message,
        statement: sql.split_whitespace().take(8).collect::<Vec<_>>().join(" "),
    }
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
        let st = self.prepare(sql)?;
        let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        self.client.execute(&st, &p).map_err(|e| pg_err(sql, e))
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(|e| pg_err(sql, e))
    }
    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&[ValRef<'_>]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::types::Type;
        let st = self.prepare(sql)?;
        let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.client.query(&st, &p).map_err(|e| pg_err(sql, e))?;
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
                .map_err(|e| pg_err(sql, e))?;
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
    fn placeholders_are_numbered() {
        assert_eq!(
            number_placeholders("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("host=h password=pw user=u"),
            "host=h password=*** user=u"
        );
    }
}
