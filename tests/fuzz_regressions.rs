//! Every input the fuzzers found a crash, a hang or an over-allocation with
//! (and the hand-made cases of the defects they guard against), replayed
//! through the same entry points the fuzz targets call: none may panic.
//! Files live in `tests/fuzz/regressions/<target>/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn cases(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no regression case for {target}");
    files
}

/// Replay each case; a case may take at most a second (a hang is a finding).
fn replay(target: &str, f: &dyn Fn(&[u8])) {
    for case in cases(target) {
        let data = std::fs::read(&case).unwrap();
        let start = Instant::now();
        f(&data);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{}: took {:?}",
            case.display(),
            start.elapsed()
        );
    }
}

#[test]
fn riff() {
    replay("riff", &callscope::fuzzing::riff);
}

#[test]
fn json_models() {
    replay("json_models", &callscope::fuzzing::json_models);
}

#[test]
fn policy() {
    replay("policy", &callscope::fuzzing::policy);
    // The cases say what they guard against: both are refused, promptly.
    let device = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz/regressions/policy/hold-list-is-a-device"),
    )
    .unwrap();
    let e = callscope::retention::policy::parse(&device, Path::new("/x/p.toml")).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn timeline() {
    let dir = tempfile::tempdir().unwrap();
    replay("timeline", &|d| callscope::fuzzing::timeline(d, dir.path()));
}

#[test]
fn call_json() {
    let dir = tempfile::tempdir().unwrap();
    // The first call simulates the call's WAVs: not a case's time.
    callscope::fuzzing::call_json(b"\0\0\0\0\0", dir.path());
    replay("call_json", &|d| {
        callscope::fuzzing::call_json(d, dir.path());
    });
}
