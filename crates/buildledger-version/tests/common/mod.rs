//! Shared helpers for buildledger-version's differential tests: oracle
//! availability (skip locally, fail under CI=true), a seeded generator, and
//! batch runs of oracle programs over "a<TAB>b" lines.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use buildledger_version::{Scheme, compare};

/// Number of generated pairs per comparator.
pub const PAIRS: usize = 10_000;

pub fn ci() -> bool {
    buildledger_testkit::ci::in_ci()
}

/// `true` if `ok`; otherwise skip with a message, or panic under CI=true.
pub fn require(ok: bool, what: &str) -> bool {
    buildledger_testkit::ci::require(ok, &format!("oracle {what}"))
}

/// Whether `cmd args…` runs and exits 0.
pub fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `python3` can import `module`.
pub fn python_has(module: &str) -> bool {
    runs("python3", &["-c", &format!("import {module}")])
}

pub fn oracles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles")
}

/// A scratch directory for built oracles, kept between runs.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("blv-oracles")
        .join(name);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// SplitMix64: small, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    /// `1..=max` picks from `xs`, concatenated.
    pub fn concat(&mut self, xs: &[&str], max: usize) -> String {
        let n = 1 + self.below(max);
        (0..n).map(|_| self.pick(xs)).collect()
    }
}

/// Pairs where `b` is often a small edit of `a`, so that comparisons reach
/// deep into the strings.
pub fn pairs(
    rng: &mut Rng,
    n: usize,
    mut gen_one: impl FnMut(&mut Rng) -> String,
    edits: &[&str],
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let a = gen_one(rng);
        let b = match rng.below(4) {
            0 => gen_one(rng),
            1 => a.clone(),
            _ => {
                let mut b = a.clone();
                match rng.below(3) {
                    0 => b.push_str(rng.pick(edits)),
                    1 => {
                        b.pop();
                    }
                    _ => {
                        let cut = rng.below(b.len() + 1);
                        let cut = (0..=cut)
                            .rev()
                            .find(|&i| b.is_char_boundary(i))
                            .unwrap_or(0);
                        b.insert_str(cut, rng.pick(edits));
                    }
                }
                b
            }
        };
        if a.contains(['\t', '\n']) || b.contains(['\t', '\n']) {
            continue;
        }
        out.push((a, b));
    }
    out
}

/// Feed the pairs to `cmd` on stdin and return its output lines.
pub fn run_oracle(cmd: &mut Command, pairs: &[(String, String)]) -> Vec<String> {
    let mut input = String::new();
    for (a, b) in pairs {
        input.push_str(a);
        input.push('\t');
        input.push_str(b);
        input.push('\n');
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn oracle {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer").expect("write pairs");
    assert!(
        out.status.success(),
        "oracle {cmd:?} failed: {:?}",
        out.status
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines.len(),
        pairs.len(),
        "oracle {cmd:?} answered a different number of lines"
    );
    lines
}

/// Our answer in the oracle's notation.
pub fn ours(scheme: Scheme, a: &str, b: &str) -> String {
    match compare(scheme, a, b) {
        Ok(o) => (o as i8).to_string(),
        Err(_) => "E".to_string(),
    }
}

/// How oracle rejections are treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Our errors must be exactly the oracle's errors.
    Exact,
    /// The oracle is a proxy that rejects more than the real tool: pairs it
    /// rejects are skipped, but we must accept all it accepts.
    SkipOracleErrors,
    /// The oracle is a proxy whose validity rules differ from the real
    /// tool's both ways (validity is checked against the real tool
    /// elsewhere): pairs that either side rejects are skipped.
    OrderOnly,
}

/// Compare our answers with the oracle's, panic listing mismatches, and
/// require at least `min_compared` ordered (non-error) pairs.
pub fn check(
    name: &str,
    scheme: Scheme,
    pairs: &[(String, String)],
    oracle: &[String],
    validity: Validity,
    min_compared: usize,
) {
    let mut mismatches = Vec::new();
    let (mut compared, mut errors, mut skipped) = (0, 0, 0);
    for ((a, b), want) in pairs.iter().zip(oracle) {
        if want == "E" && validity == Validity::SkipOracleErrors {
            skipped += 1;
            continue;
        }
        let got = ours(scheme, a, b);
        if validity == Validity::OrderOnly && (got == "E" || want == "E") {
            skipped += 1;
            continue;
        }
        if &got != want {
            mismatches.push(format!("{a:?} vs {b:?}: ours {got}, oracle {want}"));
        } else if got == "E" {
            errors += 1;
        } else {
            compared += 1;
        }
    }
    eprintln!(
        "{name}: {} pairs, {compared} ordered alike, {errors} rejected alike, {skipped} skipped, {} mismatches",
        pairs.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{name}: {} mismatches, first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        compared >= min_compared,
        "{name}: only {compared} pairs ordered (wanted {min_compared})"
    );
}

/// Check hand-picked `(a, b, expected)` cases; expected as "-1", "0", "1", "E".
pub fn check_cases(scheme: Scheme, cases: &[(&str, &str, &str)]) {
    let mut bad = Vec::new();
    for (a, b, want) in cases {
        let got = ours(scheme, a, b);
        if got != *want {
            bad.push(format!("{a:?} vs {b:?}: got {got}, want {want}"));
        }
        // Antisymmetry.
        if *want != "E" {
            let rev = ours(scheme, b, a);
            let want_rev = (-want.parse::<i8>().unwrap_or(0)).to_string();
            if rev != want_rev {
                bad.push(format!("{b:?} vs {a:?}: got {rev}, want {want_rev}"));
            }
        }
    }
    assert!(bad.is_empty(), "{scheme}: {}", bad.join("\n"));
}
