//! `feed import`, `vulns`, `affected`, `changes`, `rematch`.

use std::io::Write;
use std::path::PathBuf;

use buildledger_model::Digest;
use buildledger_store::{ImageFinding, Store};

use crate::output::{Table, print_json};
use crate::{CliError, Result};

#[derive(clap::Subcommand)]
pub enum FeedCommand {
    /// Import advisories: OSV files, directories or .zip dumps, or Alpine secdb files.
    Import {
        /// Files, directories or zip archives.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Feed format: osv (default) or alpine-secdb.
        #[arg(long, default_value = "osv")]
        format: String,
        /// Exit with code 2 when any advisory was rejected (default: report and go on).
        #[arg(long)]
        strict: bool,
    },
}

fn progress_line(label: String) -> impl FnMut(usize) {
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let label = label.to_string();
    let mut last = std::time::Instant::now();
    move |n: usize| {
        if tty && last.elapsed().as_millis() > 100 {
            last = std::time::Instant::now();
            let _ = write!(std::io::stderr(), "\r{label}: {n}");
        }
    }
}

fn clear_progress() {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
}

pub fn feed(store: &mut Store, cmd: FeedCommand, json: bool) -> Result<u8> {
    match cmd {
        FeedCommand::Import {
            paths,
            format,
            strict,
        } => {
            let mut advisories = Vec::new();
            let mut errors = Vec::new();
            let t0 = std::time::Instant::now();
            for p in &paths {
                let mut prog = progress_line(format!("reading {}", p.display()));
                let rep = match format.as_str() {
                    "osv" => buildledger_feed::load_osv_path(p, &mut prog),
                    "alpine-secdb" => buildledger_feed::load_alpine_secdb(p),
                    other => {
                        return Err(CliError::input(format!(
                            "--format {other:?}: expected osv or alpine-secdb"
                        )));
                    }
                }
                .map_err(|e| CliError::input(format!("{}: {e}", p.display())))?;
                clear_progress();
                advisories.extend(rep.advisories);
                errors.extend(rep.errors);
            }
            let read = t0.elapsed();
            let mut prog = progress_line("importing".to_string());
            let report = buildledger_rules::import(store, &advisories, &mut prog)
                .map_err(|e| CliError::runtime(e.to_string()))?;
            clear_progress();
            for e in &errors {
                eprintln!(
                    "warning: skipped {}{}: {}",
                    e.location,
                    e.id.as_deref()
                        .map(|i| format!(" ({i})"))
                        .unwrap_or_default(),
                    e.message
                );
            }
            if json {
                let errs: Vec<_> = errors
                    .iter()
                    .map(|e| serde_json::json!({"location": e.location, "id": e.id, "message": e.message}))
                    .collect();
                print_json(
                    &serde_json::json!({"report": report, "rejected": errs, "seconds": t0.elapsed().as_secs_f64()}),
                )?;
            } else {
                println!(
                    "{} advisories ({} new, {} changed, {} unchanged, {} withdrawn) in {:.2}s (read {:.2}s); findings +{} −{}; {} rejected",
                    report.advisories,
                    report.new,
                    report.changed,
                    report.unchanged,
                    report.withdrawn,
                    t0.elapsed().as_secs_f64(),
                    read.as_secs_f64(),
                    report.findings_added,
                    report.findings_removed,
                    errors.len()
                );
                if report.unevaluated_git > 0 {
                    println!(
                        "{} GIT-only ranges stored but not evaluated",
                        report.unevaluated_git
                    );
                }
                for (eco, n) in &report.unsupported_ecosystems {
                    println!("{n} affected entries in unsupported ecosystem {eco:?}");
                }
            }
            Ok(if strict && !errors.is_empty() { 2 } else { 0 })
        }
    }
}

fn findings_table(rows: &[ImageFinding], with_digest: bool) -> Result<()> {
    let mut header = vec![
        "ADVISORY",
        "ALIASES",
        "KIND",
        "COMPONENT",
        "INSTALLED",
        "FIXED",
        "SCORE",
        "TRUST",
    ];
    if with_digest {
        header.insert(0, "DIGEST");
    }
    let mut t = Table::new(&header);
    for f in rows {
        let pkg = f.purl.split('@').next().unwrap_or(&f.purl).to_string();
        let mut r = vec![
            f.advisory.clone(),
            f.aliases
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            f.kind.clone(),
            pkg,
            f.installed.clone(),
            f.fixed.clone().unwrap_or_else(|| "-".into()),
            f.score.clone().unwrap_or_default(),
            f.trust.clone(),
        ];
        if with_digest {
            r.insert(0, f.digest.clone());
        }
        t.row(r);
    }
    t.print(crate::output::Format::Table)?;
    Ok(())
}

pub fn vulns(store: &mut Store, digest: &str, json: bool, fail: bool) -> Result<u8> {
    let d = Digest::parse(digest).map_err(|e| CliError::input(format!("digest: {}", e.message)))?;
    if store.show(&d)?.is_none() {
        return Err(CliError::runtime(format!(
            "{d} is not in the ledger ({})",
            store.target()
        )));
    }
    let rows = store.vulns(d.as_str())?;
    if json {
        print_json(&rows)?;
    } else {
        let (tool, vuln): (Vec<_>, Vec<_>) =
            rows.iter().cloned().partition(|f| f.kind == "toolchain");
        findings_table(&vuln, false)?;
        if !tool.is_empty() {
            println!("\nToolchain advisories (how it was built, not what it contains):");
            findings_table(&tool, false)?;
        }
        eprintln!("{} finding(s) for {d}", rows.len());
    }
    Ok(if fail && rows.iter().any(|f| f.kind == "vuln") {
        3
    } else {
        0
    })
}

pub fn affected(store: &mut Store, id: &str, json: bool) -> Result<u8> {
    let Some(rows) = store.affected(id)? else {
        return Err(CliError::runtime(format!(
            "no advisory has id or alias {id:?}"
        )));
    };
    if json {
        print_json(&rows)?;
    } else {
        findings_table(&rows, true)?;
        let digests: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.digest.as_str()).collect();
        eprintln!("{} image digest(s) affected by {id}", digests.len());
    }
    Ok(0)
}

pub fn changes(store: &mut Store, since: &str, json: bool) -> Result<u8> {
    let t = parse_since(since)?;
    let rows = store.changes_since(t.timestamp_millis())?;
    if json {
        print_json(&rows)?;
    } else {
        let mut t = Table::new(&[
            "AT",
            "CHANGE",
            "ADVISORY",
            "KIND",
            "COMPONENT",
            "FIXED",
            "IMAGES",
        ]);
        for c in &rows {
            t.row(vec![
                c.at.to_rfc3339(),
                c.change.clone(),
                c.advisory.clone(),
                c.kind.clone(),
                c.purl.clone(),
                c.fixed.clone().unwrap_or_else(|| "-".into()),
                c.digests.len().to_string(),
            ]);
        }
        t.print(crate::output::Format::Table)?;
    }
    Ok(0)
}

/// RFC 3339, a date, or a relative span like `15m`, `24h`, `7d`.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| {
        CliError::input(format!(
            "--since {s:?}: expected RFC 3339, YYYY-MM-DD, or N[smhd]"
        ))
    })?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => {
            return Err(CliError::input(format!(
                "--since {s:?}: unit must be s, m, h or d"
            )));
        }
    };
    Ok(chrono::Utc::now() - chrono::Duration::seconds(secs))
}
