//! The policy's archive settings: the format, and the age keys of an
//! encrypted one, validated with the rest of the policy.

use std::path::Path;

use toml::Spanned;

use super::text::read_policy_file;
use crate::retention::keys::{self, ArchiveKeys};

/// How `archive` stores a recording under the archive root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// The directory itself, moved (or copied and verified across file systems).
    #[default]
    Directory,
    /// One compressed tar file, `{recording}.tar.gz`, verified before the original goes.
    TarGz,
    /// One tar file encrypted to the policy's age recipients, `{recording}.tar.age`.
    TarAge,
    /// The same, compressed before it is encrypted: `{recording}.tar.gz.age`.
    TarGzAge,
}

impl ArchiveFormat {
    pub(super) const ALL: [(ArchiveFormat, &'static str); 4] = [
        (ArchiveFormat::Directory, "directory"),
        (ArchiveFormat::TarGz, "tar.gz"),
        (ArchiveFormat::TarAge, "tar.age"),
        (ArchiveFormat::TarGzAge, "tar.gz.age"),
    ];

    pub fn encrypted(self) -> bool {
        matches!(self, ArchiveFormat::TarAge | ArchiveFormat::TarGzAge)
    }

    pub fn compressed(self) -> bool {
        matches!(self, ArchiveFormat::TarGz | ArchiveFormat::TarGzAge)
    }

    /// What an archive's name ends with (the directory itself: nothing).
    pub fn suffix(self) -> &'static str {
        match self {
            ArchiveFormat::Directory => "",
            ArchiveFormat::TarGz => ".tar.gz",
            ArchiveFormat::TarAge => ".tar.age",
            ArchiveFormat::TarGzAge => ".tar.gz.age",
        }
    }
}

/// The policy's key settings, as written.
pub(super) struct KeyFields<'a> {
    pub(super) recipients: &'a Option<Spanned<Vec<String>>>,
    pub(super) recipients_file: &'a Option<Spanned<String>>,
    pub(super) verify_identity: &'a Option<Spanned<String>>,
}

/// The keys an encrypted archive format needs: recipients (inline and from
/// a file), at least one; and the identity that verifies, if given, which
/// must be one of theirs. Keys without an encrypted format are refused:
/// they would be ignored, and archives written in the clear.
pub(super) fn archive_keys(
    raw: KeyFields,
    format: ArchiveFormat,
    path: &Path,
    at: &dyn Fn(std::ops::Range<usize>, String) -> String,
) -> Result<Option<ArchiveKeys>, String> {
    let base = path.parent().unwrap_or(Path::new("."));
    let keyed = [raw.recipients_file, raw.verify_identity]
        .into_iter()
        .flatten()
        .map(|s| s.span())
        .chain(raw.recipients.as_ref().map(|r| r.span()))
        .next();
    if !format.encrypted() {
        return match keyed {
            Some(span) => Err(at(
                span,
                format!(
                    "age keys are given but archive_format is \"{}\", which is not encrypted; use \"tar.age\" or \"tar.gz.age\"",
                    ArchiveFormat::ALL.iter().find(|(f, _)| *f == format).map_or("", |(_, n)| n)
                ),
            )),
            None => Ok(None),
        };
    }
    let mut recipients = Vec::new();
    if let Some(list) = raw.recipients {
        for r in list.get_ref() {
            recipients.push(keys::parse_recipient(r).map_err(|e| at(list.span(), e))?);
        }
    }
    if let Some(file) = raw.recipients_file {
        let p = base.join(file.get_ref());
        let text = read_policy_file(&p)
            .map_err(|e| at(file.span(), format!("recipients file {}: {e}", p.display())))?;
        recipients.extend(
            keys::parse_recipients_file(&text)
                .map_err(|e| at(file.span(), format!("recipients file {}: {e}", p.display())))?,
        );
    }
    if recipients.is_empty() {
        return Err(format!(
            "{}: archive_format is encrypted but no recipient is given (recipients = [\"age1…\"] or recipients_file)",
            path.display()
        ));
    }
    let verify = match raw.verify_identity {
        Some(file) => {
            let p = base.join(file.get_ref());
            let text = read_policy_file(&p)
                .map_err(|e| at(file.span(), format!("verify_identity {}: {e}", p.display())))?;
            let id = keys::parse_identity_file(&text)
                .map_err(|e| at(file.span(), format!("verify_identity {}: {e}", p.display())))?;
            if !recipients.contains(&id.to_public()) {
                return Err(at(
                    file.span(),
                    format!(
                        "verify_identity {}: its public key {} is none of the recipients; it could not decrypt the archives",
                        p.display(),
                        id.to_public()
                    ),
                ));
            }
            Some(id)
        }
        None => None,
    };
    Ok(Some(ArchiveKeys { recipients, verify }))
}
