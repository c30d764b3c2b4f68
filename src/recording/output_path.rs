//! Where a file the user names for output (`export -o`, `show --html`,
//! `plan -o`, `run --metrics`, `prune --audit`) may go: never inside a
//! recording (it would overwrite the recording's files, or be deleted or
//! archived with it), never inside the store a command acts on, and never
//! over anything but a regular file (a link, FIFO or device node at the
//! path is someone else's; `safe_fs::AtomicFile` refuses those too).

use std::path::Path;

use super::FileKind;
use crate::error::{Error, Result};
use crate::safe_fs;

/// Whether `dir` holds any of a recording's files (by name; nothing opened).
pub fn is_recording_dir(dir: &Path) -> bool {
    FileKind::ALL
        .iter()
        .any(|k| dir.join(k.file_name()).symlink_metadata().is_ok())
}

/// Check an output path named by `flag`: refused (exit 2) when it is, or
/// lies inside, a recording or one of `stores`, or when something other
/// than a regular file is there.
pub fn check_output_path(path: &Path, flag: &str, stores: &[&Path]) -> Result<()> {
    let usage = |why: String| Error::Usage(format!("{flag} {}: {why}", path.display()));
    if let Ok(m) = path.symlink_metadata() {
        if !m.is_file() {
            return Err(usage(format!(
                "is {}; callscope writes only to a regular file or a new name (use - for standard output where the command prints)",
                safe_fs::describe_type(&m.file_type())
            )));
        }
    }
    let resolved = safe_fs::resolve(path).map_err(|e| usage(e.to_string()))?;
    for store in stores {
        let store_r = safe_fs::resolve(store).map_err(|e| usage(e.to_string()))?;
        if resolved.starts_with(&store_r) {
            return Err(usage(format!(
                "is inside the recordings root {}; write it outside the store",
                store.display()
            )));
        }
    }
    if let Some(rec) = resolved.ancestors().skip(1).find(|d| is_recording_dir(d)) {
        return Err(usage(format!(
            "is inside the recording {}; nothing is written there",
            rec.display()
        )));
    }
    Ok(())
}
