//! The cost of a plugin: a full run with and without the `words` plugin
//! (plugins/words-example), which counts words per party exactly like the
//! built-in `transcript` analyzer's word columns. Prints the overhead as a
//! share of the full run (target: under 5 %). Medians of 3 rounds.
//!
//! `cargo bench --bench plugin` (builds the plugin first).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use callscope::analyze::{builtins, Analyzer, VadKind};
use callscope::recording::ModelOptions;
use callscope::report::Formats;
use callscope::run::{run, Filter, RunOptions};
use common::{corpus, median};

fn main() {
    let calls: usize = std::env::var("CALLSCOPE_BENCH_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let root = corpus("check", calls, 120.0, Vec::new());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "words-example"])
        .current_dir(manifest)
        .status()
        .unwrap();
    assert!(st.success());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| manifest.join("target"));
    let lib = target.join("release/libwords_example.so");
    let out = tempfile::tempdir().unwrap();
    let options = |with_plugin: bool| {
        let mut analyzers = builtins();
        if with_plugin {
            let p = callscope::plugin::load(&lib, &|_| None).unwrap();
            analyzers.push(Box::new(p) as Box<dyn Analyzer>);
        }
        RunOptions {
            root: root.clone(),
            out: out
                .path()
                .join(if with_plugin { "with" } else { "without" }),
            analyzers,
            jobs: None,
            filter: Filter::default(),
            formats: Formats {
                csv: true,
                json: true,
            },
            vad: VadKind::Neural,
            model: ModelOptions::default(),
            args: Vec::new(),
        }
    };
    let (without, with) = (options(false), options(true));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        run(&without, &|_, _| {}).unwrap();
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        run(&with, &|_, _| {}).unwrap();
        b.push(t.elapsed().as_secs_f64());
    }
    let (a, b) = (median(&mut a), median(&mut b));
    let per_call_us = (b - a) / calls as f64 * 1e6;
    println!(
        "plugin: {calls} two-minute calls, full run with and without the words plugin, 3 rounds"
    );
    println!("  full run                     median {:8.1} ms", a * 1e3);
    println!("  full run + words plugin      median {:8.1} ms", b * 1e3);
    println!(
        "  plugin overhead              {:+.1} us per call, {:+.2} % of the full run (target < 5 %)",
        per_call_us,
        (b - a) / a * 100.0
    );
}
