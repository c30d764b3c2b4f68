//! Changing files so that a process killed at any point leaves each file
//! either the old one or the new one: write a temporary file beside the
//! target, fsync it, keep the original in a backup, rename over, fsync the
//! directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod beneath;
mod mode;
mod temps;
pub use beneath::{state_dir, Beneath, OwnPath};
pub use mode::OutputMode;
pub use temps::{is_stale_temp, owner_tag, remove_stale_temps, stale_temps, TEMP_SUFFIX};

/// Open a recording's file for reading only if it is a regular file: a
/// FIFO, a device or a socket named like a recording file would block or
/// never end. `O_NOFOLLOW` refuses a symlink (links are never followed).
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_checked(OpenOptions::new().read(true), path, libc::O_NOFOLLOW)
}

/// Open a file named by the user (a policy's hold list), following a
/// symlink to it, only if it is a regular file.
pub fn open_regular_followed(path: &Path) -> io::Result<File> {
    open_checked(OpenOptions::new().read(true), path, 0)
}

/// Open (creating it if missing) a file callscope appends to or locks,
/// never through a symlink at its name, and only if it is a regular file:
/// a link there would make callscope write into its target.
pub fn open_own_file(path: &Path, append: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    if append {
        o.append(true);
    } else {
        o.read(true).write(true);
    }
    open_checked(o.create(true), path, libc::O_NOFOLLOW)
}

/// Open with `options`, `flags` and `O_NONBLOCK`, so that the open itself
/// returns at once whatever the file is; then keep it only if it is a
/// regular file (where `O_NONBLOCK` changes nothing).
fn open_checked(options: &mut OpenOptions, path: &Path, flags: i32) -> io::Result<File> {
    let file = options
        .custom_flags(libc::O_NONBLOCK | flags)
        .open(path)
        .map_err(|e| {
            if flags & libc::O_NOFOLLOW != 0 && e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::other("a symlink; links are never followed")
            } else {
                e
            }
        })?;
    let ft = file.metadata()?.file_type();
    if !ft.is_file() {
        return Err(io::Error::other(format!(
            "{}, not a regular file; not opened",
            describe_type(&ft)
        )));
    }
    Ok(file)
}

/// The absolute path `p` stands for, with every link resolved in the part
/// that exists (the rest may not exist yet, as an archive root about to be
/// made), so two paths can be compared for containment.
pub fn resolve(p: &Path) -> io::Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    let mut base = abs.clone();
    let mut tail = Vec::new();
    let mut resolved = loop {
        match base.canonicalize() {
            Ok(c) => break c,
            Err(e) => {
                let (Some(name), Some(parent)) = (base.file_name(), base.parent()) else {
                    return Err(e);
                };
                tail.push(name.to_os_string());
                base = parent.to_path_buf();
            }
        }
    };
    for part in tail.iter().rev() {
        if part == ".." {
            resolved.pop();
        } else if part != "." {
            resolved.push(part);
        }
    }
    Ok(resolved)
}

/// A whole regular file (see [`open_regular`]).
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let mut bytes = Vec::with_capacity(file.metadata()?.len().min(1 << 30) as usize);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A whole regular file named by the user (a plan, a policy), links
/// followed: a FIFO or device there is refused, not waited on.
pub fn read_regular_followed(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open_regular_followed(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A file type in words, for findings and errors.
pub fn describe_type(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symlink"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A new version of `target` being written under a temporary name of its
/// own (created exclusively: two writers never share one).
pub struct AtomicFile {
    target: PathBuf,
    temp: tempfile::TempPath,
    writer: Option<BufWriter<File>>,
    _abandon: crate::interrupt::AbandonOnStop,
}

impl AtomicFile {
    /// A file callscope writes for its user (a report, a page, an export,
    /// an archive): created with the output mode (the umask, see
    /// [`OutputMode`]), whatever the file it replaces had.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        AtomicFile::new(target, false)
    }

    /// A new version of a recording's file: it keeps the mode and owner of
    /// the one it replaces (the recorder and its viewer read it as before).
    pub fn replace(target: &Path) -> io::Result<AtomicFile> {
        AtomicFile::new(target, true)
    }

    fn new(target: &Path, keep: bool) -> io::Result<AtomicFile> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        // A bare file name's parent is "", which tempfile takes as ".".
        let dir = target.parent().unwrap_or(Path::new(""));
        refuse_non_regular(target)?;
        let old = fs::symlink_metadata(target)
            .ok()
            .filter(|m| keep && m.is_file());
        // 0666 less the umask (tempfile's default would be 0600).
        let (file, temp) = tempfile::Builder::new()
            .permissions(fs::Permissions::from_mode(0o666))
            .prefix(&format!(".{name}.{}-", owner_tag()))
            .suffix(TEMP_SUFFIX)
            .rand_bytes(6)
            .tempfile_in(dir)?
            .into_parts();
        if let Some(old) = old {
            keep_mode_and_owner(&file, &old)?;
        }
        Ok(AtomicFile {
            target: target.to_path_buf(),
            _abandon: crate::interrupt::AbandonOnStop::new(&temp),
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
            w.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?
                .sync_all()?;
        }
        Ok(())
    }

    /// Put the new file in place. The original, if any, is first kept at
    /// `backup` (see [`keep_backup`]); returns where.
    pub fn commit(mut self, backup: Option<&Path>) -> io::Result<Option<PathBuf>> {
        self.finish()?;
        // Checked again: something may have been put there since.
        refuse_non_regular(&self.target)?;
        let kept = match backup {
            Some(b) if self.target.symlink_metadata().is_ok() => {
                Some(keep_backup(&self.target, b)?)
            }
            _ => None,
        };
        self.temp.persist(&self.target).map_err(|e| e.error)?;
        if let Some(dir) = self.target.parent() {
            fsync_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })?;
        }
        Ok(kept)
    }
}

/// Give a new file the mode (exactly: the umask does not apply to fchmod)
/// and the owner of the one it replaces. Only root may give a file away;
/// anyone else replacing a file owned by another keeps their own.
fn keep_mode_and_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::fd::AsFd;
    let ours = file.metadata()?;
    if (ours.uid(), ours.gid()) != (old.uid(), old.gid()) {
        match std::os::unix::fs::fchown(file.as_fd(), Some(old.uid()), Some(old.gid())) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            other => other?,
        }
    }
    file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
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

// Not committed: dropping the `TempPath` removes the temporary file, and the
// target is untouched.

/// Whatever is at `target` must be a regular file (or nothing) to be
/// replaced: a symlink, FIFO, device, socket or directory there is never
/// renamed over (the link's target, the device, the directory's files are
/// someone else's).
pub fn refuse_non_regular(target: &Path) -> io::Result<()> {
    match fs::symlink_metadata(target) {
        Ok(m) if !m.is_file() => Err(io::Error::other(format!(
            "{} is {}; callscope replaces only regular files",
            target.display(),
            describe_type(&m.file_type())
        ))),
        _ => Ok(()),
    }
}

/// `path` with `.n` appended (n = 0: `path` itself).
fn numbered(path: &Path, n: usize) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// `path`, or `path.1`, `path.2`… — the first name not taken now. (Only for
/// names that a single rename then claims; a file that must never replace
/// another is created exclusively instead, as [`keep_backup`] does.)
pub fn free_name(path: &Path) -> PathBuf {
    (0..)
        .map(|n| numbered(path, n))
        .find(|c| c.symlink_metadata().is_err())
        .expect("some name is free")
}

/// Keep a copy of `original` at `backup` (or `backup.1`, `backup.2`…, the
/// first name that can be *created*) before it is replaced or removed, and
/// prove it before returning where it went. The backup is a hard link to
/// the original (proved by the same inode), or, across file systems, a
/// copy into a file created exclusively (proved by size and SHA-256).
/// Nothing is ever written to an existing path: two runs at once each get a
/// backup of their own.
pub fn keep_backup(original: &Path, backup: &Path) -> io::Result<PathBuf> {
    if let Some(dir) = backup.parent() {
        fs::create_dir_all(dir)?;
    }
    let source = open_regular(original)?;
    let source_meta = source.metadata()?;
    let mut n = 0;
    let kept = loop {
        let candidate = numbered(backup, n);
        n += 1;
        match fs::hard_link(original, &candidate) {
            Ok(()) => {
                let m = fs::symlink_metadata(&candidate)?;
                if (m.dev(), m.ino()) != (source_meta.dev(), source_meta.ino()) {
                    // Another writer replaced the file between our open and
                    // our link: our link names its new file, not a backup.
                    // Nothing is lost (that file is in place); this change
                    // stops, built as it was on what is no longer there.
                    let _ = fs::remove_file(&candidate);
                    return Err(io::Error::other(format!(
                        "{}: the backup is not the original (it changed while it was kept)",
                        candidate.display()
                    )));
                }
                break candidate;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => {}
        }
        // Another file system (or no hard links): copy into a new file.
        let mut copy = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let mut hasher = HashingReader::new(open_regular(original)?);
        io::copy(&mut hasher, &mut copy)?;
        copy.sync_all()?;
        drop(copy);
        let (len, sha) = hasher.finish();
        let copied = fs::symlink_metadata(&candidate)?.len();
        if copied != len || sha256_file(&candidate)? != sha {
            return Err(io::Error::other(format!(
                "{}: the backup copy does not match the original",
                candidate.display()
            )));
        }
        break candidate;
    };
    if let Some(dir) = kept.parent() {
        fsync_dir(dir)?;
    }
    Ok(kept)
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Bytes read and their SHA-256, as lowercase hex.
    pub fn finish(self) -> (u64, String) {
        (self.len, hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// A writer that hashes what passes through it to the writer beneath.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The SHA-256 of everything written, as lowercase hex.
    pub fn finish(self) -> String {
        hex(&self.hasher.finalize())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    sha256_reader(&mut open_regular(path)?)
}

/// The SHA-256 of a file named by the user (a policy), links followed.
pub fn sha256_file_followed(path: &Path) -> io::Result<String> {
    sha256_reader(&mut open_regular_followed(path)?)
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
    Ok(hex(&hasher.finalize()))
}

/// Append one line to a log file and fsync it, so that the line is on disk
/// before anything that follows it happens.
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut f = open_own_file(path, true)?;
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    // One write call: concurrent appenders never interleave within a line.
    f.write_all(text.as_bytes())?;
    f.sync_data()
}

#[cfg(test)]
mod tests;
