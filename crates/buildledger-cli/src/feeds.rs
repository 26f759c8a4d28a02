//! `feed import`, `vulns`, `affected`, `changes`, `rematch`.

use std::io::Write;
use std::path::PathBuf;

use buildledger_model::Digest;
use buildledger_store::{ImageFinding, Store};

use crate::output::{Table, print_json};
use crate::{CliError, Result};

#[derive(clap::Subcommand)]
pub enum FeedCommand {
    /// Import advisories: OSV files, directories or .zip dumps, and Alpine secdb files.
    ///
    /// Only regular files are read, each within BUILDLEDGER_MAX_FEED_FILE_BYTES (default 16M);
    /// a zip dump within BUILDLEDGER_MAX_FEED_ZIP_BYTES uncompressed in all (default 4G) and
    /// BUILDLEDGER_MAX_FEED_ENTRIES entries (default 2000000, also the most files taken from
    /// one directory tree).
    Import {
        /// Files, directories or zip archives.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Feed format: auto (default: recognised per file), osv or alpine-secdb.
        #[arg(long, default_value = "auto")]
        format: String,
        /// All or nothing: when any record is rejected or warned about, import nothing and exit
        /// with code 2 (default: import the good records, report the rest, exit 0).
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
        } => import(store, &paths, &format, strict, json),
    }
}

/// The feed limits in effect (environment, else defaults).
fn feed_limits() -> Result<buildledger_feed::Limits> {
    let d = buildledger_feed::Limits::default();
    let bytes = |var: &str, default: u64| {
        buildledger_input::limit_from_env(var, default).map_err(CliError::input)
    };
    let entries = match std::env::var("BUILDLEDGER_MAX_FEED_ENTRIES") {
        Err(_) => d.entries,
        Ok(v) => v.trim().parse::<usize>().map_err(|_| {
            CliError::input(format!(
                "BUILDLEDGER_MAX_FEED_ENTRIES={v:?}: expected a number of entries, e.g. 100000"
            ))
        })?,
    };
    Ok(buildledger_feed::Limits {
        file_bytes: bytes("BUILDLEDGER_MAX_FEED_FILE_BYTES", d.file_bytes)?,
        zip_total_bytes: bytes("BUILDLEDGER_MAX_FEED_ZIP_BYTES", d.zip_total_bytes)?,
        entries,
        dir_depth: d.dir_depth,
    })
}

/// Which variable raises the limit a feed message reports, if any.
fn limit_hint(message: &str) -> &'static str {
    if message.contains("limit for one feed file")
        || message.contains("byte advisory limit")
        || message.contains("larger than the limit of")
    {
        " (raise it with BUILDLEDGER_MAX_FEED_FILE_BYTES)"
    } else if message.contains("limit for one zip") || message.contains("zip entry declares") {
        " (raise it with BUILDLEDGER_MAX_FEED_ZIP_BYTES, or BUILDLEDGER_MAX_FEED_FILE_BYTES for one entry)"
    } else if message.contains("entries, more than the") {
        " (raise it with BUILDLEDGER_MAX_FEED_ENTRIES)"
    } else {
        ""
    }
}

fn feed_line(e: &buildledger_feed::FeedError) -> String {
    format!(
        "{}{}: {}{}",
        e.location,
        e.id.as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default(),
        e.message,
        limit_hint(&e.message)
    )
}

fn feed_json(errors: &[buildledger_feed::FeedError]) -> Vec<serde_json::Value> {
    errors
        .iter()
        .map(|e| serde_json::json!({"location": e.location, "id": e.id, "message": e.message}))
        .collect()
}

fn import(
    store: &mut Store,
    paths: &[PathBuf],
    format: &str,
    strict: bool,
    json: bool,
) -> Result<u8> {
    let fmt = buildledger_feed::Format::parse(format).ok_or_else(|| {
        CliError::input(format!(
            "--format {format:?}: expected auto, osv or alpine-secdb"
        ))
    })?;
    let limits = feed_limits()?;
    let t0 = std::time::Instant::now();
    let mut prog = progress_line("reading".to_string());
    let rep = buildledger_feed::load_paths(paths, fmt, &limits, &mut prog).map_err(|e| {
        let m = e.to_string();
        CliError::input(format!("{m}{}", limit_hint(&m)))
    })?;
    clear_progress();
    let read = t0.elapsed();
    for e in &rep.skipped {
        eprintln!("note: not read: {}", feed_line(e));
    }
    for e in &rep.errors {
        eprintln!("warning: skipped {}", feed_line(e));
    }
    for e in &rep.warnings {
        eprintln!("warning: {}", feed_line(e));
    }
    if rep.advisories.is_empty() && rep.errors.is_empty() && rep.skipped.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(CliError::input(format!(
            "no advisories read: no feed file found in {}",
            names.join(", ")
        )));
    }
    if rep.advisories.is_empty() && rep.errors.is_empty() && !rep.skipped.is_empty() {
        // Nothing was a feed file: say which files were passed over, and why, rather than
        // report an empty import.
        let names: Vec<String> = rep.skipped.iter().take(5).map(feed_line).collect();
        let more = rep.skipped.len().saturating_sub(5);
        return Err(CliError::input(format!(
            "no advisories read (--format {format}); {} file(s) not read: {}{}",
            rep.skipped.len(),
            names.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        )));
    }
    if strict && !(rep.errors.is_empty() && rep.warnings.is_empty()) {
        let msg = format!(
            "--strict: {} record(s) rejected and {} warning(s); nothing imported",
            rep.errors.len(),
            rep.warnings.len()
        );
        if json {
            print_json(&serde_json::json!({
                "imported": false,
                "rejected": feed_json(&rep.errors),
                "warnings": feed_json(&rep.warnings),
                "skipped": feed_json(&rep.skipped),
            }))?;
        }
        return Err(CliError::input(msg));
    }
    let mut prog = progress_line("importing".to_string());
    let report = buildledger_rules::import_scoped(store, &rep.advisories, &rep.scopes, &mut prog)
        .map_err(|e| CliError::runtime(e.to_string()))?;
    clear_progress();
    for c in &report.conflicts {
        eprintln!("warning: {c}");
    }
    if json {
        print_json(&serde_json::json!({
            "report": report,
            "rejected": feed_json(&rep.errors),
            "warnings": feed_json(&rep.warnings),
            "skipped": feed_json(&rep.skipped),
            "scopes": rep.scopes,
            "seconds": t0.elapsed().as_secs_f64(),
        }))?;
    } else {
        println!(
            "{} advisories ({} new, {} changed, {} unchanged, {} withdrawn) in {:.2}s (read {:.2}s); findings +{} −{}; {} rejected, {} warnings, {} not read",
            report.advisories,
            report.new,
            report.changed,
            report.unchanged,
            report.withdrawn,
            t0.elapsed().as_secs_f64(),
            read.as_secs_f64(),
            report.findings_added,
            report.findings_removed,
            rep.errors.len() + report.conflicts.len(),
            rep.warnings.len(),
            rep.skipped.len(),
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
    Ok(0)
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

/// RFC 3339, a date, or a relative span like `15m`, `24h`, `7d` back from
/// now. Anything else, or a span too large to subtract from now, is bad
/// input naming the flag (never an overflow).
pub(crate) fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    parse_since_at(s, chrono::Utc::now())
}

fn parse_since_at(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>> {
    let bad = |why: &str| CliError::input(format!("--since {s:?}: {why}"));
    let t = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&chrono::Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)
            .ok_or_else(|| bad("not a valid date"))?
            .and_utc()
    } else {
        // The unit is the last character, whatever its width in bytes.
        let Some((at, unit)) = s.char_indices().next_back() else {
            return Err(bad("expected RFC 3339, YYYY-MM-DD, or N[smhd]"));
        };
        let num = &s[..at];
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected RFC 3339, YYYY-MM-DD, or N[smhd]"));
        }
        let per: i64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad("unit must be s, m, h or d")),
        };
        let too_far = || bad("span too large (it reaches past the earliest representable time)");
        let n: i64 = num.parse().map_err(|_| too_far())?;
        let secs = n.checked_mul(per).ok_or_else(too_far)?;
        let span = chrono::TimeDelta::try_seconds(secs).ok_or_else(too_far)?;
        now.checked_sub_signed(span).ok_or_else(too_far)?
    };
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_spans_are_checked() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_since_at("1d", now).unwrap().to_rfc3339(),
            "2025-12-31T00:00:00+00:00"
        );
        assert!(parse_since_at("2026-01-01", now).is_ok());
        for bad in [
            "9999999999999999d",
            "99999999999999999999s",
            "106751991167300d",
            "5é",
            "é",
            "",
            "-5d",
            "+5d",
            "5",
            "d",
            "5w",
        ] {
            let e = parse_since_at(bad, now).unwrap_err();
            assert_eq!(e.code, 2, "{bad:?}");
            assert!(e.message.contains("--since"), "{bad:?}: {}", e.message);
        }
    }
}
