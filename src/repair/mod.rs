//! `repair`: findings become a plan; the plan is applied safely (temporary
//! file, fsync, backup, rename, log). Running it twice: the second run has
//! nothing to do.

mod action;
mod apply;
mod permissions;
mod plan;

use rayon::prelude::*;
use serde::Serialize;

use crate::check::check_recording;
use crate::recording::{ModelOptions, Recording};

pub use crate::recording::ALIGNED_FILE;
pub use action::{Action, PlannedAction, RepairPlan};
pub use apply::{apply, ActionResult, ApplyOptions, Outcome};
pub use permissions::{fix_permissions, render_modes};
pub use plan::plan;

/// A recording's plan and, unless it was a dry run, what happened.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingRepair {
    #[serde(flatten)]
    pub plan: RepairPlan,
    pub outcomes: Vec<Outcome>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl RecordingRepair {
    /// An action failed, or (in a real run) a planned one was not run: the
    /// repair log could not take its intent, so nothing more was changed.
    pub fn failed(&self, dry_run: bool) -> bool {
        self.outcomes
            .iter()
            .any(|o| o.result == ActionResult::Failed)
            || (!dry_run && self.outcomes.len() < self.plan.actions.len())
    }
}

/// Check, plan and (unless `apply` is None) repair every recording, in
/// parallel; results in the recordings' order. Each recording is dropped
/// once done, so memory does not grow with their number.
pub fn repair_all(
    recordings: Vec<Recording>,
    model: &ModelOptions,
    aligned: bool,
    apply_opts: Option<&ApplyOptions>,
    on_done: &(dyn Fn() + Sync),
) -> Vec<RecordingRepair> {
    recordings
        .into_par_iter()
        .map(|rec| {
            let check = check_recording(&rec, model);
            let plan = plan(&rec, &check, aligned);
            let (outcomes, warnings) = match apply_opts {
                Some(opts) if !crate::interrupt::requested() => apply(&rec, &plan, opts),
                _ => (Vec::new(), Vec::new()),
            };
            on_done();
            RecordingRepair {
                plan,
                outcomes,
                warnings,
            }
        })
        .collect()
}

/// The human report: per recording with something to do or to say, its
/// actions (done, failed or planned) and what is left alone; then a total.
pub fn render_text(results: &[RecordingRepair], dry_run: bool) -> String {
    let mut out = String::new();
    let (mut planned, mut done, mut failed, mut not_run, mut left) = (0, 0, 0, 0, 0);
    for r in results {
        if r.plan.actions.is_empty() && r.plan.not_repaired.is_empty() {
            continue;
        }
        out.push_str(&format!("{}\n", r.plan.recording));
        for (i, a) in r.plan.actions.iter().enumerate() {
            planned += 1;
            let status = match r.outcomes.get(i) {
                Some(o) if o.result == ActionResult::Ok => {
                    done += 1;
                    "done".to_string()
                }
                Some(o) => {
                    failed += 1;
                    format!("FAILED: {}", o.error.as_deref().unwrap_or(""))
                }
                None if dry_run => "planned".to_string(),
                None => {
                    not_run += 1;
                    "not run".to_string()
                }
            };
            out.push_str(&format!(
                "  {:<16} {:<28} {} [{status}]\n",
                a.action.name(),
                a.action.file(),
                a.reason
            ));
        }
        for n in &r.plan.not_repaired {
            left += 1;
            out.push_str(&format!("  not repaired     {n}\n"));
        }
    }
    let verb = if dry_run {
        "would be done (dry run: nothing changed)"
    } else {
        "done"
    };
    let not_run = match not_run {
        0 => String::new(),
        n => format!(", {n} not run"),
    };
    out.push_str(&format!(
        "{} recording(s): {planned} action(s) planned, {} {verb}, {failed} failed{not_run}; {left} problem(s) left alone\n",
        results.len(),
        if dry_run { planned } else { done },
    ));
    if planned == 0 && failed == 0 {
        out.push_str("nothing to do\n");
    }
    out
}
