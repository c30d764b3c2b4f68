//! Finding recording directories under a root, at any depth, in a stable
//! order. Hidden directories (callscope's own `.callscope/`, trash) are not
//! recordings; symlinks are reported and never followed.

use std::fs;
use std::path::{Path, PathBuf};

use super::{FileEntry, FileKind, Recording};
use crate::error::{Error, Result};

/// A path discovery did not enter, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPath {
    pub path: PathBuf,
    pub reason: String,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sorted by relative path.
    pub recordings: Vec<Recording>,
    /// Symlinks and unreadable directories, sorted by path.
    pub skipped: Vec<SkippedPath>,
}

/// The known files in a directory (from directory entries; nothing opened),
/// and whether it holds the delete-audio marker (as a regular file).
pub(super) fn known_files(dir: &Path) -> Result<(Vec<FileEntry>, bool)> {
    let mut files = Vec::new();
    let mut marker = false;
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if name == super::AUDIO_REMOVED_MARKER {
            marker |= entry.file_type().is_ok_and(|t| t.is_file());
            continue;
        }
        let Some(kind) = name.to_str().and_then(FileKind::from_file_name) else {
            continue;
        };
        // symlink_metadata: a symlink is described, not followed.
        let meta = entry.metadata().map_err(|e| Error::io(&entry.path(), e))?;
        let symlink = meta.file_type().is_symlink();
        files.push(FileEntry {
            kind,
            len: if symlink { 0 } else { meta.len() },
            modified: if symlink { None } else { meta.modified().ok() },
            symlink,
            special: special(&meta.file_type()),
        });
    }
    Ok((files, marker))
}

/// What a known file is, when it is neither a regular file nor a symlink.
fn special(ft: &fs::FileType) -> Option<&'static str> {
    (!ft.is_file() && !ft.is_symlink()).then(|| crate::safe_fs::describe_type(ft))
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Walk `root` and return every recording directory beneath it (or `root`
/// itself, when it is one).
pub fn discover(root: &Path) -> Result<Discovery> {
    let mut recordings = Vec::new();
    let skipped = discover_each(root, |r| recordings.push(r))?;
    recordings.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Discovery {
        recordings,
        skipped,
    })
}

/// Walk `root` and hand each recording directory to `found` as it is met
/// (in walk order, not sorted), so that a caller keeping only part of each
/// never holds them all; returns what was skipped, sorted by path.
pub fn discover_each(root: &Path, mut found: impl FnMut(Recording)) -> Result<Vec<SkippedPath>> {
    check_root(root)?;
    let mut skipped = Vec::new();
    walk(root, root, &mut found, &mut skipped)?;
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(skipped)
}

/// The recording in `dir`, named `rel` (as discovery named it), if the
/// directory is still there and still holds a recording's files.
pub fn open_dir(dir: PathBuf, rel: &str) -> Result<Option<Recording>> {
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&dir, e)),
    }
    let (files, audio_removed) = known_files(&dir)?;
    if files.is_empty() && !audio_removed {
        return Ok(None);
    }
    Ok(Some(Recording::new(
        dir,
        rel.to_string(),
        files,
        audio_removed,
    )))
}

/// The root a command was given must be a directory it can read: anything
/// else is a mistake on the command line (exit 2), not a failure while
/// working.
pub fn check_root(root: &Path) -> Result<()> {
    let meta = fs::metadata(root).map_err(|e| Error::Usage(format!("{}: {e}", root.display())))?;
    if !meta.is_dir() {
        return Err(Error::Usage(format!("{}: not a directory", root.display())));
    }
    fs::read_dir(root).map_err(|e| Error::Usage(format!("{}: {e}", root.display())))?;
    Ok(())
}

/// Whether `rel` names a recording inside a root, as discovery names them:
/// plain names joined by `/`, never absolute, never `..`. A name read from
/// a file (a plan, a report's rows) is checked with it before it is used.
pub fn is_inside_name(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn rel_path(root: &Path, dir: &Path) -> String {
    match dir.strip_prefix(root) {
        Ok(p) if !p.as_os_str().is_empty() => p
            .components()
            .map(|c| super::name_text(c.as_os_str()))
            .collect::<Vec<_>>()
            .join("/"),
        // The root itself is the recording: name it by its own name.
        _ => root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(super::name_text))
            .unwrap_or_else(|| ".".to_string()),
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    found: &mut dyn FnMut(Recording),
    skipped: &mut Vec<SkippedPath>,
) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if dir == root => return Err(Error::io(dir, e)),
        Err(e) => {
            skipped.push(SkippedPath {
                path: dir.to_path_buf(),
                reason: format!("cannot read directory: {e}"),
            });
            return Ok(());
        }
    };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    // A recording whose audio the policy removed may hold nothing else.
    let mut marker = false;
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_symlink() {
            // A linked directory or a linked known file is reported, not followed.
            let known = FileKind::from_file_name(&name);
            if let Some(kind) = known {
                files.push(FileEntry {
                    kind,
                    len: 0,
                    modified: None,
                    symlink: true,
                    special: None,
                });
            }
            let target_is_dir = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
            if target_is_dir || known.is_some() {
                skipped.push(SkippedPath {
                    path: entry.path(),
                    reason: "symlink (not followed)".to_string(),
                });
            }
        } else if ft.is_dir() {
            if !is_hidden(&name) {
                subdirs.push(entry.path());
            }
        } else if name == super::AUDIO_REMOVED_MARKER {
            marker = ft.is_file();
        } else if let Some(kind) = FileKind::from_file_name(&name) {
            let meta = entry.metadata().ok();
            files.push(FileEntry {
                kind,
                len: meta.as_ref().map_or(0, std::fs::Metadata::len),
                modified: meta.and_then(|m| m.modified().ok()),
                symlink: false,
                special: special(&ft),
            });
        }
    }
    subdirs.sort();
    if !files.is_empty() || marker {
        // The recorder makes one directory per call and nothing below it.
        // A recorder file in a directory that has recordings beneath it is
        // a stray (copied or left there by hand): taking the directory for
        // one recording would make every recording below it part of that
        // one, to be listed, erased or archived with it.
        let mut below = Vec::new();
        for sub in &subdirs {
            walk(root, sub, &mut |r| below.push(r), skipped)?;
        }
        if below.is_empty() {
            found(Recording::new(
                dir.to_path_buf(),
                rel_path(root, dir),
                files,
                marker,
            ));
        } else {
            skipped.push(SkippedPath {
                path: dir.to_path_buf(),
                reason: format!(
                    "recorder files beside {} recording(s) in its subdirectories: not taken for a recording (its files are left alone)",
                    below.len()
                ),
            });
            below.into_iter().for_each(found);
        }
        return Ok(());
    }
    for sub in subdirs {
        walk(root, &sub, found, skipped)?;
    }
    Ok(())
}
