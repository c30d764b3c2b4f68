//! The cost of a plugin: a full run with and without the `words` plugin
//! (plugins/words-example), which counts words per party exactly like the
//! built-in `transcript` analyzer's word columns, in process and isolated
//! in host processes (`--plugin-isolation process`). Prints the overhead as
//! a share of the full run (target in process: under 5 %). Medians of 3
//! rounds.
//!
//! `cargo bench --bench plugin` (builds the plugin first).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use callscope::analyze::{builtins, Analyzer};
use callscope::run::{run, RunOptions};
use common::{corpus, env_or, median, run_options};

fn main() {
    let calls: usize = env_or("CALLSCOPE_BENCH_CALLS", 100);
    let root = corpus("check", calls, 120.0, Vec::new());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let st = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-p",
            "words-example",
            "-p",
            "callscope",
        ])
        .current_dir(manifest)
        .status()
        .unwrap();
    assert!(st.success());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| manifest.join("target"));
    let lib = target.join("release/libwords_example.so");
    let out = tempfile::tempdir().unwrap();
    let exe = target.join("release/callscope");
    // 0: no plugin; 1: in process; 2: isolated in host processes.
    let options = |mode: usize| {
        let mut analyzers = builtins();
        if mode == 1 {
            let p = callscope::plugin::load(&lib, &|_| None).unwrap();
            analyzers.push(Box::new(p) as Box<dyn Analyzer>);
        } else if mode == 2 {
            let none = std::collections::BTreeMap::new();
            let timeout = std::time::Duration::from_secs(60);
            let p = callscope::plugin::load_isolated(&exe, &lib, &none, timeout).unwrap();
            analyzers.push(Box::new(p) as Box<dyn Analyzer>);
        }
        RunOptions {
            analyzers,
            ..run_options(&root, out.path().join(format!("mode{mode}")))
        }
    };
    let modes = [options(0), options(1), options(2)];
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..3 {
        for (m, t) in modes.iter().zip(times.iter_mut()) {
            let start = Instant::now();
            run(m, &|_, _| {}).unwrap();
            t.push(start.elapsed().as_secs_f64());
        }
    }
    let [a, b, c] = times.map(|mut t| median(&mut t));
    println!(
        "plugin: {calls} two-minute calls, full run without and with the words plugin, 3 rounds"
    );
    println!("  full run                       median {:8.1} ms", a * 1e3);
    println!("  + words plugin, in process     median {:8.1} ms", b * 1e3);
    println!("  + words plugin, isolated       median {:8.1} ms", c * 1e3);
    for (label, x) in [("in process", b), ("isolated", c)] {
        println!(
            "  overhead {label:<12} {:+8.1} us per call, {:+.2} % of the full run",
            (x - a) / calls as f64 * 1e6,
            (x - a) / a * 100.0
        );
    }
}
