//! `check` against a plain read of the same files, and `repair` of a missing
//! final stereo against `sox -M` (when sox is installed).
//!
//! `cargo bench --bench check_repair`. Corpus sizes: `CALLSCOPE_BENCH_CALLS`
//! two-minute calls for check (default 100), 50 twenty-second calls for repair.
//! Prints medians and ratios. Targets: check ≤ 1.5× the plain read; repair
//! ≥ 3× faster than sox.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, env_or, median};
use std::process::Command;
use std::time::Instant;

use callscope::check::check_recording;
use callscope::recording::{discover, ModelOptions, Recording};
use callscope::repair::{self, ApplyOptions};
use callscope::simulate::Fault;

use rayon::prelude::*;

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn bench_check(calls: usize) {
    let root = corpus("check", calls, 120.0, Vec::new());
    let found = discover(&root).unwrap();
    let dirs: Vec<PathBuf> = found.recordings.iter().map(|r| r.dir.clone()).collect();
    let bytes: u64 = dirs
        .iter()
        .flat_map(|d| files_of(d))
        .map(|f| f.metadata().unwrap().len())
        .sum();
    let plain = || {
        dirs.par_iter()
            .map(|d| {
                files_of(d)
                    .iter()
                    .map(|f| std::fs::read(f).unwrap().len())
                    .sum::<usize>()
            })
            .sum::<usize>()
    };
    plain(); // warm the page cache
    let opts = ModelOptions::default();
    let (mut p, mut c) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(plain());
        p.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let findings: usize = dirs
            .par_iter()
            .map(|d| {
                check_recording(&Recording::open(d).unwrap(), &opts)
                    .findings
                    .len()
            })
            .sum();
        c.push(t.elapsed().as_secs_f64());
        assert_eq!(findings, 0, "a clean corpus has no finding");
    }
    let (p, c) = (median(&mut p), median(&mut c));
    let mb = bytes as f64 / 1e6;
    println!(
        "check: {calls} two-minute calls, {mb:.0} MB from page cache, {} threads, 5 rounds",
        rayon::current_num_threads()
    );
    println!(
        "  plain read (all files)  median {:8.1} ms  {:6.0} MB/s",
        p * 1e3,
        mb / p
    );
    println!(
        "  callscope check         median {:8.1} ms  {:6.0} MB/s",
        c * 1e3,
        mb / c
    );
    println!("  ratio check/plain       {:.2}x (target <= 1.5x)", c / p);
}

fn have_sox() -> bool {
    Command::new("sox")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn bench_repair() {
    let calls = 50;
    let root = corpus("repair", calls, 20.0, vec![Fault::MissingFinal]);
    let opts = ModelOptions::default();
    let log_dir = tempfile::tempdir().unwrap();
    let apply = ApplyOptions {
        log: callscope::safe_fs::OwnPath::user(&log_dir.path().join("repair.jsonl")),
        backup_dir: None,
        now: chrono::Utc::now(),
        name_tz: Default::default(),
    };
    let dirs: Vec<PathBuf> = discover(&root)
        .unwrap()
        .recordings
        .iter()
        .map(|r| r.dir.clone())
        .collect();
    let final_of = |d: &Path| d.join("final_stereo_recording.wav");
    let (mut ours, mut sox) = (Vec::new(), Vec::new());
    let sox_ok = have_sox();
    for round in 0..3 {
        for d in &dirs {
            let _ = std::fs::remove_file(final_of(d));
            let rec = Recording::open(d).unwrap();
            let t = Instant::now();
            let done = repair::repair_all(vec![rec], &opts, false, Some(&apply), &|| {});
            ours.push(t.elapsed().as_secs_f64());
            assert_eq!(done[0].outcomes.len(), 1, "round {round}: rebuilt");
            if sox_ok {
                let out = log_dir.path().join("sox.wav");
                let t = Instant::now();
                let st = Command::new("sox")
                    .arg("-M")
                    .arg(d.join("caller_audio.wav"))
                    .arg(d.join("bot_audio.wav"))
                    .arg(&out)
                    .status()
                    .unwrap();
                sox.push(t.elapsed().as_secs_f64());
                assert!(st.success());
            }
        }
    }
    let o = median(&mut ours);
    println!("repair of a missing final stereo: {calls} twenty-second calls, 3 rounds, per call (check + plan + write + fsync + log)");
    println!("  callscope repair        median {:6.2} ms", o * 1e3);
    if sox_ok {
        let s = median(&mut sox);
        println!("  sox -M caller bot out   median {:6.2} ms", s * 1e3);
        println!("  speed-up sox/callscope  {:.1}x (target >= 3x)", s / o);
    } else {
        println!("  sox not installed: no comparison (apt-get install sox)");
    }
}

fn main() {
    let calls: usize = env_or("CALLSCOPE_BENCH_CALLS", 100);
    bench_check(calls);
    bench_repair();
}
