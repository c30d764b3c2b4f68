//! `callscope simulate`: recordings written as the real recorder writes
//! them, for tests, benchmarks and trying callscope out.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;

use super::args::parse_utc;
use super::output;
use crate::error::Result;
use crate::exit;
use crate::simulate::{self, Fault, LineMix, SimulateOptions};

const EXAMPLES: &str = "\
Examples:
  callscope simulate -o /tmp/calls --calls 100
  callscope simulate -o /tmp/damaged --calls 40 --faults all --truth /tmp/truth
  callscope simulate -o /tmp/calls24k --rate 24000 --seconds 300 --seed 7
  callscope simulate -o /tmp/hard --calls 80 --seconds 35 --line all --truth /tmp/truth";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct SimulateArgs {
    /// Where to write the recordings (must be empty or absent).
    #[arg(short, long, value_name = "DIR")]
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
    /// Line conditions, comma-separated; recording i gets the (i mod n)-th.
    /// Each is `clean` or conditions joined by `+`: babble, music, bursts,
    /// noise, agc, narrowband, noisy-bot, echo, talkers; the conversation's
    /// pauses, interruptions, talk-overs (`narrowband+noise`). `all` cycles
    /// through a clean line and each condition alone. The truth of who
    /// spoke when is the clean call's, but for the conversation's own.
    #[arg(long, value_parser = parse_lines, default_value = "", value_name = "LIST")]
    pub line: LineList,
    /// Also write the ground truth of every recording here (one JSON each).
    #[arg(long, value_name = "DIR")]
    pub truth: Option<PathBuf>,
    /// Start time of the first call (UTC, RFC 3339).
    #[arg(long, default_value = "2024-12-01T08:00:00Z", value_parser = parse_utc)]
    pub start: DateTime<Utc>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A parsed `--faults` list (one clap value that expands to many faults).
#[derive(Debug, Clone)]
pub struct FaultList(pub Vec<Fault>);

fn parse_faults(s: &str) -> std::result::Result<FaultList, String> {
    Fault::parse_list(s).map(FaultList)
}

/// A parsed `--line` list.
#[derive(Debug, Clone)]
pub struct LineList(pub Vec<LineMix>);

fn parse_lines(s: &str) -> std::result::Result<LineList, String> {
    LineMix::parse_list(s).map(LineList)
}

pub fn execute(args: &SimulateArgs) -> Result<i32> {
    let opts = SimulateOptions {
        out: args.out.clone(),
        calls: args.calls,
        seconds: args.seconds,
        seed: args.seed,
        rate: args.rate,
        faults: args.faults.0.clone(),
        lines: args.line.0.clone(),
        truth: args.truth.clone(),
        start: args.start,
    };
    let bar = crate::progress::bar(args.calls as u64, "calls", args.quiet);
    let summary = simulate::simulate(&opts, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if !args.quiet {
        output::note(format_args!(
            "wrote {} recording(s), {:.1} MB, to {}",
            summary.recordings,
            summary.bytes as f64 / 1e6,
            args.out.display()
        ));
    }
    Ok(exit::OK)
}
