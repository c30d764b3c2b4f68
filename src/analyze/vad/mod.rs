//! Voice activity: where each party speaks, as spans of samples.
//!
//! The caller's track is a phone line. By default frame energy finds the
//! candidates (a frame is speech when it stands clearly above the track's
//! own noise floor) and earshot, a small neural VAD made for the job
//! (16 kHz, 16 ms frames; other rates are resampled with rubato), checks
//! them (`network.rs`); then the near-end gate keeps only the caller
//! (`near_end.rs`). The bot's track is TTS output and frame energy alone
//! finds its speech.

mod echo;
mod near_end;
mod network;

pub use echo::{Echo, EchoPath};

use serde::Serialize;

use super::signal::mean_squares;

/// Which detector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VadKind {
    /// Frame energy's speech, checked by earshot's neural detector where
    /// energy cannot tell: accurate on noisy lines.
    #[value(alias = "earshot")]
    Neural,
    /// Frame energy against the track's noise floor: fast, for clean lines.
    Energy,
    /// earshot on every frame above the line's noise floor: the reference
    /// the default is measured against; about four times its network work.
    #[value(name = "earshot-full")]
    #[serde(rename = "earshot-full")]
    NeuralFull,
}

impl VadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VadKind::Neural => "earshot",
            VadKind::Energy => "energy",
            VadKind::NeuralFull => "earshot-full",
        }
    }
}

/// A span of samples `[start, end)` on a track's own clock.
pub type Span = (u64, u64);

/// Pauses shorter than this inside speech (between words) are bridged.
const MERGE_GAP_S: f64 = 0.2;
/// Bursts shorter than this are not speech (clicks, breaths).
const MIN_SPEECH_S: f64 = 0.06;
/// The energy detector: this far above the noise floor, and above an absolute floor.
const ENERGY_MARGIN_DB: f64 = 15.0;
const ENERGY_FLOOR_DBFS: f64 = -55.0;
const ENERGY_CEILING_DBFS: f64 = -45.0;
/// Digital silence this long is never speech (TTS pauses, a muted line).
const DIGITAL_SILENCE_S: f64 = 0.01;

/// Speech spans of the bot's track. It is TTS output, not a phone line:
/// between and inside its phrases there is digital silence or the voice's
/// own quiet, never noise, music or other voices. So frame energy finds its
/// speech as well as the network does (against the simulator's truth, on
/// clean and on noisy bot legs alike, see docs/voice-activity.md), and the network,
/// which would run on most of a track that is mostly speech, is not run.
/// Nor is the caller's near-end gate: the bot has no background to be
/// told from.
pub fn detect_tts(samples: &[i16], rate: u32) -> Vec<Span> {
    let (flags, frame_len) = energy_frames(samples, rate, Track::Tts);
    let spans = raw_spans(&flags, frame_len, samples.len() as u64);
    let mut spans = tidy(without_digital_silence(&spans, samples, rate), rate);
    refine_edges(&mut spans, samples, rate);
    spans
}

/// Speech spans of the caller's track: a phone line, with whatever is
/// around the caller on it.
pub fn detect(samples: &[i16], rate: u32, kind: VadKind) -> Vec<Span> {
    detect_beside_echo(samples, rate, kind, None)
}

/// Speech spans of the caller's track without what `echo` (the bot's own
/// voice coming back on the caller's line, `echo.rs`) explains. It is taken
/// out before the network checks anything, and again after the edges are
/// placed: an edge may not move into the echo beside it.
pub fn detect_beside_echo(
    samples: &[i16],
    rate: u32,
    kind: VadKind,
    echo: Option<&Echo>,
) -> Vec<Span> {
    let found = match kind {
        VadKind::Energy => energy_spans(samples, rate, echo),
        VadKind::Neural => network::confirm(&energy_spans(samples, rate, echo), samples, rate),
        VadKind::NeuralFull => match echo {
            Some(e) => e.remove(&network::whole_track(samples, rate)),
            None => network::whole_track(samples, rate),
        },
    };
    let mut spans = near_end(found, samples, rate);
    refine_edges(&mut spans, samples, rate);
    match echo {
        Some(e) => tidy(e.remove(&spans), rate),
        None => spans,
    }
}

/// The energy detector's speech, without the echo's frames, through the
/// near-end gate.
fn energy_spans(samples: &[i16], rate: u32, echo: Option<&Echo>) -> Vec<Span> {
    let (flags, frame_len) = energy_frames(samples, rate, Track::Line);
    let mut spans = raw_spans(&flags, frame_len, samples.len() as u64);
    if let Some(e) = echo {
        spans = e.remove(&spans);
    }
    near_end(spans, samples, rate)
}

/// Spans without digital silence, tidied, through the near-end gate.
fn near_end(spans: Vec<Span>, samples: &[i16], rate: u32) -> Vec<Span> {
    let spans = tidy(without_digital_silence(&spans, samples, rate), rate);
    tidy(near_end::near_end_only(spans, samples, rate), rate)
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
        // The first hot block of the start's window is never after the
        // last of the end's (the windows overlap, or the end's is later),
        // so the span stays at least a block long.
        if let (Some(a), Some(b)) = (start, end) {
            *span = ((a * block) as u64, (((b + 1) * block) as u64).min(total));
        }
    }
}

/// Whose track frame energy reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Track {
    /// The caller's phone line.
    Line,
    /// The bot's TTS output.
    Tts,
}

fn energy_frames(samples: &[i16], rate: u32, track: Track) -> (Vec<bool>, f64) {
    let frame = (rate as usize * 16 / 1000).max(1);
    let db = frame_dbfs(samples, frame);
    let threshold = noise_floor(&db) + ENERGY_MARGIN_DB;
    // A track with no noise (clean TTS, silent between phrases) has its
    // floor in quiet speech: the threshold is capped. A bot leg with no
    // digital silence at all carries noise (hiss, hum): its floor is that
    // noise, and speech is what stands above it. (A caller's line with loud
    // noise keeps the cap; the near-end gate tells the caller from it.)
    let noisy_tts = track == Track::Tts && !db.iter().any(|d| *d <= DIGITAL_SILENCE_DBFS);
    let threshold = if noisy_tts {
        threshold.max(ENERGY_FLOOR_DBFS)
    } else {
        threshold.clamp(ENERGY_FLOOR_DBFS, ENERGY_CEILING_DBFS)
    };
    (db.iter().map(|d| *d > threshold).collect(), frame as f64)
}

/// A frame this quiet is digital silence (exact zeros give about -120).
const DIGITAL_SILENCE_DBFS: f64 = -100.0;

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
    let live: Vec<f64> = db
        .iter()
        .copied()
        .filter(|d| *d > DIGITAL_SILENCE_DBFS)
        .collect();
    tenth_percentile(live).unwrap_or(-100.0)
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
mod tests;
