//! Language packages through the whole ledger: a Spring-Boot-style fat JAR (made with the JDK's
//! `jar` tool, holding Debian's real commons-io JAR and a Spring Boot JAR with the `pom.properties`
//! Maven writes) and a `node_modules` from `npm install` of an old `formidable`, scanned as a
//! directory, recorded, matched against real GitHub advisories (OSV, `../shared`), queried by purl
//! range, on both engines; Debian's rake gemspec installed as a gem and a JDK's release file are read. Also: a corrupt JAR makes the scan incomplete (not recordable).
//!
//! Needs `jar` (default-jdk-headless), `npm` with network access to the registry, Debian's
//! `libcommons-io-java`-style JARs in /usr/share/java, and `../shared`; skips locally without them,
//! fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;
use common::{Ledger, each, have};

fn missing(what: &str) -> bool {
    buildledger_testkit::ci::skip_or_fail(&format!("archives test: {what}"))
}

fn require() -> bool {
    for t in ["jar", "npm"] {
        if !have(t) {
            return missing(&format!("{t} is not installed"));
        }
    }
    if commons_io().is_none() {
        return missing("no commons-io JAR in /usr/share/java (maven installs one)");
    }
    if common::shared_data("osv/samples/trivy-db-ghsa").is_none() {
        return missing("../shared/data/osv/samples/trivy-db-ghsa is missing");
    }
    true
}

fn commons_io() -> Option<PathBuf> {
    std::fs::read_dir("/usr/share/java")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("commons-io-") && n.ends_with(".jar"))
        })
}

fn run(c: &mut Command) {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        o.status.success(),
        "{c:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The root file system, built once per run.
fn rootfs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("archives");
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("rootfs");
        let work = base.join("work");
        // the inner Spring Boot JAR: what Maven writes into every JAR it builds
        let sb = work.join("spring-boot");
        let meta = sb.join("META-INF/maven/org.springframework.boot/spring-boot");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("pom.properties"),
            "#Created by Apache Maven 3.5.0\nversion=1.5.9.RELEASE\ngroupId=org.springframework.boot\nartifactId=spring-boot\n",
        )
        .unwrap();
        let app = work.join("app");
        let lib = app.join("BOOT-INF/lib");
        std::fs::create_dir_all(&lib).unwrap();
        run(Command::new("jar")
            .arg("cf")
            .arg(lib.join("spring-boot-1.5.9.RELEASE.jar"))
            .arg("-C")
            .arg(&sb)
            .arg("."));
        std::fs::copy(commons_io().unwrap(), lib.join("commons-io.jar")).unwrap();
        let bin = root.join("opt/app");
        std::fs::create_dir_all(&bin).unwrap();
        run(Command::new("jar")
            .arg("cf")
            .arg(bin.join("app.jar"))
            .arg("-C")
            .arg(&app)
            .arg("."));
        // node_modules from the npm registry
        let srv = root.join("srv/web");
        std::fs::create_dir_all(&srv).unwrap();
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix"])
            .arg(&srv)
            .arg("formidable@3.2.0"));
        // a gem's specification, as RubyGems installs it (Debian's real one for rake)
        let specs = root.join("usr/local/bundle/specifications");
        std::fs::create_dir_all(&specs).unwrap();
        if let Some(rake) = rake_gemspec() {
            std::fs::copy(&rake, specs.join(rake.file_name().unwrap())).unwrap();
        }
        // a JDK's release file where Eclipse Temurin's images keep it
        if let Some(rel) = jdk_release() {
            let dst = root.join("opt/java/openjdk");
            std::fs::create_dir_all(&dst).unwrap();
            std::fs::copy(rel, dst.join("release")).unwrap();
        }
        root
    })
}

/// The `release` file of an installed JDK (default-jdk-headless), if any.
fn jdk_release() -> Option<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir("/usr/lib/jvm")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("release")))
        .filter(|p| p.is_file())
        .collect();
    all.sort();
    all.into_iter().next()
}

/// Debian's `rake-VERSION.gemspec` (ruby's rubygems-integration), if installed.
fn rake_gemspec() -> Option<PathBuf> {
    std::fs::read_dir("/usr/share/rubygems-integration/all/specifications")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rake-") && n.ends_with(".gemspec"))
        })
}

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn components(l: &Ledger, source: &str) -> Vec<(String, String)> {
    let v = l.json(&["scan", source, "--json"]);
    v["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["purl"].as_str().unwrap().to_string(),
                c["location"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn fat_jar_and_node_modules_are_matched_and_queried() {
    if !require() {
        return;
    }
    let root = rootfs();
    each(|l| {
        // a broken JAR makes the scan incomplete: named, and nothing recorded
        let src = format!("dir:{}", root.display());
        let broken = root.join("opt/app/broken.jar");
        std::fs::write(&broken, b"PK\x03\x04 not really").unwrap();
        let o = l.run(&["scan", &src, "--record", "--digest", &digest('a')]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "[{}] {err}", l.engine());
        assert!(
            err.contains("opt/app/broken.jar: archive not read")
                && err.contains("nothing was recorded"),
            "{err}"
        );
        std::fs::remove_file(&broken).unwrap();
        let comps = components(l, &src);
        let has = |purl: &str, loc: &str| comps.iter().any(|(p, l)| p == purl && l == loc);
        assert!(
            has(
                "pkg:maven/org.springframework.boot/spring-boot@1.5.9.RELEASE",
                "opt/app/app.jar!/BOOT-INF/lib/spring-boot-1.5.9.RELEASE.jar"
            ),
            "{comps:?}"
        );
        assert!(
            comps
                .iter()
                .any(|(p, l)| p.starts_with("pkg:maven/commons-io/commons-io@")
                    && l == "opt/app/app.jar!/BOOT-INF/lib/commons-io.jar"),
            "{comps:?}"
        );
        assert!(
            has(
                "pkg:npm/formidable@3.2.0",
                "srv/web/node_modules/formidable/package.json"
            ),
            "{comps:?}"
        );
        if let Some(rake) = rake_gemspec() {
            let file = rake.file_name().unwrap().to_str().unwrap();
            let version = file
                .trim_start_matches("rake-")
                .trim_end_matches(".gemspec");
            assert!(
                has(
                    &format!("pkg:gem/rake@{version}"),
                    &format!("usr/local/bundle/specifications/{file}")
                ),
                "{comps:?}"
            );
        } else {
            let _ = missing("Debian's rake gemspec (apt-get install ruby)");
        }
        if let Some(rel) = jdk_release() {
            let text = std::fs::read_to_string(rel).unwrap();
            let v = text
                .lines()
                .find_map(|l| l.strip_prefix("JAVA_VERSION="))
                .unwrap()
                .trim_matches('"');
            assert!(
                has(
                    &format!("pkg:generic/openjdk@{v}"),
                    "opt/java/openjdk/release"
                ),
                "{comps:?}"
            );
        } else {
            let _ = missing(
                "no JDK release file under /usr/lib/jvm (apt-get install default-jdk-headless)",
            );
        }
        // formidable's own dependencies are there too, each from its package.json
        let npm = comps
            .iter()
            .filter(|(p, _)| p.starts_with("pkg:npm/"))
            .count();
        assert!(npm >= 3, "{comps:?}");

        l.ok(&["scan", &src, "--record", "--digest", &digest('b')]);
        l.ok(&[
            "feed",
            "import",
            common::shared_data("osv/samples/trivy-db-ghsa")
                .unwrap()
                .to_str()
                .unwrap(),
        ]);
        let v = l.json(&["vulns", &digest('b')]);
        let found = |adv: &str, purl: &str| {
            v.as_array()
                .unwrap()
                .iter()
                .any(|f| f["advisory"] == adv && f["purl"] == purl)
        };
        assert!(
            found(
                "GHSA-xx65-cc7g-9pfp",
                "pkg:maven/org.springframework.boot/spring-boot@1.5.9.RELEASE"
            ),
            "[{}] {v}",
            l.engine()
        );
        assert!(
            found("GHSA-75v8-2h7p-7m2m", "pkg:npm/formidable@3.2.0"),
            "{v}"
        );
        // no other finding: nothing else installed is named by those advisories
        assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
        // the mapping and the queries see language packages like any other
        let q = l.json(&[
            "query",
            "--package",
            "pkg:maven/org.springframework.boot/spring-boot@<1.5.10",
        ]);
        assert!(q.to_string().contains(&digest('b')), "{q}");
        let q = l.json(&["query", "--package", "pkg:npm/formidable@>=3.5.3"]);
        assert!(!q.to_string().contains(&digest('b')), "{q}");
        // and `affected` by the CVE alias
        let a = l.json(&["affected", "CVE-2018-1196"]);
        assert!(a.to_string().contains(&digest('b')), "{a}");
    });
}
