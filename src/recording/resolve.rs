//! A recording named on the command line, found under the root.

use std::path::{Path, PathBuf};

use super::{discover, ModelOptions, Recording};
use crate::error::{Error, Result};

/// A recording named on the command line: a directory, or a name under the
/// root (its directory name, or the start of it), or the latest under the root.
pub fn resolve(
    root: &Path,
    name: Option<&str>,
    latest: bool,
    model: &ModelOptions,
) -> Result<Recording> {
    if let Some(n) = name {
        let direct = PathBuf::from(n);
        if direct.is_dir() {
            return Recording::open(&direct);
        }
        let found = discover(root)?;
        let mut hits: Vec<Recording> = found
            .recordings
            .into_iter()
            .filter(|r| {
                r.rel == n
                    || r.rel
                        .rsplit('/')
                        .next()
                        .is_some_and(|leaf| leaf.starts_with(n))
            })
            .collect();
        return match hits.len() {
            1 => Ok(hits.remove(0)),
            0 => Err(Error::Usage(format!(
                "no recording '{n}' under {}",
                root.display()
            ))),
            k => Err(Error::Usage(format!(
                "'{n}' matches {k} recordings under {}; give more of the name",
                root.display()
            ))),
        };
    }
    if !latest {
        return Err(Error::Usage("name a recording, or pass --latest".into()));
    }
    discover(root)?
        .recordings
        .into_iter()
        .max_by_key(|r| r.start_time(model.name_tz).map(|s| s.time))
        .ok_or_else(|| Error::Usage(format!("no recordings under {}", root.display())))
}
