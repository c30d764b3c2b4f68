//! Carrying out a plan: every new file is written under a temporary name,
//! fsynced, the original kept in a backup folder, then renamed into place;
//! every action is logged with sizes and checksums.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;

use super::action::{Action, PlannedAction, RepairPlan};
use crate::audio::{self, WavError, WavStream};
use crate::check::compare_realtime;
use crate::error::{Error, Result};
use crate::recording::{
    format_utc, CallMetadata, FileKind, NameTz, Recording, Timestamp, ALIGNED_FILE,
};
use crate::safe_fs::{self, AtomicFile};
use crate::timeline;

/// Frames per block when streaming.
const BLOCK: usize = 1 << 16;

/// Where backups and the log go.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The log every action is appended to.
    pub log: safe_fs::OwnPath,
    /// `Some(dir)`: backups under `dir/{recording}/{stamp}/`; else `{recording}/.callscope/backup/{stamp}/`.
    pub backup_dir: Option<PathBuf>,
    /// The run's time, named in backups and the log.
    pub now: DateTime<Utc>,
    pub name_tz: NameTz,
}

/// Whether a planned action was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionResult {
    Ok,
    Failed,
}

/// What happened to one planned action.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Always `done`: the line after the action (its `intent` line came before).
    pub event: &'static str,
    pub time: String,
    pub recording: String,
    pub file: String,
    pub action: String,
    pub reason: String,
    pub size_before: Option<u64>,
    pub size_after: Option<u64>,
    pub sha256_before: Option<String>,
    pub sha256_after: Option<String>,
    pub backup: Option<String>,
    pub result: ActionResult,
    pub error: Option<String>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

fn wav_err(path: &Path) -> impl Fn(WavError) -> Error + '_ {
    move |e| Error::wav(path, e)
}

/// Write a WAV into `out` block by block; `fill` may fail with a read error,
/// which stops the write and is returned as it is.
fn stream_wav(
    out: &mut AtomicFile,
    channels: u16,
    rate: u32,
    mut fill: impl FnMut(&mut Vec<i16>) -> Result<bool>,
) -> Result<()> {
    let temp = out.temp().to_path_buf();
    let mut failure = None;
    let written = audio::write_wav_stream(out.writer(), channels, rate, |block| {
        Ok::<bool, audio::WriteError>(fill(block).unwrap_or_else(|e| {
            failure = Some(e);
            false
        }))
    });
    match failure {
        Some(e) => Err(e),
        None => written.map_err(|e| Error::write(&temp, e)),
    }
}

/// Stream a WAV into a new file with a canonical header at `rate`.
fn rewrite(src: &Path, rate: u32, out: &mut AtomicFile) -> Result<()> {
    let mut stream = WavStream::open(src).map_err(wav_err(src))?;
    let channels = stream.info().channels;
    stream_wav(out, channels, rate, |block| {
        Ok(stream.read_block(block, BLOCK).map_err(wav_err(src))? > 0)
    })
}

/// One channel of the final stereo, its first `frames` frames, as a mono WAV.
fn restore(final_path: &Path, channel: u16, frames: u64, out: &mut AtomicFile) -> Result<()> {
    let mut stream = WavStream::open(final_path).map_err(wav_err(final_path))?;
    let rate = stream.info().sample_rate;
    let mut left = frames;
    let mut buf = Vec::new();
    stream_wav(out, 1, rate, |block| {
        let want = usize::try_from(left.min(BLOCK as u64)).unwrap_or(BLOCK);
        if want == 0
            || stream
                .read_block(&mut buf, want)
                .map_err(wav_err(final_path))?
                == 0
        {
            return Ok(false);
        }
        block.clear();
        block.extend(buf.iter().skip(usize::from(channel)).step_by(2));
        left -= block.len() as u64;
        Ok(true)
    })
}

/// The final stereo from the monos: caller L, bot R, the shorter padded with zeros.
fn rebuild_final(caller_path: &Path, bot_path: &Path, out: &mut AtomicFile) -> Result<()> {
    let mut caller = WavStream::open(caller_path).map_err(wav_err(caller_path))?;
    let mut bot = WavStream::open(bot_path).map_err(wav_err(bot_path))?;
    let rate = caller.info().sample_rate;
    let mut left = caller.info().frames().max(bot.info().frames());
    let (mut c, mut b) = (Vec::new(), Vec::new());
    stream_wav(out, 2, rate, |block| {
        let n = usize::try_from(left.min(BLOCK as u64)).unwrap_or(BLOCK);
        if n == 0 {
            return Ok(false);
        }
        caller.read_block(&mut c, n).map_err(wav_err(caller_path))?;
        bot.read_block(&mut b, n).map_err(wav_err(bot_path))?;
        c.resize(n, 0);
        b.resize(n, 0);
        block.clear();
        block.extend(c.iter().zip(&b).flat_map(|(l, r)| [*l, *r]));
        left -= n as u64;
        Ok(true)
    })
}

/// The call as it was heard: caller on L, and on R the bot audio placed on
/// the caller's clock by the timeline. Streams the caller track; holds the
/// bot track (speech only, the smaller one).
fn write_aligned(rec: &Recording, out: &mut AtomicFile) -> Result<()> {
    let (rt, cp, bp) = (
        rec.path(FileKind::Stereo),
        rec.path(FileKind::CallerAudio),
        rec.path(FileKind::BotAudio),
    );
    let chunk = timeline::caller_chunk_frames(rec).unwrap_or(320);
    let tl = timeline::recover(&rt, &cp, &bp, chunk)
        .map_err(|e| Error::write(&rec.dir.join(ALIGNED_FILE), e))?;
    let bot = audio::read_wav(&bp).map_err(wav_err(&bp))?.samples;
    let mut caller = WavStream::open(&cp).map_err(wav_err(&cp))?;
    let rate = caller.info().sample_rate;
    let total = caller.info().frames().max(tl.end());
    let (mut at, mut c) = (0u64, Vec::new());
    let mut seg = 0;
    stream_wav(out, 2, rate, |block| {
        let n = usize::try_from((total - at).min(BLOCK as u64)).unwrap_or(BLOCK);
        if n == 0 {
            return Ok(false);
        }
        caller.read_block(&mut c, n).map_err(wav_err(&cp))?;
        c.resize(n, 0);
        block.clear();
        block.resize(2 * n, 0);
        for (frame, s) in block.chunks_exact_mut(2).zip(&c) {
            frame[0] = *s;
        }
        // Segments are in playback order and never overlap.
        while seg < tl.segments.len() && tl.segments[seg].play_start + tl.segments[seg].len <= at {
            seg += 1;
        }
        for s in &tl.segments[seg..] {
            if s.play_start >= at + n as u64 {
                break;
            }
            let from = s.play_start.max(at);
            let to = (s.play_start + s.len).min(at + n as u64);
            for t in from..to {
                let b = (s.bot_start + (t - s.play_start)) as usize;
                block[2 * (t - at) as usize + 1] = bot.get(b).copied().unwrap_or(0);
            }
        }
        at += n as u64;
        Ok(true)
    })
}

/// The metadata the recorder would have written, as far as the audio tells.
fn recovered_metadata(rec: &Recording, name_tz: NameTz) -> Result<CallMetadata> {
    let info = |k: FileKind| {
        let p = rec.path(k);
        audio::read_info(&p).map_err(wav_err(&p))
    };
    let caller = info(FileKind::CallerAudio)?;
    let bot = info(FileKind::BotAudio)?;
    let duration = caller.duration_s();
    let start = rec.start_time(name_tz).map(|s| s.time);
    let session = Some(rec.name.session_id.clone());
    Ok(CallMetadata {
        conversation_id: session.clone(),
        session_id: session,
        start_time: start.map(Timestamp::isoformat),
        end_time: start.map(|s| {
            Timestamp::isoformat(s + ChronoDuration::microseconds((duration * 1e6).round() as i64))
        }),
        duration_seconds: Some(duration),
        // Chunk counts are not in the audio; transcript and function calls were never written.
        caller_audio_chunks: None,
        bot_audio_chunks: None,
        caller_audio_bytes: Some(caller.data_len),
        bot_audio_bytes: Some(bot.data_len),
        // At the real rate, not the recorder's bytes / 32000.
        caller_audio_duration_seconds: Some(duration),
        bot_audio_duration_seconds: Some(bot.duration_s()),
        transcript_entries: None,
        function_calls: Vec::new(),
        recovered: Some(true),
    })
}

/// After restoring a mono, prove it: its non-zero samples must be exactly
/// the real-time file's on its channel.
fn verify_restored(rec: &Recording, kind: FileKind, candidate: &Path) -> Result<()> {
    let rt = rec.path(FileKind::Stereo);
    if !rec.has(FileKind::Stereo) {
        return Ok(());
    }
    let (caller, bot) = if kind == FileKind::CallerAudio {
        (candidate.to_path_buf(), rec.path(FileKind::BotAudio))
    } else {
        (rec.path(FileKind::CallerAudio), candidate.to_path_buf())
    };
    let report = compare_realtime(&rt, &caller, &bot).map_err(wav_err(&rt))?;
    let side = if kind == FileKind::CallerAudio {
        &report.caller
    } else {
        &report.bot
    };
    if side.ok() {
        Ok(())
    } else {
        Err(Error::write(
            &rec.path(kind),
            "the restored track does not match stereo_recording.wav; left as it was",
        ))
    }
}

fn write_action(
    rec: &Recording,
    action: &Action,
    out: &mut AtomicFile,
    opts: &ApplyOptions,
) -> Result<()> {
    match action {
        Action::RewriteHeader { file, rate } => rewrite(&rec.dir.join(file), *rate, out),
        Action::RestoreMono {
            file,
            channel,
            frames,
        } => {
            restore(&rec.path(FileKind::FinalStereo), *channel, *frames, out)?;
            out.finish().map_err(io_err(out.temp()))?;
            let kind = FileKind::from_file_name(file).unwrap_or(FileKind::BotAudio);
            verify_restored(rec, kind, out.temp())
        }
        Action::RebuildFinal { .. } => rebuild_final(
            &rec.path(FileKind::CallerAudio),
            &rec.path(FileKind::BotAudio),
            out,
        ),
        Action::WriteAligned { .. } => write_aligned(rec, out),
        Action::RecoverMetadata { file } => {
            let path = rec.dir.join(file);
            let mut meta = serde_json::to_value(recovered_metadata(rec, opts.name_tz)?)
                .map_err(|e| Error::write(&path, e))?;
            // The function calls are unknown, not "none": null, like the other unknowns.
            meta["function_calls"] = serde_json::Value::Null;
            let text = serde_json::to_string_pretty(&meta).map_err(|e| Error::write(&path, e))?;
            out.writer()
                .write_all(text.as_bytes())
                .map_err(io_err(out.temp()))
        }
    }
}

/// Append a line to the repair log; the error says which log.
pub(super) fn log(opts: &ApplyOptions, line: &str) -> std::result::Result<(), String> {
    safe_fs::append_line(&opts.log.path(), line).map_err(|e| {
        format!(
            "{}: cannot write the repair log: {e}",
            opts.log.shown().display()
        )
    })
}

/// Where a recording's replaced originals are kept: the directory to
/// write them through, and its name for the log.
struct BackupDir {
    open: PathBuf,
    shown: PathBuf,
    /// The handle `open` names, when the backup is in the recording.
    _held: Option<safe_fs::Beneath>,
}

fn backup_dir(rec: &Recording, opts: &ApplyOptions) -> std::io::Result<BackupDir> {
    let stamp = opts.now.format("%Y%m%dT%H%M%SZ").to_string();
    match &opts.backup_dir {
        Some(dir) => {
            let d = dir.join(&rec.rel).join(stamp);
            Ok(BackupDir {
                open: d.clone(),
                shown: d,
                _held: None,
            })
        }
        // In the recording: reached without following a link, so a link
        // planted at `.callscope` or `backup` never sends an original
        // outside the store.
        None => {
            let held = safe_fs::Beneath::open(
                &rec.dir,
                &Path::new(".callscope/backup").join(stamp),
                true,
            )?;
            Ok(BackupDir {
                open: held.path(),
                shown: held.shown().to_path_buf(),
                _held: Some(held),
            })
        }
    }
}

fn size_and_hash(path: &Path) -> (Option<u64>, Option<String>) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => (Some(m.len()), safe_fs::sha256_file(path).ok()),
        _ => (None, None),
    }
}

/// Carry out one action. Its intent line (with the SHA-256 it starts from)
/// is on disk before the file changes, so a repair killed between the
/// rename and its result line still left a trace of what it did; when the
/// intent cannot be logged, nothing is changed and the error is returned.
fn apply_one(
    rec: &Recording,
    planned: &PlannedAction,
    opts: &ApplyOptions,
) -> std::result::Result<Outcome, String> {
    let file = planned.action.file();
    let target = rec.dir.join(file);
    let (size_before, sha256_before) = size_and_hash(&target);
    let intent = serde_json::json!({
        "event": "intent",
        "time": format_utc(&Utc::now()),
        "recording": rec.rel,
        "file": file,
        "action": planned.action.name(),
        "reason": planned.reason,
        "sha256_before": sha256_before,
    });
    log(opts, &intent.to_string())?;
    let mut outcome = Outcome {
        event: "done",
        time: format_utc(&Utc::now()),
        recording: rec.rel.clone(),
        file: file.to_string(),
        action: planned.action.name().to_string(),
        reason: planned.reason.clone(),
        size_before,
        size_after: None,
        sha256_before,
        sha256_after: None,
        backup: None,
        result: ActionResult::Ok,
        error: None,
    };
    let result = AtomicFile::replace(&target)
        .map_err(io_err(&target))
        .and_then(|mut out| {
            write_action(rec, &planned.action, &mut out, opts)?;
            let dir = backup_dir(rec, opts).map_err(io_err(&target))?;
            let kept = out
                .commit(Some(&dir.open.join(file)))
                .map_err(io_err(&target))?;
            Ok(kept.map(|k| dir.shown.join(k.file_name().unwrap_or_default())))
        });
    match result {
        Ok(backup) => {
            outcome.backup = backup.map(|b| b.display().to_string());
            let (size, sha) = size_and_hash(&target);
            outcome.size_after = size;
            outcome.sha256_after = sha;
        }
        Err(e) => {
            outcome.result = ActionResult::Failed;
            outcome.error = Some(e.to_string());
        }
    }
    Ok(outcome)
}

/// Apply a plan to its recording, action by action, logging each. Returns
/// the outcomes and any warning (a log line that could not be written).
pub fn apply(
    rec: &Recording,
    plan: &RepairPlan,
    opts: &ApplyOptions,
) -> (Vec<Outcome>, Vec<String>) {
    let (mut outcomes, mut warnings) = (Vec::new(), Vec::new());
    // Temporary files a killed run left behind go first, whether or not
    // there is anything else to do (a live run's are left alone).
    match safe_fs::remove_stale_temps(&rec.dir) {
        Ok(removed) => {
            for path in removed {
                let line = serde_json::json!({
                    "time": format_utc(&Utc::now()),
                    "recording": rec.rel,
                    "event": "temp-removed",
                    "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                });
                if let Err(e) = log(opts, &line.to_string()) {
                    warnings.push(e);
                }
            }
        }
        Err(e) => warnings.push(format!(
            "{}: cannot remove a dead run's temporary files: {e}",
            rec.dir.display()
        )),
    }
    for planned in &plan.actions {
        let outcome = match apply_one(rec, planned, opts) {
            Ok(o) => o,
            Err(warning) => {
                // No file changes without its intent logged.
                warnings.push(warning);
                break;
            }
        };
        let line = serde_json::to_string(&outcome).unwrap_or_default();
        if let Err(e) = log(opts, &line) {
            warnings.push(e);
        }
        let failed = outcome.result == ActionResult::Failed;
        outcomes.push(outcome);
        if failed {
            // Later actions build on earlier ones: stop this recording here.
            break;
        }
    }
    (outcomes, warnings)
}
