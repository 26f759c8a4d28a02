//! `alerts`: alerts from the posture, as the server's alert loop left them.

use crate::output::{Format, Table, print_json};
use crate::{Result, open_store};

#[derive(clap::Args)]
pub struct AlertsArgs {
    /// Only `firing` or only `resolved` alerts.
    #[arg(long)]
    state: Option<String>,
}

pub fn alerts(db: &Option<String>, a: AlertsArgs, json: bool) -> Result<u8> {
    let rows = buildledger_service::alerts::list(&mut open_store(db)?, a.state.as_deref())?;
    if json {
        print_json(&rows)?;
        return Ok(0);
    }
    let label = |r: &buildledger_service::types::AlertRow, k: &str| {
        r.labels
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let mut t = Table::new(&[
        "STATE", "SINCE", "ENV", "WORKLOAD", "RULE", "ADVISORY", "DIGEST",
    ]);
    for r in &rows {
        t.row(vec![
            r.state.clone(),
            r.ends_at.unwrap_or(r.starts_at).to_rfc3339(),
            label(r, "environment"),
            format!(
                "{}/{}/{}",
                label(r, "cluster"),
                label(r, "namespace"),
                label(r, "workload")
            ),
            label(r, "rule"),
            label(r, "advisory"),
            label(r, "digest"),
        ]);
    }
    t.print(Format::Table)?;
    Ok(0)
}
