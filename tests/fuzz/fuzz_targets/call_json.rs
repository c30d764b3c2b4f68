#![no_main]
// The three JSON files of a call through the run and its HTML page.
static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    callscope::fuzzing::call_json(data, dir.path())
});
