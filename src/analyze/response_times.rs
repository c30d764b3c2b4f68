//! `response_times`: how long the bot takes to answer.
//!
//! - transcript: the seed's recipe: for each caller entry directly followed
//!   by a bot entry, the bot entry's timestamp minus the caller entry's
//!   (both are stamped when an utterance is done, so this includes the bot's
//!   speaking time as the recorder saw it);
//! - audio: the voice-agent latency, on the aligned timeline: from the end of
//!   the caller's last speech before a bot turn to the start of the bot's
//!   first speech in that turn. A bot turn is a stretch of bot audio played
//!   back to back; the caller's speech counts only if it began after the
//!   previous bot turn began (it is a reply to it, or a barge-in).

use super::vad::Span;
use super::{mean, quantile, Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};
use crate::check::Severity;
use crate::recording::FileKind;

pub struct ResponseTimes;

const TURNS: &str = "turns.csv";

fn cols() -> Vec<String> {
    [
        "transcript_turns",
        "transcript_mean_s",
        "transcript_p50_s",
        "transcript_p90_s",
        "transcript_max_s",
        "audio_turns",
        "audio_mean_s",
        "audio_p50_s",
        "audio_p90_s",
        "audio_p95_s",
        "audio_max_s",
    ]
    .iter()
    .map(|c| format!("rt_{c}"))
    .collect()
}

/// A measured turn: (caller end, bot start), call-relative seconds.
type Turn = (f64, f64);

fn transcript_turns(call: &CallContext) -> Result<Vec<Turn>, String> {
    let Some(t) = call.rec.transcript().map_err(ToString::to_string)? else {
        return Err("transcript.json is missing".into());
    };
    let start = call
        .rec
        .start_time(Default::default())
        .map(|s| s.time)
        .or_else(|| t.start_time.as_ref().and_then(|s| s.utc));
    let mut turns = Vec::new();
    for w in t.entries.windows(2) {
        if !(w[0].is_caller() && w[1].is_bot()) {
            continue;
        }
        let (Some(a), Some(b)) = (
            w[0].timestamp.as_ref().and_then(|x| x.utc),
            w[1].timestamp.as_ref().and_then(|x| x.utc),
        ) else {
            continue;
        };
        let rel = |x: chrono::DateTime<chrono::Utc>| {
            start.map_or(0.0, |s| {
                (x - s).num_microseconds().unwrap_or(0) as f64 / 1e6
            })
        };
        turns.push((rel(a), rel(b)));
    }
    Ok(turns)
}

/// Bot turns from the timeline: each answer's playback, as heard.
fn bot_turns(call: &CallContext) -> Result<Vec<(u64, u64)>, String> {
    let tl = call.timeline().map_err(str::to_string)?;
    Ok(tl
        .answers
        .iter()
        .map(|a| (a.play_start, a.heard_end))
        .collect())
}

fn audio_turns(call: &CallContext) -> Result<Vec<Turn>, String> {
    let caller = call.caller_speech().map_err(str::to_string)?;
    let bot = call.bot_speech()?;
    let answers = bot_turns(call)?;
    let sec = |x: u64| call.seconds(x).unwrap_or(0.0);
    Ok(pair_turns(caller, &bot, &answers)
        .into_iter()
        .map(|(caller_end, bot_start)| (sec(caller_end), sec(bot_start)))
        .collect())
}

/// The turns in samples on the call's clock, (caller end, bot start): for
/// each bot turn (`answers`, its playback) with speech in it, the end of the
/// caller's last speech that began before the bot's first speech in the
/// turn and after the previous turn's first speech.
fn pair_turns(caller: &[Span], bot: &[Span], answers: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut prev_turn_start: Option<u64> = None;
    for &(start, end) in answers {
        // The bot's first speech in this turn.
        let Some(speech) = bot.iter().find(|s| s.0 >= start && s.0 < end).map(|s| s.0) else {
            continue;
        };
        // The caller's last speech that began before it (and after the previous turn began).
        let last = caller
            .iter()
            .filter(|c| c.0 < speech && prev_turn_start.is_none_or(|p| c.0 > p))
            .map(|c| c.1)
            .max();
        if let Some(caller_end) = last {
            out.push((caller_end, speech));
        }
        prev_turn_start = Some(speech);
    }
    out
}

/// What every row of `turns.csv` repeats about its call, so that "p90
/// latency by intent last week" is one `GROUP BY` over `turns.csv`.
struct CallFacts {
    session_id: String,
    start_time: Option<String>,
    /// (call-relative seconds, intent) of each function call with one.
    intents: Vec<(f64, String)>,
}

impl CallFacts {
    fn of(call: &CallContext) -> CallFacts {
        let start = call.rec.start_time(call.name_tz).map(|s| s.time);
        let mut intents: Vec<(f64, String)> = call
            .rec
            .function_calls()
            .unwrap_or_default()
            .iter()
            .filter_map(|f| {
                let at = f.timestamp.as_ref()?.utc?;
                let rel = (at - start?).num_microseconds()? as f64 / 1e6;
                Some((rel, f.intent()?.to_string()))
            })
            .collect();
        intents.sort_by(|a, b| a.0.total_cmp(&b.0));
        CallFacts {
            session_id: call.rec.session_id(),
            start_time: start.map(|t| crate::recording::format_utc(&t)),
            intents,
        }
    }

    /// The intent in force when the bot answered: the last function call's
    /// with one, made before `at`.
    fn intent_at(&self, at: f64) -> Cell {
        self.intents
            .iter()
            .rev()
            .find(|(t, _)| *t <= at)
            .map_or(Cell::Null, |(_, i)| Cell::Text(i.clone()))
    }
}

fn put_stats(
    out: &mut CallOutput,
    prefix: &str,
    turns: &[Turn],
    with_p95: bool,
    facts: &CallFacts,
) {
    let mut lat: Vec<f64> = turns.iter().map(|(a, b)| b - a).collect();
    lat.sort_by(f64::total_cmp);
    out.set(&format!("rt_{prefix}_turns"), Cell::Int(lat.len() as i64));
    out.set(&format!("rt_{prefix}_mean_s"), Cell::num(mean(&lat), 3));
    out.set(
        &format!("rt_{prefix}_p50_s"),
        Cell::num(quantile(&lat, 0.5), 3),
    );
    out.set(
        &format!("rt_{prefix}_p90_s"),
        Cell::num(quantile(&lat, 0.9), 3),
    );
    if with_p95 {
        out.set(
            &format!("rt_{prefix}_p95_s"),
            Cell::num(quantile(&lat, 0.95), 3),
        );
    }
    out.set(
        &format!("rt_{prefix}_max_s"),
        Cell::num(lat.last().copied(), 3),
    );
    for (i, (a, b)) in turns.iter().enumerate() {
        out.stats.record_s(prefix, b - a);
        out.rows.entry(TURNS.to_string()).or_default().push(vec![
            Cell::Int(i as i64 + 1),
            Cell::num(Some(*a), 3),
            Cell::num(Some(*b), 3),
            Cell::num(Some(b - a), 3),
            Cell::Text(prefix.to_string()),
            Cell::Text(facts.session_id.clone()),
            facts.start_time.clone().map_or(Cell::Null, Cell::Text),
            facts.intent_at(*b),
        ]);
    }
}

impl Analyzer for ResponseTimes {
    fn name(&self) -> &str {
        "response_times"
    }

    fn columns(&self) -> Vec<String> {
        cols()
    }

    fn tables(&self) -> Vec<(String, Vec<String>)> {
        let header = [
            "turn",
            "caller_end_s",
            "bot_start_s",
            "latency_s",
            "source",
            "session_id",
            "start_time",
            "intent",
        ];
        vec![(
            TURNS.to_string(),
            header
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
        )]
    }

    fn needs(&self) -> Needs {
        Needs {
            metadata: true,
            transcript: true,
            // Function calls (the intent of a turn) when the metadata has none.
            events: true,
            audio: true,
            timeline: true,
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let mut out = CallOutput::default();
        let facts = CallFacts::of(call);
        match transcript_turns(call) {
            Ok(turns) => put_stats(&mut out, "transcript", &turns, false, &facts),
            Err(e) => out.finding(
                "rt.transcript_unavailable",
                Severity::Warning,
                Some(FileKind::Transcript),
                e,
            ),
        }
        match audio_turns(call) {
            Ok(turns) => put_stats(&mut out, "audio", &turns, true, &facts),
            Err(e) => out.timeline_unavailable(e),
        }
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        RunSummary {
            json: serde_json::json!({
                "transcript": stats.distribution("transcript"),
                "audio": stats.distribution("audio"),
            }),
            tables: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pair_turns;

    #[test]
    fn a_turn_pairs_the_bot_s_first_speech_with_the_caller_s_last_before_it() {
        // Bot turns at 100 and 400 (speech from 110 and 420); the caller
        // speaks 200..300 and 320..350 between them.
        let answers = [(100, 300), (400, 600)];
        let bot = [(110, 250), (420, 500), (520, 580)];
        let caller = [(200, 300), (320, 350)];
        // The greeting has no caller speech before it: no turn.
        assert_eq!(pair_turns(&caller, &bot, &answers), [(350, 420)]);
    }

    #[test]
    fn a_caller_who_speaks_before_the_greeting_makes_it_a_turn() {
        // The caller says hello (10..50) before the bot's greeting at 100.
        let answers = [(100, 300), (400, 600)];
        let bot = [(100, 250), (420, 500)];
        let caller = [(10, 50), (320, 350)];
        assert_eq!(pair_turns(&caller, &bot, &answers), [(50, 100), (350, 420)]);
    }

    #[test]
    fn a_turn_with_no_bot_speech_is_skipped_and_bounds_nothing() {
        // The second answer's playback (300..400) holds no speech (the VAD
        // found none in it): the caller's speech before the third is paired
        // with the third.
        let answers = [(100, 200), (300, 400), (400, 600)];
        let bot = [(110, 190), (400, 500)];
        let caller = [(250, 280)];
        assert_eq!(pair_turns(&caller, &bot, &answers), [(280, 400)]);
    }

    #[test]
    fn caller_speech_starting_exactly_at_a_bot_onset_is_not_before_it() {
        // Caller speech that starts at the bot's onset (400) is a barge-in
        // on that turn, not what it answers; speech that starts at the
        // previous turn's onset (100) is not a reply to that turn.
        let answers = [(100, 300), (400, 600), (700, 900)];
        let bot = [(100, 250), (400, 500), (700, 800)];
        let caller = [(100, 150), (200, 260), (400, 450)];
        assert_eq!(pair_turns(&caller, &bot, &answers), [(260, 400)]);
    }
}
