//! Streaming comparisons of the stereo files against the mono tracks. They
//! read block by block, so a two-hour call is checked in a few megabytes.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::compact::compact_nonzero;
use crate::audio::{deinterleave, frame_word as word, WavError, WavStream};
use crate::timeline;

/// Frames per block: 64 Ki frames is 256 KiB of stereo samples.
const BLOCK: usize = 1 << 16;

type Stream = WavStream<BufReader<File>>;

fn open(path: &Path) -> Result<Stream, WavError> {
    WavStream::open(path)
}

/// Fill `buf` with exactly `n` samples of a mono stream, zeros past its end
/// (the recorder pads the shorter track with zeros).
fn read_padded(s: &mut Stream, buf: &mut Vec<i16>, n: usize) -> Result<(), WavError> {
    s.read_block(buf, n)?;
    buf.resize(n, 0);
    Ok(())
}

/// Differences between one channel and what it should hold.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Diff {
    pub count: u64,
    pub first: Option<u64>,
}

impl Diff {
    fn add(&mut self, block_start: u64, count: u64, first_in_block: impl FnOnce() -> usize) {
        if count > 0 {
            if self.first.is_none() {
                self.first = Some(block_start + first_in_block() as u64);
            }
            self.count += count;
        }
    }
}

/// `final_stereo_recording.wav` against the monos.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FinalReport {
    pub frames: u64,
    /// max(caller, bot): what the recorder writes.
    pub expected_frames: u64,
    /// L vs caller, R vs bot, over the frames present.
    pub left: Diff,
    pub right: Diff,
    /// L vs bot, R vs caller: all zero means the channels are swapped.
    pub swapped_left: Diff,
    pub swapped_right: Diff,
}

impl FinalReport {
    pub fn is_swapped(&self) -> bool {
        self.frames == self.expected_frames
            && (self.left.count > 0 || self.right.count > 0)
            && self.swapped_left.count == 0
            && self.swapped_right.count == 0
    }
}

fn count_ne(a: &[i16], b: &[i16]) -> u64 {
    a.iter().zip(b).map(|(x, y)| u64::from(x != y)).sum()
}

fn first_ne(a: &[i16], b: &[i16]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0)
}

/// Whether stereo `frames` are exactly `left` and `right` interleaved:
/// every frame compared as one 32-bit word, 32 frames a step without a
/// branch, so it vectorizes and writes nothing.
fn interleaves(frames: &[i16], left: &[i16], right: &[i16]) -> bool {
    let n = left.len();
    if frames.len() != 2 * n || right.len() != n {
        return false;
    }
    (0..n).step_by(32).all(|start| {
        let end = (start + 32).min(n);
        let (f, l, r) = (
            &frames[2 * start..2 * end],
            &left[start..end],
            &right[start..end],
        );
        let differs = f
            .chunks_exact(2)
            .zip(l.iter().zip(r))
            .fold(0u32, |acc, (fr, (x, y))| {
                acc | (word(fr[0], fr[1]) ^ word(*x, *y))
            });
        differs == 0
    })
}

pub fn compare_final(
    final_path: &Path,
    caller_path: &Path,
    bot_path: &Path,
) -> Result<FinalReport, WavError> {
    let mut fin = open(final_path)?;
    let mut caller = open(caller_path)?;
    let mut bot = open(bot_path)?;
    let mut report = FinalReport {
        frames: fin.info().frames(),
        expected_frames: caller.info().frames().max(bot.info().frames()),
        ..FinalReport::default()
    };
    let (mut f, mut c, mut b) = (Vec::new(), Vec::new(), Vec::new());
    let (mut l, mut r) = (Vec::new(), Vec::new());
    let mut at = 0u64;
    loop {
        let n = fin.read_block(&mut f, BLOCK)?;
        if n == 0 {
            break;
        }
        read_padded(&mut caller, &mut c, n)?;
        read_padded(&mut bot, &mut b, n)?;
        // The common case: the block is exactly right, seen in one pass.
        if interleaves(&f, &c, &b) {
            at += n as u64;
            continue;
        }
        deinterleave(&f, &mut l, &mut r);
        report.left.add(at, count_ne(&l, &c), || first_ne(&l, &c));
        report.right.add(at, count_ne(&r, &b), || first_ne(&r, &b));
        report
            .swapped_left
            .add(at, count_ne(&l, &b), || first_ne(&l, &b));
        report
            .swapped_right
            .add(at, count_ne(&r, &c), || first_ne(&r, &c));
        at += n as u64;
    }
    Ok(report)
}

/// A queue of the non-zero samples of one sequence, in order.
#[derive(Default)]
struct NonZero {
    /// Pending samples are `buf[start..end]`; the rest is scratch space that
    /// is only zeroed when it grows.
    buf: Vec<i16>,
    start: usize,
    end: usize,
    /// Non-zero samples taken in so far.
    total: u64,
}

impl NonZero {
    fn push_from(&mut self, samples: &[i16]) {
        if self.start > 0 && self.start * 2 >= self.end {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let need = self.end + samples.len();
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let n = compact_nonzero(samples, &mut self.buf[self.end..need]);
        self.end += n;
        self.total += n as u64;
    }

    fn pending(&self) -> &[i16] {
        &self.buf[self.start..self.end]
    }
}

/// One channel of the real-time file against its mono track, compared by
/// their non-zero samples in order (zeros are ambiguous: line noise and TTS
/// silence hit exactly 0).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NonZeroMatch {
    /// Non-zero samples on this channel of the real-time file.
    pub realtime: u64,
    /// Non-zero samples in the mono track.
    pub mono: u64,
    /// The ordinal of the first non-zero sample that differs, when one does.
    pub first_mismatch: Option<u64>,
}

impl NonZeroMatch {
    pub fn ok(&self) -> bool {
        self.first_mismatch.is_none() && self.realtime == self.mono
    }
}

/// `stereo_recording.wav` against the monos.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RealtimeReport {
    pub frames: u64,
    /// caller + bot samples: what the recorder writes.
    pub expected_frames: u64,
    pub both_nonzero: u64,
    pub first_both_nonzero: Option<u64>,
    pub caller: NonZeroMatch,
    pub bot: NonZeroMatch,
}

/// Compare what is pending in both queues and drop the common prefix. When
/// the mono has ended, whatever the real-time file still holds is extra.
fn settle(
    rt: &mut NonZero,
    mono: &mut NonZero,
    mono_ended: bool,
    m: &mut NonZeroMatch,
    compared: &mut u64,
) {
    let n = rt.pending().len().min(mono.pending().len());
    if m.first_mismatch.is_none() && rt.pending()[..n] != mono.pending()[..n] {
        let i = first_ne(&rt.pending()[..n], &mono.pending()[..n]);
        m.first_mismatch = Some(*compared + i as u64);
    }
    rt.start += n;
    mono.start += n;
    *compared += n as u64;
    if mono_ended && !rt.pending().is_empty() {
        m.first_mismatch.get_or_insert(*compared);
        rt.start = rt.end;
    }
}

/// Read mono blocks until the mono queue holds as many samples as the
/// real-time queue; returns true when the mono has ended.
fn refill(
    mono: &mut Stream,
    q: &mut NonZero,
    want: usize,
    buf: &mut Vec<i16>,
) -> Result<bool, WavError> {
    while q.pending().len() < want {
        if mono.read_block(buf, BLOCK)? == 0 {
            return Ok(true);
        }
        q.push_from(buf);
    }
    Ok(false)
}

/// Count the non-zero samples a mono still holds, without keeping them.
fn count_rest(mono: &mut Stream, q: &NonZero, buf: &mut Vec<i16>) -> Result<u64, WavError> {
    let mut total = q.total;
    while mono.read_block(buf, BLOCK)? > 0 {
        total += buf.iter().filter(|s| **s != 0).count() as u64;
    }
    Ok(total)
}

pub fn compare_realtime(
    rt_path: &Path,
    caller_path: &Path,
    bot_path: &Path,
) -> Result<RealtimeReport, WavError> {
    // The common case, a file exactly as the recorder writes it, is proved
    // fastest by taking it apart into the recorder's runs (the timeline's
    // pass); anything else is measured below, non-zero sample by sample.
    if let Ok(v) = timeline::verify(rt_path, caller_path, bot_path) {
        let matched = |n| NonZeroMatch {
            realtime: n,
            mono: n,
            first_mismatch: None,
        };
        return Ok(RealtimeReport {
            frames: v.frames,
            expected_frames: v.caller_frames + v.bot_frames,
            caller: matched(v.caller_nonzero),
            bot: matched(v.bot_nonzero),
            ..RealtimeReport::default()
        });
    }
    compare_realtime_by_nonzeros(rt_path, caller_path, bot_path)
}

/// The real-time file against the monos, whatever is wrong with it: every
/// channel's non-zero samples queued and compared with its track's.
fn compare_realtime_by_nonzeros(
    rt_path: &Path,
    caller_path: &Path,
    bot_path: &Path,
) -> Result<RealtimeReport, WavError> {
    let mut rt = open(rt_path)?;
    let mut caller = open(caller_path)?;
    let mut bot = open(bot_path)?;
    let mut report = RealtimeReport {
        frames: rt.info().frames(),
        expected_frames: caller.info().frames() + bot.info().frames(),
        ..RealtimeReport::default()
    };
    let (mut rq_l, mut rq_r, mut cq, mut bq) = (
        NonZero::default(),
        NonZero::default(),
        NonZero::default(),
        NonZero::default(),
    );
    let (mut done_c, mut done_b) = (0u64, 0u64);
    let (mut f, mut buf) = (Vec::new(), Vec::new());
    let (mut l, mut r) = (Vec::new(), Vec::new());
    let mut at = 0u64;
    loop {
        let n = rt.read_block(&mut f, BLOCK)?;
        if n == 0 {
            break;
        }
        deinterleave(&f, &mut l, &mut r);
        let both = l
            .iter()
            .zip(&r)
            .map(|(a, b)| u64::from(*a != 0 && *b != 0))
            .sum::<u64>();
        if both > 0 {
            if report.first_both_nonzero.is_none() {
                let i = l
                    .iter()
                    .zip(&r)
                    .position(|(a, b)| *a != 0 && *b != 0)
                    .unwrap_or(0);
                report.first_both_nonzero = Some(at + i as u64);
            }
            report.both_nonzero += both;
        }
        rq_l.push_from(&l);
        rq_r.push_from(&r);
        let c_ended = refill(&mut caller, &mut cq, rq_l.pending().len(), &mut buf)?;
        let b_ended = refill(&mut bot, &mut bq, rq_r.pending().len(), &mut buf)?;
        settle(&mut rq_l, &mut cq, c_ended, &mut report.caller, &mut done_c);
        settle(&mut rq_r, &mut bq, b_ended, &mut report.bot, &mut done_b);
        at += n as u64;
    }
    // Whatever is left of the monos was never in the real-time file.
    report.caller.realtime = rq_l.total;
    report.caller.mono = count_rest(&mut caller, &cq, &mut buf)?;
    report.bot.realtime = rq_r.total;
    report.bot.mono = count_rest(&mut bot, &bq, &mut buf)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::write_wav;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_fast_path_agrees_with_the_sample_by_sample_comparison() {
        let dir = tempfile::tempdir().unwrap();
        let (rt, c, b) = (
            dir.path().join("rt.wav"),
            dir.path().join("c.wav"),
            dir.path().join("b.wav"),
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut fast_ok, mut damaged) = (0, 0);
        for case in 0..400 {
            let chunk = rng.random_range(1..12);
            let (mut frames, caller, bot) = crate::timeline::tests::call(&mut rng, chunk);
            if case % 2 == 1 && !frames.is_empty() {
                let i = rng.random_range(0..frames.len());
                frames[i] = frames[i].wrapping_add(1);
            }
            write_wav(&rt, 2, 16000, &frames).unwrap();
            write_wav(&c, 1, 16000, &caller).unwrap();
            write_wav(&b, 1, 16000, &bot).unwrap();
            let slow = compare_realtime_by_nonzeros(&rt, &c, &b).unwrap();
            assert_eq!(compare_realtime(&rt, &c, &b).unwrap(), slow, "case {case}");
            if crate::timeline::verify(&rt, &c, &b).is_ok() {
                fast_ok += 1;
            } else {
                damaged += 1;
            }
        }
        assert!(
            fast_ok > 150 && damaged > 150,
            "{fast_ok} fast, {damaged} not"
        );
    }
}
