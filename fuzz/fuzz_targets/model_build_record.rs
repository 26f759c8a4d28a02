//! Fuzz buildledger_model::BuildRecord::from_json (records arrive from CI over the API and from
//! files): any bytes must give a record or a `ModelError`, never a panic. A record that parsed
//! must serialise and, without the fields only the ledger sets (`LEDGER_FIELDS`, which input may
//! not carry), read back to the same record.
#![no_main]

use buildledger_model::{BuildRecord, LEDGER_FIELDS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = BuildRecord::from_json(data) else {
        return;
    };
    let mut value = serde_json::to_value(&rec).expect("serialise a parsed record");
    let obj = value.as_object_mut().expect("a record serialises to an object");
    for f in LEDGER_FIELDS {
        obj.remove(*f);
    }
    let bytes = serde_json::to_vec(&value).expect("serialise");
    let back = BuildRecord::from_json(&bytes).expect("our own output parses");
    assert_eq!(back, rec);
});
