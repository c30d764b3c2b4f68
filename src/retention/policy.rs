//! The retention policy: a TOML file of ordered rules, validated whole
//! before anything is touched. The first rule that matches a recording
//! decides; the last rule must be the default.
//!
//! ```toml
//! hold_list = "legal_holds.txt"    # session ids under legal hold, one a line
//! archive_root = "/srv/archive"    # where `archive` moves recordings
//! archive_format = "tar.gz"        # or "directory" (the default)
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

use chrono::{DateTime, Duration, Utc};
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

/// How `archive` stores a recording under the archive root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// The directory itself, moved (or copied and verified across file systems).
    #[default]
    Directory,
    /// One compressed tar file, `{recording}.tar.gz`, verified before the original goes.
    TarGz,
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    pub older_than: Option<Duration>,
    /// The policy text of `older_than`, for reports.
    pub older_than_text: Option<String>,
    pub intents: Vec<String>,
    pub functions: Vec<String>,
    pub state: Option<State>,
    pub status: Option<Status>,
    pub session: Option<glob::Pattern>,
    pub default: bool,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub path: PathBuf,
    pub rules: Vec<Rule>,
    /// Session ids under legal hold.
    pub holds: Vec<String>,
    pub archive_root: Option<PathBuf>,
    pub archive_format: ArchiveFormat,
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
        if let Some(age) = self.older_than {
            // A recording whose start is unknown is never "old enough".
            if f.start.is_none_or(|s| now - s < age) {
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
            Some(age) => start.map(|s| s + age),
            None => start,
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

    pub fn is_held(&self, session_id: &str) -> bool {
        self.holds.iter().any(|h| h == session_id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    hold_list: Option<Spanned<String>>,
    archive_root: Option<Spanned<String>>,
    archive_format: Option<Spanned<String>>,
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
}

/// `30d`, `12w`, `6m` (30 days), `7y` (365 days), `48h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let days = match unit {
        "h" => return Some(Duration::hours(n)),
        "d" => n,
        "w" => n * 7,
        "m" => n * 30,
        "y" => n * 365,
        _ => return None,
    };
    Some(Duration::days(days))
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
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
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
            Some(d) => Some(parse_duration(d.get_ref()).ok_or_else(|| {
                at(
                    d.span(),
                    format!(
                        "\"{}\" is not a duration like 30d, 12w, 6m, 7y",
                        d.get_ref()
                    ),
                )
            })?),
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
        rules.push(Rule {
            name: r.name.unwrap_or_else(|| format!("rule {}", i + 1)),
            action,
            older_than,
            older_than_text: r.older_than.map(|d| d.into_inner()),
            intents: r.intents,
            functions: r.functions,
            state,
            status,
            session,
            default: r.default,
        });
    }
    let holds = match &raw.hold_list {
        Some(list) => {
            let p = base.join(list.get_ref());
            let t = std::fs::read_to_string(&p)
                .map_err(|e| at(list.span(), format!("hold list {}: {e}", p.display())))?;
            t.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        }
        None => Vec::new(),
    };
    let archive_format = match &raw.archive_format {
        None => ArchiveFormat::Directory,
        Some(f) => match f.get_ref().as_str() {
            "directory" => ArchiveFormat::Directory,
            "tar.gz" => ArchiveFormat::TarGz,
            other => {
                return Err(at(
                    f.span(),
                    format!("unknown archive_format \"{other}\" (directory, tar.gz)"),
                ))
            }
        },
    };
    Ok(Policy {
        path: path.to_path_buf(),
        rules,
        holds,
        archive_root: raw.archive_root.map(|a| base.join(a.into_inner())),
        archive_format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Policy, String> {
        parse(text, Path::new("policy.toml"))
    }

    const DEFAULT: &str = "[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n";

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Some(Duration::days(30)));
        assert_eq!(parse_duration("12w"), Some(Duration::days(84)));
        assert_eq!(parse_duration("7y"), Some(Duration::days(7 * 365)));
        assert_eq!(parse_duration("48h"), Some(Duration::hours(48)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("10x"), None);
    }

    #[test]
    fn a_good_policy_and_first_match_wins() {
        let pol = p(&format!(
            "[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"delete\"\n\n{DEFAULT}"
        ))
        .unwrap();
        let now: DateTime<Utc> = "2025-01-31T00:00:00Z".parse().unwrap();
        let facts = |start: &str| Facts {
            start: Some(start.parse().unwrap()),
            intents: &[],
            functions: &[],
            state: State::Complete,
            status: Status::Ok,
            session_id: "s",
        };
        assert_eq!(pol.decide(&facts("2024-12-01T00:00:00Z"), now).name, "old");
        assert_eq!(
            pol.decide(&facts("2025-01-15T00:00:00Z"), now).name,
            "default"
        );
    }

    #[test]
    fn bad_policies_name_the_line() {
        let e = p(&format!("[[rule]]\naction = \"shred\"\n\n{DEFAULT}")).unwrap_err();
        assert!(
            e.starts_with("policy.toml: line 2, column 10: unknown action \"shred\""),
            "{e}"
        );
        let e = p(&format!(
            "[[rule]]\nolder_than = \"a while\"\naction = \"delete\"\n{DEFAULT}"
        ))
        .unwrap_err();
        assert!(e.contains("line 2") && e.contains("not a duration"), "{e}");
        let e = p("[[rule]]\naction = \"delete\"\n").unwrap_err();
        assert!(e.contains("the last rule must be the default"), "{e}");
        let e = p(&format!(
            "{DEFAULT}\n[[rule]]\nolder_than = \"1d\"\naction = \"delete\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("the default rule must be the last rule"), "{e}");
        let e = p("[[rule]]\naction = \"keep\"\ncolour = \"red\"\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("colour"), "{e}");
        let e = p(&format!(
            "[[rule]]\naction = \"archive\"\nolder_than = \"1y\"\n{DEFAULT}"
        ))
        .unwrap_err();
        assert!(e.contains("archive_root"), "{e}");
        let e = p("[[rule\n").unwrap_err();
        assert!(e.starts_with("policy.toml: line 1"), "{e}");
    }
}
