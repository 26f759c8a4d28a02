//! `show`, `query`, `table`, `conflicts`, `info`, `migrate`: argument
//! parsing and rendering over the application layer's read use cases.

use std::io::Write;

use buildledger_service::{query::QueryRequest, reads as svc};

use crate::output::{self, Format, Table};
use crate::remote::{Remote, remote};
use crate::{Result, open_store};

#[derive(clap::Args)]
pub struct QueryArgs {
    /// Toolchain and version or range: go@1.13.4, go@<1.14, "rustc@>=1.70, <1.80".
    #[arg(long)]
    pub toolchain: Option<String>,
    /// Package URL without version, optionally with @VERSION or @RANGE:
    /// pkg:golang/golang.org/x/net, pkg:golang/golang.org/x/net@<0.7.0.
    #[arg(long)]
    pub package: Option<String>,
    /// Source repository URL.
    #[arg(long)]
    pub repo: Option<String>,
    /// Commit id or prefix (7+ hex digits).
    #[arg(long)]
    pub commit: Option<String>,
    /// Tag built.
    #[arg(long)]
    pub tag: Option<String>,
    /// Exposes an API of this stability: alpha, beta, stable, deprecated.
    #[arg(long)]
    pub api_stability: Option<String>,
    /// Only records verified by a trusted builder or observed in the image.
    #[arg(long)]
    pub trusted_only: bool,
    /// At most this many hits (a page; the next page's `--cursor` is
    /// printed on stderr when there is one).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Start where an earlier page said the next one starts (`RECORD.SKIP`).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// Exit with code 3 when anything matches (for CI gates).
    #[arg(long)]
    pub fail_on_match: bool,
}

impl QueryArgs {
    fn request(&self) -> QueryRequest {
        QueryRequest {
            toolchain: self.toolchain.clone(),
            package: self.package.clone(),
            repo: self.repo.clone(),
            commit: self.commit.clone(),
            tag: self.tag.clone(),
            api_stability: self.api_stability.clone(),
            trusted_only: self.trusted_only,
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

pub fn show(db: &Option<String>, digest: &str, json: bool) -> Result<u8> {
    let d = svc::parse_digest(digest, "digest")?;
    let view = match remote() {
        Some(r) => r.get(&Remote::image_path(&d), &[])?,
        None => svc::show(&mut open_store(db)?, &d)?,
    };
    if json {
        output::print_json(&view)?;
    } else {
        output::print_image(&view)?;
    }
    Ok(0)
}

pub fn query(db: &Option<String>, q: QueryArgs, json: bool) -> Result<u8> {
    // Bad input is bad input whether or not a ledger exists.
    let req = q.request();
    let prepared = buildledger_service::query::prepare(&req)?;
    let res = match remote() {
        Some(r) => {
            let mut params: Vec<(&str, String)> = [
                ("toolchain", &req.toolchain),
                ("package", &req.package),
                ("repo", &req.repo),
                ("commit", &req.commit),
                ("tag", &req.tag),
                ("api_stability", &req.api_stability),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
            .collect();
            if req.trusted_only {
                params.push(("trusted_only", "true".into()));
            }
            let (hits, next) = r.list_from(
                "/api/v1/query",
                &params,
                req.limit,
                req.cursor.as_deref().map(|c| {
                    buildledger_service::cursor::encode(
                        buildledger_service::cursor::QUERY,
                        c.trim(),
                    )
                }),
            )?;
            buildledger_service::query::QueryResult {
                hits,
                unreadable: vec![],
                next: match next {
                    Some(c) => Some(
                        buildledger_service::cursor::decode(buildledger_service::cursor::QUERY, &c)
                            .ok_or_else(|| crate::CliError {
                                code: 1,
                                message: "the server gave a cursor that is not a query position"
                                    .into(),
                                detail: None,
                            })?,
                    ),
                    None => None,
                },
                // The API's pages carry no estimate.
                estimated_rest: None,
            }
        }
        None => buildledger_service::query::run(&mut open_store(db)?, &prepared)?,
    };
    for u in &res.unreadable {
        eprintln!(
            "warning: {} stored {} version(s) could not be compared and were skipped: {}",
            u.count,
            u.what,
            output::escape(&u.examples.join(", "))
        );
    }
    if json {
        output::print_json(&res.hits)?;
    } else {
        let mut t = Table::new(&[
            "DIGEST", "RECORD", "ORIGIN", "TRUST", "REPO", "COMMIT", "TAG", "MATCHED",
        ]);
        for h in &res.hits {
            t.row(vec![
                h.digest.clone(),
                h.record_id.to_string(),
                h.origin.as_str().to_string(),
                h.trust.as_str().to_string(),
                h.repo.clone().unwrap_or_default(),
                h.commit
                    .clone()
                    .map(|c| c.chars().take(12).collect())
                    .unwrap_or_default(),
                h.tag.clone().unwrap_or_default(),
                h.matched.join(" "),
            ]);
        }
        t.print(Format::Table)?;
        eprintln!(
            "{} image digest(s), {} record(s){}",
            res.digest_count(),
            res.hits.len(),
            match (&res.next, res.estimated_rest) {
                (Some(_), Some(e)) => format!(
                    " on this page; about {e} hit(s) from this page on (an estimate: this page's share of the ledger, scaled)"
                ),
                (Some(_), None) => " on this page".to_string(),
                _ => String::new(),
            }
        );
    }
    if let Some(next) = &res.next {
        eprintln!("more: --cursor {next}");
    }
    Ok(if q.fail_on_match && !res.hits.is_empty() {
        3
    } else {
        0
    })
}

pub fn table(db: &Option<String>, format: Format, limit: Option<usize>, json: bool) -> Result<u8> {
    let rows = match remote() {
        Some(r) => r.list("/api/v1/table", &[], limit)?,
        None => svc::table(&mut open_store(db)?, limit)?,
    };
    let format = if json { Format::Json } else { format };
    if format == Format::Json {
        output::print_json(&rows)?;
        return Ok(0);
    }
    let mut t = Table::new(&[
        "DIGEST",
        "REPO",
        "TAG",
        "COMMIT",
        "TOOLCHAINS",
        "APIS",
        "COMPONENTS",
        "RECORDS",
        "CONFLICT",
    ]);
    for r in &rows {
        t.row(vec![
            r.digest.clone(),
            r.repos.join(" "),
            r.tags.join(" "),
            r.commits.join(" "),
            r.toolchains.join(" "),
            r.apis.join(" "),
            r.components.to_string(),
            r.records.to_string(),
            if r.conflict {
                "yes".into()
            } else {
                String::new()
            },
        ]);
    }
    t.print(format)?;
    Ok(0)
}

pub fn conflicts(db: &Option<String>, json: bool) -> Result<u8> {
    let all = match remote() {
        Some(r) => r.list("/api/v1/conflicts", &[], None)?,
        None => svc::conflicts(&mut open_store(db)?)?,
    };
    if json {
        output::print_json(&all)?;
        return Ok(0);
    }
    let mut out = output::stdout();
    for d in &all {
        writeln!(out, "{}", output::escape(&d.digest))?;
        for c in &d.conflicts {
            for claim in &c.claims {
                writeln!(
                    out,
                    "  {}: {} (records {}; {})",
                    output::escape(&c.field),
                    output::escape(&claim.value),
                    crate::join_ids(&claim.records),
                    output::escape(&claim.origins.join(", "))
                )?;
            }
        }
    }
    if all.is_empty() {
        writeln!(out, "no conflicting claims")?;
    }
    Ok(0)
}

pub fn info(db: &Option<String>, json: bool) -> Result<u8> {
    let i = match remote() {
        Some(r) => r.get("/api/v1/info", &[])?,
        None => svc::info(&mut open_store(db)?)?,
    };
    if json {
        output::print_json(&i)?;
        return Ok(0);
    }
    let mut out = output::stdout();
    writeln!(out, "database:       {}", output::escape(&i.database))?;
    writeln!(out, "engine:         {}", i.engine)?;
    writeln!(out, "schema version: {}", i.schema_version)?;
    writeln!(
        out,
        "images {} · records {} · components {} · links {}",
        i.stats.images, i.stats.records, i.stats.components, i.stats.component_links
    )?;
    writeln!(out, "advisories {} · findings {}", i.advisories, i.findings)?;
    Ok(0)
}

pub fn migrate(db: &Option<String>, json: bool) -> Result<u8> {
    let mut store = open_store(db)?;
    let s = svc::schema_state(&mut store)?;
    if json {
        output::print_json(&s)?;
    } else {
        writeln!(
            output::stdout(),
            "{} is at schema version {}",
            output::escape(&s.database),
            s.schema_version
        )?;
    }
    Ok(0)
}
