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

mod admission;
mod alerts;
mod alloc;
mod feeds;
mod inventory;
mod output;
mod policy;
mod reads;
mod record;
mod remote;
mod scan;
mod serve;
mod trust;
mod vex;
mod waiver;

use std::process::ExitCode;

use buildledger_service::{Access, ErrorKind, Settings, Store};
use clap::{Parser, Subcommand};

use output::Format;

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
    /// Talk to a buildledger server instead of a database (https://HOST:PORT;
    /// token from BUILDLEDGER_TOKEN). For record, sbom import and the reads
    /// show, query, table, vulns, affected, changes, mismatches.
    #[arg(long, global = true, env = "BUILDLEDGER_SERVER")]
    server: Option<String>,
    /// Trust this CA (PEM) for --server, besides the system's.
    #[arg(long, global = true, env = "BUILDLEDGER_CA_CERT")]
    ca_cert: Option<std::path::PathBuf>,
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
    Query(reads::QueryArgs),
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
        /// One page of at most this many findings, never splitting an image's
        /// findings (the next page's `--cursor` is printed on stderr). Pages
        /// list images in ledger order; the whole list is by digest.
        #[arg(long)]
        limit: Option<usize>,
        /// Start where a previous page said (`more: --cursor …`).
        #[arg(long, requires = "limit")]
        cursor: Option<String>,
    },
    /// Findings added and removed since a time (RFC 3339, YYYY-MM-DD, or 15m/24h/7d).
    Changes {
        /// Start time.
        #[arg(long)]
        since: String,
        /// One page of at most this many changes (the next page's `--cursor`
        /// is printed on stderr).
        #[arg(long)]
        limit: Option<usize>,
        /// Start where a previous page said (`more: --cursor …`).
        #[arg(long, requires = "limit")]
        cursor: Option<String>,
    },
    /// Re-evaluate every stored advisory against every component.
    Rematch,
    /// Index an image: OS packages, Go build info and symbols, cargo-auditable data, language packages.
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
    /// Run the HTTP API server (TLS; plain HTTP on loopback only).
    Serve(serve::ServeArgs),
    /// API tokens for the server.
    #[command(subcommand)]
    Token(serve::TokenCommand),
    /// The runtime inventory: which digests run where, from cluster snapshots.
    #[command(subcommand)]
    Inventory(inventory::InventoryCommand),
    /// Waivers: exceptions with an owner, a reason and an end.
    #[command(subcommand)]
    Waiver(waiver::WaiverCommand),
    /// The policy engine (Rego): decide for one image in one environment.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// The decision for every running container of the inventory (kept
    /// current incrementally in the ledger's posture cache).
    Posture(policy::PostureArgs),
    /// OpenVEX documents: statements by trusted authors on findings.
    #[command(subcommand)]
    Vex(vex::VexCommand),
    /// The Kubernetes admission webhook (`buildledger serve` answers it).
    #[command(subcommand)]
    Admission(admission::AdmissionCommand),
    /// Alerts from the posture: firing and resolved (the server's alert
    /// loop keeps them and delivers them to its sinks).
    Alerts(alerts::AlertsArgs),
}

/// Where a command can run when `--server` is given.
#[derive(PartialEq)]
enum Reach {
    /// Through the server too.
    Remote,
    /// Needs no ledger at all (`--server` is ignored).
    Free,
    /// On a database only: refused with `--server`.
    Local,
}

impl Command {
    fn reach(&self) -> Reach {
        match self {
            Command::Record(_)
            | Command::Sbom(_)
            | Command::Show { .. }
            | Command::Vulns { .. }
            | Command::Affected { .. }
            | Command::Query(_)
            | Command::Table { .. }
            | Command::Changes { .. }
            | Command::Mismatches { .. }
            | Command::Conflicts
            | Command::Inventory(_)
            | Command::Info
            | Command::Lineage { .. }
            | Command::Audit(AuditCommand::Verify {
                checkpoint: None, ..
            }) => Reach::Remote,
            Command::Scan(a) if a.records() => Reach::Remote,
            Command::Keygen { .. } | Command::Attest { .. } | Command::Admission(_) => Reach::Free,
            Command::Policy(p) if !p.needs_ledger() => Reach::Free,
            Command::Vex(v) if !v.needs_ledger() => Reach::Free,
            Command::Scan(a) if !a.records() => Reach::Free,
            _ => Reach::Local,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Command::Feed(_) => "feed",
            Command::Waiver(_) => "waiver",
            Command::Policy(_) => "policy",
            Command::Posture(_) => "posture",
            Command::Vex(_) => "vex",
            Command::Rematch => "rematch",
            Command::Audit(AuditCommand::Verify { .. }) => "audit verify --checkpoint",
            Command::Audit(_) => "audit checkpoint",
            Command::Migrate => "migrate",
            Command::Serve(_) => "serve",
            Command::Token(_) => "token",
            _ => "this command",
        }
    }

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
            | Command::Audit(AuditCommand::Verify { .. })
            | Command::Token(serve::TokenCommand::List)
            | Command::Inventory(inventory::InventoryCommand::List { .. })
            | Command::Waiver(waiver::WaiverCommand::List { .. })
            | Command::Vex(vex::VexCommand::List)
            | Command::Admission(_)
            | Command::Alerts(_)
            | Command::Policy(_) => Access::ReadOnly,
            #[allow(unreachable_patterns)]
            Command::Audit(_) => Access::ReadWrite,
            Command::Record(_)
            | Command::Feed(_)
            | Command::Rematch
            | Command::Scan(_)
            | Command::Sbom(_)
            | Command::Keygen { .. }
            | Command::Attest { .. }
            | Command::Migrate
            | Command::Serve(_)
            | Command::Token(_)
            | Command::Inventory(_)
            | Command::Posture(_)
            | Command::Vex(_)
            | Command::Waiver(_) => Access::ReadWrite,
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

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// Message for stderr.
    pub message: String,
    /// A result that goes with the failure, printed as JSON under `--json`.
    pub detail: Option<serde_json::Value>,
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
            detail: None,
        }
    }
}

/// The exit code of each kind of failure: the one place the CLI maps the
/// application layer's errors. 1: the ledger or the environment (not found,
/// unavailable, internal); 2: the input (bad, conflicting, unauthenticated,
/// forbidden);
/// 3: the ledger does not verify.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadInput
        | ErrorKind::Conflict
        | ErrorKind::Unauthenticated
        | ErrorKind::Forbidden => 2,
        ErrorKind::Integrity => 3,
        ErrorKind::NotFound | ErrorKind::Unavailable | ErrorKind::Internal => 1,
    }
}

impl From<buildledger_service::Error> for CliError {
    fn from(e: buildledger_service::Error) -> CliError {
        CliError {
            code: exit_code(e.kind),
            message: e.message,
            detail: e.detail,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError {
            code: 1,
            message: e.to_string(),
            detail: None,
        }
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
    alloc::tune();
    let cli = parse_args();
    let db = cli.db.clone();
    let _ = ACCESS.set(cli.command.access());
    let json = cli.json;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if json && let Some(d) = &e.detail {
                let _ = output::print_json(d);
            }
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
        let shown = buildledger_service::types::redact_url(db);
        if shown != db {
            m = m.replace(db, &shown);
        }
    }
    for var in [
        buildledger_service::types::REGISTRY_PASSWORD_VAR,
        buildledger_service::types::REGISTRY_TOKEN_VAR,
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
    Ok(buildledger_service::open::open(db.as_deref(), access)?)
}

/// Limits and other settings: from the process environment.
fn settings() -> Settings {
    Settings::new(|name| std::env::var(name).ok())
}

fn run(cli: Cli) -> Result<u8> {
    let json = cli.json;
    let db = &cli.db;
    if cli.server.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        match cli.command.reach() {
            Reach::Remote => remote::init(cli.server.as_deref(), cli.ca_cert.as_deref())?,
            Reach::Free => {}
            Reach::Local => {
                remote::init(None, None)?;
                return Err(CliError::input(format!(
                    "`{}` works on a database, not through --server (unset --server / BUILDLEDGER_SERVER)",
                    cli.command.name()
                )));
            }
        }
    }
    match cli.command {
        Command::Record(args) => record::run(db, args, json),
        Command::Show { digest } => reads::show(db, &digest, json),
        Command::Query(q) => reads::query(db, q, json),
        Command::Table { format, limit } => reads::table(db, format, limit, json),
        Command::Conflicts => reads::conflicts(db, json),
        Command::Info => reads::info(db, json),
        Command::Migrate => reads::migrate(db, json),
        Command::Feed(cmd) => feeds::feed(db, cmd, json),
        Command::Vulns {
            digest,
            fail_on_findings,
        } => feeds::vulns(db, &digest, json, fail_on_findings),
        Command::Affected { id, limit, cursor } => {
            feeds::affected(db, &id, feeds::PageArgs { limit, cursor }, json)
        }
        Command::Changes {
            since,
            limit,
            cursor,
        } => feeds::changes(db, &since, feeds::PageArgs { limit, cursor }, json),
        Command::Rematch => feeds::rematch(db, json),
        Command::Scan(a) => scan::scan(db, a, json),
        Command::Lineage { digest } => scan::lineage(db, &digest, json),
        Command::Sbom(cmd) => scan::sbom(db, cmd, json),
        Command::Keygen {
            algorithm,
            out,
            force,
        } => trust::keygen(algorithm, &out, force, json),
        Command::Attest { record, key, out } => record::attest(&record, &key, out.as_deref(), json),
        Command::Mismatches {
            digest,
            fail_on_mismatch,
        } => trust::mismatches(db, digest.as_deref(), json, fail_on_mismatch),
        Command::Audit(AuditCommand::Verify {
            checkpoint,
            checkpoint_key,
        }) => trust::audit_verify(db, checkpoint, checkpoint_key, json),
        Command::Audit(AuditCommand::Checkpoint { key, out }) => {
            trust::audit_checkpoint(db, &key, out.as_deref(), json)
        }
        Command::Serve(a) => serve::serve(db, a),
        Command::Token(cmd) => serve::token(db, cmd, json),
        Command::Inventory(cmd) => inventory::inventory(db, cmd, json),
        Command::Waiver(cmd) => waiver::waiver(db, cmd, json),
        Command::Policy(cmd) => policy::policy(db, cmd, json),
        Command::Posture(a) => policy::posture(db, a, json),
        Command::Vex(cmd) => vex::vex(db, cmd, json),
        Command::Admission(cmd) => admission::admission(cmd),
        Command::Alerts(a) => alerts::alerts(db, a, json),
    }
}

pub(crate) fn join_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
