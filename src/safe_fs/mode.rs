//! Who may read what callscope writes. Reports, call pages, exports,
//! plans, metrics and archives hold people's voices, words and session
//! ids, so they are owner-only unless `--mode` (or `CALLSCOPE_MODE`) asks
//! for more. It is set once, as the process's umask, before anything is
//! written: every file and directory callscope or a plugin host creates
//! then gets it, whatever path creates it, with no call site to forget.

use std::fmt;
use std::str::FromStr;

/// The mode of the files callscope creates; directories get the same bits
/// plus search (`x`) wherever a file's are readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputMode(u32);

impl OutputMode {
    /// Owner-only: 0600 files, 0700 directories.
    pub const PRIVATE: OutputMode = OutputMode(0o600);

    pub fn file(self) -> u32 {
        self.0
    }

    pub fn dir(self) -> u32 {
        let m = self.0;
        m | ((m & 0o444) >> 2)
    }

    /// Make this the mode of everything created from now on.
    pub fn apply(self) {
        // SAFETY: umask only sets the process's file-creation mask.
        unsafe { libc::umask((!self.dir() & 0o777) as libc::mode_t) };
    }
}

impl Default for OutputMode {
    fn default() -> Self {
        OutputMode::PRIVATE
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl FromStr for OutputMode {
    type Err = String;

    /// An octal file mode (`0600`, `640`, `0644`), or the pair `DIR/FILE`
    /// (`0750/0640`) where DIR must be what FILE implies.
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "an octal file mode such as 0600, 0640 or 0644 (or DIR/FILE, e.g. 0750/0640)";
        let octal = |t: &str| {
            let t = t.trim();
            (!t.is_empty() && t.len() <= 4)
                .then(|| u32::from_str_radix(t, 8).ok())
                .flatten()
                .ok_or_else(|| format!("\"{s}\": not {hint}"))
        };
        let (dir, file) = match s.split_once('/') {
            Some((d, f)) => (Some(octal(d)?), octal(f)?),
            None => (None, octal(s)?),
        };
        if file & !0o666 != 0 {
            return Err(format!(
                "\"{s}\": {file:04o} has execute or special bits; give a file mode, {hint}"
            ));
        }
        if file & 0o600 != 0o600 {
            return Err(format!(
                "\"{s}\": the owner must be able to read and write what callscope writes (0600 at least)"
            ));
        }
        let mode = OutputMode(file);
        if let Some(d) = dir {
            if d != mode.dir() {
                return Err(format!(
                    "\"{s}\": directories are made {:04o} with files {file:04o} (search wherever read); give {:04o}/{file:04o} or just {file:04o}",
                    mode.dir(),
                    mode.dir()
                ));
            }
        }
        Ok(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_mode_gives_its_directory_mode() {
        let m = |s: &str| s.parse::<OutputMode>().map(|m| (m.dir(), m.file()));
        assert_eq!(m("0600"), Ok((0o700, 0o600)));
        assert_eq!(m("640"), Ok((0o750, 0o640)));
        assert_eq!(m("0644"), Ok((0o755, 0o644)));
        assert_eq!(m("0660"), Ok((0o770, 0o660)));
        assert_eq!(m("0750/0640"), Ok((0o750, 0o640)));
        assert!(m("0755/0640").unwrap_err().contains("0750/0640"));
        assert!(m("0755").unwrap_err().contains("execute"));
        assert!(m("0400").unwrap_err().contains("0600 at least"));
        assert!(m("0xyz").is_err());
        assert!(m("").is_err());
        assert!(m("06000").is_err());
        assert_eq!(OutputMode::default().to_string(), "0600");
    }
}
