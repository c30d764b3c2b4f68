//! The exit codes, a stable contract for scripts and cron.

use crate::error::Error;

/// Everything worked and the data had no problem at the level asked about.
pub const OK: i32 = 0;
/// The command ran, and found failures or findings in the data.
pub const DATA: i32 = 1;
/// The command line or a configuration file cannot be acted on; nothing was done.
pub const USAGE: i32 = 2;
/// The command could not write what it had to (reports, a repaired file):
/// the disk, permissions or the file system failed while it worked
/// (sysexits' EX_IOERR). Nothing half-written is left in place.
pub const IO_FAILURE: i32 = 74;
/// Another callscope is changing the same root (it holds the lock): try
/// later (sysexits' EX_TEMPFAIL, which cron wrappers and systemd treat so).
pub const BUSY: i32 = 75;
/// Stopped by Ctrl-C or SIGTERM.
pub const INTERRUPTED: i32 = 130;

/// The exit code for an error that stopped a command.
pub fn for_error(e: &Error) -> i32 {
    match e {
        Error::Usage(_) => USAGE,
        Error::Interrupted => INTERRUPTED,
        Error::Busy(_) => BUSY,
        // A root that cannot be read is a configuration problem too.
        Error::Io { .. } => USAGE,
        Error::Write { .. } => IO_FAILURE,
        _ => DATA,
    }
}
