//! Raw SQL access, for the store's own tests and maintenance.
//!
//! No crate but the store speaks SQL: these methods are hidden from the
//! documentation, and the workspace `clippy.toml` forbids calling them
//! (`disallowed-methods`) everywhere except in this crate, whose tests
//! tamper with the database on purpose. Anything another crate needs
//! becomes a typed `Store` method in the module of its concern.

use crate::{Result, Store, Val};

impl Store {
    /// Run raw SQL statements (no parameters). For tests and maintenance.
    #[doc(hidden)]
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.db.batch(sql)
    }

    /// Run one query with parameters and return its rows.
    #[doc(hidden)]
    pub fn raw_query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        self.db.query(sql, params)
    }

    /// Run one statement with parameters; returns the rows changed.
    #[doc(hidden)]
    pub fn raw_exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        self.db.exec(sql, params)
    }
}
