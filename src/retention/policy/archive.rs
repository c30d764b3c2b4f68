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

/// How a rule's `archive` stores recordings: the format, and the age keys
/// of an encrypted one.
#[derive(Debug, Clone)]
pub struct ArchiveSpec {
    pub format: ArchiveFormat,
    pub keys: Option<ArchiveKeys>,
}

/// Key settings as written, at the top of the policy or in a rule.
pub(super) struct KeyFields<'a> {
    pub(super) recipients: &'a Option<Spanned<Vec<String>>>,
    pub(super) recipients_file: &'a Option<Spanned<String>>,
    pub(super) verify_identity: &'a Option<Spanned<String>>,
}

impl KeyFields<'_> {
    /// Where the first key setting is, if any is given.
    fn span(&self) -> Option<std::ops::Range<usize>> {
        self.recipients
            .as_ref()
            .map(Spanned::span)
            .or_else(|| self.recipients_file.as_ref().map(Spanned::span))
            .or_else(|| self.verify_identity.as_ref().map(Spanned::span))
    }
}

type At<'a> = &'a dyn Fn(std::ops::Range<usize>, String) -> String;

/// The policy's own archive settings: `archive_format` as written, made
/// encrypted when keys are given (`directory` → `tar.age`, `tar.gz` →
/// `tar.gz.age`; an explicit `directory` cannot be, and is refused).
pub(super) fn policy_spec(
    declared: Option<(ArchiveFormat, std::ops::Range<usize>)>,
    fields: KeyFields,
    path: &Path,
    at: At,
) -> Result<ArchiveSpec, String> {
    let keys = parse_keys(&fields, path, at)?;
    let format = match (declared, &keys) {
        (None, None) => ArchiveFormat::Directory,
        (Some((f, _)), None) => f,
        (Some((ArchiveFormat::Directory, span)), Some(_)) => {
            return Err(at(
                span,
                "archive_format \"directory\" cannot be encrypted, and age recipients are given: use \"tar.age\" or \"tar.gz.age\"".into(),
            ))
        }
        (declared, Some(_)) => encrypted(declared.map_or(ArchiveFormat::Directory, |d| d.0)),
    };
    Ok(ArchiveSpec { format, keys })
}

/// A rule's archive settings: its own keys (and so an encrypted form of
/// the policy's format), or the policy's. An encrypted format with no
/// recipient anywhere is refused at the rule.
pub(super) fn rule_spec(
    policy: &ArchiveSpec,
    fields: KeyFields,
    action_span: std::ops::Range<usize>,
    path: &Path,
    at: At,
) -> Result<ArchiveSpec, String> {
    let spec = match parse_keys(&fields, path, at)? {
        Some(keys) => ArchiveSpec {
            format: encrypted(policy.format),
            keys: Some(keys),
        },
        None => policy.clone(),
    };
    if spec.format.encrypted() && spec.keys.is_none() {
        return Err(at(
            action_span,
            "archive_format is encrypted but no recipient is given (recipients = [\"age1…\"] or recipients_file, in the rule or at the top)".into(),
        ));
    }
    Ok(spec)
}

fn encrypted(f: ArchiveFormat) -> ArchiveFormat {
    match f {
        ArchiveFormat::Directory | ArchiveFormat::TarAge => ArchiveFormat::TarAge,
        ArchiveFormat::TarGz | ArchiveFormat::TarGzAge => ArchiveFormat::TarGzAge,
    }
}

/// Key settings in a rule that does not archive would be ignored.
pub(super) fn refuse_keys(fields: KeyFields, action: &str, at: At) -> Result<(), String> {
    match fields.span() {
        Some(span) => Err(at(
            span,
            format!("age keys in a rule whose action is \"{action}\": they only apply to archive"),
        )),
        None => Ok(()),
    }
}

/// The keys given, if any: recipients (inline and from a file), at least
/// one; and the identity that verifies, if given, which must be one of
/// theirs.
fn parse_keys(raw: &KeyFields, path: &Path, at: At) -> Result<Option<ArchiveKeys>, String> {
    let Some(first) = raw.span() else {
        return Ok(None);
    };
    let base = path.parent().unwrap_or(Path::new("."));
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
        return Err(at(
            first,
            "no recipient is given (recipients = [\"age1…\"] or recipients_file)".into(),
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

/// Refuse an archive root that is the recordings root, lies inside it (an
/// archive there would be the recording itself, or be found as a recording
/// and archived again every night) or holds it (an archive could land
/// inside ROOT). Checked before anything is touched, on resolved paths.
pub fn validate_archive_root(root: &Path, archive_root: &Path) -> Result<(), String> {
    let resolve =
        |p: &Path| crate::safe_fs::resolve(p).map_err(|e| format!("{}: {e}", p.display()));
    let (root_r, archive_r) = (resolve(root)?, resolve(archive_root)?);
    let problem = if archive_r == root_r {
        Some("is the recordings root itself")
    } else if archive_r.starts_with(&root_r) {
        Some("is inside the recordings root")
    } else if root_r.starts_with(&archive_r) {
        Some("holds the recordings root")
    } else {
        None
    };
    match problem {
        Some(why) => Err(format!(
            "archive_root {} (resolved: {}) {why} {}; it must be outside it, or archives would be taken for recordings",
            archive_root.display(),
            archive_r.display(),
            root_r.display()
        )),
        None => Ok(()),
    }
}
