#![no_main]
//! Fuzz buildledger-feed's OSV parser: any bytes must give Ok or Err, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = buildledger_feed::parse_osv(data, "fuzz");
});
