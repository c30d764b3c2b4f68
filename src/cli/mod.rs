//! The command line: the clap definitions of the shared options here and in
//! `args`, one file per command (its flags, turned into a checked options
//! struct before any work, then the work and its output). Output is written
//! by this module and nowhere else.

mod alert;
mod args;
mod check;
mod docs;
mod merge;
mod output;
mod plan;
mod plugins;
mod retention;
mod run;
mod simulate;
mod view;

use clap::{Parser, Subcommand};

use crate::error::Result;

pub use output::ColorWhen;

const EXIT_CODES: &str = "\
Exit codes:
  0    the command did what it was asked
  1    it ran, and found failures or findings in the data
  2    usage or configuration error; nothing was done
  74   an I/O failure while working (a report or a repaired file could not be written)
  75   another callscope holds the root's or the report directory's lock; try later, or give --wait
  130  interrupted (Ctrl-C, SIGINT)
  143  terminated (SIGTERM, SIGHUP)";

#[derive(Debug, Parser)]
#[command(
    name = "callscope",
    version,
    about = "Post-call analytics for voice-AI call recordings",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "CALLSCOPE_COLOR",
        value_name = "WHEN"
    )]
    pub color: ColorWhen,
    /// The mode of every file callscope writes (reports, pages, exports,
    /// plans, metrics, archives, logs); directories get it plus search
    /// where readable. Owner-only by default: they hold people's voices
    /// and words. 0640 lets a group read them (directories 0750).
    #[arg(
        long,
        global = true,
        default_value = "0600",
        env = "CALLSCOPE_MODE",
        value_name = "MODE"
    )]
    pub mode: crate::safe_fs::OutputMode,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The analytics job: analyze every call, write CSV and JSON reports.
    Run(Box<run::RunArgs>),
    /// Combine report directories (nightly runs, shards) into one, as one run would have written it.
    Merge(merge::MergeArgs),
    /// Freeze the selection of a sharded run: every recording, its fingerprint and audio bytes.
    Plan(plan::PlanArgs),
    /// List recordings: one row each, with start time, duration, rate, turns and state.
    List(view::ListArgs),
    /// Validate every file of every recording; compare the stereo files with the mono tracks.
    Check(check::CheckArgs),
    /// Repair what check finds: headers, the final stereo, missing monos, a crashed call's metadata.
    Repair(check::RepairArgs),
    /// Enforce a retention policy: dry run by default, --apply to carry it out.
    Prune(retention::PruneArgs),
    /// Erase one person's recordings on request (right to erasure): dry run by default.
    Erase(retention::EraseArgs),
    /// Show one call: summary, check status, transcript, function calls.
    Show(view::ShowArgs),
    /// Export a transcript as text, JSON or WebVTT captions, optionally redacted.
    Export(view::ExportArgs),
    /// Play a track with the system's audio player.
    Play(view::PlayArgs),
    /// Browse recordings interactively: filter, open, read, play, export.
    Browse(view::BrowseArgs),
    /// List the analyzers: built in and loaded from plugins.
    Plugins(plugins::PluginsArgs),
    /// Write simulated recordings exactly as the real recorder does, optionally damaged.
    Simulate(simulate::SimulateArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(docs::CompletionsArgs),
    /// Print the manual page (roff), or write one per command into a directory.
    Man(docs::ManArgs),
    /// Serve one plugin over stdin and stdout (what --plugin-isolation process starts).
    #[command(hide = true)]
    PluginHost(plugins::PluginHostArgs),
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    cli.color.apply();
    cli.mode.apply();
    match cli.command {
        Command::Run(a) => run::execute(&a),
        Command::Merge(a) => merge::execute(&a),
        Command::Plan(a) => plan::execute(&a),
        Command::List(a) => view::list(&a),
        Command::Check(a) => check::check(&a),
        Command::Repair(a) => check::repair(&a),
        Command::Prune(a) => retention::prune(&a),
        Command::Erase(a) => retention::erase(&a),
        Command::Show(a) => view::show(&a),
        Command::Export(a) => view::export(&a),
        Command::Play(a) => view::play(&a),
        Command::Browse(a) => view::browse(&a),
        Command::Plugins(a) => plugins::list(&a),
        Command::Simulate(a) => simulate::execute(&a),
        Command::Completions(a) => docs::completions(&a),
        Command::Man(a) => docs::man(&a),
        Command::PluginHost(a) => plugins::host(&a),
    }
}

/// The whole command-line definition, for completions and the man page.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
