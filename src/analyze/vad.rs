//! Voice activity: where each party speaks, as spans of samples.
//!
//! The default is earshot, a small neural VAD made for the job (16 kHz,
//! 16 ms frames); other rates are resampled to 16 kHz with rubato. `energy`
//! is a fast alternative: a frame is speech when it stands clearly above the
//! track's own noise floor.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use serde::Serialize;

use super::signal::mean_squares;

/// Which detector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VadKind {
    /// earshot's neural detector: accurate on noisy lines.
    #[value(alias = "earshot")]
    Neural,
    /// Frame energy against the track's noise floor: fast, for clean lines.
    Energy,
}

impl VadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VadKind::Neural => "earshot",
            VadKind::Energy => "energy",
        }
    }
}

/// A span of samples `[start, end)` on a track's own clock.
pub type Span = (u64, u64);

/// Pauses shorter than this inside speech (between words) are bridged.
const MERGE_GAP_S: f64 = 0.2;
/// Bursts shorter than this are not speech (clicks, breaths).
const MIN_SPEECH_S: f64 = 0.06;
/// earshot's frame: 16 ms at 16 kHz.
const NEURAL_RATE: u32 = 16000;
const NEURAL_FRAME: usize = 256;
const NEURAL_THRESHOLD: f32 = 0.5;
/// The energy detector: this far above the noise floor, and above an absolute floor.
const ENERGY_MARGIN_DB: f64 = 15.0;
const ENERGY_FLOOR_DBFS: f64 = -55.0;
const ENERGY_CEILING_DBFS: f64 = -45.0;

/// earshot decides on a window of three frames, so its decisions trail the
/// audio: measured on synthetic speech with known boundaries, onsets by
/// about 3 frames and offsets by about 5.
const NEURAL_ONSET_LAG_FRAMES: f64 = 3.0;
const NEURAL_OFFSET_LAG_FRAMES: f64 = 5.0;
/// The neural detector skips frames this close to the noise floor...
const GATE_MARGIN_DB: f64 = 6.0;
/// ...and never louder than this...
const GATE_CEILING_DBFS: f64 = -50.0;
/// ...except this many at each end of a quiet stretch (160 ms).
const GATE_GUARD_FRAMES: usize = 10;
/// Digital silence this long is never speech (TTS pauses, a muted line).
const DIGITAL_SILENCE_S: f64 = 0.01;

/// Speech spans of the bot's track. It is TTS output, not a phone line:
/// between and inside its phrases there is digital silence or the voice's
/// own quiet, never noise, music or other voices. So frame energy finds its
/// speech as well as the network does (against the simulator's truth, on
/// clean and on noisy bot legs alike, see the README), and the network,
/// which would run on most of a track that is mostly speech, is not run.
/// Nor is the caller's near-end gate: the bot has no background to be
/// told from.
pub fn detect_tts(samples: &[i16], rate: u32) -> Vec<Span> {
    let (flags, frame_len) = energy_frames(samples, rate);
    let spans = raw_spans(&flags, frame_len, samples.len() as u64);
    let mut spans = tidy(without_digital_silence(&spans, samples, rate), rate);
    refine_edges(&mut spans, samples, rate);
    spans
}

/// Speech spans of the caller's track: a phone line, with whatever is
/// around the caller on it.
pub fn detect(samples: &[i16], rate: u32, kind: VadKind) -> Vec<Span> {
    let (flags, frame_len) = match kind {
        VadKind::Neural => neural_frames(samples, rate),
        VadKind::Energy => energy_frames(samples, rate),
    };
    let total = samples.len() as u64;
    let mut spans = raw_spans(&flags, frame_len, total);
    if kind == VadKind::Neural {
        let on = (NEURAL_ONSET_LAG_FRAMES * frame_len) as u64;
        let off = (NEURAL_OFFSET_LAG_FRAMES * frame_len) as u64;
        for s in &mut spans {
            *s = (
                s.0.saturating_sub(on),
                s.1.saturating_sub(off).max(s.0.saturating_sub(on) + 1),
            );
        }
    }
    let spans = without_digital_silence(&spans, samples, rate);
    let spans = near_end_only(tidy(spans, rate), samples, rate);
    let mut spans = tidy(spans, rate);
    refine_edges(&mut spans, samples, rate);
    spans
}

/// The near-end gate: 20 ms frames...
const NEAR_FRAME_S: f64 = 0.02;
/// ...a span's part is kept where the loudest frame within ±70 ms...
const NEAR_HOLD_S: f64 = 0.07;
/// ...is no more than this below the caller's loud level (the 95th
/// percentile of the frames found to be speech)...
const NEAR_BELOW_DB: f64 = 8.0;
const NEAR_LOUD_PERCENTILE: f64 = 0.95;
/// ...on a line whose background (its noise floor) is within this of that
/// loud level; a quieter background leaves every span as it is.
const NEAR_BACKGROUND_DB: f64 = 40.0;

/// Keep only the parts of `spans` loud enough to be the near-end talker.
///
/// Voices behind the caller, music and loud noise are all speech-like to a
/// detector, but they reach the phone from a distance: 8–18 dB below the
/// caller's own voice. The caller's loud level is where the frames found to
/// be speech peak (the caller is the loudest thing on their own line); a
/// stretch whose syllable peaks stay well below it is somebody or
/// something else. On a quiet line nothing is cut, so a caller who drops
/// their voice keeps every word.
fn near_end_only(spans: Vec<Span>, samples: &[i16], rate: u32) -> Vec<Span> {
    let frame = ((NEAR_FRAME_S * f64::from(rate)) as usize).max(1);
    let db = frame_dbfs(samples, frame);
    let n = db.len();
    let mut flagged: Vec<f64> = spans
        .iter()
        .flat_map(|&(a, b)| {
            let (fa, fb) = (a as usize / frame, (b as usize / frame).min(n));
            db[fa.min(fb)..fb].iter().copied()
        })
        .collect();
    // Under a second of speech says too little about the caller's level.
    if flagged.len() * frame < rate as usize {
        return spans;
    }
    let k = ((flagged.len() - 1) as f64 * NEAR_LOUD_PERCENTILE) as usize;
    let loud = *flagged.select_nth_unstable_by(k, f64::total_cmp).1;
    if loud - noise_floor(&db) > NEAR_BACKGROUND_DB {
        return spans;
    }
    let gate = loud - NEAR_BELOW_DB;
    let h = (NEAR_HOLD_S / NEAR_FRAME_S).round() as usize;
    let near = |i: usize| {
        db[i.saturating_sub(h)..(i + h + 1).min(n)]
            .iter()
            .any(|d| *d >= gate)
    };
    let mut out = Vec::new();
    for (a, b) in spans {
        let (fa, fb) = (a as usize / frame, (b as usize).div_ceil(frame).min(n));
        let mut i = fa;
        while i < fb {
            if !near(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < fb && near(i) {
                i += 1;
            }
            let (s, e) = (((start * frame) as u64).max(a), ((i * frame) as u64).min(b));
            if s < e {
                out.push((s, e));
            }
        }
    }
    out
}

/// Energy blocks for edge refinement: 2 ms.
const EDGE_BLOCK_S: f64 = 0.002;
/// How far an edge may move: the detector's frame resolution and spread.
const EDGE_WINDOW_S: f64 = 0.08;
/// An edge block is speech when this far above the track's noise floor.
const EDGE_MARGIN_DB: f64 = 12.0;

/// Move each span's edges to where the signal really rises above (and falls
/// back to) the track's noise floor, within a short window: the detector
/// finds speech, 2 ms energy blocks place its edges. On a track that is
/// mostly digital silence (TTS) any non-zero block counts.
fn refine_edges(spans: &mut [Span], samples: &[i16], rate: u32) {
    let block = ((EDGE_BLOCK_S * f64::from(rate)) as usize).max(1);
    let energy = mean_squares(samples, block);
    if energy.is_empty() {
        return;
    }
    let zeros = energy.iter().filter(|e| **e == 0.0).count();
    let threshold = if zeros * 5 > energy.len() {
        0.0
    } else {
        let live: Vec<f64> = energy.iter().copied().filter(|e| *e > 0.0).collect();
        tenth_percentile(live).unwrap_or(0.0) * 10f64.powf(EDGE_MARGIN_DB / 10.0)
    };
    let w = (EDGE_WINDOW_S / EDGE_BLOCK_S) as usize;
    let total = samples.len() as u64;
    for span in spans.iter_mut() {
        let (sb, eb) = (span.0 as usize / block, (span.1 as usize).div_ceil(block));
        let lo = sb.saturating_sub(w);
        let start = (lo..(sb + w).min(energy.len())).find(|i| energy[*i] > threshold);
        let hi = (eb + w).min(energy.len());
        let end = (eb.saturating_sub(w)..hi)
            .rev()
            .find(|i| energy[*i] > threshold);
        if let (Some(a), Some(b)) = (start, end) {
            let (a, b) = ((a * block) as u64, (((b + 1) * block) as u64).min(total));
            if a < b {
                *span = (a, b);
            }
        }
    }
}

/// One flag per frame, and the frame length in the track's samples (as a
/// fraction when the detector ran at another rate).
fn neural_frames(samples: &[i16], rate: u32) -> (Vec<bool>, f64) {
    let resampled;
    let at_16k: &[i16] = if rate == NEURAL_RATE {
        samples
    } else {
        resampled = resample_to_16k(samples, rate);
        &resampled
    };
    let skip = quiet_interiors(&frame_dbfs(at_16k, NEURAL_FRAME));
    let mut detector = earshot::Detector::default();
    let flags = at_16k
        .chunks_exact(NEURAL_FRAME)
        .zip(skip)
        // Once a stop is asked for, the rest of a long track is not run
        // through the network: the call's results are abandoned anyway.
        .map(|(f, skip)| {
            !skip && !crate::interrupt::requested() && detector.predict_i16(f) >= NEURAL_THRESHOLD
        })
        .collect();
    (
        flags,
        NEURAL_FRAME as f64 * f64::from(rate) / f64::from(NEURAL_RATE),
    )
}

fn resample_to_16k(samples: &[i16], rate: u32) -> Vec<i16> {
    let input: Vec<f32> = samples.iter().map(|s| f32::from(*s) / 32768.0).collect();
    let resampled = InterleavedSlice::new(&input[..], 1, input.len())
        .ok()
        .and_then(|adapter| {
            let mut r = Fft::<f32>::new(
                rate as usize,
                NEURAL_RATE as usize,
                1024,
                1,
                FixedSync::Input,
            )
            .ok()?;
            r.process_all(&adapter, input.len(), None).ok()
        });
    match resampled {
        Some(out) => out
            .take_data()
            .into_iter()
            .map(|x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect(),
        // Only an impossible rate pair gets here; without resampling there is no neural VAD.
        None => Vec::new(),
    }
}

fn energy_frames(samples: &[i16], rate: u32) -> (Vec<bool>, f64) {
    let frame = (rate as usize * 16 / 1000).max(1);
    let db = frame_dbfs(samples, frame);
    // A track with no noise (TTS) has its floor in quiet speech: cap the threshold.
    let threshold =
        (noise_floor(&db) + ENERGY_MARGIN_DB).clamp(ENERGY_FLOOR_DBFS, ENERGY_CEILING_DBFS);
    (db.iter().map(|d| *d > threshold).collect(), frame as f64)
}

/// The level of each whole frame, in dBFS (digital silence: about -120).
fn frame_dbfs(samples: &[i16], frame: usize) -> Vec<f64> {
    let whole = samples.len() / frame * frame;
    mean_squares(&samples[..whole], frame)
        .into_iter()
        .map(|power| 10.0 * (power.max(1e-3) / (32768.0f64 * 32768.0)).log10())
        .collect()
}

/// A track's noise floor: the 10th percentile of frames that are not digital silence.
fn noise_floor(db: &[f64]) -> f64 {
    let live: Vec<f64> = db.iter().copied().filter(|d| *d > -100.0).collect();
    tenth_percentile(live).unwrap_or(-100.0)
}

/// The neural detector's frames that need not run: the inside of long
/// stretches at the noise floor, where it would find no speech anyway. Most
/// of a caller track is the line's noise while the bot talks, and skipping
/// it more than halves the detector's work. The guard frames kept at both
/// ends of a stretch let the detector settle into silence and warm up again
/// (its window is three frames), so its decisions next to speech are the
/// ones it makes without skipping. The gate is never above -50 dBFS, so a
/// noiseless (TTS) track only skips digital silence.
fn quiet_interiors(db: &[f64]) -> Vec<bool> {
    let gate = (noise_floor(db) + GATE_MARGIN_DB).min(GATE_CEILING_DBFS);
    let mut skip = vec![false; db.len()];
    let mut i = 0;
    while i < db.len() {
        if db[i] >= gate {
            i += 1;
            continue;
        }
        let start = i;
        while i < db.len() && db[i] < gate {
            i += 1;
        }
        if i - start > 2 * GATE_GUARD_FRAMES {
            skip[start + GATE_GUARD_FRAMES..i - GATE_GUARD_FRAMES].fill(true);
        }
    }
    skip
}

/// The value a tenth of the way up, without sorting everything.
fn tenth_percentile(mut v: Vec<f64>) -> Option<f64> {
    let k = v.len() / 10;
    (!v.is_empty()).then(|| *v.select_nth_unstable_by(k, f64::total_cmp).1)
}

/// Runs of speech frames, as sample spans.
fn raw_spans(flags: &[bool], frame_len: f64, total: u64) -> Vec<Span> {
    let at = |i: usize| ((i as f64 * frame_len).round() as u64).min(total);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        if !flags[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < flags.len() && flags[i] {
            i += 1;
        }
        spans.push((at(start), at(i)));
    }
    spans
}

/// Cut runs of exact zeros out of the spans.
fn without_digital_silence(spans: &[Span], samples: &[i16], rate: u32) -> Vec<Span> {
    let min_run = ((DIGITAL_SILENCE_S * f64::from(rate)) as u64).max(1);
    let mut out = Vec::new();
    for &(start, end) in spans {
        let mut seg_start = start;
        let mut i = start;
        while i < end {
            if samples[i as usize] != 0 {
                i += 1;
                continue;
            }
            let zero_start = i;
            while i < end && samples[i as usize] == 0 {
                i += 1;
            }
            if i - zero_start >= min_run {
                if zero_start > seg_start {
                    out.push((seg_start, zero_start));
                }
                seg_start = i;
            }
        }
        if end > seg_start {
            out.push((seg_start, end));
        }
    }
    out
}

/// Bridge pauses between words, drop bursts too short to be speech.
fn tidy(spans: Vec<Span>, rate: u32) -> Vec<Span> {
    let gap = (MERGE_GAP_S * f64::from(rate)) as u64;
    let min = (MIN_SPEECH_S * f64::from(rate)) as u64;
    let mut merged: Vec<Span> = Vec::new();
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.0 <= last.1 + gap => last.1 = last.1.max(s.1),
            _ => merged.push(s),
        }
    }
    merged.retain(|s| s.1 - s.0 >= min);
    merged
}

/// Total samples covered.
pub fn total(spans: &[Span]) -> u64 {
    spans.iter().map(|s| s.1 - s.0).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_neural_detector_skips_only_inside_long_quiet_stretches() {
        // Line noise at -80 dBFS, 10 frames of speech, noise again.
        let mut db = vec![-80.0; 100];
        db.extend([-20.0; 10]);
        db.extend([-80.0; 100]);
        let skip = quiet_interiors(&db);
        let want: Vec<bool> = (0..210)
            .map(|i| (10..90).contains(&i) || (120..200).contains(&i))
            .collect();
        assert_eq!(skip, want);

        // A short pause between words (under two guards) is never skipped.
        let mut db = vec![-20.0; 30];
        db.extend([-80.0; 20]);
        db.extend([-20.0; 30]);
        assert!(quiet_interiors(&db).iter().all(|s| !s));

        // TTS: no noise, quiet speech at -48 dBFS is its "floor", and only
        // digital silence is skipped (the gate stays at -50 dBFS).
        let mut db = vec![-48.0; 50];
        db.extend([-150.0; 50]);
        db.extend([-25.0; 200]);
        let skip = quiet_interiors(&db);
        assert!(skip[..60].iter().all(|s| !s));
        assert!(skip[60..90].iter().all(|s| *s));
        assert!(skip[90..].iter().all(|s| !s));
    }
}
