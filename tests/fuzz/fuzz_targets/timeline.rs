#![no_main]

use std::sync::OnceLock;

/// One scratch directory for the whole run, in memory where there is one.
fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("callscope-fuzz-")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("a scratch directory")
    })
    .path()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| callscope::fuzzing::timeline(data, scratch()));
