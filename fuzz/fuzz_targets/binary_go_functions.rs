//! Fuzz buildledger-binary's Go function table reader (`pclntab`, inline
//! trees, the module data search of stripped files): any bytes must yield
//! the functions, `None` or a `BinaryError`, never a panic, hang or
//! unbounded allocation. Seeds are hand-made ELF files holding a small
//! table; crates/buildledger-binary/tests/gosym_oracle.rs builds them,
//! checks they are current and replays them (and their truncations) on
//! stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(f)) = buildledger_binary::go_functions(data) {
        let _ = f.symbols();
    }
});
