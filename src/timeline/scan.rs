//! The one pass over the real-time file against both mono tracks: each
//! non-zero sample continues its party's track in order, and the anchors
//! that place the bot's chunks on the caller's clock (see the module above).

use std::path::Path;

use super::TimelineError;
use crate::audio::{frame_word as word, WavError, WavStream};
use crate::recording::FileKind;

pub(super) const BLOCK: usize = 1 << 16;

/// Where a mono track's samples come from: its file, streamed, or memory.
pub(super) enum Source<'a> {
    File(WavStream<std::io::BufReader<std::fs::File>>),
    Memory(&'a [i16]),
}

/// A mono track read front to back: a window of samples from the read
/// position on (a block of the file, or the rest of the slice).
pub(super) struct Track<'a> {
    pub(super) source: Source<'a>,
    pub(super) buf: Vec<i16>,
    /// Track index of `buf[0]`.
    pub(super) base: u64,
    /// The read position.
    pub(super) pos: u64,
    pub(super) total: u64,
}

impl<'a> Track<'a> {
    pub(super) fn open(path: &Path, file: &'static str) -> Result<Track<'static>, TimelineError> {
        let stream = WavStream::open(path).map_err(wav_error(file))?;
        expect_channels(stream.info().channels, 1, file)?;
        let total = stream.info().frames();
        Ok(Track::new(Source::File(stream), total))
    }

    pub(super) fn memory(samples: &'a [i16]) -> Track<'a> {
        Track::new(Source::Memory(samples), samples.len() as u64)
    }

    pub(super) fn new(source: Source<'a>, total: u64) -> Track<'a> {
        Track {
            source,
            buf: Vec::new(),
            base: 0,
            pos: 0,
            total,
        }
    }

    /// The samples from the read position on; empty at the end of the track.
    pub(super) fn window(&mut self) -> Result<&[i16], WavError> {
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
    pub(super) fn next_nonzero(&mut self) -> Result<Option<u64>, WavError> {
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
    pub(super) fn run<const CH: usize>(
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
pub(super) struct Run<'t> {
    /// The track index of its first frame.
    pub(super) start: u64,
    pub(super) len: usize,
    /// The track from `start` on (at least `len` samples).
    pub(super) track: &'t [i16],
}

impl Run<'_> {
    /// The non-zero samples it holds.
    #[inline(always)]
    pub(super) fn nonzero(&self) -> u64 {
        self.track[..self.len].iter().filter(|s| **s != 0).count() as u64
    }
}

/// How many leading frames of interleaved `frames` hold `track`'s samples
/// on channel `CH` (0 left, 1 right) with the other channel zero: a
/// stretch of the real-time file that is one party's samples in order.
#[inline(always)]
pub(super) fn run_len<const CH: usize>(frames: &[i16], track: &[i16]) -> usize {
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

/// The anchors the real-time file gives, before placement.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Anchors {
    /// Per caller chunk with a non-zero sample: (chunk, bot samples before it).
    pub(super) chunk_bots: Vec<(u64, u64)>,
    /// Per arrival group: (arrival, first non-zero bot index, last).
    pub(super) groups: Vec<(u64, u64, u64)>,
    /// Non-zero samples seen: caller, bot.
    pub(super) nonzero: [u64; 2],
}

impl Anchors {
    /// A run of caller samples at real-time frame `p`: every caller chunk
    /// with a non-zero sample in it records the bot samples before it.
    #[inline(always)]
    pub(super) fn caller_run(&mut self, run: &Run, p: u64, chunk: u64) {
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
    pub(super) fn bot_run(&mut self, run: &Run, p: u64) {
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
pub(super) struct Pass<'a> {
    pub(super) caller: Track<'a>,
    pub(super) bot: Track<'a>,
    /// The caller chunk size in frames.
    pub(super) chunk: u64,
    pub(super) anchors: Anchors,
    /// Real-time frames read so far.
    pub(super) frames: u64,
}

impl<'a> Pass<'a> {
    pub(super) fn new(caller: Track<'a>, bot: Track<'a>, chunk: u64) -> Pass<'a> {
        Pass {
            caller,
            bot,
            chunk: chunk.max(1),
            anchors: Anchors::default(),
            frames: 0,
        }
    }

    /// Read the whole real-time file.
    pub(super) fn read(mut self, rt_path: &Path) -> Result<Pass<'a>, TimelineError> {
        let mut rt = WavStream::open(rt_path).map_err(wav_error(RT))?;
        expect_channels(rt.info().channels, 2, RT)?;
        let mut block = Vec::new();
        while rt.read_block(&mut block, BLOCK).map_err(wav_error(RT))? > 0 {
            // A two-hour call is many blocks: a stop asked for is not
            // kept waiting for the end of the file.
            if crate::interrupt::requested() {
                return Err(TimelineError::Interrupted);
            }
            self.block_fastest(&block)?;
        }
        self.ended()?;
        Ok(self)
    }

    /// After the last frame: neither track may hold a non-zero sample the
    /// real-time file never had.
    pub(super) fn ended(&mut self) -> Result<(), TimelineError> {
        if self
            .caller
            .next_nonzero()
            .map_err(wav_error(CALLER))?
            .is_some()
        {
            return Err(TimelineError::Short { track: CALLER });
        }
        if self.bot.next_nonzero().map_err(wav_error(BOT))?.is_some() {
            return Err(TimelineError::Short { track: BOT });
        }
        Ok(())
    }

    /// `block`, built for AVX2 when the CPU has it (its compares and scans
    /// are the hot loops of a run with the energy detector).
    pub(super) fn block_fastest(&mut self, frames: &[i16]) -> Result<(), TimelineError> {
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
    pub(super) fn block(&mut self, frames: &[i16]) -> Result<(), TimelineError> {
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
                        .run::<0>(p, at)
                        .map_err(wav_error(CALLER))?
                        .ok_or(mismatch("L", CALLER))?;
                    self.anchors.caller_run(&run, p, self.chunk);
                    let len = run.len;
                    (&mut self.caller, len)
                }
                (0, _) => {
                    let run = self
                        .bot
                        .run::<1>(p, at)
                        .map_err(wav_error(BOT))?
                        .ok_or(mismatch("R", BOT))?;
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

/// The three files a pass reads, as its errors name them.
pub(super) const RT: &str = FileKind::Stereo.file_name();
pub(super) const CALLER: &str = FileKind::CallerAudio.file_name();
pub(super) const BOT: &str = FileKind::BotAudio.file_name();

/// A read error of `file`, named.
fn wav_error(file: &'static str) -> impl Fn(WavError) -> TimelineError {
    move |source| TimelineError::Wav { file, source }
}

pub(super) fn expect_channels(
    channels: u16,
    want: u16,
    file: &'static str,
) -> Result<(), TimelineError> {
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
