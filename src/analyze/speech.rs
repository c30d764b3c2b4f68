//! `speech`: who talks how much, on the aligned timeline. Talk time is the
//! total of a party's speech spans; overlap (both talking) counts in both
//! parties' talk time. Silence is when neither talks, up to the end of the
//! call (the caller track's end, or the bot's last playback if later).

use super::vad::Span;
use super::{Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};
use crate::check::Severity;
use crate::recording::FileKind;

pub struct Speech;

const COLUMNS: [&str; 10] = [
    "vad",
    "caller_talk_s",
    "bot_talk_s",
    "overlap_s",
    "silence_s",
    "caller_ratio",
    "longest_silence_s",
    "silences_3s",
    "caller_interruptions",
    "bot_interruptions",
];

fn total(spans: &[Span]) -> u64 {
    spans.iter().map(|s| s.1 - s.0).sum()
}

/// Samples where a span of `a` and a span of `b` overlap (both sorted).
pub fn overlap(a: &[Span], b: &[Span]) -> u64 {
    let (mut i, mut j, mut sum) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        sum += hi.saturating_sub(lo);
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    sum
}

/// Gaps where nobody speaks, within [0, end).
fn silences(a: &[Span], b: &[Span], end: u64) -> Vec<u64> {
    let mut all: Vec<Span> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    let mut gaps = Vec::new();
    let mut covered = 0u64;
    for s in all {
        if s.0 > covered {
            gaps.push(s.0 - covered);
        }
        covered = covered.max(s.1);
    }
    if end > covered {
        gaps.push(end - covered);
    }
    gaps
}

/// Spans of `a` that start while a span of `b` is going on.
fn starts_inside(a: &[Span], b: &[Span]) -> usize {
    a.iter()
        .filter(|x| b.iter().any(|y| x.0 > y.0 && x.0 < y.1))
        .count()
}

impl Analyzer for Speech {
    fn name(&self) -> &str {
        "speech"
    }

    fn columns(&self) -> Vec<String> {
        COLUMNS.iter().map(|c| format!("speech_{c}")).collect()
    }

    fn needs(&self) -> Needs {
        Needs {
            audio: true,
            timeline: true,
            ..Needs::default()
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let mut out = CallOutput::default();
        out.set("speech_vad", Cell::Text(call.vad.as_str().to_string()));
        let caller = call.caller_speech().map_err(str::to_string)?;
        let bot_track = call.bot_speech_track().map_err(str::to_string)?;
        let bot_aligned = call.bot_speech();
        let s = |n: u64| call.seconds(n);
        // On the call's clock the bot's spans are split between turns (on its
        // own track, one answer's tail silence runs into the next's lead).
        let bot_talk = bot_aligned
            .as_deref()
            .map_or_else(|_| total(bot_track), total);
        let caller_talk = total(caller);
        out.set("speech_caller_talk_s", Cell::num(s(caller_talk), 3));
        out.set("speech_bot_talk_s", Cell::num(s(bot_talk), 3));
        let both = caller_talk + bot_talk;
        out.set(
            "speech_caller_ratio",
            Cell::num((both > 0).then(|| caller_talk as f64 / both as f64), 4),
        );
        out.stats
            .add("caller_talk_s", s(caller_talk).unwrap_or(0.0));
        out.stats.add("bot_talk_s", s(bot_talk).unwrap_or(0.0));
        // What needs both parties on one clock.
        let bot = match bot_aligned {
            Ok(b) => b,
            Err(e) => {
                out.finding(
                    "timeline.unavailable",
                    Severity::Warning,
                    Some(FileKind::Stereo),
                    e,
                );
                return Ok(out);
            }
        };
        let end = call
            .caller()
            .map(|w| w.samples.len() as u64)
            .unwrap_or(0)
            .max(call.timeline().map(|t| t.end()).unwrap_or(0));
        let gaps = silences(caller, &bot, end);
        let ov = overlap(caller, &bot);
        let rate = f64::from(call.rate().unwrap_or(16000));
        out.set("speech_overlap_s", Cell::num(s(ov), 3));
        out.set("speech_silence_s", Cell::num(s(gaps.iter().sum()), 3));
        out.set(
            "speech_longest_silence_s",
            Cell::num(s(gaps.iter().copied().max().unwrap_or(0)), 3),
        );
        let long = gaps.iter().filter(|g| **g as f64 >= 3.0 * rate).count();
        out.set("speech_silences_3s", Cell::int(Some(long)));
        out.set(
            "speech_caller_interruptions",
            Cell::int(Some(starts_inside(caller, &bot))),
        );
        out.set(
            "speech_bot_interruptions",
            Cell::int(Some(starts_inside(&bot, caller))),
        );
        out.stats.add("overlap_s", s(ov).unwrap_or(0.0));
        out.stats
            .add("silence_s", s(gaps.iter().sum()).unwrap_or(0.0));
        out.stats.add("calls_on_timeline", 1.0);
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        let (c, b) = (stats.count("caller_talk_s"), stats.count("bot_talk_s"));
        RunSummary {
            json: serde_json::json!({
                "caller_talk_s": r3(c),
                "bot_talk_s": r3(b),
                "caller_ratio": if c + b > 0.0 { Some((c / (c + b) * 10000.0).round() / 10000.0) } else { None },
                "overlap_s": r3(stats.count("overlap_s")),
                "silence_s": r3(stats.count("silence_s")),
                "calls_on_timeline": stats.whole("calls_on_timeline"),
            }),
            tables: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_silence_and_interruptions() {
        let caller = [(0, 100), (300, 400)];
        let bot = [(50, 150), (500, 600)];
        assert_eq!(overlap(&caller, &bot), 50);
        assert_eq!(silences(&caller, &bot, 1000), vec![150, 100, 400]);
        assert_eq!(starts_inside(&bot, &caller), 1);
        assert_eq!(starts_inside(&caller, &bot), 0);
    }
}
