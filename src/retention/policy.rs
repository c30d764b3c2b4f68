//! The retention policy: a TOML file of ordered rules, validated whole
//! before anything is touched. The first rule that matches a recording
//! decides; the last rule must be the default.
//!
//! ```toml
//! hold_list = "legal_holds.txt"    # session ids under legal hold, one a line
//! archive_root = "/srv/archive"    # where `archive` moves recordings
//! archive_format = "tar.gz"        # or "directory" (the default), "tar.age", "tar.gz.age"
//! # Encrypted archives (tar.age): whom to encrypt to, public keys only;
//! # also in an archive rule, for that rule's archives.
//! # recipients = ["age1…"]          # and/or
//! # recipients_file = "archive-recipients.txt"
//! # verify_identity = "/root/archive-key.txt"  # optional: decrypt each archive once to check it
//!
//! [[rule]]
//! name = "disputes"
//! intents = ["account_inquiry"]
//! action = "keep"
//!
//! [[rule]]
//! name = "audio-after-90d"
//! older_than = "90d"
//! action = "delete-audio"
//!
//! [[rule]]
//! name = "default"
//! default = true
//! action = "keep"
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::check::Status;
use crate::recording::State;

/// What a rule does to the recordings it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Keep,
    /// Remove the WAVs, keep transcript and metadata, leave a marker.
    DeleteAudio,
    /// Move the whole recording under the archive root, same relative path.
    Archive,
    /// Remove the whole recording.
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::DeleteAudio => "delete-audio",
            Action::Archive => "archive",
            Action::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        [
            Action::Keep,
            Action::DeleteAudio,
            Action::Archive,
            Action::Delete,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    pub older_than: Option<Period>,
    /// The policy text of `older_than`, for reports.
    pub older_than_text: Option<String>,
    pub intents: Vec<String>,
    pub functions: Vec<String>,
    pub state: Option<State>,
    pub status: Option<Status>,
    pub session: Option<glob::Pattern>,
    pub default: bool,
    /// How an `archive` rule stores recordings (shared by its decisions).
    pub archive: Option<std::sync::Arc<ArchiveSpec>>,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub path: PathBuf,
    pub rules: Vec<Rule>,
    /// Session ids under legal hold.
    pub holds: Vec<String>,
    pub archive_root: Option<PathBuf>,
}

/// What a recording looks like to the rules.
pub struct Facts<'a> {
    pub start: Option<DateTime<Utc>>,
    pub intents: &'a [String],
    pub functions: &'a [String],
    pub state: State,
    pub status: Status,
    pub session_id: &'a str,
}

impl Rule {
    /// Whether every condition of the rule holds (all conditions must).
    pub fn matches(&self, f: &Facts, now: DateTime<Utc>) -> bool {
        if self.older_than.is_some() {
            // A recording whose start is unknown is never "old enough", nor
            // one whose due date is beyond the calendar.
            if self.due(f.start).is_none_or(|due| now < due) {
                return false;
            }
        }
        let any = |wanted: &[String], have: &[String]| {
            wanted.is_empty() || wanted.iter().any(|w| have.contains(w))
        };
        any(&self.intents, f.intents)
            && any(&self.functions, f.functions)
            && self.state.is_none_or(|s| s == f.state)
            && self.status.is_none_or(|s| s == f.status)
            && self
                .session
                .as_ref()
                .is_none_or(|p| p.matches(f.session_id))
    }

    /// When the rule's action becomes due for a recording that started at `start`.
    pub fn due(&self, start: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match self.older_than {
            Some(age) => age.after(start?),
            None => start,
        }
    }
}

/// A retention period on the calendar: years and months are calendar
/// months (a call of 2024-01-15 is a year old on 2025-01-15; a month after
/// 31 January is the last day of February), days are calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hours(u32),
    Days(u32),
    Months(u32),
}

/// The longest period a policy may name: ten thousand years.
const MAX_YEARS: u32 = 10_000;

impl Period {
    /// The moment this period after `start`; `None` past the calendar's end.
    pub fn after(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Period::Hours(h) => {
                start.checked_add_signed(chrono::Duration::try_hours(i64::from(h))?)
            }
            Period::Days(d) => start.checked_add_days(chrono::Days::new(u64::from(d))),
            Period::Months(m) => start.checked_add_months(chrono::Months::new(m)),
        }
    }

    fn in_range(self) -> bool {
        let y = u64::from(MAX_YEARS);
        match self {
            Period::Hours(h) => u64::from(h) <= y * 366 * 24,
            Period::Days(d) => u64::from(d) <= y * 366,
            Period::Months(m) => u64::from(m) <= y * 12,
        }
    }
}

impl Policy {
    /// The rule that decides for a recording: the first that matches.
    pub fn decide(&self, f: &Facts, now: DateTime<Utc>) -> &Rule {
        self.rules
            .iter()
            .find(|r| r.matches(f, now))
            .unwrap_or_else(|| {
                self.rules
                    .last()
                    .expect("a validated policy has a default rule")
            })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    hold_list: Option<Spanned<String>>,
    archive_root: Option<Spanned<String>>,
    archive_format: Option<Spanned<String>>,
    recipients: Option<Spanned<Vec<String>>>,
    recipients_file: Option<Spanned<String>>,
    verify_identity: Option<Spanned<String>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    action: Spanned<String>,
    older_than: Option<Spanned<String>>,
    #[serde(default)]
    intents: Vec<String>,
    #[serde(default)]
    functions: Vec<String>,
    state: Option<Spanned<String>>,
    status: Option<Spanned<String>>,
    session: Option<Spanned<String>>,
    #[serde(default)]
    default: bool,
    recipients: Option<Spanned<Vec<String>>>,
    recipients_file: Option<Spanned<String>>,
    verify_identity: Option<Spanned<String>>,
}

/// A period: `48h`, `90d`, `12w`, `6mo` / `6months`, `7y`, or ISO 8601
/// (`P90D`, `P12W`, `P6M`, `P1Y6M`, `PT48H`), in the one grammar of
/// [`crate::duration`]. A bare `m` is refused: systemd and tmpreaper read
/// it as minutes. A period is in one kind of unit (months, days or whole
/// hours), so that it means one thing on the calendar.
pub fn parse_period(text: &str) -> Result<Period, String> {
    use crate::duration::{Reading, Span};
    let span =
        Span::parse(text, Reading::Policy).map_err(|e| match e.contains("is out of range") {
            true => format!("\"{text}\" is out of range: at most {MAX_YEARS} years"),
            false => e,
        })?;
    let too_long = || format!("\"{text}\" is out of range: at most {MAX_YEARS} years");
    let n = |v: u64| u32::try_from(v).map_err(|_| too_long());
    let period = match (span.months, span.days, span.seconds) {
        (m, 0, 0) if m > 0 => Period::Months(n(m)?),
        (0, d, 0) => Period::Days(n(d)?),
        (0, 0, s) if s % 3600 == 0 => Period::Hours(n(s / 3600)?),
        (0, 0, _) => return Err(format!("\"{text}\": a period is whole hours at least")),
        _ => {
            return Err(format!(
                "\"{text}\" mixes months, days and hours; write the period in one of them (36h for P1DT12H)"
            ))
        }
    };
    if !period.in_range() {
        return Err(too_long());
    }
    Ok(period)
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Read and validate a policy file. Every problem names the file and line.
pub fn load(path: &Path) -> Result<Policy, String> {
    let text = crate::safe_fs::read_regular_followed(path)
        .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<Policy, String> {
    let at = |span: std::ops::Range<usize>, msg: String| {
        let (l, c) = line_col(text, span.start);
        format!("{}: line {l}, column {c}: {msg}", path.display())
    };
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let (l, c) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        format!("{}: line {l}, column {c}: {}", path.display(), e.message())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rules = Vec::new();
    let count = raw.rule.len();
    if count == 0 {
        return Err(format!(
            "{}: no [[rule]]; a policy needs at least a default rule",
            path.display()
        ));
    }
    let declared = match &raw.archive_format {
        None => None,
        Some(f) => Some((
            ArchiveFormat::ALL
                .iter()
                .find(|(_, name)| name == f.get_ref())
                .map(|(format, _)| *format)
                .ok_or_else(|| {
                    at(
                        f.span(),
                        format!(
                            "unknown archive_format \"{}\" (directory, tar.gz, tar.age, tar.gz.age)",
                            f.get_ref()
                        ),
                    )
                })?,
            f.span(),
        )),
    };
    let policy_archive = policy_spec(
        declared,
        KeyFields {
            recipients: &raw.recipients,
            recipients_file: &raw.recipients_file,
            verify_identity: &raw.verify_identity,
        },
        path,
        &at,
    )?;
    for (i, spanned) in raw.rule.into_iter().enumerate() {
        let span = spanned.span();
        let r = spanned.into_inner();
        let action = Action::parse(r.action.get_ref()).ok_or_else(|| {
            at(
                r.action.span(),
                format!(
                    "unknown action \"{}\" (keep, delete-audio, archive, delete)",
                    r.action.get_ref()
                ),
            )
        })?;
        let older_than = match &r.older_than {
            Some(d) => Some(parse_period(d.get_ref()).map_err(|e| at(d.span(), e))?),
            None => None,
        };
        let state = match &r.state {
            Some(s) => Some(match s.get_ref().as_str() {
                "complete" => State::Complete,
                "crashed" => State::Crashed,
                "audio-removed" => State::AudioRemoved,
                other => {
                    return Err(at(
                        s.span(),
                        format!("state \"{other}\": use complete, crashed or audio-removed"),
                    ))
                }
            }),
            None => None,
        };
        let status = match &r.status {
            Some(s) => Some(match s.get_ref().as_str() {
                "ok" => Status::Ok,
                "warning" => Status::Warning,
                "error" => Status::Error,
                other => {
                    return Err(at(
                        s.span(),
                        format!("status \"{other}\": use ok, warning or error"),
                    ))
                }
            }),
            None => None,
        };
        let session = match &r.session {
            Some(g) => Some(
                glob::Pattern::new(g.get_ref())
                    .map_err(|e| at(g.span(), format!("session glob: {e}")))?,
            ),
            None => None,
        };
        let has_conditions = older_than.is_some()
            || !r.intents.is_empty()
            || !r.functions.is_empty()
            || state.is_some()
            || status.is_some()
            || session.is_some();
        if r.default && has_conditions {
            return Err(at(span, "the default rule cannot have conditions".into()));
        }
        if r.default && i + 1 != count {
            return Err(at(span, "the default rule must be the last rule".into()));
        }
        if !r.default && i + 1 == count {
            return Err(at(
                span,
                "the last rule must be the default (default = true)".into(),
            ));
        }
        if action == Action::Archive && raw.archive_root.is_none() {
            return Err(at(
                r.action.span(),
                "archive needs archive_root at the top of the policy".into(),
            ));
        }
        let keys = KeyFields {
            recipients: &r.recipients,
            recipients_file: &r.recipients_file,
            verify_identity: &r.verify_identity,
        };
        let archive = if action == Action::Archive {
            Some(std::sync::Arc::new(rule_spec(
                &policy_archive,
                keys,
                r.action.span(),
                path,
                &at,
            )?))
        } else {
            refuse_keys(keys, action.as_str(), &at)?;
            None
        };
        rules.push(Rule {
            name: r.name.unwrap_or_else(|| format!("rule {}", i + 1)),
            action,
            older_than,
            older_than_text: r.older_than.map(toml::Spanned::into_inner),
            intents: r.intents,
            functions: r.functions,
            state,
            status,
            session,
            default: r.default,
            archive,
        });
    }
    let holds = match &raw.hold_list {
        Some(list) => {
            let p = base.join(list.get_ref());
            let t = read_policy_file(&p)
                .map_err(|e| at(list.span(), format!("hold list {}: {e}", p.display())))?;
            t.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Policy {
        path: path.to_path_buf(),
        rules,
        holds,
        archive_root: raw.archive_root.map(|a| base.join(a.into_inner())),
    })
}

mod archive;
#[cfg(test)]
mod tests;
mod text;

use archive::{policy_spec, refuse_keys, rule_spec, KeyFields};
pub use archive::{validate_archive_root, ArchiveFormat, ArchiveSpec};
use text::read_policy_file;
