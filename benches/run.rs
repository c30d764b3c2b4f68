//! The full analytics run against a plain read of the same files, with the
//! neural and the energy VAD, against what a Python user would script
//! (`benches/python_pipeline.py`: transcript response times, intents, an
//! energy VAD and the final-stereo check in numpy, plus py-webrtcvad over
//! both tracks, one process per core), and a metadata-only run against the
//! full one.
//!
//! `cargo bench --bench run` (corpus: `CALLSCOPE_BENCH_CALLS` two-minute
//! calls, default 200; `PYTHON` names the interpreter). Prints medians of 3
//! rounds, interleaved, and the ratios. Targets: the default run at most
//! 0.5× the Python pipeline's time, within 2× of the energy run, neural ≤ 6×
//! the plain read, energy ≤ 2×, metadata-only ≥ 20× faster than the full
//! run. Without numpy and webrtcvad the Python rounds are skipped, saying so.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use callscope::analyze::{builtins, select, VadKind};
use callscope::recording::Filter;
use callscope::recording::{discover, ModelOptions};
use callscope::report::Formats;
use callscope::run::{run, RunOptions};
use common::{corpus, env_or, median};
use rayon::prelude::*;

fn options(root: &Path, out: PathBuf, vad: VadKind, analyzers: &[&str]) -> RunOptions {
    let names: Vec<String> = analyzers.iter().map(|s| s.to_string()).collect();
    RunOptions {
        root: root.to_path_buf(),
        out,
        analyzers: select(builtins(), &names).unwrap(),
        jobs: None,
        filter: Filter::default(),
        formats: Formats {
            csv: true,
            csv_raw: false,
            json: true,
            html: true,
            parquet: false,
        },
        vad,
        model: ModelOptions::default(),
        // The same directory every round.
        replace: true,
        wait: None,
        only_new: false,
        plan: None,
        args: Vec::new(),
    }
}

fn main() {
    let calls: usize = env_or("CALLSCOPE_BENCH_CALLS", 200);
    let root = corpus("check", calls, 120.0, Vec::new());
    let dirs: Vec<PathBuf> = discover(&root)
        .unwrap()
        .recordings
        .iter()
        .map(|r| r.dir.clone())
        .collect();
    let plain = || {
        dirs.par_iter()
            .map(|d| {
                std::fs::read_dir(d)
                    .unwrap()
                    .map(|e| std::fs::read(e.unwrap().path()).map_or(0, |b| b.len()))
                    .sum::<usize>()
            })
            .sum::<usize>()
    };
    let bytes = plain();
    let out = tempfile::tempdir().unwrap();
    let time = |opts: &RunOptions| {
        let t = Instant::now();
        let o = run(opts, &|_, _| {}).unwrap();
        assert_eq!(o.errors, 0);
        t.elapsed().as_secs_f64()
    };
    let full = options(&root, out.path().join("full"), VadKind::Neural, &[]);
    let energy = options(&root, out.path().join("energy"), VadKind::Energy, &[]);
    let meta = options(
        &root,
        out.path().join("meta"),
        VadKind::Neural,
        &["intents"],
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_pipeline.py");
    let jobs = rayon::current_num_threads().to_string();
    let py_out = out.path().join("python.csv");
    // None, saying why, when the pipeline cannot run here.
    let time_python = || -> Result<f64, String> {
        let t = Instant::now();
        let o = Command::new(&python)
            .arg(&helper)
            .arg(&root)
            .arg(&py_out)
            .args(["--jobs", &jobs])
            .output()
            .map_err(|e| format!("cannot run {python}: {e}"))?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(t.elapsed().as_secs_f64())
    };
    let (mut p, mut f, mut e, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut py = Vec::new();
    let mut py_skipped = None;
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(plain());
        p.push(t.elapsed().as_secs_f64());
        f.push(time(&full));
        e.push(time(&energy));
        m.push(time(&meta));
        if py_skipped.is_none() {
            match time_python() {
                Ok(s) => py.push(s),
                Err(why) => py_skipped = Some(why),
            }
        }
    }
    let rows =
        |p: &Path| std::fs::read_to_string(p).map_or(0, |s| s.lines().count().saturating_sub(1));
    if py_skipped.is_none() {
        assert_eq!(
            rows(&py_out),
            dirs.len(),
            "the Python pipeline saw every call"
        );
    }
    let (p, f, e, m) = (
        median(&mut p),
        median(&mut f),
        median(&mut e),
        median(&mut m),
    );
    println!(
        "run: {calls} two-minute calls, {:.0} MB from page cache, {} threads, 3 rounds",
        bytes as f64 / 1e6,
        rayon::current_num_threads()
    );
    println!("  plain read (all files)      median {:8.1} ms", p * 1e3);
    println!(
        "  full run, neural VAD        median {:8.1} ms  {:6.2}x plain (target <= 6x)",
        f * 1e3,
        f / p
    );
    println!(
        "  full run, energy VAD        median {:8.1} ms  {:6.2}x plain (target <= 2x)",
        e * 1e3,
        e / p
    );
    println!(
        "  metadata-only (intents)     median {:8.1} ms  {:6.1}x faster than full (target >= 20x)",
        m * 1e3,
        f / m
    );
    println!(
        "  default run / energy run             {:6.2}x (target <= 2x)",
        f / e
    );
    match py_skipped {
        Some(why) => println!("  Python pipeline SKIPPED: {why}"),
        None => {
            let py = median(&mut py);
            println!(
                "  Python: numpy + webrtcvad  median {:8.1} ms  {:6.2}x plain",
                py * 1e3,
                py / p
            );
            println!(
                "  default run / Python pipeline        {:6.2}x, {:.2}x faster (target <= 0.5x)",
                f / py,
                py / f
            );
        }
    }
}
