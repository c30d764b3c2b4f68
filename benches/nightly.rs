//! The nightly job's two shortcuts against the full run they stand for:
//! `merge` of 30 nightly report directories, and `run --new` on a store
//! where nothing is new, each against one full run over the same calls —
//! on short calls (5 s, where merge's share is the largest: its cost is per
//! call, a run's per second of audio) and long ones (60 s), and `--new`
//! with 30 and with 365 nights of history beside `--out`.
//!
//! `cargo bench --bench nightly` (corpus: `CALLSCOPE_BENCH_CALLS` calls,
//! default 600). Prints medians of 3 rounds of wall and CPU time (user and
//! system, every thread) and the ratios of CPU time. Targets: merge under
//! 5 % of the full run's CPU at 5 s as at 60 s, `--new` with nothing new
//! under 2 % with a year of nights.
//!
//! The nights lie beside the month they merge into, as the operations
//! guide lays them out (`reports/2025-03-*` into `reports/2025-03`); merge
//! takes their call pages as they are then. A merge into a folder at
//! another depth draws every page again, and is printed too.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use callscope::analyze::builtins;
use callscope::recording::Filter;
use callscope::report::merge::{manifests, merge, MergeOptions};
use callscope::run::{run, RunOptions};
use chrono::{DateTime, Duration, Utc};
use common::{corpus, cpu_seconds, env_or, median, run_options};

fn options(root: &Path, out: PathBuf, filter: Filter, only_new: bool) -> RunOptions {
    RunOptions {
        filter,
        only_new,
        ..run_options(root, out)
    }
}

/// (wall, CPU) seconds of `f`.
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let (t, c) = (Instant::now(), cpu_seconds());
    f();
    (t.elapsed().as_secs_f64(), cpu_seconds() - c)
}

/// Medians of (wall, CPU) rounds.
fn medians(rounds: &[(f64, f64)]) -> (f64, f64) {
    let mut wall: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let mut cpu: Vec<f64> = rounds.iter().map(|r| r.1).collect();
    (median(&mut wall), median(&mut cpu))
}

/// The store's calls split into `n` nightly report directories in `dir`,
/// by start time (the corpus starts a call every six minutes from
/// 2024-12-01T08:00Z).
fn nights(root: &Path, dir: &Path, calls: usize, n: i64) -> Vec<PathBuf> {
    let start: DateTime<Utc> = "2024-12-01T08:00:00Z".parse().unwrap();
    let span = Duration::seconds(360 * calls as i64 / n + 1);
    let nights: Vec<PathBuf> = (0..n)
        .map(|k| {
            let out = dir.join(format!("night-{k:03}"));
            let filter = Filter {
                since: Some(start + span * k as i32),
                until: Some(start + span * (k as i32 + 1)),
                sessions: Vec::new(),
            };
            run(&options(root, out.clone(), filter, false), &|_, _| {}).unwrap();
            out
        })
        .collect();
    let found = manifests(&nights).unwrap();
    assert_eq!(
        found.iter().map(|m| m.calls).sum::<usize>(),
        calls,
        "every call in exactly one night"
    );
    nights
}

/// `run --new` with nothing new beside `nights`: median (wall, CPU).
fn new_run(root: &Path, nights_dir: &Path) -> (f64, f64) {
    let mut news = Vec::new();
    for _ in 0..3 {
        let o = options(root, nights_dir.join("tonight"), Filter::default(), true);
        news.push(timed(|| {
            let r = run(&o, &|_, _| {}).unwrap();
            assert_eq!(r.calls, 0, "nothing is new");
        }));
    }
    medians(&news)
}

/// Merge `nights` into `out`, 3 times: median (wall, CPU).
fn merges(nights: &[PathBuf], out: PathBuf) -> (f64, f64) {
    let found = manifests(nights).unwrap();
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let opts = MergeOptions {
            inputs: nights.to_vec(),
            out: out.clone(),
            replace: true,
            wait: None,
            analyzers: builtins(),
            args: Vec::new(),
        };
        rounds.push(timed(|| {
            merge(&opts, &found).unwrap();
        }));
    }
    medians(&rounds)
}

fn line(what: &str, (wall, cpu): (f64, f64), full: f64, target: &str) {
    println!(
        "  {what:<34} {:8.1} ms wall {:8.1} ms CPU  {:5.2} % of the full run's CPU{target}",
        wall * 1e3,
        cpu * 1e3,
        100.0 * cpu / full
    );
}

fn measure(calls: usize, seconds: f64, year: bool) {
    let root = corpus(&format!("nightly-{seconds}"), calls, seconds, Vec::new());
    let work = tempfile::tempdir().unwrap();

    let mut full = Vec::new();
    for _ in 0..3 {
        let o = options(&root, work.path().join("full"), Filter::default(), false);
        full.push(timed(|| {
            run(&o, &|_, _| {}).unwrap();
        }));
    }
    let full = medians(&full);
    let month = work.path().join("month");
    let nights30 = nights(&root, &month, calls, 30);
    let n30 = new_run(&root, &month);
    let beside = merges(&nights30, month.join("merged"));
    let elsewhere = merges(&nights30, work.path().join("merged"));
    println!("nightly: {calls} calls of {seconds} s (medians of 3)");
    line("full run", full, full.1, "");
    line(
        "merge of 30 nights, beside them",
        beside,
        full.1,
        " (target < 5 %)",
    );
    line("merge of 30 nights, elsewhere", elsewhere, full.1, "");
    line(
        "run --new, 30 nights, none new",
        n30,
        full.1,
        " (target < 2 %)",
    );
    if year {
        let year_dir = work.path().join("year");
        nights(&root, &year_dir, calls, 365);
        let n365 = new_run(&root, &year_dir);
        line(
            "run --new, 365 nights, none new",
            n365,
            full.1,
            " (target < 2 %)",
        );
    }
}

fn main() {
    let calls: usize = env_or("CALLSCOPE_BENCH_CALLS", 600);
    measure(calls, 5.0, true);
    measure(calls, 60.0, false);
}
