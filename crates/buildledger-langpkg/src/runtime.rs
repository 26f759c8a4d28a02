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

#[cfg(test)]
mod tests {
    use super::*;

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
