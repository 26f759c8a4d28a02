//! `inventory report` and `inventory list`: cluster snapshots in, which
//! digests run where out.

use std::path::PathBuf;

use buildledger_service::inventory::{self as svc, Environments};

use crate::output::{Format, Table, print_json};
use crate::{CliError, Result, open_store, settings};

#[derive(clap::Subcommand)]
pub enum InventoryCommand {
    /// Record a cluster's snapshot (replacing its previous one): the JSON of
    /// `kubectl get pods -A -o json` and `kubectl get ns -o json`.
    Report {
        /// Cluster name.
        #[arg(long)]
        cluster: String,
        /// PodList (or a List of pods and namespaces) as kubectl prints it ("-": standard input).
        #[arg(long)]
        pods: PathBuf,
        /// NamespaceList, for environments from namespace labels.
        #[arg(long)]
        namespaces: Option<PathBuf>,
        /// The namespace label that names the environment (default buildledger.dev/environment).
        #[arg(long)]
        env_label: Option<String>,
        /// NAMESPACE=ENVIRONMENT for namespaces without the label (repeatable).
        #[arg(long = "env")]
        env_map: Vec<String>,
    },
    /// Which digests run where.
    List {
        /// Only this cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// Only this digest.
        #[arg(long)]
        digest: Option<String>,
    },
}

pub fn inventory(db: &Option<String>, cmd: InventoryCommand, json: bool) -> Result<u8> {
    match cmd {
        InventoryCommand::Report {
            cluster,
            pods,
            namespaces,
            env_label,
            env_map,
        } => {
            let settings = settings();
            let mut docs = Vec::new();
            for (flag, path) in [("--pods", Some(pods)), ("--namespaces", namespaces)] {
                let Some(p) = path else { continue };
                let bytes = settings
                    .read(&p, buildledger_service::limits::INVENTORY)
                    .map_err(|e| CliError::input(format!("{flag} {}", e.message)))?;
                docs.push((bytes, p.display().to_string()));
            }
            let mut envs = Environments {
                env_label,
                env_map: Default::default(),
            };
            for m in env_map {
                let (ns, env) = m.split_once('=').ok_or_else(|| {
                    CliError::input(format!("--env {m:?}: expected NAMESPACE=ENVIRONMENT"))
                })?;
                envs.env_map.insert(ns.to_string(), env.to_string());
            }
            let r = match crate::remote::remote() {
                Some(remote) => {
                    // One List of every object, as `kubectl get pods,ns -o json` prints.
                    let mut items = Vec::new();
                    for (bytes, name) in &docs {
                        let v: serde_json::Value = serde_json::from_slice(bytes)
                            .map_err(|e| CliError::input(format!("{name}: not JSON: {e}")))?;
                        match v.get("items").and_then(|i| i.as_array()) {
                            Some(list) => items.extend(list.iter().cloned()),
                            None => items.push(v),
                        }
                    }
                    let body =
                        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
                    remote.post(
                        &format!("/api/v1/inventory/{}", crate::remote::segment(&cluster)),
                        &[],
                        serde_json::to_vec(&body).unwrap_or_default(),
                    )?
                }
                None => svc::report(&mut open_store(db)?, &cluster, &docs, &envs)?,
            };
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "{}: {} pods, {} containers ({} resolved to a digest); +{} −{} since the last snapshot",
                    r.cluster, r.pods, r.containers, r.resolved, r.delta.added, r.delta.removed
                );
                for u in &r.unresolved {
                    eprintln!("note: unresolved (no digest reported, tag not in the ledger): {u}");
                }
            }
            Ok(0)
        }
        InventoryCommand::List { cluster, digest } => {
            let d = match &digest {
                Some(d) => Some(buildledger_service::reads::parse_digest(d, "--digest")?),
                None => None,
            };
            let rows = match crate::remote::remote() {
                Some(r) => {
                    let mut q: Vec<(&str, String)> = Vec::new();
                    if let Some(c) = &cluster {
                        q.push(("cluster", c.clone()));
                    }
                    if let Some(d) = &d {
                        q.push(("digest", d.to_string()));
                    }
                    r.list("/api/v1/inventory", &q, None)?
                }
                None => svc::list(&mut open_store(db)?, cluster.as_deref(), d.as_ref())?,
            };
            if json {
                print_json(&rows)?;
                return Ok(0);
            }
            let mut t = Table::new(&[
                "CLUSTER",
                "ENV",
                "NAMESPACE",
                "WORKLOAD",
                "CONTAINER",
                "DIGEST",
                "IMAGE",
            ]);
            for r in &rows {
                t.row(vec![
                    r.cluster.clone(),
                    r.environment.clone().unwrap_or_default(),
                    r.namespace.clone(),
                    format!("{}/{}", r.workload_kind, r.workload_name),
                    if r.container_kind == "container" {
                        r.container.clone()
                    } else {
                        format!("{} ({})", r.container, r.container_kind)
                    },
                    r.digest.clone().unwrap_or_else(|| "(unresolved)".into()),
                    r.image.clone(),
                ]);
            }
            t.print(Format::Table)?;
            Ok(0)
        }
    }
}
