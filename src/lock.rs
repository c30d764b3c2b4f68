//! The locks that keep two commands from changing one recordings root at
//! once (`repair`, `prune --apply`, `erase --apply`), or writing one report
//! directory at once (`run`, `merge`). An OS advisory lock
//! (`flock` through `File::try_lock`) on `ROOT/.callscope/lock`: the kernel
//! releases it when its holder exits, however it exits, so a dead holder
//! never blocks anyone. The file also says who holds it, for the message
//! the second command prints.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::error::{Error, Result};
use crate::recording::format_utc;

/// Held until dropped.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
}

/// Where a root's lock lives.
pub fn lock_path(root: &Path) -> PathBuf {
    root.join(".callscope").join("lock")
}

/// The user running callscope: `$USER`, else the numeric uid.
pub fn user_name() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        // SAFETY: getuid cannot fail and has no preconditions.
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }))
}

/// This machine's host name.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Take the root's lock for `command`; with `wait`, try again until that
/// much time has passed. A lock held by another process is `Error::Busy`
/// (exit 75), naming the holder.
pub fn acquire(root: &Path, command: &str, wait: Option<Duration>) -> Result<RootLock> {
    // Never create the root: a mistyped or unmounted one is an error.
    crate::recording::check_root(root)?;
    // `.callscope` is reached without following a link (a link there is an
    // error), and the lock is taken through that handle.
    let state = crate::safe_fs::state_dir(root, ".callscope", true)
        .map_err(|e| Error::Usage(e.to_string()))?;
    acquire_at(
        &state.join("lock"),
        &lock_path(root),
        "this root",
        command,
        wait,
    )
}

/// Take the lock file `path` (created if needed) that guards `what` (for
/// the message), as [`acquire`] does.
pub fn acquire_file(
    path: &Path,
    what: &str,
    command: &str,
    wait: Option<Duration>,
) -> Result<RootLock> {
    acquire_at(path, path, what, command, wait)
}

/// Take the lock file at `open` (a path for the operation), named `path`
/// in messages. A symlink, FIFO or anything but a regular file there is
/// refused: the lock file is written to, and must be callscope's own.
fn acquire_at(
    open: &Path,
    path: &Path,
    what: &str,
    command: &str,
    wait: Option<Duration>,
) -> Result<RootLock> {
    let path = path.to_path_buf();
    let mut file = crate::safe_fs::open_own_file(open, false).map_err(|e| {
        if e.kind() == std::io::ErrorKind::Other {
            Error::Usage(format!("{}: {e}; nothing was done", path.display()))
        } else {
            Error::io(&path, e)
        }
    })?;
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::Busy(format!(
                    "{}: another callscope holds {what} ({}); try again later{}",
                    path.display(),
                    if holder.is_empty() {
                        "it is still starting"
                    } else {
                        holder
                    },
                    if wait.is_some() {
                        " (--wait ran out)"
                    } else {
                        ", or give --wait DURATION"
                    }
                )));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
    // Ours now: say who holds it.
    let who = format!(
        "pid {}, host {}, command {command}, since {}",
        std::process::id(),
        host_name(),
        format_utc(&Utc::now())
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(who.as_bytes()));
    written.map_err(|e| Error::io(&path, e))?;
    Ok(RootLock { _file: file })
}

/// How long `--wait` waits: a length of time in the one grammar
/// (`30s`, `5m`, `2h`, `1d`, `PT10M`, see [`crate::duration`]) or a plain
/// number of seconds; at most a week (a longer wait is a mistake, and a
/// clock far off would overflow).
pub fn parse_wait(s: &str) -> std::result::Result<Duration, String> {
    use crate::duration::{Reading, Span};
    const WEEK: u64 = 7 * 86_400;
    let span = Span::parse(s, Reading::Wait)?;
    match span.exact_seconds() {
        Some(secs) if secs <= WEEK => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "'{}' is longer than a week; give at most 7d",
            s.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_named_and_the_lock_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "repair", None).unwrap();
        let e = acquire(dir.path(), "prune", None).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Busy(_)), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())) && msg.contains("command repair"),
            "{msg}"
        );
        let waited = Instant::now();
        let e = acquire(dir.path(), "prune", Some(Duration::from_millis(300))).unwrap_err();
        assert!(waited.elapsed() >= Duration::from_millis(300));
        assert!(e.to_string().contains("--wait ran out"), "{e}");
        drop(first);
        acquire(dir.path(), "prune", None).unwrap();
    }

    #[test]
    fn the_holder_is_named_by_user_and_host() {
        // The kernel's own record of the host name.
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(host_name(), host.trim());
        assert!(!host_name().is_empty());
        match std::env::var("USER") {
            Ok(u) if !u.is_empty() => assert_eq!(user_name(), u),
            // SAFETY: getuid has no preconditions.
            _ => assert_eq!(user_name(), format!("uid {}", unsafe { libc::getuid() })),
        }
        let dir = tempfile::tempdir().unwrap();
        let _held = acquire(dir.path(), "repair", None).unwrap();
        let msg = acquire(dir.path(), "prune", None).unwrap_err().to_string();
        assert!(msg.contains(&format!("host {}", host.trim())), "{msg}");
    }

    #[test]
    fn wait_durations() {
        assert_eq!(parse_wait("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_wait("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_wait("soon").is_err());
        assert_eq!(parse_wait("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_wait("8d").is_err());
        assert!(parse_wait("99999999999999999999h").is_err());
        assert!(parse_wait("5w").is_err());
    }
}
