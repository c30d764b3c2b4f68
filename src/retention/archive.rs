//! Archiving a recording: copied (or packed into a .tar.gz, or a tar
//! encrypted to age recipients) outside ROOT under a temporary name, every
//! file's SHA-256 checked against the intent line's, renamed into place,
//! and only then the original removed. An archive is never overwritten,
//! never inside ROOT, never the recording.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::apply::{delete, ApplyOptions, FileSum};
use super::policy::{ArchiveFormat, ArchiveSpec};
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
    let spec = d
        .archive
        .as_deref()
        .ok_or("the rule has no archive settings; nothing moved")?;
    if spec.format != ArchiveFormat::Directory {
        return archive_tar(d, spec, sums, opts);
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

/// Archive as one file, `{recording}.tar.gz`, `.tar.age` or `.tar.gz.age`
/// (entries `{directory}/{file}`), streamed: memory does not grow with the
/// recording. It is written under a temporary name and fsynced; every
/// file's bytes as they went in are checked against the intent line's
/// SHA-256, and the archive is read back: a `.tar.gz` decompressed and
/// every file's SHA-256 compared; an encrypted one decrypted and compared
/// file by file when the policy gives `verify_identity` (without it,
/// nothing here can look inside). Only then is it put in place;
/// the original then goes like `delete`. A failure at any step keeps the
/// original.
fn archive_tar(
    d: &Decision,
    spec: &ArchiveSpec,
    sums: &[FileSum],
    opts: &ApplyOptions,
) -> Result<serde_json::Value, String> {
    let format = spec.format;
    let dest = archive_dest(d, opts, format.suffix())?;
    let err = |e: std::io::Error| format!("{}: {e}", dest.display());
    let leaf = PathBuf::from(d.dir.file_name().unwrap_or_default());
    let want = expected(sums, &leaf)?;
    let keys = match (format.encrypted(), &spec.keys) {
        (false, _) => None,
        (true, Some(k)) => Some(k),
        (true, None) => return Err("the policy gives no age recipients; nothing moved".into()),
    };
    if dest.symlink_metadata().is_ok() {
        // Hashed once: the proof in the audit log and the done line use it.
        let sha = safe_fs::sha256_file(&dest).map_err(err)?;
        let same = match keys.map(|k| &k.verify) {
            None => tar_checksums(&dest, format, None).is_ok_and(|there| there == want),
            Some(Some(id)) => tar_checksums(&dest, format, Some(id)).is_ok_and(|t| t == want),
            Some(None) => written_before(opts, &dest, &sha, &want)?,
        };
        let mut done = finish_with_existing(d, opts, &dest, same)?;
        done["archive_sha256"] = sha.into();
        return Ok(done);
    }
    let mut out = AtomicFile::create(&dest).map_err(err)?;
    let mut hashed = safe_fs::HashingWriter::new(out.writer());
    // Compression level 1: audio gains little from more (a simulated call's
    // tar is 7 % larger than at level 6) and costs three times the time.
    let fed = match (format.compressed(), keys) {
        (true, None) => {
            let gz = flate2::write::GzEncoder::new(&mut hashed, flate2::Compression::fast());
            let (gz, fed) = write_tar(gz, d, &leaf)?;
            gz.finish().map_err(err)?;
            fed
        }
        (compressed, Some(k)) => {
            let recipients = k.recipients.iter().map(|r| r as &dyn age::Recipient);
            let encrypted = age::Encryptor::with_recipients(recipients)
                .map_err(|e| format!("{}: {e}", dest.display()))?
                .wrap_output(&mut hashed)
                .map_err(err)?;
            if compressed {
                let gz = flate2::write::GzEncoder::new(encrypted, flate2::Compression::fast());
                let (gz, fed) = write_tar(gz, d, &leaf)?;
                gz.finish()
                    .and_then(age::stream::StreamWriter::finish)
                    .map_err(err)?;
                fed
            } else {
                let (encrypted, fed) = write_tar(encrypted, d, &leaf)?;
                encrypted.finish().map_err(err)?;
                fed
            }
        }
        (false, None) => unreachable!("the directory format is not a tar"),
    };
    // The archive's SHA-256, of the bytes as they were written (the audit
    // log's record of it; reading it back from the page cache would prove
    // nothing more about the disk, and cost a pass over the recording).
    let sha = hashed.finish();
    out.finish().map_err(err)?;
    same_files(&want, &fed)?;
    match keys {
        None => same_files(
            &want,
            &tar_checksums(out.temp(), format, None).map_err(err)?,
        )?,
        Some(k) => {
            if let Some(id) = &k.verify {
                let got = tar_checksums(out.temp(), format, Some(id)).map_err(|e| {
                    format!("{}: does not decrypt: {e}; original kept", dest.display())
                })?;
                same_files(&want, &got)?;
            }
            // Proof for a re-run that finds this archive in place before
            // the original went: without the private key it cannot look
            // inside, so it matches the archive's SHA-256 and the files'.
            super::apply::audit(
                opts,
                json!({
                    "event": "archive_written",
                    "recording": d.recording,
                    "archive": resolved(&dest),
                    "archive_sha256": sha,
                    "files_sha256": files_digest(&want),
                }),
            )?;
        }
    }
    out.commit(None).map_err(err)?;
    delete(d, opts)?;
    Ok(json!({ "archived_to": dest.display().to_string(), "archive_sha256": sha }))
}

/// Put every file of the recording into a tar written to `w`; returns the
/// writer and each file's SHA-256 as it went in. Each file is opened as
/// `delete` and `files_under` see it: never through a link, only if regular.
fn write_tar<W: std::io::Write>(
    w: W,
    d: &Decision,
    leaf: &Path,
) -> Result<(W, BTreeMap<PathBuf, String>), String> {
    let mut tar = tar::Builder::new(w);
    let mut fed = BTreeMap::new();
    for (name, _) in &d.files {
        let at = |e: std::io::Error| format!("{name}: {e}");
        let file = safe_fs::open_regular(&d.dir.join(name)).map_err(at)?;
        let meta = file.metadata().map_err(at)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        let mut reader = safe_fs::HashingReader::new(std::io::Read::take(file, meta.len()));
        tar.append_data(&mut header, leaf.join(name), &mut reader)
            .map_err(at)?;
        let (len, sha) = reader.finish();
        if len != meta.len() {
            return Err(format!(
                "{name}: changed while it was archived; original kept"
            ));
        }
        fed.insert(leaf.join(name), sha);
    }
    let w = tar.into_inner().map_err(|e| e.to_string())?;
    Ok((w, fed))
}

/// An archive's path as the audit log's proof names it: resolved, so a
/// re-run from another directory finds it.
fn resolved(dest: &Path) -> String {
    safe_fs::resolve(dest)
        .unwrap_or_else(|_| dest.to_path_buf())
        .display()
        .to_string()
}

/// One digest of what an archive must hold (each file's path and SHA-256).
fn files_digest(want: &BTreeMap<PathBuf, String>) -> String {
    let text: String = want
        .iter()
        .map(|(p, sha)| format!("{sha}  {}\n", p.display()))
        .collect();
    safe_fs::sha256_reader(&mut text.as_bytes()).unwrap_or_default()
}

/// Whether the audit log holds this run's or an earlier one's proof that
/// the encrypted archive at `dest`, with this SHA-256, was written from
/// exactly these files (a prune killed after putting it in place, before
/// the original went). Only callscope writes the audit log (in the store's
/// private state directory, or where `--audit` says).
fn written_before(
    opts: &ApplyOptions,
    dest: &Path,
    sha: &str,
    want: &BTreeMap<PathBuf, String>,
) -> Result<bool, String> {
    use std::io::BufRead;
    let digest = files_digest(want);
    let file = match safe_fs::open_regular(&opts.audit.path()) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("{}: {e}", opts.audit.shown().display())),
    };
    let dest = resolved(dest);
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", opts.audit.shown().display()))?;
        if !line.contains("\"archive_written\"") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["event"] == "archive_written"
            && v["archive"] == dest.as_str()
            && v["archive_sha256"] == sha
            && v["files_sha256"] == digest.as_str()
        {
            return Ok(true);
        }
    }
    Ok(false)
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

/// The SHA-256 of every file in an archive of `format`, by path; an
/// encrypted one is decrypted with `identity` as it is read.
fn tar_checksums(
    path: &Path,
    format: ArchiveFormat,
    identity: Option<&age::x25519::Identity>,
) -> std::io::Result<BTreeMap<PathBuf, String>> {
    let file = std::io::BufReader::new(safe_fs::open_regular(path)?);
    let plain: Box<dyn std::io::Read> = match identity {
        None => Box::new(file),
        Some(id) => {
            let bad = |e: age::DecryptError| std::io::Error::other(e.to_string());
            let decryptor = age::Decryptor::new_buffered(file).map_err(bad)?;
            Box::new(
                decryptor
                    .decrypt(std::iter::once(id as &dyn age::Identity))
                    .map_err(bad)?,
            )
        }
    };
    let tar: Box<dyn std::io::Read> = if format.compressed() {
        Box::new(flate2::read::GzDecoder::new(plain))
    } else {
        plain
    };
    let mut archive = tar::Archive::new(tar);
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
