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
//!
//! The same conversations on hard lines (`simulate --line all`: a clean
//! line and every condition in turn, echo among them) are run and timed
//! against the Python pipeline too, and the time estimating every call's
//! echo takes (the part of a run that is echo handling) is printed for
//! both corpora against the run's.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use callscope::analyze::vad::Echo;
use callscope::analyze::{builtins, select, VadKind};
use callscope::audio::read_wav;
use callscope::recording::Filter;
use callscope::recording::{discover, ModelOptions};
use callscope::report::Formats;
use callscope::run::{run, RunOptions};
use callscope::timeline::recover_with;
use common::{corpus, corpus_on_lines, env_or, median};
use rayon::prelude::*;

fn options(root: &Path, out: PathBuf, vad: VadKind, analyzers: &[&str]) -> RunOptions {
    let names: Vec<String> = analyzers
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
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
            row_identity: false,
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

/// Seconds, on all threads, that estimating every call's echo takes (the
/// part of a run that is echo handling): the tracks, the bot's place on the
/// call's clock and the reference are made first, untimed.
fn echo_seconds(dirs: &[PathBuf]) -> (f64, usize) {
    let inputs: Vec<(Vec<i16>, Vec<i16>, u32)> = dirs
        .par_iter()
        .filter_map(|d| {
            let caller = read_wav(&d.join("caller_audio.wav")).ok()?;
            let bot = read_wav(&d.join("bot_audio.wav")).ok()?;
            let chunk = u64::from(caller.info.sample_rate) / 50;
            let tl = recover_with(
                &d.join("stereo_recording.wav"),
                &caller.samples,
                &bot.samples,
                chunk,
            )
            .ok()?;
            let reference = tl.played(&bot.samples);
            Some((caller.samples, reference, caller.info.sample_rate))
        })
        .collect();
    let t = Instant::now();
    let found = inputs
        .par_iter()
        .filter(|(c, r, rate)| Echo::estimate(c, r, *rate).is_some())
        .count();
    (t.elapsed().as_secs_f64(), found)
}

/// The Python pipeline over `root`, timed; why not, when it cannot run here.
fn time_python(root: &Path, out: &Path) -> Result<f64, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_pipeline.py");
    let jobs = rayon::current_num_threads().to_string();
    let t = Instant::now();
    let o = Command::new(&python)
        .arg(&helper)
        .arg(root)
        .arg(out)
        .args(["--jobs", &jobs])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
    }
    Ok(t.elapsed().as_secs_f64())
}

fn recordings(root: &Path) -> Vec<PathBuf> {
    discover(root)
        .unwrap()
        .recordings
        .iter()
        .map(|r| r.dir.clone())
        .collect()
}

fn main() {
    let calls: usize = env_or("CALLSCOPE_BENCH_CALLS", 200);
    let root = corpus("check", calls, 120.0, Vec::new());
    // The same calls' conversations on hard lines: a clean line and every
    // `simulate --line` condition in turn, echo among them.
    // (Named by how many mixes `all` has, so a corpus kept from before a
    // condition was added is not reused.)
    let mixes = callscope::simulate::LineMix::parse_list("all")
        .unwrap()
        .len();
    let hard = corpus_on_lines(&format!("lines{mixes}"), calls, 120.0, Vec::new(), "all");
    let dirs = recordings(&root);
    let hard_dirs = recordings(&hard);
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
    let hard_full = options(&hard, out.path().join("hard"), VadKind::Neural, &[]);
    let hard_energy = options(&hard, out.path().join("hard-e"), VadKind::Energy, &[]);
    let py_out = out.path().join("python.csv");
    let hard_py_out = out.path().join("python-hard.csv");
    let (mut p, mut f, mut e, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut hf, mut he) = (Vec::new(), Vec::new());
    let (mut py, mut hpy) = (Vec::new(), Vec::new());
    let mut py_skipped = None;
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(plain());
        p.push(t.elapsed().as_secs_f64());
        f.push(time(&full));
        e.push(time(&energy));
        m.push(time(&meta));
        hf.push(time(&hard_full));
        he.push(time(&hard_energy));
        if py_skipped.is_none() {
            match time_python(&root, &py_out)
                .and_then(|a| Ok((a, time_python(&hard, &hard_py_out)?)))
            {
                Ok((a, b)) => {
                    py.push(a);
                    hpy.push(b);
                }
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
        assert_eq!(rows(&hard_py_out), hard_dirs.len(), "and every hard one");
    }
    let (p, f, e, m) = (
        median(&mut p),
        median(&mut f),
        median(&mut e),
        median(&mut m),
    );
    let (hf, he) = (median(&mut hf), median(&mut he));
    let mut echo = [Vec::new(), Vec::new()];
    let mut echo_found = [0, 0];
    for _ in 0..3 {
        for (i, d) in [&dirs, &hard_dirs].into_iter().enumerate() {
            let (secs, found) = echo_seconds(d);
            echo[i].push(secs);
            echo_found[i] = found;
        }
    }
    let echo = [median(&mut echo[0]), median(&mut echo[1])];
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
    println!(
        "  echo estimate, every call   median {:8.1} ms  {:5.1} % of the default run ({} with echo)",
        echo[0] * 1e3,
        100.0 * echo[0] / f,
        echo_found[0]
    );
    println!("on hard lines (simulate --line all, the same conversations):");
    println!(
        "  full run, neural VAD        median {:8.1} ms  {:6.2}x the clean lines' run",
        hf * 1e3,
        hf / f
    );
    println!(
        "  full run, energy VAD        median {:8.1} ms  default/energy {:5.2}x",
        he * 1e3,
        hf / he
    );
    println!(
        "  echo estimate, every call   median {:8.1} ms  {:5.1} % of the default run ({} with echo)",
        echo[1] * 1e3,
        100.0 * echo[1] / hf,
        echo_found[1]
    );
    match py_skipped {
        Some(why) => println!("  Python pipeline SKIPPED: {why}"),
        None => {
            let (py, hpy) = (median(&mut py), median(&mut hpy));
            println!(
                "  Python: numpy + webrtcvad  median {:8.1} ms clean, {:8.1} ms hard lines",
                py * 1e3,
                hpy * 1e3
            );
            println!(
                "  default run / Python pipeline, clean lines {:6.2}x, {:.2}x faster (target <= 0.5x)",
                f / py,
                py / f
            );
            println!(
                "  default run / Python pipeline, hard lines  {:6.2}x, {:.2}x faster (target <= 0.5x)",
                hf / hpy,
                hpy / hf
            );
        }
    }
}
