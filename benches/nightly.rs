//! The nightly job's two shortcuts against the full run they stand for:
//! `merge` of 30 nightly report directories, and `run --new` on a store
//! where nothing is new, each against one full run over the same calls.
//!
//! `cargo bench --bench nightly` (corpus: `CALLSCOPE_BENCH_CALLS` calls,
//! default 600, of `CALLSCOPE_BENCH_SECONDS` seconds, default 30). Prints
//! medians of 3 rounds and the ratios. Targets: merge under 5 % of the full
//! run, `--new` with nothing new under 2 %.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use callscope::analyze::builtins;
use callscope::recording::Filter;
use callscope::report::merge::{manifests, merge, MergeOptions};
use callscope::run::{run, RunOptions};
use chrono::{DateTime, Duration, Utc};
use common::{corpus, median, run_options};

const NIGHTS: i64 = 30;

fn options(root: &Path, out: PathBuf, filter: Filter, only_new: bool) -> RunOptions {
    RunOptions {
        filter,
        only_new,
        ..run_options(root, out)
    }
}

fn timed(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn main() {
    let calls: usize = std::env::var("CALLSCOPE_BENCH_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let seconds: f64 = std::env::var("CALLSCOPE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let root = corpus("nightly", calls, seconds, Vec::new());
    let work = tempfile::tempdir().unwrap();
    let nights_dir = work.path().join("reports");

    let mut full = Vec::new();
    for _ in 0..3 {
        let o = options(&root, work.path().join("full"), Filter::default(), false);
        full.push(timed(|| {
            run(&o, &|_, _| {}).unwrap();
        }));
    }

    // The store's calls in 30 nights, by start time (the corpus starts a
    // call every six minutes from 2024-12-01T08:00Z).
    let start: DateTime<Utc> = "2024-12-01T08:00:00Z".parse().unwrap();
    let span = Duration::minutes(6 * calls as i64 / NIGHTS + 6);
    let nights: Vec<PathBuf> = (0..NIGHTS)
        .map(|k| {
            let out = nights_dir.join(format!("night-{k:02}"));
            let filter = Filter {
                since: Some(start + span * k as i32),
                until: Some(start + span * (k as i32 + 1)),
                sessions: Vec::new(),
            };
            run(&options(&root, out.clone(), filter, false), &|_, _| {}).unwrap();
            out
        })
        .collect();

    let found = manifests(&nights).unwrap();
    let merged_calls = found.iter().map(|m| m.calls).sum::<usize>();
    assert_eq!(merged_calls, calls, "every call in exactly one night");
    let mut merges = Vec::new();
    for _ in 0..3 {
        let opts = MergeOptions {
            inputs: nights.clone(),
            out: work.path().join("merged"),
            replace: true,
            wait: None,
            analyzers: builtins(),
            args: Vec::new(),
        };
        merges.push(timed(|| {
            merge(&opts, &found).unwrap();
        }));
    }

    let mut news = Vec::new();
    for _ in 0..3 {
        let o = options(&root, nights_dir.join("tonight"), Filter::default(), true);
        news.push(timed(|| {
            let r = run(&o, &|_, _| {}).unwrap();
            assert_eq!(r.calls, 0, "nothing is new");
        }));
    }

    let (f, m, n) = (median(&mut full), median(&mut merges), median(&mut news));
    println!("nightly: {calls} calls of {seconds} s in {NIGHTS} nightly report directories (medians of 3)");
    println!("  full run                     {:9.1} ms", f * 1e3);
    println!(
        "  merge of the {NIGHTS} nights        {:9.1} ms   {:5.2} % of the full run (target < 5 %)",
        m * 1e3,
        100.0 * m / f
    );
    println!(
        "  run --new, nothing new       {:9.1} ms   {:5.2} % of the full run (target < 2 %)",
        n * 1e3,
        100.0 * n / f
    );
}
