//! The language runtimes an image carries, from the files their installers
//! leave: a JDK/JRE's `release` file, CPython's `patchlevel.h` and Node.js's
//! `node_version.h` (official images build both from source and install the
//! headers).

/// Which runtime's version file `path` is, if any: `openjdk`, `python`, `node`.
pub fn runtime_for(path: &str) -> Option<&'static str> {
    let (dir, file) = path.rsplit_once('/')?;
    match file {
        "release"
            if dir.contains("/jvm/")
                || dir.ends_with("/java/openjdk")
                || dir.contains("/jdk")
                || dir.contains("/jre") =>
        {
            Some("openjdk")
        }
        "patchlevel.h"
            if dir
                .rsplit('/')
                .next()
                .is_some_and(|d| d.starts_with("python3") || d.starts_with("python2")) =>
        {
            Some("python")
        }
        "node_version.h" if dir.ends_with("include/node") => Some("node"),
        _ => None,
    }
}

fn plausible(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
}

/// The version a runtime's file records; `None` when it records none.
pub fn parse_runtime_version(runtime: &str, bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let v = match runtime {
        "openjdk" => text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("JAVA_VERSION=")
                .map(|v| v.trim().trim_matches('"').to_string())
        }),
        "python" => text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start();
            let v = rest.strip_prefix("PY_VERSION")?.trim();
            Some(v.trim_matches('"').to_string())
        }),
        "node" => {
            let get = |key: &str| {
                text.lines().find_map(|l| {
                    let rest = l.trim().strip_prefix("#define")?.trim_start();
                    let n = rest.strip_prefix(key)?.trim();
                    n.parse::<u32>().ok()
                })
            };
            Some(format!(
                "{}.{}.{}",
                get("NODE_MAJOR_VERSION ")?,
                get("NODE_MINOR_VERSION ")?,
                get("NODE_PATCH_VERSION ")?
            ))
        }
        _ => None,
    }?;
    plausible(&v).then_some(v)
}

/// Which runtime an executable or shared library is, by its file name:
/// `node` for a file named `node`, `python` for `python3.X` /
/// `libpython3.X.so…` (the interpreter, or the library it links).
/// Official images install both from release builds, with no package
/// database and often without headers.
pub fn runtime_binary_for(path: &str) -> Option<&'static str> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if file == "node" {
        return Some("node");
    }
    python_minor(file).map(|_| "python")
}

/// `3.X` from `python3.X` or `libpython3.X[d|m|…].so[.…]`.
fn python_minor(file: &str) -> Option<&str> {
    let rest = file
        .strip_prefix("libpython")
        .and_then(|r| {
            r.split_once(".so")
                .map(|(v, _)| v.trim_end_matches(|c: char| c.is_ascii_lowercase()))
        })
        .or_else(|| file.strip_prefix("python"))?;
    let (major, minor) = rest.split_once('.')?;
    (major == "3"
        && !minor.is_empty()
        && minor.len() <= 3
        && minor.bytes().all(|b| b.is_ascii_digit()))
    .then_some(rest)
}

/// Most bytes of one runtime binary searched for its version.
pub const MAX_RUNTIME_BINARY_BYTES: u64 = 512 << 20;

/// The version a runtime binary carries, read as a stream (never buffered
/// whole, at most [`MAX_RUNTIME_BINARY_BYTES`]): Node.js embeds its release
/// URL (`node.js/v20.11.1`), CPython its `PY_VERSION` as a NUL-terminated
/// string (`3.11.7`, `3.13.0rc2`) whose major and minor must be the ones in
/// the file name, standing alone or, where the linker merged it into a longer
/// string that ends the same way, after a `-` (`…/Python-3.11.7`). `None`
/// when no such string is found.
pub fn runtime_binary_version(
    runtime: &str,
    path: &str,
    content: &mut dyn std::io::Read,
) -> std::io::Result<Option<String>> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let needle: Vec<u8> = match runtime {
        "node" => b"node.js/v".to_vec(),
        "python" => match python_minor(file) {
            Some(m) => {
                let mut n = m.as_bytes().to_vec();
                n.push(b'.');
                n
            }
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let finder = memchr::memmem::Finder::new(&needle);
    // What may follow the needle: the rest of the version, then its end.
    const TAIL: usize = 32;
    let mut buf = vec![0u8; 256 << 10];
    let mut held = 0usize;
    let mut read_total = 0u64;
    loop {
        let n = content.read(&mut buf[held..])?;
        read_total += n as u64;
        let end = held + n;
        let window = &buf[..end];
        let mut from = 0;
        while let Some(i) = finder.find(&window[from..]) {
            let at = from + i + needle.len();
            if at + TAIL > end && n != 0 {
                break; // the tail is in the next read
            }
            let before = (from + i).checked_sub(1).map(|b| window[b]);
            let starts_well = match runtime {
                "python" => matches!(before, Some(0 | b'-')),
                _ => true,
            };
            if starts_well
                && let Some(v) = version_at(runtime, &needle, &window[at..end.min(at + TAIL)])
            {
                return Ok(Some(v));
            }
            from += i + 1;
        }
        if n == 0 || read_total >= MAX_RUNTIME_BINARY_BYTES {
            return Ok(None);
        }
        // Keep what a match could still start in.
        // (One byte more: the one before the needle.)
        let keep = (needle.len() + TAIL + 1).min(end);
        buf.copy_within(end - keep..end, 0);
        held = keep;
    }
}

/// The version after `needle` in `tail`, if it is one and ends properly.
fn version_at(runtime: &str, needle: &[u8], tail: &[u8]) -> Option<String> {
    let len = tail
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-')))?;
    let body = std::str::from_utf8(&tail[..len]).ok()?;
    let end = tail[len];
    let v = match runtime {
        "node" => {
            let parts: Vec<&str> = body.split('.').collect();
            let ok = parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            (ok && (end == b'/' || end == 0 || end == b'"')).then(|| body.to_string())?
        }
        _ => {
            // needle is "3.X."; the micro version starts with a digit.
            let digits = body.bytes().take_while(u8::is_ascii_digit).count();
            (end == 0 && digits > 0 && digits <= 3)
                .then(|| format!("{}{body}", String::from_utf8_lossy(needle)))?
        }
    };
    plausible(&v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(runtime: &str, path: &str, bytes: &[u8]) -> Option<String> {
        runtime_binary_version(runtime, path, &mut &bytes[..]).unwrap()
    }

    #[test]
    fn runtime_binaries() {
        assert_eq!(runtime_binary_for("usr/local/bin/node"), Some("node"));
        assert_eq!(
            runtime_binary_for("usr/local/bin/python3.12"),
            Some("python")
        );
        assert_eq!(
            runtime_binary_for("usr/local/lib/libpython3.11.so.1.0"),
            Some("python")
        );
        assert_eq!(
            runtime_binary_for("usr/lib/libpython3.8d.so"),
            Some("python")
        );
        assert_eq!(runtime_binary_for("usr/local/bin/python3"), None);
        assert_eq!(runtime_binary_for("usr/local/bin/python3.11-config"), None);
        assert_eq!(runtime_binary_for("usr/local/bin/nodejs-helper"), None);
        let mut bin = vec![0x7f, b'E', b'L', b'F'];
        bin.extend(std::iter::repeat_n(0xAAu8, 300_000));
        bin.extend_from_slice(b"https://nodejs.org/download/release/v20.11.1/\0");
        bin.extend_from_slice(b"\0libnode\0node.js/v20.11.1\0");
        assert_eq!(
            find("node", "usr/local/bin/node", &bin).as_deref(),
            Some("20.11.1")
        );
        // A match split across two reads.
        let mut split = vec![0u8; (256 << 10) - 5];
        split.extend_from_slice(b"node.js/v18.19.0\0");
        assert_eq!(find("node", "node", &split).as_deref(), Some("18.19.0"));
        assert_eq!(
            find("node", "node", b"node.js/vX.1.2\0node.js/v1.2\0"),
            None
        );
        let py = b"\x7fELF/root/.pyenv/versions/3.11.7/lib\0x\x003.11.7\0(main, Dec  4 2023)";
        assert_eq!(
            find("python", "usr/local/bin/python3.11", py).as_deref(),
            Some("3.11.7")
        );
        assert_eq!(
            find("python", "usr/lib/libpython3.13.so.1.0", b"\x003.13.0rc2\0").as_deref(),
            Some("3.13.0rc2")
        );
        // Only the minor version the file name gives, only NUL-delimited.
        assert_eq!(
            find("python", "usr/bin/python3.11", b"\x003.12.1\0/3.11.7\0"),
            None
        );
        // Merged by the linker into the end of a longer string.
        assert_eq!(
            find(
                "python",
                "usr/lib/libpython3.11.so.1.0",
                b"/versions/3.11.7/lib\0/Python-3.11.7\0"
            )
            .as_deref(),
            Some("3.11.7")
        );
        assert_eq!(find("python", "usr/bin/python3.11", b"3.11.7\0"), None);
        assert_eq!(find("python", "usr/bin/python3.11", b""), None);
    }

    #[test]
    fn runtimes() {
        assert_eq!(
            runtime_for("usr/lib/jvm/java-17-openjdk-amd64/release"),
            Some("openjdk")
        );
        assert_eq!(runtime_for("opt/java/openjdk/release"), Some("openjdk"));
        assert_eq!(runtime_for("etc/release"), None);
        assert_eq!(
            runtime_for("usr/local/include/python3.11/patchlevel.h"),
            Some("python")
        );
        assert_eq!(
            runtime_for("usr/local/include/node/node_version.h"),
            Some("node")
        );
        assert_eq!(
            parse_runtime_version(
                "openjdk",
                b"IMPLEMENTOR=\"Debian\"\nJAVA_VERSION=\"17.0.9\"\n"
            )
            .as_deref(),
            Some("17.0.9")
        );
        assert_eq!(
            parse_runtime_version(
                "python",
                b"#define PY_MINOR_VERSION 11\n#define PY_VERSION      \"3.11.4\"\n"
            )
            .as_deref(),
            Some("3.11.4")
        );
        let node = b"#define NODE_MAJOR_VERSION 18\n#define NODE_MINOR_VERSION 19\n#define NODE_PATCH_VERSION 0\n";
        assert_eq!(
            parse_runtime_version("node", node).as_deref(),
            Some("18.19.0")
        );
        assert_eq!(
            parse_runtime_version("node", b"#define NODE_MAJOR_VERSION 18\n"),
            None
        );
        assert_eq!(
            parse_runtime_version("python", b"#define PY_VERSION \"x y\"\n"),
            None
        );
    }
}
