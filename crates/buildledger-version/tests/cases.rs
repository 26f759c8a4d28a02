//! Published and hand-picked tricky cases per scheme (each written from the
//! ecosystem's documentation of its ordering), Constraint and
//! go_toolchain_to_semver unit tests, and hostile inputs that must give
//! errors, never panics.

mod common;

use buildledger_version::*;
use common::check_cases;

#[test]
fn debian_cases() {
    check_cases(
        Scheme::Debian,
        &[
            ("1.0~rc1", "1.0", "-1"),
            ("1.0~~", "1.0~", "-1"),
            ("1.0", "1.0+b1", "-1"),
            ("1.0a", "1.0+", "-1"),
            ("1:0.1", "2.0", "1"),
            ("1.0", "1.0-0", "0"),
            ("0:1.0", "1.0", "0"),
            ("1.0-1", "1.0-1ubuntu1", "-1"),
            ("2.30-1", "2.4-1", "1"),
            ("1.001", "1.1", "0"),
            ("1:", "1", "E"),
            ("", "1", "E"),
            ("1 0", "1", "E"),
            ("1.0-", "1", "E"),
            ("a:1", "1", "E"),
            ("-1:1", "1", "E"),
        ],
    );
}

#[test]
fn rpm_cases() {
    check_cases(
        Scheme::Rpm,
        &[
            ("1.0~rc1", "1.0", "-1"),
            ("1.0^git1", "1.0", "1"),
            ("1.0^git1", "1.0.1", "-1"),
            ("1.0^git1", "1.0~rc1", "1"),
            ("1:1.0", "2.0", "1"),
            ("1.0-1.el9", "1.0-2.el9", "-1"),
            ("1.0a", "1.0", "1"),
            ("1.0", "1.0a", "-1"),
            ("1.01", "1.1", "0"),
            ("1.0_1", "1.0.1", "0"),
            ("2.0.1", "2.0.1a", "-1"),
            ("a", "1", "-1"),
            ("", "1", "E"),
        ],
    );
}

#[test]
fn alpine_cases() {
    check_cases(
        Scheme::Alpine,
        &[
            ("1.0_alpha", "1.0", "-1"),
            ("1.0_rc1", "1.0", "-1"),
            ("1.0_p1", "1.0", "1"),
            ("1.0_git20200101", "1.0", "1"),
            ("1.0_cvs1", "1.0_svn1", "-1"),
            ("1.0_git1", "1.0_hg1", "-1"),
            ("1.0_hg1", "1.0_p1", "-1"),
            ("1.0_alpha1", "1.0_beta1", "-1"),
            ("1.0_beta1", "1.0_pre1", "-1"),
            ("1.0_pre1", "1.0_rc1", "-1"),
            ("1.0-r1", "1.0-r2", "-1"),
            ("1.0-r10", "1.0-r9", "1"),
            ("1.0", "1.0-r1", "-1"),
            ("1.0a", "1.0b", "-1"),
            ("1.0a", "1.0.1", "-1"),
            ("1.01", "1.1", "-1"),
            ("1.2.1", "1.2", "1"),
            ("0.1.0_alpha_pre2", "0.1.0_alpha", "-1"),
            ("1.3_pre1-r1", "1.3.2", "-1"),
            ("4.5_p1-r1", "4.5_p1", "1"),
            ("006", "1.0.0", "1"),
            ("1.0bc", "1.0", "E"),
            ("1.0_foo", "1.0", "E"),
            ("a1", "1", "E"),
            ("", "1", "E"),
        ],
    );
}

#[test]
fn pep440_cases() {
    check_cases(
        Scheme::Pep440,
        &[
            ("1.0.dev1", "1.0a1", "-1"),
            ("1.0a1", "1.0b1", "-1"),
            ("1.0rc1", "1.0", "-1"),
            ("1.0", "1.0.post1", "-1"),
            ("1.0.post1.dev1", "1.0.post1", "-1"),
            ("1.0", "1.0+local", "-1"),
            ("1!0.1", "2.0", "1"),
            ("1.0", "1.0.0", "0"),
            ("1.0-alpha1", "1.0a1", "0"),
            ("1.0", "1.0-", "E"),
            ("not a version", "1", "E"),
        ],
    );
}

#[test]
fn semver_go_npm_cases() {
    check_cases(
        Scheme::SemVer,
        &[
            ("1.0.0-alpha", "1.0.0-alpha.1", "-1"),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta", "-1"),
            ("1.0.0-beta.2", "1.0.0-beta.11", "-1"),
            ("1.0.0-rc.1", "1.0.0", "-1"),
            ("1.0.0+build.1", "1.0.0+build.2", "0"),
            ("99999999999999999999.0.0", "1.0.0", "1"),
            ("1.2", "1.2.0", "E"),
            ("v1.2.3", "1.2.3", "E"),
            ("01.2.3", "1.2.3", "E"),
        ],
    );
    check_cases(
        Scheme::Go,
        &[
            ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", "-1"),
            ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", "1"),
            ("v2.0.0+incompatible", "v2.0.0", "0"),
            ("1.2.3", "v1.2.3", "0"),
            ("v1", "v1.0.0", "0"),
            ("v1.2", "v1.2.0", "0"),
            ("v1.2-pre", "v1.2.0", "E"),
        ],
    );
    check_cases(
        Scheme::Npm,
        &[
            ("v1.2.3", "1.2.3", "0"),
            (" 1.2.3 ", "1.2.3", "0"),
            ("1.2.3-9007199254740993", "1.2.3-9007199254740992", "0"),
            ("9007199254740992.0.0", "1.0.0", "E"),
            ("1.2", "1.2.0", "E"),
        ],
    );
}

#[test]
fn go_toolchain_cases() {
    check_cases(
        Scheme::GoToolchain,
        &[
            ("go1.21rc2", "go1.21.0", "-1"),
            ("go1.13", "go1.13.0", "0"),
            ("go1.13rc1", "go1.13", "-1"),
            ("go1.9.2rc2", "go1.9.2", "-1"),
            ("go1.9.2rc2", "go1.9.1", "1"),
            ("go1.21beta1", "go1.21rc1", "-1"),
            ("go1.10", "go1.9.7", "1"),
            ("1.13.4", "go1.13.4", "0"),
            ("go1.21.x", "go1.21.0", "E"),
        ],
    );
}

#[test]
fn go_toolchain_to_semver_forms() {
    for (tag, want) in [
        ("go1.13.4", "1.13.4"),
        ("1.13.4", "1.13.4"),
        ("go1.21rc2", "1.21.0-rc.2"),
        ("go1.13", "1.13.0"),
        ("go1.21.0", "1.21.0"),
        ("go1.9.2rc2", "1.9.2-rc.2"),
        ("go1.13beta1", "1.13.0-beta.1"),
        ("go1", "1.0.0"),
    ] {
        assert_eq!(go_toolchain_to_semver(tag).as_deref(), Ok(want), "{tag}");
    }
    for bad in [
        "",
        "go",
        "go1.",
        "go1.2.3.4",
        "go01.2",
        "go1.2x1",
        "gox",
        "go1.21-rc.1",
        "devel +abc",
    ] {
        assert!(
            go_toolchain_to_semver(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn maven_and_rubygems_cases() {
    check_cases(
        Scheme::Maven,
        &[
            ("1.0-alpha-1", "1.0-beta-1", "-1"),
            ("1.0-SNAPSHOT", "1.0", "-1"),
            ("1.0-rc1", "1.0-SNAPSHOT", "-1"),
            ("1.0", "1.0.0", "0"),
            ("1.0-ga", "1.0", "0"),
            ("1.0-final", "1.0", "0"),
            ("1.0-cr1", "1.0-rc1", "0"),
            ("1.0-sp1", "1.0", "1"),
            ("1.0-xyz", "1.0-sp", "1"),
            ("1.0a1", "1.0-alpha-1", "0"),
            ("1.0", "", "1"),
        ],
    );
    check_cases(
        Scheme::RubyGems,
        &[
            ("1.0.0.a", "1.0.0", "-1"),
            ("1.0.0-rc1", "1.0.0", "-1"),
            ("1.0", "1.0.0", "0"),
            ("1.0.b1", "1.0.a2", "1"),
            ("1.10", "1.9", "1"),
            ("", "0", "0"),
            ("1..0", "1", "E"),
            ("a", "1", "E"),
        ],
    );
}

/// NuGet cases from NuGet.Versioning's own tests (NuGetVersionTest.cs) and
/// its parser and comparer (NuGetVersionFactory.cs, VersionComparer.cs).
#[test]
fn nuget_cases() {
    check_cases(
        Scheme::NuGet,
        &[
            // One to four numbers, missing ones 0, leading zeros allowed.
            ("1", "1.0.0.0", "0"),
            ("1.0", "1.0.0", "0"),
            ("1.0.0", "1.0.0.0", "0"),
            ("1.23.01", "1.23.1", "0"),
            ("01.42.0", "1.42", "0"),
            ("1.01", "1.10", "-1"),
            ("1.4.5.6", "1.45.6", "-1"),
            ("1.4.5.6", "1.4.5.60", "-1"),
            ("2147483647.0", "1", "1"),
            // The fourth number comes before the release labels.
            ("1.0.0.1", "1.0.0", "1"),
            ("1.0.0.1-alpha", "1.0.0", "1"),
            ("1.0.0.1-alpha", "1.0.0.1", "-1"),
            // Release labels: case-insensitive, numbers numerically and
            // before words, more labels win.
            ("1.6.2-BeTa", "1.6.02-beta", "0"),
            ("1.01-RC-1", "1.01", "-1"),
            ("1.01", "1.2-preview", "-1"),
            ("1.01.0-RC-1", "1.10.0-rc-2", "-1"),
            ("1.0.0-alpha", "1.0.0-alpha.1", "-1"),
            ("1.0.0-alpha.2", "1.0.0-alpha.10", "-1"),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta", "-1"),
            ("1.0.0-1", "1.0.0-a", "-1"),
            ("1.0.0-A", "1.0.0-a-", "-1"),
            ("1.0.0-Z", "1.0.0-a", "1"),
            // int.TryParse reads "-1" as a number, and "2147483648" as none.
            ("1.0.0-a.-1", "1.0.0-a.0", "-1"),
            ("1.0.0-a.-0", "1.0.0-a.0", "0"),
            ("1.0.0-2147483648", "1.0.0-5", "1"),
            ("1.0.0-2147483648", "1.0.0-a", "-1"),
            ("1.0.0--", "1.0.0-0", "1"),
            // Build metadata is ignored.
            ("1.0.0+build.1", "1.0.0+build.2", "0"),
            ("1.0.0-rc.1+x", "1.0.0-RC.1", "0"),
            ("1.0+A", "1.0.0", "0"),
            // Surrounding white space, and white space around numbers.
            ("  1.022-Beta", "1.22-beta", "0"),
            ("22.3.07     ", "22.3.7", "0"),
            ("1 .2", "1.2", "0"),
            ("1\u{a0}", "1", "0"),
            // Rejected (NuGetVersionTest.ParseThrowsIfStringIsNotAValidSemVer
            // and the parser): no 'v' prefix, at most four numbers, no empty
            // or trailing section, numbers within Int32, valid labels.
            ("v1.0", "1.0", "E"),
            ("V1.0.0", "1.0.0", "E"),
            ("1beta", "1", "E"),
            ("$version$", "1", "E"),
            ("1.2..", "1", "E"),
            ("1..2", "1", "E"),
            ("1.", "1", "E"),
            (".1", "1", "E"),
            ("1.2.3.4.5", "1", "E"),
            ("1.2.3.Beta", "1", "E"),
            ("So.is.this", "1", "E"),
            ("1.34.2Release Candidate", "1", "E"),
            ("1 2", "1", "E"),
            ("1.4.7-", "1", "E"),
            ("1.4.7-*", "1", "E"),
            ("1.4.7+*", "1", "E"),
            ("1.4.7-AA.01^", "1", "E"),
            ("1.4.7-A^A", "1", "E"),
            ("1.4.7+AA.01^", "1", "E"),
            ("1.0-01", "1", "E"),
            ("1.0-a..b", "1", "E"),
            ("1.0-a+", "1", "E"),
            ("1.0-+a", "1", "E"),
            ("1.0+a+b", "1", "E"),
            ("1.0+a..b", "1", "E"),
            ("1.0-é", "1", "E"),
            ("\u{661}.0", "1.0", "E"),
            ("2147483648", "1", "E"),
            ("1.99999999999999999999", "1", "E"),
            ("", "1", "E"),
            ("  ", "1", "E"),
            ("-1", "1", "E"),
            ("+1", "1", "E"),
        ],
    );
}

/// Composer cases, each checked with `Composer\Semver` (`VersionParser::normalize`
/// then Comparator) from Debian's php-composer-semver 3.3.2.
#[test]
fn composer_cases() {
    check_cases(
        Scheme::Composer,
        &[
            ("1.0", "1.0.0.0", "0"),
            ("v1.2.3", "1.2.3", "0"),
            ("V1.2", "1.2.0", "0"),
            ("1.2.3.4", "1.2.3.5", "-1"),
            // dev < alpha < beta < RC < stable < patch, with short forms.
            ("1.0.0-dev", "1.0.0-alpha", "-1"),
            ("1.0.0-alpha", "1.0.0-beta", "-1"),
            ("1.0.0-beta", "1.0.0-RC", "-1"),
            ("1.0.0-RC1", "1.0.0", "-1"),
            ("1.0.0", "1.0.0-patch1", "-1"),
            ("1.0.0-a1", "1.0.0-alpha1", "0"),
            ("1.0.0-b2", "1.0.0-beta2", "0"),
            ("1.0.0-pl1", "1.0.0-p1", "0"),
            ("1.0.0-rc1", "1.0.0-RC1", "0"),
            ("1.0RC", "1.0-rc", "0"),
            ("1.0.0_rc1", "1.0.0-RC1", "0"),
            ("1.0.0-alpha1-dev", "1.0.0-alpha1", "-1"),
            ("1.0.0-beta.2", "1.0.0-beta10", "-1"),
            ("1.0.0-beta.2.1", "1.0.0-beta2", "1"),
            // "stable" drops the modifier; in upper case it is kept as an
            // unknown word, which version_compare puts below "dev".
            ("1.0-stable", "1.0", "0"),
            ("1.0-STABLE", "1.0", "-1"),
            ("1.0-STABLE", "1.0-dev", "-1"),
            // Build metadata, stability flags and aliases are stripped.
            ("1.0.0+build", "1.0.0", "0"),
            ("1.0@dev", "1.0", "0"),
            ("1.0 as 2.0", "1.0", "0"),
            // A trailing separator is an empty modifier.
            ("1.0-", "1.0", "0"),
            ("1.0.", "1", "0"),
            // Date versions.
            ("2023.01.31", "2023.1.31", "0"),
            ("20230131", "2023.01.31", "1"),
            ("2023-01-31-15:30", "2023.01.31.15.30", "0"),
            ("123456", "99999", "1"),
            // Numeric branches.
            ("1.x-dev", "1.99", "1"),
            ("2.0.x-dev", "2.0.5", "1"),
            ("2.0.*-dev", "2.0.9999999", "1"),
            // Rejected: branch names (not ordered), and what normalize
            // rejects.
            ("dev-main", "1", "E"),
            ("dev-1.x", "1", "E"),
            ("master", "1", "E"),
            ("1.0.0.0.0", "1", "E"),
            ("1.0-foo", "1", "E"),
            ("1.0-dev1", "1", "E"),
            ("99999999999999999999", "1", "E"),
            ("x", "1", "E"),
            ("", "1", "E"),
            // Deliberately rejected (Composer accepts it as 1.0.0.0): a line
            // feed inside after trimming.
            ("1.0\n@dev", "1", "E"),
        ],
    );
}

#[test]
fn generic_cases() {
    check_cases(
        Scheme::Generic,
        &[
            ("1.0", "1.0.0", "0"),
            ("1.10", "1.9", "1"),
            ("1.0-rc1", "1.0", "-1"),
            ("2.0a", "2.0b", "-1"),
            ("", "1", "E"),
            ("1 0", "1", "E"),
        ],
    );
}

#[test]
fn scheme_lookup() {
    let osv = [
        ("Go", Scheme::Go),
        ("crates.io", Scheme::SemVer),
        ("PyPI", Scheme::Pep440),
        ("npm", Scheme::Npm),
        ("Maven", Scheme::Maven),
        ("RubyGems", Scheme::RubyGems),
        ("NuGet", Scheme::NuGet),
        ("Packagist", Scheme::Composer),
        ("Alpine:v3.10", Scheme::Alpine),
        ("Debian:12", Scheme::Debian),
        ("Ubuntu:22.04", Scheme::Debian),
        ("Red Hat", Scheme::Rpm),
        ("Rocky Linux:9", Scheme::Rpm),
        ("AlmaLinux", Scheme::Rpm),
        ("openSUSE", Scheme::Rpm),
        ("SUSE", Scheme::Rpm),
        ("Mageia", Scheme::Rpm),
        ("Wolfi", Scheme::Alpine),
        ("Chainguard", Scheme::Alpine),
    ];
    for (eco, want) in osv {
        assert_eq!(Scheme::for_osv_ecosystem(eco), Some(want), "{eco}");
    }
    assert_eq!(Scheme::for_osv_ecosystem("NoSuchEcosystem"), None);
    for (ty, want) in [
        ("golang", Scheme::Go),
        ("cargo", Scheme::SemVer),
        ("pypi", Scheme::Pep440),
        ("npm", Scheme::Npm),
        ("maven", Scheme::Maven),
        ("gem", Scheme::RubyGems),
        ("nuget", Scheme::NuGet),
        ("NuGet", Scheme::NuGet),
        ("composer", Scheme::Composer),
        ("deb", Scheme::Debian),
        ("rpm", Scheme::Rpm),
        ("apk", Scheme::Alpine),
        ("generic", Scheme::Generic),
    ] {
        assert_eq!(Scheme::for_purl_type(ty), Some(want), "{ty}");
    }
    assert_eq!(Scheme::for_purl_type("nosuch"), None);
}

#[test]
fn constraints() {
    let c = Constraint::parse("<1.14").unwrap();
    assert!(c.matches(Scheme::Go, "1.13.9").unwrap());
    assert!(!c.matches(Scheme::Go, "v1.14.0").unwrap());

    let c = Constraint::parse(">=1.2, <1.3").unwrap();
    assert!(c.matches(Scheme::Debian, "1.2").unwrap());
    assert!(c.matches(Scheme::Debian, "1.2.99").unwrap());
    assert!(
        c.matches(Scheme::Debian, "1.3~rc1").unwrap(),
        "1.3~rc1 < 1.3 in dpkg order"
    );
    assert!(!c.matches(Scheme::Debian, "1.3").unwrap());
    assert!(!c.matches(Scheme::Debian, "1.1").unwrap());

    let c = Constraint::parse("=1.13.4").unwrap();
    assert!(c.matches(Scheme::Maven, "1.13.4.0").unwrap());
    assert!(!c.matches(Scheme::Maven, "1.13.5").unwrap());
    let c = Constraint::parse("1.13.4").unwrap();
    assert!(c.matches(Scheme::SemVer, "1.13.4+meta").unwrap());
    let c = Constraint::parse("== 1.0").unwrap();
    assert!(c.matches(Scheme::Pep440, "1.0.0").unwrap());

    let c = Constraint::parse("!=1.0").unwrap();
    assert!(!c.matches(Scheme::Generic, "1.0.0").unwrap());
    assert!(c.matches(Scheme::Generic, "1.1").unwrap());

    let c = Constraint::parse("*").unwrap();
    assert!(c.matches(Scheme::Npm, "0.0.1").unwrap());
    assert!(c.matches(Scheme::Npm, "not-semver").is_err());

    let c = Constraint::parse("<1.0 || >=2.0, <2.5 || =3.0").unwrap();
    assert_eq!(c.alternatives().len(), 3);
    for (v, want) in [
        ("0.9", true),
        ("1.5", false),
        ("2.4", true),
        ("2.5", false),
        ("3.0", true),
    ] {
        assert_eq!(c.matches(Scheme::Generic, v).unwrap(), want, "{v}");
    }
    assert_eq!(c.to_string(), "<1.0 || >=2.0, <2.5 || =3.0");

    // Invalid bounds are reported under a scheme that rejects them.
    let c = Constraint::parse("<1:").unwrap();
    assert!(c.matches(Scheme::Debian, "1.0").is_err());

    for bad in [
        "", "  ", "<", ">=1.0,", ",<1", "||", "<1 ||", "1.0 2.0", "<=>1", "*, <1", ">=*",
    ] {
        let e = Constraint::parse(bad);
        assert!(e.is_err(), "{bad:?} should be rejected, got {e:?}");
    }
    let long = "<1,".repeat(2000);
    assert!(Constraint::parse(&long).is_err());
    let many = vec!["<1"; MAX_CONSTRAINT_TERMS + 1].join(",");
    assert!(Constraint::parse(&many).is_err());
}

#[test]
fn errors_name_scheme_and_string() {
    let e = validate(Scheme::Debian, "1:").unwrap_err().to_string();
    assert!(
        e.contains("Debian") && e.contains("\"1:\"") && e.contains("nothing after colon"),
        "{e}"
    );
    let e = validate(Scheme::SemVer, "1.2").unwrap_err().to_string();
    assert!(e.contains("SemVer") && e.contains("\"1.2\""), "{e}");
    let e = validate(Scheme::NuGet, "v1.0").unwrap_err().to_string();
    assert!(e.contains("NuGet") && e.contains("\"v1.0\""), "{e}");
    let e = compare(Scheme::Composer, "1.0", "dev-main")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Composer") && e.contains("\"dev-main\"") && e.contains("branch"),
        "{e}"
    );
    let long = "1".repeat(MAX_VERSION_LEN + 1);
    for s in [Scheme::Rpm, Scheme::NuGet, Scheme::Composer] {
        assert!(matches!(
            validate(s, &long),
            Err(VersionError::TooLong { .. })
        ));
    }
}

/// Hand-made hostile inputs through every scheme: errors or answers, never
/// panics. The same entry points are the fuzz target
/// fuzz/fuzz_targets/version_compare.rs.
#[test]
fn hostile_inputs_do_not_panic() {
    let inputs = [
        "",
        " ",
        "\0",
        ":",
        "-",
        "~",
        "^",
        "_",
        ".",
        "..",
        "--",
        "+",
        "v",
        "go",
        "1:",
        ":1",
        "1-",
        "-r",
        "1-r",
        "1_",
        "1_p",
        "1.0_alpha_",
        "\u{ff}",
        "é",
        "1é",
        "１",
        "9".repeat(600).leak(),
        "1.".repeat(300).leak(),
        "-".repeat(511).leak(),
        "1-a".repeat(170).leak(),
        "99999999999999999999999:1",
        "1.0.0-",
        "1.0.0+",
        "1.0.0-.",
        "1!",
        "1.0+",
        "v1.",
        "go1.21rc",
        "go1.21rc01",
        "\u{feff}1.2.3",
        "1.2.3\u{85}",
        "0:0-0",
        "a".repeat(512).leak(),
        // NuGet and Composer edges.
        "1.0-",
        "1.0+",
        "1.0-+",
        "1 .",
        " . ",
        "\u{a0}1\u{a0}.\u{a0}2",
        "2147483648.1",
        "1.0-a.-",
        "dev-",
        "dev",
        "-dev",
        "1.x-dev",
        "v.x-dev",
        "1.0 as ",
        " as 1.0",
        "1.0@",
        "@dev",
        "1.0\n@dev",
        "1+",
        "+",
        "2023-",
        "2023.01.31.12.30.45.123-beta.1-dev",
        "9999999999999999999999.0-p9999999999999999999999",
        "1.0-RC.".repeat(60).leak(),
        "1.x.x.x.x-dev",
        "\u{c}1.0",
    ];
    let schemes = [
        Scheme::SemVer,
        Scheme::Go,
        Scheme::GoToolchain,
        Scheme::Debian,
        Scheme::Rpm,
        Scheme::Alpine,
        Scheme::Pep440,
        Scheme::Npm,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Composer,
        Scheme::Generic,
    ];
    for s in schemes {
        for a in inputs {
            let _ = validate(s, a);
            for b in ["1", "1.0.0", "1:1.0-1", a] {
                let _ = compare(s, a, b);
            }
        }
    }
}
