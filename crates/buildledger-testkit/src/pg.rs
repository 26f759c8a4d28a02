//! A fresh PostgreSQL schema per test.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::ci::in_ci;

/// The environment variable naming the test server.
pub const ENV: &str = "BUILDLEDGER_TEST_PG";
/// The server used when [`ENV`] is unset: the local test server.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's URL: `$BUILDLEDGER_TEST_PG`, else [`DEFAULT_URL`].
pub fn url() -> String {
    std::env::var(ENV).unwrap_or_else(|_| DEFAULT_URL.into())
}

/// A plain connection to the test server (the default schema), for setup and inspection.
pub fn connect() -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(&url(), postgres::NoTls)
}

/// `url` with `search_path` set to `schema` (what `Store::open` and the CLI take as a target).
pub fn url_with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// An empty schema of its own on the test server; dropped (`CASCADE`) with the guard.
#[derive(Debug)]
pub struct Schema {
    name: String,
    url: String,
}

impl Schema {
    /// Creates `<prefix>_<pid>_<n>_<nanos>`. `None` (skip, with a message) when the server is
    /// unreachable, except under `CI=true`, where that panics.
    pub fn fresh(prefix: &str) -> Option<Schema> {
        let mut c = match connect() {
            Ok(c) => c,
            Err(e) if in_ci() => panic!("CI=true but PostgreSQL at {} is unreachable: {e}", url()),
            Err(e) => {
                eprintln!("SKIP PostgreSQL half: {} unreachable: {e}", url());
                return None;
            }
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .expect("create test schema");
        Some(Schema {
            url: url_with_search_path(&url(), &name),
            name,
        })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server URL with `search_path` set to this schema.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = connect() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
