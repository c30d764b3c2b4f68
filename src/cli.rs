//! The command line: clap definitions, turned into the library's options,
//! and one function per subcommand. Output is written here and nowhere else.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

use rayon::prelude::*;

use crate::analyze::{self, VadKind};
use crate::check::{self, RecordingCheck, Severity};
use crate::error::{Error, Result};
use crate::exit;
use crate::interrupt;
use crate::recording::{self, discover, parse_timestamp, ModelOptions, NameTz};
use crate::repair::{self, ApplyOptions};
use crate::report::Formats;
use crate::retention;
use crate::run::{self, filter, Filter, RunOptions};
use crate::simulate::{self, Fault, SimulateOptions};
use crate::view::{browse, list, play, show, transcript};

#[derive(Debug, Parser)]
#[command(
    name = "callscope",
    version,
    about = "Post-call analytics for voice-AI call recordings",
    after_help = "Exit codes: 0 ok, 1 failures or findings in the data, 2 usage or configuration error, 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The analytics job: analyze every call, write CSV and JSON reports.
    Run(RunArgs),
    /// List recordings: one row each, with start time, duration, rate, turns and state.
    List(ListArgs),
    /// Validate every file of every recording; compare the stereo files with the mono tracks.
    Check(CheckArgs),
    /// Repair what check finds: headers, the final stereo, missing monos, a crashed call's metadata.
    Repair(RepairArgs),
    /// Enforce a retention policy: dry run by default, --apply to carry it out.
    Prune(PruneArgs),
    /// Erase one person's recordings on request (right to erasure): dry run by default.
    Erase(EraseArgs),
    /// Show one call: summary, check status, transcript, function calls.
    Show(ShowArgs),
    /// Export a transcript as text, JSON or WebVTT captions, optionally redacted.
    Export(ExportArgs),
    /// Play a track with the system's audio player.
    Play(PlayArgs),
    /// Browse recordings interactively: filter, open, read, play, export.
    Browse(BrowseArgs),
    /// List the analyzers: built in and loaded from plugins.
    Plugins(PluginsArgs),
    /// Write simulated recordings exactly as the real recorder does, optionally damaged.
    Simulate(SimulateArgs),
    /// Serve one plugin over stdin and stdout (what --plugin-isolation process starts).
    #[command(hide = true)]
    PluginHost(PluginHostArgs),
}

#[derive(Debug, Args)]
pub struct PluginHostArgs {
    /// The plugin library.
    pub plugin: PathBuf,
}

/// Where plugins run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    /// In the callscope process: fastest; a plugin that crashes takes the run down.
    None,
    /// Each plugin in host processes of its own, killed and restarted when
    /// they crash or outlive --plugin-timeout: for plugins you do not trust.
    Process,
}

/// How recordings found on disk are interpreted.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Time zone of the recorder's clock, used for directory-name stamps
    /// (UTC, local, +HH:MM, or an IANA name such as Europe/Paris).
    #[arg(long, default_value = "UTC", value_parser = parse_name_tz)]
    pub name_tz: NameTz,
    /// Seconds a recording with only WAVs must be unchanged to count as
    /// crashed rather than in progress.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
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

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only calls that started at or after this (a date, or a time; UTC).
    #[arg(long, value_parser = filter::parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only calls that started before this (a date includes the whole day).
    #[arg(long, value_parser = filter::parse_until)]
    pub until: Option<DateTime<Utc>>,
    /// Order: start, duration or turns (default: directory name).
    #[arg(long, value_parser = ["start", "duration", "turns"])]
    pub sort: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Where the reports go (created if needed; reports there are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Analyzers to run, comma-separated, in this order (default: all built-in).
    #[arg(long, value_delimiter = ',')]
    pub analyzers: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Only calls that started at or after this (a date, or a time; UTC).
    #[arg(long, value_parser = filter::parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only calls that started before this (a date includes the whole day).
    #[arg(long, value_parser = filter::parse_until)]
    pub until: Option<DateTime<Utc>>,
    /// Only sessions whose id matches this glob (repeatable).
    #[arg(long = "session", value_name = "GLOB")]
    pub sessions: Vec<String>,
    /// Report formats, comma-separated: csv, json.
    #[arg(long, default_value = "csv,json", value_parser = Formats::parse)]
    pub format: Formats,
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Add the retention analyzer: what the next prune with this policy will do.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Voice activity detector: neural (earshot) or energy.
    #[arg(long, default_value = "neural", value_parser = parse_vad)]
    pub vad: VadKind,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

fn parse_vad(s: &str) -> std::result::Result<VadKind, String> {
    VadKind::parse(s).ok_or_else(|| format!("'{s}': use neural or energy"))
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Print machine-readable findings (JSON) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Exit with code 1 when a finding at or above this severity exists.
    #[arg(long, default_value = "error", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep replaced originals under DIR/{recording}/{stamp}/ instead of
    /// {recording}/.callscope/backup/{stamp}/.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Print the plan and outcomes as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write aligned_stereo_recording.wav (caller L, bot R where it was
    /// heard) where there is none, for people to listen to.
    #[arg(long)]
    pub aligned: bool,
    /// When another callscope holds the root, wait this long for it (30s,
    /// 5m, 2h) instead of exiting 75 at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub wait: Option<std::time::Duration>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A recording directory, or a recording's name (or the start of it) under --root.
    pub recording: Option<String>,
    /// The most recent recording under --root.
    #[arg(long, conflicts_with = "recording")]
    pub latest: bool,
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Show the transcript (with no section flag: transcript and function calls).
    #[arg(long)]
    pub transcript: bool,
    /// Show the function calls.
    #[arg(long)]
    pub functions: bool,
    /// Show the session events.
    #[arg(long)]
    pub events: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A recording directory, or a recording's name under --root.
    pub recording: String,
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Write here (atomically) instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// txt, json or vtt (WebVTT captions on the call's clock).
    #[arg(long, default_value = "txt", value_parser = transcript::Format::parse)]
    pub format: transcript::Format,
    /// Mask card numbers (Luhn-checked, last four kept), phone numbers, e-mail addresses and long digit runs.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct PlayArgs {
    /// A recording directory, or a recording's name under --root.
    pub recording: String,
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// caller, bot, stereo (real time), final, or aligned (see repair --aligned).
    #[arg(long, default_value = "final")]
    pub track: String,
    /// The player command to use (the file is appended).
    #[arg(long)]
    pub player: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct BrowseArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Where analyzer plugins come from.
#[derive(Debug, Args, Clone)]
pub struct PluginArgs {
    /// Load an analyzer plugin (a shared library); repeatable.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugin: Vec<PathBuf>,
    /// Load every plugin (.so, .dylib, .dll) in this directory; repeatable.
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dir: Vec<PathBuf>,
    /// Plugins and plugin directories, separated by ':'.
    #[arg(
        long = "plugin-path",
        env = "CALLSCOPE_PLUGIN_PATH",
        value_name = "PATHS",
        hide = true
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
    /// Load every plugin asked for; a plugin that cannot be used stops the
    /// command before any work (exit 2) with a message naming its file.
    pub fn load(
        &self,
        builtins: &[Box<dyn analyze::Analyzer>],
    ) -> Result<Vec<crate::plugin::Plugin>> {
        let taken: Vec<String> = builtins.iter().map(|a| a.name().to_string()).collect();
        // Every report column already spoken for: the base columns and the
        // built-in analyzers' (whatever --analyzers selects).
        let mut columns: Vec<String> = crate::run::call::BASE_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(builtins.iter().flat_map(|a| a.columns()))
            .collect();
        let mut configs = std::collections::BTreeMap::new();
        for c in &self.plugin_config {
            let (name, file) = c
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--plugin-config {c}: use NAME=FILE")))?;
            configs.insert(
                name.to_string(),
                crate::plugin::read_config(std::path::Path::new(file)).map_err(Error::Usage)?,
            );
        }
        let mut paths = self.plugin.clone();
        let mut dirs = self.plugin_dir.clone();
        for part in self
            .plugin_path
            .iter()
            .flat_map(|p| p.split(':'))
            .filter(|p| !p.is_empty())
        {
            let p = PathBuf::from(part);
            if p.is_dir() {
                dirs.push(p);
            } else {
                paths.push(p);
            }
        }
        for d in &dirs {
            paths.extend(crate::plugin::libraries_in(d).map_err(Error::Usage)?);
        }
        let mut names: Vec<String> = taken.to_vec();
        let mut loaded = Vec::new();
        if !(self.plugin_timeout > 0.0 && self.plugin_timeout.is_finite()) {
            return Err(Error::Usage(
                "--plugin-timeout must be a positive number of seconds".into(),
            ));
        }
        let timeout = std::time::Duration::from_secs_f64(self.plugin_timeout);
        let exe =
            std::env::current_exe().map_err(|e| Error::Usage(format!("callscope itself: {e}")))?;
        for p in paths {
            let plugin = match self.plugin_isolation {
                Isolation::None => crate::plugin::load(&p, &|name| configs.get(name).cloned()),
                Isolation::Process => crate::plugin::load_isolated(&exe, &p, &configs, timeout),
            }
            .map_err(Error::Usage)?;
            if names.contains(&plugin.name) {
                return Err(Error::Usage(format!(
                    "{}: an analyzer named '{}' is already loaded",
                    p.display(),
                    plugin.name
                )));
            }
            let own = analyze::Analyzer::columns(&plugin);
            if let Some(c) = own.iter().find(|c| columns.contains(c)) {
                return Err(Error::Usage(format!(
                    "{}: plugin {}: column '{c}' is already a column of the report; rename the plugin or the column",
                    p.display(),
                    plugin.name
                )));
            }
            columns.extend(own);
            names.push(plugin.name.clone());
            loaded.push(plugin);
        }
        if let Some(unused) = configs.keys().find(|n| !names.contains(n)) {
            return Err(Error::Usage(format!(
                "--plugin-config {unused}: no plugin of that name is loaded"
            )));
        }
        Ok(loaded)
    }
}

#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What prune and erase share.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Carry the plan out (without it, nothing is changed).
    #[arg(long)]
    pub apply: bool,
    /// The time ages are measured from (default: now).
    #[arg(long, value_parser = parse_utc)]
    pub now: Option<DateTime<Utc>>,
    /// The audit log (default ROOT/.callscope/audit.jsonl).
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the plan as CSV, one row per recording (kept ones too).
    #[arg(long)]
    pub csv: bool,
    /// Also list the recordings that are kept.
    #[arg(long)]
    pub show_kept: bool,
    /// With --apply: when another callscope holds the root, wait this long
    /// for it (30s, 5m, 2h) instead of exiting 75 at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub wait: Option<std::time::Duration>,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// The retention policy (TOML).
    #[arg(long)]
    pub policy: PathBuf,
    #[command(flatten)]
    pub common: RetentionArgs,
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// The session id whose recordings are erased.
    #[arg(long)]
    pub session: String,
    /// A policy whose hold list applies too (LEGAL_HOLD files always do).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Erase without consulting a policy's hold list (LEGAL_HOLD files
    /// still protect): without --policy, erase refuses unless this is given.
    #[arg(long, conflicts_with = "policy")]
    pub no_hold_list: bool,
    #[command(flatten)]
    pub common: RetentionArgs,
}

fn parse_severity(s: &str) -> std::result::Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("'{s}': use info, warning or error"))
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Where to write the recordings (must be empty or absent).
    #[arg(long)]
    pub out: PathBuf,
    /// How many calls.
    #[arg(long, default_value_t = 10)]
    pub calls: usize,
    /// Typical call length in seconds (each call varies by ±10 %).
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Random seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The recorder's target sample rate (16000 documented, 24000 newer).
    #[arg(long, default_value_t = 16000)]
    pub rate: u32,
    /// Faults to inject, comma-separated; recording i gets the (i mod n)-th.
    /// `all` cycles through a clean recording and every fault.
    #[arg(long, value_parser = parse_faults, default_value = "")]
    pub faults: FaultList,
    /// Also write the ground truth of every recording here (one JSON each).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Start time of the first call (UTC, RFC 3339).
    #[arg(long, default_value = "2024-12-01T08:00:00Z", value_parser = parse_utc)]
    pub start: DateTime<Utc>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// A parsed `--faults` list (one clap value that expands to many faults).
#[derive(Debug, Clone)]
pub struct FaultList(pub Vec<Fault>);

fn parse_faults(s: &str) -> std::result::Result<FaultList, String> {
    Fault::parse_list(s).map(FaultList)
}

fn parse_utc(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    parse_timestamp(s).ok_or_else(|| format!("'{s}' is not a time like 2024-12-01T08:00:00Z"))
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => run_run(&args),
        Command::List(args) => run_list(&args),
        Command::Check(args) => run_check(&args),
        Command::Repair(args) => run_repair(&args),
        Command::Simulate(args) => run_simulate(&args),
        Command::PluginHost(args) => {
            crate::plugin::serve(&args.plugin).map_err(|e| Error::io(&args.plugin, e))?;
            Ok(exit::OK)
        }
        Command::Show(args) => {
            let model = args.model.options();
            let rec = show::resolve(&args.root, args.recording.as_deref(), args.latest, &model)?;
            let all = !(args.transcript || args.functions || args.events);
            let sections = show::Sections {
                transcript: all || args.transcript,
                functions: all || args.functions,
                events: args.events,
            };
            let text = if args.json {
                let check = check::check_recording(&rec, &model);
                let mut s =
                    serde_json::to_string_pretty(&show::details(&rec, &model, &check, sections))
                        .map_err(|e| Error::Usage(e.to_string()))?;
                s.push('\n');
                s
            } else {
                show::render(&rec, &model, sections)
            };
            write_stdout(&text)?;
            Ok(exit::OK)
        }
        Command::Export(args) => {
            let model = args.model.options();
            let rec = show::resolve(&args.root, Some(&args.recording), false, &model)?;
            let text = transcript::export(&rec, model.name_tz, args.format, args.redact)
                .map_err(Error::Usage)?;
            match &args.output {
                Some(path) => {
                    let mut f =
                        crate::safe_fs::AtomicFile::create(path).map_err(|e| Error::io(path, e))?;
                    f.write_all(text.as_bytes())
                        .map_err(|e| Error::io(path, e))?;
                    f.commit(None).map_err(|e| Error::io(path, e))?;
                }
                None => write_stdout(&text)?,
            }
            Ok(exit::OK)
        }
        Command::Plugins(args) => {
            let builtins = analyze::builtins();
            let loaded = args.plugins.load(&builtins)?;
            let all: Vec<&dyn analyze::Analyzer> = builtins
                .iter()
                .map(|b| b.as_ref())
                .chain(loaded.iter().map(|p| p as &dyn analyze::Analyzer))
                .collect();
            let rows: Vec<serde_json::Value> = all
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "name": a.name(),
                        "version": a.version(),
                        "abi_version": if a.source() == "built-in" { None } else { Some(callscope_plugin_sdk::ABI_VERSION) },
                        "columns": a.columns(),
                        "needs": a.needs().names(),
                        "source": a.source(),
                    })
                })
                .collect();
            let text = if args.json {
                let mut s =
                    serde_json::to_string_pretty(&rows).map_err(|e| Error::Usage(e.to_string()))?;
                s.push('\n');
                s
            } else {
                let mut s = String::new();
                for r in &rows {
                    s.push_str(&format!(
                        "{} {} (abi {}, {})\n  needs: {}\n  columns: {}\n",
                        r["name"].as_str().unwrap_or(""),
                        r["version"].as_str().unwrap_or(""),
                        r["abi_version"]
                            .as_u64()
                            .map_or("-".to_string(), |v| v.to_string()),
                        r["source"].as_str().unwrap_or(""),
                        r["needs"]
                            .as_array()
                            .map(|v| v
                                .iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", "))
                            .unwrap_or_default(),
                        r["columns"]
                            .as_array()
                            .map(|v| v
                                .iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", "))
                            .unwrap_or_default(),
                    ));
                }
                s
            };
            write_stdout(&text)?;
            Ok(exit::OK)
        }
        Command::Browse(args) => {
            let found = discover(&args.root)?;
            let model = args.model.options();
            let rows = list::rows(&found.recordings, &model);
            browse::browse(found.recordings, rows, model)?;
            Ok(exit::OK)
        }
        Command::Play(args) => {
            let model = args.model.options();
            let rec = show::resolve(&args.root, Some(&args.recording), false, &model)?;
            let file = play::track_path(&rec, &args.track)?;
            let code = play::play(&file, args.player.as_deref())?;
            Ok(if code == 0 { exit::OK } else { exit::DATA })
        }
        Command::Prune(args) => {
            let policy = retention::policy::load(&args.policy).map_err(Error::Usage)?;
            run_retention(&args.root, Some(&policy), None, &args.common)
        }
        Command::Erase(args) => {
            let policy = match &args.policy {
                Some(p) => Some(retention::policy::load(p).map_err(Error::Usage)?),
                None if args.no_hold_list => None,
                None => {
                    return Err(Error::Usage(
                        "erase: no hold list is consulted without --policy; give the retention policy (its hold_list protects recordings under legal hold), or --no-hold-list to erase with LEGAL_HOLD files as the only protection".into(),
                    ))
                }
            };
            run_retention(
                &args.root,
                policy.as_ref(),
                Some(&args.session),
                &args.common,
            )
        }
    }
}

fn warn_skipped(found: &recording::Discovery) {
    for s in &found.skipped {
        eprintln!("callscope: warning: {}: {}", s.path.display(), s.reason);
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(&PathBuf::from("<stdout>"), e))
        }
        _ => Ok(()),
    }
}

fn run_list(args: &ListArgs) -> Result<i32> {
    let found = discover(&args.root)?;
    warn_skipped(&found);
    let model = args.model.options();
    let window = Filter {
        since: args.since,
        until: args.until,
        sessions: Vec::new(),
    };
    let recordings: Vec<_> = found
        .recordings
        .into_iter()
        .filter(|r| window.matches(r, model.name_tz))
        .collect();
    let mut rows = list::rows(&recordings, &model);
    if let Some(key) = &args.sort {
        list::sort(&mut rows, key);
    }
    for problem in rows.iter().flat_map(|r| &r.problems) {
        eprintln!("callscope: warning: {problem}");
    }
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&rows).map_err(|e| Error::Usage(e.to_string()))?;
        s.push('\n');
        s
    } else {
        list::render_table(&rows)
    };
    write_stdout(&text)?;
    Ok(exit::OK)
}

fn run_run(args: &RunArgs) -> Result<i32> {
    let mut available = analyze::builtins();
    if let Some(p) = &args.policy {
        available.push(Box::new(analyze::retention::Retention {
            policy: retention::policy::load(p).map_err(Error::Usage)?,
            model: args.model.options(),
            now: Utc::now(),
        }));
    }
    let plugins = args.plugins.load(&available)?;
    let mut names = args.analyzers.clone();
    if !names.is_empty() {
        // Loaded plugins and the policy's analyzer run whatever --analyzers names.
        for p in &plugins {
            if !names.contains(&p.name) {
                names.push(p.name.clone());
            }
        }
        if args.policy.is_some() && !names.iter().any(|n| n == "retention") {
            names.push("retention".into());
        }
    }
    available.extend(
        plugins
            .into_iter()
            .map(|p| Box::new(p) as Box<dyn analyze::Analyzer>),
    );
    let analyzers = analyze::select(available, &names).map_err(Error::Usage)?;
    let sessions = args
        .sessions
        .iter()
        .map(|g| glob::Pattern::new(g).map_err(|e| Error::Usage(format!("--session {g}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    if args.jobs == Some(0) {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    let opts = RunOptions {
        root: args.root.clone(),
        out: args.out.clone(),
        analyzers,
        jobs: args.jobs,
        filter: Filter {
            since: args.since,
            until: args.until,
            sessions,
        },
        formats: args.format,
        vad: args.vad,
        model: args.model.options(),
        args: std::env::args().skip(1).collect(),
    };
    let bar = crate::progress::bar(0, "calls", args.quiet);
    let outcome = run::run(&opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    for s in &outcome.skipped {
        eprintln!("callscope: warning: {}: {}", s.path.display(), s.reason);
    }
    if outcome.calls == 0 {
        // Not an error (a quiet day, a filter that matched nothing), but a
        // nightly job pointed at the wrong mount should not pass unnoticed.
        eprintln!(
            "callscope: warning: no recordings under {}{}; the reports are empty",
            args.root.display(),
            if args.since.is_some() || args.until.is_some() || !args.sessions.is_empty() {
                " match the filters"
            } else {
                ""
            }
        );
    }
    if !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "callscope: {} call(s), {} with errors; reports in {}",
            outcome.calls,
            outcome.errors,
            args.out.display()
        );
    }
    Ok(if outcome.errors > 0 {
        exit::DATA
    } else {
        exit::OK
    })
}

fn run_check(args: &CheckArgs) -> Result<i32> {
    let found = discover(&args.root)?;
    warn_skipped(&found);
    let opts = args.model.options();
    let bar = crate::progress::bar(found.recordings.len() as u64, "recordings", args.quiet);
    // Each recording is dropped, with whatever it loaded, once checked:
    // memory does not grow with the number of recordings.
    let checks: Vec<RecordingCheck> = found
        .recordings
        .into_par_iter()
        .map(|r| {
            let c = check::check_recording(&r, &opts);
            bar.inc(1);
            c
        })
        .collect();
    bar.finish_and_clear();
    interrupt::check()?;
    let text = if args.json {
        check::render::render_json(&checks)
    } else {
        check::render::render_text(&checks)
    };
    write_stdout(&text)?;
    let failed = checks
        .iter()
        .any(|c| c.worst().is_some_and(|w| w >= args.fail_on));
    Ok(if failed { exit::DATA } else { exit::OK })
}

fn run_repair(args: &RepairArgs) -> Result<i32> {
    // One command changes a root at a time (a dry run changes nothing).
    let _lock = if args.dry_run {
        None
    } else {
        Some(crate::lock::acquire(&args.root, "repair", args.wait)?)
    };
    let found = discover(&args.root)?;
    warn_skipped(&found);
    let model = args.model.options();
    let apply_opts = ApplyOptions {
        log: args.root.join(".callscope").join("repair.jsonl"),
        backup_dir: args.backup_dir.clone(),
        now: Utc::now(),
        name_tz: args.model.name_tz,
    };
    let bar = crate::progress::bar(found.recordings.len() as u64, "recordings", args.quiet);
    let results = repair::repair_all(
        found.recordings,
        &model,
        args.aligned,
        (!args.dry_run).then_some(&apply_opts),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    for w in results.iter().flat_map(|r| &r.warnings) {
        eprintln!("callscope: warning: {w}");
    }
    let text = if args.json {
        let mut s =
            serde_json::to_string_pretty(&results).map_err(|e| Error::Usage(e.to_string()))?;
        s.push('\n');
        s
    } else {
        repair::render_text(&results, args.dry_run)
    };
    write_stdout(&text)?;
    interrupt::check()?;
    Ok(if results.iter().any(|r| r.failed()) {
        exit::DATA
    } else {
        exit::OK
    })
}

fn run_retention(
    root: &std::path::Path,
    policy: Option<&retention::Policy>,
    erase: Option<&str>,
    args: &RetentionArgs,
) -> Result<i32> {
    if let Some(archive_root) = policy.and_then(|p| p.archive_root.as_deref()) {
        let at = policy
            .map(|p| p.path.display().to_string())
            .unwrap_or_default();
        retention::apply::validate_archive_root(root, archive_root)
            .map_err(|e| Error::Usage(format!("{at}: {e}")))?;
    }
    let _lock = if args.apply {
        let command = if erase.is_some() { "erase" } else { "prune" };
        Some(crate::lock::acquire(root, command, args.wait)?)
    } else {
        None
    };
    let found = discover(root)?;
    warn_skipped(&found);
    let model = args.model.options();
    let now = args.now.unwrap_or_else(Utc::now);
    let recordings: Vec<_> = match erase {
        Some(id) => found
            .recordings
            .into_iter()
            .filter(|r| r.session_id() == id)
            .collect(),
        None => found.recordings,
    };
    let forced = erase.map(|_| ("erase", retention::Action::Delete));
    let decisions = retention::plan(&recordings, policy, forced, &model, now);
    let audit = args
        .audit
        .clone()
        .unwrap_or_else(|| root.join(".callscope").join("audit.jsonl"));
    // An erasure done before, or killed after its recordings went to the
    // trash (this run finishes it): matching nothing now is no surprise.
    let erased_before = erase.is_some_and(|id| {
        retention::apply::trash_holds(root, id) || retention::apply::audit_erased(&audit, id)
    });
    let mut errors = Vec::new();
    if args.apply {
        let opts = retention::apply::ApplyOptions {
            root: root.to_path_buf(),
            audit: audit.clone(),
            archive_root: policy.and_then(|p| p.archive_root.clone()),
            archive_format: policy.map(|p| p.archive_format).unwrap_or_default(),
            policy: policy.map(|p| p.path.clone()),
            run: retention::apply::RunInfo::new(now, policy.map(|p| p.path.as_path())),
        };
        errors = retention::apply::apply(&decisions, &opts);
    }
    let text = if args.json {
        let v = serde_json::json!({
            "applied": args.apply,
            "now": crate::recording::format_utc(&now),
            "recordings": decisions,
            "summary": retention::summary(&decisions),
            "errors": errors,
        });
        let mut s = serde_json::to_string_pretty(&v).map_err(|e| Error::Usage(e.to_string()))?;
        s.push('\n');
        s
    } else if args.csv {
        retention::plan_csv(&decisions).map_err(Error::Usage)?
    } else {
        let mut s = retention::render_plan(&decisions, args.apply, args.show_kept);
        if let Some(id) = erase {
            if decisions.is_empty() {
                s.push_str(&format!("no recording of session {id}\n"));
            }
        }
        s
    };
    write_stdout(&text)?;
    for e in &errors {
        eprintln!("callscope: error: {e}");
    }
    interrupt::check()?;
    // An erasure request that matches nothing is worth a look (a mistyped
    // id is not an erased person).
    let nothing_erased = erase.is_some() && decisions.is_empty() && !erased_before;
    if nothing_erased {
        eprintln!(
            "callscope: error: no recording of session {} under {}",
            erase.unwrap_or_default(),
            root.display()
        );
    } else if erase.is_some() && decisions.is_empty() {
        eprintln!(
            "callscope: no recording of session {} is left; {} records its erasure",
            erase.unwrap_or_default(),
            audit.display()
        );
    }
    Ok(if errors.is_empty() && !nothing_erased {
        exit::OK
    } else {
        exit::DATA
    })
}

fn run_simulate(args: &SimulateArgs) -> Result<i32> {
    let opts = SimulateOptions {
        out: args.out.clone(),
        calls: args.calls,
        seconds: args.seconds,
        seed: args.seed,
        rate: args.rate,
        faults: args.faults.0.clone(),
        truth: args.truth.clone(),
        start: args.start,
    };
    let bar = crate::progress::bar(args.calls as u64, "calls", args.quiet);
    let summary = simulate::simulate(&opts, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "callscope: wrote {} recording(s), {:.1} MB, to {}",
            summary.recordings,
            summary.bytes as f64 / 1e6,
            args.out.display()
        );
    }
    Ok(exit::OK)
}
