//! `check`: every file of a recording validated, the stereo files compared
//! with the mono tracks (streaming, so memory does not grow with call
//! length), the JSON files checked and cross-checked.

mod compact;
mod compare;
mod cross;
pub mod finding;
mod json;
pub mod perm;
pub mod render;
mod wav;

use serde::{Deserialize, Serialize};

use crate::recording::{FileKind, ModelOptions, Recording, State};

pub use compare::{compare_final, compare_realtime, FinalReport, RealtimeReport};
pub use finding::{code, Finding, Severity, CODES};

/// A recording's overall status: its worst finding, info counting as ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Error => "error",
        }
    }
}

/// Everything `check` says about one recording.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingCheck {
    pub recording: String,
    pub state: State,
    pub status: Status,
    pub findings: Vec<Finding>,
}

impl RecordingCheck {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// The status a list of findings gives: its worst, info counting as ok.
pub fn status_of(findings: &[Finding]) -> Status {
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Error) => Status::Error,
        Some(Severity::Warning) => Status::Warning,
        _ => Status::Ok,
    }
}

/// How deep a check goes: what it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckLevel {
    /// Which files exist, the JSON files and the cross-checks between them: no WAV is opened.
    Files,
    /// Also every WAV header, and the metadata's byte counts and durations against them.
    Headers,
    /// Also the stereo files' samples against the monos.
    Full,
}

/// Check one recording, fully.
pub fn check_recording(rec: &Recording, opts: &ModelOptions) -> RecordingCheck {
    check_recording_at(rec, opts, CheckLevel::Full)
}

/// Check one recording to the given depth.
pub fn check_recording_at(
    rec: &Recording,
    opts: &ModelOptions,
    level: CheckLevel,
) -> RecordingCheck {
    let state = rec.state(opts);
    let mut findings = Vec::new();
    if state == State::InProgress {
        findings.push(Finding::new(
            crate::check::code::STATE_IN_PROGRESS,
            None,
            format!(
                "files changed within the last {} s and the recorder has not finished: not checked (see --settle)",
                opts.settle.as_secs()
            ),
        ));
    } else {
        check_files(rec, state, level, &mut findings);
        for f in &mut findings {
            f.message = rec.relative(&f.message);
        }
    }
    RecordingCheck {
        recording: rec.rel.clone(),
        state,
        status: status_of(&findings),
        findings,
    }
}

fn check_files(rec: &Recording, state: State, level: CheckLevel, out: &mut Vec<Finding>) {
    if state == State::Crashed {
        out.push(Finding::new(
            crate::check::code::STATE_CRASHED,
            None,
            "the recorder died: only WAVs remain, transcript and events are lost (repair rebuilds the final stereo and the metadata)",
        ));
    }
    if state == State::AudioRemoved {
        out.push(Finding::new(
            crate::check::code::STATE_AUDIO_REMOVED,
            None,
            format!(
                "the retention policy removed the audio ({}); transcript and metadata are kept",
                crate::recording::AUDIO_REMOVED_MARKER
            ),
        ));
    }
    // A directory read of its own: only where the headers are read too.
    let stale = if level >= CheckLevel::Headers {
        crate::safe_fs::stale_temps(&rec.dir).ok()
    } else {
        None
    };
    if let Some(stale) = stale {
        for path in stale {
            out.push(Finding::new(
                crate::check::code::FILE_TEMP_LEFTOVER,
                None,
                format!(
                    "{}: left by a callscope run that died; repair removes it",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ),
            ));
        }
    }
    // A crashed call whose audio was later removed by policy: its JSON
    // files were never written, as the marker records.
    let crashed = state == State::Crashed
        || (state == State::AudioRemoved && rec.audio_removed_from() == Some(State::Crashed));
    let recovered = rec.metadata().ok().flatten().and_then(|m| m.recovered) == Some(true);
    for kind in FileKind::ALL {
        match rec.file(kind) {
            Some(f) if f.symlink => out.push(Finding::new(
                crate::check::code::FILE_SYMLINK,
                Some(kind),
                format!(
                    "{}: a symlink; callscope never follows links in a recording",
                    kind.file_name()
                ),
            )),
            Some(f) if f.special.is_some() => out.push(Finding::new(
                crate::check::code::FILE_NOT_REGULAR,
                Some(kind),
                format!(
                    "{}: {}, not a regular file; it is never opened",
                    kind.file_name(),
                    f.special.unwrap_or_default()
                ),
            )),
            Some(_) => {}
            // The policy removed the audio; state.audio_removed says so once.
            None if state == State::AudioRemoved && kind.is_wav() => {}
            // A crashed call never wrote these; state.crashed says so once.
            None if crashed && (!kind.is_wav() || kind == FileKind::FinalStereo) => {}
            None if recovered && matches!(kind, FileKind::Transcript | FileKind::Events) => out
                .push(
                    Finding::new(
                        crate::check::code::FILE_MISSING,
                        Some(kind),
                        format!(
                            "{}: never written (the call crashed); it cannot be rebuilt",
                            kind.file_name()
                        ),
                    )
                    .with_severity(Severity::Info),
                ),
            None => out.push(Finding::new(
                crate::check::code::FILE_MISSING,
                Some(kind),
                format!("{}: missing", kind.file_name()),
            )),
        }
    }
    let usable: Vec<_> = if level >= CheckLevel::Headers {
        FileKind::WAVS
            .into_iter()
            .filter_map(|k| wav::check_header(rec, k, out).map(|i| (k, i)))
            .collect()
    } else {
        Vec::new()
    };
    wav::check_rates(&usable, out);
    wav::check_logged_rate(rec, &usable, out);
    if level >= CheckLevel::Full {
        wav::check_content(rec, &usable, out);
    }
    json::check_json(rec, out);
    let get = |k: FileKind| usable.iter().find(|(x, _)| *x == k).map(|(_, i)| *i);
    cross::check_cross(
        rec,
        get(FileKind::CallerAudio),
        get(FileKind::BotAudio),
        out,
    );
}
