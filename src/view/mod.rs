//! What the recorder's own viewer did, done better: list, show, export,
//! play.

pub mod browse;
pub mod list;
pub mod play;
pub mod show;
mod table;
pub mod transcript;
