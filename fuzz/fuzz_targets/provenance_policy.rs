//! Fuzz buildledger-provenance's trusted-builder policy parser (`TrustPolicy::from_str`, the
//! text of a policy file): any text must give a policy or a `ProvenanceError`, never a panic.
//! Relative key paths resolve against a directory that does not exist.
#![no_main]

use std::path::Path;

use buildledger_provenance::TrustPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = TrustPolicy::from_str(s, Path::new("/nonexistent/buildledger-fuzz"));
});
