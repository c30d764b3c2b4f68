//! A small formant synthesiser: signals that a voice-activity detector takes
//! for speech. Syllables of a voiced nucleus (a glottal pulse train with
//! jitter and falling pitch through two-pole formant resonators) after a
//! noise-burst onset, shaped at syllable rate (4–6 Hz), grouped into words
//! and phrases. Cheap enough to make hours of audio a second.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Formant frequencies (F1, F2, F3) of a few vowels, in Hz.
const VOWELS: [[f32; 3]; 6] = [
    [730.0, 1090.0, 2440.0],
    [270.0, 2290.0, 3010.0],
    [300.0, 870.0, 2240.0],
    [530.0, 1840.0, 2480.0],
    [570.0, 840.0, 2410.0],
    [660.0, 1720.0, 2410.0],
];
const FORMANT_GAIN: [f32; 3] = [1.0, 0.55, 0.3];

/// A speaker's voice.
#[derive(Debug, Clone, Copy)]
pub struct Voice {
    /// Mean pitch in Hz.
    pub f0: f32,
    /// Target RMS of voiced speech, in full-scale units (1.0 = 32767).
    pub level: f32,
}

/// A two-pole resonator at one formant.
struct Resonator {
    a1: f32,
    a2: f32,
    gain: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    fn new(freq: f32, bandwidth: f32, rate: f32) -> Resonator {
        let r = (-PI * bandwidth / rate).exp();
        let theta = 2.0 * PI * freq.min(rate * 0.45) / rate;
        Resonator {
            a1: 2.0 * r * theta.cos(),
            a2: -r * r,
            // Normalises the peak gain to roughly 1.
            gain: (1.0 - r) * (1.0 + r * r - 2.0 * r * (2.0 * theta).cos()).sqrt(),
            y1: 0.0,
            y2: 0.0,
        }
    }

    #[inline]
    fn step(&mut self, x: f32) -> f32 {
        let y = self.gain * x + self.a1 * self.y1 + self.a2 * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// A phrase's extent within an utterance, in samples from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// One utterance: samples (already scaled to i16 range, not yet quantised)
/// and where its phrases (speech between pauses of ≥ 250 ms) lie.
pub struct Utterance {
    pub samples: Vec<f32>,
    pub phrases: Vec<Span>,
}

/// Synthesise about `seconds` of speech in phrases of 1–4 words separated by
/// pauses. `pause_fill` is false for TTS (pauses are digital silence).
pub fn utterance(rng: &mut ChaCha8Rng, voice: Voice, seconds: f32, rate: u32) -> Utterance {
    let fs = rate as f32;
    let target = (seconds * fs) as usize;
    let mut samples: Vec<f32> = Vec::with_capacity(target + rate as usize);
    let mut phrases = Vec::new();
    while samples.len() < target {
        if !samples.is_empty() {
            let pause = rng.random_range(0.25..0.5) * fs;
            samples.resize(samples.len() + pause as usize, 0.0);
        }
        let start = samples.len();
        let words = rng.random_range(2..=5);
        for w in 0..words {
            if w > 0 {
                // Gaps between words are short enough that a VAD bridges them.
                let gap = rng.random_range(0.03..0.1) * fs;
                samples.resize(samples.len() + gap as usize, 0.0);
            }
            for _ in 0..rng.random_range(1..=3) {
                syllable(rng, voice, fs, &mut samples);
            }
        }
        phrases.push(Span {
            start,
            end: samples.len(),
        });
    }
    normalise(&mut samples, voice.level);
    Utterance { samples, phrases }
}

/// A backchannel ("mhm", "okay"): one word of one or two syllables.
pub fn backchannel(rng: &mut ChaCha8Rng, voice: Voice, rate: u32) -> Utterance {
    let fs = rate as f32;
    let mut samples = Vec::new();
    for _ in 0..rng.random_range(1..=2) {
        syllable(rng, voice, fs, &mut samples);
    }
    let end = samples.len();
    normalise(&mut samples, voice.level);
    Utterance {
        samples,
        phrases: vec![Span { start: 0, end }],
    }
}

/// Append one syllable: a short noise-burst consonant, then a voiced vowel.
fn syllable(rng: &mut ChaCha8Rng, voice: Voice, fs: f32, out: &mut Vec<f32>) {
    // Vowel nucleus with a raised-cosine envelope: the 4–6 Hz syllable rhythm.
    let len = (rng.random_range(0.12..0.24) * fs) as usize;
    let vowel = VOWELS[rng.random_range(0..VOWELS.len())];
    let mut formants = [0, 1, 2].map(|i| Resonator::new(vowel[i], 60.0 + 40.0 * i as f32, fs));
    let f0_start = voice.f0 * rng.random_range(0.9..1.15);
    let f0_end = f0_start * rng.random_range(0.8..0.95);
    let mut phase = 0.0f32;
    let mut glottal = 0.0f32;
    let mut nucleus = Vec::with_capacity(len);
    // The envelope's cosine by rotation, a step per sample, not a libm call.
    let (step_sin, step_cos) = (2.0 * PI / len.max(1) as f32).sin_cos();
    let (mut cos, mut sin) = (1.0f32, 0.0f32);
    for i in 0..len {
        let t = i as f32 / len as f32;
        let f0 = f0_start + (f0_end - f0_start) * t;
        phase += f0 / fs;
        // One glottal pulse a period, jittered, smoothed by a one-pole low-pass.
        let pulse = if phase >= 1.0 {
            phase -= 1.0 + rng.random_range(-0.02..0.02);
            1.0
        } else {
            0.0
        };
        glottal = 0.7 * glottal + pulse;
        let mut y = 0.0;
        for (f, g) in formants.iter_mut().zip(FORMANT_GAIN) {
            y += g * f.step(glottal);
        }
        let env = 0.5 - 0.5 * cos;
        (cos, sin) = (
            cos * step_cos - sin * step_sin,
            sin * step_cos + cos * step_sin,
        );
        nucleus.push(y * env);
    }
    let vowel_rms = (nucleus.iter().map(|x| x * x).sum::<f32>() / len.max(1) as f32).sqrt();
    // Consonant onset: high-passed noise (a fricative or a stop's release),
    // well below the vowel, as in speech.
    let onset = (rng.random_range(0.02..0.06) * fs) as usize;
    let amp = vowel_rms * rng.random_range(0.15..0.4);
    let mut prev = 0.0f32;
    for i in 0..onset {
        let white = rng.random::<f32>() * 2.0 - 1.0;
        let hp = white - prev;
        prev = white;
        let env = (PI * i as f32 / onset as f32).sin();
        out.push(amp * hp * env);
    }
    out.extend_from_slice(&nucleus);
}

/// Scale so that the RMS over the non-silent samples is `level` of full scale.
fn normalise(samples: &mut [f32], level: f32) {
    let (sum, n) = samples
        .iter()
        .filter(|s| **s != 0.0)
        .fold((0.0f64, 0usize), |(s, n), x| {
            (s + f64::from(*x) * f64::from(*x), n + 1)
        });
    if n == 0 {
        return;
    }
    let rms = (sum / n as f64).sqrt() as f32;
    let scale = level / rms.max(1e-9);
    // Peaks are soft-limited (tanh) as a real signal chain would, never clipped hard.
    for s in samples.iter_mut().filter(|s| **s != 0.0) {
        *s = 32767.0 * (*s * scale).tanh();
    }
}

/// Low-level line noise, mostly within a few LSBs of zero (so, like real
/// telephone lines, it often hits exactly 0).
pub fn line_noise(rng: &mut ChaCha8Rng, n: usize, amplitude: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(n);
    let mut lp = 0.0f32;
    // Random words drawn a block at a time (the generator fills a buffer
    // much faster than it answers one call per sample).
    let mut draws = [0u32; 4096];
    while out.len() < n {
        let k = (n - out.len()).min(draws.len());
        rng.fill(&mut draws[..k]);
        for &v in &draws[..k] {
            // Two uniforms from one draw: a triangular, roughly Gaussian value.
            let a = (v & 0xFFFF) as f32 / 65535.0;
            let b = (v >> 16) as f32 / 65535.0;
            lp = 0.6 * lp + 0.4 * (a + b - 1.0);
            out.push(lp * amplitude);
        }
    }
    out
}

/// Round to 16-bit with clipping.
pub fn quantise(x: f32) -> i16 {
    // Half away from zero, like `round`, without its libm call.
    ((x + 0.5f32.copysign(x)) as i32).clamp(-32768, 32767) as i16
}
