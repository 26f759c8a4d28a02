//! Fuzz buildledger-feed's Alpine secdb reader. It only reads files, so each input is written to
//! one file in a private temporary directory (`.json` when it starts with `{`, else `.yaml`) and
//! loaded from there: any content must give advisories and per-record errors, never a panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("buildledger-fuzz-secdb-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let path = dir().join(if json { "secdb.json" } else { "secdb.yaml" });
    std::fs::write(&path, data).expect("write the input");
    let _ = buildledger_feed::load_alpine_secdb(&path);
    let _ = std::fs::remove_file(&path);
});
