//! Shared by the benchmarks: a simulated corpus kept between runs, medians.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use callscope::simulate::{simulate, Fault, LineMix, SimulateOptions};

/// A corpus of `calls` simulated calls of about `seconds` each, written
/// once under the target directory and reused by later runs.
pub fn corpus(name: &str, calls: usize, seconds: f64, faults: Vec<Fault>) -> PathBuf {
    corpus_on_lines(name, calls, seconds, faults, "")
}

/// `corpus` with `simulate --line LINES` (`all`: a clean line and every
/// condition in turn).
pub fn corpus_on_lines(
    name: &str,
    calls: usize,
    seconds: f64,
    faults: Vec<Fault>,
    lines: &str,
) -> PathBuf {
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
            lines: LineMix::parse_list(lines).expect("the corpus's line conditions"),
            truth: None,
            start: "2024-12-01T08:00:00Z".parse().unwrap(),
        };
        simulate(&opts, &|| {}).expect("simulate the benchmark corpus");
    }
    dir
}

/// CPU seconds (user and system) the process has used, every thread.
pub fn cpu_seconds() -> f64 {
    // SAFETY: a zeroed rusage is a valid value of this plain C struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A run of every built-in analyzer (neural VAD, both report formats) over
/// `root` into `out`, replacing what an earlier round left there.
pub fn run_options(root: &Path, out: PathBuf) -> callscope::run::RunOptions {
    callscope::run::RunOptions {
        root: root.to_path_buf(),
        out,
        replace: true,
        wait: None,
        analyzers: callscope::analyze::builtins(),
        jobs: None,
        filter: callscope::recording::Filter::default(),
        formats: callscope::report::Formats {
            csv: true,
            csv_raw: false,
            json: true,
            html: true,
            parquet: false,
            row_identity: false,
        },
        vad: callscope::analyze::VadKind::Neural,
        model: callscope::recording::ModelOptions::default(),
        only_new: false,
        plan: None,
        args: Vec::new(),
    }
}

/// The environment variable `name` parsed, or `default` when it is unset
/// or does not parse (`CALLSCOPE_BENCH_CALLS=6000 cargo bench …`).
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
