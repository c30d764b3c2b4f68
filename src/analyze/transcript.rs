//! `transcript`: what was said: entries, words per party, speaking rate
//! (words over that party's VAD talk time), ASR confidence; and
//! `utterances.csv`, each entry on the call's clock with its text redacted
//! (cards, phone numbers, e-mail addresses masked), which the HTML report
//! places on the timeline.

use super::vad;
use super::{mean, Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};
use crate::recording::redact::redact;

pub struct TranscriptStats;

const LOW_CONFIDENCE: f64 = 0.6;

const UTTERANCES: &str = "utterances.csv";

/// Seconds from the call's start to `at`.
fn call_seconds(
    start: Option<chrono::DateTime<chrono::Utc>>,
    at: Option<&crate::recording::Timestamp>,
) -> Option<f64> {
    let us = (at?.utc? - start?).num_microseconds()?;
    Some(us as f64 / 1e6)
}

impl Analyzer for TranscriptStats {
    fn name(&self) -> &str {
        "transcript"
    }

    fn columns(&self) -> Vec<String> {
        [
            "entries",
            "caller_words",
            "bot_words",
            "caller_wpm",
            "bot_wpm",
            "mean_confidence",
            "low_confidence",
        ]
        .iter()
        .map(|c| format!("transcript_{c}"))
        .collect()
    }

    fn tables(&self) -> Vec<(String, Vec<String>)> {
        let header = ["entry", "party", "at_s", "duration_s", "text"];
        vec![(
            UTTERANCES.to_string(),
            header
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
        )]
    }

    fn needs(&self) -> Needs {
        Needs {
            transcript: true,
            audio: true,
            ..Needs::default()
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let t = call
            .rec
            .transcript()
            .map_err(ToString::to_string)?
            .ok_or("transcript.json is missing")?;
        let mut out = CallOutput::default();
        let words = |caller: bool| -> usize {
            t.entries
                .iter()
                .filter(|e| if caller { e.is_caller() } else { e.is_bot() })
                .map(|e| e.text.as_deref().unwrap_or("").split_whitespace().count())
                .sum()
        };
        let (cw, bw) = (words(true), words(false));
        out.set("transcript_entries", Cell::Int(t.entries.len() as i64));
        out.set("transcript_caller_words", Cell::int(Some(cw)));
        out.set("transcript_bot_words", Cell::int(Some(bw)));
        let wpm =
            |w: usize, talk: Option<f64>| talk.filter(|t| *t > 0.0).map(|t| w as f64 / (t / 60.0));
        let talk = |spans: Result<&[vad::Span], &str>| {
            spans.ok().and_then(|s| call.seconds(vad::total(s)))
        };
        out.set(
            "transcript_caller_wpm",
            Cell::num(wpm(cw, talk(call.caller_speech())), 1),
        );
        out.set(
            "transcript_bot_wpm",
            Cell::num(wpm(bw, talk(call.bot_speech_track())), 1),
        );
        let conf: Vec<f64> = t.entries.iter().filter_map(|e| e.confidence).collect();
        out.set("transcript_mean_confidence", Cell::num(mean(&conf), 4));
        let low = conf.iter().filter(|c| **c < LOW_CONFIDENCE).count();
        out.set("transcript_low_confidence", Cell::int(Some(low)));
        // Each entry where it was logged on the call's clock (the recorder
        // stamps an entry when the utterance is done), masked: reports are
        // read by more people than recordings are.
        let start = call.rec.start_time(call.name_tz).map(|s| s.time);
        let rows = out.rows.entry(UTTERANCES.to_string()).or_default();
        for (i, e) in t.entries.iter().enumerate() {
            rows.push(vec![
                Cell::Int(i as i64 + 1),
                e.channel.clone().map_or(Cell::Null, Cell::Text),
                Cell::num(call_seconds(start, e.timestamp.as_ref()), 3),
                Cell::num(e.duration_ms.map(|ms| ms / 1000.0), 3),
                Cell::Text(redact(e.text.as_deref().unwrap_or(""))),
            ]);
        }
        out.stats.add("entries", t.entries.len() as f64);
        out.stats.add("caller_words", cw as f64);
        out.stats.add("bot_words", bw as f64);
        out.stats.add("low_confidence", low as f64);
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        RunSummary {
            json: serde_json::json!({
                "entries": stats.whole("entries"),
                "caller_words": stats.whole("caller_words"),
                "bot_words": stats.whole("bot_words"),
                "low_confidence": stats.whole("low_confidence"),
            }),
            tables: Vec::new(),
        }
    }
}
