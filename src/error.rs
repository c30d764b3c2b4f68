//! The library's error type: every error names the file it concerns.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audio::WavError;

/// Cloneable, so a cached load failure can be handed out again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: Arc<io::Error>,
    },
    #[error("{}: invalid JSON at line {line}, column {column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed JSON whose fields have the wrong types.
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Wav { path: PathBuf, source: WavError },
    /// A file far larger than its kind ever is: not read, so that one
    /// damaged or hostile file cannot exhaust the memory of a whole run.
    #[error("{}: {size} bytes, more than the {limit} a recording's {what} may be; not read", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
        what: &'static str,
    },
    #[error("{}: cannot write: {message}", path.display())]
    Write { path: PathBuf, message: String },
    /// Another callscope holds the lock on the root: try again later.
    #[error("{0}")]
    Busy(String),
    /// The user asked callscope to stop (Ctrl-C, SIGTERM).
    #[error("interrupted")]
    Interrupted,
    /// A command line or configuration that cannot be acted on.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: &Path, source: io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source: Arc::new(source),
        }
    }

    pub fn json(path: &Path, e: &serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its message; keep the
        // position in its own fields instead.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        Error::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message,
        }
    }

    pub fn schema(path: &Path, e: serde_json::Error) -> Self {
        Error::Schema {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    pub fn wav(path: &Path, source: WavError) -> Self {
        Error::Wav {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn write(path: &Path, message: impl ToString) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// The same error with a path under `from` named under `to` instead
    /// (a file of a report still being written, named where it will be).
    pub fn moved(self, from: &Path, to: &Path) -> Error {
        let re = |path: PathBuf| match path.strip_prefix(from) {
            Ok(rest) => to.join(rest),
            Err(_) => path,
        };
        match self {
            Error::Io { path, source } => Error::Io {
                path: re(path),
                source,
            },
            Error::Write { path, message } => Error::Write {
                path: re(path),
                message,
            },
            other => other,
        }
    }

    /// True when the command line or configuration is at fault, not the data.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
