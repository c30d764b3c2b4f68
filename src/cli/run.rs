//! `callscope run`: the analytics job.

use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;

use super::alert::{AlertArgs, Tally};
use super::args::{ModelArgs, PluginArgs, WindowArgs, WorkArgs};
use super::output;
use crate::analyze::{self, Analyzer, VadKind};
use crate::error::{Error, Result};
use crate::exit;
use crate::report::{Format, Formats};
use crate::retention;
use crate::run::plan::{self, Plan, Shard};
use crate::run::{self, RunOptions};

const EXAMPLES: &str = "\
Examples:
  callscope run sample_recordings -o reports
  callscope run /srv/recordings -o /srv/reports/$(date +%F) --new --max-error-ratio 0.05 --metrics /var/lib/node_exporter/callscope.prom
  callscope run /srv/recordings -o reports --since 2024-12-01 --analyzers response_times,speech
  callscope run /srv/recordings -o reports --plugin ./libkeyword_categories.so --plugin-config kwcat=kwcat.toml";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// The recordings root (searched at any depth), or one recording
    /// directory [default: the plan's root with --plan, else .].
    pub root: Option<PathBuf>,
    /// The report directory: it must not exist yet (or be empty), or hold
    /// an earlier report and --replace be given. It appears whole at the
    /// end. strftime fields are filled in (reports/%F: today in --day-tz).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the earlier report at --out (in one step).
    #[arg(long)]
    pub replace: bool,
    /// Analyse the recordings a plan (callscope plan) froze, instead of
    /// discovering the root.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["new", "since", "until", "sessions"])]
    pub plan: Option<PathBuf>,
    /// With --plan: shard K of N (from 0), or auto (from Slurm's, a
    /// Kubernetes Indexed Job's or AWS Batch's variables). {shard} in
    /// --out is replaced by K, {shards} by N, {plan} by the plan's id: a
    /// night's parts never meet another night's.
    #[arg(long, value_name = "K/N|auto", requires = "plan")]
    pub shard: Option<String>,
    /// With --shard auto under Kubernetes: the Job's completions (N).
    #[arg(long, value_name = "N", env = "CALLSCOPE_SHARDS")]
    pub shards: Option<usize>,
    /// Only recordings that no report beside --out (in its parent
    /// directory) analyzed as they are now: new, changed or repaired since;
    /// calls still in progress wait for a later run.
    #[arg(long)]
    pub new: bool,
    /// When another callscope writes --out, wait this long (30s, 5m, 2h,
    /// PT10M; at most a week)
    /// instead of exiting 75 at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub wait: Option<std::time::Duration>,
    #[command(flatten)]
    pub alert: AlertArgs,
    /// An empty root, or filters that select nothing, is not an error
    /// (without it, exit 1: a store that did not mount must alert).
    #[arg(long)]
    pub allow_empty: bool,
    /// Print one summary line to stderr at the end (calls, errors, wall
    /// time, where the reports are).
    #[arg(short, long)]
    pub verbose: bool,
    /// Analyzers to run, comma-separated, in this order (default: all built-in).
    #[arg(short, long, value_delimiter = ',', value_name = "NAMES")]
    pub analyzers: Vec<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only sessions whose id matches this glob (repeatable).
    #[arg(long = "session", value_name = "GLOB")]
    pub sessions: Vec<String>,
    /// Report formats, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "csv,json,html"
    )]
    pub format: Vec<Format>,
    /// Write CSV text cells as they are: by default a cell beginning with
    /// =, +, -, @, a tab or a carriage return gets a leading ' so that a
    /// spreadsheet shows it as text instead of running it as a formula.
    /// For pipelines that want the bytes (JSON is always as it is).
    #[arg(long)]
    pub csv_raw: bool,
    /// Add run_id, analyzed_at and fingerprint to every row of every
    /// per-call table: which run analyzed the call, when, and the
    /// recording's files as they were then, so a warehouse that appends
    /// night after night can tell rows apart and keep the latest. A merge
    /// keeps each row's own. Off by default: the rows then stay the same
    /// bytes whichever run wrote them.
    #[arg(long)]
    pub row_identity: bool,
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Add the retention analyzer: what the next prune with this policy will do.
    #[arg(long, env = "CALLSCOPE_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Silences at least this long count in speech_long_silences (Google
    /// CCAI Insights uses 5).
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub silence_min: f64,
    /// Voice activity detector.
    #[arg(long, value_enum, default_value = "neural")]
    pub vad: VadKind,
    #[command(flatten)]
    pub work: WorkArgs,
}

/// The built-in analyzers' options from `--silence-min`.
pub(super) fn silence_min(seconds: f64) -> Result<analyze::Options> {
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(Error::Usage(format!(
            "--silence-min {seconds}: give a positive number of seconds"
        )));
    }
    Ok(analyze::Options {
        silence_min_s: seconds,
    })
}

/// The analyzers of a run: the built-ins (and the policy's), plugins, in
/// the order `names` gives (all of them when it is empty).
pub(super) fn analyzers(
    policy: Option<&Path>,
    plugins: &PluginArgs,
    names: &[String],
    model: &ModelArgs,
    options: &analyze::Options,
) -> Result<Vec<Box<dyn Analyzer>>> {
    let mut available = analyze::builtins_with(options);
    if let Some(p) = policy {
        available.push(Box::new(analyze::retention::Retention {
            policy: retention::policy::load(p).map_err(Error::Usage)?,
            model: model.options(),
            now: Utc::now(),
        }));
    }
    let plugins = plugins.request()?.load(&available)?;
    let mut names = names.to_vec();
    if !names.is_empty() {
        // Loaded plugins and the policy's analyzer run whatever --analyzers names.
        for p in &plugins {
            if !names.contains(&p.name) {
                names.push(p.name.clone());
            }
        }
        if policy.is_some() && !names.iter().any(|n| n == "retention") {
            names.push("retention".into());
        }
    }
    available.extend(
        plugins
            .into_iter()
            .map(|p| Box::new(p) as Box<dyn Analyzer>),
    );
    analyze::select(available, &names).map_err(Error::Usage)
}

impl RunArgs {
    fn analyzer_options(&self) -> Result<analyze::Options> {
        silence_min(self.silence_min)
    }

    /// The plan and shard asked for, said where it came from.
    fn plan(&self) -> Result<Option<(Plan, Shard)>> {
        let Some(path) = &self.plan else {
            return Ok(None);
        };
        let plan = Plan::read(path)?;
        let shard = match self.shard.as_deref() {
            None => Shard { index: 0, count: 1 },
            Some("auto") => {
                let (shard, said) = plan::shard_from_engine(
                    &|k| std::env::var(k).ok(),
                    self.shards.or(plan.shards),
                )
                .map_err(Error::Usage)?;
                output::note(format_args!(
                    "shard {} of {} ({said})",
                    shard.index, shard.count
                ));
                shard
            }
            Some(k_n) => k_n
                .parse()
                .map_err(|e| Error::Usage(format!("--shard {e}")))?,
        };
        // The whole plan (no --shard) runs anywhere; a shard of it is one of
        // the N it was planned for.
        if let Some(n) = plan
            .shards
            .filter(|n| self.shard.is_some() && *n != shard.count)
        {
            return Err(Error::Usage(format!(
                "--shard: {} is planned for {n} shards, not {}",
                path.display(),
                shard.count
            )));
        }
        Ok(Some((plan, shard)))
    }

    fn options(&self) -> Result<RunOptions> {
        let plan = self.plan()?;
        let root = match (&self.root, &plan) {
            (Some(r), _) => r.clone(),
            // The nodes of a cluster may mount the store elsewhere: ROOT
            // given wins over the plan's.
            (None, Some((p, _))) => PathBuf::from(&p.root),
            (None, None) => PathBuf::from("."),
        };
        let mut out = self.window.day.expand(&self.out, "--out")?;
        if let Some((p, shard)) = &plan {
            let text = out.to_string_lossy().into_owned();
            out = PathBuf::from(
                text.replace("{shard}", &shard.index.to_string())
                    .replace("{shards}", &shard.count.to_string())
                    .replace("{plan}", &p.id),
            );
        }
        let sessions = self
            .sessions
            .iter()
            .map(|g| glob::Pattern::new(g).map_err(|e| Error::Usage(format!("--session {g}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(RunOptions {
            root,
            out,
            analyzers: analyzers(
                self.policy.as_deref(),
                &self.plugins,
                &self.analyzers,
                &self.work.model,
                &self.analyzer_options()?,
            )?,
            jobs: self.work.jobs.jobs.map(usize::from),
            filter: self.window.filter(sessions)?,
            formats: Formats {
                csv_raw: self.csv_raw,
                row_identity: self.row_identity,
                ..Formats::of(&self.format)
            },
            vad: self.vad,
            model: self.work.model.options(),
            only_new: self.new,
            plan,
            replace: self.replace,
            wait: self.wait,
            args: std::env::args().skip(1).collect(),
        })
    }

    fn filtered(&self) -> bool {
        self.window.is_set() || !self.sessions.is_empty()
    }
}

pub fn execute(args: &RunArgs) -> Result<i32> {
    let opts = args.options()?;
    args.alert.check(&[&opts.root])?;
    args.alert.night(|| night(args, &opts))
}

/// The run, its warnings, and the exit code its outcome earns.
fn night(args: &RunArgs, opts: &run::RunOptions) -> Result<(i32, crate::report::Summary)> {
    let bar = crate::progress::bar(0, "calls", args.work.quiet);
    let outcome = run::run(opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    for s in &outcome.skipped {
        output::warn(format_args!("{}: {}", s.path.display(), s.reason));
    }
    for why in &outcome.unreadable {
        output::warn(format_args!(
            "{why}; that report is passed over and its calls count as new"
        ));
    }
    if args.verbose {
        for (dir, why) in &outcome.unlike {
            output::note(format_args!(
                "{}: not a night of this job: {why}",
                dir.display()
            ));
        }
    }
    // A shard of a non-empty plan may be empty (more shards than calls).
    let empty = outcome.selected == 0 && !(args.plan.is_some() && outcome.found > 0);
    if empty {
        // A quiet day, a filter that matched nothing — or a store that did
        // not mount: by default, that alerts.
        let what = format!(
            "no recordings under {}{}; the reports are empty",
            outcome.root.display(),
            if outcome.found > 0 || args.filtered() {
                " match the filters"
            } else {
                ""
            }
        );
        if args.allow_empty {
            output::warn(what);
        } else {
            output::error(format_args!("{what} (--allow-empty if that is expected)"));
        }
    }
    if args.verbose || (!args.work.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())) {
        output::note(format_args!(
            "{} call(s){}, {} with errors, {} with warnings, in {:.1} s; reports in {}",
            outcome.calls,
            if args.new {
                format!(" new ({} in progress left for later)", outcome.waiting)
            } else {
                String::new()
            },
            outcome.errors,
            outcome.warnings,
            (outcome.finished - outcome.started).as_seconds_f64(),
            outcome.out.display()
        ));
    }
    let tally = Tally {
        calls: outcome.calls,
        errors: outcome.errors,
        warnings: outcome.warnings,
    };
    let why = args.alert.verdict(&tally).or_else(|| {
        (empty && !args.allow_empty).then(|| {
            "no recording was analyzed: an empty or unmounted store? (--allow-empty accepts it)"
                .to_string()
        })
    });
    Ok((why.map_or(exit::OK, output::exit_data), outcome.summary))
}
