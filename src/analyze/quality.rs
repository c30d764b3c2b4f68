//! `quality`: levels of each track: RMS and peak in dBFS, the share of
//! clipped samples, and dead air (runs of digital silence of 100 ms or more,
//! what a dropped line or a stalled TTS leaves).

use super::{signal, Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};

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
    let sums = signal::sums(samples);
    let min_run = ((DEAD_AIR_MIN_S * f64::from(rate)) as usize).max(1);
    Levels {
        rms_dbfs: dbfs((sums.power as f64 / n).sqrt()),
        peak_dbfs: dbfs(f64::from(sums.peak)),
        clipped_pct: sums.clipped as f64 * 100.0 / n,
        dead_air_s: zero_runs(samples, min_run) as f64 / f64::from(rate),
    }
}

/// Samples in runs of at least `min_run` zeros. Looks at blocks no longer
/// than `min_run`: an all-zero block extends the current run; any other
/// block ends it at its first non-zero sample and starts the next after its
/// last one (a run inside such a block is too short to count).
fn zero_runs(samples: &[i16], min_run: usize) -> usize {
    let (mut total, mut run) = (0, 0);
    for b in samples.chunks(min_run.min(64)) {
        if b.iter().fold(0, |acc, s| acc | s) == 0 {
            run += b.len();
            continue;
        }
        let first = b.iter().position(|s| *s != 0).unwrap_or(0);
        let last = b.iter().rposition(|s| *s != 0).unwrap_or(0);
        if run + first >= min_run {
            total += run + first;
        }
        run = b.len() - 1 - last;
    }
    if run >= min_run {
        total += run;
    }
    total
}

impl Analyzer for Quality {
    fn name(&self) -> &str {
        "quality"
    }

    fn columns(&self) -> Vec<String> {
        let mut v = Vec::new();
        for who in ["caller", "bot"] {
            for c in ["rms_dbfs", "peak_dbfs", "clipped_pct", "dead_air_s"] {
                v.push(format!("quality_{who}_{c}"));
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
            out.set(&format!("quality_{who}_rms_dbfs"), Cell::num(l.rms_dbfs, 2));
            out.set(
                &format!("quality_{who}_peak_dbfs"),
                Cell::num(l.peak_dbfs, 2),
            );
            out.set(
                &format!("quality_{who}_clipped_pct"),
                Cell::num(Some(l.clipped_pct), 4),
            );
            out.set(
                &format!("quality_{who}_dead_air_s"),
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
                "caller_calls_clipped": stats.whole("caller_calls_clipped"),
                "bot_calls_clipped": stats.whole("bot_calls_clipped"),
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

    #[test]
    fn zero_runs_match_a_sample_by_sample_count() {
        let slow = |s: &[i16], min: usize| {
            let (mut total, mut run) = (0, 0);
            for &x in s.iter().chain([1].iter()) {
                if x == 0 {
                    run += 1;
                } else {
                    total += if run >= min { run } else { 0 };
                    run = 0;
                }
            }
            total
        };
        // Zero runs of every length from 0 to 300 at every offset mod 64.
        let mut s = Vec::new();
        for len in 0..300 {
            s.push(1);
            s.extend(std::iter::repeat_n(0, len));
        }
        for min in [1, 2, 63, 64, 65, 100, 160, 299] {
            assert_eq!(zero_runs(&s, min), slow(&s, min), "min_run {min}");
            assert_eq!(zero_runs(&s[1..], min), slow(&s[1..], min), "min_run {min}");
        }
        assert_eq!(zero_runs(&[0; 500], 100), 500);
    }
}
