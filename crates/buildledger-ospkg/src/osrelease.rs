//! `os-release(5)`: newline-separated `KEY=value` assignments with shell-style quoting.

use crate::{MAX_OS_RELEASE_SIZE, OsPkgError};

/// The distribution identity from `/etc/os-release` or `/usr/lib/os-release`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsRelease {
    /// `ID` (lower-case, e.g. `debian`, `alpine`, `ubuntu`, `rhel`, `mariner`, `sles`);
    /// `linux` when the file has none, as os-release(5) specifies.
    pub id: String,
    /// `VERSION_ID` (e.g. `12`, `3.14.0`, `2.0`).
    pub version_id: Option<String>,
    /// `VERSION_CODENAME` (e.g. `bookworm`).
    pub version_codename: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// `ID_LIKE`, split on whitespace.
    pub id_like: Vec<String>,
}

impl OsRelease {
    /// The purl `distro` qualifier: `ID-VERSION_ID`, else `ID-VERSION_CODENAME`, else `ID`.
    pub fn distro_qualifier(&self) -> Option<String> {
        if self.id.is_empty() {
            return None;
        }
        let id = self.id.to_ascii_lowercase();
        Some(match (&self.version_id, &self.version_codename) {
            (Some(v), _) if !v.is_empty() => format!("{id}-{v}"),
            (_, Some(c)) if !c.is_empty() => format!("{id}-{c}"),
            _ => id,
        })
    }
}

/// Parse an `os-release` file.
///
/// Lines are `KEY=value`; blank lines and `#` comments are skipped; values may be unquoted,
/// `"double quoted"` (with `\"`, `\\`, `\$`, `` \` `` escapes) or `'single quoted'`, and quoted
/// and unquoted parts may be concatenated as in a shell. Lines that are not assignments are
/// ignored (os-release(5) says so); an unterminated quote is an error. Inputs over
/// [`MAX_OS_RELEASE_SIZE`] are rejected.
pub fn parse_os_release(bytes: &[u8]) -> Result<OsRelease, OsPkgError> {
    const WHAT: &str = "os-release";
    if bytes.len() > MAX_OS_RELEASE_SIZE {
        return Err(OsPkgError::TooLarge {
            what: WHAT,
            db_path: "os-release".into(),
            size: bytes.len(),
            limit: MAX_OS_RELEASE_SIZE,
        });
    }
    let text = String::from_utf8_lossy(bytes);
    let mut rel = OsRelease::default();
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let value = unquote(value).ok_or_else(|| {
            OsPkgError::malformed(
                WHAT,
                "os-release",
                format!("line {}: unterminated quote in value of {key}", lineno + 1),
            )
        })?;
        match key {
            "ID" => rel.id = value.to_ascii_lowercase(),
            "VERSION_ID" => rel.version_id = Some(value),
            "VERSION_CODENAME" => rel.version_codename = Some(value),
            "PRETTY_NAME" => rel.pretty_name = Some(value),
            "ID_LIKE" => {
                rel.id_like = value.split_whitespace().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    if rel.id.is_empty() {
        rel.id = "linux".to_string();
    }
    Ok(rel)
}

/// Shell-style unquoting of one value. `None` on an unterminated quote.
fn unquote(v: &str) -> Option<String> {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => {
                        let n = chars.next()?;
                        if !matches!(n, '"' | '\\' | '$' | '`' | '\n') {
                            out.push('\\');
                        }
                        out.push(n);
                    }
                    other => out.push(other),
                }
            },
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    other => out.push(other),
                }
            },
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            // An unquoted space ends the word in a shell; a trailing comment follows it.
            c if c.is_whitespace() => break,
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_forms() {
        let r = parse_os_release(
            b"# c\nID=\"rhel\"\nVERSION_ID='8.9'\nID_LIKE=\"fedora  centos\"\nPRETTY_NAME=\"a \\\"b\\\" \\\\c\"\n",
        )
        .unwrap();
        assert_eq!(r.id, "rhel");
        assert_eq!(r.version_id.as_deref(), Some("8.9"));
        assert_eq!(r.id_like, vec!["fedora", "centos"]);
        assert_eq!(r.pretty_name.as_deref(), Some("a \"b\" \\c"));
        assert!(parse_os_release(b"ID=\"abc\n").is_err());
        assert_eq!(parse_os_release(b"").unwrap().id, "linux");
    }
}
