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

use std::path::Path;

use crate::audio::{frame_word as word, WavError, WavStream};

const BLOCK: usize = 1 << 16;

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
}

/// Where the bot track sits on the call's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub segments: Vec<BotSegment>,
    pub caller_len: u64,
    pub bot_len: u64,
}

impl Timeline {
    /// The call-clock position of bot sample `b`.
    pub fn play_time(&self, b: u64) -> Option<u64> {
        let i = self
            .segments
            .partition_point(|s| s.bot_start <= b)
            .checked_sub(1)?;
        let s = &self.segments[i];
        (b < s.bot_start + s.len).then(|| s.play_start + (b - s.bot_start))
    }

    /// A span of the bot track split where playback jumps (a gap between
    /// turns): each piece as (track span, call-clock span).
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
            let b = end.min(s.bot_start + s.len);
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

    /// The end of the last bot sample's playback.
    pub fn end(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.play_start + s.len)
    }
}

/// Why the real-time file could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    #[error("{0}")]
    Wav(#[from] WavError),
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
    #[error("{file} has {channels} channel(s), not {want}")]
    Channels {
        file: &'static str,
        channels: u16,
        want: u16,
    },
}

/// Where a mono track's samples come from: its file, streamed, or memory.
enum Source<'a> {
    File(WavStream<std::io::BufReader<std::fs::File>>),
    Memory(&'a [i16]),
}

/// A mono track read front to back: a window of samples from the read
/// position on (a block of the file, or the rest of the slice).
struct Track<'a> {
    source: Source<'a>,
    buf: Vec<i16>,
    /// Track index of `buf[0]`.
    base: u64,
    /// The read position.
    pos: u64,
    total: u64,
}

impl<'a> Track<'a> {
    fn open(path: &Path, file: &'static str) -> Result<Track<'static>, TimelineError> {
        let stream = WavStream::open(path)?;
        expect_channels(stream.info().channels, 1, file)?;
        let total = stream.info().frames();
        Ok(Track::new(Source::File(stream), total))
    }

    fn memory(samples: &'a [i16]) -> Track<'a> {
        Track::new(Source::Memory(samples), samples.len() as u64)
    }

    fn new(source: Source<'a>, total: u64) -> Track<'a> {
        Track {
            source,
            buf: Vec::new(),
            base: 0,
            pos: 0,
            total,
        }
    }

    /// The samples from the read position on; empty at the end of the track.
    fn window(&mut self) -> Result<&[i16], WavError> {
        match &mut self.source {
            Source::Memory(all) => Ok(&all[self.pos as usize..]),
            Source::File(stream) => {
                if self.pos - self.base == self.buf.len() as u64 {
                    self.base = self.pos;
                    stream.read_block(&mut self.buf, BLOCK)?;
                }
                Ok(&self.buf[(self.pos - self.base) as usize..])
            }
        }
    }

    /// Move the read position to the next non-zero sample; its index, or
    /// None at the end of the track.
    #[inline(always)]
    fn next_nonzero(&mut self) -> Result<Option<u64>, WavError> {
        loop {
            let w = self.window()?;
            if w.is_empty() {
                return Ok(None);
            }
            match w.iter().position(|s| *s != 0) {
                Some(i) => {
                    self.pos += i as u64;
                    return Ok(Some(self.pos));
                }
                None => self.pos += w.len() as u64,
            }
        }
    }

    /// The run of the real-time file at frame `p` (`frames` from there on)
    /// that continues this track on channel `CH`. None when the frame's
    /// sample is not the track's next non-zero sample.
    #[inline(always)]
    fn run<const CH: usize>(
        &mut self,
        p: u64,
        frames: &[i16],
    ) -> Result<Option<Run<'_>>, WavError> {
        // A track sample can never be later in its track than in the
        // real-time file, which holds it and the other party's.
        let Some(i) = self.next_nonzero()?.filter(|i| p >= *i) else {
            return Ok(None);
        };
        let w = self.window()?;
        if w[0] != frames[CH] {
            return Ok(None);
        }
        Ok(Some(Run {
            start: i,
            len: run_len::<CH>(frames, w),
            track: w,
        }))
    }
}

/// Frames of the real-time file that continue one track in order.
struct Run<'t> {
    /// The track index of its first frame.
    start: u64,
    len: usize,
    /// The track from `start` on (at least `len` samples).
    track: &'t [i16],
}

impl Run<'_> {
    /// The non-zero samples it holds.
    #[inline(always)]
    fn nonzero(&self) -> u64 {
        self.track[..self.len].iter().filter(|s| **s != 0).count() as u64
    }
}

/// How many leading frames of interleaved `frames` hold `track`'s samples
/// on channel `CH` (0 left, 1 right) with the other channel zero: a
/// stretch of the real-time file that is one party's samples in order.
#[inline(always)]
fn run_len<const CH: usize>(frames: &[i16], track: &[i16]) -> usize {
    let want = |t: i16| if CH == 0 { word(t, 0) } else { word(0, t) };
    let n = (frames.len() / 2).min(track.len());
    let mut j = 0;
    // 32 frames a step, each compared as one word, branch-free inside so it
    // vectorizes.
    while j + 32 <= n {
        let differs = frames[2 * j..2 * j + 64]
            .chunks_exact(2)
            .zip(&track[j..j + 32])
            .fold(0u32, |acc, (f, t)| acc | (word(f[0], f[1]) ^ want(*t)));
        if differs != 0 {
            break;
        }
        j += 32;
    }
    while j < n && word(frames[2 * j], frames[2 * j + 1]) == want(track[j]) {
        j += 1;
    }
    j
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
        Track::open(caller_path, "caller_audio.wav")?,
        Track::open(bot_path, "bot_audio.wav")?,
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

/// The anchors the real-time file gives, before placement.
#[derive(Debug, Default, PartialEq, Eq)]
struct Anchors {
    /// Per caller chunk with a non-zero sample: (chunk, bot samples before it).
    chunk_bots: Vec<(u64, u64)>,
    /// Per arrival group: (arrival, first non-zero bot index, last).
    groups: Vec<(u64, u64, u64)>,
    /// Non-zero samples seen: caller, bot.
    nonzero: [u64; 2],
}

impl Anchors {
    /// A run of caller samples at real-time frame `p`: every caller chunk
    /// with a non-zero sample in it records the bot samples before it.
    #[inline(always)]
    fn caller_run(&mut self, run: &Run, p: u64, chunk: u64) {
        let (c, end) = (run.start, run.start + run.len as u64);
        let mut k = c / chunk;
        while k * chunk < end {
            let (from, to) = ((k * chunk).max(c) - c, ((k + 1) * chunk).min(end) - c);
            let new = self.chunk_bots.last().is_none_or(|last| last.0 != k);
            if new
                && run.track[from as usize..to as usize]
                    .iter()
                    .any(|s| *s != 0)
            {
                self.chunk_bots.push((k, p - c));
            }
            k += 1;
        }
        self.nonzero[0] += run.nonzero();
    }

    /// A run of bot samples at real-time frame `p`: it arrived after `p − b`
    /// caller samples, with the bot samples before it or as a new group.
    #[inline(always)]
    fn bot_run(&mut self, run: &Run, p: u64) {
        let b = run.start;
        let last = b + run.track[..run.len]
            .iter()
            .rposition(|s| *s != 0)
            .unwrap_or(0) as u64;
        match self.groups.last_mut() {
            Some(g) if g.0 == p - b => g.2 = last,
            _ => self.groups.push((p - b, b, last)),
        }
        self.nonzero[1] += run.nonzero();
    }
}

/// One pass over the real-time file against both tracks: where it is, and
/// what it has found so far.
struct Pass<'a> {
    caller: Track<'a>,
    bot: Track<'a>,
    /// The caller chunk size in frames.
    chunk: u64,
    anchors: Anchors,
    /// Real-time frames read so far.
    frames: u64,
}

impl<'a> Pass<'a> {
    fn new(caller: Track<'a>, bot: Track<'a>, chunk: u64) -> Pass<'a> {
        Pass {
            caller,
            bot,
            chunk: chunk.max(1),
            anchors: Anchors::default(),
            frames: 0,
        }
    }

    /// Read the whole real-time file.
    fn read(mut self, rt_path: &Path) -> Result<Pass<'a>, TimelineError> {
        let mut rt = WavStream::open(rt_path)?;
        expect_channels(rt.info().channels, 2, "stereo_recording.wav")?;
        let mut block = Vec::new();
        while rt.read_block(&mut block, BLOCK)? > 0 {
            self.block_fastest(&block)?;
        }
        self.ended()?;
        Ok(self)
    }

    /// After the last frame: neither track may hold a non-zero sample the
    /// real-time file never had.
    fn ended(&mut self) -> Result<(), TimelineError> {
        if self.caller.next_nonzero()?.is_some() {
            return Err(TimelineError::Short {
                track: "caller_audio.wav",
            });
        }
        if self.bot.next_nonzero()?.is_some() {
            return Err(TimelineError::Short {
                track: "bot_audio.wav",
            });
        }
        Ok(())
    }

    /// `block`, built for AVX2 when the CPU has it (its compares and scans
    /// are the hot loops of a run with the energy detector).
    fn block_fastest(&mut self, frames: &[i16]) -> Result<(), TimelineError> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                /// # Safety
                /// The CPU must support AVX2.
                #[target_feature(enable = "avx2")]
                unsafe fn avx2(pass: &mut Pass, frames: &[i16]) -> Result<(), TimelineError> {
                    pass.block(frames)
                }
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { avx2(self, frames) };
            }
        }
        self.block(frames)
    }

    /// The next block of the real-time file (interleaved frames). A
    /// non-zero sample starts a run: the frames from there on that repeat
    /// the same party's track in order while the other channel is zero (the
    /// recorder's chunks, whole). Within a run every frame is `p − c` (or
    /// `p − b`) apart from its track, so a run is checked with wide compares
    /// and anchored once. Zeros are matched only in passing: what counts is
    /// that every non-zero sample continues its track's non-zero samples in
    /// order.
    #[inline(always)]
    fn block(&mut self, frames: &[i16]) -> Result<(), TimelineError> {
        let n = frames.len() / 2;
        let mut j = 0;
        while j < n {
            let p = self.frames + j as u64;
            let mismatch = |channel, track| TimelineError::Mismatch {
                frame: p,
                channel,
                track,
            };
            let at = &frames[2 * j..];
            let (track, len) = match (at[0], at[1]) {
                (0, 0) => {
                    j += at
                        .chunks_exact(2)
                        .position(|f| word(f[0], f[1]) != 0)
                        .unwrap_or(n - j);
                    continue;
                }
                (_, 0) => {
                    let run = self
                        .caller
                        .run::<0>(p, at)?
                        .ok_or(mismatch("L", "caller_audio.wav"))?;
                    self.anchors.caller_run(&run, p, self.chunk);
                    let len = run.len;
                    (&mut self.caller, len)
                }
                (0, _) => {
                    let run = self
                        .bot
                        .run::<1>(p, at)?
                        .ok_or(mismatch("R", "bot_audio.wav"))?;
                    self.anchors.bot_run(&run, p);
                    let len = run.len;
                    (&mut self.bot, len)
                }
                _ => return Err(TimelineError::BothChannels { frame: p }),
            };
            track.pos += len as u64;
            j += len;
        }
        self.frames += n as u64;
        Ok(())
    }
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
    let caller = Track::open(caller_path, "caller_audio.wav")?;
    let bot = Track::open(bot_path, "bot_audio.wav")?;
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

fn expect_channels(channels: u16, want: u16, file: &'static str) -> Result<(), TimelineError> {
    if channels == want {
        Ok(())
    } else {
        Err(TimelineError::Channels {
            file,
            channels,
            want,
        })
    }
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
        });
        play_end = play_start + (end - start);
    }
    Timeline {
        segments,
        caller_len,
        bot_len,
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
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The rule, one frame at a time: every non-zero sample must be the next
    /// non-zero sample of its track.
    fn reference(
        frames: &[i16],
        caller: &[i16],
        bot: &[i16],
        chunk: u64,
    ) -> Result<Anchors, TimelineError> {
        let next =
            |t: &[i16], from: usize| t[from..].iter().position(|s| *s != 0).map(|i| from + i);
        let (mut ci, mut bi) = (0usize, 0usize);
        let mut a = Anchors::default();
        for (p, f) in frames.chunks_exact(2).enumerate() {
            let p = p as u64;
            let mismatch = |channel, track| TimelineError::Mismatch {
                frame: p,
                channel,
                track,
            };
            match (f[0], f[1]) {
                (0, 0) => {}
                (l, 0) => {
                    let c = next(caller, ci).filter(|c| caller[*c] == l && p >= *c as u64);
                    let c = c.ok_or(mismatch("L", "caller_audio.wav"))?;
                    let k = c as u64 / chunk;
                    if a.chunk_bots.last().is_none_or(|last| last.0 != k) {
                        a.chunk_bots.push((k, p - c as u64));
                    }
                    a.nonzero[0] += 1;
                    ci = c + 1;
                }
                (0, r) => {
                    let b = next(bot, bi).filter(|b| bot[*b] == r && p >= *b as u64);
                    let b = b.ok_or(mismatch("R", "bot_audio.wav"))?;
                    let arrival = p - b as u64;
                    match a.groups.last_mut() {
                        Some(g) if g.0 == arrival => g.2 = b as u64,
                        _ => a.groups.push((arrival, b as u64, b as u64)),
                    }
                    a.nonzero[1] += 1;
                    bi = b + 1;
                }
                _ => return Err(TimelineError::BothChannels { frame: p }),
            }
        }
        if next(caller, ci).is_some() {
            return Err(TimelineError::Short {
                track: "caller_audio.wav",
            });
        }
        if next(bot, bi).is_some() {
            return Err(TimelineError::Short {
                track: "bot_audio.wav",
            });
        }
        Ok(a)
    }

    /// The runs, over blocks of `block` frames.
    fn fast(
        frames: &[i16],
        caller: &[i16],
        bot: &[i16],
        chunk: u64,
        block: usize,
    ) -> Result<Anchors, TimelineError> {
        let mut pass = Pass::new(Track::memory(caller), Track::memory(bot), chunk);
        for blk in frames.chunks(2 * block) {
            pass.block_fastest(blk)?;
        }
        pass.ended()?;
        Ok(pass.anchors)
    }

    /// Quiet samples: zero often, as line noise and TTS silence are.
    fn quiet(rng: &mut impl Rng, n: usize) -> Vec<i16> {
        (0..n)
            .map(|_| {
                if rng.random_bool(0.4) {
                    0
                } else {
                    rng.random_range(-3..=3)
                }
            })
            .collect()
    }

    /// A call the way the recorder writes it: caller chunks and bursts of
    /// bot chunks, appended in arrival order, the other channel zero.
    /// Returns the real-time frames, the caller track and the bot track.
    pub(crate) fn call(rng: &mut impl Rng, chunk: usize) -> (Vec<i16>, Vec<i16>, Vec<i16>) {
        let (mut caller, mut bot, mut frames) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rng.random_range(1..40) {
            let c = quiet(rng, chunk);
            frames.extend(c.iter().flat_map(|s| [*s, 0]));
            caller.extend(c);
            if rng.random_bool(0.3) {
                for _ in 0..rng.random_range(1..4) {
                    let n = rng.random_range(1..3 * chunk);
                    let mut b = quiet(rng, n);
                    // Whole-zero lead-ins and tails, as TTS has.
                    if rng.random_bool(0.3) {
                        b.iter_mut().take(n / 2).for_each(|s| *s = 0);
                    }
                    frames.extend(b.iter().flat_map(|s| [0, *s]));
                    bot.extend(b);
                }
            }
        }
        (frames, caller, bot)
    }

    #[test]
    fn runs_give_what_the_frame_by_frame_rule_gives() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for case in 0..3000 {
            let chunk = rng.random_range(1..12);
            let (mut frames, mut caller, bot) = call(&mut rng, chunk);
            // Damage some: a changed sample, both channels set, a short file.
            match case % 4 {
                1 if !frames.is_empty() => {
                    let i = rng.random_range(0..frames.len());
                    frames[i] = frames[i].wrapping_add(1);
                }
                2 if !frames.is_empty() => {
                    let i = rng.random_range(0..frames.len() / 2);
                    frames[2 * i] = 9;
                    frames[2 * i + 1] = 9;
                }
                3 => caller.extend([0, 0, 5]),
                _ => {}
            }
            let want = reference(&frames, &caller, &bot, chunk as u64);
            for block in [1, 7, 64] {
                let got = fast(&frames, &caller, &bot, chunk as u64, block);
                assert_eq!(got, want, "case {case}, chunk {chunk}, block {block}");
            }
        }
    }

    #[test]
    fn files_with_the_wrong_channel_count_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let write =
            |n: &str, ch: u16| crate::audio::write_wav(&p(n), ch, 16000, &[1, 0, 2, 0]).unwrap();
        write("mono_rt.wav", 1);
        write("stereo_rt.wav", 2);
        write("mono.wav", 1);
        write("stereo.wav", 2);
        let err = verify(&p("mono_rt.wav"), &p("mono.wav"), &p("mono.wav")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stereo_recording.wav has 1 channel(s), not 2"
        );
        let err = recover(&p("stereo_rt.wav"), &p("mono.wav"), &p("stereo.wav"), 320).unwrap_err();
        assert_eq!(err.to_string(), "bot_audio.wav has 2 channel(s), not 1");
    }

    #[test]
    fn placement_follows_arrival_and_playback() {
        // Caller chunks of 4; a bot burst of 6 after the first chunk, and one
        // of 2 after the second that queues behind the first burst.
        let caller = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
        let bot = [5, 5, 5, 5, 5, 5, 6, 6];
        let mut frames = Vec::new();
        let mut push = |l: &[i16], r: &[i16]| {
            frames.extend(l.iter().flat_map(|s| [*s, 0]));
            frames.extend(r.iter().flat_map(|s| [0, *s]));
        };
        push(&caller[..4], &bot[..6]);
        push(&caller[4..8], &bot[6..]);
        push(&caller[8..], &[]);
        let a = fast(&frames, &caller, &bot, 4, 64).unwrap();
        let tl = place(&a, 4, 12, 8);
        let starts: Vec<_> = tl
            .segments
            .iter()
            .map(|s| (s.bot_start, s.len, s.arrival, s.play_start))
            .collect();
        // The second burst arrives at 8 but plays when the first ends, at 10.
        assert_eq!(starts, [(0, 6, 4, 4), (6, 2, 8, 10)]);
        assert_eq!(tl.play_time(7), Some(11));
        assert_eq!(tl.end(), 12);
    }

    #[test]
    fn a_muted_caller_does_not_move_a_later_burst_back() {
        // Caller chunks of 4; the line goes digitally silent after the first
        // chunk while two bot bursts arrive. The second burst has no
        // non-zero caller chunk between it and the first: only the first
        // group's end says where it starts in the bot track.
        let caller = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3];
        let bot = [5, 5, 5, 6, 6];
        let mut frames = Vec::new();
        let mut push = |l: &[i16], r: &[i16]| {
            frames.extend(l.iter().flat_map(|s| [*s, 0]));
            frames.extend(r.iter().flat_map(|s| [0, *s]));
        };
        push(&caller[..4], &bot[..3]);
        push(&caller[4..8], &bot[3..]);
        push(&caller[8..12], &[]);
        push(&caller[12..], &[]);
        let a = fast(&frames, &caller, &bot, 4, 64).unwrap();
        let tl = place(&a, 4, 16, 5);
        let starts: Vec<_> = tl
            .segments
            .iter()
            .map(|s| (s.bot_start, s.len, s.arrival, s.play_start))
            .collect();
        assert_eq!(starts, [(0, 3, 4, 4), (3, 2, 8, 8)]);
        assert_eq!(tl.play_time(3), Some(8));
    }
}
