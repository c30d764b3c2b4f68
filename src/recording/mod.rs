//! The recording model: one call's directory, its files, and what can be
//! known about it. Nothing is read until asked for, and each file is read at
//! most once.

mod discover;
pub mod filter;
mod kinds;
pub mod model;
mod name;
mod output_path;
pub mod redact;
mod resolve;
mod timestamp;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::audio::{self, WavInfo};
use crate::error::{Error, Result};
use crate::safe_fs;

pub use discover::{
    check_root, discover, discover_each, is_inside_name, open_dir, Discovery, SkippedPath,
};
pub use filter::{Filter, TimeSpec};
pub use kinds::{FileEntry, FileKind, StartSource, StartTime, State, ALIGNED_FILE};
pub use model::{
    CallMetadata, FunctionCall, SessionEvent, SessionEvents, Transcript, TranscriptEntry,
};
pub use name::{DirName, NameTz};
pub use output_path::{check_output_path, is_recording_dir};
pub use resolve::resolve;
pub use timestamp::{format_utc, parse_timestamp, Timestamp};

/// A file or directory name as text: valid UTF-8 as it is, each byte that
/// is not as `\xNN`, so two names that differ only in invalid bytes stay
/// two names (a lossy conversion would make them one).
pub fn name_text(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// The largest JSON file a recording may hold (64 MiB): a two-hour call's
/// transcript is well under 1 MiB, and parsed JSON takes several times its
/// size in memory, so one damaged file cannot take a whole run down.
pub const MAX_JSON_BYTES: u64 = 64 << 20;

/// The marker `delete-audio` leaves in a recording whose audio it removed.
pub const AUDIO_REMOVED_MARKER: &str = "AUDIO_REMOVED_BY_POLICY.json";

/// How to interpret what is found on disk.
#[derive(Debug, Clone, Copy)]
pub struct ModelOptions {
    /// The zone of the directory-name stamps.
    pub name_tz: NameTz,
    /// How long a recording with only WAVs must be unchanged to count as crashed.
    pub settle: Duration,
    /// "Now", for the settle test.
    pub now: SystemTime,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            name_tz: NameTz::Utc,
            settle: Duration::from_secs(300),
            now: SystemTime::now(),
        }
    }
}

type Cached<T> = OnceLock<Result<Option<T>>>;

/// What a recording read of its files, each read at most once.
#[derive(Debug, Default)]
struct Loaded {
    /// The three JSON files as parsed values.
    json: [Cached<Value>; 3],
    metadata: Cached<CallMetadata>,
    transcript: Cached<Transcript>,
    events: Cached<SessionEvents>,
    wav_info: [Cached<WavInfo>; 4],
}

/// One recording directory.
#[derive(Debug)]
pub struct Recording {
    /// The directory, as reachable from the current directory.
    pub dir: PathBuf,
    /// The directory relative to the root it was found under, `/`-separated.
    pub rel: String,
    pub name: DirName,
    /// The known files present, in [`FileKind::ALL`] order.
    pub files: Vec<FileEntry>,
    /// `AUDIO_REMOVED_BY_POLICY.json` is here: see [`State::AudioRemoved`].
    audio_removed: bool,
    /// Boxed and made on first use: a discovered recording nothing was
    /// read of costs a few hundred bytes, so a whole root's list is small.
    loaded: OnceLock<Box<Loaded>>,
}

impl Recording {
    /// A recording from a directory's known files (see [`discover`]).
    pub fn new(
        dir: PathBuf,
        rel: String,
        mut files: Vec<FileEntry>,
        audio_removed: bool,
    ) -> Recording {
        files.sort_by_key(|f| f.kind);
        let leaf = dir
            .file_name()
            .map(name_text)
            .unwrap_or_else(|| rel.clone());
        Recording {
            name: DirName::parse(&leaf),
            dir,
            rel,
            files,
            audio_removed,
            loaded: OnceLock::new(),
        }
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.get_or_init(Box::default)
    }

    /// Open a single recording directory directly.
    pub fn open(dir: &Path) -> Result<Recording> {
        let (files, audio_removed) = discover::known_files(dir)?;
        let rel = dir
            .file_name()
            .map(name_text)
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Recording::new(dir.to_path_buf(), rel, files, audio_removed))
    }

    pub fn path(&self, kind: FileKind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    /// `message` with this recording's directory taken out of the paths it
    /// names: findings name files relative to the recording, whose own
    /// column already says which one it is.
    pub fn relative(&self, message: &str) -> String {
        message.replace(&format!("{}/", self.dir.display()), "")
    }

    pub fn file(&self, kind: FileKind) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.kind == kind)
    }

    /// Present as a regular file (a symlink does not count: it is never
    /// followed; nor does a FIFO or a device: it is never opened).
    pub fn has(&self, kind: FileKind) -> bool {
        self.file(kind)
            .is_some_and(|f| !f.symlink && f.special.is_none())
    }

    /// A JSON file as a parsed value (`Ok(None)` when absent): read once,
    /// shared by the typed accessors and by `check`'s schema checks.
    pub fn json(&self, kind: FileKind) -> Result<Option<&Value>, &Error> {
        let slot = match kind {
            FileKind::Transcript => 0,
            FileKind::Metadata => 1,
            FileKind::Events => 2,
            _ => panic!("json() takes a JSON kind"),
        };
        self.loaded().json[slot]
            .get_or_init(|| {
                if !self.has(kind) {
                    return Ok(None);
                }
                let path = self.path(kind);
                let size = self.file(kind).map_or(0, |f| f.len);
                if size > MAX_JSON_BYTES {
                    return Err(Error::TooLarge {
                        path,
                        size,
                        limit: MAX_JSON_BYTES,
                        what: "JSON file",
                    });
                }
                let bytes = safe_fs::read_regular(&path).map_err(|e| Error::io(&path, e))?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| Error::json(&path, &e))
            })
            .as_ref()
            .map(Option::as_ref)
    }

    fn load_typed<T: DeserializeOwned>(&self, kind: FileKind) -> Result<Option<T>> {
        let Some(value) = self.json(kind).map_err(Error::clone)? else {
            return Ok(None);
        };
        T::deserialize(value)
            .map(Some)
            .map_err(|e| Error::schema(&self.path(kind), e))
    }

    /// `call_metadata.json`: `Ok(None)` when absent.
    pub fn metadata(&self) -> Result<Option<&CallMetadata>, &Error> {
        self.loaded()
            .metadata
            .get_or_init(|| self.load_typed(FileKind::Metadata))
            .as_ref()
            .map(Option::as_ref)
    }

    /// `transcript.json`: `Ok(None)` when absent.
    pub fn transcript(&self) -> Result<Option<&Transcript>, &Error> {
        self.loaded()
            .transcript
            .get_or_init(|| self.load_typed(FileKind::Transcript))
            .as_ref()
            .map(Option::as_ref)
    }

    /// `session_events.json`: `Ok(None)` when absent.
    pub fn events(&self) -> Result<Option<&SessionEvents>, &Error> {
        self.loaded()
            .events
            .get_or_init(|| self.load_typed(FileKind::Events))
            .as_ref()
            .map(Option::as_ref)
    }

    /// The header of one of the four WAVs (only the header is read).
    pub fn wav_info(&self, kind: FileKind) -> Result<Option<&WavInfo>, &Error> {
        let slot = FileKind::WAVS
            .iter()
            .position(|k| *k == kind)
            .expect("wav_info takes a WAV kind");
        self.loaded().wav_info[slot]
            .get_or_init(|| {
                if !self.has(kind) {
                    return Ok(None);
                }
                let path = self.path(kind);
                audio::read_info(&path)
                    .map(Some)
                    .map_err(|e| Error::wav(&path, e))
            })
            .as_ref()
            .map(Option::as_ref)
    }

    /// The sample rate of the first readable WAV, caller track first.
    pub fn sample_rate(&self) -> Option<u32> {
        FileKind::WAVS
            .iter()
            .find_map(|k| self.wav_info(*k).ok().flatten().map(|i| i.sample_rate))
    }

    /// The recorder's target rate as logged in its `recording_started`
    /// event: the sample rate without opening a WAV.
    pub fn logged_sample_rate(&self) -> Option<u32> {
        self.events()
            .ok()
            .flatten()?
            .events
            .iter()
            .find(|e| e.event_type.as_deref() == Some("recording_started"))?
            .data
            .as_ref()?
            .get("target_sample_rate")?
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
    }

    /// The conversation id the JSON files give.
    pub fn conversation_id(&self) -> Option<String> {
        self.metadata()
            .ok()
            .flatten()
            .and_then(|m| m.conversation_id.clone())
            .or_else(|| {
                self.transcript()
                    .ok()
                    .flatten()
                    .and_then(|t| t.conversation_id.clone())
            })
    }

    /// The session id: from the JSON files when they say, else the directory name.
    pub fn session_id(&self) -> String {
        self.metadata()
            .ok()
            .flatten()
            .and_then(|m| m.session_id.clone())
            .or_else(|| {
                self.transcript()
                    .ok()
                    .flatten()
                    .and_then(|t| t.session_id.clone())
            })
            .unwrap_or_else(|| self.name.session_id.clone())
    }

    /// The function calls: from the metadata, else from the session events.
    /// (Metadata that repair recovered from audio does not know them.)
    pub fn function_calls(&self) -> Option<Vec<FunctionCall>> {
        if let Ok(Some(m)) = self.metadata() {
            if m.recovered != Some(true) {
                return Some(m.function_calls.clone());
            }
        }
        self.events()
            .ok()
            .flatten()
            .map(SessionEvents::function_calls)
    }

    /// When the call started, and which source said so: metadata
    /// `start_time`, else transcript `start_time`, else the directory-name
    /// stamp in `name_tz`, else the oldest file's modification time.
    pub fn start_time(&self, name_tz: NameTz) -> Option<StartTime> {
        let meta = self
            .metadata()
            .ok()
            .flatten()
            .and_then(|m| m.start_time.as_ref()?.utc);
        let from_transcript = || {
            self.transcript()
                .ok()
                .flatten()
                .and_then(|t| t.start_time.as_ref()?.utc)
        };
        let from_name = || self.name.stamp.and_then(|s| name_tz.to_utc(s));
        let from_mtime = || {
            self.files
                .iter()
                .filter_map(|f| f.modified)
                .min()
                .map(DateTime::<Utc>::from)
        };
        let pick = |t: Option<DateTime<Utc>>, source| t.map(|time| StartTime { time, source });
        pick(meta, StartSource::Metadata)
            .or_else(|| pick(from_transcript(), StartSource::Transcript))
            .or_else(|| pick(from_name(), StartSource::DirName))
            .or_else(|| pick(from_mtime(), StartSource::FileMtime))
    }

    /// The call's duration in seconds: metadata `duration_seconds`, else its
    /// end − start, else the caller track's length (the caller track is the call's clock).
    pub fn duration_s(&self) -> Option<f64> {
        if let Ok(Some(m)) = self.metadata() {
            if let Some(d) = m.duration_seconds {
                return Some(d);
            }
            if let (Some(s), Some(e)) = (
                m.start_time.as_ref().and_then(|t| t.utc),
                m.end_time.as_ref().and_then(|t| t.utc),
            ) {
                return Some((e - s).num_microseconds()? as f64 / 1e6);
            }
        }
        self.wav_info(FileKind::CallerAudio)
            .ok()
            .flatten()
            .map(WavInfo::duration_s)
    }

    /// The recording as its directory listing shows it: each known file's
    /// name, size and modification time, and the delete-audio marker. Two
    /// listings with one fingerprint hold the same files as far as anything
    /// short of reading them can tell; a repair, a late file or a file still
    /// growing changes it. Nothing is opened.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for f in &self.files {
            let mtime = f
                .modified
                .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(format!("{}\t{}\t{mtime}\n", f.kind.file_name(), f.len));
        }
        if self.audio_removed {
            h.update(AUDIO_REMOVED_MARKER);
        }
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The newest modification time among the recording's files.
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.files.iter().filter_map(|f| f.modified).max()
    }

    /// Whether `delete-audio` left its marker here (a regular file only,
    /// as the directory listing showed it).
    pub fn audio_removed(&self) -> bool {
        self.audio_removed
    }

    /// The state the recording was in when `delete-audio` removed its audio,
    /// as its marker records it.
    pub fn audio_removed_from(&self) -> Option<State> {
        let bytes = safe_fs::read_regular(&self.dir.join(AUDIO_REMOVED_MARKER)).ok()?;
        let marker: Value = serde_json::from_slice(&bytes).ok()?;
        match marker.get("state")?.as_str()? {
            "crashed" => Some(State::Crashed),
            "complete" => Some(State::Complete),
            _ => None,
        }
    }

    /// Complete, crashed, still being written, or its audio removed by policy.
    pub fn state(&self, opts: &ModelOptions) -> State {
        if self.audio_removed() {
            return State::AudioRemoved;
        }
        let finished = [
            FileKind::Transcript,
            FileKind::Metadata,
            FileKind::Events,
            FileKind::FinalStereo,
        ]
        .iter()
        .any(|k| self.file(*k).is_some());
        if finished {
            return State::Complete;
        }
        let age = self
            .last_modified()
            .map(|m| opts.now.duration_since(m).unwrap_or(Duration::ZERO));
        match age {
            Some(age) if age >= opts.settle => State::Crashed,
            _ if self.ended_long_ago(opts) => State::Crashed,
            _ => State::InProgress,
        }
    }

    /// A live call is written in real time: the stamp of its name plus the
    /// audio written so far is "now" on the recorder's clock. One whose
    /// stamp plus audio lies further back than every UTC offset there is
    /// (26 hours) and `--settle` cannot be live, however fresh its files'
    /// times are (a copy, a restore, a clone of the sample recordings).
    fn ended_long_ago(&self, opts: &ModelOptions) -> bool {
        const EVERY_OFFSET: Duration = Duration::from_secs(26 * 3600);
        let Some(stamp) = self.name.stamp else {
            return false;
        };
        let audio_s = [FileKind::CallerAudio, FileKind::BotAudio]
            .into_iter()
            .filter_map(|k| self.wav_info(k).ok().flatten())
            .map(crate::audio::WavInfo::duration_s)
            .fold(0.0, f64::max);
        let Some(audio) = Duration::try_from_secs_f64(audio_s)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
        else {
            return false;
        };
        let now: DateTime<Utc> = opts.now.into();
        let Ok(margin) = chrono::Duration::from_std(EVERY_OFFSET + opts.settle) else {
            return false;
        };
        stamp
            .and_utc()
            .checked_add_signed(audio + margin)
            .is_some_and(|end| end < now)
    }
}
