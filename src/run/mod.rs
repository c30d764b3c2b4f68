//! `run`: the analytics job. Discover, filter (and with `--new`, leave out
//! what earlier reports saw), analyze every call in parallel (collected in
//! discovery order), merge the summaries, write the reports into a report
//! directory that appears whole at the end. One call failing never stops
//! the run.

mod findings;
pub mod incremental;
pub mod plan;
pub mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::analyze::{Analyzer, Needs, VadKind};
use crate::check::Status;
use crate::error::{Error, Result};
use crate::recording::{
    discover_each, format_utc, open_dir, Filter, ModelOptions, SkippedPath, State,
};
use crate::report::{
    About, Analyzed, AnalyzerInfo, CallRecord, Formats, Manifest, ReportDir, ReportOptions,
    ReportWriter, Summary,
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
    /// The plan and the shard of it to run, instead of discovering the
    /// root (whose recordings the plan names).
    pub plan: Option<(plan::Plan, plan::Shard)>,
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
    /// With `--new`: report directories beside `--out` that could not be
    /// read, and those of another root, analyzers or settings.
    pub unreadable: Vec<String>,
    pub unlike: Vec<(PathBuf, String)>,
    pub root: PathBuf,
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
            settings: a.settings(),
        })
        .collect();
    let options = ReportOptions {
        vad: vad.as_str().to_string(),
        name_tz: model.name_tz.to_string(),
        formats: formats.names(),
    };
    (infos, options)
}

/// A recording to analyze, by where it is: opened when its batch comes.
struct Place {
    dir: PathBuf,
    rel: String,
}

/// Calls analyzed together before their rows are written: enough to keep
/// every core busy, few enough that memory stays flat however many calls.
const BATCH: usize = 256;

pub fn run(opts: &RunOptions, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<RunOutcome> {
    let started: DateTime<Utc> = Utc::now();
    let run_id = crate::report::run_id(&started);
    // What to analyze, as places: the recordings of the plan's shard, or
    // what discovery finds and the filters (and --new) keep. Each is opened
    // again when its batch comes, so no more than a batch of recordings is
    // held at a time (what a filter read of one is dropped with it): memory
    // stays flat however many calls the root holds.
    let mut waiting = 0;
    let (analyzers, options) =
        report_identity(&opts.analyzers, opts.vad, &opts.model, opts.formats);
    let root_r = crate::safe_fs::resolve(&opts.root).unwrap_or_else(|_| opts.root.clone());
    let identity = incremental::Identity {
        root: &root_r,
        analyzers: &analyzers,
        options: &options,
    };
    // Two `--new` runs beside one another (two nights at once) would each
    // take the other's calls as new: the second waits for the first, and
    // then sees its report. Held until the report is in place.
    let _nights = match opts.only_new {
        true => Some(incremental::lock_beside(&opts.out, opts.wait)?),
        false => None,
    };
    let (mut unreadable, mut unlike) = (Vec::new(), Vec::new());
    let (found_count, selected_count, mut selected, skipped): (_, _, Vec<Place>, _) =
        match &opts.plan {
            Some((plan, shard)) => {
                crate::recording::check_root(&opts.root)?;
                let mine = plan.shard(shard.index, shard.count);
                let places = mine
                    .iter()
                    .map(|p| Place {
                        dir: opts.root.join(&p.recording),
                        rel: p.recording.clone(),
                    })
                    .collect();
                (plan.recordings.len(), mine.len(), places, Vec::new())
            }
            None => {
                let seen = match opts.only_new {
                    true => {
                        let mut seen = incremental::Seen::beside(&opts.out, &identity)?;
                        unreadable = std::mem::take(&mut seen.unreadable);
                        unlike = std::mem::take(&mut seen.unlike);
                        Some(seen)
                    }
                    false => None,
                };
                // Found, and kept by the filters (--new leaves out more).
                let (mut count, mut matched, mut places) = (0, 0, Vec::new());
                let skipped = discover_each(&opts.root, |r| {
                    count += 1;
                    if !opts.filter.matches(&r, opts.model.name_tz) {
                        return;
                    }
                    matched += 1;
                    if let Some(seen) = &seen {
                        if seen.contains(&r.rel, &r.fingerprint()) {
                            return;
                        }
                        // A call still being recorded waits for a later night.
                        if r.state(&opts.model) == State::InProgress {
                            waiting += 1;
                            return;
                        }
                    }
                    places.push(Place {
                        dir: r.dir,
                        rel: r.rel,
                    });
                })?;
                (count, matched, places, skipped)
            }
        };
    // Discovery's walk order is not the reports' order (nor need a plan's be).
    selected.sort_by(|a, b| a.rel.cmp(&b.rel));
    let needs = needs_of(&opts.analyzers);
    let plan_ref = opts.plan.as_ref().map(|(p, s)| crate::report::PlanRef {
        id: p.id.clone(),
        shard: s.index,
        shards: s.count,
    });
    // A shard run again (a retried array task) replaces its own earlier
    // output: the same plan, the same shard. So does a night run again
    // with `--new`: the same job, whose calls it analyzes again.
    let replace = |m: &Manifest| {
        opts.replace
            || match &plan_ref {
                Some(_) => m.plan == plan_ref,
                None => opts.only_new && m.plan.is_none() && identity.differs(m).is_none(),
            }
    };
    let dir = ReportDir::prepare(&opts.out, &[&opts.root], &replace, "run", opts.wait)?;
    let total = selected.len() as u64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;
    let audio = crate::report::html::AudioLinks::new(
        &dir.out().join(crate::report::html::CALLS_DIR),
        &opts.root,
    );
    let mut writer = ReportWriter::create(dir.path(), &opts.analyzers, opts.formats, audio)
        .map_err(|e| dir.shown(e))?;
    let (mut calls, mut errors, mut warnings) = (0usize, 0usize, 0usize);
    let done = AtomicU64::new(0);
    // Batches in discovery order; within a batch rayon keeps the order too.
    selected.reverse();
    while !selected.is_empty() {
        let take = selected.len().min(BATCH);
        let batch: Vec<Place> = selected.drain(selected.len() - take..).rev().collect();
        // The stop flag is looked at per call: a stop asked for mid-batch
        // starts no new call.
        let records: Vec<Option<(CallRecord, String)>> = pool.install(|| {
            batch
                .into_par_iter()
                .map(|place| {
                    if crate::interrupt::requested() {
                        return None;
                    }
                    let mut record = match open_dir(place.dir, &place.rel) {
                        Ok(Some(rec)) => {
                            // As the files were before they were read.
                            let fingerprint = rec.fingerprint();
                            let r = process::process(
                                &rec,
                                &opts.analyzers,
                                needs,
                                opts.vad,
                                &opts.model,
                            );
                            (r, fingerprint)
                        }
                        // Gone since the plan was made or since discovery, or
                        // no longer readable: a row of its own.
                        opened => {
                            let why = process::gone(opts.plan.is_some(), opened.err());
                            let r = process::missing(
                                &place.rel,
                                why,
                                opts.analyzers.len(),
                                &opts.model,
                            );
                            (r, String::new())
                        }
                    };
                    if opts.formats.row_identity {
                        record.0.analyzed = Some(Analyzed {
                            run_id: run_id.clone(),
                            at: format_utc(&Utc::now()),
                        });
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    Some(record)
                })
                .collect()
        });
        crate::interrupt::check()?;
        let records: Vec<(CallRecord, String)> = records.into_iter().flatten().collect();
        pool.install(|| writer.write_calls(&records, &[]))
            .map_err(|e| dir.shown(e))?;
        for (r, _) in &records {
            calls += 1;
            errors += usize::from(r.status == Status::Error);
            warnings += usize::from(r.status == Status::Warning);
        }
    }
    let about = About {
        run_id,
        started,
        root: opts.root.display().to_string(),
        args: opts.args.clone(),
        made_by: match (&opts.plan, opts.only_new) {
            (Some(_), _) => "run --plan",
            (None, true) => "run --new",
            (None, false) => "run",
        },
        analyzers,
        options,
        plan: plan_ref,
    };
    let done = writer.complete(dir, &opts.analyzers, about)?;
    Ok(RunOutcome {
        found: found_count,
        selected: selected_count,
        calls,
        errors,
        warnings,
        waiting,
        skipped,
        unreadable,
        unlike,
        root: opts.root.clone(),
        out: done.out,
        summary: done.summary,
        started,
        finished: done.finished,
    })
}
