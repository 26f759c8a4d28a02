//! Java archives (JAR, WAR, EAR and the archives nested in them: Spring
//! Boot's `BOOT-INF/lib`, a WAR's `WEB-INF/lib`, an EAR's modules): the
//! Maven coordinates each `META-INF/maven/GROUP/ARTIFACT/pom.properties`
//! records (a shaded JAR holds several).
//!
//! An archive is read from memory (the caller bounds its size); nested
//! archives are inflated one at a time, each within [`MAX_NESTED_BYTES`],
//! all of one top-level archive within [`MAX_INFLATED_BYTES`], at most
//! [`MAX_DEPTH`] levels deep and [`MAX_ENTRIES`] entries per archive.
//! Archives without `pom.properties` (coordinates only in `MANIFEST.MF`
//! or the file name) are not reported: without a group id nothing can be
//! matched reliably.

use std::io::{Cursor, Read};

/// Largest nested archive inflated into memory.
pub const MAX_NESTED_BYTES: u64 = 64 << 20;
/// Most bytes inflated for one top-level archive (nested archives and
/// `pom.properties` files together).
pub const MAX_INFLATED_BYTES: u64 = 512 << 20;
/// Deepest nesting followed (`app.ear!/web.war!/WEB-INF/lib/x.jar` is 3).
pub const MAX_DEPTH: usize = 3;
/// Most entries read from one archive's central directory.
pub const MAX_ENTRIES: usize = 200_000;
/// Largest `pom.properties` read.
const MAX_POM_PROPERTIES: u64 = 64 << 10;

/// Is `path` a Java archive the cataloger reads?
pub fn is_java_archive(path: &str) -> bool {
    let lower = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    [".jar", ".war", ".ear", ".jpi", ".hpi"]
        .iter()
        .any(|x| lower.ends_with(x) && lower.len() > x.len())
}

/// One Maven artifact found in an archive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JavaArtifact {
    /// `groupId`.
    pub group: String,
    /// `artifactId`.
    pub artifact: String,
    /// `version`.
    pub version: String,
    /// The archive chain it was found in (`app.war!/WEB-INF/lib/x.jar`).
    pub location: String,
}

/// Why an archive could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaError(pub String);

impl std::fmt::Display for JavaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn properties(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut g, mut a, mut v) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', '!']) {
            continue;
        }
        let Some((k, val)) = line.split_once(['=', ':']) else {
            continue;
        };
        let val = val.trim().to_string();
        match k.trim() {
            "groupId" => g = Some(val),
            "artifactId" => a = Some(val),
            "version" => v = Some(val),
            _ => {}
        }
    }
    (g, a, v)
}

fn plausible(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

/// Every Maven artifact recorded in the archive `bytes` at `path`, nested
/// archives included; errors for an archive that is not a readable zip or
/// exceeds a bound.
pub fn java_artifacts(path: &str, bytes: &[u8]) -> Result<Vec<JavaArtifact>, JavaError> {
    let mut out = Vec::new();
    let mut budget = MAX_INFLATED_BYTES;
    read_archive(path, bytes, 1, &mut budget, &mut out)?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn read_archive(
    location: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut u64,
    out: &mut Vec<JavaArtifact>,
) -> Result<(), JavaError> {
    let err = |what: String| JavaError(format!("{location}: {what}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| err(format!("not a readable archive: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(err(format!(
            "{} entries, more than the limit of {MAX_ENTRIES}",
            zip.len()
        )));
    }
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| err(format!("entry {i}: {e}")))?;
        if !f.is_file() {
            continue;
        }
        let Ok(name) = f.name().map(|n| n.to_string()) else {
            continue; // a name that is not text: not one of ours
        };
        let pom = name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
        let nested = depth < MAX_DEPTH && is_java_archive(&name);
        if !pom && !nested {
            continue;
        }
        let cap = if pom {
            MAX_POM_PROPERTIES
        } else {
            MAX_NESTED_BYTES
        };
        if f.size() > cap {
            return Err(err(format!(
                "{name} inflates to {} bytes, more than the limit of {cap}",
                f.size()
            )));
        }
        let want = f.size().min(*budget);
        let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
        // The declared size is checked again while reading: a lying header
        // cannot inflate past the cap or the archive's budget.
        (&mut f)
            .take(cap.min(*budget) + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err(format!("{name}: {e}")))?;
        if buf.len() as u64 > cap.min(*budget) {
            return Err(err(format!(
                "{name}: more inflated bytes than the limits allow ({} per entry, {} left for this archive)",
                cap, *budget
            )));
        }
        *budget -= buf.len() as u64;
        if pom {
            let (g, a, v) = properties(&String::from_utf8_lossy(&buf));
            if let (Some(g), Some(a), Some(v)) = (g, a, v)
                && plausible(&g)
                && plausible(&a)
                && plausible(&v)
            {
                out.push(JavaArtifact {
                    group: g,
                    artifact: a,
                    version: v,
                    location: location.to_string(),
                });
            }
        } else {
            let inner = format!("{location}!/{name}");
            read_archive(&inner, &buf, depth + 1, budget, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, b) in entries {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const POM: &[u8] = b"#Generated\nversion=1.2.17\ngroupId=log4j\nartifactId=log4j\n";

    #[test]
    fn nested_archives_and_locations() {
        let inner = jar(&[("META-INF/maven/log4j/log4j/pom.properties", POM)]);
        let war = jar(&[
            ("WEB-INF/lib/log4j-1.2.17.jar", &inner),
            (
                "META-INF/maven/com.example/app/pom.properties",
                b"groupId=com.example\nartifactId=app\nversion=1.0\n",
            ),
            ("index.html", b"x"),
        ]);
        let got = java_artifacts("srv/app.war", &war).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].location, "srv/app.war!/WEB-INF/lib/log4j-1.2.17.jar");
        assert_eq!(
            (got[1].group.as_str(), got[1].version.as_str()),
            ("log4j", "1.2.17")
        );
        assert_eq!(got[0].artifact, "app");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(java_artifacts("x.jar", b"not a zip").is_err());
        assert!(java_artifacts("x.jar", &[]).is_err());
        // a nested archive that is not one
        let outer = jar(&[("lib/bad.jar", b"garbage")]);
        assert!(java_artifacts("x.jar", &outer).is_err());
        // incomplete coordinates are skipped
        let j = jar(&[(
            "META-INF/maven/g/a/pom.properties",
            b"groupId=g\nartifactId=a\n",
        )]);
        assert_eq!(java_artifacts("x.jar", &j).unwrap(), vec![]);
    }

    #[test]
    fn depth_is_bounded() {
        let mut a = jar(&[(
            "META-INF/maven/g/a/pom.properties",
            b"groupId=g\nartifactId=a\nversion=1\n",
        )]);
        for _ in 0..5 {
            a = jar(&[("lib/n.jar", &a)]);
        }
        // five levels of wrapping: the artifact is deeper than MAX_DEPTH
        assert_eq!(java_artifacts("x.jar", &a).unwrap(), vec![]);
        assert!(is_java_archive("usr/share/java/commons-io.jar"));
        assert!(!is_java_archive("usr/share/java/.jar"));
        assert!(!is_java_archive("a.jarx"));
    }
}
