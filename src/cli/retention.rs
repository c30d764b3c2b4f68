//! `callscope prune` and `callscope erase`: the retention policy and the
//! right to erasure, dry runs unless `--apply`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use serde::Serialize;

use super::args::{DayTzArg, ModelArgs};
use super::output;
use crate::error::{Error, Result};
use crate::recording::{discover, TimeSpec};
use crate::retention::{self, apply, Decision, Policy};
use crate::{exit, interrupt, safe_fs};

/// What prune and erase share.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Carry the plan out (without it, nothing is changed).
    #[arg(long)]
    pub apply: bool,
    /// The time ages are measured from (default: now): a time, a date,
    /// today, yesterday, 7d.
    #[arg(long, value_name = "WHEN")]
    pub now: Option<TimeSpec>,
    #[command(flatten)]
    pub day: DayTzArg,
    /// The audit log (default ROOT/.callscope/audit.jsonl).
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the plan as CSV, one row per recording (kept ones too).
    #[arg(long)]
    pub csv: bool,
    /// With --csv: text cells as they are, not made safe for spreadsheets
    /// (see `run --csv-raw`).
    #[arg(long, requires = "csv")]
    pub csv_raw: bool,
    /// Also list the recordings that are kept.
    #[arg(long)]
    pub show_kept: bool,
    /// With --apply: when another callscope holds the root, wait this long
    /// for it (30s, 5m, 2h, PT10M; at most a week) instead of exiting 75
    /// at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub wait: Option<Duration>,
    #[command(flatten)]
    pub model: ModelArgs,
}

const PRUNE_EXAMPLES: &str = "\
Examples:
  callscope prune /srv/recordings --policy retention.toml
  callscope prune /srv/recordings --policy retention.toml --csv > plan.csv
  callscope prune /srv/recordings --policy retention.toml --apply --wait 30m";

#[derive(Debug, Args)]
#[command(after_help = PRUNE_EXAMPLES)]
pub struct PruneArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// The retention policy (TOML).
    #[arg(long, env = "CALLSCOPE_POLICY", value_name = "FILE")]
    pub policy: PathBuf,
    #[command(flatten)]
    pub common: RetentionArgs,
}

const ERASE_EXAMPLES: &str = "\
Examples:
  callscope erase /srv/recordings --session 4f2a9c --policy retention.toml
  callscope erase /srv/recordings --session 4f2a9c --policy retention.toml --apply
  callscope erase /srv/recordings --session 4f2a9c --no-hold-list --apply";

#[derive(Debug, Args)]
#[command(after_help = ERASE_EXAMPLES)]
pub struct EraseArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// The session id whose recordings are erased.
    #[arg(long)]
    pub session: String,
    /// A policy whose hold list applies too (LEGAL_HOLD files always do).
    #[arg(long, env = "CALLSCOPE_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Erase without consulting a policy's hold list (LEGAL_HOLD files
    /// still protect): without --policy, erase refuses unless this is given.
    #[arg(long, conflicts_with = "policy")]
    pub no_hold_list: bool,
    #[command(flatten)]
    pub common: RetentionArgs,
}

pub fn prune(args: &PruneArgs) -> Result<i32> {
    let policy = retention::policy::load(&args.policy).map_err(Error::Usage)?;
    execute(&args.root, Some(&policy), None, &args.common)
}

pub fn erase(args: &EraseArgs) -> Result<i32> {
    let policy = match &args.policy {
        Some(p) => Some(retention::policy::load(p).map_err(Error::Usage)?),
        None if args.no_hold_list => None,
        None => {
            return Err(Error::Usage(
                "erase: no hold list is consulted without --policy; give the retention policy (its hold_list protects recordings under legal hold), or --no-hold-list to erase with LEGAL_HOLD files as the only protection".into(),
            ))
        }
    };
    execute(
        &args.root,
        policy.as_ref(),
        Some(&args.session),
        &args.common,
    )
}

/// `--json`'s document.
#[derive(Serialize)]
struct PlanJson<'a> {
    applied: bool,
    now: String,
    recordings: &'a [Decision],
    summary: retention::Summary,
    errors: &'a [String],
}

fn execute(
    root: &Path,
    policy: Option<&Policy>,
    erase: Option<&str>,
    args: &RetentionArgs,
) -> Result<i32> {
    if let Some(policy) = policy {
        if let Some(archive_root) = policy.archive_root.as_deref() {
            retention::validate_archive_root(root, archive_root)
                .map_err(|e| Error::Usage(format!("{}: {e}", policy.path.display())))?;
        }
    }
    let _lock = if args.apply {
        let command = if erase.is_some() { "erase" } else { "prune" };
        Some(crate::lock::acquire(root, command, args.wait)?)
    } else {
        None
    };
    let found = discover(root)?;
    output::warn_skipped(&found);
    let model = args.model.options();
    let now = match args.now {
        Some(spec) => args.day.resolve(spec, "--now", false)?,
        None => Utc::now(),
    };
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
    let audit = match &args.audit {
        Some(a) => {
            crate::recording::check_output_path(a, "--audit", &[root])?;
            safe_fs::OwnPath::user(a)
        }
        // A dry run creates nothing: the log is only read, if it is there.
        None => safe_fs::OwnPath::state(root, ".callscope", "audit.jsonl", args.apply)
            .map_err(|e| Error::Usage(e.to_string()))?,
    };
    // An erasure done before, or killed after its recordings went to the
    // trash (this run finishes it): matching nothing now is no surprise.
    let erased_before =
        erase.is_some_and(|id| apply::trash_holds(root, id) || apply::audit_erased(&audit, id));
    let errors = if args.apply {
        let opts = apply::ApplyOptions {
            root: root.to_path_buf(),
            audit: audit.clone(),
            archive_root: policy.and_then(|p| p.archive_root.clone()),
            policy: policy.map(|p| p.path.clone()),
            run: apply::RunInfo::new(now, policy.map(|p| p.path.as_path())),
        };
        apply::apply(&decisions, &opts)
    } else {
        Vec::new()
    };
    let text = if args.json {
        output::json(&PlanJson {
            applied: args.apply,
            now: crate::recording::format_utc(&now),
            recordings: &decisions,
            summary: retention::summary(&decisions),
            errors: &errors,
        })?
    } else if args.csv {
        retention::plan_csv(&decisions, args.csv_raw).map_err(Error::Usage)?
    } else {
        let mut s = retention::render_plan(&decisions, args.apply, args.show_kept);
        if let (Some(id), true) = (erase, decisions.is_empty()) {
            s.push_str(&format!("no recording of session {id}\n"));
        }
        s
    };
    output::stdout(&text)?;
    for e in &errors {
        output::error(e);
    }
    interrupt::check()?;
    // An erasure request that matches nothing is worth a look (a mistyped
    // id is not an erased person).
    let nothing_erased = match erase {
        Some(id) if decisions.is_empty() && !erased_before => {
            output::error(format_args!(
                "no recording of session {id} under {}",
                root.display()
            ));
            true
        }
        Some(id) if decisions.is_empty() => {
            output::note(format_args!(
                "no recording of session {id} is left; {} records its erasure",
                audit.shown().display()
            ));
            false
        }
        _ => false,
    };
    Ok(if !errors.is_empty() {
        output::exit_data(format_args!(
            "{} recording(s) could not be acted on (see above and the audit log)",
            errors.len()
        ))
    } else if nothing_erased {
        output::exit_data("no recording matched the session to erase")
    } else {
        exit::OK
    })
}
