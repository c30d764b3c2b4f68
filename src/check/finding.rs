//! Findings: what `check` says about a recording. Every finding has a stable
//! code from [`CODES`], a severity, the file it concerns and a message a
//! person can act on.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::recording::FileKind;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One thing found about a recording, by `check` or by an analyzer during
/// a run (whose codes, a plugin's among them, are not all in [`CODES`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Cow<'static, str>,
    pub severity: Severity,
    /// The file's name inside the recording, when the finding concerns one.
    pub file: Option<Cow<'static, str>>,
    pub message: String,
}

impl Finding {
    /// A finding with the default severity of its code.
    pub fn new(code: &'static str, file: Option<FileKind>, message: impl Into<String>) -> Finding {
        Finding {
            code: Cow::Borrowed(code),
            severity: default_severity(code),
            file: file.map(|k| Cow::Borrowed(k.file_name())),
            message: message.into(),
        }
    }

    /// A finding under a code of the caller's own (an analyzer's, a plugin's).
    pub fn other(
        code: impl Into<Cow<'static, str>>,
        severity: Severity,
        file: Option<FileKind>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            code: code.into(),
            severity,
            file: file.map(|k| Cow::Borrowed(k.file_name())),
            message: message.into(),
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

/// A code, its usual severity, and what it means (docs/check-and-repair.md's table is
/// checked against this list by a test).
pub struct CodeInfo {
    pub code: &'static str,
    pub severity: Severity,
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($code:literal $sev:ident $meaning:literal;)*) => {
        pub const CODES: &[CodeInfo] = &[$(CodeInfo { code: $code, severity: Severity::$sev, meaning: $meaning },)*];
    };
}

codes! {
    "state.crashed" Warning "only WAVs, unchanged for --settle seconds: the recorder died; transcript and events are lost";
    "state.in_progress" Info "only WAVs, changed recently: the call may still be going on (nothing else is checked)";
    "state.audio_removed" Info "the retention policy removed the audio (AUDIO_REMOVED_BY_POLICY.json); transcript and metadata are kept, and the missing WAVs are not an error";
    "file.missing" Error "a file the recorder always writes is absent";
    "file.symlink" Error "a known file is a symlink; it is never followed";
    "file.not_regular" Error "a known file is a FIFO, a device or a socket; it is never opened";
    "file.temp_leftover" Warning "a temporary file of a callscope run that died; repair removes it";
    "file.unreadable" Error "a file could not be read (permissions, I/O error)";
    "wav.unreadable" Error "not a WAV file callscope can interpret (cut-short header, not RIFF, no data chunk)";
    "wav.format" Error "not 16-bit integer PCM";
    "wav.channels" Error "the channel count is wrong for the file's role (monos 1, stereo files 2)";
    "wav.rate_mismatch" Error "the four WAVs do not share one sample rate";
    "wav.rate_invalid" Error "a sample rate no telephony recording has (outside 4,000–192,000 Hz); its samples are not read";
    "wav.header_sizes" Warning "the RIFF or data size in the header disagrees with the data present (0, 0xFFFFFFFF, larger than the file)";
    "wav.odd_byte" Warning "the data ends inside a frame (an odd trailing byte)";
    "wav.no_samples" Error "a header with no samples";
    "wav.trailing_bytes" Warning "bytes after the data chunk that are not a chunk";
    "wav.unknown_chunk" Info "a chunk the recorder does not write (LIST, fact…), skipped";
    "wav.extensible" Info "WAVE_FORMAT_EXTENSIBLE header (the recorder writes plain PCM)";
    "wav.inconsistent_format" Warning "block_align or byte_rate disagree with the channel count";
    "final.length" Error "final stereo length is not the longer mono track's";
    "final.swapped" Error "final stereo has its channels swapped";
    "final.left" Error "final stereo left channel differs from caller_audio.wav";
    "final.right" Error "final stereo right channel differs from bot_audio.wav";
    "realtime.length" Error "real-time stereo frames are not caller + bot samples";
    "realtime.both_channels" Error "real-time stereo frames with both channels non-zero";
    "realtime.caller" Error "real-time stereo caller samples do not reproduce caller_audio.wav in order";
    "realtime.bot" Error "real-time stereo bot samples do not reproduce bot_audio.wav in order";
    "json.parse" Error "a JSON file does not parse (line and column given)";
    "json.too_large" Error "a JSON file larger than 64 MiB (a transcript of a two-hour call is under 1 MiB): not read, so it cannot exhaust memory";
    "json.field_missing" Error "a required field is absent";
    "json.field_type" Error "a field has the wrong type";
    "json.timestamp" Error "a timestamp does not parse";
    "json.order" Warning "transcript entries or events are out of time order";
    "json.channel_type" Warning "a transcript entry's type does not match its channel (caller → input, bot → output)";
    "json.end_before_start" Error "end_time is before start_time";
    "json.time_range" Warning "a time no call has: a start more than a day in the future (retention would keep the recording until then), a timestamp more than a day from the call's start, or a duration over a day; ages, retention and the call page do not trust it";
    "meta.bytes" Error "call_metadata.json byte counts disagree with the WAV data sizes";
    "meta.audio_duration" Warning "call_metadata.json *_audio_duration_seconds disagree with the audio (info when it is exactly the recorder's 16 kHz assumption on another rate)";
    "meta.duration" Warning "duration_seconds is not end_time − start_time";
    "meta.transcript_entries" Warning "transcript_entries is not the number of transcript entries";
    "meta.function_calls" Warning "call_metadata.json function_calls disagree with the function_call events in session_events.json";
    "meta.sample_rate" Warning "the target_sample_rate the recording_started event logs is not the caller track's rate";
    "meta.recovered" Info "call_metadata.json was rebuilt by repair from the audio of a crashed call";
    "perm.world_readable" Warning "a file others can read, or a directory others can list or enter: every user of the machine can hear the call or read its words (check only)";
    "perm.world_writable" Error "a file or directory every user can write: anyone can change or remove the recording (check only)";
    "perm.group_writable" Warning "a file or directory its group can write (check only)";
    "perm.owner_mismatch" Warning "a file or directory not owned by the store root's owner (check only; repair does not change owners)";
}

fn default_severity(code: &str) -> Severity {
    CODES
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.severity)
        .unwrap_or_else(|| panic!("finding code {code} is not in CODES"))
}
