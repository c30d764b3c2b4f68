//! `speech`: who talks how much, on the aligned timeline. Talk time is the
//! total of a party's speech spans; overlap (both talking) counts in both
//! parties' talk time. Silence is when neither talks, up to the end of the
//! call (the caller track's end, or the bot's last playback if later).

use super::turn_taking::{turn_taking, BargeIn, TurnTaking};
use super::vad::Span;
use super::{Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};
use crate::check::Severity;
use crate::recording::FileKind;

pub struct Speech {
    /// Silences at least this long count in `speech_long_silences`.
    pub silence_min_s: f64,
}

const SEGMENTS: &str = "segments.csv";

const COLUMNS: [&str; 25] = [
    "vad",
    "caller_talk_s",
    "bot_talk_s",
    "overlap_s",
    "silence_s",
    "caller_ratio",
    "longest_silence_s",
    "long_silences",
    "caller_interruptions",
    "bot_interruptions",
    "caller_interruption_s",
    "bot_interruption_s",
    "first_response_s",
    "barge_ins",
    "barge_ins_unyielded",
    "time_to_yield_s",
    "backchannels",
    "early_starts",
    "unanswered_turns",
    "bot_unplayed_s",
    "playback_uncertain",
    "tool_wait_s",
    "tool_silence_s",
    "echo_delay_s",
    "echo_return_loss_db",
];

fn total(spans: &[Span]) -> u64 {
    spans.iter().map(|s| s.1 - s.0).sum()
}

/// Samples where a span of `a` and a span of `b` overlap (both sorted).
pub fn overlap(a: &[Span], b: &[Span]) -> u64 {
    total(&intersections(a, b))
}

/// Where spans of `a` and of `b` overlap (both sorted, each party's spans
/// apart from one another).
fn intersections(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if hi > lo {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Gaps where nobody speaks within [0, end), as spans.
fn silence_spans(a: &[Span], b: &[Span], end: u64) -> Vec<Span> {
    let mut all: Vec<Span> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    let (mut gaps, mut covered) = (Vec::new(), 0u64);
    for s in all {
        if s.0 > covered {
            gaps.push((covered, s.0));
        }
        covered = covered.max(s.1);
    }
    if end > covered {
        gaps.push((covered, end));
    }
    gaps
}

/// Each span of `a` that starts while one of `b` goes on: from its start to
/// where the two stop overlapping.
fn interruptions(a: &[Span], b: &[Span]) -> Vec<Span> {
    a.iter()
        .filter_map(|x| {
            let y = b.iter().find(|y| x.0 > y.0 && x.0 < y.1)?;
            Some((x.0, x.1.min(y.1)))
        })
        .collect()
}

/// The call's events on its clock, for `segments.csv`: (start, end, kind,
/// party), in samples, sorted by start.
fn segments(
    caller: &[Span],
    bot: &[Span],
    end: u64,
) -> Vec<(u64, u64, &'static str, &'static str)> {
    let mut rows = Vec::new();
    let mut add = |spans: &[Span], kind, party| {
        rows.extend(spans.iter().map(|s| (s.0, s.1, kind, party)));
    };
    add(caller, "caller_speech", "caller");
    add(bot, "bot_speech", "bot");
    add(&intersections(caller, bot), "overlap", "both");
    add(&silence_spans(caller, bot, end), "silence", "none");
    add(&interruptions(caller, bot), "interruption", "caller");
    add(&interruptions(bot, caller), "interruption", "bot");
    rows.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
    rows
}

/// Spans of `a` that start while a span of `b` is going on.
fn starts_inside(a: &[Span], b: &[Span]) -> usize {
    interruptions(a, b).len()
}

impl Speech {
    /// The turn-taking columns, their run totals, and a finding per answer
    /// whose end of playback the recording cannot settle.
    fn turn_taking_cells(
        &self,
        out: &mut CallOutput,
        tt: &TurnTaking,
        unheard: &[Span],
        call: &CallContext,
    ) {
        let s = |n: u64| call.seconds(n).unwrap_or(0.0);
        let rate = call.rate().unwrap_or(16000);
        let (yielded, unyielded): (Vec<&BargeIn>, Vec<&BargeIn>) =
            tt.barge_ins.iter().partition(|b| b.yielded(rate));
        let yields: Vec<f64> = yielded.iter().map(|b| s(b.quiet - b.onset)).collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let waits: Vec<f64> = tt.tool_waits.iter().map(|w| s(w.1 - w.0)).collect();
        let counts = [
            ("barge_ins", tt.barge_ins.len()),
            ("barge_ins_unyielded", unyielded.len()),
            ("backchannels", tt.backchannels.len()),
            ("early_starts", tt.early_starts.len()),
            ("unanswered_turns", tt.unanswered.len()),
            ("playback_uncertain", tt.uncertain.len()),
        ];
        for (name, n) in counts {
            out.set(&format!("speech_{name}"), Cell::int(Some(n)));
            out.stats.add(name, n as f64);
        }
        out.set("speech_time_to_yield_s", Cell::num(mean(&yields), 3));
        let unplayed = s(unheard.iter().map(|u| u.1 - u.0).sum());
        out.set("speech_bot_unplayed_s", Cell::num(Some(unplayed), 3));
        out.set("speech_tool_wait_s", Cell::num(mean(&waits), 3));
        let tool_silence = s(tt.tool_silences.iter().map(|g| g.1 - g.0).sum());
        out.set("speech_tool_silence_s", Cell::num(Some(tool_silence), 3));
        out.stats.add("bot_unplayed_s", unplayed);
        for y in yields {
            out.stats.record_s("time_to_yield", y);
        }
        for w in waits {
            out.stats.record_s("tool_wait", w);
        }
        for &((lo, hi), counted) in &tt.uncertain {
            out.finding(
                crate::check::code::TIMELINE_PLAYBACK_UNCERTAIN,
                Severity::Info,
                Some(FileKind::Stereo),
                format!(
                    "the caller talked over a bot answer and nothing in the recording says when it stopped playing: between {:.3} s and {:.3} s (counted to {:.3} s)",
                    s(lo),
                    s(hi),
                    s(counted)
                ),
            );
        }
    }
}

/// Echo whose return loss is under this is heard: by the bot, as its own
/// voice talking over it (a barge-in detector on the bridge stops it), and
/// by anyone listening to the caller's leg. Handsets are built for 45 dB
/// or more.
const ECHO_AUDIBLE_DB: f64 = 35.0;

/// The echo path's columns (null without a measurable echo), and a
/// `line.echo` finding when it is loud enough to hear.
fn echo_cells(out: &mut CallOutput, call: &CallContext) {
    let path = call.echo().map(|e| e.path);
    let delay = path.and_then(|p| call.seconds(p.delay));
    let loss = path.map(|p| p.return_loss_db);
    out.set("speech_echo_delay_s", Cell::num(delay, 3));
    out.set("speech_echo_return_loss_db", Cell::num(loss, 1));
    if let (Some(d), Some(l)) = (delay, loss) {
        out.stats.add("echo_calls", 1.0);
        if l < ECHO_AUDIBLE_DB {
            out.finding(
                crate::check::code::LINE_ECHO,
                Severity::Warning,
                Some(FileKind::CallerAudio),
                format!("the bot's own voice comes back on the caller's line {:.0} ms later, {l:.1} dB down (acoustic echo, a speakerphone): taken out of the caller's speech", d * 1000.0),
            );
        }
    }
}

impl Analyzer for Speech {
    fn name(&self) -> &str {
        "speech"
    }

    fn columns(&self) -> Vec<String> {
        COLUMNS.iter().map(|c| format!("speech_{c}")).collect()
    }

    fn settings(&self) -> Option<String> {
        Some(format!("silence_min_s={}", self.silence_min_s))
    }

    fn tables(&self) -> Vec<(String, Vec<String>)> {
        let header = ["kind", "party", "start_s", "end_s", "duration_s"];
        vec![(
            SEGMENTS.to_string(),
            header
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
        )]
    }

    fn needs(&self) -> Needs {
        Needs {
            // Function calls, as events of the call.
            metadata: true,
            events: true,
            audio: true,
            timeline: true,
            ..Needs::default()
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let mut out = CallOutput::default();
        out.set("speech_vad", Cell::Text(call.vad.as_str().to_string()));
        let caller = call.caller_speech().map_err(str::to_string)?;
        echo_cells(&mut out, call);
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
                out.timeline_unavailable(e);
                return Ok(out);
            }
        };
        let end = call
            .caller()
            .map(|w| w.samples.len() as u64)
            .unwrap_or(0)
            .max(
                call.timeline()
                    .map(super::super::timeline::Timeline::end)
                    .unwrap_or(0),
            );
        let gap_spans = silence_spans(caller, &bot, end);
        let gaps: Vec<u64> = gap_spans.iter().map(|g| g.1 - g.0).collect();
        let ov = overlap(caller, &bot);
        let rate = f64::from(call.rate().unwrap_or(16000));
        out.set("speech_overlap_s", Cell::num(s(ov), 3));
        out.set("speech_silence_s", Cell::num(s(gaps.iter().sum()), 3));
        out.set(
            "speech_longest_silence_s",
            Cell::num(s(gaps.iter().copied().max().unwrap_or(0)), 3),
        );
        let long = gaps
            .iter()
            .filter(|g| **g as f64 >= self.silence_min_s * rate)
            .count();
        out.set("speech_long_silences", Cell::int(Some(long)));
        out.set(
            "speech_caller_interruptions",
            Cell::int(Some(starts_inside(caller, &bot))),
        );
        out.set(
            "speech_bot_interruptions",
            Cell::int(Some(starts_inside(&bot, caller))),
        );
        // Time talked over the other party, by the one who started it.
        out.set(
            "speech_caller_interruption_s",
            Cell::num(s(total(&interruptions(caller, &bot))), 3),
        );
        out.set(
            "speech_bot_interruption_s",
            Cell::num(s(total(&interruptions(&bot, caller))), 3),
        );
        // Time to first audio: the call's start to the bot's first speech.
        let first_response = bot.first().and_then(|b| s(b.0));
        out.set("speech_first_response_s", Cell::num(first_response, 3));
        if let Some(f) = first_response {
            out.stats.record_s("first_response", f);
        }
        // Function calls as instants on the call's clock.
        let start = call.rec.start_time(call.name_tz).map(|t| t.time);
        let mut calls: Vec<u64> = call
            .rec
            .function_calls()
            .unwrap_or_default()
            .iter()
            .filter_map(|f| {
                let us = (f.timestamp.as_ref()?.utc? - start?).num_microseconds()?;
                Some((us.max(0) as f64 * rate / 1e6).round() as u64)
            })
            .collect();
        calls.sort_unstable();
        let tl = call.timeline()?;
        let tt = turn_taking(caller, &bot, tl, &calls, &gap_spans, end, rate as u32);
        let unheard = tl.unheard();
        self.turn_taking_cells(&mut out, &tt, &unheard, call);

        // The call's events in call-clock seconds, function calls (instants:
        // what a silence may have waited on) among them, in time order.
        let mut events = segments(caller, &bot, end);
        events.extend(calls.iter().map(|&f| (f, f, "function_call", "bot")));
        let mut add = |spans: &[Span], kind, party| {
            events.extend(spans.iter().map(|x| (x.0, x.1, kind, party)));
        };
        let barge: Vec<Span> = tt.barge_ins.iter().map(|b| (b.onset, b.quiet)).collect();
        add(&barge, "barge_in", "caller");
        add(&tt.backchannels, "backchannel", "caller");
        add(&tt.early_starts, "early_start", "bot");
        add(&tt.unanswered, "unanswered_turn", "caller");
        add(&unheard, "bot_unplayed", "bot");
        let uncertain: Vec<Span> = tt.uncertain.iter().map(|u| u.0).collect();
        add(&uncertain, "playback_uncertain", "bot");
        add(&tt.tool_waits, "tool_wait", "bot");
        events.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
        let rows = out.rows.entry(SEGMENTS.to_string()).or_default();
        for (a, b, kind, party) in events {
            rows.push(vec![
                Cell::Text(kind.into()),
                Cell::Text(party.into()),
                Cell::num(s(a), 3),
                Cell::num(s(b), 3),
                Cell::num(s(b - a), 3),
            ]);
        }
        out.stats.add("overlap_s", s(ov).unwrap_or(0.0));
        out.stats
            .add("silence_s", s(gaps.iter().sum()).unwrap_or(0.0));
        out.stats.add("calls_on_timeline", 1.0);
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        let total = |k: &str| stats.whole(k);
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
                "barge_ins": total("barge_ins"),
                "barge_ins_unyielded": total("barge_ins_unyielded"),
                "time_to_yield": stats.distribution("time_to_yield"),
                "backchannels": total("backchannels"),
                "early_starts": total("early_starts"),
                "unanswered_turns": total("unanswered_turns"),
                "bot_unplayed_s": r3(stats.count("bot_unplayed_s")),
                "playback_uncertain": total("playback_uncertain"),
                "first_response": stats.distribution("first_response"),
                "tool_wait": stats.distribution("tool_wait"),
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
        let lengths: Vec<u64> = silence_spans(&caller, &bot, 1000)
            .iter()
            .map(|g| g.1 - g.0)
            .collect();
        assert_eq!(lengths, vec![150, 100, 400]);
        assert_eq!(starts_inside(&bot, &caller), 1);
        assert_eq!(starts_inside(&caller, &bot), 0);
        assert_eq!(intersections(&caller, &bot), vec![(50, 100)]);
        assert_eq!(
            silence_spans(&caller, &bot, 1000),
            vec![(150, 300), (400, 500), (600, 1000)]
        );
        assert_eq!(interruptions(&bot, &caller), vec![(50, 100)]);
        let rows = segments(&caller, &bot, 1000);
        assert_eq!(rows.iter().filter(|r| r.2 == "silence").count(), 3);
        assert_eq!(rows[0], (0, 100, "caller_speech", "caller"));
        assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn touching_and_simultaneous_spans_at_the_edges() {
        // The bot starts where the caller stops (100), and both start at
        // 300: no overlap at a touching edge, no silence between touching
        // spans, and starting together is nobody's interruption.
        let caller = [(0, 100), (300, 400)];
        let bot = [(100, 200), (300, 350)];
        assert_eq!(intersections(&caller, &bot), vec![(300, 350)]);
        assert_eq!(silence_spans(&caller, &bot, 400), vec![(200, 300)]);
        assert!(interruptions(&caller, &bot).is_empty());
        assert!(interruptions(&bot, &caller).is_empty());
        // Starting exactly where the other's span ends interrupts nothing;
        // one sample earlier it does, to where the two stop overlapping.
        let caller = [(0, 100)];
        assert!(interruptions(&[(100, 150)], &caller).is_empty());
        assert_eq!(interruptions(&[(99, 150)], &caller), vec![(99, 100)]);
        // Spans ending together: both overlaps found, whichever moves on.
        let a = [(0, 100), (150, 200)];
        let b = [(50, 100), (120, 180)];
        assert_eq!(intersections(&a, &b), vec![(50, 100), (150, 180)]);
        assert_eq!(intersections(&b, &a), vec![(50, 100), (150, 180)]);
        // A call ending where the last speech ends has no silence after it.
        assert_eq!(silence_spans(&a, &b, 200), vec![(100, 120)]);
        assert_eq!(silence_spans(&a, &b, 250), vec![(100, 120), (200, 250)]);
    }
}
