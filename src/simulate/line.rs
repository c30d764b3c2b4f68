//! Line conditions: what real calls put on the line besides the two
//! parties' speech. Each is added to a finished call's tracks and changes
//! nothing else: the conversation, the chunks, the JSON files and the truth
//! of who spoke when are the clean call's (the conditions draw from their
//! own random stream). A voice-activity detector that counts any of it as
//! speech is wrong by exactly that much.
//!
//! Three conditions are the conversation's rather than the line's
//! (`pauses`, `interruptions`, `talk-overs`): `call::generate` plays them
//! out, on the same stream, and the truth is theirs.
//!
//! Levels are relative to the caller's own speech (the RMS over the truth's
//! caller phrases), so "8–15 dB below the caller" means what it says
//! whatever the caller's level.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::call::{Call, Span};
use super::echo;
use super::network;
use super::speech::{self, Voice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    /// Other voices behind the caller (a call centre, a café), 8–15 dB below.
    Babble,
    /// Music behind the caller (a radio, a shop), 10–18 dB below.
    Music,
    /// Doors, traffic and keyboard clicks: short loud events, at random.
    Bursts,
    /// Broadband noise (a car, a fan) 5–10 dB below the caller's speech.
    Noise,
    /// The phone's automatic gain control: pauses are pulled up by up to
    /// 18 dB (with the room's noise in them), speech onsets pushed down.
    Agc,
    /// A narrowband leg: 300–3400 Hz, 8 kHz G.711 μ-law, 20 ms packets lost
    /// in bursts (dropouts of digital silence), and the line's hiss.
    Narrowband,
    /// Noise and mains hum on the bot's leg, where TTS is otherwise clean.
    NoisyBot,
    /// A speakerphone: the bot's voice as the caller heard it leaks back
    /// into the caller's leg 30–250 ms later, 10–25 dB down, through a
    /// clipping loudspeaker and a reverberant room (`echo.rs`). The caller
    /// talking over it (a barge-in, a backchannel) is double-talk.
    Echo,
    /// Conversation, not sound: caller turns with a 0.6–1.5 s pause inside.
    Pauses,
    /// Conversation: short "Wait."s that stop the bot.
    Interruptions,
    /// Conversation: the caller talking over answers the bot talks through.
    TalkOvers,
    /// One or two people near the caller (a colleague, the television),
    /// 8–15 dB below and barely duller: each voice's peaks near the caller's.
    Talkers,
}

impl Condition {
    pub const ALL: [Condition; 12] = [
        Condition::Babble,
        Condition::Music,
        Condition::Bursts,
        Condition::Noise,
        Condition::Agc,
        Condition::Narrowband,
        Condition::NoisyBot,
        Condition::Echo,
        Condition::Pauses,
        Condition::Interruptions,
        Condition::TalkOvers,
        Condition::Talkers,
    ];

    /// Whether it changes the conversation (and so its truth) rather than
    /// adding sound to a finished call.
    pub fn is_conversation(self) -> bool {
        matches!(
            self,
            Condition::Pauses | Condition::Interruptions | Condition::TalkOvers
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Condition::Babble => "babble",
            Condition::Talkers => "talkers",
            Condition::Music => "music",
            Condition::Bursts => "bursts",
            Condition::Noise => "noise",
            Condition::Agc => "agc",
            Condition::Narrowband => "narrowband",
            Condition::NoisyBot => "noisy-bot",
            Condition::Echo => "echo",
            Condition::Pauses => "pauses",
            Condition::Interruptions => "interruptions",
            Condition::TalkOvers => "talk-overs",
        }
    }
}

/// The conditions of one recording's line, applied together (`clean`: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMix(Vec<Condition>);

impl LineMix {
    pub fn clean() -> LineMix {
        LineMix::default()
    }

    pub fn is_clean(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, c: Condition) -> bool {
        self.0.contains(&c)
    }

    /// `clean`, or the conditions joined by `+` in a fixed order.
    pub fn name(&self) -> String {
        if self.0.is_empty() {
            return "clean".into();
        }
        let names: Vec<_> = self.0.iter().map(|c| c.name()).collect();
        names.join("+")
    }

    /// Parse `--line`: comma-separated mixes, each `clean` or conditions
    /// joined by `+` (`narrowband+noise`); `all` stands for clean and then
    /// every condition alone.
    pub fn parse_list(s: &str) -> Result<Vec<LineMix>, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if item == "all" {
                out.push(LineMix::clean());
                out.extend(Condition::ALL.map(|c| LineMix(vec![c])));
                continue;
            }
            let mut mix = Vec::new();
            for name in item.split('+').map(str::trim) {
                if name == "clean" && item == "clean" {
                    continue;
                }
                let c = Condition::ALL
                    .into_iter()
                    .find(|c| c.name() == name)
                    .ok_or_else(|| {
                        let names: Vec<_> = Condition::ALL.iter().map(|c| c.name()).collect();
                        format!(
                            "unknown line condition '{name}' (known: all, clean, {}; join with + to combine)",
                            names.join(", ")
                        )
                    })?;
                if !mix.contains(&c) {
                    mix.push(c);
                }
            }
            mix.sort();
            out.push(LineMix(mix));
        }
        Ok(out)
    }
}

/// Put `mix` on `call`'s line. Sounds in the room first, then the phone's
/// gain control, then the network; the bot's leg on its own.
pub fn apply(mix: &LineMix, call: &mut Call, rng: &mut ChaCha8Rng) {
    if mix.is_clean() {
        return;
    }
    let rate = call.rate as f32;
    let speech = rms_over(&call.caller, &call.caller_speech).max(1.0);
    let mut track: Vec<f32> = call.caller.iter().map(|s| f32::from(*s)).collect();
    let n = track.len();
    // The loudspeaker's sound is in the room before anything else is.
    if mix.has(Condition::Echo) {
        let (v, path) = echo::echo(rng, call);
        track.iter_mut().zip(&v).for_each(|(t, x)| *t += x);
        call.echo = Some(path);
    }
    let add = |track: &mut [f32], mut v: Vec<f32>, db_below: f32| {
        let level = (v.iter().map(|x| x * x).sum::<f32>() / v.len().max(1) as f32).sqrt();
        let scale = speech * db(-db_below) / level.max(1e-9);
        v.iter_mut().for_each(|x| *x *= scale);
        track.iter_mut().zip(&v).for_each(|(t, x)| *t += x);
    };
    if mix.has(Condition::Babble) {
        let talkers = rng.random_range(4..=6);
        let v = babble(rng, n, call.rate, talkers, 1800.0);
        add(&mut track, v, rng.random_range(8.0..15.0));
    }
    if mix.has(Condition::Talkers) {
        let talkers = rng.random_range(1..=2);
        let v = babble(rng, n, call.rate, talkers, 3500.0);
        add(&mut track, v, rng.random_range(8.0..15.0));
    }
    if mix.has(Condition::Music) {
        let v = music(rng, n, rate);
        add(&mut track, v, rng.random_range(10.0..18.0));
    }
    if mix.has(Condition::Bursts) {
        bursts(rng, &mut track, rate, speech);
    }
    if mix.has(Condition::Noise) {
        let v = broadband(rng, n);
        add(&mut track, v, rng.random_range(5.0..10.0));
    }
    if mix.has(Condition::Agc) {
        // The room's own noise, which the gain control pulls up in pauses.
        let v = broadband(rng, n);
        add(&mut track, v, rng.random_range(28.0..34.0));
        agc(&mut track, rate, speech, db(rng.random_range(15.0..18.0)));
    }
    if mix.has(Condition::Narrowband) {
        let v = broadband(rng, n);
        add(&mut track, v, rng.random_range(20.0..25.0));
        network::narrowband(rng, &mut track, call.rate);
    }
    // The muted line still sends digital silence: the phone muted it.
    for &(s, e) in &call.muted {
        track[s.min(n)..e.min(n)].iter_mut().for_each(|x| *x = 0.0);
    }
    call.caller = track.into_iter().map(speech::quantise).collect();

    if mix.has(Condition::NoisyBot) {
        noisy_bot(rng, call);
    }
}

fn db(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

/// RMS of `track` over `spans`.
fn rms_over(track: &[i16], spans: &[Span]) -> f32 {
    let (mut sum, mut n) = (0f64, 0usize);
    for &(s, e) in spans {
        for x in &track[s.min(track.len())..e.min(track.len())] {
            sum += f64::from(*x) * f64::from(*x);
            n += 1;
        }
    }
    (sum / n.max(1) as f64).sqrt() as f32
}

/// The caller track's background against the caller's speech, in dB: the
/// RMS where the truth says nobody on the caller's side speaks (at least
/// 100 ms from any phrase, outside muted stretches) over the RMS of the
/// phrases. Clean lines are around -50 dB; `None` when either is empty.
pub fn caller_background_db(call: &Call) -> Option<f64> {
    let guard = call.rate as usize / 10;
    let mut quiet = vec![true; call.caller.len()];
    for &(s, e) in call.caller_speech.iter().chain(&call.muted) {
        let (s, e) = (s.saturating_sub(guard), (e + guard).min(quiet.len()));
        quiet[s.min(e)..e].iter_mut().for_each(|q| *q = false);
    }
    let (mut sum, mut n) = (0f64, 0usize);
    for (x, q) in call.caller.iter().zip(&quiet) {
        if *q {
            sum += f64::from(*x) * f64::from(*x);
            n += 1;
        }
    }
    let speech = f64::from(rms_over(&call.caller, &call.caller_speech));
    if n == 0 || speech == 0.0 {
        return None;
    }
    let background = (sum / n as f64).sqrt().max(0.5);
    Some((20.0 * (background / speech).log10() * 10.0).round() / 10.0)
}

/// White noise with a gentle low-frequency tilt, unit-ish level.
fn broadband(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    let mut lp = 0.0f32;
    (0..n)
        .map(|_| {
            let w = rng.random::<f32>() * 2.0 - 1.0;
            lp = 0.5 * lp + 0.5 * w;
            0.5 * w + lp
        })
        .collect()
}

/// `talkers` people a few metres away (`cutoff_hz`: how dull distance makes
/// them), each talking on and off all call long: their own pitch, and
/// smeared by the room.
fn babble(rng: &mut ChaCha8Rng, n: usize, rate: u32, talkers: usize, cutoff_hz: f32) -> Vec<f32> {
    let fs = rate as f32;
    let mut out = vec![0.0f32; n];
    for _ in 0..talkers {
        let voice = Voice {
            f0: if rng.random_bool(0.5) {
                rng.random_range(90.0..150.0)
            } else {
                rng.random_range(170.0..250.0)
            },
            level: rng.random_range(0.5..1.0),
        };
        let mut at = (rng.random_range(0.0..1.5) * fs) as usize;
        while at < n {
            let len = rng.random_range(1.0..4.0);
            let utt = speech::utterance(rng, voice, len, rate);
            for (o, s) in out[at..].iter_mut().zip(&utt.samples) {
                *o += s;
            }
            at += utt.samples.len() + (rng.random_range(0.1..0.8) * fs) as usize;
        }
    }
    // Distance: a duller sound and the room's echoes.
    let mut lp = 0.0f32;
    let k = 1.0 - (-2.0 * PI * cutoff_hz / fs).exp();
    for x in &mut out {
        lp += k * (*x - lp);
        *x = lp;
    }
    let taps: Vec<(usize, f32)> = (0..4)
        .map(|_| {
            (
                (rng.random_range(0.015..0.08) * fs) as usize,
                rng.random_range(0.25..0.5),
            )
        })
        .collect();
    let dry = out.clone();
    for (delay, gain) in taps {
        for i in delay..n {
            out[i] += gain * dry[i - delay];
        }
    }
    out
}

/// Music: a chord a bar (root, third, fifth and the bass under them) and a
/// melody note a beat, each note a few harmonics with an attack and decay.
fn music(rng: &mut ChaCha8Rng, n: usize, fs: f32) -> Vec<f32> {
    let beat = (60.0 / rng.random_range(70.0..110.0) * fs) as usize;
    let key = rng.random_range(0..12) as f32;
    // I–V–vi–IV in semitones from the key: root, third, fifth.
    const CHORDS: [[f32; 3]; 4] = [
        [0.0, 4.0, 7.0],
        [7.0, 11.0, 14.0],
        [9.0, 12.0, 16.0],
        [5.0, 9.0, 12.0],
    ];
    const SCALE: [f32; 7] = [0.0, 2.0, 4.0, 5.0, 7.0, 9.0, 11.0];
    let hz = |semis: f32| 130.81 * 2f32.powf((key + semis) / 12.0);
    let mut out = vec![0.0f32; n];
    let note = |out: &mut [f32], at: usize, len: usize, f: f32, amp: f32| {
        let harmonics = [1.0, 0.5, 0.33, 0.25, 0.15];
        let end = (at + len).min(out.len());
        for (i, o) in out[at.min(end)..end].iter_mut().enumerate() {
            let t = i as f32 / fs;
            let env = (t / 0.01).min(1.0)
                * (0.4 + 0.6 * (-t / 0.25).exp())
                * ((len - i) as f32 / (0.02 * fs)).min(1.0);
            let mut y = 0.0;
            for (k, h) in harmonics.iter().enumerate() {
                let fk = f * (k + 1) as f32;
                if fk < fs * 0.45 {
                    y += h * (2.0 * PI * fk * t).sin();
                }
            }
            *o += amp * env * y;
        }
    };
    let mut bar = 0;
    let mut at = 0;
    while at < n {
        let chord = CHORDS[bar % 4];
        for s in chord {
            note(&mut out, at, beat * 4, hz(s), 0.3);
        }
        note(&mut out, at, beat * 4, hz(chord[0] - 12.0), 0.5);
        for b in 0..4 {
            let degree = SCALE[rng.random_range(0..SCALE.len())];
            note(&mut out, at + b * beat, beat, hz(degree + 24.0), 0.4);
        }
        bar += 1;
        at += beat * 4;
    }
    out
}

/// Short loud events every few seconds, over speech or not: a door or a
/// dropped object (a decaying broadband crack), passing traffic (a slow
/// swell of low rumble), or a run of keyboard clicks.
fn bursts(rng: &mut ChaCha8Rng, track: &mut [f32], fs: f32, speech: f32) {
    let n = track.len();
    let mut at = (rng.random_range(0.5..3.0) * fs) as usize;
    while at < n {
        match rng.random_range(0..3) {
            0 => {
                let amp = speech * db(rng.random_range(-4.0..6.0)) * 2.0;
                let tau = rng.random_range(0.04..0.25) * fs;
                let len = (tau * 5.0) as usize;
                let mut lp = 0.0f32;
                for (i, t) in track[at..(at + len).min(n)].iter_mut().enumerate() {
                    let w = rng.random::<f32>() * 2.0 - 1.0;
                    lp = 0.7 * lp + 0.3 * w;
                    *t += amp * (-(i as f32) / tau).exp() * lp;
                }
            }
            1 => {
                let amp = speech * db(rng.random_range(-8.0..0.0)) * 3.0;
                let len = (rng.random_range(0.6..2.0) * fs) as usize;
                let mut lp = 0.0f32;
                let k = 1.0 - (-2.0 * PI * 300.0 / fs).exp();
                for (i, t) in track[at..(at + len).min(n)].iter_mut().enumerate() {
                    let w = rng.random::<f32>() * 2.0 - 1.0;
                    lp += k * (w - lp);
                    *t += amp * (PI * i as f32 / len as f32).sin() * lp;
                }
            }
            _ => {
                let amp = speech * db(rng.random_range(-12.0..-2.0)) * 3.0;
                let mut click = at;
                for _ in 0..rng.random_range(5..25) {
                    let len = (0.004 * fs) as usize;
                    let mut prev = 0.0f32;
                    for (i, t) in track[click.min(n)..(click + len).min(n)]
                        .iter_mut()
                        .enumerate()
                    {
                        let w = rng.random::<f32>() * 2.0 - 1.0;
                        *t += amp * (-(i as f32) / (0.0008 * fs)).exp() * (w - prev);
                        prev = w;
                    }
                    click += (rng.random_range(0.06..0.25) * fs) as usize;
                }
            }
        }
        at += (rng.random_range(1.0..5.0) * fs) as usize;
    }
}

/// A phone's gain control: it follows the level quickly when it rises and
/// slowly when it falls, and aims it at the caller's speaking level, so
/// pauses swell by up to `max_gain` and each onset comes in loud first.
fn agc(track: &mut [f32], fs: f32, target: f32, max_gain: f32) {
    let attack = 1.0 - (-1.0 / (0.005 * fs)).exp();
    let release = 1.0 - (-1.0 / (0.15 * fs)).exp();
    let gain_down = 1.0 - (-1.0 / (0.02 * fs)).exp();
    let gain_up = 1.0 - (-1.0 / (1.2 * fs)).exp();
    let (mut env, mut gain) = (target * target, 1.0f32);
    for x in track.iter_mut() {
        let p = *x * *x;
        env += if p > env { attack } else { release } * (p - env);
        let want = (target / env.sqrt().max(1e-3)).clamp(0.25, max_gain);
        gain += if want < gain { gain_down } else { gain_up } * (want - gain);
        *x *= gain;
    }
}

/// The bot's leg picks up noise and hum: TTS pauses are no longer digital
/// silence. The bot file and both stereo files carry it alike.
fn noisy_bot(rng: &mut ChaCha8Rng, call: &mut Call) {
    let fs = call.rate as f32;
    let voiced: Vec<f32> = call
        .bot
        .iter()
        .filter(|s| **s != 0)
        .map(|s| f32::from(*s))
        .collect();
    let speech = (voiced.iter().map(|x| x * x).sum::<f32>() / voiced.len().max(1) as f32)
        .sqrt()
        .max(1.0);
    let noise = broadband(rng, call.bot.len());
    let noise_rms = (noise.iter().map(|x| x * x).sum::<f32>() / noise.len().max(1) as f32).sqrt();
    let amp = speech * db(-rng.random_range(20.0..30.0)) / noise_rms.max(1e-9);
    let mains = if rng.random_bool(0.5) { 50.0 } else { 60.0 };
    let hum = speech * db(-rng.random_range(30.0..36.0));
    for (i, (s, w)) in call.bot.iter_mut().zip(noise).enumerate() {
        let t = i as f32 / fs;
        let h = (2.0 * PI * mains * t).sin() + 0.5 * (2.0 * PI * 3.0 * mains * t).sin();
        *s = speech::quantise(f32::from(*s) + amp * w + hum * h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_lists_parse() {
        let v = LineMix::parse_list("clean, narrowband+noise,babble").unwrap();
        let names: Vec<_> = v.iter().map(LineMix::name).collect();
        assert_eq!(names, ["clean", "noise+narrowband", "babble"]);
        assert_eq!(LineMix::parse_list("all").unwrap().len(), 13);
        let err = LineMix::parse_list("babble+fog").unwrap_err();
        assert!(err.contains("unknown line condition 'fog'"), "{err}");
        assert!(LineMix::parse_list("clean+babble").is_err());
    }
}
