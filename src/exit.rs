//! The exit codes, a stable contract for scripts and cron.

use crate::error::Error;

/// Everything worked and the data had no problem at the level asked about.
pub const OK: i32 = 0;
/// The command ran, and found failures or findings in the data.
pub const DATA: i32 = 1;
/// The command line or a configuration file cannot be acted on; nothing was done.
pub const USAGE: i32 = 2;
/// Stopped by Ctrl-C or SIGTERM.
pub const INTERRUPTED: i32 = 130;

/// The exit code for an error that stopped a command.
pub fn for_error(e: &Error) -> i32 {
    match e {
        Error::Usage(_) => USAGE,
        Error::Interrupted => INTERRUPTED,
        // A root that cannot be read is a configuration problem too.
        Error::Io { .. } => USAGE,
        _ => DATA,
    }
}
