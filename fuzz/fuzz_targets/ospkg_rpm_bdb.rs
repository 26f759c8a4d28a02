//! Fuzz buildledger_ospkg::parse_rpmdb_bdb: any bytes must give Ok or Err, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pkgs) = buildledger_ospkg::parse_rpmdb_bdb(data, "fuzz") {
        for p in &pkgs {
            let _ = p.purl(None);
        }
    }
});
