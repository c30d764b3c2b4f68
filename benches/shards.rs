//! A sharded run against the single run it stands for: the CPU time of all
//! shards of a plan together against one run of the whole plan (no
//! per-shard cost that grows with N), and `merge` of 64 shards against the
//! single run's wall time.
//!
//! `cargo bench --bench shards` (corpus: `CALLSCOPE_BENCH_CALLS` calls,
//! default 600, of `CALLSCOPE_BENCH_SECONDS` seconds, default 30; shared
//! with the nightly benchmark). Prints medians of 3 rounds and the ratios.
//! Targets: shards' CPU within 10 % of the single run's; merge of 64 shards
//! under 5 % of the single run.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use callscope::analyze::builtins;
use callscope::recording::discover;
use callscope::report::merge::{manifests, merge, MergeOptions};
use callscope::run::plan::{Plan, Planned, Shard};
use callscope::run::{run, RunOptions};
use common::{corpus, cpu_seconds, env_or, median, run_options};

fn options(root: &Path, out: PathBuf, plan: &Plan, shard: Shard) -> RunOptions {
    RunOptions {
        plan: Some((plan.clone(), shard)),
        ..run_options(root, out)
    }
}

/// Run every shard of `n`; (wall, CPU) seconds, and the outputs.
fn shards(root: &Path, plan: &Plan, n: usize, dir: &Path) -> (f64, f64, Vec<PathBuf>) {
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let outs = (0..n)
        .map(|k| {
            let out = dir.join(format!("{n}-{k}"));
            run(
                &options(root, out.clone(), plan, Shard { index: k, count: n }),
                &|_, _| {},
            )
            .unwrap();
            out
        })
        .collect();
    (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu, outs)
}

fn main() {
    let (calls, seconds) = (
        env_or("CALLSCOPE_BENCH_CALLS", 600usize),
        env_or("CALLSCOPE_BENCH_SECONDS", 30.0),
    );
    let root = corpus("nightly", calls, seconds, Vec::new());
    let found = discover(&root).unwrap();
    let plan = Plan::new(
        &root,
        Vec::new(),
        found.recordings.iter().map(Planned::of).collect(),
    );
    let work = tempfile::tempdir().unwrap();

    let (mut single_wall, mut single_cpu, mut eight_cpu) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let (w, c, _) = shards(&root, &plan, 1, work.path());
        single_wall.push(w);
        single_cpu.push(c);
        eight_cpu.push(shards(&root, &plan, 8, work.path()).1);
    }
    let (_, sixty_four_cpu, parts) = shards(&root, &plan, 64, work.path());
    let found = manifests(&parts).unwrap();
    let mut merges = Vec::new();
    for _ in 0..3 {
        let opts = MergeOptions {
            inputs: parts.clone(),
            out: work.path().join("merged"),
            replace: true,
            wait: None,
            analyzers: builtins(),
            args: Vec::new(),
        };
        let t = Instant::now();
        merge(&opts, &found).unwrap();
        merges.push(t.elapsed().as_secs_f64());
    }
    let (sw, sc) = (median(&mut single_wall), median(&mut single_cpu));
    let (ec, m) = (median(&mut eight_cpu), median(&mut merges));
    println!("shards: a plan of {calls} calls of {seconds} s (medians of 3; 64 shards once)");
    println!(
        "  single run                  wall {:9.1} ms   CPU {:9.1} ms",
        sw * 1e3,
        sc * 1e3
    );
    println!(
        "  8 shards, all together                          CPU {:9.1} ms   {:6.1} % of the single run's (target within ±10 %)",
        ec * 1e3,
        100.0 * ec / sc
    );
    println!(
        "  64 shards, all together                         CPU {:9.1} ms   {:6.1} % of the single run's",
        sixty_four_cpu * 1e3,
        100.0 * sixty_four_cpu / sc
    );
    println!(
        "  merge of the 64 shards      wall {:9.1} ms   {:6.2} % of the single run (target < 5 %)",
        m * 1e3,
        100.0 * m / sw
    );
}
