//! Tables, CSV and JSON on standard output.

use std::io::Write;

use buildledger_store::ImageView;
use serde::Serialize;

/// Output format of tabular commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// RFC 4180 CSV.
    Csv,
    /// JSON array.
    Json,
}

/// Pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(v: &T) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)
}

/// A table of strings.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, r: Vec<String>) {
        self.rows.push(r);
    }

    pub fn print(&self, format: Format) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            Format::Csv => {
                for r in std::iter::once(&self.header).chain(&self.rows) {
                    let line: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
                    writeln!(out, "{}", line.join(","))?;
                }
            }
            Format::Json => {
                let v: Vec<serde_json::Map<String, serde_json::Value>> = self
                    .rows
                    .iter()
                    .map(|r| {
                        self.header
                            .iter()
                            .zip(r)
                            .map(|(h, f)| {
                                (h.to_ascii_lowercase(), serde_json::Value::String(f.clone()))
                            })
                            .collect()
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            }
            Format::Table => {
                let mut w: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
                for r in &self.rows {
                    for (i, f) in r.iter().enumerate() {
                        w[i] = w[i].max(f.chars().count());
                    }
                }
                for r in std::iter::once(&self.header).chain(&self.rows) {
                    let mut line = String::new();
                    for (i, f) in r.iter().enumerate() {
                        if i + 1 == r.len() {
                            line.push_str(f);
                        } else {
                            line.push_str(&format!("{f:<width$}  ", width = w[i]));
                        }
                    }
                    writeln!(out, "{}", line.trim_end())?;
                }
            }
        }
        Ok(())
    }
}

/// Quote a CSV field when it needs it (RFC 4180).
pub fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// A human summary of one image.
pub fn print_image(v: &ImageView) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", v.digest)?;
    if let Some(mt) = &v.media_type {
        writeln!(out, "  media type:  {mt}")?;
    }
    writeln!(out, "  first seen:  {}", v.first_seen.to_rfc3339())?;
    if !v.references.is_empty() {
        writeln!(out, "  references:  {}", v.references.join(", "))?;
    }
    for m in &v.manifests {
        writeln!(
            out,
            "  manifest:    {} {}",
            m.digest,
            m.platform.as_deref().unwrap_or("")
        )?;
    }
    for i in &v.indexes {
        writeln!(
            out,
            "  in index:    {} {}",
            i.digest,
            i.platform.as_deref().unwrap_or("")
        )?;
    }
    for u in &v.used_by {
        writeln!(
            out,
            "  used as {} image by record {} ({})",
            u.role,
            u.record_id,
            u.subjects.join(", ")
        )?;
    }
    for c in &v.conflicts {
        writeln!(out, "  CONFLICT on {}:", c.field)?;
        for claim in &c.claims {
            writeln!(
                out,
                "    {} claimed by record(s) {} ({})",
                claim.value,
                crate::join_ids(&claim.records),
                claim.origins.join(", ")
            )?;
        }
    }
    for r in &v.records {
        let rec = &r.record;
        writeln!(out)?;
        writeln!(
            out,
            "  record {} · {} · {}{} · recorded {}",
            r.id,
            rec.origin.as_str(),
            rec.trust.state.as_str(),
            rec.trust
                .key_id
                .as_deref()
                .map(|k| format!(" by key {}", &k[..k.len().min(16)]))
                .unwrap_or_default(),
            rec.record_time.map(|t| t.to_rfc3339()).unwrap_or_default()
        )?;
        if let Some(s) = &rec.source {
            writeln!(
                out,
                "    source:     {} {}{}{}",
                s.repo.as_deref().unwrap_or("-"),
                s.commit.as_deref().unwrap_or("-"),
                s.tag
                    .as_deref()
                    .map(|t| format!(" (tag {t})"))
                    .unwrap_or_default(),
                if s.dirty == Some(true) { " DIRTY" } else { "" }
            )?;
        }
        if let Some(b) = &rec.builder {
            writeln!(
                out,
                "    builder:    {} {}",
                b.id,
                b.version.as_deref().unwrap_or("")
            )?;
        }
        if let Some(t) = rec.build_time {
            writeln!(out, "    built:      {}", t.to_rfc3339())?;
        }
        for i in &rec.images {
            writeln!(
                out,
                "    {} image: {} {}",
                i.role.as_str(),
                i.digest,
                i.reference.as_deref().unwrap_or("")
            )?;
        }
        if !rec.toolchains.is_empty() {
            let t: Vec<String> = rec.toolchains.iter().map(|t| t.to_string()).collect();
            writeln!(out, "    toolchains: {}", t.join(", "))?;
        }
        if !rec.languages.is_empty() {
            writeln!(out, "    languages:  {}", rec.languages.join(", "))?;
        }
        for a in &rec.apis {
            writeln!(
                out,
                "    api:        {} {} {} [{}]",
                a.kind.as_str(),
                a.name,
                a.version.as_deref().unwrap_or(""),
                a.stability
            )?;
        }
        if !rec.components.is_empty() {
            writeln!(out, "    components: {}", rec.components.len())?;
            for c in &rec.components {
                let scope = if c.scope == buildledger_model::Scope::Build {
                    " (build)"
                } else {
                    ""
                };
                writeln!(out, "      {}{scope}", c.purl)?;
            }
        }
        for (k, val) in &rec.labels {
            writeln!(out, "    label:      {k}={val}")?;
        }
    }
    Ok(())
}
