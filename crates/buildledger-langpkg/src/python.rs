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
        // an unzipped egg: NAME-VERSION-pyX.Y.egg/EGG-INFO/PKG-INFO
        || (file == "PKG-INFO"
            && parent == "EGG-INFO"
            && dir
                .strip_suffix("/EGG-INFO")
                .is_some_and(|egg| egg.ends_with(".egg")))
        // an egg-info *file* (distutils' install_egg_info)
        || (file.ends_with(".egg-info") && file.len() > ".egg-info".len())
}

/// Is `path` a zipped egg (`NAME-VERSION-pyX.Y.egg`, setuptools' old
/// binary distribution, installed as is by `easy_install`)?
pub fn is_egg_archive(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.len() > ".egg".len() && file.ends_with(".egg")
}

/// Largest `EGG-INFO/PKG-INFO` read from a zipped egg.
const MAX_EGG_PKG_INFO: u64 = 1 << 20;

/// `(name, version)` from a zipped egg's `EGG-INFO/PKG-INFO`; `None` when
/// the bytes are no readable zip, the entry is missing or larger than
/// 1 MiB, or the metadata names no distribution. Only that entry is
/// inflated.
pub fn parse_egg(bytes: &[u8]) -> Option<(String, String)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    if zip.len() > crate::MAX_ENTRIES {
        return None;
    }
    let f = zip.by_name("EGG-INFO/PKG-INFO").ok()?;
    if f.size() > MAX_EGG_PKG_INFO {
        return None;
    }
    let mut text = Vec::new();
    f.take(MAX_EGG_PKG_INFO).read_to_end(&mut text).ok()?;
    parse_python_metadata(&text)
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
        assert!(is_python_metadata(
            "usr/lib/python3/site-packages/six-1.16.0-py3.11.egg/EGG-INFO/PKG-INFO"
        ));
        assert!(!is_python_metadata("x/EGG-INFO/PKG-INFO"));
        assert!(is_egg_archive("opt/site/six-1.16.0-py3.11.egg"));
        assert!(!is_egg_archive("opt/site/.egg"));
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

#[cfg(test)]
mod egg_tests {
    use super::*;
    use std::io::Write;

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, body) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(body).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn zipped_eggs() {
        let egg = zip(&[
            ("six.py", b"# six"),
            (
                "EGG-INFO/PKG-INFO",
                b"Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n",
            ),
        ]);
        assert_eq!(parse_egg(&egg), Some(("six".into(), "1.16.0".into())));
        assert_eq!(parse_egg(&zip(&[("six.py", b"x")])), None);
        assert_eq!(parse_egg(b"not a zip"), None);
        assert_eq!(parse_egg(&egg[..egg.len() / 2]), None);
        // a PKG-INFO over the bound is not read
        let big = vec![b'a'; (MAX_EGG_PKG_INFO + 1) as usize];
        assert_eq!(parse_egg(&zip(&[("EGG-INFO/PKG-INFO", &big)])), None);
    }
}
