//! Fuzz buildledger_apisurface::from_openapi (OpenAPI 2/3, JSON or YAML, from images and
//! uploads): any bytes must give entries or an `ApiSurfaceError`, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = buildledger_apisurface::from_openapi(data, "fuzz");
});
