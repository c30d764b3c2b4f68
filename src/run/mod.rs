//! `run`: the analytics job. Discover, filter, analyze every call in
//! parallel (collected in discovery order), merge the summaries, write the
//! reports. One call failing never stops the run.

mod findings;
pub mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::analyze::{Analyzer, Needs, Stats, VadKind};
use crate::check::Status;
use crate::error::{Error, Result};
use crate::recording::{discover, Filter, ModelOptions, SkippedPath};
use crate::report::{CallRecord, Formats, ReportWriter, RunInfo};

/// What to run.
pub struct RunOptions {
    pub root: PathBuf,
    pub out: PathBuf,
    pub analyzers: Vec<Box<dyn Analyzer>>,
    /// Worker threads; None: all cores.
    pub jobs: Option<usize>,
    pub filter: Filter,
    pub formats: Formats,
    pub vad: VadKind,
    pub model: ModelOptions,
    /// The command line, for summary.json.
    pub args: Vec<String>,
}

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    pub calls: usize,
    pub errors: usize,
    pub skipped: Vec<SkippedPath>,
    pub written: Vec<PathBuf>,
}

/// Everything the analyzers need, together.
pub fn needs_of(analyzers: &[Box<dyn Analyzer>]) -> Needs {
    analyzers
        .iter()
        .fold(Needs::default(), |n, a| n.union(a.needs()))
}

/// Calls analyzed together before their rows are written: enough to keep
/// every core busy, few enough that memory stays flat however many calls.
const BATCH: usize = 256;

pub fn run(opts: &RunOptions, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<RunOutcome> {
    let started: DateTime<Utc> = Utc::now();
    let found = discover(&opts.root)?;
    let needs = needs_of(&opts.analyzers);
    let mut selected: Vec<_> = found
        .recordings
        .into_iter()
        .filter(|r| opts.filter.matches(r, opts.model.name_tz))
        .collect();
    let total = selected.len() as u64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;
    let mut writer = ReportWriter::create(&opts.out, &opts.analyzers, opts.formats)?;
    let mut merged: Vec<Stats> = vec![Stats::default(); opts.analyzers.len()];
    let (mut calls, mut errors) = (0usize, 0usize);
    let done = AtomicU64::new(0);
    // Batches in discovery order; within a batch rayon keeps the order too.
    selected.reverse();
    while !selected.is_empty() {
        crate::interrupt::check()?;
        let take = selected.len().min(BATCH);
        let batch: Vec<_> = selected.drain(selected.len() - take..).rev().collect();
        let records: Vec<CallRecord> = pool.install(|| {
            batch
                .into_par_iter()
                .map(|rec| {
                    let r = process::process(&rec, &opts.analyzers, needs, opts.vad, &opts.model);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    r
                })
                .collect()
        });
        for r in &records {
            writer.write_call(r)?;
            for (m, s) in merged.iter_mut().zip(&r.stats) {
                m.merge(s);
            }
            calls += 1;
            errors += usize::from(r.status == Status::Error);
        }
    }
    let summaries: Vec<_> = opts
        .analyzers
        .iter()
        .zip(&merged)
        .map(|(a, s)| (a.name().to_string(), a.summarize(s, calls)))
        .collect();
    let run = RunInfo {
        version: env!("CARGO_PKG_VERSION"),
        started: crate::recording::format_utc(&started),
        finished: crate::recording::format_utc(&Utc::now()),
        root: opts.root.display().to_string(),
        args: opts.args.clone(),
    };
    let written = writer.finish(&summaries, run)?;
    Ok(RunOutcome {
        calls,
        errors,
        skipped: found.skipped,
        written,
    })
}
