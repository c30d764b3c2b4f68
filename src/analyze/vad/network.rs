//! earshot, the neural detector, and where it needs to run.

use std::borrow::Cow;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::{frame_dbfs, noise_floor, raw_spans, Span};

/// earshot's frame: 16 ms at 16 kHz.
const NEURAL_RATE: u32 = 16000;
const NEURAL_FRAME: usize = 256;
const NEURAL_THRESHOLD: f32 = 0.5;
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

/// A span's first and last 160 ms are what the network checks before the
/// energy detector's span is taken whole...
const CHECK_FRAMES: usize = 10;
/// ...each after 160 ms of the audio before it: a fresh detector fills its
/// three-frame window in 64 ms, but on a loud line it needs longer to stop
/// hearing the line's noise as speech (with 64 ms, noise a phone's gain
/// control lifted before a phrase passed the head check: 1.6 s of talk-time
/// error a call on `agc` lines against 0.16 s, noise 0.30 s against 0.20 s,
/// for about a tenth more time on hard lines)...
const WARM_FRAMES: usize = 10;
/// ...and a span is taken whole when the network hears speech in at least
/// this share of each checked part.
const CHECK_SHARE: f64 = 0.5;

/// The energy detector's `candidates`, checked by the network: a span whose
/// first and last 160 ms the network also hears as speech is taken as the
/// energy detector found it; any other span (a noise burst, a click, music
/// between the caller's words, anything short) the network decides frame by
/// frame, and only its speech inside the span is kept.
///
/// Frame energy is right about most of a phone line: the line's noise,
/// digital silence, and a caller's phrase that rises well above them. What
/// it cannot tell is a loud sound that is not a voice, and that is what the
/// network is for. Checking the ends of each span costs the network about a
/// quarter of its work over the whole track (see docs/voice-activity.md), for
/// the same accuracy against the simulator's truth.
pub(super) fn confirm(candidates: &[Span], samples: &[i16], rate: u32) -> Vec<Span> {
    // Nothing to check: a silent track is not resampled for nothing.
    if candidates.is_empty() {
        return Vec::new();
    }
    let at_16k = at_16k(samples, rate);
    let frames = at_16k.len() / NEURAL_FRAME;
    let frame_len = frame_len(rate);
    let to_frame = |s: u64| s as f64 / frame_len;
    let lag = NEURAL_OFFSET_LAG_FRAMES as usize;
    let mut out = Vec::new();
    for &(a, b) in candidates {
        // Once a stop is asked for, the rest of a long track is not run
        // through the network: the call's results are abandoned anyway.
        if crate::interrupt::requested() {
            break;
        }
        let fa = (to_frame(a) as usize).min(frames);
        let fb = (to_frame(b).ceil() as usize).min(frames);
        // The network's decisions on frames `from..to` (and the lag after
        // them), and whether it hears speech in enough of them.
        let hears = |from: usize, to: usize| {
            let flags = run(&at_16k, from, (to + lag).min(frames));
            let heard = flags.iter().filter(|f| **f).count();
            let enough = heard as f64 >= CHECK_SHARE * (to - from) as f64;
            (enough, flags)
        };
        if fb - fa >= 2 * CHECK_FRAMES {
            let (head, flags) = hears(fa, fa + CHECK_FRAMES);
            if head && hears(fb - CHECK_FRAMES, fb).0 {
                // Taken whole, from where the network first hears speech:
                // energy also finds noise that a phone's gain control
                // lifts just before the caller starts. (Its end is left
                // alone: cutting it where the network last hears speech
                // gained nothing measurable on any line.)
                let first = flags.iter().position(|f| *f).unwrap_or(0) as f64;
                let onset = (fa as f64 + first - NEURAL_ONSET_LAG_FRAMES).max(0.0);
                out.push((a.max((onset * frame_len).round() as u64), b));
                continue;
            }
        }
        let flags = run(&at_16k, fa, (fb + lag).min(frames));
        let offset = (fa as f64 * frame_len).round() as u64;
        out.extend(
            lag_shifted(raw_spans(&flags, frame_len, u64::MAX), frame_len)
                .into_iter()
                .map(|(s, e)| ((s + offset).max(a), (e + offset).min(b)))
                .filter(|(s, e)| s < e),
        );
    }
    out
}

/// The network's decisions on frames `from..to`, by a fresh detector that
/// first hears the `WARM_FRAMES` before them.
fn run(at_16k: &[i16], from: usize, to: usize) -> Vec<bool> {
    let mut detector = earshot::Detector::default();
    let warm = from.saturating_sub(WARM_FRAMES);
    let frames = at_16k[warm * NEURAL_FRAME..to * NEURAL_FRAME].chunks_exact(NEURAL_FRAME);
    frames
        .map(|f| detector.predict_i16(f) >= NEURAL_THRESHOLD)
        .skip(from - warm)
        .collect()
}

/// earshot on every frame of the track but the inside of stretches at the
/// line's noise floor: the reference the default is measured against.
pub(super) fn whole_track(samples: &[i16], rate: u32) -> Vec<Span> {
    let at_16k = at_16k(samples, rate);
    let skip = quiet_interiors(&frame_dbfs(&at_16k, NEURAL_FRAME));
    let mut detector = earshot::Detector::default();
    let flags: Vec<bool> = at_16k
        .chunks_exact(NEURAL_FRAME)
        .zip(skip)
        .map(|(f, skip)| {
            !skip && !crate::interrupt::requested() && detector.predict_i16(f) >= NEURAL_THRESHOLD
        })
        .collect();
    let frame_len = frame_len(rate);
    lag_shifted(
        raw_spans(&flags, frame_len, samples.len() as u64),
        frame_len,
    )
}

/// earshot's frame in the track's samples (a fraction at other rates).
fn frame_len(rate: u32) -> f64 {
    NEURAL_FRAME as f64 * f64::from(rate) / f64::from(NEURAL_RATE)
}

/// Spans moved back by the network's lag.
fn lag_shifted(mut spans: Vec<Span>, frame_len: f64) -> Vec<Span> {
    let on = (NEURAL_ONSET_LAG_FRAMES * frame_len) as u64;
    let off = (NEURAL_OFFSET_LAG_FRAMES * frame_len) as u64;
    for s in &mut spans {
        *s = (
            s.0.saturating_sub(on),
            s.1.saturating_sub(off).max(s.0.saturating_sub(on) + 1),
        );
    }
    spans
}

fn at_16k(samples: &[i16], rate: u32) -> Cow<'_, [i16]> {
    if rate == NEURAL_RATE {
        Cow::Borrowed(samples)
    } else {
        Cow::Owned(resample_to_16k(samples, rate))
    }
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

    #[test]
    fn a_quiet_stretch_is_skipped_only_past_its_two_guards() {
        // 21 quiet frames: the one between the guards is skipped; 20 or
        // 15 (the guards overlap): none.
        for (quiet, skipped) in [(21, vec![40]), (20, vec![]), (15, vec![])] {
            let mut db = vec![-20.0; 30];
            db.extend(vec![-80.0; quiet]);
            db.extend([-20.0; 30]);
            db.extend([-80.0; 5]); // the floor: a tenth of the frames
            let skip: Vec<usize> = (0..db.len()).filter(|i| quiet_interiors(&db)[*i]).collect();
            assert_eq!(skip, skipped, "{quiet} quiet frames");
        }
        // A frame exactly at the gate (6 dB over the -80 floor) is not
        // quiet: it splits 21 quiet frames into two too short to skip.
        let mut db = vec![-20.0; 30];
        db.extend(vec![-80.0; 21]);
        db[40] = -74.0;
        db.extend([-20.0; 30]);
        db.extend([-80.0; 5]);
        assert!(quiet_interiors(&db).iter().all(|s| !s));
    }

    #[test]
    fn spans_move_back_by_the_network_s_lag() {
        // 16 kHz: a frame is 256 samples; onsets lag 3 frames, offsets 5.
        assert_eq!(frame_len(16000), 256.0);
        assert_eq!(frame_len(8000), 128.0);
        assert_eq!(frame_len(44100), 705.6);
        assert_eq!(
            lag_shifted(vec![(1000, 5000), (6000, 9000)], 256.0),
            [(1000 - 768, 5000 - 1280), (6000 - 768, 9000 - 1280)]
        );
        // Near the start nothing goes below 0; a span shorter than the
        // lags keeps one sample.
        assert_eq!(lag_shifted(vec![(100, 1000)], 256.0), [(0, 1)]);
        assert_eq!(lag_shifted(vec![(900, 1400)], 256.0), [(132, 133)]);
        // At 8 kHz (128-sample frames, as the track counts them).
        assert_eq!(lag_shifted(vec![(1000, 2000)], 128.0), [(616, 1360)]);
        // A fractional frame: whole samples, rounded down.
        assert_eq!(lag_shifted(vec![(10000, 20000)], 705.6), [(7884, 16472)]);
    }

    #[test]
    fn other_rates_reach_the_network_at_16_khz() {
        let tone = |rate: u32, n: usize| -> Vec<i16> {
            (0..n)
                .map(|i| {
                    let t = i as f64 / f64::from(rate);
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect()
        };
        let s = tone(16000, 1600);
        assert!(matches!(at_16k(&s, 16000), Cow::Borrowed(_)));
        // A second at 8 kHz is a second at 16 kHz, the tone's level kept.
        let up = at_16k(&tone(8000, 8000), 8000).into_owned();
        assert!((15900..=16100).contains(&up.len()), "{}", up.len());
        let rms = |s: &[i16]| {
            (s.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
        };
        let mid = &up[2000..14000];
        assert!(
            (rms(mid) - 8000.0 / 2f64.sqrt()).abs() < 100.0,
            "{}",
            rms(mid)
        );
        let down = at_16k(&tone(48000, 48000), 48000).into_owned();
        assert!((15900..=16100).contains(&down.len()), "{}", down.len());
        // Nothing to check: no work and no spans.
        assert!(confirm(&[], &s, 16000).is_empty());
    }
}
