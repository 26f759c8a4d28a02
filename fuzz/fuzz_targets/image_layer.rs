#![no_main]
//! Arbitrary bytes as a layer blob (tar, gzip or zstd) through
//! buildledger-image's layer reader: must never panic.

use buildledger_image::{FileEntry, Visitor, Warning, walk_layer_bytes};
use libfuzzer_sys::fuzz_target;

struct Sink;

impl Visitor for Sink {
    fn wants(&mut self, _: &FileEntry) -> bool {
        true
    }
    fn visit(&mut self, _: &FileEntry, r: &mut dyn std::io::Read) -> std::io::Result<()> {
        std::io::copy(r, &mut std::io::sink()).map(|_| ())
    }
    fn warning(&mut self, _: Warning) {}
}

fuzz_target!(|data: &[u8]| {
    let _ = walk_layer_bytes(data, &mut Sink);
});
