//! The near-end gate: the caller is the loudest thing on their own line.

use super::{frame_dbfs, noise_floor, Span};

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
pub(super) fn near_end_only(spans: Vec<Span>, samples: &[i16], rate: u32) -> Vec<Span> {
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
