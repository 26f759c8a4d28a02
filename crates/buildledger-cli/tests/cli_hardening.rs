//! Hardening of the `buildledger` binary against hostile input and hostile
//! surroundings: empty database targets, huge and non-ASCII values in
//! tables, secrets in database targets and the environment, read-only
//! ledgers (files, directories, PostgreSQL roles), control characters in
//! stored strings, and a standard output closed by its reader.
//!
//! Read-only SQLite: the tests run as root, which ignores permission bits,
//! so the read commands run as `nobody` through `setpriv` (util-linux) on a
//! 0444 file in a 0555 directory. Without `setpriv` (and as root) those
//! halves are skipped with a message, except under `CI=true`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;
use common::{Ledger, each, in_ci, pg_url, root};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const COMMIT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const COMMIT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Read commands with arguments that succeed on a ledger holding `D1`.
fn read_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["info"],
        vec!["table"],
        vec!["table", "--format", "csv"],
        vec!["show", D1],
        vec!["query", "--commit", COMMIT_A],
        vec!["conflicts"],
        vec!["vulns", D1],
        vec!["changes", "--since", "7d"],
        vec!["mismatches"],
        vec!["audit", "verify"],
    ]
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_buildledger"));
    c.current_dir(root())
        .env_remove("BUILDLEDGER_DB")
        .env_remove("BUILDLEDGER_TRUST_POLICY");
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// -- item 4: empty database targets -------------------------------------------

#[test]
fn empty_database_target_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let record = ["record", "--digest", D1, "--commit", COMMIT_A];
    for db in ["", " ", "sqlite:", ":memory:"] {
        let o = bin()
            .current_dir(dir.path())
            .args(["--db", db])
            .args(record)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--db {db:?}: {}", text(&o));
        let o = bin()
            .current_dir(dir.path())
            .env("BUILDLEDGER_DB", db)
            .args(record)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "BUILDLEDGER_DB={db:?}: {}",
            text(&o)
        );
    }
    // Nothing was written anywhere near.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// -- item 7: width arithmetic and slicing in output ---------------------------

#[test]
fn huge_and_multibyte_values_do_not_break_tables() {
    each(|l| {
        let long_repo = format!("https://example.com/{}", "a".repeat(70_000));
        // Multi-byte characters past 65,535 columns, too.
        let wide_tag = "é".repeat(66_000);
        l.ok(&[
            "record", "--digest", D1, "--repo", &long_repo, "--commit", COMMIT_A,
        ]);
        // (In a file: one argument may not exceed 128 KiB.)
        let file = l.path("wide.json");
        let rec = serde_json::json!({
            "subjects": [{"digest": D2}],
            "source": {"commit": COMMIT_B, "tag": wide_tag},
        });
        std::fs::write(&file, rec.to_string()).unwrap();
        l.ok(&["record", "--file", file.to_str().unwrap()]);
        for args in [
            vec!["table"],
            vec!["table", "--format", "csv"],
            vec!["query", "--commit", COMMIT_A],
            vec!["show", D1],
            vec!["show", D2],
        ] {
            let o = l.run(&args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
            let out = String::from_utf8(o.stdout).unwrap();
            let wanted = if args.contains(&D2) {
                &wide_tag
            } else {
                &long_repo
            };
            assert!(out.contains(wanted.as_str()), "{args:?}: value cut");
        }
        // One huge cell does not pad every other row to its width.
        let table = l.ok(&["table"]);
        for line in table.lines() {
            if !line.contains(&long_repo) && !line.contains(&wide_tag) {
                assert!(line.chars().count() < 1_000, "padded line: {}", line.len());
            }
        }
    });
}

// -- item 8: secrets never printed --------------------------------------------

/// Run `args` and assert `secret` is on neither output stream.
fn assert_no_secret(cmd: &mut Command, secret: &str, what: &str) -> Output {
    let o = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains(secret), "{what}: secret printed:\n{all}");
    o
}

#[test]
fn database_passwords_are_never_printed() {
    const S: &str = "S3cr3tQz";
    let targets = [
        format!("postgres://a@127.0.0.1:1/x?password={S}"),
        format!("postgres://u:{S}@127.0.0.1:1/db"),
        // A raw `@` in the password: its first part must not leak either.
        format!("postgres://u:{S}@ss@127.0.0.1:1/db"),
        format!("postgres://u:p@{S}@127.0.0.1:1/db"),
        format!("postgresql://u:{S}@127.0.0.1:1/db?sslpassword={S}&passfile=/{S}"),
        format!("postgres://127.0.0.1:1/x?pass%77ord={S}"),
        format!("host=127.0.0.1 port=1 user=u password={S}"),
        format!("host=127.0.0.1 port=1 password='{S} {S}'"),
        format!("host=127.0.0.1 port=1 password = {S}"),
    ];
    for t in &targets {
        for args in [vec!["info"], vec!["record", "--digest", D1]] {
            let o = assert_no_secret(bin().args(["--db", t]).args(&args), S, t);
            assert_ne!(o.status.code(), Some(0), "{t}: {}", text(&o));
            let o = assert_no_secret(bin().env("BUILDLEDGER_DB", t).args(&args), S, t);
            assert_ne!(o.status.code(), Some(0), "{t}: {}", text(&o));
        }
    }
    // A raw `@` in a URL password is refused as bad input (the driver
    // would read the rest of the password as the host).
    let o = bin()
        .args([
            "--db",
            &format!("postgres://u:p@{S}@127.0.0.1:1/db"),
            "info",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn database_password_is_redacted_on_a_working_connection() {
    const S: &str = "S3cr3tQz";
    let Some(l) = Ledger::postgres() else { return };
    l.ok(&["record", "--digest", D1, "--commit", COMMIT_A]);
    // Trust authentication ignores the password; what is printed must not.
    let schema = l.pg_schema.clone().unwrap();
    let rest = pg_url().strip_prefix("postgres://").unwrap().to_string();
    let (user, host) = rest.split_once('@').unwrap();
    let user = user.split(':').next().unwrap();
    let url = format!("postgres://{user}:{S}@{host}?options=-csearch_path%3D{schema}&password={S}");
    for args in [vec!["info"], vec!["--json", "info"], vec!["show", D2]] {
        assert_no_secret(bin().args(["--db", &url]).args(&args), S, &url);
    }
    let o = assert_no_secret(bin().args(["--db", &url, "info"]), S, &url);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(":***@"),
        "{}",
        text(&o)
    );
}

#[test]
fn registry_password_and_private_key_never_reach_an_error_line() {
    const S: &str = "S3cr3tRegistryQz";
    // An unreachable registry: the error is printed, the credentials not.
    let o = assert_no_secret(
        bin()
            .env("BUILDLEDGER_REGISTRY_USER", "u")
            .env("BUILDLEDGER_REGISTRY_PASSWORD", S)
            .args(["scan", "registry:127.0.0.1:1/x/y:latest"]),
        S,
        "scan with a registry password",
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    let o = assert_no_secret(
        bin()
            .env("BUILDLEDGER_REGISTRY_TOKEN", S)
            .args(["scan", "registry:127.0.0.1:1/x/y:latest"]),
        S,
        "scan with a registry token",
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    // A broken private key: the message names the file, not its content.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    std::fs::write(
        &key,
        format!("-----BEGIN PRIVATE KEY-----\n{S}{S}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let o = assert_no_secret(
        bin().args([
            "attest",
            "--digest",
            D1,
            "--commit",
            COMMIT_A,
            "--key",
            key.to_str().unwrap(),
        ]),
        S,
        "attest with a broken key",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

// -- item 11: read-only ledgers -----------------------------------------------

/// Run the binary as `nobody` (root ignores permission bits), or as
/// ourselves when not root. None when that is not possible here.
fn as_reader() -> Option<Command> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some(bin());
    }
    let ok = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if in_ci() {
            panic!("CI=true, running as root, and setpriv cannot drop to nobody");
        }
        eprintln!("SKIP read-only SQLite half: running as root without setpriv");
        return None;
    }
    let mut c = Command::new("setpriv");
    c.current_dir(root())
        .env_remove("BUILDLEDGER_DB")
        .env_remove("BUILDLEDGER_TRUST_POLICY")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_buildledger"));
    Some(c)
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn read_commands_work_on_a_read_only_sqlite_ledger() {
    let Some(_) = as_reader() else { return };
    for dir_mode in [0o555, 0o777] {
        let top = tempfile::tempdir().unwrap();
        chmod(top.path(), 0o755);
        let dir = top.path().join("ledger");
        let db = dir.join("l.db");
        let o = bin()
            .args(["--db", db.to_str().unwrap()])
            .args(["record", "--digest", D1, "--commit", COMMIT_A])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        chmod(&db, 0o444);
        chmod(&dir, dir_mode);
        let before = listing(&dir);
        for args in read_commands() {
            let o = as_reader()
                .unwrap()
                .args(["--db", db.to_str().unwrap()])
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(
                o.status.code(),
                Some(0),
                "dir {dir_mode:o}: {args:?}: {}",
                text(&o)
            );
            if dir_mode == 0o555 {
                assert_eq!(listing(&dir), before, "{args:?} created files");
            }
        }
        let v: serde_json::Value = serde_json::from_slice(
            &as_reader()
                .unwrap()
                .args(["--db", db.to_str().unwrap(), "--json", "show", D1])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        assert_eq!(v["records"].as_array().map(Vec::len), Some(1), "{v}");
        // Writing still needs write access.
        let o = as_reader()
            .unwrap()
            .args(["--db", db.to_str().unwrap()])
            .args(["record", "--digest", D2, "--commit", COMMIT_B])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        chmod(&dir, 0o755);
    }
}

#[test]
fn read_commands_create_nothing() {
    let top = tempfile::tempdir().unwrap();
    let db = top.path().join("absent").join("l.db");
    let mut reads = read_commands();
    reads.push(vec!["affected", "CVE-2024-0001"]);
    reads.push(vec!["lineage", D1]);
    for args in reads {
        let o = bin()
            .args(["--db", db.to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("no ledger at"),
            "{args:?}: {}",
            text(&o)
        );
        assert_eq!(listing(top.path()), Vec::<String>::new(), "{args:?}");
    }
    // Also through the environment and for the default location.
    let home = tempfile::tempdir().unwrap();
    let o = bin()
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .arg("info")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(listing(home.path()), Vec::<String>::new());
    // A write creates it.
    let o = bin()
        .args(["--db", db.to_str().unwrap(), "record", "--digest", D1])
        .args(["--commit", COMMIT_A])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(db.exists());
}

#[test]
fn read_commands_on_an_empty_postgres_schema_create_nothing() {
    let Some(l) = Ledger::postgres() else { return };
    let o = l.run(&["info"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no ledger at"));
    let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
            &[l.pg_schema.as_ref().unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "a read created tables");
}

#[test]
fn reads_never_migrate_an_older_ledger() {
    let check = |l: &Ledger| {
        drop(buildledger_store::Store::open_migrated_to(&l.db, 4).unwrap());
        let o = l.run(&["info"]);
        assert_eq!(o.status.code(), Some(1), "[{}] {}", l.engine(), text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("older") && err.contains("buildledger migrate"),
            "{err}"
        );
        let mut s = buildledger_store::Store::open_migrated_to(&l.db, 4).unwrap();
        assert_eq!(s.schema_version().unwrap(), 4, "a read migrated");
        drop(s);
        l.ok(&["migrate"]);
        let v = l.json(&["info"]);
        assert!(v["schema_version"].as_i64().unwrap() > 4, "{v}");
    };
    each(check);
}

#[test]
fn read_commands_work_for_a_select_only_postgres_role() {
    let Some(l) = Ledger::postgres() else { return };
    l.ok(&["record", "--digest", D1, "--commit", COMMIT_A]);
    let schema = l.pg_schema.clone().unwrap();
    let role = format!("{schema}_ro");
    let mut admin = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN;
             GRANT USAGE ON SCHEMA {schema} TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};"
        ))
        .unwrap();
    struct DropRole(String);
    impl Drop for DropRole {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
                let r = &self.0;
                let _ = c.batch_execute(&format!("DROP OWNED BY {r}; DROP ROLE {r}"));
            }
        }
    }
    let _guard = DropRole(role.clone());
    let rest = pg_url();
    let rest = rest.strip_prefix("postgres://").unwrap();
    let (_, host) = rest.split_once('@').unwrap();
    let sep = if host.contains('?') { '&' } else { '?' };
    let url = format!("postgres://{role}@{host}{sep}options=-csearch_path%3D{schema}");
    for args in read_commands() {
        let o = bin().args(["--db", &url]).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    }
    let o = bin()
        .args(["--db", &url, "--json", "show", D1])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["records"].as_array().map(Vec::len), Some(1), "{v}");
    let o = bin()
        .args(["--db", &url, "record", "--digest", D2])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

// -- item 12: control characters ----------------------------------------------

/// Hostile strings: ESC sequences, NUL, BEL, CR, a C1 CSI and bidi
/// overrides and isolates.
const NASTY: [&str; 6] = ["\u{1b}[31m", "\u{0}", "\u{7}", "\r", "\u{9b}", "\u{202e}"];

fn nasty(tag: &str) -> String {
    format!("{tag}-{}-\u{2066}x\u{2069}", NASTY.concat())
}

fn assert_clean(bytes: &[u8], what: &str) {
    let s = String::from_utf8_lossy(bytes);
    for c in s.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: raw {c:?} in output:\n{s}");
    }
}

#[test]
fn control_characters_are_escaped_on_output() {
    each(|l| {
        // NUL is bad input on both engines (PostgreSQL TEXT cannot hold
        // it): refused with the field named, nothing stored.
        let file = l.path("nul.json");
        let rec = serde_json::json!({
            "subjects": [{"digest": D1}],
            "labels": {"k": nasty("v")},
        });
        std::fs::write(&file, rec.to_string()).unwrap();
        let o = l.run(&["record", "--file", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "NUL: {}", text(&o));
        assert!(
            text(&o).contains("labels.k") && text(&o).contains("NUL"),
            "{}",
            text(&o)
        );
        let nasty = |tag: &str| nasty(tag).replace('\u{0}', "");
        let repo = format!("https://example.com/{}", nasty("repo"));
        let file = l.path("r.json");
        let mut labels = serde_json::Map::new();
        labels.insert(nasty("k"), serde_json::Value::String(nasty("v")));
        for (d, commit) in [(D1, COMMIT_A), (D1, COMMIT_B), (D2, COMMIT_A)] {
            let rec = serde_json::json!({
                "subjects": [{"digest": d, "references": [nasty("ref")]}],
                "source": {"repo": repo, "commit": commit, "tag": nasty("tag")},
                "builder": {"id": format!("https://ci.example/{}", nasty("b"))},
                "languages": [nasty("lang")],
                "labels": labels,
            });
            std::fs::write(&file, rec.to_string()).unwrap();
            l.ok(&["record", "--file", file.to_str().unwrap()]);
        }
        for args in [
            vec!["table"],
            vec!["table", "--format", "csv"],
            vec!["show", D1],
            vec!["query", "--commit", COMMIT_A],
            vec!["conflicts"],
        ] {
            let o = l.run(&args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
            assert_clean(&o.stdout, &format!("{args:?} stdout"));
            assert_clean(&o.stderr, &format!("{args:?} stderr"));
            let out = String::from_utf8_lossy(&o.stdout);
            // (conflicts shows only digests and commits, which are checked.)
            assert!(
                args[0] == "conflicts" || out.contains("\\x1b[31m") && out.contains("\\u{202e}"),
                "{args:?}: not escaped visibly:\n{out}"
            );
        }
        // JSON stays JSON, means the same, and shows nothing raw.
        for args in [
            vec!["show", D1],
            vec!["table"],
            vec!["query", "--commit", COMMIT_A],
        ] {
            let mut a = vec!["--json"];
            a.extend(&args);
            let o = l.run(&a);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
            assert_clean(&o.stdout, &format!("--json {args:?}"));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert!(
                holds(&v, &repo),
                "--json {args:?}: repo not kept exactly: {v}"
            );
        }
        let v = l.json(&["show", D1]);
        assert_eq!(
            v["records"][0]["source"]["repo"].as_str(),
            Some(repo.as_str()),
            "{v}"
        );
    });
}

/// Whether `s` is one of the strings in `v`, or a word of one.
fn holds(v: &serde_json::Value, s: &str) -> bool {
    match v {
        serde_json::Value::String(x) => x == s || x.split(' ').any(|w| w == s),
        serde_json::Value::Array(a) => a.iter().any(|x| holds(x, s)),
        serde_json::Value::Object(o) => o.values().any(|x| holds(x, s)),
        _ => false,
    }
}

#[test]
fn messages_on_stderr_escape_what_they_echo() {
    let dir = tempfile::tempdir().unwrap();
    // (No NUL: it cannot be passed in an argument.)
    let name = dir.path().join(nasty("file").replace('\u{0}', ""));
    let o = bin()
        .args(["--db", dir.path().join("l.db").to_str().unwrap()])
        .args(["record", "--file", name.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_clean(&o.stderr, "error line");
    assert!(String::from_utf8_lossy(&o.stderr).contains("\\x1b[31m"));
}

// -- item 13: a closed standard output ----------------------------------------

/// Run with stdout a pipe whose reader is gone before anything is written;
/// the output must be larger than a pipe buffer (64 KiB) for EPIPE to be
/// certain whatever the scheduling.
fn run_into_closed_pipe(l: &Ledger, args: &[&str]) -> Output {
    let mut child = bin()
        .env("BUILDLEDGER_DB", &l.db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_output_quietly() {
    each(|l| {
        let long_repo = format!("https://example.com/{}", "b".repeat(100_000));
        l.ok(&[
            "record", "--digest", D1, "--repo", &long_repo, "--commit", COMMIT_A,
        ]);
        for (args, code) in [
            (vec!["table"], 0),
            (vec!["table", "--format", "csv"], 0),
            (vec!["--json", "table"], 0),
            (vec!["show", D1], 0),
            (vec!["--json", "show", D1], 0),
            (vec!["query", "--commit", COMMIT_A], 0),
            // The check's own exit code survives a truncated output.
            (vec!["query", "--commit", COMMIT_A, "--fail-on-match"], 3),
            (vec!["info"], 0),
            (vec!["conflicts"], 0),
            (vec!["audit", "verify"], 0),
        ] {
            let o = run_into_closed_pipe(l, &args);
            assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                !err.contains("Broken pipe") && !err.contains("panicked"),
                "{args:?}: {err}"
            );
        }
        // A write command completes even when nobody reads what it says.
        let o = run_into_closed_pipe(l, &["record", "--digest", D2, "--commit", COMMIT_B]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(
            l.json(&["show", D2])["records"].as_array().map(Vec::len),
            Some(1)
        );
    });
}

#[test]
fn a_closed_stdout_does_not_panic_println_sites() {
    // `keygen` prints with println!; the crate's println! must not panic.
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["keygen", "--out", dir.path().join("k").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    let _ = std::io::stderr().flush();
}
