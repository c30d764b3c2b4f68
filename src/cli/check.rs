//! `callscope check` and `callscope repair`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use rayon::prelude::*;

use super::args::WorkArgs;
use super::output;
use crate::check::{self, RecordingCheck, Severity};
use crate::error::Result;
use crate::recording::discover;
use crate::repair::{self, ApplyOptions};
use crate::{exit, interrupt};

const CHECK_EXAMPLES: &str = "\
Examples:
  callscope check sample_recordings
  callscope check /srv/recordings --fail-on warning -q
  callscope check /srv/recordings --json | jq '.recordings[] | select(.status == \"error\")'";

#[derive(Debug, Args)]
#[command(after_help = CHECK_EXAMPLES)]
pub struct CheckArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Print machine-readable findings (JSON) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Exit with code 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: Severity,
    #[command(flatten)]
    pub work: WorkArgs,
}

pub fn check(args: &CheckArgs) -> Result<i32> {
    let pool = args.work.jobs.pool()?;
    let found = discover(&args.root)?;
    output::warn_skipped(&found);
    let opts = args.work.model.options();
    let owner = check::perm::store_owner(&args.root);
    let bar = crate::progress::bar(found.recordings.len() as u64, "recordings", args.work.quiet);
    // Each recording is dropped, with whatever it loaded, once checked:
    // memory does not grow with the number of recordings.
    let checks: Vec<RecordingCheck> = pool.install(|| {
        found
            .recordings
            .into_par_iter()
            .map(|r| {
                let mut c = check::check_recording(&r, &opts);
                if let Some(owner) = owner {
                    c.findings.extend(check::perm::audit(&r.dir, owner));
                    c.status = check::status_of(&c.findings);
                }
                bar.inc(1);
                c
            })
            .collect()
    });
    bar.finish_and_clear();
    interrupt::check()?;
    let findings: Vec<&[check::Finding]> = checks.iter().map(|c| c.findings.as_slice()).collect();
    let store = check::perm::StoreSummary::new(&args.root, &findings);
    let text = if args.json {
        check::render::render_json(&checks, store.as_ref())
    } else {
        check::render::render_text(&checks, store.as_ref())
    };
    output::stdout(&text)?;
    let failed = checks
        .iter()
        .filter(|c| c.worst().is_some_and(|w| w >= args.fail_on))
        .count();
    Ok(match failed {
        0 => exit::OK,
        n => output::exit_data(format_args!(
            "{n} of {} recording(s) have a finding at or above {} (--fail-on)",
            checks.len(),
            args.fail_on.as_str()
        )),
    })
}

const REPAIR_EXAMPLES: &str = "\
Examples:
  callscope repair /srv/recordings --dry-run
  callscope repair /srv/recordings --wait 10m
  callscope repair /srv/recordings --backup-dir /srv/repair-backups --aligned";

#[derive(Debug, Args)]
#[command(after_help = REPAIR_EXAMPLES)]
pub struct RepairArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Print the plan and change nothing.
    #[arg(short = 'n', long)]
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
    /// Also take away what `check` flags as perm.*: others' access and
    /// group or world write, from every file and directory of each
    /// recording (files 0644 → 0640, directories 0755 → 0750). Owners are
    /// not changed. Each change is logged to the repair log.
    #[arg(long)]
    pub fix_permissions: bool,
    /// When another callscope holds the root, wait this long for it (30s,
    /// 5m, 2h) instead of exiting 75 at once.
    #[arg(long, value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub wait: Option<Duration>,
    #[command(flatten)]
    pub work: WorkArgs,
}

pub fn repair(args: &RepairArgs) -> Result<i32> {
    let pool = args.work.jobs.pool()?;
    // One command changes a root at a time (a dry run changes nothing).
    let lock = if args.dry_run {
        None
    } else {
        Some(crate::lock::acquire(&args.root, "repair", args.wait)?)
    };
    // The log is reached as the lock was, never through a link.
    let log =
        crate::safe_fs::OwnPath::state(&args.root, ".callscope", "repair.jsonl", !args.dry_run)
            .map_err(|e| crate::Error::Usage(e.to_string()))?;
    let apply_opts = ApplyOptions {
        log,
        backup_dir: args.backup_dir.clone(),
        now: Utc::now(),
        name_tz: args.work.model.name_tz,
    };
    let _lock = lock;
    let found = discover(&args.root)?;
    output::warn_skipped(&found);
    let model = args.work.model.options();
    let dirs: Vec<(String, PathBuf)> = if args.fix_permissions {
        found
            .recordings
            .iter()
            .map(|r| (r.rel.clone(), r.dir.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let bar = crate::progress::bar(found.recordings.len() as u64, "recordings", args.work.quiet);
    let results = pool.install(|| {
        repair::repair_all(
            found.recordings,
            &model,
            args.aligned,
            (!args.dry_run).then_some(&apply_opts),
            &|| bar.inc(1),
        )
    });
    bar.finish_and_clear();
    for w in results.iter().flat_map(|r| &r.warnings) {
        output::warn(w);
    }
    interrupt::check()?;
    // A log that cannot be written stops the changes: an I/O failure (74).
    let modes = repair::fix_permissions(&dirs, &apply_opts, args.dry_run)
        .map_err(|e| crate::Error::write(apply_opts.log.shown(), e))?;
    let text = if args.json && args.fix_permissions {
        output::json(&serde_json::json!({ "recordings": results, "permissions": modes }))?
    } else if args.json {
        output::json(&results)?
    } else {
        let mut t = repair::render_text(&results, args.dry_run);
        t.push_str(&repair::render_modes(&modes, args.dry_run));
        t
    };
    output::stdout(&text)?;
    interrupt::check()?;
    let modes_failed = modes.iter().filter(|c| c.error.is_some()).count();
    let failed = results.iter().filter(|r| r.failed(args.dry_run)).count();
    Ok(if failed + modes_failed == 0 {
        exit::OK
    } else {
        output::exit_data(format_args!(
            "{failed} recording(s) with a repair that failed or did not run, {modes_failed} mode change(s) failed (see above and the repair log)"
        ))
    })
}
