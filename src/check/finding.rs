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
    ($($name:ident $code:literal $sev:ident $meaning:literal;)*) => {
        /// Every finding code, each defined once here: the code uses these,
        /// never the text.
        pub mod code {
            $(pub const $name: &str = $code;)*
        }
        pub const CODES: &[CodeInfo] = &[$(CodeInfo { code: code::$name, severity: Severity::$sev, meaning: $meaning },)*];
    };
}

codes! {
    STATE_CRASHED "state.crashed" Warning "only WAVs, unchanged for --settle seconds: the recorder died; transcript and events are lost";
    STATE_IN_PROGRESS "state.in_progress" Info "only WAVs, changed recently: the call may still be going on (nothing else is checked)";
    STATE_AUDIO_REMOVED "state.audio_removed" Info "the retention policy removed the audio (AUDIO_REMOVED_BY_POLICY.json); transcript and metadata are kept, and the missing WAVs are not an error";
    FILE_MISSING "file.missing" Error "a file the recorder always writes is absent";
    FILE_SYMLINK "file.symlink" Error "a known file is a symlink; it is never followed";
    FILE_NOT_REGULAR "file.not_regular" Error "a known file is a FIFO, a device or a socket; it is never opened";
    FILE_TEMP_LEFTOVER "file.temp_leftover" Warning "a temporary file of a callscope run that died; repair removes it";
    FILE_UNREADABLE "file.unreadable" Error "a file could not be read (permissions, I/O error)";
    WAV_UNREADABLE "wav.unreadable" Error "not a WAV file callscope can interpret (cut-short header, not RIFF, no data chunk)";
    WAV_FORMAT "wav.format" Error "not 16-bit integer PCM";
    WAV_CHANNELS "wav.channels" Error "the channel count is wrong for the file's role (monos 1, stereo files 2)";
    WAV_RATE_MISMATCH "wav.rate_mismatch" Error "the four WAVs do not share one sample rate";
    WAV_RATE_INVALID "wav.rate_invalid" Error "a sample rate no telephony recording has (outside 4,000–192,000 Hz); its samples are not read";
    WAV_HEADER_SIZES "wav.header_sizes" Warning "the RIFF or data size in the header disagrees with the data present (0, 0xFFFFFFFF, larger than the file)";
    WAV_ODD_BYTE "wav.odd_byte" Warning "the data ends inside a frame (an odd trailing byte)";
    WAV_NO_SAMPLES "wav.no_samples" Error "a header with no samples";
    WAV_TRAILING_BYTES "wav.trailing_bytes" Warning "bytes after the data chunk that are not a chunk";
    WAV_UNKNOWN_CHUNK "wav.unknown_chunk" Info "a chunk the recorder does not write (LIST, fact…), skipped";
    WAV_EXTENSIBLE "wav.extensible" Info "WAVE_FORMAT_EXTENSIBLE header (the recorder writes plain PCM)";
    WAV_INCONSISTENT_FORMAT "wav.inconsistent_format" Warning "block_align or byte_rate disagree with the channel count";
    FINAL_LENGTH "final.length" Error "final stereo length is not the longer mono track's";
    FINAL_SWAPPED "final.swapped" Error "final stereo has its channels swapped";
    FINAL_LEFT "final.left" Error "final stereo left channel differs from caller_audio.wav";
    FINAL_RIGHT "final.right" Error "final stereo right channel differs from bot_audio.wav";
    REALTIME_LENGTH "realtime.length" Error "real-time stereo frames are not caller + bot samples";
    REALTIME_BOTH_CHANNELS "realtime.both_channels" Error "real-time stereo frames with both channels non-zero";
    REALTIME_CALLER "realtime.caller" Error "real-time stereo caller samples do not reproduce caller_audio.wav in order";
    REALTIME_BOT "realtime.bot" Error "real-time stereo bot samples do not reproduce bot_audio.wav in order";
    JSON_PARSE "json.parse" Error "a JSON file does not parse (line and column given)";
    JSON_TOO_LARGE "json.too_large" Error "a JSON file larger than 64 MiB (a transcript of a two-hour call is under 1 MiB): not read, so it cannot exhaust memory";
    JSON_FIELD_MISSING "json.field_missing" Error "a required field is absent";
    JSON_FIELD_TYPE "json.field_type" Error "a field has the wrong type";
    JSON_TIMESTAMP "json.timestamp" Error "a timestamp does not parse";
    JSON_ORDER "json.order" Warning "transcript entries or events are out of time order";
    JSON_CHANNEL_TYPE "json.channel_type" Warning "a transcript entry's type does not match its channel (caller → input, bot → output)";
    JSON_END_BEFORE_START "json.end_before_start" Error "end_time is before start_time";
    JSON_TIME_RANGE "json.time_range" Warning "a time no call has: a start more than a day in the future (retention would keep the recording until then), a timestamp more than a day from the call's start, or a duration over a day; ages, retention and the call page do not trust it";
    META_BYTES "meta.bytes" Error "call_metadata.json byte counts disagree with the WAV data sizes";
    META_AUDIO_DURATION "meta.audio_duration" Warning "call_metadata.json *_audio_duration_seconds disagree with the audio (info when it is exactly the recorder's 16 kHz assumption on another rate)";
    META_DURATION "meta.duration" Warning "duration_seconds is not end_time − start_time";
    META_TRANSCRIPT_ENTRIES "meta.transcript_entries" Warning "transcript_entries is not the number of transcript entries";
    META_FUNCTION_CALLS "meta.function_calls" Warning "call_metadata.json function_calls disagree with the function_call events in session_events.json";
    META_SAMPLE_RATE "meta.sample_rate" Warning "the target_sample_rate the recording_started event logs is not the caller track's rate";
    META_RECOVERED "meta.recovered" Info "call_metadata.json was rebuilt by repair from the audio of a crashed call";
    PERM_WORLD_READABLE "perm.world_readable" Warning "a file others can read, or a directory others can list or enter: every user of the machine can hear the call or read its words (check only)";
    PERM_WORLD_WRITABLE "perm.world_writable" Error "a file or directory every user can write: anyone can change or remove the recording (check only)";
    PERM_GROUP_WRITABLE "perm.group_writable" Warning "a file or directory its group can write (check only)";
    PERM_OWNER_MISMATCH "perm.owner_mismatch" Warning "a file or directory not owned by the store root's owner (check only; repair does not change owners)";
    TIMELINE_UNAVAILABLE "timeline.unavailable" Warning "(run) the bot's speech cannot be placed on the call's clock (the real-time file is missing, cut short or inconsistent): the timing columns are empty";
    TIMELINE_PLAYBACK_UNCERTAIN "timeline.playback_uncertain" Info "(run) an answer the caller talked over had fully arrived, so the recording cannot say when the bridge stopped playing it: the bounds and the value counted are given";
    LINE_ECHO "line.echo" Warning "(run) the bot's voice comes back on the caller's line (a speakerphone) less than 35 dB down: a listener hears it; callscope does not count it as the caller";
    RECORDING_UNREADABLE "recording.unreadable" Error "(run) a selected recording could no longer be opened when its turn came";
    RECORDING_GONE "recording.gone" Error "(run) a recording discovery found was no longer under the root when its turn came (pruned or moved while the run went on)";
    PLAN_MISSING "plan.missing" Error "(run --plan) a recording the plan names is no longer under the root";
}

fn default_severity(code: &str) -> Severity {
    CODES
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.severity)
        .unwrap_or_else(|| panic!("finding code {code} is not in CODES"))
}
