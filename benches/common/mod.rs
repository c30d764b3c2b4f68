//! Shared by the benchmarks: a simulated corpus kept between runs, medians.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use callscope::simulate::{simulate, Fault, SimulateOptions};

/// A corpus of `calls` simulated calls of about `seconds` each, written
/// once under the target directory and reused by later runs.
pub fn corpus(name: &str, calls: usize, seconds: f64, faults: Vec<Fault>) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{name}-{calls}x{seconds}"));
    if !dir.exists() {
        let opts = SimulateOptions {
            out: dir.clone(),
            calls,
            seconds,
            seed: 42,
            rate: 16000,
            faults,
            truth: None,
            start: "2024-12-01T08:00:00Z".parse().unwrap(),
        };
        simulate(&opts, &|| {}).expect("simulate the benchmark corpus");
    }
    dir
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
