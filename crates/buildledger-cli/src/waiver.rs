//! `waiver add`, `waiver list`, `waiver revoke`.

use buildledger_service::waivers::{self as svc, WaiverRequest};

use crate::output::{Format, Table, print_json};
use crate::{CliError, Result, open_store};

#[derive(clap::Subcommand)]
pub enum WaiverCommand {
    /// Add a waiver: one advisory, on one digest, package or repository.
    Add {
        /// Advisory id or alias (CVE, GHSA, GO-…).
        #[arg(long)]
        advisory: String,
        /// The image digest it covers.
        #[arg(long)]
        digest: Option<String>,
        /// The package URL it covers (with a version: that version only).
        #[arg(long)]
        package: Option<String>,
        /// The source repository it covers (every image built from it).
        #[arg(long)]
        repo: Option<String>,
        /// Only in this environment (default: every environment).
        #[arg(long)]
        env: Option<String>,
        /// Who answers for it.
        #[arg(long)]
        owner: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// When it ends: YYYY-MM-DD (end of day UTC) or an RFC 3339 time; at most 366 days away.
        #[arg(long)]
        expires: String,
    },
    /// Waivers in force (with --all, revoked and expired ones too).
    List {
        /// Include revoked and expired waivers.
        #[arg(long)]
        all: bool,
        /// Only those ending within this span (e.g. 7d): the notices.
        #[arg(long)]
        expiring: Option<String>,
    },
    /// Revoke a waiver by id.
    Revoke {
        /// Waiver id.
        id: i64,
    },
}

pub fn waiver(db: &Option<String>, cmd: WaiverCommand, json: bool) -> Result<u8> {
    let now = chrono::Utc::now();
    match cmd {
        WaiverCommand::Add {
            advisory,
            digest,
            package,
            repo,
            env,
            owner,
            reason,
            expires,
        } => {
            let req = WaiverRequest {
                advisory,
                digest,
                package,
                repo,
                env,
                owner,
                reason,
                expires,
            };
            let w = svc::add(&mut open_store(db)?, &req, now)?;
            if json {
                print_json(&w)?;
            } else {
                println!(
                    "waiver {} for {} on {} {}{} until {} (owner {})",
                    w.id,
                    w.advisory,
                    w.scope_kind,
                    w.scope_value,
                    w.environment
                        .as_deref()
                        .map(|e| format!(" in {e}"))
                        .unwrap_or_default(),
                    w.expires_at.to_rfc3339(),
                    w.owner
                );
            }
        }
        WaiverCommand::List { all, expiring } => {
            let mut store = open_store(db)?;
            let rows = match expiring {
                Some(span) => {
                    // "within 7d": the same spans as --since, forwards.
                    let back = buildledger_service::feeds::parse_since_at(&span, now)
                        .map_err(|e| CliError::input(e.message.replace("--since", "--expiring")))?;
                    svc::expiring(&mut store, now - back, now)?
                }
                None => svc::list(&mut store, all, now)?,
            };
            if json {
                print_json(&rows)?;
            } else {
                let mut t = Table::new(&[
                    "ID", "ADVISORY", "COVERS", "ENV", "OWNER", "EXPIRES", "STATE", "REASON",
                ]);
                for w in &rows {
                    t.row(vec![
                        w.id.to_string(),
                        w.advisory.clone(),
                        format!("{} {}", w.scope_kind, w.scope_value),
                        w.environment.clone().unwrap_or_else(|| "*".into()),
                        w.owner.clone(),
                        w.expires_at.to_rfc3339(),
                        if w.revoked_at.is_some() {
                            "revoked".into()
                        } else if svc::active(w, now) {
                            "active".into()
                        } else {
                            "expired".into()
                        },
                        w.reason.clone(),
                    ]);
                }
                t.print(Format::Table)?;
            }
        }
        WaiverCommand::Revoke { id } => {
            let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            svc::revoke(&mut open_store(db)?, id, &by)?;
            if json {
                print_json(&serde_json::json!({"revoked": id}))?;
            } else {
                println!("waiver {id} revoked");
            }
        }
    }
    Ok(0)
}
