//! `quality`: levels of each track: RMS and peak in dBFS, the share of
//! clipped samples, and dead air (runs of digital silence of 100 ms or more,
//! what a dropped line or a stalled TTS leaves).

use super::{Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};

pub struct Quality;

const DEAD_AIR_MIN_S: f64 = 0.1;

struct Levels {
    rms_dbfs: Option<f64>,
    peak_dbfs: Option<f64>,
    clipped_pct: f64,
    dead_air_s: f64,
}

fn dbfs(x: f64) -> Option<f64> {
    (x > 0.0).then(|| 20.0 * (x / 32768.0).log10())
}

fn levels(samples: &[i16], rate: u32) -> Levels {
    let n = samples.len().max(1) as f64;
    let min_run = (DEAD_AIR_MIN_S * f64::from(rate)) as usize;
    // One pass, integer arithmetic: sum of squares, peak, clipped, zero runs.
    let (mut power, mut peak, mut clipped) = (0u64, 0u32, 0usize);
    let (mut dead, mut run) = (0usize, 0usize);
    for &s in samples {
        let a = s.unsigned_abs();
        power += u64::from(a) * u64::from(a);
        peak = peak.max(u32::from(a));
        clipped += usize::from(s == i16::MAX || s == i16::MIN);
        if s == 0 {
            run += 1;
        } else {
            if run >= min_run {
                dead += run;
            }
            run = 0;
        }
    }
    if run >= min_run {
        dead += run;
    }
    Levels {
        rms_dbfs: dbfs((power as f64 / n).sqrt()),
        peak_dbfs: dbfs(f64::from(peak)),
        clipped_pct: clipped as f64 * 100.0 / n,
        dead_air_s: dead as f64 / f64::from(rate),
    }
}

impl Analyzer for Quality {
    fn name(&self) -> &str {
        "quality"
    }

    fn columns(&self) -> Vec<String> {
        let mut v = Vec::new();
        for who in ["caller", "bot"] {
            for c in ["rms_dbfs", "peak_dbfs", "clipped_pct", "dead_air_s"] {
                v.push(format!("quality.{who}_{c}"));
            }
        }
        v
    }

    fn needs(&self) -> Needs {
        Needs {
            audio: true,
            ..Needs::default()
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let mut out = CallOutput::default();
        for (who, wav) in [("caller", call.caller()), ("bot", call.bot())] {
            let wav = wav.map_err(str::to_string)?;
            let l = levels(&wav.samples, wav.info.sample_rate);
            out.set(&format!("quality.{who}_rms_dbfs"), Cell::num(l.rms_dbfs, 2));
            out.set(
                &format!("quality.{who}_peak_dbfs"),
                Cell::num(l.peak_dbfs, 2),
            );
            out.set(
                &format!("quality.{who}_clipped_pct"),
                Cell::num(Some(l.clipped_pct), 4),
            );
            out.set(
                &format!("quality.{who}_dead_air_s"),
                Cell::num(Some(l.dead_air_s), 3),
            );
            out.stats.add(&format!("{who}_dead_air_s"), l.dead_air_s);
            if l.clipped_pct > 0.0 {
                out.stats.add(&format!("{who}_calls_clipped"), 1.0);
            }
        }
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        RunSummary {
            json: serde_json::json!({
                "caller_dead_air_s": r3(stats.count("caller_dead_air_s")),
                "bot_dead_air_s": r3(stats.count("bot_dead_air_s")),
                "caller_calls_clipped": stats.count("caller_calls_clipped"),
                "bot_calls_clipped": stats.count("bot_calls_clipped"),
            }),
            tables: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_a_known_signal() {
        // Full-scale square wave, then 0.2 s of digital silence at 1 kHz.
        let mut s: Vec<i16> = (0..1000)
            .map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect();
        s.extend(std::iter::repeat_n(0, 200));
        s.extend([5, 0, 0, 5]);
        let l = levels(&s, 1000);
        assert!((l.peak_dbfs.unwrap() - 0.0).abs() < 1e-9);
        assert!((l.clipped_pct - 1000.0 * 100.0 / 1204.0).abs() < 1e-9);
        assert!(
            (l.dead_air_s - 0.2).abs() < 1e-9,
            "the two-sample gap is not dead air"
        );
        assert_eq!(levels(&[0, 0], 1000).rms_dbfs, None);
    }
}
