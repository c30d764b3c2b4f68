//! What a recording directory holds and what can be said of it, as plain
//! values: the seven known files, a file as found on disk, where a start
//! time came from, the recording's state.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The seven files a recording directory can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    CallerAudio,
    BotAudio,
    Stereo,
    FinalStereo,
    Transcript,
    Metadata,
    Events,
}

impl FileKind {
    pub const ALL: [FileKind; 7] = [
        FileKind::CallerAudio,
        FileKind::BotAudio,
        FileKind::Stereo,
        FileKind::FinalStereo,
        FileKind::Transcript,
        FileKind::Metadata,
        FileKind::Events,
    ];

    pub const WAVS: [FileKind; 4] = [
        FileKind::CallerAudio,
        FileKind::BotAudio,
        FileKind::Stereo,
        FileKind::FinalStereo,
    ];

    pub const fn file_name(self) -> &'static str {
        match self {
            FileKind::CallerAudio => "caller_audio.wav",
            FileKind::BotAudio => "bot_audio.wav",
            FileKind::Stereo => "stereo_recording.wav",
            FileKind::FinalStereo => "final_stereo_recording.wav",
            FileKind::Transcript => "transcript.json",
            FileKind::Metadata => "call_metadata.json",
            FileKind::Events => "session_events.json",
        }
    }

    pub fn from_file_name(name: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.file_name() == name)
    }

    /// The file a message is about, when the message begins with its name
    /// (`caller_audio.wav: header cut short`, `stereo_recording.wav frame
    /// 12 …`): every message about one file is written that way, so that
    /// a failure can be filed under the file it comes from.
    pub fn named_first(message: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| {
            message
                .strip_prefix(k.file_name())
                .is_some_and(|rest| rest.starts_with([':', ' ']))
        })
    }

    pub fn is_wav(self) -> bool {
        FileKind::WAVS.contains(&self)
    }

    /// The channel count the recorder writes for this file (WAVs only).
    pub fn expected_channels(self) -> u16 {
        match self {
            FileKind::CallerAudio | FileKind::BotAudio => 1,
            _ => 2,
        }
    }
}

/// A known file as found on disk (from its directory entry; not opened).
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub kind: FileKind,
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// A symlink is reported and never followed.
    pub symlink: bool,
    /// Not a regular file (a FIFO, a device, a socket), in words: reported,
    /// never opened.
    pub special: Option<&'static str>,
}

/// Where a recording's start time came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartSource {
    Metadata,
    Transcript,
    DirName,
    FileMtime,
}

impl StartSource {
    pub fn as_str(self) -> &'static str {
        match self {
            StartSource::Metadata => "metadata",
            StartSource::Transcript => "transcript",
            StartSource::DirName => "dir_name",
            StartSource::FileMtime => "file_mtime",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTime {
    pub time: DateTime<Utc>,
    pub source: StartSource,
}

/// Whether the recorder finished with this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The recorder wrote its JSON files or the final stereo file.
    Complete,
    /// Only WAVs, untouched for longer than the settle time: the recorder died.
    Crashed,
    /// Only WAVs, changed recently: the call may still be going on.
    InProgress,
    /// The retention policy removed the audio (`delete-audio`) and left its
    /// marker: transcript and metadata are kept, and the missing WAVs are
    /// what the policy asked for, not damage.
    AudioRemoved,
    /// In a run's plan, but no longer under the root (pruned or moved
    /// since the plan was made).
    Missing,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Complete,
        State::Crashed,
        State::InProgress,
        State::AudioRemoved,
        State::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Complete => "complete",
            State::Crashed => "crashed",
            State::InProgress => "in-progress",
            State::AudioRemoved => "audio-removed",
            State::Missing => "missing",
        }
    }
}

/// The listening copy `repair --aligned` writes beside the recorder's
/// files (caller left, bot right, on the call's clock).
pub const ALIGNED_FILE: &str = "aligned_stereo_recording.wav";

#[cfg(test)]
mod tests {
    use super::FileKind;

    #[test]
    fn a_message_is_filed_under_the_file_it_begins_with() {
        let named = FileKind::named_first;
        assert_eq!(
            named("bot_audio.wav: header cut short"),
            Some(FileKind::BotAudio)
        );
        assert_eq!(
            named("stereo_recording.wav frame 12 has both channels non-zero"),
            Some(FileKind::Stereo)
        );
        // A name inside the message, or a longer name it starts, is not it.
        assert_eq!(named("speech: caller_audio.wav: missing"), None);
        assert_eq!(named("bot_audio.wav.bak: gone"), None);
        assert_eq!(named("caller_audio.wav"), None);
        assert_eq!(named("interrupted"), None);
    }
}
