//! Fuzz buildledger-binary's single entry point: any bytes must yield facts
//! or a `BinaryError`, never a panic, hang or unbounded allocation.
//! Replayed on stable by crates/buildledger-binary/tests/corrupt.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = buildledger_binary::looks_like_binary(data);
    let _ = buildledger_binary::inspect(data);
});
