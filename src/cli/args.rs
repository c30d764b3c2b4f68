//! Options more than one command takes, and the parsers of their values.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use clap::Args;

use crate::error::{Error, Result};
use crate::plugin::{self, Isolation};
use crate::recording::{parse_timestamp, Filter, ModelOptions, NameTz, TimeSpec};

/// How recordings found on disk are interpreted.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Time zone of the recorder's clock, used for directory-name stamps
    /// (UTC, local, +HH:MM, or an IANA name such as Europe/Paris).
    #[arg(long, default_value = "UTC", value_parser = parse_name_tz, env = "CALLSCOPE_NAME_TZ", value_name = "TZ")]
    pub name_tz: NameTz,
    /// Seconds a recording with only WAVs must be unchanged to count as
    /// crashed rather than in progress.
    #[arg(
        long,
        default_value_t = 300,
        value_name = "SECONDS",
        env = "CALLSCOPE_SETTLE"
    )]
    pub settle: u64,
}

fn parse_name_tz(s: &str) -> std::result::Result<NameTz, String> {
    s.parse()
}

impl ModelArgs {
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            name_tz: self.name_tz,
            settle: Duration::from_secs(self.settle),
            now: SystemTime::now(),
        }
    }
}

/// `--day-tz`: the zone days are read in.
#[derive(Debug, Args, Clone)]
pub struct DayTzArg {
    /// The zone `today`, `yesterday`, dates and times without a zone are
    /// read in (UTC, local, +HH:MM, or an IANA name).
    #[arg(long, default_value = "UTC", value_parser = parse_name_tz, env = "CALLSCOPE_DAY_TZ", value_name = "TZ")]
    pub day_tz: NameTz,
}

impl DayTzArg {
    /// A path with strftime fields (`reports/%F`) filled in with the
    /// current time in this zone: a nightly directory's name without a
    /// shell to compute it. A path without `%` is as it was.
    pub fn expand(&self, path: &std::path::Path, flag: &str) -> Result<std::path::PathBuf> {
        use chrono::format::{Item, StrftimeItems};
        let Some(text) = path.to_str().filter(|t| t.contains('%')) else {
            return Ok(path.to_path_buf());
        };
        if StrftimeItems::new(text).any(|i| matches!(i, Item::Error)) {
            return Err(Error::Usage(format!(
                "{flag} {text}: not a valid strftime pattern (%F, %Y-%m-%d, %%)"
            )));
        }
        let now = self.day_tz.wall_clock(Utc::now());
        // A field the wall-clock time cannot give (%z) is an error, not a
        // panic.
        let mut out = String::new();
        std::fmt::Write::write_fmt(&mut out, format_args!("{}", now.format(text))).map_err(
            |_| {
                Error::Usage(format!(
                    "{flag} {text}: a field of it needs a zone offset; use %F, %Y, %m, %d, %H, %M"
                ))
            },
        )?;
        Ok(std::path::PathBuf::from(out))
    }

    /// `spec` as an instant now.
    pub fn resolve(&self, spec: TimeSpec, flag: &str, end_of_day: bool) -> Result<DateTime<Utc>> {
        spec.resolve(Utc::now(), self.day_tz, end_of_day)
            .map_err(|e| Error::Usage(format!("{flag}: {e}")))
    }
}

/// `--since` and `--until`: a window of start times.
#[derive(Debug, Args, Clone)]
pub struct WindowArgs {
    /// Only calls that started at or after this: a date, a time, today,
    /// yesterday, or a length of time ago (7d, '7 days ago', 36h, 1mo,
    /// P7D).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<TimeSpec>,
    /// Only calls that started before this (a date includes the whole day).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<TimeSpec>,
    #[command(flatten)]
    pub day: DayTzArg,
}

impl WindowArgs {
    pub fn filter(&self, sessions: Vec<glob::Pattern>) -> Result<Filter> {
        Ok(Filter {
            since: self
                .since
                .map(|s| self.day.resolve(s, "--since", false))
                .transpose()?,
            until: self
                .until
                .map(|s| self.day.resolve(s, "--until", true))
                .transpose()?,
            sessions,
        })
    }

    pub fn is_set(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }
}

/// What a command that works through a whole root takes: worker threads,
/// quiet, and how recordings are read.
#[derive(Debug, Args, Clone)]
pub struct WorkArgs {
    #[command(flatten)]
    pub jobs: JobsArg,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `-j/--jobs`.
#[derive(Debug, Args, Clone)]
pub struct JobsArg {
    /// Worker threads (default: all cores).
    #[arg(short, long, env = "CALLSCOPE_JOBS", value_parser = clap::value_parser!(u16).range(1..), value_name = "N")]
    pub jobs: Option<u16>,
}

impl JobsArg {
    /// A pool of that many threads (all cores without --jobs).
    pub fn pool(&self) -> Result<rayon::ThreadPool> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs.map_or(0, usize::from))
            .build()
            .map_err(|e| Error::Usage(format!("--jobs: {e}")))
    }
}

/// Where analyzer plugins come from.
#[derive(Debug, Args, Clone)]
pub struct PluginArgs {
    /// Load an analyzer plugin (a shared library; a relative path is
    /// taken from the current directory); repeatable.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugin: Vec<PathBuf>,
    /// Load every plugin (.so, .dylib, .dll) in this directory; repeatable.
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dir: Vec<PathBuf>,
    /// Plugins and plugin directories to load too, separated by ':'.
    #[arg(
        long = "plugin-path",
        env = "CALLSCOPE_PLUGIN_PATH",
        value_name = "PATHS"
    )]
    pub plugin_path: Option<String>,
    /// A plugin's config: NAME=FILE (JSON, or TOML by its .toml extension); repeatable.
    #[arg(long = "plugin-config", value_name = "NAME=FILE")]
    pub plugin_config: Vec<String>,
    /// Where plugins run: in this process, or in processes of their own
    /// that a crash or a hang cannot take the run down with.
    #[arg(long, value_enum, default_value = "none")]
    pub plugin_isolation: Isolation,
    /// With --plugin-isolation process: seconds a plugin may take for one
    /// call before its process is killed (the call's cells stay empty).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub plugin_timeout: f64,
}

impl PluginArgs {
    pub fn request(&self) -> Result<plugin::Request> {
        if !(self.plugin_timeout > 0.0 && self.plugin_timeout.is_finite()) {
            return Err(Error::Usage(
                "--plugin-timeout must be a positive number of seconds".into(),
            ));
        }
        Ok(plugin::Request {
            files: self.plugin.clone(),
            dirs: self.plugin_dir.clone(),
            search_path: self.plugin_path.clone(),
            configs: self.plugin_config.clone(),
            isolation: self.plugin_isolation,
            timeout: Duration::from_secs_f64(self.plugin_timeout),
        })
    }
}

/// A time given as RFC 3339 UTC.
pub fn parse_utc(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    parse_timestamp(s).ok_or_else(|| format!("'{s}' is not a time like 2024-12-01T08:00:00Z"))
}
