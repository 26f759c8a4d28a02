//! `policy eval` and `posture`.

use std::path::PathBuf;

use buildledger_service::policy::{self as svc, Deployment, Policy};

use crate::output::{Format, Table, print_json};
use crate::{Result, open_store, settings};

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Decide for one image in one environment; print the input and the decision.
    Eval {
        /// Image digest.
        #[arg(long)]
        digest: String,
        /// Environment (production, staging, …).
        #[arg(long)]
        env: String,
        /// Namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// Cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// Extra policy files (.rego) defining data.buildledger.result (repeatable).
        #[arg(long = "policy-file")]
        policy_files: Vec<PathBuf>,
        /// Use the policy files instead of the built-in policy.
        #[arg(long)]
        replace: bool,
    },
}

pub fn policy(db: &Option<String>, cmd: PolicyCommand, json: bool) -> Result<u8> {
    let PolicyCommand::Eval {
        digest,
        env,
        namespace,
        cluster,
        policy_files,
        replace,
    } = cmd;
    let d = buildledger_service::reads::parse_digest(&digest, "--digest")?;
    let p = Policy::load(&policy_files, replace, &settings())?;
    let dep = Deployment {
        cluster,
        namespace,
        workload: None,
        environment: Some(env),
    };
    let out = svc::eval(&mut open_store(db)?, &p, &d, dep)?;
    if json {
        print_json(&out)?;
    } else {
        println!("{}", out.decision);
        for r in &out.reasons {
            println!("  {}: {}", r.rule, r.message);
        }
    }
    Ok(0)
}

#[derive(clap::Args)]
pub struct PostureArgs {
    /// Only this environment.
    #[arg(long)]
    env: Option<String>,
    /// Only this decision (allow, warn, deny).
    #[arg(long)]
    decision: Option<String>,
    /// Extra policy files (.rego) (repeatable).
    #[arg(long = "policy-file")]
    policy_files: Vec<PathBuf>,
    /// Use the policy files instead of the built-in policy.
    #[arg(long)]
    replace: bool,
}

pub fn posture(db: &Option<String>, a: PostureArgs, json: bool) -> Result<u8> {
    let p = Policy::load(&a.policy_files, a.replace, &settings())?;
    let rows = svc::posture(
        &mut open_store(db)?,
        &p,
        a.env.as_deref(),
        a.decision.as_deref(),
    )?;
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
        "DECISION",
        "REASONS",
    ]);
    for r in &rows {
        t.row(vec![
            r.cluster.clone(),
            r.environment.clone().unwrap_or_default(),
            r.namespace.clone(),
            r.workload.clone(),
            r.container.clone(),
            r.decision.clone(),
            r.reasons
                .iter()
                .map(|x| x.rule.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    t.print(Format::Table)?;
    Ok(0)
}
