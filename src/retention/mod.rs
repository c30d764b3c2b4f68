//! Retention: the policy decides (here, and in the `retention` analyzer),
//! one place applies (`apply`), and every action is audited.
//!
//! Safety rules, all enforced here: a recording under legal hold is never
//! touched; an in-progress recording is never touched; nothing outside ROOT
//! is acted on and no symlink is followed (a recording holding one is
//! skipped); a whole recording is deleted by first renaming it into
//! `ROOT/.callscope/trash/`, so a prune killed at any point leaves it whole or
//! gone, and the next prune finishes what is in the trash.

pub mod apply;
mod archive;
pub mod keys;
pub mod policy;
mod render;

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::check::{check_recording_at, CheckLevel, Status};
use crate::recording::{format_utc, FileKind, ModelOptions, Recording, State};

pub use policy::{validate_archive_root, Action, Policy, Rule};
pub use render::{human_bytes, plan_csv, render_plan, summary, RuleTotal, Summary};

/// The file a recording under legal hold holds.
pub const LEGAL_HOLD_FILE: &str = "LEGAL_HOLD";
pub use crate::recording::AUDIO_REMOVED_MARKER;
/// The listening copy `repair --aligned` writes is audio too.
const EXTRA_AUDIO: &str = crate::recording::ALIGNED_FILE;

/// What a plan does with one recording: a rule's action, or why none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Keep,
    DeleteAudio,
    Archive,
    Delete,
    /// Under legal hold: never touched.
    Held,
    /// Not acted on (in progress, holds a symlink or a special file).
    Skip,
    /// The action is done already (its audio is gone).
    Nothing,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Keep => "keep",
            Verdict::DeleteAudio => "delete-audio",
            Verdict::Archive => "archive",
            Verdict::Delete => "delete",
            Verdict::Held => "held",
            Verdict::Skip => "skip",
            Verdict::Nothing => "nothing",
        }
    }

    /// Whether carrying it out changes anything.
    pub fn acts(self) -> bool {
        matches!(
            self,
            Verdict::DeleteAudio | Verdict::Archive | Verdict::Delete
        )
    }
}

impl From<Action> for Verdict {
    fn from(a: Action) -> Verdict {
        match a {
            Action::Keep => Verdict::Keep,
            Action::DeleteAudio => Verdict::DeleteAudio,
            Action::Archive => Verdict::Archive,
            Action::Delete => Verdict::Delete,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What will happen to one recording.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub recording: String,
    #[serde(skip)]
    pub dir: PathBuf,
    pub session_id: String,
    /// The recording's state when it was decided.
    pub state: State,
    /// The deciding rule (or `legal-hold`, `erase`).
    pub rule: Option<String>,
    pub action: Verdict,
    /// Why: the hold, the skip, or what the rule matched.
    pub reason: String,
    /// Files the action removes or moves, relative to the recording, with sizes.
    pub files: Vec<(String, u64)>,
    pub bytes: u64,
    /// When the call started (UTC), as `list` resolves it.
    pub start: Option<String>,
    /// Whole days from the start to the `now` ages are measured from.
    pub age_days: Option<i64>,
    /// When the action is (or was) due: start + older_than.
    pub due: Option<String>,
    /// How an archive action stores the recording: its rule's settings.
    #[serde(skip)]
    pub archive: Option<std::sync::Arc<policy::ArchiveSpec>>,
}

impl Decision {
    /// Whether applying it changes anything.
    pub fn acts(&self) -> bool {
        self.action.acts()
    }
}

/// Whether a file name says "legal hold" in any of the ways people write
/// it: `LEGAL_HOLD`, `legal_hold`, `Legal-Hold.txt`, `LEGALHOLD.md`. Only
/// `LEGAL_HOLD` is documented; the rest are honoured rather than ignored
/// beside a recording someone meant to keep.
pub fn is_hold_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    let squashed: String = stem
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    squashed == "legalhold"
}

/// Whether the recording directory holds a hold file (of any type: even a
/// link or a directory named so is someone's wish to keep it), or cannot
/// be read to tell (then it is held: nothing is deleted on a guess).
fn hold_file_in(dir: &Path) -> bool {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .into_iter()
            .any(|e| e.map_or(true, |e| is_hold_name(&e.file_name().to_string_lossy()))),
        Err(_) => true,
    }
}

/// Every file under `dir` (relative path, size), or the first symlink or
/// special file (FIFO, device, socket) found, or the first file below it
/// that belongs to something else: a recorder's file or a hold in a
/// subdirectory (callscope's own `.callscope/` aside) is another
/// recording's, and is never removed as part of this one.
pub(super) fn files_under(dir: &Path) -> Result<Vec<(String, u64)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("{}: {e}", d.display()))?;
            let meta = e
                .metadata()
                .map_err(|x| format!("{}: {x}", e.path().display()))?;
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap_or(&e.path())
                .display()
                .to_string();
            let ft = meta.file_type();
            let name = e.file_name();
            let name = name.to_string_lossy();
            let nested = d != dir && !rel.starts_with(".callscope/");
            if nested && (FileKind::from_file_name(&name).is_some() || is_hold_name(&name)) {
                return Err(format!(
                    "{rel} is another recording's file or a hold, below this one: nothing here is touched"
                ));
            }
            if ft.is_symlink() {
                return Err(format!("{rel} is a symlink (never followed)"));
            } else if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push((rel, meta.len()));
            } else {
                // Nothing can be read from it whole, so nothing proves an
                // archive of it, and it may be someone's live pipe.
                return Err(format!(
                    "{rel} is {}, not a regular file (never opened)",
                    crate::safe_fs::describe_type(&ft)
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What the rules see of a recording.
pub struct RecordingFacts {
    pub start: Option<DateTime<Utc>>,
    pub intents: Vec<String>,
    pub functions: Vec<String>,
    pub state: State,
    pub status: Status,
    pub session_id: String,
    pub held_by_file: bool,
}

impl RecordingFacts {
    pub fn of(rec: &Recording, model: &ModelOptions, status: Option<Status>) -> RecordingFacts {
        let calls = rec.function_calls().unwrap_or_default();
        let status =
            status.unwrap_or_else(|| check_recording_at(rec, model, CheckLevel::Files).status);
        RecordingFacts {
            start: rec.start_time(model.name_tz).map(|s| s.time),
            intents: calls
                .iter()
                .filter_map(|c| c.intent().map(str::to_string))
                .collect(),
            functions: calls
                .iter()
                .filter_map(|c| c.function_name.clone())
                .collect(),
            state: rec.state(model),
            status,
            session_id: rec.session_id(),
            held_by_file: hold_file_in(&rec.dir),
        }
    }

    pub fn facts(&self) -> policy::Facts<'_> {
        policy::Facts {
            start: self.start,
            intents: &self.intents,
            functions: &self.functions,
            state: self.state,
            status: self.status,
            session_id: &self.session_id,
        }
    }

    /// The hold that protects the recording, if any.
    pub fn hold(&self, policy_holds: &[String]) -> Option<String> {
        if self.held_by_file {
            Some(format!("a {LEGAL_HOLD_FILE} file is in the recording"))
        } else if policy_holds
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&self.session_id))
        {
            Some("its session id is on the policy's hold list".to_string())
        } else {
            None
        }
    }
}

fn decision(
    rec: &Recording,
    f: &RecordingFacts,
    rule: Option<&str>,
    action: Verdict,
    reason: String,
) -> Decision {
    Decision {
        recording: rec.rel.clone(),
        dir: rec.dir.clone(),
        session_id: f.session_id.clone(),
        state: f.state,
        rule: rule.map(str::to_string),
        action,
        reason,
        files: Vec::new(),
        bytes: 0,
        start: None,
        age_days: None,
        due: None,
        archive: None,
    }
}

/// The audio files of a recording that `delete-audio` removes.
/// Every copy of the audio counts: the WAVs, the listening copy, and the
/// originals repair kept under `.callscope/backup/` (`caller_audio.wav`,
/// `caller_audio.wav.1`…). Audio the policy removed must not live on in a
/// backup.
fn audio_files(all: &[(String, u64)]) -> Vec<(String, u64)> {
    let is_audio = |path: &str| {
        let name = path.rsplit('/').next().unwrap_or(path);
        // A numbered backup: `bot_audio.wav.2`.
        let name = match name.rsplit_once('.') {
            Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => stem,
            _ => name,
        };
        let in_backup = path.starts_with(".callscope/backup/");
        let top = !path.contains('/');
        (top || in_backup)
            && (FileKind::from_file_name(name).is_some_and(FileKind::is_wav) || name == EXTRA_AUDIO)
    };
    all.iter()
        .filter(|(path, _)| is_audio(path))
        .cloned()
        .collect()
}

/// Decide one recording. `forced` (erase) replaces the policy's rule.
pub fn decide(
    rec: &Recording,
    policy: Option<&Policy>,
    forced: Option<(&str, Action)>,
    model: &ModelOptions,
    now: DateTime<Utc>,
) -> Decision {
    let f = RecordingFacts::of(rec, model, None);
    let mut d = decide_with(rec, &f, policy, forced, now);
    d.start = f.start.map(|t| format_utc(&t));
    d.age_days = f.start.map(|t| (now - t).num_days());
    d
}

fn decide_with(
    rec: &Recording,
    f: &RecordingFacts,
    policy: Option<&Policy>,
    forced: Option<(&str, Action)>,
    now: DateTime<Utc>,
) -> Decision {
    if f.state == State::InProgress {
        return decision(
            rec,
            f,
            None,
            Verdict::Skip,
            "in progress: never touched while it may be written".into(),
        );
    }
    let holds = policy.map_or(&[][..], |p| &p.holds[..]);
    if let Some(why) = f.hold(holds) {
        return decision(
            rec,
            f,
            Some("legal-hold"),
            Verdict::Held,
            format!("under legal hold: {why}"),
        );
    }
    let (rule_name, action, due, archive) = match (forced, policy) {
        (Some((name, action)), _) => (name.to_string(), action, None, None),
        (None, Some(p)) => {
            let rule = p.decide(&f.facts(), now);
            (
                rule.name.clone(),
                rule.action,
                rule.due(f.start),
                rule.archive.clone(),
            )
        }
        (None, None) => return decision(rec, f, None, Verdict::Keep, "no policy".into()),
    };
    let all = match files_under(&rec.dir) {
        Ok(all) => all,
        Err(why) => return decision(rec, f, Some(&rule_name), Verdict::Skip, why),
    };
    let remaining_audio = audio_files(&all);
    let mut d = decision(rec, f, Some(&rule_name), action.into(), String::new());
    d.due = due.map(|t| format_utc(&t));
    d.archive = archive;
    d.reason = if action == Action::Keep {
        "kept"
    } else {
        "due"
    }
    .to_string();
    d.files = match action {
        Action::Keep => Vec::new(),
        Action::DeleteAudio => remaining_audio.clone(),
        Action::Archive | Action::Delete => all,
    };
    // A delete-audio killed after its marker was written, before every WAV
    // was gone: the marker is its intent, and the next prune finishes it
    // whatever the rules now say (unless they delete or archive the whole).
    let unfinished = f.state == State::AudioRemoved && !remaining_audio.is_empty();
    if unfinished && matches!(action, Action::Keep | Action::DeleteAudio) {
        d.action = Verdict::DeleteAudio;
        d.reason = format!(
            "finishing an interrupted delete-audio: {AUDIO_REMOVED_MARKER} is there and {} audio file(s) remain",
            remaining_audio.len()
        );
        d.files = remaining_audio;
    }
    d.bytes = d.files.iter().map(|(_, s)| s).sum();
    if action == Action::DeleteAudio && d.files.is_empty() {
        d.action = Verdict::Nothing;
        d.reason = "audio already removed".into();
    }
    d
}

/// Plan a whole root (recordings in discovery order).
pub fn plan(
    recordings: &[Recording],
    policy: Option<&Policy>,
    forced: Option<(&str, Action)>,
    model: &ModelOptions,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    use rayon::prelude::*;
    recordings
        .par_iter()
        .map(|r| decide(r, policy, forced, model, now))
        .collect()
}
