//! `repair --fix-permissions`: what `check` flags as `perm.*` taken away
//! (see `check::perm::fix`), each change logged like a repair.

use std::path::PathBuf;

use chrono::Utc;

use super::apply::{log, ApplyOptions};
use crate::check::perm::{self, ModeChange};
use crate::recording::format_utc;

/// Each recording's (name, directory) mode changes, made and logged, one
/// line each, unless a dry run. Stops at a stop signal between recordings.
pub fn fix_permissions(
    recordings: &[(String, PathBuf)],
    opts: &ApplyOptions,
    dry_run: bool,
) -> Result<Vec<ModeChange>, String> {
    let mut out = Vec::new();
    for (rel, dir) in recordings {
        if crate::interrupt::requested() {
            break;
        }
        for c in perm::fix(rel, dir, !dry_run) {
            if !dry_run {
                let line = serde_json::json!({
                    "event": "chmod",
                    "time": format_utc(&Utc::now()),
                    "recording": c.recording,
                    "path": c.path,
                    "mode_before": c.mode_before,
                    "mode_after": c.mode_after,
                    "result": if c.error.is_some() { "failed" } else { "ok" },
                    "error": c.error,
                });
                log(opts, &line.to_string())?;
            }
            out.push(c);
        }
    }
    Ok(out)
}

/// The changes for people: per recording, a line each.
pub fn render_modes(modes: &[ModeChange], dry_run: bool) -> String {
    let mut out = String::new();
    let mut last = None;
    for c in modes {
        if last != Some(&c.recording) {
            out.push_str(&format!("{}\n", c.recording));
            last = Some(&c.recording);
        }
        let status = match (&c.error, dry_run) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "planned".into(),
            (None, false) => "done".into(),
        };
        out.push_str(&format!(
            "  chmod            {} {} → {} [{status}]\n",
            c.path.display(),
            c.mode_before,
            c.mode_after
        ));
    }
    out
}
