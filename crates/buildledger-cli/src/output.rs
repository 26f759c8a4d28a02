//! Tables, CSV and JSON on standard output, and the two rules every byte
//! this program shows obeys:
//!
//! - **No raw control characters.** Stored strings are attacker-controlled
//!   (record files, attestations, SBOMs, feeds, image contents). [`escape`]
//!   turns C0/C1 controls, DEL, and invisible or bidirectional format
//!   characters (U+202E …) into visible `\x1b` / `\u{202e}` escapes; every
//!   human-readable renderer (tables, CSV, `show`, messages) uses it. JSON
//!   output stays JSON: serde_json escapes C0, and [`print_json`] also
//!   writes C1 and format characters as `\uXXXX` (the same string, decoded).
//! - **A closed standard output ends output quietly.** [`stdout`] swallows
//!   `EPIPE`: once the reader has gone (`buildledger table | head`) nothing
//!   more is written, no error is printed, and the command finishes and
//!   exits with the code it would have returned (0, or 3 when a check
//!   matched): a write command is not cut off half-way, and a CI gate does
//!   not turn green because its output was truncated. The crate's
//!   `println!`/`eprintln!` (main.rs) write through [`line`] for the same
//!   reason.

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use buildledger_service::types::ImageView;
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

/// Whether a character is escaped for display: C0 and C1 controls and DEL
/// (`char::is_control`), and the invisible format characters that reorder
/// or hide text: bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), marks (U+200E, U+200F, U+061C), zero-width characters
/// (U+200B–U+200D, U+2060–U+2064, U+FEFF), line and paragraph separators
/// (U+2028, U+2029), interlinear annotations (U+FFF9–U+FFFB) and tag
/// characters (U+E0000–U+E007F).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}')
}

/// `s` made safe to show on a terminal: every [`is_unsafe_char`] becomes a
/// visible escape (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`); everything else,
/// backslashes included, is unchanged. Borrowed when nothing needed escaping.
/// The one function for this: renderers, messages and the crate's
/// `println!`/`eprintln!` all use it.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_but(s, |_| false)
}

/// [`escape`], keeping the characters `keep` accepts (line output keeps
/// `\n` and `\t` of its own format strings).
fn escape_but(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe_char(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe_char(c) || keep(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// Set once standard output has been closed by its reader.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether the reader of standard output has gone.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Standard output, locked, with `EPIPE` swallowed (see the module doc):
/// after the first broken pipe every write succeeds without writing.
pub struct Stdout(std::io::StdoutLock<'static>);

/// The standard output every command writes to.
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if stdout_closed() {
            return Ok(buf.len());
        }
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            r => r,
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if stdout_closed() {
            return Ok(());
        }
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            r => r,
        }
    }
}

/// One line of text for people, escaped (its own `\n` and `\t` kept), on
/// standard output or standard error. What the crate's `println!` and
/// `eprintln!` expand to. Never fails and never panics: a closed stdout is
/// swallowed as in [`stdout`], and a failed write to stderr has nowhere to
/// be reported.
pub fn line(to_stderr: bool, newline: bool, args: std::fmt::Arguments<'_>) {
    let text = match args.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(args.to_string()),
    };
    let text = escape_but(&text, |c| c == '\n' || c == '\t');
    let nl = if newline { "\n" } else { "" };
    if to_stderr {
        let _ = write!(std::io::stderr().lock(), "{text}{nl}");
    } else {
        let _ = write!(stdout(), "{text}{nl}");
    }
}

/// Pretty JSON on stdout; C1 controls and the format characters of
/// [`is_unsafe_char`] are written as `\uXXXX` escapes (serde_json already
/// escapes C0), so the document means the same and shows nothing raw.
pub fn print_json<T: Serialize + ?Sized>(v: &T) -> std::io::Result<()> {
    let mut out = stdout();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        SafeJson(serde_json::ser::PrettyFormatter::new()),
    );
    v.serialize(&mut ser).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// Bytes this program made itself (a signed envelope) on standard output,
/// as they are, and a newline.
pub fn write_raw(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = stdout();
    out.write_all(bytes)?;
    writeln!(out)
}

/// serde_json's pretty formatter, with unsafe characters in strings escaped.
struct SafeJson<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for SafeJson<'_> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| is_unsafe_char(c)) {
            w.write_all(&rest.as_bytes()[..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(w, "\\u{u:04x}")?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
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
        let mut out = stdout();
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
                drop(out);
                print_json(&v)?;
            }
            Format::Table => {
                let cells: Vec<Vec<Cow<'_, str>>> = std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| r.iter().map(|f| escape(f)).collect())
                    .collect();
                let mut w: Vec<usize> = Vec::new();
                for r in &cells {
                    for (i, f) in r.iter().enumerate() {
                        let n = f.chars().count().min(MAX_ALIGN);
                        match w.get_mut(i) {
                            Some(x) => *x = (*x).max(n),
                            None => w.push(n),
                        }
                    }
                }
                let mut line = String::new();
                for r in &cells {
                    line.clear();
                    for (i, f) in r.iter().enumerate() {
                        line.push_str(f);
                        if i + 1 < r.len() {
                            // Padding by hand: `{:<width$}` panics past u16::MAX.
                            let n = f.chars().count();
                            line.extend(std::iter::repeat_n(' ', w[i].saturating_sub(n) + 2));
                        }
                    }
                    writeln!(out, "{}", line.trim_end())?;
                }
            }
        }
        Ok(())
    }
}

/// Columns are aligned up to this many characters; a longer cell is shown
/// whole and pushes the rest of its row to the right (one huge value must not
/// pad every other row to its width).
const MAX_ALIGN: usize = 100;

/// A CSV field: escaped for display ([`escape`]: so no raw newline either),
/// then quoted when it needs it (RFC 4180).
pub fn csv_field(f: &str) -> String {
    let f = escape(f);
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.into_owned()
    }
}

/// A human summary of one image. Every stored string goes through
/// [`escape`] (via `e`); the format strings are the only raw text.
pub fn print_image(v: &ImageView) -> std::io::Result<()> {
    fn e(s: &str) -> Cow<'_, str> {
        escape(s)
    }
    fn list(items: impl IntoIterator<Item = impl AsRef<str>>, sep: &str) -> String {
        items
            .into_iter()
            .map(|s| escape(s.as_ref()).into_owned())
            .collect::<Vec<_>>()
            .join(sep)
    }
    let mut out = stdout();
    writeln!(out, "{}", e(v.digest.as_str()))?;
    if let Some(mt) = &v.media_type {
        writeln!(out, "  media type:  {}", e(mt))?;
    }
    writeln!(out, "  first seen:  {}", v.first_seen.to_rfc3339())?;
    if !v.references.is_empty() {
        writeln!(out, "  references:  {}", list(&v.references, ", "))?;
    }
    for m in &v.manifests {
        writeln!(
            out,
            "  manifest:    {} {}",
            e(m.digest.as_str()),
            e(m.platform.as_deref().unwrap_or(""))
        )?;
    }
    for i in &v.indexes {
        writeln!(
            out,
            "  in index:    {} {}",
            e(i.digest.as_str()),
            e(i.platform.as_deref().unwrap_or(""))
        )?;
    }
    for u in &v.used_by {
        writeln!(
            out,
            "  used as {} image by record {} ({})",
            e(u.role.as_str()),
            u.record_id,
            list(&u.subjects, ", ")
        )?;
    }
    for c in &v.conflicts {
        writeln!(out, "  CONFLICT on {}:", e(c.field.as_str()))?;
        for claim in &c.claims {
            writeln!(
                out,
                "    {} claimed by record(s) {} ({})",
                e(claim.value.as_str()),
                crate::join_ids(&claim.records),
                list(&claim.origins, ", ")
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
                // Characters, not bytes: a key id is stored data.
                .map(|k| format!(" by key {}", e(&k.chars().take(16).collect::<String>())))
                .unwrap_or_default(),
            rec.record_time.map(|t| t.to_rfc3339()).unwrap_or_default()
        )?;
        if let Some(s) = &rec.source {
            writeln!(
                out,
                "    source:     {} {}{}{}",
                e(s.repo.as_deref().unwrap_or("-")),
                e(s.commit.as_deref().unwrap_or("-")),
                s.tag
                    .as_deref()
                    .map(|t| format!(" (tag {})", e(t)))
                    .unwrap_or_default(),
                if s.dirty == Some(true) { " DIRTY" } else { "" }
            )?;
        }
        if let Some(b) = &rec.builder {
            writeln!(
                out,
                "    builder:    {} {}",
                e(&b.id),
                e(b.version.as_deref().unwrap_or(""))
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
                e(i.digest.as_str()),
                e(i.reference.as_deref().unwrap_or(""))
            )?;
        }
        if !rec.toolchains.is_empty() {
            writeln!(
                out,
                "    toolchains: {}",
                list(rec.toolchains.iter().map(|t| t.to_string()), ", ")
            )?;
        }
        if !rec.languages.is_empty() {
            writeln!(out, "    languages:  {}", list(&rec.languages, ", "))?;
        }
        for a in &rec.apis {
            writeln!(
                out,
                "    api:        {} {} {} [{}]",
                a.kind.as_str(),
                e(&a.name),
                e(a.version.as_deref().unwrap_or("")),
                e(&a.stability.to_string())
            )?;
        }
        if !rec.components.is_empty() {
            writeln!(out, "    components: {}", rec.components.len())?;
            for c in &rec.components {
                let scope = if c.scope == buildledger_service::types::Scope::Build {
                    " (build)"
                } else {
                    ""
                };
                writeln!(out, "      {}{scope}", e(&c.purl.to_string()))?;
            }
        }
        for (k, val) in &rec.labels {
            writeln!(out, "    label:      {}={}", e(k), e(val))?;
        }
    }
    Ok(())
}
