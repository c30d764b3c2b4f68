//! The recorder simulator: writes recordings exactly as the real recorder
//! does (see docs/recording-model.md), optionally damaged, with the ground truth beside
//! them. Deterministic for a seed, whatever the number of threads.

mod answer;
mod call;
mod echo;
mod faults;
mod line;
mod network;
pub(crate) mod speech;
mod text;
mod truth;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::audio;
use crate::error::{Error, Result};
use crate::interrupt;
use crate::recording::{
    CallMetadata, FileKind, FunctionCall, SessionEvent, SessionEvents, Timestamp, Transcript,
    TranscriptEntry,
};

pub use call::Call;
pub use faults::Fault;
pub use line::{Condition, LineMix};
pub use truth::{Truth, TruthBargeIn, TruthChunk, TruthTurn};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub out: PathBuf,
    pub calls: usize,
    /// The typical call length; each call's conversation runs about this long.
    pub seconds: f64,
    pub seed: u64,
    /// The recorder's target sample rate.
    pub rate: u32,
    /// Recording `i` gets `faults[i % len]`; empty means none.
    pub faults: Vec<Fault>,
    /// Recording `i` gets `lines[i % len]`; empty means a clean line.
    pub lines: Vec<LineMix>,
    pub truth: Option<PathBuf>,
    /// When the first call starts.
    pub start: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Default)]
pub struct SimulateSummary {
    pub recordings: usize,
    pub bytes: u64,
}

/// The recorder's sample rates: the telephony side's and the model's.
const CALLER_SOURCE_RATE: u32 = 16000;
const BOT_SOURCE_RATE: u32 = 24000;
/// Mixed into the seed for the line conditions' random stream.
const LINE_STREAM: u64 = 0x6c69_6e65;

/// Write `opts.calls` recordings under `opts.out` (which must be empty or absent).
pub fn simulate(opts: &SimulateOptions, on_done: &(dyn Fn() + Sync)) -> Result<SimulateSummary> {
    if ![8000, 16000, 24000, 32000, 48000].contains(&opts.rate) {
        return Err(Error::Usage(format!(
            "--rate {}: use 16000 or 24000 (or 8000, 32000, 48000)",
            opts.rate
        )));
    }
    if !(opts.seconds >= 5.0 && opts.seconds <= 4.0 * 3600.0) {
        return Err(Error::Usage(format!(
            "--seconds {}: use 5 to 14400",
            opts.seconds
        )));
    }
    for dir in std::iter::once(&opts.out).chain(opts.truth.as_ref()) {
        ensure_empty_dir(dir)?;
    }
    let results: Vec<Result<u64>> = (0..opts.calls)
        .into_par_iter()
        .map(|i| {
            if interrupt::requested() {
                return Err(Error::Interrupted);
            }
            let r = simulate_one(opts, i);
            on_done();
            r
        })
        .collect();
    interrupt::check()?;
    let mut summary = SimulateSummary::default();
    for r in results {
        summary.bytes += r?;
        summary.recordings += 1;
    }
    Ok(summary)
}

/// Refuse to write into a directory that already holds something: nothing
/// is overwritten by surprise.
fn ensure_empty_dir(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "{}: directory is not empty; simulate writes only into an empty or new directory",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Err(e) => return Err(Error::io(dir, e)),
    }
    Ok(())
}

/// Generate, write, damage and describe recording `index`; returns bytes written.
fn simulate_one(opts: &SimulateOptions, index: usize) -> Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    rng.set_stream(index as u64);
    let fault = if opts.faults.is_empty() {
        Fault::None
    } else {
        opts.faults[index % opts.faults.len()]
    };
    // Calls start every few minutes, each at a random second.
    let mut start = opts.start
        + ChronoDuration::seconds(index as i64 * 360 + rng.random_range(0..300))
        + ChronoDuration::microseconds(rng.random_range(0..1_000_000));
    let seconds = opts.seconds * rng.random_range(0.9..1.1);
    if fault == Fault::InProgress {
        // A call in progress is being recorded now: it started as long ago
        // as its audio lasts, whatever --start says for the others.
        start = Utc::now() - ChronoDuration::milliseconds((seconds * 1000.0) as i64);
    }
    let line = if opts.lines.is_empty() {
        LineMix::clean()
    } else {
        opts.lines[index % opts.lines.len()].clone()
    };
    // The line's own random stream: with or without it, the call, its
    // files and its faults are the same (but for what a conversation
    // condition changes).
    let mut line_rng = ChaCha8Rng::seed_from_u64(opts.seed ^ LINE_STREAM);
    line_rng.set_stream(index as u64);
    let talk = call::Talk {
        pauses: line.has(Condition::Pauses),
        interruptions: line.has(Condition::Interruptions),
        talk_overs: line.has(Condition::TalkOvers),
        rng: &mut line_rng,
    };
    let mut call = call::generate(&mut rng, seconds, opts.rate, start, talk);
    line::apply(&line, &mut call, &mut line_rng);
    let dir_name = format!("{}_{}", call.session_id, start.format("%Y%m%d_%H%M%S"));
    let dir = opts.out.join(&dir_name);
    fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    write_recording(&dir, &call)?;

    faults::apply(fault, &dir, &call, &mut rng).map_err(|e| Error::io(&dir, e))?;
    // The recorder last touched its files when the call ended; a call still
    // in progress was touched just now.
    let touched = if fault == Fault::InProgress {
        SystemTime::now()
    } else {
        SystemTime::from(call.wall(call.caller.len()))
    };
    let bytes = set_mtimes(&dir, touched)?;

    if let Some(truth_dir) = &opts.truth {
        let truth = Truth::of(
            &call,
            &dir_name,
            fault,
            &line,
            &Timestamp::isoformat(start).raw,
        );
        let path = truth_dir.join(format!("{dir_name}.json"));
        let text = serde_json::to_string_pretty(&truth).map_err(|e| Error::write(&path, e))?;
        fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(bytes)
}

fn set_mtimes(dir: &Path, time: SystemTime) -> Result<u64> {
    let mut bytes = 0;
    for kind in FileKind::ALL {
        let path = dir.join(kind.file_name());
        if let Ok(f) = File::options().write(true).open(&path) {
            f.set_modified(time).map_err(|e| Error::io(&path, e))?;
            bytes += f.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    Ok(bytes)
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    // Python's json.dump(indent=2) layout.
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::write(path, e))?;
    fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Write the seven files the way the recorder does at the end of a call.
fn write_recording(dir: &Path, call: &Call) -> Result<()> {
    let wav = |kind: FileKind, channels: u16, samples: &[i16]| {
        let path = dir.join(kind.file_name());
        audio::write_wav(&path, channels, call.rate, samples).map_err(|e| Error::write(&path, e))
    };
    wav(FileKind::CallerAudio, 1, &call.caller)?;
    wav(FileKind::BotAudio, 1, &call.bot)?;
    wav(FileKind::Stereo, 2, &call.realtime_stereo())?;
    wav(
        FileKind::FinalStereo,
        2,
        &audio::interleave_padded(&call.caller, &call.bot),
    )?;

    let start = Timestamp::isoformat(call.start);
    let end = Timestamp::isoformat(call.wall(call.caller.len()));
    let id = Some(call.session_id.clone());
    let transcript = Transcript {
        conversation_id: id.clone(),
        session_id: id.clone(),
        start_time: Some(start.clone()),
        end_time: Some(end.clone()),
        entries: call
            .lines
            .iter()
            .map(|l| TranscriptEntry {
                timestamp: Some(Timestamp::isoformat(call.wall(l.at))),
                channel: Some(if l.caller { "caller" } else { "bot" }.to_string()),
                kind: Some(if l.caller { "input" } else { "output" }.to_string()),
                text: Some(l.text.clone()),
                confidence: l.confidence,
                duration_ms: Some(l.duration_ms),
            })
            .collect(),
    };
    write_json(&dir.join(FileKind::Transcript.file_name()), &transcript)?;

    let function_calls: Vec<FunctionCall> = call
        .function_calls
        .iter()
        .filter_map(|(_, v)| FunctionCall::from_event_data(v))
        .collect();
    let caller_bytes = call.caller.len() as u64 * 2;
    let bot_bytes = call.bot.len() as u64 * 2;
    let metadata = CallMetadata {
        conversation_id: id.clone(),
        session_id: id.clone(),
        start_time: Some(start.clone()),
        end_time: Some(end),
        duration_seconds: Some(call.seconds(call.caller.len())),
        caller_audio_chunks: Some((call.caller.len() / call.caller_chunk) as u64),
        bot_audio_chunks: Some(call.bot_chunks.len() as u64),
        caller_audio_bytes: Some(caller_bytes),
        bot_audio_bytes: Some(bot_bytes),
        // The recorder's own arithmetic: bytes / 32000, whatever the rate.
        caller_audio_duration_seconds: Some(caller_bytes as f64 / 32000.0),
        bot_audio_duration_seconds: Some(bot_bytes as f64 / 32000.0),
        transcript_entries: Some(call.lines.len() as u64),
        function_calls,
        recovered: None,
    };
    write_json(&dir.join(FileKind::Metadata.file_name()), &metadata)?;

    let mut events = vec![SessionEvent {
        timestamp: Some(start),
        event_type: Some("recording_started".into()),
        data: Some(serde_json::json!({
            "conversation_id": call.session_id,
            "recording_dir": format!("call_recordings/{}", dir.file_name().unwrap_or_default().to_string_lossy()),
            "caller_sample_rate": CALLER_SOURCE_RATE,
            "bot_sample_rate": BOT_SOURCE_RATE,
            "target_sample_rate": call.rate,
        })),
    }];
    events.extend(call.function_calls.iter().map(|(at, v)| SessionEvent {
        timestamp: Some(Timestamp::isoformat(call.wall(*at))),
        event_type: Some("function_call".into()),
        data: Some(v.clone()),
    }));
    let events = SessionEvents {
        conversation_id: id.clone(),
        session_id: id,
        events,
    };
    write_json(&dir.join(FileKind::Events.file_name()), &events)
}
