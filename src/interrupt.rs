//! SIGINT, SIGTERM and SIGHUP: long runs stop taking new work, finish the
//! file operation under way (no half-written file is left), and exit with
//! 130 for Ctrl-C (SIGINT) and 143 for SIGTERM (what `timeout`, systemd
//! and cron wrappers send) or a hang-up. Work checks the flag per call,
//! and long loops inside a call check it too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::{Error, Result};

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
