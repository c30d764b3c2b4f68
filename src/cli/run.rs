//! `callscope run`: the analytics job.

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;

use super::args::{PluginArgs, WindowArgs, WorkArgs};
use super::output;
use crate::analyze::{self, Analyzer, VadKind};
use crate::error::{Error, Result};
use crate::exit;
use crate::report::{Format, Formats};
use crate::retention;
use crate::run::{self, RunOptions};

const EXAMPLES: &str = "\
Examples:
  callscope run sample_recordings -o reports
  callscope run /srv/recordings -o reports --since 2024-12-01 --analyzers response_times,speech
  callscope run /srv/recordings -o reports --plugin ./libkeyword_categories.so --plugin-config kwcat=kwcat.toml";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Where the reports go (created if needed; reports there are replaced).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Analyzers to run, comma-separated, in this order (default: all built-in).
    #[arg(short, long, value_delimiter = ',', value_name = "NAMES")]
    pub analyzers: Vec<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only sessions whose id matches this glob (repeatable).
    #[arg(long = "session", value_name = "GLOB")]
    pub sessions: Vec<String>,
    /// Report formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv,json")]
    pub format: Vec<Format>,
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Add the retention analyzer: what the next prune with this policy will do.
    #[arg(long, env = "CALLSCOPE_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Voice activity detector.
    #[arg(long, value_enum, default_value = "neural")]
    pub vad: VadKind,
    #[command(flatten)]
    pub work: WorkArgs,
}

impl RunArgs {
    /// The analyzers to run: the built-ins (and the policy's), plugins, in
    /// the order --analyzers names them.
    fn analyzers(&self) -> Result<Vec<Box<dyn Analyzer>>> {
        let mut available = analyze::builtins();
        if let Some(p) = &self.policy {
            available.push(Box::new(analyze::retention::Retention {
                policy: retention::policy::load(p).map_err(Error::Usage)?,
                model: self.work.model.options(),
                now: Utc::now(),
            }));
        }
        let plugins = self.plugins.request()?.load(&available)?;
        let mut names = self.analyzers.clone();
        if !names.is_empty() {
            // Loaded plugins and the policy's analyzer run whatever --analyzers names.
            for p in &plugins {
                if !names.contains(&p.name) {
                    names.push(p.name.clone());
                }
            }
            if self.policy.is_some() && !names.iter().any(|n| n == "retention") {
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

    fn options(&self) -> Result<RunOptions> {
        let sessions = self
            .sessions
            .iter()
            .map(|g| glob::Pattern::new(g).map_err(|e| Error::Usage(format!("--session {g}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(RunOptions {
            root: self.root.clone(),
            out: self.out.clone(),
            analyzers: self.analyzers()?,
            jobs: self.work.jobs.jobs.map(usize::from),
            filter: self.window.filter(sessions),
            formats: Formats::of(&self.format),
            vad: self.vad,
            model: self.work.model.options(),
            args: std::env::args().skip(1).collect(),
        })
    }

    fn filtered(&self) -> bool {
        self.window.is_set() || !self.sessions.is_empty()
    }
}

pub fn execute(args: &RunArgs) -> Result<i32> {
    let opts = args.options()?;
    let bar = crate::progress::bar(0, "calls", args.work.quiet);
    let outcome = run::run(&opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    for s in &outcome.skipped {
        output::warn(format_args!("{}: {}", s.path.display(), s.reason));
    }
    if outcome.calls == 0 {
        // Not an error (a quiet day, a filter that matched nothing), but a
        // nightly job pointed at the wrong mount should not pass unnoticed.
        output::warn(format_args!(
            "no recordings under {}{}; the reports are empty",
            args.root.display(),
            if args.filtered() {
                " match the filters"
            } else {
                ""
            }
        ));
    }
    if !args.work.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        output::note(format_args!(
            "{} call(s), {} with errors; reports in {}",
            outcome.calls,
            outcome.errors,
            args.out.display()
        ));
    }
    Ok(if outcome.errors > 0 {
        exit::DATA
    } else {
        exit::OK
    })
}
