//! Carrying out retention decisions, with the audit log: a line recording
//! the intent (every file with its size and SHA-256) is written and fsynced
//! before any file goes, and a line with the result after.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::json;

use super::archive::archive;
use super::{Decision, Verdict, AUDIO_REMOVED_MARKER};
use crate::recording::format_utc;
use crate::safe_fs::{self, AtomicFile};

/// Where things go.
pub struct ApplyOptions {
    pub root: PathBuf,
    pub audit: safe_fs::OwnPath,
    pub archive_root: Option<PathBuf>,
    /// The policy file, named in markers.
    pub policy: Option<PathBuf>,
    /// Who ran what, on every audit line.
    pub run: RunInfo,
}

/// What every audit line carries, so the log proves which policy did what,
/// when and by whom: the policy file's SHA-256, the `now` that ages were
/// measured from, the tool's version, this run's id, the user and the host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub now: String,
    pub policy_sha256: Option<String>,
    pub version: &'static str,
    pub user: String,
    pub host: String,
}

impl RunInfo {
    pub fn new(now: chrono::DateTime<Utc>, policy: Option<&Path>) -> RunInfo {
        let started = Utc::now();
        RunInfo {
            run_id: format!(
                "{}-{}",
                started.format("%Y%m%dT%H%M%S%.6fZ"),
                std::process::id()
            ),
            now: format_utc(&now),
            policy_sha256: policy.and_then(|p| safe_fs::sha256_file_followed(p).ok()),
            version: env!("CARGO_PKG_VERSION"),
            user: crate::lock::user_name(),
            host: crate::lock::host_name(),
        }
    }
}

/// The trash inside ROOT where whole recordings go before they are removed.
pub fn trash_dir(root: &Path) -> PathBuf {
    root.join(TRASH)
}

const TRASH: &str = ".callscope/trash";

/// The trash, reached without following a link (a link or file at
/// `.callscope` or `trash` is an error, and nothing is done); `None` when
/// it does not exist and `create` is false.
fn open_trash(root: &Path, create: bool) -> Result<Option<safe_fs::Beneath>, String> {
    match safe_fs::state_dir(root, TRASH, create) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Append one audit line: the time first, then the event, then what every
/// line carries about the run.
pub(super) fn audit(opts: &ApplyOptions, event: serde_json::Value) -> Result<(), String> {
    let mut line = serde_json::Map::new();
    line.insert("time".into(), format_utc(&Utc::now()).into());
    if let serde_json::Value::Object(fields) = event {
        line.extend(fields);
    }
    if let Ok(serde_json::Value::Object(run)) = serde_json::to_value(&opts.run) {
        line.extend(run);
    }
    safe_fs::append_line(
        &opts.audit.path(),
        &serde_json::Value::Object(line).to_string(),
    )
    .map_err(|e| format!("{}: {e}", opts.audit.shown().display()))
}

/// A recording's file as the intent line records it: its SHA-256 is `None`
/// when it cannot be read. An archive is checked against these same sums,
/// so each file is hashed once.
pub(super) struct FileSum<'d> {
    pub(super) path: &'d str,
    pub(super) size: u64,
    pub(super) sha256: Option<String>,
}

fn file_sums(d: &Decision) -> Vec<FileSum<'_>> {
    d.files
        .iter()
        .map(|(path, size)| FileSum {
            path,
            size: *size,
            sha256: safe_fs::sha256_file(&d.dir.join(path)).ok(),
        })
        .collect()
}

/// Whether the trash holds a recording whose name contains `text` (an
/// erasure killed after moving it there, which the next run finishes).
pub fn trash_holds(root: &Path, text: &str) -> bool {
    let Ok(Some(trash)) = open_trash(root, false) else {
        return false;
    };
    fs::read_dir(trash.path()).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains(text))
    })
}

/// Whether the audit log records an intent to delete a recording of this
/// session (an earlier erasure, finished or killed after its last step).
pub fn audit_erased(audit: &safe_fs::OwnPath, session_id: &str) -> bool {
    use std::io::BufRead;
    let Ok(file) = safe_fs::open_regular(&audit.path()) else {
        return false;
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains(session_id))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .any(|l| l["event"] == "intent" && l["action"] == "delete" && l["session_id"] == session_id)
}

/// Finish what a killed prune left in the trash. A trash that is not
/// callscope's own directory (a link, a file) is an error, and then nothing
/// at all is done: the caller stops before any decision is carried out.
pub fn finish_trash(opts: &ApplyOptions) -> Result<Vec<String>, String> {
    let mut errors = Vec::new();
    let Some(trash) = open_trash(&opts.root, false)? else {
        return Ok(errors);
    };
    let entries =
        fs::read_dir(trash.path()).map_err(|e| format!("{}: {e}", trash.shown().display()))?;
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in names {
        let entry = trash.join(&name);
        let shown = trash.shown().join(&name);
        // Never followed: a link in the trash is removed as a link.
        let result = match fs::symlink_metadata(&entry) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&entry),
            _ => fs::remove_file(&entry),
        };
        let line = json!({
            "event": "trash-finished",
            "trash": shown.display().to_string(),
            "result": if result.is_ok() { "ok" } else { "failed" },
            "error": result.as_ref().err().map(ToString::to_string),
        });
        if let Err(e) =
            audit(opts, line).and(result.map_err(|e| format!("{}: {e}", shown.display())))
        {
            errors.push(e);
        }
    }
    Ok(errors)
}

pub(super) fn delete(d: &Decision, opts: &ApplyOptions) -> Result<serde_json::Value, String> {
    let trash = open_trash(&opts.root, true)?.expect("made when missing");
    let leaf = d.recording.replace('/', "__");
    let name = format!("{}-{leaf}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"));
    let target = safe_fs::free_name(&trash.join(&name));
    let shown = trash.shown().join(target.file_name().unwrap_or_default());
    // One rename: the recording is whole where it was, or whole in the trash.
    fs::rename(&d.dir, &target).map_err(|e| format!("{}: {e}", d.dir.display()))?;
    if let Some(parent) = d.dir.parent() {
        let _ = safe_fs::fsync_dir(parent);
    }
    let _ = trash.sync();
    fs::remove_dir_all(&target).map_err(|e| format!("{}: {e}", shown.display()))?;
    Ok(json!({}))
}

/// Remove a recording's audio, keeping transcript and metadata. The marker
/// goes first, listing what is removed: a prune killed after it finishes the
/// job the next time (the marker is the intent), and one killed before it
/// has removed nothing.
fn delete_audio(
    d: &Decision,
    sums: &[FileSum],
    opts: &ApplyOptions,
) -> Result<serde_json::Value, String> {
    let marker = d.dir.join(AUDIO_REMOVED_MARKER);
    let err = |e: std::io::Error| format!("{}: {e}", marker.display());
    let existed = marker.symlink_metadata().is_ok();
    if !existed {
        let text = serde_json::to_string_pretty(&json!({
            "removed_at": format_utc(&Utc::now()),
            "rule": d.rule,
            "policy": opts.policy.as_ref().map(|p| p.display().to_string()),
            "state": d.state,
            "files": sums
                .iter()
                .map(|f| json!({ "path": f.path, "size": f.size, "sha256": f.sha256 }))
                .collect::<Vec<_>>(),
            "note": "the audio of this recording was removed by the retention policy; transcript and metadata are kept",
        }))
        .unwrap_or_default();
        let mut f = AtomicFile::create(&marker).map_err(err)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(err)?;
        f.commit(None).map_err(err)?;
    }
    for (name, _) in &d.files {
        let p = d.dir.join(name);
        match fs::remove_file(&p) {
            Ok(()) => {}
            // Gone already (another prune at once): what was asked is done.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    safe_fs::fsync_dir(&d.dir).map_err(|e| format!("{}: {e}", d.dir.display()))?;
    Ok(json!({ "marker": AUDIO_REMOVED_MARKER, "marker_existed": existed }))
}

/// Carry out every decision that acts; returns the errors (the rest go on).
pub fn apply(decisions: &[Decision], opts: &ApplyOptions) -> Vec<String> {
    let mut errors = match finish_trash(opts) {
        Ok(errors) => errors,
        Err(e) => return vec![format!("{e}; no recording was touched")],
    };
    // A hold is a decision too: the log shows what was spared, and why.
    for d in decisions.iter().filter(|d| d.action == Verdict::Held) {
        let line = json!({
            "event": "held",
            "recording": d.recording,
            "session_id": d.session_id,
            "reason": d.reason,
        });
        if let Err(e) = audit(opts, line) {
            errors.push(e);
            return errors;
        }
    }
    for d in decisions.iter().filter(|d| d.acts()) {
        if crate::interrupt::requested() {
            errors.push("interrupted".into());
            break;
        }
        // Temporary files a killed command left in the recording go first:
        // they are nobody's data, and an archive must not carry them.
        let removed = match safe_fs::remove_stale_temps(&d.dir) {
            Ok(removed) => removed,
            Err(e) => {
                errors.push(format!("{}: {e}", d.recording));
                continue;
            }
        };
        let cleaned;
        let d = if removed.is_empty() {
            d
        } else {
            let gone: Vec<String> = removed
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            let line = json!({
                    "event": "temp-removed",
                "recording": d.recording,
                "files": gone,
            });
            if let Err(e) = audit(opts, line) {
                errors.push(e);
                break;
            }
            let mut kept = d.clone();
            kept.files.retain(|(name, _)| !gone.contains(name));
            cleaned = kept;
            &cleaned
        };
        let sums = file_sums(d);
        let intent = json!({
            "event": "intent",
            "recording": d.recording,
            "session_id": d.session_id,
            "rule": d.rule,
            "action": d.action,
            "files": sums
                .iter()
                .map(|f| json!({ "path": f.path, "size": f.size, "sha256": f.sha256 }))
                .collect::<Vec<_>>(),
        });
        // No file goes before its intent is on disk.
        if let Err(e) = audit(opts, intent) {
            errors.push(e);
            break;
        }
        let result = match d.action {
            Verdict::Delete => delete(d, opts),
            Verdict::DeleteAudio => delete_audio(d, &sums, opts),
            Verdict::Archive => archive(d, &sums, opts),
            other => Err(format!("{}: {other} is not an action", d.recording)),
        };
        let mut done = json!({
            "event": "done",
            "recording": d.recording,
            "rule": d.rule,
            "action": d.action,
            "result": if result.is_ok() { "ok" } else { "failed" },
        });
        match &result {
            Ok(extra) => {
                if let (Some(o), Some(e)) = (done.as_object_mut(), extra.as_object()) {
                    o.extend(e.clone());
                }
            }
            Err(e) => {
                done["error"] = e.clone().into();
                errors.push(format!("{}: {e}", d.recording));
            }
        }
        if let Err(e) = audit(opts, done) {
            errors.push(e);
        }
    }
    errors
}
