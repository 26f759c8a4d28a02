//! `vex import`, `vex list`.

use std::path::PathBuf;

use buildledger_service::provenance::TRUST_POLICY_VAR;
use buildledger_service::vex::{self as svc, VexOptions};

use crate::output::{Format, Table, print_json};
use crate::{Result, open_store, settings};

#[derive(clap::Subcommand)]
pub enum VexCommand {
    /// Import an OpenVEX 0.2.0 document: a DSSE envelope signed by a key the
    /// trust policy pins to the document's author, or (with
    /// --allow-unsigned) a plain document, kept marked untrusted.
    Import {
        /// The document or envelope (`-`: standard input).
        file: PathBuf,
        /// Trust policy pinning VEX authors' keys (or BUILDLEDGER_TRUST_POLICY).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Take an unsigned document (its statements are shown, marked
        /// untrusted, and the built-in policy ignores them).
        #[arg(long)]
        allow_unsigned: bool,
    },
    /// Stored VEX documents, newest first.
    List,
    /// Sign an OpenVEX document with its author's private key (a DSSE
    /// envelope that `vex import` verifies against the key the trust
    /// policy pins to that author).
    Sign {
        /// The OpenVEX document.
        file: PathBuf,
        /// The author's private key (PKCS#8 PEM, from `keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Write the envelope here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

impl VexCommand {
    /// Whether it needs a ledger.
    pub fn needs_ledger(&self) -> bool {
        !matches!(self, VexCommand::Sign { .. })
    }
}

pub fn vex(db: &Option<String>, cmd: VexCommand, json: bool) -> Result<u8> {
    match cmd {
        VexCommand::Import {
            file,
            policy,
            allow_unsigned,
        } => {
            let policy = policy.or_else(|| std::env::var_os(TRUST_POLICY_VAR).map(PathBuf::from));
            let out = svc::import_file(
                &mut open_store(db)?,
                &file,
                policy.as_deref(),
                &VexOptions { allow_unsigned },
                &settings(),
            )?;
            if json {
                print_json(&out)?;
            } else {
                println!(
                    "{} {} version {} by {} ({}): {} statement row(s)",
                    out.outcome,
                    out.document,
                    out.version,
                    out.author,
                    if out.trusted {
                        "signed, trusted"
                    } else {
                        "UNSIGNED, not trusted"
                    },
                    out.rows
                );
                for u in &out.unmatched {
                    eprintln!(
                        "warning: {u}: not a digest or package URL; this ledger cannot match it"
                    );
                }
            }
            Ok(0)
        }
        VexCommand::Sign { file, key, out } => {
            let signed = svc::sign(&file, &key, &settings())?;
            match out {
                Some(p) => {
                    buildledger_service::keys::write_envelope(&p, &signed.envelope)?;
                    if json {
                        print_json(&buildledger_service::keys::Attested {
                            envelope: p.clone(),
                            key_id: signed.key_id.clone(),
                        })?;
                    } else {
                        eprintln!(
                            "signed {} with key {} into {}",
                            file.display(),
                            signed.key_id,
                            p.display()
                        );
                    }
                }
                None => {
                    use std::io::Write as _;
                    let mut o = std::io::stdout().lock();
                    o.write_all(&signed.envelope)?;
                    o.write_all(b"\n")?;
                }
            }
            Ok(0)
        }
        VexCommand::List => {
            let docs = svc::list(&mut open_store(db)?)?;
            if json {
                print_json(&docs)?;
                return Ok(0);
            }
            let mut t = Table::new(&[
                "ID",
                "DOCUMENT",
                "VERSION",
                "AUTHOR",
                "TRUSTED",
                "STATEMENTS",
                "SUPERSEDED",
            ]);
            for d in &docs {
                t.row(vec![
                    d.id.to_string(),
                    d.document.clone(),
                    d.version.to_string(),
                    d.author.clone(),
                    if d.trusted { "yes" } else { "no" }.into(),
                    d.statements.to_string(),
                    d.superseded_by.map(|i| i.to_string()).unwrap_or_default(),
                ]);
            }
            t.print(Format::Table)?;
            Ok(0)
        }
    }
}
