//! Raw SQL access, for the store's own tests and maintenance.

use crate::{Result, Store, Val};

impl Store {
    /// Run raw SQL statements (no parameters). For tests and maintenance.
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.db.batch(sql)
    }

    /// Run one query with parameters and return its rows.
    pub fn raw_query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        self.db.query(sql, params)
    }

    /// Run one statement with parameters; returns the rows changed.
    pub fn raw_exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        self.db.exec(sql, params)
    }
}
