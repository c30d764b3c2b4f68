//! callscope: post-call analytics for voice-AI call recordings.
//!
//! The pipeline, one module per stage: [`recording`] (discover and load),
//! [`audio`] (tolerant WAV reading, writing), [`simulate`] (the recorder
//! simulator used for tests and benchmarks), [`view`] (list). The command
//! line lives in [`cli`]; exit codes in [`exit`].

pub mod analyze;
pub mod audio;
pub mod check;
pub mod cli;
pub mod duration;
pub mod error;
pub mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod interrupt;
pub mod lock;
pub mod plugin;
pub mod progress;
pub mod recording;
pub mod repair;
pub mod report;
pub mod retention;
pub mod run;
pub mod safe_fs;
pub mod simulate;
pub mod style;
pub mod timeline;
pub mod view;

pub use error::{Error, Result};
