//! Acoustic echo on the caller's line: the bot's own voice, played by a
//! speakerphone and picked up again by its microphone.
//!
//! A detector that hears one track counts echo as the caller: it is speech.
//! callscope also holds what made it, the bot's audio where it played on
//! the caller's clock (from the real-time file), so the echo's path can be
//! estimated and what it explains taken out:
//!
//! 1. **Delay**: the rises and falls of the caller track's log energy are
//!    correlated with the bot's over lags of 0–400 ms, on the blocks where
//!    the bot plays; echo is present when the best lag's correlation
//!    reaches `MIN_CORRELATION`.
//! 2. **Gain per band**: on 16 ms frames, in 18 bands, the caller's power
//!    against the bot's power that lag earlier, held over the room's
//!    reverberation (`TAIL_DB_PER_S`); the median ratio per band over the
//!    frames where the bot is loud is the echo path's gain in that band (a
//!    loudspeaker's band limits and clipping, the room's colour). The
//!    median, because the caller talking over the bot (double-talk) is the
//!    exception on a call.
//! 3. **What the echo explains**: a frame is echo when what is left of the
//!    caller's power above `MARGIN` times the predicted echo, band by band,
//!    is under `RESIDUAL_SHARE` of it. The caller talking over the echo
//!    leaves most of their power unexplained, so double-talk is kept.

use realfft::RealFftPlanner;

use super::Span;
use crate::analyze::signal::mean_squares;

/// Envelope blocks for the delay search, then for placing it.
const COARSE_BLOCK_S: f64 = 0.01;
const FINE_BLOCK_S: f64 = 0.002;
/// The longest echo path looked for: a phone's processing and a room.
const MAX_DELAY_S: f64 = 0.4;
/// The best lag's correlation must reach this for the echo to be there:
/// on the simulator's lines, calls with echo (10–25 dB down) reach
/// 0.44–0.72, calls without it (noise, babble, music, AGC) 0.12 at most.
const MIN_CORRELATION: f64 = 0.25;
/// Band-power frames: the energy detector's 16 ms.
const FRAME_S: f64 = 0.016;
/// Band edges, Hz (about a Bark apart), up to the Nyquist frequency.
const BAND_EDGES_HZ: [f64; 19] = [
    0.0, 150.0, 300.0, 450.0, 600.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0, 1720.0, 2000.0, 2320.0,
    2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 8000.0,
];
/// The room's tail: the bot's power is held and falls this fast, so the
/// reverberation after each word is predicted too (60 dB in 0.4 s).
const TAIL_DB_PER_S: f64 = 150.0;
/// The predicted echo is taken this many times over (12 dB) before it is
/// subtracted: echo varies about the path's median gain frame to frame
/// (a clipping loudspeaker, the room's tail).
const MARGIN: f64 = 16.0;
/// A frame is echo when less than this share of its power is left. The
/// caller talking over the echo is 10 dB or more above it in most bands,
/// and leaves nearly all their power. (Both were set on 30 simulated echo
/// calls of one seed and checked on two others: docs/voice-activity.md.)
const RESIDUAL_SHARE: f64 = 0.7;
/// Below this share of the bot's loud level (60 dB down) its held power
/// predicts no echo, and the caller's frame is not looked at.
const ECHO_FLOOR: f64 = 1e-6;
/// The path's gain is the median over the frames where the bot is at least
/// as loud as its frames' median, and needs this many of them (a second).
const MIN_FRAMES: usize = 60;

/// The echo path as estimated from one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchoPath {
    /// From the bot's playback to its echo on the caller's track, samples.
    pub delay: u64,
    /// The echo's level below the bot's heard signal, dB (the echo return
    /// loss), over the frames the echo explains.
    pub return_loss_db: f64,
}

/// The echo on one caller track: its path and the frames it explains.
#[derive(Debug, Clone)]
pub struct Echo {
    pub path: EchoPath,
    frame: usize,
    explained: Vec<bool>,
}

impl Echo {
    /// Estimate the echo of `reference` (the bot's audio where it played,
    /// on the caller track's clock) in `caller`. `None` when the caller's
    /// track carries no echo of it that can be measured.
    pub fn estimate(caller: &[i16], reference: &[i16], rate: u32) -> Option<Echo> {
        let delay = delay(caller, reference, rate)?;
        let frame = ((FRAME_S * f64::from(rate)) as usize).max(1);
        let mut bands = Bands::new(frame, rate);
        let frames = caller.len() / frame;
        // The bot's frames `delay` earlier, held over the room's tail.
        let fall = 10f64.powf(-TAIL_DB_PER_S * FRAME_S / 10.0);
        let mut held = vec![0.0f64; bands.len()];
        let mut r: Vec<Vec<f64>> = Vec::with_capacity(frames);
        let mut loud: Vec<f64> = Vec::with_capacity(frames);
        let mut scratch = vec![0i16; frame];
        for t in 0..frames {
            let start = (t * frame) as i64 - delay as i64;
            scratch.iter_mut().enumerate().for_each(|(i, s)| {
                let at = start + i as i64;
                *s = if at >= 0 {
                    reference.get(at as usize).copied().unwrap_or(0)
                } else {
                    0
                };
            });
            let p = bands.powers(&scratch);
            loud.push(p.iter().sum());
            for (h, x) in held.iter_mut().zip(&p) {
                *h = x.max(*h * fall);
            }
            r.push(held.clone());
        }
        // The path's gain per band, where the bot is loud.
        let live: Vec<f64> = loud.iter().copied().filter(|x| *x > 0.0).collect();
        let level = median(live)?;
        let loud_frames: Vec<usize> = (0..frames).filter(|t| loud[*t] >= level).collect();
        if loud_frames.len() < MIN_FRAMES {
            return None;
        }
        // The caller's bands where an echo can be: the bot's held power
        // within 60 dB of its loud level (most of a call's caller frames
        // are the line's quiet while nobody or only the caller talks).
        let echo_possible: Vec<bool> = r
            .iter()
            .map(|x| x.iter().sum::<f64>() >= level * ECHO_FLOOR)
            .collect();
        let c: Vec<Vec<f64>> = (0..frames)
            .map(|t| {
                if echo_possible[t] {
                    bands.powers(&caller[t * frame..(t + 1) * frame])
                } else {
                    Vec::new()
                }
            })
            .collect();
        let gain: Vec<f64> = (0..bands.len())
            .map(|b| {
                let ratios = loud_frames
                    .iter()
                    .filter(|t| r[**t][b] > 0.0)
                    .map(|t| c[*t][b] / r[*t][b])
                    .collect();
                median(ratios).unwrap_or(0.0)
            })
            .collect();
        let mut explained = vec![false; frames];
        let mut losses = Vec::new();
        for t in (0..frames).filter(|t| echo_possible[*t]) {
            let power: f64 = c[t].iter().sum();
            let echo: f64 = r[t].iter().zip(&gain).map(|(x, g)| x * g).sum();
            if echo <= 0.0 || power <= 0.0 {
                continue;
            }
            let left: f64 = c[t]
                .iter()
                .zip(&r[t])
                .zip(&gain)
                .map(|((c, x), g)| (c - MARGIN * g * x).max(0.0))
                .sum();
            explained[t] = left < RESIDUAL_SHARE * power;
            if explained[t] && loud[t] >= level {
                losses.push(loud[t] / power);
            }
        }
        let return_loss_db = 10.0 * median(losses)?.log10();
        Some(Echo {
            path: EchoPath {
                delay,
                return_loss_db,
            },
            frame,
            explained,
        })
    }

    /// `spans` without the frames the echo explains.
    pub fn remove(&self, spans: &[Span]) -> Vec<Span> {
        let frame = self.frame as u64;
        let mut out = Vec::new();
        for &(a, b) in spans {
            let mut start = a;
            let mut t = a / frame;
            while t * frame < b {
                let (lo, hi) = ((t * frame).max(a), ((t + 1) * frame).min(b));
                if self.explained.get(t as usize).copied().unwrap_or(false) {
                    if lo > start {
                        out.push((start, lo));
                    }
                    start = hi;
                }
                t += 1;
            }
            if b > start {
                out.push((start, b));
            }
        }
        out
    }
}

/// The echo's delay: the lag at which the caller track's envelope changes
/// follow the bot's best. Log energy in blocks, differenced (its rises and
/// falls, word by word: what the echo keeps and the caller's own speech,
/// noise and the turn-taking's slow rhythm do not share), over the blocks
/// where the bot plays. Found in 10 ms blocks over the whole range, then
/// placed to 2 ms around the best lag.
fn delay(caller: &[i16], reference: &[i16], rate: u32) -> Option<u64> {
    let block = ((FINE_BLOCK_S * f64::from(rate)) as usize).max(1);
    let per = (COARSE_BLOCK_S / FINE_BLOCK_S).round() as usize;
    // One pass over each track: the coarse blocks are the fine ones, summed.
    let (c, r) = (mean_squares(caller, block), mean_squares(reference, block));
    let coarse = Envelopes::new(&coarsen(&c, per), &coarsen(&r, per));
    let max_lag = (MAX_DELAY_S / COARSE_BLOCK_S) as usize;
    let (lag, peak) = coarse.best(0..=max_lag)?;
    if peak < MIN_CORRELATION {
        return None;
    }
    let fine = Envelopes::new(&c, &r);
    let centre = lag * per;
    let (lag, _) = fine.best(centre.saturating_sub(per)..=centre + per)?;
    Some((lag * block) as u64)
}

/// Mean powers of `per` blocks at a time.
fn coarsen(power: &[f64], per: usize) -> Vec<f64> {
    power
        .chunks(per)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect()
}

/// Differenced log-energy envelopes of the caller track and the bot's
/// reference, and which blocks the bot plays in.
struct Envelopes {
    caller: Vec<f64>,
    reference: Vec<f64>,
    playing: Vec<usize>,
}

impl Envelopes {
    /// From each track's block powers.
    fn new(caller: &[f64], reference: &[f64]) -> Envelopes {
        let rises = |power: &[f64]| -> Vec<f64> {
            let log: Vec<f64> = power.iter().map(|p| (p + 1.0).log10()).collect();
            std::iter::once(0.0)
                .chain(log.windows(2).map(|w| w[1] - w[0]))
                .collect()
        };
        let n = caller.len().min(reference.len());
        Envelopes {
            playing: (1..n).filter(|i| reference[*i] > 0.0).collect(),
            caller: rises(caller),
            reference: rises(reference),
        }
    }

    /// The lag in `lags` (blocks) with the highest correlation, and that.
    fn best(&self, lags: std::ops::RangeInclusive<usize>) -> Option<(usize, f64)> {
        let n = self.caller.len();
        lags.map(|lag| {
            let pairs = self
                .playing
                .iter()
                .filter(|i| *i + lag < n)
                .map(|i| (self.reference[*i], self.caller[*i + lag]));
            (lag, pearson(pairs))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

fn pearson(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in pairs {
        n += 1.0;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    let cov = sxy - sx * sy / n;
    let var = (sxx - sx * sx / n) * (syy - sy * sy / n);
    if n < 2.0 || var <= 0.0 {
        0.0
    } else {
        cov / var.sqrt()
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    let k = v.len() / 2;
    (!v.is_empty()).then(|| *v.select_nth_unstable_by(k, f64::total_cmp).1)
}

/// Band powers of one frame, through a real FFT.
struct Bands {
    fft: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    input: Vec<f64>,
    spectrum: Vec<realfft::num_complex::Complex<f64>>,
    /// Each band's bins, `[from, to)`.
    ranges: Vec<(usize, usize)>,
}

impl Bands {
    fn new(frame: usize, rate: u32) -> Bands {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(frame);
        let bin_hz = f64::from(rate) / frame as f64;
        let bins = frame / 2 + 1;
        let nyquist = f64::from(rate) / 2.0;
        let mut ranges = Vec::new();
        for w in BAND_EDGES_HZ.windows(2) {
            let (lo, hi) = (w[0], w[1].min(nyquist));
            let (a, b) = (
                (lo / bin_hz).ceil() as usize,
                ((hi / bin_hz).ceil() as usize).min(bins),
            );
            if a < b {
                ranges.push((a, b));
            }
            if hi >= nyquist {
                break;
            }
        }
        if let Some(last) = ranges.last_mut() {
            last.1 = bins;
        }
        Bands {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft,
            ranges,
        }
    }

    fn len(&self) -> usize {
        self.ranges.len()
    }

    fn powers(&mut self, samples: &[i16]) -> Vec<f64> {
        if samples.iter().all(|s| *s == 0) {
            return vec![0.0; self.ranges.len()];
        }
        for (i, s) in self.input.iter_mut().zip(samples) {
            *i = f64::from(*s);
        }
        // The buffers are the planner's own sizes, so this does not fail;
        // if it did, the frame would count as silent.
        if self
            .fft
            .process(&mut self.input, &mut self.spectrum)
            .is_err()
        {
            return vec![0.0; self.ranges.len()];
        }
        self.ranges
            .iter()
            .map(|&(a, b)| {
                self.spectrum[a..b]
                    .iter()
                    .map(realfft::num_complex::Complex::norm_sqr)
                    .sum()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const RATE: u32 = 16000;

    /// A talker: noise shaped by a syllable-rate envelope, in phrases
    /// `phrases` (seconds), `n` samples long.
    fn talker(seed: u64, phrases: &[(f64, f64)], level: f64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = vec![0.0; n];
        let rate = f64::from(RATE);
        for &(a, b) in phrases {
            let syllable = rng.random_range(0.15..0.25);
            for (i, o) in out[(a * rate) as usize..(b * rate) as usize]
                .iter_mut()
                .enumerate()
            {
                let t = i as f64 / rate;
                let env = (std::f64::consts::PI * t / syllable).sin().abs();
                *o = level * env * (rng.random::<f64>() * 2.0 - 1.0);
            }
        }
        out
    }

    fn quantise(x: &[f64]) -> Vec<i16> {
        x.iter()
            .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
            .collect()
    }

    /// The bot talks in four long answers; the caller answers between them
    /// and talks over the third (double-talk). The caller's line carries the
    /// bot 120 ms later and 20 dB down, and a little noise.
    fn call() -> (Vec<i16>, Vec<i16>) {
        let n = 24 * RATE as usize;
        let bot = talker(
            1,
            &[(0.5, 4.5), (6.5, 10.5), (12.5, 17.5), (19.0, 23.0)],
            8000.0,
            n,
        );
        let caller = talker(2, &[(4.8, 6.2), (10.8, 12.2), (14.0, 15.5)], 8000.0, n);
        let delay = (0.12 * f64::from(RATE)) as usize;
        let mut noise = ChaCha8Rng::seed_from_u64(3);
        let line: Vec<f64> = (0..n)
            .map(|i| {
                let echo = if i >= delay {
                    0.1 * bot[i - delay]
                } else {
                    0.0
                };
                caller[i] + echo + 20.0 * (noise.random::<f64>() - 0.5)
            })
            .collect();
        (quantise(&line), quantise(&bot))
    }

    fn seconds(spans: &[Span]) -> f64 {
        spans.iter().map(|s| (s.1 - s.0) as f64).sum::<f64>() / f64::from(RATE)
    }

    #[test]
    fn the_echo_path_is_measured() {
        let (line, bot) = call();
        let echo = Echo::estimate(&line, &bot, RATE).expect("the echo is found");
        let delay = echo.path.delay as f64 / f64::from(RATE);
        assert!((delay - 0.12).abs() <= 0.004, "delay {delay}");
        let loss = echo.path.return_loss_db;
        assert!((loss - 20.0).abs() < 3.0, "return loss {loss}");
    }

    #[test]
    fn the_echo_leaves_and_the_caller_talking_over_it_stays() {
        let (line, bot) = call();
        let echo = Echo::estimate(&line, &bot, RATE).unwrap();
        let at = |s: f64| (s * f64::from(RATE)) as u64;
        // The first answer's echo, alone on the line: nearly all of it goes.
        let alone = [(at(0.62), at(4.62))];
        assert!(
            seconds(&echo.remove(&alone)) < 0.3,
            "{:?}",
            echo.remove(&alone)
        );
        // The caller over the third answer's echo: what goes are the gaps
        // between their syllables, where the echo is all there is, and the
        // detector bridges those as it bridges any pause between words.
        let over = [(at(14.0), at(15.5))];
        let kept = super::super::tidy(echo.remove(&over), RATE);
        assert!(kept.len() == 1 && seconds(&kept) > 1.35, "{kept:?}");
        // The caller between answers: all of it.
        let between = [(at(4.8), at(6.2))];
        assert!(seconds(&echo.remove(&between)) > 1.35);
    }

    #[test]
    fn no_echo_is_reported_where_there_is_none() {
        let (_, bot) = call();
        let n = bot.len();
        // A caller who never echoes the bot: their own phrases and noise.
        let own = talker(9, &[(1.0, 3.0), (7.0, 9.0), (13.0, 16.0)], 8000.0, n);
        let line = quantise(&own);
        assert!(Echo::estimate(&line, &bot, RATE).is_none());
        // A bot that never played.
        assert!(Echo::estimate(&line, &vec![0; n], RATE).is_none());
        assert!(Echo::estimate(&[], &[], RATE).is_none());
    }
}
