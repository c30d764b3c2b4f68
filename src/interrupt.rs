//! SIGINT, SIGTERM and SIGHUP: long runs stop taking new work, finish the
//! file operation under way (no half-written file is left), and exit with
//! 130 for Ctrl-C (SIGINT) and 143 for SIGTERM (what `timeout`, systemd
//! and cron wrappers send) or a hang-up. Work checks the flag per call,
//! and long loops inside a call check it too.
//!
//! A stop always stops: work that does not reach the flag within
//! [`GRACE`] (a plugin that never returns, a read that blocks) is
//! abandoned. A watchdog thread then removes the temporary files and
//! directories registered with [`AbandonOnStop`] (so nothing half-written
//! is left beside a report or a recording) and ends the process with the
//! signal's exit code; a second signal does the same at once. Plugin hosts
//! are started to die with the process (see `plugin::isolate`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::{Error, Result};

/// How long work has, after a stop was asked for, to reach the flag.
pub const GRACE: Duration = Duration::from_secs(5);

/// Temporary paths to remove if the process is abandoned mid-work.
fn temporaries() -> &'static Mutex<Vec<PathBuf>> {
    static T: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Vec::new()))
}

/// A temporary file or directory being written: removed if the process is
/// abandoned after a stop, for as long as this guard lives (drop it once
/// the path is in place or gone).
#[derive(Debug)]
pub struct AbandonOnStop(PathBuf);

impl AbandonOnStop {
    pub fn new(path: &Path) -> AbandonOnStop {
        if let Ok(mut t) = temporaries().lock() {
            t.push(path.to_path_buf());
        }
        AbandonOnStop(path.to_path_buf())
    }
}

impl Drop for AbandonOnStop {
    fn drop(&mut self) {
        if let Ok(mut t) = temporaries().lock() {
            if let Some(i) = t.iter().rposition(|p| *p == self.0) {
                t.swap_remove(i);
            }
        }
    }
}

/// Remove what is registered and end the process with `code`, at once:
/// no destructor runs and no other thread is waited for.
fn abandon(code: i32) -> ! {
    // try_lock: a thread stopped while holding the lock must not stop this.
    if let Ok(t) = temporaries().try_lock() {
        for p in t.iter() {
            let _ = match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
                Ok(_) => std::fs::remove_file(p),
                Err(_) => Ok(()),
            };
        }
    }
    eprintln!(
        "callscope: stopped: work that did not stop within {} s was abandoned",
        GRACE.as_secs()
    );
    // SAFETY: _exit ends the process without running anything else; it
    // has no preconditions.
    unsafe { libc::_exit(code) }
}

/// The exit code for a stop by `signal`.
fn code_of(signal: i32) -> i32 {
    if signal == SIGINT {
        130
    } else {
        143
    }
}

/// The watchdog: after the first signal, wait out the grace; after a
/// second, or when the grace is over, abandon.
fn watch() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        let mut first = None;
        for signal in signals.forever() {
            match first {
                None => {
                    first = Some(signal);
                    std::thread::spawn(move || {
                        std::thread::sleep(GRACE);
                        abandon(code_of(signal));
                    });
                }
                Some(s) => abandon(code_of(s)),
            }
        }
    });
}

/// The signal that asked to stop, 0 while none has.
fn flag() -> &'static Arc<AtomicUsize> {
    static FLAG: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// Install the handlers (once, from `main`).
pub fn install() {
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // Failing to install only means the signal ends the process the
        // default way.
        let _ = signal_hook::flag::register_usize(signal, Arc::clone(flag()), signal as usize);
    }
    watch();
}

pub fn requested() -> bool {
    flag().load(Ordering::Relaxed) != 0
}

/// Whether the stop was asked for by SIGTERM or SIGHUP (a termination)
/// rather than Ctrl-C.
pub fn terminated() -> bool {
    let s = flag().load(Ordering::Relaxed);
    s == SIGTERM as usize || s == SIGHUP as usize
}

/// `Err(Interrupted)` once a stop was asked for.
pub fn check() -> Result<()> {
    if requested() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
