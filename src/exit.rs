//! The exit codes, a stable contract for scripts and cron.

use crate::error::Error;

/// Everything worked and the data had no problem at the level asked about.
pub const OK: i32 = 0;
/// The command ran, and found failures or findings in the data.
pub const DATA: i32 = 1;
/// The command line or a configuration file cannot be acted on; nothing was done.
pub const USAGE: i32 = 2;
/// An I/O failure while the command worked: it could not write what it had
/// to (reports, a repaired file) or read what it had started on; the disk,
/// permissions or the file system failed (sysexits' EX_IOERR). Nothing
/// half-written is left in place.
pub const IO_FAILURE: i32 = 74;
/// Another callscope is changing the same root (it holds the lock): try
/// later (sysexits' EX_TEMPFAIL, which cron wrappers and systemd treat so).
pub const BUSY: i32 = 75;
/// Stopped by Ctrl-C (SIGINT).
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (`timeout`, systemd, a cron wrapper) or SIGHUP.
pub const TERMINATED: i32 = 143;

/// The exit code for an error that stopped a command.
pub fn for_error(e: &Error) -> i32 {
    match e {
        Error::Usage(_) => USAGE,
        Error::Interrupted if crate::interrupt::terminated() => TERMINATED,
        Error::Interrupted => INTERRUPTED,
        Error::Busy(_) => BUSY,
        // The root a command was given is checked first (a missing or
        // unreadable one is a usage error); an I/O error after that happened
        // while working.
        Error::Io { .. } | Error::Write { .. } => IO_FAILURE,
        // A file of the data that stopped a command outright (one recording
        // named on the command line).
        Error::Json { .. } | Error::Schema { .. } | Error::Wav { .. } | Error::TooLarge { .. } => {
            DATA
        }
    }
}
