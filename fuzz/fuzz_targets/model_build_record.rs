//! Fuzz buildledger_model::BuildRecord::from_json (records arrive from CI over the API and from
//! files): any bytes must give a record or a `ModelError`, never a panic; a record that parsed
//! must serialise and read back to the same record.
#![no_main]

use buildledger_model::BuildRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = BuildRecord::from_json(data) else {
        return;
    };
    let bytes = serde_json::to_vec(&rec).expect("serialise a parsed record");
    let back = BuildRecord::from_json(&bytes).expect("our own output parses");
    assert_eq!(back, rec);
});
