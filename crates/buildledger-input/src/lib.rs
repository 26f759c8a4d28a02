//! Bounded reading of untrusted input.
//!
//! Every file buildledger reads on a user's or a network peer's behalf goes
//! through this crate, so that the two rules below hold in one place rather
//! than at each call site:
//!
//! - **Only regular files** (or standard input when asked for `-`). A FIFO,
//!   socket or device named like a JSON file is refused *before* it is read:
//!   the file is opened non-blocking (so opening a FIFO never waits for a
//!   writer) and the kind is checked on the open handle (`fstat`), not on the
//!   path, so a path swapped between check and open cannot slip through.
//! - **A byte limit enforced while reading.** [`read_file`] never holds more
//!   than `limit + 1` bytes: `/dev/zero`, a 50 GB file or an endless pipe on
//!   standard input ends in [`InputError::TooLarge`], not in memory growth.
//!   [`Limited`] does the same for streaming readers.
//!
//! Errors name the file. Calls nothing in the workspace.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The path names something other than a regular file.
    #[error("{name}: not a regular file ({kind}); only regular files are read")]
    NotRegular {
        /// File name as given.
        name: String,
        /// fifo, socket, directory, character device, block device.
        kind: &'static str,
    },
    /// The input is larger than the limit.
    #[error("{name}: larger than the limit of {limit} bytes{hint}")]
    TooLarge {
        /// File name as given.
        name: String,
        /// The limit in bytes.
        limit: u64,
        /// How to raise the limit, if it can be raised (e.g. " (BUILDLEDGER_MAX_RECORD_BYTES)").
        hint: String,
    },
    /// The operating system refused.
    #[error("{name}: {source}")]
    Io {
        /// File name as given.
        name: String,
        /// The error.
        source: io::Error,
    },
}

impl InputError {
    /// The file name the error is about.
    pub fn name(&self) -> &str {
        match self {
            InputError::NotRegular { name, .. }
            | InputError::TooLarge { name, .. }
            | InputError::Io { name, .. } => name,
        }
    }

    /// Add a hint on how to raise the limit to a [`InputError::TooLarge`].
    pub fn with_hint(mut self, h: &str) -> InputError {
        if let InputError::TooLarge { hint, .. } = &mut self {
            *hint = format!(" ({h})");
        }
        self
    }
}

/// What a file type is, in words (`fifo`, `character device`, …), for messages.
pub fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// Open `path` for reading if, and only if, it is a regular file (symbolic
/// links are followed). Opening never blocks, whatever the path names.
pub fn open_regular(path: &Path) -> Result<File, InputError> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.display().to_string();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|source| {
            // Sockets (ENXIO) and some devices cannot even be opened: say
            // what they are rather than the system's words for it.
            match std::fs::metadata(path) {
                Ok(m) if !m.file_type().is_file() => InputError::NotRegular {
                    name: name.clone(),
                    kind: kind_of(m.file_type()),
                },
                _ => InputError::Io {
                    name: name.clone(),
                    source,
                },
            }
        })?;
    let meta = f.metadata().map_err(|source| InputError::Io {
        name: name.clone(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(InputError::NotRegular {
            name,
            kind: kind_of(meta.file_type()),
        });
    }
    Ok(f)
}

/// Whether `path` is a regular file, without opening it (for directory walks
/// that skip what they must not read). Symbolic links are followed.
pub fn is_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Read all of `r`, failing as soon as more than `limit` bytes arrive.
/// Never holds more than `limit + 1` bytes, nor reserves much more: the
/// buffer doubles, but never past the limit, so an endless input costs about
/// the limit in memory, not twice that.
pub fn read_limited(mut r: impl Read, limit: u64, name: &str) -> Result<Vec<u8>, InputError> {
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(InputError::Io {
                    name: name.to_string(),
                    source,
                });
            }
        };
        let n = n.min(cap - buf.len());
        if buf.capacity() - buf.len() < n {
            let grow = buf.len().max(64 * 1024).min(cap - buf.len()).max(n);
            buf.reserve_exact(grow);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() as u64 > limit {
            return Err(InputError::TooLarge {
                name: name.to_string(),
                limit,
                hint: String::new(),
            });
        }
    }
    Ok(buf)
}

/// Most `[`/`{` bytes a YAML text may hold at all, whatever the quoting (see
/// [`flow_depth_exceeds`]).
pub const MAX_FLOW_OPENERS: usize = 100_000;

/// Does a YAML or JSON text nest `[`/`{` deeper than `max` outside quoted
/// strings and comments, or hold more than [`MAX_FLOW_OPENERS`] of them at
/// all? YAML parsers take time quadratic in flow nesting, so callers check
/// this before parsing: 100,000 levels cost a parser tens of seconds, this
/// scan microseconds. The depth is read with a simplified view of quoting
/// (an apostrophe inside a plain scalar, `it's`, looks like a quote to it), so
/// the count of all openers is the bound that holds whatever the quoting: no
/// parser can nest deeper than that.
pub fn flow_depth_exceeds(text: &[u8], max: usize) -> bool {
    if text.iter().filter(|&&b| b == b'[' || b == b'{').count() > MAX_FLOW_OPENERS {
        return true;
    }
    let (mut depth, mut quote, mut escaped, mut comment) = (0usize, 0u8, false, false);
    let mut prev = b'\n';
    for &b in text {
        if comment {
            if b == b'\n' {
                comment = false;
            }
        } else if quote != 0 {
            if escaped {
                escaped = false;
            } else if b == b'\\' && quote == b'"' {
                escaped = true;
            } else if b == quote {
                quote = 0;
            }
        } else {
            match b {
                b'"' | b'\'' => quote = b,
                b'#' if prev.is_ascii_whitespace() => comment = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = b;
    }
    false
}

/// Read a regular file of at most `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let f = open_regular(path)?;
    read_open(f, limit, &path.display().to_string())
}

/// Read a file opened by [`open_regular`], of at most `limit` bytes: its
/// length is checked first, and the limit holds while reading should it grow.
pub fn read_open(f: File, limit: u64, name: &str) -> Result<Vec<u8>, InputError> {
    if let Ok(m) = f.metadata()
        && m.len() > limit
    {
        return Err(InputError::TooLarge {
            name: name.to_string(),
            limit,
            hint: String::new(),
        });
    }
    read_limited(f, limit, name)
}

/// Read `path`, or standard input when `path` is `-` (named `<stdin>` in
/// errors), of at most `limit` bytes. Standard input may be a pipe.
pub fn read_path_or_stdin(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    if path.as_os_str() == "-" {
        read_limited(io::stdin().lock(), limit, "<stdin>")
    } else {
        read_file(path, limit)
    }
}

/// The display name [`read_path_or_stdin`] uses for `path`.
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// A reader that fails with [`io::ErrorKind::FileTooLarge`] once more than
/// `limit` bytes have been read through it (for streaming parsers and
/// decompressors: the limit holds however the bytes are consumed).
pub struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Limited<R> {
    /// Wrap `inner` with a limit of `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Limited<R> {
        Limited {
            inner,
            left: limit,
            limit,
        }
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> u64 {
        self.limit - self.left
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // One byte more tells "exactly at the limit" from "over it".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!("more than the limit of {} bytes", self.limit),
                )),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A byte limit from the environment variable `var` (a plain number of
/// bytes, or with a K/M/G suffix in powers of 1024), else `default`.
/// Interfaces call this; libraries take limits as arguments.
pub fn limit_from_env(var: &str, default: u64) -> Result<u64, String> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(v) => parse_size(&v).ok_or_else(|| {
            format!("{var}={v:?}: expected a size in bytes, e.g. 16777216, 16M or 2G")
        }),
    }
}

/// `123`, `16K`, `16M`, `2G` (powers of 1024; an optional trailing `B` or `iB`).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s
        .strip_suffix("iB")
        .or_else(|| s.strip_suffix('B'))
        .unwrap_or(s);
    let (num, mul) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().ok()?;
    n.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn regular_file_within_limit_is_read() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"hello").unwrap();
        assert_eq!(read_file(f.path(), 5).unwrap(), b"hello");
        let e = read_file(f.path(), 4).unwrap_err();
        assert!(matches!(e, InputError::TooLarge { limit: 4, .. }), "{e}");
        assert!(e.to_string().contains(&f.path().display().to_string()));
    }

    #[test]
    fn dev_zero_is_refused_without_reading() {
        let e = read_file(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::NotRegular {
                    kind: "character device",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn endless_stream_stops_at_the_limit() {
        let e = read_limited(io::repeat(0), 1000, "<stdin>").unwrap_err();
        assert!(matches!(e, InputError::TooLarge { limit: 1000, .. }));
        let mut l = Limited::new(io::repeat(1), 10);
        let mut buf = Vec::new();
        let e = l.read_to_end(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(buf.len(), 10);
        let mut exact = Limited::new(&b"0123456789"[..], 10);
        let mut buf = Vec::new();
        exact.read_to_end(&mut buf).unwrap();
        assert_eq!(buf.len(), 10);
    }

    #[test]
    #[allow(unsafe_code)] // mkfifo(3): the only way to make a FIFO without a tool
    fn fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("feed.json");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // No writer ever opens it: a blocking open would hang here.
        let e = read_file(&p, 100).unwrap_err();
        assert!(
            matches!(e, InputError::NotRegular { kind: "fifo", .. }),
            "{e}"
        );
        assert!(!is_regular(&p));
        let e = read_file(dir.path(), 100).unwrap_err();
        assert!(matches!(
            e,
            InputError::NotRegular {
                kind: "directory",
                ..
            }
        ));
    }

    #[test]
    fn socket_is_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.json");
        let _l = std::os::unix::net::UnixListener::bind(&p).unwrap();
        let e = read_file(&p, 100).unwrap_err();
        assert!(
            matches!(e, InputError::NotRegular { kind: "socket", .. }),
            "{e}"
        );
    }

    #[test]
    fn deep_flow_nesting_is_found_without_parsing() {
        assert!(!flow_depth_exceeds(b"a: [1, {b: [2]}]", 3));
        assert!(flow_depth_exceeds(b"a: [1, {b: [[2]]}]", 3));
        assert!(!flow_depth_exceeds(
            b"a: '[[[[[' # [[[[[\nb: \"{{{{\\\"{{\"",
            1
        ));
        let deep = "[".repeat(1_000_000);
        assert!(flow_depth_exceeds(deep.as_bytes(), 128));
        // A JSON document of 100 levels is fine.
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(!flow_depth_exceeds(ok.as_bytes(), 128));
        // An apostrophe in a plain scalar hides the brackets after it from the
        // depth reading; the opener count still bounds them.
        let hidden = format!("a: it's\nb: {}", "[".repeat(MAX_FLOW_OPENERS + 1));
        assert!(flow_depth_exceeds(hidden.as_bytes(), 128));
        let many_quoted = format!("a: '{}'", "[]".repeat(MAX_FLOW_OPENERS / 2));
        assert!(!flow_depth_exceeds(many_quoted.as_bytes(), 128));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("99999999999T"), None);
    }
}
