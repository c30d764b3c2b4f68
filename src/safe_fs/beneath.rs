//! The one way callscope reaches the places it keeps its own state in a
//! store it does not own (`ROOT/.callscope/`, its trash, locks and logs, a
//! recording's `.callscope/backup/`): from a directory the user named, one
//! name at a time, each entered with `O_NOFOLLOW | O_DIRECTORY`, so no
//! symlink, file or FIFO planted on the way is ever followed or written
//! through. What is found there instead of a directory is an error naming
//! the path, and nothing is done.
//!
//! Every later operation goes through the directory handle, never through
//! the path again: a directory swapped for a link after it was checked is
//! not where callscope writes. Operations name their target as
//! `/proc/self/fd/N/NAME`, which the kernel resolves to the open handle
//! itself (not to whatever the path now names), so the standard library's
//! file operations (and `tempfile`) work beneath the handle unchanged;
//! `/proc` is on every Linux system callscope supports.
//!
//! Chosen over `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` because the
//! per-name walk works on every kernel (openat2 is 5.6+) and on every file
//! system, and says *which* name was not a directory.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A directory reached without following a link, held open.
#[derive(Debug)]
pub struct Beneath {
    fd: OwnedFd,
    shown: PathBuf,
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(io::Error::other)
}

/// Why `shown` cannot be used as callscope's own directory.
fn refused(shown: &Path, what: &str) -> io::Error {
    io::Error::other(format!(
        "{}: {what}, where callscope keeps a directory of its own; nothing was done (remove it, or move it aside)",
        shown.display()
    ))
}

/// `openat(dir, name, O_DIRECTORY | O_NOFOLLOW)`.
fn open_dir_at(dir: i32, name: &CString) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; the flags ask for no creation.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What stands at `name` in `dir`, described without following it.
fn describe_at(dir: i32, name: &CString) -> &'static str {
    // SAFETY: an all-zero stat is a valid value for fstatat to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` is a valid out-pointer.
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r != 0 {
        return "not a directory";
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFLNK => "a symlink",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFREG => "a regular file",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        _ => "not a directory",
    }
}

impl Beneath {
    /// Open `base` (as the user named it: links in it are the user's own),
    /// then enter each name of `rel` without following links; with
    /// `create`, make a missing one (mode 0700: callscope's state is
    /// nobody else's). `rel` holds plain names only.
    pub fn open(base: &Path, rel: &Path, create: bool) -> io::Result<Beneath> {
        let file = File::open(base)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", base.display())))?;
        if !file.metadata()?.is_dir() {
            return Err(io::Error::other(format!(
                "{}: not a directory",
                base.display()
            )));
        }
        let mut dir = Beneath {
            fd: OwnedFd::from(file),
            shown: base.to_path_buf(),
        };
        for part in rel.components() {
            let Component::Normal(name) = part else {
                return Err(io::Error::other(format!(
                    "{}: only plain names are entered beneath a directory",
                    rel.display()
                )));
            };
            dir = dir.enter(name, create)?;
        }
        Ok(dir)
    }

    /// The directory `name` inside this one, entered without following a
    /// link (made 0700 when missing and `create`).
    pub fn enter(&self, name: &OsStr, create: bool) -> io::Result<Beneath> {
        let shown = self.shown.join(name);
        let c = cstr(name)?;
        let fd = match open_dir_at(self.fd.as_raw_fd(), &c) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                // SAFETY: `c` is NUL-terminated.
                let r = unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o700) };
                if r != 0 {
                    let e = io::Error::last_os_error();
                    // Made by another run at once: enter it as found.
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("{}: {e}", shown.display()),
                        ));
                    }
                }
                open_dir_at(self.fd.as_raw_fd(), &c).map_err(|e| match e.raw_os_error() {
                    Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                        refused(&shown, describe_at(self.fd.as_raw_fd(), &c))
                    }
                    _ => io::Error::new(e.kind(), format!("{}: {e}", shown.display())),
                })?
            }
            Err(e) => {
                return Err(match e.raw_os_error() {
                    Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                        refused(&shown, describe_at(self.fd.as_raw_fd(), &c))
                    }
                    _ => io::Error::new(e.kind(), format!("{}: {e}", shown.display())),
                })
            }
        };
        Ok(Beneath { fd, shown })
    }

    /// The directory's path for operations: the kernel resolves it to this
    /// open handle, wherever the directory is now.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    /// `name` inside the directory, for an operation (see [`Beneath::path`]).
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path().join(name)
    }

    /// The directory's path as the user knows it, for messages.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// Make the directory's entries durable.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: the handle is open for the life of `self`.
        if unsafe { libc::fsync(self.fd.as_raw_fd()) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// The directory `rel` (plain names) beneath `root`, where callscope keeps
/// its own state, reached as [`Beneath::open`] does.
pub fn state_dir(root: &Path, rel: &str, create: bool) -> io::Result<Beneath> {
    Beneath::open(root, Path::new(rel), create)
}

/// A file callscope writes and names to the user: an audit or repair log,
/// a lock. Either in callscope's own state directory (reached through a
/// [`Beneath`] handle held as long as this is), or at a path the user gave
/// (whose directories are the user's to link; only the file's own name is
/// never followed, see [`super::open_own_file`]).
#[derive(Debug, Clone)]
pub struct OwnPath {
    shown: PathBuf,
    dir: Option<std::sync::Arc<Beneath>>,
}

impl OwnPath {
    /// A path the user named.
    pub fn user(path: &Path) -> OwnPath {
        OwnPath {
            shown: path.to_path_buf(),
            dir: None,
        }
    }

    /// `name` in the state directory `rel` beneath `root`, refused if a
    /// link or non-directory is on the way. With `create`, the directory
    /// is made when missing; without (a dry run, which only reads), a
    /// missing one gives its plain path, where nothing is to be read.
    pub fn state(root: &Path, rel: &str, name: &str, create: bool) -> io::Result<OwnPath> {
        match state_dir(root, rel, create) {
            Ok(dir) => Ok(OwnPath {
                shown: dir.shown().join(name),
                dir: Some(std::sync::Arc::new(dir)),
            }),
            Err(e) if !create && e.kind() == io::ErrorKind::NotFound => {
                Ok(OwnPath::user(&root.join(rel).join(name)))
            }
            Err(e) => Err(e),
        }
    }

    /// The path to open or create it by.
    pub fn path(&self) -> PathBuf {
        match (&self.dir, self.shown.file_name()) {
            (Some(dir), Some(name)) => dir.join(name),
            _ => self.shown.clone(),
        }
    }

    /// The path the user knows it by.
    pub fn shown(&self) -> &Path {
        &self.shown
    }
}
