//! `buildledger`: the command-line interface to the build ledger.
//!
//! This crate owns argument parsing, output formatting (table, CSV, JSON) and
//! exit codes; the work itself is done by the library crates it calls
//! (model, store, apisurface, version, and the sources as they land).
//!
//! Exit codes: 0 success; 1 a runtime failure (database unreachable, I/O);
//! 2 bad input (a malformed digest, purl, version, or file: nothing stored);
//! 3 a check found something (`query --fail-on-match`).
//!
//! Read commands (show, query, table, conflicts, info, vulns, affected,
//! changes, lineage, mismatches, audit verify) open the ledger read-only:
//! they create nothing, never migrate, and work on files, directories and
//! PostgreSQL roles that only allow reading; a missing ledger is "no ledger
//! at …" (exit 1). Write commands create and migrate it, as does `migrate`.
//!
//! Standard output closed by its reader ends output quietly and the command
//! exits with its own code (see `output`).

/// `println!`, `print!`, `eprintln!` and `eprint!` in this crate are these,
/// not std's: they go through [`output::line`], which escapes control and
/// bidi characters (keeping the format's own newlines and tabs) and never
/// panics on a closed pipe (std's do). Defined before the modules so that
/// every module of the crate uses them.
macro_rules! println {
    () => { $crate::output::line(false, true, format_args!("")) };
    ($($t:tt)*) => { $crate::output::line(false, true, format_args!($($t)*)) };
}
#[allow(unused_macros)]
macro_rules! print {
    ($($t:tt)*) => { $crate::output::line(false, false, format_args!($($t)*)) };
}
macro_rules! eprintln {
    () => { $crate::output::line(true, true, format_args!("")) };
    ($($t:tt)*) => { $crate::output::line(true, true, format_args!($($t)*)) };
}
#[allow(unused_macros)]
macro_rules! eprint {
    ($($t:tt)*) => { $crate::output::line(true, false, format_args!($($t)*)) };
}

mod feeds;
mod limits;
mod output;
mod record;
mod scan;
mod trust;

use std::io::Write;
use std::process::ExitCode;

use buildledger_model::{Digest, Stability};
use buildledger_store::{Access, Query, Store};
use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: queries that return tens of
/// thousands of rows allocate and free hundreds of thousands of small strings,
/// and glibc's malloc spent a sixth of such a query consolidating free lists
/// (see `ledger-bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use output::{Format, Table};

/// Map container image digests to what they were built from.
#[derive(Parser)]
#[command(name = "buildledger", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Ledger database: a SQLite file path (default under the user's data
    /// directory) or a postgres:// URL.
    #[arg(long, global = true, env = "BUILDLEDGER_DB")]
    db: Option<String>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record a build: from flags, or from JSON build-record files.
    Record(record::RecordArgs),
    /// Show everything the ledger knows about an image digest.
    Show {
        /// Image digest (sha256:…).
        digest: String,
    },
    /// Find image digests by toolchain, package, source or API stability.
    Query(QueryArgs),
    /// The mapping table: one row per image digest.
    Table {
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: Format,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Digests whose records disagree (two commits for one digest).
    Conflicts,
    /// Counts of what the ledger holds, and where it is.
    Info,
    /// Vulnerability feeds.
    #[command(subcommand)]
    Feed(feeds::FeedCommand),
    /// Findings for one image digest (advisories affecting its components).
    Vulns {
        /// Image digest.
        digest: String,
        /// Exit with code 3 when the image has vulnerability findings.
        #[arg(long)]
        fail_on_findings: bool,
    },
    /// Every image digest affected by an advisory (any id or alias: CVE, GHSA, GO-…).
    Affected {
        /// Advisory id or alias.
        id: String,
    },
    /// Findings added and removed since a time (RFC 3339, YYYY-MM-DD, or 15m/24h/7d).
    Changes {
        /// Start time.
        #[arg(long)]
        since: String,
    },
    /// Re-evaluate every stored advisory against every component.
    Rematch,
    /// Index an image: OS packages, Go build info, cargo-auditable data.
    Scan(scan::ScanArgs),
    /// Indexed images whose layers this image was built on (its base images).
    Lineage {
        /// Image digest (scanned with --record).
        digest: String,
    },
    /// SBOM documents.
    #[command(subcommand)]
    Sbom(scan::SbomCommand),
    /// Generate a signing key pair for a builder (PREFIX.key, PREFIX.pub).
    Keygen {
        /// ed25519 or ecdsa-p256.
        #[arg(long, value_enum, default_value = "ed25519")]
        algorithm: trust::Algorithm,
        /// Output prefix.
        #[arg(long, default_value = "buildledger")]
        out: std::path::PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Sign build provenance (in-toto Statement v1, SLSA provenance v1, DSSE) from the same inputs as `record`.
    Attest {
        #[command(flatten)]
        record: record::RecordArgs,
        /// Private key (PKCS#8 PEM) of the builder.
        #[arg(long)]
        key: std::path::PathBuf,
        /// Write the envelope here (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Where build claims disagree with what the image shows (commit, toolchain, dependencies, dirty builds).
    Mismatches {
        /// Only this digest.
        digest: Option<String>,
        /// Exit with code 3 when there are mismatches.
        #[arg(long)]
        fail_on_mismatch: bool,
    },
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Upgrade the ledger's schema to this buildledger's (write commands do
    /// this on their own; read commands never do).
    Migrate,
}

impl Command {
    /// How this command opens the ledger. Reads never create or migrate it.
    fn access(&self) -> Access {
        match self {
            Command::Show { .. }
            | Command::Query(_)
            | Command::Table { .. }
            | Command::Conflicts
            | Command::Info
            | Command::Vulns { .. }
            | Command::Affected { .. }
            | Command::Changes { .. }
            | Command::Lineage { .. }
            | Command::Mismatches { .. }
            | Command::Audit(AuditCommand::Verify { .. }) => Access::ReadOnly,
            #[allow(unreachable_patterns)]
            Command::Audit(_) => Access::ReadWrite,
            Command::Record(_)
            | Command::Feed(_)
            | Command::Rematch
            | Command::Scan(_)
            | Command::Sbom(_)
            | Command::Keygen { .. }
            | Command::Attest { .. }
            | Command::Migrate => Access::ReadWrite,
        }
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every entry and link, every record against its seal, and the
    /// postings; exit 3 when anything was edited, added or removed.
    Verify {
        /// A signed checkpoint (`audit checkpoint`): also detect a cut-off
        /// tail or a rebuilt chain.
        #[arg(long, requires = "checkpoint_key")]
        checkpoint: Option<std::path::PathBuf>,
        /// The public key (SPKI PEM) you pinned for checkpoints.
        #[arg(long, requires = "checkpoint")]
        checkpoint_key: Option<std::path::PathBuf>,
    },
    /// Sign a checkpoint of the log's head (after verifying it) with your
    /// key; keep it outside the database.
    Checkpoint {
        /// Private key (PKCS#8 PEM), e.g. from `buildledger keygen`.
        #[arg(long)]
        key: std::path::PathBuf,
        /// Write the envelope here (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(clap::Args)]
struct QueryArgs {
    /// Toolchain and version or range: go@1.13.4, go@<1.14, "rustc@>=1.70, <1.80".
    #[arg(long)]
    toolchain: Option<String>,
    /// Package URL without version, optionally with @VERSION or @RANGE:
    /// pkg:golang/golang.org/x/net, pkg:golang/golang.org/x/net@<0.7.0.
    #[arg(long)]
    package: Option<String>,
    /// Source repository URL.
    #[arg(long)]
    repo: Option<String>,
    /// Commit id or prefix (7+ hex digits).
    #[arg(long)]
    commit: Option<String>,
    /// Tag built.
    #[arg(long)]
    tag: Option<String>,
    /// Exposes an API of this stability: alpha, beta, stable, deprecated.
    #[arg(long)]
    api_stability: Option<String>,
    /// Only records verified by a trusted builder or observed in the image.
    #[arg(long)]
    trusted_only: bool,
    /// At most this many hits.
    #[arg(long)]
    limit: Option<usize>,
    /// Exit with code 3 when anything matches (for CI gates).
    #[arg(long)]
    fail_on_match: bool,
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// Message for stderr.
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl CliError {
    /// Bad input: exit code 2.
    pub fn input(message: impl Into<String>) -> CliError {
        CliError {
            code: 2,
            message: message.into(),
        }
    }
    /// Runtime failure: exit code 1.
    pub fn runtime(message: impl Into<String>) -> CliError {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<buildledger_store::StoreError> for CliError {
    fn from(e: buildledger_store::StoreError) -> CliError {
        use buildledger_store::StoreError as E;
        match e {
            E::Invalid(m) => CliError::input(m.to_string()),
            e @ E::BadTarget(_) => CliError::input(e.to_string()),
            // NoLedger, Outdated, TooNew, Open, …: the ledger, not the input.
            other => CliError::runtime(other.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::runtime(e.to_string())
    }
}

type Result<T, E = CliError> = std::result::Result<T, E>;

/// The environment variable that stands for `--long` in any subcommand.
fn env_of(cmd: &clap::Command, long: &str) -> Option<String> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .or_else(|| cmd.get_subcommands().find_map(|c| env_of(c, long)))
}

/// Parse the command line; usage errors exit 2 (clap's convention) and say
/// which argument was at fault, even when the value came from the
/// environment or is not UTF-8.
fn parse_args() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            if e.kind() == ErrorKind::InvalidUtf8
                && let Some(i) = args.iter().skip(1).position(|a| a.to_str().is_none())
            {
                // Paths may be any bytes; other values must be UTF-8.
                let i = i + 1;
                let shown = args[i].to_string_lossy();
                let what = match shown.strip_prefix("--").and_then(|f| f.split_once('=')) {
                    Some((flag, _)) => format!("--{flag}"),
                    None => args[i - 1].to_string_lossy().into_owned(),
                };
                eprintln!(
                    "error: the value of {what} (argument {i}, {shown:?}) is not valid UTF-8"
                );
                std::process::exit(2);
            }
            if matches!(
                e.kind(),
                ErrorKind::ValueValidation | ErrorKind::InvalidValue
            ) && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
                && let Some(long) = arg
                    .split_whitespace()
                    .next()
                    .and_then(|a| a.strip_prefix("--"))
                && !args.iter().any(|a| {
                    a.to_str().is_some_and(|a| {
                        a == format!("--{long}") || a.starts_with(&format!("--{long}="))
                    })
                })
                && let Some(var) = env_of(&<Cli as clap::CommandFactory>::command(), long)
                && std::env::var_os(&var).is_some()
            {
                let _ = e.print();
                eprintln!(
                    "note: the value came from the environment variable {var}, which stands for --{long}"
                );
                std::process::exit(2);
            }
            e.exit()
        }
    }
}

fn main() -> ExitCode {
    let cli = parse_args();
    let db = cli.db.clone();
    let _ = ACCESS.set(cli.command.access());
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Escaped (messages echo file names and stored values) and
            // scrubbed of every secret this process knows.
            eprintln!("error: {}", scrub_secrets(&e.message, db.as_deref()));
            ExitCode::from(e.code)
        }
    }
}

/// `message` with the database target's secrets (the raw target is replaced
/// by its redacted form) and the registry password and token from the
/// environment replaced by `***`. The store already redacts its own
/// messages; this is the last line of defence for every error line.
fn scrub_secrets(message: &str, db: Option<&str>) -> String {
    let mut m = message.to_string();
    if let Some(db) = db.filter(|d| !d.is_empty()) {
        let shown = buildledger_store::redact_url(db);
        if shown != db {
            m = m.replace(db, &shown);
        }
    }
    for var in [
        buildledger_image::ENV_PASSWORD,
        buildledger_image::ENV_TOKEN,
    ] {
        if let Ok(secret) = std::env::var(var)
            // A very short value would turn messages into asterisks.
            && secret.chars().count() >= 4
        {
            m = m.replace(&secret, "***");
        }
    }
    m
}

/// How this process's command opens the ledger (set once in `main`).
static ACCESS: std::sync::OnceLock<Access> = std::sync::OnceLock::new();

/// The one place the CLI opens the ledger: read-only for read commands
/// (nothing created, nothing migrated), read-write (create and migrate)
/// otherwise; see [`Command::access`]. An empty `--db`/`BUILDLEDGER_DB` is
/// bad input, not a temporary database.
fn open_store(db: &Option<String>) -> Result<Store> {
    let access = ACCESS.get().copied().unwrap_or(Access::ReadWrite);
    let target = match db {
        Some(d) if d.trim().is_empty() => {
            return Err(CliError::input(
                "--db / BUILDLEDGER_DB is empty: give a SQLite path or a postgres:// URL (unset it for the default ledger)",
            ));
        }
        Some(d) => d.clone(),
        None => buildledger_store::default_db_path().display().to_string(),
    };
    Ok(Store::open_with(&target, access)?)
}

fn run(cli: Cli) -> Result<u8> {
    let json = cli.json;
    match cli.command {
        Command::Record(args) => {
            let mut store = open_store(&cli.db)?;
            record::run(&mut store, args, json)
        }
        Command::Show { digest } => {
            let d = Digest::parse(&digest)
                .map_err(|e| CliError::input(format!("digest: {}", e.message)))?;
            let mut store = open_store(&cli.db)?;
            let Some(view) = store.show(&d)? else {
                return Err(CliError::runtime(format!(
                    "{d} is not in the ledger ({})",
                    output::escape(store.target())
                )));
            };
            if json {
                output::print_json(&view)?;
            } else {
                output::print_image(&view)?;
            }
            Ok(0)
        }
        Command::Query(q) => query(&cli.db, q, json),
        Command::Table { format, limit } => {
            let mut store = open_store(&cli.db)?;
            let rows = store.table(limit)?;
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
        Command::Conflicts => {
            let mut store = open_store(&cli.db)?;
            let all = store.conflicts()?;
            if json {
                let v: Vec<_> = all
                    .iter()
                    .map(|(d, c)| serde_json::json!({"digest": d, "conflicts": c}))
                    .collect();
                output::print_json(&v)?;
            } else {
                let mut out = output::stdout();
                for (d, cs) in &all {
                    writeln!(out, "{}", output::escape(d))?;
                    for c in cs {
                        for claim in &c.claims {
                            writeln!(
                                out,
                                "  {}: {} (records {}; {})",
                                output::escape(&c.field),
                                output::escape(&claim.value),
                                join_ids(&claim.records),
                                output::escape(&claim.origins.join(", "))
                            )?;
                        }
                    }
                }
                if all.is_empty() {
                    writeln!(out, "no conflicting claims")?;
                }
            }
            Ok(0)
        }
        Command::Feed(cmd) => {
            let mut store = open_store(&cli.db)?;
            feeds::feed(&mut store, cmd, json)
        }
        Command::Vulns {
            digest,
            fail_on_findings,
        } => {
            Digest::parse(&digest)
                .map_err(|e| CliError::input(format!("digest: {}", e.message)))?;
            let mut store = open_store(&cli.db)?;
            feeds::vulns(&mut store, &digest, json, fail_on_findings)
        }
        Command::Affected { id } => {
            let mut store = open_store(&cli.db)?;
            feeds::affected(&mut store, &id, json)
        }
        Command::Changes { since } => {
            // Bad input is bad input whether or not a ledger exists.
            feeds::parse_since(&since)?;
            let mut store = open_store(&cli.db)?;
            feeds::changes(&mut store, &since, json)
        }
        Command::Rematch => {
            let mut store = open_store(&cli.db)?;
            let t0 = std::time::Instant::now();
            let report = buildledger_rules::rematch_all(&mut store, &mut |_| {})
                .map_err(|e| CliError::runtime(e.to_string()))?;
            if json {
                output::print_json(
                    &serde_json::json!({"report": report, "seconds": t0.elapsed().as_secs_f64()}),
                )?;
            } else {
                writeln!(
                    output::stdout(),
                    "re-evaluated {} advisories in {:.2}s: findings +{} −{}",
                    report.advisories,
                    t0.elapsed().as_secs_f64(),
                    report.findings_added,
                    report.findings_removed
                )?;
            }
            Ok(0)
        }
        Command::Scan(a) => scan::scan(&cli.db, a, json),
        Command::Lineage { digest } => scan::lineage(&cli.db, &digest, json),
        Command::Sbom(cmd) => scan::sbom(&cli.db, cmd, json),
        Command::Keygen {
            algorithm,
            out,
            force,
        } => trust::keygen(algorithm, &out, force, json),
        Command::Attest { record, key, out } => {
            let rec = if let Some(f) = record.files.first() {
                record::from_file(f)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| CliError::input(format!("{}: no record", f.display())))?
            } else {
                record::from_flags(&record)?
            };
            trust::attest(&rec, &key, out.as_deref(), json)
        }
        Command::Mismatches {
            digest,
            fail_on_mismatch,
        } => {
            if let Some(d) = &digest {
                Digest::parse(d).map_err(|e| CliError::input(format!("digest: {}", e.message)))?;
            }
            let mut store = open_store(&cli.db)?;
            trust::mismatches(&mut store, digest.as_deref(), json, fail_on_mismatch)
        }
        Command::Audit(AuditCommand::Verify {
            checkpoint,
            checkpoint_key,
        }) => {
            let mut store = open_store(&cli.db)?;
            trust::audit_verify(
                &mut store,
                checkpoint.as_deref(),
                checkpoint_key.as_deref(),
                json,
            )
        }
        Command::Audit(AuditCommand::Checkpoint { key, out }) => {
            let mut store = open_store(&cli.db)?;
            trust::audit_checkpoint(&mut store, &key, out.as_deref(), json)
        }
        Command::Info => {
            let mut store = open_store(&cli.db)?;
            let stats = store.stats()?;
            let (advisories, findings) = store.advisory_stats()?;
            let v = serde_json::json!({
                "advisories": advisories,
                "findings": findings,
                "database": store.target(),
                "engine": format!("{:?}", store.kind()).to_lowercase(),
                "schema_version": store.schema_version()?,
                "stats": stats,
            });
            if json {
                output::print_json(&v)?;
            } else {
                let mut out = output::stdout();
                writeln!(out, "database:       {}", output::escape(store.target()))?;
                writeln!(
                    out,
                    "engine:         {}",
                    v["engine"].as_str().unwrap_or("")
                )?;
                writeln!(out, "schema version: {}", v["schema_version"])?;
                writeln!(
                    out,
                    "images {} · records {} · components {} · links {}",
                    stats.images, stats.records, stats.components, stats.component_links
                )?;
                writeln!(out, "advisories {advisories} · findings {findings}")?;
            }
            Ok(0)
        }
        Command::Migrate => {
            let mut store = open_store(&cli.db)?;
            let version = store.schema_version()?;
            if json {
                output::print_json(&serde_json::json!({
                    "database": store.target(),
                    "schema_version": version,
                }))?;
            } else {
                writeln!(
                    output::stdout(),
                    "{} is at schema version {version}",
                    output::escape(store.target())
                )?;
            }
            Ok(0)
        }
    }
}

pub(crate) fn join_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Split `name@constraint` at the first `@`.
fn split_at_sign(s: &str) -> (&str, Option<&str>) {
    match s.split_once('@') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    }
}

/// A version filter: `constraint` in `scheme`'s order; versions the scheme
/// cannot read never match (and are counted, so the user hears of them).
struct VersionMatcher {
    scheme: buildledger_version::Scheme,
    constraint: Option<buildledger_version::Constraint>,
    unreadable: std::cell::RefCell<Vec<String>>,
}

impl VersionMatcher {
    fn new(
        scheme: buildledger_version::Scheme,
        constraint: Option<&str>,
        what: &str,
    ) -> Result<VersionMatcher> {
        let constraint = match constraint
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "*")
        {
            None => None,
            Some(c) => {
                let parsed = buildledger_version::Constraint::parse(c)
                    .map_err(|e| CliError::input(format!("{what}: {e}")))?;
                // A bound the scheme cannot read is the caller's mistake, not
                // the ledger's: refuse it rather than match nothing.
                for alt in parsed.alternatives() {
                    for term in alt {
                        buildledger_version::validate(scheme, &term.version).map_err(|e| {
                            CliError::input(format!(
                                "{what}: {:?} is not a {} version: {e}",
                                term.version,
                                scheme.name()
                            ))
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

    fn warn_unreadable(&self, what: &str) {
        let u = self.unreadable.borrow();
        if !u.is_empty() {
            eprintln!(
                "warning: {} stored {what} version(s) could not be compared and were skipped: {}",
                u.len(),
                output::escape(&u.iter().take(5).cloned().collect::<Vec<_>>().join(", "))
            );
        }
    }
}

fn toolchain_scheme(name: &str) -> buildledger_version::Scheme {
    match name {
        "go" => buildledger_version::Scheme::GoToolchain,
        "node" | "nodejs" => buildledger_version::Scheme::Npm,
        "python" | "cpython" => buildledger_version::Scheme::Pep440,
        _ => buildledger_version::Scheme::Generic,
    }
}

fn query(db: &Option<String>, q: QueryArgs, json: bool) -> Result<u8> {
    let tc = match &q.toolchain {
        Some(t) => {
            let (name, c) = split_at_sign(t);
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() {
                return Err(CliError::input(format!(
                    "--toolchain {t:?}: expected NAME@VERSION or NAME@RANGE"
                )));
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
    let pkg = match &q.package {
        Some(p) => {
            let (purl, c) = split_at_sign(p);
            let parsed = buildledger_model::Purl::parse(purl)
                .map_err(|e| CliError::input(format!("--package: {}", e.message)))?;
            let scheme = buildledger_version::Scheme::for_purl_type(parsed.ty())
                .unwrap_or(buildledger_version::Scheme::Generic);
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
        Some(s) => Some(
            Stability::parse(s)
                .map_err(|e| CliError::input(format!("--api-stability: {}", e.message)))?,
        ),
        None => None,
    };
    let tc_filter = tc.as_ref().map(|(_, m)| move |v: &str| m.matches(v));
    let pkg_filter = pkg.as_ref().map(|(_, m)| move |v: &str| m.matches(v));
    let query = Query {
        toolchain: tc.as_ref().map(|(n, _)| {
            (
                n.clone(),
                tc_filter.as_ref().unwrap() as &dyn Fn(&str) -> bool,
            )
        }),
        package: pkg.as_ref().map(|(p, _)| {
            (
                p.clone(),
                pkg_filter.as_ref().unwrap() as &dyn Fn(&str) -> bool,
            )
        }),
        repo: q.repo.clone(),
        commit: q.commit.clone(),
        tag: q.tag.clone(),
        api_stability,
        trusted_only: q.trusted_only,
        limit: q.limit,
    };
    let mut store = open_store(db)?;
    let hits = store.query(&query)?;
    if let Some((_, m)) = &tc {
        m.warn_unreadable("toolchain");
    }
    if let Some((_, m)) = &pkg {
        m.warn_unreadable("package");
    }
    if json {
        output::print_json(&hits)?;
    } else {
        let mut t = Table::new(&[
            "DIGEST", "RECORD", "ORIGIN", "TRUST", "REPO", "COMMIT", "TAG", "MATCHED",
        ]);
        for h in &hits {
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
        let digests: std::collections::BTreeSet<&str> =
            hits.iter().map(|h| h.digest.as_str()).collect();
        eprintln!(
            "{} image digest(s), {} record(s)",
            digests.len(),
            hits.len()
        );
    }
    Ok(if q.fail_on_match && !hits.is_empty() {
        3
    } else {
        0
    })
}
