//! What the recorder's own viewer did: list recordings (and, later, show,
//! export and play them).

pub mod list;
mod table;
