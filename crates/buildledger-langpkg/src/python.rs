//! Python core metadata (`METADATA`, `PKG-INFO`): an RFC 822 style header
//! block whose `Name` and `Version` fields name the distribution.

/// Is `path` a Python distribution's metadata file?
pub fn is_python_metadata(path: &str) -> bool {
    let (dir, file) = match path.rsplit_once('/') {
        Some((d, f)) => (d, f),
        None => ("", path),
    };
    let parent = dir.rsplit('/').next().unwrap_or(dir);
    (file == "METADATA" && parent.ends_with(".dist-info"))
        || (file == "PKG-INFO" && parent.ends_with(".egg-info"))
        // an egg-info *file* (distutils' install_egg_info)
        || (file.ends_with(".egg-info") && file.len() > ".egg-info".len())
}

/// PEP 503 name normalisation: lower case, every run of `-`, `_` and `.`
/// one `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Acceptable characters of a distribution name (PEP 508) and version.
fn plausible(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '!'))
}

/// `(normalised name, version)` from a metadata header block; `None` when
/// either is missing or implausible.
pub fn parse_python_metadata(bytes: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.is_empty() {
            break; // the body (description) follows the header block
        }
        if line.starts_with([' ', '\t']) {
            continue; // a continuation of the previous field
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "name" if name.is_none() => name = Some(v.trim().to_string()),
            "version" if version.is_none() => version = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let (name, version) = (name?, version?);
    (plausible(&name) && plausible(&version)).then(|| (normalize_pypi_name(&name), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(is_python_metadata(
            "opt/app/site/requests-2.25.0.dist-info/METADATA"
        ));
        assert!(is_python_metadata(
            "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO"
        ));
        assert!(is_python_metadata(
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info"
        ));
        assert!(!is_python_metadata(
            "usr/lib/python3/dist-packages/x/METADATA"
        ));
        assert!(!is_python_metadata("a.dist-info/RECORD"));
        assert!(!is_python_metadata(".egg-info"));
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalize_pypi_name("Django"), "django");
        assert_eq!(normalize_pypi_name("zope.interface"), "zope-interface");
        assert_eq!(
            normalize_pypi_name("ruamel__yaml.-clib"),
            "ruamel-yaml-clib"
        );
        assert_eq!(normalize_pypi_name("PyYAML"), "pyyaml");
    }

    #[test]
    fn header_block() {
        let m = b"Metadata-Version: 2.1\nName: Django\nVersion: 3.2\nSummary: x\n  continued\n\nName: not-this\n";
        assert_eq!(
            parse_python_metadata(m),
            Some(("django".into(), "3.2".into()))
        );
        assert_eq!(parse_python_metadata(b"Name: x\n"), None);
        assert_eq!(parse_python_metadata(b"Name: x y\nVersion: 1\n"), None);
        assert_eq!(parse_python_metadata(b"\xff\xfe"), None);
        assert_eq!(
            parse_python_metadata(b"name: a_b\r\nversion: 1.0.post1\r\n"),
            Some(("a-b".into(), "1.0.post1".into()))
        );
    }
}
