//! What every command writes: stdout through `anstream` (which drops colour
//! where it is not wanted: `--color never`, `NO_COLOR`, `CLICOLOR=0`, not a
//! terminal), warnings on stderr, JSON documents.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::recording::Discovery;
use crate::style;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour on a terminal, unless NO_COLOR is set or CLICOLOR=0.
    Auto,
    /// Always colour (CLICOLOR_FORCE does the same).
    Always,
    /// Never colour.
    Never,
}

impl ColorWhen {
    /// Make this the choice for every stream written from now on.
    pub fn apply(self) {
        let choice = match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// Write a command's output to stdout; a closed pipe (`| head`) is not an
/// error worth a message.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = anstream::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(&PathBuf::from("<stdout>"), e))
        }
        _ => Ok(()),
    }
}

/// A value as pretty JSON with a final newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Error::Usage(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

/// A warning on stderr.
pub fn warn(message: impl std::fmt::Display) {
    anstream::eprintln!(
        "callscope: {} {message}",
        style::paint(style::WARNING, "warning:")
    );
}

/// An error on stderr that does not stop the command.
pub fn error(message: impl std::fmt::Display) {
    anstream::eprintln!(
        "callscope: {} {message}",
        style::paint(style::ERROR, "error:")
    );
}

/// A note on stderr.
pub fn note(message: impl std::fmt::Display) {
    anstream::eprintln!("callscope: {message}");
}

/// Exit 1, saying why in one line on stderr (even with `--quiet`): cron
/// mails what a job prints, and a non-zero exit with nothing said is an
/// alert nobody reads.
pub fn exit_data(reason: impl std::fmt::Display) -> i32 {
    anstream::eprintln!(
        "callscope: {} {reason}",
        style::paint(style::WARNING, "exit 1:")
    );
    crate::exit::DATA
}

/// The paths discovery could not look into.
pub fn warn_skipped(found: &Discovery) {
    for s in &found.skipped {
        warn(format_args!("{}: {}", s.path.display(), s.reason));
    }
}
