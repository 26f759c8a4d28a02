#![no_main]
//! Fuzz buildledger-version: every scheme's validate/compare and constraint
//! parsing on arbitrary input must return, never panic.

use buildledger_version::{Constraint, Scheme, compare, go_toolchain_to_semver, validate};
use libfuzzer_sys::fuzz_target;

const SCHEMES: [Scheme; 13] = [
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

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (a, b) = s.split_once('\t').unwrap_or((s, "1.0"));
    for scheme in SCHEMES {
        let _ = validate(scheme, a);
        if let (Ok(x), Ok(y)) = (compare(scheme, a, b), compare(scheme, b, a)) {
            assert_eq!(x, y.reverse(), "{scheme}: compare is not antisymmetric on {a:?} / {b:?}");
        }
    }
    let _ = go_toolchain_to_semver(a);
    if let Ok(c) = Constraint::parse(a) {
        let _ = c.matches(Scheme::SemVer, b);
    }
});
