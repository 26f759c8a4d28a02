//! `query`: image digests by toolchain, package, source or API stability,
//! with version ranges compared in each ecosystem's own order.

use std::cell::RefCell;

use buildledger_model::{Purl, Stability};
use buildledger_store::{Hit, Store};
use buildledger_version::{Constraint, Scheme};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A query, as flags or URL parameters give it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueryRequest {
    /// `NAME[@VERSION|@RANGE]`: `go@1.13.4`, `go@<1.14`, `rustc@>=1.70, <1.80`.
    pub toolchain: Option<String>,
    /// A purl without version, optionally with `@VERSION` or `@RANGE`.
    pub package: Option<String>,
    /// Source repository URL.
    pub repo: Option<String>,
    /// Commit id or prefix (7+ hex digits).
    pub commit: Option<String>,
    /// Tag built.
    pub tag: Option<String>,
    /// `alpha`, `beta`, `stable` or `deprecated`.
    pub api_stability: Option<String>,
    /// Only records verified by a trusted builder or observed in the image.
    #[serde(default)]
    pub trusted_only: bool,
    /// At most this many hits.
    pub limit: Option<usize>,
    /// Where to start: the `next` of a previous page (`RECORD.SKIP`).
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Stored versions a range could not be compared with (they never match).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Unreadable {
    /// `toolchain` or `package`.
    pub what: String,
    /// How many.
    pub count: usize,
    /// The first few.
    pub examples: Vec<String>,
}

/// The hits of a query and the stored versions it could not compare.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct QueryResult {
    /// One per matching record.
    pub hits: Vec<Hit>,
    /// Stored versions skipped because their scheme could not read them.
    pub unreadable: Vec<Unreadable>,
    /// Where the next page starts (`RECORD.SKIP`), when a `limit` cut this
    /// one short of the last hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// With a next page: about how many hits there are from this page on
    /// (an estimate; counting them would read every hit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_rest: Option<u64>,
}

impl QueryResult {
    /// Distinct image digests among the hits.
    pub fn digest_count(&self) -> usize {
        let d: std::collections::BTreeSet<&str> =
            self.hits.iter().map(|h| h.digest.as_str()).collect();
        d.len()
    }
}

/// A version filter: `constraint` in `scheme`'s order; versions the scheme
/// cannot read never match (and are counted, so the user hears of them).
struct VersionMatcher {
    scheme: Scheme,
    constraint: Option<Constraint>,
    unreadable: RefCell<Vec<String>>,
}

impl VersionMatcher {
    fn new(scheme: Scheme, constraint: Option<&str>, what: &str) -> Result<VersionMatcher> {
        let constraint = match constraint
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "*")
        {
            None => None,
            Some(c) => {
                let parsed = Constraint::parse(c).map_err(|e| Error::bad_field(what, e))?;
                // A bound the scheme cannot read is the caller's mistake, not
                // the ledger's: refuse it rather than match nothing.
                for alt in parsed.alternatives() {
                    for term in alt {
                        buildledger_version::validate(scheme, &term.version).map_err(|e| {
                            Error::bad_field(
                                what,
                                format!(
                                    "{:?} is not a {} version: {e}",
                                    term.version,
                                    scheme.name()
                                ),
                            )
                        })?;
                    }
                }
                Some(parsed)
            }
        };
        Ok(VersionMatcher {
            scheme,
            constraint,
            unreadable: Default::default(),
        })
    }

    fn matches(&self, v: &str) -> bool {
        match &self.constraint {
            None => true,
            Some(c) => match c.matches(self.scheme, v) {
                Ok(m) => m,
                Err(_) => {
                    self.unreadable.borrow_mut().push(v.to_string());
                    false
                }
            },
        }
    }

    fn unreadable(&self, what: &str) -> Option<Unreadable> {
        let u = self.unreadable.borrow();
        (!u.is_empty()).then(|| Unreadable {
            what: what.to_string(),
            count: u.len(),
            examples: u.iter().take(5).cloned().collect(),
        })
    }
}

/// The version scheme of a toolchain by name.
pub fn toolchain_scheme(name: &str) -> Scheme {
    match name {
        "go" => Scheme::GoToolchain,
        "node" | "nodejs" => Scheme::Npm,
        "python" | "cpython" => Scheme::Pep440,
        _ => Scheme::Generic,
    }
}

/// Split `name@constraint` at the first `@`.
fn split_at_sign(s: &str) -> (&str, Option<&str>) {
    match s.split_once('@') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    }
}

/// A checked query, ready to run: every flag parsed before the ledger is
/// opened, so bad input is bad input whether or not a ledger exists.
pub struct PreparedQuery {
    toolchain: Option<(String, VersionMatcher)>,
    package: Option<(String, VersionMatcher)>,
    api_stability: Option<Stability>,
    start: Option<buildledger_store::QueryCursor>,
    req: QueryRequest,
}

/// Parse and check a query.
pub fn prepare(q: &QueryRequest) -> Result<PreparedQuery> {
    let toolchain = match &q.toolchain {
        Some(t) => {
            let (name, c) = split_at_sign(t);
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() {
                return Err(Error::bad_input(format!(
                    "--toolchain {t:?}: expected NAME@VERSION or NAME@RANGE"
                ))
                .at("--toolchain"));
            }
            // `go@go1.13.4` and `go@1.13.4` mean the same.
            let c = c.map(|c| {
                if name == "go" {
                    c.replacen("go1", "1", 1)
                } else {
                    c.to_string()
                }
            });
            let m = VersionMatcher::new(toolchain_scheme(&name), c.as_deref(), "--toolchain")?;
            Some((name, m))
        }
        None => None,
    };
    let package = match &q.package {
        Some(p) => {
            let (purl, c) = split_at_sign(p);
            let parsed = Purl::parse(purl).map_err(|e| Error::bad_field("--package", e.message))?;
            let scheme = Scheme::for_purl_type(parsed.ty()).unwrap_or(Scheme::Generic);
            // A bare version means "exactly this version".
            let c = c.map(|c| {
                let c = c.trim();
                if c.starts_with(['<', '>', '=', '!', '*', '~', '^']) || c.contains(',') {
                    c.to_string()
                } else {
                    format!("={c}")
                }
            });
            let m = VersionMatcher::new(scheme, c.as_deref(), "--package")?;
            Some((parsed.package().to_string(), m))
        }
        None => None,
    };
    let api_stability = match &q.api_stability {
        Some(s) => {
            Some(Stability::parse(s).map_err(|e| Error::bad_field("--api-stability", e.message))?)
        }
        None => None,
    };
    let start = match &q.cursor {
        Some(c) => Some(
            c.trim()
                .parse::<buildledger_store::QueryCursor>()
                .map_err(|e| Error::bad_field("--cursor", e.message))?,
        ),
        None => None,
    };
    if q.limit == Some(0) {
        return Err(Error::bad_field("--limit", "must be at least 1"));
    }
    Ok(PreparedQuery {
        toolchain,
        package,
        api_stability,
        start,
        req: q.clone(),
    })
}

/// Run a prepared query.
pub fn run(store: &mut Store, p: &PreparedQuery) -> Result<QueryResult> {
    let tc_filter = p
        .toolchain
        .as_ref()
        .map(|(_, m)| move |v: &str| m.matches(v));
    let pkg_filter = p.package.as_ref().map(|(_, m)| move |v: &str| m.matches(v));
    let query = buildledger_store::Query {
        toolchain: p
            .toolchain
            .as_ref()
            .zip(tc_filter.as_ref())
            .map(|((n, _), f)| (n.clone(), f as &dyn Fn(&str) -> bool)),
        package: p
            .package
            .as_ref()
            .zip(pkg_filter.as_ref())
            .map(|((n, _), f)| (n.clone(), f as &dyn Fn(&str) -> bool)),
        repo: p.req.repo.clone(),
        commit: p.req.commit.clone(),
        tag: p.req.tag.clone(),
        api_stability: p.api_stability,
        trusted_only: p.req.trusted_only,
        limit: p.req.limit,
        start: p.start,
    };
    let page = store.query_page(&query)?;
    let mut unreadable = Vec::new();
    if let Some((_, m)) = &p.toolchain {
        unreadable.extend(m.unreadable("toolchain"));
    }
    if let Some((_, m)) = &p.package {
        unreadable.extend(m.unreadable("package"));
    }
    Ok(QueryResult {
        hits: page.hits,
        unreadable,
        next: page.next.map(|c| c.to_string()),
        estimated_rest: page.estimated_rest,
    })
}

/// [`prepare`] and [`run`] in one.
pub fn query(store: &mut Store, q: &QueryRequest) -> Result<QueryResult> {
    let p = prepare(q)?;
    run(store, &p)
}
