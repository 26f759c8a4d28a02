//! `policy eval`, `policy test` and `posture`.

use std::path::PathBuf;

use buildledger_service::policy::{self as svc, Deployment, Policy};
use buildledger_service::posture::{self, PostureQuery};

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
    /// Run a policy against fixtures (`*.json`: an input document and the
    /// expected decision); without DIR, the built-in policy's own fixtures.
    /// Exit 3 when any fixture fails.
    Test {
        /// Directory of fixtures.
        dir: Option<PathBuf>,
        /// Extra policy files (.rego) (repeatable).
        #[arg(long = "policy-file")]
        policy_files: Vec<PathBuf>,
        /// Use the policy files instead of the built-in policy.
        #[arg(long)]
        replace: bool,
    },
}

impl PolicyCommand {
    /// Whether it needs a ledger.
    pub fn needs_ledger(&self) -> bool {
        matches!(self, PolicyCommand::Eval { .. })
    }
}

pub fn policy(db: &Option<String>, cmd: PolicyCommand, json: bool) -> Result<u8> {
    let (digest, env, namespace, cluster, policy_files, replace) = match cmd {
        PolicyCommand::Eval {
            digest,
            env,
            namespace,
            cluster,
            policy_files,
            replace,
        } => (digest, env, namespace, cluster, policy_files, replace),
        PolicyCommand::Test {
            dir,
            policy_files,
            replace,
        } => return test(dir, &policy_files, replace, json),
    };
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

fn test(dir: Option<PathBuf>, files: &[PathBuf], replace: bool, json: bool) -> Result<u8> {
    let p = Policy::load(files, replace, &settings())?;
    let results = svc::test(&p, dir.as_deref(), &settings())?;
    let failed = results.iter().filter(|r| !r.passed).count();
    if json {
        print_json(&results)?;
    } else {
        for r in &results {
            println!(
                "{} {}: {}",
                if r.passed { "ok  " } else { "FAIL" },
                r.fixture,
                r.description
            );
            for f in &r.failures {
                println!("       {f}");
            }
        }
        println!("{} passed, {failed} failed", results.len() - failed);
    }
    Ok(if failed > 0 { 3 } else { 0 })
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
    /// Recompute every decision, not only those whose inputs changed.
    #[arg(long)]
    full: bool,
    /// Only the workloads to stop: denied, outside production.
    #[arg(long)]
    stop_list: bool,
}

pub fn posture(db: &Option<String>, a: PostureArgs, json: bool) -> Result<u8> {
    let p = Policy::load(&a.policy_files, a.replace, &settings())?;
    if let Some(d) = a.decision.as_deref()
        && !matches!(d, "allow" | "warn" | "deny")
    {
        return Err(buildledger_service::Error::bad_field(
            "--decision",
            format!("{d:?}: expected allow, warn or deny"),
        )
        .into());
    }
    let (rows, refreshed) = posture::posture(
        &mut open_store(db)?,
        &p,
        &PostureQuery {
            env: a.env,
            decision: a.decision,
            full: a.full,
            stop_list: a.stop_list,
        },
        chrono::Utc::now(),
    )?;

    let summary = format!(
        "{} container(s); {} decision(s) computed ({})",
        rows.len(),
        refreshed.computed,
        if refreshed.full {
            "full refresh"
        } else {
            "incremental"
        }
    );
    if json {
        print_json(&rows)?;
        eprintln!("{summary}");
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
            // One rule can give several reasons (one per finding): name it once.
            r.reasons
                .iter()
                .map(|x| x.rule.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    t.print(Format::Table)?;
    eprintln!("{summary}");
    Ok(0)
}
