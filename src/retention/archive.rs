//! Archiving a recording: copied (or packed into a .tar.gz) outside ROOT
//! under a temporary name, every file's SHA-256 checked against the intent
//! line's, renamed into place, and only then the original removed. An
//! archive is never overwritten, never inside ROOT, never the recording.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::apply::{delete, ApplyOptions, FileSum};
use super::policy::ArchiveFormat;
use super::Decision;
use crate::safe_fs::{self, AtomicFile};

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

pub(super) fn archive(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The check a fresh copy must pass before its original goes: every
    /// file there with its checksum, and nothing else.
    #[test]
    fn a_copy_differing_in_one_file_missing_one_or_with_an_extra_one_fails() {
        let sums = |v: &[(&str, &str)]| -> BTreeMap<PathBuf, String> {
            v.iter()
                .map(|(n, s)| (PathBuf::from(n), s.to_string()))
                .collect()
        };
        let want = sums(&[("a.wav", "11"), ("t.json", "22")]);
        assert_eq!(same_files(&want, &want.clone()), Ok(()));
        let e = same_files(&want, &sums(&[("a.wav", "11"), ("t.json", "23")])).unwrap_err();
        assert!(
            e.starts_with("t.json: ") && e.contains("original kept"),
            "{e}"
        );
        assert!(same_files(&want, &sums(&[("a.wav", "11")])).is_err());
        let extra = sums(&[("a.wav", "11"), ("t.json", "22"), ("x", "33")]);
        assert!(same_files(&want, &extra).unwrap_err().starts_with("x: "));
    }
}
