//! Fuzz buildledger_ospkg::parse_rpm_header: any bytes must give Ok or Err, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = buildledger_ospkg::parse_rpm_header(data) {
        let _ = p.purl(None);
    }
});
