//! A report directory appears whole or not at all. `run` and `merge` write
//! into a hidden sibling with a unique name (`.NAME.XXXXXX.callscope-tmp`,
//! removed if the command fails or is stopped) and put it in place at the
//! end with one rename; an earlier report directory is swapped for the new
//! one atomically (`--replace`). A manifest, `callscope-report.json`, marks
//! a directory as callscope's: nothing else is ever replaced. One command
//! writes a report directory at a time (a lock beside it).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lock::RootLock;
use crate::safe_fs;

/// The manifest's file name.
pub const MANIFEST: &str = "callscope-report.json";
/// What the manifest's `format` says.
pub const FORMAT: &str = "callscope-report/1";

/// One analyzer as a report records it: merging reports made by other
/// analyzers is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerInfo {
    pub name: String,
    pub version: String,
    pub columns: Vec<String>,
    /// Options that change its numbers (`silence_min_s=3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
}

/// What decides a report's numbers besides the analyzers: reports that
/// differ in any of these do not merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportOptions {
    pub vad: String,
    pub name_tz: String,
    pub formats: Vec<String>,
}

/// `callscope-report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The run (or merge) that wrote the report: its start (UTC) and a
    /// random tag, unique to it. The same id is in `summary.json`'s `run`,
    /// so a warehouse loading nights can tell which run a file came from.
    #[serde(default)]
    pub run_id: String,
    pub callscope_version: String,
    /// When the report was complete (UTC): a merge keeps the latest
    /// analysis of a recording.
    pub finished: String,
    pub root: String,
    /// `run` or `merge`, and whether it took only new recordings.
    pub made_by: String,
    pub analyzers: Vec<AnalyzerInfo>,
    pub options: ReportOptions,
    pub calls: usize,
    /// The length of `partial.jsonl` (absent in reports written before it
    /// was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_bytes: Option<u64>,
    pub files: Vec<String>,
    /// The plan and the shard of it this report is, when a run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRef>,
}

/// A report's place in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRef {
    pub id: String,
    pub shard: usize,
    pub shards: usize,
}

impl Manifest {
    /// The manifest of the report directory `dir`, if it is one.
    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        match safe_fs::read_regular(&path) {
            Ok(bytes) => {
                let m: Manifest =
                    serde_json::from_slice(&bytes).map_err(|e| Error::json(&path, &e))?;
                if m.format != FORMAT {
                    return Err(Error::Usage(format!(
                        "{}: format {}, this callscope reads {FORMAT}",
                        path.display(),
                        m.format
                    )));
                }
                Ok(Some(m))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

/// A report directory being written.
pub struct ReportDir {
    out: PathBuf,
    temp: tempfile::TempDir,
    _abandon: crate::interrupt::AbandonOnStop,
    /// An earlier report is at `out` and is to be swapped out.
    replaces: bool,
    _lock: RootLock,
}

impl ReportDir {
    /// Check `out` and start writing: `out` must not exist (or be an empty
    /// directory), or be a report directory that `replace` accepts (asked
    /// under the lock, of the manifest that is there); it is never the
    /// recordings root, inside it, or a recording.
    pub fn prepare(
        out: &Path,
        roots: &[&Path],
        replace: &dyn Fn(&Manifest) -> bool,
        command: &str,
        wait: Option<Duration>,
    ) -> Result<ReportDir> {
        let usage = |why: String| Error::Usage(format!("--out {}: {why}", out.display()));
        out.file_name()
            .ok_or_else(|| usage("name a directory".into()))?;
        let resolved = safe_fs::resolve(out).map_err(|e| usage(e.to_string()))?;
        // Named by where the report really goes: two commands reaching one
        // directory through different links take the same lock.
        let name = resolved
            .file_name()
            .ok_or_else(|| usage("name a directory".into()))?
            .to_string_lossy()
            .into_owned();
        for root in roots {
            let root_r = safe_fs::resolve(root).map_err(|e| usage(e.to_string()))?;
            if resolved.starts_with(&root_r) {
                return Err(usage(format!(
                    "is inside the recordings root {}; reports go outside it",
                    root.display()
                )));
            }
            if root_r.starts_with(&resolved) {
                return Err(usage(format!(
                    "holds the recordings root {}",
                    root.display()
                )));
            }
        }
        let parent = resolved
            .parent()
            .ok_or_else(|| usage("has no parent directory".into()))?
            .to_path_buf();
        // What is plainly not a directory is refused before anything is
        // written beside it: a link at --out to a file elsewhere must not
        // get a lock file beside that file.
        if fs::metadata(&resolved).is_ok_and(|m| !m.is_dir()) {
            return Err(usage("exists and is not a directory".into()));
        }
        fs::create_dir_all(&parent).map_err(|e| Error::write(&parent, e))?;
        // Two commands writing one report directory: the second waits or
        // exits 75, before it looks at what is there.
        let lock = crate::lock::acquire_file(
            &parent.join(format!(".{name}.callscope-lock")),
            &format!("report directory {}", out.display()),
            command,
            wait,
        )?;
        recover_aside(&resolved)?;
        let mut replaces = false;
        match fs::symlink_metadata(&resolved) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(out, e)),
            Ok(m) if !m.is_dir() => return Err(usage("exists and is not a directory".into())),
            Ok(_) if crate::recording::is_recording_dir(&resolved) => {
                return Err(usage("is a recording".into()))
            }
            Ok(_) => {
                let empty = fs::read_dir(&resolved)
                    .map_err(|e| Error::io(out, e))?
                    .next()
                    .is_none();
                if !empty {
                    match Manifest::read(&resolved)? {
                        None => {
                            return Err(usage(format!(
                                "holds files that are not a callscope report ({MANIFEST} is missing); nothing is written there"
                            )))
                        }
                        Some(m) if !replace(&m) => {
                            return Err(usage(
                                "holds an earlier report; give --replace to replace it".into(),
                            ))
                        }
                        Some(_) => replaces = true,
                    }
                }
            }
        }
        // What a killed run left beside the reports is nobody's.
        let _ = safe_fs::remove_stale_temps(&parent);
        // As a directory made with mkdir would be: the output mode (the
        // umask callscope set, see `safe_fs::OutputMode`) applies.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}-", safe_fs::owner_tag()))
            .suffix(".callscope-tmp")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .tempdir_in(&parent)
            .map_err(|e| Error::write(&parent, e))?;
        Ok(ReportDir {
            out: resolved,
            _abandon: crate::interrupt::AbandonOnStop::new(temp.path()),
            temp,
            replaces,
            _lock: lock,
        })
    }

    /// Where the reports are written until they are complete.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Where the reports will be.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// An error about a file being written here, naming the file where the
    /// user will look for it (under `--out`, not the temporary name).
    pub fn shown(&self, e: Error) -> Error {
        e.moved(self.temp.path(), &self.out)
    }

    /// Write the manifest and put the directory in place: renamed, or
    /// swapped with the earlier report in one step.
    pub fn commit(self, manifest: &Manifest) -> Result<PathBuf> {
        let path = self.temp.path().join(MANIFEST);
        let mut text =
            serde_json::to_string_pretty(manifest).map_err(|e| Error::write(&path, e))?;
        text.push('\n');
        let mut f = safe_fs::AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| Error::write(&path, e))?;
        f.commit(None).map_err(|e| Error::write(&path, e))?;
        safe_fs::fsync_dir(self.temp.path()).map_err(|e| Error::write(self.temp.path(), e))?;
        let temp = self.temp.keep();
        let out = &self.out;
        let placed = if self.replaces {
            match swap(&temp, out) {
                Ok(()) => {
                    // The earlier report now sits at the temporary name.
                    let _ = fs::remove_dir_all(&temp);
                    Ok(())
                }
                Err(e) if swap_refused(&e) => replace_in_two_steps(&temp, out),
                Err(e) => Err(e),
            }
        } else {
            // Over nothing, or over an empty directory.
            fs::rename(&temp, out)
        };
        if let Err(e) = placed {
            let _ = fs::remove_dir_all(&temp);
            return Err(Error::write(out, e));
        }
        if let Some(parent) = out.parent() {
            safe_fs::fsync_dir(parent).map_err(|e| Error::write(parent, e))?;
        }
        Ok(out.clone())
    }
}

/// What a file system that cannot exchange two names says: NFS and FUSE
/// (EINVAL), older kernels and some others (ENOSYS, EOPNOTSUPP).
fn swap_refused(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

/// Where the earlier report waits while the new one is renamed in, where
/// the swap is refused: one fixed name per report directory, so whatever
/// a killed command left there is found by the next (`recover_aside`).
fn aside_of(out: &Path) -> PathBuf {
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!(".{name}.callscope-old"))
}

/// Replace `out` by `new` without the swap: the earlier report is renamed
/// aside, the new one renamed in, and only then the earlier one removed.
/// Between the two renames `out` is missing (never half-written); killed
/// there, the earlier report is at the aside name and the next command
/// writing `out` puts it back first.
fn replace_in_two_steps(new: &Path, out: &Path) -> std::io::Result<()> {
    let aside = aside_of(out);
    let parent = out.parent().unwrap_or(Path::new("."));
    fs::rename(out, &aside)?;
    safe_fs::fsync_dir(parent)?;
    if let Err(e) = fs::rename(new, out) {
        // Put the earlier report back: `out` is as it was.
        fs::rename(&aside, out)?;
        return Err(e);
    }
    safe_fs::fsync_dir(parent)?;
    discard(&aside, new)
}

/// Remove a report directory that is no longer wanted: first renamed to a
/// temporary name (`to`, callscope's own), so a command killed while
/// removing it leaves what the next one clears as a dead run's temporary.
fn discard(dir: &Path, to: &Path) -> std::io::Result<()> {
    fs::rename(dir, to)?;
    fs::remove_dir_all(to)
}

/// Before anything is looked at under the lock: an earlier report a killed
/// two-step replace left aside goes back to `out` when `out` is missing (it
/// was killed between the renames), and is removed when `out` is in place
/// (killed after them). Only a report directory (one with a manifest) is
/// ever put back or removed; anything else there stops the command.
fn recover_aside(out: &Path) -> Result<()> {
    let aside = aside_of(out);
    match fs::symlink_metadata(&aside) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&aside, e)),
        Ok(m) if !m.is_dir() => {
            return Err(Error::Usage(format!(
                "{}: not a directory where callscope keeps an earlier report aside; remove it",
                aside.display()
            )))
        }
        Ok(_) => {}
    }
    let out_there = match fs::symlink_metadata(out) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(out, e)),
    };
    if Manifest::read(&aside)?.is_none() {
        return Err(Error::Usage(format!(
            "{}: not a callscope report, where callscope keeps an earlier report aside; nothing was done",
            aside.display()
        )));
    }
    if out_there {
        let name = out.file_name().unwrap_or_default().to_string_lossy();
        let to = out.with_file_name(format!(
            ".{name}.{}-old{}",
            safe_fs::owner_tag(),
            safe_fs::TEMP_SUFFIX
        ));
        discard(&aside, &to).map_err(|e| Error::write(&aside, e))?;
    } else {
        fs::rename(&aside, out).map_err(|e| Error::write(out, e))?;
    }
    let parent = out.parent().unwrap_or(Path::new("."));
    safe_fs::fsync_dir(parent).map_err(|e| Error::write(parent, e))
}

/// Exchange two directories in one step (renameat2 RENAME_EXCHANGE), so
/// `--out` is the earlier report or the new one at every moment.
fn swap(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths, relative to the working directory.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
