//! `feed import`, `vulns`, `affected`, `changes`, `rematch`: flags to the
//! application layer's feed and finding use cases, and their results rendered.

use std::io::Write;
use std::path::PathBuf;

use buildledger_service::feeds::{self as svc, FeedIssue, ImportOptions, Phase};
use buildledger_service::reads;
use buildledger_service::types::ImageFinding;

use crate::output::{Table, print_json};
use crate::remote::{Remote, remote};
use crate::{Result, open_store, settings};

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

/// Counts on one terminal line (nothing when standard error is not a terminal).
struct Progress {
    tty: bool,
    last: std::time::Instant,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            last: std::time::Instant::now(),
            shown: false,
        }
    }

    fn show(&mut self, label: &str, n: usize) {
        if self.tty && self.last.elapsed().as_millis() > 100 {
            self.last = std::time::Instant::now();
            self.shown = true;
            let _ = write!(std::io::stderr(), "\r\x1b[K{label}: {n}");
        }
    }

    fn clear(&mut self) {
        if self.tty && self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

pub fn feed(db: &Option<String>, cmd: FeedCommand, json: bool) -> Result<u8> {
    match cmd {
        FeedCommand::Import {
            paths,
            format,
            strict,
        } => import(db, &paths, format, strict, json),
    }
}

fn import(
    db: &Option<String>,
    paths: &[PathBuf],
    format: String,
    strict: bool,
    json: bool,
) -> Result<u8> {
    let mut store = open_store(db)?;
    let mut bar = Progress::new();
    let opts = ImportOptions { format, strict };
    let res = svc::import(&mut store, paths, &opts, &settings(), &mut |phase, n| {
        let label = match phase {
            Phase::Reading => "reading",
            Phase::Importing => "importing",
        };
        bar.show(label, n)
    });
    bar.clear();
    let out = match res {
        Ok(out) => out,
        Err(e) => {
            // What a refused load passed over and rejected is still worth reading.
            if let Some(i) = e
                .detail
                .as_ref()
                .and_then(|d| serde_json::from_value::<Issues>(d.clone()).ok())
            {
                print_issues(&i.skipped, &i.rejected, &i.warnings);
            }
            return Err(e.into());
        }
    };
    print_issues(&out.skipped, &out.rejected, &out.warnings);
    let report = out.report.clone().unwrap_or_default();
    for c in &report.conflicts {
        eprintln!("warning: {c}");
    }
    if json {
        print_json(&out)?;
        return Ok(0);
    }
    println!(
        "{} advisories ({} new, {} changed, {} unchanged, {} withdrawn) in {:.2}s (read {:.2}s); findings +{} −{}; {} rejected, {} warnings, {} not read",
        report.advisories,
        report.new,
        report.changed,
        report.unchanged,
        report.withdrawn,
        out.seconds,
        out.read_seconds,
        report.findings_added,
        report.findings_removed,
        out.rejected.len() + report.conflicts.len(),
        out.warnings.len(),
        out.skipped.len(),
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
    Ok(0)
}

/// The issue lists of a [`svc::FeedImport`] that failed.
#[derive(serde::Deserialize)]
struct Issues {
    skipped: Vec<FeedIssue>,
    rejected: Vec<FeedIssue>,
    warnings: Vec<FeedIssue>,
}

fn print_issues(skipped: &[FeedIssue], rejected: &[FeedIssue], warnings: &[FeedIssue]) {
    for e in skipped {
        eprintln!("note: not read: {}", e.line());
    }
    for e in rejected {
        eprintln!("warning: skipped {}", e.line());
    }
    for e in warnings {
        eprintln!("warning: {}", e.line());
    }
}

pub fn rematch(db: &Option<String>, json: bool) -> Result<u8> {
    let mut store = open_store(db)?;
    let r = svc::rematch(&mut store, &mut |_| {})?;
    if json {
        print_json(&r)?;
    } else {
        println!(
            "re-evaluated {} advisories in {:.2}s: findings +{} −{}",
            r.report.advisories, r.seconds, r.report.findings_added, r.report.findings_removed
        );
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
        "SYMBOLS",
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
            // Go findings: is the vulnerable code in the binary (present,
            // absent) or can it not be told (unknown)? "-" for the rest.
            f.reachability
                .as_ref()
                .map_or_else(|| "-".to_string(), |r| r.state.clone()),
        ];
        if with_digest {
            r.insert(0, f.digest.clone());
        }
        t.row(r);
    }
    t.print(crate::output::Format::Table)?;
    // Waived findings stay listed; their waivers are said here.
    for f in rows {
        for w in &f.waivers {
            println!(
                "waived: {} on {} by waiver {} ({}{}, until {}): {}",
                f.advisory,
                f.purl,
                w.id,
                w.owner,
                w.environment
                    .as_deref()
                    .map(|e| format!(", in {e} only"))
                    .unwrap_or_default(),
                w.expires_at.to_rfc3339(),
                w.reason
            );
        }
    }
    // Which vulnerable symbols are in which binary, for present Go findings.
    for f in rows {
        if let Some(r) = f.reachability.as_ref().filter(|r| r.state == "present") {
            println!(
                "in the binary: {} on {}: {} ({})",
                f.advisory,
                f.purl,
                r.symbols.join(", "),
                r.binaries.join(", ")
            );
        }
    }
    Ok(())
}

pub fn vulns(db: &Option<String>, digest: &str, json: bool, fail: bool) -> Result<u8> {
    let d = reads::parse_digest(digest, "digest")?;
    let rows = match remote() {
        Some(r) => r.list(&format!("{}/vulns", Remote::image_path(&d)), &[], None)?,
        None => reads::vulns(&mut open_store(db)?, &d)?,
    };
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
    Ok(if fail && reads::has_vulnerabilities(&rows) {
        3
    } else {
        0
    })
}

/// `--limit` and `--cursor` of a list command.
pub struct PageArgs {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl PageArgs {
    /// The page size, checked: a page holds at least one item.
    fn limit(&self) -> Result<Option<usize>> {
        match self.limit {
            Some(0) => Err(buildledger_service::Error::bad_field(
                "--limit",
                "a page holds at least one item",
            )
            .into()),
            l => Ok(l),
        }
    }
}

fn server_position(kind: &str, c: &str) -> Result<String> {
    buildledger_service::cursor::decode(kind, c).ok_or_else(|| crate::CliError {
        code: 1,
        message: "the server gave a cursor that is not a position of this list".into(),
        detail: None,
    })
}

pub fn affected(db: &Option<String>, id: &str, page: PageArgs, json: bool) -> Result<u8> {
    use buildledger_service::cursor::{AFFECTED, encode};
    let path = format!("/api/v1/advisories/{}/affected", crate::remote::segment(id));
    let (rows, next) = match (remote(), page.limit()?) {
        (Some(r), None) => {
            // The server lists images in ledger order; the whole list is by digest.
            let mut rows: Vec<ImageFinding> = r.list(&path, &[], None)?;
            rows.sort_by(|a, b| {
                (&a.digest, &a.advisory, &a.purl).cmp(&(&b.digest, &b.advisory, &b.purl))
            });
            (rows, None)
        }
        (Some(r), Some(l)) => {
            let cursor = page.cursor.as_deref().map(|c| encode(AFFECTED, c.trim()));
            let (rows, next) = r.page(&path, &[], l, cursor)?;
            let next = match next {
                Some(c) => Some(server_position(AFFECTED, &c)?),
                None => None,
            };
            (rows, next)
        }
        (None, None) => (reads::affected(&mut open_store(db)?, id)?, None),
        (None, Some(l)) => {
            let p = reads::affected_page(&mut open_store(db)?, id, page.cursor.as_deref(), l)?;
            (p.findings, p.next)
        }
    };
    if json {
        print_json(&rows)?;
    } else {
        findings_table(&rows, true)?;
        let digests: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.digest.as_str()).collect();
        eprintln!(
            "{} image digest(s) affected by {id}{}",
            digests.len(),
            if next.is_some() { " on this page" } else { "" }
        );
    }
    if let Some(n) = &next {
        eprintln!("more: --cursor {n}");
    }
    Ok(0)
}

pub fn changes(db: &Option<String>, since: &str, page: PageArgs, json: bool) -> Result<u8> {
    use buildledger_service::cursor::{CHANGES, encode};
    // Bad input is bad input whether or not a ledger exists.
    let t = svc::parse_since(since)?;
    let q = [("since", since.to_string())];
    let (rows, next) = match (remote(), page.limit()?) {
        (Some(r), None) => (r.list("/api/v1/changes", &q, None)?, None),
        (Some(r), Some(l)) => {
            let cursor = page.cursor.as_deref().map(|c| encode(CHANGES, c.trim()));
            let (rows, next) = r.page("/api/v1/changes", &q, l, cursor)?;
            let next = match next {
                Some(c) => Some(server_position(CHANGES, &c)?),
                None => None,
            };
            (rows, next)
        }
        (None, None) => (reads::changes(&mut open_store(db)?, t)?, None),
        (None, Some(l)) => reads::changes_page(&mut open_store(db)?, t, page.cursor.as_deref(), l)?,
    };
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
                if c.more_digests {
                    format!("{}+", c.digests.len())
                } else {
                    c.digests.len().to_string()
                },
            ]);
        }
        t.print(crate::output::Format::Table)?;
    }
    if let Some(n) = &next {
        eprintln!("more: --cursor {n}");
    }
    Ok(0)
}
