//! Changing files so that a process killed at any point leaves each file
//! either the old one or the new one: write a temporary file beside the
//! target, fsync it, keep the original in a backup, rename over, fsync the
//! directory.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The suffix of callscope's temporary files; a leftover one is from a
/// killed run and is removed by the next.
pub const TEMP_SUFFIX: &str = ".callscope-tmp";

/// The temporary name for a file about to replace `target`: hidden, in the same directory.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

/// Remove leftover temporary files in `dir` (from a killed run).
pub fn remove_stale_temps(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && path.is_file() {
            fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A new version of `target` being written under its temporary name.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let temp = temp_path(target);
        let file = File::create(&temp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    pub fn temp(&self) -> &Path {
        &self.temp
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("writer taken only by finish")
    }

    /// Flush and fsync the temporary file; it is then complete on disk.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(w) = self.writer.take() {
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        Ok(())
    }

    /// Put the new file in place. The original, if any, is first kept at
    /// `backup` (hard link, or a copy across file systems); returns where.
    pub fn commit(mut self, backup: Option<&Path>) -> io::Result<Option<PathBuf>> {
        self.finish()?;
        let kept = match backup {
            Some(b) if self.target.exists() => Some(keep_backup(&self.target, b)?),
            _ => None,
        };
        fs::rename(&self.temp, &self.target)?;
        if let Some(dir) = self.target.parent() {
            fsync_dir(dir)?;
        }
        Ok(kept)
    }
}

/// Writing to an `AtomicFile` writes to its temporary file.
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed: the temporary file goes, the target is untouched.
        if self.temp.exists() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// `path`, or `path.1`, `path.2`… — the first name not taken. A backup
/// never overwrites an earlier one.
pub fn free_name(path: &Path) -> PathBuf {
    let mut candidate = path.to_path_buf();
    let mut n = 0;
    while candidate.symlink_metadata().is_ok() {
        n += 1;
        let mut name = path.as_os_str().to_os_string();
        name.push(format!(".{n}"));
        candidate = PathBuf::from(name);
    }
    candidate
}

/// Keep a copy of `original` at `backup` (or the first free name after it)
/// before it is replaced or removed; returns where it went.
pub fn keep_backup(original: &Path, backup: &Path) -> io::Result<PathBuf> {
    if let Some(dir) = backup.parent() {
        fs::create_dir_all(dir)?;
    }
    let backup = free_name(backup);
    if fs::hard_link(original, &backup).is_err() {
        // Another file system (or no hard links): copy, and make it durable.
        fs::copy(original, &backup)?;
        File::open(&backup)?.sync_all()?;
    }
    if let Some(dir) = backup.parent() {
        fsync_dir(dir)?;
    }
    Ok(backup)
}

/// The SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    sha256_reader(&mut File::open(path)?)
}

/// The SHA-256 of everything a reader gives, as lowercase hex.
pub fn sha256_reader(r: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Append one line to a log file and fsync it, so that the line is on disk
/// before anything that follows it happens.
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    // One write call: concurrent appenders never interleave within a line.
    f.write_all(text.as_bytes())?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_keeps_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.wav");
        fs::write(&target, b"old").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.writer().write_all(b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"old", "untouched until commit");
        let backup = dir.path().join(".callscope/backup/x/a.wav");
        f.commit(Some(&backup)).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read(&backup).unwrap(), b"old");
        assert!(!temp_path(&target).exists());
    }

    #[test]
    fn dropped_without_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.wav");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.writer().write_all(b"partial").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn stale_temps_are_found_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".bot_audio.wav.callscope-tmp"), b"x").unwrap();
        fs::write(dir.path().join("bot_audio.wav"), b"y").unwrap();
        let removed = remove_stale_temps(dir.path()).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(dir.path().join("bot_audio.wav").exists());
    }

    #[test]
    fn sha256_of_known_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
