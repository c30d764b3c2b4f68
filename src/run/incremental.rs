//! `run --new`: only the recordings no earlier report beside `--out` has
//! analyzed as they are now. The earlier reports are the state: every
//! report directory (one with a manifest) in `--out`'s parent directory,
//! the nightly ones among them, says in its partial which recordings it
//! analyzed and with which fingerprint. Deleting a night's directory makes
//! its calls new again; nothing is kept anywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{Error, Result};
use crate::report::{partial, Manifest};

/// Fingerprints seen, by recording.
#[derive(Debug, Default)]
pub struct Seen(BTreeMap<String, BTreeSet<String>>);

impl Seen {
    /// What the report directories beside `out` (and `out` itself, when it
    /// is one) analyzed.
    pub fn beside(out: &Path) -> Result<Seen> {
        let mut seen = Seen::default();
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let entries = match std::fs::read_dir(&parent) {
            Ok(e) => e,
            // Nothing there yet: the first night.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seen),
            Err(e) => return Err(Error::io(&parent, e)),
        };
        for entry in entries {
            let dir = entry.map_err(|e| Error::io(&parent, e))?.path();
            let hidden = dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden || !dir.is_dir() || Manifest::read(&dir)?.is_none() {
                continue;
            }
            for s in partial::read_seen(&dir)? {
                seen.0.entry(s.recording).or_default().insert(s.fingerprint);
            }
        }
        Ok(seen)
    }

    pub fn contains(&self, recording: &str, fingerprint: &str) -> bool {
        self.0
            .get(recording)
            .is_some_and(|f| f.contains(fingerprint))
    }
}
