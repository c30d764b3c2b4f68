//! Acoustic echo: a speakerphone plays the bot's voice into the caller's
//! room and the phone's microphone picks it up again. What reaches the
//! caller's track is the bot as the caller heard it (only what played, where
//! it played on the call's clock), driven through a small loudspeaker that
//! clips when pushed, band-limited, spread by the room's reflections and
//! delayed by the path and the phone's own processing.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::call::Call;

/// The echo path a call was given: its direct path's delay and how far the
/// echo lies below the bot's heard signal (the echo return loss).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchoPath {
    pub delay_s: f64,
    pub return_loss_db: f64,
}

/// The bot's audio as it played on the call's clock: every chunk at its
/// play time, without what the caller never heard.
pub fn heard_bot(call: &Call) -> Vec<f32> {
    let n = call.caller.len();
    let mut out = vec![0.0f32; n];
    for c in &call.bot_chunks {
        let piece = &call.bot[c.offset..c.offset + c.len];
        for (o, s) in out[c.play_start.min(n)..].iter_mut().zip(piece) {
            *o = f32::from(*s);
        }
    }
    for &(s, e) in &call.unplayed {
        out[s.min(n)..e.min(n)].iter_mut().for_each(|x| *x = 0.0);
    }
    out
}

/// The echo to add to the caller's track, and the path that made it: delay
/// 30–250 ms, echo return loss 10–25 dB, a room of 150–400 ms
/// reverberation, and on half the calls a loudspeaker driven into clipping.
pub fn echo(rng: &mut ChaCha8Rng, call: &Call) -> (Vec<f32>, EchoPath) {
    let fs = call.rate as f32;
    let heard = heard_bot(call);
    let n = heard.len();
    let mut speaker = heard.clone();
    if rng.random_bool(0.5) {
        let peak = speaker.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1.0);
        let knee = peak * rng.random_range(0.2..0.5);
        speaker
            .iter_mut()
            .for_each(|x| *x = knee * (*x / knee).tanh());
    }
    // A phone's loudspeaker: nothing much under 300 Hz or over 3.5 kHz.
    let (hp, lp) = (one_pole(300.0, fs), one_pole(3500.0, fs));
    let (mut low, mut out_lp) = (0.0f32, 0.0f32);
    for x in &mut speaker {
        low += hp * (*x - low);
        out_lp += lp * ((*x - low) - out_lp);
        *x = out_lp;
    }
    // The room: the direct path, then reflections decaying with its
    // reverberation time (60 dB down after `rt60`).
    let delay_s: f32 = rng.random_range(0.03..0.25);
    let rt60: f32 = rng.random_range(0.15..0.4);
    let direct = (delay_s * fs) as usize;
    let mut taps = vec![(direct, 1.0f32)];
    for _ in 0..rng.random_range(20..40) {
        let t = rng.random_range(0.002..rt60);
        let gain = 0.6 * (-6.9 * t / rt60).exp() * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        taps.push((direct + (t * fs) as usize, gain));
    }
    let mut out = vec![0.0f32; n];
    for (d, g) in taps {
        for (o, x) in out[d.min(n)..].iter_mut().zip(&speaker) {
            *o += g * x;
        }
    }
    // A muted phone sends digital silence, its echo included: the return
    // loss is set on what reaches the line.
    for &(s, e) in &call.muted {
        out[s.min(n)..e.min(n)].iter_mut().for_each(|x| *x = 0.0);
    }
    let return_loss_db: f64 = rng.random_range(10.0..25.0);
    let energy = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>();
    let scale = (energy(&heard) / energy(&out).max(1e-9) * 10f64.powf(-return_loss_db / 10.0))
        .sqrt() as f32;
    out.iter_mut().for_each(|x| *x *= scale);
    (
        out,
        EchoPath {
            delay_s: f64::from(delay_s),
            return_loss_db,
        },
    )
}

/// A one-pole smoothing coefficient for corner frequency `hz`.
fn one_pole(hz: f32, fs: f32) -> f32 {
    1.0 - (-2.0 * std::f32::consts::PI * hz / fs).exp()
}
