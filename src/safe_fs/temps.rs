//! callscope's temporary files and whose they are: each name carries
//! its writer's process id and a tag of its machine, boot and PID
//! namespace, so a run removes only what a dead run on this machine left.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{fsync_dir, hex};

/// The suffix of callscope's temporary files. Each carries its writer's
/// owner tag (`.{name}.{pid}-{machine}-{random}.callscope-tmp`, see
/// [`owner_tag`]), so a leftover one is recognised as a dead run's and
/// removed, while a live run's, or one written from another machine, boot
/// or PID namespace sharing the directory, is left alone.
pub const TEMP_SUFFIX: &str = ".callscope-tmp";

/// Who writes a temporary file: this process id and a short digest of the
/// host name, the boot and the PID namespace. A process id means something
/// only on its own machine, boot and namespace; a shard on another node
/// sharing `parts/` may well have a pid that is free here.
pub fn owner_tag() -> String {
    format!("{}-{}", std::process::id(), machine_tag())
}

/// Eight hex digits naming this host, boot and PID namespace.
fn machine_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let pidns = fs::read_link("/proc/self/ns/pid").unwrap_or_default();
        let mut h = Sha256::new();
        let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        h.update(host.trim().as_bytes());
        h.update(b"\0");
        h.update(boot.trim().as_bytes());
        h.update(b"\0");
        h.update(pidns.as_os_str().as_encoded_bytes());
        hex(&h.finalize()[..4])
    })
}

/// Whose a temporary file is, by its name.
#[derive(Debug, PartialEq, Eq)]
enum TempOwner {
    /// Written on this machine, boot and namespace by this process id.
    Here(i32),
    /// Written elsewhere: never ours to judge.
    Elsewhere,
    /// A name with no owner tag (or an older one with a bare pid): judged
    /// by the pid alone, as before tags carried the machine.
    Unknown(Option<i32>),
}

fn temp_owner(name: &str) -> TempOwner {
    let Some(tag) = name
        .strip_suffix(TEMP_SUFFIX)
        .and_then(|stem| stem.rsplit('.').next())
    else {
        return TempOwner::Unknown(None);
    };
    let parts: Vec<&str> = tag.split('-').collect();
    let pid = parts.first().and_then(|p| p.parse().ok());
    match (parts.len(), pid) {
        (3, Some(pid)) if parts[1] == machine_tag() => TempOwner::Here(pid),
        (3, Some(_)) => TempOwner::Elsewhere,
        _ => TempOwner::Unknown(pid),
    }
}

/// Whether a process with this id is running (a zombie counts as running).
fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 sends nothing; it only checks that the
    // process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `name` is a temporary file of callscope's whose writer is gone.
pub fn is_stale_temp(name: &str) -> bool {
    name.starts_with('.')
        && name.ends_with(TEMP_SUFFIX)
        && match temp_owner(name) {
            TempOwner::Here(pid) | TempOwner::Unknown(Some(pid)) => pid <= 0 || !process_alive(pid),
            TempOwner::Elsewhere => false,
            TempOwner::Unknown(None) => true,
        }
}

/// The temporary files (and archive copies, which are directories) a dead
/// run left in `dir`; a live run's are not listed.
pub fn stale_temps(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let ft = entry.file_type()?;
        if is_stale_temp(&name.to_string_lossy()) && (ft.is_file() || ft.is_dir()) {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Remove the temporary files a dead run left in `dir`.
pub fn remove_stale_temps(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let stale = stale_temps(dir)?;
    for path in &stale {
        // A directory is an archive copy that was never put in place.
        if fs::symlink_metadata(path)?.is_dir() {
            fs::remove_dir_all(path)?;
        } else {
            fs::remove_file(path)?;
        }
    }
    if !stale.is_empty() {
        fsync_dir(dir)?;
    }
    Ok(stale)
}
