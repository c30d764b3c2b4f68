//! Carrying out retention decisions, with the audit log: a line recording
//! the intent (every file with its size and SHA-256) is written and fsynced
//! before any file goes, and a line with the result after.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::json;

use super::policy::ArchiveFormat;
use super::{Decision, Verdict, AUDIO_REMOVED_MARKER};
use crate::recording::format_utc;
use crate::safe_fs::{self, AtomicFile};

/// Where things go.
pub struct ApplyOptions {
    pub root: PathBuf,
    pub audit: PathBuf,
    pub archive_root: Option<PathBuf>,
    pub archive_format: ArchiveFormat,
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
    root.join(".callscope").join("trash")
}

/// Append one audit line: the time first, then the event, then what every
/// line carries about the run.
fn audit(opts: &ApplyOptions, event: serde_json::Value) -> Result<(), String> {
    let mut line = serde_json::Map::new();
    line.insert("time".into(), format_utc(&Utc::now()).into());
    if let serde_json::Value::Object(fields) = event {
        line.extend(fields);
    }
    if let Ok(serde_json::Value::Object(run)) = serde_json::to_value(&opts.run) {
        line.extend(run);
    }
    safe_fs::append_line(&opts.audit, &serde_json::Value::Object(line).to_string())
        .map_err(|e| format!("{}: {e}", opts.audit.display()))
}

/// A recording's file as the intent line records it: its SHA-256 is `None`
/// when it cannot be read. An archive is checked against these same sums,
/// so each file is hashed once.
struct FileSum<'d> {
    path: &'d str,
    size: u64,
    sha256: Option<String>,
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
    fs::read_dir(trash_dir(root)).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains(text))
    })
}

/// Whether the audit log records an intent to delete a recording of this
/// session (an earlier erasure, finished or killed after its last step).
pub fn audit_erased(audit: &Path, session_id: &str) -> bool {
    use std::io::BufRead;
    let Ok(file) = fs::File::open(audit) else {
        return false;
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains(session_id))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .any(|l| l["event"] == "intent" && l["action"] == "delete" && l["session_id"] == session_id)
}

/// Finish what a killed prune left in the trash.
pub fn finish_trash(opts: &ApplyOptions) -> Vec<String> {
    let mut errors = Vec::new();
    let trash = trash_dir(&opts.root);
    let Ok(entries) = fs::read_dir(&trash) else {
        return errors;
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for entry in names {
        let result = if entry.is_dir() {
            fs::remove_dir_all(&entry)
        } else {
            fs::remove_file(&entry)
        };
        let line = json!({
            "event": "trash-finished",
            "trash": entry.display().to_string(),
            "result": if result.is_ok() { "ok" } else { "failed" },
            "error": result.as_ref().err().map(ToString::to_string),
        });
        if let Err(e) =
            audit(opts, line).and(result.map_err(|e| format!("{}: {e}", entry.display())))
        {
            errors.push(e);
        }
    }
    errors
}

fn delete(d: &Decision, opts: &ApplyOptions) -> Result<serde_json::Value, String> {
    let trash = trash_dir(&opts.root);
    fs::create_dir_all(&trash).map_err(|e| format!("{}: {e}", trash.display()))?;
    let leaf = d.recording.replace('/', "__");
    let target = safe_fs::free_name(&trash.join(format!(
        "{}-{leaf}",
        Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
    )));
    // One rename: the recording is whole where it was, or whole in the trash.
    fs::rename(&d.dir, &target).map_err(|e| format!("{}: {e}", d.dir.display()))?;
    if let Some(parent) = d.dir.parent() {
        let _ = safe_fs::fsync_dir(parent);
    }
    let _ = safe_fs::fsync_dir(&trash);
    fs::remove_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
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

/// Copy a tree, fsyncing every file; the caller verifies the checksums.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
            fs::File::open(&dst)?.sync_all()?;
        }
    }
    Ok(())
}

/// Refuse an archive root that is the recordings root, lies inside it (an
/// archive there would be the recording itself, or be found as a recording
/// and archived again every night) or holds it (an archive could land
/// inside ROOT). Checked before anything is touched, on resolved paths.
pub fn validate_archive_root(root: &Path, archive_root: &Path) -> Result<(), String> {
    let resolve = |p: &Path| safe_fs::resolve(p).map_err(|e| format!("{}: {e}", p.display()));
    let (root_r, archive_r) = (resolve(root)?, resolve(archive_root)?);
    let problem = if archive_r == root_r {
        Some("is the recordings root itself")
    } else if archive_r.starts_with(&root_r) {
        Some("is inside the recordings root")
    } else if root_r.starts_with(&archive_r) {
        Some("holds the recordings root")
    } else {
        None
    };
    match problem {
        Some(why) => Err(format!(
            "archive_root {} (resolved: {}) {why} {}; it must be outside it, or archives would be taken for recordings",
            archive_root.display(),
            archive_r.display(),
            root_r.display()
        )),
        None => Ok(()),
    }
}

/// Where an archived recording goes, its directory made. The place is
/// proved, once made and resolved, to lie outside ROOT (a link inside the
/// archive tree could point back into it): an archive is never the
/// recording it archives, nor inside it.
fn archive_dest(d: &Decision, opts: &ApplyOptions, suffix: &str) -> Result<PathBuf, String> {
    let root = opts
        .archive_root
        .as_ref()
        .ok_or("the policy has no archive_root")?;
    // The recording's real path under ROOT (its name may not be UTF-8).
    let rel = d
        .dir
        .strip_prefix(&opts.root)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(&d.recording), Path::to_path_buf);
    let mut name = rel.into_os_string();
    name.push(suffix);
    let dest = root.join(name);
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        // What a prune killed while writing an archive here left behind.
        safe_fs::remove_stale_temps(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let resolve = |p: &Path| safe_fs::resolve(p).map_err(|e| format!("{}: {e}", p.display()));
        let (parent_r, root_r) = (resolve(parent)?, resolve(&opts.root)?);
        if parent_r.starts_with(&root_r) {
            return Err(format!(
                "{}: the archive would be inside the recordings root ({}); nothing moved",
                dest.display(),
                parent_r.display()
            ));
        }
    }
    Ok(dest)
}

fn never_overwritten(dest: &Path) -> String {
    format!(
        "{} already exists; an archive is never overwritten",
        dest.display()
    )
}

fn archive(
    d: &Decision,
    sums: &[FileSum],
    opts: &ApplyOptions,
) -> Result<serde_json::Value, String> {
    if opts.archive_format == ArchiveFormat::TarGz {
        return archive_tar_gz(d, sums, opts);
    }
    let dest = archive_dest(d, opts, "")?;
    let want = expected(sums, Path::new(""))?;
    if dest.symlink_metadata().is_ok() {
        let same = tree_checksums(&dest).is_ok_and(|there| there == want);
        return finish_with_existing(d, opts, &dest, same);
    }
    if fs::rename(&d.dir, &dest).is_err() {
        // Another file system: copy under a temporary name, verify every
        // checksum, put it in place, then delete the original like `delete`.
        // Named by this process: a prune running at once has its own.
        let temp = dest.with_file_name(format!(
            ".{}.{}-copy{}",
            dest.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id(),
            safe_fs::TEMP_SUFFIX
        ));
        let _ = fs::remove_dir_all(&temp);
        let copied = copy_tree(&d.dir, &temp)
            .map_err(|e| format!("{}: {e}", temp.display()))
            .and_then(|()| tree_checksums(&temp))
            .and_then(|got| same_files(&want, &got));
        if let Err(e) = copied {
            let _ = fs::remove_dir_all(&temp);
            return Err(e);
        }
        fs::rename(&temp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        delete(d, opts)?;
    }
    if let Some(parent) = dest.parent() {
        let _ = safe_fs::fsync_dir(parent);
    }
    Ok(json!({ "archived_to": dest.display().to_string() }))
}

/// Archive as one `{recording}.tar.gz` (entries `{directory}/{file}`): it is
/// written under a temporary name, fsynced, read back with every file's
/// SHA-256 compared against the original, and only then put in place; the
/// original then goes like `delete`. A failure at any step keeps the original.
fn archive_tar_gz(
    d: &Decision,
    sums: &[FileSum],
    opts: &ApplyOptions,
) -> Result<serde_json::Value, String> {
    let dest = archive_dest(d, opts, ".tar.gz")?;
    let err = |e: std::io::Error| format!("{}: {e}", dest.display());
    let leaf = d.dir.file_name().unwrap_or_default();
    let want = expected(sums, Path::new(leaf))?;
    if dest.symlink_metadata().is_ok() {
        let same = tar_checksums(&dest).is_ok_and(|there| there == want);
        let mut done = finish_with_existing(d, opts, &dest, same)?;
        done["archive_sha256"] = safe_fs::sha256_file(&dest).map_err(err)?.into();
        return Ok(done);
    }
    let leaf = PathBuf::from(leaf);
    let mut out = AtomicFile::create(&dest).map_err(err)?;
    let gz = flate2::write::GzEncoder::new(out.writer(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    for (name, _) in &d.files {
        tar.append_path_with_name(d.dir.join(name), leaf.join(name))
            .map_err(|e| format!("{name}: {e}"))?;
    }
    tar.into_inner().and_then(|gz| gz.finish()).map_err(err)?;
    out.finish().map_err(err)?;
    same_files(&want, &tar_checksums(out.temp()).map_err(err)?)?;
    let sha = safe_fs::sha256_file(out.temp()).map_err(err)?;
    out.commit(None).map_err(err)?;
    delete(d, opts)?;
    Ok(json!({ "archived_to": dest.display().to_string(), "archive_sha256": sha }))
}

/// What an archive must hold: every file's SHA-256 from the intent line,
/// by path under `prefix`.
fn expected(sums: &[FileSum], prefix: &Path) -> Result<BTreeMap<PathBuf, String>, String> {
    sums.iter()
        .map(|f| match &f.sha256 {
            Some(sha) => Ok((prefix.join(f.path), sha.clone())),
            None => Err(format!("{}: cannot be read; original kept", f.path)),
        })
        .collect()
}

/// The SHA-256 of every file under `dir`, by path under it.
fn tree_checksums(dir: &Path) -> Result<BTreeMap<PathBuf, String>, String> {
    super::files_under(dir)?
        .into_iter()
        .map(|(name, _)| {
            let p = dir.join(&name);
            let sha = safe_fs::sha256_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok((PathBuf::from(name), sha))
        })
        .collect()
}

/// An archived copy must hold exactly the recording's files, byte for byte.
fn same_files(
    want: &BTreeMap<PathBuf, String>,
    got: &BTreeMap<PathBuf, String>,
) -> Result<(), String> {
    let differs = want
        .iter()
        .find(|(name, sha)| got.get(*name) != Some(*sha))
        .map(|(name, _)| name)
        .or_else(|| got.keys().find(|name| !want.contains_key(*name)));
    match differs {
        None => Ok(()),
        Some(name) => Err(format!(
            "{}: the archived copy does not match; original kept",
            name.display()
        )),
    }
}

/// An archive is already where this one would go. When it holds exactly
/// the recording's files (a prune killed after putting it in place, before
/// the original went), the original goes now; any other is never overwritten.
fn finish_with_existing(
    d: &Decision,
    opts: &ApplyOptions,
    dest: &Path,
    same: bool,
) -> Result<serde_json::Value, String> {
    if !same {
        return Err(never_overwritten(dest));
    }
    delete(d, opts)?;
    Ok(json!({ "archived_to": dest.display().to_string(), "archive_existed": true }))
}

/// The SHA-256 of every file in a `.tar.gz`, by path.
fn tar_checksums(path: &Path) -> std::io::Result<BTreeMap<PathBuf, String>> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(path)?);
    let mut archive = tar::Archive::new(gz);
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.into_owned();
        out.insert(name, safe_fs::sha256_reader(&mut entry)?);
    }
    Ok(out)
}

/// Carry out every decision that acts; returns the errors (the rest go on).
pub fn apply(decisions: &[Decision], opts: &ApplyOptions) -> Vec<String> {
    let mut errors = finish_trash(opts);
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
