//! Lock files written by the real tools: npm (package-lock.json and its hidden
//! node_modules/.package-lock.json), yarn 1, yarn 4 (berry, with its node_modules linker)
//! and pnpm 9 install the same packages in scratch directories, and each lock file must pin exactly the (name, version) pairs of the
//! package.json files the install left under node_modules.
//!
//! Needs `npm` on PATH and the npm registry (yarn and pnpm are fetched with `npx`; the
//! four installs run in parallel, a few seconds each once the tools are cached):
//! without npm the test is skipped with a message, unless CI=true, where it fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use buildledger_langpkg::{LockKind, node_lockfile_kind, parse_node_lockfile, parse_package_json};

type Pins = BTreeSet<(String, String)>;

const PACKAGES: [&str; 4] = [
    "lodash@4.17.4",
    "minimist@0.0.8",
    "@babel/parser@7.0.0",
    "express@4.17.1",
];

/// A scratch directory, removed when dropped (a failing test included).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tool: &str) -> Scratch {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "buildledger-nodelock-{tool}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn npm_available() -> bool {
    Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `program args…` in `dir`, outside any CI mode (pnpm would default to a frozen
/// lock file there), and fails with its output if it does.
fn run(dir: &Path, program: &str, args: &[&str]) {
    let started = Instant::now();
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .env("npm_config_update_notifier", "false")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{program} {} took {:?}",
        args[..2].join(" "),
        started.elapsed()
    );
}

fn write_manifest(dir: &Path, dependencies: bool) {
    let deps: Vec<String> = PACKAGES
        .iter()
        .map(|spec| {
            let at = spec[1..].find('@').unwrap() + 1;
            format!("\"{}\": \"{}\"", &spec[..at], &spec[at + 1..])
        })
        .collect();
    let deps = if dependencies {
        format!(", \"dependencies\": {{{}}}", deps.join(", "))
    } else {
        String::new()
    };
    std::fs::write(
        dir.join("package.json"),
        format!(r#"{{"name": "nodelock-probe", "version": "1.0.0", "private": true{deps}}}"#),
    )
    .unwrap();
}

/// (name, version) of every package.json directly in `node_modules/NAME` or
/// `node_modules/@scope/NAME`, nested node_modules included, and pnpm's
/// `node_modules/.pnpm/*/node_modules`. Symbolic links are not followed: what they
/// point at is read where it is.
fn installed(node_modules: &Path, out: &mut Pins) {
    let Ok(entries) = std::fs::read_dir(node_modules) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().unwrap();
        if !kind.is_dir() {
            continue;
        }
        if name == ".pnpm" {
            for store in std::fs::read_dir(entry.path()).unwrap() {
                installed(&store.unwrap().path().join("node_modules"), out);
            }
        } else if name.starts_with('@') {
            for package in std::fs::read_dir(entry.path()).unwrap() {
                let package = package.unwrap();
                if package.file_type().unwrap().is_dir() {
                    installed_package(&package.path(), out);
                }
            }
        } else if !name.starts_with('.') {
            installed_package(&entry.path(), out);
        }
    }
}

fn installed_package(dir: &Path, out: &mut Pins) {
    if let Ok(bytes) = std::fs::read(dir.join("package.json")) {
        let found = parse_package_json(&bytes)
            .unwrap_or_else(|| panic!("{}: unreadable package.json", dir.display()));
        out.insert(found);
    }
    installed(&dir.join("node_modules"), out);
}

fn lock_pins(dir: &Path, relative: &str, kind: LockKind) -> Pins {
    assert_eq!(node_lockfile_kind(relative), Some(kind), "{relative}");
    let bytes = std::fs::read(dir.join(relative))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(relative).display()));
    parse_node_lockfile(kind, &bytes).into_iter().collect()
}

fn check(tool: &str, dir: &Path, locks: &[(&str, LockKind)]) {
    let mut tree = Pins::new();
    installed(&dir.join("node_modules"), &mut tree);
    // What was asked for is there, with its dependencies.
    for want in [
        ("lodash", "4.17.4"),
        ("minimist", "0.0.8"),
        ("@babel/parser", "7.0.0"),
        ("express", "4.17.1"),
    ] {
        assert!(
            tree.contains(&(want.0.to_string(), want.1.to_string())),
            "{tool}: {want:?} not installed: {tree:?}"
        );
    }
    assert!(tree.len() > 40, "{tool}: {} packages", tree.len());
    for &(relative, kind) in locks {
        let pins = lock_pins(dir, relative, kind);
        assert_eq!(
            pins,
            tree,
            "{tool} {relative}: only in the lock file {:?}, only installed {:?}",
            pins.difference(&tree).collect::<Vec<_>>(),
            tree.difference(&pins).collect::<Vec<_>>()
        );
        eprintln!("{tool} {relative}: {} packages, as installed", pins.len());
    }
}

#[test]
fn lock_files_of_real_installs_pin_what_is_installed() {
    if !npm_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "npm is not on PATH (needed on CI)"
        );
        eprintln!("skipped: npm is not on PATH");
        return;
    }
    let started = Instant::now();
    std::thread::scope(|s| {
        let npm = s.spawn(|| {
            let dir = Scratch::new("npm");
            write_manifest(&dir.0, false);
            let mut args = vec![
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                // Whatever the user's .npmrc says, record the tarball URLs, so that
                // reading them is exercised too.
                "--omit-lockfile-registry-resolved=false",
            ];
            args.extend(PACKAGES);
            run(&dir.0, "npm", &args);
            check(
                "npm",
                &dir.0,
                &[
                    ("package-lock.json", LockKind::Npm),
                    ("node_modules/.package-lock.json", LockKind::Npm),
                ],
            );
        });
        let yarn = s.spawn(|| {
            let dir = Scratch::new("yarn");
            write_manifest(&dir.0, true);
            run(
                &dir.0,
                "npx",
                &[
                    "--yes",
                    "yarn@1",
                    "install",
                    "--ignore-scripts",
                    "--non-interactive",
                    "--no-progress",
                    "--ignore-engines",
                ],
            );
            check("yarn", &dir.0, &[("yarn.lock", LockKind::Yarn)]);
        });
        let berry = s.spawn(|| {
            let dir = Scratch::new("berry");
            write_manifest(&dir.0, true);
            // An empty yarn.lock makes the scratch directory the project's root.
            std::fs::write(dir.0.join("yarn.lock"), "").unwrap();
            std::fs::write(
                dir.0.join(".yarnrc.yml"),
                "nodeLinker: node-modules\nenableTelemetry: false\nenableGlobalCache: true\n",
            )
            .unwrap();
            run(
                &dir.0,
                "npx",
                &[
                    "--yes",
                    "@yarnpkg/cli-dist@4",
                    "install",
                    "--mode=skip-build",
                ],
            );
            let lock = std::fs::read_to_string(dir.0.join("yarn.lock")).unwrap();
            assert!(
                lock.contains("\n__metadata:\n"),
                "not a berry lock file:\n{lock}"
            );
            check("yarn berry", &dir.0, &[("yarn.lock", LockKind::Yarn)]);
        });
        let pnpm = s.spawn(|| {
            let dir = Scratch::new("pnpm");
            write_manifest(&dir.0, true);
            run(
                &dir.0,
                "npx",
                &[
                    "--yes",
                    "pnpm@9",
                    "install",
                    "--ignore-scripts",
                    "--no-frozen-lockfile",
                ],
            );
            check("pnpm", &dir.0, &[("pnpm-lock.yaml", LockKind::Pnpm)]);
        });
        for (tool, handle) in [
            ("npm", npm),
            ("yarn", yarn),
            ("yarn berry", berry),
            ("pnpm", pnpm),
        ] {
            if let Err(e) = handle.join() {
                eprintln!("{tool} failed");
                std::panic::resume_unwind(e);
            }
        }
    });
    eprintln!("all installs and checks took {:?}", started.elapsed());
}
