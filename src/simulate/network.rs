//! The telephone network between the caller and the recorder: a narrowband
//! leg band-limits the caller to 300–3400 Hz, carries it at 8 kHz in G.711
//! μ-law and loses packets in bursts; the recorder gets it back at its own
//! rate. A line condition of the simulator (see `line.rs`).

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::speech;

/// Biquad low- or high-pass (RBJ's cookbook), cascaded for a steep band edge.
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    fn new(f: f32, q: f32, fs: f32, high: bool) -> Biquad {
        let w = 2.0 * PI * f / fs;
        let (sin, cos) = w.sin_cos();
        let alpha = sin / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b = if high {
            [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0]
        } else {
            [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0]
        };
        Biquad {
            b: b.map(|x| x / a0),
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    fn step(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

/// An 8th-order Butterworth low-pass at `f`.
fn lowpass(f: f32, fs: f32) -> Vec<Biquad> {
    [0.5098, 0.6013, 0.9000, 2.5629]
        .map(|q| Biquad::new(f, q, fs, false))
        .into()
}

fn filter(chain: &mut [Biquad], x: f32) -> f32 {
    chain.iter_mut().fold(x, |x, b| b.step(x))
}

/// The track through a narrowband network leg and back to its own rate.
pub(super) fn narrowband(rng: &mut ChaCha8Rng, track: &mut [f32], rate: u32) {
    let fs = rate as f32;
    let k = (rate / 8000) as usize;
    // A 4th-order Butterworth high-pass at 300 Hz.
    let mut high = [0.5412, 1.3066].map(|q| Biquad::new(300.0, q, fs, true));
    let mut down = lowpass(3400.0, fs);
    let mut up = lowpass(3400.0, fs);
    // Packets of 20 ms, lost in bursts (a two-state Gilbert model: about
    // 4 % lost, a loss followed by another one time in three).
    let packet = 160;
    let mut lost = false;
    let mut narrow = Vec::with_capacity(track.len() / k + 1);
    for (i, x) in track.iter().enumerate() {
        let y = filter(&mut down, filter(&mut high, *x));
        if i % k == 0 {
            narrow.push(ulaw_decode(ulaw_encode(speech::quantise(y))));
        }
    }
    for p in narrow.chunks_mut(packet) {
        lost = rng.random_bool(if lost { 0.33 } else { 0.03 });
        if lost {
            p.iter_mut().for_each(|x| *x = 0);
        }
    }
    // Back up to the track's rate: zeros between the samples, low-passed.
    for (i, t) in track.iter_mut().enumerate() {
        let x = if i % k == 0 {
            narrow.get(i / k).map_or(0.0, |s| f32::from(*s) * k as f32)
        } else {
            0.0
        };
        *t = if k == 1 { x } else { filter(&mut up, x) };
    }
}

/// G.711 μ-law, as the network carries it.
fn ulaw_encode(x: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let mut v = i32::from(x);
    let sign = if v < 0 { 0x80 } else { 0 };
    if v < 0 {
        v = -v;
    }
    let v = (v.min(32635) + BIAS) as u32;
    let exponent = (31 - v.leading_zeros()).saturating_sub(7).min(7);
    let mantissa = (v >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

fn ulaw_decode(u: u8) -> i16 {
    let u = !u;
    let exponent = u32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let v = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -v as i16
    } else {
        v as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trip_is_within_its_step() {
        for x in [
            -32768i16, -20000, -1000, -100, -1, 0, 1, 5, 100, 1000, 8000, 32767,
        ] {
            let y = ulaw_decode(ulaw_encode(x));
            let step = (f32::from(x).abs() / 16.0).max(8.0);
            assert!(
                (f32::from(y) - f32::from(x.clamp(-32635, 32635))).abs() <= step,
                "{x} → {y}"
            );
        }
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
    }
}
