//! `callscope plan`: the selection of a sharded run, frozen.

use std::path::PathBuf;

use clap::Args;

use super::args::{ModelArgs, WindowArgs};
use super::output;
use crate::error::{Error, Result};
use crate::exit;
use crate::recording::{discover, State};
use crate::run::plan::{Plan, Planned};

const EXAMPLES: &str = "\\
Examples:
  ID=$(callscope plan /srv/call_recordings --since yesterday --until yesterday --shards 16 -o /shared/nights/{plan}.json)
  callscope run --plan /shared/nights/$ID.json --shard auto -o /shared/parts/{plan}/{shard}
  callscope merge /shared/parts/$ID/* -o /shared/reports/%F --replace";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PlanArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// The plan file (JSON), written atomically. {plan} in it is replaced
    /// by the plan's id (nights/{plan}.json), so a plan never overwrites
    /// another that shards may still be reading.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    /// The shards the plan is meant for: `run --shard auto` then needs only
    /// the task's index, and one failed index can be submitted again alone.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=crate::run::plan::MAX_SHARDS as i64))]
    pub shards: Option<u32>,
    /// Only sessions whose id matches this glob (repeatable).
    #[arg(long = "session", value_name = "GLOB")]
    pub sessions: Vec<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn execute(args: &PlanArgs) -> Result<i32> {
    let sessions = args
        .sessions
        .iter()
        .map(|g| glob::Pattern::new(g).map_err(|e| Error::Usage(format!("--session {g}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let filter = args.window.filter(sessions)?;
    let model = args.model.options();
    crate::recording::check_output_path(&args.out, "-o", &[&args.root])?;
    let found = discover(&args.root)?;
    output::warn_skipped(&found);
    let mut live = 0;
    let planned: Vec<Planned> = found
        .recordings
        .iter()
        .filter(|r| filter.matches(r, model.name_tz))
        .filter(|r| {
            // A call still being recorded changes under the shards: it
            // waits for a later plan.
            let in_progress = r.state(&model) == State::InProgress;
            live += usize::from(in_progress);
            !in_progress
        })
        .map(Planned::of)
        .collect();
    let mut filters = Vec::new();
    for (flag, v) in [("--since", filter.since), ("--until", filter.until)] {
        if let Some(t) = v {
            filters.push(format!("{flag} {}", crate::recording::format_utc(&t)));
        }
    }
    filters.extend(args.sessions.iter().map(|g| format!("--session {g}")));
    let mut plan = Plan::new(&args.root, filters, planned);
    plan.shards = args.shards.map(|n| n as usize);
    let out = PathBuf::from(args.out.to_string_lossy().replace("{plan}", &plan.id));
    if out != args.out {
        crate::recording::check_output_path(&out, "-o", &[&args.root])?;
    }
    plan.write(&out)?;
    // For a script to name the night's parts by: one line, the id.
    println!("{}", plan.id);
    let bytes: u64 = plan.recordings.iter().map(|r| r.bytes).sum();
    output::note(format_args!(
        "plan {}: {} recording(s), {} of audio{}; in {}",
        plan.id,
        plan.recordings.len(),
        crate::retention::human_bytes(bytes),
        if live > 0 {
            format!(", {live} in progress left out")
        } else {
            String::new()
        },
        out.display()
    ));
    Ok(if plan.recordings.is_empty() {
        output::exit_data("the plan selects no recording")
    } else {
        exit::OK
    })
}
