//! `serve` and `token`: the HTTP server, and the API tokens it accepts.

use std::path::PathBuf;

use buildledger_service::tokens;

use crate::output::{Format, Table, print_json};
use crate::{CliError, Result, exit_code, open_store};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8443 or [::]:8443 (or BUILDLEDGER_LISTEN).
    #[arg(long)]
    listen: Option<String>,
    /// TLS certificate chain, PEM (reloaded when it changes; or BUILDLEDGER_TLS_CERT).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (or BUILDLEDGER_TLS_KEY).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP: refused unless --listen is a loopback address.
    #[arg(long)]
    plaintext: bool,
    /// Configuration file (TOML; see docs/server.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Trusted-builder policy for attestations (or BUILDLEDGER_TRUST_POLICY).
    #[arg(long)]
    policy: Option<PathBuf>,
}

pub fn serve(db: &Option<String>, a: ServeArgs) -> Result<u8> {
    let env = |name: &str| std::env::var(name).ok();
    let mut c = buildledger_server::Config::load(a.config.as_deref(), &env)
        .map_err(|e| CliError::input(e.to_string()))?;
    // Flags win over the environment, which wins over the file.
    if let Some(d) = db {
        c.db = Some(d.clone());
    }
    if let Some(l) = a.listen {
        c.listen = l;
    }
    if a.tls_cert.is_some() {
        c.tls_cert = a.tls_cert;
    }
    if a.tls_key.is_some() {
        c.tls_key = a.tls_key;
    }
    if a.plaintext {
        c.plaintext = true;
    }
    if a.policy.is_some() {
        c.trust_policy = a.policy;
    }
    match buildledger_server::serve(c, crate::settings()) {
        Ok(()) => Ok(0),
        Err(buildledger_server::ServeError::Config(e)) => Err(CliError::input(e.to_string())),
        Err(buildledger_server::ServeError::Ledger(e)) => Err(CliError {
            code: exit_code(e.kind),
            message: e.message,
            detail: None,
        }),
        Err(buildledger_server::ServeError::Io(m)) => Err(CliError {
            code: 1,
            message: m,
            detail: None,
        }),
    }
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once and only its hash is kept.
    Create {
        /// read, builder:write, feed:write, registry:notify or admin (repeatable).
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// The builder a builder:write token may submit for.
        #[arg(long)]
        builder_id: Option<String>,
        /// A name for people (shown in lists and logs).
        #[arg(long, default_value = "token")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `token list`).
        id: i64,
    },
}

pub fn token(db: &Option<String>, cmd: TokenCommand, json: bool) -> Result<u8> {
    let mut store = open_store(db)?;
    match cmd {
        TokenCommand::Create {
            scope,
            builder_id,
            name,
        } => {
            let t = tokens::create(&mut store, &name, &scope, builder_id.as_deref())?;
            if json {
                print_json(&t)?;
            } else {
                // The secret alone on standard output, for `$(…)`.
                println!("{}", t.token);
                eprintln!(
                    "token {} ({:?}, {}{}) created; the secret above is not shown again",
                    t.stored.id,
                    t.stored.name,
                    t.stored.scopes.join(" "),
                    t.stored
                        .builder_id
                        .as_deref()
                        .map(|b| format!(", builder {b}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCommand::List => {
            let all = tokens::list(&mut store)?;
            if json {
                print_json(&all)?;
            } else {
                let mut t = Table::new(&["ID", "NAME", "SCOPES", "BUILDER", "CREATED", "REVOKED"]);
                for r in &all {
                    t.row(vec![
                        r.id.to_string(),
                        r.name.clone(),
                        r.scopes.join(" "),
                        r.builder_id.clone().unwrap_or_default(),
                        r.created_at.to_rfc3339(),
                        r.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    ]);
                }
                t.print(Format::Table)?;
            }
        }
        TokenCommand::Revoke { id } => {
            tokens::revoke(&mut store, id)?;
            if json {
                print_json(&serde_json::json!({"revoked": id}))?;
            } else {
                println!("token {id} revoked");
            }
        }
    }
    Ok(0)
}
