//! `run`: the analytics job. Discover, filter (and with `--new`, leave out
//! what earlier reports saw), analyze every call in parallel (collected in
//! discovery order), merge the summaries, write the reports into a report
//! directory that appears whole at the end. One call failing never stops
//! the run.

mod findings;
pub mod incremental;
pub mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::analyze::{Analyzer, Needs, Stats, VadKind};
use crate::check::Status;
use crate::error::{Error, Result};
use crate::recording::{discover, format_utc, Filter, ModelOptions, SkippedPath, State};
use crate::report::{
    AnalyzerInfo, CallRecord, Formats, Manifest, ReportDir, ReportOptions, ReportWriter, RunInfo,
    Summary,
};

/// What to run.
pub struct RunOptions {
    pub root: PathBuf,
    pub out: PathBuf,
    /// An earlier report directory at `out` is replaced.
    pub replace: bool,
    /// How long to wait for another command writing `out`.
    pub wait: Option<Duration>,
    pub analyzers: Vec<Box<dyn Analyzer>>,
    /// Worker threads; None: all cores.
    pub jobs: Option<usize>,
    pub filter: Filter,
    pub formats: Formats,
    pub vad: VadKind,
    pub model: ModelOptions,
    /// Only recordings no report beside `out` analyzed as they are now.
    pub only_new: bool,
    /// The command line, for summary.json.
    pub args: Vec<String>,
}

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    /// Recordings under the root, and those the filters selected.
    pub found: usize,
    pub selected: usize,
    /// Calls analyzed (with `--new`, the new ones).
    pub calls: usize,
    pub errors: usize,
    pub warnings: usize,
    /// With `--new`: calls still in progress, left for a later run.
    pub waiting: usize,
    pub skipped: Vec<SkippedPath>,
    pub out: PathBuf,
    pub summary: Summary,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

/// Everything the analyzers need, together.
pub fn needs_of(analyzers: &[Box<dyn Analyzer>]) -> Needs {
    analyzers
        .iter()
        .fold(Needs::default(), |n, a| n.union(a.needs()))
}

/// The analyzers and options a report records (merge compares them).
pub fn report_identity(
    analyzers: &[Box<dyn Analyzer>],
    vad: VadKind,
    model: &ModelOptions,
    formats: Formats,
) -> (Vec<AnalyzerInfo>, ReportOptions) {
    let infos = analyzers
        .iter()
        .map(|a| AnalyzerInfo {
            name: a.name().to_string(),
            version: a.version(),
            columns: a.columns(),
        })
        .collect();
    let options = ReportOptions {
        vad: vad.as_str().to_string(),
        name_tz: model.name_tz.to_string(),
        formats: formats.names(),
    };
    (infos, options)
}

/// Calls analyzed together before their rows are written: enough to keep
/// every core busy, few enough that memory stays flat however many calls.
const BATCH: usize = 256;

pub fn run(opts: &RunOptions, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<RunOutcome> {
    let started: DateTime<Utc> = Utc::now();
    let found = discover(&opts.root)?;
    let needs = needs_of(&opts.analyzers);
    let found_count = found.recordings.len();
    let mut selected: Vec<_> = found
        .recordings
        .into_iter()
        .filter(|r| opts.filter.matches(r, opts.model.name_tz))
        .collect();
    let selected_count = selected.len();
    let mut waiting = 0;
    if opts.only_new {
        let seen = incremental::Seen::beside(&opts.out)?;
        selected.retain(|r| {
            if seen.contains(&r.rel, &r.fingerprint()) {
                return false;
            }
            // A call still being recorded waits for a later night.
            let live = r.state(&opts.model) == State::InProgress;
            waiting += usize::from(live);
            !live
        });
    }
    let dir = ReportDir::prepare(&opts.out, &[&opts.root], opts.replace, "run", opts.wait)?;
    let total = selected.len() as u64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;
    let mut writer = ReportWriter::create(dir.path(), &opts.analyzers, opts.formats)?;
    let mut merged: Vec<Stats> = vec![Stats::default(); opts.analyzers.len()];
    let (mut calls, mut errors, mut warnings) = (0usize, 0usize, 0usize);
    let done = AtomicU64::new(0);
    // Batches in discovery order; within a batch rayon keeps the order too.
    selected.reverse();
    while !selected.is_empty() {
        let take = selected.len().min(BATCH);
        let batch: Vec<_> = selected.drain(selected.len() - take..).rev().collect();
        // The stop flag is looked at per call: a stop asked for mid-batch
        // starts no new call.
        let records: Vec<Option<(CallRecord, String)>> = pool.install(|| {
            batch
                .into_par_iter()
                .map(|rec| {
                    if crate::interrupt::requested() {
                        return None;
                    }
                    // As the files were before they were read.
                    let fingerprint = rec.fingerprint();
                    let r = process::process(&rec, &opts.analyzers, needs, opts.vad, &opts.model);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    Some((r, fingerprint))
                })
                .collect()
        });
        crate::interrupt::check()?;
        for (r, fingerprint) in records.into_iter().flatten() {
            writer.write_call(&r, &fingerprint)?;
            for (m, s) in merged.iter_mut().zip(&r.stats) {
                m.merge(s);
            }
            calls += 1;
            errors += usize::from(r.status == Status::Error);
            warnings += usize::from(r.status == Status::Warning);
        }
    }
    let summaries: Vec<_> = opts
        .analyzers
        .iter()
        .zip(&merged)
        .map(|(a, s)| (a.name().to_string(), a.summarize(s, calls)))
        .collect();
    let finished = Utc::now();
    let run = RunInfo {
        version: env!("CARGO_PKG_VERSION"),
        started: format_utc(&started),
        finished: format_utc(&finished),
        root: opts.root.display().to_string(),
        args: opts.args.clone(),
    };
    let (files, summary) = writer.finish(&summaries, run)?;
    crate::interrupt::check()?;
    let (analyzers, options) =
        report_identity(&opts.analyzers, opts.vad, &opts.model, opts.formats);
    let manifest = Manifest {
        format: crate::report::dir::FORMAT.to_string(),
        callscope_version: env!("CARGO_PKG_VERSION").to_string(),
        finished: format_utc(&finished),
        root: opts.root.display().to_string(),
        made_by: if opts.only_new { "run --new" } else { "run" }.to_string(),
        analyzers,
        options,
        calls,
        files,
    };
    let out = dir.commit(&manifest)?;
    Ok(RunOutcome {
        found: found_count,
        selected: selected_count,
        calls,
        errors,
        warnings,
        waiting,
        skipped: found.skipped,
        out,
        summary,
        started,
        finished,
    })
}
