//! `admission manifest`: the ValidatingWebhookConfiguration that sends a
//! cluster's AdmissionReviews to `buildledger serve`.

use std::path::PathBuf;

use buildledger_service::admission::{self as svc, ManifestOptions};

use crate::output::print_json;
use crate::{Result, settings};

#[derive(clap::Subcommand)]
pub enum AdmissionCommand {
    /// Print a ValidatingWebhookConfiguration (JSON, for `kubectl apply -f
    /// -`): one webhook per environment, namespaces chosen by their
    /// environment label, kube-system and the server's own namespace left
    /// out; production fails open.
    Manifest {
        /// The Service in front of `buildledger serve`.
        #[arg(long)]
        service: String,
        /// Its namespace (never sent to the webhook).
        #[arg(long)]
        namespace: String,
        /// The PEM CA bundle that signed the server's certificate.
        #[arg(long)]
        ca_bundle: PathBuf,
        /// The Service's port.
        #[arg(long, default_value_t = 443)]
        port: u16,
        /// An environment with its own webhook (repeat; default production and staging).
        #[arg(long = "env")]
        envs: Vec<String>,
        /// The cluster, named in each webhook's path.
        #[arg(long)]
        cluster: Option<String>,
        /// An environment whose webhook fails closed when the server does
        /// not answer (repeat; never production).
        #[arg(long)]
        fail_closed: Vec<String>,
        /// The API server's deadline for one call (1 to 30).
        #[arg(long, default_value_t = 5)]
        timeout_seconds: u32,
        /// The namespace label that names an environment.
        #[arg(long, default_value = buildledger_service::inventory::DEFAULT_ENV_LABEL)]
        env_label: String,
        /// The configuration's name.
        #[arg(long, default_value = "buildledger")]
        name: String,
    },
}

pub fn admission(cmd: AdmissionCommand) -> Result<u8> {
    match cmd {
        AdmissionCommand::Manifest {
            service,
            namespace,
            ca_bundle,
            port,
            envs,
            cluster,
            fail_closed,
            timeout_seconds,
            env_label,
            name,
        } => {
            let ca = settings().read(&ca_bundle, buildledger_service::limits::CA_BUNDLE)?;
            let m = svc::manifest(&ManifestOptions {
                name,
                service,
                namespace,
                port,
                ca_bundle: ca,
                environments: if envs.is_empty() {
                    vec!["production".into(), "staging".into()]
                } else {
                    envs
                },
                cluster,
                fail_closed,
                timeout_seconds,
                env_label,
            })?;
            print_json(&m)?;
            Ok(0)
        }
    }
}
