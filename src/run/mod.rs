//! `run`: the analytics job. Discover, filter, analyze every call in
//! parallel (collected in discovery order), merge the summaries, write the
//! reports. One call failing never stops the run.

pub mod call;
pub mod filter;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::analyze::{Analyzer, Needs, Stats, VadKind};
use crate::error::{Error, Result};
use crate::recording::{discover, ModelOptions, SkippedPath};
use crate::report::{self, Formats, Report};

pub use call::CallRecord;
pub use filter::Filter;

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

pub fn run(opts: &RunOptions, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<RunOutcome> {
    let started: DateTime<Utc> = Utc::now();
    let found = discover(&opts.root)?;
    let needs = needs_of(&opts.analyzers);
    let selected: Vec<_> = found
        .recordings
        .into_iter()
        .filter(|r| opts.filter.matches(r, opts.model.name_tz))
        .collect();
    let total = selected.len() as u64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;
    let done = std::sync::atomic::AtomicU64::new(0);
    // Each recording is dropped once analyzed: memory does not grow with their number.
    let records: Vec<CallRecord> = pool.install(|| {
        selected
            .into_par_iter()
            .map(|rec| {
                let r = call::process(&rec, &opts.analyzers, needs, opts.vad, &opts.model);
                progress(
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                    total,
                );
                r
            })
            .collect()
    });
    crate::interrupt::check()?;

    // Merge the per-call summary parts, analyzer by analyzer.
    let mut merged: Vec<Stats> = vec![Stats::default(); opts.analyzers.len()];
    for r in &records {
        for (m, s) in merged.iter_mut().zip(&r.stats) {
            m.merge(s);
        }
    }
    let summaries: Vec<_> = opts
        .analyzers
        .iter()
        .zip(&merged)
        .map(|(a, s)| (a.name().to_string(), a.summarize(s, records.len())))
        .collect();
    let errors = records.iter().filter(|r| r.status == "error").count();
    let report = Report {
        analyzers: &opts.analyzers,
        records: &records,
        summaries: &summaries,
        run: serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "started": crate::recording::format_utc(&started),
            "finished": crate::recording::format_utc(&Utc::now()),
            "root": opts.root.display().to_string(),
            "args": opts.args,
        }),
    };
    let written = report::write_all(&report, &opts.out, opts.formats)?;
    Ok(RunOutcome {
        calls: records.len(),
        errors,
        skipped: found.skipped,
        written,
    })
}

/// Counts of a list of strings, sorted by key.
pub fn tally<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i.to_string()).or_insert(0) += 1;
    }
    m
}
