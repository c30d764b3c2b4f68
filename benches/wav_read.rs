//! WAV reader throughput against a plain `std::fs::read` of the same files.
//!
//! `cargo bench --bench wav_read` simulates a corpus (default 40 two-minute
//! calls; `CALLSCOPE_BENCH_CALLS` to change), warms the page cache, then
//! alternates a plain read of every WAV and callscope's reader of every WAV,
//! and prints the medians and their ratio. Target: the reader ≤ 1.3× the plain read.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, median};
use std::time::Instant;

use callscope::audio::read_wav;

fn wav_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(root).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "wav") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn main() {
    let calls: usize = std::env::var("CALLSCOPE_BENCH_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let root = corpus("wav", calls, 120.0, Vec::new());
    let files = wav_files(&root);
    let bytes: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    let mb = bytes as f64 / 1e6;

    // Warm the page cache.
    for f in &files {
        std::hint::black_box(std::fs::read(f).unwrap());
    }
    let (mut plain, mut reader) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        let mut n = 0usize;
        for f in &files {
            n += std::hint::black_box(std::fs::read(f).unwrap()).len();
        }
        plain.push(t.elapsed().as_secs_f64());
        assert_eq!(n as u64, bytes);

        let t = Instant::now();
        let mut samples = 0usize;
        for f in &files {
            samples += std::hint::black_box(read_wav(f).unwrap()).samples.len();
        }
        reader.push(t.elapsed().as_secs_f64());
        assert!(samples > 0);
    }
    let (p, r) = (median(&mut plain), median(&mut reader));
    println!(
        "wav_read: {} files, {mb:.0} MB from page cache, {calls} two-minute calls, 7 rounds",
        files.len()
    );
    println!(
        "  plain std::fs::read  median {:7.1} ms  {:7.0} MB/s",
        p * 1e3,
        mb / p
    );
    println!(
        "  callscope read_wav   median {:7.1} ms  {:7.0} MB/s",
        r * 1e3,
        mb / r
    );
    println!("  ratio reader/plain   {:.2}x (target <= 1.3x)", r / p);
}
