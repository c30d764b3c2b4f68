//! `callscope merge`: report directories into one.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::alert::{AlertArgs, Tally};
use super::args::{ModelArgs, PluginArgs};
use super::output;
use crate::error::{Error, Result};
use crate::exit;
use crate::report::merge::{self, MergeOptions};

const EXAMPLES: &str = "\\
Examples:
  callscope merge /srv/reports/2025-03-* -o /srv/reports/march
  callscope merge night1 night2 night3 -o all --replace
  callscope merge parts/$PLAN_ID/* -o /srv/reports/2025-03-12 --max-error-ratio 0.05 --metrics /var/lib/node_exporter/textfile/callscope.prom
  callscope merge shard-0 shard-1 -o whole --plugin ./libkeyword_categories.so --plugin-config kwcat=kwcat.toml";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct MergeArgs {
    /// Report directories written by `run` (or `merge`) with the same
    /// analyzers and options.
    #[arg(required = true, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// The merged report directory (as `run --out`).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the earlier report at --out (in one step).
    #[arg(long)]
    pub replace: bool,
    /// When another callscope writes --out, wait this long instead of
    /// exiting 75 at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub wait: Option<Duration>,
    /// The policy the inputs' retention analyzer used, when they have one.
    #[arg(long, env = "CALLSCOPE_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The plugins the inputs were made with (their summaries are made by
    /// the plugins themselves).
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// The --silence-min the runs had.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub silence_min: f64,
    /// Print one summary line to stderr at the end.
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub alert: AlertArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn execute(args: &MergeArgs) -> Result<i32> {
    // Not into the store any input was made of.
    let roots: Vec<PathBuf> = args
        .inputs
        .iter()
        .filter_map(|i| crate::report::Manifest::read(i).ok().flatten())
        .map(|m| PathBuf::from(m.root))
        .collect();
    args.alert
        .check(&roots.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    args.alert.night(|| night(args))
}

/// The merge, and the exit code its calls earn (as one run's would).
fn night(args: &MergeArgs) -> Result<(i32, crate::report::Summary)> {
    let manifests = merge::manifests(&args.inputs)?;
    let first = &manifests[0];
    let names: Vec<String> = first.analyzers.iter().map(|a| a.name.clone()).collect();
    let analyzers = super::run::analyzers(
        args.policy.as_deref(),
        &args.plugins,
        &names,
        &args.model,
        &super::run::silence_min(args.silence_min)?,
    )
    .map_err(|e| {
        Error::Usage(format!(
            "{}: its analyzers cannot all be loaded here ({e}); give the --plugin and --policy its run had",
            args.inputs[0].display()
        ))
    })?;
    let (here, _) = crate::run::report_identity(
        &analyzers,
        crate::analyze::VadKind::Neural,
        &args.model.options(),
        crate::report::Formats {
            csv: true,
            csv_raw: false,
            json: true,
            html: true,
            parquet: false,
            row_identity: false,
        },
    );
    if here != first.analyzers {
        return Err(Error::Usage(format!(
            "{} was made with other analyzers or options than the ones given here: {}",
            args.inputs[0].display(),
            merge::analyzers_differ(&first.analyzers, &here)
        )));
    }
    let opts = MergeOptions {
        inputs: args.inputs.clone(),
        out: args.out.clone(),
        replace: args.replace,
        wait: args.wait,
        analyzers,
        args: std::env::args().skip(1).collect(),
    };
    let outcome = merge::merge(&opts, &manifests)?;
    if args.verbose {
        output::note(format_args!(
            "{} call(s) from {} report(s) ({} earlier analyses superseded); {} with errors; reports in {}",
            outcome.calls,
            args.inputs.len(),
            outcome.superseded,
            outcome.summary.calls.error,
            outcome.out.display()
        ));
    }
    let c = &outcome.summary.calls;
    let tally = Tally {
        calls: c.total,
        errors: c.error,
        warnings: c.warning,
    };
    let code = args
        .alert
        .verdict(&tally)
        .map_or(exit::OK, output::exit_data);
    Ok((code, outcome.summary))
}
