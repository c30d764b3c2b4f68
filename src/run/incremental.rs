//! `run --new`: only the recordings no earlier report beside `--out` has
//! analyzed as they are now. The earlier reports are the state: every
//! report directory (one with a manifest) in `--out`'s parent directory,
//! the nightly ones among them, says in its partial which recordings it
//! analyzed and with which fingerprint. Deleting a night's directory makes
//! its calls new again; nothing is kept anywhere else.
//!
//! Only a report that would merge with this run's counts as done: the same
//! root, analyzers and settings. An ad-hoc `run -a intents`, or a report of
//! a staging copy of the store, beside the nights is not a night. `--out`
//! itself never counts: re-running a night gives that night's calls again,
//! never an empty report in its place. A report that cannot be read is
//! passed over with a warning, so one broken directory fails no night.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::lock::RootLock;
use crate::report::{partial, AnalyzerInfo, Manifest, ReportOptions};

/// Fingerprints seen, by recording.
#[derive(Debug, Default)]
pub struct Seen {
    seen: BTreeMap<String, BTreeSet<String>>,
    /// Why each report directory that could not be read was passed over,
    /// naming the file: a warning each.
    pub unreadable: Vec<String>,
    /// Reports of another root, analyzers or settings, and how they
    /// differ: not nights of this job (a note each with `-v`).
    pub unlike: Vec<(PathBuf, String)>,
}

/// What a report must share with this run to count as done.
pub struct Identity<'a> {
    /// The root as this run resolves it.
    pub root: &'a Path,
    pub analyzers: &'a [AnalyzerInfo],
    pub options: &'a ReportOptions,
}

impl Identity<'_> {
    /// Why `m` is not a report of this run's kind, if it is not.
    pub fn differs(&self, m: &Manifest) -> Option<String> {
        let same_root = match crate::safe_fs::resolve(Path::new(&m.root)) {
            Ok(r) => r == self.root,
            Err(_) => Path::new(&m.root) == self.root,
        };
        if !same_root {
            return Some(format!("a report of another root ({})", m.root));
        }
        if m.analyzers != self.analyzers {
            return Some("made by other analyzers or settings".into());
        }
        if m.options.vad != self.options.vad || m.options.name_tz != self.options.name_tz {
            return Some(format!(
                "made with other options (--vad {}, name time zone {})",
                m.options.vad, m.options.name_tz
            ));
        }
        None
    }
}

/// Where `out` really is, and the directory it is in.
fn placed(out: &Path) -> (PathBuf, PathBuf) {
    let out_r = crate::safe_fs::resolve(out).unwrap_or_else(|_| out.to_path_buf());
    let parent = match out_r.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    (out_r, parent)
}

/// The lock every `--new` run writing beside `out` takes, for as long as
/// it runs.
pub fn lock_beside(out: &Path, wait: Option<Duration>) -> Result<RootLock> {
    let (_, parent) = placed(out);
    std::fs::create_dir_all(&parent).map_err(|e| Error::write(&parent, e))?;
    crate::lock::acquire_file(
        &parent.join(".callscope-new.callscope-lock"),
        &format!("the --new reports in {}", parent.display()),
        "run --new",
        wait,
    )
}

/// Why report `dir`'s partial is not whole, if it is not: its length is
/// not what its manifest records. The index is what `--new` reads, but a
/// report whose partial a merge would refuse is no night.
fn short_partial(dir: &Path, m: &Manifest) -> Option<String> {
    let want = m.partial_bytes?;
    let path = dir.join(partial::PARTIAL);
    match std::fs::symlink_metadata(&path) {
        Ok(f) if f.is_file() && f.len() == want => None,
        Ok(f) if f.is_file() => Some(format!(
            "{}: {} bytes, its manifest says {want}",
            path.display(),
            f.len()
        )),
        Ok(_) => Some(format!("{}: not a regular file", path.display())),
        Err(e) => Some(Error::io(&path, e).to_string()),
    }
}

impl Seen {
    /// What the report directories beside `out` analyzed, `out` itself
    /// left out.
    pub fn beside(out: &Path, identity: &Identity) -> Result<Seen> {
        let mut seen = Seen::default();
        let (out_r, parent) = placed(out);
        let entries = match std::fs::read_dir(&parent) {
            Ok(e) => e,
            // Nothing there yet: the first night.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seen),
            Err(e) => return Err(Error::io(&parent, e)),
        };
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&parent, e))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            // Not followed: a link beside the nights is not a night.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if !hidden && is_dir && entry.path() != out_r {
                dirs.push(entry.path());
            }
        }
        // Warnings in a stable order.
        dirs.sort();
        for dir in dirs {
            let manifest = match Manifest::read(&dir) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    seen.unreadable.push(e.to_string());
                    continue;
                }
            };
            if let Some(why) = identity.differs(&manifest) {
                seen.unlike.push((dir, why));
                continue;
            }
            if let Some(why) = short_partial(&dir, &manifest) {
                seen.unreadable.push(why);
                continue;
            }
            match partial::read_seen(&dir) {
                // What an interrupted copy leaves: taken whole or not at all.
                Ok(lines) if lines.len() != manifest.calls => seen.unreadable.push(format!(
                    "{}: {} call(s), its manifest says {}",
                    dir.join(partial::PARTIAL).display(),
                    lines.len(),
                    manifest.calls
                )),
                Ok(lines) => {
                    for s in lines {
                        seen.seen
                            .entry(s.recording)
                            .or_default()
                            .insert(s.fingerprint);
                    }
                }
                Err(e) => seen.unreadable.push(e.to_string()),
            }
        }
        Ok(seen)
    }

    pub fn contains(&self, recording: &str, fingerprint: &str) -> bool {
        self.seen
            .get(recording)
            .is_some_and(|f| f.contains(fingerprint))
    }
}
