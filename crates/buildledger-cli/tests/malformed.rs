//! Issue 9: an attacker's test over every command that reads an input.
//!
//! Every command that takes a file, a directory, an image, standard input or
//! a value is run through the real binary (the shared harness: a fresh SQLite
//! file and a fresh PostgreSQL schema) over a corpus of malformed inputs made
//! here: real good inputs (made by the CLI itself — keygen, attest, audit
//! checkpoint, scan --format cyclonedx — or taken from the repository and
//! `../shared`) cut at several offsets, oversized (the limit variable set
//! small), the wrong type (array, number, YAML, binary garbage, empty,
//! invalid UTF-8), special files (/dev/zero, a FIFO, a directory, a dangling
//! symlink, a socket), deep nesting and control characters.
//!
//! For every case: the exit code is one the README documents (2 for bad
//! input; 0 only where the input is legitimately accepted), never a panic or
//! a signal; no raw ESC, NUL or U+202E reaches stdout or stderr; a refusal
//! names the file or flag on stderr and stores nothing (`info --json` before
//! and after on the same ledger); the command ends within a 60 s watchdog;
//! and the big cases (/dev/zero, oversize, deep nesting) stay under 300 MB of
//! peak RSS (`/usr/bin/time -v`; skipped without it unless `CI=true`).
//!
//! The tables are the test: a corpus kind is one line of [`KINDS`], a file
//! slot one `Slot::new(…)` line, an argument case one `case(…)` line. Every
//! failure is collected and reported with its command line, exit code and
//! stderr, so one run shows every defect.

mod common;

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Ledger, have, in_ci, root};
use serde_json::Value;

const WATCHDOG: Duration = Duration::from_secs(60);
const MAX_RSS_KB: u64 = 300 * 1024;
/// Most bytes of a child's stdout/stderr kept (the rest is drained).
const CAPTURE: usize = 1 << 20;
const BUILDER: &str = "https://ci.example/builders/malformed";
/// The digest flag cases record under.
const D: &str = "sha256:5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
/// The attestation's subject.
const D_ATT: &str = "sha256:abababababababababababababababababababababababababababababababab";
/// The digest accepted control characters are recorded under.
const D_CTRL: &str = "sha256:c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";

// ---------------------------------------------------------------------------
// What a case expects
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Want {
    /// Refused with one of these codes, nothing stored, stderr names every needle.
    Reject(&'static [i32]),
    /// Legitimately accepted: exit 0 (may store).
    Accept,
    /// Accepted (0, may store) or refused with one of these codes (then as `Reject`).
    Either(&'static [i32]),
    /// Tolerated but reported: exit 0 or 2, nothing stored, stderr names
    /// every needle either way (feed import without --strict: "import the
    /// good records, report the rest").
    Reported,
}

const BAD: Want = Want::Reject(&[2]);
/// Bad input, or an I/O failure writing an output (exit 1, documented).
const BAD_OR_IO: Want = Want::Reject(&[1, 2]);

struct Case {
    name: String,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    stdin: Option<PathBuf>,
    want: Want,
    needles: Vec<String>,
    rss: bool,
    /// Extra check after the run; Err(why) is a failure.
    check: Option<Box<dyn Fn() -> Result<(), String>>>,
}

fn case<S: AsRef<std::ffi::OsStr>>(name: impl Into<String>, args: &[S]) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|a| a.as_ref().to_os_string()).collect(),
        env: vec![],
        stdin: None,
        want: BAD,
        needles: vec![],
        rss: false,
        check: None,
    }
}

impl Case {
    fn want(mut self, w: Want) -> Case {
        self.want = w;
        self
    }
    fn names(mut self, n: impl Into<String>) -> Case {
        self.needles.push(n.into());
        self
    }
    fn env(mut self, k: &str, v: &str) -> Case {
        self.env.push((k.into(), v.into()));
        self
    }
    fn stdin(mut self, p: impl Into<PathBuf>) -> Case {
        self.stdin = Some(p.into());
        self
    }
    fn rss(mut self) -> Case {
        self.rss = true;
        self
    }
    fn check(mut self, f: impl Fn() -> Result<(), String> + 'static) -> Case {
        self.check = Some(Box::new(f));
        self
    }
}

// ---------------------------------------------------------------------------
// The corpus of malformed inputs, one line per kind
// ---------------------------------------------------------------------------

/// How a kind of input is made from the slot's good input.
enum Made {
    Bytes(Vec<u8>),
    /// Larger than the slot's limit (the slot sets its limit small).
    Oversize,
    /// A path used as is at the top level (linked to from inside trees).
    Path(&'static str),
    /// A symbolic link to this path.
    Link(&'static str),
    Fifo,
    Dir,
    Dangling,
    Socket,
    Missing,
}

struct Kind {
    name: &'static str,
    make: fn(&[u8]) -> Made,
    /// Big: peak RSS is measured.
    big: bool,
}

const fn k(name: &'static str, make: fn(&[u8]) -> Made) -> Kind {
    Kind {
        name,
        make,
        big: false,
    }
}
const fn big(name: &'static str, make: fn(&[u8]) -> Made) -> Kind {
    Kind {
        name,
        make,
        big: true,
    }
}

fn cut(g: &[u8], num: usize, den: usize) -> Made {
    Made::Bytes(g[..(g.len() * num / den).max(1).min(g.len() - 1)].to_vec())
}

/// `g` with `ins` inserted inside a string value past the middle (after the
/// first `"` there, else in the middle).
fn insert_mid(g: &[u8], ins: &[u8]) -> Made {
    let mid = g.len() / 2;
    let at = g[mid..]
        .iter()
        .position(|&b| b == b'"')
        .map(|p| mid + p + 1)
        .unwrap_or(mid);
    let mut v = g[..at].to_vec();
    v.extend_from_slice(ins);
    v.extend_from_slice(&g[at..]);
    Made::Bytes(v)
}

fn garbage(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const KINDS: &[Kind] = &[
    k("truncated-1", |g| Made::Bytes(g[..1].to_vec())),
    k("truncated-quarter", |g| cut(g, 1, 4)),
    k("truncated-half", |g| cut(g, 1, 2)),
    k("truncated-last-byte", |g| cut(g, 1, 1)),
    k("empty", |_| Made::Bytes(vec![])),
    k("whitespace", |_| Made::Bytes(b" \n\t\r\n".to_vec())),
    k("json-empty-array", |_| Made::Bytes(b"[]".to_vec())),
    k("json-array-of-scalars", |_| {
        Made::Bytes(b"[1, \"x\", null]".to_vec())
    }),
    k("json-number", |_| Made::Bytes(b"42".to_vec())),
    k("json-string", |_| Made::Bytes(b"\"x\"".to_vec())),
    k("json-null", |_| Made::Bytes(b"null".to_vec())),
    k("yaml", |_| Made::Bytes(b"a: b\nc:\n  - d\n".to_vec())),
    k("binary-garbage", |_| Made::Bytes(garbage(4096))),
    k("invalid-utf8", |g| insert_mid(g, b"\xff\xfe\xc3")),
    k("raw-nul", |g| insert_mid(g, b"\0")),
    k("raw-esc", |g| insert_mid(g, b"\x1b[31m\x1b]0;owned\x07")),
    big("deep-arrays", |_| Made::Bytes(vec![b'['; 100_000])),
    big("deep-objects", |_| Made::Bytes(b"{\"a\":".repeat(100_000))),
    big("deep-yaml-flow", |_| {
        Made::Bytes(b"a: ".iter().chain(&[b'['; 100_000]).copied().collect())
    }),
    // 1 MB: far under every limit; a parser quadratic in depth takes hours.
    big("deep-yaml-flow-1m", |_| {
        Made::Bytes(b"a: ".iter().chain(&[b'['; 1_000_000]).copied().collect())
    }),
    big("oversize", |_| Made::Oversize),
    big("dev-zero", |_| Made::Path("/dev/zero")),
    big("symlink-to-dev-zero", |_| Made::Link("/dev/zero")),
    k("fifo", |_| Made::Fifo),
    k("directory", |_| Made::Dir),
    k("dangling-symlink", |_| Made::Dangling),
    k("socket", |_| Made::Socket),
    k("missing", |_| Made::Missing),
];

/// A good input padded past `limit` (a limit set small for the case).
fn oversize(good: &[u8], at_least: usize) -> Vec<u8> {
    let mut v = good.to_vec();
    while v.len() <= at_least {
        v.push(b' ');
    }
    v
}

static SOCKETS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn mkfifo(at: &Path) {
    let st = Command::new("mkfifo").arg(at).status().expect("mkfifo");
    assert!(st.success(), "mkfifo {}", at.display());
}

/// Puts `m` at `at` (inside trees, `Path` becomes a symlink); returns the
/// path to pass at the top level.
fn materialize(m: &Made, at: &Path, good: &[u8], top: bool, over: usize) -> PathBuf {
    if let Some(p) = at.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    let _ = std::fs::remove_file(at);
    let _ = std::fs::remove_dir_all(at);
    match m {
        Made::Bytes(b) => std::fs::write(at, b).unwrap(),
        Made::Oversize => std::fs::write(at, oversize(good, over)).unwrap(),
        Made::Path(p) if top => return PathBuf::from(p),
        Made::Path(p) | Made::Link(p) => std::os::unix::fs::symlink(p, at).unwrap(),
        Made::Fifo => mkfifo(at),
        Made::Dir => std::fs::create_dir_all(at).unwrap(),
        Made::Dangling => std::os::unix::fs::symlink(at.with_extension("gone"), at).unwrap(),
        Made::Socket => {
            // Bound at a short path (SUN_LEN), then moved into place.
            let short = std::env::temp_dir().join(format!(
                "bl-sock-{}-{}",
                std::process::id(),
                SOCKETS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            ));
            let _ = std::fs::remove_file(&short);
            drop(std::os::unix::net::UnixListener::bind(&short).unwrap());
            std::fs::rename(&short, at).unwrap();
        }
        Made::Missing => {}
    }
    at.to_path_buf()
}

/// Where a slot's input goes.
enum Wrap {
    /// The input's path is the argument.
    Top,
    /// The input is standard input (`-`).
    Stdin,
    /// A copy of this tree with the input at `inner`; the tree is the argument.
    InDir(PathBuf, &'static str),
    /// The docker-archive `tar` extracted, the input at `inner`, packed again.
    InTar(PathBuf, &'static str),
    /// A zip holding the input as `inner` (regular files only).
    InZip(&'static str),
}

/// How a slot's size limit is made small.
enum Limit {
    /// Set this variable to 1K; the oversize input is 2 KiB or more.
    Env(&'static str),
    /// A fixed limit of this many bytes.
    Fixed(usize),
    /// No size limit applies to this input (the kind is skipped).
    Unlimited,
}

/// One command that reads an input, with `{}` where the input goes.
struct Slot {
    name: &'static str,
    args: Vec<String>,
    good: Vec<u8>,
    ext: &'static str,
    wrap: Wrap,
    limit: Limit,
    good_want: Want,
    bad_want: Want,
    /// What special files (not regular: FIFO, device, …) expect; default `bad_want`.
    special_want: Option<Want>,
    /// Kinds that may legitimately be accepted here (exit 0 or 2).
    either: &'static [&'static str],
    /// Kinds that do not apply (e.g. "yaml" where YAML is a good input).
    skip: &'static [&'static str],
    /// Names the case must print (besides the input's path).
    needles: Vec<String>,
}

impl Slot {
    fn new(name: &'static str, args: &[&str], good: Vec<u8>, ext: &'static str) -> Slot {
        assert!(!good.is_empty(), "{name}: empty good input");
        Slot {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            good,
            ext,
            wrap: Wrap::Top,
            limit: Limit::Unlimited,
            good_want: Want::Accept,
            bad_want: BAD,
            special_want: None,
            either: &[],
            skip: &[],
            needles: vec![],
        }
    }
    fn wrap(mut self, w: Wrap) -> Slot {
        self.wrap = w;
        self
    }
    fn limit(mut self, l: Limit) -> Slot {
        self.limit = l;
        self
    }
    fn good_want(mut self, w: Want) -> Slot {
        self.good_want = w;
        self
    }
    fn bad_want(mut self, w: Want) -> Slot {
        self.bad_want = w;
        self
    }
    fn special_want(mut self, w: Want) -> Slot {
        self.special_want = Some(w);
        self
    }
    fn either(mut self, kinds: &'static [&'static str]) -> Slot {
        self.either = kinds;
        self
    }
    fn skip(mut self, s: &'static [&'static str]) -> Slot {
        self.skip = s;
        self
    }
    fn names(mut self, n: &str) -> Slot {
        self.needles.push(n.into());
        self
    }

    /// Every case of this slot: the good input, then every kind of [`KINDS`].
    fn cases(&self, dir: &Path) -> Vec<Case> {
        let safe: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = dir.join(format!("slot-{safe}"));
        std::fs::create_dir_all(&dir).unwrap();
        let good_kind = Kind {
            name: "good",
            make: |_| Made::Missing,
            big: false,
        };
        let mut out = Vec::new();
        for kind in std::iter::once(&good_kind).chain(KINDS) {
            if self.skip.contains(&kind.name) {
                continue;
            }
            let made = if kind.name == "good" {
                Made::Bytes(self.good.clone())
            } else {
                (kind.make)(&self.good)
            };
            let mut env = vec![];
            let over = match (&made, &self.limit) {
                (Made::Oversize, Limit::Unlimited) => continue,
                (Made::Oversize, Limit::Env(var)) => {
                    env.push((var.to_string(), "1K".to_string()));
                    2048
                }
                (Made::Oversize, Limit::Fixed(n)) => *n,
                _ => 0,
            };
            let regular = matches!(made, Made::Bytes(_) | Made::Oversize);
            let file = dir.join(format!("{}.{}", kind.name, self.ext));
            let (input, stdin): (PathBuf, Option<PathBuf>) = match &self.wrap {
                Wrap::Top => (materialize(&made, &file, &self.good, true, over), None),
                Wrap::Stdin => {
                    // Standard input can be a file, a directory or /dev/zero;
                    // FIFOs, sockets and missing files are the shell's business.
                    if matches!(
                        made,
                        Made::Fifo | Made::Socket | Made::Missing | Made::Dangling
                    ) {
                        continue;
                    }
                    let p = materialize(&made, &file, &self.good, true, over);
                    (PathBuf::from("-"), Some(p))
                }
                Wrap::InDir(template, inner) => {
                    let tree = dir.join(format!("{}.tree", kind.name));
                    copy_tree(template, &tree);
                    materialize(&made, &tree.join(inner), &self.good, false, over);
                    (tree, None)
                }
                Wrap::InTar(template, inner) => {
                    if matches!(made, Made::Socket) {
                        continue; // tar does not archive sockets
                    }
                    let tree = dir.join(format!("{}.tree", kind.name));
                    extract(template, &tree);
                    materialize(&made, &tree.join(inner), &self.good, false, over);
                    let tar = dir.join(format!("{}.tar", kind.name));
                    pack(&tree, &tar);
                    (tar, None)
                }
                Wrap::InZip(inner) => {
                    if !regular {
                        continue;
                    }
                    let stage = dir.join(format!("{}.stage", kind.name));
                    materialize(&made, &stage.join(inner), &self.good, false, over);
                    let z = dir.join(format!("{}.zip", kind.name));
                    zip(&stage, &z);
                    (z, None)
                }
            };
            let shown = input.display().to_string();
            let args: Vec<String> = self.args.iter().map(|a| a.replace("{}", &shown)).collect();
            let mut c = case(format!("{} <- {}", self.name, kind.name), &args);
            c.stdin = stdin;
            c.env = env;
            c.rss = kind.big;
            if kind.name == "good" {
                c.want = self.good_want;
            } else {
                c.want = if self.either.contains(&kind.name) {
                    Want::Either(&[2])
                } else if regular {
                    self.bad_want
                } else {
                    self.special_want.unwrap_or(self.bad_want)
                };
                c.needles.push(if matches!(self.wrap, Wrap::Stdin) {
                    "<stdin>".into()
                } else {
                    shown.clone()
                });
                c.needles.extend(self.needles.iter().cloned());
                if let (Made::Oversize, Limit::Env(var)) = (&made, &self.limit) {
                    c.needles.push(var.to_string());
                }
            }
            out.push(c);
        }
        out
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    let _ = std::fs::remove_dir_all(dst);
    run_tool(Command::new("cp").arg("-a").arg(src).arg(dst));
}

fn extract(tar: &Path, dst: &Path) {
    let _ = std::fs::remove_dir_all(dst);
    std::fs::create_dir_all(dst).unwrap();
    run_tool(Command::new("tar").arg("-xf").arg(tar).arg("-C").arg(dst));
}

fn pack(tree: &Path, tar: &Path) {
    let mut names: Vec<OsString> = std::fs::read_dir(tree)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    run_tool(
        Command::new("tar")
            .arg("-cf")
            .arg(tar)
            .arg("-C")
            .arg(tree)
            .args(names),
    );
}

fn zip(stage: &Path, out: &Path) {
    let _ = std::fs::remove_file(out);
    run_tool(
        Command::new("zip")
            .args(["-q", "-r", "-y"])
            .arg(out)
            .arg(".")
            .current_dir(stage),
    );
}

fn run_tool(c: &mut Command) -> Vec<u8> {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        o.status.success(),
        "{c:?}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

// ---------------------------------------------------------------------------
// Running a case: watchdog, captured output, peak RSS
// ---------------------------------------------------------------------------

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
    /// Run under /usr/bin/time -v.
    measured: bool,
    rss_kb: Option<u64>,
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut keep = Vec::new();
        let mut buf = [0u8; 65536];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = CAPTURE.saturating_sub(keep.len());
            keep.extend_from_slice(&buf[..n.min(room)]);
        }
        keep
    })
}

fn time_available() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| {
        let ok = Path::new("/usr/bin/time").is_file();
        if !ok {
            assert!(!in_ci(), "CI=true but /usr/bin/time is missing");
            eprintln!("SKIP peak-RSS checks: /usr/bin/time is missing");
        }
        ok
    })
}

fn exec(db: &str, c: &Case) -> Outcome {
    let bin = env!("CARGO_BIN_EXE_buildledger");
    let timed = c.rss && time_available();
    let mut cmd = if timed {
        let mut t = Command::new("/usr/bin/time");
        t.arg("-v").arg(bin);
        t
    } else {
        Command::new(bin)
    };
    cmd.args(&c.args)
        .current_dir(root())
        .env("BUILDLEDGER_DB", db)
        .env_remove("BUILDLEDGER_TRUST_POLICY")
        .envs(c.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    match &c.stdin {
        None => cmd.stdin(Stdio::null()),
        Some(p) => {
            cmd.stdin(std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        }
    };
    let mut child = cmd.spawn().expect("spawn buildledger");
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let t0 = Instant::now();
    let (status, timed_out) = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break (s, false);
        }
        if t0.elapsed() > WATCHDOG {
            // The whole process group this test started (the binary, and
            // /usr/bin/time around it).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            break (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap();
    let mut stderr = err.join().unwrap();
    let mut code = status.code();
    let mut signal = status.signal();
    let mut rss_kb = None;
    if timed {
        let text = String::from_utf8_lossy(&stderr).into_owned();
        rss_kb = text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
                .and_then(|v| v.trim().parse().ok())
        });
        if let Some(s) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Command terminated by signal "))
        {
            signal = s.trim().parse().ok();
            code = None;
        }
        // Drop time's own report from what the binary wrote.
        for marker in [
            "Command exited with non-zero status",
            "Command terminated by signal",
            "\tCommand being timed:",
        ] {
            if let Some(i) = find(&stderr, marker.as_bytes()) {
                stderr.truncate(i);
                break;
            }
        }
    }
    Outcome {
        code,
        signal,
        stdout,
        stderr,
        timed_out,
        measured: timed,
        rss_kb,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What the ledger holds, for "nothing stored"; Null when there is no ledger.
fn counts(db: &str) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_buildledger"))
        .args(["--json", "info"])
        .env("BUILDLEDGER_DB", db)
        .current_dir(root())
        .output()
        .unwrap();
    if !o.status.success() {
        return Value::Null;
    }
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    serde_json::json!({"stats": v["stats"], "advisories": v["advisories"], "findings": v["findings"]})
}

fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s: String = s.chars().take(3000).collect();
    s.escape_debug().to_string().replace("\\n", "\n      ")
}

fn command_line(c: &Case) -> String {
    let mut s = String::new();
    for (k, v) in &c.env {
        s.push_str(&format!("{k}={v} "));
    }
    s.push_str("buildledger");
    for a in &c.args {
        let a = a.to_string_lossy();
        let a: String = if a.chars().count() > 120 {
            format!(
                "{}…({} chars)",
                a.chars().take(60).collect::<String>(),
                a.chars().count()
            )
        } else {
            a.into_owned()
        };
        if a.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_./:=@,+%".contains(ch))
        {
            s.push(' ');
            s.push_str(&a);
        } else {
            s.push_str(&format!(" \"{}\"", a.escape_debug()));
        }
    }
    if let Some(p) = &c.stdin {
        s.push_str(&format!(" < {}", p.display()));
    }
    s
}

/// Why a case failed (empty when it passed).
fn judge(c: &Case, o: &Outcome, before: &Value, after: &Value) -> Vec<String> {
    let mut why = Vec::new();
    if o.timed_out {
        why.push(format!(
            "no exit within {} s: killed by the watchdog",
            WATCHDOG.as_secs()
        ));
    }
    if let Some(s) = o.signal {
        why.push(format!("killed by signal {s}"));
    }
    let err = String::from_utf8_lossy(&o.stderr);
    if o.code == Some(101) || err.contains("panicked") {
        why.push("panicked".into());
    }
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        for (what, raw) in [
            ("ESC", &b"\x1b"[..]),
            ("NUL", b"\0"),
            ("U+202E", "\u{202e}".as_bytes()),
        ] {
            if find(bytes, raw).is_some() {
                why.push(format!(
                    "raw {what} on {stream} (terminal output must escape it)"
                ));
            }
        }
    }
    if o.measured && o.rss_kb.is_none() && !o.timed_out {
        why.push("run under /usr/bin/time -v but no peak RSS reported".into());
    }
    if let Some(kb) = o.rss_kb
        && kb > MAX_RSS_KB
    {
        why.push(format!(
            "peak RSS {} MB, over {} MB",
            kb / 1024,
            MAX_RSS_KB / 1024
        ));
    }
    let code = o.code.unwrap_or(-1);
    let refusal_checks = |why: &mut Vec<String>| {
        if before != after {
            why.push(format!("stored something: {before} -> {after}"));
        }
        for n in &c.needles {
            if !err.contains(n.as_str()) {
                why.push(format!("stderr does not name {n:?}"));
            }
        }
    };
    match c.want {
        Want::Reject(codes) => {
            if !codes.contains(&code) {
                why.push(format!("exit {code}, want {codes:?}"));
            }
            refusal_checks(&mut why);
        }
        Want::Accept => {
            if code != 0 {
                why.push(format!("exit {code}, want 0 (a legitimate input)"));
            }
        }
        Want::Either(codes) => {
            if code != 0 {
                if !codes.contains(&code) {
                    why.push(format!("exit {code}, want 0 or {codes:?}"));
                }
                refusal_checks(&mut why);
            }
        }
        Want::Reported => {
            if code != 0 && code != 2 {
                why.push(format!("exit {code}, want 0 or 2 (reported)"));
            }
            refusal_checks(&mut why);
        }
    }
    if let Some(f) = &c.check
        && let Err(e) = f()
    {
        why.push(e);
    }
    why
}

/// Runs every case on `l` in order; returns the failure reports and the
/// largest peak RSS measured (kB, case).
fn run_cases(l: &Ledger, cases: &[Case]) -> (Vec<String>, Option<(u64, String)>) {
    let mut failures = Vec::new();
    let mut peak: Option<(u64, String)> = None;
    let mut before = counts(&l.db);
    for c in cases {
        let o = exec(&l.db, c);
        let after = counts(&l.db);
        let why = judge(c, &o, &before, &after);
        if let Some(kb) = o.rss_kb
            && peak.as_ref().is_none_or(|(p, _)| kb > *p)
        {
            peak = Some((kb, c.name.clone()));
        }
        if !why.is_empty() {
            failures.push(format!(
                "[{}] {}\n  $ {}\n  exit: {}\n  problems:\n    - {}\n  stderr: {}\n  stdout: {}",
                l.engine(),
                c.name,
                command_line(c),
                match (o.code, o.signal) {
                    (Some(code), _) => code.to_string(),
                    (None, Some(s)) => format!("signal {s}"),
                    _ => "?".into(),
                },
                why.join("\n    - "),
                shown(&o.stderr),
                shown(&o.stdout[..o.stdout.len().min(400)]),
            ));
        }
        before = after;
    }
    (failures, peak)
}

/// Runs the cases `make` builds for each engine's ledger (seeded first) and
/// fails with every failure at once.
fn suite(group: &str, pg: bool, make: impl Fn(&Ledger) -> Vec<Case>) {
    let t0 = Instant::now();
    let mut ledgers = vec![Ledger::sqlite()];
    if pg && let Some(p) = Ledger::postgres() {
        ledgers.push(p);
    }
    let mut failures = Vec::new();
    let mut total = 0;
    for l in &ledgers {
        seed(l);
        let cases = make(l);
        assert!(!cases.is_empty());
        total += cases.len();
        let (f, peak) = run_cases(l, &cases);
        failures.extend(f);
        if let Some((kb, name)) = peak {
            eprintln!(
                "{group} [{}]: largest peak RSS {} MB ({name})",
                l.engine(),
                kb / 1024
            );
        }
    }
    eprintln!(
        "{group}: {total} case runs on {} engine(s), {} failed, {:.1}s",
        ledgers.len(),
        failures.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{group}: {} of {total} case runs failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// Good inputs, made with the CLI itself or taken from the repository and ../shared
// ---------------------------------------------------------------------------

struct Fx {
    key: PathBuf,
    public: PathBuf,
    ecdsa_key: PathBuf,
    other_public: PathBuf,
    attestation: PathBuf,
    policy: PathBuf,
    record: PathBuf,
    api: PathBuf,
    osv: PathBuf,
    osv_zip: PathBuf,
    secdb: Option<PathBuf>,
    rootfs: Option<PathBuf>,
    cyclonedx: Option<PathBuf>,
    spdx: Option<PathBuf>,
    layout: Option<PathBuf>,
    archive: Option<PathBuf>,
}

fn bl(db: &Path, args: &[&str]) -> Vec<u8> {
    run_tool(
        Command::new(env!("CARGO_BIN_EXE_buildledger"))
            .args(args)
            .env("BUILDLEDGER_DB", db)
            .env_remove("BUILDLEDGER_TRUST_POLICY")
            .current_dir(root()),
    )
}

/// `<shared>/<rel>` (`BUILDLEDGER_SHARED` overrides the directory), or None
/// (skip) when missing; a failure under `CI=true`.
fn shared(rel: &str) -> Option<PathBuf> {
    buildledger_testkit::shared::require(rel)
}

fn fx() -> &'static Fx {
    static F: OnceLock<Fx> = OnceLock::new();
    F.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("malformed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("fixtures.db");
        let p = |n: &str| dir.join(n).display().to_string();
        bl(&db, &["keygen", "--out", &p("builder")]);
        bl(
            &db,
            &["keygen", "--algorithm", "ecdsa-p256", "--out", &p("ecdsa")],
        );
        bl(&db, &["keygen", "--out", &p("other")]);
        bl(
            &db,
            &[
                "attest",
                "--key",
                &p("builder.key"),
                "--out",
                &p("attestation.json"),
                "--builder-id",
                BUILDER,
                "--digest",
                D_ATT,
                "--repo",
                "https://github.com/example/app",
                "--commit",
                "3f9a0c7d2b1e4f5a6b7c8d9e0f1a2b3c4d5e6f70",
                "--toolchain",
                "go@1.21.5",
                "--component",
                "pkg:golang/golang.org/x/net@v0.17.0",
            ],
        );
        let policy = dir.join("policy.json");
        std::fs::write(
            &policy,
            serde_json::to_vec_pretty(&serde_json::json!({
                "builders": {BUILDER: [{"path": p("builder.pub")}]}
            }))
            .unwrap(),
        )
        .unwrap();
        let osv_zip = dir.join("osv.zip");
        let adv = root().join("examples/advisories");
        let mut jsons: Vec<_> = std::fs::read_dir(&adv)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".json"))
            .collect();
        jsons.sort();
        if have("zip") {
            run_tool(
                Command::new("zip")
                    .arg("-q")
                    .arg(&osv_zip)
                    .args(&jsons)
                    .current_dir(&adv),
            );
        }
        let rootfs = shared("data/alpine-rootfs-3.14");
        let (mut cyclonedx, mut spdx) = (None, None);
        if let Some(r) = &rootfs {
            let src = format!("dir:{}", r.display());
            for (fmt, slot) in [("cyclonedx", &mut cyclonedx), ("spdx", &mut spdx)] {
                let out = dir.join(format!("sbom.{fmt}.json"));
                std::fs::write(&out, bl(&db, &["scan", &src, "--format", fmt])).unwrap();
                *slot = Some(out);
            }
        }
        let (mut layout, mut archive) = (None, None);
        if have("umoci") {
            let l = dir.join("layout");
            let img = format!("{}:t", l.display());
            run_tool(Command::new("umoci").args(["init", "--layout"]).arg(&l));
            run_tool(Command::new("umoci").args(["new", "--image", &img]));
            run_tool(Command::new("umoci").args([
                "insert",
                "--image",
                &img,
                "/etc/os-release",
                "/etc/os-release",
            ]));
            if have("skopeo") && have("tar") {
                let a = dir.join("archive.tar");
                run_tool(
                    Command::new("skopeo")
                        .args(["copy", "-q", &format!("oci:{img}")])
                        .arg(format!("docker-archive:{}:x/y:z", a.display())),
                );
                archive = Some(a);
            }
            layout = Some(l);
        }
        Fx {
            key: dir.join("builder.key"),
            public: dir.join("builder.pub"),
            ecdsa_key: dir.join("ecdsa.key"),
            other_public: dir.join("other.pub"),
            attestation: dir.join("attestation.json"),
            policy,
            record: root().join("examples/records/payments-api.json"),
            api: root().join("examples/openapi/checkout.yaml"),
            osv: adv.join("GO-2023-2102.json"),
            osv_zip,
            secdb: shared("data/alpine-secdb/v3.10/main.yaml"),
            rootfs,
            cyclonedx,
            spdx,
            layout,
            archive,
        }
    })
}

fn read(p: &Path) -> Vec<u8> {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    // Trailing whitespace off, so that cutting the last byte always breaks it.
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    b[..end].to_vec()
}

/// Every ledger starts with one record, the example advisories, a checkpoint
/// of its audit log (`cp.json` in its directory) and, where umoci is
/// present, one scanned image, so read commands and "nothing stored" run on
/// a live database.
fn seed(l: &Ledger) {
    let f = fx();
    l.ok(&["record", "--file", &f.record.display().to_string()]);
    l.ok(&[
        "feed",
        "import",
        &root().join("examples/advisories").display().to_string(),
    ]);
    if let Some(lay) = &f.layout {
        l.ok(&["scan", &format!("oci:{}", lay.display()), "--record"]);
    }
    l.ok(&[
        "audit",
        "checkpoint",
        "--key",
        &f.key.display().to_string(),
        "--out",
        &l.p("cp.json"),
    ]);
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

// ---------------------------------------------------------------------------
// The suites
// ---------------------------------------------------------------------------

/// `record --file FILE`, `record --file -`, `record --api`, `attest --file`.
#[test]
fn record_and_attest_files() {
    suite("record files", true, |l| {
        let f = fx();
        let rec = read(&f.record);
        let key = s(&f.key);
        let mut cases = Vec::new();
        for slot in [
            Slot::new(
                "record --file",
                &["record", "--file", "{}"],
                rec.clone(),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_RECORD_BYTES")),
            Slot::new(
                "record --file -",
                &["record", "--file", "{}"],
                rec.clone(),
                "json",
            )
            .wrap(Wrap::Stdin)
            .limit(Limit::Env("BUILDLEDGER_MAX_RECORD_BYTES")),
            Slot::new(
                "record --api",
                &["record", "--digest", D, "--api", "{}"],
                read(&f.api),
                "yaml",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_API_BYTES"))
            .names("--api"),
            Slot::new(
                "attest --file",
                &["attest", "--key", &key, "--file", "{}"],
                rec.clone(),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_RECORD_BYTES")),
        ] {
            cases.extend(slot.cases(l.dir.path()));
        }
        // A name with control characters: escaped wherever it is echoed.
        let evil = l.path("evil\x1b[31m\u{202e}name.json");
        std::fs::write(&evil, b"{\"schema_version\": 1,").unwrap();
        cases.push(
            case(
                "record --file <name with ESC and U+202E>",
                &[OsString::from("record"), "--file".into(), evil.into()],
            )
            .names("name.json"),
        );
        let missing = l.path("gone\x1b]0;title\x07.json");
        cases.push(
            case(
                "record --file <missing, name with OSC>",
                &[OsString::from("record"), "--file".into(), missing.into()],
            )
            .names("gone"),
        );
        // A name that is not UTF-8.
        let mut raw = l.path("x").into_os_string().into_encoded_bytes();
        raw.extend_from_slice(b"\xff\xfe.json");
        let raw = PathBuf::from(<OsString as std::os::unix::ffi::OsStringExt>::from_vec(raw));
        cases.push(
            case(
                "record --file <non-UTF-8 name>",
                &[OsString::from("record"), "--file".into(), raw.into()],
            )
            .names(l.p("x")),
        );
        // Several files: the bad third one stores none of the first two.
        let trunc = l.path("third.json");
        std::fs::write(&trunc, &rec[..rec.len() / 2]).unwrap();
        cases.push(
            case(
                "record --file good good truncated",
                &[
                    "record",
                    "--file",
                    &s(&f.record),
                    "--file",
                    &s(&f.record),
                    "--file",
                    &s(&trunc),
                ],
            )
            .names(s(&trunc)),
        );
        // An array with one bad record among good ones.
        let mut arr = b"[".to_vec();
        arr.extend_from_slice(&rec);
        arr.extend_from_slice(
            b", {\"schema_version\": 1, \"subjects\": [{\"digest\": \"sha256:zz\"}]}]",
        );
        let arrp = l.path("array.json");
        std::fs::write(&arrp, &arr).unwrap();
        cases.push(
            case(
                "record --file [good, bad digest]",
                &["record", "--file", &s(&arrp)],
            )
            .names(s(&arrp))
            .names("[1]"),
        );
        // A JSON array of records with nothing in it is not a build record.
        let empty_arr = l.path("no-records.json");
        std::fs::write(&empty_arr, b"  [ ]  ").unwrap();
        cases.push(
            case("record --file []", &["record", "--file", &s(&empty_arr)]).names(s(&empty_arr)),
        );
        // Control characters in a label value (escaped JSON): legitimate.
        let ctrl = l.path("ctrl.json");
        std::fs::write(
            &ctrl,
            format!(
                r#"{{"schema_version": 1, "subjects": [{{"digest": "{D_CTRL}"}}], "labels": {{"note": "a\u001b[2Jb\u0085c\u202ed\u0007"}}, "source": {{"repo": "https://example.com/\u001b]0;x\u0007"}}}}"#
            ),
        )
        .unwrap();
        cases.push(
            case(
                "record --file <label with ESC NEL U+202E BEL>",
                &["record", "--file", &s(&ctrl)],
            )
            .want(Want::Accept),
        );
        // NUL is the one character the ledger does not store (PostgreSQL text cannot).
        let nul = l.path("nul.json");
        std::fs::write(
            &nul,
            format!(r#"{{"schema_version": 1, "subjects": [{{"digest": "{D}"}}], "labels": {{"note": "a\u0000b"}}}}"#),
        )
        .unwrap();
        cases.push(
            case(
                "record --file <label with NUL>",
                &["record", "--file", &s(&nul)],
            )
            .names(s(&nul))
            .names("labels.note"),
        );
        for args in [
            &["show", D_CTRL][..],
            &["--json", "show", D_CTRL],
            &["table"],
            &["table", "--format", "csv"],
            &["--json", "table"],
            &["query", "--repo", "https://example.com/\x1b]0;x\x07"],
            &["conflicts"],
        ] {
            cases.push(
                case(
                    format!("read back control characters: {}", args.join(" ")),
                    args,
                )
                .want(Want::Accept),
            );
        }
        // Limit variables with values that are not sizes.
        for v in [
            "abc",
            "-1",
            "",
            "99999999999999999999999T",
            "1.5M",
            "\x1b[31m",
        ] {
            cases.push(
                case(
                    format!("BUILDLEDGER_MAX_RECORD_BYTES={v:?}"),
                    &["record", "--file", &s(&f.record)],
                )
                .env("BUILDLEDGER_MAX_RECORD_BYTES", v)
                .names("BUILDLEDGER_MAX_RECORD_BYTES"),
            );
        }
        cases.push(
            case(
                "BUILDLEDGER_MAX_API_BYTES=nope",
                &["record", "--digest", D, "--api", &s(&f.api)],
            )
            .env("BUILDLEDGER_MAX_API_BYTES", "nope")
            .names("BUILDLEDGER_MAX_API_BYTES"),
        );
        // An endless standard input.
        cases.push(
            case("record --file - < /dev/zero", &["record", "--file", "-"])
                .stdin("/dev/zero")
                .names("<stdin>")
                .rss(),
        );
        cases
    });
}

/// `record` flags with bad values (and control characters that are legitimate values).
#[test]
fn record_flags() {
    suite("record flags", true, |l| {
        let _ = l;
        let long = "a".repeat(100_000);
        let long_digest = format!("sha256:{}", "a".repeat(100_000));
        let hex63 = format!("sha256:{}", "a".repeat(63));
        let hex65 = format!("sha256:{}", "a".repeat(65));
        let upper = format!("sha256:{}", "A".repeat(64));
        let long_purl = format!("pkg:golang/{long}@v1.0.0");
        let base_bad = "sha256:zz=gcr.io/distroless/static".to_string();
        let label_ctrl = "note=\x1b[31mred\u{202e}txt\x07".to_string();
        let r = |flag: &str, v: &str| {
            vec![
                "record".to_string(),
                "--digest".into(),
                D.into(),
                flag.into(),
                v.into(),
            ]
        };
        let mut cases = vec![
            case("--digest empty", &["record", "--digest", ""]).names("--digest"),
            case("--digest sha256:", &["record", "--digest", "sha256:"]).names("--digest"),
            case("--digest not hex", &["record", "--digest", "sha256:zz"]).names("--digest"),
            case("--digest 63 hex", &["record", "--digest", &hex63]).names("--digest"),
            case("--digest 65 hex", &["record", "--digest", &hex65]).names("--digest"),
            // Normalised to lower case (recorded as sha256:aaa…): lenient, not ambiguous.
            case("--digest upper-case hex", &["record", "--digest", &upper])
                .want(Want::Either(&[2]))
                .names("--digest"),
            case(
                "--digest md5",
                &["record", "--digest", "md5:d41d8cd98f00b204e9800998ecf8427e"],
            )
            .names("--digest"),
            case("--digest 100k chars", &["record", "--digest", &long_digest]).names("--digest"),
            case(
                "--digest with ESC",
                &["record", "--digest", &format!("{D}\x1b[2J")],
            )
            .names("--digest"),
            case(
                "--digest with U+202E",
                &["record", "--digest", &format!("sha256:\u{202e}{}", &D[7..])],
            )
            .names("--digest"),
            case("--component not a purl", &r("--component", "notapurl")).names("--component"),
            case(
                "--component without version",
                &r("--component", "pkg:golang/golang.org/x/net"),
            )
            .names("--component"),
            case(
                "--component empty version",
                &r("--component", "pkg:golang/golang.org/x/net@"),
            )
            .names("--component"),
            case(
                "--component bad percent-encoding",
                &r("--component", "pkg:golang/a%zz@1.0.0"),
            )
            .names("--component"),
            case(
                "--component with ESC",
                &r("--component", "pkg:golang/\x1b[2J@1.0.0"),
            )
            .want(Want::Either(&[2]))
            .names("component"),
            case("--component 100k chars", &r("--component", &long_purl))
                .want(Want::Either(&[2]))
                .names("component"),
            case(
                "--build-component not a purl",
                &r("--build-component", "::"),
            )
            .names("--build-component"),
            case("--toolchain no version", &r("--toolchain", "go")).names("--toolchain"),
            case("--toolchain no name", &r("--toolchain", "@1.21")).names("--toolchain"),
            case("--toolchain empty version", &r("--toolchain", "go@")).names("--toolchain"),
            case("--base-image bad digest", &r("--base-image", &base_bad)).names("--base-image"),
            case("--base-image empty", &r("--base-image", "")).names("--base-image"),
            case(
                "--builder-image only a reference",
                &r("--builder-image", "=golang:1.21"),
            )
            .names("--builder-image"),
            case("--build-time words", &r("--build-time", "yesterday")).names("--build-time"),
            case(
                "--build-time month 13",
                &r("--build-time", "2024-13-01T00:00:00Z"),
            )
            .names("--build-time"),
            case(
                "--build-time year 99999",
                &r("--build-time", "99999-01-01T00:00:00Z"),
            )
            .names("--build-time"),
            case("--build-time empty", &r("--build-time", "")).names("--build-time"),
            case("--label without =", &r("--label", "noequals")).names("--label"),
            case(
                "--builder-version without --builder-id",
                &r("--builder-version", "1.0"),
            )
            .names("--builder-version"),
            case("--label empty key", &r("--label", "=v"))
                .want(Want::Either(&[2]))
                .names("label"),
            case(
                "--label value with ESC U+202E BEL",
                &r("--label", &label_ctrl),
            )
            .want(Want::Accept),
            case("--commit with OSC", &r("--commit", "\x1b]0;x\x07"))
                .want(Want::Either(&[2]))
                .names("commit"),
            case(
                "--repo with ESC",
                &r("--repo", "https://example.com/\x1b[2J"),
            )
            .want(Want::Either(&[2]))
            .names("repo"),
            case(
                "--ref with U+202E",
                &r("--ref", "registry.example/\u{202e}gpj.exe:1"),
            )
            .want(Want::Either(&[2]))
            .names("ref"),
            case("--media-type with ESC", &r("--media-type", "\x1b[2J"))
                .want(Want::Either(&[2]))
                .names("media"),
            case("--platform with ESC", &r("--platform", "linux/\x1b[2J"))
                .want(Want::Either(&[2]))
                .names("platform"),
            case(
                "--builder-id with ESC",
                &r("--builder-id", "https://ci.example/\x1b[2J"),
            )
            .want(Want::Either(&[2]))
            .names("builder"),
            case("--tag 100k chars", &r("--tag", &long))
                .want(Want::Either(&[2]))
                .names("tag"),
            case("--language with NEL", &r("--language", "go\u{85}"))
                .want(Want::Either(&[2]))
                .names("language"),
            case(
                "no --digest",
                &["record", "--repo", "https://example.com/x"],
            )
            .names("--digest"),
            case("unknown flag", &["record", "--digest", D, "--nope"]).names("--nope"),
        ];
        // Arguments that are not UTF-8.
        let mut raw = b"sha256:".to_vec();
        raw.extend_from_slice(b"\xff\xfe");
        cases.push(
            case(
                "--digest not UTF-8",
                &[
                    OsString::from("record"),
                    "--digest".into(),
                    std::os::unix::ffi::OsStringExt::from_vec(raw),
                ],
            )
            .names("--digest"),
        );
        // What was accepted reads back escaped.
        for args in [
            &["show", D][..],
            &["--json", "show", D],
            &["table"],
            &["table", "--format", "csv"],
        ] {
            cases.push(case(format!("read back: {}", args.join(" ")), args).want(Want::Accept));
        }
        cases
    });
}

/// `record --attestation`/`--policy` (and the keys a policy names),
/// `attest --key`, `audit verify --checkpoint`/`--checkpoint-key`,
/// `audit checkpoint --key`, `keygen --out`.
#[test]
fn trust_inputs() {
    suite("trust inputs", true, |l| {
        let f = fx();
        let (att, pol, key, public) = (s(&f.attestation), s(&f.policy), s(&f.key), s(&f.public));
        let cp = l.p("cp.json");
        let mut cases = Vec::new();
        for slot in [
            Slot::new(
                "record --attestation",
                &["record", "--attestation", "{}", "--policy", &pol],
                read(&f.attestation),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_ENVELOPE_BYTES")),
            Slot::new(
                "record --policy",
                &["record", "--attestation", &att, "--policy", "{}"],
                read(&f.policy),
                "json",
            )
            .limit(Limit::Fixed(1 << 20)),
            Slot::new(
                "attest --key",
                &[
                    "attest",
                    "--key",
                    "{}",
                    "--builder-id",
                    BUILDER,
                    "--digest",
                    D,
                ],
                read(&f.key),
                "key",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_KEY_BYTES"))
            .names("--key"),
            Slot::new(
                "attest --key (ecdsa)",
                &[
                    "attest",
                    "--key",
                    "{}",
                    "--builder-id",
                    BUILDER,
                    "--digest",
                    D,
                ],
                read(&f.ecdsa_key),
                "key",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_KEY_BYTES"))
            .names("--key"),
            Slot::new(
                "audit verify --checkpoint",
                &[
                    "audit",
                    "verify",
                    "--checkpoint",
                    "{}",
                    "--checkpoint-key",
                    &public,
                ],
                read(Path::new(&cp)),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_ENVELOPE_BYTES"))
            .names("--checkpoint"),
            Slot::new(
                "audit verify --checkpoint-key",
                &[
                    "audit",
                    "verify",
                    "--checkpoint",
                    &cp,
                    "--checkpoint-key",
                    "{}",
                ],
                read(&f.public),
                "pub",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_KEY_BYTES"))
            .names("--checkpoint-key"),
            Slot::new(
                "audit checkpoint --key",
                &["audit", "checkpoint", "--key", "{}"],
                read(&f.key),
                "key",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_KEY_BYTES"))
            .names("--key"),
        ] {
            cases.extend(slot.cases(l.dir.path()));
        }
        // Policies naming keys that are not key files.
        let dir = l.path("policy-keys");
        std::fs::create_dir_all(&dir).unwrap();
        for kind in KINDS {
            let made = (kind.make)(&read(&f.public));
            if matches!(made, Made::Oversize) {
                continue;
            }
            let kp = materialize(&made, &dir.join(format!("{}.pub", kind.name)), b"", true, 0);
            let pp = dir.join(format!("{}.policy.json", kind.name));
            std::fs::write(
                &pp,
                serde_json::to_vec(&serde_json::json!({"builders": {BUILDER: [{"path": s(&kp)}]}}))
                    .unwrap(),
            )
            .unwrap();
            let mut c = case(
                format!("record --policy naming a key <- {}", kind.name),
                &["record", "--attestation", &att, "--policy", &s(&pp)],
            )
            .names(s(&pp));
            c.rss = kind.big;
            cases.push(c);
        }
        let esc_policy = l.path("esc-policy.json");
        std::fs::write(&esc_policy, format!("{{\"builders\": {{\"https://ci.example/\\u001b[2J\": [{{\"path\": \"{public}\"}}]}}}}")).unwrap();
        let other_policy = l.path("other-policy.json");
        std::fs::write(
            &other_policy,
            format!(
                "{{\"builders\": {{\"{BUILDER}\": [{{\"path\": \"{}\"}}]}}}}",
                s(&f.other_public)
            ),
        )
        .unwrap();
        let other_digest = format!("sha256:{}", "9".repeat(64));
        let here = l.p("out-dir");
        std::fs::create_dir_all(&here).unwrap();
        cases.extend([
            case(
                "record --attestation without --policy",
                &["record", "--attestation", &att],
            )
            .names("--policy"),
            case(
                "record --attestation, policy with ESC in builder id",
                &["record", "--attestation", &att, "--policy", &s(&esc_policy)],
            )
            .names(&att),
            case(
                "record --attestation, key not pinned",
                &[
                    "record",
                    "--attestation",
                    &att,
                    "--policy",
                    &s(&other_policy),
                ],
            )
            .names(&att),
            case(
                "record --attestation --digest not a subject",
                &[
                    "record",
                    "--attestation",
                    &att,
                    "--policy",
                    &pol,
                    "--digest",
                    &other_digest,
                ],
            )
            .names(&att),
            case(
                "record --attestation --digest malformed",
                &[
                    "record",
                    "--attestation",
                    &att,
                    "--policy",
                    &pol,
                    "--digest",
                    "sha256:zz",
                ],
            )
            .names("--digest"),
            case(
                "record --attestation and --file",
                &[
                    "record",
                    "--attestation",
                    &att,
                    "--file",
                    &s(&f.record),
                    "--policy",
                    &pol,
                ],
            )
            .names("--file"),
            case(
                "attest with a public key",
                &[
                    "attest",
                    "--key",
                    &public,
                    "--builder-id",
                    BUILDER,
                    "--digest",
                    D,
                ],
            )
            .names("--key"),
            case(
                "attest without --builder-id",
                &["attest", "--key", &key, "--digest", D],
            )
            .names("--builder-id"),
            case(
                "attest --out a directory",
                &[
                    "attest",
                    "--key",
                    &key,
                    "--builder-id",
                    BUILDER,
                    "--digest",
                    D,
                    "--out",
                    &here,
                ],
            )
            .want(BAD_OR_IO)
            .names(&here),
            case(
                "audit verify --checkpoint without key",
                &["audit", "verify", "--checkpoint", &cp],
            )
            .names("--checkpoint-key"),
            case(
                "audit verify, checkpoint and another key",
                &[
                    "audit",
                    "verify",
                    "--checkpoint",
                    &cp,
                    "--checkpoint-key",
                    &s(&f.other_public),
                ],
            )
            .want(Want::Reject(&[2, 3]))
            .names("--checkpoint"),
            case(
                "audit verify --checkpoint-key a private key",
                &[
                    "audit",
                    "verify",
                    "--checkpoint",
                    &cp,
                    "--checkpoint-key",
                    &key,
                ],
            )
            .names("--checkpoint-key"),
            case(
                "audit verify --checkpoint an attestation",
                &[
                    "audit",
                    "verify",
                    "--checkpoint",
                    &att,
                    "--checkpoint-key",
                    &public,
                ],
            )
            .names("--checkpoint"),
            case(
                "audit checkpoint --key a public key",
                &["audit", "checkpoint", "--key", &public],
            )
            .names("--key"),
            case(
                "audit checkpoint --out a directory",
                &["audit", "checkpoint", "--key", &key, "--out", &here],
            )
            .want(BAD_OR_IO)
            .names(&here),
        ]);
        // keygen --out: existing files, special files at PREFIX.key, odd prefixes.
        let kdir = l.path("keygen");
        std::fs::create_dir_all(&kdir).unwrap();
        let existing = kdir.join("existing");
        std::fs::write(existing.with_extension("key"), b"keep me").unwrap();
        let fifo = kdir.join("fifo");
        mkfifo(&fifo.with_extension("key"));
        let dangling = kdir.join("dangling");
        let target = kdir.join("planted-target");
        std::os::unix::fs::symlink(&target, dangling.with_extension("key")).unwrap();
        let pub_link = kdir.join("publink");
        let pub_target = kdir.join("pub-planted-target");
        std::os::unix::fs::symlink(&pub_target, pub_link.with_extension("pub")).unwrap();
        let keydir = kdir.join("isdir");
        std::fs::create_dir_all(keydir.with_extension("key")).unwrap();
        let esc_prefix = kdir.join("esc\x1b[31m\u{202e}key");
        let existing_key = existing.with_extension("key");
        cases.extend([
            case(
                "keygen --out existing PREFIX.key",
                &["keygen", "--out", &s(&existing)],
            )
            .names("--force")
            .check(move || match std::fs::read(&existing_key) {
                Ok(b) if b == b"keep me" => Ok(()),
                _ => Err("keygen overwrote an existing PREFIX.key without --force".into()),
            }),
            case(
                "keygen --out, PREFIX.key is a FIFO",
                &["keygen", "--out", &s(&fifo)],
            )
            .names(s(&fifo)),
            case(
                "keygen --out, PREFIX.key is a dangling symlink",
                &["keygen", "--out", &s(&dangling)],
            )
            .names(s(&dangling))
            .check(move || {
                if target.exists() {
                    Err(format!(
                        "the private key was written through a planted symlink to {}",
                        target.display()
                    ))
                } else {
                    Ok(())
                }
            }),
            case(
                "keygen --out, PREFIX.pub is a dangling symlink",
                &["keygen", "--out", &s(&pub_link)],
            )
            .names(s(&pub_link))
            .check(move || {
                if pub_target.exists() {
                    Err(format!(
                        "the public key was written through a planted symlink to {}",
                        pub_target.display()
                    ))
                } else {
                    Ok(())
                }
            }),
            case(
                "keygen --out, PREFIX.key is a directory",
                &["keygen", "--out", &s(&keydir)],
            )
            .want(BAD_OR_IO)
            .names(s(&keydir)),
            case(
                "keygen --out in a missing directory",
                &["keygen", "--out", &s(&kdir.join("no/such/dir/k"))],
            )
            .want(BAD_OR_IO)
            .names("no/such/dir"),
            case("keygen --out empty", &["keygen", "--out", ""])
                .want(BAD_OR_IO)
                .names("--out"),
            case(
                "keygen --algorithm bogus",
                &[
                    "keygen",
                    "--algorithm",
                    "rsa",
                    "--out",
                    &s(&kdir.join("rsa")),
                ],
            )
            .names("--algorithm"),
            case(
                "keygen --out with ESC and U+202E",
                &["keygen", "--out", &s(&esc_prefix)],
            )
            .want(Want::Accept),
        ]);
        cases
    });
}

/// `feed import` (OSV files, Alpine secdb, directories, zip dumps) and `sbom import`.
#[test]
fn feeds_and_sboms() {
    suite("feeds and sboms", true, |l| {
        let f = fx();
        let osv = read(&f.osv);
        let mut cases = Vec::new();
        let empty = l.path("empty-dir");
        std::fs::create_dir_all(&empty).unwrap();
        let mut slots = vec![
            Slot::new(
                "feed import --strict FILE",
                &["feed", "import", "--strict", "{}"],
                osv.clone(),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES")),
            Slot::new(
                "feed import FILE",
                &["feed", "import", "{}"],
                osv.clone(),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES"))
            .bad_want(Want::Reported),
            Slot::new(
                "feed import --format osv FILE",
                &["feed", "import", "--format", "osv", "{}"],
                osv.clone(),
                "json",
            )
            .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES"))
            .bad_want(Want::Reported),
            Slot::new(
                "feed import --strict DIR",
                &["feed", "import", "--strict", "{}"],
                osv.clone(),
                "json",
            )
            .wrap(Wrap::InDir(empty.clone(), "sub/GO-2023-2102.json"))
            .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES")),
            Slot::new(
                "feed import DIR",
                &["feed", "import", "{}"],
                osv.clone(),
                "json",
            )
            .wrap(Wrap::InDir(empty.clone(), "sub/GO-2023-2102.json"))
            .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES"))
            .bad_want(Want::Reported),
        ];
        if have("zip") {
            slots.push(
                Slot::new(
                    "feed import --strict ZIP",
                    &["feed", "import", "--strict", "{}"],
                    read(&f.osv_zip),
                    "zip",
                )
                .limit(Limit::Env("BUILDLEDGER_MAX_FEED_ZIP_BYTES")),
            );
            slots.push(
                Slot::new(
                    "feed import ZIP",
                    &["feed", "import", "{}"],
                    read(&f.osv_zip),
                    "zip",
                )
                .limit(Limit::Env("BUILDLEDGER_MAX_FEED_ZIP_BYTES"))
                .bad_want(Want::Reported),
            );
            slots.push(
                Slot::new(
                    "feed import --strict ZIP with a bad entry",
                    &["feed", "import", "--strict", "{}"],
                    osv.clone(),
                    "json",
                )
                .wrap(Wrap::InZip("osv/GO-2023-2102.json"))
                .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES")),
            );
        }
        if let Some(secdb) = &f.secdb {
            slots.push(
                Slot::new(
                    "feed import --strict --format alpine-secdb",
                    &[
                        "feed",
                        "import",
                        "--strict",
                        "--format",
                        "alpine-secdb",
                        "{}",
                    ],
                    read(secdb),
                    "yaml",
                )
                // YAML has no end marker: a file cut at a line boundary is a
                // shorter, valid secdb.
                .either(&["truncated-quarter", "truncated-half", "truncated-last-byte"])
                .limit(Limit::Env("BUILDLEDGER_MAX_FEED_FILE_BYTES")),
            );
        }
        if let Some(c) = &f.cyclonedx {
            slots.push(
                Slot::new(
                    "sbom import CycloneDX",
                    &["sbom", "import", "{}", "--digest", D],
                    read(c),
                    "json",
                )
                .limit(Limit::Env("BUILDLEDGER_MAX_SBOM_BYTES")),
            );
        }
        if let Some(c) = &f.spdx {
            slots.push(
                Slot::new(
                    "sbom import SPDX",
                    &["sbom", "import", "{}", "--digest", D],
                    read(c),
                    "json",
                )
                .limit(Limit::Env("BUILDLEDGER_MAX_SBOM_BYTES")),
            );
        }
        for slot in slots {
            cases.extend(slot.cases(l.dir.path()));
        }
        let osv_p = s(&f.osv);
        // Control characters inside an advisory: stored, and escaped when shown.
        let mut adv: Value = serde_json::from_slice(&osv).unwrap();
        adv["id"] = "GO-9999-\u{1b}[2J\u{202e}".into();
        adv["summary"] = "sum\u{1b}]0;x\u{7}\u{0}mary".into();
        let advp = l.path("ctrl-advisory.json");
        std::fs::write(&advp, serde_json::to_vec(&adv).unwrap()).unwrap();
        cases.extend([
            case(
                "feed import advisory with control characters",
                &["feed", "import", &s(&advp)],
            )
            .want(Want::Either(&[2]))
            .names(s(&advp)),
            case(
                "affected <id with ESC U+202E>",
                &["affected", "GO-9999-\x1b[2J\u{202e}"],
            )
            .want(Want::Either(&[1, 2]))
            .names("GO-9999"),
            case(
                "feed import --format bogus",
                &["feed", "import", "--format", "csv", &osv_p],
            )
            .names("--format"),
            case("feed import, no paths", &["feed", "import"]).names("PATHS"),
            case(
                "feed import an empty directory",
                &["feed", "import", &s(&empty)],
            )
            .want(Want::Reported)
            .names(s(&empty)),
            case(
                "BUILDLEDGER_MAX_FEED_ENTRIES=x",
                &["feed", "import", &osv_p],
            )
            .env("BUILDLEDGER_MAX_FEED_ENTRIES", "x")
            .names("BUILDLEDGER_MAX_FEED_ENTRIES"),
            case(
                "BUILDLEDGER_MAX_FEED_FILE_BYTES=-3",
                &["feed", "import", &osv_p],
            )
            .env("BUILDLEDGER_MAX_FEED_FILE_BYTES", "-3")
            .names("BUILDLEDGER_MAX_FEED_FILE_BYTES"),
            case(
                "BUILDLEDGER_MAX_SBOM_BYTES=lots",
                &["sbom", "import", &osv_p, "--digest", D],
            )
            .env("BUILDLEDGER_MAX_SBOM_BYTES", "lots")
            .names("BUILDLEDGER_MAX_SBOM_BYTES"),
            case(
                "sbom import an OSV file",
                &["sbom", "import", &osv_p, "--digest", D],
            )
            .names(&osv_p),
            case(
                "sbom import --digest malformed",
                &[
                    "sbom",
                    "import",
                    &s(f.cyclonedx.as_ref().unwrap_or(&f.osv)),
                    "--digest",
                    "sha256:zz",
                ],
            )
            .names("--digest"),
        ]);
        if have("zip") {
            cases.push(
                case(
                    "feed import ZIP over BUILDLEDGER_MAX_FEED_ENTRIES",
                    &["feed", "import", &s(&f.osv_zip)],
                )
                .env("BUILDLEDGER_MAX_FEED_ENTRIES", "1")
                .names("BUILDLEDGER_MAX_FEED_ENTRIES"),
            );
        }
        if let Some(c) = &f.cyclonedx {
            let mut doc: Value = serde_json::from_slice(&read(c)).unwrap();
            doc["components"][0]["name"] = "n\u{1b}[2J\u{202e}ame".into();
            doc["components"][0]["purl"] = "pkg:apk/alpine/\u{1b}[2J@1.0".into();
            let p = l.path("ctrl-sbom.json");
            std::fs::write(&p, serde_json::to_vec(&doc).unwrap()).unwrap();
            cases.push(
                case(
                    "sbom import with control characters",
                    &["sbom", "import", &s(&p), "--digest", D_CTRL],
                )
                .want(Want::Either(&[2]))
                .names(s(&p)),
            );
            cases.push(
                case(
                    "sbom import without --digest, none named",
                    &["sbom", "import", &s(c)],
                )
                .names("--digest"),
            );
        }
        cases
    });
}

/// `scan` over each transport: the source itself, and files inside it.
#[test]
fn scans() {
    suite("scans", true, |l| {
        let f = fx();
        let mut cases = Vec::new();
        let mut slots = Vec::new();
        let elf = read(Path::new("/bin/true"));
        slots.push(
            Slot::new(
                "scan file: --record",
                &["scan", "file:{}", "--record", "--digest", D],
                elf,
                "bin",
            )
            .good_want(Want::Either(&[2]))
            // A cut or garbage file is a file with nothing in it: recording
            // that is legitimate; a special file is never read.
            .bad_want(Want::Either(&[2]))
            .special_want(BAD),
        );
        if let Some(r) = &f.rootfs {
            let os = read(&r.join("etc/os-release"));
            let apk = read(&r.join("lib/apk/db/installed"));
            slots.push(
                Slot::new(
                    "scan dir: --record (the path)",
                    &["scan", "dir:{}", "--record", "--digest", D],
                    os.clone(),
                    "d",
                )
                // An empty directory is a legitimate (empty) tree.
                .skip(&["directory"])
                .good_want(BAD),
            );
            slots.push(
                Slot::new(
                    "scan dir: --record, etc/os-release",
                    &["scan", "dir:{}", "--record", "--digest", D],
                    os,
                    "d",
                )
                .wrap(Wrap::InDir(r.clone(), "etc/os-release"))
                .bad_want(Want::Either(&[2])),
            );
            slots.push(
                Slot::new(
                    "scan dir: --record, lib/apk/db/installed",
                    &["scan", "dir:{}", "--record", "--digest", D],
                    apk,
                    "d",
                )
                .wrap(Wrap::InDir(r.clone(), "lib/apk/db/installed"))
                .bad_want(Want::Either(&[2])),
            );
        }
        if let Some(lay) = &f.layout {
            let index = read(&lay.join("index.json"));
            slots.push(
                Slot::new(
                    "scan oci: --record (the path)",
                    &["scan", "oci:{}", "--record"],
                    index.clone(),
                    "d",
                )
                .good_want(BAD),
            );
            slots.push(
                Slot::new(
                    "scan oci: --record, index.json",
                    &["scan", "oci:{}", "--record"],
                    index,
                    "d",
                )
                .wrap(Wrap::InDir(lay.clone(), "index.json"))
                .good_want(Want::Accept),
            );
            slots.push(
                Slot::new(
                    "scan oci: --record, oci-layout",
                    &["scan", "oci:{}", "--record"],
                    read(&lay.join("oci-layout")),
                    "d",
                )
                .wrap(Wrap::InDir(lay.clone(), "oci-layout"))
                .bad_want(Want::Either(&[2])),
            );
            let idx: Value = serde_json::from_slice(&read(&lay.join("index.json"))).unwrap();
            let m = idx["manifests"][0]["digest"].as_str().unwrap();
            let inner: &'static str =
                Box::leak(format!("blobs/sha256/{}", &m[7..]).into_boxed_str());
            slots.push(
                Slot::new(
                    "scan oci: --record, manifest blob",
                    &["scan", "oci:{}", "--record"],
                    std::fs::read(lay.join(inner)).unwrap(),
                    "d",
                )
                .wrap(Wrap::InDir(lay.clone(), inner)),
            );
        }
        if let Some(a) = &f.archive {
            slots.push(
                Slot::new(
                    "scan docker-archive: --record",
                    &["scan", "docker-archive:{}", "--record", "--digest", D],
                    std::fs::read(a).unwrap(),
                    "tar",
                )
                // The last byte is end-of-archive padding: every entry is intact.
                .either(&["truncated-last-byte"]),
            );
            let tree = l.path("archive-tree");
            extract(a, &tree);
            slots.push(
                Slot::new(
                    "scan docker-archive: --record, manifest.json",
                    &["scan", "docker-archive:{}", "--record", "--digest", D],
                    read(&tree.join("manifest.json")),
                    "json",
                )
                .wrap(Wrap::InTar(a.clone(), "manifest.json")),
            );
        }
        for slot in slots {
            cases.extend(slot.cases(l.dir.path()));
        }
        // Sources and flags that are not what they should be.
        let rootfs = f
            .rootfs
            .as_ref()
            .map(|r| format!("dir:{}", r.display()))
            .unwrap_or_else(|| "dir:/etc".into());
        cases.extend([
            case("scan no transport", &["scan", "/etc/os-release"]).names("/etc/os-release"),
            case("scan unknown transport", &["scan", "ftp:/x"]).names("ftp:"),
            case("scan empty source", &["scan", ""]).names("source"),
            case(
                "scan file:/dev/zero",
                &["scan", "file:/dev/zero", "--record", "--digest", D],
            )
            .names("/dev/zero")
            .rss(),
            case(
                "scan dir:/dev",
                &["scan", "dir:/dev/null", "--record", "--digest", D],
            )
            .names("/dev/null"),
            case("scan --format xml", &["scan", &rootfs, "--format", "xml"]).names("--format"),
            case(
                "scan --digest malformed",
                &["scan", &rootfs, "--record", "--digest", "sha256:zz"],
            )
            .names("--digest"),
            case(
                "scan --max-file-bytes words",
                &["scan", &rootfs, "--max-file-bytes", "lots"],
            )
            .names("--max-file-bytes"),
            case("scan --max-time=-5", &["scan", &rootfs, "--max-time=-5"]).names("--max-time"),
            case(
                "scan --max-entries huge",
                &["scan", &rootfs, "--max-entries", "99999999999999999999999"],
            )
            .names("--max-entries"),
            case("BUILDLEDGER_SCAN_MAX_TIME=soon", &["scan", &rootfs])
                .env("BUILDLEDGER_SCAN_MAX_TIME", "soon")
                .names("BUILDLEDGER_SCAN_MAX_TIME"),
            case(
                "scan --platform with ESC",
                &["scan", &rootfs, "--platform", "linux/\x1b[2J"],
            )
            .want(Want::Either(&[2]))
            .names("--platform"),
        ]);
        // A tree with control characters in what the scan prints.
        if let Some(r) = &f.rootfs {
            let t = l.path("ctrl-rootfs");
            copy_tree(r, &t);
            std::fs::write(
                t.join("etc/os-release"),
                "NAME=\"Alp\x1b[2Jine\"\nID=alpine\x1b]0;x\x07\nVERSION_ID=3.14\u{202e}.0\nPRETTY_NAME=\"\x00\"\n",
            )
            .unwrap();
            let spec = format!("dir:{}", t.display());
            cases.push(
                case(
                    "scan dir: os-release with control characters",
                    &["scan", &spec],
                )
                .want(Want::Either(&[2]))
                .names(&spec),
            );
            cases.push(
                case(
                    "scan dir: os-release with control characters, --json",
                    &["--json", "scan", &spec],
                )
                .want(Want::Either(&[2]))
                .names(&spec),
            );
        }
        cases
    });
}

/// Arguments of the read commands: show, vulns, lineage, mismatches, affected, changes, query, table.
#[test]
fn read_command_arguments() {
    suite("read commands", true, |l| {
        let _ = l;
        let long = format!("sha256:{}", "a".repeat(100_000));
        let absent = format!("sha256:{}", "7".repeat(64));
        let bad_digests: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("not hex", "sha256:zz".into()),
            ("no algorithm", "a".repeat(64)),
            ("100k chars", long.clone()),
            ("ESC", format!("{D}\x1b[2J")),
            ("U+202E", format!("\u{202e}{D}")),
            ("SQL", "sha256:' OR 1=1 --".into()),
        ];
        let mut cases = Vec::new();
        for cmd in ["show", "vulns", "lineage", "mismatches"] {
            for (what, d) in &bad_digests {
                cases
                    .push(case(format!("{cmd} digest {what}"), &[cmd, d.as_str()]).names("digest"));
            }
            let want = if cmd == "mismatches" {
                Want::Accept
            } else {
                Want::Reject(&[1])
            };
            cases.push(
                case(format!("{cmd} absent digest"), &[cmd, &absent])
                    .want(want)
                    .names(absent.clone()),
            );
        }
        let long_id = "CVE-".repeat(25_000);
        for (what, id) in [
            ("empty", ""),
            ("ESC", "CVE-2023-\x1b[2J"),
            ("U+202E", "\u{202e}CVE-2023-1"),
            ("SQL", "' OR 1=1 --"),
            ("LIKE wildcard", "%"),
            ("100k chars", &long_id),
        ] {
            cases.push(
                case(format!("affected {what}"), &["affected", id])
                    .want(Want::Either(&[1, 2]))
                    .names("alias"),
            );
        }
        for since in [
            "yesterday",
            "",
            "-1h",
            "99999999999999999999d",
            "9999999999999m",
            "2026-02-30",
            "2026-13-01",
            "1e9d",
            "\x1b[2J",
            "24x",
        ] {
            cases.push(
                case(
                    format!("changes --since {since:?}"),
                    &["changes", "--since", since],
                )
                .names("--since"),
            );
        }
        for (flag, v) in [
            ("--toolchain", "@1.21"),
            ("--toolchain", "go@<<1"),
            ("--toolchain", "go@>=1.2,,<3"),
            ("--toolchain", "go@\x1b[2J"),
            ("--package", "notapurl"),
            ("--package", "pkg:"),
            ("--package", "pkg:golang/x@<<1"),
            ("--package", "pkg:golang/\x1b[2J"),
            ("--api-stability", "gamma"),
            ("--api-stability", "\u{202e}beta"),
            ("--limit", "-1"),
            ("--limit", "abc"),
            ("--limit", "99999999999999999999999"),
        ] {
            let want = if v.contains('\x1b') {
                Want::Either(&[2])
            } else {
                BAD
            };
            cases.push(
                case(
                    format!("query {flag}={v:?}"),
                    &["query", &format!("{flag}={v}")],
                )
                .want(want)
                .names(flag),
            );
        }
        for (flag, v) in [
            ("--commit", "zz"),
            ("--commit", "\x1b[2J"),
            ("--tag", "\x1b]0;x\x07"),
            ("--repo", "\u{202e}x"),
        ] {
            cases.push(
                case(format!("query {flag} {v:?}"), &["query", flag, v])
                    .want(Want::Either(&[2]))
                    .names(flag.trim_start_matches('-')),
            );
        }
        // A version no scheme reads: bad input, not "stored versions could not be compared".
        cases.push(
            case(
                "query --toolchain go@banana",
                &["query", "--toolchain", "go@banana"],
            )
            .names("--toolchain"),
        );
        cases.push(
            case(
                "query --package with an unreadable version",
                &["query", "--package", "pkg:golang/golang.org/x/net@banana"],
            )
            .names("--package"),
        );
        cases.extend([
            case("table --limit abc", &["table", "--limit", "abc"]).names("--limit"),
            case("table --format xml", &["table", "--format", "xml"]).names("--format"),
            case("--db empty", &["--db", "", "info"]).names("--db"),
            case("--db a directory", &["--db", "/", "info"])
                .want(Want::Reject(&[1, 2]))
                .names("/"),
            case("--db /dev/zero", &["--db", "/dev/zero", "info"])
                .want(Want::Reject(&[1, 2]))
                .names("/dev/zero"),
        ]);
        cases
    });
}
