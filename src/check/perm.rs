//! Who else may read or change a recording. A recording holds a person's
//! voice and words: `check` reports, per recording, what others can read,
//! what a group or everyone can write, and what is not owned by the
//! store's owner; `repair --fix-permissions` takes away exactly the bits
//! these findings name, through a descriptor opened without following a
//! link, and logs every change.

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Finding;
use crate::recording::FileKind;

/// Others may read a file, or list or enter a directory (and so read the
/// files in it whose names are known: a recording's always are).
fn read_by_others(m: &fs::Metadata) -> bool {
    let mask = if m.is_dir() { 0o005 } else { 0o004 };
    m.mode() & mask != 0
}

/// One kind of exposure: its finding code, whether an entry (given the
/// store's owner) has it, and the mode bits a fix takes away.
struct Kind {
    code: &'static str,
    exposed: fn(&fs::Metadata, u32) -> bool,
    bits: u32,
}

const KINDS: [Kind; 4] = [
    Kind {
        code: crate::check::code::PERM_WORLD_READABLE,
        exposed: |m, _| read_by_others(m),
        // Files lose others' read, directories their read and search.
        bits: 0o005,
    },
    Kind {
        code: crate::check::code::PERM_WORLD_WRITABLE,
        exposed: |m, _| m.mode() & 0o002 != 0,
        bits: 0o002,
    },
    Kind {
        code: crate::check::code::PERM_GROUP_WRITABLE,
        exposed: |m, _| m.mode() & 0o020 != 0,
        bits: 0o020,
    },
    Kind {
        code: crate::check::code::PERM_OWNER_MISMATCH,
        exposed: |m, owner| m.uid() != owner,
        bits: 0,
    },
];

/// How many entries of one recording are looked at: a recording has seven
/// files and callscope's own few; a directory holding millions is not a
/// recording, and its walk must end.
const MAX_ENTRIES: usize = 4096;

/// The recording directory and everything under it, links not followed
/// (a link's own mode means nothing), each with its metadata.
fn entries(dir: &Path) -> Vec<(PathBuf, fs::Metadata)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_symlink() {
            continue;
        }
        if m.is_dir() {
            if let Ok(rd) = fs::read_dir(&p) {
                todo.extend(rd.flatten().map(|e| e.path()));
            }
        }
        out.push((p, m));
        if out.len() >= MAX_ENTRIES {
            break;
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A path as a finding names it: relative to the recording.
fn shown(dir: &Path, p: &Path) -> String {
    match p.strip_prefix(dir) {
        Ok(r) if r.as_os_str().is_empty() => "the directory".into(),
        Ok(r) => r.display().to_string(),
        Err(_) => p.display().to_string(),
    }
}

/// The permission findings of one recording: one per kind of exposure,
/// naming the files and modes. `owner` is the store root's owner.
pub fn audit(dir: &Path, owner: u32) -> Vec<Finding> {
    let all = entries(dir);
    let mut out = Vec::new();
    for Kind { code, exposed, .. } in KINDS {
        let exposed_here: Vec<&(PathBuf, fs::Metadata)> =
            all.iter().filter(|(_, m)| exposed(m, owner)).collect();
        let hits: Vec<String> = exposed_here
            .iter()
            .map(|(p, m)| {
                if code == crate::check::code::PERM_OWNER_MISMATCH {
                    format!("{} (uid {})", shown(dir, p), m.uid())
                } else {
                    format!("{} ({:04o})", shown(dir, p), m.mode() & 0o7777)
                }
            })
            .collect();
        if hits.is_empty() {
            continue;
        }
        let what = match code {
            crate::check::code::PERM_WORLD_READABLE => {
                "readable by every user of the machine".to_string()
            }
            crate::check::code::PERM_WORLD_WRITABLE => {
                "writable by every user of the machine".to_string()
            }
            crate::check::code::PERM_GROUP_WRITABLE => "writable by its group".to_string(),
            _ => format!("not owned by the store's owner (uid {owner})"),
        };
        let mut list = hits.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
        if hits.len() > 6 {
            list.push_str(&format!(" and {} more", hits.len() - 6));
        }
        let fix = if code == crate::check::code::PERM_OWNER_MISMATCH {
            ""
        } else {
            "; repair --fix-permissions takes the bits away"
        };
        // One recording file alone: the finding is filed under it.
        let file = match exposed_here.as_slice() {
            [(p, _)] if p.parent() == Some(dir) => p
                .file_name()
                .and_then(|n| FileKind::from_file_name(&n.to_string_lossy())),
            _ => None,
        };
        out.push(Finding::new(code, file, format!("{what}: {list}{fix}")));
    }
    out
}

/// The store as a whole, for the line under `check`'s totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreSummary {
    pub root: String,
    /// The root directory's mode, octal.
    pub root_mode: String,
    pub root_readable_by_others: bool,
    pub owner_uid: u32,
    /// Recordings with at least one finding of each kind.
    pub world_readable: usize,
    pub world_writable: usize,
    pub group_writable: usize,
    pub owner_mismatch: usize,
}

impl StoreSummary {
    pub fn new(root: &Path, findings: &[&[Finding]]) -> Option<StoreSummary> {
        let m = fs::metadata(root).ok()?;
        let count = |code: &str| {
            findings
                .iter()
                .filter(|fs| fs.iter().any(|f| f.code == code))
                .count()
        };
        Some(StoreSummary {
            root: root.display().to_string(),
            root_mode: format!("{:04o}", m.mode() & 0o7777),
            root_readable_by_others: read_by_others(&m),
            owner_uid: m.uid(),
            world_readable: count(crate::check::code::PERM_WORLD_READABLE),
            world_writable: count(crate::check::code::PERM_WORLD_WRITABLE),
            group_writable: count(crate::check::code::PERM_GROUP_WRITABLE),
            owner_mismatch: count(crate::check::code::PERM_OWNER_MISMATCH),
        })
    }

    /// One line, or nothing when the store is private.
    pub fn line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.root_readable_by_others {
            parts.push(format!(
                "the store root {} is {}: every user can list it",
                self.root, self.root_mode
            ));
        }
        for (n, what) in [
            (self.world_readable, "readable by others"),
            (self.world_writable, "writable by others"),
            (self.group_writable, "group-writable"),
            (self.owner_mismatch, "holding files of another owner"),
        ] {
            if n > 0 {
                parts.push(format!("{n} recording(s) {what}"));
            }
        }
        (!parts.is_empty()).then(|| format!("permissions: {}", parts.join("; ")))
    }
}

/// The owner a store's recordings should have: the root's.
pub fn store_owner(root: &Path) -> Option<u32> {
    fs::metadata(root).ok().map(|m| m.uid())
}

/// One mode change `repair --fix-permissions` made (or would make).
#[derive(Debug, Clone, Serialize)]
pub struct ModeChange {
    pub recording: String,
    /// Relative to the recording (`.` for its directory).
    pub path: PathBuf,
    pub mode_before: String,
    pub mode_after: String,
    /// Why it could not be made, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Take away the bits the findings name (others' access, group and world
/// write) from a recording's files and directories. Each is opened without
/// following a link and changed through that descriptor, so a file swapped
/// for a link between the look and the change is never the link's target.
pub fn fix(recording: &str, dir: &Path, apply: bool) -> Vec<ModeChange> {
    let remove: u32 = KINDS.iter().fold(0, |a, k| a | k.bits);
    let mut out = Vec::new();
    for (p, m) in entries(dir) {
        let before = m.mode() & 0o7777;
        let after = before & !remove;
        if after == before {
            continue;
        }
        let error = if apply {
            chmod_no_follow(&p, &m, after).err().map(|e| e.to_string())
        } else {
            None
        };
        let rel = p.strip_prefix(dir).unwrap_or(&p);
        out.push(ModeChange {
            recording: recording.to_string(),
            path: if rel.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                rel.to_path_buf()
            },
            mode_before: format!("{before:04o}"),
            mode_after: format!("{after:04o}"),
            error,
        });
    }
    out
}

fn chmod_no_follow(p: &Path, seen: &fs::Metadata, mode: u32) -> std::io::Result<()> {
    let mut o = fs::OpenOptions::new();
    o.read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    if seen.is_dir() {
        o.custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY);
    } else if !seen.is_file() {
        return Err(std::io::Error::other(
            "not a regular file or a directory; left as it is",
        ));
    }
    let f = o.open(p)?;
    let now = f.metadata()?;
    if (now.dev(), now.ino()) != (seen.dev(), seen.ino()) {
        return Err(std::io::Error::other(
            "replaced while it was looked at; left as it is",
        ));
    }
    f.set_permissions(fs::Permissions::from_mode(mode))
}
