//! Helpers for the end-to-end tests: run the real binary on real directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callscope"))
}

/// Run callscope with arguments; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out: Output = bin().args(args).output().expect("run callscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run and insist on success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "callscope {args:?} failed: {err}");
    out
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Simulate `calls` recordings into `dir/rec` (truth in `dir/truth`).
pub fn simulate(dir: &Path, calls: usize, seconds: u32, extra: &[&str]) -> (PathBuf, PathBuf) {
    let rec = dir.join("rec");
    let truth = dir.join("truth");
    let calls = calls.to_string();
    let seconds = seconds.to_string();
    let mut args = vec![
        "simulate",
        "--out",
        path_str(&rec),
        "--truth",
        path_str(&truth),
        "--calls",
        &calls,
        "--seconds",
        &seconds,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(&args);
    (rec, truth)
}

/// The truth files of a simulated corpus, sorted by recording.
pub fn truths(truth_dir: &Path) -> Vec<callscope::simulate::Truth> {
    let mut names: Vec<_> = std::fs::read_dir(truth_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

pub fn sample_recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_recordings")
}
