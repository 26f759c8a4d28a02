//! Fuzz buildledger-langpkg's readers of untrusted image files: Java archives
//! (zip, nested archives, pom.properties), Python core metadata, package.json,
//! gemspecs, .NET deps.json, Composer's installed.json, npm/yarn/pnpm lock
//! files, dpkg file lists, runtime version files and runtime binaries. Any bytes must give
//! packages, nothing or an error, never a panic, hang or unbounded allocation.
//! crates/buildledger-langpkg/tests/fuzz_replay.rs replays the seeds (and
//! their truncations) on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = buildledger_langpkg::java_artifacts("app.war", data);
    let _ = buildledger_langpkg::parse_python_metadata(data);
    let _ = buildledger_langpkg::parse_package_json(data);
    let _ = buildledger_langpkg::parse_gemspec(data);
    let _ = buildledger_langpkg::owned_paths(data, &|_| true);
    for r in ["openjdk", "python", "node"] {
        let _ = buildledger_langpkg::parse_runtime_version(r, data);
    }
    let _ = buildledger_langpkg::parse_deps_json(data);
    let _ = buildledger_langpkg::parse_composer_installed(data);
    for kind in [
        buildledger_langpkg::LockKind::Npm,
        buildledger_langpkg::LockKind::Yarn,
        buildledger_langpkg::LockKind::Pnpm,
    ] {
        let _ = buildledger_langpkg::parse_node_lockfile(kind, data);
    }
    for (r, path) in [("node", "usr/local/bin/node"), ("python", "usr/lib/libpython3.11.so.1.0")] {
        let _ = buildledger_langpkg::runtime_binary_version(r, path, &mut &data[..]);
    }
});
