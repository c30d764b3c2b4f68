//! The call on one clock. The caller track is the call's clock; the bot
//! track holds only the bot's speech, back to back. `stereo_recording.wav`
//! is the only file that records when each bot chunk arrived: the recorder
//! appended every chunk in arrival order, the other channel zero.
//!
//! Recovery reads the real-time file once, with both monos. Every non-zero
//! sample is unambiguous: a non-zero L at real-time frame p is the next
//! non-zero caller sample, at caller index c, so the caller chunk holding it
//! had `p − c` bot samples before it; a non-zero R at frame p is the next
//! non-zero bot sample, at bot index b, so `p − b` caller samples had arrived
//! before it (its arrival on the caller's clock). Zero samples are ambiguous
//! (line noise and TTS silence hit exactly 0), and are placed by the rule:
//! a run of bot samples that arrived together starts right after the last
//! caller chunk before it that has a non-zero sample. Bot audio plays in real
//! time, so each run starts at max(its arrival, the end of the run before).
//! Every bot turn's first speech lands within one caller chunk (20 ms) of
//! when it truly arrived; within a turn, playback is exact.
//!
//! That is what the recorder received. What the caller heard (answers cut
//! short by a barge-in or by the end of the call) is decided afterwards,
//! with the caller's speech, by [`Timeline::hear`] (`heard.rs`).

use std::path::Path;

mod heard;
mod scan;

pub use heard::{utterances, Answer, Ending, BACKCHANNEL_MAX_S};

use crate::audio::WavError;

use scan::{Anchors, Pass, Track};

/// Bot samples that arrived between two caller chunks, placed on the call's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotSegment {
    /// First sample in `bot_audio.wav`.
    pub bot_start: u64,
    pub len: u64,
    /// Caller samples that arrived before it.
    pub arrival: u64,
    /// When its first sample played, on the caller's clock (samples).
    pub play_start: u64,
    /// How many of its samples played (fewer than `len` when its answer
    /// was cut short).
    pub heard: u64,
}

/// Where the bot track sits on the call's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub segments: Vec<BotSegment>,
    pub caller_len: u64,
    pub bot_len: u64,
    /// The bot's answers and how each ended, once [`Timeline::hear`] has
    /// decided it.
    pub answers: Vec<Answer>,
}

impl Timeline {
    /// The call-clock position of bot sample `b`, if it played.
    pub fn play_time(&self, b: u64) -> Option<u64> {
        let i = self
            .segments
            .partition_point(|s| s.bot_start <= b)
            .checked_sub(1)?;
        let s = &self.segments[i];
        (b < s.bot_start + s.heard).then(|| s.play_start + (b - s.bot_start))
    }

    /// The part of a span of the bot track that played, split where
    /// playback jumps (a gap between turns): each piece as (track span,
    /// call-clock span).
    pub fn map_span(&self, (start, end): (u64, u64)) -> Vec<((u64, u64), (u64, u64))> {
        let mut out: Vec<((u64, u64), (u64, u64))> = Vec::new();
        let first = self
            .segments
            .partition_point(|s| s.bot_start + s.len <= start);
        for s in &self.segments[first..] {
            if s.bot_start >= end {
                break;
            }
            let a = start.max(s.bot_start);
            let b = end.min(s.bot_start + s.heard);
            if b <= a {
                continue;
            }
            let call = (
                s.play_start + (a - s.bot_start),
                s.play_start + (b - s.bot_start),
            );
            match out.last_mut() {
                Some(last) if last.1 .1 == call.0 => {
                    last.0 .1 = b;
                    last.1 .1 = call.1;
                }
                _ => out.push(((a, b), call)),
            }
        }
        out
    }

    /// The bot's audio `bot` where it played, on the caller's clock
    /// (`caller_len` samples long): the signal the caller's phone put into
    /// the room, which its microphone may pick up again as echo.
    pub fn played(&self, bot: &[i16]) -> Vec<i16> {
        let n = self.caller_len as usize;
        let mut out = vec![0i16; n];
        for s in &self.segments {
            let (from, to) = (s.bot_start as usize, (s.bot_start + s.heard) as usize);
            let Some(piece) = bot.get(from..to.min(bot.len())) else {
                continue;
            };
            let at = (s.play_start as usize).min(n);
            let len = piece.len().min(n - at);
            out[at..at + len].copy_from_slice(&piece[..len]);
        }
        out
    }

    /// The end of the last bot sample's playback.
    pub fn end(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.heard > 0)
            .map(|s| s.play_start + s.heard)
            .max()
            .unwrap_or(0)
    }
}

/// Why the real-time file could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    /// A WAV that could not be read, named: the message says which of
    /// the three files failed.
    #[error("{file}: {source}")]
    Wav {
        file: &'static str,
        source: WavError,
    },
    #[error("stereo_recording.wav frame {frame} has both channels non-zero")]
    BothChannels { frame: u64 },
    #[error("stereo_recording.wav frame {frame}: its {channel} sample does not continue {track} in order")]
    Mismatch {
        frame: u64,
        channel: &'static str,
        track: &'static str,
    },
    #[error("stereo_recording.wav ends before {track} does")]
    Short { track: &'static str },
    #[error("interrupted")]
    Interrupted,
    #[error("{file} has {channels} channel(s), not {want}")]
    Channels {
        file: &'static str,
        channels: u16,
        want: u16,
    },
}

/// Read the real-time file against the monos and place every bot sample on
/// the caller's clock. `chunk` is the caller chunk size in frames.
pub fn recover(
    rt_path: &Path,
    caller_path: &Path,
    bot_path: &Path,
    chunk: u64,
) -> Result<Timeline, TimelineError> {
    recover_from(
        rt_path,
        Track::open(caller_path, scan::CALLER)?,
        Track::open(bot_path, scan::BOT)?,
        chunk,
    )
}

/// The same, with the monos already in memory.
pub fn recover_with(
    rt_path: &Path,
    caller: &[i16],
    bot: &[i16],
    chunk: u64,
) -> Result<Timeline, TimelineError> {
    recover_from(rt_path, Track::memory(caller), Track::memory(bot), chunk)
}

fn recover_from(
    rt_path: &Path,
    caller: Track,
    bot: Track,
    chunk: u64,
) -> Result<Timeline, TimelineError> {
    let pass = Pass::new(caller, bot, chunk).read(rt_path)?;
    Ok(place(
        &pass.anchors,
        pass.chunk,
        pass.caller.total,
        pass.bot.total,
    ))
}

/// What taking the real-time file apart proved: it holds the monos' samples
/// in order, each frame one party's, and nothing else non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub frames: u64,
    pub caller_frames: u64,
    pub bot_frames: u64,
    pub caller_nonzero: u64,
    pub bot_nonzero: u64,
}

/// Check the real-time file against the monos, streaming all three, in the
/// one pass recovery makes (the first anomaly ends it with an error).
pub fn verify(
    rt_path: &Path,
    caller_path: &Path,
    bot_path: &Path,
) -> Result<Verified, TimelineError> {
    let caller = Track::open(caller_path, scan::CALLER)?;
    let bot = Track::open(bot_path, scan::BOT)?;
    // No placement: one chunk as long as anything, so no anchors to speak of.
    let pass = Pass::new(caller, bot, u64::from(u32::MAX)).read(rt_path)?;
    Ok(Verified {
        frames: pass.frames,
        caller_frames: pass.caller.total,
        bot_frames: pass.bot.total,
        caller_nonzero: pass.anchors.nonzero[0],
        bot_nonzero: pass.anchors.nonzero[1],
    })
}

/// From the anchors to segments on the call's clock.
fn place(anchors: &Anchors, chunk: u64, caller_len: u64, bot_len: u64) -> Timeline {
    let (chunk_bots, groups) = (&anchors.chunk_bots, &anchors.groups);
    let mut starts = Vec::with_capacity(groups.len());
    let mut prev_last: Option<u64> = None;
    for &(arrival, first, _) in groups {
        // The last caller chunk before this arrival that has a non-zero
        // sample: the group starts right after the bot samples before it.
        let chunks_before = arrival / chunk;
        let i = chunk_bots.partition_point(|(k, _)| *k < chunks_before);
        let after_chunk = i.checked_sub(1).map_or(0, |i| chunk_bots[i].1);
        let after_prev = prev_last.map_or(0, |l| l + 1);
        starts.push(after_chunk.max(after_prev).min(first));
        prev_last = Some(groups[starts.len() - 1].2);
    }
    if let Some(first) = starts.first_mut() {
        // Bot samples before the first non-zero one arrived with it.
        *first = 0;
    }
    let mut segments = Vec::with_capacity(groups.len());
    let mut play_end = 0u64;
    for (i, &(arrival, _, _)) in groups.iter().enumerate() {
        let start = starts[i];
        let end = starts.get(i + 1).copied().unwrap_or(bot_len);
        let play_start = arrival.max(play_end);
        segments.push(BotSegment {
            bot_start: start,
            len: end - start,
            arrival,
            play_start,
            heard: end - start,
        });
        play_end = play_start + (end - start);
    }
    Timeline {
        segments,
        caller_len,
        bot_len,
        answers: Vec::new(),
    }
}

/// The caller chunk size in frames: the metadata's bytes / chunks when they
/// divide evenly, else 20 ms at the caller track's rate (the telephony frame).
pub fn caller_chunk_frames(rec: &crate::recording::Recording) -> Option<u64> {
    use crate::recording::FileKind;
    let rate = rec
        .wav_info(FileKind::CallerAudio)
        .ok()
        .flatten()?
        .sample_rate;
    let from_meta = rec.metadata().ok().flatten().and_then(|m| {
        let (bytes, chunks) = (m.caller_audio_bytes?, m.caller_audio_chunks?);
        (chunks > 0 && bytes % (2 * chunks) == 0).then(|| bytes / 2 / chunks)
    });
    Some(from_meta.unwrap_or(u64::from(rate) / 50))
}

#[cfg(test)]
mod heard_tests;
#[cfg(test)]
pub(crate) mod tests;
