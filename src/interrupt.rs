//! Ctrl-C and SIGTERM: long runs stop taking new work, finish what is under
//! way (no half-written file is left), and exit with code 130.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Install the handler (once, from `main`).
pub fn install() {
    // Failing to install only means Ctrl-C kills the process the default way.
    let _ = ctrlc::set_handler(|| REQUESTED.store(true, Ordering::SeqCst));
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Interrupted)` once an interrupt was asked for.
pub fn check() -> Result<()> {
    if requested() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
