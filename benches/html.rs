//! What the HTML report costs: the full run with and without it (report.html
//! and a page per call), rounds interleaved, and the overview's size on a
//! run of many calls.
//!
//! `cargo bench --bench html` — corpus: `CALLSCOPE_BENCH_CALLS` two-minute
//! calls (default 200) for the cost, `CALLSCOPE_BENCH_MANY` ten-second calls
//! (default 10,000) for the size. Prints medians of 5 rounds and the ratio.
//! Targets: under 5 % added to the full run; report.html of 10,000 calls
//! under 5 MB.

mod common;

use std::path::Path;
use std::time::Instant;

use callscope::analyze::VadKind;
use callscope::report::Formats;
use callscope::run::run;
use common::{corpus, env_or, median, run_options};

fn dir_bytes(dir: &Path) -> (usize, u64) {
    std::fs::read_dir(dir).map_or((0, 0), |d| {
        d.map(|e| e.unwrap().metadata().unwrap().len())
            .fold((0, 0), |(n, b), l| (n + 1, b + l))
    })
}

fn main() {
    let calls = env_or("CALLSCOPE_BENCH_CALLS", 200);
    let many = env_or("CALLSCOPE_BENCH_MANY", 10_000);
    let out = tempfile::tempdir().unwrap();

    let root = corpus("check", calls, 120.0, Vec::new());
    let with = |html: bool, vad: VadKind, name: &str| {
        let mut o = run_options(&root, out.path().join(name));
        o.formats = Formats {
            csv: true,
            csv_raw: false,
            json: true,
            html,
            parquet: false,
            row_identity: false,
        };
        o.vad = vad;
        o
    };
    let time = |o: &callscope::run::RunOptions| {
        let t = Instant::now();
        run(o, &|_, _| {}).unwrap();
        t.elapsed().as_secs_f64()
    };
    println!(
        "html: {calls} two-minute calls, {} threads, 5 rounds, medians",
        rayon::current_num_threads()
    );
    for (vad, label) in [
        (VadKind::Neural, "neural VAD"),
        (VadKind::Energy, "energy VAD"),
    ] {
        let (plain, html) = (with(false, vad, "plain"), with(true, vad, "html"));
        time(&plain);
        time(&html);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            a.push(time(&plain));
            b.push(time(&html));
        }
        let (a, b) = (median(&mut a), median(&mut b));
        println!(
            "  {label}: csv,json {:7.1} ms   csv,json,html {:7.1} ms   {:+5.1} % (target < 5 %)",
            a * 1e3,
            b * 1e3,
            (b / a - 1.0) * 100.0
        );
    }
    let (pages, bytes) = dir_bytes(&out.path().join("html/calls"));
    println!(
        "  {pages} call pages, {:.1} KB each on average",
        bytes as f64 / pages.max(1) as f64 / 1e3
    );

    let root = corpus("html-many", many, 10.0, Vec::new());
    let mut o = run_options(&root, out.path().join("many"));
    o.vad = VadKind::Energy;
    let t = time(&o);
    let overview = std::fs::metadata(out.path().join("many/report.html"))
        .unwrap()
        .len();
    let (pages, bytes) = dir_bytes(&out.path().join("many/calls"));
    println!(
        "  {many} ten-second calls (energy VAD, {t:.1} s): report.html {:.2} MB (target < 5 MB), {pages} call pages, {:.1} MB in all",
        overview as f64 / 1e6,
        bytes as f64 / 1e6
    );
}
